//! The `mail_outbox` table: enqueueing a mail in the caller's transaction,
//! claiming due rows under a lease, and marking the outcome of a delivery.
//!
//! A row is `queued` until it is `sent` or has `failed` for good. A worker
//! claims a row by setting `lease_until`; while the lease runs no other
//! worker takes it, and a worker that dies leaves a lease that expires, after
//! which the row is claimed again. Every mark after a delivery names the
//! lease it was claimed with, so a worker whose lease was taken over cannot
//! overwrite the newer claim.

use std::time::Duration;

use super::{InvalidMail, OutgoingMail};
use crate::db::{Backend, Db, Ex};
use crate::{execute, fetch_all, fetch_optional};

/// How many delivery attempts a mail gets before it is marked `failed`.
pub const MAX_ATTEMPTS: i64 = 8;

/// The wait before the next attempt after a temporary failure, by the number
/// of attempts made so far (the 8th failure is final).
const BACKOFF_SECS: [i64; 7] = [
    60,        // 1 min
    5 * 60,    // 5 min
    30 * 60,   // 30 min
    2 * 3600,  // 2 h
    6 * 3600,  // 6 h
    12 * 3600, // 12 h
    24 * 3600, // 24 h
];

/// How long to wait after `attempts` temporary failures before trying
/// again; `None` once the mail has had all its attempts.
pub fn retry_delay(attempts: i64) -> Option<Duration> {
    if !(1..MAX_ATTEMPTS).contains(&attempts) {
        return None;
    }
    BACKOFF_SECS
        .get(usize::try_from(attempts - 1).ok()?)
        .map(|s| Duration::from_secs(*s as u64))
}

/// A row of the outbox as stored.
#[derive(Clone, Debug, sqlx::FromRow, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub lane: String,
    pub to_address: String,
    pub from_address: String,
    pub reply_to: Option<String>,
    pub subject: String,
    pub text_body: String,
    pub html_body: Option<String>,
    /// A JSON object of extra header names to values.
    pub headers: String,
    pub message_id: String,
    /// `queued`, `sent` or `failed`.
    pub state: String,
    /// Delivery attempts started, counted when a worker claims the row.
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

/// The columns of [`OutboxRow`], as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, lane, to_address, from_address, reply_to, subject, text_body, html_body, headers, \
         message_id, state, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at"
    };
}

/// Makes a Message-ID that is unique and stays the same on every attempt:
/// `<32 random hex digits@domain>`.
pub fn new_message_id(domain: &str) -> String {
    let domain = domain.trim();
    let ok = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '@' | '"' | '\\'));
    let domain = if ok { domain } else { "localhost" };
    format!("<{}@{domain}>", hex::encode(rand::random::<[u8; 16]>()))
}

/// Writes `mail` into the outbox, due at once. Called with the transaction
/// that causes the mail, so the mail exists exactly when that change does.
/// A mail that could never be delivered ([`InvalidMail`]: a bad address, a
/// line break in a header) is refused as an encode error. Answers the row id.
///
/// After the transaction commits, [`super::worker::wake`] lets a worker in
/// this process pick the mail up without waiting for its next poll.
pub async fn enqueue(
    ex: Ex<'_>,
    mail: &OutgoingMail,
    from: &str,
    now_micros: i64,
    message_id_domain: &str,
) -> Result<i64, sqlx::Error> {
    mail.check(from)
        .map_err(|e: InvalidMail| sqlx::Error::Encode(Box::new(e)))?;
    let headers =
        serde_json::to_string(&mail.headers).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let message_id = new_message_id(message_id_domain);
    #[derive(sqlx::FromRow)]
    struct Id {
        id: i64,
    }
    let row = fetch_optional!(
        ex,
        Id,
        "insert into mail_outbox (lane, to_address, from_address, reply_to, subject, text_body, html_body, \
         headers, message_id, state, attempts, next_attempt_at, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $10) returning id",
        mail.lane.as_str(),
        &mail.to,
        from,
        mail.reply_to.as_deref(),
        &mail.subject,
        &mail.text,
        mail.html.as_deref(),
        headers,
        message_id,
        now_micros,
    )?;
    row.map(|r| r.id).ok_or(sqlx::Error::RowNotFound)
}

/// One outbox row by id, for tests and the admin's view of the queue.
pub async fn find(ex: Ex<'_>, id: i64) -> Result<Option<OutboxRow>, sqlx::Error> {
    fetch_optional!(
        ex,
        OutboxRow,
        concat!("select ", columns!(), " from mail_outbox where id = $1"),
        id
    )
}

/// Counts the rows in a state (`queued`, `sent`, `failed`).
pub async fn count(ex: Ex<'_>, state: &str) -> Result<i64, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let n = fetch_optional!(
        ex,
        N,
        "select count(*) as n from mail_outbox where state = $1",
        state
    )?;
    Ok(n.map_or(0, |n| n.n))
}

