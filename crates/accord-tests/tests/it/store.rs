//! The store's story, told to both backends: what one accepts, refuses and records, so must the other.

use crate::backends::{TestDb, on_both_backends};
use accord_domain::audit::{ChainHead, ChainVerifier, Event};
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, Status};
use accord_domain::text::{Email, Name};
use accord_store::*;
use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::cell::Cell;
use std::sync::Arc;
use uuid::Uuid;

on_both_backends!(
    story,
    audit_events_cannot_be_changed_or_deleted,
    a_failed_write_leaves_nothing_behind,
    concurrent_writers_cannot_both_pass_a_rule,
    sessions,
    sign_in_failures_are_counted_in_a_window,
    passwords_and_reset_links,
    invitations,
    a_failed_acceptance_leaves_nothing_behind,
    concurrent_account_changes_happen_once,
);

/// The test's clock: each tick a second later, with nanoseconds that storage must truncate.
struct Clock(Cell<i64>);

impl Clock {
    fn new() -> Clock {
        Clock(Cell::new(0))
    }

    fn tick(&self) -> Timestamp {
        self.0.set(self.0.get() + 1);
        Timestamp::new(1_800_000_000 + self.0.get(), 123_456_789).unwrap()
    }
}

/// `t` moved by `seconds`.
fn at(t: Timestamp, seconds: i64) -> Timestamp {
    t + SignedDuration::from_secs(seconds)
}

/// A time as stored: to the microsecond.
fn us(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn new_user(email: &str, full_name: &str, organisation: &Organisation) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        name: name(full_name),
        organisation_id: organisation.id,
        is_admin: false,
        password_hash: None,
    }
}

fn new_relationship(title: &str, parties: &[&Organisation]) -> NewRelationship {
    NewRelationship {
        name: name(title),
        purpose: "Build and run the wind farm".into(),
        start_date: date(2026, 1, 5),
        time_zone: "Europe/London".into(),
        parties: parties.iter().map(|o| o.id).collect(),
    }
}

/// The field an `Invalid` error names; panics on any other error.
#[track_caller]
fn refused_field<T: std::fmt::Debug>(result: StoreResult<T>) -> String {
    match result {
        Err(StoreError::Invalid(invalid)) => {
            assert_eq!(invalid.0.len(), 1, "{invalid:?}");
            invalid.0[0].field.clone()
        }
        other => panic!("expected a field to be refused, got {other:?}"),
    }
}

#[track_caller]
fn not_found<T: std::fmt::Debug>(result: StoreResult<T>) -> &'static str {
    match result {
        Err(StoreError::NotFound(what)) => what,
        other => panic!("expected not found, got {other:?}"),
    }
}

/// Every event of `chain`, read a few at a time, checked link by link; the head must match.
async fn verified_events(store: &dyn Store, chain: Uuid) -> Vec<Event> {
    let mut verifier = ChainVerifier::new();
    let mut events = Vec::new();
    loop {
        let after = events.last().map_or(0, |e: &Event| e.position);
        let batch = store.audit_events(chain, after, 3).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for event in &batch {
            verifier.push(event).unwrap();
        }
        events.extend(batch);
    }
    let head: Option<ChainHead> = verifier.finish().unwrap();
    assert_eq!(head, store.chain_head(chain).await.unwrap());
    events
}

