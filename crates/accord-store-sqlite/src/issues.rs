//! The issue module on SQLite: ladder, issues, the sweep, notifications.

use super::*;
use accord_domain::NotificationKind;
use accord_domain::escalation::{Calendar, IssueStatus, Limit, Position, Step, bucket, due_step, early_step};
use std::collections::HashMap;

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

fn join_roles(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
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

fn insert_ladder(
    tx: &Connection,
    relationship_id: Uuid,
    version: i32,
    levels: &[LadderLevel],
    actor: Option<Uuid>,
    now: Timestamp,
) -> R<()> {
    for (i, level) in levels.iter().enumerate() {
        let (unit, amount) = limit_parts(level.limit);
        tx.prepare_cached(
            "INSERT INTO ladder_level (relationship_id, ladder_version, level, name, handler_roles, handler_members, limit_unit, limit_amount, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![relationship_id, version, i as i32, level.name, join_roles(&level.roles), join_ids(&level.members), unit, amount, actor, micros(now)])?;
    }
    Ok(())
}

/// The ladder issues are raised under now, stored as version 1 if it was still the default.
fn current_ladder(tx: &Connection, relationship_id: Uuid, now: Timestamp) -> R<Ladder> {
    let ladder = ladder(tx, relationship_id, None)?;
    if ladder.version > 0 {
        return Ok(ladder);
    }
    insert_ladder(tx, relationship_id, 1, &ladder.levels, None, now)?;
    Ok(Ladder { version: 1, created_at: Some(now), ..ladder })
}

pub(crate) fn save_ladder(
    tx: &Connection,
    relationship_id: Uuid,
    levels: &[LadderLevel],
    expected_version: i32,
    actor: Uuid,
    now: Timestamp,
) -> R<Ladder> {
    get_relationship(tx, relationship_id)?;
    let current = ladder(tx, relationship_id, None)?;
    if current.version != expected_version {
        return Err(Fail(StoreError::Stale { current: current.version as i64 }));
    }
    if levels.is_empty() {
        return Err(invalid("levels", "a ladder needs at least one level"));
    }
    let members: Vec<Uuid> = current_members(tx, relationship_id)?.iter().map(|m| m.user_id).collect();
    for (i, level) in levels.iter().enumerate() {
        if level.roles.is_empty() && level.members.is_empty() {
            return Err(invalid(&format!("levels[{i}].handlers"), "name the roles or the members who handle this level"));
        }
        if let Some(m) = level.members.iter().find(|m| !members.contains(m)) {
            return Err(invalid(&format!("levels[{i}].members"), format!("{m} is not a current member")));
        }
    }
    let version = current.version.max(0) + 1;
    insert_ladder(tx, relationship_id, version, levels, Some(actor), now)?;
    let summary = json!({"version": version, "levels": levels.iter().map(|l| json!({"name": l.name, "roles": join_roles(&l.roles), "members": l.members, "limit": l.limit.label()})).collect::<Vec<_>>()});
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::LadderSaved, "ladder", relationship_id, summary), now)?;
    ladder(tx, relationship_id, Some(version))
}

pub(crate) fn holidays(c: &Connection, relationship_id: Uuid) -> R<Vec<Holiday>> {
    let mut stmt =
        c.prepare_cached("SELECT party_id, holiday, name FROM party_holiday WHERE relationship_id = ?1 ORDER BY holiday, party_id")?;
    Ok(stmt
        .query_map([relationship_id], |r| Ok(Holiday { party_id: r.get(0)?, date: date(r, 1)?, name: r.get(2)? }))?
        .collect::<Result<_, _>>()?)
}

