//! The site administrator founds a relationship on the web: its name, purpose and start, its
//! parties (organisations that exist or new ones) and each party's first SER, in one post.

use super::{InvitationLink, PartyRequest};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, PageResult};
use crate::forms::CsrfForm;
use crate::layout::{Saved, Shell, ok, render, saved};
use crate::session::CsrfToken;
use accord_domain::Invalid;
use accord_domain::relationship::RelationshipInput;
use accord_store::{Organisation, PageRequest, Relationship, User, Visibility};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use std::collections::HashMap;

/// Party rows a new form offers; "Add a party" adds one, up to the most a form takes.
const FIRST_ROWS: usize = 2;
const MOST_ROWS: usize = 20;

/// One party's row as typed, with the messages beside its fields.
#[derive(Default)]
pub struct PartyRow {
    pub organisation: String,
    pub new_name: String,
    pub ser: String,
    pub organisation_error: Option<String>,
    pub ser_error: Option<String>,
}

#[derive(Template)]
#[template(path = "relationships/new.html")]
struct NewRelationshipPage {
    shell: Shell,
    organisations: Vec<Organisation>,
    /// What was typed, by field name (`name`, `purpose`, `start_date`, `time_zone`).
    typed: HashMap<String, String>,
    rows: Vec<PartyRow>,
    /// The refusals of fields other than a party's row's.
    errors: Invalid,
    /// Whether anything was refused, to say so above the form.
    refused: bool,
}

impl NewRelationshipPage {
    fn value(&self, field: &str) -> &str {
        self.typed.get(field).map_or("", String::as_str)
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.0.iter().find(|f| f.field == field).map(|f| f.message.as_str())
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
    state: &AppState, user: &User, csrf: &CsrfToken, typed: HashMap<String, String>, rows: Vec<PartyRow>,
) -> Result<NewRelationshipPage, ApiError> {
    let organisations = state.store.list_organisations(Visibility::All, PageRequest::first(PageRequest::MAX)).await?.items;
    Ok(NewRelationshipPage {
        shell: Shell::new(Some(user), csrf, "relationships"),
        organisations,
        typed,
        rows,
        errors: Invalid::default(),
        refused: false,
    })
}

pub async fn form(State(state): State<AppState>, user: CurrentUser, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    user.require_admin()?;
    let today = state.now().to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let typed = HashMap::from([("start_date".to_owned(), today), ("time_zone".to_owned(), "UTC".to_owned())]);
    let rows = (0..FIRST_ROWS).map(|_| PartyRow::default()).collect();
    ok(&page(&state, &user.0, &csrf, typed, rows).await?)
}

/// Reads row `i` of the form (`organisation_i`, `new_i`, `ser_i`); None when it is blank.
fn party_row(form: &HashMap<String, String>, i: usize) -> Option<PartyRow> {
    let field = |name: &str| form.get(&format!("{name}_{i}")).map_or("", |v| v.trim()).to_owned();
    let row = PartyRow { organisation: field("organisation"), new_name: field("new"), ser: field("ser"), ..PartyRow::default() };
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
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> PageResult {
    user.require_admin()?;
    let offered = form.get("rows").and_then(|r| r.parse::<usize>().ok()).unwrap_or(FIRST_ROWS).clamp(FIRST_ROWS, MOST_ROWS);
    let mut rows: Vec<PartyRow> = (0..offered).filter_map(|i| party_row(&form, i)).collect();
    let text = |name: &str| form.get(name).map_or("", String::as_str);
    let typed: HashMap<String, String> =
        ["name", "purpose", "start_date", "time_zone"].iter().map(|f| ((*f).to_owned(), text(f).to_owned())).collect();
    if form.contains_key("add_party") {
        rows.resize_with((offered + 1).min(MOST_ROWS).max(rows.len()), PartyRow::default);
        return ok(&page(&state, &user.0, &csrf, typed, rows).await?);
    }
    let mut requests = Vec::new();
    let mut row_faults = false;
    for row in &mut rows {
        match party_request(row) {
            Ok(request) => requests.push(request),
            Err(message) => {
                row.organisation_error = Some(message.to_owned());
                row_faults = true;
            }
        }
    }
    let input =
        RelationshipInput { name: text("name"), purpose: text("purpose"), start_date: text("start_date"), time_zone: text("time_zone") };
    let founded = if row_faults {
        // Still check the rest, so that every fault is said at once.
        let mut rest = super::found(&state, &user.0, input, &[]).await.err();
        if let Some(ApiError::Invalid(invalid)) = &mut rest {
            invalid.0.retain(|f| f.field != "parties");
        }
        Err(rest.unwrap_or(ApiError::Invalid(Invalid::default())))
    } else {
        super::found(&state, &user.0, input, &requests).await
    };
    match founded {
        Ok((founded, invitations)) if invitations.is_empty() => {
            Ok(saved(&format!("/relationships/{}", founded.relationship.id), Saved::Founded))
        }
        Ok((founded, invitations)) => {
            let shell = Shell { notice: Some(Saved::Founded), ..Shell::new(Some(&user.0), &csrf, "relationships") };
            ok(&FoundedPage { shell, relationship: founded.relationship, invitations })
        }
        Err(ApiError::Invalid(invalid)) => {
            let mut page = page(&state, &user.0, &csrf, typed, Vec::new()).await?;
            for f in invalid.0 {
                // `parties[k]` and `parties[k].ser` name the k-th row sent (blank rows were not).
                let party = f.field.strip_prefix("parties[").and_then(|rest| rest.split_once(']'));
                match party.and_then(|(k, field)| Some((rows.get_mut(k.parse::<usize>().ok()?)?, field))) {
                    Some((row, "")) => row.organisation_error = Some(f.message),
                    Some((row, _)) => row.ser_error = Some(f.message),
                    None => page.errors.0.push(f),
                }
            }
            rows.resize_with(rows.len().max(FIRST_ROWS), PartyRow::default);
            page.rows = rows;
            page.refused = true;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}
