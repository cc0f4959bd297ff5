//! The mail outbox on the real database: mail exists exactly when the
//! transaction that queued it commits, it reaches the drop folder and a real
//! SMTP server (Python's aiosmtpd) as a readable message, transactional mail
//! goes first, a dead worker's lease expires, and failures are retried with
//! backoff (moved along by the test clock) or marked failed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::SignedDuration;
use masthead::config::Layer;
use masthead::db::settings;
use masthead::mail::outbox::{self, OutboxRow};
use masthead::mail::worker::{self, WorkerOptions, deliver_due};
use masthead::mail::{self, Lane, OutgoingMail, Transport};
use serde_json::Value;

use crate::helpers::*;

const LEASE: Duration = Duration::from_secs(10 * 60);

fn from(app: &TestApp) -> String {
    mail::default_from(&app.state.config, "The Test Herald")
}

fn simple(lane: Lane, to: &str, subject: &str) -> OutgoingMail {
    OutgoingMail::new(
        lane,
        to,
        (subject.to_string(), format!("The text of {subject}."), None),
    )
}

/// Queues `mail` in a transaction of its own.
async fn enqueue(app: &TestApp, mail: &OutgoingMail) -> i64 {
    let mut tx = app.db.begin().await.unwrap();
    let id = mail::enqueue(
        tx.ex(),
        mail,
        &from(app),
        app.now(),
        &mail::message_id_domain(&app.state.config),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn row(app: &TestApp, id: i64) -> OutboxRow {
    let mut c = app.db.read().await.unwrap();
    outbox::find(c.ex(), id).await.unwrap().unwrap()
}

fn test_mail_parts(app: &TestApp, name: &str) -> (String, String, Option<String>) {
    mail::compose(
        &app.state.renderer,
        "test",
        minijinja::context! {
            name => name,
            publication => "The Test Herald",
            link => "https://news.example/india/story-1?from=mail&x=1",
        },
    )
    .unwrap()
}

/// Parses a message file with Python's `email` package: an independent
/// reader of what was sent.
pub(crate) fn parse_eml(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import email, json, sys
from email import policy
with open(sys.argv[1], 'rb') as f:
    m = email.message_from_binary_file(f, policy=policy.default)
def body(kind):
    p = m.get_body(preferencelist=(kind,))
    return None if p is None else p.get_content()
def h(name):
    v = m[name]
    return None if v is None else str(v)
print(json.dumps({
    'subject': h('subject'), 'from': h('from'), 'to': h('to'), 'reply_to': h('reply-to'),
    'message_id': h('message-id'), 'date': h('date'), 'list_unsubscribe': h('list-unsubscribe'),
    'content_type': m.get_content_type(), 'text': body('plain'), 'html': body('html'),
    'defects': len(m.defects),
}))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// A port nothing listens on (bound, then let go).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Python's aiosmtpd on a free port, storing what it accepts in a maildir.
pub(crate) struct SmtpServer {
    pub(crate) port: u16,
    pub(crate) maildir: PathBuf,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

/// A handler that refuses some recipients, for the failure tests.
const PICKY_HANDLER: &str = r#"
from aiosmtpd.handlers import Mailbox

class Picky(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('nobody@'):
            return '550 5.1.1 No such user here'
        if address.startswith('busy@'):
            return '451 4.3.0 Mailbox busy, try again later'
        envelope.rcpt_tos.append(address)
        return '250 OK'
"#;

impl SmtpServer {
    pub(crate) async fn start(handler: &str) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("picky_handler.py"), PICKY_HANDLER).unwrap();
        let maildir = dir.path().join("maildir");
        let port = free_port();
        let child = tokio::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-c")
            .arg(handler)
            .arg(&maildir)
            .env("PYTHONPATH", dir.path())
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd starts (pip install aiosmtpd)");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpServer {
                    port,
                    maildir,
                    _dir: dir,
                    _child: child,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    pub(crate) fn received(&self) -> Vec<PathBuf> {
        files_in(&self.maildir.join("new"))
    }
}

pub(crate) async fn app_with_smtp(url: String) -> TestApp {
    spawn_app_with(move |l| Layer {
        smtp_url: Some(url),
        ..l
    })
    .await
}

#[tokio::test]
async fn mail_enqueued_in_a_transaction_that_rolls_back_is_never_sent() {
    let app = spawn_app().await;
    let (transport, sent) = Transport::memory();
    {
        let mut tx = app.db.begin().await.unwrap();
        settings::put(tx.ex(), "registration", &"asha@example.com")
            .await
            .unwrap();
        mail::enqueue(
            tx.ex(),
            &simple(Lane::Transactional, "asha@example.com", "Welcome"),
            &from(&app),
            app.now(),
            "news.example",
        )
        .await
        .unwrap();
        // Dropped without a commit: the registration and its mail go together.
    }
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        0
    );
    assert!(sent.lock().unwrap().is_empty());
    let mut c = app.db.read().await.unwrap();
    assert_eq!(outbox::count(c.ex(), "queued").await.unwrap(), 0);
    drop(c);

    let id = enqueue(
        &app,
        &simple(Lane::Transactional, "ravi@example.com", "Welcome"),
    )
    .await;
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        1
    );
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].outbox_id, id);
    assert_eq!(sent[0].to, vec!["ravi@example.com".to_string()]);
}

