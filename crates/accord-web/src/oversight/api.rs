//! The oversight API: the page's report as JSON.

use super::*;
use crate::auth::Viewed;
use crate::error::{ApiResult, ErrorBody};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_oversight))
}

/// One party's oversight: its obligations (those needing attention first), the open actions it
/// owns (overdue first), the KPIs it is responsible for with status and trend, the live issues at
/// levels its members handle, and the review decisions aimed at it. Every member may read it.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/parties/{party_id}/oversight", tag = "relationships",
    params(("relationship_id" = String, Path), ("party_id" = String, Path)),
    responses((status = 200, body = Oversight), (status = 404, body = ErrorBody)))]
pub async fn get_oversight(State(state): State<AppState>, Viewed { access, view }: Viewed<OversightView>) -> ApiResult<Json<Oversight>> {
    Ok(Json(oversight(&state, &access, view)?))
}
