//! Objectives as PostgreSQL reads them.

use super::*;

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
