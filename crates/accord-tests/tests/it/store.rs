//! The store's story, told to both backends: what one accepts, refuses and records, so must the other.

use crate::backends::{TestDb, on_both_backends};
use accord_domain::audit::{ChainHead, ChainVerifier, Event};
use accord_domain::escalation::{IssueStatus, Limit};
use accord_domain::measure::{Cadence, Direction, Rag, Thresholds, format_value};
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, Status};
use accord_domain::text::{Email, Name};
use accord_store::*;
use jiff::civil::{Date, date};
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
    objectives_and_their_reviews,
    kpis_and_threshold_versions,
    measurements_keep_their_rag_and_history,
    concurrent_corrections_keep_one_current_value,
    imports_are_all_or_nothing,
    a_large_import,
    obligations_open_first_by_due_date,
    actions_and_their_owners,
    actions_come_from_every_source_kind,
    actions_page_by_due_date,
    ladder_versions,
    issues_are_numbered_and_their_handlers_told,
    the_sweep_escalates_once_per_deadline,
    concurrent_sweeps_escalate_each_issue_once,
    resolution_needs_every_party,
    views_come_with_their_viewer,
    concurrent_acceptances_resolve_once,
    notes_withdrawal_and_early_escalation,
    mail_is_leased_to_one_worker,
    a_notice_reaches_each_recipient_once_and_no_disabled_account,
    organisations_are_shown_to_those_who_share_a_relationship,
    look_alike_organisation_names_are_refused,
    a_password_change_ends_the_other_sessions,
    missing_audit_triggers_are_restored,
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
        organisation_id: Some(organisation.id),
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
        assert_eq!(store.organisation(o.id, Visibility::All).await.unwrap(), o);
        organisations.push(o);
    }
    let [northwind, harbour, tidal, outsider] = &organisations[..] else { unreachable!() };
    assert_eq!(refused_field(store.create_organisation(name("NORTHWIND"), None, clock.tick()).await), "name");
    assert_eq!(store.find_organisation("northWIND ").await.unwrap(), *northwind);
    assert_eq!(store.find_organisation(&harbour.id.to_string()).await.unwrap(), *harbour);
    assert_eq!(not_found(store.find_organisation("Nobody").await), "organisation");
    assert_eq!(not_found(store.organisation(Uuid::nil(), Visibility::All).await), "organisation");

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
        assert_eq!(user.organisation_name, Some(organisation.name.clone()));
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
    let first = store.list_organisations(Visibility::All, PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items, organisations[..2]);
    let second = store.list_organisations(Visibility::All, PageRequest { after: first.next_cursor, limit: 2 }).await.unwrap();
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
    assert_eq!(events[1].summary, json!({"user": ann.id, "party": parties[0].id, "role": "ser"}));
    // An event's party is its actor's own: none before Ann joined, hers since, whoever she acted on.
    assert_eq!(events[0].party, None);
    assert!(events[1..].iter().all(|e| e.party == Some(parties[0].id)), "{events:?}");
    assert_eq!(events[6].summary, json!({"user": dan.id, "party": parties[1].id, "before": "contributor", "after": "jmt"}));
    assert_eq!(events[8].summary, json!({"party": parties[0].id, "predecessor": ann.id, "successor": bob.id}));
    assert_eq!(events[9].summary["after"], json!({"name": "North Sea Wind Farm", "purpose": relationship.purpose, "status": "suspended"}));
    let recent = store.recent_audit_events(r, None, 3).await.unwrap();
    let positions: Vec<i64> = recent.iter().map(|e| e.position).collect();
    assert_eq!(positions, [10, 9, 8]);
    let older = store.recent_audit_events(r, Some(2), 5).await.unwrap();
    assert_eq!(older, events[..1]);
    // Pages list the same events with their summaries as stored, the text that was hashed.
    let lines = |events: &[Event]| events.iter().map(EventLine::from).collect::<Vec<_>>();
    let page: AuditView = view_alone(store, r, ViewRequest::Audit { before_position: Some(9), limit: 3 }).await;
    assert_eq!(page.events, lines(&[events[7].clone(), events[6].clone(), events[5].clone()]));
    assert_eq!(
        page.events[1].summary,
        format!(r#"{{"after":"jmt","before":"contributor","party":"{}","user":"{}"}}"#, parties[1].id, dan.id)
    );
    assert_eq!(
        view_alone::<OverviewView>(store, r, ViewRequest::Overview { events: 2 }).await.events,
        lines(&[events[9].clone(), events[8].clone()])
    );

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
    store.set_password(bob.id, "$argon2id$first", None, admin, clock.tick()).await.unwrap();
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$first"));
    store.set_password(bob.id, "$argon2id$second", None, admin, clock.tick()).await.unwrap();
    assert_eq!(store.password_hash(bob.id).await.unwrap().as_deref(), Some("$argon2id$second"));
    let head = store.chain_head(SITE_CHAIN).await.unwrap();
    assert_eq!(not_found(store.set_password(Uuid::nil(), "$argon2id$x", None, admin, clock.tick()).await), "user");
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
    ];
    let head = store.chain_head(r).await.unwrap();
    for (new, field) in refused {
        let email = new.email.clone();
        assert_eq!(refused_field(store.create_invitation(new, ann.id, t).await), field, "{email}");
    }
    let second_ser = invite(&s, &s.harbour, "sam@harbour.example", Role::Ser, "inv-x5", t);
    assert_eq!(refused_field(store.create_invitation(second_ser, s.cat.id, t).await), "role");
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
    assert_eq!((nia_user.name.as_str(), nia_user.organisation_id, nia_user.is_admin), ("Nia New", Some(s.north.organisation_id), false));
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

    // One party never invites for another: Cat (Harbour Works' SER) invites for her own party only.
    let t = clock.tick();
    let head = store.chain_head(r).await.unwrap();
    let for_tidal = store.create_invitation(invite(&s, &s.tidal, "tess@tidal.example", Role::Ser, "inv-tess", t), s.cat.id, t).await;
    assert!(matches!(for_tidal, Err(StoreError::Forbidden(_))), "{for_tidal:?}");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    let tess =
        store.create_invitation(invite(&s, &s.harbour, "tess@harbour.example", Role::Jmt, "inv-tess", t), s.cat.id, t).await.unwrap();
    assert_eq!(tess.organisation_name, "Harbour Works");
    let tess_member = store.accept_invitation("inv-tess", new_account("Tess Tide"), clock.tick()).await.unwrap();
    assert_eq!(
        (tess_member.party_id, tess_member.role, tess_member.organisation_name.as_str()),
        (s.harbour.id, Role::Jmt, "Harbour Works")
    );

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

    // The relationship's chain tells it in order, each for the actor's own party (the invited
    // party in the summary); an acceptance follows the membership it made.
    let events = verified_events(store, r).await;
    let told: Vec<(&str, Option<Uuid>, Option<Uuid>)> = events[3..].iter().map(|e| (e.kind.as_str(), e.actor, e.party)).collect();
    let (north, harbour) = (Some(s.north.id), Some(s.harbour.id));
    assert_eq!(
        told,
        [
            ("invitation.created", Some(ann.id), north),
            ("member.added", Some(ann.id), north),
            ("invitation.accepted", Some(nia_user.id), north),
            ("invitation.created", Some(ann.id), north),
            ("member.added", Some(ann.id), north),
            ("invitation.accepted", Some(s.bob.id), north),
            ("invitation.created", Some(s.cat.id), harbour),
            ("member.added", Some(s.cat.id), harbour),
            ("invitation.accepted", Some(tess_member.user_id), harbour),
            ("invitation.created", Some(ann.id), north),
            ("invitation.created", Some(ann.id), north),
            ("invitation.created", Some(ann.id), north),
            ("invitation.created", Some(ann.id), north),
            ("invitation.revoked", Some(ann.id), north),
        ]
    );
    assert_eq!(events[3].subject, format!("invitation:{}", nia.id));
    assert_eq!(events[3].summary, json!({"invitation": nia.id, "party": s.north.id, "role": "jmt"}));
    assert_eq!(events[4].summary, json!({"user": nia_user.id, "party": s.north.id, "role": "jmt"}));
    assert_eq!(events[5].summary, json!({"user": nia_user.id}));
    assert_eq!(events[9].summary["party"], json!(s.harbour.id));
    let _ = &s.out;
}

async fn organisation_of(store: &dyn Store, party: &Party) -> Organisation {
    store.organisation(party.organisation_id, Visibility::All).await.unwrap()
}

/// An acceptance that fails late (the account made, the invitation used, then the membership
/// refused) leaves no account, no member, no event.
async fn a_failed_acceptance_leaves_nothing_behind(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r) = (&s.clock, s.r);
    // Two SER invitations for the party that has none, by its JMT member: both may be made, only
    // one accepted.
    let t = clock.tick();
    let tina = new_user("tina@tidal.example", "Tina Tay", &organisation_of(store, &s.tidal).await);
    let tina = store.create_user(tina, None, t).await.unwrap();
    store.add_member(r, tina.id, Role::Jmt, None, t).await.unwrap();
    store.create_invitation(invite(&s, &s.tidal, "tess@tidal.example", Role::Ser, "inv-tess", t), tina.id, t).await.unwrap();
    let sid = store.create_invitation(invite(&s, &s.tidal, "sid@tidal.example", Role::Ser, "inv-sid", t), tina.id, t).await.unwrap();
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
    assert_eq!(kinds(&events[chain as usize..]), ["member.added", "invitation.accepted"]);
    let events = verified_events(store.as_ref(), SITE_CHAIN).await;
    assert_eq!(kinds(&events[site as usize..]), ["user.password_set", "user.disabled"]);
}

// Measures: objectives, KPIs, measurements, imports, obligations, actions.

#[track_caller]
fn stale<T: std::fmt::Debug>(result: StoreResult<T>) -> i64 {
    match result {
        Err(StoreError::Stale { current }) => current,
        other => panic!("expected a stale version, got {other:?}"),
    }
}

/// The events of `chain` after `position`, verified.
async fn events_after(store: &dyn Store, chain: Uuid, position: i64) -> Vec<Event> {
    verified_events(store, chain).await.split_off(position as usize)
}

async fn position(store: &dyn Store, chain: Uuid) -> i64 {
    store.chain_head(chain).await.unwrap().map_or(0, |h| h.position)
}

/// A second relationship, Harbour Dredging (Harbour Works and Tidal Energy): its party.
async fn other_relationship(store: &dyn Store, s: &Invitations) -> (Uuid, Party) {
    let (harbour, tidal) = (organisation_of(store, &s.harbour).await, organisation_of(store, &s.tidal).await);
    let other = store.create_relationship(new_relationship("Harbour Dredging", &[&harbour, &tidal]), None, s.clock.tick()).await.unwrap();
    let party = store.parties(other.id).await.unwrap().remove(0);
    (other.id, party)
}

fn higher(target: f64, amber: f64, red: f64) -> Thresholds {
    Thresholds::new(Direction::Higher, target, amber, red).unwrap()
}

fn lower(target: f64, amber: f64, red: f64) -> Thresholds {
    Thresholds::new(Direction::Lower, target, amber, red).unwrap()
}

fn new_objective(r: Uuid, title: &str, parties: &[&Party]) -> NewObjective {
    NewObjective {
        relationship_id: r,
        title: title.into(),
        description: format!("{title}, as both sides agreed"),
        parties: parties.iter().map(|p| p.id).collect(),
        review_months: 6,
        next_review: date(2026, 7, 1),
    }
}

fn new_kpi(r: Uuid, name: &str, cadence: Cadence, thresholds: Thresholds, effective_from: Date) -> NewKpi {
    NewKpi {
        relationship_id: r,
        name: name.into(),
        definition: format!("{name}, counted as the contract says"),
        unit: "%".into(),
        cadence,
        party_id: None,
        reporter_id: None,
        objectives: Vec::new(),
        thresholds,
        effective_from,
    }
}

fn value(kpi_id: Uuid, period_start: Date, value: f64, comment: &str) -> MeasurementInput {
    MeasurementInput { kpi_id, period_start, value, comment: comment.into() }
}

fn review(verdict: Verdict, reason: &str, next_review: Date) -> ObjectiveReview {
    ObjectiveReview { verdict, reason: reason.into(), title: None, description: None, next_review }
}

