//! A meeting's draft agenda, chosen from what a backend loaded with the reads the other pages use
//! (the scorecard's KPIs and latest values, the obligations, the live issues, the open actions,
//! the objectives) and the previous meeting's minutes: pure, so property-tested here.
//!
//! **Adding a source** (the RMP, surveys, risks, the exit strategy): a variant of
//! `accord_domain::review::AgendaSource`, the facts it is chosen from in [`AgendaFacts`] (loaded by
//! both backends' `agenda_facts`), and its lines in [`agenda`].

use super::{AgendaItem, ItemOutcome, Meeting};
use crate::{Action, Issue, Kpi, Measurement, Objective, ObjectiveStatus, Obligation, ObligationStatus, Party, SourceKind};
use accord_domain::measure::{Period, Rag, Trend, trend};
use accord_domain::review::AgendaSource;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};
use std::collections::HashSet;
use uuid::Uuid;

/// What an agenda is chosen from.
#[derive(Debug, Clone, Default)]
pub struct AgendaFacts {
    /// The meeting's day: what is due by then is due.
    pub on: Date,
    /// When the series' previous meeting started (what happened since is news).
    pub since: Option<Timestamp>,
    pub parties: Vec<Party>,
    pub kpis: Vec<Kpi>,
    /// Each KPI's latest two current values, oldest first (the scorecard's recent values).
    pub recent: Vec<Measurement>,
    pub obligations: Vec<Obligation>,
    /// Live issues (open or a resolution proposed).
    pub issues: Vec<Issue>,
    /// The names of the current ladder's levels, lowest first.
    pub levels: Vec<String>,
    /// Open actions.
    pub actions: Vec<Action>,
    pub objectives: Vec<Objective>,
    /// The series' previous held meeting.
    pub previous: Option<Meeting>,
}

/// An item the data puts on the agenda.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    pub source: AgendaSource,
    pub source_id: Option<Uuid>,
    pub title: String,
    pub data: Value,
    /// The previous meeting's item it carries over.
    pub carried_from: Option<Uuid>,
}

impl AgendaFacts {
    fn party(&self, id: Option<Uuid>) -> String {
        id.and_then(|id| self.parties.iter().find(|p| p.id == id)).map_or_else(|| "Joint".into(), |p| p.organisation_name.clone())
    }

    /// What the data says of everything it would put on the agenda now, in the order a reader
    /// expects: actions, KPIs, obligations (by party), issues (highest level first), objectives.
    fn fresh(&self) -> Vec<Chosen> {
        let mut out = Vec::new();
        let from_previous: HashSet<Uuid> = self.previous.iter().flat_map(|m| m.minutes.items.iter().map(|i| i.id)).collect();
        for a in &self.actions {
            let raised_there =
                a.source.as_ref().is_some_and(|s| s.source_kind() == Some(SourceKind::MeetingItem) && from_previous.contains(&s.id));
            let overdue = a.due_date < self.on;
            if a.status.open() && (overdue || raised_there) {
                out.push(chosen(
                    AgendaSource::Action,
                    a.id,
                    &a.title,
                    json!({
                        "owner": a.owner_name, "party": a.party_name, "due_date": a.due_date.to_string(),
                        "status": a.status.as_str(), "overdue": overdue, "raised_at_previous": raised_there,
                    }),
                ));
            }
        }
        for k in &self.kpis {
            let values: Vec<&Measurement> = self.recent.iter().filter(|m| m.kpi_id == k.id).collect();
            let Some(latest) = values.last() else { continue };
            let previous = values.len().checked_sub(2).map(|i| values[i]);
            let worse = previous.is_some_and(|p| trend(k.direction, p.value, latest.value) == Trend::Worse);
            if latest.rag != Rag::Green || worse {
                out.push(chosen(AgendaSource::Kpi, k.id, &k.name, json!({
                    "value": latest.value, "unit": k.unit, "rag": latest.rag.as_str(),
                    "period": Period { cadence: k.cadence, start: latest.period_start }.label(),
                    "previous": previous.map(|p| p.value), "trend": if worse { "worsening" } else if previous.is_some() { "not worsening" } else { "" },
                    "party": self.party(k.party_id),
                })));
            }
        }
        let mut obligations: Vec<&Obligation> = self
            .obligations
            .iter()
            .filter(|o| {
                matches!(o.status, ObligationStatus::AtRisk | ObligationStatus::Missed) || (o.status.open() && o.due_date < self.on)
            })
            .collect();
        obligations.sort_by_key(|o| (self.parties.iter().position(|p| p.id == o.party_id), o.due_date));
        for o in obligations {
            out.push(chosen(
                AgendaSource::Obligation,
                o.id,
                &o.title,
                json!({
                    "party": o.party_name, "status": o.status.as_str(), "due_date": o.due_date.to_string(),
                    "past_due": o.status.open() && o.due_date < self.on,
                }),
            ));
        }
        let mut issues: Vec<&Issue> = self.issues.iter().filter(|i| i.status.live()).collect();
        issues.sort_by_key(|i| (std::cmp::Reverse(i.level), i.number));
        for i in issues {
            let escalated = i.level > 0 && self.since.is_none_or(|since| i.level_started_at > since);
            out.push(chosen(
                AgendaSource::Issue,
                i.id,
                &format!("#{} {}", i.number, i.title),
                json!({
                    "number": i.number, "level": i.level, "level_name": self.levels.get(i.level as usize).cloned().unwrap_or_default(),
                    "severity": i.severity, "status": i.status.as_str(), "escalated_since": escalated,
                    "raised_by": self.party(Some(i.raising_party_id)),
                }),
            ));
        }
        for o in &self.objectives {
            if o.status == ObjectiveStatus::Active && o.next_review <= self.on {
                out.push(chosen(AgendaSource::Objective, o.id, &o.title, json!({"next_review": o.next_review.to_string()})));
            }
        }
        out
    }
}

