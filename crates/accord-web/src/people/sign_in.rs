//! Signing in and out, and setting a password from an admin's reset link.

use crate::AppState;
use crate::auth::MaybeUser;
use crate::error::{ApiError, PageResult};
use crate::forms::{CsrfForm, Empty, FormErrors, Labels, SentForm};
use crate::layout::{Shell, local_path, ok, render};
use crate::secrets::{check_password, hash_password, token_hash, verify_password};
use crate::session::{self, CsrfToken};
use accord_domain::Invalid;
use accord_domain::text::Email;
use accord_store::StoreError;
use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::SignedDuration;
use serde::Deserialize;
use std::net::SocketAddr;

/// Failed sign-ins allowed per account within [`ACCOUNT_WINDOW`] before it must wait.
pub const ACCOUNT_LIMIT: u32 = 5;
pub const ACCOUNT_WINDOW: SignedDuration = SignedDuration::from_mins(15);

#[derive(Template)]
#[template(path = "people/login.html")]
struct LoginPage {
    shell: Shell,
    email: String,
    next: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    done: String,
}

pub async fn form(MaybeUser(user): MaybeUser, Extension(csrf): Extension<CsrfToken>, Query(q): Query<NextQuery>) -> PageResult {
    if user.is_some() {
        return Ok(Redirect::to(local_path(&q.next)).into_response());
    }
    let notice = (q.done == "password").then_some("Your password is set. Sign in with it now.");
    ok(&LoginPage { shell: Shell::new(None, &csrf, "login"), email: String::new(), next: q.next, error: None, notice })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(
    State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Extension(csrf): Extension<CsrfToken>, headers: HeaderMap,
    SentForm(form, fresh): SentForm<LoginForm>,
) -> PageResult {
    let refuse = |status: StatusCode, message: String| {
        let page = LoginPage {
            shell: Shell::new(None, &csrf, "login"),
            email: form.email.clone(),
            next: form.next.clone(),
            error: Some(message),
            notice: None,
        };
        Ok(render(status, &page))
    };
    if !fresh.matched() {
        // An old sign-in page (or one whose cookie is gone): the address comes back with a
        // fresh token, and nothing is tried or counted.
        let mut response = refuse(
            StatusCode::FORBIDDEN,
            "This sign-in form had expired. Your e-mail address is kept: enter your password and sign in again.".into(),
        )?;
        response.extensions_mut().insert(crate::layout::SendAgain);
        return Ok(response);
    }
    let now = state.now();
    if let Err(wait) = state.sign_in_limiter.attempt(peer.ip(), now) {
        let minutes = (wait.as_secs() + 59) / 60;
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many sign-in attempts from your network. Try again in {minutes} minutes."),
        );
    }
    let wrong = || "That e-mail address and password do not match an account. Check both and try again.".to_owned();
    let Ok(email) = Email::parse(&form.email) else { return refuse(StatusCode::UNAUTHORIZED, wrong()) };
    if state.store.sign_in_failures(email.as_str(), now - ACCOUNT_WINDOW).await? >= ACCOUNT_LIMIT {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins for this account. Try again in {} minutes, or ask your administrator for a reset link.",
                ACCOUNT_WINDOW.as_mins()
            ),
        );
    }
    let user = match state.store.user_by_email(&email).await {
        Ok(user) if !user.disabled => Some(user),
        Ok(_) | Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let stored = match &user {
        Some(u) => state.store.password_hash(u.id).await?,
        None => None,
    };
    // Hash even for unknown accounts, so the answer's timing does not tell which exist.
    let password = form.password.clone();
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(phc) => verify_password(&password, &phc),
        None => {
            let _ = hash_password(&password);
            false
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| matches) else {
        state.store.record_sign_in_failure(email.as_str(), now, now - ACCOUNT_WINDOW).await?;
        return refuse(StatusCode::UNAUTHORIZED, wrong());
    };
    state.store.clear_sign_in_failures(email.as_str()).await?;
    // A new session id at every sign-in: an id planted before sign-in is worth nothing.
    session::end(&state, &headers).await?;
    let id = session::start(&state, user.id).await?;
    let mut response = Redirect::to(local_path(&form.next)).into_response();
    response.headers_mut().append(SET_COOKIE, state.cookies.set_session(&id));
    Ok(response)
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap, CsrfForm(_): CsrfForm<Empty>) -> PageResult {
    session::end(&state, &headers).await?;
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(SET_COOKIE, state.cookies.clear_session());
    Ok(response)
}

#[derive(Template)]
#[template(path = "people/reset.html")]
struct ResetPage {
    shell: Shell,
    name: String,
    email: String,
    errors: FormErrors,
}

pub async fn reset_form(State(state): State<AppState>, Extension(csrf): Extension<CsrfToken>, Path(token): Path<String>) -> PageResult {
    let user = state.store.password_reset_user(&token_hash(&token), state.now()).await?;
    ok(&ResetPage { shell: Shell::new(None, &csrf, "login"), name: user.name, email: user.email, errors: FormErrors::default() })
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn reset_submit(
    State(state): State<AppState>, Extension(csrf): Extension<CsrfToken>, Path(token): Path<String>, CsrfForm(form): CsrfForm<ResetForm>,
) -> PageResult<Response> {
    let user = state.store.password_reset_user(&token_hash(&token), state.now()).await?;
    if let Err(invalid) = check_new_password(&form.password, &form.confirm) {
        let errors = FormErrors::new(&ApiError::Invalid(invalid), PASSWORD_LABELS);
        let page = ResetPage { shell: Shell::new(None, &csrf, "login"), name: user.name, email: user.email, errors };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let hash = hash_off_runtime(form.password).await?;
    state.store.use_password_reset(&token_hash(&token), &hash, state.now()).await?;
    Ok(Redirect::to("/login?done=password").into_response())
}

/// The fields of the forms that set a password, as their labels name them.
pub const PASSWORD_LABELS: Labels = &[
    ("current", "current", "Current password"),
    ("password", "password", "New password"),
    ("confirm", "confirm", "The same password again"),
    ("name", "name", "Your full name"),
];

/// A new password and its confirmation, both checked.
pub fn check_new_password(password: &str, confirm: &str) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    invalid.check("password", check_password(password));
    if password != confirm {
        invalid.check::<()>("confirm", Err("differs from the new password: type the same one twice".into()));
    }
    invalid.finish()
}

/// argon2 is slow on purpose: it runs on the blocking pool, never on the async workers.
pub async fn hash_off_runtime(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::Internal)
}
