//! What search engines read: `robots.txt`, the sitemap (an index of several
//! files once the archive is large) and the news sitemap of the last two days.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::db::stories::{self, Filter};
use crate::db::{authors, topics};
use crate::domain::slug::story_path;
use crate::error::{AppError, AppResult};
use crate::render::val;

fn xml(body: String) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

pub async fn robots(State(state): State<AppState>) -> Response {
    let body = format!(
        "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /account/\n\nSitemap: {}\nSitemap: {}\n",
        state.config.absolute("/sitemap.xml"),
        state.config.absolute("/news-sitemap.xml")
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

#[derive(Serialize)]
struct Url {
    loc: String,
    lastmod: Option<String>,
}

/// The site's own pages: front, sections, topics, authors.
async fn page_urls(state: &AppState) -> AppResult<Vec<Url>> {
    let site = state.current_site().await?;
    let mut conn = state.db.read().await?;
    let mut urls = vec![Url {
        loc: state.config.absolute("/"),
        lastmod: None,
    }];
    urls.extend(site.sections.iter().map(|s| Url {
        loc: state.config.absolute(&format!("/{}", s.slug)),
        lastmod: None,
    }));
    urls.extend(topics::all(conn.ex()).await?.iter().map(|t| Url {
        loc: state.config.absolute(&format!("/topic/{}", t.slug)),
        lastmod: None,
    }));
    urls.extend(authors::all(conn.ex()).await?.iter().map(|a| Url {
        loc: state.config.absolute(&format!("/author/{}", a.slug)),
        lastmod: None,
    }));
    Ok(urls)
}

async fn story_urls(state: &AppState, page: usize) -> AppResult<Vec<Url>> {
    let site = state.current_site().await?;
    let size = state.config.sitemap_page_size as i64;
    let mut conn = state.db.read().await?;
    let rows =
        stories::sitemap_page(conn.ex(), state.now_micros(), size, page as i64 * size).await?;
    Ok(rows
        .iter()
        .map(|r| Url {
            loc: state
                .config
                .absolute(&story_path(&r.section_slug, &r.slug, r.id)),
            lastmod: Some(site.show(r.modified_at.max(r.published_at)).iso),
        })
        .collect())
}

fn render_urlset(state: &AppState, urls: Vec<Url>) -> AppResult<Response> {
    let body = state
        .renderer
        .render("sitemap.xml", context! { urls => val(urls) })
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(xml(body))
}

/// `/sitemap.xml`: every URL, or an index of sitemap files when the stories
/// do not fit in one.
pub async fn sitemap(State(state): State<AppState>) -> AppResult<Response> {
    let total = {
        let mut conn = state.db.read().await?;
        stories::count(conn.ex(), Filter::All, state.now_micros()).await?
    };
    let size = state.config.sitemap_page_size as i64;
    if total <= size {
        let mut urls = page_urls(&state).await?;
        urls.extend(story_urls(&state, 0).await?);
        return render_urlset(&state, urls);
    }
    let files = (total + size - 1) / size;
    let mut locs = vec![state.config.absolute("/sitemaps/pages.xml")];
    locs.extend((1..=files).map(|n| state.config.absolute(&format!("/sitemaps/stories-{n}.xml"))));
    let body = state
        .renderer
        .render("sitemap_index.xml", context! { sitemaps => val(locs) })
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(xml(body))
}

/// `/sitemaps/pages.xml` and `/sitemaps/stories-N.xml`, the files of the index.
pub async fn sitemap_page(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> AppResult<Response> {
    if file == "pages.xml" {
        let urls = page_urls(&state).await?;
        return render_urlset(&state, urls);
    }
    let n: usize = file
        .strip_prefix("stories-")
        .and_then(|f| f.strip_suffix(".xml"))
        .and_then(|n| n.parse().ok())
        .filter(|&n| n >= 1)
        .ok_or(AppError::NotFound)?;
    let urls = story_urls(&state, n - 1).await?;
    if urls.is_empty() {
        return Err(AppError::NotFound);
    }
    render_urlset(&state, urls)
}

#[derive(Serialize)]
struct NewsUrl {
    loc: String,
    title: String,
    published: String,
}

/// `/news-sitemap.xml`: the stories of the last two days, in Google News form.
pub async fn news_sitemap(State(state): State<AppState>) -> AppResult<Response> {
    let site = state.current_site().await?;
    let now = state.now_micros();
    let since = now - 2 * 24 * 3600 * 1_000_000;
    let mut conn = state.db.read().await?;
    let rows = stories::published_between(conn.ex(), since, now).await?;
    let urls: Vec<NewsUrl> = rows
        .iter()
        .map(|r| NewsUrl {
            loc: state
                .config
                .absolute(&story_path(&r.section_slug, &r.slug, r.id)),
            title: r.headline.clone(),
            published: site.show(r.published_at).iso,
        })
        .collect();
    let language = site
        .publication
        .language
        .split('-')
        .next()
        .unwrap_or("en")
        .to_string();
    let body = state
        .renderer
        .render(
            "news_sitemap.xml",
            context! { urls => val(urls), name => site.publication.name.clone(), language },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(xml(body))
}
