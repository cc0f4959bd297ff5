//! Defining newsletters on the newsletter desk, for editors and admins: a
//! new newsletter, editing one, archiving it, and the choice of the one in
//! the box under every story. The checks and writes are
//! `crate::newsletters::define`, shared with `masthead newsletter`.
//!
//! - `GET/POST /desk/newsletters/new`
//! - `GET/POST /desk/newsletters/{id}/edit`
//! - `POST /desk/newsletters/{id}/archive` (the form asks to confirm)
//! - `GET/POST /desk/newsletters/story-box`
//!
//! A form with problems comes back with what was typed and the words next to
//! each field, answering 422.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::newsletters::define::{self, Refused};
use crate::newsletters::subscriptions::{self as subs, Kind, NewNewsletter, Newsletter};
use crate::render::val;

use super::auth::{Visitor, check_csrf};
use super::newsletter_desk::editor;
use super::pages::site_context;
use super::{no_store, see_other};

fn form(body: &[u8]) -> HashMap<String, String> {
    // One value a field: the first one given.
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

fn done(q: Option<String>) -> Option<String> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "done")
        .map(|(_, v)| v.into_owned())
}

/// The fields as typed (or as stored), for the form.
#[derive(Clone, Debug, Default, Serialize)]
struct Fields {
    slug: String,
    name: String,
    description: String,
    from_name: String,
    from_address: String,
    reply_to: String,
    schedule: String,
    kind: String,
    subscribe_on_register: bool,
    position: String,
}

impl Fields {
    fn of(n: &Newsletter) -> Fields {
        Fields {
            slug: n.slug.clone(),
            name: n.name.clone(),
            description: n.description.clone(),
            from_name: n.from_name.clone(),
            from_address: n.from_address.clone(),
            reply_to: n.reply_to.clone(),
            schedule: n.schedule.clone(),
            kind: n.kind.clone(),
            subscribe_on_register: n.subscribe_on_register,
            position: n.position.to_string(),
        }
    }

    /// What the form sent. The kind of an existing newsletter is not read
    /// from the form: it is fixed.
    fn typed(f: &HashMap<String, String>, existing: Option<&Newsletter>) -> Fields {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        Fields {
            slug: get("slug").trim().to_string(),
            name: get("name"),
            description: get("description").replace("\r\n", "\n"),
            from_name: get("from_name"),
            from_address: get("from_address").trim().to_string(),
            reply_to: get("reply_to").trim().to_string(),
            schedule: get("schedule"),
            kind: existing.map_or_else(|| get("kind"), |n| n.kind.clone()),
            subscribe_on_register: get("subscribe_on_register") == "1",
            position: get("position").trim().to_string(),
        }
    }

    /// The definition, or the problems of the fields that are not even
    /// parseable (kind, position).
    fn definition(&self) -> Result<NewNewsletter<'_>, Refused> {
        let mut problems = Vec::new();
        let kind = Kind::parse(&self.kind);
        if kind.is_none() {
            problems.push((
                "kind",
                "Choose editorial (news for subscribers) or offers (only for readers who \
                 agreed to offers)."
                    .to_string(),
            ));
        }
        let position = if self.position.is_empty() {
            Some(0)
        } else {
            self.position.parse::<i64>().ok()
        };
        if position.is_none() {
            problems.push((
                "position",
                "The position is a whole number (lower comes first).".to_string(),
            ));
        }
        let n = NewNewsletter {
            slug: &self.slug,
            name: &self.name,
            description: &self.description,
            from_name: &self.from_name,
            from_address: &self.from_address,
            reply_to: &self.reply_to,
            schedule: &self.schedule,
            kind: kind.unwrap_or(Kind::Editorial),
            subscribe_on_register: self.subscribe_on_register,
            position: position.unwrap_or(0),
        };
        if problems.is_empty() {
            Ok(n)
        } else {
            // Report the other fields' problems too, in one go.
            problems.extend(define::problems(&n));
            Err(Refused(problems))
        }
    }
}

fn by_field(r: &Refused) -> HashMap<&'static str, String> {
    let mut out: HashMap<&'static str, String> = HashMap::new();
    for (field, words) in &r.0 {
        let e = out.entry(field).or_default();
        if !e.is_empty() {
            e.push(' ');
        }
        e.push_str(words);
    }
    out
}

