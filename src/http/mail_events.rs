//! The mail-event webhook, `POST /webhooks/mail-events`: how a mail
//! provider that sends the publication's bulk mail reports bounces and
//! complaints (`docs/newsletters.md`, "Bounces and complaints").
//!
//! Signed like the entitlement webhook (`webhook.rs`, whose check is used
//! here): HMAC-SHA256 with `mail_webhook_secret` over
//! `"{Masthead-Timestamp}.{raw body}"`, the timestamp within five minutes of
//! the clock. Each event is applied at most once by its id. Without a
//! configured secret the route answers 404.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::webhook::{MAX_BODY_BYTES, answer, authenticate};
use crate::app::AppState;
use crate::domain::email::Email;
use crate::error::{AppError, AppResult};
use crate::newsletters::bounces::{self, EventKind, Recorded};

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
        if bounces::webhook_event_seen(tx.ex(), id).await? {
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
