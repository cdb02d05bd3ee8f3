//! The measures module on PostgreSQL: objectives, KPIs, measurements, obligations, actions.
//!
//! How writers are kept apart here (SQLite's IMMEDIATE transactions need none of this):
//! - a versioned update locks its row before it reads the version;
//! - a measurement (recorded or imported) locks its KPI first, so that neither the current value
//!   of a period nor the threshold versions that give its RAG change before it commits; adding a
//!   threshold version takes the same lock;
//! - a write that checks a membership (reporter, owner) locks the chain first, as elsewhere.
//!
//! Rows are locked `FOR NO KEY UPDATE`: writers of the row wait for each other, but an insert that
//! merely references the row (its foreign-key check takes `KEY SHARE`) does not wait, which keeps
//! a referencing writer that holds the chain from deadlocking with the row's writer. Row locks are
//! taken before the chain's, and several KPIs in id order.

use super::*;
use accord_domain::measure::{Cadence, Direction, Period, Rag, Thresholds, Version, format_value, version_in_force};
use jiff::civil::Date;
use std::collections::HashMap;
use tokio::try_join;

/// The first day PostgreSQL can store (4714-11-24 BC): before every due date, for a first page.
const FIRST_DATE: Date = Date::constant(-4713, 11, 24);
/// After every period, for a first page of measurements.
const LAST_DATE: Date = Date::constant(9999, 12, 31);
/// Values written per statement by an import.
const CHUNK: usize = 5_000;

async fn rows(c: &impl GenericClient, sql: &str, params: Params<'_>) -> R<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

/// Refuses a party that is not one of the relationship's, naming `field`.
async fn require_party(c: &impl GenericClient, relationship_id: Uuid, party_id: Uuid, field: &str) -> R<()> {
    let sql = "SELECT 1 FROM party WHERE relationship_id = $1 AND party_id = $2";
    let found = query_opt(c, sql, &[&relationship_id, &party_id], |_| Ok(())).await?;
    found.ok_or_else(|| invalid(field, "is not a party to this relationship"))
}

/// Refuses a person who is not a current member, naming `field`. The caller holds the chain's
/// lock, so that the membership cannot end before this transaction does.
async fn require_member(tx: &Transaction<'_>, relationship_id: Uuid, user_id: Uuid, field: &str) -> R<()> {
    current_membership(tx, relationship_id, user_id)
        .await?
        .map(|_| ())
        .ok_or_else(|| invalid(field, "is not a current member of this relationship"))
}

/// Refuses a source that names nothing of this relationship an action can come from (looked up
/// here, decided by `ActionSource::check`).
async fn require_source(c: &impl GenericClient, relationship_id: Uuid, source: &ActionSource) -> R<()> {
    let ids: Params<'_> = &[&relationship_id, &source.id];
    let found = match source.kind.as_str() {
        "kpi_period" => {
            query_opt(c, "SELECT cadence FROM kpi WHERE relationship_id = $1 AND kpi_id = $2", ids, |r| text_as(r, 0, Cadence::parse))
                .await?
                .map_or(SourceFound::Nothing, SourceFound::Kpi)
        }
        "obligation" => {
            query_opt(c, "SELECT 1 FROM obligation WHERE relationship_id = $1 AND obligation_id = $2", ids, |_| Ok(SourceFound::Obligation))
                .await?
                .unwrap_or(SourceFound::Nothing)
        }
        _ => SourceFound::Nothing,
    };
    Ok(source.check(found).map_err(StoreError::from)?)
}

fn check_version(current: i64, expected: i64) -> R<()> {
    if current == expected { Ok(()) } else { Err(Fail(StoreError::Stale { current })) }
}

/// Locks the row of `table` (keyed `{table}_id`) until the transaction ends; NotFound when the
/// relationship has no such row.
async fn lock_row(tx: &Transaction<'_>, table: &str, relationship_id: Uuid, id: Uuid, what: &'static str) -> R<()> {
    let sql = format!("SELECT 1 FROM {table} WHERE relationship_id = $1 AND {table}_id = $2 FOR NO KEY UPDATE");
    query_opt(tx, &sql, &[&relationship_id, &id], |_| Ok(())).await?.ok_or(not_found(what))
}

// Objectives.

/// An objective's columns; its parties are read apart (an array for one objective, one statement
/// for a list: see `kpi_objectives!`).
macro_rules! objective_columns {
    () => {
        "o.objective_id, o.relationship_id, o.title, o.description, o.review_months, o.next_review, o.status, o.version, o.created_at"
    };
}

fn objective_row(r: &Row) -> R<Objective> {
    Ok(Objective {
        id: r.try_get(0)?,
        relationship_id: r.try_get(1)?,
        title: r.try_get(2)?,
        description: r.try_get(3)?,
        parties: Vec::new(),
        review_months: r.try_get(4)?,
        next_review: r.try_get(5)?,
        status: if r.try_get::<_, &str>(6)? == "retired" { ObjectiveStatus::Retired } else { ObjectiveStatus::Active },
        version: r.try_get(7)?,
        created_at: r.try_get(8)?,
    })
}

pub(crate) async fn objectives(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Objective>> {
    let sql = concat!("SELECT ", objective_columns!(), " FROM objective o WHERE o.relationship_id = $1 ORDER BY o.status, o.title");
    let parties = "SELECT objective_id, party_id FROM objective_party WHERE relationship_id = $1";
    let (mut objectives, parties) =
        try_join!(async { query_all(c, sql, &[&relationship_id], objective_row).await }, links(c, parties, relationship_id))?;
    attach_links(&mut objectives, |o| (o.id, &mut o.parties), parties);
    Ok(objectives)
}

/// Pairs (owner, linked id) from `sql`, which takes the relationship as $1.
async fn links(c: &impl GenericClient, sql: &str, relationship_id: Uuid) -> R<Vec<(Uuid, Uuid)>> {
    query_all(c, sql, &[&relationship_id], |r| Ok((r.try_get(0)?, r.try_get(1)?))).await
}

pub(crate) async fn objective(c: &impl GenericClient, relationship_id: Uuid, objective_id: Uuid) -> R<Objective> {
    let sql = concat!(
        "SELECT ",
        objective_columns!(),
        ", ARRAY(SELECT l.party_id FROM objective_party l WHERE l.relationship_id = o.relationship_id AND l.objective_id = o.objective_id ORDER BY l.party_id)
        FROM objective o WHERE o.relationship_id = $1 AND o.objective_id = $2"
    );
    let row =
        query_opt(c, sql, &[&relationship_id, &objective_id], |r| Ok(Objective { parties: r.try_get(9)?, ..objective_row(r)? })).await?;
    row.ok_or(not_found("objective"))
}

pub(crate) async fn create_objective(tx: &Transaction<'_>, new: &NewObjective, actor: Uuid, now: Timestamp) -> R<Objective> {
    let r = new.relationship_id;
    get_relationship(tx, r).await?;
    for party in &new.parties {
        require_party(tx, r, *party, "parties").await?;
    }
    let id = new_id(now);
    execute(
        tx,
        "INSERT INTO objective (relationship_id, objective_id, title, description, review_months, next_review, status, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', 1, $7, $7)",
        &[&r, &id, &new.title, &new.description, &new.review_months, &new.next_review, &now],
    )
    .await?;
    for party in &new.parties {
        execute(tx, "INSERT INTO objective_party (relationship_id, objective_id, party_id) VALUES ($1, $2, $3)", &[&r, &id, party]).await?;
    }
    let summary =
        json!({"title": new.title, "parties": new.parties, "review_months": new.review_months, "next_review": new.next_review.to_string()});
    append(tx, r, Draft::new(Some(actor), EventKind::ObjectiveCreated, "objective", id, summary), now).await?;
    objective(tx, r, id).await
}

pub(crate) async fn review_objective(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    objective_id: Uuid,
    review: &ObjectiveReview,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Objective> {
    lock_row(tx, "objective", relationship_id, objective_id, "objective").await?;
    let before = objective(tx, relationship_id, objective_id).await?;
    check_version(before.version, expected_version)?;
    let title = review.title.as_deref().filter(|_| review.verdict == Verdict::Revised).unwrap_or(&before.title);
    let description = review.description.as_deref().filter(|_| review.verdict == Verdict::Revised).unwrap_or(&before.description);
    let status = if review.verdict == Verdict::Retired { "retired" } else { "active" };
    execute(
        tx,
        "UPDATE objective SET title = $3, description = $4, next_review = $5, status = $6, version = version + 1, updated_at = $7
         WHERE relationship_id = $1 AND objective_id = $2",
        &[&relationship_id, &objective_id, &title, &description, &review.next_review, &status, &now],
    )
    .await?;
    execute(
        tx,
        "INSERT INTO objective_review (relationship_id, objective_review_id, objective_id, verdict, reason, decided_by, decided_at, previous_title, previous_description)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &relationship_id,
            &new_id(now),
            &objective_id,
            &review.verdict.as_str(),
            &review.reason,
            &actor,
            &now,
            &before.title,
            &before.description,
        ],
    )
    .await?;
    let summary = json!({
        "verdict": review.verdict.as_str(), "reason": review.reason, "next_review": review.next_review.to_string(),
        "before": {"title": before.title, "description": before.description}, "after": {"title": title, "description": description},
    });
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::ObjectiveReviewed, "objective", objective_id, summary), now).await?;
    objective(tx, relationship_id, objective_id).await
}

