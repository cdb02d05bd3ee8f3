//! The measures module on SQLite: objectives, KPIs, measured values and obligations. Each write
//! loads what its rules need, asks `accord_store::measures::decide`, and applies the answer, in
//! one IMMEDIATE transaction.

use super::*;
use accord_domain::measure::{Cadence, Direction, Rag, Version};
use accord_store::measures::decide::{self, KpiRules};
use std::collections::HashMap;

mod kpis;
mod objectives;
mod obligations;
mod values;

pub(crate) use kpis::*;
pub(crate) use objectives::*;
pub(crate) use obligations::*;
pub(crate) use values::*;

/// Is the party one of the relationship's?
pub(crate) fn party_known(c: &Connection, relationship_id: Uuid, party_id: Uuid) -> R<bool> {
    let found = c
        .prepare_cached("SELECT 1 FROM party WHERE relationship_id = ?1 AND party_id = ?2")?
        .query_row([relationship_id, party_id], |_| Ok(()))
        .optional()?;
    Ok(found.is_some())
}

/// Is the person a current member (or is nobody named)?
pub(crate) fn member_or_none(c: &Connection, relationship_id: Uuid, user_id: Option<Uuid>) -> R<bool> {
    Ok(match user_id {
        Some(user_id) => current_membership(c, relationship_id, user_id)?.is_some(),
        None => true,
    })
}

