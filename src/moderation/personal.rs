//! The `personal` reason: insults aimed at a person (another reader, the
//! story's author, "@name", "you ..."), told apart from harsh words about a
//! policy, a decision or an argument.
//!
//! - an insulting noun ("idiot", "clown") in a sentence that names a person
//!   in the conversation ("you", "the author", a mention), or said to them
//!   ("..., moron."), is personal: reject;
//! - an insulting adjective is personal only when it is said of such a
//!   person ("you are so stupid", "are you dumb"): "a stupid policy" is not;
//! - phrases aimed at the reader ("shut up", "get a life") are personal;
//! - profanity aimed at the reader ("f*** you") is personal too;
//! - an insulting noun about someone else ("the minister is an idiot") is
//!   held for a moderator: the guidelines forbid personal comments, but the
//!   person may be a public figure and the word may be quoted.

use super::text::Prepared;
use super::{Checker, Finding, Reason, Verdict};

/// Words that say what someone is: between a person and an adjective they
/// make it said of them ("you are ... stupid").
const COPULAS: &[&str] = &[
    "are", "is", "am", "r", "be", "being", "been", "was", "were", "so", "such", "too", "sound",
    "sounds", "look", "looks", "seem", "seems", "act", "acting", "become", "get", "getting",
    "you're", "youre", "ur", "u're",
];
const NEGATIONS: &[&str] = &[
    "not", "never", "aren't", "isn't", "wasn't", "weren't", "arent", "isnt", "no", "nor",
];
/// Words that may stand between an adjective and a person: "pathetic little man".
const SIZES: &[&str] = &[
    "little", "old", "big", "fat", "young", "lying", "sad", "sorry", "wee",
];

/// Nouns for a person: an insulting adjective before one insults someone.
const PERSON_NOUNS: &[&str] = &[
    "person",
    "man",
    "woman",
    "guy",
    "girl",
    "boy",
    "kid",
    "fellow",
    "creature",
    "human",
    "individual",
    "people",
    "liberal",
    "liberals",
    "conservative",
    "conservatives",
    "leftist",
    "leftists",
    "rightwinger",
    "commie",
    "commies",
    "troll",
    "trolls",
];

fn finding(severity: Verdict, note: String) -> Option<Finding> {
    Some(Finding {
        reason: Reason::Personal,
        severity,
        note,
    })
}

/// Whether the words at `at` are this phrase; `*` stands for up to three words.
fn phrase_at(words: &[&str], at: usize, phrase: &[String]) -> bool {
    match phrase.split_first() {
        None => true,
        Some((first, rest)) if first == "*" => {
            (0..=3).any(|skip| at + skip <= words.len() && phrase_at(words, at + skip, rest))
        }
        Some((first, rest)) => {
            at < words.len() && words[at] == first.as_str() && phrase_at(words, at + 1, rest)
        }
    }
}

pub(crate) fn assess(checker: &Checker, p: &Prepared) -> Option<Finding> {
    let words: Vec<&super::text::Folded> = p.plain_folded().collect();
    let texts: Vec<&str> = words.iter().map(|f| f.text.as_str()).collect();
    let is_target = |w: &str| checker.targets.contains(w);
    // Phrases aimed at the reader.
    for attack in &checker.attacks {
        if (0..texts.len()).any(|at| phrase_at(&texts, at, attack)) {
            return finding(Verdict::Reject, format!("attack ({})", attack.join(" ")));
        }
    }
    // Profanity at the reader: "f*** you", "you're a f***tard", "f*** off".
    for (i, w) in texts.iter().enumerate() {
        if checker.banned.find(w).is_some() {
            let near = i.saturating_sub(3)..(i + 2).min(texts.len());
            let at_target = near
                .clone()
                .any(|j| j != i && words[j].sentence == words[i].sentence && is_target(texts[j]));
            let off = texts.get(i + 1).is_some_and(|n| *n == "off");
            if at_target || off {
                return finding(Verdict::Reject, format!("profanity at a person ({w})"));
            }
        }
    }
    let mentioned = !p.mentions.is_empty();
    let sentence_has_target = |sentence: usize| {
        mentioned
            || words
                .iter()
                .any(|g| g.sentence == sentence && is_target(&g.text))
    };
    let mut weak: Option<String> = None;
    // Insults spelt out letter by letter: "m o r o n".
    for f in p.folded.iter().filter(|f| f.joined) {
        if let Some(pat) = checker.insults.find(&f.text) {
            if sentence_has_target(f.sentence) {
                return finding(
                    Verdict::Reject,
                    format!("insult at a person ({})", pat.word),
                );
            }
            weak.get_or_insert_with(|| format!("insult ({})", pat.word));
        }
    }
    for (i, f) in words.iter().enumerate() {
        let w = f.text.as_str();
        let in_sentence = |j: usize| words[j].sentence == f.sentence;
        if let Some(pat) = checker.insults.find(w) {
            if sentence_has_target(f.sentence) {
                return finding(
                    Verdict::Reject,
                    format!("insult at a person ({})", pat.word),
                );
            }
            // Said to someone: "..., moron." or "Idiot, ...".
            let first = i == 0 || !in_sentence(i - 1) || words[i - 1].clause_end;
            let last = f.clause_end || i + 1 == words.len() || !in_sentence(i + 1);
            if first && last {
                return finding(
                    Verdict::Reject,
                    format!("insult said to someone ({})", pat.word),
                );
            }
            weak.get_or_insert_with(|| format!("insult ({})", pat.word));
            continue;
        }
        let Some(pat) = checker.insult_adjectives.find(w) else {
            continue;
        };
        // "you are (so) stupid", "you're fake or plain stupid": a person,
        // a word saying what they are, then the adjective, in one clause.
        let mut said_of_target = false;
        let mut copula = false;
        let mut j = i;
        while j > 0 && i - j < 6 && in_sentence(j - 1) && !words[j - 1].clause_end {
            j -= 1;
            let before = words[j].text.as_str();
            if NEGATIONS.contains(&before) {
                break;
            }
            if is_target(before) {
                said_of_target = copula || j + 1 == i || COPULAS.contains(&before);
                break;
            }
            copula |= COPULAS.contains(&before);
        }
        // "how stupid are you", "as dumb as you are".
        let asked = (1..=2).all(|k| i + k < words.len() && in_sentence(i + k))
            && (COPULAS.contains(&texts[i + 1]) || texts[i + 1] == "as")
            && is_target(texts[i + 2]);
        // "you stupid ...", "stupid author", "pathetic little man".
        let mut k = i + 1;
        while k < words.len() && k <= i + 2 && in_sentence(k) && SIZES.contains(&texts[k]) {
            k += 1;
        }
        let next = (k < words.len() && in_sentence(k)).then(|| texts[k]);
        let before_person = next.is_some_and(|n| {
            (is_target(n) && !matches!(n, "your" | "ur")) || checker.insults.find(n).is_some()
        });
        let person = next.is_some_and(|n| PERSON_NOUNS.contains(&n));
        if said_of_target || asked || before_person || (person && sentence_has_target(f.sentence)) {
            return finding(
                Verdict::Reject,
                format!("insult at a person ({})", pat.word),
            );
        }
        // Said of someone else, or exclaimed on its own: "Stupid!".
        let alone =
            (i == 0 || !in_sentence(i - 1)) && (i + 1 == words.len() || !in_sentence(i + 1));
        if person || alone {
            weak.get_or_insert_with(|| format!("insult ({})", pat.word));
        }
    }
    weak.and_then(|note| finding(Verdict::Hold, note))
}
