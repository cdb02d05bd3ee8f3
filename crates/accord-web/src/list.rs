//! Lists as the API answers them (`{"items", "next_cursor"}`) and the paging they are read with.

use crate::error::{ApiError, ApiResult};
use accord_domain::id::parse_id;
use accord_store::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A list with keyset paging: pass `next_cursor` as `after` for the next page.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Items<T> {
    pub fn all(items: Vec<T>) -> Items<T> {
        Items { items, next_cursor: None }
    }
}

/// Answered as JSON written into a buffer sized for the list: through `Json`, a page of fifty
/// issues grew its buffer from 128 bytes, copying it a dozen times.
impl<T: Serialize> axum::response::IntoResponse for Items<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(1024 * (self.items.len() + 1));
        match serde_json::to_writer(&mut body, &self) {
            Ok(()) => ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => ApiError::Internal(format!("cannot write the list: {e}")).into_response(),
        }
    }
}

/// Keyset paging: `after` is the `next_cursor` of the page before.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    #[param(schema_with = crate::fields::id_cursor)]
    pub after: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn request(&self) -> ApiResult<PageRequest> {
        let after = match self.after.as_deref().filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(parse_id(a).ok_or_else(|| ApiError::invalid("after", "is not a cursor from a previous page"))?),
        };
        Ok(PageRequest { after, limit: page_limit(self.limit, 50, PageRequest::MAX)? })
    }
}

/// A list's `limit`: `default` when absent; outside 1 to `max` a 422 naming it (as documented).
pub fn page_limit(limit: Option<u32>, default: u32, max: u32) -> ApiResult<u32> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid("limit", format!("must be from 1 to {max}"))),
    }
}
