//! Sending newsletter issues: the mail each kind of reader gets, its
//! headers, who is skipped, idempotent starts and expansion, a real SMTP
//! server (also one that is down for a while), DKIM, and the crash test:
//! the sending process killed with SIGKILL at several points, then run
//! again, misses no one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use masthead::db::members;
use masthead::domain::email::Email;
use masthead::mail::Transport;
use masthead::newsletters::issues::{self, Draft};
use masthead::newsletters::send::Sender;
use masthead::{execute, fetch_optional};

use crate::helpers::*;
use crate::mail::SmtpServer;

/// A newsletter row; answers its id.
pub(crate) async fn add_newsletter(app: &TestApp, slug: &str, kind: &str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct Id {
        id: i64,
    }
    let mut c = app.db.write().await.unwrap();
    fetch_optional!(
        c.ex(),
        Id,
        "insert into newsletters (slug, name, description, kind, created_at, from_name, reply_to, schedule) \
         values ($1, $2, 'The news before breakfast.', $3, $4, '', 'desk@news.example', 'Every weekday at 6 am') returning id",
        slug,
        format!("The {slug}"),
        kind,
        app.now()
    )
    .unwrap()
    .unwrap()
    .id
}

/// A subscriber with an active subscription; answers the subscriber id.
pub(crate) async fn add_subscriber(
    app: &TestApp,
    newsletter: i64,
    email: &str,
    member_id: Option<i64>,
) -> i64 {
    #[derive(sqlx::FromRow)]
    struct Id {
        id: i64,
    }
    let mut c = app.db.write().await.unwrap();
    let id = fetch_optional!(
        c.ex(),
        Id,
        "insert into subscribers (email, email_normalized, member_id, created_at) values ($1, $2, $3, $4) \
         on conflict (email_normalized) do update set member_id = excluded.member_id returning id",
        email,
        email.to_lowercase(),
        member_id,
        app.now()
    )
    .unwrap()
    .unwrap()
    .id;
    execute!(
        c.ex(),
        "insert into newsletter_subscriptions (newsletter_id, subscriber_id, state, source, created_at, confirmed_at, updated_at) \
         values ($1, $2, 'active', 'test', $3, $3, $3)",
        newsletter,
        id,
        app.now()
    )
    .unwrap();
    id
}

async fn add_member(app: &TestApp, email: &str, subscriber: bool) -> i64 {
    let mut c = app.db.write().await.unwrap();
    let id = members::insert(
        c.ex(),
        &Email::parse(email).unwrap(),
        "Reader",
        None,
        "member",
        app.now(),
    )
    .await
    .unwrap()
    .unwrap();
    if subscriber {
        members::grant_entitlement(
            c.ex(),
            id,
            "test",
            app.now() - 1_000_000,
            app.now() + 86_400_000_000 * 30,
            &format!("ev-{id}"),
            app.now(),
        )
        .await
        .unwrap();
    }
    id
}

async fn compose(app: &TestApp, newsletter: i64, stories: Vec<i64>) -> i64 {
    let mut d = Draft {
        subject: "Monday's briefing".into(),
        intro: "Good morning.\n\nHere is the news.".into(),
        stories,
    };
    d.check().unwrap();
    let mut c = app.db.write().await.unwrap();
    issues::create(c.ex(), newsletter, &d, None, app.now())
        .await
        .unwrap()
}

async fn start(app: &TestApp, issue: i64) -> bool {
    let mut c = app.db.write().await.unwrap();
    issues::start(c.ex(), issue, app.now()).await.unwrap()
}

fn sender(app: &TestApp, transport: Transport) -> Sender {
    Sender::for_state(&app.state, transport).unwrap()
}

async fn send_all(sender: &Sender) {
    for _ in 0..1000 {
        let r = sender.step().await.unwrap();
        if !r.busy() && r.claimed == 0 {
            return;
        }
    }
    panic!("the send did not settle");
}

