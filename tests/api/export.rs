//! `masthead export` and `masthead import masthead`: a publication with
//! members, threaded comments, an entitlement and a subscription goes out
//! and comes back the same, on either database.

use masthead::db::comments::{self, NewComment};
use masthead::db::{Backend, Db, members};
use masthead::domain::email::Email;
use masthead::export::{self, ExportOptions};

use crate::helpers::{TestApp, spawn_app, story_url};

/// The demo publication plus what readers add to it.
/// The demo is drawn (slow); `demo: false` uses the small test fixture.
async fn publication(app: &TestApp, demo: bool) -> (i64, i64) {
    if demo {
        masthead::demo::seed(
            &app.db,
            &app.state.config.media_dir(),
            crate::helpers::now_ts(app),
        )
        .await
        .unwrap();
    } else {
        crate::helpers::fixture(app).await;
    }
    let now = app.now();
    let mut tx = app.db.begin().await.unwrap();
    let story: i64 = sqlx_id(
        &mut tx,
        "select id from stories where status = 'published' order by published_at desc, id limit 1",
    )
    .await;
    let asha = members::insert(
        tx.ex(),
        &Email::parse("Asha.Menon@Example.com").unwrap(),
        "Asha Menon",
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
        "member",
        now,
    )
    .await
    .unwrap()
    .unwrap();
    members::mark_verified(tx.ex(), asha, now).await.unwrap();
    let ravi = members::insert(
        tx.ex(),
        &Email::parse("ravi@example.org").unwrap(),
        "Ravi \"R\" Kumar",
        None,
        "moderator",
        now,
    )
    .await
    .unwrap()
    .unwrap();
    members::grant_entitlement(
        tx.ex(),
        asha,
        "stripe",
        now,
        now + 86_400_000_000 * 30,
        "ev-1",
        now,
    )
    .await
    .unwrap();
    members::save_story(tx.ex(), asha, story, now)
        .await
        .unwrap();
    let mut parent = None;
    let mut root = 0;
    for (i, (who, name, text)) in [
        (
            asha,
            "Asha Menon",
            "The first word, with “quotes” and émigré.",
        ),
        (ravi, "Ravi \"R\" Kumar", "A reply to Asha.\nOn two lines."),
        (asha, "Asha Menon", "A reply to the reply."),
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("k{i}");
        let id = comments::insert(
            tx.ex(),
            &NewComment {
                story_id: story,
                member_id: who,
                parent: parent.as_ref(),
                author_name: name,
                body: text,
                status: "visible",
                verdict: "approve",
                reasons: "[]",
                scores: r#"{"abuse":0.01}"#,
                now: now + i as i64 * 1_000_000,
                idempotency_key: &key,
            },
        )
        .await
        .unwrap()
        .unwrap();
        if i == 0 {
            root = id;
        }
        parent = comments::find(tx.ex(), id).await.unwrap();
    }
    comments::set_like(tx.ex(), root, ravi, true, now)
        .await
        .unwrap();
    comments::report(tx.ex(), root, ravi, "other", "a note", now)
        .await
        .unwrap();
    for sql in [
        "insert into newsletters (slug, name, kind, subscribe_on_register, created_at) values ('morning-extra', 'Morning briefing', 'editorial', true, 1)",
        "insert into newsletters (slug, name, kind, created_at) values ('offers-extra', 'Offers and early access', 'offers', 2)",
        "insert into subscribers (email, email_normalized, member_id, created_at) values ('Asha.Menon@Example.com', 'asha.menon@example.com', 1, 3)",
        "insert into subscribers (email, email_normalized, created_at) values ('reader@example.net', 'reader@example.net', 4)",
        "insert into newsletter_subscriptions (newsletter_id, subscriber_id, state, source, created_at, confirmed_at, updated_at) values (1, 1, 'active', 'account', 5, 5, 5)",
        "insert into newsletter_subscriptions (newsletter_id, subscriber_id, state, source, created_at, updated_at) values (1, 2, 'pending', 'story', 6, 6)",
        "insert into consents (subscriber_id, purpose, granted, words, source, created_at) values (1, 'offers', true, 'Send me offers', 'account', 7)",
        "insert into meter_reads (member_id, period, story_id, read_at) values (1, '2020-11', 1, 9), (1, '2020-10', 2, 8), (2, '2020-11', 1, 7)",
        "insert into moderation_log (moderator_id, moderator_name, action, comment_id, member_id, note, created_at) values (2, 'Ravi', 'approve', 1, 1, 'fine', 10)",
        "insert into mail_suppressions (email_normalized, reason, detail, created_at) values ('gone@example.com', 'hard_bounce', '5.1.1', 8)",
        "insert into mail_events (email_normalized, kind, detail, source, created_at) values ('gone@example.com', 'hard_bounce', '5.1.1', 'mail', 8)",
    ] {
        masthead::execute!(tx.ex(), sql).unwrap();
    }
    tx.commit().await.unwrap();
    (story, root)
}

