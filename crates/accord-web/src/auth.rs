//! Who is asking, and what they may see: resolved once per request, here and nowhere else.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::secrets::token_hash;
use accord_domain::id::parse_id;
use accord_store::{Member, Relationship, StoreError, User};
use axum::extract::{FromRequestParts, Path};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::collections::HashMap;

/// The signed-in user (for now: by personal API token).
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<CurrentUser> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or(ApiError::Unauthorized)?;
        match state.store.user_by_token(&token_hash(token)).await {
            Ok(user) => Ok(CurrentUser(user)),
            Err(StoreError::NotFound(_)) => Err(ApiError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }
}

impl CurrentUser {
    pub fn require_admin(&self) -> ApiResult<()> {
        if self.0.is_admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "Only a site administrator may do this.",
            ))
        }
    }
}

/// A user's standing in the relationship named by the route's `relationship_id`.
///
/// A user who is neither a member nor a site admin gets 404, never a hint that the relationship
/// exists. A site admin who is not a member sees the relationship's frame (parties, members) to
/// administer it, but none of its content: handlers ask [`Access::member`] for that.
pub struct Access {
    pub user: User,
    pub relationship: Relationship,
    pub member: Option<Member>,
}

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Access> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let id = params
            .get("relationship_id")
            .and_then(|p| parse_id(p))
            .ok_or(ApiError::NotFound)?;
        let member = state.store.membership(id, user.id).await?;
        if member.is_none() && !user.is_admin {
            return Err(ApiError::NotFound);
        }
        let relationship = state.store.relationship(id).await?;
        Ok(Access {
            user,
            relationship,
            member,
        })
    }
}

impl Access {
    /// Relationship content is for members only.
    pub fn member(&self) -> ApiResult<&Member> {
        self.member.as_ref().ok_or(ApiError::NotFound)
    }

    /// SERs and JMT members define and manage.
    pub fn manager(&self) -> ApiResult<&Member> {
        let member = self.member()?;
        if member.role.manages() {
            Ok(member)
        } else {
            Err(ApiError::Forbidden(
                "Only the party's SER or a JMT member may do this.",
            ))
        }
    }

    pub fn id(&self) -> uuid::Uuid {
        self.relationship.id
    }
}