async fn progress(app: &TestApp, issue: i64) -> issues::Progress {
    let mut c = app.db.read().await.unwrap();
    issues::progress(c.ex(), issue).await.unwrap().unwrap()
}

/// The stories of the tests: a free one and a subscribers-only one whose
/// fourth paragraph is past the cut.
async fn two_stories(app: &TestApp) -> (i64, i64) {
    let f = fixture(app).await;
    let spec = |headline, level| StorySpec {
        section: f.india,
        headline,
        level,
        published_at: app.now() - 3_600_000_000,
        updated_at: None,
        body: paragraphs(if level == "free" { 3 } else { 6 }),
        lead: None,
        authors: vec![f.reporter],
        topics: vec![],
        status: "published",
    };
    let free = add_story(app, spec("Rain returns to the plains", "free")).await;
    let walled = add_story(app, spec("Inside the budget talks", "subscribers")).await;
    (free, walled)
}

/// A header's value, unfolded (continuation lines joined).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or("");
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.split("\r\n").find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name)
            .then(|| v.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

/// The message's text decoded from its transfer encodings (quoted-printable
/// or base64 parts), for looking for words in it.
fn decoded(raw: &str) -> String {
    let parsed = mail_text(raw);
    format!("{raw}\n{parsed}")
}

fn mail_text(raw: &str) -> String {
    // Undo quoted-printable soft breaks and escapes; base64 parts decoded whole.
    let mut out = String::new();
    for part in raw.split("\r\n\r\n") {
        let compact: String = part.split("\r\n").collect::<Vec<_>>().join("");
        if let Ok(bytes) = base64_decode(&compact) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    let qp = raw.replace("=\r\n", "");
    let mut bytes = Vec::new();
    let b = qp.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            bytes.push(v);
            i += 3;
            continue;
        }
        bytes.push(b[i]);
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}

fn base64_decode(s: &str) -> Result<Vec<u8>, ()> {
    use base64::Engine;
    if s.len() < 16
        || !s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=')
    {
        return Err(());
    }
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| ())
}

#[tokio::test]
async fn each_kind_of_reader_gets_one_mail_with_the_list_headers_and_what_they_may_read() {
    let app = spawn_app().await;
    let (free, walled) = two_stories(&app).await;
    let nl = add_newsletter(&app, "briefing", "editorial").await;
    let paying = add_member(&app, "paying@example.com", true).await;
    let member = add_member(&app, "member@example.com", false).await;
    add_subscriber(&app, nl, "paying@example.com", Some(paying)).await;
    add_subscriber(&app, nl, "member@example.com", Some(member)).await;
    let guest = add_subscriber(&app, nl, "guest@example.org", None).await;
    let issue = compose(&app, nl, vec![free, walled]).await;
    assert!(start(&app, issue).await);
    assert!(!start(&app, issue).await, "a second click starts nothing");

    let (transport, sent) = Transport::memory();
    send_all(&sender(&app, transport)).await;
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 3, "one mail per recipient");
    let p = progress(&app, issue).await;
    assert_eq!(
        (p.state.as_str(), p.sent, p.waiting, p.recipients),
        ("sent", 3, 0, 3)
    );

    let by_to: HashMap<String, String> = sent
        .iter()
        .map(|m| (m.to[0].clone(), m.raw.clone()))
        .collect();
    for (to, raw) in &by_to {
        let unsub = header(raw, "List-Unsubscribe").unwrap_or_else(|| panic!("{raw}"));
        assert!(
            unsub.starts_with("<https://news.example/email/unsubscribe/"),
            "{unsub}"
        );
        assert!(unsub.contains("<mailto:bounces+"), "{unsub}");
        assert_eq!(
            header(raw, "List-Unsubscribe-Post").as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        assert_eq!(
            header(raw, "List-Id").as_deref(),
            Some("The briefing <briefing.news.example>")
        );
        assert_eq!(
            header(raw, "Reply-To").as_deref(),
            Some("desk@news.example")
        );
        assert!(raw.contains("multipart/alternative"), "{to}");
        assert!(
            raw.contains("text/plain") && raw.contains("text/html"),
            "{to}"
        );
        let text = decoded(raw);
        assert!(
            text.contains("Rain returns to the plains") && text.contains("Inside the budget talks")
        );
        assert!(
            text.contains("https://news.example/email/preferences/"),
            "{to}"
        );
        assert!(
            !text.contains("MASTHEAD_"),
            "every marker is filled in: {to}"
        );
    }
    // Text past the cut of the subscribers' story reaches the subscriber only.
    assert!(decoded(&by_to["paying@example.com"]).contains(LINE_PAST_THE_CUT));
    for to in ["member@example.com", "guest@example.org"] {
        let text = decoded(&by_to[to]);
        assert!(text.contains("For subscribers"), "{to}");
        assert!(
            text.contains("Paragraph 1 of the story"),
            "the teaser is there: {to}"
        );
        assert!(
            !text.contains(LINE_PAST_THE_CUT),
            "text past the cut in the mail to {to}"
        );
    }
    // The envelope's sender names the recipient (VERP), and a Message-ID is
    // stable per (issue, recipient).
    let guest_mail = sent
        .iter()
        .find(|m| m.to[0] == "guest@example.org")
        .unwrap();
    let mid = header(&guest_mail.raw, "Message-ID").unwrap();
    assert!(
        mid.starts_with(&format!("<{issue}.")) && mid.ends_with("@news.example>"),
        "{mid}"
    );
    assert!(guest > 0);
}

