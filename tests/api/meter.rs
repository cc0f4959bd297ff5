//! The meter and the walls as an anonymous reader meets them.

use crate::helpers::*;
use masthead::db::settings;

/// A reader's browser: keeps the meter cookie between requests.
struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    ip: Option<&'a str>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookie: None,
            ip: None,
        }
    }

    async fn open(&mut self, path: &str) -> (u16, String, reqwest::header::HeaderMap) {
        let mut req = self.app.client.get(format!("{}{path}", self.app.base));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c.clone());
        }
        if let Some(ip) = self.ip {
            req = req.header("x-forwarded-for", ip);
        }
        let r = req.send().await.unwrap();
        let headers = r.headers().clone();
        if let Some(set) = headers.get("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"),
                "{set}"
            );
            self.cookie = Some(set.split(';').next().unwrap().to_string());
        }
        (r.status().as_u16(), r.text().await.unwrap(), headers)
    }
}

fn is_walled(html: &str) -> bool {
    html.contains("class=\"wall\"")
}

#[tokio::test]
async fn an_anonymous_reader_gets_three_free_stories_then_the_registration_wall() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 4).await;
    let mut b = Browser::new(&app);
    let (_, first, headers) = b.open(&urls[0]).await;
    assert!(!is_walled(&first) && first.contains(LINE_PAST_THE_CUT));
    assert!(
        first.contains("You have 2 free stories left this month."),
        "{first}"
    );
    assert_eq!(headers["cache-control"], "private, no-cache");
    assert!(
        b.open(&urls[1])
            .await
            .1
            .contains("You have 1 free story left this month.")
    );
    assert!(
        b.open(&urls[2])
            .await
            .1
            .contains("This is your last free story this month.")
    );
    // A story read this month opens again without counting.
    let (_, again, _) = b.open(&urls[0]).await;
    assert!(!is_walled(&again) && again.contains(LINE_PAST_THE_CUT));
    // Free stories are never counted.
    let (_, free, _) = b.open(&story_url(&app, f.linked).await).await;
    assert!(!is_walled(&free) && !free.contains("free stories left"));
    // The fourth metered story: the teaser and the wall, no text past the cut.
    let (status, walled, _) = b.open(&urls[3]).await;
    assert_eq!(status, 200);
    assert!(is_walled(&walled), "{walled}");
    assert!(walled.contains("You have read your 3 free stories this month"));
    assert!(
        walled.contains(&format!("/account/register?next={}", urls[3])),
        "{walled}"
    );
    assert!(walled.contains("Paragraph 3 of the story") && !walled.contains(LINE_PAST_THE_CUT));
    assert!(!walled.contains("Paragraph 5 of the story"));
}

#[tokio::test]
async fn the_teaser_is_cut_the_same_way_in_the_gzipped_page() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 4).await;
    let mut b = Browser::new(&app);
    for u in &urls[..3] {
        b.open(u).await;
    }
    let r = app
        .client
        .get(format!("{}{}", app.base, urls[3]))
        .header("cookie", b.cookie.clone().unwrap())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let bytes = r.bytes().await.unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html)
        .unwrap();
    assert!(is_walled(&html) && !html.contains(LINE_PAST_THE_CUT));
    assert!(
        html.ends_with("</html>\n") || html.ends_with("</html>"),
        "the whole page decompresses"
    );
}

#[tokio::test]
async fn a_forged_meter_cookie_counts_as_a_new_reader() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 4).await;
    let mut b = Browser::new(&app);
    for u in &urls[..3] {
        b.open(u).await;
    }
    assert!(is_walled(&b.open(&urls[3]).await.1));
    // Rewriting the cookie to forget the reads does not pass the signature.
    let cookie = b.cookie.clone().unwrap();
    let (name, value) = cookie.split_once('=').unwrap();
    let (payload, sig) = value.rsplit_once('.').unwrap();
    let period = payload.split(':').next().unwrap();
    b.cookie = Some(format!("{name}={period}:.{sig}"));
    let (_, html, _) = b.open(&urls[3]).await;
    assert!(!is_walled(&html), "a new reader gets a fresh allowance");
    assert!(html.contains("You have 2 free stories left"));
}

#[tokio::test]
async fn the_allowance_starts_again_with_the_month_in_the_publication_zone() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 4).await;
    // 23:00 IST on November 30, 2020.
    app.clock.set("2020-11-30T17:30:00Z".parse().unwrap());
    let mut b = Browser::new(&app);
    for u in &urls[..3] {
        b.open(u).await;
    }
    assert!(is_walled(&b.open(&urls[3]).await.1));
    // 00:30 IST on December 1: a new month in India (still November in UTC).
    app.clock.set("2020-11-30T19:00:00Z".parse().unwrap());
    assert!(!is_walled(&b.open(&urls[3]).await.1));
}

#[tokio::test]
async fn subscriber_stories_stop_anonymous_readers_at_once() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let id = add_story(
        &app,
        StorySpec {
            section: f.india,
            headline: "An investigation for subscribers",
            level: "subscribers",
            published_at: app.now() - 60_000_000,
            updated_at: None,
            body: paragraphs(6),
            lead: None,
            authors: vec![f.reporter],
            topics: vec![],
            status: "published",
        },
    )
    .await;
    let (_, html) = app.get_text(&story_url(&app, id).await).await;
    assert!(html.contains("This story is for subscribers") && !html.contains(LINE_PAST_THE_CUT));
    assert!(html.contains("Already a subscriber? Sign in"));
}

