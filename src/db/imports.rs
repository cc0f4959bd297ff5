//! Imports from other platforms: their record, the rows they write, the
//! pass that links replies to parents, undo, and the identities of the
//! imported authors that members can claim.

use std::collections::HashMap;

use super::{Count, Ex, Id, stories::reborrow};
use crate::import::{Author, Thread};
use crate::{execute, fetch_all, fetch_all_in, fetch_one, fetch_optional};

// The thread counts sum over a thread's rows (`case when`), rather than
// filter them by status in `where`: so SQLite, without statistics, looks
// them up by root and not by status.

/// Rows of one pass of the linking and undo loops.
const CHUNK: i64 = 5000;

/// Starts an import of a file, or takes up the earlier import of the same
/// file (same kind and SHA-256) that was not undone: a second run then
/// completes it or adds nothing.
pub async fn start(
    mut ex: Ex<'_>,
    kind: &str,
    file_name: &str,
    sha256: &str,
    options: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    if let Some(r) = fetch_optional!(
        reborrow(&mut ex),
        Id,
        "select id from imports where kind = $1 and file_sha256 = $2 and state <> 'undone' \
         order by id desc limit 1",
        kind,
        sha256
    )? {
        execute!(
            ex,
            "update imports set state = 'running', options = $2, finished_at = null where id = $1",
            r.id,
            options
        )?;
        return Ok(r.id);
    }
    Ok(fetch_one!(
        ex,
        Id,
        "insert into imports (kind, file_name, file_sha256, options, state, started_at) \
         values ($1, $2, $3, $4, 'running', $5) returning id",
        kind,
        file_name,
        sha256,
        options,
        now
    )?
    .id)
}

pub async fn finish(
    ex: Ex<'_>,
    id: i64,
    state: &str,
    counts: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update imports set state = $2, counts = $3, finished_at = $4 where id = $1",
        id,
        state,
        counts,
        now
    )?;
    Ok(())
}

/// Deletes an import that stored nothing at all (a file unreadable from
/// its start); answers whether it did.
pub async fn forget_if_empty(ex: Ex<'_>, id: i64) -> Result<bool, sqlx::Error> {
    Ok(execute!(
        ex,
        "delete from imports where id = $1 and not exists (select 1 from comments \
         where import_id = $1) and not exists (select 1 from redirects where import_id = $1)",
        id
    )? > 0)
}

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct ImportRow {
    pub id: i64,
    pub kind: String,
    pub file_name: String,
    pub file_sha256: String,
    pub options: String,
    pub state: String,
    pub counts: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Comments of this import still stored.
    pub comments: i64,
    pub orphan_threads: i64,
    pub identities: i64,
    pub claimed: i64,
}

/// Every import, newest first.
pub async fn list(ex: Ex<'_>) -> Result<Vec<ImportRow>, sqlx::Error> {
    fetch_all!(
        ex,
        ImportRow,
        "select i.id, i.kind, i.file_name, i.file_sha256, i.options, i.state, i.counts, \
         i.started_at, i.finished_at, \
         (select count(*) from comments c where c.import_id = i.id) as comments, \
         (select count(*) from import_threads t where t.import_id = i.id) as orphan_threads, \
         (select count(*) from import_identities d where d.import_id = i.id) as identities, \
         (select count(*) from import_identities d where d.import_id = i.id \
           and d.claimed_by is not null) as claimed \
         from imports i order by i.id desc"
    )
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Option<ImportRow>, sqlx::Error> {
    Ok(list(ex).await?.into_iter().find(|r| r.id == id))
}

#[derive(sqlx::FromRow)]
struct KeyId {
    author_key: String,
    id: i64,
}

/// The identities an import has written so far (to take up a run).
pub async fn identities_of(ex: Ex<'_>, import_id: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows = fetch_all!(
        ex,
        KeyId,
        "select author_key, id from import_identities where import_id = $1",
        import_id
    )?;
    Ok(rows.into_iter().map(|r| (r.author_key, r.id)).collect())
}

#[derive(sqlx::FromRow)]
struct IdentityKey {
    id: i64,
    author_key: String,
}

/// Writes the identities of these authors (new to this run; an earlier run
/// of the same file may have written some), answering each one's id in
/// their order. A statement writes up to 500.
pub async fn add_identities(
    mut ex: Ex<'_>,
    import_id: i64,
    authors: &[&Author],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(authors.len());
    let sqlite = matches!(ex, Ex::Sqlite(_));
    for part in authors.chunks(500) {
        let rows: Vec<String> = (0..part.len())
            .map(|i| match sqlite {
                true => "(?, ?, ?, ?, ?)".to_string(),
                false => format!("({})", super::placeholders(i * 5, 5)),
            })
            .collect();
        let sql = format!(
            "insert into import_identities (import_id, author_key, name, email, verified) \
             values {} on conflict (import_id, author_key) do nothing returning id, author_key",
            rows.join(", ")
        );
        // The same five values a row, bound for either backend.
        macro_rules! insert_part {
            ($c:expr) => {{
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for a in part {
                    q = q.bind(import_id).bind(&a.key).bind(&a.name);
                    q = q.bind(a.email.as_deref()).bind(a.verified);
                }
                q.fetch_all(&mut *$c).await?
            }};
        }
        let new: Vec<IdentityKey> = match reborrow(&mut ex) {
            Ex::Sqlite(c) => insert_part!(c),
            Ex::Postgres(c) => insert_part!(c),
        };
        ids.extend(new.into_iter().map(|r| (r.author_key, r.id)));
        // Those written before: looked up.
        let old: Vec<&str> = part
            .iter()
            .map(|a| a.key.as_str())
            .filter(|k| !ids.contains_key(*k))
            .collect();
        if old.is_empty() {
            continue;
        }
        let sql = match sqlite {
            true => format!(
                "select id, author_key from import_identities \
                 where import_id = ? and author_key in ({})",
                vec!["?"; old.len()].join(",")
            ),
            false => format!(
                "select id, author_key from import_identities \
                 where import_id = $1 and author_key in ({})",
                super::placeholders(1, old.len())
            ),
        };
        let found = fetch_all_in!(
            reborrow(&mut ex),
            IdentityKey,
            sql,
            old.iter().copied(),
            import_id
        )?;
        ids.extend(found.into_iter().map(|r| (r.author_key, r.id)));
    }
    authors
        .iter()
        .map(|a| ids.get(&a.key).copied().ok_or(sqlx::Error::RowNotFound))
        .collect()
}

