//! The rest of an account's life through the real router: signing in by an
//! e-mailed link or code, a forgotten password, a new e-mail address, a new
//! password, deleting the account and downloading its data. Every mail
//! sending form answers the same for known and unknown addresses.

use jiff::SignedDuration;
use masthead::db::{members, settings};
use masthead::domain::email::Email;
use masthead::mail::{self, Transport};

use crate::accounts::{Browser, Page, hidden, last_mail, link_in, register_and_confirm};
use crate::helpers::*;

/// The password `register_and_confirm` registers with.
const PASSWORD: &str = "monsoon-2026-rains";

/// Names the publication (as the fixture does, without its stories).
async fn name_it(app: &TestApp) {
    let mut tx = app.db.begin().await.unwrap();
    settings::put(
        tx.ex(),
        "publication",
        &settings::Publication {
            name: "The Test Herald".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    settings::bump_content_epoch(tx.ex()).await.unwrap();
    tx.commit().await.unwrap();
}

async fn member_id(app: &TestApp, email: &str) -> Option<i64> {
    let mut c = app.db.read().await.unwrap();
    members::by_email(c.ex(), &Email::parse(email).unwrap())
        .await
        .unwrap()
        .map(|m| m.id)
}

async fn member(app: &TestApp, id: i64) -> Option<members::Member> {
    let mut c = app.db.read().await.unwrap();
    members::by_id(c.ex(), id).await.unwrap()
}

/// Rows of `table` whose `column` is `value`.
async fn rows(app: &TestApp, table: &str, column: &str, value: impl ToString) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let sql = format!("select count(*) as n from {table} where {column} = $1");
    let mut c = app.db.read().await.unwrap();
    let value = value.to_string();
    let n = match value.parse::<i64>() {
        Ok(id) => masthead::fetch_one!(c.ex(), N, sqlx::AssertSqlSafe(sql), id),
        Err(_) => masthead::fetch_one!(c.ex(), N, sqlx::AssertSqlSafe(sql), value),
    };
    n.unwrap().n
}

/// Mails queued to an address (compared in lower case).
async fn mails_to(app: &TestApp, to: &str) -> i64 {
    rows(app, "mail_outbox", "lower(to_address)", to.to_lowercase()).await
}

/// The six-digit code in a sign-in mail.
fn code_in(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_string()
}

/// A page's body with the things that differ by design (the address typed,
/// the form's CSRF token) taken out, for comparing two answers.
fn comparable(p: &Page, email: &str) -> String {
    let mut body = p.body.replace(email, "EMAIL");
    if body.contains("name=\"csrf\" value=\"") {
        body = body.replace(&hidden(&p.body, "csrf"), "CSRF");
    }
    body
}

async fn csrf_of(b: &mut Browser<'_>, path: &str) -> String {
    let p = b.get(path).await;
    assert_eq!(p.status, 200, "{path}: {}", p.body);
    hidden(&p.body, "csrf")
}

async fn sign_in(b: &mut Browser<'_>, email: &str, password: &str) -> Page {
    let csrf = csrf_of(b, "/account/sign-in").await;
    b.post(
        "/account/sign-in",
        &[("csrf", &csrf), ("email", email), ("password", password)],
    )
    .await
}

/// Asks for a sign-in link from the sign-in page (its second button).
async fn ask_for_link(b: &mut Browser<'_>, email: &str, next: &str) -> Page {
    let csrf = csrf_of(b, "/account/sign-in").await;
    b.post(
        "/account/sign-in/link",
        &[
            ("csrf", &csrf),
            ("email", email),
            ("password", ""),
            ("next", next),
        ],
    )
    .await
}

/// Types a code into the "check your inbox" page `page`.
async fn type_code(b: &mut Browser<'_>, page: &Page, code: &str) -> Page {
    b.post(
        "/account/sign-in/code",
        &[
            ("csrf", &hidden(&page.body, "csrf")),
            ("email", &hidden(&page.body, "email")),
            ("next", &hidden(&page.body, "next")),
            ("code", code),
        ],
    )
    .await
}

/// Types a code for `email` into a fresh code form.
async fn type_code_for(b: &mut Browser<'_>, email: &str, code: &str) -> Page {
    let csrf = csrf_of(b, "/account/sign-in/link").await;
    b.post(
        "/account/sign-in/code",
        &[("csrf", &csrf), ("email", email), ("code", code)],
    )
    .await
}

/// Follows a link from a mail as a reader does: the page, then its button.
async fn follow(b: &mut Browser<'_>, link: &str, action: &str) -> Page {
    let page = b.get(link).await;
    if page.status != 200 {
        return page;
    }
    let mut form: Vec<(&str, String)> = vec![
        ("csrf", hidden(&page.body, "csrf")),
        ("token", hidden(&page.body, "token")),
    ];
    if page.body.contains("name=\"next\"") {
        form.push(("next", hidden(&page.body, "next")));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(action, &form).await
}

async fn signed_in_as(b: &mut Browser<'_>, email: &str) -> bool {
    let p = b.get("/account").await;
    p.status == 200 && p.body.contains(email)
}

/// Registers `email` without following the confirmation link.
async fn register_only(b: &mut Browser<'_>, email: &str) {
    let csrf = csrf_of(b, "/account/register").await;
    let p = b
        .post(
            "/account/register",
            &[("csrf", &csrf), ("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
}

#[tokio::test]
async fn a_sign_in_link_signs_in_once_verifies_the_address_and_rotates_the_session() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let story = story_url(&app, f.story).await;
    let mut b = Browser::new(&app);
    register_only(&mut b, "Asha@Example.com").await;
    let id = member_id(&app, "asha@example.com").await.unwrap();
    assert_eq!(member(&app, id).await.unwrap().email_verified_at, None);

    // A story read before signing in, and a session id planted by someone.
    b.get(&story).await;
    b.jar
        .insert("mh_session".into(), "planted-by-an-attacker".into());
    let sent = ask_for_link(&mut b, "ASHA@example.COM", &story).await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("Check your inbox") && sent.body.contains("name=\"code\""));
    let (subject, text) = last_mail(&app, "asha@example.com").await;
    assert_eq!(subject, "Your sign-in link for The Test Herald");
    assert!(text.contains("20 minutes"), "{text}");
    let link = link_in(&text);
    assert!(
        link.starts_with("/account/sign-in/confirm?token="),
        "{link}"
    );

    // A mail scanner opening the link uses nothing up ...
    assert_eq!(Browser::new(&app).get(&link).await.status, 200);
    let page = b.get(&link).await;
    assert!(page.body.contains("Sign me in"), "{}", page.body);
    // ... the button signs in, at the page the reader came from.
    let done = follow(&mut b, &link, "/account/sign-in/confirm").await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some(story.as_str()))
    );
    assert_ne!(b.jar["mh_session"], "planted-by-an-attacker");
    assert!(!b.jar.contains_key("mh_meter"), "the anonymous read merged");
    let account = b.get("/account").await;
    assert!(
        account.body.contains("Asha@Example.com") && !account.body.contains("not confirmed"),
        "signing in by link verified the address: {}",
        account.body
    );
    assert!(member(&app, id).await.unwrap().email_verified_at.is_some());
    assert!(
        b.get(&story)
            .await
            .body
            .contains("You have 9 free stories left this month."),
        "the read before signing in counts once"
    );

    // The link works once: replayed, in this browser or another, it signs no one in.
    let mut other = Browser::new(&app);
    assert_eq!(other.get(&link).await.status, 400);
    let csrf = csrf_of(&mut other, "/account/sign-in").await;
    let replay = other
        .post(
            "/account/sign-in/confirm",
            &[("csrf", &csrf), ("token", &hidden(&page.body, "token"))],
        )
        .await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("This link no longer works"));
    assert!(!other.jar.contains_key("mh_session"));
    // Nor does the code that came with it.
    let again = type_code_for(&mut other, "asha@example.com", &code_in(&text)).await;
    assert_eq!(again.status, 422);
    assert!(!other.jar.contains_key("mh_session"));
}

