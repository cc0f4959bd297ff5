//! "Download my data": everything the site keeps about a member, as one JSON
//! file. Never a password hash or a token (nor its hash): a session appears
//! by its times only.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::sign_in_first;
use crate::app::AppState;
use crate::clock::from_micros;
use crate::db::members;
use crate::domain::meter;
use crate::domain::slug::story_path;
use crate::error::{AppError, AppResult};
use crate::http::auth::{Visitor, same};

fn time(us: i64) -> String {
    from_micros(us).to_string()
}

pub async fn download(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    let (Some(signed_in), Some(current)) = (&visitor.member, &visitor.session_hash) else {
        return Ok(sign_in_first("/account/data.json"));
    };
    let site = state.current_site().await?;
    let period = meter::period(state.clock.now(), &site.tz);
    let mut conn = state.db.read().await?;
    let Some(member) = members::by_id(conn.ex(), signed_in.id).await? else {
        return Ok(sign_in_first("/account/data.json"));
    };
    let sessions = members::sessions_of(conn.ex(), member.id).await?;
    let saved = members::saved_stories(conn.ex(), member.id).await?;
    let reads = members::reads_of(conn.ex(), member.id).await?;
    let entitlements = members::entitlements_of(conn.ex(), member.id).await?;
    let comments = crate::db::comments::history(conn.ex(), member.id, i64::MAX).await?;
    let commenter = crate::db::comments::commenter(conn.ex(), member.id).await?;
    let newsletters = newsletter_data(conn.ex(), member.id, time).await?;
    drop(conn);
    let url =
        |section: &str, slug: &str, id: i64| state.config.absolute(&story_path(section, slug, id));
    let doc = json!({
        "publication": site.publication.name,
        "exported_at": state.clock.now().to_string(),
        "profile": {
            "id": member.id,
            "email": member.email,
            "display_name": member.display_name,
            "role": member.role,
            "created_at": time(member.created_at),
            "email_verified_at": member.email_verified_at.map(time),
            "has_password": member.password_hash.is_some(),
        },
        "sessions": sessions.iter().map(|s| json!({
            "current": same(&s.token_hash, current),
            "signed_in_at": time(s.created_at),
            "last_seen_at": time(s.last_seen_at),
            "expires_at": time(s.expires_at),
        })).collect::<Vec<_>>(),
        "saved_stories": saved.iter().map(|s| json!({
            "id": s.story_id,
            "headline": s.headline,
            "url": url(&s.section_slug, &s.slug, s.story_id),
            "saved_at": time(s.saved_at),
        })).collect::<Vec<_>>(),
        "meter": {
            "period": period,
            "reads_this_period": reads.iter().filter(|r| r.period == period).count(),
            "reads": reads.iter().map(|r| json!({
                "period": r.period,
                "story_id": r.story_id,
                "headline": r.headline,
                "url": match (&r.section_slug, &r.slug) {
                    (Some(sec), Some(slug)) => Some(url(sec, slug, r.story_id)),
                    _ => None,
                },
                "read_at": time(r.read_at),
            })).collect::<Vec<_>>(),
        },
        "comments": comments.iter().map(|c| json!({
            "id": c.comment.id,
            "story": { "id": c.comment.story_id, "headline": c.headline, "url": url(&c.section_slug, &c.slug, c.comment.story_id) },
            "in_reply_to": c.comment.parent_id,
            "text": c.comment.body,
            "shown_as": c.comment.author_name,
            "status": c.comment.status,
            "posted_at": time(c.comment.created_at),
            "edited_at": c.comment.edited_at.map(time),
            "likes": c.comment.like_count,
        })).collect::<Vec<_>>(),
        "comment_settings": {
            "reply_mail": commenter.as_ref().is_some_and(|c| c.reply_mail),
            "banned_until": commenter.as_ref().and_then(|c| c.banned_until).map(time),
        },
        "newsletters": newsletters,
        "entitlements": entitlements.iter().map(|e| json!({
            "source": e.source,
            "starts_at": time(e.starts_at),
            "valid_until": time(e.valid_until),
            "granted_at": time(e.created_at),
            "revoked_at": e.revoked_at.map(time),
        })).collect::<Vec<_>>(),
    });
    let body = serde_json::to_vec_pretty(&doc).map_err(|e| AppError::Internal(e.into()))?;
    let day = state.clock.now().strftime("%Y-%m-%d").to_string();
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"account-data-{day}.json\""))
            .map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(res)
}

/// The member's newsletter subscriptions and their consent history.
async fn newsletter_data(
    mut ex: crate::db::Ex<'_>,
    member_id: i64,
    time: fn(i64) -> String,
) -> Result<serde_json::Value, sqlx::Error> {
    use crate::db::stories::reborrow;
    use crate::newsletters::subscriptions as subs;
    let Some(s) = subs::subscriber_of_member(reborrow(&mut ex), member_id).await? else {
        return Ok(json!({ "subscriptions": [], "consents": [] }));
    };
    let names: std::collections::HashMap<i64, String> = subs::listed(reborrow(&mut ex))
        .await?
        .into_iter()
        .map(|n| (n.id, n.name))
        .collect();
    let rows = subs::subscriptions_of(reborrow(&mut ex), s.id).await?;
    let consents = subs::consents_of(ex, s.id).await?;
    Ok(json!({
        "address": s.email,
        "subscriptions": rows.iter().map(|r| json!({
            "newsletter": names.get(&r.newsletter_id),
            "state": r.state,
            "source": r.source,
            "asked_at": time(r.created_at),
            "confirmed_at": r.confirmed_at.map(time),
            "unsubscribed_at": r.unsubscribed_at.map(time),
        })).collect::<Vec<_>>(),
        "consents": consents.iter().map(|c| json!({
            "purpose": c.purpose,
            "granted": c.granted,
            "words": c.words,
            "source": c.source,
            "at": time(c.created_at),
        })).collect::<Vec<_>>(),
    }))
}