pub(crate) async fn objective_reviews(c: &impl GenericClient, relationship_id: Uuid, objective_id: Uuid) -> R<Vec<ObjectiveReviewRecord>> {
    query_all(
        c,
        "SELECT r.objective_review_id, r.verdict, r.reason, r.decided_by, u.name, r.decided_at, r.previous_title, r.previous_description
         FROM objective_review r JOIN user_account u ON u.user_id = r.decided_by
         WHERE r.relationship_id = $1 AND r.objective_id = $2 ORDER BY r.decided_at DESC",
        &[&relationship_id, &objective_id],
        |r| {
            Ok(ObjectiveReviewRecord {
                id: r.try_get(0)?,
                verdict: text_as(r, 1, Verdict::parse)?,
                reason: r.try_get(2)?,
                decided_by: r.try_get(3)?,
                decided_by_name: r.try_get(4)?,
                decided_at: r.try_get(5)?,
                previous_title: r.try_get(6)?,
                previous_description: r.try_get(7)?,
            })
        },
    )
    .await
}

// KPIs.

/// A KPI's columns, with the thresholds of its latest version, kept on its row (see V6).
macro_rules! kpi_columns {
    () => {
        "k.kpi_id, k.relationship_id, k.name, k.definition, k.unit, k.direction, k.cadence, k.party_id, k.reporter_id, k.version, k.created_at,
        k.target, k.amber, k.red"
    };
}

/// One KPI's objectives as an array (a list reads its links in one statement instead,
/// `kpi_links`: a subquery per row cost more than the rows themselves).
macro_rules! kpi_objectives {
    () => {
        "ARRAY(SELECT l.objective_id FROM kpi_objective l WHERE l.relationship_id = k.relationship_id AND l.kpi_id = k.kpi_id ORDER BY l.objective_id)"
    };
}

const KPI: &str = concat!("SELECT ", kpi_columns!(), ", ", kpi_objectives!(), " FROM kpi k");

