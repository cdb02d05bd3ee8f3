//! Readable history and retracted values, through the real server on both databases: the audit
//! trail and the home page tell each event as a sentence naming what it touched (names read for
//! the whole page at once), and a value recorded by mistake is retracted, kept in history, and
//! recorded again.

use crate::app::{App, TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use crate::people::Browser;
use accord_domain::measure::Rag;
use accord_domain::membership::Role;
use accord_store::{AuditView, KpiDetail, KpiRequest, MeasurementInput, ScorecardView, View, ViewRequest};
use jiff::civil::Date;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

on_both_backends!(
    the_trail_and_the_home_page_tell_what_happened_in_sentences,
    a_value_recorded_by_mistake_is_retracted_and_recorded_again,
    two_servers_retracting_one_value_retract_it_once,
);

/// A page's text as read: tags dropped, entities written out, runs of spaces one space.
fn text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out.replace("&#x27;", "'").replace("&#39;", "'").replace("&quot;", "\"").replace("&#34;", "\"").replace("&lt;", "<");
    let out = out.replace("&gt;", ">").replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn view<V: TryFrom<View, Error = View>>(app: &App, r: Uuid, request: ViewRequest) -> V {
    match app.store().view(r, request).await.unwrap().try_into() {
        Ok(view) => view,
        Err(other) => panic!("another view: {other:?}"),
    }
}

async fn page(app: &App, path: &str, token: &str) -> (StatusCode, String) {
    let response = app.request(Method::GET, path, Some(token)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(app: &App, path: &str, token: &str, body: Value) -> Value {
    let (status, body) = app.call(Method::POST, path, Some(token), Some(body)).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn the_trail_and_the_home_page_tell_what_happened_in_sentences(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore Port Authority").await, app.organisation("Keystone Construction").await);
    let (priya, priya_t) = app.user("priya.raman@northshore.example", &a, false).await;
    let (sam, _) = app.user("sam.lee@keystone.example", &b, false).await;
    let (olly, olly_t) = app.user("olly@keystone.example", &b, false).await;
    let r = app.relationship("Harbour Renewal", &[&a, &b]).await;
    app.member(&r, &priya, Role::Jmt).await;
    app.member(&r, &sam, Role::Ser).await;
    app.member(&r, &olly, Role::Observer).await;
    let api = format!("/api/v1/relationships/{}", r.id);

    // Thirty actions raised, then each marked done: an update's summary holds no title, so the
    // page can only name the action by reading its title, for all of them at once.
    let mut actions = Vec::new();
    for i in 0..30 {
        let action = post(
            &app,
            &format!("{api}/actions"),
            &priya_t,
            json!({"title": format!("Action {i}"), "due_date": "2026-04-01", "owner": sam.id}),
        )
        .await;
        actions.push(action["id"].as_str().unwrap().to_owned());
    }
    for id in &actions {
        let (status, body) =
            app.call(Method::PATCH, &format!("{api}/actions/{id}"), Some(&priya_t), Some(json!({"version": 1, "status": "done"}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let kpi = post(
        &app,
        &format!("{api}/kpis"),
        &priya_t,
        json!({"name": "Berth availability", "unit": "%", "direction": "higher", "cadence": "monthly", "target": 98, "amber": 95, "red": 90}),
    )
    .await;
    post(&app, &format!("{api}/measurements"), &priya_t, json!({"kpi_id": kpi["id"], "period": "2026-02", "value": 99})).await;
    post(&app, &format!("{api}/issues"), &priya_t, json!({"title": "Late berth windows", "severity": "high"})).await;

    let expected = [
        "priya.raman raised issue #1 'Late berth windows' (high severity)",
        "priya.raman recorded 99% (green) for 'Berth availability' in February 2026",
        "priya.raman defined KPI 'Berth availability' (monthly, target 98%)",
    ];
    let (status, html) = page(&app, &format!("/relationships/{}/audit", r.id), &olly_t).await;
    assert_eq!(status, StatusCode::OK);
    let trail = text(&html);
    for sentence in expected {
        assert!(trail.contains(sentence), "the trail says {sentence:?}: {trail}");
    }
    for i in 0..30 {
        assert!(trail.contains(&format!("priya.raman updated action 'Action {i}': now done")), "action {i} is named");
    }
    // What was stored stays one click away, behind a disclosure, as it was hashed.
    assert_eq!(html.matches("<details class=\"recorded\">").count(), 50, "every event's record behind a disclosure");
    assert!(trail.contains(&format!("\"kpi\":\"{}\"", kpi["id"].as_str().unwrap())), "the stored JSON is shown as stored");
    assert!(trail.contains("measurement.recorded"));
    // The names came in one batch for the page: every action it touches, every person who acted.
    let audit: AuditView = view(&app, r.id, ViewRequest::Audit { before_position: None, limit: 50 }).await;
    assert_eq!(audit.names.actions.len(), 30);
    assert_eq!(audit.names.actions.values().filter(|t| t.starts_with("Action ")).count(), 30);
    assert_eq!(audit.names.users.get(&priya.id).map(String::as_str), Some("priya.raman"));
    assert_eq!(audit.names.issues.values().map(|i| (i.number, i.title.as_str())).collect::<Vec<_>>(), vec![(1, "Late berth windows")]);

    // The home page's activity reads the same.
    let (status, html) = page(&app, &format!("/relationships/{}", r.id), &olly_t).await;
    assert_eq!(status, StatusCode::OK);
    let home = text(&html);
    for sentence in expected {
        assert!(home.contains(sentence), "the home page says {sentence:?}: {home}");
    }
    assert!(!home.contains("issue.raised"), "no event codes on the home page");

    // An older page names what its events touched too: the relationship and its members.
    let older = audit.events.last().unwrap().position;
    let (_, html) = page(&app, &format!("/relationships/{}/audit?before={older}", r.id), &olly_t).await;
    let trail = text(&html);
    assert!(
        trail.contains("Accord created the relationship 'Harbour Renewal' between Northshore Port Authority and Keystone Construction"),
        "{trail}"
    );
    assert!(trail.contains("Accord added sam.lee to Keystone Construction as its SER"), "{trail}");
    assert!(trail.contains("priya.raman raised action 'Action 0' for sam.lee, due 1 April 2026"), "{trail}");
}

async fn a_value_recorded_by_mistake_is_retracted_and_recorded_again(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (priya, priya_t) = app.user("priya.raman@northshore.example", &a, false).await;
    let (carl, carl_t) = app.user("carl@northshore.example", &a, false).await;
    let (olly, olly_t) = app.user("olly@keystone.example", &b, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &priya, Role::Jmt).await;
    app.member(&r, &carl, Role::Contributor).await;
    app.member(&r, &olly, Role::Observer).await;
    let keystone = app.store().parties(r.id).await.unwrap()[1].id;
    let api = format!("/api/v1/relationships/{}", r.id);
    // Keystone's KPI: Northshore's contributor may not record its values, nor retract them.
    let body = json!({"name": "Berth availability", "unit": "%", "direction": "higher", "cadence": "monthly", "target": 98, "amber": 95, "red": 90, "party": keystone});
    let kpi_id: Uuid = post(&app, &format!("{api}/kpis"), &priya_t, body).await["id"].as_str().unwrap().parse().unwrap();
    let record = |period: &'static str, value: f64| {
        let (app, token, api) = (&app, priya_t.clone(), api.clone());
        async move { post(app, &format!("{api}/measurements"), &token, json!({"kpi_id": kpi_id, "period": period, "value": value})).await }
    };
    let jan = record("2026-01", 99.0).await;
    let feb = record("2026-02", 9.9).await;
    let latest = |scorecard: ScorecardView| {
        scorecard.recent.iter().filter(|v| v.kpi_id == kpi_id).map(|v| (v.period_start, v.value, v.rag)).collect::<Vec<_>>()
    };
    let (d_jan, d_feb) = (Date::constant(2026, 1, 1), Date::constant(2026, 2, 1));
    assert_eq!(latest(view(&app, r.id, ViewRequest::Scorecard).await), vec![(d_jan, 99.0, Rag::Green), (d_feb, 9.9, Rag::Red)]);

    let retract = |id: &str| format!("{api}/kpis/{kpi_id}/measurements/{id}/retract");
    let feb_id = feb["id"].as_str().unwrap();
    let (status, refused) = app.call(Method::POST, &retract(feb_id), Some(&priya_t), Some(json!({"reason": "  "}))).await;
    assert_eq!((status, refused["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")), "{refused}");
    let (status, _) = app.call(Method::POST, &retract(feb_id), Some(&carl_t), Some(json!({"reason": "mine"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a contributor of another party");
    let (status, _) = app.call(Method::POST, &retract(&Uuid::now_v7().to_string()), Some(&priya_t), Some(json!({"reason": "x"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let reason = "Decimal point slipped: 99 was meant";
    let (status, retracted) = app.call(Method::POST, &retract(feb_id), Some(&priya_t), Some(json!({"reason": reason}))).await;
    assert_eq!(status, StatusCode::OK, "{retracted}");
    assert_eq!(retracted["retracted"]["reason"], reason);
    assert_eq!(retracted["retracted"]["by"], json!(priya.id));
    assert!(!retracted["superseded_at"].is_null());
    // Twice is refused, naming the value and who retracted it.
    let (status, again) = app.call(Method::POST, &retract(feb_id), Some(&priya_t), Some(json!({"reason": reason}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again["fields"][0]["message"].as_str().unwrap().contains("retracted already by priya.raman"), "{again}");

    // The scorecard, the list of current values and the KPI's status no longer use it.
    assert_eq!(latest(view(&app, r.id, ViewRequest::Scorecard).await), vec![(d_jan, 99.0, Rag::Green)]);
    let (_, current) = app.call(Method::GET, &format!("{api}/measurements?kpi_id={kpi_id}"), Some(&olly_t), None).await;
    assert_eq!(current["items"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect::<Vec<_>>(), vec![jan["id"].clone()]);
    let detail: KpiDetail = view(&app, r.id, ViewRequest::Kpi(KpiRequest { kpi_id, values: 24 })).await;
    assert_eq!(detail.values.iter().map(|m| m.period_start).collect::<Vec<_>>(), vec![d_jan]);
    assert_eq!(
        detail.retracted.iter().map(|m| (m.value, m.retracted.as_ref().unwrap().reason.as_str())).collect::<Vec<_>>(),
        vec![(9.9, reason)]
    );

    // The KPI page keeps it in the history, marked retracted; its chart leaves it out.
    let (status, html) = page(&app, &format!("/relationships/{}/kpis/{kpi_id}", r.id), &olly_t).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<tr class="retracted" data-period="2026-02">"#), "{html}");
    let history = text(&html[html.find("id=\"history\"").unwrap()..]);
    assert!(history.contains(&format!("9.9% Retracted by priya.raman on 2026-03-02: {reason}")), "{history}");
    let chart = &html[html.find("chart-box").unwrap()..html.find("</figure>").unwrap()];
    assert!(chart.contains("<title>2026-01: 99 %") && !chart.contains("9.9 %"), "{chart}");
    assert!(!html.contains(&format!("/measurements/{feb_id}/retract")), "no Retract button for it, nor for an observer");
    // The trail tells it, with its reason.
    let (_, html) = page(&app, &format!("/relationships/{}/audit", r.id), &olly_t).await;
    let told = format!("priya.raman retracted 9.9% (red) for 'Berth availability' in February 2026: {reason}");
    assert!(text(&html).contains(&told), "{}", text(&html));

    // Recorded again (a minute later), it is a new value, not a correction of the retracted one.
    app.clock.advance(jiff::SignedDuration::from_mins(1));
    let again = record("2026-02", 99.5).await;
    let last = app.store().audit_events(r.id, 0, 1000).await.unwrap().pop().unwrap();
    assert_eq!((last.kind.as_str(), last.summary["value"].as_str()), ("measurement.recorded", Some("99.5")));
    assert_eq!(latest(view(&app, r.id, ViewRequest::Scorecard).await), vec![(d_jan, 99.0, Rag::Green), (d_feb, 99.5, Rag::Green)]);
    let period = app.store().measurement_history(r.id, kpi_id, d_feb).await.unwrap();
    assert_eq!(period.iter().map(|m| (m.value, m.retracted.is_some())).collect::<Vec<_>>(), vec![(99.5, false), (9.9, true)]);
    assert_eq!(period[0].id.to_string(), again["id"].as_str().unwrap());

    // On the page: Retract asks first, and for a reason; Cancel leads back; Confirm retracts.
    let mut browser = Browser::new(&app);
    browser.sign_in("priya.raman@northshore.example", TEST_PASSWORD).await;
    let kpi_page = format!("/relationships/{}/kpis/{kpi_id}", r.id);
    let jan_id = jan["id"].as_str().unwrap();
    let action = format!("{kpi_page}/measurements/{jan_id}/retract");
    assert!(browser.get(&kpi_page).await.body.contains(&format!("action=\"{action}\"")), "a Retract button per value");
    let asked = browser.post(&action, &[]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(text(&asked.body).contains("Retract 99% for January 2026?") && asked.body.contains(r#"name="reason""#), "{}", asked.body);
    assert!(asked.body.contains(&format!("href=\"{kpi_page}\"")), "Cancel leads back");
    assert!(app.store().measurement(r.id, kpi_id, jan_id.parse().unwrap()).await.unwrap().retracted.is_none(), "asking changes nothing");
    let refused = browser.post(&action, &[("confirm", "yes"), ("reason", " ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("say why the value is retracted") && refused.body.contains(r#"aria-invalid="true""#), "{}", refused.body);
    let done = browser.post(&action, &[("confirm", "yes"), ("reason", "Entered for the wrong month")]).await;
    assert_eq!((done.status, done.location.as_str()), (StatusCode::SEE_OTHER, format!("{kpi_page}?saved=retracted").as_str()));
    assert!(browser.get(&done.location).await.body.contains("Done: the value was retracted"));
    assert_eq!(latest(view(&app, r.id, ViewRequest::Scorecard).await), vec![(d_feb, 99.5, Rag::Green)]);
    let mut observer = Browser::new(&app);
    observer.sign_in("olly@keystone.example", TEST_PASSWORD).await;
    let feb_again = format!("{kpi_page}/measurements/{}/retract", again["id"].as_str().unwrap());
    assert_eq!(observer.post(&feb_again, &[("confirm", "yes"), ("reason", "x")]).await.status, StatusCode::FORBIDDEN);

    // An import of the retracted value does not bring it back silently: it is a new value.
    let row = MeasurementInput { kpi_id, period_start: d_jan, value: 99.0, comment: String::new() };
    let summary = app.store().import_measurements(r.id, vec![row], "ab", Some(priya.id), app.now()).await.unwrap();
    assert_eq!((summary.added, summary.unchanged), (1, 0));
}

async fn two_servers_retracting_one_value_retract_it_once(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (priya, priya_t) = app.user("priya.raman@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &priya, Role::Jmt).await;
    let api = format!("/api/v1/relationships/{}", r.id);
    let body = json!({"name": "Berth availability", "unit": "%", "direction": "higher", "cadence": "monthly", "target": 98, "amber": 95, "red": 90});
    let kpi_id: Uuid = post(&app, &format!("{api}/kpis"), &priya_t, body).await["id"].as_str().unwrap().parse().unwrap();
    let value = post(&app, &format!("{api}/measurements"), &priya_t, json!({"kpi_id": kpi_id, "period": "2026-02", "value": 9.9})).await;
    let id: Uuid = value["id"].as_str().unwrap().parse().unwrap();
    let before = app.store().chain_head(r.id).await.unwrap().unwrap().position;

    let other = app.db.second_store().await;
    let (first, second) = tokio::join!(
        app.store().retract_measurement(r.id, kpi_id, id, "typo".into(), priya.id, app.now()),
        other.retract_measurement(r.id, kpi_id, id, "typo".into(), priya.id, app.now()),
    );
    let refused = match (first, second) {
        (Ok(done), Err(refused)) | (Err(refused), Ok(done)) => {
            assert_eq!(done.retracted.map(|r| r.reason), Some("typo".to_owned()));
            refused
        }
        other => panic!("exactly one retraction: {other:?}"),
    };
    assert!(matches!(refused, accord_store::StoreError::Invalid(_)), "{refused:?}");
    let events = app.store().audit_events(r.id, before, 100).await.unwrap();
    assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), vec!["measurement.retracted"]);
    let scorecard: ScorecardView = view(&app, r.id, ViewRequest::Scorecard).await;
    assert!(scorecard.recent.iter().all(|v| v.kpi_id != kpi_id), "the KPI keeps no current value");
}
