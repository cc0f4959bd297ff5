//! Threads of an import put together right whatever the file's order: a
//! generated Disqus export whose replies point far back (past what the
//! writer remembers), forward (before their parent, past what it lets
//! wait), to another story, to nothing, to each other (a cycle), and that
//! repeats ids far apart; imported with a small writer (a few rows a batch)
//! so every path a large file takes is taken, in one file and split in two.
//! Each comment's parent, thread, depth and its thread's count of visible
//! replies are checked against the file; both databases.

use std::collections::HashMap;
use std::path::Path;

use crate::helpers::*;
use masthead::import::{Kind, Matcher, Options, Report, run, writer::Limits};

/// One post of the generated file.
#[derive(Clone, Debug)]
struct Post {
    id: String,
    thread: usize,
    parent: Option<String>,
    state: &'static str,
}

/// A small random-number generator, so the file is the same every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn posts(n: usize) -> Vec<Post> {
    let mut rnd = Lcg(11);
    let mut out: Vec<Post> = Vec::new();
    for i in 1..=n {
        let thread = rnd.next(2);
        let same: Vec<usize> = (0..out.len())
            .filter(|&k| out[k].thread == thread)
            .collect();
        let r = rnd.next(100);
        let parent = if r < 40 && !same.is_empty() {
            // Far back as often as near.
            Some(out[same[rnd.next(same.len())]].id.clone())
        } else if r < 50 && i + 1 < n {
            // Before its parent: up to 150 posts later (which may be on
            // the other thread: then it is no parent).
            Some(format!("p{}", i + 1 + rnd.next(150.min(n - i - 1))))
        } else if r < 52 {
            Some("p-missing".to_string())
        } else {
            None
        };
        let k = rnd.next(100);
        let state = match k {
            0..5 => "deleted",
            5..10 => "spam",
            _ => "visible",
        };
        out.push(Post {
            id: format!("p{i}"),
            thread,
            parent,
            state,
        });
    }
    // A cycle: two replies to each other.
    out[100].parent = Some(out[300].id.clone());
    out[300].parent = Some(out[100].id.clone());
    out[300].thread = out[100].thread;
    // Ids repeated far apart (the later copy changes nothing).
    for (at, copy) in [(250, 10), (420, 60), (590, 200)] {
        let mut p = out[copy].clone();
        p.parent = None;
        out[at] = p;
    }
    out
}

fn xml(posts: &[Post]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<disqus xmlns=\"http://disqus.com\" \
         xmlns:dsq=\"http://disqus.com/disqus-internals\">\n",
    );
    for t in 0..2 {
        s.push_str(&format!(
            "<thread dsq:id=\"t{t}\"><id>thread-{t}</id><link>https://old.example/{t}/</link>\
             <title>Thread {t}</title><isDeleted>false</isDeleted></thread>\n"
        ));
    }
    for (n, p) in posts.iter().enumerate() {
        let parent = p
            .parent
            .as_ref()
            .map(|q| format!("<parent dsq:id=\"{q}\"/>"))
            .unwrap_or_default();
        s.push_str(&format!(
            "<post dsq:id=\"{id}\"><message><![CDATA[<p>Comment number {n} is here.</p>]]></message>\
             <createdAt>2020-03-01T10:{m:02}:{sec:02}Z</createdAt>\
             <isDeleted>{d}</isDeleted><isSpam>{sp}</isSpam>\
             <author><email>r{a}@example.com</email><name>Reader {a}</name>\
             <isAnonymous>false</isAnonymous><username>r{a}</username></author>\
             <thread dsq:id=\"t{t}\"/>{parent}</post>\n",
            id = p.id,
            m = (n / 60) % 60,
            sec = n % 60,
            d = p.state == "deleted",
            sp = p.state == "spam",
            a = n % 37,
            t = p.thread,
        ));
    }
    s.push_str("</disqus>\n");
    s
}

#[derive(sqlx::FromRow, Debug, Clone)]
struct Row {
    id: i64,
    story_id: i64,
    parent_id: Option<i64>,
    root_id: Option<i64>,
    depth: i64,
    status: String,
    source_id: Option<String>,
    reply_count: i64,
}

async fn stored(app: &TestApp) -> Vec<Row> {
    let mut c = app.db.read().await.unwrap();
    masthead::fetch_all!(
        c.ex(),
        Row,
        "select id, story_id, parent_id, root_id, depth, status, source_id, reply_count \
         from comments order by id"
    )
    .unwrap()
}

async fn import(app: &TestApp, file: &Path, stories: [i64; 2], limits: Limits) -> Report {
    let opts = Options {
        limits,
        ..Options::default()
    };
    import_with(app, file, stories, &opts).await
}

async fn import_with(app: &TestApp, file: &Path, stories: [i64; 2], opts: &Options) -> Report {
    let mut matcher = Matcher::new(&app.state.config.public_url, &[]);
    matcher
        .read_map(&format!(
            "thread-0 {}\nthread-1 {}\n",
            stories[0], stories[1]
        ))
        .unwrap();
    run(&app.db, &matcher, Kind::Disqus, file, opts, None, app.now())
        .await
        .unwrap()
}

