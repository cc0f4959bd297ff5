//! Importers: the public Disqus sample and the awkward cases written for
//! them (tests/fixtures/import), run through the library's command line
//! function, and once through the built binary; both databases.

use std::path::{Path, PathBuf};

use crate::helpers::*;
use masthead::import::cli::{FileArgs, ImportCommand, WxrArgs, run};

fn fixture_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn shared_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(name)
}

fn args(file: PathBuf, map: Option<PathBuf>) -> FileArgs {
    FileArgs {
        file,
        dry_run: false,
        moderate: false,
        keep_hidden: false,
        skip_hidden: false,
        host_alias: Vec::new(),
        map,
        batch: None,
        bulk: false,
    }
}

/// A mapping file in the app's temporary folder.
fn map_file(dir: &tempfile::TempDir, lines: &str) -> PathBuf {
    let p = dir.path().join("map.txt");
    std::fs::write(&p, lines).unwrap();
    p
}

async fn import(app: &TestApp, command: ImportCommand) -> anyhow::Result<String> {
    run(&app.state.config, &app.db, command, app.now(), false).await
}

#[derive(sqlx::FromRow, Debug)]
struct Row {
    id: i64,
    story_id: i64,
    parent_id: Option<i64>,
    root_id: Option<i64>,
    depth: i64,
    status: String,
    author_name: String,
    body: String,
    created_at: i64,
    source_id: Option<String>,
    import_id: Option<i64>,
    member_id: Option<i64>,
    reply_count: i64,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_all!(
        c.ex(),
        Row,
        "select id, story_id, parent_id, root_id, depth, status, author_name, body, created_at, \
         source_id, import_id, member_id, reply_count from comments order by id"
    )
    .unwrap()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_one!(c.ex(), N, sql).unwrap().n
}

fn by_source<'a>(rows: &'a [Row], id: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.source_id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no comment {id} in {rows:#?}"))
}

fn micros(t: &str) -> i64 {
    t.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

#[tokio::test]
async fn the_public_disqus_sample_imports_with_a_mapping_file() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!(
            "# thread address, story\nhttps://radio-t.com/p/2011/03/05/podcast-229/ {}\nhttp://radio-t.umputun.com/2011/03/229_8880.html,{}\n",
            f.story,
            story_url(&app, f.linked).await
        ),
    );
    let out = import(
        &app,
        ImportCommand::Disqus(args(
            shared_fixture("disqus/remark42-disqus.xml"),
            Some(map),
        )),
    )
    .await
    .unwrap();
    assert!(
        out.contains("imported 4 comments (1 of them hidden"),
        "{out}"
    );
    assert!(out.contains("2 matched to stories, 0 unmatched"), "{out}");
    assert!(
        out.contains("1 × a post without dsq:id: at line 102"),
        "{out}"
    );
    assert!(
        out.contains("1 × not well-formed: a broken attribute") && out.contains("line 135"),
        "{out}"
    );
    let rows = rows(&app).await;
    assert_eq!(rows.len(), 4);
    let ru = by_source(&rows, "299744309");
    assert_eq!(ru.story_id, f.story);
    assert!(ru.body.starts_with("Microsoft показал проводник Windows 8"));
    assert_eq!(ru.author_name, "mikhail");
    assert_eq!(ru.member_id, None);
    assert_eq!(by_source(&rows, "299986072").story_id, f.linked);
    assert_eq!(by_source(&rows, "299986073").status, "spam");
    assert_eq!(
        by_source(&rows, "299619020").body,
        "The quick brown fox jumps over the lazy dog.\n\nsome link (https://https://radio-t.com)"
    );
    assert_eq!(
        by_source(&rows, "299619020").created_at,
        micros("2011-08-31T15:16:29Z")
    );
    // Readers see the visible ones, not the spam.
    let (status, page) = app
        .get_text(&format!("{}/comments", story_url(&app, f.story).await))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("Microsoft показал проводник"), "{page}");
    assert!(page.contains("Alexander Blah"));
    assert!(!page.contains("some ugly spam"));
    // The deleted-thread sample: its posts are skipped, not shown.
    let out = import(
        &app,
        ImportCommand::Disqus(args(
            shared_fixture("disqus/remark42-disqus-deleted-thread.xml"),
            None,
        )),
    )
    .await
    .unwrap();
    assert!(out.contains("imported 0 comments"), "{out}");
}