fn kinds(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

async fn story(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), None);
    store.ping().await.unwrap();
    store.migrate().await.expect("migrating again changes nothing");

    // Organisations: names are unique whatever their case.
    let mut organisations = Vec::new();
    for title in ["Northwind", "Harbour Works", "Tidal Energy", "Outsider Ltd"] {
        let o = store.create_organisation(name(title), None, clock.tick()).await.unwrap();
        assert_eq!(store.organisation(o.id).await.unwrap(), o);
        organisations.push(o);
    }
    let [northwind, harbour, tidal, outsider] = &organisations[..] else { unreachable!() };
    assert_eq!(refused_field(store.create_organisation(name("NORTHWIND"), None, clock.tick()).await), "name");
    assert_eq!(store.find_organisation("northWIND ").await.unwrap(), *northwind);
    assert_eq!(store.find_organisation(&harbour.id.to_string()).await.unwrap(), *harbour);
    assert_eq!(not_found(store.find_organisation("Nobody").await), "organisation");
    assert_eq!(not_found(store.organisation(Uuid::nil()).await), "organisation");

    // Accounts: one per e-mail address.
    let mut ann = new_user("ann@northwind.example", "Ann Adams", northwind);
    ann.is_admin = true;
    ann.password_hash = Some("$argon2id$v=19$not-a-real-hash".into());
    let ann = store.create_user(ann, None, clock.tick()).await.unwrap();
    let actor = Some(ann.id);
    let mut users = vec![ann.clone()];
    for (email, full_name, organisation) in [
        ("bob@northwind.example", "Bob Brown", northwind),
        ("cat@harbour.example", "Cat Cole", harbour),
        ("dan@harbour.example", "Dan Dale", harbour),
        ("eve@tidal.example", "Eve Evans", tidal),
        ("fay@northwind.example", "Fay Fox", northwind),
        ("out@outsider.example", "Otto Out", outsider),
    ] {
        let user = store.create_user(new_user(email, full_name, organisation), actor, clock.tick()).await.unwrap();
        assert_eq!(user.organisation_name, organisation.name);
        users.push(user);
    }
    let [_, bob, cat, dan, eve, fay, out] = &users[..] else { unreachable!() };
    assert!(ann.is_admin && !ann.disabled && !bob.is_admin);
    assert_eq!(store.user(ann.id).await.unwrap(), ann);
    assert_eq!(
        refused_field(store.create_user(new_user("ANN@northwind.example", "Another Ann", tidal), actor, clock.tick()).await),
        "email"
    );
    let email = Email::parse("Bob@Northwind.example").unwrap();
    assert_eq!(store.user_by_email(&email).await.unwrap(), *bob);
    assert_eq!(store.password_hash(ann.id).await.unwrap().as_deref(), Some("$argon2id$v=19$not-a-real-hash"));
    assert_eq!(store.password_hash(bob.id).await.unwrap(), None);
    assert_eq!(not_found(store.user(Uuid::nil()).await), "user");

    // A relationship of three parties, and a second one for listing.
    let relationship =
        store.create_relationship(new_relationship("North Sea Wind", &[northwind, harbour, tidal]), actor, clock.tick()).await.unwrap();
    let r = relationship.id;
    assert_eq!((relationship.version, relationship.status), (1, Status::Active));
    assert_eq!(relationship.start_date, date(2026, 1, 5));
    assert_eq!(relationship.time_zone, "Europe/London");
    assert_eq!(store.relationship(r).await.unwrap(), relationship);
    assert_eq!(store.find_relationship("north sea WIND").await.unwrap(), relationship);
    let parties = store.parties(r).await.unwrap();
    let party_names: Vec<&str> = parties.iter().map(|p| p.organisation_name.as_str()).collect();
    assert_eq!(party_names, ["Northwind", "Harbour Works", "Tidal Energy"]);
    assert_eq!(
        refused_field(store.create_relationship(new_relationship("NORTH SEA WIND", &[northwind, tidal]), actor, clock.tick()).await),
        "name"
    );
    let dredging = store.create_relationship(new_relationship("Harbour Dredging", &[harbour, tidal]), actor, clock.tick()).await.unwrap();

    // Members: one SER per party, and only users of a party's organisation.
    for (user, role) in [(&ann, Role::Ser), (bob, Role::Jmt), (cat, Role::Ser), (dan, Role::Contributor), (eve, Role::Observer)] {
        let member = store.add_member(r, user.id, role, actor, clock.tick()).await.unwrap();
        assert_eq!((member.user_id, member.role, member.left_at), (user.id, role, None));
    }
    assert_eq!(refused_field(store.add_member(r, fay.id, Role::Ser, actor, clock.tick()).await), "role");
    assert_eq!(refused_field(store.add_member(r, out.id, Role::Jmt, actor, clock.tick()).await), "user");
    assert_eq!(refused_field(store.add_member(r, bob.id, Role::Observer, actor, clock.tick()).await), "user");
    store.add_member(dredging.id, cat.id, Role::Ser, actor, clock.tick()).await.unwrap();
    let members = |list: Vec<Member>| -> Vec<(String, Role)> { list.into_iter().map(|m| (m.name, m.role)).collect() };
    let expected = |list: &[(&str, Role)]| -> Vec<(String, Role)> { list.iter().map(|(n, r)| (n.to_string(), *r)).collect() };
    assert_eq!(
        members(store.members(r).await.unwrap()),
        expected(&[
            ("Ann Adams", Role::Ser),
            ("Bob Brown", Role::Jmt),
            ("Cat Cole", Role::Ser),
            ("Dan Dale", Role::Contributor),
            ("Eve Evans", Role::Observer),
        ])
    );

    // A role change ends one period and starts the next; becoming or ceasing to be SER does not.
    let changed_at = clock.tick();
    let dan_now = store.change_role(r, dan.id, Role::Jmt, actor, changed_at).await.unwrap();
    assert_eq!(dan_now.role, Role::Jmt);
    assert_eq!(dan_now.joined_at.as_microsecond(), changed_at.as_microsecond());
    assert_eq!(store.membership(r, dan.id).await.unwrap(), Some(dan_now));
    assert_eq!(refused_field(store.change_role(r, ann.id, Role::Jmt, actor, clock.tick()).await), "role");
    assert_eq!(refused_field(store.change_role(r, bob.id, Role::Ser, actor, clock.tick()).await), "role");
    // Asking for the role someone has already changes nothing and records nothing.
    store.change_role(r, eve.id, Role::Observer, actor, clock.tick()).await.unwrap();

    // Leaving: anyone but the SER.
    store.remove_member(r, eve.id, actor, clock.tick()).await.unwrap();
    assert_eq!(store.membership(r, eve.id).await.unwrap(), None);
    assert_eq!(not_found(store.remove_member(r, eve.id, actor, clock.tick()).await), "member");
    assert_eq!(refused_field(store.remove_member(r, ann.id, actor, clock.tick()).await), "role");

    // Succession: Bob takes over; Ann stays on as a JMT member.
    let bob_ser = store.succeed_ser(r, bob.id, actor, clock.tick()).await.unwrap();
    assert_eq!(bob_ser.role, Role::Ser);
    assert_eq!(store.membership(r, ann.id).await.unwrap().unwrap().role, Role::Jmt);
    assert_eq!(refused_field(store.succeed_ser(r, bob.id, actor, clock.tick()).await), "role");
    assert_eq!(
        members(store.members(r).await.unwrap()),
        expected(&[("Bob Brown", Role::Ser), ("Ann Adams", Role::Jmt), ("Cat Cole", Role::Ser), ("Dan Dale", Role::Jmt),])
    );
    let history: Vec<(String, Role, bool)> =
        store.membership_history(r).await.unwrap().into_iter().map(|m| (m.name, m.role, m.left_at.is_some())).collect();
    let period = |n: &str, role, ended| (n.to_string(), role, ended);
    assert_eq!(
        history,
        [
            period("Ann Adams", Role::Ser, true),
            period("Bob Brown", Role::Jmt, true),
            period("Cat Cole", Role::Ser, false),
            period("Dan Dale", Role::Contributor, true),
            period("Eve Evans", Role::Observer, true),
            period("Dan Dale", Role::Jmt, false),
            period("Ann Adams", Role::Jmt, false),
            period("Bob Brown", Role::Ser, false),
        ]
    );

    // Updates happen at the version the caller read, or not at all.
    let change =
        RelationshipChange { name: Some(name("North Sea Wind Farm")), status: Some(Status::Suspended), ..RelationshipChange::default() };
    let updated = store.update_relationship(r, 1, change.clone(), actor, clock.tick()).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "North Sea Wind Farm");
    assert_eq!(updated.status, Status::Suspended);
    assert_eq!(updated.purpose, relationship.purpose);
    assert_eq!(updated.created_at, relationship.created_at);
    assert!(updated.updated_at > relationship.updated_at);
    let head = store.chain_head(r).await.unwrap();
    let stale = RelationshipChange { purpose: Some("Something else".into()), ..RelationshipChange::default() };
    assert!(matches!(store.update_relationship(r, 1, stale, actor, clock.tick()).await, Err(StoreError::Stale { current: 2 })));
    let clash = RelationshipChange { name: Some(name("harbour dredging")), ..RelationshipChange::default() };
    assert_eq!(refused_field(store.update_relationship(r, 2, clash, actor, clock.tick()).await), "name");
    assert_eq!(store.relationship(r).await.unwrap(), updated);
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(not_found(store.update_relationship(Uuid::nil(), 1, change, actor, clock.tick()).await), "relationship");

    // Personal API tokens.
    let token = store.create_token(ann.id, name("Laptop"), "sha256-of-the-token", clock.tick()).await.unwrap();
    assert_eq!(store.user_by_token("sha256-of-the-token").await.unwrap(), ann);
    assert_eq!(store.list_tokens(ann.id).await.unwrap(), std::slice::from_ref(&token));
    assert_eq!(not_found(store.revoke_token(bob.id, token.id, clock.tick()).await), "token");
    let revoked_at = clock.tick();
    store.revoke_token(ann.id, token.id, revoked_at).await.unwrap();
    assert_eq!(not_found(store.user_by_token("sha256-of-the-token").await), "token");
    assert_eq!(not_found(store.revoke_token(ann.id, token.id, clock.tick()).await), "token");
    let listed = store.list_tokens(ann.id).await.unwrap();
    assert_eq!(listed[0].revoked_at.map(|t| t.as_microsecond()), Some(revoked_at.as_microsecond()));

    // Keyset paging: every item once, in creation order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_users(PageRequest { after, limit: 2 }).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items);
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, users);
    let first = store.list_organisations(PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items, organisations[..2]);
    let second = store.list_organisations(PageRequest { after: first.next_cursor, limit: 2 }).await.unwrap();
    assert_eq!((second.items.as_slice(), second.next_cursor), (&organisations[2..], None));

    // Relationships: all of them, or those a user currently belongs to.
    let ids = |page: Page<Relationship>| -> Vec<Uuid> { page.items.iter().map(|r| r.id).collect() };
    let all = PageRequest::first(10);
    assert_eq!(ids(store.list_relationships(None, all).await.unwrap()), [r, dredging.id]);
    assert_eq!(ids(store.list_relationships(Some(ann.id), all).await.unwrap()), [r]);
    assert_eq!(ids(store.list_relationships(Some(cat.id), all).await.unwrap()), [r, dredging.id]);
    assert!(ids(store.list_relationships(Some(eve.id), all).await.unwrap()).is_empty());
    let one = store.list_relationships(None, PageRequest::first(1)).await.unwrap();
    assert_eq!((ids(one.clone()), one.next_cursor), (vec![r], Some(r)));

    // The audit trail: every change, in order, in chains that verify.
    let events = verified_events(store, r).await;
    assert_eq!(
        kinds(&events),
        [
            "relationship.created",
            "member.added",
            "member.added",
            "member.added",
            "member.added",
            "member.added",
            "member.role_changed",
            "member.left",
            "ser.succeeded",
            "relationship.updated",
        ]
    );
    assert!(events.iter().all(|e| e.actor == actor));
    assert_eq!(events[0].subject, format!("relationship:{r}"));
    assert_eq!(events[0].time, relationship.created_at);
    assert_eq!(events[1].summary, json!({"user": ann.id, "role": "ser"}));
    assert_eq!(events[1].party, Some(parties[0].id));
    assert_eq!(events[6].summary, json!({"user": dan.id, "before": "contributor", "after": "jmt"}));
    assert_eq!(events[8].summary, json!({"party": parties[0].id, "predecessor": ann.id, "successor": bob.id}));
    assert_eq!(events[9].summary["after"], json!({"name": "North Sea Wind Farm", "purpose": relationship.purpose, "status": "suspended"}));
    let recent = store.recent_audit_events(r, None, 3).await.unwrap();
    let positions: Vec<i64> = recent.iter().map(|e| e.position).collect();
    assert_eq!(positions, [10, 9, 8]);
    let older = store.recent_audit_events(r, Some(2), 5).await.unwrap();
    assert_eq!(older, events[..1]);

    let site = verified_events(store, SITE_CHAIN).await;
    let mut expected_site = vec!["organisation.created"; 4];
    expected_site.extend(["user.created"; 7]);
    expected_site.extend(["token.created", "token.revoked"]);
    assert_eq!(kinds(&site), expected_site);
    assert_eq!(site[0].summary, json!({"name": "Northwind"}));
    assert_eq!(site[0].actor, None);
    assert_eq!(site[11].subject, format!("token:{}", token.id));

    let dredging_events = verified_events(store, dredging.id).await;
    assert_eq!(kinds(&dredging_events), ["relationship.created", "member.added"]);
    assert_eq!(store.audit_chains().await.unwrap(), [SITE_CHAIN, r, dredging.id]);
}

