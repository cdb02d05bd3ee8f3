//! What each write of the measures module decides, from what its backend loaded: whether the
//! rules allow it, the state its rows move to and its audit event (kind and summary). Pure, and
//! written once: each backend loads (with its locks), asks here, and applies what comes back in
//! the same transaction.

use super::*;
use crate::StoreError;
use accord_domain::EventKind;
use accord_domain::audit::Draft;
use accord_domain::measure::{Period, Version, format_value, version_in_force};
use serde_json::{Value, json};

/// A versioned write goes ahead only on the version its caller read.
pub fn check_version(current: i64, expected: i64) -> StoreResult<()> {
    if current == expected { Ok(()) } else { Err(StoreError::Stale { current }) }
}

/// Refuses, naming `field`, unless the party is one of the relationship's.
pub fn require_party(known: bool, field: &str) -> StoreResult<()> {
    if known { Ok(()) } else { Err(StoreError::invalid(field, "is not a party to this relationship")) }
}

/// Refuses, naming `field`, unless the person is a current member.
pub fn require_member(member: bool, field: &str) -> StoreResult<()> {
    if member { Ok(()) } else { Err(StoreError::invalid(field, "is not a current member of this relationship")) }
}

// Objectives.

/// A new objective, its parties all found (`parties_known`) among the relationship's.
pub fn create_objective(new: &NewObjective, parties_known: bool, id: Uuid, actor: Uuid) -> StoreResult<Draft> {
    require_party(parties_known, "parties")?;
    let summary =
        json!({"title": new.title, "parties": new.parties, "review_months": new.review_months, "next_review": new.next_review.to_string()});
    Ok(Draft::new(Some(actor), EventKind::ObjectiveCreated, "objective", id, summary))
}

/// What a relevance review makes of an objective: a revision takes the new wording, anything else
/// keeps the earlier one; a retirement retires it. The review row keeps the wording `before`.
#[derive(Debug)]
pub struct ObjectiveRevision<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub status: ObjectiveStatus,
    pub draft: Draft,
}

pub fn review_objective<'a>(
    before: &'a Objective, review: &'a ObjectiveReview, expected_version: i64, actor: Uuid,
) -> StoreResult<ObjectiveRevision<'a>> {
    check_version(before.version, expected_version)?;
    let revised = review.verdict == Verdict::Revised;
    let title = review.title.as_deref().filter(|_| revised).unwrap_or(&before.title);
    let description = review.description.as_deref().filter(|_| revised).unwrap_or(&before.description);
    let status = if review.verdict == Verdict::Retired { ObjectiveStatus::Retired } else { ObjectiveStatus::Active };
    let summary = json!({
        "verdict": review.verdict.as_str(), "reason": review.reason, "next_review": review.next_review.to_string(),
        "before": {"title": before.title, "description": before.description}, "after": {"title": title, "description": description},
    });
    let draft = Draft::new(Some(actor), EventKind::ObjectiveReviewed, "objective", before.id, summary);
    Ok(ObjectiveRevision { title, description, status, draft })
}

// KPIs.

/// Thresholds as a summary shows them: numbers as the pages write them.
pub fn thresholds_json(t: &Thresholds) -> Value {
    json!({"direction": t.direction.as_str(), "target": format_value(t.target), "amber": format_value(t.amber), "red": format_value(t.red)})
}

/// What a new KPI refers to, as its backend found it.
#[derive(Debug, Clone, Copy)]
pub struct KpiReferences {
    /// Its party (if it names one) is one of the relationship's.
    pub party: bool,
    /// Its reporter (if it names one) is a current member.
    pub reporter: bool,
    /// The first of its objectives that is not the relationship's.
    pub unknown_objective: Option<Uuid>,
}

pub fn create_kpi(new: &NewKpi, found: KpiReferences, id: Uuid, actor: Uuid) -> StoreResult<Draft> {
    require_party(found.party, "party")?;
    require_member(found.reporter, "reporter")?;
    if let Some(o) = found.unknown_objective {
        return Err(StoreError::invalid("objectives", format!("{o} is not an objective of this relationship")));
    }
    let summary = json!({
        "name": new.name, "unit": new.unit, "cadence": new.cadence.as_str(), "party": new.party_id, "reporter": new.reporter_id,
        "objectives": new.objectives, "thresholds": thresholds_json(&new.thresholds), "effective_from": new.effective_from.to_string(),
    });
    Ok(Draft::new(Some(actor), EventKind::KpiCreated, "kpi", id, summary))
}

