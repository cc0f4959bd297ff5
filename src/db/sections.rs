//! Sections of the publication (India, World, Business ...), in menu order.

use serde::Serialize;

use super::{Ex, Id};
use crate::{fetch_all, fetch_one, fetch_optional};

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Section {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i64,
}

pub struct NewSection<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub position: i64,
    pub is_demo: bool,
}

pub async fn insert(ex: Ex<'_>, s: &NewSection<'_>) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Id,
        "insert into sections (slug, name, description, position, is_demo) values ($1, $2, $3, $4, $5) returning id",
        s.slug,
        s.name,
        s.description,
        s.position,
        s.is_demo
    )?
    .id)
}

pub async fn all(ex: Ex<'_>) -> Result<Vec<Section>, sqlx::Error> {
    fetch_all!(
        ex,
        Section,
        "select id, slug, name, description, position from sections order by position, id"
    )
}

pub async fn by_slug(ex: Ex<'_>, slug: &str) -> Result<Option<Section>, sqlx::Error> {
    fetch_optional!(
        ex,
        Section,
        "select id, slug, name, description, position from sections where slug = $1",
        slug
    )
}