async fn audit_events_cannot_be_changed_or_deleted(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    store.create_organisation(name("Northwind"), None, clock.tick()).await.unwrap();
    let mut statements = vec!["UPDATE audit_event SET kind = 'organisation.deleted'", "DELETE FROM audit_event"];
    if db.backend() == "postgres" {
        statements.push("TRUNCATE audit_event");
    }
    for sql in statements {
        let refused = db.raw_execute(sql).await.unwrap_err();
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    let events = verified_events(store, SITE_CHAIN).await;
    assert_eq!(kinds(&events), ["organisation.created"]);
}

async fn a_failed_write_leaves_nothing_behind(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    let northwind = store.create_organisation(name("Northwind"), None, clock.tick()).await.unwrap();
    let harbour = store.create_organisation(name("Harbour Works"), None, clock.tick()).await.unwrap();
    let ann = store.create_user(new_user("ann@northwind.example", "Ann Adams", &northwind), None, clock.tick()).await.unwrap();
    let bob = store.create_user(new_user("bob@northwind.example", "Bob Brown", &northwind), None, clock.tick()).await.unwrap();
    let site_head = store.chain_head(SITE_CHAIN).await.unwrap();

    // An unknown party is refused by name, and nothing is written.
    let ghost = Organisation { id: Uuid::from_u128(42), name: "Ghost".into(), created_at: clock.tick() };
    let failed = store.create_relationship(new_relationship("North Sea Wind", &[&northwind, &ghost]), None, clock.tick()).await;
    assert!(matches!(&failed, Err(StoreError::Invalid(i)) if i.0[0].field == "parties"), "{failed:?}");
    assert_eq!(not_found(store.find_relationship("North Sea Wind").await), "relationship");
    assert_eq!(store.audit_chains().await.unwrap(), [SITE_CHAIN]);
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), site_head);

    let relationship =
        store.create_relationship(new_relationship("North Sea Wind", &[&northwind, &harbour]), None, clock.tick()).await.unwrap();
    let r = relationship.id;
    store.add_member(r, ann.id, Role::Ser, None, clock.tick()).await.unwrap();
    let head = store.chain_head(r).await.unwrap();
    let members = store.members(r).await.unwrap();
    let history = store.membership_history(r).await.unwrap();

    assert_eq!(refused_field(store.add_member(r, bob.id, Role::Ser, None, clock.tick()).await), "role");
    assert_eq!(refused_field(store.succeed_ser(r, bob.id, None, clock.tick()).await), "user");
    assert!(matches!(
        store.update_relationship(r, 7, RelationshipChange::default(), None, clock.tick()).await,
        Err(StoreError::Stale { current: 1 })
    ));
    assert_eq!(refused_field(store.create_organisation(name("northwind"), None, clock.tick()).await), "name");

    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.members(r).await.unwrap(), members);
    assert_eq!(store.membership_history(r).await.unwrap(), history);
    assert_eq!(store.relationship(r).await.unwrap(), relationship);
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), site_head);
    assert_eq!(verified_events(store, r).await.len(), 2);
}

