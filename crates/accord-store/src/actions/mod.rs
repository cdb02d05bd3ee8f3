//! The action log: actions raised by hand or from any module's records (a KPI's period, an
//! obligation; next reviews, risks and surveys), their storage contract and their decisions.

pub mod decide;

use crate::StoreResult;
use accord_domain::Invalid;
use accord_domain::measure::{Cadence, Period};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The action log: actions raised by hand or from any module's records.
#[async_trait]
pub trait ActionStore: Send + Sync + 'static {
    async fn create_action(&self, new: NewAction, actor: Uuid, now: Timestamp) -> StoreResult<Action>;

    async fn update_action(
        &self, relationship_id: Uuid, action_id: Uuid, change: ActionChange, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Action>;

    async fn action(&self, relationship_id: Uuid, action_id: Uuid) -> StoreResult<Action>;

    /// By due date (overdue first), keyset-paged after (due date, id).
    async fn actions(
        &self, relationship_id: Uuid, filter: ActionFilter, after: Option<(Date, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<Action>>;
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

/// The kinds of record an action can come from: each says where a backend finds it
/// ([`SourceKind::lookup`]) and what it must be ([`ActionSource::check`]). A module whose records
/// raise actions (reviews, risks, surveys) adds a variant here, not code in each backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// One period of a KPI (`period` is its first day).
    KpiPeriod,
    Obligation,
    /// An item of a review meeting's agenda (stored as `review`, the name the action table's
    /// check has allowed since V3).
    MeetingItem,
}

impl SourceKind {
    pub const ALL: [SourceKind; 3] = [SourceKind::KpiPeriod, SourceKind::Obligation, SourceKind::MeetingItem];

    /// The string stored in `action.source_kind` and hashed into the chain: never changes.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::KpiPeriod => "kpi_period",
            SourceKind::Obligation => "obligation",
            SourceKind::MeetingItem => "review",
        }
    }

    pub fn parse(text: &str) -> Option<SourceKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The statement that finds a source of this kind in the action's relationship (`$1`, then
    /// its id `$2`; the same text on both databases), answering one text column that
    /// [`SourceKind::found`] reads.
    pub fn lookup(self) -> &'static str {
        match self {
            SourceKind::KpiPeriod => "SELECT cadence FROM kpi WHERE relationship_id = $1 AND kpi_id = $2",
            SourceKind::Obligation => "SELECT '' FROM obligation WHERE relationship_id = $1 AND obligation_id = $2",
            SourceKind::MeetingItem => "SELECT '' FROM meeting_item WHERE relationship_id = $1 AND item_id = $2",
        }
    }

    /// What the row [`SourceKind::lookup`] answered (`None`: no row) says the source is.
    pub fn found(self, column: Option<&str>) -> Result<SourceFound, String> {
        Ok(match (self, column) {
            (_, None) => SourceFound::Nothing,
            (SourceKind::KpiPeriod, Some(cadence)) => SourceFound::Kpi(Cadence::parse(cadence)?),
            (SourceKind::Obligation, Some(_)) => SourceFound::Obligation,
            (SourceKind::MeetingItem, Some(_)) => SourceFound::MeetingItem,
        })
    }
}

/// What raised an action: a KPI's period, an obligation (later: an issue, a review).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ActionSource {
    /// `kpi_period`, `obligation` or `review` (a meeting's agenda item). Kept as sent (an unknown kind is refused
    /// by [`ActionSource::check`], naming the field); [`SourceKind`] is what a known one means.
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
    MeetingItem,
    /// Nothing of this relationship: another relationship's, or nothing at all.
    Nothing,
}

impl ActionSource {
    /// The kind, if it is one an action may come from.
    pub fn source_kind(&self) -> Option<SourceKind> {
        SourceKind::parse(&self.kind)
    }

    /// May an action come from this source, given what its id names in the action's
    /// relationship (`found`)? A KPI period must be one of that KPI's periods; anything of another
    /// relationship, or nothing, is refused naming the field, and never hashed into the chain.
    pub fn check(&self, found: SourceFound) -> Result<(), Invalid> {
        match (self.source_kind(), found, self.period) {
            (Some(SourceKind::KpiPeriod), SourceFound::Kpi(cadence), Some(day)) if Period::containing(cadence, day).start == day => Ok(()),
            (Some(SourceKind::KpiPeriod), SourceFound::Kpi(cadence), Some(_)) => {
                Err(Invalid::one("source_period", format!("must be the first day of one of the KPI's {} periods", cadence.as_str())))
            }
            (Some(SourceKind::KpiPeriod), SourceFound::Kpi(_), None) => {
                Err(Invalid::one("source_period", "must be the first day of the KPI's period"))
            }
            (Some(SourceKind::KpiPeriod), _, _) => Err(Invalid::one("source_id", "is not a KPI of this relationship")),
            (Some(SourceKind::Obligation), SourceFound::Obligation, _) => Ok(()),
            (Some(SourceKind::Obligation), _, _) => Err(Invalid::one("source_id", "is not an obligation of this relationship")),
            (Some(SourceKind::MeetingItem), SourceFound::MeetingItem, _) => Ok(()),
            (Some(SourceKind::MeetingItem), _, _) => Err(Invalid::one("source_id", "is not an agenda item of this relationship")),
            (None, _, _) => Err(Invalid::one("source_kind", "must be kpi_period, obligation or review")),
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

/// `action_id, relationship_id, title, description, owner_id, (their name or ''), party_id, (its
/// name), due_date, status, source_kind, source_id, source_period, version, created_at`, as both
/// backends read it through their [`Cells`](crate::Cells).
pub fn action_row<C: crate::Cells>(r: &C) -> Result<Action, C::Error> {
    let source = match (r.opt_text(10)?, r.opt_uuid(11)?) {
        (Some(kind), Some(id)) => Some(ActionSource { kind, id, period: r.opt_date(12)? }),
        _ => None,
    };
    Ok(Action {
        id: r.uuid(0)?,
        relationship_id: r.uuid(1)?,
        title: r.text(2)?,
        description: r.text(3)?,
        owner_id: r.opt_uuid(4)?,
        owner_name: r.text(5)?,
        party_id: r.uuid(6)?,
        party_name: r.text(7)?,
        due_date: r.date(8)?,
        status: r.parsed(9, ActionStatus::parse)?,
        source,
        version: r.int(13)?,
        created_at: r.time(14)?,
    })
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
        assert_eq!(refused(source("review", None).check(SourceFound::Obligation)), "source_id");
        assert_eq!(source("review", None).check(SourceFound::MeetingItem), Ok(()));
        assert_eq!(refused(source("meeting", None).check(SourceFound::Obligation)), "source_kind");
    }

    #[test]
    fn a_source_kind_reads_back_as_written_and_finds_what_it_names() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::parse(kind.as_str()), Some(kind));
            assert!(kind.lookup().contains("relationship_id = $1") && kind.lookup().ends_with("_id = $2"), "{}", kind.lookup());
            assert_eq!(kind.found(None), Ok(SourceFound::Nothing));
        }
        assert_eq!(SourceKind::parse("review"), Some(SourceKind::MeetingItem));
        assert_eq!(SourceKind::parse("meeting"), None);
        assert_eq!(SourceKind::KpiPeriod.found(Some("quarterly")), Ok(SourceFound::Kpi(Cadence::Quarterly)));
        assert!(SourceKind::KpiPeriod.found(Some("hourly")).is_err());
        assert_eq!(SourceKind::Obligation.found(Some("")), Ok(SourceFound::Obligation));
    }
}
