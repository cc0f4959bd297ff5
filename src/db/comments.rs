//! Comments, likes, reports, the moderators' log and bans.

use super::{Count, Ex, Id, stories::reborrow};
use crate::{execute, fetch_all, fetch_all_in, fetch_one, fetch_optional};

/// What readers see of a comment (`comments.status`).
pub const VISIBLE: &str = "visible";
pub const PENDING: &str = "pending";
pub const REJECTED: &str = "rejected";
pub const SPAM: &str = "spam";
pub const DELETED: &str = "deleted";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub story_id: i64,
    pub member_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub root_id: Option<i64>,
    pub depth: i64,
    pub author_name: String,
    pub body: String,
    pub status: String,
    pub verdict: String,
    pub reasons: String,
    pub scores: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub like_count: i64,
    pub reply_count: i64,
    pub pinned: bool,
    pub featured: bool,
    pub import_id: Option<i64>,
}

const COLUMNS: &str = "c.id, c.story_id, c.member_id, c.parent_id, c.root_id, c.depth, \
    c.author_name, c.body, c.status, c.verdict, c.reasons, c.scores, c.created_at, c.edited_at, \
    c.deleted_at, c.like_count, c.reply_count, c.pinned, c.featured, c.import_id";

pub struct NewComment<'a> {
    pub story_id: i64,
    pub member_id: i64,
    pub parent: Option<&'a Comment>,
    pub author_name: &'a str,
    pub body: &'a str,
    pub status: &'a str,
    pub verdict: &'a str,
    pub reasons: &'a str,
    pub scores: &'a str,
    pub now: i64,
    pub idempotency_key: &'a str,
}

/// Adds a comment; `None` when this member already posted with this form
/// token (a double submit), in which case nothing is written.
pub async fn insert(mut ex: Ex<'_>, c: &NewComment<'_>) -> Result<Option<i64>, sqlx::Error> {
    let (parent_id, root_id, depth) = match c.parent {
        Some(p) => (Some(p.id), p.root_id.or(Some(p.id)), p.depth + 1),
        None => (None, None, 0),
    };
    let id = fetch_optional!(
        reborrow(&mut ex),
        Id,
        "insert into comments (story_id, member_id, parent_id, root_id, depth, author_name, body, \
         status, verdict, reasons, scores, created_at, idempotency_key) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         on conflict (member_id, idempotency_key) do nothing returning id",
        c.story_id,
        c.member_id,
        parent_id,
        root_id,
        depth,
        c.author_name,
        c.body,
        c.status,
        c.verdict,
        c.reasons,
        c.scores,
        c.now,
        c.idempotency_key
    )?
    .map(|r| r.id);
    if let Some(id) = id {
        if root_id.is_none() {
            execute!(
                reborrow(&mut ex),
                "update comments set root_id = id where id = $1",
                id
            )?;
        } else if let Some(root) = root_id {
            recount_replies(reborrow(&mut ex), root).await?;
        }
    }
    Ok(id)
}

/// The comment a member made with a form token, if any.
pub async fn by_idempotency_key(
    ex: Ex<'_>,
    member_id: i64,
    key: &str,
) -> Result<Option<Comment>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from comments c where c.member_id = $1 and c.idempotency_key = $2"
    );
    fetch_optional!(ex, Comment, sqlx::AssertSqlSafe(sql), member_id, key)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Option<Comment>, sqlx::Error> {
    let sql = format!("select {COLUMNS} from comments c where c.id = $1");
    fetch_optional!(ex, Comment, sqlx::AssertSqlSafe(sql), id)
}

/// Sets a thread's count of visible replies from what is there.
pub async fn recount_replies(ex: Ex<'_>, root_id: i64) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update comments set reply_count = (select count(*) from comments r \
         where r.root_id = $1 and r.id <> $1 and r.status = 'visible') where id = $1",
        root_id
    )?;
    Ok(())
}

/// How the top-level comments of a story are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Newest,
    Oldest,
    Liked,
}

impl Sort {
    pub fn parse(s: Option<&str>) -> Sort {
        match s {
            Some("oldest") => Sort::Oldest,
            Some("liked") => Sort::Liked,
            _ => Sort::Newest,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Liked => "liked",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::Newest => "c.pinned desc, c.created_at desc, c.id desc",
            Sort::Oldest => "c.pinned desc, c.created_at asc, c.id asc",
            Sort::Liked => "c.pinned desc, c.like_count desc, c.created_at desc, c.id desc",
        }
    }
}