/// A comment to write, placed in its thread before it is written: its id
/// is given here (see [`next_ids`]), so a reply in the same batch can take
/// its parent's id, thread and depth.
#[derive(Clone, Debug)]
pub struct Row {
    pub id: i64,
    pub story_id: i64,
    pub parent_id: Option<i64>,
    pub root_id: i64,
    pub depth: i64,
    pub author_name: String,
    pub body: String,
    pub status: &'static str,
    pub verdict: &'static str,
    pub reasons: String,
    pub scores: String,
    pub created_at: i64,
    pub source_id: String,
    pub source_parent: Option<String>,
    pub identity: i64,
    /// Visible replies below it written in the same batch.
    pub reply_count: i64,
}

/// Whether any comment of this platform is stored: when none is, an
/// import's rows cannot already be there, and need not be looked up.
pub async fn any_of_kind(ex: Ex<'_>, kind: &str) -> Result<bool, sqlx::Error> {
    Ok(fetch_optional!(
        ex,
        Id,
        "select id from comments where source_kind = $1 limit 1",
        kind
    )?
    .is_some())
}

/// A stored comment of the old platform, where it sits.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Stored {
    pub source_id: String,
    pub id: i64,
    pub story_id: i64,
    pub root_id: Option<i64>,
    pub depth: i64,
}

/// The stored comments among these ids of the old platform.
pub async fn find_sources(
    ex: Ex<'_>,
    kind: &str,
    source_ids: &[&str],
) -> Result<Vec<Stored>, sqlx::Error> {
    if source_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Plain `?`s on SQLite: it looks a numbered parameter (`$n`) up by its
    // name in a list, so a thousand of them make binding quadratic.
    let list = match ex {
        Ex::Sqlite(_) => vec!["?"; source_ids.len()].join(","),
        Ex::Postgres(_) => super::placeholders(1, source_ids.len()),
    };
    let kind_param = if matches!(ex, Ex::Sqlite(_)) {
        "?"
    } else {
        "$1"
    };
    let sql = format!(
        "select source_id, id, story_id, root_id, depth from comments \
         where source_kind = {kind_param} and source_id in ({list})"
    );
    fetch_all_in!(ex, Stored, sql, source_ids.iter().copied(), kind)
}

/// `n` new comment ids, in increasing order. On SQLite the caller holds the
/// write lock (a transaction begun with `BEGIN IMMEDIATE`), so the ids after
/// the highest stored one are free until it commits; on PostgreSQL they
/// come from the table's sequence, which other writers share.
pub async fn next_ids(ex: Ex<'_>, n: usize) -> Result<Vec<i64>, sqlx::Error> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(match ex {
        Ex::Sqlite(c) => {
            let top: (i64,) = sqlx::query_as("select coalesce(max(id), 0) from comments")
                .fetch_one(&mut *c)
                .await?;
            (top.0 + 1..=top.0 + n as i64).collect()
        }
        Ex::Postgres(c) => {
            let ids: Vec<(i64,)> = sqlx::query_as(
                "select nextval(pg_get_serial_sequence('comments', 'id')) \
                 from generate_series(1, $1) order by 1",
            )
            .bind(n as i64)
            .fetch_all(&mut *c)
            .await?;
            ids.into_iter().map(|r| r.0).collect()
        }
    })
}

/// The indexes of comments a bulk import (`--bulk`) sets aside while it
/// writes and builds once at the end. Kept: the primary key and the
/// idempotency key, the source key (the import looks its rows up by it),
/// and the import's own two small ones.
const SET_ASIDE: [&str; 6] = [
    "comments_story_idx",
    "comments_root_idx",
    "comments_member_idx",
    "comments_pending_idx",
    "comments_parent_idx",
    "comments_identity_idx",
];

#[derive(sqlx::FromRow)]
struct IndexDef {
    name: String,
    definition: String,
}

