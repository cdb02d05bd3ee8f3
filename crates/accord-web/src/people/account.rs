//! My account: password and personal API tokens.

use super::sign_in::{ACCOUNT_LIMIT, ACCOUNT_WINDOW, check_new_password, hash_off_runtime};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, PageResult};
use crate::forms::{CsrfForm, Empty};
use crate::layout::{Saved, Shell, render, saved};
use crate::secrets::{new_token, verify_password};
use crate::session::{self, CsrfToken};
use accord_domain::id::parse_id;
use accord_domain::text::Name;
use accord_store::{ApiToken, Credential, User};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "people/account.html")]
struct AccountPage {
    shell: Shell,
    user: User,
    tokens: Vec<ApiToken>,
    new_token: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
}

async fn page(state: &AppState, user: User, csrf: &CsrfToken) -> Result<AccountPage, ApiError> {
    let tokens = state.store.list_tokens(user.id).await?;
    Ok(AccountPage { shell: Shell::new(Some(&user), csrf, "account"), user, tokens, new_token: None, notice: None, error: None })
}

pub async fn show(State(state): State<AppState>, CurrentUser(user): CurrentUser, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    Ok(render(StatusCode::OK, &page(&state, user, &csrf).await?))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// The current password is a guess like a sign-in's: wrong ones count towards the account's
/// sign-in limit, so a borrowed session cannot guess it faster than the sign-in form could.
pub async fn change_password(
    State(state): State<AppState>, CurrentUser(user): CurrentUser, Extension(csrf): Extension<CsrfToken>, headers: HeaderMap,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> PageResult {
    let now = state.now();
    let (user_id, email) = (user.id, user.email.clone());
    let mut page = page(&state, user, &csrf).await?;
    if state.store.sign_in_failures(&email, now - ACCOUNT_WINDOW).await? >= ACCOUNT_LIMIT {
        page.error = Some(format!(
            "Too many wrong passwords for this account. Try again in {} minutes, or ask your administrator for a reset link.",
            ACCOUNT_WINDOW.as_mins()
        ));
        return Ok(render(StatusCode::TOO_MANY_REQUESTS, &page));
    }
    let stored = state.store.password_hash(user_id).await?.unwrap_or_default();
    let current = form.current.clone();
    let current_ok =
        tokio::task::spawn_blocking(move || verify_password(&current, &stored)).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    if !current_ok {
        state.store.record_sign_in_failure(&email, now, now - ACCOUNT_WINDOW).await?;
        page.error = Some("Your current password is not right.".to_owned());
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    state.store.clear_sign_in_failures(&email).await?;
    if let Err(message) = check_new_password(&form.password, &form.confirm) {
        page.error = Some(message);
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let hash = hash_off_runtime(form.password).await?;
    // This browser stays signed in; every other session ends (a password changed because it
    // leaked must also shut out whoever used it). Tokens are the user's to revoke.
    let this_session = match session::credential(&state, &headers) {
        Some(Credential::Session(hash)) => Some(hash),
        _ => None,
    };
    state.store.set_password(user_id, &hash, this_session.as_deref(), Some(user_id), now).await?;
    page.notice = Some("Your password is changed. Your other sessions are signed out; your API tokens still work.");
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    name: String,
}

pub async fn create_token(
    State(state): State<AppState>, CurrentUser(user): CurrentUser, Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> PageResult {
    let name = Name::parse(&form.name);
    let user_id = user.id;
    let created = match name {
        Ok(name) => {
            let (token, hash) = new_token();
            state.store.create_token(user_id, name, &hash, state.now()).await?;
            Ok(token)
        }
        Err(m) => Err(format!("The token's name {m}.")),
    };
    let mut page = page(&state, user, &csrf).await?;
    match created {
        Ok(token) => page.new_token = Some(token),
        Err(message) => {
            page.error = Some(message);
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    }
    Ok(render(StatusCode::OK, &page))
}

pub async fn revoke_token(
    State(state): State<AppState>, CurrentUser(user): CurrentUser, Path(token_id): Path<String>, CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let token_id = parse_id(&token_id).ok_or(ApiError::NotFound)?;
    state.store.revoke_token(user.id, token_id, state.now()).await?;
    Ok(saved("/account", Saved::Revoked))
}
