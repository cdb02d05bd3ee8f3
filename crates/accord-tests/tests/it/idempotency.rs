//! Requests made once, through the real server on both databases: a form sent again and an API
//! POST repeated with its `Idempotency-Key` make one thing, tell people once, and are answered as
//! the first sending was; concurrent repeats, on two servers, make one thing too.

use crate::app::{App, TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use crate::people::Browser;
use accord_domain::membership::Role;
use accord_store::{KeptAnswer, Relationship};
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

on_both_backends!(
    a_form_sent_again_raises_one_issue_and_shows_it,
    a_form_whose_answer_is_a_page_is_not_made_twice,
    an_api_post_with_a_key_is_made_once,
    concurrent_repeats_on_two_servers_make_one_thing,
    a_key_is_taken_answered_freed_and_forgotten,
);

/// The value of a form's hidden field `name`, as the page rendered it.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned()
}

/// Harbour, between Northshore (Priya, JMT) and Keystone (Sofia, SER; Sam, JMT).
async fn harbour(app: &App) -> (Relationship, HashMap<&'static str, (accord_store::User, String)>) {
    let (a, b) = (app.organisation("Northshore Port Authority").await, app.organisation("Keystone Construction").await);
    let r = app.relationship("Harbour", &[&a, &b]).await;
    let mut people = HashMap::new();
    for (name, email, org, role) in [
        ("priya", "priya.raman@northshore.example", &a, Role::Jmt),
        ("sofia", "sofia.marquez@keystone.example", &b, Role::Ser),
        ("sam", "sam.lee@keystone.example", &b, Role::Jmt),
    ] {
        let (user, token) = app.user(email, org, false).await;
        app.member(&r, &user, role).await;
        people.insert(name, (user, token));
    }
    (r, people)
}

