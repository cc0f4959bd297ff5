//! Writing an import's comments: batches of [`Limits::batch`] rows, each in one
//! short transaction, each row placed in its thread as it is written.
//!
//! A batch takes its ids before it is written ([`imports::next_ids`]), so a
//! reply gets its parent's id, thread and depth from memory when the parent
//! was written lately (the [`Recent`] map), from the database otherwise, and
//! a thread's count of visible replies grows with the batch that adds them.
//! Nothing is left for a pass over the whole import at the end, which is
//! what made a million-post import slow: only replies whose parent never
//! came in time are put in place afterwards ([`imports::resolve`]).
//!
//! A reply whose parent has not been written waits (in memory, up to
//! [`Limits::waiting`] of them) for the parent to come; when the file ends, or too
//! many wait, they are written at the top level and placed afterwards.

use std::collections::{HashMap, HashSet};

use super::{Author, BATCH, BATCH_BYTES, ImportError, Kind, Report};
use crate::db::{Db, imports};

/// How much the writer holds in memory; the defaults suit any file (tests
/// make them small to reach the paths a large file takes).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Rows written in one transaction, or fewer when their text passes
    /// `batch_bytes`.
    pub batch: usize,
    pub batch_bytes: usize,
    /// Posts remembered by their id on the old platform, per generation:
    /// two generations of this many are kept (the older is dropped when the
    /// newer fills), so memory stays bounded whatever the file's size.
    pub recent: usize,
    /// Replies that may wait in memory for their parent.
    pub waiting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            batch: BATCH,
            batch_bytes: BATCH_BYTES,
            recent: 100_000,
            waiting: 20_000,
        }
    }
}

/// Where a written comment sits.
#[derive(Clone, Copy, Debug)]
struct Placed {
    id: i64,
    root: i64,
    depth: i64,
    story: i64,
}

/// Comments written lately, by their id on the old platform.
struct Recent {
    new: HashMap<String, Placed>,
    old: HashMap<String, Placed>,
    generation: usize,
}

impl Recent {
    fn get(&self, key: &str) -> Option<Placed> {
        self.new.get(key).or_else(|| self.old.get(key)).copied()
    }

    fn insert(&mut self, key: String, p: Placed) {
        if self.new.len() >= self.generation {
            self.old = std::mem::take(&mut self.new);
        }
        self.new.insert(key, p);
    }
}

/// Where a row goes, decided before ids are given.
enum Parent {
    None,
    Known(Placed),
    /// The row at this place in the batch's order.
    InBatch(usize),
}

/// Writes the rows handed to it; see the module's words.
pub struct Writer<'a> {
    db: &'a Db,
    limits: Limits,
    /// None on a dry run: rows are only counted.
    import_id: Option<i64>,
    kind: Kind,
    /// Whether rows of this platform may be stored already; then a batch
    /// looks its own ids up before it is written. Otherwise a batch that
    /// finds one there anyway (a file that repeats an id far apart) is
    /// rolled back and written again in this mode.
    look_up_all: bool,
    recent: Recent,
    /// Rows to write, and the length of their texts.
    queue: Vec<imports::Row>,
    queued_bytes: usize,
    /// Replies waiting for their parent, by the parent's id there.
    waiting: HashMap<String, Vec<imports::Row>>,
    waiting_rows: usize,
    /// Authors met since the last batch (placeholder id, author).
    new_authors: Vec<(i64, Author)>,
    /// Placeholder ids of authors already written → their ids.
    identities: HashMap<i64, i64>,
    /// Where the time of the committed batches went (logged at the end).
    spent: Spent,
}

/// Time spent writing batches: in all, and in their inserts, the counts
/// of replies they add to older threads, and their commits.
#[derive(Clone, Copy, Debug, Default)]
struct Spent {
    batches: std::time::Duration,
    inserts: std::time::Duration,
    replies: std::time::Duration,
    commits: std::time::Duration,
}

impl std::ops::AddAssign for Spent {
    fn add_assign(&mut self, other: Spent) {
        self.batches += other.batches;
        self.inserts += other.inserts;
        self.replies += other.replies;
        self.commits += other.commits;
    }
}

