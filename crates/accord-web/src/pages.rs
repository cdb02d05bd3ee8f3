//! Server-rendered pages. Every page works without JavaScript.

use crate::AppState;
use crate::error::ApiError;
use accord_domain::audit::{ChainHead, Event};
use accord_domain::id::parse_id;
use accord_domain::membership::Role;
use accord_store::{Member, Party, Relationship, StoreError};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/relationships/{relationship_id}", get(relationship))
        .route(
            "/static/style.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    include_str!("../static/style.css"),
                )
            }),
        )
}

/// Renders a template, or logs why it could not.
fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound;

pub async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return ApiError::NotFound.into_response();
    }
    (StatusCode::NOT_FOUND, render(&NotFound)).into_response()
}

struct PartyCard {
    party: Party,
    ser: Option<Member>,
    jmt: Vec<Member>,
}

#[derive(Template)]
#[template(path = "relationship.html")]
struct RelationshipPage {
    relationship: Relationship,
    parties: Vec<PartyCard>,
    members: Vec<Member>,
    head: Option<ChainHead>,
    recent: Vec<Event>,
}

async fn relationship(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return not_found(Uri::from_static("/")).await;
    };
    let load = async {
        let relationship = state.store.relationship(id).await?;
        let (parties, members, head, recent) = (
            state.store.parties(id).await?,
            state.store.members(id).await?,
            state.store.chain_head(id).await?,
            state.store.recent_audit_events(id, None, 10).await?,
        );
        let parties = parties
            .into_iter()
            .map(|party| PartyCard {
                ser: members
                    .iter()
                    .find(|m| m.party_id == party.id && m.role == Role::Ser)
                    .cloned(),
                jmt: members
                    .iter()
                    .filter(|m| m.party_id == party.id && m.role == Role::Jmt)
                    .cloned()
                    .collect(),
                party,
            })
            .collect();
        Ok::<_, StoreError>(RelationshipPage {
            relationship,
            parties,
            members,
            head,
            recent,
        })
    };
    match load.await {
        Ok(page) => render(&page),
        Err(StoreError::NotFound(_)) => not_found(Uri::from_static("/")).await,
        Err(e) => ApiError::from(e).into_response(),
    }
}
