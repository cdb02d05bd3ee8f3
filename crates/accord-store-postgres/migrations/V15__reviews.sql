-- Joint reviews: series of meetings and their meetings. A meeting's agenda and minutes are one
-- JSON document (meeting.minutes), read and written whole with the meeting: a record that its
-- parties sign as one. A meeting's local start is text in its zone.

CREATE TABLE review_series (
    relationship_id uuid NOT NULL REFERENCES relationship (relationship_id),
    series_id uuid NOT NULL,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('jmt', 'ser', 'exit_strategy', 'rmp', 'other')),
    -- '1 months', '2 weeks'.
    cadence text NOT NULL,
    -- JSON: [{party_id, user_id, name}], ["ser", "jmt"], [{user_id, name}].
    chairs text NOT NULL,
    invited_roles text NOT NULL,
    invitees text NOT NULL,
    created_by uuid REFERENCES user_account (user_id),
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, series_id)
);
CREATE UNIQUE INDEX review_series_name ON review_series (relationship_id, name);

CREATE TABLE meeting (
    relationship_id uuid NOT NULL,
    meeting_id uuid NOT NULL,
    series_id uuid NOT NULL,
    local_start text NOT NULL,
    time_zone text NOT NULL,
    starts_at timestamptz NOT NULL,
    duration_minutes integer NOT NULL,
    place text NOT NULL,
    call_link text NOT NULL,
    status text NOT NULL CHECK (status IN ('scheduled', 'minuting', 'signing', 'sealed', 'cancelled')),
    -- iCalendar's SEQUENCE: raised when the meeting moves or is cancelled.
    sequence integer NOT NULL,
    minutes text NOT NULL,
    created_by uuid REFERENCES user_account (user_id),
    version bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, meeting_id),
    FOREIGN KEY (relationship_id, series_id) REFERENCES review_series (relationship_id, series_id)
);
-- A series' meetings by start (its page, its last held and next scheduled meeting).
CREATE INDEX meeting_by_series ON meeting (relationship_id, series_id, starts_at, meeting_id, status);

-- Every agenda item's meeting, so that an action can name the item it was raised from.
CREATE TABLE meeting_item (
    relationship_id uuid NOT NULL,
    item_id uuid NOT NULL,
    meeting_id uuid NOT NULL,
    PRIMARY KEY (relationship_id, item_id),
    FOREIGN KEY (relationship_id, meeting_id) REFERENCES meeting (relationship_id, meeting_id)
);

-- SER interventions aimed at one party ("deliver your part"), for that party's oversight page.
CREATE TABLE review_intervention (
    relationship_id uuid NOT NULL,
    decision_id uuid NOT NULL,
    meeting_id uuid NOT NULL,
    party_id uuid NOT NULL,
    text text NOT NULL,
    decided_at timestamptz NOT NULL,
    PRIMARY KEY (relationship_id, decision_id),
    FOREIGN KEY (relationship_id, meeting_id) REFERENCES meeting (relationship_id, meeting_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
);
CREATE INDEX review_intervention_by_party ON review_intervention (relationship_id, party_id, decided_at, decision_id);
