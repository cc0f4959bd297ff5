//! Measuring the check on labelled comments: the figures `masthead moderate
//! eval` prints and CI holds to floors, and the held-out figures of `train`.
//!
//! A labelled line is `{"text", "label"}` with optional `why` (the rule an
//! `ok`/`reject` line is about) and the context fields of `check`. Labels:
//! - `ok` / `reject`: counted on the verdict, approve against hold-or-reject;
//! - `english` / `non_english`: counted on the `language` reason;
//! - `insult` / `clean`: counted on the `personal` reason.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use super::{Checker, Context, Outcome, Reason, Recent, Verdict};

/// How a line is labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    Ok,
    Reject,
    English,
    NonEnglish,
    Insult,
    Clean,
}

impl Label {
    pub fn parse(s: &str) -> Option<Label> {
        Some(match s {
            "ok" => Label::Ok,
            "reject" => Label::Reject,
            "english" => Label::English,
            "non_english" => Label::NonEnglish,
            "insult" => Label::Insult,
            "clean" => Label::Clean,
            _ => return None,
        })
    }

    /// For training: whether a line with this label is one to refuse.
    /// `english` and `clean` lines are fine; `non_english` and `insult`
    /// lines break a guideline.
    pub fn is_reject(self) -> bool {
        matches!(self, Label::Reject | Label::NonEnglish | Label::Insult)
    }
}

/// One input line of `check`, `eval` or `train`.
#[derive(Clone, Debug, Deserialize)]
pub struct Line {
    pub text: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub why: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub story: Option<String>,
    /// RFC 3339, like `2025-01-31T09:30:00+05:30`.
    #[serde(default, deserialize_with = "timestamp")]
    pub time: Option<jiff::Timestamp>,
}

fn timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<jiff::Timestamp>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => s
            .parse::<jiff::Timestamp>()
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("\"time\" {s:?} is not RFC 3339: {e}"))),
    }
}

/// Reads JSON lines, skipping blank ones; an error names the line.
pub fn read_lines(text: &str, source: &str) -> anyhow::Result<Vec<Line>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(raw).with_context(|| {
            format!("{source} line {}: not a JSON object with a \"text\"", n + 1)
        })?;
        out.push(line);
    }
    Ok(out)
}

/// Feeds each author's earlier lines to the check as their recent
/// comments, so repetition and flooding are seen in a file too.
#[derive(Default)]
pub struct Stream {
    recent: HashMap<String, Vec<Recent>>,
}

/// How many earlier comments of an author the stream remembers.
const REMEMBERED: usize = 50;

impl Stream {
    pub fn check(&mut self, checker: &Checker, line: &Line, use_model: bool) -> Outcome {
        let empty = Vec::new();
        let recent = line
            .author
            .as_ref()
            .and_then(|a| self.recent.get(a))
            .unwrap_or(&empty);
        let ctx = Context {
            author: line.author.as_deref(),
            story: line.story.as_deref(),
            time: line.time,
            recent,
        };
        let outcome = if use_model {
            checker.check(&line.text, &ctx)
        } else {
            checker.check_rules(&line.text, &ctx)
        };
        if let Some(author) = &line.author {
            let list = self.recent.entry(author.clone()).or_default();
            list.push(Recent {
                text: line.text.clone(),
                story: line.story.clone(),
                time: line.time,
            });
            if list.len() > REMEMBERED {
                list.remove(0);
            }
        }
        outcome
    }
}

/// The reasons a `why` note names.
pub fn expected_reasons(why: &str) -> Vec<Reason> {
    let why = why.to_lowercase();
    let mut out = Vec::new();
    if why.contains("language") {
        out.push(Reason::Language);
    }
    if why.contains("form") {
        out.push(Reason::Form);
    }
    if why.contains("abus") || why.contains("dehumanis") || why.contains("profan") {
        out.push(Reason::Abuse);
    }
    if why.contains("personal") {
        out.push(Reason::Personal);
    }
    if why.contains("spam") {
        out.push(Reason::Spam);
    }
    out
}

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }
    fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        if p + r == 0.0 {
            Some(0.0)
        } else {
            Some(2.0 * p * r / (p + r))
        }
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The figures of one evaluation.
#[derive(Debug, Default)]
pub struct Report {
    /// `ok`/`reject` lines by verdict.
    ok: [usize; 3],
    reject: [usize; 3],
    english: [usize; 2],
    non_english: [usize; 2],
    insult: [usize; 2],
    clean: [usize; 2],
    /// Per reason, on `ok`/`reject` lines whose `why` is known (ok lines
    /// expect no reason).
    reasons: BTreeMap<Reason, Counts>,
    /// Whether any `reject` line said why: without one, per-reason figures
    /// mean nothing.
    reasons_known: bool,
    /// Lines whose class was wrong: label, verdict and reasons, text.
    pub misses: Vec<String>,
}

