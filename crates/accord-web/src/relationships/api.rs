//! Relationships, their parties and members through the API.

use super::*;
use crate::auth::CurrentUser;
use crate::error::ErrorBody;
use crate::json::{ApiJson, ApiQuery};
use crate::list::PageQuery;
use accord_domain::Invalid;
use accord_domain::audit::ChainHead;
use accord_domain::relationship::{RelationshipInput, Status};
use accord_domain::text::Email;
use accord_domain::text::{Name, parse_long_text};
use accord_store::{Page, Party, Relationship, RelationshipChange, StoreError};
use axum::Json;
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
        .routes(routes!(parties))
        .routes(routes!(members, add))
        .routes(routes!(change_role, remove))
        .routes(routes!(succeed))
}

#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"name": "Harbour Lighting", "purpose": "Relight the quays", "start_date": "2026-01-05",
    "time_zone": "Europe/London", "parties": ["Northshore Port Authority", "Keystone Construction"]}))]
pub struct CreateRelationship {
    #[serde(default)]
    #[schema(required, schema_with = crate::fields::name)]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = crate::fields::purpose)]
    pub purpose: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    #[schema(required, format = Date)]
    pub start_date: String,
    /// An IANA time zone, e.g. `Europe/London`.
    #[serde(default)]
    #[schema(required)]
    pub time_zone: String,
    /// Two or more parties: each an organisation by id or name, or an object naming it (or a new
    /// one) and its first SER.
    #[serde(default)]
    #[schema(required, min_items = 2)]
    pub parties: Vec<PartyInput>,
}

/// A party of a new relationship: an organisation by id or name, or the object form.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PartyInput {
    Organisation(String),
    WithSer(PartyWithSer),
}

/// A party with its first SER, and perhaps a new organisation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartyWithSer {
    /// An organisation by id or name; with `new`, the name of an organisation to create with the
    /// relationship (refused if it looks like an existing one's).
    #[schema(min_length = 1)]
    pub organisation: String,
    #[serde(default)]
    pub new: bool,
    /// The first SER's e-mail address: an account of that organisation joins as SER at once; an
    /// address without an account is invited as SER (its link is in the answer's `invitations`).
    #[serde(default)]
    #[schema(format = Email)]
    pub ser: Option<String>,
}

impl PartyInput {
    fn request(&self) -> PartyRequest {
        match self {
            PartyInput::Organisation(organisation) => PartyRequest { organisation: organisation.clone(), ..PartyRequest::default() },
            PartyInput::WithSer(p) => {
                PartyRequest { organisation: p.organisation.clone(), new: p.new, ser: p.ser.clone().unwrap_or_default() }
            }
        }
    }
}

