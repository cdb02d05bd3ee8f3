//! Spreadsheets in and out: measurements imported from CSV or XLSX (checked, previewed, then
//! applied all at once), the scorecard and a KPI's history exported.

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, PageResult};
use crate::forms::{CsrfForm, check_form_origin};
use crate::layout::{Shell, render};
use crate::print::file_stem;
use crate::session::CsrfToken;
use crate::sheets::check_sheet;
use accord_domain::id::parse_id;
use accord_domain::measure::Period;
use accord_sheets::{Cell, CellError, Format, Problems, Table};
use accord_store::{ImportSummary, Kpi, MeasurementInput};
use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use std::collections::HashMap;

/// Import and apply posts carry the whole file.
pub const UPLOAD_LIMIT: usize = accord_sheets::MAX_BYTES * 2;

pages! { ROUTES, page_router;
    get "/relationships/{relationship_id}/import" => form;
    get "/relationships/{relationship_id}/{file}" => export_scorecard;
    get "/relationships/{relationship_id}/kpis/{kpi_id}/{file}" => export_history;
}

// Routes that carry a whole spreadsheet.
pages! { UPLOAD_ROUTES, upload_router;
    post "/relationships/{relationship_id}/import" => upload;
    post "/relationships/{relationship_id}/import/apply" => apply;
}

pub fn router() -> axum::Router<AppState> {
    page_router().merge(upload_router().layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)))
}

/// A file over [`UPLOAD_LIMIT`], which the form refuses before it is read.
fn upload_too_big() -> Problems {
    let mut problems = accord_sheets::too_big(UPLOAD_LIMIT as u64 + 1);
    problems.listed[0].message = format!(
        "the file is over {} MiB; at most {} MiB can be imported at once: split it",
        UPLOAD_LIMIT >> 20,
        accord_sheets::MAX_BYTES >> 20
    );
    problems
}

pub struct PreviewRow {
    pub kpi: String,
    pub period: String,
    pub value: f64,
    pub change: &'static str,
    pub before: Option<f64>,
}

#[derive(Template)]
#[template(path = "measures/import.html")]
struct ImportPage {
    shell: Shell,
    relationship_id: uuid::Uuid,
    errors: Vec<CellError>,
    more_errors: String,
    file_name: String,
    preview: Option<Preview>,
}

pub struct Preview {
    pub rows: usize,
    pub summary: ImportSummary,
    pub sample: Vec<PreviewRow>,
    pub content: String,
    pub sha256: String,
}

fn page(access: &Access, csrf: &CsrfToken) -> ImportPage {
    ImportPage {
        shell: Shell::new(Some(&access.user), csrf, "scorecard").within(&access.relationship),
        relationship_id: access.id(),
        errors: Vec::new(),
        more_errors: String::new(),
        file_name: String::new(),
        preview: None,
    }
}

pub async fn form(access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    access.manager()?;
    Ok(render(StatusCode::OK, &page(&access, &csrf)))
}

/// What an import would change, counted: new values, corrections, unchanged.
pub async fn preview_summary(
    state: &AppState, relationship_id: uuid::Uuid, inputs: &[MeasurementInput],
) -> Result<ImportSummary, ApiError> {
    let current = current_values(state, relationship_id, inputs).await?;
    let mut summary = ImportSummary::default();
    for input in inputs {
        count(&mut summary, classify(&current, input));
    }
    Ok(summary)
}

type Current = HashMap<(uuid::Uuid, jiff::civil::Date), (f64, String)>;

/// `new`, `correction` or `unchanged`: what writing `input` would do.
fn classify(current: &Current, input: &MeasurementInput) -> &'static str {
    match current.get(&(input.kpi_id, input.period_start)) {
        None => "new",
        Some((v, c)) if *v == input.value && *c == input.comment => "unchanged",
        Some(_) => "correction",
    }
}

fn count(summary: &mut ImportSummary, change: &str) {
    match change {
        "new" => summary.added += 1,
        "unchanged" => summary.unchanged += 1,
        _ => summary.corrected += 1,
    }
}

/// The current value of every (KPI, period) an import touches: one query per KPI, not per row.
async fn current_values(state: &AppState, relationship_id: uuid::Uuid, inputs: &[MeasurementInput]) -> Result<Current, ApiError> {
    let mut current = HashMap::new();
    let mut affected: Vec<uuid::Uuid> = inputs.iter().map(|i| i.kpi_id).collect();
    affected.sort();
    affected.dedup();
    for kpi_id in affected {
        for m in state.store.measurements(relationship_id, kpi_id, None, 100_000).await? {
            current.insert((kpi_id, m.period_start), (m.value, m.comment));
        }
    }
    Ok(current)
}

