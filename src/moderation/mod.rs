//! The comment guidelines check: "Comments have to be in English, and in
//! full sentences. They cannot be abusive or personal."
//!
//! [`Checker::check`] gives every new or edited comment a [`Verdict`]
//! (approve, hold for the moderators, reject) with its [`Reason`]s, each a
//! stable code and words for the author. It is the verdict *before* the
//! publication's moderation policy: whether an approved comment still waits
//! for a moderator (pre-moderation) is the caller's decision.
//!
//! The check is a set of rules, one module each (`language`, `form`,
//! `abuse`, `personal`, `spam`), over word lists and thresholds that are
//! publication settings ([`Guidelines`]), plus, when the publication has
//! trained one from its moderators' decisions, a [`Model`] whose score can
//! hold a comment the rules let through. It is pure: the caller gives it the
//! context it needs (the author's recent comments, the story, the time).
//! docs/moderation.md has the reasons, the tools chosen and the figures.

mod abuse;
pub mod cli;
pub mod entries;
pub mod eval;
mod form;
mod language;
pub mod lists;
mod model;
mod personal;
mod spam;
mod text;

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

pub use model::{Model, train};

use text::{Prepared, WordList};

/// The publication's guidelines as settings: word lists and thresholds.
/// Every list replaces the built-in one when given; leave a key out to keep
/// the default. Loaded by the caller (from the publication's settings) and
/// given to [`Checker::new`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Guidelines {
    /// Strong profanity and slurs: reject (`abuse`). Entry syntax: `word`
    /// (and its plural), `stem*` (with common endings), `*root*` (inside any
    /// word; only for roots no innocent word contains).
    pub banned: Vec<String>,
    /// Words a moderator should see: hold (`abuse`).
    pub suspect: Vec<String>,
    /// Nouns that dehumanise people when said of them (`abuse`).
    pub dehumanising: Vec<String>,
    /// Nouns that insult a person (`personal`).
    pub insults: Vec<String>,
    /// Adjectives that insult when said of a person (`personal`).
    pub insult_adjectives: Vec<String>,
    /// Nouns that belittle a person only when said of the reader: "you are a
    /// child", "you're such a joke" (`personal`); "my child", "the policy is
    /// a joke" pass.
    pub belittling: Vec<String>,
    /// Words for a person in the conversation: "you", "author" ... (`personal`).
    pub targets: Vec<String>,
    /// Phrases aimed at the reader addressed: "shut up" ... (`personal`).
    pub attacks: Vec<String>,
    /// Romanised Hindi/Urdu words (`language`).
    pub romanised: Vec<String>,
    /// Words of a money offer (`spam`).
    pub spam_words: Vec<String>,
    /// Hosts whose links are not outside links: the publication's own
    /// (`example.com` also allows its subdomains).
    pub allowed_link_hosts: Vec<String>,
    pub thresholds: Thresholds,
}

/// The numbers of the rules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Fewer words than this is not a sentence (`form`).
    pub min_words: usize,
    /// A comment whose cased letters are at least this share capitals is
    /// shouting (`form`).
    pub shouting_share: f32,
    /// A comment of 3 words or more whose distinct words are at most this
    /// share of its words is repetition (`form`).
    pub repetition_share: f32,
    /// Romanised Hindi/Urdu words at least this share of the words (and two
    /// or more) make the comment not English (`language`).
    pub romanised_share: f32,
    /// A text of three words or fewer that the detector does not call
    /// English but gives at least this English confidence is held, not
    /// rejected (`language`).
    pub short_english_hold: f32,
    /// The same text by the same author on this many other stories is held
    /// (`spam`) ...
    pub repeat_stories_hold: usize,
    /// ... and on this many, rejected.
    pub repeat_stories_reject: usize,
    /// Two texts with at least this share of words in common are the same text.
    pub repeat_similarity: f32,
    /// This many comments by one author within `flood_minutes`, counting the
    /// new one, is flooding: held (`spam`).
    pub flood_count: usize,
    pub flood_minutes: u32,
    /// The model's score (probability of "reject") at or above which a
    /// comment the rules approve is held.
    pub model_hold: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_words: 2,
            shouting_share: 0.7,
            repetition_share: 0.5,
            romanised_share: 0.25,
            short_english_hold: 0.2,
            repeat_stories_hold: 1,
            repeat_stories_reject: 2,
            repeat_similarity: 0.85,
            flood_count: 6,
            flood_minutes: 10,
            model_hold: 0.85,
        }
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Default for Guidelines {
    fn default() -> Self {
        Guidelines {
            banned: strings(lists::BANNED),
            suspect: strings(lists::SUSPECT),
            dehumanising: strings(lists::DEHUMANISING),
            insults: strings(lists::INSULTS),
            insult_adjectives: strings(lists::INSULT_ADJECTIVES),
            belittling: strings(lists::BELITTLING),
            targets: strings(lists::TARGETS),
            attacks: strings(lists::ATTACKS),
            romanised: strings(lists::ROMANISED),
            spam_words: strings(lists::SPAM_WORDS),
            allowed_link_hosts: Vec::new(),
            thresholds: Thresholds::default(),
        }
    }
}

/// One of the author's earlier comments, for the spam rules.
#[derive(Clone, Debug, Default)]
pub struct Recent {
    pub text: String,
    pub story: Option<String>,
    pub time: Option<jiff::Timestamp>,
}

/// What the check knows besides the text.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context<'a> {
    pub author: Option<&'a str>,
    pub story: Option<&'a str>,
    pub time: Option<jiff::Timestamp>,
    /// The author's recent comments, any order.
    pub recent: &'a [Recent],
}

/// What happens to a comment before the publication's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Approve,
    Hold,
    Reject,
}

impl Verdict {
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Hold => "hold",
            Verdict::Reject => "reject",
        }
    }
}

