//! The storage contract: one trait per module ([`PeopleStore`], [`IssueStore`], …), [`Store`]
//! their sum, each implemented once per database (SQLite, PostgreSQL).
//!
//! Every method that changes state writes its audit event(s) in the same transaction as the
//! change. Rules live in `accord-domain`; an implementation loads what a rule needs, asks the
//! rule, and writes.

pub mod actions;
mod cells;
mod error;
mod issues;
pub mod measures;
mod rows;
mod views;

// Each module's decisions are reached by its path (`accord_store::measures::decide`), not the glob.
#[allow(ambiguous_glob_reexports)]
pub use actions::*;
pub use cells::Cells;
pub use error::{StoreError, StoreResult};
pub use issues::*;
#[allow(ambiguous_glob_reexports)]
pub use measures::*;
pub use rows::*;
pub use views::*;

use accord_domain::audit::{ChainHead, Event};
use accord_domain::membership::Role;
use accord_domain::relationship::NewRelationship;
use accord_domain::text::{Email, Name};
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

/// Organisations, accounts, API tokens, sessions, sign-in throttling and account administration.
#[async_trait]
pub trait PeopleStore: Send + Sync + 'static {
    /// Refuses a name that looks like an existing organisation's (the same [`Name::skeleton`]).
    async fn create_organisation(&self, name: Name, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Organisation>;

    /// NotFound unless [`Visibility`] shows it.
    async fn organisation(&self, id: Uuid, visible: Visibility) -> StoreResult<Organisation>;

    /// By id or (case-insensitive) name.
    async fn find_organisation(&self, name_or_id: &str) -> StoreResult<Organisation>;

    /// Those [`Visibility`] shows, in creation order.
    async fn list_organisations(&self, visible: Visibility, page: PageRequest) -> StoreResult<Page<Organisation>>;

    async fn create_user(&self, user: NewUser, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User>;

    async fn user(&self, id: Uuid) -> StoreResult<User>;

    async fn user_by_email(&self, email: &Email) -> StoreResult<User>;

    /// In creation order.
    async fn list_users(&self, page: PageRequest) -> StoreResult<Page<User>>;

    /// The user's password hash (PHC string), if they have a password.
    async fn password_hash(&self, user_id: Uuid) -> StoreResult<Option<String>>;

    async fn create_token(&self, user_id: Uuid, name: Name, token_hash: &str, now: Timestamp) -> StoreResult<ApiToken>;

    /// The user a live (not revoked) token belongs to.
    async fn user_by_token(&self, token_hash: &str) -> StoreResult<User>;

    async fn list_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>>;

    async fn revoke_token(&self, user_id: Uuid, token_id: Uuid, now: Timestamp) -> StoreResult<()>;

    async fn create_session(
        &self,
        session_hash: &str,
        user_id: Uuid,
        now: Timestamp,
        idle_until: Timestamp,
        absolute_until: Timestamp,
    ) -> StoreResult<()>;

    /// The live session's user; NotFound when unknown, expired, or the user is disabled.
    async fn session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Session>;

    /// The live session's or token's user and, when `relationship_id` is given, that relationship
    /// (None if unknown) and the user's current membership: every request's first read, in one
    /// round trip. NotFound when the credential is unknown, expired, revoked or its user disabled.
    async fn viewer(&self, credential: Credential, relationship_id: Option<Uuid>, now: Timestamp) -> StoreResult<Viewer>;

    /// Moves the idle expiry (never past the absolute one).
    async fn touch_session(&self, session_hash: &str, idle_until: Timestamp) -> StoreResult<()>;

    async fn end_session(&self, session_hash: &str) -> StoreResult<()>;

    /// Failed sign-ins for `email` since `since`.
    async fn sign_in_failures(&self, email: &str, since: Timestamp) -> StoreResult<u32>;

    /// Records a failure and forgets those older than `forget_before`.
    async fn record_sign_in_failure(&self, email: &str, now: Timestamp, forget_before: Timestamp) -> StoreResult<()>;

    async fn clear_sign_in_failures(&self, email: &str) -> StoreResult<()>;

    /// Sets the password and ends the user's sessions, all but `keep_session` (the hash of the
    /// session that changed it, if one did). API tokens stay as they are.
    async fn set_password(
        &self,
        user_id: Uuid,
        password_hash: &str,
        keep_session: Option<&str>,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// Disabling ends every session of the user at once.
    async fn set_user_disabled(&self, user_id: Uuid, disabled: bool, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User>;

    /// A single-use link to set a password, issued by a site admin.
    async fn create_password_reset(
        &self,
        user_id: Uuid,
        token_hash: &str,
        expires_at: Timestamp,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// The user a live (unused, unexpired) reset link belongs to.
    async fn password_reset_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<User>;

    /// Uses the link: sets the password and ends the user's sessions. NotFound when used or expired.
    async fn use_password_reset(&self, token_hash: &str, password_hash: &str, now: Timestamp) -> StoreResult<User>;
}

/// Relationships, their parties and members, and invitations to join them.
#[async_trait]
pub trait RelationshipStore: Send + Sync + 'static {
    async fn create_relationship(&self, new: NewRelationship, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Relationship>;

    async fn relationship(&self, id: Uuid) -> StoreResult<Relationship>;

    /// By id or (case-insensitive) name.
    async fn find_relationship(&self, name_or_id: &str) -> StoreResult<Relationship>;

    /// Applies `change` if the relationship is still at `expected_version`, else `Stale`.
    async fn update_relationship(
        &self,
        id: Uuid,
        expected_version: i64,
        change: RelationshipChange,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Relationship>;

    /// All relationships (`member` = None) or those `member` currently belongs to.
    async fn list_relationships(&self, member: Option<Uuid>, page: PageRequest) -> StoreResult<Page<Relationship>>;

    async fn parties(&self, relationship_id: Uuid) -> StoreResult<Vec<Party>>;

    async fn add_member(
        &self,
        relationship_id: Uuid,
        user_id: Uuid,
        role: Role,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Member>;

    async fn change_role(
        &self,
        relationship_id: Uuid,
        user_id: Uuid,
        role: Role,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<Member>;

    async fn remove_member(&self, relationship_id: Uuid, user_id: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<()>;

    /// `successor` becomes their party's SER; the previous SER stays on as a JMT member.
    async fn succeed_ser(&self, relationship_id: Uuid, successor: Uuid, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Member>;

    /// Current members, ordered by party then role then name.
    async fn members(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>>;

    /// Every membership period, current and ended, oldest first.
    async fn membership_history(&self, relationship_id: Uuid) -> StoreResult<Vec<Member>>;

    /// The user's current membership, if any.
    async fn membership(&self, relationship_id: Uuid, user_id: Uuid) -> StoreResult<Option<Member>>;

    async fn create_invitation(&self, new: NewInvitation, actor: Uuid, now: Timestamp) -> StoreResult<Invitation>;

    /// A pending (unaccepted, unrevoked, unexpired) invitation by its token.
    async fn invitation(&self, token_hash: &str, now: Timestamp) -> StoreResult<Invitation>;

    async fn pending_invitations(&self, relationship_id: Uuid, now: Timestamp) -> StoreResult<Vec<Invitation>>;

    /// Accepts: creates the account when `account` is new, adds the membership, uses up the link.
    async fn accept_invitation(&self, token_hash: &str, account: InvitationAccount, now: Timestamp) -> StoreResult<Member>;

    async fn revoke_invitation(&self, relationship_id: Uuid, invitation_id: Uuid, actor: Uuid, now: Timestamp) -> StoreResult<()>;
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

/// Page views: what one page shows, read in one round trip (see `views`).
#[async_trait]
pub trait ViewStore: Send + Sync + 'static {
    /// Who is asking, as [`PeopleStore::viewer`] reads it, and what a page of `relationship_id` shows,
    /// in one round trip: a page paid a hop to the blocking pool (or a pool checkout) for each.
    /// The view is read only when [`shown_views`] allows it; its own failure (a KPI that is not
    /// there) comes back beside the viewer.
    async fn viewer_with_view(
        &self,
        credential: Credential,
        relationship_id: Uuid,
        now: Timestamp,
        request: ViewRequest,
    ) -> StoreResult<(Viewer, StoreResult<View>)>;

    /// What a page of `relationship_id` shows, alone (a page that re-renders after a refused form).
    async fn view(&self, relationship_id: Uuid, request: ViewRequest) -> StoreResult<View>;

    /// One issue as `viewer_party` sees it (other parties' private notes left out).
    async fn issue_detail(&self, relationship_id: Uuid, issue_id: Uuid, viewer_party: Option<Uuid>) -> StoreResult<IssueDetail>;
}

/// The audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    /// Events of one chain after `after_position`, oldest first, at most `limit`.
    async fn audit_events(&self, chain: Uuid, after_position: i64, limit: u32) -> StoreResult<Vec<Event>>;

    /// Newest first, before `before_position` (for pages that show recent activity).
    async fn recent_audit_events(&self, chain: Uuid, before_position: Option<i64>, limit: u32) -> StoreResult<Vec<Event>>;

    async fn chain_head(&self, chain: Uuid) -> StoreResult<Option<ChainHead>>;

    /// Every chain: the site chain and one per relationship.
    async fn audit_chains(&self) -> StoreResult<Vec<Uuid>>;
}

/// What may change on a relationship through `update_relationship`.
#[derive(Debug, Clone, Default)]
pub struct RelationshipChange {
    pub name: Option<Name>,
    pub purpose: Option<String>,
    pub status: Option<accord_domain::relationship::Status>,
}
