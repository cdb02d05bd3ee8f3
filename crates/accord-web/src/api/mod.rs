//! The JSON API under `/api/v1`. Routes and their OpenAPI description are registered together
//! (utoipa-axum), so the document at `/api/openapi.json` cannot drift from the code.

mod audit;
pub mod issues;
pub mod measures;
mod members;
mod organisations;
mod relationships;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use accord_domain::id::parse_id;
use accord_store::PageRequest;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Accord API", description = "The joint record of a collaborative business relationship (ISO 44001). Authenticate with `Authorization: Bearer <personal API token>`; create one with `accord token create --email ...`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody)),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The answers every operation may give besides its own, added to the finished document so that
/// no handler has to repeat them (and none can forget one): what the extractors answer before a
/// handler runs (401 without a token, 400/413/415/422 for a body or query that cannot be read,
/// 404 for an id that is unknown or not shared with the caller) and 403 on every write.
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // Inputs read a missing field as empty (`serde(default)`); that empty value is no default
        // to document (it would call `""` the default of a boolean).
        for schema in openapi.components.iter_mut().flat_map(|c| c.schemas.values_mut()) {
            if let RefOr::T(Schema::Object(object)) = schema {
                for property in object.properties.values_mut() {
                    match property {
                        RefOr::T(Schema::Object(p)) => p.default = None,
                        RefOr::T(Schema::Array(p)) => p.default = None,
                        _ => {}
                    }
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            let ops = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for (op, write) in ops.into_iter().zip([false, true, true, true, true]).filter_map(|(op, w)| op.as_mut().map(|o| (o, w))) {
                shared_responses(op, write);
            }
        }
    }
}

fn shared_responses(op: &mut Operation, write: bool) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let (path, query, body) = (has(ParameterIn::Path), has(ParameterIn::Query), op.request_body.is_some());
    let json_body = op.request_body.as_ref().is_some_and(|b| b.content.contains_key("application/json"));
    let statuses = [
        (json_body, "400", "The body is not valid JSON."),
        (true, "401", "No token, or one that is unknown, revoked or expired."),
        (write, "403", "Not allowed to do this (the body names why)."),
        (path, "404", "Unknown, malformed, or not shared with you: the same answer on purpose."),
        (body, "413", "The body is too large."),
        (body, "415", "The body's content type is not one this operation reads."),
        (body || query, "422", "A field or parameter was refused; `fields` names each one and why."),
    ];
    for (status, description) in statuses.into_iter().filter(|(applies, ..)| *applies).map(|(_, s, d)| (s, d)) {
        op.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            ResponseBuilder::new().description(description).content("application/json", content).build().into()
        });
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    let uploads =
        OpenApiRouter::new().routes(routes!(measures::import)).layer(axum::extract::DefaultBodyLimit::max(accord_sheets::MAX_BYTES + 1024));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(uploads)
        .routes(routes!(organisations::list, organisations::create))
        .routes(routes!(organisations::get))
        .routes(routes!(relationships::list, relationships::create))
        .routes(routes!(relationships::get, relationships::update))
        .routes(routes!(relationships::parties))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::change_role, members::remove))
        .routes(routes!(members::succeed))
        .routes(routes!(audit::list))
        .routes(routes!(measures::list_objectives, measures::create_objective))
        .routes(routes!(measures::get_objective))
        .routes(routes!(measures::review_objective))
        .routes(routes!(measures::list_kpis, measures::create_kpi))
        .routes(routes!(measures::get_kpi))
        .routes(routes!(measures::add_version))
        .routes(routes!(measures::list_measurements, measures::record_measurement))
        .routes(routes!(measures::list_obligations, measures::create_obligation))
        .routes(routes!(measures::update_obligation))
        .routes(routes!(measures::list_actions, measures::create_action))
        .routes(routes!(measures::get_action, measures::update_action))
        .routes(routes!(issues::list, issues::create))
        .routes(routes!(issues::get))
        .routes(routes!(issues::comment))
        .routes(routes!(issues::propose))
        .routes(routes!(issues::respond))
        .routes(routes!(issues::escalate))
        .routes(routes!(issues::withdraw))
        .routes(routes!(issues::get_ladder, issues::put_ladder))
        .routes(routes!(issues::put_holidays))
        .routes(routes!(issues::notifications))
}

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

/// Keyset paging: `after` is the `next_cursor` of the page before.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    #[param(schema_with = crate::fields::id_cursor)]
    pub after: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn request(&self) -> ApiResult<PageRequest> {
        let after = match self.after.as_deref().filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(parse_id(a).ok_or_else(|| ApiError::invalid("after", "is not a cursor from a previous page"))?),
        };
        Ok(PageRequest { after, limit: page_limit(self.limit, 50, PageRequest::MAX)? })
    }
}

/// A list's `limit`: `default` when absent; outside 1 to `max` a 422 naming it (as documented).
pub fn page_limit(limit: Option<u32>, default: u32, max: u32) -> ApiResult<u32> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid("limit", format!("must be from 1 to {max}"))),
    }
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
