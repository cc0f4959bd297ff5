//! "We found 37 comments from your earlier account": a member whose
//! address is verified here, and was known to the old platform as a
//! registered, non-anonymous account's, is offered the comments imported
//! under it. On confirming, the comments become theirs (on "My comments and
//! replies", with reply mail), under the old display name or their current one.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::{html, page, see_other, sign_in_first};
use crate::app::AppState;
use crate::db::imports;
use crate::error::AppResult;
use crate::http::auth::{Visitor, check_csrf};

pub const PATH: &str = "/account/earlier-comments";

/// The offer for a member, if any: only to a verified address.
pub async fn offer_for(
    state: &AppState,
    m: &crate::db::members::SessionMember,
) -> AppResult<imports::Offer> {
    if m.email_verified_at.is_none() {
        return Ok(imports::Offer::default());
    }
    let mut conn = state.db.read().await?;
    Ok(imports::offer(conn.ex(), &m.email.to_lowercase()).await?)
}

pub async fn form(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first(PATH));
    };
    let site = state.current_site().await?;
    let offer = offer_for(&state, member).await?;
    let names = if offer.comments > 0 {
        let mut conn = state.db.read().await?;
        imports::offered_names(conn.ex(), &member.email.to_lowercase()).await?
    } else {
        Vec::new()
    };
    let body = page(
        &state,
        &site,
        &visitor,
        "account/earlier_comments.html",
        context! { offer => crate::render::val(offer), names, verified => member.email_verified_at.is_some() },
    )?;
    html(body, None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ClaimForm {
    #[serde(default)]
    csrf: String,
    /// `old` (the default) or `current`.
    #[serde(default)]
    name: String,
}

pub async fn claim(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<ClaimForm>,
) -> AppResult<Response> {
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first(PATH));
    };
    check_csrf(&state, &visitor, &f.csrf)?;
    if member.email_verified_at.is_none() {
        return Ok(see_other(PATH));
    }
    let current = (f.name == "current").then(|| {
        if member.display_name.trim().is_empty() {
            member.email.clone()
        } else {
            member.display_name.clone()
        }
    });
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    imports::claim(
        tx.ex(),
        member.id,
        &member.email.to_lowercase(),
        current.as_deref(),
        now,
    )
    .await?;
    crate::db::settings::bump_content_epoch(tx.ex()).await?;
    tx.commit().await?;
    Ok(see_other("/account/comments?claimed=1"))
}
