-- The issue log reads its lines from these indexes alone: each carries what a line shows, so a
-- page of 50 no longer looks up 50 issue rows and 50 raisers' accounts (about four B-tree
-- searches a line).
DROP INDEX issue_live;
DROP INDEX issue_closed;
DROP INDEX issue_all;
CREATE INDEX issue_live ON issue (relationship_id, deadline, issue_id, number, title, category, severity, raising_party_id, level, status, resolved_at)
    WHERE status IN ('open', 'resolution_proposed');
CREATE INDEX issue_closed ON issue (relationship_id, resolved_at, issue_id, number, title, category, severity, raising_party_id, level, status, deadline)
    WHERE status IN ('resolved', 'withdrawn');
CREATE INDEX issue_all ON issue (relationship_id, deadline, issue_id, number, title, category, severity, raising_party_id, level, status, resolved_at);
