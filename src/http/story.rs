//! The story page, the path every reader takes most.
//!
//! A request costs one indexed query (`stories::head`: where the story lives
//! now, its version, the content epoch). Everything expensive (the body with
//! its photos and "Also read" links, related stories, Open Graph and JSON-LD)
//! is rendered once per (story version, content epoch) and kept in a
//! [`FragmentCache`]; editing a story bumps its version, and any instance's
//! change bumps the epoch, so no instance serves a stale page for long.
//! The page as an anonymous reader sees it is kept whole, plain and gzipped,
//! so it is served without rendering or compressing per request.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::db::media::Media;
use crate::db::stories::{self, Head, Story, reborrow};
use crate::db::{Ex, authors, media, topics};
use crate::domain::body::{self, Block, Figure};
use crate::domain::slug::{parse_story_segment, story_path};
use crate::error::{AppError, AppResult};
use crate::media::Picture;
use crate::render::{safe, val};
use crate::site::{CardView, Link, Site, byline_view, card_views};

use super::pages::site_context;

/// A story rendered for one (version, epoch, day).
pub struct Fragment {
    pub version: i64,
    pub epoch: i64,
    /// The publication day the page header shows (it names the date).
    pub day: i64,
    pub title: String,
    pub head_html: String,
    pub article_html: String,
    /// The whole page as an anonymous reader sees it.
    pub page: Bytes,
    pub page_gzip: Bytes,
}

/// What is known of one story at one content epoch: where it lives (its
/// head) and, once rendered, its page.
struct Entry {
    head: Head,
    fragment: Option<Arc<Fragment>>,
}

/// Stories by id, holding at most `capacity` of them. An entry is good for
/// the content epoch its head was read at; a newer epoch means asking the
/// database again.
pub struct FragmentCache {
    capacity: usize,
    map: RwLock<HashMap<i64, Arc<Entry>>>,
}

impl FragmentCache {
    pub fn new(capacity: usize) -> FragmentCache {
        FragmentCache {
            capacity,
            map: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, id: i64, epoch: i64) -> Option<Arc<Entry>> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(&id).filter(|e| e.head.epoch >= epoch).cloned()
    }

    fn put(&self, id: i64, entry: Arc<Entry>) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity && !map.contains_key(&id) {
            // Forget an arbitrary half: cheap, and a miss only costs a render.
            let keep: Vec<i64> = map.keys().copied().skip(self.capacity / 2).collect();
            map.retain(|k, _| keep.contains(k));
        }
        map.insert(id, entry);
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `/s/{id}`: the permanent short address of a story.
pub async fn short_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let mut conn = state.db.read().await?;
    let head = stories::head(conn.ex(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !is_out(&head, state.now_micros()) {
        return Err(AppError::NotFound);
    }
    Ok(moved(&story_path(&head.section_slug, &head.slug, head.id)))
}

/// 301 to the story's current address (what search engines and old links
/// expect of a moved page).
fn moved(path: &str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, path.to_string())],
    )
        .into_response()
}

fn is_out(head: &Head, now: i64) -> bool {
    head.status == "published" && head.published_at.is_some_and(|p| p <= now)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                let p = p.trim();
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
}

/// Whether the reader accepts gzip; read from the headers without copying them.
pub struct AcceptsGzip(pub bool);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AcceptsGzip {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(AcceptsGzip(accepts_gzip(&parts.headers)))
    }
}

