-- A party's oversight page reads each of its lists from an index of its own: the party's
-- obligations by due date, its open actions by due date, and the live issues at each (ladder
-- version, level) its members handle, by deadline.
CREATE INDEX obligation_by_party ON obligation (relationship_id, party_id, due_date);
CREATE INDEX action_open_by_party ON action (relationship_id, party_id, due_date, action_id) WHERE status IN ('open', 'in_progress');
CREATE INDEX issue_waiting ON issue (relationship_id, ladder_version, level, deadline, issue_id) WHERE status IN ('open', 'resolution_proposed');
