//! The photo library: one row per original, named by its content hash.

use super::{Ex, Id};
use crate::{fetch_all_in, fetch_one, fetch_optional};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Media {
    pub id: i64,
    pub sha256: String,
    pub ext: String,
    pub mime: String,
    pub width: i64,
    pub height: i64,
}

pub struct NewMedia<'a> {
    pub sha256: &'a str,
    pub ext: &'a str,
    pub mime: &'a str,
    pub width: i64,
    pub height: i64,
    pub byte_size: i64,
    pub created_at: i64,
    pub is_demo: bool,
}

/// Inserts an original, or answers the id of the same picture stored before.
pub async fn insert_or_get(ex: Ex<'_>, m: &NewMedia<'_>) -> Result<i64, sqlx::Error> {
    // `do update` (a no-op) rather than `do nothing`, so `returning` answers
    // the existing row's id on both databases.
    Ok(fetch_one!(
        ex,
        Id,
        "insert into media (sha256, ext, mime, width, height, byte_size, created_at, is_demo) \
         values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (sha256) do update set sha256 = excluded.sha256 returning id",
        m.sha256,
        m.ext,
        m.mime,
        m.width,
        m.height,
        m.byte_size,
        m.created_at,
        m.is_demo
    )?
    .id)
}

pub async fn find(ex: Ex<'_>, id: i64) -> Result<Option<Media>, sqlx::Error> {
    fetch_optional!(
        ex,
        Media,
        "select id, sha256, ext, mime, width, height from media where id = $1",
        id
    )
}

pub async fn find_many(ex: Ex<'_>, ids: &[i64]) -> Result<Vec<Media>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "select id, sha256, ext, mime, width, height from media where id in ({})",
        super::placeholders(0, ids.len())
    );
    fetch_all_in!(ex, Media, sql, ids.iter().copied())
}