#[tokio::test]
async fn awkward_records_are_skipped_with_their_lines_and_the_rest_imported() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!("https://old.example/2020/11/monsoon {}\n", f.story),
    );
    let out = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("awkward.xml"), Some(map.clone()))),
    )
    .await
    .unwrap();
    for expected in [
        "imported 5 comments (2 of them hidden",
        "Threads: 2 in the file, 1 matched to stories, 1 unmatched (1 comments on them kept out)",
        "unmatched: https://old.example/2020/11/elsewhere/?utm_source=x#comments",
        "1 × a post without dsq:id: at line 46",
        "1 × a bad date \"2020-13-45T99:00:00Z\"",
        "1 × isSpam is \"yes\", not true or false: at line 62",
        "1 × not well-formed: <message> is closed by </mesage>: at line 70",
        "Authors: 3 (2 registered",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
    let rows = rows(&app).await;
    assert_eq!(rows.len(), 5, "{rows:#?}");
    // The grandchild came first in the file and still hangs under its parent.
    let (p1, p2, p3) = (
        by_source(&rows, "p1"),
        by_source(&rows, "p2"),
        by_source(&rows, "p3"),
    );
    assert_eq!(p1.parent_id, None);
    assert_eq!(p1.root_id, Some(p1.id));
    assert_eq!(p2.parent_id, Some(p1.id));
    assert_eq!(p3.parent_id, Some(p2.id));
    assert_eq!((p2.root_id, p3.root_id), (Some(p1.id), Some(p1.id)));
    assert_eq!((p2.depth, p3.depth), (1, 2));
    assert_eq!(p1.reply_count, 2);
    // Times keep their zones.
    assert_eq!(p1.created_at, micros("2020-11-20T13:30:00Z"));
    assert_eq!(p3.created_at, micros("2020-11-20T06:30:00Z"));
    assert_eq!(p2.body, "Escaped HTML & a reply.");
    assert_eq!(
        p1.body,
        "मानसून जल्दी आया। Top-level, with a link (https://example.org/rain)."
    );
    assert_eq!(p2.author_name, "Anonymous reader");
    let deleted = by_source(&rows, "p8");
    assert_eq!(
        (deleted.status.as_str(), deleted.body.as_str()),
        ("deleted", "")
    );
    assert_eq!(by_source(&rows, "p9").status, "spam");
    assert!(
        rows.iter()
            .all(|r| r.import_id == p1.import_id && r.import_id.is_some())
    );
    // Authors: Asha (registered, verified), the anonymous reader (not).
    assert_eq!(
        count(
            &app,
            "select count(*) as n from import_identities where email = 'asha@example.com' and verified"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "select count(*) as n from import_identities where name = 'Anonymous reader' and not verified"
        )
        .await,
        1
    );
    // The unmatched thread is kept, with its one post counted.
    assert_eq!(
        count(
            &app,
            "select count(*) as n from import_threads where identifier = 'old-story-2' and posts = 1"
        )
        .await,
        1
    );
    let list = import(&app, ImportCommand::List).await.unwrap();
    assert!(
        list.contains("awkward.xml: 5 comments, 3 authors (0 claimed), 1 orphan threads"),
        "{list}"
    );
    assert!(
        list.contains("unmatched: https://old.example/2020/11/elsewhere/"),
        "{list}"
    );

    // A second run adds nothing; matching the orphan thread later adds its
    // post under the same import.
    let out = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("awkward.xml"), Some(map.clone()))),
    )
    .await
    .unwrap();
    assert!(
        out.contains("imported 0 comments") && out.contains("5 already there"),
        "{out}"
    );
    assert_eq!(count(&app, "select count(*) as n from comments").await, 5);
    let map = map_file(
        &dir,
        &format!(
            "https://old.example/2020/11/monsoon {}\nold-story-2 {}\n",
            f.story, f.linked
        ),
    );
    let out = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("awkward.xml"), Some(map))),
    )
    .await
    .unwrap();
    assert!(
        out.contains("imported 1 comments") && out.contains("5 already there"),
        "{out}"
    );
    assert_eq!(
        count(&app, "select count(*) as n from imports").await,
        1,
        "the same file stays one import"
    );
    let ravi = rows_where_story(&app, f.linked).await;
    assert_eq!(ravi, 1);
}

async fn rows_where_story(app: &TestApp, story: i64) -> usize {
    rows(app)
        .await
        .iter()
        .filter(|r| r.story_id == story)
        .count()
}

