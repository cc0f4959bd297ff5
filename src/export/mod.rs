//! `masthead export` and `masthead import masthead`: the whole publication
//! as versioned JSON Lines (the layout is in `docs/export.md`), and back
//! into an empty store with the same ids.
//!
//! Both directions stream: the export pages through each table by its key
//! inside one read-only snapshot, writing a line per row; the import reads
//! the file once to check it, then again to write it in batches inside one
//! transaction (all or nothing), so memory stays flat whatever the size.

pub mod tables;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use jiff::Timestamp;
use serde_json::value::RawValue;
use sqlx::AssertSqlSafe;

use crate::db::{Db, Ex};
use tables::{Kind, TABLES, Table};

/// The `format` of an export's header line.
pub const FORMAT: &str = "masthead-export";
/// The layout version this program writes and reads.
pub const VERSION: i64 = 1;
/// Rows read per query when exporting.
pub const PAGE_ROWS: i64 = 1000;
/// Most rows per insert when importing; fewer for wide tables, to stay
/// under the databases' limits on bound values.
const BATCH: usize = 500;

/// One column's value, as both databases store it.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
}

pub struct ExportOptions {
    /// Members' password hashes are written only when asked for.
    pub password_hashes: bool,
    /// The time in the header.
    pub exported_at: Timestamp,
    /// Rows read per query ([`PAGE_ROWS`]); the file is the same whatever it is.
    pub page_rows: i64,
}

