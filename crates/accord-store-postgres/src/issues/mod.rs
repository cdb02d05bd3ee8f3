//! The issue module on PostgreSQL: issues, their timelines and figures, the sweep. What each write
//! decides is `accord_store::issues::decide`'s: here each loads (under the locks below), decides
//! and applies, in one transaction.
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
//!
//! Row locks are always taken before the chain's, as in the measures module.

use super::*;
use crate::notifications::notify;
use accord_domain::escalation::{IssueStatus, Limit, RESOLUTION_BUCKETS, bucket};
use accord_store::issues::decide::{self, IssuePlan, IssueRules, IssueWrite, ProposalWrite};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

mod ladder;

pub(crate) use ladder::*;

/// Issues one sweep transaction escalates or reminds at most.
const SWEEP_BATCH: i64 = 100;
/// Issues one sweep looks at at most (SQLite's sweep takes as many in one go).
const SWEEP_MAX: usize = 5_000;

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

pub(crate) async fn issues(
    c: &impl GenericClient, relationship_id: Uuid, filter: &IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
) -> R<Vec<Issue>> {
    issue_list(c, ISSUE, relationship_id, filter, after, limit, issue_row).await
}

/// What a line of the log shows: every column is in the log's indexes, so PostgreSQL can read
/// the lines with an index-only scan, without the issue rows or the raisers' accounts.
const LINE: &str =
    "SELECT i.issue_id, i.number, i.title, i.category, i.severity, i.raising_party_id, i.level, i.deadline, i.status, i.resolved_at
    FROM issue i";

pub(crate) async fn issue_lines(
    c: &impl GenericClient, relationship_id: Uuid, filter: &IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
) -> R<Vec<IssueLine>> {
    issue_list(c, LINE, relationship_id, filter, after, limit, line_row).await
}

/// A line as [`LINE`]'s columns give it.
fn line_row(r: &Row) -> R<IssueLine> {
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
}

/// Live issues at any of `levels` (ladder version, level), by deadline, at most `limit`, each with
/// its ladder version; and how many there are. Each pair is a range of `issue_waiting` (V17),
/// read by a `LATERAL` of its own, so that a cached generic plan still seeks pair by pair.
pub(crate) async fn waiting_issues(
    c: &impl GenericClient, relationship_id: Uuid, levels: &[(i32, i32)], limit: u32,
) -> R<(Vec<(IssueLine, i32)>, i64)> {
    if levels.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let (versions, rungs): (Vec<i32>, Vec<i32>) = levels.iter().copied().unzip();
    let limit = i64::from(limit);
    let lines = async {
        query_all(
        c,
        "SELECT i.issue_id, i.number, i.title, i.category, i.severity, i.raising_party_id, i.level, i.deadline, i.status, i.resolved_at, i.ladder_version
         FROM unnest($2::int4[], $3::int4[]) AS want(version, level)
         CROSS JOIN LATERAL (SELECT * FROM issue WHERE relationship_id = $1 AND ladder_version = want.version AND level = want.level
                             AND status IN ('open', 'resolution_proposed') ORDER BY deadline, issue_id LIMIT $4) i
         ORDER BY i.deadline, i.issue_id LIMIT $4",
        &[&relationship_id, &versions, &rungs, &limit],
        |r| Ok((line_row(r)?, r.try_get(10)?)),
    ).await
    };
    let count = async {
        query_opt(
            c,
            "SELECT count(*) FROM unnest($2::int4[], $3::int4[]) AS want(version, level)
         JOIN issue i ON i.relationship_id = $1 AND i.ladder_version = want.version AND i.level = want.level
         WHERE i.status IN ('open', 'resolution_proposed')",
            &[&relationship_id, &versions, &rungs],
            |r| Ok(r.try_get::<_, i64>(0)?),
        )
        .await
    };
    let (lines, count) = tokio::try_join!(lines, count)?;
    Ok((lines, count.unwrap_or(0)))
}

