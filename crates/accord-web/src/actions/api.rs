//! The action log's API.

use super::*;
use crate::error::ErrorBody;
use crate::json::{ApiJson, ApiQuery, path_id};
use crate::list::{Items, page_limit};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_actions, create_action)).routes(routes!(get_action, update_action))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionQuery {
    /// `open` (default), `closed` or `all`.
    #[param(schema_with = crate::fields::action_filter)]
    pub status: Option<String>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The action log, by due date (overdue first).
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/actions", tag = "measures",
    params(("relationship_id" = String, Path), ActionQuery), responses((status = 200, body = Items<Action>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_actions(State(state): State<AppState>, access: Access, ApiQuery(q): ApiQuery<ActionQuery>) -> ApiResult<Items<Action>> {
    access.member()?;
    let filter = action_filter(q.status.as_deref())?;
    let limit = page_limit(q.limit, 50, 500)?;
    let mut items = state.store.actions(access.id(), filter, action_cursor(q.after.as_deref().unwrap_or(""))?, limit + 1).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|a| format!("{}_{}", a.due_date, a.id))
    } else {
        None
    };
    Ok(Items { items, next_cursor })
}

#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/actions", tag = "measures", request_body = ActionInput,
    params(("relationship_id" = String, Path)),
    responses((status = 201, body = Action), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_action(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<ActionInput>,
) -> ApiResult<(StatusCode, Json<Action>)> {
    Ok((StatusCode::CREATED, Json(super::create_action(&state, &access, &body).await?)))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/actions/{action_id}", tag = "measures",
    params(("relationship_id" = String, Path), ("action_id" = String, Path)), responses((status = 200, body = Action), (status = 404, body = ErrorBody)))]
pub async fn get_action(State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>) -> ApiResult<Json<Action>> {
    Ok(Json(action(&state, &access, path_id(&id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/relationships/{relationship_id}/actions/{action_id}", tag = "measures", request_body = ActionUpdate,
    params(("relationship_id" = String, Path), ("action_id" = String, Path)),
    responses((status = 200, body = Action), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_action(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<ActionUpdate>,
) -> ApiResult<Json<Action>> {
    let current = action(&state, &access, path_id(&id)?).await?;
    Ok(Json(super::update_action(&state, &access, &current, &body).await?))
}
