//! Moving an account to a new address. The member asks, giving their
//! password; the new address gets a link; only that link makes the change,
//! which also marks the new address verified, retires every link sent to
//! the old one, and sends the old address a notice.
//!
//! An address that already has an account gets the same answer in the
//! browser ("check the new inbox"); its owner is told by mail that someone
//! tried, and nothing changes. The unique index on the normalised address
//! stays the judge: if the address is taken between the request and the
//! click, the change is refused then.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::{
    MINUTE, NextQuery, TokenForm, html, link_expired, link_page, mail_allowed, page, queue_mail,
    see_other, sign_in_first, signed_in_form,
};
use crate::app::AppState;
use crate::db::members;
use crate::domain::email::Email;
use crate::error::{AppError, AppResult};
use crate::http::auth::{self, Visitor, check_csrf, form_token};

/// How long the link to the new address works.
pub const CHANGE_HOURS: i64 = 24;

pub async fn form(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    signed_in_form(
        &state,
        &visitor,
        "/account/email",
        "account/email.html",
        context! {},
    )
    .await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn request(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<ChangeForm>,
) -> AppResult<Response> {
    let Some(signed_in) = &visitor.member else {
        return Ok(sign_in_first("/account/email"));
    };
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let member = {
        let mut conn = state.db.read().await?;
        members::by_id(conn.ex(), signed_in.id).await?
    };
    let Some(member) = member else {
        return Ok(see_other("/account/sign-in"));
    };
    let has_password = member.password_hash.is_some();
    let again = |error: String| -> AppResult<Response> {
        let (csrf, set) = form_token(&state, &visitor);
        let body = page(
            &state,
            &site,
            &visitor,
            "account/email.html",
            context! { csrf, error, email => f.email.clone(), has_password },
        )?;
        html(body, set, StatusCode::UNPROCESSABLE_ENTITY)
    };
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => return again(e),
    };
    if email.normalized() == member.email.to_lowercase() {
        return again("That is the address your account has now.".into());
    }
    // Counted per client, per new address, and (through the new-address
    // limit of "change-email-member") per member.
    mail_allowed(&state, "change-email", visitor.ip, &email).await?;
    if !state
        .limiter
        .allow(
            &format!("change-email-member:{}", member.id),
            super::MAIL_LIMIT_PER_ADDRESS,
            3600,
            now,
        )
        .await
    {
        return Err(AppError::TooMany(
            "You have asked several times already. Please try again in an hour.".into(),
        ));
    }
    // A member made without a password (by a person at the desk) has none
    // to give; the link to the new address and the notice to the old one
    // are then the checks.
    if has_password
        && !auth::verify_password(f.password.clone(), member.password_hash.clone()).await
    {
        return again("Your password is not right.".into());
    }
    let mut tx = state.db.begin().await?;
    if members::by_email(tx.ex(), &email).await?.is_some() {
        let link = state.config.absolute("/account/sign-in");
        let ctx = context! { link };
        queue_mail(&state, &mut tx, &site, email.as_typed(), "email_taken", ctx).await?;
    } else {
        members::retire_tokens(tx.ex(), member.id, Some("change_email"), now).await?;
        let token = auth::random_token();
        members::create_address_token(
            tx.ex(),
            &auth::token_hash(&token),
            "change_email",
            member.id,
            &email,
            None,
            now,
            now + CHANGE_HOURS * 60 * MINUTE,
        )
        .await?;
        let link = state
            .config
            .absolute(&format!("/account/email/confirm?token={token}"));
        let ctx = context! { link, hours => CHANGE_HOURS, name => member.display_name.clone() };
        queue_mail(
            &state,
            &mut tx,
            &site,
            email.as_typed(),
            "change_email",
            ctx,
        )
        .await?;
    }
    tx.commit().await?;
    crate::mail::worker::wake();
    let body = page(
        &state,
        &site,
        &visitor,
        "account/check_email.html",
        context! { email => email.as_typed(), kind => "change_email", hours => CHANGE_HOURS },
    )?;
    html(body, None, StatusCode::OK)
}

/// The page the link to the new address opens: a button that POSTs.
pub async fn confirm_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let token = q.token.unwrap_or_default();
    link_page(
        &state,
        &visitor,
        token,
        "change_email",
        "account/email_confirm.html",
        context! {},
    )
    .await
}

pub async fn confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<TokenForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    let used =
        members::use_address_token(tx.ex(), &auth::token_hash(&f.token), "change_email", now)
            .await?;
    let Some(used) = used else {
        drop(tx);
        return link_expired(&state, &site, &visitor);
    };
    let Some(member) = members::by_id(tx.ex(), used.member_id).await? else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "an address token without its member"
        )));
    };
    let new = Email::parse(&used.email)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("a stored address does not parse: {e}")))?;
    if !members::set_email(tx.ex(), member.id, &new, now).await? {
        drop(tx);
        return Err(AppError::BadRequest(
            "Another account has this address now, so yours was not changed.".into(),
        ));
    }
    crate::newsletters::subscriptions::member_address_changed(&mut tx, member.id, &new).await?;
    // Links sent to the old address (a password reset ...) must not work now.
    members::retire_tokens(tx.ex(), member.id, None, now).await?;
    let ctx = context! {
        name => member.display_name.clone(), new => new.as_typed(),
        link => state.config.absolute("/"),
    };
    queue_mail(&state, &mut tx, &site, &member.email, "email_changed", ctx).await?;
    tx.commit().await?;
    state.sessions.forget_member(member.id);
    crate::mail::worker::wake();
    if visitor.member.as_ref().is_some_and(|m| m.id == member.id) {
        return Ok(see_other("/account?done=email"));
    }
    let body = page(
        &state,
        &site,
        &visitor,
        "account/email_changed.html",
        context! { email => new.as_typed() },
    )?;
    html(body, None, StatusCode::OK)
}
