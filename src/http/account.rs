//! Member accounts: register (confirmed by e-mail), sign in, sign out, the
//! account page.
//!
//! Registration never says whether an address already has an account: both
//! cases answer "check your inbox", and the mail says what to do (confirm the
//! new account, or sign in to the existing one). A link in a mail never acts
//! on a GET: it opens a page whose button POSTs, so a mail scanner that
//! follows links uses nothing up.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use crate::app::AppState;
use crate::db::members;
use crate::domain::email::Email;
use crate::domain::meter;
use crate::error::{AppError, AppResult};
use crate::mail::OutgoingMail;
use crate::render::val;

use super::auth::{self, Visitor, check_csrf, form_token, safe_next};
use super::pages::site_context;

/// Sign-in attempts allowed per address and per client address, per 10 minutes.
const SIGN_IN_LIMIT: u32 = 10;
/// Registrations (each sends a mail) allowed per client address per hour.
const REGISTER_LIMIT: u32 = 10;
/// How long an e-mailed link works.
const LINK_HOURS: i64 = 48;

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    token: Option<String>,
}

fn page(
    state: &AppState,
    site: &crate::site::Site,
    visitor: &Visitor,
    name: &str,
    extra: minijinja::Value,
) -> AppResult<String> {
    let ctx = context! {
        site => val(site_context(state, Some(site))),
        reader => val(visitor.view()),
        ..extra
    };
    state
        .renderer
        .render(name, ctx)
        .map_err(|e| AppError::Internal(e.into()))
}

