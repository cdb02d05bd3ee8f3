//! The storage contract: one trait per module ([`PeopleStore`], [`IssueStore`], …), [`Store`]
//! their sum, each implemented once per database (SQLite, PostgreSQL).
//!
//! Every method that changes state writes its audit event(s) in the same transaction as the
//! change. Rules live in `accord-domain`; an implementation loads what a rule needs, asks the
//! rule, and writes.

pub mod actions;
mod audit;
mod cells;
mod database;
mod error;
mod idempotency;
pub mod issues;
pub mod measures;
mod notifications;
pub mod oversight;
pub mod people;
pub mod records;
pub mod relationships;
pub mod reviews;
mod rows;
pub mod sql;
mod views;

// Each module's `decide` is reached by its path (`people::decide`), never from the root.
#[allow(ambiguous_glob_reexports)]
pub use actions::*;
pub use audit::*;
pub use cells::Cells;
pub use database::*;
pub use error::{StoreError, StoreResult};
pub use idempotency::*;
#[allow(ambiguous_glob_reexports)]
pub use issues::*;
pub use measures::*;
pub use notifications::*;
pub use oversight::{OversightView, WaitingIssue};
// Each module's `decide` is reached by its path (`people::decide`), never from the root.
#[allow(ambiguous_glob_reexports)]
pub use people::*;
#[allow(ambiguous_glob_reexports)]
pub use records::*;
#[allow(ambiguous_glob_reexports)]
pub use relationships::*;
#[allow(ambiguous_glob_reexports)]
pub use reviews::*;
pub use rows::*;
pub use views::*;

use uuid::Uuid;

/// The chain that site-level events (organisations, accounts, tokens) belong to.
pub const SITE_CHAIN: Uuid = Uuid::nil();

/// The whole storage contract: the sum of the module traits. Bring them into scope with
/// `use accord_store::prelude::*;`.
pub trait Store:
    DatabaseStore
    + PeopleStore
    + RelationshipStore
    + MeasureStore
    + ActionStore
    + IssueStore
    + ReviewStore
    + NotificationStore
    + ViewStore
    + AuditStore
    + IdempotencyStore
    + RecordStore
{
}

impl<
    T: DatabaseStore
        + PeopleStore
        + RelationshipStore
        + MeasureStore
        + ActionStore
        + IssueStore
        + ReviewStore
        + NotificationStore
        + ViewStore
        + AuditStore
        + IdempotencyStore
        + RecordStore,
> Store for T
{
}

/// The module traits, so that their methods can be called on a `dyn Store`.
pub mod prelude {
    pub use crate::{
        ActionStore, AuditStore, DatabaseStore, IdempotencyStore, IssueStore, MeasureStore, NotificationStore, PeopleStore, RecordStore,
        RelationshipStore, ReviewStore, Store, ViewStore,
    };
}