pub(crate) fn set_holidays(
    tx: &Connection,
    relationship_id: Uuid,
    party_id: Uuid,
    list: &[(Date, String)],
    actor: Uuid,
    now: Timestamp,
) -> R<()> {
    let found = tx
        .prepare_cached("SELECT 1 FROM party WHERE relationship_id = ?1 AND party_id = ?2")?
        .query_row([relationship_id, party_id], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| invalid("party", "is not a party to this relationship"))?;
    require_party_writer(tx, &current_members(tx, relationship_id)?, actor, party_id, false)?;
    tx.prepare_cached("DELETE FROM party_holiday WHERE relationship_id = ?1 AND party_id = ?2")?.execute([relationship_id, party_id])?;
    for (day, name) in list {
        tx.prepare_cached("INSERT OR REPLACE INTO party_holiday (relationship_id, party_id, holiday, name) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![relationship_id, party_id, day.to_string(), name])?;
    }
    let summary =
        json!({"party": party_id, "holidays": list.iter().map(|(d, n)| json!({"date": d.to_string(), "name": n})).collect::<Vec<_>>()});
    append(tx, relationship_id, Draft::new(Some(actor), EventKind::HolidaysSet, "party", party_id, summary), now)?;
    Ok(())
}

/// Who handles a level now: current members holding one of its roles, and its named members.
fn handlers(tx: &Connection, relationship_id: Uuid, level: &LadderLevel) -> R<Vec<CurrentMember>> {
    Ok(current_members(tx, relationship_id)?
        .into_iter()
        .filter(|m| level.roles.contains(&m.role) || level.members.contains(&m.user_id))
        .collect())
}

/// The calendar of a level: the relationship's zone, less the holidays of the parties handling it.
fn calendar(relationship: &Relationship, level: &LadderLevel, members: &[CurrentMember], holidays: &[Holiday]) -> Calendar {
    let parties: Vec<Uuid> =
        members.iter().filter(|m| level.roles.contains(&m.role) || level.members.contains(&m.user_id)).map(|m| m.party_id).collect();
    let days = holidays.iter().filter(|h| parties.contains(&h.party_id)).map(|h| h.date);
    Calendar::new(relationship.zone(), days)
}

/// Deadlines per level of one ladder, computed once per sweep or request.
struct Clocks {
    calendars: Vec<Calendar>,
    limits: Vec<Limit>,
}

impl Clocks {
    /// Reads the members and holidays once for every level.
    fn new(tx: &Connection, relationship: &Relationship, ladder: &Ladder) -> R<Clocks> {
        let (members, holidays) = (current_members(tx, relationship.id)?, holidays(tx, relationship.id)?);
        let calendars = ladder.levels.iter().map(|l| calendar(relationship, l, &members, &holidays)).collect();
        Ok(Clocks { calendars, limits: ladder.levels.iter().map(|l| l.limit).collect() })
    }

    fn deadline(&self, level: usize, start: Timestamp) -> Timestamp {
        self.calendars[level].deadline(start, self.limits[level])
    }

    /// The "one working day before" reminder, when there is time for one.
    fn reminder(&self, level: usize, start: Timestamp, deadline: Timestamp) -> Option<Timestamp> {
        let at = self.calendars[level].one_working_day_before(deadline);
        (at > start && matches!(self.limits[level], Limit::WorkingDays(n) if n > 1)).then_some(at)
    }
}

const ISSUE: &str = "SELECT i.issue_id, i.relationship_id, i.number, i.title, i.description, i.category, i.severity, i.raised_by, u.name, i.raising_party_id,
        i.ladder_version, i.level, i.level_started_at, i.deadline, i.status, i.resolved_at, i.version, i.created_at
    FROM issue i JOIN user_account u INDEXED BY user_account_names ON u.user_id = i.raised_by";

fn issue_row(r: &Row) -> rusqlite::Result<Issue> {
    Ok(Issue {
        id: r.get(0)?,
        relationship_id: r.get(1)?,
        number: r.get(2)?,
        title: r.get(3)?,
        description: r.get(4)?,
        category: r.get(5)?,
        severity: r.get(6)?,
        raised_by: r.get(7)?,
        raised_by_name: r.get(8)?,
        raising_party_id: r.get(9)?,
        ladder_version: r.get(10)?,
        level: r.get(11)?,
        level_started_at: ts(r.get(12)?),
        deadline: ts(r.get(13)?),
        status: text_as(r, 14, IssueStatus::parse)?,
        resolved_at: r.get::<_, Option<i64>>(15)?.map(ts),
        links: Vec::new(),
        version: r.get(16)?,
        created_at: ts(r.get(17)?),
    })
}

pub(crate) fn issue(c: &Connection, relationship_id: Uuid, issue_id: Uuid) -> R<Issue> {
    let mut issue = c
        .prepare_cached(&format!("{ISSUE} WHERE i.relationship_id = ?1 AND i.issue_id = ?2"))?
        .query_row([relationship_id, issue_id], issue_row)
        .optional()?
        .ok_or(not_found("issue"))?;
    let mut stmt = c.prepare_cached(
        "SELECT target_kind, target_id FROM issue_link WHERE relationship_id = ?1 AND issue_id = ?2 ORDER BY target_kind, target_id",
    )?;
    issue.links =
        stmt.query_map([relationship_id, issue_id], |r| Ok(IssueLink { kind: r.get(0)?, id: r.get(1)? }))?.collect::<Result<_, _>>()?;
    Ok(issue)
}

pub(crate) fn issues(
    c: &Connection,
    relationship_id: Uuid,
    filter: &IssueFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: u32,
) -> R<Vec<Issue>> {
    issue_list(c, ISSUE, relationship_id, filter, after, limit, issue_row)
}

/// What a line of the log shows: every column is in the log's indexes, so SQLite reads the lines
/// from the index alone (four B-tree searches a line fewer: the issue row and the raiser's account).
const LINE: &str =
    "SELECT i.issue_id, i.number, i.title, i.category, i.severity, i.raising_party_id, i.level, i.deadline, i.status, i.resolved_at
    FROM issue i";

pub(crate) fn issue_lines(
    c: &Connection,
    relationship_id: Uuid,
    filter: &IssueFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: u32,
) -> R<Vec<IssueLine>> {
    issue_list(c, LINE, relationship_id, filter, after, limit, |r| {
        Ok(IssueLine {
            id: r.get(0)?,
            number: r.get(1)?,
            title: r.get(2)?,
            category: r.get(3)?,
            severity: r.get(4)?,
            raising_party_id: r.get(5)?,
            level: r.get(6)?,
            deadline: ts(r.get(7)?),
            status: text_as(r, 8, IssueStatus::parse)?,
            resolved_at: r.get::<_, Option<i64>>(9)?.map(ts),
        })
    })
}

/// A page of issues in `filter`'s order, after the cursor, each read by `row` from `select`.
fn issue_list<T>(
    c: &Connection,
    select: &str,
    relationship_id: Uuid,
    filter: &IssueFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: u32,
    row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> R<Vec<T>> {
    let (status, key, index) = match filter.state.unwrap_or(IssueState::Live) {
        IssueState::Live => ("AND i.status IN ('open', 'resolution_proposed')", "i.deadline", "issue_live"),
        IssueState::Closed => ("AND i.status IN ('resolved', 'withdrawn')", "i.resolved_at", "issue_closed"),
        IssueState::All => ("", "i.deadline", "issue_all"),
    };
    // Without ANALYZE statistics SQLite walks the whole relationship through the primary key or
    // `issue_all` and filters row by row; the index that matches the order is the one to read.
    let from = select.replacen("FROM issue i", &format!("FROM issue i INDEXED BY {index}"), 1);
    let mut sql = format!("{from} WHERE i.relationship_id = ?1 {status} AND ({key}, i.issue_id) > (?2, ?3)");
    let (after_key, after_id) = after.map_or((i64::MIN, Uuid::nil()), |(t, id)| (micros(t), id));
    let mut values: Vec<rusqlite::types::Value> =
        vec![relationship_id.as_bytes().to_vec().into(), after_key.into(), after_id.as_bytes().to_vec().into()];
    if let Some(level) = filter.level {
        values.push((level as i64).into());
        sql.push_str(&format!(" AND i.level = ?{}", values.len()));
    }
    if let Some(party) = filter.party {
        values.push(party.as_bytes().to_vec().into());
        sql.push_str(&format!(" AND i.raising_party_id = ?{}", values.len()));
    }
    if let Some(category) = &filter.category {
        values.push(category.clone().into());
        sql.push_str(&format!(" AND i.category = ?{}", values.len()));
    }
    values.push((limit as i64).into());
    sql.push_str(&format!(" ORDER BY {key}, i.issue_id LIMIT ?{}", values.len()));
    let mut stmt = c.prepare_cached(&sql)?;
    Ok(stmt.query_map(rusqlite::params_from_iter(values), row)?.collect::<Result<_, _>>()?)
}

fn add_event(
    tx: &Connection,
    issue: &Issue,
    kind: &str,
    actor: Option<Uuid>,
    party: Option<Uuid>,
    body: &str,
    levels: (Option<i32>, Option<i32>),
    private: Option<Uuid>,
    now: Timestamp,
) -> R<Uuid> {
    let id = new_id(now);
    tx.prepare_cached(
        "INSERT INTO issue_event (relationship_id, issue_event_id, issue_id, kind, actor_id, party_id, body, from_level, to_level, private_party_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![issue.relationship_id, id, issue.id, kind, actor, party, body, levels.0, levels.1, private, micros(now)])?;
    Ok(id)
}

/// Moves the figures of one level: open issues, resolved ones and their resolution time.
fn count(tx: &Connection, relationship_id: Uuid, level: i32, open: i64, resolved_after_hours: Option<i64>) -> R<()> {
    let current: Option<(i64, i64, String)> = tx
        .prepare_cached("SELECT open_count, resolved_count, buckets FROM issue_level_stat WHERE relationship_id = ?1 AND level = ?2")?
        .query_row(params![relationship_id, level], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let (mut open_count, mut resolved, buckets) = current.unwrap_or((0, 0, String::new()));
    let mut buckets: Vec<i64> =
        serde_json::from_str(&buckets).unwrap_or_else(|_| vec![0; accord_domain::escalation::RESOLUTION_BUCKETS.len()]);
    open_count += open;
    if let Some(hours) = resolved_after_hours {
        resolved += 1;
        buckets[bucket(hours)] += 1;
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO issue_level_stat (relationship_id, level, open_count, resolved_count, buckets) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![relationship_id, level, open_count, resolved, serde_json::to_string(&buckets).unwrap_or_default()])?;
    Ok(())
}

/// Writes the inbox entry and the e-mail for each recipient, in the caller's transaction.
fn notify(
    tx: &Connection,
    relationship_id: Uuid,
    recipients: &[Uuid],
    kind: NotificationKind,
    title: &str,
    body: &str,
    link: &str,
    now: Timestamp,
) -> R<()> {
    let mut seen = Vec::new();
    for user_id in recipients {
        if seen.contains(user_id) {
            continue;
        }
        seen.push(*user_id);
        let (email, disabled): (String, Option<i64>) = tx
            .prepare_cached("SELECT email, disabled_at FROM user_account WHERE user_id = ?1")?
            .query_row([user_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or(not_found("user"))?;
        if disabled.is_some() {
            continue;
        }
        tx.prepare_cached("INSERT INTO notification (user_id, notification_id, relationship_id, kind, title, link, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
            .execute(params![user_id, new_id(now), relationship_id, kind.as_str(), title, link, micros(now)])?;
        tx.prepare_cached(
            "INSERT INTO outbox (outbox_id, relationship_id, user_id, email, subject, body, link, due_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        )?
        .execute(params![new_id(now), relationship_id, user_id, email, title, body, link, micros(now)])?;
    }
    Ok(())
}

fn link(issue: &Issue) -> String {
    format!("/relationships/{}/issues/{}", issue.relationship_id, issue.id)
}

fn level_name(ladder: &Ladder, level: i32) -> String {
    ladder.levels.get(level as usize).map_or_else(|| format!("level {}", level + 1), |l| l.name.clone())
}

/// Refuses a link to anything but an objective, KPI or obligation of this relationship.
fn require_link(c: &Connection, relationship_id: Uuid, link: &IssueLink) -> R<()> {
    let Some((table, key)) = link.target() else { return Err(StoreError::from(link.refused()).into()) };
    let found = c
        .prepare_cached(&format!("SELECT 1 FROM {table} WHERE relationship_id = ?1 AND {key} = ?2"))?
        .query_row([relationship_id, link.id], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| StoreError::from(link.refused()).into())
}

pub(crate) fn create_issue(tx: &Connection, new: &NewIssue, actor: Uuid, now: Timestamp) -> R<Issue> {
    let relationship = get_relationship(tx, new.relationship_id)?;
    let me = current_membership(tx, relationship.id, actor)?.ok_or_else(|| invalid("user", "is not a current member"))?;
    for link in &new.links {
        require_link(tx, relationship.id, link)?;
    }
    let ladder = current_ladder(tx, relationship.id, now)?;
    let clocks = Clocks::new(tx, &relationship, &ladder)?;
    let number: i64 = tx
        .prepare_cached("SELECT COALESCE(max(number), 0) + 1 FROM issue WHERE relationship_id = ?1")?
        .query_row([relationship.id], |r| r.get(0))?;
    let id = new_id(now);
    let deadline = clocks.deadline(0, now);
    tx.prepare_cached(
        "INSERT INTO issue (relationship_id, issue_id, number, title, description, category, severity, raised_by, raising_party_id, ladder_version, level,
            level_started_at, deadline, reminder_at, status, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12, ?13, 'open', 1, ?11, ?11)",
    )?
    .execute(params![
        relationship.id,
        id,
        number,
        new.title,
        new.description,
        new.category,
        new.severity,
        actor,
        me.party_id,
        ladder.version,
        micros(now),
        micros(deadline),
        clocks.reminder(0, now, deadline).map(micros)
    ])?;
    for l in &new.links {
        tx.prepare_cached("INSERT OR IGNORE INTO issue_link (relationship_id, issue_id, target_kind, target_id) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![relationship.id, id, l.kind, l.id])?;
    }
    let issue = issue(tx, relationship.id, id)?;
    add_event(tx, &issue, "raised", Some(actor), Some(me.party_id), &new.description, (None, Some(0)), None, now)?;
    count(tx, relationship.id, 0, 1, None)?;
    let summary = json!({"number": number, "title": new.title, "category": new.category, "severity": new.severity, "level": 0, "deadline": deadline.to_string(), "ladder_version": ladder.version});
    append(tx, relationship.id, Draft::new(Some(actor), EventKind::IssueRaised, "issue", id, summary), now)?;
    let recipients: Vec<Uuid> =
        handlers(tx, relationship.id, &ladder.levels[0])?.iter().map(|m| m.user_id).filter(|u| *u != actor).collect();
    let title = format!("New issue #{number} in {}: {}", relationship.name, new.title);
    let body = format!(
        "{} raised an issue for {} to handle by {}.\n\n{}",
        issue.raised_by_name,
        ladder.levels[0].name,
        relationship.deadline_text(deadline),
        new.description
    );
    notify(tx, relationship.id, &recipients, NotificationKind::IssueRaised, &title, &body, &link(&issue), now)?;
    Ok(issue)
}

/// One step up: the issue, its figures, its timeline, the audit trail and the new handlers.
fn climb(
    tx: &Connection,
    relationship: &Relationship,
    issue: &Issue,
    ladder: &Ladder,
    clocks: &Clocks,
    step: Step,
    reason: &str,
    actor: Option<Uuid>,
    now: Timestamp,
) -> R<()> {
    let reminder = clocks.reminder(step.level, step.started_at, step.deadline);
    tx.prepare_cached(
        "UPDATE issue SET level = ?3, level_started_at = ?4, deadline = ?5, reminder_at = ?6, version = version + 1, updated_at = ?7
         WHERE relationship_id = ?1 AND issue_id = ?2",
    )?
    .execute(params![
        relationship.id,
        issue.id,
        step.level as i32,
        micros(step.started_at),
        micros(step.deadline),
        reminder.map(micros),
        micros(now)
    ])?;
    count(tx, relationship.id, issue.level, -1, None)?;
    count(tx, relationship.id, step.level as i32, 1, None)?;
    let party = match actor {
        Some(a) => current_membership(tx, relationship.id, a)?.map(|m| m.party_id),
        None => None,
    };
    add_event(tx, issue, "escalated", actor, party, reason, (Some(issue.level), Some(step.level as i32)), None, now)?;
    let summary =
        json!({"number": issue.number, "from": issue.level, "to": step.level, "reason": reason, "deadline": step.deadline.to_string()});
    let draft = Draft::new(actor, EventKind::IssueEscalated, "issue", issue.id, summary);
    append(tx, relationship.id, draft, now)?;
    let to = level_name(ladder, step.level as i32);
    let mut recipients: Vec<Uuid> = handlers(tx, relationship.id, &ladder.levels[step.level])?.iter().map(|m| m.user_id).collect();
    recipients.push(issue.raised_by);
    let title = format!("Issue #{} escalated to {to}: {}", issue.number, issue.title);
    let body = format!("{reason}\n\n{to} now handles it, by {}.", relationship.deadline_text(step.deadline));
    notify(tx, relationship.id, &recipients, NotificationKind::IssueEscalated, &title, &body, &link(issue), now)
}

fn position(issue: &Issue) -> Position {
    Position { level: issue.level as usize, status: issue.status, level_started_at: issue.level_started_at, deadline: issue.deadline }
}

pub(crate) fn escalate_issue(
    tx: &Connection,
    relationship_id: Uuid,
    issue_id: Uuid,
    reason: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    let relationship = get_relationship(tx, relationship_id)?;
    let current = issue(tx, relationship_id, issue_id)?;
    let ladder = ladder(tx, relationship_id, Some(current.ladder_version))?;
    let clocks = Clocks::new(tx, &relationship, &ladder)?;
    let step = early_step(&position(&current), ladder.levels.len(), now, |l, s| clocks.deadline(l, s)).map_err(|m| invalid("level", m))?;
    climb(tx, &relationship, &current, &ladder, &clocks, step, &format!("Escalated early: {reason}"), Some(actor), now)?;
    issue(tx, relationship_id, issue_id)
}

pub(crate) fn sweep(tx: &Connection, now: Timestamp) -> R<SweepReport> {
    let mut report = SweepReport::default();
    let due: Vec<(Uuid, Uuid)> = tx
        .prepare_cached(
            "SELECT i.relationship_id, i.issue_id FROM issue i
             WHERE i.status IN ('open', 'resolution_proposed') AND i.deadline <= ?1
               AND EXISTS (SELECT 1 FROM ladder_level l WHERE l.relationship_id = i.relationship_id AND l.ladder_version = i.ladder_version AND l.level = i.level + 1)
             ORDER BY i.deadline LIMIT 5000",
        )?
        .query_map([micros(now)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut rules: HashMap<(Uuid, i32), (Relationship, Ladder, Clocks)> = HashMap::new();
    for (relationship_id, issue_id) in due {
        let mut current = issue(tx, relationship_id, issue_id)?;
        let key = (relationship_id, current.ladder_version);
        if let std::collections::hash_map::Entry::Vacant(slot) = rules.entry(key) {
            let relationship = get_relationship(tx, relationship_id)?;
            let ladder = ladder(tx, relationship_id, Some(current.ladder_version))?;
            let clocks = Clocks::new(tx, &relationship, &ladder)?;
            slot.insert((relationship, ladder, clocks));
        }
        let (relationship, ladder, clocks) = &rules[&key];
        while let Some(step) = due_step(&position(&current), ladder.levels.len(), now, |l, s| clocks.deadline(l, s)) {
            let reason = format!(
                "Not resolved at {} by the deadline, {}.",
                level_name(ladder, current.level),
                relationship.deadline_text(current.deadline)
            );
            climb(tx, relationship, &current, ladder, clocks, step, &reason, None, now)?;
            report.escalated += 1;
            current = issue(tx, relationship_id, issue_id)?;
        }
    }
    let reminders: Vec<(Uuid, Uuid)> = tx
        .prepare_cached(
            "SELECT relationship_id, issue_id FROM issue WHERE reminder_at IS NOT NULL AND reminder_at <= ?1 AND status IN ('open', 'resolution_proposed') LIMIT 5000",
        )?
        .query_map([micros(now)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (relationship_id, issue_id) in reminders {
        let current = issue(tx, relationship_id, issue_id)?;
        // A late sweep finds the deadline passed too (at the top, where nothing escalates it):
        // "due tomorrow" would be wrong, so the reminder is dropped unsent.
        if current.deadline > now {
            let relationship = get_relationship(tx, relationship_id)?;
            let ladder = ladder(tx, relationship_id, Some(current.ladder_version))?;
            let level = &ladder.levels[current.level as usize];
            let recipients: Vec<Uuid> = handlers(tx, relationship_id, level)?.iter().map(|m| m.user_id).collect();
            let title = format!("Issue #{} is due tomorrow at {}: {}", current.number, level.name, current.title);
            let body =
                format!("Unless it is resolved by {}, it escalates to the next level.", relationship.deadline_text(current.deadline));
            notify(tx, relationship_id, &recipients, NotificationKind::IssueReminder, &title, &body, &link(&current), now)?;
            report.reminded += 1;
        }
        tx.prepare_cached("UPDATE issue SET reminder_at = NULL WHERE relationship_id = ?1 AND issue_id = ?2")?
            .execute([relationship_id, issue_id])?;
    }
    Ok(report)
}

pub(crate) fn issue_timeline(c: &Connection, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> R<Vec<IssueEvent>> {
    let mut stmt = c.prepare_cached(
        "SELECT e.issue_event_id, e.kind, e.actor_id, COALESCE(u.name, ''), e.party_id, e.body, e.from_level, e.to_level, e.private_party_id, e.created_at
         FROM issue_event e INDEXED BY issue_event_by_issue LEFT JOIN user_account u INDEXED BY user_account_names ON u.user_id = e.actor_id
         WHERE e.relationship_id = ?1 AND e.issue_id = ?2 AND (e.private_party_id IS NULL OR e.private_party_id = ?3)
         ORDER BY e.created_at, e.issue_event_id",
    )?;
    let rows = stmt.query_map(params![relationship_id, issue_id, viewer_party], |r| {
        Ok(IssueEvent {
            id: r.get(0)?,
            kind: r.get(1)?,
            actor_id: r.get(2)?,
            actor_name: r.get(3)?,
            party_id: r.get(4)?,
            body: r.get(5)?,
            from_level: r.get(6)?,
            to_level: r.get(7)?,
            private_to: r.get(8)?,
            created_at: ts(r.get(9)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn pending_proposal(c: &Connection, relationship_id: Uuid, issue_id: Uuid) -> R<Option<Proposal>> {
    let proposal = c
        .prepare_cached("SELECT proposal_id, proposed_by, party_id, body, created_at FROM issue_proposal WHERE relationship_id = ?1 AND issue_id = ?2 AND status = 'pending'")?
        .query_row([relationship_id, issue_id], |r| {
            Ok(Proposal { id: r.get(0)?, proposed_by: r.get(1)?, party_id: r.get(2)?, body: r.get(3)?, accepted_by: Vec::new(), created_at: ts(r.get(4)?) })
        })
        .optional()?;
    let Some(mut proposal) = proposal else { return Ok(None) };
    let mut stmt =
        c.prepare_cached("SELECT party_id FROM issue_acceptance WHERE relationship_id = ?1 AND proposal_id = ?2 ORDER BY party_id")?;
    proposal.accepted_by = stmt.query_map([relationship_id, proposal.id], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(Some(proposal))
}

fn member_of(tx: &Connection, relationship_id: Uuid, actor: Uuid) -> R<Member> {
    current_membership(tx, relationship_id, actor)?.ok_or_else(|| invalid("user", "is not a current member"))
}

pub(crate) fn comment_issue(
    tx: &Connection,
    relationship_id: Uuid,
    issue_id: Uuid,
    body: &str,
    private: bool,
    actor: Uuid,
    now: Timestamp,
) -> R<IssueEvent> {
    let current = issue(tx, relationship_id, issue_id)?;
    let me = member_of(tx, relationship_id, actor)?;
    let kind = if private { "note" } else { "comment" };
    let id = add_event(tx, &current, kind, Some(actor), Some(me.party_id), body, (None, None), private.then_some(me.party_id), now)?;
    // Partners read the audit trail too: a private note's text stays out of it.
    let summary = json!({"number": current.number, "event": id, "private": private});
    let audit_kind = if private { EventKind::IssueNoted } else { EventKind::IssueCommented };
    append(tx, relationship_id, Draft::new(Some(actor), audit_kind, "issue", issue_id, summary), now)?;
    issue_timeline(tx, relationship_id, issue_id, Some(me.party_id))?.into_iter().find(|e| e.id == id).ok_or(not_found("issue event"))
}

fn require_live(issue: &Issue) -> R<()> {
    if issue.status.live() { Ok(()) } else { Err(invalid("status", format!("the issue is {}", issue.status.label().to_lowercase()))) }
}

fn set_status(tx: &Connection, issue: &Issue, status: IssueStatus, resolved: bool, now: Timestamp) -> R<()> {
    tx.prepare_cached(
        "UPDATE issue SET status = ?3, resolved_at = ?4, reminder_at = CASE WHEN ?5 THEN NULL ELSE reminder_at END, version = version + 1, updated_at = ?6
         WHERE relationship_id = ?1 AND issue_id = ?2",
    )?
    .execute(params![issue.relationship_id, issue.id, status.as_str(), resolved.then_some(micros(now)), !status.live(), micros(now)])?;
    Ok(())
}

pub(crate) fn propose_resolution(
    tx: &Connection,
    relationship_id: Uuid,
    issue_id: Uuid,
    body: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    let current = issue(tx, relationship_id, issue_id)?;
    require_live(&current)?;
    if pending_proposal(tx, relationship_id, issue_id)?.is_some() {
        return Err(invalid("proposal", "a proposed resolution is already waiting for an answer"));
    }
    let me = member_of(tx, relationship_id, actor)?;
    let id = new_id(now);
    tx.prepare_cached("INSERT INTO issue_proposal (relationship_id, proposal_id, issue_id, proposed_by, party_id, body, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)")?
        .execute(params![relationship_id, id, issue_id, actor, me.party_id, body, micros(now)])?;
    tx.prepare_cached(
        "INSERT INTO issue_acceptance (relationship_id, proposal_id, party_id, user_id, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![relationship_id, id, me.party_id, actor, micros(now)])?;
    set_status(tx, &current, IssueStatus::ResolutionProposed, false, now)?;
    add_event(tx, &current, "proposed", Some(actor), Some(me.party_id), body, (None, None), None, now)?;
    append(
        tx,
        relationship_id,
        Draft::new(Some(actor), EventKind::IssueResolutionProposed, "issue", issue_id, json!({"number": current.number, "proposal": id})),
        now,
    )?;
    let relationship = get_relationship(tx, relationship_id)?;
    let ladder = ladder(tx, relationship_id, Some(current.ladder_version))?;
    let mut recipients: Vec<Uuid> = handlers(tx, relationship_id, &ladder.levels[current.level as usize])?
        .iter()
        .filter(|m| m.party_id != me.party_id)
        .map(|m| m.user_id)
        .collect();
    recipients.push(current.raised_by);
    recipients.retain(|u| *u != actor);
    let title = format!("Resolution proposed for issue #{}: {}", current.number, current.title);
    let body =
        format!("{} proposes, for {}:\n\n{body}\n\nIt takes effect when every other party accepts it.", me.name, me.organisation_name);
    notify(tx, relationship.id, &recipients, NotificationKind::ResolutionProposed, &title, &body, &link(&current), now)?;
    issue(tx, relationship_id, issue_id)
}

pub(crate) fn respond_to_proposal(
    tx: &Connection,
    relationship_id: Uuid,
    issue_id: Uuid,
    accept: bool,
    reason: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    let current = issue(tx, relationship_id, issue_id)?;
    let proposal = pending_proposal(tx, relationship_id, issue_id)?
        .ok_or_else(|| invalid("proposal", "no proposed resolution is waiting for an answer"))?;
    let me = member_of(tx, relationship_id, actor)?;
    if proposal.accepted_by.contains(&me.party_id) {
        return Err(invalid("proposal", format!("{} has already accepted this proposal", me.organisation_name)));
    }
    let notify_to = vec![proposal.proposed_by, current.raised_by];
    if !accept {
        tx.prepare_cached("UPDATE issue_proposal SET status = 'rejected' WHERE relationship_id = ?1 AND proposal_id = ?2")?
            .execute([relationship_id, proposal.id])?;
        set_status(tx, &current, IssueStatus::Open, false, now)?;
        add_event(tx, &current, "rejected", Some(actor), Some(me.party_id), reason, (None, None), None, now)?;
        let summary = json!({"number": current.number, "proposal": proposal.id, "reason": reason});
        append(tx, relationship_id, Draft::new(Some(actor), EventKind::IssueResolutionRejected, "issue", issue_id, summary), now)?;
        let title = format!("Resolution rejected for issue #{}: {}", current.number, current.title);
        let body = format!(
            "{} rejected the proposed resolution for {}:\n\n{reason}\n\nThe issue is open again at the same level.",
            me.name, me.organisation_name
        );
        notify(tx, relationship_id, &notify_to, NotificationKind::ResolutionRejected, &title, &body, &link(&current), now)?;
        return issue(tx, relationship_id, issue_id);
    }
    tx.prepare_cached(
        "INSERT INTO issue_acceptance (relationship_id, proposal_id, party_id, user_id, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![relationship_id, proposal.id, me.party_id, actor, micros(now)])?;
    add_event(tx, &current, "accepted", Some(actor), Some(me.party_id), reason, (None, None), None, now)?;
    append(
        tx,
        relationship_id,
        Draft::new(
            Some(actor),
            EventKind::IssueResolutionAccepted,
            "issue",
            issue_id,
            json!({"number": current.number, "proposal": proposal.id}),
        ),
        now,
    )?;
    let parties: Vec<Uuid> = tx
        .prepare_cached("SELECT party_id FROM party WHERE relationship_id = ?1")?
        .query_map([relationship_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let accepted: Vec<Uuid> = proposal.accepted_by.iter().copied().chain([me.party_id]).collect();
    let resolved = parties.iter().all(|p| accepted.contains(p));
    if resolved {
        tx.prepare_cached("UPDATE issue_proposal SET status = 'accepted' WHERE relationship_id = ?1 AND proposal_id = ?2")?
            .execute([relationship_id, proposal.id])?;
        set_status(tx, &current, IssueStatus::Resolved, true, now)?;
        add_event(tx, &current, "resolved", None, None, &proposal.body, (Some(current.level), None), None, now)?;
        count(tx, relationship_id, current.level, -1, Some(now.duration_since(current.created_at).as_hours()))?;
        let summary = json!({"number": current.number, "level": current.level, "proposal": proposal.id});
        append(tx, relationship_id, Draft::new(None, EventKind::IssueResolved, "issue", issue_id, summary), now)?;
    }
    let title = if resolved {
        format!("Issue #{} resolved: {}", current.number, current.title)
    } else {
        format!("{} accepted the resolution of issue #{}", me.organisation_name, current.number)
    };
    let body = if resolved {
        format!("Every party accepted the resolution:\n\n{}", proposal.body)
    } else {
        format!("{} accepted for {}. Other parties still have to answer.", me.name, me.organisation_name)
    };
    notify(
        tx,
        relationship_id,
        &notify_to,
        if resolved { NotificationKind::IssueResolved } else { NotificationKind::ResolutionAccepted },
        &title,
        &body,
        &link(&current),
        now,
    )?;
    issue(tx, relationship_id, issue_id)
}

pub(crate) fn withdraw_issue(
    tx: &Connection,
    relationship_id: Uuid,
    issue_id: Uuid,
    reason: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    let current = issue(tx, relationship_id, issue_id)?;
    require_live(&current)?;
    let me = member_of(tx, relationship_id, actor)?;
    tx.prepare_cached(
        "UPDATE issue_proposal SET status = 'withdrawn' WHERE relationship_id = ?1 AND issue_id = ?2 AND status = 'pending'",
    )?
    .execute([relationship_id, issue_id])?;
    set_status(tx, &current, IssueStatus::Withdrawn, true, now)?;
    count(tx, relationship_id, current.level, -1, None)?;
    add_event(tx, &current, "withdrawn", Some(actor), Some(me.party_id), reason, (None, None), None, now)?;
    append(
        tx,
        relationship_id,
        Draft::new(Some(actor), EventKind::IssueWithdrawn, "issue", issue_id, json!({"number": current.number, "reason": reason})),
        now,
    )?;
    issue(tx, relationship_id, issue_id)
}

pub(crate) fn issue_stats(c: &Connection, relationship_id: Uuid) -> R<Vec<LevelStat>> {
    let mut stmt = c.prepare_cached(
        "SELECT level, open_count, resolved_count, buckets FROM issue_level_stat WHERE relationship_id = ?1 ORDER BY level",
    )?;
    let rows = stmt.query_map([relationship_id], |r| {
        let buckets: String = r.get(3)?;
        Ok(LevelStat {
            level: r.get(0)?,
            open: r.get(1)?,
            resolved: r.get(2)?,
            buckets: serde_json::from_str(&buckets).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn inbox(c: &Connection, user_id: Uuid, limit: u32) -> R<Vec<Notification>> {
    let mut stmt = c.prepare_cached(
        "SELECT notification_id, relationship_id, kind, title, link, created_at, read_at FROM notification WHERE user_id = ?1 ORDER BY notification_id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![user_id, limit], |r| {
        Ok(Notification {
            id: r.get(0)?,
            relationship_id: r.get(1)?,
            kind: r.get(2)?,
            title: r.get(3)?,
            link: r.get(4)?,
            created_at: ts(r.get(5)?),
            read_at: r.get::<_, Option<i64>>(6)?.map(ts),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn lease_mail(tx: &Connection, owner: &str, now: Timestamp, until: Timestamp, limit: u32) -> R<Vec<OutboxMail>> {
    let mut stmt = tx.prepare_cached(
        "UPDATE outbox SET leased_until = ?2, lease_owner = ?3
         WHERE outbox_id IN (SELECT outbox_id FROM outbox WHERE delivered_at IS NULL AND due_at <= ?1 AND (leased_until IS NULL OR leased_until <= ?1) ORDER BY due_at LIMIT ?4)
         RETURNING outbox_id, email, subject, body, link, attempts",
    )?;
    let rows = stmt.query_map(params![micros(now), micros(until), owner, limit], |r| {
        Ok(OutboxMail { id: r.get(0)?, to: r.get(1)?, subject: r.get(2)?, body: r.get(3)?, link: r.get(4)?, attempts: r.get(5)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
