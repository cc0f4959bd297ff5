//! What every page shares, and the views templates are given.
//!
//! [`Site`] is a snapshot of the publication's settings, sections and topics,
//! kept in memory and replaced when the database's content counter moves
//! (any instance's edit bumps it), so pages do not query them per request.
//! The `*View` types are what templates see: plain data with URLs and shown
//! times already made, so templates hold no logic about addresses or zones.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::tz::TimeZone;
use serde::Serialize;

use crate::clock::from_micros;
use crate::db::authors::Byline;
use crate::db::media::Media;
use crate::db::sections::Section;
use crate::db::settings::Publication;
use crate::db::stories::{Card, reborrow};
use crate::db::topics::Topic;
use crate::db::{Ex, authors, media, sections, settings, topics};
use crate::domain::slug::story_path;
use crate::domain::time::{Shown, show};
use crate::media::Picture;

/// The publication as pages see it, at one content epoch.
#[derive(Debug)]
pub struct Site {
    pub epoch: i64,
    pub publication: Publication,
    pub tz: TimeZone,
    pub sections: Vec<Section>,
    pub topics: Vec<Topic>,
    pub access: settings::AccessSettings,
    pub comments: settings::CommentSettings,
    /// The guidelines check's word lists and thresholds (`guidelines`).
    pub guidelines: crate::moderation::Guidelines,
    /// `access.crawler_ranges`, parsed (unparseable entries are skipped and logged).
    pub crawler_nets: Vec<ipnet::IpNet>,
}

impl Site {
    pub async fn load(mut ex: Ex<'_>, epoch: i64) -> Result<Site, sqlx::Error> {
        let publication = settings::publication(reborrow(&mut ex)).await?;
        let tz = crate::domain::time::zone(&publication.time_zone).unwrap_or(TimeZone::UTC);
        let sections = sections::all(reborrow(&mut ex)).await?;
        let topics = topics::all(reborrow(&mut ex)).await?;
        let access = settings::access(reborrow(&mut ex)).await?;
        let comments = settings::comments(reborrow(&mut ex)).await?;
        // A stored value that no longer reads leaves the built-in guidelines
        // in force rather than stopping every page.
        let guidelines = match settings::get(reborrow(&mut ex), "guidelines").await {
            Ok(g) => g.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "the guidelines setting cannot be read; using the built-in guidelines");
                Default::default()
            }
        };
        let crawler_nets = access
            .crawler_ranges
            .iter()
            .filter_map(|r| {
                let net = r
                    .parse::<ipnet::IpNet>()
                    .ok()
                    .or_else(|| r.parse::<std::net::IpAddr>().ok().map(Into::into));
                if net.is_none() {
                    tracing::warn!(range = %r, "a crawler range in the access settings is not an address or CIDR range");
                }
                net
            })
            .collect();
        Ok(Site {
            epoch,
            publication,
            tz,
            sections,
            topics,
            access,
            comments,
            guidelines,
            crawler_nets,
        })
    }

    pub fn show(&self, micros: i64) -> Shown {
        show(from_micros(micros), &self.tz)
    }

    pub fn section(&self, id_or_slug: SectionKey<'_>) -> Option<&Section> {
        self.sections.iter().find(|s| match id_or_slug {
            SectionKey::Id(id) => s.id == id,
            SectionKey::Slug(slug) => s.slug == slug,
        })
    }
}

pub enum SectionKey<'a> {
    Id(i64),
    Slug(&'a str),
}

/// Holds the current [`Site`], reloading it when the epoch moves.
#[derive(Debug)]
pub struct SiteCache {
    current: RwLock<Option<Arc<Site>>>,
}

impl Default for SiteCache {
    fn default() -> Self {
        SiteCache {
            current: RwLock::new(None),
        }
    }
}

