//! The `language` reason: comments have to be in English.
//!
//! Three signals, cheapest first:
//! 1. the script: a comment mostly in letters other than Latin (Devanagari,
//!    Tamil, Arabic, Cyrillic ...) is not English;
//! 2. romanised Hindi/Urdu ("Hinglish"): language detectors see only Latin
//!    letters there, so a built-in list of its common words (a publication
//!    setting) counts them;
//! 3. lingua over a few languages chosen for their small models (see
//!    docs/moderation.md), with English function words as a check on both
//!    sides: a long text with none of them is no English whatever the
//!    detector's nearest guess among its few languages, and a text with
//!    plenty of them is English even when the detector is unsure (short,
//!    slangy comments).
//!
//! Names and hashtags are no language: capitalised words that do not start
//! a sentence ("Brett Favre", "MAnning") and hashtags are left out of what
//! the detector and the word counts read, so a sports fan's row of names or
//! a tag does not make a comment foreign.

use std::collections::HashSet;

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};

use super::lists;
use super::text::Prepared;
use super::{Guidelines, Verdict};

/// The languages lingua compares English with. Each adds its model's size to
/// the memory of a process that has met text it could be (see the docs).
pub(crate) const LANGUAGES: &[Language] = &[
    Language::English,
    Language::French,
    Language::German,
    Language::Spanish,
    Language::Italian,
    Language::Malay,
    Language::Tagalog,
    Language::Swahili,
    Language::Yoruba,
    Language::Somali,
];

/// lingua reads at most this many bytes of a comment: enough to decide, and
/// it keeps the time of a long comment bounded.
const SAMPLE_BYTES: usize = 360;

pub(crate) struct LanguageCheck {
    detector: LanguageDetector,
    romanised: HashSet<String>,
    function: HashSet<&'static str>,
    shared: HashSet<&'static str>,
    common: HashSet<&'static str>,
}

/// What the language rule found.
pub(crate) struct Finding {
    /// How English the comment is, 0 to 1.
    pub english: f32,
    /// The share of its words that are romanised Hindi/Urdu.
    pub romanised: f32,
    pub severity: Option<Verdict>,
    pub note: &'static str,
}

impl LanguageCheck {
    pub fn new(guidelines: &Guidelines) -> LanguageCheck {
        // Models load on first use and stay (lingua keeps them in a static
        // map shared by every detector), so tests and the server pay once.
        let detector = LanguageDetectorBuilder::from_languages(LANGUAGES).build();
        LanguageCheck {
            detector,
            romanised: guidelines
                .romanised
                .iter()
                .map(|w| w.to_lowercase())
                .collect(),
            function: lists::ENGLISH_FUNCTION.iter().copied().collect(),
            shared: lists::ENGLISH_FUNCTION_SHARED.iter().copied().collect(),
            common: lists::ENGLISH_COMMON.iter().copied().collect(),
        }
    }

    /// Loads every model now, so the first comment is not slow.
    pub fn preload(&self) {
        let _ = self.detector.compute_language_confidence(
            "The quick brown fox jumps over the lazy dog.",
            Language::English,
        );
    }

