//! The publication's settings, kept in the database so that they are edited
//! by admins, shared by every instance and carried by an export.

use serde::{Deserialize, Serialize};

use super::Ex;
use crate::{execute, fetch_optional};

/// What the publication is called and where it lives. New settings get a
/// default here, so an older store keeps working after an upgrade.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Publication {
    pub name: String,
    pub tagline: String,
    /// An IANA time zone name; times are shown in it and the meter's month
    /// follows it.
    pub time_zone: String,
    /// The `lang` of the pages and feeds.
    pub language: String,
    pub description: String,
    /// The copyright line in the footer and feeds.
    pub copyright: String,
}

impl Default for Publication {
    fn default() -> Self {
        Publication {
            name: "Masthead".into(),
            tagline: String::new(),
            time_zone: "UTC".into(),
            language: "en".into(),
            description: String::new(),
            copyright: String::new(),
        }
    }
}

/// Who may read what: the meter's limits, where the cut falls, and the
/// address ranges of search-engine crawlers that may read past it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct AccessSettings {
    pub limits: crate::domain::access::Limits,
    /// Paragraphs shown before the wall.
    pub teaser_paragraphs: usize,
    /// IP addresses or CIDR ranges of crawlers that get the full text (never
    /// granted by user agent alone).
    pub crawler_ranges: Vec<String>,
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            limits: Default::default(),
            teaser_paragraphs: 3,
            crawler_ranges: Vec::new(),
        }
    }
}

/// When a comment is shown without a moderator looking at it first.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ModerationPolicy {
    /// Shown at once when the guidelines check approves it; moderators look
    /// at what was held or reported.
    Post,
    /// Every comment waits for a moderator.
    PreAll,
    /// A member's comments wait until `trusted_after` of theirs were approved.
    PreNew,
}

/// How comments work on this publication.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CommentSettings {
    pub policy: ModerationPolicy,
    /// Approved comments after which `pre_new` lets a member's comments show at once.
    pub trusted_after: i64,
    /// Minutes in which authors may edit their comment.
    pub edit_minutes: i64,
    /// Days after publication when a story's comments close (0: never).
    pub close_after_days: i64,
    /// The longest comment, in characters.
    pub max_chars: usize,
    /// Top-level comments per page.
    pub per_page: u32,
    /// Replies are indented to this depth, then shown flat (with whom they answer).
    pub max_depth: i64,
}

impl Default for CommentSettings {
    fn default() -> Self {
        CommentSettings {
            policy: ModerationPolicy::Post,
            trusted_after: 3,
            edit_minutes: 15,
            close_after_days: 0,
            max_chars: 5_000,
            per_page: 20,
            max_depth: 3,
        }
    }
}

pub async fn comments(ex: Ex<'_>) -> Result<CommentSettings, sqlx::Error> {
    Ok(get(ex, "comments").await?.unwrap_or_default())
}

pub async fn access(ex: Ex<'_>) -> Result<AccessSettings, sqlx::Error> {
    Ok(get(ex, "access").await?.unwrap_or_default())
}

#[derive(sqlx::FromRow)]
struct Row {
    value: String,
}

/// Reads one setting as JSON; `None` when it was never set.
pub async fn get<T: serde::de::DeserializeOwned>(
    ex: Ex<'_>,
    key: &str,
) -> Result<Option<T>, sqlx::Error> {
    let row = fetch_optional!(ex, Row, "select value from settings where key = $1", key)?;
    match row {
        None => Ok(None),
        Some(r) => serde_json::from_str(&r.value)
            .map(Some)
            .map_err(|e| sqlx::Error::Decode(Box::new(e))),
    }
}

pub async fn put<T: Serialize>(ex: Ex<'_>, key: &str, value: &T) -> Result<(), sqlx::Error> {
    let json = serde_json::to_string(value).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    execute!(
        ex,
        "insert into settings (key, value) values ($1, $2) on conflict (key) do update set value = excluded.value",
        key,
        json
    )?;
    Ok(())
}

pub async fn publication(ex: Ex<'_>) -> Result<Publication, sqlx::Error> {
    Ok(get(ex, "publication").await?.unwrap_or_default())
}

#[derive(sqlx::FromRow)]
struct Counter {
    value: i64,
}

/// The content counter: bumped by every change that can make a rendered
/// page stale (a story published or edited, a section renamed, settings).
pub async fn content_epoch(ex: Ex<'_>) -> Result<i64, sqlx::Error> {
    Ok(fetch_optional!(
        ex,
        Counter,
        "select value from counters where name = 'content'"
    )?
    .map_or(0, |c| c.value))
}

pub async fn bump_content_epoch(ex: Ex<'_>) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "update counters set value = value + 1 where name = 'content'"
    )?;
    Ok(())
}
