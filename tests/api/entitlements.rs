//! Entitlements granted and revoked from outside: the signed webhook
//! (`POST /api/entitlements/events`) driven over HTTP, its effect on a
//! member's meter, and the `masthead user grant` / `user revoke` commands.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use masthead::config::Layer;
use masthead::db::members;
use masthead::domain::email::Email;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::accounts::{Browser, Page, register_and_confirm};
use crate::helpers::*;

const SECRET: &str = "whsec-test-0123456789abcdef-0123456789";
const EMAIL: &str = "asha@example.com";

async fn spawn_with_secret() -> TestApp {
    spawn_app_with(|l| Layer {
        webhook_secret: Some(SECRET.into()),
        ..l
    })
    .await
}

fn signature(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Posts a raw body with these headers: (status, JSON answer).
async fn post(app: &TestApp, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app
        .client
        .post(format!("{}/api/entitlements/events", app.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text:?}"));
    (status, json)
}

/// Sends an event signed with `secret` at the app's present time.
async fn send_signed(app: &TestApp, secret: &str, event: &Value) -> (u16, Value) {
    let body = event.to_string();
    let ts = now_ts(app).as_second().to_string();
    let sig = signature(secret, &ts, &body);
    post(
        app,
        &body,
        &[("masthead-timestamp", &ts), ("masthead-signature", &sig)],
    )
    .await
}

async fn send(app: &TestApp, event: &Value) -> (u16, Value) {
    send_signed(app, SECRET, event).await
}

fn grant(id: &str, email: &str, source: &str, from: Timestamp, until: Timestamp) -> Value {
    json!({
        "id": id,
        "type": "entitlement.granted",
        "email": email,
        "source": source,
        "starts_at": from.to_string(),
        "valid_until": until.to_string(),
    })
}

/// A month's grant from now, from "stripe".
fn month_grant(app: &TestApp, id: &str) -> Value {
    let now = now_ts(app);
    grant(
        id,
        EMAIL,
        "stripe",
        now,
        now + SignedDuration::from_hours(30 * 24),
    )
}

fn status_of(answer: &Value) -> &str {
    answer["status"].as_str().unwrap_or_default()
}

/// A signed-in member who has read this month's ten free stories; the
/// eleventh address meets the wall.
async fn member_at_the_wall(app: &TestApp) -> (Browser<'_>, String) {
    let f = fixture(app).await;
    let mut urls = metered_stories(app, &f, 11).await;
    let mut b = Browser::new(app);
    register_and_confirm(&mut b, EMAIL, "/").await;
    let eleventh = urls.pop().unwrap();
    for u in &urls {
        let p = b.get(u).await;
        assert!(p.body.contains(LINE_PAST_THE_CUT), "{u}");
    }
    assert!(meets_the_wall(&b.get(&eleventh).await));
    (b, eleventh)
}

/// The whole story, and no meter: what a subscriber gets.
fn reads_in_full(p: &Page) -> bool {
    p.status == 200 && p.body.contains(LINE_PAST_THE_CUT) && !p.body.contains("free stories left")
}

fn meets_the_wall(p: &Page) -> bool {
    p.status == 200
        && !p.body.contains(LINE_PAST_THE_CUT)
        && p.body
            .contains("You have read your 10 free stories this month")
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    member_id: i64,
    source: String,
    starts_at: i64,
    valid_until: i64,
    event_id: String,
    revoked_at: Option<i64>,
}

/// Every row of the entitlements table, oldest first.
async fn rows(app: &TestApp) -> Vec<Row> {
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_all!(
        c.ex(),
        Row,
        "select member_id, source, starts_at, valid_until, event_id, revoked_at from entitlements order by id"
    )
    .unwrap()
}

async fn member_id(app: &TestApp, email: &str) -> i64 {
    let mut c = app.db.read().await.unwrap();
    members::by_email(c.ex(), &Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn a_signed_grant_lifts_the_meter_of_a_member_at_the_wall() {
    let app = spawn_with_secret().await;
    let (mut b, eleventh) = member_at_the_wall(&app).await;
    let (status, answer) = send(&app, &month_grant(&app, "evt_1")).await;
    assert_eq!((status, status_of(&answer)), (200, "granted"), "{answer}");
    assert!(reads_in_full(&b.get(&eleventh).await));
    let rows = rows(&app).await;
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.member_id, member_id(&app, EMAIL).await);
    assert_eq!(
        (r.source.as_str(), r.event_id.as_str()),
        ("stripe", "evt_1")
    );
    assert_eq!(r.starts_at, app.now());
    assert_eq!(r.valid_until - r.starts_at, 30 * 24 * 3_600_000_000);
    assert_eq!(r.revoked_at, None);
}

#[tokio::test]
async fn the_same_event_delivered_twice_changes_nothing_the_second_time() {
    let app = spawn_with_secret().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, EMAIL, "/").await;
    let first = month_grant(&app, "evt_1");
    assert_eq!(status_of(&send(&app, &first).await.1), "granted");
    let before = rows(&app).await;
    // A redelivery, even with changed fields, is recognised by its id.
    let mut again = first.clone();
    again["valid_until"] = json!("2030-01-01T00:00:00Z");
    for event in [&first, &again] {
        let (status, answer) = send(&app, event).await;
        assert_eq!((status, status_of(&answer)), (200, "duplicate"), "{answer}");
    }
    let after = rows(&app).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].valid_until, before[0].valid_until);
}