/// A KPI from `kpi_columns!`, without its objectives.
fn kpi_row(r: &Row) -> R<Kpi> {
    let direction = text_as(r, 5, Direction::parse)?;
    Ok(Kpi {
        id: r.try_get(0)?,
        relationship_id: r.try_get(1)?,
        name: r.try_get(2)?,
        definition: r.try_get(3)?,
        unit: r.try_get(4)?,
        direction,
        cadence: text_as(r, 6, Cadence::parse)?,
        party_id: r.try_get(7)?,
        reporter_id: r.try_get(8)?,
        objectives: Vec::new(),
        version: r.try_get(9)?,
        created_at: r.try_get(10)?,
        thresholds: Thresholds { direction, target: r.try_get(11)?, amber: r.try_get(12)?, red: r.try_get(13)? },
    })
}

/// A KPI from `KPI`, with its objectives.
fn kpi_with_objectives(r: &Row) -> R<Kpi> {
    Ok(Kpi { objectives: r.try_get(14)?, ..kpi_row(r)? })
}

/// Every link between the relationship's KPIs and objectives: (KPI, objective).
async fn kpi_links(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<(Uuid, Uuid)>> {
    links(c, "SELECT kpi_id, objective_id FROM kpi_objective WHERE relationship_id = $1", relationship_id).await
}

pub(crate) async fn kpis(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Kpi>> {
    let sql = concat!("SELECT ", kpi_columns!(), " FROM kpi k WHERE k.relationship_id = $1");
    let (mut kpis, links) = try_join!(async { query_all(c, sql, &[&relationship_id], kpi_row).await }, kpi_links(c, relationship_id))?;
    arrange_kpis(&mut kpis, links);
    Ok(kpis)
}

/// The relationship's KPIs with the latest values each keeps beside it (see V6), for the
/// scorecard: both in one statement.
pub(crate) async fn kpis_with_recent(c: &impl GenericClient, relationship_id: Uuid) -> R<(Vec<Kpi>, Vec<RecentValue>)> {
    let sql = concat!("SELECT ", kpi_columns!(), ", k.recent FROM kpi k WHERE k.relationship_id = $1");
    let (read, links) = try_join!(async { rows(c, sql, &[&relationship_id]).await }, kpi_links(c, relationship_id))?;
    let (mut kpis, mut recent) = (Vec::new(), Vec::new());
    for r in read {
        let kpi = kpi_row(&r)?;
        let bytes: Option<&[u8]> = r.try_get(14)?;
        decode_recent(kpi.id, bytes.unwrap_or_default(), &mut recent)
            .ok_or_else(|| Fail(StoreError::Backend(format!("kpi {}: unreadable recent values", kpi.id))))?;
        kpis.push(kpi);
    }
    arrange_kpis(&mut kpis, links);
    Ok((kpis, recent))
}

/// A KPI with its reporter's name, for its page.
pub(crate) async fn kpi_with_reporter(c: &impl GenericClient, relationship_id: Uuid, kpi_id: Uuid) -> R<(Kpi, Option<String>)> {
    let sql = concat!(
        "SELECT ",
        kpi_columns!(),
        ", ",
        kpi_objectives!(),
        ", (SELECT u.name FROM user_account u WHERE u.user_id = k.reporter_id) FROM kpi k WHERE k.relationship_id = $1 AND k.kpi_id = $2"
    );
    let row = rows(c, sql, &[&relationship_id, &kpi_id]).await?.pop().ok_or(not_found("KPI"))?;
    Ok((kpi_with_objectives(&row)?, row.try_get(15)?))
}

pub(crate) async fn kpi(c: &impl GenericClient, relationship_id: Uuid, kpi_id: Uuid) -> R<Kpi> {
    let sql = format!("{KPI} WHERE k.relationship_id = $1 AND k.kpi_id = $2");
    query_opt(c, &sql, &[&relationship_id, &kpi_id], kpi_with_objectives).await?.ok_or(not_found("KPI"))
}

fn thresholds_json(t: &Thresholds) -> serde_json::Value {
    json!({"direction": t.direction.as_str(), "target": format_value(t.target), "amber": format_value(t.amber), "red": format_value(t.red)})
}

pub(crate) async fn create_kpi(tx: &Transaction<'_>, new: &NewKpi, actor: Uuid, now: Timestamp) -> R<Kpi> {
    let r = new.relationship_id;
    get_relationship(tx, r).await?;
    if let Some(party) = new.party_id {
        require_party(tx, r, party, "party").await?;
    }
    if let Some(reporter) = new.reporter_id {
        lock_chain(tx, r).await?;
        require_member(tx, r, reporter, "reporter").await?;
    }
    for o in &new.objectives {
        let sql = "SELECT 1 FROM objective WHERE relationship_id = $1 AND objective_id = $2";
        if query_opt(tx, sql, &[&r, o], |_| Ok(())).await?.is_none() {
            return Err(invalid("objectives", format!("{o} is not an objective of this relationship")));
        }
    }
    let id = new_id(now);
    let t = &new.thresholds;
    execute(
        tx,
        "INSERT INTO kpi (relationship_id, kpi_id, name, definition, unit, direction, cadence, party_id, reporter_id, version, created_at, updated_at, recent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, '')",
        &[&r, &id, &new.name, &new.definition, &new.unit, &t.direction.as_str(), &new.cadence.as_str(), &new.party_id, &new.reporter_id, &now],
    )
    .await
    .map_err(unique_as("name", "another KPI of this relationship has this name"))?;
    insert_version(tx, r, id, new.effective_from, t, actor, now).await?;
    for o in &new.objectives {
        execute(tx, "INSERT INTO kpi_objective (relationship_id, kpi_id, objective_id) VALUES ($1, $2, $3)", &[&r, &id, o]).await?;
    }
    let summary = json!({
        "name": new.name, "unit": new.unit, "cadence": new.cadence.as_str(), "party": new.party_id, "reporter": new.reporter_id,
        "objectives": new.objectives, "thresholds": thresholds_json(t), "effective_from": new.effective_from.to_string(),
    });
    let draft = Draft::new(Some(actor), EventKind::KpiCreated, "kpi", id, summary);
    append(tx, r, draft, now).await?;
    kpi(tx, r, id).await
}

async fn insert_version(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    kpi_id: Uuid,
    effective_from: Date,
    t: &Thresholds,
    actor: Uuid,
    now: Timestamp,
) -> R<()> {
    execute(
        tx,
        "INSERT INTO kpi_version (relationship_id, kpi_id, effective_from, target, amber, red, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&relationship_id, &kpi_id, &effective_from, &t.target, &t.amber, &t.red, &actor, &now],
    )
    .await?;
    // The KPI's row keeps the thresholds of its latest version (see V6).
    let keep = "UPDATE kpi SET (target, amber, red) = (SELECT v.target, v.amber, v.red FROM kpi_version v
                    WHERE v.relationship_id = kpi.relationship_id AND v.kpi_id = kpi.kpi_id ORDER BY v.effective_from DESC LIMIT 1)
                WHERE relationship_id = $1 AND kpi_id = $2";
    execute(tx, keep, &[&relationship_id, &kpi_id]).await?;
    Ok(())
}

/// Every version of a KPI's thresholds, oldest first: a KPI has at least one from its
/// definition, so none means no such KPI.
pub(crate) async fn kpi_versions(c: &impl GenericClient, relationship_id: Uuid, kpi_id: Uuid) -> R<Vec<KpiVersion>> {
    let sql = "SELECT v.effective_from, v.target, v.amber, v.red, v.created_by, v.created_at, k.direction
        FROM kpi_version v JOIN kpi k ON k.relationship_id = v.relationship_id AND k.kpi_id = v.kpi_id
        WHERE v.relationship_id = $1 AND v.kpi_id = $2 ORDER BY v.effective_from";
    let versions: Vec<KpiVersion> = query_all(c, sql, &[&relationship_id, &kpi_id], |r| {
        let direction = text_as(r, 6, Direction::parse)?;
        Ok(KpiVersion {
            effective_from: r.try_get(0)?,
            thresholds: Thresholds { direction, target: r.try_get(1)?, amber: r.try_get(2)?, red: r.try_get(3)? },
            created_by: r.try_get(4)?,
            created_at: r.try_get(5)?,
        })
    })
    .await?;
    if versions.is_empty() { Err(not_found("KPI")) } else { Ok(versions) }
}

pub(crate) async fn add_kpi_version(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    kpi_id: Uuid,
    effective_from: Date,
    t: &Thresholds,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Kpi> {
    lock_row(tx, "kpi", relationship_id, kpi_id, "KPI").await?;
    let before = kpi(tx, relationship_id, kpi_id).await?;
    check_version(before.version, expected_version)?;
    if Period::containing(before.cadence, effective_from).start != effective_from {
        return Err(invalid("effective_from", format!("must be the first day of a {} period", before.cadence.as_str())));
    }
    let versions = kpi_versions(tx, relationship_id, kpi_id).await?;
    if let Some(latest) = versions.last().filter(|v| v.effective_from >= effective_from) {
        return Err(invalid("effective_from", format!("must be after {}, when the current thresholds took effect", latest.effective_from)));
    }
    if t.direction != before.direction {
        return Err(invalid("direction", "a KPI keeps its direction; define a new KPI instead"));
    }
    insert_version(tx, relationship_id, kpi_id, effective_from, t, actor, now).await?;
    execute(
        tx,
        "UPDATE kpi SET version = version + 1, updated_at = $3 WHERE relationship_id = $1 AND kpi_id = $2",
        &[&relationship_id, &kpi_id, &now],
    )
    .await?;
    let summary =
        json!({"effective_from": effective_from.to_string(), "before": thresholds_json(&before.thresholds), "after": thresholds_json(t)});
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::KpiThresholdsChanged, "kpi", kpi_id, summary), now).await?;
    kpi(tx, relationship_id, kpi_id).await
}

