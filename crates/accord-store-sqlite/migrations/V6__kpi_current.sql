-- What the scorecard shows of each KPI, kept beside it so that it reads one row per KPI:
-- the thresholds of its latest version (rewritten with every new version) ...
ALTER TABLE kpi ADD COLUMN target REAL NOT NULL DEFAULT 0;
ALTER TABLE kpi ADD COLUMN amber REAL NOT NULL DEFAULT 0;
ALTER TABLE kpi ADD COLUMN red REAL NOT NULL DEFAULT 0;
UPDATE kpi SET (target, amber, red) = (
    SELECT v.target, v.amber, v.red FROM kpi_version v
    WHERE v.relationship_id = kpi.relationship_id AND v.kpi_id = kpi.kpi_id ORDER BY v.effective_from DESC LIMIT 1);
-- ... and its latest 12 current values (encoded by accord_store::encode_recent), rewritten in the
-- same transaction as every write of a value; NULL until the store fills it in after migrating.
ALTER TABLE kpi ADD COLUMN recent BLOB;
-- The scorecard no longer reads values from measurement_by_period: back to the narrow index that
-- a period's history needs (every row written by an import writes less).
DROP INDEX measurement_by_period;
CREATE INDEX measurement_by_period ON measurement (relationship_id, kpi_id, period_start, entered_at);
