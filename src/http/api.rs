//! The JSON side: health, the OpenAPI description, and a read-only story API.
//!
//! The story API gives what lists and feeds give (headline, standfirst,
//! bylines, section, topics, times, addresses), not the story's text: the text
//! goes out only through the access decision.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::db::stories::{self, Filter};
use crate::db::topics;
use crate::domain::paging::Pager;
use crate::error::{AppError, AppResult};
use crate::site::{BylineView, CardView, card_views};

use super::pages::page_param;

/// `GET /healthz`: 200 when the database answers, 503 when it does not.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "database unavailable" })),
            )
                .into_response()
        }
    }
}

/// `GET /api/openapi.json`
pub async fn openapi(State(state): State<AppState>) -> Response {
    let mut doc: serde_json::Value = serde_json::from_str(include_str!("../../docs/openapi.json"))
        .expect("the built-in OpenAPI document is JSON");
    doc["servers"] =
        serde_json::json!([{ "url": state.config.public_url.as_str().trim_end_matches('/') }]);
    Json(doc).into_response()
}

#[derive(Serialize)]
struct StoryOut {
    id: i64,
    url: String,
    headline: String,
    standfirst: String,
    section: String,
    published: String,
    updated: Option<String>,
    bylines: Vec<BylineView>,
    image: Option<String>,
    image_alt: String,
    access_level: &'static str,
}

fn out(state: &AppState, c: CardView, level: &str) -> StoryOut {
    StoryOut {
        id: c.id,
        url: state.config.absolute(&c.url),
        headline: c.headline,
        standfirst: c.standfirst,
        section: c.section.name,
        published: c.published.iso,
        updated: c.updated.map(|u| u.iso),
        bylines: c.bylines,
        image: c.picture.map(|p| state.config.absolute(&p.large)),
        image_alt: c.alt,
        access_level: match level {
            "free" => "free",
            "subscribers" => "subscribers",
            _ => "metered",
        },
    }
}

/// `GET /api/stories?page=N`: the latest published stories, 20 a page.
pub async fn stories(State(state): State<AppState>, RawQuery(q): RawQuery) -> AppResult<Response> {
    let page = page_param(q.as_deref())?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let mut conn = state.db.read().await?;
    let total = stories::count(conn.ex(), Filter::All, now).await?;
    let pager = Pager::new(page, 20, total).ok_or(AppError::NotFound)?;
    let cards = stories::list(conn.ex(), Filter::All, now, 20, pager.offset(20)).await?;
    let levels: Vec<String> = cards.iter().map(|c| c.access_level.clone()).collect();
    let views = card_views(conn.ex(), &site, &cards).await?;
    let items: Vec<StoryOut> = views
        .into_iter()
        .zip(levels)
        .map(|(v, l)| out(&state, v, &l))
        .collect();
    Ok(Json(serde_json::json!({ "stories": items, "page": pager.page, "last_page": pager.last, "total": total })).into_response())
}

/// `GET /api/stories/{id}`
pub async fn story(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| {
        AppError::BadRequest(format!("A story id is a whole number; “{id}” is not."))
    })?;
    let site = state.current_site().await?;
    let mut conn = state.db.read().await?;
    let cards = stories::cards(conn.ex(), &[id], state.now_micros()).await?;
    let Some(card) = cards.first() else {
        return Err(AppError::NotFound);
    };
    let level = card.access_level.clone();
    let topics: Vec<String> = topics::for_stories(conn.ex(), &[id])
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let view = card_views(conn.ex(), &site, &cards)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let mut v = serde_json::to_value(out(&state, view, &level))
        .map_err(|e| AppError::Internal(e.into()))?;
    v["topics"] = serde_json::json!(topics);
    Ok(Json(v).into_response())
}
