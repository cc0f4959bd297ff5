//! The moderators' desk: the queue of held and reported comments, with the
//! guidelines check's reasons and scores; approve, reject, mark as spam and
//! ban, one at a time or in bulk; each author's history; and the log of every
//! action, written in the same transaction as the action.

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::db::comments::{self, Comment};
use crate::db::members::SessionMember;
use crate::domain::comment_text;
use crate::domain::time::Shown;
use crate::error::{AppError, AppResult};
use crate::render::{safe, val};
use crate::site::Site;

use super::auth::{Visitor, check_csrf};
use super::comments::comments_path;
use super::pages::site_context;
use super::{form_fields, form_value, see_other};

/// "For good": a ban that ends in a thousand years.
const FOREVER_DAYS: i64 = 365_000;

fn moderator(visitor: &Visitor) -> AppResult<&SessionMember> {
    match &visitor.member {
        Some(m) if matches!(m.role.as_str(), "moderator" | "editor" | "admin") => Ok(m),
        Some(_) => Err(AppError::Forbidden(
            "The moderators' desk is for moderators, editors and admins.".into(),
        )),
        None => Err(AppError::Forbidden(
            "Sign in as a moderator to use the moderators' desk.".into(),
        )),
    }
}

fn html(body: String) -> Response {
    super::no_store(Html(body).into_response())
}

#[derive(Serialize)]
struct Item {
    id: i64,
    html: minijinja::Value,
    author: String,
    member_id: Option<i64>,
    time: Shown,
    status: String,
    verdict: String,
    reasons: Vec<String>,
    scores: Vec<(String, String)>,
    reports: Vec<(String, String)>,
    headline: String,
    url: String,
    edited: bool,
}

fn item(
    site: &Site,
    c: &Comment,
    headline: &str,
    url: String,
    reports: Vec<(String, String)>,
) -> Item {
    let reasons: Vec<String> = serde_json::from_str(&c.reasons).unwrap_or_default();
    let scores: std::collections::BTreeMap<String, f64> =
        serde_json::from_str(&c.scores).unwrap_or_default();
    Item {
        id: c.id,
        html: safe(comment_text::to_html(&c.body)),
        author: c.author_name.clone(),
        member_id: c.member_id,
        time: site.show(c.created_at),
        status: c.status.clone(),
        verdict: c.verdict.clone(),
        reasons,
        scores: scores
            .into_iter()
            .map(|(k, v)| (k, format!("{v:.2}")))
            .collect(),
        reports,
        headline: headline.to_string(),
        url,
        edited: c.edited_at.is_some(),
    }
}

/// `GET /moderation`: the queue (`?q=` searches text and authors).
pub async fn queue(
    State(state): State<AppState>,
    visitor: Visitor,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    moderator(&visitor)?;
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let search = query
        .get("q")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let site = state.current_site().await?;
    let mut conn = state.db.read().await?;
    let rows = comments::queue(conn.ex(), &search, 200).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.comment.id).collect();
    let reports = comments::open_reports(conn.ex(), &ids).await?;
    drop(conn);
    let labels: HashMap<&str, &str> = super::comments::REPORT_REASONS.iter().copied().collect();
    let items: Vec<Item> = rows
        .iter()
        .map(|r| {
            let rs = reports
                .iter()
                .filter(|x| x.comment_id == r.comment.id)
                .map(|x| {
                    (
                        labels
                            .get(x.reason.as_str())
                            .unwrap_or(&"Other")
                            .to_string(),
                        x.note.clone(),
                    )
                })
                .collect();
            let url = format!(
                "{}#c{}",
                comments_path(&r.section_slug, &r.slug, r.comment.story_id),
                r.comment.id
            );
            item(&site, &r.comment, &r.headline, url, rs)
        })
        .collect();
    let notice = query.get("done").cloned();
    let body = state
        .renderer
        .render(
            "moderation/queue.html",
            context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                items => val(items), search, notice,
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(html(body))
}

/// What a moderator's action does to one comment.
fn status_after(action: &str) -> Option<&'static str> {
    match action {
        "approve" => Some(comments::VISIBLE),
        "reject" => Some(comments::REJECTED),
        "spam" => Some(comments::SPAM),
        a if a.starts_with("ban") => Some(comments::REJECTED),
        _ => None,
    }
}

