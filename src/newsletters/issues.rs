//! Issues of a newsletter and their recipients: composing, the one-way
//! states of an issue (draft, scheduled, sending, sent, cancelled), the
//! expansion of its recipients in batches, and the claims and marks the
//! sender makes on them.
//!
//! Recipients are copied from the active subscriptions in subscriber-id
//! order, a batch per transaction, `on conflict do nothing` on the key
//! (issue, subscriber): a crash between batches, or two workers expanding at
//! once, copies no one twice and misses no one. An issue is never expanded
//! in one transaction over the whole list.

use std::time::Duration;

use crate::db::stories::reborrow;
use crate::db::{Backend, Db, Ex};
use crate::{execute, fetch_all, fetch_optional};

pub use super::subscriptions::Newsletter;

/// An issue as stored.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Issue {
    pub id: i64,
    pub newsletter_id: i64,
    pub subject: String,
    pub intro: String,
    /// A JSON array of story ids, in order.
    pub story_ids: String,
    pub state: String,
    pub scheduled_at: Option<i64>,
    pub expanded_through: i64,
    pub expanded_at: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

impl Issue {
    /// The stories, in order (an unreadable list is empty).
    pub fn stories(&self) -> Vec<i64> {
        serde_json::from_str(&self.story_ids).unwrap_or_default()
    }

    /// Whether staff may still change it.
    pub fn is_editable(&self) -> bool {
        matches!(self.state.as_str(), "draft" | "scheduled")
    }
}

const ISSUE_COLUMNS: &str = "id, newsletter_id, subject, intro, story_ids, state, scheduled_at, \
     expanded_through, expanded_at, created_by, created_at, updated_at, started_at, finished_at";

/// What staff write: the parts of an issue they choose.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub subject: String,
    pub intro: String,
    pub stories: Vec<i64>,
}

/// Why a draft cannot be saved as it is, in words for the editor.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    #[error("The subject is empty: write one.")]
    NoSubject,
    #[error("The subject is longer than 200 characters.")]
    LongSubject,
    #[error("The subject has a line break in it: keep it on one line.")]
    SubjectLineBreak,
    #[error("Add at least one story, or an introduction.")]
    Empty,
    #[error("An issue takes at most 30 stories.")]
    TooManyStories,
}

