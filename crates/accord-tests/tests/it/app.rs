//! `spawn_app()`: the real server on 127.0.0.1:0 over a fresh database, with a clock the test sets.

use crate::backends::TestDb;
use accord_domain::Invalid;
use accord_domain::clock::ManualClock;
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, RelationshipInput};
use accord_domain::text::{Email, Name};
use accord_store::{NewUser, Organisation, Relationship, Store, User};
use accord_web::{AppState, secrets};
use jiff::Timestamp;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub struct App {
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestDb,
    pub clock: Arc<ManualClock>,
}

pub async fn spawn_app(db: TestDb) -> App {
    let clock = Arc::new(ManualClock::new("2026-03-02T09:00:00Z".parse::<Timestamp>().unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(db.store.clone(), clock.clone(), &base);
    state.ready.store(true, Ordering::Release);
    tokio::spawn(accord_web::serve(listener, accord_web::router(state)));
    App { base, http: reqwest::Client::new(), db, clock }
}

impl App {
    pub fn store(&self) -> &dyn Store {
        self.db.store.as_ref()
    }

    pub fn now(&self) -> Timestamp {
        use accord_domain::clock::Clock;
        self.clock.now()
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends a request and returns the status and the JSON body (Null when there is none).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut r = self.request(method, path, token);
        if let Some(body) = body {
            r = r.json(&body);
        }
        let response = r.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn organisation(&self, name: &str) -> Organisation {
        self.store().create_organisation(Name::parse(name).unwrap(), None, self.now()).await.unwrap()
    }

    /// A user with a password ("a long password") and an API token; returns both.
    pub async fn user(&self, email: &str, organisation: &Organisation, admin: bool) -> (User, String) {
        let new = NewUser {
            email: Email::parse(email).unwrap(),
            name: Name::parse(email.split('@').next().unwrap()).unwrap(),
            organisation_id: Some(organisation.id),
            is_admin: admin,
            password_hash: Some(TEST_PASSWORD_HASH.with(|h| h.clone())),
        };
        let user = self.store().create_user(new, None, self.now()).await.unwrap();
        let (token, hash) = secrets::new_token();
        self.store().create_token(user.id, Name::parse("test").unwrap(), &hash, self.now()).await.unwrap();
        (user, token)
    }

    pub async fn relationship(&self, name: &str, parties: &[&Organisation]) -> Relationship {
        let input = RelationshipInput { name, purpose: "Work together", start_date: "2026-01-05", time_zone: "Europe/London" };
        let new = NewRelationship::parse(input, Some(parties.iter().map(|o| o.id).collect()), Invalid::default()).unwrap();
        self.store().create_relationship(new, None, self.now()).await.unwrap()
    }

    pub async fn member(&self, relationship: &Relationship, user: &User, role: Role) {
        self.store().add_member(relationship.id, user.id, role, None, self.now()).await.unwrap();
    }
}

thread_local! {
    // Hashing is slow on purpose; one hash serves every test account.
    static TEST_PASSWORD_HASH: String = secrets::hash_password(TEST_PASSWORD).unwrap();
}

pub const TEST_PASSWORD: &str = "a long password";
