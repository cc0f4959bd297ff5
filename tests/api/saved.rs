//! Saved stories: the save button on the story page and on lists, the Saved
//! page, and what a member can and cannot do to a list.

use crate::accounts::{Browser, hidden, register_and_confirm};
use crate::helpers::*;
use masthead::db::settings;

/// The save form's fields in a page, for the story with `id`.
fn save_form(body: &str, id: i64) -> Option<(String, String)> {
    let marker = format!("name=\"story\" value=\"{id}\"");
    let at = body.find(&marker)?;
    let form_start = body[..at].rfind("<form")?;
    let form_end = at + body[at..].find("</form>")?;
    let form = &body[form_start..form_end];
    let action = if form.contains("value=\"remove\"") {
        "remove"
    } else {
        "save"
    };
    Some((hidden(form, "csrf"), action.to_string()))
}

async fn save(b: &mut Browser<'_>, page: &str, id: i64) -> crate::accounts::Page {
    let body = b.get(page).await.body;
    let (csrf, action) = save_form(&body, id).expect("a save form");
    assert_eq!(action, "save", "the story is not saved yet");
    b.post(
        "/account/saved",
        &[
            ("csrf", &csrf),
            ("story", &id.to_string()),
            ("action", "save"),
            ("next", page),
        ],
    )
    .await
}

#[tokio::test]
async fn a_member_saves_a_story_and_finds_it_on_the_saved_page() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = story_url(&app, f.story).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "reader@example.org", "/").await;

    let done = save(&mut b, &url, f.story).await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some(url.as_str()));
    let page = b.get(&url).await.body;
    assert_eq!(save_form(&page, f.story).unwrap().1, "remove");
    assert!(page.contains("aria-pressed=\"true\""));

    let saved = b.get("/account/saved").await;
    assert_eq!(saved.status, 200);
    assert!(
        saved
            .body
            .contains("1 story, the most recently saved first")
    );
    assert!(saved.body.contains(&url), "{}", saved.body);
    assert!(saved.body.contains("Saved <time"));

    // Saving twice keeps one entry; removing empties the list.
    let again = b.get(&url).await.body;
    let (csrf, _) = save_form(&again, f.story).unwrap();
    let id = f.story.to_string();
    b.post(
        "/account/saved",
        &[("csrf", &csrf), ("story", &id), ("action", "save")],
    )
    .await;
    assert!(
        b.get("/account/saved")
            .await
            .body
            .contains("1 story, the most recently saved first")
    );
    let removed = b
        .post(
            "/account/saved",
            &[("csrf", &csrf), ("story", &id), ("action", "remove")],
        )
        .await;
    assert_eq!(removed.status, 303);
    let empty = b.get("/account/saved").await.body;
    assert!(
        empty.contains("You have not saved any stories yet."),
        "{empty}"
    );
}

#[tokio::test]
async fn the_saved_page_lists_stories_in_the_order_they_were_saved() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "reader@example.org", "/").await;
    // Older story first, then the newer one: the newer save comes first.
    let (first, second) = (f.linked, f.story);
    for id in [first, second] {
        let url = story_url(&app, id).await;
        assert_eq!(save(&mut b, &url, id).await.status, 303);
        app.clock.advance(jiff::SignedDuration::from_secs(60));
    }
    let page = b.get("/account/saved").await.body;
    let at = |id: i64| {
        page.find(&format!("name=\"story\" value=\"{id}\""))
            .unwrap()
    };
    assert!(at(second) < at(first), "most recently saved first");
}

#[tokio::test]
async fn saving_from_a_section_list_marks_the_story_in_the_list() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut b = Browser::new(&app);
    // Anonymous readers get no save buttons on lists.
    let anonymous = b.get("/india").await.body;
    assert!(save_form(&anonymous, f.story).is_none());
    register_and_confirm(&mut b, "reader@example.org", "/").await;
    let done = save(&mut b, "/india", f.story).await;
    assert_eq!(done.location.as_deref(), Some("/india"));
    let list = b.get("/india").await.body;
    assert_eq!(save_form(&list, f.story).unwrap().1, "remove");
}