/// Writers that race to the same rule: exactly one wins, the others are told why.
async fn concurrent_writers_cannot_both_pass_a_rule(db: TestDb) {
    let store: Arc<dyn Store> = db.store.clone();
    let clock = Clock::new();
    let northwind = store.create_organisation(name("Northwind"), None, clock.tick()).await.unwrap();
    let harbour = store.create_organisation(name("Harbour Works"), None, clock.tick()).await.unwrap();
    let relationship =
        store.create_relationship(new_relationship("North Sea Wind", &[&northwind, &harbour]), None, clock.tick()).await.unwrap();
    let mut candidates = Vec::new();
    for i in 0..6 {
        let user = new_user(&format!("user{i}@northwind.example"), &format!("User {i}"), &northwind);
        candidates.push(store.create_user(user, None, clock.tick()).await.unwrap());
    }

    let mut tasks = tokio::task::JoinSet::new();
    for user in &candidates {
        let (store, user_id, now) = (store.clone(), user.id, clock.tick());
        tasks.spawn(async move { store.add_member(relationship.id, user_id, Role::Ser, None, now).await.map(|_| ()) });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    for refused in outcomes.into_iter().filter(Result::is_err) {
        assert_eq!(refused_field(refused), "role");
    }

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6 {
        let (store, now) = (store.clone(), clock.tick());
        tasks.spawn(async move {
            let change = RelationshipChange { purpose: Some(format!("Purpose {i}")), ..RelationshipChange::default() };
            store.update_relationship(relationship.id, 1, change, None, now).await.map(|r| r.version)
        });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Ok(2) | Err(StoreError::Stale { current: 2 }))), "{outcomes:?}");

    let events = verified_events(store.as_ref(), relationship.id).await;
    assert_eq!(kinds(&events), ["relationship.created", "member.added", "relationship.updated"]);
    assert_eq!(store.members(relationship.id).await.unwrap().len(), 1);
}

const HOUR: i64 = 3600;

/// Sessions: looked up while live, ended by idle or absolute expiry, by signing out, or by
/// disabling the account.
async fn sessions(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    let northwind = store.create_organisation(name("Northwind"), None, clock.tick()).await.unwrap();
    let ann = store.create_user(new_user("ann@northwind.example", "Ann Adams", &northwind), None, clock.tick()).await.unwrap();
    let bob = store.create_user(new_user("bob@northwind.example", "Bob Brown", &northwind), None, clock.tick()).await.unwrap();

    let t0 = clock.tick();
    let (idle, absolute) = (at(t0, HOUR / 2), at(t0, 8 * HOUR));
    store.create_session("s-ann", ann.id, t0, idle, absolute).await.unwrap();
    let session = store.session("s-ann", at(t0, 1)).await.unwrap();
    assert_eq!(session.user, ann);
    assert_eq!((us(session.idle_expires_at), us(session.absolute_expires_at)), (us(idle), us(absolute)));
    assert_eq!(not_found(store.session("s-nobody", at(t0, 1)).await), "session");

    // Idle expiry: live until the instant it is reached.
    store.session("s-ann", at(idle, -1)).await.unwrap();
    assert_eq!(not_found(store.session("s-ann", idle).await), "session");

    // Touching moves the idle expiry, never past the absolute one.
    store.touch_session("s-ann", at(t0, HOUR)).await.unwrap();
    assert_eq!(us(store.session("s-ann", idle).await.unwrap().idle_expires_at), us(at(t0, HOUR)));
    store.touch_session("s-ann", at(t0, 10 * HOUR)).await.unwrap();
    let session = store.session("s-ann", at(t0, 2 * HOUR)).await.unwrap();
    assert_eq!((us(session.idle_expires_at), us(session.absolute_expires_at)), (us(absolute), us(absolute)));
    store.session("s-ann", at(absolute, -1)).await.unwrap();
    assert_eq!(not_found(store.session("s-ann", absolute).await), "session");
    store.touch_session("s-nobody", at(t0, HOUR)).await.unwrap();

    // Absolute expiry holds even when the idle one is later.
    store.create_session("s-short", ann.id, t0, at(t0, 10 * HOUR), at(t0, HOUR)).await.unwrap();
    store.session("s-short", at(t0, HOUR - 1)).await.unwrap();
    assert_eq!(not_found(store.session("s-short", at(t0, HOUR)).await), "session");

    // A new session clears away the user's expired ones.
    let t1 = at(t0, 9 * HOUR);
    store.create_session("s-ann-2", ann.id, t1, at(t1, HOUR), at(t1, 8 * HOUR)).await.unwrap();
    for expired in ["s-ann", "s-short"] {
        assert_eq!(db.raw_execute(&format!("UPDATE session SET created_at = created_at WHERE session_hash = '{expired}'")).await, Ok(0));
    }

    // Signing out ends one session only.
    store.create_session("s-ann-3", ann.id, t1, at(t1, HOUR), at(t1, 8 * HOUR)).await.unwrap();
    store.end_session("s-ann-2").await.unwrap();
    assert_eq!(not_found(store.session("s-ann-2", at(t1, 1)).await), "session");
    assert_eq!(store.session("s-ann-3", at(t1, 1)).await.unwrap().user, ann);
    store.end_session("s-ann-2").await.unwrap();

    // Disabling ends every session of the user; enabling again revives none.
    for hash in ["s-bob-1", "s-bob-2"] {
        store.create_session(hash, bob.id, t1, at(t1, HOUR), at(t1, 8 * HOUR)).await.unwrap();
    }
    let site_head = store.chain_head(SITE_CHAIN).await.unwrap().unwrap();
    let disabled = store.set_user_disabled(bob.id, true, Some(ann.id), at(t1, 2)).await.unwrap();
    assert!(disabled.disabled);
    assert!(store.user(bob.id).await.unwrap().disabled);
    // A disabled account gets no new session either (one made now would come back on enabling).
    assert_eq!(not_found(store.create_session("s-bob-3", bob.id, at(t1, 3), at(t1, HOUR), at(t1, 8 * HOUR)).await), "user");
    assert_eq!(store.set_user_disabled(bob.id, true, Some(ann.id), at(t1, 4)).await.unwrap(), disabled);
    let enabled = store.set_user_disabled(bob.id, false, Some(ann.id), at(t1, 5)).await.unwrap();
    assert!(!enabled.disabled);
    assert_eq!(enabled, bob);
    for hash in ["s-bob-1", "s-bob-2", "s-bob-3"] {
        assert_eq!(not_found(store.session(hash, at(t1, 6)).await), "session");
    }
    assert_eq!(store.session("s-ann-3", at(t1, 6)).await.unwrap().user, ann);
    assert_eq!(not_found(store.set_user_disabled(Uuid::nil(), true, Some(ann.id), at(t1, 7)).await), "user");
    assert_eq!(not_found(store.create_session("s-ghost", Uuid::nil(), at(t1, 7), at(t1, HOUR), at(t1, 8 * HOUR)).await), "user");

    let site = verified_events(store, SITE_CHAIN).await;
    let changes: Vec<_> = site.iter().filter(|e| e.position > site_head.position).collect();
    let described: Vec<(&str, String, Option<Uuid>)> = changes.iter().map(|e| (e.kind.as_str(), e.subject.clone(), e.actor)).collect();
    let subject = format!("user:{}", bob.id);
    assert_eq!(described, [("user.disabled", subject.clone(), Some(ann.id)), ("user.enabled", subject, Some(ann.id))]);
}