// Measurements.

const MEASUREMENT: &str = "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at
    FROM measurement m LEFT JOIN user_account u ON u.user_id = m.entered_by";

fn measurement_row(r: &Row) -> R<Measurement> {
    Ok(Measurement {
        id: r.try_get(0)?,
        kpi_id: r.try_get(1)?,
        period_start: r.try_get(2)?,
        value: r.try_get(3)?,
        comment: r.try_get(4)?,
        rag: text_as(r, 5, Rag::parse)?,
        entered_by: r.try_get(6)?,
        entered_by_name: r.try_get(7)?,
        entered_at: r.try_get(8)?,
        superseded_at: r.try_get(9)?,
    })
}

/// What a write needs to know of a KPI: its cadence and every threshold version.
struct KpiRules {
    cadence: Cadence,
    versions: Vec<Version>,
}

/// Locks the relationship's KPIs among `kpi_ids` (sorted, distinct), in id order; returns those found.
async fn lock_kpis(tx: &Transaction<'_>, relationship_id: Uuid, kpi_ids: &[Uuid]) -> R<Vec<Uuid>> {
    let sql = "SELECT kpi_id FROM kpi WHERE relationship_id = $1 AND kpi_id = ANY($2) ORDER BY kpi_id FOR NO KEY UPDATE";
    query_all(tx, sql, &[&relationship_id, &kpi_ids], |r| Ok(r.try_get(0)?)).await
}

