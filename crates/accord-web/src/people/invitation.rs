//! Accepting an invitation: a new person sets their name and password; a person with an account
//! signs in first.

use super::sign_in::{PASSWORD_LABELS, check_new_password, hash_off_runtime};
use crate::AppState;
use crate::auth::MaybeUser;
use crate::error::{ApiError, PageResult};
use crate::forms::{CsrfForm, FormErrors};
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
    errors: FormErrors,
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
        errors: FormErrors::default(),
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
        None if page.has_account => Err(FormErrors::general("An account with this address exists already: sign in first, then accept.")),
        None => {
            // The name and both passwords are checked together, so every problem shows at once.
            let mut invalid = accord_domain::Invalid::default();
            let name = invalid.check("name", Name::parse(&form.name));
            if let Err(refused) = check_new_password(&form.password, &form.confirm) {
                invalid.0.extend(refused.0);
            }
            match (invalid.finish(), name) {
                (Ok(()), Some(name)) => Ok(InvitationAccount::New { name, password_hash: hash_off_runtime(form.password).await? }),
                (Err(invalid), _) => Err(FormErrors::new(&ApiError::Invalid(invalid), PASSWORD_LABELS)),
                (Ok(()), None) => Err(FormErrors::general("Your name is missing.")),
            }
        }
    };
    let accepted = match account {
        Ok(account) => state.store.accept_invitation(&token_hash(&token), account, state.now()).await.map_err(|e| match e {
            StoreError::Invalid(invalid) => FormErrors::new(&ApiError::Invalid(invalid), PASSWORD_LABELS),
            e => FormErrors::general(e.to_string()),
        }),
        Err(errors) => Err(errors),
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
        Err(errors) => {
            page.errors = errors;
            page.name = form.name;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