/// New thresholds for `before` from the period starting `effective_from`, which must start one of
/// its periods after `latest` (when its current thresholds took effect); its direction stays.
pub fn add_kpi_version(
    before: &Kpi, latest: Option<Date>, effective_from: Date, t: &Thresholds, expected_version: i64, actor: Uuid,
) -> StoreResult<Draft> {
    check_version(before.version, expected_version)?;
    if Period::containing(before.cadence, effective_from).start != effective_from {
        return Err(StoreError::invalid("effective_from", format!("must be the first day of a {} period", before.cadence.as_str())));
    }
    if let Some(latest) = latest.filter(|latest| *latest >= effective_from) {
        return Err(StoreError::invalid("effective_from", format!("must be after {latest}, when the current thresholds took effect")));
    }
    if t.direction != before.direction {
        return Err(StoreError::invalid("direction", "a KPI keeps its direction; define a new KPI instead"));
    }
    let summary =
        json!({"effective_from": effective_from.to_string(), "before": thresholds_json(&before.thresholds), "after": thresholds_json(t)});
    Ok(Draft::new(Some(actor), EventKind::KpiThresholdsChanged, "kpi", before.id, summary))
}

// Measurements.

/// What a write needs to know of a KPI: its cadence and every threshold version.
#[derive(Debug, Clone)]
pub struct KpiRules {
    pub cadence: Cadence,
    pub versions: Vec<Version>,
}

/// The RAG of a value about to be written for a KPI under `rules`, or None when it equals the
/// period's current value and comment (`current`): nothing to write. Refuses a day that does not
/// start one of the KPI's periods.
pub fn value_rag(rules: &KpiRules, current: Option<(f64, &str)>, input: &MeasurementInput) -> StoreResult<Option<Rag>> {
    if Period::containing(rules.cadence, input.period_start).start != input.period_start {
        return Err(StoreError::invalid("period", format!("{} does not start a {} period", input.period_start, rules.cadence.as_str())));
    }
    if current.is_some_and(|(value, comment)| value == input.value && comment == input.comment) {
        return Ok(None);
    }
    let version = version_in_force(&rules.versions, input.period_start).ok_or(StoreError::NotFound("KPI version"))?;
    Ok(Some(version.thresholds.rag(input.value)))
}

/// The event of one value recorded (`id`, its RAG `rag`), or of a correction of the value and RAG
/// `before`.
pub fn record_measurement(input: &MeasurementInput, id: Uuid, rag: Rag, before: Option<(f64, Rag)>, actor: Uuid) -> Draft {
    let mut summary =
        json!({"kpi": input.kpi_id, "period": input.period_start.to_string(), "value": format_value(input.value), "rag": rag.as_str()});
    let kind = match before {
        Some((value, rag)) => {
            summary["before"] = json!({"value": format_value(value), "rag": rag.as_str()});
            EventKind::MeasurementCorrected
        }
        None => EventKind::MeasurementRecorded,
    };
    Draft::new(Some(actor), kind, "measurement", id, summary)
}

/// Only a period's current value is retracted: one retracted already, or corrected since (its
/// correction is the value to retract), is refused naming the value.
pub fn retractable(m: &Measurement) -> StoreResult<()> {
    if let Some(r) = &m.retracted {
        let by = if r.by_name.is_empty() { String::new() } else { format!(" by {}", r.by_name) };
        return Err(StoreError::invalid("measurement", format!("was retracted already{by} on {}", r.at.strftime("%Y-%m-%d"))));
    }
    if m.superseded_at.is_some() {
        return Err(StoreError::invalid("measurement", "was corrected since: retract the period's current value instead"));
    }
    Ok(())
}

/// Retracting `m`, recorded by mistake, for `reason`: the event names the KPI, the period and the
/// value withdrawn. The period then has no current value (an earlier correction is not put back:
/// it was replaced on purpose) until one is recorded again, as any new value.
pub fn retract_measurement(m: &Measurement, reason: &str, actor: Uuid) -> StoreResult<Draft> {
    retractable(m)?;
    if reason.trim().is_empty() {
        return Err(StoreError::invalid("reason", "say why the value is retracted"));
    }
    let summary = json!({
        "kpi": m.kpi_id, "period": m.period_start.to_string(), "value": format_value(m.value), "rag": m.rag.as_str(), "reason": reason,
    });
    Ok(Draft::new(Some(actor), EventKind::MeasurementRetracted, "measurement", m.id, summary))
}

