//! The HTTP side: the router, and the middleware every request passes.
//!
//! Order of a request: size limits (414/431) -> client address (believing
//! forwarded headers only from trusted proxies) -> the handler -> error
//! pages rendered in the site's layout -> security headers.

pub mod account;
pub mod api;
pub mod auth;
pub mod comments;
pub mod feeds;
pub mod files;
pub mod limits;
pub mod mail_events;
pub mod moderation;
pub mod moderation_settings;
pub mod newsletter_admin;
pub mod newsletter_desk;
pub mod newsletters;
pub mod pages;
pub mod readers;
pub mod redirects;
pub mod saved;
pub mod seo;
pub mod story;
pub mod webhook;

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::error::{AppError, ErrorPage};

/// The longest request target accepted; longer ones get 414.
pub const MAX_URI_BYTES: usize = 4096;
/// The most header bytes accepted in all; more get 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Section slugs that would collide with the site's own paths.
pub const RESERVED_PATHS: &[&str] = &[
    "topic",
    "author",
    "media",
    "static",
    "api",
    "s",
    "sitemaps",
    "account",
    "admin",
    "newsroom",
    "comments",
    "moderation",
    "newsletters",
    "email",
    "search",
    "healthz",
    "feed.xml",
    "atom.xml",
    "sitemap.xml",
    "news-sitemap.xml",
    "robots.txt",
];

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::front))
        .route("/healthz", get(api::healthz))
        .route("/robots.txt", get(seo::robots))
        .route("/sitemap.xml", get(seo::sitemap))
        .route("/sitemaps/{file}", get(seo::sitemap_page))
        .route("/news-sitemap.xml", get(seo::news_sitemap))
        .route("/feed.xml", get(feeds::site_rss))
        .route("/atom.xml", get(feeds::site_atom))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/stories", get(api::stories))
        .route("/api/stories/{id}", get(api::story))
        .route(
            "/api/entitlements/events",
            axum::routing::any(webhook::events),
        )
        .route(
            "/webhooks/mail-events",
            axum::routing::post(mail_events::events),
        )
        .route(
            "/admin/mail/suppressions",
            get(mail_events::suppressions_page).post(mail_events::suppressions_act),
        )
        .route("/media/{file}", get(files::media))
        .route("/static/{file}", get(files::asset))
        .route("/s/{id}", get(story::short_link))
        .route("/account", get(account::overview))
        .route(
            "/account/register",
            get(account::register_form).post(account::register),
        )
        .route(
            "/account/sign-in",
            get(account::sign_in_form).post(account::sign_in),
        )
        .route("/account/sign-out", axum::routing::post(account::sign_out))
        .route(
            "/account/verify",
            get(account::verify_page).post(account::verify),
        )
        .route("/account/subscribe", get(account::subscribe))
        .route(
            "/account/sign-in/link",
            get(account::sign_in_link::request_form).post(account::sign_in_link::request),
        )
        .route(
            "/account/sign-in/code",
            get(account::sign_in_link::code_page).post(account::sign_in_link::code),
        )
        .route(
            "/account/sign-in/confirm",
            get(account::sign_in_link::confirm_page).post(account::sign_in_link::confirm),
        )
        .route(
            "/account/password",
            get(account::password::change_form).post(account::password::change),
        )
        .route(
            "/account/password/forgot",
            get(account::password::forgot_form).post(account::password::forgot),
        )
        .route(
            "/account/password/reset",
            get(account::password::reset_page).post(account::password::reset),
        )
        .route(
            "/account/email",
            get(account::change_email::form).post(account::change_email::request),
        )
        .route(
            "/account/email/confirm",
            get(account::change_email::confirm_page).post(account::change_email::confirm),
        )
        .route(
            "/account/delete",
            get(account::delete::form).post(account::delete::delete),
        )
        .route("/account/deleted", get(account::delete::goodbye))
        .route(
            account::earlier::PATH,
            get(account::earlier::form).post(account::earlier::claim),
        )
        .route("/account/data.json", get(account::data::download))
        .route("/account/saved", get(saved::page).post(saved::change))
        .route(
            "/account/comments",
            get(comments::mine).post(comments::mine_settings),
        )
        .route(
            "/newsletters",
            get(newsletters::list).post(newsletters::change),
        )
        .route(
            "/email/preferences",
            axum::routing::post(newsletters::fresh_link),
        )
        .route(
            "/email/preferences/{token}",
            get(newsletters::preferences).post(newsletters::preferences_change),
        )
        .route(
            "/email/unsubscribe/{token}",
            get(newsletters::unsubscribe_page).post(newsletters::unsubscribe),
        )
        .route(
            "/email/confirm/{token}",
            get(newsletters::confirm_page).post(newsletters::confirm),
        )
        .route("/comments", axum::routing::post(comments::post))
        .route("/moderation", get(moderation::queue).post(moderation::act))
        .route("/moderation/log", get(moderation::log))
        .route(
            "/moderation/settings",
            get(moderation_settings::page).post(moderation_settings::save),
        )
        .route(
            "/moderation/settings/try",
            axum::routing::post(moderation_settings::try_it),
        )
        .route("/desk/newsletters", get(newsletter_desk::index))
        // Static segments: matched before `/desk/newsletters/{id}/...`.
        .route(
            "/desk/newsletters/new",
            get(newsletter_admin::new_form).post(newsletter_admin::create),
        )
        .route(
            "/desk/newsletters/story-box",
            get(newsletter_admin::story_box_form).post(newsletter_admin::story_box),
        )
        .route(
            "/desk/newsletters/{id}/edit",
            get(newsletter_admin::edit_form).post(newsletter_admin::edit),
        )
        .route(
            "/desk/newsletters/{id}/archive",
            axum::routing::post(newsletter_admin::archive),
        )
        .route(
            "/desk/newsletters/{id}/new",
            get(newsletter_desk::new_issue).post(newsletter_desk::create_issue),
        )
        .route(
            "/desk/issues/{id}",
            get(newsletter_desk::issue).post(newsletter_desk::act),
        )
        .route("/desk/issues/{id}/preview", get(newsletter_desk::preview))
        .route(
            "/desk/issues/{id}/progress.json",
            get(newsletter_desk::progress),
        )
        .route("/moderation/imports", get(moderation::imports))
        .route(
            "/moderation/member/{id}",
            get(moderation::member).post(moderation::member_act),
        )
        .route(
            "/moderation/member/{id}/attach",
            axum::routing::post(moderation::attach_identity),
        )
        .route("/comments/{id}/edit", axum::routing::post(comments::edit))
        .route(
            "/comments/{id}/delete",
            axum::routing::post(comments::delete),
        )
        .route("/comments/{id}/like", axum::routing::post(comments::like))
        .route(
            "/comments/{id}/report",
            axum::routing::post(comments::report),
        )
        .route("/comments/{id}/{flag}", axum::routing::post(comments::flag))
        .route(
            "/comments/story/{id}/close",
            axum::routing::post(comments::close_story),
        )
        .route("/topic/{slug}", get(pages::topic))
        .route("/topic/{slug}/feed.xml", get(feeds::topic_rss))
        .route("/topic/{slug}/atom.xml", get(feeds::topic_atom))
        .route("/author/{slug}", get(pages::author))
        .route("/{section}", get(pages::section))
        .route("/{section}/feed.xml", get(feeds::section_rss))
        .route("/{section}/atom.xml", get(feeds::section_atom))
        .route("/{section}/{story}", get(story::page))
        .route("/{section}/{story}/comments", get(comments::page))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            redirects::old_addresses,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), frame))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    res.extensions_mut()
        .insert(AppError::Internal(anyhow::anyhow!("panic")).page());
    res
}

