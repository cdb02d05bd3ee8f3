//! Signed records' pages: the list, a record (its content, the signatures panel, its addenda and,
//! once sealed, the form that adds one), and the posts that sign and add an addendum.

use super::*;
use crate::error::PageResult;
use crate::forms::{FormErrors, Labels, SentForm};
use crate::layout::{Saved, Shell, refused, render, saved};
use crate::session::CsrfToken;
use crate::signatures::{SignaturesPanel, content_html};
use accord_domain::id::parse_id;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

pages! { ROUTES, router;
    get "/relationships/{relationship_id}/records" => records;
    get "/relationships/{relationship_id}/records/{record_id}" => record_page;
    post "/relationships/{relationship_id}/records/{record_id}/sign" => sign_record;
    post "/relationships/{relationship_id}/records/{record_id}/addenda" => add_addendum;
}

const RECORDS_PER_PAGE: u32 = 50;

/// The relationship's signed records, newest first.
#[derive(Template)]
#[template(path = "records/records.html")]
struct RecordsPage {
    shell: Shell,
    relationship_id: Uuid,
    lines: Vec<RecordLine>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct RecordsQuery {
    #[serde(default)]
    after: String,
}

pub async fn records(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Query(q): Query<RecordsQuery>,
) -> PageResult {
    access.member()?;
    let before = match q.after.as_str() {
        "" => None,
        after => Some(parse_id(after).ok_or_else(|| ApiError::invalid("after", "is not a cursor from a previous page"))?),
    };
    let mut lines = state.store.records(access.id(), before, RECORDS_PER_PAGE + 1).await?;
    let next = (lines.len() > RECORDS_PER_PAGE as usize).then(|| {
        lines.truncate(RECORDS_PER_PAGE as usize);
        lines.last().map(|l| l.id.to_string()).unwrap_or_default()
    });
    let page = RecordsPage {
        shell: Shell::new(Some(&access.user), &csrf, "records").within(&access.relationship),
        relationship_id: access.id(),
        lines,
        next,
    };
    Ok(render(StatusCode::OK, &page))
}

/// A record: what it is of, its content as signed, the signatures panel and its addenda.
#[derive(Template)]
#[template(path = "records/record.html")]
struct RecordPage {
    shell: Shell,
    relationship_id: Uuid,
    record: Record,
    content: String,
    panel: SignaturesPanel,
    /// (title, path) of the record an addendum corrects.
    parent: Option<(String, String)>,
    updated: String,
    /// The viewer may add an addendum (the record is sealed, and they run the relationship).
    can_add: bool,
    errors: FormErrors,
    form: AddendumInput,
}

const ADDENDUM_LABELS: Labels = &[("title", "ad-title", "Title"), ("text", "ad-text", "What it corrects or adds")];

async fn record_view(
    state: &AppState, access: &Access, csrf: &CsrfToken, record: Record, sign_error: Option<String>, form: Option<AddendumInput>,
    errors: FormErrors,
) -> Result<RecordPage, ApiError> {
    let id = access.id();
    let (parties, members) = (state.store.parties(id).await?, state.store.members(id).await?);
    let parent = match record.parent_id {
        Some(parent) => Some((state.store.record(id, parent).await?.title, record_path(id, parent))),
        None => None,
    };
    let zone = access.relationship.zone();
    let mut panel = SignaturesPanel::new(&record, &parties, &members, access.member.as_ref(), &zone);
    panel.error = sign_error;
    let form = form.unwrap_or_else(|| AddendumInput {
        title: format!("Addendum to {}", record.title).chars().take(200).collect(),
        text: String::new(),
    });
    Ok(RecordPage {
        shell: Shell::new(Some(&access.user), csrf, "records").within(&access.relationship),
        relationship_id: id,
        content: content_html(&record.content),
        updated: crate::dates::when(&zone, &record.updated_at),
        can_add: record.seal.is_some() && access.manager().is_ok(),
        panel,
        parent,
        record,
        errors,
        form,
    })
}

fn record_id(text: &str) -> Result<Uuid, ApiError> {
    parse_id(text).ok_or(ApiError::NotFound)
}

pub async fn record_page(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
) -> PageResult {
    let record = record(&state, &access, record_id(&id)?).await?;
    Ok(render(StatusCode::OK, &record_view(&state, &access, &csrf, record, None, None, FormErrors::default()).await?))
}

/// Signs for the viewer's party (a signed-in POST from the record's page, with the hash shown);
/// a refusal shows the record as it is now, saying why, beside the panel.
pub async fn sign_record(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<SignInput>,
) -> PageResult {
    let id = record_id(&id)?;
    match fresh.then(sign(&state, &access, id, &form)).await {
        Ok(signed) => {
            Ok(saved(&format!("{}#signatures", signed.path()), if signed.seal.is_some() { Saved::Sealed } else { Saved::Signed }))
        }
        Err(e @ (ApiError::Conflict(_) | ApiError::Forbidden(_) | ApiError::Invalid(_) | ApiError::Expired)) => {
            let current = record(&state, &access, id).await?;
            let message = if matches!(e, ApiError::Expired) { crate::forms::EXPIRED.to_owned() } else { e.body().message };
            Ok(refused(&e, &record_view(&state, &access, &csrf, current, Some(message), None, FormErrors::default()).await?))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn add_addendum(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<AddendumInput>,
) -> PageResult {
    let id = record_id(&id)?;
    match fresh.then(super::add_addendum(&state, &access, id, &form)).await {
        Ok(added) => Ok(saved(&added.path(), Saved::Addendum)),
        Err(e) if e.refuses_form() || matches!(e, ApiError::Forbidden(_)) => {
            let parent = record(&state, &access, id).await?;
            let errors = FormErrors::new(&e, ADDENDUM_LABELS);
            Ok(refused(&e, &record_view(&state, &access, &csrf, parent, None, Some(form), errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}
