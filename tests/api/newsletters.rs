//! Newsletter subscriptions through the real router: one-click buttons for
//! members, double opt-in for visitors, the offers consent, and the pages
//! the links in every mail open (preferences, one-click unsubscribe,
//! confirmation) without signing in.

use jiff::SignedDuration;
use masthead::db::members;
use masthead::domain::email::Email;
use masthead::newsletters::links;
use masthead::newsletters::subscriptions::{
    self as subs, Kind, NewNewsletter, OFFERS_CONSENT_WORDS,
};

use crate::accounts::{Browser, Page, hidden, last_mail, link_in, register_and_confirm};
use crate::helpers::*;

const PASSWORD: &str = "monsoon-2026-rains";

/// The demo's three newsletters: (morning briefing, weekly digest, offers).
pub async fn add_newsletters(app: &TestApp) -> (i64, i64, i64) {
    let mut tx = app.db.begin().await.unwrap();
    let mut ids = Vec::new();
    for (slug, name, kind, on_register) in [
        (
            "morning-briefing",
            "The Morning Briefing",
            Kind::Editorial,
            true,
        ),
        ("weekly-digest", "The Weekly Digest", Kind::Editorial, false),
        ("offers", "Offers and early access", Kind::Offers, true),
    ] {
        let n = NewNewsletter {
            slug,
            name,
            description: "What it is about.",
            from_name: "",
            from_address: "",
            reply_to: "",
            schedule: "Every day at 6 am",
            kind,
            // Asked for offers too: registration must still never subscribe to it.
            subscribe_on_register: on_register,
            position: ids.len() as i64,
        };
        ids.push(subs::create(tx.ex(), &n, app.now()).await.unwrap().unwrap());
    }
    masthead::db::settings::bump_content_epoch(tx.ex())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (ids[0], ids[1], ids[2])
}

#[derive(sqlx::FromRow)]
struct N {
    n: i64,
}

