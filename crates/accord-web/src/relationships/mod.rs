//! Relationships and who is in them: the home page and a relationship's overview, its parties,
//! members, invitations and SER succession. The operations the pages and the API both call.

pub mod api;
mod members;
pub mod pages;

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use accord_domain::id::parse_id;
use accord_domain::membership::Role;
use accord_store::Member;

/// A current member of the relationship, named by user id in an address; anyone else is not found.
pub async fn member(state: &AppState, access: &Access, user_id: &str) -> ApiResult<Member> {
    let user_id = parse_id(user_id).ok_or(ApiError::NotFound)?;
    state.store.membership(access.id(), user_id).await?.ok_or(ApiError::NotFound)
}

/// Changes a member's role (their party's SER and JMT, or a site administrator). `role` is what
/// the caller sent, judged once the caller may change it. Becoming or ceasing to be SER goes
/// through succession instead.
pub async fn change_role(state: &AppState, access: &Access, member: &Member, role: Result<Role, ApiError>) -> ApiResult<Member> {
    access.may_manage_party(member.party_id)?;
    Ok(state.store.change_role(access.id(), member.user_id, role?, Some(access.user.id), state.now()).await?)
}

/// Ends a membership (the history keeps it): a manager removes someone of their party, or a
/// member leaves. An SER hands over first.
pub async fn remove_member(state: &AppState, access: &Access, member: &Member) -> ApiResult<()> {
    if member.user_id != access.user.id {
        access.may_manage_party(member.party_id)?;
    }
    Ok(state.store.remove_member(access.id(), member.user_id, Some(access.user.id), state.now()).await?)
}

/// Makes `member` their party's SER; the previous SER stays on as a JMT member.
pub async fn succeed_ser(state: &AppState, access: &Access, member: &Member) -> ApiResult<Member> {
    access.may_hand_over(member.party_id)?;
    Ok(state.store.succeed_ser(access.id(), member.user_id, Some(access.user.id), state.now()).await?)
}
