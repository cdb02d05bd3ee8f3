//! What one page shows, read in one round trip: on SQLite one hop to the blocking pool and one
//! read transaction (a consistent snapshot), on PostgreSQL one connection with the queries
//! pipelined. A page that asked for each part in turn paid a hop or a checkout per part.

use crate::{
    Action, ActionFilter, Issue, IssueEvent, IssueFilter, Kpi, KpiVersion, Ladder, LevelStat, Measurement, Member, Objective, Party,
    Proposal,
};
use accord_domain::audit::{ChainHead, Event};
use accord_domain::measure::Rag;
use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

/// Something an issue may touch: one of the relationship's objectives, KPIs and obligations
/// (in that order), named for a list to choose from.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkTarget {
    /// `objective`, `kpi` or `obligation`.
    pub kind: String,
    pub id: Uuid,
    /// Its title or name; an obligation's with its party's, e.g. `Monthly report (Keystone)`.
    pub label: String,
}

/// A page of the issue log, with its figures.
#[derive(Debug, Clone)]
pub struct IssueLogView {
    pub ladder: Ladder,
    pub stats: Vec<LevelStat>,
    pub parties: Vec<Party>,
    pub issues: Vec<Issue>,
}

/// What the issue log asks for.
#[derive(Debug, Clone)]
pub struct IssueLogRequest {
    pub filter: IssueFilter,
    pub after: Option<(Timestamp, Uuid)>,
    pub limit: u32,
}

/// One issue as one party sees it.
#[derive(Debug, Clone)]
pub struct IssueDetail {
    pub issue: Issue,
    /// The ladder version the issue was raised under.
    pub ladder: Ladder,
    pub proposal: Option<Proposal>,
    pub timeline: Vec<IssueEvent>,
    /// The names of the members the ladder names as handlers.
    pub handlers: Vec<(Uuid, String)>,
    pub parties: Vec<Party>,
    /// Only read when the issue touches something.
    pub targets: Vec<LinkTarget>,
}

/// A relationship's overview for a member.
#[derive(Debug, Clone)]
pub struct OverviewView {
    pub parties: Vec<Party>,
    /// The current SERs and JMT members, and how many current members each party has.
    pub leads: Vec<Member>,
    pub counts: Vec<(Uuid, i64)>,
    /// The latest events, newest first, and the names of their actors.
    pub events: Vec<Event>,
    pub actors: Vec<(Uuid, String)>,
    pub head: Option<ChainHead>,
    pub stats: Vec<LevelStat>,
}

/// The scorecard: every KPI with its recent values.
#[derive(Debug, Clone)]
pub struct ScorecardView {
    pub parties: Vec<Party>,
    pub members: Vec<Member>,
    pub objectives: Vec<Objective>,
    pub kpis: Vec<Kpi>,
    /// The latest values of every KPI, by KPI and then period.
    pub recent: Vec<RecentValue>,
}

/// A current value as a scorecard shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecentValue {
    pub kpi_id: Uuid,
    pub period_start: Date,
    pub value: f64,
    pub rag: Rag,
}

/// One KPI with its threshold versions and latest values.
#[derive(Debug, Clone)]
pub struct KpiDetail {
    pub kpi: Kpi,
    pub parties: Vec<Party>,
    /// The name of the member who reports it, if one does.
    pub reporter: Option<String>,
    pub objectives: Vec<Objective>,
    pub versions: Vec<KpiVersion>,
    /// Newest first.
    pub values: Vec<Measurement>,
}

/// What the KPI page asks for: the KPI and how many of its latest values.
#[derive(Debug, Clone, Copy)]
pub struct KpiRequest {
    pub kpi_id: Uuid,
    pub values: u32,
}

/// A page of the action log.
#[derive(Debug, Clone)]
pub struct ActionLogView {
    pub actions: Vec<Action>,
    pub kpis: Vec<Kpi>,
    pub members: Vec<Member>,
}

/// What the action log asks for.
#[derive(Debug, Clone)]
pub struct ActionLogRequest {
    pub filter: ActionFilter,
    pub after: Option<(Date, Uuid)>,
    pub limit: u32,
}

/// A page of the audit trail, newest first.
#[derive(Debug, Clone)]
pub struct AuditView {
    pub events: Vec<Event>,
    pub parties: Vec<Party>,
    /// The names of the events' actors.
    pub actors: Vec<(Uuid, String)>,
    pub head: Option<ChainHead>,
}
