//! `spawn_app()`: the real router on port 0 over a fresh database per test,
//! SQLite by default, PostgreSQL when `MASTHEAD_TEST_DATABASE_URL` names one
//! (each test then gets a schema of its own in that database).

use std::str::FromStr;
use std::sync::Arc;

use jiff::Timestamp;
use masthead::app::{AppState, Application};
use masthead::clock::{ManualClock, micros};
use masthead::config::{Config, Layer};
use masthead::db::authors::NewAuthor;
use masthead::db::sections::NewSection;
use masthead::db::stories::NewStory;
use masthead::db::{Db, authors, media, sections, settings, stories, topics};
use masthead::domain::body::{self, Block, Figure};
use tokio::sync::oneshot;

/// The instant tests start at: 05:46 am IST on November 25, 2020.
pub const START: &str = "2020-11-25T00:16:00Z";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    /// The database's URL, for a `masthead` process to share it.
    pub database_url: String,
    /// Kept so the data folder lives as long as the app.
    _data: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Which database the suite runs on.
pub fn postgres_url() -> Option<String> {
    std::env::var("MASTHEAD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// A fresh, migrated database: a SQLite file in `dir`, or a new schema in
/// the PostgreSQL test database; and a URL another process can open it by.
pub async fn fresh_db(dir: &std::path::Path) -> (Db, String) {
    match postgres_url() {
        Some(url) => {
            let schema = format!("t_{}", hex_id());
            let admin = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .expect("PostgreSQL test database");
            sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}")))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let opts = sqlx::postgres::PgConnectOptions::from_str(&url)
                .unwrap()
                .options([("search_path", schema.as_str())]);
            let db = Db::open_postgres(opts, &url).await.unwrap();
            db.migrate(&url).await.unwrap();
            let mut shared = url::Url::parse(&url).unwrap();
            shared
                .query_pairs_mut()
                .append_pair("options", &format!("-c search_path={schema}"));
            (db, shared.to_string())
        }
        None => {
            let db = Db::open_sqlite(&dir.join("test.db"), "test.db")
                .await
                .unwrap();
            db.migrate("test.db").await.unwrap();
            (db, format!("sqlite:{}", dir.join("test.db").display()))
        }
    }
}

fn hex_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!(
        "{:x}{:x}{:x}",
        std::process::id(),
        t & 0xffffffff,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|l| l).await
}

/// Starts the app with configuration changes made by `tune`.
pub async fn spawn_app_with(tune: impl FnOnce(Layer) -> Layer) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let layer = tune(Layer {
        listen: Some("127.0.0.1:0".into()),
        data: Some(data.path().to_path_buf()),
        public_url: Some("https://news.example".into()),
        // Ask the database about changes on every request, so a test sees
        // its own writes at once.
        change_poll_ms: Some(0),
        ..Layer::default()
    });
    let config = Config::from_layer(layer).unwrap();
    let (db, database_url) = fresh_db(data.path()).await;
    let clock = ManualClock::new(START.parse().unwrap());
    let mut state = AppState::new(config, db.clone(), clock.clone()).unwrap();
    state.connect_shared().await.unwrap();
    let app = Application::bind(state.clone()).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.serve(async {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        client,
        db,
        clock,
        state,
        database_url,
        _data: data,
        shutdown: Some(tx),
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    }

    pub fn now(&self) -> i64 {
        micros(masthead::clock::Clock::now(&*self.clock))
    }
}

/// A drawn test photo stored in the app's media folder.
pub async fn add_photo(app: &TestApp, shade: u8) -> i64 {
    let img = image::RgbImage::from_fn(1000, 600, |x, y| {
        image::Rgb([shade, (x / 4) as u8, (y / 3) as u8])
    });
    let bytes = masthead::media::encode_jpeg(&img, 80).unwrap();
    let stored = masthead::media::store(&app.state.config.media_dir(), &bytes).unwrap();
    let mut c = app.db.write().await.unwrap();
    media::insert_or_get(c.ex(), &stored.as_new(app.now(), false))
        .await
        .unwrap()
}

