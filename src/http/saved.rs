//! Saved stories: the save button's form (story page and lists) and the
//! "Saved" page. A member only ever sees and changes their own list: the
//! member comes from the session, never from the request.

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::db::{members, reading, stories};
use crate::domain::paging::Pager;
use crate::domain::time::Shown;
use crate::error::{AppError, AppResult};
use crate::render::val;
use crate::site::{CardView, card_views};

use super::auth::{Visitor, check_csrf, safe_next};
use super::pages::{page_param, site_context};
use super::{see_other, sign_in_first, wants_json};

/// Saved stories per page of the Saved page.
const PER_PAGE: u32 = 20;

#[derive(Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf: String,
    story: Option<i64>,
    #[serde(default)]
    action: String,
    next: Option<String>,
}

/// `POST /account/saved`: saves a story (`action=save`) or removes it
/// (`action=remove`), then goes back to `next`. With `Accept:
/// application/json` (the page's script) it answers `{"saved": bool}`.
pub async fn change(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<SaveForm>,
) -> AppResult<Response> {
    let next = safe_next(form.next.as_deref());
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first(&next));
    };
    check_csrf(&state, &visitor, &form.csrf)?;
    let save = match form.action.as_str() {
        "save" => true,
        "remove" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Say whether to save the story or remove it (action=save or action=remove).".into(),
            ));
        }
    };
    let story = form
        .story
        .ok_or_else(|| AppError::BadRequest("Say which story to save (story=ID).".into()))?;
    let now = state.now_micros();
    let mut conn = state.db.write().await?;
    if save {
        // Only a story that readers can open now can be saved.
        let found = stories::cards(conn.ex(), &[story], now).await?;
        if found.is_empty() {
            return Err(AppError::NotFound);
        }
        members::save_story(conn.ex(), member.id, story, now).await?;
    } else {
        members::unsave_story(conn.ex(), member.id, story).await?;
    }
    drop(conn);
    state.members.note_saved(member.id, story, save);
    if wants_json(&headers) {
        let mut res = axum::Json(serde_json::json!({ "saved": save })).into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(res);
    }
    Ok(see_other(&next))
}

#[derive(Serialize)]
struct SavedView {
    story: CardView,
    saved: Shown,
}

/// `GET /account/saved`: the member's saved stories, the most recently
/// saved first, each with the day it was saved.
pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first("/account/saved"));
    };
    let page = page_param(q.as_deref())?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let mut conn = state.db.read().await?;
    let total = reading::saved_count(conn.ex(), member.id, now).await?;
    let pager = Pager::new(page, PER_PAGE, total).ok_or(AppError::NotFound)?;
    let rows = reading::saved_page(
        conn.ex(),
        member.id,
        now,
        PER_PAGE as i64,
        pager.offset(PER_PAGE),
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.story_id).collect();
    let cards = stories::cards(conn.ex(), &ids, now).await?;
    let mut views = card_views(conn.ex(), &site, &cards).await?;
    drop(conn);
    let items: Vec<SavedView> = rows
        .iter()
        .filter_map(|r| {
            let i = views.iter().position(|v| v.id == r.story_id)?;
            Some(SavedView {
                story: views.swap_remove(i),
                saved: site.show(r.saved_at),
            })
        })
        .collect();
    let html = state
        .renderer
        .render(
            "account/saved.html",
            context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                items => val(items),
                pager => val(pager),
                total,
                path => "/account/saved",
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut res = Html(html).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
