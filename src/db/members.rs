//! Members and what belongs to them: sessions, meter reads, saved stories,
//! entitlements, one-time tokens; and the end of an account
//! ([`delete_member`]).

use super::{Count, Ex, Id, Tx};
use crate::config::DeletedMemberComments;
use crate::domain::email::Email;
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

/// Sets a member's password (an argon2id PHC string).
pub async fn set_password(ex: Ex<'_>, id: i64, password_hash: &str) -> Result<u64, sqlx::Error> {
    execute!(
        ex,
        "update members set password_hash = $2 where id = $1",
        id,
        password_hash
    )
}

/// Gives a member a new address, confirmed by the link that was sent to it.
/// `false` when another account holds the address by now (the unique index on
/// the normalised address decides, also between two racing changes); the
/// caller's transaction must then be dropped, since PostgreSQL has aborted it.
pub async fn set_email(ex: Ex<'_>, id: i64, email: &Email, now: i64) -> Result<bool, sqlx::Error> {
    let done = execute!(
        ex,
        "update members set email = $2, email_normalized = $3, email_verified_at = $4 where id = $1",
        id,
        email.as_typed(),
        email.normalized(),
        now
    );
    match done {
        Ok(n) => Ok(n > 0),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
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

/// Signs a member out everywhere but in the session `keep` (a token hash).
pub async fn delete_other_sessions(
    ex: Ex<'_>,
    member_id: i64,
    keep: &str,
) -> Result<u64, sqlx::Error> {
    execute!(
        ex,
        "delete from sessions where member_id = $1 and token_hash <> $2",
        member_id,
        keep
    )
}

/// A session as the member's data download shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    /// Only to tell the current session; never shown.
    pub token_hash: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

pub async fn sessions_of(ex: Ex<'_>, member_id: i64) -> Result<Vec<SessionRow>, sqlx::Error> {
    fetch_all!(
        ex,
        SessionRow,
        "select token_hash, created_at, last_seen_at, expires_at from sessions \
         where member_id = $1 order by created_at, token_hash",
        member_id
    )
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

/// A read the meter recorded, with the story it was (when it still exists).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReadRow {
    pub period: String,
    pub story_id: i64,
    pub read_at: i64,
    pub headline: Option<String>,
    pub section_slug: Option<String>,
    pub slug: Option<String>,
}

/// Every read the meter holds for a member, newest first.
pub async fn reads_of(ex: Ex<'_>, member_id: i64) -> Result<Vec<ReadRow>, sqlx::Error> {
    fetch_all!(
        ex,
        ReadRow,
        "select r.period, r.story_id, r.read_at, s.headline, sec.slug as section_slug, s.slug \
         from meter_reads r left join stories s on s.id = r.story_id \
         left join sections sec on sec.id = s.section_id \
         where r.member_id = $1 order by r.read_at desc, r.story_id",
        member_id
    )
}

/// An entitlement as its member sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EntitlementRow {
    pub source: String,
    pub starts_at: i64,
    pub valid_until: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A member's entitlements, oldest first; without the zero-length rows that
/// only record a revoking event (see [`revoke`]).
pub async fn entitlements_of(
    ex: Ex<'_>,
    member_id: i64,
) -> Result<Vec<EntitlementRow>, sqlx::Error> {
    fetch_all!(
        ex,
        EntitlementRow,
        "select source, starts_at, valid_until, created_at, revoked_at from entitlements \
         where member_id = $1 and valid_until > starts_at order by starts_at, id",
        member_id
    )
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

/// A saved story with what a list or a download shows of it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SavedStory {
    pub story_id: i64,
    pub headline: String,
    pub section_slug: String,
    pub slug: String,
    pub saved_at: i64,
}

/// A member's saved stories with their headlines, newest saved first.
pub async fn saved_stories(ex: Ex<'_>, member_id: i64) -> Result<Vec<SavedStory>, sqlx::Error> {
    fetch_all!(
        ex,
        SavedStory,
        "select ss.story_id, s.headline, sec.slug as section_slug, s.slug, ss.saved_at \
         from saved_stories ss join stories s on s.id = ss.story_id \
         join sections sec on sec.id = s.section_id \
         where ss.member_id = $1 order by ss.saved_at desc, ss.story_id desc",
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

/// Creates a one-time token tied to an address: a sign-in link (with the
/// HMAC of its code) sent to `email`, or the link that moves an account to
/// the new address `email`.
#[allow(clippy::too_many_arguments)]
pub async fn create_address_token(
    ex: Ex<'_>,
    token_hash: &str,
    purpose: &str,
    member_id: i64,
    email: &Email,
    code_hash: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into auth_tokens (token_hash, purpose, member_id, email, email_normalized, code_hash, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        token_hash,
        purpose,
        member_id,
        email.as_typed(),
        email.normalized(),
        code_hash,
        now,
        expires_at
    )?;
    Ok(())
}

/// Uses up a member's unused tokens: of one purpose (a newer mail replaces
/// the older ones), or of every purpose (`None`: the password or the address
/// changed, so links sent before must not work any more).
pub async fn retire_tokens(
    ex: Ex<'_>,
    member_id: i64,
    purpose: Option<&str>,
    now: i64,
) -> Result<u64, sqlx::Error> {
    match purpose {
        Some(p) => execute!(
            ex,
            "update auth_tokens set used_at = $3 where member_id = $1 and purpose = $2 and used_at is null",
            member_id,
            p,
            now
        ),
        None => execute!(
            ex,
            "update auth_tokens set used_at = $2 where member_id = $1 and used_at is null",
            member_id,
            now
        ),
    }
}

/// The member a token would sign in, without using it (for the page a link
/// opens, which must not act).
pub async fn peek_token(
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
        "select member_id from auth_tokens where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
        token_hash,
        purpose,
        now
    )?
    .map(|m| m.member_id))
}

/// A used address token: whose it is and the address it carried.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UsedAddressToken {
    pub member_id: i64,
    pub email: String,
}

/// Uses a one-time token that carries an address (as [`use_token`]).
pub async fn use_address_token(
    ex: Ex<'_>,
    token_hash: &str,
    purpose: &str,
    now: i64,
) -> Result<Option<UsedAddressToken>, sqlx::Error> {
    fetch_optional!(
        ex,
        UsedAddressToken,
        "update auth_tokens set used_at = $3 where token_hash = $1 and purpose = $2 and used_at is null \
         and expires_at > $3 and email is not null returning member_id, email",
        token_hash,
        purpose,
        now
    )
}

/// The sign-in code that may be typed for an address now.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LiveCode {
    pub token_hash: String,
    pub member_id: i64,
    pub code_hash: String,
}