fn ban_days(action: &str) -> Option<i64> {
    match action {
        "ban_1" => Some(1),
        "ban_7" => Some(7),
        "ban_30" => Some(30),
        "ban_forever" => Some(FOREVER_DAYS),
        _ => None,
    }
}

/// `POST /moderation`: one action on the chosen comments (`ids`, repeated),
/// each with its log line, all in one transaction.
pub async fn act(
    State(state): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> AppResult<Response> {
    let me = moderator(&visitor)?;
    let f = form_fields(&body);
    check_csrf(&state, &visitor, form_value(&f, "csrf"))?;
    // "Ban" takes its length from the list beside it.
    let action = match form_value(&f, "action") {
        "ban" => form_value(&f, "ban"),
        a => a,
    };
    let status = status_after(action).ok_or_else(|| {
        AppError::BadRequest(
            "Choose an action: approve, reject, spam, ban_1, ban_7, ban_30 or ban_forever.".into(),
        )
    })?;
    let ids: BTreeSet<i64> = f
        .get("ids")
        .into_iter()
        .flatten()
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if ids.is_empty() {
        return Ok(see_other("/moderation?done=none"));
    }
    let note: String = form_value(&f, "note").trim().chars().take(500).collect();
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    let mut stories = BTreeSet::new();
    let mut banned = BTreeSet::new();
    for id in &ids {
        let Some(c) = comments::find(tx.ex(), *id).await? else {
            continue;
        };
        if c.status == comments::DELETED {
            continue;
        }
        comments::set_status(tx.ex(), &c, status).await?;
        comments::resolve_reports(tx.ex(), c.id, now).await?;
        comments::log(
            tx.ex(),
            &comments::LogEntry {
                moderator_id: Some(me.id),
                moderator_name: &me.display_name,
                action: if action.starts_with("ban") {
                    "reject"
                } else {
                    action
                },
                comment_id: Some(c.id),
                member_id: c.member_id,
                note: &note,
                now,
            },
        )
        .await?;
        stories.insert(c.story_id);
        if let Some(days) = ban_days(action)
            && let Some(m) = c.member_id
            && banned.insert(m)
        {
            comments::set_ban(tx.ex(), m, Some(now + days * 86_400_000_000)).await?;
            comments::log(
                tx.ex(),
                &comments::LogEntry {
                    moderator_id: Some(me.id),
                    moderator_name: &me.display_name,
                    action,
                    comment_id: Some(c.id),
                    member_id: Some(m),
                    note: &note,
                    now,
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    for s in stories {
        state.previews.forget(s);
    }
    Ok(see_other(&format!("/moderation?done={action}")))
}

/// `GET /moderation/member/{id}`: an author's comments and the log about them.
pub async fn member(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    moderator(&visitor)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let mut conn = state.db.read().await?;
    let who = crate::db::members::by_id(conn.ex(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let commenter = comments::commenter(conn.ex(), id).await?;
    let rows = comments::history(conn.ex(), id, 200).await?;
    let log = comments::log_page(conn.ex(), Some(id), 100, 0).await?;
    let identities =
        crate::db::imports::unclaimed_like(conn.ex(), &who.email.to_lowercase(), &who.display_name)
            .await?;
    drop(conn);
    let items: Vec<Item> = rows
        .iter()
        .map(|r| {
            let url = format!(
                "{}#c{}",
                comments_path(&r.section_slug, &r.slug, r.comment.story_id),
                r.comment.id
            );
            item(&site, &r.comment, &r.headline, url, Vec::new())
        })
        .collect();
    let mut counts: HashMap<String, i64> = HashMap::new();
    for r in &rows {
        *counts.entry(r.comment.status.clone()).or_default() += 1;
    }
    let banned_until = commenter
        .and_then(|c| c.banned_until)
        .filter(|u| *u > now)
        .map(|u| (site.show(u), u > now + 50 * 365 * 86_400_000_000));
    let body = state
        .renderer
        .render(
            "moderation/member.html",
            context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                who => context! { id => who.id, name => who.display_name, email => who.email, joined => val(site.show(who.created_at)) },
                items => val(items), counts,
                banned_until => val(banned_until),
                log => val(log_views(&site, &log)),
                identities => val(identities),
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(html(body))
}

/// `POST /moderation/member/{id}`: `action=ban_N|ban_forever|unban`.
pub async fn member_act(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let me = moderator(&visitor)?;
    let f = form_fields(&body);
    check_csrf(&state, &visitor, form_value(&f, "csrf"))?;
    let action = form_value(&f, "action");
    let now = state.now_micros();
    let until = match (action, ban_days(action)) {
        ("unban", _) => None,
        (_, Some(days)) => Some(now + days * 86_400_000_000),
        _ => {
            return Err(AppError::BadRequest(
                "Choose an action: ban_1, ban_7, ban_30, ban_forever or unban.".into(),
            ));
        }
    };
    let note: String = form_value(&f, "note").trim().chars().take(500).collect();
    let mut tx = state.db.begin().await?;
    if crate::db::members::by_id(tx.ex(), id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    comments::set_ban(tx.ex(), id, until).await?;
    comments::log(
        tx.ex(),
        &comments::LogEntry {
            moderator_id: Some(me.id),
            moderator_name: &me.display_name,
            action,
            comment_id: None,
            member_id: Some(id),
            note: &note,
            now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/moderation/member/{id}")))
}

/// `POST /moderation/member/{id}/attach`: `identity=N` gives the member
/// the comments of an imported author (a guest's, say), at their request.
pub async fn attach_identity(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let me = moderator(&visitor)?;
    let f = form_fields(&body);
    check_csrf(&state, &visitor, form_value(&f, "csrf"))?;
    let identity: i64 = form_value(&f, "identity").trim().parse().map_err(|_| {
        AppError::BadRequest("Give the number of the import identity to attach.".into())
    })?;
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    if crate::db::members::by_id(tx.ex(), id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let n = crate::db::imports::attach_identity(tx.ex(), id, identity, now).await?;
    comments::log(
        tx.ex(),
        &comments::LogEntry {
            moderator_id: Some(me.id),
            moderator_name: &me.display_name,
            action: "attach_import",
            comment_id: None,
            member_id: Some(id),
            note: &format!("import identity {identity}: {n} comments"),
            now,
        },
    )
    .await?;
    crate::db::settings::bump_content_epoch(tx.ex()).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/moderation/member/{id}")))
}

/// `GET /moderation/imports`: the history of imports, for staff.
pub async fn imports(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    moderator(&visitor)?;
    let site = state.current_site().await?;
    let rows = {
        let mut conn = state.db.read().await?;
        crate::db::imports::list(conn.ex()).await?
    };
    #[derive(Serialize)]
    struct View {
        #[serde(flatten)]
        row: crate::db::imports::ImportRow,
        started: Shown,
    }
    let imports: Vec<View> = rows
        .into_iter()
        .map(|row| View {
            started: site.show(row.started_at),
            row,
        })
        .collect();
    let body = state
        .renderer
        .render(
            "moderation/imports.html",
            context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                imports => val(imports),
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(html(body))
}

#[derive(Serialize)]
struct LogView {
    who: String,
    action: String,
    comment_id: Option<i64>,
    member_id: Option<i64>,
    note: String,
    time: Shown,
}

fn log_views(site: &Site, rows: &[comments::LogRow]) -> Vec<LogView> {
    rows.iter()
        .map(|r| LogView {
            who: r.moderator_name.clone(),
            action: r.action.replace('_', " "),
            comment_id: r.comment_id,
            member_id: r.member_id,
            note: r.note.clone(),
            time: site.show(r.created_at),
        })
        .collect()
}

/// `GET /moderation/log`: every action, newest first (`?page=N`).
pub async fn log(
    State(state): State<AppState>,
    visitor: Visitor,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    moderator(&visitor)?;
    let page = super::pages::page_param(q.as_deref())?;
    let site = state.current_site().await?;
    let mut conn = state.db.read().await?;
    let rows = comments::log_page(conn.ex(), None, 101, (i64::from(page) - 1) * 100).await?;
    drop(conn);
    let more = rows.len() > 100;
    let body = state
        .renderer
        .render(
            "moderation/log.html",
            context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                log => val(log_views(&site, &rows[..rows.len().min(100)])),
                page, more,
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(html(body))
}
