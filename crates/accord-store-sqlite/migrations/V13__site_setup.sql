-- A site administrator need not belong to an organisation (a neutral host's own staff): an
-- account's organisation may be none. SQLite cannot drop a NOT NULL, so the table is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter): foreign keys are off while
-- migrations run (`SqliteStore::migrate`, which checks them all afterwards), the other tables'
-- references name `user_account` and so point at the new table once it takes the name, and
-- both indexes are made again.
CREATE TABLE user_account_new (
    user_id BLOB PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    organisation_id BLOB REFERENCES organisation (organisation_id),
    is_admin INTEGER NOT NULL DEFAULT 0,
    disabled_at INTEGER,
    created_at INTEGER NOT NULL
);
INSERT INTO user_account_new (user_id, email, name, organisation_id, is_admin, disabled_at, created_at)
    SELECT user_id, email, name, organisation_id, is_admin, disabled_at, created_at FROM user_account;
DROP TABLE user_account;
ALTER TABLE user_account_new RENAME TO user_account;
CREATE INDEX user_account_organisation ON user_account (organisation_id);
CREATE INDEX user_account_names ON user_account (user_id, name, email);

-- The one-time link `accord serve` prints on a database without a site administrator, stored
-- hashed. A new one replaces the earlier; it is dead once an administrator exists.
CREATE TABLE setup_link (
    token_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