/// The state of the subscription of `email` to `newsletter`, if there is a row.
async fn state_of(app: &TestApp, email: &str, newsletter: i64) -> Option<String> {
    #[derive(sqlx::FromRow)]
    struct S {
        state: String,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_optional!(
        c.ex(),
        S,
        "select ns.state from newsletter_subscriptions ns join subscribers s on s.id = ns.subscriber_id \
         where s.email_normalized = $1 and ns.newsletter_id = $2",
        email.to_lowercase(),
        newsletter
    )
    .unwrap()
    .map(|s| s.state)
}

async fn count(app: &TestApp, sql: &'static str, value: String) -> i64 {
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_one!(c.ex(), N, sql, value).unwrap().n
}

async fn subscription_rows(app: &TestApp, email: &str) -> i64 {
    count(
        app,
        "select count(*) as n from newsletter_subscriptions ns join subscribers s \
         on s.id = ns.subscriber_id where s.email_normalized = $1",
        email.to_lowercase(),
    )
    .await
}

async fn mails_to(app: &TestApp, email: &str) -> i64 {
    count(
        app,
        "select count(*) as n from mail_outbox where lower(to_address) = $1",
        email.to_lowercase(),
    )
    .await
}

async fn subscriber_id(app: &TestApp, email: &str) -> i64 {
    let mut c = app.db.read().await.unwrap();
    subs::subscriber_by_email(c.ex(), &Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no subscriber {email}"))
        .id
}

/// Posts a newsletter button as a member would, from `/newsletters`.
async fn press(b: &mut Browser<'_>, slug: &str, action: &str, extra: &[(&str, &str)]) -> Page {
    let page = b.get("/newsletters").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("newsletter", slug),
        ("action", action),
        ("next", "/newsletters"),
    ];
    form.extend_from_slice(extra);
    b.post("/newsletters", &form).await
}

/// A request with no cookie at all.
async fn post_bare(app: &TestApp, path: &str, body: &'static str) -> reqwest::Response {
    app.client
        .post(format!("{}{path}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn registration_subscribes_to_the_chosen_newsletters_and_a_member_toggles_with_one_click() {
    let app = spawn_app().await;
    let (morning, digest, offers) = add_newsletters(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    // Registration: the morning briefing, never offers, nothing else.
    assert_eq!(
        state_of(&app, "asha@example.com", morning).await.as_deref(),
        Some("active")
    );
    assert_eq!(state_of(&app, "asha@example.com", digest).await, None);
    assert_eq!(state_of(&app, "asha@example.com", offers).await, None);

    // A form post without JavaScript: a 303 back, active at once.
    let done = press(&mut b, "weekly-digest", "subscribe", &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/newsletters"));
    assert_eq!(
        state_of(&app, "asha@example.com", digest).await.as_deref(),
        Some("active")
    );
    let page = b.get("/newsletters").await;
    assert_eq!(
        page.body.matches("value=\"unsubscribe\"").count(),
        2,
        "two subscribed buttons: {}",
        page.body
    );
    // Pressing again makes no second row.
    press(&mut b, "weekly-digest", "subscribe", &[]).await;
    assert_eq!(subscription_rows(&app, "asha@example.com").await, 2);

    // The page's script asks for JSON.
    let csrf = hidden(&page.body, "csrf");
    let r = app
        .client
        .post(format!("{}/newsletters", app.base))
        .header("cookie", format!("mh_session={}", b.jar["mh_session"]))
        .header("accept", "application/json")
        .form(&[
            ("csrf", csrf.as_str()),
            ("newsletter", "weekly-digest"),
            ("action", "unsubscribe"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({ "state": "none" })
    );
    assert_eq!(
        state_of(&app, "asha@example.com", digest).await.as_deref(),
        Some("unsubscribed")
    );

    // Without a right CSRF token nothing changes.
    for token in [None, Some(""), Some("forged")] {
        let mut form = vec![
            ("newsletter", "morning-briefing"),
            ("action", "unsubscribe"),
        ];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        assert_eq!(b.post("/newsletters", &form).await.status, 403, "{token:?}");
    }
    assert_eq!(
        state_of(&app, "asha@example.com", morning).await.as_deref(),
        Some("active")
    );

    // The account page has the same buttons.
    let account = b.get("/account").await;
    assert!(
        account.body.contains("The Weekly Digest"),
        "{}",
        account.body
    );
    let csrf = hidden(&account.body, "csrf");
    let done = b
        .post(
            "/newsletters",
            &[
                ("csrf", &csrf),
                ("newsletter", "morning-briefing"),
                ("action", "unsubscribe"),
                ("source", "account"),
                ("next", "/account#newsletter-morning-briefing"),
            ],
        )
        .await;
    assert_eq!(
        done.location.as_deref(),
        Some("/account#newsletter-morning-briefing")
    );
    assert_eq!(
        state_of(&app, "asha@example.com", morning).await.as_deref(),
        Some("unsubscribed")
    );
}

#[tokio::test]
async fn an_address_typed_by_a_visitor_is_confirmed_by_mail_before_anything_is_active() {
    let app = spawn_app().await;
    let (_, digest, _) = add_newsletters(&app).await;
    register_and_confirm(&mut Browser::new(&app), "known@example.com", "/").await;
    let known_mails = mails_to(&app, "known@example.com").await;

    // The same answer for an address nobody knows and a member's address.
    let mut answers = Vec::new();
    for email in ["ravi@example.com", "known@example.com"] {
        let mut b = Browser::new(&app);
        let page = b.get("/newsletters?newsletter=weekly-digest").await;
        let csrf = hidden(&page.body, "csrf");
        let done = b
            .post(
                "/newsletters",
                &[
                    ("csrf", &csrf),
                    ("newsletter", "weekly-digest"),
                    ("action", "subscribe"),
                    ("email", email),
                ],
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("Check your inbox"));
        answers.push(done.body.replace(email, "EMAIL"));
    }
    assert_eq!(answers[0], answers[1]);
    for email in ["ravi@example.com", "known@example.com"] {
        assert_eq!(
            state_of(&app, email, digest).await.as_deref(),
            Some("pending"),
            "nothing is active before it is confirmed: {email}"
        );
    }
    assert_eq!(mails_to(&app, "known@example.com").await, known_mails + 1);

    // Asking again: one row, no second mail within a few minutes.
    let mut b = Browser::new(&app);
    for _ in 0..3 {
        let page = b.get("/newsletters").await;
        let csrf = hidden(&page.body, "csrf");
        let done = b
            .post(
                "/newsletters",
                &[
                    ("csrf", &csrf),
                    ("newsletter", "weekly-digest"),
                    ("action", "subscribe"),
                    ("email", "Ravi@Example.com"),
                ],
            )
            .await;
        assert_eq!(done.status, 200);
    }
    assert_eq!(subscription_rows(&app, "ravi@example.com").await, 1);
    assert_eq!(mails_to(&app, "ravi@example.com").await, 1);

    let (subject, text) = last_mail(&app, "ravi@example.com").await;
    assert_eq!(subject, "Confirm your subscription to The Weekly Digest");
    let lane = count(
        &app,
        "select count(*) as n from mail_outbox where to_address = $1 and lane = 'transactional'",
        "ravi@example.com".into(),
    )
    .await;
    assert_eq!(lane, 1, "the confirmation goes in the transactional lane");
    let link = link_in(&text);
    assert!(link.starts_with("/email/confirm/"), "{link}");

    // Following the link (as a mail scanner does) changes nothing ...
    let page = app.get(&link).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.text().await.unwrap().contains("The Weekly Digest"));
    assert_eq!(
        state_of(&app, "ravi@example.com", digest).await.as_deref(),
        Some("pending")
    );
    // ... the button does, with no cookie.
    let done = post_bare(&app, &link, "").await;
    assert_eq!(done.status(), 200);
    assert_eq!(
        state_of(&app, "ravi@example.com", digest).await.as_deref(),
        Some("active")
    );

    // A visitor cannot unsubscribe someone by typing their address.
    let page = b.get("/newsletters").await;
    let csrf = hidden(&page.body, "csrf");
    let r = b
        .post(
            "/newsletters",
            &[
                ("csrf", &csrf),
                ("newsletter", "weekly-digest"),
                ("action", "unsubscribe"),
                ("email", "ravi@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        state_of(&app, "ravi@example.com", digest).await.as_deref(),
        Some("active")
    );
    // An address that does not parse is given back with what to fix.
    let r = b
        .post(
            "/newsletters",
            &[
                ("csrf", &csrf),
                ("newsletter", "weekly-digest"),
                ("action", "subscribe"),
                ("email", "ravi at example"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("needs an @"), "{}", r.body);
}

#[tokio::test]
async fn the_preference_page_works_with_its_token_and_refuses_forged_and_expired_ones() {
    let app = spawn_app().await;
    let (morning, digest, _) = add_newsletters(&app).await;
    register_and_confirm(&mut Browser::new(&app), "asha@example.com", "/").await;
    let id = subscriber_id(&app, "asha@example.com").await;
    let url = links::preferences_url(
        &app.state.config,
        &app.state.keys,
        id,
        Some(morning),
        app.now(),
    );
    let path = url
        .strip_prefix("https://news.example")
        .unwrap()
        .to_string();

    let r = app.get(&path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().await.unwrap();
    assert!(body.contains("asha@example.com"), "{body}");
    assert!(body.contains("The Weekly Digest") && body.contains(OFFERS_CONSENT_WORDS));

    // Changes are posts to the same address, with no cookie and no CSRF token.
    let r = post_bare(&app, &path, "newsletter=weekly-digest&action=subscribe").await;
    assert_eq!(r.status(), 303);
    let r = post_bare(
        &app,
        &path,
        "newsletter=morning-briefing&action=unsubscribe",
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        state_of(&app, "asha@example.com", digest).await.as_deref(),
        Some("active")
    );
    assert_eq!(
        state_of(&app, "asha@example.com", morning).await.as_deref(),
        Some("unsubscribed")
    );

    // A forged token: another subscriber's id with this signature.
    let token = path.trim_start_matches("/email/preferences/");
    let forged = format!(
        "/email/preferences/{}",
        token.replacen(&format!("{id}."), &format!("{}.", id + 1), 1)
    );
    let (status, body) = app.get_text(&forged).await;
    assert_eq!(status, 400);
    assert!(body.contains("This link is broken"), "{body}");
    assert_eq!(
        post_bare(&app, &forged, "newsletter=weekly-digest&action=unsubscribe")
            .await
            .status(),
        400
    );
    assert_eq!(
        state_of(&app, "asha@example.com", digest).await.as_deref(),
        Some("active")
    );

    // Past its time: a page that says so, with a form for a fresh link that
    // answers alike for a known and an unknown address.
    app.clock.advance(SignedDuration::from_hours(24 * 402));
    let mut answers = Vec::new();
    for email in ["asha@example.com", "nobody@example.com"] {
        let mut b = Browser::new(&app);
        let page = b.get(&path).await;
        assert_eq!(page.status, 410);
        assert!(page.body.contains("This link has expired"), "{}", page.body);
        let csrf = hidden(&page.body, "csrf");
        let done = b
            .post("/email/preferences", &[("csrf", &csrf), ("email", email)])
            .await;
        assert_eq!(done.status, 200, "{}", done.body);
        answers.push(done.body.replace(email, "EMAIL"));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(mails_to(&app, "nobody@example.com").await, 0);
    let (subject, text) = last_mail(&app, "asha@example.com").await;
    assert!(subject.starts_with("Your newsletter settings"), "{subject}");
    let fresh = link_in(&text);
    assert!(fresh.starts_with("/email/preferences/"), "{fresh}");
    assert_eq!(app.get(&fresh).await.status(), 200);
}

#[tokio::test]
async fn one_click_unsubscribe_needs_no_cookie_and_a_get_changes_nothing() {
    let app = spawn_app().await;
    let (morning, _, _) = add_newsletters(&app).await;
    register_and_confirm(&mut Browser::new(&app), "asha@example.com", "/").await;
    let id = subscriber_id(&app, "asha@example.com").await;
    let url = links::unsubscribe_url(&app.state.config, &app.state.keys, id, morning, app.now());
    assert!(
        url.starts_with("https://news.example/email/unsubscribe/"),
        "{url}"
    );
    let path = url
        .strip_prefix("https://news.example")
        .unwrap()
        .to_string();

    // A mail scanner following the link unsubscribes nobody.
    let (status, body) = app.get_text(&path).await;
    assert_eq!(status, 200);
    assert!(body.contains("The Morning Briefing") && body.contains("Unsubscribe"));
    assert_eq!(
        state_of(&app, "asha@example.com", morning).await.as_deref(),
        Some("active")
    );
    // The mail client's POST does, at once, and again changes nothing.
    for _ in 0..2 {
        let r = post_bare(&app, &path, "List-Unsubscribe=One-Click").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["referrer-policy"], "no-referrer");
        assert!(r.text().await.unwrap().contains("You are unsubscribed"));
        assert_eq!(
            state_of(&app, "asha@example.com", morning).await.as_deref(),
            Some("unsubscribed")
        );
    }
    // Any body will do.
    let r = post_bare(&app, &path, "").await;
    assert_eq!(r.status(), 200);

    // A changed token unsubscribes nothing.
    let token = path.trim_start_matches("/email/unsubscribe/");
    let sig_at = token.rfind('.').unwrap() + 1;
    let flipped = if &token[sig_at..sig_at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    let forged = format!(
        "/email/unsubscribe/{}{}{}",
        &token[..sig_at],
        flipped,
        &token[sig_at + 1..]
    );
    assert_eq!(
        post_bare(&app, &forged, "List-Unsubscribe=One-Click")
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn offers_consent_is_recorded_with_its_words_source_and_time_and_withdrawn_in_one_click() {
    let app = spawn_app().await;
    let (_, _, offers) = add_newsletters(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let page = b.get("/newsletters").await;
    assert!(
        page.body.contains(OFFERS_CONSENT_WORDS),
        "the words are next to the box"
    );

    // Without the box ticked: refused, nothing recorded.
    let r = press(&mut b, "offers", "subscribe", &[]).await;
    assert_eq!(r.status, 400);
    assert!(r.body.contains("tick the box"), "{}", r.body);
    assert_eq!(state_of(&app, "asha@example.com", offers).await, None);

    let at = app.now();
    let r = press(&mut b, "offers", "subscribe", &[("consent", "yes")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        state_of(&app, "asha@example.com", offers).await.as_deref(),
        Some("active")
    );
    let id = subscriber_id(&app, "asha@example.com").await;
    let history = {
        let mut c = app.db.read().await.unwrap();
        subs::consents_of(c.ex(), id).await.unwrap()
    };
    assert_eq!(history.len(), 1);
    let c = &history[0];
    assert!(c.granted);
    assert_eq!(
        (
            c.purpose.as_str(),
            c.words.as_str(),
            c.source.as_str(),
            c.created_at
        ),
        ("offers", OFFERS_CONSENT_WORDS, "newsletter-page", at)
    );
    let account = b.get("/account").await;
    assert!(account.body.contains("you agreed to"), "{}", account.body);

    // Withdrawing: one click, a row of its own, and no more offers.
    app.clock.advance(SignedDuration::from_mins(5));
    let account = b.get("/account").await;
    let csrf = hidden(&account.body, "csrf");
    let r = b
        .post(
            "/newsletters",
            &[
                ("csrf", &csrf),
                ("action", "withdraw"),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let history = {
        let mut c = app.db.read().await.unwrap();
        subs::consents_of(c.ex(), id).await.unwrap()
    };
    assert_eq!(history.len(), 2);
    assert!(!history[1].granted);
    assert_eq!(history[1].created_at, app.now());
    assert_eq!(
        state_of(&app, "asha@example.com", offers).await.as_deref(),
        Some("unsubscribed")
    );
    let mut c = app.db.read().await.unwrap();
    assert!(
        !subs::offers_consent(c.ex(), id)
            .await
            .unwrap()
            .unwrap()
            .granted
    );
}

#[tokio::test]
async fn an_address_change_carries_the_subscriptions_and_deletion_removes_them() {
    let app = spawn_app().await;
    let (morning, _, _) = add_newsletters(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    // The new address had signed up on its own before: the rows merge.
    let mut anon = Browser::new(&app);
    let page = anon.get("/newsletters").await;
    anon.post(
        "/newsletters",
        &[
            ("csrf", &hidden(&page.body, "csrf")),
            ("newsletter", "weekly-digest"),
            ("action", "subscribe"),
            ("email", "asha.new@example.com"),
        ],
    )
    .await;

    let page = b.get("/account/email").await;
    b.post(
        "/account/email",
        &[
            ("csrf", &hidden(&page.body, "csrf")),
            ("email", "asha.new@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let (_, text) = last_mail(&app, "asha.new@example.com").await;
    let link = link_in(&text);
    let page = b.get(&link).await;
    let done = b
        .post(
            "/account/email/confirm",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("token", &hidden(&page.body, "token")),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(state_of(&app, "asha@example.com", morning).await, None);
    assert_eq!(
        state_of(&app, "asha.new@example.com", morning)
            .await
            .as_deref(),
        Some("active")
    );
    assert_eq!(subscription_rows(&app, "asha.new@example.com").await, 2);
    let member = {
        let mut c = app.db.read().await.unwrap();
        members::by_email(c.ex(), &Email::parse("asha.new@example.com").unwrap())
            .await
            .unwrap()
            .unwrap()
    };
    let mut c = app.db.read().await.unwrap();
    let s = subs::subscriber_of_member(c.ex(), member.id)
        .await
        .unwrap()
        .unwrap();
    drop(c);
    assert_eq!(s.email, "asha.new@example.com");

    // The data download has them.
    let data = b.get("/account/data.json").await;
    let doc: serde_json::Value = serde_json::from_str(&data.body).unwrap();
    assert_eq!(
        doc["newsletters"]["subscriptions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let page = b.get("/account/delete").await;
    let done = b
        .post(
            "/account/delete",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        count(
            &app,
            "select count(*) as n from subscribers where email_normalized = $1",
            "asha.new@example.com".into()
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "select count(*) as n from newsletter_subscriptions where subscriber_id = cast($1 as bigint)",
            s.id.to_string()
        )
        .await,
        0
    );
}

#[tokio::test]
async fn the_story_page_offers_the_chosen_newsletter_to_each_reader_as_they_are() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (morning, _, _) = add_newsletters(&app).await;
    let url = story_url(&app, f.linked).await;

    let (status, body) = app.get_text(&url).await;
    assert_eq!(status, 200);
    assert!(body.contains("The Morning Briefing"), "{body}");
    assert!(body.contains("action=\"/newsletters\"") && body.contains("name=\"email\""));

    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let page = b.get(&url).await;
    assert!(page.body.contains("value=\"unsubscribe\""), "{}", page.body);
    assert!(!page.body.contains('\u{1}'), "the CSRF mark is filled in");
    // One click from the story page, and back to the story.
    let done = b
        .post(
            "/newsletters",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("newsletter", "morning-briefing"),
                ("action", "unsubscribe"),
                ("source", "story"),
                ("next", &url),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some(url.as_str()));
    assert_eq!(
        state_of(&app, "asha@example.com", morning).await.as_deref(),
        Some("unsubscribed")
    );
    let page = b.get(&url).await;
    assert!(page.body.contains("value=\"subscribe\""), "{}", page.body);
}

#[tokio::test]
async fn the_demo_has_three_newsletters_and_takes_them_out_again() {
    let app = spawn_app().await;
    let media = app.state.config.media_dir();
    // What `demo::seed` adds of newsletters (the rest draws photos for a minute).
    masthead::demo::seed_newsletters_only(&app.db, now_ts(&app))
        .await
        .unwrap();
    let listed = {
        let mut c = app.db.read().await.unwrap();
        subs::listed(c.ex()).await.unwrap()
    };
    let summary: Vec<(&str, &str, bool)> = listed
        .iter()
        .map(|n| (n.slug.as_str(), n.kind.as_str(), n.subscribe_on_register))
        .collect();
    assert_eq!(
        summary,
        [
            ("morning-briefing", "editorial", true),
            ("weekly-digest", "editorial", false),
            ("offers", "offers", false)
        ]
    );
    let (status, body) = app.get_text("/newsletters").await;
    assert_eq!(status, 200);
    for n in &listed {
        assert!(
            body.contains(&n.name) && body.contains(&n.schedule),
            "{body}"
        );
    }
    assert!(body.contains(OFFERS_CONSENT_WORDS));

    masthead::demo::remove(&app.db, &media).await.unwrap();
    let mut c = app.db.read().await.unwrap();
    assert!(subs::listed(c.ex()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_visitors_offers_consent_is_recorded_only_when_the_address_confirms_it() {
    let app = spawn_app().await;
    let (_, _, offers) = add_newsletters(&app).await;
    let mut b = Browser::new(&app);
    let page = b.get("/newsletters").await;
    let csrf = hidden(&page.body, "csrf");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("newsletter", "offers"),
        ("action", "subscribe"),
        ("email", "ravi@example.com"),
    ];
    let r = b.post("/newsletters", &form).await;
    assert_eq!(r.status, 400, "the box must be ticked");
    assert_eq!(state_of(&app, "ravi@example.com", offers).await, None);
    form.push(("consent", "yes"));
    let r = b.post("/newsletters", &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        state_of(&app, "ravi@example.com", offers).await.as_deref(),
        Some("pending")
    );
    let id = subscriber_id(&app, "ravi@example.com").await;
    let consents = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            let mut c = db.read().await.unwrap();
            subs::consents_of(c.ex(), id).await.unwrap()
        }
    };
    assert!(
        consents(&app).await.is_empty(),
        "nothing on a visitor's word"
    );

    let link = link_in(&last_mail(&app, "ravi@example.com").await.1);
    let (_, page) = app.get_text(&link).await;
    assert!(
        page.contains(OFFERS_CONSENT_WORDS),
        "the words again: {page}"
    );
    app.clock.advance(SignedDuration::from_mins(30));
    assert_eq!(post_bare(&app, &link, "").await.status(), 200);
    assert_eq!(
        state_of(&app, "ravi@example.com", offers).await.as_deref(),
        Some("active")
    );
    let history = consents(&app).await;
    assert_eq!(history.len(), 1);
    assert!(history[0].granted);
    assert_eq!(
        (
            history[0].words.as_str(),
            history[0].source.as_str(),
            history[0].created_at
        ),
        (OFFERS_CONSENT_WORDS, "confirmation", app.now())
    );
}

#[tokio::test]
async fn the_story_box_follows_changes_at_once_while_what_is_known_of_a_member_is_cached() {
    // Pages cached for a minute: what this instance changes must show at once.
    let app = spawn_app_with(|l| masthead::config::Layer {
        change_poll_ms: Some(60_000),
        ..l
    })
    .await;
    let f = fixture(&app).await;
    let (morning, _, _) = add_newsletters(&app).await;
    let url = story_url(&app, f.linked).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let subscribed = |p: &Page| p.body.contains("value=\"unsubscribe\"");
    let page = b.get(&url).await;
    assert!(subscribed(&page), "{}", page.body);

    // A button on this instance.
    let done = b
        .post(
            "/newsletters",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("newsletter", "morning-briefing"),
                ("action", "unsubscribe"),
                ("next", &url),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert!(!subscribed(&b.get(&url).await));

    // The preference page from a mail, with no session.
    let id = subscriber_id(&app, "asha@example.com").await;
    let prefs = links::preferences_url(&app.state.config, &app.state.keys, id, None, app.now());
    let path = prefs
        .strip_prefix("https://news.example")
        .unwrap()
        .to_string();
    post_bare(&app, &path, "newsletter=morning-briefing&action=subscribe").await;
    assert!(subscribed(&b.get(&url).await));

    // The one-click unsubscribe from a mail.
    let one_click =
        links::unsubscribe_url(&app.state.config, &app.state.keys, id, morning, app.now());
    let path = one_click
        .strip_prefix("https://news.example")
        .unwrap()
        .to_string();
    post_bare(&app, &path, "List-Unsubscribe=One-Click").await;
    assert!(!subscribed(&b.get(&url).await));
}

#[tokio::test]
async fn a_member_whose_address_is_not_confirmed_gets_a_confirmation_mail_first() {
    let app = spawn_app().await;
    let (_, digest, _) = add_newsletters(&app).await;
    let mut b = Browser::new(&app);
    let form = b.get("/account/register").await;
    b.post(
        "/account/register",
        &[
            ("csrf", &hidden(&form.body, "csrf")),
            ("email", "asha@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let form = b.get("/account/sign-in").await;
    let signed_in = b
        .post(
            "/account/sign-in",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("email", "asha@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let before = mails_to(&app, "asha@example.com").await;

    let r = press(&mut b, "weekly-digest", "subscribe", &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Check your inbox"));
    assert_eq!(
        state_of(&app, "asha@example.com", digest).await.as_deref(),
        Some("pending")
    );
    assert_eq!(mails_to(&app, "asha@example.com").await, before + 1);
    let (subject, _) = last_mail(&app, "asha@example.com").await;
    assert_eq!(subject, "Confirm your subscription to The Weekly Digest");
    // The unconfirmed member's row is not linked to the account.
    let mut c = app.db.read().await.unwrap();
    let member = members::by_email(c.ex(), &Email::parse("asha@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        subs::subscriber_of_member(c.ex(), member.id)
            .await
            .unwrap()
            .is_none()
    );
}
