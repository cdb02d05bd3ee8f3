//! The storage contract: one trait, implemented once per database (SQLite, PostgreSQL).
//!
//! Every method that changes state writes its audit event(s) in the same transaction as the
//! change. Rules live in `accord-domain`; an implementation loads what a rule needs, asks the
//! rule, and writes.

mod error;
mod rows;

pub use error::{StoreError, StoreResult};
pub use rows::*;

use accord_domain::audit::{ChainHead, Event};
use accord_domain::membership::Role;
use accord_domain::relationship::NewRelationship;
use accord_domain::text::{Email, Name};
use async_trait::async_trait;
use jiff::Timestamp;
use uuid::Uuid;

/// The chain that site-level events (organisations, accounts, tokens) belong to.
pub const SITE_CHAIN: Uuid = Uuid::nil();

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Brings the schema up to date.
    async fn migrate(&self) -> StoreResult<()>;
    /// Reachable and answering.
    async fn ping(&self) -> StoreResult<()>;

    // Organisations.
    async fn create_organisation(&self, name: Name, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Organisation>;
    async fn organisation(&self, id: Uuid) -> StoreResult<Organisation>;
    /// By id or (case-insensitive) name.
    async fn find_organisation(&self, name_or_id: &str) -> StoreResult<Organisation>;
    async fn list_organisations(&self, page: PageRequest) -> StoreResult<Page<Organisation>>;

    // Accounts and their credentials.
    async fn create_user(&self, user: NewUser, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User>;
    async fn user(&self, id: Uuid) -> StoreResult<User>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<User>;
    /// In creation order.
    async fn list_users(&self, page: PageRequest) -> StoreResult<Page<User>>;
    /// The user's password hash (PHC string), if they have a password.
    async fn password_hash(&self, user_id: Uuid) -> StoreResult<Option<String>>;

    // Personal API tokens (only their SHA-256 is stored).
    async fn create_token(&self, user_id: Uuid, name: Name, token_hash: &str, now: Timestamp) -> StoreResult<ApiToken>;
    /// The user a live (not revoked) token belongs to.
    async fn user_by_token(&self, token_hash: &str) -> StoreResult<User>;
    async fn list_tokens(&self, user_id: Uuid) -> StoreResult<Vec<ApiToken>>;
    async fn revoke_token(&self, user_id: Uuid, token_id: Uuid, now: Timestamp) -> StoreResult<()>;

    // Relationships and their parties.
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

    // Memberships: a user joins for the party of their own organisation.
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

    // Sessions, stored by the SHA-256 of their id so that a stolen database opens no session.
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
    /// Moves the idle expiry (never past the absolute one).
    async fn touch_session(&self, session_hash: &str, idle_until: Timestamp) -> StoreResult<()>;
    async fn end_session(&self, session_hash: &str) -> StoreResult<()>;

    // Sign-in throttling per account, in the database so that it holds across servers.
    /// Failed sign-ins for `email` since `since`.
    async fn sign_in_failures(&self, email: &str, since: Timestamp) -> StoreResult<u32>;
    /// Records a failure and forgets those older than `forget_before`.
    async fn record_sign_in_failure(&self, email: &str, now: Timestamp, forget_before: Timestamp) -> StoreResult<()>;
    async fn clear_sign_in_failures(&self, email: &str) -> StoreResult<()>;

    // Account administration.
    async fn set_password(&self, user_id: Uuid, password_hash: &str, actor: Option<Uuid>, now: Timestamp) -> StoreResult<()>;
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

    // Invitations: an SER or JMT member invites a person of their own party.
    async fn create_invitation(&self, new: NewInvitation, actor: Uuid, now: Timestamp) -> StoreResult<Invitation>;
    /// A pending (unaccepted, unrevoked, unexpired) invitation by its token.
    async fn invitation(&self, token_hash: &str, now: Timestamp) -> StoreResult<Invitation>;
    async fn pending_invitations(&self, relationship_id: Uuid, now: Timestamp) -> StoreResult<Vec<Invitation>>;
    /// Accepts: creates the account when `account` is new, adds the membership, uses up the link.
    async fn accept_invitation(&self, token_hash: &str, account: InvitationAccount, now: Timestamp) -> StoreResult<Member>;
    async fn revoke_invitation(&self, relationship_id: Uuid, invitation_id: Uuid, actor: Uuid, now: Timestamp) -> StoreResult<()>;

    // The audit trail.
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
