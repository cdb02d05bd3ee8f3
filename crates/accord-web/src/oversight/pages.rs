//! The oversight page of one party.

use super::*;
use crate::auth::Viewed;
use crate::error::PageResult;
use crate::layout::{Shell, ok};
use crate::session::CsrfToken;
use askama::Template;
use axum::Extension;
use axum::extract::State;

pages! { ROUTES, router;
    get "/relationships/{relationship_id}/parties/{party_id}/oversight" => page;
}

#[derive(Template)]
#[template(path = "oversight/oversight.html")]
struct OversightPage {
    shell: Shell,
    relationship_id: Uuid,
    zone: jiff::tz::TimeZone,
    report: Oversight,
    /// The other parties, to go to their pages.
    others: Vec<Party>,
    /// Obligations needing attention, overdue actions (of those listed), red and amber KPIs.
    attention: usize,
    overdue: usize,
    red: usize,
    amber: usize,
}

pub async fn page(
    State(state): State<AppState>, Viewed { access, view }: Viewed<OversightView>, Extension(csrf): Extension<CsrfToken>,
) -> PageResult {
    let others = view.parties.iter().filter(|p| p.id != view.party.id).cloned().collect();
    let report = oversight(&state, &access, view)?;
    let rags = |rag: Rag| report.kpis.iter().filter(|k| k.latest.as_ref().is_some_and(|v| v.rag == rag)).count();
    let (red, amber) = (rags(Rag::Red), rags(Rag::Amber));
    ok(&OversightPage {
        attention: report.obligations.iter().filter(|o| o.concern.is_some()).count(),
        overdue: report.actions.iter().filter(|a| a.overdue).count(),
        red,
        amber,
        shell: Shell::new(Some(&access.user), &csrf, "members").within(&access.relationship),
        relationship_id: access.id(),
        zone: access.relationship.zone(),
        report,
        others,
    })
}
