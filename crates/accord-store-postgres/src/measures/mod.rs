//! The measures module on PostgreSQL: objectives, KPIs, measured values and obligations. Each
//! write loads what its rules need (with the locks below), asks
//! `accord_store::measures::decide`, and applies the answer, in one transaction.
//!
//! How writers are kept apart here (SQLite's IMMEDIATE transactions need none of this):
//! - a versioned update locks its row before it reads the version;
//! - a measurement (recorded or imported) locks its KPI first, so that neither the current value
//!   of a period nor the threshold versions that give its RAG change before it commits; adding a
//!   threshold version takes the same lock;
//! - a write that checks a membership (reporter, owner) locks the chain first, as elsewhere.
//!
//! Rows are locked `FOR NO KEY UPDATE`: writers of the row wait for each other, but an insert that
//! merely references the row (its foreign-key check takes `KEY SHARE`) does not wait, which keeps
//! a referencing writer that holds the chain from deadlocking with the row's writer. Row locks are
//! taken before the chain's, and several KPIs in id order.

use super::*;
use accord_domain::measure::{Cadence, Direction, Rag, Version};
use accord_store::measures::decide::{self, KpiRules};
use jiff::civil::Date;
use std::collections::HashMap;
use tokio::try_join;

mod kpis;
mod objectives;
mod obligations;
mod values;

pub(crate) use kpis::*;
pub(crate) use objectives::*;
pub(crate) use obligations::*;
pub(crate) use values::*;

