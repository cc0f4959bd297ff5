//! Comments: the comments page of a story, posting, replying, editing,
//! deleting, liking and reporting, and the preview under a story.
//!
//! Every new or edited comment passes the guidelines check
//! ([`crate::moderation::Checker`]) before anyone sees it; the publication's
//! policy then decides whether an approved comment shows at once. A comment
//! the check rejects comes back to its author with the reasons and the text
//! still in the box: nothing a reader typed is lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::db::comments::{self, Comment, Sort};
use crate::db::settings::{CommentSettings, ModerationPolicy};
use crate::db::stories::{self, Story};
use crate::domain::comment_text;
use crate::domain::paging::Pager;
use crate::domain::slug::{parse_story_segment, story_path};
use crate::domain::time::Shown;
use crate::error::{AppError, AppResult};
use crate::mail::OutgoingMail;
use crate::moderation::{self, Verdict};
use crate::render::{safe, val};
use crate::site::Site;

use super::auth::{Visitor, check_csrf, random_token, safe_next};
use super::no_store;
use super::pages::site_context;
use super::{see_other, sign_in_first, wants_json};
use crate::db::members::SessionMember;

/// The form fields of a request body, read leniently: bytes that are not
/// UTF-8 become U+FFFD rather than losing the whole comment.
struct Fields(HashMap<String, String>);

