//! The action log on SQLite. Each write loads what its rules need, asks
//! `accord_store::actions::decide`, and applies the answer, in one IMMEDIATE transaction.

use super::*;
use crate::measures::{member_or_none, party_known};
use accord_store::actions::decide;

/// What a source's id names in the relationship, found where its kind says (`SourceKind::lookup`).
fn source_found(c: &Connection, relationship_id: Uuid, source: &ActionSource) -> R<SourceFound> {
    let Some(kind) = source.source_kind() else { return Ok(SourceFound::Nothing) };
    let column: Option<String> =
        c.prepare_cached(&kind.lookup().replace('$', "?"))?.query_row([relationship_id, source.id], |r| r.get(0)).optional()?;
    Ok(kind.found(column.as_deref()).map_err(|e| conversion(0, std::io::Error::other(e)))?)
}

/// An action with its owner's name, read from `$from` (the table, or one of its indexes); its
/// party's name comes after, from `with_party_names` (a relationship has a few parties, a page
/// dozens of actions: two lookups per row fewer).
macro_rules! action_from {
    ($from:literal) => {
        concat!(
            "SELECT a.action_id, a.relationship_id, a.title, a.description, a.owner_id, COALESCE(u.name, ''), a.party_id, '', a.due_date, a.status,
                a.source_kind, a.source_id, a.source_period, a.version, a.created_at
            FROM ",
            $from,
            " LEFT JOIN user_account u INDEXED BY user_account_names ON u.user_id = a.owner_id"
        )
    };
}

const ACTION: &str = action_from!("action a");

fn with_party_names(c: &Connection, relationship_id: Uuid, mut actions: Vec<Action>) -> R<Vec<Action>> {
    let parties = parties(c, relationship_id)?;
    for a in &mut actions {
        a.party_name = parties.iter().find(|p| p.id == a.party_id).map(|p| p.organisation_name.clone()).unwrap_or_default();
    }
    Ok(actions)
}

pub(crate) fn action(c: &Connection, relationship_id: Uuid, action_id: Uuid) -> R<Action> {
    let action = c
        .prepare_cached(&format!("{ACTION} WHERE a.relationship_id = ?1 AND a.action_id = ?2"))?
        .query_row([relationship_id, action_id], |r| action_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("action"))?;
    Ok(with_party_names(c, relationship_id, vec![action])?.remove(0))
}

pub(crate) fn actions(
    c: &Connection, relationship_id: Uuid, filter: ActionFilter, after: Option<(Date, Uuid)>, limit: u32,
) -> R<Vec<Action>> {
    // Each filter reads its own index, which carries every column (V9): left to choose, SQLite
    // took the index of all actions for the open ones too, and stepped over the closed ones.
    let (select, status) = match filter {
        ActionFilter::Open => (action_from!("action a INDEXED BY action_open_by_due"), "AND a.status IN ('open', 'in_progress')"),
        ActionFilter::Closed => (action_from!("action a INDEXED BY action_closed_by_due"), "AND a.status IN ('done', 'cancelled')"),
        ActionFilter::All => (action_from!("action a INDEXED BY action_by_due"), ""),
    };
    let (due, id) = after.map_or((String::new(), Uuid::nil()), |(d, id)| (d.to_string(), id));
    let mut stmt = c.prepare_cached(&format!(
        "{select} WHERE a.relationship_id = ?1 {status} AND (a.due_date, a.action_id) > (?2, ?3) ORDER BY a.due_date, a.action_id LIMIT ?4"
    ))?;
    let actions = stmt.query_map(params![relationship_id, due, id, limit], |r| action_row(&RowCells(r)))?.collect::<Result<_, _>>()?;
    with_party_names(c, relationship_id, actions)
}

/// One party's open actions by due date (overdue first), at most `limit`, and how many it has
/// open (`action_open_by_party`, V18).
pub(crate) fn party_open_actions(c: &Connection, relationship_id: Uuid, party_id: Uuid, limit: u32) -> R<(Vec<Action>, i64)> {
    let open = "WHERE a.relationship_id = ?1 AND a.party_id = ?2 AND a.status IN ('open', 'in_progress')";
    let mut stmt = c.prepare_cached(&format!(
        "{} {open} ORDER BY a.due_date, a.action_id LIMIT ?3",
        action_from!("action a INDEXED BY action_open_by_party")
    ))?;
    let actions = stmt.query_map(params![relationship_id, party_id, limit], |r| action_row(&RowCells(r)))?.collect::<Result<_, _>>()?;
    let count = c
        .prepare_cached(&format!("SELECT count(*) FROM action a INDEXED BY action_open_by_party {open}"))?
        .query_row(params![relationship_id, party_id], |r| r.get(0))?;
    Ok((with_party_names(c, relationship_id, actions)?, count))
}

/// Writes a new action, decided already (by the action log or by a module raising it).
pub(crate) fn insert_action(tx: &Connection, new: &NewAction, id: Uuid, actor: Uuid, now: Timestamp) -> R<()> {
    let (kind, source_id, period) = match &new.source {
        Some(s) => (Some(s.kind.as_str()), Some(s.id), s.period.map(|p| p.to_string())),
        None => (None, None, None),
    };
    tx.prepare_cached(
        "INSERT INTO action (relationship_id, action_id, title, description, owner_id, party_id, due_date, status, source_kind, source_id, source_period, created_by, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?9, ?10, ?11, 1, ?12, ?12)",
    )?
    .execute(params![new.relationship_id, id, new.title, new.description, new.owner_id, new.party_id, new.due_date.to_string(), kind, source_id, period, actor, micros(now)])?;
    Ok(())
}

#[async_trait]
impl ActionStore for SqliteStore {
    async fn create_action(&self, new: NewAction, actor: Uuid, now: Timestamp) -> StoreResult<Action> {
        self.write(move |tx| {
            let r = new.relationship_id;
            get_relationship(tx, r)?;
            let found = decide::ActionReferences {
                party: party_known(tx, r, new.party_id)?,
                owner: member_or_none(tx, r, new.owner_id)?,
                source: new.source.as_ref().map_or(Ok(SourceFound::Nothing), |source| source_found(tx, r, source))?,
            };
            let id = new_id(now);
            let draft = decide::create_action(&new, found, id, actor)?;
            insert_action(tx, &new, id, actor, now)?;
            append(tx, r, draft, now)?;
            action(tx, r, id)
        })
        .await
    }

    async fn update_action(
        &self, relationship_id: Uuid, action_id: Uuid, change: ActionChange, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Action> {
        self.write(move |tx| {
            let before = action(tx, relationship_id, action_id)?;
            let owner = member_or_none(tx, relationship_id, change.owner_id)?;
            let draft = decide::update_action(&before, &change, owner, expected_version, actor)?;
            tx.prepare_cached(
                "UPDATE action SET status = ?3, owner_id = ?4, due_date = ?5, version = version + 1, updated_at = ?6 WHERE relationship_id = ?1 AND action_id = ?2",
            )?
            .execute(params![relationship_id, action_id, change.status.as_str(), change.owner_id, change.due_date.to_string(), micros(now)])?;
            append(tx, relationship_id, draft, now)?;
            action(tx, relationship_id, action_id)
        })
        .await
    }

    async fn action(&self, relationship_id: Uuid, action_id: Uuid) -> StoreResult<Action> {
        self.run(move |c| action(c, relationship_id, action_id)).await
    }

    async fn actions(
        &self, relationship_id: Uuid, filter: ActionFilter, after: Option<(Date, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<Action>> {
        self.run(move |c| actions(c, relationship_id, filter, after, limit)).await
    }
}
