//! The measures module on SQLite: objectives, KPIs, measurements, obligations, actions.

use super::*;
use accord_domain::measure::{Cadence, Direction, Period, Rag, Thresholds, Version, format_value, version_in_force};
use std::collections::HashMap;

fn parse_date(text: &str) -> Result<Date, String> {
    text.parse::<Date>().map_err(|e| e.to_string())
}

fn opt_date(row: &Row, column: usize) -> rusqlite::Result<Option<Date>> {
    row.get::<_, Option<String>>(column)?.map(|t| parse_date(&t).map_err(|e| conversion(column, std::io::Error::other(e)))).transpose()
}

/// Refuses a party that is not one of the relationship's, naming `field`.
fn require_party(c: &Connection, relationship_id: Uuid, party_id: Uuid, field: &str) -> R<()> {
    let found = c
        .prepare_cached("SELECT 1 FROM party WHERE relationship_id = ?1 AND party_id = ?2")?
        .query_row([relationship_id, party_id], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| invalid(field, "is not a party to this relationship"))
}

/// Refuses a person who is not a current member, naming `field`.
fn require_member(c: &Connection, relationship_id: Uuid, user_id: Uuid, field: &str) -> R<()> {
    current_membership(c, relationship_id, user_id)?
        .map(|_| ())
        .ok_or_else(|| invalid(field, "is not a current member of this relationship"))
}

/// Refuses a source that names nothing of this relationship an action can come from (looked up
/// here, decided by `ActionSource::check`).
fn require_source(c: &Connection, relationship_id: Uuid, source: &ActionSource) -> R<()> {
    let found = match source.kind.as_str() {
        "kpi_period" => c
            .prepare_cached("SELECT cadence FROM kpi WHERE relationship_id = ?1 AND kpi_id = ?2")?
            .query_row([relationship_id, source.id], |r| text_as(r, 0, Cadence::parse))
            .optional()?
            .map_or(SourceFound::Nothing, SourceFound::Kpi),
        "obligation" => c
            .prepare_cached("SELECT 1 FROM obligation WHERE relationship_id = ?1 AND obligation_id = ?2")?
            .query_row([relationship_id, source.id], |_| Ok(SourceFound::Obligation))
            .optional()?
            .unwrap_or(SourceFound::Nothing),
        _ => SourceFound::Nothing,
    };
    Ok(source.check(found).map_err(StoreError::from)?)
}

fn check_version(current: i64, expected: i64) -> R<()> {
    if current == expected { Ok(()) } else { Err(Fail(StoreError::Stale { current })) }
}

// Objectives.

const OBJECTIVE: &str =
    "SELECT objective_id, relationship_id, title, description, review_months, next_review, status, version, created_at FROM objective";

fn objective_row(r: &Row) -> rusqlite::Result<Objective> {
    Ok(Objective {
        id: r.get(0)?,
        relationship_id: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        parties: Vec::new(),
        review_months: r.get(4)?,
        next_review: date(r, 5)?,
        status: if r.get::<_, String>(6)? == "retired" { ObjectiveStatus::Retired } else { ObjectiveStatus::Active },
        version: r.get(7)?,
        created_at: ts(r.get(8)?),
    })
}

