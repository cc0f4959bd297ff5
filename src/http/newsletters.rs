//! Newsletters for readers: the list with one-click subscribe buttons, the
//! double opt-in for addresses typed by visitors, and the pages that the
//! links in every mail open without signing in (preferences, one-click
//! unsubscribe, confirmation).
//!
//! Members' buttons are form posts with the session's CSRF token (they work
//! without JavaScript; `static/site.js` turns them over in place). A visitor
//! who types an address gets the same answer whether or not it is known, and
//! at most one confirmation mail per address every few minutes. The pages
//! under `/email/` take their signed token as the credential: no cookie, no
//! CSRF token, `Referrer-Policy: no-referrer` so the token never leaves in a
//! `Referer`, and `Cache-Control: no-store`. A GET never changes anything
//! (mail scanners follow links); the RFC 8058 one-click POST unsubscribes at
//! once.

use std::collections::HashMap;

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::db::Tx;
use crate::db::members::SessionMember;
use crate::domain::email::Email;
use crate::domain::time::Shown;
use crate::error::{AppError, AppResult};
use crate::mail::OutgoingMail;
use crate::newsletters::links;
use crate::newsletters::subscriptions::{
    self as subs, Newsletter, OFFERS_CONSENT_WORDS, Subscribed, Subscriber,
};
use crate::newsletters::tokens::{self, MailToken, Purpose, TokenError};
use crate::render::val;
use crate::site::Site;

use super::auth::{Visitor, check_csrf, form_token, safe_next};
use super::pages::site_context;
use super::{see_other, wants_json};

/// Seconds within which an address gets at most one confirmation mail,
/// however often it is typed into a form.
const CONFIRM_MAIL_EVERY_SECS: i64 = 300;
/// Subscribe requests (and fresh-link requests) allowed from one client
/// address per hour.
const REQUESTS_PER_IP: u32 = 20;

/// Where a subscription was asked for, as recorded; anything else a form
/// sends is recorded as the newsletter page.
const SOURCES: &[&str] = &["story", "newsletter-page", "account"];

/// The newsletter setting: which newsletter the story page offers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NewsletterSettings {
    /// The slug of the newsletter in the box under every story; empty for none.
    pub story_box: String,
}

impl Default for NewsletterSettings {
    fn default() -> Self {
        NewsletterSettings {
            story_box: "morning-briefing".into(),
        }
    }
}

/// A newsletter as the pages show it, with the reader's state in it:
/// `active`, `pending` or `none`.
#[derive(Clone, Debug, Serialize)]
pub struct NewsletterView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub schedule: String,
    pub offers: bool,
    pub state: String,
}

/// The offers consent in force, as pages show it.
#[derive(Clone, Debug, Serialize)]
pub struct ConsentView {
    pub granted: bool,
    pub words: String,
    pub source: String,
    pub at: Shown,
}

fn views(list: &[Newsletter], states: &HashMap<i64, String>) -> Vec<NewsletterView> {
    list.iter()
        .map(|n| NewsletterView {
            slug: n.slug.clone(),
            name: n.name.clone(),
            description: n.description.clone(),
            schedule: n.schedule.clone(),
            offers: n.is_offers(),
            state: match states.get(&n.id).map(String::as_str) {
                Some("active") => "active".into(),
                Some("pending") => "pending".into(),
                _ => "none".into(),
            },
        })
        .collect()
}

/// Every listed newsletter with this subscriber's state, and their offers
/// consent.
async fn subscriber_views(
    state: &AppState,
    site: &Site,
    subscriber_id: Option<i64>,
) -> AppResult<(Vec<NewsletterView>, Option<ConsentView>)> {
    let mut conn = state.db.read().await?;
    let list = subs::listed(conn.ex()).await?;
    let Some(id) = subscriber_id else {
        return Ok((views(&list, &HashMap::new()), None));
    };
    let states: HashMap<i64, String> = subs::subscriptions_of(conn.ex(), id)
        .await?
        .into_iter()
        .map(|s| (s.newsletter_id, s.state))
        .collect();
    let consent = subs::offers_consent(conn.ex(), id)
        .await?
        .map(|c| ConsentView {
            granted: c.granted,
            words: c.words,
            source: c.source,
            at: site.show(c.created_at),
        });
    Ok((views(&list, &states), consent))
}

