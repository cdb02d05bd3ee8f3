//! The issue module on SQLite: issues, their timelines and figures, the sweep. What each write
//! decides is `accord_store::issues::decide`'s: here each loads, decides and applies, in one
//! IMMEDIATE transaction (whose write lock keeps writers, and sweepers, apart).

use super::*;
use crate::notifications::notify;
use accord_domain::escalation::{IssueStatus, Limit, bucket};
use accord_store::issues::decide::{self, IssuePlan, IssueRules, IssueWrite, ProposalWrite};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

mod ladder;

pub(crate) use ladder::*;

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
    c: &Connection, relationship_id: Uuid, filter: &IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
) -> R<Vec<Issue>> {
    issue_list(c, ISSUE, relationship_id, filter, after, limit, issue_row)
}

/// What a line of the log shows: every column is in the log's indexes, so SQLite reads the lines
/// from the index alone (four B-tree searches a line fewer: the issue row and the raiser's account).
const LINE: &str =
    "SELECT i.issue_id, i.number, i.title, i.category, i.severity, i.raising_party_id, i.level, i.deadline, i.status, i.resolved_at
    FROM issue i";

pub(crate) fn issue_lines(
    c: &Connection, relationship_id: Uuid, filter: &IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
) -> R<Vec<IssueLine>> {
    issue_list(c, LINE, relationship_id, filter, after, limit, line_row)
}

/// A line as [`LINE`]'s columns give it.
fn line_row(r: &Row) -> rusqlite::Result<IssueLine> {
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
}

/// Live issues at any of `levels` (ladder version, level), by deadline, at most `limit`, each with
/// its ladder version; and how many there are. Each pair is a range of `issue_waiting` (V18).
pub(crate) fn waiting_issues(c: &Connection, relationship_id: Uuid, levels: &[(i32, i32)], limit: u32) -> R<(Vec<(IssueLine, i32)>, i64)> {
    if levels.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let pairs = serde_json::to_string(levels).map_err(|e| Fail(StoreError::Backend(e.to_string())))?;
    let at = "FROM json_each(?2) AS want CROSS JOIN issue i INDEXED BY issue_waiting
         WHERE i.relationship_id = ?1 AND i.ladder_version = want.value ->> 0 AND i.level = want.value ->> 1
           AND i.status IN ('open', 'resolution_proposed')";
    let lines = c
        .prepare_cached(&format!(
            "SELECT i.issue_id, i.number, i.title, i.category, i.severity, i.raising_party_id, i.level, i.deadline, i.status, i.resolved_at, i.ladder_version
             {at} ORDER BY i.deadline, i.issue_id LIMIT ?3"
        ))?
        .query_map(params![relationship_id, pairs, limit], |r| Ok((line_row(r)?, r.get(10)?)))?
        .collect::<Result<_, _>>()?;
    let count = c.prepare_cached(&format!("SELECT count(*) {at}"))?.query_row(params![relationship_id, pairs], |r| r.get(0))?;
    Ok((lines, count))
}

/// A page of issues in `filter`'s order, after the cursor, each read by `row` from `select`.
fn issue_list<T>(
    c: &Connection, select: &str, relationship_id: Uuid, filter: &IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
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

/// Refuses a link to anything but an objective, KPI or obligation of this relationship.
fn require_link(c: &Connection, relationship_id: Uuid, link: &IssueLink) -> R<()> {
    let Some((table, key)) = link.target() else { return Err(StoreError::from(link.refused()).into()) };
    let found = c
        .prepare_cached(&format!("SELECT 1 FROM {table} WHERE relationship_id = ?1 AND {key} = ?2"))?
        .query_row([relationship_id, link.id], |_| Ok(()))
        .optional()?;
    found.ok_or_else(|| StoreError::from(link.refused()).into())
}

/// What deciding about issues under `ladder` needs: the relationship's members and holidays.
fn rules(tx: &Connection, relationship: Relationship, ladder: Ladder) -> R<IssueRules> {
    let (members, holidays) = (current_members(tx, relationship.id)?, holidays(tx, relationship.id)?);
    Ok(IssueRules::new(relationship, ladder, members, &holidays))
}

/// The rules of the ladder `issue` climbs, read once per relationship and version of a sweep.
fn rules_of<'a>(tx: &Connection, known: &'a mut HashMap<(Uuid, i32), IssueRules>, issue: &Issue) -> R<&'a IssueRules> {
    Ok(match known.entry((issue.relationship_id, issue.ladder_version)) {
        Entry::Occupied(slot) => slot.into_mut(),
        Entry::Vacant(slot) => {
            let relationship = get_relationship(tx, issue.relationship_id)?;
            let ladder = ladder(tx, issue.relationship_id, Some(issue.ladder_version))?;
            slot.insert(rules(tx, relationship, ladder)?)
        }
    })
}