/// Drops the indexes of [`SET_ASIDE`], keeping their definitions in
/// `set_aside_indexes` in the same transaction, so that whatever stops the
/// import, the next command that opens the store builds them again
/// ([`rebuild_indexes`]). Answers how many were set aside.
pub async fn set_aside_indexes(db: &super::Db) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut n = 0;
    for name in SET_ASIDE {
        let sql = match db {
            super::Db::Sqlite { .. } => {
                "select sql from sqlite_master where type = 'index' and name = $1"
            }
            super::Db::Postgres(_) => {
                "select indexdef from pg_indexes \
                 where schemaname = current_schema() and indexname = $1"
            }
        };
        let Some((definition,)) = fetch_optional!(tx.ex(), (String,), sql, name)? else {
            continue;
        };
        execute!(
            tx.ex(),
            "insert into set_aside_indexes (name, definition) values ($1, $2)",
            name,
            definition
        )?;
        execute!(tx.ex(), sqlx::AssertSqlSafe(format!("drop index {name}")))?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

/// Whether SQLite checks, row by row, that the story and the parent a
/// comment names exist. A bulk import turns the check off while it writes
/// (it took 15% of SQLite's time for the rows): its rows name stories
/// it matched and parents it wrote before them, and its tests check every
/// reference after it. The connection checks again when it is turned back
/// on, or when the import stops and the connection closes. PostgreSQL
/// always checks.
pub async fn check_references(db: &super::Db, on: bool) -> Result<(), sqlx::Error> {
    if let super::Db::Sqlite { .. } = db {
        let mut c = db.write().await?;
        let sql = if on {
            "pragma foreign_keys = on"
        } else {
            "pragma foreign_keys = off"
        };
        execute!(c.ex(), sql)?;
    }
    Ok(())
}

/// Builds the indexes a bulk import set aside, if any, in one transaction.
/// Answers how many.
pub async fn rebuild_indexes(db: &super::Db) -> Result<usize, sqlx::Error> {
    // Every command asks when it opens the store: without the write lock.
    let any = {
        let mut c = db.read().await?;
        fetch_optional!(
            c.ex(),
            IndexDef,
            "select name, definition from set_aside_indexes limit 1"
        )?
    };
    if any.is_none() {
        return Ok(0);
    }
    // SQLite sorts an index's entries in pieces of its page cache's size
    // and merges them through temporary files: kept in memory (as the
    // server keeps them) a million comments' worth held 100 MB more.
    let sqlite = matches!(db, super::Db::Sqlite { .. });
    if sqlite {
        let mut c = db.write().await?;
        execute!(c.ex(), "pragma temp_store = file")?;
    }
    let built = build_set_aside(db).await;
    if sqlite {
        let mut c = db.write().await?;
        execute!(c.ex(), "pragma temp_store = memory")?;
    }
    built
}

async fn build_set_aside(db: &super::Db) -> Result<usize, sqlx::Error> {
    let mut tx = db.begin().await?;
    let mut n = 0;
    for d in fetch_all!(
        tx.ex(),
        IndexDef,
        "select name, definition from set_aside_indexes order by name"
    )? {
        execute!(tx.ex(), sqlx::AssertSqlSafe(if_not_exists(&d.definition)))?;
        execute!(
            tx.ex(),
            "delete from set_aside_indexes where name = $1",
            d.name
        )?;
        n += 1;
    }
    tx.commit().await?;
    Ok(n)
}

/// An index's definition as the catalogue gives it ("CREATE [UNIQUE] INDEX
/// name ON …", in either case), made to do nothing if it exists.
fn if_not_exists(definition: &str) -> String {
    let lower = definition.to_ascii_lowercase();
    match lower.find(" index ") {
        Some(at) if lower.starts_with("create ") => {
            let end = at + " index ".len();
            format!("{}if not exists {}", &definition[..end], &definition[end..])
        }
        _ => definition.to_string(),
    }
}

/// The columns [`insert_rows`] writes, in their order.
const COLUMNS: &str = "id, import_id, source_kind, story_id, parent_id, root_id, depth, \
     author_name, body, status, verdict, reasons, scores, created_at, source_id, \
     source_parent, import_identity_id, reply_count";

/// Writes rows already placed (ids, parents, threads given). Answers how
/// many were written: fewer than given when some were there already (same
/// platform and id), which the caller treats as a reason to look them up.
pub async fn insert_rows(
    ex: Ex<'_>,
    import_id: i64,
    kind: &str,
    rows: &[Row],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(match ex {
        Ex::Sqlite(c) => {
            // The values are written into the statement as literals, not
            // bound: the driver copies each bound string twice more (into
            // its list of arguments, then into SQLite), and on a large
            // import binding cost more than SQLite's parsing of the same
            // values as literals (docs/benchmarks.md). [`sql_text`] quotes
            // every string, so no text of the file can end its literal.
            // A statement takes up to 500 rows, and ends early past 1 MB of
            // text (imported comments can be long). The next statement is
            // written while SQLite's thread runs the last one.
            let mut written = 0;
            let mut sql = String::new();
            let mut next = String::new();
            let mut rest = sqlite_statement(&mut sql, import_id, kind, rows);
            loop {
                let done = {
                    let mut run = std::pin::pin!(
                        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                            .persistent(false)
                            .execute(&mut *c)
                    );
                    // The first poll hands the statement to SQLite's thread.
                    let first =
                        std::future::poll_fn(|cx| std::task::Poll::Ready(run.as_mut().poll(cx)))
                            .await;
                    if !rest.is_empty() {
                        rest = sqlite_statement(&mut next, import_id, kind, rest);
                    }
                    match first {
                        std::task::Poll::Ready(done) => done,
                        std::task::Poll::Pending => run.await,
                    }
                };
                written += done?.rows_affected();
                if next.is_empty() {
                    break;
                }
                std::mem::swap(&mut sql, &mut next);
                next.clear();
            }
            written
        }
        Ex::Postgres(c) => {
            // One array a column: sixteen parameters whatever the batch.
            let col = |f: &dyn Fn(&Row) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
            let text =
                |f: &dyn for<'r> Fn(&'r Row) -> &'r str| rows.iter().map(f).collect::<Vec<&str>>();
            let sql = format!(
                "insert into comments ({COLUMNS}) \
                 select id, $1, $2, story_id, parent_id, root_id, depth, author_name, body, status, \
                   verdict, reasons, scores, created_at, source_id, source_parent, identity, \
                   reply_count \
                 from unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], \
                   $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                   $13::text[], $14::bigint[], $15::text[], $16::text[], $17::bigint[], \
                   $18::bigint[]) \
                 as r (id, story_id, parent_id, root_id, depth, author_name, body, status, \
                   verdict, reasons, scores, created_at, source_id, source_parent, identity, \
                   reply_count) \
                 on conflict (source_kind, source_id) do nothing"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(import_id)
                .bind(kind)
                .bind(col(&|r| r.id))
                .bind(col(&|r| r.story_id))
                .bind(
                    rows.iter()
                        .map(|r| r.parent_id)
                        .collect::<Vec<Option<i64>>>(),
                )
                .bind(col(&|r| r.root_id))
                .bind(col(&|r| r.depth))
                .bind(text(&|r| &r.author_name))
                .bind(text(&|r| &r.body))
                .bind(text(&|r| r.status))
                .bind(text(&|r| r.verdict))
                .bind(text(&|r| &r.reasons))
                .bind(text(&|r| &r.scores))
                .bind(col(&|r| r.created_at))
                .bind(text(&|r| &r.source_id))
                .bind(
                    rows.iter()
                        .map(|r| r.source_parent.as_deref())
                        .collect::<Vec<Option<&str>>>(),
                )
                .bind(col(&|r| r.identity))
                .bind(col(&|r| r.reply_count))
                .execute(&mut *c)
                .await?
                .rows_affected()
        }
    })
}

/// Writes into `sql` the statement of [`insert_rows`] on SQLite for the
/// first rows of `rows` (up to 500 of them, or fewer past 1 MB of text);
/// answers the rows left for the next one.
fn sqlite_statement<'r>(
    sql: &mut String,
    import_id: i64,
    kind: &str,
    rows: &'r [Row],
) -> &'r [Row] {
    const SQLITE_ROWS: usize = 500;
    const SQLITE_BYTES: usize = 1 << 20;
    sql.clear();
    sql.push_str("insert into comments (");
    sql.push_str(COLUMNS);
    sql.push_str(") values ");
    let mut n = 0;
    while n < rows.len() && n < SQLITE_ROWS && (n == 0 || sql.len() < SQLITE_BYTES) {
        if n > 0 {
            sql.push(',');
        }
        write_sqlite_row(sql, import_id, kind, &rows[n]);
        n += 1;
    }
    sql.push_str(" on conflict (source_kind, source_id) do nothing");
    &rows[n..]
}

