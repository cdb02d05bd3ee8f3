//! The API's readers: a JSON body, query parameters and path ids, whose problems come back as
//! our error body naming the field.

use crate::error::{ApiError, ApiResult};
use accord_domain::id::parse_id;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON body whose problems come back as our error body, naming the field where serde can.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<ApiJson<T>> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(data_error(&e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::BadRequest(format!("The body is not valid JSON: {}", e.body_text()))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::PayloadTooLarge),
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Query parameters whose problems come back as our error body, naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> ApiResult<ApiQuery<T>> {
        query(&parts.uri).map(ApiQuery)
    }
}

/// The query string of `uri` as `T`; a problem is a 422 naming the parameter.
pub fn query<T: DeserializeOwned>(uri: &axum::http::Uri) -> ApiResult<T> {
    axum::extract::Query::<T>::try_from_uri(uri).map(|axum::extract::Query(value)| value).map_err(|e| data_error(&e.body_text()))
}

/// axum reports `path: reason at line L column C`; we answer 422 naming the path's field.
fn data_error(text: &str) -> ApiError {
    let detail = text.split_once("target type: ").or_else(|| text.split_once("query string: ")).map_or(text, |(_, d)| d);
    let (path, reason) = match detail.split_once(": ") {
        Some((path, reason)) if !path.contains(' ') && path != "." => (path.to_owned(), reason),
        _ => (String::new(), detail),
    };
    let field = if path.is_empty() {
        reason.split('`').nth(1).filter(|_| reason.starts_with("missing field")).unwrap_or("body").to_owned()
    } else {
        path
    };
    let reason = reason.split(" at line ").next().unwrap_or(reason);
    ApiError::invalid(&field, reason)
}

/// Parses an id from a path; a malformed id is simply not found.
pub fn path_id(text: &str) -> ApiResult<uuid::Uuid> {
    parse_id(text).ok_or(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_errors_name_their_field() {
        let e = data_error(
            "Failed to deserialize the JSON body into the target type: parties[0]: invalid type: integer `5`, expected a string at line 1 column 20",
        );
        assert_eq!(e.body().fields[0].field, "parties[0]");
        let e = data_error("Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 2");
        assert_eq!(e.body().fields[0].field, "name");
    }
}
