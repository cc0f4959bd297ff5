//! Photos from the media folder and the site's static files. Both are named
//! by their content, so they are served with an immutable cache header.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::{AppError, AppResult};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

pub async fn media(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    if !crate::media::is_media_file_name(&file) {
        return Err(AppError::NotFound);
    }
    let path = state.config.media_dir().join(&file);
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::Internal(e.into())),
    };
    let mime = if file.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    Ok(res)
}

pub async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let (asset, current) = state.assets.resolve(&file).ok_or(AppError::NotFound)?;
    let mut res = asset.bytes.clone().into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&asset.mime).map_err(|e| AppError::Internal(e.into()))?,
    );
    // Only the current hash may be cached for ever; an old or missing hash
    // gets today's file, briefly cached.
    let cache = if current {
        IMMUTABLE
    } else {
        "public, max-age=300"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}
