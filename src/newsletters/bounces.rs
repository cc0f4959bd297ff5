//! Bounces, complaints and unsubscribes by mail: what comes back from bulk
//! mail, and the suppression list that stops mail to addresses that do not
//! want it or do not work (`docs/newsletters.md`, "Bounces and complaints").
//!
//! Mail comes in through `masthead mail ingest` ([`ingest`], one message on
//! standard input, read by [`read`]), provider events through the signed
//! webhook (`http/mail_events.rs`), and admins' changes through
//! `masthead mail suppress|unsuppress`. Every bounce, complaint and
//! unsubscribe by mail is a `mail_events` row; hard bounces and complaints
//! suppress the address at once, soft bounces past [`SOFT_BOUNCE_LIMIT`].
//! The sender asks [`is_suppressed`] before each bulk mail.

pub mod cli;
pub mod read;

use serde::Serialize;

use crate::db::{Db, Ex, stories::reborrow};
use crate::keys::Keys;
use crate::{execute, fetch_all, fetch_optional};
use read::{Incoming, Severity, Who};

/// Soft bounces that suppress an address: this many ...
pub const SOFT_BOUNCE_LIMIT: usize = 5;
/// ... spread over at least this long (a full mailbox on one bad day is not
/// a dead address) ...
pub const SOFT_BOUNCE_MIN_SPAN_DAYS: i64 = 3;
/// ... all within this long. An address that has not soft-bounced for this
/// long counts as delivering again: bounces older than this are forgotten.
pub const SOFT_BOUNCE_WINDOW_DAYS: i64 = 30;

const DAY: i64 = 86_400_000_000;

/// Why an address is suppressed (`mail_suppressions.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    HardBounce,
    SoftBounces,
    Complaint,
    Manual,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::HardBounce => "hard_bounce",
            Reason::SoftBounces => "soft_bounces",
            Reason::Complaint => "complaint",
            Reason::Manual => "manual",
        }
    }
}

/// What came back (`mail_events.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    HardBounce,
    SoftBounce,
    Complaint,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::HardBounce => "hard_bounce",
            EventKind::SoftBounce => "soft_bounce",
            EventKind::Complaint => "complaint",
        }
    }
}

/// Whether bulk mail to this (lower-case) address must not be sent.
pub async fn is_suppressed(ex: Ex<'_>, email_normalized: &str) -> Result<bool, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Listed {
        #[allow(dead_code)]
        email_normalized: String,
    }
    Ok(fetch_optional!(
        ex,
        Listed,
        "select email_normalized from mail_suppressions where email_normalized = $1",
        email_normalized
    )?
    .is_some())
}

/// Adds an address to the suppression list; `false` when it was there
/// already (the first reason stays).
pub async fn suppress(
    ex: Ex<'_>,
    email_normalized: &str,
    reason: Reason,
    detail: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "insert into mail_suppressions (email_normalized, reason, detail, created_at) \
         values ($1, $2, $3, $4) on conflict (email_normalized) do nothing",
        email_normalized,
        reason.as_str(),
        detail,
        now
    )?;
    Ok(n > 0)
}

/// Takes an address off the list, and forgets its soft bounces so the next
/// one does not suppress it again at once; `false` when it was not listed.
pub async fn unsuppress(mut ex: Ex<'_>, email_normalized: &str) -> Result<bool, sqlx::Error> {
    let n = execute!(
        reborrow(&mut ex),
        "delete from mail_suppressions where email_normalized = $1",
        email_normalized
    )?;
    execute!(
        ex,
        "delete from mail_events where email_normalized = $1 and kind = 'soft_bounce'",
        email_normalized
    )?;
    Ok(n > 0)
}

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Suppression {
    pub email_normalized: String,
    pub reason: String,
    pub detail: String,
    pub created_at: i64,
}

/// Suppressed addresses in address order, `limit` after `after`.
pub async fn suppressions(
    ex: Ex<'_>,
    after: &str,
    limit: i64,
) -> Result<Vec<Suppression>, sqlx::Error> {
    fetch_all!(
        ex,
        Suppression,
        "select email_normalized, reason, detail, created_at from mail_suppressions \
         where email_normalized > $1 order by email_normalized limit $2",
        after,
        limit
    )
}

