//! Relationships: their parties and members, and invitations to join them.

pub mod decide;

use crate::{Page, PageRequest, StoreResult};
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, Status};
use accord_domain::text::{Email, Name};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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

    /// The periods it may record values for at `now`: from its start to today's, in its zone.
    pub fn recordable(&self, now: Timestamp) -> accord_domain::measure::Recordable {
        accord_domain::measure::Recordable { started: self.start_date, today: now.to_zoned(self.zone()).date() }
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

/// What a party of a relationship being founded is: an organisation that exists, or one made
/// with the relationship.
#[derive(Debug, Clone, PartialEq)]
pub enum FoundingOrganisation {
    Existing(Uuid),
    New(Name),
}

/// A party's first SER: the account with this address (of the party's organisation) joins as SER
/// at once; an address without an account is invited as SER with this token (its hash).
#[derive(Debug, Clone)]
pub struct FirstSer {
    pub email: Email,
    pub token_hash: String,
    pub expires_at: Timestamp,
}

/// A party of a relationship being founded, and its first SER if one is named.
#[derive(Debug, Clone)]
pub struct FoundingParty {
    pub organisation: FoundingOrganisation,
    pub ser: Option<FirstSer>,
}

/// Two parties are the same when they name the same organisation, whoever their SERs are
/// (`check_parties` refuses that). New names alike in look are refused by the store.
impl PartialEq for FoundingParty {
    fn eq(&self, other: &FoundingParty) -> bool {
        self.organisation == other.organisation
    }
}

/// A relationship founded with its parties (some organisations new) and their first SERs.
pub type Founding = NewRelationship<FoundingParty>;

/// A relationship between organisations that exist, founded without SERs.
pub fn founding(new: NewRelationship) -> Founding {
    let parties = new.parties.iter().map(|id| FoundingParty { organisation: FoundingOrganisation::Existing(*id), ser: None }).collect();
    Founding { name: new.name, purpose: new.purpose, start_date: new.start_date, time_zone: new.time_zone, parties }
}

/// What founding a relationship made.
#[derive(Debug, Clone)]
pub struct Founded {
    pub relationship: Relationship,
    /// The addresses invited as SER (no account had them), in the order of their parties: their
    /// links are the caller's to pass on.
    pub invited: Vec<String>,
}

/// Relationships, their parties and members, and invitations to join them.
#[async_trait]
pub trait RelationshipStore: Send + Sync + 'static {
    /// Creates the relationship, the organisations of its new parties, and its first SERs (members
    /// or invitations), all or nothing.
    async fn found_relationship(&self, new: Founding, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Founded>;

    /// A relationship between organisations that exist, without members yet.
    async fn create_relationship(&self, new: NewRelationship, actor: Option<Uuid>, now: Timestamp) -> StoreResult<Relationship> {
        Ok(self.found_relationship(founding(new), actor, now).await?.relationship)
    }

    async fn relationship(&self, id: Uuid) -> StoreResult<Relationship>;

    /// By id or (case-insensitive) name.
    async fn find_relationship(&self, name_or_id: &str) -> StoreResult<Relationship>;

    /// Applies `change` if the relationship is still at `expected_version`, else `Stale`.
    async fn update_relationship(
        &self, id: Uuid, expected_version: i64, change: RelationshipChange, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Relationship>;

    /// All relationships (`member` = None) or those `member` currently belongs to.
    async fn list_relationships(&self, member: Option<Uuid>, page: PageRequest) -> StoreResult<Page<Relationship>>;

    async fn parties(&self, relationship_id: Uuid) -> StoreResult<Vec<Party>>;

    async fn add_member(
        &self, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp,
    ) -> StoreResult<Member>;

    async fn change_role(
        &self, relationship_id: Uuid, user_id: Uuid, role: Role, actor: Option<Uuid>, now: Timestamp,
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

/// What may change on a relationship through `update_relationship`.
#[derive(Debug, Clone, Default)]
pub struct RelationshipChange {
    pub name: Option<Name>,
    pub purpose: Option<String>,
    pub status: Option<accord_domain::relationship::Status>,
}
