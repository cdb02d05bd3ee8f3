//! Rows of the measures module: objectives, KPIs and their versions, measurements, obligations,
//! actions.

use accord_domain::Invalid;
use accord_domain::measure::{Cadence, Direction, Period, Rag, Thresholds};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveStatus {
    Active,
    Retired,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Objective {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub title: String,
    pub description: String,
    /// The parties that own the objective.
    pub parties: Vec<Uuid>,
    /// Months between relevance reviews.
    pub review_months: i32,
    #[schema(value_type = String, format = Date)]
    pub next_review: Date,
    pub status: ObjectiveStatus,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewObjective {
    pub relationship_id: Uuid,
    pub title: String,
    pub description: String,
    pub parties: Vec<Uuid>,
    pub review_months: i32,
    pub next_review: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Still relevant as worded.
    Relevant,
    /// Still relevant, reworded.
    Revised,
    /// No longer relevant.
    Retired,
}

impl Verdict {
    pub fn parse(text: &str) -> Result<Verdict, String> {
        match text.trim() {
            "relevant" => Ok(Verdict::Relevant),
            "revised" => Ok(Verdict::Revised),
            "retired" => Ok(Verdict::Retired),
            _ => Err("must be relevant, revised or retired".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Relevant => "relevant",
            Verdict::Revised => "revised",
            Verdict::Retired => "retired",
        }
    }
}

/// A relevance review's decision; a revision carries the new wording.
#[derive(Debug, Clone)]
pub struct ObjectiveReview {
    pub verdict: Verdict,
    pub reason: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub next_review: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ObjectiveReviewRecord {
    pub id: Uuid,
    pub verdict: Verdict,
    pub reason: String,
    pub decided_by: Uuid,
    pub decided_by_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub decided_at: Timestamp,
    /// The wording before this review (what a revision replaced).
    pub previous_title: String,
    pub previous_description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Kpi {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub name: String,
    pub definition: String,
    pub unit: String,
    pub direction: Direction,
    pub cadence: Cadence,
    /// The responsible party; none when the KPI is joint.
    pub party_id: Option<Uuid>,
    /// Who reports the values.
    pub reporter_id: Option<Uuid>,
    pub objectives: Vec<Uuid>,
    /// The thresholds of the latest version.
    pub thresholds: Thresholds,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// A relationship's KPIs in the order every list shows them: by name as SQLite's `COLLATE
/// NOCASE` orders it (ASCII letters folded), each with its objectives from `links` (KPI,
/// objective), in id order. Both backends read KPIs and links as they lie and finish here: sorted
/// by the database, the rows cost it a sort of whole rows, and a subquery per KPI for its links.
pub fn arrange_kpis(kpis: &mut [Kpi], links: impl IntoIterator<Item = (Uuid, Uuid)>) {
    kpis.sort_by(|a, b| a.name.bytes().map(|c| c.to_ascii_lowercase()).cmp(b.name.bytes().map(|c| c.to_ascii_lowercase())));
    attach_links(kpis, |k| (k.id, &mut k.objectives), links);
}

/// Hands each of `links` (owner, linked id) to its owner among `items` (`ids` gives an item's id
/// and its list), and leaves every list in id order: a list of rows reads all its links in one
/// statement, not one per row.
pub fn attach_links<T>(
    items: &mut [T],
    mut ids: impl FnMut(&mut T) -> (Uuid, &mut Vec<Uuid>),
    links: impl IntoIterator<Item = (Uuid, Uuid)>,
) {
    let at: std::collections::HashMap<Uuid, usize> = items.iter_mut().enumerate().map(|(i, item)| (ids(item).0, i)).collect();
    for (owner, linked) in links {
        if let Some(&i) = at.get(&owner) {
            ids(&mut items[i]).1.push(linked);
        }
    }
    for item in items {
        ids(item).1.sort_unstable();
    }
}

#[derive(Debug, Clone)]
pub struct NewKpi {
    pub relationship_id: Uuid,
    pub name: String,
    pub definition: String,
    pub unit: String,
    pub cadence: Cadence,
    pub party_id: Option<Uuid>,
    pub reporter_id: Option<Uuid>,
    pub objectives: Vec<Uuid>,
    pub thresholds: Thresholds,
    /// The first period the thresholds apply to.
    pub effective_from: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KpiVersion {
    #[schema(value_type = String, format = Date)]
    pub effective_from: Date,
    pub thresholds: Thresholds,
    pub created_by: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Measurement {
    pub id: Uuid,
    pub kpi_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub period_start: Date,
    pub value: f64,
    pub comment: String,
    /// Computed when the value was written, under the version then in force; never recomputed.
    pub rag: Rag,
    pub entered_by: Option<Uuid>,
    pub entered_by_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub entered_at: Timestamp,
    /// Set when a correction replaced this value.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub superseded_at: Option<Timestamp>,
}

/// One row of an import, already resolved to a KPI and a period.
#[derive(Debug, Clone)]
pub struct MeasurementInput {
    pub kpi_id: Uuid,
    pub period_start: Date,
    pub value: f64,
    pub comment: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportSummary {
    pub added: u64,
    pub corrected: u64,
    pub unchanged: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObligationStatus {
    NotStarted,
    OnTrack,
    AtRisk,
    Delivered,
    Missed,
}

impl ObligationStatus {
    pub const ALL: [ObligationStatus; 5] = [
        ObligationStatus::NotStarted,
        ObligationStatus::OnTrack,
        ObligationStatus::AtRisk,
        ObligationStatus::Delivered,
        ObligationStatus::Missed,
    ];

    pub fn parse(text: &str) -> Result<ObligationStatus, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| "must be not_started, on_track, at_risk, delivered or missed".into())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ObligationStatus::NotStarted => "not_started",
            ObligationStatus::OnTrack => "on_track",
            ObligationStatus::AtRisk => "at_risk",
            ObligationStatus::Delivered => "delivered",
            ObligationStatus::Missed => "missed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ObligationStatus::NotStarted => "Not started",
            ObligationStatus::OnTrack => "On track",
            ObligationStatus::AtRisk => "At risk",
            ObligationStatus::Delivered => "Delivered",
            ObligationStatus::Missed => "Missed",
        }
    }

    /// Still to be delivered.
    pub fn open(self) -> bool {
        !matches!(self, ObligationStatus::Delivered | ObligationStatus::Missed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Obligation {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub party_id: Uuid,
    pub party_name: String,
    pub title: String,
    pub description: String,
    /// `once`, `weekly`, `monthly`, `quarterly` or `yearly`.
    pub recurrence: String,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    pub status: ObligationStatus,
    pub evidence: String,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct NewObligation {
    pub relationship_id: Uuid,
    pub party_id: Uuid,
    pub title: String,
    pub description: String,
    pub recurrence: String,
    pub due_date: Date,
}

#[derive(Debug, Clone)]
pub struct ObligationChange {
    pub status: ObligationStatus,
    pub evidence: String,
    pub due_date: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Open,
    InProgress,
    Done,
    Cancelled,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 4] = [ActionStatus::Open, ActionStatus::InProgress, ActionStatus::Done, ActionStatus::Cancelled];

    pub fn parse(text: &str) -> Result<ActionStatus, String> {
        Self::ALL.into_iter().find(|s| s.as_str() == text.trim()).ok_or_else(|| "must be open, in_progress, done or cancelled".into())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::InProgress => "in_progress",
            ActionStatus::Done => "done",
            ActionStatus::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActionStatus::Open => "Open",
            ActionStatus::InProgress => "In progress",
            ActionStatus::Done => "Done",
            ActionStatus::Cancelled => "Cancelled",
        }
    }

    pub fn open(self) -> bool {
        matches!(self, ActionStatus::Open | ActionStatus::InProgress)
    }
}

/// What raised an action: a KPI's period, an obligation (later: an issue, a review).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ActionSource {
    /// `kpi_period`, `obligation`, `issue` or `review`.
    pub kind: String,
    pub id: Uuid,
    /// For a KPI period: the period's first day.
    #[schema(value_type = Option<String>, format = Date)]
    pub period: Option<Date>,
}

/// What an action source's id names in the action's relationship, as a backend found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFound {
    /// A KPI, with its cadence (its periods).
    Kpi(Cadence),
    Obligation,
    /// Nothing of this relationship: another relationship's, or nothing at all.
    Nothing,
}

impl ActionSource {
    /// May an action come from this source, given what its id names in the action's
    /// relationship (`found`)? A KPI period must be one of that KPI's periods; anything of another
    /// relationship, or nothing, is refused naming the field, and never hashed into the chain.
    pub fn check(&self, found: SourceFound) -> Result<(), Invalid> {
        match (self.kind.as_str(), found, self.period) {
            ("kpi_period", SourceFound::Kpi(cadence), Some(day)) if Period::containing(cadence, day).start == day => Ok(()),
            ("kpi_period", SourceFound::Kpi(cadence), Some(_)) => {
                Err(Invalid::one("source_period", format!("must be the first day of one of the KPI's {} periods", cadence.as_str())))
            }
            ("kpi_period", SourceFound::Kpi(_), None) => Err(Invalid::one("source_period", "must be the first day of the KPI's period")),
            ("kpi_period", _, _) => Err(Invalid::one("source_id", "is not a KPI of this relationship")),
            ("obligation", SourceFound::Obligation, _) => Ok(()),
            ("obligation", _, _) => Err(Invalid::one("source_id", "is not an obligation of this relationship")),
            _ => Err(Invalid::one("source_kind", "must be kpi_period or obligation")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Action {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub title: String,
    pub description: String,
    pub owner_id: Option<Uuid>,
    pub owner_name: String,
    pub party_id: Uuid,
    pub party_name: String,
    #[schema(value_type = String, format = Date)]
    pub due_date: Date,
    pub status: ActionStatus,
    pub source: Option<ActionSource>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewAction {
    pub relationship_id: Uuid,
    pub title: String,
    pub description: String,
    pub owner_id: Option<Uuid>,
    pub party_id: Uuid,
    pub due_date: Date,
    pub source: Option<ActionSource>,
}

#[derive(Debug, Clone)]
pub struct ActionChange {
    pub status: ActionStatus,
    pub owner_id: Option<Uuid>,
    pub due_date: Date,
}

/// Which actions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionFilter {
    Open,
    Closed,
    All,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(kind: &str, period: Option<&str>) -> ActionSource {
        ActionSource { kind: kind.into(), id: Uuid::nil(), period: period.map(|p| p.parse().unwrap()) }
    }

    fn refused(result: Result<(), Invalid>) -> String {
        result.unwrap_err().0[0].field.clone()
    }

    #[test]
    fn a_source_names_something_of_the_relationship_or_is_refused_by_field() {
        let march = Some("2026-03-01");
        assert_eq!(source("kpi_period", march).check(SourceFound::Kpi(Cadence::Monthly)), Ok(()));
        assert_eq!(source("kpi_period", Some("2026-01-01")).check(SourceFound::Kpi(Cadence::Quarterly)), Ok(()));
        assert_eq!(refused(source("kpi_period", Some("2026-03-02")).check(SourceFound::Kpi(Cadence::Monthly))), "source_period");
        assert_eq!(refused(source("kpi_period", None).check(SourceFound::Kpi(Cadence::Monthly))), "source_period");
        assert_eq!(refused(source("kpi_period", march).check(SourceFound::Nothing)), "source_id");
        assert_eq!(refused(source("kpi_period", march).check(SourceFound::Obligation)), "source_id");
        assert_eq!(source("obligation", None).check(SourceFound::Obligation), Ok(()));
        assert_eq!(refused(source("obligation", None).check(SourceFound::Nothing)), "source_id");
        assert_eq!(refused(source("obligation", None).check(SourceFound::Kpi(Cadence::Daily))), "source_id");
        assert_eq!(refused(source("review", None).check(SourceFound::Obligation)), "source_kind");
    }
}