/// A page of issues in `filter`'s order, after the cursor, each read by `row` from `select`.
async fn issue_list<T>(
    c: &impl GenericClient, select: &str, relationship_id: Uuid, filter: &IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
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

pub(crate) async fn issue_timeline(
    c: &impl GenericClient, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>,
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

pub(crate) async fn issue_stats(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<LevelStat>> {
    query_all(
        c,
        "SELECT level, open_count, resolved_count, buckets FROM issue_level_stat WHERE relationship_id = $1 ORDER BY level",
        &[&relationship_id],
        |r| Ok(LevelStat { level: r.try_get(0)?, open: r.try_get(1)?, resolved: r.try_get(2)?, buckets: r.try_get(3)? }),
    )
    .await
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

/// Refuses a link to anything but an objective, KPI or obligation of this relationship.
async fn require_link(tx: &Transaction<'_>, relationship_id: Uuid, link: &IssueLink) -> R<()> {
    let Some((table, key)) = link.target() else { return Err(StoreError::from(link.refused()).into()) };
    let sql = format!("SELECT 1 FROM {table} WHERE relationship_id = $1 AND {key} = $2");
    let found = query_opt(tx, &sql, &[&relationship_id, &link.id], |_| Ok(())).await?;
    found.ok_or_else(|| StoreError::from(link.refused()).into())
}

/// Locks the issue's row until the transaction ends; NotFound when the relationship has no such issue.
async fn lock_issue(tx: &Transaction<'_>, relationship_id: Uuid, issue_id: Uuid) -> R<()> {
    let sql = "SELECT 1 FROM issue WHERE relationship_id = $1 AND issue_id = $2 FOR NO KEY UPDATE";
    query_opt(tx, sql, &[&relationship_id, &issue_id], |_| Ok(())).await?.ok_or(not_found("issue"))
}

/// Locks the issue, then the chain, and reads the issue.
async fn locked_issue(tx: &Transaction<'_>, relationship_id: Uuid, issue_id: Uuid) -> R<Issue> {
    lock_issue(tx, relationship_id, issue_id).await?;
    lock_chain(tx, relationship_id).await?;
    issue(tx, relationship_id, issue_id).await
}

/// What deciding about issues under `ladder` needs: the relationship's members and holidays.
async fn rules(tx: &Transaction<'_>, relationship: Relationship, ladder: Ladder) -> R<IssueRules> {
    let (members, holidays) = (current_members(tx, relationship.id).await?, holidays(tx, relationship.id).await?);
    Ok(IssueRules::new(relationship, ladder, members, &holidays))
}

/// The rules of the ladder `issue` climbs, read once per relationship and version of a sweep batch.
async fn rules_of<'a>(tx: &Transaction<'_>, known: &'a mut HashMap<(Uuid, i32), IssueRules>, issue: &Issue) -> R<&'a IssueRules> {
    Ok(match known.entry((issue.relationship_id, issue.ladder_version)) {
        Entry::Occupied(slot) => slot.into_mut(),
        Entry::Vacant(slot) => {
            let relationship = get_relationship(tx, issue.relationship_id).await?;
            let ladder = ladder(tx, issue.relationship_id, Some(issue.ladder_version)).await?;
            slot.insert(rules(tx, relationship, ladder).await?)
        }
    })
}

/// Writes what a decision planned for `issue`, in the caller's transaction (which holds the
/// chain's lock: the figures and the audit trail are written under it).
async fn apply(tx: &Transaction<'_>, issue: &Issue, plan: IssuePlan, now: Timestamp) -> R<()> {
    let (relationship_id, issue_id) = (issue.relationship_id, issue.id);
    for write in &plan.proposals {
        match write {
            ProposalWrite::Propose { id, party_id, proposed_by, body } => {
                execute(
                    tx,
                    "INSERT INTO issue_proposal (relationship_id, proposal_id, issue_id, proposed_by, party_id, body, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)",
                    &[&relationship_id, id, &issue_id, proposed_by, party_id, body, &now],
                )
                .await
                .map_err(unique_as("proposal", "a proposed resolution is already waiting for an answer"))?;
                accept(tx, relationship_id, *id, *party_id, *proposed_by, now).await?;
            }
            ProposalWrite::Accept { proposal_id, party_id, user_id } => {
                accept(tx, relationship_id, *proposal_id, *party_id, *user_id, now).await?
            }
            ProposalWrite::Close { proposal_id, status } => {
                let sql = "UPDATE issue_proposal SET status = $3 WHERE relationship_id = $1 AND proposal_id = $2";
                execute(tx, sql, &[&relationship_id, proposal_id, status]).await?;
            }
            ProposalWrite::WithdrawPending => {
                let sql =
                    "UPDATE issue_proposal SET status = 'withdrawn' WHERE relationship_id = $1 AND issue_id = $2 AND status = 'pending'";
                execute(tx, sql, &[&relationship_id, &issue_id]).await?;
            }
        }
    }
    match plan.issue {
        Some(IssueWrite::Status(status)) => {
            execute(
                tx,
                "UPDATE issue SET status = $3, resolved_at = $4, reminder_at = CASE WHEN $5 THEN NULL ELSE reminder_at END, version = version + 1, updated_at = $6
                 WHERE relationship_id = $1 AND issue_id = $2",
                &[&relationship_id, &issue_id, &status.as_str(), &(!status.live()).then_some(now), &!status.live(), &now],
            )
            .await?;
        }
        Some(IssueWrite::Climb { level, started_at, deadline, reminder }) => {
            execute(
                tx,
                "UPDATE issue SET level = $3, level_started_at = $4, deadline = $5, reminder_at = $6, version = version + 1, updated_at = $7
                 WHERE relationship_id = $1 AND issue_id = $2",
                &[&relationship_id, &issue_id, &level, &started_at, &deadline, &reminder, &now],
            )
            .await?;
        }
        None => {}
    }
    for e in &plan.timeline {
        execute(
            tx,
            "INSERT INTO issue_event (relationship_id, issue_event_id, issue_id, kind, actor_id, party_id, body, from_level, to_level, private_party_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[&relationship_id, &e.id, &issue_id, &e.kind, &e.actor, &e.party, &e.body, &e.from_level, &e.to_level, &e.private_to, &now],
        )
        .await?;
    }
    for f in &plan.figures {
        count(tx, relationship_id, f.level, f.open, f.resolved_after_hours).await?;
    }
    for draft in plan.audit {
        append(tx, relationship_id, draft, now).await?;
    }
    for notice in &plan.notices {
        notify(tx, notice, now).await?;
    }
    Ok(())
}

async fn accept(tx: &Transaction<'_>, relationship_id: Uuid, proposal_id: Uuid, party_id: Uuid, user_id: Uuid, now: Timestamp) -> R<()> {
    execute(
        tx,
        "INSERT INTO issue_acceptance (relationship_id, proposal_id, party_id, user_id, accepted_at) VALUES ($1, $2, $3, $4, $5)",
        &[&relationship_id, &proposal_id, &party_id, &user_id, &now],
    )
    .await?;
    Ok(())
}

/// One batch of the sweep's escalations, in the caller's transaction: up to `SWEEP_BATCH` due
/// issues that no other sweeper holds, except those in `skip` (already looked at by this sweep).
/// The steps taken and the issues looked at.
async fn escalate_due(tx: &Transaction<'_>, now: Timestamp, skip: &[Uuid]) -> R<(u64, Vec<Uuid>)> {
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
    // Chains in one order for every sweeper (each is locked before its issues' steps are written).
    due.sort();
    let mut escalated = 0;
    let mut rules: HashMap<(Uuid, i32), IssueRules> = HashMap::new();
    for (relationship_id, issue_id) in &due {
        // Read again under the lock: what the sweeper sees is what it changes.
        let mut current = issue(tx, *relationship_id, *issue_id).await?;
        let rules = rules_of(tx, &mut rules, &current).await?;
        let before = current.clone();
        let plans = decide::overdue(rules, &mut current, now, &mut || new_id(now));
        if !plans.is_empty() {
            lock_chain(tx, *relationship_id).await?;
        }
        for plan in plans {
            apply(tx, &before, plan, now).await?;
            escalated += 1;
        }
    }
    Ok((escalated, due.into_iter().map(|(_, id)| id).collect()))
}

/// One batch of the sweep's reminders, in the caller's transaction: the reminders sent, and
/// whether there may be more. A reminder whose deadline has passed (a late sweep) is dropped
/// unsent: the escalation says more.
async fn remind_due(tx: &Transaction<'_>, now: Timestamp) -> R<(u64, bool)> {
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
    let mut rules = HashMap::new();
    for (relationship_id, issue_id) in &due {
        let current = issue(tx, *relationship_id, *issue_id).await?;
        if current.deadline > now
            && let Some(notice) = decide::reminder(rules_of(tx, &mut rules, &current).await?, &current, now)
        {
            notify(tx, &notice, now).await?;
            reminded += 1;
        }
        execute(tx, "UPDATE issue SET reminder_at = NULL WHERE relationship_id = $1 AND issue_id = $2", &[relationship_id, issue_id])
            .await?;
    }
    Ok((reminded, due.len() as i64 == SWEEP_BATCH))
}

#[async_trait]
impl IssueStore for PostgresStore {
    async fn ladder(&self, relationship_id: Uuid) -> StoreResult<Ladder> {
        self.read(move |c| Box::pin(ladder(c, relationship_id, None))).await
    }

    async fn ladder_version(&self, relationship_id: Uuid, version: i32) -> StoreResult<Ladder> {
        self.read(move |c| Box::pin(ladder(c, relationship_id, Some(version)))).await
    }

    async fn save_ladder(
        &self, relationship_id: Uuid, levels: Vec<LadderLevel>, expected_version: i32, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Ladder> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                get_relationship(tx, relationship_id).await?;
                lock_chain(tx, relationship_id).await?;
                let current = ladder(tx, relationship_id, None).await?;
                let members: Vec<Uuid> = current_members(tx, relationship_id).await?.iter().map(|m| m.user_id).collect();
                let (version, draft) = decide::save_ladder(relationship_id, &current, &levels, expected_version, &members, actor)?;
                insert_ladder(tx, relationship_id, version, &levels, Some(actor), now).await?;
                append(tx, relationship_id, draft, now).await?;
                ladder(tx, relationship_id, Some(version)).await
            })
        })
        .await
    }

    async fn holidays(&self, relationship_id: Uuid) -> StoreResult<Vec<Holiday>> {
        self.read(move |c| Box::pin(holidays(c, relationship_id))).await
    }

    async fn set_holidays(
        &self, relationship_id: Uuid, party_id: Uuid, list: Vec<(Date, String)>, actor: Uuid, now: Timestamp,
    ) -> StoreResult<()> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let sql = "SELECT 1 FROM party WHERE relationship_id = $1 AND party_id = $2";
                let found = query_opt(tx, sql, &[&relationship_id, &party_id], |_| Ok(())).await?;
                found.ok_or_else(|| invalid("party", "is not a party to this relationship"))?;
                // Two replacements at once would each delete what they saw and collide inserting.
                lock_chain(tx, relationship_id).await?;
                require_party_writer(tx, &current_members(tx, relationship_id).await?, actor, party_id, false).await?;
                execute(tx, "DELETE FROM party_holiday WHERE relationship_id = $1 AND party_id = $2", &[&relationship_id, &party_id])
                    .await?;
                for (day, name) in &list {
                    execute(
                        tx,
                        "INSERT INTO party_holiday (relationship_id, party_id, holiday, name) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (relationship_id, party_id, holiday) DO UPDATE SET name = EXCLUDED.name",
                        &[&relationship_id, &party_id, day, name],
                    )
                    .await?;
                }
                append(tx, relationship_id, decide::holidays_set(party_id, &list, actor), now).await?;
                Ok(())
            })
        })
        .await
    }

    async fn create_issue(&self, new: NewIssue, actor: Uuid, now: Timestamp) -> StoreResult<Issue> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let relationship = get_relationship(tx, new.relationship_id).await?;
                let relationship_id = relationship.id;
                // Numbers are max + 1: two issues raised at once take turns here.
                lock_chain(tx, relationship_id).await?;
                let me = decide::require_member(current_membership(tx, relationship_id, actor).await?)?;
                for link in &new.links {
                    require_link(tx, relationship_id, link).await?;
                }
                let ladder = current_ladder(tx, relationship_id, now).await?;
                let rules = rules(tx, relationship, ladder).await?;
                let sql = "SELECT COALESCE(max(number), 0) + 1 FROM issue WHERE relationship_id = $1";
                let number: i64 = query_opt(tx, sql, &[&relationship_id], |r| Ok(r.try_get(0)?)).await?.unwrap_or(1);
                let raised = decide::raise(&rules, &me, &new, number, now, &mut || new_id(now));
                execute(
                    tx,
                    "INSERT INTO issue (relationship_id, issue_id, number, title, description, category, severity, raised_by, raising_party_id, ladder_version, level,
                        level_started_at, deadline, reminder_at, status, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, 'open', 1, $11, $11)",
                    &[
                        &relationship_id,
                        &raised.id,
                        &number,
                        &new.title,
                        &new.description,
                        &new.category,
                        &new.severity,
                        &actor,
                        &me.party_id,
                        &rules.ladder.version,
                        &now,
                        &raised.deadline,
                        &raised.reminder,
                    ],
                )
                .await?;
                for l in &new.links {
                    execute(
                        tx,
                        "INSERT INTO issue_link (relationship_id, issue_id, target_kind, target_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        &[&relationship_id, &raised.id, &l.kind, &l.id],
                    )
                    .await?;
                }
                let issue = issue(tx, relationship_id, raised.id).await?;
                apply(tx, &issue, raised.plan, now).await?;
                Ok(issue)
            })
        })
        .await
    }

    async fn issue(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Issue> {
        self.read(move |c| Box::pin(issue(c, relationship_id, issue_id))).await
    }

    async fn issues(
        &self, relationship_id: Uuid, filter: IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<Issue>> {
        self.read(move |c| Box::pin(async move { issues(c, relationship_id, &filter, after, limit).await })).await
    }

    async fn issue_timeline(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<Vec<IssueEvent>> {
        self.read(move |c| Box::pin(issue_timeline(c, relationship_id, issue_id, viewer_party))).await
    }

    async fn pending_proposal(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Option<Proposal>> {
        self.read(move |c| Box::pin(pending_proposal(c, relationship_id, issue_id))).await
    }

    async fn comment_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, body: String, private: bool, actor: Uuid, now: Timestamp,
    ) -> StoreResult<IssueEvent> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let current = issue(tx, relationship_id, issue_id).await?;
                lock_chain(tx, relationship_id).await?;
                let me = current_membership(tx, relationship_id, actor).await?;
                let party = me.as_ref().map(|m| m.party_id);
                let (id, plan) = decide::comment(&current, me, &body, private, &mut || new_id(now))?;
                apply(tx, &current, plan, now).await?;
                let timeline = issue_timeline(tx, relationship_id, issue_id, party).await?;
                timeline.into_iter().find(|e| e.id == id).ok_or(not_found("issue event"))
            })
        })
        .await
    }

    async fn escalate_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let relationship = get_relationship(tx, relationship_id).await?;
                lock_issue(tx, relationship_id, issue_id).await?;
                let current = issue(tx, relationship_id, issue_id).await?;
                let ladder = ladder(tx, relationship_id, Some(current.ladder_version)).await?;
                let rules = rules(tx, relationship, ladder).await?;
                let plan = decide::escalate(&rules, &current, actor, &reason, now, &mut || new_id(now))?;
                lock_chain(tx, relationship_id).await?;
                apply(tx, &current, plan, now).await?;
                issue(tx, relationship_id, issue_id).await
            })
        })
        .await
    }

    async fn propose_resolution(
        &self, relationship_id: Uuid, issue_id: Uuid, body: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let current = locked_issue(tx, relationship_id, issue_id).await?;
                let pending = pending_proposal(tx, relationship_id, issue_id).await?;
                let me = current_membership(tx, relationship_id, actor).await?;
                let ladder = ladder(tx, relationship_id, Some(current.ladder_version)).await?;
                let members = current_members(tx, relationship_id).await?;
                let level = &ladder.levels[current.level as usize];
                let plan = decide::propose(level, &members, &current, pending.as_ref(), me, &body, &mut || new_id(now))?;
                apply(tx, &current, plan, now).await?;
                issue(tx, relationship_id, issue_id).await
            })
        })
        .await
    }

    async fn respond_to_proposal(
        &self, relationship_id: Uuid, issue_id: Uuid, accept: bool, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // Of two answers at once, the second waits here and then sees the first.
                let current = locked_issue(tx, relationship_id, issue_id).await?;
                let pending = pending_proposal(tx, relationship_id, issue_id).await?;
                let me = current_membership(tx, relationship_id, actor).await?;
                let sql = "SELECT party_id FROM party WHERE relationship_id = $1";
                let parties: Vec<Uuid> = query_all(tx, sql, &[&relationship_id], |r| Ok(r.try_get(0)?)).await?;
                let plan = decide::respond(&current, pending.as_ref(), me, &parties, accept, &reason, now, &mut || new_id(now))?;
                apply(tx, &current, plan, now).await?;
                issue(tx, relationship_id, issue_id).await
            })
        })
        .await
    }

    async fn withdraw_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let current = locked_issue(tx, relationship_id, issue_id).await?;
                let me = current_membership(tx, relationship_id, actor).await?;
                let plan = decide::withdraw(&current, me, &reason, &mut || new_id(now))?;
                apply(tx, &current, plan, now).await?;
                issue(tx, relationship_id, issue_id).await
            })
        })
        .await
    }

    async fn issue_stats(&self, relationship_id: Uuid) -> StoreResult<Vec<LevelStat>> {
        self.read(move |c| Box::pin(issue_stats(c, relationship_id))).await
    }

    async fn sweep(&self, now: Timestamp) -> StoreResult<SweepReport> {
        // Batches of their own transactions, so that the chains are not held for long; another
        // server sweeping at the same time takes other issues (see the module's notes).
        let now = micros(now);
        let mut report = SweepReport::default();
        let mut seen: Vec<Uuid> = Vec::new();
        while seen.len() < SWEEP_MAX {
            let skip = seen.clone();
            let (escalated, taken) = self.write(move |tx| Box::pin(async move { escalate_due(tx, now, &skip).await })).await?;
            report.escalated += escalated;
            if taken.is_empty() {
                break;
            }
            seen.extend(taken);
        }
        for _ in 0..SWEEP_MAX.div_ceil(100) {
            let (reminded, more) = self.write(move |tx| Box::pin(remind_due(tx, now))).await?;
            report.reminded += reminded;
            if !more {
                break;
            }
        }
        Ok(report)
    }

    async fn link_targets(&self, relationship_id: Uuid) -> StoreResult<Vec<LinkTarget>> {
        self.read(move |c| Box::pin(views::link_targets(c, relationship_id))).await
    }
}
