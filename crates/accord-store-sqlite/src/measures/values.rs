//! Measured values on SQLite: how they are read, and how a recording or an import writes them
//! (a prepared batch of rows per statement; the decisions are `decide::value_rag`'s).

use super::*;

pub(super) const MEASUREMENT: &str = "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at,
        m.retracted_at, m.retracted_by, COALESCE(x.name, ''), m.retraction_reason
    FROM measurement m LEFT JOIN user_account u INDEXED BY user_account_names ON u.user_id = m.entered_by
    LEFT JOIN user_account x INDEXED BY user_account_names ON x.user_id = m.retracted_by";

/// The rules of every KPI of the relationship, or of `only` that one.
pub(super) fn kpi_rules(c: &Connection, relationship_id: Uuid, only: Option<Uuid>) -> R<HashMap<Uuid, KpiRules>> {
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
pub(super) struct Current {
    pub id: Uuid,
    pub value: f64,
    pub comment: String,
    pub rag: Rag,
}

/// The current values of `kpi_ids` for the periods from `first` to `last`, by KPI and period:
/// read once, so that an import does not look each row's period up.
pub(super) fn current_values(
    c: &Connection, relationship_id: Uuid, kpi_ids: &[Uuid], first: Date, last: Date,
) -> R<HashMap<(Uuid, Date), Current>> {
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
pub(super) struct NewValue<'a> {
    pub id: Uuid,
    pub input: &'a MeasurementInput,
    pub rag: Rag,
}

/// What one value needs, as `decide::value_rag` says: nothing when it equals `existing` (the
/// current one), else its id and RAG, after marking `existing` superseded. The caller inserts it
/// (see `insert_values`).
pub(super) fn prepare_value<'a>(
    tx: &Connection, relationship_id: Uuid, rules: &KpiRules, existing: Option<&Current>, input: &'a MeasurementInput, now: Timestamp,
) -> R<Option<NewValue<'a>>> {
    let Some(rag) = decide::value_rag(rules, existing.map(|c| (c.value, c.comment.as_str())), input)? else { return Ok(None) };
    if let Some(c) = existing {
        tx.prepare_cached(
            "UPDATE measurement INDEXED BY measurement_current SET superseded_at = ?5
             WHERE relationship_id = ?1 AND kpi_id = ?2 AND period_start = ?3 AND superseded_at IS NULL AND measurement_id = ?4",
        )?
        .execute(params![relationship_id, input.kpi_id, input.period_start.to_string(), c.id, micros(now)])?;
    }
    Ok(Some(NewValue { id: new_id(now), input, rag }))
}

/// Inserts `values`, `BATCH` rows to a statement: one statement per row spent most of an import
/// of a million rows on running statements rather than on writing rows.
pub(super) fn insert_values(tx: &Connection, relationship_id: Uuid, values: &[NewValue], actor: Option<Uuid>, now: Timestamp) -> R<()> {
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
    Ok(stmt.query_map(params![relationship_id, kpi_id, before, limit], |r| measurement_row(&RowCells(r)))?.collect::<Result<_, _>>()?)
}

/// The latest `limit` retracted values of a KPI, newest period first: a range of the index of
/// retracted values.
pub(crate) fn retracted_measurements(c: &Connection, relationship_id: Uuid, kpi_id: Uuid, limit: u32) -> R<Vec<Measurement>> {
    let select = MEASUREMENT.replacen("FROM measurement m", "FROM measurement m INDEXED BY measurement_retracted", 1);
    let mut stmt = c.prepare_cached(&format!(
        "{select} WHERE m.relationship_id = ?1 AND m.kpi_id = ?2 AND m.retracted_at IS NOT NULL ORDER BY m.period_start DESC, m.entered_at DESC LIMIT ?3"
    ))?;
    Ok(stmt.query_map(params![relationship_id, kpi_id, limit], |r| measurement_row(&RowCells(r)))?.collect::<Result<_, _>>()?)
}

/// One value of a KPI, current or not (a range of the KPI's values: they are kept by period).
pub(crate) fn measurement(c: &Connection, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid) -> R<Measurement> {
    c.prepare_cached(&format!("{MEASUREMENT} WHERE m.relationship_id = ?1 AND m.kpi_id = ?2 AND m.measurement_id = ?3"))?
        .query_row(params![relationship_id, kpi_id, measurement_id], |r| measurement_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("measurement"))
}

pub(crate) fn measurement_history(c: &Connection, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> R<Vec<Measurement>> {
    let mut stmt = c.prepare_cached(&format!("{MEASUREMENT} WHERE m.relationship_id = ?1 AND m.kpi_id = ?2 AND m.period_start = ?3 ORDER BY m.entered_at DESC, m.measurement_id DESC"))?;
    Ok(stmt
        .query_map(params![relationship_id, kpi_id, period_start.to_string()], |r| measurement_row(&RowCells(r)))?
        .collect::<Result<_, _>>()?)
}

/// The latest `per_kpi` current values of every KPI: one range of the index of current values
/// per KPI, from its `per_kpi`-th latest period on, so the cost follows the number of KPIs, not
/// the relationship's age. CROSS JOIN keeps the KPIs outside, so that the subquery runs once per
/// KPI and not once per value.
pub(crate) fn recent_measurements(c: &Connection, relationship_id: Uuid, per_kpi: u32) -> R<Vec<Measurement>> {
    let mut stmt = c.prepare_cached(
        "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at,
                NULL, NULL, '', NULL
         FROM kpi k CROSS JOIN measurement m INDEXED BY measurement_current LEFT JOIN user_account u INDEXED BY user_account_names ON u.user_id = m.entered_by
         WHERE k.relationship_id = ?1 AND m.relationship_id = k.relationship_id AND m.kpi_id = k.kpi_id AND m.superseded_at IS NULL
           AND m.period_start >= COALESCE((SELECT p.period_start FROM measurement p INDEXED BY measurement_current
                                           WHERE p.relationship_id = k.relationship_id AND p.kpi_id = k.kpi_id AND p.superseded_at IS NULL
                                           ORDER BY p.period_start DESC LIMIT 1 OFFSET ?2 - 1), '')
         ORDER BY k.kpi_id, m.period_start",
    )?;
    Ok(stmt.query_map(params![relationship_id, per_kpi], |r| measurement_row(&RowCells(r)))?.collect::<Result<_, _>>()?)
}
