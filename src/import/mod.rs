//! Importers: comments (and, from WordPress, stories) brought from another
//! platform. A parser reads the file as a stream on a thread of its own and
//! hands on threads, posts and bad records; the writer here matches threads
//! to stories, and the [`writer`] writes posts in batches of [`BATCH`]
//! rows a transaction under one import id, each reply placed under its
//! parent as it is written. See docs/import.md.

pub mod cli;
pub mod disqus;
pub mod html;
pub mod json;
pub mod matching;
pub mod uploads;
pub mod writer;
pub mod wxr;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::db::{Db, imports};
use crate::moderation::{Checker, Context, Verdict};
pub use matching::Matcher;

/// Comments written in one transaction (`--batch`). On SQLite each
/// transaction writes every page it changed to the log, and a batch's rows
/// change pages all over the indexes: 5,000 rows a transaction import twice
/// as fast as 1,000, and hold the write lock about half a second.
pub const BATCH: usize = 5000;
/// Comments written in one transaction by a bulk import (`--bulk`): the
/// site is not open to readers, so longer transactions keep no one waiting.
/// Each transaction counts the replies its rows add to threads written
/// before it, rewriting those threads' first comments: fewer, larger
/// transactions rewrite them less often. 30,000 imported a million posts
/// 8% faster than 20,000, with 11% more memory (docs/benchmarks.md).
pub const BULK_BATCH: usize = 30_000;
/// A batch also ends at this much comment text, whatever its rows (long
/// comments would otherwise make a batch's memory grow with them).
pub const BATCH_BYTES: usize = 16 << 20;
/// Records the reader hands on at a time, or fewer when their text (a
/// post's, a WordPress story's) passes [`PARSED_BYTES`].
const PARSED: usize = 1000;
const PARSED_BYTES: usize = 1 << 20;
/// Positions listed in the summary for one reason; the rest are counted.
pub const SHOWN_POSITIONS: usize = 10;

/// Which importer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Disqus,
    CommentsJson,
    Wxr,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Disqus => "disqus",
            Kind::CommentsJson => "comments-json",
            Kind::Wxr => "wxr",
        }
    }
}

/// A thread of the old platform: a page that had comments.
#[derive(Clone, Debug)]
pub struct Thread {
    pub pos: u64,
    pub source_id: String,
    pub link: String,
    pub identifier: String,
    pub title: String,
    pub deleted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostState {
    Visible,
    Pending,
    Deleted,
    Spam,
}

/// Who wrote a post, as the old platform knew them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    /// What tells this author from others: their user name there, else
    /// their address, else their name.
    pub key: String,
    pub name: String,
    /// Lower-cased, when the platform gave a usable address.
    pub email: Option<String>,
    /// A registered, non-anonymous account whose address the platform knew.
    pub verified: bool,
}

impl Author {
    pub fn new(username: &str, name: &str, email: &str, registered: bool) -> Author {
        let email = crate::domain::email::Email::parse(email)
            .ok()
            .map(|e| e.normalized().to_string());
        let name = name.trim();
        let key = if !username.trim().is_empty() {
            format!("user:{}", username.trim())
        } else if let Some(e) = &email {
            format!("email:{e}")
        } else {
            format!("name:{name}")
        };
        let name = if name.is_empty() { "Guest" } else { name };
        Author {
            key,
            name: name.chars().take(100).collect(),
            verified: registered && email.is_some(),
            email,
        }
    }
}

/// A comment of the old platform.
#[derive(Clone, Debug)]
pub struct Post {
    pub pos: u64,
    pub source_id: String,
    pub thread: String,
    pub parent: Option<String>,
    /// UTC microseconds (the zone written in the file is applied).
    pub created_at: i64,
    /// Masthead's comment text (already converted from HTML).
    pub text: String,
    pub state: PostState,
    pub author: Author,
}

/// What a parser hands on.
#[derive(Debug)]
pub enum Item {
    Thread(Thread),
    Post(Post),
    /// A WordPress post, made a story before its comments come.
    Story(Box<wxr::Story>),
    /// A record skipped, with why.
    Bad {
        pos: u64,
        reason: String,
    },
}

