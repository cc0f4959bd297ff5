//! RSS and Atom, read back with a real feed parser.

use crate::helpers::*;

async fn parse(app: &TestApp, path: &str, content_type: &str) -> feed_rs::model::Feed {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(content_type),
        "{path}"
    );
    let bytes = r.bytes().await.unwrap();
    feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{path} does not parse: {e}"))
}

#[tokio::test]
async fn the_site_feeds_parse_and_link_to_stories_at_the_public_address() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for (path, ct) in [
        ("/feed.xml", "application/rss+xml"),
        ("/atom.xml", "application/atom+xml"),
    ] {
        let feed = parse(&app, path, ct).await;
        assert_eq!(feed.entries.len(), 3, "{path}");
        let first = &feed.entries[0];
        assert_eq!(
            first.title.as_ref().unwrap().content,
            "Monsoon reaches Kerala three days early"
        );
        let link = &first.links[0].href;
        assert_eq!(
            link,
            &format!("https://news.example{}", story_url(&app, f.story).await),
            "{path}"
        );
        assert_eq!(
            first.published.unwrap().to_rfc3339(),
            "2020-11-25T00:16:00+00:00"
        );
        let summary = first.summary.as_ref().unwrap().content.clone();
        assert!(summary.contains("Standfirst of"), "{path}: {summary}");
        assert!(
            first
                .authors
                .iter()
                .any(|a| a.name.as_deref() == Some("Asha Menon")),
            "{path}: {:?}",
            first.authors
        );
    }
}

#[tokio::test]
async fn feeds_carry_no_story_text() {
    let app = spawn_app().await;
    fixture(&app).await;
    for path in [
        "/feed.xml",
        "/atom.xml",
        "/india/feed.xml",
        "/topic/monsoon/atom.xml",
    ] {
        let (_, body) = app.get_text(path).await;
        assert!(
            !body.contains(LINE_PAST_THE_CUT) && !body.contains("Paragraph 1 of the story"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn section_and_topic_feeds_hold_only_their_stories() {
    let app = spawn_app().await;
    fixture(&app).await;
    let world = parse(&app, "/world/feed.xml", "application/rss+xml").await;
    let titles: Vec<_> = world
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(titles, vec!["Talks on river water resume in Livingstone"]);
    let monsoon = parse(&app, "/topic/monsoon/atom.xml", "application/atom+xml").await;
    assert_eq!(monsoon.entries.len(), 2);
    assert_eq!(app.get("/nowhere/feed.xml").await.status(), 404);
    assert_eq!(app.get("/topic/nothing/feed.xml").await.status(), 404);
}
