//! The audit trail's append-only trigger, checked whenever the store migrates (`accord serve`,
//! `accord migrate`): whoever owns the tables can drop, disable or rewrite it, and a missing one
//! is a sign of tampering, so it is put back and named for the operator's log.

use crate::R;
use deadpool_postgres::{GenericClient, Transaction};

const NAME: &str = "audit_event_append_only";

/// The function's body and the trigger as V1 created them.
const BODY: &str = "
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END
";
const TRIGGER: &str = "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event
FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()";

/// pg_trigger.tgtype of [`TRIGGER`]: BEFORE (2), DELETE (8), UPDATE (16), TRUNCATE (32), for each
/// statement (no ROW bit).
const TGTYPE: i16 = 2 | 8 | 16 | 32;

/// Puts the trigger back if it is missing, disabled, or not as V1 wrote it (its type or its
/// function's body changed); the names of what it put back.
pub(crate) async fn restore(tx: &Transaction<'_>) -> R<Vec<&'static str>> {
    let found = tx
        .query_opt(
            "SELECT t.tgenabled IN ('O', 'A') AND t.tgtype = $2 AND p.proname = $1, p.prosrc
             FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
             WHERE t.tgrelid = 'audit_event'::regclass AND t.tgname = $1",
            &[&NAME, &TGTYPE],
        )
        .await?;
    let in_place = match found {
        Some(row) => row.try_get::<_, bool>(0)? && words(row.try_get(1)?) == words(BODY),
        None => false,
    };
    if in_place {
        return Ok(Vec::new());
    }
    tx.batch_execute(&format!(
        "CREATE OR REPLACE FUNCTION {NAME}() RETURNS trigger LANGUAGE plpgsql AS $${BODY}$$;
         DROP TRIGGER IF EXISTS {NAME} ON audit_event;
         {TRIGGER};"
    ))
    .await?;
    Ok(vec![NAME])
}

/// The text's words, so that line endings and indentation do not count as a change.
fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}
