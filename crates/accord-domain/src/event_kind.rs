//! What happened, as an audit event and as a notification: every kind's string is written here
//! once. Stored chains hash an event's kind and the inbox keeps a notification's, so a string never
//! changes; a module's new kind is a new line here (and its sentence in the activity feed, which
//! matches on [`EventKind`] exhaustively).

/// Defines an enum of kinds with its stored strings, `ALL`, `as_str` and `parse`.
macro_rules! kinds {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every kind, in the order written here.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string stored (and, for an audit event, hashed).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The kind a stored string names; `None` for one this version does not know (written
            /// by a newer version), which callers show neutrally rather than refuse.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

kinds! {
    /// What an audit event records, as `subject_type.verb`.
    EventKind {
        RelationshipCreated = "relationship.created",
        RelationshipUpdated = "relationship.updated",
        MemberAdded = "member.added",
        MemberRoleChanged = "member.role_changed",
        MemberLeft = "member.left",
        SerSucceeded = "ser.succeeded",
        InvitationCreated = "invitation.created",
        InvitationAccepted = "invitation.accepted",
        InvitationRevoked = "invitation.revoked",
        ObjectiveCreated = "objective.created",
        ObjectiveReviewed = "objective.reviewed",
        KpiCreated = "kpi.created",
        KpiThresholdsChanged = "kpi.thresholds_changed",
        MeasurementRecorded = "measurement.recorded",
        MeasurementCorrected = "measurement.corrected",
        /// A value recorded by mistake, withdrawn with a reason: kept in history, no longer current.
        MeasurementRetracted = "measurement.retracted",
        MeasurementsImported = "measurements.imported",
        ObligationCreated = "obligation.created",
        ObligationUpdated = "obligation.updated",
        ActionCreated = "action.created",
        ActionUpdated = "action.updated",
        IssueRaised = "issue.raised",
        IssueCommented = "issue.commented",
        /// A party-private note: its text stays out of the trail.
        IssueNoted = "issue.noted",
        IssueEscalated = "issue.escalated",
        IssueResolutionProposed = "issue.resolution_proposed",
        IssueResolutionAccepted = "issue.resolution_accepted",
        IssueResolutionRejected = "issue.resolution_rejected",
        /// Every party accepted the resolution (recorded by the server).
        IssueResolved = "issue.resolved",
        IssueWithdrawn = "issue.withdrawn",
        LadderSaved = "ladder.saved",
        HolidaysSet = "holidays.set",
        /// A record put for every party's signature (or an addendum added to a sealed one).
        RecordCreated = "record.created",
        /// Its content changed: the summary lists the signatures it voided.
        RecordChanged = "record.changed",
        /// The summary carries the record's hash: what was signed.
        RecordSigned = "record.signed",
        /// Every party signed (recorded by the server); the summary carries the hash.
        RecordSealed = "record.sealed",
        ReviewSeriesCreated = "review_series.created",
        ReviewSeriesUpdated = "review_series.updated",
        MeetingScheduled = "meeting.scheduled",
        /// Its date, time, zone or length changed (its calendar SEQUENCE rose).
        MeetingMoved = "meeting.moved",
        MeetingCancelled = "meeting.cancelled",
        /// Its draft agenda was built from the relationship's data.
        MeetingPrepared = "meeting.prepared",
        MeetingItemAdded = "meeting.item_added",
        MeetingItemsReordered = "meeting.items_reordered",
        /// Minuting started: the data each item shows is frozen from here on.
        MeetingMinutingStarted = "meeting.minuting_started",
        MeetingAttendanceRecorded = "meeting.attendance_recorded",
        MeetingItemMinuted = "meeting.item_minuted",
        MeetingDecisionRecorded = "meeting.decision_recorded",
        // The site chain's kinds.
        UserCreated = "user.created",
        UserPasswordSet = "user.password_set",
        UserPasswordResetIssued = "user.password_reset_issued",
        UserDisabled = "user.disabled",
        UserEnabled = "user.enabled",
        OrganisationCreated = "organisation.created",
        TokenCreated = "token.created",
        TokenRevoked = "token.revoked",
    }
}

kinds! {
    /// What a notification in a member's inbox (and e-mail) tells of. Three share their event's
    /// string; the others tell of a step the audit trail names differently or does not record (a
    /// reminder).
    NotificationKind {
        IssueRaised = "issue.raised",
        IssueEscalated = "issue.escalated",
        IssueReminder = "issue.reminder",
        ResolutionProposed = "issue.proposed",
        ResolutionRejected = "issue.rejected",
        /// One party accepted; others still have to answer.
        ResolutionAccepted = "issue.accepted",
        IssueResolved = "issue.resolved",
        /// A record waits on the recipient's signature.
        RecordAwaitingSignature = "record.awaiting_signature",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn check<K: Copy + PartialEq + std::fmt::Debug>(all: &[K], as_str: fn(K) -> &'static str, parse: fn(&str) -> Option<K>) {
        for &kind in all {
            assert_eq!(parse(as_str(kind)), Some(kind), "{kind:?} round-trips");
            let (subject, verb) = as_str(kind).split_once('.').unwrap();
            assert!([subject, verb].iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        }
        let strings: HashSet<_> = all.iter().map(|&k| as_str(k)).collect();
        assert_eq!(strings.len(), all.len(), "every string names one kind");
        assert_eq!(parse("thing.changed"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn every_kind_round_trips_through_its_unique_string() {
        check(EventKind::ALL, EventKind::as_str, EventKind::parse);
        check(NotificationKind::ALL, NotificationKind::as_str, NotificationKind::parse);
        assert_eq!(EventKind::MemberRoleChanged.to_string(), "member.role_changed");
    }
}
