//! Sitemaps, robots.txt, Open Graph and JSON-LD.

use crate::helpers::*;

fn locs(xml: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    let mut in_loc = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"loc" => in_loc = true,
            quick_xml::events::Event::Text(t) if in_loc => {
                out.push(t.unescape().unwrap().into_owned())
            }
            quick_xml::events::Event::End(e) if e.name().as_ref() == b"loc" => in_loc = false,
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn the_sitemap_lists_pages_and_stories_at_the_public_address() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let (status, xml) = app.get_text("/sitemap.xml").await;
    assert_eq!(status, 200);
    let urls = locs(&xml);
    assert!(urls.contains(&"https://news.example/".to_string()));
    assert!(urls.contains(&"https://news.example/india".to_string()));
    assert!(urls.contains(&"https://news.example/topic/monsoon".to_string()));
    assert!(urls.contains(&format!(
        "https://news.example{}",
        story_url(&app, f.story).await
    )));
    assert!(xml.contains("<lastmod>"));
}

#[tokio::test]
async fn a_large_archive_gets_a_sitemap_index_whose_files_list_every_story() {
    let app = spawn_app_with(|l| masthead::config::Layer {
        sitemap_page_size: Some(2),
        ..l
    })
    .await;
    fixture(&app).await;
    let (_, xml) = app.get_text("/sitemap.xml").await;
    assert!(xml.contains("<sitemapindex"), "{xml}");
    let files = locs(&xml);
    assert_eq!(
        files,
        vec![
            "https://news.example/sitemaps/pages.xml".to_string(),
            "https://news.example/sitemaps/stories-1.xml".to_string(),
            "https://news.example/sitemaps/stories-2.xml".to_string(),
        ]
    );
    let mut stories = Vec::new();
    for f in &files[1..] {
        let path = f.trim_start_matches("https://news.example");
        stories.extend(locs(&app.get_text(path).await.1));
    }
    assert_eq!(stories.len(), 3);
    assert!(
        locs(&app.get_text("/sitemaps/pages.xml").await.1)
            .contains(&"https://news.example/world".to_string())
    );
    assert_eq!(app.get("/sitemaps/stories-3.xml").await.status(), 404);
    assert_eq!(app.get("/sitemaps/other.xml").await.status(), 404);
}

#[tokio::test]
async fn the_news_sitemap_holds_the_last_two_days_only() {
    let app = spawn_app().await;
    fixture(&app).await;
    let (_, xml) = app.get_text("/news-sitemap.xml").await;
    assert!(
        xml.contains("<news:name>The Test Herald</news:name>")
            && xml.contains("<news:language>en</news:language>")
    );
    let titles: Vec<&str> = xml
        .split("<news:title>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap())
        .collect();
    // 0 h and 30 h old are in; 50 h old is not.
    assert_eq!(
        titles,
        vec![
            "Monsoon reaches Kerala three days early",
            "Fishermen told to stay ashore as the sea turns rough"
        ]
    );
    app.clock.advance(jiff::SignedDuration::from_hours(20));
    let (_, xml) = app.get_text("/news-sitemap.xml").await;
    assert_eq!(xml.matches("<news:title>").count(), 1);
    locs(&xml);
}

#[tokio::test]
async fn robots_txt_names_the_sitemaps() {
    let app = spawn_app().await;
    let (_, body) = app.get_text("/robots.txt").await;
    assert!(body.contains("Sitemap: https://news.example/sitemap.xml"));
    assert!(body.contains("Sitemap: https://news.example/news-sitemap.xml"));
}

fn json_ld(html: &str) -> serde_json::Value {
    let start = html
        .find("<script type=\"application/ld+json\">")
        .expect("JSON-LD")
        + "<script type=\"application/ld+json\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).expect("JSON-LD parses")
}

#[tokio::test]
async fn a_story_carries_news_article_json_ld_with_the_paywall_markup() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = story_url(&app, f.story).await;
    let (_, html) = app.get_text(&url).await;
    let ld = json_ld(&html);
    assert_eq!(ld["@type"], "NewsArticle");
    assert_eq!(ld["headline"], "Monsoon reaches Kerala three days early");
    assert_eq!(ld["datePublished"], "2020-11-25T00:16:00Z");
    assert_eq!(ld["dateModified"], "2020-11-25T00:16:00Z");
    assert_eq!(ld["author"][0]["name"], "Asha Menon");
    assert_eq!(ld["author"][0]["@type"], "Person");
    assert_eq!(ld["author"][1]["@type"], "Organization");
    assert_eq!(ld["publisher"]["name"], "The Test Herald");
    assert_eq!(ld["articleSection"], "India");
    assert_eq!(
        ld["mainEntityOfPage"]["@id"],
        format!("https://news.example{url}")
    );
    assert!(
        ld["image"][0]
            .as_str()
            .unwrap()
            .starts_with("https://news.example/media/")
    );
    assert_eq!(ld["isAccessibleForFree"], false);
    assert_eq!(ld["hasPart"]["cssSelector"], ".story-paywalled");
    // A free story says so, without the paywall part.
    let (_, html) = app.get_text(&story_url(&app, f.linked).await).await;
    let ld = json_ld(&html);
    assert_eq!(ld["isAccessibleForFree"], true);
    assert!(ld.get("hasPart").is_none());
}

#[tokio::test]
async fn links_are_built_from_the_public_address_never_the_host_header() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = story_url(&app, f.story).await;
    let r = app
        .client
        .get(format!("{}{url}", app.base))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(!html.contains("evil.example"));
    assert!(html.contains(&format!(
        r#"<link rel="canonical" href="https://news.example{url}">"#
    )));
    assert!(html.contains(&format!(
        r#"<meta property="og:url" content="https://news.example{url}">"#
    )));
    assert!(html.contains(r#"<meta property="og:image" content="https://news.example/media/"#));
    assert!(html.contains(
        r#"<meta property="og:title" content="Monsoon reaches Kerala three days early">"#
    ));
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = spawn_app().await;
    fixture(&app).await;
    let doc: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/healthz"].is_object() && doc["paths"]["/api/stories/{id}"].is_object());
    assert_eq!(doc["servers"][0]["url"], "https://news.example");
    let list: serde_json::Value = app.get("/api/stories").await.json().await.unwrap();
    assert_eq!(list["total"], 3);
    let first = &list["stories"][0];
    for key in [
        "id",
        "url",
        "headline",
        "standfirst",
        "section",
        "published",
        "bylines",
        "access_level",
    ] {
        assert!(
            !first[key].is_null(),
            "{key} is in the document's required list"
        );
    }
    let body = app.get_text("/api/stories").await.1;
    assert!(!body.contains(LINE_PAST_THE_CUT));
    assert_eq!(app.get("/api/stories/99999").await.status(), 404);
}
