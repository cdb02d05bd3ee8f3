//! Signed records on PostgreSQL. Each write loads the record, the parties and the current members,
//! asks `accord_store::records::decide`, and applies the answer, in one transaction.
//!
//! How writers are kept apart: a signature locks the record's row (`FOR NO KEY UPDATE`) before it
//! reads it, so of two parties signing at once the second sees the first's signature and seals;
//! a put locks an existing record's row the same way, then the chain (rows before the chain, as
//! every module does); a new record's put takes the chain first and looks again.

use super::*;
use crate::notifications::notify;
use accord_domain::records::SubjectKind;
use accord_store::records::decide::{self, PutWrite};
use accord_store::records::statements as q;

pub(crate) async fn record(c: &impl GenericClient, relationship_id: Uuid, record_id: Uuid) -> R<Record> {
    let keys: Params = &[&relationship_id, &record_id];
    let sql = format!("{} WHERE relationship_id = $1 AND record_id = $2", q::RECORD);
    let mut record = query_opt(c, &sql, keys, |r| record_row(&RowCells(r))).await?.ok_or(not_found("record"))?;
    record.signers = query_all(c, q::SIGNERS, keys, |r| signer_row(&RowCells(r))).await?;
    record.signatures = query_all(c, q::SIGNATURES, keys, |r| signature_row(&RowCells(r))).await?;
    record.addenda = query_all(c, q::ADDENDA, keys, |r| record_line_row(&RowCells(r))).await?;
    Ok(record)
}

async fn record_id_of(c: &impl GenericClient, relationship_id: Uuid, kind: SubjectKind, subject_id: Uuid) -> R<Option<Uuid>> {
    let sql = "SELECT record_id FROM signed_record WHERE relationship_id = $1 AND subject_kind = $2 AND subject_id = $3";
    query_opt(c, sql, &[&relationship_id, &kind.as_str(), &subject_id], |r| Ok(r.try_get(0)?)).await
}

async fn lock_record(tx: &Transaction<'_>, relationship_id: Uuid, record_id: Uuid) -> R<()> {
    let sql = "SELECT 1 FROM signed_record WHERE relationship_id = $1 AND record_id = $2 FOR NO KEY UPDATE";
    query_opt(tx, sql, &[&relationship_id, &record_id], |_| Ok(())).await?.ok_or(not_found("record"))
}

async fn party_ids(c: &impl GenericClient, relationship_id: Uuid) -> R<Vec<Uuid>> {
    Ok(parties(c, relationship_id).await?.into_iter().map(|p| p.id).collect())
}

/// Puts `put` as `decide::put_record` decides; a new record takes `id`.
async fn put(
    tx: &Transaction<'_>, put: PutRecord, parent: Option<(Uuid, String)>, id: Uuid, actor: Option<Uuid>, now: Timestamp,
) -> R<Record> {
    let r = put.relationship_id;
    get_relationship(tx, r).await?;
    let existing = record_id_of(tx, r, put.kind, put.subject_id).await?;
    match existing {
        Some(existing) => lock_record(tx, r, existing).await?,
        None => lock_chain(tx, r).await?,
    }
    // Looked up again under the lock: a put of the same subject may have made it meanwhile.
    let before = match existing.or(record_id_of(tx, r, put.kind, put.subject_id).await?) {
        Some(existing) => Some(record(tx, r, existing).await?),
        None => None,
    };
    let (parties, current) = (party_ids(tx, r).await?, current_members(tx, r).await?);
    let parent_ref = parent.as_ref().map(|(p, hash)| (*p, hash.as_str()));
    let plan = decide::put_record(before.as_ref(), &put, parent_ref, &parties, &current, id, actor)?;
    let content = put.content.to_string();
    let record_id = match (&plan.write, &before) {
        (PutWrite::Same, Some(before)) => return Ok(before.clone()),
        (PutWrite::Create(id), _) => {
            execute(
                tx,
                "INSERT INTO signed_record (relationship_id, record_id, subject_kind, subject_id, parent_id, title, link, content, content_hash, parent_hash,
                    version, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12)",
                &[
                    &r,
                    id,
                    &put.kind.as_str(),
                    &put.subject_id,
                    &parent_ref.map(|p| p.0),
                    &put.title,
                    &put.link,
                    &content,
                    &plan.hash,
                    &parent_ref.map(|p| p.1),
                    &actor,
                    &micros(now),
                ],
            )
            .await?;
            *id
        }
        (PutWrite::Change { voided }, Some(before)) => {
            execute(
                tx,
                "UPDATE signed_record SET title = $3, link = $4, content = $5, content_hash = $6, version = version + 1, updated_at = $7
                 WHERE relationship_id = $1 AND record_id = $2",
                &[&r, &before.id, &put.title, &put.link, &content, &plan.hash, &micros(now)],
            )
            .await?;
            execute(
                tx,
                "UPDATE record_signature SET voided_at = $3 WHERE relationship_id = $1 AND signature_id = ANY($2)",
                &[&r, voided, &micros(now)],
            )
            .await?;
            before.id
        }
        (_, None) => return Err(backend("a change of a record that is not there")),
    };
    if plan.signers_changed {
        execute(tx, "DELETE FROM record_signer WHERE relationship_id = $1 AND record_id = $2", &[&r, &record_id]).await?;
        let (parties, users): (Vec<Uuid>, Vec<Uuid>) = put.signers.iter().copied().unzip();
        execute(
            tx,
            "INSERT INTO record_signer (relationship_id, record_id, party_id, user_id)
             SELECT $1, $2, p, u FROM unnest($3::uuid[], $4::uuid[]) AS s (p, u) ON CONFLICT DO NOTHING",
            &[&r, &record_id, &parties, &users],
        )
        .await?;
    }
    if let Some(draft) = plan.draft {
        append(tx, r, draft, now).await?;
    }
    if let Some(notice) = &plan.notice {
        notify(tx, notice, now).await?;
    }
    record(tx, r, record_id).await
}

