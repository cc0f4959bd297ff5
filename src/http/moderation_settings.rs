//! The comment settings and the guidelines on the moderators' desk:
//! `/moderation/settings`.
//!
//! Admins change them here; moderators and editors read them. The two
//! publication settings it edits are `comments` ([`CommentSettings`]) and
//! `guidelines` ([`Guidelines`]), JSON values in the `settings` table.
//!
//! - `GET /moderation/settings`: the form, with each word list, whether it is
//!   the built-in one or the publication's own, and the built-in list to
//!   start from.
//! - `POST /moderation/settings`: save (`action=save`), or put a built-in
//!   list back in its box (`restore=KEY`) without saving, so the admin sees
//!   it before saving it.
//! - `POST /moderation/settings/try`: the verdict the check gives a comment
//!   with the settings in the form, before they are saved (moderators: with
//!   the saved ones).
//!
//! A list equal to the built-in one, and a threshold equal to its default,
//! are stored as absent, so they follow the built-in values when Masthead
//! changes them. Saving writes both settings, one line in the moderators'
//! log saying what changed, and bumps the content epoch, all in one
//! transaction: every instance applies the new guidelines at its next look
//! at the epoch. A form with problems comes back with what was typed, the
//! words next to each field, and status 422.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::db::comments;
use crate::db::members::SessionMember;
use crate::db::settings::{self, CommentSettings, ModerationPolicy};
use crate::error::{AppError, AppResult};
use crate::moderation::entries::{self, Syntax};
use crate::moderation::{Checker, Context, Guidelines, Outcome, Thresholds, Verdict};
use crate::render::val;

use super::auth::{Visitor, check_csrf};
use super::pages::site_context;
use super::{form_fields, form_value, no_store, see_other, sign_in_first};

const PATH: &str = "/moderation/settings";

/// The longest text the try-it box checks, like the longest comment.
const TRY_MAX_CHARS: usize = 20_000;

/// Who is at the screen: admins change the settings, the desk's other
/// staff read them.
enum Access<'a> {
    Edit(&'a SessionMember),
    Read,
}

fn access(visitor: &Visitor) -> AppResult<Access<'_>> {
    match &visitor.member {
        Some(m) if m.role == "admin" => Ok(Access::Edit(m)),
        Some(m) if matches!(m.role.as_str(), "moderator" | "editor") => Ok(Access::Read),
        Some(_) => Err(AppError::Forbidden(
            "The comment settings are for moderators, editors and admins.".into(),
        )),
        None => Err(AppError::Forbidden(
            "Sign in as an admin to change the comment settings.".into(),
        )),
    }
}

fn admin(visitor: &Visitor) -> AppResult<&SessionMember> {
    match access(visitor)? {
        Access::Edit(m) => Ok(m),
        Access::Read => Err(AppError::Forbidden(
            "Only admins change the comment settings.".into(),
        )),
    }
}

/// A word list as the screen shows it.
struct ListInfo {
    key: &'static str,
    title: &'static str,
    /// What the check does with it, in one sentence.
    what: &'static str,
    /// What an empty list would switch off (`None`: empty is ordinary).
    empty_disables: Option<&'static str>,
}

const LISTS: &[ListInfo] = &[
    ListInfo {
        key: "banned",
        title: "Banned words",
        what: "Strong profanity and slurs: a comment with one is rejected (abuse), and one aimed at a person is personal too.",
        empty_disables: Some("no word would be rejected as abusive"),
    },
    ListInfo {
        key: "suspect",
        title: "Suspect words",
        what: "Words a moderator should see: a comment with one is held (abuse).",
        empty_disables: Some("no comment would be held for a suspect word"),
    },
    ListInfo {
        key: "dehumanising",
        title: "Dehumanising nouns",
        what: "Nouns that dehumanise people when said of them (“… are vermin”, “breed like rats”): rejected, or held when it is less clear (abuse).",
        empty_disables: Some("dehumanising language would pass"),
    },
    ListInfo {
        key: "insults",
        title: "Insults",
        what: "Nouns that insult a person: rejected when aimed at someone in the conversation, held when said of someone else (personal).",
        empty_disables: Some("insulting nouns would pass"),
    },
    ListInfo {
        key: "insult_adjectives",
        title: "Insulting adjectives",
        what: "Adjectives that insult when said of a person in the conversation (“you are so stupid”), never of a policy (personal).",
        empty_disables: Some("insulting adjectives would pass"),
    },
    ListInfo {
        key: "belittling",
        title: "Belittling nouns",
        what: "Nouns that belittle a person only when said of the reader (“you are a child”, “you're such a joke”); “my child” and “the policy is a joke” pass (personal).",
        empty_disables: Some("“you are a child” and the like would pass"),
    },
    ListInfo {
        key: "targets",
        title: "People in the conversation",
        what: "Words for the reader addressed, the story's author or staff (you, author …): an insult in the same sentence is aimed at them (personal).",
        empty_disables: Some("no insult would count as aimed at someone in the conversation"),
    },
    ListInfo {
        key: "attacks",
        title: "Attack phrases",
        what: "Phrases aimed at the reader addressed (shut up, get a life): rejected (personal).",
        empty_disables: Some("no phrase would be rejected as an attack"),
    },
    ListInfo {
        key: "romanised",
        title: "Romanised Hindi and Urdu",
        what: "Common Hindi and Urdu words written in Latin letters: when they make a quarter of a comment's words (the threshold below), it is not in English (language).",
        empty_disables: Some("comments in romanised Hindi or Urdu would pass as English"),
    },
    ListInfo {
        key: "spam_words",
        title: "Offer words",
        what: "Words of a money offer: with a phone number, an e-mail address or an outside link they make a comment spam.",
        empty_disables: Some(
            "a phone number or link with an offer would be held or pass instead of being rejected",
        ),
    },
    ListInfo {
        key: "allowed_link_hosts",
        title: "Allowed link hosts",
        what: "Sites whose links are not outside links (spam). The publication's own address is always allowed.",
        empty_disables: None,
    },
];