/// A member's subscriber row, if their address is verified and they have one.
async fn member_subscriber(state: &AppState, m: &SessionMember) -> AppResult<Option<Subscriber>> {
    if m.email_verified_at.is_none() {
        return Ok(None);
    }
    let mut conn = state.db.read().await?;
    Ok(subs::subscriber_of_member(conn.ex(), m.id).await?)
}

/// The member's newsletters and offers consent, for the account page.
pub async fn for_account(
    state: &AppState,
    site: &Site,
    m: &SessionMember,
) -> AppResult<(Vec<NewsletterView>, Option<ConsentView>)> {
    let s = member_subscriber(state, m).await?;
    subscriber_views(state, site, s.map(|s| s.id)).await
}

fn render(
    state: &AppState,
    site: &Site,
    visitor: Option<&Visitor>,
    name: &str,
    extra: minijinja::Value,
) -> AppResult<String> {
    let ctx = context! {
        site => val(site_context(state, Some(site))),
        reader => val(visitor.and_then(|v| v.view())),
        consent_words => OFFERS_CONSENT_WORDS,
        ..extra
    };
    state
        .renderer
        .render(name, ctx)
        .map_err(|e| AppError::Internal(e.into()))
}

/// A page that is never kept by a cache; `set_cookie` for a form nonce.
fn respond(status: StatusCode, body: String, set_cookie: Option<String>) -> AppResult<Response> {
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

/// A page reached by a signed link: the token is in its address, so it
/// must not leak through a `Referer`, nor be kept by any cache.
fn token_page(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// An address to fill in (the story page's box sends it here).
    email: Option<String>,
    /// The newsletter the reader came for.
    newsletter: Option<String>,
    done: Option<String>,
}

/// `GET /newsletters`: every newsletter with its description and schedule,
/// and a button (members) or an address field (visitors) for each.
pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let site = state.current_site().await?;
    let subscriber = match &visitor.member {
        Some(m) => member_subscriber(&state, m).await?,
        None => None,
    };
    let (newsletters, consent) =
        subscriber_views(&state, &site, subscriber.as_ref().map(|s| s.id)).await?;
    let (csrf, set) = form_token(&state, &visitor);
    let body = render(
        &state,
        &site,
        Some(&visitor),
        "newsletters/list.html",
        context! {
            newsletters => val(newsletters), consent => val(consent), csrf, email => q.email,
            chosen => q.newsletter, done => q.done.filter(|d| d == "withdrawn"),
        },
    )?;
    respond(StatusCode::OK, body, set)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    newsletter: String,
    /// `subscribe`, `unsubscribe`, or `withdraw` (the offers consent).
    #[serde(default)]
    action: String,
    /// A visitor's address.
    #[serde(default)]
    email: String,
    /// `yes` when the offers box was ticked.
    #[serde(default)]
    consent: String,
    #[serde(default)]
    source: String,
    next: Option<String>,
}

