-- The same tables as SQLite's V2, in native types.

-- Sessions live in the database so that several servers share them; ids are stored hashed.
CREATE TABLE session (
    session_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    created_at timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL
);
-- (Not "session_user", which PostgreSQL reserves.)
CREATE INDEX session_by_user ON session (user_id);

-- Failed sign-ins per account (by the e-mail typed, known account or not).
CREATE TABLE sign_in_failure (
    email text NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX sign_in_failure_email ON sign_in_failure (email, failed_at);

CREATE TABLE password_reset (
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX password_reset_user ON password_reset (user_id);

CREATE TABLE invitation (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    invitation_id uuid NOT NULL,
    party_id uuid NOT NULL,
    email text NOT NULL,
    role text NOT NULL CHECK (role IN ('ser', 'jmt', 'contributor', 'observer')),
    token_hash text NOT NULL UNIQUE,
    invited_by uuid NOT NULL REFERENCES user_account (user_id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (relationship_id, invitation_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);
CREATE INDEX invitation_pending ON invitation (relationship_id, expires_at) WHERE accepted_at IS NULL AND revoked_at IS NULL;