async fn objectives_and_their_reviews(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);
    let (other, other_party) = other_relationship(store, &s).await;
    let start = position(store, r).await;

    // Created with the parties that own it (listed in id order).
    let t = clock.tick();
    let uptime = store.create_objective(new_objective(r, "Keep the turbines turning", &[&s.harbour, &s.north]), ann.id, t).await.unwrap();
    let mut owners = vec![s.north.id, s.harbour.id];
    owners.sort();
    assert_eq!(uptime.parties, owners);
    assert_eq!(
        (uptime.relationship_id, uptime.version, uptime.status, uptime.review_months, uptime.next_review),
        (r, 1, ObjectiveStatus::Active, 6, date(2026, 7, 1))
    );
    assert_eq!(
        (uptime.title.as_str(), uptime.description.as_str()),
        ("Keep the turbines turning", "Keep the turbines turning, as both sides agreed")
    );
    assert_eq!(us(uptime.created_at), us(t));
    assert_eq!(store.objective(r, uptime.id).await.unwrap(), uptime);

    // A party of another relationship: refused, nothing written.
    let head = store.chain_head(r).await.unwrap();
    let refused = store.create_objective(new_objective(r, "Dredge the harbour", &[&s.north, &other_party]), ann.id, clock.tick()).await;
    assert_eq!(refused_field(refused), "parties");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    store.create_objective(new_objective(r, "Harm no one", &[&s.tidal]), ann.id, clock.tick()).await.unwrap();
    let titles = |list: Vec<Objective>| -> Vec<String> { list.into_iter().map(|o| o.title).collect() };
    let listed = store.objectives(r).await.unwrap();
    assert_eq!(listed[1], uptime, "a list carries each objective's parties, in id order");
    assert_eq!(titles(listed), ["Harm no one", "Keep the turbines turning"]);

    // Reviews at the version read: relevant (wording kept even when some is given), revised
    // (the earlier wording kept in the review), retired.
    let mut relevant = review(Verdict::Relevant, "Still what matters", date(2027, 1, 1));
    relevant.title = Some("Ignored".into());
    let v2 = store.review_objective(r, uptime.id, relevant, 1, ann.id, clock.tick()).await.unwrap();
    assert_eq!(
        (v2.version, v2.title.as_str(), v2.next_review, v2.status),
        (2, "Keep the turbines turning", date(2027, 1, 1), ObjectiveStatus::Active)
    );
    let revised = ObjectiveReview {
        title: Some("Availability above 97%".into()),
        description: Some("Measured monthly, turbine by turbine".into()),
        ..review(Verdict::Revised, "Sharper", date(2027, 7, 1))
    };
    let revised_at = clock.tick();
    let v3 = store.review_objective(r, uptime.id, revised.clone(), 2, s.cat.id, revised_at).await.unwrap();
    assert_eq!(
        (v3.version, v3.title.as_str(), v3.description.as_str()),
        (3, "Availability above 97%", "Measured monthly, turbine by turbine")
    );
    assert_eq!((&v3.parties, v3.created_at), (&uptime.parties, uptime.created_at));
    let head = store.chain_head(r).await.unwrap();
    assert_eq!(stale(store.review_objective(r, uptime.id, revised, 2, ann.id, clock.tick()).await), 3);
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.objective(r, uptime.id).await.unwrap(), v3);

    let reviews = store.objective_reviews(r, uptime.id).await.unwrap();
    let told: Vec<(Verdict, &str, &str, &str, &str)> = reviews
        .iter()
        .map(|x| (x.verdict, x.reason.as_str(), x.decided_by_name.as_str(), x.previous_title.as_str(), x.previous_description.as_str()))
        .collect();
    let original = ("Keep the turbines turning", "Keep the turbines turning, as both sides agreed");
    assert_eq!(
        told,
        [
            (Verdict::Revised, "Sharper", "Cat Cole", original.0, original.1),
            (Verdict::Relevant, "Still what matters", "Ann Adams", original.0, original.1)
        ]
    );
    assert_eq!((reviews[0].decided_by, us(reviews[0].decided_at)), (s.cat.id, us(revised_at)));

    let v4 = store
        .review_objective(r, uptime.id, review(Verdict::Retired, "Turbines sold", date(2028, 1, 1)), 3, ann.id, clock.tick())
        .await
        .unwrap();
    assert_eq!((v4.version, v4.status, v4.title.as_str()), (4, ObjectiveStatus::Retired, "Availability above 97%"));
    assert_eq!(store.objective_reviews(r, uptime.id).await.unwrap()[0].previous_title, "Availability above 97%");
    // Active ones first, then by title.
    assert_eq!(titles(store.objectives(r).await.unwrap()), ["Harm no one", "Availability above 97%"]);

    // Another relationship's objective is not found through this one.
    assert_eq!(not_found(store.objective(r, Uuid::nil()).await), "objective");
    assert_eq!(not_found(store.objective(other, uptime.id).await), "objective");
    let elsewhere =
        store.review_objective(other, uptime.id, review(Verdict::Relevant, "?", date(2028, 1, 1)), 4, ann.id, clock.tick()).await;
    assert_eq!(not_found(elsewhere), "objective");
    assert!(store.objective_reviews(other, uptime.id).await.unwrap().is_empty());

    let events = events_after(store, r, start).await;
    assert_eq!(
        kinds(&events),
        ["objective.created", "objective.created", "objective.reviewed", "objective.reviewed", "objective.reviewed"]
    );
    assert_eq!(events[0].subject, format!("objective:{}", uptime.id));
    assert_eq!(
        events[0].summary,
        json!({"title": "Keep the turbines turning", "parties": [s.harbour.id, s.north.id], "review_months": 6, "next_review": "2026-07-01"})
    );
    assert_eq!(events[1].summary["parties"], json!([s.tidal.id]));
    assert_eq!(
        events[3].summary,
        json!({
            "verdict": "revised", "reason": "Sharper", "next_review": "2027-07-01",
            "before": {"title": original.0, "description": original.1},
            "after": {"title": "Availability above 97%", "description": "Measured monthly, turbine by turbine"},
        })
    );
    assert_eq!((events[3].actor, events[4].summary["verdict"].as_str()), (Some(s.cat.id), Some("retired")));
}

async fn kpis_and_threshold_versions(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);
    let (other, other_party) = other_relationship(store, &s).await;
    let elsewhere = store.create_objective(new_objective(other, "Dredge", &[&other_party]), s.cat.id, clock.tick()).await.unwrap();
    let uptime = store.create_objective(new_objective(r, "Keep the turbines turning", &[&s.north]), ann.id, clock.tick()).await.unwrap();
    let safety = store.create_objective(new_objective(r, "Harm no one", &[&s.north]), ann.id, clock.tick()).await.unwrap();
    let start = position(store, r).await;

    let mut availability = new_kpi(r, "Availability", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1));
    availability.party_id = Some(s.north.id);
    availability.reporter_id = Some(ann.id);
    availability.objectives = vec![uptime.id];
    let created_at = clock.tick();
    let kpi = store.create_kpi(availability.clone(), ann.id, created_at).await.unwrap();
    assert_eq!((kpi.relationship_id, kpi.name.as_str(), kpi.unit.as_str()), (r, "Availability", "%"));
    assert_eq!(kpi.definition, "Availability, counted as the contract says");
    assert_eq!((kpi.direction, kpi.cadence, kpi.thresholds), (Direction::Higher, Cadence::Monthly, higher(98.0, 95.0, 90.0)));
    assert_eq!((kpi.party_id, kpi.reporter_id, kpi.objectives.clone(), kpi.version), (Some(s.north.id), Some(ann.id), vec![uptime.id], 1));
    assert_eq!(us(kpi.created_at), us(created_at));
    assert_eq!(store.kpi(r, kpi.id).await.unwrap(), kpi);
    let versions = store.kpi_versions(r, kpi.id).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        (versions[0].effective_from, versions[0].thresholds, versions[0].created_by),
        (date(2026, 1, 1), kpi.thresholds, Some(ann.id))
    );
    assert_eq!(us(versions[0].created_at), us(created_at));

    // Refused, and nothing written: a name taken whatever its case, a reporter who is not a
    // member, a party or an objective of another relationship.
    let head = store.chain_head(r).await.unwrap();
    let mut refusals = Vec::new();
    let mut same_name = availability.clone();
    same_name.name = "AVAILABILITY".into();
    refusals.push((same_name, "name"));
    for outsider in [s.bob.id, s.out.id] {
        let mut reported = new_kpi(r, "Uptime", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1));
        reported.reporter_id = Some(outsider);
        refusals.push((reported, "reporter"));
    }
    let mut foreign_party = new_kpi(r, "Uptime", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1));
    foreign_party.party_id = Some(other_party.id);
    refusals.push((foreign_party, "party"));
    let mut foreign_objective = new_kpi(r, "Uptime", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1));
    foreign_objective.objectives = vec![elsewhere.id];
    refusals.push((foreign_objective, "objectives"));
    for (new, field) in refusals {
        let kpi_name = new.name.clone();
        assert_eq!(refused_field(store.create_kpi(new, ann.id, clock.tick()).await), field, "{kpi_name}");
    }
    assert_eq!(store.chain_head(r).await.unwrap(), head);

    // Listed by name whatever its case.
    store
        .create_kpi(new_kpi(r, "backlog", Cadence::Weekly, lower(10.0, 20.0, 30.0), date(2026, 1, 5)), ann.id, clock.tick())
        .await
        .unwrap();
    // A list reads its links apart from its rows: each KPI gets its own, in id order.
    let mut defects = new_kpi(r, "Defects", Cadence::Quarterly, lower(0.0, 2.0, 5.0), date(2026, 1, 1));
    defects.objectives = vec![uptime.id.max(safety.id), uptime.id.min(safety.id)];
    let defects = store.create_kpi(defects, ann.id, clock.tick()).await.unwrap();
    // After a bulk load (a no-op on SQLite, VACUUM outside any transaction on PostgreSQL).
    store.settle().await.unwrap();
    let listed = store.kpis(r).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["Availability", "backlog", "Defects"]);
    assert_eq!((&listed[0], &listed[1].objectives), (&kpi, &Vec::new()));
    assert_eq!(
        (&listed[2], &listed[2].objectives),
        (&store.kpi(r, defects.id).await.unwrap(), &vec![uptime.id.min(safety.id), uptime.id.max(safety.id)])
    );

    // A new version of the thresholds, from a later period.
    let changed_at = clock.tick();
    let april = store.add_kpi_version(r, kpi.id, date(2026, 4, 1), higher(99.0, 97.0, 94.0), 1, s.cat.id, changed_at).await.unwrap();
    assert_eq!((april.version, april.thresholds, april.created_at), (2, higher(99.0, 97.0, 94.0), kpi.created_at));
    let versions = store.kpi_versions(r, kpi.id).await.unwrap();
    let told: Vec<(Date, Thresholds, Option<Uuid>)> = versions.iter().map(|v| (v.effective_from, v.thresholds, v.created_by)).collect();
    assert_eq!(
        told,
        [(date(2026, 1, 1), higher(98.0, 95.0, 90.0), Some(ann.id)), (date(2026, 4, 1), higher(99.0, 97.0, 94.0), Some(s.cat.id))]
    );
    assert_eq!(us(versions[1].created_at), us(changed_at));

    // Refused: not after the current version, not a period's first day, another direction, a stale version.
    let head = store.chain_head(r).await.unwrap();
    for from in [date(2026, 4, 1), date(2026, 3, 1), date(2026, 5, 15)] {
        let refused = store.add_kpi_version(r, kpi.id, from, higher(99.5, 98.0, 95.0), 2, ann.id, clock.tick()).await;
        assert_eq!(refused_field(refused), "effective_from", "{from}");
    }
    assert_eq!(
        refused_field(store.add_kpi_version(r, kpi.id, date(2026, 7, 1), lower(1.0, 2.0, 3.0), 2, ann.id, clock.tick()).await),
        "direction"
    );
    assert_eq!(stale(store.add_kpi_version(r, kpi.id, date(2026, 7, 1), higher(99.5, 98.0, 95.0), 1, ann.id, clock.tick()).await), 2);
    assert_eq!(
        not_found(store.add_kpi_version(other, kpi.id, date(2026, 7, 1), higher(99.5, 98.0, 95.0), 2, ann.id, clock.tick()).await),
        "KPI"
    );
    assert_eq!(not_found(store.kpi(other, kpi.id).await), "KPI");
    assert_eq!(not_found(store.kpi_versions(r, Uuid::nil()).await), "KPI");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.kpi(r, kpi.id).await.unwrap(), april);

    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["kpi.created", "kpi.created", "kpi.created", "kpi.thresholds_changed"]);
    // The second KPI is joint; its event is still its actor's party's.
    assert_eq!(
        (events[0].subject.clone(), events[0].party, events[1].party),
        (format!("kpi:{}", kpi.id), Some(s.north.id), Some(s.north.id))
    );
    assert_eq!(events[1].summary["party"], serde_json::Value::Null);
    assert_eq!(
        events[0].summary,
        json!({
            "name": "Availability", "unit": "%", "cadence": "monthly", "party": s.north.id, "reporter": ann.id, "objectives": [uptime.id],
            "thresholds": {"direction": "higher", "target": "98", "amber": "95", "red": "90"}, "effective_from": "2026-01-01",
        })
    );
    assert_eq!(
        events[3].summary,
        json!({
            "effective_from": "2026-04-01",
            "before": {"direction": "higher", "target": "98", "amber": "95", "red": "90"},
            "after": {"direction": "higher", "target": "99", "amber": "97", "red": "94"},
        })
    );
}

