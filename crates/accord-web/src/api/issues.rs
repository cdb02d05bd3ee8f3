//! The issue log, its ladder, and the inbox.

use super::measures::Items;
use super::{ApiJson, ApiQuery, path_id};
use crate::AppState;
use crate::auth::{Access, CurrentUser, PageView, Viewed};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::issues::*;
use accord_domain::escalation::overdue_at_top;
use accord_domain::id::parse_id;
use accord_store::*;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct IssueQuery {
    /// `live` (default: open and resolution proposed), `closed` or `all`.
    #[param(schema_with = crate::fields::issue_filter)]
    pub status: Option<String>,
    /// 0 is the lowest level.
    pub level: Option<i32>,
    /// The raising party's id.
    #[param(schema_with = crate::fields::party_filter)]
    pub party: Option<String>,
    pub category: Option<String>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl IssueQuery {
    /// Issues a page of the list holds: 50 unless asked, at most 500.
    fn limit(&self) -> ApiResult<u32> {
        super::page_limit(self.limit, 50, 500)
    }

    pub fn filter(&self) -> ApiResult<IssueFilter> {
        let state = match self.status.as_deref().unwrap_or("live") {
            "live" | "open" => IssueState::Live,
            "closed" => IssueState::Closed,
            "all" => IssueState::All,
            _ => return Err(ApiError::invalid("status", "must be live, closed or all")),
        };
        let party = match self.party.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(parse_id(p).ok_or_else(|| ApiError::invalid("party", "is not a party id"))?),
            None => None,
        };
        Ok(IssueFilter { state: Some(state), level: self.level, party, category: self.category.clone().filter(|c| !c.is_empty()) })
    }

    pub fn cursor(&self) -> ApiResult<Option<(jiff::Timestamp, uuid::Uuid)>> {
        let Some(after) = self.after.as_deref().filter(|a| !a.is_empty()) else { return Ok(None) };
        let bad = || ApiError::invalid("after", "is not a cursor from a previous page");
        let (micros, id) = after.split_once('_').ok_or_else(bad)?;
        let at = jiff::Timestamp::from_microsecond(micros.parse().map_err(|_| bad())?).map_err(|_| bad())?;
        Ok(Some((at, parse_id(id).ok_or_else(bad)?)))
    }
}

/// A list's cursor as the query string carries it (`Issue::cursor`, `IssueLine::cursor`).
pub fn issue_cursor((key, id): (jiff::Timestamp, uuid::Uuid)) -> String {
    format!("{}_{id}", key.as_microsecond())
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
        let q: IssueQuery = super::query(uri)?;
        Ok(ViewRequest::Issues { filter: q.filter()?, after: q.cursor()?, limit: q.limit()? + 1 })
    }
}