async fn issue_count(app: &App, r: &Relationship, token: &str) -> usize {
    let (status, list) = app.call(Method::GET, &format!("/api/v1/relationships/{}/issues?status=all", r.id), Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().len()
}

async fn raised_events(app: &App, r: &Relationship) -> usize {
    app.store().audit_events(r.id, 0, 1000).await.unwrap().iter().filter(|e| e.kind.as_str() == "issue.raised").count()
}

async fn a_form_sent_again_raises_one_issue_and_shows_it(db: TestDb) {
    let app = spawn_app(db).await;
    let (r, people) = harbour(&app).await;
    let token = &people["sofia"].1;
    let mut browser = Browser::new(&app);
    browser.sign_in("priya.raman@northshore.example", TEST_PASSWORD).await;
    let form = format!("/relationships/{}/issues/new", r.id);
    let raise = format!("/relationships/{}/issues", r.id);
    let key = hidden(&browser.get(&form).await.body, "submission");
    assert_eq!(key.len(), 32, "a random key per rendering");

    // A refused form does not use its key up: fixed, it is sent again with the same key.
    let mut fields = vec![("submission", key.as_str()), ("title", " "), ("category", "delivery"), ("severity", "high")];
    let refused = browser.post(&raise, &fields).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    fields[1].1 = "Gate 3 closed without notice";
    let first = browser.post(&raise, &fields).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    assert!(first.location.starts_with(&format!("{raise}/")) && first.location.ends_with("?saved=issue"), "{}", first.location);

    // Sent again (Back and submit, a double click), even with a field changed: the first issue,
    // with the same notice, and nothing made twice.
    let again = browser.post(&raise, &fields).await;
    assert_eq!((again.status, again.location.as_str()), (StatusCode::SEE_OTHER, first.location.as_str()));
    fields[1].1 = "Gate 3 closed again";
    let changed = browser.post(&raise, &fields).await;
    assert_eq!(changed.location, first.location);
    let shown = browser.get(&first.location).await;
    assert!(shown.body.contains("Gate 3 closed without notice") && shown.body.contains("Saved: the issue is recorded."), "{}", shown.body);
    assert_eq!(issue_count(&app, &r, token).await, 1);
    assert_eq!(raised_events(&app, &r).await, 1, "one audit event");
    // The working level's handlers are told once each.
    let mut told = 0;
    for (user, _) in people.values() {
        let inbox = app.store().inbox(user.id, 100).await.unwrap();
        let about = inbox.iter().filter(|n| n.title.contains("New issue")).count();
        assert!(about <= 1, "{} told {about} times: {inbox:?}", user.email);
        told += about;
    }
    assert!(told >= 1, "someone is told of the issue");

    // A new rendering of the form has a new key: a second issue is a second issue.
    let second_key = hidden(&browser.get(&form).await.body, "submission");
    assert_ne!(second_key, key);
    fields[0].1 = &second_key;
    let second = browser.post(&raise, &fields).await;
    assert_eq!(second.status, StatusCode::SEE_OTHER);
    assert_ne!(second.location, first.location);
    assert_eq!(issue_count(&app, &r, token).await, 2);

    // A key is the account's own: another's form with the same key makes its own issue.
    let mut sofia = Browser::new(&app);
    sofia.sign_in("sofia.marquez@keystone.example", TEST_PASSWORD).await;
    let theirs = sofia.post(&raise, &[("submission", &key), ("title", "Crane permit late"), ("category", "delivery")]).await;
    assert_eq!(theirs.status, StatusCode::SEE_OTHER, "{}", theirs.body);
    assert_ne!(theirs.location, first.location);
    assert_eq!(issue_count(&app, &r, token).await, 3);

    // The key of another form (another address) is refused, naming it; so is a malformed one.
    let comment = browser
        .post(&format!("{}/comments", first.location.trim_end_matches("?saved=issue")), &[("submission", &key), ("body", "x")])
        .await;
    assert_eq!(comment.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", comment.body);
    assert!(comment.body.contains("submission"), "{}", comment.body);
    let bad = browser.post(&raise, &[("submission", "a key with spaces"), ("title", "x")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(issue_count(&app, &r, token).await, 3);
}

/// A form whose answer is a page showing a secret once (a new API token): the page is not kept,
/// and sending the form again goes back to where it came from, saying it was sent already.
async fn a_form_whose_answer_is_a_page_is_not_made_twice(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, people) = harbour(&app).await;
    let priya = &people["priya"].0;
    let mut browser = Browser::new(&app);
    browser.sign_in(&priya.email, TEST_PASSWORD).await;
    let key = hidden(&browser.get("/account").await.body, "submission");
    let first = browser.post("/account/tokens", &[("submission", &key), ("name", "reports")]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("acc_"), "the token is shown once");
    let again = browser.post("/account/tokens", &[("submission", &key), ("name", "reports")]).await;
    assert_eq!((again.status, again.location.as_str()), (StatusCode::SEE_OTHER, "/?saved=resent"), "no Referer: home");
    assert!(!again.body.contains("acc_"));
    let tokens = app.store().list_tokens(priya.id).await.unwrap();
    assert_eq!(tokens.iter().filter(|t| t.name == "reports").count(), 1, "{tokens:?}");
    let home = browser.get(&again.location).await;
    assert!(home.body.contains("Already done: this form was sent before, and nothing was made twice."), "{}", home.body);
}

/// Posts `body` to `path` with `key` (if any) as `token`: the status, the body's text and whether
/// it was a replay.
async fn post(app: &App, path: &str, token: &str, key: Option<&str>, body: &Value) -> (StatusCode, String, bool) {
    let mut request = app.request(Method::POST, path, Some(token)).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (response.status(), response.text().await.unwrap(), replayed)
}

fn refused_field(text: &str) -> String {
    let body: Value = serde_json::from_str(text).unwrap();
    body["fields"][0]["field"].as_str().unwrap_or_default().to_owned()
}

async fn an_api_post_with_a_key_is_made_once(db: TestDb) {
    let app = spawn_app(db).await;
    let (r, people) = harbour(&app).await;
    let (priya, sofia) = (&people["priya"].1, &people["sofia"].1);
    let path = format!("/api/v1/relationships/{}/issues", r.id);
    let body = json!({"title": "Gate 3 closed without notice", "category": "delivery", "severity": "high"});

    let (status, first, replayed) = post(&app, &path, priya, Some("raise-gate-3"), &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");
    let (status, again, replayed) = post(&app, &path, priya, Some("raise-gate-3"), &body).await;
    assert_eq!((status, again.as_str(), replayed), (StatusCode::CREATED, first.as_str(), true), "the same answer, not made again");
    assert_eq!(issue_count(&app, &r, sofia).await, 1);
    assert_eq!(raised_events(&app, &r).await, 1);

    // The same key with another body, or at another address: 422 naming the header.
    let other = json!({"title": "Gate 4 closed", "category": "delivery"});
    let (status, text, _) = post(&app, &path, priya, Some("raise-gate-3"), &other).await;
    assert_eq!((status, refused_field(&text)), (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key".to_owned()), "{text}");
    let id = serde_json::from_str::<Value>(&first).unwrap()["id"].as_str().unwrap().to_owned();
    let (status, text, _) = post(&app, &format!("{path}/{id}/comments"), priya, Some("raise-gate-3"), &body).await;
    assert_eq!((status, refused_field(&text)), (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key".to_owned()), "{text}");
    // A malformed key: 422 naming the header, nothing made.
    for bad in ["", "with space", &"k".repeat(256)] {
        let (status, text, _) = post(&app, &path, priya, Some(bad), &other).await;
        assert_eq!((status, refused_field(&text)), (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key".to_owned()), "{bad:?}: {text}");
    }
    assert_eq!(issue_count(&app, &r, sofia).await, 1);

    // Keys are per account: Sofia's request with Priya's key is her own.
    let (status, theirs, replayed) = post(&app, &path, sofia, Some("raise-gate-3"), &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false));
    assert_ne!(theirs, first);
    assert_eq!(issue_count(&app, &r, sofia).await, 2);

    // A refused request frees its key: fixed, it is sent with the same key and made.
    let (status, _, _) = post(&app, &path, priya, Some("second"), &json!({"title": " "})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, replayed) = post(&app, &path, priya, Some("second"), &other).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false));
    assert_eq!(issue_count(&app, &r, sofia).await, 3);

    // Without a key, each request is its own.
    post(&app, &path, priya, None, &body).await;
    post(&app, &path, priya, None, &body).await;
    assert_eq!(issue_count(&app, &r, sofia).await, 5);

    // Kept 24 hours: after that the key is free again.
    app.clock.advance(SignedDuration::from_hours(24) + SignedDuration::from_secs(1));
    let (status, later, replayed) = post(&app, &path, priya, Some("raise-gate-3"), &body).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false));
    assert_ne!(later, first);
    assert_eq!(issue_count(&app, &r, sofia).await, 6);
}

/// A second server on the same database, as another machine behind the same address would be.
async fn second_server(app: &App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = accord_web::AppState::new(app.db.second_store().await, app.clock.clone(), &base);
    state.ready.store(true, Ordering::Release);
    tokio::spawn(accord_web::serve(listener, accord_web::router(state)));
    base
}

async fn concurrent_repeats_on_two_servers_make_one_thing(db: TestDb) {
    let app = spawn_app(db).await;
    let (r, people) = harbour(&app).await;
    let token = people["priya"].1.clone();
    let second = second_server(&app).await;
    let path = format!("/api/v1/relationships/{}/actions", r.id);
    let body = Arc::new(json!({"title": "Re-baseline the dredging plan", "due_date": "2026-04-30"}));
    let sends = (0..8).map(|i| {
        let url = format!("{}{path}", if i % 2 == 0 { &app.base } else { &second });
        let (http, token, body) = (app.http.clone(), token.clone(), body.clone());
        tokio::spawn(async move {
            let response = http.post(url).bearer_auth(token).header("Idempotency-Key", "dredging").json(&*body).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        })
    });
    let mut answers = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        answers.push(send.await.unwrap());
    }
    let (status, first) = &answers[0];
    assert_eq!(*status, StatusCode::CREATED, "{first}");
    for answer in &answers {
        assert_eq!(answer, &answers[0], "every repeat waits for the first answer and gets it");
    }
    let (_, actions) = app.call(Method::GET, &format!("{path}?status=all"), Some(&token), None).await;
    assert_eq!(actions["items"].as_array().unwrap().len(), 1, "{actions}");
    let events = app.store().audit_events(r.id, 0, 1000).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.kind.as_str() == "action.created").count(), 1);
}

/// The store's part, alone: a key is taken once, holds its answer, is freed, and is forgotten
/// when it expires.
async fn a_key_is_taken_answered_freed_and_forgotten(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, people) = harbour(&app).await;
    let (priya, sofia) = (people["priya"].0.id, people["sofia"].0.id);
    let store = app.store();
    let now = app.now();
    let before = now - SignedDuration::from_hours(24);
    assert_eq!(store.take_key(priya, "k", "f1", now, before).await.unwrap(), None, "free: taken");
    let held = store.take_key(priya, "k", "f2", now, before).await.unwrap().expect("held");
    assert_eq!((held.fingerprint.as_str(), held.answer), ("f1", None), "under way: no answer yet");
    assert_eq!(store.take_key(sofia, "k", "f2", now, before).await.unwrap(), None, "another account's key is its own");
    let answer = KeptAnswer { status: 201, location: None, content_type: Some("application/json".into()), body: b"{\"id\":1}".to_vec() };
    store.keep_answer(priya, "k", &answer).await.unwrap();
    assert_eq!(store.key_use(priya, "k").await.unwrap().unwrap().answer, Some(answer.clone()));
    assert_eq!(store.take_key(priya, "k", "f1", now, before).await.unwrap().unwrap().answer, Some(answer));
    store.release_key(sofia, "k").await.unwrap();
    assert_eq!(store.key_use(sofia, "k").await.unwrap(), None, "freed");
    assert!(store.key_use(priya, "k").await.unwrap().is_some(), "freeing one account's key leaves another's");
    let later = now + SignedDuration::from_hours(25);
    assert_eq!(store.take_key(sofia, "other", "f", later, later - SignedDuration::from_hours(24)).await.unwrap(), None);
    assert_eq!(store.key_use(priya, "k").await.unwrap(), None, "expired keys are forgotten when a key is taken");
}