async fn measurements_keep_their_rag_and_history(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann, cat) = (&s.clock, s.r, &s.ann, &s.cat);
    let (other, other_party) = other_relationship(store, &s).await;
    let kpi = store
        .create_kpi(new_kpi(r, "Availability", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1)), ann.id, clock.tick())
        .await
        .unwrap();
    let mut foreign = new_kpi(other, "Availability", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1));
    foreign.party_id = Some(other_party.id);
    let foreign = store.create_kpi(foreign, cat.id, clock.tick()).await.unwrap();
    let start = position(store, r).await;
    let (jan, feb, mar, apr) = (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1));
    let rag_of = |list: &[Measurement]| -> Vec<(Date, f64, Rag)> { list.iter().map(|m| (m.period_start, m.value, m.rag)).collect() };

    // Recorded with the RAG under the thresholds in force.
    let t = clock.tick();
    let january = store.record_measurement(r, value(kpi.id, jan, 99.0, "All turbines up"), ann.id, t).await.unwrap();
    assert_eq!((january.kpi_id, january.period_start, january.value, january.comment.as_str()), (kpi.id, jan, 99.0, "All turbines up"));
    assert_eq!(
        (january.rag, january.entered_by, january.entered_by_name.as_str(), january.superseded_at),
        (Rag::Green, Some(ann.id), "Ann Adams", None)
    );
    assert_eq!(us(january.entered_at), us(t));
    let february = store.record_measurement(r, value(kpi.id, feb, 93.0, ""), ann.id, clock.tick()).await.unwrap();
    let march = store.record_measurement(r, value(kpi.id, mar, 80.0, ""), ann.id, clock.tick()).await.unwrap();
    assert_eq!((february.rag, march.rag), (Rag::Amber, Rag::Red));

    // A correction supersedes the earlier value; the history keeps both.
    let corrected_at = clock.tick();
    let recounted = store.record_measurement(r, value(kpi.id, feb, 96.0, "Recounted"), cat.id, corrected_at).await.unwrap();
    assert_ne!(recounted.id, february.id);
    assert_eq!((recounted.rag, recounted.entered_by, recounted.superseded_at), (Rag::Green, Some(cat.id), None));
    let history = store.measurement_history(r, kpi.id, feb).await.unwrap();
    let told: Vec<(Uuid, f64, Option<i64>)> = history.iter().map(|m| (m.id, m.value, m.superseded_at.map(us))).collect();
    assert_eq!(told, [(recounted.id, 96.0, None), (february.id, 93.0, Some(us(corrected_at)))]);
    assert_eq!(history[0], recounted);
    assert_eq!(
        rag_of(&store.measurements(r, kpi.id, None, 10).await.unwrap()),
        [(mar, 80.0, Rag::Red), (feb, 96.0, Rag::Green), (jan, 99.0, Rag::Green)]
    );
    assert_eq!(store.measurements(r, kpi.id, Some(mar), 1).await.unwrap(), std::slice::from_ref(&recounted));
    assert_eq!(store.measurements(r, kpi.id, Some(jan), 10).await.unwrap(), []);

    // The same value again writes nothing and records nothing.
    let head = store.chain_head(r).await.unwrap();
    let again = store.record_measurement(r, value(kpi.id, feb, 96.0, "Recounted"), ann.id, clock.tick()).await.unwrap();
    assert_eq!(again, recounted);
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.measurement_history(r, kpi.id, feb).await.unwrap().len(), 2);

    // New thresholds from April: the RAG stored for earlier periods stays as it was.
    store.add_kpi_version(r, kpi.id, apr, higher(99.0, 97.0, 94.0), 1, ann.id, clock.tick()).await.unwrap();
    assert_eq!(
        rag_of(&store.measurements(r, kpi.id, None, 10).await.unwrap()),
        [(mar, 80.0, Rag::Red), (feb, 96.0, Rag::Green), (jan, 99.0, Rag::Green)]
    );
    // April's value is judged by April's thresholds (96 would be green by January's) ...
    let april = store.record_measurement(r, value(kpi.id, apr, 96.0, ""), ann.id, clock.tick()).await.unwrap();
    assert_eq!(april.rag, Rag::Amber);
    // ... and a value written now for February by February's (95.5 would be amber by April's).
    let late = store.record_measurement(r, value(kpi.id, feb, 95.5, "Audited"), ann.id, clock.tick()).await.unwrap();
    assert_eq!(late.rag, Rag::Green);
    // A period before the first version is judged by the first.
    let december = store.record_measurement(r, value(kpi.id, date(2025, 12, 1), 94.0, ""), ann.id, clock.tick()).await.unwrap();
    assert_eq!(december.rag, Rag::Amber);
    assert_eq!(store.measurement_history(r, kpi.id, feb).await.unwrap().len(), 3);

    // Refused: a day that starts no period of the KPI; a KPI of another relationship.
    let head = store.chain_head(r).await.unwrap();
    assert_eq!(
        refused_field(store.record_measurement(r, value(kpi.id, date(2026, 2, 15), 97.0, ""), ann.id, clock.tick()).await),
        "period"
    );
    assert_eq!(not_found(store.record_measurement(r, value(foreign.id, feb, 97.0, ""), ann.id, clock.tick()).await), "KPI");
    assert_eq!(not_found(store.record_measurement(r, value(Uuid::nil(), feb, 97.0, ""), ann.id, clock.tick()).await), "KPI");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert!(store.measurements(other, foreign.id, None, 10).await.unwrap().is_empty());
    assert!(store.measurements(other, kpi.id, None, 10).await.unwrap().is_empty());

    // The latest n values of every KPI, oldest first within each.
    let defects = store
        .create_kpi(new_kpi(r, "Defects", Cadence::Weekly, lower(2.0, 5.0, 10.0), date(2026, 1, 5)), ann.id, clock.tick())
        .await
        .unwrap();
    for (week, count) in [(date(2026, 1, 5), 1.0), (date(2026, 1, 19), 12.0), (date(2026, 1, 12), 7.0)] {
        store.record_measurement(r, value(defects.id, week, count, ""), cat.id, clock.tick()).await.unwrap();
    }
    let recent: Vec<(Uuid, Date, Rag)> =
        store.recent_measurements(r, 2).await.unwrap().iter().map(|m| (m.kpi_id, m.period_start, m.rag)).collect();
    assert!(kpi.id < defects.id);
    assert_eq!(
        recent,
        [
            (kpi.id, mar, Rag::Red),
            (kpi.id, apr, Rag::Amber),
            (defects.id, date(2026, 1, 12), Rag::Amber),
            (defects.id, date(2026, 1, 19), Rag::Red)
        ]
    );
    let all = store.recent_measurements(r, 10).await.unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.iter().all(|m| m.superseded_at.is_none()));
    assert_eq!(all[2], late);
    scorecard_keeps_the_latest(store, r, 8).await;
    // What a migration leaves empty, migrating fills in.
    assert_eq!(db.raw_execute("UPDATE kpi SET recent = NULL").await, Ok(3));
    db.store.migrate().await.unwrap();
    scorecard_keeps_the_latest(store, r, 8).await;

    let events = events_after(store, r, start).await;
    assert_eq!(
        kinds(&events),
        [
            "measurement.recorded",
            "measurement.recorded",
            "measurement.recorded",
            "measurement.corrected",
            "kpi.thresholds_changed",
            "measurement.recorded",
            "measurement.corrected",
            "measurement.recorded",
            "kpi.created",
            "measurement.recorded",
            "measurement.recorded",
            "measurement.recorded",
        ]
    );
    assert_eq!((events[0].subject.clone(), events[0].actor), (format!("measurement:{}", january.id), Some(ann.id)));
    assert_eq!(events[0].summary, json!({"kpi": kpi.id, "period": "2026-01-01", "value": "99", "rag": "green"}));
    assert_eq!(
        (events[3].subject.clone(), events[3].actor, events[3].summary.clone()),
        (
            format!("measurement:{}", recounted.id),
            Some(cat.id),
            json!({"kpi": kpi.id, "period": "2026-02-01", "value": "96", "rag": "green", "before": {"value": "93", "rag": "amber"}})
        )
    );
    assert_eq!(events[6].summary["value"], "95.5");
}

/// Corrections of one period made at once: each supersedes the one before it, and one value is current.
async fn concurrent_corrections_keep_one_current_value(db: TestDb) {
    let store: Arc<dyn Store> = db.store.clone();
    let s = invitations_setup(store.as_ref()).await;
    let (clock, r, ann) = (&s.clock, s.r, s.ann.id);
    let kpi = store
        .create_kpi(new_kpi(r, "Availability", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1)), ann, clock.tick())
        .await
        .unwrap();
    let start = position(store.as_ref(), r).await;
    let feb = date(2026, 2, 1);

    // At one instant, so that the history's order (newest first) is the order of writing.
    let now = clock.tick();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.spawn(async move { store.record_measurement(r, value(kpi.id, feb, 90.0 + f64::from(i), ""), ann, now).await.map(|_| ()) });
    }
    let outcomes = tasks.join_all().await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let history = store.measurement_history(r, kpi.id, feb).await.unwrap();
    assert_eq!(history.len(), 8);
    assert_eq!(history.iter().filter(|m| m.superseded_at.is_none()).count(), 1);
    assert_eq!(store.measurements(r, kpi.id, None, 10).await.unwrap(), history[..1]);

    // The chain tells one story: each correction names the value it replaced.
    let events = events_after(store.as_ref(), r, start).await;
    let mut expected = vec!["measurement.corrected"; 8];
    expected[0] = "measurement.recorded";
    assert_eq!(kinds(&events), expected);
    for pair in events.windows(2) {
        assert_eq!(pair[1].summary["before"]["value"], pair[0].summary["value"]);
    }
    assert_eq!(events[7].summary["value"], json!(format_value(history[0].value)));

    // New thresholds from the same version at once: one wins.
    let mut tasks = tokio::task::JoinSet::new();
    for month in 2..8 {
        let (store, now) = (store.clone(), clock.tick());
        tasks.spawn(async move {
            store.add_kpi_version(r, kpi.id, date(2026, month, 1), higher(99.0, 97.0, 94.0), 1, ann, now).await.map(|k| k.version)
        });
    }
    let outcomes = tasks.join_all().await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Ok(2) | Err(StoreError::Stale { current: 2 }))), "{outcomes:?}");
    assert_eq!(store.kpi_versions(r, kpi.id).await.unwrap().len(), 2);
}

async fn imports_are_all_or_nothing(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);
    let (other, other_party) = other_relationship(store, &s).await;
    let day = |d: i8| date(2026, 3, d);
    let calls = store
        .create_kpi(new_kpi(r, "Calls answered", Cadence::Daily, higher(95.0, 90.0, 80.0), day(1)), ann.id, clock.tick())
        .await
        .unwrap();
    let complaints =
        store.create_kpi(new_kpi(r, "Complaints", Cadence::Daily, lower(0.0, 2.0, 5.0), day(1)), ann.id, clock.tick()).await.unwrap();
    let mut foreign = new_kpi(other, "Calls answered", Cadence::Daily, higher(95.0, 90.0, 80.0), day(1));
    foreign.party_id = Some(other_party.id);
    let foreign = store.create_kpi(foreign, s.cat.id, clock.tick()).await.unwrap();
    let first = store.record_measurement(r, value(calls.id, day(1), 91.0, ""), ann.id, clock.tick()).await.unwrap();

    // One row of another relationship's KPI: the whole file is refused, naming the row.
    let head = store.chain_head(r).await.unwrap();
    let bad = vec![value(calls.id, day(2), 97.0, ""), value(calls.id, day(1), 99.0, ""), value(foreign.id, day(1), 1.0, "")];
    assert_eq!(refused_field(store.import_measurements(r, bad, "sha-bad", Some(ann.id), clock.tick()).await), "rows[2]");
    let unknown = vec![value(Uuid::nil(), day(1), 1.0, "")];
    assert_eq!(refused_field(store.import_measurements(r, unknown, "sha-bad", Some(ann.id), clock.tick()).await), "rows[0]");
    let off_period = vec![value(calls.id, day(2), 97.0, "")];
    assert_eq!(not_found(store.import_measurements(Uuid::nil(), off_period, "sha-bad", Some(ann.id), clock.tick()).await), "relationship");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.measurements(r, calls.id, None, 10).await.unwrap(), std::slice::from_ref(&first));
    assert_eq!(store.measurement_history(r, calls.id, day(1)).await.unwrap(), std::slice::from_ref(&first));
    assert!(store.measurements(other, foreign.id, None, 10).await.unwrap().is_empty());

    // A good file: added, corrected and unchanged values, and one event for all of them. Rows
    // are applied in order, so a later row of the same period corrects an earlier one.
    let rows = vec![
        value(calls.id, day(1), 91.0, ""),        // unchanged
        value(calls.id, day(2), 97.0, ""),        // added
        value(calls.id, day(1), 79.0, "Outage"),  // corrected
        value(complaints.id, day(1), 1.0, ""),    // added
        value(complaints.id, day(1), 1.0, ""),    // unchanged: the same as the row before
        value(complaints.id, day(2), 3.0, ""),    // added
        value(complaints.id, day(2), 0.0, "Dup"), // corrected, in the same file
    ];
    let imported_at = clock.tick();
    let summary = store.import_measurements(r, rows, "c0ffee", Some(ann.id), imported_at).await.unwrap();
    assert_eq!(summary, ImportSummary { added: 3, corrected: 2, unchanged: 2 });
    let history = |kpi: Uuid, d: i8| async move {
        let list = store.measurement_history(r, kpi, day(d)).await.unwrap();
        list.iter().map(|m| (m.value, m.rag, m.comment.clone(), m.superseded_at.map(us))).collect::<Vec<_>>()
    };
    let at_import = Some(us(imported_at));
    assert_eq!(history(calls.id, 1).await, [(79.0, Rag::Red, "Outage".into(), None), (91.0, Rag::Green, String::new(), at_import)]);
    assert_eq!(history(calls.id, 2).await, [(97.0, Rag::Green, String::new(), None)]);
    assert_eq!(history(complaints.id, 1).await, [(1.0, Rag::Green, String::new(), None)]);
    assert_eq!(history(complaints.id, 2).await, [(0.0, Rag::Green, "Dup".into(), None), (3.0, Rag::Amber, String::new(), at_import)]);
    let latest = &store.measurements(r, complaints.id, None, 1).await.unwrap()[0];
    assert_eq!((latest.entered_by, latest.entered_by_name.as_str(), us(latest.entered_at)), (Some(ann.id), "Ann Adams", us(imported_at)));

    let events = events_after(store, r, head.as_ref().unwrap().position).await;
    assert_eq!(kinds(&events), ["measurements.imported"]);
    assert!(events[0].subject.starts_with("import:"), "{}", events[0].subject);
    assert_eq!((events[0].actor, us(events[0].time)), (Some(ann.id), us(imported_at)));
    assert_eq!(events[0].summary, json!({"file_sha256": "c0ffee", "rows": 7, "added": 3, "corrected": 2, "unchanged": 2}));

    // Imported by no one (a scheduled job): entered by nobody.
    let head = store.chain_head(r).await.unwrap().unwrap().position;
    let summary = store.import_measurements(r, vec![value(calls.id, day(3), 85.0, "")], "beef", None, clock.tick()).await.unwrap();
    assert_eq!(summary, ImportSummary { added: 1, corrected: 0, unchanged: 0 });
    let latest = &store.measurements(r, calls.id, None, 1).await.unwrap()[0];
    assert_eq!((latest.period_start, latest.rag, latest.entered_by, latest.entered_by_name.as_str()), (day(3), Rag::Amber, None, ""));
    let events = events_after(store, r, head).await;
    assert_eq!((kinds(&events), events[0].actor), (vec!["measurements.imported"], None));
}

/// 100 daily KPIs × 500 days in one file, in one transaction; then the same file again.
async fn a_large_import(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);
    let first_day = date(2025, 1, 1);
    let mut kpis = Vec::new();
    for i in 0..100 {
        let new = new_kpi(r, &format!("Line {i:03}"), Cadence::Daily, higher(95.0, 90.0, 80.0), first_day);
        kpis.push(store.create_kpi(new, ann.id, clock.tick()).await.unwrap());
    }
    let reading = |k: usize, d: usize| 70.0 + ((k * 7 + d) % 31) as f64;
    let mut rows = Vec::with_capacity(50_000);
    for d in 0..500 {
        let period = first_day.checked_add(jiff::Span::new().days(d as i64)).unwrap();
        for (k, kpi) in kpis.iter().enumerate() {
            rows.push(value(kpi.id, period, reading(k, d), ""));
        }
    }
    let head = store.chain_head(r).await.unwrap().unwrap().position;

    let started = std::time::Instant::now();
    let summary = store.import_measurements(r, rows.clone(), "large", Some(ann.id), clock.tick()).await.unwrap();
    eprintln!("{}: imported 50,000 new values in {:?}", db.backend(), started.elapsed());
    assert_eq!(summary, ImportSummary { added: 50_000, corrected: 0, unchanged: 0 });

    let started = std::time::Instant::now();
    let summary = store.import_measurements(r, rows, "large", Some(ann.id), clock.tick()).await.unwrap();
    eprintln!("{}: imported the same 50,000 values again in {:?}", db.backend(), started.elapsed());
    assert_eq!(summary, ImportSummary { added: 0, corrected: 0, unchanged: 50_000 });

    let line = store.measurements(r, kpis[42].id, None, 1000).await.unwrap();
    assert_eq!(line.len(), 500);
    assert_eq!(line[0].period_start, date(2026, 5, 15));
    let thresholds = higher(95.0, 90.0, 80.0);
    assert!(line.iter().enumerate().all(|(i, m)| m.value == reading(42, 499 - i) && m.rag == thresholds.rag(m.value)));
    assert_eq!(store.recent_measurements(r, 1).await.unwrap().len(), 100);
    scorecard_keeps_the_latest(store, r, 100 * RECENT).await;
    // A correction among the latest values reaches the scorecard.
    let corrected = value(kpis[7].id, date(2026, 5, 14), 12.5, "recount");
    store.import_measurements(r, vec![corrected], "fix", Some(ann.id), clock.tick()).await.unwrap();
    let kept = scorecard_keeps_the_latest(store, r, 100 * RECENT).await;
    assert!(kept.contains(&(kpis[7].id, date(2026, 5, 14), 12.5, Rag::Red)), "the corrected value is kept");
    assert_eq!(kinds(&events_after(store, r, head).await), ["measurements.imported", "measurements.imported", "measurements.imported"]);
}

