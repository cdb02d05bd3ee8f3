//! The store's story, told to both backends: what one accepts, refuses and records, so must the other.

use crate::backends::{TestDb, on_both_backends};
use accord_domain::audit::{ChainHead, ChainVerifier, Event};
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, Status};
use accord_domain::text::{Email, Name};
use accord_store::*;
use jiff::Timestamp;
use jiff::civil::date;
use serde_json::json;
use std::cell::Cell;
use std::sync::Arc;
use uuid::Uuid;

on_both_backends!(
    story,
    audit_events_cannot_be_changed_or_deleted,
    a_failed_write_leaves_nothing_behind,
    concurrent_writers_cannot_both_pass_a_rule,
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
    store
        .migrate()
        .await
        .expect("migrating again changes nothing");

    // Organisations: names are unique whatever their case.
    let mut organisations = Vec::new();
    for title in ["Northwind", "Harbour Works", "Tidal Energy", "Outsider Ltd"] {
        let o = store
            .create_organisation(name(title), None, clock.tick())
            .await
            .unwrap();
        assert_eq!(store.organisation(o.id).await.unwrap(), o);
        organisations.push(o);
    }
    let [northwind, harbour, tidal, outsider] = &organisations[..] else {
        unreachable!()
    };
    assert_eq!(
        refused_field(
            store
                .create_organisation(name("NORTHWIND"), None, clock.tick())
                .await
        ),
        "name"
    );
    assert_eq!(
        store.find_organisation("northWIND ").await.unwrap(),
        *northwind
    );
    assert_eq!(
        store
            .find_organisation(&harbour.id.to_string())
            .await
            .unwrap(),
        *harbour
    );
    assert_eq!(
        not_found(store.find_organisation("Nobody").await),
        "organisation"
    );
    assert_eq!(
        not_found(store.organisation(Uuid::nil()).await),
        "organisation"
    );

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
        let user = store
            .create_user(
                new_user(email, full_name, organisation),
                actor,
                clock.tick(),
            )
            .await
            .unwrap();
        assert_eq!(user.organisation_name, organisation.name);
        users.push(user);
    }
    let [_, bob, cat, dan, eve, fay, out] = &users[..] else {
        unreachable!()
    };
    assert!(ann.is_admin && !ann.disabled && !bob.is_admin);
    assert_eq!(store.user(ann.id).await.unwrap(), ann);
    assert_eq!(
        refused_field(
            store
                .create_user(
                    new_user("ANN@northwind.example", "Another Ann", tidal),
                    actor,
                    clock.tick()
                )
                .await
        ),
        "email"
    );
    let email = Email::parse("Bob@Northwind.example").unwrap();
    assert_eq!(store.user_by_email(&email).await.unwrap(), *bob);
    assert_eq!(
        store.password_hash(ann.id).await.unwrap().as_deref(),
        Some("$argon2id$v=19$not-a-real-hash")
    );
    assert_eq!(store.password_hash(bob.id).await.unwrap(), None);
    assert_eq!(not_found(store.user(Uuid::nil()).await), "user");

    // A relationship of three parties, and a second one for listing.
    let relationship = store
        .create_relationship(
            new_relationship("North Sea Wind", &[northwind, harbour, tidal]),
            actor,
            clock.tick(),
        )
        .await
        .unwrap();
    let r = relationship.id;
    assert_eq!(
        (relationship.version, relationship.status),
        (1, Status::Active)
    );
    assert_eq!(relationship.start_date, date(2026, 1, 5));
    assert_eq!(relationship.time_zone, "Europe/London");
    assert_eq!(store.relationship(r).await.unwrap(), relationship);
    assert_eq!(
        store.find_relationship("north sea WIND").await.unwrap(),
        relationship
    );
    let parties = store.parties(r).await.unwrap();
    let party_names: Vec<&str> = parties
        .iter()
        .map(|p| p.organisation_name.as_str())
        .collect();
    assert_eq!(party_names, ["Northwind", "Harbour Works", "Tidal Energy"]);
    assert_eq!(
        refused_field(
            store
                .create_relationship(
                    new_relationship("NORTH SEA WIND", &[northwind, tidal]),
                    actor,
                    clock.tick()
                )
                .await
        ),
        "name"
    );
    let dredging = store
        .create_relationship(
            new_relationship("Harbour Dredging", &[harbour, tidal]),
            actor,
            clock.tick(),
        )
        .await
        .unwrap();

    // Members: one SER per party, and only users of a party's organisation.
    for (user, role) in [
        (&ann, Role::Ser),
        (bob, Role::Jmt),
        (cat, Role::Ser),
        (dan, Role::Contributor),
        (eve, Role::Observer),
    ] {
        let member = store
            .add_member(r, user.id, role, actor, clock.tick())
            .await
            .unwrap();
        assert_eq!(
            (member.user_id, member.role, member.left_at),
            (user.id, role, None)
        );
    }
    assert_eq!(
        refused_field(
            store
                .add_member(r, fay.id, Role::Ser, actor, clock.tick())
                .await
        ),
        "role"
    );
    assert_eq!(
        refused_field(
            store
                .add_member(r, out.id, Role::Jmt, actor, clock.tick())
                .await
        ),
        "user"
    );
    assert_eq!(
        refused_field(
            store
                .add_member(r, bob.id, Role::Observer, actor, clock.tick())
                .await
        ),
        "user"
    );
    store
        .add_member(dredging.id, cat.id, Role::Ser, actor, clock.tick())
        .await
        .unwrap();
    let members = |list: Vec<Member>| -> Vec<(String, Role)> {
        list.into_iter().map(|m| (m.name, m.role)).collect()
    };
    let expected = |list: &[(&str, Role)]| -> Vec<(String, Role)> {
        list.iter().map(|(n, r)| (n.to_string(), *r)).collect()
    };
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
    let dan_now = store
        .change_role(r, dan.id, Role::Jmt, actor, changed_at)
        .await
        .unwrap();
    assert_eq!(dan_now.role, Role::Jmt);
    assert_eq!(
        dan_now.joined_at.as_microsecond(),
        changed_at.as_microsecond()
    );
    assert_eq!(store.membership(r, dan.id).await.unwrap(), Some(dan_now));
    assert_eq!(
        refused_field(
            store
                .change_role(r, ann.id, Role::Jmt, actor, clock.tick())
                .await
        ),
        "role"
    );
    assert_eq!(
        refused_field(
            store
                .change_role(r, bob.id, Role::Ser, actor, clock.tick())
                .await
        ),
        "role"
    );
    // Asking for the role someone has already changes nothing and records nothing.
    store
        .change_role(r, eve.id, Role::Observer, actor, clock.tick())
        .await
        .unwrap();

    // Leaving: anyone but the SER.
    store
        .remove_member(r, eve.id, actor, clock.tick())
        .await
        .unwrap();
    assert_eq!(store.membership(r, eve.id).await.unwrap(), None);
    assert_eq!(
        not_found(store.remove_member(r, eve.id, actor, clock.tick()).await),
        "member"
    );
    assert_eq!(
        refused_field(store.remove_member(r, ann.id, actor, clock.tick()).await),
        "role"
    );

    // Succession: Bob takes over; Ann stays on as a JMT member.
    let bob_ser = store
        .succeed_ser(r, bob.id, actor, clock.tick())
        .await
        .unwrap();
    assert_eq!(bob_ser.role, Role::Ser);
    assert_eq!(
        store.membership(r, ann.id).await.unwrap().unwrap().role,
        Role::Jmt
    );
    assert_eq!(
        refused_field(store.succeed_ser(r, bob.id, actor, clock.tick()).await),
        "role"
    );
    assert_eq!(
        members(store.members(r).await.unwrap()),
        expected(&[
            ("Bob Brown", Role::Ser),
            ("Ann Adams", Role::Jmt),
            ("Cat Cole", Role::Ser),
            ("Dan Dale", Role::Jmt),
        ])
    );
    let history: Vec<(String, Role, bool)> = store
        .membership_history(r)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.role, m.left_at.is_some()))
        .collect();
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
    let change = RelationshipChange {
        name: Some(name("North Sea Wind Farm")),
        status: Some(Status::Suspended),
        ..RelationshipChange::default()
    };
    let updated = store
        .update_relationship(r, 1, change.clone(), actor, clock.tick())
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.name, "North Sea Wind Farm");
    assert_eq!(updated.status, Status::Suspended);
    assert_eq!(updated.purpose, relationship.purpose);
    assert_eq!(updated.created_at, relationship.created_at);
    assert!(updated.updated_at > relationship.updated_at);
    let head = store.chain_head(r).await.unwrap();
    let stale = RelationshipChange {
        purpose: Some("Something else".into()),
        ..RelationshipChange::default()
    };
    assert!(matches!(
        store
            .update_relationship(r, 1, stale, actor, clock.tick())
            .await,
        Err(StoreError::Stale { current: 2 })
    ));
    let clash = RelationshipChange {
        name: Some(name("harbour dredging")),
        ..RelationshipChange::default()
    };
    assert_eq!(
        refused_field(
            store
                .update_relationship(r, 2, clash, actor, clock.tick())
                .await
        ),
        "name"
    );
    assert_eq!(store.relationship(r).await.unwrap(), updated);
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(
        not_found(
            store
                .update_relationship(Uuid::nil(), 1, change, actor, clock.tick())
                .await
        ),
        "relationship"
    );

    // Personal API tokens.
    let token = store
        .create_token(ann.id, name("Laptop"), "sha256-of-the-token", clock.tick())
        .await
        .unwrap();
    assert_eq!(
        store.user_by_token("sha256-of-the-token").await.unwrap(),
        ann
    );
    assert_eq!(
        store.list_tokens(ann.id).await.unwrap(),
        std::slice::from_ref(&token)
    );
    assert_eq!(
        not_found(store.revoke_token(bob.id, token.id, clock.tick()).await),
        "token"
    );
    let revoked_at = clock.tick();
    store
        .revoke_token(ann.id, token.id, revoked_at)
        .await
        .unwrap();
    assert_eq!(
        not_found(store.user_by_token("sha256-of-the-token").await),
        "token"
    );
    assert_eq!(
        not_found(store.revoke_token(ann.id, token.id, clock.tick()).await),
        "token"
    );
    let listed = store.list_tokens(ann.id).await.unwrap();
    assert_eq!(
        listed[0].revoked_at.map(|t| t.as_microsecond()),
        Some(revoked_at.as_microsecond())
    );

    // Keyset paging: every item once, in creation order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_users(PageRequest { after, limit: 2 })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items);
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, users);
    let first = store
        .list_organisations(PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(first.items, organisations[..2]);
    let second = store
        .list_organisations(PageRequest {
            after: first.next_cursor,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(
        (second.items.as_slice(), second.next_cursor),
        (&organisations[2..], None)
    );

    // Relationships: all of them, or those a user currently belongs to.
    let ids = |page: Page<Relationship>| -> Vec<Uuid> { page.items.iter().map(|r| r.id).collect() };
    let all = PageRequest::first(10);
    assert_eq!(
        ids(store.list_relationships(None, all).await.unwrap()),
        [r, dredging.id]
    );
    assert_eq!(
        ids(store.list_relationships(Some(ann.id), all).await.unwrap()),
        [r]
    );
    assert_eq!(
        ids(store.list_relationships(Some(cat.id), all).await.unwrap()),
        [r, dredging.id]
    );
    assert!(ids(store.list_relationships(Some(eve.id), all).await.unwrap()).is_empty());
    let one = store
        .list_relationships(None, PageRequest::first(1))
        .await
        .unwrap();
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
    assert_eq!(
        events[6].summary,
        json!({"user": dan.id, "before": "contributor", "after": "jmt"})
    );
    assert_eq!(
        events[8].summary,
        json!({"party": parties[0].id, "predecessor": ann.id, "successor": bob.id})
    );
    assert_eq!(
        events[9].summary["after"],
        json!({"name": "North Sea Wind Farm", "purpose": relationship.purpose, "status": "suspended"})
    );
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
    assert_eq!(
        kinds(&dredging_events),
        ["relationship.created", "member.added"]
    );
    assert_eq!(
        store.audit_chains().await.unwrap(),
        [SITE_CHAIN, r, dredging.id]
    );
}

async fn audit_events_cannot_be_changed_or_deleted(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    store
        .create_organisation(name("Northwind"), None, clock.tick())
        .await
        .unwrap();
    let mut statements = vec![
        "UPDATE audit_event SET kind = 'organisation.deleted'",
        "DELETE FROM audit_event",
    ];
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
    let northwind = store
        .create_organisation(name("Northwind"), None, clock.tick())
        .await
        .unwrap();
    let harbour = store
        .create_organisation(name("Harbour Works"), None, clock.tick())
        .await
        .unwrap();
    let ann = store
        .create_user(
            new_user("ann@northwind.example", "Ann Adams", &northwind),
            None,
            clock.tick(),
        )
        .await
        .unwrap();
    let bob = store
        .create_user(
            new_user("bob@northwind.example", "Bob Brown", &northwind),
            None,
            clock.tick(),
        )
        .await
        .unwrap();
    let site_head = store.chain_head(SITE_CHAIN).await.unwrap();

    // An unknown party is refused by name, and nothing is written.
    let ghost = Organisation {
        id: Uuid::from_u128(42),
        name: "Ghost".into(),
        created_at: clock.tick(),
    };
    let failed = store
        .create_relationship(
            new_relationship("North Sea Wind", &[&northwind, &ghost]),
            None,
            clock.tick(),
        )
        .await;
    assert!(
        matches!(&failed, Err(StoreError::Invalid(i)) if i.0[0].field == "parties"),
        "{failed:?}"
    );
    assert_eq!(
        not_found(store.find_relationship("North Sea Wind").await),
        "relationship"
    );
    assert_eq!(store.audit_chains().await.unwrap(), [SITE_CHAIN]);
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), site_head);

    let relationship = store
        .create_relationship(
            new_relationship("North Sea Wind", &[&northwind, &harbour]),
            None,
            clock.tick(),
        )
        .await
        .unwrap();
    let r = relationship.id;
    store
        .add_member(r, ann.id, Role::Ser, None, clock.tick())
        .await
        .unwrap();
    let head = store.chain_head(r).await.unwrap();
    let members = store.members(r).await.unwrap();
    let history = store.membership_history(r).await.unwrap();

    assert_eq!(
        refused_field(
            store
                .add_member(r, bob.id, Role::Ser, None, clock.tick())
                .await
        ),
        "role"
    );
    assert_eq!(
        refused_field(store.succeed_ser(r, bob.id, None, clock.tick()).await),
        "user"
    );
    assert!(matches!(
        store
            .update_relationship(r, 7, RelationshipChange::default(), None, clock.tick())
            .await,
        Err(StoreError::Stale { current: 1 })
    ));
    assert_eq!(
        refused_field(
            store
                .create_organisation(name("northwind"), None, clock.tick())
                .await
        ),
        "name"
    );

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
    let northwind = store
        .create_organisation(name("Northwind"), None, clock.tick())
        .await
        .unwrap();
    let harbour = store
        .create_organisation(name("Harbour Works"), None, clock.tick())
        .await
        .unwrap();
    let relationship = store
        .create_relationship(
            new_relationship("North Sea Wind", &[&northwind, &harbour]),
            None,
            clock.tick(),
        )
        .await
        .unwrap();
    let mut candidates = Vec::new();
    for i in 0..6 {
        let user = new_user(
            &format!("user{i}@northwind.example"),
            &format!("User {i}"),
            &northwind,
        );
        candidates.push(store.create_user(user, None, clock.tick()).await.unwrap());
    }

    let mut tasks = tokio::task::JoinSet::new();
    for user in &candidates {
        let (store, user_id, now) = (store.clone(), user.id, clock.tick());
        tasks.spawn(async move {
            store
                .add_member(relationship.id, user_id, Role::Ser, None, now)
                .await
                .map(|_| ())
        });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    for refused in outcomes.into_iter().filter(Result::is_err) {
        assert_eq!(refused_field(refused), "role");
    }

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..6 {
        let (store, now) = (store.clone(), clock.tick());
        tasks.spawn(async move {
            let change = RelationshipChange {
                purpose: Some(format!("Purpose {i}")),
                ..RelationshipChange::default()
            };
            store
                .update_relationship(relationship.id, 1, change, None, now)
                .await
                .map(|r| r.version)
        });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(2) | Err(StoreError::Stale { current: 2 }))),
        "{outcomes:?}"
    );

    let events = verified_events(store.as_ref(), relationship.id).await;
    assert_eq!(
        kinds(&events),
        [
            "relationship.created",
            "member.added",
            "relationship.updated"
        ]
    );
    assert_eq!(store.members(relationship.id).await.unwrap().len(), 1);
}
