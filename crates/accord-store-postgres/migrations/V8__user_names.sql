-- Pages name people by joining their accounts: the action log's owners, the members, the audit
-- trail's actors. This index lets those joins read names with an index-only scan.
CREATE INDEX user_account_names ON user_account (user_id) INCLUDE (name, email);
