-- The latest 12 current values of each KPI, kept beside it so that the scorecard reads one row per
-- KPI instead of a dozen (encoded by accord_store::encode_recent). Every write of a value rewrites
-- it in the same transaction; NULL until the store fills it in after migrating.
ALTER TABLE kpi ADD COLUMN recent BLOB;
