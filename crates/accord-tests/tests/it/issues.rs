//! The issue log through the real server: raising, proposals, escalation by the sweep, private
//! notes, notifications — on both databases.

use crate::app::spawn_app;
use crate::backends::{TestDb, on_both_backends};
use accord_domain::membership::Role;
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(issue_story);

fn fields(body: &Value) -> Vec<String> {
    body["fields"].as_array().map(|f| f.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

async fn issue_story(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (contrib_a, contrib_a_t) = app.user("contrib@northshore.example", &a, false).await;
    let (jmt_a, jmt_a_t) = app.user("jmt@northshore.example", &a, false).await;
    let (jmt_b, jmt_b_t) = app.user("jmt@keystone.example", &b, false).await;
    let (ser_b, ser_b_t) = app.user("ser@keystone.example", &b, false).await;
    let (observer, observer_t) = app.user("observer@keystone.example", &b, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    for (u, role) in
        [(&contrib_a, Role::Contributor), (&jmt_a, Role::Jmt), (&jmt_b, Role::Jmt), (&ser_b, Role::Ser), (&observer, Role::Observer)]
    {
        app.member(&r, u, role).await;
    }
    let base = format!("/api/v1/relationships/{}/issues", r.id);
    let call = |method: Method, path: String, token: &str, body: Option<Value>| {
        let token = token.to_owned();
        let app = &app;
        async move { app.call(method, &path, Some(&token), body).await }
    };

    // Bad input names its fields.
    let (status, body) = call(Method::POST, base.clone(), &contrib_a_t, Some(json!({"title": " ", "severity": "urgent"}))).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["title".to_owned(), "severity".into()]));
    assert_eq!(call(Method::POST, base.clone(), &observer_t, Some(json!({"title": "x"}))).await.0, StatusCode::FORBIDDEN);

    // Raised on Monday 2 March 09:00 with 5 working days at the working level.
    let (status, issue) = call(
        Method::POST,
        base.clone(),
        &contrib_a_t,
        Some(json!({"title": "Gate 3 closed without notice", "category": "delivery", "severity": "high"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issue}");
    assert_eq!((issue["number"].as_i64(), issue["level"].as_i64()), (Some(1), Some(0)));
    assert_eq!(issue["deadline"], "2026-03-09T09:00:00Z");
    let path = format!("{base}/{}", issue["id"].as_str().unwrap());
    // The working level's handlers hear of it (not the raiser).
    let (_, inbox) = call(Method::GET, "/api/v1/notifications".into(), &jmt_b_t, None).await;
    assert!(inbox["items"][0]["title"].as_str().unwrap().contains("New issue #1"), "{inbox}");
    let (_, own) = call(Method::GET, "/api/v1/notifications".into(), &contrib_a_t, None).await;
    assert_eq!(own["items"].as_array().unwrap().len(), 0);

    // A private note stays with its party.
    let (status, _) = call(
        Method::POST,
        format!("{path}/comments"),
        &contrib_a_t,
        Some(json!({"body": "Our gate log shows it was agreed", "private": true})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let note_seen = |v: &Value| v["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "note");
    assert!(note_seen(&call(Method::GET, path.clone(), &jmt_a_t, None).await.1), "same party sees the note");
    assert!(!note_seen(&call(Method::GET, path.clone(), &jmt_b_t, None).await.1), "the other party does not");

    // A resolution takes effect when the other party accepts; a rejection reopens it.
    let (_, proposed) = call(Method::POST, format!("{path}/proposals"), &jmt_a_t, Some(json!({"body": "Reopen gate 3 at night"}))).await;
    assert_eq!(proposed["status"], "resolution_proposed");
    let (status, body) = call(Method::POST, format!("{path}/proposals"), &jmt_b_t, Some(json!({"body": "Another"}))).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["proposal".to_owned()]));
    let (status, body) = call(Method::POST, format!("{path}/responses"), &jmt_a_t, Some(json!({"answer": "accept"}))).await;
    assert_eq!(
        (status, fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["proposal".to_owned()]),
        "the proposer's party has accepted already"
    );
    let (status, body) = call(Method::POST, format!("{path}/responses"), &jmt_b_t, Some(json!({"answer": "reject"}))).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["body".to_owned()]), "a rejection gives a reason");
    let (_, reopened) =
        call(Method::POST, format!("{path}/responses"), &jmt_b_t, Some(json!({"answer": "reject", "body": "Night access is not safe"})))
            .await;
    assert_eq!((reopened["status"].as_str(), reopened["level"].as_i64()), (Some("open"), Some(0)));
    call(Method::POST, format!("{path}/proposals"), &jmt_a_t, Some(json!({"body": "Reopen gate 3 from 6am"}))).await;
    let (_, resolved) = call(Method::POST, format!("{path}/responses"), &ser_b_t, Some(json!({"answer": "accept"}))).await;
    assert_eq!(resolved["status"], "resolved");
    let (_, ladder) = call(Method::GET, format!("/api/v1/relationships/{}/ladder", r.id), &observer_t, None).await;
    assert_eq!((ladder["figures"][0]["resolved"].as_i64(), ladder["figures"][0]["open"].as_i64()), (Some(1), Some(0)), "{ladder}");

    // Not resolved in time: the sweep climbs one level, from the deadline on.
    let (_, second) =
        call(Method::POST, base.clone(), &jmt_b_t, Some(json!({"title": "Variation for extra piling unpriced", "category": "commercial"})))
            .await;
    let second_path = format!("{base}/{}", second["id"].as_str().unwrap());
    app.clock.advance(SignedDuration::from_hours(24 * 8));
    let report = app.store().sweep(app.now()).await.unwrap();
    assert_eq!(report.escalated, 1);
    assert_eq!(app.store().sweep(app.now()).await.unwrap().escalated, 0, "a sweep is idempotent");
    let (_, climbed) = call(Method::GET, second_path.clone(), &jmt_a_t, None).await;
    assert_eq!((climbed["level"].as_i64(), climbed["level_name"].as_str()), (Some(1), Some("Joint Management Team")));
    assert_eq!(climbed["level_started_at"], "2026-03-09T09:00:00Z");
    assert!(climbed["timeline"].as_array().unwrap().iter().any(|e| e["kind"] == "escalated"));
    let (_, resolved_list) = call(Method::GET, format!("{base}?status=closed"), &observer_t, None).await;
    assert_eq!(resolved_list["items"].as_array().unwrap().len(), 1, "the resolved issue is not escalated");

    // A handler escalates early with a reason; others may not.
    assert_eq!(
        call(Method::POST, format!("{second_path}/escalations"), &contrib_a_t, Some(json!({"body": "Stuck"}))).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, up) = call(Method::POST, format!("{second_path}/escalations"), &jmt_a_t, Some(json!({"body": "Needs the SERs"}))).await;
    assert_eq!((status, up["level"].as_i64()), (StatusCode::OK, Some(2)));
    // Only the raiser withdraws.
    assert_eq!(call(Method::POST, format!("{second_path}/withdrawals"), &jmt_a_t, Some(json!({}))).await.0, StatusCode::FORBIDDEN);
    let (_, withdrawn) =
        call(Method::POST, format!("{second_path}/withdrawals"), &jmt_b_t, Some(json!({"body": "Priced after all"}))).await;
    assert_eq!(withdrawn["status"], "withdrawn");

    // Every step is in the audit trail, without the private note's words.
    let events = app.store().audit_events(r.id, 0, 1000).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "issue.raised",
        "issue.noted",
        "issue.resolution_proposed",
        "issue.resolution_rejected",
        "issue.resolution_accepted",
        "issue.resolved",
        "issue.escalated",
        "issue.withdrawn",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    assert!(!events.iter().any(|e| e.summary.to_string().contains("gate log")), "a private note stays out of the shared trail");
}
