//! The action log's pages: the log, an action, and the form that raises one.

use super::*;
use crate::auth::{PageView, Viewed};
use crate::dates::today;
use crate::error::PageResult;
use crate::forms::{FormErrors, Labels, SentForm};
use crate::layout::{Saved, Shell, refused, render, saved};
use crate::session::CsrfToken;
use accord_domain::measure::Period;
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use jiff::civil::Date;
use std::collections::HashMap;

pages! { ROUTES, router;
    get "/relationships/{relationship_id}/actions" => actions;
    post "/relationships/{relationship_id}/actions" => create_action;
    get "/relationships/{relationship_id}/actions/new" => new_action;
    get "/relationships/{relationship_id}/actions/{action_id}" => action;
    post "/relationships/{relationship_id}/actions/{action_id}" => update_action;
}

pub struct ActionRow {
    pub action: Action,
    pub overdue: bool,
    pub can_update: bool,
    /// What raised it, and where that is.
    pub source: Option<(String, String)>,
}

impl ActionRow {
    /// `kpis` names the KPI an action was raised from (any others are ignored).
    fn new(access: &Access, today: Date, kpis: &HashMap<Uuid, KpiLabel>, action: Action) -> ActionRow {
        let id = access.id();
        ActionRow {
            overdue: action.status.open() && action.due_date < today,
            can_update: may_update_action(access, &action).is_ok(),
            source: match &action.source {
                Some(s) if s.kind == "kpi_period" => kpis.get(&s.id).map(|k| {
                    let period = s.period.map(|p| format!(", {}", Period { cadence: k.cadence, start: p }.label())).unwrap_or_default();
                    (format!("{}{period}", k.name), format!("/relationships/{id}/kpis/{}", k.id))
                }),
                Some(s) if s.kind == "obligation" => Some(("an obligation".to_owned(), format!("/relationships/{id}/obligations"))),
                _ => None,
            },
            action,
        }
    }
}

/// The action log: a line an action, its status changed in place; everything else on the
/// action's page, so the log reads no member list.
#[derive(Template)]
#[template(path = "actions/actions.html")]
struct ActionsPage {
    shell: Shell,
    relationship_id: Uuid,
    rows: Vec<ActionRow>,
    statuses: [ActionStatus; 4],
    status: String,
    next: Option<String>,
    can_create: bool,
}

#[derive(Deserialize, Default)]
pub struct ActionsQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

const ACTIONS_PER_PAGE: u32 = 50;

impl ActionsQuery {
    fn status(&self) -> &str {
        if self.status.is_empty() { "open" } else { self.status.as_str() }
    }
}

impl PageView for ActionLogView {
    fn request(_: &HashMap<String, String>, uri: &Uri) -> Result<ViewRequest, ApiError> {
        let q: ActionsQuery = crate::json::query(uri)?;
        let request =
            ActionLogRequest { filter: action_filter(Some(q.status()))?, after: action_cursor(&q.after)?, limit: ACTIONS_PER_PAGE + 1 };
        Ok(ViewRequest::ActionLog(request))
    }
}

fn actions_page(
    state: &AppState, access: &Access, csrf: &CsrfToken, view: ActionLogView, q: &ActionsQuery,
) -> Result<ActionsPage, ApiError> {
    access.member()?;
    let id = access.id();
    let today = today(state, &access.relationship);
    let status = q.status();
    let ActionLogView { mut actions, kpis } = view;
    let next = (actions.len() > ACTIONS_PER_PAGE as usize).then(|| {
        actions.truncate(ACTIONS_PER_PAGE as usize);
        actions.last().map(|a| format!("{}_{}", a.due_date, a.id)).unwrap_or_default()
    });
    let kpis: HashMap<Uuid, KpiLabel> = kpis.into_iter().map(|k| (k.id, k)).collect();
    Ok(ActionsPage {
        shell: Shell::new(Some(&access.user), csrf, "actions").within(&access.relationship),
        relationship_id: id,
        rows: actions.into_iter().map(|action| ActionRow::new(access, today, &kpis, action)).collect(),
        statuses: ActionStatus::ALL,
        status: status.to_owned(),
        next,
        can_create: access.writer().is_ok(),
    })
}

pub async fn actions(
    State(state): State<AppState>, Viewed { access, view }: Viewed<ActionLogView>, Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<ActionsQuery>,
) -> PageResult {
    Ok(render(StatusCode::OK, &actions_page(&state, &access, &csrf, view, &q)?))
}

/// The form that raises an action, on a page of its own.
#[derive(Template)]
#[template(path = "actions/action_new.html")]
struct NewActionPage {
    shell: Shell,
    relationship_id: Uuid,
    members: Vec<Member>,
    errors: FormErrors,
    form: ActionInput,
}

/// The fields of the form that raises an action, as its labels name them (what raised it is
/// not typed: a refusal of it is named in words).
const NEW_ACTION_LABELS: Labels = &[
    ("title", "a-title", "What needs doing"),
    ("description", "a-description", "Details"),
    ("owner", "a-owner", "Owner"),
    ("due_date", "a-due", "Due"),
    ("party", "", "The owning party"),
    ("source_kind", "", "What raised it"),
    ("source_id", "", "What raised it"),
    ("source_period", "", "The period that raised it"),
];

/// The fields of an action's update form.
const UPDATE_LABELS: Labels = &[
    ("status", "u-status", "Status"),
    ("owner", "u-owner", "Owner"),
    ("due_date", "u-due", "Due"),
    ("version", "", "The version you read"),
];