#[tokio::test]
async fn forged_and_expired_sign_in_links_sign_no_one_in() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let mut reader = Browser::new(&app);

    // Forged: a token the site never made.
    let forged = "/account/sign-in/confirm?token=forged-token-forged-token-forged-token";
    assert_eq!(reader.get(forged).await.status, 400);
    let csrf = csrf_of(&mut reader, "/account/sign-in").await;
    for token in ["forged-token-forged-token-forged-token", ""] {
        let r = reader
            .post(
                "/account/sign-in/confirm",
                &[("csrf", &csrf), ("token", token)],
            )
            .await;
        assert_eq!(r.status, 400, "{token:?}");
    }
    // A token made for another purpose (the confirmation link) is no sign-in link.
    let (_, verify) = last_mail(&app, "asha@example.com").await;
    let token = link_in(&verify)
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let r = reader
        .post(
            "/account/sign-in/confirm",
            &[("csrf", &csrf), ("token", &token)],
        )
        .await;
    assert_eq!(r.status, 400);

    // Expired: twenty minutes is all a link has.
    ask_for_link(&mut reader, "asha@example.com", "/").await;
    let (_, text) = last_mail(&app, "asha@example.com").await;
    let link = link_in(&text);
    let page = reader.get(&link).await;
    assert_eq!(page.status, 200);
    app.clock.advance(SignedDuration::from_mins(20));
    assert_eq!(reader.get(&link).await.status, 400);
    let late = reader
        .post(
            "/account/sign-in/confirm",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("token", &hidden(&page.body, "token")),
            ],
        )
        .await;
    assert_eq!(late.status, 400);
    assert!(!reader.jar.contains_key("mh_session"));
}

