//! What each write of the reviews module decides, from what its backend loaded: pure, written
//! once. Every change to a meeting, its agenda or its minutes is [`change_meeting`], and every
//! change to its minutes passes [`minutes_writable`] first: the one place where a signed or
//! sealed record will refuse a change (or void its signatures).

use super::agenda::{self, AgendaFacts};
use super::*;
use crate::actions::decide::{ActionReferences, create_action};
use crate::measures::decide::check_version;
use crate::{Member, Party, SourceFound};
use accord_domain::EventKind;
use accord_domain::audit::Draft;
use serde_json::json;

/// A series as written: the lists named, or a field error naming what is wrong.
pub fn save_series(
    input: &SeriesInput, parties: &[Party], members: &[Member], before: Option<(&Series, i64)>, id: Uuid, actor: Uuid, now: Timestamp,
) -> StoreResult<(Series, Draft)> {
    let mut invalid = accord_domain::Invalid::default();
    let mut chairs = Vec::new();
    for party in parties {
        // A party that names no chair is chaired by its SER.
        let ser = || members.iter().find(|m| m.party_id == party.id && m.role == accord_domain::membership::Role::Ser);
        match input.chairs.iter().find(|(p, _)| *p == party.id) {
            None => match ser() {
                Some(m) => chairs.push(Chair { party_id: party.id, user_id: m.user_id, name: m.name.clone() }),
                None => invalid.0.push(field("chairs", format!("needs a chair for {}, which has no SER", party.organisation_name))),
            },
            Some((_, user)) => match members.iter().find(|m| m.user_id == *user && m.party_id == party.id) {
                Some(m) => chairs.push(Chair { party_id: party.id, user_id: m.user_id, name: m.name.clone() }),
                None => invalid.0.push(field("chairs", format!("the chair for {} must be one of its members", party.organisation_name))),
            },
        }
    }
    if input.chairs.iter().enumerate().any(|(i, (p, _))| input.chairs[..i].iter().any(|(q, _)| q == p)) {
        invalid.0.push(field("chairs", "names two chairs for one party".into()));
    }
    if input.chairs.iter().any(|(p, _)| !parties.iter().any(|party| party.id == *p)) {
        invalid.0.push(field("chairs", "names a party not in this relationship".into()));
    }
    let mut invitees = Vec::new();
    for user in &input.invitees {
        match members.iter().find(|m| m.user_id == *user) {
            Some(m) if !invitees.iter().any(|i: &Invitee| i.user_id == *user) => {
                invitees.push(Invitee { user_id: m.user_id, name: m.name.clone() })
            }
            Some(_) => {}
            None => invalid.0.push(field("invitees", "must be current members of the relationship".into())),
        }
    }
    invalid.finish()?;
    let mut roles = input.invited_roles.clone();
    roles.dedup();
    let (version, created_at, kind) = match before {
        Some((b, expected)) => {
            check_version(b.version, expected)?;
            (b.version + 1, b.created_at, EventKind::ReviewSeriesUpdated)
        }
        None => (1, now, EventKind::ReviewSeriesCreated),
    };
    let series = Series {
        id,
        relationship_id: input.relationship_id,
        name: input.name.clone(),
        kind: input.kind,
        cadence: input.cadence,
        chairs,
        invited_roles: roles,
        invitees,
        version,
        created_at,
    };
    let summary = json!({
        "name": series.name, "kind": series.kind.as_str(), "cadence": series.cadence.as_stored(),
        "chairs": series.chairs.iter().map(|c| json!({"party": c.party_id, "user": c.user_id})).collect::<Vec<_>>(),
        "roles": series.invited_roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "members": series.invitees.iter().map(|i| i.user_id).collect::<Vec<_>>(),
    });
    Ok((series, Draft::new(Some(actor), kind, "review_series", id, summary)))
}

fn field(name: &str, message: String) -> accord_domain::FieldError {
    accord_domain::FieldError { field: name.into(), message }
}

fn when(time: &MeetingTime) -> serde_json::Value {
    json!({"local_start": time.local.to_string(), "time_zone": time.time_zone, "duration_minutes": time.duration_minutes})
}

pub fn schedule_meeting(new: &NewMeeting, series: &Series, id: Uuid, actor: Uuid) -> Draft {
    let mut summary = when(&new.time);
    summary["series"] = json!(series.id);
    summary["place"] = json!(new.place.place);
    Draft::new(Some(actor), EventKind::MeetingScheduled, "meeting", id, summary)
}