fn v(verdict: Verdict) -> usize {
    match verdict {
        Verdict::Approve => 0,
        Verdict::Hold => 1,
        Verdict::Reject => 2,
    }
}

impl Report {
    /// Adds one labelled line and the check's outcome.
    pub fn add(&mut self, label: Label, why: Option<&str>, text: &str, outcome: &Outcome) {
        let has = |r: Reason| outcome.reasons.contains(&r);
        let wrong = match label {
            Label::Ok => {
                self.ok[v(outcome.verdict)] += 1;
                outcome.verdict != Verdict::Approve
            }
            Label::Reject => {
                self.reject[v(outcome.verdict)] += 1;
                outcome.verdict == Verdict::Approve
            }
            Label::English => {
                self.english[usize::from(has(Reason::Language))] += 1;
                has(Reason::Language)
            }
            Label::NonEnglish => {
                self.non_english[usize::from(has(Reason::Language))] += 1;
                !has(Reason::Language)
            }
            Label::Insult => {
                self.insult[usize::from(has(Reason::Personal))] += 1;
                !has(Reason::Personal)
            }
            Label::Clean => {
                self.clean[usize::from(has(Reason::Personal))] += 1;
                has(Reason::Personal)
            }
        };
        let expected = match (label, why) {
            (Label::Ok, _) => Some(Vec::new()),
            (Label::Reject, Some(why)) => Some(expected_reasons(why)),
            _ => None,
        };
        if label == Label::Reject && why.is_some() {
            self.reasons_known = true;
        }
        if let Some(expected) = expected {
            for r in Reason::ALL {
                let c = self.reasons.entry(r).or_default();
                match (expected.contains(&r), has(r)) {
                    (true, true) => c.tp += 1,
                    (false, true) => c.fp += 1,
                    (true, false) => c.fn_ += 1,
                    (false, false) => {}
                }
            }
        }
        if wrong {
            let reasons: Vec<&str> = outcome.reasons.iter().map(|r| r.code()).collect();
            self.misses.push(format!(
                "{:<11} {:<7} {:<22} {}",
                format!("{label:?}").to_lowercase(),
                outcome.verdict.code(),
                reasons.join(","),
                text.replace('\n', " ")
            ));
        }
    }