impl Draft {
    /// Checks what the editor wrote; the subject is trimmed.
    pub fn check(&mut self) -> Result<(), DraftError> {
        self.subject = self.subject.trim().to_string();
        self.intro = self.intro.trim().to_string();
        if self.subject.is_empty() {
            return Err(DraftError::NoSubject);
        }
        if self.subject.chars().any(char::is_control) {
            return Err(DraftError::SubjectLineBreak);
        }
        if self.subject.chars().count() > 200 {
            return Err(DraftError::LongSubject);
        }
        let mut seen = std::collections::HashSet::new();
        self.stories.retain(|id| seen.insert(*id));
        if self.stories.len() > 30 {
            return Err(DraftError::TooManyStories);
        }
        if self.stories.is_empty() && self.intro.is_empty() {
            return Err(DraftError::Empty);
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct Id {
    id: i64,
}

/// Saves a new draft issue; answers its id. The draft must have passed
/// [`Draft::check`].
pub async fn create(
    ex: Ex<'_>,
    newsletter_id: i64,
    draft: &Draft,
    created_by: Option<i64>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let row = fetch_optional!(
        ex,
        Id,
        "insert into newsletter_issues (newsletter_id, subject, intro, story_ids, state, created_by, \
         created_at, updated_at) values ($1, $2, $3, $4, 'draft', $5, $6, $6) returning id",
        newsletter_id,
        &draft.subject,
        &draft.intro,
        serde_json::to_string(&draft.stories).unwrap_or_else(|_| "[]".into()),
        created_by,
        now
    )?;
    row.map(|r| r.id).ok_or(sqlx::Error::RowNotFound)
}

/// Changes a draft or scheduled issue; answers false when it has started.
pub async fn update(ex: Ex<'_>, id: i64, draft: &Draft, now: i64) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update newsletter_issues set subject = $2, intro = $3, story_ids = $4, updated_at = $5 \
         where id = $1 and state in ('draft', 'scheduled')",
        id,
        &draft.subject,
        &draft.intro,
        serde_json::to_string(&draft.stories).unwrap_or_else(|_| "[]".into()),
        now
    )?;
    Ok(n == 1)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Option<Issue>, sqlx::Error> {
    fetch_optional!(
        ex,
        Issue,
        sqlx::AssertSqlSafe(format!(
            "select {ISSUE_COLUMNS} from newsletter_issues where id = $1"
        )),
        id
    )
}

/// The issues of a newsletter, newest first.
pub async fn of_newsletter(
    ex: Ex<'_>,
    newsletter_id: i64,
    limit: i64,
) -> Result<Vec<Issue>, sqlx::Error> {
    fetch_all!(
        ex,
        Issue,
        sqlx::AssertSqlSafe(format!(
            "select {ISSUE_COLUMNS} from newsletter_issues where newsletter_id = $1 \
             order by id desc limit $2"
        )),
        newsletter_id,
        limit
    )
}

/// Starts sending an issue now: from draft or scheduled to sending. Only the
/// first of several clicks (or commands) starts it; answers whether this one
/// did.
pub async fn start(ex: Ex<'_>, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update newsletter_issues set state = 'sending', started_at = $2, updated_at = $2, \
         scheduled_at = null where id = $1 and state in ('draft', 'scheduled')",
        id,
        now
    )?;
    Ok(n == 1)
}

/// Schedules a draft (or moves a scheduled issue) to go at `at`.
pub async fn schedule(ex: Ex<'_>, id: i64, at: i64, now: i64) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update newsletter_issues set state = 'scheduled', scheduled_at = $2, updated_at = $3 \
         where id = $1 and state in ('draft', 'scheduled')",
        id,
        at,
        now
    )?;
    Ok(n == 1)
}

/// Takes a scheduled issue back to draft.
pub async fn unschedule(ex: Ex<'_>, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update newsletter_issues set state = 'draft', scheduled_at = null, updated_at = $2 \
         where id = $1 and state = 'scheduled'",
        id,
        now
    )?;
    Ok(n == 1)
}

/// Stops an issue: a draft or scheduled issue is never sent; a sending one
/// stops after the messages in flight, its queued recipients skipped.
pub async fn cancel(mut ex: Ex<'_>, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let n = execute!(
        reborrow(&mut ex),
        "update newsletter_issues set state = 'cancelled', finished_at = $2, updated_at = $2 \
         where id = $1 and state in ('draft', 'scheduled', 'sending')",
        id,
        now
    )?;
    if n == 1 {
        execute!(
            ex,
            "update issue_recipients set state = 'skipped', last_error = 'the issue was cancelled', \
             lease_until = null where issue_id = $1 and state = 'queued'",
            id
        )?;
    }
    Ok(n == 1)
}

/// Whether a scheduled issue's time has come (a read, so an idle worker
/// does not take the write lock to find out).
pub async fn any_due(ex: Ex<'_>, now: i64) -> Result<bool, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let n = fetch_optional!(
        ex,
        N,
        "select count(*) as n from newsletter_issues where state = 'scheduled' and scheduled_at <= $1",
        now
    )?;
    Ok(n.is_some_and(|n| n.n > 0))
}

/// Starts the scheduled issues whose time has come; answers how many.
pub async fn start_due(ex: Ex<'_>, now: i64) -> Result<u64, sqlx::Error> {
    execute!(
        ex,
        "update newsletter_issues set state = 'sending', started_at = $1, updated_at = $1, \
         scheduled_at = null where state = 'scheduled' and scheduled_at <= $1",
        now
    )
}

/// The issues being sent whose recipients are not all copied yet.
pub async fn expanding(ex: Ex<'_>) -> Result<Vec<Issue>, sqlx::Error> {
    fetch_all!(
        ex,
        Issue,
        sqlx::AssertSqlSafe(format!(
            "select {ISSUE_COLUMNS} from newsletter_issues \
             where state = 'sending' and expanded_at is null order by id"
        ))
    )
}

