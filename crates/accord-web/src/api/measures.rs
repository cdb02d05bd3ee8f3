//! The measures module's API: objectives, KPIs, measurements, obligations, actions.

use super::{ApiJson, ApiQuery, path_id};
use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::measures::*;
use accord_domain::measure::Period;
use accord_store::*;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A list with keyset paging: pass `next_cursor` as `after` for the next page.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Items<T> {
    pub fn all(items: Vec<T>) -> Items<T> {
        Items { items, next_cursor: None }
    }
}

/// Answered as JSON written into a buffer sized for the list: through `Json`, a page of fifty
/// issues grew its buffer from 128 bytes, copying it a dozen times.
impl<T: Serialize> axum::response::IntoResponse for Items<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(1024 * (self.items.len() + 1));
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => ApiError::Internal(format!("cannot write the list: {e}")).into_response(),
        }
    }
}

/// A stale `version` answers 409 and changes nothing.
fn stale(e: StoreError) -> ApiError {
    match e {
        StoreError::Stale { current } => {
            ApiError::Conflict(format!("Changed by someone else since you read it (now version {current}); reload and try again."))
        }
        e => e.into(),
    }
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
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<ObjectiveInput>,
) -> ApiResult<(StatusCode, Json<Objective>)> {
    let me = access.manager()?.clone();
    let parties = known(&state, access.id()).await?.parties;
    let new = body.parse(access.id(), &parties, today(&state, &access.relationship))?;
    Ok((StatusCode::CREATED, Json(state.store.create_objective(new, me.user_id, state.now()).await?)))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/objectives/{objective_id}", tag = "measures",
    params(("relationship_id" = String, Path), ("objective_id" = String, Path)), responses((status = 200, body = ObjectiveView), (status = 404, body = ErrorBody)))]
