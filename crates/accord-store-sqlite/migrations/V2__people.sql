-- Sessions live in the database so that several servers share them; ids are stored hashed.
CREATE TABLE session (
    session_hash TEXT PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    created_at INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX session_user ON session (user_id);

-- Failed sign-ins per account (by the e-mail typed, known account or not).
CREATE TABLE sign_in_failure (
    email TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX sign_in_failure_email ON sign_in_failure (email, failed_at);

CREATE TABLE password_reset (
    token_hash TEXT PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
) WITHOUT ROWID;
CREATE INDEX password_reset_user ON password_reset (user_id);

CREATE TABLE invitation (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    invitation_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('ser', 'jmt', 'contributor', 'observer')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by BLOB NOT NULL REFERENCES user_account (user_id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    accepted_at INTEGER,
    revoked_at INTEGER,
    PRIMARY KEY (relationship_id, invitation_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;
CREATE INDEX invitation_pending ON invitation (relationship_id, expires_at) WHERE accepted_at IS NULL AND revoked_at IS NULL;
