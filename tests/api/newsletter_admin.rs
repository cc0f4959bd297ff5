//! Staff define newsletters: the desk's forms (new, edit, archive, the box
//! under every story) through the real router, and `masthead newsletter
//! create|edit|archive` through the built binary.

use masthead::db::members;
use masthead::domain::email::Email;
use masthead::newsletters::subscriptions::{self as subs, Newsletter};

use crate::accounts::{Browser, Page, hidden, register_and_confirm};
use crate::helpers::*;
use crate::newsletters::add_newsletters;

async fn staff<'a>(app: &'a TestApp, email: &str, role: &str) -> Browser<'a> {
    let mut b = Browser::new(app);
    register_and_confirm(&mut b, email, "/").await;
    let mut c = app.db.write().await.unwrap();
    let m = members::by_email(c.ex(), &Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    members::set_role(c.ex(), m.id, role).await.unwrap();
    drop(c);
    b
}

async fn newsletter(app: &TestApp, slug: &str) -> Option<Newsletter> {
    let mut c = app.db.read().await.unwrap();
    subs::by_slug(c.ex(), slug).await.unwrap()
}

async fn epoch(app: &TestApp) -> i64 {
    let mut c = app.db.read().await.unwrap();
    masthead::db::settings::content_epoch(c.ex()).await.unwrap()
}

/// The fields of a complete, valid form, with `changes` over them.
fn filled<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("name", "The Evening Edition"),
        ("slug", "evening-edition"),
        ("description", "The day's news at dusk."),
        ("from_name", "The Evening Desk"),
        ("from_address", "evening@news.example"),
        ("reply_to", "letters@news.example"),
        ("schedule", "Every weekday at 6 pm"),
        ("kind", "editorial"),
        ("subscribe_on_register", "1"),
        ("position", "4"),
    ];
    for (k, v) in changes {
        f.retain(|(name, _)| name != k);
        if !v.is_empty() || *k != "subscribe_on_register" {
            f.push((k, v));
        }
    }
    f
}

