//! Who is asking: sessions, the CSRF check, passwords, and rate limits.
//!
//! A session cookie holds a random token; the database holds its SHA-256
//! (the source of truth, so every instance agrees and sign-out is real). A new
//! session is made at every sign-in, so a session id planted before sign-in
//! is worth nothing. Forms carry a CSRF token: the session's own once signed
//! in; before that, a signature over a random nonce kept in its own cookie.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::db::members::{self, SessionMember};
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "mh_session";
pub const FORM_COOKIE: &str = "mh_form";
/// How long a session lasts without signing in again.
pub const SESSION_DAYS: i64 = 30;

/// A random token for a cookie or a link: 32 bytes, URL-safe.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// What the database keeps of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets without leaking where they differ.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn argon2() -> Argon2<'static> {
    // OWASP's second argon2id profile: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Password hashes computed at once. Each argon2id computation holds its
/// memory cost (19 MiB) while it runs, so a burst of sign-ins must queue
/// rather than each take its own: a hundred at once would otherwise hold
/// nearly 2 GB. One per core keeps the cores busy and the memory bounded.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores.clamp(1, 8))
    })
}

/// Gives the memory of a finished hash back to the system: glibc keeps
/// large freed blocks in the arena of the thread that used them, and the
/// blocking threads that hash are many, so without this each one keeps 19 MiB.
fn release_hash_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Hashes a password with argon2id (off the async threads: it takes tens of ms).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let hashed = argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"));
        release_hash_memory();
        hashed
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(AppError::Internal)
}

/// Checks a password against a stored hash. With no hash (an unknown
/// address), it checks against a fixed one, so the answer takes as long
/// either way and says nothing about which addresses exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    let Ok(_permit) = hashing_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::encode_b64(b"masthead-dummy-salt").expect("a valid salt");
            argon2()
                .hash_password(b"not a password anyone has", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| dummy.clone());
        let ok = PasswordHash::new(&stored)
            .is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok());
        release_hash_memory();
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// A `Set-Cookie` value with the site's cookie attributes.
pub fn cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.config.is_https() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// The reader behind a request: the signed-in member, if any.
pub struct Visitor {
    pub member: Option<SessionMember>,
    pub session_hash: Option<String>,
    pub ip: IpAddr,
    /// The pre-sign-in form nonce cookie, if set.
    pub form_nonce: Option<String>,
    pub meter_cookie: Option<String>,
}

/// What templates see of the reader (`reader` in every page).
#[derive(Clone, Debug, Serialize)]
pub struct ReaderView {
    pub signed_in: bool,
    pub name: String,
    pub email: String,
    pub csrf: String,
    pub verified: bool,
    pub subscriber: bool,
    pub staff: bool,
    /// Editors and admins: the newsletter desk.
    pub editor: bool,
}

impl Visitor {
    pub fn view(&self) -> Option<ReaderView> {
        self.member.as_ref().map(member_view)
    }
}

pub fn member_view(m: &SessionMember) -> ReaderView {
    ReaderView {
        signed_in: true,
        name: if m.display_name.is_empty() {
            m.email.clone()
        } else {
            m.display_name.clone()
        },
        email: m.email.clone(),
        csrf: m.csrf_token.clone(),
        verified: m.email_verified_at.is_some(),
        subscriber: m.subscribed_until.is_some(),
        staff: m.role != "member",
        editor: matches!(m.role.as_str(), "editor" | "admin"),
    }
}

/// Looks up the member of a session cookie, if the cookie names a current session.
pub async fn session_member(
    state: &AppState,
    token: Option<&str>,
) -> Result<Option<(SessionMember, String)>, AppError> {
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() < 100) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let now = state.now_micros();
    if let Some(m) = state.sessions.get(&hash, now) {
        return Ok(Some((m, hash)));
    }
    let mut conn = state.db.read().await?;
    let found = members::by_session(conn.ex(), &hash, now).await?;
    if let Some(m) = &found {
        state.sessions.put(&hash, m.clone(), now);
    }
    Ok(found.map(|m| (m, hash)))
}

/// Recently looked-up sessions, kept for `change_poll_ms` (the same window
/// in which pages may lag behind another instance's edit). The database stays
/// the source of truth: a sign-out or an entitlement change made on another
/// instance is seen here within that window; one made here at once.
pub struct SessionCache {
    max_age_us: i64,
    map: Mutex<HashMap<String, (i64, SessionMember)>>,
}

impl SessionCache {
    pub fn new(max_age: std::time::Duration) -> SessionCache {
        SessionCache {
            max_age_us: max_age.as_micros() as i64,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, hash: &str, now: i64) -> Option<SessionMember> {
        if self.max_age_us == 0 {
            return None;
        }
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(hash)
            .filter(|(at, _)| now - *at <= self.max_age_us)
            .map(|(_, m)| m.clone())
    }

    fn put(&self, hash: &str, member: SessionMember, now: i64) {
        if self.max_age_us == 0 {
            return;
        }
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 50_000 {
            map.retain(|_, (at, _)| now - *at <= self.max_age_us);
        }
        map.insert(hash.to_string(), (now, member));
    }

    /// Forgets one session (signed out here).
    pub fn forget(&self, hash: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(hash);
    }

    /// Forgets every session of a member (signed out everywhere, role or
    /// entitlements changed here).
    pub fn forget_member(&self, member_id: i64) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (_, m)| m.id != member_id);
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<super::ClientInfo>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.ip);
        let session = super::cookie(&parts.headers, SESSION_COOKIE);
        let found = session_member(state, session).await?;
        let (member, session_hash) = match found {
            Some((m, h)) => (Some(m), Some(h)),
            None => (None, None),
        };
        Ok(Visitor {
            member,
            session_hash,
            ip,
            form_nonce: super::cookie(&parts.headers, FORM_COOKIE).map(str::to_string),
            meter_cookie: super::cookie(&parts.headers, crate::domain::meter::COOKIE)
                .map(str::to_string),
        })
    }
}

/// The CSRF token a form must carry, and whether a new nonce cookie must be set.
pub fn form_token(state: &AppState, visitor: &Visitor) -> (String, Option<String>) {
    if let Some(m) = &visitor.member {
        return (m.csrf_token.clone(), None);
    }
    match &visitor.form_nonce {
        Some(n) if n.len() >= 20 => (state.keys.sign("form", n.as_bytes()), None),
        _ => {
            let n = random_token();
            let token = state.keys.sign("form", n.as_bytes());
            (token, Some(cookie(state, FORM_COOKIE, &n, 24 * 3600)))
        }
    }
}

/// Checks a submitted form's CSRF token.
pub fn check_csrf(state: &AppState, visitor: &Visitor, submitted: &str) -> Result<(), AppError> {
    let ok = match (&visitor.member, &visitor.form_nonce) {
        (Some(m), _) => same(&m.csrf_token, submitted),
        (None, Some(n)) => state.keys.verify("form", n.as_bytes(), submitted),
        (None, None) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This form has expired or did not come from this site. Go back, reload the page and try again.".into(),
        ))
    }
}

/// Where to go after a form: a path on this site, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() < 500 =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_addresses_stay_on_this_site() {
        assert_eq!(safe_next(Some("/india/story-1")), "/india/story-1");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }

    #[tokio::test]
    async fn passwords_verify_only_against_their_hash() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong".into(), Some(h)).await);
        assert!(!verify_password("not a password anyone has".into(), None).await);
    }
}