/// How many records of each type were written or read.
#[derive(Debug, Default)]
pub struct Counts(pub Vec<(&'static str, u64)>);

impl Counts {
    fn add(&mut self, record: &'static str) {
        match self.0.iter_mut().find(|(r, _)| *r == record) {
            Some((_, n)) => *n += 1,
            None => self.0.push((record, 1)),
        }
    }

    pub fn get(&self, record: &str) -> u64 {
        self.0
            .iter()
            .find(|(r, _)| *r == record)
            .map_or(0, |(_, n)| *n)
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(r, n)| format!("{n} {r}")).collect();
        if parts.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

macro_rules! bind_all {
    ($q:expr, $vals:expr) => {{
        let mut q = $q;
        for v in $vals {
            q = match v {
                Val::Int(x) => q.bind(*x),
                Val::Text(x) => q.bind(x.clone()),
                Val::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}

macro_rules! decode_row {
    ($row:expr, $cols:expr) => {{
        use sqlx::Row;
        let mut out = Vec::with_capacity($cols.len());
        for (i, (_, kind)) in $cols.iter().enumerate() {
            out.push(match kind {
                Kind::Int => Val::Int(Some($row.try_get::<i64, _>(i)?)),
                Kind::OptInt => Val::Int($row.try_get::<Option<i64>, _>(i)?),
                Kind::Text | Kind::Json => Val::Text(Some($row.try_get::<String, _>(i)?)),
                Kind::OptText => Val::Text($row.try_get::<Option<String>, _>(i)?),
                Kind::Bool => Val::Bool($row.try_get::<bool, _>(i)?),
            });
        }
        out
    }};
}

/// One page of `t`'s rows after the key `after` (from the start when none).
async fn page(
    ex: Ex<'_>,
    t: &Table,
    after: Option<&[Val]>,
    limit: i64,
) -> Result<Vec<Vec<Val>>, sqlx::Error> {
    let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    let key = t.key.join(", ");
    let filter = match after {
        Some(k) => format!("where ({key}) > ({})", crate::db::placeholders(0, k.len())),
        None => String::new(),
    };
    let sql = format!(
        "select {} from {} {filter} order by {key} limit {limit}",
        cols.join(", "),
        t.table
    );
    let none: &[Val] = &[];
    let args = after.unwrap_or(none);
    let mut out = Vec::new();
    match ex {
        Ex::Sqlite(c) => {
            let rows = bind_all!(sqlx::query(AssertSqlSafe(sql)), args)
                .fetch_all(&mut *c)
                .await?;
            for r in &rows {
                out.push(decode_row!(r, t.columns));
            }
        }
        Ex::Postgres(c) => {
            let rows = bind_all!(sqlx::query(AssertSqlSafe(sql)), args)
                .fetch_all(&mut *c)
                .await?;
            for r in &rows {
                out.push(decode_row!(r, t.columns));
            }
        }
    }
    Ok(out)
}

/// The key columns' values of a row.
fn key_of(t: &Table, row: &[Val]) -> Vec<Val> {
    t.key
        .iter()
        .map(|k| {
            let i = t
                .columns
                .iter()
                .position(|(c, _)| c == k)
                .expect("key column");
            row[i].clone()
        })
        .collect()
}

/// The file name of a photo's original in the media folder (see `media.rs`).
pub fn media_file(sha256: &str, ext: &str) -> String {
    format!("{}.{ext}", &sha256[..32.min(sha256.len())])
}

/// Appends `row` of `t` as one JSON line.
fn write_record(
    line: &mut String,
    t: &Table,
    row: &[Val],
    opts: &ExportOptions,
) -> anyhow::Result<()> {
    line.clear();
    line.push_str("{\"type\":");
    line.push_str(&serde_json::to_string(t.record)?);
    for ((name, kind), v) in t.columns.iter().zip(row) {
        line.push_str(",\"");
        line.push_str(name);
        line.push_str("\":");
        match v {
            Val::Int(Some(n)) => line.push_str(&n.to_string()),
            Val::Int(None) | Val::Text(None) => line.push_str("null"),
            Val::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
            Val::Text(Some(s)) if t.table == "members" && *name == "password_hash" => {
                if opts.password_hashes {
                    line.push_str(&serde_json::to_string(s)?);
                } else {
                    line.push_str("null");
                }
            }
            Val::Text(Some(s)) if *kind == Kind::Json => {
                let raw: &RawValue = serde_json::from_str(s).with_context(|| {
                    let key: Vec<String> = key_of(t, row)
                        .iter()
                        .map(|v| match v {
                            Val::Int(Some(n)) => n.to_string(),
                            Val::Text(Some(s)) => s.clone(),
                            _ => String::new(),
                        })
                        .collect();
                    format!(
                        "the {} {} has a {name} that is not JSON; fix it in the database and export again",
                        t.record,
                        key.join("/")
                    )
                })?;
                if raw.get().contains(['\n', '\r']) {
                    // One record a line: written again without line breaks.
                    let v: serde_json::Value = serde_json::from_str(s)?;
                    line.push_str(&serde_json::to_string(&v)?);
                } else {
                    line.push_str(raw.get());
                }
            }
            Val::Text(Some(s)) => line.push_str(&serde_json::to_string(s)?),
        }
    }
    if t.table == "media"
        && let (Some(Val::Text(Some(sha))), Some(Val::Text(Some(ext)))) = (row.get(1), row.get(2))
    {
        line.push_str(",\"file\":");
        line.push_str(&serde_json::to_string(&media_file(sha, ext))?);
    }
    line.push_str("}\n");
    Ok(())
}

/// Writes the whole publication to `out`, table by table in dependency
/// order, from one consistent snapshot of the database.
pub async fn export<W: Write>(db: &Db, out: W, opts: &ExportOptions) -> anyhow::Result<Counts> {
    let mut out = BufWriter::new(out);
    let header = serde_json::json!({
        "format": FORMAT,
        "version": VERSION,
        "exported_at": opts.exported_at.to_string(),
        "masthead": env!("CARGO_PKG_VERSION"),
        "password_hashes": opts.password_hashes,
    });
    // serde_json keeps the keys sorted; written in this order by hand so the
    // first thing in the file says what it is.
    writeln!(
        out,
        "{{\"format\":{},\"version\":{},\"exported_at\":{},\"masthead\":{},\"password_hashes\":{}}}",
        header["format"],
        header["version"],
        header["exported_at"],
        header["masthead"],
        header["password_hashes"]
    )?;
    // One read-only snapshot; the transaction is sqlx's, so it is rolled
    // back (it wrote nothing) however the export ends, and the pooled
    // connection goes back clean.
    let counts = match db.read().await? {
        crate::db::Conn::Sqlite(mut c) => {
            let mut tx = sqlx::Connection::begin(&mut *c).await?;
            let counts = write_tables(Ex::Sqlite(&mut tx), &mut out, opts).await?;
            tx.rollback().await?;
            counts
        }
        crate::db::Conn::Postgres(mut c) => {
            let mut tx = sqlx::Connection::begin(&mut *c).await?;
            sqlx::query("set transaction isolation level repeatable read, read only")
                .execute(&mut *tx)
                .await?;
            let counts = write_tables(Ex::Postgres(&mut tx), &mut out, opts).await?;
            tx.rollback().await?;
            counts
        }
    };
    writeln!(out, "{{\"type\":\"end\",\"records\":{}}}", counts.total())?;
    out.flush()?;
    Ok(counts)
}

/// Every table's rows, in [`TABLES`] order, a page at a time.
async fn write_tables<W: Write>(
    mut ex: Ex<'_>,
    out: &mut W,
    opts: &ExportOptions,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    let mut line = String::new();
    for t in TABLES {
        let mut after: Option<Vec<Val>> = None;
        loop {
            let rows = page(
                crate::db::stories::reborrow(&mut ex),
                t,
                after.as_deref(),
                opts.page_rows.max(1),
            )
            .await
            .with_context(|| format!("reading {}", t.table))?;
            for row in &rows {
                write_record(&mut line, t, row, opts)?;
                out.write_all(line.as_bytes())?;
                counts.add(t.record);
            }
            match rows.last() {
                Some(last) if rows.len() as i64 == opts.page_rows.max(1) => {
                    after = Some(key_of(t, last))
                }
                _ => break,
            }
        }
    }
    Ok(counts)
}

/// Writes the export to `path` through a temporary file beside it, so a
/// failed export leaves no file that looks whole.
pub async fn export_to_file(db: &Db, path: &Path, opts: &ExportOptions) -> anyhow::Result<Counts> {
    let tmp = tmp_path(path);
    let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let result = export(db, &file, opts).await;
    match result {
        Ok(counts) => {
            file.sync_all()?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(counts)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp{}", std::process::id()));
    path.with_file_name(name)
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub counts: Counts,
    /// Photos whose original is not in the media folder (copy the folder).
    pub missing_files: Vec<String>,
}

/// A record's fields, as the file spells them.
type Fields<'a> = HashMap<String, &'a RawValue>;

/// The columns' values of one record, checked against its table.
fn record_values(t: &Table, fields: &Fields<'_>) -> Result<Vec<Val>, String> {
    for name in fields.keys() {
        let known = name == "type"
            || (t.table == "media" && name == "file")
            || t.columns.iter().any(|(c, _)| c == name);
        if !known {
            return Err(format!(
                "a {} record has a field {name:?} this version does not know",
                t.record
            ));
        }
    }
    let mut out = Vec::with_capacity(t.columns.len());
    for (name, kind) in t.columns {
        let raw = fields.get(*name).copied();
        let bad = |e: serde_json::Error| format!("{}.{name}: {e}", t.record);
        let v = match (kind, raw) {
            (k, None) if k.nullable() => match k {
                Kind::OptInt => Val::Int(None),
                _ => Val::Text(None),
            },
            (_, None) => return Err(format!("a {} record lacks {name}", t.record)),
            (Kind::Int, Some(r)) => Val::Int(Some(serde_json::from_str(r.get()).map_err(bad)?)),
            (Kind::OptInt, Some(r)) => Val::Int(serde_json::from_str(r.get()).map_err(bad)?),
            (Kind::Text, Some(r)) => Val::Text(Some(serde_json::from_str(r.get()).map_err(bad)?)),
            (Kind::OptText, Some(r)) => Val::Text(serde_json::from_str(r.get()).map_err(bad)?),
            (Kind::Bool, Some(r)) => Val::Bool(serde_json::from_str(r.get()).map_err(bad)?),
            (Kind::Json, Some(r)) => Val::Text(Some(r.get().to_string())),
        };
        out.push(v);
    }
    Ok(out)
}

fn record_type<'a>(fields: &Fields<'a>) -> Result<String, String> {
    let raw = fields.get("type").ok_or("a record without a type")?;
    serde_json::from_str(raw.get()).map_err(|_| "a record whose type is not a string".to_string())
}

/// Reads the whole file once: the header, every record against its table,
/// the end record and its count. Answers the counts by type.
fn check_file(path: &Path) -> anyhow::Result<Counts> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut lines = BufReader::new(file).lines();
    let first = lines
        .next()
        .ok_or_else(|| anyhow!("{} is empty, not a Masthead export", path.display()))?
        .with_context(|| format!("{}: line 1", path.display()))?;
    check_header(&first).with_context(|| format!("{}: line 1", path.display()))?;
    let mut counts = Counts::default();
    let mut ended = false;
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.with_context(|| format!("line {n} is not UTF-8 text"))?;
        if ended {
            bail!("line {n}: records after the end record");
        }
        let fields: Fields<'_> = serde_json::from_str(&line)
            .map_err(|e| anyhow!("line {n} is not a JSON object: {e}"))?;
        let kind = record_type(&fields).map_err(|e| anyhow!("line {n}: {e}"))?;
        if kind == "end" {
            let records: u64 = fields
                .get("records")
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .ok_or_else(|| anyhow!("line {n}: the end record lacks its count"))?;
            if records != counts.total() {
                bail!(
                    "line {n}: the end record counts {records} records, the file has {}",
                    counts.total()
                );
            }
            ended = true;
            continue;
        }
        let t = tables::by_record(&kind)
            .ok_or_else(|| anyhow!("line {n}: unknown record type {kind:?}"))?;
        record_values(t, &fields).map_err(|e| anyhow!("line {n}: {e}"))?;
        counts.add(t.record);
    }
    if !ended {
        bail!(
            "the file ends without its end record: it was cut short (after {} records); export again",
            counts.total()
        );
    }
    Ok(counts)
}

fn check_header(line: &str) -> anyhow::Result<()> {
    let h: serde_json::Value =
        serde_json::from_str(line).map_err(|_| anyhow!("not a Masthead export (no header)"))?;
    if h["format"] != FORMAT {
        bail!("not a Masthead export: the first line should say \"format\":\"{FORMAT}\"");
    }
    match h["version"].as_i64() {
        Some(VERSION) => Ok(()),
        Some(v) => bail!(
            "the export is of layout version {v}; this Masthead reads version {VERSION}: use the Masthead that wrote it, or a newer one"
        ),
        None => bail!("the header lacks a version"),
    }
}

/// The tables that already hold rows, with their counts.
pub async fn non_empty_tables(db: &Db) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    let mut conn = db.read().await?;
    let mut out = Vec::new();
    for t in TABLES {
        let sql = format!("select count(*) as n from {}", t.table);
        let n = crate::fetch_one!(conn.ex(), crate::db::Count, AssertSqlSafe(sql))?.n;
        if n > 0 {
            out.push((t.table, n));
        }
    }
    Ok(out)
}

/// Inserts rows of `t` in one statement.
async fn insert_rows(ex: Ex<'_>, t: &Table, rows: &[Vec<Val>]) -> Result<(), sqlx::Error> {
    let cols: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    let width = cols.len();
    let values: Vec<String> = (0..rows.len())
        .map(|i| format!("({})", crate::db::placeholders(i * width, width)))
        .collect();
    let sql = format!(
        "insert into {} ({}) values {}",
        t.table,
        cols.join(", "),
        values.join(", ")
    );
    match ex {
        Ex::Sqlite(c) => {
            bind_all!(sqlx::query(AssertSqlSafe(sql)), rows.iter().flatten())
                .execute(&mut *c)
                .await?;
        }
        Ex::Postgres(c) => {
            bind_all!(sqlx::query(AssertSqlSafe(sql)), rows.iter().flatten())
                .execute(&mut *c)
                .await?;
        }
    }
    Ok(())
}

/// Why a record could not be written, in the words of what to fix.
fn write_error(e: &sqlx::Error) -> String {
    use sqlx::error::ErrorKind;
    match e {
        sqlx::Error::Database(d) => match d.kind() {
            ErrorKind::ForeignKeyViolation => format!(
                "it refers to a record that is not in the file before it (a missing reference: {})",
                d.message()
            ),
            ErrorKind::UniqueViolation => format!(
                "its key or a value that must be unique is already used by an earlier record ({})",
                d.message()
            ),
            ErrorKind::NotNullViolation => {
                format!("a value it must have is null ({})", d.message())
            }
            ErrorKind::CheckViolation => {
                format!("a value is not one the store allows ({})", d.message())
            }
            _ => d.message().to_string(),
        },
        other => other.to_string(),
    }
}

/// Writes one batch of rows of `t` (read from lines `first_line`…) inside
/// the import's transaction, behind a savepoint: when the batch fails, its
/// rows are tried one by one to name the line at fault.
async fn insert_batch(
    tx: &mut crate::db::Tx,
    t: &Table,
    rows: &[Vec<Val>],
    first_line: usize,
) -> anyhow::Result<()> {
    crate::execute!(tx.ex(), "savepoint batch")?;
    let Err(e) = insert_rows(tx.ex(), t, rows).await else {
        crate::execute!(tx.ex(), "release savepoint batch")?;
        return Ok(());
    };
    crate::execute!(tx.ex(), "rollback to savepoint batch")?;
    for (i, row) in rows.iter().enumerate() {
        crate::execute!(tx.ex(), "savepoint one")?;
        if let Err(e) = insert_rows(tx.ex(), t, std::slice::from_ref(row)).await {
            bail!(
                "line {}: the {} record cannot be written: {}",
                first_line + i,
                t.record,
                write_error(&e)
            );
        }
        crate::execute!(tx.ex(), "release savepoint one")?;
    }
    bail!(
        "lines {first_line} to {}: the {} records cannot be written together: {}",
        first_line + rows.len() - 1,
        t.record,
        write_error(&e)
    )
}

/// Restores an export into an empty store: the same rows with the same ids,
/// in the file's (dependency) order, all in one transaction: an import
/// that fails (a record the store refuses, a file changed meanwhile, the
/// database gone, the process killed) leaves the store as empty as it
/// was. `progress` is told the records written so far.
pub async fn import(
    db: &Db,
    path: &Path,
    media_dir: &Path,
    progress: impl FnMut(u64),
) -> anyhow::Result<ImportReport> {
    let expected = check_file(path)?;
    let full = non_empty_tables(db).await?;
    if !full.is_empty() {
        let list: Vec<String> = full.iter().map(|(t, n)| format!("{t} ({n})")).collect();
        bail!(
            "the store is not empty ({}); import into a new database: a new data folder, or an empty PostgreSQL database, made by `masthead migrate`",
            list.join(", ")
        );
    }
    let mut tx = db.begin().await?;
    match write_all(&mut tx, path, media_dir, &expected, progress).await {
        Ok(report) => {
            tx.commit().await?;
            Ok(report)
        }
        Err(e) => {
            // Dropping the transaction would roll it back too; said out
            // loud, so the error is reported only once the store is empty.
            rollback(tx).await;
            Err(anyhow!(
                "{e:#}. Nothing was imported: the store is empty again; fix that line of the \
                 file (or export the publication again) and run the import again"
            ))
        }
    }
}

async fn rollback(tx: crate::db::Tx) {
    let _ = match tx {
        crate::db::Tx::Sqlite(t) => t.rollback().await,
        crate::db::Tx::Postgres(t) => t.rollback().await,
    };
}

/// The import's writing, inside its transaction.
async fn write_all(
    tx: &mut crate::db::Tx,
    path: &Path,
    media_dir: &Path,
    expected: &Counts,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<ImportReport> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut report = ImportReport::default();
    let mut batch: Vec<Vec<Val>> = Vec::new();
    let mut batch_table: Option<&'static Table> = None;
    let mut batch_first_line = 0;
    let mut done = 0u64;
    for (i, line) in BufReader::new(file).lines().enumerate().skip(1) {
        let n = i + 1;
        let line = line.with_context(|| format!("line {n} cannot be read"))?;
        let fields: Fields<'_> = serde_json::from_str(&line)
            .map_err(|e| anyhow!("line {n} is not a JSON object (the file changed?): {e}"))?;
        let kind = record_type(&fields).map_err(|e| anyhow!("line {n}: {e}"))?;
        if kind == "end" {
            break;
        }
        let t = tables::by_record(&kind).ok_or_else(|| anyhow!("line {n}: unknown {kind:?}"))?;
        let row = record_values(t, &fields).map_err(|e| anyhow!("line {n}: {e}"))?;
        if t.table == "media"
            && let Some(file) = fields.get("file")
        {
            let file: String = serde_json::from_str(file.get())
                .map_err(|e| anyhow!("line {n}: media.file: {e}"))?;
            if file.contains(['/', '\\']) || !media_dir.join(&file).is_file() {
                report.missing_files.push(file);
            }
        }
        let full_batch = batch.len() >= (BATCH.min(20_000 / t.columns.len()));
        if batch_table.is_some_and(|b| !std::ptr::eq(b, t)) || full_batch {
            let bt = batch_table.expect("a batch has a table");
            insert_batch(tx, bt, &batch, batch_first_line).await?;
            done += batch.len() as u64;
            progress(done);
            batch.clear();
        }
        if batch.is_empty() {
            batch_first_line = n;
            batch_table = Some(t);
        }
        batch.push(row);
        report.counts.add(t.record);
    }
    if let Some(bt) = batch_table
        && !batch.is_empty()
    {
        insert_batch(tx, bt, &batch, batch_first_line).await?;
        done += batch.len() as u64;
        progress(done);
    }
    if report.counts.total() != expected.total() {
        bail!("the file changed while it was imported; keep it as it is during the import");
    }
    if tx.ex().backend() == crate::db::Backend::Postgres {
        // Ids were given explicitly, so each identity's sequence still
        // stands at 1: move it past the largest id.
        for t in TABLES.iter().filter(|t| t.identity) {
            let sql = format!(
                "select setval(pg_get_serial_sequence('{0}', 'id'), (select coalesce(max(id), 0) + 1 from {0}), false)",
                t.table
            );
            crate::execute!(tx.ex(), AssertSqlSafe(sql))?;
        }
    }
    crate::db::settings::bump_content_epoch(tx.ex()).await?;
    Ok(report)
}

/// `masthead export --out FILE`: prints what was written.
pub async fn run_export(db: &Db, out: &Path, password_hashes: bool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let opts = ExportOptions {
        password_hashes,
        exported_at: Timestamp::now(),
        page_rows: PAGE_ROWS,
    };
    let counts = export_to_file(db, out, &opts).await?;
    println!(
        "Wrote {} records to {} in {:.1} s: {counts}.{}",
        counts.total(),
        out.display(),
        started.elapsed().as_secs_f64(),
        if password_hashes {
            " Members' password hashes are in it: keep the file as safe as the database."
        } else {
            " Without password hashes: members sign in by e-mailed link, or set a new password."
        }
    );
    Ok(())
}

/// `masthead import masthead FILE`: prints what was restored.
pub async fn run_import(db: &Db, file: &Path, media_dir: &Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut last = std::time::Instant::now();
    let report = import(db, file, media_dir, |done| {
        if last.elapsed().as_secs() >= 2 {
            eprintln!("  {done} records written (kept only when all are)");
            last = std::time::Instant::now();
        }
    })
    .await?;
    println!(
        "Imported {} records from {} in {:.1} s: {}.",
        report.counts.total(),
        file.display(),
        started.elapsed().as_secs_f64(),
        report.counts
    );
    if !report.missing_files.is_empty() {
        println!(
            "{} photos are not in the media folder {} (for example {}): copy the old data folder's media/ there.",
            report.missing_files.len(),
            media_dir.display(),
            report.missing_files[0]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_type_is_named_once_and_keys_are_columns() {
        let mut seen = std::collections::HashSet::new();
        for t in TABLES {
            assert!(seen.insert(t.record), "{} twice", t.record);
            for k in t.key {
                assert!(
                    t.columns.iter().any(|(c, _)| c == k),
                    "{}: key {k}",
                    t.table
                );
            }
            assert_eq!(
                t.identity,
                t.columns.first().is_some_and(|(c, _)| *c == "id"),
                "{}",
                t.table
            );
        }
    }

    #[test]
    fn records_read_back_as_written() {
        let t = tables::by_record("comment").unwrap();
        let row: Vec<Val> = t
            .columns
            .iter()
            .map(|(name, k)| match k {
                Kind::Int => Val::Int(Some(7)),
                Kind::OptInt => Val::Int(None),
                Kind::Text => Val::Text(Some(format!("{name} \"quoted\"\nline é"))),
                Kind::OptText => Val::Text(Some("x".into())),
                Kind::Bool => Val::Bool(true),
                Kind::Json => Val::Text(Some(r#"{"b":[1,2],"a":"z"}"#.into())),
            })
            .collect();
        let opts = ExportOptions {
            password_hashes: false,
            exported_at: Timestamp::UNIX_EPOCH,
            page_rows: PAGE_ROWS,
        };
        let mut line = String::new();
        write_record(&mut line, t, &row, &opts).unwrap();
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        assert!(line.contains(r#""reasons":{"b":[1,2],"a":"z"}"#), "{line}");
        let fields: Fields<'_> = serde_json::from_str(&line).unwrap();
        assert_eq!(record_values(t, &fields).unwrap(), row);
    }

    #[test]
    fn bad_records_are_refused_with_the_reason() {
        let t = tables::by_record("section").unwrap();
        let cases = [
            (
                r#"{"type":"section","slug":"a","name":"A","description":"","position":0,"is_demo":false}"#,
                "lacks id",
            ),
            (
                r#"{"type":"section","id":"1","slug":"a","name":"A","description":"","position":0,"is_demo":false}"#,
                "section.id",
            ),
            (
                r#"{"type":"section","id":1,"slug":"a","name":"A","description":"","position":0,"is_demo":false,"colour":"red"}"#,
                "colour",
            ),
        ];
        for (line, want) in cases {
            let fields: Fields<'_> = serde_json::from_str(line).unwrap();
            let err = record_values(t, &fields).unwrap_err();
            assert!(err.contains(want), "{line}: {err}");
        }
    }

    #[test]
    fn headers_of_other_files_and_versions_are_refused() {
        assert!(check_header(r#"{"format":"masthead-export","version":1}"#).is_ok());
        let newer = check_header(r#"{"format":"masthead-export","version":2}"#).unwrap_err();
        assert!(newer.to_string().contains("version 2"));
        assert!(check_header(r#"{"type":"section"}"#).is_err());
        assert!(check_header("<?xml").is_err());
    }
}
