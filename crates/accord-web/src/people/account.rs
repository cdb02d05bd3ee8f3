//! My account: password and personal API tokens.

use super::sign_in::{ACCOUNT_LIMIT, ACCOUNT_WINDOW, PASSWORD_LABELS, check_new_password, hash_off_runtime};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, PageResult};
use crate::forms::{CsrfForm, Empty, FormErrors, Labels};
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
    /// The password form's refusal (passwords are never sent back).
    errors: FormErrors,
    /// The token form's refusal, and the name typed.
    token_errors: FormErrors,
    token_name: String,
}

const TOKEN_LABELS: Labels = &[("name", "token-name", "The token's name")];

async fn page(state: &AppState, user: User, csrf: &CsrfToken) -> Result<AccountPage, ApiError> {
    let tokens = state.store.list_tokens(user.id).await?;
    Ok(AccountPage {
        shell: Shell::new(Some(&user), csrf, "account"),
        user,
        tokens,
        new_token: None,
        notice: None,
        errors: FormErrors::default(),
        token_errors: FormErrors::default(),
        token_name: String::new(),
    })
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
        page.errors = FormErrors::general(format!(
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
        // The new password's problems too, so that one answer says everything.
        let mut invalid = accord_domain::Invalid::one("current", "is not right");
        if let Err(more) = check_new_password(&form.password, &form.confirm) {
            invalid.0.extend(more.0);
        }
        page.errors = FormErrors::new(&ApiError::Invalid(invalid), PASSWORD_LABELS);
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    state.store.clear_sign_in_failures(&email).await?;
    if let Err(invalid) = check_new_password(&form.password, &form.confirm) {
        page.errors = FormErrors::new(&ApiError::Invalid(invalid), PASSWORD_LABELS);
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
        Err(m) => Err(m),
    };
    let mut page = page(&state, user, &csrf).await?;
    match created {
        Ok(token) => page.new_token = Some(token),
        Err(message) => {
            page.token_errors = FormErrors::one(TOKEN_LABELS, "name", &message);
            page.token_name = form.name;
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
