//! The reviews' API: series, meetings, one operation for every change to a meeting, the
//! record's content, and a party's interventions.

use super::*;
use crate::error::ErrorBody;
use crate::json::{ApiJson, path_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_series, create_series))
        .routes(routes!(get_series, update_series))
        .routes(routes!(list_meetings, schedule_meeting))
        .routes(routes!(get_meeting))
        .routes(routes!(change_meeting))
        .routes(routes!(get_record))
        .routes(routes!(list_interventions))
}

/// Every review series, each with its last held and next scheduled meeting.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/reviews", tag = "reviews",
    params(("relationship_id" = String, Path)), responses((status = 200, body = Vec<SeriesLine>), (status = 404, body = ErrorBody)))]
pub async fn list_series(State(state): State<AppState>, access: Access) -> ApiResult<Json<Vec<SeriesLine>>> {
    Ok(Json(super::series_list(&state, &access).await?))
}

#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/reviews", tag = "reviews", request_body = SeriesForm,
    params(("relationship_id" = String, Path)),
    responses((status = 201, body = Series), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_series(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<SeriesForm>,
) -> ApiResult<(StatusCode, Json<Series>)> {
    Ok((StatusCode::CREATED, Json(super::create_series(&state, &access, &body).await?)))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/reviews/{series_id}", tag = "reviews",
    params(("relationship_id" = String, Path), ("series_id" = String, Path)), responses((status = 200, body = Series), (status = 404, body = ErrorBody)))]
pub async fn get_series(State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>) -> ApiResult<Json<Series>> {
    Ok(Json(super::series(&state, &access, path_id(&id)?).await?))
}

/// Changes a series at the version read (every field as when created).
#[utoipa::path(put, path = "/api/v1/relationships/{relationship_id}/reviews/{series_id}", tag = "reviews", request_body = SeriesForm,
    params(("relationship_id" = String, Path), ("series_id" = String, Path)),
    responses((status = 200, body = Series), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_series(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<SeriesForm>,
) -> ApiResult<Json<Series>> {
    Ok(Json(super::update_series(&state, &access, path_id(&id)?, &body).await?))
}

/// A series' meetings, latest first (at most 100).
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/reviews/{series_id}/meetings", tag = "reviews",
    params(("relationship_id" = String, Path), ("series_id" = String, Path)), responses((status = 200, body = Vec<MeetingLine>), (status = 404, body = ErrorBody)))]
pub async fn list_meetings(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<MeetingLine>>> {
    let series = super::series(&state, &access, path_id(&id)?).await?;
    Ok(Json(state.store.meetings(access.id(), series.id, None, 100).await?))
}

#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/reviews/{series_id}/meetings", tag = "reviews", request_body = MeetingForm,
    params(("relationship_id" = String, Path), ("series_id" = String, Path)),
    responses((status = 201, body = Meeting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn schedule_meeting(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<MeetingForm>,
) -> ApiResult<(StatusCode, Json<Meeting>)> {
    Ok((StatusCode::CREATED, Json(super::schedule_meeting(&state, &access, path_id(&id)?, &body).await?)))
}

/// A meeting with its agenda (each item's data as built, frozen once minuting starts) and minutes.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}", tag = "reviews",
    params(("relationship_id" = String, Path), ("meeting_id" = String, Path)), responses((status = 200, body = Meeting), (status = 404, body = ErrorBody)))]
pub async fn get_meeting(State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>) -> ApiResult<Json<Meeting>> {
    Ok(Json(super::meeting(&state, &access, path_id(&id)?).await?))
}

/// Every change to a meeting, its agenda and its minutes, at the version read (`change` says which).
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}/changes", tag = "reviews", request_body = MeetingChange,
    params(("relationship_id" = String, Path), ("meeting_id" = String, Path)),
    responses((status = 200, body = Meeting), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_meeting(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<MeetingChange>,
) -> ApiResult<Json<Meeting>> {
    Ok(Json(super::change_meeting(&state, &access, path_id(&id)?, &body).await?))
}

/// The meeting's record: what each party's chair signs, in the order a reader expects.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/meetings/{meeting_id}/record", tag = "reviews",
    params(("relationship_id" = String, Path), ("meeting_id" = String, Path)), responses((status = 200, body = Object), (status = 404, body = ErrorBody)))]
pub async fn get_record(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(super::record(&state, &access, path_id(&id)?).await?))
}

/// The SER interventions recorded about a party, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/parties/{party_id}/interventions", tag = "reviews",
    params(("relationship_id" = String, Path), ("party_id" = String, Path)), responses((status = 200, body = Vec<Intervention>), (status = 404, body = ErrorBody)))]
pub async fn list_interventions(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Intervention>>> {
    Ok(Json(super::interventions(&state, &access, path_id(&id)?).await?))
}