#[tokio::test]
async fn expansion_is_batched_and_idempotent_and_skips_who_left_before_their_turn() {
    let app = spawn_app().await;
    let (free, _) = two_stories(&app).await;
    let nl = add_newsletter(&app, "digest", "editorial").await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(add_subscriber(&app, nl, &format!("r{i}@example.com"), None).await);
    }
    // Someone unsubscribed long ago is not copied at all.
    {
        let mut c = app.db.write().await.unwrap();
        execute!(
            c.ex(),
            "update newsletter_subscriptions set state = 'unsubscribed' where subscriber_id = $1",
            ids[0]
        )
        .unwrap();
    }
    let issue = compose(&app, nl, vec![free]).await;
    assert!(start(&app, issue).await);
    // Batches of 10: 10, 10, then the last 4 and done.
    let mut batches = Vec::new();
    loop {
        let (added, done) = issues::expand_batch(&app.db, issue, 10, app.now())
            .await
            .unwrap();
        batches.push(added);
        if done {
            break;
        }
    }
    assert_eq!(batches, vec![10, 10, 4]);
    assert_eq!(progress(&app, issue).await.recipients, 24);
    // Once done, a repeat (another worker, a restart) adds no one; and a
    // cursor put back as if a crash lost its move copies no one twice.
    assert_eq!(
        issues::expand_batch(&app.db, issue, 10, app.now())
            .await
            .unwrap(),
        (0, true)
    );
    {
        let mut c = app.db.write().await.unwrap();
        execute!(
            c.ex(),
            "update newsletter_issues set expanded_through = 0, expanded_at = null where id = $1",
            issue
        )
        .unwrap();
    }
    while !issues::expand_batch(&app.db, issue, 10, app.now())
        .await
        .unwrap()
        .1
    {}
    assert_eq!(progress(&app, issue).await.recipients, 24);

    // After expansion: one unsubscribes, one hard-bounces elsewhere.
    {
        let mut c = app.db.write().await.unwrap();
        execute!(
            c.ex(),
            "update newsletter_subscriptions set state = 'unsubscribed' where subscriber_id = $1",
            ids[1]
        )
        .unwrap();
        execute!(c.ex(), "insert into mail_suppressions (email_normalized, reason, created_at) values ('r2@example.com', 'hard_bounce', 0)").unwrap();
    }
    let (transport, sent) = Transport::memory();
    send_all(&sender(&app, transport)).await;
    let p = progress(&app, issue).await;
    assert_eq!(
        (p.sent, p.skipped, p.waiting, p.state.as_str()),
        (22, 2, 0, "sent")
    );
    let to: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.to[0].clone())
        .collect();
    assert!(
        !to.contains(&"r1@example.com".to_string()) && !to.contains(&"r2@example.com".to_string())
    );
}

