//! "My relationships" and a relationship's overview; the module's page routes.

use super::{create, members};
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
    get "/relationships/new" => create::form;
    post "/relationships/new" => create::submit;
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
    // A site administrator sees every relationship (each opens on its frame), members theirs.
    let member = if user.is_admin { None } else { Some(user.id) };
    let relationships = state.store.list_relationships(member, PageRequest::first(PageRequest::MAX)).await?.items;
    ok(&HomePage { shell: Shell::new(Some(&user), &csrf, "relationships"), relationships, is_admin: user.is_admin })
}

pub struct PartyCard {
    pub party: Party,
    pub ser: Option<Member>,
    /// Without an SER: the address invited as SER, if one is.
    pub invited_ser: Option<String>,
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
                invited_ser: None,
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
    /// The review series: each one's next meeting, and any overdue.
    reviews: Vec<crate::dates::SeriesRow>,
}

/// The latest events the home page shows.
const RECENT_EVENTS: u32 = 12;

impl PageView for OverviewView {
    fn request(_: &HashMap<String, String>, _: &Uri) -> Result<ViewRequest, ApiError> {
        Ok(ViewRequest::Overview { events: RECENT_EVENTS })
    }
}

pub async fn relationship(
    State(state): State<AppState>, Viewed { access, view }: Viewed<OverviewView>, Extension(csrf): Extension<CsrfToken>,
) -> PageResult {
    // Recent activity, the chain head and the figures are relationship content: members only (a
    // site admin sees the frame: parties and their people).
    let member = access.member.is_some();
    let OverviewView { parties, leads, counts, events, names, head, stats, series } = view;
    let events = if member { events } else { Vec::new() };
    let resolved: i64 = stats.iter().map(|s| s.resolved).sum();
    let (open_issues, first_level_share, head) = if member {
        let first_level_share = (resolved > 0).then(|| stats.iter().find(|s| s.level == 0).map_or(0, |s| s.resolved) * 100 / resolved);
        (stats.iter().map(|s| s.open).sum(), first_level_share, head)
    } else {
        (0, None, None)
    };
    let mut parties = party_cards(parties, &leads, &counts);
    // A party still without an SER shows the address invited as one (read only then: a
    // relationship's first days, so the busy page pays nothing).
    if parties.iter().any(|card| card.ser.is_none()) {
        let invitations = state.store.pending_invitations(access.id(), state.now()).await?;
        for card in parties.iter_mut().filter(|card| card.ser.is_none()) {
            card.invited_ser = invitations.iter().find(|i| i.party_id == card.party.id && i.role == Role::Ser).map(|i| i.email.clone());
        }
    }
    let reviews = if member {
        crate::dates::series_rows(series, crate::dates::today(&state, &access.relationship), &access.relationship.zone())
    } else {
        Vec::new()
    };
    let page = RelationshipPage {
        reviews,
        open_issues,
        first_level_share,
        shell: Shell::new(Some(&access.user), &csrf, "overview").within_frame(&access.relationship, member),
        parties,
        me: access.member.clone(),
        activity: activities(events, &names),
        head,
        relationship: access.relationship,
    };
    ok(&page)
}