/// What a backend loaded to change a meeting.
pub struct MeetingState<'a> {
    pub meeting: &'a Meeting,
    pub series: &'a Series,
    /// The relationship's current members.
    pub members: &'a [Member],
    pub parties: &'a [Party],
    /// For `Prepare` and `StartMinuting`.
    pub facts: Option<&'a AgendaFacts>,
}

/// What to write after a change: the meeting as it now is (its row rewritten whole), the
/// events, the agenda items new to the meeting (indexed so an action can name one as its
/// source), an intervention to list on its party's page, an action to raise.
#[derive(Debug)]
pub struct MeetingPlan {
    pub meeting: Meeting,
    pub drafts: Vec<Draft>,
    pub new_items: Vec<Uuid>,
    pub intervention: Option<Intervention>,
    pub action: Option<(Uuid, NewAction)>,
}

/// The one check every change to a meeting's minutes passes: minuting has started and the
/// record is not yet with the signatories. (The signed record adds here: refused once sealed,
/// voiding signatures while signing.)
pub fn minutes_writable(meeting: &Meeting) -> StoreResult<()> {
    match meeting.line.status {
        MeetingStatus::Minuting => Ok(()),
        MeetingStatus::Scheduled => Err(StoreError::invalid("status", "minuting has not started: start the minutes first")),
        MeetingStatus::Signing | MeetingStatus::Sealed => {
            Err(StoreError::invalid("status", "the record is with its signatories and no longer changes"))
        }
        MeetingStatus::Cancelled => Err(StoreError::invalid("status", "the meeting was cancelled")),
    }
}

/// A change before minuting (time, place, agenda): only while the meeting is scheduled.
fn scheduled(meeting: &Meeting) -> StoreResult<()> {
    match meeting.line.status {
        MeetingStatus::Scheduled => Ok(()),
        MeetingStatus::Cancelled => Err(StoreError::invalid("status", "the meeting was cancelled")),
        _ => Err(StoreError::invalid("status", "minuting has started: the agenda and time are as the meeting had them")),
    }
}

fn item_at(minutes: &Minutes, item_id: Uuid) -> StoreResult<usize> {
    minutes.items.iter().position(|i| i.id == item_id).ok_or_else(|| StoreError::invalid("item", "is not an item of this meeting's agenda"))
}

use crate::StoreError;