#[tokio::test]
async fn events_with_a_wrong_or_missing_signature_are_refused_with_401() {
    let app = spawn_with_secret().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, EMAIL, "/").await;
    let event = month_grant(&app, "evt_forged");
    let body = event.to_string();
    let ts = now_ts(&app).as_second().to_string();
    let good = signature(SECRET, &ts, &body);
    let other_secret = signature("another-secret-of-thirty-two-characters", &ts, &body);
    let tampered = body.replace("stripe", "strife");
    /// What is wrong, the body sent, the headers sent.
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (
            "signed with another secret",
            body.clone(),
            vec![
                ("masthead-timestamp", &ts),
                ("masthead-signature", &other_secret),
            ],
        ),
        (
            "a body changed after signing",
            tampered,
            vec![("masthead-timestamp", &ts), ("masthead-signature", &good)],
        ),
        (
            "no signature",
            body.clone(),
            vec![("masthead-timestamp", &ts)],
        ),
        (
            "no timestamp",
            body.clone(),
            vec![("masthead-signature", &good)],
        ),
        (
            "a bare hex signature",
            body.clone(),
            vec![
                ("masthead-timestamp", &ts),
                ("masthead-signature", good.trim_start_matches("v1=")),
            ],
        ),
        ("no headers", body.clone(), vec![]),
    ];
    for (what, body, headers) in &cases {
        let (status, answer) = post(&app, body, headers).await;
        assert_eq!(status, 401, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "unauthorized", "{what}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {answer}"
        );
    }
    assert!(rows(&app).await.is_empty(), "nothing was granted");
    // The untouched request is accepted.
    let (status, _) = post(
        &app,
        &body,
        &[("masthead-timestamp", &ts), ("masthead-signature", &good)],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_event_signed_more_than_five_minutes_from_the_clock_is_refused() {
    let app = spawn_with_secret().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, EMAIL, "/").await;
    let signed_now = |id: &str| {
        let body = month_grant(&app, id).to_string();
        let ts = now_ts(&app).as_second().to_string();
        let sig = signature(SECRET, &ts, &body);
        (body, ts, sig)
    };
    // Captured and replayed six minutes later.
    let (body, ts, sig) = signed_now("evt_stale");
    app.clock.advance(SignedDuration::from_mins(6));
    let headers = [
        ("masthead-timestamp", ts.as_str()),
        ("masthead-signature", &sig),
    ];
    let (status, answer) = post(&app, &body, &headers).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["code"], "unauthorized");
    // A sender whose clock runs six minutes ahead.
    let (body, ts, sig) = signed_now("evt_early");
    app.clock.advance(SignedDuration::from_mins(-6));
    let headers = [
        ("masthead-timestamp", ts.as_str()),
        ("masthead-signature", &sig),
    ];
    assert_eq!(post(&app, &body, &headers).await.0, 401);
    assert!(rows(&app).await.is_empty());
    // Four minutes late is within the tolerance.
    let (body, ts, sig) = signed_now("evt_late");
    app.clock.advance(SignedDuration::from_mins(4));
    let headers = [
        ("masthead-timestamp", ts.as_str()),
        ("masthead-signature", &sig),
    ];
    assert_eq!(post(&app, &body, &headers).await.0, 200);
}

#[tokio::test]
async fn a_revoke_naming_the_grant_brings_the_wall_back() {
    let app = spawn_with_secret().await;
    let (mut b, eleventh) = member_at_the_wall(&app).await;
    assert_eq!(
        status_of(&send(&app, &month_grant(&app, "evt_g")).await.1),
        "granted"
    );
    assert!(reads_in_full(&b.get(&eleventh).await));
    let revoke = json!({
        "id": "evt_r",
        "type": "entitlement.revoked",
        "email": EMAIL,
        "entitlement_event": "evt_g",
    });
    let (status, answer) = send(&app, &revoke).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({ "status": "revoked", "revoked": 1 }));
    assert!(meets_the_wall(&b.get(&eleventh).await));
    // The revoke's redelivery, and the grant's, change nothing.
    assert_eq!(status_of(&send(&app, &revoke).await.1), "duplicate");
    assert_eq!(
        status_of(&send(&app, &month_grant(&app, "evt_g")).await.1),
        "duplicate"
    );
    assert!(meets_the_wall(&b.get(&eleventh).await));
}

