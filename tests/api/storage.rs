//! The storage layer on the real database: writers that wait instead of
//! failing, and the demo generator that can be taken out again.

use crate::helpers::*;
use masthead::db::{settings, stories};

#[tokio::test]
async fn concurrent_read_then_write_transactions_all_succeed() {
    let app = spawn_app().await;
    fixture(&app).await;
    let start = {
        let mut c = app.db.read().await.unwrap();
        settings::content_epoch(c.ex()).await.unwrap()
    };
    let mut tasks = Vec::new();
    for i in 0..24 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin().await?;
            let before = settings::content_epoch(tx.ex()).await?;
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            settings::put(tx.ex(), &format!("k{i}"), &before).await?;
            settings::bump_content_epoch(tx.ex()).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("no writer fails with busy or a conflict");
    }
    let mut c = app.db.read().await.unwrap();
    let epoch = settings::content_epoch(c.ex()).await.unwrap();
    assert_eq!(epoch, start + 24, "every bump counted");
}

#[tokio::test]
async fn generated_stories_are_spread_over_years_and_removed_with_the_demo() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let n = masthead::demo::generate(
        &app.db,
        &app.state.config.media_dir(),
        60,
        now_ts(&app),
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(n, 60);
    let mut c = app.db.read().await.unwrap();
    let total = stories::count(c.ex(), stories::Filter::All, app.now())
        .await
        .unwrap();
    assert_eq!(total, 63);
    let oldest = stories::list(c.ex(), stories::Filter::All, app.now(), 1, 62)
        .await
        .unwrap();
    assert!(
        app.now() - oldest[0].published_at > 2 * 365 * 24 * 3_600_000_000,
        "spread over years"
    );
    drop(c);
    let (status, _) = app.get_text("/sitemap.xml").await;
    assert_eq!(status, 200);
    let removed = masthead::demo::remove(&app.db, &app.state.config.media_dir())
        .await
        .unwrap();
    assert_eq!(removed, 60);
    let mut c = app.db.read().await.unwrap();
    assert_eq!(
        stories::count(c.ex(), stories::Filter::All, app.now())
            .await
            .unwrap(),
        3,
        "the publication's own stories stay"
    );
    assert_eq!(app.get(&story_url(&app, f.story).await).await.status(), 200);
}