pub async fn get_objective(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Json<ObjectiveView>> {
    access.member()?;
    let id = path_id(&id)?;
    let objective = state.store.objective(access.id(), id).await?;
    Ok(Json(ObjectiveView { reviews: state.store.objective_reviews(access.id(), id).await?, objective }))
}

/// Record a relevance review: still relevant, revised (new wording; the old is kept), or retired.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/objectives/{objective_id}/reviews", tag = "measures", request_body = ReviewInput,
    params(("relationship_id" = String, Path), ("objective_id" = String, Path)),
    responses((status = 200, body = Objective), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn review_objective(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ReviewInput>,
) -> ApiResult<Json<Objective>> {
    let me = access.manager()?.clone();
    let objective = state.store.objective(access.id(), path_id(&id)?).await?;
    let (review, version) = body.parse(&objective, today(&state, &access.relationship))?;
    Ok(Json(state.store.review_objective(access.id(), objective.id, review, version, me.user_id, state.now()).await.map_err(stale)?))
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
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<KpiInput>,
) -> ApiResult<(StatusCode, Json<Kpi>)> {
    let me = access.manager()?.clone();
    let new = body.parse(access.id(), &known(&state, access.id()).await?, today(&state, &access.relationship))?;
    Ok((StatusCode::CREATED, Json(state.store.create_kpi(new, me.user_id, state.now()).await?)))
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
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<VersionInput>,
) -> ApiResult<Json<Kpi>> {
    let me = access.manager()?.clone();
    let kpi = state.store.kpi(access.id(), path_id(&id)?).await?;
    let (from, thresholds, version) = body.parse(&kpi)?;
    Ok(Json(state.store.add_kpi_version(access.id(), kpi.id, from, thresholds, version, me.user_id, state.now()).await.map_err(stale)?))
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
    State(state): State<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<MeasurementQuery>,
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
    let limit = super::page_limit(q.limit, 100, 500)?;
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
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<MeasurementBody>,
) -> ApiResult<(StatusCode, Json<Measurement>)> {
    let kpi_id = path_id(&body.kpi_id).map_err(|_| ApiError::invalid("kpi_id", "is not a KPI of this relationship"))?;
    let kpi = state.store.kpi(access.id(), kpi_id).await.map_err(|e| match e {
        StoreError::NotFound(_) => ApiError::invalid("kpi_id", "is not a KPI of this relationship"),
        e => e.into(),
    })?;
    may_record(&access, &kpi)?;
    let input = body.parse(&kpi)?;
    Ok((StatusCode::CREATED, Json(state.store.record_measurement(access.id(), input, access.user.id, state.now()).await?)))
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
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<ObligationInput>,
) -> ApiResult<(StatusCode, Json<Obligation>)> {
    let me = access.manager()?.clone();
    let new = body.parse(access.id(), &known(&state, access.id()).await?.parties)?;
    Ok((StatusCode::CREATED, Json(state.store.create_obligation(new, me.user_id, state.now()).await?)))
}

#[utoipa::path(patch, path = "/api/v1/relationships/{relationship_id}/obligations/{obligation_id}", tag = "measures", request_body = ObligationUpdate,
    params(("relationship_id" = String, Path), ("obligation_id" = String, Path)),
    responses((status = 200, body = Obligation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_obligation(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ObligationUpdate>,
) -> ApiResult<Json<Obligation>> {
    access.member()?;
    let obligation = state.store.obligation(access.id(), path_id(&id)?).await?;
    may_update_obligation(&access, &obligation)?;
    let (change, version) = body.parse(&obligation)?;
    Ok(Json(state.store.update_obligation(access.id(), obligation.id, change, version, access.user.id, state.now()).await.map_err(stale)?))
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

/// Parses an action cursor `DUE_DATE_ID`.
pub fn action_cursor(text: &str) -> Result<Option<(jiff::civil::Date, uuid::Uuid)>, ApiError> {
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid("after", "is not a cursor from a previous page");
    let (date, id) = text.split_once('_').ok_or_else(bad)?;
    Ok(Some((date.parse().map_err(|_| bad())?, accord_domain::id::parse_id(id).ok_or_else(bad)?)))
}

pub fn action_filter(text: Option<&str>) -> Result<ActionFilter, ApiError> {
    match text.unwrap_or("open") {
        "open" => Ok(ActionFilter::Open),
        "closed" => Ok(ActionFilter::Closed),
        "all" => Ok(ActionFilter::All),
        _ => Err(ApiError::invalid("status", "must be open, closed or all")),
    }
}

/// The action log, by due date (overdue first).
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/actions", tag = "measures",
    params(("relationship_id" = String, Path), ActionQuery), responses((status = 200, body = Items<Action>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_actions(State(state): State<AppState>, access: Access, ApiQuery(q): ApiQuery<ActionQuery>) -> ApiResult<Items<Action>> {
    access.member()?;
    let filter = action_filter(q.status.as_deref())?;
    let limit = super::page_limit(q.limit, 50, 500)?;
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
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<ActionInput>,
) -> ApiResult<(StatusCode, Json<Action>)> {
    let me = access.writer()?.clone();
    let new = body.parse(access.id(), &known(&state, access.id()).await?, me.party_id)?;
    Ok((StatusCode::CREATED, Json(state.store.create_action(new, me.user_id, state.now()).await?)))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/actions/{action_id}", tag = "measures",
    params(("relationship_id" = String, Path), ("action_id" = String, Path)), responses((status = 200, body = Action), (status = 404, body = ErrorBody)))]
pub async fn get_action(State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>) -> ApiResult<Json<Action>> {
    access.member()?;
    Ok(Json(state.store.action(access.id(), path_id(&id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/relationships/{relationship_id}/actions/{action_id}", tag = "measures", request_body = ActionUpdate,
    params(("relationship_id" = String, Path), ("action_id" = String, Path)),
    responses((status = 200, body = Action), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_action(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ActionUpdate>,
) -> ApiResult<Json<Action>> {
    access.member()?;
    let action = state.store.action(access.id(), path_id(&id)?).await?;
    may_update_action(&access, &action)?;
    let (change, version) = body.parse(&action, &state.store.members(access.id()).await?)?;
    Ok(Json(state.store.update_action(access.id(), action.id, change, version, access.user.id, state.now()).await.map_err(stale)?))
}

/// The label of a period for display, e.g. `2026-03` for a monthly KPI.
pub fn period_label(kpi: &Kpi, start: jiff::civil::Date) -> String {
    Period { cadence: kpi.cadence, start }.label()
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
    State(state): State<AppState>,
    access: Access,
    ApiQuery(q): ApiQuery<ImportQuery>,
    headers: axum::http::HeaderMap,
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
    let (rows, _) = crate::pages::check_sheet(kpis, format, body).await.map_err(crate::pages::refused)?;
    let count = rows.len();
    if q.dry_run.unwrap_or(false) {
        let summary = crate::pages::preview_summary(&state, access.id(), &rows).await?;
        return Ok(Json(ImportResult { rows: count, file_sha256: sha, applied: false, summary }));
    }
    let summary = state.store.import_measurements(access.id(), rows, &sha, Some(me.user_id), state.now()).await?;
    Ok(Json(ImportResult { rows: count, file_sha256: sha, applied: true, summary }))
}
