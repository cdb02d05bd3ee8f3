-- The same tables as SQLite's V1, in native types: ids are UUIDv7 (uuid), times timestamptz
-- (microseconds, UTC), dates date. Every table that belongs to a relationship has
-- relationship_id first in its key.

CREATE TABLE organisation (
    organisation_id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL
);
-- Names are unique whatever their case (SQLite: COLLATE NOCASE); look-ups use lower(name) too.
CREATE UNIQUE INDEX organisation_name ON organisation (lower(name));

CREATE TABLE user_account (
    user_id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE,
    name text NOT NULL,
    organisation_id uuid NOT NULL REFERENCES organisation (organisation_id),
    is_admin boolean NOT NULL DEFAULT false,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL
);
CREATE INDEX user_account_organisation ON user_account (organisation_id);

-- Credentials apart from the account, so that single sign-on can be added per organisation.
CREATE TABLE credential (
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    kind text NOT NULL CHECK (kind IN ('password')),
    secret text NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE api_token (
    api_token_id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    name text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX api_token_user ON api_token (user_id);

CREATE TABLE relationship (
    relationship_id uuid PRIMARY KEY,
    name text NOT NULL,
    purpose text NOT NULL,
    start_date date NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'suspended', 'exiting', 'ended')),
    time_zone text NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX relationship_name ON relationship (lower(name));

CREATE TABLE party (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    party_id uuid NOT NULL,
    organisation_id uuid NOT NULL REFERENCES organisation (organisation_id),
    joined_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, party_id),
    UNIQUE (relationship_id, organisation_id)
);

-- One row per period of membership with one role: a role change ends a row and starts another.
CREATE TABLE membership (
    relationship_id uuid NOT NULL,
    membership_id uuid NOT NULL,
    party_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    role text NOT NULL CHECK (role IN ('ser', 'jmt', 'contributor', 'observer')),
    joined_at timestamptz NOT NULL,
    left_at timestamptz,
    PRIMARY KEY (relationship_id, membership_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);
CREATE UNIQUE INDEX membership_current ON membership (relationship_id, user_id) WHERE left_at IS NULL;
-- The database holds the rule too: never two current SERs for one party.
CREATE UNIQUE INDEX membership_one_ser ON membership (relationship_id, party_id) WHERE role = 'ser' AND left_at IS NULL;
CREATE INDEX membership_user ON membership (user_id, relationship_id) WHERE left_at IS NULL;

-- The head of each chain (a relationship's, or the site's under the nil id): locked by each
-- append (SELECT ... FOR UPDATE), so events of one chain are written one at a time.
CREATE TABLE audit_head (
    relationship_id uuid PRIMARY KEY,
    position bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO audit_head VALUES ('00000000-0000-0000-0000-000000000000', 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_event (
    relationship_id uuid NOT NULL,
    position bigint NOT NULL,
    v integer NOT NULL,
    occurred_at timestamptz NOT NULL,
    actor_id uuid,
    party_id uuid,
    kind text NOT NULL,
    subject text NOT NULL,
    -- The JSON text exactly as written (not jsonb, which would reorder keys and respace it).
    summary text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    PRIMARY KEY (relationship_id, position)
);

-- Append-only: any UPDATE, DELETE or TRUNCATE is refused, even one that would touch no row.
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
