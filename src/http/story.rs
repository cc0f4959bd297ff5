//! The story page, the path every reader takes most.
//!
//! Everything expensive (the body with its photos and "Also read" links,
//! related stories, Open Graph and JSON-LD) is rendered once per (story
//! version, content epoch, day) and kept in a [`FragmentCache`], whole and cut
//! at the teaser, each a [`Spliced`] page with slots for the parts that differ
//! per reader. Once cached, an anonymous reader's request touches no database:
//! the story's head (where it lives, its version) is cached per content epoch,
//! which an instance reads again at most every `change_poll_ms`. A signed-in
//! member costs the session lookup and, on a metered story, the meter query;
//! their saved stories and newsletters (the save button, the newsletter box)
//! come from what is known of them ([`super::readers`]).
//! The access decision picks the whole page or the teaser; the reader's parts
//! (account links, meter notice, wall) fill the slots.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::db::media::Media;
use crate::db::members::{self, SessionMember};
use crate::db::stories::{self, Head, Story, reborrow};
use crate::db::{Ex, authors, media, topics};
use crate::domain::access::{Access, Level, Meter, Reader, Wall, decide};
use crate::domain::body::{self, Block, Figure};
use crate::domain::meter;
use crate::domain::slug::{parse_story_segment, story_path};
use crate::error::{AppError, AppResult};
use crate::media::Picture;
use crate::render::{safe, val};
use crate::site::{CardView, Link, Site, byline_view, card_views};
use crate::splice::Spliced;

use super::pages::site_context;

/// A story rendered for one (version, epoch, day): the whole page and, for
/// stories that are not free, the page cut at the teaser; each with slots
/// for the parts that differ per reader ([`SLOTS`]).
pub struct Fragment {
    pub version: i64,
    pub epoch: i64,
    /// The publication day the page header shows (it names the date).
    pub day: i64,
    pub level: Level,
    pub path: String,
    pub full: Spliced,
    pub teaser: Option<Spliced>,
    /// The account links as an anonymous reader sees them.
    pub anonymous_account: String,
    /// The save button as an anonymous reader sees it (it asks them to sign in).
    pub anonymous_save: String,
    /// A member's save button, not saved and saved, with [`CSRF_MARK`]
    /// where the member's CSRF token goes.
    pub member_save: [String; 2],
    /// The newsletter box, if the publication chose a newsletter for it.
    pub newsletter: Option<NewsletterBox>,
}

/// The box under a story that offers one newsletter ([`NewsletterSettings`]).
///
/// [`NewsletterSettings`]: super::newsletters::NewsletterSettings
pub struct NewsletterBox {
    pub newsletter_id: i64,
    /// As an anonymous reader sees it: an address field.
    pub anonymous: String,
    /// A member's button, not subscribed and subscribed, with [`CSRF_MARK`]
    /// where the member's CSRF token goes.
    pub member: [String; 2],
}

/// Stands for a member's CSRF token in parts rendered once for every member.
const CSRF_MARK: &str = "\u{1}csrf\u{1}";

/// The per-reader parts of a story page, in page order.
pub const SLOTS: &[&str] = &[
    "account",
    "save",
    "notice",
    "wall",
    "newsletter",
    "comments",
];

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
    /// "N free stories left" as rendered, by (left, signed in, member limit):
    /// a handful of strings, rendered once each.
    notices: RwLock<HashMap<(u32, bool, u32), String>>,
}