#[tokio::test]
async fn a_sign_in_code_works_once_and_only_with_the_address_it_was_sent_to() {
    let app = spawn_app().await;
    let mut asha = Browser::new(&app);
    register_and_confirm(&mut asha, "asha@example.com", "/").await;
    let mut ravi = Browser::new(&app);
    register_and_confirm(&mut ravi, "ravi@example.com", "/").await;

    let mut b = Browser::new(&app);
    b.get("/").await;
    b.jar
        .insert("mh_session".into(), "planted-by-an-attacker".into());
    let page = ask_for_link(&mut b, "asha@example.com", "/world").await;
    let code = code_in(&last_mail(&app, "asha@example.com").await.1);

    // Asha's code does not open Ravi's account.
    let mut thief = Browser::new(&app);
    let ravis = ask_for_link(&mut thief, "ravi@example.com", "/").await;
    let wrong = type_code(&mut thief, &ravis, &code).await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("That code is not right"));
    assert!(!thief.jar.contains_key("mh_session"));

    // Typed with the address in another case, and with a space, it signs in.
    let typed = page.body.replace("asha@example.com", "Asha@Example.COM");
    let done = type_code(
        &mut b,
        &Page {
            status: 200,
            location: None,
            body: typed,
        },
        &format!("{} {}", &code[..3], &code[3..]),
    )
    .await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/world"))
    );
    assert_ne!(b.jar["mh_session"], "planted-by-an-attacker");
    assert!(signed_in_as(&mut b, "asha@example.com").await);

    // Used once, it is gone: in another browser, and with its link.
    let mut later = Browser::new(&app);
    let again = type_code_for(&mut later, "asha@example.com", &code).await;
    assert_eq!(again.status, 422);
    assert!(!later.jar.contains_key("mh_session"));
    let link = link_in(&last_mail(&app, "asha@example.com").await.1);
    assert_eq!(later.get(&link).await.status, 400);
}

#[tokio::test]
async fn wrong_codes_beyond_the_limit_use_the_code_and_its_link_up() {
    let app = spawn_app().await;
    let mut owner = Browser::new(&app);
    register_and_confirm(&mut owner, "asha@example.com", "/").await;
    let mut b = Browser::new(&app);
    let page = ask_for_link(&mut b, "asha@example.com", "/").await;
    let (_, text) = last_mail(&app, "asha@example.com").await;
    let code = code_in(&text);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(type_code(&mut b, &page, wrong).await.status, 422);
    }
    // The sixth try has the right code, too late.
    let late = type_code(&mut b, &page, &code).await;
    assert_eq!(late.status, 422);
    assert!(!b.jar.contains_key("mh_session"));
    assert_eq!(
        b.get(&link_in(&text)).await.status,
        400,
        "the link died with it"
    );

    // A new mail brings a new code that works.
    let page = ask_for_link(&mut b, "asha@example.com", "/").await;
    let code = code_in(&last_mail(&app, "asha@example.com").await.1);
    assert_eq!(type_code(&mut b, &page, &code).await.status, 303);
}

#[tokio::test]
async fn code_attempts_are_rate_limited_per_address() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let page = ask_for_link(&mut b, "nobody@example.com", "/").await;
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..11 {
            v.push(type_code(&mut b, &page, "123456").await.status);
        }
        v
    };
    assert!(statuses[..10].iter().all(|s| *s == 422), "{statuses:?}");
    assert_eq!(statuses[10], 429);
    app.clock.advance(SignedDuration::from_mins(11));
    assert_eq!(type_code(&mut b, &page, "123456").await.status, 422);
}

#[tokio::test]
async fn asking_for_a_newer_link_retires_the_older_one() {
    let app = spawn_app().await;
    let mut owner = Browser::new(&app);
    register_and_confirm(&mut owner, "asha@example.com", "/").await;
    let mut b = Browser::new(&app);
    let first_page = ask_for_link(&mut b, "asha@example.com", "/").await;
    let (_, first) = last_mail(&app, "asha@example.com").await;
    ask_for_link(&mut b, "asha@example.com", "/").await;
    let (_, second) = last_mail(&app, "asha@example.com").await;
    assert_eq!(b.get(&link_in(&first)).await.status, 400);
    if code_in(&first) != code_in(&second) {
        assert_eq!(
            type_code(&mut b, &first_page, &code_in(&first))
                .await
                .status,
            422
        );
    }
    assert_eq!(b.get(&link_in(&second)).await.status, 200);
}

