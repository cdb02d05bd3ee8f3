//! The action log on PostgreSQL. Each write loads what its rules need (locking the action's row
//! before reading its version, the chain before checking a membership, as the measures module
//! does), asks `accord_store::actions::decide`, and applies the answer, in one transaction.

use super::*;
use crate::measures::{lock_row, member_or_none, party_known};
use accord_store::actions::decide;

/// The first day PostgreSQL can store (4714-11-24 BC): before every due date, for a first page.
const FIRST_DATE: Date = Date::constant(-4713, 11, 24);

/// What a source's id names in the relationship, found where its kind says (`SourceKind::lookup`).
async fn source_found(c: &impl GenericClient, relationship_id: Uuid, source: &ActionSource) -> R<SourceFound> {
    let Some(kind) = source.source_kind() else { return Ok(SourceFound::Nothing) };
    let column = query_opt(c, kind.lookup(), &[&relationship_id, &source.id], |r| Ok(r.try_get::<_, String>(0)?)).await?;
    kind.found(column.as_deref()).map_err(|e| Fail(StoreError::Backend(format!("action source {}: {e}", source.id))))
}

const ACTION: &str = "SELECT a.action_id, a.relationship_id, a.title, a.description, a.owner_id, COALESCE(u.name, ''), a.party_id, o.name, a.due_date, a.status,
        a.source_kind, a.source_id, a.source_period, a.version, a.created_at
    FROM action a
    LEFT JOIN user_account u ON u.user_id = a.owner_id
    JOIN party p ON p.relationship_id = a.relationship_id AND p.party_id = a.party_id
    JOIN organisation o ON o.organisation_id = p.organisation_id";

pub(crate) async fn action(c: &impl GenericClient, relationship_id: Uuid, action_id: Uuid) -> R<Action> {
    let sql = format!("{ACTION} WHERE a.relationship_id = $1 AND a.action_id = $2");
    query_opt(c, &sql, &[&relationship_id, &action_id], |r| action_row(&RowCells(r))).await?.ok_or(not_found("action"))
}

pub(crate) async fn actions(
    c: &impl GenericClient, relationship_id: Uuid, filter: ActionFilter, after: Option<(Date, Uuid)>, limit: u32,
) -> R<Vec<Action>> {
    let status = match filter {
        ActionFilter::Open => "AND a.status IN ('open', 'in_progress')",
        ActionFilter::Closed => "AND a.status IN ('done', 'cancelled')",
        ActionFilter::All => "",
    };
    let (due, id) = after.unwrap_or((FIRST_DATE, Uuid::nil()));
    let sql = format!(
        "{ACTION} WHERE a.relationship_id = $1 {status} AND (a.due_date, a.action_id) > ($2, $3) ORDER BY a.due_date, a.action_id LIMIT $4"
    );
    query_all(c, &sql, &[&relationship_id, &due, &id, &i64::from(limit)], |r| action_row(&RowCells(r))).await
}

/// One party's open actions by due date (overdue first), at most `limit`, and how many it has
/// open (`action_open_by_party`, V17): both in flight together.
pub(crate) async fn party_open_actions(c: &impl GenericClient, relationship_id: Uuid, party_id: Uuid, limit: u32) -> R<(Vec<Action>, i64)> {
    const OPEN: &str = "WHERE a.relationship_id = $1 AND a.party_id = $2 AND a.status IN ('open', 'in_progress')";
    let sql = format!("{ACTION} {OPEN} ORDER BY a.due_date, a.action_id LIMIT $3");
    let count = format!("SELECT count(*) FROM action a {OPEN}");
    let (actions, count) = tokio::try_join!(
        async { query_all(c, &sql, &[&relationship_id, &party_id, &i64::from(limit)], |r| action_row(&RowCells(r))).await },
        async { query_opt(c, &count, &[&relationship_id, &party_id], |r| Ok(r.try_get::<_, i64>(0)?)).await },
    )?;
    Ok((actions, count.unwrap_or(0)))
}

/// Writes a new action, decided already (by the action log or by a module raising it).
pub(crate) async fn insert_action(tx: &Transaction<'_>, new: &NewAction, id: Uuid, actor: Uuid, now: Timestamp) -> R<()> {
    let (kind, source_id, period) = match &new.source {
        Some(s) => (Some(s.kind.as_str()), Some(s.id), s.period),
        None => (None, None, None),
    };
    execute(
        tx,
        "INSERT INTO action (relationship_id, action_id, title, description, owner_id, party_id, due_date, status, source_kind, source_id, source_period, created_by, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10, $11, 1, $12, $12)",
        &[&new.relationship_id, &id, &new.title, &new.description, &new.owner_id, &new.party_id, &new.due_date, &kind, &source_id, &period, &actor, &now],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl ActionStore for PostgresStore {
    async fn create_action(&self, new: NewAction, actor: Uuid, now: Timestamp) -> StoreResult<Action> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let r = new.relationship_id;
                get_relationship(tx, r).await?;
                let party = party_known(tx, r, new.party_id).await?;
                let owner = member_or_none(tx, r, new.owner_id).await?;
                let source = match &new.source {
                    Some(source) => source_found(tx, r, source).await?,
                    None => SourceFound::Nothing,
                };
                let id = new_id(now);
                let draft = decide::create_action(&new, decide::ActionReferences { party, owner, source }, id, actor)?;
                insert_action(tx, &new, id, actor, now).await?;
                append(tx, r, draft, now).await?;
                action(tx, r, id).await
            })
        })
        .await
    }

    async fn update_action(
        &self, relationship_id: Uuid, action_id: Uuid, change: ActionChange, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Action> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_row(tx, "action", relationship_id, action_id, "action").await?;
                let before = action(tx, relationship_id, action_id).await?;
                let owner = member_or_none(tx, relationship_id, change.owner_id).await?;
                let draft = decide::update_action(&before, &change, owner, expected_version, actor)?;
                execute(
                    tx,
                    "UPDATE action SET status = $3, owner_id = $4, due_date = $5, version = version + 1, updated_at = $6 WHERE relationship_id = $1 AND action_id = $2",
                    &[&relationship_id, &action_id, &change.status.as_str(), &change.owner_id, &change.due_date, &now],
                )
                .await?;
                append(tx, relationship_id, draft, now).await?;
                action(tx, relationship_id, action_id).await
            })
        })
        .await
    }

    async fn action(&self, relationship_id: Uuid, action_id: Uuid) -> StoreResult<Action> {
        self.read(move |c| Box::pin(action(c, relationship_id, action_id))).await
    }

    async fn actions(
        &self, relationship_id: Uuid, filter: ActionFilter, after: Option<(Date, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<Action>> {
        self.read(move |c| Box::pin(actions(c, relationship_id, filter, after, limit))).await
    }
}
