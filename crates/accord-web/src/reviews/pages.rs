//! The reviews' pages: the series with their next meeting (and any overdue), a series and its
//! meetings, the form that sets one up, and a meeting: its agenda and its minutes.

use super::*;
use crate::dates::{SeriesRow, meeting_start as when, series_rows, today};
use crate::error::PageResult;
use crate::forms::{FormErrors, Labels, SentForm};
use crate::layout::{Saved, Shell, refused, render, saved};
use crate::session::CsrfToken;
use accord_domain::review::MeetingStatus;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

pages! { ROUTES, router;
    get "/relationships/{relationship_id}/reviews" => reviews;
    post "/relationships/{relationship_id}/reviews" => create_series;
    get "/relationships/{relationship_id}/reviews/new" => new_series;
    get "/relationships/{relationship_id}/reviews/{series_id}" => series_page;
    post "/relationships/{relationship_id}/reviews/{series_id}" => update_series;
    get "/relationships/{relationship_id}/reviews/{series_id}/edit" => edit_series;
    post "/relationships/{relationship_id}/reviews/{series_id}/meetings" => schedule_meeting;
    get "/relationships/{relationship_id}/meetings/{meeting_id}" => meeting_page;
    post "/relationships/{relationship_id}/meetings/{meeting_id}" => change_meeting;
}

#[derive(Template)]
#[template(path = "reviews/reviews.html")]
struct ReviewsPage {
    shell: Shell,
    relationship_id: Uuid,
    rows: Vec<SeriesRow>,
    can_manage: bool,
}

pub async fn reviews(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    let lines = super::series_list(&state, &access).await?;
    let rows = series_rows(lines, today(&state, &access.relationship), &access.relationship.zone());
    Ok(render(
        StatusCode::OK,
        &ReviewsPage {
            shell: Shell::new(Some(&access.user), &csrf, "reviews").within(&access.relationship),
            relationship_id: access.id(),
            rows,
            can_manage: access.manager().is_ok(),
        },
    ))
}

/// The form that sets up or changes a series.
#[derive(Template)]
#[template(path = "reviews/series_form.html")]
struct SeriesFormPage {
    shell: Shell,
    relationship_id: Uuid,
    /// The series changed; none for a new one.
    series_id: Option<Uuid>,
    parties: Vec<Party>,
    members: Vec<Member>,
    kinds: &'static [ReviewKind],
    roles: [Role; 4],
    errors: FormErrors,
    form: SeriesForm,
}

const SERIES_LABELS: Labels = &[
    ("name", "s-name", "Name"),
    ("kind", "s-kind", "Kind"),
    ("cadence", "s-cadence", "How often"),
    ("chairs", "s-chairs", "Chairs"),
    ("invited_roles", "s-roles", "Invited roles"),
    ("invitees", "s-invitees", "Invited members"),
    ("version", "", "The version you read"),
];

async fn series_form_page(
    state: &AppState, access: &Access, csrf: &CsrfToken, series_id: Option<Uuid>, form: SeriesForm, errors: FormErrors,
) -> Result<SeriesFormPage, ApiError> {
    Ok(SeriesFormPage {
        shell: Shell::new(Some(&access.user), csrf, "reviews").within(&access.relationship),
        relationship_id: access.id(),
        series_id,
        parties: state.store.parties(access.id()).await?,
        members: state.store.members(access.id()).await?,
        kinds: ReviewKind::ALL,
        roles: Role::ALL,
        errors,
        form,
    })
}

pub async fn new_series(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    access.manager()?;
    let form = SeriesForm { kind: "jmt".into(), cadence: "monthly".into(), invited_roles: vec!["jmt".into()], ..SeriesForm::default() };
    Ok(render(StatusCode::OK, &series_form_page(&state, &access, &csrf, None, form, FormErrors::default()).await?))
}

