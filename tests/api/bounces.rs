//! Bounces, complaints and unsubscribes by mail (`masthead mail ingest`),
//! the signed mail-event webhook, and the suppression list kept by hand.

use hmac::{Hmac, Mac};
use masthead::config::Layer;
use masthead::newsletters::bounces;
use masthead::newsletters::tokens::{self, Purpose};
use sha2::Sha256;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const DAY: i64 = 86_400_000_000;
const SECRET: &str = "mail-events-secret-0123456789abcdef";

/// Two newsletters and four subscribers, each subscribed to both:
/// 1 gone@example.com, 2 asha.menon@example.com, 3 full@example.org,
/// 4 reader@example.net.
async fn subscribers(app: &TestApp) {
    let mut tx = app.db.begin().await.unwrap();
    for sql in [
        "insert into newsletters (slug, name, created_at) values ('morning', 'Morning briefing', 1)",
        "insert into newsletters (slug, name, created_at) values ('weekly', 'The week', 1)",
        "insert into subscribers (email, email_normalized, created_at) values ('gone@example.com', 'gone@example.com', 1)",
        "insert into subscribers (email, email_normalized, created_at) values ('Asha.Menon@example.com', 'asha.menon@example.com', 1)",
        "insert into subscribers (email, email_normalized, created_at) values ('full@example.org', 'full@example.org', 1)",
        "insert into subscribers (email, email_normalized, created_at) values ('reader@example.net', 'reader@example.net', 1)",
        "insert into newsletter_subscriptions (newsletter_id, subscriber_id, state, created_at, updated_at) \
         select n.id, s.id, 'active', 1, 1 from newsletters n, subscribers s",
    ] {
        masthead::execute!(tx.ex(), sql).unwrap();
    }
    tx.commit().await.unwrap();
}

fn bounce_addr(app: &TestApp, subscriber: i64) -> String {
    bounce_addr_at(app, subscriber, app.now())
}

fn bounce_addr_at(app: &TestApp, subscriber: i64, now: i64) -> String {
    let t = tokens::make(&app.state.keys, Purpose::Bounce, subscriber, Some(1), now);
    format!("bounces+{t}@news.example")
}

fn unsub_addr(app: &TestApp, subscriber: i64, newsletter: i64) -> String {
    let t = tokens::make(
        &app.state.keys,
        Purpose::Preferences,
        subscriber,
        Some(newsletter),
        app.now(),
    );
    format!("news+{t}@news.example")
}

fn fixture(name: &str, bounce: &str, unsub: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/mail/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap()
        .replace("{BOUNCE_ADDR}", bounce)
        .replace("{UNSUB_ADDR}", unsub)
        .into_bytes()
}

async fn ingest(app: &TestApp, raw: &[u8], now: i64) -> String {
    bounces::ingest(&app.db, &app.state.keys, raw, &[], now)
        .await
        .unwrap()
}

async fn suppressed(app: &TestApp, email: &str) -> Option<String> {
    #[derive(sqlx::FromRow)]
    struct ReasonRow {
        reason: String,
    }
    let mut c = app.db.read().await.unwrap();
    let listed = bounces::is_suppressed(c.ex(), email).await.unwrap();
    let row = masthead::fetch_optional!(
        c.ex(),
        ReasonRow,
        "select reason from mail_suppressions where email_normalized = $1",
        email
    )
    .unwrap();
    assert_eq!(listed, row.is_some());
    row.map(|r| r.reason)
}

