//! One error type for the web layer: it decides the status code and what a person or a program
//! sees. Internal failures are logged with a reference and shown as a short apology.

use accord_domain::{FieldError, Invalid};
use accord_store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub enum ApiError {
    /// No credentials, or bad ones.
    Unauthorized,
    /// Known, but not allowed to do this.
    Forbidden(&'static str),
    /// Unknown, malformed, or not visible to the caller: indistinguishable on purpose.
    NotFound,
    /// Fields were refused.
    Invalid(Invalid),
    /// The record changed since the caller read it.
    Conflict(String),
    /// A form of this site whose CSRF token had expired: shown again to be sent again.
    Expired,
    /// The request itself could not be read.
    BadRequest(String),
    PayloadTooLarge,
    /// Over a limit on what is sent, each limit named as a field is.
    TooLarge(Invalid),
    UnsupportedMediaType,
    /// Our fault: logged, never shown.
    Internal(String),
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `unauthorized`, `forbidden`, `not_found`, `invalid`, `conflict`, ...
    pub error: &'static str,
    /// A sentence for a person.
    pub message: String,
    /// One entry per refused field (for `invalid`).
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(Invalid::one(field, message))
    }

    /// A refusal a form's page answers by showing the form again, with what was typed and why.
    pub fn refuses_form(&self) -> bool {
        matches!(self, ApiError::Invalid(_) | ApiError::Conflict(_) | ApiError::Expired)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Expired => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge | ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let (error, message, fields) = match self {
            ApiError::Unauthorized => {
                ("unauthorized", "Sign in, or send a valid API token as 'Authorization: Bearer <token>'.".into(), vec![])
            }
            ApiError::Forbidden(why) => ("forbidden", (*why).to_owned(), vec![]),
            ApiError::NotFound => ("not_found", "Nothing here: the address is wrong, or it is not shared with you.".into(), vec![]),
            ApiError::Invalid(invalid) => ("invalid", format!("Please correct: {invalid}."), invalid.0.clone()),
            ApiError::Conflict(message) => ("conflict", message.clone(), vec![]),
            ApiError::Expired => ("forbidden", crate::forms::EXPIRED.to_owned(), vec![]),
            ApiError::BadRequest(message) => ("bad_request", message.clone(), vec![]),
            ApiError::PayloadTooLarge => ("payload_too_large", "The request body is too large.".into(), vec![]),
            ApiError::TooLarge(invalid) => ("payload_too_large", format!("Too large: {invalid}."), invalid.0.clone()),
            ApiError::UnsupportedMediaType => ("unsupported_media_type", "Send JSON with 'Content-Type: application/json'.".into(), vec![]),
            ApiError::Internal(_) => ("internal", "Something went wrong on our side; it has been logged.".into(), vec![]),
        };
        ErrorBody { error, message, fields }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(_) => ApiError::NotFound,
            StoreError::Invalid(invalid) => ApiError::Invalid(invalid),
            StoreError::Forbidden(why) => ApiError::Forbidden(why),
            StoreError::Stale { .. } => ApiError::Conflict(e.to_string()),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Backend(message) => ApiError::Internal(message),
        }
    }
}

/// A stale `version` answers 409 and changes nothing; the message says what to do.
pub fn stale(e: StoreError) -> ApiError {
    match e {
        StoreError::Stale { current } => {
            ApiError::Conflict(format!("Changed by someone else since you read it (now version {current}); reload and try again."))
        }
        e => e.into(),
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> ApiError {
        ApiError::Invalid(invalid)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        (self.status(), Json(self.body())).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// An error on a page: the same decisions as [`ApiError`], answered as HTML.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError(e.into())
    }
}

#[derive(askama::Template)]
#[template(path = "layout/error.html")]
struct ErrorPage<'a> {
    shell: crate::layout::Shell,
    status: u16,
    title: &'static str,
    message: &'a str,
}

/// What an error page says. It is kept on the page's response so that `layout::frame_errors`,
/// which knows who is asking, can render it again inside their signed-in frame: the error itself
/// is often made before (or without) reading who that is.
#[derive(Debug, Clone)]
pub struct ErrorPageText {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl ErrorPageText {
    pub fn render(&self, shell: crate::layout::Shell) -> Response {
        use askama::Template;
        let page = ErrorPage { shell, status: self.status.as_u16(), title: self.title, message: &self.message };
        let html = page.render().unwrap_or_else(|_| self.title.to_owned());
        let mut response = (self.status, axum::response::Html(html)).into_response();
        response.extensions_mut().insert(self.clone());
        response
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if let ApiError::Internal(detail) = &self.0 {
            tracing::error!(%detail, "page failed");
        }
        let title = match &self.0 {
            ApiError::NotFound => "Not found",
            ApiError::Forbidden(_) | ApiError::Expired => "Not allowed",
            ApiError::Unauthorized => "Please sign in",
            ApiError::Internal(_) => "Something went wrong",
            // A stale version, a request still under way, a sealed record: the message says which.
            ApiError::Conflict(_) => "Not saved",
            _ => "That did not work",
        };
        ErrorPageText { status, title, message: self.0.body().message }.render(crate::layout::Shell::plain())
    }
}

pub type PageResult<T = Response> = Result<T, PageError>;
