-- Measurements kept in the order they are read and written: by KPI and period, each period's
-- values oldest first. The table itself is then what `measurement_by_period` was (a period's
-- history, newest last), so that index goes: an import of a million values writes two B-trees
-- instead of three, each growing at one end per KPI. `measurement_id` stays unique as a key's
-- last column (ids are made unique); a value is superseded through the index of current ones.
CREATE TABLE measurement_by_kpi (
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
    PRIMARY KEY (relationship_id, kpi_id, period_start, entered_at, measurement_id),
    FOREIGN KEY (relationship_id, kpi_id) REFERENCES kpi (relationship_id, kpi_id)
) WITHOUT ROWID;
INSERT INTO measurement_by_kpi (relationship_id, measurement_id, kpi_id, period_start, value, comment, rag, entered_by, entered_at, superseded_at)
    SELECT relationship_id, measurement_id, kpi_id, period_start, value, comment, rag, entered_by, entered_at, superseded_at
    FROM measurement ORDER BY relationship_id, kpi_id, period_start, entered_at, measurement_id;
DROP TABLE measurement;
ALTER TABLE measurement_by_kpi RENAME TO measurement;
CREATE UNIQUE INDEX measurement_current ON measurement (relationship_id, kpi_id, period_start) WHERE superseded_at IS NULL;
