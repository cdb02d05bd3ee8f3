-- The same tables as SQLite's V4, in native types: holidays are date, times timestamptz, a
-- level's handlers arrays, the resolution buckets a bigint[] that is added to in place.

CREATE TABLE party_holiday (
    relationship_id uuid NOT NULL,
    party_id uuid NOT NULL,
    holiday date NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (relationship_id, party_id, holiday),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);

CREATE TABLE ladder_level (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    ladder_version integer NOT NULL,
    level integer NOT NULL,
    name text NOT NULL,
    handler_roles text[] NOT NULL,
    handler_members uuid[] NOT NULL,
    limit_unit text NOT NULL CHECK (limit_unit IN ('minutes', 'hours', 'working_days')),
    limit_amount integer NOT NULL,
    created_by uuid REFERENCES user_account (user_id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, ladder_version, level)
);

CREATE TABLE issue (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    issue_id uuid NOT NULL,
    number bigint NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    category text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    raised_by uuid NOT NULL REFERENCES user_account (user_id),
    raising_party_id uuid NOT NULL,
    ladder_version integer NOT NULL,
    level integer NOT NULL,
    level_started_at timestamptz NOT NULL,
    deadline timestamptz NOT NULL,
    reminder_at timestamptz,
    status text NOT NULL CHECK (status IN ('open', 'resolution_proposed', 'resolved', 'withdrawn')),
    resolved_at timestamptz,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, issue_id),
    UNIQUE (relationship_id, number),
    FOREIGN KEY (relationship_id, raising_party_id) REFERENCES party (relationship_id, party_id)
);
-- The sweep looks across relationships for live issues past their deadline or due a reminder.
CREATE INDEX issue_due ON issue (deadline) WHERE status IN ('open', 'resolution_proposed');
CREATE INDEX issue_reminder ON issue (reminder_at) WHERE reminder_at IS NOT NULL AND status IN ('open', 'resolution_proposed');
-- The issue log: live ones by deadline, closed ones by resolution, each keyset-paged.
CREATE INDEX issue_live ON issue (relationship_id, deadline, issue_id) WHERE status IN ('open', 'resolution_proposed');
CREATE INDEX issue_closed ON issue (relationship_id, resolved_at, issue_id) WHERE status IN ('resolved', 'withdrawn');
CREATE INDEX issue_all ON issue (relationship_id, deadline, issue_id);

CREATE TABLE issue_link (
    relationship_id uuid NOT NULL,
    issue_id uuid NOT NULL,
    target_kind text NOT NULL CHECK (target_kind IN ('objective', 'kpi', 'obligation')),
    target_id uuid NOT NULL,
    PRIMARY KEY (relationship_id, issue_id, target_kind, target_id),
    FOREIGN KEY (relationship_id, issue_id) REFERENCES issue (relationship_id, issue_id)
);

CREATE TABLE issue_event (
    relationship_id uuid NOT NULL,
    issue_event_id uuid NOT NULL,
    issue_id uuid NOT NULL,
    kind text NOT NULL,
    actor_id uuid REFERENCES user_account (user_id),
    party_id uuid,
    body text NOT NULL,
    from_level integer,
    to_level integer,
    private_party_id uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, issue_event_id),
    FOREIGN KEY (relationship_id, issue_id) REFERENCES issue (relationship_id, issue_id)
);
CREATE INDEX issue_event_by_issue ON issue_event (relationship_id, issue_id, issue_event_id);

CREATE TABLE issue_proposal (
    relationship_id uuid NOT NULL,
    proposal_id uuid NOT NULL,
    issue_id uuid NOT NULL,
    proposed_by uuid NOT NULL REFERENCES user_account (user_id),
    party_id uuid NOT NULL,
    body text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'withdrawn')),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, proposal_id),
    FOREIGN KEY (relationship_id, issue_id) REFERENCES issue (relationship_id, issue_id)
);
CREATE UNIQUE INDEX issue_proposal_pending ON issue_proposal (relationship_id, issue_id) WHERE status = 'pending';

CREATE TABLE issue_acceptance (
    relationship_id uuid NOT NULL,
    proposal_id uuid NOT NULL,
    party_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    accepted_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, proposal_id, party_id),
    FOREIGN KEY (relationship_id, proposal_id) REFERENCES issue_proposal (relationship_id, proposal_id)
);

-- Resolution figures per level, updated with every change: the issue log never scans issues.
-- Writers add to the counts and, element by element, to the buckets (INSERT ... ON CONFLICT DO
-- UPDATE), so concurrent changes never overwrite each other.
CREATE TABLE issue_level_stat (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    level integer NOT NULL,
    open_count bigint NOT NULL,
    resolved_count bigint NOT NULL,
    buckets bigint[] NOT NULL,
    PRIMARY KEY (relationship_id, level)
);

CREATE TABLE notification (
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    notification_id uuid NOT NULL,
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    kind text NOT NULL,
    title text NOT NULL,
    link text NOT NULL,
    created_at timestamptz NOT NULL,
    read_at timestamptz,
    PRIMARY KEY (user_id, notification_id)
);
CREATE INDEX notification_unread ON notification (user_id) WHERE read_at IS NULL;

CREATE TABLE outbox (
    outbox_id uuid PRIMARY KEY,
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    user_id uuid NOT NULL REFERENCES user_account (user_id),
    email text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    link text NOT NULL,
    due_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    leased_until timestamptz,
    lease_owner text,
    delivered_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL
);
CREATE INDEX outbox_due ON outbox (due_at) WHERE delivered_at IS NULL;
