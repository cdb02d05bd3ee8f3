-- A POST sent with a key (the API's Idempotency-Key header, a form's single-use submission key) is
-- answered once per account: the key is taken before the work (the primary key lets one request
-- take it), its answer kept after, so that a repeat on any server is answered the same without
-- writing again. Kept 24 hours (`created_at`), then forgotten by the next request that takes a key.
CREATE TABLE idempotency_key (
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    key_text TEXT NOT NULL,
    -- SHA-256 of what the first request sent: the same key with another request is refused.
    fingerprint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    -- The answer, NULL while the first request is under way.
    status INTEGER,
    location TEXT,
    content_type TEXT,
    body BLOB,
    PRIMARY KEY (user_id, key_text)
);
CREATE INDEX idempotency_key_created ON idempotency_key (created_at);
