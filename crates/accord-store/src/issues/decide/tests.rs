use super::*;
use accord_domain::membership::Role;
use proptest::prelude::*;

fn at(minutes: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Ids 1000, 1001, ... in the order they are asked for.
fn counter() -> impl FnMut() -> Uuid {
    let mut next = 1000;
    move || {
        next += 1;
        id(next)
    }
}

fn relationship() -> Relationship {
    Relationship {
        id: id(1),
        name: "Harbour works".into(),
        purpose: String::new(),
        start_date: jiff::civil::date(2026, 1, 1),
        status: accord_domain::relationship::Status::Active,
        time_zone: "UTC".into(),
        version: 1,
        created_at: at(0),
        updated_at: at(0),
    }
}

/// User `n` of party `party`, with `role`.
fn member(n: u128, party: u128, role: Role) -> Member {
    Member {
        id: id(500 + n),
        relationship_id: id(1),
        party_id: id(party),
        organisation_name: format!("Org {party}"),
        user_id: id(n),
        name: format!("User {n}"),
        email: format!("u{n}@example.com"),
        role,
        joined_at: at(0),
        left_at: None,
    }
}

fn current(m: &Member) -> CurrentMember {
    CurrentMember { user_id: m.user_id, party_id: m.party_id, role: m.role }
}

/// Three levels of ten minutes each, handled by JMT members.
fn ladder() -> Ladder {
    let level = |name: &str| LadderLevel { name: name.into(), roles: vec![Role::Jmt], members: vec![], limit: Limit::Minutes(10) };
    Ladder { version: 1, levels: vec![level("One"), level("Two"), level("Three")], created_at: Some(at(0)) }
}

fn rules(members: &[Member]) -> IssueRules {
    IssueRules::new(relationship(), ladder(), members.iter().map(current).collect(), &[])
}

fn issue(raised_by: &Member) -> Issue {
    Issue {
        id: id(900),
        relationship_id: id(1),
        number: 7,
        title: "Late deliveries".into(),
        description: "Three in a row".into(),
        category: "delivery".into(),
        severity: "high".into(),
        raised_by: raised_by.user_id,
        raised_by_name: raised_by.name.clone(),
        raising_party_id: raised_by.party_id,
        ladder_version: 1,
        level: 0,
        level_started_at: at(0),
        deadline: at(10),
        status: IssueStatus::Open,
        resolved_at: None,
        links: vec![],
        version: 1,
        created_at: at(0),
    }
}

fn proposal(by: &Member, accepted_by: Vec<Uuid>) -> Proposal {
    Proposal { id: id(800), proposed_by: by.user_id, party_id: by.party_id, body: "Refund".into(), accepted_by, created_at: at(1) }
}

fn field(e: StoreError) -> String {
    match e {
        StoreError::Invalid(invalid) => format!("{invalid:?}"),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn raising_tells_the_first_level_but_not_the_raiser_and_counts_one_open() {
    let (a, b, c) = (member(1, 101, Role::Jmt), member(2, 102, Role::Jmt), member(3, 102, Role::Contributor));
    let rules = rules(&[a.clone(), b.clone(), c]);
    let new = NewIssue {
        relationship_id: id(1),
        title: "Late deliveries".into(),
        description: "Three in a row".into(),
        category: "delivery".into(),
        severity: "high".into(),
        links: vec![],
    };
    let raised = raise(&rules, &a, &new, 7, at(0), &mut counter());
    assert_eq!(raised.id, id(1001));
    assert_eq!(raised.deadline, at(10));
    assert_eq!(raised.reminder, None, "no reminder for a limit in minutes");
    assert_eq!(raised.plan.figures, vec![FigureMove { level: 0, open: 1, resolved_after_hours: None }]);
    assert_eq!(raised.plan.timeline[0].kind, "raised");
    assert_eq!(raised.plan.timeline[0].to_level, Some(0));
    assert_eq!(raised.plan.audit[0].kind, EventKind::IssueRaised);
    assert_eq!(raised.plan.audit[0].summary["number"], 7);
    let notice = &raised.plan.notices[0];
    assert_eq!(notice.recipients, vec![b.user_id], "JMT handlers, the raiser left out, the contributor not a handler");
    assert_eq!(notice.title, "New issue #7 in Harbour works: Late deliveries");
    assert_eq!(notice.link, format!("/relationships/{}/issues/{}", id(1), id(1001)));
}

#[test]
fn an_overdue_issue_climbs_once_per_elapsed_deadline_and_stops_at_the_top() {
    let (a, b) = (member(1, 101, Role::Jmt), member(2, 102, Role::Jmt));
    let rules = rules(&[a.clone(), b]);
    let mut current = issue(&a);
    let plans = overdue(&rules, &mut current, at(25), &mut counter());
    assert_eq!(plans.len(), 2, "deadlines at 10 and 20 passed; the third level is the top");
    for (i, plan) in plans.iter().enumerate() {
        let (from, to) = (i as i32, i as i32 + 1);
        assert_eq!(
            plan.figures,
            vec![
                FigureMove { level: from, open: -1, resolved_after_hours: None },
                FigureMove { level: to, open: 1, resolved_after_hours: None }
            ]
        );
        assert_eq!((plan.timeline[0].from_level, plan.timeline[0].to_level), (Some(from), Some(to)));
        assert_eq!(plan.audit[0].actor, None, "the sweep acts for nobody");
        assert!(plan.notices[0].recipients.contains(&a.user_id), "the raiser hears of every step");
    }
    let Some(IssueWrite::Climb { level, started_at, deadline, .. }) = plans[1].issue else { panic!("a climb") };
    assert_eq!((level, started_at, deadline), (2, at(20), at(30)), "each level starts when the one below ran out");
    assert_eq!((current.level, current.deadline), (2, at(30)));
    assert!(overdue(&rules, &mut current, at(45), &mut counter()).is_empty(), "nothing above the top");
    assert_eq!(plans[0].notices[0].title, "Issue #7 escalated to Two: Late deliveries");
}

#[test]
fn a_reminder_is_dropped_when_the_deadline_has_passed() {
    let a = member(1, 101, Role::Jmt);
    let rules = rules(std::slice::from_ref(&a));
    let current = issue(&a);
    assert!(reminder(&rules, &current, at(10)).is_none());
    let notice = reminder(&rules, &current, at(9)).expect("due tomorrow");
    assert_eq!(notice.kind, NotificationKind::IssueReminder);
    assert_eq!(notice.recipients, vec![a.user_id]);
}

#[test]
fn a_private_note_keeps_its_words_out_of_the_audit_trail() {
    let a = member(1, 101, Role::Jmt);
    let (event, plan) = comment(&issue(&a), Some(a.clone()), "between us", true, &mut counter()).unwrap();
    assert_eq!(plan.timeline[0].private_to, Some(a.party_id));
    assert_eq!(plan.audit[0].kind, EventKind::IssueNoted);
    assert_eq!(plan.audit[0].summary, json!({"number": 7, "event": event, "private": true}));
    assert!(field(comment(&issue(&a), None, "hi", false, &mut counter()).unwrap_err()).contains("user"));
}

#[test]
fn a_closed_issue_takes_no_proposal_and_no_withdrawal() {
    let a = member(1, 101, Role::Jmt);
    let mut closed = issue(&a);
    closed.status = IssueStatus::Resolved;
    let level = &ladder().levels[0];
    assert!(field(propose(level, &[], &closed, None, Some(a.clone()), "x", &mut counter()).unwrap_err()).contains("status"));
    assert!(field(withdraw(&closed, Some(a.clone()), "x", &mut counter()).unwrap_err()).contains("status"));
    // The rule on the issue is checked before the actor's membership, as before.
    assert!(field(withdraw(&closed, None, "x", &mut counter()).unwrap_err()).contains("status"));
    let waiting = proposal(&a, vec![a.party_id]);
    assert!(field(propose(level, &[], &issue(&a), Some(&waiting), Some(a), "x", &mut counter()).unwrap_err()).contains("proposal"));
}

#[test]
fn saving_a_ladder_checks_the_version_the_levels_and_their_handlers() {
    let current = ladder();
    let levels = current.levels.clone();
    assert!(matches!(save_ladder(id(1), &current, &levels, 0, &[], id(1)), Err(StoreError::Stale { current: 1 })));
    assert!(field(save_ladder(id(1), &current, &[], 1, &[], id(1)).unwrap_err()).contains("levels"));
    let mut named = levels.clone();
    named[1].members = vec![id(9)];
    assert!(field(save_ladder(id(1), &current, &named, 1, &[id(1)], id(1)).unwrap_err()).contains("levels[1].members"));
    let (version, draft) = save_ladder(id(1), &current, &levels, 1, &[], id(1)).unwrap();
    assert_eq!(version, 2);
    assert_eq!(draft.summary["levels"][0]["roles"], "jmt");
}

#[test]
fn a_withdrawal_closes_the_issue_and_its_proposal_and_tells_nobody() {
    let a = member(1, 101, Role::Jmt);
    let mut current = issue(&a);
    current.level = 1;
    let plan = withdraw(&current, Some(a.clone()), "Settled elsewhere", &mut counter()).unwrap();
    assert_eq!(plan.issue, Some(IssueWrite::Status(IssueStatus::Withdrawn)));
    assert_eq!(plan.proposals, vec![ProposalWrite::WithdrawPending]);
    assert_eq!(plan.figures, vec![FigureMove { level: 1, open: -1, resolved_after_hours: None }]);
    assert_eq!(plan.audit[0].summary, json!({"number": 7, "reason": "Settled elsewhere"}));
    assert!(plan.notices.is_empty());
}

#[test]
fn an_early_escalation_names_the_actors_party_and_stops_at_the_top() {
    let (a, b) = (member(1, 101, Role::Jmt), member(2, 102, Role::Jmt));
    let rules = rules(&[a.clone(), b.clone()]);
    let plan = escalate(&rules, &issue(&a), b.user_id, "No answer", at(3), &mut counter()).unwrap();
    let entry = &plan.timeline[0];
    assert_eq!((entry.actor, entry.party, entry.body.as_str()), (Some(b.user_id), Some(b.party_id), "Escalated early: No answer"));
    let Some(IssueWrite::Climb { level, started_at, deadline, .. }) = plan.issue else { panic!("a climb") };
    assert_eq!((level, started_at, deadline), (1, at(3), at(13)), "the next level starts now");
    // Named by someone who is not a member: the step is theirs, with no party.
    let outsider = escalate(&rules, &issue(&a), id(77), "x", at(3), &mut counter()).unwrap();
    assert_eq!((outsider.timeline[0].actor, outsider.timeline[0].party), (Some(id(77)), None));
    let mut top = issue(&a);
    top.level = 2;
    assert!(field(escalate(&rules, &top, b.user_id, "x", at(3), &mut counter()).unwrap_err()).contains("top of the ladder"));
}

proptest! {
    /// An acceptance resolves the issue exactly when, with it, every party has accepted; only then
    /// do the figures record a resolution, and either way the proposer and raiser are told.
    #[test]
    fn an_acceptance_resolves_only_when_every_party_has_accepted(parties in 1u128..6, accepted in proptest::collection::vec(any::<bool>(), 6), me in 0u128..6) {
        let me = me % parties;
        let proposer = member(50, 100, Role::Jmt);
        let answering = member(60, 100 + me, Role::Jmt);
        let party_ids: Vec<Uuid> = (0..parties).map(|p| id(100 + p)).collect();
        let accepted_by: Vec<Uuid> = party_ids.iter().zip(&accepted).filter(|(p, yes)| **yes && **p != answering.party_id).map(|(p, _)| *p).collect();
        let current = issue(&proposer);
        let waiting = proposal(&proposer, accepted_by.clone());
        let plan = respond(&current, Some(&waiting), Some(answering.clone()), &party_ids, true, "fine", at(120), &mut counter()).unwrap();
        let everyone = party_ids.iter().all(|p| accepted_by.contains(p) || *p == answering.party_id);
        prop_assert_eq!(plan.issue == Some(IssueWrite::Status(IssueStatus::Resolved)), everyone);
        prop_assert_eq!(plan.figures.iter().any(|f| f.resolved_after_hours == Some(2)), everyone);
        prop_assert_eq!(plan.proposals.contains(&ProposalWrite::Close { proposal_id: waiting.id, status: "accepted" }), everyone);
        prop_assert_eq!(plan.audit.len(), if everyone { 2 } else { 1 });
        let kind = if everyone { NotificationKind::IssueResolved } else { NotificationKind::ResolutionAccepted };
        prop_assert_eq!(plan.notices[0].kind, kind);
        prop_assert_eq!(&plan.notices[0].recipients, &vec![proposer.user_id, proposer.user_id]);
    }

    /// A rejection opens the issue again at the same level: no climb, no figure moves.
    #[test]
    fn a_rejection_reopens_at_the_same_level(level in 0i32..3, party in 101u128..104) {
        let proposer = member(50, 100, Role::Jmt);
        let mut current = issue(&proposer);
        current.level = level;
        current.status = IssueStatus::ResolutionProposed;
        let waiting = proposal(&proposer, vec![proposer.party_id]);
        let plan = respond(&current, Some(&waiting), Some(member(60, party, Role::Jmt)), &[id(100), id(party)], false, "no", at(5), &mut counter()).unwrap();
        prop_assert_eq!(plan.issue, Some(IssueWrite::Status(IssueStatus::Open)));
        prop_assert!(plan.figures.is_empty());
        prop_assert_eq!(&plan.proposals, &vec![ProposalWrite::Close { proposal_id: waiting.id, status: "rejected" }]);
        prop_assert_eq!(plan.audit[0].kind, EventKind::IssueResolutionRejected);
        prop_assert_eq!(&plan.audit[0].summary["reason"], "no");
    }

    /// A party that has accepted cannot answer again.
    #[test]
    fn a_party_answers_once(accept in any::<bool>()) {
        let proposer = member(50, 100, Role::Jmt);
        let waiting = proposal(&proposer, vec![proposer.party_id]);
        let again = member(51, 100, Role::Jmt);
        let refused = respond(&issue(&proposer), Some(&waiting), Some(again), &[id(100), id(101)], accept, "", at(5), &mut counter());
        prop_assert!(field(refused.unwrap_err()).contains("already accepted"));
        let none = respond(&issue(&proposer), None, Some(proposer.clone()), &[id(100)], accept, "", at(5), &mut counter());
        prop_assert!(field(none.unwrap_err()).contains("no proposed resolution"));
    }

    /// A proposal goes to the other parties' handlers and the raiser, never to the proposer nor
    /// to the proposer's own party's handlers.
    #[test]
    fn a_proposal_never_notifies_its_proposer(members in proptest::collection::vec((0u128..3, prop_oneof![Just(Role::Jmt), Just(Role::Contributor), Just(Role::Ser)]), 1..8), raiser in 0usize..8, proposer in 0usize..8) {
        let members: Vec<Member> = members.iter().enumerate().map(|(i, (party, role))| member(10 + i as u128, 100 + party, *role)).collect();
        let raiser = &members[raiser % members.len()];
        let me = members[proposer % members.len()].clone();
        let level = &ladder().levels[0];
        let current_members: Vec<CurrentMember> = members.iter().map(current).collect();
        let plan = propose(level, &current_members, &issue(raiser), None, Some(me.clone()), "Refund", &mut counter()).unwrap();
        let recipients = &plan.notices[0].recipients;
        prop_assert!(!recipients.contains(&me.user_id));
        for m in &members {
            let handler_elsewhere = m.role == Role::Jmt && m.party_id != me.party_id;
            let told = recipients.contains(&m.user_id);
            prop_assert_eq!(told, m.user_id != me.user_id && (handler_elsewhere || m.user_id == raiser.user_id), "{:?}", m.user_id);
        }
        prop_assert_eq!(plan.issue, Some(IssueWrite::Status(IssueStatus::ResolutionProposed)));
    }
}