/// The condition for comments a reader may see: visible ones, the reader's
/// own that wait for review, and (so replies keep their place) deleted ones
/// that have visible replies.
const SEEN_BY: &str = "(c.status = 'visible' or (c.status = 'pending' and c.member_id = $2) \
    or (c.status = 'deleted' and c.reply_count > 0))";

/// One page of a story's top-level comments as `viewer` sees them.
pub async fn top_level(
    ex: Ex<'_>,
    story_id: i64,
    viewer: i64,
    sort: Sort,
    limit: i64,
    offset: i64,
) -> Result<Vec<Comment>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from comments c where c.story_id = $1 and c.parent_id is null \
         and {SEEN_BY} order by {} limit $3 offset $4",
        sort.order_by()
    );
    fetch_all!(
        ex,
        Comment,
        sqlx::AssertSqlSafe(sql),
        story_id,
        viewer,
        limit,
        offset
    )
}

/// How many top-level comments of a story `viewer` sees.
pub async fn top_level_count(ex: Ex<'_>, story_id: i64, viewer: i64) -> Result<i64, sqlx::Error> {
    let sql = format!(
        "select count(*) as n from comments c where c.story_id = $1 and c.parent_id is null \
         and {SEEN_BY}"
    );
    Ok(fetch_one!(ex, Count, sqlx::AssertSqlSafe(sql), story_id, viewer)?.n)
}

/// The replies in the threads of `roots` that `viewer` sees, oldest first.
pub async fn replies(ex: Ex<'_>, roots: &[i64], viewer: i64) -> Result<Vec<Comment>, sqlx::Error> {
    if roots.is_empty() {
        return Ok(Vec::new());
    }
    // Deleted replies are kept when they have replies of their own; the
    // page decides which to show.
    let sql = format!(
        "select {COLUMNS} from comments c where c.root_id in ({}) and c.parent_id is not null \
         and (c.status = 'visible' or (c.status = 'pending' and c.member_id = $1) \
         or c.status = 'deleted') order by c.created_at, c.id",
        super::placeholders(1, roots.len())
    );
    fetch_all_in!(ex, Comment, sql, roots.iter().copied(), viewer)
}

/// Visible comments per story, for story pages and lists.
pub async fn counts(ex: Ex<'_>, story_ids: &[i64]) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    if story_ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        story_id: i64,
        n: i64,
    }
    let sql = format!(
        "select story_id, count(*) as n from comments where status = 'visible' \
         and story_id in ({}) group by story_id",
        super::placeholders(0, story_ids.len())
    );
    let rows: Vec<Row> = fetch_all_in!(ex, Row, sql, story_ids.iter().copied())?;
    Ok(rows.into_iter().map(|r| (r.story_id, r.n)).collect())
}

/// The newest visible comments of a story, pinned and featured first, for
/// the preview under the story.
pub async fn preview(ex: Ex<'_>, story_id: i64, limit: i64) -> Result<Vec<Comment>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS} from comments c where c.story_id = $1 and c.status = 'visible' \
         order by c.pinned desc, c.featured desc, c.created_at desc, c.id desc limit $2"
    );
    fetch_all!(ex, Comment, sqlx::AssertSqlSafe(sql), story_id, limit)
}

/// Replaces a comment's text with a new verdict (an edit).
#[allow(clippy::too_many_arguments)]
pub async fn edit(
    ex: Ex<'_>,
    id: i64,
    body: &str,
    status: &str,
    verdict: &str,
    reasons: &str,
    scores: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update comments set body = $2, status = $3, verdict = $4, reasons = $5, scores = $6, \
         edited_at = $7 where id = $1",
        id,
        body,
        status,
        verdict,
        reasons,
        scores,
        now
    )?;
    Ok(())
}

/// Sets a comment's status (and recounts its thread).
pub async fn set_status(mut ex: Ex<'_>, c: &Comment, status: &str) -> Result<(), sqlx::Error> {
    execute!(
        reborrow(&mut ex),
        "update comments set status = $2 where id = $1",
        c.id,
        status
    )?;
    recount_replies(ex, c.root_id.unwrap_or(c.id)).await
}