async fn rows(c: &impl GenericClient, sql: &str, params: Params<'_>) -> R<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

/// Is the party one of the relationship's?
pub(crate) async fn party_known(c: &impl GenericClient, relationship_id: Uuid, party_id: Uuid) -> R<bool> {
    let sql = "SELECT 1 FROM party WHERE relationship_id = $1 AND party_id = $2";
    Ok(query_opt(c, sql, &[&relationship_id, &party_id], |_| Ok(())).await?.is_some())
}

/// Is the person a current member (or is nobody named)? Locks the chain first, so that the
/// membership cannot end before this transaction does.
pub(crate) async fn member_or_none(tx: &Transaction<'_>, relationship_id: Uuid, user_id: Option<Uuid>) -> R<bool> {
    let Some(user_id) = user_id else { return Ok(true) };
    lock_chain(tx, relationship_id).await?;
    Ok(current_membership(tx, relationship_id, user_id).await?.is_some())
}

/// Locks the row of `table` (keyed `{table}_id`) until the transaction ends; NotFound when the
/// relationship has no such row.
pub(crate) async fn lock_row(tx: &Transaction<'_>, table: &str, relationship_id: Uuid, id: Uuid, what: &'static str) -> R<()> {
    let sql = format!("SELECT 1 FROM {table} WHERE relationship_id = $1 AND {table}_id = $2 FOR NO KEY UPDATE");
    query_opt(tx, &sql, &[&relationship_id, &id], |_| Ok(())).await?.ok_or(not_found(what))
}

/// Pairs (owner, linked id) from `sql`, which takes the relationship as $1.
async fn links(c: &impl GenericClient, sql: &str, relationship_id: Uuid) -> R<Vec<(Uuid, Uuid)>> {
    query_all(c, sql, &[&relationship_id], |r| Ok((r.try_get(0)?, r.try_get(1)?))).await
}

#[async_trait]
impl MeasureStore for PostgresStore {
    async fn create_objective(&self, new: NewObjective, actor: Uuid, now: Timestamp) -> StoreResult<Objective> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let r = new.relationship_id;
                get_relationship(tx, r).await?;
                let mut parties_known = true;
                for party in &new.parties {
                    parties_known &= party_known(tx, r, *party).await?;
                }
                let id = new_id(now);
                let draft = decide::create_objective(&new, parties_known, id, actor)?;
                execute(
                    tx,
                    "INSERT INTO objective (relationship_id, objective_id, title, description, review_months, next_review, status, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'active', 1, $7, $7)",
                    &[&r, &id, &new.title, &new.description, &new.review_months, &new.next_review, &now],
                )
                .await?;
                for party in &new.parties {
                    execute(tx, "INSERT INTO objective_party (relationship_id, objective_id, party_id) VALUES ($1, $2, $3)", &[&r, &id, party])
                        .await?;
                }
                append(tx, r, draft, now).await?;
                objective(tx, r, id).await
            })
        })
        .await
    }

    async fn objectives(&self, relationship_id: Uuid) -> StoreResult<Vec<Objective>> {
        self.read(move |c| Box::pin(objectives(c, relationship_id))).await
    }

    async fn objective(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Objective> {
        self.read(move |c| Box::pin(objective(c, relationship_id, objective_id))).await
    }

    async fn review_objective(
        &self, relationship_id: Uuid, objective_id: Uuid, review: ObjectiveReview, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Objective> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_row(tx, "objective", relationship_id, objective_id, "objective").await?;
                let before = objective(tx, relationship_id, objective_id).await?;
                let after = decide::review_objective(&before, &review, expected_version, actor)?;
                execute(
                    tx,
                    "UPDATE objective SET title = $3, description = $4, next_review = $5, status = $6, version = version + 1, updated_at = $7
                     WHERE relationship_id = $1 AND objective_id = $2",
                    &[&relationship_id, &objective_id, &after.title, &after.description, &review.next_review, &after.status.as_str(), &now],
                )
                .await?;
                execute(
                    tx,
                    "INSERT INTO objective_review (relationship_id, objective_review_id, objective_id, verdict, reason, decided_by, decided_at, previous_title, previous_description)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &[
                        &relationship_id,
                        &new_id(now),
                        &objective_id,
                        &review.verdict.as_str(),
                        &review.reason,
                        &actor,
                        &now,
                        &before.title,
                        &before.description,
                    ],
                )
                .await?;
                append(tx, relationship_id, after.draft, now).await?;
                objective(tx, relationship_id, objective_id).await
            })
        })
        .await
    }

    async fn objective_reviews(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Vec<ObjectiveReviewRecord>> {
        self.read(move |c| Box::pin(objective_reviews(c, relationship_id, objective_id))).await
    }

    async fn create_kpi(&self, new: NewKpi, actor: Uuid, now: Timestamp) -> StoreResult<Kpi> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let r = new.relationship_id;
                get_relationship(tx, r).await?;
                let party = match new.party_id {
                    Some(party) => party_known(tx, r, party).await?,
                    None => true,
                };
                let reporter = member_or_none(tx, r, new.reporter_id).await?;
                let mut unknown_objective = None;
                for o in &new.objectives {
                    let sql = "SELECT 1 FROM objective WHERE relationship_id = $1 AND objective_id = $2";
                    if unknown_objective.is_none() && query_opt(tx, sql, &[&r, o], |_| Ok(())).await?.is_none() {
                        unknown_objective = Some(*o);
                    }
                }
                let id = new_id(now);
                let draft = decide::create_kpi(&new, decide::KpiReferences { party, reporter, unknown_objective }, id, actor)?;
                let t = &new.thresholds;
                execute(
                    tx,
                    "INSERT INTO kpi (relationship_id, kpi_id, name, definition, unit, direction, cadence, party_id, reporter_id, version, created_at, updated_at, recent)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, '')",
                    &[&r, &id, &new.name, &new.definition, &new.unit, &t.direction.as_str(), &new.cadence.as_str(), &new.party_id, &new.reporter_id, &now],
                )
                .await
                .map_err(unique_as("name", "another KPI of this relationship has this name"))?;
                insert_version(tx, r, id, &Version { effective_from: new.effective_from, thresholds: *t }, actor, now).await?;
                for o in &new.objectives {
                    execute(tx, "INSERT INTO kpi_objective (relationship_id, kpi_id, objective_id) VALUES ($1, $2, $3)", &[&r, &id, o]).await?;
                }
                append(tx, r, draft, now).await?;
                kpi(tx, r, id).await
            })
        })
        .await
    }

    async fn kpis(&self, relationship_id: Uuid) -> StoreResult<Vec<Kpi>> {
        self.read(move |c| Box::pin(kpis(c, relationship_id))).await
    }

    async fn kpi(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Kpi> {
        self.read(move |c| Box::pin(kpi(c, relationship_id, kpi_id))).await
    }

    async fn kpi_versions(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Vec<KpiVersion>> {
        self.read(move |c| Box::pin(kpi_versions(c, relationship_id, kpi_id))).await
    }

    async fn add_kpi_version(
        &self, relationship_id: Uuid, kpi_id: Uuid, effective_from: Date, thresholds: Thresholds, expected_version: i64, actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Kpi> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_row(tx, "kpi", relationship_id, kpi_id, "KPI").await?;
                let before = kpi(tx, relationship_id, kpi_id).await?;
                let latest = kpi_versions(tx, relationship_id, kpi_id).await?.last().map(|v| v.effective_from);
                let draft = decide::add_kpi_version(&before, latest, effective_from, &thresholds, expected_version, actor)?;
                insert_version(tx, relationship_id, kpi_id, &Version { effective_from, thresholds }, actor, now).await?;
                execute(
                    tx,
                    "UPDATE kpi SET version = version + 1, updated_at = $3 WHERE relationship_id = $1 AND kpi_id = $2",
                    &[&relationship_id, &kpi_id, &now],
                )
                .await?;
                append(tx, relationship_id, draft, now).await?;
                kpi(tx, relationship_id, kpi_id).await
            })
        })
        .await
    }

    async fn record_measurement(
        &self, relationship_id: Uuid, input: MeasurementInput, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Measurement> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let kpi_ids = [input.kpi_id];
                if lock_kpis(tx, relationship_id, &kpi_ids).await?.is_empty() {
                    return Err(not_found("KPI"));
                }
                let rules = kpi_rules(tx, relationship_id, &kpi_ids).await?;
                let kpi_rules = rules.get(&input.kpi_id).ok_or(not_found("KPI"))?;
                let current = current_values(tx, relationship_id, &kpi_ids, input.period_start, input.period_start).await?;
                let mut plan = Plan::new(current);
                if let Some(Written { id, rag, before }) = plan.write(kpi_rules, &input, now)? {
                    plan.write_out(tx, relationship_id, Some(actor), now).await?;
                    append(tx, relationship_id, decide::record_measurement(&input, id, rag, before, actor), now).await?;
                }
                let sql = format!(
                    "{MEASUREMENT} WHERE m.relationship_id = $1 AND m.kpi_id = $2 AND m.period_start = $3 AND m.superseded_at IS NULL"
                );
                let params: Params<'_> = &[&relationship_id, &input.kpi_id, &input.period_start];
                query_opt(tx, &sql, params, |r| measurement_row(&RowCells(r))).await?.ok_or(not_found("measurement"))
            })
        })
        .await
    }

    async fn retract_measurement(
        &self, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Measurement> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                // As a recording does: a value of the KPI written meanwhile waits, or is waited for.
                if lock_kpis(tx, relationship_id, &[kpi_id]).await?.is_empty() {
                    return Err(not_found("KPI"));
                }
                let m = measurement(tx, relationship_id, kpi_id, measurement_id).await?;
                let draft = decide::retract_measurement(&m, &reason, actor)?;
                tx.execute(
                    "UPDATE measurement SET superseded_at = $3, retracted_at = $3, retracted_by = $4, retraction_reason = $5
                     WHERE relationship_id = $1 AND measurement_id = $2 AND superseded_at IS NULL",
                    &[&relationship_id, &measurement_id, &now, &actor, &reason],
                )
                .await?;
                keep_recent(tx, relationship_id, &[kpi_id]).await?;
                append(tx, relationship_id, draft, now).await?;
                measurement(tx, relationship_id, kpi_id, measurement_id).await
            })
        })
        .await
    }

    async fn measurement(&self, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid) -> StoreResult<Measurement> {
        self.read(move |c| Box::pin(measurement(c, relationship_id, kpi_id, measurement_id))).await
    }

    async fn measurements(&self, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32) -> StoreResult<Vec<Measurement>> {
        self.read(move |c| Box::pin(measurements(c, relationship_id, kpi_id, before, limit))).await
    }

    async fn measurement_history(&self, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> StoreResult<Vec<Measurement>> {
        self.read(move |c| Box::pin(measurement_history(c, relationship_id, kpi_id, period_start))).await
    }

    async fn recent_measurements(&self, relationship_id: Uuid, per_kpi: u32) -> StoreResult<Vec<Measurement>> {
        self.read(move |c| Box::pin(recent_measurements(c, relationship_id, per_kpi))).await
    }

    async fn import_measurements(
        &self, relationship_id: Uuid, rows: Vec<MeasurementInput>, file_sha256: &str, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<ImportSummary> {
        let now = micros(now);
        let sha256 = file_sha256.to_owned();
        self.write(move |tx| {
            Box::pin(async move {
                get_relationship(tx, relationship_id).await?;
                let mut kpi_ids: Vec<Uuid> = rows.iter().map(|row| row.kpi_id).collect();
                kpi_ids.sort_unstable();
                kpi_ids.dedup();
                // Those of another relationship are not locked, not found, and refused below.
                lock_kpis(tx, relationship_id, &kpi_ids).await?;
                let rules = kpi_rules(tx, relationship_id, &kpi_ids).await?;
                let periods = rows.iter().map(|row| row.period_start);
                let current = match (periods.clone().min(), periods.max()) {
                    (Some(first), Some(last)) => current_values(tx, relationship_id, &kpi_ids, first, last).await?,
                    _ => HashMap::new(),
                };
                let mut plan = Plan::new(current);
                let mut summary = ImportSummary::default();
                for (i, row) in rows.iter().enumerate() {
                    let kpi_rules = rules.get(&row.kpi_id).ok_or_else(|| decide::foreign_kpi(i))?;
                    let written = plan.write(kpi_rules, row, now)?;
                    summary.count(written.is_some(), written.is_some_and(|w| w.before.is_some()));
                }
                plan.write_out(tx, relationship_id, actor, now).await?;
                append(tx, relationship_id, decide::import_measurements(&sha256, rows.len(), summary, new_id(now), actor), now).await?;
                Ok(summary)
            })
        })
        .await
    }

    async fn create_obligation(&self, new: NewObligation, actor: Uuid, now: Timestamp) -> StoreResult<Obligation> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let r = new.relationship_id;
                get_relationship(tx, r).await?;
                let id = new_id(now);
                let draft = decide::create_obligation(&new, party_known(tx, r, new.party_id).await?, id, actor)?;
                execute(
                    tx,
                    "INSERT INTO obligation (relationship_id, obligation_id, party_id, title, description, recurrence, due_date, status, evidence, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'not_started', '', 1, $8, $8)",
                    &[&r, &id, &new.party_id, &new.title, &new.description, &new.recurrence, &new.due_date, &now],
                )
                .await?;
                append(tx, r, draft, now).await?;
                obligation(tx, r, id).await
            })
        })
        .await
    }

    async fn update_obligation(
        &self, relationship_id: Uuid, obligation_id: Uuid, change: ObligationChange, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Obligation> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                lock_row(tx, "obligation", relationship_id, obligation_id, "obligation").await?;
                let before = obligation(tx, relationship_id, obligation_id).await?;
                let draft = decide::update_obligation(&before, &change, expected_version, actor)?;
                execute(
                    tx,
                    "UPDATE obligation SET status = $3, evidence = $4, due_date = $5, version = version + 1, updated_at = $6 WHERE relationship_id = $1 AND obligation_id = $2",
                    &[&relationship_id, &obligation_id, &change.status.as_str(), &change.evidence, &change.due_date, &now],
                )
                .await?;
                append(tx, relationship_id, draft, now).await?;
                obligation(tx, relationship_id, obligation_id).await
            })
        })
        .await
    }

    async fn obligations(&self, relationship_id: Uuid) -> StoreResult<Vec<Obligation>> {
        self.read(move |c| Box::pin(obligations(c, relationship_id))).await
    }

    async fn obligation(&self, relationship_id: Uuid, obligation_id: Uuid) -> StoreResult<Obligation> {
        self.read(move |c| Box::pin(obligation(c, relationship_id, obligation_id))).await
    }
}
