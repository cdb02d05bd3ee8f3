//! Measuring the relationship: objectives, KPIs and their values, obligations, and the sheets
//! that import and export values. Its rules and operations, which the pages and the API both call.

pub mod api;
mod input;
pub mod pages;
pub mod sheets;

pub use input::*;

use crate::AppState;
use crate::auth::Access;
use crate::dates::today;
use crate::error::{ApiError, ApiResult, stale};
use crate::input::known;
pub use accord_domain::measure::with_unit;
use accord_store::*;
use uuid::Uuid;

/// Who may record a KPI's values: SERs and JMT members any; contributors their own party's and
/// joint KPIs; observers none.
pub fn may_record(access: &Access, kpi: &Kpi) -> Result<(), ApiError> {
    let me = access.writer()?;
    if me.role.manages() || kpi.party_id.is_none() || kpi.party_id == Some(me.party_id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Contributors record values of their own party's KPIs and of joint KPIs."))
    }
}

/// Who may update an obligation: SERs and JMT members, and contributors of the committed party.
pub fn may_update_obligation(access: &Access, obligation: &Obligation) -> Result<(), ApiError> {
    let me = access.writer()?;
    if me.role.manages() || me.party_id == obligation.party_id {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only the committed party or the JMT updates this obligation."))
    }
}

pub async fn create_objective(state: &AppState, access: &Access, input: &ObjectiveInput) -> ApiResult<Objective> {
    let me = access.manager()?;
    let parties = known(state, access.id()).await?.parties;
    let new = input.parse(access.id(), &parties, today(state, &access.relationship))?;
    Ok(state.store.create_objective(new, me.user_id, state.now()).await?)
}

/// An objective with its relevance reviews, newest first.
pub async fn objective(state: &AppState, access: &Access, objective_id: Uuid) -> ApiResult<(Objective, Vec<ObjectiveReviewRecord>)> {
    access.member()?;
    let objective = state.store.objective(access.id(), objective_id).await?;
    let reviews = state.store.objective_reviews(access.id(), objective.id).await?;
    Ok((objective, reviews))
}

/// Records a relevance review: still relevant, revised (the old wording kept), or retired.
pub async fn review_objective(state: &AppState, access: &Access, objective: &Objective, input: &ReviewInput) -> ApiResult<Objective> {
    let me = access.manager()?;
    let (review, version) = input.parse(objective, today(state, &access.relationship))?;
    state.store.review_objective(access.id(), objective.id, review, version, me.user_id, state.now()).await.map_err(stale)
}

pub async fn create_kpi(state: &AppState, access: &Access, input: &KpiInput) -> ApiResult<Kpi> {
    let me = access.manager()?;
    let new = input.parse(access.id(), &known(state, access.id()).await?, today(state, &access.relationship))?;
    Ok(state.store.create_kpi(new, me.user_id, state.now()).await?)
}

/// New thresholds from a later period; earlier periods keep the RAG they had.
pub async fn add_kpi_version(state: &AppState, access: &Access, kpi: &Kpi, input: &VersionInput) -> ApiResult<Kpi> {
    let me = access.manager()?;
    let (from, thresholds, version) = input.parse(kpi)?;
    state.store.add_kpi_version(access.id(), kpi.id, from, thresholds, version, me.user_id, state.now()).await.map_err(stale)
}

/// Records or corrects a value of `kpi`; its RAG is computed now, under the thresholds in force.
pub async fn record_measurement(state: &AppState, access: &Access, kpi: &Kpi, input: &MeasurementBody) -> ApiResult<Measurement> {
    may_record(access, kpi)?;
    let input = input.parse(kpi, crate::dates::recordable(state, &access.relationship))?;
    Ok(state.store.record_measurement(access.id(), input, access.user.id, state.now()).await?)
}

/// A value of `kpi` that its recorders may retract: a current one (else 422, naming why not).
pub async fn retractable(state: &AppState, access: &Access, kpi: &Kpi, measurement_id: Uuid) -> ApiResult<Measurement> {
    may_record(access, kpi)?;
    let value = state.store.measurement(access.id(), kpi.id, measurement_id).await?;
    accord_store::measures::decide::retractable(&value)?;
    Ok(value)
}

/// Retracts a value of `kpi` recorded by mistake, giving a reason: kept in history, marked
/// retracted; its period has no current value until one is recorded again.
pub async fn retract_measurement(
    state: &AppState, access: &Access, kpi: &Kpi, measurement_id: Uuid, input: &RetractInput,
) -> ApiResult<Measurement> {
    may_record(access, kpi)?;
    let reason = input.parse()?;
    Ok(state.store.retract_measurement(access.id(), kpi.id, measurement_id, reason, access.user.id, state.now()).await?)
}

pub async fn create_obligation(state: &AppState, access: &Access, input: &ObligationInput) -> ApiResult<Obligation> {
    let me = access.manager()?;
    let new = input.parse(access.id(), &known(state, access.id()).await?.parties)?;
    Ok(state.store.create_obligation(new, me.user_id, state.now()).await?)
}

/// An obligation of the relationship, for a member.
pub async fn obligation(state: &AppState, access: &Access, obligation_id: Uuid) -> ApiResult<Obligation> {
    access.member()?;
    Ok(state.store.obligation(access.id(), obligation_id).await?)
}

/// Changes an obligation's status, evidence or due date, guarded by `version`.
pub async fn update_obligation(
    state: &AppState, access: &Access, obligation: &Obligation, input: &ObligationUpdate,
) -> ApiResult<Obligation> {
    may_update_obligation(access, obligation)?;
    let (change, version) = input.parse(obligation)?;
    state.store.update_obligation(access.id(), obligation.id, change, version, access.user.id, state.now()).await.map_err(stale)
}