/// Deletes a comment as its author: the text goes, the place stays.
pub async fn delete_own(mut ex: Ex<'_>, c: &Comment, now: i64) -> Result<(), sqlx::Error> {
    execute!(
        reborrow(&mut ex),
        "update comments set status = 'deleted', body = '', deleted_at = $2, pinned = false, \
         featured = false where id = $1",
        c.id,
        now
    )?;
    recount_replies(ex, c.root_id.unwrap_or(c.id)).await
}

/// Likes (or stops liking) a comment; answers the new count.
pub async fn set_like(
    mut ex: Ex<'_>,
    comment_id: i64,
    member_id: i64,
    like: bool,
    now: i64,
) -> Result<i64, sqlx::Error> {
    if like {
        execute!(
            reborrow(&mut ex),
            "insert into comment_likes (comment_id, member_id, created_at) values ($1, $2, $3) \
             on conflict (comment_id, member_id) do nothing",
            comment_id,
            member_id,
            now
        )?;
    } else {
        execute!(
            reborrow(&mut ex),
            "delete from comment_likes where comment_id = $1 and member_id = $2",
            comment_id,
            member_id
        )?;
    }
    execute!(
        reborrow(&mut ex),
        "update comments set like_count = (select count(*) from comment_likes where comment_id = $1) \
         where id = $1",
        comment_id
    )?;
    Ok(fetch_one!(
        ex,
        Count,
        "select like_count as n from comments where id = $1",
        comment_id
    )?
    .n)
}

/// Which of `ids` a member likes.
pub async fn liked_by(ex: Ex<'_>, member_id: i64, ids: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select comment_id as id from comment_likes where member_id = $1 and comment_id in ({})",
        super::placeholders(1, ids.len())
    );
    let rows: Vec<Id> = fetch_all_in!(ex, Id, sql, ids.iter().copied(), member_id)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Reports a comment; a second report by the same member changes nothing.
pub async fn report(
    ex: Ex<'_>,
    comment_id: i64,
    member_id: i64,
    reason: &str,
    note: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = execute!(
        ex,
        "insert into comment_reports (comment_id, member_id, reason, note, created_at) \
         values ($1, $2, $3, $4, $5) on conflict (comment_id, member_id) do nothing",
        comment_id,
        member_id,
        reason,
        note,
        now
    )?;
    Ok(n > 0)
}

/// Pins or features a comment (staff).
pub async fn set_flag(ex: Ex<'_>, id: i64, flag: &str, on: bool) -> Result<(), sqlx::Error> {
    let sql = match flag {
        "pinned" => "update comments set pinned = $2 where id = $1",
        _ => "update comments set featured = $2 where id = $1",
    };
    execute!(ex, sql, id, on)?;
    Ok(())
}

/// A member's comments, newest first, with the story each is on.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberComment {
    #[sqlx(flatten)]
    pub comment: Comment,
    pub headline: String,
    pub section_slug: String,
    pub slug: String,
}

pub async fn by_member(
    ex: Ex<'_>,
    member_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<MemberComment>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS}, s.headline, sec.slug as section_slug, s.slug from comments c \
         join stories s on s.id = c.story_id join sections sec on sec.id = s.section_id \
         where c.member_id = $1 and c.status <> 'deleted' \
         order by c.created_at desc, c.id desc limit $2 offset $3"
    );
    fetch_all!(
        ex,
        MemberComment,
        sqlx::AssertSqlSafe(sql),
        member_id,
        limit,
        offset
    )
}

pub async fn count_by_member(ex: Ex<'_>, member_id: i64) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Count,
        "select count(*) as n from comments where member_id = $1 and status <> 'deleted'",
        member_id
    )?
    .n)
}

/// Visible replies to a member's comments by others, newest first.
pub async fn replies_to_member(
    ex: Ex<'_>,
    member_id: i64,
    limit: i64,
) -> Result<Vec<MemberComment>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS}, s.headline, sec.slug as section_slug, s.slug from comments c \
         join comments p on p.id = c.parent_id \
         join stories s on s.id = c.story_id join sections sec on sec.id = s.section_id \
         where p.member_id = $1 and c.status = 'visible' \
         and (c.member_id is null or c.member_id <> $1) \
         order by c.created_at desc, c.id desc limit $2"
    );
    fetch_all!(
        ex,
        MemberComment,
        sqlx::AssertSqlSafe(sql),
        member_id,
        limit
    )
}