/// One row of [`insert_rows`]'s statement on SQLite, in the order of its
/// columns.
fn write_sqlite_row(sql: &mut String, import_id: i64, kind: &str, r: &Row) {
    use std::fmt::Write as _;
    let _ = write!(sql, "({},{import_id},", r.id);
    sql_text(sql, kind);
    let _ = write!(sql, ",{},", r.story_id);
    match r.parent_id {
        Some(p) => {
            let _ = write!(sql, "{p}");
        }
        None => sql.push_str("null"),
    }
    let _ = write!(sql, ",{},{},", r.root_id, r.depth);
    for text in [
        r.author_name.as_str(),
        &r.body,
        r.status,
        r.verdict,
        &r.reasons,
        &r.scores,
    ] {
        sql_text(sql, text);
        sql.push(',');
    }
    let _ = write!(sql, "{},", r.created_at);
    sql_text(sql, &r.source_id);
    sql.push(',');
    match &r.source_parent {
        Some(p) => sql_text(sql, p),
        None => sql.push_str("null"),
    }
    let _ = write!(sql, ",{},{})", r.identity, r.reply_count);
}

/// `text` as an SQLite string literal: in single quotes, each quote
/// doubled (SQLite's literals know no other escape). A NUL, which would
/// end the statement where SQLite reads it, becomes U+FFFD.
fn sql_text(sql: &mut String, text: &str) {
    sql.reserve(text.len() + 2);
    sql.push('\'');
    let mut rest = text;
    while let Some(at) = memchr::memchr2(b'\'', 0, rest.as_bytes()) {
        // Both are ASCII: `at` is on a character boundary.
        sql.push_str(&rest[..at]);
        sql.push_str(if rest.as_bytes()[at] == b'\'' {
            "''"
        } else {
            "\u{FFFD}"
        });
        rest = &rest[at + 1..];
    }
    sql.push_str(rest);
    sql.push('\'');
}

