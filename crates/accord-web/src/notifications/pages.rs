//! The inbox: a person's notifications, each opened at its page and marked read.

use super::*;
use crate::auth::CurrentUser;
use crate::error::{ApiError, PageResult};
use crate::forms::{CsrfForm, Empty};
use crate::layout::{Saved, Shell, render, saved};
use crate::session::CsrfToken;
use accord_domain::id::parse_id;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

pages! { ROUTES, router;
    get "/inbox" => show;
    post "/inbox/read" => read_all;
    get "/inbox/{notification_id}" => open;
}

#[derive(Template)]
#[template(path = "notifications/inbox.html")]
struct InboxPage {
    shell: Shell,
    notifications: Vec<Notification>,
}

pub async fn show(State(state): State<AppState>, CurrentUser(user): CurrentUser, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    let notifications = inbox(&state, &user).await?;
    Ok(render(StatusCode::OK, &InboxPage { shell: Shell::new(Some(&user), &csrf, "inbox"), notifications }))
}

pub async fn read_all(State(state): State<AppState>, CurrentUser(user): CurrentUser, CsrfForm(_): CsrfForm<Empty>) -> PageResult {
    state.store.mark_read(user.id, None, state.now()).await?;
    Ok(saved("/inbox", Saved::Marked))
}

/// Opens a notification's page and marks it read.
pub async fn open(State(state): State<AppState>, CurrentUser(user): CurrentUser, Path(id): Path<String>) -> PageResult {
    let id = parse_id(&id).ok_or(ApiError::NotFound)?;
    let target = state.store.inbox(user.id, 500).await?.into_iter().find(|n| n.id == id).ok_or(ApiError::NotFound)?;
    state.store.mark_read(user.id, Some(id), state.now()).await?;
    Ok(Redirect::to(&target.link).into_response())
}
