//! The measures module's rows as both backends read them: each backend selects these columns in
//! this order and reads the row through its [`Cells`].

use super::*;
use crate::Cells;

/// `objective_id, relationship_id, title, description, review_months, next_review, status,
/// version, created_at`; its parties are read apart.
pub fn objective_row<C: Cells>(r: &C) -> Result<Objective, C::Error> {
    Ok(Objective {
        id: r.uuid(0)?,
        relationship_id: r.uuid(1)?,
        title: r.text(2)?,
        description: r.text(3)?,
        parties: Vec::new(),
        review_months: r.int32(4)?,
        next_review: r.date(5)?,
        status: r.parsed(6, |s| Ok(if s == "retired" { ObjectiveStatus::Retired } else { ObjectiveStatus::Active }))?,
        version: r.int(7)?,
        created_at: r.time(8)?,
    })
}

/// `objective_review_id, verdict, reason, decided_by, (its name), decided_at, previous_title,
/// previous_description`.
pub fn objective_review_row<C: Cells>(r: &C) -> Result<ObjectiveReviewRecord, C::Error> {
    Ok(ObjectiveReviewRecord {
        id: r.uuid(0)?,
        verdict: r.parsed(1, Verdict::parse)?,
        reason: r.text(2)?,
        decided_by: r.uuid(3)?,
        decided_by_name: r.text(4)?,
        decided_at: r.time(5)?,
        previous_title: r.text(6)?,
        previous_description: r.text(7)?,
    })
}

/// `kpi_id, relationship_id, name, definition, unit, direction, cadence, party_id, reporter_id,
/// version, created_at, target, amber, red` (the thresholds of its latest version, kept on its
/// row); its objectives are read apart.
pub fn kpi_row<C: Cells>(r: &C) -> Result<Kpi, C::Error> {
    let direction = r.parsed(5, Direction::parse)?;
    Ok(Kpi {
        id: r.uuid(0)?,
        relationship_id: r.uuid(1)?,
        name: r.text(2)?,
        definition: r.text(3)?,
        unit: r.text(4)?,
        direction,
        cadence: r.parsed(6, Cadence::parse)?,
        party_id: r.opt_uuid(7)?,
        reporter_id: r.opt_uuid(8)?,
        objectives: Vec::new(),
        version: r.int(9)?,
        created_at: r.time(10)?,
        thresholds: Thresholds { direction, target: r.float(11)?, amber: r.float(12)?, red: r.float(13)? },
    })
}

/// `effective_from, target, amber, red, created_by, created_at` of a KPI going `direction`.
pub fn kpi_version_row<C: Cells>(r: &C, direction: Direction) -> Result<KpiVersion, C::Error> {
    Ok(KpiVersion {
        effective_from: r.date(0)?,
        thresholds: Thresholds { direction, target: r.float(1)?, amber: r.float(2)?, red: r.float(3)? },
        created_by: r.opt_uuid(4)?,
        created_at: r.time(5)?,
    })
}

/// `measurement_id, kpi_id, period_start, value, comment, rag, entered_by, (their name or ''),
/// entered_at, superseded_at, retracted_at, retracted_by, (their name or ''), retraction_reason`.
pub fn measurement_row<C: Cells>(r: &C) -> Result<Measurement, C::Error> {
    let retracted = match r.opt_time(10)? {
        Some(at) => Some(Retraction { at, by: r.opt_uuid(11)?, by_name: r.text(12)?, reason: r.opt_text(13)?.unwrap_or_default() }),
        None => None,
    };
    Ok(Measurement {
        id: r.uuid(0)?,
        kpi_id: r.uuid(1)?,
        period_start: r.date(2)?,
        value: r.float(3)?,
        comment: r.text(4)?,
        rag: r.parsed(5, Rag::parse)?,
        entered_by: r.opt_uuid(6)?,
        entered_by_name: r.text(7)?,
        entered_at: r.time(8)?,
        superseded_at: r.opt_time(9)?,
        retracted,
    })
}

/// `obligation_id, relationship_id, party_id, (the party's name), title, description, recurrence,
/// due_date, status, evidence, version`.
pub fn obligation_row<C: Cells>(r: &C) -> Result<Obligation, C::Error> {
    Ok(Obligation {
        id: r.uuid(0)?,
        relationship_id: r.uuid(1)?,
        party_id: r.uuid(2)?,
        party_name: r.text(3)?,
        title: r.text(4)?,
        description: r.text(5)?,
        recurrence: r.text(6)?,
        due_date: r.date(7)?,
        status: r.parsed(8, ObligationStatus::parse)?,
        evidence: r.text(9)?,
        version: r.int(10)?,
    })
}
