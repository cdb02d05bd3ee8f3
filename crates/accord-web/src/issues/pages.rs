//! The issue log, an issue, the ladder.

use super::*;
use crate::auth::{PageView, Viewed, read_view};
use crate::charts::level_bars;
use crate::dates::{hours_text, when};
use crate::error::PageResult;
use crate::forms::{FormErrors, Labels, SentForm};
use crate::layout::{Saved, Shell, refused, render, saved};
use crate::session::CsrfToken;
use accord_domain::escalation::{IssueStatus, Limit, median_hours};
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
    errors: FormErrors,
    form: IssueInput,
}

/// The new issue form's fields, as its labels name them.
const ISSUE_LABELS: Labels = &[
    ("title", "i-title", "What is the issue"),
    ("description", "i-description", "Details"),
    ("category", "i-category", "Category"),
    ("severity", "i-severity", "Severity"),
    ("links", "i-links", "What it touches"),
];

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

fn new_issue_page(access: &Access, csrf: &CsrfToken, targets: &[LinkTarget], form: IssueInput, errors: FormErrors) -> NewIssuePage {
    NewIssuePage {
        shell: Shell::new(Some(&access.user), csrf, "issues").within(&access.relationship),
        relationship_id: access.id(),
        categories: CATEGORIES,
        severities: SEVERITIES,
        link_options: link_options(targets),
        errors,
        form,
    }
}

pub async fn new_issue(State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    access.writer()?;
    let targets = state.store.link_targets(access.id()).await?;
    let form = IssueInput { severity: "medium".into(), category: "delivery".into(), ..IssueInput::default() };
    Ok(render(StatusCode::OK, &new_issue_page(&access, &csrf, &targets, form, FormErrors::default())))
}

pub async fn raise(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, SentForm(form, fresh): SentForm<IssueInput>,
) -> PageResult {
    match fresh.then(raise_issue(&state, &access, &form)).await {
        Ok(issue) => Ok(to_issue(&access, issue.id, Saved::Issue)),
        Err(e) if e.refuses_form() => {
            let targets = state.store.link_targets(access.id()).await?;
            let errors = FormErrors::new(&e, ISSUE_LABELS);
            Ok(refused(&e, &new_issue_page(&access, &csrf, &targets, form, errors)))
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
    errors: FormErrors,
    /// Which of its forms was refused (its field's name below), and what it sent.
    posted: &'static str,
    form: TextInput,
}

/// The issue page's forms' fields, each named as its step names it.
const STEP_LABELS: Labels = &[
    ("comment", "c-body", "Comment"),
    ("proposal", "p-body", "Propose a resolution"),
    ("answer", "accept", "Your answer"),
    ("response", "r-body", "Reason"),
    ("escalation", "e-body", "Why escalate now"),
    ("withdrawal", "w-body", "Why withdraw"),
];

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
        errors: FormErrors::default(),
        posted: "",
        form: TextInput::default(),
        view,
    })
}

pub async fn show_issue(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, issue_id)): Path<(String, String)>,
) -> PageResult {
    Ok(render(StatusCode::OK, &issue_page(&state, &access, &csrf, &issue_id).await?))
}

/// Every form on the issue page: the step, then the page again (or the refusal on it, with what
/// was typed in the form `field` names).
async fn step(
    state: &AppState, access: &Access, csrf: &CsrfToken, issue_id: &str, done: Saved, field: &'static str,
    SentForm(form, fresh): SentForm<TextInput>, act: impl AsyncFnOnce(Issue, &TextInput) -> Result<(), ApiError>,
) -> PageResult {
    let issue = issue(state, access, parse_id(issue_id).ok_or(ApiError::NotFound)?).await?;
    match fresh.then(act(issue.clone(), &form)).await {
        Ok(()) => Ok(to_issue(access, issue.id, done)),
        Err(e) if e.refuses_form() => {
            let mut page = issue_page(state, access, csrf, issue_id).await?;
            page.errors = FormErrors::new(&e, STEP_LABELS);
            page.posted = field;
            page.form = form;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn comment(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    form: SentForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Comment, "comment", form, async |issue, form| {
        super::comment(&state, &access, &issue, form, "comment").await.map(drop)
    })
    .await
}

pub async fn propose(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    form: SentForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Proposal, "proposal", form, async |issue, form| {
        super::propose(&state, &access, &issue, form, "proposal").await.map(drop)
    })
    .await
}

pub async fn respond(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    form: SentForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Response, "response", form, async |issue, form| {
        super::respond(&state, &access, &issue, form, "response").await.map(drop)
    })
    .await
}

