//! Signed records' API: read one (content, hash, signers, signatures, seal, addenda), list them,
//! sign one, add an addendum to a sealed one.

use super::*;
use crate::error::ErrorBody;
use crate::json::{ApiJson, ApiQuery, path_id};
use crate::list::{Items, PageQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_records))
        .routes(routes!(get_record))
        .routes(routes!(sign_record))
        .routes(routes!(add_addendum))
}

/// The relationship's signed records, newest first.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/records", tag = "records",
    params(("relationship_id" = String, Path), PageQuery), responses((status = 200, body = Items<RecordLine>), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_records(State(state): State<AppState>, access: Access, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Items<RecordLine>> {
    access.member()?;
    let page = q.request()?;
    let mut items = state.store.records(access.id(), page.after, page.limit + 1).await?;
    let next_cursor = (items.len() > page.limit as usize).then(|| {
        items.truncate(page.limit as usize);
        items.last().map(|r| r.id.to_string()).unwrap_or_default()
    });
    Ok(Items { items, next_cursor })
}

/// A record: its content, its hash (what a signature is given over), who may sign for each party,
/// every signature (voided ones too), its seal (`position` and `event_hash` of the
/// `record.sealed` event in the audit chain) and its addenda.
#[utoipa::path(get, path = "/api/v1/relationships/{relationship_id}/records/{record_id}", tag = "records",
    params(("relationship_id" = String, Path), ("record_id" = String, Path)), responses((status = 200, body = Record), (status = 404, body = ErrorBody)))]
pub async fn get_record(State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>) -> ApiResult<Json<Record>> {
    Ok(Json(record(&state, &access, path_id(&id)?).await?))
}

/// Signs the record for your party (its SER, or a signer the record names for it), giving the
/// hash you read. The last party's signature seals the record. 409 when the record is sealed, its
/// hash is no longer the one sent, or your party has signed already.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/records/{record_id}/signatures", tag = "records", request_body = SignInput,
    params(("relationship_id" = String, Path), ("record_id" = String, Path)),
    responses((status = 201, body = Record), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn sign_record(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<SignInput>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    let id = path_id(&id)?;
    Ok((StatusCode::CREATED, Json(sign(&state, &access, id, &body).await?)))
}

/// Adds a dated addendum to a sealed record (an SER or a JMT member): a record of its own, signed
/// and sealed the same way. 409 while the record is not sealed.
#[utoipa::path(post, path = "/api/v1/relationships/{relationship_id}/records/{record_id}/addenda", tag = "records", request_body = AddendumInput,
    params(("relationship_id" = String, Path), ("record_id" = String, Path)),
    responses((status = 201, body = Record), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_addendum(
    State(state): State<AppState>, access: Access, Path((_, id)): Path<(String, String)>, ApiJson(body): ApiJson<AddendumInput>,
) -> ApiResult<(StatusCode, Json<Record>)> {
    let id = path_id(&id)?;
    Ok((StatusCode::CREATED, Json(super::add_addendum(&state, &access, id, &body).await?)))
}
