//! Page views: each read on one connection with its queries in flight together (tokio-postgres
//! pipelines the statements of concurrent futures on one connection), so a page waits for about
//! one round trip instead of one per part (see `accord_store::views`).

use crate::{Fail, PostgresStore, R, chain_head, issues, measures, member_row, parties, party_row, query_all, recent_event_lines, viewer};
use accord_domain::membership::{CurrentMember, Role};
use accord_store::*;
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use jiff::Timestamp;
use std::collections::HashMap;
use tokio::try_join;
use tokio_postgres::Row;
use uuid::Uuid;

pub(crate) async fn link_targets(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<LinkTarget>> {
    query_all(
        c,
        "SELECT 'objective', objective_id, title, 1 AS k, status = 'retired' AS r FROM objective WHERE relationship_id = $1
         UNION ALL SELECT 'kpi', kpi_id, name, 2, false FROM kpi WHERE relationship_id = $1
         UNION ALL SELECT 'obligation', b.obligation_id, b.title || ' (' || o.name || ')', 3, false
           FROM obligation b JOIN party p ON p.relationship_id = b.relationship_id AND p.party_id = b.party_id
           JOIN organisation o ON o.organisation_id = p.organisation_id WHERE b.relationship_id = $1
         ORDER BY 4, 5, 3",
        &[&relationship_id],
        |r| Ok(LinkTarget { kind: r.try_get(0)?, id: r.try_get(1)?, label: r.try_get(2)? }),
    )
    .await
}

/// The view a page asked for with its viewer.
pub(crate) async fn view(c: &impl GenericClient, relationship_id: Uuid, request: ViewRequest) -> R<View> {
    Ok(match request {
        ViewRequest::Overview { events } => View::Overview(overview(c, relationship_id, events).await?),
        ViewRequest::Scorecard => View::Scorecard(scorecard(c, relationship_id).await?),
        ViewRequest::Kpi(request) => View::Kpi(kpi_detail(c, relationship_id, request).await?),
        ViewRequest::IssueLog(request) => View::IssueLog(issue_log(c, relationship_id, &request).await?),
        ViewRequest::Ladder => View::Ladder(ladder_view(c, relationship_id).await?),
        ViewRequest::ActionLog(request) => View::ActionLog(action_log(c, relationship_id, &request).await?),
        ViewRequest::Audit { before_position, limit } => View::Audit(audit(c, relationship_id, before_position, limit).await?),
        ViewRequest::Issues { filter, after, limit } => View::Issues(issues::issues(c, relationship_id, &filter, after, limit).await?),
        ViewRequest::Oversight { party_id } => View::Oversight(oversight(c, relationship_id, party_id).await?),
    })
}

/// One party's oversight: its lists in flight together, then the issues at the levels its
/// members handle (which the ladder and the members read first decide).
pub(crate) async fn oversight(c: &impl GenericClient, relationship_id: Uuid, party_id: Uuid) -> R<OversightView> {
    use accord_store::oversight::{OVERSIGHT_ROWS, handled_levels, level_name};
    let members = async {
        let sql = "SELECT user_id, party_id, role FROM membership WHERE relationship_id = $1 AND party_id = $2 AND left_at IS NULL";
        query_all(c, sql, &[&relationship_id, &party_id], |r| {
            Ok(CurrentMember { user_id: r.try_get(0)?, party_id: r.try_get(1)?, role: crate::text_as(r, 2, Role::parse)? })
        })
        .await
    };
    let (parties, levels, members, obligations, (actions, open_actions), (kpis, recent), interventions) = try_join!(
        parties(c, relationship_id),
        issues::all_levels(c, relationship_id),
        members,
        measures::party_obligations(c, relationship_id, party_id),
        crate::actions::party_open_actions(c, relationship_id, party_id, OVERSIGHT_ROWS),
        measures::kpis_with_recent(c, relationship_id),
        crate::reviews::interventions(c, relationship_id, party_id, OVERSIGHT_ROWS),
    )?;
    let party = parties.iter().find(|p| p.id == party_id).cloned().ok_or(crate::not_found("party"))?;
    let handled = handled_levels(&levels, &members, party_id);
    let (waiting, waiting_issues) = issues::waiting_issues(c, relationship_id, &handled, OVERSIGHT_ROWS).await?;
    let kpis: Vec<Kpi> = kpis.into_iter().filter(|k| k.party_id == Some(party_id)).collect();
    let recent = recent.into_iter().filter(|v| kpis.iter().any(|k| k.id == v.kpi_id)).collect();
    Ok(OversightView {
        issues: waiting
            .into_iter()
            .map(|(line, version)| WaitingIssue { level_name: level_name(&levels, version, line.level), line })
            .collect(),
        waiting_issues,
        party,
        parties,
        obligations,
        actions,
        open_actions,
        kpis,
        recent,
        interventions,
    })
}

pub(crate) async fn issue_log(c: &impl GenericClient, relationship_id: Uuid, request: &IssueLogRequest) -> R<IssueLogView> {
    let (ladder, stats, parties, issues) = try_join!(
        issues::ladder(c, relationship_id, None),
        issues::issue_stats(c, relationship_id),
        parties(c, relationship_id),
        issues::issue_lines(c, relationship_id, &request.filter, request.after, request.limit),
    )?;
    Ok(IssueLogView { ladder, stats, parties, issues })
}

/// The ladder's page, pipelined: the handlers' names are read beside the ladder, for the levels of
/// its latest version.
async fn ladder_view(c: &impl GenericClient, relationship_id: Uuid) -> R<LadderView> {
    let handlers = async {
        let sql = "SELECT u.user_id, u.name FROM membership m JOIN user_account u ON u.user_id = m.user_id
                   WHERE m.relationship_id = $1 AND m.left_at IS NULL AND m.user_id IN (
                       SELECT unnest(l.handler_members) FROM ladder_level l WHERE l.relationship_id = $1
                       AND l.ladder_version = (SELECT max(ladder_version) FROM ladder_level WHERE relationship_id = $1))";
        Ok(query_all(c, sql, &[&relationship_id], |r| Ok((r.try_get(0)?, r.try_get(1)?))).await?.into_iter().collect())
    };
    let (ladder, holidays, parties, handlers) =
        try_join!(issues::ladder(c, relationship_id, None), issues::holidays(c, relationship_id), parties(c, relationship_id), handlers)?;
    Ok(LadderView { ladder, holidays, parties, handlers })
}

pub(crate) async fn issue_detail(
    c: &impl GenericClient, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>,
) -> R<IssueDetail> {
    let (issue, proposal, timeline, parties, (levels, handlers)) = try_join!(
        issues::issue(c, relationship_id, issue_id),
        issues::pending_proposal(c, relationship_id, issue_id),
        issues::issue_timeline(c, relationship_id, issue_id, viewer_party),
        parties(c, relationship_id),
        issues::issue_ladder(c, relationship_id, issue_id),
    )?;
    let ladder = issues::ladder_of(issue.ladder_version, levels)?;
    let targets = if issue.links.is_empty() { Vec::new() } else { link_targets(c, relationship_id).await? };
    Ok(IssueDetail { issue, ladder, proposal, timeline, handlers, parties, targets })
}

pub(crate) async fn overview(c: &impl GenericClient, relationship_id: Uuid, events: u32) -> R<OverviewView> {
    // The parties with how many current members each has, in one statement; their SER and JMT
    // members in another, named and ordered here from the parties: joined to them and sorted by
    // PostgreSQL, 15 rows cost it more than the rows themselves.
    let parties = async {
        let sql = concat!(
            "SELECT ",
            party_columns!(),
            ", (SELECT count(*) FROM membership m WHERE m.relationship_id = p.relationship_id AND m.party_id = p.party_id AND m.left_at IS NULL)
             FROM party p JOIN organisation o ON o.organisation_id = p.organisation_id WHERE p.relationship_id = $1 ORDER BY p.joined_at, p.party_id"
        );
        let counted = query_all(c, sql, &[&relationship_id], |r| Ok((party_row(r)?, (r.try_get(0)?, r.try_get(5)?)))).await?;
        Ok::<(Vec<Party>, Vec<(Uuid, i64)>), crate::Fail>(counted.into_iter().unzip())
    };
    let leads = async {
        let sql = "SELECT m.membership_id, m.relationship_id, m.party_id, '', m.user_id, u.name, u.email, m.role, m.joined_at, m.left_at
             FROM membership m JOIN user_account u ON u.user_id = m.user_id
             WHERE m.relationship_id = $1 AND m.left_at IS NULL AND m.role IN ('ser', 'jmt')";
        query_all(c, sql, &[&relationship_id], member_row).await
    };
    let ((parties, counts), mut leads, events, head, stats, series) = try_join!(
        parties,
        leads,
        recent_event_lines(c, relationship_id, None, events),
        chain_head(c, relationship_id),
        issues::issue_stats(c, relationship_id),
        crate::reviews::series_lines(c, relationship_id),
    )?;
    let party = |id: Uuid| parties.iter().position(|p| p.id == id);
    for m in &mut leads {
        if let Some(i) = party(m.party_id) {
            m.organisation_name.clone_from(&parties[i].organisation_name);
        }
    }
    // As MEMBER_ORDER orders them: by party, the SER first, then by name.
    leads.sort_by(|a, b| (party(a.party_id), a.role != Role::Ser, &a.name).cmp(&(party(b.party_id), b.role != Role::Ser, &b.name)));
    let names = event_names(c, relationship_id, &events, &parties).await?;
    Ok(OverviewView { parties, leads, counts, events, names, head, stats, series })
}

pub(crate) async fn scorecard(c: &impl GenericClient, relationship_id: Uuid) -> R<ScorecardView> {
    let (parties, objectives, (kpis, recent)) =
        try_join!(parties(c, relationship_id), measures::objectives(c, relationship_id), measures::kpis_with_recent(c, relationship_id),)?;
    Ok(ScorecardView { parties, objectives, kpis, recent })
}

pub(crate) async fn kpi_detail(c: &impl GenericClient, relationship_id: Uuid, request: KpiRequest) -> R<KpiDetail> {
    let id = request.kpi_id;
    let ((kpi, reporter), parties, objectives, versions, values, retracted) = try_join!(
        measures::kpi_with_reporter(c, relationship_id, id),
        parties(c, relationship_id),
        measures::objectives(c, relationship_id),
        measures::kpi_versions(c, relationship_id, id),
        measures::measurements(c, relationship_id, id, None, request.values),
        measures::retracted_measurements(c, relationship_id, id, request.values),
    )?;
    Ok(KpiDetail { kpi, parties, reporter, objectives, versions, values, retracted })
}

pub(crate) async fn action_log(c: &impl GenericClient, relationship_id: Uuid, request: &ActionLogRequest) -> R<ActionLogView> {
    let (actions, kpis) = try_join!(
        crate::actions::actions(c, relationship_id, request.filter, request.after, request.limit),
        kpi_labels(c, relationship_id),
    )?;
    Ok(ActionLogView { actions, kpis })
}

/// Every KPI's name and cadence: a few dozen short rows, read beside the actions.
async fn kpi_labels(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<KpiLabel>> {
    query_all(c, "SELECT kpi_id, name, cadence FROM kpi WHERE relationship_id = $1", &[&relationship_id], |r| {
        Ok(KpiLabel { id: r.try_get(0)?, name: r.try_get(1)?, cadence: crate::text_as(r, 2, accord_domain::measure::Cadence::parse)? })
    })
    .await
}

pub(crate) async fn audit(c: &impl GenericClient, relationship_id: Uuid, before_position: Option<i64>, limit: u32) -> R<AuditView> {
    let (events, parties, head) = try_join!(
        recent_event_lines(c, relationship_id, before_position, limit),
        parties(c, relationship_id),
        chain_head(c, relationship_id),
    )?;
    let names = event_names(c, relationship_id, &events, &parties).await?;
    Ok(AuditView { events, parties, names, head })
}

/// The rows `sql` reads for `ids` (`$2`, after the relationship), by id: none read for no ids.
/// Each statement looks its ids up one by one (`unnest` and a `LATERAL … LIMIT 1` on the key):
/// a cached statement's generic plan, written as `relationship_id = $1 AND id = ANY($2)`, read
/// the heavy relationship's every issue to keep 50 (13 ms, not 0.3).
async fn by_ids<T>(
    c: &impl GenericClient, sql: &str, relationship_id: Uuid, ids: &[Uuid], row: fn(&Row) -> R<(Uuid, T)>,
) -> R<HashMap<Uuid, T>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(query_all(c, sql, &[&relationship_id, &ids], row).await?.into_iter().collect())
}

/// The names of what `events` touch: one statement per kind of thing named (see `EventRefs`),
/// all in flight together.
async fn event_names(c: &impl GenericClient, relationship_id: Uuid, events: &[EventLine], parties: &[Party]) -> R<EventNames> {
    let refs = EventRefs::of(events);
    let r = relationship_id;
    fn title(row: &Row) -> R<(Uuid, String)> {
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
    let (users, kpis, objectives, obligations, actions, issues) = try_join!(
        async {
            if refs.users.is_empty() {
                return Ok(HashMap::new());
            }
            let sql = "SELECT user_id, name FROM user_account WHERE user_id = ANY($1)";
            Ok(query_all(c, sql, &[&refs.users], title).await?.into_iter().collect())
        },
        by_ids(c, "SELECT t.kpi_id, t.name, t.cadence, t.unit FROM unnest($2::uuid[]) AS want(id) CROSS JOIN LATERAL (SELECT * FROM kpi WHERE relationship_id = $1 AND kpi_id = want.id LIMIT 1) t", r, &refs.kpis, |row| {
            let cadence = crate::text_as(row, 2, accord_domain::measure::Cadence::parse)?;
            Ok((row.try_get(0)?, KpiName { name: row.try_get(1)?, cadence, unit: row.try_get(3)? }))
        }),
        by_ids(c, "SELECT t.objective_id, t.title FROM unnest($2::uuid[]) AS want(id) CROSS JOIN LATERAL (SELECT * FROM objective WHERE relationship_id = $1 AND objective_id = want.id LIMIT 1) t", r, &refs.objectives, title),
        by_ids(c, "SELECT t.obligation_id, t.title FROM unnest($2::uuid[]) AS want(id) CROSS JOIN LATERAL (SELECT * FROM obligation WHERE relationship_id = $1 AND obligation_id = want.id LIMIT 1) t", r, &refs.obligations, title),
        by_ids(c, "SELECT t.action_id, t.title FROM unnest($2::uuid[]) AS want(id) CROSS JOIN LATERAL (SELECT * FROM action WHERE relationship_id = $1 AND action_id = want.id LIMIT 1) t", r, &refs.actions, title),
        // Each issue with the level names of the ladder it was raised under.
        by_ids(
            c,
            "SELECT i.issue_id, i.number, i.title,
                    ARRAY(SELECT l.name FROM ladder_level l WHERE l.relationship_id = i.relationship_id AND l.ladder_version = i.ladder_version ORDER BY l.level)
             FROM unnest($2::uuid[]) AS want(id)
             CROSS JOIN LATERAL (SELECT * FROM issue WHERE relationship_id = $1 AND issue_id = want.id LIMIT 1) i",
            r,
            &refs.issues,
            |row| Ok((row.try_get(0)?, IssueName { number: row.try_get::<_, i64>(1)?, title: row.try_get(2)?, levels: row.try_get(3)? })),
        ),
    )?;
    Ok(EventNames { users, kpis, objectives, obligations, actions, issues, ..EventNames::default() }.with_parties(parties))
}

#[async_trait]
impl ViewStore for PostgresStore {
    async fn viewer_with_view(
        &self, credential: Credential, relationship_id: Uuid, now: Timestamp, request: ViewRequest,
    ) -> StoreResult<(Viewer, StoreResult<View>)> {
        self.read(move |c| {
            Box::pin(async move {
                // Both at once, on one connection: the view is dropped unless it may be shown.
                let (viewer, view) = tokio::join!(viewer(c, &credential, Some(relationship_id), now), view(c, relationship_id, request));
                let viewer = viewer?;
                let view = match view {
                    Ok(view) if shown_views(&viewer) => Ok(view),
                    Ok(_) => Err(StoreError::NotFound("relationship")),
                    Err(Fail(e)) => Err(e),
                };
                Ok((viewer, view))
            })
        })
        .await
    }

    async fn view(&self, relationship_id: Uuid, request: ViewRequest) -> StoreResult<View> {
        self.read(move |c| Box::pin(view(c, relationship_id, request))).await
    }

    async fn issue_detail(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<IssueDetail> {
        self.read(move |c| Box::pin(issue_detail(c, relationship_id, issue_id, viewer_party))).await
    }
}