/// The claim of one lane on PostgreSQL: `SKIP LOCKED` lets concurrent
/// workers take disjoint rows without waiting for each other.
const CLAIM_POSTGRES: &str = concat!(
    "update mail_outbox set lease_until = $1, attempts = attempts + 1 where id in (",
    "select id from mail_outbox where state = 'queued' and lane = $2 and next_attempt_at <= $3 ",
    "and (lease_until is null or lease_until <= $3) order by next_attempt_at, id limit $4 ",
    "for update skip locked) returning ",
    columns!()
);

/// The same claim on SQLite, which has no row locks: it runs inside a
/// `BEGIN IMMEDIATE` transaction, which holds the database's write lock.
const CLAIM_SQLITE: &str = concat!(
    "update mail_outbox set lease_until = $1, attempts = attempts + 1 where id in (",
    "select id from mail_outbox where state = 'queued' and lane = $2 and next_attempt_at <= $3 ",
    "and (lease_until is null or lease_until <= $3) order by next_attempt_at, id limit $4) ",
    "returning ",
    columns!()
);

/// Claims up to `limit` due rows (queued, due by `now`, not leased by a live
/// worker), transactional mail first, each oldest first, leasing them until
/// `now + lease`. The claimed rows come back in the order to deliver them;
/// each carries its `lease_until`, which the marks below name.
///
/// The one query in the outbox that differs between the backends.
pub async fn claim(
    db: &Db,
    now: i64,
    limit: i64,
    lease: Duration,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    if limit <= 0 {
        return Ok(Vec::new());
    }
    let sql = match db.backend() {
        Backend::Postgres => CLAIM_POSTGRES,
        Backend::Sqlite => CLAIM_SQLITE,
    };
    let until = now.saturating_add(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX));
    let mut tx = db.begin().await?;
    let mut rows = Vec::new();
    for lane in [super::Lane::Transactional, super::Lane::Bulk] {
        let left = limit - rows.len() as i64;
        if left <= 0 {
            break;
        }
        let mut claimed = fetch_all!(tx.ex(), OutboxRow, sql, until, lane.as_str(), now, left)?;
        // `returning` promises no order.
        claimed.sort_by_key(|r| (r.next_attempt_at, r.id));
        rows.extend(claimed);
    }
    tx.commit().await?;
    Ok(rows)
}

/// Marks a delivered mail `sent`.
pub async fn mark_sent(ex: Ex<'_>, row: &OutboxRow, now: i64) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update mail_outbox set state = 'sent', sent_at = $2, lease_until = null, last_error = '' \
         where id = $1 and state = 'queued' and lease_until = $3",
        row.id,
        now,
        row.lease_until
    )?;
    Ok(n == 1)
}

/// Schedules another attempt at `next_at` after a temporary failure.
pub async fn mark_retry(
    ex: Ex<'_>,
    row: &OutboxRow,
    next_at: i64,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update mail_outbox set next_attempt_at = $2, lease_until = null, last_error = $3 \
         where id = $1 and state = 'queued' and lease_until = $4",
        row.id,
        next_at,
        error,
        row.lease_until
    )?;
    Ok(n == 1)
}

/// Marks a mail `failed` for good (a permanent refusal, or the last attempt).
pub async fn mark_failed(ex: Ex<'_>, row: &OutboxRow, error: &str) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update mail_outbox set state = 'failed', lease_until = null, last_error = $2 \
         where id = $1 and state = 'queued' and lease_until = $3",
        row.id,
        error,
        row.lease_until
    )?;
    Ok(n == 1)
}

/// Gives a claimed row back untried (a worker stopping before its lease
/// runs out), without counting the attempt.
pub async fn release(ex: Ex<'_>, row: &OutboxRow) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update mail_outbox set lease_until = null, attempts = attempts - 1 \
         where id = $1 and state = 'queued' and lease_until = $2",
        row.id,
        row.lease_until
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_a_minute_to_a_day_and_stop_after_eight_attempts() {
        let mins = |a| retry_delay(a).map(|d| d.as_secs() / 60);
        assert_eq!(mins(1), Some(1));
        assert_eq!(mins(2), Some(5));
        assert_eq!(mins(3), Some(30));
        assert_eq!(mins(4), Some(120));
        assert_eq!(mins(7), Some(24 * 60));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
        assert_eq!(retry_delay(0), None);
    }

    #[test]
    fn message_ids_are_unique_and_bracketed_with_the_domain() {
        let a = new_message_id("news.example");
        let b = new_message_id("news.example");
        assert_ne!(a, b);
        assert!(a.starts_with('<') && a.ends_with("@news.example>"), "{a}");
        assert_eq!(a.len(), 1 + 32 + 1 + "news.example".len() + 1);
        assert!(new_message_id("bad domain>").ends_with("@localhost>"));
    }
}