/// Adds visible replies to threads stored before this batch: (root, how many).
pub async fn add_replies(ex: Ex<'_>, counts: &[(i64, i64)]) -> Result<(), sqlx::Error> {
    if counts.is_empty() {
        return Ok(());
    }
    match ex {
        Ex::Sqlite(c) => {
            let rows = vec!["(?,?)"; counts.len()].join(",");
            let sql = format!(
                "with d (id, n) as (values {rows}) \
                 update comments set reply_count = reply_count + d.n from d where comments.id = d.id"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
            for (id, n) in counts {
                q = q.bind(*id).bind(*n);
            }
            q.execute(&mut *c).await?;
        }
        Ex::Postgres(c) => {
            sqlx::query(
                "update comments set reply_count = reply_count + d.n \
                 from unnest($1::bigint[], $2::bigint[]) as d (id, n) where comments.id = d.id",
            )
            .bind(counts.iter().map(|c| c.0).collect::<Vec<i64>>())
            .bind(counts.iter().map(|c| c.1).collect::<Vec<i64>>())
            .execute(&mut *c)
            .await?;
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Span {
    lo: Option<i64>,
    hi: Option<i64>,
}

async fn span(ex: Ex<'_>, import_id: i64) -> Result<(i64, i64), sqlx::Error> {
    let s = fetch_one!(
        ex,
        Span,
        "select min(id) as lo, max(id) as hi from comments where import_id = $1",
        import_id
    )?;
    Ok((s.lo.unwrap_or(0), s.hi.unwrap_or(-1)))
}

/// A reply written at the top level because its parent was not stored
/// when it was, and the parent since found.
#[derive(sqlx::FromRow)]
struct Unplaced {
    id: i64,
    parent: i64,
}

#[derive(sqlx::FromRow)]
struct Place {
    root_id: Option<i64>,
    depth: i64,
}

/// Puts under their parents the replies of this platform that were written
/// at the top level because their parent was not stored yet (it came much
/// later in the file, or in another file), with their threads: the reply and
/// everything below it take the parent's thread, a level deeper, and the
/// thread's count of visible replies grows by theirs. A cycle of parents in
/// the old data leaves its first member at the top level. Short transactions
/// of up to [`CHUNK`] replies; answers how many were placed.
pub async fn resolve(db: &super::Db, kind: &str) -> Result<u64, sqlx::Error> {
    let mut placed = 0u64;
    let mut after = 0i64;
    loop {
        let chunk = {
            let mut c = db.read().await?;
            fetch_all!(
                c.ex(),
                Unplaced,
                "select c.id, p.id as parent from comments c join comments p \
                   on p.source_kind = c.source_kind and p.source_id = c.source_parent \
                   and p.story_id = c.story_id and p.id <> c.id \
                 where c.source_kind = $1 and c.parent_id is null and c.source_parent is not null \
                   and c.id > $2 order by c.id limit $3",
                kind,
                after,
                CHUNK
            )?
        };
        let Some(last) = chunk.last() else {
            break;
        };
        after = last.id;
        let mut tx = db.begin().await?;
        for u in &chunk {
            let Some(p) = fetch_optional!(
                tx.ex(),
                Place,
                "select root_id, depth from comments where id = $1",
                u.parent
            )?
            else {
                continue;
            };
            let Some(root) = p.root_id.filter(|r| *r != u.id) else {
                // The parent is below this reply: a cycle.
                continue;
            };
            let moved = fetch_one!(
                tx.ex(),
                Count,
                "select reply_count + case when status = 'visible' then 1 else 0 end as n \
                 from comments where id = $1",
                u.id
            )?
            .n;
            execute!(
                tx.ex(),
                "update comments set parent_id = $2, reply_count = 0 where id = $1",
                u.id,
                u.parent
            )?;
            execute!(
                tx.ex(),
                "update comments set root_id = $2, depth = depth + $3 where root_id = $1",
                u.id,
                root,
                p.depth + 1
            )?;
            execute!(
                tx.ex(),
                "update comments set reply_count = reply_count + $2 where id = $1",
                root,
                moved
            )?;
            placed += 1;
        }
        tx.commit().await?;
    }
    Ok(placed)
}

/// Gives comments without a root (imported ones, and those whose thread
/// an undo took away) their root and depth: top-level ones are their own
/// root; a reply takes its parent's, a level deeper. A cycle of parents
/// in the old data is broken by making its members top-level.
async fn place_in_threads(db: &super::Db) -> Result<(), sqlx::Error> {
    loop {
        let mut progressed = false;
        loop {
            let mut tx = db.begin().await?;
            let n = execute!(
                tx.ex(),
                "update comments set root_id = id, depth = 0 where id in (select id from comments \
                 where root_id is null and parent_id is null limit $1)",
                CHUNK
            )?;
            tx.commit().await?;
            if n == 0 {
                break;
            }
            progressed = true;
        }
        loop {
            let mut tx = db.begin().await?;
            let n = execute!(
                tx.ex(),
                "update comments set \
                   root_id = (select p.root_id from comments p where p.id = comments.parent_id), \
                   depth = (select p.depth + 1 from comments p where p.id = comments.parent_id) \
                 where id in (select c.id from comments c join comments p on p.id = c.parent_id \
                   where c.root_id is null and p.root_id is not null limit $1)",
                CHUNK
            )?;
            tx.commit().await?;
            if n == 0 {
                break;
            }
            progressed = true;
        }
        let mut c = db.read().await?;
        let left = fetch_one!(
            c.ex(),
            Count,
            "select count(*) as n from comments where root_id is null"
        )?
        .n;
        drop(c);
        if left == 0 {
            return Ok(());
        }
        if !progressed {
            // Only cycles are left.
            let mut w = db.write().await?;
            execute!(
                w.ex(),
                "update comments set parent_id = null where root_id is null"
            )?;
        }
    }
}

/// Keeps a thread that matched no story, with how many posts it had.
pub async fn keep_orphan(
    ex: Ex<'_>,
    import_id: i64,
    t: &Thread,
    posts: u64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into import_threads (import_id, source_id, link, identifier, title, posts) \
         values ($1, $2, $3, $4, $5, $6) on conflict (import_id, source_id) do update \
         set posts = excluded.posts, link = excluded.link, identifier = excluded.identifier",
        import_id,
        &t.source_id,
        &t.link,
        &t.identifier,
        &t.title,
        posts as i64
    )?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Orphan {
    pub source_id: String,
    pub link: String,
    pub identifier: String,
    pub title: String,
    pub posts: i64,
}

pub async fn orphans(ex: Ex<'_>, import_id: i64) -> Result<Vec<Orphan>, sqlx::Error> {
    fetch_all!(
        ex,
        Orphan,
        "select source_id, link, identifier, title, posts from import_threads \
         where import_id = $1 order by posts desc, id",
        import_id
    )
}

pub async fn story_exists(ex: Ex<'_>, id: i64) -> Result<Option<i64>, sqlx::Error> {
    Ok(fetch_optional!(ex, Id, "select id from stories where id = $1", id)?.map(|r| r.id))
}

/// The story an old address (a path) now belongs to.
pub async fn redirect_of(ex: Ex<'_>, path: &str) -> Result<Option<i64>, sqlx::Error> {
    Ok(fetch_optional!(
        ex,
        Id,
        "select story_id as id from redirects where old_path = $1",
        path
    )?
    .map(|r| r.id))
}

/// What an undo took away.
#[derive(Clone, Debug, Default)]
pub struct Undone {
    pub comments: u64,
    pub identities: u64,
    pub threads: u64,
    /// WordPress: the stories it made, and the photos it stored that no
    /// other story uses.
    pub stories: u64,
    pub photos: u64,
}

/// Takes an import away as a whole: its comments (replies members wrote to
/// them here stay, moved up to the top level of their story), its
/// identities and orphan threads; a WordPress import's stories (with every
/// comment on them), old addresses, and the photos it brought that no
/// other story uses, rows and files in `media_dir`. The import stays in
/// the history, undone.
pub async fn undo(
    db: &super::Db,
    import_id: i64,
    media_dir: &std::path::Path,
) -> Result<Undone, sqlx::Error> {
    let mut done = Undone::default();
    let (lo, hi) = {
        let mut c = db.read().await?;
        span(c.ex(), import_id).await?
    };
    let mut from = lo;
    while from <= hi {
        let mut tx = db.begin().await?;
        // Replies pointing into this chunk lose their parent first: other
        // imported ones go next, members' own ones move up.
        execute!(
            tx.ex(),
            "update comments set parent_id = null where parent_id in (select id from comments \
             where import_id = $1 and id >= $2 and id < $3)",
            import_id,
            from,
            from + CHUNK
        )?;
        done.comments += execute!(
            tx.ex(),
            "delete from comments where import_id = $1 and id >= $2 and id < $3",
            import_id,
            from,
            from + CHUNK
        )?;
        tx.commit().await?;
        from += CHUNK;
    }
    // The stories it made go with their old addresses (and what refers
    // to them: every comment on them, saved copies), a chunk at a time.
    loop {
        let mut tx = db.begin().await?;
        let n = execute!(
            tx.ex(),
            "delete from stories where id in (select story_id from redirects \
             where import_id = $1 limit $2)",
            import_id,
            CHUNK
        )?;
        tx.commit().await?;
        if n == 0 {
            break;
        }
        done.stories += n;
    }
    let gone = remove_unused_photos(db, import_id).await?;
    done.photos = gone.len() as u64;
    let mut tx = db.begin().await?;
    // Members' comments whose thread was imported find a new one.
    execute!(
        tx.ex(),
        "update comments set root_id = null where root_id is not null \
         and not exists (select 1 from comments r where r.id = comments.root_id)"
    )?;
    done.identities = execute!(
        tx.ex(),
        "delete from import_identities where import_id = $1",
        import_id
    )?;
    done.threads = execute!(
        tx.ex(),
        "delete from import_threads where import_id = $1",
        import_id
    )?;
    execute!(
        tx.ex(),
        "delete from redirects where import_id = $1",
        import_id
    )?;
    execute!(
        tx.ex(),
        "update imports set state = 'undone' where id = $1",
        import_id
    )?;
    super::settings::bump_content_epoch(tx.ex()).await?;
    tx.commit().await?;
    // Files go after their rows: a crash leaves files without rows
    // (harmless), never rows without files.
    for sha in &gone {
        crate::import::uploads::remove_files(media_dir, sha);
    }
    place_in_threads(db).await?;
    // Members' replies that became top-level count their own replies.
    let mut w = db.write().await?;
    execute!(
        w.ex(),
        "update comments set reply_count = (select coalesce(sum(case when r.status = 'visible' \
           then 1 else 0 end), 0) from comments r \
           where r.root_id = comments.id and r.id <> comments.id) \
         where parent_id is null and root_id = id and reply_count = 0 and exists (select 1 \
         from comments r where r.root_id = comments.id and r.id <> comments.id \
         and r.status = 'visible')"
    )?;
    Ok(done)
}

/// Deletes the photos an import added to the library that no story uses
/// any more (as its lead or in its body); answers their hashes, for their
/// files. One transaction, so an editor cannot place one meanwhile.
async fn remove_unused_photos(db: &super::Db, import_id: i64) -> Result<Vec<String>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Photo {
        id: i64,
        sha256: String,
    }
    #[derive(sqlx::FromRow)]
    struct Uses {
        id: i64,
        lead_media_id: Option<i64>,
        body: String,
    }
    let mut tx = db.begin().await?;
    let mut candidates: std::collections::HashMap<i64, String> = fetch_all!(
        tx.ex(),
        Photo,
        "select m.id, m.sha256 from media m join import_media i on i.media_id = m.id \
         where i.import_id = $1",
        import_id
    )?
    .into_iter()
    .map(|p| (p.id, p.sha256))
    .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    // Bodies are JSON: read through, a page at a time, for the photos
    // they show.
    let mut after = 0i64;
    loop {
        let page = fetch_all!(
            tx.ex(),
            Uses,
            "select id, lead_media_id, body from stories where id > $1 order by id limit $2",
            after,
            CHUNK / 10
        )?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        for story in &page {
            if let Some(id) = story.lead_media_id {
                candidates.remove(&id);
            }
            match crate::domain::body::from_json(&story.body) {
                Ok(blocks) => {
                    for id in crate::domain::body::media_ids(&blocks) {
                        candidates.remove(&id);
                    }
                }
                // A body that does not read: any photo it may name stays.
                Err(_) => {
                    candidates.retain(|id, _| !story.body.contains(&format!("\"media_id\":{id}")))
                }
            }
        }
        if candidates.is_empty() {
            break;
        }
    }
    for id in candidates.keys() {
        execute!(tx.ex(), "delete from media where id = $1", *id)?;
    }
    tx.commit().await?;
    Ok(candidates.into_values().collect())
}

/// Comments waiting for a member: those of identities with this address
/// that the old platform had verified and nobody has claimed.
#[derive(Clone, Debug, Default, sqlx::FromRow, serde::Serialize)]
pub struct Offer {
    pub comments: i64,
    pub identities: i64,
}

pub async fn offer(ex: Ex<'_>, email: &str) -> Result<Offer, sqlx::Error> {
    fetch_one!(
        ex,
        Offer,
        "select (select count(*) from comments c join import_identities d \
           on d.id = c.import_identity_id where d.email = $1 and d.verified \
           and c.status in ('visible', 'pending') \
           and d.claimed_by is null and c.member_id is null) as comments, \
         (select count(*) from import_identities d where d.email = $1 and d.verified \
           and d.claimed_by is null) as identities",
        email
    )
}

/// The old display names under the offered identities.
pub async fn offered_names(ex: Ex<'_>, email: &str) -> Result<Vec<String>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Name {
        name: String,
    }
    Ok(fetch_all!(
        ex,
        Name,
        "select distinct name from import_identities where email = $1 and verified \
         and claimed_by is null order by name",
        email
    )?
    .into_iter()
    .map(|n| n.name)
    .collect())
}

/// The identities a claim takes: one by id (a moderator's choice), or
/// every unclaimed one the old platform verified with the address.
const CLAIMED: &str = "select d.id from import_identities d where d.claimed_by is null \
     and (($2 > 0 and d.id = $2) or ($2 = 0 and d.email = $3 and d.verified))";

/// Gives a member the comments of the identities chosen (see [`CLAIMED`]);
/// `name`, when given, replaces the old display name on them. Answers the
/// comments attached.
async fn attach(
    mut ex: Ex<'_>,
    member_id: i64,
    by_identity: Option<i64>,
    email: &str,
    name: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "update comments set member_id = $1, author_name = coalesce($4, author_name) \
         where member_id is null and import_identity_id in ({CLAIMED})"
    );
    let n = execute!(
        reborrow(&mut ex),
        sqlx::AssertSqlSafe(sql),
        member_id,
        by_identity.unwrap_or(0),
        email,
        name
    )?;
    let sql = format!(
        "update import_identities set claimed_by = $1, claimed_at = $4 where id in ({CLAIMED})"
    );
    execute!(
        ex,
        sqlx::AssertSqlSafe(sql),
        member_id,
        by_identity.unwrap_or(0),
        email,
        now
    )?;
    Ok(n)
}

/// A member claims the comments offered to their verified address.
pub async fn claim(
    ex: Ex<'_>,
    member_id: i64,
    email: &str,
    name: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    attach(ex, member_id, None, email, name, now).await
}

/// A moderator gives a member one identity's comments (a guest's, or an
/// unverified address's), after the member asked.
pub async fn attach_identity(
    ex: Ex<'_>,
    member_id: i64,
    identity_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    attach(ex, member_id, Some(identity_id), "", None, now).await
}

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Identity {
    pub id: i64,
    pub import_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub verified: bool,
    pub comments: i64,
}

/// Unclaimed identities with an address or a name like the member's, for
/// the moderators' desk.
pub async fn unclaimed_like(
    ex: Ex<'_>,
    email: &str,
    name: &str,
) -> Result<Vec<Identity>, sqlx::Error> {
    fetch_all!(
        ex,
        Identity,
        "select d.id, d.import_id, d.name, d.email, d.verified, \
         (select count(*) from comments c where c.import_identity_id = d.id) as comments \
         from import_identities d where d.claimed_by is null \
         and (d.email = $1 or lower(d.name) = lower($2)) order by d.id limit 50",
        email,
        name
    )
}

/// The address path a redirect is kept under: the path of an old address,
/// without its trailing slash (`/` for the home page).
pub fn old_path(link: &str) -> Option<String> {
    let path = match url::Url::parse(link) {
        Ok(u) => u.path().to_string(),
        Err(_) if link.starts_with('/') => link.split(['?', '#']).next()?.to_string(),
        Err(_) => return None,
    };
    let path = path.trim_end_matches('/');
    Some(if path.is_empty() {
        "/".into()
    } else {
        path.to_string()
    })
}

/// What [`add_story`] did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Added {
    pub story_id: i64,
    /// Whether the story is new (else a second run found it).
    pub new: bool,
    /// Pictures stored in the library now, and pictures it had already.
    pub photos_new: u64,
    pub photos_reused: u64,
}

