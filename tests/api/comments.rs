//! Comments through the real router: posting held to the guidelines,
//! threads, edits, likes, reports, closed stories, bad input, the member's
//! own page, reply mail and the moderators' desk.

use crate::accounts::{Browser, Page, hidden, last_mail};
use crate::helpers::*;
use masthead::db::members;

const CIVIL: &str = "The council should publish the full budget before the vote, so that residents can see where the money goes.";
const HINDI: &str = "यह बहुत अच्छी खबर है, सरकार को इस पर जल्दी काम करना चाहिए।";
const INSULT: &str =
    "You are an idiot and a moron, and everyone can see that you know nothing at all.";

async fn comments_url(app: &TestApp, story: i64) -> String {
    format!("{}/comments", story_url(app, story).await)
}

/// A signed-in member (registered and confirmed).
async fn member<'a>(app: &'a TestApp, email: &str) -> Browser<'a> {
    let mut b = Browser::new(app);
    crate::accounts::register_and_confirm(&mut b, email, "/").await;
    b
}

/// Posts `text` from the comments page's form (a reply when `parent`).
async fn post(b: &mut Browser<'_>, url: &str, story: i64, text: &str, parent: Option<i64>) -> Page {
    let page = match parent {
        Some(p) => b.get(&format!("{url}?reply={p}")).await,
        None => b.get(url).await,
    };
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let token = hidden(&page.body, "token");
    let story = story.to_string();
    let parent = parent.map(|p| p.to_string()).unwrap_or_default();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("story", story.as_str()),
        ("token", token.as_str()),
        ("body", text),
    ];
    if !parent.is_empty() {
        form.push(("parent", parent.as_str()));
    }
    b.post("/comments", &form).await
}

/// The id in a "posted" redirect.
fn posted_id(p: &Page) -> i64 {
    assert_eq!(p.status, 303, "{}", p.body);
    let loc = p.location.as_deref().unwrap();
    loc.split("posted=")
        .nth(1)
        .unwrap()
        .split('#')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn status_of(app: &TestApp, id: i64) -> String {
    let mut c = app.db.read().await.unwrap();
    masthead::db::comments::find(c.ex(), id)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn count_rows(app: &TestApp, sql: &str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_one!(c.ex(), N, sqlx::AssertSqlSafe(sql.to_string()))
        .unwrap()
        .n
}

async fn make_staff(app: &TestApp, email: &str, role: &str) {
    let mut c = app.db.write().await.unwrap();
    let m = members::by_email(
        c.ex(),
        &masthead::domain::email::Email::parse(email).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    members::set_role(c.ex(), m.id, role).await.unwrap();
}

#[tokio::test]
async fn a_civil_comment_is_shown_and_counted_under_the_story() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    let id = posted_id(&post(&mut b, &url, f.story, CIVIL, None).await);
    assert_eq!(status_of(&app, id).await, "visible");
    let page = b.get(&url).await.body;
    assert!(page.contains(CIVIL));
    assert!(page.contains("1 comment"));
    // Anyone sees it, and the story page shows it with the count.
    let (_, story) = app.get_text(&story_url(&app, f.story).await).await;
    assert!(story.contains("Comments (1)"), "{story}");
    assert!(story.contains(CIVIL));
    let (_, anonymous) = app.get_text(&url).await;
    assert!(anonymous.contains(CIVIL));
    assert!(anonymous.contains("Sign in to comment"));
    // Lists count them too, and the author's data download holds the comment.
    let (_, list) = app.get_text("/india").await;
    assert!(list.contains("/comments\">1 comment</a>"), "{list}");
    let data = b.get("/account/data.json").await.body;
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["comments"][0]["text"], CIVIL);
    assert_eq!(data["comments"][0]["status"], "visible");
}

#[tokio::test]
async fn the_walled_story_still_shows_its_comments() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let urls = metered_stories(&app, &f, 4).await;
    let fourth: i64 = urls[3].rsplit('-').next().unwrap().parse().unwrap();
    let mut b = member(&app, "reader@example.org").await;
    posted_id(
        &post(
            &mut b,
            &format!("{}/comments", urls[3]),
            fourth,
            CIVIL,
            None,
        )
        .await,
    );
    // An anonymous reader past the limit meets the wall, and the comments.
    let mut anon = Browser::new(&app);
    for u in &urls[..3] {
        anon.get(u).await;
    }
    let walled = anon.get(&urls[3]).await.body;
    assert!(walled.contains("class=\"wall\""));
    assert!(!walled.contains(LINE_PAST_THE_CUT));
    assert!(
        walled.contains(CIVIL),
        "comments are never hidden by the meter"
    );
}

