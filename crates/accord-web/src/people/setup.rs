//! First run: on a site without an administrator, `accord serve` prints a one-time link whose page
//! creates the site administrator, who belongs to no organisation (a neutral host's own).

use super::sign_in::hash_off_runtime;
use crate::AppState;
use crate::error::{ApiError, PageResult};
use crate::forms::{FormErrors, Labels, SentForm};
use crate::layout::{Saved, Shell, refused, render, saved};
use crate::secrets::{check_password, random_hex, token_hash};
use crate::session::{self, CsrfToken};
use accord_domain::Invalid;
use accord_domain::text::{Email, Name};
use accord_store::{NewUser, Store, StoreResult};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use jiff::Timestamp;
use serde::Deserialize;

/// On a site without an administrator, a new setup link (the one before it dies), as the address
/// to open under `public_url`; None once an administrator exists. Only its hash is stored, so a
/// restart makes a new link rather than showing the old one again.
pub async fn open_setup(store: &dyn Store, public_url: &str, now: Timestamp) -> StoreResult<Option<String>> {
    let secret = random_hex::<32>();
    let open = store.open_setup(&token_hash(&secret), now).await?;
    Ok(open.then(|| format!("{}/setup/{secret}", public_url.trim_end_matches('/'))))
}

#[derive(Deserialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Template)]
#[template(path = "people/setup.html")]
struct SetupPage {
    shell: Shell,
    form: SetupForm,
    errors: FormErrors,
}

const LABELS: Labels = &[
    ("name", "name", "Your full name"),
    ("email", "email", "E-mail address"),
    ("password", "password", "Password"),
    ("confirm", "confirm", "The same password again"),
];

/// A field of the form: its name, label, input type, the value it shows and its autocomplete.
struct Field<'a>(&'static str, &'static str, &'static str, &'a str, &'static str);

impl SetupPage {
    /// The form's fields in order; passwords never come back.
    fn fields(&self) -> [Field<'_>; 4] {
        [
            Field("name", "Your full name", "text", &self.form.name, "name"),
            Field("email", "E-mail address", "email", &self.form.email, "username"),
            Field("password", "Choose a password (at least 10 characters)", "password", "", "new-password"),
            Field("confirm", "The same password again", "password", "", "new-password"),
        ]
    }
}

pub async fn form(State(state): State<AppState>, Extension(csrf): Extension<CsrfToken>, Path(secret): Path<String>) -> PageResult {
    state.store.setup_link(&token_hash(&secret)).await?;
    let page = SetupPage { shell: Shell::new(None, &csrf, ""), form: SetupForm::default(), errors: FormErrors::default() };
    Ok(render(StatusCode::OK, &page))
}

/// Creates the site administrator and signs them in; every field's fault is said beside it, and
/// what was typed (but the passwords) comes back.
pub async fn submit(
    State(state): State<AppState>, Extension(csrf): Extension<CsrfToken>, Path(secret): Path<String>,
    SentForm(form, fresh): SentForm<SetupForm>,
) -> PageResult {
    let hash = token_hash(&secret);
    state.store.setup_link(&hash).await?;
    let mut invalid = Invalid::default();
    let name = invalid.check("name", Name::parse(&form.name));
    let email = invalid.check("email", Email::parse(&form.email));
    invalid.check("password", check_password(&form.password));
    if form.password != form.confirm {
        invalid.0.push(accord_domain::FieldError { field: "confirm".into(), message: "is not the same as the password".into() });
    }
    let made = fresh
        .then(async {
            match (name, email, invalid.0.is_empty()) {
                (Some(name), Some(email), true) => {
                    let password_hash = Some(hash_off_runtime(form.password.clone()).await?);
                    let new = NewUser { email, name, organisation_id: None, is_admin: true, password_hash };
                    Ok(state.store.complete_setup(&hash, new, state.now()).await?)
                }
                _ => Err(ApiError::Invalid(invalid)),
            }
        })
        .await;
    match made {
        Ok(admin) => {
            let mut response = saved("/", Saved::SetUp);
            let id = session::start(&state, admin.id).await?;
            response.headers_mut().append(SET_COOKIE, state.cookies.set_session(&id));
            Ok(response)
        }
        Err(e) if e.refuses_form() => {
            let form = SetupForm { password: String::new(), confirm: String::new(), ..form };
            Ok(refused(&e, &SetupPage { shell: Shell::new(None, &csrf, ""), form, errors: FormErrors::new(&e, LABELS) }))
        }
        Err(e) => Err(e.into()),
    }
}