async fn kpi_rules(tx: &Transaction<'_>, relationship_id: Uuid, kpi_ids: &[Uuid]) -> R<HashMap<Uuid, KpiRules>> {
    let sql = "SELECT k.kpi_id, k.cadence, k.direction, v.effective_from, v.target, v.amber, v.red
         FROM kpi k JOIN kpi_version v ON v.relationship_id = k.relationship_id AND v.kpi_id = k.kpi_id
         WHERE k.relationship_id = $1 AND k.kpi_id = ANY($2)";
    let mut rules: HashMap<Uuid, KpiRules> = HashMap::new();
    for r in rows(tx, sql, &[&relationship_id, &kpi_ids]).await? {
        let direction = text_as(&r, 2, Direction::parse)?;
        let version = Version {
            effective_from: r.try_get(3)?,
            thresholds: Thresholds { direction, target: r.try_get(4)?, amber: r.try_get(5)?, red: r.try_get(6)? },
        };
        let cadence = text_as(&r, 1, Cadence::parse)?;
        rules.entry(r.try_get(0)?).or_insert_with(|| KpiRules { cadence, versions: Vec::new() }).versions.push(version);
    }
    Ok(rules)
}

/// The current value of a KPI's period: stored, or planned by this write.
struct Current {
    id: Uuid,
    value: f64,
    comment: String,
    rag: Rag,
    /// Its index among the planned values, when this write planned it.
    planned: Option<usize>,
}

/// The current values of `kpi_ids` for the periods from `first` to `last`, by KPI and period.
async fn current_values(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    kpi_ids: &[Uuid],
    first: Date,
    last: Date,
) -> R<HashMap<(Uuid, Date), Current>> {
    let sql = "SELECT kpi_id, period_start, measurement_id, value, comment, rag FROM measurement
         WHERE relationship_id = $1 AND kpi_id = ANY($2) AND period_start BETWEEN $3 AND $4 AND superseded_at IS NULL";
    let mut current = HashMap::new();
    for r in rows(tx, sql, &[&relationship_id, &kpi_ids, &first, &last]).await? {
        let value =
            Current { id: r.try_get(2)?, value: r.try_get(3)?, comment: r.try_get(4)?, rag: text_as(&r, 5, Rag::parse)?, planned: None };
        current.insert((r.try_get(0)?, r.try_get(1)?), value);
    }
    Ok(current)
}

/// A value to insert.
struct NewValue {
    id: Uuid,
    kpi_id: Uuid,
    period_start: Date,
    value: f64,
    comment: String,
    rag: Rag,
    /// Corrected by a later row of the same write.
    superseded: bool,
}

/// A value written: its id and RAG, and the value and RAG it corrected, if any.
struct Written {
    id: Uuid,
    rag: Rag,
    before: Option<(f64, Rag)>,
}

/// The values one write (a recording or a whole import) changes, worked out in memory against
/// the current values loaded once, then written a few thousand rows per statement.
struct Plan {
    current: HashMap<(Uuid, Date), Current>,
    /// Stored current values that a correction supersedes.
    superseded: Vec<Uuid>,
    new: Vec<NewValue>,
}

impl Plan {
    fn new(current: HashMap<(Uuid, Date), Current>) -> Plan {
        Plan { current, superseded: Vec::new(), new: Vec::new() }
    }

    /// Plans one value unless it equals the current one.
    fn write(&mut self, rules: &KpiRules, input: &MeasurementInput, now: Timestamp) -> R<Option<Written>> {
        if Period::containing(rules.cadence, input.period_start).start != input.period_start {
            return Err(invalid("period", format!("{} does not start a {} period", input.period_start, rules.cadence.as_str())));
        }
        let key = (input.kpi_id, input.period_start);
        if let Some(current) = self.current.get(&key)
            && current.value == input.value
            && current.comment == input.comment
        {
            return Ok(None);
        }
        let thresholds = version_in_force(&rules.versions, input.period_start).ok_or(not_found("KPI version"))?.thresholds;
        let rag = thresholds.rag(input.value);
        let id = new_id(now);
        let written = Current { id, value: input.value, comment: input.comment.clone(), rag, planned: Some(self.new.len()) };
        let before = self.current.insert(key, written).map(|earlier| {
            match earlier.planned {
                Some(i) => self.new[i].superseded = true,
                None => self.superseded.push(earlier.id),
            }
            (earlier.value, earlier.rag)
        });
        self.new.push(NewValue {
            id,
            kpi_id: input.kpi_id,
            period_start: input.period_start,
            value: input.value,
            comment: input.comment.clone(),
            rag,
            superseded: false,
        });
        Ok(Some(Written { id, rag, before }))
    }

    /// Writes what was planned: the superseded values first, so that the new current ones fit
    /// the unique index of current values.
    async fn write_out(self, tx: &Transaction<'_>, relationship_id: Uuid, actor: Option<Uuid>, now: Timestamp) -> R<()> {
        let supersede = tx
            .prepare_cached(
                "UPDATE measurement SET superseded_at = $2 WHERE relationship_id = $1 AND measurement_id = ANY($3) AND superseded_at IS NULL",
            )
            .await?;
        for ids in self.superseded.chunks(CHUNK) {
            tx.execute(&supersede, &[&relationship_id, &now, &ids]).await?;
        }
        let insert = tx
            .prepare_cached(
                "INSERT INTO measurement (relationship_id, measurement_id, kpi_id, period_start, value, comment, rag, entered_by, entered_at, superseded_at)
                 SELECT $1::uuid, m.id, m.kpi, m.period, m.value, m.comment, m.rag, $2::uuid, $3::timestamptz, CASE WHEN m.superseded THEN $3::timestamptz END
                 FROM unnest($4::uuid[], $5::uuid[], $6::date[], $7::float8[], $8::text[], $9::text[], $10::bool[])
                     AS m (id, kpi, period, value, comment, rag, superseded)",
            )
            .await?;
        for values in self.new.chunks(CHUNK) {
            let ids: Vec<Uuid> = values.iter().map(|v| v.id).collect();
            let kpis: Vec<Uuid> = values.iter().map(|v| v.kpi_id).collect();
            let periods: Vec<Date> = values.iter().map(|v| v.period_start).collect();
            let numbers: Vec<f64> = values.iter().map(|v| v.value).collect();
            let comments: Vec<&str> = values.iter().map(|v| v.comment.as_str()).collect();
            let rags: Vec<&str> = values.iter().map(|v| v.rag.as_str()).collect();
            let superseded: Vec<bool> = values.iter().map(|v| v.superseded).collect();
            tx.execute(&insert, &[&relationship_id, &actor, &now, &ids, &kpis, &periods, &numbers, &comments, &rags, &superseded]).await?;
        }
        let mut kpis: Vec<Uuid> = self.new.iter().map(|v| v.kpi_id).collect();
        kpis.sort_unstable();
        kpis.dedup();
        keep_recent(tx, relationship_id, &kpis).await
    }
}