async fn sign_in_failures_are_counted_in_a_window(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    let t0 = clock.tick();
    let (ann, bob) = ("ann@northwind.example", "bob@northwind.example");
    assert_eq!(store.sign_in_failures(ann, at(t0, -HOUR)).await.unwrap(), 0);
    for seconds in [0, 60, 120] {
        store.record_sign_in_failure(ann, at(t0, seconds), at(t0, seconds - 900)).await.unwrap();
    }
    store.record_sign_in_failure(bob, at(t0, 30), at(t0, -870)).await.unwrap();
    assert_eq!(store.sign_in_failures(ann, at(t0, -1)).await.unwrap(), 3);
    // Only failures after `since` count.
    assert_eq!(store.sign_in_failures(ann, at(t0, 60)).await.unwrap(), 1);
    assert_eq!(store.sign_in_failures(ann, at(t0, 120)).await.unwrap(), 0);
    assert_eq!(store.sign_in_failures(bob, at(t0, -1)).await.unwrap(), 1);
    assert_eq!(store.sign_in_failures("nobody@northwind.example", at(t0, -1)).await.unwrap(), 0);

    // Recording forgets the address's failures from before the window.
    store.record_sign_in_failure(ann, at(t0, 1000), at(t0, 60)).await.unwrap();
    assert_eq!(store.sign_in_failures(ann, at(t0, -HOUR)).await.unwrap(), 2);
    assert_eq!(store.sign_in_failures(bob, at(t0, -HOUR)).await.unwrap(), 1);

    // A good sign-in clears the address's count, and no other.
    store.clear_sign_in_failures(ann).await.unwrap();
    assert_eq!(store.sign_in_failures(ann, at(t0, -HOUR)).await.unwrap(), 0);
    assert_eq!(store.sign_in_failures(bob, at(t0, -HOUR)).await.unwrap(), 1);
    store.clear_sign_in_failures("nobody@northwind.example").await.unwrap();
}

async fn passwords_and_reset_links(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    let northwind = store.create_organisation(name("Northwind"), None, clock.tick()).await.unwrap();
    let ann = store.create_user(new_user("ann@northwind.example", "Ann Adams", &northwind), None, clock.tick()).await.unwrap();
    let bob = store.create_user(new_user("bob@northwind.example", "Bob Brown", &northwind), None, clock.tick()).await.unwrap();
    let admin = Some(ann.id);
    let start = store.chain_head(SITE_CHAIN).await.unwrap().unwrap().position;

    // An admin sets a password, and sets it again.
    store.set_password(bob.id, "$argon2id$first", admin, clock.tick()).await.unwrap();
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$first"));
    store.set_password(bob.id, "$argon2id$second", admin, clock.tick()).await.unwrap();
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$second"));
    let head = store.chain_head(SITE_CHAIN).await.unwrap();
    assert_eq!(not_found(store.set_password(Uuid::nil(), "$argon2id$x", admin, clock.tick()).await), "user");
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), head);

    // A reset link works until it expires.
    let issued = clock.tick();
    let expires = at(issued, HOUR);
    store.create_password_reset(bob.id, "reset-1", expires, admin, issued).await.unwrap();
    assert_eq!(store.password_reset_user("reset-1", at(expires, -1)).await.unwrap(), bob);
    assert_eq!(not_found(store.password_reset_user("reset-1", expires).await), "password reset link");
    assert_eq!(not_found(store.use_password_reset("reset-1", "$argon2id$late", expires).await), "password reset link");
    assert_eq!(not_found(store.password_reset_user("reset-unknown", issued).await), "password reset link");
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$second"));

    // A newer link replaces the older one.
    let t = clock.tick();
    store.create_password_reset(bob.id, "reset-2", at(t, HOUR), admin, t).await.unwrap();
    store.create_password_reset(bob.id, "reset-3", at(t, HOUR), admin, clock.tick()).await.unwrap();
    assert_eq!(not_found(store.password_reset_user("reset-2", clock.tick()).await), "password reset link");
    assert_eq!(not_found(store.use_password_reset("reset-2", "$argon2id$old-link", clock.tick()).await), "password reset link");
    assert_eq!(store.password_reset_user("reset-3", clock.tick()).await.unwrap(), bob);

    // Using a link sets the password and ends the user's sessions, once.
    let t = clock.tick();
    store.create_session("s-bob", bob.id, t, at(t, HOUR), at(t, 8 * HOUR)).await.unwrap();
    store.create_session("s-ann", ann.id, t, at(t, HOUR), at(t, 8 * HOUR)).await.unwrap();
    assert_eq!(store.use_password_reset("reset-3", "$argon2id$third", at(t, 1)).await.unwrap(), bob);
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$third"));
    assert_eq!(not_found(store.session("s-bob", at(t, 2)).await), "session");
    store.session("s-ann", at(t, 2)).await.unwrap();
    assert_eq!(not_found(store.use_password_reset("reset-3", "$argon2id$again", at(t, 3)).await), "password reset link");
    assert_eq!(not_found(store.password_reset_user("reset-3", at(t, 3)).await), "password reset link");
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$third"));

    // A disabled account's link is refused: to look at, and to use.
    let t = clock.tick();
    store.create_password_reset(bob.id, "reset-4", at(t, HOUR), admin, t).await.unwrap();
    store.set_user_disabled(bob.id, true, admin, at(t, 1)).await.unwrap();
    assert_eq!(not_found(store.password_reset_user("reset-4", at(t, 2)).await), "password reset link");
    assert_eq!(not_found(store.use_password_reset("reset-4", "$argon2id$while-disabled", at(t, 2)).await), "password reset link");
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$third"));
    assert_eq!(not_found(store.create_password_reset(Uuid::nil(), "reset-5", at(t, HOUR), admin, at(t, 3)).await), "user");

    let site = verified_events(store, SITE_CHAIN).await;
    let changes: Vec<(&str, Option<Uuid>)> = site.iter().filter(|e| e.position > start).map(|e| (e.kind.as_str(), e.actor)).collect();
    assert_eq!(
        changes,
        [
            ("user.password_set", admin),
            ("user.password_set", admin),
            ("user.password_reset_issued", admin),
            ("user.password_reset_issued", admin),
            ("user.password_reset_issued", admin),
            // The user sets their own password through the link.
            ("user.password_set", Some(bob.id)),
            ("user.password_reset_issued", admin),
            ("user.disabled", admin),
        ]
    );
    let bob_subject = format!("user:{}", bob.id);
    assert!(site.iter().filter(|e| e.position > start).all(|e| e.subject == bob_subject));
    let first = site.iter().find(|e| e.position > start).unwrap();
    assert_eq!(first.summary, json!({}));
    let issued_event = site.iter().find(|e| e.kind == "user.password_reset_issued").unwrap();
    assert_eq!(issued_event.summary, json!({"expires_at": expires.to_string()}));
}

