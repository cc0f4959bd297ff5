//! The reader's list pages: front page, sections, topics, authors.

use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::db::stories::{self, Filter, reborrow};
use crate::db::{authors, settings, topics};
use crate::domain::meter;
use crate::domain::paging::{Pager, parse_page};
use crate::error::{AppError, AppResult};
use crate::render::val;

use super::auth::Visitor;
use crate::site::{CardView, Link, SectionKey, Site, card_views};

/// Stories per page of a list.
pub const PER_PAGE: u32 = 20;

/// What the layout needs of the site on every page.
#[derive(Serialize)]
pub struct SiteContext {
    pub name: String,
    pub tagline: String,
    pub language: String,
    pub sections: Vec<Link>,
    pub today: String,
    pub year: i16,
    pub copyright: String,
    pub public_url: String,
}

pub fn site_context(state: &AppState, site: Option<&Site>) -> SiteContext {
    let now = state.clock.now();
    match site {
        Some(site) => {
            let z = now.to_zoned_datetime(site.tz.clone());
            SiteContext {
                name: site.publication.name.clone(),
                tagline: site.publication.tagline.clone(),
                language: site.publication.language.clone(),
                sections: site
                    .sections
                    .iter()
                    .map(|s| Link {
                        name: s.name.clone(),
                        url: format!("/{}", s.slug),
                    })
                    .collect(),
                today: z.strftime("%A, %B %-d, %Y").to_string(),
                year: z.year(),
                copyright: site.publication.copyright.clone(),
                public_url: state.config.public_url.to_string(),
            }
        }
        None => SiteContext {
            name: "Masthead".into(),
            tagline: String::new(),
            language: "en".into(),
            sections: Vec::new(),
            today: String::new(),
            year: now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year(),
            copyright: String::new(),
            public_url: state.config.public_url.to_string(),
        },
    }
}

/// Reads `page` from a query string; other parameters are ignored.
pub fn page_param(query: Option<&str>) -> AppResult<u32> {
    let raw = query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "page")
            .map(|(_, v)| v.into_owned())
    });
    parse_page(raw.as_deref()).map_err(AppError::BadRequest)
}

#[derive(Serialize)]
struct SectionBlock {
    section: Link,
    stories: Vec<CardView>,
}

pub async fn front(State(state): State<AppState>, visitor: Visitor) -> AppResult<Html<String>> {
    let now = state.now_micros();
    let mut conn = state.db.read().await?;
    let epoch = settings::content_epoch(conn.ex()).await?;
    let site = state.site.get(conn.ex(), epoch).await?;
    let latest = stories::list(conn.ex(), Filter::All, now, 40, 0).await?;
    // The lead is the newest news story with a photo; opinion leads its own column.
    let lead_pos = latest
        .iter()
        .position(|c| c.lead_media_id.is_some() && c.section_slug != "opinion")
        .or(if latest.is_empty() { None } else { Some(0) });
    let mut shown: Vec<i64> = Vec::new();
    let lead = match lead_pos {
        Some(i) => {
            shown.push(latest[i].id);
            card_views(conn.ex(), &site, &latest[i..=i]).await?.pop()
        }
        None => None,
    };
    let top_cards: Vec<_> = latest
        .iter()
        .filter(|c| !shown.contains(&c.id) && c.section_slug != "opinion")
        .take(4)
        .cloned()
        .collect();
    shown.extend(top_cards.iter().map(|c| c.id));
    let top = card_views(conn.ex(), &site, &top_cards).await?;
    let latest_cards: Vec<_> = latest
        .iter()
        .filter(|c| !shown.contains(&c.id))
        .take(8)
        .cloned()
        .collect();
    let latest_views = card_views(conn.ex(), &site, &latest_cards).await?;
    let mut blocks = Vec::new();
    for section in &site.sections {
        let cards = stories::list(conn.ex(), Filter::Section(section.id), now, 5, 0).await?;
        let cards: Vec<_> = cards
            .into_iter()
            .filter(|c| !shown.contains(&c.id))
            .take(4)
            .collect();
        if cards.is_empty() {
            continue;
        }
        blocks.push(SectionBlock {
            section: Link {
                name: section.name.clone(),
                url: format!("/{}", section.slug),
            },
            stories: card_views(conn.ex(), &site, &cards).await?,
        });
    }
    let html = state.renderer.render(
        "front.html",
        context! {
            site => val(site_context(&state, Some(&site))),
            canonical => state.config.absolute("/"),
            nav_current => "/",
            reader => val(visitor.view()),
            description => site.publication.description.clone(),
            lead => val(lead), top => val(top), latest => val(latest_views), blocks => val(blocks),
        },
    );
    Ok(Html(html.map_err(|e| AppError::Internal(e.into()))?))
}