/// Rewrites what `kpi.recent` keeps of `kpi_ids`: their latest current values (see V6).
pub(crate) async fn keep_recent(c: &impl GenericClient, relationship_id: Uuid, kpi_ids: &[Uuid]) -> R<()> {
    if kpi_ids.is_empty() {
        return Ok(());
    }
    let sql = "SELECT k.id, m.period_start, m.value, m.rag FROM unnest($2::uuid[]) AS k (id)
         CROSS JOIN LATERAL (SELECT period_start, value, rag FROM measurement
                             WHERE relationship_id = $1 AND kpi_id = k.id AND superseded_at IS NULL
                             ORDER BY period_start DESC LIMIT $3) m";
    let mut kept: HashMap<Uuid, Vec<(Date, f64, Rag)>> = kpi_ids.iter().map(|id| (*id, Vec::new())).collect();
    for r in rows(c, sql, &[&relationship_id, &kpi_ids, &(RECENT as i64)]).await? {
        let rag = text_as(&r, 3, Rag::parse)?;
        kept.entry(r.try_get(0)?).or_default().push((r.try_get(1)?, r.try_get(2)?, rag));
    }
    let (ids, encoded): (Vec<Uuid>, Vec<String>) = kept
        .into_iter()
        .map(|(id, mut values)| {
            values.sort_by_key(|v| v.0);
            (id, accord_domain::audit::hex(&encode_recent(&values)))
        })
        .unzip();
    let sql = "UPDATE kpi SET recent = decode(u.recent, 'hex') FROM unnest($2::uuid[], $3::text[]) AS u (id, recent)
         WHERE kpi.relationship_id = $1 AND kpi.kpi_id = u.id";
    c.execute(&c.prepare_cached(sql).await?, &[&relationship_id, &ids, &encoded]).await?;
    Ok(())
}

/// Fills in `kpi.recent` where a migration left it empty.
pub(crate) async fn keep_recent_where_missing(c: &impl GenericClient) -> R<()> {
    let missing = rows(c, "SELECT relationship_id, kpi_id FROM kpi WHERE recent IS NULL", &[]).await?;
    for r in missing {
        keep_recent(c, r.try_get(0)?, &[r.try_get(1)?]).await?;
    }
    Ok(())
}

pub(crate) async fn record_measurement(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    input: &MeasurementInput,
    actor: Uuid,
    now: Timestamp,
) -> R<Measurement> {
    let kpi_ids = [input.kpi_id];
    if lock_kpis(tx, relationship_id, &kpi_ids).await?.is_empty() {
        return Err(not_found("KPI"));
    }
    let rules = kpi_rules(tx, relationship_id, &kpi_ids).await?;
    let kpi_rules = rules.get(&input.kpi_id).ok_or(not_found("KPI"))?;
    let current = current_values(tx, relationship_id, &kpi_ids, input.period_start, input.period_start).await?;
    let mut plan = Plan::new(current);
    if let Some(Written { id, rag, before }) = plan.write(kpi_rules, input, now)? {
        plan.write_out(tx, relationship_id, Some(actor), now).await?;
        let mut summary =
            json!({"kpi": input.kpi_id, "period": input.period_start.to_string(), "value": format_value(input.value), "rag": rag.as_str()});
        let kind = match before {
            Some((value, rag)) => {
                summary["before"] = json!({"value": format_value(value), "rag": rag.as_str()});
                EventKind::MeasurementCorrected
            }
            None => EventKind::MeasurementRecorded,
        };
        append(tx, relationship_id, Draft::new(Some(actor), kind, "measurement", id, summary), now).await?;
    }
    let sql = format!("{MEASUREMENT} WHERE m.relationship_id = $1 AND m.kpi_id = $2 AND m.period_start = $3 AND m.superseded_at IS NULL");
    query_opt(tx, &sql, &[&relationship_id, &input.kpi_id, &input.period_start], measurement_row).await?.ok_or(not_found("measurement"))
}

pub(crate) async fn import_measurements(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    rows: &[MeasurementInput],
    sha256: &str,
    actor: Option<Uuid>,
    now: Timestamp,
) -> R<ImportSummary> {
    get_relationship(tx, relationship_id).await?;
    let mut kpi_ids: Vec<Uuid> = rows.iter().map(|row| row.kpi_id).collect();
    kpi_ids.sort_unstable();
    kpi_ids.dedup();
    // Those of another relationship are not locked, not found, and refused below.
    lock_kpis(tx, relationship_id, &kpi_ids).await?;
    let rules = kpi_rules(tx, relationship_id, &kpi_ids).await?;
    let periods = rows.iter().map(|row| row.period_start);
    let current = match (periods.clone().min(), periods.max()) {
        (Some(first), Some(last)) => current_values(tx, relationship_id, &kpi_ids, first, last).await?,
        _ => HashMap::new(),
    };
    let mut plan = Plan::new(current);
    let mut summary = ImportSummary::default();
    for (i, row) in rows.iter().enumerate() {
        let kpi_rules = rules.get(&row.kpi_id).ok_or_else(|| invalid(&format!("rows[{i}]"), "names a KPI of another relationship"))?;
        match plan.write(kpi_rules, row, now)? {
            None => summary.unchanged += 1,
            Some(Written { before: None, .. }) => summary.added += 1,
            Some(Written { before: Some(_), .. }) => summary.corrected += 1,
        }
    }
    plan.write_out(tx, relationship_id, actor, now).await?;
    let detail = json!({"file_sha256": sha256, "rows": rows.len(), "added": summary.added, "corrected": summary.corrected, "unchanged": summary.unchanged});
    let import_id = new_id(now);
    append(tx, relationship_id, Draft::new(actor, EventKind::MeasurementsImported, "import", import_id, detail), now).await?;
    Ok(summary)
}

