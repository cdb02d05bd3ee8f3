use super::{ApiJson, path_id};
use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, ErrorBody};
use accord_domain::membership::Role;
use accord_domain::text::Email;
use accord_store::{Member, StoreError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<Member>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct AddMember {
    /// The e-mail of an existing account, whose organisation is a party.
    pub email: String,
    pub role: Role,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangeRole {
    pub role: Role,
}

/// Current members, by party then role.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/members", tag = "members",
    params(("relationship_id" = String, Path)),
    responses((status = 200, body = MemberList), (status = 404, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, access: Access) -> ApiResult<Json<MemberList>> {
    Ok(Json(MemberList { items: state.store.members(access.id()).await?, next_cursor: None }))
}

async fn party_of(state: &AppState, access: &Access, organisation_id: uuid::Uuid) -> ApiResult<uuid::Uuid> {
    let parties = state.store.parties(access.id()).await?;
    parties
        .iter()
        .find(|p| p.organisation_id == organisation_id)
        .map(|p| p.id)
        .ok_or_else(|| ApiError::invalid("email", "this person's organisation is not a party to the relationship"))
}

/// Add an existing account to the relationship, for the party of their organisation.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/members", tag = "members",
    params(("relationship_id" = String, Path)), request_body = AddMember,
    responses((status = 201, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    access: Access,
    ApiJson(body): ApiJson<AddMember>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    if !access.user.is_admin {
        access.manager()?;
    }
    let email = Email::parse(&body.email).map_err(|m| ApiError::invalid("email", m))?;
    let user = state.store.user_by_email(&email).await.map_err(|e| match e {
        StoreError::NotFound(_) => ApiError::invalid("email", "no account has this e-mail address"),
        e => e.into(),
    })?;
    access.may_manage_party(party_of(&state, &access, user.organisation_id).await?)?;
    let member =
        state.store.add_member(access.id(), user.id, body.role, Some(access.user.id), state.now()).await.map_err(field_for_user)?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// The store names the person `user`; the API's callers named them by `email`.
fn field_for_user(e: StoreError) -> ApiError {
    match e {
        StoreError::Invalid(mut invalid) => {
            for f in &mut invalid.0 {
                if f.field == "user" {
                    f.field = "email".into();
                }
            }
            ApiError::Invalid(invalid)
        }
        e => e.into(),
    }
}

async fn current(state: &AppState, access: &Access, user_id: &str) -> ApiResult<Member> {
    state.store.membership(access.id(), path_id(user_id)?).await?.ok_or(ApiError::NotFound)
}

/// Change a member's role. Becoming or ceasing to be SER goes through succession instead.
#[utoipa::path(put, path = "/api/v1/relationships/{relationship_id}/members/{user_id}", tag = "members",
    params(("relationship_id" = String, Path), ("user_id" = String, Path)), request_body = ChangeRole,
    responses((status = 200, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_role(
    State(state): State<AppState>,
    access: Access,
    Path((_, user_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> ApiResult<Json<Member>> {
    let member = current(&state, &access, &user_id).await?;
    access.may_manage_party(member.party_id)?;
    Ok(Json(state.store.change_role(access.id(), member.user_id, body.role, Some(access.user.id), state.now()).await?))
}

/// End a membership (the history keeps it). An SER hands over first.
#[utoipa::path(delete, path = "/api/v1/relationships/{relationship_id}/members/{user_id}", tag = "members",
    params(("relationship_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove(State(state): State<AppState>, access: Access, Path((_, user_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    let member = current(&state, &access, &user_id).await?;
    if access.user.id != member.user_id {
        access.may_manage_party(member.party_id)?;
    }
    state.store.remove_member(access.id(), member.user_id, Some(access.user.id), state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make this member their party's SER; the previous SER stays on as a JMT member.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/members/{user_id}/succession", tag = "members",
    params(("relationship_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn succeed(State(state): State<AppState>, access: Access, Path((_, user_id)): Path<(String, String)>) -> ApiResult<Json<Member>> {
    let member = current(&state, &access, &user_id).await?;
    access.may_hand_over(member.party_id)?;
    Ok(Json(state.store.succeed_ser(access.id(), member.user_id, Some(access.user.id), state.now()).await?))
}
