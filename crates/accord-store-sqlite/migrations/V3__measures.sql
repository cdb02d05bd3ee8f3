-- Objectives, KPIs and their threshold versions, measurements, obligations, actions.
-- Dates (periods, due dates) are TEXT YYYY-MM-DD; numbers REAL; times microseconds.

CREATE TABLE objective (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    objective_id BLOB NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    review_months INTEGER NOT NULL CHECK (review_months BETWEEN 1 AND 60),
    next_review TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'retired')),
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, objective_id)
) WITHOUT ROWID;

CREATE TABLE objective_party (
    relationship_id BLOB NOT NULL,
    objective_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    PRIMARY KEY (relationship_id, objective_id, party_id),
    FOREIGN KEY (relationship_id, objective_id) REFERENCES objective (relationship_id, objective_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;

CREATE TABLE objective_review (
    relationship_id BLOB NOT NULL,
    objective_review_id BLOB NOT NULL,
    objective_id BLOB NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('relevant', 'revised', 'retired')),
    reason TEXT NOT NULL,
    decided_by BLOB NOT NULL REFERENCES user_account (user_id),
    decided_at INTEGER NOT NULL,
    previous_title TEXT NOT NULL,
    previous_description TEXT NOT NULL,
    PRIMARY KEY (relationship_id, objective_review_id),
    FOREIGN KEY (relationship_id, objective_id) REFERENCES objective (relationship_id, objective_id)
) WITHOUT ROWID;
CREATE INDEX objective_review_by_objective ON objective_review (relationship_id, objective_id, decided_at);

CREATE TABLE kpi (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    kpi_id BLOB NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    definition TEXT NOT NULL,
    unit TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('higher', 'lower')),
    cadence TEXT NOT NULL CHECK (cadence IN ('daily', 'weekly', 'monthly', 'quarterly')),
    party_id BLOB,
    reporter_id BLOB REFERENCES user_account (user_id),
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, kpi_id),
    UNIQUE (relationship_id, name),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;

CREATE TABLE kpi_objective (
    relationship_id BLOB NOT NULL,
    kpi_id BLOB NOT NULL,
    objective_id BLOB NOT NULL,
    PRIMARY KEY (relationship_id, kpi_id, objective_id),
    FOREIGN KEY (relationship_id, kpi_id) REFERENCES kpi (relationship_id, kpi_id),
    FOREIGN KEY (relationship_id, objective_id) REFERENCES objective (relationship_id, objective_id)
) WITHOUT ROWID;
CREATE INDEX kpi_objective_by_objective ON kpi_objective (relationship_id, objective_id);

CREATE TABLE kpi_version (
    relationship_id BLOB NOT NULL,
    kpi_id BLOB NOT NULL,
    effective_from TEXT NOT NULL,
    target REAL NOT NULL,
    amber REAL NOT NULL,
    red REAL NOT NULL,
    created_by BLOB REFERENCES user_account (user_id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, kpi_id, effective_from),
    FOREIGN KEY (relationship_id, kpi_id) REFERENCES kpi (relationship_id, kpi_id)
) WITHOUT ROWID;

-- Every value ever written: the current one per KPI and period has superseded_at NULL.
CREATE TABLE measurement (
    relationship_id BLOB NOT NULL,
    measurement_id BLOB NOT NULL,
    kpi_id BLOB NOT NULL,
    period_start TEXT NOT NULL,
    value REAL NOT NULL,
    comment TEXT NOT NULL,
    rag TEXT NOT NULL CHECK (rag IN ('red', 'amber', 'green')),
    entered_by BLOB REFERENCES user_account (user_id),
    entered_at INTEGER NOT NULL,
    superseded_at INTEGER,
    PRIMARY KEY (relationship_id, measurement_id),
    FOREIGN KEY (relationship_id, kpi_id) REFERENCES kpi (relationship_id, kpi_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX measurement_current ON measurement (relationship_id, kpi_id, period_start) WHERE superseded_at IS NULL;
CREATE INDEX measurement_by_period ON measurement (relationship_id, kpi_id, period_start, entered_at);

CREATE TABLE obligation (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    obligation_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    recurrence TEXT NOT NULL CHECK (recurrence IN ('once', 'weekly', 'monthly', 'quarterly', 'yearly')),
    due_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('not_started', 'on_track', 'at_risk', 'delivered', 'missed')),
    evidence TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, obligation_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;
CREATE INDEX obligation_by_due ON obligation (relationship_id, due_date);

CREATE TABLE action (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    action_id BLOB NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    owner_id BLOB REFERENCES user_account (user_id),
    party_id BLOB NOT NULL,
    due_date TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    source_kind TEXT CHECK (source_kind IN ('kpi_period', 'obligation', 'issue', 'review')),
    source_id BLOB,
    source_period TEXT,
    created_by BLOB REFERENCES user_account (user_id),
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, action_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;
-- Open actions by due date (overdue first); closed ones likewise.
CREATE INDEX action_open_by_due ON action (relationship_id, due_date, action_id) WHERE status IN ('open', 'in_progress');
CREATE INDEX action_closed_by_due ON action (relationship_id, due_date, action_id) WHERE status IN ('done', 'cancelled');
CREATE INDEX action_by_due ON action (relationship_id, due_date, action_id);
CREATE INDEX action_by_source ON action (relationship_id, source_id);
