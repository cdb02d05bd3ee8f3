//! Obligations as SQLite reads them.

use super::*;

const OBLIGATION: &str = "SELECT b.obligation_id, b.relationship_id, b.party_id, o.name, b.title, b.description, b.recurrence, b.due_date, b.status, b.evidence, b.version
    FROM obligation b
    JOIN party p ON p.relationship_id = b.relationship_id AND p.party_id = b.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

pub(crate) fn obligation(c: &Connection, relationship_id: Uuid, obligation_id: Uuid) -> R<Obligation> {
    c.prepare_cached(&format!("{OBLIGATION} WHERE b.relationship_id = ?1 AND b.obligation_id = ?2"))?
        .query_row([relationship_id, obligation_id], |r| obligation_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("obligation"))
}

pub(crate) fn obligations(c: &Connection, relationship_id: Uuid) -> R<Vec<Obligation>> {
    let mut stmt = c.prepare_cached(&format!(
        "{OBLIGATION} WHERE b.relationship_id = ?1 ORDER BY CASE WHEN b.status IN ('delivered', 'missed') THEN 1 ELSE 0 END, b.due_date, b.obligation_id"
    ))?;
    Ok(stmt.query_map([relationship_id], |r| obligation_row(&RowCells(r)))?.collect::<Result<_, _>>()?)
}

/// One party's obligations, by due date (`obligation_by_party`, V18).
pub(crate) fn party_obligations(c: &Connection, relationship_id: Uuid, party_id: Uuid) -> R<Vec<Obligation>> {
    let mut stmt =
        c.prepare_cached(&format!("{OBLIGATION} WHERE b.relationship_id = ?1 AND b.party_id = ?2 ORDER BY b.due_date, b.obligation_id"))?;
    Ok(stmt.query_map([relationship_id, party_id], |r| obligation_row(&RowCells(r)))?.collect::<Result<_, _>>()?)
}