fn id_in(location: &str) -> i64 {
    location
        .trim_start_matches("/desk/newsletters/")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn an_editor_creates_edits_and_archives_a_newsletter_and_others_are_turned_away() {
    let app = spawn_app().await;
    let (morning, _, _) = add_newsletters(&app).await;

    // Members and moderators can neither see the forms nor post them.
    for (email, role) in [
        ("reader@example.com", "member"),
        ("mod@example.com", "moderator"),
    ] {
        let mut b = staff(&app, email, role).await;
        let csrf = hidden(&b.get("/account").await.body, "csrf");
        for path in [
            "/desk/newsletters/new".to_string(),
            format!("/desk/newsletters/{morning}/edit"),
            "/desk/newsletters/story-box".to_string(),
        ] {
            assert_eq!(b.get(&path).await.status, 403, "{role} GET {path}");
        }
        assert_eq!(
            b.post("/desk/newsletters/new", &filled(&csrf, &[]))
                .await
                .status,
            403
        );
        for path in [
            format!("/desk/newsletters/{morning}/edit"),
            format!("/desk/newsletters/{morning}/archive"),
        ] {
            let r = b
                .post(&path, &filled(&csrf, &[("slug", "morning-briefing")]))
                .await;
            assert_eq!(r.status, 403, "{role} POST {path}");
        }
    }
    // Signed out: turned away too.
    let (status, _) = app.get_text("/desk/newsletters/new").await;
    assert_eq!(status, 403);
    assert!(newsletter(&app, "evening-edition").await.is_none());
    assert!(
        newsletter(&app, "morning-briefing")
            .await
            .unwrap()
            .archived_at
            .is_none()
    );

    let mut b = staff(&app, "editor@example.com", "editor").await;
    let desk = b.get("/desk/newsletters").await;
    assert!(desk.body.contains("href=\"/desk/newsletters/new\""));
    assert!(
        desk.body
            .contains(&format!("href=\"/desk/newsletters/{morning}/edit\"")),
        "{}",
        desk.body
    );
    let form = b.get("/desk/newsletters/new").await;
    assert_eq!(form.status, 200);
    // The next position is offered: after the three there are.
    assert!(form.body.contains("name=\"position\""));
    assert!(form.body.contains("value=\"3\""), "{}", form.body);
    let csrf = hidden(&form.body, "csrf");

    // Without the form's token nothing is made.
    let forged = b
        .post("/desk/newsletters/new", &filled("forged", &[]))
        .await;
    assert_eq!(forged.status, 403);
    assert!(newsletter(&app, "evening-edition").await.is_none());

    let before = epoch(&app).await;
    let made = b.post("/desk/newsletters/new", &filled(&csrf, &[])).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let location = made.location.unwrap();
    let id = id_in(&location);
    assert!(
        epoch(&app).await > before,
        "creating bumps the content epoch"
    );
    let n = newsletter(&app, "evening-edition").await.unwrap();
    assert_eq!(n.id, id);
    assert_eq!(
        (
            n.name.as_str(),
            n.description.as_str(),
            n.from_name.as_str(),
            n.from_address.as_str(),
            n.reply_to.as_str(),
            n.schedule.as_str(),
            n.kind.as_str(),
            n.subscribe_on_register,
            n.position,
        ),
        (
            "The Evening Edition",
            "The day's news at dusk.",
            "The Evening Desk",
            "evening@news.example",
            "letters@news.example",
            "Every weekday at 6 pm",
            "editorial",
            true,
            4
        )
    );
    let page = b.get(&location).await;
    assert!(
        page.body.contains("The newsletter is created"),
        "{}",
        page.body
    );
    // Readers can subscribe to it at once.
    assert!(
        app.get_text("/newsletters")
            .await
            .1
            .contains("The Evening Edition")
    );

    // Edit: every field but the kind; a kind sent anyway changes nothing.
    let before = epoch(&app).await;
    let edit = format!("/desk/newsletters/{id}/edit");
    let saved = b
        .post(
            &edit,
            &filled(
                &csrf,
                &[
                    ("name", "The Night Edition"),
                    ("slug", "night-edition"),
                    ("description", "Late news."),
                    ("from_name", ""),
                    ("from_address", ""),
                    ("reply_to", "night@news.example"),
                    ("schedule", "Every night at 11"),
                    ("kind", "offers"),
                    ("subscribe_on_register", ""),
                    ("position", "1"),
                ],
            ),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location.as_deref(),
        Some(&*format!("{edit}?done=saved"))
    );
    assert!(
        epoch(&app).await > before,
        "editing bumps the content epoch"
    );
    assert!(newsletter(&app, "evening-edition").await.is_none());
    let n = newsletter(&app, "night-edition").await.unwrap();
    assert_eq!(
        (
            n.id,
            n.name.as_str(),
            n.description.as_str(),
            n.from_name.as_str(),
            n.from_address.as_str(),
            n.reply_to.as_str(),
            n.schedule.as_str(),
            n.kind.as_str(),
            n.subscribe_on_register,
            n.position,
        ),
        (
            id,
            "The Night Edition",
            "Late news.",
            "",
            "",
            "night@news.example",
            "Every night at 11",
            "editorial",
            false,
            1
        )
    );
    let page = b.get(&edit).await;
    assert!(
        page.body.contains("Kind: <strong>editorial</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"The Night Edition\""));

    // Archive: only with the box ticked, and with the form's token.
    let unconfirmed = b
        .post(
            &format!("/desk/newsletters/{id}/archive"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(unconfirmed.status, 422);
    assert!(unconfirmed.body.contains("Tick the box to confirm"));
    let forged = b
        .post(
            &format!("/desk/newsletters/{id}/archive"),
            &[("csrf", "forged"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(
        newsletter(&app, "night-edition")
            .await
            .unwrap()
            .archived_at
            .is_none()
    );
    let before = epoch(&app).await;
    let archived = b
        .post(
            &format!("/desk/newsletters/{id}/archive"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(archived.status, 303);
    assert!(
        epoch(&app).await > before,
        "archiving bumps the content epoch"
    );
    assert!(
        newsletter(&app, "night-edition")
            .await
            .unwrap()
            .archived_at
            .is_some()
    );
    assert!(
        !app.get_text("/newsletters")
            .await
            .1
            .contains("The Night Edition")
    );
    assert!(
        !b.get("/desk/newsletters")
            .await
            .body
            .contains("The Night Edition")
    );
    let page = b.get(&format!("{edit}?done=archived")).await;
    assert!(page.body.contains("Archived"), "{}", page.body);
    assert!(
        !page.body.contains("/archive\""),
        "no second archive button"
    );

    // An admin may do it too; an unknown newsletter is 404.
    let mut admin = staff(&app, "admin@example.com", "admin").await;
    assert_eq!(admin.get("/desk/newsletters/new").await.status, 200);
    assert_eq!(admin.get("/desk/newsletters/99999/edit").await.status, 404);
}

fn kept(page: &Page, values: &[&str]) {
    for v in values {
        assert!(page.body.contains(v), "{v} is kept: {}", page.body);
    }
}

#[tokio::test]
async fn bad_input_comes_back_with_what_was_typed_and_what_to_fix() {
    let app = spawn_app().await;
    let (morning, digest, _) = add_newsletters(&app).await;
    let mut b = staff(&app, "editor@example.com", "editor").await;
    let csrf = hidden(&b.get("/desk/newsletters/new").await.body, "csrf");
    let before = epoch(&app).await;

    // A line break in header fields, a bad address, a bad position.
    let bad = b
        .post(
            "/desk/newsletters/new",
            &filled(
                &csrf,
                &[
                    ("from_name", "Desk\r\nBcc: everyone@example.com"),
                    ("name", "Kept Name\nX-Evil: 1"),
                    ("from_address", "desk at news"),
                    ("reply_to", "kept@news.example\r\nBcc: x@example.com"),
                    ("position", "first"),
                ],
            ),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    kept(
        &bad,
        &[
            "value=\"desk at news\"",
            "evening-edition",
            "The day&#39;s news at dusk.",
            "Every weekday at 6 pm",
            "value=\"first\"",
        ],
    );
    for (field, words) in [
        ("from_name", "The sender name must be on one line."),
        ("name", "The name must be on one line."),
        ("from_address", "The sender address:"),
        ("reply_to", "The reply-to address must be on one line."),
        ("position", "The position is a whole number"),
    ] {
        let marker = format!("id=\"{field}-error\">");
        let at = bad
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no message for {field}: {}", bad.body));
        assert!(
            bad.body[at..].starts_with(&format!("{marker}{words}")),
            "{field}: {}",
            &bad.body[at..at + 200]
        );
    }
    assert!(
        bad.body
            .contains("aria-invalid=\"true\" aria-describedby=\"from_name-error\"")
    );
    assert!(newsletter(&app, "evening-edition").await.is_none());

    // A slug that is taken; offers that would subscribe new members; no kind.
    let taken = b
        .post(
            "/desk/newsletters/new",
            &filled(
                &csrf,
                &[("slug", "weekly-digest"), ("name", "Another Digest")],
            ),
        )
        .await;
    assert_eq!(taken.status, 422);
    assert!(
        taken
            .body
            .contains("“weekly-digest” is the address of another newsletter")
    );
    kept(
        &taken,
        &["value=\"Another Digest\"", "value=\"weekly-digest\""],
    );
    let offers = b
        .post(
            "/desk/newsletters/new",
            &filled(&csrf, &[("kind", "offers"), ("slug", "flash-sales")]),
        )
        .await;
    assert_eq!(offers.status, 422);
    assert!(
        offers
            .body
            .contains("Nobody is subscribed to offers without asking")
    );
    let no_kind = b
        .post(
            "/desk/newsletters/new",
            &filled(&csrf, &[("kind", "promotions"), ("slug", "flash-sales")]),
        )
        .await;
    assert_eq!(no_kind.status, 422);
    assert!(no_kind.body.contains("Choose editorial"));
    let bad_slug = b
        .post(
            "/desk/newsletters/new",
            &filled(&csrf, &[("slug", "Evening Edition")]),
        )
        .await;
    assert_eq!(bad_slug.status, 422);
    assert!(
        bad_slug
            .body
            .contains("lower-case letters, digits and hyphens")
    );
    assert!(newsletter(&app, "flash-sales").await.is_none());
    assert_eq!(epoch(&app).await, before, "nothing refused bumps the epoch");

    // Editing into a taken slug keeps both newsletters as they were.
    let edit = b
        .post(
            &format!("/desk/newsletters/{digest}/edit"),
            &filled(
                &csrf,
                &[("slug", "morning-briefing"), ("name", "Renamed Digest")],
            ),
        )
        .await;
    assert_eq!(edit.status, 422);
    assert!(
        edit.body
            .contains("“morning-briefing” is the address of another newsletter")
    );
    kept(&edit, &["value=\"Renamed Digest\""]);
    assert_eq!(newsletter(&app, "weekly-digest").await.unwrap().id, digest);
    assert_eq!(
        newsletter(&app, "morning-briefing").await.unwrap().id,
        morning
    );
    assert_eq!(epoch(&app).await, before);
}

#[tokio::test]
async fn the_story_box_follows_the_desk_at_once() {
    // Pages cached for a minute: changes made on this instance show at once.
    let app = spawn_app_with(|l| masthead::config::Layer {
        change_poll_ms: Some(60_000),
        ..l
    })
    .await;
    let f = fixture(&app).await;
    let (_, digest, _) = add_newsletters(&app).await;
    let url = story_url(&app, f.linked).await;
    let page = story(&app, &url).await;
    assert!(page.contains("The Morning Briefing"), "{page}");
    assert!(!page.contains("The Weekly Digest"));

    let mut b = staff(&app, "editor@example.com", "editor").await;
    let form = b.get("/desk/newsletters/story-box").await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("value=\"morning-briefing\" checked"),
        "{}",
        form.body
    );
    let csrf = hidden(&form.body, "csrf");
    let forged = b
        .post(
            "/desk/newsletters/story-box",
            &[("csrf", "forged"), ("story_box", "weekly-digest")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let unknown = b
        .post(
            "/desk/newsletters/story-box",
            &[("csrf", &csrf), ("story_box", "no-such-letter")],
        )
        .await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains("Choose one of the newsletters"));

    let chosen = b
        .post(
            "/desk/newsletters/story-box",
            &[("csrf", &csrf), ("story_box", "weekly-digest")],
        )
        .await;
    assert_eq!(chosen.status, 303);
    let page = story(&app, &url).await;
    assert!(page.contains("The Weekly Digest"), "{page}");
    assert!(!page.contains("The Morning Briefing"));

    // Renaming it (name and slug) shows at once; the setting follows the slug.
    let edit = b
        .post(
            &format!("/desk/newsletters/{digest}/edit"),
            &filled(
                &csrf,
                &[
                    ("name", "The Sunday Digest"),
                    ("slug", "sunday-digest"),
                    ("subscribe_on_register", ""),
                ],
            ),
        )
        .await;
    assert_eq!(edit.status, 303, "{}", edit.body);
    let page = story(&app, &url).await;
    assert!(page.contains("The Sunday Digest"), "{page}");
    assert!(page.contains("value=\"sunday-digest\""), "{page}");
    let form = b.get("/desk/newsletters/story-box").await;
    assert!(
        form.body.contains("value=\"sunday-digest\" checked"),
        "{}",
        form.body
    );

    // Archiving the one in the box takes the box away.
    let archived = b
        .post(
            &format!("/desk/newsletters/{digest}/archive"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(archived.status, 303);
    let page = story(&app, &url).await;
    assert!(!page.contains("The Sunday Digest"), "{page}");
    assert!(!page.contains("newsletter-box"), "{page}");

    // No box, then the morning briefing again.
    let none = b
        .post(
            "/desk/newsletters/story-box",
            &[("csrf", &csrf), ("story_box", "")],
        )
        .await;
    assert_eq!(none.status, 303);
    assert!(!story(&app, &url).await.contains("newsletter-box"));
    b.post(
        "/desk/newsletters/story-box",
        &[("csrf", &csrf), ("story_box", "morning-briefing")],
    )
    .await;
    assert!(story(&app, &url).await.contains("The Morning Briefing"));
}

async fn story(app: &TestApp, url: &str) -> String {
    app.get_text(url).await.1
}

fn masthead(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"));
    for (k, _) in std::env::vars() {
        if k.starts_with("MASTHEAD_") {
            c.env_remove(k);
        }
    }
    let data = tempfile::tempdir().unwrap();
    let out = c
        .env("MASTHEAD_LOG", "warn")
        .env("MASTHEAD_DATABASE_URL", &app.database_url)
        .arg("newsletter")
        .args(args)
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_command_line_creates_edits_and_archives_newsletters() {
    let app = spawn_app().await;
    add_newsletters(&app).await;
    let before = epoch(&app).await;

    let (ok, out, err) = masthead(
        &app,
        &[
            "create",
            "--slug",
            "evening-edition",
            "--name",
            "The Evening Edition",
            "--description",
            "The day's news at dusk.",
            "--from-name",
            "The Evening Desk",
            "--from-address",
            "evening@news.example",
            "--reply-to",
            "letters@news.example",
            "--schedule",
            "Every weekday at 6 pm",
            "--subscribe-on-register",
        ],
    );
    assert!(ok, "{out}{err}");
    let n = newsletter(&app, "evening-edition").await.unwrap();
    assert_eq!(out.trim(), n.id.to_string());
    assert_eq!(
        (
            n.name.as_str(),
            n.from_name.as_str(),
            n.from_address.as_str(),
            n.reply_to.as_str(),
            n.schedule.as_str(),
            n.kind.as_str(),
            n.subscribe_on_register,
            n.position
        ),
        (
            "The Evening Edition",
            "The Evening Desk",
            "evening@news.example",
            "letters@news.example",
            "Every weekday at 6 pm",
            "editorial",
            true,
            3
        )
    );
    assert!(epoch(&app).await > before);

    // Refusals say what to fix and change nothing.
    let (ok, _, err) = masthead(
        &app,
        &["create", "--slug", "weekly-digest", "--name", "Another"],
    );
    assert!(!ok);
    assert!(
        err.contains("“weekly-digest” is the address of another newsletter"),
        "{err}"
    );
    let (ok, _, err) = masthead(
        &app,
        &[
            "create",
            "--slug",
            "sales",
            "--name",
            "Sales",
            "--kind",
            "offers",
            "--from-name",
            "Sales\r\nBcc: all@example.com",
            "--from-address",
            "sales at news",
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("from_name: The sender name must be on one line.")
            && err.contains("from_address: The sender address:"),
        "{err}"
    );
    assert!(newsletter(&app, "sales").await.is_none());

    // Edit changes only what is given; the kind stays.
    let (ok, out, err) = masthead(
        &app,
        &[
            "edit",
            "evening-edition",
            "--name",
            "The Night Edition",
            "--schedule",
            "Every night at 11",
            "--no-subscribe-on-register",
        ],
    );
    assert!(ok, "{out}{err}");
    let edited = newsletter(&app, "evening-edition").await.unwrap();
    assert_eq!(
        (
            edited.name.as_str(),
            edited.schedule.as_str(),
            edited.from_address.as_str(),
            edited.description.as_str(),
            edited.subscribe_on_register
        ),
        (
            "The Night Edition",
            "Every night at 11",
            "evening@news.example",
            "The day's news at dusk.",
            false
        )
    );
    let (ok, _, err) = masthead(&app, &["edit", "evening-edition", "--kind", "offers"]);
    assert!(!ok);
    assert!(err.contains("kind is fixed once it exists"), "{err}");
    assert_eq!(
        newsletter(&app, "evening-edition").await.unwrap().kind,
        "editorial"
    );
    let (ok, _, err) = masthead(&app, &["edit", "no-such-letter", "--name", "X"]);
    assert!(
        !ok && err.contains("there is no newsletter \"no-such-letter\""),
        "{err}"
    );

    // Archive, once.
    let (ok, out, err) = masthead(&app, &["archive", "evening-edition"]);
    assert!(ok, "{out}{err}");
    assert!(
        newsletter(&app, "evening-edition")
            .await
            .unwrap()
            .archived_at
            .is_some()
    );
    let (ok, out, _) = masthead(&app, &["list"]);
    assert!(
        ok && !out.contains("evening-edition") && out.contains("weekly-digest"),
        "{out}"
    );
    let (ok, _, err) = masthead(&app, &["archive", "evening-edition"]);
    assert!(!ok && err.contains("archived already"), "{err}");
}