pub(crate) async fn measurements(
    c: &impl GenericClient,
    relationship_id: Uuid,
    kpi_id: Uuid,
    before: Option<Date>,
    limit: u32,
) -> R<Vec<Measurement>> {
    let sql = format!(
        "{MEASUREMENT} WHERE m.relationship_id = $1 AND m.kpi_id = $2 AND m.superseded_at IS NULL AND m.period_start < $3 ORDER BY m.period_start DESC LIMIT $4"
    );
    query_all(c, &sql, &[&relationship_id, &kpi_id, &before.unwrap_or(LAST_DATE), &i64::from(limit)], measurement_row).await
}

pub(crate) async fn measurement_history(
    c: &impl GenericClient,
    relationship_id: Uuid,
    kpi_id: Uuid,
    period_start: Date,
) -> R<Vec<Measurement>> {
    let sql = format!(
        "{MEASUREMENT} WHERE m.relationship_id = $1 AND m.kpi_id = $2 AND m.period_start = $3 ORDER BY m.entered_at DESC, m.measurement_id DESC"
    );
    query_all(c, &sql, &[&relationship_id, &kpi_id, &period_start], measurement_row).await
}

pub(crate) async fn recent_measurements(c: &impl GenericClient, relationship_id: Uuid, per_kpi: u32) -> R<Vec<Measurement>> {
    // One index range per KPI (the latest `per_kpi` periods): the cost follows the number of KPIs,
    // not the relationship's age.
    query_all(
        c,
        "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at
         FROM kpi k
         CROSS JOIN LATERAL (SELECT * FROM measurement x
                             WHERE x.relationship_id = k.relationship_id AND x.kpi_id = k.kpi_id AND x.superseded_at IS NULL
                             ORDER BY x.period_start DESC LIMIT $2) m
         LEFT JOIN user_account u ON u.user_id = m.entered_by
         WHERE k.relationship_id = $1 ORDER BY m.kpi_id, m.period_start",
        &[&relationship_id, &i64::from(per_kpi)],
        measurement_row,
    )
    .await
}

// Obligations.

const OBLIGATION: &str = "SELECT b.obligation_id, b.relationship_id, b.party_id, o.name, b.title, b.description, b.recurrence, b.due_date, b.status, b.evidence, b.version
    FROM obligation b
    JOIN party p ON p.relationship_id = b.relationship_id AND p.party_id = b.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

fn obligation_row(r: &Row) -> R<Obligation> {
    Ok(Obligation {
        id: r.try_get(0)?,
        relationship_id: r.try_get(1)?,
        party_id: r.try_get(2)?,
        party_name: r.try_get(3)?,
        title: r.try_get(4)?,
        description: r.try_get(5)?,
        recurrence: r.try_get(6)?,
        due_date: r.try_get(7)?,
        status: text_as(r, 8, ObligationStatus::parse)?,
        evidence: r.try_get(9)?,
        version: r.try_get(10)?,
    })
}

pub(crate) async fn obligation(c: &impl GenericClient, relationship_id: Uuid, obligation_id: Uuid) -> R<Obligation> {
    let sql = format!("{OBLIGATION} WHERE b.relationship_id = $1 AND b.obligation_id = $2");
    query_opt(c, &sql, &[&relationship_id, &obligation_id], obligation_row).await?.ok_or(not_found("obligation"))
}

