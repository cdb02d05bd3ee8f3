//! Signed records: any module's record that every party signs (a review's minutes; next an RMP
//! approval, an exit decision), its signatures, seal and addenda. Its inputs and operations, which
//! the pages and the API both call; the panel other pages include is `crate::signatures`.

pub mod api;
pub mod pages;

use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::input::{long, title};
use accord_domain::Invalid;
use accord_store::*;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A signature: the hash of the record as the signer was shown it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SignInput {
    /// The record's `hash` as you read it: if the record changed since, the signature is refused (409).
    #[schema(required, min_length = 64, max_length = 64, pattern = "^[0-9a-fA-F]{64}$")]
    pub hash: String,
}

/// A dated correction of a sealed record.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AddendumInput {
    #[schema(required, schema_with = crate::fields::name)]
    pub title: String,
    /// What the addendum corrects or adds.
    #[schema(required, min_length = 1, max_length = 8000, pattern = r"^[^\u0000]*\S[^\u0000]*$")]
    pub text: String,
}

impl AddendumInput {
    pub fn parse(&self, relationship_id: Uuid, parent_id: Uuid, date: jiff::civil::Date) -> Result<NewAddendum, Invalid> {
        let mut invalid = Invalid::default();
        let title = invalid.check("title", title(&self.title));
        let text = invalid.check(
            "text",
            long(&self.text)
                .and_then(|t| if t.trim().is_empty() { Err("must say what the addendum corrects or adds".into()) } else { Ok(t) }),
        );
        invalid.finish()?;
        Ok(NewAddendum { relationship_id, parent_id, title: title.unwrap_or_default(), text: text.unwrap_or_default(), date })
    }
}

/// A record of the relationship, for a member (observers included).
pub async fn record(state: &AppState, access: &Access, record_id: Uuid) -> ApiResult<Record> {
    access.member()?;
    Ok(state.store.record(access.id(), record_id).await?)
}

/// Signs `record_id` for the caller's party: its SER, or a signer the record names for it. The
/// store decides on what its transaction reads (sealed, stale hash, already signed: 409).
pub async fn sign(state: &AppState, access: &Access, record_id: Uuid, input: &SignInput) -> ApiResult<Record> {
    let me = access.member()?;
    let hash = input.hash.trim();
    if !(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(ApiError::invalid("hash", "must be the record's SHA-256 as shown (64 hexadecimal digits)"));
    }
    Ok(state.store.sign_record(access.id(), record_id, hash.to_owned(), me.user_id, state.now()).await?)
}

/// Adds an addendum to a sealed record (an SER or a JMT member), dated today in the relationship's zone.
pub async fn add_addendum(state: &AppState, access: &Access, parent_id: Uuid, input: &AddendumInput) -> ApiResult<Record> {
    let me = access.manager()?;
    let new = input.parse(access.id(), parent_id, crate::dates::today(state, &access.relationship))?;
    Ok(state.store.add_addendum(new, me.user_id, state.now()).await?)
}
