//! Several instances over one database: two `masthead serve` processes share
//! the suite's database (PostgreSQL when the suite runs on it), and a
//! member's requests alternate between them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::accounts::{Browser, register_and_confirm};
use crate::helpers::*;

/// A `masthead serve` process, killed when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(app: &TestApp, data: &std::path::Path) -> Instance {
    let mut c = Command::new(env!("CARGO_BIN_EXE_masthead"));
    for (k, _) in std::env::vars() {
        if k.starts_with("MASTHEAD_") {
            c.env_remove(k);
        }
    }
    let mut child = c
        .env("MASTHEAD_LOG", "warn")
        .env("MASTHEAD_DATABASE_URL", &app.database_url)
        .env(
            "MASTHEAD_SECRET_KEY",
            "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c",
        )
        // Each instance keeps what it learns of a member for a minute: the
        // meter must stay exact whatever an instance remembers.
        .env("MASTHEAD_CHANGE_POLL_MS", "60000")
        .args(["serve", "--no-demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .expect("a first line")
        .unwrap();
    let addr = line
        .strip_prefix("Masthead is serving http://")
        .unwrap_or_else(|| panic!("{line}"))
        .split(' ')
        .next()
        .unwrap();
    Instance {
        child,
        base: format!("http://{addr}"),
    }
}

async fn open(client: &reqwest::Client, base: &str, path: &str, session: &str) -> String {
    let r = client
        .get(format!("{base}{path}"))
        .header("cookie", format!("mh_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{base}{path}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_member_moving_between_two_instances_is_counted_exactly() {
    let app = spawn_app().await;
    // The processes run on the real clock: so does this test's setup.
    app.clock.set(jiff::Timestamp::now());
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 12).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "asha@example.com", "/").await;
    let session = b.jar["mh_session"].clone();

    let data_a = tempfile::tempdir().unwrap();
    let data_b = tempfile::tempdir().unwrap();
    let a = start(&app, data_a.path());
    let b = start(&app, data_b.path());
    let client = reqwest::Client::new();

    let left = |i: usize| format!("You have {} free ", 9 - i);
    // Five stories on A, each read again on B (a re-read counts nowhere).
    for (i, url) in urls[..5].iter().enumerate() {
        let first = open(&client, &a.base, url, &session).await;
        assert!(first.contains(LINE_PAST_THE_CUT), "story {i} in full");
        assert!(first.contains(&left(i)), "story {i}: {} left", 9 - i);
        let again = open(&client, &b.base, url, &session).await;
        assert!(again.contains(LINE_PAST_THE_CUT), "story {i} again");
    }
    // Five more on B, which A has not seen.
    for (i, url) in urls[5..10].iter().enumerate().map(|(i, u)| (i + 5, u)) {
        let page = open(&client, &b.base, url, &session).await;
        assert!(page.contains(LINE_PAST_THE_CUT), "story {i} in full");
        if i < 9 {
            assert!(page.contains(&left(i)), "story {i}: {} left", 9 - i);
        }
    }
    // The eleventh and twelfth meet the wall on either instance, though A
    // last looked when only five had been read ...
    for (i, url) in urls[10..].iter().enumerate() {
        for base in [&a.base, &b.base] {
            let page = open(&client, base, url, &session).await;
            assert!(
                !page.contains(LINE_PAST_THE_CUT),
                "story {} on {base}",
                10 + i
            );
            assert!(page.contains("You have read your 10 free stories this month"));
        }
    }
    // ... and a story read this month opens again on both.
    for base in [&a.base, &b.base] {
        assert!(
            open(&client, base, &urls[7], &session)
                .await
                .contains(LINE_PAST_THE_CUT)
        );
    }
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let mut c = app.db.read().await.unwrap();
    let n = masthead::fetch_one!(c.ex(), N, "select count(*) as n from meter_reads")
        .unwrap()
        .n;
    assert_eq!(n, 10, "exactly ten reads recorded");
}