/// What the import would change: each row against the KPI's current value for its period.
async fn preview(
    state: &AppState, access: &Access, inputs: &[MeasurementInput], kpis: &[Kpi],
) -> Result<(ImportSummary, Vec<PreviewRow>), ApiError> {
    let current = current_values(state, access.id(), inputs).await?;
    let names: HashMap<uuid::Uuid, &Kpi> = kpis.iter().map(|k| (k.id, k)).collect();
    let mut summary = ImportSummary::default();
    let mut sample = Vec::new();
    for input in inputs {
        let before = current.get(&(input.kpi_id, input.period_start));
        let change = classify(&current, input);
        count(&mut summary, change);
        if sample.len() < 50 && change != "unchanged" {
            let kpi = names[&input.kpi_id];
            sample.push(PreviewRow {
                kpi: kpi.name.clone(),
                period: Period { cadence: kpi.cadence, start: input.period_start }.label(),
                value: input.value,
                change,
                before: before.map(|(v, _)| *v),
            });
        }
    }
    Ok((summary, sample))
}

/// Step one: the file is checked and previewed; nothing is written yet.
pub async fn upload(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> PageResult {
    access.manager()?;
    // Not a multipart form at all: it carries no CSRF token, so it is refused as one.
    let Ok(mut multipart) = multipart else {
        return Err(check_form_origin(&headers, &csrf, "").err().unwrap_or(ApiError::BadRequest("not a form".into()).into()));
    };
    let (mut sent_csrf, mut file) = (String::new(), None);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            // Over the limit before the file's part: nothing more can be read, the token included.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                file = Some((String::from("(too large)"), Err(upload_too_big())));
                break;
            }
            Err(e) => return Err(ApiError::BadRequest(format!("The upload could not be read: {e}")).into()),
        };
        match field.name() {
            Some("csrf") => sent_csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, Ok(bytes))),
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        file = Some((name, Err(upload_too_big())));
                        break;
                    }
                    Err(e) => return Err(ApiError::BadRequest(format!("The upload could not be read: {e}")).into()),
                }
            }
            _ => {}
        }
    }
    check_form_origin(&headers, &csrf, &sent_csrf)?;
    let mut page = page(&access, &csrf);
    let Some((name, bytes)) = file.filter(|(name, _)| !name.is_empty()) else {
        page.errors = vec![CellError { row: 0, column: "file".into(), message: "choose a CSV or XLSX file to import".into() }];
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    page.file_name = name.clone();
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(problems) => return Ok(refused_page(page, problems)),
    };
    let Some(format) = Format::from_file_name(&name) else {
        page.errors = vec![CellError { row: 0, column: "file".into(), message: format!("{name} is neither a .csv nor an .xlsx file") }];
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let kpis = state.store.kpis(access.id()).await?;
    match check_sheet(kpis.clone(), crate::dates::recordable(&state, &access.relationship), format, bytes).await {
        Err(problems) => Ok(refused_page(page, problems)),
        Ok((inputs, bytes)) => {
            let (summary, sample) = preview(&state, &access, &inputs, &kpis).await?;
            page.preview = Some(Preview {
                rows: inputs.len(),
                summary,
                sample,
                sha256: accord_sheets::sha256(&bytes),
                content: STANDARD.encode(&bytes),
            });
            Ok(render(StatusCode::OK, &page))
        }
    }
}

/// The form again, with the file's problems: 413 when it is over a limit on its size, else 422.
fn refused_page(mut page: ImportPage, problems: Problems) -> Response {
    let status = if problems.too_large { StatusCode::PAYLOAD_TOO_LARGE } else { StatusCode::UNPROCESSABLE_ENTITY };
    page.more_errors = problems.unlisted().unwrap_or_default();
    page.errors = problems.listed;
    render(status, &page)
}

#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    file_name: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    sha256: String,
}

/// Step two: the previewed file is checked again and written, all rows or none.
pub async fn apply(State(state): State<AppState>, access: Access, CsrfForm(form): CsrfForm<ApplyForm>) -> PageResult {
    let me = access.manager()?.clone();
    let bytes = STANDARD
        .decode(form.content.trim())
        .map_err(|_| ApiError::invalid("content", "the previewed file was damaged; upload it again"))?;
    if accord_sheets::sha256(&bytes) != form.sha256 {
        return Err(ApiError::invalid("content", "the file differs from the one previewed; upload it again").into());
    }
    let format = Format::from_file_name(&form.file_name).ok_or_else(|| ApiError::invalid("file_name", "is neither .csv nor .xlsx"))?;
    let kpis = state.store.kpis(access.id()).await?;
    let (inputs, _) = check_sheet(kpis, crate::dates::recordable(&state, &access.relationship), format, bytes)
        .await
        .map_err(|_| ApiError::invalid("content", "the file no longer matches the KPIs; upload it again"))?;
    let summary = state.store.import_measurements(access.id(), inputs, &form.sha256, Some(me.user_id), state.now()).await?;
    Ok(Redirect::to(&format!("/relationships/{}/scorecard?imported={}&corrected={}", access.id(), summary.added, summary.corrected))
        .into_response())
}