/// The refusal of an import's row `i` that names a KPI of another relationship (or none).
pub fn foreign_kpi(i: usize) -> StoreError {
    StoreError::invalid(&format!("rows[{i}]"), "names a KPI of another relationship")
}

impl ImportSummary {
    /// Counts a row: unchanged (nothing written), added, or a correction of a current value.
    pub fn count(&mut self, written: bool, corrected: bool) {
        match (written, corrected) {
            (false, _) => self.unchanged += 1,
            (true, false) => self.added += 1,
            (true, true) => self.corrected += 1,
        }
    }
}

/// An import's one event: the file's SHA-256 and its row count, with what its rows did.
pub fn import_measurements(sha256: &str, rows: usize, summary: ImportSummary, import_id: Uuid, actor: Option<Uuid>) -> Draft {
    let detail = json!({"file_sha256": sha256, "rows": rows, "added": summary.added, "corrected": summary.corrected, "unchanged": summary.unchanged});
    Draft::new(actor, EventKind::MeasurementsImported, "import", import_id, detail)
}

// Obligations.

pub fn create_obligation(new: &NewObligation, party_known: bool, id: Uuid, actor: Uuid) -> StoreResult<Draft> {
    require_party(party_known, "party")?;
    let summary = json!({"title": new.title, "party": new.party_id, "recurrence": new.recurrence, "due_date": new.due_date.to_string()});
    Ok(Draft::new(Some(actor), EventKind::ObligationCreated, "obligation", id, summary))
}

