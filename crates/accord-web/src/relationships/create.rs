//! The site administrator founds a relationship on the web: its name, purpose and start, its
//! parties (organisations that exist or new ones) and each party's first SER, in one post.

use super::{InvitationLink, PartyRequest};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, PageResult};
use crate::forms::{FormErrors, Labels, SentForm};
use crate::layout::{Saved, Shell, ok, refused, saved};
use crate::session::CsrfToken;
use accord_domain::relationship::RelationshipInput;
use accord_domain::{FieldError, Invalid};
use accord_store::{Organisation, PageRequest, Relationship, User, Visibility};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use std::collections::HashMap;

/// Party rows a new form offers; "Add a party" adds one, up to the most a form takes.
const FIRST_ROWS: usize = 2;
const MOST_ROWS: usize = 20;

/// One party's row as typed.
#[derive(Default)]
pub struct PartyRow {
    pub organisation: String,
    pub new_name: String,
    pub ser: String,
}

/// The form's fields as its labels name them; `parties[k]` is the k-th row sent (blank rows are
/// not sent, and the page shows the rows sent in order, so k is the row's place on the page too).
const LABELS: Labels = &[
    ("name", "r-name", "Name"),
    ("purpose", "r-purpose", "Purpose"),
    ("start_date", "r-start_date", "Start date"),
    ("time_zone", "r-time_zone", "Time zone"),
    ("parties", "r-parties", "Parties"),
    ("parties[]", "organisation_{i}", "Party {n}'s organisation"),
    ("parties[].ser", "ser_{i}", "Party {n}'s first SER"),
];

#[derive(Template)]
#[template(path = "relationships/new.html")]
struct NewRelationshipPage {
    shell: Shell,
    organisations: Vec<Organisation>,
    /// What was typed, by field name (`name`, `purpose`, `start_date`, `time_zone`).
    typed: HashMap<String, String>,
    rows: Vec<PartyRow>,
    errors: FormErrors,
}

impl NewRelationshipPage {
    fn value(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }

    /// How a refusal names row `i`'s organisation.
    fn row_field(&self, i: usize) -> String {
        format!("parties[{i}]")
    }
}

/// Shown once after founding with invitations: their links are not stored, so they are passed on
/// from here.
#[derive(Template)]
#[template(path = "relationships/founded.html")]
struct FoundedPage {
    shell: Shell,
    relationship: Relationship,
    invitations: Vec<InvitationLink>,
}

async fn page(
    state: &AppState, user: &User, csrf: &CsrfToken, typed: HashMap<String, String>, rows: Vec<PartyRow>, errors: FormErrors,
) -> Result<NewRelationshipPage, ApiError> {
    let organisations = state.store.list_organisations(Visibility::All, PageRequest::first(PageRequest::MAX)).await?.items;
    Ok(NewRelationshipPage { shell: Shell::new(Some(user), csrf, "relationships"), organisations, typed, rows, errors })
}

pub async fn form(State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    user.require_admin()?;
    let today = state.now().to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let typed = HashMap::from([("start_date".to_owned(), today), ("time_zone".to_owned(), "UTC".to_owned())]);
    let rows = (0..FIRST_ROWS).map(|_| PartyRow::default()).collect();
    ok(&page(&state, &user.0, &csrf, typed, rows, FormErrors::default()).await?)
}

/// Reads row `i` of the form (`organisation_i`, `new_i`, `ser_i`); None when it is blank.
fn party_row(form: &HashMap<String, String>, i: usize) -> Option<PartyRow> {
    let field = |name: &str| form.get(&format!("{name}_{i}")).map_or("", |v| v.trim()).to_owned();
    let row = PartyRow { organisation: field("organisation"), new_name: field("new"), ser: field("ser") };
    (!(row.organisation.is_empty() && row.new_name.is_empty() && row.ser.is_empty())).then_some(row)
}

/// What row `row` asks for: an organisation chosen or a new one named, not both nor neither.
fn party_request(row: &PartyRow) -> Result<PartyRequest, &'static str> {
    let ser = row.ser.clone();
    match (row.organisation.is_empty(), row.new_name.is_empty()) {
        (false, true) => Ok(PartyRequest { organisation: row.organisation.clone(), new: false, ser }),
        (true, false) => Ok(PartyRequest { organisation: row.new_name.clone(), new: true, ser }),
        (false, false) => Err("choose an organisation or type a new one's name, not both"),
        (true, true) => Err("choose the organisation, or type a new one's name"),
    }
}

/// Founds the relationship, all or nothing. A refusal shows the form again as typed, each
/// message beside its field; "Add a party" shows it again with one more row.
pub async fn submit(
    State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>,
    SentForm(form, fresh): SentForm<HashMap<String, String>>,
) -> PageResult {
    user.require_admin()?;
    let offered = form.get("rows").and_then(|r| r.parse::<usize>().ok()).unwrap_or(FIRST_ROWS).clamp(FIRST_ROWS, MOST_ROWS);
    let mut rows: Vec<PartyRow> = (0..offered).filter_map(|i| party_row(&form, i)).collect();
    let text = |name: &str| form.get(name).map_or("", String::as_str);
    let typed: HashMap<String, String> =
        ["name", "purpose", "start_date", "time_zone"].iter().map(|f| ((*f).to_owned(), text(f).to_owned())).collect();
    if form.contains_key("add_party") {
        rows.resize_with((offered + 1).min(MOST_ROWS).max(rows.len()), PartyRow::default);
        return ok(&page(&state, &user.0, &csrf, typed, rows, FormErrors::default()).await?);
    }
    let mut requests = Vec::new();
    let mut row_faults = Invalid::default();
    for (k, row) in rows.iter().enumerate() {
        match party_request(row) {
            Ok(request) => requests.push(request),
            Err(message) => row_faults.0.push(FieldError { field: format!("parties[{k}]"), message: message.to_owned() }),
        }
    }
    let input =
        RelationshipInput { name: text("name"), purpose: text("purpose"), start_date: text("start_date"), time_zone: text("time_zone") };
    let founded = fresh
        .then(async {
            if row_faults.0.is_empty() {
                return super::found(&state, &user.0, input, &requests).await;
            }
            // Still check the rest, so that every fault is said at once.
            if let Err(ApiError::Invalid(rest)) = super::found(&state, &user.0, input, &[]).await {
                row_faults.0.extend(rest.0.into_iter().filter(|f| f.field != "parties"));
            }
            Err(ApiError::Invalid(row_faults))
        })
        .await;
    match founded {
        Ok((founded, invitations)) if invitations.is_empty() => {
            Ok(saved(&format!("/relationships/{}", founded.relationship.id), Saved::Founded))
        }
        Ok((founded, invitations)) => {
            let shell = Shell { notice: Some(Saved::Founded), ..Shell::new(Some(&user.0), &csrf, "relationships") };
            ok(&FoundedPage { shell, relationship: founded.relationship, invitations })
        }
        Err(e) if e.refuses_form() => {
            rows.resize_with(rows.len().max(FIRST_ROWS), PartyRow::default);
            let errors = FormErrors::new(&e, LABELS);
            Ok(refused(&e, &page(&state, &user.0, &csrf, typed, rows, errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}
