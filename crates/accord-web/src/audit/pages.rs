//! The audit trail as people read it: every event of the relationship's chain, newest first, with
//! the chain head to witness and the whole chain to download and verify offline.

use crate::AppState;
use crate::activity::{Activity, activities};
use crate::auth::{Access, PageView, Viewed};
use crate::error::{ApiError, PageResult};
use crate::layout::{Shell, ok};
use crate::session::CsrfToken;
use accord_domain::audit::ChainHead;
use accord_store::{AuditView, ViewRequest};
use askama::Template;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{Uri, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

pages! { ROUTES, router;
    get "/relationships/{relationship_id}/audit" => page;
    get "/relationships/{relationship_id}/audit/export.jsonl" => export;
}

const PER_PAGE: u32 = 50;

pub struct AuditRow {
    pub activity: Activity,
    pub party: String,
    /// The first digits of the event's hash.
    pub short_hash: String,
}

#[derive(Template)]
#[template(path = "audit/audit.html")]
struct AuditPage {
    shell: Shell,
    relationship_id: Uuid,
    rows: Vec<AuditRow>,
    head: Option<ChainHead>,
    /// The position to read older events from, when there are any.
    older: Option<i64>,
    /// Whether this page starts below the newest event.
    paged: bool,
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    before: String,
}

impl PageView for AuditView {
    fn request(_: &HashMap<String, String>, uri: &Uri) -> Result<ViewRequest, ApiError> {
        let q: AuditQuery = crate::json::query(uri)?;
        Ok(ViewRequest::Audit { before_position: q.before()?, limit: PER_PAGE + 1 })
    }
}

impl AuditQuery {
    fn before(&self) -> Result<Option<i64>, ApiError> {
        match self.before.trim() {
            "" => Ok(None),
            text => text.parse::<i64>().map(Some).map_err(|_| ApiError::invalid("before", "must be a position in the chain")),
        }
    }
}

pub async fn page(
    Viewed { access, view }: Viewed<AuditView>, Extension(csrf): Extension<CsrfToken>, Query(q): Query<AuditQuery>,
) -> PageResult {
    access.member()?;
    let AuditView { mut events, parties, names, head } = view;
    let older = (events.len() > PER_PAGE as usize).then(|| {
        events.truncate(PER_PAGE as usize);
        events.last().map_or(0, |e| e.position)
    });
    let party_names: HashMap<Uuid, &str> = parties.iter().map(|p| (p.id, p.organisation_name.as_str())).collect();
    let rows = activities(events, &names)
        .into_iter()
        .map(|activity| AuditRow {
            party: activity.event.party.and_then(|p| party_names.get(&p)).map_or_else(String::new, |n| (*n).to_owned()),
            short_hash: activity.event.hash.chars().take(12).collect(),
            activity,
        })
        .collect();
    ok(&AuditPage {
        shell: Shell::new(Some(&access.user), &csrf, "audit").within(&access.relationship),
        relationship_id: access.id(),
        rows,
        head,
        older,
        paged: !q.before.trim().is_empty(),
    })
}

/// The whole chain as JSON Lines, the format of `accord audit export`, streamed a block at a time
/// so that a long history never sits in memory.
pub async fn export(State(state): State<AppState>, access: Access) -> PageResult {
    access.member()?;
    let (store, chain) = (state.store.clone(), access.id());
    let blocks = futures_util::stream::unfold(Some(0i64), move |after| {
        let store = store.clone();
        async move {
            let after = after?;
            match store.audit_events(chain, after, 5_000).await {
                Ok(events) if events.is_empty() => None,
                Ok(events) => {
                    let mut block = Vec::with_capacity(events.len() * 512);
                    for e in &events {
                        // An event always serialises; a failure here would be a bug, and ends the stream.
                        if serde_json::to_writer(&mut block, e).is_err() {
                            return Some((Err(std::io::Error::other("cannot write an event")), None));
                        }
                        block.push(b'\n');
                    }
                    Some((Ok(block), events.last().map(|e| e.position)))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let name = format!("attachment; filename=\"audit-{chain}.jsonl\"");
    Ok(([(header::CONTENT_TYPE, "application/jsonl".to_owned()), (header::CONTENT_DISPOSITION, name)], Body::from_stream(blocks))
        .into_response())
}
