//! Deleting an account. The member confirms with their password; then, in
//! one transaction, [`members::delete_member`] removes the member and
//! everything personal kept about them, their comments are dealt with as the
//! publication's `deleted_member_comments` setting says, every session ends,
//! and the browser is shown a goodbye page. The address may register again.
//!
//! Staff accounts are not deleted from here: an editor or administrator is
//! first made an ordinary member by another administrator (or with
//! `masthead user create --email ADDR --role member`), so a publication
//! cannot lose its last administrator by a click. A member without a
//! password (made at the desk) first sets one through "Forgotten your
//! password?", which proves they hold the address.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;

use super::{html, page, see_other, sign_in_first, signed_in_form};
use crate::app::AppState;
use crate::config::DeletedMemberComments;
use crate::db::members;
use crate::error::{AppError, AppResult};
use crate::http::auth::{self, Visitor, check_csrf, form_token};

/// Attempts at the password per member per 10 minutes.
const DELETE_LIMIT: u32 = 10;

fn comments_policy(state: &AppState) -> &'static str {
    match state.config.deleted_member_comments {
        DeletedMemberComments::Anonymise => "anonymise",
        DeletedMemberComments::Delete => "delete",
    }
}

pub async fn form(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    let comments = comments_policy(&state);
    signed_in_form(
        &state,
        &visitor,
        "/account/delete",
        "account/delete.html",
        context! { comments },
    )
    .await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

pub async fn delete(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<DeleteForm>,
) -> AppResult<Response> {
    let Some(signed_in) = &visitor.member else {
        return Ok(sign_in_first("/account/delete"));
    };
    check_csrf(&state, &visitor, &f.csrf)?;
    if signed_in.role != "member" {
        return Err(AppError::Forbidden(
            "Staff accounts are closed by an administrator, who first makes the account an ordinary member's.".into(),
        ));
    }
    let now = state.now_micros();
    if !state
        .limiter
        .allow(
            &format!("delete-account:{}", signed_in.id),
            DELETE_LIMIT,
            600,
            now,
        )
        .await
    {
        return Err(AppError::TooMany(
            "Too many attempts. Please wait ten minutes and try again.".into(),
        ));
    }
    let member = {
        let mut conn = state.db.read().await?;
        members::by_id(conn.ex(), signed_in.id).await?
    };
    let Some(member) = member else {
        return Ok(see_other("/account/deleted"));
    };
    let has_password = member.password_hash.is_some();
    if !auth::verify_password(f.password, member.password_hash).await {
        let site = state.current_site().await?;
        let (csrf, set) = form_token(&state, &visitor);
        let body = page(
            &state,
            &site,
            &visitor,
            "account/delete.html",
            context! {
                csrf, has_password, comments => comments_policy(&state),
                error => "That password is not right, so nothing was deleted.",
            },
        )?;
        return html(body, set, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mut tx = state.db.begin().await?;
    members::delete_member(
        &mut tx,
        member.id,
        state.config.deleted_member_comments,
        state.now_micros(),
    )
    .await?;
    tx.commit().await?;
    state.sessions.forget_member(member.id);
    // What this instance remembers of the member's reads and saved stories
    // goes too (on SQLite a new member may be given the same id).
    state.members.forget(member.id);
    tracing::info!(member.id = member.id, "a member deleted their account");
    let mut res = see_other("/account/deleted");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&auth::cookie(&state, auth::SESSION_COOKIE, "", 0))
            .map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(res)
}

/// The goodbye page.
pub async fn goodbye(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    let site = state.current_site().await?;
    let body = page(&state, &site, &visitor, "account/deleted.html", context! {})?;
    html(body, None, StatusCode::OK)
}
