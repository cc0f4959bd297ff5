//! The demo publication and the large-data generator.
//!
//! `serve` seeds the demo on an empty store (unless `--no-demo`): a fictional
//! national daily with sections, topics, authors, agencies and stories written
//! for this project (`demo/*.toml`), with photos drawn by the program. Every
//! row it adds is marked `is_demo`, so `masthead demo --remove` takes it all
//! out again. `masthead demo --stories N` adds N generated stories for load
//! tests, spread over years and sharing a few photos.

pub mod draw;
mod generate;

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use crate::clock::micros;
use crate::db::authors::NewAuthor;
use crate::db::sections::NewSection;
use crate::db::settings::Publication;
use crate::db::stories::NewStory;
use crate::db::{Db, Ex, authors, media, sections, settings, stories, topics};
use crate::domain::body::{self, Block, Figure};
use crate::domain::slug::slugify;

pub use generate::generate;

#[derive(Deserialize)]
struct PublicationFile {
    publication: Publication,
    section: Vec<SectionDef>,
    topic: Vec<TopicDef>,
    author: Vec<AuthorDef>,
    #[serde(default)]
    newsletter: Vec<NewsletterDef>,
}

/// A demo newsletter; which ones the demo made is kept in the
/// `demo_newsletters` setting (the table has no demo mark), so that
/// `demo --remove` takes them out.
#[derive(Deserialize)]
struct NewsletterDef {
    slug: String,
    name: String,
    description: String,
    schedule: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    subscribe_on_register: bool,
}

#[derive(Deserialize)]
struct SectionDef {
    slug: String,
    name: String,
    description: String,
}

#[derive(Deserialize)]
struct TopicDef {
    slug: String,
    name: String,
    description: String,
}

#[derive(Deserialize)]
struct AuthorDef {
    slug: String,
    name: String,
    kind: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    bio: String,
}

#[derive(Deserialize)]
struct StoriesFile {
    story: Vec<StoryDef>,
}

#[derive(Deserialize, Clone)]
struct PhotoDef {
    scene: String,
    alt: String,
    caption: String,
    credit: String,
}

#[derive(Deserialize)]
struct StoryDef {
    key: String,
    section: String,
    headline: String,
    standfirst: String,
    #[serde(default)]
    dateline: String,
    byline: Vec<String>,
    #[serde(default)]
    topics: Vec<String>,
    level: String,
    days_ago: i64,
    hour: i8,
    minute: i8,
    updated_hours_later: Option<i64>,
    lead_photo: PhotoDef,
    body: String,
    #[serde(default)]
    gallery: Vec<PhotoDef>,
}

const PUBLICATION: &str = include_str!("../../demo/publication.toml");
const STORIES: &[&str] = &[
    include_str!("../../demo/stories-a.toml"),
    include_str!("../../demo/stories-b.toml"),
];

/// A body block before photos and links are resolved to ids.
enum DraftBlock {
    Ready(Block),
    Photo(PhotoDef),
    Gallery,
    AlsoRead(String),
}

/// Parses the demo's body markup: blocks separated by blank lines; `## ` a
/// heading, `> ` a quote, `[photo ...]`, `[gallery]`, `[also_read key=".."]`.
fn parse_body(key: &str, text: &str) -> anyhow::Result<Vec<DraftBlock>> {
    let mut out = Vec::new();
    for chunk in text.split("\n\n") {
        let chunk = chunk.trim();
        if chunk.is_empty() {
            continue;
        }
        let one_line = chunk.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(rest) = chunk.strip_prefix("## ") {
            out.push(DraftBlock::Ready(Block::Heading {
                text: rest.trim().to_string(),
            }));
        } else if chunk.starts_with("> ") {
            let text = chunk
                .lines()
                .map(|l| l.trim_start_matches('>').trim())
                .collect::<Vec<_>>()
                .join(" ");
            out.push(DraftBlock::Ready(Block::Quote { text }));
        } else if one_line == "[gallery]" {
            out.push(DraftBlock::Gallery);
        } else if let Some(attrs) = one_line
            .strip_prefix("[photo ")
            .and_then(|r| r.strip_suffix(']'))
        {
            let a = attributes(attrs);
            let get = |k: &str| {
                a.get(k)
                    .cloned()
                    .ok_or_else(|| anyhow!("story {key}: a photo lacks {k}"))
            };
            out.push(DraftBlock::Photo(PhotoDef {
                scene: get("scene")?,
                alt: get("alt")?,
                caption: get("caption")?,
                credit: get("credit")?,
            }));
        } else if let Some(attrs) = one_line
            .strip_prefix("[also_read ")
            .and_then(|r| r.strip_suffix(']'))
        {
            let target = attributes(attrs)
                .remove("key")
                .ok_or_else(|| anyhow!("story {key}: an also_read lacks key"))?;
            out.push(DraftBlock::AlsoRead(target));
        } else {
            out.push(DraftBlock::Ready(Block::Paragraph { text: one_line }));
        }
    }
    Ok(out)
}