/// The active subscribers of an offers newsletter must also have their
/// consent to offers in force: the latest consent row for the purpose says
/// granted.
const OFFERS_CONSENT: &str = "and (n.kind <> 'offers' or coalesce((select c.granted from consents c \
     where c.subscriber_id = s.subscriber_id and c.purpose = 'offers' order by c.id desc limit 1), false))";

/// Copies the next `batch` recipients of a sending issue, in one short
/// transaction; answers how many rows were added and whether the list is
/// done. Safe to run twice at once and after a crash: rows are keyed on
/// (issue, subscriber) and the cursor only moves forward.
pub async fn expand_batch(
    db: &Db,
    issue_id: i64,
    batch: i64,
    now: i64,
) -> Result<(u64, bool), sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(issue) = find(tx.ex(), issue_id).await? else {
        return Ok((0, true));
    };
    if issue.state != "sending" || issue.expanded_at.is_some() {
        return Ok((0, true));
    }
    #[derive(sqlx::FromRow)]
    struct Last {
        last: Option<i64>,
        n: i64,
    }
    // The slice of subscribers this batch covers: the next `batch` active
    // subscriptions after the cursor.
    let slice = fetch_optional!(
        tx.ex(),
        Last,
        sqlx::AssertSqlSafe(format!(
            "select max(subscriber_id) as last, count(*) as n from (select s.subscriber_id \
             from newsletter_subscriptions s join newsletters n on n.id = s.newsletter_id \
             where s.newsletter_id = $1 and s.state = 'active' and s.subscriber_id > $2 \
             {OFFERS_CONSENT} order by s.subscriber_id limit $3) t"
        )),
        issue.newsletter_id,
        issue.expanded_through,
        batch
    )?
    .unwrap_or(Last { last: None, n: 0 });
    let mut added = 0;
    if let Some(last) = slice.last {
        added = execute!(
            tx.ex(),
            sqlx::AssertSqlSafe(format!(
                "insert into issue_recipients (issue_id, subscriber_id, email, member_id, state, \
                 attempts, next_attempt_at) \
                 select $1, s.subscriber_id, sub.email, sub.member_id, 'queued', 0, $4 \
                 from newsletter_subscriptions s join subscribers sub on sub.id = s.subscriber_id \
                 join newsletters n on n.id = s.newsletter_id \
                 where s.newsletter_id = $2 and s.state = 'active' and s.subscriber_id > $3 \
                 and s.subscriber_id <= $5 {OFFERS_CONSENT} \
                 on conflict (issue_id, subscriber_id) do nothing"
            )),
            issue.id,
            issue.newsletter_id,
            issue.expanded_through,
            now,
            last
        )?;
        execute!(
            tx.ex(),
            "update newsletter_issues set expanded_through = $2 where id = $1 and expanded_through < $2",
            issue.id,
            last
        )?;
    }
    let done = slice.n < batch;
    if done {
        execute!(
            tx.ex(),
            "update newsletter_issues set expanded_at = $2 where id = $1 and expanded_at is null",
            issue.id,
            now
        )?;
    }
    tx.commit().await?;
    Ok((added, done))
}

/// A recipient as the sender claims it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Recipient {
    pub issue_id: i64,
    pub subscriber_id: i64,
    pub email: String,
    pub member_id: Option<i64>,
    pub attempts: i64,
    pub lease_until: Option<i64>,
}

const CLAIM_TAIL: &str = "from issue_recipients where state = 'queued' and next_attempt_at <= $2 \
     and (lease_until is null or lease_until <= $2) \
     and issue_id in (select id from newsletter_issues where state = 'sending') \
     order by next_attempt_at, issue_id, subscriber_id limit $3";

