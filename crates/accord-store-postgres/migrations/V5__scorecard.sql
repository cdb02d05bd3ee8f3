-- The scorecard reads the latest values of every KPI: value and status ride along in the index of
-- current values, so the read can stay in the index.
DROP INDEX measurement_current;
CREATE UNIQUE INDEX measurement_current ON measurement (relationship_id, kpi_id, period_start) INCLUDE (value, rag) WHERE superseded_at IS NULL;
