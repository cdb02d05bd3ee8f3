//! What people hear of what needs them: their inbox (the notifications every module writes in the
//! transaction of their cause), read on its page and through the API.

pub mod api;
pub mod pages;

use crate::AppState;
use crate::error::ApiResult;
use accord_store::{Notification, User};

/// The notifications an inbox shows at once, newest first.
const INBOX: u32 = 100;

/// The caller's notifications, newest first.
pub async fn inbox(state: &AppState, user: &User) -> ApiResult<Vec<Notification>> {
    Ok(state.store.inbox(user.id, INBOX).await?)
}
