//! Member accounts: register (confirmed by e-mail), sign in, sign out, the
//! account page; and, in the submodules, the rest of an account's life:
//!
//! - [`sign_in_link`]: signing in without a password, by an e-mailed link or code;
//! - [`password`]: a forgotten password reset by e-mail, and changing it;
//! - [`change_email`]: moving the account to a new address, confirmed from it;
//! - [`delete`]: deleting the account and everything personal in it;
//! - [`data`]: the member's data as a JSON download.
//!
//! No form says whether an address has an account: registration, sign-in
//! links, password resets and address changes all answer "check your inbox"
//! alike, and the mail says what to do (confirm, sign in, or register). A link
//! in a mail never acts on a GET: it opens a page whose button POSTs, so a
//! mail scanner that follows links uses nothing up. Every mail-sending form is
//! rate limited per client address and per e-mail address ([`mail_allowed`]).

pub mod change_email;
pub mod data;
pub mod delete;
pub mod earlier;
pub mod password;
pub mod sign_in_link;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use crate::app::AppState;
use crate::db::{Tx, members};
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
/// Mails a form may have sent to one address in an hour (sign-in links,
/// password resets, address changes: each kind counted on its own).
const MAIL_LIMIT_PER_ADDRESS: u32 = 5;
/// Mails a form may have sent from one client address in an hour.
const MAIL_LIMIT_PER_IP: u32 = 20;
/// The shortest password accepted.
const MIN_PASSWORD_CHARS: usize = 10;

const MINUTE: i64 = 60_000_000;

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    token: Option<String>,
    /// An address to fill in (the register link in a "no account" mail).
    email: Option<String>,
}

/// Counts a mail-sending request against both of its limits (`kind` keeps
/// each form's counts apart); refuses it when either is spent. Known and
/// unknown addresses are counted alike, so the refusal says nothing either.
async fn mail_allowed(
    state: &AppState,
    kind: &str,
    ip: std::net::IpAddr,
    email: &Email,
) -> AppResult<()> {
    let now = state.now_micros();
    let by_ip = state
        .limiter
        .allow(&format!("{kind}-ip:{ip}"), MAIL_LIMIT_PER_IP, 3600, now)
        .await;
    let by_address = state
        .limiter
        .allow(
            &format!("{kind}-email:{}", email.normalized()),
            MAIL_LIMIT_PER_ADDRESS,
            3600,
            now,
        )
        .await;
    if by_ip && by_address {
        Ok(())
    } else {
        Err(AppError::TooMany(
            "We have sent several messages already. Please check your inbox (and spam folder), or try again in an hour.".into(),
        ))
    }
}

/// What is wrong with a new password, if anything.
fn password_problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        Some(format!(
            "Please choose a password of at least {MIN_PASSWORD_CHARS} characters."
        ))
    } else if password.len() > 1000 {
        Some("That password is too long.".into())
    } else {
        None
    }
}

/// Composes mail `template` (with `site_name` added to `ctx`) and queues it
/// to `to` in the caller's transaction, in the transactional lane.
async fn queue_mail(
    state: &AppState,
    tx: &mut Tx,
    site: &crate::site::Site,
    to: &str,
    template: &str,
    ctx: minijinja::Value,
) -> AppResult<()> {
    let from = crate::mail::default_from(&state.config, &site.publication.name);
    let domain = crate::mail::message_id_domain(&state.config);
    let mail = crate::mail::compose(
        &state.renderer,
        template,
        context! { site_name => site.publication.name.clone(), ..ctx },
    )
    .map_err(|e| AppError::Internal(e.into()))?;
    crate::mail::enqueue(
        tx.ex(),
        &OutgoingMail::transactional(to, mail),
        &from,
        state.now_micros(),
        &domain,
    )
    .await?;
    Ok(())
}

/// The "this link no longer works" page.
fn link_expired(
    state: &AppState,
    site: &crate::site::Site,
    visitor: &Visitor,
) -> AppResult<Response> {
    let body = page(
        state,
        site,
        visitor,
        "account/link_expired.html",
        context! {},
    )?;
    html(body, None, StatusCode::BAD_REQUEST)
}

