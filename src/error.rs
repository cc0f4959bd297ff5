//! One error type for every handler.
//!
//! A 4xx carries a message for the person and a stable code; a 5xx is logged
//! once, here, and answers a generic page. Internal error text never reaches a
//! browser. The response carries an [`ErrorPage`] extension and an empty body;
//! the `error_pages` middleware in `http` renders the page in the site's
//! layout (it has the templates, this type does not).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// The request was malformed; the message says what to fix.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A form without a valid CSRF token, or an action this reader may not take.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Too many attempts; the message says when to try again.
    #[error("too many requests: {0}")]
    TooMany(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What the error page shows; set on the response by [`AppError`].
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub code: &'static str,
    pub title: &'static str,
    pub message: String,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn page(&self) -> ErrorPage {
        match self {
            AppError::NotFound => ErrorPage {
                code: "not_found",
                title: "Page not found",
                message: "We could not find that page. It may have moved, or the address may be mistyped.".into(),
            },
            AppError::Forbidden(m) => ErrorPage { code: "forbidden", title: "Not allowed", message: m.clone() },
            AppError::TooMany(m) => ErrorPage { code: "too_many_requests", title: "Too many attempts", message: m.clone() },
            AppError::BadRequest(m) => ErrorPage { code: "bad_request", title: "Bad request", message: m.clone() },
            AppError::Database(_) | AppError::Internal(_) => ErrorPage {
                code: "internal",
                title: "Something went wrong",
                message: "Something went wrong on our side. Please try again in a moment.".into(),
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = status.into_response();
        res.extensions_mut().insert(self.page());
        res
    }
}

pub type AppResult<T> = Result<T, AppError>;
