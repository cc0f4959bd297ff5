//! Old addresses of imported stories (a WordPress site's, say) answer 301
//! to the stories' addresses here: looked up only when nothing else
//! answered the path (a 404), so the live routes cost nothing more.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::db::{imports, stories};
use crate::domain::slug::story_path;

pub async fn old_addresses(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let wanted = (req.method() == Method::GET || req.method() == Method::HEAD)
        .then(|| imports::old_path(req.uri().path()))
        .flatten();
    let res = next.run(req).await;
    if res.status() != StatusCode::NOT_FOUND {
        return res;
    }
    let Some(path) = wanted else {
        return res;
    };
    match moved_to(&state, &path).await {
        Some(to) => {
            let mut moved = StatusCode::MOVED_PERMANENTLY.into_response();
            if let Ok(v) = HeaderValue::from_str(&to) {
                moved.headers_mut().insert(header::LOCATION, v);
            }
            moved
        }
        None => res,
    }
}

async fn moved_to(state: &AppState, path: &str) -> Option<String> {
    let mut conn = state.db.read().await.ok()?;
    let id = imports::redirect_of(conn.ex(), path).await.ok()??;
    let s = stories::find(conn.ex(), id).await.ok()??;
    Some(story_path(&s.section_slug, &s.slug, s.id))
}
