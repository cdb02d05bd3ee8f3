-- The issue log reads its lines from these indexes alone (an index-only scan): each carries
-- what a line shows, so a page no longer visits the issue rows and the raisers' accounts.
DROP INDEX issue_live;
DROP INDEX issue_closed;
DROP INDEX issue_all;
CREATE INDEX issue_live ON issue (relationship_id, deadline, issue_id)
    INCLUDE (number, title, category, severity, raising_party_id, level, status, resolved_at)
    WHERE status IN ('open', 'resolution_proposed');
CREATE INDEX issue_closed ON issue (relationship_id, resolved_at, issue_id)
    INCLUDE (number, title, category, severity, raising_party_id, level, status, deadline)
    WHERE status IN ('resolved', 'withdrawn');
CREATE INDEX issue_all ON issue (relationship_id, deadline, issue_id)
    INCLUDE (number, title, category, severity, raising_party_id, level, status, resolved_at);
