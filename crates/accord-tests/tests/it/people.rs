//! Signing in and staying signed in, through the real server: sessions, throttling, expiry,
//! disabling, password links, cookies.

use crate::app::{App, TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use accord_domain::membership::Role;
use jiff::SignedDuration;
use reqwest::StatusCode;
use std::collections::HashMap;

on_both_backends!(
    sign_in_renews_the_session_and_sign_out_ends_it,
    an_account_is_throttled_after_repeated_failures,
    sessions_expire_when_idle_and_absolutely,
    a_hostile_next_sends_people_home,
    a_password_change_ends_the_other_sessions,
);

/// A minimal browser: keeps cookies, follows no redirects, echoes the CSRF cookie in forms.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    pub set_cookie_headers: Vec<String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub location: String,
    pub body: String,
}

impl Browser {
    pub fn new(app: &App) -> Browser {
        Browser::at(&app.base)
    }

    pub fn at(base: &str) -> Browser {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { base: base.to_owned(), http, cookies: HashMap::new(), set_cookie_headers: Vec::new() }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let response = request.header("cookie", cookie).send().await.unwrap();
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap().to_owned();
            let (pair, _) = value.split_once(';').unwrap_or((&value, ""));
            let (name, v) = pair.split_once('=').unwrap();
            if v.is_empty() || value.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), v.to_owned());
            }
            self.set_cookie_headers.push(value);
        }
        let status = response.status();
        let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        Answer { status, location, body: response.text().await.unwrap() }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Posts a form with the CSRF token (fetching a page first if there is no cookie yet).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        if !self.cookies.keys().any(|k| k.ends_with("accord_csrf")) {
            self.get("/login").await;
        }
        let csrf = self.cookies.iter().find(|(k, _)| k.ends_with("accord_csrf")).map(|(_, v)| v.clone()).unwrap();
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        let request = self.http.post(format!("{}{path}", self.base)).form(&form);
        self.send(request).await
    }

    /// Posts exactly `fields` (no CSRF token added) with extra `headers`: a stale or forged form.
    pub async fn post_as_sent(&mut self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(fields);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// The CSRF cookie's token, if the browser holds one.
    pub fn csrf(&self) -> Option<String> {
        self.cookies.iter().find(|(k, _)| k.ends_with("accord_csrf")).map(|(_, v)| v.clone())
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        self.post("/login", &[("email", email), ("password", password), ("next", "/")]).await
    }

    pub fn session(&self) -> Option<&String> {
        self.cookies.iter().find(|(k, _)| k.ends_with("accord_session")).map(|(_, v)| v)
    }
}

async fn sign_in_renews_the_session_and_sign_out_ends_it(db: TestDb) {
    let app = spawn_app(db).await;
    let org = app.organisation("Northshore").await;
    app.user("ann@northshore.example", &org, false).await;
    let mut browser = Browser::new(&app);

    let page = browser.get("/").await;
    assert_eq!((page.status, page.location.as_str()), (StatusCode::SEE_OTHER, "/login?next=/"));
    let login = browser.get("/login").await;
    assert!(login.body.contains("name=\"csrf\""));
    let csrf_cookie = browser.set_cookie_headers.iter().find(|c| c.starts_with("accord_csrf=")).unwrap().clone();
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Strict"), "{csrf_cookie}");

    let wrong = browser.sign_in("ann@northshore.example", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("do not match"), "the form says why");
    assert!(wrong.body.contains("value=\"ann@northshore.example\""), "and keeps what was typed");
    assert!(browser.session().is_none(), "no session after a wrong password");

    let ok = browser.post("/login", &[("email", "Ann@Northshore.example"), ("password", TEST_PASSWORD), ("next", "/account")]).await;
    assert_eq!((ok.status, ok.location.as_str()), (StatusCode::SEE_OTHER, "/account"));
    let set = browser.set_cookie_headers.iter().rev().find(|c| c.starts_with("accord_session=")).unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && !set.contains("Secure"), "{set}");
    let first = browser.session().unwrap().clone();
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("ann@northshore.example") && account.body.contains("Sign out"));

    // Signing in again gives a new session id and ends the old one.
    browser.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    let second = browser.session().unwrap().clone();
    assert_ne!(first, second);
    let mut old = Browser::new(&app);
    old.cookies.insert("accord_session".into(), first);
    assert_eq!(old.get("/account").await.status, StatusCode::SEE_OTHER);

    // An off-site `next` is ignored.
    let mut other = Browser::new(&app);
    let ok = other.post("/login", &[("email", "ann@northshore.example"), ("password", TEST_PASSWORD), ("next", "//evil.example/x")]).await;
    assert_eq!(ok.location, "/");

    let out = browser.post("/logout", &[]).await;
    assert_eq!((out.status, out.location.as_str()), (StatusCode::SEE_OTHER, "/login"));
    assert!(browser.session().is_none());
    let mut replay = Browser::new(&app);
    replay.cookies.insert("accord_session".into(), second);
    assert_eq!(replay.get("/account").await.status, StatusCode::SEE_OTHER, "a signed-out session is gone on the server too");
}