#[tokio::test]
async fn a_mail_that_could_never_be_delivered_is_refused_at_enqueue() {
    let app = spawn_app().await;
    let mut tx = app.db.begin().await.unwrap();
    let bad = simple(Lane::Transactional, "not an address", "Hi");
    let err = mail::enqueue(tx.ex(), &bad, &from(&app), app.now(), "news.example")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a mail address"), "{err}");
    let injected = simple(Lane::Bulk, "a@example.com", "Hi")
        .with_header("List-Unsubscribe", "<x>\r\nBcc: everyone@example.com");
    assert!(
        mail::enqueue(tx.ex(), &injected, &from(&app), app.now(), "news.example")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_drop_folder_gets_a_readable_eml_with_subject_text_and_html_parts() {
    let app = spawn_app().await;
    let transport = mail::transport_for(&app.state.config).unwrap();
    assert!(matches!(transport, Transport::Drop(_)));
    let m = OutgoingMail::transactional("Zoë Fernandes <zoe@example.com>", {
        test_mail_parts(&app, "Zoë & Asha")
    })
    .with_reply_to("desk@news.example")
    .with_header("List-Unsubscribe", "<https://news.example/unsubscribe/1>");
    let id = enqueue(&app, &m).await;
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        1
    );

    let drop_dir = app.state.config.mail_drop_dir();
    let eml = drop_dir.join(format!("{id}.eml"));
    assert_eq!(
        files_in(&drop_dir),
        vec![eml.clone()],
        "no temporary file left"
    );
    let parsed = parse_eml(&eml);
    let r = row(&app, id).await;
    assert_eq!(parsed["defects"], 0);
    assert_eq!(parsed["subject"], "A test mail for Zoë & Asha");
    assert_eq!(parsed["message_id"], r.message_id.as_str());
    assert!(r.message_id.ends_with("@news.example>"), "{}", r.message_id);
    assert_eq!(parsed["from"], "The Test Herald <noreply@news.example>");
    assert_eq!(parsed["to"], "Zoë Fernandes <zoe@example.com>");
    assert_eq!(parsed["reply_to"], "desk@news.example");
    assert_eq!(
        parsed["list_unsubscribe"],
        "<https://news.example/unsubscribe/1>"
    );
    assert_eq!(parsed["date"], "Wed, 25 Nov 2020 00:16:00 +0000");
    assert_eq!(parsed["content_type"], "multipart/alternative");
    let text = parsed["text"].as_str().unwrap();
    assert!(text.contains("Hello Zoë & Asha,"), "{text}");
    assert!(
        text.contains("https://news.example/india/story-1?from=mail&x=1"),
        "{text}"
    );
    let html = parsed["html"].as_str().unwrap();
    assert!(html.contains("<p>Hello Zoë &amp; Asha,</p>"), "{html}");
    assert!(html.contains("<strong>test mail</strong>"), "{html}");
    assert_eq!(r.state, "sent");
    assert_eq!(r.sent_at, Some(app.now()));
    assert_eq!(r.lease_until, None);
}

#[tokio::test]
async fn a_real_smtp_server_receives_the_mail_with_its_stable_message_id() {
    let server = SmtpServer::start("aiosmtpd.handlers.Mailbox").await;
    let app = app_with_smtp(format!("smtp://127.0.0.1:{}", server.port)).await;
    let transport = mail::transport_for(&app.state.config).unwrap();
    assert!(matches!(transport, Transport::Smtp(_)));
    let html_mail = OutgoingMail::transactional("asha@example.com", test_mail_parts(&app, "Asha"))
        .with_header("List-Unsubscribe", "<mailto:unsubscribe@news.example>");
    let html_id = enqueue(&app, &html_mail).await;
    let text_id = enqueue(&app, &simple(Lane::Bulk, "ravi@example.com", "Only text")).await;
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        2
    );

    let received = server.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let mut by_subject = std::collections::HashMap::new();
    for path in &received {
        let p = parse_eml(path);
        by_subject.insert(p["subject"].as_str().unwrap().to_string(), p);
    }
    let html = &by_subject["A test mail for Asha"];
    assert_eq!(
        html["message_id"],
        row(&app, html_id).await.message_id.as_str()
    );
    assert_eq!(html["to"], "asha@example.com");
    assert_eq!(html["content_type"], "multipart/alternative");
    assert!(html["text"].as_str().unwrap().contains("Hello Asha,"));
    assert!(
        html["html"]
            .as_str()
            .unwrap()
            .contains("<p>Hello Asha,</p>")
    );
    assert_eq!(
        html["list_unsubscribe"],
        "<mailto:unsubscribe@news.example>"
    );
    let text = &by_subject["Only text"];
    assert_eq!(text["content_type"], "text/plain");
    assert_eq!(
        text["text"].as_str().unwrap().trim(),
        "The text of Only text."
    );
    assert_eq!(text["html"], Value::Null);
    for id in [html_id, text_id] {
        let r = row(&app, id).await;
        assert_eq!((r.state.as_str(), r.attempts), ("sent", 1));
    }
}