/// The photo with this content hash, if the library has it.
pub async fn media_by_sha(ex: Ex<'_>, sha256: &str) -> Result<Option<i64>, sqlx::Error> {
    Ok(fetch_optional!(ex, Id, "select id from media where sha256 = $1", sha256)?.map(|r| r.id))
}

/// The library's row of a picture the import read: the existing one, or a
/// new one, listed as the import's so its undo can take it away.
async fn photo_id(
    mut ex: Ex<'_>,
    import_id: i64,
    p: &crate::import::uploads::Picture,
    now: i64,
    added: &mut Added,
) -> Result<i64, sqlx::Error> {
    if let Some(id) = media_by_sha(reborrow(&mut ex), &p.sha256).await? {
        added.photos_reused += 1;
        return Ok(id);
    }
    let id = super::media::insert_or_get(reborrow(&mut ex), &p.as_new(now, false)).await?;
    execute!(
        ex,
        "insert into import_media (import_id, media_id) values ($1, $2) \
         on conflict (import_id, media_id) do nothing",
        import_id,
        id
    )?;
    added.photos_new += 1;
    Ok(id)
}

/// A stored photo placed in a story, with its words.
fn figure_of(media_id: i64, p: &crate::import::uploads::Photo) -> crate::domain::body::Figure {
    crate::domain::body::Figure {
        media_id,
        alt: p.alt.clone(),
        caption: p.caption.clone(),
        credit: p.credit.clone(),
    }
}

