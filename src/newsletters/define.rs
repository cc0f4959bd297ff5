//! Staff define newsletters: create, edit, archive, and choose the one in
//! the box under every story. The desk (`src/http/newsletter_admin.rs`) and
//! `masthead newsletter create|edit|archive` both come here, so the checks
//! and their words are the same wherever a newsletter is changed.
//!
//! Every change bumps the content epoch in its own transaction (story pages
//! carry the box, cached per epoch) and tells this instance's view of the
//! epoch at once, so the next page it serves shows the change.
//!
//! A newsletter's kind is fixed once it exists. Turning an editorial list
//! into offers would send offers to readers who subscribed for the news;
//! turning offers into editorial would keep mailing readers whose consent
//! was to offers (withdrawing it would no longer end their subscription)
//! and could subscribe new members to it on registration. To change kind,
//! create a new newsletter and archive the old one.

use std::fmt;

use super::subscriptions::{self as subs, Kind, NewNewsletter, Newsletter};
use crate::app::AppState;
use crate::db::settings;
use crate::fetch_optional;
use crate::http::newsletters::NewsletterSettings;

/// Problems with a definition: the field each is about, and the words.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Refused(pub Vec<(&'static str, String)>);

impl Refused {
    fn one(field: &'static str, words: impl Into<String>) -> Refused {
        Refused(vec![(field, words.into())])
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.0.iter().map(|(_, w)| w.as_str()).collect();
        f.write_str(&words.join(" "))
    }
}

impl std::error::Error for Refused {}

/// What a change answers: done, or refused with what to fix.
pub type Outcome<T> = Result<Result<T, Refused>, sqlx::Error>;

fn taken(slug: &str) -> Refused {
    Refused::one(
        "slug",
        format!(
            "“{slug}” is the address of another newsletter (perhaps an archived one): choose another."
        ),
    )
}

/// The checks a form or a command must pass before anything is written.
pub fn problems(n: &NewNewsletter<'_>) -> Vec<(&'static str, String)> {
    let mut out = n.field_problems();
    if n.kind == Kind::Offers && n.subscribe_on_register {
        out.push((
            "subscribe_on_register",
            "Nobody is subscribed to offers without asking: an offers newsletter cannot \
             subscribe new members on registration."
                .into(),
        ));
    }
    out
}

#[derive(sqlx::FromRow)]
struct Position {
    next: Option<i64>,
}

/// The position after the last newsletter, for a new one.
pub async fn next_position(state: &AppState) -> Result<i64, sqlx::Error> {
    let mut c = state.db.read().await?;
    Ok(fetch_optional!(
        c.ex(),
        Position,
        "select max(position) + 1 as next from newsletters where archived_at is null"
    )?
    .and_then(|p| p.next)
    .unwrap_or(0))
}

/// The newsletter in the box under every story, as set (the slug; empty
/// for none).
pub async fn story_box(state: &AppState) -> Result<String, sqlx::Error> {
    let mut c = state.db.read().await?;
    let s: NewsletterSettings = settings::get(c.ex(), "newsletters")
        .await?
        .unwrap_or_default();
    Ok(s.story_box)
}

