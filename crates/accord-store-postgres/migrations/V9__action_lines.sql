-- The action log reads its lines from these indexes alone (index-only scans once vacuumed): each
-- carries every column a line is read with.
DROP INDEX action_open_by_due;
DROP INDEX action_closed_by_due;
DROP INDEX action_by_due;
CREATE INDEX action_open_by_due ON action (relationship_id, due_date, action_id)
    INCLUDE (title, description, owner_id, party_id, status, source_kind, source_id, source_period, version, created_at)
    WHERE status IN ('open', 'in_progress');
CREATE INDEX action_closed_by_due ON action (relationship_id, due_date, action_id)
    INCLUDE (title, description, owner_id, party_id, status, source_kind, source_id, source_period, version, created_at)
    WHERE status IN ('done', 'cancelled');
CREATE INDEX action_by_due ON action (relationship_id, due_date, action_id)
    INCLUDE (title, description, owner_id, party_id, status, source_kind, source_id, source_period, version, created_at);
