//! The database itself.

use crate::StoreResult;
use async_trait::async_trait;

/// The database itself: its backend, schema and health.
#[async_trait]
pub trait DatabaseStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Brings the schema up to date, and puts back the audit trail's append-only triggers if any
    /// is missing, disabled or changed: returns the names of those it restored (a missing trigger
    /// is a sign of tampering, for the operator's log).
    async fn migrate(&self) -> StoreResult<Vec<&'static str>>;

    /// Reachable and answering.
    async fn ping(&self) -> StoreResult<()>;

    /// After a bulk load (`accord seed`): brings the planner's statistics up to date, and on
    /// PostgreSQL the visibility map, so the next reads plan with the data as it now is and read
    /// covering indexes alone, instead of waiting for autovacuum to do it under load.
    async fn settle(&self) -> StoreResult<()>;
}
