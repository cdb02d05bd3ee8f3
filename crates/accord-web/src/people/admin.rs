//! The site administrator's pages: organisations and accounts. No relationship content here.

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, PageResult};
use crate::forms::{Confirm, CsrfForm, Empty, FormErrors, Labels, SentForm};
use crate::layout::{ConfirmPage, Saved, Shell, refused, render, saved};
use crate::secrets::new_token;
use crate::session::CsrfToken;
use accord_domain::Invalid;
use accord_domain::id::parse_id;
use accord_domain::text::{Email, Name};
use accord_store::{NewUser, Organisation, PageRequest, User, Visibility};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::SignedDuration;
use serde::Deserialize;

/// How long a password link from the administrator stays valid.
pub const RESET_VALID: SignedDuration = SignedDuration::from_hours(24 * 7);

#[derive(Deserialize, Default)]
pub struct After {
    #[serde(default)]
    after: String,
}

impl After {
    fn page(&self) -> PageRequest {
        PageRequest { after: parse_id(&self.after), limit: 100 }
    }
}

#[derive(Template)]
#[template(path = "people/organisations.html")]
struct OrganisationsPage {
    shell: Shell,
    organisations: Vec<Organisation>,
    next: Option<uuid::Uuid>,
    name: String,
    errors: FormErrors,
}

const ORGANISATION_LABELS: Labels = &[("name", "org-name", "New organisation")];

const USER_LABELS: Labels = &[("email", "u-email", "E-mail"), ("name", "u-name", "Name"), ("organisation", "u-org", "Organisation")];

async fn organisations_page(state: &AppState, user: &User, csrf: &CsrfToken, after: &After) -> Result<OrganisationsPage, ApiError> {
    let page = state.store.list_organisations(Visibility::All, after.page()).await?;
    Ok(OrganisationsPage {
        shell: Shell::new(Some(user), csrf, "organisations"),
        organisations: page.items,
        next: page.next_cursor,
        name: String::new(),
        errors: FormErrors::default(),
    })
}

pub async fn organisations(
    State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>, Query(after): Query<After>,
) -> PageResult {
    user.require_admin()?;
    Ok(render(StatusCode::OK, &organisations_page(&state, &user.0, &csrf, &after).await?))
}

#[derive(Deserialize)]
pub struct OrganisationForm {
    #[serde(default)]
    name: String,
}

pub async fn create_organisation(
    State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>,
    SentForm(form, fresh): SentForm<OrganisationForm>,
) -> PageResult {
    user.require_admin()?;
    match fresh.then(super::create_organisation(&state, &user, &form.name)).await {
        Ok(_) => Ok(saved("/admin/organisations", Saved::Organisation)),
        Err(e) if e.refuses_form() => {
            let mut page = organisations_page(&state, &user.0, &csrf, &After::default()).await?;
            page.errors = FormErrors::new(&e, ORGANISATION_LABELS);
            page.name = form.name;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "people/users.html")]
struct UsersPage {
    shell: Shell,
    users: Vec<User>,
    next: Option<uuid::Uuid>,
    organisations: Vec<Organisation>,
    link: Option<(String, String)>,
    errors: FormErrors,
    form: UserForm,
}

#[derive(Deserialize, Default)]
pub struct UserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    admin: String,
}

async fn users_page(state: &AppState, user: &User, csrf: &CsrfToken, after: &After) -> Result<UsersPage, ApiError> {
    let page = state.store.list_users(after.page()).await?;
    let organisations = state.store.list_organisations(Visibility::All, PageRequest::first(PageRequest::MAX)).await?.items;
    Ok(UsersPage {
        shell: Shell::new(Some(user), csrf, "users"),
        users: page.items,
        next: page.next_cursor,
        organisations,
        link: None,
        errors: FormErrors::default(),
        form: UserForm::default(),
    })
}

pub async fn users(
    State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>, Query(after): Query<After>,
) -> PageResult {
    user.require_admin()?;
    Ok(render(StatusCode::OK, &users_page(&state, &user.0, &csrf, &after).await?))
}