pub async fn create_series(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<SeriesForm>,
) -> PageResult {
    match fresh.then(super::create_series(&state, &access, &form)).await {
        Ok(s) => Ok(saved(&format!("/relationships/{}/reviews/{}", access.id(), s.id), Saved::Series)),
        Err(e) if e.refuses_form() => {
            let errors = FormErrors::new(&e, SERIES_LABELS);
            Ok(refused(&e, &series_form_page(&state, &access, &csrf, None, form, errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}

fn form_of(s: &Series) -> SeriesForm {
    SeriesForm {
        name: s.name.clone(),
        kind: s.kind.as_str().into(),
        cadence: s.cadence.label().to_lowercase().replace("every ", ""),
        chairs: s.chairs.iter().map(|c| c.user_id.to_string()).collect(),
        invited_roles: s.invited_roles.iter().map(|r| r.as_str().to_owned()).collect(),
        invitees: s.invitees.iter().map(|i| i.user_id.to_string()).collect(),
        version: s.version.to_string(),
    }
}

pub async fn edit_series(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, series_id)): Path<(String, String)>,
) -> PageResult {
    access.manager()?;
    let s = super::series(&state, &access, parse_id(&series_id).ok_or(ApiError::NotFound)?).await?;
    Ok(render(StatusCode::OK, &series_form_page(&state, &access, &csrf, Some(s.id), form_of(&s), FormErrors::default()).await?))
}

pub async fn update_series(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, series_id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<SeriesForm>,
) -> PageResult {
    let s = super::series(&state, &access, parse_id(&series_id).ok_or(ApiError::NotFound)?).await?;
    match fresh.then(super::update_series(&state, &access, s.id, &form)).await {
        Ok(s) => Ok(saved(&format!("/relationships/{}/reviews/{}", access.id(), s.id), Saved::Series)),
        Err(e @ ApiError::Conflict(_)) => {
            let current = state.store.series(access.id(), s.id).await?;
            let form = SeriesForm { version: current.version.to_string(), ..form };
            let errors = FormErrors::general(
                "Someone else changed this series since you opened it. Your changes are in the form, not saved: check them and save again.",
            );
            Ok(refused(&e, &series_form_page(&state, &access, &csrf, Some(s.id), form, errors).await?))
        }
        Err(e) if e.refuses_form() => {
            let errors = FormErrors::new(&e, SERIES_LABELS);
            Ok(refused(&e, &series_form_page(&state, &access, &csrf, Some(s.id), form, errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// A series: who chairs it and who is invited, its meetings, and the form that schedules one.
#[derive(Template)]
#[template(path = "reviews/series.html")]
struct SeriesPage {
    shell: Shell,
    relationship_id: Uuid,
    series: Series,
    meetings: Vec<(MeetingLine, String)>,
    can_manage: bool,
    errors: FormErrors,
    form: MeetingForm,
}

const MEETING_LABELS: Labels = &[
    ("date", "m-date", "Date"),
    ("time", "m-time", "Time"),
    ("time_zone", "m-zone", "Time zone"),
    ("duration_minutes", "m-duration", "Minutes"),
    ("place", "m-place", "Place"),
    ("call_link", "m-call", "Call link"),
];

async fn series_view(
    state: &AppState, access: &Access, csrf: &CsrfToken, series_id: &str, form: Option<MeetingForm>, errors: FormErrors,
) -> Result<SeriesPage, ApiError> {
    let series = super::series(state, access, parse_id(series_id).ok_or(ApiError::NotFound)?).await?;
    let meetings = state.store.meetings(access.id(), series.id, None, 100).await?.into_iter().map(|m| {
        let w = when(&m);
        (m, w)
    });
    let next = series.cadence.after(today(state, &access.relationship));
    let form = form.unwrap_or_else(|| MeetingForm {
        date: next.to_string(),
        time: "10:00".into(),
        time_zone: access.relationship.time_zone.clone(),
        duration_minutes: "60".into(),
        ..MeetingForm::default()
    });
    Ok(SeriesPage {
        shell: Shell::new(Some(&access.user), csrf, "reviews").within(&access.relationship),
        relationship_id: access.id(),
        meetings: meetings.collect(),
        can_manage: access.manager().is_ok(),
        series,
        errors,
        form,
    })
}

pub async fn series_page(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, series_id)): Path<(String, String)>,
) -> PageResult {
    Ok(render(StatusCode::OK, &series_view(&state, &access, &csrf, &series_id, None, FormErrors::default()).await?))
}

pub async fn schedule_meeting(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, series_id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<MeetingForm>,
) -> PageResult {
    let id = parse_id(&series_id).ok_or(ApiError::NotFound)?;
    match fresh.then(super::schedule_meeting(&state, &access, id, &form)).await {
        Ok(m) => Ok(saved(&format!("/relationships/{}/meetings/{}", access.id(), m.line.id), Saved::Meeting)),
        Err(e) if e.refuses_form() => {
            let errors = FormErrors::new(&e, MEETING_LABELS);
            Ok(refused(&e, &series_view(&state, &access, &csrf, &series_id, Some(form), errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// An agenda item as the meeting page shows it: its data as lines, its link, what was decided
/// and raised from it.
pub struct ItemView {
    pub item: AgendaItem,
    pub number: usize,
    pub link: Option<String>,
    /// What the data said of it (as frozen once minuting started).
    pub data: String,
    pub decisions: Vec<Decision>,
    pub actions: Vec<RaisedAction>,
}

/// What an item's data said, in a line: `94.6% (amber), worsening from 97.2; 2026-11; Keystone`.
fn data_summary(source: AgendaSource, d: &Value) -> String {
    let t = |key: &str| match &d[key] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let with_unit = |key: &str| match t("unit").as_str() {
        "" => t(key),
        "%" => format!("{}%", t(key)),
        unit => format!("{} {unit}", t(key)),
    };
    let parts: Vec<String> = match source {
        AgendaSource::Kpi => {
            let trend = match (t("trend").as_str(), t("previous").is_empty()) {
                ("worsening", false) => format!(", worsening from {}", with_unit("previous")),
                _ => String::new(),
            };
            vec![format!("{} ({}){trend}", with_unit("value"), t("rag")), t("period"), t("party")]
        }
        AgendaSource::Obligation => {
            let late = if d["past_due"] == true { ", past due" } else { "" };
            vec![t("party"), format!("{}, due {}{late}", t("status").replace('_', " "), t("due_date"))]
        }
        AgendaSource::Issue => {
            let escalated = if d["escalated_since"] == true { ", escalated since the last meeting" } else { "" };
            vec![
                format!("at {}{escalated}", t("level_name")),
                format!("{} severity", t("severity")),
                format!("raised by {}", t("raised_by")),
            ]
        }
        AgendaSource::Action => {
            let late = if d["overdue"] == true { ", overdue" } else { "" };
            vec![t("party"), t("owner"), format!("due {}{late}", t("due_date")), t("status").replace('_', " ")]
        }
        AgendaSource::Objective => vec![format!("relevance review due {}", t("next_review"))],
        AgendaSource::Member => Vec::new(),
    };
    parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join("; ")
}

#[derive(Template)]
#[template(path = "reviews/meeting.html")]
struct MeetingPage {
    shell: Shell,
    relationship_id: Uuid,
    meeting: Meeting,
    /// Where every form of the page posts.
    action: String,
    when: String,
    items: Vec<ItemView>,
    members: Vec<Member>,
    parties: Vec<Party>,
    presences: &'static [Presence],
    can_manage: bool,
    scheduled: bool,
    minuting: bool,
    errors: FormErrors,
    form: MeetingChange,
}

const CHANGE_LABELS: Labels = &[
    ("change", "", "The change"),
    ("version", "", "The version you read"),
    ("date", "r-date", "Date"),
    ("time", "r-time", "Time"),
    ("time_zone", "r-zone", "Time zone"),
    ("duration_minutes", "r-duration", "Minutes"),
    ("place", "r-place", "Place"),
    ("call_link", "r-call", "Call link"),
    ("title", "", "Title"),
    ("item", "", "The agenda item"),
    ("notes", "", "Notes"),
    ("text", "", "The decision"),
    ("agreed", "", "Agreed for each party by"),
    ("intervention_party", "", "An intervention aimed at"),
    ("attendance", "", "Attendance"),
    ("owner", "", "Owner"),
    ("party", "", "Party"),
    ("due_date", "", "Due"),
    ("status", "", "The meeting"),
];

async fn meeting_view(
    state: &AppState, access: &Access, csrf: &CsrfToken, meeting_id: &str, form: Option<MeetingChange>, errors: FormErrors,
) -> Result<MeetingPage, ApiError> {
    let meeting = super::meeting(state, access, parse_id(meeting_id).ok_or(ApiError::NotFound)?).await?;
    let can_manage = access.manager().is_ok();
    // Members fill the minute-taker's forms; parties name an intervention's party for everyone.
    let members = if can_manage { state.store.members(access.id()).await? } else { Vec::new() };
    let parties = state.store.parties(access.id()).await?;
    let m = &meeting.minutes;
    let items = m
        .items
        .iter()
        .enumerate()
        .map(|(n, item)| ItemView {
            number: n + 1,
            link: source_link(access.id(), item),
            data: data_summary(item.source, &item.data),
            decisions: m.decisions.iter().filter(|d| d.item_id == item.id).cloned().collect(),
            actions: m.actions.iter().filter(|a| a.item_id == item.id).cloned().collect(),
            item: item.clone(),
        })
        .collect();
    let form = form.unwrap_or_else(|| MeetingChange {
        date: meeting.line.local_start.date().to_string(),
        time: meeting.line.local_start.strftime("%H:%M").to_string(),
        time_zone: meeting.line.time_zone.clone(),
        duration_minutes: meeting.line.duration_minutes.to_string(),
        place: meeting.place.place.clone(),
        call_link: meeting.place.call_link.clone(),
        ..MeetingChange::default()
    });
    Ok(MeetingPage {
        shell: Shell::new(Some(&access.user), csrf, "reviews").within(&access.relationship),
        relationship_id: access.id(),
        action: format!("/relationships/{}/meetings/{}", access.id(), meeting.line.id),
        when: when(&meeting.line),
        scheduled: meeting.line.status == MeetingStatus::Scheduled,
        minuting: meeting.line.status == MeetingStatus::Minuting,
        items,
        members,
        parties,
        presences: Presence::ALL,
        can_manage,
        errors,
        form,
        meeting,
    })
}

pub async fn meeting_page(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, meeting_id)): Path<(String, String)>,
) -> PageResult {
    Ok(render(StatusCode::OK, &meeting_view(&state, &access, &csrf, &meeting_id, None, FormErrors::default()).await?))
}

pub async fn change_meeting(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, meeting_id)): Path<(String, String)>,
    SentForm(form, fresh): SentForm<MeetingChange>,
) -> PageResult {
    let id = parse_id(&meeting_id).ok_or(ApiError::NotFound)?;
    match fresh.then(super::change_meeting(&state, &access, id, &form)).await {
        Ok(m) => {
            let at = if form.item.is_empty() { String::new() } else { format!("#item-{}", form.item) };
            Ok(saved(&format!("/relationships/{}/meetings/{}{at}", access.id(), m.line.id), Saved::Meeting))
        }
        Err(e) if e.refuses_form() => {
            let errors = match &e {
                ApiError::Conflict(_) => FormErrors::general(
                    "Someone else changed this meeting since you opened it; it now reads as shown. What you sent is not saved: send it again.",
                ),
                _ => FormErrors::new(&e, CHANGE_LABELS),
            };
            Ok(refused(&e, &meeting_view(&state, &access, &csrf, &meeting_id, Some(form), errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}
