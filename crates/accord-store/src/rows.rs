use accord_domain::membership::Role;
use accord_domain::relationship::Status;
use accord_domain::text::{Email, Name};
use jiff::Timestamp;
use jiff::civil::Date;
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
    pub organisation_id: Uuid,
    pub is_admin: bool,
    /// An argon2id PHC string, or None for an account that signs in another way (an invitation).
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub organisation_id: Uuid,
    pub organisation_name: String,
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

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Relationship {
    pub id: Uuid,
    pub name: String,
    pub purpose: String,
    #[schema(value_type = String, format = Date)]
    pub start_date: Date,
    pub status: Status,
    pub time_zone: String,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl Relationship {
    /// The relationship's time zone (UTC should its name ever be unknown).
    pub fn zone(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// A deadline as a notification words it, in the relationship's zone.
    pub fn deadline_text(&self, at: Timestamp) -> String {
        at.to_zoned(self.zone()).strftime("%A %-d %B %Y, %H:%M %Z").to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Party {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub organisation_id: Uuid,
    pub organisation_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: Timestamp,
}

/// One period of a user's membership with one role; a role change ends one and starts another.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub party_id: Uuid,
    pub organisation_name: String,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub left_at: Option<Timestamp>,
}

/// Keyset paging: the items after `after` (an id), at most `limit`.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl PageRequest {
    pub const MAX: u32 = 500;

    pub fn first(limit: u32) -> PageRequest {
        PageRequest { after: None, limit: limit.clamp(1, Self::MAX) }
    }

    /// One more than the limit is fetched, to know whether there is a next page.
    pub fn fetch(&self) -> i64 {
        self.limit.clamp(1, Self::MAX) as i64 + 1
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Uuid>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in key order.
    pub fn from_rows(mut rows: Vec<T>, request: PageRequest, id: impl Fn(&T) -> Uuid) -> Page<T> {
        let limit = request.limit.clamp(1, PageRequest::MAX) as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(&id)
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }
}

/// A live session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub idle_expires_at: Timestamp,
    pub absolute_expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub relationship_id: Uuid,
    pub party_id: Uuid,
    pub email: Email,
    pub role: Role,
    pub token_hash: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub relationship_id: Uuid,
    pub relationship_name: String,
    pub party_id: Uuid,
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: Uuid,
    pub invited_by_name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// Who accepts an invitation: a person who already has an account (signed in as the invited
/// address), or a new account made from the invitation.
#[derive(Debug, Clone)]
pub enum InvitationAccount {
    Existing(Uuid),
    New { name: Name, password_hash: String },
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
