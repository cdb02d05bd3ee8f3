//! The audit chain's API.

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiResult, ErrorBody};
use crate::json::ApiQuery;
use crate::list::page_limit;
use accord_domain::audit::Event;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The `next_cursor` of the previous page (a chain position).
    pub after: Option<i64>,
    /// Events per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub items: Vec<Event>,
    pub next_cursor: Option<String>,
}

/// The relationship's audit chain, oldest first. Every event carries `prev_hash` and `hash`
/// (see the README for how to verify them).
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/audit-events", tag = "audit",
    params(("relationship_id" = String, Path), EventQuery),
    responses((status = 200, body = EventList), (status = 404, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, access: Access, ApiQuery(q): ApiQuery<EventQuery>) -> ApiResult<Json<EventList>> {
    access.member()?;
    let limit = page_limit(q.limit, 100, 1000)?;
    let mut items = state.store.audit_events(access.id(), q.after.unwrap_or(0), limit + 1).await?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.position.to_string())
    } else {
        None
    };
    Ok(Json(EventList { items, next_cursor }))
}