#[tokio::test]
async fn link_reset_and_change_email_requests_answer_alike_for_known_and_unknown_addresses() {
    let app = spawn_app().await;
    name_it(&app).await;
    let mut asha = Browser::new(&app);
    register_and_confirm(&mut asha, "asha@example.com", "/").await;
    let mut ravi = Browser::new(&app);
    register_and_confirm(&mut ravi, "ravi@example.com", "/").await;

    // Sign-in links and password resets: one browser asks for both addresses.
    for (form, action) in [
        ("/account/sign-in/link", "/account/sign-in/link"),
        ("/account/password/forgot", "/account/password/forgot"),
    ] {
        let mut answers = Vec::new();
        for email in ["ASHA@example.com", "nobody@example.com"] {
            let mut b = Browser::new(&app);
            let csrf = csrf_of(&mut b, form).await;
            let p = b
                .post(action, &[("csrf", &csrf), ("email", email), ("next", "/")])
                .await;
            assert_eq!(p.status, 200, "{action} {email}: {}", p.body);
            answers.push((p.status, comparable(&p, email)));
        }
        assert_eq!(answers[0], answers[1], "{action}");
    }
    // Each address got the mail that fits it.
    let (subject, _) = last_mail(&app, "asha@example.com").await;
    assert_eq!(subject, "Choose a new password for The Test Herald");
    let (subject, text) = last_mail(&app, "nobody@example.com").await;
    assert_eq!(subject, "No account uses this address at The Test Herald");
    assert!(
        text.contains("/account/register?email=nobody%40example.com"),
        "{text}"
    );
    let mut c = app.db.read().await.unwrap();
    assert_eq!(members::count(c.ex()).await.unwrap(), 2, "no account made");
    drop(c);

    // Moving Asha's account to Ravi's address, or to a free one.
    let mut answers = Vec::new();
    for email in ["Ravi@Example.com", "asha.new@example.com"] {
        let csrf = csrf_of(&mut asha, "/account/email").await;
        let p = asha
            .post(
                "/account/email",
                &[("csrf", &csrf), ("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(p.status, 200, "{email}: {}", p.body);
        answers.push((p.status, comparable(&p, email)));
    }
    assert_eq!(answers[0], answers[1]);
    let (subject, _) = last_mail(&app, "ravi@example.com").await;
    assert_eq!(
        subject,
        "Someone tried to move an account to your address at The Test Herald"
    );
    let (subject, _) = last_mail(&app, "asha.new@example.com").await;
    assert_eq!(
        subject,
        "Confirm your new e-mail address for The Test Herald"
    );
    assert!(signed_in_as(&mut ravi, "ravi@example.com").await);
}

#[tokio::test]
async fn the_new_forms_refuse_a_missing_or_wrong_csrf_token() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let signed_in_forms: &[(&str, &[(&str, &str)])] = &[
        (
            "/account/password",
            &[("current", PASSWORD), ("password", "a-new-password-1")],
        ),
        (
            "/account/email",
            &[("email", "new@example.com"), ("password", PASSWORD)],
        ),
        ("/account/delete", &[("password", PASSWORD)]),
    ];
    for (action, fields) in signed_in_forms {
        for token in [None, Some(""), Some("forged")] {
            let mut form = fields.to_vec();
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            assert_eq!(
                b.post(action, &form).await.status,
                403,
                "{action} {token:?}"
            );
        }
    }
    assert!(
        signed_in_as(&mut b, "asha@example.com").await,
        "nothing happened"
    );
    assert_eq!(
        rows(&app, "mail_outbox", "lower(to_address)", "new@example.com").await,
        0
    );

    let mut anon = Browser::new(&app);
    anon.get("/account/sign-in").await;
    let anonymous_forms: &[(&str, &[(&str, &str)])] = &[
        ("/account/sign-in/link", &[("email", "asha@example.com")]),
        (
            "/account/sign-in/code",
            &[("email", "asha@example.com"), ("code", "123456")],
        ),
        ("/account/sign-in/confirm", &[("token", "x")]),
        ("/account/password/forgot", &[("email", "asha@example.com")]),
        (
            "/account/password/reset",
            &[("token", "x"), ("password", "a-new-password-1")],
        ),
        ("/account/email/confirm", &[("token", "x")]),
    ];
    for (action, fields) in anonymous_forms {
        for token in [None, Some(""), Some("forged")] {
            let mut form = fields.to_vec();
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            assert_eq!(
                anon.post(action, &form).await.status,
                403,
                "{action} {token:?}"
            );
        }
    }
    // A token made for another browser is no good either.
    let mut other = Browser::new(&app);
    let theirs = csrf_of(&mut other, "/account/sign-in/link").await;
    let r = anon
        .post(
            "/account/sign-in/link",
            &[("csrf", &theirs), ("email", "asha@example.com")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        mails_to(&app, "asha@example.com").await,
        1,
        "only the confirmation"
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mail_the_smtp_server_received() {
    let server = crate::mail::SmtpServer::start("aiosmtpd.handlers.Mailbox").await;
    let app = crate::mail::app_with_smtp(format!("smtp://127.0.0.1:{}", server.port)).await;
    fixture(&app).await;
    let mut phone = Browser::new(&app);
    register_and_confirm(&mut phone, "asha@example.com", "/").await;
    let mut laptop = Browser::new(&app);
    assert_eq!(
        sign_in(&mut laptop, "asha@example.com", PASSWORD)
            .await
            .status,
        303
    );

    let mut b = Browser::new(&app);
    assert!(
        b.get("/account/sign-in")
            .await
            .body
            .contains("href=\"/account/password/forgot\"")
    );
    let csrf = csrf_of(&mut b, "/account/password/forgot").await;
    let sent = b
        .post(
            "/account/password/forgot",
            &[("csrf", &csrf), ("email", "Asha@Example.com")],
        )
        .await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("Check your inbox"));

    // The worker hands the mail to the SMTP server; read it as received.
    let transport = mail::transport_for(&app.state.config).unwrap();
    assert!(matches!(transport, Transport::Smtp(_)));
    masthead::mail::worker::deliver_due(&app.db, &transport, &*app.clock)
        .await
        .unwrap();
    let received: Vec<serde_json::Value> = server
        .received()
        .iter()
        .map(|p| crate::mail::parse_eml(p))
        .collect();
    let reset = received
        .iter()
        .find(|m| m["subject"] == "Choose a new password for The Test Herald")
        .expect("the reset mail reached the server");
    assert_eq!(reset["to"], "asha@example.com");
    assert_eq!(reset["defects"], 0);
    let text = reset["text"].as_str().unwrap();
    assert!(
        text.contains("Hello Priya Nair,") && text.contains("for an hour"),
        "{text}"
    );
    let html = reset["html"].as_str().unwrap();
    let link = link_in(text);
    assert!(link.starts_with("/account/password/reset?token="), "{link}");
    assert!(html.contains(&format!(
        "https://news.example{}",
        link.replace('&', "&amp;")
    )));

    // The page the link opens uses nothing up.
    assert_eq!(Browser::new(&app).get(&link).await.status, 200);
    let form = b.get(&link).await;
    assert!(form.body.contains("Choose a new password"));
    let short = b
        .post(
            "/account/password/reset",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("token", &hidden(&form.body, "token")),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("at least 10 characters"));
    let done = b
        .post(
            "/account/password/reset",
            &[
                ("csrf", &hidden(&short.body, "csrf")),
                ("token", &hidden(&short.body, "token")),
                ("password", "a-brand-new-password"),
            ],
        )
        .await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/account?done=password-reset"))
    );
    assert!(
        b.get("/account?done=password-reset")
            .await
            .body
            .contains("Your new password is saved")
    );

    // Every other session is signed out; the old password is gone; the new one works.
    assert_eq!(phone.get("/account").await.status, 303);
    assert_eq!(laptop.get("/account").await.status, 303);
    assert_eq!(
        sign_in(&mut laptop, "asha@example.com", PASSWORD)
            .await
            .status,
        422
    );
    assert_eq!(
        sign_in(&mut laptop, "ASHA@example.com", "a-brand-new-password")
            .await
            .status,
        303
    );
    // The link worked once.
    let csrf = csrf_of(&mut b, "/account").await;
    let replay = b
        .post(
            "/account/password/reset",
            &[
                ("csrf", &csrf),
                ("token", &hidden(&form.body, "token")),
                ("password", "a-third-password-here"),
            ],
        )
        .await;
    assert_eq!(replay.status, 400);
    assert_eq!(
        sign_in(
            &mut Browser::new(&app),
            "asha@example.com",
            "a-third-password-here"
        )
        .await
        .status,
        422
    );
    let (subject, text) = last_mail(&app, "asha@example.com").await;
    assert_eq!(subject, "Your password at The Test Herald was changed");
    assert!(text.contains("reset through a link"), "{text}");
}

#[tokio::test]
async fn reset_links_expire_and_forged_ones_do_nothing() {
    let app = spawn_app().await;
    let mut owner = Browser::new(&app);
    register_and_confirm(&mut owner, "asha@example.com", "/").await;
    let mut b = Browser::new(&app);
    let csrf = csrf_of(&mut b, "/account/password/forgot").await;
    b.post(
        "/account/password/forgot",
        &[("csrf", &csrf), ("email", "asha@example.com")],
    )
    .await;
    let link = link_in(&last_mail(&app, "asha@example.com").await.1);
    let form = b.get(&link).await;
    assert_eq!(form.status, 200);
    app.clock.advance(SignedDuration::from_mins(61));
    assert_eq!(b.get(&link).await.status, 400);
    let late = b
        .post(
            "/account/password/reset",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("token", &hidden(&form.body, "token")),
                ("password", "a-brand-new-password"),
            ],
        )
        .await;
    assert_eq!(late.status, 400);
    let forged = b
        .post(
            "/account/password/reset",
            &[
                ("csrf", &hidden(&form.body, "csrf")),
                ("token", "forged-forged-forged-forged"),
                ("password", "a-brand-new-password"),
            ],
        )
        .await;
    assert_eq!(forged.status, 400);
    assert!(signed_in_as(&mut owner, "asha@example.com").await);
    assert_eq!(
        sign_in(&mut Browser::new(&app), "asha@example.com", PASSWORD)
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn a_new_address_is_confirmed_from_its_inbox_and_the_old_one_stops_signing_in() {
    let app = spawn_app().await;
    name_it(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let id = member_id(&app, "asha@example.com").await.unwrap();
    assert!(
        b.get("/account")
            .await
            .body
            .contains("href=\"/account/email\"")
    );

    let csrf = csrf_of(&mut b, "/account/email").await;
    let wrong = b
        .post(
            "/account/email",
            &[
                ("csrf", &csrf),
                ("email", "asha.menon@example.org"),
                ("password", "not-my-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert_eq!(mails_to(&app, "asha.menon@example.org").await, 0);
    let same = b
        .post(
            "/account/email",
            &[
                ("csrf", &csrf),
                ("email", "ASHA@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(same.status, 422, "already the account's address");
    let sent = b
        .post(
            "/account/email",
            &[
                ("csrf", &csrf),
                ("email", "Asha.Menon@Example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("Asha.Menon@Example.org"));

    // Nothing changes until the link is used.
    assert_eq!(member(&app, id).await.unwrap().email, "asha@example.com");
    let (subject, text) = last_mail(&app, "asha.menon@example.org").await;
    assert_eq!(
        subject,
        "Confirm your new e-mail address for The Test Herald"
    );
    let link = link_in(&text);
    // Opened on another device, not signed in: the link alone makes the change.
    let mut phone = Browser::new(&app);
    let done = follow(&mut phone, &link, "/account/email/confirm").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Your account now uses"));
    let m = member(&app, id).await.unwrap();
    assert_eq!(m.email, "Asha.Menon@Example.org");
    assert!(m.email_verified_at.is_some());
    assert_eq!(
        follow(&mut phone, &link, "/account/email/confirm")
            .await
            .status,
        400,
        "used once"
    );

    // The old address gets a notice and signs in no more; the new one does, in any case.
    let (subject, text) = last_mail(&app, "asha@example.com").await;
    assert_eq!(
        subject,
        "Your account at The Test Herald has a new e-mail address"
    );
    assert!(text.contains("Asha.Menon@Example.org"), "{text}");
    assert_eq!(
        sign_in(&mut Browser::new(&app), "asha@example.com", PASSWORD)
            .await
            .status,
        422
    );
    let mut again = Browser::new(&app);
    assert_eq!(
        sign_in(&mut again, "asha.menon@example.ORG", PASSWORD)
            .await
            .status,
        303
    );
    assert!(
        signed_in_as(&mut b, "Asha.Menon@Example.org").await,
        "this session stays"
    );
    // A sign-in link asked for the old address now goes nowhere near the account.
    ask_for_link(&mut Browser::new(&app), "asha@example.com", "/").await;
    assert_eq!(
        last_mail(&app, "asha@example.com").await.0,
        "No account uses this address at The Test Herald"
    );
    // And the old address is free for someone else.
    register_and_confirm(&mut Browser::new(&app), "ASHA@example.com", "/").await;
}

#[tokio::test]
async fn a_change_to_an_address_taken_meanwhile_is_refused_when_confirmed() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let csrf = csrf_of(&mut b, "/account/email").await;
    b.post(
        "/account/email",
        &[
            ("csrf", &csrf),
            ("email", "shared@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    let link = link_in(&last_mail(&app, "shared@example.com").await.1);
    // Someone registers the address before the link is used.
    register_and_confirm(&mut Browser::new(&app), "Shared@example.com", "/").await;
    let r = follow(&mut b, &link, "/account/email/confirm").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("Another account has this address now"));
    let id = member_id(&app, "asha@example.com").await.unwrap();
    assert_eq!(member(&app, id).await.unwrap().email, "asha@example.com");
    // The link is not used up by the refusal, and still cannot win.
    assert_eq!(
        follow(&mut b, &link, "/account/email/confirm").await.status,
        400
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_other_sessions() {
    let app = spawn_app().await;
    name_it(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let mut other = Browser::new(&app);
    assert_eq!(
        sign_in(&mut other, "asha@example.com", PASSWORD)
            .await
            .status,
        303
    );
    let here = b.jar["mh_session"].clone();

    let csrf = csrf_of(&mut b, "/account/password").await;
    let wrong = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", "not-my-password"),
                ("password", "a-brand-new-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("current password is not right"));
    let short = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(
        signed_in_as(&mut other, "asha@example.com").await,
        "nothing changed yet"
    );

    let done = b
        .post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("password", "a-brand-new-password"),
            ],
        )
        .await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/account?done=password"))
    );
    assert_eq!(b.jar["mh_session"], here, "this session stays");
    assert!(
        b.get("/account?done=password")
            .await
            .body
            .contains("Your password is changed")
    );
    assert_eq!(
        other.get("/account").await.status,
        303,
        "the other is signed out"
    );
    assert_eq!(
        sign_in(&mut Browser::new(&app), "asha@example.com", PASSWORD)
            .await
            .status,
        422
    );
    assert_eq!(
        sign_in(
            &mut Browser::new(&app),
            "Asha@Example.com",
            "a-brand-new-password"
        )
        .await
        .status,
        303
    );
    assert_eq!(
        last_mail(&app, "asha@example.com").await.0,
        "Your password at The Test Herald was changed"
    );
    // Anonymous readers are sent to sign in.
    let r = Browser::new(&app).get("/account/password").await;
    assert_eq!(
        r.location.as_deref(),
        Some("/account/sign-in?next=%2Faccount%2Fpassword")
    );
}

#[tokio::test]
async fn deleting_the_account_removes_personal_data_and_frees_the_address() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let story = story_url(&app, f.story).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "Asha@Example.com", "/").await;
    let id = member_id(&app, "asha@example.com").await.unwrap();
    let mut other = Browser::new(&app);
    sign_in(&mut other, "asha@example.com", PASSWORD).await;
    b.get(&story).await;
    {
        let mut c = app.db.write().await.unwrap();
        members::save_story(c.ex(), id, f.linked, app.now())
            .await
            .unwrap();
        members::grant_entitlement(
            c.ex(),
            id,
            "test",
            app.now(),
            app.now() + 86_400_000_000,
            "evt-delete-1",
            app.now(),
        )
        .await
        .unwrap();
    }
    // An unused reset link, which must die with the account.
    let mut anon = Browser::new(&app);
    let csrf = csrf_of(&mut anon, "/account/password/forgot").await;
    anon.post(
        "/account/password/forgot",
        &[("csrf", &csrf), ("email", "asha@example.com")],
    )
    .await;
    let reset_link = link_in(&last_mail(&app, "asha@example.com").await.1);
    for (table, n) in [
        ("sessions", 2),
        ("meter_reads", 1),
        ("saved_stories", 1),
        ("entitlements", 1),
        ("auth_tokens", 2),
    ] {
        assert_eq!(rows(&app, table, "member_id", id).await, n, "{table}");
    }

    let page = b.get("/account/delete").await;
    assert!(
        page.body.contains("shown as by a former member"),
        "{}",
        page.body
    );
    let csrf = hidden(&page.body, "csrf");
    let wrong = b
        .post(
            "/account/delete",
            &[("csrf", &csrf), ("password", "not-my-password")],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("nothing was deleted"));
    assert!(member(&app, id).await.is_some());

    let done = b
        .post(
            "/account/delete",
            &[("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/account/deleted"))
    );
    assert!(!b.jar.contains_key("mh_session"));
    let bye = b.get("/account/deleted").await;
    assert!(bye.body.contains("Your account is deleted"));

    // Nothing personal is left.
    assert!(member(&app, id).await.is_none());
    for table in [
        "sessions",
        "meter_reads",
        "saved_stories",
        "entitlements",
        "auth_tokens",
    ] {
        assert_eq!(rows(&app, table, "member_id", id).await, 0, "{table}");
    }
    assert_eq!(
        mails_to(&app, "asha@example.com").await,
        0,
        "no mail kept for the address"
    );
    assert_eq!(
        other.get("/account").await.status,
        303,
        "signed out everywhere"
    );
    assert_eq!(anon.get(&reset_link).await.status, 400);
    assert_eq!(
        sign_in(&mut Browser::new(&app), "asha@example.com", PASSWORD)
            .await
            .status,
        422
    );
    // The stories themselves stay.
    assert_eq!(Browser::new(&app).get(&story).await.status, 200);

    // The address may register again, as a new member.
    let mut again = Browser::new(&app);
    register_and_confirm(&mut again, "ASHA@example.com", "/").await;
    // (SQLite may give the new member the old id; nothing of the old one is left to find.)
    let new_id = member_id(&app, "asha@example.com").await.unwrap();
    for table in ["saved_stories", "meter_reads", "entitlements"] {
        assert_eq!(rows(&app, table, "member_id", new_id).await, 0, "{table}");
    }
}

#[tokio::test]
async fn staff_accounts_are_not_deleted_from_the_web() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "editor@example.com", "/").await;
    let id = member_id(&app, "editor@example.com").await.unwrap();
    {
        let mut c = app.db.write().await.unwrap();
        members::set_role(c.ex(), id, "editor").await.unwrap();
    }
    app.state.sessions.forget_member(id);
    let page = b.get("/account/delete").await;
    assert!(
        page.body
            .contains("Staff accounts are closed by an administrator")
    );
    let r = b
        .post(
            "/account/delete",
            &[
                ("csrf", &hidden(&page.body, "csrf")),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(member(&app, id).await.is_some());
}

#[tokio::test]
async fn the_data_download_holds_the_members_data_and_no_secrets() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "Asha@Example.com", "/").await;
    let id = member_id(&app, "asha@example.com").await.unwrap();
    let mut other = Browser::new(&app);
    sign_in(&mut other, "asha@example.com", PASSWORD).await;
    b.get(&story_url(&app, f.updated).await).await;
    {
        let mut c = app.db.write().await.unwrap();
        members::save_story(c.ex(), id, f.story, app.now())
            .await
            .unwrap();
        members::grant_entitlement(
            c.ex(),
            id,
            "stripe",
            app.now(),
            app.now() + 86_400_000_000,
            "evt-data-1",
            app.now(),
        )
        .await
        .unwrap();
    }
    let account = b.get("/account").await;
    assert!(account.body.contains("href=\"/account/data.json\""));
    assert!(account.body.contains("href=\"/account/delete\""));
    assert!(account.body.contains("href=\"/account/password\""));

    let r = app
        .client
        .get(format!("{}/account/data.json", app.base))
        .header("cookie", format!("mh_session={}", b.jar["mh_session"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=")
    );
    let text = r.text().await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["profile"]["email"], "Asha@Example.com");
    assert_eq!(doc["profile"]["display_name"], "Priya Nair");
    assert_eq!(doc["profile"]["role"], "member");
    assert_eq!(doc["profile"]["created_at"], "2020-11-25T00:16:00Z");
    assert!(doc["profile"]["email_verified_at"].is_string());
    let saved = doc["saved_stories"].as_array().unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0]["id"], f.story);
    assert_eq!(
        saved[0]["headline"],
        "Monsoon reaches Kerala three days early"
    );
    assert_eq!(
        saved[0]["url"],
        format!("https://news.example{}", story_url(&app, f.story).await)
    );
    assert!(saved[0]["saved_at"].is_string());
    assert_eq!(doc["meter"]["reads_this_period"], 1);
    assert_eq!(doc["meter"]["reads"][0]["story_id"], f.updated);
    let sessions = doc["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(doc["entitlements"][0]["source"], "stripe");

    // No secrets: no password hash, no session token or its hash, no CSRF token.
    let m = member(&app, id).await.unwrap();
    let hash = m.password_hash.unwrap();
    assert!(!text.contains(&hash) && !text.contains("$argon2"));
    for token in [&b.jar["mh_session"], &other.jar["mh_session"]] {
        assert!(!text.contains(token.as_str()));
        assert!(!text.contains(&masthead::http::auth::token_hash(token)));
    }
    assert!(!text.contains(&hidden(&account.body, "csrf")));
    assert!(!text.contains("password_hash") && !text.contains("token"));

    // Only for the member signed in.
    let anon = Browser::new(&app).get("/account/data.json").await;
    assert_eq!(anon.status, 303);
}

#[tokio::test]
async fn addresses_are_compared_without_regard_to_case_in_every_new_form() {
    let app = spawn_app().await;
    name_it(&app).await;
    let mut owner = Browser::new(&app);
    register_and_confirm(&mut owner, "Asha.Menon@Example.com", "/").await;
    let id = member_id(&app, "asha.menon@example.com").await.unwrap();

    // A sign-in link asked for in capitals reaches the account (and its code
    // works with the address typed in yet another case).
    let mut b = Browser::new(&app);
    let page = ask_for_link(&mut b, "ASHA.MENON@EXAMPLE.COM", "/").await;
    let (subject, text) = last_mail(&app, "asha.menon@example.com").await;
    assert_eq!(subject, "Your sign-in link for The Test Herald");
    let body = page
        .body
        .replace("ASHA.MENON@EXAMPLE.COM", "asha.menon@example.com");
    let done = type_code(
        &mut b,
        &Page {
            status: 200,
            location: None,
            body,
        },
        &code_in(&text),
    )
    .await;
    assert_eq!(done.status, 303);

    // A reset asked for in lower case reaches it too.
    let mut r = Browser::new(&app);
    let csrf = csrf_of(&mut r, "/account/password/forgot").await;
    r.post(
        "/account/password/forgot",
        &[("csrf", &csrf), ("email", "asha.menon@example.com")],
    )
    .await;
    assert_eq!(
        last_mail(&app, "Asha.Menon@Example.com").await.0,
        "Choose a new password for The Test Herald"
    );

    // Another account's address in another case is taken.
    let mut ravi = Browser::new(&app);
    register_and_confirm(&mut ravi, "ravi@example.com", "/").await;
    let csrf = csrf_of(&mut ravi, "/account/email").await;
    ravi.post(
        "/account/email",
        &[
            ("csrf", &csrf),
            ("email", "asha.MENON@example.COM"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(
        last_mail(&app, "asha.menon@example.com").await.0,
        "Someone tried to move an account to your address at The Test Herald"
    );
    // Its own address in another case is no change.
    let csrf = csrf_of(&mut owner, "/account/email").await;
    let same = owner
        .post(
            "/account/email",
            &[
                ("csrf", &csrf),
                ("email", "ASHA.MENON@example.com"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(same.status, 422);
    assert_eq!(
        member(&app, id).await.unwrap().email,
        "Asha.Menon@Example.com"
    );
}

#[tokio::test]
async fn mail_sending_forms_are_rate_limited_per_address_and_per_client() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    let csrf = csrf_of(&mut b, "/account/sign-in/link").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let p = b
            .post(
                "/account/sign-in/link",
                &[("csrf", &csrf), ("email", "Someone@example.com")],
            )
            .await;
        statuses.push(p.status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(mails_to(&app, "someone@example.com").await, 5);
    // Other addresses from the same client, up to the client's limit.
    let mut statuses = Vec::new();
    for i in 0..16 {
        let p = b
            .post(
                "/account/sign-in/link",
                &[
                    ("csrf", &csrf),
                    ("email", &format!("reader{i}@example.com")),
                ],
            )
            .await;
        statuses.push(p.status);
    }
    assert!(statuses[..14].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(&statuses[14..], [429, 429]);
    // The reset form counts on its own, and an hour later all is well again.
    let csrf = csrf_of(&mut b, "/account/password/forgot").await;
    let p = b
        .post(
            "/account/password/forgot",
            &[("csrf", &csrf), ("email", "someone@example.com")],
        )
        .await;
    assert_eq!(p.status, 200);
    app.clock.advance(SignedDuration::from_mins(61));
    let p = b
        .post(
            "/account/sign-in/link",
            &[("csrf", &csrf), ("email", "someone@example.com")],
        )
        .await;
    assert_eq!(p.status, 200);
}