/// One list page: a heading, a description and a page of cards.
struct ListPage<'a> {
    kind: &'static str,
    title: String,
    description: String,
    path: String,
    feed: Option<String>,
    filter: Filter,
    author: Option<&'a authors::Author>,
}

async fn list_page(
    state: &AppState,
    site: &Site,
    page: u32,
    list: ListPage<'_>,
    visitor: &Visitor,
) -> AppResult<Html<String>> {
    let now = state.now_micros();
    let mut conn = state.db.read().await?;
    let total = stories::count(conn.ex(), list.filter, now).await?;
    let pager = Pager::new(page, PER_PAGE, total).ok_or(AppError::NotFound)?;
    let cards = stories::list(
        conn.ex(),
        list.filter,
        now,
        PER_PAGE as i64,
        pager.offset(PER_PAGE),
    )
    .await?;
    let mut views = card_views(reborrow(&mut conn.ex()), site, &cards).await?;
    let ids: Vec<i64> = views.iter().map(|v| v.id).collect();
    for (story, n) in crate::db::comments::counts(conn.ex(), &ids).await? {
        if let Some(v) = views.iter_mut().find(|v| v.id == story) {
            v.comment_count = n;
        }
    }
    drop(conn);
    let here = if page > 1 {
        format!("{}?page={page}", list.path)
    } else {
        list.path.clone()
    };
    // A signed-in reader gets a save button on each story.
    let saver = match &visitor.member {
        Some(m) => {
            let period = meter::period(state.clock.now(), &site.tz);
            let (known, _) = state
                .members
                .get(&state.db, m.id, &period, now, false)
                .await?;
            let ids: Vec<i64> = views
                .iter()
                .filter(|v| known.saved.contains(&v.id))
                .map(|v| v.id)
                .collect();
            Some(context! { csrf => m.csrf_token.clone(), ids, next => here.clone() })
        }
        None => None,
    };
    let canonical = if page > 1 {
        state.config.absolute(&format!("{}?page={page}", list.path))
    } else {
        state.config.absolute(&list.path)
    };
    let html = state.renderer.render(
        "list.html",
        context! {
            site => val(site_context(state, Some(site))),
            kind => list.kind,
            reader => val(visitor.view()),
            nav_current => val((list.kind == "section").then_some(list.path.clone())),
            title => list.title,
            description => list.description,
            path => list.path,
            feed => list.feed,
            canonical,
            author => val(list.author),
            stories => val(views),
            saver,
            pager => val(pager),
            total,
        },
    );
    Ok(Html(html.map_err(|e| AppError::Internal(e.into()))?))
}

pub async fn section(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Html<String>> {
    let page = page_param(q.as_deref())?;
    let site = state.current_site().await?;
    let section = site
        .section(SectionKey::Slug(&slug))
        .ok_or(AppError::NotFound)?;
    let list = ListPage {
        kind: "section",
        title: section.name.clone(),
        description: section.description.clone(),
        path: format!("/{}", section.slug),
        feed: Some(format!("/{}/feed.xml", section.slug)),
        filter: Filter::Section(section.id),
        author: None,
    };
    list_page(&state, &site, page, list, &visitor).await
}

pub async fn topic(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Html<String>> {
    let page = page_param(q.as_deref())?;
    let site = state.current_site().await?;
    let topic = {
        let mut conn = state.db.read().await?;
        topics::by_slug(conn.ex(), &slug)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let list = ListPage {
        kind: "topic",
        title: topic.name.clone(),
        description: topic.description.clone(),
        path: format!("/topic/{}", topic.slug),
        feed: Some(format!("/topic/{}/feed.xml", topic.slug)),
        filter: Filter::Topic(topic.id),
        author: None,
    };
    list_page(&state, &site, page, list, &visitor).await
}

pub async fn author(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
) -> AppResult<Html<String>> {
    let page = page_param(q.as_deref())?;
    let site = state.current_site().await?;
    let author = {
        let mut conn = state.db.read().await?;
        authors::by_slug(conn.ex(), &slug)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let list = ListPage {
        kind: "author",
        title: author.name.clone(),
        description: author.bio.clone(),
        path: format!("/author/{}", author.slug),
        feed: None,
        filter: Filter::Author(author.id),
        author: Some(&author),
    };
    list_page(&state, &site, page, list, &visitor).await
}
