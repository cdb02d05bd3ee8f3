//! A party's oversight, as its SER and everyone else in the relationship sees it: what the party
//! owes and whether it delivers. Read as a page view (`ViewRequest::Oversight`), in one round
//! trip; what it shows is ordered here, once for both backends.

use crate::issues::decide::handles;
use crate::reviews::Intervention;
use crate::{Action, IssueLine, Kpi, LadderLevel, Obligation, ObligationStatus, Party, RecentValue};
use accord_domain::measure::{Trend, trend};
use accord_domain::membership::CurrentMember;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// How many open actions and waiting issues the page lists (the logs have the rest).
pub const OVERSIGHT_ROWS: u32 = 50;

/// What the oversight page of one party shows.
#[derive(Debug, Clone)]
pub struct OversightView {
    pub party: Party,
    pub parties: Vec<Party>,
    /// Every obligation the party has committed to, by due date.
    pub obligations: Vec<Obligation>,
    /// Its open actions by due date (overdue first), at most [`OVERSIGHT_ROWS`] of `open_actions`.
    pub actions: Vec<Action>,
    pub open_actions: i64,
    /// The KPIs it is responsible for, by name, and their latest kept values.
    pub kpis: Vec<Kpi>,
    pub recent: Vec<RecentValue>,
    /// Live issues at a level of their ladder that one of its current members handles, by
    /// deadline, at most [`OVERSIGHT_ROWS`] of `waiting_issues`.
    pub issues: Vec<WaitingIssue>,
    pub waiting_issues: i64,
    /// Decisions of joint reviews aimed at this party ("deliver your part"): the reviews module
    /// fills it when it reads the view; empty until then.
    pub interventions: Vec<Intervention>,
}

/// An issue waiting at a level the party handles, with that level's name.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingIssue {
    pub line: IssueLine,
    pub level_name: String,
}

/// One level of one version of the relationship's ladder, as the backends read them all.
#[derive(Debug, Clone)]
pub struct VersionLevel {
    pub version: i32,
    pub level: i32,
    pub rung: LadderLevel,
}

/// The (ladder version, level) pairs that a current member of `party_id` handles: the issues
/// waiting there wait on the party (among others).
pub fn handled_levels(levels: &[VersionLevel], members: &[CurrentMember], party_id: Uuid) -> Vec<(i32, i32)> {
    let ours: Vec<&CurrentMember> = members.iter().filter(|m| m.party_id == party_id).collect();
    levels.iter().filter(|l| ours.iter().any(|m| handles(&l.rung, m))).map(|l| (l.version, l.level)).collect()
}

/// The name of `level` of ladder `version`.
pub fn level_name(levels: &[VersionLevel], version: i32, level: i32) -> String {
    levels.iter().find(|l| l.version == version && l.level == level).map_or_else(|| format!("Level {}", level + 1), |l| l.rung.name.clone())
}

/// Why an obligation needs attention, most pressing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Concern {
    Missed,
    /// Its due date has passed and it is not delivered.
    PastDue,
    AtRisk,
}

impl Concern {
    pub fn label(self) -> &'static str {
        match self {
            Concern::Missed => "Missed",
            Concern::PastDue => "Past due, not delivered",
            Concern::AtRisk => "At risk",
        }
    }
}

/// What about `obligation` needs attention on `today`, if anything.
pub fn concern(obligation: &Obligation, today: Date) -> Option<Concern> {
    match obligation.status {
        ObligationStatus::Missed => Some(Concern::Missed),
        ObligationStatus::Delivered => None,
        _ if obligation.due_date < today => Some(Concern::PastDue),
        ObligationStatus::AtRisk => Some(Concern::AtRisk),
        _ => None,
    }
}

/// Those needing attention first (missed, past due, at risk), then the open ones, then the
/// delivered; each group by due date.
pub fn arrange_obligations(obligations: &mut [Obligation], today: Date) {
    obligations.sort_by_key(|o| {
        let group = match concern(o, today) {
            Some(c) => c as u8,
            None if o.status.open() => 3,
            None => 4,
        };
        (group, o.due_date, o.id)
    });
}