/// Whether these soft bounces (instants, any order) suppress an address at
/// `now`: [`SOFT_BOUNCE_LIMIT`] or more within the window, the first and the
/// last at least [`SOFT_BOUNCE_MIN_SPAN_DAYS`] apart.
pub fn soft_threshold_reached(times: &[i64], now: i64) -> bool {
    let recent: Vec<i64> = times
        .iter()
        .copied()
        .filter(|t| now - t <= SOFT_BOUNCE_WINDOW_DAYS * DAY)
        .collect();
    let (Some(first), Some(last)) = (recent.iter().min(), recent.iter().max()) else {
        return false;
    };
    recent.len() >= SOFT_BOUNCE_LIMIT && last - first >= SOFT_BOUNCE_MIN_SPAN_DAYS * DAY
}

/// What recording an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded, and the address is now suppressed (it was not before).
    Suppressed(Reason),
    /// Recorded; the address was suppressed already or stays mailable.
    Noted,
}

/// Records a bounce or complaint for an address and suppresses it when the
/// rules say so; run it in a transaction.
pub async fn record(
    mut ex: Ex<'_>,
    email_normalized: &str,
    kind: EventKind,
    detail: &str,
    source: &str,
    now: i64,
) -> Result<Recorded, sqlx::Error> {
    execute!(
        reborrow(&mut ex),
        "insert into mail_events (email_normalized, kind, detail, source, created_at) \
         values ($1, $2, $3, $4, $5)",
        email_normalized,
        kind.as_str(),
        detail,
        source,
        now
    )?;
    let reason = match kind {
        EventKind::HardBounce => Some(Reason::HardBounce),
        EventKind::Complaint => Some(Reason::Complaint),
        EventKind::SoftBounce => {
            #[derive(sqlx::FromRow)]
            struct At {
                created_at: i64,
            }
            let times: Vec<i64> = fetch_all!(
                reborrow(&mut ex),
                At,
                "select created_at from mail_events where email_normalized = $1 \
                 and kind = 'soft_bounce' and created_at >= $2",
                email_normalized,
                now - SOFT_BOUNCE_WINDOW_DAYS * DAY
            )?
            .into_iter()
            .map(|a| a.created_at)
            .collect();
            soft_threshold_reached(&times, now).then_some(Reason::SoftBounces)
        }
    };
    match reason {
        Some(r) if suppress(ex, email_normalized, r, detail, now).await? => {
            Ok(Recorded::Suppressed(r))
        }
        _ => Ok(Recorded::Noted),
    }
}

/// Ends a subscriber's subscription to one newsletter (or to all, given
/// none) and records it; answers the subscriptions ended. Run it in a
/// transaction.
pub async fn unsubscribe(
    mut ex: Ex<'_>,
    subscriber_id: i64,
    newsletter_id: Option<i64>,
    source: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let n = match newsletter_id {
        Some(newsletter) => execute!(
            reborrow(&mut ex),
            "update newsletter_subscriptions set state = 'unsubscribed', unsubscribed_at = $3, \
             updated_at = $3 where subscriber_id = $1 and newsletter_id = $2 \
             and state <> 'unsubscribed'",
            subscriber_id,
            newsletter,
            now
        )?,
        None => execute!(
            reborrow(&mut ex),
            "update newsletter_subscriptions set state = 'unsubscribed', unsubscribed_at = $2, \
             updated_at = $2 where subscriber_id = $1 and state <> 'unsubscribed'",
            subscriber_id,
            now
        )?,
    };
    if let Some(email) = subscriber_email(reborrow(&mut ex), subscriber_id).await? {
        let detail = match newsletter_id {
            Some(id) => format!("newsletter {id}"),
            None => "every newsletter".to_string(),
        };
        execute!(
            ex,
            "insert into mail_events (email_normalized, kind, detail, source, created_at) \
             values ($1, 'unsubscribe', $2, $3, $4)",
            email,
            detail,
            source,
            now
        )?;
    }
    Ok(n)
}

/// The address of a subscriber (lower-case), if the subscriber still exists.
pub async fn subscriber_email(ex: Ex<'_>, id: i64) -> Result<Option<String>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct E {
        email_normalized: String,
    }
    Ok(fetch_optional!(
        ex,
        E,
        "select email_normalized from subscribers where id = $1",
        id
    )?
    .map(|e| e.email_normalized))
}