/// Bumps the content epoch in `tx`, commits, and lets this instance see the
/// new epoch at once.
async fn finish(state: &AppState, mut tx: crate::db::Tx) -> Result<(), sqlx::Error> {
    settings::bump_content_epoch(tx.ex()).await?;
    let epoch = settings::content_epoch(tx.ex()).await?;
    tx.commit().await?;
    state.epoch.observe(epoch);
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Creates a newsletter; answers its id.
pub async fn create(state: &AppState, n: &NewNewsletter<'_>) -> Outcome<i64> {
    let p = problems(n);
    if !p.is_empty() {
        return Ok(Err(Refused(p)));
    }
    let mut tx = state.db.begin().await?;
    let Some(id) = subs::create(tx.ex(), n, state.now_micros()).await? else {
        return Ok(Err(taken(n.slug)));
    };
    finish(state, tx).await?;
    Ok(Ok(id))
}

/// Changes a newsletter (`None`: there is none with this id). The kind must
/// stay what it is. A new slug is carried into the settings that name the
/// newsletter (the story box, the demo's list), so neither loses it.
pub async fn update(state: &AppState, id: i64, n: &NewNewsletter<'_>) -> Outcome<Option<()>> {
    let mut tx = state.db.begin().await?;
    let Some(current) = subs::by_id(tx.ex(), id).await? else {
        return Ok(Ok(None));
    };
    let mut p = problems(n);
    if current.kind != n.kind.as_str() {
        p.push((
            "kind",
            format!(
                "A newsletter's kind is fixed once it exists (this one is {}): its readers \
                 subscribed to that. Create a new newsletter and archive this one instead.",
                current.kind
            ),
        ));
    }
    if !p.is_empty() {
        return Ok(Err(Refused(p)));
    }
    if n.slug != current.slug && subs::by_slug(tx.ex(), n.slug).await?.is_some() {
        return Ok(Err(taken(n.slug)));
    }
    match subs::update(tx.ex(), id, n).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(Err(taken(n.slug))),
        Err(e) => return Err(e),
    }
    if n.slug != current.slug {
        let mut chosen: NewsletterSettings = settings::get(tx.ex(), "newsletters")
            .await?
            .unwrap_or_default();
        if chosen.story_box == current.slug {
            chosen.story_box = n.slug.to_string();
            settings::put(tx.ex(), "newsletters", &chosen).await?;
        }
        let demo: Option<Vec<String>> = settings::get(tx.ex(), "demo_newsletters").await?;
        if let Some(mut demo) = demo
            && let Some(s) = demo.iter_mut().find(|s| **s == current.slug)
        {
            *s = n.slug.to_string();
            settings::put(tx.ex(), "demo_newsletters", &demo).await?;
        }
    }
    finish(state, tx).await?;
    Ok(Ok(Some(())))
}

/// Archives a newsletter: readers no longer see it nor subscribe to it; its
/// subscriptions and issues are kept. If it was in the box under every
/// story, the box is emptied. `false` when there is no such newsletter or
/// it was archived already.
pub async fn archive(state: &AppState, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    let Some(n) = subs::by_id(tx.ex(), id).await? else {
        return Ok(false);
    };
    if !subs::archive(tx.ex(), id, state.now_micros()).await? {
        return Ok(false);
    }
    let chosen: NewsletterSettings = settings::get(tx.ex(), "newsletters")
        .await?
        .unwrap_or_default();
    if chosen.story_box == n.slug {
        let none = NewsletterSettings {
            story_box: String::new(),
        };
        settings::put(tx.ex(), "newsletters", &none).await?;
    }
    finish(state, tx).await?;
    Ok(true)
}

/// Puts a newsletter in the box under every story (`slug`), or no box
/// (empty).
pub async fn set_story_box(state: &AppState, slug: &str) -> Outcome<()> {
    let mut tx = state.db.begin().await?;
    if !slug.is_empty() {
        let found: Option<Newsletter> = subs::by_slug(tx.ex(), slug).await?;
        if found.is_none_or(|n| n.archived_at.is_some()) {
            return Ok(Err(Refused::one(
                "story_box",
                "Choose one of the newsletters readers can subscribe to, or no box.",
            )));
        }
    }
    let chosen = NewsletterSettings {
        story_box: slug.to_string(),
    };
    settings::put(tx.ex(), "newsletters", &chosen).await?;
    finish(state, tx).await?;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: Kind, on_register: bool) -> NewNewsletter<'static> {
        NewNewsletter {
            slug: "offers",
            name: "Offers",
            description: "",
            from_name: "",
            from_address: "",
            reply_to: "",
            schedule: "",
            kind,
            subscribe_on_register: on_register,
            position: 0,
        }
    }

    #[test]
    fn only_editorial_newsletters_subscribe_new_members() {
        for (kind, on_register, refused) in [
            (Kind::Editorial, true, false),
            (Kind::Editorial, false, false),
            (Kind::Offers, false, false),
            (Kind::Offers, true, true),
        ] {
            let p = problems(&def(kind, on_register));
            assert_eq!(
                p.iter().any(|(f, _)| *f == "subscribe_on_register"),
                refused,
                "{kind:?} {on_register}: {p:?}"
            );
        }
    }

    #[test]
    fn each_problem_names_its_field() {
        let n = NewNewsletter {
            slug: "",
            name: "A\r\nBcc: x@example.com",
            from_address: "not an address",
            reply_to: "r@example.com\n",
            ..def(Kind::Editorial, false)
        };
        let fields: Vec<&str> = problems(&n).iter().map(|(f, _)| *f).collect();
        for want in ["slug", "name", "from_address", "reply_to"] {
            assert!(fields.contains(&want), "{want}: {fields:?}");
        }
        assert!(!fields.contains(&"from_name"), "{fields:?}");
    }
}