/// Writes what a decision planned for `issue`, in the caller's transaction.
fn apply(tx: &Connection, issue: &Issue, plan: IssuePlan, now: Timestamp) -> R<()> {
    let (relationship_id, issue_id, at) = (issue.relationship_id, issue.id, micros(now));
    for write in &plan.proposals {
        match write {
            ProposalWrite::Propose { id, party_id, proposed_by, body } => {
                tx.prepare_cached("INSERT INTO issue_proposal (relationship_id, proposal_id, issue_id, proposed_by, party_id, body, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)")?
                    .execute(params![relationship_id, id, issue_id, proposed_by, party_id, body, at])?;
                accept(tx, relationship_id, *id, *party_id, *proposed_by, at)?;
            }
            ProposalWrite::Accept { proposal_id, party_id, user_id } => accept(tx, relationship_id, *proposal_id, *party_id, *user_id, at)?,
            ProposalWrite::Close { proposal_id, status } => {
                tx.prepare_cached("UPDATE issue_proposal SET status = ?3 WHERE relationship_id = ?1 AND proposal_id = ?2")?
                    .execute(params![relationship_id, proposal_id, status])?;
            }
            ProposalWrite::WithdrawPending => {
                tx.prepare_cached(
                    "UPDATE issue_proposal SET status = 'withdrawn' WHERE relationship_id = ?1 AND issue_id = ?2 AND status = 'pending'",
                )?
                .execute([relationship_id, issue_id])?;
            }
        }
    }
    match plan.issue {
        Some(IssueWrite::Status(status)) => {
            tx.prepare_cached(
                "UPDATE issue SET status = ?3, resolved_at = ?4, reminder_at = CASE WHEN ?5 THEN NULL ELSE reminder_at END, version = version + 1, updated_at = ?6
                 WHERE relationship_id = ?1 AND issue_id = ?2",
            )?
            .execute(params![relationship_id, issue_id, status.as_str(), (!status.live()).then_some(at), !status.live(), at])?;
        }
        Some(IssueWrite::Climb { level, started_at, deadline, reminder }) => {
            tx.prepare_cached(
                "UPDATE issue SET level = ?3, level_started_at = ?4, deadline = ?5, reminder_at = ?6, version = version + 1, updated_at = ?7
                 WHERE relationship_id = ?1 AND issue_id = ?2",
            )?
            .execute(params![relationship_id, issue_id, level, micros(started_at), micros(deadline), reminder.map(micros), at])?;
        }
        None => {}
    }
    for e in &plan.timeline {
        tx.prepare_cached(
            "INSERT INTO issue_event (relationship_id, issue_event_id, issue_id, kind, actor_id, party_id, body, from_level, to_level, private_party_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![relationship_id, e.id, issue_id, e.kind, e.actor, e.party, e.body, e.from_level, e.to_level, e.private_to, at])?;
    }
    for f in &plan.figures {
        count(tx, relationship_id, f.level, f.open, f.resolved_after_hours)?;
    }
    for draft in plan.audit {
        append(tx, relationship_id, draft, now)?;
    }
    for notice in &plan.notices {
        notify(tx, notice, now)?;
    }
    Ok(())
}

fn accept(tx: &Connection, relationship_id: Uuid, proposal_id: Uuid, party_id: Uuid, user_id: Uuid, at: i64) -> R<()> {
    tx.prepare_cached(
        "INSERT INTO issue_acceptance (relationship_id, proposal_id, party_id, user_id, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![relationship_id, proposal_id, party_id, user_id, at])?;
    Ok(())
}

/// Loads an issue and what a step of it needs, decides with `decide`, applies and reads it back.
fn step(
    tx: &Connection, relationship_id: Uuid, issue_id: Uuid, now: Timestamp,
    decide: impl FnOnce(&Connection, &Issue, &mut dyn FnMut() -> Uuid) -> R<IssuePlan>,
) -> R<Issue> {
    let current = issue(tx, relationship_id, issue_id)?;
    let plan = decide(tx, &current, &mut || new_id(now))?;
    apply(tx, &current, plan, now)?;
    issue(tx, relationship_id, issue_id)
}

/// Every due escalation (one level per elapsed deadline), then every due reminder.
fn sweep(tx: &Connection, now: Timestamp) -> R<SweepReport> {
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
    let mut rules: HashMap<(Uuid, i32), IssueRules> = HashMap::new();
    for (relationship_id, issue_id) in due {
        let mut current = issue(tx, relationship_id, issue_id)?;
        let rules = rules_of(tx, &mut rules, &current)?;
        let before = current.clone();
        for plan in decide::overdue(rules, &mut current, now, &mut || new_id(now)) {
            apply(tx, &before, plan, now)?;
            report.escalated += 1;
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
        // A late sweep finds the deadline passed too: the escalation says more (see decide::reminder).
        if current.deadline > now
            && let Some(notice) = decide::reminder(rules_of(tx, &mut rules, &current)?, &current, now)
        {
            notify(tx, &notice, now)?;
            report.reminded += 1;
        }
        tx.prepare_cached("UPDATE issue SET reminder_at = NULL WHERE relationship_id = ?1 AND issue_id = ?2")?
            .execute([relationship_id, issue_id])?;
    }
    Ok(report)
}

#[async_trait]
impl IssueStore for SqliteStore {
    async fn ladder(&self, relationship_id: Uuid) -> StoreResult<Ladder> {
        self.run(move |c| ladder(c, relationship_id, None)).await
    }

    async fn ladder_version(&self, relationship_id: Uuid, version: i32) -> StoreResult<Ladder> {
        self.run(move |c| ladder(c, relationship_id, Some(version))).await
    }

    async fn save_ladder(
        &self, relationship_id: Uuid, levels: Vec<LadderLevel>, expected_version: i32, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Ladder> {
        self.write(move |tx| {
            get_relationship(tx, relationship_id)?;
            let current = ladder(tx, relationship_id, None)?;
            let members: Vec<Uuid> = current_members(tx, relationship_id)?.iter().map(|m| m.user_id).collect();
            let (version, draft) = decide::save_ladder(relationship_id, &current, &levels, expected_version, &members, actor)?;
            insert_ladder(tx, relationship_id, version, &levels, Some(actor), now)?;
            append(tx, relationship_id, draft, now)?;
            ladder(tx, relationship_id, Some(version))
        })
        .await
    }

    async fn holidays(&self, relationship_id: Uuid) -> StoreResult<Vec<Holiday>> {
        self.run(move |c| holidays(c, relationship_id)).await
    }

    async fn set_holidays(
        &self, relationship_id: Uuid, party_id: Uuid, list: Vec<(Date, String)>, actor: Uuid, now: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let found = tx
                .prepare_cached("SELECT 1 FROM party WHERE relationship_id = ?1 AND party_id = ?2")?
                .query_row([relationship_id, party_id], |_| Ok(()))
                .optional()?;
            found.ok_or_else(|| invalid("party", "is not a party to this relationship"))?;
            require_party_writer(tx, &current_members(tx, relationship_id)?, actor, party_id, false)?;
            tx.prepare_cached("DELETE FROM party_holiday WHERE relationship_id = ?1 AND party_id = ?2")?
                .execute([relationship_id, party_id])?;
            for (day, name) in &list {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO party_holiday (relationship_id, party_id, holiday, name) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![relationship_id, party_id, day.to_string(), name])?;
            }
            append(tx, relationship_id, decide::holidays_set(party_id, &list, actor), now)?;
            Ok(())
        })
        .await
    }

    async fn create_issue(&self, new: NewIssue, actor: Uuid, now: Timestamp) -> StoreResult<Issue> {
        self.write(move |tx| {
            let relationship = get_relationship(tx, new.relationship_id)?;
            let me = decide::require_member(current_membership(tx, relationship.id, actor)?)?;
            for link in &new.links {
                require_link(tx, relationship.id, link)?;
            }
            let ladder = current_ladder(tx, relationship.id, now)?;
            let rules = rules(tx, relationship, ladder)?;
            let relationship_id = rules.relationship.id;
            let number: i64 = tx
                .prepare_cached("SELECT COALESCE(max(number), 0) + 1 FROM issue WHERE relationship_id = ?1")?
                .query_row([relationship_id], |r| r.get(0))?;
            let raised = decide::raise(&rules, &me, &new, number, now, &mut || new_id(now));
            tx.prepare_cached(
                "INSERT INTO issue (relationship_id, issue_id, number, title, description, category, severity, raised_by, raising_party_id, ladder_version, level,
                    level_started_at, deadline, reminder_at, status, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11, ?12, ?13, 'open', 1, ?11, ?11)",
            )?
            .execute(params![
                relationship_id,
                raised.id,
                number,
                new.title,
                new.description,
                new.category,
                new.severity,
                actor,
                me.party_id,
                rules.ladder.version,
                micros(now),
                micros(raised.deadline),
                raised.reminder.map(micros)
            ])?;
            for l in &new.links {
                tx.prepare_cached("INSERT OR IGNORE INTO issue_link (relationship_id, issue_id, target_kind, target_id) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![relationship_id, raised.id, l.kind, l.id])?;
            }
            let issue = issue(tx, relationship_id, raised.id)?;
            apply(tx, &issue, raised.plan, now)?;
            Ok(issue)
        })
        .await
    }

    async fn issue(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Issue> {
        self.run(move |c| issue(c, relationship_id, issue_id)).await
    }

    async fn issues(
        &self, relationship_id: Uuid, filter: IssueFilter, after: Option<(Timestamp, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<Issue>> {
        self.run(move |c| issues(c, relationship_id, &filter, after, limit)).await
    }

    async fn issue_timeline(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<Vec<IssueEvent>> {
        self.run(move |c| issue_timeline(c, relationship_id, issue_id, viewer_party)).await
    }

    async fn pending_proposal(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Option<Proposal>> {
        self.run(move |c| pending_proposal(c, relationship_id, issue_id)).await
    }

    async fn comment_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, body: String, private: bool, actor: Uuid, now: Timestamp,
    ) -> StoreResult<IssueEvent> {
        self.write(move |tx| {
            let current = issue(tx, relationship_id, issue_id)?;
            let me = current_membership(tx, relationship_id, actor)?;
            let party = me.as_ref().map(|m| m.party_id);
            let (id, plan) = decide::comment(&current, me, &body, private, &mut || new_id(now))?;
            apply(tx, &current, plan, now)?;
            issue_timeline(tx, relationship_id, issue_id, party)?.into_iter().find(|e| e.id == id).ok_or(not_found("issue event"))
        })
        .await
    }

    async fn escalate_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        self.write(move |tx| {
            let relationship = get_relationship(tx, relationship_id)?;
            step(tx, relationship_id, issue_id, now, |tx, current, ids| {
                let ladder = ladder(tx, relationship_id, Some(current.ladder_version))?;
                Ok(decide::escalate(&rules(tx, relationship, ladder)?, current, actor, &reason, now, ids)?)
            })
        })
        .await
    }

    async fn propose_resolution(
        &self, relationship_id: Uuid, issue_id: Uuid, body: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        self.write(move |tx| {
            step(tx, relationship_id, issue_id, now, |tx, current, ids| {
                let pending = pending_proposal(tx, relationship_id, issue_id)?;
                let me = current_membership(tx, relationship_id, actor)?;
                let ladder = ladder(tx, relationship_id, Some(current.ladder_version))?;
                let members = current_members(tx, relationship_id)?;
                let level = &ladder.levels[current.level as usize];
                Ok(decide::propose(level, &members, current, pending.as_ref(), me, &body, ids)?)
            })
        })
        .await
    }

    async fn respond_to_proposal(
        &self, relationship_id: Uuid, issue_id: Uuid, accept: bool, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        self.write(move |tx| {
            step(tx, relationship_id, issue_id, now, |tx, current, ids| {
                let pending = pending_proposal(tx, relationship_id, issue_id)?;
                let me = current_membership(tx, relationship_id, actor)?;
                let parties: Vec<Uuid> = tx
                    .prepare_cached("SELECT party_id FROM party WHERE relationship_id = ?1")?
                    .query_map([relationship_id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok(decide::respond(current, pending.as_ref(), me, &parties, accept, &reason, now, ids)?)
            })
        })
        .await
    }

    async fn withdraw_issue(
        &self, relationship_id: Uuid, issue_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Issue> {
        self.write(move |tx| {
            step(tx, relationship_id, issue_id, now, |tx, current, ids| {
                Ok(decide::withdraw(current, current_membership(tx, relationship_id, actor)?, &reason, ids)?)
            })
        })
        .await
    }

    async fn issue_stats(&self, relationship_id: Uuid) -> StoreResult<Vec<LevelStat>> {
        self.run(move |c| issue_stats(c, relationship_id)).await
    }

    async fn sweep(&self, now: Timestamp) -> StoreResult<SweepReport> {
        // The write lock of SQLite's IMMEDIATE transaction makes concurrent sweeps take turns.
        self.write(move |tx| sweep(tx, now)).await
    }

    async fn link_targets(&self, relationship_id: Uuid) -> StoreResult<Vec<LinkTarget>> {
        self.run(move |c| views::link_targets(c, relationship_id)).await
    }
}
