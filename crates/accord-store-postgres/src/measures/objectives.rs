//! Objectives as PostgreSQL reads them.

use super::*;

/// An objective's columns; its parties are read apart (an array for one objective, one statement
/// for a list: see `kpi_objectives!`).
macro_rules! objective_columns {
    () => {
        "o.objective_id, o.relationship_id, o.title, o.description, o.review_months, o.next_review, o.status, o.version, o.created_at"
    };
}

pub(crate) async fn objectives(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Objective>> {
    let sql = concat!("SELECT ", objective_columns!(), " FROM objective o WHERE o.relationship_id = $1 ORDER BY o.status, o.title");
    let parties = "SELECT objective_id, party_id FROM objective_party WHERE relationship_id = $1";
    let (mut objectives, parties) = try_join!(
        async { query_all(c, sql, &[&relationship_id], |r| objective_row(&RowCells(r))).await },
        links(c, parties, relationship_id)
    )?;
    attach_links(&mut objectives, |o| (o.id, &mut o.parties), parties);
    Ok(objectives)
}

pub(crate) async fn objective(c: &impl GenericClient, relationship_id: Uuid, objective_id: Uuid) -> R<Objective> {
    let sql = concat!(
        "SELECT ",
        objective_columns!(),
        ", ARRAY(SELECT l.party_id FROM objective_party l WHERE l.relationship_id = o.relationship_id AND l.objective_id = o.objective_id ORDER BY l.party_id)
        FROM objective o WHERE o.relationship_id = $1 AND o.objective_id = $2"
    );
    let row =
        query_opt(c, sql, &[&relationship_id, &objective_id], |r| Ok(Objective { parties: r.try_get(9)?, ..objective_row(&RowCells(r))? }))
            .await?;
    row.ok_or(not_found("objective"))
}

pub(crate) async fn objective_reviews(c: &impl GenericClient, relationship_id: Uuid, objective_id: Uuid) -> R<Vec<ObjectiveReviewRecord>> {
    query_all(
        c,
        "SELECT r.objective_review_id, r.verdict, r.reason, r.decided_by, u.name, r.decided_at, r.previous_title, r.previous_description
         FROM objective_review r JOIN user_account u ON u.user_id = r.decided_by
         WHERE r.relationship_id = $1 AND r.objective_id = $2 ORDER BY r.decided_at DESC",
        &[&relationship_id, &objective_id],
        |r| objective_review_row(&RowCells(r)),
    )
    .await
}
