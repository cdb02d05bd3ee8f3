-- Pages name people by joining their accounts: the action log's owners, the members, the audit
-- trail's actors. This index answers those joins alone (one B-tree search a person, not the
-- primary key's index and then the row).
CREATE INDEX user_account_names ON user_account (user_id, name, email);
