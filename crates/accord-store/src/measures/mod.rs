//! The measures module: objectives, KPIs and their threshold versions, measurements and
//! obligations; their storage contract and their decisions (`decide`).

pub mod decide;
mod read;

pub use read::*;

use crate::StoreResult;
use accord_domain::measure::{Cadence, Direction, Rag, Thresholds};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Objectives, KPIs and their threshold versions, measurements and obligations.
#[async_trait]
pub trait MeasureStore: Send + Sync + 'static {
    async fn create_objective(&self, new: NewObjective, actor: Uuid, now: Timestamp) -> StoreResult<Objective>;

    async fn objectives(&self, relationship_id: Uuid) -> StoreResult<Vec<Objective>>;

    async fn objective(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Objective>;

    /// Records a relevance review (a revision keeps the earlier wording), if still at `expected_version`.
    async fn review_objective(
        &self, relationship_id: Uuid, objective_id: Uuid, review: ObjectiveReview, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Objective>;

    async fn objective_reviews(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Vec<ObjectiveReviewRecord>>;

    async fn create_kpi(&self, new: NewKpi, actor: Uuid, now: Timestamp) -> StoreResult<Kpi>;

    /// Every KPI of the relationship, by name.
    async fn kpis(&self, relationship_id: Uuid) -> StoreResult<Vec<Kpi>>;

    async fn kpi(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Kpi>;

    /// Oldest first.
    async fn kpi_versions(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Vec<KpiVersion>>;

    /// New thresholds from the period starting `effective_from` (after every earlier version's).
    async fn add_kpi_version(
        &self, relationship_id: Uuid, kpi_id: Uuid, effective_from: Date, thresholds: Thresholds, expected_version: i64, actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Kpi>;

    /// Records (or corrects) a value; its RAG is computed now, under the version in force for the period.
    async fn record_measurement(
        &self, relationship_id: Uuid, input: MeasurementInput, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Measurement>;

    /// Retracts the current value `measurement_id` of `kpi_id`, recorded by mistake: it stays in
    /// history, marked retracted (by whom, when, why), and its period has no current value until
    /// one is recorded again.
    async fn retract_measurement(
        &self, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Measurement>;

    /// One value of a KPI, current or not.
    async fn measurement(&self, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid) -> StoreResult<Measurement>;

    /// Current values of one KPI, newest period first, before `before` (a period start), at most `limit`.
    async fn measurements(&self, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32) -> StoreResult<Vec<Measurement>>;

    /// Every value ever written for one period of a KPI, newest first.
    async fn measurement_history(&self, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> StoreResult<Vec<Measurement>>;

    /// The latest `per_kpi` current values of every KPI, oldest first within each KPI.
    async fn recent_measurements(&self, relationship_id: Uuid, per_kpi: u32) -> StoreResult<Vec<Measurement>>;

    /// All rows or none, as one audit event naming the file's SHA-256 and the row count.
    async fn import_measurements(
        &self, relationship_id: Uuid, rows: Vec<MeasurementInput>, file_sha256: &str, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<ImportSummary>;

    async fn create_obligation(&self, new: NewObligation, actor: Uuid, now: Timestamp) -> StoreResult<Obligation>;

    async fn update_obligation(
        &self, relationship_id: Uuid, obligation_id: Uuid, change: ObligationChange, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Obligation>;

    /// Open ones first by due date, then delivered and missed.
    async fn obligations(&self, relationship_id: Uuid) -> StoreResult<Vec<Obligation>>;

    async fn obligation(&self, relationship_id: Uuid, obligation_id: Uuid) -> StoreResult<Obligation>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveStatus {
    Active,
    Retired,
}

impl ObjectiveStatus {
    /// As stored in `objective.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectiveStatus::Active => "active",
            ObjectiveStatus::Retired => "retired",
        }
    }
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
    items: &mut [T], mut ids: impl FnMut(&mut T) -> (Uuid, &mut Vec<Uuid>), links: impl IntoIterator<Item = (Uuid, Uuid)>,
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
    /// Set when a correction replaced this value, or when it was retracted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub superseded_at: Option<Timestamp>,
    /// Set when the value was retracted as recorded by mistake.
    pub retracted: Option<Retraction>,
}

/// Who retracted a value, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Retraction {
    pub by: Option<Uuid>,
    pub by_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub reason: String,
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