fn download(format: &str, name: &str, tables: &[Table]) -> Result<Response, ApiError> {
    let (body, content_type) = match format {
        "csv" => (accord_sheets::write_csv(&tables[0]).into_bytes(), Format::Csv.content_type()),
        "xlsx" => (accord_sheets::write_xlsx(tables).map_err(ApiError::Internal)?, Format::Xlsx.content_type()),
        _ => return Err(ApiError::NotFound),
    };
    let disposition = format!("attachment; filename=\"{name}.{format}\"");
    Ok(([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}

/// The scorecard as a spreadsheet: `/scorecard.csv` or `/scorecard.xlsx`.
pub async fn export_scorecard(State(state): State<AppState>, access: Access, Path((_, file)): Path<(String, String)>) -> PageResult {
    access.member()?;
    let format = file.strip_prefix("scorecard.").ok_or(ApiError::NotFound)?;
    let id = access.id();
    let parties: HashMap<uuid::Uuid, String> = state.store.parties(id).await?.into_iter().map(|p| (p.id, p.organisation_name)).collect();
    let mut latest: HashMap<uuid::Uuid, accord_store::Measurement> = HashMap::new();
    for m in state.store.recent_measurements(id, 1).await? {
        latest.insert(m.kpi_id, m);
    }
    let header = ["KPI", "responsible", "cadence", "unit", "better", "target", "amber", "red", "period", "value", "status", "comment"];
    let rows = state
        .store
        .kpis(id)
        .await?
        .into_iter()
        .map(|k| {
            let m = latest.get(&k.id);
            vec![
                Cell::Text(k.name.clone()),
                Cell::Text(k.party_id.and_then(|p| parties.get(&p).cloned()).unwrap_or_else(|| "Joint".into())),
                Cell::Text(k.cadence.as_str().into()),
                Cell::Text(k.unit.clone()),
                Cell::Text(k.direction.as_str().into()),
                Cell::Number(k.thresholds.target),
                Cell::Number(k.thresholds.amber),
                Cell::Number(k.thresholds.red),
                m.map_or(Cell::Empty, |m| Cell::Text(Period { cadence: k.cadence, start: m.period_start }.label())),
                m.map_or(Cell::Empty, |m| Cell::Number(m.value)),
                m.map_or(Cell::Empty, |m| Cell::Text(m.rag.as_str().into())),
                m.map_or(Cell::Empty, |m| Cell::Text(m.comment.clone())),
            ]
        })
        .collect();
    let table = Table { name: "Scorecard".into(), header: header.iter().map(|h| h.to_string()).collect(), rows };
    Ok(download(format, &format!("{}-scorecard", file_stem(&access.relationship.name)), &[table])?)
}

/// A KPI's history as a spreadsheet: `/kpis/{id}/history.csv` or `.xlsx`. Its columns are the
/// import's (KPI, period, value, comment), so a corrected export can be imported back.
pub async fn export_history(
    State(state): State<AppState>, access: Access, Path((_, kpi_id, file)): Path<(String, String, String)>,
) -> PageResult {
    access.member()?;
    let format = file.strip_prefix("history.").ok_or(ApiError::NotFound)?;
    let kpi = state.store.kpi(access.id(), parse_id(&kpi_id).ok_or(ApiError::NotFound)?).await?;
    let rows = state
        .store
        .measurements(access.id(), kpi.id, None, 100_000)
        .await?
        .into_iter()
        .rev()
        .map(|m| {
            vec![
                Cell::Text(kpi.name.clone()),
                Cell::Text(Period { cadence: kpi.cadence, start: m.period_start }.label()),
                Cell::Number(m.value),
                Cell::Text(m.comment),
                Cell::Text(m.rag.as_str().into()),
                Cell::Text(m.entered_by_name),
                Cell::Date(m.entered_at.to_zoned(jiff::tz::TimeZone::UTC).date()),
            ]
        })
        .collect();
    let header = ["KPI", "period", "value", "comment", "status", "entered by", "entered on"];
    let table = Table { name: "History".into(), header: header.iter().map(|h| h.to_string()).collect(), rows };
    Ok(download(format, &file_stem(&kpi.name), &[table])?)
}
