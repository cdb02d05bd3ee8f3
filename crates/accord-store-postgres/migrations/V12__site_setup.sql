-- A site administrator need not belong to an organisation (a neutral host's own staff): an
-- account's organisation may be none.
ALTER TABLE user_account ALTER COLUMN organisation_id DROP NOT NULL;

-- The one-time link `accord serve` prints on a database without a site administrator, stored
-- hashed. A new one replaces the earlier; it is dead once an administrator exists.
CREATE TABLE setup_link (
    token_hash text PRIMARY KEY,
    created_at timestamptz NOT NULL
);