impl FragmentCache {
    pub fn new(capacity: usize) -> FragmentCache {
        FragmentCache {
            capacity,
            map: RwLock::new(HashMap::new()),
            notices: RwLock::new(HashMap::new()),
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

    fn notice(
        &self,
        left: u32,
        signed_in: bool,
        limit: u32,
        render: impl FnOnce() -> AppResult<String>,
    ) -> AppResult<String> {
        let key = (left, signed_in, limit);
        if let Some(s) = self
            .notices
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(s.clone());
        }
        let s = render()?;
        let mut map = self.notices.write().unwrap_or_else(|e| e.into_inner());
        if map.len() > 1_000 {
            map.clear();
        }
        map.insert(key, s.clone());
        Ok(s)
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

/// What the story page needs of the request, read without copying the headers.
pub struct ReaderRequest {
    pub gzip: bool,
    pub ip: std::net::IpAddr,
    pub meter_cookie: Option<String>,
    pub session_cookie: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ReaderRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<super::ClientInfo>()
            .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |c| c.ip);
        Ok(ReaderRequest {
            gzip: accepts_gzip(&parts.headers),
            ip,
            meter_cookie: super::cookie(&parts.headers, meter::COOKIE).map(str::to_string),
            session_cookie: super::cookie(&parts.headers, super::auth::SESSION_COOKIE)
                .map(str::to_string),
        })
    }
}

/// `/{section}/{slug}-{id}`
pub async fn page(
    State(state): State<AppState>,
    Path((section, segment)): Path<(String, String)>,
    req: ReaderRequest,
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
    // Only a request with a session cookie costs a query to find its member.
    let member = super::auth::session_member(&state, req.session_cookie.as_deref())
        .await?
        .map(|(m, _)| m);
    // Comments are the same for every reader, and never hidden by the meter.
    let comments = state.previews.get(&state, &site, head).await?;
    serve_to_reader(
        &state,
        &site,
        &fragment,
        id,
        &req,
        member.as_ref(),
        &comments,
    )
    .await
}

/// Asks the access decision for this reader, fills the page's slots, and
/// records the read when it counts.
async fn serve_to_reader(
    state: &AppState,
    site: &Site,
    fragment: &Fragment,
    id: i64,
    req: &ReaderRequest,
    member: Option<&SessionMember>,
    comments: &str,
) -> AppResult<Response> {
    let limits = site.access.limits;
    let crawler = site.crawler_nets.iter().any(|n| n.contains(&req.ip));
    let reader = match member {
        Some(m) if m.role != "member" => Reader::Staff,
        Some(m) if m.subscribed_until.is_some() => Reader::Subscriber,
        Some(_) => Reader::Member,
        None if crawler => Reader::Crawler,
        None => Reader::Anonymous,
    };
    let period = meter::period(state.clock.now(), &site.tz);
    let mut reads =
        meter::AnonymousReads::from_cookie(req.meter_cookie.as_deref(), &state.keys, &period);
    let metered_member = reader == Reader::Member && fragment.level == Level::Metered;
    // Members' reads are in the database, so every instance counts the same:
    // what this instance remembers may say "already read", but a read that
    // would count is decided on what the database says now.
    let known = match member {
        Some(m) => {
            let now = state.now_micros();
            let (k, asked) = state
                .members
                .get(&state.db, m.id, &period, now, false)
                .await?;
            Some(if metered_member && !asked && !k.reads.contains(&id) {
                state
                    .members
                    .get(&state.db, m.id, &period, now, true)
                    .await?
                    .0
            } else {
                k
            })
        }
        None => None,
    };
    let meter_state = match &known {
        Some(k) if metered_member => {
            let (already_read, used) = k.meter(id);
            Meter { already_read, used }
        }
        Some(_) => Meter::default(),
        None => {
            let already_read = reads.has(id);
            Meter {
                already_read,
                used: reads.ids.len() as u32 - u32::from(already_read),
            }
        }
    };
    let access = decide(fragment.level, reader, meter_state, limits);
    let r = &state.renderer;
    let internal = |e: minijinja::Error| AppError::Internal(e.into());
    let mut set_cookie = None;
    let (page, notice, wall) = match access {
        Access::Full { counts, left } => {
            if counts {
                match member {
                    Some(m) => {
                        let mut conn = state.db.write().await?;
                        members::record_read(conn.ex(), m.id, &period, id, state.now_micros())
                            .await?;
                        state.members.note_read(m.id, &period, id);
                    }
                    None => {
                        reads.add(id);
                        set_cookie = Some(meter_cookie(state, &reads));
                    }
                }
            }
            let notice = match left {
                Some(left) => state.fragments.notice(left, member.is_some(), limits.member, || {
                    r.render(
                        "partials/notice.html",
                        context! { left, signed_in => member.is_some(), member_limit => limits.member },
                    )
                    .map_err(internal)
                })?,
                None => String::new(),
            };
            (&fragment.full, notice, String::new())
        }
        Access::Teaser(w) => {
            let (kind, signed_in) = match w {
                Wall::Register => ("register", false),
                Wall::Subscribe => ("subscribe", true),
                Wall::SubscribersOnly { signed_in } => ("subscribers_only", signed_in),
            };
            let wall = r
                .render(
                    "partials/wall.html",
                    context! {
                        wall => kind, signed_in, next => fragment.path.clone(),
                        anonymous_limit => limits.anonymous, member_limit => limits.member,
                    },
                )
                .map_err(internal)?;
            let teaser = fragment
                .teaser
                .as_ref()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("story {id} has no teaser")))?;
            (teaser, String::new(), wall)
        }
    };
    // Only a member's links are rendered per request; an anonymous reader's
    // were rendered with the page.
    // A member's parts are rendered once and filled in: the account links
    // per session, the save button per story.
    let member_account;
    let account: &str = match member {
        Some(m) => {
            member_account = state.member_links.get(m, || {
                r.render(
                    "partials/account.html",
                    context! { reader => val(super::auth::member_view(m)) },
                )
                .map_err(internal)
            })?;
            &member_account
        }
        None => &fragment.anonymous_account,
    };
    let member_save;
    let save: &str = match (member, &known) {
        (Some(m), Some(k)) => {
            let saved = usize::from(k.saved.contains(&id));
            member_save = fragment.member_save[saved].replace(CSRF_MARK, &m.csrf_token);
            &member_save
        }
        _ => &fragment.anonymous_save,
    };
    // The newsletter box: a member's state is in what is known of them.
    let member_box;
    let newsletter: &str = match (&fragment.newsletter, member, &known) {
        (None, _, _) => "",
        (Some(b), Some(m), Some(k)) => {
            let subscribed = k.newsletters.contains(&b.newsletter_id);
            member_box = b.member[usize::from(subscribed)].replace(CSRF_MARK, &m.csrf_token);
            &member_box
        }
        (Some(b), _, _) => &b.anonymous,
    };
    let fill = [
        account,
        save,
        notice.as_str(),
        wall.as_str(),
        newsletter,
        comments,
    ];
    let mut res = if req.gzip {
        let mut r = page.gzip(&fill).into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        page.plain(&fill).into_response()
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
    // The page depends on the reader: no shared cache may keep it.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Some(c) = set_cookie {
        h.insert(
            header::SET_COOKIE,
            HeaderValue::from_str(&c).map_err(|e| AppError::Internal(e.into()))?,
        );
    }
    Ok(res)
}

