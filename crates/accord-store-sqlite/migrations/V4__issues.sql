-- The issue procedure: ladder versions, holidays, issues and their timelines, resolution
-- figures, the in-app inbox and the e-mail outbox.

CREATE TABLE party_holiday (
    relationship_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    holiday TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (relationship_id, party_id, holiday),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;

CREATE TABLE ladder_level (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    ladder_version INTEGER NOT NULL,
    level INTEGER NOT NULL,
    name TEXT NOT NULL,
    handler_roles TEXT NOT NULL,
    handler_members TEXT NOT NULL,
    limit_unit TEXT NOT NULL CHECK (limit_unit IN ('minutes', 'hours', 'working_days')),
    limit_amount INTEGER NOT NULL,
    created_by BLOB REFERENCES user_account (user_id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, ladder_version, level)
) WITHOUT ROWID;

CREATE TABLE issue (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    issue_id BLOB NOT NULL,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    raised_by BLOB NOT NULL REFERENCES user_account (user_id),
    raising_party_id BLOB NOT NULL,
    ladder_version INTEGER NOT NULL,
    level INTEGER NOT NULL,
    level_started_at INTEGER NOT NULL,
    deadline INTEGER NOT NULL,
    reminder_at INTEGER,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolution_proposed', 'resolved', 'withdrawn')),
    resolved_at INTEGER,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, issue_id),
    UNIQUE (relationship_id, number),
    FOREIGN KEY (relationship_id, raising_party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;
-- The sweep looks across relationships for live issues past their deadline or due a reminder.
CREATE INDEX issue_due ON issue (deadline) WHERE status IN ('open', 'resolution_proposed');
CREATE INDEX issue_reminder ON issue (reminder_at) WHERE reminder_at IS NOT NULL AND status IN ('open', 'resolution_proposed');
-- The issue log: live ones by deadline, closed ones by resolution, each keyset-paged.
CREATE INDEX issue_live ON issue (relationship_id, deadline, issue_id) WHERE status IN ('open', 'resolution_proposed');
CREATE INDEX issue_closed ON issue (relationship_id, resolved_at, issue_id) WHERE status IN ('resolved', 'withdrawn');
CREATE INDEX issue_all ON issue (relationship_id, deadline, issue_id);

CREATE TABLE issue_link (
    relationship_id BLOB NOT NULL,
    issue_id BLOB NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('objective', 'kpi', 'obligation')),
    target_id BLOB NOT NULL,
    PRIMARY KEY (relationship_id, issue_id, target_kind, target_id),
    FOREIGN KEY (relationship_id, issue_id) REFERENCES issue (relationship_id, issue_id)
) WITHOUT ROWID;

CREATE TABLE issue_event (
    relationship_id BLOB NOT NULL,
    issue_event_id BLOB NOT NULL,
    issue_id BLOB NOT NULL,
    kind TEXT NOT NULL,
    actor_id BLOB REFERENCES user_account (user_id),
    party_id BLOB,
    body TEXT NOT NULL,
    from_level INTEGER,
    to_level INTEGER,
    private_party_id BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, issue_event_id),
    FOREIGN KEY (relationship_id, issue_id) REFERENCES issue (relationship_id, issue_id)
) WITHOUT ROWID;
CREATE INDEX issue_event_by_issue ON issue_event (relationship_id, issue_id, issue_event_id);

CREATE TABLE issue_proposal (
    relationship_id BLOB NOT NULL,
    proposal_id BLOB NOT NULL,
    issue_id BLOB NOT NULL,
    proposed_by BLOB NOT NULL REFERENCES user_account (user_id),
    party_id BLOB NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'withdrawn')),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, proposal_id),
    FOREIGN KEY (relationship_id, issue_id) REFERENCES issue (relationship_id, issue_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX issue_proposal_pending ON issue_proposal (relationship_id, issue_id) WHERE status = 'pending';

CREATE TABLE issue_acceptance (
    relationship_id BLOB NOT NULL,
    proposal_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    accepted_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, proposal_id, party_id),
    FOREIGN KEY (relationship_id, proposal_id) REFERENCES issue_proposal (relationship_id, proposal_id)
) WITHOUT ROWID;

-- Resolution figures per level, updated with every change: the issue log never scans issues.
CREATE TABLE issue_level_stat (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    level INTEGER NOT NULL,
    open_count INTEGER NOT NULL,
    resolved_count INTEGER NOT NULL,
    buckets TEXT NOT NULL,
    PRIMARY KEY (relationship_id, level)
) WITHOUT ROWID;

CREATE TABLE notification (
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    notification_id BLOB NOT NULL,
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER,
    PRIMARY KEY (user_id, notification_id)
) WITHOUT ROWID;
CREATE INDEX notification_unread ON notification (user_id) WHERE read_at IS NULL;

CREATE TABLE outbox (
    outbox_id BLOB PRIMARY KEY,
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    user_id BLOB NOT NULL REFERENCES user_account (user_id),
    email TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    leased_until INTEGER,
    lease_owner TEXT,
    delivered_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox (due_at) WHERE delivered_at IS NULL;