pub(crate) async fn obligations(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Obligation>> {
    let sql = format!(
        "{OBLIGATION} WHERE b.relationship_id = $1 ORDER BY CASE WHEN b.status IN ('delivered', 'missed') THEN 1 ELSE 0 END, b.due_date, b.obligation_id"
    );
    query_all(c, &sql, &[&relationship_id], obligation_row).await
}

pub(crate) async fn create_obligation(tx: &Transaction<'_>, new: &NewObligation, actor: Uuid, now: Timestamp) -> R<Obligation> {
    let r = new.relationship_id;
    get_relationship(tx, r).await?;
    require_party(tx, r, new.party_id, "party").await?;
    let id = new_id(now);
    execute(
        tx,
        "INSERT INTO obligation (relationship_id, obligation_id, party_id, title, description, recurrence, due_date, status, evidence, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'not_started', '', 1, $8, $8)",
        &[&r, &id, &new.party_id, &new.title, &new.description, &new.recurrence, &new.due_date, &now],
    )
    .await?;
    let summary = json!({"title": new.title, "party": new.party_id, "recurrence": new.recurrence, "due_date": new.due_date.to_string()});
    append(tx, r, Draft::new(Some(actor), EventKind::ObligationCreated, "obligation", id, summary), now).await?;
    obligation(tx, r, id).await
}

pub(crate) async fn update_obligation(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    obligation_id: Uuid,
    change: &ObligationChange,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Obligation> {
    lock_row(tx, "obligation", relationship_id, obligation_id, "obligation").await?;
    let before = obligation(tx, relationship_id, obligation_id).await?;
    check_version(before.version, expected_version)?;
    execute(
        tx,
        "UPDATE obligation SET status = $3, evidence = $4, due_date = $5, version = version + 1, updated_at = $6 WHERE relationship_id = $1 AND obligation_id = $2",
        &[&relationship_id, &obligation_id, &change.status.as_str(), &change.evidence, &change.due_date, &now],
    )
    .await?;
    let summary = json!({
        "party": before.party_id,
        "before": {"status": before.status.as_str(), "due_date": before.due_date.to_string(), "evidence": before.evidence},
        "after": {"status": change.status.as_str(), "due_date": change.due_date.to_string(), "evidence": change.evidence},
    });
    let draft = Draft::new(Some(actor), EventKind::ObligationUpdated, "obligation", obligation_id, summary);
    append(tx, relationship_id, draft, now).await?;
    obligation(tx, relationship_id, obligation_id).await
}

// Actions.

const ACTION: &str = "SELECT a.action_id, a.relationship_id, a.title, a.description, a.owner_id, COALESCE(u.name, ''), a.party_id, o.name, a.due_date, a.status,
        a.source_kind, a.source_id, a.source_period, a.version, a.created_at
    FROM action a
    LEFT JOIN user_account u ON u.user_id = a.owner_id
    JOIN party p ON p.relationship_id = a.relationship_id AND p.party_id = a.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

fn action_row(r: &Row) -> R<Action> {
    let source = match (r.try_get::<_, Option<String>>(10)?, r.try_get::<_, Option<Uuid>>(11)?) {
        (Some(kind), Some(id)) => Some(ActionSource { kind, id, period: r.try_get(12)? }),
        _ => None,
    };
    Ok(Action {
        id: r.try_get(0)?,
        relationship_id: r.try_get(1)?,
        title: r.try_get(2)?,
        description: r.try_get(3)?,
        owner_id: r.try_get(4)?,
        owner_name: r.try_get(5)?,
        party_id: r.try_get(6)?,
        party_name: r.try_get(7)?,
        due_date: r.try_get(8)?,
        status: text_as(r, 9, ActionStatus::parse)?,
        source,
        version: r.try_get(13)?,
        created_at: r.try_get(14)?,
    })
}

pub(crate) async fn action(c: &impl GenericClient, relationship_id: Uuid, action_id: Uuid) -> R<Action> {
    let sql = format!("{ACTION} WHERE a.relationship_id = $1 AND a.action_id = $2");
    query_opt(c, &sql, &[&relationship_id, &action_id], action_row).await?.ok_or(not_found("action"))
}

pub(crate) async fn actions(
    c: &impl GenericClient,
    relationship_id: Uuid,
    filter: ActionFilter,
    after: Option<(Date, Uuid)>,
    limit: u32,
) -> R<Vec<Action>> {
    let status = match filter {
        ActionFilter::Open => "AND a.status IN ('open', 'in_progress')",
        ActionFilter::Closed => "AND a.status IN ('done', 'cancelled')",
        ActionFilter::All => "",
    };
    let (due, id) = after.unwrap_or((FIRST_DATE, Uuid::nil()));
    let sql = format!(
        "{ACTION} WHERE a.relationship_id = $1 {status} AND (a.due_date, a.action_id) > ($2, $3) ORDER BY a.due_date, a.action_id LIMIT $4"
    );
    query_all(c, &sql, &[&relationship_id, &due, &id, &i64::from(limit)], action_row).await
}

pub(crate) async fn create_action(tx: &Transaction<'_>, new: &NewAction, actor: Uuid, now: Timestamp) -> R<Action> {
    let r = new.relationship_id;
    get_relationship(tx, r).await?;
    require_party(tx, r, new.party_id, "party").await?;
    if let Some(owner) = new.owner_id {
        lock_chain(tx, r).await?;
        require_member(tx, r, owner, "owner").await?;
    }
    if let Some(source) = &new.source {
        require_source(tx, r, source).await?;
    }
    let id = new_id(now);
    let (kind, source_id, period) = match &new.source {
        Some(s) => (Some(s.kind.as_str()), Some(s.id), s.period),
        None => (None, None, None),
    };
    execute(
        tx,
        "INSERT INTO action (relationship_id, action_id, title, description, owner_id, party_id, due_date, status, source_kind, source_id, source_period, created_by, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, 1, $12, $12)",
        &[&r, &id, &new.title, &new.description, &new.owner_id, &new.party_id, &new.due_date, &kind, &source_id, &period, &actor, &now],
    )
    .await?;
    let summary = json!({"title": new.title, "party": new.party_id, "owner": new.owner_id, "due_date": new.due_date.to_string(), "source": new.source});
    append(tx, r, Draft::new(Some(actor), EventKind::ActionCreated, "action", id, summary), now).await?;
    action(tx, r, id).await
}

pub(crate) async fn update_action(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    action_id: Uuid,
    change: &ActionChange,
    expected_version: i64,
    actor: Uuid,
    now: Timestamp,
) -> R<Action> {
    lock_row(tx, "action", relationship_id, action_id, "action").await?;
    let before = action(tx, relationship_id, action_id).await?;
    check_version(before.version, expected_version)?;
    if let Some(owner) = change.owner_id {
        lock_chain(tx, relationship_id).await?;
        require_member(tx, relationship_id, owner, "owner").await?;
    }
    execute(
        tx,
        "UPDATE action SET status = $3, owner_id = $4, due_date = $5, version = version + 1, updated_at = $6 WHERE relationship_id = $1 AND action_id = $2",
        &[&relationship_id, &action_id, &change.status.as_str(), &change.owner_id, &change.due_date, &now],
    )
    .await?;
    let summary = json!({
        "party": before.party_id,
        "before": {"status": before.status.as_str(), "owner": before.owner_id, "due_date": before.due_date.to_string()},
        "after": {"status": change.status.as_str(), "owner": change.owner_id, "due_date": change.due_date.to_string()},
    });
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::ActionUpdated, "action", action_id, summary), now).await?;
    action(tx, relationship_id, action_id).await
}