impl<'a> Writer<'a> {
    pub async fn new(
        db: &'a Db,
        import_id: Option<i64>,
        kind: Kind,
        limits: Limits,
    ) -> Result<Self, ImportError> {
        let look_up_all = match import_id {
            Some(_) => {
                let mut c = db.read().await?;
                imports::any_of_kind(c.ex(), kind.name()).await?
            }
            None => false,
        };
        Ok(Writer {
            db,
            limits,
            import_id,
            kind,
            look_up_all,
            recent: Recent {
                new: HashMap::new(),
                old: HashMap::new(),
                generation: limits.recent.max(1),
            },
            queue: Vec::with_capacity(limits.batch),
            queued_bytes: 0,
            waiting: HashMap::new(),
            waiting_rows: 0,
            new_authors: Vec::new(),
            identities: HashMap::new(),
            spent: Spent::default(),
        })
    }

    /// An author met for the first time in this run, under a negative
    /// placeholder id its rows carry until it is written.
    pub fn new_author(&mut self, placeholder: i64, author: Author) {
        self.new_authors.push((placeholder, author));
    }

    /// Takes a row (its place not yet decided); writes a batch when one is full.
    pub async fn push(
        &mut self,
        row: imports::Row,
        authors: &mut HashMap<String, (i64, bool)>,
        report: &mut Report,
    ) -> Result<(), ImportError> {
        self.queued_bytes += row.body.len();
        self.queue.push(row);
        if self.queue.len() >= self.limits.batch || self.queued_bytes >= self.limits.batch_bytes {
            let flush = self.waiting_rows > self.limits.waiting;
            self.write(flush, authors, report).await?;
        }
        Ok(())
    }

    /// Writes what is left, and the replies still waiting (at the top level:
    /// their parent is not in the file, or comes from another file).
    pub async fn finish(
        &mut self,
        authors: &mut HashMap<String, (i64, bool)>,
        report: &mut Report,
    ) -> Result<(), ImportError> {
        self.write(true, authors, report).await?;
        tracing::debug!(spent = ?self.spent, "import: batches written");
        Ok(())
    }

    async fn write(
        &mut self,
        flush_waiting: bool,
        authors: &mut HashMap<String, (i64, bool)>,
        report: &mut Report,
    ) -> Result<(), ImportError> {
        let mut rows = std::mem::take(&mut self.queue);
        self.queued_bytes = 0;
        if flush_waiting {
            for (_, w) in self.waiting.drain() {
                rows.extend(w);
            }
            self.waiting_rows = 0;
        }
        let Some(import_id) = self.import_id else {
            report.imported += rows.len() as u64;
            report.hidden += rows.iter().filter(|r| r.status != "visible").count() as u64;
            self.new_authors.clear();
            return Ok(());
        };
        // Replies that waited for a row of this batch come after it.
        let mut i = 0;
        while i < rows.len() {
            if let Some(children) = self.waiting.remove(&rows[i].source_id) {
                self.waiting_rows -= children.len();
                rows.extend(children);
            }
            i += 1;
        }
        if rows.is_empty() && self.new_authors.is_empty() {
            return Ok(());
        }
        // Released and flushed replies can make it more than a batch: a
        // transaction a batch still (a parent comes before its replies).
        loop {
            let rest = rows.split_off(rows.len().min(self.limits.batch));
            let mut repeats = 0;
            loop {
                match self.try_write(import_id, rows, flush_waiting).await {
                    Ok(mut done) => {
                        done.already += repeats;
                        self.apply(done, authors, report);
                        break;
                    }
                    Err((e, back, left_out)) if !self.look_up_all => {
                        tracing::debug!(error = %e, "import: a batch met stored rows; writing it again, looking them up");
                        self.look_up_all = true;
                        repeats += left_out;
                        rows = back;
                    }
                    Err((e, _, _)) => return Err(e),
                }
            }
            if rest.is_empty() {
                return Ok(());
            }
            rows = rest;
        }
    }

