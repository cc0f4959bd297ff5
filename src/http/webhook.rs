//! The entitlement webhook, `POST /api/entitlements/events`: how a payment
//! provider or subscription system grants and revokes members' entitlements
//! (subscriptions). `docs/webhooks.md` is its contract with senders.
//!
//! This module owns checking an event and applying it. An event is signed
//! with the shared `webhook_secret` (HMAC-SHA256 over `"{timestamp}.{raw
//! body}"`, compared in constant time), refused when its timestamp is more
//! than five minutes from the app's clock (a captured request cannot be
//! replayed later), and applied at most once: its id takes the unique
//! `event_id` column of `entitlements`, so a redelivery answers `duplicate`
//! and changes nothing. Without a configured secret the route does not exist
//! (404). Events for addresses without an account change nothing and answer
//! 202, so a sender can tell them apart without retrying them.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use crate::app::AppState;
use crate::db::members::{self, Revoking};
use crate::domain::email::Email;
use crate::error::{AppError, AppResult, ErrorPage};

/// The largest request body read; a larger one gets 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How far (either way) an event's timestamp may be from the clock.
pub const TOLERANCE_SECS: u64 = 5 * 60;
/// The header with the Unix time (seconds) the sender signed at.
pub const TIMESTAMP_HEADER: &str = "masthead-timestamp";
/// The header with `v1=<hex HMAC-SHA256>` (several, comma-separated, while
/// a sender rotates its secret).
pub const SIGNATURE_HEADER: &str = "masthead-signature";
/// At most this many signatures in the header are tried.
const MAX_SIGNATURES: usize = 8;
/// The longest event id and source kept.
const MAX_ID_CHARS: usize = 200;
const MAX_SOURCE_CHARS: usize = 100;

/// An event as sent. Fields other than these are ignored, so a sender may
/// add its own.
#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    email: String,
    source: Option<String>,
    starts_at: Option<String>,
    valid_until: Option<String>,
    /// For a revoke: the id of the grant event whose entitlement ends.
    entitlement_event: Option<String>,
}

/// Receives one event. See the module documentation for the order of checks.
pub async fn events(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let Some(secret) = state.config.webhook_secret.as_deref() else {
        return Err(AppError::NotFound);
    };
    if method != Method::POST {
        let mut res = refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Events are sent with POST.",
        );
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(res);
    }
    let Ok(raw) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return Ok(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "An event body may be at most 64 KiB.",
        ));
    };
    let now = state.clock.now();
    if let Err(why) = authenticate(secret.as_bytes(), &headers, &raw, now.as_second()) {
        tracing::warn!(reason = why, "refused an unauthenticated webhook event");
        return Ok(refuse(StatusCode::UNAUTHORIZED, "unauthorized", why));
    }
    let event: Event = serde_json::from_slice(&raw)
        .map_err(|e| AppError::BadRequest(format!("The body is not a valid event: {e}.")))?;
    let id = bounded("id", &event.id, MAX_ID_CHARS)?;
    let email =
        Email::parse(&event.email).map_err(|m| AppError::BadRequest(format!("email: {m}")))?;
    let source = event
        .source
        .as_deref()
        .map(|s| bounded("source", s, MAX_SOURCE_CHARS))
        .transpose()?;
    let now = crate::clock::micros(now);
    match event.kind.as_str() {
        "entitlement.granted" => {
            let source = source.ok_or_else(|| missing("source", "an entitlement.granted event"))?;
            let starts_at = instant("starts_at", event.starts_at.as_deref())?;
            let valid_until = instant("valid_until", event.valid_until.as_deref())?;
            if valid_until <= starts_at {
                return Err(AppError::BadRequest(
                    "valid_until must be later than starts_at.".into(),
                ));
            }
            let Some(member) = member(&state, &email).await? else {
                return Ok(no_member(id));
            };
            let mut conn = state.db.write().await?;
            let granted = members::grant_entitlement(
                conn.ex(),
                member.id,
                source,
                starts_at,
                valid_until,
                id,
                now,
            )
            .await?;
            if !granted {
                return Ok(duplicate(id));
            }
            // This instance sees the change at once; others within change_poll_ms.
            state.sessions.forget_member(member.id);
            tracing::info!(
                event = id,
                member = member.id,
                source,
                "entitlement granted"
            );
            Ok(answer(StatusCode::OK, json!({ "status": "granted" })))
        }
        "entitlement.revoked" => {
            let grant = event
                .entitlement_event
                .as_deref()
                .map(|g| bounded("entitlement_event", g, MAX_ID_CHARS))
                .transpose()?;
            let which = match (grant, source) {
                (Some(grant), _) => Revoking::Grant(grant),
                (None, Some(source)) => Revoking::Source(source),
                (None, None) => {
                    return Err(AppError::BadRequest(
                        "An entitlement.revoked event names the grant to revoke \
                         (entitlement_event) or the source whose entitlements end (source)."
                            .into(),
                    ));
                }
            };
            let Some(member) = member(&state, &email).await? else {
                return Ok(no_member(id));
            };
            let mut tx = state.db.begin().await?;
            let recorded_as = source.unwrap_or("webhook");
            let ended = members::revoke(tx.ex(), member.id, which, recorded_as, id, now).await?;
            tx.commit().await?;
            let Some(ended) = ended else {
                return Ok(duplicate(id));
            };
            state.sessions.forget_member(member.id);
            tracing::info!(
                event = id,
                member = member.id,
                ended,
                "entitlements revoked"
            );
            Ok(answer(
                StatusCode::OK,
                json!({ "status": "revoked", "revoked": ended }),
            ))
        }
        other => Err(AppError::BadRequest(format!(
            "type {other:?} is not known; it is entitlement.granted or entitlement.revoked."
        ))),
    }
}