pub async fn escalate(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    form: SentForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::Escalated, "escalation", form, async |issue, form| {
        super::escalate(&state, &access, &issue, form, "escalation").await.map(drop)
    })
    .await
}

pub async fn withdraw(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>, Path((_, id)): Path<(String, String)>,
    form: SentForm<TextInput>,
) -> PageResult {
    step(&state, &access, &csrf, &id, Saved::IssueWithdrawn, "withdrawal", form, async |issue, form| {
        super::withdraw(&state, &access, &issue, form, "withdrawal").await.map(drop)
    })
    .await
}

#[derive(Template)]
#[template(path = "issues/ladder.html")]
struct LadderPage {
    shell: Shell,
    relationship_id: Uuid,
    ladder: Ladder,
    /// The ladder's form: its levels as rows, and blank rows to add levels.
    rows: Vec<LevelRow>,
    /// The version the form was read at (the posted one, on a refusal).
    version: String,
    roles: [Role; 4],
    units: [&'static str; 3],
    /// Each party's holidays, as its form shows them.
    holidays: Vec<HolidayForm>,
    can_edit: bool,
    errors: FormErrors,
    /// The names of the current members the levels name as handlers.
    member_names: HashMap<String, String>,
}

impl LadderPage {
    fn member_name<'a>(&'a self, id: &str) -> &'a str {
        self.member_names.get(id).map_or("someone no longer a member", String::as_str)
    }
}

/// A level as the ladder's form shows it.
#[derive(Default)]
pub struct LevelRow {
    pub name: String,
    pub roles: Vec<String>,
    /// Named handlers (the API names them; the form offers to keep them or not).
    pub members: Vec<String>,
    pub amount: String,
    pub unit: String,
    pub remove: bool,
    /// A stored level (it may be removed), not a blank row to add one.
    pub existing: bool,
}

/// A party's holidays as its form shows them.
pub struct HolidayForm {
    pub party: Party,
    pub rows: Vec<HolidayRowView>,
    /// Only the party's own SER and JMT members change them.
    pub editable: bool,
    pub errors: FormErrors,
}

#[derive(Default)]
pub struct HolidayRowView {
    pub date: String,
    pub name: String,
    pub existing: bool,
}

/// Blank rows a form offers to add levels or holidays, without JavaScript.
const BLANK_LEVELS: usize = 2;
const BLANK_HOLIDAYS: usize = 3;
/// Rows a form is read up to: more than a page would ever show.
const MAX_ROWS: usize = 100;

const UNITS: [&str; 3] = ["working days", "hours", "minutes"];

const LADDER_LABELS: Labels = &[
    ("levels", "level-0-name", "The ladder"),
    ("levels[].name", "level-{i}-name", "Level {n}'s name"),
    ("levels[].roles", "level-{i}-roles", "Level {n}'s handlers"),
    ("levels[].handlers", "level-{i}-roles", "Level {n}'s handlers"),
    ("levels[].members", "level-{i}-members", "Level {n}'s named handlers"),
    ("levels[].limit", "level-{i}-amount", "Level {n}'s time limit"),
];

const HOLIDAY_LABELS: Labels = &[
    ("party", "", "The party"),
    ("days[].date", "h-{s}-{i}-date", "Holiday {n}'s date"),
    ("days[].name", "h-{s}-{i}-name", "Holiday {n}'s name"),
];

