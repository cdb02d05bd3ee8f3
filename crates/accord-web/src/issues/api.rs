//! The issue log's API: issues, the steps on them, the ladder and holidays.

use super::*;
use crate::auth::{PageView, Viewed};
use crate::error::ErrorBody;
use crate::json::{ApiJson, ApiQuery, path_id};
use crate::list::Items;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get))
        .routes(routes!(comment))
        .routes(routes!(propose))
        .routes(routes!(respond))
        .routes(routes!(escalate))
        .routes(routes!(withdraw))
        .routes(routes!(get_ladder, put_ladder))
        .routes(routes!(put_holidays))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/issues", tag = "issues",
    params(("relationship_id" = String, Path), IssueQuery), responses((status = 200, body = Items<Issue>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(Viewed { access, view: mut items }: Viewed<Vec<Issue>>, ApiQuery(q): ApiQuery<IssueQuery>) -> ApiResult<Items<Issue>> {
    access.member()?;
    let (order, limit) = (q.filter()?.state, q.limit()?);
    let next_cursor = (items.len() > limit as usize).then(|| {
        items.truncate(limit as usize);
        items.last().map(|i| issue_cursor(i.cursor(order))).unwrap_or_default()
    });
    Ok(Items { items, next_cursor })
}

/// The list is read with its caller, in one store call.
impl PageView for Vec<Issue> {
    fn request(_: &std::collections::HashMap<String, String>, uri: &axum::http::Uri) -> Result<ViewRequest, ApiError> {
        let q: IssueQuery = crate::json::query(uri)?;
        Ok(ViewRequest::Issues { filter: q.filter()?, after: q.cursor()?, limit: q.limit()? + 1 })
    }
}

/// Raise an issue for your party, at the lowest level of the ladder.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues", tag = "issues", request_body = IssueInput,
    params(("relationship_id" = String, Path)), responses((status = 201, body = Issue), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<IssueInput>,
) -> ApiResult<(StatusCode, Json<Issue>)> {
    Ok((StatusCode::CREATED, Json(raise_issue(&state, &access, &body).await?)))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}", tag = "issues",
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = IssueView), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>) -> ApiResult<Json<IssueView>> {
    Ok(Json(detail(&state, &access, path_id(&id)?).await?.view))
}

/// A comment for everyone, or with `private` a note only your party sees.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/comments", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 201, body = IssueEvent), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn comment(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<(StatusCode, Json<IssueEvent>)> {
    access.writer()?;
    let issue = issue(&state, &access, path_id(&id)?).await?;
    Ok((StatusCode::CREATED, Json(super::comment(&state, &access, &issue, &body, "body").await?)))
}

/// Propose a resolution for your party; it takes effect when every other party accepts.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/proposals", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn propose(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    access.writer()?;
    let issue = issue(&state, &access, path_id(&id)?).await?;
    Ok(Json(super::propose(&state, &access, &issue, &body, "body").await?))
}

/// Accept (`answer: accept`) or reject (`answer: reject`, with a reason) the pending proposal for your party.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/responses", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn respond(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    access.writer()?;
    let issue = issue(&state, &access, path_id(&id)?).await?;
    Ok(Json(super::respond(&state, &access, &issue, &body, "body").await?))
}

/// A handler of the current level escalates one level before the deadline, giving a reason.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/escalations", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn escalate(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    let issue = issue(&state, &access, path_id(&id)?).await?;
    Ok(Json(super::escalate(&state, &access, &issue, &body, "body").await?))
}

/// The person who raised the issue withdraws it.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/withdrawals", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    let issue = issue(&state, &access, path_id(&id)?).await?;
    Ok(Json(super::withdraw(&state, &access, &issue, &body, "body").await?))
}

#[derive(Serialize, ToSchema)]
pub struct LadderView {
    #[serde(flatten)]
    pub ladder: Ladder,
    pub holidays: Vec<Holiday>,
    /// Resolution figures per level.
    pub figures: Vec<LevelStat>,
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/ladder", tag = "issues",
    params(("relationship_id" = String, Path)), responses((status = 200, body = LadderView), (status = 404, body = ErrorBody)))]
pub async fn get_ladder(State(state): State<AppState>, access: Access) -> ApiResult<Json<LadderView>> {
    access.member()?;
    Ok(Json(LadderView {
        ladder: state.store.ladder(access.id()).await?,
        holidays: state.store.holidays(access.id()).await?,
        figures: state.store.issue_stats(access.id()).await?,
    }))
}

/// Save a new version of the ladder (SERs and JMT members); issues keep the version they were raised under.
#[utoipa::path(put, path = "/api/v1/relationships/{relationship_id}/ladder", tag = "issues", request_body = LadderInput,
    params(("relationship_id" = String, Path)), responses((status = 200, body = Ladder), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_ladder(State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<LadderInput>) -> ApiResult<Json<Ladder>> {
    Ok(Json(save_ladder(&state, &access, &body).await?))
}

/// Replace one party's holidays (that party's own SERs and JMT members).
#[utoipa::path(put, path = "/api/v1/relationships/{relationship_id}/holidays", tag = "issues", request_body = HolidaysInput,
    params(("relationship_id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_holidays(State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<HolidaysInput>) -> ApiResult<StatusCode> {
    set_holidays(&state, &access, &body.party, &body.rows()).await?;
    Ok(StatusCode::NO_CONTENT)
}
