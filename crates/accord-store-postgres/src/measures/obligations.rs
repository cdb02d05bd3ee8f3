//! Obligations as PostgreSQL reads them.

use super::*;

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