impl SiteCache {
    /// The snapshot, if one is held for this epoch.
    pub fn cached(&self, epoch: i64) -> Option<Arc<Site>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|s| s.epoch == epoch)
            .cloned()
    }

    pub async fn get(&self, ex: Ex<'_>, epoch: i64) -> Result<Arc<Site>, sqlx::Error> {
        if let Some(site) = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            && site.epoch == epoch
        {
            return Ok(site.clone());
        }
        let site = Arc::new(Site::load(ex, epoch).await?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(site.clone());
        Ok(site)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Link {
    pub name: String,
    pub url: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct BylineView {
    pub name: String,
    pub url: String,
    pub is_agency: bool,
}

/// A story as a list item.
#[derive(Clone, Debug, Serialize)]
pub struct CardView {
    pub id: i64,
    pub url: String,
    pub headline: String,
    pub standfirst: String,
    pub section: Link,
    pub published: Shown,
    pub updated: Option<Shown>,
    pub picture: Option<Picture>,
    pub alt: String,
    pub bylines: Vec<BylineView>,
    /// Subscribers-only stories are marked in lists.
    pub premium: bool,
    /// Shown comments, where a list counts them (0 elsewhere).
    pub comment_count: i64,
}

pub fn byline_view(b: &Byline) -> BylineView {
    BylineView {
        name: b.name.clone(),
        url: format!("/author/{}", b.slug),
        is_agency: b.kind == "agency",
    }
}

/// Turns cards into views, fetching their bylines and photos in two queries.
pub async fn card_views(
    mut ex: Ex<'_>,
    site: &Site,
    cards: &[Card],
) -> Result<Vec<CardView>, sqlx::Error> {
    let ids: Vec<i64> = cards.iter().map(|c| c.id).collect();
    let bylines = authors::for_stories(reborrow(&mut ex), &ids).await?;
    let media_ids: Vec<i64> = cards.iter().filter_map(|c| c.lead_media_id).collect();
    let media: HashMap<i64, Media> = media::find_many(reborrow(&mut ex), &media_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok(cards
        .iter()
        .map(|c| CardView {
            id: c.id,
            url: story_path(&c.section_slug, &c.slug, c.id),
            headline: c.headline.clone(),
            standfirst: c.standfirst.clone(),
            section: Link {
                name: c.section_name.clone(),
                url: format!("/{}", c.section_slug),
            },
            published: site.show(c.published_at),
            updated: c.updated_at.map(|u| site.show(u)),
            picture: c
                .lead_media_id
                .and_then(|id| media.get(&id))
                .map(Picture::of),
            alt: c.lead_alt.clone(),
            bylines: bylines
                .iter()
                .filter(|b| b.story_id == c.id)
                .map(byline_view)
                .collect(),
            premium: c.access_level == "subscribers",
            comment_count: 0,
        })
        .collect())
}

/// This instance's view of the database's content counter.
///
/// Every change that can make a rendered page stale bumps the counter in the
/// database, whichever instance made it. An instance asks the database again
/// when its view is older than `max_age`; in between, pages are served from
/// memory without touching the database. Only one request at a time does
/// the asking; the others use the view they have.
#[derive(Debug)]
pub struct ContentEpoch {
    value: std::sync::atomic::AtomicI64,
    /// When the value was last read (the clock's microseconds).
    checked_at: std::sync::atomic::AtomicI64,
    max_age_us: i64,
}

impl ContentEpoch {
    pub fn new(max_age: std::time::Duration) -> ContentEpoch {
        ContentEpoch {
            value: std::sync::atomic::AtomicI64::new(i64::MIN),
            checked_at: std::sync::atomic::AtomicI64::new(i64::MIN / 2),
            max_age_us: max_age.as_micros() as i64,
        }
    }

    /// The counter, read from the database when this view is older than
    /// the poll window at `now` (the app clock's microseconds).
    pub async fn get(&self, db: &crate::db::Db, now: i64) -> Result<i64, sqlx::Error> {
        use std::sync::atomic::Ordering;
        let checked = self.checked_at.load(Ordering::Acquire);
        let current = self.value.load(Ordering::Acquire);
        let fresh = now.saturating_sub(checked) <= self.max_age_us && self.max_age_us > 0;
        if fresh && current != i64::MIN {
            return Ok(current);
        }
        // Elect one request to ask; the rest keep the view they have.
        if current != i64::MIN
            && self.max_age_us > 0
            && self
                .checked_at
                .compare_exchange(checked, now, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return Ok(current);
        }
        let mut conn = db.read().await?;
        let value = settings::content_epoch(conn.ex()).await?;
        self.observe(value);
        self.checked_at.store(now, Ordering::Release);
        Ok(value)
    }

    /// Takes in a value seen elsewhere (a query that read the counter too).
    pub fn observe(&self, value: i64) {
        self.value
            .fetch_max(value, std::sync::atomic::Ordering::AcqRel);
    }
}