#[tokio::test]
async fn a_revoke_by_source_ends_that_source_and_leaves_the_others() {
    let app = spawn_with_secret().await;
    let (mut b, eleventh) = member_at_the_wall(&app).await;
    let now = now_ts(&app);
    let year = now + SignedDuration::from_hours(365 * 24);
    for (id, source) in [
        ("evt_s1", "stripe"),
        ("evt_s2", "stripe"),
        ("evt_p", "partner"),
    ] {
        let (_, answer) = send(&app, &grant(id, EMAIL, source, now, year)).await;
        assert_eq!(status_of(&answer), "granted");
    }
    let by_source = |id: &str, source: &str| json!({ "id": id, "type": "entitlement.revoked", "email": EMAIL, "source": source });
    let (_, answer) = send(&app, &by_source("evt_r1", "stripe")).await;
    assert_eq!(answer["revoked"], 2, "{answer}");
    assert!(
        reads_in_full(&b.get(&eleventh).await),
        "the partner's remains"
    );
    let (_, answer) = send(&app, &by_source("evt_r2", "partner")).await;
    assert_eq!(answer["revoked"], 1, "{answer}");
    assert!(meets_the_wall(&b.get(&eleventh).await));
    // A revoke that names neither a grant nor a source is refused.
    let vague = json!({ "id": "evt_r3", "type": "entitlement.revoked", "email": EMAIL });
    assert_eq!(send(&app, &vague).await.0, 400);
}

#[tokio::test]
async fn a_revoke_that_arrives_before_its_grant_keeps_the_grant_from_granting() {
    let app = spawn_with_secret().await;
    let (mut b, eleventh) = member_at_the_wall(&app).await;
    let revoke = json!({
        "id": "evt_r",
        "type": "entitlement.revoked",
        "email": EMAIL,
        "entitlement_event": "evt_late_grant",
    });
    let (status, answer) = send(&app, &revoke).await;
    assert_eq!(
        (status, answer["revoked"].as_i64()),
        (200, Some(0)),
        "{answer}"
    );
    let (status, answer) = send(&app, &month_grant(&app, "evt_late_grant")).await;
    assert_eq!((status, status_of(&answer)), (200, "duplicate"), "{answer}");
    assert!(meets_the_wall(&b.get(&eleventh).await));
}

#[tokio::test]
async fn an_entitlement_starts_on_time_and_an_expired_one_meters_again() {
    let app = spawn_with_secret().await;
    let (mut b, eleventh) = member_at_the_wall(&app).await;
    let now = now_ts(&app);
    let day = SignedDuration::from_hours(24);
    let event = grant("evt_1", EMAIL, "stripe", now + day, now + day * 3);
    assert_eq!(status_of(&send(&app, &event).await.1), "granted");
    assert!(meets_the_wall(&b.get(&eleventh).await), "not started yet");
    app.clock.advance(day + SignedDuration::from_mins(1));
    assert!(reads_in_full(&b.get(&eleventh).await));
    app.clock.advance(day * 2);
    assert!(meets_the_wall(&b.get(&eleventh).await), "expired");
}

#[tokio::test]
async fn an_event_for_an_address_without_an_account_is_accepted_and_changes_nothing() {
    let app = spawn_with_secret().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, EMAIL, "/").await;
    let now = now_ts(&app);
    let event = grant(
        "evt_stranger",
        "stranger@example.com",
        "stripe",
        now,
        now + SignedDuration::from_hours(24),
    );
    let (status, answer) = send(&app, &event).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer, json!({ "status": "no_member" }));
    let revoke = json!({
        "id": "evt_stranger_r",
        "type": "entitlement.revoked",
        "email": "stranger@example.com",
        "source": "stripe",
    });
    assert_eq!(
        send(&app, &revoke).await,
        (202, json!({ "status": "no_member" }))
    );
    assert!(rows(&app).await.is_empty());
}

