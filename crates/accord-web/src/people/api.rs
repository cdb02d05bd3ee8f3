//! Organisations through the API.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiResult, ErrorBody};
use crate::json::{ApiJson, ApiQuery, path_id};
use crate::list::PageQuery;
use accord_store::{Organisation, Page, Visibility};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateOrganisation {
    #[schema(schema_with = crate::fields::name)]
    pub name: String,
}

/// Organisations in creation order: every one for the site administrator, else the caller's own
/// and the parties to the caller's relationships (a host does not show one tenant its others).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", params(PageQuery),
    responses((status = 200, body = Page<Organisation>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>, CurrentUser(user): CurrentUser, ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Organisation>>> {
    Ok(Json(state.store.list_organisations(Visibility::of(&user), q.request()?).await?))
}

/// Create an organisation (site administrators only).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", request_body = CreateOrganisation,
    responses((status = 201, body = Organisation), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>, user: CurrentUser, ApiJson(body): ApiJson<CreateOrganisation>,
) -> ApiResult<(StatusCode, Json<Organisation>)> {
    Ok((StatusCode::CREATED, Json(super::create_organisation(&state, &user, &body.name).await?)))
}

/// One organisation the caller may see (as the list shows them); 404 for any other.
#[utoipa::path(get, path = "/api/v1/organisations/{organisation_id}", tag = "organisations",
    params(("organisation_id" = String, Path)),
    responses((status = 200, body = Organisation), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, CurrentUser(user): CurrentUser, Path(id): Path<String>) -> ApiResult<Json<Organisation>> {
    Ok(Json(state.store.organisation(path_id(&id)?, Visibility::of(&user)).await?))
}
