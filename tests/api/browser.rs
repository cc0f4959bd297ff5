//! A reader in headless Chromium: front page, a story, a topic.
//! Runs `tests/browser/story.mjs` (Playwright driving Debian's Chromium)
//! against the app; the test command installs both.

use crate::helpers::*;

#[tokio::test]
async fn a_reader_follows_a_story_and_a_topic_in_chromium() {
    let app = spawn_app().await;
    fixture(&app).await;
    let root = env!("CARGO_MANIFEST_DIR");
    let script = format!("{root}/tests/browser/story.mjs");
    assert!(
        std::path::Path::new(&format!(
            "{root}/tests/browser/node_modules/playwright-core"
        ))
        .exists(),
        "playwright-core is not installed: run the test command in the README (it installs it)"
    );
    let shots = format!("{root}/target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&app.base)
        .arg(&shots)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test failed\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok: story"), "{stdout}");
    assert!(std::path::Path::new(&format!("{shots}/story-desktop.png")).exists());
}