#[tokio::test]
async fn listed_crawler_addresses_read_everything_but_a_crawler_user_agent_alone_does_not() {
    let app = spawn_app_with(|l| masthead::config::Layer {
        trusted_proxies: Some(vec!["127.0.0.1".into()]),
        ..l
    })
    .await;
    let f = fixture(&app).await;
    {
        let mut c = app.db.write().await.unwrap();
        let access = settings::AccessSettings {
            crawler_ranges: vec!["66.249.64.0/19".into()],
            ..Default::default()
        };
        settings::put(c.ex(), "access", &access).await.unwrap();
        settings::bump_content_epoch(c.ex()).await.unwrap();
    }
    let urls = metered_stories(&app, &f, 4).await;
    let mut crawler = Browser::new(&app);
    crawler.ip = Some("66.249.66.1");
    for u in &urls {
        let (_, html, _) = crawler.open(u).await;
        assert!(!is_walled(&html) && html.contains(LINE_PAST_THE_CUT));
    }
    assert!(crawler.cookie.is_none(), "crawlers are not metered");
    let mut pretender = Browser::new(&app);
    pretender.ip = Some("203.0.113.7");
    for u in &urls[..3] {
        pretender.open(u).await;
    }
    let r = app
        .client
        .get(format!("{}{}", app.base, urls[3]))
        .header("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)")
        .header("x-forwarded-for", "203.0.113.7")
        .header("cookie", pretender.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert!(is_walled(&r.text().await.unwrap()));
}

/// The shared leak test: a sentence from late in a walled story is absent
/// from every channel that exists. Later features add their channels here.
#[tokio::test]
async fn text_past_the_cut_leaves_the_server_in_no_channel() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let id = add_story(
        &app,
        StorySpec {
            section: f.india,
            headline: "A walled story",
            level: "subscribers",
            published_at: app.now() - 60_000_000,
            updated_at: None,
            body: paragraphs(6),
            lead: None,
            authors: vec![f.reporter],
            topics: vec![f.monsoon_topic],
            status: "published",
        },
    )
    .await;
    let url = story_url(&app, id).await;
    let channels = [
        url.clone(),
        "/".into(),
        "/india".into(),
        "/topic/monsoon".into(),
        "/author/asha-menon".into(),
        "/feed.xml".into(),
        "/atom.xml".into(),
        "/india/feed.xml".into(),
        "/india/atom.xml".into(),
        "/topic/monsoon/feed.xml".into(),
        "/topic/monsoon/atom.xml".into(),
        "/sitemap.xml".into(),
        "/news-sitemap.xml".into(),
        "/api/stories".into(),
        format!("/api/stories/{id}"),
    ];
    for path in channels {
        let (status, body) = app.get_text(&path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            !body.contains(LINE_PAST_THE_CUT),
            "text past the cut in {path}"
        );
    }
    let r = app
        .client
        .get(format!("{}{url}", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    let bytes = r.bytes().await.unwrap();
    let mut html = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut html)
        .unwrap();
    assert!(!html.contains(LINE_PAST_THE_CUT));

    // Newsletters: an issue carrying the story, sent to an address without
    // an account and to a member without a subscription.
    use crate::newsletter_send::{add_newsletter, add_subscriber};
    let nl = add_newsletter(&app, "leak-check", "editorial").await;
    add_subscriber(&app, nl, "reader@example.org", None).await;
    let member = {
        let mut c = app.db.write().await.unwrap();
        masthead::db::members::insert(
            c.ex(),
            &masthead::domain::email::Email::parse("member@example.org").unwrap(),
            "",
            None,
            "member",
            app.now(),
        )
        .await
        .unwrap()
    };
    add_subscriber(&app, nl, "member@example.org", member).await;
    let issue = {
        let mut d = masthead::newsletters::issues::Draft {
            subject: "The week".into(),
            intro: String::new(),
            stories: vec![id],
        };
        d.check().unwrap();
        let mut c = app.db.write().await.unwrap();
        let issue = masthead::newsletters::issues::create(c.ex(), nl, &d, None, app.now())
            .await
            .unwrap();
        masthead::newsletters::issues::start(c.ex(), issue, app.now())
            .await
            .unwrap();
        issue
    };
    let (transport, sent) = masthead::mail::Transport::memory();
    let sender = masthead::newsletters::send::Sender::for_state(&app.state, transport).unwrap();
    while sender.step().await.unwrap().busy() {}
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "issue {issue} went to both");
    for m in sent.iter() {
        let flat = m.raw.replace("=\r\n", "");
        assert!(flat.contains("A walled story"), "the story is in the mail");
        assert!(
            !flat.contains(LINE_PAST_THE_CUT),
            "text past the cut in the mail to {:?}",
            m.to
        );
    }
    for path in [format!("/desk/issues/{issue}/preview?as=member")] {
        // The desk's preview is for editors only.
        assert_eq!(app.get_text(&path).await.0, 403, "{path}");
    }
}
