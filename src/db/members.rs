//! Members and what belongs to them: sessions, meter reads, saved stories,
//! entitlements.

use super::{Count, Ex, Id};
use crate::{execute, fetch_all, fetch_one, fetch_optional};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Member {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
}

const MEMBER_COLUMNS: &str =
    "m.id, m.email, m.display_name, m.password_hash, m.role, m.email_verified_at, m.created_at";

impl Member {
    pub fn is_staff(&self) -> bool {
        self.role != "member"
    }
}

/// Creates a member; `None` when the address is taken (the unique index on
/// the normalised address decides, so two racing registrations cannot both win).
pub async fn insert(
    ex: Ex<'_>,
    email: &crate::domain::email::Email,
    display_name: &str,
    password_hash: Option<&str>,
    role: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(fetch_optional!(
        ex,
        Id,
        "insert into members (email, email_normalized, display_name, password_hash, role, created_at) \
         values ($1, $2, $3, $4, $5, $6) on conflict (email_normalized) do nothing returning id",
        email.as_typed(),
        email.normalized(),
        display_name,
        password_hash,
        role,
        now
    )?
    .map(|r| r.id))
}

pub async fn by_email(
    ex: Ex<'_>,
    email: &crate::domain::email::Email,
) -> Result<Option<Member>, sqlx::Error> {
    let sql = format!("select {MEMBER_COLUMNS} from members m where m.email_normalized = $1");
    fetch_optional!(ex, Member, sqlx::AssertSqlSafe(sql), email.normalized())
}

pub async fn by_id(ex: Ex<'_>, id: i64) -> Result<Option<Member>, sqlx::Error> {
    let sql = format!("select {MEMBER_COLUMNS} from members m where m.id = $1");
    fetch_optional!(ex, Member, sqlx::AssertSqlSafe(sql), id)
}

pub async fn set_role(ex: Ex<'_>, id: i64, role: &str) -> Result<u64, sqlx::Error> {
    execute!(ex, "update members set role = $2 where id = $1", id, role)
}

/// A signed-in member as a request sees them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionMember {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub email_verified_at: Option<i64>,
    pub csrf_token: String,
    /// The end of the member's longest current entitlement, if any.
    pub subscribed_until: Option<i64>,
}

/// The member a session token belongs to, if the session is current; also
/// whether they hold an entitlement valid now (one query).
pub async fn by_session(
    ex: Ex<'_>,
    token_hash: &str,
    now: i64,
) -> Result<Option<SessionMember>, sqlx::Error> {
    fetch_optional!(
        ex,
        SessionMember,
        "select m.id, m.email, m.display_name, m.role, m.email_verified_at, s.csrf_token, \
           (select max(e.valid_until) from entitlements e where e.member_id = m.id and e.revoked_at is null \
              and e.starts_at <= $2 and e.valid_until > $2) as subscribed_until \
         from sessions s join members m on m.id = s.member_id \
         where s.token_hash = $1 and s.expires_at > $2",
        token_hash,
        now
    )
}

pub async fn create_session(
    ex: Ex<'_>,
    token_hash: &str,
    member_id: i64,
    csrf_token: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into sessions (token_hash, member_id, csrf_token, created_at, last_seen_at, expires_at) \
         values ($1, $2, $3, $4, $4, $5)",
        token_hash,
        member_id,
        csrf_token,
        now,
        expires_at
    )?;
    Ok(())
}

pub async fn delete_session(ex: Ex<'_>, token_hash: &str) -> Result<u64, sqlx::Error> {
    execute!(ex, "delete from sessions where token_hash = $1", token_hash)
}

/// Signs a member out everywhere.
pub async fn delete_sessions_of(ex: Ex<'_>, member_id: i64) -> Result<u64, sqlx::Error> {
    execute!(ex, "delete from sessions where member_id = $1", member_id)
}

/// This period's reads of a member: how many, and whether `story_id` is one.
pub async fn meter_state(
    ex: Ex<'_>,
    member_id: i64,
    period: &str,
    story_id: i64,
) -> Result<(u32, bool), sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        n: i64,
        this: i64,
    }
    let r = fetch_one!(
        ex,
        Row,
        "select count(*) as n, coalesce(sum(case when story_id = $3 then 1 else 0 end), 0) as this \
         from meter_reads where member_id = $1 and period = $2",
        member_id,
        period,
        story_id
    )?;
    Ok((r.n as u32, r.this > 0))
}

/// Records a read; a second record of the same story this period changes nothing.
pub async fn record_read(
    ex: Ex<'_>,
    member_id: i64,
    period: &str,
    story_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into meter_reads (member_id, period, story_id, read_at) values ($1, $2, $3, $4) \
         on conflict (member_id, period, story_id) do nothing",
        member_id,
        period,
        story_id,
        now
    )?;
    Ok(())
}

pub async fn reads_this_period(
    ex: Ex<'_>,
    member_id: i64,
    period: &str,
) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Count,
        "select count(*) as n from meter_reads where member_id = $1 and period = $2",
        member_id,
        period
    )?
    .n)
}

