//! `masthead demo --stories N`: many stories of made-up text for load tests,
//! spread over three years and sharing a few drawn photos.

use std::path::Path;

use anyhow::Context;
use jiff::Timestamp;

use crate::clock::micros;
use crate::db::authors::NewAuthor;
use crate::db::sections::NewSection;
use crate::db::stories::NewStory;
use crate::db::{Db, authors, media, sections, stories, topics};
use crate::domain::body::{self, Block, Figure};
use crate::domain::slug::slugify;

/// A small deterministic generator (splitmix64), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

const SUBJECTS: &[&str] = &[
    "State officials",
    "The municipal corporation",
    "Farmers' groups",
    "A panel of economists",
    "Railway engineers",
    "The district collector",
    "Residents' welfare associations",
    "Researchers at a national institute",
    "Port authorities",
    "The election commission",
    "Teachers' unions",
    "A coalition of startups",
    "Hospital administrators",
    "The coast guard",
];
const VERBS: &[&str] = &[
    "unveil a plan for",
    "warn of delays in",
    "call for a review of",
    "approve new funds for",
    "report progress on",
    "question the cost of",
    "begin work on",
    "seek public comment on",
    "publish figures on",
    "set a deadline for",
];
const OBJECTS: &[&str] = &[
    "the new metro line",
    "groundwater recharge",
    "flood defences",
    "rural broadband",
    "the bus fleet",
    "school meals",
    "solar parks",
    "the harbour expansion",
    "heat action plans",
    "the vaccination drive",
    "crop insurance",
    "urban tree cover",
    "the state budget",
    "cold storage for farmers",
    "the river front",
];
const PLACES: &[&str] = &[
    "Pune",
    "Lucknow",
    "Guwahati",
    "Bhopal",
    "Kochi",
    "Nagpur",
    "Jaipur",
    "Visakhapatnam",
    "Patna",
    "Surat",
    "Mysuru",
    "Ranchi",
    "Dehradun",
    "Madurai",
    "Raipur",
    "Shillong",
];
const SENTENCES: &[&str] = &[
    "Officials said the first phase would be completed within eighteen months, subject to approvals.",
    "The proposal drew a mixed response from residents, several of whom spoke at a public hearing on Tuesday.",
    "According to figures released by the department, spending on the scheme rose by nearly a fifth last year.",
    "“We have learnt from the delays of the past,” a senior official said, asking not to be named.",
    "Opposition members said the plan lacked detail and demanded that it be placed before the Assembly.",
    "Experts cautioned that the targets were ambitious and would depend on steady funding from the Centre.",
    "Traders in the old city said they had not been consulted, though the notice was published a month ago.",
    "The project is expected to benefit about three lakh people in the surrounding districts.",
    "A review committee will submit its report by the end of the quarter, the minister told reporters.",
    "Work on a similar scheme in a neighbouring district was halted last year after cost overruns.",
    "Local volunteers have been mapping the affected wards and say the need is greatest on the outskirts.",
    "The department has set up a helpline and promised to publish monthly progress reports online.",
];

/// Sections, topics and authors to spread generated stories over: the
/// store's own, or a few new ones when it has none.
async fn cast(db: &Db) -> anyhow::Result<(Vec<i64>, Vec<i64>, Vec<i64>)> {
    let mut tx = db.begin().await?;
    let mut s: Vec<i64> = sections::all(tx.ex()).await?.iter().map(|x| x.id).collect();
    if s.is_empty() {
        for (i, (slug, name)) in [
            ("news", "News"),
            ("business", "Business"),
            ("sport", "Sport"),
        ]
        .iter()
        .enumerate()
        {
            s.push(
                sections::insert(
                    tx.ex(),
                    &NewSection {
                        slug,
                        name,
                        description: "",
                        position: i as i64,
                        is_demo: true,
                    },
                )
                .await?,
            );
        }
    }
    let mut t: Vec<i64> = topics::all(tx.ex()).await?.iter().map(|x| x.id).collect();
    if t.is_empty() {
        for (slug, name) in [
            ("cities", "Cities"),
            ("economy", "Economy"),
            ("environment", "Environment"),
        ] {
            t.push(topics::insert(tx.ex(), slug, name, "", true).await?);
        }
    }
    let mut a: Vec<i64> = authors::all(tx.ex()).await?.iter().map(|x| x.id).collect();
    if a.is_empty() {
        for (slug, name) in [
            ("staff-reporter", "Staff Reporter"),
            ("special-correspondent", "Special Correspondent"),
        ] {
            a.push(
                authors::insert(
                    tx.ex(),
                    &NewAuthor {
                        slug,
                        name,
                        kind: "person",
                        short_name: "",
                        title: "",
                        bio: "",
                        is_demo: true,
                    },
                )
                .await?,
            );
        }
    }
    tx.commit().await?;
    Ok((s, t, a))
}

