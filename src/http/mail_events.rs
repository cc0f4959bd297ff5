//! The mail-event webhook, `POST /webhooks/mail-events`: how a mail
//! provider that sends the publication's bulk mail reports bounces and
//! complaints (`docs/newsletters.md`, "Bounces and complaints").
//!
//! Signed like the entitlement webhook (`webhook.rs`, whose check is used
//! here): HMAC-SHA256 with `mail_webhook_secret` over
//! `"{Masthead-Timestamp}.{raw body}"`, the timestamp within five minutes of
//! the clock. Each event is applied at most once by its id. Without a
//! configured secret the route answers 404.
//!
//! Also the admins' page of the suppression list, `/admin/mail/suppressions`.

use std::collections::HashMap;

use axum::Form;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::auth::{Visitor, check_csrf};
use super::pages::site_context;
use super::webhook::{MAX_BODY_BYTES, answer, authenticate};
use crate::app::AppState;
use crate::domain::email::Email;
use crate::error::{AppError, AppResult};
use crate::newsletters::bounces::{self, EventKind, Recorded};
use crate::render::val;

/// The most events one post may carry.
pub const MAX_EVENTS: usize = 500;
const MAX_ID_CHARS: usize = 200;
const MAX_DETAIL_CHARS: usize = 500;

#[derive(Deserialize)]
struct Post {
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: EventKind,
    email: String,
    #[serde(default)]
    detail: String,
    id: String,
}

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    // Senders are programs: a refused post is answered in JSON, not a page.
    match receive(state, headers, body).await {
        Err(AppError::BadRequest(message)) => Ok(answer(
            StatusCode::BAD_REQUEST,
            json!({ "error": "bad_request", "message": message }),
        )),
        other => other,
    }
}

async fn receive(state: AppState, headers: HeaderMap, body: Body) -> AppResult<Response> {
    let Some(secret) = state.config.mail_webhook_secret.as_deref() else {
        return Err(AppError::NotFound);
    };
    let Ok(raw) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Ok(answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({ "error": "payload_too_large", "message": "A post may be at most 64 KiB; send fewer events at a time." }),
        ));
    };
    let now = state.clock.now();
    if let Err(why) = authenticate(secret.as_bytes(), &headers, &raw, now.as_second()) {
        tracing::warn!(reason = why, "refused an unauthenticated mail event post");
        return Ok(answer(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "unauthorized", "message": why }),
        ));
    }
    let post: Post = serde_json::from_slice(&raw).map_err(|e| {
        AppError::BadRequest(format!(
            "The body is not {{\"events\": [...]}} with events of type hard_bounce, soft_bounce or complaint: {e}."
        ))
    })?;
    if post.events.len() > MAX_EVENTS {
        return Err(AppError::BadRequest(format!(
            "At most {MAX_EVENTS} events a post."
        )));
    }
    // Check every event before applying any, so a bad one changes nothing.
    let mut checked = Vec::with_capacity(post.events.len());
    for (i, e) in post.events.iter().enumerate() {
        let id = super::webhook::bounded(&format!("events[{i}].id"), &e.id, MAX_ID_CHARS)?;
        let email = Email::parse(&e.email)
            .map_err(|m| AppError::BadRequest(format!("events[{i}].email: {m}")))?;
        let detail: String = e
            .detail
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_DETAIL_CHARS)
            .collect();
        checked.push((id, email, e.kind, detail));
    }
    let now = crate::clock::micros(now);
    let (mut applied, mut duplicates, mut suppressed) = (0, 0, 0);
    for (id, email, kind, detail) in checked {
        let mut tx = state.db.begin().await?;
        if let crate::db::Ex::Postgres(c) = tx.ex() {
            // Two deliveries of one event at once: the second waits, then
            // sees the first.
            sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 7))")
                .bind(id)
                .execute(&mut *c)
                .await?;
        }
        if bounces::webhook_event_seen(tx.ex(), id, email.normalized(), kind).await? {
            duplicates += 1;
            continue;
        }
        let kept = format!("{id}\n{detail}");
        let r = bounces::record(tx.ex(), email.normalized(), kind, &kept, "webhook", now).await?;
        tx.commit().await?;
        applied += 1;
        if matches!(r, Recorded::Suppressed(_)) {
            suppressed += 1;
        }
    }
    tracing::info!(
        applied,
        duplicates,
        suppressed,
        "mail events received by webhook"
    );
    Ok(answer(
        StatusCode::OK,
        json!({ "applied": applied, "duplicates": duplicates, "suppressed": suppressed }),
    ))
}

/// Rows on one page of the staff list.
const PAGE_ROWS: i64 = 100;

#[derive(serde::Serialize)]
struct Row {
    email: String,
    reason: String,
    detail: String,
    time: crate::domain::time::Shown,
}

/// `None` for an admin; else the answer: sign in first, or 403.
fn not_admin(visitor: &Visitor) -> Option<Response> {
    match &visitor.member {
        Some(m) if m.role == "admin" => None,
        Some(_) => {
            Some(AppError::Forbidden("The suppression list is for admins.".into()).into_response())
        }
        None => Some(super::sign_in_first("/admin/mail/suppressions")),
    }
}

/// `GET /admin/mail/suppressions[?after=ADDR]`: the list, in address order,
/// with a form to add an address and a button to remove each.
pub async fn suppressions_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    if let Some(r) = not_admin(&visitor) {
        return Ok(r);
    }
    let after = q.get("after").cloned().unwrap_or_default();
    let site = state.current_site().await?;
    let mut conn = state.db.read().await?;
    let list = bounces::suppressions(conn.ex(), &after, PAGE_ROWS).await?;
    drop(conn);
    let next = (list.len() as i64 == PAGE_ROWS)
        .then(|| list.last().map(|s| s.email_normalized.clone()))
        .flatten();
    let rows: Vec<Row> = list
        .into_iter()
        .map(|s| Row {
            time: site.show(s.created_at),
            email: s.email_normalized,
            reason: s.reason,
            detail: s.detail,
        })
        .collect();
    let body = state
        .renderer
        .render(
            "newsletters/suppressions.html",
            minijinja::context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                rows => val(rows),
                after, next,
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut res = Html(body).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `POST /admin/mail/suppressions`: `action=add` (address, reason) or
/// `action=remove` (address), with the form's CSRF token.
pub async fn suppressions_act(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<HashMap<String, String>>,
) -> AppResult<Response> {
    if let Some(r) = not_admin(&visitor) {
        return Ok(r);
    }
    let field = |k: &str| f.get(k).map_or("", String::as_str);
    check_csrf(&state, &visitor, field("csrf"))?;
    let email = Email::parse(field("address")).map_err(AppError::BadRequest)?;
    let now = crate::clock::micros(state.clock.now());
    match field("action") {
        "add" => {
            let reason = field("reason").trim();
            if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
                return Err(AppError::BadRequest(
                    "The reason is one line of at most 500 characters.".into(),
                ));
            }
            let mut conn = state.db.write().await?;
            bounces::suppress(
                conn.ex(),
                email.normalized(),
                bounces::Reason::Manual,
                reason,
                now,
            )
            .await?;
        }
        "remove" => {
            let mut tx = state.db.begin().await?;
            bounces::unsuppress(tx.ex(), email.normalized()).await?;
            tx.commit().await?;
        }
        _ => {
            return Err(AppError::BadRequest(
                "Choose to add or to remove an address.".into(),
            ));
        }
    }
    Ok(super::see_other("/admin/mail/suppressions"))
}
