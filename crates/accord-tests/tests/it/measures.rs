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

on_both_backends!(spreadsheets_are_checked_previewed_applied_and_exported);

/// Posts a file as a browser's upload form would.
async fn upload(app: &crate::app::App, browser: &crate::people::Browser, path: &str, name: &str, content: &[u8]) -> (StatusCode, String) {
    let csrf = browser.cookies["accord_csrf"].clone();
    let mut body = format!("--B0undary\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n").into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--B0undary--\r\n");
    let cookie = browser.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .header("content-type", "multipart/form-data; boundary=B0undary")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned()
}

async fn spreadsheets_are_checked_previewed_applied_and_exported(db: TestDb) {
    use accord_domain::measure::{Cadence, Direction, Thresholds};
    use accord_store::NewKpi;
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (ser, token) = app.user("ser@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    let new_kpi = |name: &str, cadence| NewKpi {
        relationship_id: r.id,
        name: name.into(),
        definition: String::new(),
        unit: "%".into(),
        cadence,
        party_id: None,
        reporter_id: None,
        objectives: vec![],
        thresholds: Thresholds::new(Direction::Higher, 98.0, 95.0, 90.0).unwrap(),
        effective_from: "2026-01-01".parse().unwrap(),
    };
    let berth = app.store().create_kpi(new_kpi("Berth availability", Cadence::Monthly), ser.id, app.now()).await.unwrap();
    app.store().create_kpi(new_kpi("Crane uptime", Cadence::Quarterly), ser.id, app.now()).await.unwrap();
    let mut browser = crate::people::Browser::new(&app);
    browser.sign_in("ser@northshore.example", crate::app::TEST_PASSWORD).await;
    let import = format!("/relationships/{}/import", r.id);
    assert_eq!(browser.get(&import).await.status, StatusCode::OK);
    let head = app.store().chain_head(r.id).await.unwrap();

    // A file with mistakes: every one listed by row and column, nothing written.
    let bad = "KPI,period,value,comment\nBerth availability,2026-01,97,ok\nBerth availability,2026-02,lots,\nCrane uptime,2026-13,99,\nNo such KPI,2026-01,1,\n";
    let (status, html) = upload(&app, &browser, &import, "bad.csv", bad.as_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for expected in ["Row 3, value", "Row 4, period", "Row 5, KPI", "nothing was written"] {
        assert!(html.contains(expected), "{expected} missing from the error list");
    }
    assert_eq!(app.store().chain_head(r.id).await.unwrap(), head, "nothing was written");
    let (status, html) = upload(&app, &browser, &import, "notes.txt", b"hello").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("neither a .csv nor an .xlsx"));

    // A good file: previewed first, written only when applied, as one audit event.
    let good = "KPI,period,value,comment\nBerth availability,2026-01,97,ok\nBerth availability,2026-02,88,crane failure\nCrane uptime,2026-Q1,99,\n";
    let (status, html) = upload(&app, &browser, &import, "march.csv", good.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("3 rows") && html.contains("<strong>3</strong> new values"), "{html}");
    assert_eq!(app.store().measurements(r.id, berth.id, None, 10).await.unwrap().len(), 0, "a preview writes nothing");
    let form = [("file_name", hidden(&html, "file_name")), ("content", hidden(&html, "content")), ("sha256", hidden(&html, "sha256"))];
    let tampered: Vec<(&str, String)> = form.iter().map(|(k, v)| (*k, if *k == "sha256" { "0".repeat(64) } else { v.clone() })).collect();
    let refused = browser.post(&format!("{import}/apply"), &tampered.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let applied = browser.post(&format!("{import}/apply"), &form.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER);
    assert!(applied.location.ends_with("scorecard?imported=3&corrected=0"), "{}", applied.location);
    let values = app.store().measurements(r.id, berth.id, None, 10).await.unwrap();
    assert_eq!(values.iter().map(|m| (m.value, m.rag.as_str())).collect::<Vec<_>>(), [(88.0, "red"), (97.0, "green")]);
    let events = app.store().audit_events(r.id, 0, 1000).await.unwrap();
    let imports: Vec<_> = events.iter().filter(|e| e.kind == "measurements.imported").collect();
    assert_eq!(imports.len(), 1, "one event for the whole file");
    assert_eq!(imports[0].summary["file_sha256"].as_str(), Some(accord_sheets::sha256(good.as_bytes()).as_str()));
    assert_eq!(imports[0].summary["rows"], 3);

    // The same through the API: a dry run changes nothing; then one correction, two unchanged.
    let corrected = good.replace("97,ok", "96,ok");
    let api = |dry: bool| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/relationships/{}/measurements/import?dry_run={dry}", app.base, r.id))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(corrected.clone())
            .send()
    };
    let dry: Value = api(true).await.unwrap().json().await.unwrap();
    assert_eq!((dry["applied"].as_bool(), dry["corrected"].as_u64(), dry["unchanged"].as_u64()), (Some(false), Some(1), Some(2)), "{dry}");
    let done: Value = api(false).await.unwrap().json().await.unwrap();
    assert_eq!((done["applied"].as_bool(), done["corrected"].as_u64()), (Some(true), Some(1)), "{done}");
    let refused = reqwest::Client::new()
        .post(format!("{}/api/v1/relationships/{}/measurements/import", app.base, r.id))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(fields(&body), ["row 3, value", "row 4, period", "row 5, KPI"]);

    // Exports.
    let csv = browser.get(&format!("/relationships/{}/scorecard.csv", r.id)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("KPI,responsible,cadence"), "{}", csv.body);
    assert!(csv.body.contains("Berth availability,Joint,monthly,%,higher,98,95,90,2026-02,88,red,crane failure"), "{}", csv.body);
    let xlsx = reqwest::Client::new()
        .get(format!("{}/relationships/{}/kpis/{}/history.xlsx", app.base, r.id, berth.id))
        .header("cookie", format!("accord_session={}", browser.session().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.headers()["content-type"], accord_sheets::Format::Xlsx.content_type());
    let bytes = xlsx.bytes().await.unwrap();
    // The history exports in the import's columns, so it reads back.
    let rows = accord_sheets::read_measurements(accord_sheets::Format::Xlsx, &bytes).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(rows.iter().map(|r| (r.period(), r.value())).collect::<Vec<_>>(), [("2026-01", "96"), ("2026-02", "88")]);
}

on_both_backends!(values_that_make_sense);

/// Numbers with a comma, percentages out of range, periods outside the relationship's life and
/// actions due in the past are refused by the API, the forms and imports alike; a green value
/// short of its target says so. The clock reads 2 March 2026; the relationship began 5 January.
async fn values_that_make_sense(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (ser, token) = app.user("ser@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    let base = format!("/api/v1/relationships/{}", r.id);
    let post = |path: &str, body: Value| {
        let (url, token, app) = (format!("{base}{path}"), token.clone(), &app);
        async move { app.call(Method::POST, &url, Some(&token), Some(body)).await }
    };
    let refused = |(status, body): (StatusCode, Value), field: &str, words: &str| {
        assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec![field.to_owned()]), "{body}");
        let message = body["fields"][0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(words), "{message}");
    };
    let kpi = json!({"name": "Berth availability", "unit": "%", "direction": "higher", "cadence": "monthly",
        "target": 98, "amber": 95, "red": 90, "effective_from": "2026-01"});
    let mut too_high = kpi.clone();
    too_high["target"] = json!(180);
    refused(post("/kpis", too_high).await, "target", "between 0 and 100");
    let (status, kpi) = post("/kpis", kpi).await;
    assert_eq!(status, StatusCode::CREATED, "{kpi}");
    let record = |period: &str, value: Value| post("/measurements", json!({"kpi_id": kpi["id"], "period": period, "value": value}));

    refused(record("2026-01", json!("92,5")).await, "value", "use a point: 92.5");
    refused(record("2026-01", json!(-5)).await, "value", "between 0 and 100");
    refused(record("2026-01", json!(100000)).await, "value", "between 0 and 100");
    refused(record("2031-01", json!(97)).await, "period", "the current period is 2026-03");
    refused(record("2025-12", json!(97)).await, "period", "its first period is 2026-01");
    let (status, m) = record("2026-03", json!("96.5")).await;
    assert_eq!((status, m["value"].as_f64(), m["rag"].as_str()), (StatusCode::CREATED, Some(96.5), Some("green")), "{m}");

    // A new action is due today or later.
    refused(post("/actions", json!({"title": "Re-baseline", "due_date": "2026-03-01"})).await, "due_date", "today (2026-03-02) or later");
    assert_eq!(post("/actions", json!({"title": "Re-baseline", "due_date": "2026-03-02"})).await.0, StatusCode::CREATED);

    // An import lists the row and column of each, and writes nothing.
    let file = "KPI,period,value\nBerth availability,2026-02,\"97,5\"\nBerth availability,2026-04,97\nBerth availability,2026-01,97.5\n";
    let response = app
        .request(Method::POST, &format!("{base}/measurements/import"), Some(&token))
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(fields(&body), ["row 2, value", "row 3, period"], "{body}");
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("use a point: 97.5"), "{body}");

    // The form keeps the refused text and names the field; a green value short of target says so.
    let mut browser = crate::people::Browser::new(&app);
    browser.sign_in("ser@northshore.example", crate::app::TEST_PASSWORD).await;
    let page = format!("/relationships/{}/kpis/{}", r.id, kpi["id"].as_str().unwrap());
    let answer = browser.post(&format!("{page}/measurements"), &[("period", "2026-02"), ("value", "92,5")]).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.body.contains("use a point: 92.5") && answer.body.contains("value=\"92,5\""), "{}", answer.body);
    let kpi_page = browser.get(&page).await.body;
    assert_eq!(kpi_page.matches("worse than target").count(), 1, "96.5 is green (amber at 95) but short of 98");
    let scorecard = browser.get(&format!("/relationships/{}/scorecard", r.id)).await.body;
    assert!(scorecard.contains("worse than target"));
    post("/measurements", json!({"kpi_id": kpi["id"], "period": "2026-03", "value": 98})).await;
    assert!(!browser.get(&format!("/relationships/{}/scorecard", r.id)).await.body.contains("worse than target"));
}