/// Claims up to `limit` due recipients of the issues being sent, leasing
/// them until `now + lease`. PostgreSQL skips rows other workers hold
/// (`FOR UPDATE SKIP LOCKED`); SQLite runs the claim under its write lock.
pub async fn claim(
    db: &Db,
    now: i64,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Recipient>, sqlx::Error> {
    let until = now.saturating_add(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX));
    let lock = match db.backend() {
        Backend::Postgres => " for update skip locked",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "update issue_recipients set lease_until = $1, attempts = attempts + 1 \
         where (issue_id, subscriber_id) in (select issue_id, subscriber_id {CLAIM_TAIL}{lock}) \
         returning issue_id, subscriber_id, email, member_id, attempts, lease_until"
    );
    let mut tx = db.begin().await?;
    let mut rows = fetch_all!(
        tx.ex(),
        Recipient,
        sqlx::AssertSqlSafe(sql),
        until,
        now,
        limit
    )?;
    tx.commit().await?;
    rows.sort_by_key(|r| (r.issue_id, r.subscriber_id));
    Ok(rows)
}

/// The final or next state of one claimed recipient; every mark names the
/// lease it was claimed with, so a worker whose lease ran out and was taken
/// over cannot overwrite the newer claim.
pub enum Mark<'a> {
    Sent,
    Retry {
        at: i64,
        error: &'a str,
    },
    Failed(&'a str),
    Skipped(&'a str),
    /// Given back untried (a pace limit, a lease running out): the attempt
    /// is not counted.
    Release {
        at: i64,
    },
}

pub async fn mark(
    ex: Ex<'_>,
    r: &Recipient,
    mark: Mark<'_>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let key =
        "where issue_id = $1 and subscriber_id = $2 and state = 'queued' and lease_until = $3";
    let n = match mark {
        Mark::Sent => execute!(
            ex,
            sqlx::AssertSqlSafe(format!(
                "update issue_recipients set state = 'sent', sent_at = $4, lease_until = null, \
                 last_error = '' {key}"
            )),
            r.issue_id,
            r.subscriber_id,
            r.lease_until,
            now
        )?,
        Mark::Retry { at, error } => execute!(
            ex,
            sqlx::AssertSqlSafe(format!(
                "update issue_recipients set next_attempt_at = $4, lease_until = null, \
                 last_error = $5 {key}"
            )),
            r.issue_id,
            r.subscriber_id,
            r.lease_until,
            at,
            error
        )?,
        Mark::Failed(error) | Mark::Skipped(error) => {
            let state = if matches!(mark, Mark::Failed(_)) {
                "failed"
            } else {
                "skipped"
            };
            execute!(
                ex,
                sqlx::AssertSqlSafe(format!(
                    "update issue_recipients set state = $4, lease_until = null, last_error = $5 {key}"
                )),
                r.issue_id,
                r.subscriber_id,
                r.lease_until,
                state,
                error
            )?
        }
        Mark::Release { at } => execute!(
            ex,
            sqlx::AssertSqlSafe(format!(
                "update issue_recipients set next_attempt_at = $4, lease_until = null, \
                 attempts = attempts - 1 {key}"
            )),
            r.issue_id,
            r.subscriber_id,
            r.lease_until,
            at
        )?,
    };
    Ok(n == 1)
}

/// Marks an issue sent once every recipient is copied and none is queued.
pub async fn finish_if_done(ex: Ex<'_>, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "update newsletter_issues set state = 'sent', finished_at = $2, updated_at = $2 \
         where id = $1 and state = 'sending' and expanded_at is not null and not exists \
         (select 1 from issue_recipients where issue_id = $1 and state = 'queued')",
        id,
        now
    )?;
    Ok(n == 1)
}

/// Where a send stands, for staff and the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub state: String,
    /// Recipients copied so far (all of them once `expanded`).
    pub recipients: i64,
    pub expanded: bool,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    /// Queued, not yet sent: due now, waiting for a retry, or in flight.
    pub waiting: i64,
    /// Of the waiting, those that failed at least once and wait for a retry.
    pub retrying: i64,
}