/// Adds `n` generated stories; `progress` is called after each batch with
/// the number written so far.
pub async fn generate(
    db: &Db,
    media_dir: &Path,
    n: usize,
    now: Timestamp,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<usize> {
    let (section_ids, topic_ids, author_ids) = cast(db).await?;
    // Eight photos shared by every generated story: enough to look varied,
    // few enough to draw quickly.
    let scenes: Vec<(String, u64)> = super::draw::SCENES
        .iter()
        .step_by(3)
        .enumerate()
        .map(|(i, s)| (s.to_string(), 1000 + i as u64))
        .collect();
    let dir = media_dir.to_path_buf();
    let stored =
        tokio::task::spawn_blocking(move || super::draw_and_store(&dir, &scenes)).await??;
    let mut photo_ids = Vec::new();
    {
        let mut tx = db.begin().await?;
        for s in &stored {
            photo_ids.push(media::insert_or_get(tx.ex(), &s.as_new(micros(now), true)).await?);
        }
        tx.commit().await?;
    }
    let mut rng = Rng(0x5eed ^ n as u64);
    let span_us: i64 = 3 * 365 * 24 * 3600 * 1_000_000;
    let now_us = micros(now);
    let batch = 500;
    let mut written = 0;
    while written < n {
        let mut tx = db.begin().await?;
        for i in written..(written + batch).min(n) {
            let place = *rng.pick(PLACES);
            let headline = format!(
                "{} {} {} in {place}",
                rng.pick(SUBJECTS),
                rng.pick(VERBS),
                rng.pick(OBJECTS)
            );
            let mut blocks = Vec::new();
            for p in 0..6 {
                let text = (0..3)
                    .map(|_| *rng.pick(SENTENCES))
                    .collect::<Vec<_>>()
                    .join(" ");
                blocks.push(Block::Paragraph { text });
                if p == 2 {
                    let photo = *rng.pick(&photo_ids);
                    blocks.push(Block::Photo(Figure {
                        media_id: photo,
                        alt: format!("An illustration for a report from {place}"),
                        caption: format!("A scene from {place}."),
                        credit: "Illustration: Masthead demo generator".into(),
                    }));
                }
            }
            let published = now_us - span_us + (span_us / n as i64) * i as i64
                - (rng.next() % 3_600_000_000) as i64;
            let level = match rng.next() % 10 {
                0 => "free",
                1 => "subscribers",
                _ => "metered",
            };
            let id = stories::insert(
                tx.ex(),
                &NewStory {
                    section_id: *rng.pick(&section_ids),
                    slug: &slugify(&headline),
                    headline: &headline,
                    standfirst: &format!(
                        "A generated story about {} in {place}, for load testing.",
                        rng.pick(OBJECTS)
                    ),
                    dateline: place,
                    body: &body::to_json(&blocks),
                    lead_media_id: Some(*rng.pick(&photo_ids)),
                    lead_alt: &format!("An illustration for a report from {place}"),
                    lead_caption: &format!("A scene from {place}."),
                    lead_credit: "Illustration: Masthead demo generator",
                    access_level: level,
                    status: "published",
                    published_at: Some(published),
                    updated_at: None,
                    modified_at: published,
                    is_demo: true,
                },
            )
            .await
            .context("inserting a generated story")?;
            stories::add_author(tx.ex(), id, *rng.pick(&author_ids), 0).await?;
            stories::add_topic(tx.ex(), id, *rng.pick(&topic_ids)).await?;
        }
        crate::db::settings::bump_content_epoch(tx.ex()).await?;
        tx.commit().await?;
        written = (written + batch).min(n);
        progress(written);
    }
    Ok(written)
}