#[tokio::test]
async fn malformed_events_are_refused_with_a_reason() {
    let app = spawn_with_secret().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, EMAIL, "/").await;
    let good = month_grant(&app, "evt_1");
    let with = |key: &str, value: Value| {
        let mut e = good.clone();
        e[key] = value;
        e
    };
    let without = |key: &str| {
        let mut e = good.clone();
        e.as_object_mut().unwrap().remove(key);
        e
    };
    let cases = [
        ("an unknown type", with("type", json!("entitlement.paused"))),
        (
            "an end before the start",
            with("valid_until", good["starts_at"].clone()),
        ),
        (
            "a time without an offset",
            with("valid_until", json!("2030-01-01T00:00:00")),
        ),
        ("a bad address", with("email", json!("not an address"))),
        ("an empty id", with("id", json!(" "))),
        ("no source", without("source")),
        ("no valid_until", without("valid_until")),
        ("no id", without("id")),
    ];
    for (what, event) in &cases {
        let (status, answer) = send(&app, event).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "bad_request", "{what}");
    }
    // Not JSON at all, though correctly signed.
    let ts = now_ts(&app).as_second().to_string();
    let sig = signature(SECRET, &ts, "grant please");
    let headers = [
        ("masthead-timestamp", ts.as_str()),
        ("masthead-signature", &sig),
    ];
    assert_eq!(post(&app, "grant please", &headers).await.0, 400);
    // A body over 64 KiB is not read.
    let big = with("padding", json!("x".repeat(70 * 1024))).to_string();
    let sig = signature(SECRET, &ts, &big);
    let headers = [
        ("masthead-timestamp", ts.as_str()),
        ("masthead-signature", &sig),
    ];
    let (status, answer) = post(&app, &big, &headers).await;
    assert_eq!(status, 413, "{answer}");
    // Only POST.
    let r = app.get("/api/entitlements/events").await;
    assert_eq!(r.status().as_u16(), 405);
    assert!(rows(&app).await.is_empty());
}

#[tokio::test]
async fn without_a_webhook_secret_the_route_answers_404() {
    let app = spawn_app().await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, EMAIL, "/").await;
    let (status, answer) = send(&app, &month_grant(&app, "evt_1")).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], "not_found");
    assert_eq!(
        app.get("/api/entitlements/events").await.status().as_u16(),
        404
    );
    assert!(rows(&app).await.is_empty());
}

/// The binary over a SQLite data folder of its own (the command line is the
/// same on both backends; the queries it runs are tested above).
fn masthead(data: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String) {
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
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn the_command_line_grants_to_the_end_of_a_day_in_the_publication_zone_and_revokes() {
    use masthead::db::{Db, settings};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (ok, out) = masthead(
        data,
        &["user", "create", "--email", EMAIL],
        "a long enough password\n",
    );
    assert!(ok, "{out}");
    let db = Db::open_sqlite(&data.join("masthead.db"), "cli.db")
        .await
        .unwrap();
    {
        let mut c = db.write().await.unwrap();
        let publication = settings::Publication {
            time_zone: "Asia/Kolkata".into(),
            ..Default::default()
        };
        settings::put(c.ex(), "publication", &publication)
            .await
            .unwrap();
    }
    let (ok, out) = masthead(
        data,
        &[
            "user",
            "grant",
            "--email",
            EMAIL,
            "--from",
            "2099-01-01",
            "--until",
            "2099-01-31",
        ],
        "",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "asha@example.com can read everything from the start of 2099-01-01 until the end of 2099-01-31 (Asia/Kolkata)"
        ),
        "{out}"
    );
    let read = |db: &Db| {
        let db = db.clone();
        async move {
            let mut c = db.read().await.unwrap();
            masthead::fetch_all!(
                c.ex(),
                Row,
                "select member_id, source, starts_at, valid_until, event_id, revoked_at from entitlements order by id"
            )
            .unwrap()
        }
    };
    let rows = read(&db).await;
    assert_eq!(rows.len(), 1);
    let micros = |t: &str| masthead::clock::micros(t.parse::<Timestamp>().unwrap());
    // Midnight in India is 18:30 UTC the day before.
    assert_eq!(rows[0].starts_at, micros("2098-12-31T18:30:00Z"));
    assert_eq!(rows[0].valid_until, micros("2099-01-31T18:30:00Z"));
    assert_eq!(rows[0].source, "admin");
    assert!(rows[0].event_id.starts_with("cli-"), "{}", rows[0].event_id);
    for (args, says) in [
        (
            vec!["user", "grant", "--email", EMAIL, "--until", "2001-01-31"],
            "already past",
        ),
        (
            vec!["user", "grant", "--email", EMAIL, "--until", "31/01/2099"],
            "YYYY-MM-DD",
        ),
        (
            vec![
                "user",
                "grant",
                "--email",
                "nobody@example.com",
                "--until",
                "2099-01-31",
            ],
            "has no account",
        ),
    ] {
        let (ok, out) = masthead(data, &args, "");
        assert!(!ok && out.contains(says), "{args:?}: {out}");
    }
    let (ok, out) = masthead(
        data,
        &["user", "revoke", "--email", EMAIL, "--source", "stripe"],
        "",
    );
    assert!(
        ok && out.contains("no current entitlements from stripe"),
        "{out}"
    );
    let (ok, out) = masthead(data, &["user", "revoke", "--email", EMAIL], "");
    assert!(
        ok && out.contains("Ended 1 current entitlement of"),
        "{out}"
    );
    let rows = read(&db).await;
    assert!(rows[0].revoked_at.is_some());
    db.close().await;
}
