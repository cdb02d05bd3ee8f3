//! The issue log and its escalation ladder: inputs parsed into domain values, who may do what,
//! and the operations that the pages and the API both call.

pub mod api;
pub mod pages;

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, flag, whole};
use crate::list::page_limit;
use accord_domain::Invalid;
use accord_domain::escalation::Limit;
use accord_domain::escalation::{check_handlers, overdue_at_top};
use accord_domain::id::parse_id;
use accord_domain::membership::Role;
use accord_domain::relationship::parse_date;
use accord_domain::text::{Name, parse_long_text};
use accord_store::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub const CATEGORIES: [&str; 6] = ["commercial", "delivery", "quality", "safety", "relationship", "other"];

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct IssueInput {
    #[schema(required, schema_with = fields::name)]
    pub title: String,
    #[schema(schema_with = fields::long_text)]
    pub description: String,
    /// One of commercial, delivery, quality, safety, relationship, other.
    #[schema(schema_with = fields::category)]
    pub category: String,
    /// low, medium, high or critical.
    #[schema(schema_with = fields::severity)]
    pub severity: String,
    /// What it touches, as `objective:ID`, `kpi:ID` or `obligation:ID`.
    pub links: Vec<String>,
}

impl IssueInput {
    /// `targets`: what an issue of this relationship may touch.
    pub fn parse(&self, relationship_id: Uuid, targets: &[LinkTarget]) -> Result<NewIssue, Invalid> {
        let mut invalid = Invalid::default();
        let title = invalid.check("title", Name::parse(&self.title).map(Name::into_string));
        let description = invalid.check("description", parse_long_text(&self.description, 8000));
        let category = if self.category.trim().is_empty() {
            Some("other".to_owned())
        } else {
            invalid.check(
                "category",
                CATEGORIES
                    .contains(&self.category.trim())
                    .then(|| self.category.trim().to_owned())
                    .ok_or_else(|| format!("must be one of {}", CATEGORIES.join(", "))),
            )
        };
        let severity = if self.severity.trim().is_empty() {
            Some("medium".to_owned())
        } else {
            invalid.check(
                "severity",
                SEVERITIES
                    .contains(&self.severity.trim())
                    .then(|| self.severity.trim().to_owned())
                    .ok_or_else(|| "must be low, medium, high or critical".to_owned()),
            )
        };
        let mut links = Vec::new();
        for link in &self.links {
            let parsed = link.split_once(':').and_then(|(kind, id)| {
                let id = parse_id(id)?;
                targets.iter().any(|t| t.kind == kind && t.id == id).then(|| IssueLink { kind: kind.to_owned(), id })
            });
            if let Some(l) = invalid
                .check("links", parsed.ok_or_else(|| format!("{link:?} is not an objective, KPI or obligation of this relationship")))
            {
                links.push(l);
            }
        }
        invalid.finish()?;
        Ok(NewIssue {
            relationship_id,
            title: title.unwrap_or_default(),
            description: description.unwrap_or_default(),
            category: category.unwrap_or_default(),
            severity: severity.unwrap_or_default(),
            links,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"body": "Agreed at the site meeting on Tuesday", "answer": "accept"}))]
pub struct TextInput {
    #[schema(schema_with = fields::text_body)]
    pub body: String,
    /// For a comment: `true` (or `on`) keeps it to your own party.
    #[serde(deserialize_with = "flag")]
    #[schema(value_type = bool)]
    pub private: String,
    /// For a response to a proposal: `accept` or `reject`.
    #[schema(schema_with = fields::answer)]
    pub answer: String,
}

impl TextInput {
    /// The text, required (`field` names it in errors) unless `optional`.
    pub fn body(&self, field: &str, optional: bool) -> Result<String, Invalid> {
        let mut invalid = Invalid::default();
        // Only a response reads `answer`, but it is checked wherever it is sent, as documented.
        if !self.answer.is_empty() {
            invalid.check("answer", self.accept().map_err(|i| i.0[0].message.clone()));
        }
        let body = invalid.check(
            field,
            parse_long_text(&self.body, 8000).and_then(|b| if b.is_empty() && !optional { Err("must not be empty".into()) } else { Ok(b) }),
        );
        invalid.finish()?;
        Ok(body.unwrap_or_default())
    }

    pub fn private(&self) -> bool {
        matches!(self.private.trim(), "true" | "on" | "yes" | "1")
    }

    pub fn accept(&self) -> Result<bool, Invalid> {
        match self.answer.as_str() {
            "accept" => Ok(true),
            "reject" => Ok(false),
            _ => Err(Invalid::one("answer", "must be accept or reject")),
        }
    }
}

