//! Signed records on both databases: the store's story (sign, a change voids, sign again, the last
//! party seals, a sealed record refuses changes, an addendum signed and sealed the same way, a
//! signer who left or was disabled keeps a valid signature), and the same through the real
//! server's API, with the exported audit chain proving what was signed and sealed.

use crate::app::spawn_app;
use crate::backends::{TestDb, on_both_backends};
use accord_domain::audit::{ChainHead, ChainVerifier, Event, claim_line};
use accord_domain::membership::Role;
use accord_domain::records::{Document, SubjectKind};
use accord_domain::relationship::NewRelationship;
use accord_domain::text::{Email, Name};
use accord_store::records::decide::{CHANGED, NOT_SEALED, SEALED};
use accord_store::*;
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(
    a_record_is_signed_by_every_party_then_sealed_and_corrected_only_by_addenda,
    two_parties_signing_at_once_seal_the_record_once,
    the_api_signs_seals_and_the_exported_chain_proves_it,
);

fn at(minutes: i64) -> Timestamp {
    "2027-01-18T10:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(minutes)
}

/// Harbour Works and Northwind's relationship; another one, of an outsider.
struct Setup {
    r: Uuid,
    north: Uuid,
    harbour: Uuid,
    /// Northwind: Ann the SER, Jim the JMT chair, Bob a contributor, Obi an observer.
    ann: User,
    jim: User,
    bob: User,
    obi: User,
    /// Harbour Works: Cat the SER, Kay the JMT chair.
    cat: User,
    kay: User,
    /// A relationship of Northwind's and Outsider's, which Ann is also a member of.
    other: Uuid,
}

async fn setup(store: &dyn Store) -> Setup {
    let name = |t: &str| Name::parse(t).unwrap();
    let mut orgs = Vec::new();
    for title in ["Northwind", "Harbour Works", "Outsider Ltd"] {
        orgs.push(store.create_organisation(name(title), None, at(0)).await.unwrap());
    }
    let mut users = Vec::new();
    for (email, org) in [
        ("ann@n.example", 0),
        ("jim@n.example", 0),
        ("bob@n.example", 0),
        ("obi@n.example", 0),
        ("cat@h.example", 1),
        ("kay@h.example", 1),
        ("out@o.example", 2),
    ] {
        let new = NewUser {
            email: Email::parse(email).unwrap(),
            name: name(&email[..3].to_uppercase()),
            organisation_id: Some(orgs[org].id),
            is_admin: false,
            password_hash: None,
        };
        users.push(store.create_user(new, None, at(0)).await.unwrap());
    }
    let relationship = |title: &str, parties: Vec<Uuid>| NewRelationship {
        name: name(title),
        purpose: "Build the quay".into(),
        start_date: jiff::civil::date(2026, 1, 5),
        time_zone: "Europe/London".into(),
        parties,
    };
    let r = store.create_relationship(relationship("Quay", vec![orgs[0].id, orgs[1].id]), None, at(0)).await.unwrap().id;
    let other = store.create_relationship(relationship("Elsewhere", vec![orgs[0].id, orgs[2].id]), None, at(0)).await.unwrap().id;
    let [ann, jim, bob, obi, cat, kay, out] = <[User; 7]>::try_from(users).unwrap();
    for (user, role) in
        [(&ann, Role::Ser), (&jim, Role::Jmt), (&bob, Role::Contributor), (&obi, Role::Observer), (&cat, Role::Ser), (&kay, Role::Jmt)]
    {
        store.add_member(r, user.id, role, None, at(0)).await.unwrap();
    }
    store.add_member(other, ann.id, Role::Ser, None, at(0)).await.unwrap();
    store.add_member(other, out.id, Role::Ser, None, at(0)).await.unwrap();
    let parties = store.parties(r).await.unwrap();
    Setup { r, north: parties[0].id, harbour: parties[1].id, ann, jim, bob, obi, cat, kay, other }
}

