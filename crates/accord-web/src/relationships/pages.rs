//! "My relationships" and a relationship's overview; the module's page routes.

use super::members;
use crate::AppState;
use crate::activity::{Activity, activities};
use crate::auth::{CurrentUser, PageView, Viewed};
use crate::error::{ApiError, PageResult};
use crate::layout::{Shell, ok};
use crate::session::CsrfToken;
use accord_domain::audit::ChainHead;
use accord_domain::membership::Role;
use accord_store::{Member, OverviewView, PageRequest, Party, Relationship, ViewRequest};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::Uri;
use std::collections::HashMap;

pages! { ROUTES, router;
    get "/" => my_relationships;
    get "/relationships/{relationship_id}" => relationship;
    get "/relationships/{relationship_id}/members" => members::show;
    post "/relationships/{relationship_id}/invitations" => members::invite;
    post "/relationships/{relationship_id}/invitations/{invitation_id}/revoke" => members::revoke_invitation;
    post "/relationships/{relationship_id}/members/{user_id}/role" => members::change_role;
    post "/relationships/{relationship_id}/members/{user_id}/remove" => members::remove;
    post "/relationships/{relationship_id}/members/{user_id}/succession" => members::succession;
}

#[derive(Template)]
#[template(path = "relationships/home.html")]
struct HomePage {
    shell: Shell,
    relationships: Vec<Relationship>,
    is_admin: bool,
}

pub async fn my_relationships(
    State(state): State<AppState>, CurrentUser(user): CurrentUser, Extension(csrf): Extension<CsrfToken>,
) -> PageResult {
    let relationships = state.store.list_relationships(Some(user.id), PageRequest::first(PageRequest::MAX)).await?.items;
    ok(&HomePage { shell: Shell::new(Some(&user), &csrf, "relationships"), relationships, is_admin: user.is_admin })
}

pub struct PartyCard {
    pub party: Party,
    pub ser: Option<Member>,
    pub jmt: Vec<Member>,
    pub members: i64,
}

/// Parties with their SER and JMT members (from `leads`) and how many members each has.
pub fn party_cards(parties: Vec<Party>, leads: &[Member], counts: &[(uuid::Uuid, i64)]) -> Vec<PartyCard> {
    parties
        .into_iter()
        .map(|party| {
            let of_party = || leads.iter().filter(move |m| m.party_id == party.id);
            PartyCard {
                ser: of_party().find(|m| m.role == Role::Ser).cloned(),
                jmt: of_party().filter(|m| m.role == Role::Jmt).cloned().collect(),
                members: counts.iter().find(|(p, _)| *p == party.id).map_or(0, |(_, n)| *n),
                party,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "relationships/relationship.html")]
struct RelationshipPage {
    shell: Shell,
    relationship: Relationship,
    parties: Vec<PartyCard>,
    me: Option<Member>,
    activity: Vec<Activity>,
    head: Option<ChainHead>,
    /// Open issues, and the share of resolved ones settled at the first level (from the summary table).
    open_issues: i64,
    first_level_share: Option<i64>,
}

/// The latest events the home page shows.
const RECENT_EVENTS: u32 = 12;

impl PageView for OverviewView {
    fn request(_: &HashMap<String, String>, _: &Uri) -> Result<ViewRequest, ApiError> {
        Ok(ViewRequest::Overview { events: RECENT_EVENTS })
    }
}

pub async fn relationship(Viewed { access, view }: Viewed<OverviewView>, Extension(csrf): Extension<CsrfToken>) -> PageResult {
    // Recent activity, the chain head and the figures are relationship content: members only (a
    // site admin sees the frame: parties and their people).
    let member = access.member.is_some();
    let OverviewView { parties, leads, counts, events, names, head, stats } = view;
    let events = if member { events } else { Vec::new() };
    let resolved: i64 = stats.iter().map(|s| s.resolved).sum();
    let (open_issues, first_level_share, head) = if member {
        let first_level_share = (resolved > 0).then(|| stats.iter().find(|s| s.level == 0).map_or(0, |s| s.resolved) * 100 / resolved);
        (stats.iter().map(|s| s.open).sum(), first_level_share, head)
    } else {
        (0, None, None)
    };
    let page = RelationshipPage {
        open_issues,
        first_level_share,
        shell: Shell::new(Some(&access.user), &csrf, "overview").within_frame(&access.relationship, member),
        parties: party_cards(parties, &leads, &counts),
        me: access.member.clone(),
        activity: activities(events, &names),
        head,
        relationship: access.relationship,
    };
    ok(&page)
}