/// The entry syntax of a list, as HTML (fixed text, nothing from a reader).
fn syntax_help(s: Syntax) -> &'static str {
    match s {
        Syntax::Pattern => {
            "One word a line. <code>word</code> matches the word and its plural; \
             <code>stem*</code> matches it with a common ending (-ing, -ed, -er, -y …); \
             <code>*root*</code> matches it inside any word, only for roots no innocent word \
             contains. Write the plain spelling: disguises (sh1t, f u c k, look-alike letters) \
             are undone before comparing."
        }
        Syntax::Word => "One word a line, compared whole; no <code>*</code>.",
        Syntax::Phrase => {
            "One phrase a line, its words in a row; <code>*</code> between two words stands \
             for up to three words (<code>shut * up</code>)."
        }
        Syntax::Host => {
            "One host a line, such as <code>example.com</code> (its subdomains too), without \
             https:// or a path."
        }
    }
}

/// How a number field is shown and read.
#[derive(Clone, Copy, PartialEq)]
enum Unit {
    /// A share, shown as a percentage.
    Percent,
    /// A whole number, with its unit's name.
    Whole(&'static str),
}

struct NumberInfo {
    key: &'static str,
    label: &'static str,
    unit: Unit,
    min: f64,
    max: f64,
    help: &'static str,
}

/// The comment settings' numbers (the policy is a choice of its own).
const COMMENT_NUMBERS: &[NumberInfo] = &[
    NumberInfo {
        key: "trusted_after",
        label: "Trusted after",
        unit: Unit::Whole("approved comments"),
        min: 1.0,
        max: 1000.0,
        help: "With “new members wait”: a member's comments show at once after this many of theirs were approved.",
    },
    NumberInfo {
        key: "edit_minutes",
        label: "Editing window",
        unit: Unit::Whole("minutes"),
        min: 0.0,
        max: 1440.0,
        help: "How long authors may edit a comment after posting it (0: no editing).",
    },
    NumberInfo {
        key: "close_after_days",
        label: "Close comments after",
        unit: Unit::Whole("days"),
        min: 0.0,
        max: 3650.0,
        help: "Days after a story's publication when its comments close (0: never).",
    },
    NumberInfo {
        key: "max_chars",
        label: "Longest comment",
        unit: Unit::Whole("characters"),
        min: 100.0,
        max: 20000.0,
        help: "Longer comments come back to their author to shorten.",
    },
    NumberInfo {
        key: "per_page",
        label: "Threads a page",
        unit: Unit::Whole("threads"),
        min: 5.0,
        max: 100.0,
        help: "Top-level comments on each page of a story's comments.",
    },
    NumberInfo {
        key: "max_depth",
        label: "Reply depth",
        unit: Unit::Whole("levels"),
        min: 1.0,
        max: 8.0,
        help: "Replies are indented this deep, then shown flat with the name they answer.",
    },
];

/// The guidelines' thresholds.
const THRESHOLDS: &[NumberInfo] = &[
    NumberInfo {
        key: "min_words",
        label: "Shortest comment",
        unit: Unit::Whole("words"),
        min: 1.0,
        max: 10.0,
        help: "A comment of fewer words is not a sentence: rejected (form).",
    },
    NumberInfo {
        key: "shouting_share",
        label: "Capitals",
        unit: Unit::Percent,
        min: 30.0,
        max: 100.0,
        help: "A comment whose letters are at least this share capitals is shouting: rejected (form).",
    },
    NumberInfo {
        key: "repetition_share",
        label: "Repetition",
        unit: Unit::Percent,
        min: 1.0,
        max: 100.0,
        help: "A comment of three words or more whose different words are at most this share of its words is repetition: rejected (form).",
    },
    NumberInfo {
        key: "romanised_share",
        label: "Romanised Hindi and Urdu",
        unit: Unit::Percent,
        min: 1.0,
        max: 100.0,
        help: "Words of the romanised list making at least this share of a comment's words (two or more) make it not English (language).",
    },
    NumberInfo {
        key: "short_english_hold",
        label: "Short text, maybe English",
        unit: Unit::Percent,
        min: 0.0,
        max: 100.0,
        help: "A text of three words or fewer that the detector does not call English is held, not rejected, when it is at least this sure it could be English (language).",
    },
    NumberInfo {
        key: "repeat_stories_hold",
        label: "Same text elsewhere: hold",
        unit: Unit::Whole("other stories"),
        min: 1.0,
        max: 50.0,
        help: "The same text by the same author on this many other stories is held (spam).",
    },
    NumberInfo {
        key: "repeat_stories_reject",
        label: "Same text elsewhere: reject",
        unit: Unit::Whole("other stories"),
        min: 1.0,
        max: 50.0,
        help: "… and on this many, rejected; at least the number above.",
    },
    NumberInfo {
        key: "repeat_similarity",
        label: "Same text",
        unit: Unit::Percent,
        min: 50.0,
        max: 100.0,
        help: "Two comments with at least this share of their words in common are the same text.",
    },
    NumberInfo {
        key: "flood_count",
        label: "Flooding",
        unit: Unit::Whole("comments"),
        min: 2.0,
        max: 100.0,
        help: "This many comments by one author within the minutes below, the new one counting, is flooding: held (spam).",
    },
    NumberInfo {
        key: "flood_minutes",
        label: "Flooding window",
        unit: Unit::Whole("minutes"),
        min: 1.0,
        max: 1440.0,
        help: "The minutes the comments above are counted in.",
    },
    NumberInfo {
        key: "model_hold",
        label: "Model",
        unit: Unit::Percent,
        min: 1.0,
        max: 100.0,
        help: "When the publication has trained a model: a comment the rules approve is held when the model is at least this sure it should be rejected.",
    },
];

const POLICIES: &[(ModerationPolicy, &str, &str, &str)] = &[
    (
        ModerationPolicy::Post,
        "post",
        "Post at once",
        "A comment the check approves shows at once; moderators see what it held and what readers report.",
    ),
    (
        ModerationPolicy::PreNew,
        "pre_new",
        "New members wait",
        "A member's comments wait for a moderator until the number of theirs set below were approved, then show at once.",
    ),
    (
        ModerationPolicy::PreAll,
        "pre_all",
        "Every comment waits",
        "Every comment waits for a moderator, even when the check approves it (staff's own comments excepted).",
    ),
];

fn policy_code(p: ModerationPolicy) -> &'static str {
    POLICIES.iter().find(|x| x.0 == p).map_or("post", |x| x.1)
}