/// Raise an issue for your party, at the lowest level of the ladder.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues", tag = "issues", request_body = IssueInput,
    params(("relationship_id" = String, Path)), responses((status = 201, body = Issue), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<IssueInput>,
) -> ApiResult<(StatusCode, Json<Issue>)> {
    let me = access.writer()?.clone();
    let new = body.parse(access.id(), &state.store.link_targets(access.id()).await?)?;
    Ok((StatusCode::CREATED, Json(state.store.create_issue(new, me.user_id, state.now()).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct IssueView {
    #[serde(flatten)]
    pub issue: Issue,
    pub level_name: String,
    /// Past its deadline at the top of the ladder: it cannot climb further.
    pub overdue_at_top: bool,
    pub proposal: Option<Proposal>,
    /// As the caller's party sees it (other parties' private notes left out).
    pub timeline: Vec<IssueEvent>,
}

/// An issue with what its page shows beside it, read in one round trip.
pub struct Detail {
    pub view: IssueView,
    pub ladder: Ladder,
    /// The names of the members the ladder names as handlers.
    pub handlers: Vec<(uuid::Uuid, String)>,
    pub parties: Vec<Party>,
    pub targets: Vec<LinkTarget>,
}

pub async fn detail(state: &AppState, access: &Access, issue_id: uuid::Uuid) -> ApiResult<Detail> {
    let me = access.member()?;
    let IssueDetail { issue, ladder, proposal, timeline, handlers, parties, targets } =
        state.store.issue_detail(access.id(), issue_id, Some(me.party_id)).await?;
    let view = IssueView {
        level_name: ladder.levels.get(issue.level as usize).map(|l| l.name.clone()).unwrap_or_default(),
        overdue_at_top: overdue_at_top(
            &accord_domain::escalation::Position {
                level: issue.level as usize,
                status: issue.status,
                level_started_at: issue.level_started_at,
                deadline: issue.deadline,
            },
            ladder.levels.len(),
            state.now(),
        ),
        proposal,
        timeline,
        issue,
    };
    Ok(Detail { view, ladder, handlers, parties, targets })
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
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<(StatusCode, Json<IssueEvent>)> {
    let me = access.writer()?.clone();
    let issue = state.store.issue(access.id(), path_id(&id)?).await?;
    let event =
        state.store.comment_issue(access.id(), issue.id, body.body("body", false)?, body.private(), me.user_id, state.now()).await?;
    Ok((StatusCode::CREATED, Json(event)))
}

/// Propose a resolution for your party; it takes effect when every other party accepts.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/proposals", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn propose(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    let me = access.writer()?.clone();
    let issue = state.store.issue(access.id(), path_id(&id)?).await?;
    Ok(Json(state.store.propose_resolution(access.id(), issue.id, body.body("body", false)?, me.user_id, state.now()).await?))
}

/// Accept (`answer: accept`) or reject (`answer: reject`, with a reason) the pending proposal for your party.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/responses", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn respond(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    let me = access.writer()?.clone();
    let issue = state.store.issue(access.id(), path_id(&id)?).await?;
    let accept = body.accept()?;
    let reason = body.body("body", accept)?;
    Ok(Json(state.store.respond_to_proposal(access.id(), issue.id, accept, reason, me.user_id, state.now()).await?))
}

/// A handler of the current level escalates one level before the deadline, giving a reason.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/escalations", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn escalate(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    access.member()?;
    let issue = state.store.issue(access.id(), path_id(&id)?).await?;
    let ladder = state.store.ladder_version(access.id(), issue.ladder_version).await?;
    may_escalate(&access, &ladder.levels[issue.level as usize])?;
    Ok(Json(state.store.escalate_issue(access.id(), issue.id, body.body("body", false)?, access.user.id, state.now()).await?))
}

/// The person who raised the issue withdraws it.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/issues/{issue_id}/withdrawals", tag = "issues", request_body = TextInput,
    params(("relationship_id" = String, Path), ("issue_id" = String, Path)), responses((status = 200, body = Issue), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn withdraw(
    State(state): State<AppState>,
    access: Access,
    Path((_, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<TextInput>,
) -> ApiResult<Json<Issue>> {
    access.member()?;
    let issue = state.store.issue(access.id(), path_id(&id)?).await?;
    may_withdraw(&access, &issue)?;
    Ok(Json(state.store.withdraw_issue(access.id(), issue.id, body.body("body", true)?, access.user.id, state.now()).await?))
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

fn stale(e: StoreError) -> ApiError {
    match e {
        StoreError::Stale { current } => {
            ApiError::Conflict(format!("The ladder was changed by someone else (now version {current}); reload and try again."))
        }
        e => e.into(),
    }
}

/// Save a new version of the ladder (SERs and JMT members); issues keep the version they were raised under.
#[utoipa::path(put, path = "/api/v1/relationships/{relationship_id}/ladder", tag = "issues", request_body = LadderInput,
    params(("relationship_id" = String, Path)), responses((status = 200, body = Ladder), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_ladder(State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<LadderInput>) -> ApiResult<Json<Ladder>> {
    let me = access.manager()?.clone();
    let (levels, version) = body.parse()?;
    Ok(Json(state.store.save_ladder(access.id(), levels, version, me.user_id, state.now()).await.map_err(stale)?))
}

/// Replace one party's holidays (that party's own SERs and JMT members).
#[utoipa::path(put, path = "/api/v1/relationships/{relationship_id}/holidays", tag = "issues", request_body = HolidaysInput,
    params(("relationship_id" = String, Path)), responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_holidays(State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<HolidaysInput>) -> ApiResult<StatusCode> {
    access.manager()?;
    let parties: Vec<uuid::Uuid> = state.store.parties(access.id()).await?.iter().map(|p| p.id).collect();
    let (party, days) = body.parse(&parties)?;
    let me = access.party_manager(party)?;
    state.store.set_holidays(access.id(), party, days, me.user_id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "issues", responses((status = 200, body = Items<Notification>), (status = 401, body = ErrorBody)))]
pub async fn notifications(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<Items<Notification>> {
    Ok(Items::all(state.store.inbox(user.id, 100).await?))
}
