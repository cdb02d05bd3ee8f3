//! One party never acts for another, and a body refers only to things of its own relationship:
//! party-scoped writes (holidays, invitations, members' roles and removal) tried by the other
//! party, the audit event's party (always the actor's own, the party acted on in the summary),
//! and references to another relationship's things or to nothing, through the real server.

use crate::app::{App, TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use crate::people::Browser;
use accord_domain::audit::Event;
use accord_domain::membership::Role;
use accord_domain::text::Email;
use accord_store::{ActionSource, IssueLink, NewAction, NewInvitation, NewIssue, StoreError};
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(
    a_party_writes_only_for_itself_and_events_name_the_actors_party,
    the_store_decides_who_writes_for_a_party,
    references_must_be_of_the_same_relationship
);

fn fields(body: &Value) -> Vec<String> {
    body["fields"].as_array().map(|f| f.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

async fn events(app: &App, relationship_id: Uuid) -> Vec<Event> {
    app.store().audit_events(relationship_id, 0, 1000).await.unwrap()
}

async fn a_party_writes_only_for_itself_and_events_name_the_actors_party(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (a_jmt, a_jmt_token) = app.user("jmt@northshore.example", &a, false).await;
    let (a_ser, _) = app.user("ser@northshore.example", &a, false).await;
    let (a_contrib, a_contrib_token) = app.user("contrib@northshore.example", &a, false).await;
    let (b_jmt, b_jmt_token) = app.user("jmt@keystone.example", &b, false).await;
    let (b_ser, b_ser_token) = app.user("ser@keystone.example", &b, false).await;
    let (_, admin_token) = app.user("admin@site.example", &a, true).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    for (user, role) in
        [(&a_jmt, Role::Jmt), (&a_ser, Role::Ser), (&a_contrib, Role::Contributor), (&b_jmt, Role::Jmt), (&b_ser, Role::Ser)]
    {
        app.member(&r, user, role).await;
    }
    let parties = app.store().parties(r.id).await.unwrap();
    let (party_a, party_b) = (parties[0].id, parties[1].id);
    let base = format!("/api/v1/relationships/{}", r.id);
    let holidays = |party: Uuid| Some(json!({"party": party, "lines": "2026-12-25 Christmas Day"}));

    // Party A's holidays move the deadlines of the levels A handles: party B may not set them.
    let before = events(&app, r.id).await.len();
    for token in [&b_jmt_token, &b_ser_token] {
        let (status, body) = app.call(Method::PUT, &format!("{base}/holidays"), Some(token), holidays(party_a)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(app.call(Method::PUT, &format!("{base}/holidays"), Some(&a_jmt_token), holidays(party_b)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(Method::PUT, &format!("{base}/holidays"), Some(&a_contrib_token), holidays(party_a)).await.0,
        StatusCode::FORBIDDEN
    );
    let mut b_browser = Browser::new(&app);
    b_browser.sign_in("jmt@keystone.example", TEST_PASSWORD).await;
    let refused = b_browser
        .post(
            &format!("/relationships/{}/holidays", r.id),
            &[("party", &party_a.to_string()), ("days[0].date", "2026-12-26"), ("days[0].name", "Boxing Day")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(app.store().holidays(r.id).await.unwrap().is_empty(), "a refused write changes nothing");
    assert_eq!(events(&app, r.id).await.len(), before, "and records nothing");
    // The ladder page offers each manager their own party's holidays only.
    let page = b_browser.get(&format!("/relationships/{}/ladder", r.id)).await.body;
    let form_of = |party: Uuid| page.split(&format!("value=\"{party}\"")).nth(1).unwrap().split("</form>").next().unwrap().to_owned();
    assert!(form_of(party_b).contains("<button"), "B's own form can be saved");
    assert!(!form_of(party_a).contains("<button") && !form_of(party_a).contains("days[0].date"), "A's is read only to B");

    // A's own JMT sets them; the event is A's, naming the party acted on.
    assert_eq!(app.call(Method::PUT, &format!("{base}/holidays"), Some(&a_jmt_token), holidays(party_a)).await.0, StatusCode::NO_CONTENT);
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!((event.kind.as_str(), event.actor, event.party), ("holidays.set", Some(a_jmt.id), Some(party_a)));
    assert_eq!(event.summary["party"], json!(party_a));
    assert_eq!(
        b_browser
            .post(
                &format!("/relationships/{}/holidays", r.id),
                &[("party", &party_b.to_string()), ("days[0].date", "2026-12-26"), ("days[0].name", "Boxing Day")]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!((event.actor, event.party, event.summary["party"].clone()), (Some(b_jmt.id), Some(party_b), json!(party_b)));

    // Party A's pending invitation: B's JMT may not withdraw it, A's SER may.
    let invitation = NewInvitation {
        relationship_id: r.id,
        party_id: party_a,
        email: Email::parse("new@northshore.example").unwrap(),
        role: Role::Contributor,
        token_hash: "invitation-hash".into(),
        expires_at: app.now() + SignedDuration::from_hours(24),
    };
    let invitation = app.store().create_invitation(invitation, a_jmt.id, app.now()).await.unwrap();
    let members_page = b_browser.get(&format!("/relationships/{}/members", r.id)).await.body;
    assert!(members_page.contains("new@northshore.example") && !members_page.contains(&format!("/invitations/{}/revoke", invitation.id)));
    let revoke = format!("/relationships/{}/invitations/{}/revoke", r.id, invitation.id);
    assert_eq!(b_browser.post(&revoke, &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store().pending_invitations(r.id, app.now()).await.unwrap().len(), 1, "still pending");
    let mut a_browser = Browser::new(&app);
    a_browser.sign_in("ser@northshore.example", TEST_PASSWORD).await;
    assert!(a_browser.get(&format!("/relationships/{}/members", r.id)).await.body.contains(&revoke));
    // A refused holidays form comes back with what was typed, and the reason.
    let typo = [
        ("party", party_a.to_string().leak() as &str),
        ("days[0].date", "2026-12-25"),
        ("days[0].name", "Christmas Day"),
        ("days[1].date", "2026-13-01"),
        ("days[1].name", "Nowhere Day"),
    ];
    let answer = a_browser.post(&format!("/relationships/{}/holidays", r.id), &typo).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.body.contains("value=\"Nowhere Day\"")
            && crate::forms::text(&answer.body).contains("Holiday 2's date: \"2026-13-01\" is not a date"),
        "{}",
        answer.body
    );
    assert_eq!(a_browser.post(&revoke, &[]).await.status, StatusCode::SEE_OTHER);
    assert!(app.store().pending_invitations(r.id, app.now()).await.unwrap().is_empty());
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!((event.kind.as_str(), event.actor, event.party), ("invitation.revoked", Some(a_ser.id), Some(party_a)));
    assert_eq!(event.summary, json!({"party": party_a}));

    // Party A's members: B's managers may not change their roles or remove them.
    let member = format!("{base}/members/{}", a_contrib.id);
    let before = events(&app, r.id).await.len();
    for token in [&b_jmt_token, &b_ser_token] {
        assert_eq!(app.call(Method::PUT, &member, Some(token), Some(json!({"role": "observer"}))).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.call(Method::DELETE, &member, Some(token), None).await.0, StatusCode::FORBIDDEN);
    }
    assert_eq!(events(&app, r.id).await.len(), before);
    assert_eq!(app.store().membership(r.id, a_contrib.id).await.unwrap().unwrap().role, Role::Contributor);
    assert_eq!(app.call(Method::PUT, &member, Some(&a_jmt_token), Some(json!({"role": "observer"}))).await.0, StatusCode::OK);
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!((event.kind.as_str(), event.actor, event.party), ("member.role_changed", Some(a_jmt.id), Some(party_a)));
    // The site administrator still manages every party's members, for no party of their own.
    let (status, body) = app.call(Method::PUT, &member, Some(&admin_token), Some(json!({"role": "contributor"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!((event.party, event.summary["party"].clone()), (None, json!(party_a)));

    // Joint writes stay open to every party: B's JMT records an obligation of A, for B.
    let obligation = json!({"party": party_a, "title": "Berth plan", "due_date": "2026-06-01"});
    let (status, body) = app.call(Method::POST, &format!("{base}/obligations"), Some(&b_jmt_token), Some(obligation)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!((event.kind.as_str(), event.party, event.summary["party"].clone()), ("obligation.created", Some(party_b), json!(party_a)));

    // A member who leaves does so for their own party still.
    assert_eq!(app.call(Method::DELETE, &member, Some(&a_contrib_token), None).await.0, StatusCode::NO_CONTENT);
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!((event.kind.as_str(), event.actor, event.party), ("member.left", Some(a_contrib.id), Some(party_a)));
    assert!(app.store().membership(r.id, a_contrib.id).await.unwrap().is_none());
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::Forbidden(_)))
}

/// The store decides it too, on the memberships its transaction reads: a role lost after a
/// request was admitted no longer writes for the party, and no caller of the store can skip it.
async fn the_store_decides_who_writes_for_a_party(db: TestDb) {
    let app = spawn_app(db).await;
    let store = app.store();
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (a_jmt, _) = app.user("jmt@northshore.example", &a, false).await;
    let (a_contrib, _) = app.user("contrib@northshore.example", &a, false).await;
    let (b_jmt, _) = app.user("jmt@keystone.example", &b, false).await;
    let (admin, _) = app.user("admin@site.example", &a, true).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    for (user, role) in [(&a_jmt, Role::Jmt), (&a_contrib, Role::Contributor), (&b_jmt, Role::Jmt)] {
        app.member(&r, user, role).await;
    }
    let parties = store.parties(r.id).await.unwrap();
    let (party_a, party_b) = (parties[0].id, parties[1].id);
    let now = app.now();
    let day = vec![("2026-12-25".parse().unwrap(), "Christmas Day".to_owned())];
    let invitation = |party: Uuid, token: &str| NewInvitation {
        relationship_id: r.id,
        party_id: party,
        email: Email::parse(&format!("{token}@example.org")).unwrap(),
        role: Role::Contributor,
        token_hash: token.into(),
        expires_at: now + SignedDuration::from_hours(24),
    };
    let head = store.chain_head(r.id).await.unwrap();
    assert!(forbidden(store.set_holidays(r.id, party_a, day.clone(), b_jmt.id, now).await));
    assert!(forbidden(store.set_holidays(r.id, party_a, day.clone(), a_contrib.id, now).await));
    assert!(forbidden(store.set_holidays(r.id, party_a, day.clone(), admin.id, now).await), "the administrator is no party's");
    assert!(forbidden(store.create_invitation(invitation(party_a, "by-b"), b_jmt.id, now).await));
    let pending = store.create_invitation(invitation(party_a, "by-a"), a_jmt.id, now).await.unwrap();
    let head_after = store.chain_head(r.id).await.unwrap();
    assert!(forbidden(store.revoke_invitation(r.id, pending.id, b_jmt.id, now).await));
    assert!(forbidden(store.change_role(r.id, a_contrib.id, Role::Observer, Some(b_jmt.id), now).await));
    assert!(forbidden(store.remove_member(r.id, a_contrib.id, Some(b_jmt.id), now).await));
    assert!(!forbidden(store.remove_member(r.id, a_contrib.id, Some(a_contrib.id), now).await), "anyone may leave");
    assert!(store.holidays(r.id).await.unwrap().is_empty());
    assert_eq!(store.pending_invitations(r.id, now).await.unwrap().len(), 1);
    assert_ne!(head, head_after);
    let events = store.audit_events(r.id, head_after.unwrap().position, 10).await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["member.left"], "only the leaving was recorded");

    // A JMT member who has lost the role writes for the party no more; the party's own do.
    store.change_role(r.id, a_jmt.id, Role::Contributor, Some(admin.id), now).await.unwrap();
    assert!(forbidden(store.revoke_invitation(r.id, pending.id, a_jmt.id, now).await));
    store.change_role(r.id, a_jmt.id, Role::Jmt, None, now).await.unwrap();
    store.revoke_invitation(r.id, pending.id, a_jmt.id, now).await.unwrap();
    store.set_holidays(r.id, party_b, day, b_jmt.id, now).await.unwrap();
    assert_eq!(store.holidays(r.id).await.unwrap().iter().map(|h| h.party_id).collect::<Vec<_>>(), [party_b]);
}

async fn references_must_be_of_the_same_relationship(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b, d) = (app.organisation("Northshore").await, app.organisation("Keystone").await, app.organisation("Distant").await);
    let (jmt, token) = app.user("jmt@northshore.example", &a, false).await;
    let (stranger, stranger_token) = app.user("ser@distant.example", &d, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    let other = app.relationship("Elsewhere", &[&a, &d]).await;
    app.member(&r, &jmt, Role::Jmt).await;
    app.member(&other, &stranger, Role::Ser).await;
    let base = format!("/api/v1/relationships/{}", r.id);
    let elsewhere = format!("/api/v1/relationships/{}", other.id);
    let created = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().parse::<Uuid>().unwrap()
    };

    // Things of the other relationship, and of this one.
    let kpi = |objectives: Vec<Uuid>| {
        json!({"name": "Berth availability", "direction": "higher", "cadence": "monthly", "target": 98, "amber": 95, "red": 90,
            "effective_from": "2026-01", "objectives": objectives})
    };
    let foreign_party = app.store().parties(other.id).await.unwrap()[1].id;
    let party_a = app.store().parties(r.id).await.unwrap()[0].id;
    let objective = |party: Uuid| json!({"title": "Keep the port open", "parties": [party]});
    let foreign_objective =
        created(app.call(Method::POST, &format!("{elsewhere}/objectives"), Some(&stranger_token), Some(objective(foreign_party))).await);
    let foreign_kpi = created(app.call(Method::POST, &format!("{elsewhere}/kpis"), Some(&stranger_token), Some(kpi(vec![]))).await);
    let obligation = |party: Uuid| json!({"party": party, "title": "Berth plan", "due_date": "2026-06-01"});
    let foreign_obligation =
        created(app.call(Method::POST, &format!("{elsewhere}/obligations"), Some(&stranger_token), Some(obligation(foreign_party))).await);
    let own_objective = created(app.call(Method::POST, &format!("{base}/objectives"), Some(&token), Some(objective(party_a))).await);
    let own_kpi = created(app.call(Method::POST, &format!("{base}/kpis"), Some(&token), Some(kpi(vec![own_objective]))).await);
    let own_obligation = created(app.call(Method::POST, &format!("{base}/obligations"), Some(&token), Some(obligation(party_a))).await);
    let nothing = Uuid::now_v7();

    let chain = events(&app, r.id).await.len();
    let action = |source: Value| {
        let mut body = json!({"title": "Fix the fenders", "due_date": "2026-04-01"});
        body.as_object_mut().unwrap().extend(source.as_object().unwrap().clone());
        body
    };
    let refusals: Vec<(Method, String, Value, &str)> = vec![
        // Action sources: another relationship's KPI or obligation, or nothing at all.
        (
            Method::POST,
            "/actions".into(),
            action(json!({"source_kind": "kpi_period", "source_id": foreign_kpi, "source_period": "2026-02-01"})),
            "source_id",
        ),
        (
            Method::POST,
            "/actions".into(),
            action(json!({"source_kind": "kpi_period", "source_id": nothing, "source_period": "2026-02-01"})),
            "source_id",
        ),
        (Method::POST, "/actions".into(), action(json!({"source_kind": "obligation", "source_id": foreign_obligation})), "source_id"),
        (Method::POST, "/actions".into(), action(json!({"source_kind": "obligation", "source_id": own_kpi})), "source_id"),
        (
            Method::POST,
            "/actions".into(),
            action(json!({"source_kind": "kpi_period", "source_id": own_kpi, "source_period": "2026-02-14"})),
            "source_period",
        ),
        // Owners and parties.
        (Method::POST, "/actions".into(), action(json!({"owner": stranger.id})), "owner"),
        (Method::POST, "/actions".into(), action(json!({"party": foreign_party})), "party"),
        // KPIs: their objectives, responsible party and reporter.
        (Method::POST, "/kpis".into(), kpi(vec![foreign_objective]), "objectives"),
        (
            Method::POST,
            "/kpis".into(),
            json!({"name": "Other", "direction": "higher", "cadence": "monthly", "target": 9, "amber": 8, "red": 7, "party": foreign_party}),
            "party",
        ),
        (
            Method::POST,
            "/kpis".into(),
            json!({"name": "Other", "direction": "higher", "cadence": "monthly", "target": 9, "amber": 8, "red": 7, "reporter": stranger.id}),
            "reporter",
        ),
        // Obligations, objectives, holidays: their parties.
        (Method::POST, "/obligations".into(), obligation(foreign_party), "party"),
        (Method::POST, "/objectives".into(), json!({"title": "Grow", "parties": [foreign_party]}), "parties"),
        (Method::PUT, "/holidays".into(), json!({"party": nothing, "lines": "2026-12-25 Christmas"}), "party"),
        // Issues: what they touch.
        (Method::POST, "/issues".into(), json!({"title": "Gate 3", "links": [format!("kpi:{foreign_kpi}")]}), "links"),
        (Method::POST, "/issues".into(), json!({"title": "Gate 3", "links": [format!("obligation:{nothing}")]}), "links"),
        // The ladder: its named handlers.
        (
            Method::PUT,
            "/ladder".into(),
            json!({"version": 0, "levels": [{"name": "Working level", "members": [stranger.id], "limit": "5 working days"}]}),
            "levels[0].members",
        ),
    ];
    for (method, path, body, field) in refusals {
        let (status, answer) = app.call(method.clone(), &format!("{base}{path}"), Some(&token), Some(body.clone())).await;
        assert_eq!(
            (status, fields(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_owned()]),
            "{method} {path} {body}: {answer}"
        );
    }
    assert_eq!(events(&app, r.id).await.len(), chain, "nothing refused reached the audit chain");
    let (_, actions) = app.call(Method::GET, &format!("{base}/actions?status=all"), Some(&token), None).await;
    assert_eq!(actions["items"].as_array().map(Vec::len), Some(0), "{actions}");

    // The store refuses them too, whoever calls it (the web layer checks issue links before it).
    let store = app.store();
    let link = |kind: &str, id: Uuid| NewIssue {
        relationship_id: r.id,
        title: "Gate 3".into(),
        description: String::new(),
        category: "other".into(),
        severity: "low".into(),
        links: vec![IssueLink { kind: kind.into(), id }],
    };
    for (kind, id) in [("kpi", foreign_kpi), ("objective", foreign_objective), ("obligation", nothing), ("action", own_kpi)] {
        match store.create_issue(link(kind, id), jmt.id, app.now()).await {
            Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.0[0].field, "links", "{kind}:{id}"),
            other => panic!("{kind}:{id} was not refused: {other:?}"),
        }
    }
    let sourced = |kind: &str, id: Uuid, period: Option<&str>| NewAction {
        relationship_id: r.id,
        title: "Fix it".into(),
        description: String::new(),
        owner_id: None,
        party_id: party_a,
        due_date: "2026-04-01".parse().unwrap(),
        source: Some(ActionSource { kind: kind.into(), id, period: period.map(|p| p.parse().unwrap()) }),
    };
    // A kind this version does not know ("risk", for now), and a meeting item that is no item.
    let kinds =
        [("kpi_period", foreign_kpi, "source_id"), ("risk", own_obligation, "source_kind"), ("review", own_obligation, "source_id")];
    for (kind, id, field) in kinds {
        match store.create_action(sourced(kind, id, Some("2026-02-01")), jmt.id, app.now()).await {
            Err(StoreError::Invalid(invalid)) => assert_eq!(invalid.0[0].field, field, "{kind}:{id}"),
            other => panic!("{kind}:{id} was not refused: {other:?}"),
        }
    }
    assert_eq!(events(&app, r.id).await.len(), chain);

    // Their own things are accepted, and hashed into the chain as they were given.
    let body = action(json!({"source_kind": "kpi_period", "source_id": own_kpi, "source_period": "2026-02-01"}));
    created(app.call(Method::POST, &format!("{base}/actions"), Some(&token), Some(body)).await);
    let event = events(&app, r.id).await.pop().unwrap();
    assert_eq!(event.summary["source"], json!({"kind": "kpi_period", "id": own_kpi, "period": "2026-02-01"}));
    let body = json!({"title": "Gate 3", "links": [format!("kpi:{own_kpi}"), format!("obligation:{own_obligation}")]});
    created(app.call(Method::POST, &format!("{base}/issues"), Some(&token), Some(body)).await);

    // The page re-renders a refused form with the reason, and keeps what raised the action.
    let mut browser = Browser::new(&app);
    browser.sign_in("jmt@northshore.example", TEST_PASSWORD).await;
    let foreign = foreign_kpi.to_string();
    let form = [
        ("title", "Corrective action"),
        ("due_date", "2026-04-01"),
        ("source_kind", "kpi_period"),
        ("source_id", foreign.as_str()),
        ("source_period", "2026-02-01"),
    ];
    let answer = browser.post(&format!("/relationships/{}/actions", r.id), &form).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("What raised it: is not a KPI of this relationship"), "{}", answer.body);
    assert!(answer.body.contains(&format!("name=\"source_id\" value=\"{foreign}\"")), "the form keeps its source");
}
