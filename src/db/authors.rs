//! Bylines: people (reporters, columnists) and news agencies.

use serde::Serialize;

use super::{Ex, Id};
use crate::{fetch_all, fetch_all_in, fetch_one, fetch_optional};

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Author {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// `person` or `agency`.
    pub kind: String,
    /// An agency's initials as bylines print them ("UNW").
    pub short_name: String,
    pub title: String,
    pub bio: String,
}

pub struct NewAuthor<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub short_name: &'a str,
    pub title: &'a str,
    pub bio: &'a str,
    pub is_demo: bool,
}

pub async fn insert(ex: Ex<'_>, a: &NewAuthor<'_>) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Id,
        "insert into authors (slug, name, kind, short_name, title, bio, is_demo) values ($1, $2, $3, $4, $5, $6, $7) returning id",
        a.slug,
        a.name,
        a.kind,
        a.short_name,
        a.title,
        a.bio,
        a.is_demo
    )?
    .id)
}

pub async fn by_slug(ex: Ex<'_>, slug: &str) -> Result<Option<Author>, sqlx::Error> {
    fetch_optional!(
        ex,
        Author,
        "select id, slug, name, kind, short_name, title, bio from authors where slug = $1",
        slug
    )
}

pub async fn all(ex: Ex<'_>) -> Result<Vec<Author>, sqlx::Error> {
    fetch_all!(
        ex,
        Author,
        "select id, slug, name, kind, short_name, title, bio from authors order by kind desc, name"
    )
}

/// A byline of a story, in byline order.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Byline {
    pub story_id: i64,
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub kind: String,
}

pub async fn for_stories(ex: Ex<'_>, story_ids: &[i64]) -> Result<Vec<Byline>, sqlx::Error> {
    if story_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select sa.story_id, a.id, a.slug, a.name, a.kind from story_authors sa join authors a on a.id = sa.author_id \
         where sa.story_id in ({}) order by sa.story_id, sa.position",
        super::placeholders(0, story_ids.len())
    );
    fetch_all_in!(ex, Byline, sql, story_ids.iter().copied())
}