#[derive(Debug, Default, Deserialize, serde::Serialize, ToSchema)]
#[serde(default)]
pub struct LevelInput {
    #[schema(required, schema_with = fields::name)]
    pub name: String,
    /// Roles that handle the level: ser, jmt, contributor, observer.
    #[schema(schema_with = fields::roles)]
    pub roles: Vec<String>,
    /// User ids of named handlers.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub members: Vec<String>,
    /// e.g. `5 working days`, `48 hours`, `30 minutes`.
    #[schema(required)]
    pub limit: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
#[schema(example = json!({"version": 1, "levels": [
    {"name": "Working level", "roles": ["contributor", "jmt"], "limit": "5 working days"},
    {"name": "Senior Executives", "roles": ["ser"], "limit": "10 working days"}]}))]
pub struct LadderInput {
    /// The ladder `version` you read.
    #[serde(deserialize_with = "whole")]
    #[schema(required, value_type = i32, minimum = 1)]
    pub version: String,
    /// Levels, lowest first (the API).
    #[schema(required, min_items = 1)]
    pub levels: Vec<LevelInput>,
    /// Levels as lines `NAME | ROLES | LIMIT`, lowest first, when `levels` is empty.
    pub lines: String,
}

impl LadderInput {
    pub fn parse(&self) -> Result<(Vec<LadderLevel>, i32), Invalid> {
        let mut invalid = Invalid::default();
        let version = invalid.check("version", self.version.trim().parse::<i32>().map_err(|_| "must be the version you read".to_owned()));
        let from_lines: Vec<LevelInput> = self
            .lines
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let mut parts = line.split('|').map(str::trim);
                let name = parts.next().unwrap_or_default().to_owned();
                let roles =
                    parts.next().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
                LevelInput { name, roles, members: vec![], limit: parts.next().unwrap_or_default().to_owned() }
            })
            .collect();
        let inputs = if self.levels.is_empty() { &from_lines } else { &self.levels };
        if inputs.is_empty() {
            invalid.check::<()>("levels", Err("a ladder needs at least one level".into()));
        }
        let mut levels = Vec::new();
        for (i, level) in inputs.iter().enumerate() {
            let name = invalid.check(&format!("levels[{i}].name"), Name::parse(&level.name).map(Name::into_string));
            let roles: Vec<Role> =
                level.roles.iter().filter_map(|r| invalid.check(&format!("levels[{i}].roles"), Role::parse(r))).collect();
            let members: Vec<Uuid> = level
                .members
                .iter()
                .filter_map(|m| {
                    invalid.check(&format!("levels[{i}].members"), parse_id(m).ok_or_else(|| format!("{m:?} is not a user id")))
                })
                .collect();
            invalid.check(&format!("levels[{i}].handlers"), check_handlers(&level.roles, &level.members));
            let limit = invalid.check(&format!("levels[{i}].limit"), Limit::parse(&level.limit));
            if let (Some(name), Some(limit)) = (name, limit) {
                levels.push(LadderLevel { name, roles, members, limit });
            }
        }
        invalid.finish()?;
        Ok((levels, version.unwrap_or_default()))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct HolidaysInput {
    /// The party whose holidays these are.
    #[schema(required, format = Uuid)]
    pub party: String,
    #[schema(schema_with = fields::holiday_lines)]
    pub lines: String,
}

/// A holiday as sent: its date's text and its name, with how a refusal names it (the API's
/// `lines` with the line's number, the page's row).
pub struct HolidayRow {
    pub field: String,
    pub prefix: String,
    pub date: String,
    pub name: String,
}

impl HolidaysInput {
    /// The API's lines as rows (`YYYY-MM-DD name`).
    pub fn rows(&self) -> Vec<HolidayRow> {
        self.lines
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, line)| {
                let (day, name) = line.trim().split_once(char::is_whitespace).unwrap_or((line.trim(), ""));
                HolidayRow { field: "lines".into(), prefix: format!("line {}: ", i + 1), date: day.into(), name: name.trim().into() }
            })
            .collect()
    }
}