impl Item {
    /// The length of the text it carries: a post's, a story's paragraphs.
    fn text_len(&self) -> usize {
        match self {
            Item::Post(p) => p.text.len(),
            Item::Story(s) => s
                .body
                .iter()
                .map(|piece| match piece {
                    wxr::Piece::Text(t) => t.len(),
                    wxr::Piece::Photo(_) | wxr::Piece::Gallery(_) => 0,
                })
                .sum(),
            Item::Thread(_) | Item::Bad { .. } => 0,
        }
    }
}

/// Where and why the file cannot be read on.
#[derive(Clone, Debug)]
pub struct Fatal {
    pub pos: u64,
    pub message: String,
}

/// `true`/`false` (or 1/0); a missing value is false.
pub fn parse_bool(v: Option<&str>, what: &str) -> Result<bool, String> {
    match v.map(str::trim) {
        None | Some("") => Ok(false),
        Some("true" | "1" | "True" | "TRUE") => Ok(true),
        Some("false" | "0" | "False" | "FALSE") => Ok(false),
        Some(other) => Err(format!(
            "{what} is {:?}, not true or false",
            other.chars().take(40).collect::<String>()
        )),
    }
}

/// An instant with its zone (RFC 3339: `2011-08-31T15:16:29Z`,
/// `2011-08-31T17:16:29+02:00`), as UTC microseconds.
pub fn parse_time(v: &str) -> Result<i64, String> {
    let v = v.trim();
    if v.is_empty() {
        return Err("no date".into());
    }
    match v.parse::<jiff::Timestamp>() {
        Ok(t) => Ok(t.as_microsecond()),
        Err(_) => Err(format!(
            "a bad date {:?} (expected one like 2011-08-31T15:16:29Z)",
            v.chars().take(40).collect::<String>()
        )),
    }
}

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub dry_run: bool,
    /// Send the comments through the guidelines check.
    pub moderate: bool,
    /// Leave deleted and spam posts out instead of keeping them hidden.
    pub skip_hidden: bool,
    /// Old host = host, for matching thread addresses.
    pub host_aliases: Vec<(String, String)>,
    pub map: Option<PathBuf>,
    /// Show a progress bar (a terminal).
    pub progress: bool,
    /// What the writer holds in memory (not a flag: tests make it small).
    pub limits: writer::Limits,
    /// WordPress: the copy of the site's uploads folder images are read
    /// from, and the media folder they are stored in.
    pub uploads: Option<PathBuf>,
    pub media_dir: Option<PathBuf>,
    /// Write without the indexes of comments the import does not read, and
    /// build them at the end (for a store not yet open to readers).
    pub bulk: bool,
}

/// A reason's count and the first positions (byte offsets; lines are
/// added in the summary).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Skipped {
    pub count: u64,
    pub positions: Vec<u64>,
}

/// What an import did (or, dry, would do).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    pub import_id: Option<i64>,
    pub dry_run: bool,
    /// Stories made (WordPress).
    pub stories: u64,
    pub threads: u64,
    pub matched_threads: u64,
    pub unmatched_threads: u64,
    /// Posts written now (visible or not).
    pub imported: u64,
    /// Posts an earlier run of the same file had written.
    pub already: u64,
    /// Of the imported, kept hidden (deleted, spam, held or refused).
    pub hidden: u64,
    /// Posts of threads that matched no story.
    pub orphan_posts: u64,
    pub skipped: BTreeMap<String, Skipped>,
    /// Distinct authors in the file; of them, with an address the old
    /// platform had verified.
    pub authors: u64,
    pub verified_authors: u64,
    /// A few unmatched threads' addresses.
    pub unmatched: Vec<String>,
    /// Why the file could not be read to its end.
    pub fatal: Option<String>,
    /// WordPress: the posts' images.
    pub images: uploads::Images,
    #[serde(skip)]
    pub file: PathBuf,
}

