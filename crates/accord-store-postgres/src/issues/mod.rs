//! The issue module on PostgreSQL: ladder, issues, the sweep, notifications.
//!
//! How writers are kept apart (SQLite's IMMEDIATE transactions need none of this):
//! - a step of one issue (escalation, proposal, answer, withdrawal) locks the issue's row
//!   (`FOR NO KEY UPDATE`) before it reads it, then the chain: of two answers at once, the second
//!   waits and sees the first; a comment only takes the chain;
//! - raising an issue locks the chain before it numbers the issue (and before it stores the
//!   default ladder as version 1), as do saving the ladder and setting holidays;
//! - the sweep takes due issues in batches of its own transactions, `FOR NO KEY UPDATE SKIP
//!   LOCKED`: a second server sweeping at the same time takes other issues, never the same one,
//!   and an issue it takes after the first committed is no longer due. It then locks the chains
//!   in relationship order, so that two sweepers never wait for each other in a circle;
//! - the figures are only written under the chain's lock, and added to in place (`ON CONFLICT DO
//!   UPDATE SET open_count = issue_level_stat.open_count + ...`), never read and written back;
//! - e-mails are leased `FOR UPDATE SKIP LOCKED`: each goes to one worker.
//!
//! Row locks are always taken before the chain's, as in the measures module.

use super::*;
use accord_domain::NotificationKind;
use accord_domain::escalation::{Calendar, IssueStatus, Limit, Position, RESOLUTION_BUCKETS, Step, bucket, due_step, early_step};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

mod ladder;
mod mail;

pub(crate) use ladder::*;
pub(crate) use mail::*;

/// Issues one sweep transaction escalates or reminds at most.
const SWEEP_BATCH: i64 = 100;
/// Issues one sweep looks at at most (SQLite's sweep takes as many in one go).
pub(crate) const SWEEP_MAX: usize = 5_000;

/// Deadlines per level of one ladder, computed once per sweep batch or request.
struct Clocks {
    calendars: Vec<Calendar>,
    limits: Vec<Limit>,
}