/// Northwind, Harbour Works and Tidal Energy in one relationship; Ann (Northwind) and Cat
/// (Harbour) its SERs; Tidal Energy has no member yet.
struct Invitations {
    clock: Clock,
    r: Uuid,
    north: Party,
    harbour: Party,
    tidal: Party,
    ann: User,
    bob: User,
    cat: User,
    out: User,
}

async fn invitations_setup(store: &dyn Store) -> Invitations {
    let clock = Clock::new();
    let mut organisations = Vec::new();
    for title in ["Northwind", "Harbour Works", "Tidal Energy", "Outsider Ltd"] {
        organisations.push(store.create_organisation(name(title), None, clock.tick()).await.unwrap());
    }
    let [northwind, harbour, tidal, outsider] = &organisations[..] else { unreachable!() };
    let mut users = Vec::new();
    for (email, full_name, organisation) in [
        ("ann@northwind.example", "Ann Adams", northwind),
        ("bob@northwind.example", "Bob Brown", northwind),
        ("cat@harbour.example", "Cat Cole", harbour),
        ("out@outsider.example", "Otto Out", outsider),
    ] {
        users.push(store.create_user(new_user(email, full_name, organisation), None, clock.tick()).await.unwrap());
    }
    let [ann, bob, cat, out] = <[User; 4]>::try_from(users).unwrap();
    let relationship =
        store.create_relationship(new_relationship("North Sea Wind", &[northwind, harbour, tidal]), None, clock.tick()).await.unwrap();
    let r = relationship.id;
    store.add_member(r, ann.id, Role::Ser, None, clock.tick()).await.unwrap();
    store.add_member(r, cat.id, Role::Ser, None, clock.tick()).await.unwrap();
    let [north, harbour, tidal] = <[Party; 3]>::try_from(store.parties(r).await.unwrap()).unwrap();
    Invitations { clock, r, north, harbour, tidal, ann, bob, cat, out }
}

fn invite(s: &Invitations, party: &Party, email: &str, role: Role, token: &str, now: Timestamp) -> NewInvitation {
    NewInvitation {
        relationship_id: s.r,
        party_id: party.id,
        email: Email::parse(email).unwrap(),
        role,
        token_hash: token.into(),
        expires_at: at(now, 7 * 24 * HOUR),
    }
}

fn new_account(full_name: &str) -> InvitationAccount {
    InvitationAccount::New { name: name(full_name), password_hash: format!("$argon2id${full_name}") }
}

