//! Readers in headless Chromium: a story and a topic; and the member flow
//! from the meter's walls through registration (confirmed by a mail a real
//! SMTP server received) to saved stories. Runs the scripts in
//! `tests/browser/` (Playwright driving Debian's Chromium) against the app;
//! the test command installs both.

use std::time::Duration;

use masthead::config::Layer;
use masthead::mail::{self, worker};

use crate::helpers::*;
use crate::mail::{SmtpServer, parse_eml};

/// One Chromium at a time: the suite runs its tests side by side on a
/// small machine, and six browsers at once among them made page loads
/// slow enough to miss the scripts' 30-second waits.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `tests/browser/{script}` with the app's base URL, the screenshot
/// folder and `args`; fails the test with the script's output unless it
/// exits 0. Answers its standard output.
async fn run_browser_script(app: &TestApp, script: &str, args: &[&str]) -> String {
    let _one = ONE_BROWSER.lock().await;
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(
        std::path::Path::new(&format!(
            "{root}/tests/browser/node_modules/playwright-core"
        ))
        .exists(),
        "playwright-core is not installed: run the test command in the README (it installs it)"
    );
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(format!("{root}/tests/browser/{script}"))
        .arg(&app.base)
        .arg(&shots)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test {script} failed\n{stdout}\n{stderr}"
    );
    stdout
}

fn screenshot_dir() -> String {
    format!("{}/target/screenshots", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn a_reader_follows_a_story_and_a_topic_in_chromium() {
    let app = spawn_app().await;
    fixture(&app).await;
    let stdout = run_browser_script(&app, "story.mjs", &[]).await;
    assert!(stdout.contains("ok: story"), "{stdout}");
    assert!(std::path::Path::new(&format!("{}/story-desktop.png", screenshot_dir())).exists());
}

#[tokio::test]
async fn a_reader_meets_the_walls_registers_by_mail_and_saves_a_story_in_chromium() {
    let smtp = SmtpServer::start("aiosmtpd.handlers.Mailbox").await;
    let smtp_url = format!("smtp://127.0.0.1:{}?tls=none", smtp.port);
    let app = spawn_app_with(move |l| Layer {
        smtp_url: Some(smtp_url),
        ..l
    })
    .await;
    let f = fixture(&app).await;
    // 3 anonymous reads, the 4th at the wall and read after sign-in, 6 more
    // to the member limit of 10, and one past it.
    let stories = metered_stories(&app, &f, 11).await;

    // The mail worker `masthead serve` runs, delivering to the SMTP server.
    let transport = mail::transport_for(&app.state.config).unwrap();
    assert!(matches!(transport, mail::Transport::Smtp(_)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let delivering = tokio::spawn(worker::run_with(
        app.db.clone(),
        transport,
        app.clock.clone(),
        worker::WorkerOptions {
            poll: Duration::from_millis(100),
            ..worker::WorkerOptions::default()
        },
        None,
        async {
            let _ = stopped.await;
        },
    ));

    let email = "meera.nair@example.com";
    let maildir = smtp.maildir.display().to_string();
    let public = app.state.config.public_url.to_string();
    let mut args = vec![maildir.as_str(), public.as_str(), email, LINE_PAST_THE_CUT];
    args.extend(stories.iter().map(String::as_str));
    let shots = [
        "member-wall-register.png",
        "member-check-inbox.png",
        "member-confirm.png",
        "member-wall-subscribe.png",
        "member-saved.png",
    ];
    for shot in shots {
        let _ = std::fs::remove_file(format!("{}/{shot}", screenshot_dir()));
    }
    let stdout = run_browser_script(&app, "member.mjs", &args).await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), delivering)
        .await
        .expect("the mail worker stops")
        .unwrap();

    for step in [
        "ok: anonymous reader read 3 stories",
        "ok: the SMTP server received the confirmation mail",
        "ok: confirmed from the mail",
        "ok: member read to 10",
        "ok: saved \"",
        "with JavaScript off",
        "ok: member flow",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in\n{stdout}");
    }
    // The SMTP server got exactly the one mail, to the member.
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let m = parse_eml(&received[0]);
    assert_eq!(m["to"], email);
    for shot in shots {
        assert!(
            std::path::Path::new(&format!("{}/{shot}", screenshot_dir())).exists(),
            "{shot}"
        );
    }
}

/// A confirmed member with a password, made directly in the database.
async fn member_with_password(app: &TestApp, email: &str, name: &str, role: &str, password: &str) {
    let hash = masthead::http::auth::hash_password(password.to_string())
        .await
        .unwrap();
    let email = masthead::domain::email::Email::parse(email).unwrap();
    let mut c = app.db.write().await.unwrap();
    let id = masthead::db::members::insert(c.ex(), &email, name, Some(&hash), role, app.now())
        .await
        .unwrap()
        .unwrap();
    masthead::db::members::mark_verified(c.ex(), id, app.now())
        .await
        .unwrap();
}

#[tokio::test]
async fn comments_are_held_to_the_guidelines_and_moderated_in_chromium() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let password = "monsoon-2026-rains";
    member_with_password(&app, "reader@example.org", "Priya Nair", "member", password).await;
    member_with_password(&app, "desk@example.org", "Mira Desk", "moderator", password).await;
    let path = format!("{}/comments", story_url(&app, f.story).await);
    let out = run_browser_script(
        &app,
        "comments.mjs",
        &[&path, "reader@example.org", "desk@example.org", password],
    )
    .await;
    assert!(out.contains("ok: comments"), "{out}");
    assert!(std::path::Path::new(&format!("{}/comments-queue.png", screenshot_dir())).exists());
}

#[tokio::test]
async fn newsletters_turn_over_with_one_click_and_the_preference_page_works_in_chromium() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let story = story_url(&app, f.linked).await;
    let (morning, _, _) = crate::newsletters::add_newsletters(&app).await;
    let password = "monsoon-2026-rains";
    let email = "reader@example.org";
    member_with_password(&app, email, "Priya Nair", "member", password).await;
    let subscriber = {
        let parsed = masthead::domain::email::Email::parse(email).unwrap();
        let mut tx = app.db.begin().await.unwrap();
        let id = masthead::db::members::by_email(tx.ex(), &parsed)
            .await
            .unwrap()
            .unwrap()
            .id;
        masthead::newsletters::subscriptions::welcome_member(&mut tx, id, &parsed, app.now())
            .await
            .unwrap();
        let s = masthead::newsletters::subscriptions::subscriber_of_member(tx.ex(), id)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        s.id
    };
    let url = masthead::newsletters::links::preferences_url(
        &app.state.config,
        &app.state.keys,
        subscriber,
        Some(morning),
        app.now(),
    );
    let path = url.trim_start_matches("https://news.example");
    let shots = [
        "newsletters-anonymous.png",
        "newsletters-member.png",
        "newsletters-preferences.png",
        "newsletters-story-box.png",
    ];
    for shot in shots {
        let _ = std::fs::remove_file(format!("{}/{shot}", screenshot_dir()));
    }
    let out = run_browser_script(&app, "newsletters.mjs", &[path, email, password, &story]).await;
    for step in [
        "ok: visitor sees the newsletters",
        "ok: story box leads to the sign-up",
        "ok: member subscribed in place",
        "ok: member unsubscribed with JavaScript off",
        "ok: preference page changes without signing in",
        "ok: newsletters",
    ] {
        assert!(out.contains(step), "missing {step:?} in\n{out}");
    }
    for shot in shots {
        assert!(
            std::path::Path::new(&format!("{}/{shot}", screenshot_dir())).exists(),
            "{shot}"
        );
    }
}