#[tokio::test]
async fn an_smtp_refusal_fails_the_mail_at_once_and_a_deferral_retries_it() {
    let server = SmtpServer::start("picky_handler.Picky").await;
    let app = app_with_smtp(format!("smtp://127.0.0.1:{}?tls=none", server.port)).await;
    let transport = mail::transport_for(&app.state.config).unwrap();
    let refused = enqueue(
        &app,
        &simple(Lane::Transactional, "nobody@example.com", "A"),
    )
    .await;
    let deferred = enqueue(&app, &simple(Lane::Transactional, "busy@example.com", "B")).await;
    let fine = enqueue(&app, &simple(Lane::Transactional, "asha@example.com", "C")).await;
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        1
    );
    assert_eq!(server.received().len(), 1);

    let r = row(&app, refused).await;
    assert_eq!((r.state.as_str(), r.attempts), ("failed", 1));
    assert!(r.last_error.contains("permanent"), "{}", r.last_error);
    assert!(r.last_error.contains("No such user"), "{}", r.last_error);

    let r = row(&app, deferred).await;
    assert_eq!((r.state.as_str(), r.attempts), ("queued", 1));
    assert!(r.last_error.contains("temporary"), "{}", r.last_error);
    assert_eq!(r.next_attempt_at, app.now() + 60_000_000);

    assert_eq!(row(&app, fine).await.state, "sent");
}

#[tokio::test]
async fn transactional_mail_is_claimed_before_older_bulk_mail() {
    let app = spawn_app().await;
    let mut bulk = Vec::new();
    for i in 0..3 {
        bulk.push(
            enqueue(
                &app,
                &simple(Lane::Bulk, "list@example.com", &format!("Issue {i}")),
            )
            .await,
        );
        app.clock.advance(SignedDuration::from_secs(1));
    }
    app.clock.advance(SignedDuration::from_mins(5));
    let link = enqueue(
        &app,
        &simple(Lane::Transactional, "asha@example.com", "Sign-in link"),
    )
    .await;

    let first = outbox::claim(&app.db, app.now(), 1, LEASE).await.unwrap();
    assert_eq!(first.iter().map(|r| r.id).collect::<Vec<_>>(), vec![link]);
    let rest = outbox::claim(&app.db, app.now(), 10, LEASE).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), bulk);
    assert_eq!(rest[0].lane, "bulk");
    assert_eq!(first[0].lease_until, Some(app.now() + 600_000_000));

    // And a worker delivers in that order.
    let app = spawn_app().await;
    let (transport, sent) = Transport::memory();
    let b = enqueue(&app, &simple(Lane::Bulk, "list@example.com", "Issue")).await;
    app.clock.advance(SignedDuration::from_secs(1));
    let t = enqueue(&app, &simple(Lane::Transactional, "a@example.com", "Link")).await;
    deliver_due(&app.db, &transport, &*app.clock).await.unwrap();
    let order: Vec<i64> = sent.lock().unwrap().iter().map(|m| m.outbox_id).collect();
    assert_eq!(order, vec![t, b]);
}

