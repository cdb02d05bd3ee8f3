//! Signed records: a record any module puts for every party's signature (a review's minutes;
//! next an RMP approval, an exit strategy's joint decision), its signatures, its seal and its
//! addenda. Generic over what is signed: the subject's module gives the content as JSON, the
//! signers it names per party, and the page the record is of.

pub mod decide;

use crate::StoreResult;
use accord_domain::audit::ChainHead;
use accord_domain::records::SubjectKind;
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// Signed records: put, signed by each party, sealed, corrected by addenda.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    /// Creates the subject's record, or changes its content or signers. A change of what is
    /// signed (its hash) voids every signature given so far; a sealed record refuses any change
    /// (`StoreError::Conflict`). `actor` is `None` for the server's own work.
    async fn put_record(&self, put: PutRecord, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Record>;

    /// `actor` signs for their own party the record whose hash they were shown; the last party's
    /// signature seals it in the same transaction.
    async fn sign_record(
        &self, relationship_id: Uuid, record_id: Uuid, shown_hash: String, actor: Uuid, now: Timestamp,
    ) -> StoreResult<Record>;

    /// A dated correction of a sealed record: a record of its own, signed and sealed the same way.
    async fn add_addendum(&self, new: NewAddendum, actor: Uuid, now: Timestamp) -> StoreResult<Record>;

    async fn record(&self, relationship_id: Uuid, record_id: Uuid) -> StoreResult<Record>;

    /// The record of a subject, if it has one.
    async fn record_of(&self, relationship_id: Uuid, kind: SubjectKind, subject_id: Uuid) -> StoreResult<Option<Record>>;

    /// The relationship's records, newest first, keyset-paged before `before` (a record id).
    async fn records(&self, relationship_id: Uuid, before: Option<Uuid>, limit: u32) -> StoreResult<Vec<RecordLine>>;
}

/// What a subject's module puts for signature.
#[derive(Debug, Clone, PartialEq)]
pub struct PutRecord {
    pub relationship_id: Uuid,
    pub kind: SubjectKind,
    pub subject_id: Uuid,
    pub title: String,
    /// The subject's page, as a path.
    pub link: String,
    pub content: Value,
    /// Who may sign for each party besides its SER (a meeting's chairs): (party, user).
    pub signers: Vec<(Uuid, Uuid)>,
}

/// A correction of a sealed record, dated `date` (in the relationship's time zone).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAddendum {
    pub relationship_id: Uuid,
    pub parent_id: Uuid,
    pub title: String,
    pub text: String,
    pub date: Date,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Record {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub kind: SubjectKind,
    pub subject_id: Uuid,
    /// The record an addendum corrects.
    pub parent_id: Option<Uuid>,
    pub title: String,
    /// The subject's page, as a path.
    pub link: String,
    #[schema(value_type = Object)]
    pub content: Value,
    /// The lowercase hex SHA-256 of the record's canonical form (`accord_domain::records`): what a
    /// signature is given over.
    pub hash: String,
    /// For an addendum, its parent's hash as the canonical form names it.
    pub parent_hash: Option<String>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    pub seal: Option<Seal>,
    /// Who the subject named to sign for each party (its SER always may).
    pub signers: Vec<Signer>,
    /// Every signature given, voided ones included, oldest first.
    pub signatures: Vec<Signature>,
    /// The addenda of a sealed record, oldest first.
    pub addenda: Vec<RecordLine>,
}

/// The record's seal: the `record.sealed` event's place in the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Seal {
    #[schema(value_type = String, format = DateTime)]
    pub sealed_at: Timestamp,
    pub position: i64,
    /// The `record.sealed` event's own hash.
    pub event_hash: String,
}

