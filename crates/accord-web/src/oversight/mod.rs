//! SER oversight, per party: what one party owes and whether it delivers (its obligations, the
//! actions it owns, the KPIs it answers for, the issues waiting at levels it handles) and the
//! interventions reviews aimed at it. One report, which the page and the API both show.

pub mod api;
pub mod pages;

use crate::AppState;
use crate::auth::{Access, PageView};
use crate::dates::today;
use crate::error::ApiError;
use accord_domain::escalation::IssueStatus;
use accord_domain::id::parse_id;
use accord_domain::measure::{Period, Rag};
use accord_store::oversight::{Concern, arrange_obligations, concern, kpi_standing};
use accord_store::*;
use axum::http::Uri;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

impl PageView for OversightView {
    fn request(params: &HashMap<String, String>, _: &Uri) -> Result<ViewRequest, ApiError> {
        let party_id = params.get("party_id").and_then(|p| parse_id(p)).ok_or(ApiError::NotFound)?;
        Ok(ViewRequest::Oversight { party_id })
    }
}

/// One party's oversight, as the page and the API show it.
#[derive(Serialize, ToSchema)]
pub struct Oversight {
    pub party: Party,
    /// Missed, past due and at risk first, then open, then delivered; each by due date.
    pub obligations: Vec<ObligationStanding>,
    /// Open actions the party owns, by due date (overdue first): at most 50 of `open_actions`.
    pub actions: Vec<ActionStanding>,
    pub open_actions: i64,
    /// The KPIs the party is responsible for, by name.
    pub kpis: Vec<KpiStanding>,
    /// Live issues at a level that one of the party's members handles, by deadline: at most 50
    /// of `waiting_issues`.
    pub issues: Vec<WaitingIssueLine>,
    pub waiting_issues: i64,
    /// Review decisions aimed at this party.
    pub interventions: Vec<Intervention>,
}

#[derive(Serialize, ToSchema)]
pub struct ObligationStanding {
    #[serde(flatten)]
    pub obligation: Obligation,
    /// Why it needs attention, if it does.
    pub concern: Option<Concern>,
}

#[derive(Serialize, ToSchema)]
pub struct ActionStanding {
    #[serde(flatten)]
    pub action: Action,
    pub overdue: bool,
}

#[derive(Serialize, ToSchema)]
pub struct KpiStanding {
    pub kpi: Kpi,
    /// Its latest value, if it has one.
    pub latest: Option<LatestValue>,
    /// Against the value before: `improving`, `worsening` or `level`; none with fewer than two.
    pub trend: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LatestValue {
    #[schema(value_type = String, format = Date)]
    pub period_start: Date,
    /// The period as people name it: `March 2026`, `Q1 2026`.
    pub period: String,
    pub value: f64,
    pub rag: Rag,
}

#[derive(Serialize, ToSchema)]
pub struct WaitingIssueLine {
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub severity: String,
    pub level: i32,
    pub level_name: String,
    pub status: IssueStatus,
    #[schema(value_type = String, format = DateTime)]
    pub deadline: Timestamp,
    pub overdue: bool,
}

/// The report of the view `access` may see: members only (observers too: it is the joint picture).
pub fn oversight(state: &AppState, access: &Access, view: OversightView) -> Result<Oversight, ApiError> {
    access.member()?;
    let today = today(state, &access.relationship);
    let now = state.now();
    let OversightView { party, obligations: mut owed, actions, open_actions, kpis, recent, issues, waiting_issues, interventions, .. } =
        view;
    arrange_obligations(&mut owed, today);
    Ok(Oversight {
        obligations: owed.into_iter().map(|o| ObligationStanding { concern: concern(&o, today), obligation: o }).collect(),
        actions: actions.into_iter().map(|a| ActionStanding { overdue: a.due_date < today, action: a }).collect(),
        open_actions,
        kpis: kpis
            .into_iter()
            .map(|kpi| {
                let (latest, trend) = kpi_standing(&kpi, &recent);
                KpiStanding {
                    latest: latest.map(|v| LatestValue {
                        period_start: v.period_start,
                        period: Period { cadence: kpi.cadence, start: v.period_start }.label(),
                        value: v.value,
                        rag: v.rag,
                    }),
                    trend: trend.map(|t| t.arrow().1.to_owned()),
                    kpi,
                }
            })
            .collect(),
        issues: issues
            .into_iter()
            .map(|w| WaitingIssueLine {
                id: w.line.id,
                number: w.line.number,
                title: w.line.title,
                severity: w.line.severity,
                level: w.line.level,
                level_name: w.level_name,
                status: w.line.status,
                overdue: w.line.deadline < now,
                deadline: w.line.deadline,
            })
            .collect(),
        waiting_issues,
        interventions,
        party,
    })
}
