use super::*;
use accord_store::IssueName;
use serde_json::json;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const PRIYA: u128 = 1;
const SAM: u128 = 2;
const ANN: u128 = 3;
const NORTH: u128 = 10;
const NORTH_ORG: u128 = 11;
const KEY: u128 = 12;
const KEY_ORG: u128 = 13;
const KPI: u128 = 20;
const OBJECTIVE: u128 = 30;
const OBLIGATION: u128 = 40;
const ACTION: u128 = 50;
const ISSUE: u128 = 60;

fn names() -> EventNames {
    let mut n = EventNames::default();
    n.users.extend([(id(PRIYA), "Priya Raman".into()), (id(SAM), "Sam Lee".into()), (id(ANN), "Ann Lee".into())]);
    n.parties.extend([(id(NORTH), "Northshore Port Authority".into()), (id(KEY), "Keystone Construction".into())]);
    n.organisations.extend([(id(NORTH_ORG), "Northshore Port Authority".into()), (id(KEY_ORG), "Keystone Construction".into())]);
    n.kpis.insert(id(KPI), KpiName { name: "On-time delivery".into(), cadence: Cadence::Monthly, unit: "%".into() });
    n.objectives.insert(id(OBJECTIVE), "Keep the port open".into());
    n.obligations.insert(id(OBLIGATION), "Monthly berth report".into());
    n.actions.insert(id(ACTION), "Re-baseline the dredging plan".into());
    let levels = ["Working level", "Joint Management Team", "Senior Executives", "Mediation"].map(String::from).to_vec();
    n.issues.insert(id(ISSUE), IssueName { number: 12, title: "Late berth windows".into(), levels });
    n
}

fn event(kind: EventKind, actor: Option<u128>, party: Option<u128>, subject: &str, summary: Value) -> EventLine {
    EventLine {
        position: 1,
        time: jiff::Timestamp::UNIX_EPOCH,
        actor: actor.map(id),
        party: party.map(id),
        kind: kind.as_str().to_owned(),
        subject: subject.to_owned(),
        summary: summary.to_string(),
        hash: String::new(),
    }
}

fn subject(kind: &str, n: u128) -> String {
    format!("{kind}:{}", id(n))
}