#[tokio::test]
async fn an_anonymous_reader_is_sent_to_sign_in_and_nothing_is_stored() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut b = Browser::new(&app);
    let r = b
        .post(
            "/comments",
            &[
                ("story", &f.story.to_string()),
                ("body", CIVIL),
                ("token", "x".repeat(20).as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location.unwrap().starts_with("/account/sign-in?next="));
    assert_eq!(
        count_rows(&app, "select count(*) as n from comments").await,
        0
    );
}

#[tokio::test]
async fn a_comment_not_in_english_comes_back_with_the_reason_and_the_text() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    let r = post(&mut b, &url, f.story, HINDI, None).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("Your comment seems not to be in English"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(&format!(">{HINDI}</textarea>")),
        "the text stays in the box"
    );
    assert_eq!(
        count_rows(&app, "select count(*) as n from comments").await,
        0
    );
}

#[tokio::test]
async fn an_insult_is_not_shown_to_other_readers() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    let r = post(&mut b, &url, f.story, INSULT, None).await;
    match r.status {
        303 => {
            let id = posted_id(&r);
            assert_eq!(status_of(&app, id).await, "pending");
            let own = b.get(&url).await.body;
            assert!(own.contains("Awaiting review"));
        }
        422 => assert!(r.body.contains("attack a person"), "{}", r.body),
        s => panic!("status {s}"),
    }
    let (_, others) = app.get_text(&url).await;
    assert!(!others.contains(INSULT));
}

#[tokio::test]
async fn a_double_submit_makes_one_comment() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    let page = b.get(&url).await.body;
    let (csrf, token) = (hidden(&page, "csrf"), hidden(&page, "token"));
    let story = f.story.to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("story", story.as_str()),
        ("token", token.as_str()),
        ("body", CIVIL),
    ];
    let first = posted_id(&b.post("/comments", &form).await);
    let second = posted_id(&b.post("/comments", &form).await);
    assert_eq!(first, second);
    assert_eq!(
        count_rows(&app, "select count(*) as n from comments").await,
        1
    );
}

#[tokio::test]
async fn bad_text_gets_a_clear_error_and_stays_in_the_box() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    for (text, says) in [
        ("", "Write your comment before posting it."),
        ("   \n\t  ", "Write your comment before posting it."),
    ] {
        let r = post(&mut b, &url, f.story, text, None).await;
        assert_eq!(r.status, 422, "{text:?}");
        assert!(r.body.contains(says), "{text:?}");
    }
    let long = format!("{} ", CIVIL).repeat(200);
    let long = &long[..20_000];
    let r = post(&mut b, &url, f.story, long, None).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("characters long; the limit is 5,000"),
        "{}",
        r.body
    );
    assert!(r.body.contains(&long[..500]), "the text is kept");
    assert_eq!(
        count_rows(&app, "select count(*) as n from comments").await,
        0
    );
}