#[tokio::test]
async fn skip_hidden_leaves_deleted_and_spam_out_and_dry_runs_write_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!("https://old.example/2020/11/monsoon {}\n", f.story),
    );
    let mut a = args(fixture_file("awkward.xml"), Some(map.clone()));
    a.dry_run = true;
    let out = import(&app, ImportCommand::Disqus(a)).await.unwrap();
    assert!(out.contains("Dry run: would import 5 comments"), "{out}");
    assert_eq!(count(&app, "select count(*) as n from comments").await, 0);
    assert_eq!(count(&app, "select count(*) as n from imports").await, 0);
    assert_eq!(
        count(&app, "select count(*) as n from import_identities").await,
        0
    );

    let mut a = args(fixture_file("awkward.xml"), Some(map));
    a.skip_hidden = true;
    let out = import(&app, ImportCommand::Disqus(a)).await.unwrap();
    assert!(
        out.contains("imported 3 comments (0 of them hidden"),
        "{out}"
    );
    assert!(out.contains("1 × deleted (--skip-hidden)"), "{out}");
    assert!(out.contains("1 × spam (--skip-hidden)"), "{out}");
}

#[tokio::test]
async fn undo_removes_an_import_as_a_whole() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!("https://old.example/2020/11/monsoon {}\n", f.story),
    );
    import(
        &app,
        ImportCommand::Disqus(args(fixture_file("awkward.xml"), Some(map.clone()))),
    )
    .await
    .unwrap();
    let url = format!("{}/comments", story_url(&app, f.story).await);
    let (_, page) = app.get_text(&url).await;
    assert!(page.contains("Grandchild, first in the file."), "{page}");
    let id = rows(&app).await[0].import_id.unwrap();
    let out = import(&app, ImportCommand::Undo { id }).await.unwrap();
    assert!(
        out.contains("removed 5 comments, 3 authors and 1 orphan threads"),
        "{out}"
    );
    assert_eq!(count(&app, "select count(*) as n from comments").await, 0);
    assert_eq!(
        count(&app, "select count(*) as n from import_identities").await,
        0
    );
    assert_eq!(
        count(&app, "select count(*) as n from import_threads").await,
        0
    );
    let (_, page) = app.get_text(&url).await;
    assert!(!page.contains("Grandchild"), "{page}");
    let list = import(&app, ImportCommand::List).await.unwrap();
    assert!(list.contains("undone"), "{list}");
    let again = import(&app, ImportCommand::Undo { id }).await.unwrap_err();
    assert!(again.to_string().contains("undone already"), "{again}");
    // Imported again after the undo: a new import, all back.
    let out = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("awkward.xml"), Some(map))),
    )
    .await
    .unwrap();
    assert!(out.contains("imported 5 comments"), "{out}");
}

#[tokio::test]
async fn files_that_cannot_be_read_stop_with_the_byte_offset() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!("https://old.example/2020/11/monsoon {}\n", f.story),
    );
    // Cut short: what came before the cut is kept, undoable, and the whole
    // file run afterwards completes it without duplicates.
    let err = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("truncated.xml"), Some(map.clone()))),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("truncated.xml cannot be read on at byte 1497"),
        "{err}"
    );
    assert!(err.contains("it looks cut short"), "{err}");
    assert!(err.contains("masthead import undo"), "{err}");
    assert_eq!(count(&app, "select count(*) as n from comments").await, 1);
    let out = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("awkward.xml"), Some(map.clone()))),
    )
    .await
    .unwrap();
    assert!(
        out.contains("imported 4 comments") && out.contains("1 already there"),
        "{out}"
    );
    assert_eq!(count(&app, "select count(*) as n from comments").await, 5);
    // The reply stored by the cut run found its parent in the full one.
    let rows = rows(&app).await;
    assert_eq!(
        by_source(&rows, "p3").parent_id,
        Some(by_source(&rows, "p2").id)
    );

    let err = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("not-xml.csv"), None)),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("at byte 0: this is not a Disqus export"),
        "{err}"
    );
    assert!(err.contains("Nothing was written"), "{err}");

    let err = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("latin1-declared.xml"), None)),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("iconv -f iso-8859-1 -t UTF-8"), "{err}");

    // A Latin-1 byte in a file said to be UTF-8: that post is skipped.
    let out = import(
        &app,
        ImportCommand::Disqus(args(fixture_file("latin1-bytes.xml"), Some(map))),
    )
    .await
    .unwrap();
    assert!(out.contains("imported 1 comments"), "{out}");
    assert!(
        out.contains("cannot decode input using UTF-8") && out.contains("at line 4"),
        "{out}"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) as n from imports where state = 'failed'"
        )
        .await,
        1,
        "the cut run stays failed; the unreadable files left no import"
    );
}

