//! Joint reviews on PostgreSQL. Each write locks the chain (memberships cannot change under a
//! decision that names members) and the row it changes, loads what its rules need, asks
//! `accord_store::reviews::decide`, and applies the answer, in one transaction.

use super::*;
use crate::actions::{actions, insert_action};
use crate::issues::{issues, ladder};
use crate::measures::{kpis, lock_row, objectives, obligations, recent_measurements};
use accord_store::reviews::agenda::AgendaFacts;
use accord_store::reviews::decide::{self, MeetingPlan, MeetingState};
use accord_store::reviews::{INTERVENTIONS, MEETING, MEETINGS, PREVIOUS_MEETING, SERIES, SERIES_LIST, json_text as json};

/// The interventions reviews aimed at a party, newest first (its oversight page reads them too).
pub(crate) async fn interventions(c: &impl GenericClient, relationship_id: Uuid, party_id: Uuid, limit: u32) -> R<Vec<Intervention>> {
    query_all(c, INTERVENTIONS, &[&relationship_id, &party_id, &i64::from(limit)], |r| intervention_row(&RowCells(r))).await
}

async fn series(c: &impl GenericClient, relationship_id: Uuid, series_id: Uuid) -> R<Series> {
    query_opt(c, SERIES, &[&relationship_id, &series_id], |r| series_row(&RowCells(r))).await?.ok_or(not_found("review series"))
}

async fn meeting(c: &impl GenericClient, relationship_id: Uuid, meeting_id: Uuid) -> R<Meeting> {
    query_opt(c, MEETING, &[&relationship_id, &meeting_id], |r| meeting_row(&RowCells(r))).await?.ok_or(not_found("meeting"))
}

/// What an agenda is chosen from, read with the reads the scorecard, the obligations, the issue
/// and action logs and the objectives use: a statement or two each, none per item.
async fn agenda_facts(c: &Transaction<'_>, m: &Meeting) -> R<AgendaFacts> {
    let r = m.relationship_id;
    let previous = query_opt(c, PREVIOUS_MEETING, &[&r, &m.line.series_id, &m.line.starts_at], |row| meeting_row(&RowCells(row))).await?;
    let live = IssueFilter { state: Some(IssueState::Live), ..IssueFilter::default() };
    Ok(AgendaFacts {
        on: m.line.local_date(),
        since: previous.as_ref().map(|p| p.line.starts_at),
        parties: parties(c, r).await?,
        kpis: kpis(c, r).await?,
        recent: recent_measurements(c, r, 2).await?,
        obligations: obligations(c, r).await?,
        issues: issues(c, r, &live, None, PageRequest::MAX).await?,
        levels: ladder(c, r, None).await?.levels.into_iter().map(|l| l.name).collect(),
        actions: actions(c, r, ActionFilter::Open, None, PageRequest::MAX).await?,
        objectives: objectives(c, r).await?,
        previous,
    })
}

