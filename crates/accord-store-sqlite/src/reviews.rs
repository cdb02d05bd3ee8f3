//! Joint reviews on SQLite. Each write loads what its rules need, asks
//! `accord_store::reviews::decide`, and applies the answer, in one IMMEDIATE transaction.

use super::*;
use crate::actions::{actions, insert_action};
use crate::issues::{issues, ladder};
use crate::measures::{kpis, objectives, obligations, recent_measurements};
use accord_store::reviews::agenda::AgendaFacts;
use accord_store::reviews::decide::{self, MeetingPlan, MeetingState};
use accord_store::reviews::{INTERVENTIONS, MEETING, MEETINGS, PREVIOUS_MEETING, SERIES, SERIES_LIST, json_text as json};

/// The shared statements' `$N` as SQLite's `?N`.
fn native(sql: &str) -> String {
    sql.replace('$', "?")
}

/// The interventions reviews aimed at a party, newest first (its oversight page reads them too).
pub(crate) fn interventions(c: &Connection, relationship_id: Uuid, party_id: Uuid, limit: u32) -> R<Vec<Intervention>> {
    let mut stmt = c.prepare_cached(&native(INTERVENTIONS))?;
    Ok(stmt.query_map(params![relationship_id, party_id, limit], |r| intervention_row(&RowCells(r)))?.collect::<Result<_, _>>()?)
}

fn series(c: &Connection, relationship_id: Uuid, series_id: Uuid) -> R<Series> {
    c.prepare_cached(&native(SERIES))?
        .query_row([relationship_id, series_id], |r| series_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("review series"))
}

fn meeting(c: &Connection, relationship_id: Uuid, meeting_id: Uuid) -> R<Meeting> {
    c.prepare_cached(&native(MEETING))?
        .query_row([relationship_id, meeting_id], |r| meeting_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("meeting"))
}

/// What an agenda is chosen from, read with the reads the scorecard, the obligations, the issue
/// and action logs and the objectives use: a statement or two each, none per item.
fn agenda_facts(c: &Connection, m: &Meeting) -> R<AgendaFacts> {
    let r = m.relationship_id;
    let previous = c
        .prepare_cached(&native(PREVIOUS_MEETING))?
        .query_row(params![r, m.line.series_id, micros(m.line.starts_at)], |row| meeting_row(&RowCells(row)))
        .optional()?;
    let live = IssueFilter { state: Some(IssueState::Live), ..IssueFilter::default() };
    Ok(AgendaFacts {
        on: m.line.local_date(),
        since: previous.as_ref().map(|p| p.line.starts_at),
        parties: parties(c, r)?,
        kpis: kpis(c, r)?,
        recent: recent_measurements(c, r, 2)?,
        obligations: obligations(c, r)?,
        issues: issues(c, r, &live, None, PageRequest::MAX)?,
        levels: ladder(c, r, None)?.levels.into_iter().map(|l| l.name).collect(),
        actions: actions(c, r, ActionFilter::Open, None, PageRequest::MAX)?,
        objectives: objectives(c, r)?,
        previous,
    })
}

/// The series list (the reviews page, and the overview in its one read).
pub(crate) fn series_lines(c: &Connection, relationship_id: Uuid) -> R<Vec<SeriesLine>> {
    let mut stmt = c.prepare_cached(&native(SERIES_LIST))?;
    Ok(stmt.query_map([relationship_id], |r| series_line_row(&RowCells(r)))?.collect::<Result<_, _>>()?)
}

fn write_series(tx: &Connection, s: &Series, actor: Uuid, now: Timestamp) -> R<()> {
    let roles: Vec<&str> = s.invited_roles.iter().map(|r| r.as_str()).collect();
    tx.prepare_cached(
        "INSERT INTO review_series (relationship_id, series_id, name, kind, cadence, chairs, invited_roles, invitees, created_by, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (relationship_id, series_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, cadence = excluded.cadence,
            chairs = excluded.chairs, invited_roles = excluded.invited_roles, invitees = excluded.invitees, version = excluded.version,
            updated_at = excluded.updated_at",
    )?
    .execute(params![
        s.relationship_id,
        s.id,
        s.name,
        s.kind.as_str(),
        s.cadence.as_stored(),
        json(&s.chairs),
        json(&roles),
        json(&s.invitees),
        actor,
        s.version,
        micros(s.created_at),
        micros(now)
    ])
    .map_err(unique_as("name", "is the name of another series of this relationship"))?;
    Ok(())
}

fn save_series(tx: &Connection, input: &SeriesInput, before: Option<(Uuid, i64)>, actor: Uuid, now: Timestamp) -> R<Series> {
    let r = input.relationship_id;
    get_relationship(tx, r)?;
    let current = match before {
        Some((id, _)) => Some(series(tx, r, id)?),
        None => None,
    };
    let id = current.as_ref().map_or_else(|| new_id(now), |s| s.id);
    let before = current.as_ref().zip(before).map(|(s, (_, v))| (s, v));
    let (s, draft) = decide::save_series(input, &parties(tx, r)?, &members_now(tx, r)?, before, id, actor, now)?;
    write_series(tx, &s, actor, now)?;
    append(tx, r, draft, now)?;
    series(tx, r, id)
}

