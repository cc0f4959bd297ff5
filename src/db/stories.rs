//! Stories: their text, their place in sections and topics, their bylines.

use super::{Count, Ex, Id};
use crate::{execute, fetch_all, fetch_one, fetch_optional};

/// A whole story row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Story {
    pub id: i64,
    pub section_id: i64,
    pub section_slug: String,
    pub section_name: String,
    pub slug: String,
    pub headline: String,
    pub standfirst: String,
    pub dateline: String,
    pub body: String,
    pub lead_media_id: Option<i64>,
    pub lead_alt: String,
    pub lead_caption: String,
    pub lead_credit: String,
    pub access_level: String,
    pub status: String,
    pub published_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub version: i64,
}

const STORY_COLUMNS: &str = "s.id, s.section_id, sec.slug as section_slug, sec.name as section_name, s.slug, s.headline, \
     s.standfirst, s.dateline, s.body, s.lead_media_id, s.lead_alt, s.lead_caption, s.lead_credit, s.access_level, \
     s.status, s.published_at, s.updated_at, s.version";

/// What the story page needs before deciding anything: where the story
/// lives now, whether it is out, and which version a cache must hold.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Head {
    pub id: i64,
    pub slug: String,
    pub section_slug: String,
    pub status: String,
    pub published_at: Option<i64>,
    pub version: i64,
    pub epoch: i64,
}

/// A story as lists show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Card {
    pub id: i64,
    pub slug: String,
    pub section_slug: String,
    pub section_name: String,
    pub headline: String,
    pub standfirst: String,
    pub published_at: i64,
    pub updated_at: Option<i64>,
    pub lead_media_id: Option<i64>,
    pub lead_alt: String,
    pub access_level: String,
}

const CARD_COLUMNS: &str = "s.id, s.slug, sec.slug as section_slug, sec.name as section_name, s.headline, s.standfirst, \
     s.published_at, s.updated_at, s.lead_media_id, s.lead_alt, s.access_level";

pub struct NewStory<'a> {
    pub section_id: i64,
    pub slug: &'a str,
    pub headline: &'a str,
    pub standfirst: &'a str,
    pub dateline: &'a str,
    pub body: &'a str,
    pub lead_media_id: Option<i64>,
    pub lead_alt: &'a str,
    pub lead_caption: &'a str,
    pub lead_credit: &'a str,
    pub access_level: &'a str,
    pub status: &'a str,
    pub published_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub modified_at: i64,
    pub is_demo: bool,
}

pub async fn insert(ex: Ex<'_>, s: &NewStory<'_>) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Id,
        "insert into stories (section_id, slug, headline, standfirst, dateline, body, lead_media_id, lead_alt, \
         lead_caption, lead_credit, access_level, status, published_at, updated_at, modified_at, is_demo) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) returning id",
        s.section_id,
        s.slug,
        s.headline,
        s.standfirst,
        s.dateline,
        s.body,
        s.lead_media_id,
        s.lead_alt,
        s.lead_caption,
        s.lead_credit,
        s.access_level,
        s.status,
        s.published_at,
        s.updated_at,
        s.modified_at,
        s.is_demo
    )?
    .id)
}

pub async fn add_author(
    ex: Ex<'_>,
    story_id: i64,
    author_id: i64,
    position: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into story_authors (story_id, author_id, position) values ($1, $2, $3) on conflict do nothing",
        story_id,
        author_id,
        position
    )?;
    Ok(())
}

pub async fn add_topic(ex: Ex<'_>, story_id: i64, topic_id: i64) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into story_topics (story_id, topic_id) values ($1, $2) on conflict do nothing",
        story_id,
        topic_id
    )?;
    Ok(())
}

/// Replaces the body and counts a new version; bumps the content counter so
/// every instance drops what it rendered from the old one.
pub async fn set_body(mut ex: Ex<'_>, id: i64, body: &str, now: i64) -> Result<u64, sqlx::Error> {
    let n = execute!(
        reborrow(&mut ex),
        "update stories set body = $2, version = version + 1, modified_at = $3 where id = $1",
        id,
        body,
        now
    )?;
    super::settings::bump_content_epoch(ex).await?;
    Ok(n)
}

/// Changes the slug (the address); the old address then redirects.
pub async fn set_slug(mut ex: Ex<'_>, id: i64, slug: &str, now: i64) -> Result<u64, sqlx::Error> {
    let n = execute!(
        reborrow(&mut ex),
        "update stories set slug = $2, version = version + 1, modified_at = $3 where id = $1",
        id,
        slug,
        now
    )?;
    super::settings::bump_content_epoch(ex).await?;
    Ok(n)
}

/// Moves a story to another section; the old address then redirects.
pub async fn set_section(
    mut ex: Ex<'_>,
    id: i64,
    section_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let n = execute!(
        reborrow(&mut ex),
        "update stories set section_id = $2, version = version + 1, modified_at = $3 where id = $1",
        id,
        section_id,
        now
    )?;
    super::settings::bump_content_epoch(ex).await?;
    Ok(n)
}