fn level_row(level: &LadderLevel) -> LevelRow {
    let (amount, unit) = match level.limit {
        Limit::WorkingDays(n) => (n, UNITS[0]),
        Limit::Hours(n) => (n, UNITS[1]),
        Limit::Minutes(n) => (n, UNITS[2]),
    };
    LevelRow {
        name: level.name.clone(),
        roles: level.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        members: level.members.iter().map(Uuid::to_string).collect(),
        amount: amount.to_string(),
        unit: unit.to_owned(),
        remove: false,
        existing: true,
    }
}

/// A posted form's rows: `{list}[i].{field}`, in order of `i`.
fn posted_rows(form: &HashMap<String, String>, list: &str) -> Vec<HashMap<String, String>> {
    let mut rows: Vec<HashMap<String, String>> = Vec::new();
    for (key, value) in form {
        let Some(rest) = key.strip_prefix(list).and_then(|r| r.strip_prefix('[')) else { continue };
        let Some((index, field)) = rest.split_once("].") else { continue };
        let Some(i) = index.parse::<usize>().ok().filter(|i| *i < MAX_ROWS) else { continue };
        if rows.len() <= i {
            rows.resize_with(i + 1, HashMap::new);
        }
        rows[i].insert(field.to_owned(), value.clone());
    }
    rows
}