async fn an_account_is_throttled_after_repeated_failures(db: TestDb) {
    let app = spawn_app(db).await;
    let org = app.organisation("Northshore").await;
    app.user("ann@northshore.example", &org, false).await;
    app.user("bo@northshore.example", &org, false).await;
    let mut browser = Browser::new(&app);
    for _ in 0..5 {
        assert_eq!(browser.sign_in("ann@northshore.example", "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = browser.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(blocked.body.contains("Too many failed sign-ins for this account"));
    assert!(browser.session().is_none());
    // Another account, and another server sharing the database, see the same counts.
    assert_eq!(browser.sign_in("bo@northshore.example", TEST_PASSWORD).await.status, StatusCode::SEE_OTHER);
    let failures = app.store().sign_in_failures("ann@northshore.example", app.now() - SignedDuration::from_mins(15)).await.unwrap();
    assert_eq!(failures, 5);
    app.clock.advance(SignedDuration::from_mins(16));
    let mut later = Browser::new(&app);
    assert_eq!(later.sign_in("ann@northshore.example", TEST_PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn one_address_is_throttled_on_sign_in_only() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let org = app.organisation("Northshore").await;
    app.user("ann@northshore.example", &org, false).await;
    let mut browser = Browser::new(&app);
    // Different (unknown) accounts, so that only the per-address limit can stop them.
    for i in 0..accord_web::SIGN_IN_PER_ADDRESS {
        let email = format!("nobody{i}@example.org");
        assert_eq!(browser.sign_in(&email, "guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = browser.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.body.contains("Too many sign-in attempts from your network"));
    // Ordinary pages are not limited per address.
    for _ in 0..50 {
        assert_eq!(browser.get("/login").await.status, StatusCode::OK);
    }
}

async fn sessions_expire_when_idle_and_absolutely(db: TestDb) {
    let app = spawn_app(db).await;
    let org = app.organisation("Northshore").await;
    let (user, _) = app.user("ann@northshore.example", &org, false).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    let hours = |h| SignedDuration::from_hours(h);
    // Used every 7 hours, a session lives on (each use pushes the 8-hour idle expiry)...
    for _ in 0..3 {
        app.clock.advance(hours(7));
        assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    }
    // ...until it is left alone for more than 8 hours.
    app.clock.advance(hours(8) + SignedDuration::from_mins(1));
    assert_eq!(browser.get("/account").await.status, StatusCode::SEE_OTHER);

    // However often it is used, it ends after 7 days.
    browser.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    for _ in 0..23 {
        app.clock.advance(hours(7));
        assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    }
    app.clock.advance(hours(7));
    assert_eq!(browser.get("/account").await.status, StatusCode::SEE_OTHER, "7 days after sign-in");

    // Disabling an account ends its sessions at once.
    browser.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    assert_eq!(browser.get("/account").await.status, StatusCode::OK);
    app.store().set_user_disabled(user.id, true, None, app.now()).await.unwrap();
    assert_eq!(browser.get("/account").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.sign_in("ann@northshore.example", TEST_PASSWORD).await.status,
        StatusCode::UNAUTHORIZED,
        "a disabled account cannot sign in"
    );
}

#[tokio::test]
async fn an_admin_issued_link_sets_a_password_once() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let org = app.organisation("Northshore").await;
    app.user("admin@site.example", &org, true).await;
    let mut admin = Browser::new(&app);
    admin.sign_in("admin@site.example", TEST_PASSWORD).await;
    let created = admin
        .post("/admin/users", &[("email", "new@northshore.example"), ("name", "New Person"), ("organisation", &org.id.to_string())])
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let link = created.body.split("id=\"reset-link\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let path = link.trim_start_matches(&app.base).to_owned();
    assert!(path.starts_with("/reset/"), "{link}");

    let mut person = Browser::new(&app);
    let form = person.get(&path).await;
    assert!(form.status == StatusCode::OK && form.body.contains("New Person"));
    let mismatch = person.post(&path, &[("password", "a brand new password"), ("confirm", "something else entirely")]).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.body.contains("differ"));
    let done = person.post(&path, &[("password", "a brand new password"), ("confirm", "a brand new password")]).await;
    assert_eq!((done.status, done.location.as_str()), (StatusCode::SEE_OTHER, "/login?done=password"));
    assert_eq!(person.get(&path).await.status, StatusCode::NOT_FOUND, "the link works once");
    assert_eq!(person.sign_in("new@northshore.example", "a brand new password").await.status, StatusCode::SEE_OTHER);

    // Bad input on the admin form re-renders it with the reason and what was typed.
    let bad = admin.post("/admin/users", &[("email", "not-an-address"), ("name", "X"), ("organisation", "")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("E-mail: must be an e-mail address") && bad.body.contains("Organisation: choose an organisation"),
        "{}",
        bad.body
    );
}

#[tokio::test]
async fn https_sites_use_host_only_secure_cookies() {
    let db = TestDb::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state =
        accord_web::AppState::new(db.store.clone(), std::sync::Arc::new(accord_domain::clock::SystemClock), "https://accord.example.org");
    tokio::spawn(accord_web::serve(listener, accord_web::router(state)));
    let mut browser = Browser::at(&base);
    browser.get("/login").await;
    let csrf = browser.set_cookie_headers[0].clone();
    assert!(csrf.starts_with("__Host-accord_csrf=") && csrf.contains("Secure") && csrf.contains("Path=/"), "{csrf}");
}

#[tokio::test]
async fn pages_carry_security_headers_and_members_see_their_relationship() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (ser, _) = app.user("ser@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ser@northshore.example", TEST_PASSWORD).await;
    let response = reqwest::Client::new()
        .get(format!("{}/relationships/{}", app.base, r.id))
        .header("cookie", format!("accord_session={}", browser.session().unwrap()))
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["referrer-policy"], "same-origin");
    let body = response.text().await.unwrap();
    assert!(body.contains("Harbour") && body.contains("chain-head") && body.contains("Sign out"));
    assert!(body.contains("<main id=\"main\">") && body.contains("aria-label=\"Relationship\""), "landmarks");
}

/// `next` is kept only if, after one percent-decoding, it is a path on this site that no browser
/// reads as another host's; never a 500, and no error response sets a cookie.
async fn a_hostile_next_sends_people_home(db: TestDb) {
    let app = spawn_app(db).await;
    let org = app.organisation("Northshore").await;
    app.user("ann@northshore.example", &org, false).await;
    let hostile = [
        "/%09/evil.example",
        "/\t/evil.example",
        "/%0d%0a",
        "/\r\nSet-Cookie: x=y",
        "//evil",
        "/\\evil",
        "/%5cevil",
        "https://evil",
        "/\u{e9}",
    ];
    for next in hostile {
        let mut browser = Browser::new(&app);
        let ok = browser.post("/login", &[("email", "ann@northshore.example"), ("password", TEST_PASSWORD), ("next", next)]).await;
        assert_eq!((ok.status, ok.location.as_str()), (StatusCode::SEE_OTHER, "/"), "{next:?}");
        assert!(browser.session().is_some(), "{next:?}: signed in all the same");
        // Signed in, the form sends them on at once: home again.
        let form = browser.get(&format!("/login?next={}", accord_web::auth::urlencode(next))).await;
        assert_eq!((form.status, form.location.as_str()), (StatusCode::SEE_OTHER, "/"), "{next:?}");
    }
    let mut browser = Browser::new(&app);
    let ok =
        browser.post("/login", &[("email", "ann@northshore.example"), ("password", TEST_PASSWORD), ("next", "/account?tab=tokens")]).await;
    assert_eq!(ok.location, "/account?tab=tokens", "a local path is kept");

    // A refused sign-in sets no cookie, whatever its `next`.
    let mut browser = Browser::new(&app);
    browser.get("/login").await;
    let before = browser.set_cookie_headers.len();
    let wrong = browser.post("/login", &[("email", "ann@northshore.example"), ("password", "guess"), ("next", "/\r\n")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(browser.set_cookie_headers.len(), before, "{:?}", &browser.set_cookie_headers[before..]);
    // Nor does any other error, even for a browser that has no cookie yet.
    let mut fresh = Browser::new(&app);
    assert_eq!(fresh.get("/no-such-page").await.status, StatusCode::NOT_FOUND);
    assert!(fresh.set_cookie_headers.is_empty(), "{:?}", fresh.set_cookie_headers);
}

/// A password change signs the account out everywhere else (tokens keep working), and its
/// current-password check counts towards the account's sign-in limit.
async fn a_password_change_ends_the_other_sessions(db: TestDb) {
    let app = spawn_app(db).await;
    let org = app.organisation("Northshore").await;
    let (_, token) = app.user("ann@northshore.example", &org, false).await;
    let (mut here, mut elsewhere) = (Browser::new(&app), Browser::new(&app));
    here.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    elsewhere.sign_in("ann@northshore.example", TEST_PASSWORD).await;
    let account = here.get("/account").await;
    assert!(account.body.contains("signs you out everywhere else") && account.body.contains("API tokens keep working"), "the page says so");

    let new = "a newer long password";
    let change = |current: &'static str| [("current", current), ("password", new), ("confirm", new)];
    for _ in 0..5 {
        let wrong = here.post("/account/password", &change("a guess")).await;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("Current password: is not right"));
    }
    let throttled = here.post("/account/password", &change(TEST_PASSWORD)).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(throttled.body.contains("Too many wrong passwords"), "{}", throttled.body);
    assert_eq!(Browser::new(&app).sign_in("ann@northshore.example", TEST_PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(elsewhere.get("/account").await.status, StatusCode::OK, "nothing changed yet");

    app.clock.advance(SignedDuration::from_mins(16));
    let changed = here.post("/account/password", &change(TEST_PASSWORD)).await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert!(changed.body.contains("Your other sessions are signed out; your API tokens still work"), "{}", changed.body);
    assert_eq!(here.get("/account").await.status, StatusCode::OK, "this browser stays signed in");
    let other = elsewhere.get("/account").await;
    assert_eq!((other.status, other.location.as_str()), (StatusCode::SEE_OTHER, "/login?next=/account"), "the other session ended");
    assert_eq!(app.call(reqwest::Method::GET, "/api/v1/relationships", Some(&token), None).await.0, StatusCode::OK, "tokens stay");
    assert_eq!(Browser::new(&app).sign_in("ann@northshore.example", TEST_PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(Browser::new(&app).sign_in("ann@northshore.example", new).await.status, StatusCode::SEE_OTHER);
}