async fn sqlx_id(tx: &mut masthead::db::Tx, sql: &'static str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct IdRow {
        id: i64,
    }
    masthead::fetch_one!(tx.ex(), IdRow, sql).unwrap().id
}

async fn export_text(db: &Db, at: &str, hashes: bool) -> String {
    export_paged(db, at, hashes, export::PAGE_ROWS).await
}

async fn export_paged(db: &Db, at: &str, hashes: bool, page_rows: i64) -> String {
    let mut out = Vec::new();
    export::export(
        db,
        &mut out,
        &ExportOptions {
            password_hashes: hashes,
            exported_at: at.parse().unwrap(),
            page_rows,
        },
    )
    .await
    .unwrap();
    String::from_utf8(out).unwrap()
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test]
async fn a_publication_goes_out_and_comes_back_the_same() {
    let old = spawn_app().await;
    let (story, root) = publication(&old, true).await;
    let first = export_text(&old.db, "2026-11-29T10:00:00Z", true).await;

    let lines: Vec<&str> = first.lines().collect();
    assert!(
        lines[0].starts_with(
            r#"{"format":"masthead-export","version":1,"exported_at":"2026-11-29T10:00:00Z""#
        ),
        "{}",
        lines[0]
    );
    let end = lines.last().unwrap();
    assert_eq!(
        *end,
        format!(r#"{{"type":"end","records":{}}}"#, lines.len() - 2)
    );
    for want in [
        r#"{"type":"setting","key":"publication","value":{"#,
        r#"{"type":"section","id":1,"#,
        r#"{"type":"story","id":"#,
        r#"{"type":"story_author","story_id":"#,
        r#"{"type":"story_topic","story_id":"#,
        r#"{"type":"media","id":1,"#,
        r#"{"type":"member","id":1,"email":"Asha.Menon@Example.com","#,
        r#""password_hash":"$argon2id$"#,
        r#"{"type":"entitlement","id":1,"member_id":1,"source":"stripe","#,
        r#"{"type":"saved_story","member_id":1,"#,
        r#""parent_id":2,"root_id":1,"depth":2,"#,
        r#"{"type":"comment_like","comment_id":1,"member_id":2,"#,
        r#"{"type":"comment_report","id":1,"#,
        r#"{"type":"meter_read","member_id":1,"period":"2020-10","story_id":2,"#,
        r#"{"type":"moderation_action","id":1,"moderator_id":2,"#,
        r#""slug":"offers-extra","#,
        r#"{"type":"subscriber","id":2,"email":"reader@example.net","#,
        r#"{"type":"subscription","newsletter_id":1,"subscriber_id":2,"state":"pending","#,
        r#"{"type":"consent","id":1,"subscriber_id":1,"purpose":"offers","granted":true,"#,
        r#"{"type":"mail_suppression","email_normalized":"gone@example.com","reason":"hard_bounce","#,
    ] {
        assert!(first.contains(want), "the export lacks {want}");
    }
    // Story bodies are JSON inside the record, with their "Also read" links.
    assert!(first.contains(r#""body":{"#) || first.contains(r#""body":["#));
    assert!(!first.contains(r#""body":"{"#));
    // A reply is never written before its parent.
    let pos = |id: i64| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!(r#"{{"type":"comment","id":{id},"#)))
            .unwrap()
    };
    assert!(pos(root) < pos(root + 1) && pos(root + 1) < pos(root + 2));
    // Nothing of the running process goes out.
    for never in [
        "token_hash",
        "csrf_token",
        "\"type\":\"session\"",
        "mail_outbox",
    ] {
        assert!(!first.contains(never), "{never}");
    }
    // Paging (by each table's key, composite ones too) changes nothing.
    for rows in [1, 2, 7] {
        assert!(
            export_paged(&old.db, "2026-11-29T10:00:00Z", true, rows).await == first,
            "{rows} rows a page"
        );
    }
    // Without the flag, no password hash.
    let plain = export_text(&old.db, "2026-11-29T10:00:00Z", false).await;
    assert!(!plain.contains("argon2"));
    assert!(plain.contains(r#""password_hash":null"#));

    let new = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &first).unwrap();
    copy_dir(&old.state.config.media_dir(), &new.state.config.media_dir());
    let report = export::import(&new.db, &file, &new.state.config.media_dir(), |_| {})
        .await
        .unwrap();
    assert_eq!(report.counts.total() as usize, lines.len() - 2);
    assert_eq!(report.counts.get("comment"), 3);
    assert!(
        report.missing_files.is_empty(),
        "{:?}",
        report.missing_files
    );

    let second = export_text(&new.db, "2026-11-30T11:00:00Z", true).await;
    let body = |s: &str| s.split_once('\n').unwrap().1.to_string();
    assert_eq!(
        second
            .lines()
            .next()
            .unwrap()
            .replace("2026-11-30T11:00:00Z", "2026-11-29T10:00:00Z"),
        lines[0]
    );
    assert!(
        body(&first) == body(&second),
        "the second export differs from the first"
    );

    // The pages read the same.
    let url = story_url(&old, story).await;
    for path in [
        "/".to_string(),
        url.clone(),
        format!("{url}/comments"),
        "/feed.xml".to_string(),
        "/sitemap.xml".to_string(),
    ] {
        let (a_status, a) = old.get_text(&path).await;
        let (b_status, b) = new.get_text(&path).await;
        assert_eq!((a_status, b_status), (200, 200), "{path}");
        assert!(a == b, "{path} differs after the import");
    }
    let (_, page) = new.get_text(&format!("{url}/comments")).await;
    assert!(page.contains("A reply to the reply."));

    // New rows after an import get new ids (PostgreSQL's sequences moved on).
    let mut c = new.db.write().await.unwrap();
    let id = members::insert(
        c.ex(),
        &Email::parse("new@example.com").unwrap(),
        "",
        None,
        "member",
        1,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(id, 3);
    drop(c);

    // A second import into the now full store is refused, saying why.
    let err = export::import(&new.db, &file, &new.state.config.media_dir(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("the store is not empty"), "{err}");
}

#[tokio::test]
async fn a_cut_or_foreign_file_is_refused_before_anything_is_written() {
    let old = spawn_app().await;
    publication(&old, false).await;
    let text = export_text(&old.db, "2026-11-29T10:00:00Z", false).await;
    let new = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.jsonl");
    let half: Vec<&str> = text.lines().take(text.lines().count() / 2).collect();
    std::fs::write(&cut, half.join("\n")).unwrap();
    let err = export::import(&new.db, &cut, dir.path(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("without its end record"), "{err}");
    let wxr = dir.path().join("wxr.xml");
    std::fs::write(&wxr, "<?xml version=\"1.0\"?><rss/>").unwrap();
    let err = export::import(&new.db, &wxr, dir.path(), |_| {})
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("not a Masthead export"),
        "{err:#}"
    );
    assert!(export::non_empty_tables(&new.db).await.unwrap().is_empty());
}

/// Every table of the schema is exported or named as process state, and
/// every exported table's columns are all in the export.
#[tokio::test]
async fn every_table_and_column_is_decided() {
    #[derive(sqlx::FromRow)]
    struct Name {
        name: String,
    }
    let app = spawn_app().await;
    let mut c = app.db.read().await.unwrap();
    let backend = c.ex().backend();
    let (tables_sql, columns_sql) = match backend {
        Backend::Sqlite => (
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'",
            "select name from pragma_table_info($1)",
        ),
        Backend::Postgres => (
            "select table_name::text as name from information_schema.tables where table_schema = current_schema()",
            "select column_name::text as name from information_schema.columns where table_schema = current_schema() and table_name = $1",
        ),
    };
    let tables = masthead::fetch_all!(c.ex(), Name, tables_sql).unwrap();
    assert!(tables.len() > 20);
    for t in &tables {
        let exported = export::tables::TABLES.iter().find(|s| s.table == t.name);
        let skipped = export::tables::NOT_EXPORTED
            .iter()
            .any(|(n, _)| *n == t.name);
        assert!(
            exported.is_some() != skipped,
            "table {}: add it to the export (src/export/tables.rs) or say why not",
            t.name
        );
        if let Some(spec) = exported {
            let mut cols: Vec<String> = masthead::fetch_all!(c.ex(), Name, columns_sql, &t.name)
                .unwrap()
                .into_iter()
                .map(|n| n.name)
                .collect();
            let mut want: Vec<String> = spec.columns.iter().map(|(n, _)| n.to_string()).collect();
            cols.sort();
            want.sort();
            assert_eq!(cols, want, "columns of {}", t.name);
        }
    }
}

/// `masthead` over a database URL and a data folder.
fn masthead(data: &std::path::Path, database_url: &str, args: &[&str]) -> (i32, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_masthead"));
    for (k, _) in std::env::vars() {
        if k.starts_with("MASTHEAD_") {
            c.env_remove(k);
        }
    }
    let out = c
        .env("MASTHEAD_LOG", "warn")
        .env("MASTHEAD_DATABASE_URL", database_url)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn the_command_line_exports_and_restores() {
    let old = spawn_app().await;
    publication(&old, false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.jsonl");
    let file_arg = file.to_str().unwrap();
    let (code, out) = masthead(
        &old.state.config.data_dir,
        &old.database_url,
        &["export", "--out", file_arg],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("3 comment") && out.contains("Without password hashes"),
        "{out}"
    );

    let new_data = tempfile::tempdir().unwrap();
    let (db, url) = crate::helpers::fresh_db(new_data.path()).await;
    let (code, out) = masthead(new_data.path(), &url, &["import", "masthead", file_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 comment"), "{out}");
    assert!(out.contains("photos are not in the media folder"), "{out}");
    let again = export_text(&db, "2026-11-29T10:00:00Z", false).await;
    let first = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        again.split_once('\n').unwrap().1,
        first.split_once('\n').unwrap().1
    );
    let (code, out) = masthead(new_data.path(), &url, &["import", "masthead", file_arg]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the store is not empty"), "{out}");
    db.close().await;
}

/// An import that fails half-way (a record the store refuses, after more
/// good ones than fill several batches) leaves every table as empty as
/// before, says which line and what to fix; the good file then imports.
#[tokio::test]
async fn an_import_that_fails_half_way_leaves_the_store_empty() {
    let old = spawn_app().await;
    publication(&old, false).await;
    let text = export_text(&old.db, "2026-11-29T10:00:00Z", false).await;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let end = lines.pop().unwrap();
    let records: u64 = serde_json::from_str::<serde_json::Value>(&end).unwrap()["records"]
        .as_u64()
        .unwrap();
    // 1,200 more topics after the file's own: three batches of good rows.
    let last_topic = lines
        .iter()
        .rposition(|l| l.starts_with(r#"{"type":"topic","#))
        .unwrap();
    let topics: Vec<String> = (0..1200)
        .map(|i| {
            format!(
                r#"{{"type":"topic","id":{},"slug":"extra-{i}","name":"Extra {i}","description":"","is_demo":false}}"#,
                10_000 + i
            )
        })
        .collect();
    lines.splice(last_topic + 1..last_topic + 1, topics);
    let good: Vec<String> = lines
        .iter()
        .cloned()
        .chain([format!(r#"{{"type":"end","records":{}}}"#, records + 1200)])
        .collect();
    // A comment on a story that is not in the file, after the good ones.
    let last_comment = lines
        .iter()
        .rposition(|l| l.starts_with(r#"{"type":"comment","#))
        .unwrap();
    let mut bad: serde_json::Value = serde_json::from_str(&lines[last_comment]).unwrap();
    bad["id"] = 999.into();
    bad["story_id"] = 999_999.into();
    bad["parent_id"] = serde_json::Value::Null;
    bad["root_id"] = serde_json::Value::Null;
    bad["idempotency_key"] = "bad-1".into();
    lines.insert(last_comment + 1, bad.to_string());
    let bad_line = last_comment + 2;
    lines.push(format!(r#"{{"type":"end","records":{}}}"#, records + 1201));

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, lines.join("\n") + "\n").unwrap();
    let new = spawn_app().await;
    let err = export::import(&new.db, &broken, dir.path(), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "line {bad_line}: the comment record cannot be written: it refers to a record that is not in the file before it"
        )),
        "{err}"
    );
    assert!(
        err.contains("Nothing was imported: the store is empty again"),
        "{err}"
    );
    {
        #[derive(sqlx::FromRow)]
        struct N {
            n: i64,
        }
        let mut c = new.db.read().await.unwrap();
        for t in export::tables::TABLES {
            let sql = format!("select count(*) as n from {}", t.table);
            let n = masthead::fetch_one!(c.ex(), N, sqlx::AssertSqlSafe(sql))
                .unwrap()
                .n;
            assert_eq!(n, 0, "{} keeps rows of the failed import", t.table);
        }
    }

    let whole = dir.path().join("good.jsonl");
    std::fs::write(&whole, good.join("\n") + "\n").unwrap();
    let report = export::import(&new.db, &whole, dir.path(), |_| {})
        .await
        .unwrap();
    assert_eq!(
        report.counts.get("topic") as usize,
        1200 + topic_count(&text)
    );
    assert_eq!(report.counts.total(), records + 1200);
    let again = export_text(&new.db, "2026-11-29T10:00:00Z", false).await;
    assert!(
        again
            .lines()
            .skip(1)
            .eq(good.iter().skip(1).map(String::as_str)),
        "the store holds the good file, no more"
    );
}

fn topic_count(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(r#"{"type":"topic","#))
        .count()
}