/// Whether a provider's event (its id, for this address and kind) was
/// recorded already. The id is kept as the first line of the event's detail
/// (`mail_events` has no column for it); the address and kind narrow the
/// search to a few rows of the `mail_events_email` index.
pub async fn webhook_event_seen(
    ex: Ex<'_>,
    event_id: &str,
    email_normalized: &str,
    kind: EventKind,
) -> Result<bool, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct One {
        #[allow(dead_code)]
        id: i64,
    }
    let prefix = format!("{event_id}\n");
    Ok(fetch_optional!(
        ex,
        One,
        "select id from mail_events where email_normalized = $2 and kind = $3 \
         and source = 'webhook' and substr(detail, 1, length($1)) = $1 limit 1",
        prefix,
        email_normalized,
        kind.as_str()
    )?
    .is_some())
}

/// Why a message could not be handled now: the mail server should keep it
/// and try again (exit status 75, EX_TEMPFAIL).
#[derive(Debug, thiserror::Error)]
#[error("the database did not answer: {0}")]
pub struct TryLater(#[from] pub sqlx::Error);

/// Reads one message and applies it; answers the line to log.
pub async fn ingest(
    db: &Db,
    keys: &Keys,
    raw: &[u8],
    envelope: &[String],
    now: i64,
) -> Result<String, TryLater> {
    match read::read(raw, envelope, keys, now) {
        Incoming::Ignored(why) => Ok(format!("not handled: {why}")),
        Incoming::Unsubscribe {
            subscriber_id,
            newsletter_id,
        } => {
            let mut tx = db.begin().await?;
            let n = unsubscribe(tx.ex(), subscriber_id, newsletter_id, "mail", now).await?;
            tx.commit().await?;
            Ok(format!(
                "unsubscribe: subscriber {subscriber_id}, {}; {n} subscription{} ended",
                newsletter_id.map_or("every newsletter".into(), |n| format!("newsletter {n}")),
                if n == 1 { "" } else { "s" }
            ))
        }
        Incoming::Complaint { who, detail } => {
            let mut tx = db.begin().await?;
            let line = match address_of(&mut tx, &who).await? {
                Some(email) => {
                    let r =
                        record(tx.ex(), &email, EventKind::Complaint, &detail, "mail", now).await?;
                    format!("complaint from {email} ({detail}): {}", said(r))
                }
                None => format!("complaint about subscriber {who:?}, who no longer exists"),
            };
            tx.commit().await?;
            Ok(line)
        }
        Incoming::Bounces(failures) => {
            let mut tx = db.begin().await?;
            let mut lines = Vec::new();
            for f in failures {
                let kind = match f.severity {
                    Severity::Hard => EventKind::HardBounce,
                    Severity::Soft => EventKind::SoftBounce,
                };
                let address = match address_of(&mut tx, &f.who).await? {
                    Some(a) => Some(a),
                    None => f.reported.clone(),
                };
                match address {
                    Some(email) => {
                        let r = record(tx.ex(), &email, kind, &f.detail, "mail", now).await?;
                        lines.push(format!(
                            "{} from {email} ({}): {}",
                            kind.as_str().replace('_', " "),
                            f.detail,
                            said(r)
                        ));
                    }
                    None => lines.push(format!("bounce for {:?}, who no longer exists", f.who)),
                }
            }
            tx.commit().await?;
            Ok(lines.join("; "))
        }
    }
}

fn said(r: Recorded) -> String {
    match r {
        Recorded::Suppressed(reason) => format!("suppressed ({})", reason.as_str()),
        Recorded::Noted => "recorded".into(),
    }
}

async fn address_of(tx: &mut crate::db::Tx, who: &Who) -> Result<Option<String>, sqlx::Error> {
    match who {
        Who::Address(a) => Ok(Some(a.clone())),
        Who::Subscriber(id) => subscriber_email(tx.ex(), *id).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_bounces_suppress_when_enough_over_enough_days() {
        let now = 1_000 * DAY;
        let days = |ds: &[f64]| -> Vec<i64> {
            ds.iter().map(|d| now - (*d * DAY as f64) as i64).collect()
        };
        let cases: &[(&[f64], bool)] = &[
            (&[], false),
            (&[0.0, 1.0, 2.0, 3.0], false),
            (&[0.0, 0.5, 1.0, 2.0, 3.0], true),
            (&[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0], false),
            (&[0.0, 1.0, 2.0, 2.5, 2.9], false),
            (&[0.0, 1.0, 2.0, 25.0, 31.0], false),
            (&[0.0, 1.0, 2.0, 25.0, 29.0], true),
        ];
        for (ds, want) in cases {
            assert_eq!(soft_threshold_reached(&days(ds), now), *want, "{ds:?}");
        }
    }
}
