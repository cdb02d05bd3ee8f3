//! The audit trail's append-only triggers, checked whenever the store migrates (`accord serve`,
//! `accord migrate`): anyone who can write the file can drop them, and a missing one is a sign of
//! tampering, so it is put back and named for the operator's log.

use crate::R;
use rusqlite::{Connection, OptionalExtension};

/// The triggers as V1 created them.
const TRIGGERS: [(&str, &str); 2] = [
    (
        "audit_event_no_update",
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    ),
    (
        "audit_event_no_delete",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    ),
];

/// Puts back each trigger that is missing or not as V1 wrote it; the names of those it put back.
pub(crate) fn restore(tx: &Connection) -> R<Vec<&'static str>> {
    let mut restored = Vec::new();
    for (name, sql) in TRIGGERS {
        let found: Option<String> =
            tx.query_row("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1", [name], |r| r.get(0)).optional()?;
        if found.as_deref().map(words) != Some(words(sql)) {
            tx.execute_batch(&format!("DROP TRIGGER IF EXISTS {name}; {sql};"))?;
            restored.push(name);
        }
    }
    Ok(restored)
}

/// The statement's words, so that line endings and indentation do not count as a change.
fn words(sql: &str) -> Vec<&str> {
    sql.split_whitespace().collect()
}