pub async fn progress(ex: Ex<'_>, id: i64) -> Result<Option<Progress>, sqlx::Error> {
    let mut ex = ex;
    let Some(issue) = find(reborrow(&mut ex), id).await? else {
        return Ok(None);
    };
    #[derive(sqlx::FromRow)]
    struct Row {
        state: String,
        n: i64,
        retrying: i64,
    }
    let rows = fetch_all!(
        ex,
        Row,
        "select state, count(*) as n, \
         coalesce(sum(case when last_error <> '' then 1 else 0 end), 0) as retrying \
         from issue_recipients where issue_id = $1 group by state",
        id
    )?;
    let mut p = Progress {
        state: issue.state.clone(),
        expanded: issue.expanded_at.is_some(),
        ..Progress::default()
    };
    for r in rows {
        p.recipients += r.n;
        match r.state.as_str() {
            "sent" => p.sent = r.n,
            "failed" => p.failed = r.n,
            "skipped" => p.skipped = r.n,
            _ => {
                p.waiting = r.n;
                p.retrying = r.retrying;
            }
        }
    }
    Ok(Some(p))
}

/// How many would receive an issue of the newsletter now (active, with the
/// consent offers need), for the desk's "send to N readers".
pub async fn audience(ex: Ex<'_>, newsletter_id: i64) -> Result<i64, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let n = fetch_optional!(
        ex,
        N,
        sqlx::AssertSqlSafe(format!(
            "select count(*) as n from newsletter_subscriptions s \
             join newsletters n on n.id = s.newsletter_id \
             where s.newsletter_id = $1 and s.state = 'active' {OFFERS_CONSENT}"
        )),
        newsletter_id
    )?;
    Ok(n.map_or(0, |n| n.n))
}

/// The most-read published stories since `since` (reads counted by the
/// meter), then the newest, for "top stories since the last issue".
pub async fn top_stories_since(
    ex: Ex<'_>,
    since: i64,
    now: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let rows = fetch_all!(
        ex,
        Id,
        "select s.id from stories s left join meter_reads r on r.story_id = s.id and r.read_at >= $1 \
         where s.status = 'published' and s.published_at >= $1 and s.published_at <= $2 \
         group by s.id, s.published_at order by count(r.story_id) desc, s.published_at desc, s.id desc \
         limit $3",
        since,
        now,
        limit
    )?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// When the newsletter's last issue went out (its start), if any.
pub async fn last_sent_at(ex: Ex<'_>, newsletter_id: i64) -> Result<Option<i64>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct At {
        at: Option<i64>,
    }
    let at = fetch_optional!(
        ex,
        At,
        "select max(started_at) as at from newsletter_issues where newsletter_id = $1 \
         and state in ('sending', 'sent')",
        newsletter_id
    )?;
    Ok(at.and_then(|a| a.at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(subject: &str, intro: &str, stories: &[i64]) -> Draft {
        Draft {
            subject: subject.into(),
            intro: intro.into(),
            stories: stories.to_vec(),
        }
    }

    #[test]
    fn drafts_are_checked_with_words_for_the_editor() {
        let table: &[(Draft, Result<(), DraftError>)] = &[
            (draft("Morning briefing", "", &[1, 2]), Ok(())),
            (draft("  Morning  ", "Hello.", &[]), Ok(())),
            (draft("   ", "", &[1]), Err(DraftError::NoSubject)),
            (
                draft("A\r\nBcc: x@example.com", "", &[1]),
                Err(DraftError::SubjectLineBreak),
            ),
            (
                draft(&"x".repeat(201), "", &[1]),
                Err(DraftError::LongSubject),
            ),
            (draft("Empty", "  ", &[]), Err(DraftError::Empty)),
            (
                draft("Many", "", &(1..=31).collect::<Vec<_>>()),
                Err(DraftError::TooManyStories),
            ),
        ];
        for (d, want) in table {
            let mut d = d.clone();
            assert_eq!(&d.check(), want, "{:?}", d.subject);
        }
        let mut d = draft(" Twice ", "", &[3, 1, 3, 2, 1]);
        d.check().unwrap();
        assert_eq!((d.subject.as_str(), d.stories), ("Twice", vec![3, 1, 2]));
    }
}