/// Issues a single-use link to set a password; the admin passes it on.
async fn issue_reset_link(state: &AppState, admin: &User, user_id: uuid::Uuid) -> Result<String, ApiError> {
    let (token, hash) = new_token();
    let now = state.now();
    state.store.create_password_reset(user_id, &hash, now + RESET_VALID, Some(admin.id), now).await?;
    Ok(format!("{}/reset/{token}", state.public_url))
}

/// Creates an account without a password, and shows the link with which its owner sets one.
pub async fn create_user(
    State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<UserForm>,
) -> PageResult {
    user.require_admin()?;
    let attempt = async {
        let mut invalid = Invalid::default();
        let email = invalid.check("email", Email::parse(&form.email));
        let name = invalid.check("name", Name::parse(&form.name));
        // None only for a site administrator (the store holds the rule too).
        let organisation = match (form.organisation.as_str(), form.admin == "on") {
            ("", true) => Some(None),
            (id, _) => invalid.check("organisation", parse_id(id).map(Some).ok_or_else(|| "choose an organisation".to_owned())),
        };
        invalid.finish()?;
        let (Some(email), Some(name), Some(organisation_id)) = (email, name, organisation) else {
            return Err(ApiError::BadRequest("form".into()));
        };
        let new = NewUser { email, name, organisation_id, is_admin: form.admin == "on", password_hash: None };
        let created = state.store.create_user(new, Some(user.0.id), state.now()).await?;
        let link = issue_reset_link(&state, &user.0, created.id).await?;
        Ok::<_, ApiError>((created.email, link))
    };
    let result = fresh.then(attempt).await;
    let mut page = users_page(&state, &user.0, &csrf, &After::default()).await?;
    match result {
        Ok(link) => {
            page.link = Some(link);
            Ok(render(StatusCode::OK, &page))
        }
        Err(e) if e.refuses_form() => {
            page.errors = FormErrors::new(&e, USER_LABELS);
            page.form = form;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_disabled(state: AppState, user: CurrentUser, user_id: String, disabled: bool) -> PageResult {
    user.require_admin()?;
    let user_id = parse_id(&user_id).ok_or(ApiError::NotFound)?;
    if user_id == user.0.id {
        return Err(ApiError::Forbidden("You cannot disable your own account.").into());
    }
    state.store.set_user_disabled(user_id, disabled, Some(user.0.id), state.now()).await?;
    Ok(saved("/admin/users", if disabled { Saved::Disabled } else { Saved::Enabled }))
}

/// Disables an account after a confirmation step: its owner is signed out everywhere at once.
pub async fn disable_user(
    State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>, Path(user_id): Path<String>,
    CsrfForm(form): CsrfForm<Confirm>,
) -> PageResult {
    if !form.confirmed() {
        user.require_admin()?;
        let target = state.store.user(parse_id(&user_id).ok_or(ApiError::NotFound)?).await?;
        if target.id == user.0.id {
            return Err(ApiError::Forbidden("You cannot disable your own account.").into());
        }
        let page = ConfirmPage {
            shell: Shell::new(Some(&user.0), &csrf, "users"),
            title: format!("Disable {}'s account?", target.name),
            lines: vec![
                format!(
                    "{} ({}) can no longer sign in or use an API token, and every session of theirs ends at once.",
                    target.name, target.email
                ),
                "Nothing they recorded is lost, and no mail is sent to a disabled account; you can enable it again.".to_owned(),
            ],
            action: format!("/admin/users/{}/disable", target.id),
            button: "Disable the account",
            cancel: "/admin/users".into(),
            reason: None,
        };
        return Ok(render(StatusCode::OK, &page));
    }
    set_disabled(state, user, user_id, true).await
}

pub async fn enable_user(
    State(state): State<AppState>, user: CurrentUser, Path(user_id): Path<String>, CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    set_disabled(state, user, user_id, false).await
}

pub async fn reset_link(
    State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>, Path(user_id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    user.require_admin()?;
    let target = state.store.user(parse_id(&user_id).ok_or(ApiError::NotFound)?).await?;
    let link = issue_reset_link(&state, &user.0, target.id).await?;
    let mut page = users_page(&state, &user.0, &csrf, &After::default()).await?;
    page.link = Some((target.email, link));
    Ok(render(StatusCode::OK, &page))
}
