-- Ids are UUIDv7 stored as 16-byte blobs; times are microseconds since 1970 UTC; dates are TEXT
-- (YYYY-MM-DD). Every table that belongs to a relationship has relationship_id first in its key.

CREATE TABLE organisation (
    organisation_id BLOB PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE user_account (
    user_id BLOB PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    organisation_id BLOB NOT NULL REFERENCES organisation (organisation_id),
    is_admin INTEGER NOT NULL DEFAULT 0,
    disabled_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX user_account_organisation ON user_account (organisation_id);

-- Credentials apart from the account, so that single sign-on can be added per organisation.
CREATE TABLE credential (
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    kind TEXT NOT NULL CHECK (kind IN ('password')),
    secret TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE api_token (
    api_token_id BLOB PRIMARY KEY,
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX api_token_user ON api_token (user_id);

CREATE TABLE relationship (
    relationship_id BLOB PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE,
    purpose TEXT NOT NULL,
    start_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'exiting', 'ended')),
    time_zone TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE party (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    party_id BLOB NOT NULL,
    organisation_id BLOB NOT NULL REFERENCES organisation (organisation_id),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, party_id),
    UNIQUE (relationship_id, organisation_id)
) WITHOUT ROWID;

-- One row per period of membership with one role: a role change ends a row and starts another.
CREATE TABLE membership (
    relationship_id BLOB NOT NULL,
    membership_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    role TEXT NOT NULL CHECK (role IN ('ser', 'jmt', 'contributor', 'observer')),
    joined_at INTEGER NOT NULL,
    left_at INTEGER,
    PRIMARY KEY (relationship_id, membership_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX membership_current ON membership (relationship_id, user_id) WHERE left_at IS NULL;
-- The database holds the rule too: never two current SERs for one party.
CREATE UNIQUE INDEX membership_one_ser ON membership (relationship_id, party_id) WHERE role = 'ser' AND left_at IS NULL;
CREATE INDEX membership_user ON membership (user_id, relationship_id) WHERE left_at IS NULL;

-- The head of each chain (a relationship's, or the site's under the nil id): locked by each
-- append, so events of one chain are written one at a time.
CREATE TABLE audit_head (
    relationship_id BLOB PRIMARY KEY,
    position INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head VALUES (zeroblob(16), 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_event (
    relationship_id BLOB NOT NULL,
    position INTEGER NOT NULL,
    v INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    actor_id BLOB,
    party_id BLOB,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    summary TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (relationship_id, position)
) WITHOUT ROWID;

CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;
