-- Signed records (a review's minutes, next an RMP approval, an exit decision): the content as the
-- subject's module gave it (JSON text, kept byte for byte) and its canonical hash; who may sign
-- per party; every signature given, voided ones kept; the seal's place in the audit chain.
-- Times are microseconds.

CREATE TABLE signed_record (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    record_id BLOB NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('review', 'addendum', 'rmp_approval', 'exit_decision', 'statement')),
    subject_id BLOB NOT NULL,
    parent_id BLOB,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    content TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    parent_hash TEXT,
    version INTEGER NOT NULL,
    created_by BLOB REFERENCES user_account (user_id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sealed_at INTEGER,
    seal_position INTEGER,
    seal_hash TEXT,
    PRIMARY KEY (relationship_id, record_id),
    UNIQUE (relationship_id, subject_kind, subject_id),
    FOREIGN KEY (relationship_id, parent_id) REFERENCES signed_record (relationship_id, record_id),
    CHECK ((sealed_at IS NULL) = (seal_position IS NULL) AND (sealed_at IS NULL) = (seal_hash IS NULL))
) WITHOUT ROWID;
-- A record's addenda.
CREATE INDEX signed_record_by_parent ON signed_record (relationship_id, parent_id, created_at) WHERE parent_id IS NOT NULL;

-- A sealed record never changes, whoever writes the file through the store's own statements.
CREATE TRIGGER signed_record_sealed BEFORE UPDATE ON signed_record WHEN OLD.sealed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a sealed record never changes'); END;

CREATE TABLE record_signer (
    relationship_id BLOB NOT NULL,
    record_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    PRIMARY KEY (relationship_id, record_id, party_id, user_id),
    FOREIGN KEY (relationship_id, record_id) REFERENCES signed_record (relationship_id, record_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;

CREATE TABLE record_signature (
    relationship_id BLOB NOT NULL,
    signature_id BLOB NOT NULL,
    record_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    signed_at INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    voided_at INTEGER,
    audit_position INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, signature_id),
    FOREIGN KEY (relationship_id, record_id) REFERENCES signed_record (relationship_id, record_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;
-- One valid signature per party; a record's signatures in the order given.
CREATE UNIQUE INDEX record_signature_valid ON record_signature (relationship_id, record_id, party_id) WHERE voided_at IS NULL;
CREATE INDEX record_signature_by_record ON record_signature (relationship_id, record_id, signed_at, signature_id);