/// A KPI's latest value and its trend against the one before, as the scorecard shows them, from
/// its kept values (oldest first).
pub fn kpi_standing(kpi: &Kpi, recent: &[RecentValue]) -> (Option<RecentValue>, Option<Trend>) {
    let values: Vec<&RecentValue> = recent.iter().filter(|v| v.kpi_id == kpi.id).collect();
    let trend = match values.as_slice() {
        [.., previous, latest] => Some(trend(kpi.direction, previous.value, latest.value)),
        _ => None,
    };
    (values.last().map(|v| **v), trend)
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_domain::escalation::Limit;
    use accord_domain::measure::{Cadence, Direction, Rag, Thresholds};
    use accord_domain::membership::Role;
    use jiff::Timestamp;

    fn obligation(n: u128, status: ObligationStatus, due: &str) -> Obligation {
        Obligation {
            id: Uuid::from_u128(n),
            relationship_id: Uuid::nil(),
            party_id: Uuid::nil(),
            party_name: String::new(),
            title: format!("o{n}"),
            description: String::new(),
            recurrence: "once".into(),
            due_date: due.parse().unwrap(),
            status,
            evidence: String::new(),
            version: 1,
        }
    }

    #[test]
    fn obligations_needing_attention_come_first() {
        use ObligationStatus::*;
        let today: Date = "2026-06-01".parse().unwrap();
        let mut list = vec![
            obligation(1, Delivered, "2026-01-01"),
            obligation(2, OnTrack, "2026-07-01"),
            obligation(3, AtRisk, "2026-08-01"),
            obligation(4, OnTrack, "2026-05-01"),
            obligation(5, Missed, "2026-03-01"),
            obligation(6, NotStarted, "2026-06-15"),
        ];
        arrange_obligations(&mut list, today);
        let order: Vec<u128> = list.iter().map(|o| o.id.as_u128()).collect();
        assert_eq!(order, vec![5, 4, 3, 6, 2, 1]);
        assert_eq!(concern(&list[1], today), Some(Concern::PastDue));
        assert_eq!(concern(&obligation(7, AtRisk, "2026-01-01"), today), Some(Concern::PastDue));
        assert_eq!(concern(&obligation(8, Delivered, "2026-01-01"), today), None);
    }

    #[test]
    fn a_party_handles_the_levels_its_members_hold_or_are_named_at() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let rung = |roles: Vec<Role>, members: Vec<Uuid>| LadderLevel { name: "x".into(), roles, members, limit: Limit::WorkingDays(5) };
        let named = Uuid::from_u128(20);
        let levels = vec![
            VersionLevel { version: 1, level: 0, rung: rung(vec![Role::Contributor], vec![]) },
            VersionLevel { version: 1, level: 1, rung: rung(vec![Role::Ser], vec![]) },
            VersionLevel { version: 2, level: 0, rung: rung(vec![], vec![named]) },
        ];
        let members = [
            CurrentMember { user_id: Uuid::from_u128(10), party_id: a, role: Role::Ser },
            CurrentMember { user_id: named, party_id: b, role: Role::Observer },
            CurrentMember { user_id: Uuid::from_u128(11), party_id: b, role: Role::Contributor },
        ];
        assert_eq!(handled_levels(&levels, &members, a), vec![(1, 1)]);
        assert_eq!(handled_levels(&levels, &members, b), vec![(1, 0), (2, 0)]);
        assert_eq!(level_name(&levels, 1, 1), "x");
        assert_eq!(level_name(&levels, 3, 0), "Level 1");
    }

    #[test]
    fn a_kpi_stands_at_its_latest_value_and_trends_against_the_one_before() {
        let kpi = Kpi {
            id: Uuid::from_u128(1),
            relationship_id: Uuid::nil(),
            name: "k".into(),
            definition: String::new(),
            unit: "%".into(),
            direction: Direction::Higher,
            cadence: Cadence::Monthly,
            party_id: None,
            reporter_id: None,
            objectives: vec![],
            thresholds: Thresholds { direction: Direction::Higher, target: 95.0, amber: 90.0, red: 80.0 },
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let value = |kpi: u128, month: i8, value: f64, rag: Rag| RecentValue {
            kpi_id: Uuid::from_u128(kpi),
            period_start: Date::new(2026, month, 1).unwrap(),
            value,
            rag,
        };
        let recent = [value(1, 1, 92.0, Rag::Green), value(2, 1, 1.0, Rag::Red), value(1, 2, 85.0, Rag::Amber)];
        let (latest, trend) = kpi_standing(&kpi, &recent);
        assert_eq!(latest.map(|v| (v.value, v.rag)), Some((85.0, Rag::Amber)));
        assert_eq!(trend, Some(Trend::Worse));
        assert_eq!(kpi_standing(&kpi, &recent[..1]), (Some(recent[0]), None));
        assert_eq!(kpi_standing(&kpi, &[]), (None, None));
    }
}
