//! Member accounts through the real router: registration confirmed by mail,
//! sign-in, sign-out, CSRF, rate limits, the member's meter, entitlements.

use std::collections::BTreeMap;

use crate::helpers::*;
use masthead::db::members;

/// A browser with a cookie jar (the site's cookies are `Secure`, and the
/// tests talk plain HTTP, so the jar is kept here rather than in reqwest).
pub struct Browser<'a> {
    app: &'a TestApp,
    pub jar: BTreeMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            jar: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn take(&mut self, r: reqwest::Response) -> Page {
        for set in r.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Lax"),
                "{set}"
            );
            let (pair, _) = set.split_once(';').unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() || set.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_string(), v.to_string());
            }
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        Page {
            status,
            location,
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .app
            .client
            .get(format!("{}{path}", self.app.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.take(r).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let r = self
            .app
            .client
            .post(format!("{}{path}", self.app.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.take(r).await
    }
}

/// The value of a hidden input in a page.
pub fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {body}"))
        + marker.len();
    body[at..at + body[at..].find('"').unwrap()].replace("&amp;", "&")
}

/// The latest queued mail to an address: (subject, text).
pub async fn last_mail(app: &TestApp, to: &str) -> (String, String) {
    #[derive(sqlx::FromRow)]
    struct M {
        subject: String,
        text_body: String,
    }
    let mut c = app.db.read().await.unwrap();
    let m = masthead::fetch_optional!(
        c.ex(),
        M,
        "select subject, text_body from mail_outbox where lower(to_address) = lower($1) order by id desc limit 1",
        to
    )
    .unwrap()
    .unwrap_or_else(|| panic!("no mail to {to}"));
    (m.subject, m.text_body)
}

/// The first link to the site in a mail's text, as a path.
pub fn link_in(text: &str) -> String {
    let start = text
        .find("https://news.example/")
        .expect("a link in the mail");
    let end = start
        + text[start..]
            .find(char::is_whitespace)
            .unwrap_or(text.len() - start);
    text[start..end]
        .trim_start_matches("https://news.example")
        .to_string()
}

/// Registers and confirms `email`; the browser ends signed in.
pub async fn register_and_confirm(b: &mut Browser<'_>, email: &str, next: &str) {
    let form = b.get(&format!("/account/register?next={next}")).await;
    let csrf = hidden(&form.body, "csrf");
    let done = b
        .post(
            "/account/register",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("name", "Priya Nair"),
                ("password", "monsoon-2026-rains"),
                ("next", next),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Check your inbox"));
    let (subject, text) = last_mail(b.app, email).await;
    assert!(
        subject.starts_with("Confirm your e-mail address"),
        "{subject}"
    );
    let link = link_in(&text);
    // Following the link (as a mail scanner would) changes nothing ...
    let page = b.get(&link).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Confirm and sign in"));
    // ... the button does.
    let done = b
        .post(
            "/account/verify",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("token", &hidden(&page.body, "token")),
                ("next", &hidden(&page.body, "next")),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some(next));
    assert!(b.jar.contains_key("mh_session"));
}

#[tokio::test]
async fn a_reader_registers_confirms_by_mail_and_is_signed_in() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut b = Browser::new(&app);
    let story = story_url(&app, f.story).await;
    register_and_confirm(&mut b, "Priya.Nair@Example.com", &story).await;
    let page = b.get(&story).await;
    assert!(
        page.body.contains(r#"<a href="/account">Priya Nair</a>"#),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("You have 9 free stories left this month.")
    );
    let account = b.get("/account").await;
    assert!(
        account.body.contains("Priya.Nair@Example.com") && !account.body.contains("not confirmed")
    );
    // The same link does not work twice.
    let (_, text) = last_mail(&app, "priya.nair@example.com").await;
    let mut other = Browser::new(&app);
    let page = other.get(&link_in(&text)).await;
    let again = other
        .post(
            "/account/verify",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("token", &hidden(&page.body, "token")),
            ],
        )
        .await;
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("This link no longer works") && !other.jar.contains_key("mh_session")
    );
}

#[tokio::test]
async fn registering_a_taken_address_answers_the_same_and_tells_its_owner() {
    let app = spawn_app().await;
    fixture(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let mut stranger = Browser::new(&app);
    let form = stranger.get("/account/register").await;
    let done = stranger
        .post(
            "/account/register",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("email", "ASHA@example.com"),
                ("password", "another-password-1"),
            ],
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(
        done.body.contains("Check your inbox"),
        "the answer does not say the address is taken"
    );
    let (subject, _) = last_mail(&app, "asha@example.com").await;
    assert!(
        subject.starts_with("Someone tried to register"),
        "{subject}"
    );
    let mut c = app.db.read().await.unwrap();
    assert_eq!(members::count(c.ex()).await.unwrap(), 1);
}

#[tokio::test]
async fn a_rejected_registration_keeps_what_was_typed_and_says_what_to_fix() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let form = b.get("/account/register").await;
    let done = b
        .post(
            "/account/register",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("email", "priya at example"),
                ("name", "Priya"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(done.status, 422);
    assert!(
        done.body.contains("needs an @") && done.body.contains("at least 10 characters"),
        "{}",
        done.body
    );
    assert!(
        done.body.contains(r#"value="priya at example""#) && done.body.contains(r#"value="Priya""#)
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let mut answers = Vec::new();
    for email in ["asha@example.com", "nobody@example.com"] {
        let mut s = Browser::new(&app);
        let form = s.get("/account/sign-in").await;
        let r = s
            .post(
                "/account/sign-in",
                &[
                    ("csrf", &hidden(&form.body, "csrf")),
                    ("email", email),
                    ("password", "not-the-password"),
                ],
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.body.contains(&format!(r#"value="{email}""#)),
            "the address stays in the form"
        );
        answers.push(
            r.body
                .replace(email, "EMAIL")
                .replace(&hidden(&r.body, "csrf"), "CSRF"),
        );
    }
    assert_eq!(answers[0], answers[1]);
    let mut s = Browser::new(&app);
    let form = s.get("/account/sign-in?next=/world").await;
    let r = s
        .post(
            "/account/sign-in",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("email", "ASHA@example.com"),
                ("password", "monsoon-2026-rains"),
                ("next", "/world"),
            ],
        )
        .await;
    assert_eq!((r.status, r.location.as_deref()), (303, Some("/world")));
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_are_refused() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    b.get("/account/sign-in").await;
    for token in ["", "forged"] {
        let r = b
            .post(
                "/account/sign-in",
                &[
                    ("csrf", token),
                    ("email", "a@example.com"),
                    ("password", "whatever-1234"),
                ],
            )
            .await;
        assert_eq!(r.status, 403, "{token:?}");
    }
    let mut fresh = Browser::new(&app);
    let r = fresh
        .post(
            "/account/register",
            &[
                ("csrf", "x"),
                ("email", "a@example.com"),
                ("password", "whatever-1234"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let r = b
        .post("/account/sign-out", &[("csrf", "not-the-session-token")])
        .await;
    assert_eq!(r.status, 403);
    assert!(
        b.get("/account").await.body.contains("asha@example.com"),
        "still signed in"
    );
}

#[tokio::test]
async fn a_session_id_planted_before_sign_in_is_worth_nothing_after_it() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let csrf = hidden(&b.get("/account").await.body, "csrf");
    b.post("/account/sign-out", &[("csrf", &csrf)]).await;
    b.jar
        .insert("mh_session".into(), "planted-by-an-attacker".into());
    let form = b.get("/account/sign-in").await;
    b.post(
        "/account/sign-in",
        &[
            ("csrf", &hidden(&form.body, "csrf")),
            ("email", "asha@example.com"),
            ("password", "monsoon-2026-rains"),
        ],
    )
    .await;
    assert_ne!(b.jar["mh_session"], "planted-by-an-attacker");
    let mut attacker = Browser::new(&app);
    attacker
        .jar
        .insert("mh_session".into(), "planted-by-an-attacker".into());
    assert_eq!(
        attacker.get("/account").await.status,
        303,
        "the planted id signs no one in"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let stolen = b.jar["mh_session"].clone();
    let csrf = hidden(&b.get("/account").await.body, "csrf");
    let r = b.post("/account/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    assert!(!b.jar.contains_key("mh_session"));
    let mut thief = Browser::new(&app);
    thief.jar.insert("mh_session".into(), stolen);
    assert_eq!(thief.get("/account").await.status, 303);
}

#[tokio::test]
async fn guessing_passwords_is_stopped_after_the_limit() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let form = b.get("/account/sign-in").await;
    let csrf = hidden(&form.body, "csrf");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            b.post(
                "/account/sign-in",
                &[
                    ("csrf", &csrf),
                    ("email", "asha@example.com"),
                    ("password", "guess-guess-guess"),
                ],
            )
            .await
            .status,
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 422), "{statuses:?}");
    assert_eq!(statuses[10], 429);
    // Ten minutes later the address may try again.
    app.clock.advance(jiff::SignedDuration::from_mins(11));
    assert_eq!(
        b.post(
            "/account/sign-in",
            &[
                ("csrf", &csrf),
                ("email", "asha@example.com"),
                ("password", "guess")
            ]
        )
        .await
        .status,
        422
    );
}

#[tokio::test]
async fn a_member_reads_ten_stories_then_meets_the_subscription_wall_and_anonymous_reads_merge() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 11).await;
    let mut b = Browser::new(&app);
    // Two stories read before registering count once each after it.
    b.get(&urls[0]).await;
    b.get(&urls[1]).await;
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    assert!(
        !b.jar.contains_key("mh_meter"),
        "the anonymous meter is merged and cleared"
    );
    let again = b.get(&urls[1]).await;
    assert!(
        again
            .body
            .contains("You have 8 free stories left this month."),
        "{}",
        again.body
    );
    for u in &urls[2..10] {
        let p = b.get(u).await;
        assert!(!p.body.contains("class=\"wall\""), "{u}");
    }
    let walled = b.get(&urls[10]).await;
    assert!(
        walled
            .body
            .contains("You have read your 10 free stories this month")
    );
    assert!(walled.body.contains("/account/subscribe") && !walled.body.contains(LINE_PAST_THE_CUT));
}

#[tokio::test]
async fn an_entitlement_lifts_the_meter_until_it_expires() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 11).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    {
        let mut c = app.db.write().await.unwrap();
        let m = members::by_email(
            c.ex(),
            &masthead::domain::email::Email::parse("asha@example.com").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let day = 24 * 3_600_000_000i64;
        assert!(
            members::grant_entitlement(
                c.ex(),
                m.id,
                "test",
                app.now(),
                app.now() + day,
                "evt-1",
                app.now()
            )
            .await
            .unwrap()
        );
        assert!(
            !members::grant_entitlement(
                c.ex(),
                m.id,
                "test",
                app.now(),
                app.now() + day,
                "evt-1",
                app.now()
            )
            .await
            .unwrap(),
            "idempotent by event id"
        );
    }
    for u in &urls {
        let p = b.get(u).await;
        assert!(
            p.body.contains(LINE_PAST_THE_CUT) && !p.body.contains("free stories left"),
            "{u}"
        );
    }
    // Two days later the subscription has lapsed: the member is metered again.
    app.clock.advance(jiff::SignedDuration::from_hours(48));
    let p = b.get(&urls[0]).await;
    assert!(p.body.contains("free stories left this month"));
}

#[tokio::test]
async fn a_session_ended_on_another_instance_stops_working_within_the_poll_window() {
    let app = spawn_app_with(|l| masthead::config::Layer {
        change_poll_ms: Some(1_000),
        ..l
    })
    .await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    assert_eq!(b.get("/account").await.status, 200);
    // Another instance signs the member out everywhere: the rows go.
    {
        let mut c = app.db.write().await.unwrap();
        let m = members::by_email(
            c.ex(),
            &masthead::domain::email::Email::parse("asha@example.com").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        members::delete_sessions_of(c.ex(), m.id).await.unwrap();
    }
    // This instance may trust its recent look-up for the window ...
    assert_eq!(b.get("/account").await.status, 200);
    // ... and no longer.
    app.clock.advance(jiff::SignedDuration::from_millis(1_001));
    assert_eq!(b.get("/account").await.status, 303);
}

#[tokio::test]
async fn signing_out_here_takes_effect_at_once_even_with_a_poll_window() {
    let app = spawn_app_with(|l| masthead::config::Layer {
        change_poll_ms: Some(60_000),
        ..l
    })
    .await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let stolen = b.jar["mh_session"].clone();
    let csrf = hidden(&b.get("/account").await.body, "csrf");
    b.post("/account/sign-out", &[("csrf", &csrf)]).await;
    let mut thief = Browser::new(&app);
    thief.jar.insert("mh_session".into(), stolen);
    assert_eq!(thief.get("/account").await.status, 303);
}