    pub fn assess(&self, p: &Prepared, guidelines: &Guidelines) -> Finding {
        let t = &guidelines.thresholds;
        let n = p.words.len();
        let other_script = p.letters - p.latin;
        if p.letters > 0 && other_script as f32 > 0.3 * p.letters as f32 {
            return Finding {
                english: 0.0,
                romanised: 0.0,
                severity: Some(Verdict::Reject),
                note: "written in a script other than Latin",
            };
        }
        if p.letters < 3 || n == 0 {
            return Finding {
                english: 1.0,
                romanised: 0.0,
                severity: None,
                note: "",
            };
        }
        // Names, hashtags and handles say nothing of the language a comment
        // is in ("Eli MAnning, Brett Favre, John Elway", "#WhistlePodu"):
        // the rest of the comment is judged, and a row of names alone is
        // left alone.
        let (mut kept, names) = self.without_names(&p.prose);
        // Hashtags alone ("#WeAreInControl") are tags, not a language.
        let tags_only = p.prose.split_whitespace().all(|t| t.starts_with('#'));
        // Three names or more parted by commas are a list of names; a
        // heading in capitals ("La Asamblea General") is not.
        let groups = p
            .prose
            .split([',', ';', '&'])
            .filter(|g| !g.trim().is_empty())
            .count();
        let list = names >= 2 && groups >= 3;
        if kept.len() <= 1 && names > 0 && !list {
            kept = p.words.clone();
        }
        let n = kept.len();
        if tags_only || n == 0 || (list && n <= 1) {
            return Finding {
                english: 1.0,
                romanised: 0.0,
                severity: None,
                note: "",
            };
        }
        let romanised = p
            .words
            .iter()
            .filter(|w| self.romanised.contains(w.as_str()))
            .count();
        let function = kept
            .iter()
            .filter(|w| self.function.contains(w.as_str()))
            .count();
        let shared = kept
            .iter()
            .filter(|w| self.shared.contains(w.as_str()) || self.common.contains(w.as_str()))
            .count();
        let romanised_share = romanised as f32 / p.words.len() as f32;
        let function_share = function as f32 / n as f32;
        let weighted_share = (function as f32 + shared as f32 / 2.0) / n as f32;
        if romanised >= 2 && romanised_share >= t.romanised_share {
            let severity = if romanised > function {
                Verdict::Reject
            } else {
                Verdict::Hold
            };
            return Finding {
                english: 0.0,
                romanised: romanised_share,
                severity: Some(severity),
                note: "romanised Hindi or Urdu",
            };
        }
        // A long text made of English's little words is English: no need to
        // ask the detector (and no time spent on it).
        if n >= 8 && function_share >= 0.3 {
            return Finding {
                english: 1.0,
                romanised: romanised_share,
                severity: None,
                note: "",
            };
        }
        let text = kept.join(" ");
        let sample = sample(&text, SAMPLE_BYTES);
        let values = self.detector.compute_language_confidence_values(sample);
        let top = values.first().map(|(l, _)| *l);
        let english_confidence = values
            .iter()
            .find(|(l, _)| *l == Language::English)
            .map(|(_, c)| *c as f32)
            .unwrap_or(0.0);
        // English's little words make a short, slangy comment English when
        // the detector hesitates ("Faux is a better source of animus.").
        let weighted = function as f32 + shared as f32 / 2.0;
        let mut english =
            top == Some(Language::English) || (weighted >= 1.5 && weighted_share >= 0.25);
        // The detector knows few languages; one it does not know comes out
        // as the nearest of them, sometimes English. English of six words
        // or more always has some of its little words.
        if english && n >= 6 && weighted_share < 0.1 {
            english = false;
        }
        if english {
            return Finding {
                english: english_confidence.max(0.5),
                romanised: romanised_share,
                severity: None,
                note: "",
            };
        }
        let severity = if n <= 3 && english_confidence >= t.short_english_hold {
            Verdict::Hold
        } else {
            Verdict::Reject
        };
        Finding {
            english: english_confidence.min(0.49),
            romanised: romanised_share,
            severity: Some(severity),
            note: "not English",
        }
    }
}

impl LanguageCheck {
    /// The words of the prose, lowercase, without hashtags and names: a
    /// word written with a capital and small letters ("Brett", "MAnning")
    /// that is not one of English's little words ("The", "I'm").
    fn without_names(&self, prose: &str) -> (Vec<String>, usize) {
        let mut kept = Vec::new();
        let mut names = 0;
        // A capital starting a sentence is grammar, not a name.
        let mut starts_sentence = true;
        for token in prose.split_whitespace() {
            let first = starts_sentence;
            starts_sentence = token.ends_with(['.', '!', '?']);
            if token.starts_with('#') {
                names += 1;
                continue;
            }
            for (k, word) in token
                .split(|c: char| {
                    !(c.is_alphabetic() || super::text::is_mark(c) || c == '\'' || c == '\u{2019}')
                })
                .map(|w| w.trim_matches(|c| c == '\'' || c == '\u{2019}'))
                .filter(|w| !w.is_empty())
                .enumerate()
            {
                let lower = word.to_lowercase().replace('\u{2019}', "'");
                let mut chars = word.chars();
                let capital = chars.next().is_some_and(char::is_uppercase);
                let name = capital
                    && !(first && k == 0)
                    && chars.any(char::is_lowercase)
                    && !self.function.contains(lower.as_str())
                    && !self.shared.contains(lower.as_str());
                if name {
                    names += 1;
                } else {
                    kept.push(lower);
                }
            }
        }
        (kept, names)
    }
}

/// The start of a text, cut at a character boundary.
fn sample(text: &str, max: usize) -> &str {
    let text = text.trim();
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind(char::is_whitespace) {
        Some(space) if space > max / 2 => &text[..space],
        _ => &text[..end],
    }
}
