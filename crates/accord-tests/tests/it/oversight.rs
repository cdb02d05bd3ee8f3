//! A party's oversight page and its API twin, on both databases through the real server: what the
//! party owes (its obligations, the missed and past due first), the actions it owns (overdue
//! first), the KPIs it answers for with status and trend, the issues waiting at levels its
//! members handle; nothing of the other party's; 404 for a party of another relationship.

use crate::app::{TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use crate::people::Browser;
use accord_domain::measure::{Cadence, Direction, Thresholds};
use accord_domain::membership::Role;
use accord_store::{MeasurementInput, NewAction, NewIssue, NewKpi, NewObligation, ObligationChange, ObligationStatus};
use jiff::civil::Date;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

on_both_backends!(a_partys_oversight_shows_what_it_owes_and_nothing_of_another);

fn titles(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|i| i[key].as_str().unwrap().to_owned()).collect()
}

async fn a_partys_oversight_shows_what_it_owes_and_nothing_of_another(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (a_jmt, _) = app.user("jmt@northshore.example", &a, false).await;
    let (a_ser, _) = app.user("ser@northshore.example", &a, false).await;
    let (b_ser, _) = app.user("ser@keystone.example", &b, false).await;
    let (b_observer, observer_token) = app.user("observer@keystone.example", &b, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    for (user, role) in [(&a_jmt, Role::Jmt), (&a_ser, Role::Ser), (&b_ser, Role::Ser), (&b_observer, Role::Observer)] {
        app.member(&r, user, role).await;
    }
    let parties = app.store().parties(r.id).await.unwrap();
    let (party_a, party_b) = (parties[0].id, parties[1].id);
    let store = app.store();
    let now = app.now(); // 2 March 2026
    let day = |text: &str| text.parse::<Date>().unwrap();

    // Obligations: A's in every state, and one of B's.
    let obligation = async |party: Uuid, title: &str, due: &str, status: Option<ObligationStatus>| {
        let new = NewObligation {
            relationship_id: r.id,
            party_id: party,
            title: title.into(),
            description: String::new(),
            recurrence: "once".into(),
            due_date: day(due),
        };
        let made = store.create_obligation(new, a_jmt.id, now).await.unwrap();
        if let Some(status) = status {
            let change = ObligationChange { status, evidence: String::new(), due_date: day(due) };
            store.update_obligation(r.id, made.id, change, made.version, a_jmt.id, now).await.unwrap();
        }
    };
    obligation(party_a, "Quarterly safety report", "2026-06-30", None).await;
    obligation(party_a, "Spare parts stock list", "2026-02-15", Some(ObligationStatus::OnTrack)).await;
    obligation(party_a, "Crane certificates", "2026-01-31", Some(ObligationStatus::Missed)).await;
    obligation(party_a, "Berth plan", "2026-04-30", Some(ObligationStatus::AtRisk)).await;
    obligation(party_a, "Opening inventory", "2026-01-20", Some(ObligationStatus::Delivered)).await;
    obligation(party_b, "Keystone's tug roster", "2026-01-10", Some(ObligationStatus::Missed)).await;

    // Actions: A's overdue one listed first, whatever order they were raised in; one of B's.
    let action = async |party: Uuid, title: &str, due: &str| {
        let new = NewAction {
            relationship_id: r.id,
            title: title.into(),
            description: String::new(),
            owner_id: None,
            party_id: party,
            due_date: day(due),
            source: None,
        };
        store.create_action(new, a_jmt.id, now).await.unwrap()
    };
    action(party_a, "Publish the winter timetable", "2026-05-01").await;
    let overdue = action(party_a, "Repaint berth markings", "2026-02-20").await;
    action(party_b, "Keystone's dredging plan", "2026-02-01").await;

    // KPIs: A's own (red and worsening), B's, and a joint one.
    let thresholds = Thresholds::new(Direction::Higher, 95.0, 90.0, 80.0).unwrap();
    let kpi = async |name: &str, party: Option<Uuid>| {
        let new = NewKpi {
            relationship_id: r.id,
            name: name.into(),
            definition: String::new(),
            unit: "%".into(),
            cadence: Cadence::Monthly,
            party_id: party,
            reporter_id: None,
            objectives: Vec::new(),
            thresholds,
            effective_from: day("2026-01-01"),
        };
        store.create_kpi(new, a_jmt.id, now).await.unwrap()
    };
    let cranes = kpi("Crane availability", Some(party_a)).await;
    let tugs = kpi("Tug punctuality", Some(party_b)).await;
    let joint = kpi("Joint berth use", None).await;
    for (k, month, value) in
        [(&cranes, "2026-01-01", 92.0), (&cranes, "2026-02-01", 70.0), (&tugs, "2026-02-01", 99.0), (&joint, "2026-02-01", 50.0)]
    {
        let input = MeasurementInput { kpi_id: k.id, period_start: day(month), value, comment: String::new() };
        store.record_measurement(r.id, input, a_jmt.id, now).await.unwrap();
    }

    // An issue at the working level, which A's JMT member handles and none of B's members do.
    let issue = NewIssue {
        relationship_id: r.id,
        title: "Late berth windows".into(),
        description: "Ships wait".into(),
        category: "operations".into(),
        severity: "high".into(),
        links: Vec::new(),
    };
    let issue = store.create_issue(issue, a_jmt.id, now).await.unwrap();

    // B's observer reads A's oversight (the joint picture): the API first.
    let api = |party: Uuid| format!("/api/v1/relationships/{}/parties/{party}/oversight", r.id);
    let (status, body) = app.call(Method::GET, &api(party_a), Some(&observer_token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["party"]["organisation_name"], "Northshore");
    assert_eq!(
        titles(&body["obligations"], "title"),
        ["Crane certificates", "Spare parts stock list", "Berth plan", "Quarterly safety report", "Opening inventory"],
        "missed, past due, at risk first, then open, then delivered"
    );
    let concerns: Vec<&Value> = body["obligations"].as_array().unwrap().iter().map(|o| &o["concern"]).collect();
    assert_eq!(concerns, [&Value::from("missed"), &Value::from("past_due"), &Value::from("at_risk"), &Value::Null, &Value::Null]);
    assert_eq!(titles(&body["actions"], "title"), ["Repaint berth markings", "Publish the winter timetable"]);
    assert_eq!(
        (body["actions"][0]["id"].as_str(), &body["actions"][0]["overdue"]),
        (Some(overdue.id.to_string().as_str()), &Value::Bool(true))
    );
    assert_eq!(body["actions"][1]["overdue"], false);
    assert_eq!(body["open_actions"], 2);
    let kpis = body["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), 1, "its own KPI only: {kpis:?}");
    assert_eq!(kpis[0]["kpi"]["name"], "Crane availability");
    assert_eq!(
        (&kpis[0]["latest"]["rag"], &kpis[0]["latest"]["value"], &kpis[0]["trend"]),
        (&Value::from("red"), &Value::from(70.0), &Value::from("worsening"))
    );
    assert_eq!(body["waiting_issues"], 1);
    assert_eq!(body["issues"][0]["id"], issue.id.to_string());
    assert_eq!(body["issues"][0]["level_name"], "Working level");
    assert_eq!(body["interventions"], Value::Array(Vec::new()));

    // B's own oversight has B's things and none of A's.
    let (status, b_body) = app.call(Method::GET, &api(party_b), Some(&observer_token), None).await;
    assert_eq!(status, StatusCode::OK, "{b_body}");
    assert_eq!(titles(&b_body["obligations"], "title"), ["Keystone's tug roster"]);
    assert_eq!(titles(&b_body["actions"], "title"), ["Keystone's dredging plan"]);
    assert_eq!(b_body["kpis"][0]["kpi"]["name"], "Tug punctuality");
    assert_eq!((b_body["kpis"][0]["latest"]["rag"].as_str(), &b_body["kpis"][0]["trend"]), (Some("green"), &Value::Null));
    assert_eq!(
        (b_body["issues"].as_array().unwrap().len(), &b_body["waiting_issues"]),
        (0, &Value::from(0)),
        "no B member handles the working level"
    );

    // The page, as the observer sees it, says the same, and is linked from the overview.
    let mut browser = Browser::new(&app);
    browser.sign_in("observer@keystone.example", TEST_PASSWORD).await;
    let overview = browser.get(&format!("/relationships/{}", r.id)).await.body;
    let page_path = format!("/relationships/{}/parties/{party_a}/oversight", r.id);
    assert!(overview.contains(&page_path), "the overview links each party's oversight");
    let page = browser.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body;
    for text in [
        "Crane certificates",
        "Past due, not delivered",
        "Repaint berth markings",
        "Crane availability",
        "#1 Late berth windows",
        "Working level",
    ] {
        assert!(html.contains(text), "{text} is on the page");
    }
    assert!(html.find("Repaint berth markings").unwrap() < html.find("Publish the winter timetable").unwrap(), "overdue first");
    for absent in ["Keystone&#39;s tug roster", "Keystone&#39;s dredging plan", "Tug punctuality", "Joint berth use"] {
        assert!(!html.contains(absent), "{absent} is another party's");
    }
    assert!(html.contains("No joint review has recorded an intervention about Northshore yet"));

    // Another relationship's party, an unknown one, or none at all: 404, on the page and the API.
    let other = app.relationship("Elsewhere", &[&a, &b]).await;
    let foreign = app.store().parties(other.id).await.unwrap()[0].id;
    for party in [foreign.to_string(), Uuid::now_v7().to_string(), "not-an-id".into()] {
        let path = format!("/relationships/{}/parties/{party}/oversight", r.id);
        assert_eq!(browser.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(app.call(Method::GET, &format!("/api/v1{path}"), Some(&observer_token), None).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}