#[tokio::test]
async fn a_reader_claims_their_imported_comments_in_chromium() {
    use masthead::import::cli::{FileArgs, ImportCommand};
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.txt");
    std::fs::write(
        &map,
        format!("https://old.example/2020/11/monsoon {}\n", f.story),
    )
    .unwrap();
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import/awkward.xml");
    masthead::import::cli::run(
        &app.state.config,
        &app.db,
        ImportCommand::Disqus(FileArgs {
            file,
            dry_run: false,
            moderate: false,
            keep_hidden: false,
            skip_hidden: false,
            host_alias: Vec::new(),
            map: Some(map),
            batch: None,
            bulk: false,
        }),
        app.now(),
        false,
    )
    .await
    .unwrap();
    let password = "monsoon-2026-rains";
    member_with_password(&app, "asha@example.com", "Asha Menon", "member", password).await;
    let out = run_browser_script(&app, "import.mjs", &["asha@example.com", password]).await;
    assert!(out.contains("ok: import"), "{out}");
    let claimed = {
        let mut c = app.db.read().await.unwrap();
        masthead::db::imports::offer(c.ex(), "asha@example.com")
            .await
            .unwrap()
    };
    assert_eq!(claimed.comments, 0, "the comments were claimed");
}

#[tokio::test]
async fn an_admin_tries_and_saves_the_comment_settings_in_chromium() {
    let app = spawn_app().await;
    let password = "monsoon-2026-rains";
    member_with_password(&app, "admin@example.org", "Asha Admin", "admin", password).await;
    let out = run_browser_script(
        &app,
        "moderation_settings.mjs",
        &["admin@example.org", password],
    )
    .await;
    assert!(out.contains("ok: settings saved"), "{out}");
    let mut c = app.db.read().await.unwrap();
    let g: serde_json::Value = masthead::db::settings::get(c.ex(), "guidelines")
        .await
        .unwrap()
        .unwrap();
    assert!(
        g["banned"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == "flibbertigibbet")
    );
    assert!(
        std::path::Path::new(&format!("{}/moderation-settings-try.png", screenshot_dir())).exists()
    );
}