impl Report {
    fn skip(&mut self, reason: &str, pos: u64) {
        let s = self.skipped.entry(reason.to_string()).or_default();
        s.count += 1;
        if s.positions.len() < SHOWN_POSITIONS {
            s.positions.push(pos);
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().map(|s| s.count).sum()
    }

    /// The summary printed at the end, with line numbers for the listed
    /// positions (found by one more pass over the file).
    pub fn summary(&self) -> String {
        use std::fmt::Write;
        let mut positions: Vec<u64> = self
            .skipped
            .values()
            .flat_map(|s| s.positions.iter().copied())
            .chain(self.images.problems.iter().map(|(p, _)| *p))
            .collect();
        positions.sort_unstable();
        let lines = lines_at(&self.file, &positions);
        let mut out = String::new();
        let verb = if self.dry_run {
            "would import"
        } else {
            "imported"
        };
        let _ = writeln!(
            out,
            "{}: {verb} {} comments ({} of them hidden: deleted, spam or held); {} already there from an earlier run",
            match self.import_id {
                Some(id) => format!("Import {id}"),
                None => "Dry run".into(),
            },
            self.imported,
            self.hidden,
            self.already
        );
        if self.stories > 0 {
            let _ = writeln!(
                out,
                "Stories: {} {} from the posts, their old addresses answering 301 to the new ones",
                self.stories,
                if self.dry_run {
                    "would be made"
                } else {
                    "made"
                }
            );
        }
        out.push_str(&self.images.summary(&lines, self.dry_run));
        let _ = writeln!(
            out,
            "Threads: {} in the file, {} matched to stories, {} unmatched ({} comments on them kept out)",
            self.threads, self.matched_threads, self.unmatched_threads, self.orphan_posts
        );
        for u in &self.unmatched {
            let _ = writeln!(out, "  unmatched: {u}");
        }
        if self.unmatched_threads > self.unmatched.len() as u64 {
            let _ = writeln!(
                out,
                "  and {} more (masthead import list shows them; match them with --map FILE and run the import again)",
                self.unmatched_threads - self.unmatched.len() as u64
            );
        }
        let _ = writeln!(
            out,
            "Authors: {} ({} registered with an address their earlier platform knew; they are offered their comments when they sign in with it)",
            self.authors, self.verified_authors
        );
        let _ = writeln!(out, "Skipped: {}", self.skipped_total());
        for (reason, s) in &self.skipped {
            let at: Vec<String> = s
                .positions
                .iter()
                .map(|p| match lines.get(p) {
                    Some(l) => format!("line {l} (byte {p})"),
                    None => format!("byte {p}"),
                })
                .collect();
            let more = s.count.saturating_sub(s.positions.len() as u64);
            let _ = writeln!(
                out,
                "  {} × {reason}: at {}{}",
                s.count,
                at.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        out
    }
}

/// Line numbers (from 1) of byte offsets in a file.
fn lines_at(path: &Path, sorted: &[u64]) -> HashMap<u64, u64> {
    let mut found = HashMap::new();
    let Ok(file) = std::fs::File::open(path) else {
        return found;
    };
    if sorted.is_empty() {
        return found;
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buf = vec![0u8; 1 << 16];
    let (mut offset, mut line, mut next) = (0u64, 1u64, 0usize);
    while next < sorted.len() {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for (i, b) in buf[..n].iter().enumerate() {
            while next < sorted.len() && sorted[next] <= offset + i as u64 {
                found.insert(sorted[next], line);
                next += 1;
            }
            if *b == b'\n' {
                line += 1;
            }
        }
        offset += n as u64;
    }
    found
}

/// The SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Why an import could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error("the database failed: {0}")]
    Db(#[from] sqlx::Error),
}

/// What the writer knows of a thread of the file.
#[derive(Clone, Copy)]
struct ThreadInfo {
    story: Option<i64>,
    deleted: bool,
    /// The row of import_threads, for unmatched ones (counting their posts).
    orphan_posts: u64,
}

/// Runs an import of `kind` from `path`; the report says what was done,
/// and in `fatal` where the file stopped being readable (what was written
/// until then stays, under the import id, to undo or complete).
pub async fn run(
    db: &Db,
    matcher: &Matcher,
    kind: Kind,
    path: &Path,
    opts: &Options,
    checker: Option<&Checker>,
    now: i64,
) -> Result<Report, ImportError> {
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let started = std::time::Instant::now();
    // The file's hash tells a run of a file imported before; it is taken
    // on a thread of its own while the reader starts on the file.
    let hashing = (!opts.dry_run).then(|| {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || file_sha256(&path))
    });
    let file_size = std::fs::metadata(path).map_err(io)?.len();
    let file = std::fs::File::open(path).map_err(io)?;
    let mut report = Report {
        dry_run: opts.dry_run,
        file: path.to_path_buf(),
        ..Report::default()
    };
    let uploads = match (kind, &opts.uploads) {
        (Kind::Wxr, Some(dir)) => {
            let media = match (&opts.media_dir, opts.dry_run) {
                (_, true) => None,
                (Some(m), false) => Some(m.as_path()),
                (None, false) => {
                    return Err(ImportError::Usage(
                        "no media folder to store images in".into(),
                    ));
                }
            };
            Some(uploads::Uploads::open(dir, media).map_err(ImportError::Usage)?)
        }
        _ => None,
    };

    let bar = progress_bar(opts.progress, file_size);
    // The reader keeps reading while a batch is written: it may get a
    // batch ahead, so its time hides under the writing instead of adding
    // to it.
    let ahead = opts.limits.batch.div_ceil(PARSED) + 2;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Item>>(ahead);
    let parser = {
        let bar = bar.clone();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || {
            // WordPress: the attachments first (a quick pass of their own).
            let mut images = wxr::Images::new(uploads);
            if let Ok(f) = std::fs::File::open(&path) {
                images.scan(BufReader::with_capacity(1 << 16, f));
            }
            let input = BufReader::with_capacity(1 << 16, file);
            let mut batch = Vec::with_capacity(PARSED);
            let mut bytes = 0;
            let mut open = true;
            let result = {
                let emit = |item: Item| {
                    bytes += item.text_len();
                    batch.push(item);
                    if batch.len() >= PARSED || bytes >= PARSED_BYTES {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(PARSED));
                        bytes = 0;
                        open = tx.blocking_send(full).is_ok();
                    }
                    open
                };
                let progress = |pos: u64| {
                    if let Some(b) = &bar {
                        b.set_position(pos);
                    }
                };
                match kind {
                    Kind::Disqus => disqus::parse(input, emit, progress),
                    Kind::CommentsJson => json::parse(input, emit, progress),
                    Kind::Wxr => wxr::parse(input, &mut images, emit, progress),
                }
            };
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
            result
        })
    };

    let import_id = if let Some(hashing) = hashing {
        let sha = hashing
            .await
            .map_err(|e| ImportError::Usage(format!("hashing the file stopped: {e}")))?
            .map_err(io)?;
        tracing::debug!(elapsed = ?started.elapsed(), "import: file hashed");
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let options = serde_json::json!({
            "moderate": opts.moderate,
            "skip_hidden": opts.skip_hidden,
            "host_aliases": opts.host_aliases.iter().map(|(a, b)| format!("{a}={b}")).collect::<Vec<_>>(),
            "map": opts.map.as_ref().map(|p| p.display().to_string()),
            "uploads": opts.uploads.as_ref().map(|p| p.display().to_string()),
        })
        .to_string();
        let mut conn = db.write().await?;
        Some(imports::start(conn.ex(), kind.name(), &name, &sha, &options, now).await?)
    } else {
        None
    };
    report.import_id = import_id;

    let mut threads: HashMap<String, ThreadInfo> = HashMap::new();
    let mut orphans: Vec<(String, Thread)> = Vec::new();
    // Author key → identity id (negative until written), and whether seen in this run.
    let mut authors: HashMap<String, (i64, bool)> = HashMap::new();
    let mut fresh_id = -1i64;
    if let Some(id) = import_id {
        let mut conn = db.read().await?;
        for (key, aid) in imports::identities_of(conn.ex(), id).await? {
            authors.insert(key, (aid, false));
        }
    }
    // WordPress posts made stories (or, dry, that would be): post id → story.
    let mut made: HashMap<String, i64> = HashMap::new();
    let mut writer = writer::Writer::new(db, import_id, kind, opts.limits).await?;
    // A dry run's pictures, to count each once.
    let mut dry_pictures = std::collections::HashSet::new();

    // A bulk import writes without the indexes it does not read, and builds
    // them once, after the last row (or whatever stops it).
    // Its rows name stories it matched and parents it wrote before them:
    // SQLite need not check each reference as it writes.
    let bulk = opts.bulk && import_id.is_some();
    if bulk {
        imports::set_aside_indexes(db).await?;
        imports::check_references(db, false).await?;
    }
    let written: Result<(), ImportError> = async {
        while let Some(batch) = rx.recv().await {
            for item in batch {
                match item {
                    Item::Bad { pos, reason } => report.skip(&reason, pos),
                    Item::Story(s) => {
                        uploads::note_problems(&mut report.images, &s);
                        let id = match import_id {
                            Some(import_id) => {
                                let mut tx = db.begin().await?;
                                let added = imports::add_story(tx.ex(), import_id, &s, now).await?;
                                tx.commit().await?;
                                if added.new {
                                    report.stories += 1;
                                }
                                report.images.imported += added.photos_new;
                                report.images.reused += added.photos_reused;
                                added.story_id
                            }
                            None => {
                                report.stories += 1;
                                uploads::count_dry(db, &s, &mut dry_pictures, &mut report.images)
                                    .await?;
                                0
                            }
                        };
                        made.insert(s.post_id.clone(), id);
                    }
                    Item::Thread(t) => {
                        report.threads += 1;
                        let story = if let Some(id) = made.remove(&t.source_id) {
                            Some(id)
                        } else if t.deleted {
                            None
                        } else {
                            let mut conn = db.read().await?;
                            matcher.find(conn.ex(), &t.link, &t.identifier).await?
                        };
                        if story.is_some() {
                            report.matched_threads += 1;
                        } else if !t.deleted {
                            report.unmatched_threads += 1;
                            if report.unmatched.len() < SHOWN_POSITIONS {
                                let shown = if t.link.is_empty() {
                                    &t.identifier
                                } else {
                                    &t.link
                                };
                                report.unmatched.push(shown.clone());
                            }
                            orphans.push((t.source_id.clone(), t.clone()));
                        }
                        threads.insert(
                            t.source_id,
                            ThreadInfo {
                                story,
                                deleted: t.deleted,
                                orphan_posts: 0,
                            },
                        );
                    }
                    Item::Post(p) => {
                        let Some(info) = threads.get_mut(&p.thread) else {
                            report.skip("its thread is not in the file", p.pos);
                            continue;
                        };
                        if info.deleted {
                            report.skip("its thread was deleted", p.pos);
                            continue;
                        }
                        let Some(story_id) = info.story else {
                            info.orphan_posts += 1;
                            report.orphan_posts += 1;
                            continue;
                        };
                        if matches!(p.state, PostState::Deleted | PostState::Spam)
                            && opts.skip_hidden
                        {
                            let why = if p.state == PostState::Spam {
                                "spam (--skip-hidden)"
                            } else {
                                "deleted (--skip-hidden)"
                            };
                            report.skip(why, p.pos);
                            continue;
                        }
                        if p.text.is_empty() && p.state == PostState::Visible {
                            report.skip("no text", p.pos);
                            continue;
                        }
                        let identity = match authors.get_mut(&p.author.key) {
                            Some((id, seen)) => {
                                if !*seen {
                                    *seen = true;
                                    report.authors += 1;
                                    if p.author.verified {
                                        report.verified_authors += 1;
                                    }
                                }
                                *id
                            }
                            None => {
                                report.authors += 1;
                                if p.author.verified {
                                    report.verified_authors += 1;
                                }
                                // A placeholder until the batch writes it.
                                fresh_id -= 1;
                                authors.insert(p.author.key.clone(), (fresh_id, true));
                                writer.new_author(fresh_id, p.author.clone());
                                fresh_id
                            }
                        };
                        let row = row_of(p, story_id, identity, checker);
                        writer.push(row, &mut authors, &mut report).await?;
                    }
                }
            }
        }
        writer.finish(&mut authors, &mut report).await
    }
    .await;
    if bulk {
        imports::check_references(db, true).await?;
        let built = std::time::Instant::now();
        imports::rebuild_indexes(db).await?;
        tracing::debug!(elapsed = ?built.elapsed(), "import: indexes set aside built again");
    }
    written?;
    let parsed = parser
        .await
        .map_err(|e| ImportError::Usage(format!("the reader stopped: {e}")))?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let Err(f) = parsed {
        let left = file_size.saturating_sub(f.pos);
        let hint = if left < 4096 && !f.message.contains("breaks off") && f.pos > 0 {
            format!(" (the file ends {left} bytes later: it looks cut short)")
        } else {
            String::new()
        };
        report.fatal = Some(format!("at byte {}: {}{hint}", f.pos, f.message));
    }
    if let (Some(id), Some(_)) = (import_id, &report.fatal)
        && report.imported == 0
        && report.already == 0
    {
        // Nothing of this file is stored: no import to keep.
        let mut conn = db.write().await?;
        if imports::forget_if_empty(conn.ex(), id).await? {
            report.import_id = None;
            return Ok(report);
        }
    }
    tracing::debug!(elapsed = ?started.elapsed(), "import: file read and rows written");
    if let Some(id) = import_id {
        let placed = imports::resolve(db, kind.name()).await?;
        tracing::debug!(placed, "import: replies put under parents that came late");
        tracing::debug!(elapsed = ?started.elapsed(), "import: replies linked, threads counted");
        let mut tx = db.begin().await?;
        for (source_id, t) in &orphans {
            let posts = threads.get(source_id).map(|i| i.orphan_posts).unwrap_or(0);
            imports::keep_orphan(tx.ex(), id, t, posts).await?;
        }
        let state = if report.fatal.is_some() {
            "failed"
        } else {
            "finished"
        };
        let counts = serde_json::to_string(&report).unwrap_or_default();
        imports::finish(tx.ex(), id, state, &counts, now).await?;
        crate::db::settings::bump_content_epoch(tx.ex()).await?;
        tx.commit().await?;
    }
    Ok(report)
}

fn row_of(p: Post, story_id: i64, identity: i64, checker: Option<&Checker>) -> imports::Row {
    let mut status = match p.state {
        PostState::Visible => "visible",
        PostState::Pending => "pending",
        PostState::Deleted => "deleted",
        PostState::Spam => "spam",
    };
    let (mut verdict, mut reasons, mut scores) = ("approve", "[]".to_string(), "{}".to_string());
    if let (Some(checker), "visible") = (checker, status) {
        let story = story_id.to_string();
        let outcome = checker.check(
            &p.text,
            &Context {
                author: Some(&p.author.key),
                story: Some(&story),
                time: jiff::Timestamp::from_microsecond(p.created_at).ok(),
                recent: &[],
            },
        );
        verdict = outcome.verdict.code();
        status = match outcome.verdict {
            Verdict::Approve => "visible",
            Verdict::Hold => "pending",
            Verdict::Reject => "rejected",
        };
        reasons =
            serde_json::to_string(&outcome.reasons.iter().map(|r| r.code()).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into());
        scores = serde_json::to_string(&outcome.scores).unwrap_or_else(|_| "{}".into());
    }
    let body = if p.state == PostState::Deleted {
        String::new()
    } else {
        p.text
    };
    imports::Row {
        id: 0,
        story_id,
        parent_id: None,
        root_id: 0,
        depth: 0,
        reply_count: 0,
        author_name: p.author.name,
        body,
        status,
        verdict,
        reasons,
        scores,
        created_at: p.created_at,
        source_id: p.source_id,
        source_parent: p.parent,
        identity,
    }
}

fn progress_bar(wanted: bool, size: u64) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({eta} left)",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}
