//! KPIs and their threshold versions as SQLite reads and keeps them.

use super::*;

/// A KPI with the thresholds of its latest version, kept on its row (see V6).
const KPI: &str = "SELECT k.kpi_id, k.relationship_id, k.name, k.definition, k.unit, k.direction, k.cadence, k.party_id, k.reporter_id, k.version, k.created_at,
        k.target, k.amber, k.red
    FROM kpi k";

pub(crate) fn kpis(c: &Connection, relationship_id: Uuid) -> R<Vec<Kpi>> {
    // Read in key order and arranged by name here (ordered by the name index, SQLite looked every
    // KPI up in the table again).
    let mut stmt = c.prepare_cached(&format!("{KPI} WHERE k.relationship_id = ?1"))?;
    let mut kpis = stmt.query_map([relationship_id], |r| kpi_row(&RowCells(r)))?.collect::<Result<Vec<_>, _>>()?;
    arrange_kpis(&mut kpis, links(c, "SELECT kpi_id, objective_id FROM kpi_objective WHERE relationship_id = ?1", relationship_id)?);
    Ok(kpis)
}

pub(crate) fn kpi(c: &Connection, relationship_id: Uuid, kpi_id: Uuid) -> R<Kpi> {
    let row = c
        .prepare_cached(&format!("{KPI} WHERE k.relationship_id = ?1 AND k.kpi_id = ?2"))?
        .query_row([relationship_id, kpi_id], |r| kpi_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("KPI"))?;
    // Its own links only: `kpis` reads every link of the relationship, for a list.
    let mut stmt =
        c.prepare_cached("SELECT objective_id FROM kpi_objective WHERE relationship_id = ?1 AND kpi_id = ?2 ORDER BY objective_id")?;
    let objectives = stmt.query_map([relationship_id, kpi_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(Kpi { objectives, ..row })
}

pub(super) fn insert_version(tx: &Connection, relationship_id: Uuid, kpi_id: Uuid, v: &Version, actor: Uuid, now: Timestamp) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO kpi_version (relationship_id, kpi_id, effective_from, target, amber, red, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![relationship_id, kpi_id, v.effective_from.to_string(), v.thresholds.target, v.thresholds.amber, v.thresholds.red, actor, micros(now)])?;
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
    let rows = stmt.query_map([relationship_id, kpi_id], |r| kpi_version_row(&RowCells(r), direction))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
