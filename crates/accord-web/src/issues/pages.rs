//! The issue log, an issue, the ladder.

use super::*;
use crate::auth::{PageView, Viewed};
use crate::charts::level_bars;
use crate::dates::{hours_text, when};
use crate::error::PageResult;
use crate::forms::CsrfForm;
use crate::layout::{Saved, Shell, field_message, render, saved};
use crate::session::CsrfToken;
use accord_domain::escalation::{IssueStatus, median_hours};
use askama::Template;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use std::collections::HashMap;

pages! { ROUTES, router;
    get "/relationships/{relationship_id}/issues" => log;
    post "/relationships/{relationship_id}/issues" => raise;
    get "/relationships/{relationship_id}/issues/new" => new_issue;
    get "/relationships/{relationship_id}/issues/{issue_id}" => show_issue;
    post "/relationships/{relationship_id}/issues/{issue_id}/comments" => comment;
    post "/relationships/{relationship_id}/issues/{issue_id}/proposals" => propose;
    post "/relationships/{relationship_id}/issues/{issue_id}/responses" => respond;
    post "/relationships/{relationship_id}/issues/{issue_id}/escalations" => escalate;
    post "/relationships/{relationship_id}/issues/{issue_id}/withdrawals" => withdraw;
    get "/relationships/{relationship_id}/ladder" => ladder;
    post "/relationships/{relationship_id}/ladder" => save_ladder;
    post "/relationships/{relationship_id}/holidays" => save_holidays;
}

pub struct Figure {
    pub name: String,
    pub open: i64,
    pub resolved: i64,
    pub median: String,
}

pub struct LogRow {
    pub issue: IssueLine,
    pub level_name: String,
    pub party: String,
    pub overdue: bool,
    pub deadline: String,
}

#[derive(Template)]
#[template(path = "issues/issues.html")]
struct IssuesPage {
    shell: Shell,
    relationship_id: Uuid,
    figures: Vec<Figure>,
    first_level_share: Option<i64>,
    chart: String,
    rows: Vec<LogRow>,
    next: Option<String>,
    levels: Vec<String>,
    parties: Vec<Party>,
    categories: [&'static str; 6],
    query: LogQuery,
    can_raise: bool,
}

/// The form for a new issue: on a page of its own, so that the log does not carry every
/// objective, KPI and obligation it might touch.
#[derive(Template)]
#[template(path = "issues/issue_new.html")]
struct NewIssuePage {
    shell: Shell,
    relationship_id: Uuid,
    categories: [&'static str; 6],
    severities: [&'static str; 4],
    /// What a new issue may touch: (`kind:id`, label).
    link_options: Vec<(String, String)>,
    error: Option<String>,
    form: IssueInput,
}

/// The issue log's filters, as they came (for the form to show them again).
#[derive(serde::Deserialize, Default, Clone)]
pub struct LogQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub party: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub after: String,
}

impl LogQuery {
    fn api(&self) -> IssueQuery {
        IssueQuery {
            status: Some(self.status.clone()).filter(|s| !s.is_empty()),
            level: self.level.parse().ok(),
            party: Some(self.party.clone()),
            category: Some(self.category.clone()),
            after: Some(self.after.clone()),
            limit: None,
        }
    }