fn chosen(source: AgendaSource, id: Uuid, title: &str, data: Value) -> Chosen {
    Chosen { source, source_id: Some(id), title: title.to_owned(), data, carried_from: None }
}

/// The draft agenda: first every item left open at the previous meeting (carried over, with
/// today's data if the data still chooses it, else as it was), then what the data chooses that
/// is not carried already. Nothing appears twice.
pub fn agenda(facts: &AgendaFacts) -> Vec<Chosen> {
    let mut fresh = facts.fresh();
    let mut out = Vec::new();
    for item in facts.previous.iter().flat_map(|m| &m.minutes.items).filter(|i| i.outcome == ItemOutcome::Open) {
        let again = fresh.iter().position(|c| item.source_id.is_some() && c.source == item.source && c.source_id == item.source_id);
        let data = match again {
            Some(at) => fresh.remove(at).data,
            None => item.data.clone(),
        };
        out.push(Chosen { source: item.source, source_id: item.source_id, title: item.title.clone(), data, carried_from: Some(item.id) });
    }
    out.extend(fresh);
    out
}

/// The data the agenda's sources show now, for an item's (source, id): what minuting freezes.
pub fn current_data(facts: &AgendaFacts) -> Vec<((AgendaSource, Uuid), Value)> {
    facts.fresh().into_iter().filter_map(|c| Some(((c.source, c.source_id?), c.data))).collect()
}

