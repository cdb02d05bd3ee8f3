//! People and their accounts: signing in and out, password resets, one's own account and API
//! tokens, the administrator's organisations and accounts, and accepting an invitation.

mod account;
mod admin;
pub mod api;
mod invitation;
pub mod pages;
mod setup;
mod sign_in;

pub use admin::RESET_VALID;
pub use setup::open_setup;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use accord_domain::text::Name;
use accord_store::Organisation;

/// Adds an organisation (site administrators only); a name like an existing one's is refused.
pub async fn create_organisation(state: &AppState, user: &CurrentUser, name: &str) -> ApiResult<Organisation> {
    user.require_admin()?;
    let name = Name::parse(name).map_err(|m| ApiError::invalid("name", m))?;
    Ok(state.store.create_organisation(name, Some(user.0.id), state.now()).await?)
}