#[tokio::test]
async fn the_script_gets_an_answer_in_json() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = story_url(&app, f.story).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "reader@example.org", "/").await;
    let (csrf, _) = save_form(&b.get(&url).await.body, f.story).unwrap();
    let cookies = b
        .jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let r = app
        .client
        .post(format!("{}/account/saved", app.base))
        .header("cookie", cookies)
        .header("accept", "application/json")
        .form(&[
            ("csrf", csrf.as_str()),
            ("story", &f.story.to_string()),
            ("action", "save"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v, serde_json::json!({ "saved": true }));
}

#[tokio::test]
async fn an_anonymous_reader_is_asked_to_sign_in_and_nothing_is_saved() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = story_url(&app, f.story).await;
    let mut b = Browser::new(&app);
    let page = b.get(&url).await.body;
    let encoded: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    assert!(
        page.contains(&format!(
            "class=\"save-button\" href=\"/account/sign-in?next={url}\""
        )),
        "{page}"
    );
    let r = b
        .post(
            "/account/saved",
            &[
                ("csrf", "x"),
                ("story", &f.story.to_string()),
                ("action", "save"),
                ("next", &url),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location.unwrap(),
        format!("/account/sign-in?next={encoded}")
    );
    assert_eq!(b.get("/account/saved").await.status, 303);
    assert_eq!(saved_rows(&app).await, 0);
}

#[tokio::test]
async fn a_save_without_the_right_csrf_token_is_refused() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "reader@example.org", "/").await;
    let id = f.story.to_string();
    for csrf in ["", "not-the-token"] {
        let r = b
            .post(
                "/account/saved",
                &[("csrf", csrf), ("story", &id), ("action", "save")],
            )
            .await;
        assert_eq!(r.status, 403, "csrf {csrf:?}");
    }
    assert_eq!(saved_rows(&app).await, 0);
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = story_url(&app, f.story).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "reader@example.org", "/").await;
    let (csrf, _) = save_form(&b.get(&url).await.body, f.story).unwrap();
    let id = f.story.to_string();
    let r = b
        .post(
            "/account/saved",
            &[("csrf", &csrf), ("story", &id), ("action", "keep")],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("action=save or action=remove"),
        "{}",
        r.body
    );
    let r = b
        .post(
            "/account/saved",
            &[("csrf", &csrf), ("story", "999999"), ("action", "save")],
        )
        .await;
    assert_eq!(r.status, 404);
    // A draft cannot be saved either: it does not exist for readers.
    let draft = add_story(
        &app,
        StorySpec {
            section: f.india,
            headline: "Not out yet",
            level: "free",
            published_at: app.now() - 60_000_000,
            updated_at: None,
            body: paragraphs(2),
            lead: None,
            authors: vec![f.reporter],
            topics: vec![],
            status: "draft",
        },
    )
    .await;
    let r = b
        .post(
            "/account/saved",
            &[
                ("csrf", &csrf),
                ("story", &draft.to_string()),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, 404);
    // `next` never leads off the site.
    let r = b
        .post(
            "/account/saved",
            &[
                ("csrf", &csrf),
                ("story", &id),
                ("action", "save"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(r.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn a_member_sees_and_changes_only_their_own_list() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = story_url(&app, f.story).await;
    let mut alice = Browser::new(&app);
    register_and_confirm(&mut alice, "alice@example.org", "/").await;
    assert_eq!(save(&mut alice, &url, f.story).await.status, 303);

    let mut bob = Browser::new(&app);
    register_and_confirm(&mut bob, "bob@example.org", "/").await;
    // Bob's list is his own, whatever the address says.
    for path in [
        "/account/saved",
        "/account/saved?member=1",
        "/account/saved?id=1",
    ] {
        let page = bob.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            page.body.contains("You have not saved any stories yet."),
            "{path}"
        );
    }
    // Bob's "remove" touches Bob's list only.
    let (csrf, _) = save_form(&bob.get(&url).await.body, f.story).unwrap();
    bob.post(
        "/account/saved",
        &[
            ("csrf", &csrf),
            ("story", &f.story.to_string()),
            ("action", "remove"),
        ],
    )
    .await;
    // And Alice's token is no good in Bob's session.
    let (alice_csrf, _) = save_form(&alice.get(&url).await.body, f.story).unwrap();
    let r = bob
        .post(
            "/account/saved",
            &[
                ("csrf", &alice_csrf),
                ("story", &f.linked.to_string()),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(alice.get("/account/saved").await.body.contains(&url));
    assert_eq!(saved_rows(&app).await, 1);
}

#[tokio::test]
async fn a_saved_story_opens_under_the_same_meter() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    {
        let mut c = app.db.write().await.unwrap();
        let mut access = settings::access(c.ex()).await.unwrap();
        access.limits.member = 1;
        settings::put(c.ex(), "access", &access).await.unwrap();
        settings::bump_content_epoch(c.ex()).await.unwrap();
    }
    let urls = metered_stories(&app, &f, 2).await;
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "reader@example.org", "/").await;
    let second_id: i64 = urls[1].rsplit('-').next().unwrap().parse().unwrap();
    // Saving a story does not read it ...
    let first = b.get(&urls[0]).await.body;
    assert!(first.contains(LINE_PAST_THE_CUT));
    let body = first.clone();
    let csrf = hidden(&body, "csrf");
    b.post(
        "/account/saved",
        &[
            ("csrf", &csrf),
            ("story", &second_id.to_string()),
            ("action", "save"),
        ],
    )
    .await;
    // ... and opening it from the Saved page past the limit meets the wall.
    let saved = b.get("/account/saved").await.body;
    assert!(saved.contains(&urls[1]));
    let opened = b.get(&urls[1]).await.body;
    assert!(opened.contains("class=\"wall\""), "{opened}");
    assert!(!opened.contains(LINE_PAST_THE_CUT));
}

async fn saved_rows(app: &TestApp) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_one!(c.ex(), N, "select count(*) as n from saved_stories")
        .unwrap()
        .n
}