/// The values the scorecard reads (kept beside each KPI) are the latest current values, and
/// there are `expected` of them.
async fn scorecard_keeps_the_latest(store: &dyn Store, r: Uuid, expected: usize) -> Vec<(Uuid, Date, f64, Rag)> {
    let kept: Vec<(Uuid, Date, f64, Rag)> = view_alone::<ScorecardView>(store, r, ViewRequest::Scorecard)
        .await
        .recent
        .iter()
        .map(|m| (m.kpi_id, m.period_start, m.value, m.rag))
        .collect();
    let mut latest: Vec<(Uuid, Date, f64, Rag)> =
        store.recent_measurements(r, RECENT as u32).await.unwrap().iter().map(|m| (m.kpi_id, m.period_start, m.value, m.rag)).collect();
    let mut sorted = kept.clone();
    sorted.sort_by_key(|m| (m.0, m.1));
    latest.sort_by_key(|m| (m.0, m.1));
    assert_eq!(sorted, latest);
    assert_eq!(kept.len(), expected);
    kept
}

async fn obligations_open_first_by_due_date(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);
    let (other, other_party) = other_relationship(store, &s).await;
    let start = position(store, r).await;
    let new_obligation = |party: &Party, title: &str, recurrence: &str, due_date: Date| NewObligation {
        relationship_id: r,
        party_id: party.id,
        title: title.into(),
        description: format!("{title}, per schedule 4"),
        recurrence: recurrence.into(),
        due_date,
    };

    let report = store
        .create_obligation(new_obligation(&s.north, "Monthly report", "monthly", date(2026, 4, 10)), ann.id, clock.tick())
        .await
        .unwrap();
    assert_eq!((report.relationship_id, report.party_id, report.party_name.as_str()), (r, s.north.id, "Northwind"));
    assert_eq!(
        (report.title.as_str(), report.description.as_str(), report.recurrence.as_str()),
        ("Monthly report", "Monthly report, per schedule 4", "monthly")
    );
    assert_eq!(
        (report.due_date, report.status, report.evidence.as_str(), report.version),
        (date(2026, 4, 10), ObligationStatus::NotStarted, "", 1)
    );
    assert_eq!(store.obligation(r, report.id).await.unwrap(), report);
    let mut created = vec![report.clone()];
    for (party, title, recurrence, due) in [
        (&s.harbour, "Spares list", "once", date(2026, 3, 15)),
        (&s.north, "Annual audit", "yearly", date(2026, 12, 31)),
        (&s.harbour, "Safety drill", "quarterly", date(2026, 2, 1)),
        (&s.tidal, "Grid report", "weekly", date(2026, 1, 10)),
    ] {
        created.push(store.create_obligation(new_obligation(party, title, recurrence, due), ann.id, clock.tick()).await.unwrap());
    }
    let [_, spares, _, drill, grid] = <[Obligation; 5]>::try_from(created).unwrap();

    // A party of another relationship: refused, nothing written.
    let head = store.chain_head(r).await.unwrap();
    assert_eq!(
        refused_field(
            store.create_obligation(new_obligation(&other_party, "Dredge", "once", date(2026, 5, 1)), ann.id, clock.tick()).await
        ),
        "party"
    );
    assert_eq!(store.chain_head(r).await.unwrap(), head);

    // Updates at the version read.
    let change = |status, evidence: &str, due_date| ObligationChange { status, evidence: evidence.into(), due_date };
    let delivered = store
        .update_obligation(r, drill.id, change(ObligationStatus::Delivered, "Drill log", date(2026, 2, 1)), 1, s.cat.id, clock.tick())
        .await
        .unwrap();
    assert_eq!((delivered.version, delivered.status, delivered.evidence.as_str()), (2, ObligationStatus::Delivered, "Drill log"));
    let head = store.chain_head(r).await.unwrap();
    assert_eq!(
        stale(store.update_obligation(r, drill.id, change(ObligationStatus::Missed, "", date(2026, 2, 1)), 1, ann.id, clock.tick()).await),
        2
    );
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    assert_eq!(store.obligation(r, drill.id).await.unwrap(), delivered);
    store
        .update_obligation(r, spares.id, change(ObligationStatus::AtRisk, "Supplier late", date(2026, 3, 20)), 1, ann.id, clock.tick())
        .await
        .unwrap();
    store.update_obligation(r, grid.id, change(ObligationStatus::Missed, "", date(2026, 1, 10)), 1, ann.id, clock.tick()).await.unwrap();

    // Open ones first by due date, then delivered and missed by due date.
    let order: Vec<(String, ObligationStatus)> = store.obligations(r).await.unwrap().into_iter().map(|o| (o.title, o.status)).collect();
    let expected = [
        ("Spares list", ObligationStatus::AtRisk),
        ("Monthly report", ObligationStatus::NotStarted),
        ("Annual audit", ObligationStatus::NotStarted),
        ("Grid report", ObligationStatus::Missed),
        ("Safety drill", ObligationStatus::Delivered),
    ];
    assert_eq!(order, expected.map(|(t, status)| (t.to_owned(), status)));

    assert_eq!(not_found(store.obligation(other, report.id).await), "obligation");
    assert_eq!(
        not_found(
            store
                .update_obligation(other, report.id, change(ObligationStatus::OnTrack, "", date(2026, 4, 10)), 1, ann.id, clock.tick())
                .await
        ),
        "obligation"
    );
    assert!(store.obligations(other).await.unwrap().is_empty());

    let events = events_after(store, r, start).await;
    let mut expected = vec!["obligation.created"; 5];
    expected.extend(["obligation.updated"; 3]);
    assert_eq!(kinds(&events), expected);
    assert_eq!((events[0].subject.clone(), events[0].party), (format!("obligation:{}", report.id), Some(s.north.id)));
    assert_eq!(
        events[0].summary,
        json!({"title": "Monthly report", "party": s.north.id, "recurrence": "monthly", "due_date": "2026-04-10"})
    );
    assert_eq!((events[5].actor, events[5].party), (Some(s.cat.id), Some(s.harbour.id)));
    assert_eq!(
        events[5].summary,
        json!({
            "party": drill.party_id,
            "before": {"status": "not_started", "due_date": "2026-02-01", "evidence": ""},
            "after": {"status": "delivered", "due_date": "2026-02-01", "evidence": "Drill log"},
        })
    );
}

async fn actions_and_their_owners(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann, cat) = (&s.clock, s.r, &s.ann, &s.cat);
    let (other, other_party) = other_relationship(store, &s).await;
    let kpi = store
        .create_kpi(new_kpi(r, "Availability", Cadence::Monthly, higher(98.0, 95.0, 90.0), date(2026, 1, 1)), ann.id, clock.tick())
        .await
        .unwrap();
    let start = position(store, r).await;
    let source = ActionSource { kind: "kpi_period".into(), id: kpi.id, period: Some(date(2026, 3, 1)) };
    let new_action = |owner: Option<Uuid>, party: &Party| NewAction {
        relationship_id: r,
        title: "Replace the gearbox".into(),
        description: "Turbine 7 is down again".into(),
        owner_id: owner,
        party_id: party.id,
        due_date: date(2026, 4, 15),
        source: Some(source.clone()),
    };

    let t = clock.tick();
    let gearbox = store.create_action(new_action(Some(cat.id), &s.harbour), ann.id, t).await.unwrap();
    assert_eq!(
        (gearbox.relationship_id, gearbox.title.as_str(), gearbox.description.as_str()),
        (r, "Replace the gearbox", "Turbine 7 is down again")
    );
    assert_eq!(
        (gearbox.owner_id, gearbox.owner_name.as_str(), gearbox.party_id, gearbox.party_name.as_str()),
        (Some(cat.id), "Cat Cole", s.harbour.id, "Harbour Works")
    );
    assert_eq!(
        (gearbox.due_date, gearbox.status, gearbox.source.clone(), gearbox.version),
        (date(2026, 4, 15), ActionStatus::Open, Some(source.clone()), 1)
    );
    assert_eq!(us(gearbox.created_at), us(t));
    assert_eq!(store.action(r, gearbox.id).await.unwrap(), gearbox);
    let unowned = NewAction { owner_id: None, source: None, ..new_action(None, &s.north) };
    let unowned = store.create_action(unowned, ann.id, clock.tick()).await.unwrap();
    assert_eq!((unowned.owner_id, unowned.owner_name.as_str(), unowned.source.clone()), (None, "", None));

    // Refused: an owner who is not a member, a party of another relationship.
    let head = store.chain_head(r).await.unwrap();
    assert_eq!(refused_field(store.create_action(new_action(Some(s.bob.id), &s.north), ann.id, clock.tick()).await), "owner");
    assert_eq!(refused_field(store.create_action(new_action(Some(s.out.id), &s.north), ann.id, clock.tick()).await), "owner");
    assert_eq!(refused_field(store.create_action(new_action(None, &other_party), ann.id, clock.tick()).await), "party");
    assert_eq!(store.chain_head(r).await.unwrap(), head);

    // Updates at the version read.
    let change = ActionChange { status: ActionStatus::InProgress, owner_id: Some(ann.id), due_date: date(2026, 4, 30) };
    let moved = store.update_action(r, gearbox.id, change.clone(), 1, cat.id, clock.tick()).await.unwrap();
    assert_eq!(
        (moved.version, moved.status, moved.owner_id, moved.owner_name.as_str(), moved.due_date),
        (2, ActionStatus::InProgress, Some(ann.id), "Ann Adams", date(2026, 4, 30))
    );
    assert_eq!((moved.source, moved.created_at), (gearbox.source.clone(), gearbox.created_at));
    let head = store.chain_head(r).await.unwrap();
    assert_eq!(stale(store.update_action(r, gearbox.id, change.clone(), 1, cat.id, clock.tick()).await), 2);
    let to_outsider = ActionChange { owner_id: Some(s.bob.id), ..change.clone() };
    assert_eq!(refused_field(store.update_action(r, gearbox.id, to_outsider, 2, cat.id, clock.tick()).await), "owner");
    assert_eq!(not_found(store.update_action(other, gearbox.id, change.clone(), 2, cat.id, clock.tick()).await), "action");
    assert_eq!(not_found(store.action(other, gearbox.id).await), "action");
    assert_eq!(store.chain_head(r).await.unwrap(), head);
    let done = ActionChange { status: ActionStatus::Done, owner_id: None, due_date: date(2026, 4, 30) };
    let done = store.update_action(r, gearbox.id, done, 2, cat.id, clock.tick()).await.unwrap();
    assert_eq!((done.version, done.status, done.owner_id, done.owner_name.as_str()), (3, ActionStatus::Done, None, ""));

    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["action.created", "action.created", "action.updated", "action.updated"]);
    // Ann (Northwind) raised both, one of them for Harbour Works: each event is Northwind's.
    assert_eq!(
        (events[0].subject.clone(), events[0].party, events[1].party),
        (format!("action:{}", gearbox.id), Some(s.north.id), Some(s.north.id))
    );
    assert_eq!(
        events[0].summary,
        json!({"title": "Replace the gearbox", "party": s.harbour.id, "owner": cat.id, "due_date": "2026-04-15", "source": {"kind": "kpi_period", "id": kpi.id, "period": "2026-03-01"}})
    );
    assert_eq!(
        (events[2].party, events[2].summary.clone()),
        (
            Some(s.harbour.id),
            json!({
                "party": s.harbour.id,
                "before": {"status": "open", "owner": cat.id, "due_date": "2026-04-15"},
                "after": {"status": "in_progress", "owner": ann.id, "due_date": "2026-04-30"},
            })
        )
    );
}

/// Every kind of source an action can come from is found where its kind says (the one lookup per
/// kind both backends run), read back as given and hashed into the chain; the id of a record of
/// another kind is refused.
async fn actions_come_from_every_source_kind(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);
    let kpi = store
        .create_kpi(new_kpi(r, "Availability", Cadence::Quarterly, higher(98.0, 95.0, 90.0), date(2026, 1, 1)), ann.id, clock.tick())
        .await
        .unwrap();
    let new_obligation = NewObligation {
        relationship_id: r,
        party_id: s.north.id,
        title: "Monthly report".into(),
        description: String::new(),
        recurrence: "monthly".into(),
        due_date: date(2026, 4, 10),
    };
    let obligation = store.create_obligation(new_obligation, ann.id, clock.tick()).await.unwrap();
    let new_action = |source: ActionSource| NewAction {
        relationship_id: r,
        title: "Follow up".into(),
        description: String::new(),
        owner_id: None,
        party_id: s.north.id,
        due_date: date(2026, 5, 1),
        source: Some(source),
    };
    for kind in SourceKind::ALL {
        // What a source of this kind names, and the id of a record of another kind.
        let (id, period, other) = match kind {
            SourceKind::KpiPeriod => (kpi.id, Some(date(2026, 4, 1)), obligation.id),
            SourceKind::Obligation => (obligation.id, None, kpi.id),
            // An agenda item needs a meeting: told in reviews.rs' story.
            SourceKind::MeetingItem => continue,
        };
        let source = ActionSource { kind: kind.as_str().into(), id, period };
        let action = store.create_action(new_action(source.clone()), ann.id, clock.tick()).await.unwrap();
        assert_eq!(action.source.as_ref(), Some(&source), "{}", kind.as_str());
        assert_eq!(store.action(r, action.id).await.unwrap().source, Some(source.clone()));
        let event = verified_events(store, r).await.pop().unwrap();
        assert_eq!(event.summary["source"], json!(source), "{}", kind.as_str());

        let head = store.chain_head(r).await.unwrap();
        let wrong = ActionSource { id: other, ..source };
        assert_eq!(refused_field(store.create_action(new_action(wrong), ann.id, clock.tick()).await), "source_id", "{}", kind.as_str());
        assert_eq!(store.chain_head(r).await.unwrap(), head);
    }
}

/// Every action `filter` lets through, a page of `limit` at a time after the last one seen.
async fn every_page(store: &dyn Store, r: Uuid, filter: ActionFilter, limit: u32) -> (Vec<Action>, Vec<usize>) {
    let (mut seen, mut sizes) = (Vec::new(), Vec::new());
    let mut after = None;
    loop {
        let page = store.actions(r, filter, after, limit).await.unwrap();
        sizes.push(page.len());
        let Some(last) = page.last() else { break };
        after = Some((last.due_date, last.id));
        seen.extend(page);
    }
    (seen, sizes)
}

