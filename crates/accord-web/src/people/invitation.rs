//! Accepting an invitation: a new person sets their name and password; a person with an account
//! signs in first.

use super::sign_in::{check_new_password, hash_off_runtime};
use crate::AppState;
use crate::auth::MaybeUser;
use crate::error::{ApiError, PageResult};
use crate::forms::CsrfForm;
use crate::layout::{Saved, Shell, render, saved};
use crate::secrets::token_hash;
use crate::session::{self, CsrfToken};
use accord_domain::text::{Email, Name};
use accord_store::{Invitation, InvitationAccount, StoreError, User};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "people/invitation.html")]
struct InvitationPage {
    shell: Shell,
    invitation: Invitation,
    token: String,
    signed_in: Option<User>,
    has_account: bool,
    name: String,
    error: Option<String>,
}

async fn load(state: &AppState, token: &str, user: Option<User>, csrf: &CsrfToken) -> Result<InvitationPage, ApiError> {
    let invitation = state.store.invitation(&token_hash(token), state.now()).await?;
    let email = Email::parse(&invitation.email).map_err(ApiError::Internal)?;
    let has_account = match state.store.user_by_email(&email).await {
        Ok(_) => true,
        Err(StoreError::NotFound(_)) => false,
        Err(e) => return Err(e.into()),
    };
    Ok(InvitationPage {
        shell: Shell::new(user.as_ref(), csrf, ""),
        invitation,
        token: token.to_owned(),
        signed_in: user,
        has_account,
        name: String::new(),
        error: None,
    })
}

pub async fn show(
    State(state): State<AppState>, MaybeUser(user): MaybeUser, Extension(csrf): Extension<CsrfToken>, Path(token): Path<String>,
) -> PageResult {
    Ok(render(StatusCode::OK, &load(&state, &token, user, &csrf).await?))
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn accept(
    State(state): State<AppState>, MaybeUser(user): MaybeUser, Extension(csrf): Extension<CsrfToken>, Path(token): Path<String>,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> PageResult {
    let mut page = load(&state, &token, user.clone(), &csrf).await?;
    let account = match &user {
        Some(user) => Ok(InvitationAccount::Existing(user.id)),
        None if page.has_account => Err("An account with this address exists already: sign in first, then accept.".to_owned()),
        None => match (Name::parse(&form.name), check_new_password(&form.password, &form.confirm)) {
            (Ok(name), Ok(())) => Ok(InvitationAccount::New { name, password_hash: hash_off_runtime(form.password).await? }),
            (Err(m), _) => Err(format!("Your name {m}.")),
            (_, Err(m)) => Err(m),
        },
    };
    let accepted = match account {
        Ok(account) => state.store.accept_invitation(&token_hash(&token), account, state.now()).await.map_err(|e| match e {
            StoreError::Invalid(i) => i.to_string(),
            e => e.to_string(),
        }),
        Err(message) => Err(message),
    };
    match accepted {
        Ok(member) => {
            let mut response = saved(&format!("/relationships/{}", member.relationship_id), Saved::Joined);
            if user.is_none() {
                let id = session::start(&state, member.user_id).await?;
                response.headers_mut().append(SET_COOKIE, state.cookies.set_session(&id));
            }
            Ok(response)
        }
        Err(message) => {
            page.error = Some(message);
            page.name = form.name;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