#[tokio::test]
async fn offers_go_only_to_readers_whose_consent_is_in_force() {
    let app = spawn_app().await;
    let (free, _) = two_stories(&app).await;
    let nl = add_newsletter(&app, "offers", "offers").await;
    let yes = add_subscriber(&app, nl, "yes@example.com", None).await;
    let withdrawn = add_subscriber(&app, nl, "withdrawn@example.com", None).await;
    add_subscriber(&app, nl, "never@example.com", None).await;
    {
        let mut c = app.db.write().await.unwrap();
        for (s, granted) in [(yes, true), (withdrawn, true), (withdrawn, false)] {
            execute!(c.ex(), "insert into consents (subscriber_id, purpose, granted, words, source, created_at) values ($1, 'offers', $2, 'Send me offers', 'test', $3)", s, granted, app.now()).unwrap();
        }
    }
    {
        let mut c = app.db.read().await.unwrap();
        assert_eq!(issues::audience(c.ex(), nl).await.unwrap(), 1);
    }
    let issue = compose(&app, nl, vec![free]).await;
    start(&app, issue).await;
    let (transport, sent) = Transport::memory();
    send_all(&sender(&app, transport)).await;
    let to: Vec<String> = sent
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.to[0].clone())
        .collect();
    assert_eq!(to, vec!["yes@example.com".to_string()]);
}

#[tokio::test]
async fn a_cancelled_issue_stops_and_a_scheduled_one_starts_on_time() {
    let app = spawn_app().await;
    let (free, _) = two_stories(&app).await;
    let nl = add_newsletter(&app, "weekly", "editorial").await;
    add_subscriber(&app, nl, "a@example.com", None).await;
    let issue = compose(&app, nl, vec![free]).await;
    {
        let mut c = app.db.write().await.unwrap();
        assert!(
            issues::schedule(c.ex(), issue, app.now() + 3_600_000_000, app.now())
                .await
                .unwrap()
        );
    }
    let (transport, sent) = Transport::memory();
    let s = sender(&app, transport);
    send_all(&s).await;
    assert_eq!(sent.lock().unwrap().len(), 0, "not before its time");
    app.clock.advance(jiff::SignedDuration::from_secs(3601));
    send_all(&s).await;
    assert_eq!(sent.lock().unwrap().len(), 1);
    assert_eq!(progress(&app, issue).await.state, "sent");

    let second = compose(&app, nl, vec![free]).await;
    let mut c = app.db.write().await.unwrap();
    assert!(issues::cancel(c.ex(), second, app.now()).await.unwrap());
    assert!(
        !issues::start(c.ex(), second, app.now()).await.unwrap(),
        "a cancelled issue cannot start"
    );
}

/// A DKIM key for the tests: an Ed25519 key as base64 (32 random bytes).
fn dkim_key(dir: &Path) -> PathBuf {
    use base64::Engine;
    let file = dir.join("dkim.key");
    std::fs::write(
        &file,
        base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
    )
    .unwrap();
    file
}