/// The `Set-Cookie` value for an anonymous reader's meter: signed, HttpOnly,
/// kept a little past the end of the month it counts.
fn meter_cookie(state: &AppState, reads: &meter::AnonymousReads) -> String {
    let secure = if state.config.is_https() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        meter::COOKIE,
        reads.to_cookie(&state.keys),
        40 * 24 * 3600
    )
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

    // Where the cut falls: after the teaser's paragraphs (free stories: never).
    let level = Level::parse(&story.access_level);
    let cut = if level == Level::Free {
        views.len()
    } else {
        cut_after(&views, site.access.teaser_paragraphs)
    };
    let mut lead_in = views;
    let rest = lead_in.split_off(cut);
    let story_ctx = |rest: minijinja::Value| {
        context! {
            id => story.id,
            headline => story.headline.clone(),
            standfirst => story.standfirst.clone(),
            dateline => story.dateline.clone(),
            access_level => story.access_level.clone(),
            section => val(&section),
            published => val(&published),
            updated => val(&updated),
            bylines => val(&byline_views),
            topics => val(&topic_links),
            lead => val(&lead),
            lead_in => val(&lead_in),
            rest,
        }
    };
    let r = &state.renderer;
    let ctx_with = |rest: minijinja::Value| {
        context! {
            site => val(site_context(state, Some(site))),
            story => story_ctx(rest),
            related => val(&related),
            canonical => canonical.clone(),
            image_url => val(&image_url),
            jsonld => val(&jsonld),
        }
    };
    let ctx = ctx_with(val(&rest));
    let internal = |e: minijinja::Error| AppError::Internal(e.into());
    let head_html = r.render("story_head.html", &ctx).map_err(internal)?;
    let page = |article: String| {
        r.render(
            "story.html",
            context! {
                site => val(site_context(state, Some(site))),
                title => story.headline.clone(),
                nav_current => format!("/{}", story.section_slug),
                head => safe(head_html.clone()),
                article => safe(article),
            },
        )
    };
    let splice =
        |html: String| Spliced::new(&html, SLOTS).map_err(|e| AppError::Internal(e.into()));
    let full =
        splice(page(r.render("story_article.html", &ctx).map_err(internal)?).map_err(internal)?)?;
    let teaser = if level == Level::Free {
        None
    } else {
        let teaser_ctx = ctx_with(val(Vec::<i64>::new()));
        Some(splice(
            page(
                r.render("story_article.html", &teaser_ctx)
                    .map_err(internal)?,
            )
            .map_err(internal)?,
        )?)
    };
    let anonymous_account = r
        .render("partials/account.html", context! {})
        .map_err(internal)?;
    let anonymous_save = r
        .render(
            "partials/save.html",
            context! { story_id => story.id, next => path.clone() },
        )
        .map_err(internal)?;
    let save_for = |saved: bool| {
        r.render(
            "partials/save.html",
            context! { story_id => story.id, next => path.clone(), saved, csrf => CSRF_MARK },
        )
        .map_err(internal)
    };
    let member_save = [save_for(false)?, save_for(true)?];
    let newsletter = newsletter_box(state, ex, &path).await?;
    Ok(Some(Fragment {
        version: story.version,
        epoch,
        day,
        level,
        path,
        full,
        teaser,
        anonymous_account,
        anonymous_save,
        member_save,
        newsletter,
    }))
}

