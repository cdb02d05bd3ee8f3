-- The scorecard reads the latest values of every KPI from this index alone (value and status
-- included), never visiting the table: one short index range per KPI.
DROP INDEX measurement_by_period;
CREATE INDEX measurement_by_period ON measurement (relationship_id, kpi_id, period_start, entered_at, superseded_at, value, rag);