impl Clocks {
    async fn new(tx: &Transaction<'_>, relationship: &Relationship, ladder: &Ladder) -> R<Clocks> {
        let mut calendars = Vec::with_capacity(ladder.levels.len());
        for level in &ladder.levels {
            calendars.push(calendar(tx, relationship, level).await?);
        }
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
    FROM issue i JOIN user_account u ON u.user_id = i.raised_by";

fn issue_row(r: &Row) -> R<Issue> {
    Ok(Issue {
        id: r.try_get(0)?,
        relationship_id: r.try_get(1)?,
        number: r.try_get(2)?,
        title: r.try_get(3)?,
        description: r.try_get(4)?,
        category: r.try_get(5)?,
        severity: r.try_get(6)?,
        raised_by: r.try_get(7)?,
        raised_by_name: r.try_get(8)?,
        raising_party_id: r.try_get(9)?,
        ladder_version: r.try_get(10)?,
        level: r.try_get(11)?,
        level_started_at: r.try_get(12)?,
        deadline: r.try_get(13)?,
        status: text_as(r, 14, IssueStatus::parse)?,
        resolved_at: r.try_get(15)?,
        links: Vec::new(),
        version: r.try_get(16)?,
        created_at: r.try_get(17)?,
    })
}

pub(crate) async fn issue(c: &impl GenericClient, relationship_id: Uuid, issue_id: Uuid) -> R<Issue> {
    let sql = format!("{ISSUE} WHERE i.relationship_id = $1 AND i.issue_id = $2");
    let mut issue = query_opt(c, &sql, &[&relationship_id, &issue_id], issue_row).await?.ok_or(not_found("issue"))?;
    issue.links = query_all(
        c,
        "SELECT target_kind, target_id FROM issue_link WHERE relationship_id = $1 AND issue_id = $2 ORDER BY target_kind, target_id",
        &[&relationship_id, &issue_id],
        |r| Ok(IssueLink { kind: r.try_get(0)?, id: r.try_get(1)? }),
    )
    .await?;
    Ok(issue)
}

/// Locks the issue's row until the transaction ends; NotFound when the relationship has no such issue.
async fn lock_issue(tx: &Transaction<'_>, relationship_id: Uuid, issue_id: Uuid) -> R<()> {
    let sql = "SELECT 1 FROM issue WHERE relationship_id = $1 AND issue_id = $2 FOR NO KEY UPDATE";
    query_opt(tx, sql, &[&relationship_id, &issue_id], |_| Ok(())).await?.ok_or(not_found("issue"))
}

pub(crate) async fn issues(
    c: &impl GenericClient,
    relationship_id: Uuid,
    filter: &IssueFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: u32,
) -> R<Vec<Issue>> {
    issue_list(c, ISSUE, relationship_id, filter, after, limit, issue_row).await
}

/// What a line of the log shows: every column is in the log's indexes, so PostgreSQL can read
/// the lines with an index-only scan, without the issue rows or the raisers' accounts.
const LINE: &str =
    "SELECT i.issue_id, i.number, i.title, i.category, i.severity, i.raising_party_id, i.level, i.deadline, i.status, i.resolved_at
    FROM issue i";

pub(crate) async fn issue_lines(
    c: &impl GenericClient,
    relationship_id: Uuid,
    filter: &IssueFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: u32,
) -> R<Vec<IssueLine>> {
    issue_list(c, LINE, relationship_id, filter, after, limit, |r| {
        Ok(IssueLine {
            id: r.try_get(0)?,
            number: r.try_get(1)?,
            title: r.try_get(2)?,
            category: r.try_get(3)?,
            severity: r.try_get(4)?,
            raising_party_id: r.try_get(5)?,
            level: r.try_get(6)?,
            deadline: r.try_get(7)?,
            status: text_as(r, 8, IssueStatus::parse)?,
            resolved_at: r.try_get(9)?,
        })
    })
    .await
}

/// A page of issues in `filter`'s order, after the cursor, each read by `row` from `select`.
async fn issue_list<T>(
    c: &impl GenericClient,
    select: &str,
    relationship_id: Uuid,
    filter: &IssueFilter,
    after: Option<(Timestamp, Uuid)>,
    limit: u32,
    row: fn(&Row) -> R<T>,
) -> R<Vec<T>> {
    let (status, key) = match filter.state.unwrap_or(IssueState::Live) {
        IssueState::Live => ("AND i.status IN ('open', 'resolution_proposed')", "i.deadline"),
        IssueState::Closed => ("AND i.status IN ('resolved', 'withdrawn')", "i.resolved_at"),
        IssueState::All => ("", "i.deadline"),
    };
    // Only the conditions that apply, so that each shape of the query gets a plan of its own:
    // with `$n IS NULL OR ...` a cached generic plan could not seek to the cursor, and a deep
    // page read every row before it.
    let after = after.map(|(t, id)| (micros(t), id));
    let mut sql = format!("{select} WHERE i.relationship_id = $1 {status}");
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&relationship_id];
    if let Some((key_value, id)) = &after {
        params.push(key_value);
        params.push(id);
        sql.push_str(&format!(" AND ({key}, i.issue_id) > ($2, $3)"));
    }
    let filters: [(&str, Option<&(dyn ToSql + Sync)>); 3] = [
        ("i.level", filter.level.as_ref().map(|v| v as _)),
        ("i.raising_party_id", filter.party.as_ref().map(|v| v as _)),
        ("i.category", filter.category.as_ref().map(|v| v as _)),
    ];
    for (column, value) in filters {
        if let Some(value) = value {
            params.push(value);
            sql.push_str(&format!(" AND {column} = ${}", params.len()));
        }
    }
    let limit = i64::from(limit);
    params.push(&limit);
    sql.push_str(&format!(" ORDER BY {key}, i.issue_id LIMIT ${}", params.len()));
    query_all(c, &sql, &params, row).await
}

async fn add_event(
    tx: &Transaction<'_>,
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
    execute(
        tx,
        "INSERT INTO issue_event (relationship_id, issue_event_id, issue_id, kind, actor_id, party_id, body, from_level, to_level, private_party_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[&issue.relationship_id, &id, &issue.id, &kind, &actor, &party, &body, &levels.0, &levels.1, &private, &now],
    )
    .await?;
    Ok(id)
}

/// Moves the figures of one level: open issues, resolved ones and their resolution time. Adds in
/// place, element by element for the buckets. The caller holds the chain's lock.
async fn count(tx: &Transaction<'_>, relationship_id: Uuid, level: i32, open: i64, resolved_after_hours: Option<i64>) -> R<()> {
    let mut buckets = vec![0_i64; RESOLUTION_BUCKETS.len()];
    let resolved = match resolved_after_hours {
        Some(hours) => {
            buckets[bucket(hours)] = 1;
            1_i64
        }
        None => 0,
    };
    execute(
        tx,
        "INSERT INTO issue_level_stat (relationship_id, level, open_count, resolved_count, buckets) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (relationship_id, level) DO UPDATE SET
            open_count = issue_level_stat.open_count + EXCLUDED.open_count,
            resolved_count = issue_level_stat.resolved_count + EXCLUDED.resolved_count,
            buckets = ARRAY(SELECT COALESCE(a, 0) + COALESCE(b, 0)
                FROM unnest(issue_level_stat.buckets, EXCLUDED.buckets) WITH ORDINALITY AS t(a, b, n) ORDER BY n)",
        &[&relationship_id, &level, &open, &resolved, &buckets],
    )
    .await?;
    Ok(())
}

/// Writes the inbox entry and the e-mail for each recipient, in the caller's transaction.
async fn notify(
    tx: &Transaction<'_>,
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
        let user = get_user(tx, *user_id).await?;
        if user.disabled {
            continue;
        }
        execute(
            tx,
            "INSERT INTO notification (user_id, notification_id, relationship_id, kind, title, link, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[user_id, &new_id(now), &relationship_id, &kind.as_str(), &title, &link, &now],
        )
        .await?;
        execute(
            tx,
            "INSERT INTO outbox (outbox_id, relationship_id, user_id, email, subject, body, link, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            &[&new_id(now), &relationship_id, user_id, &user.email, &title, &body, &link, &now],
        )
        .await?;
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
async fn require_link(tx: &Transaction<'_>, relationship_id: Uuid, link: &IssueLink) -> R<()> {
    let Some((table, key)) = link.target() else { return Err(StoreError::from(link.refused()).into()) };
    let sql = format!("SELECT 1 FROM {table} WHERE relationship_id = $1 AND {key} = $2");
    let found = query_opt(tx, &sql, &[&relationship_id, &link.id], |_| Ok(())).await?;
    found.ok_or_else(|| StoreError::from(link.refused()).into())
}

pub(crate) async fn create_issue(tx: &Transaction<'_>, new: &NewIssue, actor: Uuid, now: Timestamp) -> R<Issue> {
    let relationship = get_relationship(tx, new.relationship_id).await?;
    // Numbers are max + 1: two issues raised at once take turns here.
    lock_chain(tx, relationship.id).await?;
    let me = current_membership(tx, relationship.id, actor).await?.ok_or_else(|| invalid("user", "is not a current member"))?;
    for link in &new.links {
        require_link(tx, relationship.id, link).await?;
    }
    let ladder = current_ladder(tx, relationship.id, now).await?;
    let clocks = Clocks::new(tx, &relationship, &ladder).await?;
    let number: i64 =
        query_opt(tx, "SELECT COALESCE(max(number), 0) + 1 FROM issue WHERE relationship_id = $1", &[&relationship.id], |r| {
            Ok(r.try_get(0)?)
        })
        .await?
        .unwrap_or(1);
    let id = new_id(now);
    let deadline = clocks.deadline(0, now);
    execute(
        tx,
        "INSERT INTO issue (relationship_id, issue_id, number, title, description, category, severity, raised_by, raising_party_id, ladder_version, level,
            level_started_at, deadline, reminder_at, status, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, 'open', 1, $11, $11)",
        &[
            &relationship.id,
            &id,
            &number,
            &new.title,
            &new.description,
            &new.category,
            &new.severity,
            &actor,
            &me.party_id,
            &ladder.version,
            &now,
            &deadline,
            &clocks.reminder(0, now, deadline),
        ],
    )
    .await?;
    for l in &new.links {
        execute(
            tx,
            "INSERT INTO issue_link (relationship_id, issue_id, target_kind, target_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[&relationship.id, &id, &l.kind, &l.id],
        )
        .await?;
    }
    let issue = issue(tx, relationship.id, id).await?;
    add_event(tx, &issue, "raised", Some(actor), Some(me.party_id), &new.description, (None, Some(0)), None, now).await?;
    count(tx, relationship.id, 0, 1, None).await?;
    let summary = json!({"number": number, "title": new.title, "category": new.category, "severity": new.severity, "level": 0, "deadline": deadline.to_string(), "ladder_version": ladder.version});
    append(tx, relationship.id, Draft::new(Some(actor), EventKind::IssueRaised, "issue", id, summary), now).await?;
    let recipients: Vec<Uuid> =
        handlers(tx, relationship.id, &ladder.levels[0]).await?.iter().map(|m| m.user_id).filter(|u| *u != actor).collect();
    let title = format!("New issue #{number} in {}: {}", relationship.name, new.title);
    let body = format!(
        "{} raised an issue for {} to handle by {}.\n\n{}",
        issue.raised_by_name,
        ladder.levels[0].name,
        relationship.deadline_text(deadline),
        new.description
    );
    notify(tx, relationship.id, &recipients, NotificationKind::IssueRaised, &title, &body, &link(&issue), now).await?;
    Ok(issue)
}

/// One step up: the issue, its figures, its timeline, the audit trail and the new handlers. The
/// caller holds the issue's lock.
async fn climb(
    tx: &Transaction<'_>,
    relationship: &Relationship,
    issue: &Issue,
    ladder: &Ladder,
    clocks: &Clocks,
    step: Step,
    reason: &str,
    actor: Option<Uuid>,
    now: Timestamp,
) -> R<()> {
    lock_chain(tx, relationship.id).await?;
    let reminder = clocks.reminder(step.level, step.started_at, step.deadline);
    execute(
        tx,
        "UPDATE issue SET level = $3, level_started_at = $4, deadline = $5, reminder_at = $6, version = version + 1, updated_at = $7
         WHERE relationship_id = $1 AND issue_id = $2",
        &[&relationship.id, &issue.id, &(step.level as i32), &step.started_at, &step.deadline, &reminder, &now],
    )
    .await?;
    count(tx, relationship.id, issue.level, -1, None).await?;
    count(tx, relationship.id, step.level as i32, 1, None).await?;
    let party = match actor {
        Some(a) => current_membership(tx, relationship.id, a).await?.map(|m| m.party_id),
        None => None,
    };
    add_event(tx, issue, "escalated", actor, party, reason, (Some(issue.level), Some(step.level as i32)), None, now).await?;
    let summary =
        json!({"number": issue.number, "from": issue.level, "to": step.level, "reason": reason, "deadline": step.deadline.to_string()});
    let draft = Draft::new(actor, EventKind::IssueEscalated, "issue", issue.id, summary);
    append(tx, relationship.id, draft, now).await?;
    let to = level_name(ladder, step.level as i32);
    let mut recipients: Vec<Uuid> = handlers(tx, relationship.id, &ladder.levels[step.level]).await?.iter().map(|m| m.user_id).collect();
    recipients.push(issue.raised_by);
    let title = format!("Issue #{} escalated to {to}: {}", issue.number, issue.title);
    let body = format!("{reason}\n\n{to} now handles it, by {}.", relationship.deadline_text(step.deadline));
    notify(tx, relationship.id, &recipients, NotificationKind::IssueEscalated, &title, &body, &link(issue), now).await
}

fn position(issue: &Issue) -> Position {
    Position { level: issue.level as usize, status: issue.status, level_started_at: issue.level_started_at, deadline: issue.deadline }
}

pub(crate) async fn escalate_issue(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    issue_id: Uuid,
    reason: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    let relationship = get_relationship(tx, relationship_id).await?;
    lock_issue(tx, relationship_id, issue_id).await?;
    let current = issue(tx, relationship_id, issue_id).await?;
    let ladder = ladder(tx, relationship_id, Some(current.ladder_version)).await?;
    let clocks = Clocks::new(tx, &relationship, &ladder).await?;
    let step = early_step(&position(&current), ladder.levels.len(), now, |l, s| clocks.deadline(l, s)).map_err(|m| invalid("level", m))?;
    climb(tx, &relationship, &current, &ladder, &clocks, step, &format!("Escalated early: {reason}"), Some(actor), now).await?;
    issue(tx, relationship_id, issue_id).await
}

/// One batch of the sweep's escalations, in the caller's transaction: up to `SWEEP_BATCH` due
/// issues that no other sweeper holds, except those in `skip` (already looked at by this sweep).
/// The steps taken and the issues looked at.
pub(crate) async fn escalate_due(tx: &Transaction<'_>, now: Timestamp, skip: &[Uuid]) -> R<(u64, Vec<Uuid>)> {
    let mut due: Vec<(Uuid, Uuid)> = query_all(
        tx,
        "SELECT i.relationship_id, i.issue_id FROM issue i
         WHERE i.status IN ('open', 'resolution_proposed') AND i.deadline <= $1 AND i.issue_id <> ALL($2)
           AND EXISTS (SELECT 1 FROM ladder_level l WHERE l.relationship_id = i.relationship_id AND l.ladder_version = i.ladder_version AND l.level = i.level + 1)
         ORDER BY i.deadline LIMIT $3
         FOR NO KEY UPDATE OF i SKIP LOCKED",
        &[&now, &skip, &SWEEP_BATCH],
        |r| Ok((r.try_get(0)?, r.try_get(1)?)),
    )
    .await?;
    // Chains in one order for every sweeper (climb locks each before it writes).
    due.sort();
    let mut escalated = 0;
    let mut rules: HashMap<(Uuid, i32), (Relationship, Ladder, Clocks)> = HashMap::new();
    for (relationship_id, issue_id) in &due {
        let (relationship_id, issue_id) = (*relationship_id, *issue_id);
        // Read again under the lock: what the sweeper sees is what it changes.
        let mut current = issue(tx, relationship_id, issue_id).await?;
        let key = (relationship_id, current.ladder_version);
        if let Entry::Vacant(slot) = rules.entry(key) {
            let relationship = get_relationship(tx, relationship_id).await?;
            let ladder = ladder(tx, relationship_id, Some(current.ladder_version)).await?;
            let clocks = Clocks::new(tx, &relationship, &ladder).await?;
            slot.insert((relationship, ladder, clocks));
        }
        let (relationship, ladder, clocks) = &rules[&key];
        while let Some(step) = due_step(&position(&current), ladder.levels.len(), now, |l, s| clocks.deadline(l, s)) {
            let reason = format!(
                "Not resolved at {} by the deadline, {}.",
                level_name(ladder, current.level),
                relationship.deadline_text(current.deadline)
            );
            climb(tx, relationship, &current, ladder, clocks, step, &reason, None, now).await?;
            escalated += 1;
            current = issue(tx, relationship_id, issue_id).await?;
        }
    }
    Ok((escalated, due.into_iter().map(|(_, id)| id).collect()))
}

/// One batch of the sweep's reminders, in the caller's transaction: the reminders sent, and
/// whether there may be more. A reminder whose deadline has passed (a late sweep) is dropped
/// unsent: the escalation says more.
pub(crate) async fn remind_due(tx: &Transaction<'_>, now: Timestamp) -> R<(u64, bool)> {
    let due: Vec<(Uuid, Uuid)> = query_all(
        tx,
        "SELECT relationship_id, issue_id FROM issue
         WHERE reminder_at IS NOT NULL AND reminder_at <= $1 AND status IN ('open', 'resolution_proposed')
         ORDER BY reminder_at LIMIT $2
         FOR NO KEY UPDATE SKIP LOCKED",
        &[&now, &SWEEP_BATCH],
        |r| Ok((r.try_get(0)?, r.try_get(1)?)),
    )
    .await?;
    let mut reminded = 0;
    for (relationship_id, issue_id) in &due {
        let current = issue(tx, *relationship_id, *issue_id).await?;
        if current.deadline > now {
            let relationship = get_relationship(tx, *relationship_id).await?;
            let ladder = ladder(tx, *relationship_id, Some(current.ladder_version)).await?;
            let level = &ladder.levels[current.level as usize];
            let recipients: Vec<Uuid> = handlers(tx, *relationship_id, level).await?.iter().map(|m| m.user_id).collect();
            let title = format!("Issue #{} is due tomorrow at {}: {}", current.number, level.name, current.title);
            let body =
                format!("Unless it is resolved by {}, it escalates to the next level.", relationship.deadline_text(current.deadline));
            notify(tx, *relationship_id, &recipients, NotificationKind::IssueReminder, &title, &body, &link(&current), now).await?;
            reminded += 1;
        }
        execute(tx, "UPDATE issue SET reminder_at = NULL WHERE relationship_id = $1 AND issue_id = $2", &[relationship_id, issue_id])
            .await?;
    }
    Ok((reminded, due.len() as i64 == SWEEP_BATCH))
}

pub(crate) async fn issue_timeline(
    c: &impl GenericClient,
    relationship_id: Uuid,
    issue_id: Uuid,
    viewer_party: Option<Uuid>,
) -> R<Vec<IssueEvent>> {
    query_all(
        c,
        "SELECT e.issue_event_id, e.kind, e.actor_id, COALESCE(u.name, ''), e.party_id, e.body, e.from_level, e.to_level, e.private_party_id, e.created_at
         FROM issue_event e LEFT JOIN user_account u ON u.user_id = e.actor_id
         WHERE e.relationship_id = $1 AND e.issue_id = $2 AND (e.private_party_id IS NULL OR e.private_party_id = $3)
         ORDER BY e.issue_event_id",
        &[&relationship_id, &issue_id, &viewer_party],
        |r| {
            Ok(IssueEvent {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                actor_id: r.try_get(2)?,
                actor_name: r.try_get(3)?,
                party_id: r.try_get(4)?,
                body: r.try_get(5)?,
                from_level: r.try_get(6)?,
                to_level: r.try_get(7)?,
                private_to: r.try_get(8)?,
                created_at: r.try_get(9)?,
            })
        },
    )
    .await
}

pub(crate) async fn pending_proposal(c: &impl GenericClient, relationship_id: Uuid, issue_id: Uuid) -> R<Option<Proposal>> {
    let proposal = query_opt(
        c,
        "SELECT proposal_id, proposed_by, party_id, body, created_at FROM issue_proposal WHERE relationship_id = $1 AND issue_id = $2 AND status = 'pending'",
        &[&relationship_id, &issue_id],
        |r| {
            Ok(Proposal {
                id: r.try_get(0)?,
                proposed_by: r.try_get(1)?,
                party_id: r.try_get(2)?,
                body: r.try_get(3)?,
                accepted_by: Vec::new(),
                created_at: r.try_get(4)?,
            })
        },
    )
    .await?;
    let Some(mut proposal) = proposal else { return Ok(None) };
    proposal.accepted_by = query_all(
        c,
        "SELECT party_id FROM issue_acceptance WHERE relationship_id = $1 AND proposal_id = $2 ORDER BY party_id",
        &[&relationship_id, &proposal.id],
        |r| Ok(r.try_get(0)?),
    )
    .await?;
    Ok(Some(proposal))
}

async fn member_of(tx: &Transaction<'_>, relationship_id: Uuid, actor: Uuid) -> R<Member> {
    current_membership(tx, relationship_id, actor).await?.ok_or_else(|| invalid("user", "is not a current member"))
}

pub(crate) async fn comment_issue(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    issue_id: Uuid,
    body: &str,
    private: bool,
    actor: Uuid,
    now: Timestamp,
) -> R<IssueEvent> {
    let current = issue(tx, relationship_id, issue_id).await?;
    lock_chain(tx, relationship_id).await?;
    let me = member_of(tx, relationship_id, actor).await?;
    let kind = if private { "note" } else { "comment" };
    let id = add_event(tx, &current, kind, Some(actor), Some(me.party_id), body, (None, None), private.then_some(me.party_id), now).await?;
    // Partners read the audit trail too: a private note's text stays out of it.
    let summary = json!({"number": current.number, "event": id, "private": private});
    let audit_kind = if private { EventKind::IssueNoted } else { EventKind::IssueCommented };
    append(tx, relationship_id, Draft::new(Some(actor), audit_kind, "issue", issue_id, summary), now).await?;
    issue_timeline(tx, relationship_id, issue_id, Some(me.party_id)).await?.into_iter().find(|e| e.id == id).ok_or(not_found("issue event"))
}

fn require_live(issue: &Issue) -> R<()> {
    if issue.status.live() { Ok(()) } else { Err(invalid("status", format!("the issue is {}", issue.status.label().to_lowercase()))) }
}

async fn set_status(tx: &Transaction<'_>, issue: &Issue, status: IssueStatus, resolved: bool, now: Timestamp) -> R<()> {
    execute(
        tx,
        "UPDATE issue SET status = $3, resolved_at = $4, reminder_at = CASE WHEN $5 THEN NULL ELSE reminder_at END, version = version + 1, updated_at = $6
         WHERE relationship_id = $1 AND issue_id = $2",
        &[&issue.relationship_id, &issue.id, &status.as_str(), &resolved.then_some(now), &!status.live(), &now],
    )
    .await?;
    Ok(())
}

/// Locks the issue, then the chain, and reads the issue.
async fn locked_issue(tx: &Transaction<'_>, relationship_id: Uuid, issue_id: Uuid) -> R<Issue> {
    lock_issue(tx, relationship_id, issue_id).await?;
    lock_chain(tx, relationship_id).await?;
    issue(tx, relationship_id, issue_id).await
}

pub(crate) async fn propose_resolution(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    issue_id: Uuid,
    body: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    let current = locked_issue(tx, relationship_id, issue_id).await?;
    require_live(&current)?;
    if pending_proposal(tx, relationship_id, issue_id).await?.is_some() {
        return Err(invalid("proposal", "a proposed resolution is already waiting for an answer"));
    }
    let me = member_of(tx, relationship_id, actor).await?;
    let id = new_id(now);
    execute(
        tx,
        "INSERT INTO issue_proposal (relationship_id, proposal_id, issue_id, proposed_by, party_id, body, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
        &[&relationship_id, &id, &issue_id, &actor, &me.party_id, &body, &now],
    )
    .await
    .map_err(unique_as("proposal", "a proposed resolution is already waiting for an answer"))?;
    execute(
        tx,
        "INSERT INTO issue_acceptance (relationship_id, proposal_id, party_id, user_id, accepted_at) VALUES ($1, $2, $3, $4, $5)",
        &[&relationship_id, &id, &me.party_id, &actor, &now],
    )
    .await?;
    set_status(tx, &current, IssueStatus::ResolutionProposed, false, now).await?;
    add_event(tx, &current, "proposed", Some(actor), Some(me.party_id), body, (None, None), None, now).await?;
    append(
        tx,
        relationship_id,
        Draft::new(Some(actor), EventKind::IssueResolutionProposed, "issue", issue_id, json!({"number": current.number, "proposal": id})),
        now,
    )
    .await?;
    let relationship = get_relationship(tx, relationship_id).await?;
    let ladder = ladder(tx, relationship_id, Some(current.ladder_version)).await?;
    let mut recipients: Vec<Uuid> = handlers(tx, relationship_id, &ladder.levels[current.level as usize])
        .await?
        .iter()
        .filter(|m| m.party_id != me.party_id)
        .map(|m| m.user_id)
        .collect();
    recipients.push(current.raised_by);
    recipients.retain(|u| *u != actor);
    let title = format!("Resolution proposed for issue #{}: {}", current.number, current.title);
    let body =
        format!("{} proposes, for {}:\n\n{body}\n\nIt takes effect when every other party accepts it.", me.name, me.organisation_name);
    notify(tx, relationship.id, &recipients, NotificationKind::ResolutionProposed, &title, &body, &link(&current), now).await?;
    issue(tx, relationship_id, issue_id).await
}

pub(crate) async fn respond_to_proposal(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    issue_id: Uuid,
    accept: bool,
    reason: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    // Of two answers at once, the second waits here and then sees the first.
    let current = locked_issue(tx, relationship_id, issue_id).await?;
    let proposal = pending_proposal(tx, relationship_id, issue_id)
        .await?
        .ok_or_else(|| invalid("proposal", "no proposed resolution is waiting for an answer"))?;
    let me = member_of(tx, relationship_id, actor).await?;
    if proposal.accepted_by.contains(&me.party_id) {
        return Err(invalid("proposal", format!("{} has already accepted this proposal", me.organisation_name)));
    }
    let notify_to = vec![proposal.proposed_by, current.raised_by];
    if !accept {
        execute(
            tx,
            "UPDATE issue_proposal SET status = 'rejected' WHERE relationship_id = $1 AND proposal_id = $2",
            &[&relationship_id, &proposal.id],
        )
        .await?;
        set_status(tx, &current, IssueStatus::Open, false, now).await?;
        add_event(tx, &current, "rejected", Some(actor), Some(me.party_id), reason, (None, None), None, now).await?;
        let summary = json!({"number": current.number, "proposal": proposal.id, "reason": reason});
        append(tx, relationship_id, Draft::new(Some(actor), EventKind::IssueResolutionRejected, "issue", issue_id, summary), now).await?;
        let title = format!("Resolution rejected for issue #{}: {}", current.number, current.title);
        let body = format!(
            "{} rejected the proposed resolution for {}:\n\n{reason}\n\nThe issue is open again at the same level.",
            me.name, me.organisation_name
        );
        notify(tx, relationship_id, &notify_to, NotificationKind::ResolutionRejected, &title, &body, &link(&current), now).await?;
        return issue(tx, relationship_id, issue_id).await;
    }
    execute(
        tx,
        "INSERT INTO issue_acceptance (relationship_id, proposal_id, party_id, user_id, accepted_at) VALUES ($1, $2, $3, $4, $5)",
        &[&relationship_id, &proposal.id, &me.party_id, &actor, &now],
    )
    .await?;
    add_event(tx, &current, "accepted", Some(actor), Some(me.party_id), reason, (None, None), None, now).await?;
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
    )
    .await?;
    let parties: Vec<Uuid> =
        query_all(tx, "SELECT party_id FROM party WHERE relationship_id = $1", &[&relationship_id], |r| Ok(r.try_get(0)?)).await?;
    let accepted: Vec<Uuid> = proposal.accepted_by.iter().copied().chain([me.party_id]).collect();
    let resolved = parties.iter().all(|p| accepted.contains(p));
    if resolved {
        execute(
            tx,
            "UPDATE issue_proposal SET status = 'accepted' WHERE relationship_id = $1 AND proposal_id = $2",
            &[&relationship_id, &proposal.id],
        )
        .await?;
        set_status(tx, &current, IssueStatus::Resolved, true, now).await?;
        add_event(tx, &current, "resolved", None, None, &proposal.body, (Some(current.level), None), None, now).await?;
        count(tx, relationship_id, current.level, -1, Some(now.duration_since(current.created_at).as_hours())).await?;
        let summary = json!({"number": current.number, "level": current.level, "proposal": proposal.id});
        append(tx, relationship_id, Draft::new(None, EventKind::IssueResolved, "issue", issue_id, summary), now).await?;
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
    )
    .await?;
    issue(tx, relationship_id, issue_id).await
}

