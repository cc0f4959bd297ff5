//! Passwords: a forgotten one is reset through a link sent by e-mail; a
//! known one is changed by giving it again. Either way the other sessions
//! end (a thief who had one is out), links sent before stop working, and the
//! member gets a notice by mail.
//!
//! The reset form answers "check your inbox" whatever the address; an
//! unknown one is told in its mail that no account uses it.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::{
    MINUTE, NextQuery, html, link_expired, link_page, mail_allowed, page, password_problem,
    queue_mail, see_other, see_other_setting, sign_in_first, signed_in_form, start_session,
    urlencode,
};
use crate::app::AppState;
use crate::db::members;
use crate::domain::email::Email;
use crate::error::{AppError, AppResult};
use crate::http::auth::{self, Visitor, check_csrf, form_token};

/// How long a reset link works.
pub const RESET_MINUTES: i64 = 60;
/// Attempts at the current password (changing it) per member per 10 minutes.
const CHANGE_LIMIT: u32 = 10;

pub async fn forgot_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let site = state.current_site().await?;
    let (csrf, set) = form_token(&state, &visitor);
    let body = page(
        &state,
        &site,
        &visitor,
        "account/forgot.html",
        context! { csrf, email => q.email },
    )?;
    html(body, set, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// Sends a reset link to a known address, a "no account here" note to an
/// unknown one, and answers the same for both.
pub async fn forgot(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<ForgotForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(error) => {
            let (csrf, set) = form_token(&state, &visitor);
            let body = page(
                &state,
                &site,
                &visitor,
                "account/forgot.html",
                context! { csrf, error, email => f.email },
            )?;
            return html(body, set, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    mail_allowed(&state, "reset", visitor.ip, &email).await?;
    let mut tx = state.db.begin().await?;
    match members::by_email(tx.ex(), &email).await? {
        Some(member) => {
            members::retire_tokens(tx.ex(), member.id, Some("reset"), now).await?;
            let token = auth::random_token();
            members::create_token(
                tx.ex(),
                &auth::token_hash(&token),
                "reset",
                member.id,
                now,
                now + RESET_MINUTES * MINUTE,
            )
            .await?;
            let link = state
                .config
                .absolute(&format!("/account/password/reset?token={token}"));
            let ctx =
                context! { link, minutes => RESET_MINUTES, name => member.display_name.clone() };
            queue_mail(&state, &mut tx, &site, &member.email, "reset", ctx).await?;
        }
        None => {
            let link = state.config.absolute(&format!(
                "/account/register?email={}",
                urlencode(email.as_typed())
            ));
            let ctx = context! { link, asked => "reset the password of an account" };
            queue_mail(&state, &mut tx, &site, email.as_typed(), "no_account", ctx).await?;
        }
    }
    tx.commit().await?;
    crate::mail::worker::wake();
    let body = page(
        &state,
        &site,
        &visitor,
        "account/check_email.html",
        context! { email => email.as_typed(), kind => "reset", minutes => RESET_MINUTES },
    )?;
    html(body, None, StatusCode::OK)
}

/// The page a reset link opens: the new-password form (nothing is used up
/// until it is sent).
pub async fn reset_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let token = q.token.unwrap_or_default();
    link_page(
        &state,
        &visitor,
        token,
        "reset",
        "account/reset.html",
        context! {},
    )
    .await
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// Sets the new password, ends every other session, and signs in.
pub async fn reset(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<ResetForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    if let Some(error) = password_problem(&f.password) {
        let (csrf, set) = form_token(&state, &visitor);
        let body = page(
            &state,
            &site,
            &visitor,
            "account/reset.html",
            context! { csrf, token => f.token, error },
        )?;
        return html(body, set, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let hash = auth::hash_password(f.password).await?;
    let mut tx = state.db.begin().await?;
    let Some(member_id) =
        members::use_token(tx.ex(), &auth::token_hash(&f.token), "reset", now).await?
    else {
        drop(tx);
        return link_expired(&state, &site, &visitor);
    };
    let Some(member) = members::by_id(tx.ex(), member_id).await? else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a reset token without its member"
        )));
    };
    members::set_password(tx.ex(), member_id, &hash).await?;
    members::retire_tokens(tx.ex(), member_id, None, now).await?;
    members::delete_sessions_of(tx.ex(), member_id).await?;
    // The link came to the address, so the address works.
    members::mark_verified(tx.ex(), member_id, now).await?;
    let cookies = start_session(&state, &mut tx, member_id, &visitor, now).await?;
    let ctx = context! { name => member.display_name.clone(), how => "reset", link => state.config.absolute("/account/password/forgot") };
    queue_mail(
        &state,
        &mut tx,
        &site,
        &member.email,
        "password_changed",
        ctx,
    )
    .await?;
    tx.commit().await?;
    state.sessions.forget_member(member_id);
    crate::mail::worker::wake();
    see_other_setting("/account?done=password-reset", &cookies)
}

/// The change-password form (signed in).
pub async fn change_form(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    signed_in_form(
        &state,
        &visitor,
        "/account/password",
        "account/password.html",
        context! {},
    )
    .await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
}

/// Changes the password given the current one; signs out every other session.
pub async fn change(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<ChangeForm>,
) -> AppResult<Response> {
    let (Some(signed_in), Some(session)) = (&visitor.member, &visitor.session_hash) else {
        return Ok(sign_in_first("/account/password"));
    };
    check_csrf(&state, &visitor, &f.csrf)?;
    let now = state.now_micros();
    if !state
        .limiter
        .allow(
            &format!("password-change:{}", signed_in.id),
            CHANGE_LIMIT,
            600,
            now,
        )
        .await
    {
        return Err(AppError::TooMany(
            "Too many attempts. Please wait ten minutes and try again.".into(),
        ));
    }
    let site = state.current_site().await?;
    let member = {
        let mut conn = state.db.read().await?;
        members::by_id(conn.ex(), signed_in.id).await?
    };
    let Some(member) = member else {
        return Ok(see_other("/account/sign-in"));
    };
    let has_password = member.password_hash.is_some();
    let error = if !auth::verify_password(f.current, member.password_hash.clone()).await {
        Some("Your current password is not right.".to_string())
    } else {
        password_problem(&f.password)
    };
    if let Some(error) = error {
        let (csrf, set) = form_token(&state, &visitor);
        let body = page(
            &state,
            &site,
            &visitor,
            "account/password.html",
            context! { csrf, error, has_password },
        )?;
        return html(body, set, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let hash = auth::hash_password(f.password).await?;
    let mut tx = state.db.begin().await?;
    members::set_password(tx.ex(), member.id, &hash).await?;
    members::delete_other_sessions(tx.ex(), member.id, session).await?;
    members::retire_tokens(tx.ex(), member.id, None, now).await?;
    let ctx = context! { name => member.display_name.clone(), how => "change", link => state.config.absolute("/account/password/forgot") };
    queue_mail(
        &state,
        &mut tx,
        &site,
        &member.email,
        "password_changed",
        ctx,
    )
    .await?;
    tx.commit().await?;
    state.sessions.forget_member(member.id);
    crate::mail::worker::wake();
    Ok(see_other("/account?done=password"))
}