/// How many of a member's comments a moderator or the check approved.
pub async fn approved_count(ex: Ex<'_>, member_id: i64) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Count,
        "select count(*) as n from comments where member_id = $1 and status = 'visible'",
        member_id
    )?
    .n)
}

/// A member's comments of the last `since` microseconds, for the spam
/// rules (repetition, flooding).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Recent {
    pub body: String,
    pub story_id: i64,
    pub created_at: i64,
}

pub async fn recent_by_member(
    ex: Ex<'_>,
    member_id: i64,
    since: i64,
) -> Result<Vec<Recent>, sqlx::Error> {
    fetch_all!(
        ex,
        Recent,
        "select body, story_id, created_at from comments where member_id = $1 and created_at >= $2 \
         order by created_at desc limit 50",
        member_id,
        since
    )
}

/// The comments thread of a story is closed by an editor.
pub async fn story_closed(ex: Ex<'_>, story_id: i64) -> Result<Option<bool>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        comments_closed: bool,
    }
    Ok(fetch_optional!(
        ex,
        Row,
        "select comments_closed from stories where id = $1",
        story_id
    )?
    .map(|r| r.comments_closed))
}

pub async fn set_story_closed(ex: Ex<'_>, story_id: i64, closed: bool) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update stories set comments_closed = $2 where id = $1",
        story_id,
        closed
    )?;
    Ok(())
}

/// A line of the moderators' log.
pub struct LogEntry<'a> {
    pub moderator_id: Option<i64>,
    pub moderator_name: &'a str,
    pub action: &'a str,
    pub comment_id: Option<i64>,
    pub member_id: Option<i64>,
    pub note: &'a str,
    pub now: i64,
}

pub async fn log(ex: Ex<'_>, e: &LogEntry<'_>) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into moderation_log (moderator_id, moderator_name, action, comment_id, member_id, \
         note, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
        e.moderator_id,
        e.moderator_name,
        e.action,
        e.comment_id,
        e.member_id,
        e.note,
        e.now
    )?;
    Ok(())
}

/// Bans a member from commenting until `until` (far future: for good), or
/// lifts a ban (`None`). Their comments waiting for review leave the queue.
pub async fn set_ban(
    mut ex: Ex<'_>,
    member_id: i64,
    until: Option<i64>,
) -> Result<(), sqlx::Error> {
    execute!(
        reborrow(&mut ex),
        "update members set banned_until = $2 where id = $1",
        member_id,
        until
    )?;
    if until.is_some() {
        execute!(
            ex,
            "update comments set status = 'rejected' where member_id = $1 and status = 'pending'",
            member_id
        )?;
    }
    Ok(())
}

/// The comment-related fields of a member.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Commenter {
    pub banned_until: Option<i64>,
    pub reply_mail: bool,
    pub comments_seen_at: Option<i64>,
}

pub async fn commenter(ex: Ex<'_>, member_id: i64) -> Result<Option<Commenter>, sqlx::Error> {
    fetch_optional!(
        ex,
        Commenter,
        "select banned_until, reply_mail, comments_seen_at from members where id = $1",
        member_id
    )
}

pub async fn set_seen(ex: Ex<'_>, member_id: i64, now: i64) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update members set comments_seen_at = $2 where id = $1",
        member_id,
        now
    )?;
    Ok(())
}

pub async fn set_reply_mail(ex: Ex<'_>, member_id: i64, on: bool) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update members set reply_mail = $2 where id = $1",
        member_id,
        on
    )?;
    Ok(())
}

/// Claims the right to mail `member` about a reply in thread `root`: true
/// when no such mail went out in the last hour (and notes this one).
pub async fn claim_reply_mail(
    mut ex: Ex<'_>,
    member_id: i64,
    root_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let hour_ago = now - 3_600_000_000;
    let n = execute!(
        reborrow(&mut ex),
        "update comment_reply_mail set sent_at = $3 \
         where member_id = $1 and root_id = $2 and sent_at <= $4",
        member_id,
        root_id,
        now,
        hour_ago
    )?;
    if n > 0 {
        return Ok(true);
    }
    let n = execute!(
        ex,
        "insert into comment_reply_mail (member_id, root_id, sent_at) values ($1, $2, $3) \
         on conflict (member_id, root_id) do nothing",
        member_id,
        root_id,
        now
    )?;
    Ok(n > 0)
}

