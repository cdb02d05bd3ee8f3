//! The storage contract: one trait per module ([`PeopleStore`], [`IssueStore`], …), [`Store`]
//! their sum, each implemented once per database (SQLite, PostgreSQL).
//!
//! Every method that changes state writes its audit event(s) in the same transaction as the
//! change. Rules live in `accord-domain`; an implementation loads what a rule needs, asks the
//! rule, and writes.

mod error;
pub mod issues;
mod measures;
mod notifications;
mod rows;
mod views;

pub use error::{StoreError, StoreResult};
pub use issues::*;
pub use measures::*;
pub use notifications::*;
pub use rows::*;
pub use views::*;

use accord_domain::audit::{ChainHead, Event};
use accord_domain::measure::Thresholds;
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

/// Objectives, KPIs and their threshold versions, measurements and obligations.
#[async_trait]
pub trait MeasureStore: Send + Sync + 'static {
    async fn create_objective(&self, new: NewObjective, actor: Uuid, now: Timestamp) -> StoreResult<Objective>;

    async fn objectives(&self, relationship_id: Uuid) -> StoreResult<Vec<Objective>>;

    async fn objective(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Objective>;

    /// Records a relevance review (a revision keeps the earlier wording), if still at `expected_version`.
    async fn review_objective(
        &self,
        relationship_id: Uuid,
        objective_id: Uuid,
        review: ObjectiveReview,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Objective>;

    async fn objective_reviews(&self, relationship_id: Uuid, objective_id: Uuid) -> StoreResult<Vec<ObjectiveReviewRecord>>;

    async fn create_kpi(&self, new: NewKpi, actor: Uuid, now: Timestamp) -> StoreResult<Kpi>;

    /// Every KPI of the relationship, by name.
    async fn kpis(&self, relationship_id: Uuid) -> StoreResult<Vec<Kpi>>;

    async fn kpi(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Kpi>;

    /// Oldest first.
    async fn kpi_versions(&self, relationship_id: Uuid, kpi_id: Uuid) -> StoreResult<Vec<KpiVersion>>;

    /// New thresholds from the period starting `effective_from` (after every earlier version's).
    async fn add_kpi_version(
        &self,
        relationship_id: Uuid,
        kpi_id: Uuid,
        effective_from: Date,
        thresholds: Thresholds,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Kpi>;

    /// Records (or corrects) a value; its RAG is computed now, under the version in force for the period.
    async fn record_measurement(
        &self,
        relationship_id: Uuid,
        input: MeasurementInput,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Measurement>;

    /// Current values of one KPI, newest period first, before `before` (a period start), at most `limit`.
    async fn measurements(&self, relationship_id: Uuid, kpi_id: Uuid, before: Option<Date>, limit: u32) -> StoreResult<Vec<Measurement>>;

    /// Every value ever written for one period of a KPI, newest first.
    async fn measurement_history(&self, relationship_id: Uuid, kpi_id: Uuid, period_start: Date) -> StoreResult<Vec<Measurement>>;

    /// The latest `per_kpi` current values of every KPI, oldest first within each KPI.
    async fn recent_measurements(&self, relationship_id: Uuid, per_kpi: u32) -> StoreResult<Vec<Measurement>>;

    /// All rows or none, as one audit event naming the file's SHA-256 and the row count.
    async fn import_measurements(
        &self,
        relationship_id: Uuid,
        rows: Vec<MeasurementInput>,
        file_sha256: &str,
        actor: Option<Uuid>,
        now: Timestamp,
    ) -> StoreResult<ImportSummary>;

    async fn create_obligation(&self, new: NewObligation, actor: Uuid, now: Timestamp) -> StoreResult<Obligation>;

    async fn update_obligation(
        &self,
        relationship_id: Uuid,
        obligation_id: Uuid,
        change: ObligationChange,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Obligation>;

    /// Open ones first by due date, then delivered and missed.
    async fn obligations(&self, relationship_id: Uuid) -> StoreResult<Vec<Obligation>>;

    async fn obligation(&self, relationship_id: Uuid, obligation_id: Uuid) -> StoreResult<Obligation>;
}

/// The action log: actions raised by hand or from any module's records.
#[async_trait]
pub trait ActionStore: Send + Sync + 'static {
    async fn create_action(&self, new: NewAction, actor: Uuid, now: Timestamp) -> StoreResult<Action>;

    async fn update_action(
        &self,
        relationship_id: Uuid,
        action_id: Uuid,
        change: ActionChange,
        expected_version: i64,
        actor: Uuid,
        now: Timestamp,
    ) -> StoreResult<Action>;

    async fn action(&self, relationship_id: Uuid, action_id: Uuid) -> StoreResult<Action>;

    /// By due date (overdue first), keyset-paged after (due date, id).
    async fn actions(
        &self,
        relationship_id: Uuid,
        filter: ActionFilter,
        after: Option<(Date, Uuid)>,
        limit: u32,
    ) -> StoreResult<Vec<Action>>;
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