/// The series list (the reviews page, and the overview in its one round trip).
pub(crate) async fn series_lines(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<SeriesLine>> {
    query_all(c, SERIES_LIST, &[&relationship_id], |r| series_line_row(&RowCells(r))).await
}

async fn save_series(tx: &Transaction<'_>, input: &SeriesInput, before: Option<(Uuid, i64)>, actor: Uuid, now: Timestamp) -> R<Series> {
    let r = input.relationship_id;
    get_relationship(tx, r).await?;
    lock_chain(tx, r).await?;
    let current = match before {
        Some((id, _)) => {
            let sql = "SELECT 1 FROM review_series WHERE relationship_id = $1 AND series_id = $2 FOR NO KEY UPDATE";
            query_opt(tx, sql, &[&r, &id], |_| Ok(())).await?.ok_or(not_found("review series"))?;
            Some(series(tx, r, id).await?)
        }
        None => None,
    };
    let id = current.as_ref().map_or_else(|| new_id(now), |s| s.id);
    let before = current.as_ref().zip(before).map(|(s, (_, v))| (s, v));
    let (s, draft) = decide::save_series(input, &parties(tx, r).await?, &members_now(tx, r).await?, before, id, actor, now)?;
    let roles: Vec<&str> = s.invited_roles.iter().map(|r| r.as_str()).collect();
    execute(
        tx,
        "INSERT INTO review_series (relationship_id, series_id, name, kind, cadence, chairs, invited_roles, invitees, created_by, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (relationship_id, series_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, cadence = excluded.cadence,
            chairs = excluded.chairs, invited_roles = excluded.invited_roles, invitees = excluded.invitees, version = excluded.version,
            updated_at = excluded.updated_at",
        &[
            &r,
            &s.id,
            &s.name,
            &s.kind.as_str(),
            &s.cadence.as_stored(),
            &json(&s.chairs),
            &json(&roles),
            &json(&s.invitees),
            &actor,
            &s.version,
            &micros(s.created_at),
            &micros(now),
        ],
    )
    .await
    .map_err(unique_as("name", "is the name of another series of this relationship"))?;
    append(tx, r, draft, now).await?;
    Ok(s)
}

async fn apply(tx: &Transaction<'_>, plan: MeetingPlan, actor: Uuid, now: Timestamp) -> R<Meeting> {
    let m = &plan.meeting;
    let r = m.relationship_id;
    execute(
        tx,
        "UPDATE meeting SET local_start = $3, time_zone = $4, starts_at = $5, duration_minutes = $6, place = $7, call_link = $8, status = $9,
            sequence = $10, minutes = $11, version = $12, updated_at = $13 WHERE relationship_id = $1 AND meeting_id = $2",
        &[
            &r,
            &m.line.id,
            &m.line.local_start.to_string(),
            &m.line.time_zone,
            &m.line.starts_at,
            &m.line.duration_minutes,
            &m.place.place,
            &m.place.call_link,
            &m.line.status.as_str(),
            &m.line.sequence,
            &json(&m.minutes),
            &m.version,
            &now,
        ],
    )
    .await?;
    for item in &plan.new_items {
        execute(
            tx,
            "INSERT INTO meeting_item (relationship_id, item_id, meeting_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&r, item, &m.line.id],
        )
        .await?;
    }
    if let Some(i) = &plan.intervention {
        execute(
            tx,
            "INSERT INTO review_intervention (relationship_id, decision_id, meeting_id, party_id, text, decided_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&r, &i.decision_id, &i.meeting_id, &i.party_id, &i.text, &i.decided_at],
        )
        .await?;
    }
    if let Some((id, new)) = &plan.action {
        insert_action(tx, new, *id, actor, now).await?;
    }
    for draft in plan.drafts {
        append(tx, r, draft, now).await?;
    }
    meeting(tx, r, m.line.id).await
}

#[async_trait]
impl ReviewStore for PostgresStore {
    async fn create_series(&self, new: SeriesInput, actor: Uuid, now: Timestamp) -> StoreResult<Series> {
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { save_series(tx, &new, None, actor, now).await })).await
    }

    async fn update_series(
        &self, relationship_id: Uuid, series_id: Uuid, change: SeriesInput, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Series> {
        let now = micros(now);
        let change = SeriesInput { relationship_id, ..change };
        self.write(move |tx| Box::pin(async move { save_series(tx, &change, Some((series_id, expected_version)), actor, now).await })).await
    }

    async fn series(&self, relationship_id: Uuid, series_id: Uuid) -> StoreResult<Series> {
        self.read(move |c| Box::pin(series(c, relationship_id, series_id))).await
    }

    async fn series_list(&self, relationship_id: Uuid) -> StoreResult<Vec<SeriesLine>> {
        self.read(move |c| Box::pin(series_lines(c, relationship_id))).await
    }

    async fn meetings(
        &self, relationship_id: Uuid, series_id: Uuid, before: Option<(Timestamp, Uuid)>, limit: u32,
    ) -> StoreResult<Vec<MeetingLine>> {
        let (at, id) = before.unwrap_or((Timestamp::MAX, Uuid::max()));
        self.read(move |c| {
            Box::pin(async move {
                query_all(c, MEETINGS, &[&relationship_id, &series_id, &at, &id, &i64::from(limit)], |r| meeting_line_row(&RowCells(r), 0))
                    .await
            })
        })
        .await
    }

    async fn schedule_meeting(&self, new: NewMeeting, actor: Uuid, now: Timestamp) -> StoreResult<Meeting> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let r = new.relationship_id;
                let s = series(tx, r, new.series_id).await?;
                let id = new_id(now);
                let draft = decide::schedule_meeting(&new, &s, id, actor);
                execute(
                    tx,
                    "INSERT INTO meeting (relationship_id, meeting_id, series_id, local_start, time_zone, starts_at, duration_minutes, place, call_link,
                        status, sequence, minutes, created_by, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'scheduled', 0, $10, $11, 1, $12, $12)",
                    &[
                        &r,
                        &id,
                        &s.id,
                        &new.time.local.to_string(),
                        &new.time.time_zone,
                        &micros(new.time.starts_at),
                        &new.time.duration_minutes,
                        &new.place.place,
                        &new.place.call_link,
                        &json(&Minutes::default()),
                        &actor,
                        &now,
                    ],
                )
                .await?;
                append(tx, r, draft, now).await?;
                meeting(tx, r, id).await
            })
        })
        .await
    }

    async fn meeting(&self, relationship_id: Uuid, meeting_id: Uuid) -> StoreResult<Meeting> {
        self.read(move |c| Box::pin(meeting(c, relationship_id, meeting_id))).await
    }

    async fn change_meeting(
        &self, relationship_id: Uuid, meeting_id: Uuid, command: MeetingCommand, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Meeting> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_chain(tx, relationship_id).await?;
                lock_row(tx, "meeting", relationship_id, meeting_id, "meeting").await?;
                let m = meeting(tx, relationship_id, meeting_id).await?;
                let s = series(tx, relationship_id, m.line.series_id).await?;
                let members = members_now(tx, relationship_id).await?;
                let parties = parties(tx, relationship_id).await?;
                let facts = if command.needs_facts() { Some(agenda_facts(tx, &m).await?) } else { None };
                let state = MeetingState { meeting: &m, series: &s, members: &members, parties: &parties, facts: facts.as_ref() };
                let plan = decide::change_meeting(state, command, expected_version, || new_id(now), actor, now)?;
                apply(tx, plan, actor, now).await
            })
        })
        .await
    }

    async fn interventions_for_party(&self, relationship_id: Uuid, party_id: Uuid, limit: u32) -> StoreResult<Vec<Intervention>> {
        self.read(move |c| Box::pin(async move { interventions(c, relationship_id, party_id, limit).await })).await
    }
}