/// `a="x" b="y"` into a map.
fn attributes(s: &str) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        map.insert(name, after[..end].to_string());
        rest = &after[end + 1..];
    }
    map
}

fn seed_of(text: &str) -> u64 {
    // FNV-1a: stable across runs and platforms.
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Draws and stores the pictures `(scene, seed)` in parallel on the cores;
/// answers the stored photos in the same order.
pub fn draw_and_store(
    media_dir: &Path,
    jobs: &[(String, u64)],
) -> anyhow::Result<Vec<crate::media::Stored>> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunk = jobs.len().div_ceil(threads).max(1);
    let results: Vec<anyhow::Result<Vec<crate::media::Stored>>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(scene, seed)| {
                            let img = draw::draw_scene(scene, *seed, 1600, 900);
                            let bytes = crate::media::encode_jpeg(&img, 86)?;
                            Ok(crate::media::store(media_dir, &bytes)?)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a drawing thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(jobs.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// When a story `days_ago` days back at `hour:minute` local time was
/// published; never in the future.
fn published_time(
    now: Timestamp,
    tz: &TimeZone,
    days_ago: i64,
    hour: i8,
    minute: i8,
) -> anyhow::Result<Timestamp> {
    let today = now.to_zoned_datetime(tz.clone()).date();
    let mut t = today
        .checked_sub(jiff::Span::new().days(days_ago))?
        .at(hour, minute, 0, 0)
        .to_zoned_datetime(tz.clone())?
        .timestamp();
    while t > now {
        t = t.checked_sub(SignedDuration::from_hours(24))?;
    }
    Ok(t)
}

/// A story inserted in the first pass, whose body waits for every id:
/// (story id, its draft blocks, its photos in order, its gallery's words).
type Pending = (i64, Vec<DraftBlock>, Vec<i64>, Vec<PhotoDef>);

/// What the seed added.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub sections: usize,
    pub topics: usize,
    pub authors: usize,
    pub stories: usize,
    pub photos: usize,
}

/// Seeds the demo publication into an empty store.
pub async fn seed(db: &Db, media_dir: &Path, now: Timestamp) -> anyhow::Result<SeedReport> {
    let pubfile: PublicationFile = toml::from_str(PUBLICATION).context("demo/publication.toml")?;
    let mut defs: Vec<StoryDef> = Vec::new();
    for (i, text) in STORIES.iter().enumerate() {
        let f: StoriesFile =
            toml::from_str(text).with_context(|| format!("demo stories file {}", i + 1))?;
        defs.extend(f.story);
    }
    let tz = crate::domain::time::zone(&pubfile.publication.time_zone)
        .ok_or_else(|| anyhow!("unknown time zone {}", pubfile.publication.time_zone))?;

    // Parse every body first, and gather the pictures to draw.
    let mut jobs: Vec<(String, u64)> = Vec::new();
    let mut drafts = Vec::new();
    for d in &defs {
        jobs.push((d.lead_photo.scene.clone(), seed_of(&d.key)));
        let blocks = parse_body(&d.key, &d.body)?;
        for (i, b) in blocks.iter().enumerate() {
            if let DraftBlock::Photo(p) = b {
                jobs.push((p.scene.clone(), seed_of(&format!("{}#{i}", d.key))));
            }
        }
        for (i, g) in d.gallery.iter().enumerate() {
            jobs.push((g.scene.clone(), seed_of(&format!("{}@{i}", d.key))));
        }
        drafts.push(blocks);
    }
    let dir = media_dir.to_path_buf();
    let jobs_for_draw = jobs.clone();
    let stored =
        tokio::task::spawn_blocking(move || draw_and_store(&dir, &jobs_for_draw)).await??;

    let mut tx = db.begin().await?;
    let now_us = micros(now);
    let mut photo_ids = Vec::with_capacity(stored.len());
    for s in &stored {
        photo_ids.push(media::insert_or_get(tx.ex(), &s.as_new(now_us, true)).await?);
    }
    settings::put(tx.ex(), "publication", &pubfile.publication).await?;
    settings::put(tx.ex(), "demo", &true).await?;
    seed_newsletters(&mut tx, &pubfile, now_us).await?;
    let mut section_ids = HashMap::new();
    for (i, s) in pubfile.section.iter().enumerate() {
        let id = sections::insert(
            tx.ex(),
            &NewSection {
                slug: &s.slug,
                name: &s.name,
                description: &s.description,
                position: i as i64,
                is_demo: true,
            },
        )
        .await?;
        section_ids.insert(s.slug.clone(), id);
    }
    let mut topic_ids = HashMap::new();
    for t in &pubfile.topic {
        topic_ids.insert(
            t.slug.clone(),
            topics::insert(tx.ex(), &t.slug, &t.name, &t.description, true).await?,
        );
    }
    let mut author_ids = HashMap::new();
    for a in &pubfile.author {
        let id = authors::insert(
            tx.ex(),
            &NewAuthor {
                slug: &a.slug,
                name: &a.name,
                kind: &a.kind,
                short_name: &a.short_name,
                title: &a.title,
                bio: &a.bio,
                is_demo: true,
            },
        )
        .await?;
        author_ids.insert(a.slug.clone(), id);
    }

    let mut photos = photo_ids.iter().copied();
    let mut story_ids: HashMap<String, i64> = HashMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    for (d, blocks) in defs.iter().zip(drafts) {
        let section_id = *section_ids
            .get(&d.section)
            .ok_or_else(|| anyhow!("story {}: no section {}", d.key, d.section))?;
        if !matches!(d.level.as_str(), "free" | "metered" | "subscribers") {
            bail!(
                "story {}: level {} is not free, metered or subscribers",
                d.key,
                d.level
            );
        }
        let published = published_time(now, &tz, d.days_ago, d.hour, d.minute)?;
        let updated = d
            .updated_hours_later
            .map(|h| published.checked_add(SignedDuration::from_hours(h)))
            .transpose()?
            .map(|u| {
                if u > now {
                    now.checked_sub(SignedDuration::from_mins(5))
                        .unwrap_or(now)
                        .max(published)
                } else {
                    u
                }
            });
        let lead = photos
            .next()
            .ok_or_else(|| anyhow!("fewer photos than drawn"))?;
        let inline: Vec<i64> = blocks
            .iter()
            .filter(|b| matches!(b, DraftBlock::Photo(_)))
            .filter_map(|_| photos.next())
            .collect();
        let gallery: Vec<i64> = d.gallery.iter().filter_map(|_| photos.next()).collect();
        let id = stories::insert(
            tx.ex(),
            &NewStory {
                section_id,
                slug: &slugify(&d.headline),
                headline: &d.headline,
                standfirst: &d.standfirst,
                dateline: &d.dateline,
                body: "[]",
                lead_media_id: Some(lead),
                lead_alt: &d.lead_photo.alt,
                lead_caption: &d.lead_photo.caption,
                lead_credit: &d.lead_photo.credit,
                access_level: &d.level,
                status: "published",
                published_at: Some(micros(published)),
                updated_at: updated.map(micros),
                modified_at: micros(updated.unwrap_or(published)),
                is_demo: true,
            },
        )
        .await?;
        for (pos, b) in d.byline.iter().enumerate() {
            let a = *author_ids
                .get(b)
                .ok_or_else(|| anyhow!("story {}: no author {b}", d.key))?;
            stories::add_author(tx.ex(), id, a, pos as i64).await?;
        }
        for t in &d.topics {
            let t = *topic_ids
                .get(t)
                .ok_or_else(|| anyhow!("story {}: no topic {t}", d.key))?;
            stories::add_topic(tx.ex(), id, t).await?;
        }
        story_ids.insert(d.key.clone(), id);
        let mut all = inline;
        all.extend(&gallery);
        pending.push((id, blocks, all, d.gallery.clone()));
    }
    // Second pass: now every key has an id, resolve photos and "Also read".
    for (id, drafts, photo_list, gallery_defs) in pending {
        let mut ids = photo_list.into_iter();
        let mut blocks = Vec::new();
        for b in drafts {
            blocks.push(match b {
                DraftBlock::Ready(b) => b,
                DraftBlock::Photo(p) => Block::Photo(Figure {
                    media_id: ids.next().ok_or_else(|| anyhow!("photo missing"))?,
                    alt: p.alt,
                    caption: p.caption,
                    credit: p.credit,
                }),
                DraftBlock::AlsoRead(key) => Block::AlsoRead {
                    story_id: *story_ids
                        .get(&key)
                        .ok_or_else(|| anyhow!("also_read names unknown story {key}"))?,
                },
                DraftBlock::Gallery => Block::Gallery {
                    items: gallery_defs
                        .iter()
                        .map(|g| {
                            Ok(Figure {
                                media_id: ids
                                    .next()
                                    .ok_or_else(|| anyhow!("gallery photo missing"))?,
                                alt: g.alt.clone(),
                                caption: g.caption.clone(),
                                credit: g.credit.clone(),
                            })
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?,
                },
            });
        }
        body::validate(&blocks).map_err(|m| anyhow!("demo story {id}: {m}"))?;
        crate::execute!(
            tx.ex(),
            "update stories set body = $2 where id = $1",
            id,
            body::to_json(&blocks)
        )?;
    }
    settings::bump_content_epoch(tx.ex()).await?;
    tx.commit().await?;
    Ok(SeedReport {
        sections: section_ids.len(),
        topics: topic_ids.len(),
        authors: author_ids.len(),
        stories: story_ids.len(),
        photos: stored.len(),
    })
}

/// The demo's newsletters (`[[newsletter]]` in `demo/publication.toml`),
/// remembered in the `demo_newsletters` setting for [`remove`].
async fn seed_newsletters(
    tx: &mut crate::db::Tx,
    pubfile: &PublicationFile,
    now: i64,
) -> anyhow::Result<()> {
    use crate::newsletters::subscriptions::{self as subs, Kind, NewNewsletter};
    let mut slugs = Vec::new();
    for (i, n) in pubfile.newsletter.iter().enumerate() {
        let kind = n.kind.as_deref().map_or(Some(Kind::Editorial), Kind::parse);
        let kind = kind.ok_or_else(|| anyhow!("demo newsletter {}: unknown kind", n.slug))?;
        let new = NewNewsletter {
            slug: &n.slug,
            name: &n.name,
            description: &n.description,
            from_name: "",
            from_address: "",
            reply_to: "",
            schedule: &n.schedule,
            kind,
            subscribe_on_register: n.subscribe_on_register,
            position: i as i64,
        };
        if let Some(problem) = new.problems().first() {
            bail!("demo newsletter {}: {problem}", n.slug);
        }
        if subs::create(tx.ex(), &new, now).await?.is_some() {
            slugs.push(n.slug.clone());
        }
    }
    settings::put(tx.ex(), "demo_newsletters", &slugs).await?;
    Ok(())
}

/// Adds only the demo's newsletters (what [`seed`] adds of them), so that
/// tests need not draw the demo's photos.
pub async fn seed_newsletters_only(db: &Db, now: Timestamp) -> anyhow::Result<()> {
    let pubfile: PublicationFile = toml::from_str(PUBLICATION).context("demo/publication.toml")?;
    let mut tx = db.begin().await?;
    seed_newsletters(&mut tx, &pubfile, micros(now)).await?;
    settings::bump_content_epoch(tx.ex()).await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the store has nothing in it yet (no section, no story).
pub async fn store_is_empty(ex: Ex<'_>) -> Result<bool, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let n = crate::fetch_one!(
        ex,
        N,
        "select (select count(*) from sections) + (select count(*) from stories) as n"
    )?;
    Ok(n.n == 0)
}

/// Removes everything the demo and the generator added; what the
/// publication added itself stays. Answers the number of stories removed.
pub async fn remove(db: &Db, media_dir: &Path) -> anyhow::Result<u64> {
    #[derive(sqlx::FromRow)]
    struct Hash {
        sha256: String,
    }
    let mut tx = db.begin().await?;
    let removed = crate::execute!(tx.ex(), "delete from stories where is_demo = true")?;
    // Sections, topics, authors and photos the demo made go too, unless a
    // story of the publication's own uses them.
    crate::execute!(
        tx.ex(),
        "delete from story_topics where topic_id in (select id from topics where is_demo = true) and story_id in (select id from stories where is_demo = true)"
    )?;
    crate::execute!(
        tx.ex(),
        "delete from sections where is_demo = true and id not in (select section_id from stories)"
    )?;
    crate::execute!(
        tx.ex(),
        "delete from topics where is_demo = true and id not in (select topic_id from story_topics)"
    )?;
    crate::execute!(
        tx.ex(),
        "delete from authors where is_demo = true and id not in (select author_id from story_authors)"
    )?;
    let gone = crate::fetch_all!(
        tx.ex(),
        Hash,
        "select sha256 from media where is_demo = true and id not in (select lead_media_id from stories where lead_media_id is not null)"
    )?;
    crate::execute!(
        tx.ex(),
        "delete from media where is_demo = true and id not in (select lead_media_id from stories where lead_media_id is not null)"
    )?;
    // The demo's newsletters, with whatever was subscribed to them.
    let newsletters: Vec<String> = settings::get(tx.ex(), "demo_newsletters")
        .await?
        .unwrap_or_default();
    for slug in &newsletters {
        crate::execute!(
            tx.ex(),
            "delete from newsletter_subscriptions where newsletter_id in \
               (select id from newsletters where slug = $1)",
            slug
        )?;
        crate::execute!(tx.ex(), "delete from newsletters where slug = $1", slug)?;
    }
    crate::execute!(
        tx.ex(),
        "delete from settings where key = 'demo_newsletters'"
    )?;
    let was_demo: Option<bool> = settings::get(tx.ex(), "demo").await?;
    if was_demo == Some(true) {
        crate::execute!(
            tx.ex(),
            "delete from settings where key in ('demo', 'publication')"
        )?;
    }
    settings::bump_content_epoch(tx.ex()).await?;
    tx.commit().await?;
    // Files go after the rows, so a crash leaves files without rows (harmless), never the reverse.
    for h in gone {
        let stem = &h.sha256[..32];
        if let Ok(entries) = std::fs::read_dir(media_dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(stem) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_files_parse_and_every_reference_resolves() {
        let p: PublicationFile = toml::from_str(PUBLICATION).unwrap();
        assert!(p.section.len() >= 6);
        assert_eq!(p.topic.len(), 10);
        assert_eq!(
            p.newsletter
                .iter()
                .map(|n| (n.slug.as_str(), n.kind.as_deref(), n.subscribe_on_register))
                .collect::<Vec<_>>(),
            [
                ("morning-briefing", None, true),
                ("weekly-digest", None, false),
                ("offers", Some("offers"), false)
            ]
        );
        assert_eq!(p.author.iter().filter(|a| a.kind == "agency").count(), 2);
        let mut all = Vec::new();
        for t in STORIES {
            all.extend(toml::from_str::<StoriesFile>(t).unwrap().story);
        }
        assert!(all.len() >= 40, "{} stories", all.len());
        let keys: Vec<&str> = all.iter().map(|s| s.key.as_str()).collect();
        let mut galleries = 0;
        for s in &all {
            assert!(
                p.section.iter().any(|x| x.slug == s.section),
                "{}: section {}",
                s.key,
                s.section
            );
            for b in &s.byline {
                assert!(
                    p.author.iter().any(|a| &a.slug == b),
                    "{}: author {b}",
                    s.key
                );
            }
            for t in &s.topics {
                assert!(p.topic.iter().any(|x| &x.slug == t), "{}: topic {t}", s.key);
            }
            assert!(!s.lead_photo.alt.is_empty(), "{}: lead photo alt", s.key);
            for b in parse_body(&s.key, &s.body).unwrap() {
                match b {
                    DraftBlock::AlsoRead(k) => {
                        assert!(keys.contains(&k.as_str()), "{}: also_read {k}", s.key)
                    }
                    DraftBlock::Gallery => galleries += 1,
                    DraftBlock::Photo(ph) => assert!(
                        draw::SCENES.contains(&ph.scene.as_str()),
                        "{}: scene {}",
                        s.key,
                        ph.scene
                    ),
                    DraftBlock::Ready(_) => {}
                }
            }
        }
        assert_eq!(galleries, 1);
    }

    #[test]
    fn body_markup_becomes_blocks() {
        let b = parse_body(
            "k",
            "First *para*\ncontinues.\n\n## Head\n\n> A quote\n\n[photo scene=\"rain\" alt=\"A\" caption=\"C\" credit=\"Photo: X\"]\n\n[also_read key=\"other\"]\n\n[gallery]",
        )
        .unwrap();
        assert!(
            matches!(&b[0], DraftBlock::Ready(Block::Paragraph { text }) if text == "First *para* continues.")
        );
        assert!(matches!(&b[1], DraftBlock::Ready(Block::Heading { text }) if text == "Head"));
        assert!(matches!(&b[2], DraftBlock::Ready(Block::Quote { text }) if text == "A quote"));
        assert!(
            matches!(&b[3], DraftBlock::Photo(p) if p.scene == "rain" && p.credit == "Photo: X")
        );
        assert!(matches!(&b[4], DraftBlock::AlsoRead(k) if k == "other"));
        assert!(matches!(&b[5], DraftBlock::Gallery));
    }

    #[test]
    fn demo_times_are_never_in_the_future() {
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        let now: Timestamp = "2026-11-29T03:00:00Z".parse().unwrap(); // 08:30 IST
        let t = published_time(now, &tz, 0, 21, 0).unwrap();
        assert!(t <= now);
        assert_eq!(t.to_string(), "2026-11-28T15:30:00Z");
        let t = published_time(now, &tz, 2, 7, 15).unwrap();
        assert_eq!(t.to_string(), "2026-11-27T01:45:00Z");
    }
}