async fn events(app: &TestApp) -> Vec<(String, String, String)> {
    #[derive(sqlx::FromRow)]
    struct E {
        email_normalized: String,
        kind: String,
        source: String,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_all!(
        c.ex(),
        E,
        "select email_normalized, kind, source from mail_events order by id"
    )
    .unwrap()
    .into_iter()
    .map(|e| (e.email_normalized, e.kind, e.source))
    .collect()
}

async fn subscription_states(app: &TestApp, subscriber: i64) -> Vec<String> {
    #[derive(sqlx::FromRow)]
    struct S {
        state: String,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_all!(
        c.ex(),
        S,
        "select state from newsletter_subscriptions where subscriber_id = $1 order by newsletter_id",
        subscriber
    )
    .unwrap()
    .into_iter()
    .map(|s| s.state)
    .collect()
}

fn ev(email: &str, kind: &str) -> (String, String, String) {
    (email.into(), kind.into(), "mail".into())
}

#[tokio::test]
async fn delivery_reports_suppress_hard_bounces_and_count_soft_ones() {
    let app = spawn_app().await;
    subscribers(&app).await;
    let now = app.now();

    // Postfix: the VERP address and the report agree.
    let line = ingest(
        &app,
        &fixture("postfix-hard.eml", &bounce_addr(&app, 1), ""),
        now,
    )
    .await;
    assert!(line.contains("suppressed (hard_bounce)"), "{line}");
    assert_eq!(
        suppressed(&app, "gone@example.com").await.as_deref(),
        Some("hard_bounce")
    );

    // Gmail: the report's recipient is garbled; the VERP token names her.
    let line = ingest(
        &app,
        &fixture("gmail-garbled.eml", &bounce_addr(&app, 2), ""),
        now,
    )
    .await;
    assert!(line.contains("asha.menon@example.com"), "{line}");
    assert_eq!(
        suppressed(&app, "asha.menon@example.com").await.as_deref(),
        Some("hard_bounce")
    );

    // Exim, 4.2.2 (mailbox full): counted, not suppressed, until the fifth
    // over at least three days.
    let soft = fixture("exim-soft.eml", &bounce_addr(&app, 3), "");
    for day in 0..4 {
        let line = ingest(&app, &soft, now + day * DAY).await;
        assert!(
            line.contains("soft bounce") && line.ends_with("recorded"),
            "{line}"
        );
    }
    assert_eq!(suppressed(&app, "full@example.org").await, None);
    let line = ingest(&app, &soft, now + 4 * DAY).await;
    assert!(line.contains("suppressed (soft_bounces)"), "{line}");
    assert_eq!(
        suppressed(&app, "full@example.org").await.as_deref(),
        Some("soft_bounces")
    );

    // A relay's report without VERP: each failed recipient from the report
    // (quoted-printable, folded); the delayed one is no failure.
    let line = ingest(&app, &fixture("relay-two-recipients.eml", "", ""), now).await;
    assert!(line.contains("nobody@example.com"), "{line}");
    assert_eq!(
        suppressed(&app, "nobody@example.com").await.as_deref(),
        Some("hard_bounce")
    );
    assert_eq!(suppressed(&app, "quota@example.net").await, None);
    assert_eq!(suppressed(&app, "slow@example.net").await, None);

    let mut want = vec![
        ev("gone@example.com", "hard_bounce"),
        ev("asha.menon@example.com", "hard_bounce"),
    ];
    want.extend((0..5).map(|_| ev("full@example.org", "soft_bounce")));
    want.push(ev("nobody@example.com", "hard_bounce"));
    want.push(ev("quota@example.net", "soft_bounce"));
    assert_eq!(events(&app).await, want);
    // Bounces do not unsubscribe: the list decides who is mailed.
    assert_eq!(subscription_states(&app, 1).await, ["active", "active"]);
}

#[tokio::test]
async fn complaints_and_mail_to_the_unsubscribe_address() {
    let app = spawn_app().await;
    subscribers(&app).await;
    let now = app.now();

    // ARF: the recipient is redacted; the List-Unsubscribe token names them.
    let raw = fixture(
        "arf-complaint.eml",
        "bounces@news.example",
        &unsub_addr(&app, 4, 1),
    );
    let line = ingest(&app, &raw, now).await;
    assert!(line.contains("complaint from reader@example.net"), "{line}");
    assert_eq!(
        suppressed(&app, "reader@example.net").await.as_deref(),
        Some("complaint")
    );

    // A mail to the mailto: unsubscribe address ends that one subscription.
    let line = ingest(
        &app,
        &fixture("unsubscribe.eml", "", &unsub_addr(&app, 2, 1)),
        now,
    )
    .await;
    assert!(line.contains("1 subscription ended"), "{line}");
    assert_eq!(
        subscription_states(&app, 2).await,
        ["unsubscribed", "active"]
    );
    let again = ingest(
        &app,
        &fixture("unsubscribe.eml", "", &unsub_addr(&app, 2, 1)),
        now,
    )
    .await;
    assert!(again.contains("0 subscriptions ended"), "{again}");

    // A forged token, a letter to the editor and an auto-reply to the
    // bounce address change nothing.
    let good = unsub_addr(&app, 3, 1);
    let forged = good.replacen("news+3.", "news+1.", 1);
    let before = events(&app).await;
    for raw in [
        fixture("unsubscribe.eml", "", &forged),
        fixture("not-a-bounce.eml", "", ""),
        fixture("auto-reply.eml", &bounce_addr(&app, 1), ""),
        b"this is not mail at all".to_vec(),
    ] {
        let line = ingest(&app, &raw, now).await;
        assert!(line.starts_with("not handled"), "{line}");
    }
    assert_eq!(events(&app).await, before);
    assert_eq!(subscription_states(&app, 1).await, ["active", "active"]);
    assert_eq!(subscription_states(&app, 3).await, ["active", "active"]);
    assert_eq!(
        before,
        [
            ev("reader@example.net", "complaint"),
            ev("asha.menon@example.com", "unsubscribe"),
            ev("asha.menon@example.com", "unsubscribe"),
        ]
    );

    // A token that names no newsletter unsubscribes from all of them.
    let all = tokens::make(&app.state.keys, Purpose::Preferences, 1, None, now);
    let raw = fixture("unsubscribe.eml", "", &format!("news+{all}@news.example"));
    let line = ingest(&app, &raw, now).await;
    assert!(
        line.contains("every newsletter; 2 subscriptions ended"),
        "{line}"
    );
    assert_eq!(
        subscription_states(&app, 1).await,
        ["unsubscribed", "unsubscribed"]
    );
}

/// `masthead` run over the app's database and data folder (its secret key).
fn masthead(app: &TestApp, database_url: &str, args: &[&str], stdin: &[u8]) -> (i32, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut c = Command::new(env!("CARGO_BIN_EXE_masthead"));
    for (k, _) in std::env::vars() {
        if k.starts_with("MASTHEAD_") {
            c.env_remove(k);
        }
    }
    let mut child = c
        .env("MASTHEAD_LOG", "warn")
        .env("MASTHEAD_DATABASE_URL", database_url)
        .arg("--data")
        .arg(&app.state.config.data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn the_command_line_ingests_from_a_pipe_and_keeps_the_list() {
    let app = spawn_app().await;
    subscribers(&app).await;
    let url = app.database_url.clone();
    // The envelope recipient, as Postfix's pipe passes it, names the subscriber.
    // The binary runs on the real clock, not the test's.
    let real_now = masthead::clock::micros(jiff::Timestamp::now());
    let raw = fixture("exim-soft.eml", "bounces@news.example", "");
    let bounce = bounce_addr_at(&app, 1, real_now);
    let (code, out) = masthead(
        &app,
        &url,
        &["mail", "ingest", "--recipient", &bounce],
        &raw,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("soft bounce from gone@example.com"), "{out}");
    let raw = fixture("postfix-hard.eml", &bounce_addr_at(&app, 1, real_now), "");
    let (code, out) = masthead(&app, &url, &["mail", "ingest"], &raw);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        suppressed(&app, "gone@example.com").await.as_deref(),
        Some("hard_bounce")
    );
    // Not a bounce: handled (0) with a line saying so, so the server does
    // not bounce it.
    let (code, out) = masthead(
        &app,
        &url,
        &["mail", "ingest"],
        &fixture("not-a-bounce.eml", "", ""),
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not handled"), "{out}");
    // A database that does not answer: EX_TEMPFAIL, the server retries.
    let (code, out) = masthead(
        &app,
        "postgres://nobody@127.0.0.1:1/none",
        &["mail", "ingest"],
        &raw,
    );
    assert_eq!(code, 75, "{out}");

    // By hand.
    let (code, out) = masthead(
        &app,
        &url,
        &[
            "mail",
            "suppress",
            "Someone@Example.org",
            "--reason",
            "asked by phone",
        ],
        b"",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        suppressed(&app, "someone@example.org").await.as_deref(),
        Some("manual")
    );
    let (_, list) = masthead(&app, &url, &["mail", "suppressions"], b"");
    assert!(list.contains("someone@example.org\tmanual\t"), "{list}");
    assert!(list.contains("asked by phone") && list.contains("gone@example.com\thard_bounce"));
    assert!(list.contains("2 suppressed addresses"), "{list}");
    let (code, out) = masthead(
        &app,
        &url,
        &["mail", "unsuppress", "someone@example.org"],
        b"",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(suppressed(&app, "someone@example.org").await, None);
    let (code, out) = masthead(&app, &url, &["mail", "suppress", "not an address"], b"");
    assert_eq!(code, 1, "{out}");
}

#[tokio::test]
async fn unsuppressing_forgets_the_soft_bounces() {
    let app = spawn_app().await;
    let now = app.now();
    let mut tx = app.db.begin().await.unwrap();
    for day in 0..5 {
        bounces::record(
            tx.ex(),
            "x@example.com",
            bounces::EventKind::SoftBounce,
            "4.2.2",
            "mail",
            now + day * DAY,
        )
        .await
        .unwrap();
    }
    assert!(bounces::unsuppress(tx.ex(), "x@example.com").await.unwrap());
    let r = bounces::record(
        tx.ex(),
        "x@example.com",
        bounces::EventKind::SoftBounce,
        "4.2.2",
        "mail",
        now + 5 * DAY,
    )
    .await
    .unwrap();
    assert_eq!(r, bounces::Recorded::Noted);
    assert!(!bounces::unsuppress(tx.ex(), "x@example.com").await.unwrap());
    tx.commit().await.unwrap();
}

fn signed(body: &str, timestamp: i64) -> (String, String) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    (
        timestamp.to_string(),
        format!("v1={}", hex::encode(mac.finalize().into_bytes())),
    )
}

async fn post(app: &TestApp, body: &str, (ts, sig): (String, String)) -> (u16, serde_json::Value) {
    let r = app
        .client
        .post(format!("{}/webhooks/mail-events", app.base))
        .header("content-type", "application/json")
        .header("Masthead-Timestamp", ts)
        .header("Masthead-Signature", sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

#[tokio::test]
async fn the_webhook_is_signed_fresh_and_applied_once() {
    let off = spawn_app().await;
    let (status, _) = post(&off, "{}", signed("{}", 0)).await;
    assert_eq!(status, 404, "no secret, no route");

    let app = spawn_app_with(|l| Layer {
        mail_webhook_secret: Some(SECRET.into()),
        ..l
    })
    .await;
    let now = app.now() / 1_000_000;
    let body = r#"{"events":[
        {"type":"hard_bounce","email":"Gone@Example.com","detail":"550 5.1.1 user unknown","id":"evt-1"},
        {"type":"complaint","email":"angry@example.net","detail":"abuse","id":"evt-2"},
        {"type":"soft_bounce","email":"full@example.org","id":"evt-3"}
    ]}"#;

    // Forged: signed with another secret, or the body changed after signing.
    let mut mac = Hmac::<Sha256>::new_from_slice(b"another secret, at least 32 chars!").unwrap();
    mac.update(format!("{now}.{body}").as_bytes());
    let forged = (
        now.to_string(),
        format!("v1={}", hex::encode(mac.finalize().into_bytes())),
    );
    assert_eq!(post(&app, body, forged).await.0, 401);
    let changed = body.replace("evt-3", "evt-4");
    assert_eq!(post(&app, &changed, signed(body, now)).await.0, 401);
    // Replayed: a signature from ten minutes ago.
    assert_eq!(post(&app, body, signed(body, now - 600)).await.0, 401);
    assert!(events(&app).await.is_empty());

    let (status, answer) = post(&app, body, signed(body, now)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["applied"], 3);
    assert_eq!(answer["suppressed"], 2);
    assert_eq!(
        suppressed(&app, "gone@example.com").await.as_deref(),
        Some("hard_bounce")
    );
    assert_eq!(
        suppressed(&app, "angry@example.net").await.as_deref(),
        Some("complaint")
    );
    assert_eq!(suppressed(&app, "full@example.org").await, None);

    // Delivered again (freshly signed, as providers retry): nothing new.
    let (status, answer) = post(&app, body, signed(body, now + 30)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (answer["applied"].clone(), answer["duplicates"].clone()),
        (0.into(), 3.into())
    );
    assert_eq!(events(&app).await.len(), 3);

    // A bad event refuses the post and applies none of it.
    let bad = r#"{"events":[{"type":"soft_bounce","email":"a@example.com","id":"evt-9"},{"type":"bounced","email":"b@example.com","id":"evt-10"}]}"#;
    assert_eq!(post(&app, bad, signed(bad, now)).await.0, 400);
    let bad = r#"{"events":[{"type":"soft_bounce","email":"not an address","id":"evt-11"}]}"#;
    let (status, answer) = post(&app, bad, signed(bad, now)).await;
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("events[0].email"),
        "{answer}"
    );
    assert_eq!(events(&app).await.len(), 3);
}

#[tokio::test]
async fn admins_keep_the_list_on_a_page_with_csrf_forms() {
    use crate::accounts::{Browser, hidden};
    let app = spawn_app().await;
    let anon = app.get("/admin/mail/suppressions").await;
    assert_eq!(anon.status().as_u16(), 303);
    let mut b = Browser::new(&app);
    crate::accounts::register_and_confirm(&mut b, "desk@example.com", "/").await;
    assert_eq!(b.get("/admin/mail/suppressions").await.status, 403);
    {
        let mut c = app.db.write().await.unwrap();
        let email = masthead::domain::email::Email::parse("desk@example.com").unwrap();
        let m = masthead::db::members::by_email(c.ex(), &email)
            .await
            .unwrap()
            .unwrap();
        masthead::db::members::set_role(c.ex(), m.id, "admin")
            .await
            .unwrap();
    }
    let page = b.get("/admin/mail/suppressions").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("No address is suppressed"));
    let csrf = hidden(&page.body, "csrf");
    let add = [
        ("action", "add"),
        ("address", "Pat@Example.org"),
        ("reason", "asked <by> letter"),
    ];
    let forged = b
        .post(
            "/admin/mail/suppressions",
            &[add[0], add[1], add[2], ("csrf", "x")],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(suppressed(&app, "pat@example.org").await, None);
    let done = b
        .post(
            "/admin/mail/suppressions",
            &[add[0], add[1], add[2], ("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        suppressed(&app, "pat@example.org").await.as_deref(),
        Some("manual")
    );
    let page = b.get("/admin/mail/suppressions").await;
    assert!(page.body.contains("pat@example.org"));
    assert!(
        page.body.contains("asked &lt;by&gt; letter"),
        "the reason is escaped"
    );
    let removed = b
        .post(
            "/admin/mail/suppressions",
            &[
                ("action", "remove"),
                ("address", "pat@example.org"),
                ("csrf", csrf.as_str()),
            ],
        )
        .await;
    assert_eq!(removed.status, 303);
    assert_eq!(suppressed(&app, "pat@example.org").await, None);
}

#[tokio::test]
async fn a_bounce_for_a_removed_subscriber_falls_back_to_the_reported_address() {
    let app = spawn_app().await;
    subscribers(&app).await;
    let raw = fixture("postfix-hard.eml", &bounce_addr(&app, 99), "");
    let line = ingest(&app, &raw, app.now()).await;
    assert!(line.contains("hard bounce from gone@example.com"), "{line}");
    assert_eq!(
        suppressed(&app, "gone@example.com").await.as_deref(),
        Some("hard_bounce")
    );
}