/// `/{section}/{slug}-{id}`
pub async fn page(
    State(state): State<AppState>,
    Path((section, segment)): Path<(String, String)>,
    AcceptsGzip(gzip): AcceptsGzip,
) -> AppResult<Response> {
    let (slug, id) = parse_story_segment(&segment).ok_or(AppError::NotFound)?;
    let now = state.now_micros();
    let epoch = state.epoch.get(&state.db, now).await?;
    let cached = state.fragments.get(id, epoch);
    let fetched;
    let head = match &cached {
        Some(e) => &e.head,
        None => {
            let mut conn = state.db.read().await?;
            fetched = stories::head(conn.ex(), id)
                .await?
                .ok_or(AppError::NotFound)?;
            state.epoch.observe(fetched.epoch);
            &fetched
        }
    };
    if !is_out(head, now) {
        return Err(AppError::NotFound);
    }
    if head.slug != slug || head.section_slug != section {
        return Ok(moved(&story_path(&head.section_slug, &head.slug, head.id)));
    }
    let site = state.site_at(head.epoch).await?;
    let day = day_number(&state, &site);
    let fragment = match cached
        .as_ref()
        .and_then(|e| e.fragment.clone())
        .filter(|f| f.version == head.version && f.day == day)
    {
        Some(f) => f,
        None => {
            let mut conn = state.db.read().await?;
            let f = Arc::new(
                render(&state, &site, conn.ex(), id, head.epoch, day)
                    .await?
                    .ok_or(AppError::NotFound)?,
            );
            let entry = Entry {
                head: head.clone(),
                fragment: Some(f.clone()),
            };
            state.fragments.put(id, Arc::new(entry));
            f
        }
    };
    let mut res = if gzip {
        let mut r = fragment.page_gzip.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        fragment.page.clone().into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Cookie"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(res)
}

fn day_number(state: &AppState, site: &Site) -> i64 {
    let z = state.clock.now().to_zoned_datetime(site.tz.clone());
    z.date()
        .since(jiff::civil::date(2000, 1, 1))
        .map_or(0, |s| s.get_days() as i64)
}

/// A body block as the template sees it.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockView {
    Paragraph { html: minijinja::Value },
    Heading { text: String },
    Quote { text: String },
    Photo { figure: Box<FigureView> },
    Gallery { items: Vec<FigureView> },
    AlsoRead { story: Box<CardView> },
}

#[derive(Serialize)]
struct FigureView {
    picture: Picture,
    alt: String,
    caption: String,
    credit: String,
}

fn figure_view(f: &Figure, media: &HashMap<i64, Media>) -> Option<FigureView> {
    media.get(&f.media_id).map(|m| FigureView {
        picture: Picture::of(m),
        alt: f.alt.clone(),
        caption: f.caption.clone(),
        credit: f.credit.clone(),
    })
}

