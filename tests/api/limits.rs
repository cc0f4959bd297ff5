//! Rate limits shared through Redis: two instances of one publication count
//! against the same limit. The test command starts Redis when it is missing;
//! `MASTHEAD_TEST_REDIS_URL` names another one.

use crate::accounts::{Browser, hidden};
use crate::helpers::*;
use masthead::config::Layer;

fn redis_url() -> String {
    std::env::var("MASTHEAD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// An instance of the publication at `public_url`, counting in Redis when asked.
async fn instance(public_url: &str, shared: bool) -> TestApp {
    let public_url = public_url.to_string();
    spawn_app_with(move |l| Layer {
        public_url: Some(public_url),
        redis_url: shared.then(redis_url),
        ..l
    })
    .await
}

async fn guess(b: &mut Browser<'_>, csrf: &str, email: &str) -> u16 {
    b.post(
        "/account/sign-in",
        &[
            ("csrf", csrf),
            ("email", email),
            ("password", "guess-guess-guess"),
        ],
    )
    .await
    .status
}

/// A publication address no other test run uses, so counts left in Redis by
/// an earlier run do not count here.
fn fresh_public_url() -> String {
    format!("https://news-{:016x}.example", rand::random::<u64>())
}

#[tokio::test]
async fn two_instances_count_sign_in_attempts_against_one_limit_in_redis() {
    let public = fresh_public_url();
    let a = instance(&public, true).await;
    let b = instance(&public, true).await;
    assert!(a.state.limiter.is_shared());
    let mut on_a = Browser::new(&a);
    let mut on_b = Browser::new(&b);
    let csrf_a = hidden(&on_a.get("/account/sign-in").await.body, "csrf");
    let csrf_b = hidden(&on_b.get("/account/sign-in").await.body, "csrf");
    let mut statuses = Vec::new();
    for i in 0..11 {
        let s = if i % 2 == 0 {
            guess(&mut on_a, &csrf_a, "asha@example.com").await
        } else {
            guess(&mut on_b, &csrf_b, "asha@example.com").await
        };
        statuses.push(s);
    }
    assert!(statuses[..10].iter().all(|s| *s == 422), "{statuses:?}");
    assert_eq!(
        statuses[10], 429,
        "the eleventh attempt, on either instance"
    );
    // Another publication in the same Redis keeps its own counts.
    let other = instance(&fresh_public_url(), true).await;
    let mut on_other = Browser::new(&other);
    let csrf = hidden(&on_other.get("/account/sign-in").await.body, "csrf");
    assert_eq!(guess(&mut on_other, &csrf, "asha@example.com").await, 422);
}

#[tokio::test]
async fn without_redis_each_instance_counts_its_own_attempts() {
    let public = fresh_public_url();
    let a = instance(&public, false).await;
    let b = instance(&public, false).await;
    assert!(!a.state.limiter.is_shared());
    let mut on_a = Browser::new(&a);
    let csrf_a = hidden(&on_a.get("/account/sign-in").await.body, "csrf");
    for _ in 0..10 {
        assert_eq!(guess(&mut on_a, &csrf_a, "asha@example.com").await, 422);
    }
    assert_eq!(guess(&mut on_a, &csrf_a, "asha@example.com").await, 429);
    let mut on_b = Browser::new(&b);
    let csrf_b = hidden(&on_b.get("/account/sign-in").await.body, "csrf");
    assert_eq!(guess(&mut on_b, &csrf_b, "asha@example.com").await, 422);
}

#[tokio::test]
async fn a_redis_that_does_not_answer_stops_the_start_with_a_clear_error() {
    let url: url::Url = "redis://127.0.0.1:1/".parse().unwrap();
    let err = masthead::http::limits::RateLimiter::shared(&url, "https://news.example/")
        .await
        .err()
        .expect("no Redis listens on port 1");
    let text = format!("{err:#}");
    assert!(
        text.contains("cannot reach Redis at redis://127.0.0.1:1/ (MASTHEAD_REDIS_URL)"),
        "{text}"
    );
}
