//! The measures pages: scorecard, KPI, objectives, obligations.

use super::*;
use crate::auth::{PageView, Viewed, read_view};
use crate::charts::{ChartPoint, Sparklines, kpi_chart};
use crate::error::PageResult;
use crate::forms::{Confirm, CsrfForm, FormErrors, Labels, SentForm};
use crate::layout::{ConfirmPage, ConfirmReason, Saved, Shell, refused, render, saved};
use crate::session::CsrfToken;
use accord_domain::document::{Block, Column, Document, Field, Table};
use accord_domain::id::parse_id;
use accord_domain::measure::{Period, Rag, trend, version_in_force};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;
use std::collections::HashMap;

pages! { ROUTES, router;
    get "/relationships/{relationship_id}/scorecard" => scorecard;
    get "/relationships/{relationship_id}/scorecard/print" => scorecard_print;
    get "/relationships/{relationship_id}/scorecard.pdf" => scorecard_pdf;
    post "/relationships/{relationship_id}/kpis" => create_kpi;
    get "/relationships/{relationship_id}/kpis/new" => new_kpi;
    get "/relationships/{relationship_id}/kpis/{kpi_id}" => kpi;
    post "/relationships/{relationship_id}/kpis/{kpi_id}/measurements" => record;
    post "/relationships/{relationship_id}/kpis/{kpi_id}/measurements/{measurement_id}/retract" => retract;
    post "/relationships/{relationship_id}/kpis/{kpi_id}/versions" => change_thresholds;
    get "/relationships/{relationship_id}/objectives" => objectives;
    post "/relationships/{relationship_id}/objectives" => create_objective;
    get "/relationships/{relationship_id}/objectives/{objective_id}" => objective;
    post "/relationships/{relationship_id}/objectives/{objective_id}/reviews" => review_objective;
    get "/relationships/{relationship_id}/obligations" => obligations;
    post "/relationships/{relationship_id}/obligations" => create_obligation;
    post "/relationships/{relationship_id}/obligations/{obligation_id}" => update_obligation;
}

/// The latest period of a cadence whose value is already due (its grace days have passed).
fn due_period(cadence: accord_domain::measure::Cadence, today: Date) -> Period {
    let mut p = Period::containing(cadence, today).previous();
    while p.due() >= today {
        p = p.previous();
    }
    p
}

/// The parties' names, for the party ids a page shows.
struct Names {
    parties: Vec<Party>,
}

impl Names {
    async fn load(state: &AppState, relationship_id: Uuid) -> Result<Names, ApiError> {
        Ok(Names { parties: state.store.parties(relationship_id).await? })
    }

    fn party(&self, id: Option<Uuid>) -> String {
        id.and_then(|id| self.parties.iter().find(|p| p.id == id)).map_or_else(|| "Joint".to_owned(), |p| p.organisation_name.clone())
    }
}

fn rag_label(rag: Option<Rag>) -> &'static str {
    rag.map_or("none", Rag::as_str)
}

/// A stored green value that misses its target (the RAG stays as it was decided).
fn short_of_target(rag: Rag, thresholds: &accord_domain::measure::Thresholds, value: f64) -> bool {
    rag == Rag::Green && thresholds.short_of_target(value)
}

fn back_to(path: String, what: Saved) -> Response {
    saved(&path, what)
}

// The scorecard.

pub struct ScoreRow {
    pub kpi: Kpi,
    pub party: String,
    pub latest: Option<RecentValue>,
    pub latest_label: String,
    pub rag: &'static str,
    /// Green, yet short of the target.
    pub short: bool,
    pub arrow: &'static str,
    pub arrow_label: &'static str,
    pub spark: String,
    pub missing: Option<String>,
}

#[derive(Template)]
#[template(path = "measures/scorecard.html")]
struct ScorecardPage {
    shell: Shell,
    relationship_id: Uuid,
    rows: Vec<ScoreRow>,
    objectives: Vec<Objective>,
    parties: Vec<Party>,
    objective: String,
    party: String,
    counts: (usize, usize, usize, usize),
    can_define: bool,
    imported: Option<(String, String)>,
    /// The page's filters as a query string (`?objective=...`), for its print and PDF links.
    filters: String,
}

#[derive(Deserialize, Default)]
pub struct ScorecardQuery {
    #[serde(default)]
    objective: String,
    #[serde(default)]
    party: String,
    /// Set after an import: how many values it added and corrected.
    #[serde(default)]
    imported: Option<String>,
    #[serde(default)]
    corrected: Option<String>,
}