#[tokio::test]
async fn comments_json_lines_import() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!("https://old.example/2020/11/monsoon/ {}\n", f.story),
    );
    let out = import(
        &app,
        ImportCommand::CommentsJson(args(fixture_file("comments.jsonl"), Some(map))),
    )
    .await
    .unwrap();
    for expected in [
        "imported 2 comments",
        "unmatched: unknown-thread",
        "a bad date \"yesterday\"",
        "state \"hidden\" is not visible, pending, deleted or spam: at line 6",
        "not a comment line",
        "Authors: 2 (1 registered",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
    let rows = rows(&app).await;
    let (c1, c2) = (by_source(&rows, "c1"), by_source(&rows, "c2"));
    assert_eq!(c2.parent_id, Some(c1.id));
    assert_eq!(c1.body, "Top-level comment");
    assert_eq!(c2.created_at, micros("2020-11-21T03:30:00Z"));

    let bad = dir.path().join("v2.jsonl");
    std::fs::write(&bad, "{\"format\":\"masthead-comments\",\"version\":2}\n").unwrap();
    let err = import(&app, ImportCommand::CommentsJson(args(bad, None)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 2"), "{err}");
}

#[tokio::test]
async fn the_binary_imports_and_lists() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!("https://old.example/2020/11/monsoon {}\n", f.story),
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"))
            .env_remove("MASTHEAD_TEST_DATABASE_URL")
            .env("MASTHEAD_DATABASE_URL", &app.database_url)
            .env("MASTHEAD_LOG", "warn")
            .arg("--data")
            .arg(dir.path())
            .args(["import"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let file = fixture_file("awkward.xml");
    let (ok, out, err) = run(&[
        "disqus",
        file.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        "--host-alias",
        "old.example=news.example",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("imported 5 comments"), "{out}");
    let (ok, out, _) = run(&["list"]);
    assert!(ok);
    assert!(out.contains("disqus") && out.contains("finished"), "{out}");
    let (ok, _, err) = run(&["disqus", fixture_file("not-xml.csv").to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("this is not a Disqus export"), "{err}");
    let (ok, _, err) = run(&["disqus", "x.xml", "--host-alias", "nohost"]);
    assert!(!ok);
    assert!(err.contains("expected OLD=NEW"), "{err}");
}

#[tokio::test]
async fn a_reader_gets_their_comments_back_and_a_moderator_attaches_a_guests() {
    use crate::accounts::{Browser, hidden, register_and_confirm};
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let map = map_file(
        &dir,
        &format!("https://old.example/2020/11/monsoon {}\n", f.story),
    );
    import(
        &app,
        ImportCommand::Disqus(args(fixture_file("awkward.xml"), Some(map))),
    )
    .await
    .unwrap();
    // Asha's address, typed in another case, verified here.
    let mut b = Browser::new(&app);
    register_and_confirm(&mut b, "ASHA@example.com", "/").await;
    let page = b.get("/account").await;
    assert!(
        page.body
            .contains("We found 2 comments from your earlier account"),
        "{}",
        page.body
    );
    let page = b.get("/account/earlier-comments").await;
    assert!(
        page.body.contains("add them to your profile?"),
        "{}",
        page.body
    );
    assert!(page.body.contains("(Asha)"));
    // Without the form's token nothing happens.
    let refused = b
        .post("/account/earlier-comments", &[("name", "old")])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let csrf = hidden(&page.body, "csrf");
    let done = b
        .post(
            "/account/earlier-comments",
            &[("csrf", &csrf), ("name", "current")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let mine = b.get("/account/comments").await;
    assert!(
        mine.body.contains("Grandchild, first in the file."),
        "{}",
        mine.body
    );
    assert!(mine.body.contains("मानसून जल्दी आया"));
    let stored = rows(&app).await;
    let p1 = by_source(&stored, "p1");
    assert!(p1.member_id.is_some());
    assert_eq!(p1.author_name, "Priya Nair");
    // The anonymous reader's comment stays unattached; the offer is gone.
    assert_eq!(by_source(&stored, "p2").member_id, None);
    let page = b.get("/account").await;
    assert!(!page.body.contains("from your earlier account"));

    // A guest's comments: never offered, attached by a moderator.
    let mut guest = Browser::new(&app);
    register_and_confirm(&mut guest, "reader@example.net", "/").await;
    let page = guest.get("/account").await;
    assert!(!page.body.contains("from your earlier account"));
    let guest_id = {
        let mut c = app.db.write().await.unwrap();
        let g = masthead::db::members::by_email(
            c.ex(),
            &masthead::domain::email::Email::parse("reader@example.net").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        let m = masthead::db::members::by_email(
            c.ex(),
            &masthead::domain::email::Email::parse("asha@example.com").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
        masthead::db::members::set_role(c.ex(), m.id, "moderator")
            .await
            .unwrap();
        g.id
    };
    let identity = {
        #[derive(sqlx::FromRow)]
        struct I {
            id: i64,
        }
        let mut c = app.db.read().await.unwrap();
        masthead::fetch_one!(
            c.ex(),
            I,
            "select id from import_identities where name = 'Anonymous reader'"
        )
        .unwrap()
        .id
    };
    let desk = b.get(&format!("/moderation/member/{guest_id}")).await;
    assert_eq!(desk.status, 200, "{}", desk.body);
    assert!(desk.body.contains("Imported comments to attach"));
    let csrf = hidden(&desk.body, "csrf");
    let done = b
        .post(
            &format!("/moderation/member/{guest_id}/attach"),
            &[("csrf", &csrf), ("identity", &identity.to_string())],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let stored = rows(&app).await;
    assert_eq!(by_source(&stored, "p2").member_id, Some(guest_id));
    let mine = guest.get("/account/comments").await;
    assert!(
        mine.body.contains("Escaped HTML &amp; a reply."),
        "{}",
        mine.body
    );
    // Staff see the import history; members do not.
    let history = b.get("/moderation/imports").await;
    assert_eq!(history.status, 200, "{}", history.body);
    assert!(
        history.body.contains("disqus: awkward.xml"),
        "{}",
        history.body
    );
    assert_eq!(guest.get("/moderation/imports").await.status, 403);
    // A member cannot attach.
    let csrf = hidden(&guest.get("/account").await.body, "csrf");
    let refused = guest
        .post(
            &format!("/moderation/member/{guest_id}/attach"),
            &[("csrf", &csrf), ("identity", &identity.to_string())],
        )
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn a_wordpress_export_becomes_stories_with_comments_and_old_addresses_move() {
    let app = spawn_app().await;
    let file = shared_fixture("wxr/remark42-wordpress.xml");
    let out = import(
        &app,
        ImportCommand::Wxr(WxrArgs {
            file: args(file.clone(), None),
            uploads: None,
        }),
    )
    .await
    .unwrap();
    assert!(
        out.contains("imported 3 comments (1 of them hidden"),
        "{out}"
    );
    assert!(out.contains("Stories: 1 made"), "{out}");
    assert!(out.contains("1 × a pingback, not a comment"), "{out}");
    let story = {
        let mut c = app.db.read().await.unwrap();
        let id = masthead::db::imports::redirect_of(c.ex(), "/2010/07/do-you-rp")
            .await
            .unwrap()
            .expect("the old address is kept");
        masthead::db::stories::find(c.ex(), id)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(story.section_slug, "stuff");
    assert_eq!(story.headline, "Post with comments. One is not approved");
    let new_path = format!("/stuff/{}-{}", story.slug, story.id);
    // The old address answers 301 to the new one, with or without its slash.
    for old in ["/2010/07/do-you-rp/", "/2010/07/do-you-rp"] {
        let r = app.get(old).await;
        assert_eq!(r.status().as_u16(), 301, "{old}");
        assert_eq!(r.headers()["location"].to_str().unwrap(), new_path, "{old}");
    }
    assert_eq!(
        app.get("/2010/07/nothing-here/").await.status().as_u16(),
        404
    );
    let (status, page) = app.get_text(&format!("{new_path}/comments")).await;
    assert_eq!(status, 200);
    assert!(page.contains("I do catch myself"), "{page}");
    assert!(
        !page.contains("I think it us inherent"),
        "the unapproved one is held"
    );
    let (_, page) = app.get_text("/topic/role-playing").await;
    assert!(
        page.contains("Post with comments. One is not approved"),
        "{page}"
    );
    // Again: nothing new.
    let out = import(
        &app,
        ImportCommand::Wxr(WxrArgs {
            file: args(file, None),
            uploads: None,
        }),
    )
    .await
    .unwrap();
    assert!(
        out.contains("imported 0 comments") && !out.contains("Stories: 1"),
        "{out}"
    );
    // Undo takes the story and its old address away.
    let id = rows(&app).await[0].import_id.unwrap();
    import(&app, ImportCommand::Undo { id }).await.unwrap();
    assert_eq!(app.get("/2010/07/do-you-rp/").await.status().as_u16(), 404);
    assert_eq!(app.get(&new_path).await.status().as_u16(), 404);
    assert_eq!(count(&app, "select count(*) as n from comments").await, 0);
    assert_eq!(count(&app, "select count(*) as n from stories").await, 0);
}