async fn actions_page_by_due_date(db: TestDb) {
    let store = db.store.as_ref();
    let s = invitations_setup(store).await;
    let (clock, r, ann) = (&s.clock, s.r, &s.ann);
    // 25 actions on 9 due dates (so that several share one), some of them closed.
    let mut actions = Vec::new();
    for i in 0..25 {
        let due_date = date(2026, 3, 1).checked_add(jiff::Span::new().days((i * 5) % 9)).unwrap();
        let new = NewAction {
            relationship_id: r,
            title: format!("Action {i}"),
            description: String::new(),
            owner_id: Some(ann.id),
            party_id: s.north.id,
            due_date,
            source: None,
        };
        let action = store.create_action(new, ann.id, clock.tick()).await.unwrap();
        let status = [ActionStatus::Done, ActionStatus::Cancelled, ActionStatus::InProgress, ActionStatus::Open][i as usize % 4];
        let action = if status == ActionStatus::Open {
            action
        } else {
            let change = ActionChange { status, owner_id: action.owner_id, due_date };
            store.update_action(r, action.id, change, 1, ann.id, clock.tick()).await.unwrap()
        };
        actions.push(action);
    }
    actions.sort_by_key(|a| (a.due_date, a.id));
    assert!(actions.windows(2).any(|w| w[0].due_date == w[1].due_date));

    // Each once, in (due date, id) order.
    let (all, sizes) = every_page(store, r, ActionFilter::All, 10).await;
    assert_eq!(sizes, [10, 10, 5, 0]);
    assert_eq!(all, actions);
    let (open, _) = every_page(store, r, ActionFilter::Open, 10).await;
    let (closed, _) = every_page(store, r, ActionFilter::Closed, 10).await;
    let open_expected: Vec<Action> = actions.iter().filter(|a| a.status.open()).cloned().collect();
    let closed_expected: Vec<Action> = actions.iter().filter(|a| !a.status.open()).cloned().collect();
    assert_eq!((open.len(), closed.len()), (12, 13));
    assert_eq!((open, closed), (open_expected, closed_expected));
    // A page starts after the key it is given, even in the middle of a day.
    let (a, b) = actions.windows(2).map(|w| (&w[0], &w[1])).find(|(a, b)| a.due_date == b.due_date).unwrap();
    assert_eq!(store.actions(r, ActionFilter::All, Some((a.due_date, a.id)), 1).await.unwrap(), std::slice::from_ref(b));
    assert!(store.actions(s.r, ActionFilter::All, Some((date(2026, 12, 31), Uuid::nil())), 10).await.unwrap().is_empty());
}

// Issues: the ladder, raising, the sweep, proposals, notes, the inbox and the outbox.

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Monday 18 January 2027, 10:00 in London (GMT): issues raised then are due, after 5 working
/// days, on Monday 25 January at 10:00; the reminder falls on Friday 22 January at 10:00.
const MONDAY: &str = "2027-01-18T10:00:00Z";
const DUE_0: &str = "2027-01-25T10:00:00Z";
const REMIND_0: &str = "2027-01-22T10:00:00Z";
/// The next deadlines of the default ladder for an issue raised on MONDAY and never resolved:
/// 10, 10 and 20 working days after each other.
const DUE_1: &str = "2027-02-08T10:00:00Z";
const DUE_2: &str = "2027-02-22T10:00:00Z";
const DUE_3: &str = "2027-03-22T10:00:00Z";

/// North Sea Wind between Northwind and Harbour Works (and Tidal Energy with `three_parties`).
struct IssueSetup {
    r: Uuid,
    north: Party,
    harbour: Party,
    /// Northwind: Ann the SER, Bob a contributor, Jim on the JMT.
    ann: User,
    bob: User,
    jim: User,
    /// Harbour Works: Cat the SER, Dan a contributor, Kay on the JMT.
    cat: User,
    dan: User,
    kay: User,
    /// Tidal Energy's contributor, a member only with three parties.
    tom: User,
    /// Of Outsider Ltd, no member.
    out: User,
}

async fn issue_setup(store: &dyn Store, three_parties: bool) -> IssueSetup {
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
        ("jim@northwind.example", "Jim Jones", northwind),
        ("cat@harbour.example", "Cat Cole", harbour),
        ("dan@harbour.example", "Dan Dale", harbour),
        ("kay@harbour.example", "Kay King", harbour),
        ("tom@tidal.example", "Tom Tide", tidal),
        ("out@outsider.example", "Otto Out", outsider),
    ] {
        users.push(store.create_user(new_user(email, full_name, organisation), None, clock.tick()).await.unwrap());
    }
    let [ann, bob, jim, cat, dan, kay, tom, out] = <[User; 8]>::try_from(users).unwrap();
    let parties: Vec<&Organisation> = if three_parties { vec![northwind, harbour, tidal] } else { vec![northwind, harbour] };
    let r = store.create_relationship(new_relationship("North Sea Wind", &parties), None, clock.tick()).await.unwrap().id;
    let mut members = vec![(&ann, Role::Ser), (&bob, Role::Contributor), (&jim, Role::Jmt), (&cat, Role::Ser), (&dan, Role::Contributor)];
    members.push((&kay, Role::Jmt));
    if three_parties {
        members.push((&tom, Role::Contributor));
    }
    for (user, role) in members {
        store.add_member(r, user.id, role, None, clock.tick()).await.unwrap();
    }
    let parties = store.parties(r).await.unwrap();
    let (north, harbour) = (parties[0].clone(), parties[1].clone());
    IssueSetup { r, north, harbour, ann, bob, jim, cat, dan, kay, tom, out }
}

fn new_issue(r: Uuid, title: &str) -> NewIssue {
    NewIssue {
        relationship_id: r,
        title: title.into(),
        description: format!("{title}: the contract says otherwise"),
        category: "Delivery".into(),
        severity: "medium".into(),
        links: Vec::new(),
    }
}

/// (kind, title) of a user's notifications, newest first.
async fn inbox_of(store: &dyn Store, user: &User) -> Vec<(String, String)> {
    store.inbox(user.id, 1000).await.unwrap().into_iter().map(|n| (n.kind, n.title)).collect()
}

/// (level, open, resolved) per level.
async fn figures(store: &dyn Store, r: Uuid) -> Vec<(i32, i64, i64)> {
    store.issue_stats(r).await.unwrap().iter().map(|s| (s.level, s.open, s.resolved)).collect()
}

/// (kind, from level, to level) of the timeline as `viewer` sees it.
async fn timeline(store: &dyn Store, r: Uuid, issue: Uuid, viewer: Option<Uuid>) -> Vec<(String, Option<i32>, Option<i32>)> {
    store.issue_timeline(r, issue, viewer).await.unwrap().into_iter().map(|e| (e.kind, e.from_level, e.to_level)).collect()
}

fn entry(kind: &str, from: Option<i32>, to: Option<i32>) -> (String, Option<i32>, Option<i32>) {
    (kind.to_owned(), from, to)
}

fn report(escalated: u64, reminded: u64) -> SweepReport {
    SweepReport { escalated, reminded }
}

/// The default ladder until one is saved; a saved ladder is versioned, refused when stale or
/// when a level has nobody to handle it; an issue climbs the version it was raised under.
async fn ladder_versions(db: TestDb) {
    let store = db.store.as_ref();
    let s = issue_setup(store, false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    assert_eq!(store.ladder(r).await.unwrap(), Ladder::default_ladder());
    assert_eq!(store.ladder(r).await.unwrap().version, 0);
    assert_eq!(not_found(store.ladder_version(r, 1).await), "ladder version");

    let level = |name: &str, roles: Vec<Role>, members: Vec<Uuid>, limit| LadderLevel { name: name.into(), roles, members, limit };
    let start = position(store, r).await;
    assert_eq!(refused_field(store.save_ladder(r, vec![], 0, s.ann.id, monday).await), "levels");
    let nobody = vec![level("Managers", vec![Role::Jmt], vec![], Limit::Hours(2)), level("Nobody", vec![], vec![], Limit::Hours(2))];
    assert_eq!(refused_field(store.save_ladder(r, nobody, 0, s.ann.id, monday).await), "levels[1].handlers");
    let outsider = vec![level("Managers", vec![], vec![s.out.id], Limit::Hours(2))];
    assert_eq!(refused_field(store.save_ladder(r, outsider, 0, s.ann.id, monday).await), "levels[0].members");
    assert_eq!(position(store, r).await, start, "nothing refused is recorded");
    assert_eq!(store.ladder(r).await.unwrap().version, 0);

    let first = vec![
        level("Managers", vec![Role::Jmt], vec![], Limit::Hours(2)),
        level("Directors", vec![], vec![s.ann.id, s.cat.id], Limit::WorkingDays(1)),
    ];
    let saved = store.save_ladder(r, first.clone(), 0, s.ann.id, monday).await.unwrap();
    assert_eq!((saved.version, &saved.levels, saved.created_at), (1, &first, Some(monday)));
    assert_eq!(store.ladder(r).await.unwrap(), saved);
    assert_eq!(stale(store.save_ladder(r, first.clone(), 0, s.cat.id, monday).await), 1);
    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["ladder.saved"]);
    assert_eq!(events[0].summary["version"], 1);
    assert_eq!(events[0].summary["levels"][1]["limit"], "1 working day");

    // Raised under version 1, which version 2 does not change.
    let old = store.create_issue(new_issue(r, "Late drawings"), s.bob.id, at(monday, 60)).await.unwrap();
    assert_eq!((old.ladder_version, old.level, old.deadline), (1, 0, ts("2027-01-18T12:01:00Z")));
    let second = vec![
        level("Working level", vec![Role::Contributor], vec![], Limit::Minutes(30)),
        level("Managers", vec![Role::Jmt], vec![], Limit::Hours(4)),
        level("Executives", vec![Role::Ser], vec![], Limit::WorkingDays(5)),
    ];
    let saved = store.save_ladder(r, second.clone(), 1, s.cat.id, at(monday, 120)).await.unwrap();
    assert_eq!((saved.version, &saved.levels), (2, &second));
    assert_eq!(store.ladder_version(r, 1).await.unwrap().levels, first);
    assert_eq!(store.ladder(r).await.unwrap().levels, second);
    let new = store.create_issue(new_issue(r, "Wrong invoices"), s.dan.id, at(monday, 180)).await.unwrap();
    assert_eq!((new.ladder_version, new.deadline), (2, ts("2027-01-18T10:33:00Z")));

    // 12:30: the old issue climbs to its Directors (1 working day from 12:01), the new one to
    // Managers (4 hours from 10:33).
    assert_eq!(store.sweep(ts("2027-01-18T12:30:00Z")).await.unwrap(), report(2, 0));
    let old_now = store.issue(r, old.id).await.unwrap();
    assert_eq!(
        (old_now.ladder_version, old_now.level, old_now.level_started_at, old_now.deadline),
        (1, 1, ts("2027-01-18T12:01:00Z"), ts("2027-01-19T12:01:00Z"))
    );
    let new_now = store.issue(r, new.id).await.unwrap();
    assert_eq!((new_now.level, new_now.deadline), (1, ts("2027-01-18T14:33:00Z")));
    // The named Directors and the raiser hear of it; Jim (a Manager, not a Director) does not.
    let told = ("issue.escalated".to_owned(), "Issue #1 escalated to Directors: Late drawings".to_owned());
    for user in [&s.ann, &s.cat, &s.bob] {
        assert!(inbox_of(store, user).await.contains(&told), "{}", user.name);
    }
    assert!(!inbox_of(store, &s.jim).await.contains(&told));

    // Much later: the old issue stays at the top of version 1 (level 1) though version 2 has a
    // level above; the new one climbs to the top of version 2.
    assert_eq!(store.sweep(ts("2027-03-01T10:00:00Z")).await.unwrap(), report(1, 0));
    assert_eq!(store.issue(r, old.id).await.unwrap().level, 1);
    assert_eq!(store.issue(r, new.id).await.unwrap().level, 2);
    assert_eq!(store.sweep(ts("2028-03-01T10:00:00Z")).await.unwrap(), report(0, 0));
}

