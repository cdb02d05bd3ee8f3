//! Signed records on SQLite. Each write loads the record, the parties and the current members,
//! asks `accord_store::records::decide`, and applies the answer, in one IMMEDIATE transaction
//! (which keeps two signers apart: the second reads the first's signature).

use super::*;
use crate::notifications::notify;
use accord_domain::records::SubjectKind;
use accord_store::records::decide::{self, PutWrite};
use accord_store::records::statements as q;

/// A statement written once for both databases, numbered as SQLite numbers parameters.
fn native(sql: &str) -> String {
    sql.replace('$', "?")
}

pub(crate) fn record(c: &Connection, relationship_id: Uuid, record_id: Uuid) -> R<Record> {
    let mut record = c
        .prepare_cached(&format!("{} WHERE relationship_id = ?1 AND record_id = ?2", q::RECORD))?
        .query_row([relationship_id, record_id], |r| record_row(&RowCells(r)))
        .optional()?
        .ok_or(not_found("record"))?;
    let keys = [relationship_id, record_id];
    record.signers = c.prepare_cached(&native(q::SIGNERS))?.query_map(keys, |r| signer_row(&RowCells(r)))?.collect::<Result<_, _>>()?;
    record.signatures =
        c.prepare_cached(&native(q::SIGNATURES))?.query_map(keys, |r| signature_row(&RowCells(r)))?.collect::<Result<_, _>>()?;
    record.addenda =
        c.prepare_cached(&native(q::ADDENDA))?.query_map(keys, |r| record_line_row(&RowCells(r)))?.collect::<Result<_, _>>()?;
    Ok(record)
}

fn record_of(c: &Connection, relationship_id: Uuid, kind: SubjectKind, subject_id: Uuid) -> R<Option<Record>> {
    let id: Option<Uuid> = c
        .prepare_cached("SELECT record_id FROM signed_record WHERE relationship_id = ?1 AND subject_kind = ?2 AND subject_id = ?3")?
        .query_row(params![relationship_id, kind.as_str(), subject_id], |r| r.get(0))
        .optional()?;
    id.map(|id| record(c, relationship_id, id)).transpose()
}

fn party_ids(c: &Connection, relationship_id: Uuid) -> R<Vec<Uuid>> {
    Ok(parties(c, relationship_id)?.into_iter().map(|p| p.id).collect())
}