impl Seal {
    /// `POSITION:HASH`, for each party to keep (and to give `accord audit verify --witness`).
    pub fn head(&self) -> ChainHead {
        ChainHead { position: self.position, hash: self.event_hash.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Signer {
    pub party_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Signature {
    pub id: Uuid,
    pub party_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub signed_at: Timestamp,
    /// The record's hash the signer signed.
    pub sha256: String,
    /// When a change of the record voided it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub voided_at: Option<Timestamp>,
    /// The `record.signed` event's position in the audit chain.
    pub position: i64,
}

impl Signature {
    pub fn valid(&self) -> bool {
        self.voided_at.is_none()
    }
}

/// A record as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecordLine {
    pub id: Uuid,
    pub kind: SubjectKind,
    pub title: String,
    pub hash: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sealed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

impl Record {
    /// The party's valid signature, if it has one.
    pub fn signature_of(&self, party_id: Uuid) -> Option<&Signature> {
        self.signatures.iter().find(|s| s.party_id == party_id && s.valid())
    }

    pub fn named_signer(&self, party_id: Uuid, user_id: Uuid) -> bool {
        self.signers.iter().any(|s| s.party_id == party_id && s.user_id == user_id)
    }

    /// The record's page, as a path.
    pub fn path(&self) -> String {
        record_path(self.relationship_id, self.id)
    }
}

pub fn record_path(relationship_id: Uuid, record_id: Uuid) -> String {
    format!("/relationships/{relationship_id}/records/{record_id}")
}

fn json_cell(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// `record_id, relationship_id, subject_kind, subject_id, parent_id, title, link, content,
/// content_hash, parent_hash, version, created_at, updated_at, sealed_at, seal_position,
/// seal_hash`; its signers, signatures and addenda are read after.
pub fn record_row<C: crate::Cells>(r: &C) -> Result<Record, C::Error> {
    let seal = match r.opt_time(13)? {
        Some(sealed_at) => Some(Seal { sealed_at, position: r.int(14)?, event_hash: r.text(15)? }),
        None => None,
    };
    Ok(Record {
        id: r.uuid(0)?,
        relationship_id: r.uuid(1)?,
        kind: r.parsed(2, SubjectKind::parse)?,
        subject_id: r.uuid(3)?,
        parent_id: r.opt_uuid(4)?,
        title: r.text(5)?,
        link: r.text(6)?,
        content: r.parsed(7, json_cell)?,
        hash: r.text(8)?,
        parent_hash: r.opt_text(9)?,
        version: r.int(10)?,
        created_at: r.time(11)?,
        updated_at: r.time(12)?,
        seal,
        signers: Vec::new(),
        signatures: Vec::new(),
        addenda: Vec::new(),
    })
}

/// `party_id, user_id, <name>`.
pub fn signer_row<C: crate::Cells>(r: &C) -> Result<Signer, C::Error> {
    Ok(Signer { party_id: r.uuid(0)?, user_id: r.uuid(1)?, name: r.text(2)? })
}

/// `signature_id, party_id, user_id, <name>, signed_at, sha256, voided_at, audit_position`.
pub fn signature_row<C: crate::Cells>(r: &C) -> Result<Signature, C::Error> {
    Ok(Signature {
        id: r.uuid(0)?,
        party_id: r.uuid(1)?,
        user_id: r.uuid(2)?,
        name: r.text(3)?,
        signed_at: r.time(4)?,
        sha256: r.text(5)?,
        voided_at: r.opt_time(6)?,
        position: r.int(7)?,
    })
}

/// `record_id, subject_kind, title, content_hash, sealed_at, created_at`.
pub fn record_line_row<C: crate::Cells>(r: &C) -> Result<RecordLine, C::Error> {
    Ok(RecordLine {
        id: r.uuid(0)?,
        kind: r.parsed(1, SubjectKind::parse)?,
        title: r.text(2)?,
        hash: r.text(3)?,
        sealed_at: r.opt_time(4)?,
        created_at: r.time(5)?,
    })
}

/// The statements both backends read a record with (the same text on both; `$1` the
/// relationship, `$2` the record).
pub mod statements {
    pub const RECORD: &str =
        "SELECT record_id, relationship_id, subject_kind, subject_id, parent_id, title, link, content, content_hash, parent_hash,
        version, created_at, updated_at, sealed_at, seal_position, seal_hash FROM signed_record";
    pub const SIGNERS: &str = "SELECT s.party_id, s.user_id, u.name FROM record_signer s JOIN user_account u ON u.user_id = s.user_id
        WHERE s.relationship_id = $1 AND s.record_id = $2 ORDER BY s.party_id, u.name, s.user_id";
    pub const SIGNATURES: &str =
        "SELECT g.signature_id, g.party_id, g.user_id, u.name, g.signed_at, g.sha256, g.voided_at, g.audit_position
        FROM record_signature g JOIN user_account u ON u.user_id = g.user_id
        WHERE g.relationship_id = $1 AND g.record_id = $2 ORDER BY g.signed_at, g.signature_id";
    pub const ADDENDA: &str = "SELECT record_id, subject_kind, title, content_hash, sealed_at, created_at FROM signed_record
        WHERE relationship_id = $1 AND parent_id = $2 ORDER BY created_at, record_id";
    pub const LINES: &str = "SELECT record_id, subject_kind, title, content_hash, sealed_at, created_at FROM signed_record
        WHERE relationship_id = $1 AND record_id < $2 ORDER BY record_id DESC LIMIT $3";
}
