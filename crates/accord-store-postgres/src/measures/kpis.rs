//! KPIs and their threshold versions as PostgreSQL reads and keeps them.

use super::*;

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

/// A KPI from `KPI`, with its objectives.
fn kpi_with_objectives(r: &Row) -> R<Kpi> {
    Ok(Kpi { objectives: r.try_get(14)?, ..kpi_row(&RowCells(r))? })
}

/// Every link between the relationship's KPIs and objectives: (KPI, objective).
async fn kpi_links(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<(Uuid, Uuid)>> {
    links(c, "SELECT kpi_id, objective_id FROM kpi_objective WHERE relationship_id = $1", relationship_id).await
}

pub(crate) async fn kpis(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Kpi>> {
    let sql = concat!("SELECT ", kpi_columns!(), " FROM kpi k WHERE k.relationship_id = $1");
    let (mut kpis, links) =
        try_join!(async { query_all(c, sql, &[&relationship_id], |r| kpi_row(&RowCells(r))).await }, kpi_links(c, relationship_id))?;
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
        let kpi = kpi_row(&RowCells(&r))?;
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

pub(super) async fn insert_version(
    tx: &Transaction<'_>, relationship_id: Uuid, kpi_id: Uuid, v: &Version, actor: Uuid, now: Timestamp,
) -> R<()> {
    execute(
        tx,
        "INSERT INTO kpi_version (relationship_id, kpi_id, effective_from, target, amber, red, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&relationship_id, &kpi_id, &v.effective_from, &v.thresholds.target, &v.thresholds.amber, &v.thresholds.red, &actor, &now],
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
    let versions: Vec<KpiVersion> =
        query_all(c, sql, &[&relationship_id, &kpi_id], |r| kpi_version_row(&RowCells(r), text_as(r, 6, Direction::parse)?)).await?;
    if versions.is_empty() { Err(not_found("KPI")) } else { Ok(versions) }
}