/// Why a comment was held or rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Language,
    Form,
    Abuse,
    Personal,
    Spam,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::Language,
        Reason::Form,
        Reason::Abuse,
        Reason::Personal,
        Reason::Spam,
    ];

    /// The stable code, as stored and as the API shows it.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Language => "language",
            Reason::Form => "form",
            Reason::Abuse => "abuse",
            Reason::Personal => "personal",
            Reason::Spam => "spam",
        }
    }

    /// Plain words for the author of a comment refused for this reason.
    pub fn message(&self) -> &'static str {
        match self {
            Reason::Language => {
                "Your comment seems not to be in English. Comments here have to be in English."
            }
            Reason::Form => {
                "Your comment seems not to be written in full sentences. Please write sentences, not single words, emoji, a link alone, repeated words or capitals."
            }
            Reason::Abuse => {
                "Your comment contains abusive language. Please make your point without strong swearing, slurs or words that demean people."
            }
            Reason::Personal => {
                "Your comment seems to attack a person. Please criticise arguments, decisions and policies, not the people who make them or other readers."
            }
            Reason::Spam => {
                "Your comment looks like advertising or a repeated message. Links to other sites, offers and the same text on several stories are not allowed."
            }
        }
    }

    pub fn parse(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// The check's answer for one comment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Every reason that held or rejected it, in the order of [`Reason::ALL`].
    pub reasons: Vec<Reason>,
    /// The rules' measures, 0 to 1: `english`, `romanised`, `capitals`, and
    /// `model` (the model's probability of "reject") when there is a model.
    pub scores: BTreeMap<String, f32>,
    /// Short notes for moderators: which rule fired on what.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One rule's finding.
pub(crate) struct Finding {
    pub reason: Reason,
    pub severity: Verdict,
    pub note: String,
}

/// The check, built once from the guidelines (and a model, if the
/// publication trained one) and shared by every request.
pub struct Checker {
    guidelines: Guidelines,
    banned: WordList,
    suspect: WordList,
    dehumanising: WordList,
    insults: WordList,
    insult_adjectives: WordList,
    belittling: WordList,
    targets: HashSet<String>,
    attacks: Vec<Vec<String>>,
    spam_words: HashSet<String>,
    function_words: HashSet<&'static str>,
    language: language::LanguageCheck,
    model: Option<Model>,
}

impl Checker {
    pub fn new(guidelines: Guidelines, model: Option<Model>) -> Checker {
        let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<HashSet<_>>();
        Checker {
            banned: WordList::new(&guidelines.banned),
            suspect: WordList::new(&guidelines.suspect),
            dehumanising: WordList::new(&guidelines.dehumanising),
            insults: WordList::new(&guidelines.insults),
            insult_adjectives: WordList::new(&guidelines.insult_adjectives),
            belittling: WordList::new(&guidelines.belittling),
            targets: lower(&guidelines.targets),
            attacks: guidelines
                .attacks
                .iter()
                .map(|a| {
                    a.split_whitespace()
                        .map(|w| w.to_lowercase())
                        .collect::<Vec<_>>()
                })
                .filter(|a| !a.is_empty())
                .collect(),
            spam_words: lower(&guidelines.spam_words),
            function_words: lists::ENGLISH_FUNCTION.iter().copied().collect(),
            language: language::LanguageCheck::new(&guidelines),
            guidelines,
            model,
        }
    }

    /// Loads the language models now rather than at the first comment.
    pub fn preload(&self) {
        self.language.preload();
    }

    pub fn guidelines(&self) -> &Guidelines {
        &self.guidelines
    }

    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// The verdict on one comment, before the publication's policy.
    pub fn check(&self, text: &str, ctx: &Context) -> Outcome {
        self.check_with(text, ctx, true)
    }

    /// The verdict of the rules alone, without the model.
    pub fn check_rules(&self, text: &str, ctx: &Context) -> Outcome {
        self.check_with(text, ctx, false)
    }

    fn check_with(&self, text: &str, ctx: &Context, use_model: bool) -> Outcome {
        let p = Prepared::new(text);
        let mut findings: Vec<Finding> = Vec::new();
        let mut scores = BTreeMap::new();

        let form = form::assess(self, &p);
        // A comment without words has no language to judge.
        if !p.words.is_empty() {
            let lang = self.language.assess(&p, &self.guidelines);
            scores.insert("english".to_string(), round(lang.english));
            scores.insert("romanised".to_string(), round(lang.romanised));
            if let Some(severity) = lang.severity {
                findings.push(Finding {
                    reason: Reason::Language,
                    severity,
                    note: lang.note.to_string(),
                });
            }
        }
        let cased = p.upper + p.lower;
        if cased > 0 {
            scores.insert("capitals".to_string(), round(p.upper as f32 / cased as f32));
        }
        findings.extend(form);
        findings.extend(abuse::assess(self, &p));
        findings.extend(personal::assess(self, &p));
        findings.extend(spam::assess(self, &p, text, ctx));

        let mut verdict = findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Verdict::Approve);
        let mut notes: Vec<String> = findings
            .iter()
            .map(|f| format!("{}: {}", f.reason.code(), f.note))
            .collect();
        if use_model && let Some(model) = &self.model {
            let score = model.score(&p);
            scores.insert("model".to_string(), round(score));
            if verdict == Verdict::Approve && score >= self.guidelines.thresholds.model_hold {
                verdict = Verdict::Hold;
                notes.push(format!("model: score {score:.2}"));
            }
        }
        let mut reasons: Vec<Reason> = findings.iter().map(|f| f.reason).collect();
        reasons.sort();
        reasons.dedup();
        Outcome {
            verdict,
            reasons,
            scores,
            notes,
        }
    }
}

fn round(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests;
