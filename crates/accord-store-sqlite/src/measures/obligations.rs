//! Obligations as SQLite reads them.

use super::*;

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