/// A party's holidays from rows, every bad row named.
pub fn parse_holidays(party: &str, rows: &[HolidayRow], parties: &[Uuid]) -> Result<(Uuid, Vec<(jiff::civil::Date, String)>), Invalid> {
    let mut invalid = Invalid::default();
    let party = invalid
        .check("party", parse_id(party).filter(|p| parties.contains(p)).ok_or_else(|| "is not a party to this relationship".to_owned()));
    let mut days = Vec::new();
    for row in rows {
        let day = if row.date.trim().is_empty() { Err("is missing".to_owned()) } else { parse_date(&row.date) }
            .map_err(|m| format!("{}{m}", row.prefix));
        let name = parse_long_text(&row.name, 200).map_err(|m| format!("{}{m}", row.prefix));
        if let (Some(d), Some(n)) = (invalid.check(&row.field, day), invalid.check(&row.field.replace(".date", ".name"), name)) {
            days.push((d, n));
        }
    }
    invalid.finish()?;
    Ok((party.unwrap_or_default(), days))
}

/// A handler of the issue's current level may escalate early.
pub fn may_escalate(access: &Access, level: &LadderLevel) -> Result<(), ApiError> {
    let me = access.writer()?;
    if level.roles.contains(&me.role) || level.members.contains(&me.user_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only a handler of the issue's current level escalates it early."))
    }
}

/// Only the person who raised an issue withdraws it.
pub fn may_withdraw(access: &Access, issue: &Issue) -> Result<(), ApiError> {
    access.writer()?;
    if issue.raised_by == access.user.id { Ok(()) } else { Err(ApiError::Forbidden("Only the person who raised the issue withdraws it.")) }
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct IssueQuery {
    /// `live` (default: open and resolution proposed), `closed` or `all`.
    #[param(schema_with = crate::fields::issue_filter)]
    pub status: Option<String>,
    /// 0 is the lowest level.
    pub level: Option<i32>,
    /// The raising party's id.
    #[param(schema_with = crate::fields::party_filter)]
    pub party: Option<String>,
    pub category: Option<String>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
    /// 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl IssueQuery {
    /// Issues a page of the list holds: 50 unless asked, at most 500.
    fn limit(&self) -> ApiResult<u32> {
        page_limit(self.limit, 50, 500)
    }

    pub fn filter(&self) -> ApiResult<IssueFilter> {
        let state = match self.status.as_deref().unwrap_or("live") {
            "live" | "open" => IssueState::Live,
            "closed" => IssueState::Closed,
            "all" => IssueState::All,
            _ => return Err(ApiError::invalid("status", "must be live, closed or all")),
        };
        let party = match self.party.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(parse_id(p).ok_or_else(|| ApiError::invalid("party", "is not a party id"))?),
            None => None,
        };
        Ok(IssueFilter { state: Some(state), level: self.level, party, category: self.category.clone().filter(|c| !c.is_empty()) })
    }

    pub fn cursor(&self) -> ApiResult<Option<(jiff::Timestamp, uuid::Uuid)>> {
        let Some(after) = self.after.as_deref().filter(|a| !a.is_empty()) else { return Ok(None) };
        let bad = || ApiError::invalid("after", "is not a cursor from a previous page");
        let (micros, id) = after.split_once('_').ok_or_else(bad)?;
        let at = jiff::Timestamp::from_microsecond(micros.parse().map_err(|_| bad())?).map_err(|_| bad())?;
        Ok(Some((at, parse_id(id).ok_or_else(bad)?)))
    }
}

/// A list's cursor as the query string carries it (`Issue::cursor`, `IssueLine::cursor`).
pub fn issue_cursor((key, id): (jiff::Timestamp, uuid::Uuid)) -> String {
    format!("{}_{id}", key.as_microsecond())
}

#[derive(Serialize, ToSchema)]
pub struct IssueView {
    #[serde(flatten)]
    pub issue: Issue,
    pub level_name: String,
    /// Past its deadline at the top of the ladder: it cannot climb further.
    pub overdue_at_top: bool,
    pub proposal: Option<Proposal>,
    /// As the caller's party sees it (other parties' private notes left out).
    pub timeline: Vec<IssueEvent>,
}

/// An issue with what its page shows beside it, read in one round trip.
pub struct Detail {
    pub view: IssueView,
    pub ladder: Ladder,
    /// The names of the members the ladder names as handlers.
    pub handlers: Vec<(uuid::Uuid, String)>,
    pub parties: Vec<Party>,
    pub targets: Vec<LinkTarget>,
}

pub async fn detail(state: &AppState, access: &Access, issue_id: uuid::Uuid) -> ApiResult<Detail> {
    let me = access.member()?;
    let IssueDetail { issue, ladder, proposal, timeline, handlers, parties, targets } =
        state.store.issue_detail(access.id(), issue_id, Some(me.party_id)).await?;
    let view = IssueView {
        level_name: ladder.levels.get(issue.level as usize).map(|l| l.name.clone()).unwrap_or_default(),
        overdue_at_top: overdue_at_top(
            &accord_domain::escalation::Position {
                level: issue.level as usize,
                status: issue.status,
                level_started_at: issue.level_started_at,
                deadline: issue.deadline,
            },
            ladder.levels.len(),
            state.now(),
        ),
        proposal,
        timeline,
        issue,
    };
    Ok(Detail { view, ladder, handlers, parties, targets })
}

