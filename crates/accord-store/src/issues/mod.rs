//! The issue module's storage contract ([`IssueStore`]) and rows: the escalation ladder, issues
//! and their timelines, resolution figures; what each of its writes decides is in [`decide`].

pub mod decide;

use crate::{LinkTarget, StoreResult};
use accord_domain::Invalid;
use accord_domain::escalation::{IssueStatus, Limit};
use accord_domain::membership::Role;
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One rung of the ladder.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LadderLevel {
    pub name: String,
    /// Members with these roles, from every party, handle the level...
    pub roles: Vec<Role>,
    /// ...and these named members.
    pub members: Vec<Uuid>,
    pub limit: Limit,
}

/// A version of a relationship's ladder. Version 0 is the default, before anyone edits it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Ladder {
    pub version: i32,
    pub levels: Vec<LadderLevel>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub created_at: Option<Timestamp>,
}

impl Ladder {
    /// Working level (5 working days) → JMT (10) → SERs (10) → an agreed outside step.
    pub fn default_ladder() -> Ladder {
        let level =
            |name: &str, roles: Vec<Role>, days| LadderLevel { name: name.into(), roles, members: vec![], limit: Limit::WorkingDays(days) };
        Ladder {
            version: 0,
            levels: vec![
                level("Working level", vec![Role::Contributor, Role::Jmt], 5),
                level("Joint Management Team", vec![Role::Jmt], 10),
                level("Senior Executives", vec![Role::Ser], 10),
                level("Mediation", vec![Role::Ser], 20),
            ],
            created_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Holiday {
    pub party_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub name: String,
}

pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// What an issue touches elsewhere in the relationship.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IssueLink {
    /// `objective`, `kpi` or `obligation`.
    pub kind: String,
    pub id: Uuid,
}

impl IssueLink {
    /// The table and key a link's target is found under, if an issue may touch its kind.
    pub fn target(&self) -> Option<(&'static str, &'static str)> {
        match self.kind.as_str() {
            "objective" => Some(("objective", "objective_id")),
            "kpi" => Some(("kpi", "kpi_id")),
            "obligation" => Some(("obligation", "obligation_id")),
            _ => None,
        }
    }

    /// The refusal of a link to nothing of the issue's relationship.
    pub fn refused(&self) -> Invalid {
        Invalid::one("links", format!("{}:{} is not an objective, KPI or obligation of this relationship", self.kind, self.id))
    }
}

#[derive(Debug, Clone)]
pub struct NewIssue {
    pub relationship_id: Uuid,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub links: Vec<IssueLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Issue {
    pub id: Uuid,
    pub relationship_id: Uuid,
    /// Numbered per relationship: #1, #2, ...
    pub number: i64,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: String,
    pub raised_by: Uuid,
    pub raised_by_name: String,
    pub raising_party_id: Uuid,
    /// The ladder version it was raised under, and where it stands on it (0 = lowest).
    pub ladder_version: i32,
    pub level: i32,
    #[schema(value_type = String, format = DateTime)]
    pub level_started_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub deadline: Timestamp,
    pub status: IssueStatus,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    pub links: Vec<IssueLink>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl Issue {
    /// Where a list in `state` order continues after this issue.
    pub fn cursor(&self, state: Option<IssueState>) -> (Timestamp, Uuid) {
        cursor(state, self.deadline, self.resolved_at, self.id)
    }
}

/// Lists of live issues and of all of them go by deadline; of closed ones, by resolution.
fn cursor(state: Option<IssueState>, deadline: Timestamp, resolved_at: Option<Timestamp>, id: Uuid) -> (Timestamp, Uuid) {
    let key = match state {
        Some(IssueState::Closed) => resolved_at.unwrap_or(deadline),
        _ => deadline,
    };
    (key, id)
}

/// An issue as the log lists it: only what a line shows, so that the log reads its lines from
/// its indexes alone, without the issue row or the raiser's account.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueLine {
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub category: String,
    pub severity: String,
    pub raising_party_id: Uuid,
    pub level: i32,
    pub deadline: Timestamp,
    pub status: IssueStatus,
    pub resolved_at: Option<Timestamp>,
}

impl IssueLine {
    /// Where a list in `state` order continues after this line.
    pub fn cursor(&self, state: Option<IssueState>) -> (Timestamp, Uuid) {
        cursor(state, self.deadline, self.resolved_at, self.id)
    }
}

impl From<&Issue> for IssueLine {
    fn from(i: &Issue) -> IssueLine {
        IssueLine {
            id: i.id,
            number: i.number,
            title: i.title.clone(),
            category: i.category.clone(),
            severity: i.severity.clone(),
            raising_party_id: i.raising_party_id,
            level: i.level,
            deadline: i.deadline,
            status: i.status,
            resolved_at: i.resolved_at,
        }
    }
}

/// One entry of an issue's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct IssueEvent {
    pub id: Uuid,
    /// `raised`, `comment`, `note` (party-private), `escalated`, `proposed`, `accepted`, `rejected`,
    /// `resolved`, `withdrawn`, `reminded`.
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub party_id: Option<Uuid>,
    pub body: String,
    pub from_level: Option<i32>,
    pub to_level: Option<i32>,
    /// Set on a party-private note: only that party sees it.
    pub private_to: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// The pending proposal of an issue and who has accepted it so far.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Proposal {
    pub id: Uuid,
    pub proposed_by: Uuid,
    pub party_id: Uuid,
    pub body: String,
    /// Parties that have accepted (the proposer's party counts as accepting).
    pub accepted_by: Vec<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueState {
    /// Open or resolution proposed.
    Live,
    /// Resolved or withdrawn.
    Closed,
    All,
}

#[derive(Debug, Clone, Default)]
pub struct IssueFilter {
    pub state: Option<IssueState>,
    pub level: Option<i32>,
    pub party: Option<Uuid>,
    pub category: Option<String>,
}

/// Resolution figures per level, kept up to date with every change (never computed by a scan).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LevelStat {
    pub level: i32,
    pub open: i64,
    pub resolved: i64,
    /// Counts of resolution times by bucket (see `accord_domain::escalation::RESOLUTION_BUCKETS`).
    pub buckets: Vec<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SweepReport {
    pub escalated: u64,
    pub reminded: u64,
}

/// The issue log: the escalation ladder, holidays, issues and their timed sweep.
#[async_trait]
pub trait IssueStore: Send + Sync + 'static {
    /// The latest version (the default ladder, version 0, until someone saves one).
    async fn ladder(&self, relationship_id: Uuid) -> StoreResult<Ladder>;

    async fn ladder_version(&self, relationship_id: Uuid, version: i32) -> StoreResult<Ladder>;

    /// Saves the levels as the next version, if the latest is still `expected_version`.
    async fn save_ladder(
        &self, relationship_id: Uuid, levels: Vec<LadderLevel>, expected_version: i32, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Ladder>;

    async fn holidays(&self, relationship_id: Uuid) -> StoreResult<Vec<Holiday>>;

    /// Replaces one party's holidays.
    async fn set_holidays(
        &self, relationship_id: Uuid, party_id: Uuid, holidays: Vec<(Date, String)>, actor: Uuid, now: Timestamp,
    ) -> StoreResult<()>;

    /// Raised by `actor` (a member, for their party) at the lowest level of the current ladder.
    async fn create_issue(&self, new: NewIssue, actor: Uuid, now: Timestamp) -> StoreResult<Issue>;

    async fn issue(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Issue>;

    /// Live issues by deadline (overdue first), closed ones by resolution; keyset after (deadline, id).
    async fn issues(
        &self, relationship_id: Uuid, filter: IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<Issue>>;

    /// The timeline as `viewer_party` may see it (other parties' private notes left out).
    async fn issue_timeline(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<Vec<IssueEvent>>;

    async fn pending_proposal(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Option<Proposal>>;

    /// A comment for everyone, or (`private`) a note only the actor's party sees.
    async fn comment_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, body: String, private: bool, actor: Uuid, now: Timestamp,
    ) -> StoreResult<IssueEvent>;

    /// A handler escalates one level before the deadline, giving a reason.
    async fn escalate_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue>;

    async fn propose_resolution(
        &self, relationship_id: Uuid, issue_id: Uuid, body: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue>;

    /// Accepts for the actor's party (resolved once every party has), or rejects with a reason
    /// (open again, at the same level).
    async fn respond_to_proposal(
        &self, relationship_id: Uuid, issue_id: Uuid, accept: bool, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue>;

    async fn withdraw_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue>;

    async fn issue_stats(&self, relationship_id: Uuid) -> StoreResult<Vec<LevelStat>>;

    /// Escalates every issue whose deadline has passed (one level per elapsed deadline, each
    /// exactly once however many servers sweep) and sends due reminders.
    async fn sweep(&self, now: Timestamp) -> StoreResult<SweepReport>;

    /// What an issue may touch, in one short list.
    async fn link_targets(&self, relationship_id: Uuid) -> StoreResult<Vec<LinkTarget>>;
}