impl PageView for ScorecardView {
    fn request(_: &HashMap<String, String>, _: &Uri) -> Result<ViewRequest, ApiError> {
        Ok(ViewRequest::Scorecard)
    }
}

fn scorecard_page(
    state: &AppState, access: &Access, csrf: &CsrfToken, view: ScorecardView, q: &ScorecardQuery,
) -> Result<ScorecardPage, ApiError> {
    access.member()?;
    let id = access.id();
    let today = today(state, &access.relationship);
    let ScorecardView { parties, objectives, kpis, mut recent } = view;
    let names = Names { parties };
    // Each KPI's values as a run of one vector (the sort is stable: periods stay in order).
    recent.sort_by_key(|m| m.kpi_id);
    let series: HashMap<Uuid, &[RecentValue]> = recent.chunk_by(|a, b| a.kpi_id == b.kpi_id).map(|run| (run[0].kpi_id, run)).collect();
    let objective = parse_id(&q.objective);
    let party = parse_id(&q.party);
    let mut counts = [0usize; 4];
    let sparks = Sparklines::new(12, 96.0, 26.0);
    let rows: Vec<ScoreRow> = kpis
        .into_iter()
        .filter(|k| objective.is_none_or(|o| k.objectives.contains(&o)))
        .filter(|k| q.party.is_empty() || (q.party == "joint" && k.party_id.is_none()) || (party.is_some() && k.party_id == party))
        .map(|kpi| {
            let values = series.get(&kpi.id).copied().unwrap_or_default();
            let due = due_period(kpi.cadence, today);
            // At most 12 values: a scan beats a map.
            let at = |start: Date| values.iter().find(|m| m.period_start == start);
            let spark = sparks.draw(&due.last_n(12).iter().map(|p| at(p.start).map(|m| (m.value, m.rag))).collect::<Vec<_>>());
            let latest = values.last().copied();
            let (arrow, arrow_label) =
                values.len().checked_sub(2).map_or(("", ""), |i| trend(kpi.direction, values[i].value, values[i + 1].value).arrow());
            let missing = at(due.start).is_none().then(|| due.label());
            let rag = rag_label(latest.as_ref().map(|m| m.rag));
            let short = latest.is_some_and(|m| short_of_target(m.rag, &kpi.thresholds, m.value));
            counts[match latest.as_ref().map(|m| m.rag) {
                Some(Rag::Green) => 0,
                Some(Rag::Amber) => 1,
                Some(Rag::Red) => 2,
                None => 3,
            }] += 1;
            ScoreRow {
                party: names.party(kpi.party_id),
                latest_label: latest.as_ref().map(|m| Period { cadence: kpi.cadence, start: m.period_start }.label()).unwrap_or_default(),
                latest,
                rag,
                short,
                arrow,
                arrow_label,
                spark,
                missing,
                kpi,
            }
        })
        .collect();
    Ok(ScorecardPage {
        shell: Shell::new(Some(&access.user), csrf, "scorecard").within(&access.relationship),
        relationship_id: id,
        rows,
        objectives,
        parties: names.parties,
        objective: q.objective.clone(),
        party: q.party.clone(),
        counts: (counts[0], counts[1], counts[2], counts[3]),
        can_define: access.manager().is_ok(),
        imported: q.imported.clone().map(|a| (a, q.corrected.clone().unwrap_or_default())),
        filters: scorecard_filters(q),
    })
}

pub async fn scorecard(
    State(state): State<AppState>, Viewed { access, view }: Viewed<ScorecardView>, Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<ScorecardQuery>,
) -> PageResult {
    Ok(render(StatusCode::OK, &scorecard_page(&state, &access, &csrf, view, &q)?))
}