async fn new_action_page(
    state: &AppState, access: &Access, csrf: &CsrfToken, form: ActionInput, errors: FormErrors,
) -> Result<NewActionPage, ApiError> {
    Ok(NewActionPage {
        shell: Shell::new(Some(&access.user), csrf, "actions").within(&access.relationship),
        relationship_id: access.id(),
        members: state.store.members(access.id()).await?,
        errors,
        form,
    })
}

pub async fn new_action(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    access.writer()?;
    let due = today(&state, &access.relationship).checked_add(jiff::Span::new().days(14)).ok();
    let form = ActionInput { due_date: due.map(|d| d.to_string()).unwrap_or_default(), ..ActionInput::default() };
    Ok(render(StatusCode::OK, &new_action_page(&state, &access, &csrf, form, FormErrors::default()).await?))
}

/// Raises an action (from its form, or in one click from a red KPI period).
pub async fn create_action(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<ActionInput>,
) -> PageResult {
    let result = fresh.then(super::create_action(&state, &access, &form)).await;
    match result {
        Ok(action) => Ok(saved(&format!("/relationships/{}/actions#action-{}", access.id(), action.id), Saved::Action)),
        Err(e) if e.refuses_form() => {
            let errors = FormErrors::new(&e, NEW_ACTION_LABELS);
            Ok(refused(&e, &new_action_page(&state, &access, &csrf, form, errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}

/// An action: what it is and where it came from, and for its owner and the JMT the form that
/// changes its status, owner and due date.
#[derive(Template)]
#[template(path = "actions/action.html")]
struct ActionPage {
    shell: Shell,
    relationship_id: Uuid,
    row: ActionRow,
    members: Vec<Member>,
    statuses: [ActionStatus; 4],
    errors: FormErrors,
    form: ActionUpdate,
}

async fn action_page(
    state: &AppState, access: &Access, csrf: &CsrfToken, action: Action, form: Option<ActionUpdate>, errors: FormErrors,
) -> Result<ActionPage, ApiError> {
    let id = access.id();
    let kpis: HashMap<Uuid, KpiLabel> = match &action.source {
        Some(s) if s.kind == "kpi_period" => match state.store.kpi(id, s.id).await {
            Ok(k) => HashMap::from([(k.id, KpiLabel { id: k.id, name: k.name, cadence: k.cadence })]),
            Err(StoreError::NotFound(_)) => HashMap::new(),
            Err(e) => return Err(e.into()),
        },
        _ => HashMap::new(),
    };
    let row = ActionRow::new(access, today(state, &access.relationship), &kpis, action);
    let members = if row.can_update { state.store.members(id).await? } else { Vec::new() };
    let form = form.unwrap_or_else(|| ActionUpdate {
        version: row.action.version.to_string(),
        status: row.action.status.as_str().to_owned(),
        owner: row.action.owner_id.map(|u| u.to_string()).unwrap_or_default(),
        due_date: row.action.due_date.to_string(),
    });
    Ok(ActionPage {
        shell: Shell::new(Some(&access.user), csrf, "actions").within(&access.relationship),
        relationship_id: id,
        row,
        members,
        statuses: ActionStatus::ALL,
        errors,
        form,
    })
}

pub async fn action(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, action_id)): Path<(String, String)>,
) -> PageResult {
    let action = super::action(&state, &access, parse_id(&action_id).ok_or(ApiError::NotFound)?).await?;
    Ok(render(StatusCode::OK, &action_page(&state, &access, &csrf, action, None, FormErrors::default()).await?))
}

/// Where a change of an action came from: its page (`?from=action`) or the log.
#[derive(Deserialize, Default)]
pub struct ChangedFrom {
    #[serde(default)]
    from: String,
}

pub async fn update_action(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, action_id)): Path<(String, String)>,
    Query(from): Query<ChangedFrom>, SentForm(form, fresh): SentForm<ActionUpdate>,
) -> PageResult {
    let action = super::action(&state, &access, parse_id(&action_id).ok_or(ApiError::NotFound)?).await?;
    let result = fresh.then(super::update_action(&state, &access, &action, &form)).await;
    match result {
        Ok(_) if from.from == "action" => Ok(saved(&format!("/relationships/{}/actions/{}", access.id(), action.id), Saved::Action)),
        Ok(_) => Ok(saved(&format!("/relationships/{}/actions#action-{}", access.id(), action.id), Saved::Action)),
        // Changed meanwhile: the action as it is now above, what was sent below (at the version
        // now read), to decide and save again.
        Err(e @ ApiError::Conflict(_)) => {
            let current = state.store.action(access.id(), action.id).await?;
            let form = ActionUpdate { version: current.version.to_string(), ..form };
            let errors = FormErrors::general(
                "Someone else changed this action since you opened it; it now reads as shown above. Your changes are in the form below, not saved: check them and save again.",
            );
            Ok(refused(&e, &action_page(&state, &access, &csrf, current, Some(form), errors).await?))
        }
        // Refused: the action's page with the messages, and what was sent to correct it.
        Err(e) if e.refuses_form() => {
            let errors = FormErrors::new(&e, UPDATE_LABELS);
            Ok(refused(&e, &action_page(&state, &access, &csrf, action, Some(form), errors).await?))
        }
        Err(e) => Err(e.into()),
    }
}
