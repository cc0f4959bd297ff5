//! Topics: tags that gather stories across sections ("Monsoon", "Cricket").

use serde::Serialize;

use super::{Ex, Id};
use crate::{fetch_all, fetch_all_in, fetch_one, fetch_optional};

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Topic {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
}

pub async fn insert(
    ex: Ex<'_>,
    slug: &str,
    name: &str,
    description: &str,
    is_demo: bool,
) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Id,
        "insert into topics (slug, name, description, is_demo) values ($1, $2, $3, $4) returning id",
        slug,
        name,
        description,
        is_demo
    )?
    .id)
}

pub async fn all(ex: Ex<'_>) -> Result<Vec<Topic>, sqlx::Error> {
    fetch_all!(
        ex,
        Topic,
        "select id, slug, name, description from topics order by name"
    )
}

pub async fn by_slug(ex: Ex<'_>, slug: &str) -> Result<Option<Topic>, sqlx::Error> {
    fetch_optional!(
        ex,
        Topic,
        "select id, slug, name, description from topics where slug = $1",
        slug
    )
}

/// A story's topic, with the story it belongs to.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoryTopic {
    pub story_id: i64,
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// The topics of several stories at once.
pub async fn for_stories(ex: Ex<'_>, story_ids: &[i64]) -> Result<Vec<StoryTopic>, sqlx::Error> {
    if story_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select st.story_id, t.id, t.slug, t.name from story_topics st join topics t on t.id = st.topic_id \
         where st.story_id in ({}) order by t.name",
        super::placeholders(0, story_ids.len())
    );
    fetch_all_in!(ex, StoryTopic, sql, story_ids.iter().copied())
}
