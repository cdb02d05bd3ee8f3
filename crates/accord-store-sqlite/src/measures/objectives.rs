//! Objectives as SQLite reads them.

use super::*;

const OBJECTIVE: &str =
    "SELECT objective_id, relationship_id, title, description, review_months, next_review, status, version, created_at FROM objective";

pub(crate) fn objectives(c: &Connection, relationship_id: Uuid) -> R<Vec<Objective>> {
    let mut stmt = c.prepare_cached(&format!("{OBJECTIVE} WHERE relationship_id = ?1 ORDER BY status, title"))?;
    let mut objectives = stmt.query_map([relationship_id], |r| objective_row(&RowCells(r)))?.collect::<Result<Vec<_>, _>>()?;
    let parties = links(c, "SELECT objective_id, party_id FROM objective_party WHERE relationship_id = ?1", relationship_id)?;
    attach_links(&mut objectives, |o| (o.id, &mut o.parties), parties);
    Ok(objectives)
}

pub(crate) fn objective(c: &Connection, relationship_id: Uuid, objective_id: Uuid) -> R<Objective> {
    let mut row = c
        .prepare_cached(&format!("{OBJECTIVE} WHERE relationship_id = ?1 AND objective_id = ?2"))?
        .query_row([relationship_id, objective_id], |r| objective_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("objective"))?;
    let mut parties = c.prepare_cached("SELECT party_id FROM objective_party WHERE relationship_id = ?1 AND objective_id = ?2")?;
    row.parties = parties.query_map([relationship_id, objective_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    row.parties.sort_unstable();
    Ok(row)
}

pub(crate) fn objective_reviews(c: &Connection, relationship_id: Uuid, objective_id: Uuid) -> R<Vec<ObjectiveReviewRecord>> {
    let mut stmt = c.prepare_cached(
        "SELECT r.objective_review_id, r.verdict, r.reason, r.decided_by, u.name, r.decided_at, r.previous_title, r.previous_description
         FROM objective_review r JOIN user_account u INDEXED BY user_account_names ON u.user_id = r.decided_by
         WHERE r.relationship_id = ?1 AND r.objective_id = ?2 ORDER BY r.decided_at DESC",
    )?;
    let rows = stmt.query_map([relationship_id, objective_id], |r| objective_review_row(&RowCells(r)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
