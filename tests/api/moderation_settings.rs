//! The comment settings and the guidelines on the moderators' desk
//! (`/moderation/settings`) through the real router: who may see and
//! change them, saving (the setting, the log line, the epoch), what a saved
//! word does to the next comment, validation that keeps what was typed, the
//! try-it box, and restoring a built-in list.

use masthead::db::members;
use masthead::domain::email::Email;

use crate::accounts::{Browser, Page, hidden, register_and_confirm};
use crate::helpers::*;

const PATH: &str = "/moderation/settings";
const WORD: &str = "flibbertigibbet";
const WITH_WORD: &str =
    "The minister is behaving like a flibbertigibbet about this budget and everyone knows it.";

/// A confirmed member with `role`, signed in.
async fn signed_in<'a>(app: &'a TestApp, email: &str, role: &str) -> Browser<'a> {
    let mut b = Browser::new(app);
    register_and_confirm(&mut b, email, "/").await;
    let mut c = app.db.write().await.unwrap();
    let m = members::by_email(c.ex(), &Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    members::set_role(c.ex(), m.id, role).await.unwrap();
    drop(c);
    b
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// The fields the page's form would send, as a browser reads them: hidden
/// inputs, the checked policy, number inputs, textareas.
fn form_of(body: &str) -> Vec<(String, String)> {
    let mut out = vec![
        ("csrf".to_string(), hidden(body, "csrf")),
        ("version".to_string(), hidden(body, "version")),
    ];
    let checked = regex::Regex::new(r#"name="policy" value="(\w+)" checked"#).unwrap();
    if let Some(c) = checked.captures(body) {
        out.push(("policy".into(), c[1].to_string()));
    }
    let number = regex::Regex::new(r#"name="(\w+)" type="number"[^>]*value="([^"]*)""#).unwrap();
    for c in number.captures_iter(body) {
        out.push((c[1].to_string(), unescape(&c[2])));
    }
    let area =
        regex::Regex::new(r#"(?s)<textarea id="\w+" name="(\w+)"[^>]*>(.*?)</textarea>"#).unwrap();
    for c in area.captures_iter(body) {
        out.push((c[1].to_string(), unescape(&c[2])));
    }
    out
}

fn set(form: &mut Vec<(String, String)>, key: &str, value: &str) {
    form.retain(|(k, _)| k != key);
    form.push((key.to_string(), value.to_string()));
}

fn get(form: &[(String, String)], key: &str) -> String {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {key} in the form"))
}

async fn send(b: &mut Browser<'_>, path: &str, form: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.post(path, &pairs).await
}

async fn stored_guidelines(app: &TestApp) -> Option<serde_json::Value> {
    let mut c = app.db.read().await.unwrap();
    masthead::db::settings::get(c.ex(), "guidelines")
        .await
        .unwrap()
}

async fn epoch(app: &TestApp) -> i64 {
    let mut c = app.db.read().await.unwrap();
    masthead::db::settings::content_epoch(c.ex()).await.unwrap()
}

/// The moderators' log: (who, action, note), oldest first.
async fn log(app: &TestApp) -> Vec<(String, String, String)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        moderator_name: String,
        action: String,
        note: String,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_all!(
        c.ex(),
        Row,
        "select moderator_name, action, note from moderation_log order by id"
    )
    .unwrap()
    .into_iter()
    .map(|r| (r.moderator_name, r.action, r.note))
    .collect()
}

/// Posts a new comment from the story's comments page.
async fn comment(b: &mut Browser<'_>, app: &TestApp, story: i64, text: &str) -> Page {
    let url = format!("{}/comments", story_url(app, story).await);
    let page = b.get(&url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (csrf, token) = (hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    let story = story.to_string();
    b.post(
        "/comments",
        &[
            ("csrf", csrf.as_str()),
            ("story", story.as_str()),
            ("token", token.as_str()),
            ("body", text),
        ],
    )
    .await
}

#[tokio::test]
async fn admins_change_the_settings_moderators_read_them_and_others_are_turned_away() {
    let app = spawn_app().await;

    // Signed out: sent to sign in; a post is refused.
    let r = app.get(PATH).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/account/sign-in?next=%2Fmoderation%2Fsettings"
    );
    let r = app
        .client
        .post(format!("{}{PATH}", app.base))
        .form(&[("policy", "pre_all")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // A member and a contributor: neither the page nor the forms.
    for (email, role) in [
        ("reader@example.com", "member"),
        ("writer@example.com", "contributor"),
    ] {
        let mut b = signed_in(&app, email, role).await;
        let csrf = hidden(&b.get("/account").await.body, "csrf");
        assert_eq!(b.get(PATH).await.status, 403, "{role}");
        for path in [PATH, "/moderation/settings/try"] {
            let r = b
                .post(
                    path,
                    &[
                        ("csrf", &csrf),
                        ("policy", "pre_all"),
                        ("try_text", "Hello there."),
                    ],
                )
                .await;
            assert_eq!(r.status, 403, "{role} {path}");
        }
    }

    // A moderator reads the settings and may try a comment, not save.
    let mut m = signed_in(&app, "mod@example.com", "moderator").await;
    let queue = m.get("/moderation").await;
    assert!(
        queue.body.contains("href=\"/moderation/settings\""),
        "the desk links to it"
    );
    let page = m.get(PATH).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("only admins change them"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Save the settings"));
    assert!(page.body.contains("readonly"));
    let mut form = form_of(&page.body);
    set(&mut form, "policy", "pre_all");
    assert_eq!(send(&mut m, PATH, &form).await.status, 403);
    // Trying uses the saved settings, whatever the read-only fields say.
    set(&mut form, "list_banned", WORD);
    set(&mut form, "try_text", WITH_WORD);
    let tried = send(&mut m, "/moderation/settings/try", &form).await;
    assert_eq!(tried.status, 200, "{}", tried.body);
    assert!(
        tried.body.contains("With the saved settings."),
        "{}",
        tried.body
    );
    assert!(!tried.body.contains(">reject<"), "{}", tried.body);

    // An admin sees the form, not kept by any cache.
    let mut a = signed_in(&app, "admin@example.com", "admin").await;
    let cookie = a
        .jar
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let r = app
        .client
        .get(format!("{}{PATH}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body = r.text().await.unwrap();
    for words in [
        "Save the settings",
        "Banned words",
        "Allowed link hosts",
        "Restore the built-in list",
        "The built-in list (",
        "stem*",
        "*root*",
        "Every comment waits",
        "name=\"close_after_days\"",
        "(0: never)",
        "name=\"shouting_share\"",
        "Check it",
    ] {
        assert!(body.contains(words), "{words}");
    }
    // The page's own form, sent back unchanged, changes nothing.
    let before = epoch(&app).await;
    let unchanged = form_of(&a.get(PATH).await.body);
    let r = send(&mut a, PATH, &unchanged).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some("/moderation/settings?done=unchanged")
    );
    assert!(log(&app).await.is_empty());
    assert_eq!(epoch(&app).await, before);
    assert!(stored_guidelines(&app).await.is_none());

    // Without the form's token nothing is saved.
    let mut form = form_of(&a.get(PATH).await.body);
    set(&mut form, "policy", "pre_all");
    set(&mut form, "csrf", "forged");
    assert_eq!(send(&mut a, PATH, &form).await.status, 403);
    set(&mut form, "try_text", "Hello there, this is a comment.");
    assert_eq!(
        send(&mut a, "/moderation/settings/try", &form).await.status,
        403
    );
    assert!(log(&app).await.is_empty());
}

#[tokio::test]
async fn a_saved_banned_word_rejects_the_next_comment_and_the_log_says_who_changed_what() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut reader = signed_in(&app, "reader@example.com", "member").await;
    let r = comment(&mut reader, &app, f.story, WITH_WORD).await;
    assert_eq!(r.status, 303, "approved before: {}", r.body);

    let mut a = signed_in(&app, "admin@example.com", "admin").await;
    let page = a.get(PATH).await;
    assert!(
        page.body.contains("Saved: the built-in list"),
        "{}",
        page.body
    );
    let mut form = form_of(&page.body);
    let banned = get(&form, "list_banned");
    assert!(banned.lines().any(|l| l == "*fuck*"), "{banned}");
    set(&mut form, "list_banned", &format!("{banned}\n  {WORD}  \n"));
    // "pre_new" with 5 approved comments, comments closing after 30 days.
    set(&mut form, "policy", "pre_new");
    set(&mut form, "trusted_after", "5");
    set(&mut form, "close_after_days", "30");
    set(&mut form, "shouting_share", "80");
    set(&mut form, "note", "Readers asked for it.");
    let before = epoch(&app).await;
    let r = send(&mut a, PATH, &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.location.as_deref(),
        Some("/moderation/settings?done=saved")
    );
    assert!(epoch(&app).await > before, "the content epoch moves");

    // Stored: the own banned list, the changed threshold alone.
    let g = stored_guidelines(&app).await.unwrap();
    let list = g["banned"].as_array().unwrap();
    assert!(list.iter().any(|w| w == WORD), "{g}");
    assert_eq!(
        g["thresholds"],
        serde_json::json!({ "shouting_share": 0.8 })
    );
    assert!(
        g.get("insults").is_none(),
        "unchanged lists stay built-in: {g}"
    );
    let cs = {
        let mut c = app.db.read().await.unwrap();
        masthead::db::settings::comments(c.ex()).await.unwrap()
    };
    assert_eq!(cs.policy, masthead::db::settings::ModerationPolicy::PreNew);
    assert_eq!((cs.trusted_after, cs.close_after_days), (5, 30));

    // One log line: who, and what changed.
    let log = log(&app).await;
    assert_eq!(log.len(), 1, "{log:?}");
    let (who, action, note) = &log[0];
    assert_eq!(
        (who.as_str(), action.as_str()),
        ("Priya Nair", "change_settings")
    );
    for part in [
        "policy post → pre_new",
        "trusted_after 3 → 5",
        "close_after_days 0 → 30",
        "banned: own list, 1 added (flibbertigibbet), 0 removed",
        "shouting_share 70% → 80%",
        "Readers asked for it.",
    ] {
        assert!(note.contains(part), "{part} in {note}");
    }
    assert!(!note.contains("insults"), "{note}");
    let desk_log = a.get("/moderation/log").await.body;
    assert!(desk_log.contains("change settings"), "{desk_log}");

    // The page says what is saved.
    let page = a.get("/moderation/settings?done=saved").await.body;
    assert!(page.contains("Saved. New and edited comments are checked"));
    assert!(page.contains("Saved: the publication's own list"), "{page}");
    assert!(page.contains("1 not in the built-in list, 0 of the built-in list left out"));

    // The next comment with the word comes back to its author.
    let r = comment(&mut reader, &app, f.story, WITH_WORD).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("abusive language"), "{}", r.body);
}

#[tokio::test]
async fn a_form_with_problems_says_what_to_fix_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let mut a = signed_in(&app, "admin@example.com", "admin").await;
    let mut form = form_of(&a.get(PATH).await.body);
    let typed_banned = "idiotic*\n*idiot\nshut up\nid*iot\nsnollygoster";
    set(&mut form, "list_banned", typed_banned);
    set(&mut form, "list_targets", "\n  \n");
    set(&mut form, "list_attacks", "get lost\nshut* up");
    set(
        &mut form,
        "list_allowed_link_hosts",
        "https://partner.example/news",
    );
    set(&mut form, "shouting_share", "150");
    set(&mut form, "edit_minutes", "ten");
    set(&mut form, "repeat_stories_hold", "3");
    set(&mut form, "repeat_stories_reject", "2");
    set(&mut form, "policy", "sometimes");
    set(&mut form, "note", "My note stays.");
    let r = send(&mut a, PATH, &form).await;
    assert_eq!(r.status, 422, "{}", r.body);
    let body = &r.body;
    for words in [
        "Nothing was saved: see what to fix below.",
        "Banned words: “*idiot” starts with * but does not end with one: write *idiot* to match inside any word, or idiot* to match the word with its endings.",
        "Banned words: “shut up” has a space",
        "Banned words: “id*iot” has * in the middle",
        "People in the conversation: the list is empty, so no insult would count as aimed at someone in the conversation. Tick “Allow it empty”",
        "Attack phrases: “shut* up”: * stands alone between two words",
        "is an address: write the host alone (partner.example)",
        "Capitals: 150 is out of range; give a number from 30% to 100%.",
        "Editing window: “ten” is not a whole number; give one from 0 minutes to 1440 minutes.",
        "Same text elsewhere: reject: 2 is fewer than the 3 that hold a comment",
        "Policy: choose one of",
        "aria-invalid=\"true\"",
    ] {
        assert!(
            body.contains(&words.replace('\'', "&#x27;")) || body.contains(words),
            "{words}\n{body}"
        );
    }
    // Everything typed comes back as typed.
    let back = form_of(body);
    assert_eq!(get(&back, "list_banned"), typed_banned);
    assert_eq!(get(&back, "list_attacks"), "get lost\nshut* up");
    assert_eq!(get(&back, "shouting_share"), "150");
    assert_eq!(get(&back, "edit_minutes"), "ten");
    assert!(body.contains("value=\"My note stays.\""));
    assert!(stored_guidelines(&app).await.is_none());
    assert!(log(&app).await.is_empty());

    // An empty list is saved when the admin says so; the check then has no
    // targets, and the log says the list was emptied.
    let mut form = form_of(&a.get(PATH).await.body);
    set(&mut form, "list_targets", "");
    set(&mut form, "empty_targets", "yes");
    let r = send(&mut a, PATH, &form).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let g = stored_guidelines(&app).await.unwrap();
    assert_eq!(g["targets"], serde_json::json!([]));
    let log = log(&app).await;
    assert!(
        log[0].2.contains("targets: own list, 0 added, 31 removed"),
        "{log:?}"
    );
}

#[tokio::test]
async fn the_try_box_checks_a_comment_with_the_settings_in_the_form_without_saving() {
    let app = spawn_app().await;
    let mut a = signed_in(&app, "admin@example.com", "admin").await;
    let mut form = form_of(&a.get(PATH).await.body);
    let banned = get(&form, "list_banned");
    set(&mut form, "list_banned", &format!("{banned}\n{WORD}"));
    set(&mut form, "try_text", WITH_WORD);
    let r = send(&mut a, "/moderation/settings/try", &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = &r.body;
    assert!(body.contains(">reject</span>"), "{body}");
    assert!(body.contains("It would come back to its author"), "{body}");
    assert!(
        body.contains("Your comment contains abusive language."),
        "{body}"
    );
    assert!(
        body.contains("abuse: banned word (flibbertigibbet)"),
        "{body}"
    );
    assert!(body.contains("english "), "the scores: {body}");
    assert!(body.contains("the settings in the form, not saved"));
    // What was typed stays, and nothing was saved.
    let back = form_of(body);
    assert_eq!(get(&back, "list_banned"), format!("{banned}\n{WORD}"));
    assert_eq!(get(&back, "try_text"), WITH_WORD);
    assert!(stored_guidelines(&app).await.is_none());
    assert!(log(&app).await.is_empty());

    // Without the word in the list, the same text is approved; under
    // "every comment waits" it would still wait.
    set(&mut form, "list_banned", &banned);
    set(&mut form, "policy", "pre_all");
    let body = send(&mut a, "/moderation/settings/try", &form).await.body;
    assert!(body.contains(">approve</span>"), "{body}");
    assert!(body.contains("It would wait for a moderator: every comment does."));

    // A text in another language, and a form with a problem.
    set(
        &mut form,
        "try_text",
        "यह बहुत अच्छी खबर है, सरकार को इस पर जल्दी काम करना चाहिए।",
    );
    let body = send(&mut a, "/moderation/settings/try", &form).await.body;
    assert!(
        body.contains("language</span> Your comment seems not to be in English."),
        "{body}"
    );
    set(&mut form, "min_words", "0");
    let r = send(&mut a, "/moderation/settings/try", &form).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("Shortest comment: 0 is out of range"),
        "{}",
        r.body
    );
    set(&mut form, "min_words", "2");
    set(&mut form, "try_text", "   ");
    let r = send(&mut a, "/moderation/settings/try", &form).await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("Write a comment to try."));
}

#[tokio::test]
async fn restoring_a_built_in_list_shows_it_and_saving_makes_it_built_in_again() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let mut a = signed_in(&app, "admin@example.com", "admin").await;
    let mut form = form_of(&a.get(PATH).await.body);
    let builtin = get(&form, "list_banned");
    set(&mut form, "list_banned", &format!("{WORD}\nsnollygoster*"));
    assert_eq!(send(&mut a, PATH, &form).await.status, 303);
    assert_eq!(
        stored_guidelines(&app).await.unwrap()["banned"],
        serde_json::json!([WORD, "snollygoster*"])
    );

    // "Restore" puts the built-in list in the box, keeps the rest as typed,
    // and saves nothing yet.
    let mut form = form_of(&a.get(PATH).await.body);
    set(&mut form, "list_suspect", "rubbish");
    set(&mut form, "restore", "banned");
    let r = send(&mut a, PATH, &form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("The built-in list is back in the box of Banned words. Nothing is saved yet")
    );
    let mut back = form_of(&r.body);
    assert_eq!(get(&back, "list_banned"), builtin);
    assert_eq!(get(&back, "list_suspect"), "rubbish");
    assert!(
        stored_guidelines(&app)
            .await
            .unwrap()
            .get("banned")
            .is_some()
    );

    // Saving it: the list is the built-in one again.
    set(
        &mut back,
        "list_suspect",
        &get(&form_of(&a.get(PATH).await.body), "list_suspect"),
    );
    let r = send(&mut a, PATH, &back).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let g = stored_guidelines(&app).await.unwrap();
    assert!(g.get("banned").is_none(), "{g}");
    // The built-in list's distinct entries, as the screen counts them.
    let built_in = masthead::moderation::Guidelines::default()
        .banned
        .iter()
        .map(|e| e.trim().to_lowercase())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert!(
        a.get(PATH)
            .await
            .body
            .contains(&format!("Saved: the built-in list, {built_in} entries"))
    );
    let log = log(&app).await;
    assert_eq!(log.len(), 2);
    assert!(
        log[1].2.contains(&format!("banned: back to the built-in list, {built_in} added, 2 removed (flibbertigibbet, snollygoster*)")),
        "{log:?}"
    );

    // The word is no longer banned.
    let mut reader = signed_in(&app, "reader@example.com", "member").await;
    assert_eq!(
        comment(&mut reader, &app, f.story, WITH_WORD).await.status,
        303
    );
}

#[tokio::test]
async fn a_save_over_someone_elses_change_is_stopped_with_the_text_kept() {
    let app = spawn_app().await;
    let mut a = signed_in(&app, "admin@example.com", "admin").await;
    let mut form = form_of(&a.get(PATH).await.body);
    // Someone else saves first.
    {
        let mut c = app.db.write().await.unwrap();
        let g = serde_json::json!({ "suspect": ["rubbish"] });
        masthead::db::settings::put(c.ex(), "guidelines", &g)
            .await
            .unwrap();
    }
    set(&mut form, "list_spam_words", "lottery\njackpot");
    let r = send(&mut a, PATH, &form).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body
            .contains("Someone else saved these settings after you opened this page")
    );
    let back = form_of(&r.body);
    assert_eq!(get(&back, "list_spam_words"), "lottery\njackpot");
    assert_eq!(
        stored_guidelines(&app).await.unwrap(),
        serde_json::json!({ "suspect": ["rubbish"] })
    );
    // Saving again, knowingly, replaces it.
    let r = send(&mut a, PATH, &back).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let g = stored_guidelines(&app).await.unwrap();
    assert_eq!(g["spam_words"], serde_json::json!(["lottery", "jackpot"]));
}