    /// Places and writes one batch in one transaction. On failure, answers
    /// the rows back (those it would write, then those it would keep waiting).
    async fn try_write(
        &self,
        import_id: i64,
        rows: Vec<imports::Row>,
        flush_waiting: bool,
    ) -> Result<Written, (ImportError, Vec<imports::Row>, u64)> {
        let kind = self.kind.name();
        let started = std::time::Instant::now();
        let mut tx = match self.db.begin().await {
            Ok(tx) => tx,
            Err(e) => return Err((e.into(), rows, 0)),
        };
        let authors: Vec<&Author> = self.new_authors.iter().map(|(_, a)| a).collect();
        let identities: HashMap<i64, i64> =
            match imports::add_identities(tx.ex(), import_id, &authors).await {
                Ok(ids) => self.new_authors.iter().map(|(p, _)| *p).zip(ids).collect(),
                Err(e) => return Err((e.into(), rows, 0)),
            };
        // What the batch needs from the database: its own ids when they may
        // be stored, and parents neither remembered nor in the batch.
        // Each id of the batch, with its story (the first row with that id).
        let mut in_batch: HashMap<&str, i64> = HashMap::with_capacity(rows.len());
        for r in &rows {
            in_batch.entry(r.source_id.as_str()).or_insert(r.story_id);
        }
        let mut wanted: Vec<&str> = Vec::new();
        if self.look_up_all {
            wanted.extend(in_batch.keys().copied());
        }
        for r in &rows {
            if let Some(p) = r.source_parent.as_deref()
                && !in_batch.contains_key(p)
                && self.recent.get(p).is_none()
            {
                wanted.push(p);
            }
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut stored: HashMap<String, imports::Stored> = HashMap::new();
        for part in wanted.chunks(1000) {
            match imports::find_sources(tx.ex(), kind, part).await {
                Ok(found) => stored.extend(found.into_iter().map(|s| (s.source_id.clone(), s))),
                Err(e) => return Err((e.into(), rows, 0)),
            }
        }
        let known = |key: &str, story: i64| -> Option<Placed> {
            self.recent
                .get(key)
                .or_else(|| {
                    stored.get(key).map(|s| Placed {
                        id: s.id,
                        root: s.root_id.unwrap_or(s.id),
                        depth: s.depth,
                        story: s.story_id,
                    })
                })
                .filter(|p| p.story == story)
        };

        // The order rows are written in: a parent before its replies.
        let mut order: Vec<(usize, Parent)> = Vec::with_capacity(rows.len());
        let mut at: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        // Rows waiting for a parent later in this batch, by the parent's id.
        let mut later: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut already = 0u64;
        let mut waits: Vec<usize> = Vec::new();
        let mut taken: HashSet<&str> = HashSet::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let key = r.source_id.as_str();
            if !taken.insert(key) || self.recent.get(key).is_some() || stored.contains_key(key) {
                already += 1;
                continue;
            }
            let parent = match r.source_parent.as_deref() {
                None => Parent::None,
                Some(p) => match at.get(p) {
                    Some(&k) if rows[order[k].0].story_id == r.story_id => Parent::InBatch(k),
                    Some(_) => Parent::None,
                    None => match known(p, r.story_id) {
                        Some(placed) => Parent::Known(placed),
                        None if in_batch.get(p) == Some(&r.story_id) => {
                            later.entry(p).or_default().push(i);
                            continue;
                        }
                        None if flush_waiting => Parent::None,
                        None => {
                            waits.push(i);
                            continue;
                        }
                    },
                },
            };
            // Emit it, then whatever waited for it in this batch.
            let mut stack = vec![(i, parent)];
            while let Some((j, parent)) = stack.pop() {
                let k = order.len();
                order.push((j, parent));
                at.insert(rows[j].source_id.as_str(), k);
                if let Some(children) = later.remove(rows[j].source_id.as_str()) {
                    stack.extend(children.into_iter().rev().map(|c| (c, Parent::InBatch(k))));
                }
            }
        }
        // Replies whose parent in this batch was itself kept waiting, or
        // was a repeat: they wait too, or go to the top level at the end.
        for (_, children) in later.drain() {
            for c in children {
                if flush_waiting {
                    order.push((c, Parent::None));
                } else {
                    waits.push(c);
                }
            }
        }

        let ids = match imports::next_ids(tx.ex(), order.len()).await {
            Ok(ids) => ids,
            Err(e) => return Err((e.into(), rows, 0)),
        };
        let mut placed: Vec<Placed> = Vec::with_capacity(order.len());
        // Where in the order each row's thread top is, when in this batch.
        let mut top_at: Vec<Option<usize>> = Vec::with_capacity(order.len());
        let mut replies: HashMap<i64, i64> = HashMap::new();
        let mut counts_in_batch: Vec<i64> = vec![0; order.len()];
        for (k, (j, parent)) in order.iter().enumerate() {
            let r = &rows[*j];
            let id = ids[k];
            let (root, depth, top) = match parent {
                Parent::None => (id, 0, Some(k)),
                Parent::Known(p) => (p.root, p.depth + 1, None),
                Parent::InBatch(pk) => (placed[*pk].root, placed[*pk].depth + 1, top_at[*pk]),
            };
            if r.status == "visible" && root != id {
                match top {
                    Some(t) => counts_in_batch[t] += 1,
                    None => *replies.entry(root).or_default() += 1,
                }
            }
            placed.push(Placed {
                id,
                root,
                depth,
                story: r.story_id,
            });
            top_at.push(top);
        }

        // Move the rows into the order, with their places.
        let mut slots: Vec<Option<imports::Row>> = rows.into_iter().map(Some).collect();
        let mut out: Vec<imports::Row> = Vec::with_capacity(order.len());
        for (k, (j, parent)) in order.iter().enumerate() {
            let mut r = slots[*j].take().expect("each row is written once");
            let p = placed[k];
            r.id = p.id;
            r.root_id = p.root;
            r.depth = p.depth;
            r.parent_id = match parent {
                Parent::None => None,
                Parent::Known(q) => Some(q.id),
                Parent::InBatch(pk) => Some(placed[*pk].id),
            };
            r.reply_count = counts_in_batch[k];
            if r.identity < 0 {
                r.identity = identities
                    .get(&r.identity)
                    .or_else(|| self.identities.get(&r.identity))
                    .copied()
                    .unwrap_or(r.identity);
            }
            out.push(r);
        }
        let waiting: Vec<imports::Row> = waits
            .iter()
            .map(|&j| slots[j].take().expect("each row waits once"))
            .collect();
        // The repeats it left out are not given back: they are counted here.
        let give_back = |e: ImportError, out: Vec<imports::Row>, waiting: Vec<imports::Row>| {
            let mut back = out;
            back.extend(waiting);
            (e, back, already)
        };
        let inserting = std::time::Instant::now();
        let written = match imports::insert_rows(tx.ex(), import_id, kind, &out).await {
            Ok(n) => n,
            Err(e) => return Err(give_back(e.into(), out, waiting)),
        };
        if written != out.len() as u64 {
            let e = ImportError::Usage(format!(
                "{} comments of this batch were stored meanwhile by someone else: is another \
                 import of the same platform running?",
                out.len() as u64 - written
            ));
            return Err(give_back(e, out, waiting));
        }
        let inserts = inserting.elapsed();
        let counting = std::time::Instant::now();
        let mut replies: Vec<(i64, i64)> = replies.into_iter().collect();
        replies.sort_unstable();
        if let Err(e) = imports::add_replies(tx.ex(), &replies).await {
            return Err(give_back(e.into(), out, waiting));
        }
        let replies = counting.elapsed();
        let committing = std::time::Instant::now();
        if let Err(e) = tx.commit().await {
            return Err(give_back(e.into(), out, waiting));
        }
        Ok(Written {
            rows: out,
            waiting,
            already,
            identities,
            spent: Spent {
                batches: started.elapsed(),
                inserts,
                replies,
                commits: committing.elapsed(),
            },
        })
    }

    /// After a batch is committed: remember it, and count it.
    fn apply(
        &mut self,
        done: Written,
        authors: &mut HashMap<String, (i64, bool)>,
        report: &mut Report,
    ) {
        for (placeholder, a) in self.new_authors.drain(..) {
            if let Some(id) = done.identities.get(&placeholder) {
                authors.insert(a.key, (*id, true));
            }
        }
        self.identities.extend(done.identities);
        self.spent += done.spent;
        report.imported += done.rows.len() as u64;
        report.already += done.already;
        report.hidden += done.rows.iter().filter(|r| r.status != "visible").count() as u64;
        for r in done.rows {
            let placed = Placed {
                id: r.id,
                root: r.root_id,
                depth: r.depth,
                story: r.story_id,
            };
            self.recent.insert(r.source_id, placed);
        }
        for r in done.waiting {
            let parent = r.source_parent.clone().unwrap_or_default();
            self.waiting.entry(parent).or_default().push(r);
            self.waiting_rows += 1;
        }
    }
}

/// What a committed batch wrote.
struct Written {
    rows: Vec<imports::Row>,
    waiting: Vec<imports::Row>,
    already: u64,
    identities: HashMap<i64, i64>,
    spent: Spent,
}
