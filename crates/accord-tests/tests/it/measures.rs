//! The measures API through the real server, on both databases.

use crate::app::spawn_app;
use crate::backends::{TestDb, on_both_backends};
use accord_domain::audit::ChainVerifier;
use accord_domain::membership::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(measures_api_story);

fn fields(body: &Value) -> Vec<String> {
    body["fields"].as_array().map(|f| f.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect()).unwrap_or_default()
}

async fn measures_api_story(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (ser, ser_token) = app.user("ser@northshore.example", &a, false).await;
    let (contrib_a, contrib_a_token) = app.user("contrib@northshore.example", &a, false).await;
    let (contrib_b, contrib_b_token) = app.user("contrib@keystone.example", &b, false).await;
    let (observer, observer_token) = app.user("observer@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    app.member(&r, &contrib_a, Role::Contributor).await;
    app.member(&r, &contrib_b, Role::Contributor).await;
    app.member(&r, &observer, Role::Observer).await;
    let base = format!("/api/v1/relationships/{}", r.id);
    let party_a = app.store().parties(r.id).await.unwrap()[0].id.to_string();
    let call = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let url = format!("{base}{path}");
        let token = token.to_owned();
        let app = &app;
        async move { app.call(method, &url, Some(&token), body).await }
    };

    let (status, objective) =
        call(Method::POST, "/objectives", &ser_token, Some(json!({"title": "Keep the port open", "parties": [party_a]}))).await;
    assert_eq!(status, StatusCode::CREATED, "{objective}");
    let kpi_body = json!({"name": "Berth availability", "unit": "%", "direction": "higher", "cadence": "monthly", "party": party_a,
        "objectives": [objective["id"]], "target": 98, "amber": 95, "red": 90, "effective_from": "2026-01"});
    let (status, kpi) = call(Method::POST, "/kpis", &ser_token, Some(kpi_body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{kpi}");
    let kpi_id = kpi["id"].as_str().unwrap().to_owned();

    // Bad definitions name their fields.
    let (status, body) = call(Method::POST, "/kpis", &ser_token, Some(kpi_body.clone())).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]), "{body}");
    let (status, body) = call(
        Method::POST,
        "/kpis",
        &ser_token,
        Some(json!({"name": "X", "direction": "higher", "cadence": "hourly", "target": 90, "amber": 95, "red": "ninety"})),
    )
    .await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["cadence".to_owned(), "red".into()]), "{body}");
    let (status, body) = call(
        Method::POST,
        "/kpis",
        &ser_token,
        Some(json!({"name": "X", "direction": "higher", "cadence": "monthly", "target": 90, "amber": 95, "red": 80})),
    )
    .await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["amber".to_owned()]), "{body}");
    assert_eq!(call(Method::POST, "/kpis", &contrib_a_token, Some(kpi_body)).await.0, StatusCode::FORBIDDEN);

    // Recording: RAG computed on write; contributors for their own party's KPI only.
    let record = |token: &str, period: &str, value: Value| {
        call(Method::POST, "/measurements", token, Some(json!({"kpi_id": kpi_id, "period": period, "value": value})))
    };
    let (status, m) = record(&contrib_a_token, "2026-01", json!(93)).await;
    assert_eq!((status, m["rag"].as_str()), (StatusCode::CREATED, Some("amber")), "{m}");
    assert_eq!(record(&contrib_b_token, "2026-01", json!(99)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(record(&observer_token, "2026-01", json!(99)).await.0, StatusCode::FORBIDDEN);
    let (status, body) = record(&contrib_a_token, "2026-13", json!("lots")).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["period".to_owned(), "value".into()]), "{body}");
    let (status, body) =
        call(Method::POST, "/measurements", &ser_token, Some(json!({"kpi_id": uuid::Uuid::now_v7(), "period": "2026-01", "value": 1})))
            .await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["kpi_id".to_owned()]));
    // A correction keeps the earlier value in the history.
    let (_, m) = record(&contrib_a_token, "2026-01", json!("99.5")).await;
    assert_eq!(m["rag"], "green");
    let (_, list) = call(Method::GET, &format!("/measurements?kpi_id={kpi_id}"), &observer_token, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["value"], 99.5);
    let history = app.store().measurement_history(r.id, kpi_id.parse().unwrap(), "2026-01-01".parse().unwrap()).await.unwrap();
    assert_eq!(history.iter().map(|m| m.value).collect::<Vec<_>>(), [99.5, 93.0]);

    // New thresholds from March: January keeps its RAG, March is judged by the new ones.
    let (status, body) = call(
        Method::POST,
        &format!("/kpis/{kpi_id}/versions"),
        &ser_token,
        Some(json!({"version": 1, "effective_from": "2026-03", "target": 99.5, "amber": 99.6, "red": 95})),
    )
    .await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["amber".to_owned()]));
    let (status, _) = call(
        Method::POST,
        &format!("/kpis/{kpi_id}/versions"),
        &ser_token,
        Some(json!({"version": 1, "effective_from": "2026-03", "target": 99.5, "amber": 99, "red": 97})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        Method::POST,
        &format!("/kpis/{kpi_id}/versions"),
        &ser_token,
        Some(json!({"version": 1, "effective_from": "2026-06", "target": 1, "amber": 1, "red": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "a stale version changes nothing");
    let (_, m) = record(&contrib_a_token, "2026-03", json!(98)).await;
    assert_eq!(m["rag"], "amber", "98 is amber under March's thresholds (green under January's)");
    let (_, m) = record(&ser_token, "2026-02", json!(98)).await;
    assert_eq!(m["rag"], "green", "February is still judged by January's thresholds");
    let (_, list) = call(Method::GET, &format!("/measurements?kpi_id={kpi_id}&limit=2"), &ser_token, None).await;
    assert_eq!(list["items"].as_array().unwrap().iter().map(|m| m["rag"].as_str().unwrap()).collect::<Vec<_>>(), ["amber", "green"]);
    let (_, page2) = call(
        Method::GET,
        &format!("/measurements?kpi_id={kpi_id}&limit=2&after={}", list["next_cursor"].as_str().unwrap()),
        &ser_token,
        None,
    )
    .await;
    assert_eq!(page2["items"][0]["rag"], "green", "January, still green");
    let (_, view) = call(Method::GET, &format!("/kpis/{kpi_id}"), &observer_token, None).await;
    assert_eq!(view["versions"].as_array().unwrap().len(), 2);

    // Obligations: the committed party updates its own.
    let (status, obligation) = call(
        Method::POST,
        "/obligations",
        &ser_token,
        Some(json!({"party": party_a, "title": "Berth plan four weeks ahead", "recurrence": "monthly", "due_date": "2026-04-01"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{obligation}");
    let patch = format!("/obligations/{}", obligation["id"].as_str().unwrap());
    let (status, updated) =
        call(Method::PATCH, &patch, &contrib_a_token, Some(json!({"version": 1, "status": "delivered", "evidence": "Plan v3"}))).await;
    assert_eq!((status, updated["status"].as_str()), (StatusCode::OK, Some("delivered")));
    assert_eq!(
        call(Method::PATCH, &patch, &contrib_b_token, Some(json!({"version": 2, "status": "missed"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(call(Method::PATCH, &patch, &ser_token, Some(json!({"version": 1, "status": "missed"}))).await.0, StatusCode::CONFLICT);
    let (status, body) = call(Method::PATCH, &patch, &ser_token, Some(json!({"version": 2, "status": "finished"}))).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["status".to_owned()]));

    // Actions: anyone but observers raises one; its owner or the JMT updates it.
    for i in 0..3 {
        let (status, _) = call(
            Method::POST,
            "/actions",
            &contrib_b_token,
            Some(json!({"title": format!("Action {i}"), "due_date": format!("2026-04-0{}", i + 1), "owner": contrib_b.id})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(
        call(Method::POST, "/actions", &observer_token, Some(json!({"title": "x", "due_date": "2026-04-01"}))).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, first) = call(Method::GET, "/actions?limit=2", &observer_token, None).await;
    let (_, second) =
        call(Method::GET, &format!("/actions?limit=2&after={}", first["next_cursor"].as_str().unwrap()), &observer_token, None).await;
    let titles: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Action 0", "Action 1", "Action 2"], "by due date, each once");
    assert!(second["next_cursor"].is_null());
    let action = format!("/actions/{}", first["items"][0]["id"].as_str().unwrap());
    assert_eq!(
        call(Method::PATCH, &action, &contrib_a_token, Some(json!({"version": 1, "status": "done"}))).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, done) =
        call(Method::PATCH, &action, &contrib_b_token, Some(json!({"version": 1, "status": "done", "owner": contrib_b.id}))).await;
    assert_eq!((status, done["status"].as_str()), (StatusCode::OK, Some("done")));
    let (_, open) = call(Method::GET, "/actions", &observer_token, None).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 2, "done actions leave the open list");

    // Every change is in the chain, which verifies.
    let (_, events) = call(Method::GET, "/audit-events?limit=1000", &observer_token, None).await;
    let mut verifier = ChainVerifier::new();
    let mut kinds = Vec::new();
    for e in events["items"].as_array().unwrap() {
        verifier.push_json(e.clone()).unwrap();
        kinds.push(e["kind"].as_str().unwrap().to_owned());
    }
    verifier.finish().unwrap();
    for kind in [
        "objective.created",
        "kpi.created",
        "measurement.recorded",
        "measurement.corrected",
        "kpi.thresholds_changed",
        "obligation.created",
        "obligation.updated",
        "action.created",
        "action.updated",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| *k == "measurement.corrected").count(), 1);
}