#[tokio::test]
async fn a_real_smtp_server_receives_signed_mail_and_a_server_that_is_down_delays_the_send() {
    let keydir = tempfile::tempdir().unwrap();
    let key = dkim_key(keydir.path());
    // First the server is down: a port nothing listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let app = spawn_app_with(|l| masthead::config::Layer {
        dkim_key_file: Some(key.clone()),
        dkim_selector: Some("mail2026".into()),
        bounce_address: Some("bounces@mail.news.example".into()),
        ..l
    })
    .await;
    let (free, _) = two_stories(&app).await;
    let nl = add_newsletter(&app, "briefing", "editorial").await;
    for i in 0..5 {
        add_subscriber(&app, nl, &format!("reader{i}@example.com"), None).await;
    }
    let issue = compose(&app, nl, vec![free]).await;
    start(&app, issue).await;

    let down = Transport::smtp(
        &url::Url::parse(&format!("smtp://127.0.0.1:{dead_port}?tls=none")).unwrap(),
    )
    .unwrap();
    let s = sender(&app, down);
    assert!(s.signs());
    let r = s.step().await.unwrap();
    assert!(r.unavailable && r.sent == 0, "{r:?}");
    let p = progress(&app, issue).await;
    assert_eq!(
        (p.sent, p.failed, p.waiting),
        (0, 0, 5),
        "nothing is lost while the server is down"
    );

    // The server comes up; after the pause every reader gets the issue.
    let server = SmtpServer::start("aiosmtpd.handlers.Mailbox").await;
    let up = Transport::smtp(
        &url::Url::parse(&format!("smtp://127.0.0.1:{}?tls=none", server.port)).unwrap(),
    )
    .unwrap();
    let s = sender(&app, up);
    app.clock.advance(jiff::SignedDuration::from_secs(120));
    send_all(&s).await;
    let p = progress(&app, issue).await;
    assert_eq!(
        (p.sent, p.failed, p.waiting, p.state.as_str()),
        (5, 0, 0, "sent")
    );
    let files = server.received();
    assert_eq!(files.len(), 5);
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    let raw = raw.replace("\r\n", "\n").replace('\n', "\r\n");
    let dkim = header(&raw, "DKIM-Signature").unwrap_or_else(|| panic!("{raw}"));
    assert!(
        dkim.contains("s=mail2026") && dkim.contains("d=news.example"),
        "{dkim}"
    );
    assert!(
        dkim.contains("list-unsubscribe-post") || dkim.contains("List-Unsubscribe-Post"),
        "{dkim}"
    );
    // aiosmtpd records the envelope's sender (the return path) as X-MailFrom:
    // a per-recipient bounce address that the bounce handling can verify.
    let return_path = header(&raw, "X-MailFrom").unwrap_or_else(|| panic!("{raw}"));
    let token = return_path
        .strip_prefix("bounces+")
        .and_then(|t| t.strip_suffix("@mail.news.example"))
        .unwrap_or_else(|| panic!("{return_path}"));
    let named = masthead::newsletters::tokens::verify(
        &app.state.keys,
        masthead::newsletters::tokens::Purpose::Bounce,
        token,
        app.now(),
    )
    .unwrap();
    assert_eq!(named.newsletter_id, Some(nl));
}

/// An SMTP server that records every message's Message-ID, one per line,
/// as soon as it accepts it: the crash test counts from this file.
const COUNTING_SERVER: &str = r#"
import sys, asyncio
from aiosmtpd.controller import Controller
from email.parser import BytesHeaderParser

