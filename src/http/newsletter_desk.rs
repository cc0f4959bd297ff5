//! The newsletter desk, for editors and admins: the newsletters with their
//! audience and issues; composing an issue (subject, introduction, stories
//! picked or the top stories since the last issue); previewing it as each
//! kind of reader receives it; a test copy to oneself; scheduling or sending
//! it; and its progress while it goes out (sent, failed, waiting).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use crate::app::AppState;
use crate::db::members::SessionMember;
use crate::db::stories;
use crate::error::{AppError, AppResult};
use crate::newsletters::compose;
use crate::newsletters::issues::{self, Draft, Issue};
use crate::render::val;

use super::auth::{Visitor, check_csrf};
use super::pages::site_context;
use super::{form_fields, form_value, no_store, see_other};

pub(super) fn editor(visitor: &Visitor) -> AppResult<&SessionMember> {
    match &visitor.member {
        Some(m) if matches!(m.role.as_str(), "editor" | "admin") => Ok(m),
        Some(_) => Err(AppError::Forbidden(
            "The newsletter desk is for editors and admins.".into(),
        )),
        None => Err(AppError::Forbidden(
            "Sign in as an editor to use the newsletter desk.".into(),
        )),
    }
}

fn query(q: Option<String>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

#[derive(Serialize)]
struct NewsletterRow {
    newsletter: issues::Newsletter,
    audience: i64,
    issues: Vec<IssueRow>,
}

#[derive(Serialize)]
struct IssueRow {
    issue: Issue,
    progress: issues::Progress,
    when: String,
}

/// `GET /desk/newsletters`
pub async fn index(State(state): State<AppState>, visitor: Visitor) -> AppResult<Response> {
    editor(&visitor)?;
    let site = state.current_site().await?;
    let mut c = state.db.read().await?;
    let mut rows = Vec::new();
    for n in crate::newsletters::subscriptions::listed(c.ex()).await? {
        let audience = issues::audience(c.ex(), n.id).await?;
        let mut list = Vec::new();
        for i in issues::of_newsletter(c.ex(), n.id, 5).await? {
            let progress = issues::progress(c.ex(), i.id).await?.unwrap_or_default();
            let when = site
                .show(i.started_at.or(i.scheduled_at).unwrap_or(i.updated_at))
                .long;
            list.push(IssueRow {
                issue: i,
                progress,
                when,
            });
        }
        rows.push(NewsletterRow {
            newsletter: n,
            audience,
            issues: list,
        });
    }
    drop(c);
    let body = state
        .renderer
        .render(
            "desk/newsletters.html",
            context! {
                site => val(site_context(&state, Some(&site))),
                reader => val(visitor.view()),
                newsletters => val(rows),
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(no_store(Html(body).into_response()))
}

#[derive(Serialize)]
struct StoryChoice {
    id: i64,
    headline: String,
    section: String,
    access_level: String,
    when: String,
    picked: bool,
}

/// The stories an editor can pick from: the last 14 days' published stories,
/// and whatever the issue holds already.
async fn choices(state: &AppState, picked: &[i64]) -> AppResult<Vec<StoryChoice>> {
    let site = state.current_site().await?;
    let now = state.now_micros();
    let mut c = state.db.read().await?;
    let mut ids = issues::top_stories_since(c.ex(), now - 14 * 86_400_000_000, now, 60).await?;
    for id in picked {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    let cards = stories::cards(c.ex(), &ids, now).await?;
    let mut out: Vec<StoryChoice> = cards
        .into_iter()
        .map(|s| StoryChoice {
            picked: picked.contains(&s.id),
            id: s.id,
            headline: s.headline,
            section: s.section_name,
            access_level: s.access_level,
            when: site.show(s.published_at).long,
        })
        .collect();
    // Picked stories first, in the issue's order; then the rest as ranked.
    out.sort_by_key(|s| picked.iter().position(|p| *p == s.id).unwrap_or(usize::MAX));
    Ok(out)
}

async fn render_issue_page(
    state: &AppState,
    visitor: &Visitor,
    newsletter: &issues::Newsletter,
    issue: Option<&Issue>,
    draft: &Draft,
    error: Option<String>,
    notice: Option<String>,
) -> AppResult<Response> {
    let failed = error.is_some();
    let site = state.current_site().await?;
    let stories = choices(state, &draft.stories).await?;
    let (progress, audience) = {
        let mut c = state.db.read().await?;
        let p = match issue {
            Some(i) => issues::progress(c.ex(), i.id).await?,
            None => None,
        };
        (p, issues::audience(c.ex(), newsletter.id).await?)
    };
    let scheduled = issue
        .and_then(|i| i.scheduled_at)
        .map(|at| site.show(at).long);
    let body = state
        .renderer
        .render(
            "desk/issue.html",
            context! {
                site => val(site_context(state, Some(&site))),
                reader => val(visitor.view()),
                newsletter => val(newsletter),
                issue => val(issue),
                draft => context! { subject => draft.subject.clone(), intro => draft.intro.clone() },
                stories => val(stories),
                progress => val(progress),
                audience, scheduled, error, notice,
                time_zone => site.publication.time_zone.clone(),
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    let status = if failed {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok(no_store((status, Html(body)).into_response()))
}

async fn newsletter_or_404(state: &AppState, id: i64) -> AppResult<issues::Newsletter> {
    let mut c = state.db.read().await?;
    crate::newsletters::subscriptions::by_id(c.ex(), id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn issue_or_404(state: &AppState, id: i64) -> AppResult<(Issue, issues::Newsletter)> {
    let mut c = state.db.read().await?;
    let issue = issues::find(c.ex(), id).await?.ok_or(AppError::NotFound)?;
    let n = crate::newsletters::subscriptions::by_id(c.ex(), issue.newsletter_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((issue, n))
}

/// `GET /desk/newsletters/{id}/new`
pub async fn new_issue(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    editor(&visitor)?;
    let n = newsletter_or_404(&state, id).await?;
    render_issue_page(&state, &visitor, &n, None, &Draft::default(), None, None).await
}

/// The draft a form describes; with `top` set, the most-read stories since
/// the newsletter's last issue are added after the picked ones.
async fn draft_from(
    state: &AppState,
    newsletter: i64,
    f: &HashMap<String, Vec<String>>,
) -> AppResult<Draft> {
    let mut stories: Vec<i64> = f
        .get("stories")
        .map(|v| v.iter().filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_default();
    if form_value(f, "top") == "1" {
        let now = state.now_micros();
        let mut c = state.db.read().await?;
        let since = issues::last_sent_at(c.ex(), newsletter)
            .await?
            .unwrap_or(now - 7 * 86_400_000_000);
        let want: i64 = form_value(f, "top_count").parse().unwrap_or(5).clamp(1, 20);
        for id in issues::top_stories_since(c.ex(), since, now, want).await? {
            if !stories.contains(&id) {
                stories.push(id);
            }
        }
    }
    Ok(Draft {
        subject: form_value(f, "subject").to_string(),
        intro: form_value(f, "intro").replace("\r\n", "\n"),
        stories,
    })
}

/// `POST /desk/newsletters/{id}/new`: saves the draft.
pub async fn create_issue(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let member = editor(&visitor)?.clone();
    let f = form_fields(&body);
    check_csrf(&state, &visitor, form_value(&f, "csrf"))?;
    let n = newsletter_or_404(&state, id).await?;
    let mut draft = draft_from(&state, id, &f).await?;
    if let Err(e) = draft.check() {
        return render_issue_page(
            &state,
            &visitor,
            &n,
            None,
            &draft,
            Some(e.to_string()),
            None,
        )
        .await;
    }
    let mut c = state.db.write().await?;
    let issue = issues::create(c.ex(), id, &draft, Some(member.id), state.now_micros()).await?;
    Ok(see_other(&format!("/desk/issues/{issue}?done=saved")))
}

/// `GET /desk/issues/{id}`
pub async fn issue(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    editor(&visitor)?;
    let (issue, n) = issue_or_404(&state, id).await?;
    let draft = Draft {
        subject: issue.subject.clone(),
        intro: issue.intro.clone(),
        stories: issue.stories(),
    };
    let notice = query(q).get("done").cloned();
    render_issue_page(&state, &visitor, &n, Some(&issue), &draft, None, notice).await
}

/// Reads `YYYY-MM-DDTHH:MM` (a `datetime-local` field) in the publication's
/// time zone.
fn parse_local(s: &str, tz: &jiff::tz::TimeZone) -> Option<i64> {
    let dt: jiff::civil::DateTime = s.trim().parse().ok()?;
    let zoned = tz.to_ambiguous_zoned_datetime(dt).compatible().ok()?;
    Some(zoned.timestamp().as_microsecond())
}

/// `POST /desk/issues/{id}`: `action` is save, test, schedule, unschedule,
/// send or cancel.
pub async fn act(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let member = editor(&visitor)?.clone();
    let f = form_fields(&body);
    check_csrf(&state, &visitor, form_value(&f, "csrf"))?;
    let (issue, n) = issue_or_404(&state, id).await?;
    let now = state.now_micros();
    let back = |done: &str| see_other(&format!("/desk/issues/{id}?done={done}"));
    let refuse = |words: &str| {
        let draft = Draft {
            subject: issue.subject.clone(),
            intro: issue.intro.clone(),
            stories: issue.stories(),
        };
        (draft, Some(words.to_string()))
    };
    match form_value(&f, "action") {
        "save" => {
            let mut draft = draft_from(&state, n.id, &f).await?;
            if let Err(e) = draft.check() {
                return render_issue_page(
                    &state,
                    &visitor,
                    &n,
                    Some(&issue),
                    &draft,
                    Some(e.to_string()),
                    None,
                )
                .await;
            }
            let mut c = state.db.write().await?;
            if issues::update(c.ex(), id, &draft, now).await? {
                Ok(back("saved"))
            } else {
                drop(c);
                let (d, e) =
                    refuse("This issue has started going out and can no longer be changed.");
                render_issue_page(&state, &visitor, &n, Some(&issue), &d, e, None).await
            }
        }
        "test" => {
            let reader = crate::newsletters::cli::parse_reader(form_value(&f, "as"))
                .unwrap_or(crate::domain::access::Reader::Subscriber);
            compose::send_test(&state, id, &member.email, reader)
                .await
                .map_err(AppError::Internal)?;
            Ok(back("test_sent"))
        }
        "schedule" => {
            let site = state.current_site().await?;
            match parse_local(form_value(&f, "at"), &site.tz) {
                Some(at) if at > now => {
                    let mut c = state.db.write().await?;
                    issues::schedule(c.ex(), id, at, now).await?;
                    Ok(back("scheduled"))
                }
                Some(_) => {
                    let (d, e) = refuse("Choose a time in the future, or send it now.");
                    render_issue_page(&state, &visitor, &n, Some(&issue), &d, e, None).await
                }
                None => {
                    let (d, e) = refuse("Give the day and time to send it.");
                    render_issue_page(&state, &visitor, &n, Some(&issue), &d, e, None).await
                }
            }
        }
        "unschedule" => {
            let mut c = state.db.write().await?;
            issues::unschedule(c.ex(), id, now).await?;
            Ok(back("unscheduled"))
        }
        "send" => {
            let mut c = state.db.write().await?;
            // A second click (or another editor) finds it started: no second send.
            let started = issues::start(c.ex(), id, now).await?;
            drop(c);
            crate::mail::worker::wake();
            Ok(back(if started {
                "sending"
            } else {
                "already_started"
            }))
        }
        "cancel" => {
            let mut c = state.db.write().await?;
            issues::cancel(c.ex(), id, now).await?;
            Ok(back("cancelled"))
        }
        _ => Err(AppError::BadRequest("Unknown action.".into())),
    }
}

/// `GET /desk/issues/{id}/preview?as=reader|member|subscriber[&part=text]`:
/// the mail as that kind of reader receives it.
pub async fn preview(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
    RawQuery(q): RawQuery,
) -> AppResult<Response> {
    editor(&visitor)?;
    let q = query(q);
    let reader = crate::newsletters::cli::parse_reader(q.get("as").map_or("subscriber", |s| s))
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (_, _, r) = compose::preview(&state, id, reader)
        .await
        .map_err(AppError::Internal)?
        .ok_or(AppError::NotFound)?;
    let mut res = if q.get("part").is_some_and(|p| p == "text") {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            r.text,
        )
            .into_response()
    } else {
        Html(r.html).into_response()
    };
    // The mail's HTML is shown as it is; it may run no script here.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'",
        ),
    );
    Ok(no_store(res))
}

/// `GET /desk/issues/{id}/progress.json`
pub async fn progress(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    editor(&visitor)?;
    let mut c = state.db.read().await?;
    let p = issues::progress(c.ex(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(no_store(axum::Json(p).into_response()))
}