#[tokio::test]
async fn a_lease_left_by_a_dead_worker_expires_and_the_mail_is_delivered_once() {
    let app = spawn_app().await;
    let id = enqueue(
        &app,
        &simple(Lane::Transactional, "asha@example.com", "Link"),
    )
    .await;
    // A worker claims the mail and dies before delivering it.
    let dead = outbox::claim(&app.db, app.now(), 10, LEASE).await.unwrap();
    assert_eq!(dead.len(), 1);

    let (transport, sent) = Transport::memory();
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        0
    );
    app.clock
        .advance(SignedDuration::from_mins(10) - SignedDuration::from_secs(1));
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        0,
        "the lease still holds"
    );
    app.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        1
    );
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        0
    );
    app.clock.advance(SignedDuration::from_hours(1));
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        0
    );
    assert_eq!(sent.lock().unwrap().len(), 1);
    let r = row(&app, id).await;
    assert_eq!((r.state.as_str(), r.attempts), ("sent", 2));

    // The dead worker's late mark names its old lease and changes nothing.
    let mut c = app.db.write().await.unwrap();
    assert!(
        !outbox::mark_retry(c.ex(), &dead[0], app.now(), "late")
            .await
            .unwrap()
    );
    drop(c);
    assert_eq!(row(&app, id).await.state, "sent");
}

#[tokio::test]
async fn a_temporary_failure_is_retried_with_backoff_and_fails_after_the_last_attempt() {
    let port = free_port();
    let app = app_with_smtp(format!("smtp://127.0.0.1:{port}?tls=none")).await;
    let transport = mail::transport_for(&app.state.config).unwrap();
    let id = enqueue(
        &app,
        &simple(Lane::Transactional, "asha@example.com", "Link"),
    )
    .await;
    let waits_in_minutes = [1, 5, 30, 120, 360, 720, 1440];
    for (i, minutes) in waits_in_minutes.iter().enumerate() {
        assert_eq!(
            deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
            0
        );
        let r = row(&app, id).await;
        assert_eq!(r.state, "queued");
        assert_eq!(r.attempts, i as i64 + 1);
        assert_eq!(r.lease_until, None);
        assert_eq!(r.next_attempt_at, app.now() + minutes * 60_000_000);
        assert!(
            r.last_error.starts_with("temporary failure"),
            "{}",
            r.last_error
        );

        // Not a second early.
        app.clock
            .advance(SignedDuration::from_mins(*minutes) - SignedDuration::from_secs(1));
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap();
        assert_eq!(row(&app, id).await.attempts, i as i64 + 1);
        app.clock.advance(SignedDuration::from_secs(1));
    }
    assert_eq!(
        deliver_due(&app.db, &transport, &*app.clock).await.unwrap(),
        0
    );
    let r = row(&app, id).await;
    assert_eq!((r.state.as_str(), r.attempts), ("failed", 8));
    assert!(
        r.last_error.starts_with("gave up after 8 attempts"),
        "{}",
        r.last_error
    );
    app.clock.advance(SignedDuration::from_hours(48));
    deliver_due(&app.db, &transport, &*app.clock).await.unwrap();
    assert_eq!(
        row(&app, id).await.attempts,
        8,
        "a failed mail is left alone"
    );
}

#[tokio::test]
async fn concurrent_claims_never_take_the_same_mail_twice() {
    let app = spawn_app().await;
    let mut all = HashSet::new();
    for i in 0..40 {
        let lane = if i % 3 == 0 {
            Lane::Transactional
        } else {
            Lane::Bulk
        };
        all.insert(enqueue(&app, &simple(lane, "a@example.com", &format!("Mail {i}"))).await);
    }
    let now = app.now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            outbox::claim(&db, now, 10, LEASE).await.unwrap()
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for r in t.await.unwrap() {
            assert!(seen.insert(r.id), "mail {} was claimed twice", r.id);
        }
    }
    for r in outbox::claim(&app.db, now, 100, LEASE).await.unwrap() {
        assert!(seen.insert(r.id), "mail {} was claimed twice", r.id);
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn the_worker_loop_delivers_woken_mail_and_stops_on_shutdown() {
    let app = spawn_app().await;
    let (transport, sent) = Transport::memory();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = WorkerOptions {
        poll: Duration::from_millis(100),
        ..WorkerOptions::default()
    };
    let handle = tokio::spawn(worker::run_with(
        app.db.clone(),
        transport,
        app.clock.clone(),
        options,
        None,
        async {
            let _ = stopped.await;
        },
    ));
    let id = enqueue(
        &app,
        &simple(Lane::Transactional, "asha@example.com", "Link"),
    )
    .await;
    worker::wake();
    let mut delivered = false;
    for _ in 0..100 {
        if sent.lock().unwrap().len() == 1 {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(delivered, "the worker delivered the mail");
    assert_eq!(row(&app, id).await.state, "sent");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), handle)
        .await
        .expect("the worker stops on shutdown")
        .unwrap();
}
