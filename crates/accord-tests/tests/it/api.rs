//! The JSON API against the real server, on both databases.

use crate::app::{App, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use accord_domain::audit::ChainVerifier;
use accord_domain::membership::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    api_story,
    api_refuses_bad_input_clearly,
    keyset_paging_visits_everything_once,
    organisations_are_private_to_their_tenants,
    look_alike_and_invisible_names_are_refused,
    the_document_and_the_server_agree
);

/// Two relationships: "Harbour" (Northshore, Keystone, Tidewater) and "Other" (Keystone, Bystander).
struct World {
    app: App,
    admin: String,
    ser_a: String,
    jmt_a: String,
    contributor_a: String,
    observer_a: String,
    ser_b: String,
    outsider: String,
    harbour: Value,
}

async fn world(db: TestDb) -> World {
    let app = spawn_app(db).await;
    let a = app.organisation("Northshore Port Authority").await;
    let b = app.organisation("Keystone Construction").await;
    app.organisation("Tidewater Marine").await;
    let d = app.organisation("Bystander Ltd").await;
    let (_, admin) = app.user("admin@site.example", &a, true).await;
    let (ser_a_user, ser_a) = app.user("ser@northshore.example", &a, false).await;
    let (jmt_a_user, jmt_a) = app.user("jmt@northshore.example", &a, false).await;
    let (contrib_user, contributor_a) = app.user("contrib@northshore.example", &a, false).await;
    let (observer_user, observer_a) = app.user("observer@northshore.example", &a, false).await;
    let (ser_b_user, ser_b) = app.user("ser@keystone.example", &b, false).await;
    let (outsider_user, outsider) = app.user("someone@bystander.example", &d, false).await;
    app.user("new@northshore.example", &a, false).await;
    app.user("new@keystone.example", &b, false).await;

    let (status, harbour) = app
        .call(
            Method::POST,
            "/api/v1/relationships",
            Some(&admin),
            Some(json!({
                "name": "Harbour Renewal", "purpose": "Renew the quays", "start_date": "2026-01-05",
                "time_zone": "Europe/London", "parties": ["Northshore Port Authority", b.id, "tidewater marine"],
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{harbour}");
    let id: uuid::Uuid = harbour["id"].as_str().unwrap().parse().unwrap();
    let r = app.store().relationship(id).await.unwrap();
    app.member(&r, &ser_a_user, Role::Ser).await;
    app.member(&r, &jmt_a_user, Role::Jmt).await;
    app.member(&r, &contrib_user, Role::Contributor).await;
    app.member(&r, &observer_user, Role::Observer).await;
    app.member(&r, &ser_b_user, Role::Ser).await;
    let other = app.relationship("Other", &[&b, &d]).await;
    app.member(&other, &outsider_user, Role::Ser).await;
    World { app, admin, ser_a, jmt_a, contributor_a, observer_a, ser_b, outsider, harbour }
}

async fn api_story(db: TestDb) {
    let w = world(db).await;
    let app = &w.app;
    let id = w.harbour["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/relationships/{id}");

    // The document and the probes need no sign-in.
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/relationships",
        "/api/v1/relationships/{relationship_id}",
        "/api/v1/relationships/{relationship_id}/members",
        "/api/v1/relationships/{relationship_id}/audit-events",
        "/api/v1/organisations",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing from the OpenAPI document");
    }
    assert_eq!(app.call(Method::GET, "/healthz", None, None).await.0, StatusCode::OK);
    assert_eq!(app.call(Method::GET, "/readyz", None, None).await.0, StatusCode::OK);

    // Who sees the relationship.
    let (status, body) = app.call(Method::GET, &path, Some(&w.contributor_a), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Harbour Renewal");
    assert_eq!(body["parties"].as_array().unwrap().len(), 3);
    assert_eq!(body["chain_head"]["position"], 6, "created + five members");
    assert_eq!(app.call(Method::GET, &path, Some(&w.outsider), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::GET, &path, None, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::GET, &path, Some("acc_not_a_token"), None).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = app.call(Method::GET, "/api/v1/relationships/not-an-id", Some(&w.ser_a), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let unknown = format!("/api/v1/relationships/{}", uuid::Uuid::now_v7());
    assert_eq!(app.call(Method::GET, &unknown, Some(&w.admin), None).await.0, StatusCode::NOT_FOUND);

    // Lists: mine, or all for the site admin.
    let (_, mine) = app.call(Method::GET, "/api/v1/relationships", Some(&w.outsider), None).await;
    assert_eq!(mine["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Other"]);
    let (_, all) = app.call(Method::GET, "/api/v1/relationships", Some(&w.admin), None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert!(all["next_cursor"].is_null());

    // Optimistic concurrency: a stale version answers 409 and changes nothing.
    let (status, body) = app
        .call(Method::PATCH, &path, Some(&w.jmt_a), Some(json!({"version": 1, "purpose": "Renew the quays and the ferry terminal"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    let (status, body) = app.call(Method::PATCH, &path, Some(&w.ser_b), Some(json!({"version": 1, "name": "Renamed"}))).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (_, now) = app.call(Method::GET, &path, Some(&w.ser_b), None).await;
    assert_eq!((now["name"].as_str(), now["version"].as_i64()), (Some("Harbour Renewal"), Some(2)));
    assert_eq!(
        app.call(Method::PATCH, &path, Some(&w.observer_a), Some(json!({"version": 2, "name": "X"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.call(Method::PATCH, &path, Some(&w.contributor_a), Some(json!({"version": 2, "name": "X"}))).await.0,
        StatusCode::FORBIDDEN
    );

    // Members: an SER adds people of their own party only; one SER per party.
    let members = format!("{path}/members");
    let (status, body) =
        app.call(Method::POST, &members, Some(&w.ser_a), Some(json!({"email": "new@northshore.example", "role": "contributor"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"], "contributor");
    let (status, _) = app.call(Method::POST, &members, Some(&w.ser_a), Some(json!({"email": "new@keystone.example", "role": "jmt"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        app.call(Method::POST, &members, Some(&w.ser_b), Some(json!({"email": "new@keystone.example", "role": "ser"}))).await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("role")), "{body}");
    let (status, body) =
        app.call(Method::POST, &members, Some(&w.ser_b), Some(json!({"email": "someone@bystander.example", "role": "jmt"}))).await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email")), "{body}");
    assert_eq!(
        app.call(Method::POST, &members, Some(&w.observer_a), Some(json!({"email": "new@keystone.example", "role": "jmt"}))).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, list) = app.call(Method::GET, &members, Some(&w.observer_a), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 6);
    assert_eq!(list["items"][0]["role"], "ser");

    // Succession: the SER hands over to their JMT member; the old SER stays as JMT.
    let jmt_id = list["items"].as_array().unwrap().iter().find(|m| m["email"] == "jmt@northshore.example").unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app.call(Method::POST, &format!("{members}/{jmt_id}/succession"), Some(&w.jmt_a), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only the SER hands over: {body}");
    let (status, body) = app.call(Method::POST, &format!("{members}/{jmt_id}/succession"), Some(&w.ser_a), None).await;
    assert_eq!((status, body["role"].as_str()), (StatusCode::OK, Some("ser")), "{body}");

    // The audit trail: every change above, in one verifiable chain.
    let (status, events) = app.call(Method::GET, &format!("{path}/audit-events?limit=100"), Some(&w.observer_a), None).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "relationship.created",
            "member.added",
            "member.added",
            "member.added",
            "member.added",
            "member.added",
            "relationship.updated",
            "member.added",
            "ser.succeeded"
        ]
    );
    let mut verifier = ChainVerifier::new();
    for e in events["items"].as_array().unwrap() {
        verifier.push_json(e.clone()).unwrap();
    }
    let head = verifier.finish().unwrap().unwrap();
    let (_, body) = app.call(Method::GET, &path, Some(&w.ser_a), None).await;
    assert_eq!(body["chain_head"]["hash"].as_str(), Some(head.hash.as_str()));
    assert_eq!(
        app.call(Method::GET, &format!("{path}/audit-events"), Some(&w.admin), None).await.0,
        StatusCode::NOT_FOUND,
        "the site admin sees no content"
    );
}

async fn api_refuses_bad_input_clearly(db: TestDb) {
    let w = world(db).await;
    let app = &w.app;
    let create = |body: Value| app.call(Method::POST, "/api/v1/relationships", Some(&w.admin), Some(body));
    let fields =
        |body: &Value| body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect::<Vec<_>>();

    let (status, body) =
        create(json!({"name": "Solo", "start_date": "2026-01-01", "time_zone": "UTC", "parties": ["Keystone Construction"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["parties"]);
    assert!(body["message"].as_str().unwrap().contains("at least two parties"));
    let (status, body) =
        create(json!({"name": "X", "start_date": "2026-01-01", "time_zone": "UTC", "parties": ["Keystone Construction", "Nobody Inc"]}))
            .await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["parties[1]".to_owned()]));
    let (status, body) = create(json!({"name": " ", "start_date": "someday", "time_zone": "Mars/Base", "parties": []})).await;
    assert_eq!(
        (status, fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned(), "start_date".into(), "time_zone".into(), "parties".into()])
    );
    let (status, body) = create(json!({"name": "Harbour renewal", "start_date": "2026-01-01", "time_zone": "UTC", "parties": ["Keystone Construction", "Bystander Ltd"]})).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]), "names are unique regardless of case");
    let (status, body) = create(json!({"name": 5})).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]));
    assert_eq!(create(json!({"name": "X"})).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app.call(Method::POST, "/api/v1/relationships", Some(&w.ser_a), Some(json!({"name": "Mine"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only a site admin creates relationships");

    let raw = |body: &'static str, content_type: &'static str| {
        app.request(Method::POST, "/api/v1/organisations", Some(&w.admin)).header("content-type", content_type).body(body).send()
    };
    let response = raw("{not json", "application/json").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "bad_request");
    assert_eq!(raw("{}", "text/plain").await.unwrap().status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    let response = app
        .request(Method::POST, "/api/v1/organisations", Some(&w.admin))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "payload_too_large");
    let (status, body) =
        app.call(Method::POST, "/api/v1/organisations", Some(&w.admin), Some(json!({"name": "keystone construction"}))).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]));
    let (status, body) = app.call(Method::GET, "/api/v1/organisations?after=nonsense", Some(&w.admin), None).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["after".to_owned()]));
    let (status, body) = app.call(Method::GET, "/api/v1/organisations?limit=many", Some(&w.admin), None).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["limit".to_owned()]), "{body}");
    let (status, body) = app.call(Method::GET, "/api/v1/nothing-here", Some(&w.admin), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));

    // Nothing half-written: the refused requests left the site chain where it was.
    let head = app.store().chain_head(accord_store::SITE_CHAIN).await.unwrap().unwrap();
    let (status, _) = app.call(Method::POST, "/api/v1/organisations", Some(&w.admin), Some(json!({"name": "  "}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store().chain_head(accord_store::SITE_CHAIN).await.unwrap().unwrap(), head);
}

async fn keyset_paging_visits_everything_once(db: TestDb) {
    let app = spawn_app(db).await;
    let first = app.organisation("Org 00").await;
    let (_, admin) = app.user("admin@site.example", &first, true).await;
    for i in 1..23 {
        app.organisation(&format!("Org {i:02}")).await;
    }
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = app.call(Method::GET, &format!("/api/v1/organisations?limit=5&after={after}"), Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(items.iter().map(|o| o["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => after = c.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..23).map(|i| format!("Org {i:02}")).collect();
    assert_eq!(seen, expected);
}

/// A neutral host does not show one tenant its others: each caller lists and reads their own
/// organisation and the parties to their relationships; the site administrator, every one.
async fn organisations_are_private_to_their_tenants(db: TestDb) {
    let w = world(db).await;
    let app = &w.app;
    let names = async |token: &str| -> Vec<String> {
        let (status, page) = app.call(Method::GET, "/api/v1/organisations", Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names(&w.admin).await, ["Northshore Port Authority", "Keystone Construction", "Tidewater Marine", "Bystander Ltd"]);
    assert_eq!(names(&w.ser_a).await, ["Northshore Port Authority", "Keystone Construction", "Tidewater Marine"]);
    assert_eq!(names(&w.outsider).await, ["Keystone Construction", "Bystander Ltd"]);
    let (_, all) = app.call(Method::GET, "/api/v1/organisations", Some(&w.admin), None).await;
    let id = |name: &str| all["items"].as_array().unwrap().iter().find(|o| o["name"] == name).unwrap()["id"].as_str().unwrap().to_owned();
    let get =
        async |token: &str, name: &str| app.call(Method::GET, &format!("/api/v1/organisations/{}", id(name)), Some(token), None).await;
    let (status, body) = get(&w.outsider, "Keystone Construction").await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::OK, Some("Keystone Construction")));
    let (status, body) = get(&w.outsider, "Northshore Port Authority").await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "the same answer as for none");
    assert_eq!(get(&w.ser_a, "Bystander Ltd").await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&w.admin, "Bystander Ltd").await.0, StatusCode::OK);
}

/// Names are normalised; one that looks like an existing organisation's, or that shows nothing,
/// is refused naming the field.
async fn look_alike_and_invisible_names_are_refused(db: TestDb) {
    let w = world(db).await;
    let app = &w.app;
    let fields =
        |body: &Value| body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    for look_alike in ["Keystone  Construction", "K\u{435}ystone Construction", "KEYSTONE \u{200b}CONSTRUCTION", "Keyst0ne Construction"] {
        let (status, body) = app.call(Method::POST, "/api/v1/organisations", Some(&w.admin), Some(json!({"name": look_alike}))).await;
        assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]), "{look_alike:?}");
        assert!(body["fields"][0]["message"].as_str().unwrap().contains("“Keystone Construction”"), "{body}");
    }
    let (status, body) =
        app.call(Method::POST, "/api/v1/organisations", Some(&w.admin), Some(json!({"name": " Harbour\u{a0}\u{a0}Pilots\t"}))).await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::CREATED, Some("Harbour Pilots")), "spaces collapsed");
    let (status, body) = app.call(Method::POST, "/api/v1/organisations", Some(&w.admin), Some(json!({"name": "Cafe\u{301} Marine"}))).await;
    assert_eq!((status, body["name"].as_str()), (StatusCode::CREATED, Some("Caf\u{e9} Marine")), "NFC");

    // The administrator's page says the same, keeping what was typed.
    let mut admin = crate::people::Browser::new(app);
    admin.sign_in("admin@site.example", crate::app::TEST_PASSWORD).await;
    let page = admin.post("/admin/organisations", &[("name", "K\u{435}ystone Construction")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("looks the same as “Keystone Construction”") && page.body.contains("K\u{435}ystone Construction"),
        "{}",
        page.body
    );

    let invisible = "\u{200b}\u{200b}\u{2060}";
    let (status, body) = app.call(Method::POST, "/api/v1/organisations", Some(&w.admin), Some(json!({"name": invisible}))).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]));
    assert!(body["fields"][0]["message"].as_str().unwrap().contains("visible"), "{body}");
    let path = format!("/api/v1/relationships/{}", w.harbour["id"].as_str().unwrap());
    let (status, body) = app.call(Method::PATCH, &path, Some(&w.jmt_a), Some(json!({"version": 1, "name": "\u{200b}"}))).await;
    assert_eq!((status, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["name".to_owned()]), "titles too");
}

/// The OpenAPI document names every status the server answers, marks required fields, and the
/// server reads bodies as strictly as the document types them (scripts/api-conformance fuzzes
/// the rest with schemathesis).
async fn the_document_and_the_server_agree(db: TestDb) {
    let w = world(db).await;
    let app = &w.app;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let has = |status: &str| responses.contains_key(status);
            assert!(has("401"), "{method} {path} documents 401");
            if path.contains('{') {
                assert!(has("404"), "{method} {path} documents 404");
            }
            if op["requestBody"]["content"].get("application/json").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(has(status), "{method} {path} documents {status}");
                }
            }
            if op["parameters"].as_array().is_some_and(|p| p.iter().any(|p| p["in"] == "query")) {
                assert!(has("422"), "{method} {path} documents 422");
            }
        }
    }
    // 45, the oversight page's one, signed records' four (list, read, sign, add an addendum) and
    // the reviews' ten.
    assert_eq!(operations, 60, "the same operations as before");
    let required = |schema: &str| {
        doc["components"]["schemas"][schema]["required"]
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(required("ObjectiveInput"), ["title", "parties"]);
    assert_eq!(required("KpiInput"), ["name", "direction", "cadence", "target", "amber", "red"]);
    assert_eq!(required("ObligationInput"), ["party", "title", "due_date"]);
    assert_eq!(required("ActionInput"), ["title", "due_date"]);
    assert_eq!(required("IssueInput"), ["title"]);
    assert_eq!(required("CreateRelationship"), ["name", "start_date", "time_zone", "parties"]);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["TextInput"]["properties"]["private"]["type"], "boolean");
    assert!(schemas["ActionInput"]["properties"]["owner"]["description"].is_string(), "a field with a schema of its own keeps its words");
    assert!(schemas["ObjectiveInput"]["properties"]["parties"].get("default").is_none(), "an absent field is no documented default");
    let measurements = &doc["paths"]["/api/v1/relationships/{relationship_id}/measurements"]["get"]["parameters"];
    let kpi_id = measurements.as_array().unwrap().iter().find(|p| p["name"] == "kpi_id").unwrap();
    assert_eq!(kpi_id["required"], true, "a required query parameter is marked");

    // Each documented type is the only one read: the wrong one is a 422 naming the field.
    let harbour = w.harbour["id"].as_str().unwrap();
    let party = w.harbour["parties"][0]["id"].as_str().unwrap();
    let ser_a = w.ser_a.as_str();
    let post = |path: &str, body: Value| {
        let path = format!("/api/v1/relationships/{harbour}/{path}");
        async move { app.call(Method::POST, &path, Some(ser_a), Some(body)).await }
    };
    let field = |body: &Value| body["fields"][0]["field"].as_str().unwrap_or_default().to_owned();
    for title in [json!(false), json!(5), json!({}), json!(null)] {
        let (status, body) = post("issues", json!({"title": title})).await;
        assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "title".to_owned()), "title {title}: {body}");
    }
    let (status, body) = post("issues", json!({})).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "title".to_owned()), "a required field: {body}");
    let (status, body) = post("objectives", json!({"title": "Grow", "parties": party})).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "parties".to_owned()), "a list is an array: {body}");
    let (status, body) = post("objectives", json!({"title": "Grow", "parties": [party], "review_months": "6"})).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "review_months".to_owned()), "{body}");
    let (status, objective) = post("objectives", json!({"title": "Grow", "parties": [party], "review_months": 6.0})).await;
    assert_eq!(status, StatusCode::CREATED, "JSON calls 6.0 a whole number: {objective}");
    let (status, issue) = post("issues", json!({"title": "Gate 3"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let comments = format!("issues/{}/comments", issue["id"].as_str().unwrap());
    let (status, body) = post(&comments, json!({"body": "Noted", "private": "yes"})).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "private".to_owned()), "{body}");
    let (status, body) = post(&comments, json!({"body": "Noted", "answer": "maybe"})).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "answer".to_owned()), "{body}");
    let (status, body) = post(&comments, json!({"body": "Noted", "private": true})).await;
    assert_eq!((status, body["private_to"].as_str()), (StatusCode::CREATED, Some(party)), "{body}");
    let path = format!("/api/v1/relationships/{harbour}");
    let (status, body) = app.call(Method::PATCH, &path, Some(&w.ser_a), Some(json!({"version": "1", "purpose": "x"}))).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "version".to_owned()), "{body}");
    let (status, body) = app.call(Method::GET, &format!("{path}/issues?limit=0"), Some(&w.ser_a), None).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "limit".to_owned()), "a limit out of range: {body}");
}
