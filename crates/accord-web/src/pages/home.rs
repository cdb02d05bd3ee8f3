//! "My relationships" and a relationship's overview.

use super::{Shell, ok};
use crate::AppState;
use crate::auth::{CurrentUser, PageView, Viewed};
use crate::error::{ApiError, PageResult};
use crate::session::CsrfToken;
use accord_domain::EventKind;
use accord_domain::audit::ChainHead;
use accord_domain::membership::Role;
use accord_store::{EventLine, Member, OverviewView, PageRequest, Party, Relationship, ViewRequest};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::Uri;
use std::collections::HashMap;

#[derive(Template)]
#[template(path = "home/home.html")]
struct HomePage {
    shell: Shell,
    relationships: Vec<Relationship>,
    is_admin: bool,
}

pub async fn my_relationships(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Extension(csrf): Extension<CsrfToken>,
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

pub struct Activity {
    pub event: EventLine,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "home/relationship.html")]
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
    let OverviewView { parties, leads, counts, events, actors, head, stats } = view;
    let (events, actors) = if member { (events, actors) } else { (Vec::new(), Vec::new()) };
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
        shell: Shell::new(Some(&access.user), &csrf, "overview").within(&access.relationship),
        parties: party_cards(parties, &leads, &counts),
        me: access.member.clone(),
        activity: name_actors(events, &actors),
        head,
        relationship: access.relationship,
    };
    ok(&page)
}

/// Events with their actors' names (the server's own work is Accord's).
pub fn name_actors(events: Vec<EventLine>, actors: &[(uuid::Uuid, String)]) -> Vec<Activity> {
    let names: HashMap<uuid::Uuid, &str> = actors.iter().map(|(id, name)| (*id, name.as_str())).collect();
    events
        .into_iter()
        .map(|event| {
            let actor = event.actor.and_then(|a| names.get(&a)).map_or_else(|| "Accord".to_owned(), |n| (*n).to_owned());
            Activity { event, actor }
        })
        .collect()
}

/// A person-readable line for an audit event kind as stored; a kind this version does not know
/// (written by a newer one) reads neutrally.
pub fn describe(kind: &str) -> &'static str {
    EventKind::parse(kind).map_or("made a change", words)
}

/// Every kind's words, without a catch-all: a new kind without words does not compile.
fn words(kind: EventKind) -> &'static str {
    match kind {
        EventKind::RelationshipCreated => "created the relationship",
        EventKind::RelationshipUpdated => "updated the relationship",
        EventKind::MemberAdded => "added a member",
        EventKind::MemberRoleChanged => "changed a member's role",
        EventKind::MemberLeft => "ended a membership",
        EventKind::SerSucceeded => "handed over as SER",
        EventKind::InvitationCreated => "invited someone",
        EventKind::InvitationAccepted => "accepted an invitation",
        EventKind::InvitationRevoked => "withdrew an invitation",
        EventKind::ObjectiveCreated => "added an objective",
        EventKind::ObjectiveReviewed => "reviewed an objective's relevance",
        EventKind::KpiCreated => "defined a KPI",
        EventKind::KpiThresholdsChanged => "changed a KPI's thresholds",
        EventKind::MeasurementRecorded => "recorded a measurement",
        EventKind::MeasurementCorrected => "corrected a measurement",
        EventKind::MeasurementsImported => "imported measurements",
        EventKind::ObligationCreated => "recorded an obligation",
        EventKind::ObligationUpdated => "updated an obligation",
        EventKind::ActionCreated => "raised an action",
        EventKind::ActionUpdated => "updated an action",
        EventKind::IssueRaised => "raised an issue",
        EventKind::IssueCommented => "commented on an issue",
        EventKind::IssueNoted => "noted something on an issue",
        EventKind::IssueEscalated => "escalated an issue",
        EventKind::IssueResolutionProposed => "proposed a resolution",
        EventKind::IssueResolutionAccepted => "accepted a resolution",
        EventKind::IssueResolutionRejected => "rejected a resolution",
        EventKind::IssueResolved => "recorded an issue resolved by every party",
        EventKind::IssueWithdrawn => "withdrew an issue",
        EventKind::LadderSaved => "changed the escalation ladder",
        EventKind::HolidaysSet => "set a party's holidays",
        // The site chain's kinds, never in a relationship's feed.
        EventKind::UserCreated => "created an account",
        EventKind::UserPasswordSet => "set a password",
        EventKind::UserPasswordResetIssued => "issued a password reset",
        EventKind::UserDisabled => "disabled an account",
        EventKind::UserEnabled => "enabled an account",
        EventKind::OrganisationCreated => "added an organisation",
        EventKind::TokenCreated => "created an API token",
        EventKind::TokenRevoked => "revoked an API token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_words_of_its_own_and_an_unknown_one_reads_neutrally() {
        let words: std::collections::HashSet<_> = EventKind::ALL.iter().map(|k| describe(k.as_str())).collect();
        assert_eq!(words.len(), EventKind::ALL.len());
        assert!(!words.contains("made a change"));
        assert_eq!(describe("review.held"), "made a change");
    }
}