impl Fields {
    fn parse(body: &[u8]) -> Fields {
        Fields(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, k: &str) -> &str {
        self.0.get(k).map_or("", String::as_str)
    }

    fn id(&self, k: &str) -> Option<i64> {
        self.get(k).trim().parse().ok()
    }
}

fn query_fields(q: Option<&str>) -> Fields {
    Fields::parse(q.unwrap_or("").as_bytes())
}

fn is_staff(m: &SessionMember) -> bool {
    matches!(m.role.as_str(), "editor" | "moderator" | "admin")
}

/// The address of a story's comments page.
pub fn comments_path(section_slug: &str, slug: &str, id: i64) -> String {
    format!("{}/comments", story_path(section_slug, slug, id))
}

/// Why a story takes no new comments, if it does not.
fn closed_reason(
    story: &Story,
    closed_by_editor: bool,
    cs: &CommentSettings,
    now: i64,
) -> Option<String> {
    if closed_by_editor {
        return Some("Comments on this story are closed.".into());
    }
    let published = story.published_at.unwrap_or(now);
    if cs.close_after_days > 0 && now - published > cs.close_after_days * 86_400_000_000 {
        return Some(format!(
            "Comments on this story closed {} days after it was published.",
            cs.close_after_days
        ));
    }
    None
}

/// A published story and whether an editor closed its comments.
async fn published_story(state: &AppState, id: i64) -> AppResult<(Story, bool)> {
    let now = state.now_micros();
    let mut conn = state.db.read().await?;
    let story = stories::find(conn.ex(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if story.status != "published" || story.published_at.is_none_or(|p| p > now) {
        return Err(AppError::NotFound);
    }
    let closed = comments::story_closed(conn.ex(), id)
        .await?
        .unwrap_or(false);
    Ok((story, closed))
}

// ---------------------------------------------------------------------------
// Views

#[derive(Serialize)]
struct CommentView {
    id: i64,
    author: String,
    html: minijinja::Value,
    /// The text as typed, for the edit box.
    text: String,
    time: Shown,
    edited: bool,
    pending: bool,
    deleted: bool,
    likes: i64,
    liked: bool,
    mine: bool,
    can_edit: bool,
    pinned: bool,
    featured: bool,
    /// Indentation as shown (replies deeper than the setting are shown flat).
    depth: i64,
    /// Whom a flattened reply answers.
    replying_to: Option<String>,
    reply_count: i64,
    replies: Vec<CommentView>,
}

struct Viewer<'a> {
    member: Option<&'a SessionMember>,
    liked: Vec<i64>,
    now: i64,
}

fn view(
    site: &Site,
    c: &Comment,
    v: &Viewer<'_>,
    depth: i64,
    replying_to: Option<String>,
) -> CommentView {
    let mine = v.member.is_some_and(|m| Some(m.id) == c.member_id);
    let deleted = c.status == comments::DELETED;
    let window = site.comments.edit_minutes * 60_000_000;
    CommentView {
        id: c.id,
        author: if deleted {
            String::new()
        } else {
            c.author_name.clone()
        },
        html: if deleted {
            safe(String::new())
        } else {
            safe(comment_text::to_html(&c.body))
        },
        text: if mine { c.body.clone() } else { String::new() },
        time: site.show(c.created_at),
        edited: c.edited_at.is_some(),
        pending: c.status == comments::PENDING,
        deleted,
        likes: c.like_count,
        liked: v.liked.contains(&c.id),
        mine,
        can_edit: mine && !deleted && v.now - c.created_at <= window,
        pinned: c.pinned,
        featured: c.featured,
        depth,
        replying_to,
        reply_count: c.reply_count,
        replies: Vec::new(),
    }
}

/// A thread's replies in reading order (depth first, oldest first), with
/// deleted replies kept only where a reply below them is shown.
fn thread(site: &Site, root: &Comment, all: &[Comment], v: &Viewer<'_>) -> Vec<CommentView> {
    let mut children: HashMap<i64, Vec<&Comment>> = HashMap::new();
    for c in all.iter().filter(|c| c.root_id == Some(root.id)) {
        if let Some(p) = c.parent_id {
            children.entry(p).or_default().push(c);
        }
    }
    let names: HashMap<i64, &str> = all
        .iter()
        .chain(std::iter::once(root))
        .map(|c| (c.id, c.author_name.as_str()))
        .collect();
    let max = site.comments.max_depth.max(1);
    let mut out = Vec::new();
    fn walk<'c>(
        id: i64,
        children: &HashMap<i64, Vec<&'c Comment>>,
        out: &mut Vec<(&'c Comment, bool)>,
    ) -> bool {
        let mut any = false;
        for c in children.get(&id).into_iter().flatten() {
            let at = out.len();
            out.push((c, false));
            let below = walk(c.id, children, out);
            let shown = c.status != comments::DELETED || below;
            out[at].1 = shown;
            any |= shown;
        }
        any
    }
    let mut order = Vec::new();
    walk(root.id, &children, &mut order);
    for (c, shown) in order {
        if !shown {
            continue;
        }
        let depth = c.depth.min(max);
        let replying_to = (c.depth > max)
            .then(|| {
                c.parent_id
                    .and_then(|p| names.get(&p))
                    .map(|n| n.to_string())
            })
            .flatten();
        out.push(view(site, c, v, depth, replying_to));
    }
    out
}

// ---------------------------------------------------------------------------
// The comments page

/// What a re-rendered page carries back to its author.
#[derive(Default, Serialize)]
struct Draft {
    /// The form it belongs to: "new", "reply" or "edit".
    form: &'static str,
    /// The comment replied to or edited.
    target: Option<i64>,
    text: String,
    error: Option<String>,
    reasons: Vec<&'static str>,
}

struct PageRequest {
    sort: Sort,
    page: u32,
    reply: Option<i64>,
    edit: Option<i64>,
    report: Option<i64>,
    /// What was just done: ("posted" or "reported", the comment's id).
    notice: Option<(&'static str, i64)>,
}

impl PageRequest {
    fn from_query(q: Option<&str>) -> AppResult<PageRequest> {
        let f = query_fields(q);
        let page = crate::domain::paging::parse_page(Some(f.get("page")).filter(|p| !p.is_empty()))
            .map_err(AppError::BadRequest)?;
        let notice = match (f.id("posted"), f.id("reported")) {
            (Some(id), _) => Some(("posted", id)),
            (None, Some(id)) => Some(("reported", id)),
            _ => None,
        };
        Ok(PageRequest {
            sort: Sort::parse(Some(f.get("sort"))),
            page,
            reply: f.id("reply"),
            edit: f.id("edit"),
            report: f.id("report"),
            notice,
        })
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_page(
    state: &AppState,
    visitor: &Visitor,
    story: &Story,
    closed_by_editor: bool,
    req: &PageRequest,
    draft: Option<Draft>,
    status: StatusCode,
) -> AppResult<Response> {
    let site = state.current_site().await?;
    let now = state.now_micros();
    let viewer_id = visitor.member.as_ref().map_or(0, |m| m.id);
    let cs = &site.comments;
    let mut conn = state.db.read().await?;
    let total = comments::top_level_count(conn.ex(), story.id, viewer_id).await?;
    let pager = Pager::new(req.page, cs.per_page, total).ok_or(AppError::NotFound)?;
    let roots = comments::top_level(
        conn.ex(),
        story.id,
        viewer_id,
        req.sort,
        cs.per_page as i64,
        pager.offset(cs.per_page),
    )
    .await?;
    let root_ids: Vec<i64> = roots.iter().map(|c| c.id).collect();
    let replies = comments::replies(conn.ex(), &root_ids, viewer_id).await?;
    let liked = match &visitor.member {
        Some(m) => {
            let ids: Vec<i64> = root_ids
                .iter()
                .copied()
                .chain(replies.iter().map(|c| c.id))
                .collect();
            comments::liked_by(conn.ex(), m.id, &ids).await?
        }
        None => Vec::new(),
    };
    let banned_until = match &visitor.member {
        Some(m) => comments::commenter(conn.ex(), m.id)
            .await?
            .and_then(|c| c.banned_until)
            .filter(|u| *u > now),
        None => None,
    };
    let visible_count = comments::counts(conn.ex(), &[story.id])
        .await?
        .first()
        .map_or(0, |(_, n)| *n);
    drop(conn);
    let v = Viewer {
        member: visitor.member.as_ref(),
        liked,
        now,
    };
    let threads: Vec<CommentView> = roots
        .iter()
        .filter(|r| r.status != comments::DELETED || r.reply_count > 0)
        .map(|r| {
            let mut cv = view(&site, r, &v, 0, None);
            cv.replies = thread(&site, r, &replies, &v);
            cv
        })
        .collect();
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    let story_url = story_path(&story.section_slug, &story.slug, story.id);
    let closed = closed_reason(story, closed_by_editor, cs, now);
    let reader = visitor.view();
    let html = state
        .renderer
        .render(
            "comments.html",
            context! {
                site => val(site_context(state, Some(&site))),
                reader => val(&reader),
                story => context! {
                    id => story.id, headline => story.headline.clone(), url => story_url,
                    section => context! { name => story.section_name.clone(), url => format!("/{}", story.section_slug) },
                },
                path,
                threads => val(threads),
                count => visible_count,
                pager => val(pager),
                sort => req.sort.name(),
                reply_to => req.reply,
                editing => req.edit,
                reporting => req.report,
                notice => val(req.notice),
                closed,
                closed_by_editor,
                banned_until => val(banned_until.map(|u| site.show(u))),
                token => random_token(),
                draft => val(draft),
                staff => visitor.member.as_ref().is_some_and(is_staff),
                edit_minutes => cs.edit_minutes,
                max_chars => cs.max_chars,
                report_reasons => val(REPORT_REASONS),
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(no_store((status, Html(html)).into_response()))
}

/// `GET /{section}/{slug}-{id}/comments`
pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((section, segment)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let (_, id) = parse_story_segment(&segment).ok_or(AppError::NotFound)?;
    let (story, closed) = published_story(&state, id).await?;
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    if story.section_slug != section || !segment.starts_with(&story.slug) {
        return Ok(see_other(&path));
    }
    let req = PageRequest::from_query(q.as_deref())?;
    render_page(&state, &visitor, &story, closed, &req, None, StatusCode::OK).await
}

// ---------------------------------------------------------------------------
// Posting and editing

/// The guidelines check's verdict on a member's text, with their comments
/// of the last day as context (less `replacing`, the text an edit replaces).
async fn judge(
    state: &AppState,
    site: &Site,
    member_id: i64,
    story_id: i64,
    text: &str,
    replacing: Option<&str>,
    now: i64,
) -> AppResult<moderation::Outcome> {
    let rows = {
        let mut conn = state.db.read().await?;
        comments::recent_by_member(conn.ex(), member_id, now - 86_400_000_000).await?
    };
    let recent: Vec<moderation::Recent> = rows
        .into_iter()
        .filter(|r| Some(r.body.as_str()) != replacing)
        .map(|r| moderation::Recent {
            text: r.body,
            story: Some(r.story_id.to_string()),
            time: Some(crate::clock::from_micros(r.created_at)),
        })
        .collect();
    let (author, story) = (member_id.to_string(), story_id.to_string());
    Ok(state.checker(site).check(
        text,
        &moderation::Context {
            author: Some(&author),
            story: Some(&story),
            time: Some(crate::clock::from_micros(now)),
            recent: &recent,
        },
    ))
}
/// The status a comment gets: from the check's verdict and the policy.
async fn status_for(
    state: &AppState,
    site: &Site,
    member: &SessionMember,
    verdict: Verdict,
) -> AppResult<&'static str> {
    Ok(match verdict {
        Verdict::Reject => comments::REJECTED,
        Verdict::Hold => comments::PENDING,
        Verdict::Approve if is_staff(member) => comments::VISIBLE,
        Verdict::Approve => match site.comments.policy {
            ModerationPolicy::Post => comments::VISIBLE,
            ModerationPolicy::PreAll => comments::PENDING,
            ModerationPolicy::PreNew => {
                let mut conn = state.db.read().await?;
                let approved = comments::approved_count(conn.ex(), member.id).await?;
                if approved >= site.comments.trusted_after {
                    comments::VISIBLE
                } else {
                    comments::PENDING
                }
            }
        },
    })
}

fn json_list(reasons: &[moderation::Reason]) -> String {
    serde_json::to_string(&reasons.iter().map(|r| r.code()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// `POST /comments`: a new comment or a reply.
pub async fn post(
    State(state): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let story_id = f.id("story").ok_or_else(|| {
        AppError::BadRequest("Say which story the comment is on (story=ID).".into())
    })?;
    let (story, closed_by_editor) = published_story(&state, story_id).await?;
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first(&path));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let parent_id = f.id("parent");
    let req = PageRequest {
        sort: Sort::parse(Some(f.get("sort"))),
        page: 1,
        reply: parent_id,
        edit: None,
        report: None,
        notice: None,
    };
    let text = comment_text::clean(f.get("body"));
    let mut draft = Draft {
        form: if parent_id.is_some() { "reply" } else { "new" },
        target: parent_id,
        text: f.get("body").to_string(),
        ..Draft::default()
    };
    let (st, vis, sto, rq) = (&state, &visitor, &story, &req);
    let refuse = |draft: Draft, message: String| async move {
        let draft = Draft {
            error: Some(message),
            ..draft
        };
        render_page(
            st,
            vis,
            sto,
            closed_by_editor,
            rq,
            Some(draft),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await
    };
    if let Some(why) = closed_reason(&story, closed_by_editor, &site.comments, now) {
        return refuse(draft, why).await;
    }
    let commenter = {
        let mut conn = state.db.read().await?;
        comments::commenter(conn.ex(), member.id).await?
    };
    if let Some(until) = commenter.and_then(|c| c.banned_until).filter(|u| *u > now) {
        let shown = site.show(until);
        let message = if until > now + 50 * 365 * 86_400_000_000 {
            "You can no longer comment on this site.".to_string()
        } else {
            format!("You cannot comment until {}.", shown.long)
        };
        return refuse(draft, message).await;
    }
    if let Err(e) = comment_text::check(&text, site.comments.max_chars) {
        return refuse(draft, e.to_string()).await;
    }
    let token = f.get("token").trim().to_string();
    if token.len() < 16 || token.len() > 100 {
        return refuse(
            draft,
            "This form has expired. Post your comment again.".into(),
        )
        .await;
    }
    // A double submit: the first one made the comment.
    {
        let mut conn = state.db.read().await?;
        if let Some(c) = comments::by_idempotency_key(conn.ex(), member.id, &token).await? {
            return Ok(see_other(&format!("{path}?posted={}#c{}", c.id, c.id)));
        }
    }
    let parent = match parent_id {
        Some(pid) => {
            let mut conn = state.db.read().await?;
            let p = comments::find(conn.ex(), pid).await?;
            match p {
                Some(p) if p.story_id == story.id && p.status == comments::VISIBLE => Some(p),
                _ => {
                    draft.target = None;
                    draft.form = "new";
                    return refuse(draft, "The comment you replied to is no longer there. Your reply is below; post it as a comment of its own if you like.".into()).await;
                }
            }
        }
        None => None,
    };
    let outcome = judge(&state, &site, member.id, story.id, &text, None, now).await?;
    if outcome.verdict == Verdict::Reject {
        draft.reasons = outcome.reasons.iter().map(|r| r.message()).collect();
        return refuse(
            draft,
            "Your comment was not posted, because it does not meet our community guidelines. Edit it and post it again.".into(),
        )
        .await;
    }
    let status = status_for(&state, &site, member, outcome.verdict).await?;
    let reasons = json_list(&outcome.reasons);
    let scores = serde_json::to_string(&outcome.scores).unwrap_or_else(|_| "{}".into());
    let name = if member.display_name.is_empty() {
        member
            .email
            .split('@')
            .next()
            .unwrap_or("Reader")
            .to_string()
    } else {
        member.display_name.clone()
    };
    let mut tx = state.db.begin().await?;
    let id = comments::insert(
        tx.ex(),
        &comments::NewComment {
            story_id: story.id,
            member_id: member.id,
            parent: parent.as_ref(),
            author_name: &name,
            body: &text,
            status,
            verdict: outcome.verdict.code(),
            reasons: &reasons,
            scores: &scores,
            now,
            idempotency_key: &token,
        },
    )
    .await?;
    let Some(id) = id else {
        // The other submit won the race; show its comment.
        drop(tx);
        let mut conn = state.db.read().await?;
        let c = comments::by_idempotency_key(conn.ex(), member.id, &token)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(see_other(&format!("{path}?posted={}#c{}", c.id, c.id)));
    };
    if status == comments::VISIBLE
        && let Some(p) = &parent
    {
        notify_reply(
            &state, &site, &mut tx, p, id, member.id, &name, &text, &story, now,
        )
        .await?;
    }
    tx.commit().await?;
    crate::mail::worker::wake();
    state.previews.forget(story.id);
    Ok(see_other(&format!("{path}?posted={id}#c{id}")))
}

/// Queues "someone replied to you" for the parent's author, when they asked
/// for it, it is not their own reply, and no such mail for this thread went
/// out in the last hour.
#[allow(clippy::too_many_arguments)]
async fn notify_reply(
    state: &AppState,
    site: &Site,
    tx: &mut crate::db::Tx,
    parent: &Comment,
    reply_id: i64,
    replier_id: i64,
    replier: &str,
    text: &str,
    story: &Story,
    now: i64,
) -> AppResult<()> {
    let Some(to) = parent.member_id else {
        return Ok(());
    };
    #[derive(sqlx::FromRow)]
    struct Row {
        email: String,
        display_name: String,
        reply_mail: bool,
    }
    let row = crate::fetch_optional!(
        tx.ex(),
        Row,
        "select email, display_name, reply_mail from members where id = $1",
        to
    )?;
    let Some(row) = row else {
        return Ok(());
    };
    if !row.reply_mail || replier_id == to {
        return Ok(());
    }
    if !comments::claim_reply_mail(tx.ex(), to, parent.root_id.unwrap_or(parent.id), now).await? {
        return Ok(());
    }
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    let link = state.config.absolute(&format!("{path}#c{reply_id}"));
    let settings_link = state.config.absolute("/account/comments");
    let mail = crate::mail::compose(
        &state.renderer,
        "comment_reply",
        context! {
            site_name => site.publication.name.clone(),
            name => row.display_name,
            replier,
            headline => story.headline.clone(),
            excerpt => comment_text::excerpt(text, 300),
            yours => comment_text::excerpt(&parent.body, 160),
            link,
            settings_link,
        },
    )
    .map_err(|e| AppError::Internal(e.into()))?;
    let from = crate::mail::default_from(&state.config, &site.publication.name);
    let domain = crate::mail::message_id_domain(&state.config);
    crate::mail::enqueue(
        tx.ex(),
        &OutgoingMail::transactional(row.email, mail),
        &from,
        now,
        &domain,
    )
    .await?;
    Ok(())
}

/// Loads a comment the signed-in member acts on, with its story.
async fn own_comment(
    state: &AppState,
    member: &SessionMember,
    id: i64,
) -> AppResult<(Comment, Story, bool)> {
    let c = {
        let mut conn = state.db.read().await?;
        comments::find(conn.ex(), id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    if c.member_id != Some(member.id) {
        return Err(AppError::Forbidden(
            "Only the author of a comment can change it.".into(),
        ));
    }
    let (story, closed) = published_story(state, c.story_id).await?;
    Ok((c, story, closed))
}

/// `POST /comments/{id}/edit`
pub async fn edit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first("/account/comments"));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    let (c, story, closed_by_editor) = own_comment(&state, member, id).await?;
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    let site = state.current_site().await?;
    let now = state.now_micros();
    let req = PageRequest {
        sort: Sort::parse(Some(f.get("sort"))),
        page: 1,
        reply: None,
        edit: Some(id),
        report: None,
        notice: None,
    };
    let mut draft = Draft {
        form: "edit",
        target: Some(id),
        text: f.get("body").to_string(),
        ..Draft::default()
    };
    let (st, vis, sto, rq) = (&state, &visitor, &story, &req);
    let refuse = |draft: Draft, message: String| async move {
        render_page(
            st,
            vis,
            sto,
            closed_by_editor,
            rq,
            Some(Draft {
                error: Some(message),
                ..draft
            }),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await
    };
    if c.status == comments::DELETED {
        return Err(AppError::NotFound);
    }
    // The window is checked here, whatever the page showed.
    if now - c.created_at > site.comments.edit_minutes * 60_000_000 {
        draft.form = "new";
        draft.target = None;
        return refuse(
            draft,
            format!(
                "Comments can be edited for {} minutes after posting, and that time has passed. Your text is below if you want to post it again as a new comment.",
                site.comments.edit_minutes
            ),
        )
        .await;
    }
    let text = comment_text::clean(f.get("body"));
    if let Err(e) = comment_text::check(&text, site.comments.max_chars) {
        return refuse(draft, e.to_string()).await;
    }
    // The comment's own earlier text is not a repetition of it.
    let outcome = judge(
        &state,
        &site,
        member.id,
        story.id,
        &text,
        Some(&c.body),
        now,
    )
    .await?;
    if outcome.verdict == Verdict::Reject {
        draft.reasons = outcome.reasons.iter().map(|r| r.message()).collect();
        return refuse(
            draft,
            "Your edit was not saved, because it does not meet our community guidelines.".into(),
        )
        .await;
    }
    let status = status_for(&state, &site, member, outcome.verdict).await?;
    let mut tx = state.db.begin().await?;
    comments::edit(
        tx.ex(),
        id,
        &text,
        status,
        outcome.verdict.code(),
        &json_list(&outcome.reasons),
        &serde_json::to_string(&outcome.scores).unwrap_or_else(|_| "{}".into()),
        now,
    )
    .await?;
    comments::recount_replies(tx.ex(), c.root_id.unwrap_or(c.id)).await?;
    tx.commit().await?;
    state.previews.forget(story.id);
    Ok(see_other(&format!("{path}?posted={id}#c{id}")))
}

/// `POST /comments/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first("/account/comments"));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    let (c, story, _) = own_comment(&state, member, id).await?;
    let mut tx = state.db.begin().await?;
    comments::delete_own(tx.ex(), &c, state.now_micros()).await?;
    tx.commit().await?;
    state.previews.forget(story.id);
    let next = safe_next(Some(f.get("next")).filter(|n| !n.is_empty()));
    let back = if next == "/" {
        comments_path(&story.section_slug, &story.slug, story.id)
    } else {
        next
    };
    Ok(see_other(&back))
}

/// A comment others may act on (like, report): shown to readers.
async fn shown_comment(state: &AppState, id: i64) -> AppResult<(Comment, Story)> {
    let c = {
        let mut conn = state.db.read().await?;
        comments::find(conn.ex(), id)
            .await?
            .ok_or(AppError::NotFound)?
    };
    if c.status != comments::VISIBLE {
        return Err(AppError::NotFound);
    }
    let (story, _) = published_story(state, c.story_id).await?;
    Ok((c, story))
}

/// `POST /comments/{id}/like` (`like=1` or `like=0`)
pub async fn like(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let (c, story) = shown_comment(&state, id).await?;
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first(&path));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    if c.member_id == Some(member.id) {
        return Err(AppError::BadRequest(
            "You cannot like your own comment.".into(),
        ));
    }
    let on = f.get("like") != "0";
    let mut tx = state.db.begin().await?;
    let likes = comments::set_like(tx.ex(), id, member.id, on, state.now_micros()).await?;
    tx.commit().await?;
    if wants_json(&headers) {
        return Ok(no_store(
            axum::Json(serde_json::json!({ "liked": on, "likes": likes })).into_response(),
        ));
    }
    let sort = Sort::parse(Some(f.get("sort"))).name();
    Ok(see_other(&format!("{path}?sort={sort}#c{id}")))
}

/// The reasons a reader may give for a report: (code, label).
pub const REPORT_REASONS: &[(&str, &str)] = &[
    ("off_topic", "Off topic"),
    ("abusive", "Abusive or offensive"),
    ("personal", "A personal attack"),
    ("spam", "Spam or advertising"),
    ("other", "Something else"),
];

/// `POST /comments/{id}/report`
pub async fn report(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let (_, story) = shown_comment(&state, id).await?;
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first(&path));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    let reason = f.get("reason");
    if !REPORT_REASONS.iter().any(|(code, _)| *code == reason) {
        return Err(AppError::BadRequest(
            "Choose why you are reporting the comment: off_topic, abusive, personal, spam or other.".into(),
        ));
    }
    let note: String = f.get("note").chars().take(1_000).collect();
    let mut tx = state.db.begin().await?;
    comments::report(
        tx.ex(),
        id,
        member.id,
        reason,
        note.trim(),
        state.now_micros(),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("{path}?reported={id}#c{id}")))
}

/// `POST /comments/{id}/pin` and `/feature` (staff): `on=1` or `on=0`.
pub async fn flag(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((id, what)): Path<(i64, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let Some(member) = visitor.member.as_ref().filter(|m| is_staff(m)) else {
        return Err(AppError::Forbidden(
            "Only editors and moderators can do that.".into(),
        ));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    let column = match what.as_str() {
        "pin" => "pinned",
        "feature" => "featured",
        _ => return Err(AppError::NotFound),
    };
    let (c, story) = shown_comment(&state, id).await?;
    let on = f.get("on") != "0";
    let mut tx = state.db.begin().await?;
    comments::set_flag(tx.ex(), c.id, column, on).await?;
    comments::log(
        tx.ex(),
        &comments::LogEntry {
            moderator_id: Some(member.id),
            moderator_name: &member.display_name,
            action: &format!("{}{what}", if on { "" } else { "un" }),
            comment_id: Some(c.id),
            member_id: c.member_id,
            note: "",
            now: state.now_micros(),
        },
    )
    .await?;
    tx.commit().await?;
    state.previews.forget(story.id);
    let path = comments_path(&story.section_slug, &story.slug, story.id);
    Ok(see_other(&format!("{path}#c{id}")))
}

/// `POST /comments/story/{id}/close` (staff): `closed=1` closes, `closed=0` opens.
pub async fn close_story(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let Some(member) = visitor.member.as_ref().filter(|m| is_staff(m)) else {
        return Err(AppError::Forbidden(
            "Only editors and moderators can do that.".into(),
        ));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    let (story, _) = published_story(&state, id).await?;
    let closed = f.get("closed") != "0";
    let mut tx = state.db.begin().await?;
    comments::set_story_closed(tx.ex(), id, closed).await?;
    comments::log(
        tx.ex(),
        &comments::LogEntry {
            moderator_id: Some(member.id),
            moderator_name: &member.display_name,
            action: if closed { "close_story" } else { "open_story" },
            comment_id: None,
            member_id: None,
            note: &story.headline,
            now: state.now_micros(),
        },
    )
    .await?;
    tx.commit().await?;
    state.previews.forget(id);
    Ok(see_other(&comments_path(
        &story.section_slug,
        &story.slug,
        story.id,
    )))
}

// ---------------------------------------------------------------------------
// The preview under a story

/// The comments part of each story page, rendered once per story and kept
/// for `change_poll_ms` (forgotten at once when a comment changes here). It
/// is the same for every reader, so it costs a story page nothing per request.
pub struct Previews {
    max_age_us: i64,
    map: Mutex<HashMap<i64, (i64, Arc<str>)>>,
}

impl Previews {
    pub fn new(max_age: std::time::Duration) -> Previews {
        Previews {
            max_age_us: max_age.as_micros() as i64,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn forget(&self, story: i64) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&story);
    }

    /// The rendered preview of a story's comments.
    pub async fn get(
        &self,
        state: &AppState,
        site: &Site,
        story: &crate::db::stories::Head,
    ) -> AppResult<Arc<str>> {
        let now = state.now_micros();
        if self.max_age_us > 0
            && let Some((at, html)) = self
                .map
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&story.id)
            && now - *at <= self.max_age_us
        {
            return Ok(html.clone());
        }
        let mut conn = state.db.read().await?;
        let shown = comments::preview(conn.ex(), story.id, 3).await?;
        let count = comments::counts(conn.ex(), &[story.id])
            .await?
            .first()
            .map_or(0, |(_, n)| *n);
        let closed_by_editor = comments::story_closed(conn.ex(), story.id)
            .await?
            .unwrap_or(false);
        drop(conn);
        let v = Viewer {
            member: None,
            liked: Vec::new(),
            now,
        };
        let views: Vec<CommentView> = shown.iter().map(|c| view(site, c, &v, 0, None)).collect();
        let published = story.published_at.unwrap_or(now);
        let closed = closed_by_editor
            || (site.comments.close_after_days > 0
                && now - published > site.comments.close_after_days * 86_400_000_000);
        let html: Arc<str> = state
            .renderer
            .render(
                "partials/comments_preview.html",
                context! {
                    comments => val(views), count, closed,
                    path => comments_path(&story.section_slug, &story.slug, story.id),
                },
            )
            .map_err(|e| AppError::Internal(e.into()))?
            .into();
        if self.max_age_us > 0 {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            if map.len() > 10_000 {
                map.clear();
            }
            map.insert(story.id, (now, html.clone()));
        }
        Ok(html)
    }
}

/// `GET /account/comments`: the member's comments and the replies to them,
/// the replies new since the last visit marked.
pub async fn mine(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first("/account/comments"));
    };
    let site = state.current_site().await?;
    let now = state.now_micros();
    let mut conn = state.db.read().await?;
    let own = comments::by_member(conn.ex(), member.id, 50, 0).await?;
    let total = comments::count_by_member(conn.ex(), member.id).await?;
    let replies = comments::replies_to_member(conn.ex(), member.id, 50).await?;
    let me = comments::commenter(conn.ex(), member.id).await?;
    drop(conn);
    let seen = me.as_ref().and_then(|m| m.comments_seen_at).unwrap_or(0);
    #[derive(Serialize)]
    struct Item {
        id: i64,
        html: minijinja::Value,
        status: String,
        author: String,
        time: Shown,
        headline: String,
        url: String,
        new: bool,
    }
    let item = |m: &comments::MemberComment, new: bool| Item {
        id: m.comment.id,
        html: safe(comment_text::to_html(&m.comment.body)),
        status: m.comment.status.clone(),
        author: m.comment.author_name.clone(),
        time: site.show(m.comment.created_at),
        headline: m.headline.clone(),
        url: format!(
            "{}#c{}",
            comments_path(&m.section_slug, &m.slug, m.comment.story_id),
            m.comment.id
        ),
        new,
    };
    let own: Vec<Item> = own.iter().map(|m| item(m, false)).collect();
    let replies: Vec<Item> = replies
        .iter()
        .map(|m| item(m, m.comment.created_at > seen))
        .collect();
    let new_count = replies.iter().filter(|r| r.new).count();
    let html = state
        .renderer
        .render(
            "account/comments.html",
            context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                own => val(own), total, replies => val(replies), new_count,
                reply_mail => me.as_ref().is_some_and(|m| m.reply_mail),
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut conn = state.db.write().await?;
    comments::set_seen(conn.ex(), member.id, now).await?;
    Ok(no_store(Html(html).into_response()))
}

/// `POST /account/comments`: the reply-mail setting (`reply_mail=1|0`).
pub async fn mine_settings(
    State(state): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> AppResult<Response> {
    let f = Fields::parse(&body);
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first("/account/comments"));
    };
    check_csrf(&state, &visitor, f.get("csrf"))?;
    let mut conn = state.db.write().await?;
    comments::set_reply_mail(conn.ex(), member.id, f.get("reply_mail") == "1").await?;
    Ok(see_other("/account/comments"))
}