/// The page an e-mailed link opens: while the link's token (of `purpose`)
/// is live, `template` with the form's CSRF token, the link's token and
/// `extra`, whose button or form POSTs (nothing is used up by opening it);
/// otherwise the "this link no longer works" page.
async fn link_page(
    state: &AppState,
    visitor: &Visitor,
    token: String,
    purpose: &str,
    template: &str,
    extra: minijinja::Value,
) -> AppResult<Response> {
    let site = state.current_site().await?;
    let live = {
        let mut conn = state.db.read().await?;
        members::peek_token(
            conn.ex(),
            &auth::token_hash(&token),
            purpose,
            state.now_micros(),
        )
        .await?
    };
    if live.is_none() {
        return link_expired(state, &site, visitor);
    }
    let (csrf, set) = form_token(state, visitor);
    let body = page(
        state,
        &site,
        visitor,
        template,
        context! { csrf, token, ..extra },
    )?;
    html(body, set, StatusCode::OK)
}

/// A signed-in member's form (`template`) that asks for the password when
/// the member has one; `back` is where sign-in returns to.
async fn signed_in_form(
    state: &AppState,
    visitor: &Visitor,
    back: &str,
    template: &str,
    extra: minijinja::Value,
) -> AppResult<Response> {
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first(back));
    };
    let has_password = {
        let mut conn = state.db.read().await?;
        members::by_id(conn.ex(), member.id)
            .await?
            .is_some_and(|m| m.password_hash.is_some())
    };
    let site = state.current_site().await?;
    let (csrf, set) = form_token(state, visitor);
    let body = page(
        state,
        &site,
        visitor,
        template,
        context! { csrf, has_password, ..extra },
    )?;
    html(body, set, StatusCode::OK)
}

pub(super) use super::sign_in_first;

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
    let mut res = super::no_store((status, Html(body)).into_response());
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

pub(super) use super::see_other;

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
            email => q.email,
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
    if let Some(p) = password_problem(&f.password) {
        errors.push(p);
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
                now + LINK_HOURS * 60 * MINUTE,
            )
            .await?;
            let link = state.config.absolute(&format!(
                "/account/verify?token={token}&next={}",
                urlencode(&next)
            ));
            let ctx = context! { link, name => name.clone(), hours => LINK_HOURS };
            queue_mail(&state, &mut tx, &site, email.as_typed(), "verify", ctx).await?;
        }
        None => {
            // The address has an account: tell its owner, not the form.
            let link = state.config.absolute("/account/sign-in");
            let ctx = context! { link };
            queue_mail(
                &state,
                &mut tx,
                &site,
                email.as_typed(),
                "already_registered",
                ctx,
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
        context! { email => email.as_typed(), kind => "register", hours => LINK_HOURS },
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

/// The form an e-mailed link's page posts: its token, and where to go next.
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
        return link_expired(&state, &site, &visitor);
    };
    // A new member is subscribed to the newsletters marked for registration
    // once their address is confirmed: never before, never again.
    if let Some(m) = members::by_id(tx.ex(), member_id).await?
        && m.email_verified_at.is_none()
        && let Ok(email) = Email::parse(&m.email)
    {
        crate::newsletters::subscriptions::welcome_member(&mut tx, member_id, &email, now).await?;
    }
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

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    /// What was just done, for a line of confirmation on the account page.
    done: Option<String>,
}

pub async fn overview(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let Some(member) = &visitor.member else {
        return Ok(sign_in_first("/account"));
    };
    let site = state.current_site().await?;
    let period = meter::period(state.clock.now(), &site.tz);
    let read = {
        let mut conn = state.db.read().await?;
        members::reads_this_period(conn.ex(), member.id, &period).await?
    };
    let (newsletters, consent) = super::newsletters::for_account(&state, &site, member).await?;
    let earlier = earlier::offer_for(&state, member).await?.comments;
    let body = page(
        &state,
        &site,
        &visitor,
        "account/overview.html",
        context! {
            read, member_limit => site.access.limits.member, earlier,
            newsletters => val(newsletters), consent => val(consent),
            consent_words => crate::newsletters::subscriptions::OFFERS_CONSENT_WORDS,
            done => q.done.filter(|d| ["password", "password-reset", "email"].contains(&d.as_str())),
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