/// Grants an entitlement; idempotent by `event_id` (a repeated event adds nothing).
pub async fn grant_entitlement(
    ex: Ex<'_>,
    member_id: i64,
    source: &str,
    starts_at: i64,
    valid_until: i64,
    event_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "insert into entitlements (member_id, source, starts_at, valid_until, event_id, created_at) \
         values ($1, $2, $3, $4, $5, $6) on conflict (event_id) do nothing",
        member_id,
        source,
        starts_at,
        valid_until,
        event_id,
        now
    )?;
    Ok(n > 0)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Saved {
    pub story_id: i64,
    pub saved_at: i64,
}

pub async fn save_story(
    ex: Ex<'_>,
    member_id: i64,
    story_id: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into saved_stories (member_id, story_id, saved_at) values ($1, $2, $3) \
         on conflict (member_id, story_id) do nothing",
        member_id,
        story_id,
        now
    )?;
    Ok(())
}

pub async fn unsave_story(ex: Ex<'_>, member_id: i64, story_id: i64) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "delete from saved_stories where member_id = $1 and story_id = $2",
        member_id,
        story_id
    )?;
    Ok(())
}

pub async fn saved(ex: Ex<'_>, member_id: i64) -> Result<Vec<Saved>, sqlx::Error> {
    fetch_all!(
        ex,
        Saved,
        "select story_id, saved_at from saved_stories where member_id = $1 order by saved_at desc, story_id desc",
        member_id
    )
}

pub async fn count(ex: Ex<'_>) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(ex, Count, "select count(*) as n from members")?.n)
}

pub async fn create_token(
    ex: Ex<'_>,
    token_hash: &str,
    purpose: &str,
    member_id: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into auth_tokens (token_hash, purpose, member_id, created_at, expires_at) values ($1, $2, $3, $4, $5)",
        token_hash,
        purpose,
        member_id,
        now,
        expires_at
    )?;
    Ok(())
}

/// Uses a one-time token: answers its member when the token exists, has this
/// purpose, is unexpired and unused, and marks it used in the same statement,
/// so two clicks cannot both succeed.
pub async fn use_token(
    ex: Ex<'_>,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct M {
        member_id: i64,
    }
    Ok(fetch_optional!(
        ex,
        M,
        "update auth_tokens set used_at = $3 where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3 \
         returning member_id",
        token_hash,
        purpose,
        now
    )?
    .map(|m| m.member_id))
}

pub async fn mark_verified(ex: Ex<'_>, member_id: i64, now: i64) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update members set email_verified_at = coalesce(email_verified_at, $2) where id = $1",
        member_id,
        now
    )?;
    Ok(())
}

/// Which of a member's entitlements a revoke ends.
#[derive(Clone, Copy, Debug)]
pub enum Revoking<'a> {
    /// The one that the grant event with this id created.
    Grant(&'a str),
    /// Every current one from this source.
    Source(&'a str),
    /// Every current one, whatever its source.
    All,
}

/// Revokes a member's entitlements, and records the revoking event so that a
/// redelivery changes nothing: the event takes a row of its own in
/// `entitlements` (recorded by `source`, zero length, revoked at once, so it
/// never grants anything), whose unique `event_id` refuses a second copy.
///
/// Answers `None` when `event_id` was seen before (nothing changed), else how
/// many entitlements ended. "Current" means not revoked and not yet expired.
/// A revoke naming a grant that has not arrived (webhooks may come out of
/// order) reserves that grant's event id as already revoked, so the grant,
/// when it comes, is a duplicate and grants nothing.
///
/// Several statements: run it in a transaction, so the record and the revoke
/// stand or fall together.
pub async fn revoke(
    mut ex: Ex<'_>,
    member_id: i64,
    which: Revoking<'_>,
    source: &str,
    event_id: &str,
    now: i64,
) -> Result<Option<u64>, sqlx::Error> {
    if !record_revoked_event(
        super::stories::reborrow(&mut ex),
        member_id,
        source,
        event_id,
        now,
    )
    .await?
    {
        return Ok(None);
    }
    let ended = match which {
        Revoking::Grant(grant) => {
            let n = execute!(
                super::stories::reborrow(&mut ex),
                "update entitlements set revoked_at = $3 \
                 where member_id = $1 and event_id = $2 and revoked_at is null",
                member_id,
                grant,
                now
            )?;
            if n == 0 {
                record_revoked_event(ex, member_id, source, grant, now).await?;
            }
            n
        }
        Revoking::Source(from) => execute!(
            ex,
            "update entitlements set revoked_at = $3 \
             where member_id = $1 and source = $2 and revoked_at is null and valid_until > $3",
            member_id,
            from,
            now
        )?,
        Revoking::All => execute!(
            ex,
            "update entitlements set revoked_at = $2 \
             where member_id = $1 and revoked_at is null and valid_until > $2",
            member_id,
            now
        )?,
    };
    Ok(Some(ended))
}

/// Takes `event_id` with a row that grants nothing (it starts and ends at
/// `now` and is revoked); `false` when the id is taken already.
async fn record_revoked_event(
    ex: Ex<'_>,
    member_id: i64,
    source: &str,
    event_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "insert into entitlements (member_id, source, starts_at, valid_until, event_id, created_at, revoked_at) \
         values ($1, $2, $3, $3, $4, $3, $3) on conflict (event_id) do nothing",
        member_id,
        source,
        now,
        event_id
    )?;
    Ok(n > 0)
}