/// Pairs (owner, linked id) from `sql`, which takes the relationship as ?1.
fn links(c: &Connection, sql: &str, relationship_id: Uuid) -> R<Vec<(Uuid, Uuid)>> {
    Ok(c.prepare_cached(sql)?.query_map([relationship_id], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?)
}

#[async_trait]
impl MeasureStore for SqliteStore {
    async fn create_objective(&self, new: NewObjective, actor: Uuid, now: Timestamp) -> StoreResult<Objective> {
        self.write(move |tx| {
            let r = new.relationship_id;
            get_relationship(tx, r)?;
            let mut parties_known = true;
            for party in &new.parties {
                parties_known &= party_known(tx, r, *party)?;
            }
            let id = new_id(now);
            let draft = decide::create_objective(&new, parties_known, id, actor)?;
            tx.prepare_cached(
                "INSERT INTO objective (relationship_id, objective_id, title, description, review_months, next_review, status, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', 1, ?7, ?7)",
            )?
            .execute(params![r, id, new.title, new.description, new.review_months, new.next_review.to_string(), micros(now)])?;
            for party in &new.parties {
                tx.prepare_cached("INSERT INTO objective_party (relationship_id, objective_id, party_id) VALUES (?1, ?2, ?3)")?
                    .execute([r, id, *party])?;
            }
            append(tx, r, draft, now)?;
            objective(tx, r, id)
        })
        .await
    }

    async fn objectives(&self, relationship_id: Uuid) -> StoreResult<Vec<Objective>> {
        self.run(move |c| objectives(c, relationship_id)).await
    }

    async fn objective(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Objective> {
        self.run(move |c| objective(c, relationship_id, objective_id)).await
    }

    async fn review_objective(
        &self, relationship_id: Uuid, objective_id: Uuid, review: ObjectiveReview, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Objective> {
        self.write(move |tx| {
            let before = objective(tx, relationship_id, objective_id)?;
            let after = decide::review_objective(&before, &review, expected_version, actor)?;
            tx.prepare_cached(
                "UPDATE objective SET title = ?3, description = ?4, next_review = ?5, status = ?6, version = version + 1, updated_at = ?7
                 WHERE relationship_id = ?1 AND objective_id = ?2",
            )?
            .execute(params![
                relationship_id,
                objective_id,
                after.title,
                after.description,
                review.next_review.to_string(),
                after.status.as_str(),
                micros(now)
            ])?;
            tx.prepare_cached(
                "INSERT INTO objective_review (relationship_id, objective_review_id, objective_id, verdict, reason, decided_by, decided_at, previous_title, previous_description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![relationship_id, new_id(now), objective_id, review.verdict.as_str(), review.reason, actor, micros(now), before.title, before.description])?;
            append(tx, relationship_id, after.draft, now)?;
            objective(tx, relationship_id, objective_id)
        })
        .await
    }

    async fn objective_reviews(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Vec<ObjectiveReviewRecord>> {
        self.run(move |c| objective_reviews(c, relationship_id, objective_id)).await
    }

    async fn create_kpi(&self, new: NewKpi, actor: Uuid, now: Timestamp) -> StoreResult<Kpi> {
        self.write(move |tx| {
            let r = new.relationship_id;
            get_relationship(tx, r)?;
            let mut unknown_objective = None;
            for o in &new.objectives {
                if unknown_objective.is_none() && objective(tx, r, *o).is_err() {
                    unknown_objective = Some(*o);
                }
            }
            let found = decide::KpiReferences {
                party: new.party_id.map_or(Ok(true), |party| party_known(tx, r, party))?,
                reporter: member_or_none(tx, r, new.reporter_id)?,
                unknown_objective,
            };
            let id = new_id(now);
            let draft = decide::create_kpi(&new, found, id, actor)?;
            let t = &new.thresholds;
            tx.prepare_cached(
                "INSERT INTO kpi (relationship_id, kpi_id, name, definition, unit, direction, cadence, party_id, reporter_id, version, created_at, updated_at, recent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?10, x'')",
            )?
            .execute(params![
                r,
                id,
                new.name,
                new.definition,
                new.unit,
                t.direction.as_str(),
                new.cadence.as_str(),
                new.party_id,
                new.reporter_id,
                micros(now)
            ])
            .map_err(unique_as("name", "another KPI of this relationship has this name"))?;
            insert_version(tx, r, id, &Version { effective_from: new.effective_from, thresholds: *t }, actor, now)?;
            for o in &new.objectives {
                tx.prepare_cached("INSERT INTO kpi_objective (relationship_id, kpi_id, objective_id) VALUES (?1, ?2, ?3)")?
                    .execute([r, id, *o])?;
            }
            append(tx, r, draft, now)?;
            kpi(tx, r, id)
        })
        .await
    }

    async fn kpis(&self, relationship_id: Uuid) -> StoreResult<Vec<Kpi>> {
        self.run(move |c| kpis(c, relationship_id)).await
    }

    async fn kpi(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Kpi> {
        self.run(move |c| kpi(c, relationship_id, kpi_id)).await
    }

    async fn kpi_versions(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Vec<KpiVersion>> {
        self.run(move |c| kpi_versions(c, relationship_id, kpi_id)).await
    }

    async fn add_kpi_version(
        &self, relationship_id: Uuid, kpi_id: Uuid, effective_from: Date, thresholds: Thresholds, expected_version: i64, actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Kpi> {
        self.write(move |tx| {
            let before = kpi(tx, relationship_id, kpi_id)?;
            let latest = kpi_versions(tx, relationship_id, kpi_id)?.last().map(|v| v.effective_from);
            let draft = decide::add_kpi_version(&before, latest, effective_from, &thresholds, expected_version, actor)?;
            insert_version(tx, relationship_id, kpi_id, &Version { effective_from, thresholds }, actor, now)?;
            tx.prepare_cached("UPDATE kpi SET version = version + 1, updated_at = ?3 WHERE relationship_id = ?1 AND kpi_id = ?2")?
                .execute(params![relationship_id, kpi_id, micros(now)])?;
            append(tx, relationship_id, draft, now)?;
            kpi(tx, relationship_id, kpi_id)
        })
        .await
    }

    async fn record_measurement(
        &self, relationship_id: Uuid, input: MeasurementInput, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Measurement> {
        self.write(move |tx| {
            let rules = kpi_rules(tx, relationship_id, Some(input.kpi_id))?;
            let kpi_rules = rules.get(&input.kpi_id).ok_or(not_found("KPI"))?;
            let current = current_values(tx, relationship_id, &[input.kpi_id], input.period_start, input.period_start)?;
            let existing = current.get(&(input.kpi_id, input.period_start));
            if let Some(value) = prepare_value(tx, relationship_id, kpi_rules, existing, &input, now)? {
                insert_values(tx, relationship_id, std::slice::from_ref(&value), Some(actor), now)?;
                keep_recent(tx, relationship_id, &[input.kpi_id])?;
                let before = existing.map(|c| (c.value, c.rag));
                append(tx, relationship_id, decide::record_measurement(&input, value.id, value.rag, before, actor), now)?;
            }
            Ok(tx
                .prepare_cached(&format!(
                    "{MEASUREMENT} WHERE m.relationship_id = ?1 AND m.kpi_id = ?2 AND m.period_start = ?3 AND m.superseded_at IS NULL"
                ))?
                .query_row(params![relationship_id, input.kpi_id, input.period_start.to_string()], |r| measurement_row(&RowCells(r)))?)
        })
        .await
    }

    async fn retract_measurement(
        &self, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid, reason: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Measurement> {
        self.write(move |tx| {
            let m = measurement(tx, relationship_id, kpi_id, measurement_id)?;
            let draft = decide::retract_measurement(&m, &reason, actor)?;
            tx.prepare_cached(
                "UPDATE measurement INDEXED BY measurement_current SET superseded_at = ?5, retracted_at = ?5, retracted_by = ?6, retraction_reason = ?7
                 WHERE relationship_id = ?1 AND kpi_id = ?2 AND period_start = ?3 AND superseded_at IS NULL AND measurement_id = ?4",
            )?
            .execute(params![relationship_id, kpi_id, m.period_start.to_string(), measurement_id, micros(now), actor, reason])?;
            keep_recent(tx, relationship_id, &[kpi_id])?;
            append(tx, relationship_id, draft, now)?;
            measurement(tx, relationship_id, kpi_id, measurement_id)
        })
        .await
    }

    async fn measurement(&self, relationship_id: Uuid, kpi_id: Uuid, measurement_id: Uuid) -> StoreResult<Measurement> {
        self.run(move |c| measurement(c, relationship_id, kpi_id, measurement_id)).await
    }

    async fn measurements(&self, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32) -> StoreResult<Vec<Measurement>> {
        self.run(move |c| measurements(c, relationship_id, kpi_id, before, limit)).await
    }

    async fn measurement_history(&self, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> StoreResult<Vec<Measurement>> {
        self.run(move |c| measurement_history(c, relationship_id, kpi_id, period_start)).await
    }

    async fn recent_measurements(&self, relationship_id: Uuid, per_kpi: u32) -> StoreResult<Vec<Measurement>> {
        self.run(move |c| recent_measurements(c, relationship_id, per_kpi)).await
    }

    async fn import_measurements(
        &self, relationship_id: Uuid, rows: Vec<MeasurementInput>, file_sha256: &str, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<ImportSummary> {
        let sha256 = file_sha256.to_owned();
        self.write(move |tx| {
            get_relationship(tx, relationship_id)?;
            let rules = kpi_rules(tx, relationship_id, None)?;
            let mut kpi_ids: Vec<Uuid> = rows.iter().map(|row| row.kpi_id).filter(|id| rules.contains_key(id)).collect();
            kpi_ids.sort_unstable();
            kpi_ids.dedup();
            let periods = rows.iter().map(|row| row.period_start);
            let current = match (periods.clone().min(), periods.max()) {
                (Some(first), Some(last)) => current_values(tx, relationship_id, &kpi_ids, first, last)?,
                _ => HashMap::new(),
            };
            let mut summary = ImportSummary::default();
            // KPI by KPI, each in period order: the indexes on (KPI, period) then grow at one end
            // per KPI instead of taking rows all over (a file is usually a period for every KPI,
            // then the next). Rows of the same period stay in file order (the row number is the
            // last key), so a later one still corrects an earlier one.
            let mut order: Vec<usize> = (0..rows.len()).collect();
            order.sort_unstable_by_key(|&i| (rows[i].kpi_id, rows[i].period_start, i));
            // Values wait in `pending` to be inserted many to a statement. `last` is the value
            // prepared last: a row for the same period (the same period twice in one file) comes
            // right after it.
            let mut pending: Vec<NewValue> = Vec::new();
            let mut last: Option<((Uuid, Date), Current)> = None;
            // The rows come KPI by KPI: the rules of the one at hand.
            let mut kpi_rules: Option<(Uuid, &KpiRules)> = None;
            for i in order {
                let row = &rows[i];
                if kpi_rules.is_none_or(|(id, _)| id != row.kpi_id) {
                    kpi_rules = Some((row.kpi_id, rules.get(&row.kpi_id).ok_or_else(|| decide::foreign_kpi(i))?));
                }
                let Some((_, kpi_rules)) = kpi_rules else { continue };
                let key = (row.kpi_id, row.period_start);
                let existing = match &last {
                    Some((k, c)) if *k == key => {
                        // A correction marks that value superseded, so it must be in the table by then.
                        insert_values(tx, relationship_id, &pending, actor, now)?;
                        pending.clear();
                        Some(c)
                    }
                    _ if current.is_empty() => None,
                    _ => current.get(&key),
                };
                let value = prepare_value(tx, relationship_id, kpi_rules, existing, row, now)?;
                summary.count(value.is_some(), existing.is_some());
                if let Some(value) = value {
                    last = Some((key, Current { id: value.id, value: row.value, comment: row.comment.clone(), rag: value.rag }));
                    pending.push(value);
                    if pending.len() == 1000 {
                        insert_values(tx, relationship_id, &pending, actor, now)?;
                        pending.clear();
                    }
                }
            }
            insert_values(tx, relationship_id, &pending, actor, now)?;
            keep_recent(tx, relationship_id, &kpi_ids)?;
            append(tx, relationship_id, decide::import_measurements(&sha256, rows.len(), summary, new_id(now), actor), now)?;
            Ok(summary)
        })
        .await
    }

    async fn create_obligation(&self, new: NewObligation, actor: Uuid, now: Timestamp) -> StoreResult<Obligation> {
        self.write(move |tx| {
            let r = new.relationship_id;
            get_relationship(tx, r)?;
            let id = new_id(now);
            let draft = decide::create_obligation(&new, party_known(tx, r, new.party_id)?, id, actor)?;
            tx.prepare_cached(
                "INSERT INTO obligation (relationship_id, obligation_id, party_id, title, description, recurrence, due_date, status, evidence, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'not_started', '', 1, ?8, ?8)",
            )?
            .execute(params![r, id, new.party_id, new.title, new.description, new.recurrence, new.due_date.to_string(), micros(now)])?;
            append(tx, r, draft, now)?;
            obligation(tx, r, id)
        })
        .await
    }

    async fn update_obligation(
        &self, relationship_id: Uuid, obligation_id: Uuid, change: ObligationChange, expected_version: i64, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Obligation> {
        self.write(move |tx| {
            let before = obligation(tx, relationship_id, obligation_id)?;
            let draft = decide::update_obligation(&before, &change, expected_version, actor)?;
            tx.prepare_cached(
                "UPDATE obligation SET status = ?3, evidence = ?4, due_date = ?5, version = version + 1, updated_at = ?6 WHERE relationship_id = ?1 AND obligation_id = ?2",
            )?
            .execute(params![relationship_id, obligation_id, change.status.as_str(), change.evidence, change.due_date.to_string(), micros(now)])?;
            append(tx, relationship_id, draft, now)?;
            obligation(tx, relationship_id, obligation_id)
        })
        .await
    }

    async fn obligations(&self, relationship_id: Uuid) -> StoreResult<Vec<Obligation>> {
        self.run(move |c| obligations(c, relationship_id)).await
    }

    async fn obligation(&self, relationship_id: Uuid, obligation_id: Uuid) -> StoreResult<Obligation> {
        self.run(move |c| obligation(c, relationship_id, obligation_id)).await
    }
}
