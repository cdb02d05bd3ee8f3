//! People: organisations, accounts, API tokens, sessions and sign-in throttling.

pub mod decide;

use crate::{Member, Page, PageRequest, Relationship, StoreResult};
use accord_domain::text::{Email, Name};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

/// Which organisations a caller sees. A neutral host must not show one tenant who its other
/// tenants are: a user sees their own organisation and the parties to their relationships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Every organisation: the site administrator and the operator's command line.
    All,
    /// The user's own organisation and those that are parties to a relationship the user is a
    /// current member of.
    SharedWith(Uuid),
}

impl Visibility {
    /// What `user` may see.
    pub fn of(user: &User) -> Visibility {
        if user.is_admin { Visibility::All } else { Visibility::SharedWith(user.id) }
    }

    /// The user to filter by, `None` for all.
    pub fn user(self) -> Option<Uuid> {
        match self {
            Visibility::All => None,
            Visibility::SharedWith(user) => Some(user),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: Name,
    /// None only for a site administrator (a neutral host's own staff belong to no party).
    pub organisation_id: Option<Uuid>,
    pub is_admin: bool,
    /// An argon2id PHC string, or None for an account that signs in another way (an invitation).
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// None for a site administrator who belongs to no organisation.
    pub organisation_id: Option<Uuid>,
    pub organisation_name: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

/// A live session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub idle_expires_at: Timestamp,
    pub absolute_expires_at: Timestamp,
}

/// How a request proved who it is: the SHA-256 of its session id or of its API token.
#[derive(Debug, Clone)]
pub enum Credential {
    Session(String),
    Token(String),
}

/// Who is asking, and their standing in a relationship, read in one round trip.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: User,
    /// For a session: its expiries (to refresh the idle one when due).
    pub session: Option<Session>,
    pub relationship: Option<Relationship>,
    pub member: Option<Member>,
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
        &self, session_hash: &str, user_id: Uuid, now: Timestamp, idle_until: Timestamp, absolute_until: Timestamp,
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
        &self, user_id: Uuid, password_hash: &str, keep_session: Option<&str>, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<()>;

    /// Disabling ends every session of the user at once.
    async fn set_user_disabled(&self, user_id: Uuid, disabled: bool, actor: Option<Uuid>, now: Timestamp) -> StoreResult<User>;

    /// A single-use link to set a password, issued by a site admin.
    async fn create_password_reset(
        &self, user_id: Uuid, token_hash: &str, expires_at: Timestamp, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<()>;

    /// The user a live (unused, unexpired) reset link belongs to.
    async fn password_reset_user(&self, token_hash: &str, now: Timestamp) -> StoreResult<User>;

    /// Uses the link: sets the password and ends the user's sessions. NotFound when used or expired.
    async fn use_password_reset(&self, token_hash: &str, password_hash: &str, now: Timestamp) -> StoreResult<User>;

    /// On a site without an administrator, makes `token_hash` the one live setup link (any
    /// earlier one dies) and answers true; once an administrator exists, removes any link left
    /// and answers false.
    async fn open_setup(&self, token_hash: &str, now: Timestamp) -> StoreResult<bool>;

    /// NotFound unless `token_hash` is the live setup link (and no administrator exists yet).
    async fn setup_link(&self, token_hash: &str) -> StoreResult<()>;

    /// Uses the live setup link: creates the first site administrator (`user`, made an
    /// administrator whatever it says) and the link dies. NotFound when the link is not live.
    async fn complete_setup(&self, token_hash: &str, user: NewUser, now: Timestamp) -> StoreResult<User>;
}