fn minutes(s: &Setup, text: &str) -> PutRecord {
    PutRecord {
        relationship_id: s.r,
        kind: SubjectKind::Review,
        subject_id: Uuid::from_u128(77),
        title: "JMT, January 2027".into(),
        link: format!("/relationships/{}/reviews/77", s.r),
        content: json!({"attendance": {"Northwind": ["Ann", "Jim"], "Harbour Works": ["Kay"]}, "decisions": [{"text": text, "agreed_by": ["Jim", "Kay"]}], "kpis_seen": [{"name": "On-time", "value": "97.5%"}]}),
        signers: vec![(s.north, s.jim.id), (s.harbour, s.kay.id)],
    }
}

#[track_caller]
fn conflict<T: std::fmt::Debug>(result: StoreResult<T>) -> String {
    match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[track_caller]
fn forbidden<T: std::fmt::Debug>(result: StoreResult<T>) {
    assert!(matches!(result, Err(StoreError::Forbidden(_))), "expected forbidden, got {result:?}");
}

/// The events after `position`, checked link by link from the chain's start.
async fn events_after(store: &dyn Store, chain: Uuid, position: i64) -> Vec<Event> {
    let all = store.audit_events(chain, 0, 10_000).await.unwrap();
    let mut verifier = ChainVerifier::new();
    for event in &all {
        verifier.push(event).unwrap();
    }
    all.into_iter().filter(|e| e.position > position).collect()
}

async fn head(store: &dyn Store, chain: Uuid) -> i64 {
    store.chain_head(chain).await.unwrap().map_or(0, |h| h.position)
}

async fn inbox_kinds(store: &dyn Store, user: &User) -> Vec<(String, String)> {
    store.inbox(user.id, 100).await.unwrap().into_iter().map(|n| (n.kind, n.link)).collect()
}

async fn a_record_is_signed_by_every_party_then_sealed_and_corrected_only_by_addenda(db: TestDb) {
    let store = db.store.as_ref();
    let s = setup(store).await;
    let r = s.r;

    // Put for signature: its hash is the SHA-256 of the canonical document, computed here anew.
    let put = minutes(&s, "Re-plan the berths");
    let record = store.put_record(put.clone(), Some(s.jim.id), at(1)).await.unwrap();
    let document = Document {
        relationship_id: r,
        kind: SubjectKind::Review,
        subject_id: put.subject_id,
        parent: None,
        title: &put.title,
        content: &put.content,
    };
    assert_eq!(record.hash, document.hash().unwrap());
    assert_eq!((record.version, record.seal.is_none(), record.signers.len()), (1, true, 2));
    assert_eq!(store.record_of(r, SubjectKind::Review, put.subject_id).await.unwrap().as_ref(), Some(&record));
    // Each party's SER and named chair is told, with a link to the page, not the one who put it.
    let told = ("record.awaiting_signature".to_owned(), record.path());
    for user in [&s.ann, &s.cat, &s.kay] {
        assert!(inbox_kinds(store, user).await.contains(&told), "{}", user.email);
    }
    for user in [&s.jim, &s.bob, &s.obi] {
        assert!(!inbox_kinds(store, user).await.contains(&told), "{}", user.email);
    }
    // And by e-mail, linking to the page, where signing is a deliberate step.
    let mails = store.lease_mail("test", at(1), at(60), 100).await.unwrap();
    let mut to: Vec<&str> = mails.iter().filter(|m| m.link == record.path()).map(|m| m.to.as_str()).collect();
    to.sort();
    assert_eq!(to, ["ann@n.example", "cat@h.example", "kay@h.example"]);
    assert!(
        mails
            .iter()
            .all(|m| m.subject == "Waiting on your signature: JMT, January 2027" && m.body.contains("Opening this link signs nothing"))
    );
    // The same put again changes nothing and tells no one again.
    let before = head(store, r).await;
    assert_eq!(store.put_record(put.clone(), Some(s.jim.id), at(2)).await.unwrap(), record);
    assert_eq!(head(store, r).await, before);

    // Who may sign: a party's SER or its named signer, for their own party, on the current hash.
    forbidden(store.sign_record(r, record.id, record.hash.clone(), s.bob.id, at(3)).await);
    forbidden(store.sign_record(r, record.id, record.hash.clone(), s.obi.id, at(3)).await);
    assert_eq!(conflict(store.sign_record(r, record.id, "0".repeat(64), s.jim.id, at(3)).await), CHANGED);
    assert!(matches!(store.sign_record(s.other, record.id, record.hash.clone(), s.ann.id, at(3)).await, Err(StoreError::NotFound(_))));
    let start = head(store, r).await;
    let signed = store.sign_record(r, record.id, record.hash.clone(), s.jim.id, at(4)).await.unwrap();
    let jims = signed.signature_of(s.north).unwrap().clone();
    assert_eq!((jims.user_id, &jims.sha256, jims.signed_at, jims.valid()), (s.jim.id, &record.hash, at(4), true));
    let events = events_after(store, r, start).await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].kind.as_str(), events[0].position, events[0].party), ("record.signed", jims.position, Some(s.north)));
    assert_eq!(events[0].summary["hash"], json!(record.hash));
    assert!(conflict(store.sign_record(r, record.id, record.hash.clone(), s.ann.id, at(5)).await).contains("already signed"));

    // A change of what is signed voids the signature (kept, marked), and tells the signers again.
    let changed = store.put_record(minutes(&s, "Re-plan the berths by March"), Some(s.kay.id), at(6)).await.unwrap();
    assert_ne!(changed.hash, record.hash);
    assert_eq!((changed.version, changed.signature_of(s.north)), (2, None));
    assert_eq!(changed.signatures.len(), 1);
    assert_eq!((changed.signatures[0].id, changed.signatures[0].voided_at), (jims.id, Some(at(6))));
    let event = events_after(store, r, jims.position).await.remove(0);
    assert_eq!((event.kind.as_str(), &event.summary["voided"][0]["signature"]), ("record.changed", &json!(jims.id)));
    assert_eq!(conflict(store.sign_record(r, record.id, record.hash.clone(), s.kay.id, at(7)).await), CHANGED);

    // Signed again; the signer leaves and keeps a valid signature; the last party seals.
    store.sign_record(r, record.id, changed.hash.clone(), s.jim.id, at(8)).await.unwrap();
    store.remove_member(r, s.jim.id, Some(s.ann.id), at(9)).await.unwrap();
    let start = head(store, r).await;
    let sealed = store.sign_record(r, record.id, changed.hash.clone(), s.kay.id, at(10)).await.unwrap();
    assert_eq!(sealed.signatures.iter().filter(|g| g.valid()).count(), 2);
    assert_eq!(sealed.signature_of(s.north).unwrap().user_id, s.jim.id, "a signer who left keeps a valid signature");
    let seal = sealed.seal.clone().expect("sealed when the last party signed");
    let events = events_after(store, r, start).await;
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["record.signed", "record.sealed"]);
    assert_eq!((seal.position, &seal.event_hash, seal.sealed_at), (events[1].position, &events[1].hash, at(10)));
    assert_eq!((events[1].actor, &events[1].summary["hash"]), (None, &json!(changed.hash)));
    assert_eq!(events[1].summary["signatures"].as_array().unwrap().len(), 2);
    // A disabled signer's signature stays valid too.
    store.set_user_disabled(s.kay.id, true, None, at(11)).await.unwrap();
    assert!(store.record(r, record.id).await.unwrap().signature_of(s.harbour).unwrap().valid());

    // Sealed: any change is refused, in the store and by the database itself.
    let start = head(store, r).await;
    assert_eq!(conflict(store.put_record(minutes(&s, "Quietly changed"), Some(s.ann.id), at(12)).await), SEALED);
    assert_eq!(conflict(store.sign_record(r, record.id, changed.hash.clone(), s.cat.id, at(12)).await), SEALED);
    let again = minutes(&s, "Re-plan the berths by March");
    assert_eq!(store.put_record(again, Some(s.ann.id), at(12)).await.unwrap(), sealed);
    assert_eq!(head(store, r).await, start);
    let tamper = db.raw_execute("UPDATE signed_record SET title = 'Forged'").await;
    assert!(tamper.is_err_and(|e| e.contains("a sealed record never changes")));

    // An addendum: a record of its own, of a sealed record only, by an SER or a JMT member.
    let correction = NewAddendum {
        relationship_id: r,
        parent_id: record.id,
        title: "Correction".into(),
        text: "March means 31 March".into(),
        date: jiff::civil::date(2027, 1, 19),
    };
    forbidden(store.add_addendum(correction.clone(), s.bob.id, at(13)).await);
    let addendum = store.add_addendum(correction.clone(), s.ann.id, at(13)).await.unwrap();
    assert_eq!(
        (addendum.kind, addendum.parent_id, addendum.parent_hash.as_deref()),
        (SubjectKind::Addendum, Some(record.id), Some(changed.hash.as_str()))
    );
    assert_eq!(addendum.content, json!({"date": "2027-01-19", "text": "March means 31 March"}));
    // Jim left: Kay is the one named signer still a member.
    assert_eq!(addendum.signers.iter().map(|g| g.user_id).collect::<Vec<_>>(), [s.kay.id]);
    let parent = store.record(r, record.id).await.unwrap();
    assert_eq!((parent.addenda.len(), parent.addenda[0].id, parent.seal.as_ref()), (1, addendum.id, Some(&seal)));
    let on_unsealed = NewAddendum { parent_id: addendum.id, ..correction };
    assert_eq!(conflict(store.add_addendum(on_unsealed, s.ann.id, at(14)).await), NOT_SEALED);
    store.sign_record(r, addendum.id, addendum.hash.clone(), s.ann.id, at(15)).await.unwrap();
    let addendum = store.sign_record(r, addendum.id, addendum.hash.clone(), s.cat.id, at(16)).await.unwrap();
    assert!(addendum.seal.is_some());
    let lines = store.records(r, None, 10).await.unwrap();
    assert_eq!(lines.iter().map(|l| (l.id, l.sealed_at.is_some())).collect::<Vec<_>>(), [(addendum.id, true), (record.id, true)]);
    assert_eq!(store.records(r, Some(addendum.id), 10).await.unwrap().len(), 1);
    // Another relationship sees none of it.
    assert!(matches!(store.record(s.other, record.id).await, Err(StoreError::NotFound(_))));
    assert!(store.records(s.other, None, 10).await.unwrap().is_empty());
}