/// The small publication most tests run against.
pub struct Fixture {
    pub india: i64,
    pub monsoon_topic: i64,
    pub world: i64,
    pub reporter: i64,
    pub agency: i64,
    /// The main story: metered, with a photo, a gallery and an "Also read".
    pub story: i64,
    /// The story the main one links to ("Also read"), free.
    pub linked: i64,
    /// A story in World, by the agency, updated after publication.
    pub updated: i64,
}

pub const LINE_PAST_THE_CUT: &str = "The fourth paragraph holds the detail only full readers see.";

pub struct StorySpec<'a> {
    pub section: i64,
    pub headline: &'a str,
    pub level: &'a str,
    pub published_at: i64,
    pub updated_at: Option<i64>,
    pub body: Vec<Block>,
    pub lead: Option<i64>,
    pub authors: Vec<i64>,
    pub topics: Vec<i64>,
    pub status: &'a str,
}

pub async fn add_story(app: &TestApp, s: StorySpec<'_>) -> i64 {
    let mut tx = app.db.begin().await.unwrap();
    let slug = masthead::domain::slug::slugify(s.headline);
    let id = stories::insert(
        tx.ex(),
        &NewStory {
            section_id: s.section,
            slug: &slug,
            headline: s.headline,
            standfirst: &format!("Standfirst of “{}”.", s.headline),
            dateline: "Thiruvananthapuram",
            body: &body::to_json(&s.body),
            lead_media_id: s.lead,
            lead_alt: "Rain clouds over a beach",
            lead_caption: "Clouds gather over Kovalam on Wednesday.",
            lead_credit: "Handout photo released by the State Disaster Management Authority",
            access_level: s.level,
            status: s.status,
            published_at: Some(s.published_at),
            updated_at: s.updated_at,
            modified_at: s.updated_at.unwrap_or(s.published_at),
            is_demo: false,
        },
    )
    .await
    .unwrap();
    for (i, a) in s.authors.iter().enumerate() {
        stories::add_author(tx.ex(), id, *a, i as i64)
            .await
            .unwrap();
    }
    for t in &s.topics {
        stories::add_topic(tx.ex(), id, *t).await.unwrap();
    }
    settings::bump_content_epoch(tx.ex()).await.unwrap();
    tx.commit().await.unwrap();
    id
}

pub fn paragraphs(n: usize) -> Vec<Block> {
    let mut v: Vec<Block> = (1..=n)
        .map(|i| Block::Paragraph {
            text: format!("Paragraph {i} of the story, with *emphasis*."),
        })
        .collect();
    if n >= 4 {
        v[3] = Block::Paragraph {
            text: LINE_PAST_THE_CUT.into(),
        };
    }
    v
}

