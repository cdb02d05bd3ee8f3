//! The audit trail page and its download, through the real server, on both databases.

use crate::app::spawn_app;
use crate::backends::{TestDb, on_both_backends};
use accord_domain::audit::{ChainVerifier, claim_line};
use accord_domain::membership::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(the_audit_trail_pages_back_through_history_and_downloads_a_verifiable_chain);

async fn the_audit_trail_pages_back_through_history_and_downloads_a_verifiable_chain(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (jmt, jmt_t) = app.user("jmt@northshore.example", &a, false).await;
    let (auditor, auditor_t) = app.user("auditor@keystone.example", &b, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &jmt, Role::Jmt).await;
    app.member(&r, &auditor, Role::Observer).await;
    let party = app.store().parties(r.id).await.unwrap()[0].id;
    for i in 0..55 {
        let body = json!({"title": format!("Objective {i}"), "parties": [party]});
        let (status, body) = app.call(Method::POST, &format!("/api/v1/relationships/{}/objectives", r.id), Some(&jmt_t), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A private note's words stay out of the shared trail, on the page and in the download.
    let (_, issue) = app
        .call(Method::POST, &format!("/api/v1/relationships/{}/issues", r.id), Some(&jmt_t), Some(json!({"title": "Gate 3 closed"})))
        .await;
    let note = "our lawyers think the gate log is wrong";
    let comments = format!("/api/v1/relationships/{}/issues/{}/comments", r.id, issue["id"].as_str().unwrap());
    assert_eq!(app.call(Method::POST, &comments, Some(&jmt_t), Some(json!({"body": note, "private": true}))).await.0, StatusCode::CREATED);
    let head = app.store().chain_head(r.id).await.unwrap().unwrap();
    assert!(head.position > 55, "{head:?}");

    let page = |path: String| {
        let (app, token) = (&app, auditor_t.clone());
        async move {
            let response = app.request(Method::GET, &path, Some(&token)).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    // An observer (an auditor) reads the newest 50 events, the head to witness, and a link further back.
    let (status, html) = page(format!("/relationships/{}/audit", r.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("{}:{}", head.position, head.hash)), "the chain head is shown");
    assert!(html.contains(&format!("id=\"event-{}\"", head.position)));
    assert!(!html.contains("id=\"event-1\""), "only the newest 50 are on the first page");
    assert!(html.contains("added a private note to issue #1 &#39;Gate 3 closed&#39;") && !html.contains(note), "{html}");
    let older = head.position - 49;
    assert!(html.contains(&format!("?before={older}")), "a link to older events");
    let (status, html) = page(format!("/relationships/{}/audit?before={older}", r.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"event-1\"") && html.contains("created the relationship") && html.contains("Newest"));
    assert!(!html.contains(&format!("id=\"event-{older}\"")), "the cursor is exclusive");
    let (status, html) = page(format!("/relationships/{}/audit?before=yesterday", r.id)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("before"), "the error names the field");

    // The download is the whole chain in the export format, and verifies offline to the same head.
    let response = app.request(Method::GET, &format!("/relationships/{}/audit/export.jsonl", r.id), Some(&auditor_t)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/jsonl");
    let body = response.bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&body).contains(note));
    let mut verifier = ChainVerifier::new();
    verifier.witness(head.clone());
    let mut lines = 0;
    for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        verifier.push_claim(claim_line(line)).unwrap();
        lines += 1;
    }
    assert_eq!((lines, verifier.finish().unwrap()), (head.position, Some(head.clone())));
}
