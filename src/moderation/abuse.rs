//! The `abuse` reason: strong profanity and slurs, including their evasive
//! spellings, and dehumanising language. Mild words not aimed at anyone
//! ("damn", "bloody", "crap") are not on the lists and pass.

use super::text::Prepared;
use super::{Checker, Finding, Reason, Verdict};

/// Words that say what a group of people *is*: "they are vermin", "these
/// people are parasites", "breed like rats".
const COPULAS: &[&str] = &[
    "are", "r", "were", "be", "being", "like", "as", "becoming", "become",
];
const DEMONSTRATIVES: &[&str] = &["these", "those", "such", "filthy", "dirty", "bloody"];

pub(crate) fn assess(checker: &Checker, p: &Prepared) -> Option<Finding> {
    for f in &p.folded {
        if let Some(pat) = checker.banned.find(&f.text) {
            return Some(Finding {
                reason: Reason::Abuse,
                severity: Verdict::Reject,
                note: format!("banned word ({})", pat.word),
            });
        }
    }
    let words: Vec<&str> = p.plain_folded().map(|f| f.text.as_str()).collect();
    for (i, w) in words.iter().enumerate() {
        if checker.dehumanising.find(w).is_some() {
            let before = &words[i.saturating_sub(3)..i];
            if before.iter().any(|b| COPULAS.contains(b)) {
                return Some(Finding {
                    reason: Reason::Abuse,
                    severity: Verdict::Reject,
                    note: format!("dehumanising ({w})"),
                });
            }
            if i > 0 && DEMONSTRATIVES.contains(&words[i - 1]) {
                return Some(Finding {
                    reason: Reason::Abuse,
                    severity: Verdict::Hold,
                    note: format!("maybe dehumanising ({w})"),
                });
            }
        }
    }
    for f in &p.folded {
        if let Some(pat) = checker.suspect.find(&f.text) {
            return Some(Finding {
                reason: Reason::Abuse,
                severity: Verdict::Hold,
                note: format!("suspect word ({})", pat.word),
            });
        }
    }
    None
}
