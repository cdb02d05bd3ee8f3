//! Ladders (their versions and levels) and the parties' holidays that their working days skip.

use super::*;
use accord_store::oversight::VersionLevel;

fn limit_parts(limit: Limit) -> (&'static str, u32) {
    match limit {
        Limit::Minutes(n) => ("minutes", n),
        Limit::Hours(n) => ("hours", n),
        Limit::WorkingDays(n) => ("working_days", n),
    }
}

fn limit_of(unit: &str, amount: u32) -> Limit {
    match unit {
        "minutes" => Limit::Minutes(amount),
        "hours" => Limit::Hours(amount),
        _ => Limit::WorkingDays(amount),
    }
}

fn join_ids(ids: &[Uuid]) -> String {
    ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",")
}

/// The ladder of `version` (the latest when `None`); the default when none was ever saved.
pub(crate) fn ladder(c: &Connection, relationship_id: Uuid, version: Option<i32>) -> R<Ladder> {
    let version: Option<i32> = match version {
        Some(v) => Some(v),
        None => c
            .prepare_cached("SELECT max(ladder_version) FROM ladder_level WHERE relationship_id = ?1")?
            .query_row([relationship_id], |r| r.get(0))?,
    };
    let Some(version) = version.filter(|v| *v > 0) else { return Ok(Ladder::default_ladder()) };
    let mut stmt = c.prepare_cached(
        "SELECT name, handler_roles, handler_members, limit_unit, limit_amount, created_at FROM ladder_level
         WHERE relationship_id = ?1 AND ladder_version = ?2 ORDER BY level",
    )?;
    let mut created_at = None;
    let levels = stmt
        .query_map(params![relationship_id, version], |r| {
            let roles: String = r.get(1)?;
            let members: String = r.get(2)?;
            created_at = Some(ts(r.get(5)?));
            Ok(LadderLevel {
                name: r.get(0)?,
                roles: roles.split(',').filter_map(|s| Role::parse(s).ok()).collect(),
                members: members.split(',').filter_map(parse_id).collect(),
                limit: limit_of(&r.get::<_, String>(3)?, r.get(4)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if levels.is_empty() {
        return Err(not_found("ladder version"));
    }
    Ok(Ladder { version, levels, created_at })
}

/// Every level of every saved version of the ladder, in one statement (a few rows a version).
pub(crate) fn all_levels(c: &Connection, relationship_id: Uuid) -> R<Vec<VersionLevel>> {
    let mut stmt = c.prepare_cached(
        "SELECT ladder_version, level, name, handler_roles, handler_members, limit_unit, limit_amount FROM ladder_level WHERE relationship_id = ?1",
    )?;
    let rows = stmt.query_map([relationship_id], |r| {
        let roles: String = r.get(3)?;
        let members: String = r.get(4)?;
        Ok(VersionLevel {
            version: r.get(0)?,
            level: r.get(1)?,
            rung: LadderLevel {
                name: r.get(2)?,
                roles: roles.split(',').filter_map(|s| Role::parse(s).ok()).collect(),
                members: members.split(',').filter_map(parse_id).collect(),
                limit: limit_of(&r.get::<_, String>(5)?, r.get(6)?),
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn insert_ladder(
    tx: &Connection, relationship_id: Uuid, version: i32, levels: &[LadderLevel], actor: Option<Uuid>, now: Timestamp,
) -> R<()> {
    for (i, level) in levels.iter().enumerate() {
        let (unit, amount) = limit_parts(level.limit);
        tx.prepare_cached(
            "INSERT INTO ladder_level (relationship_id, ladder_version, level, name, handler_roles, handler_members, limit_unit, limit_amount, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![relationship_id, version, i as i32, level.name, decide::role_list(&level.roles), join_ids(&level.members), unit, amount, actor, micros(now)])?;
    }
    Ok(())
}

/// The ladder issues are raised under now, stored as version 1 if it was still the default.
pub(super) fn current_ladder(tx: &Connection, relationship_id: Uuid, now: Timestamp) -> R<Ladder> {
    let ladder = ladder(tx, relationship_id, None)?;
    if ladder.version > 0 {
        return Ok(ladder);
    }
    insert_ladder(tx, relationship_id, 1, &ladder.levels, None, now)?;
    Ok(Ladder { version: 1, created_at: Some(now), ..ladder })
}

pub(crate) fn holidays(c: &Connection, relationship_id: Uuid) -> R<Vec<Holiday>> {
    let mut stmt =
        c.prepare_cached("SELECT party_id, holiday, name FROM party_holiday WHERE relationship_id = ?1 ORDER BY holiday, party_id")?;
    Ok(stmt
        .query_map([relationship_id], |r| Ok(Holiday { party_id: r.get(0)?, date: date(r, 1)?, name: r.get(2)? }))?
        .collect::<Result<_, _>>()?)
}