#[tokio::test]
async fn markup_and_hidden_characters_do_not_survive() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    let text = "I agree with the <script>alert(1)</script> point about the <b onmouseover=\"x()\">budget</b>, and the\u{202E} council should listen to the residents.";
    let id = posted_id(&post(&mut b, &url, f.story, text, None).await);
    let page = b.get(&url).await.body;
    assert!(!page.contains("<script>alert(1)"));
    assert!(!page.contains("<b onmouseover"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let mut c = app.db.read().await.unwrap();
    let stored = masthead::db::comments::find(c.ex(), id)
        .await
        .unwrap()
        .unwrap()
        .body;
    assert!(!stored.contains('\u{202E}'), "the override is removed");
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_read_not_refused() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let b = member(&app, "reader@example.org").await;
    let page = {
        let mut b2 = Browser::new(&app);
        b2.jar = b.jar.clone();
        b2.get(&url).await.body
    };
    let csrf = hidden(&page, "csrf");
    let token = hidden(&page, "token");
    let cookies = b
        .jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let body = format!(
        "csrf={}&story={}&token={}&body=The+council+should+publish+the+budget+%FF%FE+before+the+vote+so+residents+can+see+it.",
        url::form_urlencoded::byte_serialize(csrf.as_bytes()).collect::<String>(),
        f.story,
        token
    );
    let r = app
        .client
        .post(format!("{}/comments", app.base))
        .header("cookie", cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        r.status() == 303 || r.status() == 422,
        "a clear answer, not a failure: {}",
        r.status()
    );
    if r.status() == 303 {
        let mut c = app.db.read().await.unwrap();
        let rows = masthead::db::comments::by_member(c.ex(), 1, 10, 0)
            .await
            .unwrap();
        assert!(rows[0].comment.body.contains('\u{FFFD}'));
    }
}

#[tokio::test]
async fn edits_are_checked_again_and_close_after_the_window() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    let id = posted_id(&post(&mut b, &url, f.story, CIVIL, None).await);
    let page = b.get(&format!("{url}?edit={id}")).await.body;
    assert!(page.contains("Save changes"));
    let csrf = hidden(&page, "csrf");
    let edited = "The council should publish the whole budget a week before the vote, so residents can read it.";
    let r = b
        .post(
            &format!("/comments/{id}/edit"),
            &[("csrf", &csrf), ("body", edited)],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = b.get(&url).await.body;
    assert!(page.contains(edited) && page.contains("(edited)"));
    // An edit into another language is refused like a new comment.
    let r = b
        .post(
            &format!("/comments/{id}/edit"),
            &[("csrf", &csrf), ("body", HINDI)],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("not to be in English"));
    // After the window the server refuses, whatever the page showed.
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let r = b
        .post(
            &format!("/comments/{id}/edit"),
            &[
                ("csrf", &csrf),
                (
                    "body",
                    "A late change to my comment, which is too late now.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("can be edited for 15 minutes"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("A late change to my comment"),
        "the text is kept"
    );
    // Someone else's comment cannot be edited at all.
    let mut other = member(&app, "other@example.org").await;
    let csrf = hidden(&other.get(&url).await.body, "csrf");
    let r = other
        .post(
            &format!("/comments/{id}/edit"),
            &[("csrf", &csrf), ("body", CIVIL)],
        )
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn replies_thread_and_flatten_below_the_depth() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let mut b = member(&app, "b@example.org").await;
    let mut parent = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let mut ids = vec![parent];
    let topics = [
        "the budget",
        "the meeting",
        "the minutes",
        "the schools",
        "the roads",
    ];
    for (i, topic) in topics.iter().enumerate() {
        // Two readers answering each other, a few minutes apart.
        app.clock.advance(jiff::SignedDuration::from_mins(5));
        let who = if i % 2 == 0 { &mut b } else { &mut a };
        let text = format!(
            "This is reply number {i} in the chain, and it adds a new thought about {topic}."
        );
        parent = posted_id(&post(who, &url, f.story, &text, Some(parent)).await);
        ids.push(parent);
    }
    let page = a.get(&url).await.body;
    for i in 0..5 {
        assert!(page.contains(&format!("reply number {i}")));
    }
    // Depth 4 and 5 are shown at depth 3, saying whom they answer.
    assert!(page.contains(&format!("id=\"c{}\" style=\"--depth: 3\"", ids[4])));
    assert!(page.contains(&format!("id=\"c{}\" style=\"--depth: 3\"", ids[5])));
    assert!(page.contains("Replying to Priya Nair"));
    assert_eq!(page.matches("class=\"comment-thread\"").count(), 1);
}

#[tokio::test]
async fn a_deleted_comment_keeps_its_replies_and_cannot_be_answered() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let root = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let mut b = member(&app, "b@example.org").await;
    let reply = "I think the budget should also show what was spent last year, for comparison.";
    posted_id(&post(&mut b, &url, f.story, reply, Some(root)).await);
    let csrf = hidden(&a.get(&url).await.body, "csrf");
    let r = a
        .post(&format!("/comments/{root}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    let page = b.get(&url).await.body;
    assert!(page.contains("This comment was deleted."));
    assert!(!page.contains(CIVIL));
    assert!(page.contains(reply));
    // A reply to the deleted comment comes back, text kept.
    let page = b.get(&url).await.body;
    let csrf = hidden(&page, "csrf");
    let token = hidden(&page, "token");
    let later = "And one more thought about the budget, on a comment that has gone now.";
    let r = b
        .post(
            "/comments",
            &[
                ("csrf", &csrf),
                ("story", &f.story.to_string()),
                ("token", &token),
                ("body", later),
                ("parent", &root.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("no longer there"));
    assert!(r.body.contains(later));
}

#[tokio::test]
async fn likes_count_once_per_member_and_never_for_oneself() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let id = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let csrf_a = hidden(&a.get(&url).await.body, "csrf");
    let r = a
        .post(
            &format!("/comments/{id}/like"),
            &[("csrf", &csrf_a), ("like", "1")],
        )
        .await;
    assert_eq!(r.status, 400);
    let mut b = member(&app, "b@example.org").await;
    let csrf = hidden(&b.get(&url).await.body, "csrf");
    for _ in 0..2 {
        let r = b
            .post(
                &format!("/comments/{id}/like"),
                &[("csrf", &csrf), ("like", "1")],
            )
            .await;
        assert_eq!(r.status, 303);
    }
    let page = b.get(&url).await.body;
    assert!(
        page.contains("aria-pressed=\"true\">Like <span class=\"comment-likes\">1</span>"),
        "{page}"
    );
    b.post(
        &format!("/comments/{id}/like"),
        &[("csrf", &csrf), ("like", "0")],
    )
    .await;
    assert_eq!(
        count_rows(&app, "select like_count as n from comments").await,
        0
    );
    // Without the CSRF token nothing happens.
    let r = b
        .post(&format!("/comments/{id}/like"), &[("like", "1")])
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn sorting_by_likes_puts_the_most_liked_first() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let liked = "The first comment is the one people will like, because it says something useful.";
    let first = posted_id(&post(&mut a, &url, f.story, liked, None).await);
    app.clock.advance(jiff::SignedDuration::from_mins(1));
    let newer = "Nobody has asked what the new road will cost to keep up in ten years from now.";
    let mut b = member(&app, "b@example.org").await;
    posted_id(&post(&mut b, &url, f.story, newer, None).await);
    let csrf = hidden(&b.get(&url).await.body, "csrf");
    b.post(
        &format!("/comments/{first}/like"),
        &[("csrf", &csrf), ("like", "1")],
    )
    .await;
    let newest = b.get(&url).await.body;
    assert!(newest.find(newer).unwrap() < newest.find(liked).unwrap());
    let oldest = b.get(&format!("{url}?sort=oldest")).await.body;
    assert!(oldest.find(liked).unwrap() < oldest.find(newer).unwrap());
    let by_likes = b.get(&format!("{url}?sort=liked")).await.body;
    assert!(by_likes.find(liked).unwrap() < by_likes.find(newer).unwrap());
}

#[tokio::test]
async fn a_closed_story_takes_no_comments() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    {
        let mut c = app.db.write().await.unwrap();
        masthead::db::comments::set_story_closed(c.ex(), f.story, true)
            .await
            .unwrap();
    }
    let mut b = member(&app, "reader@example.org").await;
    let page = b.get(&url).await.body;
    assert!(page.contains("Comments on this story are closed."));
    assert!(!page.contains("name=\"token\""), "no form");
    // A form kept open from before is refused, text kept.
    let csrf = hidden(&page, "csrf");
    let r = b
        .post(
            "/comments",
            &[
                ("csrf", &csrf),
                ("story", &f.story.to_string()),
                ("token", &"t".repeat(20)),
                ("body", CIVIL),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Comments on this story are closed."));
    assert!(r.body.contains(CIVIL));
}

#[tokio::test]
async fn comments_close_after_the_days_the_publication_sets() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    {
        let mut c = app.db.write().await.unwrap();
        let mut s = masthead::db::settings::comments(c.ex()).await.unwrap();
        s.close_after_days = 2;
        masthead::db::settings::put(c.ex(), "comments", &s)
            .await
            .unwrap();
        masthead::db::settings::bump_content_epoch(c.ex())
            .await
            .unwrap();
    }
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    posted_id(&post(&mut b, &url, f.story, CIVIL, None).await);
    app.clock.advance(jiff::SignedDuration::from_hours(49));
    let page = b.get(&url).await.body;
    assert!(
        page.contains("Comments on this story closed 2 days after it was published."),
        "{page}"
    );
}

#[tokio::test]
async fn reports_reach_the_moderators_who_act_with_a_log() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let id = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let mut b = member(&app, "b@example.org").await;
    let page = b.get(&format!("{url}?report={id}")).await.body;
    assert!(page.contains("Why should a moderator look at this comment?"));
    let csrf = hidden(&page, "csrf");
    let r = b
        .post(
            &format!("/comments/{id}/report"),
            &[("csrf", &csrf), ("reason", "nonsense")],
        )
        .await;
    assert_eq!(r.status, 400);
    let r = b
        .post(
            &format!("/comments/{id}/report"),
            &[
                ("csrf", &csrf),
                ("reason", "off_topic"),
                ("note", "Not about the story."),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let back = r.location.unwrap();
    assert!(
        b.get(&back)
            .await
            .body
            .contains("Thank you for your report")
    );

    // A member is not a moderator.
    assert_eq!(b.get("/moderation").await.status, 403);
    let mut m = member(&app, "mod@example.org").await;
    make_staff(&app, "mod@example.org", "moderator").await;
    let queue = m.get("/moderation").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains(CIVIL));
    assert!(
        queue
            .body
            .contains("Reported: Off topic: “Not about the story.”"),
        "{}",
        queue.body
    );
    // Search by words of the text or the author's name; wildcards are plain.
    assert!(m.get("/moderation?q=BUDGET").await.body.contains(CIVIL));
    assert!(m.get("/moderation?q=priya").await.body.contains(CIVIL));
    for q in ["nothing+like+it", "%25", "_"] {
        let page = m.get(&format!("/moderation?q={q}")).await.body;
        assert!(!page.contains(CIVIL), "{q}");
    }
    let csrf = hidden(&queue.body, "csrf");
    let r = m
        .post(
            "/moderation",
            &[
                ("csrf", &csrf),
                ("ids", &id.to_string()),
                ("action", "approve"),
                ("note", "It is about the story."),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(!m.get("/moderation").await.body.contains(CIVIL), "resolved");
    let log = m.get("/moderation/log").await.body;
    assert!(
        log.contains("approve") && log.contains("It is about the story."),
        "{log}"
    );
    assert_eq!(
        count_rows(
            &app,
            "select count(*) as n from comment_reports where resolved_at is not null"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_held_comment_is_approved_from_the_queue_and_a_ban_stops_its_author() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    {
        let mut c = app.db.write().await.unwrap();
        let mut s = masthead::db::settings::comments(c.ex()).await.unwrap();
        s.policy = masthead::db::settings::ModerationPolicy::PreAll;
        masthead::db::settings::put(c.ex(), "comments", &s)
            .await
            .unwrap();
        masthead::db::settings::bump_content_epoch(c.ex())
            .await
            .unwrap();
    }
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let first = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    assert_eq!(status_of(&app, first).await, "pending");
    let (_, others) = app.get_text(&url).await;
    assert!(!others.contains(CIVIL));
    let mut m = member(&app, "mod@example.org").await;
    make_staff(&app, "mod@example.org", "moderator").await;
    let queue = m.get("/moderation").await.body;
    assert!(queue.contains(CIVIL));
    let csrf = hidden(&queue, "csrf");
    m.post(
        "/moderation",
        &[
            ("csrf", &csrf),
            ("ids", &first.to_string()),
            ("action", "approve"),
        ],
    )
    .await;
    assert_eq!(status_of(&app, first).await, "visible");
    let (_, others) = app.get_text(&url).await;
    assert!(others.contains(CIVIL));

    // A second comment waits; a ban takes it out of the queue and stops the author.
    let second_text =
        "Another thought: the council should also hold a public meeting before the vote.";
    let second = posted_id(&post(&mut a, &url, f.story, second_text, None).await);
    let third_text =
        "And a third thought, which also waits for a moderator before anyone can read it.";
    let third = posted_id(&post(&mut a, &url, f.story, third_text, None).await);
    m.post(
        "/moderation",
        &[
            ("csrf", &csrf),
            ("ids", &second.to_string()),
            ("action", "ban"),
            ("ban", "ban_7"),
        ],
    )
    .await;
    assert_eq!(status_of(&app, second).await, "rejected");
    assert_eq!(
        status_of(&app, third).await,
        "rejected",
        "pending comments leave the queue"
    );
    assert!(!m.get("/moderation").await.body.contains(third_text));
    let page = a.get(&url).await.body;
    assert!(page.contains("You cannot comment at the moment."));
    let csrf_a = hidden(&page, "csrf");
    let r = a
        .post(
            "/comments",
            &[
                ("csrf", &csrf_a),
                ("story", &f.story.to_string()),
                ("token", &"t".repeat(20)),
                ("body", CIVIL),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("You cannot comment until"), "{}", r.body);
    assert!(r.body.contains(CIVIL), "the text is kept");
    let history = m.get("/moderation/member/1").await.body;
    assert!(
        history.contains("Banned from commenting until"),
        "{history}"
    );
    assert!(history.contains("ban 7"));
}

#[tokio::test]
async fn my_comments_marks_new_replies_once() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let root = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let mine = a.get("/account/comments").await.body;
    assert!(mine.contains(CIVIL) && mine.contains("No replies yet."));
    app.clock.advance(jiff::SignedDuration::from_mins(1));
    let mut b = member(&app, "b@example.org").await;
    let reply = "I agree with you, and I would add that the budget should be in plain language.";
    posted_id(&post(&mut b, &url, f.story, reply, Some(root)).await);
    app.clock.advance(jiff::SignedDuration::from_mins(1));
    let mine = a.get("/account/comments").await.body;
    assert!(mine.contains(reply));
    assert!(mine.contains("1 new"), "{mine}");
    let again = a.get("/account/comments").await.body;
    assert!(again.contains(reply) && !again.contains("1 new"));
}

#[tokio::test]
async fn reply_mail_goes_to_those_who_asked_at_most_once_an_hour_a_thread() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let root = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let csrf = hidden(&a.get("/account/comments").await.body, "csrf");
    a.post("/account/comments", &[("csrf", &csrf), ("reply_mail", "1")])
        .await;
    let mails = || {
        count_rows(
            &app,
            "select count(*) as n from mail_outbox where subject like '%replied to your comment%'",
        )
    };
    let mut b = member(&app, "b@example.org").await;
    let reply = "I agree with you, and I would add that the budget should be in plain language.";
    posted_id(&post(&mut b, &url, f.story, reply, Some(root)).await);
    assert_eq!(mails().await, 1);
    let (subject, text) = last_mail(&app, "a@example.org").await;
    assert!(subject.contains("replied to your comment"), "{subject}");
    assert!(
        text.contains(reply) && text.contains("https://news.example/"),
        "{text}"
    );
    let second = "One more point: the meeting should be in the evening so that people can come.";
    posted_id(&post(&mut b, &url, f.story, second, Some(root)).await);
    assert_eq!(mails().await, 1, "one an hour per thread");
    app.clock.advance(jiff::SignedDuration::from_mins(61));
    let third = "A last point from me: the minutes of the meeting should be published as well.";
    posted_id(&post(&mut b, &url, f.story, third, Some(root)).await);
    assert_eq!(mails().await, 2);
}

/// Deletes the signed-in member's account through its form.
async fn delete_account(b: &mut Browser<'_>) {
    let page = b.get("/account/delete").await;
    let csrf = hidden(&page.body, "csrf");
    let done = b
        .post(
            "/account/delete",
            &[("csrf", &csrf), ("password", "monsoon-2026-rains")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
}

#[tokio::test]
async fn a_deleted_account_leaves_its_comments_anonymous_by_default() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let root = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let mut b = member(&app, "b@example.org").await;
    let csrf = hidden(&b.get(&url).await.body, "csrf");
    b.post(
        &format!("/comments/{root}/like"),
        &[("csrf", &csrf), ("like", "1")],
    )
    .await;
    delete_account(&mut b).await;
    assert_eq!(
        count_rows(&app, "select like_count as n from comments").await,
        0
    );
    delete_account(&mut a).await;
    let (_, page) = app.get_text(&url).await;
    assert!(page.contains(CIVIL), "the text stays");
    assert!(page.contains("A former member"));
    assert!(!page.contains("Priya Nair"));
    assert_eq!(
        count_rows(
            &app,
            "select count(*) as n from comments where member_id is not null"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_publication_may_delete_the_comments_of_a_deleted_account() {
    let app = spawn_app_with(|l| masthead::config::Layer {
        deleted_member_comments: Some("delete".into()),
        ..l
    })
    .await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let root = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    let mut b = member(&app, "b@example.org").await;
    let reply = "I agree with you, and I would add that the budget should be in plain language.";
    posted_id(&post(&mut b, &url, f.story, reply, Some(root)).await);
    delete_account(&mut a).await;
    let (_, page) = app.get_text(&url).await;
    assert!(!page.contains(CIVIL));
    assert!(
        page.contains("This comment was deleted."),
        "the reply keeps its place"
    );
    assert!(page.contains(reply));
}

#[tokio::test]
async fn the_publications_word_lists_apply_and_its_own_links_are_not_spam() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut b = member(&app, "reader@example.org").await;
    let own = format!(
        "There is more about this in the earlier report at https://news.example{}, which is worth reading first.",
        story_url(&app, f.linked).await
    );
    let id = posted_id(&post(&mut b, &url, f.story, &own, None).await);
    assert_eq!(status_of(&app, id).await, "visible");
    // An editor adds a word to the banned list: it applies to the next comment.
    {
        let mut c = app.db.write().await.unwrap();
        let g = serde_json::json!({ "banned": ["flibbertigibbet"] });
        masthead::db::settings::put(c.ex(), "guidelines", &g)
            .await
            .unwrap();
        masthead::db::settings::bump_content_epoch(c.ex())
            .await
            .unwrap();
    }
    let r = post(
        &mut b,
        &url,
        f.story,
        "The minister is behaving like a flibbertigibbet about this budget and everyone knows it.",
        None,
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("abusive language"), "{}", r.body);
}

#[tokio::test]
async fn the_moderators_decisions_train_the_model() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let url = comments_url(&app, f.story).await;
    let mut a = member(&app, "a@example.org").await;
    let kept = posted_id(&post(&mut a, &url, f.story, CIVIL, None).await);
    app.clock.advance(jiff::SignedDuration::from_mins(5));
    let other = "The road plan ignores the buses entirely, which is a strange choice for a city.";
    let refused = posted_id(&post(&mut a, &url, f.story, other, None).await);
    let mut m = member(&app, "mod@example.org").await;
    make_staff(&app, "mod@example.org", "moderator").await;
    let csrf = hidden(&m.get("/moderation").await.body, "csrf");
    for (id, action) in [(kept, "approve"), (refused, "reject"), (kept, "approve")] {
        m.post(
            "/moderation",
            &[
                ("csrf", &csrf),
                ("ids", &id.to_string()),
                ("action", action),
            ],
        )
        .await;
    }
    let decisions = {
        let mut c = app.db.read().await.unwrap();
        masthead::db::comments::decisions(c.ex()).await.unwrap()
    };
    assert_eq!(
        decisions,
        vec![(other.to_string(), true), (CIVIL.to_string(), false)]
    );
    // `masthead moderate train --data` adds them to the files it is given.
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("more.jsonl");
    let mut lines = String::new();
    for i in 0..40 {
        lines.push_str(&serde_json::json!({"text": format!("A civil remark number {i} about the council budget and the roads."), "label": "ok"}).to_string());
        lines.push('\n');
        lines.push_str(&serde_json::json!({"text": format!("You idiot number {i}, shut up and go away, nobody wants you here."), "label": "reject"}).to_string());
        lines.push('\n');
    }
    std::fs::write(&file, lines).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
        .env_remove("MASTHEAD_TEST_DATABASE_URL")
        .env("MASTHEAD_DATABASE_URL", &app.database_url)
        .env("MASTHEAD_LOG", "warn")
        .args(["moderate", "train", "--data"])
        .arg(data.path())
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("2 decisions of the publication's moderators (1 to refuse)"),
        "{stdout}"
    );
    assert!(data.path().join("moderation-model.bin").exists());

    // `moderate check` with the publication named applies its guidelines;
    // without, the built-in ones.
    {
        let mut c = app.db.write().await.unwrap();
        let g = serde_json::json!({ "banned": ["flibbertigibbet"] });
        masthead::db::settings::put(c.ex(), "guidelines", &g)
            .await
            .unwrap();
    }
    let check = |publication: bool| {
        use std::io::Write;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"));
        cmd.env_remove("MASTHEAD_TEST_DATABASE_URL")
            .env_remove("MASTHEAD_DATABASE_URL")
            .env("MASTHEAD_LOG", "warn");
        if publication {
            cmd.env("MASTHEAD_DATABASE_URL", &app.database_url)
                .arg("--data")
                .arg(data.path());
        }
        let mut child = cmd
            .args(["moderate", "check", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let line = serde_json::json!({"text": "The minister is behaving like a flibbertigibbet about this budget, and it shows."});
        writeln!(child.stdin.take().unwrap(), "{line}").unwrap();
        let out = child.wait_with_output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["verdict"].as_str().unwrap().to_string()
    };
    assert_eq!(check(true), "reject");
    assert_eq!(check(false), "approve");
}