/// Raising: numbers per relationship, the deadline in working days (less the handling parties'
/// holidays), the audit event, and the level's handlers told in the inbox and by e-mail.
async fn issues_are_numbered_and_their_handlers_told(db: TestDb) {
    let store: Arc<dyn Store> = db.store.clone();
    let s = issue_setup(store.as_ref(), false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    let drawings = NewObligation {
        relationship_id: r,
        party_id: s.harbour.id,
        title: "Drawings".into(),
        description: String::new(),
        recurrence: "once".into(),
        due_date: date(2026, 3, 1),
    };
    let drawings = store.create_obligation(drawings, s.ann.id, monday).await.unwrap();
    let start = position(store.as_ref(), r).await;

    // An issue touches only what is there in its relationship.
    let nothing = IssueLink { kind: "kpi".into(), id: Uuid::now_v7() };
    assert_eq!(
        refused_field(store.create_issue(NewIssue { links: vec![nothing], ..new_issue(r, "Late drawings") }, s.bob.id, monday).await),
        "links"
    );
    let kpi = IssueLink { kind: "obligation".into(), id: drawings.id };
    let first = store.create_issue(NewIssue { links: vec![kpi.clone()], ..new_issue(r, "Late drawings") }, s.bob.id, monday).await.unwrap();
    assert_eq!((first.number, first.ladder_version, first.level, first.status), (1, 1, 0, IssueStatus::Open));
    assert_eq!((first.level_started_at, first.deadline, first.resolved_at), (monday, ts(DUE_0), None));
    assert_eq!((first.raised_by, first.raised_by_name.as_str(), first.raising_party_id), (s.bob.id, "Bob Brown", s.north.id));
    assert_eq!((&first.links, first.version, first.created_at), (&vec![kpi], 1, monday));
    assert_eq!(store.issue(r, first.id).await.unwrap(), first);
    // The default ladder was stored as version 1 when the first issue was raised under it.
    let ladder = store.ladder(r).await.unwrap();
    assert_eq!((ladder.version, ladder.levels, ladder.created_at), (1, Ladder::default_ladder().levels, Some(monday)));

    let events = events_after(store.as_ref(), r, start).await;
    assert_eq!(kinds(&events), ["issue.raised"]);
    assert_eq!((events[0].actor, events[0].party), (Some(s.bob.id), Some(s.north.id)));
    assert_eq!(events[0].summary["number"], 1);
    assert_eq!(events[0].summary["deadline"], DUE_0);
    assert_eq!(timeline(store.as_ref(), r, first.id, None).await, [entry("raised", None, Some(0))]);

    // The working level's handlers (contributors and JMT of both parties) are told, not the
    // raiser, not the SERs.
    let link = format!("/relationships/{r}/issues/{}", first.id);
    let title = "New issue #1 in North Sea Wind: Late drawings";
    for user in [&s.jim, &s.dan, &s.kay] {
        let inbox = store.inbox(user.id, 10).await.unwrap();
        assert_eq!(inbox.len(), 1, "{}", user.name);
        assert_eq!((inbox[0].kind.as_str(), inbox[0].title.as_str(), &inbox[0].link), ("issue.raised", title, &link));
        assert_eq!((inbox[0].relationship_id, inbox[0].created_at, inbox[0].read_at), (r, monday, None));
    }
    for user in [&s.bob, &s.ann, &s.cat] {
        assert!(inbox_of(store.as_ref(), user).await.is_empty(), "{}", user.name);
    }
    let mut mails = store.lease_mail("test", monday, at(monday, 60), 100).await.unwrap();
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    let to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(to, ["dan@harbour.example", "jim@northwind.example", "kay@harbour.example"]);
    assert!(
        mails
            .iter()
            .all(|m| m.subject == title && m.link == link && m.attempts == 0 && m.body.contains("Monday 25 January 2027, 10:00 GMT"))
    );

    // Read: one, then all.
    assert_eq!(store.unread_count(s.jim.id).await.unwrap(), 1);
    let id = store.inbox(s.jim.id, 10).await.unwrap()[0].id;
    store.mark_read(s.jim.id, Some(id), at(monday, 5)).await.unwrap();
    assert_eq!(store.unread_count(s.jim.id).await.unwrap(), 0);
    assert_eq!(store.inbox(s.jim.id, 10).await.unwrap()[0].read_at, Some(at(monday, 5)));
    store.mark_read(s.dan.id, None, at(monday, 5)).await.unwrap();
    assert_eq!(store.unread_count(s.dan.id).await.unwrap(), 0);
    assert_eq!(store.unread_count(s.kay.id).await.unwrap(), 1);

    // Numbered in order.
    let second = store.create_issue(new_issue(r, "Wrong invoices"), s.dan.id, at(monday, 1)).await.unwrap();
    let third = store.create_issue(new_issue(r, "Missing permits"), s.dan.id, at(monday, 2)).await.unwrap();
    assert_eq!((second.number, third.number), (2, 3));
    assert_eq!((second.raising_party_id, third.deadline), (s.harbour.id, at(ts(DUE_0), 2)));

    // A holiday of a party handling the level moves the deadline a working day on.
    let founders = (date(2027, 1, 20), "Founders' Day".to_owned());
    store.set_holidays(r, s.harbour.id, vec![founders.clone()], s.cat.id, at(monday, 3)).await.unwrap();
    assert_eq!(
        store.holidays(r).await.unwrap(),
        [Holiday { party_id: s.harbour.id, date: date(2027, 1, 20), name: "Founders' Day".into() }]
    );
    let fourth = store.create_issue(new_issue(r, "Noise at night"), s.bob.id, at(monday, 4)).await.unwrap();
    assert_eq!(fourth.deadline, at(ts("2027-01-26T10:00:00Z"), 4));
    assert_eq!(store.issue(r, first.id).await.unwrap().deadline, ts(DUE_0), "a deadline once set stays");
    assert_eq!(refused_field(store.set_holidays(r, Uuid::now_v7(), vec![founders], s.cat.id, at(monday, 5)).await), "party");
    store.set_holidays(r, s.harbour.id, vec![], s.cat.id, at(monday, 5)).await.unwrap();
    assert!(store.holidays(r).await.unwrap().is_empty());
    let fifth = store.create_issue(new_issue(r, "Cable damage"), s.bob.id, at(monday, 6)).await.unwrap();
    assert_eq!((fifth.number, fifth.deadline), (5, at(ts(DUE_0), 6)));
    let events = events_after(store.as_ref(), r, start).await;
    assert_eq!(kinds(&events[3..6]), ["holidays.set", "issue.raised", "holidays.set"]);
    assert_eq!(events[3].summary["holidays"][0]["date"], "2027-01-20");

    // Only a current member raises issues.
    assert_eq!(refused_field(store.create_issue(new_issue(r, "Nosy"), s.out.id, at(monday, 7)).await), "user");

    // Raised at once, the issues still get numbers of their own.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (store, raiser) = (store.clone(), if i % 2 == 0 { s.bob.id } else { s.dan.id });
        tasks.spawn(async move { store.create_issue(new_issue(r, &format!("Parallel {i}")), raiser, at(monday, 10 + i)).await });
    }
    let mut numbers: Vec<i64> = tasks.join_all().await.into_iter().map(|i| i.unwrap().number).collect();
    numbers.sort();
    assert_eq!(numbers, (6..=13).collect::<Vec<_>>());
    assert_eq!(figures(store.as_ref(), r).await, [(0, 13, 0)]);

    // The log: live issues by deadline, a page at a time; by party.
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.issues(r, IssueFilter::default(), after, 4).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.deadline, last.id));
        all.extend(page);
    }
    assert_eq!(all.len(), 13);
    assert!(all.windows(2).all(|w| (w[0].deadline, w[0].id) < (w[1].deadline, w[1].id)));
    assert_eq!(all.last().unwrap().id, fourth.id);
    let harbour = IssueFilter { party: Some(s.harbour.id), ..IssueFilter::default() };
    let raised = store.issues(r, harbour, None, 100).await.unwrap();
    assert_eq!(raised.len(), 6);
    assert!(raised.iter().all(|i| i.raised_by == s.dan.id));
    // Filters combine with each other and with the cursor.
    let narrow = IssueFilter { party: Some(s.harbour.id), level: Some(0), category: Some("Delivery".into()), ..IssueFilter::default() };
    let first = store.issues(r, narrow.clone(), None, 4).await.unwrap();
    let last = first.last().unwrap();
    let rest = store.issues(r, narrow.clone(), Some((last.deadline, last.id)), 100).await.unwrap();
    assert_eq!((first.len(), rest.len()), (4, 2));
    assert_eq!(first.iter().chain(&rest).map(|i| i.id).collect::<Vec<_>>(), raised.iter().map(|i| i.id).collect::<Vec<_>>());
    let narrow_again = narrow.clone();
    for other in [IssueFilter { level: Some(1), ..narrow.clone() }, IssueFilter { category: Some("Quality".into()), ..narrow }] {
        assert!(store.issues(r, other, None, 100).await.unwrap().is_empty());
    }
    let closed = IssueFilter { state: Some(IssueState::Closed), ..IssueFilter::default() };
    assert!(store.issues(r, closed, None, 100).await.unwrap().is_empty());
    // The log reads the same issues, a line each, with every filter and after a cursor.
    let every = IssueFilter { state: Some(IssueState::All), ..IssueFilter::default() };
    assert_eq!(log_lines(store.as_ref(), r, every, None).await.len(), 13);
    assert_eq!(log_lines(store.as_ref(), r, IssueFilter::default(), Some(all[3].cursor(None))).await.len(), 9);
    assert_eq!(log_lines(store.as_ref(), r, narrow_again, Some((last.deadline, last.id))).await.len(), 2);
}

/// The sweep: nothing before the deadline; then one level at a time, each level starting at the
/// previous deadline, never past the top; each step once; reminders once, the day before.
async fn the_sweep_escalates_once_per_deadline(db: TestDb) {
    let store = db.store.as_ref();
    let s = issue_setup(store, false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    let issue = store.create_issue(new_issue(r, "Late drawings"), s.bob.id, monday).await.unwrap();
    let start = position(store, r).await;

    assert_eq!(store.sweep(at(monday, HOUR)).await.unwrap(), report(0, 0));
    assert_eq!(store.sweep(ts("2027-01-21T10:00:00Z")).await.unwrap(), report(0, 0));
    assert_eq!(store.issue(r, issue.id).await.unwrap(), issue);

    // The day before: the handlers (the raiser among them) are reminded, once.
    assert_eq!(store.sweep(ts(REMIND_0)).await.unwrap(), report(0, 1));
    assert_eq!(store.sweep(at(ts(REMIND_0), HOUR)).await.unwrap(), report(0, 0));
    let reminder = ("issue.reminder".to_owned(), "Issue #1 is due tomorrow at Working level: Late drawings".to_owned());
    for user in [&s.bob, &s.jim, &s.dan, &s.kay] {
        assert_eq!(inbox_of(store, user).await.iter().filter(|n| **n == reminder).count(), 1, "{}", user.name);
    }
    assert!(inbox_of(store, &s.ann).await.is_empty());
    assert_eq!(store.issue(r, issue.id).await.unwrap().version, 1, "a reminder is not a change of the issue");

    // A second before the deadline: nothing. At the deadline: one level up, from the deadline.
    assert_eq!(store.sweep(at(ts(DUE_0), -1)).await.unwrap(), report(0, 0));
    assert_eq!(store.sweep(ts(DUE_0)).await.unwrap(), report(1, 0));
    let up = store.issue(r, issue.id).await.unwrap();
    assert_eq!((up.level, up.level_started_at, up.deadline, up.status, up.version), (1, ts(DUE_0), ts(DUE_1), IssueStatus::Open, 2));
    assert_eq!(timeline(store, r, issue.id, None).await, [entry("raised", None, Some(0)), entry("escalated", Some(0), Some(1))]);
    let escalated = store.issue_timeline(r, issue.id, None).await.unwrap().pop().unwrap();
    assert_eq!((escalated.actor_id, escalated.actor_name.as_str(), escalated.created_at), (None, "", ts(DUE_0)));
    assert_eq!(escalated.body, "Not resolved at Working level by the deadline, Monday 25 January 2027, 10:00 GMT.");
    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["issue.escalated"]);
    assert_eq!((events[0].actor, events[0].summary["from"].clone(), events[0].summary["to"].clone()), (None, json!(0), json!(1)));
    assert_eq!(events[0].summary["deadline"], DUE_1);
    assert_eq!(figures(store, r).await, [(0, 0, 0), (1, 1, 0)]);
    // The JMT (the new level) and the raiser are told.
    let told = ("issue.escalated".to_owned(), "Issue #1 escalated to Joint Management Team: Late drawings".to_owned());
    for user in [&s.jim, &s.kay, &s.bob] {
        assert_eq!(inbox_of(store, user).await[0], told, "{}", user.name);
    }
    assert!(!inbox_of(store, &s.dan).await.contains(&told));

    // Sweeping again at the same time, or a little later, changes nothing.
    assert_eq!(store.sweep(ts(DUE_0)).await.unwrap(), report(0, 0));
    assert_eq!(store.sweep(at(ts(DUE_0), HOUR)).await.unwrap(), report(0, 0));
    assert_eq!(store.issue(r, issue.id).await.unwrap(), up);
    assert_eq!(position(store, r).await, start + 1);

    // Long after: the two remaining levels, one at a time, and no further. The top level's
    // reminder is long past with its deadline: not sent.
    let late = ts("2027-09-01T10:00:00Z");
    assert_eq!(store.sweep(late).await.unwrap(), report(2, 0));
    let top = store.issue(r, issue.id).await.unwrap();
    assert_eq!((top.level, top.level_started_at, top.deadline), (3, ts(DUE_2), ts(DUE_3)));
    assert_eq!(
        timeline(store, r, issue.id, None).await,
        [
            entry("raised", None, Some(0)),
            entry("escalated", Some(0), Some(1)),
            entry("escalated", Some(1), Some(2)),
            entry("escalated", Some(2), Some(3))
        ]
    );
    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["issue.escalated"; 3]);
    assert_eq!(events[2].summary["deadline"], DUE_3);
    assert_eq!(figures(store, r).await, [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 1, 0)]);
    assert!(!inbox_of(store, &s.ann).await.iter().any(|(kind, _)| kind == "issue.reminder"));
    assert_eq!(store.sweep(late).await.unwrap(), report(0, 0));
    assert_eq!(store.sweep(ts("2029-01-01T10:00:00Z")).await.unwrap(), report(0, 0));
    assert_eq!(store.issue(r, issue.id).await.unwrap(), top);
}

/// Two servers sweeping the same database at the same moment escalate each issue once.
async fn concurrent_sweeps_escalate_each_issue_once(db: TestDb) {
    let store = db.store.as_ref();
    let other = db.second_store().await;
    let s = issue_setup(store, false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    let mut issues = Vec::new();
    for i in 0..50 {
        issues.push(store.create_issue(new_issue(r, &format!("Issue {i}")), s.bob.id, at(monday, i)).await.unwrap());
    }
    let start = position(store, r).await;

    let now = at(ts(DUE_0), HOUR);
    let (a, b) = tokio::join!(store.sweep(now), other.sweep(now));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.escalated + b.escalated, 50, "{a:?} {b:?}");
    assert_eq!(a.reminded + b.reminded, 0, "the reminders' deadlines have passed");
    for issue in &issues {
        let kinds: Vec<_> = timeline(store, r, issue.id, None).await.into_iter().map(|(kind, ..)| kind).collect();
        assert_eq!(kinds, ["raised", "escalated"], "#{}", issue.number);
        assert_eq!(store.issue(r, issue.id).await.unwrap().level, 1);
    }
    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["issue.escalated"; 50]);
    assert_eq!(figures(store, r).await, [(0, 0, 0), (1, 50, 0)]);

    let (a, b) = tokio::join!(store.sweep(now), other.sweep(now));
    assert_eq!((a.unwrap(), b.unwrap()), (report(0, 0), report(0, 0)));
}