    /// The query string of the next page.
    pub fn next(&self, after: &str) -> String {
        format!("status={}&level={}&party={}&category={}&after={after}", self.status, self.level, self.party, self.category)
    }
}

const PER_PAGE: u32 = 50;

impl PageView for IssueLogView {
    fn request(_: &HashMap<String, String>, uri: &Uri) -> Result<ViewRequest, ApiError> {
        let q: LogQuery = crate::json::query(uri)?;
        let api = q.api();
        Ok(ViewRequest::IssueLog(IssueLogRequest { filter: api.filter()?, after: api.cursor()?, limit: PER_PAGE + 1 }))
    }
}

fn log_page(state: &AppState, access: &Access, csrf: &CsrfToken, view: IssueLogView, q: &LogQuery) -> Result<IssuesPage, ApiError> {
    access.member()?;
    let id = access.id();
    let order = q.api().filter()?.state;
    let IssueLogView { ladder, stats, parties, mut issues } = view;
    let names: HashMap<Uuid, String> = parties.iter().map(|p| (p.id, p.organisation_name.clone())).collect();
    let level_name = |l: i32| ladder.levels.get(l as usize).map_or_else(|| format!("Level {}", l + 1), |x| x.name.clone());
    let figures: Vec<Figure> = (0..ladder.levels.len().max(stats.len()))
        .map(|l| {
            let s = stats.iter().find(|s| s.level == l as i32);
            Figure {
                name: level_name(l as i32),
                open: s.map_or(0, |s| s.open),
                resolved: s.map_or(0, |s| s.resolved),
                median: s.and_then(|s| median_hours(&s.buckets)).map_or_else(|| "—".into(), |h| format!("under {}", hours_text(h))),
            }
        })
        .collect();
    let resolved: i64 = figures.iter().map(|f| f.resolved).sum();
    let first_level_share = (resolved > 0).then(|| figures.first().map_or(0, |f| f.resolved) * 100 / resolved);
    let chart = level_bars(&figures.iter().map(|f| (f.name.clone(), f.open, f.resolved)).collect::<Vec<_>>());
    let next = (issues.len() > PER_PAGE as usize).then(|| {
        issues.truncate(PER_PAGE as usize);
        issues.last().map(|i| q.next(&issue_cursor(i.cursor(order)))).unwrap_or_default()
    });
    let now = state.now();
    let zone = access.relationship.zone();
    let rows = issues
        .into_iter()
        .map(|issue| LogRow {
            level_name: level_name(issue.level),
            party: names.get(&issue.raising_party_id).cloned().unwrap_or_default(),
            overdue: issue.status.live() && issue.deadline <= now,
            deadline: when(&zone, &issue.deadline),
            issue,
        })
        .collect();
    Ok(IssuesPage {
        shell: Shell::new(Some(&access.user), csrf, "issues").within(&access.relationship),
        relationship_id: id,
        figures,
        first_level_share,
        chart,
        rows,
        next,
        levels: ladder.levels.iter().map(|l| l.name.clone()).collect(),
        parties,
        categories: CATEGORIES,
        query: q.clone(),
        can_raise: access.writer().is_ok(),
    })
}

/// Everything an issue may touch, as (`kind:id`, label), for the form and for showing links.
fn link_options(targets: &[LinkTarget]) -> Vec<(String, String)> {
    targets
        .iter()
        .map(|t| {
            let what = match t.kind.as_str() {
                "objective" => "Objective",
                "kpi" => "KPI",
                _ => "Obligation",
            };
            (format!("{}:{}", t.kind, t.id), format!("{what}: {}", t.label))
        })
        .collect()
}

pub async fn log(
    State(state): State<AppState>, Viewed { access, view }: Viewed<IssueLogView>, Extension(csrf): Extension<CsrfToken>,
    Query(q): Query<LogQuery>,
) -> PageResult {
    Ok(render(StatusCode::OK, &log_page(&state, &access, &csrf, view, &q)?))
}

fn to_issue(access: &Access, issue: Uuid, what: Saved) -> Response {
    saved(&format!("/relationships/{}/issues/{issue}", access.id()), what)
}

fn new_issue_page(access: &Access, csrf: &CsrfToken, targets: &[LinkTarget], form: IssueInput, error: Option<String>) -> NewIssuePage {
    NewIssuePage {
        shell: Shell::new(Some(&access.user), csrf, "issues").within(&access.relationship),
        relationship_id: access.id(),
        categories: CATEGORIES,
        severities: SEVERITIES,
        link_options: link_options(targets),
        error,
        form,
    }
}

pub async fn new_issue(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    access.writer()?;
    let targets = state.store.link_targets(access.id()).await?;
    let form = IssueInput { severity: "medium".into(), category: "delivery".into(), ..IssueInput::default() };
    Ok(render(StatusCode::OK, &new_issue_page(&access, &csrf, &targets, form, None)))
}

pub async fn raise(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, CsrfForm(form): CsrfForm<IssueInput>,
) -> PageResult {
    match raise_issue(&state, &access, &form).await {
        Ok(issue) => Ok(to_issue(&access, issue.id, Saved::Issue)),
        Err(e @ ApiError::Invalid(_)) => {
            let targets = state.store.link_targets(access.id()).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &new_issue_page(&access, &csrf, &targets, form, Some(field_message(&e)))))
        }
        Err(e) => Err(e.into()),
    }
}