/// The scorecard as a printable document, filtered as the page was: what its print page and its
/// PDF show.
fn scorecard_document(state: &AppState, access: &Access, page: &ScorecardPage) -> Document {
    let relationship = &access.relationship;
    let as_of = format!("{} ({})", crate::dates::when(&relationship.zone(), &state.now()), relationship.time_zone);
    let mut doc = Document::new("Scorecard");
    doc.subtitle = Some(relationship.name.clone());
    doc.meta.push(Field::new("As of", as_of.clone()));
    let objective = page.objectives.iter().find(|o| page.objective == o.id.to_string());
    let party = page.parties.iter().find(|p| page.party == p.id.to_string()).map(|p| p.organisation_name.as_str());
    if let Some(objective) = objective {
        doc.meta.push(Field::new("Objective", objective.title.clone()));
    }
    if let Some(party) = party.or((page.party == "joint").then_some("Joint")) {
        doc.meta.push(Field::new("Responsible", party));
    }
    let (green, amber, red, none) = page.counts;
    doc.meta.push(Field::new("Status", format!("{green} green, {amber} amber, {red} red, {none} without a value")));
    let mut table = Table::new(
        vec![
            Column::text("KPI"),
            Column::text("Responsible"),
            Column::text("Status"),
            Column::figure("Last value"),
            Column::figure("Period"),
            Column::figure("Target"),
            Column::text("Trend"),
        ],
        "No KPIs match this filter.",
    );
    for row in &page.rows {
        let mut status = if row.rag == "none" { "no value".to_owned() } else { row.rag.to_owned() };
        if row.short {
            status.push_str(", worse than target");
        }
        if let Some(missing) = &row.missing {
            status.push_str(&format!(", {missing} missing"));
        }
        table.row([
            format!("{} ({})", row.kpi.name, row.kpi.cadence.as_str()),
            row.party.clone(),
            status,
            row.latest.as_ref().map_or_else(|| "—".to_owned(), |m| super::with_unit(m.value, &row.kpi.unit)),
            row.latest_label.clone(),
            super::with_unit(row.kpi.thresholds.target, &row.kpi.unit),
            row.arrow_label.to_owned(),
        ]);
    }
    doc.section("KPIs", vec![Block::Table(table)]);
    doc.footer = Some(format!("{} · scorecard as of {as_of}", relationship.name));
    doc
}

/// The scorecard's filters, carried from the page to its print page and PDF.
fn scorecard_filters(q: &ScorecardQuery) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in [("objective", &q.objective), ("party", &q.party)] {
        if !value.is_empty() {
            query.append_pair(key, value);
        }
    }
    let query = query.finish();
    if query.is_empty() { query } else { format!("?{query}") }
}

/// The scorecard to print: the document its PDF holds, as a page.
pub async fn scorecard_print(
    State(state): State<AppState>, Viewed { access, view }: Viewed<ScorecardView>, Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<ScorecardQuery>,
) -> PageResult {
    let page = scorecard_page(&state, &access, &csrf, view, &q)?;
    let doc = scorecard_document(&state, &access, &page);
    let base = format!("/relationships/{}/scorecard", access.id());
    let filters = scorecard_filters(&q);
    Ok(crate::print::page(page.shell, &doc, (&format!("{base}{filters}"), "the scorecard"), &format!("{base}.pdf{filters}")))
}

/// The scorecard as PDF (`scorecard.pdf`, beside its `.xlsx` and `.csv`).
pub async fn scorecard_pdf(
    State(state): State<AppState>, Viewed { access, view }: Viewed<ScorecardView>, Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<ScorecardQuery>,
) -> PageResult {
    let page = scorecard_page(&state, &access, &csrf, view, &q)?;
    let doc = scorecard_document(&state, &access, &page);
    let stem = format!("{}-scorecard", crate::print::file_stem(&access.relationship.name));
    Ok(crate::print::pdf(doc, &stem).await?)
}

/// The form that defines a KPI, on a page of its own.
#[derive(Template)]
#[template(path = "measures/kpi_new.html")]
struct NewKpiPage {
    shell: Shell,
    relationship_id: Uuid,
    parties: Vec<Party>,
    members: Vec<Member>,
    objectives: Vec<Objective>,
    errors: FormErrors,
    form: KpiInput,
}

/// The fields of the form that defines a KPI, as its labels name them.
const KPI_LABELS: Labels = &[
    ("name", "k-name", "Name"),
    ("definition", "k-definition", "Definition"),
    ("unit", "k-unit", "Unit"),
    ("direction", "k-direction", "Better is"),
    ("cadence", "k-cadence", "Cadence"),
    ("target", "k-target", "Target"),
    ("amber", "k-amber", "Amber below/above"),
    ("red", "k-red", "Red below/above"),
    ("party", "k-party", "Responsible party"),
    ("reporter", "k-reporter", "Reported by"),
    ("effective_from", "k-from", "From period"),
    ("objectives", "k-objectives", "Objectives it measures"),
];

async fn new_kpi_page(
    state: &AppState, access: &Access, csrf: &CsrfToken, form: KpiInput, errors: FormErrors,
) -> Result<NewKpiPage, ApiError> {
    let id = access.id();
    Ok(NewKpiPage {
        shell: Shell::new(Some(&access.user), csrf, "scorecard").within(&access.relationship),
        relationship_id: id,
        parties: state.store.parties(id).await?,
        members: state.store.members(id).await?,
        objectives: state.store.objectives(id).await?,
        errors,
        form,
    })
}