/// Both parties sign at once, each on a server of its own: both signatures stand, and the record
/// is sealed once, by whichever came second.
async fn two_parties_signing_at_once_seal_the_record_once(db: TestDb) {
    let store = db.store.clone();
    let s = setup(store.as_ref()).await;
    let record = store.put_record(minutes(&s, "Go"), Some(s.jim.id), at(1)).await.unwrap();
    let second = db.second_store().await;
    let (a, b) = tokio::join!(
        store.sign_record(s.r, record.id, record.hash.clone(), s.ann.id, at(2)),
        second.sign_record(s.r, record.id, record.hash.clone(), s.cat.id, at(2)),
    );
    a.unwrap();
    b.unwrap();
    let record = store.record(s.r, record.id).await.unwrap();
    assert!(record.seal.is_some());
    let sealed = events_after(store.as_ref(), s.r, 0).await.into_iter().filter(|e| e.kind == "record.sealed").count();
    assert_eq!(sealed, 1);
}

/// The API: read, sign (refusals by role, hash and party), seal, addendum; the page shows the
/// seal's `POSITION:HASH`; the exported chain carries the signed hash and the seal.
async fn the_api_signs_seals_and_the_exported_chain_proves_it(db: TestDb) {
    let app = spawn_app(db).await;
    let (n, h, o) = (app.organisation("Northwind").await, app.organisation("Harbour Works").await, app.organisation("Outsider").await);
    let (ann, ann_t) = app.user("ann@n.example", &n, false).await;
    let (jim, jim_t) = app.user("jim@n.example", &n, false).await;
    let (obi, obi_t) = app.user("obi@n.example", &n, false).await;
    let (kay, kay_t) = app.user("kay@h.example", &h, false).await;
    let (cat, _) = app.user("cat@h.example", &h, false).await;
    let (out, out_t) = app.user("out@o.example", &o, false).await;
    let r = app.relationship("Quay", &[&n, &h]).await;
    let other = app.relationship("Elsewhere", &[&o, &n]).await;
    for (user, role) in [(&ann, Role::Ser), (&jim, Role::Jmt), (&obi, Role::Observer), (&cat, Role::Ser), (&kay, Role::Jmt)] {
        app.member(&r, user, role).await;
    }
    app.member(&other, &out, Role::Ser).await;
    let parties = app.store().parties(r.id).await.unwrap();
    // No subject module puts records yet: the test puts one as a module would.
    let put = PutRecord {
        relationship_id: r.id,
        kind: SubjectKind::Statement,
        subject_id: Uuid::from_u128(5),
        title: "Statement of intent".into(),
        link: format!("/relationships/{}", r.id),
        content: json!({"intent": "Open the quay <b>in May</b>", "conditions": ["Dredging done"]}),
        signers: vec![(parties[0].id, jim.id), (parties[1].id, kay.id)],
    };
    let record = app.store().put_record(put, Some(jim.id), app.now()).await.unwrap();
    let path = format!("/api/v1/relationships/{}/records/{}", r.id, record.id);
    let sign = format!("{path}/signatures");

    // Observers read; another relationship's member gets 404.
    let (status, body) = app.call(Method::GET, &path, Some(&obi_t), None).await;
    assert_eq!((status, body["hash"].as_str()), (StatusCode::OK, Some(record.hash.as_str())));
    assert_eq!(body["content"]["intent"], "Open the quay <b>in May</b>");
    assert_eq!(app.call(Method::GET, &path, Some(&out_t), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::POST, &sign, Some(&out_t), Some(json!({"hash": record.hash}))).await.0, StatusCode::NOT_FOUND);
    let (status, list) = app.call(Method::GET, &format!("/api/v1/relationships/{}/records", r.id), Some(&obi_t), None).await;
    assert_eq!((status, list["items"][0]["id"].as_str()), (StatusCode::OK, Some(record.id.to_string().as_str())));

    // Refusals: an observer (403), a malformed hash (422), a hash no longer current (409).
    let (status, body) = app.call(Method::POST, &sign, Some(&obi_t), Some(json!({"hash": record.hash}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app.call(Method::POST, &sign, Some(&jim_t), Some(json!({"hash": "abc"}))).await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("hash")), "{body}");
    let (status, body) = app.call(Method::POST, &sign, Some(&jim_t), Some(json!({"hash": "f".repeat(64)}))).await;
    assert_eq!((status, body["message"].as_str()), (StatusCode::CONFLICT, Some(CHANGED)), "{body}");

    // Jim signs for Northwind; Ann cannot sign for it again; the page offers Harbour's SER nothing
    // of Northwind's, and shows the hash every party signs.
    let (status, body) = app.call(Method::POST, &sign, Some(&jim_t), Some(json!({"hash": record.hash.to_uppercase()}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["signatures"][0]["sha256"].as_str(), body["seal"].is_null()), (Some(record.hash.as_str()), true));
    let (status, body) = app.call(Method::POST, &sign, Some(&ann_t), Some(json!({"hash": record.hash}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already signed"));
    let page_path = format!("/relationships/{}/records/{}", r.id, record.id);
    let page = |token: String| {
        let (app, page_path) = (&app, page_path.clone());
        async move {
            let response = app.request(Method::GET, &page_path, Some(&token)).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, html) = page(kay_t.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Sign for Harbour Works") && !html.contains("Sign for Northwind"), "{html}");
    assert!(html.contains(&record.hash) && html.contains("Open the quay &#60;b&#62;in May&#60;/b&#62;") && !html.contains("<b>in May"));
    let (_, html) = page(obi_t.clone()).await;
    assert!(!html.contains("Sign for") && html.contains("Waiting"));

    // Kay signs for Harbour Works: sealed; changes refused; the page shows POSITION:HASH.
    let (status, body) = app.call(Method::POST, &sign, Some(&kay_t), Some(json!({"hash": record.hash}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (position, event_hash) = (body["seal"]["position"].as_i64().unwrap(), body["seal"]["event_hash"].as_str().unwrap().to_owned());
    let (status, body) = app.call(Method::POST, &sign, Some(&ann_t), Some(json!({"hash": record.hash}))).await;
    assert_eq!((status, body["message"].as_str()), (StatusCode::CONFLICT, Some(SEALED)));
    let (_, html) = page(obi_t.clone()).await;
    assert!(html.contains(&format!("{position}:{event_hash}")), "the seal's chain position and hash are shown");
    assert!(!html.contains("Add an addendum"), "observers add none");
    let (_, html) = page(ann_t.clone()).await;
    assert!(html.contains("Add an addendum"));

    // An addendum: 403 for an observer, 422 without text, 201 for the SER, then 409 on itself.
    let addenda = format!("{path}/addenda");
    let (status, _) = app.call(Method::POST, &addenda, Some(&obi_t), Some(json!({"title": "Fix", "text": "May means 31 May"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.call(Method::POST, &addenda, Some(&ann_t), Some(json!({"title": "Fix", "text": "  "}))).await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text")), "{body}");
    let (status, added) = app.call(Method::POST, &addenda, Some(&ann_t), Some(json!({"title": "Fix", "text": "May means 31 May"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!((added["kind"].as_str(), added["content"]["date"].as_str()), (Some("addendum"), Some("2026-03-02")));
    let nested = format!("/api/v1/relationships/{}/records/{}/addenda", r.id, added["id"].as_str().unwrap());
    let (status, body) = app.call(Method::POST, &nested, Some(&ann_t), Some(json!({"title": "Fix", "text": "x"}))).await;
    assert_eq!((status, body["message"].as_str()), (StatusCode::CONFLICT, Some(NOT_SEALED)));
    let (_, body) = app.call(Method::GET, &path, Some(&obi_t), None).await;
    assert_eq!(body["addenda"][0]["id"], added["id"]);

    // The exported chain verifies, and proves what was signed and sealed.
    let response = app.request(Method::GET, &format!("/relationships/{}/audit/export.jsonl", r.id), Some(&obi_t)).send().await.unwrap();
    let export = response.bytes().await.unwrap();
    // The seal's POSITION:HASH, as a party kept it, witnesses the chain (`accord audit verify --witness`).
    let mut verifier = ChainVerifier::new();
    verifier.witness(ChainHead::parse(&format!("{position}:{event_hash}")).unwrap());
    let mut lines: Vec<Value> = Vec::new();
    for line in export.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        verifier.push_claim(claim_line(line)).unwrap();
        lines.push(serde_json::from_slice(line).unwrap());
    }
    verifier.finish().unwrap();
    let subject = format!("record:{}", record.id);
    let signed: Vec<&Value> = lines.iter().filter(|e| e["kind"] == "record.signed" && e["subject"] == subject.as_str()).collect();
    assert_eq!(signed.len(), 2);
    assert!(signed.iter().all(|e| e["summary"]["hash"] == record.hash.as_str()));
    let seal = lines.iter().find(|e| e["kind"] == "record.sealed").unwrap();
    assert_eq!(
        (seal["position"].as_i64(), seal["hash"].as_str(), &seal["summary"]["hash"]),
        (Some(position), Some(event_hash.as_str()), &json!(record.hash))
    );
}