/// Decides a change to a meeting (see [`MeetingCommand`]); `id` makes fresh ids.
pub fn change_meeting(
    state: MeetingState, command: MeetingCommand, expected_version: i64, mut id: impl FnMut() -> Uuid, actor: Uuid, now: Timestamp,
) -> StoreResult<MeetingPlan> {
    let before = state.meeting;
    check_version(before.version, expected_version)?;
    let mut m = before.clone();
    m.version += 1;
    let meeting_id = m.line.id;
    let mut drafts = Vec::new();
    let mut new_items = Vec::new();
    let mut intervention = None;
    let mut action = None;
    let draft = |kind: EventKind, summary: serde_json::Value| Draft::new(Some(actor), kind, "meeting", meeting_id, summary);
    match command {
        MeetingCommand::Reschedule { time, place } => {
            scheduled(before)?;
            let old = MeetingTime {
                local: before.line.local_start,
                time_zone: before.line.time_zone.clone(),
                starts_at: before.line.starts_at,
                duration_minutes: before.line.duration_minutes,
            };
            let moved = old.moved(&time);
            if moved {
                m.line.sequence += 1;
            }
            m.line.local_start = time.local;
            m.line.time_zone = time.time_zone.clone();
            m.line.starts_at = time.starts_at;
            m.line.duration_minutes = time.duration_minutes;
            m.place = place;
            let mut summary = json!({"before": when(&old), "after": when(&time), "sequence": m.line.sequence});
            summary["place"] = json!(m.place.place);
            drafts.push(draft(EventKind::MeetingMoved, summary));
        }
        MeetingCommand::Cancel => {
            scheduled(before)?;
            m.line.status = MeetingStatus::Cancelled;
            m.line.sequence += 1;
            drafts.push(draft(EventKind::MeetingCancelled, json!({"series": m.line.series_id, "sequence": m.line.sequence})));
        }
        MeetingCommand::Prepare => {
            scheduled(before)?;
            let facts = state.facts.ok_or_else(|| StoreError::Backend("agenda facts not loaded".into()))?;
            // Items added by hand stay; the data's lines are chosen afresh.
            let kept: Vec<AgendaItem> = m.minutes.items.drain(..).filter(|i| i.added_by.is_some()).collect();
            let mut items = agenda::items(agenda::agenda(facts), &mut id);
            new_items.extend(items.iter().map(|i| i.id));
            items.extend(kept);
            m.minutes.items = items;
            m.minutes.prepared_at = Some(now);
            let counts = AgendaSource::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), json!(m.minutes.items.iter().filter(|i| i.source == *s).count())))
                .collect::<serde_json::Map<_, _>>();
            drafts
                .push(draft(EventKind::MeetingPrepared, json!({"items": counts, "previous": facts.previous.as_ref().map(|p| p.line.id)})));
        }
        MeetingCommand::AddItem { title } => {
            if !matches!(before.line.status, MeetingStatus::Scheduled) {
                minutes_writable(before)?;
            }
            let item = AgendaItem {
                id: id(),
                source: AgendaSource::Member,
                source_id: None,
                carried_from: None,
                title: title.clone(),
                data: json!({}),
                notes: String::new(),
                outcome: ItemOutcome::Open,
                added_by: Some(actor),
            };
            new_items.push(item.id);
            drafts.push(draft(EventKind::MeetingItemAdded, json!({"item": item.id, "title": title})));
            m.minutes.items.push(item);
        }
        MeetingCommand::MoveItem { item_id, up } => {
            if !matches!(before.line.status, MeetingStatus::Scheduled) {
                minutes_writable(before)?;
            }
            let at = item_at(&m.minutes, item_id)?;
            let to = if up { at.checked_sub(1) } else { Some(at + 1).filter(|&t| t < m.minutes.items.len()) };
            let to = to.ok_or_else(|| StoreError::invalid("item", if up { "is first already" } else { "is last already" }))?;
            m.minutes.items.swap(at, to);
            drafts
                .push(draft(EventKind::MeetingItemsReordered, json!({"order": m.minutes.items.iter().map(|i| i.id).collect::<Vec<_>>()})));
        }
        MeetingCommand::StartMinuting => {
            scheduled(before)?;
            let facts = state.facts.ok_or_else(|| StoreError::Backend("agenda facts not loaded".into()))?;
            // What each item shows is as it stands now, and stays so in the record.
            let current = agenda::current_data(facts);
            for item in &mut m.minutes.items {
                if let Some((_, data)) = current.iter().find(|((s, id), _)| *s == item.source && Some(*id) == item.source_id) {
                    item.data = data.clone();
                }
            }
            m.minutes.frozen_at = Some(now);
            // Everyone invited starts present; the minute-taker records apologies and absences.
            m.minutes.attendance = state
                .series
                .invited(state.members)
                .into_iter()
                .map(|mem| Attendance {
                    user_id: mem.user_id,
                    name: mem.name.clone(),
                    party_id: mem.party_id,
                    party_name: mem.organisation_name.clone(),
                    presence: Presence::Present,
                })
                .collect();
            m.line.status = MeetingStatus::Minuting;
            drafts.push(draft(EventKind::MeetingMinutingStarted, json!({"series": m.line.series_id, "items": m.minutes.items.len()})));
        }
        MeetingCommand::Attendance(entries) => {
            minutes_writable(before)?;
            for (user, presence) in &entries {
                let row = m.minutes.attendance.iter_mut().find(|a| a.user_id == *user);
                let row = row.ok_or_else(|| StoreError::invalid("attendance", "names someone not invited to this meeting"))?;
                row.presence = *presence;
            }
            let summary: Vec<_> =
                m.minutes.attendance.iter().map(|a| json!({"user": a.user_id, "presence": a.presence.as_str()})).collect();
            drafts.push(draft(EventKind::MeetingAttendanceRecorded, json!({"attendance": summary})));
        }
        MeetingCommand::MinuteItem { item_id, notes, closed } => {
            minutes_writable(before)?;
            let at = item_at(&m.minutes, item_id)?;
            let item = &mut m.minutes.items[at];
            item.notes = notes;
            item.outcome = if closed { ItemOutcome::Closed } else { ItemOutcome::Open };
            drafts.push(draft(EventKind::MeetingItemMinuted, json!({"item": item_id, "closed": closed})));
        }
        MeetingCommand::Decide { item_id, text, agreed, intervention_party } => {
            minutes_writable(before)?;
            item_at(&m.minutes, item_id)?;
            let mut agreements: Vec<Agreement> = Vec::new();
            for user in &agreed {
                let mem = state.members.iter().find(|mem| mem.user_id == *user);
                let mem = mem.ok_or_else(|| StoreError::invalid("agreed", "must be current members of the relationship"))?;
                if agreements.iter().any(|a| a.party_id == mem.party_id) {
                    return Err(StoreError::invalid("agreed", "names one member per party"));
                }
                agreements.push(Agreement { party_id: mem.party_id, user_id: mem.user_id, name: mem.name.clone() });
            }
            if let Some(party) = intervention_party
                && !state.parties.iter().any(|p| p.id == party)
            {
                return Err(StoreError::invalid("intervention_party", "is not a party of this relationship"));
            }
            let decision = Decision { id: id(), item_id, text, agreed: agreements, intervention_party, decided_by: actor, decided_at: now };
            intervention = intervention_party.map(|party_id| Intervention {
                decision_id: decision.id,
                meeting_id,
                party_id,
                text: decision.text.clone(),
                decided_at: now,
            });
            drafts.push(draft(
                EventKind::MeetingDecisionRecorded,
                json!({
                    "decision": decision.id, "item": item_id, "text": decision.text,
                    "agreed": decision.agreed.iter().map(|a| json!({"party": a.party_id, "user": a.user_id})).collect::<Vec<_>>(),
                    "intervention_party": intervention_party,
                }),
            ));
            m.minutes.decisions.push(decision);
        }
        MeetingCommand::RaiseAction { item_id, action: new } => {
            minutes_writable(before)?;
            item_at(&m.minutes, item_id)?;
            let owner = new.owner_id.map(|o| state.members.iter().find(|mem| mem.user_id == o));
            let found = ActionReferences {
                party: state.parties.iter().any(|p| p.id == new.party_id),
                owner: owner.is_none_or(|o| o.is_some()),
                source: SourceFound::MeetingItem,
            };
            let action_id = id();
            let source = crate::ActionSource { kind: crate::SourceKind::MeetingItem.as_str().into(), id: item_id, period: None };
            let new = NewAction { source: Some(source), ..new };
            drafts.push(create_action(&new, found, action_id, actor)?);
            m.minutes.actions.push(RaisedAction {
                action_id,
                item_id,
                title: new.title.clone(),
                owner_id: new.owner_id,
                owner_name: owner.flatten().map(|o| o.name.clone()).unwrap_or_default(),
                party_id: new.party_id,
                party_name: state.parties.iter().find(|p| p.id == new.party_id).map(|p| p.organisation_name.clone()).unwrap_or_default(),
                due_date: new.due_date,
            });
            action = Some((action_id, new));
        }
    }
    Ok(MeetingPlan { meeting: m, drafts, new_items, intervention, action })
}

