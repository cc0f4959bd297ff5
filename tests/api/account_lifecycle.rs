//! The rest of an account's life through the real router: signing in by an
//! e-mailed link or code.

use jiff::SignedDuration;
use masthead::db::members;
use masthead::domain::email::Email;

use crate::accounts::{Browser, Page, hidden, last_mail, link_in, register_and_confirm};
use crate::helpers::*;

/// The password `register_and_confirm` registers with.
const PASSWORD: &str = "monsoon-2026-rains";

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

/// The six-digit code in a sign-in mail.
fn code_in(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {text}"))
        .to_string()
}

async fn csrf_of(b: &mut Browser<'_>, path: &str) -> String {
    let p = b.get(path).await;
    assert_eq!(p.status, 200, "{path}: {}", p.body);
    hidden(&p.body, "csrf")
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
