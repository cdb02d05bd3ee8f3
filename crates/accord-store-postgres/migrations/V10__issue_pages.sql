-- The API's issue list returns whole issues: the log's indexes (V7) now carry the rest of an
-- issue's columns too (index-only scans once vacuumed).
DROP INDEX issue_live;
DROP INDEX issue_closed;
DROP INDEX issue_all;
CREATE INDEX issue_live ON issue (relationship_id, deadline, issue_id)
    INCLUDE (number, title, category, severity, raising_party_id, level, status, resolved_at,
        description, raised_by, ladder_version, level_started_at, version, created_at)
    WHERE status IN ('open', 'resolution_proposed');
CREATE INDEX issue_closed ON issue (relationship_id, resolved_at, issue_id)
    INCLUDE (number, title, category, severity, raising_party_id, level, status, deadline,
        description, raised_by, ladder_version, level_started_at, version, created_at)
    WHERE status IN ('resolved', 'withdrawn');
CREATE INDEX issue_all ON issue (relationship_id, deadline, issue_id)
    INCLUDE (number, title, category, severity, raising_party_id, level, status, resolved_at,
        description, raised_by, ladder_version, level_started_at, version, created_at);