class Counting:
    def __init__(self, path):
        self.f = open(path, 'a', buffering=1)
    async def handle_DATA(self, server, session, envelope):
        h = BytesHeaderParser().parsebytes(envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.f.write(f"{h['Message-ID']} {rcpt}\n")
        self.f.flush()
        return '250 OK'

port, path = int(sys.argv[1]), sys.argv[2]
c = Controller(Counting(path), hostname='127.0.0.1', port=port)
c.start()
print('ready', flush=True)
asyncio.get_event_loop().run_forever()
"#;

fn counted(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .collect()
}

/// Sends an issue to 300 readers with `masthead newsletter send`, killing
/// the process with SIGKILL three times as messages arrive, each time
/// running it again; then counts what the server received.
#[tokio::test]
async fn a_sender_killed_three_times_misses_no_one_and_repeats_at_most_one_per_kill() {
    let app = spawn_app().await;
    let (free, walled) = two_stories(&app).await;
    let nl = add_newsletter(&app, "briefing", "editorial").await;
    let total = 300;
    for i in 0..total {
        add_subscriber(&app, nl, &format!("reader{i:03}@example.com"), None).await;
    }
    let issue = compose(&app, nl, vec![free, walled]).await;

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("counting.py"), COUNTING_SERVER).unwrap();
    let log = dir.path().join("received.txt");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut server = tokio::process::Command::new("python3")
        .arg(dir.path().join("counting.py"))
        .arg(port.to_string())
        .arg(&log)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(server.stdout.take().unwrap()).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ready"));
    }
    let data = tempfile::tempdir().unwrap();
    let send = || {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_masthead"));
        for (k, _) in std::env::vars() {
            if k.starts_with("MASTHEAD_") {
                c.env_remove(k);
            }
        }
        c.env("MASTHEAD_LOG", "warn")
            .env("MASTHEAD_DATABASE_URL", &app.database_url)
            .env("MASTHEAD_PUBLIC_URL", "https://news.example")
            .env(
                "MASTHEAD_SECRET_KEY",
                "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
            )
            .env(
                "MASTHEAD_SMTP_URL",
                format!("smtp://127.0.0.1:{port}?tls=none"),
            )
            .args([
                "newsletter",
                "send",
                &issue.to_string(),
                "--lease-secs",
                "2",
                "--batch",
                "20",
                "--data",
            ])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        c.spawn().unwrap()
    };
    let kills_at = [40, 130, 220];
    for at in kills_at {
        let mut child = send();
        let mut waited = 0;
        while counted(&log).len() < at {
            tokio::time::sleep(Duration::from_millis(5)).await;
            waited += 1;
            assert!(
                waited < 6000,
                "the sender made no progress: {} received",
                counted(&log).len()
            );
        }
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
    }
    let mut last = send();
    let status = tokio::time::timeout(Duration::from_secs(120), last.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());

    let got = counted(&log);
    let mut per_recipient: HashMap<String, Vec<String>> = HashMap::new();
    for (mid, rcpt) in &got {
        per_recipient
            .entry(rcpt.clone())
            .or_default()
            .push(mid.clone());
    }
    let missed = total - per_recipient.len();
    let duplicates: usize = per_recipient.values().map(|v| v.len() - 1).sum();
    eprintln!(
        "crash test: {} received, {missed} missed, {duplicates} duplicates over {} kills",
        got.len(),
        kills_at.len()
    );
    assert_eq!(missed, 0, "every reader got the issue");
    assert!(
        duplicates <= kills_at.len(),
        "{duplicates} duplicates for {} kills",
        kills_at.len()
    );
    for (rcpt, mids) in &per_recipient {
        assert!(
            mids.iter().all(|m| m == &mids[0]),
            "a repeat carries the same Message-ID: {rcpt} {mids:?}"
        );
    }
    let p = progress(&app, issue).await;
    assert_eq!((p.sent as usize, p.state.as_str()), (total, "sent"));
}

async fn editor<'a>(app: &'a TestApp, email: &str, role: &str) -> crate::accounts::Browser<'a> {
    let mut b = crate::accounts::Browser::new(app);
    crate::accounts::register_and_confirm(&mut b, email, "/").await;
    let mut c = app.db.write().await.unwrap();
    let m = members::by_email(c.ex(), &Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    members::set_role(c.ex(), m.id, role).await.unwrap();
    drop(c);
    b
}

