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
mod issues;
pub mod measures;
pub mod people;
pub mod relationships;
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
pub use issues::*;
pub use measures::*;
// Each module's `decide` is reached by its path (`people::decide`), never from the root.
#[allow(ambiguous_glob_reexports)]
pub use people::*;
#[allow(ambiguous_glob_reexports)]
pub use relationships::*;
pub use rows::*;
pub use views::*;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

/// The chain that site-level events (organisations, accounts, tokens) belong to.
pub const SITE_CHAIN: Uuid = Uuid::nil();

/// The whole storage contract: the sum of the module traits. Bring them into scope with
/// `use accord_store::prelude::*;`.
pub trait Store:
    DatabaseStore + PeopleStore + RelationshipStore + MeasureStore + ActionStore + IssueStore + NotificationStore + ViewStore + AuditStore
{
}

impl<
    T: DatabaseStore + PeopleStore + RelationshipStore + MeasureStore + ActionStore + IssueStore + NotificationStore + ViewStore + AuditStore,
> Store for T
{
}

/// The module traits, so that their methods can be called on a `dyn Store`.
pub mod prelude {
    pub use crate::{
        ActionStore, AuditStore, DatabaseStore, IssueStore, MeasureStore, NotificationStore, PeopleStore, RelationshipStore, Store,
        ViewStore,
    };
}

/// The issue log: the escalation ladder, holidays, issues and their timed sweep.
#[async_trait]
pub trait IssueStore: Send + Sync + 'static {
    /// The latest version (the default ladder, version 0, until someone saves one).
    async fn ladder(&self, relationship_id: Uuid) -> StoreResult<Ladder>;

    async fn ladder_version(&self, relationship_id: Uuid, version: i32) -> StoreResult<Ladder>;

    /// Saves the levels as the next version, if the latest is still `expected_version`.
    async fn save_ladder(
        &self,
        relationship_id: Uuid,
        levels: Vec<LadderLevel>,
        expected_version: i32,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Ladder>;

    async fn holidays(&self, relationship_id: Uuid) -> StoreResult<Vec<Holiday>>;

    /// Replaces one party's holidays.
    async fn set_holidays(
        &self,
        relationship_id: Uuid,
        party_id: Uuid,
        holidays: Vec<(Date, String)>,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Raised by `actor` (a member, for their party) at the lowest level of the current ladder.
    async fn create_issue(&self, new: NewIssue, actor: Uuid, now: Timestamp) -> StoreResult<Issue>;

    async fn issue(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Issue>;

    /// Live issues by deadline (overdue first), closed ones by resolution; keyset after (deadline, id).
    async fn issues(
        &self,
        relationship_id: Uuid,
        filter: IssueFilter,
        after: Option<(Timestamp, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<Issue>>;

    /// The timeline as `viewer_party` may see it (other parties' private notes left out).
    async fn issue_timeline(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<Vec<IssueEvent>>;

    async fn pending_proposal(&self, relationship_id: Uuid, issue_id: Uuid) -> StoreResult<Option<Proposal>>;

    /// A comment for everyone, or (`private`) a note only the actor's party sees.
    async fn comment_issue(
        &self,
        relationship_id: Uuid,
        issue_id: Uuid,
        body: String,
        private: bool,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<IssueEvent>;

    /// A handler escalates one level before the deadline, giving a reason.
    async fn escalate_issue(
        &self,
        relationship_id: Uuid,
        issue_id: Uuid,
        reason: String,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Issue>;

    async fn propose_resolution(
        &self,
        relationship_id: Uuid,
        issue_id: Uuid,
        body: String,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Issue>;

    /// Accepts for the actor's party (resolved once every party has), or rejects with a reason
    /// (open again, at the same level).
    async fn respond_to_proposal(
        &self,
        relationship_id: Uuid,
        issue_id: Uuid,
        accept: bool,
        reason: String,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Issue>;

    async fn withdraw_issue(
        &self,
        relationship_id: Uuid,
        issue_id: Uuid,
        reason: String,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Issue>;

    async fn issue_stats(&self, relationship_id: Uuid) -> StoreResult<Vec<LevelStat>>;

    /// Escalates every issue whose deadline has passed (one level per elapsed deadline, each
    /// exactly once however many servers sweep) and sends due reminders.
    async fn sweep(&self, now: Timestamp) -> StoreResult<SweepReport>;

    /// What an issue may touch, in one short list.
    async fn link_targets(&self, relationship_id: Uuid) -> StoreResult<Vec<LinkTarget>>;
}

/// Notifications: the in-app inbox and the e-mail outbox.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    async fn inbox(&self, user_id: Uuid, limit: u32) -> StoreResult<Vec<Notification>>;

    async fn unread_count(&self, user_id: Uuid) -> StoreResult<i64>;

    async fn mark_read(&self, user_id: Uuid, notification_id: Option<Uuid>, now: Timestamp) -> StoreResult<()>;

    /// Leases up to `limit` due e-mails to `owner` until `until`; a lease that lapses is taken again.
    async fn lease_mail(&self, owner: &str, now: Timestamp, until: Timestamp, limit: u32) -> StoreResult<Vec<OutboxMail>>;

    async fn mail_sent(&self, id: Uuid, owner: &str, now: Timestamp) -> StoreResult<()>;

    /// Records a failed attempt; tried again from `retry_at`.
    async fn mail_failed(&self, id: Uuid, owner: &str, error: &str, retry_at: Timestamp) -> StoreResult<()>;
}
