//! Keyset paging, shared by every module's lists, and the readers of the rows every module reads.

use crate::{ApiToken, Cells, Invitation, Member, Organisation, Party, Relationship, Session, User, Viewer};
use accord_domain::membership::Role;
use accord_domain::relationship::Status;
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

impl Organisation {
    pub fn from_cells<C: Cells>(r: &C) -> Result<Organisation, C::Error> {
        Ok(Organisation { id: r.uuid(0)?, name: r.text(1)?, created_at: r.time(2)? })
    }
}

impl User {
    /// The columns of `user_id, email, name, organisation_id, <organisation's name>, is_admin,
    /// disabled_at, created_at`.
    pub fn from_cells<C: Cells>(r: &C) -> Result<User, C::Error> {
        Ok(User {
            id: r.uuid(0)?,
            email: r.text(1)?,
            name: r.text(2)?,
            organisation_id: r.opt_uuid(3)?,
            organisation_name: r.opt_text(4)?,
            is_admin: r.flag(5)?,
            disabled: r.opt_time(6)?.is_some(),
            created_at: r.time(7)?,
        })
    }
}

impl ApiToken {
    pub fn from_cells<C: Cells>(r: &C) -> Result<ApiToken, C::Error> {
        Ok(ApiToken { id: r.uuid(0)?, name: r.text(1)?, created_at: r.time(2)?, revoked_at: r.opt_time(3)? })
    }
}

impl Relationship {
    /// The relationship whose columns start at `at`.
    pub fn from_cells<C: Cells>(r: &C, at: usize) -> Result<Relationship, C::Error> {
        Ok(Relationship {
            id: r.uuid(at)?,
            name: r.text(at + 1)?,
            purpose: r.text(at + 2)?,
            start_date: r.date(at + 3)?,
            status: r.parsed(at + 4, Status::parse)?,
            time_zone: r.text(at + 5)?,
            version: r.int(at + 6)?,
            created_at: r.time(at + 7)?,
            updated_at: r.time(at + 8)?,
        })
    }
}

impl Party {
    pub fn from_cells<C: Cells>(r: &C) -> Result<Party, C::Error> {
        Ok(Party {
            id: r.uuid(0)?,
            relationship_id: r.uuid(1)?,
            organisation_id: r.uuid(2)?,
            organisation_name: r.text(3)?,
            joined_at: r.time(4)?,
        })
    }
}

impl Member {
    /// The membership whose columns start at `at`.
    pub fn from_cells<C: Cells>(r: &C, at: usize) -> Result<Member, C::Error> {
        Ok(Member {
            id: r.uuid(at)?,
            relationship_id: r.uuid(at + 1)?,
            party_id: r.uuid(at + 2)?,
            organisation_name: r.text(at + 3)?,
            user_id: r.uuid(at + 4)?,
            name: r.text(at + 5)?,
            email: r.text(at + 6)?,
            role: r.parsed(at + 7, Role::parse)?,
            joined_at: r.time(at + 8)?,
            left_at: r.opt_time(at + 9)?,
        })
    }
}

impl Invitation {
    pub fn from_cells<C: Cells>(r: &C) -> Result<Invitation, C::Error> {
        Ok(Invitation {
            id: r.uuid(0)?,
            relationship_id: r.uuid(1)?,
            relationship_name: r.text(2)?,
            party_id: r.uuid(3)?,
            organisation_id: r.uuid(4)?,
            organisation_name: r.text(5)?,
            email: r.text(6)?,
            role: r.parsed(7, Role::parse)?,
            invited_by: r.uuid(8)?,
            invited_by_name: r.text(9)?,
            created_at: r.time(10)?,
            expires_at: r.time(11)?,
        })
    }
}

impl Viewer {
    /// A row of `viewer_sql!`: the user, the session's expiries (NULL for a token), then the
    /// relationship and the membership (NULL where none).
    pub fn from_cells<C: Cells>(r: &C) -> Result<Viewer, C::Error> {
        let user = User::from_cells(r)?;
        let session = match r.opt_time(8)? {
            Some(idle_expires_at) => Some(Session { user: user.clone(), idle_expires_at, absolute_expires_at: r.time(9)? }),
            None => None,
        };
        let relationship = if r.opt_uuid(10)?.is_some() { Some(Relationship::from_cells(r, 10)?) } else { None };
        let member = if r.opt_uuid(19)?.is_some() { Some(Member::from_cells(r, 19)?) } else { None };
        Ok(Viewer { user, session, relationship, member })
    }
}