pub fn update_obligation(before: &Obligation, change: &ObligationChange, expected_version: i64, actor: Uuid) -> StoreResult<Draft> {
    check_version(before.version, expected_version)?;
    let summary = json!({
        "party": before.party_id,
        "before": {"status": before.status.as_str(), "due_date": before.due_date.to_string(), "evidence": before.evidence},
        "after": {"status": change.status.as_str(), "due_date": change.due_date.to_string(), "evidence": change.evidence},
    });
    Ok(Draft::new(Some(actor), EventKind::ObligationUpdated, "obligation", before.id, summary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_domain::measure::Direction;
    use proptest::prelude::*;

    fn day(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    fn thresholds(target: f64) -> Thresholds {
        Thresholds { direction: Direction::Higher, target, amber: target - 10.0, red: target - 20.0 }
    }

    fn rules(cadence: Cadence) -> KpiRules {
        KpiRules {
            cadence,
            versions: vec![
                Version { effective_from: day(2026, 1, 1), thresholds: thresholds(90.0) },
                Version { effective_from: day(2026, 7, 1), thresholds: thresholds(50.0) },
            ],
        }
    }

    fn input(period_start: Date, value: f64, comment: &str) -> MeasurementInput {
        MeasurementInput { kpi_id: Uuid::nil(), period_start, value, comment: comment.into() }
    }

    fn kpi(version: i64) -> Kpi {
        Kpi {
            id: Uuid::from_u128(7),
            relationship_id: Uuid::nil(),
            name: "On time".into(),
            definition: String::new(),
            unit: "%".into(),
            direction: Direction::Higher,
            cadence: Cadence::Monthly,
            party_id: None,
            reporter_id: None,
            objectives: Vec::new(),
            thresholds: thresholds(90.0),
            version,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn field(e: StoreError) -> String {
        match e {
            StoreError::Invalid(invalid) => invalid.0[0].field.clone(),
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn a_value_takes_the_rag_of_the_version_in_force_and_an_equal_one_writes_nothing() {
        let monthly = rules(Cadence::Monthly);
        assert_eq!(value_rag(&monthly, None, &input(day(2026, 3, 1), 75.0, "")).unwrap(), Some(Rag::Amber));
        assert_eq!(value_rag(&monthly, None, &input(day(2026, 8, 1), 75.0, "")).unwrap(), Some(Rag::Green));
        assert_eq!(value_rag(&monthly, Some((85.0, "late")), &input(day(2026, 3, 1), 85.0, "late")).unwrap(), None);
        assert_eq!(value_rag(&monthly, Some((75.0, "late")), &input(day(2026, 3, 1), 75.0, "")).unwrap(), Some(Rag::Amber));
        assert_eq!(field(value_rag(&monthly, None, &input(day(2026, 3, 2), 85.0, "")).unwrap_err()), "period");
        // The first version also rates periods before it (history loaded later).
        assert_eq!(value_rag(&monthly, None, &input(day(2025, 12, 1), 75.0, "")).unwrap(), Some(Rag::Amber));
        let none = KpiRules { cadence: Cadence::Monthly, versions: Vec::new() };
        assert!(matches!(value_rag(&none, None, &input(day(2026, 3, 1), 75.0, "")), Err(StoreError::NotFound("KPI version"))));
    }

    #[test]
    fn a_correction_names_what_it_corrected() {
        let first = record_measurement(&input(day(2026, 3, 1), 85.0, ""), Uuid::nil(), Rag::Amber, None, Uuid::nil());
        assert_eq!(first.kind, EventKind::MeasurementRecorded);
        assert!(first.summary.get("before").is_none());
        let again = record_measurement(&input(day(2026, 3, 1), 95.0, ""), Uuid::nil(), Rag::Green, Some((85.0, Rag::Amber)), Uuid::nil());
        assert_eq!(again.kind, EventKind::MeasurementCorrected);
        assert_eq!(again.summary["before"], json!({"value": "85", "rag": "amber"}));
        assert_eq!(again.summary["value"], json!("95"));
    }

    fn recorded(superseded: bool, retracted: bool) -> Measurement {
        let at = Timestamp::UNIX_EPOCH;
        Measurement {
            id: Uuid::from_u128(9),
            kpi_id: Uuid::from_u128(7),
            period_start: day(2026, 3, 1),
            value: 92.5,
            comment: String::new(),
            rag: Rag::Green,
            entered_by: None,
            entered_by_name: String::new(),
            entered_at: at,
            superseded_at: (superseded || retracted).then_some(at),
            retracted: retracted.then(|| Retraction { by: None, by_name: "Sam Lee".into(), at, reason: "typo".into() }),
        }
    }

    #[test]
    fn only_a_current_value_is_retracted_and_only_with_a_reason() {
        let draft = retract_measurement(&recorded(false, false), "typed into the wrong KPI", Uuid::from_u128(1)).unwrap();
        assert_eq!(draft.kind, EventKind::MeasurementRetracted);
        assert_eq!(draft.subject, format!("measurement:{}", Uuid::from_u128(9)));
        assert_eq!(
            draft.summary,
            json!({"kpi": Uuid::from_u128(7), "period": "2026-03-01", "value": "92.5", "rag": "green", "reason": "typed into the wrong KPI"})
        );
        assert_eq!(field(retract_measurement(&recorded(false, false), "  ", Uuid::nil()).unwrap_err()), "reason");
        let twice = retract_measurement(&recorded(true, true), "again", Uuid::nil()).unwrap_err();
        assert!(twice.to_string().contains("retracted already by Sam Lee"), "{twice}");
        assert_eq!(field(retract_measurement(&recorded(true, false), "old", Uuid::nil()).unwrap_err()), "measurement");
        assert!(retractable(&recorded(false, false)).is_ok());
    }

    proptest! {
        /// Whatever the value's state and the reason: retracted exactly when it is current and a
        /// reason is given, and the event always names the value's KPI, period and value.
        #[test]
        fn a_retraction_is_decided_by_the_state_and_the_reason(superseded in any::<bool>(), retracted in any::<bool>(), reason in "[ a-z]{0,12}") {
            let m = recorded(superseded, retracted);
            match retract_measurement(&m, &reason, Uuid::nil()) {
                Ok(draft) => {
                    prop_assert!(!superseded && !retracted && !reason.trim().is_empty());
                    prop_assert_eq!(&draft.summary["period"], &json!("2026-03-01"));
                    prop_assert_eq!(&draft.summary["reason"], &json!(reason));
                }
                Err(StoreError::Invalid(_)) => prop_assert!(superseded || retracted || reason.trim().is_empty()),
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    #[test]
    fn new_thresholds_start_a_period_after_the_latest_and_keep_the_direction() {
        let before = kpi(3);
        let t = thresholds(80.0);
        let latest = Some(day(2026, 7, 1));
        assert!(matches!(add_kpi_version(&before, latest, day(2026, 9, 1), &t, 2, Uuid::nil()), Err(StoreError::Stale { current: 3 })));
        assert_eq!(field(add_kpi_version(&before, latest, day(2026, 9, 2), &t, 3, Uuid::nil()).unwrap_err()), "effective_from");
        assert_eq!(field(add_kpi_version(&before, latest, day(2026, 7, 1), &t, 3, Uuid::nil()).unwrap_err()), "effective_from");
        let lower = Thresholds { direction: Direction::Lower, target: 1.0, amber: 2.0, red: 3.0 };
        assert_eq!(field(add_kpi_version(&before, latest, day(2026, 9, 1), &lower, 3, Uuid::nil()).unwrap_err()), "direction");
        let draft = add_kpi_version(&before, latest, day(2026, 9, 1), &t, 3, Uuid::nil()).unwrap();
        assert_eq!(draft.kind, EventKind::KpiThresholdsChanged);
        assert_eq!(draft.summary["after"]["target"], json!("80"));
        assert_eq!(draft.summary["before"]["target"], json!("90"));
    }

    #[test]
    fn a_review_revises_only_when_it_says_so_and_keeps_the_earlier_wording() {
        let before = Objective {
            id: Uuid::from_u128(1),
            relationship_id: Uuid::nil(),
            title: "Old".into(),
            description: "Was".into(),
            parties: Vec::new(),
            review_months: 12,
            next_review: day(2026, 1, 1),
            status: ObjectiveStatus::Active,
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
        };
        let review = |verdict| ObjectiveReview {
            verdict,
            reason: "because".into(),
            title: Some("New".into()),
            description: Some("Is".into()),
            next_review: day(2027, 1, 1),
        };
        let relevant = review(Verdict::Relevant);
        let kept = review_objective(&before, &relevant, 1, Uuid::nil()).unwrap();
        assert_eq!((kept.title, kept.description, kept.status), ("Old", "Was", ObjectiveStatus::Active));
        let revised = review(Verdict::Revised);
        let changed = review_objective(&before, &revised, 1, Uuid::nil()).unwrap();
        assert_eq!((changed.title, changed.description), ("New", "Is"));
        assert_eq!(changed.draft.summary["before"], json!({"title": "Old", "description": "Was"}));
        let retired = review(Verdict::Retired);
        assert_eq!(review_objective(&before, &retired, 1, Uuid::nil()).unwrap().status, ObjectiveStatus::Retired);
        assert!(matches!(review_objective(&before, &retired, 0, Uuid::nil()), Err(StoreError::Stale { current: 1 })));
    }

    proptest! {
        /// Whatever the day and value: a day that starts no period is refused; one that does gets
        /// the RAG of the latest version from on or before it (the first before any); the current value again writes nothing.
        #[test]
        fn a_value_is_refused_or_rated_under_the_version_in_force(
            offset in 0i64..1200, value in -1e6f64..1e6, cadence in prop::sample::select(Cadence::ALL.to_vec()),
        ) {
            let start = day(2025, 6, 1).checked_add(jiff::Span::new().days(offset)).unwrap();
            let rules = rules(cadence);
            let row = input(start, value, "");
            match value_rag(&rules, None, &row) {
                Err(StoreError::Invalid(_)) => prop_assert_ne!(Period::containing(cadence, start).start, start),
                Ok(Some(rag)) => {
                    let version = if start >= day(2026, 7, 1) { &rules.versions[1] } else { &rules.versions[0] };
                    prop_assert_eq!(rag, version.thresholds.rag(value));
                    prop_assert_eq!(value_rag(&rules, Some((value, "")), &row).unwrap(), None);
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }

        /// A KPI's new thresholds are accepted exactly when the version matches, the day starts a
        /// period after the latest, and the direction stays.
        #[test]
        fn new_thresholds_are_accepted_exactly_when_every_rule_holds(
            offset in 0i64..400, expected in 1i64..4, lower in any::<bool>(),
        ) {
            let before = kpi(2);
            let latest = day(2026, 7, 1);
            let from = day(2026, 1, 1).checked_add(jiff::Span::new().days(offset)).unwrap();
            let direction = if lower { Direction::Lower } else { Direction::Higher };
            let t = Thresholds { direction, ..thresholds(80.0) };
            let ok = expected == 2 && from.day() == 1 && from > latest && !lower;
            prop_assert_eq!(add_kpi_version(&before, Some(latest), from, &t, expected, Uuid::nil()).is_ok(), ok);
        }
    }
}