fn apply(tx: &Connection, plan: MeetingPlan, actor: Uuid, now: Timestamp) -> R<Meeting> {
    let m = &plan.meeting;
    let r = m.relationship_id;
    tx.prepare_cached(
        "UPDATE meeting SET local_start = ?3, time_zone = ?4, starts_at = ?5, duration_minutes = ?6, place = ?7, call_link = ?8, status = ?9,
            sequence = ?10, minutes = ?11, version = ?12, updated_at = ?13 WHERE relationship_id = ?1 AND meeting_id = ?2",
    )?
    .execute(params![
        r,
        m.line.id,
        m.line.local_start.to_string(),
        m.line.time_zone,
        micros(m.line.starts_at),
        m.line.duration_minutes,
        m.place.place,
        m.place.call_link,
        m.line.status.as_str(),
        m.line.sequence,
        json(&m.minutes),
        m.version,
        micros(now)
    ])?;
    for item in &plan.new_items {
        tx.prepare_cached("INSERT OR IGNORE INTO meeting_item (relationship_id, item_id, meeting_id) VALUES (?1, ?2, ?3)")?
            .execute(params![r, item, m.line.id])?;
    }
    if let Some(i) = &plan.intervention {
        tx.prepare_cached(
            "INSERT INTO review_intervention (relationship_id, decision_id, meeting_id, party_id, text, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![r, i.decision_id, i.meeting_id, i.party_id, i.text, micros(i.decided_at)])?;
    }
    if let Some((id, new)) = &plan.action {
        insert_action(tx, new, *id, actor, now)?;
    }
    for draft in plan.drafts {
        append(tx, r, draft, now)?;
    }
    meeting(tx, r, m.line.id)
}

#[async_trait]
impl ReviewStore for SqliteStore {
    async fn create_series(&self, new: SeriesInput, actor: Uuid, now: Timestamp) -> StoreResult<Series> {
        self.write(move |tx| save_series(tx, &new, None, actor, now)).await
    }

    async fn update_series(
        &self, relationship_id: Uuid, series_id: Uuid, change: SeriesInput, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Series> {
        let change = SeriesInput { relationship_id, ..change };
        self.write(move |tx| save_series(tx, &change, Some((series_id, expected_version)), actor, now)).await
    }

    async fn series(&self, relationship_id: Uuid, series_id: Uuid) -> StoreResult<Series> {
        self.run(move |c| series(c, relationship_id, series_id)).await
    }

    async fn series_list(&self, relationship_id: Uuid) -> StoreResult<Vec<SeriesLine>> {
        self.run(move |c| series_lines(c, relationship_id)).await
    }

    async fn meetings(
        &self, relationship_id: Uuid, series_id: Uuid, before: Option<(Timestamp, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<MeetingLine>> {
        self.run(move |c| {
            let (at, id) = before.map_or((i64::MAX, Uuid::max()), |(t, id)| (micros(t), id));
            let mut stmt = c.prepare_cached(&native(MEETINGS))?;
            let rows = stmt.query_map(params![relationship_id, series_id, at, id, limit], |r| meeting_line_row(&RowCells(r), 0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn schedule_meeting(&self, new: NewMeeting, actor: Uuid, now: Timestamp) -> StoreResult<Meeting> {
        self.write(move |tx| {
            let r = new.relationship_id;
            let s = series(tx, r, new.series_id)?;
            let id = new_id(now);
            let draft = decide::schedule_meeting(&new, &s, id, actor);
            tx.prepare_cached(
                "INSERT INTO meeting (relationship_id, meeting_id, series_id, local_start, time_zone, starts_at, duration_minutes, place, call_link,
                    status, sequence, minutes, created_by, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'scheduled', 0, ?10, ?11, 1, ?12, ?12)",
            )?
            .execute(params![
                r,
                id,
                s.id,
                new.time.local.to_string(),
                new.time.time_zone,
                micros(new.time.starts_at),
                new.time.duration_minutes,
                new.place.place,
                new.place.call_link,
                json(&Minutes::default()),
                actor,
                micros(now)
            ])?;
            append(tx, r, draft, now)?;
            meeting(tx, r, id)
        })
        .await
    }

    async fn meeting(&self, relationship_id: Uuid, meeting_id: Uuid) -> StoreResult<Meeting> {
        self.run(move |c| meeting(c, relationship_id, meeting_id)).await
    }

    async fn change_meeting(
        &self, relationship_id: Uuid, meeting_id: Uuid, command: MeetingCommand, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Meeting> {
        self.write(move |tx| {
            let m = meeting(tx, relationship_id, meeting_id)?;
            let s = series(tx, relationship_id, m.line.series_id)?;
            let members = members_now(tx, relationship_id)?;
            let parties = parties(tx, relationship_id)?;
            let facts = if command.needs_facts() { Some(agenda_facts(tx, &m)?) } else { None };
            let state = MeetingState { meeting: &m, series: &s, members: &members, parties: &parties, facts: facts.as_ref() };
            let plan = decide::change_meeting(state, command, expected_version, || new_id(now), actor, now)?;
            apply(tx, plan, actor, now)
        })
        .await
    }

    async fn interventions_for_party(&self, relationship_id: Uuid, party_id: Uuid, limit: u32) -> StoreResult<Vec<Intervention>> {
        self.run(move |c| interventions(c, relationship_id, party_id, limit)).await
    }
}