pub struct Rung {
    pub name: String,
    pub handlers: String,
    pub limit: String,
    pub state: &'static str,
}

#[derive(Template)]
#[template(path = "issues/issue.html")]
struct IssuePage {
    shell: Shell,
    relationship_id: Uuid,
    view: IssueView,
    rungs: Vec<Rung>,
    level_names: Vec<String>,
    /// Labels of what the issue touches.
    links: Vec<String>,
    next_move: String,
    party_names: HashMap<Uuid, String>,
    can_write: bool,
    can_escalate: bool,
    can_withdraw: bool,
    can_answer: bool,
    error: Option<String>,
}

impl IssuePage {
    fn level_name(&self, level: &Option<i32>) -> &str {
        level.and_then(|l| self.level_names.get(l as usize)).map_or("the next level", String::as_str)
    }
}

async fn issue_page(state: &AppState, access: &Access, csrf: &CsrfToken, issue_id: &str) -> Result<IssuePage, ApiError> {
    let Detail { view, ladder, handlers, parties, targets } = detail(state, access, parse_id(issue_id).ok_or(ApiError::NotFound)?).await?;
    let me = access.member()?.clone();
    let names: HashMap<Uuid, String> = handlers.into_iter().collect();
    let issue = &view.issue;
    let rungs = ladder
        .levels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut handlers: Vec<String> = l.roles.iter().map(|r| format!("{}s", r.label())).collect();
            handlers.extend(l.members.iter().filter_map(|m| names.get(m).cloned()));
            Rung {
                name: l.name.clone(),
                handlers: handlers.join(", "),
                limit: l.limit.label(),
                state: match (i as i32).cmp(&issue.level) {
                    std::cmp::Ordering::Less => "past",
                    std::cmp::Ordering::Equal => "current",
                    std::cmp::Ordering::Greater => "ahead",
                },
            }
        })
        .collect();
    let at = when(&access.relationship.zone(), &issue.deadline);
    let next_move = match issue.status {
        IssueStatus::Resolved => format!("Resolved at {}.", view.level_name),
        IssueStatus::Withdrawn => "Withdrawn.".into(),
        _ if view.overdue_at_top => format!("Past its deadline ({at}) at the top of the ladder: it cannot climb further."),
        _ if issue.level as usize + 1 < ladder.levels.len() => {
            format!("Moves to {} on {at} unless resolved.", ladder.levels[issue.level as usize + 1].name)
        }
        _ => format!("At the top of the ladder; deadline {at}."),
    };
    let live = issue.status.live();
    let can_answer = live && view.proposal.as_ref().is_some_and(|p| !p.accepted_by.contains(&me.party_id)) && me.role.writes();
    Ok(IssuePage {
        shell: Shell::new(Some(&access.user), csrf, "issues").within(&access.relationship),
        relationship_id: access.id(),
        rungs,
        level_names: ladder.levels.iter().map(|l| l.name.clone()).collect(),
        links: {
            let options = link_options(&targets);
            issue
                .links
                .iter()
                .filter_map(|l| options.iter().find(|(k, _)| *k == format!("{}:{}", l.kind, l.id)).map(|(_, label)| label.clone()))
                .collect()
        },
        next_move,
        party_names: parties.into_iter().map(|p| (p.id, p.organisation_name)).collect(),
        can_write: live && me.role.writes(),
        can_escalate: live
            && issue.level as usize + 1 < ladder.levels.len()
            && may_escalate(access, &ladder.levels[issue.level as usize]).is_ok(),
        can_withdraw: live && may_withdraw(access, issue).is_ok(),
        can_answer,
        error: None,
        view,
    })
}

pub async fn show_issue(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, issue_id)): Path<(String, String)>,
) -> PageResult {
    Ok(render(StatusCode::OK, &issue_page(&state, &access, &csrf, &issue_id).await?))
}

