-- Joint reviews: series of meetings and their meetings. A meeting's agenda and minutes are one
-- JSON document (meeting.minutes), read and written whole with the meeting: a record that its
-- parties sign as one. Times are microseconds; a meeting's local start is TEXT in its zone.

CREATE TABLE review_series (
    relationship_id BLOB NOT NULL REFERENCES relationship (relationship_id),
    series_id BLOB NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('jmt', 'ser', 'exit_strategy', 'rmp', 'other')),
    -- '1 months', '2 weeks'.
    cadence TEXT NOT NULL,
    -- JSON: [{party_id, user_id, name}], ["ser", "jmt"], [{user_id, name}].
    chairs TEXT NOT NULL,
    invited_roles TEXT NOT NULL,
    invitees TEXT NOT NULL,
    created_by BLOB REFERENCES user_account (user_id),
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, series_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX review_series_name ON review_series (relationship_id, name);

CREATE TABLE meeting (
    relationship_id BLOB NOT NULL,
    meeting_id BLOB NOT NULL,
    series_id BLOB NOT NULL,
    local_start TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    duration_minutes INTEGER NOT NULL,
    place TEXT NOT NULL,
    call_link TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'minuting', 'signing', 'sealed', 'cancelled')),
    -- iCalendar's SEQUENCE: raised when the meeting moves or is cancelled.
    sequence INTEGER NOT NULL,
    minutes TEXT NOT NULL,
    created_by BLOB REFERENCES user_account (user_id),
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, meeting_id),
    FOREIGN KEY (relationship_id, series_id) REFERENCES review_series (relationship_id, series_id)
) WITHOUT ROWID;
-- A series' meetings by start (its page, its last held and next scheduled meeting).
CREATE INDEX meeting_by_series ON meeting (relationship_id, series_id, starts_at, meeting_id, status);

-- Every agenda item's meeting, so that an action can name the item it was raised from.
CREATE TABLE meeting_item (
    relationship_id BLOB NOT NULL,
    item_id BLOB NOT NULL,
    meeting_id BLOB NOT NULL,
    PRIMARY KEY (relationship_id, item_id),
    FOREIGN KEY (relationship_id, meeting_id) REFERENCES meeting (relationship_id, meeting_id)
) WITHOUT ROWID;

-- SER interventions aimed at one party ("deliver your part"), for that party's oversight page.
CREATE TABLE review_intervention (
    relationship_id BLOB NOT NULL,
    decision_id BLOB NOT NULL,
    meeting_id BLOB NOT NULL,
    party_id BLOB NOT NULL,
    text TEXT NOT NULL,
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (relationship_id, decision_id),
    FOREIGN KEY (relationship_id, meeting_id) REFERENCES meeting (relationship_id, meeting_id),
    FOREIGN KEY (relationship_id, party_id) REFERENCES party (relationship_id, party_id)
) WITHOUT ROWID;
CREATE INDEX review_intervention_by_party ON review_intervention (relationship_id, party_id, decided_at, decision_id);
