//! RSS 2.0 and Atom feeds for the site, each section and each topic.
//!
//! A feed item carries the headline, the standfirst and the byline: never
//! the story's text, so a feed reader gets no more than a reader over the
//! meter would. Every link is absolute, built from `public_url`.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::db::authors;
use crate::db::stories::{self, Card, Filter};
use crate::db::topics;
use crate::domain::slug::story_path;
use crate::error::{AppError, AppResult};
use crate::site::{SectionKey, Site};

const ITEMS: i64 = 30;

/// What a feed is about.
struct Scope {
    title: String,
    description: String,
    /// Site path of the page the feed follows.
    page: String,
    /// Site path of the feed itself (without the extension).
    feed: String,
    filter: Filter,
}

async fn load(
    state: &AppState,
    scope: &Scope,
) -> AppResult<(std::sync::Arc<Site>, Vec<Card>, Vec<authors::Byline>)> {
    let site = state.current_site().await?;
    let mut conn = state.db.read().await?;
    let cards = stories::list(conn.ex(), scope.filter, state.now_micros(), ITEMS, 0).await?;
    let ids: Vec<i64> = cards.iter().map(|c| c.id).collect();
    let bylines = authors::for_stories(conn.ex(), &ids).await?;
    Ok((site, cards, bylines))
}

fn rfc3339(site: &Site, micros: i64) -> String {
    site.show(micros).iso
}

fn names(bylines: &[authors::Byline], id: i64) -> Vec<String> {
    bylines
        .iter()
        .filter(|b| b.story_id == id)
        .map(|b| b.name.clone())
        .collect()
}

