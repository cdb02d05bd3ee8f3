-- Signed records (a review's minutes, next an RMP approval, an exit decision): the content as the
-- subject's module gave it (JSON as text, kept byte for byte: jsonb would reorder it) and its
-- canonical hash; who may sign per party; every signature given, voided ones kept; the seal's
-- place in the audit chain.

CREATE TABLE signed_record (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    record_id uuid NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('review', 'addendum', 'rmp_approval', 'exit_decision', 'statement')),
    subject_id uuid NOT NULL,
    parent_id uuid,
    title text NOT NULL,
    link text NOT NULL,
    content text NOT NULL,
    content_hash text NOT NULL,
    parent_hash text,
    version bigint NOT NULL,
    created_by uuid REFERENCES user_account (user_id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    sealed_at timestamptz,
    seal_position bigint,
    seal_hash text,
    PRIMARY KEY (relationship_id, record_id),
    UNIQUE (relationship_id, subject_kind, subject_id),
    FOREIGN KEY (relationship_id, parent_id) REFERENCES signed_record (relationship_id, record_id),
    CHECK ((sealed_at IS NULL) = (seal_position IS NULL) AND (sealed_at IS NULL) = (seal_hash IS NULL))
);
-- A record's addenda.
CREATE INDEX signed_record_by_parent ON signed_record (relationship_id, parent_id, created_at) WHERE parent_id IS NOT NULL;

-- A sealed record never changes, whoever writes through the store's own statements.
CREATE FUNCTION signed_record_sealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a sealed record never changes';
END $$;
CREATE TRIGGER signed_record_sealed BEFORE UPDATE ON signed_record FOR EACH ROW WHEN (OLD.sealed_at IS NOT NULL)
    EXECUTE FUNCTION signed_record_sealed();

CREATE TABLE record_signer (
    relationship_id uuid NOT NULL,
    record_id uuid NOT NULL,
    party_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    PRIMARY KEY (relationship_id, record_id, party_id, user_id),
    FOREIGN KEY (relationship_id, record_id) REFERENCES signed_record (relationship_id, record_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);

CREATE TABLE record_signature (
    relationship_id uuid NOT NULL,
    signature_id uuid NOT NULL,
    record_id uuid NOT NULL,
    party_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    signed_at timestamptz NOT NULL,
    sha256 text NOT NULL,
    voided_at timestamptz,
    audit_position bigint NOT NULL,
    PRIMARY KEY (relationship_id, signature_id),
    FOREIGN KEY (relationship_id, record_id) REFERENCES signed_record (relationship_id, record_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);
-- One valid signature per party; a record's signatures in the order given.
CREATE UNIQUE INDEX record_signature_valid ON record_signature (relationship_id, record_id, party_id) WHERE voided_at IS NULL;
CREATE INDEX record_signature_by_record ON record_signature (relationship_id, record_id, signed_at, signature_id);