/// Every form on the issue page: the step, then the page again (or the refusal on it).
async fn step(
    state: &AppState, access: &Access, csrf: &CsrfToken, issue_id: &str, done: Saved, act: impl AsyncFnOnce(Issue) -> Result<(), ApiError>,
) -> PageResult {
    let issue = issue(state, access, parse_id(issue_id).ok_or(ApiError::NotFound)?).await?;
    match act(issue.clone()).await {
        Ok(()) => Ok(to_issue(access, issue.id, done)),
        Err(e @ (ApiError::Invalid(_) | ApiError::Conflict(_))) => {
            let mut page = issue_page(state, access, csrf, issue_id).await?;
            page.error = Some(field_message(&e));
            Ok(render(e.status(), &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn comment(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Comment, async |issue| {
        super::comment(&state, &access, &issue, &form, "comment").await.map(drop)
    })
    .await
}

pub async fn propose(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Proposal, async |issue| {
        super::propose(&state, &access, &issue, &form, "proposal").await.map(drop)
    })
    .await
}

pub async fn respond(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Response, async |issue| {
        super::respond(&state, &access, &issue, &form, "reason").await.map(drop)
    })
    .await
}

pub async fn escalate(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Escalated, async |issue| {
        super::escalate(&state, &access, &issue, &form, "reason").await.map(drop)
    })
    .await
}

pub async fn withdraw(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::IssueWithdrawn, async |issue| {
        super::withdraw(&state, &access, &issue, &form, "reason").await.map(drop)
    })
    .await
}

#[derive(Template)]
#[template(path = "issues/ladder.html")]
struct LadderPage {
    shell: Shell,
    relationship_id: Uuid,
    ladder: Ladder,
    lines: String,
    /// Each party's holidays, and whether the caller may change them (its own SER and JMT only).
    holidays: Vec<(Party, String, bool)>,
    can_edit: bool,
    error: Option<String>,
}

async fn ladder_page(state: &AppState, access: &Access, csrf: &CsrfToken) -> Result<LadderPage, ApiError> {
    access.member()?;
    let id = access.id();
    let ladder = state.store.ladder(id).await?;
    let lines = ladder
        .levels
        .iter()
        .map(|l| format!("{} | {} | {}", l.name, l.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "), l.limit.label()))
        .collect::<Vec<_>>()
        .join("\n");
    let holidays = state.store.holidays(id).await?;
    let parties = state.store.parties(id).await?;
    let holidays = parties
        .into_iter()
        .map(|p| {
            let text =
                holidays.iter().filter(|h| h.party_id == p.id).map(|h| format!("{} {}", h.date, h.name)).collect::<Vec<_>>().join("\n");
            let editable = access.party_manager(p.id).is_ok();
            (p, text, editable)
        })
        .collect();
    Ok(LadderPage {
        shell: Shell::new(Some(&access.user), csrf, "issues").within(&access.relationship),
        relationship_id: id,
        lines,
        ladder,
        holidays,
        can_edit: access.manager().is_ok(),
        error: None,
    })
}

pub async fn ladder(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    Ok(render(StatusCode::OK, &ladder_page(&state, &access, &csrf).await?))
}

async fn ladder_refused(state: &AppState, access: &Access, csrf: &CsrfToken, e: ApiError) -> PageResult {
    match e {
        ApiError::Invalid(_) | ApiError::Conflict(_) => {
            let mut page = ladder_page(state, access, csrf).await?;
            page.error = Some(field_message(&e));
            Ok(render(e.status(), &page))
        }
        e => Err(e.into()),
    }
}

pub async fn save_ladder(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, CsrfForm(form): CsrfForm<LadderInput>,
) -> PageResult {
    access.manager()?;
    match super::save_ladder(&state, &access, &form).await {
        Ok(_) => Ok(saved(&format!("/relationships/{}/ladder", access.id()), Saved::Ladder)),
        Err(e) => ladder_refused(&state, &access, &csrf, e).await,
    }
}

pub async fn save_holidays(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, CsrfForm(form): CsrfForm<HolidaysInput>,
) -> PageResult {
    match set_holidays(&state, &access, &form).await {
        Ok(()) => Ok(saved(&format!("/relationships/{}/ladder", access.id()), Saved::Holidays)),
        Err(e @ ApiError::Invalid(_)) => {
            // The refused lines come back in their party's form, not the stored ones.
            let mut page = ladder_page(&state, &access, &csrf).await?;
            if let Some((_, text, _)) = page.holidays.iter_mut().find(|(p, _, _)| p.id.to_string() == form.party.trim()) {
                text.clone_from(&form.lines);
            }
            page.error = Some(field_message(&e));
            Ok(render(e.status(), &page))
        }
        Err(e) => Err(e.into()),
    }
}