/// A proposal takes effect when every party has accepted it; one party's rejection opens the
/// issue again at its level. The figures follow; a resolved issue never escalates.
async fn resolution_needs_every_party(db: TestDb) {
    let store = db.store.as_ref();
    let s = issue_setup(store, false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    let issue = store.create_issue(new_issue(r, "Late drawings"), s.bob.id, monday).await.unwrap();
    let start = position(store, r).await;
    assert_eq!(refused_field(store.respond_to_proposal(r, issue.id, true, String::new(), s.dan.id, monday).await), "proposal");

    let proposed = store.propose_resolution(r, issue.id, "We send them by Friday".into(), s.bob.id, at(monday, HOUR)).await.unwrap();
    assert_eq!((proposed.status, proposed.level, proposed.version), (IssueStatus::ResolutionProposed, 0, 2));
    let proposal = store.pending_proposal(r, issue.id).await.unwrap().unwrap();
    assert_eq!((proposal.proposed_by, proposal.party_id, &proposal.body), (s.bob.id, s.north.id, &"We send them by Friday".to_owned()));
    assert_eq!((proposal.accepted_by, proposal.created_at), (vec![s.north.id], at(monday, HOUR)));
    // The other party's handlers are told (Jim, of the proposer's party, is not).
    let told = ("issue.proposed".to_owned(), "Resolution proposed for issue #1: Late drawings".to_owned());
    for user in [&s.dan, &s.kay] {
        assert_eq!(inbox_of(store, user).await[0], told);
    }
    assert!(!inbox_of(store, &s.jim).await.contains(&told));

    // One proposal at a time; a party accepts once.
    assert_eq!(refused_field(store.propose_resolution(r, issue.id, "Or by Monday".into(), s.dan.id, at(monday, HOUR)).await), "proposal");
    assert_eq!(refused_field(store.respond_to_proposal(r, issue.id, true, String::new(), s.jim.id, at(monday, HOUR)).await), "proposal");
    assert_eq!(refused_field(store.respond_to_proposal(r, issue.id, true, String::new(), s.out.id, at(monday, HOUR)).await), "user");

    // Rejected: open again, at the same level, with the same deadline.
    let rejected =
        store.respond_to_proposal(r, issue.id, false, "Friday is too late".into(), s.dan.id, at(monday, 2 * HOUR)).await.unwrap();
    assert_eq!((rejected.status, rejected.level, rejected.deadline, rejected.resolved_at), (IssueStatus::Open, 0, ts(DUE_0), None));
    assert_eq!(store.pending_proposal(r, issue.id).await.unwrap(), None);
    let last = store.issue_timeline(r, issue.id, None).await.unwrap().pop().unwrap();
    assert_eq!((last.kind.as_str(), last.body.as_str(), last.party_id), ("rejected", "Friday is too late", Some(s.harbour.id)));
    for user in [&s.bob] {
        assert_eq!(inbox_of(store, user).await[0].0, "issue.rejected");
    }

    // Proposed again, accepted by the other party: resolved after 30 hours.
    store.propose_resolution(r, issue.id, "Wednesday then".into(), s.jim.id, at(monday, 3 * HOUR)).await.unwrap();
    assert_eq!(figures(store, r).await, [(0, 1, 0)]);
    let resolved = store.respond_to_proposal(r, issue.id, true, "Fine".into(), s.dan.id, at(monday, 30 * HOUR)).await.unwrap();
    assert_eq!((resolved.status, resolved.level, resolved.resolved_at), (IssueStatus::Resolved, 0, Some(at(monday, 30 * HOUR))));
    assert_eq!(store.pending_proposal(r, issue.id).await.unwrap(), None);
    let stats = store.issue_stats(r).await.unwrap();
    assert_eq!(figures(store, r).await, [(0, 0, 1)]);
    let mut buckets = vec![0; accord_domain::escalation::RESOLUTION_BUCKETS.len()];
    buckets[accord_domain::escalation::bucket(30)] = 1;
    assert_eq!(stats[0].buckets, buckets);
    assert_eq!(accord_domain::escalation::median_hours(&stats[0].buckets), Some(48));
    let kinds_seen: Vec<_> = timeline(store, r, issue.id, None).await.into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds_seen, ["raised", "proposed", "rejected", "proposed", "accepted", "resolved"]);
    let last = store.issue_timeline(r, issue.id, None).await.unwrap().pop().unwrap();
    assert_eq!((last.body.as_str(), last.from_level, last.actor_id), ("Wednesday then", Some(0), None));
    let events = events_after(store, r, start).await;
    assert_eq!(
        kinds(&events),
        [
            "issue.resolution_proposed",
            "issue.resolution_rejected",
            "issue.resolution_proposed",
            "issue.resolution_accepted",
            "issue.resolved"
        ]
    );
    assert_eq!(events[1].summary["reason"], "Friday is too late");
    for user in [&s.jim, &s.bob] {
        assert_eq!(inbox_of(store, user).await[0], ("issue.resolved".to_owned(), "Issue #1 resolved: Late drawings".to_owned()));
    }

    // Closed: no more proposals, answers or escalations.
    assert_eq!(refused_field(store.propose_resolution(r, issue.id, "Again".into(), s.bob.id, at(monday, 31 * HOUR)).await), "status");
    assert_eq!(
        refused_field(store.respond_to_proposal(r, issue.id, true, String::new(), s.kay.id, at(monday, 31 * HOUR)).await),
        "proposal"
    );
    assert_eq!(refused_field(store.escalate_issue(r, issue.id, "Why not".into(), s.jim.id, at(monday, 31 * HOUR)).await), "level");
    assert_eq!(store.sweep(ts("2027-09-01T10:00:00Z")).await.unwrap(), report(0, 0));
    assert_eq!(store.issue(r, issue.id).await.unwrap(), resolved);
    assert_eq!(figures(store, r).await, [(0, 0, 1)]);
    let closed = IssueFilter { state: Some(IssueState::Closed), ..IssueFilter::default() };
    assert_eq!(store.issues(r, closed.clone(), None, 10).await.unwrap(), std::slice::from_ref(&resolved));
    assert_eq!(log_lines(store, r, closed.clone(), None).await, [IssueLine::from(&resolved)]);
    assert!(log_lines(store, r, closed, Some(resolved.cursor(Some(IssueState::Closed)))).await.is_empty());
    assert!(store.issues(r, IssueFilter::default(), None, 10).await.unwrap().is_empty());
}

/// A page's view comes with its viewer in one call: what the view alone reads, for a member; no
/// view for anyone else; nobody for an unknown session.
async fn views_come_with_their_viewer(db: TestDb) {
    let store = db.store.as_ref();
    let s = issue_setup(store, false).await;
    let (r, now) = (s.r, ts(MONDAY));
    store.create_issue(new_issue(r, "Late drawings"), s.bob.id, now).await.unwrap();
    let until = at(now, 8 * HOUR);
    store.create_session("s-bob", s.bob.id, now, until, until).await.unwrap();
    store.create_session("s-out", s.out.id, now, until, until).await.unwrap();
    let session = |hash: &str| Credential::Session(hash.to_owned());

    let log = IssueLogRequest { filter: IssueFilter::default(), after: None, limit: 10 };
    let (viewer, view) = store.viewer_with_view(session("s-bob"), r, now, ViewRequest::IssueLog(log.clone())).await.unwrap();
    assert_eq!((viewer.user.id, viewer.member.map(|m| m.user_id)), (s.bob.id, Some(s.bob.id)));
    let Ok(View::IssueLog(seen)) = view else { panic!("{view:?}") };
    assert_eq!((seen.issues.len(), seen.issues), (1, view_alone::<IssueLogView>(store, r, ViewRequest::IssueLog(log)).await.issues));
    let whole = ViewRequest::Issues { filter: IssueFilter::default(), after: None, limit: 10 };
    let (_, view) = store.viewer_with_view(session("s-bob"), r, now, whole).await.unwrap();
    let Ok(View::Issues(seen)) = view else { panic!("{view:?}") };
    assert_eq!(seen, store.issues(r, IssueFilter::default(), None, 10).await.unwrap());
    let (_, view) = store.viewer_with_view(session("s-bob"), r, now, ViewRequest::Audit { before_position: None, limit: 5 }).await.unwrap();
    let Ok(View::Audit(seen)) = view else { panic!("{view:?}") };
    assert_eq!(seen.events, view_alone::<AuditView>(store, r, ViewRequest::Audit { before_position: None, limit: 5 }).await.events);
    // A KPI that is not there: the viewer, and beside it the view's own failure.
    let missing = KpiRequest { kpi_id: Uuid::now_v7(), values: 24 };
    let (viewer, view) = store.viewer_with_view(session("s-bob"), r, now, ViewRequest::Kpi(missing)).await.unwrap();
    assert!(viewer.member.is_some());
    assert!(matches!(view, Err(StoreError::NotFound("KPI"))), "{view:?}");
    // Someone else: who they are, and no view.
    let (viewer, view) = store.viewer_with_view(session("s-out"), r, now, ViewRequest::Scorecard).await.unwrap();
    assert_eq!((viewer.user.id, viewer.member.is_none(), viewer.relationship.map(|x| x.id)), (s.out.id, true, Some(r)));
    assert!(matches!(view, Err(StoreError::NotFound(_))), "{view:?}");
    // An unknown session, or one that has ended: nobody.
    assert_eq!(not_found(store.viewer_with_view(session("s-nobody"), r, now, ViewRequest::Scorecard).await), "session");
    assert_eq!(not_found(store.viewer_with_view(session("s-bob"), r, until, ViewRequest::Scorecard).await), "session");
}

/// What a page of `r` shows, alone.
async fn view_alone<V: TryFrom<View, Error = View>>(store: &dyn Store, r: Uuid, request: ViewRequest) -> V {
    match store.view(r, request).await.unwrap().try_into() {
        Ok(view) => view,
        Err(other) => panic!("another view: {other:?}"),
    }
}

/// The issue log's lines for `filter`, which must be the issues the API lists, cut to a line.
async fn log_lines(store: &dyn Store, r: Uuid, filter: IssueFilter, after: Option<(Timestamp, Uuid)>) -> Vec<IssueLine> {
    let request = ViewRequest::IssueLog(IssueLogRequest { filter: filter.clone(), after, limit: 100 });
    let lines = view_alone::<IssueLogView>(store, r, request).await.issues;
    let issues = store.issues(r, filter, after, 100).await.unwrap();
    assert_eq!(lines, issues.iter().map(IssueLine::from).collect::<Vec<_>>());
    lines
}

/// Answers given at the same moment: with three parties, the two other parties' acceptances both
/// count and resolve the issue once; two members of one party cannot both accept for it.
async fn concurrent_acceptances_resolve_once(db: TestDb) {
    let store: Arc<dyn Store> = db.store.clone();
    let s = issue_setup(store.as_ref(), true).await;
    let (r, monday) = (s.r, ts(MONDAY));
    let issue = store.create_issue(new_issue(r, "Late drawings"), s.bob.id, monday).await.unwrap();
    store.propose_resolution(r, issue.id, "By Friday".into(), s.bob.id, at(monday, HOUR)).await.unwrap();
    let now = at(monday, 2 * HOUR);
    let (a, b) = tokio::join!(
        store.respond_to_proposal(r, issue.id, true, String::new(), s.dan.id, now),
        store.respond_to_proposal(r, issue.id, true, String::new(), s.tom.id, now)
    );
    let statuses = [a.unwrap().status, b.unwrap().status];
    assert!(statuses.contains(&IssueStatus::Resolved) && statuses.contains(&IssueStatus::ResolutionProposed), "{statuses:?}");
    let kinds_seen: Vec<_> = timeline(store.as_ref(), r, issue.id, None).await.into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds_seen, ["raised", "proposed", "accepted", "accepted", "resolved"]);
    assert_eq!(figures(store.as_ref(), r).await, [(0, 0, 1)]);

    // Two members of Harbour Works at once, for the second issue.
    let issue = store.create_issue(new_issue(r, "Wrong invoices"), s.bob.id, at(monday, 3 * HOUR)).await.unwrap();
    store.propose_resolution(r, issue.id, "A credit note".into(), s.bob.id, at(monday, 4 * HOUR)).await.unwrap();
    store.respond_to_proposal(r, issue.id, true, String::new(), s.tom.id, at(monday, 5 * HOUR)).await.unwrap();
    let now = at(monday, 6 * HOUR);
    let (a, b) = tokio::join!(
        store.respond_to_proposal(r, issue.id, true, String::new(), s.dan.id, now),
        store.respond_to_proposal(r, issue.id, true, String::new(), s.kay.id, now)
    );
    let (won, lost) = if a.is_ok() { (a, b) } else { (b, a) };
    assert_eq!(won.unwrap().status, IssueStatus::Resolved);
    assert_eq!(refused_field(lost), "proposal");
    assert_eq!(figures(store.as_ref(), r).await, [(0, 0, 2)]);
    let kinds_seen: Vec<_> = timeline(store.as_ref(), r, issue.id, None).await.into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds_seen, ["raised", "proposed", "accepted", "accepted", "resolved"]);
}

/// Private notes stay with their party (and out of the audit trail); withdrawal; a handler's
/// early escalation, with its reason, up to the top and no further.
async fn notes_withdrawal_and_early_escalation(db: TestDb) {
    let store = db.store.as_ref();
    let s = issue_setup(store, false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    let issue = store.create_issue(new_issue(r, "Late drawings"), s.bob.id, monday).await.unwrap();
    let start = position(store, r).await;

    let secret = "They are late on purpose, I think";
    let note = store.comment_issue(r, issue.id, secret.into(), true, s.bob.id, at(monday, 60)).await.unwrap();
    assert_eq!(
        (note.kind.as_str(), note.private_to, note.party_id, note.actor_id),
        ("note", Some(s.north.id), Some(s.north.id), Some(s.bob.id))
    );
    assert_eq!((note.body.as_str(), note.actor_name.as_str(), note.created_at), (secret, "Bob Brown", at(monday, 60)));
    let comment = store.comment_issue(r, issue.id, "Looking into it".into(), false, s.dan.id, at(monday, 120)).await.unwrap();
    assert_eq!((comment.kind.as_str(), comment.private_to, comment.party_id), ("comment", None, Some(s.harbour.id)));

    let seen = |events: Vec<IssueEvent>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(seen(store.issue_timeline(r, issue.id, Some(s.north.id)).await.unwrap()), ["raised", "note", "comment"]);
    assert_eq!(seen(store.issue_timeline(r, issue.id, Some(s.harbour.id)).await.unwrap()), ["raised", "comment"]);
    assert_eq!(seen(store.issue_timeline(r, issue.id, None).await.unwrap()), ["raised", "comment"]);
    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["issue.noted", "issue.commented"]);
    assert_eq!((events[0].party, events[0].summary["private"].clone()), (Some(s.north.id), json!(true)));
    assert!(events.iter().all(|e| !e.summary.to_string().contains("on purpose")), "{events:?}");
    assert_eq!(refused_field(store.comment_issue(r, issue.id, "Hello".into(), false, s.out.id, at(monday, 130)).await), "user");
    assert_eq!(not_found(store.comment_issue(r, Uuid::now_v7(), "Hello".into(), false, s.bob.id, at(monday, 130)).await), "issue");

    // Withdrawn by the raiser: closed, and out of the open figures.
    let withdrawn = store.withdraw_issue(r, issue.id, "Sorted out by phone".into(), s.bob.id, at(monday, 180)).await.unwrap();
    assert_eq!((withdrawn.status, withdrawn.resolved_at, withdrawn.version), (IssueStatus::Withdrawn, Some(at(monday, 180)), 2));
    assert_eq!(figures(store, r).await, [(0, 0, 0)]);
    let last = store.issue_timeline(r, issue.id, None).await.unwrap().pop().unwrap();
    assert_eq!((last.kind.as_str(), last.body.as_str()), ("withdrawn", "Sorted out by phone"));
    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events[2..]), ["issue.withdrawn"]);
    assert_eq!(events[2].summary["reason"], "Sorted out by phone");
    assert_eq!(refused_field(store.withdraw_issue(r, issue.id, "Again".into(), s.bob.id, at(monday, 240)).await), "status");
    assert_eq!(store.sweep(ts("2027-09-01T10:00:00Z")).await.unwrap(), report(0, 0));
    assert_eq!(store.issue(r, issue.id).await.unwrap(), withdrawn);

    // Escalated early: from now, with the reason; up to the top, and refused there.
    let issue = store.create_issue(new_issue(r, "Wrong invoices"), s.dan.id, at(monday, 300)).await.unwrap();
    let start = position(store, r).await;
    let now = at(monday, 2 * HOUR);
    let up = store.escalate_issue(r, issue.id, "Supplier does not answer".into(), s.jim.id, now).await.unwrap();
    assert_eq!((up.level, up.level_started_at, up.deadline, up.version), (1, now, ts("2027-02-01T12:00:00Z"), 2));
    let last = store.issue_timeline(r, issue.id, None).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.body.as_str(), last.actor_id, last.party_id, last.from_level, last.to_level),
        ("escalated", "Escalated early: Supplier does not answer", Some(s.jim.id), Some(s.north.id), Some(0), Some(1))
    );
    let events = events_after(store, r, start).await;
    assert_eq!(kinds(&events), ["issue.escalated"]);
    assert_eq!((events[0].actor, events[0].party), (Some(s.jim.id), Some(s.north.id)));
    assert_eq!(events[0].summary["reason"], "Escalated early: Supplier does not answer");
    assert_eq!(figures(store, r).await, [(0, 0, 0), (1, 1, 0)]);
    // The old deadline no longer counts: nothing is due at it.
    assert_eq!(store.sweep(at(ts(DUE_0), 300)).await.unwrap(), report(0, 0));
    store.escalate_issue(r, issue.id, "Still nothing".into(), s.kay.id, at(now, 60)).await.unwrap();
    let top = store.escalate_issue(r, issue.id, "Mediation".into(), s.cat.id, at(now, 120)).await.unwrap();
    assert_eq!(top.level, 3);
    assert_eq!(refused_field(store.escalate_issue(r, issue.id, "Higher".into(), s.ann.id, at(now, 180)).await), "level");
    assert_eq!(store.issue(r, issue.id).await.unwrap(), top);
    assert_eq!(figures(store, r).await, [(0, 0, 0), (1, 0, 0), (2, 0, 0), (3, 1, 0)]);
}

