//! Page views: each read on one connection, in one read transaction (see `accord_store::views`).

use crate::{Fail, MEMBER, MEMBER_ORDER, R, SqliteStore, chain_head, issues, measures, member_row, parties, recent_event_lines, viewer};
use accord_store::*;
use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::Connection;
use std::collections::HashMap;
use uuid::Uuid;

pub(crate) fn link_targets(c: &Connection, relationship_id: Uuid) -> R<Vec<LinkTarget>> {
    let mut stmt = c.prepare_cached(
        "SELECT 'objective', objective_id, title, 1, status = 'retired' FROM objective WHERE relationship_id = ?1
         UNION ALL SELECT 'kpi', kpi_id, name, 2, 0 FROM kpi WHERE relationship_id = ?1
         UNION ALL SELECT 'obligation', b.obligation_id, b.title || ' (' || o.name || ')', 3, 0
           FROM obligation b JOIN party p ON p.relationship_id = b.relationship_id AND p.party_id = b.party_id
           JOIN organisation o ON o.organisation_id = p.organisation_id WHERE b.relationship_id = ?1
         ORDER BY 4, 5, 3",
    )?;
    let rows = stmt.query_map([relationship_id], |r| Ok(LinkTarget { kind: r.get(0)?, id: r.get(1)?, label: r.get(2)? }))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The view a page asked for with its viewer.
pub(crate) fn view(c: &Connection, relationship_id: Uuid, request: ViewRequest) -> R<View> {
    Ok(match request {
        ViewRequest::Overview { events } => View::Overview(overview(c, relationship_id, events)?),
        ViewRequest::Scorecard => View::Scorecard(scorecard(c, relationship_id)?),
        ViewRequest::Kpi(request) => View::Kpi(kpi_detail(c, relationship_id, request)?),
        ViewRequest::IssueLog(request) => View::IssueLog(issue_log(c, relationship_id, &request)?),
        ViewRequest::Ladder => View::Ladder(ladder_view(c, relationship_id)?),
        ViewRequest::ActionLog(request) => View::ActionLog(action_log(c, relationship_id, &request)?),
        ViewRequest::Audit { before_position, limit } => View::Audit(audit(c, relationship_id, before_position, limit)?),
        ViewRequest::Issues { filter, after, limit } => View::Issues(issues::issues(c, relationship_id, &filter, after, limit)?),
        ViewRequest::Oversight { party_id } => View::Oversight(oversight(c, relationship_id, party_id)?),
    })
}

/// One party's oversight: each list from an index of its own, in the one read transaction.
pub(crate) fn oversight(c: &Connection, relationship_id: Uuid, party_id: Uuid) -> R<OversightView> {
    use accord_store::oversight::{OVERSIGHT_ROWS, handled_levels, level_name};
    let parties = parties(c, relationship_id)?;
    let party = parties.iter().find(|p| p.id == party_id).cloned().ok_or(crate::not_found("party"))?;
    let levels = issues::all_levels(c, relationship_id)?;
    let handled = handled_levels(&levels, &crate::current_members(c, relationship_id)?, party_id);
    let (waiting, waiting_issues) = issues::waiting_issues(c, relationship_id, &handled, OVERSIGHT_ROWS)?;
    let (actions, open_actions) = crate::actions::party_open_actions(c, relationship_id, party_id, OVERSIGHT_ROWS)?;
    let kpis: Vec<Kpi> = measures::kpis(c, relationship_id)?.into_iter().filter(|k| k.party_id == Some(party_id)).collect();
    let mut recent = recent_values(c, relationship_id)?;
    recent.retain(|v| kpis.iter().any(|k| k.id == v.kpi_id));
    Ok(OversightView {
        obligations: measures::party_obligations(c, relationship_id, party_id)?,
        actions,
        open_actions,
        kpis,
        recent,
        issues: waiting
            .into_iter()
            .map(|(line, version)| WaitingIssue { level_name: level_name(&levels, version, line.level), line })
            .collect(),
        waiting_issues,
        interventions: crate::reviews::interventions(c, relationship_id, party_id, OVERSIGHT_ROWS)?,
        party,
        parties,
    })
}

pub(crate) fn issue_log(c: &Connection, relationship_id: Uuid, request: &IssueLogRequest) -> R<IssueLogView> {
    Ok(IssueLogView {
        ladder: issues::ladder(c, relationship_id, None)?,
        stats: issues::issue_stats(c, relationship_id)?,
        parties: parties(c, relationship_id)?,
        issues: issues::issue_lines(c, relationship_id, &request.filter, request.after, request.limit)?,
    })
}

fn ladder_view(c: &Connection, relationship_id: Uuid) -> R<LadderView> {
    let ladder = issues::ladder(c, relationship_id, None)?;
    let named: Vec<Uuid> = ladder.levels.iter().flat_map(|l| l.members.iter().copied()).collect();
    let handlers = if named.is_empty() {
        HashMap::new()
    } else {
        c.prepare_cached(
            "SELECT m.user_id, u.name FROM membership m INDEXED BY membership_current JOIN user_account u ON u.user_id = m.user_id
             WHERE m.relationship_id = ?1 AND m.left_at IS NULL AND m.user_id IN (SELECT unhex(value) FROM json_each(?2))",
        )?
        .query_map(rusqlite::params![relationship_id, id_list(&named)], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?
    };
    Ok(LadderView { ladder, holidays: issues::holidays(c, relationship_id)?, parties: parties(c, relationship_id)?, handlers })
}

pub(crate) fn issue_detail(c: &Connection, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> R<IssueDetail> {
    let issue = issues::issue(c, relationship_id, issue_id)?;
    let ladder = issues::ladder(c, relationship_id, Some(issue.ladder_version))?;
    let handlers = user_names(c, ladder.levels.iter().flat_map(|l| l.members.iter().copied()))?;
    Ok(IssueDetail {
        ladder,
        proposal: issues::pending_proposal(c, relationship_id, issue_id)?,
        timeline: issues::issue_timeline(c, relationship_id, issue_id, viewer_party)?,
        handlers,
        parties: parties(c, relationship_id)?,
        targets: if issue.links.is_empty() { Vec::new() } else { link_targets(c, relationship_id)? },
        issue,
    })
}

/// `ids` as a JSON array of hexadecimal text, which `json_each` reads back (`unhex(value)`): a
/// list of any length bound as one parameter, so one prepared statement reads them all.
fn id_list(ids: &[Uuid]) -> String {
    let mut list = String::with_capacity(2 + ids.len() * 35);
    list.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push('"');
        list.push_str(id.simple().encode_lower(&mut Uuid::encode_buffer()));
        list.push('"');
    }
    list.push(']');
    list
}

/// The rows `sql` reads for `ids` (bound as ?1, or ?2 after the relationship), by id: one
/// statement for all of them, none for no ids.
fn by_ids<T>(
    c: &Connection, sql: &str, relationship_id: Option<Uuid>, ids: &[Uuid], row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<(Uuid, T)>,
) -> R<HashMap<Uuid, T>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut stmt = c.prepare_cached(sql)?;
    let list = id_list(ids);
    let rows = match relationship_id {
        Some(r) => stmt.query_map(rusqlite::params![r, list], row)?.collect::<Result<_, _>>()?,
        None => stmt.query_map([list], row)?.collect::<Result<_, _>>()?,
    };
    Ok(rows)
}

/// The names of `ids`, read in one statement (a page names a few people, not everyone).
fn user_names(c: &Connection, ids: impl Iterator<Item = Uuid>) -> R<Vec<(Uuid, String)>> {
    let mut ids: Vec<Uuid> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(user_map(c, &ids)?.into_iter().collect())
}

fn user_map(c: &Connection, ids: &[Uuid]) -> R<HashMap<Uuid, String>> {
    let sql =
        "SELECT user_id, name FROM user_account INDEXED BY user_account_names WHERE user_id IN (SELECT unhex(value) FROM json_each(?1))";
    by_ids(c, sql, None, ids, |r| Ok((r.get(0)?, r.get(1)?)))
}

/// The names of what `events` touch: one statement per kind of thing named (see `EventRefs`).
/// Each reads its ids one by one on the key (`CROSS JOIN` keeps the id list outermost): left to
/// itself, the planner may scan the relationship's rows in a covering index instead.
fn event_names(c: &Connection, relationship_id: Uuid, events: &[EventLine], parties: &[Party]) -> R<EventNames> {
    let refs = EventRefs::of(events);
    let r = Some(relationship_id);
    let titles = |sql: &str, ids: &[Uuid]| by_ids(c, sql, r, ids, |row| Ok((row.get(0)?, row.get(1)?)));
    Ok(EventNames {
        users: user_map(c, &refs.users)?,
        kpis: by_ids(
            c,
            "SELECT t.kpi_id, t.name, t.cadence, t.unit FROM json_each(?2) AS want CROSS JOIN kpi t WHERE t.relationship_id = ?1 AND t.kpi_id = unhex(want.value)",
            r,
            &refs.kpis,
            |row| {
                let cadence = crate::text_as(row, 2, accord_domain::measure::Cadence::parse)?;
                Ok((row.get(0)?, KpiName { name: row.get(1)?, cadence, unit: row.get(3)? }))
            },
        )?,
        objectives: titles(
            "SELECT t.objective_id, t.title FROM json_each(?2) AS want CROSS JOIN objective t WHERE t.relationship_id = ?1 AND t.objective_id = unhex(want.value)",
            &refs.objectives,
        )?,
        obligations: titles(
            "SELECT t.obligation_id, t.title FROM json_each(?2) AS want CROSS JOIN obligation t WHERE t.relationship_id = ?1 AND t.obligation_id = unhex(want.value)",
            &refs.obligations,
        )?,
        actions: titles(
            "SELECT t.action_id, t.title FROM json_each(?2) AS want CROSS JOIN action t WHERE t.relationship_id = ?1 AND t.action_id = unhex(want.value)",
            &refs.actions,
        )?,
        issues: issue_names(c, relationship_id, &refs.issues)?,
        ..EventNames::default()
    }
    .with_parties(parties))
}

/// Each issue's number and title, with the level names of the ladder it was raised under: the
/// ladders read once for the versions found, not once per issue (a correlated sub-select sorting
/// each issue's levels was half the cost of an audit page of escalations).
fn issue_names(c: &Connection, relationship_id: Uuid, ids: &[Uuid]) -> R<HashMap<Uuid, IssueName>> {
    let r = Some(relationship_id);
    let found = by_ids(
        c,
        "SELECT i.issue_id, i.number, i.title, i.ladder_version FROM json_each(?2) AS want CROSS JOIN issue i
         WHERE i.relationship_id = ?1 AND i.issue_id = unhex(want.value)",
        r,
        ids,
        |row| Ok((row.get(0)?, (row.get::<_, i64>(1)?, row.get::<_, String>(2)?, row.get::<_, i64>(3)?))),
    )?;
    let mut versions: Vec<i64> = found.values().map(|(_, _, v)| *v).collect();
    versions.sort_unstable();
    versions.dedup();
    let mut ladders: HashMap<i64, Vec<String>> = HashMap::new();
    if !versions.is_empty() {
        let mut stmt = c.prepare_cached(
            "SELECT l.ladder_version, l.name FROM json_each(?2) AS want CROSS JOIN ladder_level l
             WHERE l.relationship_id = ?1 AND l.ladder_version = want.value ORDER BY l.ladder_version, l.level",
        )?;
        let list = format!("[{}]", versions.iter().map(i64::to_string).collect::<Vec<_>>().join(","));
        let mut rows = stmt.query(rusqlite::params![relationship_id, list])?;
        while let Some(row) = rows.next()? {
            ladders.entry(row.get(0)?).or_default().push(row.get(1)?);
        }
    }
    Ok(found
        .into_iter()
        .map(|(id, (number, title, version))| (id, IssueName { number, title, levels: ladders.get(&version).cloned().unwrap_or_default() }))
        .collect())
}

pub(crate) fn overview(c: &Connection, relationship_id: Uuid, events: u32) -> R<OverviewView> {
    let events = recent_event_lines(c, relationship_id, None, events)?;
    let parties = parties(c, relationship_id)?;
    Ok(OverviewView {
        names: event_names(c, relationship_id, &events, &parties)?,
        parties,
        leads: c
            .prepare_cached(&format!(
                "{MEMBER} WHERE m.relationship_id = ?1 AND m.left_at IS NULL AND m.role IN ('ser', 'jmt') {MEMBER_ORDER}"
            ))?
            .query_map([relationship_id], member_row)?
            .collect::<Result<_, _>>()?,
        counts: c
            .prepare_cached("SELECT party_id, count(*) FROM membership WHERE relationship_id = ?1 AND left_at IS NULL GROUP BY party_id")?
            .query_map([relationship_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?,
        events,
        head: chain_head(c, relationship_id)?,
        stats: issues::issue_stats(c, relationship_id)?,
        series: crate::reviews::series_lines(c, relationship_id)?,
    })
}

pub(crate) fn scorecard(c: &Connection, relationship_id: Uuid) -> R<ScorecardView> {
    Ok(ScorecardView {
        parties: parties(c, relationship_id)?,
        objectives: measures::objectives(c, relationship_id)?,
        kpis: measures::kpis(c, relationship_id)?,
        recent: recent_values(c, relationship_id)?,
    })
}

/// The latest values of every KPI, as kept beside it (see V6).
fn recent_values(c: &Connection, relationship_id: Uuid) -> R<Vec<RecentValue>> {
    let mut stmt = c.prepare_cached("SELECT kpi_id, recent FROM kpi WHERE relationship_id = ?1")?;
    let mut rows = stmt.query([relationship_id])?;
    let mut recent = Vec::new();
    while let Some(r) = rows.next()? {
        let kpi_id = r.get(0)?;
        let bytes = r
            .get_ref(1)?
            .as_blob_or_null()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Blob, e.into()))?;
        decode_recent(kpi_id, bytes.unwrap_or_default(), &mut recent)
            .ok_or_else(|| crate::Fail(StoreError::Backend(format!("kpi {kpi_id}: unreadable recent values"))))?;
    }
    Ok(recent)
}

pub(crate) fn kpi_detail(c: &Connection, relationship_id: Uuid, request: KpiRequest) -> R<KpiDetail> {
    let kpi = measures::kpi(c, relationship_id, request.kpi_id)?;
    Ok(KpiDetail {
        parties: parties(c, relationship_id)?,
        reporter: user_names(c, kpi.reporter_id.into_iter())?.pop().map(|(_, name)| name),
        objectives: measures::objectives(c, relationship_id)?,
        versions: measures::kpi_versions(c, relationship_id, kpi.id)?,
        values: measures::measurements(c, relationship_id, kpi.id, None, request.values)?,
        retracted: measures::retracted_measurements(c, relationship_id, kpi.id, request.values)?,
        kpi,
    })
}

pub(crate) fn action_log(c: &Connection, relationship_id: Uuid, request: &ActionLogRequest) -> R<ActionLogView> {
    Ok(ActionLogView {
        actions: crate::actions::actions(c, relationship_id, request.filter, request.after, request.limit)?,
        kpis: kpi_labels(c, relationship_id)?,
    })
}

/// Every KPI's name and cadence: one range of a few dozen short rows.
fn kpi_labels(c: &Connection, relationship_id: Uuid) -> R<Vec<KpiLabel>> {
    let mut stmt = c.prepare_cached("SELECT kpi_id, name, cadence FROM kpi WHERE relationship_id = ?1")?;
    let rows = stmt.query_map([relationship_id], |r| {
        Ok(KpiLabel { id: r.get(0)?, name: r.get(1)?, cadence: crate::text_as(r, 2, accord_domain::measure::Cadence::parse)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn audit(c: &Connection, relationship_id: Uuid, before_position: Option<i64>, limit: u32) -> R<AuditView> {
    let events = recent_event_lines(c, relationship_id, before_position, limit)?;
    let parties = parties(c, relationship_id)?;
    Ok(AuditView { names: event_names(c, relationship_id, &events, &parties)?, events, parties, head: chain_head(c, relationship_id)? })
}

#[async_trait]
impl ViewStore for SqliteStore {
    async fn viewer_with_view(
        &self, credential: Credential, relationship_id: Uuid, now: Timestamp, request: ViewRequest,
    ) -> StoreResult<(Viewer, StoreResult<View>)> {
        self.read(move |c| {
            let viewer = viewer(c, &credential, Some(relationship_id), now)?;
            let view = if shown_views(&viewer) {
                view(c, relationship_id, request).map_err(|Fail(e)| e)
            } else {
                Err(StoreError::NotFound("relationship"))
            };
            Ok((viewer, view))
        })
        .await
    }

    async fn view(&self, relationship_id: Uuid, request: ViewRequest) -> StoreResult<View> {
        self.read(move |c| view(c, relationship_id, request)).await
    }

    async fn issue_detail(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<IssueDetail> {
        self.read(move |c| issue_detail(c, relationship_id, issue_id, viewer_party)).await
    }
}
