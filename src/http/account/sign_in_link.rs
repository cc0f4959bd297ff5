//! Signing in without a password: one mail carries a link and a short code,
//! and either signs the reader in, once, within [`LINK_MINUTES`].
//!
//! - The link opens a page whose button POSTs (a mail scanner that follows
//!   links uses nothing up).
//! - The code is for a reader who reads mail on another device: typed into
//!   the "check your inbox" page, with the address it was sent to. It is
//!   checked only against the newest code sent to that address (asking again
//!   retires the older link and code), and [`CODE_ATTEMPTS`] wrong ones use it
//!   up; code attempts are also rate limited per address and per client.
//! - The database keeps the link's SHA-256 and an HMAC of the code keyed with
//!   the site's secret and bound to the row, so a copy of the database gives
//!   neither away, though a code is only six digits.
//! - An unknown address gets the same answer in the browser; its mail says
//!   that no account uses the address and offers registration. No account is
//!   made without the reader choosing a password and confirming the address,
//!   so typing someone else's address here creates nothing in their name.
//! - Signing in this way proves the address, so it marks it verified, and it
//!   makes a new session (merging the anonymous meter) as a password does.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use rand::Rng;
use serde::Deserialize;

use super::{
    MINUTE, NextQuery, TokenForm, html, link_expired, link_page, mail_allowed, page, queue_mail,
    see_other, see_other_setting, start_session, urlencode,
};
use crate::app::AppState;
use crate::db::members;
use crate::domain::email::Email;
use crate::error::{AppError, AppResult};
use crate::http::auth::{self, Visitor, check_csrf, form_token, safe_next};

/// How long a sign-in link and its code work.
pub const LINK_MINUTES: i64 = 20;
/// Wrong codes that use a code up.
pub const CODE_ATTEMPTS: i64 = 5;
/// Code attempts allowed per address, and per client address, per 10 minutes.
const CODE_LIMIT_PER_ADDRESS: u32 = 10;
const CODE_LIMIT_PER_IP: u32 = 30;
/// Digits in a code.
const CODE_DIGITS: usize = 6;

/// The HMAC kept of a code: bound to its token's row, keyed with the site's
/// secret.
fn code_mac(state: &AppState, token_hash: &str, code: &str) -> String {
    state
        .keys
        .sign("sign-in-code", format!("{token_hash}:{code}").as_bytes())
}

/// `&next=...` for a link in a mail, or nothing when it is the front page.
fn next_param(next: &str) -> String {
    if next == "/" {
        String::new()
    } else {
        format!("&next={}", urlencode(next))
    }
}

fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_DIGITS)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A typed code with spaces and dashes taken out; `None` if it cannot be one.
fn clean_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The form that asks for a link (the sign-in page's second button posts
/// here too).
pub async fn request_form(
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
        "account/sign_in_link.html",
        context! { csrf, next => safe_next(q.next.as_deref()), email => q.email, minutes => LINK_MINUTES },
    )?;
    html(body, set, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: Option<String>,
}

/// Sends the link and code (or, for an unknown address, the offer to
/// register), and answers "check your inbox" with the code form either way.
pub async fn request(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<RequestForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let next = safe_next(f.next.as_deref());
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(error) => {
            let (csrf, set) = form_token(&state, &visitor);
            let body = page(
                &state,
                &site,
                &visitor,
                "account/sign_in_link.html",
                context! { csrf, next, error, email => f.email, minutes => LINK_MINUTES },
            )?;
            return html(body, set, StatusCode::UNPROCESSABLE_ENTITY);
        }
    };
    mail_allowed(&state, "sign-in-link", visitor.ip, &email).await?;
    let mut tx = state.db.begin().await?;
    match members::by_email(tx.ex(), &email).await? {
        Some(member) => {
            members::retire_tokens(tx.ex(), member.id, Some("sign_in"), now).await?;
            let token = auth::random_token();
            let token_hash = auth::token_hash(&token);
            let code = new_code();
            members::create_address_token(
                tx.ex(),
                &token_hash,
                "sign_in",
                member.id,
                &email,
                Some(&code_mac(&state, &token_hash, &code)),
                now,
                now + LINK_MINUTES * MINUTE,
            )
            .await?;
            let link = state.config.absolute(&format!(
                "/account/sign-in/confirm?token={token}{}",
                next_param(&next)
            ));
            let ctx = context! {
                link, code, minutes => LINK_MINUTES, name => member.display_name.clone(),
            };
            queue_mail(&state, &mut tx, &site, &member.email, "sign_in_link", ctx).await?;
        }
        None => {
            let link = state.config.absolute(&format!(
                "/account/register?email={}{}",
                urlencode(email.as_typed()),
                next_param(&next)
            ));
            let ctx = context! { link, asked => "sign in" };
            queue_mail(&state, &mut tx, &site, email.as_typed(), "no_account", ctx).await?;
        }
    }
    tx.commit().await?;
    crate::mail::worker::wake();
    let (csrf, set) = form_token(&state, &visitor);
    let body = page(
        &state,
        &site,
        &visitor,
        "account/sign_in_code.html",
        context! { csrf, next, email => email.as_typed(), minutes => LINK_MINUTES },
    )?;
    html(body, set, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
}

/// A reload of the code form's address: back to asking for a link.
pub async fn code_page() -> Response {
    see_other("/account/sign-in/link")
}

/// Signs in with a typed code.
pub async fn code(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<CodeForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let now = state.now_micros();
    let next = safe_next(f.next.as_deref());
    let email = Email::parse(&f.email).ok();
    let by_ip = state
        .limiter
        .allow(
            &format!("sign-in-code-ip:{}", visitor.ip),
            CODE_LIMIT_PER_IP,
            600,
            now,
        )
        .await;
    let key = email.as_ref().map_or("", |e| e.normalized());
    let by_address = state
        .limiter
        .allow(
            &format!("sign-in-code-email:{key}"),
            CODE_LIMIT_PER_ADDRESS,
            600,
            now,
        )
        .await;
    if !by_ip || !by_address {
        return Err(AppError::TooMany(
            "Too many codes tried. Please wait ten minutes, or use the link in the e-mail.".into(),
        ));
    }
    if let (Some(email), Some(code)) = (&email, clean_code(&f.code)) {
        let mut tx = state.db.begin().await?;
        if let Some(live) = members::live_code(tx.ex(), email, now).await? {
            let right = state.keys.verify(
                "sign-in-code",
                format!("{}:{code}", live.token_hash).as_bytes(),
                &live.code_hash,
            );
            if right {
                // Used in one statement: of two racing right answers, one wins.
                if let Some(member_id) =
                    members::use_token(tx.ex(), &live.token_hash, "sign_in", now).await?
                {
                    members::mark_verified(tx.ex(), member_id, now).await?;
                    let cookies = start_session(&state, &mut tx, member_id, &visitor, now).await?;
                    tx.commit().await?;
                    return see_other_setting(&next, &cookies);
                }
            } else {
                members::wrong_code(tx.ex(), &live.token_hash, CODE_ATTEMPTS, now).await?;
                tx.commit().await?;
            }
        }
    }
    // One answer for a wrong code, a used-up or expired one, and an address
    // that was never sent one.
    let site = state.current_site().await?;
    let (csrf, set) = form_token(&state, &visitor);
    let body = page(
        &state,
        &site,
        &visitor,
        "account/sign_in_code.html",
        context! {
            csrf, next, email => f.email.trim(), minutes => LINK_MINUTES,
            error => "That code is not right, or it no longer works. Codes work once, for a short time, and only the newest one we sent. Check the code, use the link in the e-mail, or ask for a new one.",
        },
    )?;
    html(body, set, StatusCode::UNPROCESSABLE_ENTITY)
}

/// The page a sign-in link opens: a button that POSTs.
pub async fn confirm_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let token = q.token.unwrap_or_default();
    let next = safe_next(q.next.as_deref());
    link_page(
        &state,
        &visitor,
        token,
        "sign_in",
        "account/sign_in_confirm.html",
        context! { next },
    )
    .await
}

/// Signs in with the link's token.
pub async fn confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<TokenForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    let Some(member_id) =
        members::use_token(tx.ex(), &auth::token_hash(&f.token), "sign_in", now).await?
    else {
        drop(tx);
        let site = state.current_site().await?;
        return link_expired(&state, &site, &visitor);
    };
    members::mark_verified(tx.ex(), member_id, now).await?;
    let cookies = start_session(&state, &mut tx, member_id, &visitor, now).await?;
    tx.commit().await?;
    see_other_setting(&safe_next(f.next.as_deref()), &cookies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_typed_ones_may_have_spaces_or_a_dash() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(clean_code(&c), Some(c.clone()));
        }
        assert_eq!(clean_code(" 123 456 "), Some("123456".into()));
        assert_eq!(clean_code("123-456"), Some("123456".into()));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(clean_code(bad), None, "{bad}");
        }
    }
}