/// Checks the stored comments against the file: one row an id, each under
/// the parent the file gives when that parent is in the file on the same
/// story (but for one member of the cycle), threads and depths that follow
/// the parents, and each thread's count of visible replies.
fn check(rows: &[Row], posts: &[Post], stories: [i64; 2]) -> HashMap<String, Option<String>> {
    let mut first: HashMap<&str, &Post> = HashMap::new();
    for p in posts {
        first.entry(p.id.as_str()).or_insert(p);
    }
    assert_eq!(rows.len(), first.len(), "one comment an id");
    let by_id: HashMap<i64, &Row> = rows.iter().map(|r| (r.id, r)).collect();
    let by_source: HashMap<&str, &Row> = rows
        .iter()
        .map(|r| (r.source_id.as_deref().unwrap(), r))
        .collect();
    let mut parents = HashMap::new();
    let mut cycle_tops = 0;
    for (id, p) in &first {
        let r = by_source[id];
        assert_eq!(r.story_id, stories[p.thread], "{id} on its story");
        assert_eq!(r.status, p.state, "{id}'s status");
        let expected = p
            .parent
            .as_deref()
            .and_then(|q| first.get(q))
            .filter(|q| q.thread == p.thread);
        let got = r.parent_id.map(|x| by_id[&x].source_id.clone().unwrap());
        match (expected, &got) {
            (Some(q), Some(g)) => assert_eq!(&q.id, g, "{id}'s parent"),
            (None, None) => {}
            (Some(q), None) if *id == "p101" || *id == "p301" => {
                // The cycle is broken at one of its two members.
                assert!(q.id == "p101" || q.id == "p301");
                cycle_tops += 1;
            }
            (e, g) => panic!("{id}: parent {g:?}, the file says {:?}", e.map(|q| &q.id)),
        }
        parents.insert(id.to_string(), got);
        // The thread and depth follow the parents.
        let (mut top, mut depth) = (r, 0);
        while let Some(up) = top.parent_id {
            top = by_id[&up];
            depth += 1;
            assert!(depth < 1000, "{id}: a cycle of parents");
        }
        assert_eq!(r.root_id, Some(top.id), "{id}'s thread");
        assert_eq!(r.depth, depth, "{id}'s depth");
    }
    assert_eq!(cycle_tops, 1, "the cycle is broken once");
    for r in rows.iter().filter(|r| r.parent_id.is_none()) {
        let visible = rows
            .iter()
            .filter(|c| c.root_id == Some(r.id) && c.id != r.id && c.status == "visible")
            .count() as i64;
        assert_eq!(
            r.reply_count, visible,
            "visible replies of {:?}",
            r.source_id
        );
    }
    // Which member of the cycle stays at the top depends on the order the
    // rows were written in; the rest does not.
    parents.remove("p101");
    parents.remove("p301");
    parents
}

/// A writer made small, so a small file takes every path a large one does.
const SMALL: Limits = Limits {
    batch: 25,
    batch_bytes: 1 << 20,
    recent: 40,
    waiting: 15,
};

/// The generated posts, a folder, and the posts written in it as one file.
fn generated() -> (Vec<Post>, tempfile::TempDir, std::path::PathBuf) {
    let all = posts(1200);
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.xml");
    std::fs::write(&whole, xml(&all)).unwrap();
    (all, dir, whole)
}

/// A store with the two stories the file's threads are mapped to.
async fn store() -> (TestApp, [i64; 2]) {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    (app, [f.story, f.linked])
}

#[tokio::test]
async fn threads_are_put_together_whatever_the_order_of_the_file() {
    let (all, dir, whole) = generated();

    // In one file, through a small writer.
    let (app, stories) = store().await;
    let report = import(&app, &whole, stories, SMALL).await;
    assert_eq!(report.imported, 1197, "{report:?}");
    assert_eq!(report.already, 3, "the repeated ids: {report:?}");
    let rows = stored(&app).await;
    let small_parents = check(&rows, &all, stories);
    // Again: nothing added, nothing moved.
    let report = import(&app, &whole, stories, SMALL).await;
    assert_eq!((report.imported, report.already), (0, 1200), "{report:?}");
    let again = stored(&app).await;
    assert_eq!(format!("{rows:?}"), format!("{again:?}"));

    // The same with the writer's usual sizes.
    let (app, stories) = store().await;
    import(&app, &whole, stories, Limits::default()).await;
    let parents = check(&stored(&app).await, &all, stories);
    assert_eq!(parents, small_parents);

    // Split in two files: replies in the second to the first and (the
    // first's replies before their parent) the other way.
    let (app, stories) = store().await;
    let (a, b) = (dir.path().join("a.xml"), dir.path().join("b.xml"));
    std::fs::write(&a, xml(&all[..350])).unwrap();
    std::fs::write(&b, xml(&all[350..])).unwrap();
    import(&app, &a, stories, SMALL).await;
    let report = import(&app, &b, stories, SMALL).await;
    assert_eq!(
        report.already, 2,
        "p61 and p201 repeated in the second file: {report:?}"
    );
    let parents = check(&stored(&app).await, &all, stories);
    assert_eq!(parents, small_parents);
}