fn ladder_stale(e: StoreError) -> ApiError {
    match e {
        StoreError::Stale { current } => {
            ApiError::Conflict(format!("The ladder was changed by someone else (now version {current}); reload and try again."))
        }
        e => e.into(),
    }
}

/// Raises an issue for the caller's party, at the lowest level of the ladder.
pub async fn raise_issue(state: &AppState, access: &Access, input: &IssueInput) -> ApiResult<Issue> {
    let me = access.writer()?;
    let new = input.parse(access.id(), &state.store.link_targets(access.id()).await?)?;
    Ok(state.store.create_issue(new, me.user_id, state.now()).await?)
}

/// An issue of the relationship, for a member.
pub async fn issue(state: &AppState, access: &Access, issue_id: Uuid) -> ApiResult<Issue> {
    access.member()?;
    Ok(state.store.issue(access.id(), issue_id).await?)
}

// Each step on an issue reads its text from `input` as `field` (the API's `body`, the page's own
// names), so that a refusal names what the caller sent.

/// A comment for everyone, or a note for the caller's party only.
pub async fn comment(state: &AppState, access: &Access, issue: &Issue, input: &TextInput, field: &str) -> ApiResult<IssueEvent> {
    let me = access.writer()?;
    let body = input.body(field, false)?;
    Ok(state.store.comment_issue(access.id(), issue.id, body, input.private(), me.user_id, state.now()).await?)
}

/// Proposes a resolution for the caller's party; it takes effect when every other party accepts.
pub async fn propose(state: &AppState, access: &Access, issue: &Issue, input: &TextInput, field: &str) -> ApiResult<Issue> {
    let me = access.writer()?;
    let body = input.body(field, false)?;
    Ok(state.store.propose_resolution(access.id(), issue.id, body, me.user_id, state.now()).await?)
}

/// Accepts or rejects (with a reason) the pending proposal for the caller's party.
pub async fn respond(state: &AppState, access: &Access, issue: &Issue, input: &TextInput, field: &str) -> ApiResult<Issue> {
    let me = access.writer()?;
    // An unanswered response still has its reason checked, so both come back at once.
    let reason = input.body(field, input.accept().unwrap_or(true));
    let accept = input.accept()?;
    let reason = reason?;
    Ok(state.store.respond_to_proposal(access.id(), issue.id, accept, reason, me.user_id, state.now()).await?)
}

/// A handler of the current level escalates one level before the deadline, giving a reason.
pub async fn escalate(state: &AppState, access: &Access, issue: &Issue, input: &TextInput, field: &str) -> ApiResult<Issue> {
    let ladder = state.store.ladder_version(access.id(), issue.ladder_version).await?;
    may_escalate(access, &ladder.levels[issue.level as usize])?;
    let reason = input.body(field, false)?;
    Ok(state.store.escalate_issue(access.id(), issue.id, reason, access.user.id, state.now()).await?)
}

/// The person who raised the issue withdraws it.
pub async fn withdraw(state: &AppState, access: &Access, issue: &Issue, input: &TextInput, field: &str) -> ApiResult<Issue> {
    may_withdraw(access, issue)?;
    let reason = input.body(field, true)?;
    Ok(state.store.withdraw_issue(access.id(), issue.id, reason, access.user.id, state.now()).await?)
}

/// Saves a new version of the ladder (SERs and JMT members); issues keep the version they were raised under.
pub async fn save_ladder(state: &AppState, access: &Access, input: &LadderInput) -> ApiResult<Ladder> {
    let me = access.manager()?;
    let (levels, version) = input.parse()?;
    state.store.save_ladder(access.id(), levels, version, me.user_id, state.now()).await.map_err(ladder_stale)
}

/// Replaces one party's holidays (that party's own SERs and JMT members).
pub async fn set_holidays(state: &AppState, access: &Access, party: &str, rows: &[HolidayRow]) -> ApiResult<()> {
    access.manager()?;
    let parties: Vec<Uuid> = state.store.parties(access.id()).await?.iter().map(|p| p.id).collect();
    let (party, days) = parse_holidays(party, rows, &parties)?;
    let me = access.party_manager(party)?;
    Ok(state.store.set_holidays(access.id(), party, days, me.user_id, state.now()).await?)
}