    /// The named figures, as fractions; only those the data allows.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, x: Option<f64>| {
            if let Some(x) = x {
                m.insert(k.to_string(), x);
            }
        };
        let ok: usize = self.ok.iter().sum();
        let reject: usize = self.reject.iter().sum();
        put("ok_approved", ratio(self.ok[0], ok));
        put(
            "reject_caught",
            ratio(self.reject[1] + self.reject[2], reject),
        );
        put("reject_rejected", ratio(self.reject[2], reject));
        put(
            "all_correct",
            ratio(self.ok[0] + self.reject[1] + self.reject[2], ok + reject),
        );
        put(
            "english_kept",
            ratio(self.english[0], self.english[0] + self.english[1]),
        );
        put(
            "non_english_caught",
            ratio(
                self.non_english[1],
                self.non_english[0] + self.non_english[1],
            ),
        );
        let personal = Counts {
            tp: self.insult[1],
            fp: self.clean[1],
            fn_: self.insult[0],
        };
        if self.insult.iter().sum::<usize>() + self.clean.iter().sum::<usize>() > 0 {
            put("personal_precision", personal.precision());
            put("personal_recall", personal.recall());
            put("personal_f1", personal.f1());
        }
        for (r, c) in self.reasons.iter().filter(|_| self.reasons_known) {
            put(&format!("{}_precision", r.code()), c.precision());
            put(&format!("{}_recall", r.code()), c.recall());
        }
        m
    }

    /// The confusion tables and figures as text.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let ok: usize = self.ok.iter().sum();
        let reject: usize = self.reject.iter().sum();
        if ok + reject > 0 {
            let _ = writeln!(s, "verdicts (ok/reject lines)");
            let _ = writeln!(
                s,
                "  {:<10} {:>8} {:>8} {:>8}",
                "label", "approve", "hold", "reject"
            );
            let _ = writeln!(
                s,
                "  {:<10} {:>8} {:>8} {:>8}",
                "ok", self.ok[0], self.ok[1], self.ok[2]
            );
            let _ = writeln!(
                s,
                "  {:<10} {:>8} {:>8} {:>8}",
                "reject", self.reject[0], self.reject[1], self.reject[2]
            );
        }
        if self.english.iter().sum::<usize>() + self.non_english.iter().sum::<usize>() > 0 {
            let _ = writeln!(s, "language reason (english/non_english lines)");
            let _ = writeln!(
                s,
                "  {:<12} {:>10} {:>10}",
                "label", "no reason", "language"
            );
            let _ = writeln!(
                s,
                "  {:<12} {:>10} {:>10}",
                "english", self.english[0], self.english[1]
            );
            let _ = writeln!(
                s,
                "  {:<12} {:>10} {:>10}",
                "non_english", self.non_english[0], self.non_english[1]
            );
        }
        if self.insult.iter().sum::<usize>() + self.clean.iter().sum::<usize>() > 0 {
            let _ = writeln!(s, "personal reason (insult/clean lines)");
            let _ = writeln!(
                s,
                "  {:<12} {:>10} {:>10}",
                "label", "no reason", "personal"
            );
            let _ = writeln!(
                s,
                "  {:<12} {:>10} {:>10}",
                "insult", self.insult[0], self.insult[1]
            );
            let _ = writeln!(
                s,
                "  {:<12} {:>10} {:>10}",
                "clean", self.clean[0], self.clean[1]
            );
        }
        if self.reasons_known {
            let _ = writeln!(s, "per reason (ok/reject lines with a why)");
            let _ = writeln!(
                s,
                "  {:<10} {:>4} {:>4} {:>4} {:>10} {:>8}",
                "reason", "tp", "fp", "fn", "precision", "recall"
            );
            for (r, c) in &self.reasons {
                let f = |x: Option<f64>| x.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into());
                let _ = writeln!(
                    s,
                    "  {:<10} {:>4} {:>4} {:>4} {:>10} {:>8}",
                    r.code(),
                    c.tp,
                    c.fp,
                    c.fn_,
                    f(c.precision()),
                    f(c.recall())
                );
            }
        }
        let _ = writeln!(s, "figures");
        for (k, x) in self.metrics() {
            let _ = writeln!(s, "  {k:<22} {x:.4}");
        }
        s
    }
}

/// Checks labelled lines in order (authors' earlier lines as context).
pub fn evaluate(checker: &Checker, lines: &[Line], use_model: bool) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut stream = Stream::default();
    for (n, line) in lines.iter().enumerate() {
        let Some(label) = line.label.as_deref() else {
            bail!("line {}: no \"label\"", n + 1);
        };
        let Some(label) = Label::parse(label) else {
            bail!(
                "line {}: the label {label:?} is none of ok, reject, english, non_english, insult, clean",
                n + 1
            );
        };
        let outcome = stream.check(checker, line, use_model);
        report.add(label, line.why.as_deref(), &line.text, &outcome);
    }
    Ok(report)
}

/// A floor: `METRIC=VALUE`, a fraction (0.97) or a percentage (97%).
pub fn parse_floor(s: &str) -> anyhow::Result<(String, f64)> {
    let Some((name, value)) = s.split_once('=') else {
        bail!("a floor is METRIC=VALUE, like ok_approved=0.97; got {s:?}");
    };
    let value = value.trim();
    let x = if let Some(p) = value.strip_suffix('%') {
        p.trim().parse::<f64>().map(|x| x / 100.0)
    } else {
        value.parse::<f64>()
    }
    .with_context(|| format!("the floor {s:?} needs a number"))?;
    Ok((name.trim().to_string(), x))
}