#[cfg(test)]
mod tests {
    use super::agenda::tests::{fresh, meeting};
    use super::*;
    use accord_domain::membership::Role;
    use proptest::prelude::*;

    fn party(n: u128) -> Party {
        Party {
            id: Uuid::from_u128(n),
            relationship_id: Uuid::nil(),
            organisation_id: Uuid::from_u128(n),
            organisation_name: format!("Org {n}"),
            joined_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn member(user: u128, party: u128, role: Role) -> Member {
        Member {
            id: Uuid::from_u128(user + 1000),
            relationship_id: Uuid::nil(),
            party_id: Uuid::from_u128(party),
            organisation_name: format!("Org {party}"),
            user_id: Uuid::from_u128(user),
            name: format!("Person {user}"),
            email: String::new(),
            role,
            joined_at: Timestamp::UNIX_EPOCH,
            left_at: None,
        }
    }

    fn series(chairs: Vec<(u128, u128)>) -> SeriesInput {
        SeriesInput {
            relationship_id: Uuid::nil(),
            name: "JMT".into(),
            kind: ReviewKind::Jmt,
            cadence: Cadence::MONTHLY,
            chairs: chairs.into_iter().map(|(p, u)| (Uuid::from_u128(p), Uuid::from_u128(u))).collect(),
            invited_roles: vec![Role::Jmt],
            invitees: vec![],
        }
    }

    fn fields(e: StoreError) -> Vec<String> {
        match e {
            StoreError::Invalid(i) => i.0.into_iter().map(|f| format!("{}: {}", f.field, f.message)).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_series_needs_a_chair_of_each_party_from_that_party() {
        let parties = [party(1), party(2)];
        let members = [member(11, 1, Role::Ser), member(12, 2, Role::Ser), member(13, 2, Role::Observer)];
        let named = SeriesInput { invitees: vec![Uuid::from_u128(13)], ..series(vec![(1, 11), (2, 12)]) };
        let (s, draft) = save_series(&named, &parties, &members, None, Uuid::from_u128(5), Uuid::nil(), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(s.chairs[1].name, "Person 12");
        assert_eq!(draft.kind, EventKind::ReviewSeriesCreated);
        assert_eq!(draft.summary["cadence"], "1 months");
        // Invited: the JMT role (nobody here), the chairs and the one named.
        assert_eq!(s.invited(&members).len(), 3);
        let no_ser = [member(12, 2, Role::Jmt)];
        let refused = save_series(&series(vec![(1, 12)]), &parties, &no_ser, None, Uuid::nil(), Uuid::nil(), Timestamp::UNIX_EPOCH);
        assert_eq!(
            fields(refused.unwrap_err()),
            ["chairs: the chair for Org 1 must be one of its members", "chairs: needs a chair for Org 2, which has no SER"]
        );
        // A party that names no chair is chaired by its SER; a party named twice is refused.
        let (by_ser, _) = save_series(&series(vec![]), &parties, &members, None, Uuid::nil(), Uuid::nil(), Timestamp::UNIX_EPOCH).unwrap();
        assert_eq!(by_ser.chairs.iter().map(|c| c.user_id.as_u128()).collect::<Vec<_>>(), [11, 12]);
        let twice = save_series(&series(vec![(1, 11), (1, 11)]), &parties, &members, None, Uuid::nil(), Uuid::nil(), Timestamp::UNIX_EPOCH);
        assert_eq!(fields(twice.unwrap_err()), ["chairs: names two chairs for one party"]);
        let stale =
            save_series(&series(vec![(1, 11), (2, 12)]), &parties, &members, Some((&s, 3)), s.id, Uuid::nil(), Timestamp::UNIX_EPOCH);
        assert!(matches!(stale, Err(StoreError::Stale { current: 1 })));
    }

    fn state<'a>(m: &'a Meeting, s: &'a Series, members: &'a [Member], parties: &'a [Party]) -> MeetingState<'a> {
        MeetingState { meeting: m, series: s, members, parties, facts: None }
    }

    #[test]
    fn minutes_change_only_while_minuting_and_a_move_raises_the_sequence() {
        let parties = [party(1), party(2)];
        let members = [member(11, 1, Role::Ser), member(12, 2, Role::Ser)];
        let (s, _) =
            save_series(&series(vec![(1, 11), (2, 12)]), &parties, &members, None, Uuid::nil(), Uuid::nil(), Timestamp::UNIX_EPOCH)
                .unwrap();
        let mut m = meeting(vec![]);
        m.line.status = MeetingStatus::Scheduled;
        let ids = fresh;
        let now = Timestamp::UNIX_EPOCH;
        let note = MeetingCommand::MinuteItem { item_id: Uuid::nil(), notes: "x".into(), closed: true };
        assert_eq!(
            fields(change_meeting(state(&m, &s, &members, &parties), note.clone(), 1, ids, Uuid::nil(), now).unwrap_err()),
            ["status: minuting has not started: start the minutes first"]
        );
        let time = MeetingTime::parse("2026-04-01", "09:30", "Europe/Paris", "90", "UTC").unwrap();
        let moved = change_meeting(
            state(&m, &s, &members, &parties),
            MeetingCommand::Reschedule { time: time.clone(), place: Place::default() },
            1,
            ids,
            Uuid::nil(),
            now,
        )
        .unwrap();
        assert_eq!((moved.meeting.line.sequence, moved.meeting.version), (1, 2));
        assert_eq!(moved.drafts[0].kind, EventKind::MeetingMoved);
        let again = change_meeting(
            state(&moved.meeting, &s, &members, &parties),
            MeetingCommand::Reschedule { time, place: Place { place: "Room 4".into(), call_link: String::new() } },
            2,
            ids,
            Uuid::nil(),
            now,
        )
        .unwrap();
        assert_eq!(again.meeting.line.sequence, 1, "the same time: a new place only");
        let cancelled =
            change_meeting(state(&again.meeting, &s, &members, &parties), MeetingCommand::Cancel, 3, ids, Uuid::nil(), now).unwrap();
        assert_eq!((cancelled.meeting.line.status, cancelled.meeting.line.sequence), (MeetingStatus::Cancelled, 2));
        for status in [MeetingStatus::Signing, MeetingStatus::Sealed] {
            let mut sealed = meeting(vec![]);
            sealed.line.status = status;
            assert!(change_meeting(state(&sealed, &s, &members, &parties), note.clone(), 1, ids, Uuid::nil(), now).is_err());
        }
    }

    #[test]
    fn decisions_name_one_agreeing_member_per_party_and_interventions_a_party() {
        let parties = [party(1), party(2)];
        let members = [member(11, 1, Role::Ser), member(12, 2, Role::Ser), member(14, 2, Role::Jmt)];
        let (s, _) =
            save_series(&series(vec![(1, 11), (2, 12)]), &parties, &members, None, Uuid::nil(), Uuid::nil(), Timestamp::UNIX_EPOCH)
                .unwrap();
        let m = meeting(vec![AgendaItem {
            id: Uuid::from_u128(9),
            source: AgendaSource::Member,
            source_id: None,
            carried_from: None,
            title: "t".into(),
            data: json!({}),
            notes: String::new(),
            outcome: ItemOutcome::Open,
            added_by: None,
        }]);
        let decide = |agreed: Vec<u128>, party: Option<u128>| MeetingCommand::Decide {
            item_id: Uuid::from_u128(9),
            text: "Deliver your part".into(),
            agreed: agreed.into_iter().map(Uuid::from_u128).collect(),
            intervention_party: party.map(Uuid::from_u128),
        };
        let plan =
            change_meeting(state(&m, &s, &members, &parties), decide(vec![11, 12], Some(2)), 1, fresh, Uuid::nil(), Timestamp::UNIX_EPOCH)
                .unwrap();
        assert_eq!(plan.intervention.unwrap().party_id, Uuid::from_u128(2));
        assert_eq!(plan.meeting.minutes.decisions[0].agreed.len(), 2);
        let twice =
            change_meeting(state(&m, &s, &members, &parties), decide(vec![12, 14], None), 1, fresh, Uuid::nil(), Timestamp::UNIX_EPOCH);
        assert_eq!(fields(twice.unwrap_err()), ["agreed: names one member per party"]);
        let stranger =
            change_meeting(state(&m, &s, &members, &parties), decide(vec![11], Some(3)), 1, fresh, Uuid::nil(), Timestamp::UNIX_EPOCH);
        assert_eq!(fields(stranger.unwrap_err()), ["intervention_party: is not a party of this relationship"]);
    }

    proptest! {
        /// Moving items keeps every item once, whatever the moves.
        #[test]
        fn reordering_keeps_every_item_once(moves in prop::collection::vec((0usize..5, any::<bool>()), 0..12)) {
            let parties = [party(1)];
            let members = [member(11, 1, Role::Ser)];
            let (s, _) = save_series(&series(vec![(1, 11)]), &parties, &members, None, Uuid::nil(), Uuid::nil(), Timestamp::UNIX_EPOCH).unwrap();
            let mut m = meeting((0..5u128).map(|n| AgendaItem {
                id: Uuid::from_u128(n), source: AgendaSource::Member, source_id: None, carried_from: None, title: n.to_string(),
                data: json!({}), notes: String::new(), outcome: ItemOutcome::Open, added_by: None,
            }).collect());
            m.line.status = MeetingStatus::Scheduled;
            for (at, up) in moves {
                let item_id = m.minutes.items[at].id;
                // The first item cannot move up, the last down.
                let edge = if up { at == 0 } else { at == 4 };
                let command = MeetingCommand::MoveItem { item_id, up };
                match change_meeting(state(&m, &s, &members, &parties), command, m.version, fresh, Uuid::nil(), Timestamp::UNIX_EPOCH) {
                    Ok(plan) => {
                        prop_assert!(!edge);
                        m = plan.meeting;
                    }
                    Err(_) => prop_assert!(edge),
                }
            }
            let mut ids: Vec<u128> = m.minutes.items.iter().map(|i| i.id.as_u128()).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, vec![0, 1, 2, 3, 4]);
        }
    }
}
