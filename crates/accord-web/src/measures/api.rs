//! The measures module's API: objectives, KPIs, measurements, obligations, imports.

use super::*;
use crate::error::ErrorBody;
use crate::json::{ApiJson, ApiQuery, path_id};
use crate::list::{Items, page_limit};
use crate::sheets::{check_sheet, refused};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Imports carry a whole file, so their route takes a larger body.
pub fn uploads() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import)).layer(axum::extract::DefaultBodyLimit::max(accord_sheets::MAX_BYTES + 1024))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_objectives, create_objective))
        .routes(routes!(get_objective))
        .routes(routes!(review_objective))
        .routes(routes!(list_kpis, create_kpi))
        .routes(routes!(get_kpi))
        .routes(routes!(add_version))
        .routes(routes!(list_measurements, record_measurement))
        .routes(routes!(retract_measurement))
        .routes(routes!(list_obligations, create_obligation))
        .routes(routes!(update_obligation))
}

#[derive(Serialize, ToSchema)]
pub struct ObjectiveView {
    #[serde(flatten)]
    pub objective: Objective,
    /// Relevance reviews, newest first, with the wording each replaced.
    pub reviews: Vec<ObjectiveReviewRecord>,
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/objectives", tag = "measures",
    params(("relationship_id" = String, Path)), responses((status = 200, body = Items<Objective>), (status = 404, body = ErrorBody)))]
pub async fn list_objectives(State(state): State<AppState>, access: Access) -> ApiResult<Items<Objective>> {
    access.member()?;
    Ok(Items::all(state.store.objectives(access.id()).await?))
}

#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/objectives", tag = "measures", request_body = ObjectiveInput,
    params(("relationship_id" = String, Path)),
    responses((status = 201, body = Objective), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_objective(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<ObjectiveInput>,
) -> ApiResult<(StatusCode, Json<Objective>)> {
    Ok((StatusCode::CREATED, Json(super::create_objective(&state, &access, &body).await?)))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/objectives/{objective_id}", tag = "measures",
    params(("relationship_id" = String, Path), ("objective_id" = String, Path)), responses((status = 200, body = ObjectiveView), (status = 404, body = ErrorBody)))]