#[tokio::test]
async fn an_editor_composes_previews_tests_and_sends_an_issue_once_from_the_desk() {
    use crate::accounts::hidden;
    let app = spawn_app().await;
    let (free, walled) = two_stories(&app).await;
    let nl = add_newsletter(&app, "briefing", "editorial").await;
    for i in 0..3 {
        add_subscriber(&app, nl, &format!("r{i}@example.com"), None).await;
    }
    // Members and moderators are turned away.
    let mut reader = editor(&app, "reader@example.com", "member").await;
    assert_eq!(reader.get("/desk/newsletters").await.status, 403);
    let mut moderator = editor(&app, "mod@example.com", "moderator").await;
    assert_eq!(moderator.get("/desk/newsletters").await.status, 403);

    let mut b = editor(&app, "editor@example.com", "editor").await;
    // Editors find the desk from the page header; members do not see it.
    assert!(b.get("/").await.body.contains("href=\"/desk/newsletters\""));
    assert!(
        !reader
            .get("/")
            .await
            .body
            .contains("href=\"/desk/newsletters\"")
    );
    let list = b.get("/desk/newsletters").await;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("The briefing") && list.body.contains("3 recipients"),
        "{}",
        list.body
    );
    let form = b.get(&format!("/desk/newsletters/{nl}/new")).await;
    assert!(form.body.contains("Inside the budget talks"));
    let csrf = hidden(&form.body, "csrf");
    let csrf = csrf.as_str();
    // A subject with a line break is refused, and what was typed stays.
    let bad = b
        .post(
            &format!("/desk/newsletters/{nl}/new"),
            &[
                ("csrf", csrf),
                ("subject", "Hi\r\nBcc: x@example.com"),
                ("intro", "Kept words."),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("line break") && bad.body.contains("Kept words."));
    // Without the form's token nothing is saved.
    let forged = b
        .post(
            &format!("/desk/newsletters/{nl}/new"),
            &[("csrf", "x"), ("subject", "S")],
        )
        .await;
    assert_eq!(forged.status, 403);

    let saved = b
        .post(
            &format!("/desk/newsletters/{nl}/new"),
            &[
                ("csrf", csrf),
                ("subject", "Tuesday's briefing"),
                ("intro", "Good morning."),
                ("stories", walled.to_string().as_str()),
                ("stories", free.to_string().as_str()),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page_url = saved.location.unwrap();
    let issue: i64 = page_url
        .trim_start_matches("/desk/issues/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = b.get(&page_url).await;
    assert!(
        page.body.contains("3 would receive it now"),
        "{}",
        page.body
    );

    // Previews: the member's stops at the cut, the subscriber's does not.
    let member = b
        .get(&format!("/desk/issues/{issue}/preview?as=member"))
        .await;
    assert_eq!(member.status, 200);
    assert!(
        member.body.contains("Inside the budget talks") && !member.body.contains(LINE_PAST_THE_CUT)
    );
    let subscriber = b
        .get(&format!("/desk/issues/{issue}/preview?as=subscriber"))
        .await;
    assert!(subscriber.body.contains(LINE_PAST_THE_CUT));
    let text = b
        .get(&format!("/desk/issues/{issue}/preview?as=reader&part=text"))
        .await;
    assert!(
        text.body.contains("Continue reading (for subscribers)"),
        "{}",
        text.body
    );

    // A test copy goes to the editor alone, marked as a test.
    let t = b
        .post(
            &format!("/desk/issues/{issue}"),
            &[("csrf", csrf), ("action", "test"), ("as", "member")],
        )
        .await;
    assert_eq!(t.status, 303);
    let (subject, _) = crate::accounts::last_mail(&app, "editor@example.com").await;
    assert_eq!(subject, "[Test] Tuesday's briefing");

    // Two clicks on "send now": one send.
    let first = b
        .post(
            &format!("/desk/issues/{issue}"),
            &[("csrf", csrf), ("action", "send")],
        )
        .await;
    let second = b
        .post(
            &format!("/desk/issues/{issue}"),
            &[("csrf", csrf), ("action", "send")],
        )
        .await;
    assert!(first.location.unwrap().ends_with("done=sending"));
    assert!(second.location.unwrap().ends_with("done=already_started"));
    let (transport, sent) = Transport::memory();
    send_all(&sender(&app, transport)).await;
    assert_eq!(sent.lock().unwrap().len(), 3);
    let progress = b.get(&format!("/desk/issues/{issue}/progress.json")).await;
    let p: serde_json::Value = serde_json::from_str(&progress.body).unwrap();
    assert_eq!(
        (
            p["state"].as_str(),
            p["sent"].as_i64(),
            p["waiting"].as_i64()
        ),
        (Some("sent"), Some(3), Some(0))
    );
    // A sent issue can no longer be changed.
    let late = b
        .post(
            &format!("/desk/issues/{issue}"),
            &[
                ("csrf", csrf),
                ("action", "save"),
                ("subject", "Changed"),
                ("intro", "x"),
            ],
        )
        .await;
    assert_eq!(late.status, 422);
}

#[tokio::test]
async fn bad_and_internationalised_addresses_fail_that_recipient_alone_with_a_clear_error() {
    let app = spawn_app().await;
    let (free, _) = two_stories(&app).await;
    let nl = add_newsletter(&app, "briefing", "editorial").await;
    add_subscriber(&app, nl, "good@example.com", None).await;
    add_subscriber(&app, nl, "not an address", None).await;
    add_subscriber(&app, nl, "josé@exämple.com", None).await;
    let issue = compose(&app, nl, vec![free]).await;
    start(&app, issue).await;
    // aiosmtpd as started here does not offer SMTPUTF8.
    let server = SmtpServer::start("aiosmtpd.handlers.Mailbox").await;
    let t = Transport::smtp(
        &url::Url::parse(&format!("smtp://127.0.0.1:{}?tls=none", server.port)).unwrap(),
    )
    .unwrap();
    send_all(&sender(&app, t)).await;
    let p = progress(&app, issue).await;
    assert_eq!(
        (p.sent, p.failed, p.waiting, p.state.as_str()),
        (1, 2, 0, "sent")
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        email: String,
        last_error: String,
    }
    let mut c = app.db.read().await.unwrap();
    let rows = masthead::fetch_all!(
        c.ex(),
        Row,
        "select email, last_error from issue_recipients where state = 'failed' order by email"
    )
    .unwrap();
    assert!(
        rows[0].email == "josé@exämple.com" && rows[0].last_error.contains("SMTPUTF8"),
        "{}",
        rows[0].last_error
    );
    assert!(
        rows[1].last_error.contains("is not a mail address"),
        "{}",
        rows[1].last_error
    );
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn a_sign_in_link_overtakes_a_newsletter_being_sent() {
    use masthead::mail::{Lane, OutgoingMail, worker};
    let app = spawn_app().await;
    let (free, _) = two_stories(&app).await;
    let nl = add_newsletter(&app, "briefing", "editorial").await;
    let total = 400;
    for i in 0..total {
        add_subscriber(&app, nl, &format!("r{i:03}@example.com"), None).await;
    }
    let issue = compose(&app, nl, vec![free]).await;
    start(&app, issue).await;
    let (transport, sent) = Transport::memory();
    let mut s = sender(&app, transport.clone());
    s.options.batch = 50;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(worker::run_with(
        app.db.clone(),
        transport,
        app.clock.clone(),
        worker::WorkerOptions {
            poll: Duration::from_millis(20),
            ..worker::WorkerOptions::default()
        },
        Some(std::sync::Arc::new(s)),
        async {
            let _ = stopped.await;
        },
    ));
    while sent.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    {
        let mut tx = app.db.begin().await.unwrap();
        masthead::mail::enqueue(
            tx.ex(),
            &OutgoingMail::new(
                Lane::Transactional,
                "waiting@example.com",
                ("Your sign-in link".into(), "Here it is.".into(), None),
            ),
            "The Herald <noreply@news.example>",
            app.now(),
            "news.example",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // Counted once the mail is queued (committed), not when the test began
    // to queue it: the transaction may wait for a connection meanwhile.
    let before = sent.lock().unwrap().len();
    while progress(&app, issue).await.state != "sent" {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap();
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), total + 1);
    let at = sent
        .iter()
        .position(|m| m.to == vec!["waiting@example.com".to_string()])
        .unwrap();
    assert!(
        at <= before + 50,
        "the sign-in link went out {} newsletter messages after it was queued; a batch is 50",
        at - before
    );
}
