//! The `form` reason: comments in full sentences, not a single word, emoji,
//! punctuation, a bare link, repetition, fragments or capitals.

use std::collections::HashSet;

use super::lists;
use super::text::Prepared;
use super::{Checker, Finding, Reason, Verdict};

fn finding(severity: Verdict, note: &str) -> Option<Finding> {
    Some(Finding {
        reason: Reason::Form,
        severity,
        note: note.to_string(),
    })
}

pub(crate) fn assess(checker: &Checker, p: &Prepared) -> Option<Finding> {
    let t = &checker.guidelines.thresholds;
    let n = p.words.len();
    if n == 0 || p.letters == 0 {
        let note = if !p.links.is_empty() {
            "a link alone"
        } else if p.symbols > 0 {
            "emoji or symbols only"
        } else {
            "no words"
        };
        return finding(Verdict::Reject, note);
    }
    if n < t.min_words {
        return finding(Verdict::Reject, "a single word");
    }
    let cased = p.upper + p.lower;
    let long_words = p.words.iter().filter(|w| w.chars().count() >= 2).count();
    if cased >= 6 && long_words >= 2 && p.upper as f32 >= t.shouting_share * cased as f32 {
        return finding(Verdict::Reject, "written in capitals");
    }
    if n >= 3 {
        let distinct: HashSet<&str> = p.words.iter().map(|w| w.as_str()).collect();
        let share = distinct.len() as f32 / n as f32;
        if share <= t.repetition_share && (n <= 12 || share <= t.repetition_share / 2.0) {
            return finding(Verdict::Reject, "repeated words");
        }
    }
    if p.sentence_words.len() >= 2 && p.sentence_words.iter().all(|&w| w <= 1) {
        return finding(Verdict::Reject, "one-word fragments");
    }
    if n == 2 {
        // Two words make a sentence when they say something: "Well said.",
        // "Thank you", "I agree"; "jai hind" or "qwerty asdf" do not.
        let ends = p.prose.trim_end().ends_with(['.', '!', '?']);
        let marker = p.words.iter().any(|w| {
            checker.function_words.contains(w.as_str())
                || lists::SENTENCE_MARKERS.contains(&w.as_str())
        });
        if !ends && !marker {
            return finding(Verdict::Hold, "two words, not a sentence");
        }
    }
    None
}
