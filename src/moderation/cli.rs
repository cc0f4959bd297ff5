//! `masthead moderate check | eval | train | bench`: the guidelines check on
//! the command line, for trying it, for CI's quality floors and for
//! training a publication's model.

use std::io::{BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Subcommand;

use super::eval::{self, Label, Line, Stream};
use super::{Checker, Guidelines, Model, Verdict};

/// The model's file in the data folder.
pub const MODEL_FILE: &str = "moderation-model.bin";

#[derive(Subcommand, Debug)]
pub enum ModerateCommand {
    /// Check comments: JSON lines with a "text" (and optional "author",
    /// "story", "time" in RFC 3339) in, one verdict a line out. Lines that
    /// share an author are each other's recent comments. Uses the built-in
    /// guidelines, and DATA/moderation-model.bin when --data is given.
    Check {
        /// JSON lines to read; "-" or nothing reads standard input.
        #[arg(value_name = "FILE")]
        input: Option<PathBuf>,
    },
    /// Measure the check on labelled JSON lines (labels ok/reject,
    /// english/non_english, insult/clean): confusion tables, per-reason
    /// precision and recall. Exits non-zero when a figure is under a floor.
    Eval {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// A floor, METRIC=VALUE (0.97 or 97%), e.g. ok_approved=0.97;
        /// repeat for several. The metric must be one the data gives.
        #[arg(long = "min", value_name = "METRIC=VALUE")]
        min: Vec<String>,
        /// Every line must be classed right (a regression file).
        #[arg(long)]
        all_pass: bool,
        /// Print the lines classed wrong.
        #[arg(long)]
        show_misses: bool,
        /// Leave the model out even when the data folder has one.
        #[arg(long)]
        no_model: bool,
    },
    /// Train the model from labelled JSON lines (ok/reject; english and
    /// clean count as ok, non_english and insult as reject) and, with --data
    /// or MASTHEAD_DATABASE_URL, from the publication's moderators' decisions;
    /// report the check with and without it on a held-out part, and save it
    /// to DATA/moderation-model.bin.
    Train {
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write the model here instead of the data folder.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The share of lines held out for measuring, chosen by a hash of
        /// the text (the same lines every time).
        #[arg(long, default_value_t = 20, value_name = "PERCENT")]
        holdout: u32,
    },
    /// Time the check alone on the texts of JSON lines, one thread:
    /// comments per second, median and 99th percentile.
    Bench {
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// How many times to check every text.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

/// Runs one `moderate` command. `data` is the `--data` folder if given:
/// only then is a trained model loaded, so the verdicts do not depend on
/// the folder the command runs in.
pub fn run(
    data: Option<&Path>,
    guidelines: Option<&Guidelines>,
    command: ModerateCommand,
) -> anyhow::Result<()> {
    match command {
        ModerateCommand::Check { input } => check(data, guidelines, input.as_deref()),
        ModerateCommand::Eval {
            files,
            min,
            all_pass,
            show_misses,
            no_model,
        } => eval_files(
            data,
            guidelines,
            &files,
            &min,
            all_pass,
            show_misses,
            no_model,
        ),
        ModerateCommand::Train {
            files,
            out,
            holdout,
        } => train_files(data, guidelines, &files, out, holdout),
        ModerateCommand::Bench { files, rounds } => bench(data, guidelines, &files, rounds),
    }
}

/// The checker the commands use: the built-in guidelines, and the model in
/// the data folder when one was named and has a model. Loading the
/// publication's own guidelines from its settings belongs to the server;
/// it passes them to [`Checker::new`] the same way.
pub fn checker_for(data: Option<&Path>, guidelines: Option<Guidelines>) -> anyhow::Result<Checker> {
    let model = match data {
        Some(dir) => {
            let path = dir.join(MODEL_FILE);
            if path.exists() {
                Some(Model::load(&path)?)
            } else {
                None
            }
        }
        None => None,
    };
    Ok(Checker::new(guidelines.unwrap_or_default(), model))
}

fn read_input(path: Option<&Path>) -> anyhow::Result<(String, String)> {
    match path {
        None => read_stdin(),
        Some(p) if p == Path::new("-") => read_stdin(),
        Some(p) => Ok((
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            p.display().to_string(),
        )),
    }
}

fn read_stdin() -> anyhow::Result<(String, String)> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading standard input")?;
    Ok((s, "standard input".into()))
}

fn read_files(files: &[PathBuf]) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::new();
    for f in files {
        let (text, name) = read_input(Some(f))?;
        lines.extend(eval::read_lines(&text, &name)?);
    }
    Ok(lines)
}

fn check(
    data: Option<&Path>,
    guidelines: Option<&Guidelines>,
    input: Option<&Path>,
) -> anyhow::Result<()> {
    let checker = checker_for(data, guidelines.cloned())?;
    let (text, name) = read_input(input)?;
    let lines = eval::read_lines(&text, &name)?;
    let mut stream = Stream::default();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in &lines {
        let outcome = stream.check(&checker, line, true);
        serde_json::to_writer(&mut out, &outcome)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn eval_files(
    data: Option<&Path>,
    guidelines: Option<&Guidelines>,
    files: &[PathBuf],
    min: &[String],
    all_pass: bool,
    show_misses: bool,
    no_model: bool,
) -> anyhow::Result<()> {
    let floors = min
        .iter()
        .map(|m| eval::parse_floor(m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let checker = checker_for(data, guidelines.cloned())?;
    let lines = read_files(files)?;
    let report = eval::evaluate(&checker, &lines, !no_model)?;
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!("{} lines from {}", lines.len(), names.join(", "));
    if checker.model().is_some() && !no_model {
        println!("with the model from the data folder");
    }
    print!("{}", report.table());
    if show_misses || all_pass {
        for m in &report.misses {
            println!("  miss: {m}");
        }
    }
    let metrics = report.metrics();
    let mut failed = Vec::new();
    for (name, floor) in &floors {
        match metrics.get(name) {
            None => failed.push(format!("{name}: this data gives no such figure")),
            Some(x) if x < floor => failed.push(format!("{name} is {x:.4}, under {floor:.4}")),
            Some(_) => {}
        }
    }
    if all_pass && !report.misses.is_empty() {
        failed.push(format!("{} lines classed wrong", report.misses.len()));
    }
    if !failed.is_empty() {
        bail!("under the floor: {}", failed.join("; "));
    }
    Ok(())
}

/// Whether a line is held out of training, by a hash of its text.
fn held_out(text: &str, percent: u32) -> bool {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % 100) < u64::from(percent)
}

fn train_files(
    data: Option<&Path>,
    guidelines: Option<&Guidelines>,
    files: &[PathBuf],
    out: Option<PathBuf>,
    holdout: u32,
) -> anyhow::Result<()> {
    if holdout >= 100 {
        bail!("--holdout must be under 100");
    }
    let lines = read_files(files)?;
    if lines.is_empty() {
        bail!(
            "nothing to train on: give labelled JSON lines, or --data with a publication whose moderators have decided on comments"
        );
    }
    let mut train_set = Vec::new();
    let mut test_set = Vec::new();
    for (n, line) in lines.into_iter().enumerate() {
        let label = line
            .label
            .as_deref()
            .and_then(Label::parse)
            .with_context(|| {
                format!(
                    "line {}: a label of ok, reject, english, non_english, insult or clean",
                    n + 1
                )
            })?;
        if held_out(&line.text, holdout) {
            test_set.push(line);
        } else {
            train_set.push((line.text.clone(), label.is_reject()));
        }
    }
    let started = Instant::now();
    let model = super::train(&train_set);
    println!(
        "trained on {} lines ({} to refuse) in {:.1} s; {} lines held out",
        train_set.len(),
        train_set.iter().filter(|(_, r)| *r).count(),
        started.elapsed().as_secs_f64(),
        test_set.len()
    );
    // The held-out part, measured as ok/reject lines.
    let as_verdict: Vec<Line> = test_set
        .iter()
        .map(|l| {
            let reject = l
                .label
                .as_deref()
                .and_then(Label::parse)
                .is_some_and(Label::is_reject);
            Line {
                label: Some(if reject { "reject" } else { "ok" }.into()),
                why: None,
                ..l.clone()
            }
        })
        .collect();
    let checker = Checker::new(guidelines.cloned().unwrap_or_default(), Some(model));
    let without = eval::evaluate(&checker, &as_verdict, false)?;
    let with = eval::evaluate(&checker, &as_verdict, true)?;
    println!("held out, the rules alone:");
    print!("{}", indent(&without.table()));
    println!("held out, the rules and the model:");
    print!("{}", indent(&with.table()));
    let path = match out {
        Some(p) => p,
        None => {
            let dir = data
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("./masthead-data"));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.join(MODEL_FILE)
        }
    };
    let Some(model) = checker.model() else {
        bail!("no model was trained");
    };
    model.save(&path)?;
    println!("saved the model to {}", path.display());
    Ok(())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

fn bench(
    data: Option<&Path>,
    guidelines: Option<&Guidelines>,
    files: &[PathBuf],
    rounds: usize,
) -> anyhow::Result<()> {
    let lines = read_files(files)?;
    if lines.is_empty() {
        bail!("no lines to check");
    }
    let before = resident_kib();
    let file_before = status_kib("RssFile:");
    let checker = checker_for(data, guidelines.cloned())?;
    let built = resident_kib();
    // Once through first: the language models load on first use.
    let started = Instant::now();
    checker.preload();
    let preloaded = resident_kib();
    let mut verdicts = [0usize; 3];
    for line in &lines {
        let o = checker.check(&line.text, &Default::default());
        verdicts[match o.verdict {
            Verdict::Approve => 0,
            Verdict::Hold => 1,
            Verdict::Reject => 2,
        }] += 1;
    }
    let warm = started.elapsed();
    let mut times = Vec::with_capacity(lines.len() * rounds.max(1));
    let all = Instant::now();
    for _ in 0..rounds.max(1) {
        for line in &lines {
            let t = Instant::now();
            let o = checker.check(&line.text, &Default::default());
            times.push(t.elapsed());
            std::hint::black_box(o);
        }
    }
    let total = all.elapsed();
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{} comments ({} approve, {} hold, {} reject), {} rounds; first pass with model loading {:.2} s",
        lines.len(),
        verdicts[0],
        verdicts[1],
        verdicts[2],
        rounds.max(1),
        warm.as_secs_f64()
    );
    println!(
        "throughput {:.0} comments/s; median {} us, p99 {} us, max {} us",
        times.len() as f64 / total.as_secs_f64(),
        pct(0.5).as_micros(),
        pct(0.99).as_micros(),
        times[times.len() - 1].as_micros()
    );
    let mib = |k: Option<u64>| {
        k.map(|k| format!("{:.1}", k as f64 / 1024.0))
            .unwrap_or_default()
    };
    println!(
        "resident memory (MiB): {} before the checker, {} built, {} with the language models loaded, {} after the run; file-backed (the binary's pages, the language models among them) {} before, {} after",
        mib(before),
        mib(built),
        mib(preloaded),
        mib(resident_kib()),
        mib(file_before),
        mib(status_kib("RssFile:"))
    );
    Ok(())
}

/// The process's resident memory (Linux), in KiB.
pub fn resident_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