pub async fn get_objective(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<ObjectiveView>> {
    let (objective, reviews) = objective(&state, &access, path_id(&id)?).await?;
    Ok(Json(ObjectiveView { objective, reviews }))
}

/// Record a relevance review: still relevant, revised (new wording; the old is kept), or retired.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/objectives/{objective_id}/reviews", tag = "measures", request_body = ReviewInput,
    params(("relationship_id" = String, Path), ("objective_id" = String, Path)),
    responses((status = 200, body = Objective), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn review_objective(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<ReviewInput>,
) -> ApiResult<Json<Objective>> {
    access.manager()?;
    let objective = state.store.objective(access.id(), path_id(&id)?).await?;
    Ok(Json(super::review_objective(&state, &access, &objective, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/kpis", tag = "measures",
    params(("relationship_id" = String, Path)), responses((status = 200, body = Items<Kpi>), (status = 404, body = ErrorBody)))]
pub async fn list_kpis(State(state): State<AppState>, access: Access) -> ApiResult<Items<Kpi>> {
    access.member()?;
    Ok(Items::all(state.store.kpis(access.id()).await?))
}

#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/kpis", tag = "measures", request_body = KpiInput,
    params(("relationship_id" = String, Path)),
    responses((status = 201, body = Kpi), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_kpi(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<KpiInput>,
) -> ApiResult<(StatusCode, Json<Kpi>)> {
    Ok((StatusCode::CREATED, Json(super::create_kpi(&state, &access, &body).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct KpiView {
    #[serde(flatten)]
    pub kpi: Kpi,
    /// Threshold versions, oldest first.
    pub versions: Vec<KpiVersion>,
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}", tag = "measures",
    params(("relationship_id" = String, Path), ("kpi_id" = String, Path)), responses((status = 200, body = KpiView), (status = 404, body = ErrorBody)))]
pub async fn get_kpi(State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>) -> ApiResult<Json<KpiView>> {
    access.member()?;
    let kpi = state.store.kpi(access.id(), path_id(&id)?).await?;
    Ok(Json(KpiView { versions: state.store.kpi_versions(access.id(), kpi.id).await?, kpi }))
}

/// New thresholds from a later period; earlier periods keep the RAG they had.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/versions", tag = "measures", request_body = VersionInput,
    params(("relationship_id" = String, Path), ("kpi_id" = String, Path)),
    responses((status = 200, body = Kpi), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_version(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<VersionInput>,
) -> ApiResult<Json<Kpi>> {
    access.manager()?;
    let kpi = state.store.kpi(access.id(), path_id(&id)?).await?;
    Ok(Json(add_kpi_version(&state, &access, &kpi, &body).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeasurementQuery {
    /// The KPI whose values to list.
    #[param(format = Uuid)]
    pub kpi_id: String,
    /// The `next_cursor` of the previous page (a period's first day).
    #[param(schema_with = crate::fields::date_cursor)]
    pub after: Option<String>,
    /// 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A KPI's current values, newest period first.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/measurements", tag = "measures",
    params(("relationship_id" = String, Path), MeasurementQuery), responses((status = 200, body = Items<Measurement>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_measurements(
    State(state): State<AppState>, access: Access, ApiQuery(q): ApiQuery<MeasurementQuery>,
) -> ApiResult<Items<Measurement>> {
    access.member()?;
    let kpi = state
        .store
        .kpi(access.id(), path_id(&q.kpi_id).map_err(|_| ApiError::invalid("kpi_id", "is not a KPI of this relationship"))?)
        .await?;
    let before = match q.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(accord_domain::relationship::parse_date(a).map_err(|m| ApiError::invalid("after", m))?),
        None => None,
    };
    let limit = page_limit(q.limit, 100, 500)?;
    let mut items = state.store.measurements(access.id(), kpi.id, before, limit + 1).await?;
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items.last().map(|m| m.period_start.to_string())
    });
    Ok(Items { items, next_cursor: next_cursor.flatten() })
}

/// Record or correct a value; its RAG is computed now under the thresholds in force for the period.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/measurements", tag = "measures", request_body = MeasurementBody,
    params(("relationship_id" = String, Path)),
    responses((status = 201, body = Measurement), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn record_measurement(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<MeasurementBody>,
) -> ApiResult<(StatusCode, Json<Measurement>)> {
    let kpi_id = path_id(&body.kpi_id).map_err(|_| ApiError::invalid("kpi_id", "is not a KPI of this relationship"))?;
    let kpi = state.store.kpi(access.id(), kpi_id).await.map_err(|e| match e {
        StoreError::NotFound(_) => ApiError::invalid("kpi_id", "is not a KPI of this relationship"),
        e => e.into(),
    })?;
    Ok((StatusCode::CREATED, Json(super::record_measurement(&state, &access, &kpi, &body).await?)))
}

/// Retract a value recorded by mistake, giving a reason. It stays in the period's history, marked
/// retracted (by whom, when, why); the scorecard, the chart and the KPI's status no longer use it,
/// and the period shows as missing until a value is recorded again. Only a period's current
/// value is retracted: one retracted already, or corrected since, is refused (422).
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract", tag = "measures",
    request_body = RetractInput,
    params(("relationship_id" = String, Path), ("kpi_id" = String, Path), ("measurement_id" = String, Path)),
    responses((status = 200, body = Measurement), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn retract_measurement(
    State(state): State<AppState>, access: Access, Path((_, kpi_id, measurement_id)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<RetractInput>,
) -> ApiResult<Json<Measurement>> {
    access.member()?;
    let kpi = state.store.kpi(access.id(), path_id(&kpi_id)?).await?;
    Ok(Json(super::retract_measurement(&state, &access, &kpi, path_id(&measurement_id)?, &body).await?))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/obligations", tag = "measures",
    params(("relationship_id" = String, Path)), responses((status = 200, body = Items<Obligation>), (status = 404, body = ErrorBody)))]
pub async fn list_obligations(State(state): State<AppState>, access: Access) -> ApiResult<Items<Obligation>> {
    access.member()?;
    Ok(Items::all(state.store.obligations(access.id()).await?))
}

#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/obligations", tag = "measures", request_body = ObligationInput,
    params(("relationship_id" = String, Path)),
    responses((status = 201, body = Obligation), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_obligation(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<ObligationInput>,
) -> ApiResult<(StatusCode, Json<Obligation>)> {
    Ok((StatusCode::CREATED, Json(super::create_obligation(&state, &access, &body).await?)))
}

#[utoipa::path(patch, path = "/api/v1/relationships/{relationship_id}/obligations/{obligation_id}", tag = "measures", request_body = ObligationUpdate,
    params(("relationship_id" = String, Path), ("obligation_id" = String, Path)),
    responses((status = 200, body = Obligation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_obligation(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<ObligationUpdate>,
) -> ApiResult<Json<Obligation>> {
    let current = obligation(&state, &access, path_id(&id)?).await?;
    Ok(Json(super::update_obligation(&state, &access, &current, &body).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true` checks the file and reports what it would change, writing nothing.
    pub dry_run: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub rows: usize,
    pub file_sha256: String,
    pub applied: bool,
    #[serde(flatten)]
    pub summary: ImportSummary,
}

/// Import measurements from a CSV (`Content-Type: text/csv`) or XLSX body: columns KPI, period,
/// value, comment. All rows or none. A refused file lists its first 100 problems as fields
/// `row N, COLUMN` (`file` for the whole file; one more counts the rest): 413 when it is over a
/// limit on its size (`accord_sheets::MAX_BYTES`, rows, cells, what an XLSX unpacks to), 422 for
/// anything else, a row too wide or a cell too long included.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/measurements/import", tag = "measures",
    params(("relationship_id" = String, Path), ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The file; XLSX with its own content type",
        example = json!("KPI,period,value,comment\nBerth availability,2026-02,97.5,from the berth log\n")),
    responses((status = 200, body = ImportResult), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>, access: Access, ApiQuery(q): ApiQuery<ImportQuery>, headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Json<ImportResult>> {
    let me = access.manager()?.clone();
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = format!("at most {} MiB can be imported at once: split it", accord_sheets::MAX_BYTES >> 20);
            return Err(ApiError::TooLarge(accord_domain::Invalid::one("file", limit)));
        }
        Err(e) => return Err(ApiError::BadRequest(format!("The body could not be read: {}", e.body_text()))),
    };
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = if content_type.starts_with("text/csv") {
        accord_sheets::Format::Csv
    } else if content_type.starts_with(accord_sheets::Format::Xlsx.content_type()) {
        accord_sheets::Format::Xlsx
    } else {
        return Err(ApiError::UnsupportedMediaType);
    };
    let sha = accord_sheets::sha256(&body);
    let kpis = state.store.kpis(access.id()).await?;
    let (rows, _) = check_sheet(kpis, crate::dates::recordable(&state, &access.relationship), format, body).await.map_err(refused)?;
    let count = rows.len();
    if q.dry_run.unwrap_or(false) {
        let summary = super::sheets::preview_summary(&state, access.id(), &rows).await?;
        return Ok(Json(ImportResult { rows: count, file_sha256: sha, applied: false, summary }));
    }
    let summary = state.store.import_measurements(access.id(), rows, &sha, Some(me.user_id), state.now()).await?;
    Ok(Json(ImportResult { rows: count, file_sha256: sha, applied: true, summary }))
}