async fn invitations(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);

    // An SER invites a new person to her party.
    let t = clock.tick();
    let nia = store.create_invitation(invite(&s, &s.north, "Nia@Northwind.example", Role::Jmt, "inv-nia", t), ann.id, t).await.unwrap();
    assert_eq!((nia.relationship_id, nia.relationship_name.as_str()), (r, "North Sea Wind"));
    assert_eq!((nia.party_id, nia.organisation_id, nia.organisation_name.as_str()), (s.north.id, s.north.organisation_id, "Northwind"));
    assert_eq!((nia.email.as_str(), nia.role), ("nia@northwind.example", Role::Jmt));
    assert_eq!((nia.invited_by, nia.invited_by_name.as_str()), (ann.id, "Ann Adams"));
    assert_eq!((us(nia.created_at), us(nia.expires_at)), (us(t), us(at(t, 7 * 24 * HOUR))));
    assert_eq!(store.invitation("inv-nia", clock.tick()).await.unwrap(), nia);
    assert_eq!(store.pending_invitations(r, clock.tick()).await.unwrap(), std::slice::from_ref(&nia));
    assert_eq!(not_found(store.invitation("inv-unknown", clock.tick()).await), "invitation");

    // Refused: an address of another organisation's account, a current member, a second SER.
    let t = clock.tick();
    let refused = [
        (invite(&s, &s.north, "out@outsider.example", Role::Jmt, "inv-x1", t), "email"),
        (invite(&s, &s.north, "cat@harbour.example", Role::Contributor, "inv-x2", t), "email"),
        (invite(&s, &s.north, "ann@northwind.example", Role::Observer, "inv-x3", t), "email"),
        (invite(&s, &s.north, "sam@northwind.example", Role::Ser, "inv-x4", t), "role"),
        (invite(&s, &s.harbour, "sam@harbour.example", Role::Ser, "inv-x5", t), "role"),
    ];
    let head = store.chain_head(r).await.unwrap();
    for (new, field) in refused {
        let email = new.email.clone();
        assert_eq!(refused_field(store.create_invitation(new, ann.id, t).await), field, "{email}");
    }
    let mut elsewhere = invite(&s, &s.north, "sam@northwind.example", Role::Jmt, "inv-x6", t);
    elsewhere.party_id = Uuid::nil();
    assert_eq!(not_found(store.create_invitation(elsewhere, ann.id, t).await), "party");
    let mut elsewhere = invite(&s, &s.north, "sam@northwind.example", Role::Jmt, "inv-x7", t);
    elsewhere.relationship_id = Uuid::nil();
    assert_eq!(not_found(store.create_invitation(elsewhere, ann.id, t).await), "relationship");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.pending_invitations(r, clock.tick()).await.unwrap(), std::slice::from_ref(&nia));

    // Accepted with a new account: the account joins the party's organisation with the invited role.
    let site_head = store.chain_head(SITE_CHAIN).await.unwrap().unwrap();
    let accepted_at = clock.tick();
    let member = store.accept_invitation("inv-nia", new_account("Nia New"), accepted_at).await.unwrap();
    let nia_user = store.user_by_email(&Email::parse("nia@northwind.example").unwrap()).await.unwrap();
    assert_eq!((nia_user.name.as_str(), nia_user.organisation_id, nia_user.is_admin), ("Nia New", s.north.organisation_id, false));
    assert_eq!(store.password_hash(nia_user.id).await.unwrap().as_deref(), Some("$argon2id$Nia New"));
    assert_eq!((member.user_id, member.party_id, member.role, member.left_at), (nia_user.id, s.north.id, Role::Jmt, None));
    assert_eq!((member.name.as_str(), member.organisation_name.as_str()), ("Nia New", "Northwind"));
    assert_eq!(us(member.joined_at), us(accepted_at));
    assert_eq!(store.membership(r, nia_user.id).await.unwrap(), Some(member));
    assert_eq!(not_found(store.invitation("inv-nia", clock.tick()).await), "invitation");
    assert!(store.pending_invitations(r, clock.tick()).await.unwrap().is_empty());
    let site = verified_events(store, SITE_CHAIN).await;
    let created = &site[site_head.position as usize..];
    assert_eq!((kinds(created), created[0].subject.clone()), (vec!["user.created"], format!("user:{}", nia_user.id)));

    // Used once only.
    assert_eq!(not_found(store.accept_invitation("inv-nia", new_account("Nia Again"), clock.tick()).await), "invitation");
    assert_eq!(not_found(store.accept_invitation("inv-nia", InvitationAccount::Existing(nia_user.id), clock.tick()).await), "invitation");

    // Accepted by the existing account of the invited address.
    let t = clock.tick();
    store.create_invitation(invite(&s, &s.north, "bob@northwind.example", Role::Contributor, "inv-bob", t), ann.id, t).await.unwrap();
    let bob_member = store.accept_invitation("inv-bob", InvitationAccount::Existing(s.bob.id), clock.tick()).await.unwrap();
    assert_eq!((bob_member.user_id, bob_member.party_id, bob_member.role), (s.bob.id, s.north.id, Role::Contributor));

    // An SER for a party that has none yet, invited by another party's SER.
    let t = clock.tick();
    let tess = store.create_invitation(invite(&s, &s.tidal, "tess@tidal.example", Role::Ser, "inv-tess", t), s.cat.id, t).await.unwrap();
    assert_eq!(tess.organisation_name, "Tidal Energy");
    let tess_member = store.accept_invitation("inv-tess", new_account("Tess Tide"), clock.tick()).await.unwrap();
    assert_eq!((tess_member.party_id, tess_member.role, tess_member.organisation_name.as_str()), (s.tidal.id, Role::Ser, "Tidal Energy"));

    // The wrong account, or a new account for an address that has one: refused, the invitation stays.
    let t = clock.tick();
    let fay =
        store.create_invitation(invite(&s, &s.north, "fay@northwind.example", Role::Observer, "inv-fay", t), ann.id, t).await.unwrap();
    assert_eq!(refused_field(store.accept_invitation("inv-fay", InvitationAccount::Existing(s.bob.id), clock.tick()).await), "email");
    assert_eq!(store.invitation("inv-fay", clock.tick()).await.unwrap(), fay);
    store
        .create_user(new_user("fay@northwind.example", "Fay Fox", &organisation_of(store, &s.north).await), None, clock.tick())
        .await
        .unwrap();
    assert_eq!(refused_field(store.accept_invitation("inv-fay", new_account("Fay Again"), clock.tick()).await), "email");
    assert_eq!(store.invitation("inv-fay", clock.tick()).await.unwrap(), fay);

    // An account made for the address in another organisation after the invitation cannot take
    // the invited party's place.
    let t = clock.tick();
    store.create_invitation(invite(&s, &s.north, "hal@example.org", Role::Jmt, "inv-hal", t), ann.id, t).await.unwrap();
    let hal = store
        .create_user(new_user("hal@example.org", "Hal Harbour", &organisation_of(store, &s.harbour).await), None, clock.tick())
        .await
        .unwrap();
    assert_eq!(refused_field(store.accept_invitation("inv-hal", InvitationAccount::Existing(hal.id), clock.tick()).await), "email");
    assert_eq!(store.membership(r, hal.id).await.unwrap(), None);

    // Expiry.
    let t = clock.tick();
    let sue_expired = at(t, HOUR);
    let mut short = invite(&s, &s.north, "sue@northwind.example", Role::Jmt, "inv-sue", t);
    short.expires_at = at(t, HOUR);
    let sue = store.create_invitation(short, ann.id, t).await.unwrap();
    assert_eq!(store.invitation("inv-sue", at(t, HOUR - 1)).await.unwrap(), sue);
    assert_eq!(not_found(store.invitation("inv-sue", at(t, HOUR)).await), "invitation");
    assert!(!store.pending_invitations(r, at(t, HOUR)).await.unwrap().contains(&sue));
    assert_eq!(not_found(store.accept_invitation("inv-sue", new_account("Sue Late"), at(t, HOUR)).await), "invitation");

    // Revoking.
    let t = clock.tick();
    let vic = store.create_invitation(invite(&s, &s.north, "vic@northwind.example", Role::Jmt, "inv-vic", t), ann.id, t).await.unwrap();
    store.revoke_invitation(r, vic.id, ann.id, clock.tick()).await.unwrap();
    assert_eq!(not_found(store.invitation("inv-vic", clock.tick()).await), "invitation");
    assert_eq!(not_found(store.accept_invitation("inv-vic", new_account("Vic Void"), clock.tick()).await), "invitation");
    assert_eq!(not_found(store.revoke_invitation(r, vic.id, ann.id, clock.tick()).await), "invitation");
    assert_eq!(not_found(store.revoke_invitation(r, nia.id, ann.id, clock.tick()).await), "invitation");
    let pending: Vec<String> = store.pending_invitations(r, sue_expired).await.unwrap().into_iter().map(|i| i.email).collect();
    assert_eq!(pending, ["fay@northwind.example", "hal@example.org"]);
    assert_eq!(store.user_by_email(&Email::parse("vic@northwind.example").unwrap()).await.map(|u| u.id).ok(), None);

    // The relationship's chain tells it in order, each on behalf of the invited party.
    let events = verified_events(store, r).await;
    let told: Vec<(&str, Option<Uuid>, Option<Uuid>)> = events[3..].iter().map(|e| (e.kind.as_str(), e.actor, e.party)).collect();
    let (north, tidal) = (Some(s.north.id), Some(s.tidal.id));
    assert_eq!(
        told,
        [
            ("invitation.created", Some(ann.id), north),
            ("invitation.accepted", Some(nia_user.id), north),
            ("member.added", Some(ann.id), north),
            ("invitation.created", Some(ann.id), north),
            ("invitation.accepted", Some(s.bob.id), north),
            ("member.added", Some(ann.id), north),
            ("invitation.created", Some(s.cat.id), tidal),
            ("invitation.accepted", Some(tess_member.user_id), tidal),
            ("member.added", Some(s.cat.id), tidal),
            ("invitation.created", Some(ann.id), north),
            ("invitation.created", Some(ann.id), north),
            ("invitation.created", Some(ann.id), north),
            ("invitation.created", Some(ann.id), north),
            ("invitation.revoked", Some(ann.id), north),
        ]
    );
    assert_eq!(events[3].subject, format!("invitation:{}", nia.id));
    assert_eq!(events[3].summary, json!({"invitation": nia.id, "role": "jmt"}));
    assert_eq!(events[4].summary, json!({"user": nia_user.id}));
    assert_eq!(events[5].summary, json!({"user": nia_user.id, "role": "jmt"}));
    let _ = &s.out;
}

