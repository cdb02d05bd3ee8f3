//! Ladders (their versions and levels) and the parties' holidays that their working days skip.

use super::*;
use accord_store::oversight::VersionLevel;

pub(super) fn limit_parts(limit: Limit) -> (&'static str, i32) {
    let (unit, n) = match limit {
        Limit::Minutes(n) => ("minutes", n),
        Limit::Hours(n) => ("hours", n),
        Limit::WorkingDays(n) => ("working_days", n),
    };
    (unit, i32::try_from(n).unwrap_or(i32::MAX))
}

pub(super) fn limit_of(unit: &str, amount: i32) -> Limit {
    let amount = u32::try_from(amount).unwrap_or(0);
    match unit {
        "minutes" => Limit::Minutes(amount),
        "hours" => Limit::Hours(amount),
        _ => Limit::WorkingDays(amount),
    }
}

pub(super) fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

/// The levels of one ladder version, from `level_row`.
macro_rules! ladder_levels {
    () => {
        "SELECT l.name, l.handler_roles, l.handler_members, l.limit_unit, l.limit_amount, l.created_at FROM ladder_level l"
    };
}

/// The ladder of `version` (the latest when `None`); the default when none was ever saved.
pub(crate) async fn ladder(c: &impl GenericClient, relationship_id: Uuid, version: Option<i32>) -> R<Ladder> {
    let version: Option<i32> = match version {
        Some(v) => Some(v),
        None => query_opt(c, "SELECT max(ladder_version) FROM ladder_level WHERE relationship_id = $1", &[&relationship_id], |r| {
            Ok(r.try_get(0)?)
        })
        .await?
        .flatten(),
    };
    let Some(version) = version.filter(|v| *v > 0) else { return Ok(Ladder::default_ladder()) };
    let sql = concat!(ladder_levels!(), " WHERE l.relationship_id = $1 AND l.ladder_version = $2 ORDER BY l.level");
    ladder_of(version, query_all(c, sql, &[&relationship_id, &version], level_row).await?)
}

/// The levels of the ladder `issue_id` climbs (the version it was raised under), and the names
/// of the people they name as handlers: two statements that need only the issue's id, so they go
/// out beside the issue's own instead of one round trip after another.
pub(crate) async fn issue_ladder(
    c: &impl GenericClient, relationship_id: Uuid, issue_id: Uuid,
) -> R<(Vec<(LadderLevel, Timestamp)>, Vec<(Uuid, String)>)> {
    macro_rules! of_issue {
        () => {
            "l.relationship_id = $1 AND l.ladder_version = (SELECT i.ladder_version FROM issue i WHERE i.relationship_id = $1 AND i.issue_id = $2)"
        };
    }
    let levels = async {
        let sql = concat!(ladder_levels!(), " WHERE ", of_issue!(), " ORDER BY l.level");
        query_all(c, sql, &[&relationship_id, &issue_id], level_row).await
    };
    let handlers = async {
        let sql = concat!(
            "SELECT u.user_id, u.name FROM user_account u WHERE u.user_id IN (SELECT unnest(l.handler_members) FROM ladder_level l WHERE ",
            of_issue!(),
            ")"
        );
        query_all(c, sql, &[&relationship_id, &issue_id], |r| Ok((r.try_get(0)?, r.try_get(1)?))).await
    };
    tokio::try_join!(levels, handlers)
}

/// Every level of every saved version of the ladder, in one statement (a few rows a version).
pub(crate) async fn all_levels(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<VersionLevel>> {
    let sql = "SELECT l.name, l.handler_roles, l.handler_members, l.limit_unit, l.limit_amount, l.created_at, l.ladder_version, l.level
         FROM ladder_level l WHERE l.relationship_id = $1";
    query_all(c, sql, &[&relationship_id], |r| Ok(VersionLevel { version: r.try_get(6)?, level: r.try_get(7)?, rung: level_row(r)?.0 }))
        .await
}

pub(super) fn level_row(r: &Row) -> R<(LadderLevel, Timestamp)> {
    let roles: Vec<String> = r.try_get(1)?;
    let level = LadderLevel {
        name: r.try_get(0)?,
        roles: roles.iter().filter_map(|s| Role::parse(s).ok()).collect(),
        members: r.try_get(2)?,
        limit: limit_of(r.try_get(3)?, r.try_get(4)?),
    };
    Ok((level, r.try_get(5)?))
}

/// Ladder `version` from its levels (version 0: the default ladder, which has no rows).
pub(crate) fn ladder_of(version: i32, rows: Vec<(LadderLevel, Timestamp)>) -> R<Ladder> {
    if version <= 0 {
        return Ok(Ladder::default_ladder());
    }
    let created_at = rows.last().map(|(_, t)| *t);
    let levels: Vec<LadderLevel> = rows.into_iter().map(|(l, _)| l).collect();
    if levels.is_empty() {
        return Err(not_found("ladder version"));
    }
    Ok(Ladder { version, levels, created_at })
}

pub(super) async fn insert_ladder(
    tx: &Transaction<'_>, relationship_id: Uuid, version: i32, levels: &[LadderLevel], actor: Option<Uuid>, now: Timestamp,
) -> R<()> {
    for (i, level) in levels.iter().enumerate() {
        let (unit, amount) = limit_parts(level.limit);
        execute(
            tx,
            "INSERT INTO ladder_level (relationship_id, ladder_version, level, name, handler_roles, handler_members, limit_unit, limit_amount, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[&relationship_id, &version, &(i as i32), &level.name, &role_names(&level.roles), &level.members, &unit, &amount, &actor, &now],
        )
        .await?;
    }
    Ok(())
}

/// The ladder issues are raised under now, stored as version 1 if it was still the default.
/// The caller holds the chain's lock.
pub(super) async fn current_ladder(tx: &Transaction<'_>, relationship_id: Uuid, now: Timestamp) -> R<Ladder> {
    let ladder = ladder(tx, relationship_id, None).await?;
    if ladder.version > 0 {
        return Ok(ladder);
    }
    insert_ladder(tx, relationship_id, 1, &ladder.levels, None, now).await?;
    Ok(Ladder { version: 1, created_at: Some(now), ..ladder })
}

pub(crate) async fn holidays(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Holiday>> {
    query_all(
        c,
        "SELECT party_id, holiday, name FROM party_holiday WHERE relationship_id = $1 ORDER BY holiday, party_id",
        &[&relationship_id],
        |r| Ok(Holiday { party_id: r.try_get(0)?, date: r.try_get(1)?, name: r.try_get(2)? }),
    )
    .await
}