/// An HTML response that may set the form nonce cookie.
fn html(body: String, set_cookie: Option<String>, status: StatusCode) -> AppResult<Response> {
    let mut res = (status, Html(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = set_cookie {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(&c).map_err(|e| AppError::Internal(e.into()))?,
        );
    }
    Ok(res)
}

/// A 303 to `to` that sets `cookies` (after a sign-in).
fn see_other_setting(to: &str, cookies: &[String]) -> AppResult<Response> {
    let mut res = see_other(to);
    for c in cookies {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_str(c).map_err(|e| AppError::Internal(e.into()))?,
        );
    }
    Ok(res)
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

pub async fn register_form(
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
        "account/register.html",
        context! {
            csrf, next => safe_next(q.next.as_deref()), member_limit => site.access.limits.member,
        },
    )?;
    html(body, set, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn register(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<RegisterForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let next = safe_next(f.next.as_deref());
    let mut errors: Vec<String> = Vec::new();
    let email = Email::parse(&f.email).map_err(|e| errors.push(e)).ok();
    let name = f.name.trim().to_string();
    if name.chars().count() > 80 {
        errors.push("Please keep your name to 80 characters.".into());
    }
    if f.password.chars().count() < 10 {
        errors.push("Please choose a password of at least 10 characters.".into());
    } else if f.password.len() > 1000 {
        errors.push("That password is too long.".into());
    }
    let (Some(email), true) = (email, errors.is_empty()) else {
        // Nothing typed is lost: the form comes back with the address and name.
        let (csrf, set) = form_token(&state, &visitor);
        let body = page(
            &state,
            &site,
            &visitor,
            "account/register.html",
            context! {
                csrf, next, errors, email => f.email, name => f.name, member_limit => site.access.limits.member,
            },
        )?;
        return html(body, set, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if !state
        .limiter
        .allow(
            &format!("register:{}", visitor.ip),
            REGISTER_LIMIT,
            3600,
            now,
        )
        .await
    {
        return Err(AppError::TooMany(
            "Too many registrations from your network. Please try again in an hour.".into(),
        ));
    }
    let hash = auth::hash_password(f.password).await?;
    let from = crate::mail::default_from(&state.config, &site.publication.name);
    let domain = crate::mail::message_id_domain(&state.config);
    let mut tx = state.db.begin().await?;
    match members::insert(tx.ex(), &email, &name, Some(&hash), "member", now).await? {
        Some(id) => {
            let token = auth::random_token();
            members::create_token(
                tx.ex(),
                &auth::token_hash(&token),
                "verify",
                id,
                now,
                now + LINK_HOURS * 3_600_000_000,
            )
            .await?;
            let link = state.config.absolute(&format!(
                "/account/verify?token={token}&next={}",
                urlencode(&next)
            ));
            let mail = crate::mail::compose(&state.renderer, "verify", context! {
                site_name => site.publication.name.clone(), link, name => name.clone(), hours => LINK_HOURS,
            })
            .map_err(|e| AppError::Internal(e.into()))?;
            crate::mail::enqueue(
                tx.ex(),
                &OutgoingMail::transactional(email.as_typed(), mail),
                &from,
                now,
                &domain,
            )
            .await?;
        }
        None => {
            // The address has an account: tell its owner, not the form.
            let link = state.config.absolute("/account/sign-in");
            let mail = crate::mail::compose(
                &state.renderer,
                "already_registered",
                context! {
                    site_name => site.publication.name.clone(), link,
                },
            )
            .map_err(|e| AppError::Internal(e.into()))?;
            crate::mail::enqueue(
                tx.ex(),
                &OutgoingMail::transactional(email.as_typed(), mail),
                &from,
                now,
                &domain,
            )
            .await?;
        }
    }
    tx.commit().await?;
    crate::mail::worker::wake();
    let body = page(
        &state,
        &site,
        &visitor,
        "account/check_email.html",
        context! { email => email.as_typed() },
    )?;
    html(body, None, StatusCode::OK)
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The page an e-mailed confirmation link opens: a button that POSTs.
pub async fn verify_page(
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
        "account/verify.html",
        context! {
            csrf, token => q.token.unwrap_or_default(), next => safe_next(q.next.as_deref()),
        },
    )?;
    html(body, set, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn verify(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<TokenForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    let Some(member_id) =
        members::use_token(tx.ex(), &auth::token_hash(&f.token), "verify", now).await?
    else {
        drop(tx);
        let site = state.current_site().await?;
        let body = page(
            &state,
            &site,
            &visitor,
            "account/link_expired.html",
            context! {},
        )?;
        return html(body, None, StatusCode::BAD_REQUEST);
    };
    members::mark_verified(tx.ex(), member_id, now).await?;
    let cookies = start_session(&state, &mut tx, member_id, &visitor, now).await?;
    tx.commit().await?;
    see_other_setting(&safe_next(f.next.as_deref()), &cookies)
}

/// Makes a new session for `member_id` (never reusing one the browser had),
/// merges the anonymous reader's meter into the member's (a union: a story
/// read in both counts once), and answers the cookies to set.
async fn start_session(
    state: &AppState,
    tx: &mut crate::db::Tx,
    member_id: i64,
    visitor: &Visitor,
    now: i64,
) -> AppResult<Vec<String>> {
    if let Some(old) = &visitor.session_hash {
        members::delete_session(tx.ex(), old).await?;
        state.sessions.forget(old);
    }
    let token = auth::random_token();
    let csrf = auth::random_token();
    let expires = now + auth::SESSION_DAYS * 24 * 3_600_000_000;
    members::create_session(
        tx.ex(),
        &auth::token_hash(&token),
        member_id,
        &csrf,
        now,
        expires,
    )
    .await?;
    let site = state.current_site().await?;
    let period = meter::period(state.clock.now(), &site.tz);
    let reads =
        meter::AnonymousReads::from_cookie(visitor.meter_cookie.as_deref(), &state.keys, &period);
    for id in &reads.ids {
        members::record_read(tx.ex(), member_id, &period, *id, now).await?;
    }
    let mut cookies = vec![auth::cookie(
        state,
        auth::SESSION_COOKIE,
        &token,
        auth::SESSION_DAYS * 24 * 3600,
    )];
    if visitor.meter_cookie.is_some() {
        cookies.push(auth::cookie(state, meter::COOKIE, "", 0));
    }
    Ok(cookies)
}

pub async fn sign_in_form(
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
        "account/sign_in.html",
        context! { csrf, next => safe_next(q.next.as_deref()) },
    )?;
    html(body, set, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<SignInForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let next = safe_next(f.next.as_deref());
    let again = |error: String, status: StatusCode| -> AppResult<Response> {
        let (csrf, set) = form_token(&state, &visitor);
        let body = page(
            &state,
            &site,
            &visitor,
            "account/sign_in.html",
            context! { csrf, next => next.clone(), error, email => f.email.clone() },
        )?;
        html(body, set, status)
    };
    let email = match Email::parse(&f.email) {
        Ok(e) => e,
        Err(e) => return again(e, StatusCode::UNPROCESSABLE_ENTITY),
    };
    let by_ip = state
        .limiter
        .allow(
            &format!("sign-in-ip:{}", visitor.ip),
            SIGN_IN_LIMIT * 3,
            600,
            now,
        )
        .await;
    let by_email = state
        .limiter
        .allow(
            &format!("sign-in-email:{}", email.normalized()),
            SIGN_IN_LIMIT,
            600,
            now,
        )
        .await;
    if !by_ip || !by_email {
        return Err(AppError::TooMany(
            "Too many sign-in attempts. Please wait ten minutes and try again.".into(),
        ));
    }
    let member = {
        let mut conn = state.db.read().await?;
        members::by_email(conn.ex(), &email).await?
    };
    let hash = member.as_ref().and_then(|m| m.password_hash.clone());
    if !auth::verify_password(f.password.clone(), hash).await {
        // The same words whether the address is unknown or the password wrong.
        return again(
            "That e-mail address and password do not match. Check them and try again.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let Some(member) = member else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a password verified without a member"
        )));
    };
    let mut tx = state.db.begin().await?;
    let cookies = start_session(&state, &mut tx, member.id, &visitor, now).await?;
    tx.commit().await?;
    see_other_setting(&next, &cookies)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    everywhere: Option<String>,
}

pub async fn sign_out(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<CsrfForm>,
) -> AppResult<Response> {
    let (Some(member), Some(hash)) = (&visitor.member, &visitor.session_hash) else {
        return Ok(see_other("/"));
    };
    check_csrf(&state, &visitor, &f.csrf)?;
    let mut conn = state.db.write().await?;
    if f.everywhere.is_some() {
        members::delete_sessions_of(conn.ex(), member.id).await?;
        state.sessions.forget_member(member.id);
    } else {
        members::delete_session(conn.ex(), hash).await?;
        state.sessions.forget(hash);
    }
    let mut res = see_other("/");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&auth::cookie(&state, auth::SESSION_COOKIE, "", 0))
            .map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(res)
}

pub async fn overview(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    let Some(member) = &visitor.member else {
        return Ok(see_other("/account/sign-in?next=%2Faccount"));
    };
    let site = state.current_site().await?;
    let period = meter::period(state.clock.now(), &site.tz);
    let read = {
        let mut conn = state.db.read().await?;
        members::reads_this_period(conn.ex(), member.id, &period).await?
    };
    let body = page(
        &state,
        &site,
        &visitor,
        "account/overview.html",
        context! {
            read, member_limit => site.access.limits.member,
        },
    )?;
    html(body, None, StatusCode::OK)
}

pub async fn subscribe(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    let site = state.current_site().await?;
    let body = page(
        &state,
        &site,
        &visitor,
        "account/subscribe.html",
        context! { member_limit => site.access.limits.member },
    )?;
    html(body, None, StatusCode::OK)
}