/// The newest unused, unexpired sign-in code sent to `email` (a new request
/// retires the older ones, so there is at most one).
pub async fn live_code(
    ex: Ex<'_>,
    email: &Email,
    now: i64,
) -> Result<Option<LiveCode>, sqlx::Error> {
    fetch_optional!(
        ex,
        LiveCode,
        "select token_hash, member_id, code_hash from auth_tokens \
         where email_normalized = $1 and purpose = 'sign_in' and used_at is null and expires_at > $2 \
         and code_hash is not null order by created_at desc limit 1",
        email.normalized(),
        now
    )
}

/// Counts a wrong code against its token; the `max_attempts`-th wrong one
/// uses the token up, link and code both. In one statement, so concurrent
/// guesses cannot slip past the count.
pub async fn wrong_code(
    ex: Ex<'_>,
    token_hash: &str,
    max_attempts: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update auth_tokens set attempts = attempts + 1, \
           used_at = case when attempts + 1 >= $2 then $3 else used_at end \
         where token_hash = $1 and used_at is null",
        token_hash,
        max_attempts,
        now
    )?;
    Ok(())
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

/// Deletes a member and everything personal the site holds about them, in
/// the caller's transaction, so it happens whole or not at all:
///
/// - sessions (signed out everywhere), one-time tokens, meter reads, saved
///   stories, entitlements (the subscription system keeps its own records; a
///   grant redelivered for this address now answers `no_member`);
/// - mail still queued to or kept for the address (it holds their address
///   and links);
/// - the member row itself, so the address is free to register again.
///
/// Each table is cleared by name rather than left to `on delete cascade`, so
/// the list above is the whole story and a table added later without a
/// cascade fails here loudly instead of keeping data quietly.
pub async fn delete_member(
    tx: &mut Tx,
    member_id: i64,
    comments: DeletedMemberComments,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let Some(member) = by_id(tx.ex(), member_id).await? else {
        return Ok(false);
    };
    // Their comments, per `comments`: `Anonymise` keeps the text and
    // detaches it from the member (shown as by "a former member"); `Delete`
    // empties them (replies to them stay, under a "comment deleted"
    // placeholder). Either way they no longer name the member.
    match comments {
        DeletedMemberComments::Anonymise => execute!(
            tx.ex(),
            "update comments set member_id = null, author_name = 'A former member', \
             idempotency_key = null where member_id = $1",
            member_id
        )?,
        DeletedMemberComments::Delete => execute!(
            tx.ex(),
            "update comments set member_id = null, author_name = '', body = '', \
             status = 'deleted', deleted_at = $2, pinned = false, featured = false, \
             idempotency_key = null where member_id = $1",
            member_id,
            now
        )?,
    };
    // Threads that lost a shown reply count again.
    execute!(
        tx.ex(),
        "update comments set reply_count = (select count(*) from comments r \
         where r.root_id = comments.id and r.id <> comments.id and r.status = 'visible') \
         where parent_id is null and reply_count > 0",
    )?;
    execute!(
        tx.ex(),
        "update comments set like_count = like_count - 1 \
         where id in (select comment_id from comment_likes where member_id = $1)",
        member_id
    )?;
    for sql in [
        "delete from comment_likes where member_id = $1",
        "delete from comment_reply_mail where member_id = $1",
        "update comment_reports set member_id = null where member_id = $1",
        "update moderation_log set member_id = null where member_id = $1",
        "update moderation_log set moderator_id = null where moderator_id = $1",
        "delete from sessions where member_id = $1",
        "delete from auth_tokens where member_id = $1",
        "delete from meter_reads where member_id = $1",
        "delete from saved_stories where member_id = $1",
        "delete from entitlements where member_id = $1",
    ] {
        execute!(tx.ex(), sql, member_id)?;
    }
    crate::newsletters::subscriptions::delete_member_subscriber(tx, member_id, &member.email)
        .await?;
    execute!(
        tx.ex(),
        "delete from mail_outbox where lower(to_address) = $1",
        member.email.to_lowercase()
    )?;
    let n = execute!(tx.ex(), "delete from members where id = $1", member_id)?;
    Ok(n > 0)
}