pub async fn fixture(app: &TestApp) -> Fixture {
    let (india, world, monsoon, reporter, agency);
    {
        let mut tx = app.db.begin().await.unwrap();
        settings::put(
            tx.ex(),
            "publication",
            &settings::Publication {
                name: "The Test Herald".into(),
                tagline: "A paper for tests".into(),
                time_zone: "Asia/Kolkata".into(),
                language: "en-IN".into(),
                description: "Test news.".into(),
                copyright: "© The Test Herald".into(),
            },
        )
        .await
        .unwrap();
        india = sections::insert(
            tx.ex(),
            &NewSection {
                slug: "india",
                name: "India",
                description: "National news.",
                position: 0,
                is_demo: false,
            },
        )
        .await
        .unwrap();
        world = sections::insert(
            tx.ex(),
            &NewSection {
                slug: "world",
                name: "World",
                description: "",
                position: 1,
                is_demo: false,
            },
        )
        .await
        .unwrap();
        monsoon = topics::insert(tx.ex(), "monsoon", "Monsoon", "The rains.", false)
            .await
            .unwrap();
        reporter = authors::insert(
            tx.ex(),
            &NewAuthor {
                slug: "asha-menon",
                name: "Asha Menon",
                kind: "person",
                short_name: "",
                title: "Reporter",
                bio: "Asha reports.",
                is_demo: false,
            },
        )
        .await
        .unwrap();
        agency = authors::insert(
            tx.ex(),
            &NewAuthor {
                slug: "unw",
                name: "United News Wire",
                kind: "agency",
                short_name: "UNW",
                title: "",
                bio: "",
                is_demo: false,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let photo = add_photo(app, 40).await;
    let gallery_a = add_photo(app, 120).await;
    let gallery_b = add_photo(app, 200).await;
    let now = app.now();
    let hour = 3_600_000_000i64;
    let linked = add_story(
        app,
        StorySpec {
            section: india,
            headline: "Fishermen told to stay ashore as the sea turns rough",
            level: "free",
            published_at: now - 30 * hour,
            updated_at: None,
            body: paragraphs(3),
            lead: Some(photo),
            authors: vec![reporter],
            topics: vec![monsoon],
            status: "published",
        },
    )
    .await;
    let mut body = paragraphs(6);
    body.insert(2, Block::AlsoRead { story_id: linked });
    body.insert(
        4,
        Block::Photo(Figure {
            media_id: photo,
            alt: "Boats pulled up on the sand".into(),
            caption: "Boats pulled up at Vizhinjam.".into(),
            credit: "Photo: R. Krishnan".into(),
        }),
    );
    body.push(Block::Gallery {
        items: vec![
            Figure {
                media_id: gallery_a,
                alt: "A flooded road".into(),
                caption: "A flooded road in Kochi.".into(),
                credit: "Photo: A".into(),
            },
            Figure {
                media_id: gallery_b,
                alt: "Children with umbrellas".into(),
                caption: "Children walk to school.".into(),
                credit: "Photo: B".into(),
            },
        ],
    });
    // Published at 05:46 am IST on November 25, 2020 (the clock's start).
    let story = add_story(
        app,
        StorySpec {
            section: india,
            headline: "Monsoon reaches Kerala three days early",
            level: "metered",
            published_at: now,
            updated_at: None,
            body,
            lead: Some(photo),
            authors: vec![reporter, agency],
            topics: vec![monsoon],
            status: "published",
        },
    )
    .await;
    let updated = add_story(
        app,
        StorySpec {
            section: world,
            headline: "Talks on river water resume in Livingstone",
            level: "metered",
            published_at: now - 50 * hour,
            updated_at: Some(now - 45 * hour),
            body: paragraphs(5),
            lead: None,
            authors: vec![agency],
            topics: vec![],
            status: "published",
        },
    )
    .await;
    Fixture {
        monsoon_topic: monsoon,
        india,
        world,
        reporter,
        agency,
        story,
        linked,
        updated,
    }
}

/// The current address of a story.
pub async fn story_url(app: &TestApp, id: i64) -> String {
    let mut c = app.db.read().await.unwrap();
    let s = stories::find(c.ex(), id).await.unwrap().unwrap();
    format!("/{}/{}-{}", s.section_slug, s.slug, s.id)
}

pub fn now_ts(app: &TestApp) -> Timestamp {
    masthead::clock::Clock::now(&*app.clock)
}

/// `n` published metered stories in India, newest first, one minute apart;
/// answers their addresses.
pub async fn metered_stories(app: &TestApp, f: &Fixture, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let id = add_story(
            app,
            StorySpec {
                section: f.india,
                headline: &format!("Metered story number {i}"),
                level: "metered",
                published_at: app.now() - (i as i64 + 1) * 60_000_000,
                updated_at: None,
                body: paragraphs(6),
                lead: None,
                authors: vec![f.reporter],
                topics: vec![],
                status: "published",
            },
        )
        .await;
        out.push(story_url(app, id).await);
    }
    out
}
