//! The inbox's API.

use super::*;
use crate::auth::CurrentUser;
use crate::error::ErrorBody;
use crate::list::Items;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(notifications))
}

/// Your notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "issues", responses((status = 200, body = Items<Notification>), (status = 401, body = ErrorBody)))]
pub async fn notifications(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<Items<Notification>> {
    Ok(Items::all(inbox(&state, &user).await?))
}
