//! The activity feed's words: each audit event kind as people read it, and who acted. The home
//! page and the audit trail both show them.

use accord_domain::EventKind;
use accord_store::EventLine;
use std::collections::HashMap;

pub struct Activity {
    pub event: EventLine,
    pub actor: String,
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
