-- A value recorded by mistake is retracted rather than deleted: it stays in history with who
-- retracted it, when and why, and is no longer current (superseded_at is set with retracted_at),
-- so every read of current values leaves it out as it leaves out a corrected one.
ALTER TABLE measurement ADD COLUMN retracted_at timestamptz;
ALTER TABLE measurement ADD COLUMN retracted_by uuid REFERENCES user_account (user_id);
ALTER TABLE measurement ADD COLUMN retraction_reason text;
-- A KPI page shows its retracted values beside its current ones: a short range of this index.
CREATE INDEX measurement_retracted ON measurement (relationship_id, kpi_id, period_start) WHERE retracted_at IS NOT NULL;