/// Checks the event's signature and then its freshness. The signed string is
/// the timestamp header exactly as sent, a full stop, and the body's bytes.
pub(crate) fn authenticate(
    secret: &[u8],
    headers: &HeaderMap,
    body: &[u8],
    now_secs: i64,
) -> Result<(), &'static str> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp = text(TIMESTAMP_HEADER).ok_or("The Masthead-Timestamp header is missing.")?;
    let signatures = text(SIGNATURE_HEADER).ok_or("The Masthead-Signature header is missing.")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| "no usable secret")?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let signed = signatures
        .split(',')
        .take(MAX_SIGNATURES)
        .filter_map(|s| s.trim().strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .any(|tag| mac.clone().verify_slice(&tag).is_ok());
    if !signed {
        return Err("The Masthead-Signature does not match the body and timestamp.");
    }
    let at: i64 = timestamp
        .parse()
        .map_err(|_| "Masthead-Timestamp must be a Unix time in whole seconds.")?;
    if now_secs.abs_diff(at) > TOLERANCE_SECS {
        return Err(
            "Masthead-Timestamp is more than 5 minutes from our clock; sign each delivery when sending it.",
        );
    }
    Ok(())
}

async fn member(state: &AppState, email: &Email) -> AppResult<Option<members::Member>> {
    let mut conn = state.db.read().await?;
    Ok(members::by_email(conn.ex(), email).await?)
}

/// A present, not blank, not over-long text field.
pub(crate) fn bounded<'a>(field: &str, value: &'a str, max: usize) -> AppResult<&'a str> {
    if value.trim().is_empty() {
        return Err(AppError::BadRequest(format!("{field} must not be empty.")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "{field} must be at most {max} characters, without control characters."
        )));
    }
    Ok(value)
}

fn missing(field: &str, of: &str) -> AppError {
    AppError::BadRequest(format!("{field} is required in {of}."))
}

/// An RFC 3339 instant (with `Z` or an offset) as stored microseconds.
fn instant(field: &str, value: Option<&str>) -> AppResult<i64> {
    let value = value.ok_or_else(|| missing(field, "an entitlement.granted event"))?;
    let t: jiff::Timestamp = value.parse().map_err(|_| {
        AppError::BadRequest(format!(
            "{field} must be an RFC 3339 time with an offset, such as 2026-05-01T00:00:00Z; got {value:?}."
        ))
    })?;
    Ok(crate::clock::micros(t))
}

pub(crate) fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut res = (status, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn duplicate(id: &str) -> Response {
    tracing::info!(
        event = id,
        "a webhook event was delivered again; nothing changed"
    );
    answer(StatusCode::OK, json!({ "status": "duplicate" }))
}

fn no_member(id: &str) -> Response {
    tracing::info!(
        event = id,
        "a webhook event names an address with no account"
    );
    answer(StatusCode::ACCEPTED, json!({ "status": "no_member" }))
}

/// A refusal that [`AppError`] has no variant for; the `frame` middleware
/// renders it as the usual JSON error under `/api/`.
fn refuse(status: StatusCode, code: &'static str, message: &str) -> Response {
    let mut res = status.into_response();
    res.extensions_mut().insert(ErrorPage {
        code,
        title: "Refused",
        message: message.to_string(),
    });
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn headers(timestamp: &str, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
        h.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        h
    }

    #[test]
    fn a_signature_over_the_timestamp_and_body_is_accepted_within_five_minutes() {
        let body = br#"{"id":"evt_1"}"#;
        let h = headers("1700000000", &sign(SECRET, "1700000000", body));
        assert_eq!(authenticate(SECRET, &h, body, 1_700_000_000), Ok(()));
        assert_eq!(authenticate(SECRET, &h, body, 1_700_000_300), Ok(()));
        assert_eq!(authenticate(SECRET, &h, body, 1_699_999_700), Ok(()));
        assert!(authenticate(SECRET, &h, body, 1_700_000_301).is_err());
        assert!(authenticate(SECRET, &h, body, 1_699_999_699).is_err());
    }

    #[test]
    fn a_changed_body_timestamp_or_secret_is_refused() {
        let body = br#"{"id":"evt_1"}"#;
        let sig = sign(SECRET, "1700000000", body);
        let h = headers("1700000000", &sig);
        assert!(authenticate(SECRET, &h, br#"{"id":"evt_2"}"#, 1_700_000_000).is_err());
        assert!(authenticate(b"another secret", &h, body, 1_700_000_000).is_err());
        let moved = headers("1700000001", &sig);
        assert!(authenticate(SECRET, &moved, body, 1_700_000_000).is_err());
        let unversioned = headers("1700000000", sig.trim_start_matches("v1="));
        assert!(authenticate(SECRET, &unversioned, body, 1_700_000_000).is_err());
    }

    #[test]
    fn any_one_of_several_signatures_may_match() {
        let body = b"{}";
        let good = sign(SECRET, "1700000000", body);
        let h = headers("1700000000", &format!("v1=00ff, {good}"));
        assert_eq!(authenticate(SECRET, &h, body, 1_700_000_000), Ok(()));
    }

    #[test]
    fn missing_headers_and_odd_timestamps_are_refused() {
        let body = b"{}";
        assert!(authenticate(SECRET, &HeaderMap::new(), body, 0).is_err());
        let sig = sign(SECRET, "soon", body);
        assert!(authenticate(SECRET, &headers("soon", &sig), body, 0).is_err());
        let min = i64::MIN.to_string();
        let sig = sign(SECRET, &min, body);
        assert!(authenticate(SECRET, &headers(&min, &sig), body, i64::MAX).is_err());
    }
}