/// Pairs (owner, linked id) from `sql`, which takes the relationship as ?1.
fn links(c: &Connection, sql: &str, relationship_id: Uuid) -> R<Vec<(Uuid, Uuid)>> {
    Ok(c.prepare_cached(sql)?.query_map([relationship_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
}

pub(crate) fn objectives(c: &Connection, relationship_id: Uuid) -> R<Vec<Objective>> {
    let mut stmt = c.prepare_cached(&format!("{OBJECTIVE} WHERE relationship_id = ?1 ORDER BY status, title"))?;
    let mut objectives = stmt.query_map([relationship_id], objective_row)?.collect::<Result<Vec<_>, _>>()?;
    let parties = links(c, "SELECT objective_id, party_id FROM objective_party WHERE relationship_id = ?1", relationship_id)?;
    attach_links(&mut objectives, |o| (o.id, &mut o.parties), parties);
    Ok(objectives)
}

pub(crate) fn objective(c: &Connection, relationship_id: Uuid, objective_id: Uuid) -> R<Objective> {
    let mut row = c
        .prepare_cached(&format!("{OBJECTIVE} WHERE relationship_id = ?1 AND objective_id = ?2"))?
        .query_row([relationship_id, objective_id], objective_row)
        .optional()?
        .ok_or(not_found("objective"))?;
    let mut parties = c.prepare_cached("SELECT party_id FROM objective_party WHERE relationship_id = ?1 AND objective_id = ?2")?;
    row.parties = parties.query_map([relationship_id, objective_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    row.parties.sort_unstable();
    Ok(row)
}

pub(crate) fn create_objective(tx: &Connection, new: &NewObjective, actor: Uuid, now: Timestamp) -> R<Objective> {
    get_relationship(tx, new.relationship_id)?;
    for party in &new.parties {
        require_party(tx, new.relationship_id, *party, "parties")?;
    }
    let id = new_id(now);
    tx.prepare_cached(
        "INSERT INTO objective (relationship_id, objective_id, title, description, review_months, next_review, status, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', 1, ?7, ?7)",
    )?
    .execute(params![new.relationship_id, id, new.title, new.description, new.review_months, new.next_review.to_string(), micros(now)])?;
    for party in &new.parties {
        tx.prepare_cached("INSERT INTO objective_party (relationship_id, objective_id, party_id) VALUES (?1, ?2, ?3)")?.execute([
            new.relationship_id,
            id,
            *party,
        ])?;
    }
    let summary =
        json!({"title": new.title, "parties": new.parties, "review_months": new.review_months, "next_review": new.next_review.to_string()});
    append(tx, new.relationship_id, Draft::new(Some(actor), EventKind::ObjectiveCreated, "objective", id, summary), now)?;
    objective(tx, new.relationship_id, id)
}

pub(crate) fn review_objective(
    tx: &Connection,
    relationship_id: Uuid,
    objective_id: Uuid,
    review: &ObjectiveReview,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Objective> {
    let before = objective(tx, relationship_id, objective_id)?;
    check_version(before.version, expected_version)?;
    let title = review.title.as_deref().filter(|_| review.verdict == Verdict::Revised).unwrap_or(&before.title);
    let description = review.description.as_deref().filter(|_| review.verdict == Verdict::Revised).unwrap_or(&before.description);
    let status = if review.verdict == Verdict::Retired { "retired" } else { "active" };
    tx.prepare_cached(
        "UPDATE objective SET title = ?3, description = ?4, next_review = ?5, status = ?6, version = version + 1, updated_at = ?7
         WHERE relationship_id = ?1 AND objective_id = ?2",
    )?
    .execute(params![relationship_id, objective_id, title, description, review.next_review.to_string(), status, micros(now)])?;
    tx.prepare_cached(
        "INSERT INTO objective_review (relationship_id, objective_review_id, objective_id, verdict, reason, decided_by, decided_at, previous_title, previous_description)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![relationship_id, new_id(now), objective_id, review.verdict.as_str(), review.reason, actor, micros(now), before.title, before.description])?;
    let summary = json!({
        "verdict": review.verdict.as_str(), "reason": review.reason, "next_review": review.next_review.to_string(),
        "before": {"title": before.title, "description": before.description}, "after": {"title": title, "description": description},
    });
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::ObjectiveReviewed, "objective", objective_id, summary), now)?;
    objective(tx, relationship_id, objective_id)
}

pub(crate) fn objective_reviews(c: &Connection, relationship_id: Uuid, objective_id: Uuid) -> R<Vec<ObjectiveReviewRecord>> {
    let mut stmt = c.prepare_cached(
        "SELECT r.objective_review_id, r.verdict, r.reason, r.decided_by, u.name, r.decided_at, r.previous_title, r.previous_description
         FROM objective_review r JOIN user_account u INDEXED BY user_account_names ON u.user_id = r.decided_by
         WHERE r.relationship_id = ?1 AND r.objective_id = ?2 ORDER BY r.decided_at DESC",
    )?;
    let rows = stmt.query_map([relationship_id, objective_id], |r| {
        Ok(ObjectiveReviewRecord {
            id: r.get(0)?,
            verdict: text_as(r, 1, Verdict::parse)?,
            reason: r.get(2)?,
            decided_by: r.get(3)?,
            decided_by_name: r.get(4)?,
            decided_at: ts(r.get(5)?),
            previous_title: r.get(6)?,
            previous_description: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// KPIs.

/// A KPI with the thresholds of its latest version, kept on its row (see V6).
const KPI: &str = "SELECT k.kpi_id, k.relationship_id, k.name, k.definition, k.unit, k.direction, k.cadence, k.party_id, k.reporter_id, k.version, k.created_at,
        k.target, k.amber, k.red
    FROM kpi k";

fn kpi_row(r: &Row) -> rusqlite::Result<Kpi> {
    let direction = text_as(r, 5, Direction::parse)?;
    Ok(Kpi {
        id: r.get(0)?,
        relationship_id: r.get(1)?,
        name: r.get(2)?,
        definition: r.get(3)?,
        unit: r.get(4)?,
        direction,
        cadence: text_as(r, 6, Cadence::parse)?,
        party_id: r.get(7)?,
        reporter_id: r.get(8)?,
        objectives: Vec::new(),
        version: r.get(9)?,
        created_at: ts(r.get(10)?),
        thresholds: Thresholds { direction, target: r.get(11)?, amber: r.get(12)?, red: r.get(13)? },
    })
}

pub(crate) fn kpis(c: &Connection, relationship_id: Uuid) -> R<Vec<Kpi>> {
    // Read in key order and arranged by name here (ordered by the name index, SQLite looked every
    // KPI up in the table again).
    let mut stmt = c.prepare_cached(&format!("{KPI} WHERE k.relationship_id = ?1"))?;
    let mut kpis = stmt.query_map([relationship_id], kpi_row)?.collect::<Result<Vec<_>, _>>()?;
    arrange_kpis(&mut kpis, links(c, "SELECT kpi_id, objective_id FROM kpi_objective WHERE relationship_id = ?1", relationship_id)?);
    Ok(kpis)
}

pub(crate) fn kpi(c: &Connection, relationship_id: Uuid, kpi_id: Uuid) -> R<Kpi> {
    let row = c
        .prepare_cached(&format!("{KPI} WHERE k.relationship_id = ?1 AND k.kpi_id = ?2"))?
        .query_row([relationship_id, kpi_id], kpi_row)
        .optional()?
        .ok_or(not_found("KPI"))?;
    // Its own links only: `kpis` reads every link of the relationship, for a list.
    let mut stmt =
        c.prepare_cached("SELECT objective_id FROM kpi_objective WHERE relationship_id = ?1 AND kpi_id = ?2 ORDER BY objective_id")?;
    let objectives = stmt.query_map([relationship_id, kpi_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(Kpi { objectives, ..row })
}

fn thresholds_json(t: &Thresholds) -> serde_json::Value {
    json!({"direction": t.direction.as_str(), "target": format_value(t.target), "amber": format_value(t.amber), "red": format_value(t.red)})
}

pub(crate) fn create_kpi(tx: &Connection, new: &NewKpi, actor: Uuid, now: Timestamp) -> R<Kpi> {
    get_relationship(tx, new.relationship_id)?;
    if let Some(party) = new.party_id {
        require_party(tx, new.relationship_id, party, "party")?;
    }
    if let Some(reporter) = new.reporter_id {
        require_member(tx, new.relationship_id, reporter, "reporter")?;
    }
    for o in &new.objectives {
        objective(tx, new.relationship_id, *o)
            .map_err(|_| invalid("objectives", format!("{o} is not an objective of this relationship")))?;
    }
    let id = new_id(now);
    let t = &new.thresholds;
    tx.prepare_cached(
        "INSERT INTO kpi (relationship_id, kpi_id, name, definition, unit, direction, cadence, party_id, reporter_id, version, created_at, updated_at, recent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?10, x'')",
    )?
    .execute(params![
        new.relationship_id,
        id,
        new.name,
        new.definition,
        new.unit,
        t.direction.as_str(),
        new.cadence.as_str(),
        new.party_id,
        new.reporter_id,
        micros(now)
    ])
    .map_err(unique_as("name", "another KPI of this relationship has this name"))?;
    insert_version(tx, new.relationship_id, id, new.effective_from, t, actor, now)?;
    for o in &new.objectives {
        tx.prepare_cached("INSERT INTO kpi_objective (relationship_id, kpi_id, objective_id) VALUES (?1, ?2, ?3)")?.execute([
            new.relationship_id,
            id,
            *o,
        ])?;
    }
    let summary = json!({
        "name": new.name, "unit": new.unit, "cadence": new.cadence.as_str(), "party": new.party_id, "reporter": new.reporter_id,
        "objectives": new.objectives, "thresholds": thresholds_json(t), "effective_from": new.effective_from.to_string(),
    });
    let draft = Draft::new(Some(actor), EventKind::KpiCreated, "kpi", id, summary);
    append(tx, new.relationship_id, draft, now)?;
    kpi(tx, new.relationship_id, id)
}

fn insert_version(
    tx: &Connection,
    relationship_id: Uuid,
    kpi_id: Uuid,
    effective_from: Date,
    t: &Thresholds,
    actor: Uuid,
    now: Timestamp,
) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO kpi_version (relationship_id, kpi_id, effective_from, target, amber, red, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![relationship_id, kpi_id, effective_from.to_string(), t.target, t.amber, t.red, actor, micros(now)])?;
    // The KPI's row keeps the thresholds of its latest version (see V6).
    tx.prepare_cached(
        "UPDATE kpi SET (target, amber, red) = (SELECT v.target, v.amber, v.red FROM kpi_version v
             WHERE v.relationship_id = kpi.relationship_id AND v.kpi_id = kpi.kpi_id ORDER BY v.effective_from DESC LIMIT 1)
         WHERE relationship_id = ?1 AND kpi_id = ?2",
    )?
    .execute([relationship_id, kpi_id])?;
    Ok(())
}

pub(crate) fn kpi_versions(c: &Connection, relationship_id: Uuid, kpi_id: Uuid) -> R<Vec<KpiVersion>> {
    let direction = kpi(c, relationship_id, kpi_id)?.direction;
    let mut stmt = c.prepare_cached(
        "SELECT effective_from, target, amber, red, created_by, created_at FROM kpi_version WHERE relationship_id = ?1 AND kpi_id = ?2 ORDER BY effective_from",
    )?;
    let rows = stmt.query_map([relationship_id, kpi_id], |r| {
        Ok(KpiVersion {
            effective_from: date(r, 0)?,
            thresholds: Thresholds { direction, target: r.get(1)?, amber: r.get(2)?, red: r.get(3)? },
            created_by: r.get(4)?,
            created_at: ts(r.get(5)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn add_kpi_version(
    tx: &Connection,
    relationship_id: Uuid,
    kpi_id: Uuid,
    effective_from: Date,
    t: &Thresholds,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Kpi> {
    let before = kpi(tx, relationship_id, kpi_id)?;
    check_version(before.version, expected_version)?;
    if Period::containing(before.cadence, effective_from).start != effective_from {
        return Err(invalid("effective_from", format!("must be the first day of a {} period", before.cadence.as_str())));
    }
    let versions = kpi_versions(tx, relationship_id, kpi_id)?;
    if let Some(latest) = versions.last().filter(|v| v.effective_from >= effective_from) {
        return Err(invalid("effective_from", format!("must be after {}, when the current thresholds took effect", latest.effective_from)));
    }
    if t.direction != before.direction {
        return Err(invalid("direction", "a KPI keeps its direction; define a new KPI instead"));
    }
    insert_version(tx, relationship_id, kpi_id, effective_from, t, actor, now)?;
    tx.prepare_cached("UPDATE kpi SET version = version + 1, updated_at = ?3 WHERE relationship_id = ?1 AND kpi_id = ?2")?
        .execute(params![relationship_id, kpi_id, micros(now)])?;
    let summary =
        json!({"effective_from": effective_from.to_string(), "before": thresholds_json(&before.thresholds), "after": thresholds_json(t)});
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::KpiThresholdsChanged, "kpi", kpi_id, summary), now)?;
    kpi(tx, relationship_id, kpi_id)
}

// Measurements.

const MEASUREMENT: &str = "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at
    FROM measurement m LEFT JOIN user_account u INDEXED BY user_account_names ON u.user_id = m.entered_by";

fn measurement_row(r: &Row) -> rusqlite::Result<Measurement> {
    Ok(Measurement {
        id: r.get(0)?,
        kpi_id: r.get(1)?,
        period_start: date(r, 2)?,
        value: r.get(3)?,
        comment: r.get(4)?,
        rag: text_as(r, 5, Rag::parse)?,
        entered_by: r.get(6)?,
        entered_by_name: r.get(7)?,
        entered_at: ts(r.get(8)?),
        superseded_at: r.get::<_, Option<i64>>(9)?.map(ts),
    })
}

/// What a write needs to know of a KPI: its cadence and every threshold version.
struct KpiRules {
    cadence: Cadence,
    versions: Vec<Version>,
}

/// The rules of every KPI of the relationship, or of `only` that one.
fn kpi_rules(c: &Connection, relationship_id: Uuid, only: Option<Uuid>) -> R<HashMap<Uuid, KpiRules>> {
    let mut rules: HashMap<Uuid, KpiRules> = HashMap::new();
    const RULES: &str = "SELECT k.kpi_id, k.cadence, k.direction, v.effective_from, v.target, v.amber, v.red
         FROM kpi k JOIN kpi_version v ON v.relationship_id = k.relationship_id AND v.kpi_id = k.kpi_id WHERE k.relationship_id = ?1";
    let mut stmt = match only {
        Some(_) => c.prepare_cached(&format!("{RULES} AND k.kpi_id = ?2"))?,
        None => c.prepare_cached(RULES)?,
    };
    let values: Vec<Uuid> = std::iter::once(relationship_id).chain(only).collect();
    let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| {
        let direction = text_as(r, 2, Direction::parse)?;
        let version = Version {
            effective_from: date(r, 3)?,
            thresholds: Thresholds { direction, target: r.get(4)?, amber: r.get(5)?, red: r.get(6)? },
        };
        Ok((r.get::<_, Uuid>(0)?, text_as(r, 1, Cadence::parse)?, version))
    })?;
    for row in rows {
        let (id, cadence, version) = row?;
        rules.entry(id).or_insert_with(|| KpiRules { cadence, versions: Vec::new() }).versions.push(version);
    }
    Ok(rules)
}

/// A current value: its id, value, comment and RAG.
struct Current {
    id: Uuid,
    value: f64,
    comment: String,
    rag: Rag,
}

/// The current values of `kpi_ids` for the periods from `first` to `last`, by KPI and period:
/// read once, so that an import does not look each row's period up.
fn current_values(c: &Connection, relationship_id: Uuid, kpi_ids: &[Uuid], first: Date, last: Date) -> R<HashMap<(Uuid, Date), Current>> {
    let mut stmt = c.prepare_cached(
        "SELECT period_start, measurement_id, value, comment, rag FROM measurement
         WHERE relationship_id = ?1 AND kpi_id = ?2 AND period_start BETWEEN ?3 AND ?4 AND superseded_at IS NULL",
    )?;
    let (first, last) = (first.to_string(), last.to_string());
    let mut current = HashMap::new();
    for kpi_id in kpi_ids {
        let rows = stmt.query_map(params![relationship_id, kpi_id, first, last], |r| {
            Ok((date(r, 0)?, Current { id: r.get(1)?, value: r.get(2)?, comment: r.get(3)?, rag: text_as(r, 4, Rag::parse)? }))
        })?;
        for row in rows {
            let (period, value) = row?;
            current.insert((*kpi_id, period), value);
        }
    }
    Ok(current)
}

const INSERT_MEASUREMENT: &str =
    "INSERT INTO measurement (relationship_id, measurement_id, kpi_id, period_start, value, comment, rag, entered_by, entered_at) VALUES ";
const MEASUREMENT_VALUES: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// A value about to be inserted.
struct NewValue<'a> {
    id: Uuid,
    input: &'a MeasurementInput,
    rag: Rag,
}

/// Decides what one value needs: nothing when it equals `existing` (the current one), else its id
/// and RAG, after marking `existing` superseded. The caller inserts it (see `insert_values`).
fn prepare_value<'a>(
    tx: &Connection,
    relationship_id: Uuid,
    rules: &KpiRules,
    existing: Option<&Current>,
    input: &'a MeasurementInput,
    now: Timestamp,
) -> R<Option<NewValue<'a>>> {
    if Period::containing(rules.cadence, input.period_start).start != input.period_start {
        return Err(invalid("period", format!("{} does not start a {} period", input.period_start, rules.cadence.as_str())));
    }
    if let Some(c) = existing
        && c.value == input.value
        && c.comment == input.comment
    {
        return Ok(None);
    }
    let thresholds = version_in_force(&rules.versions, input.period_start).ok_or(not_found("KPI version"))?.thresholds;
    if let Some(c) = existing {
        tx.prepare_cached(
            "UPDATE measurement INDEXED BY measurement_current SET superseded_at = ?5
             WHERE relationship_id = ?1 AND kpi_id = ?2 AND period_start = ?3 AND superseded_at IS NULL AND measurement_id = ?4",
        )?
        .execute(params![relationship_id, input.kpi_id, input.period_start.to_string(), c.id, micros(now)])?;
    }
    Ok(Some(NewValue { id: new_id(now), input, rag: thresholds.rag(input.value) }))
}

/// Inserts `values`, `BATCH` rows to a statement: one statement per row spent most of an import
/// of a million rows on running statements rather than on writing rows.
fn insert_values(tx: &Connection, relationship_id: Uuid, values: &[NewValue], actor: Option<Uuid>, now: Timestamp) -> R<()> {
    const BATCH: usize = 100;
    for chunk in values.chunks(BATCH) {
        let sql = format!("{INSERT_MEASUREMENT}{}", vec![MEASUREMENT_VALUES; chunk.len()].join(", "));
        let mut stmt = tx.prepare_cached(&sql)?;
        let mut n = 0;
        let mut bind = |value: &dyn rusqlite::ToSql| {
            n += 1;
            stmt.raw_bind_parameter(n, value)
        };
        // Ids as borrowed bytes: rusqlite binds a `Uuid` through a fresh `Vec` each time.
        for v in chunk {
            bind(relationship_id.as_bytes())?;
            bind(v.id.as_bytes())?;
            bind(v.input.kpi_id.as_bytes())?;
            bind(&v.input.period_start.to_string())?;
            bind(&v.input.value)?;
            bind(&v.input.comment)?;
            bind(&v.rag.as_str())?;
            bind(&actor.as_ref().map(Uuid::as_bytes))?;
            bind(&micros(now))?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

pub(crate) fn record_measurement(
    tx: &Connection,
    relationship_id: Uuid,
    input: &MeasurementInput,
    actor: Uuid,
    now: Timestamp,
) -> R<Measurement> {
    let rules = kpi_rules(tx, relationship_id, Some(input.kpi_id))?;
    let kpi_rules = rules.get(&input.kpi_id).ok_or(not_found("KPI"))?;
    let current = current_values(tx, relationship_id, &[input.kpi_id], input.period_start, input.period_start)?;
    let existing = current.get(&(input.kpi_id, input.period_start));
    if let Some(value) = prepare_value(tx, relationship_id, kpi_rules, existing, input, now)? {
        insert_values(tx, relationship_id, std::slice::from_ref(&value), Some(actor), now)?;
        keep_recent(tx, relationship_id, &[input.kpi_id])?;
        let (id, rag, before) = (value.id, value.rag, existing.map(|c| (c.value, c.rag)));
        let mut summary =
            json!({"kpi": input.kpi_id, "period": input.period_start.to_string(), "value": format_value(input.value), "rag": rag.as_str()});
        let kind = match before {
            Some((value, rag)) => {
                summary["before"] = json!({"value": format_value(value), "rag": rag.as_str()});
                EventKind::MeasurementCorrected
            }
            None => EventKind::MeasurementRecorded,
        };
        append(tx, relationship_id, Draft::new(Some(actor), kind, "measurement", id, summary), now)?;
    }
    Ok(tx
        .prepare_cached(&format!(
            "{MEASUREMENT} WHERE m.relationship_id = ?1 AND m.kpi_id = ?2 AND m.period_start = ?3 AND m.superseded_at IS NULL"
        ))?
        .query_row(params![relationship_id, input.kpi_id, input.period_start.to_string()], measurement_row)?)
}

pub(crate) fn import_measurements(
    tx: &Connection,
    relationship_id: Uuid,
    rows: &[MeasurementInput],
    sha256: &str,
    actor: Option<Uuid>,
    now: Timestamp,
) -> R<ImportSummary> {
    get_relationship(tx, relationship_id)?;
    let rules = kpi_rules(tx, relationship_id, None)?;
    let mut kpi_ids: Vec<Uuid> = rows.iter().map(|row| row.kpi_id).filter(|id| rules.contains_key(id)).collect();
    kpi_ids.sort_unstable();
    kpi_ids.dedup();
    let periods = rows.iter().map(|row| row.period_start);
    let current = match (periods.clone().min(), periods.max()) {
        (Some(first), Some(last)) => current_values(tx, relationship_id, &kpi_ids, first, last)?,
        _ => HashMap::new(),
    };
    let mut summary = ImportSummary::default();
    // KPI by KPI, each in period order: the indexes on (KPI, period) then grow at one end per KPI
    // instead of taking rows all over (a file is usually a period for every KPI, then the next).
    // Rows of the same period stay in file order (the row number is the last key), so a later
    // one still corrects an earlier one.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_unstable_by_key(|&i| (rows[i].kpi_id, rows[i].period_start, i));
    // Values wait in `pending` to be inserted many to a statement. `last` is the value prepared
    // last: a row for the same period (the same period twice in one file) comes right after it.
    let mut pending: Vec<NewValue> = Vec::new();
    let mut last: Option<((Uuid, Date), Current)> = None;
    // The rows come KPI by KPI: the rules of the one at hand.
    let mut kpi_rules: Option<(Uuid, &KpiRules)> = None;
    for i in order {
        let row = &rows[i];
        if kpi_rules.is_none_or(|(id, _)| id != row.kpi_id) {
            let found = rules.get(&row.kpi_id).ok_or_else(|| invalid(&format!("rows[{i}]"), "names a KPI of another relationship"))?;
            kpi_rules = Some((row.kpi_id, found));
        }
        let Some((_, kpi_rules)) = kpi_rules else { continue };
        let key = (row.kpi_id, row.period_start);
        let existing = match &last {
            Some((k, c)) if *k == key => {
                // A correction marks that value superseded, so it must be in the table by then.
                insert_values(tx, relationship_id, &pending, actor, now)?;
                pending.clear();
                Some(c)
            }
            _ if current.is_empty() => None,
            _ => current.get(&key),
        };
        match prepare_value(tx, relationship_id, kpi_rules, existing, row, now)? {
            None => summary.unchanged += 1,
            Some(value) => {
                if existing.is_some() {
                    summary.corrected += 1;
                } else {
                    summary.added += 1;
                }
                last = Some((key, Current { id: value.id, value: row.value, comment: row.comment.clone(), rag: value.rag }));
                pending.push(value);
                if pending.len() == 1000 {
                    insert_values(tx, relationship_id, &pending, actor, now)?;
                    pending.clear();
                }
            }
        }
    }
    insert_values(tx, relationship_id, &pending, actor, now)?;
    keep_recent(tx, relationship_id, &kpi_ids)?;
    let detail = json!({"file_sha256": sha256, "rows": rows.len(), "added": summary.added, "corrected": summary.corrected, "unchanged": summary.unchanged});
    let import_id = new_id(now);
    append(tx, relationship_id, Draft::new(actor, EventKind::MeasurementsImported, "import", import_id, detail), now)?;
    Ok(summary)
}

/// Rewrites what `kpi.recent` keeps of `kpi_ids`: their latest current values (see V6).
pub(crate) fn keep_recent(tx: &Connection, relationship_id: Uuid, kpi_ids: &[Uuid]) -> R<()> {
    let mut latest = tx.prepare_cached(
        "SELECT period_start, value, rag FROM measurement INDEXED BY measurement_current
         WHERE relationship_id = ?1 AND kpi_id = ?2 AND superseded_at IS NULL ORDER BY period_start DESC LIMIT ?3",
    )?;
    let mut keep = tx.prepare_cached("UPDATE kpi SET recent = ?3 WHERE relationship_id = ?1 AND kpi_id = ?2")?;
    for kpi_id in kpi_ids {
        let mut values = latest
            .query_map(params![relationship_id, kpi_id, RECENT as i64], |r| Ok((date(r, 0)?, r.get(1)?, text_as(r, 2, Rag::parse)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        values.reverse();
        keep.execute(params![relationship_id, kpi_id, encode_recent(&values)])?;
    }
    Ok(())
}

/// Fills in `kpi.recent` where a migration left it empty.
pub(crate) fn keep_recent_where_missing(tx: &Connection) -> R<()> {
    let missing: Vec<(Uuid, Uuid)> = tx
        .prepare("SELECT relationship_id, kpi_id FROM kpi WHERE recent IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (relationship_id, kpi_id) in missing {
        keep_recent(tx, relationship_id, &[kpi_id])?;
    }
    Ok(())
}

pub(crate) fn measurements(c: &Connection, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32) -> R<Vec<Measurement>> {
    let before = before.map_or("9999-12-31".to_owned(), |d| d.to_string());
    let mut stmt = c.prepare_cached(&format!(
        "{MEASUREMENT} WHERE m.relationship_id = ?1 AND m.kpi_id = ?2 AND m.superseded_at IS NULL AND m.period_start < ?3 ORDER BY m.period_start DESC LIMIT ?4"
    ))?;
    Ok(stmt.query_map(params![relationship_id, kpi_id, before, limit], measurement_row)?.collect::<Result<_, _>>()?)
}

pub(crate) fn measurement_history(c: &Connection, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> R<Vec<Measurement>> {
    let mut stmt = c.prepare_cached(&format!("{MEASUREMENT} WHERE m.relationship_id = ?1 AND m.kpi_id = ?2 AND m.period_start = ?3 ORDER BY m.entered_at DESC, m.measurement_id DESC"))?;
    Ok(stmt.query_map(params![relationship_id, kpi_id, period_start.to_string()], measurement_row)?.collect::<Result<_, _>>()?)
}

/// The latest `per_kpi` current values of every KPI: one range of the index of current values
/// per KPI, from its `per_kpi`-th latest period on, so the cost follows the number of KPIs, not
/// the relationship's age. CROSS JOIN keeps the KPIs outside, so that the subquery runs once per
/// KPI and not once per value.
pub(crate) fn recent_measurements(c: &Connection, relationship_id: Uuid, per_kpi: u32) -> R<Vec<Measurement>> {
    let mut stmt = c.prepare_cached(
        "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at
         FROM kpi k CROSS JOIN measurement m INDEXED BY measurement_current LEFT JOIN user_account u INDEXED BY user_account_names ON u.user_id = m.entered_by
         WHERE k.relationship_id = ?1 AND m.relationship_id = k.relationship_id AND m.kpi_id = k.kpi_id AND m.superseded_at IS NULL
           AND m.period_start >= COALESCE((SELECT p.period_start FROM measurement p INDEXED BY measurement_current
                                           WHERE p.relationship_id = k.relationship_id AND p.kpi_id = k.kpi_id AND p.superseded_at IS NULL
                                           ORDER BY p.period_start DESC LIMIT 1 OFFSET ?2 - 1), '')
         ORDER BY k.kpi_id, m.period_start",
    )?;
    Ok(stmt.query_map(params![relationship_id, per_kpi], measurement_row)?.collect::<Result<_, _>>()?)
}

// Obligations.

const OBLIGATION: &str = "SELECT b.obligation_id, b.relationship_id, b.party_id, o.name, b.title, b.description, b.recurrence, b.due_date, b.status, b.evidence, b.version
    FROM obligation b
    JOIN party p ON p.relationship_id = b.relationship_id AND p.party_id = b.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

fn obligation_row(r: &Row) -> rusqlite::Result<Obligation> {
    Ok(Obligation {
        id: r.get(0)?,
        relationship_id: r.get(1)?,
        party_id: r.get(2)?,
        party_name: r.get(3)?,
        title: r.get(4)?,
        description: r.get(5)?,
        recurrence: r.get(6)?,
        due_date: date(r, 7)?,
        status: text_as(r, 8, ObligationStatus::parse)?,
        evidence: r.get(9)?,
        version: r.get(10)?,
    })
}

pub(crate) fn obligation(c: &Connection, relationship_id: Uuid, obligation_id: Uuid) -> R<Obligation> {
    c.prepare_cached(&format!("{OBLIGATION} WHERE b.relationship_id = ?1 AND b.obligation_id = ?2"))?
        .query_row([relationship_id, obligation_id], obligation_row)
        .optional()?
        .ok_or(not_found("obligation"))
}

pub(crate) fn obligations(c: &Connection, relationship_id: Uuid) -> R<Vec<Obligation>> {
    let mut stmt = c.prepare_cached(&format!(
        "{OBLIGATION} WHERE b.relationship_id = ?1 ORDER BY CASE WHEN b.status IN ('delivered', 'missed') THEN 1 ELSE 0 END, b.due_date, b.obligation_id"
    ))?;
    Ok(stmt.query_map([relationship_id], obligation_row)?.collect::<Result<_, _>>()?)
}

pub(crate) fn create_obligation(tx: &Connection, new: &NewObligation, actor: Uuid, now: Timestamp) -> R<Obligation> {
    get_relationship(tx, new.relationship_id)?;
    require_party(tx, new.relationship_id, new.party_id, "party")?;
    let id = new_id(now);
    tx.prepare_cached(
        "INSERT INTO obligation (relationship_id, obligation_id, party_id, title, description, recurrence, due_date, status, evidence, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'not_started', '', 1, ?8, ?8)",
    )?
    .execute(params![new.relationship_id, id, new.party_id, new.title, new.description, new.recurrence, new.due_date.to_string(), micros(now)])?;
    let summary = json!({"title": new.title, "party": new.party_id, "recurrence": new.recurrence, "due_date": new.due_date.to_string()});
    append(tx, new.relationship_id, Draft::new(Some(actor), EventKind::ObligationCreated, "obligation", id, summary), now)?;
    obligation(tx, new.relationship_id, id)
}

pub(crate) fn update_obligation(
    tx: &Connection,
    relationship_id: Uuid,
    obligation_id: Uuid,
    change: &ObligationChange,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Obligation> {
    let before = obligation(tx, relationship_id, obligation_id)?;
    check_version(before.version, expected_version)?;
    tx.prepare_cached(
        "UPDATE obligation SET status = ?3, evidence = ?4, due_date = ?5, version = version + 1, updated_at = ?6 WHERE relationship_id = ?1 AND obligation_id = ?2",
    )?
    .execute(params![relationship_id, obligation_id, change.status.as_str(), change.evidence, change.due_date.to_string(), micros(now)])?;
    let summary = json!({
        "party": before.party_id,
        "before": {"status": before.status.as_str(), "due_date": before.due_date.to_string(), "evidence": before.evidence},
        "after": {"status": change.status.as_str(), "due_date": change.due_date.to_string(), "evidence": change.evidence},
    });
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::ObligationUpdated, "obligation", obligation_id, summary), now)?;
    obligation(tx, relationship_id, obligation_id)
}

// Actions.

/// An action with its owner's name, read from `$from` (the table, or one of its indexes); its
/// party's name comes after, from `with_party_names` (a relationship has a few parties, a page
/// dozens of actions: two lookups per row fewer).
macro_rules! action_from {
    ($from:literal) => {
        concat!(
            "SELECT a.action_id, a.relationship_id, a.title, a.description, a.owner_id, COALESCE(u.name, ''), a.party_id, '', a.due_date, a.status,
                a.source_kind, a.source_id, a.source_period, a.version, a.created_at
            FROM ",
            $from,
            " LEFT JOIN user_account u INDEXED BY user_account_names ON u.user_id = a.owner_id"
        )
    };
}

const ACTION: &str = action_from!("action a");

fn with_party_names(c: &Connection, relationship_id: Uuid, mut actions: Vec<Action>) -> R<Vec<Action>> {
    let parties = parties(c, relationship_id)?;
    for a in &mut actions {
        a.party_name = parties.iter().find(|p| p.id == a.party_id).map(|p| p.organisation_name.clone()).unwrap_or_default();
    }
    Ok(actions)
}

fn action_row(r: &Row) -> rusqlite::Result<Action> {
    let source = match (r.get::<_, Option<String>>(10)?, r.get::<_, Option<Uuid>>(11)?) {
        (Some(kind), Some(id)) => Some(ActionSource { kind, id, period: opt_date(r, 12)? }),
        _ => None,
    };
    Ok(Action {
        id: r.get(0)?,
        relationship_id: r.get(1)?,
        title: r.get(2)?,
        description: r.get(3)?,
        owner_id: r.get(4)?,
        owner_name: r.get(5)?,
        party_id: r.get(6)?,
        party_name: r.get(7)?,
        due_date: date(r, 8)?,
        status: text_as(r, 9, ActionStatus::parse)?,
        source,
        version: r.get(13)?,
        created_at: ts(r.get(14)?),
    })
}

pub(crate) fn action(c: &Connection, relationship_id: Uuid, action_id: Uuid) -> R<Action> {
    let action = c
        .prepare_cached(&format!("{ACTION} WHERE a.relationship_id = ?1 AND a.action_id = ?2"))?
        .query_row([relationship_id, action_id], action_row)
        .optional()?
        .ok_or(not_found("action"))?;
    Ok(with_party_names(c, relationship_id, vec![action])?.remove(0))
}

pub(crate) fn actions(
    c: &Connection,
    relationship_id: Uuid,
    filter: ActionFilter,
    after: Option<(Date, Uuid)>,
    limit: u32,
) -> R<Vec<Action>> {
    // Each filter reads its own index, which carries every column (V9): left to choose, SQLite
    // took the index of all actions for the open ones too, and stepped over the closed ones.
    let (select, status) = match filter {
        ActionFilter::Open => (action_from!("action a INDEXED BY action_open_by_due"), "AND a.status IN ('open', 'in_progress')"),
        ActionFilter::Closed => (action_from!("action a INDEXED BY action_closed_by_due"), "AND a.status IN ('done', 'cancelled')"),
        ActionFilter::All => (action_from!("action a INDEXED BY action_by_due"), ""),
    };
    let (due, id) = after.map_or((String::new(), Uuid::nil()), |(d, id)| (d.to_string(), id));
    let mut stmt = c.prepare_cached(&format!(
        "{select} WHERE a.relationship_id = ?1 {status} AND (a.due_date, a.action_id) > (?2, ?3) ORDER BY a.due_date, a.action_id LIMIT ?4"
    ))?;
    let actions = stmt.query_map(params![relationship_id, due, id, limit], action_row)?.collect::<Result<_, _>>()?;
    with_party_names(c, relationship_id, actions)
}

pub(crate) fn create_action(tx: &Connection, new: &NewAction, actor: Uuid, now: Timestamp) -> R<Action> {
    get_relationship(tx, new.relationship_id)?;
    require_party(tx, new.relationship_id, new.party_id, "party")?;
    if let Some(owner) = new.owner_id {
        require_member(tx, new.relationship_id, owner, "owner")?;
    }
    if let Some(source) = &new.source {
        require_source(tx, new.relationship_id, source)?;
    }
    let id = new_id(now);
    let (kind, source_id, period) = match &new.source {
        Some(s) => (Some(s.kind.as_str()), Some(s.id), s.period.map(|p| p.to_string())),
        None => (None, None, None),
    };
    tx.prepare_cached(
        "INSERT INTO action (relationship_id, action_id, title, description, owner_id, party_id, due_date, status, source_kind, source_id, source_period, created_by, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?9, ?10, ?11, 1, ?12, ?12)",
    )?
    .execute(params![new.relationship_id, id, new.title, new.description, new.owner_id, new.party_id, new.due_date.to_string(), kind, source_id, period, actor, micros(now)])?;
    let summary = json!({"title": new.title, "party": new.party_id, "owner": new.owner_id, "due_date": new.due_date.to_string(), "source": new.source});
    append(tx, new.relationship_id, Draft::new(Some(actor), EventKind::ActionCreated, "action", id, summary), now)?;
    action(tx, new.relationship_id, id)
}

pub(crate) fn update_action(
    tx: &Connection,
    relationship_id: Uuid,
    action_id: Uuid,
    change: &ActionChange,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Action> {
    let before = action(tx, relationship_id, action_id)?;
    check_version(before.version, expected_version)?;
    if let Some(owner) = change.owner_id {
        require_member(tx, relationship_id, owner, "owner")?;
    }
    tx.prepare_cached(
        "UPDATE action SET status = ?3, owner_id = ?4, due_date = ?5, version = version + 1, updated_at = ?6 WHERE relationship_id = ?1 AND action_id = ?2",
    )?
    .execute(params![relationship_id, action_id, change.status.as_str(), change.owner_id, change.due_date.to_string(), micros(now)])?;
    let summary = json!({
        "party": before.party_id,
        "before": {"status": before.status.as_str(), "owner": before.owner_id, "due_date": before.due_date.to_string()},
        "after": {"status": change.status.as_str(), "owner": change.owner_id, "due_date": change.due_date.to_string()},
    });
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::ActionUpdated, "action", action_id, summary), now)?;
    action(tx, relationship_id, action_id)
}