/// A JSON value's object, or an empty one.
fn object(v: Option<Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The two settings as stored, and what they amount to.
struct Stored {
    comments: Map<String, Value>,
    guidelines: Map<String, Value>,
    /// The guidelines in force: the stored ones over the built-in ones.
    effective: Guidelines,
    /// Why the stored guidelines do not read, when they do not.
    unreadable: Option<String>,
}

impl Stored {
    async fn load(ex: crate::db::Ex<'_>) -> Result<Stored, sqlx::Error> {
        let mut ex = ex;
        let comments =
            object(settings::get(crate::db::stories::reborrow(&mut ex), "comments").await?);
        let guidelines = object(settings::get(ex, "guidelines").await?);
        let (effective, unreadable) =
            match serde_json::from_value::<Guidelines>(Value::Object(guidelines.clone())) {
                Ok(g) => (g, None),
                Err(e) => (Guidelines::default(), Some(e.to_string())),
            };
        Ok(Stored {
            comments,
            guidelines,
            effective,
            unreadable,
        })
    }

    fn comment_settings(&self) -> CommentSettings {
        serde_json::from_value(Value::Object(self.comments.clone())).unwrap_or_default()
    }

    /// A short fingerprint of what is stored: a form made from one version
    /// and saved over another would undo someone else's change unseen.
    fn version(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(Value::Object(self.comments.clone()).to_string());
        h.update([0]);
        h.update(Value::Object(self.guidelines.clone()).to_string());
        hex::encode(&h.finalize()[..8])
    }
}

fn list_of(g: &Guidelines, key: &str) -> Vec<String> {
    match serde_json::to_value(g)
        .ok()
        .and_then(|v| v.get(key).cloned())
    {
        Some(Value::Array(a)) => a
            .into_iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The entries of a list as the check compares them: trimmed, lower-cased.
fn entry_set(list: &[String]) -> BTreeSet<String> {
    list.iter()
        .map(|e| normalise(e))
        .filter(|e| !e.is_empty())
        .collect()
}

fn normalise(entry: &str) -> String {
    entry
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn threshold_value(t: &Thresholds, key: &str) -> f64 {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.get(key).and_then(Value::as_f64))
        .unwrap_or(0.0)
}

fn show_number(unit: Unit, x: f64) -> String {
    match unit {
        // Two decimals at most: an f32 share of 0.7 is 69.99999...% otherwise.
        Unit::Percent => format!("{}", (x * 10_000.0).round() / 100.0),
        Unit::Whole(_) => format!("{}", x.round() as i64),
    }
}

/// The form as typed (or as made from the stored settings).
#[derive(Clone, Debug, Default)]
struct Typed {
    policy: String,
    numbers: BTreeMap<&'static str, String>,
    lists: BTreeMap<&'static str, String>,
    empty_ok: BTreeSet<&'static str>,
    version: String,
    try_text: String,
    note: String,
}

impl Typed {
    fn of(stored: &Stored) -> Typed {
        let cs = serde_json::to_value(stored.comment_settings()).unwrap_or(Value::Null);
        let mut numbers = BTreeMap::new();
        for n in COMMENT_NUMBERS {
            let x = cs.get(n.key).and_then(Value::as_f64).unwrap_or(0.0);
            numbers.insert(n.key, show_number(n.unit, x));
        }
        for n in THRESHOLDS {
            let x = threshold_value(&stored.effective.thresholds, n.key);
            numbers.insert(n.key, show_number(n.unit, x));
        }
        let lists = LISTS
            .iter()
            .map(|l| (l.key, list_of(&stored.effective, l.key).join("\n")))
            .collect();
        Typed {
            policy: policy_code(stored.comment_settings().policy).to_string(),
            numbers,
            lists,
            empty_ok: BTreeSet::new(),
            version: stored.version(),
            try_text: String::new(),
            note: String::new(),
        }
    }

    fn from_form(f: &HashMap<String, Vec<String>>) -> Typed {
        let get = |k: &str| form_value(f, k).replace("\r\n", "\n");
        Typed {
            policy: get("policy").trim().to_string(),
            numbers: COMMENT_NUMBERS
                .iter()
                .chain(THRESHOLDS)
                .map(|n| (n.key, get(n.key).trim().to_string()))
                .collect(),
            lists: LISTS
                .iter()
                .map(|l| (l.key, get(&format!("list_{}", l.key))))
                .collect(),
            empty_ok: LISTS
                .iter()
                .filter(|l| form_value(f, &format!("empty_{}", l.key)) == "yes")
                .map(|l| l.key)
                .collect(),
            version: get("version").trim().to_string(),
            try_text: get("try_text"),
            note: form_value(f, "note").trim().chars().take(500).collect(),
        }
    }
}

/// Problems, each under the form field it is about.
#[derive(Default)]
struct Problems(Vec<(String, String)>);

impl Problems {
    fn add(&mut self, field: &str, words: String) {
        self.0.push((field.to_string(), words));
    }

    fn by_field(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (f, w) in &self.0 {
            out.entry(f.clone()).or_default().push(w.clone());
        }
        out
    }
}

/// The settings a valid form stands for.
struct Parsed {
    comments: CommentSettings,
    lists: BTreeMap<&'static str, Vec<String>>,
    /// The thresholds as typed, as JSON: 0.8, where the `f32` would
    /// serialise as 0.800000011920929.
    threshold_values: Map<String, Value>,
}

fn read_number(n: &NumberInfo, typed: &str, problems: &mut Problems) -> Option<f64> {
    let unit_words = match n.unit {
        Unit::Percent => "%".to_string(),
        Unit::Whole(u) => format!(" {u}"),
    };
    let range = format!(
        "from {}{unit_words} to {}{unit_words}",
        show_number(Unit::Whole(""), n.min),
        show_number(Unit::Whole(""), n.max)
    );
    let s = typed.trim().trim_end_matches('%').trim();
    let parsed = match n.unit {
        Unit::Percent => s.parse::<f64>().ok().filter(|x| x.is_finite()),
        Unit::Whole(_) => s.parse::<i64>().ok().map(|x| x as f64),
    };
    match parsed {
        None if s.is_empty() => {
            problems.add(n.key, format!("{}: give a number {range}.", n.label));
            None
        }
        None => {
            let kind = match n.unit {
                Unit::Percent => "a number",
                Unit::Whole(_) => "a whole number",
            };
            problems.add(
                n.key,
                format!("{}: “{typed}” is not {kind}; give one {range}.", n.label),
            );
            None
        }
        Some(x) if x < n.min || x > n.max => {
            problems.add(
                n.key,
                format!(
                    "{}: {typed} is out of range; give a number {range}.",
                    n.label
                ),
            );
            None
        }
        Some(x) => Some(match n.unit {
            Unit::Percent => x / 100.0,
            Unit::Whole(_) => x,
        }),
    }
}

/// Reads and checks the whole form; every problem is reported at once.
fn parse(t: &Typed) -> Result<Parsed, Problems> {
    let mut p = Problems::default();
    let policy = POLICIES.iter().find(|x| x.1 == t.policy).map(|x| x.0);
    if policy.is_none() {
        p.add(
            "policy",
            "Policy: choose one of post at once, new members wait, or every comment waits.".into(),
        );
    }
    let mut cs = Map::new();
    cs.insert(
        "policy".into(),
        Value::from(policy_code(policy.unwrap_or(ModerationPolicy::Post))),
    );
    for n in COMMENT_NUMBERS {
        if let Some(x) = read_number(n, &t.numbers[n.key], &mut p) {
            cs.insert(n.key.into(), Value::from(x as i64));
        }
    }
    let mut th = Map::new();
    for n in THRESHOLDS {
        if let Some(x) = read_number(n, &t.numbers[n.key], &mut p) {
            let v = match n.unit {
                // Rounded as shown: 70.5% is 0.705.
                Unit::Percent => Value::from((x * 10_000.0).round() / 10_000.0),
                Unit::Whole(_) => Value::from(x as i64),
            };
            th.insert(n.key.into(), v);
        }
    }
    if let (Some(h), Some(r)) = (
        th.get("repeat_stories_hold").and_then(Value::as_i64),
        th.get("repeat_stories_reject").and_then(Value::as_i64),
    ) && r < h
    {
        p.add(
            "repeat_stories_reject",
            format!(
                "Same text elsewhere: reject: {r} is fewer than the {h} that hold a comment; \
                 give {h} or more."
            ),
        );
    }
    let mut lists = BTreeMap::new();
    for l in LISTS {
        let syntax = entries::syntax_of(l.key).unwrap_or(Syntax::Word);
        let mut entries_typed: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        for line in t.lists[l.key].lines() {
            let e = line.split_whitespace().collect::<Vec<_>>().join(" ");
            if e.is_empty() {
                continue;
            }
            if let Err(why) = entries::check(syntax, &e) {
                p.add(&format!("list_{}", l.key), format!("{}: {why}", l.title));
            } else if seen.insert(e.to_lowercase()) {
                entries_typed.push(e);
            }
        }
        if entries_typed.is_empty()
            && let Some(off) = l.empty_disables
            && !t.empty_ok.contains(l.key)
        {
            p.add(
                &format!("list_{}", l.key),
                format!(
                    "{}: the list is empty, so {off}. Tick “Allow it empty” to save it so, \
                     or restore the built-in list.",
                    l.title
                ),
            );
        }
        lists.insert(l.key, entries_typed);
    }
    let comments = serde_json::from_value::<CommentSettings>(Value::Object(cs));
    let thresholds = serde_json::from_value::<Thresholds>(Value::Object(th.clone()));
    match (p.0.is_empty(), comments, thresholds) {
        (true, Ok(comments), Ok(_)) => Ok(Parsed {
            comments,
            lists,
            threshold_values: th,
        }),
        (true, c, th) => {
            // Every field was read: only a change of the settings' types
            // (a new version of Masthead) gets here.
            let e = c
                .err()
                .map_or_else(|| th.err().map(|e| e.to_string()), |e| Some(e.to_string()));
            p.add(
                "form",
                format!("These settings do not read: {}", e.unwrap_or_default()),
            );
            Err(p)
        }
        (false, _, _) => Err(p),
    }
}

/// The stored values the parsed form becomes: lists equal to the built-in
/// ones and thresholds at their defaults left out, keys the screen does not
/// know kept.
fn to_store(stored: &Stored, parsed: &Parsed) -> (Map<String, Value>, Map<String, Value>) {
    let mut comments = stored.comments.clone();
    if let Value::Object(m) = serde_json::to_value(&parsed.comments).unwrap_or(Value::Null) {
        comments.extend(m);
    }
    let builtin = Guidelines::default();
    let mut guidelines = stored.guidelines.clone();
    for (key, list) in &parsed.lists {
        if entry_set(list) == entry_set(&list_of(&builtin, key)) {
            guidelines.remove(*key);
        } else {
            guidelines.insert(key.to_string(), Value::from(list.clone()));
        }
    }
    let defaults = Thresholds::default();
    let mut thresholds = Map::new();
    for (k, v) in &parsed.threshold_values {
        // Compared as the check reads them: as `f32`.
        let same = v.as_f64().map(|x| x as f32) == Some(threshold_value(&defaults, k) as f32);
        if !same {
            thresholds.insert(k.clone(), v.clone());
        }
    }
    if thresholds.is_empty() {
        guidelines.remove("thresholds");
    } else {
        guidelines.insert("thresholds".into(), Value::Object(thresholds));
    }
    (comments, guidelines)
}

/// What a save changes, in words for the log: "banned: 1 added
/// (flibbertigibbet)", "policy post → pre_new".
fn describe_changes(
    before: &Stored,
    after_comments: &CommentSettings,
    after: &Guidelines,
    after_stored: &Map<String, Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    let old_cs = serde_json::to_value(before.comment_settings()).unwrap_or(Value::Null);
    let new_cs = serde_json::to_value(after_comments).unwrap_or(Value::Null);
    for key in std::iter::once("policy").chain(COMMENT_NUMBERS.iter().map(|n| n.key)) {
        let (a, b) = (old_cs.get(key), new_cs.get(key));
        if a != b {
            let show = |v: Option<&Value>| match v {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => "-".into(),
            };
            out.push(format!("{key} {} → {}", show(a), show(b)));
        }
    }
    for l in LISTS {
        let (old, new) = (
            entry_set(&list_of(&before.effective, l.key)),
            entry_set(&list_of(after, l.key)),
        );
        let was_own = before.guidelines.contains_key(l.key);
        let is_own = after_stored.contains_key(l.key);
        if old == new && was_own == is_own {
            continue;
        }
        let added: Vec<&String> = new.difference(&old).collect();
        let removed: Vec<&String> = old.difference(&new).collect();
        let few = |v: &[&String]| {
            if v.is_empty() || v.len() > 5 {
                String::new()
            } else {
                format!(
                    " ({})",
                    v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            }
        };
        let whose = match (was_own, is_own) {
            (true, false) => "back to the built-in list, ",
            (false, true) => "own list, ",
            _ => "",
        };
        out.push(format!(
            "{}: {whose}{} added{}, {} removed{}",
            l.key,
            added.len(),
            few(&added),
            removed.len(),
            few(&removed)
        ));
    }
    let (old_t, new_t) = (&before.effective.thresholds, &after.thresholds);
    for n in THRESHOLDS {
        let (a, b) = (threshold_value(old_t, n.key), threshold_value(new_t, n.key));
        if (a - b).abs() > 1e-6 {
            let unit = if n.unit == Unit::Percent { "%" } else { "" };
            out.push(format!(
                "{} {}{unit} → {}{unit}",
                n.key,
                show_number(n.unit, a),
                show_number(n.unit, b)
            ));
        }
    }
    out
}

/// The publication's own host is always among the allowed link hosts, as
/// the server applies the guidelines.
fn with_own_host(state: &AppState, g: Guidelines) -> Guidelines {
    crate::app::own_hosts(&state.config, g)
}

/// A list as the template shows it.
#[derive(Serialize)]
struct ListView {
    key: &'static str,
    title: &'static str,
    what: &'static str,
    syntax: minijinja::Value,
    /// Stored as the publication's own (rather than the built-in list).
    own: bool,
    count: usize,
    builtin: Vec<String>,
    /// The publication's list against the built-in one.
    added: usize,
    removed: usize,
    text: String,
    empty_disables: Option<&'static str>,
    empty_ok: bool,
    rows: usize,
    restored: bool,
}

#[derive(Serialize)]
struct NumberView {
    key: &'static str,
    label: &'static str,
    unit: &'static str,
    percent: bool,
    min: String,
    max: String,
    help: &'static str,
    value: String,
    default: String,
}

#[derive(Serialize)]
struct PolicyView {
    code: &'static str,
    label: &'static str,
    what: &'static str,
}

#[derive(Serialize)]
struct TryView {
    verdict: &'static str,
    /// What happens to the comment under the policy in the form.
    then: String,
    reasons: Vec<(&'static str, &'static str)>,
    notes: Vec<String>,
    scores: Vec<(String, String)>,
    with: &'static str,
}

fn number_views(infos: &[NumberInfo], t: &Typed, defaults: &Typed) -> Vec<NumberView> {
    infos
        .iter()
        .map(|n| NumberView {
            key: n.key,
            label: n.label,
            unit: match n.unit {
                Unit::Percent => "%",
                Unit::Whole(u) => u,
            },
            percent: n.unit == Unit::Percent,
            min: show_number(Unit::Whole(""), n.min),
            max: show_number(Unit::Whole(""), n.max),
            help: n.help,
            value: t.numbers[n.key].clone(),
            default: defaults.numbers[n.key].clone(),
        })
        .collect()
}

/// What the form shows and says, besides the typed fields.
#[derive(Default)]
struct Said {
    problems: Option<Problems>,
    notice: Option<String>,
    tried: Option<TryView>,
    restored: Option<&'static str>,
    conflict: bool,
}

async fn render(
    state: &AppState,
    visitor: &Visitor,
    stored: &Stored,
    t: &Typed,
    said: Said,
) -> AppResult<Response> {
    let site = state.current_site().await?;
    let editable = matches!(access(visitor)?, Access::Edit(_));
    let builtin = Guidelines::default();
    let defaults = Typed::of(&Stored {
        comments: Map::new(),
        guidelines: Map::new(),
        effective: builtin.clone(),
        unreadable: None,
    });
    let lists: Vec<ListView> = LISTS
        .iter()
        .map(|l| {
            let syntax = entries::syntax_of(l.key).unwrap_or(Syntax::Word);
            let current = list_of(&stored.effective, l.key);
            let base = list_of(&builtin, l.key);
            let (cur, def) = (entry_set(&current), entry_set(&base));
            let text = t.lists[l.key].clone();
            ListView {
                key: l.key,
                title: l.title,
                what: l.what,
                syntax: crate::render::safe(syntax_help(syntax).to_string()),
                own: stored.guidelines.contains_key(l.key),
                count: cur.len(),
                added: cur.difference(&def).count(),
                removed: def.difference(&cur).count(),
                rows: text.lines().count().clamp(4, 12),
                text,
                builtin: base,
                empty_disables: l.empty_disables,
                empty_ok: t.empty_ok.contains(l.key),
                restored: said.restored == Some(l.key),
            }
        })
        .collect();
    let policies: Vec<PolicyView> = POLICIES
        .iter()
        .map(|p| PolicyView {
            code: p.1,
            label: p.2,
            what: p.3,
        })
        .collect();
    let errors = said
        .problems
        .as_ref()
        .map(Problems::by_field)
        .unwrap_or_default();
    let body = state
        .renderer
        .render(
            "moderation/settings.html",
            context! {
                site => val(site_context(state, Some(&site))),
                reader => val(visitor.view()),
                editable,
                f => context! {
                    policy => t.policy.clone(),
                    version => t.version.clone(),
                    try_text => t.try_text.clone(),
                    note => t.note.clone(),
                },
                policies => val(policies),
                comment_numbers => val(number_views(COMMENT_NUMBERS, t, &defaults)),
                thresholds => val(number_views(THRESHOLDS, t, &defaults)),
                lists => val(lists),
                errors => val(&errors),
                notice => said.notice,
                conflict => said.conflict,
                tried => val(said.tried),
                unreadable => stored.unreadable.clone(),
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    let status = if said.problems.is_some() || said.conflict {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(no_store((status, Html(body)).into_response()))
}

async fn load(state: &AppState) -> AppResult<Stored> {
    let mut conn = state.db.read().await?;
    Ok(Stored::load(conn.ex()).await?)
}

fn done(q: Option<String>) -> Option<String> {
    let code = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.into_owned())?;
    Some(
        match code.as_str() {
            "saved" => {
                "Saved. New and edited comments are checked with these settings from now on."
            }
            "unchanged" => "Nothing was changed, so nothing was saved.",
            _ => return None,
        }
        .to_string(),
    )
}

/// `GET /moderation/settings`
pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    if visitor.member.is_none() {
        return Ok(sign_in_first(PATH));
    }
    access(&visitor)?;
    let stored = load(&state).await?;
    let t = Typed::of(&stored);
    let said = Said {
        notice: done(q),
        ..Said::default()
    };
    render(&state, &visitor, &stored, &t, said).await
}

/// `POST /moderation/settings`: save, or put a built-in list back in its box.
pub async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> AppResult<Response> {
    let me = admin(&visitor)?;
    let f = form_fields(&body);
    check_csrf(&state, &visitor, form_value(&f, "csrf"))?;
    let mut t = Typed::from_form(&f);
    let restore = form_value(&f, "restore");
    if !restore.is_empty() {
        let l = LISTS
            .iter()
            .find(|l| l.key == restore)
            .ok_or_else(|| AppError::BadRequest("There is no such list to restore.".into()))?;
        t.lists
            .insert(l.key, list_of(&Guidelines::default(), l.key).join("\n"));
        let stored = load(&state).await?;
        let said = Said {
            notice: Some(format!(
                "The built-in list is back in the box of {}. Nothing is saved yet: save to use it.",
                l.title
            )),
            restored: Some(l.key),
            ..Said::default()
        };
        return render(&state, &visitor, &stored, &t, said).await;
    }
    let parsed = match parse(&t) {
        Ok(p) => p,
        Err(problems) => {
            let stored = load(&state).await?;
            let said = Said {
                problems: Some(problems),
                ..Said::default()
            };
            return render(&state, &visitor, &stored, &t, said).await;
        }
    };
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    let stored = Stored::load(tx.ex()).await?;
    if t.version != stored.version() {
        drop(tx);
        // Keep what was typed; the next save knowingly replaces the other change.
        t.version = stored.version();
        let said = Said {
            conflict: true,
            ..Said::default()
        };
        return render(&state, &visitor, &stored, &t, said).await;
    }
    let (comments_value, guidelines_value) = to_store(&stored, &parsed);
    let guidelines =
        match serde_json::from_value::<Guidelines>(Value::Object(guidelines_value.clone())) {
            Ok(g) => g,
            Err(e) => {
                drop(tx);
                let mut p = Problems::default();
                p.add(
                    "form",
                    format!(
                        "The stored guidelines have a part this version of Masthead does not \
                     know, so they cannot be saved from here: {e}"
                    ),
                );
                let said = Said {
                    problems: Some(p),
                    ..Said::default()
                };
                return render(&state, &visitor, &stored, &t, said).await;
            }
        };
    if parsed.comments == stored.comment_settings() && guidelines_value == stored.guidelines {
        drop(tx);
        return Ok(see_other(&format!("{PATH}?done=unchanged")));
    }
    let changes = describe_changes(&stored, &parsed.comments, &guidelines, &guidelines_value);
    settings::put(tx.ex(), "comments", &Value::Object(comments_value)).await?;
    settings::put(tx.ex(), "guidelines", &Value::Object(guidelines_value)).await?;
    let mut note = if changes.is_empty() {
        "comment settings: stored again, no change in effect".to_string()
    } else {
        format!("comment settings: {}", changes.join("; "))
    };
    if !t.note.is_empty() {
        note.push_str(" — ");
        note.push_str(&t.note);
    }
    comments::log(
        tx.ex(),
        &comments::LogEntry {
            moderator_id: Some(me.id),
            moderator_name: &me.display_name,
            action: "change_settings",
            comment_id: None,
            member_id: None,
            note: &note,
            now,
        },
    )
    .await?;
    settings::bump_content_epoch(tx.ex()).await?;
    let epoch = settings::content_epoch(tx.ex()).await?;
    tx.commit().await?;
    state.epoch.observe(epoch);
    Ok(see_other(&format!("{PATH}?done=saved")))
}

/// `POST /moderation/settings/try`: the check's verdict on the text in the
/// try-it box, with the settings in the form; nothing is saved.
pub async fn try_it(
    State(state): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> AppResult<Response> {
    let editable = matches!(access(&visitor)?, Access::Edit(_));
    let f = form_fields(&body);
    check_csrf(&state, &visitor, form_value(&f, "csrf"))?;
    let stored = load(&state).await?;
    // Moderators read the settings: their page's fields are not theirs to
    // change, so they try the saved ones.
    let mut t = if editable {
        Typed::from_form(&f)
    } else {
        Typed {
            try_text: form_value(&f, "try_text").replace("\r\n", "\n"),
            ..Typed::of(&stored)
        }
    };
    let text: String = t.try_text.chars().take(TRY_MAX_CHARS).collect();
    t.try_text = text.clone();
    let mut said = Said::default();
    if text.trim().is_empty() {
        let mut p = Problems::default();
        p.add("try_text", "Write a comment to try.".into());
        said.problems = Some(p);
        return render(&state, &visitor, &stored, &t, said).await;
    }
    let (comments, guidelines, with) = if editable {
        match parse(&t) {
            Ok(parsed) => {
                let (_, g) = to_store(&stored, &parsed);
                match serde_json::from_value::<Guidelines>(Value::Object(g)) {
                    Ok(g) => (parsed.comments, g, "the settings in the form, not saved"),
                    Err(_) => (
                        parsed.comments,
                        stored.effective.clone(),
                        "the saved settings",
                    ),
                }
            }
            Err(problems) => {
                said.problems = Some(problems);
                return render(&state, &visitor, &stored, &t, said).await;
            }
        }
    } else {
        (
            stored.comment_settings(),
            stored.effective.clone(),
            "the saved settings",
        )
    };
    let site = state.current_site().await?;
    let model = state.checker(&site).model().cloned();
    let checker = Checker::new(with_own_host(&state, guidelines), model);
    let comment = crate::domain::comment_text::clean(&text);
    let now = state.clock.now();
    // The check is pure but not instant (the language models): off the
    // async threads.
    let outcome: Outcome = tokio::task::spawn_blocking(move || {
        checker.check(
            &comment,
            &Context {
                author: Some("try"),
                story: None,
                time: Some(now),
                recent: &[],
            },
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    said.tried = Some(try_view(&outcome, &comments, with));
    render(&state, &visitor, &stored, &t, said).await
}

fn try_view(o: &Outcome, cs: &CommentSettings, with: &'static str) -> TryView {
    let then = match o.verdict {
        Verdict::Reject => {
            "It would come back to its author with the reasons below and the text still in \
             the box."
                .to_string()
        }
        Verdict::Hold => "It would wait in the moderators' queue.".to_string(),
        Verdict::Approve => match cs.policy {
            ModerationPolicy::Post => "It would show at once.".to_string(),
            ModerationPolicy::PreAll => {
                "It would wait for a moderator: every comment does.".to_string()
            }
            ModerationPolicy::PreNew => format!(
                "It would show at once from a member with {} approved comments or more, and \
                 wait for a moderator from a newer one.",
                cs.trusted_after
            ),
        },
    };
    TryView {
        verdict: o.verdict.code(),
        then,
        reasons: o.reasons.iter().map(|r| (r.code(), r.message())).collect(),
        notes: o.notes.clone(),
        scores: o
            .scores
            .iter()
            .map(|(k, v)| (k.clone(), format!("{v:.2}")))
            .collect(),
        with,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screen_knows_every_list_and_threshold_of_the_guidelines() {
        let g = serde_json::to_value(Guidelines::default()).unwrap();
        let keys: BTreeSet<&str> = g.as_object().unwrap().keys().map(String::as_str).collect();
        let ours: BTreeSet<&str> = LISTS.iter().map(|l| l.key).chain(["thresholds"]).collect();
        assert_eq!(keys, ours);
        for l in LISTS {
            assert!(entries::syntax_of(l.key).is_some(), "{}", l.key);
        }
        let t = serde_json::to_value(Thresholds::default()).unwrap();
        let keys: BTreeSet<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, THRESHOLDS.iter().map(|n| n.key).collect());
        let c = serde_json::to_value(CommentSettings::default()).unwrap();
        let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            COMMENT_NUMBERS
                .iter()
                .map(|n| n.key)
                .chain(["policy"])
                .collect()
        );
    }

    #[test]
    fn the_defaults_read_back_as_the_defaults_and_store_as_nothing() {
        let stored = Stored {
            comments: Map::new(),
            guidelines: Map::new(),
            effective: Guidelines::default(),
            unreadable: None,
        };
        let t = Typed::of(&stored);
        let parsed = parse(&t).unwrap_or_else(|p| panic!("{:?}", p.0));
        let th: Thresholds =
            serde_json::from_value(Value::Object(parsed.threshold_values.clone())).unwrap();
        assert_eq!(th, Thresholds::default());
        assert_eq!(parsed.comments, CommentSettings::default());
        let (_, g) = to_store(&stored, &parsed);
        assert!(g.is_empty(), "{g:?}");
    }
}
