//! Keyset paging, shared by every module's lists, and the readers of the rows every module reads.

use crate::{ApiToken, Invitation, Member, Organisation, Party, Relationship, Session, User, Viewer};
use accord_domain::membership::Role;
use accord_domain::relationship::Status;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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

/// A row as the shared readers below see it: each backend reads its own column types (SQLite
/// keeps times as microseconds and dates as text) behind these, so that which column holds
/// which field of a type is written once.
pub trait Columns {
    type Error;
    fn id(&self, i: usize) -> Result<Uuid, Self::Error>;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn time(&self, i: usize) -> Result<Timestamp, Self::Error>;
    fn time_or_none(&self, i: usize) -> Result<Option<Timestamp>, Self::Error>;
    fn date(&self, i: usize) -> Result<Date, Self::Error>;
    fn number(&self, i: usize) -> Result<i64, Self::Error>;
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;
    /// An id, or None for NULL (the relationship or membership a left join did not find).
    fn id_or_none(&self, i: usize) -> Result<Option<Uuid>, Self::Error>;
    /// A text column read by `parse` (a role, a status).
    fn parsed<T>(&self, i: usize, parse: fn(&str) -> Result<T, String>) -> Result<T, Self::Error>;
}

impl Organisation {
    pub fn from_columns<C: Columns>(r: &C) -> Result<Organisation, C::Error> {
        Ok(Organisation { id: r.id(0)?, name: r.text(1)?, created_at: r.time(2)? })
    }
}

impl User {
    /// The columns of `user_id, email, name, organisation_id, <organisation's name>, is_admin,
    /// disabled_at, created_at`.
    pub fn from_columns<C: Columns>(r: &C) -> Result<User, C::Error> {
        Ok(User {
            id: r.id(0)?,
            email: r.text(1)?,
            name: r.text(2)?,
            organisation_id: r.id(3)?,
            organisation_name: r.text(4)?,
            is_admin: r.flag(5)?,
            disabled: r.time_or_none(6)?.is_some(),
            created_at: r.time(7)?,
        })
    }
}

impl ApiToken {
    pub fn from_columns<C: Columns>(r: &C) -> Result<ApiToken, C::Error> {
        Ok(ApiToken { id: r.id(0)?, name: r.text(1)?, created_at: r.time(2)?, revoked_at: r.time_or_none(3)? })
    }
}

impl Relationship {
    /// The relationship whose columns start at `at`.
    pub fn from_columns<C: Columns>(r: &C, at: usize) -> Result<Relationship, C::Error> {
        Ok(Relationship {
            id: r.id(at)?,
            name: r.text(at + 1)?,
            purpose: r.text(at + 2)?,
            start_date: r.date(at + 3)?,
            status: r.parsed(at + 4, Status::parse)?,
            time_zone: r.text(at + 5)?,
            version: r.number(at + 6)?,
            created_at: r.time(at + 7)?,
            updated_at: r.time(at + 8)?,
        })
    }
}

impl Party {
    pub fn from_columns<C: Columns>(r: &C) -> Result<Party, C::Error> {
        Ok(Party {
            id: r.id(0)?,
            relationship_id: r.id(1)?,
            organisation_id: r.id(2)?,
            organisation_name: r.text(3)?,
            joined_at: r.time(4)?,
        })
    }
}

impl Member {
    /// The membership whose columns start at `at`.
    pub fn from_columns<C: Columns>(r: &C, at: usize) -> Result<Member, C::Error> {
        Ok(Member {
            id: r.id(at)?,
            relationship_id: r.id(at + 1)?,
            party_id: r.id(at + 2)?,
            organisation_name: r.text(at + 3)?,
            user_id: r.id(at + 4)?,
            name: r.text(at + 5)?,
            email: r.text(at + 6)?,
            role: r.parsed(at + 7, Role::parse)?,
            joined_at: r.time(at + 8)?,
            left_at: r.time_or_none(at + 9)?,
        })
    }
}

impl Invitation {
    pub fn from_columns<C: Columns>(r: &C) -> Result<Invitation, C::Error> {
        Ok(Invitation {
            id: r.id(0)?,
            relationship_id: r.id(1)?,
            relationship_name: r.text(2)?,
            party_id: r.id(3)?,
            organisation_id: r.id(4)?,
            organisation_name: r.text(5)?,
            email: r.text(6)?,
            role: r.parsed(7, Role::parse)?,
            invited_by: r.id(8)?,
            invited_by_name: r.text(9)?,
            created_at: r.time(10)?,
            expires_at: r.time(11)?,
        })
    }
}

impl Viewer {
    /// A row of `viewer_sql!`: the user, the session's expiries (NULL for a token), then the
    /// relationship and the membership (NULL where none).
    pub fn from_columns<C: Columns>(r: &C) -> Result<Viewer, C::Error> {
        let user = User::from_columns(r)?;
        let session = match r.time_or_none(8)? {
            Some(idle_expires_at) => Some(Session { user: user.clone(), idle_expires_at, absolute_expires_at: r.time(9)? }),
            None => None,
        };
        let relationship = if r.id_or_none(10)?.is_some() { Some(Relationship::from_columns(r, 10)?) } else { None };
        let member = if r.id_or_none(19)?.is_some() { Some(Member::from_columns(r, 19)?) } else { None };
        Ok(Viewer { user, session, relationship, member })
    }
}