async fn organisation_of(store: &dyn Store, party: &Party) -> Organisation {
    store.organisation(party.organisation_id).await.unwrap()
}

/// An acceptance that fails late (the account made, the invitation used, then the membership
/// refused) leaves no account, no member, no event.
async fn a_failed_acceptance_leaves_nothing_behind(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r) = (&s.clock, s.r);
    // Two SER invitations for the party that has none: both may be made, only one accepted.
    let t = clock.tick();
    store.create_invitation(invite(&s, &s.tidal, "tess@tidal.example", Role::Ser, "inv-tess", t), s.ann.id, t).await.unwrap();
    let sid = store.create_invitation(invite(&s, &s.tidal, "sid@tidal.example", Role::Ser, "inv-sid", t), s.ann.id, t).await.unwrap();
    store.accept_invitation("inv-tess", new_account("Tess Tide"), clock.tick()).await.unwrap();

    let head = store.chain_head(r).await.unwrap();
    let site_head = store.chain_head(SITE_CHAIN).await.unwrap();
    let members = store.members(r).await.unwrap();
    let users = store.list_users(PageRequest::first(100)).await.unwrap().items;

    assert_eq!(refused_field(store.accept_invitation("inv-sid", new_account("Sid Second"), clock.tick()).await), "role");
    assert_eq!(not_found(store.user_by_email(&Email::parse("sid@tidal.example").unwrap()).await), "user");
    assert_eq!(store.list_users(PageRequest::first(100)).await.unwrap().items, users);
    assert_eq!(store.members(r).await.unwrap(), members);
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), site_head);
    assert_eq!(store.invitation("inv-sid", clock.tick()).await.unwrap(), sid);

    // Refused early, too: nothing written.
    assert_eq!(refused_field(store.accept_invitation("inv-sid", InvitationAccount::Existing(s.out.id), clock.tick()).await), "email");
    assert_eq!(not_found(store.accept_invitation("inv-sid", InvitationAccount::Existing(Uuid::nil()), clock.tick()).await), "user");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), site_head);
    assert_eq!(store.members(r).await.unwrap(), members);
}

/// Changes to one account or one link made at once: each takes effect once.
async fn concurrent_account_changes_happen_once(db: TestDb) {
    let store: Arc<dyn Store> = db.store.clone();
    let s = invitations_setup(store.as_ref()).await;
    let (clock, r, bob) = (&s.clock, s.r, s.bob.id);

    let t = clock.tick();
    store.create_invitation(invite(&s, &s.north, "bob@northwind.example", Role::Jmt, "inv-bob", t), s.ann.id, t).await.unwrap();
    store.create_password_reset(bob, "reset-bob", at(t, HOUR), Some(s.ann.id), t).await.unwrap();
    let chain = store.chain_head(r).await.unwrap().unwrap().position;
    let site = store.chain_head(SITE_CHAIN).await.unwrap().unwrap().position;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (store, now) = (store.clone(), clock.tick());
        tasks.spawn(async move { store.accept_invitation("inv-bob", InvitationAccount::Existing(bob), now).await.map(|_| ()) });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.into_iter().filter(Result::is_err).all(|o| not_found(o) == "invitation"));

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6 {
        let (store, now) = (store.clone(), clock.tick());
        tasks.spawn(async move { store.use_password_reset("reset-bob", &format!("$argon2id${i}"), now).await.map(|_| ()) });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.into_iter().filter(Result::is_err).all(|o| not_found(o) == "password reset link"));

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (store, now, admin) = (store.clone(), clock.tick(), s.ann.id);
        tasks.spawn(async move { store.set_user_disabled(bob, true, Some(admin), now).await.map(|u| u.disabled) });
    }
    assert!(tasks.join_all().await.into_iter().all(|o| matches!(o, Ok(true))));

    let events = verified_events(store.as_ref(), r).await;
    assert_eq!(kinds(&events[chain as usize..]), ["invitation.accepted", "member.added"]);
    let events = verified_events(store.as_ref(), SITE_CHAIN).await;
    assert_eq!(kinds(&events[site as usize..]), ["user.password_set", "user.disabled"]);
}