/// What every request passes, in one layer (each layer costs on the hot
/// path): size limits, the client's address, error pages, security headers.
async fn frame(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut res = match over_limits(&req) {
        Some(refusal) => refusal,
        None => {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
            let info = client_ip(peer, req.headers(), |ip| state.config.is_trusted_proxy(ip));
            req.extensions_mut().insert(info);
            let wants_json = req.uri().path().starts_with("/api/");
            let res = next.run(req).await;
            match res.extensions().get::<ErrorPage>().cloned() {
                Some(page) => error_page(&state, res.status(), page, wants_json).await,
                None => res,
            }
        }
    };
    security_headers(res.headers_mut());
    res
}

/// Refuses over-long request targets (414) and header blocks (431) before
/// any handler runs.
fn over_limits(req: &Request) -> Option<Response> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return Some(plain(
            StatusCode::URI_TOO_LONG,
            "The address is too long.\n",
        ));
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(plain(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "The request headers are too large.\n",
        ));
    }
    None
}

/// Marks a personal page (a desk, a form with a token) as not to be kept
/// by any cache.
pub fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

/// A posted form's fields, with every value of a repeated name (`ids`,
/// `stories`), in order.
pub fn form_fields(body: &[u8]) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (k, v) in url::form_urlencoded::parse(body) {
        out.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    out
}