/// Makes a story of a WordPress post (its section, author and topics
/// found or made by slug; its pictures, already stored in the media
/// folder, found or added in the library), and keeps its old address as a
/// redirect. A post whose old address is already a redirect is that story
/// (a second run), and nothing is added.
pub async fn add_story(
    mut ex: Ex<'_>,
    import_id: i64,
    s: &crate::import::wxr::Story,
    now: i64,
) -> Result<Added, sqlx::Error> {
    use super::{authors, sections, stories, topics};
    use crate::domain::{body, slug::slugify};
    use crate::import::wxr::Piece;
    let mut added = Added::default();
    let old = old_path(&s.link).unwrap_or_else(|| format!("/?p={}", s.post_id));
    if let Some(id) = redirect_of(reborrow(&mut ex), &old).await? {
        added.story_id = id;
        return Ok(added);
    }
    let (section_slug, section_name) = match &s.section {
        Some((slug, name)) if !slugify(slug).is_empty() => (slugify(slug), name.clone()),
        _ => ("archive".to_string(), "Archive".to_string()),
    };
    let section_id = match sections::by_slug(reborrow(&mut ex), &section_slug).await? {
        Some(sec) => sec.id,
        None => {
            sections::insert(
                reborrow(&mut ex),
                &sections::NewSection {
                    slug: &section_slug,
                    name: if section_name.is_empty() {
                        &section_slug
                    } else {
                        &section_name
                    },
                    description: "",
                    position: 100,
                    is_demo: false,
                },
            )
            .await?
        }
    };
    let mut blocks: Vec<body::Block> = Vec::new();
    for piece in &s.body {
        match piece {
            Piece::Text(text) => blocks.extend(
                text.split("\n\n")
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| body::Block::Paragraph {
                        text: p.to_string(),
                    }),
            ),
            Piece::Photo(p) => {
                let media_id =
                    photo_id(reborrow(&mut ex), import_id, &p.picture, now, &mut added).await?;
                blocks.push(body::Block::Photo(figure_of(media_id, p)));
            }
            Piece::Gallery(photos) => {
                let mut items = Vec::with_capacity(photos.len());
                for p in photos {
                    let media_id =
                        photo_id(reborrow(&mut ex), import_id, &p.picture, now, &mut added).await?;
                    items.push(figure_of(media_id, p));
                }
                blocks.push(body::Block::Gallery { items });
            }
        }
    }
    if blocks.is_empty() {
        blocks.push(body::Block::Paragraph {
            text: s.title.clone(),
        });
    }
    let lead = match &s.lead {
        Some(p) => Some((
            photo_id(reborrow(&mut ex), import_id, &p.picture, now, &mut added).await?,
            p,
        )),
        None => None,
    };
    let title = if s.title.trim().is_empty() {
        format!("Post {}", s.post_id)
    } else {
        s.title.trim().to_string()
    };
    let mut slug = slugify(&title);
    if slug.is_empty() {
        slug = slugify(&s.slug);
    }
    if slug.is_empty() {
        slug = format!("post-{}", s.post_id);
    }
    let at = s.published_at.unwrap_or(now);
    let story_id = stories::insert(
        reborrow(&mut ex),
        &stories::NewStory {
            section_id,
            slug: &slug,
            headline: &title,
            standfirst: "",
            dateline: "",
            body: &body::to_json(&blocks),
            lead_media_id: lead.map(|(id, _)| id),
            lead_alt: lead.map_or("", |(_, p)| &p.alt),
            lead_caption: lead.map_or("", |(_, p)| &p.caption),
            lead_credit: lead.map_or("", |(_, p)| &p.credit),
            access_level: "metered",
            status: if s.published { "published" } else { "draft" },
            published_at: s.published.then_some(at),
            updated_at: None,
            modified_at: at,
            is_demo: false,
        },
    )
    .await?;
    if !s.author.trim().is_empty() {
        let author_slug = slugify(&s.author);
        let author_id = match authors::by_slug(reborrow(&mut ex), &author_slug).await? {
            Some(a) => a.id,
            None => {
                authors::insert(
                    reborrow(&mut ex),
                    &authors::NewAuthor {
                        slug: &author_slug,
                        name: s.author.trim(),
                        kind: "person",
                        short_name: "",
                        title: "",
                        bio: "",
                        is_demo: false,
                    },
                )
                .await?
            }
        };
        stories::add_author(reborrow(&mut ex), story_id, author_id, 0).await?;
    }
    for (tag_slug, name) in &s.tags {
        let tag_slug = slugify(tag_slug);
        if tag_slug.is_empty() {
            continue;
        }
        let topic_id = match topics::by_slug(reborrow(&mut ex), &tag_slug).await? {
            Some(t) => t.id,
            None => topics::insert(reborrow(&mut ex), &tag_slug, name.trim(), "", false).await?,
        };
        stories::add_topic(reborrow(&mut ex), story_id, topic_id).await?;
    }
    execute!(
        reborrow(&mut ex),
        "insert into redirects (old_path, story_id, import_id) values ($1, $2, $3) \
         on conflict (old_path) do nothing",
        &old,
        story_id,
        import_id
    )?;
    super::settings::bump_content_epoch(ex).await?;
    added.story_id = story_id;
    added.new = true;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::if_not_exists;

    #[test]
    fn text_is_quoted_whatever_it_holds() {
        for (given, wanted) in [
            ("plain", "'plain'"),
            ("", "''"),
            ("it's", "'it''s'"),
            (
                "'); drop table comments; --",
                "'''); drop table comments; --'",
            ),
            ("''", "''''''"),
            ("a\0b", "'a\u{FFFD}b'"),
            ("मानसून \\ \"x\"", "'मानसून \\ \"x\"'"),
        ] {
            let mut out = String::new();
            super::sql_text(&mut out, given);
            assert_eq!(out, wanted, "{given:?}");
        }
    }

    #[test]
    fn definitions_are_made_safe_to_run_twice() {
        for (given, wanted) in [
            (
                "create index comments_story_idx on comments (story_id, status, created_at)",
                "create index if not exists comments_story_idx on comments (story_id, status, created_at)",
            ),
            (
                "CREATE INDEX comments_parent_idx ON public.comments USING btree (parent_id) WHERE (parent_id IS NOT NULL)",
                "CREATE INDEX if not exists comments_parent_idx ON public.comments USING btree (parent_id) WHERE (parent_id IS NOT NULL)",
            ),
            (
                "CREATE UNIQUE INDEX k ON t (a)",
                "CREATE UNIQUE INDEX if not exists k ON t (a)",
            ),
            ("drop table x", "drop table x"),
        ] {
            assert_eq!(if_not_exists(given), wanted);
        }
    }
}