/// Turns chosen lines into open items with fresh ids.
pub fn items(chosen: Vec<Chosen>, mut id: impl FnMut() -> Uuid) -> Vec<AgendaItem> {
    chosen
        .into_iter()
        .map(|c| AgendaItem {
            id: id(),
            source: c.source,
            source_id: c.source_id,
            carried_from: c.carried_from,
            title: c.title,
            data: c.data,
            notes: String::new(),
            outcome: ItemOutcome::Open,
            added_by: None,
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::reviews::{MeetingLine, Minutes, Place};
    use crate::{ActionSource, ActionStatus};
    use accord_domain::escalation::IssueStatus;
    use accord_domain::measure::{Cadence, Direction, Thresholds};
    use accord_domain::review::MeetingStatus;
    use proptest::prelude::*;

    /// A new id each call, for tests.
    pub fn fresh() -> Uuid {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1 << 40);
        Uuid::from_u128(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed).into())
    }

    pub fn kpi(n: u128) -> Kpi {
        Kpi {
            id: Uuid::from_u128(n),
            relationship_id: Uuid::nil(),
            name: format!("KPI {n}"),
            definition: String::new(),
            unit: "%".into(),
            direction: Direction::Higher,
            cadence: Cadence::Monthly,
            party_id: None,
            reporter_id: None,
            objectives: vec![],
            thresholds: Thresholds { direction: Direction::Higher, target: 90.0, amber: 85.0, red: 80.0 },
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn value(kpi: u128, month: i8, value: f64, rag: Rag) -> Measurement {
        Measurement {
            id: crate::reviews::agenda::tests::fresh(),
            kpi_id: Uuid::from_u128(kpi),
            period_start: Date::new(2026, month, 1).unwrap(),
            value,
            comment: String::new(),
            rag,
            entered_by: None,
            entered_by_name: String::new(),
            entered_at: Timestamp::UNIX_EPOCH,
            superseded_at: None,
            retracted: None,
        }
    }

    fn action(n: u128, due: Date, status: ActionStatus, source: Option<Uuid>) -> Action {
        Action {
            id: Uuid::from_u128(n),
            relationship_id: Uuid::nil(),
            title: format!("Action {n}"),
            description: String::new(),
            owner_id: None,
            owner_name: String::new(),
            party_id: Uuid::nil(),
            party_name: "Keystone".into(),
            due_date: due,
            status,
            source: source.map(|id| ActionSource { kind: SourceKind::MeetingItem.as_str().into(), id, period: None }),
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn obligation(n: u128, status: ObligationStatus, due: Date) -> Obligation {
        Obligation {
            id: Uuid::from_u128(n),
            relationship_id: Uuid::nil(),
            party_id: Uuid::nil(),
            party_name: "Keystone".into(),
            title: format!("Obligation {n}"),
            description: String::new(),
            recurrence: "once".into(),
            due_date: due,
            status,
            evidence: String::new(),
            version: 1,
        }
    }

    fn issue(n: u128, level: i32, started: i64, status: IssueStatus) -> Issue {
        Issue {
            id: Uuid::from_u128(n),
            relationship_id: Uuid::nil(),
            number: n as i64,
            title: format!("Issue {n}"),
            description: String::new(),
            category: String::new(),
            severity: "high".into(),
            raised_by: Uuid::nil(),
            raised_by_name: String::new(),
            raising_party_id: Uuid::nil(),
            ladder_version: 0,
            level,
            level_started_at: Timestamp::from_second(started).unwrap(),
            deadline: Timestamp::UNIX_EPOCH,
            status,
            resolved_at: None,
            links: vec![],
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    pub fn meeting(items: Vec<AgendaItem>) -> Meeting {
        Meeting {
            line: MeetingLine {
                id: Uuid::from_u128(77),
                series_id: Uuid::nil(),
                local_start: "2026-03-10T10:00".parse().unwrap(),
                time_zone: "UTC".into(),
                starts_at: Timestamp::from_second(1_000).unwrap(),
                duration_minutes: 60,
                status: MeetingStatus::Minuting,
                sequence: 0,
            },
            relationship_id: Uuid::nil(),
            series_name: "JMT".into(),
            place: Place::default(),
            minutes: Minutes { items, ..Minutes::default() },
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn item(n: u128, source: AgendaSource, source_id: Option<u128>, outcome: ItemOutcome) -> AgendaItem {
        AgendaItem {
            id: Uuid::from_u128(n),
            source,
            source_id: source_id.map(Uuid::from_u128),
            carried_from: None,
            title: format!("Item {n}"),
            data: json!({"as": "then"}),
            notes: String::new(),
            outcome,
            added_by: None,
        }
    }

    fn on() -> Date {
        Date::constant(2026, 4, 10)
    }

    #[test]
    fn the_agenda_lists_what_the_data_flags_and_carries_what_was_left_open() {
        let previous = meeting(vec![
            item(100, AgendaSource::Member, None, ItemOutcome::Open),
            item(101, AgendaSource::Kpi, Some(1), ItemOutcome::Open),
            item(102, AgendaSource::Member, None, ItemOutcome::Closed),
        ]);
        let facts = AgendaFacts {
            on: on(),
            since: Some(Timestamp::from_second(1_000).unwrap()),
            kpis: vec![kpi(1), kpi(2), kpi(3), kpi(4)],
            recent: vec![
                value(1, 2, 70.0, Rag::Red),
                value(1, 3, 60.0, Rag::Red),
                value(2, 3, 95.0, Rag::Green),
                value(3, 2, 99.0, Rag::Green),
                value(3, 3, 92.0, Rag::Green),
                value(4, 3, 85.0, Rag::Amber),
            ],
            obligations: vec![
                obligation(10, ObligationStatus::AtRisk, Date::constant(2026, 9, 1)),
                obligation(11, ObligationStatus::OnTrack, Date::constant(2026, 4, 9)),
                obligation(12, ObligationStatus::OnTrack, Date::constant(2026, 4, 10)),
                obligation(13, ObligationStatus::Delivered, Date::constant(2026, 1, 1)),
                obligation(14, ObligationStatus::Missed, Date::constant(2026, 1, 1)),
            ],
            issues: vec![
                issue(20, 0, 0, IssueStatus::Open),
                issue(21, 1, 2_000, IssueStatus::Open),
                issue(22, 1, 500, IssueStatus::ResolutionProposed),
                issue(23, 2, 2_000, IssueStatus::Resolved),
            ],
            levels: vec!["Working".into(), "JMT".into(), "SER".into()],
            actions: vec![
                action(30, Date::constant(2026, 4, 9), ActionStatus::Open, None),
                action(31, Date::constant(2026, 5, 1), ActionStatus::InProgress, Some(Uuid::from_u128(101))),
                action(32, Date::constant(2026, 5, 1), ActionStatus::Open, None),
            ],
            objectives: vec![],
            previous: Some(previous),
            parties: vec![],
        };
        let chosen = agenda(&facts);
        let ids: Vec<(AgendaSource, Option<u128>)> = chosen.iter().map(|c| (c.source, c.source_id.map(|u| u.as_u128()))).collect();
        use AgendaSource::*;
        assert_eq!(
            ids,
            [
                (Member, None),
                (Kpi, Some(1)),
                (Action, Some(30)),
                (Action, Some(31)),
                (Kpi, Some(3)),
                (Kpi, Some(4)),
                (Obligation, Some(14)),
                (Obligation, Some(11)),
                (Obligation, Some(10)),
                (Issue, Some(21)),
                (Issue, Some(22)),
                (Issue, Some(20)),
            ]
        );
        // The carried KPI shows today's value; the carried hand-made item keeps its own.
        assert_eq!(chosen[1].data["value"], json!(60.0));
        assert_eq!(chosen[1].carried_from, Some(Uuid::from_u128(101)));
        assert_eq!(chosen[0].data, json!({"as": "then"}));
        assert_eq!(chosen[4].data["trend"], "worsening");
        assert_eq!(chosen[9].data["escalated_since"], true);
        assert_eq!(chosen[10].data["escalated_since"], false);
        assert_eq!(chosen[10].data["level_name"], "JMT");
        assert_eq!(chosen[3].data["raised_at_previous"], true);
    }

    proptest! {
        /// Every item left open at the previous meeting is carried exactly once, closed ones never,
        /// a source appears at most once, and a KPI is listed exactly when its latest value is red
        /// or amber or worse than the one before.
        #[test]
        fn open_items_carry_once_and_kpis_list_exactly_when_flagged(
            outcomes in prop::collection::vec(any::<bool>(), 0..6),
            kpi_values in prop::collection::vec((0u8..3, 0.0f64..100.0, prop::option::of(0.0f64..100.0)), 0..6),
        ) {
            let items: Vec<AgendaItem> = outcomes.iter().enumerate().map(|(n, open)| {
                item(500 + n as u128, AgendaSource::Kpi, Some(n as u128), if *open { ItemOutcome::Open } else { ItemOutcome::Closed })
            }).collect();
            let mut recent = Vec::new();
            let rags = [Rag::Red, Rag::Amber, Rag::Green];
            for (n, (rag, latest, before)) in kpi_values.iter().enumerate() {
                if let Some(b) = before { recent.push(value(n as u128, 2, *b, Rag::Green)); }
                recent.push(value(n as u128, 3, *latest, rags[*rag as usize]));
            }
            let facts = AgendaFacts {
                on: on(), kpis: (0..kpi_values.len() as u128).map(kpi).collect(), recent,
                previous: Some(meeting(items)), ..AgendaFacts::default()
            };
            let chosen = agenda(&facts);
            for (n, open) in outcomes.iter().enumerate() {
                let carried = chosen.iter().filter(|c| c.carried_from == Some(Uuid::from_u128(500 + n as u128))).count();
                prop_assert_eq!(carried, usize::from(*open));
            }
            let mut seen = HashSet::new();
            for c in &chosen {
                prop_assert!(seen.insert((c.source, c.source_id)), "listed twice: {:?}", c);
            }
            for (n, (rag, latest, before)) in kpi_values.iter().enumerate() {
                let flagged = *rag != 2 || before.is_some_and(|b| *latest < b);
                let carried_open = outcomes.get(n).copied().unwrap_or(false);
                let listed = chosen.iter().any(|c| c.source == AgendaSource::Kpi && c.source_id == Some(Uuid::from_u128(n as u128)));
                prop_assert_eq!(listed, flagged || carried_open);
            }
        }
    }
}