/// `POST /newsletters`: subscribes or unsubscribes. A member with a
/// verified address changes at once and goes back to `next` (or gets
/// `{"state": ...}` as JSON); anyone else gets a confirmation mail and a
/// "check your inbox" page, the same whether the address is known or not.
pub async fn change(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(f): Form<ChangeForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let next = safe_next(f.next.as_deref().or(Some("/newsletters")));
    let source = if SOURCES.contains(&f.source.as_str()) {
        f.source.as_str()
    } else {
        "newsletter-page"
    };
    let newsletter = {
        let mut conn = state.db.read().await?;
        if f.action == "withdraw" {
            None
        } else {
            let n = subs::by_slug(conn.ex(), &f.newsletter)
                .await?
                .filter(|n| n.archived_at.is_none())
                .ok_or_else(|| {
                    AppError::BadRequest(
                        "There is no such newsletter; choose one on the newsletters page.".into(),
                    )
                })?;
            Some(n)
        }
    };
    let consent_given = f.consent == "yes";
    let verified_member = visitor
        .member
        .as_ref()
        .filter(|m| m.email_verified_at.is_some());
    if let Some(m) = verified_member {
        let email = Email::parse(&m.email).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("a member's address does not parse: {e}"))
        })?;
        let mut tx = state.db.begin().await?;
        let s = subs::subscriber_for(tx.ex(), &email, Some(m.id), now).await?;
        let new_state = match (f.action.as_str(), &newsletter) {
            ("subscribe", Some(n)) => {
                if n.is_offers() {
                    if !consent_given {
                        return Err(needs_consent());
                    }
                    subs::grant_offers(tx.ex(), s.id, OFFERS_CONSENT_WORDS, source, now).await?;
                }
                match subs::subscribe(tx.ex(), s.id, n, true, source, now).await? {
                    Subscribed::Active => "active",
                    Subscribed::Pending => "pending",
                }
            }
            ("unsubscribe", Some(n)) => {
                subs::unsubscribe(&mut tx, s.id, n, source, now).await?;
                "none"
            }
            ("withdraw", None) => {
                subs::withdraw_offers(&mut tx, s.id, source, now).await?;
                state.members.forget(m.id);
                "none"
            }
            _ => return Err(bad_action()),
        };
        tx.commit().await?;
        if let Some(n) = &newsletter {
            state
                .members
                .note_newsletter(m.id, n.id, new_state == "active");
        }
        if wants_json(&headers) {
            let mut res = axum::Json(serde_json::json!({ "state": new_state })).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return Ok(res);
        }
        return Ok(see_other(&next));
    }
    // A visitor, or a member whose address is not confirmed yet: only a
    // subscription can be asked for, and it waits for the address.
    let Some(newsletter) = newsletter.filter(|_| f.action == "subscribe") else {
        return Err(AppError::BadRequest(
            "To unsubscribe, use the link at the foot of any of our newsletters, or sign in."
                .into(),
        ));
    };
    let typed = match &visitor.member {
        Some(m) => m.email.clone(),
        None => f.email.clone(),
    };
    let email = match Email::parse(&typed) {
        Ok(e) => e,
        Err(error) => {
            let (csrf, set) = form_token(&state, &visitor);
            let (newsletters, _) = subscriber_views(&state, &site, None).await?;
            let body = render(
                &state,
                &site,
                Some(&visitor),
                "newsletters/list.html",
                context! {
                    newsletters => val(newsletters), csrf, email => typed, chosen => newsletter.slug.clone(), error,
                },
            )?;
            return respond(StatusCode::UNPROCESSABLE_ENTITY, body, set);
        }
    };
    if newsletter.is_offers() && !consent_given {
        return Err(needs_consent());
    }
    if !state
        .limiter
        .allow(
            &format!("newsletter-ip:{}", visitor.ip),
            REQUESTS_PER_IP,
            3600,
            now,
        )
        .await
    {
        return Err(AppError::TooMany(
            "Too many sign-ups from your network. Please try again in an hour.".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    let s = subs::subscriber_for(tx.ex(), &email, None, now).await?;
    // An offers consent is recorded when the address's owner confirms (the
    // confirmation page shows the words again), not on a visitor's word.
    let done = subs::subscribe(tx.ex(), s.id, &newsletter, false, source, now).await?;
    let mailed = done == Subscribed::Pending
        && state
            .limiter
            .allow(
                &format!("newsletter-confirm:{}", email.normalized()),
                1,
                CONFIRM_MAIL_EVERY_SECS,
                now,
            )
            .await;
    if mailed {
        let link = links::confirm_url(&state.config, &state.keys, s.id, now);
        let ctx = context! { link, newsletter => newsletter.name.clone(), days => tokens::CONFIRM_VALID_DAYS };
        queue_mail(
            &state,
            &mut tx,
            &site,
            email.as_typed(),
            "newsletter_confirm",
            ctx,
        )
        .await?;
    }
    tx.commit().await?;
    if mailed {
        crate::mail::worker::wake();
    }
    let body = render(
        &state,
        &site,
        Some(&visitor),
        "newsletters/check_email.html",
        context! { email => email.as_typed(), newsletter => newsletter.name.clone() },
    )?;
    respond(StatusCode::OK, body, None)
}

fn needs_consent() -> AppError {
    AppError::BadRequest(
        "Offers mail needs your consent: tick the box next to the words and try again.".into(),
    )
}

fn bad_action() -> AppError {
    AppError::BadRequest(
        "Say what to do: action=subscribe, action=unsubscribe (with newsletter=SLUG) or action=withdraw."
            .into(),
    )
}

/// Composes mail `template` and queues it to `to` in the caller's
/// transaction, in the transactional lane (it overtakes bulk sends).
async fn queue_mail(
    state: &AppState,
    tx: &mut Tx,
    site: &Site,
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

/// What a signed link turned out to be.
enum Link {
    Good(MailToken),
    /// Well signed but too old: the reader may ask for a fresh one.
    Expired,
    /// Not made by this site, or cut short in the mail client.
    Broken,
}

fn check(state: &AppState, purpose: Purpose, token: &str) -> Link {
    match tokens::verify(&state.keys, purpose, token, state.now_micros()) {
        Ok(t) => Link::Good(t),
        Err(TokenError::Expired) => Link::Expired,
        Err(TokenError::Invalid) => Link::Broken,
    }
}

/// The page for a link that does not work: broken (400), or expired (410)
/// with a form for a fresh link by mail.
async fn bad_link(state: &AppState, visitor: &Visitor, expired: bool) -> AppResult<Response> {
    let site = state.current_site().await?;
    let (csrf, set) = form_token(state, visitor);
    let body = render(
        state,
        &site,
        None,
        "newsletters/bad_link.html",
        context! { expired, csrf },
    )?;
    let status = if expired {
        StatusCode::GONE
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(token_page(respond(status, body, set)?))
}

/// The subscriber a good token names; `None` if they are gone (the address
/// was removed since the mail was sent).
async fn named(state: &AppState, t: &MailToken) -> AppResult<Option<Subscriber>> {
    let mut conn = state.db.read().await?;
    Ok(subs::subscriber(conn.ex(), t.subscriber_id).await?)
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /email/preferences/{token}`: every newsletter with a toggle, and
/// the offers consent, for the address the token names.
pub async fn preferences(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let t = match check(&state, Purpose::Preferences, &token) {
        Link::Good(t) => t,
        Link::Expired => return bad_link(&state, &visitor, true).await,
        Link::Broken => return bad_link(&state, &visitor, false).await,
    };
    let site = state.current_site().await?;
    let subscriber = named(&state, &t).await?;
    let (newsletters, consent) =
        subscriber_views(&state, &site, subscriber.as_ref().map(|s| s.id)).await?;
    let body = render(
        &state,
        &site,
        None,
        "newsletters/preferences.html",
        context! {
            newsletters => val(newsletters), consent => val(consent), token,
            email => subscriber.as_ref().map(|s| s.email.clone()),
            done => q.done.filter(|d| d == "saved"),
        },
    )?;
    Ok(token_page(respond(StatusCode::OK, body, None)?))
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    newsletter: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    consent: String,
}

/// `POST /email/preferences/{token}`: a change made on the preference page.
/// The token is the credential (it came through the address), so a
/// subscription made here is active at once.
pub async fn preferences_change(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(f): Form<TokenForm>,
) -> AppResult<Response> {
    let t = match check(&state, Purpose::Preferences, &token) {
        Link::Good(t) => t,
        Link::Expired => return bad_link(&state, &visitor, true).await,
        Link::Broken => return bad_link(&state, &visitor, false).await,
    };
    let now = state.now_micros();
    let source = "preferences";
    let mut tx = state.db.begin().await?;
    let Some(s) = subs::subscriber(tx.ex(), t.subscriber_id).await? else {
        return Err(AppError::NotFound);
    };
    let newsletter = subs::by_slug(tx.ex(), &f.newsletter).await?;
    match (f.action.as_str(), newsletter) {
        ("subscribe", Some(n)) if n.archived_at.is_none() => {
            if n.is_offers() {
                if f.consent != "yes" {
                    return Err(needs_consent());
                }
                subs::grant_offers(tx.ex(), s.id, OFFERS_CONSENT_WORDS, source, now).await?;
            }
            subs::subscribe(tx.ex(), s.id, &n, true, source, now).await?;
        }
        ("unsubscribe", Some(n)) => {
            subs::unsubscribe(&mut tx, s.id, &n, source, now).await?;
        }
        ("withdraw", _) => {
            subs::withdraw_offers(&mut tx, s.id, source, now).await?;
        }
        _ => return Err(bad_action()),
    }
    tx.commit().await?;
    if let Some(m) = s.member_id {
        state.members.forget(m);
    }
    Ok(token_page(see_other(&format!(
        "/email/preferences/{token}?done=saved"
    ))))
}

#[derive(Deserialize)]
pub struct FreshLinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// `POST /email/preferences`: mails a fresh preference link to an address
/// that receives newsletters. The answer is the same for any address.
pub async fn fresh_link(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(f): Form<FreshLinkForm>,
) -> AppResult<Response> {
    check_csrf(&state, &visitor, &f.csrf)?;
    let site = state.current_site().await?;
    let now = state.now_micros();
    let email = Email::parse(&f.email).map_err(AppError::BadRequest)?;
    let by_ip = state
        .limiter
        .allow(
            &format!("newsletter-ip:{}", visitor.ip),
            REQUESTS_PER_IP,
            3600,
            now,
        )
        .await;
    if !by_ip {
        return Err(AppError::TooMany(
            "Too many requests from your network. Please try again in an hour.".into(),
        ));
    }
    let by_address = state
        .limiter
        .allow(
            &format!("newsletter-link:{}", email.normalized()),
            1,
            CONFIRM_MAIL_EVERY_SECS,
            now,
        )
        .await;
    let mut tx = state.db.begin().await?;
    if by_address && let Some(s) = subs::subscriber_by_email(tx.ex(), &email).await? {
        let link = links::preferences_url(&state.config, &state.keys, s.id, None, now);
        queue_mail(
            &state,
            &mut tx,
            &site,
            &s.email,
            "newsletter_preferences",
            context! { link },
        )
        .await?;
        tx.commit().await?;
        crate::mail::worker::wake();
    } else {
        drop(tx);
    }
    let body = render(
        &state,
        &site,
        None,
        "newsletters/check_email.html",
        context! { email => email.as_typed(), fresh_link => true },
    )?;
    Ok(token_page(respond(StatusCode::OK, body, None)?))
}

/// `GET /email/unsubscribe/{token}`: a page with a button; following the
/// link changes nothing (mail scanners follow links).
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let t = match check(&state, Purpose::Preferences, &token) {
        Link::Good(t) => t,
        Link::Expired => return bad_link(&state, &visitor, true).await,
        Link::Broken => return bad_link(&state, &visitor, false).await,
    };
    let site = state.current_site().await?;
    let newsletter = match t.newsletter_id {
        Some(id) => {
            let mut conn = state.db.read().await?;
            subs::by_id(conn.ex(), id).await?.map(|n| n.name)
        }
        None => None,
    };
    let body = render(
        &state,
        &site,
        None,
        "newsletters/unsubscribe.html",
        context! { token, newsletter, done => false },
    )?;
    Ok(token_page(respond(StatusCode::OK, body, None)?))
}

/// `POST /email/unsubscribe/{token}`: RFC 8058 one-click unsubscribe. The
/// signed token in the address is all it needs (no cookie, no CSRF token,
/// any body, `List-Unsubscribe=One-Click` from mail clients); it
/// unsubscribes at once and answers 200, also when done before.
pub async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    _body: Bytes,
) -> AppResult<Response> {
    let t = match check(&state, Purpose::Preferences, &token) {
        Link::Good(t) => t,
        Link::Expired => {
            return Ok(token_page(plain(
                StatusCode::GONE,
                "This unsubscribe link has expired. Use the link in a newer mail from us.\n",
            )));
        }
        Link::Broken => {
            return Ok(token_page(plain(
                StatusCode::BAD_REQUEST,
                "This unsubscribe link is broken: it is incomplete or was changed. Copy the whole link from the mail.\n",
            )));
        }
    };
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    let mut names = Vec::new();
    let subscriber = subs::subscriber(tx.ex(), t.subscriber_id).await?;
    if subscriber.is_some() {
        let list = match t.newsletter_id {
            Some(id) => subs::by_id(tx.ex(), id).await?.into_iter().collect(),
            None => subs::listed(tx.ex()).await?,
        };
        for n in &list {
            subs::unsubscribe(&mut tx, t.subscriber_id, n, "one-click", now).await?;
            names.push(n.name.clone());
        }
    }
    tx.commit().await?;
    if let Some(m) = subscriber.and_then(|s| s.member_id) {
        state.members.forget(m);
    }
    let site = state.current_site().await?;
    let body = render(
        &state,
        &site,
        None,
        "newsletters/unsubscribe.html",
        context! {
            done => true, newsletter => names.first().cloned().filter(|_| names.len() == 1),
            preferences => links::preferences_url(&state.config, &state.keys, t.subscriber_id, None, now),
        },
    )?;
    Ok(token_page(respond(StatusCode::OK, body, None)?))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// `GET /email/confirm/{token}`: what the address is about to confirm, and
/// a button.
pub async fn confirm_page(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let t = match check(&state, Purpose::Confirm, &token) {
        Link::Good(t) => t,
        Link::Expired => return confirm_expired(&state).await,
        Link::Broken => return bad_link(&state, &visitor, false).await,
    };
    let site = state.current_site().await?;
    let (list, rows) = {
        let mut conn = state.db.read().await?;
        let list = subs::listed(conn.ex()).await?;
        let rows = subs::subscriptions_of(conn.ex(), t.subscriber_id).await?;
        (list, rows)
    };
    let pending: Vec<&Newsletter> = list
        .iter()
        .filter(|n| {
            rows.iter()
                .any(|r| r.newsletter_id == n.id && r.state == "pending")
        })
        .collect();
    let offers = pending.iter().any(|n| n.is_offers());
    let pending: Vec<String> = pending.iter().map(|n| n.name.clone()).collect();
    let body = render(
        &state,
        &site,
        None,
        "newsletters/confirm.html",
        context! { token, pending, offers, done => false },
    )?;
    Ok(token_page(respond(StatusCode::OK, body, None)?))
}

/// `POST /email/confirm/{token}`: activates the address's pending
/// subscriptions.
pub async fn confirm(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let t = match check(&state, Purpose::Confirm, &token) {
        Link::Good(t) => t,
        Link::Expired => return confirm_expired(&state).await,
        Link::Broken => return bad_link(&state, &visitor, false).await,
    };
    let now = state.now_micros();
    let mut tx = state.db.begin().await?;
    let confirmed = subs::confirm_pending(&mut tx, t.subscriber_id, now).await?;
    let list = subs::listed(tx.ex()).await?;
    let member = subs::subscriber(tx.ex(), t.subscriber_id)
        .await?
        .and_then(|s| s.member_id);
    tx.commit().await?;
    if let Some(m) = member {
        state.members.forget(m);
    }
    let names: Vec<String> = list
        .iter()
        .filter(|n| confirmed.contains(&n.id))
        .map(|n| n.name.clone())
        .collect();
    let site = state.current_site().await?;
    let body = render(
        &state,
        &site,
        None,
        "newsletters/confirm.html",
        context! {
            done => true, confirmed => names,
            preferences => links::preferences_url(&state.config, &state.keys, t.subscriber_id, None, now),
        },
    )?;
    Ok(token_page(respond(StatusCode::OK, body, None)?))
}

async fn confirm_expired(state: &AppState) -> AppResult<Response> {
    let site = state.current_site().await?;
    let body = render(
        state,
        &site,
        None,
        "newsletters/confirm.html",
        context! { expired => true },
    )?;
    Ok(token_page(respond(StatusCode::GONE, body, None)?))
}