/// The indexes of comments, by name and definition.
async fn indexes(app: &TestApp) -> Vec<(String, String)> {
    let mut c = app.db.read().await.unwrap();
    match c.ex() {
        masthead::db::Ex::Sqlite(c) => sqlx::query_as(
            "select name, coalesce(sql, '') from sqlite_master \
             where type = 'index' and tbl_name = 'comments' order by name",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap(),
        masthead::db::Ex::Postgres(c) => sqlx::query_as(
            "select indexname::text, indexdef from pg_indexes \
             where schemaname = current_schema() and tablename = 'comments' order by 1",
        )
        .fetch_all(&mut *c)
        .await
        .unwrap(),
    }
}

#[tokio::test]
async fn a_bulk_import_builds_the_indexes_it_set_aside_again() {
    let (all, _dir, whole) = generated();
    let (app, stories) = store().await;
    let before = indexes(&app).await;
    assert!(
        before.iter().any(|(n, _)| n == "comments_story_idx"),
        "{before:?}"
    );
    let opts = Options {
        limits: SMALL,
        bulk: true,
        ..Options::default()
    };
    let report = import_with(&app, &whole, stories, &opts).await;
    assert_eq!((report.imported, report.already), (1197, 3), "{report:?}");
    // The same threads as an import that keeps its indexes.
    let bulk_parents = check(&stored(&app).await, &all, stories);
    let (plain, plain_stories) = store().await;
    import(&plain, &whole, plain_stories, SMALL).await;
    let plain_parents = check(&stored(&plain).await, &all, plain_stories);
    assert_eq!(bulk_parents, plain_parents);
    assert_eq!(indexes(&app).await, before, "every index is back as it was");

    // With SQLite's check of references off while it wrote, every comment
    // names a story and a parent that exist.
    if app.db.backend() == masthead::db::Backend::Sqlite {
        let mut c = app.db.read().await.unwrap();
        let broken: Vec<(String, i64)> = masthead::fetch_all!(
            c.ex(),
            (String, i64),
            "select \"table\", rowid from pragma_foreign_key_check('comments')"
        )
        .unwrap();
        assert_eq!(broken, vec![]);
        drop(c);
        let mut w = app.db.write().await.unwrap();
        let on: Vec<(i64,)> = masthead::fetch_all!(
            w.ex(),
            (i64,),
            "select foreign_keys from pragma_foreign_keys"
        )
        .unwrap();
        assert_eq!(on, vec![(1,)], "the writer checks references again");
    }

    // A bulk import that stops half-way: the next command that opens the
    // store builds them.
    let aside = masthead::db::imports::set_aside_indexes(&app.db)
        .await
        .unwrap();
    assert_eq!(aside, 6);
    let during = indexes(&app).await;
    assert!(
        !during.iter().any(|(n, _)| n == "comments_story_idx"),
        "{during:?}"
    );
    app.db.migrate("the test database").await.unwrap();
    assert_eq!(indexes(&app).await, before);
}

#[tokio::test]
async fn long_comments_are_written_whole() {
    // 60 comments of 30,000 characters: more than one statement's worth
    // of text on SQLite, and quotes that must stay quotes.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("long.xml");
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<disqus xmlns=\"http://disqus.com\" \
         xmlns:dsq=\"http://disqus.com/disqus-internals\">\n\
         <thread dsq:id=\"t0\"><id>thread-0</id><link>https://old.example/0/</link>\
         <title>Thread 0</title><isDeleted>false</isDeleted></thread>\n",
    );
    let body = |n: usize| format!("Comment {n} says it's \"long\"; {}", "x".repeat(30_000));
    for n in 0..60 {
        s.push_str(&format!(
            "<post dsq:id=\"p{n}\"><message><![CDATA[<p>{}</p>]]></message>\
             <createdAt>2020-03-01T10:00:{:02}Z</createdAt><isDeleted>false</isDeleted>\
             <isSpam>false</isSpam><author><email>r@example.com</email><name>Reader</name>\
             <isAnonymous>false</isAnonymous><username>r</username></author>\
             <thread dsq:id=\"t0\"/></post>\n",
            body(n),
            n % 60
        ));
    }
    s.push_str("</disqus>\n");
    std::fs::write(&file, s).unwrap();
    let (app, stories) = store().await;
    // A batch ends at 1.5 MB of text: 50 comments (two statements), then 10.
    let limits = Limits {
        batch_bytes: 1_500_000,
        ..Limits::default()
    };
    let report = import(&app, &file, stories, limits).await;
    assert_eq!(report.imported, 60, "{report:?}");
    let mut c = app.db.read().await.unwrap();
    let bodies: Vec<(String, String)> = masthead::fetch_all!(
        c.ex(),
        (String, String),
        "select source_id, body from comments where source_id is not null order by id"
    )
    .unwrap();
    assert_eq!(bodies.len(), 60);
    for (n, (id, text)) in bodies.iter().enumerate() {
        assert_eq!(id, &format!("p{n}"));
        assert_eq!(text, &body(n), "p{n}");
    }
}