pub async fn new_kpi(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    access.manager()?;
    let form = KpiInput { direction: "higher".into(), cadence: "monthly".into(), ..KpiInput::default() };
    Ok(render(StatusCode::OK, &new_kpi_page(&state, &access, &csrf, form, FormErrors::default()).await?))
}

pub async fn create_kpi(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<KpiInput>,
) -> PageResult {
    match fresh.then(super::create_kpi(&state, &access, &form)).await {
        Ok(kpi) => Ok(back_to(format!("/relationships/{}/kpis/{}", access.id(), kpi.id), Saved::Kpi)),
        Err(e) if e.refuses_form() => {
            let errors = FormErrors::new(&e, KPI_LABELS);
            Ok(refused(&e, &new_kpi_page(&state, &access, &csrf, form, errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}

// A KPI.

pub struct HistoryRow {
    pub label: String,
    pub start: Date,
    pub value: Option<Measurement>,
    pub rag: &'static str,
    /// Green, yet short of the target then in force.
    pub short: bool,
    pub due: Date,
    pub late: bool,
    /// Values of the period retracted as recorded by mistake, newest first.
    pub retracted: Vec<Measurement>,
}

#[derive(Template)]
#[template(path = "measures/kpi.html")]
struct KpiPage {
    shell: Shell,
    relationship_id: Uuid,
    kpi: Kpi,
    party: String,
    reporter: String,
    objectives: Vec<Objective>,
    chart: String,
    history: Vec<HistoryRow>,
    versions: Vec<KpiVersion>,
    corrections: Option<(String, Vec<Measurement>)>,
    can_record: bool,
    can_define: bool,
    can_raise: bool,
    current_period: String,
    action_due: Date,
    owner: Option<Uuid>,
    errors: FormErrors,
    /// The value's form and the thresholds' form as typed (after a refusal) or offered.
    form: MeasurementBody,
    thresholds_form: VersionInput,
}

/// The KPI page's two forms' fields (their names differ, so one set of errors serves both).
const KPI_PAGE_LABELS: Labels = &[
    ("period", "m-period", "Period"),
    ("value", "m-value", "Value"),
    ("comment", "m-comment", "Comment"),
    ("effective_from", "v-from", "From period"),
    ("target", "v-target", "Target"),
    ("amber", "v-amber", "Amber"),
    ("red", "v-red", "Red"),
    ("version", "", "The version you read"),
];

#[derive(Deserialize, Default)]
pub struct KpiQuery {
    #[serde(default)]
    period: String,
}

/// The values a KPI page shows: two years of monthly ones.
const KPI_VALUES: u32 = 24;

fn kpi_request(kpi_id: &str) -> Result<KpiRequest, ApiError> {
    Ok(KpiRequest { kpi_id: parse_id(kpi_id).ok_or(ApiError::NotFound)?, values: KPI_VALUES })
}

impl PageView for KpiDetail {
    fn request(params: &HashMap<String, String>, _: &Uri) -> Result<ViewRequest, ApiError> {
        Ok(ViewRequest::Kpi(kpi_request(params.get("kpi_id").map_or("", String::as_str))?))
    }
}

/// What the page of the KPI `kpi_id` shows, for a page that re-renders it after a refused form.
async fn kpi_detail(state: &AppState, access: &Access, kpi_id: &str) -> Result<KpiDetail, ApiError> {
    read_view(state, access, ViewRequest::Kpi(kpi_request(kpi_id)?)).await
}

async fn kpi_page(state: &AppState, access: &Access, csrf: &CsrfToken, view: KpiDetail, q: &KpiQuery) -> Result<KpiPage, ApiError> {
    let me = access.member()?.clone();
    let id = access.id();
    let KpiDetail { kpi, parties, reporter, objectives: all_objectives, versions, values, retracted } = view;
    let names = Names { parties };
    let today = today(state, &access.relationship);
    let domain_versions: Vec<accord_domain::measure::Version> =
        versions.iter().map(|v| accord_domain::measure::Version { effective_from: v.effective_from, thresholds: v.thresholds }).collect();
    let by_period: HashMap<Date, &Measurement> = values.iter().map(|m| (m.period_start, m)).collect();
    let current = Period::containing(kpi.cadence, today);
    // The window ends with the current period, or the latest value if it is later.
    let last = values.first().map_or(current, |m| Period { cadence: kpi.cadence, start: m.period_start.max(current.start) });
    let window = last.last_n(24);
    let first_value = values.last().map(|m| m.period_start);
    let window: Vec<Period> =
        window.into_iter().filter(|p| first_value.is_some_and(|f| p.start >= f) || p.start >= current.previous().start).collect();
    let chart = kpi_chart(
        &window
            .iter()
            .filter_map(|p| {
                let thresholds = version_in_force(&domain_versions, p.start)?.thresholds;
                Some(ChartPoint { label: p.label(), value: by_period.get(&p.start).map(|m| (m.value, m.rag)), thresholds })
            })
            .collect::<Vec<_>>(),
        &kpi.unit,
    );
    let history = window
        .iter()
        .rev()
        .map(|p| {
            let value = by_period.get(&p.start).map(|m| (*m).clone());
            HistoryRow {
                label: p.label(),
                start: p.start,
                rag: rag_label(value.as_ref().map(|m| m.rag)),
                short: value
                    .as_ref()
                    .zip(version_in_force(&domain_versions, p.start))
                    .is_some_and(|(m, v)| short_of_target(m.rag, &v.thresholds, m.value)),
                late: value.is_none() && p.due() < today,
                due: p.due(),
                value,
                retracted: retracted.iter().filter(|m| m.period_start == p.start).cloned().collect(),
            }
        })
        .collect();
    let corrections = match Period::parse(kpi.cadence, &q.period) {
        Ok(p) if !q.period.is_empty() => Some((p.label(), state.store.measurement_history(id, kpi.id, p.start).await?)),
        _ => None,
    };
    Ok(KpiPage {
        shell: Shell::new(Some(&access.user), csrf, "scorecard").within(&access.relationship),
        relationship_id: id,
        party: names.party(kpi.party_id),
        reporter: reporter.unwrap_or_default(),
        objectives: all_objectives.into_iter().filter(|o| kpi.objectives.contains(&o.id)).collect(),
        chart,
        history,
        versions,
        corrections,
        can_record: may_record(access, &kpi).is_ok(),
        can_define: me.role.manages(),
        can_raise: me.role.writes(),
        current_period: {
            let due = due_period(kpi.cadence, today);
            if by_period.contains_key(&due.start) { due.next().label() } else { due.label() }
        },
        action_due: today.checked_add(jiff::Span::new().days(14)).unwrap_or(today),
        owner: kpi.reporter_id.or(Some(me.user_id)),
        errors: FormErrors::default(),
        form: MeasurementBody::default(),
        thresholds_form: VersionInput {
            version: kpi.version.to_string(),
            effective_from: current.next().label(),
            target: kpi.thresholds.target.to_string(),
            amber: kpi.thresholds.amber.to_string(),
            red: kpi.thresholds.red.to_string(),
        },
        kpi,
    })
}

pub async fn kpi(
    State(state): State<AppState>, Viewed { access, view }: Viewed<KpiDetail>, Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<KpiQuery>,
) -> PageResult {
    Ok(render(StatusCode::OK, &kpi_page(&state, &access, &csrf, view, &q).await?))
}

pub async fn record(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, kpi_id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<MeasurementBody>,
) -> PageResult {
    let mut page = kpi_page(&state, &access, &csrf, kpi_detail(&state, &access, &kpi_id).await?, &KpiQuery::default()).await?;
    match fresh.then(record_measurement(&state, &access, &page.kpi, &form)).await {
        Ok(_) => Ok(back_to(format!("/relationships/{}/kpis/{}", access.id(), page.kpi.id), Saved::Measurement)),
        Err(e) if e.refuses_form() => {
            page.errors = FormErrors::new(&e, KPI_PAGE_LABELS);
            page.form = form;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// Retracts a value recorded by mistake, after a confirmation page that says what follows and
/// asks why (the reason is kept with the value and in the audit trail).
pub async fn retract(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>,
    Path((_, kpi_id, measurement_id)): Path<(String, String, String)>, CsrfForm(form): CsrfForm<Confirm>,
) -> PageResult {
    access.member()?;
    let kpi = state.store.kpi(access.id(), parse_id(&kpi_id).ok_or(ApiError::NotFound)?).await?;
    let measurement_id = parse_id(&measurement_id).ok_or(ApiError::NotFound)?;
    let kpi_path = format!("/relationships/{}/kpis/{}", access.id(), kpi.id);
    let mut refused = None;
    if form.confirmed() {
        let input = RetractInput { reason: form.reason().to_owned() };
        match retract_measurement(&state, &access, &kpi, measurement_id, &input).await {
            Ok(_) => return Ok(back_to(kpi_path, Saved::Retracted)),
            Err(ApiError::Invalid(invalid)) if invalid.0.iter().all(|f| f.field == "reason") => {
                refused = invalid.0.first().map(|f| f.message.clone());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let value = retractable(&state, &access, &kpi, measurement_id).await?;
    // In words, as a sentence says it (a label such as 2026-11 would break at its hyphen).
    let period = crate::activity::period_words(kpi.cadence, value.period_start);
    let shown = format!("{} ({})", with_unit(value.value, &kpi.unit), value.rag.as_str());
    let by = if value.entered_by_name.is_empty() { String::new() } else { format!(" by {}", value.entered_by_name) };
    let page = ConfirmPage {
        shell: Shell::new(Some(&access.user), &csrf, "scorecard").within(&access.relationship),
        title: format!("Retract {} for {period}?", with_unit(value.value, &kpi.unit)),
        lines: vec![
            format!(
                "{shown}, recorded for {} in {period}{by} on {}, is withdrawn as recorded by mistake.",
                kpi.name,
                value.entered_at.strftime("%Y-%m-%d")
            ),
            format!(
                "It stays in the history, marked retracted with your reason. The scorecard, the chart and the KPI's status no longer use it, and {period} shows as missing until a value is recorded again."
            ),
        ],
        action: format!("{kpi_path}/measurements/{measurement_id}/retract"),
        button: "Retract the value",
        cancel: kpi_path,
        reason: Some(ConfirmReason { label: "Why was it recorded by mistake?", value: form.reason().to_owned(), error: refused.clone() }),
    };
    let status = if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(render(status, &page))
}

pub async fn change_thresholds(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, kpi_id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<VersionInput>,
) -> PageResult {
    access.manager()?;
    let mut page = kpi_page(&state, &access, &csrf, kpi_detail(&state, &access, &kpi_id).await?, &KpiQuery::default()).await?;
    match fresh.then(add_kpi_version(&state, &access, &page.kpi, &form)).await {
        Ok(_) => Ok(back_to(format!("/relationships/{}/kpis/{}", access.id(), page.kpi.id), Saved::Thresholds)),
        Err(e) if e.refuses_form() => {
            page.errors = if matches!(e, ApiError::Conflict(_)) {
                FormErrors::general(SENT_AGAIN_BELOW)
            } else {
                FormErrors::new(&e, KPI_PAGE_LABELS)
            };
            // What was typed, at the version now read: sending it again applies it.
            page.thresholds_form = VersionInput { version: page.kpi.version.to_string(), ..form };
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// Objectives.

pub struct ObjectiveRow {
    pub objective: Objective,
    pub owners: String,
    pub review_due: bool,
    pub kpis: usize,
}

#[derive(Template)]
#[template(path = "measures/objectives.html")]
struct ObjectivesPage {
    shell: Shell,
    relationship_id: Uuid,
    rows: Vec<ObjectiveRow>,
    parties: Vec<Party>,
    can_define: bool,
    errors: FormErrors,
    form: ObjectiveInput,
}

/// The fields of the form that adds an objective.
const OBJECTIVE_LABELS: Labels = &[
    ("title", "o-title", "Title"),
    ("description", "o-description", "Description"),
    ("review_months", "o-months", "Review every (months)"),
    ("next_review", "o-next", "First review"),
    ("parties", "o-parties", "Owned by"),
];

async fn objectives_page(state: &AppState, access: &Access, csrf: &CsrfToken) -> Result<ObjectivesPage, ApiError> {
    access.member()?;
    let id = access.id();
    let today = today(state, &access.relationship);
    let names = Names::load(state, id).await?;
    let kpis = state.store.kpis(id).await?;
    let rows = state
        .store
        .objectives(id)
        .await?
        .into_iter()
        .map(|objective| ObjectiveRow {
            owners: objective.parties.iter().map(|p| names.party(Some(*p))).collect::<Vec<_>>().join(", "),
            review_due: objective.status == ObjectiveStatus::Active && objective.next_review <= today,
            kpis: kpis.iter().filter(|k| k.objectives.contains(&objective.id)).count(),
            objective,
        })
        .collect();
    Ok(ObjectivesPage {
        shell: Shell::new(Some(&access.user), csrf, "objectives").within(&access.relationship),
        relationship_id: id,
        rows,
        parties: names.parties,
        can_define: access.manager().is_ok(),
        errors: FormErrors::default(),
        form: ObjectiveInput::default(),
    })
}

pub async fn objectives(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    Ok(render(StatusCode::OK, &objectives_page(&state, &access, &csrf).await?))
}

pub async fn create_objective(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<ObjectiveInput>,
) -> PageResult {
    match fresh.then(super::create_objective(&state, &access, &form)).await {
        Ok(_) => Ok(back_to(format!("/relationships/{}/objectives", access.id()), Saved::Objective)),
        Err(e) if e.refuses_form() => {
            let mut page = objectives_page(&state, &access, &csrf).await?;
            page.errors = FormErrors::new(&e, OBJECTIVE_LABELS);
            page.form = form;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "measures/objective.html")]
struct ObjectivePage {
    shell: Shell,
    relationship_id: Uuid,
    objective: Objective,
    owners: String,
    review_due: bool,
    kpis: Vec<Kpi>,
    reviews: Vec<ObjectiveReviewRecord>,
    can_review: bool,
    errors: FormErrors,
    /// The review's form as typed (after a refusal) or offered.
    form: ReviewInput,
}

/// The fields of an objective's review form.
const REVIEW_LABELS: Labels = &[
    ("verdict", "r-verdict", "Verdict"),
    ("reason", "r-reason", "Why"),
    ("title", "r-title", "New title"),
    ("description", "r-description", "New description"),
    ("next_review", "r-next", "Next review"),
    ("version", "", "The version you read"),
];

/// What a page says when its record changed since the form was opened.
const SENT_AGAIN_BELOW: &str = "Someone else changed this since you opened the page; it now reads as shown. What you typed is in the form, not saved: check it and send it again.";

async fn objective_page(state: &AppState, access: &Access, csrf: &CsrfToken, objective_id: &str) -> Result<ObjectivePage, ApiError> {
    access.member()?;
    let id = access.id();
    let (objective, reviews) = super::objective(state, access, parse_id(objective_id).ok_or(ApiError::NotFound)?).await?;
    let names = Names::load(state, id).await?;
    Ok(ObjectivePage {
        shell: Shell::new(Some(&access.user), csrf, "objectives").within(&access.relationship),
        relationship_id: id,
        owners: objective.parties.iter().map(|p| names.party(Some(*p))).collect::<Vec<_>>().join(", "),
        review_due: objective.status == ObjectiveStatus::Active && objective.next_review <= today(state, &access.relationship),
        kpis: state.store.kpis(id).await?.into_iter().filter(|k| k.objectives.contains(&objective.id)).collect(),
        reviews,
        can_review: access.manager().is_ok(),
        errors: FormErrors::default(),
        form: ReviewInput {
            version: objective.version.to_string(),
            verdict: "relevant".into(),
            title: objective.title.clone(),
            description: objective.description.clone(),
            ..ReviewInput::default()
        },
        objective,
    })
}

pub async fn objective(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, objective_id)): Path<(String, String)>,
) -> PageResult {
    Ok(render(StatusCode::OK, &objective_page(&state, &access, &csrf, &objective_id).await?))
}

pub async fn review_objective(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, objective_id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<ReviewInput>,
) -> PageResult {
    access.manager()?;
    let mut page = objective_page(&state, &access, &csrf, &objective_id).await?;
    match fresh.then(super::review_objective(&state, &access, &page.objective, &form)).await {
        Ok(_) => Ok(back_to(format!("/relationships/{}/objectives/{}", access.id(), page.objective.id), Saved::Review)),
        Err(e) if e.refuses_form() => {
            page.errors =
                if matches!(e, ApiError::Conflict(_)) { FormErrors::general(SENT_AGAIN_BELOW) } else { FormErrors::new(&e, REVIEW_LABELS) };
            page.form = ReviewInput { version: page.objective.version.to_string(), ..form };
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

// Obligations.

pub struct PartyDelivery {
    pub party: String,
    pub open: usize,
    pub at_risk: usize,
    pub overdue: usize,
    pub delivered: usize,
    pub missed: usize,
}

pub struct ObligationRow {
    pub obligation: Obligation,
    pub overdue: bool,
    pub can_update: bool,
    /// Its form: as stored, or as typed after a refusal with the messages.
    pub form: ObligationUpdate,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "measures/obligations.html")]
struct ObligationsPage {
    shell: Shell,
    relationship_id: Uuid,
    delivery: Vec<PartyDelivery>,
    rows: Vec<ObligationRow>,
    parties: Vec<Party>,
    statuses: [ObligationStatus; 5],
    recurrences: [&'static str; 5],
    can_define: bool,
    errors: FormErrors,
    form: ObligationInput,
}

/// The fields of the form that records an obligation.
const OBLIGATION_LABELS: Labels = &[
    ("party", "b-party", "Party"),
    ("title", "b-title", "What was committed"),
    ("description", "b-description", "Details"),
    ("recurrence", "b-recurrence", "Recurs"),
    ("due_date", "b-due", "Due"),
];

/// The fields of an obligation's row (its id is the scope).
const OBLIGATION_UPDATE_LABELS: Labels =
    &[("status", "s-{s}", "Status"), ("evidence", "e-{s}", "Evidence"), ("due_date", "", "Due"), ("version", "", "The version you read")];

async fn obligations_page(state: &AppState, access: &Access, csrf: &CsrfToken) -> Result<ObligationsPage, ApiError> {
    access.member()?;
    let id = access.id();
    let today = today(state, &access.relationship);
    let parties = state.store.parties(id).await?;
    let obligations = state.store.obligations(id).await?;
    let delivery = parties
        .iter()
        .map(|p| {
            let of = || obligations.iter().filter(|o| o.party_id == p.id);
            PartyDelivery {
                party: p.organisation_name.clone(),
                open: of().filter(|o| o.status.open()).count(),
                at_risk: of().filter(|o| o.status == ObligationStatus::AtRisk).count(),
                overdue: of().filter(|o| o.status.open() && o.due_date < today).count(),
                delivered: of().filter(|o| o.status == ObligationStatus::Delivered).count(),
                missed: of().filter(|o| o.status == ObligationStatus::Missed).count(),
            }
        })
        .collect();
    // Overdue first, then the rest of the open ones by due date, then the closed ones.
    let mut rows: Vec<ObligationRow> = obligations
        .into_iter()
        .map(|o| ObligationRow {
            overdue: o.status.open() && o.due_date < today,
            can_update: may_update_obligation(access, &o).is_ok(),
            form: ObligationUpdate {
                version: o.version.to_string(),
                status: o.status.as_str().to_owned(),
                evidence: o.evidence.clone(),
                due_date: String::new(),
            },
            errors: FormErrors::default(),
            obligation: o,
        })
        .collect();
    rows.sort_by_key(|r| (!r.overdue, !r.obligation.status.open()));
    Ok(ObligationsPage {
        shell: Shell::new(Some(&access.user), csrf, "obligations").within(&access.relationship),
        relationship_id: id,
        delivery,
        rows,
        parties,
        statuses: ObligationStatus::ALL,
        recurrences: RECURRENCES,
        can_define: access.manager().is_ok(),
        errors: FormErrors::default(),
        form: ObligationInput::default(),
    })
}

pub async fn obligations(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    Ok(render(StatusCode::OK, &obligations_page(&state, &access, &csrf).await?))
}

pub async fn create_obligation(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<ObligationInput>,
) -> PageResult {
    match fresh.then(super::create_obligation(&state, &access, &form)).await {
        Ok(_) => Ok(back_to(format!("/relationships/{}/obligations", access.id()), Saved::Obligation)),
        Err(e) if e.refuses_form() => {
            let mut page = obligations_page(&state, &access, &csrf).await?;
            page.errors = FormErrors::new(&e, OBLIGATION_LABELS);
            page.form = form;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn update_obligation(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, obligation_id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<ObligationUpdate>,
) -> PageResult {
    let obligation = super::obligation(&state, &access, parse_id(&obligation_id).ok_or(ApiError::NotFound)?).await?;
    match fresh.then(super::update_obligation(&state, &access, &obligation, &form)).await {
        Ok(_) => Ok(back_to(format!("/relationships/{}/obligations", access.id()), Saved::Obligation)),
        Err(e) if e.refuses_form() => {
            let mut page = obligations_page(&state, &access, &csrf).await?;
            let scope = obligation.id.to_string();
            let Some(row) = page.rows.iter_mut().find(|r| r.obligation.id == obligation.id) else { return Err(ApiError::NotFound.into()) };
            // Which row: the page holds several such forms; a stale save says what it is now,
            // since the row shows what was typed.
            let current = &row.obligation;
            let general = match &e {
                ApiError::Conflict(_) => format!(
                    "{}: someone else changed it since you opened the page (now {}{}). What you typed is in its row, not saved: check it and save again.",
                    current.title,
                    current.status.label(),
                    if current.evidence.is_empty() { String::new() } else { format!(", evidence “{}”", current.evidence) },
                ),
                _ => format!("{}: not saved.", current.title),
            };
            let mut errors = FormErrors::scoped(&e, OBLIGATION_UPDATE_LABELS, &scope);
            errors.general = Some(general);
            // What was typed, at the version now read: sending it again applies it.
            row.form = ObligationUpdate { version: current.version.to_string(), ..form };
            row.errors = errors;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}