/// The first value of a form field, or "" when it is missing.
pub fn form_value<'a>(f: &'a std::collections::HashMap<String, Vec<String>>, k: &str) -> &'a str {
    f.get(k).and_then(|v| v.first()).map_or("", String::as_str)
}

/// A 303 to `to`: where a form post sends the browser next.
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// A 303 to the sign-in page, which comes back to `next` afterwards.
pub fn sign_in_first(next: &str) -> Response {
    see_other(&format!(
        "/account/sign-in?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    ))
}

/// Whether the request asks for JSON (the pages' script does).
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// Who sent a request, as far as it can be believed.
#[derive(Clone, Copy, Debug)]
pub struct ClientInfo {
    pub ip: IpAddr,
    /// Whether the reader's connection is HTTPS (as told by a trusted proxy).
    pub https: bool,
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in
/// which case the right-most untrusted address of `X-Forwarded-For`.
pub fn client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    is_trusted: impl Fn(IpAddr) -> bool,
) -> ClientInfo {
    if !is_trusted(peer) {
        return ClientInfo {
            ip: peer,
            https: false,
        };
    }
    let mut ip = peer;
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    for hop in hops.iter().rev() {
        ip = *hop;
        if !is_trusted(*hop) {
            break;
        }
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    ClientInfo { ip, https }
}

fn security_headers(h: &mut HeaderMap) {
    let defaults: [(&str, &str); 4] = [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("x-frame-options", "SAMEORIGIN"),
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'self'; base-uri 'self'; form-action 'self'",
        ),
    ];
    for (k, v) in defaults {
        if !h.contains_key(k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    }
}

/// Renders the error page for a response that carried an [`ErrorPage`]:
/// JSON under `/api/`, the site's layout elsewhere.
async fn error_page(
    state: &AppState,
    status: StatusCode,
    page: ErrorPage,
    wants_json: bool,
) -> Response {
    if wants_json {
        let body = serde_json::json!({ "error": { "code": page.code, "message": page.message } });
        return (status, axum::Json(body)).into_response();
    }
    let site = state.current_site().await.ok();
    let html = state.renderer.render(
        "error.html",
        minijinja::context! {
            site => crate::render::val(pages::site_context(state, site.as_deref())),
            status => status.as_u16(),
            title => page.title,
            message => page.message,
            code => page.code,
        },
    );
    match html {
        Ok(html) => {
            let mut out = (status, Html(html)).into_response();
            out.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            out
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot render the error page");
            let mut out =
                Response::new(Body::from(format!("{} {}\n", status.as_u16(), page.title)));
            *out.status_mut() = status;
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_headers_are_believed_only_from_trusted_proxies() {
        let trusted = |ip: IpAddr| ip == IpAddr::from([10, 0, 0, 1]);
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ]);
        let direct = client_ip("198.51.100.7".parse().unwrap(), &h, trusted);
        assert_eq!(direct.ip.to_string(), "198.51.100.7");
        assert!(!direct.https);
        let proxied = client_ip("10.0.0.1".parse().unwrap(), &h, trusted);
        assert_eq!(proxied.ip.to_string(), "203.0.113.9");
        assert!(proxied.https);
    }

    #[test]
    fn a_forged_first_hop_is_ignored() {
        let trusted = |ip: IpAddr| ip == IpAddr::from([10, 0, 0, 1]);
        let h = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9")]);
        let c = client_ip("10.0.0.1".parse().unwrap(), &h, trusted);
        assert_eq!(c.ip.to_string(), "203.0.113.9");
    }
}