/// One event of every kind, as the store's decisions write them, and its sentence.
fn cases() -> Vec<(EventLine, &'static str)> {
    use EventKind as K;
    let (p, s, a) = (Some(PRIYA), Some(SAM), Some(ANN));
    let thresholds = |t: &str| json!({"direction": "higher", "target": t, "amber": "90", "red": "80"});
    vec![
        (
            event(
                K::RelationshipCreated,
                None,
                None,
                &subject("relationship", 99),
                json!({"name": "Harbour Renewal", "purpose": "", "start_date": "2026-01-05", "time_zone": "UTC", "parties": [id(NORTH_ORG), id(KEY_ORG)]}),
            ),
            "Accord created the relationship 'Harbour Renewal' between Northshore Port Authority and Keystone Construction",
        ),
        (
            event(
                K::RelationshipUpdated,
                s,
                Some(NORTH),
                &subject("relationship", 99),
                json!({"before": {"name": "Harbour", "purpose": "a", "status": "active"}, "after": {"name": "Harbour Renewal", "purpose": "b", "status": "active"}}),
            ),
            "Sam Lee updated the relationship 'Harbour Renewal': renamed from 'Harbour', a new purpose",
        ),
        (
            event(K::MemberAdded, s, Some(NORTH), &subject("user", PRIYA), json!({"user": id(PRIYA), "party": id(NORTH), "role": "jmt"})),
            "Sam Lee added Priya Raman to Northshore Port Authority as a JMT member",
        ),
        (
            event(
                K::MemberRoleChanged,
                s,
                Some(NORTH),
                &subject("user", PRIYA),
                json!({"user": id(PRIYA), "party": id(NORTH), "before": "contributor", "after": "observer"}),
            ),
            "Sam Lee changed Priya Raman's role for Northshore Port Authority from contributor to observer",
        ),
        (
            event(K::MemberLeft, s, Some(NORTH), &subject("user", PRIYA), json!({"user": id(PRIYA), "party": id(NORTH), "role": "jmt"})),
            "Sam Lee removed Priya Raman (JMT member for Northshore Port Authority) from the relationship",
        ),
        (
            event(
                K::SerSucceeded,
                s,
                Some(NORTH),
                &subject("user", PRIYA),
                json!({"party": id(NORTH), "predecessor": id(SAM), "successor": id(PRIYA)}),
            ),
            "Sam Lee made Priya Raman Northshore Port Authority's SER, taking over from Sam Lee",
        ),
        (
            event(
                K::InvitationCreated,
                s,
                Some(KEY),
                &subject("invitation", 70),
                json!({"invitation": id(70), "party": id(KEY), "role": "contributor"}),
            ),
            "Sam Lee invited someone to join Keystone Construction as a contributor",
        ),
        (
            event(K::InvitationAccepted, a, Some(KEY), &subject("invitation", 70), json!({"user": id(ANN)})),
            "Ann Lee accepted an invitation and joined Keystone Construction",
        ),
        (
            event(K::InvitationRevoked, s, Some(KEY), &subject("invitation", 70), json!({"party": id(KEY)})),
            "Sam Lee withdrew an invitation to join Keystone Construction",
        ),
        (
            event(
                K::ObjectiveCreated,
                p,
                Some(NORTH),
                &subject("objective", OBJECTIVE),
                json!({"title": "Keep the port open", "parties": [id(NORTH)], "review_months": 6, "next_review": "2026-09-01"}),
            ),
            "Priya Raman added objective 'Keep the port open'",
        ),
        (
            event(
                K::ObjectiveReviewed,
                p,
                Some(NORTH),
                &subject("objective", OBJECTIVE),
                json!({"verdict": "revised", "reason": "r", "next_review": "2027-01-01", "before": {"title": "Keep it open", "description": ""}, "after": {"title": "Keep the port open", "description": ""}}),
            ),
            "Priya Raman revised objective 'Keep it open' to 'Keep the port open'",
        ),
        (
            event(
                K::KpiCreated,
                p,
                Some(NORTH),
                &subject("kpi", KPI),
                json!({"name": "On-time delivery", "unit": "%", "cadence": "monthly", "party": null, "reporter": null, "objectives": [], "thresholds": thresholds("95"), "effective_from": "2026-01-01"}),
            ),
            "Priya Raman defined KPI 'On-time delivery' (monthly, target 95%)",
        ),
        (
            event(
                K::KpiThresholdsChanged,
                p,
                Some(NORTH),
                &subject("kpi", KPI),
                json!({"effective_from": "2026-04-01", "before": thresholds("95"), "after": thresholds("97.5")}),
            ),
            "Priya Raman set new thresholds for 'On-time delivery' from April 2026: target 97.5%, amber 90%, red 80% (were target 95%, amber 90%, red 80%)",
        ),
        (
            event(
                K::MeasurementRecorded,
                p,
                Some(NORTH),
                &subject("measurement", 80),
                json!({"kpi": id(KPI), "period": "2026-03-01", "value": "92.5", "rag": "green"}),
            ),
            "Priya Raman recorded 92.5% (green) for 'On-time delivery' in March 2026",
        ),
        (
            event(
                K::MeasurementCorrected,
                p,
                Some(NORTH),
                &subject("measurement", 81),
                json!({"kpi": id(KPI), "period": "2026-03-01", "value": "92.5", "rag": "green", "before": {"value": "85", "rag": "amber"}}),
            ),
            "Priya Raman corrected 'On-time delivery' in March 2026 from 85% (amber) to 92.5% (green)",
        ),
        (
            event(
                K::MeasurementRetracted,
                p,
                Some(NORTH),
                &subject("measurement", 81),
                json!({"kpi": id(KPI), "period": "2026-03-01", "value": "92.5", "rag": "green", "reason": "typed into the wrong KPI"}),
            ),
            "Priya Raman retracted 92.5% (green) for 'On-time delivery' in March 2026: typed into the wrong KPI",
        ),
        (
            event(
                K::MeasurementsImported,
                None,
                None,
                &subject("import", 90),
                json!({"file_sha256": "ab", "rows": 120, "added": 118, "corrected": 2, "unchanged": 0}),
            ),
            "Accord imported 120 values from a file: 118 new, 2 corrected, 0 unchanged",
        ),
        (
            event(
                K::ObligationCreated,
                p,
                Some(NORTH),
                &subject("obligation", OBLIGATION),
                json!({"title": "Monthly berth report", "party": id(KEY), "recurrence": "monthly", "due_date": "2026-04-30"}),
            ),
            "Priya Raman recorded Keystone Construction's obligation 'Monthly berth report', due 30 April 2026",
        ),
        (
            event(
                K::ObligationUpdated,
                s,
                Some(KEY),
                &subject("obligation", OBLIGATION),
                json!({"party": id(KEY), "before": {"status": "on_track", "due_date": "2026-04-30", "evidence": ""}, "after": {"status": "at_risk", "due_date": "2026-05-15", "evidence": ""}}),
            ),
            "Sam Lee updated Keystone Construction's obligation 'Monthly berth report': now at risk, due 15 May 2026",
        ),
        (
            event(
                K::ActionCreated,
                p,
                Some(NORTH),
                &subject("action", ACTION),
                json!({"title": "Re-baseline the dredging plan", "party": id(NORTH), "owner": id(SAM), "due_date": "2026-05-01", "source": {"kind": "kpi_period", "id": id(KPI), "period": "2026-03-01"}}),
            ),
            "Priya Raman raised action 'Re-baseline the dredging plan' for Sam Lee, due 1 May 2026 (from 'On-time delivery' in March 2026)",
        ),
        (
            event(
                K::ActionUpdated,
                s,
                Some(NORTH),
                &subject("action", ACTION),
                json!({"party": id(NORTH), "before": {"status": "open", "owner": id(SAM), "due_date": "2026-05-01"}, "after": {"status": "done", "owner": id(PRIYA), "due_date": "2026-05-01"}}),
            ),
            "Sam Lee updated action 'Re-baseline the dredging plan': now done, owned by Priya Raman",
        ),
        (
            event(
                K::IssueRaised,
                p,
                Some(NORTH),
                &subject("issue", ISSUE),
                json!({"number": 12, "title": "Late berth windows", "category": "delivery", "severity": "high", "level": 0, "deadline": "2026-03-09T09:00:00Z", "ladder_version": 1}),
            ),
            "Priya Raman raised issue #12 'Late berth windows' (high severity)",
        ),
        (
            event(K::IssueCommented, s, Some(KEY), &subject("issue", ISSUE), json!({"number": 12, "event": id(71), "private": false})),
            "Sam Lee commented on issue #12 'Late berth windows'",
        ),
        (
            event(K::IssueNoted, s, Some(KEY), &subject("issue", ISSUE), json!({"number": 12, "event": id(72), "private": true})),
            "Sam Lee added a private note to issue #12 'Late berth windows'",
        ),
        (
            event(
                K::IssueEscalated,
                None,
                None,
                &subject("issue", ISSUE),
                json!({"number": 12, "from": 0, "to": 1, "reason": "Not resolved", "deadline": "2026-03-20T09:00:00Z"}),
            ),
            "Accord escalated issue #12 'Late berth windows' to Joint Management Team (time limit passed)",
        ),
        (
            event(K::IssueResolutionProposed, s, Some(KEY), &subject("issue", ISSUE), json!({"number": 12, "proposal": id(73)})),
            "Sam Lee proposed a resolution to issue #12 'Late berth windows'",
        ),
        (
            event(K::IssueResolutionAccepted, p, Some(NORTH), &subject("issue", ISSUE), json!({"number": 12, "proposal": id(73)})),
            "Priya Raman accepted the proposed resolution of issue #12 'Late berth windows'",
        ),
        (
            event(
                K::IssueResolutionRejected,
                p,
                Some(NORTH),
                &subject("issue", ISSUE),
                json!({"number": 12, "proposal": id(73), "reason": "no"}),
            ),
            "Priya Raman rejected the proposed resolution of issue #12 'Late berth windows'",
        ),
        (
            event(K::IssueResolved, None, None, &subject("issue", ISSUE), json!({"number": 12, "level": 1, "proposal": id(73)})),
            "Accord recorded issue #12 'Late berth windows' resolved: every party accepted the resolution",
        ),
        (
            event(K::IssueWithdrawn, p, Some(NORTH), &subject("issue", ISSUE), json!({"number": 12, "reason": "duplicate"})),
            "Priya Raman withdrew issue #12 'Late berth windows'",
        ),
        (
            event(
                K::LadderSaved,
                s,
                Some(NORTH),
                &subject("ladder", 99),
                json!({"version": 2, "levels": [{"name": "Working level", "roles": "jmt", "members": [id(PRIYA)], "limit": "5 working days"}, {"name": "Mediation", "roles": "ser", "members": [], "limit": "10 working days"}]}),
            ),
            "Sam Lee changed the escalation ladder to Working level → Mediation (version 2)",
        ),
        (
            event(
                K::HolidaysSet,
                s,
                Some(KEY),
                &subject("party", KEY),
                json!({"party": id(KEY), "holidays": [{"date": "2026-12-25", "name": "Christmas Day"}, {"date": "2026-12-26", "name": "Boxing Day"}]}),
            ),
            "Sam Lee set Keystone Construction's holidays (2 days)",
        ),
        (
            event(
                K::RecordCreated,
                p,
                Some(NORTH),
                &subject("record", 80),
                json!({"kind": "review", "subject": id(81), "title": "JMT, March 2026", "hash": "ab", "parent": null, "signers": []}),
            ),
            "Priya Raman put 'JMT, March 2026' for every party's signature",
        ),
        (
            event(
                K::RecordCreated,
                p,
                Some(NORTH),
                &subject("record", 82),
                json!({"kind": "addendum", "subject": id(82), "title": "Correction", "hash": "ab", "parent": id(80), "signers": []}),
            ),
            "Priya Raman added the addendum 'Correction' to a sealed record, for every party's signature",
        ),
        (
            event(
                K::RecordChanged,
                p,
                Some(NORTH),
                &subject("record", 80),
                json!({"title": "JMT, March 2026", "before": "ab", "hash": "cd", "signers": [], "voided": [{"signature": id(83), "party": id(KEY), "user": id(SAM)}]}),
            ),
            "Priya Raman changed the record 'JMT, March 2026': 1 signature voided, to be given again",
        ),
        (
            event(
                K::RecordSigned,
                s,
                Some(KEY),
                &subject("record", 80),
                json!({"party": id(KEY), "hash": "0123456789abcdef0123", "signature": id(84), "title": "JMT, March 2026"}),
            ),
            "Sam Lee signed 'JMT, March 2026' for Keystone Construction",
        ),
        (
            event(
                K::RecordSealed,
                None,
                None,
                &subject("record", 80),
                json!({"hash": "0123456789abcdef0123", "title": "JMT, March 2026", "signatures": []}),
            ),
            "Accord sealed 'JMT, March 2026': every party signed it",
        ),
        (
            event(K::UserCreated, None, None, &subject("user", ANN), json!({"organisation": id(KEY_ORG), "admin": true})),
            "Accord created an account for Ann Lee (Keystone Construction) as a site administrator",
        ),
        (event(K::UserPasswordSet, a, None, &subject("user", ANN), json!({})), "Ann Lee set a new password"),
        (
            event(K::UserPasswordResetIssued, s, None, &subject("user", ANN), json!({"expires_at": "2026-03-09T09:00:00Z"})),
            "Sam Lee issued a password reset link for Ann Lee",
        ),
        (event(K::UserDisabled, s, None, &subject("user", ANN), json!({})), "Sam Lee disabled Ann Lee's account"),
        (event(K::UserEnabled, s, None, &subject("user", ANN), json!({})), "Sam Lee enabled Ann Lee's account"),
        (
            event(K::OrganisationCreated, None, None, &subject("organisation", KEY_ORG), json!({"name": "Keystone Construction"})),
            "Accord added the organisation 'Keystone Construction'",
        ),
        (event(K::TokenCreated, a, None, &subject("token", 74), json!({"name": "ci"})), "Ann Lee created the API token 'ci'"),
        (event(K::TokenRevoked, a, None, &subject("token", 74), json!({})), "Ann Lee revoked an API token"),
        (
            event(
                K::ReviewSeriesCreated,
                p,
                Some(NORTH),
                &subject("review_series", 80),
                json!({"name": "JMT", "kind": "jmt", "cadence": "3 months", "chairs": [{"party": id(NORTH), "user": id(PRIYA)}], "roles": ["jmt"], "members": [id(SAM)]}),
            ),
            "Priya Raman set up the review series 'JMT' (quarterly)",
        ),
        (
            event(K::ReviewSeriesUpdated, p, Some(NORTH), &subject("review_series", 80), json!({"name": "JMT", "cadence": "1 months"})),
            "Priya Raman changed the review series 'JMT'",
        ),
        (
            event(
                K::MeetingScheduled,
                p,
                Some(NORTH),
                &subject("meeting", 81),
                json!({"local_start": "2026-04-03T10:00:00", "time_zone": "Europe/London", "duration_minutes": 60, "series": id(80), "place": ""}),
            ),
            "Priya Raman scheduled a review meeting for 3 April 2026 at 10:00 (Europe/London)",
        ),
        (
            event(
                K::MeetingMoved,
                p,
                Some(NORTH),
                &subject("meeting", 81),
                json!({"before": {"local_start": "2026-04-03T10:00:00", "time_zone": "Europe/London"}, "after": {"local_start": "2026-04-07T09:30:00", "time_zone": "Europe/Paris"}, "sequence": 1}),
            ),
            "Priya Raman moved a review meeting to 7 April 2026 at 09:30 (Europe/Paris)",
        ),
        (
            event(K::MeetingCancelled, p, Some(NORTH), &subject("meeting", 81), json!({"series": id(80), "sequence": 2})),
            "Priya Raman cancelled a review meeting",
        ),
        (
            event(
                K::MeetingPrepared,
                p,
                Some(NORTH),
                &subject("meeting", 81),
                json!({"items": {"kpi": 2, "issue": 1, "member": 0}, "previous": null}),
            ),
            "Priya Raman prepared a review meeting's agenda from the data (3 items)",
        ),
        (
            event(K::MeetingItemAdded, s, Some(KEY), &subject("meeting", 81), json!({"item": id(82), "title": "Winter timetable"})),
            "Sam Lee added 'Winter timetable' to a review meeting's agenda",
        ),
        (
            event(K::MeetingItemsReordered, s, Some(KEY), &subject("meeting", 81), json!({"order": [id(82)]})),
            "Sam Lee reordered a review meeting's agenda",
        ),
        (
            event(K::MeetingMinutingStarted, s, Some(KEY), &subject("meeting", 81), json!({"series": id(80), "items": 4})),
            "Sam Lee started the minutes of a review meeting, its data as it then stood",
        ),
        (
            event(
                K::MeetingAttendanceRecorded,
                s,
                Some(KEY),
                &subject("meeting", 81),
                json!({"attendance": [{"user": id(PRIYA), "presence": "present"}, {"user": id(ANN), "presence": "apologies"}]}),
            ),
            "Sam Lee recorded attendance at a review meeting: 1 present, 1 with apologies, 0 absent",
        ),
        (
            event(K::MeetingItemMinuted, s, Some(KEY), &subject("meeting", 81), json!({"item": id(82), "closed": true})),
            "Sam Lee minuted an item of a review meeting and closed it",
        ),
        (
            event(
                K::MeetingDecisionRecorded,
                p,
                Some(NORTH),
                &subject("meeting", 81),
                json!({"decision": id(83), "item": id(82), "text": "Deliver the berth report", "agreed": [{"party": id(NORTH), "user": id(PRIYA)}], "intervention_party": id(KEY)}),
            ),
            "Priya Raman recorded the decision 'Deliver the berth report', an intervention aimed at Keystone Construction",
        ),
    ]
}

