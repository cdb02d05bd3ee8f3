//! Joint reviews, told to both backends: series and meetings, the agenda built from the data and
//! carried over, minutes, decisions, interventions and actions raised, all in the chain.

use crate::backends::{TestDb, on_both_backends};
use accord_domain::measure::{Cadence as KpiCadence, Direction, Thresholds};
use accord_domain::membership::Role;
use accord_domain::relationship::NewRelationship;
use accord_domain::review::{AgendaSource, Cadence, MeetingStatus, MeetingTime, Presence, ReviewKind};
use accord_domain::text::{Email, Name};
use accord_store::*;
use jiff::Timestamp;
use jiff::civil::date;
use std::cell::Cell;
use uuid::Uuid;

on_both_backends!(
    a_series_meets_prepares_minutes_and_carries_over,
    two_minute_takers_cannot_both_write_one_version,
    the_api_and_the_pages_prepare_and_minute_a_meeting,
);

struct Clock(Cell<i64>);

impl Clock {
    fn tick(&self) -> Timestamp {
        self.0.set(self.0.get() + 1);
        Timestamp::new(1_775_000_000 + self.0.get(), 123_456_789).unwrap()
    }
}

/// Northwind (Ann, SER; Bob, JMT) and Harbour Works (Cat, SER; Dan, observer) in one relationship,
/// and Otto in another.
struct Setup {
    clock: Clock,
    r: Uuid,
    other: Uuid,
    north: Party,
    harbour: Party,
    ann: Uuid,
    bob: Uuid,
    cat: Uuid,
    dan: Uuid,
}

async fn setup(store: &dyn Store) -> Setup {
    let clock = Clock(Cell::new(0));
    let org = |n: &str| Name::parse(n).unwrap();
    let northwind = store.create_organisation(org("Northwind"), None, clock.tick()).await.unwrap();
    let harbour = store.create_organisation(org("Harbour Works"), None, clock.tick()).await.unwrap();
    let mut ids = Vec::new();
    for (email, name, o) in [
        ("ann@northwind.example", "Ann Adams", &northwind),
        ("bob@northwind.example", "Bob Brown", &northwind),
        ("cat@harbour.example", "Cat Cole", &harbour),
        ("dan@harbour.example", "Dan Dale", &harbour),
    ] {
        let user = NewUser {
            email: Email::parse(email).unwrap(),
            name: org(name),
            organisation_id: Some(o.id),
            is_admin: false,
            password_hash: None,
        };
        ids.push(store.create_user(user, None, clock.tick()).await.unwrap().id);
    }
    let relationship = |title: &str| NewRelationship {
        name: org(title),
        purpose: "Run the port".into(),
        start_date: date(2026, 1, 5),
        time_zone: "Europe/London".into(),
        parties: vec![northwind.id, harbour.id],
    };
    let r = store.create_relationship(relationship("Port Services"), None, clock.tick()).await.unwrap().id;
    let other = store.create_relationship(relationship("Dredging"), None, clock.tick()).await.unwrap().id;
    for (user, role) in [(ids[0], Role::Ser), (ids[1], Role::Jmt), (ids[2], Role::Ser), (ids[3], Role::Observer)] {
        store.add_member(r, user, role, None, clock.tick()).await.unwrap();
    }
    let [north, harbour_party] = <[Party; 2]>::try_from(store.parties(r).await.unwrap()).unwrap();
    Setup { clock, r, other, north, harbour: harbour_party, ann: ids[0], bob: ids[1], cat: ids[2], dan: ids[3] }
}

fn jmt(s: &Setup) -> SeriesInput {
    SeriesInput {
        relationship_id: s.r,
        name: "Joint management team".into(),
        kind: ReviewKind::Jmt,
        cadence: Cadence::MONTHLY,
        chairs: vec![(s.north.id, s.ann), (s.harbour.id, s.cat)],
        invited_roles: vec![Role::Jmt],
        invitees: vec![s.dan],
    }
}

fn at(day: &str, time: &str) -> MeetingTime {
    MeetingTime::parse(day, time, "", "60", "Europe/London").unwrap()
}