/// A comment in the moderators' queue.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Queued {
    #[sqlx(flatten)]
    pub comment: Comment,
    pub headline: String,
    pub section_slug: String,
    pub slug: String,
    pub open_reports: i64,
}

/// Comments waiting for a moderator: held ones, and shown ones with open
/// reports; oldest first. Both are found through small indexes (held
/// comments, open reports), never by reading the shown ones. `search`
/// (lower-case, may be empty) matches the text or the author's name.
pub async fn queue(ex: Ex<'_>, search: &str, limit: i64) -> Result<Vec<Queued>, sqlx::Error> {
    let pattern = format!(
        "%{}%",
        search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let sql = format!(
        "select {COLUMNS}, s.headline, sec.slug as section_slug, s.slug, \
         (select count(*) from comment_reports r where r.comment_id = c.id and r.resolved_at is null) as open_reports \
         from comments c join stories s on s.id = c.story_id join sections sec on sec.id = s.section_id \
         where c.id in (select id from comments where status = 'pending' \
           union select comment_id from comment_reports where resolved_at is null) \
         and c.status in ('pending', 'visible') \
         and ($1 = '' or lower(c.body) like $2 escape '\\' or lower(c.author_name) like $2 escape '\\') \
         order by c.created_at, c.id limit $3"
    );
    fetch_all!(ex, Queued, sqlx::AssertSqlSafe(sql), search, pattern, limit)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Report {
    pub comment_id: i64,
    pub reason: String,
    pub note: String,
}

/// The open reports on `ids`.
pub async fn open_reports(ex: Ex<'_>, ids: &[i64]) -> Result<Vec<Report>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select comment_id, reason, note from comment_reports where resolved_at is null \
         and comment_id in ({}) order by id",
        super::placeholders(0, ids.len())
    );
    fetch_all_in!(ex, Report, sql, ids.iter().copied())
}

pub async fn resolve_reports(ex: Ex<'_>, comment_id: i64, now: i64) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update comment_reports set resolved_at = $2 where comment_id = $1 and resolved_at is null",
        comment_id,
        now
    )?;
    Ok(())
}

/// Every comment of a member, newest first, whatever its status.
pub async fn history(
    ex: Ex<'_>,
    member_id: i64,
    limit: i64,
) -> Result<Vec<MemberComment>, sqlx::Error> {
    let sql = format!(
        "select {COLUMNS}, s.headline, sec.slug as section_slug, s.slug from comments c \
         join stories s on s.id = c.story_id join sections sec on sec.id = s.section_id \
         where c.member_id = $1 order by c.created_at desc, c.id desc limit $2"
    );
    fetch_all!(
        ex,
        MemberComment,
        sqlx::AssertSqlSafe(sql),
        member_id,
        limit
    )
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LogRow {
    pub id: i64,
    pub moderator_name: String,
    pub action: String,
    pub comment_id: Option<i64>,
    pub member_id: Option<i64>,
    pub note: String,
    pub created_at: i64,
}

/// The moderators' log, newest first; only about one member when given.
pub async fn log_page(
    ex: Ex<'_>,
    member_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Vec<LogRow>, sqlx::Error> {
    fetch_all!(
        ex,
        LogRow,
        "select id, moderator_name, action, comment_id, member_id, note, created_at from moderation_log \
         where ($1 = 0 or member_id = $1) order by id desc limit $2 offset $3",
        member_id.unwrap_or(0),
        limit,
        offset
    )
}

/// The moderators' decisions, as labelled examples for the guidelines
/// check's model: each comment a moderator approved (`false`: fine) or
/// rejected or marked as spam (`true`), by its latest decision.
pub async fn decisions(ex: Ex<'_>) -> Result<Vec<(String, bool)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        body: String,
        action: String,
    }
    let rows: Vec<Row> = fetch_all!(
        ex,
        Row,
        "select c.body, l.action from moderation_log l join comments c on c.id = l.comment_id \
         where l.action in ('approve', 'reject', 'spam') and c.body <> '' \
         and l.id = (select max(l2.id) from moderation_log l2 where l2.comment_id = l.comment_id \
                     and l2.action in ('approve', 'reject', 'spam')) \
         order by l.id"
    )?;
    Ok(rows
        .into_iter()
        .map(|r| (r.body, r.action != "approve"))
        .collect())
}