pub async fn head(ex: Ex<'_>, id: i64) -> Result<Option<Head>, sqlx::Error> {
    fetch_optional!(
        ex,
        Head,
        "select s.id, s.slug, sec.slug as section_slug, s.status, s.published_at, s.version, \
         (select value from counters where name = 'content') as epoch \
         from stories s join sections sec on sec.id = s.section_id where s.id = $1",
        id
    )
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Option<Story>, sqlx::Error> {
    let sql = const_format_story("where s.id = $1");
    fetch_optional!(ex, Story, sqlx::AssertSqlSafe(sql), id)
}

fn const_format_story(tail: &str) -> String {
    format!(
        "select {STORY_COLUMNS} from stories s join sections sec on sec.id = s.section_id {tail}"
    )
}

/// Which stories a list shows.
#[derive(Clone, Copy, Debug)]
pub enum Filter {
    All,
    Section(i64),
    Topic(i64),
    Author(i64),
}

impl Filter {
    fn clause(self) -> (&'static str, i64) {
        match self {
            Filter::All => ("", 0),
            Filter::Section(id) => ("and s.section_id = $4", id),
            Filter::Topic(id) => (
                "and s.id in (select story_id from story_topics where topic_id = $4)",
                id,
            ),
            Filter::Author(id) => (
                "and s.id in (select story_id from story_authors where author_id = $4)",
                id,
            ),
        }
    }
}

/// Published stories, newest first.
pub async fn list(
    ex: Ex<'_>,
    filter: Filter,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<Card>, sqlx::Error> {
    let (clause, arg) = filter.clause();
    let sql = format!(
        "select {CARD_COLUMNS} from stories s join sections sec on sec.id = s.section_id \
         where s.status = 'published' and s.published_at <= $1 {clause} \
         order by s.published_at desc, s.id desc limit $2 offset $3"
    );
    match filter {
        Filter::All => fetch_all!(ex, Card, sqlx::AssertSqlSafe(sql), now, limit, offset),
        _ => fetch_all!(ex, Card, sqlx::AssertSqlSafe(sql), now, limit, offset, arg),
    }
}

pub async fn count(ex: Ex<'_>, filter: Filter, now: i64) -> Result<i64, sqlx::Error> {
    let (clause, arg) = filter.clause();
    // $2 and $3 are unused here; the clause's placeholder is $4 as in `list`.
    let clause = clause.replace("$4", "$2");
    let sql = format!(
        "select count(*) as n from stories s where s.status = 'published' and s.published_at <= $1 {clause}"
    );
    let row = match filter {
        Filter::All => fetch_one!(ex, Count, sqlx::AssertSqlSafe(sql), now)?,
        _ => fetch_one!(ex, Count, sqlx::AssertSqlSafe(sql), now, arg)?,
    };
    Ok(row.n)
}

/// Cards for the given ids (in no particular order), published ones only.
pub async fn cards(ex: Ex<'_>, ids: &[i64], now: i64) -> Result<Vec<Card>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select {CARD_COLUMNS} from stories s join sections sec on sec.id = s.section_id \
         where s.status = 'published' and s.published_at <= $1 and s.id in ({})",
        super::placeholders(1, ids.len())
    );
    crate::fetch_all_in!(ex, Card, sql, ids.iter().copied(), now)
}

/// Stories that share a topic with `id`, newest first; the section's latest
/// fill in when there are too few.
pub async fn related(
    ex: Ex<'_>,
    id: i64,
    section_id: i64,
    now: i64,
    limit: i64,
) -> Result<Vec<Card>, sqlx::Error> {
    let sql = format!(
        "select {CARD_COLUMNS} from stories s join sections sec on sec.id = s.section_id \
         where s.status = 'published' and s.published_at <= $1 and s.id <> $2 and s.id in ( \
           select st2.story_id from story_topics st1 join story_topics st2 on st2.topic_id = st1.topic_id \
           where st1.story_id = $2) \
         order by s.published_at desc limit $3"
    );
    let mut ex = ex;
    let mut out = fetch_all!(
        reborrow(&mut ex),
        Card,
        sqlx::AssertSqlSafe(sql),
        now,
        id,
        limit
    )?;
    if (out.len() as i64) < limit {
        let more = list(
            reborrow(&mut ex),
            Filter::Section(section_id),
            now,
            limit + 1 + out.len() as i64,
            0,
        )
        .await?;
        for c in more {
            if out.len() as i64 >= limit {
                break;
            }
            if c.id != id && !out.iter().any(|o| o.id == c.id) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Borrows an `Ex` again for one more query.
pub fn reborrow<'a>(ex: &'a mut Ex<'_>) -> Ex<'a> {
    match ex {
        Ex::Sqlite(c) => Ex::Sqlite(c),
        Ex::Postgres(c) => Ex::Postgres(c),
    }
}

/// A line of a sitemap.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SitemapEntry {
    pub id: i64,
    pub slug: String,
    pub section_slug: String,
    pub headline: String,
    pub published_at: i64,
    pub modified_at: i64,
}

pub async fn sitemap_page(
    ex: Ex<'_>,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<SitemapEntry>, sqlx::Error> {
    fetch_all!(
        ex,
        SitemapEntry,
        "select s.id, s.slug, sec.slug as section_slug, s.headline, s.published_at, s.modified_at \
         from stories s join sections sec on sec.id = s.section_id \
         where s.status = 'published' and s.published_at <= $1 order by s.id limit $2 offset $3",
        now,
        limit,
        offset
    )
}

/// Stories published from `since` to `now`, for the news sitemap.
pub async fn published_between(
    ex: Ex<'_>,
    since: i64,
    now: i64,
) -> Result<Vec<SitemapEntry>, sqlx::Error> {
    fetch_all!(
        ex,
        SitemapEntry,
        "select s.id, s.slug, sec.slug as section_slug, s.headline, s.published_at, s.modified_at \
         from stories s join sections sec on sec.id = s.section_id \
         where s.status = 'published' and s.published_at > $1 and s.published_at <= $2 \
         order by s.published_at desc limit 1000",
        since,
        now
    )
}

/// Whether the store has no story at all (a new install).
pub async fn is_empty(ex: Ex<'_>) -> Result<bool, sqlx::Error> {
    let n = fetch_one!(
        ex,
        Count,
        "select count(*) as n from (select id from stories limit 1) x"
    )?;
    Ok(n.n == 0)
}