#[async_trait]
impl RecordStore for PostgresStore {
    async fn put_record(&self, new: PutRecord, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Record> {
        let now = micros(now);
        self.write(move |tx| Box::pin(async move { put(tx, new, None, new_id(now), actor, now).await })).await
    }

    async fn sign_record(
        &self, relationship_id: Uuid, record_id: Uuid, shown_hash: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Record> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let r = relationship_id;
                lock_record(tx, r, record_id).await?;
                let before = record(tx, r, record_id).await?;
                let (parties, current) = (party_ids(tx, r).await?, current_members(tx, r).await?);
                let signature_id = new_id(now);
                let plan = decide::sign(&before, &parties, &current, actor, &shown_hash, signature_id)?;
                let event = append(tx, r, plan.draft, now).await?;
                execute(
                    tx,
                    "INSERT INTO record_signature (relationship_id, signature_id, record_id, party_id, user_id, signed_at, sha256, audit_position)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[&r, &signature_id, &record_id, &plan.party_id, &actor, &now, &before.hash, &event.position],
                )
                .await?;
                if plan.seals {
                    let signed = record(tx, r, record_id).await?;
                    let seal = append(tx, r, decide::seal(&signed, &signed.signatures), now).await?;
                    execute(
                        tx,
                        "UPDATE signed_record SET sealed_at = $3, seal_position = $4, seal_hash = $5, updated_at = $3 WHERE relationship_id = $1 AND record_id = $2",
                        &[&r, &record_id, &now, &seal.position, &seal.hash],
                    )
                    .await?;
                }
                record(tx, r, record_id).await
            })
        })
        .await
    }

    async fn add_addendum(&self, new: NewAddendum, actor: Uuid, now: Timestamp) -> StoreResult<Record> {
        let now = micros(now);
        self.write(move |tx| {
            Box::pin(async move {
                let parent = record(tx, new.relationship_id, new.parent_id).await?;
                let current = current_members(tx, new.relationship_id).await?;
                let id = new_id(now);
                let addendum = decide::addendum(&parent, &new, &current, actor, id)?;
                put(tx, addendum, Some((parent.id, parent.hash)), id, Some(actor), now).await
            })
        })
        .await
    }

    async fn record(&self, relationship_id: Uuid, record_id: Uuid) -> StoreResult<Record> {
        self.read(move |c| Box::pin(record(c, relationship_id, record_id))).await
    }

    async fn record_of(&self, relationship_id: Uuid, kind: SubjectKind, subject_id: Uuid) -> StoreResult<Option<Record>> {
        self.read(move |c| {
            Box::pin(async move {
                match record_id_of(c, relationship_id, kind, subject_id).await? {
                    Some(id) => Ok(Some(record(c, relationship_id, id).await?)),
                    None => Ok(None),
                }
            })
        })
        .await
    }

    async fn records(&self, relationship_id: Uuid, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<RecordLine>> {
        let before = before.unwrap_or(Uuid::max());
        self.read(move |c| {
            Box::pin(async move {
                query_all(c, q::LINES, &[&relationship_id, &before, &i64::from(limit)], |r| record_line_row(&RowCells(r))).await
            })
        })
        .await
    }
}