/// Puts `put` as `decide::put_record` decides; a new record takes `id`.
fn put(tx: &Connection, put: PutRecord, parent: Option<(Uuid, String)>, id: Uuid, actor: Option<Uuid>, now: Timestamp) -> R<Record> {
    let r = put.relationship_id;
    get_relationship(tx, r)?;
    let (parties, current) = (party_ids(tx, r)?, current_members(tx, r)?);
    let before = record_of(tx, r, put.kind, put.subject_id)?;
    let parent_ref = parent.as_ref().map(|(p, hash)| (*p, hash.as_str()));
    let plan = decide::put_record(before.as_ref(), &put, parent_ref, &parties, &current, id, actor)?;
    let record_id = match (&plan.write, &before) {
        (PutWrite::Same, Some(before)) => return Ok(before.clone()),
        (PutWrite::Create(id), _) => {
            tx.prepare_cached(
                "INSERT INTO signed_record (relationship_id, record_id, subject_kind, subject_id, parent_id, title, link, content, content_hash, parent_hash,
                    version, created_by, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?12, ?12)",
            )?
            .execute(params![
                r,
                id,
                put.kind.as_str(),
                put.subject_id,
                parent_ref.map(|p| p.0),
                put.title,
                put.link,
                put.content.to_string(),
                plan.hash,
                parent_ref.map(|p| p.1),
                actor,
                micros(now)
            ])?;
            *id
        }
        (PutWrite::Change { voided }, Some(before)) => {
            tx.prepare_cached(
                "UPDATE signed_record SET title = ?3, link = ?4, content = ?5, content_hash = ?6, version = version + 1, updated_at = ?7
                 WHERE relationship_id = ?1 AND record_id = ?2",
            )?
            .execute(params![r, before.id, put.title, put.link, put.content.to_string(), plan.hash, micros(now)])?;
            let mut void =
                tx.prepare_cached("UPDATE record_signature SET voided_at = ?3 WHERE relationship_id = ?1 AND signature_id = ?2")?;
            for signature in voided {
                void.execute(params![r, signature, micros(now)])?;
            }
            before.id
        }
        (_, None) => return Err(Fail(StoreError::Backend("a change of a record that is not there".into()))),
    };
    if plan.signers_changed {
        tx.prepare_cached("DELETE FROM record_signer WHERE relationship_id = ?1 AND record_id = ?2")?.execute([r, record_id])?;
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO record_signer (relationship_id, record_id, party_id, user_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (party, user) in &put.signers {
            insert.execute([r, record_id, *party, *user])?;
        }
    }
    if let Some(draft) = plan.draft {
        append(tx, r, draft, now)?;
    }
    if let Some(notice) = &plan.notice {
        notify(tx, notice, now)?;
    }
    record(tx, r, record_id)
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn put_record(&self, new: PutRecord, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Record> {
        self.write(move |tx| put(tx, new, None, new_id(now), actor, now)).await
    }

    async fn sign_record(
        &self, relationship_id: Uuid, record_id: Uuid, shown_hash: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Record> {
        self.write(move |tx| {
            let r = relationship_id;
            let before = record(tx, r, record_id)?;
            let (parties, current) = (party_ids(tx, r)?, current_members(tx, r)?);
            let signature_id = new_id(now);
            let plan = decide::sign(&before, &parties, &current, actor, &shown_hash, signature_id)?;
            let event = append(tx, r, plan.draft, now)?;
            tx.prepare_cached(
                "INSERT INTO record_signature (relationship_id, signature_id, record_id, party_id, user_id, signed_at, sha256, audit_position)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![r, signature_id, record_id, plan.party_id, actor, micros(now), before.hash, event.position])?;
            if plan.seals {
                let signed = record(tx, r, record_id)?;
                let seal = append(tx, r, decide::seal(&signed, &signed.signatures), now)?;
                tx.prepare_cached(
                    "UPDATE signed_record SET sealed_at = ?3, seal_position = ?4, seal_hash = ?5, updated_at = ?3 WHERE relationship_id = ?1 AND record_id = ?2",
                )?
                .execute(params![r, record_id, micros(now), seal.position, seal.hash])?;
            }
            record(tx, r, record_id)
        })
        .await
    }

    async fn add_addendum(&self, new: NewAddendum, actor: Uuid, now: Timestamp) -> StoreResult<Record> {
        self.write(move |tx| {
            let parent = record(tx, new.relationship_id, new.parent_id)?;
            let current = current_members(tx, new.relationship_id)?;
            let id = new_id(now);
            let addendum = decide::addendum(&parent, &new, &current, actor, id)?;
            put(tx, addendum, Some((parent.id, parent.hash)), id, Some(actor), now)
        })
        .await
    }

    async fn record(&self, relationship_id: Uuid, record_id: Uuid) -> StoreResult<Record> {
        self.run(move |c| record(c, relationship_id, record_id)).await
    }

    async fn record_of(&self, relationship_id: Uuid, kind: SubjectKind, subject_id: Uuid) -> StoreResult<Option<Record>> {
        self.run(move |c| record_of(c, relationship_id, kind, subject_id)).await
    }

    async fn records(&self, relationship_id: Uuid, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<RecordLine>> {
        self.run(move |c| {
            let before = before.unwrap_or(Uuid::max());
            let mut stmt = c.prepare_cached(&native(q::LINES))?;
            let lines = stmt.query_map(params![relationship_id, before, limit], |r| record_line_row(&RowCells(r)))?;
            Ok(lines.collect::<Result<_, _>>()?)
        })
        .await
    }
}
