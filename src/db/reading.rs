//! What a member has read this period and what they have saved, as whole
//! lists: the story page keeps them per member for a moment (see
//! `http::readers`), so a member's page costs no query while it is fresh.

use super::{Count, Ex, Id};
use crate::{fetch_all, fetch_one};

/// The stories a member has read in a meter period.
pub async fn period_reads(
    ex: Ex<'_>,
    member_id: i64,
    period: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    Ok(fetch_all!(
        ex,
        Id,
        "select story_id as id from meter_reads where member_id = $1 and period = $2",
        member_id,
        period
    )?
    .into_iter()
    .map(|r| r.id)
    .collect())
}

/// Every story a member has saved, in no particular order.
pub async fn saved_ids(ex: Ex<'_>, member_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    Ok(fetch_all!(
        ex,
        Id,
        "select story_id as id from saved_stories where member_id = $1",
        member_id
    )?
    .into_iter()
    .map(|r| r.id)
    .collect())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SavedRow {
    pub story_id: i64,
    pub saved_at: i64,
}

/// One page of a member's saved stories that are published now, the most
/// recently saved first.
pub async fn saved_page(
    ex: Ex<'_>,
    member_id: i64,
    now: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<SavedRow>, sqlx::Error> {
    fetch_all!(
        ex,
        SavedRow,
        "select v.story_id, v.saved_at from saved_stories v join stories s on s.id = v.story_id \
         where v.member_id = $1 and s.status = 'published' and s.published_at <= $2 \
         order by v.saved_at desc, v.story_id desc limit $3 offset $4",
        member_id,
        now,
        limit,
        offset
    )
}

/// How many of a member's saved stories are published now.
pub async fn saved_count(ex: Ex<'_>, member_id: i64, now: i64) -> Result<i64, sqlx::Error> {
    Ok(fetch_one!(
        ex,
        Count,
        "select count(*) as n from saved_stories v join stories s on s.id = v.story_id \
         where v.member_id = $1 and s.status = 'published' and s.published_at <= $2",
        member_id,
        now
    )?
    .n)
}