/// A relationship just created, and the invitation links of the SERs invited (shown once).
#[derive(Serialize, ToSchema)]
pub struct CreatedRelationship {
    #[serde(flatten)]
    pub view: RelationshipView,
    pub invitations: Vec<InvitationLink>,
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateRelationship {
    /// The `version` you read; a stale version answers 409 and changes nothing.
    #[serde(deserialize_with = "crate::fields::version")]
    #[schema(minimum = 1)]
    pub version: i64,
    #[schema(schema_with = crate::fields::optional_name_or_null)]
    pub name: Option<String>,
    #[schema(schema_with = crate::fields::purpose_or_null)]
    pub purpose: Option<String>,
    pub status: Option<Status>,
}

/// A relationship with its parties and the head of its audit chain (to witness history).
#[derive(Serialize, ToSchema)]
pub struct RelationshipView {
    #[serde(flatten)]
    pub relationship: Relationship,
    pub parties: Vec<Party>,
    pub chain_head: Option<ChainHead>,
}

#[derive(Serialize, ToSchema)]
pub struct PartyList {
    pub items: Vec<Party>,
    pub next_cursor: Option<String>,
}

/// Relationships you are a member of (all of them, for a site administrator).
#[utoipa::path(get, path = "/api/v1/relationships", tag = "relationships", params(PageQuery),
    responses((status = 200, body = Page<Relationship>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>, CurrentUser(user): CurrentUser, ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<Page<Relationship>>> {
    let member = if user.is_admin { None } else { Some(user.id) };
    Ok(Json(state.store.list_relationships(member, q.request()?).await?))
}

/// Create a relationship between two or more organisations (site administrators only), with new
/// organisations and each party's first SER if given: all or nothing.
#[utoipa::path(post, path = "/api/v1/relationships", tag = "relationships", request_body = CreateRelationship,
    responses((status = 201, body = CreatedRelationship), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>, user: CurrentUser, ApiJson(body): ApiJson<CreateRelationship>,
) -> ApiResult<(StatusCode, Json<CreatedRelationship>)> {
    let input = RelationshipInput { name: &body.name, purpose: &body.purpose, start_date: &body.start_date, time_zone: &body.time_zone };
    let parties: Vec<PartyRequest> = body.parties.iter().map(PartyInput::request).collect();
    let (founded, invitations) = super::found(&state, &user.0, input, &parties).await?;
    Ok((StatusCode::CREATED, Json(CreatedRelationship { view: view(&state, founded.relationship).await?, invitations })))
}

async fn view(state: &AppState, relationship: Relationship) -> ApiResult<RelationshipView> {
    let parties = state.store.parties(relationship.id).await?;
    let chain_head = state.store.chain_head(relationship.id).await?;
    Ok(RelationshipView { relationship, parties, chain_head })
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}", tag = "relationships",
    params(("relationship_id" = String, Path)),
    responses((status = 200, body = RelationshipView), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, access: Access) -> ApiResult<Json<RelationshipView>> {
    Ok(Json(view(&state, access.relationship).await?))
}

/// Change the name, purpose or status (SER or JMT member), guarded by `version`.
#[utoipa::path(patch, path = "/api/v1/relationships/{relationship_id}", tag = "relationships",
    params(("relationship_id" = String, Path)), request_body = UpdateRelationship,
    responses((status = 200, body = RelationshipView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<UpdateRelationship>,
) -> ApiResult<Json<RelationshipView>> {
    access.manager()?;
    let mut invalid = Invalid::default();
    let change = RelationshipChange {
        name: body.name.as_deref().and_then(|n| invalid.check("name", Name::parse(n))),
        purpose: body.purpose.as_deref().and_then(|p| invalid.check("purpose", parse_long_text(p, 4000))),
        status: body.status,
    };
    invalid.finish()?;
    let relationship =
        state.store.update_relationship(access.id(), body.version, change, Some(access.user.id), state.now()).await.map_err(
            |e| match e {
                StoreError::Stale { current } => ApiError::Conflict(format!(
                    "The relationship was changed by someone else (now version {current}); reload and try again."
                )),
                e => e.into(),
            },
        )?;
    Ok(Json(view(&state, relationship).await?))
}

#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/parties", tag = "relationships",
    params(("relationship_id" = String, Path)),
    responses((status = 200, body = PartyList), (status = 404, body = ErrorBody)))]
pub async fn parties(State(state): State<AppState>, access: Access) -> ApiResult<Json<PartyList>> {
    Ok(Json(PartyList { items: state.store.parties(access.id()).await?, next_cursor: None }))
}

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
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/members", tag = "members", operation_id = "list",
    params(("relationship_id" = String, Path)),
    responses((status = 200, body = MemberList), (status = 404, body = ErrorBody)))]
pub async fn members(State(state): State<AppState>, access: Access) -> ApiResult<Json<MemberList>> {
    Ok(Json(MemberList { items: state.store.members(access.id()).await?, next_cursor: None }))
}

async fn party_of(state: &AppState, access: &Access, organisation_id: Option<uuid::Uuid>) -> ApiResult<uuid::Uuid> {
    let parties = state.store.parties(access.id()).await?;
    parties
        .iter()
        .find(|p| Some(p.organisation_id) == organisation_id)
        .map(|p| p.id)
        .ok_or_else(|| ApiError::invalid("email", "this person's organisation is not a party to the relationship"))
}

/// Add an existing account to the relationship, for the party of their organisation.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/members", tag = "members",
    params(("relationship_id" = String, Path)), request_body = AddMember,
    responses((status = 201, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>, access: Access, ApiJson(body): ApiJson<AddMember>,
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

/// Change a member's role. Becoming or ceasing to be SER goes through succession instead.
#[utoipa::path(put, path = "/api/v1/relationships/{relationship_id}/members/{user_id}", tag = "members",
    params(("relationship_id" = String, Path), ("user_id" = String, Path)), request_body = ChangeRole,
    responses((status = 200, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_role(
    State(state): State<AppState>, access: Access, Path((_, user_id)): Path<(String, String)>, ApiJson(body): ApiJson<ChangeRole>,
) -> ApiResult<Json<Member>> {
    let member = member(&state, &access, &user_id).await?;
    Ok(Json(super::change_role(&state, &access, &member, Ok(body.role)).await?))
}

/// End a membership (the history keeps it). An SER hands over first.
#[utoipa::path(delete, path = "/api/v1/relationships/{relationship_id}/members/{user_id}", tag = "members",
    params(("relationship_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn remove(State(state): State<AppState>, access: Access, Path((_, user_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    remove_member(&state, &access, &member(&state, &access, &user_id).await?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make this member their party's SER; the previous SER stays on as a JMT member.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/members/{user_id}/succession", tag = "members",
    params(("relationship_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = Member), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn succeed(State(state): State<AppState>, access: Access, Path((_, user_id)): Path<(String, String)>) -> ApiResult<Json<Member>> {
    let member = member(&state, &access, &user_id).await?;
    Ok(Json(succeed_ser(&state, &access, &member).await?))
}