/// Renders a published story into a [`Fragment`]; `None` if it vanished.
async fn render(
    state: &AppState,
    site: &Site,
    mut ex: Ex<'_>,
    id: i64,
    epoch: i64,
    day: i64,
) -> AppResult<Option<Fragment>> {
    let now = state.now_micros();
    let Some(story) = stories::find(reborrow(&mut ex), id).await? else {
        return Ok(None);
    };
    let blocks = body::from_json(&story.body)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("story {id} body: {e}")))?;
    let mut media_ids = body::media_ids(&blocks);
    media_ids.extend(story.lead_media_id);
    let media: HashMap<i64, Media> = media::find_many(reborrow(&mut ex), &media_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let linked = stories::cards(reborrow(&mut ex), &body::linked_stories(&blocks), now).await?;
    let linked = card_views(reborrow(&mut ex), site, &linked).await?;
    let bylines = authors::for_stories(reborrow(&mut ex), &[id]).await?;
    let story_topics = topics::for_stories(reborrow(&mut ex), &[id]).await?;
    let related = stories::related(reborrow(&mut ex), id, story.section_id, now, 4).await?;
    let related = card_views(reborrow(&mut ex), site, &related).await?;

    let views: Vec<BlockView> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Paragraph { text } => Some(BlockView::Paragraph {
                html: safe(body::inline_html(text)),
            }),
            Block::Heading { text } => Some(BlockView::Heading { text: text.clone() }),
            Block::Quote { text } => Some(BlockView::Quote { text: text.clone() }),
            Block::Photo(f) => figure_view(f, &media).map(|figure| BlockView::Photo {
                figure: Box::new(figure),
            }),
            Block::Gallery { items } => {
                let items: Vec<_> = items
                    .iter()
                    .filter_map(|f| figure_view(f, &media))
                    .collect();
                (!items.is_empty()).then_some(BlockView::Gallery { items })
            }
            Block::AlsoRead { story_id } => {
                linked
                    .iter()
                    .find(|c| c.id == *story_id)
                    .map(|c| BlockView::AlsoRead {
                        story: Box::new(c.clone()),
                    })
            }
        })
        .collect();
    let lead = story
        .lead_media_id
        .and_then(|m| media.get(&m))
        .map(|m| FigureView {
            picture: Picture::of(m),
            alt: story.lead_alt.clone(),
            caption: story.lead_caption.clone(),
            credit: story.lead_credit.clone(),
        });
    let path = story_path(&story.section_slug, &story.slug, story.id);
    let canonical = state.config.absolute(&path);
    let published = site.show(story.published_at.unwrap_or(now));
    let updated = story
        .updated_at
        .filter(|u| Some(*u) > story.published_at)
        .map(|u| site.show(u));
    let byline_views: Vec<_> = bylines.iter().map(byline_view).collect();
    let topic_links: Vec<Link> = story_topics
        .iter()
        .map(|t| Link {
            name: t.name.clone(),
            url: format!("/topic/{}", t.slug),
        })
        .collect();
    let image_url = lead
        .as_ref()
        .map(|l| state.config.absolute(&l.picture.large));
    let jsonld = json_ld(
        state,
        site,
        &story,
        &canonical,
        &published.iso,
        updated.as_ref().map(|u| u.iso.as_str()),
        &bylines,
        &story_topics,
        image_url.as_deref(),
    );
    let section = Link {
        name: story.section_name.clone(),
        url: format!("/{}", story.section_slug),
    };

    let r = &state.renderer;
    let ctx = context! {
        site => val(site_context(state, Some(site))),
        story => context! {
            id => story.id,
            headline => story.headline.clone(),
            standfirst => story.standfirst.clone(),
            dateline => story.dateline.clone(),
            access_level => story.access_level.clone(),
            section => val(section),
            published => val(published),
            updated => val(updated),
            bylines => val(byline_views),
            topics => val(topic_links),
            lead => val(lead),
            blocks => val(views),
        },
        related => val(related),
        canonical => canonical.clone(),
        image_url => val(image_url),
        jsonld => val(jsonld),
    };
    let internal = |e: minijinja::Error| AppError::Internal(e.into());
    let head_html = r.render("story_head.html", &ctx).map_err(internal)?;
    let article_html = r.render("story_article.html", &ctx).map_err(internal)?;
    let page = r
        .render(
            "story.html",
            context! {
                site => val(site_context(state, Some(site))),
                title => story.headline.clone(),
                nav_current => format!("/{}", story.section_slug),
                head => safe(head_html.clone()),
                article => safe(article_html.clone()),
            },
        )
        .map_err(internal)?;
    let page_gzip = gzip(page.as_bytes()).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Some(Fragment {
        version: story.version,
        epoch,
        day,
        title: story.headline,
        head_html,
        article_html,
        page: Bytes::from(page),
        page_gzip: Bytes::from(page_gzip),
    }))
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::default(),
    );
    enc.write_all(bytes)?;
    enc.finish()
}

/// schema.org `NewsArticle`, with the paywalled-content markup on every
/// story that is not free (the same for every reader).
#[allow(clippy::too_many_arguments)]
fn json_ld(
    state: &AppState,
    site: &Site,
    story: &Story,
    canonical: &str,
    published: &str,
    updated: Option<&str>,
    bylines: &[authors::Byline],
    story_topics: &[topics::StoryTopic],
    image: Option<&str>,
) -> serde_json::Value {
    let authors: Vec<_> = bylines
        .iter()
        .map(|b| {
            serde_json::json!({
                "@type": if b.kind == "agency" { "Organization" } else { "Person" },
                "name": b.name,
                "url": state.config.absolute(&format!("/author/{}", b.slug)),
            })
        })
        .collect();
    let mut v = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": { "@type": "WebPage", "@id": canonical },
        "url": canonical,
        "headline": story.headline,
        "description": story.standfirst,
        "datePublished": published,
        "dateModified": updated.unwrap_or(published),
        "author": authors,
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": site.publication.name,
            "url": state.config.public_url.as_str(),
        },
        "articleSection": story.section_name,
        "keywords": story_topics.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        "isAccessibleForFree": story.access_level == "free",
    });
    if let Some(img) = image {
        v["image"] = serde_json::json!([img]);
    }
    if !story.dateline.is_empty() {
        v["dateline"] = serde_json::json!(story.dateline);
    }
    if story.access_level != "free" {
        v["hasPart"] = serde_json::json!({
            "@type": "WebPageElement",
            "isAccessibleForFree": false,
            "cssSelector": ".story-body",
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_offered_unless_refused() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("br")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