async fn render_form(
    state: &AppState,
    visitor: &Visitor,
    existing: Option<&Newsletter>,
    fields: &Fields,
    refused: Option<&Refused>,
    notice: Option<String>,
) -> AppResult<Response> {
    let site = state.current_site().await?;
    let story_box = define::story_box(state).await?;
    let in_box = existing.is_some_and(|n| n.slug == story_box && n.archived_at.is_none());
    let archived = existing
        .and_then(|n| n.archived_at)
        .map(|at| site.show(at).long);
    let errors = refused.map(by_field).unwrap_or_default();
    let body = state
        .renderer
        .render(
            "desk/newsletter_form.html",
            context! {
                site => val(site_context(state, Some(&site))),
                reader => val(visitor.view()),
                newsletter => val(existing),
                f => val(fields),
                errors => val(errors),
                in_box, archived, notice,
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(no_store((status, Html(body)).into_response()))
}

async fn newsletter_or_404(state: &AppState, id: i64) -> AppResult<Newsletter> {
    let mut c = state.db.read().await?;
    subs::by_id(c.ex(), id).await?.ok_or(AppError::NotFound)
}

/// `GET /desk/newsletters/new`
pub async fn new_form(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    editor(&visitor)?;
    let fields = Fields {
        kind: Kind::Editorial.as_str().into(),
        position: define::next_position(&state).await?.to_string(),
        ..Fields::default()
    };
    render_form(&state, &visitor, None, &fields, None, None).await
}

/// `POST /desk/newsletters/new`
pub async fn create(
    State(state): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> AppResult<Response> {
    editor(&visitor)?;
    let f = form(&body);
    check_csrf(&state, &visitor, f.get("csrf").map_or("", String::as_str))?;
    let fields = Fields::typed(&f, None);
    let outcome = match fields.definition() {
        Ok(n) => define::create(&state, &n).await?,
        Err(r) => Err(r),
    };
    match outcome {
        Ok(id) => Ok(see_other(&format!(
            "/desk/newsletters/{id}/edit?done=created"
        ))),
        Err(r) => render_form(&state, &visitor, None, &fields, Some(&r), None).await,
    }
}

/// `GET /desk/newsletters/{id}/edit`
pub async fn edit_form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    editor(&visitor)?;
    let n = newsletter_or_404(&state, id).await?;
    render_form(&state, &visitor, Some(&n), &Fields::of(&n), None, done(q)).await
}

/// `POST /desk/newsletters/{id}/edit`
pub async fn edit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    editor(&visitor)?;
    let f = form(&body);
    check_csrf(&state, &visitor, f.get("csrf").map_or("", String::as_str))?;
    let n = newsletter_or_404(&state, id).await?;
    let fields = Fields::typed(&f, Some(&n));
    let outcome = match fields.definition() {
        Ok(def) => define::update(&state, id, &def).await?,
        Err(r) => Err(r),
    };
    match outcome {
        Ok(Some(())) => Ok(see_other(&format!(
            "/desk/newsletters/{id}/edit?done=saved"
        ))),
        Ok(None) => Err(AppError::NotFound),
        Err(r) => render_form(&state, &visitor, Some(&n), &fields, Some(&r), None).await,
    }
}

/// `POST /desk/newsletters/{id}/archive`: needs `confirm=yes` (the box the
/// form asks to tick), so a stray click archives nothing.
pub async fn archive(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    editor(&visitor)?;
    let f = form(&body);
    check_csrf(&state, &visitor, f.get("csrf").map_or("", String::as_str))?;
    let n = newsletter_or_404(&state, id).await?;
    if f.get("confirm").map(String::as_str) != Some("yes") {
        let r = Refused(vec![(
            "confirm",
            "Tick the box to confirm that readers should no longer see this newsletter."
                .to_string(),
        )]);
        return render_form(&state, &visitor, Some(&n), &Fields::of(&n), Some(&r), None).await;
    }
    define::archive(&state, id).await?;
    Ok(see_other(&format!(
        "/desk/newsletters/{id}/edit?done=archived"
    )))
}

#[derive(Serialize)]
struct Choice {
    slug: String,
    name: String,
    kind: String,
}

async fn render_story_box(
    state: &AppState,
    visitor: &Visitor,
    refused: Option<&Refused>,
    notice: Option<String>,
) -> AppResult<Response> {
    let site = state.current_site().await?;
    let chosen = define::story_box(state).await?;
    let list: Vec<Choice> = {
        let mut c = state.db.read().await?;
        subs::listed(c.ex())
            .await?
            .into_iter()
            .map(|n| Choice {
                slug: n.slug,
                name: n.name,
                kind: n.kind,
            })
            .collect()
    };
    // A setting that names a newsletter readers cannot see shows no box.
    let shown = if list.iter().any(|c| c.slug == chosen) {
        chosen
    } else {
        String::new()
    };
    let errors = refused.map(by_field).unwrap_or_default();
    let body = state
        .renderer
        .render(
            "desk/newsletter_story_box.html",
            context! {
                site => val(site_context(state, Some(&site))),
                reader => val(visitor.view()),
                newsletters => val(list),
                chosen => shown,
                errors => val(errors),
                notice,
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(no_store((status, Html(body)).into_response()))
}

/// `GET /desk/newsletters/story-box`
pub async fn story_box_form(
    State(state): State<AppState>,
    visitor: Visitor,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    editor(&visitor)?;
    render_story_box(&state, &visitor, None, done(q)).await
}

/// `POST /desk/newsletters/story-box`: `story_box` is a slug, or empty for
/// no box.
pub async fn story_box(
    State(state): State<AppState>,
    visitor: Visitor,
    body: Bytes,
) -> AppResult<Response> {
    editor(&visitor)?;
    let f = form(&body);
    check_csrf(&state, &visitor, f.get("csrf").map_or("", String::as_str))?;
    let slug = f.get("story_box").map_or("", |s| s.trim());
    match define::set_story_box(&state, slug).await? {
        Ok(()) => Ok(see_other("/desk/newsletters/story-box?done=saved")),
        Err(r) => render_story_box(&state, &visitor, Some(&r), None).await,
    }
}