fn listed(text: Option<&String>) -> Vec<String> {
    text.map_or(Vec::new(), |t| t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

impl PageView for LadderView {
    fn request(_: &HashMap<String, String>, _: &Uri) -> Result<ViewRequest, ApiError> {
        Ok(ViewRequest::Ladder)
    }
}

fn ladder_page(access: &Access, csrf: &CsrfToken, view: LadderView) -> LadderPage {
    let LadderView { ladder, holidays, parties, handlers } = view;
    let mut rows: Vec<LevelRow> = ladder.levels.iter().map(level_row).collect();
    rows.extend((0..BLANK_LEVELS).map(|_| LevelRow { unit: UNITS[0].to_owned(), ..LevelRow::default() }));
    let holidays = parties
        .into_iter()
        .map(|party| {
            let mut rows: Vec<HolidayRowView> = holidays
                .iter()
                .filter(|h| h.party_id == party.id)
                .map(|h| HolidayRowView { date: h.date.to_string(), name: h.name.clone(), existing: true })
                .collect();
            let editable = access.party_manager(party.id).is_ok();
            if editable {
                rows.extend((0..BLANK_HOLIDAYS).map(|_| HolidayRowView::default()));
            }
            HolidayForm { party, rows, editable, errors: FormErrors::default() }
        })
        .collect();
    LadderPage {
        shell: Shell::new(Some(&access.user), csrf, "issues").within(&access.relationship),
        relationship_id: access.id(),
        version: ladder.version.to_string(),
        rows,
        ladder,
        roles: Role::ALL,
        units: UNITS,
        holidays,
        can_edit: access.manager().is_ok(),
        errors: FormErrors::default(),
        member_names: handlers.into_iter().map(|(id, name)| (id.to_string(), name)).collect(),
    }
}

/// The ladder's page again, after a refused form.
async fn ladder_again(state: &AppState, access: &Access, csrf: &CsrfToken) -> Result<LadderPage, ApiError> {
    Ok(ladder_page(access, csrf, read_view(state, access, ViewRequest::Ladder).await?))
}

pub async fn ladder(Viewed { access, view }: Viewed<LadderView>, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    access.member()?;
    Ok(render(StatusCode::OK, &ladder_page(&access, &csrf, view)))
}

/// Saves the ladder from its rows: a row left blank or marked to remove is no level; the
/// others, in order, are the new version's levels (the API's `LadderInput`, so both save alike).
pub async fn save_ladder(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>,
    SentForm(form, fresh): SentForm<HashMap<String, String>>,
) -> PageResult {
    access.manager()?;
    let rows: Vec<LevelRow> = posted_rows(&form, "levels")
        .into_iter()
        .map(|r| LevelRow {
            name: r.get("name").cloned().unwrap_or_default(),
            roles: listed(r.get("roles")),
            members: listed(r.get("members")),
            amount: r.get("amount").cloned().unwrap_or_default(),
            unit: r.get("unit").cloned().unwrap_or_default(),
            remove: r.contains_key("remove"),
            existing: r.contains_key("existing"),
        })
        .collect();
    // Which row each level came from, so that a refusal names the row as the page shows it.
    let kept: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            let r = &rows[i];
            let blank = r.name.trim().is_empty() && r.roles.is_empty() && r.members.is_empty() && r.amount.trim().is_empty();
            !r.remove && !blank
        })
        .collect();
    let input = LadderInput {
        version: form.get("version").cloned().unwrap_or_default(),
        levels: kept
            .iter()
            .map(|&i| {
                let r = &rows[i];
                LevelInput {
                    name: r.name.clone(),
                    roles: r.roles.clone(),
                    members: r.members.clone(),
                    limit: format!("{} {}", r.amount.trim(), r.unit),
                }
            })
            .collect(),
        lines: String::new(),
    };
    match fresh.then(super::save_ladder(&state, &access, &input)).await {
        Ok(_) => Ok(saved(&format!("/relationships/{}/ladder", access.id()), Saved::Ladder)),
        Err(e) if e.refuses_form() => {
            let e = match e {
                ApiError::Invalid(invalid) => ApiError::Invalid(accord_domain::Invalid(
                    invalid
                        .0
                        .into_iter()
                        .map(|mut f| {
                            f.field = renumber(&f.field, &kept);
                            f
                        })
                        .collect(),
                )),
                e => e,
            };
            let mut page = ladder_again(&state, &access, &csrf).await?;
            page.errors = FormErrors::new(&e, LADDER_LABELS);
            page.rows = rows;
            page.version = input.version;
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// `levels[k].x` of the `k`th level kept, as `levels[row].x` of the row it came from.
fn renumber(field: &str, kept: &[usize]) -> String {
    let Some(rest) = field.strip_prefix("levels[") else { return field.to_owned() };
    match rest.split_once(']').and_then(|(k, tail)| Some((kept.get(k.parse::<usize>().ok()?)?, tail))) {
        Some((row, tail)) => format!("levels[{row}]{tail}"),
        None => field.to_owned(),
    }
}

/// Saves a party's holidays from its rows: a blank row, or one marked to remove, is none.
pub async fn save_holidays(
    State(state): State<AppState>, access: Access, Extension(csrf): Extension<CsrfToken>,
    SentForm(form, fresh): SentForm<HashMap<String, String>>,
) -> PageResult {
    let party = form.get("party").cloned().unwrap_or_default();
    let posted = posted_rows(&form, "days");
    let rows: Vec<HolidayRow> = posted
        .iter()
        .enumerate()
        // A row with neither date nor name is a blank one; with a name only, its date is missing.
        .filter(|(_, r)| !r.contains_key("remove") && r.values().any(|v| !v.trim().is_empty()))
        .map(|(i, r)| HolidayRow {
            field: format!("days[{i}].date"),
            prefix: String::new(),
            date: r.get("date").cloned().unwrap_or_default(),
            name: r.get("name").cloned().unwrap_or_default(),
        })
        .collect();
    match fresh.then(set_holidays(&state, &access, &party, &rows)).await {
        Ok(()) => Ok(saved(&format!("/relationships/{}/ladder", access.id()), Saved::Holidays)),
        Err(e) if e.refuses_form() => {
            // The refused rows come back in their party's form, not the stored ones.
            let mut page = ladder_again(&state, &access, &csrf).await?;
            if let Some(holidays) = page.holidays.iter_mut().find(|h| h.party.id.to_string() == party.trim()) {
                holidays.rows = posted
                    .iter()
                    .map(|r| HolidayRowView {
                        date: r.get("date").cloned().unwrap_or_default(),
                        name: r.get("name").cloned().unwrap_or_default(),
                        existing: r.contains_key("existing"),
                    })
                    .collect();
                holidays.errors = FormErrors::scoped(&e, HOLIDAY_LABELS, &party);
            } else {
                page.errors = FormErrors::new(&e, HOLIDAY_LABELS);
            }
            Ok(refused(&e, &page))
        }
        Err(e) => Err(e.into()),
    }
}