#[test]
fn every_kind_reads_as_a_sentence_naming_what_it_touched() {
    let names = names();
    let cases = cases();
    for kind in EventKind::ALL {
        assert!(cases.iter().any(|(e, _)| e.kind == kind.as_str()), "{kind:?} has no sentence test");
    }
    let told = activities(cases.iter().map(|(e, _)| e.clone()).collect(), &names);
    for (activity, (_, expected)) in told.iter().zip(&cases) {
        assert_eq!(activity.sentence(), *expected, "{}", activity.event.kind);
    }
}

/// An id is never shown: a name not found reads as what it is ("a KPI", "someone").
fn shows_no_id(sentence: &str) -> bool {
    let hex = sentence.split(|c: char| !c.is_ascii_hexdigit()).any(|word| word.len() >= 8);
    !hex && !sentence.contains("00000000-")
}

#[test]
fn names_not_found_read_gracefully_and_an_unknown_kind_neutrally() {
    let empty = EventNames::default();
    for (event, _) in cases() {
        let told = activities(vec![event], &empty).remove(0);
        assert!(shows_no_id(&told.sentence()), "{}: {}", told.event.kind, told.sentence());
        assert!(!told.what.is_empty());
    }
    let recorded = &cases()[13].0;
    assert_eq!(describe(recorded, &empty), "recorded 92.5 (green) for a KPI in the period from 2026-03-01");
    let raised = &cases()[21].0;
    assert_eq!(describe(raised, &empty), "raised issue #12 'Late berth windows' (high severity)");
    let escalated = &cases()[24].0;
    assert_eq!(describe(escalated, &empty), "escalated issue #12 to level 2 (time limit passed)");
    let mut added = cases()[2].0.clone();
    added.actor = Some(id(404));
    assert_eq!(activities(vec![added], &empty)[0].sentence(), "Someone added someone to a party as a JMT member");
    let newer = EventLine { kind: "review.held".into(), ..cases()[0].0.clone() };
    assert_eq!(describe(&newer, &names()), "made a change");
    let broken = EventLine { summary: "not json".into(), ..cases()[29].0.clone() };
    assert_eq!(describe(&broken, &names()), "withdrew issue #12 'Late berth windows'");
}

#[test]
fn periods_read_as_people_name_them() {
    let d = Date::constant(2026, 3, 4);
    assert_eq!(period_words(Cadence::Daily, d), "4 March 2026");
    assert_eq!(period_words(Cadence::Weekly, d), "the week of 2 March 2026");
    assert_eq!(period_words(Cadence::Monthly, d.first_of_month()), "March 2026");
    assert_eq!(period_words(Cadence::Quarterly, Date::constant(2026, 10, 1)), "Q4 2026");
}