#[track_caller]
fn refused<T: std::fmt::Debug>(result: StoreResult<T>) -> String {
    match result {
        Err(StoreError::Invalid(i)) => i.0.iter().map(|f| f.field.clone()).collect::<Vec<_>>().join(","),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn kinds_after(store: &dyn Store, r: Uuid, position: i64) -> Vec<String> {
    store.audit_events(r, position, 500).await.unwrap().into_iter().map(|e| e.kind).collect()
}

async fn head(store: &dyn Store, r: Uuid) -> i64 {
    store.chain_head(r).await.unwrap().map_or(0, |h| h.position)
}

async fn a_series_meets_prepares_minutes_and_carries_over(db: TestDb) {
    let store = db.store.as_ref();
    let s = setup(store).await;
    let (r, clock) = (s.r, &s.clock);
    let start = head(store, r).await;

    // A series needs a chair of each party, from that party; names are unique.
    let twice = SeriesInput { chairs: vec![(s.north.id, s.ann), (s.north.id, s.bob)], ..jmt(&s) };
    assert_eq!(refused(store.create_series(twice, s.ann, clock.tick()).await), "chairs");
    let wrong_party = SeriesInput { chairs: vec![(s.north.id, s.cat), (s.harbour.id, s.cat)], ..jmt(&s) };
    assert_eq!(refused(store.create_series(wrong_party, s.ann, clock.tick()).await), "chairs");
    let series = store.create_series(jmt(&s), s.ann, clock.tick()).await.unwrap();
    assert_eq!((series.version, series.chairs[1].name.as_str(), series.invitees[0].name.as_str()), (1, "Cat Cole", "Dan Dale"));
    assert_eq!(store.series(r, series.id).await.unwrap(), series);
    assert_eq!(refused(store.create_series(jmt(&s), s.ann, clock.tick()).await), "name");
    let quarterly = SeriesInput { cadence: Cadence::QUARTERLY, ..jmt(&s) };
    let series = store.update_series(r, series.id, quarterly.clone(), 1, s.bob, clock.tick()).await.unwrap();
    assert_eq!((series.version, series.cadence), (2, Cadence::QUARTERLY));
    assert!(matches!(
        store.update_series(r, series.id, quarterly.clone(), 1, s.bob, clock.tick()).await,
        Err(StoreError::Stale { current: 2 })
    ));
    assert!(matches!(store.series(s.other, series.id).await, Err(StoreError::NotFound(_))));
    let series = store.update_series(r, series.id, jmt(&s), 2, s.bob, clock.tick()).await.unwrap();

    // The data an agenda is built from: a red KPI, an obligation at risk, an open issue, an
    // overdue action, an objective due its review.
    let kpi = NewKpi {
        relationship_id: r,
        name: "Berth on time".into(),
        definition: "Ships berthed within their window".into(),
        unit: "%".into(),
        cadence: KpiCadence::Monthly,
        party_id: Some(s.harbour.id),
        reporter_id: None,
        objectives: vec![],
        thresholds: Thresholds::new(Direction::Higher, 95.0, 90.0, 85.0).unwrap(),
        effective_from: date(2026, 1, 1),
    };
    let kpi = store.create_kpi(kpi, s.ann, clock.tick()).await.unwrap();
    store
        .record_measurement(
            r,
            MeasurementInput { kpi_id: kpi.id, period_start: date(2026, 2, 1), value: 91.0, comment: String::new() },
            s.ann,
            clock.tick(),
        )
        .await
        .unwrap();
    store
        .record_measurement(
            r,
            MeasurementInput { kpi_id: kpi.id, period_start: date(2026, 3, 1), value: 80.0, comment: String::new() },
            s.ann,
            clock.tick(),
        )
        .await
        .unwrap();
    let obligation = NewObligation {
        relationship_id: r,
        party_id: s.north.id,
        title: "Dredge berth 4".into(),
        description: String::new(),
        recurrence: "once".into(),
        due_date: date(2026, 3, 1),
    };
    let obligation = store.create_obligation(obligation, s.ann, clock.tick()).await.unwrap();
    let issue = NewIssue {
        relationship_id: r,
        title: "Pilot boats late".into(),
        description: "Three times in March".into(),
        category: "service".into(),
        severity: "high".into(),
        links: vec![],
    };
    let issue = store.create_issue(issue, s.cat, clock.tick()).await.unwrap();
    let overdue = NewAction {
        relationship_id: r,
        title: "Survey the quay".into(),
        description: String::new(),
        owner_id: Some(s.bob),
        party_id: s.north.id,
        due_date: date(2026, 3, 20),
        source: None,
    };
    let overdue = store.create_action(overdue, s.ann, clock.tick()).await.unwrap();

    // A meeting, scheduled in London's summer time, moved, prepared.
    let first = NewMeeting { relationship_id: r, series_id: series.id, time: at("2026-04-02", "10:00"), place: Place::default() };
    let first = store.schedule_meeting(first, s.ann, clock.tick()).await.unwrap();
    assert_eq!(
        (first.line.status, first.line.sequence, first.line.starts_at.to_string().as_str()),
        (MeetingStatus::Scheduled, 0, "2026-04-02T09:00:00Z")
    );
    let lines = store.series_list(r).await.unwrap();
    assert_eq!((lines.len(), lines[0].next.as_ref().map(|n| n.id), lines[0].last_held), (1, Some(first.line.id), None));
    let room = Place { place: "Harbour office".into(), call_link: "https://meet.example/jmt".into() };
    let first = store
        .change_meeting(
            r,
            first.line.id,
            MeetingCommand::Reschedule { time: at("2026-04-03", "10:00"), place: room.clone() },
            1,
            s.bob,
            clock.tick(),
        )
        .await
        .unwrap();
    assert_eq!((first.line.sequence, first.version, first.place.clone()), (1, 2, room));
    let note = MeetingCommand::MinuteItem { item_id: Uuid::nil(), notes: "early".into(), closed: false };
    assert_eq!(refused(store.change_meeting(r, first.line.id, note, 2, s.bob, clock.tick()).await), "status");
    let first = store.change_meeting(r, first.line.id, MeetingCommand::Prepare, 2, s.bob, clock.tick()).await.unwrap();
    let sources: Vec<(AgendaSource, Option<Uuid>)> = first.minutes.items.iter().map(|i| (i.source, i.source_id)).collect();
    assert_eq!(
        sources,
        [
            (AgendaSource::Action, Some(overdue.id)),
            (AgendaSource::Kpi, Some(kpi.id)),
            (AgendaSource::Obligation, Some(obligation.id)),
            (AgendaSource::Issue, Some(issue.id)),
        ]
    );
    assert_eq!(
        (first.minutes.items[1].data["value"].as_f64(), first.minutes.items[1].data["trend"].as_str()),
        (Some(80.0), Some("worsening"))
    );
    let first = store
        .change_meeting(r, first.line.id, MeetingCommand::AddItem { title: "Winter timetable".into() }, 3, s.cat, clock.tick())
        .await
        .unwrap();
    let added = first.minutes.items[4].id;
    let first = store
        .change_meeting(r, first.line.id, MeetingCommand::MoveItem { item_id: added, up: true }, 4, s.cat, clock.tick())
        .await
        .unwrap();
    assert_eq!(first.minutes.items[3].id, added);
    assert_eq!(
        refused(
            store
                .change_meeting(
                    r,
                    first.line.id,
                    MeetingCommand::MoveItem { item_id: first.minutes.items[0].id, up: true },
                    5,
                    s.cat,
                    clock.tick()
                )
                .await
        ),
        "item"
    );

    // The KPI improves before the meeting: minuting freezes what it shows then, and after.
    store
        .record_measurement(
            r,
            MeasurementInput { kpi_id: kpi.id, period_start: date(2026, 3, 1), value: 88.0, comment: "corrected".into() },
            s.ann,
            clock.tick(),
        )
        .await
        .unwrap();
    let first = store.change_meeting(r, first.line.id, MeetingCommand::StartMinuting, 5, s.bob, clock.tick()).await.unwrap();
    assert_eq!((first.line.status, first.minutes.items[1].data["value"].as_f64()), (MeetingStatus::Minuting, Some(88.0)));
    let invited: Vec<(&str, Presence)> = first.minutes.attendance.iter().map(|a| (a.name.as_str(), a.presence)).collect();
    assert_eq!(
        invited,
        [
            ("Ann Adams", Presence::Present),
            ("Bob Brown", Presence::Present),
            ("Cat Cole", Presence::Present),
            ("Dan Dale", Presence::Present)
        ]
    );
    store
        .record_measurement(
            r,
            MeasurementInput { kpi_id: kpi.id, period_start: date(2026, 3, 1), value: 99.0, comment: "again".into() },
            s.ann,
            clock.tick(),
        )
        .await
        .unwrap();
    assert_eq!(store.meeting(r, first.line.id).await.unwrap().minutes.items[1].data["value"].as_f64(), Some(88.0));

    // Minutes: attendance, notes (the KPI closed, the rest left open), a decision with an
    // intervention for Northwind, an action raised from the obligation's item.
    let v = first.version;
    let first = store
        .change_meeting(r, first.line.id, MeetingCommand::Attendance(vec![(s.dan, Presence::Apologies)]), v, s.bob, clock.tick())
        .await
        .unwrap();
    assert_eq!(
        refused(
            store
                .change_meeting(
                    r,
                    first.line.id,
                    MeetingCommand::Attendance(vec![(Uuid::nil(), Presence::Absent)]),
                    v + 1,
                    s.bob,
                    clock.tick()
                )
                .await
        ),
        "attendance"
    );
    let kpi_item = first.minutes.items[1].id;
    let obligation_item = first.minutes.items[2].id;
    let first = store
        .change_meeting(
            r,
            first.line.id,
            MeetingCommand::MinuteItem { item_id: kpi_item, notes: "Recovered in March".into(), closed: true },
            v + 1,
            s.bob,
            clock.tick(),
        )
        .await
        .unwrap();
    let decide = MeetingCommand::Decide {
        item_id: obligation_item,
        text: "Northwind delivers the dredging by May".into(),
        agreed: vec![s.ann, s.cat],
        intervention_party: Some(s.north.id),
    };
    let first = store.change_meeting(r, first.line.id, decide, v + 2, s.ann, clock.tick()).await.unwrap();
    let raise = |owner: Option<Uuid>| MeetingCommand::RaiseAction {
        item_id: obligation_item,
        action: NewAction {
            relationship_id: r,
            title: "Book the dredger".into(),
            description: String::new(),
            owner_id: owner,
            party_id: s.north.id,
            due_date: date(2026, 4, 30),
            source: None,
        },
    };
    let before = head(store, r).await;
    let other_user = Uuid::from_u128(42);
    assert_eq!(refused(store.change_meeting(r, first.line.id, raise(Some(other_user)), v + 3, s.ann, clock.tick()).await), "owner");
    assert_eq!(head(store, r).await, before, "a refused change writes nothing");
    let first = store.change_meeting(r, first.line.id, raise(Some(s.bob)), v + 3, s.ann, clock.tick()).await.unwrap();
    let raised = &first.minutes.actions[0];
    let action = store.action(r, raised.action_id).await.unwrap();
    assert_eq!(
        (action.title.as_str(), action.owner_name.as_str(), action.source.clone()),
        ("Book the dredger", "Bob Brown", Some(ActionSource { kind: "review".into(), id: obligation_item, period: None }))
    );
    // The action log checks an agenda item as a source too.
    let from_item =
        NewAction { source: Some(ActionSource { kind: "review".into(), id: obligation_item, period: None }), ..overdue_action(&s) };
    store.create_action(from_item, s.ann, clock.tick()).await.unwrap();
    let from_nothing = NewAction { source: Some(ActionSource { kind: "review".into(), id: kpi.id, period: None }), ..overdue_action(&s) };
    assert_eq!(refused(store.create_action(from_nothing, s.ann, clock.tick()).await), "source_id");

    let interventions = store.interventions_for_party(r, s.north.id, 10).await.unwrap();
    assert_eq!((interventions.len(), interventions[0].text.as_str()), (1, "Northwind delivers the dredging by May"));
    assert!(store.interventions_for_party(r, s.harbour.id, 10).await.unwrap().is_empty());
    assert!(store.interventions_for_party(s.other, s.north.id, 10).await.unwrap().is_empty());

    // The next meeting carries over what was left open, and the action raised (still open).
    let lines = store.series_list(r).await.unwrap();
    assert_eq!((lines[0].next.as_ref(), lines[0].last_held), (None, Some(first.line.starts_at)));
    let second = NewMeeting { relationship_id: r, series_id: series.id, time: at("2026-05-07", "10:00"), place: Place::default() };
    let second = store.schedule_meeting(second, s.ann, clock.tick()).await.unwrap();
    let second = store.change_meeting(r, second.line.id, MeetingCommand::Prepare, 1, s.bob, clock.tick()).await.unwrap();
    let carried: Vec<Option<Uuid>> = second.minutes.items.iter().map(|i| i.carried_from).collect();
    let open_before: Vec<Option<Uuid>> =
        first.minutes.items.iter().filter(|i| i.outcome == ItemOutcome::Open).map(|i| Some(i.id)).collect();
    assert_eq!(&carried[..open_before.len()], &open_before[..], "every open item, in order");
    assert!(!carried.contains(&Some(kpi_item)), "the closed item stays closed");
    assert!(second.minutes.items.iter().any(|i| i.source == AgendaSource::Action && i.source_id == Some(raised.action_id)));

    // A cancelled meeting raises its sequence and takes no more changes.
    let cancelled = store.change_meeting(r, second.line.id, MeetingCommand::Cancel, 2, s.ann, clock.tick()).await.unwrap();
    assert_eq!((cancelled.line.status, cancelled.line.sequence), (MeetingStatus::Cancelled, 1));
    assert_eq!(refused(store.change_meeting(r, second.line.id, MeetingCommand::Prepare, 3, s.ann, clock.tick()).await), "status");

    // The record: what the signatories will sign, from the meeting as minuted.
    let content = reviews::record::record(&first, &series);
    assert_eq!(content["agenda"][1]["data"]["value"], serde_json::json!(88.0));
    assert_eq!(content["agenda"][2]["decisions"][0]["agreed"].as_array().map(|a| a.len()), Some(2));
    assert_eq!(content["attendance"][3]["presence"], "apologies");

    let meetings = store.meetings(r, series.id, None, 1).await.unwrap();
    let rest = store.meetings(r, series.id, Some((meetings[0].starts_at, meetings[0].id)), 10).await.unwrap();
    assert_eq!((meetings[0].id, rest.iter().map(|m| m.id).collect::<Vec<_>>()), (second.line.id, vec![first.line.id]));
    assert!(matches!(store.meeting(s.other, first.line.id).await, Err(StoreError::NotFound(_))));
    let kinds = kinds_after(store, r, start).await;
    for kind in [
        "review_series.created",
        "review_series.updated",
        "meeting.scheduled",
        "meeting.moved",
        "meeting.prepared",
        "meeting.item_added",
        "meeting.items_reordered",
        "meeting.minuting_started",
        "meeting.attendance_recorded",
        "meeting.item_minuted",
        "meeting.decision_recorded",
        "action.created",
        "meeting.cancelled",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

fn overdue_action(s: &Setup) -> NewAction {
    NewAction {
        relationship_id: s.r,
        title: "Follow up".into(),
        description: String::new(),
        owner_id: None,
        party_id: s.harbour.id,
        due_date: date(2026, 6, 1),
        source: None,
    }
}

/// Two servers minuting the same version of a meeting: one writes, the other is told it changed.
async fn two_minute_takers_cannot_both_write_one_version(db: TestDb) {
    let store = db.store.clone();
    let second = db.second_store().await;
    let s = setup(store.as_ref()).await;
    let series = store.create_series(jmt(&s), s.ann, s.clock.tick()).await.unwrap();
    let m = NewMeeting { relationship_id: s.r, series_id: series.id, time: at("2026-04-02", "10:00"), place: Place::default() };
    let m = store.schedule_meeting(m, s.ann, s.clock.tick()).await.unwrap();
    let (now_a, now_b) = (s.clock.tick(), s.clock.tick());
    let title = |t: &str| MeetingCommand::AddItem { title: t.into() };
    let (a, b) = tokio::join!(
        store.change_meeting(s.r, m.line.id, title("one"), 1, s.bob, now_a),
        second.change_meeting(s.r, m.line.id, title("two"), 1, s.cat, now_b)
    );
    assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
    assert!(matches!(a.err().or(b.err()), Some(StoreError::Stale { current: 2 })));
    assert_eq!(store.meeting(s.r, m.line.id).await.unwrap().minutes.items.len(), 1);
}

/// The API and the pages over the real server: who may do what, refusals naming their fields,
/// stale versions, and a meeting prepared, minuted and read back as its record.
async fn the_api_and_the_pages_prepare_and_minute_a_meeting(db: TestDb) {
    use crate::app::{TEST_PASSWORD, spawn_app};
    use crate::people::Browser;
    use reqwest::{Method, StatusCode};
    use serde_json::{Value, json};

    let app = spawn_app(db).await;
    let (a, b, d) = (app.organisation("Northshore").await, app.organisation("Keystone").await, app.organisation("Distant").await);
    let (ser_a_user, ser_a) = app.user("ser@northshore.example", &a, false).await;
    let (jmt_a_user, jmt_a) = app.user("jmt@northshore.example", &a, false).await;
    let (observer_user, observer) = app.user("observer@northshore.example", &a, false).await;
    let (ser_b_user, _) = app.user("ser@keystone.example", &b, false).await;
    let (outsider_user, outsider) = app.user("someone@distant.example", &d, false).await;
    let harbour = app.relationship("Harbour", &[&a, &b]).await;
    let elsewhere = app.relationship("Elsewhere", &[&b, &d]).await;
    for (user, role) in [(&ser_a_user, Role::Ser), (&jmt_a_user, Role::Jmt), (&observer_user, Role::Observer), (&ser_b_user, Role::Ser)] {
        app.member(&harbour, user, role).await;
    }
    app.member(&elsewhere, &outsider_user, Role::Ser).await;
    let base = format!("/api/v1/relationships/{}", harbour.id);
    let fields = |body: &Value| -> Vec<String> {
        body["fields"].as_array().into_iter().flatten().map(|f| f["field"].as_str().unwrap_or("").to_owned()).collect()
    };

    // Series: managers set them up; a chair of each party, or the field says why.
    let series = json!({"name": "JMT", "kind": "jmt", "cadence": "monthly", "chairs": [ser_a_user.id, ser_b_user.id], "invited_roles": ["jmt", "ser"]});
    let (status, _) = app.call(Method::POST, &format!("{base}/reviews"), Some(&observer), Some(series.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let one_chair = json!({"name": "JMT", "kind": "jmt", "cadence": "fortnightly", "chairs": [ser_a_user.id]});
    let (status, body) = app.call(Method::POST, &format!("{base}/reviews"), Some(&jmt_a), Some(one_chair)).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["cadence".to_owned()]));
    let (status, created) = app.call(Method::POST, &format!("{base}/reviews"), Some(&jmt_a), Some(series)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let series_id = created["id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.call(Method::GET, &format!("/api/v1/relationships/{}/reviews/{series_id}", elsewhere.id), Some(&outsider), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // A meeting in the relationship's zone; a bad time and zone are named.
    let meetings = format!("{base}/reviews/{series_id}/meetings");
    let (status, body) = app
        .call(Method::POST, &meetings, Some(&jmt_a), Some(json!({"date": "2026-04-01", "time": "25:00", "time_zone": "Mars/Base"})))
        .await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["time".to_owned(), "time_zone".to_owned()]));
    let (status, meeting) = app.call(Method::POST, &meetings, Some(&jmt_a), Some(json!({"date": "2026-04-01", "time": "10:00"}))).await;
    assert_eq!((status, meeting["starts_at"].as_str()), (StatusCode::CREATED, Some("2026-04-01T09:00:00Z")), "{meeting}");
    let meeting_id = meeting["id"].as_str().unwrap().to_owned();
    let changes = format!("{base}/meetings/{meeting_id}/changes");
    let change = |body: Value| app.call(Method::POST, &changes, Some(&jmt_a), Some(body));
    let (status, _) = app.call(Method::POST, &changes, Some(&observer), Some(json!({"change": "prepare", "version": 1}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, m) = change(json!({"change": "add_item", "version": 1, "title": "Winter timetable"})).await;
    assert_eq!((status, m["version"].as_i64()), (StatusCode::OK, Some(2)));
    let (status, _) = change(json!({"change": "prepare", "version": 1})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = change(json!({"change": "minute_item", "version": 2, "item": m["minutes"]["items"][0]["id"], "notes": "x"})).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["status".to_owned()]));
    let (status, body) = change(json!({"change": "sign", "version": 2})).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["change".to_owned()]));
    let (status, m) = change(json!({"change": "start_minutes", "version": 2})).await;
    assert_eq!(
        (status, m["status"].as_str(), m["minutes"]["attendance"].as_array().map(|a| a.len())),
        (StatusCode::OK, Some("minuting"), Some(3))
    );
    let item = m["minutes"]["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) =
        change(json!({"change": "minute_item", "version": 3, "item": item, "notes": "Agreed to trial it", "closed": true})).await;
    assert_eq!(status, StatusCode::OK);
    let parties = app.store().parties(harbour.id).await.unwrap();
    let decide = json!({"change": "decide", "version": 4, "item": item, "text": "Keystone delivers the winter plan", "agreed": [ser_a_user.id, ser_b_user.id], "intervention_party": parties[1].id});
    let (status, _) = change(decide).await;
    assert_eq!(status, StatusCode::OK);
    let raise = json!({"change": "raise_action", "version": 5, "item": item, "title": "Draft the winter plan", "owner": "ser@keystone.example", "due_date": "2026-04-30"});
    let (status, m) = change(raise).await;
    assert_eq!(
        (status, m["minutes"]["actions"][0]["party_id"].as_str()),
        (StatusCode::OK, Some(parties[1].id.to_string().as_str())),
        "{m}"
    );
    let (status, record) = app.call(Method::GET, &format!("{base}/meetings/{meeting_id}/record"), Some(&observer), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["agenda"][0]["notes"], "Agreed to trial it");
    assert_eq!(record["agenda"][0]["decisions"][0]["agreed"].as_array().map(|a| a.len()), Some(2));
    assert_eq!(record["agenda"][0]["actions"][0]["title"], "Draft the winter plan");
    let (status, interventions) =
        app.call(Method::GET, &format!("{base}/parties/{}/interventions", parties[1].id), Some(&ser_a), None).await;
    assert_eq!((status, interventions[0]["text"].as_str()), (StatusCode::OK, Some("Keystone delivers the winter plan")));
    let (status, _) = app.call(Method::GET, &format!("{base}/parties/{}/interventions", Uuid::nil()), Some(&ser_a), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The pages: the list, the meeting, a refused form that keeps what was typed, the overview.
    let mut browser = Browser::new(&app);
    browser.sign_in("jmt@northshore.example", TEST_PASSWORD).await;
    let r = harbour.id;
    let list = browser.get(&format!("/relationships/{r}/reviews")).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("JMT") && list.body.contains("none scheduled"), "{}", list.body);
    let page = browser.get(&format!("/relationships/{r}/meetings/{meeting_id}")).await;
    assert!(page.body.contains("Winter timetable") && page.body.contains("Keystone delivers the winter plan"), "{}", page.body);
    let refused = browser
        .post(&format!("/relationships/{r}/meetings/{meeting_id}"), &[("change", "add_item"), ("version", "7"), ("title", "   ")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("Title"), "{}", refused.body);
    let added = browser
        .post(
            &format!("/relationships/{r}/meetings/{meeting_id}"),
            &[("change", "add_item"), ("version", "6"), ("title", "Any other business")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let form = browser
        .post(
            &format!("/relationships/{r}/reviews/{series_id}/meetings"),
            &[("date", "2026-13-01"), ("time", "10:00"), ("place", "Room 4")],
        )
        .await;
    assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(form.body.contains("value=\"Room 4\"") && form.body.contains("m-date-error"), "{}", form.body);
    let overview = browser.get(&format!("/relationships/{r}")).await;
    assert!(overview.body.contains("id=\"reviews\"") && overview.body.contains(&format!("/reviews/{series_id}")), "{}", overview.body);
}