pub(crate) async fn withdraw_issue(
    tx: &Transaction<'_>,
    relationship_id: Uuid,
    issue_id: Uuid,
    reason: &str,
    actor: Uuid,
    now: Timestamp,
) -> R<Issue> {
    let current = locked_issue(tx, relationship_id, issue_id).await?;
    require_live(&current)?;
    let me = member_of(tx, relationship_id, actor).await?;
    execute(
        tx,
        "UPDATE issue_proposal SET status = 'withdrawn' WHERE relationship_id = $1 AND issue_id = $2 AND status = 'pending'",
        &[&relationship_id, &issue_id],
    )
    .await?;
    set_status(tx, &current, IssueStatus::Withdrawn, true, now).await?;
    count(tx, relationship_id, current.level, -1, None).await?;
    add_event(tx, &current, "withdrawn", Some(actor), Some(me.party_id), reason, (None, None), None, now).await?;
    append(
        tx,
        relationship_id,
        Draft::new(Some(actor), EventKind::IssueWithdrawn, "issue", issue_id, json!({"number": current.number, "reason": reason})),
        now,
    )
    .await?;
    issue(tx, relationship_id, issue_id).await
}

pub(crate) async fn issue_stats(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<LevelStat>> {
    query_all(
        c,
        "SELECT level, open_count, resolved_count, buckets FROM issue_level_stat WHERE relationship_id = $1 ORDER BY level",
        &[&relationship_id],
        |r| Ok(LevelStat { level: r.try_get(0)?, open: r.try_get(1)?, resolved: r.try_get(2)?, buckets: r.try_get(3)? }),
    )
    .await
}
