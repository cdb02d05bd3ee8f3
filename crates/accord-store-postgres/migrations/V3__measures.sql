-- The same tables as SQLite's V3, in native types: periods, due dates and review dates are
-- date, values and thresholds double precision, times timestamptz.

CREATE TABLE objective (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    objective_id uuid NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    review_months integer NOT NULL CHECK (review_months BETWEEN 1 AND 60),
    next_review date NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'retired')),
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, objective_id)
);

CREATE TABLE objective_party (
    relationship_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    party_id uuid NOT NULL,
    PRIMARY KEY (relationship_id, objective_id, party_id),
    FOREIGN KEY (relationship_id, objective_id) REFERENCES objective (relationship_id, objective_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);

CREATE TABLE objective_review (
    relationship_id uuid NOT NULL,
    objective_review_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    verdict text NOT NULL CHECK (verdict IN ('relevant', 'revised', 'retired')),
    reason text NOT NULL,
    decided_by uuid NOT NULL REFERENCES user_account (user_id),
    decided_at timestamptz NOT NULL,
    previous_title text NOT NULL,
    previous_description text NOT NULL,
    PRIMARY KEY (relationship_id, objective_review_id),
    FOREIGN KEY (relationship_id, objective_id) REFERENCES objective (relationship_id, objective_id)
);
CREATE INDEX objective_review_by_objective ON objective_review (relationship_id, objective_id, decided_at);

CREATE TABLE kpi (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    kpi_id uuid NOT NULL,
    name text NOT NULL,
    definition text NOT NULL,
    unit text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('higher', 'lower')),
    cadence text NOT NULL CHECK (cadence IN ('daily', 'weekly', 'monthly', 'quarterly')),
    party_id uuid,
    reporter_id uuid REFERENCES user_account (user_id),
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, kpi_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);
-- One name per relationship whatever its case (SQLite: COLLATE NOCASE).
CREATE UNIQUE INDEX kpi_name ON kpi (relationship_id, lower(name));

CREATE TABLE kpi_objective (
    relationship_id uuid NOT NULL,
    kpi_id uuid NOT NULL,
    objective_id uuid NOT NULL,
    PRIMARY KEY (relationship_id, kpi_id, objective_id),
    FOREIGN KEY (relationship_id, kpi_id) REFERENCES kpi (relationship_id, kpi_id),
    FOREIGN KEY (relationship_id, objective_id) REFERENCES objective (relationship_id, objective_id)
);
CREATE INDEX kpi_objective_by_objective ON kpi_objective (relationship_id, objective_id);

CREATE TABLE kpi_version (
    relationship_id uuid NOT NULL,
    kpi_id uuid NOT NULL,
    effective_from date NOT NULL,
    target double precision NOT NULL,
    amber double precision NOT NULL,
    red double precision NOT NULL,
    created_by uuid REFERENCES user_account (user_id),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, kpi_id, effective_from),
    FOREIGN KEY (relationship_id, kpi_id) REFERENCES kpi (relationship_id, kpi_id)
);

-- Every value ever written: the current one per KPI and period has superseded_at NULL.
CREATE TABLE measurement (
    relationship_id uuid NOT NULL,
    measurement_id uuid NOT NULL,
    kpi_id uuid NOT NULL,
    period_start date NOT NULL,
    value double precision NOT NULL,
    comment text NOT NULL,
    rag text NOT NULL CHECK (rag IN ('red', 'amber', 'green')),
    entered_by uuid REFERENCES user_account (user_id),
    entered_at timestamptz NOT NULL,
    superseded_at timestamptz,
    PRIMARY KEY (relationship_id, measurement_id),
    FOREIGN KEY (relationship_id, kpi_id) REFERENCES kpi (relationship_id, kpi_id)
);
CREATE UNIQUE INDEX measurement_current ON measurement (relationship_id, kpi_id, period_start) WHERE superseded_at IS NULL;
CREATE INDEX measurement_by_period ON measurement (relationship_id, kpi_id, period_start, entered_at);

CREATE TABLE obligation (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    obligation_id uuid NOT NULL,
    party_id uuid NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    recurrence text NOT NULL CHECK (recurrence IN ('once', 'weekly', 'monthly', 'quarterly', 'yearly')),
    due_date date NOT NULL,
    status text NOT NULL CHECK (status IN ('not_started', 'on_track', 'at_risk', 'delivered', 'missed')),
    evidence text NOT NULL,
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, obligation_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);
CREATE INDEX obligation_by_due ON obligation (relationship_id, due_date);

CREATE TABLE action (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    action_id uuid NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    owner_id uuid REFERENCES user_account (user_id),
    party_id uuid NOT NULL,
    due_date date NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'in_progress', 'done', 'cancelled')),
    source_kind text CHECK (source_kind IN ('kpi_period', 'obligation', 'issue', 'review')),
    source_id uuid,
    source_period date,
    created_by uuid REFERENCES user_account (user_id),
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, action_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);
-- Open actions by due date (overdue first); closed ones likewise.
CREATE INDEX action_open_by_due ON action (relationship_id, due_date, action_id) WHERE status IN ('open', 'in_progress');
CREATE INDEX action_closed_by_due ON action (relationship_id, due_date, action_id) WHERE status IN ('done', 'cancelled');
CREATE INDEX action_by_due ON action (relationship_id, due_date, action_id);
CREATE INDEX action_by_source ON action (relationship_id, source_id);
