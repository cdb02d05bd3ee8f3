//! Measured values on PostgreSQL: how they are read, and how a recording or an import writes them
//! (planned in memory, then a few thousand rows per statement; the decisions are
//! `decide::value_rag`'s).

use super::*;

/// After every period, for a first page of measurements.
const LAST_DATE: Date = Date::constant(9999, 12, 31);
/// Values written per statement by an import.
const CHUNK: usize = 5_000;

pub(super) const MEASUREMENT: &str = "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at,
        m.retracted_at, m.retracted_by, COALESCE(x.name, ''), m.retraction_reason
    FROM measurement m LEFT JOIN user_account u ON u.user_id = m.entered_by LEFT JOIN user_account x ON x.user_id = m.retracted_by";

/// Locks the relationship's KPIs among `kpi_ids` (sorted, distinct), in id order; returns those found.
pub(super) async fn lock_kpis(tx: &Transaction<'_>, relationship_id: Uuid, kpi_ids: &[Uuid]) -> R<Vec<Uuid>> {
    let sql = "SELECT kpi_id FROM kpi WHERE relationship_id = $1 AND kpi_id = ANY($2) ORDER BY kpi_id FOR NO KEY UPDATE";
    query_all(tx, sql, &[&relationship_id, &kpi_ids], |r| Ok(r.try_get(0)?)).await
}

pub(super) async fn kpi_rules(tx: &Transaction<'_>, relationship_id: Uuid, kpi_ids: &[Uuid]) -> R<HashMap<Uuid, KpiRules>> {
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
pub(super) struct Current {
    id: Uuid,
    value: f64,
    comment: String,
    rag: Rag,
    /// Its index among the planned values, when this write planned it.
    planned: Option<usize>,
}

/// The current values of `kpi_ids` for the periods from `first` to `last`, by KPI and period.
pub(super) async fn current_values(
    tx: &Transaction<'_>, relationship_id: Uuid, kpi_ids: &[Uuid], first: Date, last: Date,
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
pub(super) struct Written {
    pub id: Uuid,
    pub rag: Rag,
    pub before: Option<(f64, Rag)>,
}

/// The values one write (a recording or a whole import) changes, worked out in memory against
/// the current values loaded once, then written a few thousand rows per statement.
pub(super) struct Plan {
    current: HashMap<(Uuid, Date), Current>,
    /// Stored current values that a correction supersedes.
    superseded: Vec<Uuid>,
    new: Vec<NewValue>,
}

impl Plan {
    pub(super) fn new(current: HashMap<(Uuid, Date), Current>) -> Plan {
        Plan { current, superseded: Vec::new(), new: Vec::new() }
    }

    /// Plans one value unless it equals the current one.
    pub(super) fn write(&mut self, rules: &KpiRules, input: &MeasurementInput, now: Timestamp) -> R<Option<Written>> {
        let key = (input.kpi_id, input.period_start);
        let current = self.current.get(&key).map(|c| (c.value, c.comment.as_str()));
        let Some(rag) = decide::value_rag(rules, current, input)? else { return Ok(None) };
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
    pub(super) async fn write_out(self, tx: &Transaction<'_>, relationship_id: Uuid, actor: Option<Uuid>, now: Timestamp) -> R<()> {
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

pub(crate) async fn measurements(
    c: &impl GenericClient, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32,
) -> R<Vec<Measurement>> {
    let sql = format!(
        "{MEASUREMENT} WHERE m.relationship_id = $1 AND m.kpi_id = $2 AND m.superseded_at IS NULL AND m.period_start < $3 ORDER BY m.period_start DESC LIMIT $4"
    );
    query_all(c, &sql, &[&relationship_id, &kpi_id, &before.unwrap_or(LAST_DATE), &i64::from(limit)], |r| measurement_row(&RowCells(r)))
        .await
}

/// The latest `limit` retracted values of a KPI, newest period first: a range of the index of
/// retracted values.
pub(crate) async fn retracted_measurements(c: &impl GenericClient, relationship_id: Uuid, kpi_id: Uuid, limit: u32) -> R<Vec<Measurement>> {
    let sql = format!(
        "{MEASUREMENT} WHERE m.relationship_id = $1 AND m.kpi_id = $2 AND m.retracted_at IS NOT NULL ORDER BY m.period_start DESC, m.entered_at DESC LIMIT $3"
    );
    query_all(c, &sql, &[&relationship_id, &kpi_id, &i64::from(limit)], |r| measurement_row(&RowCells(r))).await
}

/// One value of a KPI, current or not.
pub(crate) async fn measurement(c: &impl GenericClient, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid) -> R<Measurement> {
    let sql = format!("{MEASUREMENT} WHERE m.relationship_id = $1 AND m.measurement_id = $2 AND m.kpi_id = $3");
    query_opt(c, &sql, &[&relationship_id, &measurement_id, &kpi_id], |r| measurement_row(&RowCells(r)))
        .await?
        .ok_or(not_found("measurement"))
}

pub(crate) async fn measurement_history(
    c: &impl GenericClient, relationship_id: Uuid, kpi_id: Uuid, period_start: Date,
) -> R<Vec<Measurement>> {
    let sql = format!(
        "{MEASUREMENT} WHERE m.relationship_id = $1 AND m.kpi_id = $2 AND m.period_start = $3 ORDER BY m.entered_at DESC, m.measurement_id DESC"
    );
    query_all(c, &sql, &[&relationship_id, &kpi_id, &period_start], |r| measurement_row(&RowCells(r))).await
}

pub(crate) async fn recent_measurements(c: &impl GenericClient, relationship_id: Uuid, per_kpi: u32) -> R<Vec<Measurement>> {
    // One index range per KPI (the latest `per_kpi` periods): the cost follows the number of KPIs,
    // not the relationship's age.
    query_all(
        c,
        "SELECT m.measurement_id, m.kpi_id, m.period_start, m.value, m.comment, m.rag, m.entered_by, COALESCE(u.name, ''), m.entered_at, m.superseded_at,
                NULL::timestamptz, NULL::uuid, '', NULL::text
         FROM kpi k
         CROSS JOIN LATERAL (SELECT * FROM measurement x
                             WHERE x.relationship_id = k.relationship_id AND x.kpi_id = k.kpi_id AND x.superseded_at IS NULL
                             ORDER BY x.period_start DESC LIMIT $2) m
         LEFT JOIN user_account u ON u.user_id = m.entered_by
         WHERE k.relationship_id = $1 ORDER BY m.kpi_id, m.period_start",
        &[&relationship_id, &i64::from(per_kpi)],
        |r| measurement_row(&RowCells(r)),
    )
    .await
}