async fn rss(state: &AppState, scope: Scope) -> AppResult<Response> {
    let (site, cards, bylines) = load(state, &scope).await?;
    let abs = |p: &str| state.config.absolute(p);
    let items = cards
        .iter()
        .map(|c| {
            let url = abs(&story_path(&c.section_slug, &c.slug, c.id));
            rss::Item {
                title: Some(c.headline.clone()),
                link: Some(url),
                description: Some(c.standfirst.clone()),
                guid: Some(rss::Guid {
                    value: abs(&format!("/s/{}", c.id)),
                    permalink: true,
                }),
                pub_date: Some(rfc2822(c.published_at)),
                categories: vec![rss::Category {
                    name: c.section_name.clone(),
                    domain: None,
                }],
                dublin_core_ext: Some(rss::extension::dublincore::DublinCoreExtension {
                    creators: names(&bylines, c.id),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let channel = rss::Channel {
        title: scope.title,
        link: abs(&scope.page),
        description: scope.description,
        language: Some(site.publication.language.clone()),
        copyright: (!site.publication.copyright.is_empty())
            .then(|| site.publication.copyright.clone()),
        last_build_date: cards.first().map(|c| rfc2822(c.published_at)),
        generator: Some("Masthead".into()),
        ttl: Some("10".into()),
        atom_ext: Some(rss::extension::atom::AtomExtension {
            links: vec![rss::extension::atom::Link {
                href: abs(&format!("{}.xml", scope.feed)),
                rel: "self".into(),
                mime_type: Some("application/rss+xml".into()),
                ..Default::default()
            }],
        }),
        items,
        ..Default::default()
    };
    let mut channel = channel;
    channel
        .namespaces
        .insert("dc".into(), rss::extension::dublincore::NAMESPACE.into());
    channel
        .namespaces
        .insert("atom".into(), rss::extension::atom::NAMESPACE.into());
    Ok(xml(
        channel.to_string(),
        "application/rss+xml; charset=utf-8",
    ))
}

fn rfc2822(micros: i64) -> String {
    crate::clock::from_micros(micros)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string()
}

async fn atom(state: &AppState, scope: Scope) -> AppResult<Response> {
    use atom_syndication::{Category, Entry, Feed, FixedDateTime, Link, Person, Text};
    let (site, cards, bylines) = load(state, &scope).await?;
    let abs = |p: &str| state.config.absolute(p);
    let when = |micros: i64| -> AppResult<FixedDateTime> {
        FixedDateTime::parse_from_rfc3339(&rfc3339(&site, micros))
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))
    };
    let mut entries = Vec::with_capacity(cards.len());
    for c in &cards {
        let url = abs(&story_path(&c.section_slug, &c.slug, c.id));
        entries.push(Entry {
            title: Text::plain(c.headline.clone()),
            id: abs(&format!("/s/{}", c.id)),
            updated: when(c.updated_at.unwrap_or(c.published_at).max(c.published_at))?,
            published: Some(when(c.published_at)?),
            authors: names(&bylines, c.id)
                .into_iter()
                .map(|name| Person {
                    name,
                    ..Default::default()
                })
                .collect(),
            categories: vec![Category {
                term: c.section_name.clone(),
                ..Default::default()
            }],
            links: vec![Link {
                href: url,
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            }],
            summary: Some(Text::plain(c.standfirst.clone())),
            ..Default::default()
        });
    }
    let updated = match cards
        .iter()
        .map(|c| c.updated_at.unwrap_or(c.published_at).max(c.published_at))
        .max()
    {
        Some(m) => when(m)?,
        None => when(state.now_micros())?,
    };
    let feed = Feed {
        title: Text::plain(scope.title),
        id: abs(&format!("{}.xml", scope.feed)),
        updated,
        links: vec![
            Link {
                href: abs(&format!("{}.xml", scope.feed)),
                rel: "self".into(),
                mime_type: Some("application/atom+xml".into()),
                ..Default::default()
            },
            Link {
                href: abs(&scope.page),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        subtitle: (!scope.description.is_empty()).then(|| Text::plain(scope.description)),
        rights: (!site.publication.copyright.is_empty())
            .then(|| Text::plain(site.publication.copyright.clone())),
        lang: Some(site.publication.language.clone()),
        entries,
        ..Default::default()
    };
    Ok(xml(feed.to_string(), "application/atom+xml; charset=utf-8"))
}

fn xml(body: String, content_type: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

async fn site_scope(state: &AppState, feed: &str) -> AppResult<Scope> {
    let site = state.current_site().await?;
    Ok(Scope {
        title: site.publication.name.clone(),
        description: site.publication.description.clone(),
        page: "/".into(),
        feed: feed.into(),
        filter: Filter::All,
    })
}

async fn section_scope(state: &AppState, slug: &str, feed: &str) -> AppResult<Scope> {
    let site = state.current_site().await?;
    let s = site
        .section(SectionKey::Slug(slug))
        .ok_or(AppError::NotFound)?;
    Ok(Scope {
        title: format!("{}: {}", site.publication.name, s.name),
        description: s.description.clone(),
        page: format!("/{}", s.slug),
        feed: format!("/{}/{feed}", s.slug),
        filter: Filter::Section(s.id),
    })
}

async fn topic_scope(state: &AppState, slug: &str, feed: &str) -> AppResult<Scope> {
    let site = state.current_site().await?;
    let mut conn = state.db.read().await?;
    let t = topics::by_slug(conn.ex(), slug)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Scope {
        title: format!("{}: {}", site.publication.name, t.name),
        description: t.description,
        page: format!("/topic/{}", t.slug),
        feed: format!("/topic/{}/{feed}", t.slug),
        filter: Filter::Topic(t.id),
    })
}

pub async fn site_rss(State(state): State<AppState>) -> AppResult<Response> {
    let scope = site_scope(&state, "/feed").await?;
    rss(&state, scope).await
}

pub async fn site_atom(State(state): State<AppState>) -> AppResult<Response> {
    let scope = site_scope(&state, "/atom").await?;
    atom(&state, scope).await
}

pub async fn section_rss(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let scope = section_scope(&state, &slug, "feed").await?;
    rss(&state, scope).await
}

pub async fn section_atom(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let scope = section_scope(&state, &slug, "atom").await?;
    atom(&state, scope).await
}

pub async fn topic_rss(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let scope = topic_scope(&state, &slug, "feed").await?;
    rss(&state, scope).await
}

pub async fn topic_atom(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let scope = topic_scope(&state, &slug, "atom").await?;
    atom(&state, scope).await
}