/// Renders the newsletter box for a story at `path`, if the setting names a
/// newsletter that readers can subscribe to.
async fn newsletter_box(
    state: &AppState,
    mut ex: Ex<'_>,
    path: &str,
) -> AppResult<Option<NewsletterBox>> {
    use crate::newsletters::subscriptions::{self as subs, OFFERS_CONSENT_WORDS};
    let chosen: super::newsletters::NewsletterSettings =
        crate::db::settings::get(reborrow(&mut ex), "newsletters")
            .await?
            .unwrap_or_default();
    if chosen.story_box.is_empty() {
        return Ok(None);
    }
    let Some(n) = subs::by_slug(ex, &chosen.story_box)
        .await?
        .filter(|n| n.archived_at.is_none())
    else {
        return Ok(None);
    };
    let r = &state.renderer;
    let internal = |e: minijinja::Error| AppError::Internal(e.into());
    let view = |state: &str| {
        context! {
            slug => n.slug.clone(), name => n.name.clone(), description => n.description.clone(),
            schedule => n.schedule.clone(), offers => n.is_offers(), state,
        }
    };
    let anonymous = r
        .render(
            "newsletters/story_box.html",
            context! { n => view("none"), consent_words => OFFERS_CONSENT_WORDS },
        )
        .map_err(internal)?;
    let member_for = |state: &str| {
        r.render(
            "newsletters/story_box.html",
            context! {
                n => view(state), csrf => CSRF_MARK, next => path,
                consent_words => OFFERS_CONSENT_WORDS,
            },
        )
        .map_err(internal)
    };
    Ok(Some(NewsletterBox {
        newsletter_id: n.id,
        anonymous,
        member: [member_for("none")?, member_for("active")?],
    }))
}

/// The number of blocks up to and including the `paragraphs`-th paragraph.
fn cut_after(blocks: &[BlockView], paragraphs: usize) -> usize {
    let mut seen = 0;
    for (i, b) in blocks.iter().enumerate() {
        if matches!(b, BlockView::Paragraph { .. }) {
            seen += 1;
            if seen >= paragraphs {
                return i + 1;
            }
        }
    }
    blocks.len()
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
            "cssSelector": ".story-paywalled",
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