/// The outbox: a mail leased to one worker at a time; sent mail is done; a failure comes back
/// at its retry time with one more attempt; a lapsed lease is taken again.
/// The one writer of every module's notices: a recipient listed twice (the raiser who also
/// handles the level) hears once, and a disabled account neither in the inbox nor by e-mail.
async fn a_notice_reaches_each_recipient_once_and_no_disabled_account(db: TestDb) {
    let store = db.store.as_ref();
    let s = issue_setup(store, false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    store.set_user_disabled(s.dan.id, true, None, monday).await.unwrap();
    // Raised by Jim (JMT): the working level's other handlers are told, Dan (disabled) is not.
    let issue = store.create_issue(new_issue(r, "Late drawings"), s.jim.id, at(monday, 1)).await.unwrap();
    let raised = ("issue.raised".to_owned(), "New issue #1 in North Sea Wind: Late drawings".to_owned());
    assert_eq!(inbox_of(store, &s.bob).await, [raised.clone()]);
    assert_eq!(inbox_of(store, &s.kay).await, [raised]);
    assert!(inbox_of(store, &s.jim).await.is_empty(), "the raiser is not told of their own issue");
    // Escalated to the JMT, whose members Jim is one of, as well as the raiser: told once.
    store.escalate_issue(r, issue.id, "No answer".into(), s.jim.id, at(monday, 2)).await.unwrap();
    let escalated = ("issue.escalated".to_owned(), "Issue #1 escalated to Joint Management Team: Late drawings".to_owned());
    assert_eq!(inbox_of(store, &s.jim).await, [escalated.clone()]);
    assert_eq!(inbox_of(store, &s.kay).await[0], escalated);
    assert!(inbox_of(store, &s.dan).await.is_empty());
    let mails = store.lease_mail("test", at(monday, 3), at(monday, 60), 100).await.unwrap();
    let mut to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, ["bob@northwind.example", "jim@northwind.example", "kay@harbour.example", "kay@harbour.example"]);
}

async fn mail_is_leased_to_one_worker(db: TestDb) {
    let store = db.store.as_ref();
    let other = db.second_store().await;
    let s = issue_setup(store, false).await;
    let (r, monday) = (s.r, ts(MONDAY));
    // Four issues raised by Bob: three mails each (Jim, Dan, Kay).
    for i in 0..4 {
        store.create_issue(new_issue(r, &format!("Issue {i}")), s.bob.id, at(monday, i)).await.unwrap();
    }
    let now = at(monday, 60);
    let until = at(now, 300);
    assert!(store.lease_mail("early", at(monday, -1), until, 100).await.unwrap().is_empty(), "nothing due before it was written");

    let (a, b) = tokio::join!(store.lease_mail("a", now, until, 5), other.lease_mail("b", now, until, 5));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.len(), b.len()), (5, 5));
    let c = store.lease_mail("c", now, until, 5).await.unwrap();
    assert_eq!(c.len(), 2);
    let mut ids: Vec<Uuid> = a.iter().chain(&b).chain(&c).map(|m| m.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 12, "each mail leased once");
    assert!(store.lease_mail("d", at(now, 299), at(now, 600), 100).await.unwrap().is_empty(), "all leased");

    // Sent, failed, and one claimed by someone else's name (which changes nothing).
    let (sent, failed) = (&a[0], &a[1]);
    store.mail_sent(sent.id, "a", at(now, 10)).await.unwrap();
    store.mail_failed(failed.id, "a", "550 mailbox full", at(now, 900)).await.unwrap();
    store.mail_sent(b[0].id, "a", at(now, 10)).await.unwrap();
    store.mail_failed(b[1].id, "a", "not mine", at(now, 10_000)).await.unwrap();

    // The leases lapse at +300: the ten others are taken again, not the sent one, not the failed
    // one before its retry time.
    let again = store.lease_mail("e", at(now, 300), at(now, 2000), 100).await.unwrap();
    let mut again_ids: Vec<Uuid> = again.iter().map(|m| m.id).collect();
    again_ids.sort();
    let mut expected: Vec<Uuid> = ids.iter().copied().filter(|id| *id != sent.id && *id != failed.id).collect();
    expected.sort();
    assert_eq!(again_ids, expected);
    assert!(again.iter().all(|m| m.attempts == 0));
    let retried = store.lease_mail("f", at(now, 900), at(now, 1200), 100).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts, &retried[0].to), (failed.id, 1, &failed.to));
    for mail in &again {
        store.mail_sent(mail.id, "e", at(now, 1000)).await.unwrap();
    }
    store.mail_sent(failed.id, "f", at(now, 1000)).await.unwrap();
    assert!(store.lease_mail("g", at(now, 100_000), at(now, 100_300), 100).await.unwrap().is_empty(), "all sent");
}

/// A neutral host does not show one tenant its others: a user sees their own organisation and
/// the parties to the relationships they are a current member of; the administrator sees all.
async fn organisations_are_shown_to_those_who_share_a_relationship(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    let mut organisations = Vec::new();
    for title in ["Northwind", "Harbour Works", "Tidal Energy", "Outsider Ltd"] {
        organisations.push(store.create_organisation(name(title), None, clock.tick()).await.unwrap());
    }
    let [northwind, harbour, tidal, outsider] = &organisations[..] else { unreachable!() };
    let ann = store.create_user(new_user("ann@northwind.example", "Ann Adams", northwind), None, clock.tick()).await.unwrap();
    let otto = store.create_user(new_user("otto@outsider.example", "Otto Out", outsider), None, clock.tick()).await.unwrap();
    let x = store.create_relationship(new_relationship("Wind Farm", &[northwind, harbour]), None, clock.tick()).await.unwrap();
    store.create_relationship(new_relationship("Tidal Array", &[harbour, tidal]), None, clock.tick()).await.unwrap();
    store.add_member(x.id, ann.id, Role::Jmt, None, clock.tick()).await.unwrap();

    let shown = async |visible: Visibility| -> Vec<String> {
        let page = store.list_organisations(visible, PageRequest::first(10)).await.unwrap();
        page.items.into_iter().map(|o| o.name).collect()
    };
    assert_eq!(shown(Visibility::All).await, ["Northwind", "Harbour Works", "Tidal Energy", "Outsider Ltd"]);
    assert_eq!(shown(Visibility::SharedWith(ann.id)).await, ["Northwind", "Harbour Works"]);
    assert_eq!(shown(Visibility::SharedWith(otto.id)).await, ["Outsider Ltd"]);
    // Paging keeps to what is shown.
    let first = store.list_organisations(Visibility::SharedWith(ann.id), PageRequest::first(1)).await.unwrap();
    let second =
        store.list_organisations(Visibility::SharedWith(ann.id), PageRequest { after: first.next_cursor, limit: 1 }).await.unwrap();
    assert_eq!((first.items[0].id, second.items[0].id, second.next_cursor), (northwind.id, harbour.id, None));

    assert_eq!(store.organisation(harbour.id, Visibility::SharedWith(ann.id)).await.unwrap(), *harbour);
    assert_eq!(not_found(store.organisation(tidal.id, Visibility::SharedWith(ann.id)).await), "organisation");
    assert_eq!(not_found(store.organisation(harbour.id, Visibility::SharedWith(otto.id)).await), "organisation");
    assert_eq!(store.organisation(tidal.id, Visibility::All).await.unwrap(), *tidal);

    // A member who leaves no longer sees the other parties.
    store.remove_member(x.id, ann.id, None, clock.tick()).await.unwrap();
    assert_eq!(shown(Visibility::SharedWith(ann.id)).await, ["Northwind"]);
}

async fn look_alike_organisation_names_are_refused(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    store.create_organisation(name("Keystone Construction"), None, clock.tick()).await.unwrap();
    let head = store.chain_head(SITE_CHAIN).await.unwrap();
    for look_alike in [
        "KEYSTONE  CONSTRUCTION",
        "Keystone\u{200b} Construction",
        "K\u{435}yst\u{43e}ne Construction",
        "Keystone Constructi0n",
        "\u{ff2b}eystone Construction",
    ] {
        match store.create_organisation(name(look_alike), None, clock.tick()).await {
            Err(StoreError::Invalid(invalid)) => {
                assert_eq!(invalid.0[0].field, "name");
                assert!(invalid.0[0].message.contains("Keystone Construction"), "{look_alike:?}: {}", invalid.0[0].message);
            }
            other => panic!("{look_alike:?} must be refused, got {other:?}"),
        }
    }
    assert_eq!(store.chain_head(SITE_CHAIN).await.unwrap(), head, "a refused name writes nothing");
    store.create_organisation(name("Keystone Contracting"), None, clock.tick()).await.unwrap();

    // Names stored before skeletons were may look alike: migrating keeps both and does not fail,
    // and a new name like them is still refused.
    let (id, at) = if db.backend() == "postgres" { ("gen_random_uuid()", "now()") } else { ("randomblob(16)", "0") };
    for old in ["Tidal Energy", "T\u{456}dal  Energy"] {
        let sql = format!("INSERT INTO organisation (organisation_id, name, created_at) VALUES ({id}, '{old}', {at})");
        assert_eq!(db.raw_execute(&sql).await, Ok(1));
    }
    assert_eq!(db.store.migrate().await.unwrap(), Vec::<&str>::new());
    assert_eq!(refused_field(store.create_organisation(name("TIDAL ENERGY"), None, clock.tick()).await), "name");
    let all = store.list_organisations(Visibility::All, PageRequest::first(10)).await.unwrap().items;
    assert_eq!(all.len(), 4);
    assert!(all.iter().any(|o| o.name == "T\u{456}dal  Energy"), "old names are left as they are");
}

/// A password change ends every other session of the account (the one that made it may stay);
/// API tokens stay as they are.
async fn a_password_change_ends_the_other_sessions(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    let northwind = store.create_organisation(name("Northwind"), None, clock.tick()).await.unwrap();
    let ann = store.create_user(new_user("ann@northwind.example", "Ann Adams", &northwind), None, clock.tick()).await.unwrap();
    let bob = store.create_user(new_user("bob@northwind.example", "Bob Brown", &northwind), None, clock.tick()).await.unwrap();
    let t = clock.tick();
    for (hash, user) in [("s-here", ann.id), ("s-laptop", ann.id), ("s-phone", ann.id), ("s-bob", bob.id)] {
        store.create_session(hash, user, t, at(t, HOUR), at(t, 8 * HOUR)).await.unwrap();
    }
    store.create_token(ann.id, name("reporting"), "tok-ann", t).await.unwrap();

    store.set_password(ann.id, "$argon2id$new", Some("s-here"), Some(ann.id), clock.tick()).await.unwrap();
    assert_eq!(store.password_hash(ann.id).await.unwrap().as_deref(), Some("$argon2id$new"));
    assert_eq!(store.session("s-here", at(t, 1)).await.unwrap().user, ann);
    for ended in ["s-laptop", "s-phone"] {
        assert_eq!(not_found(store.session(ended, at(t, 1)).await), "session", "{ended}");
    }
    assert_eq!(store.session("s-bob", at(t, 1)).await.unwrap().user, bob, "other accounts keep theirs");
    assert_eq!(store.user_by_token("tok-ann").await.unwrap(), ann, "tokens stay");

    // Set by someone else (an administrator, the command line): every session ends.
    store.set_password(ann.id, "$argon2id$newer", None, None, clock.tick()).await.unwrap();
    assert_eq!(not_found(store.session("s-here", at(t, 1)).await), "session");
    assert_eq!(store.user_by_token("tok-ann").await.unwrap(), ann);
}

/// A dropped, disabled or rewritten audit trigger is put back by the next migration, which
/// names it (the binary logs a warning: a missing trigger is a sign of tampering).
async fn missing_audit_triggers_are_restored(db: TestDb) {
    let store = db.store.as_ref();
    let clock = Clock::new();
    store.create_organisation(name("Northwind"), None, clock.tick()).await.unwrap();
    assert_eq!(db.store.migrate().await.unwrap(), Vec::<&str>::new(), "in place after the migrations");
    let refused = async || db.raw_execute("UPDATE audit_event SET kind = kind").await.is_err_and(|e| e.contains("append-only"));
    let tampering: Vec<(Vec<&str>, Vec<&str>)> = if db.backend() == "postgres" {
        vec![
            (vec!["DROP TRIGGER audit_event_append_only ON audit_event"], vec!["audit_event_append_only"]),
            (vec!["ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"], vec!["audit_event_append_only"]),
            (
                vec![
                    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
                ],
                vec!["audit_event_append_only"],
            ),
        ]
    } else {
        vec![
            (
                vec!["DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete"],
                vec!["audit_event_no_update", "audit_event_no_delete"],
            ),
            (
                vec![
                    "DROP TRIGGER audit_event_no_update",
                    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT 1; END",
                ],
                vec!["audit_event_no_update"],
            ),
        ]
    };
    for (statements, restored) in tampering {
        for sql in &statements {
            db.raw_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        assert!(!refused().await, "{statements:?} lets an event be changed");
        assert_eq!(db.store.migrate().await.unwrap(), restored, "{statements:?}");
        assert!(refused().await, "after {statements:?}, the guard is back");
        assert_eq!(db.store.migrate().await.unwrap(), Vec::<&str>::new());
    }
    verified_events(store, SITE_CHAIN).await;
}
