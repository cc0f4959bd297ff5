//! The reader's pages, as a browser gets them.

use crate::helpers::*;
use masthead::db::stories;

#[tokio::test]
async fn the_front_page_leads_with_the_newest_story_and_lists_the_sections() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (status, html) = app.get_text("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("The Test Herald"));
    let lead_at = html.find("card-lead").expect("a lead story");
    let headline_at = html
        .find("Monsoon reaches Kerala three days early")
        .unwrap();
    assert!(headline_at > lead_at, "the newest story leads");
    assert!(html.contains(r#"href="/india""#) && html.contains(r#"href="/world""#));
    assert!(html.contains(&story_url(&app, f.updated).await));
}

#[tokio::test]
async fn a_story_page_carries_headline_byline_dateline_times_photos_captions_and_credits() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (status, html) = app.get_text(&story_url(&app, f.story).await).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<h1 class=\"story-headline\">Monsoon reaches Kerala three days early</h1>")
    );
    assert!(html.contains("Standfirst of “Monsoon reaches Kerala three days early”."));
    assert!(html.contains(r#"<a href="/author/asha-menon">Asha Menon</a> and <a href="/author/unw">United News Wire</a>"#));
    assert!(html.contains(r#"<span class="dateline">Thiruvananthapuram</span>"#));
    assert!(
        html.contains(
            r#"<time datetime="2020-11-25T00:16:00Z">November 25, 2020 05:46 am IST</time>"#
        ),
        "{html}"
    );
    assert!(
        !html.contains("Updated"),
        "never updated, so no Updated line"
    );
    assert!(
        html.contains(r#"<span class="caption">Clouds gather over Kovalam on Wednesday.</span>"#)
    );
    assert!(html.contains(r#"<span class="credit">Handout photo released by the State Disaster Management Authority</span>"#));
    assert!(html.contains(r#"<span class="credit">Photo: R. Krishnan</span>"#));
    assert!(html.contains(r#"alt="Boats pulled up on the sand""#));
    assert!(html.contains("Paragraph 1 of the story, with <em>emphasis</em>."));
    assert!(html.contains(r#"<a class="topic" href="/topic/monsoon">Monsoon</a>"#));
    // The gallery counts its photos.
    assert!(html.contains(r#"aria-label="Photo gallery, 2 photos""#));
    assert!(html.contains(r#"<p class="gallery-position">2 / 2</p>"#));
    // "Also read" points at the linked story by its current address.
    let linked = story_url(&app, f.linked).await;
    assert!(
        html.contains(&format!(
            r#"<p class="also-read-label">Also read</p>
      <a href="{linked}">"#
        )),
        "{html}"
    );
}

#[tokio::test]
async fn updated_appears_only_on_a_story_that_was_updated() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (_, html) = app.get_text(&story_url(&app, f.updated).await).await;
    assert!(html.contains("Published <time datetime=\"2020-11-22T22:16:00Z\">November 23, 2020 03:46 am IST</time>"), "{html}");
    assert!(
        html.contains(
            "Updated <time datetime=\"2020-11-23T03:16:00Z\">November 23, 2020 08:46 am IST</time>"
        ),
        "{html}"
    );
}

#[tokio::test]
async fn photos_offer_renditions_with_srcset_sizes_and_lazy_loading() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (_, html) = app.get_text(&story_url(&app, f.story).await).await;
    let at = html.find("alt=\"Boats pulled up on the sand\"").unwrap();
    let start = html[..at].rfind("<img").unwrap();
    let img = &html[start..start + html[start..].find('>').unwrap()];
    assert!(
        img.contains("srcset=\"/media/") && img.contains(" 320w, ") && img.contains(" 960w\""),
        "{img}"
    );
    assert!(
        img.contains("sizes=\"")
            && img.contains("loading=\"lazy\"")
            && img.contains("width=\"1000\" height=\"600\""),
        "{img}"
    );
    let src = img
        .split("src=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let r = app.get(src).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 640);
    assert_eq!(
        app.get("/media/0123456789abcdef0123456789abcdef-640.jpg")
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/media/..%2Fsecret.key").await.status(), 404);
}

#[tokio::test]
async fn a_changed_slug_or_section_answers_301_to_the_current_address() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let old = story_url(&app, f.story).await;
    {
        let mut c = app.db.write().await.unwrap();
        stories::set_slug(c.ex(), f.story, "monsoon-arrives-early", app.now())
            .await
            .unwrap();
    }
    let r = app.get(&old).await;
    assert_eq!(r.status(), 301);
    assert_eq!(
        r.headers()["location"],
        format!("/india/monsoon-arrives-early-{}", f.story)
    );
    {
        let mut c = app.db.write().await.unwrap();
        stories::set_section(c.ex(), f.story, f.world, app.now())
            .await
            .unwrap();
    }
    let r = app
        .get(&format!("/india/monsoon-arrives-early-{}", f.story))
        .await;
    assert_eq!(
        r.headers()["location"],
        format!("/world/monsoon-arrives-early-{}", f.story)
    );
    // The id alone, and the short link, find the story too.
    let r = app.get(&format!("/world/{}", f.story)).await;
    assert_eq!(r.status(), 301);
    let r = app.get(&format!("/s/{}", f.story)).await;
    assert_eq!(
        r.headers()["location"],
        format!("/world/monsoon-arrives-early-{}", f.story)
    );
    assert_eq!(
        app.get(&format!("/world/monsoon-arrives-early-{}", f.story))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn also_read_links_survive_a_slug_change_of_their_target() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let page = story_url(&app, f.story).await;
    assert_eq!(app.get(&page).await.status(), 200); // now cached
    {
        let mut tx = app.db.begin().await.unwrap();
        stories::set_slug(tx.ex(), f.linked, "sea-turns-rough", app.now())
            .await
            .unwrap();
        masthead::db::settings::bump_content_epoch(tx.ex())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let (_, html) = app.get_text(&page).await;
    assert!(
        html.contains(&format!("href=\"/india/sea-turns-rough-{}\"", f.linked)),
        "the link follows the story's identity"
    );
}

#[tokio::test]
async fn an_edited_story_is_served_fresh_not_from_the_cache() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let page = story_url(&app, f.story).await;
    let (_, before) = app.get_text(&page).await;
    assert!(before.contains("Paragraph 1 of the story"));
    {
        let mut c = app.db.write().await.unwrap();
        let body = masthead::domain::body::to_json(&[masthead::domain::body::Block::Paragraph {
            text: "A corrected first paragraph.".into(),
        }]);
        stories::set_body(c.ex(), f.story, &body, app.now())
            .await
            .unwrap();
    }
    let (_, after) = app.get_text(&page).await;
    assert!(
        after.contains("A corrected first paragraph.")
            && !after.contains("Paragraph 1 of the story")
    );
}

#[tokio::test]
async fn an_edit_made_elsewhere_is_seen_once_the_poll_window_has_passed() {
    let app = spawn_app_with(|l| masthead::config::Layer {
        change_poll_ms: Some(1_000),
        ..l
    })
    .await;
    let f = fixture(&app).await;
    let page = story_url(&app, f.story).await;
    assert!(
        app.get_text(&page)
            .await
            .1
            .contains("Paragraph 1 of the story")
    );
    // Another instance edits the story: it bumps the counter in the database.
    {
        let mut c = app.db.write().await.unwrap();
        let body = masthead::domain::body::to_json(&[masthead::domain::body::Block::Paragraph {
            text: "Edited elsewhere.".into(),
        }]);
        stories::set_body(c.ex(), f.story, &body, app.now())
            .await
            .unwrap();
    }
    // Within the window this instance serves the page from memory ...
    assert!(
        app.get_text(&page)
            .await
            .1
            .contains("Paragraph 1 of the story")
    );
    // ... and once it has passed, the edit.
    app.clock.advance(jiff::SignedDuration::from_millis(1_001));
    assert!(app.get_text(&page).await.1.contains("Edited elsewhere."));
}

#[tokio::test]
async fn a_gzip_reader_gets_the_same_page_compressed() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let page = story_url(&app, f.story).await;
    let plain = app.get_text(&page).await.1;
    let r = app
        .client
        .get(format!("{}{page}", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert!(
        r.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Accept-Encoding")
    );
    let bytes = r.bytes().await.unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).unwrap();
    assert_eq!(out, plain);
    assert!(bytes.len() * 2 < plain.len());
}

#[tokio::test]
async fn drafts_and_scheduled_stories_are_not_served_until_their_time() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let hour = 3_600_000_000i64;
    let scheduled = add_story(
        &app,
        StorySpec {
            section: f.india,
            headline: "Budget session to open next week",
            level: "metered",
            published_at: app.now() + 2 * hour,
            updated_at: None,
            body: paragraphs(2),
            lead: None,
            authors: vec![f.reporter],
            topics: vec![],
            status: "published",
        },
    )
    .await;
    let draft = add_story(
        &app,
        StorySpec {
            section: f.india,
            headline: "An unfinished draft",
            level: "metered",
            published_at: app.now() - hour,
            updated_at: None,
            body: paragraphs(2),
            lead: None,
            authors: vec![],
            topics: vec![],
            status: "draft",
        },
    )
    .await;
    let url = story_url(&app, scheduled).await;
    assert_eq!(app.get(&url).await.status(), 404);
    assert!(!app.get_text("/india").await.1.contains("Budget session"));
    app.clock.advance(jiff::SignedDuration::from_hours(3));
    assert_eq!(app.get(&url).await.status(), 200);
    assert!(app.get_text("/india").await.1.contains("Budget session"));
    assert_eq!(app.get(&story_url(&app, draft).await).await.status(), 404);
}

#[tokio::test]
async fn unknown_paths_and_ids_get_the_404_page_in_the_site_layout() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for path in [
        "/no-such-section",
        "/india/nothing-here-999999",
        "/india/no-id-at-all",
        "/topic/nothing",
        "/author/nobody",
        "/a/b/c",
    ] {
        let (status, html) = app.get_text(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            html.contains("Page not found") && html.contains("The Test Herald"),
            "{path}: {html}"
        );
    }
    // A story id in the wrong place is still not found.
    assert_eq!(
        app.get(&format!("/topic/x-{}", f.story)).await.status(),
        404
    );
}

#[tokio::test]
async fn malformed_page_numbers_get_a_400_page_that_says_what_was_wrong() {
    let app = spawn_app().await;
    fixture(&app).await;
    for (q, says) in [
        ("page=abc", "“abc” is not"),
        ("page=-1", "“-1” is not"),
        ("page=0", "“0” is not"),
        ("page=1.5", "“1.5” is not"),
    ] {
        let (status, html) = app.get_text(&format!("/india?{q}")).await;
        assert_eq!(status, 400, "{q}");
        assert!(
            html.contains("Bad request") && html.contains(says),
            "{q}: {html}"
        );
    }
    let r = app.get("/api/stories?page=x").await;
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_request");
}

#[tokio::test]
async fn lists_are_paginated_twenty_to_a_page() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for i in 0..25 {
        add_story(
            &app,
            StorySpec {
                section: f.world,
                headline: &format!("World story number {i}"),
                level: "metered",
                published_at: app.now() - (i + 100) * 60_000_000,
                updated_at: None,
                body: paragraphs(1),
                lead: None,
                authors: vec![f.agency],
                topics: vec![],
                status: "published",
            },
        )
        .await;
    }
    let (_, p1) = app.get_text("/world").await;
    assert_eq!(p1.matches("class=\"card card-row\"").count(), 20);
    assert!(p1.contains("Page 1 of 2") && p1.contains(r#"rel="next" href="/world?page=2""#));
    let (s2, p2) = app.get_text("/world?page=2").await;
    assert_eq!(s2, 200);
    assert_eq!(p2.matches("class=\"card card-row\"").count(), 6);
    assert!(p2.contains("World story number 24"));
    assert_eq!(app.get("/world?page=3").await.status(), 404);
}

#[tokio::test]
async fn topic_and_author_pages_list_their_stories() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (s, html) = app.get_text("/topic/monsoon").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Monsoon reaches Kerala") && html.contains("Fishermen told to stay ashore")
    );
    assert!(!html.contains("Talks on river water"));
    let (_, html) = app.get_text("/author/unw").await;
    assert!(
        html.contains("News agency")
            && html.contains("Talks on river water")
            && !html.contains("Fishermen told")
    );
    let _ = f;
}

#[tokio::test]
async fn over_long_addresses_get_414_and_huge_headers_431() {
    let app = spawn_app().await;
    let long = format!("/india?q={}", "a".repeat(5000));
    assert_eq!(app.get(&long).await.status(), 414);
    let r = app
        .client
        .get(format!("{}/", app.base))
        .header("x-big", "b".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
}

#[tokio::test]
async fn the_health_check_answers_when_the_database_does() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn static_files_are_served_under_their_content_hash() {
    let app = spawn_app().await;
    fixture(&app).await;
    let (_, html) = app.get_text("/").await;
    let css = html
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(
        css.starts_with("/static/site.")
            && css.ends_with(".css")
            && css.len() > "/static/site.css".len(),
        "{css}"
    );
    let r = app.get(&css).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let r = app.get("/static/site.0000000000.css").await;
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in ["/", "/nothing"] {
        let r = app.get(path).await;
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'self'")
        );
    }
}
