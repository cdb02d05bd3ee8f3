//! The pages as a person uses them: headless Chromium, driven through chromedriver (WebDriver).
//!
//! Each test starts its own chromedriver on a free port and, on drop, kills it and every process
//! it started, so no chromedriver or Chromium outlives a test, even one that fails.
//! Each browser has its own profile directory, so two browsers in one test have separate cookies.
//!
//! With `ACCORD_SCREENSHOTS=DIR`, the main story saves a PNG at each step into `DIR/<test>-<backend>/`.

mod sweep;

use sweep::PHONE_WIDTH;

use crate::app::{App, TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use accord_domain::membership::Role;
use fantoccini::elements::Element;
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long to wait for a page to show what a step expects before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A chromedriver child process; dropping it kills chromedriver and every browser it started,
/// and removes the browsers' profile directories.
struct Chromedriver {
    child: Child,
    url: String,
    profiles: PathBuf,
    browsers: usize,
}

impl Chromedriver {
    async fn start() -> Chromedriver {
        let port = free_port();
        let profiles = std::env::temp_dir().join(format!("accord-browser-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&profiles).expect("create the browsers' profile directory");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let mut driver = Chromedriver { child, url: format!("http://127.0.0.1:{port}"), profiles, browsers: 0 };
        driver.wait_until_ready().await;
        driver
    }

    /// Polls `/status` until chromedriver says it is ready (or exits, or takes too long).
    async fn wait_until_ready(&mut self) {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("chromedriver's status") {
                panic!("chromedriver exited before it was ready: {status}");
            }
            if let Ok(response) = http.get(format!("{}/status", self.url)).send().await {
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == json!(true) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on {} within {PATIENCE:?}", self.url);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new browser session with a fresh profile: its cookies are its own.
    async fn browser(&mut self, app: &App, shots: Shots) -> Browser {
        self.browsers += 1;
        let profile = self.profiles.join(format!("profile-{}", self.browsers));
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let client = ClientBuilder::rustls()
            .expect("a rustls connector")
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot open a browser session through chromedriver: {e}"));
        Browser { client, base: app.base.clone(), shots }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // Normally the sessions were closed and chromedriver ended its browsers; after a failure,
        // kill chromedriver and everything it started, by process id.
        let mut pids = descendants(self.child.id());
        pids.push(self.child.id());
        let _ = Command::new("kill").arg("-KILL").args(pids.iter().map(u32::to_string)).stderr(Stdio::null()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}

/// Every process descended from `root`, from the parent ids in `/proc`, gathered before any is
/// killed (a killed parent's children move to another parent).
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse::<u32>().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.remove(0);
    found
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

/// Where screenshots go, if anywhere.
#[derive(Clone)]
struct Shots(Option<PathBuf>);

impl Shots {
    /// `$ACCORD_SCREENSHOTS/<name>/`, when the variable is set.
    fn named(name: &str) -> Shots {
        Shots(std::env::var_os("ACCORD_SCREENSHOTS").map(|dir| {
            let dir = Path::new(&dir).join(name);
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
            dir
        }))
    }

    fn none() -> Shots {
        Shots(None)
    }
}

/// One browser session on the app under test.
struct Browser {
    client: Client,
    base: String,
    shots: Shots,
}

impl Browser {
    fn url(&self, path: &str) -> reqwest::Url {
        format!("{}{path}", self.base).parse().unwrap()
    }

    /// Opens a page of the app and waits for it to load (following redirects).
    async fn open(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    }

    /// The path (and query, if any) the browser shows now.
    async fn location(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn wait_for_path(&self, path: &str) {
        if let Err(e) = self.client.wait().at_most(PATIENCE).for_url(&self.url(path)).await {
            panic!("expected to arrive at {path}, but the browser is at {}: {e}", self.location().await);
        }
    }

    /// Waits until an element appears (a page loaded after a click or a submit).
    async fn wait_for(&self, css: &str) -> Element {
        match self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` appeared on {}: {e}", self.location().await),
        }
    }

    async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => panic!("no `{css}` on {}: {e}", self.location().await),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("cannot click `{css}`: {e}"));
    }

    /// The name in the header's account link: who this browser is signed in as.
    async fn signed_in_as(&self) -> String {
        self.text("header .who a[href='/account']").await
    }

    async fn has_session_cookie(&self) -> bool {
        self.client.get_all_cookies().await.unwrap().iter().any(|c| c.name() == "accord_session")
    }

    /// Fills and submits the sign-in form; does not wait for the answer.
    async fn submit_sign_in(&self, email: &str, password: &str) {
        self.open("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form[action='/login'] button[type='submit']").await;
    }

    async fn sign_in(&self, email: &str, password: &str) {
        self.submit_sign_in(email, password).await;
        self.wait_for_path("/").await;
    }

    async fn screenshot(&self, name: &str) {
        if let Some(dir) = &self.shots.0 {
            let png = self.client.screenshot().await.expect("a screenshot");
            let file = dir.join(format!("{name}.png"));
            std::fs::write(&file, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
        }
    }

    async fn close(self) {
        self.client.close().await.expect("close the browser session");
    }
}

/// The relationship most stories play in: the port authority and its contractor.
async fn harbour(app: &App) -> (accord_store::Organisation, accord_store::Organisation, accord_store::Relationship) {
    let port = app.organisation("Northshore Port Authority").await;
    let contractor = app.organisation("Keystone Construction").await;
    let relationship = app.relationship("Northshore Harbour Renewal", &[&port, &contractor]).await;
    (port, contractor, relationship)
}

/// The texts of a table's body cells, row by row.
async fn table_rows(browser: &Browser, css: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for row in browser.find(css).await.find_all(Locator::Css("tbody tr")).await.unwrap() {
        let mut cells = Vec::new();
        for cell in row.find_all(Locator::Css("td")).await.unwrap() {
            cells.push(cell.text().await.unwrap());
        }
        rows.push(cells);
    }
    rows
}

on_both_backends!(sign_in_invite_and_accept);

/// An SER signs in, invites a colleague as JMT member, and the colleague joins through the link
/// in a browser of their own; the SER then sees them among the members.
async fn sign_in_invite_and_accept(db: TestDb) {
    let backend = db.backend();
    let app = spawn_app(db).await;
    let port = app.organisation("Northshore Port Authority").await;
    let partner = app.organisation("Harbour Freight Cooperative").await;
    let relationship = app.relationship("Northshore Harbour Renewal", &[&port, &partner]).await;
    let (ser, _) = app.user("morgan.ellis@northshore.example", &port, false).await;
    app.member(&relationship, &ser, Role::Ser).await;
    let id = relationship.id;
    let invitee_email = "jamie.okafor@northshore.example";
    let invitee_name = "Jamie Okafor";

    let mut driver = Chromedriver::start().await;
    let shots = Shots::named(&format!("sign_in_invite_and_accept-{backend}"));
    let ser_browser = driver.browser(&app, shots.clone()).await;

    // Sign in: the form, then "My relationships".
    ser_browser.open("/login").await;
    assert_eq!(ser_browser.text("h1").await, "Sign in to Accord");
    ser_browser.screenshot("01-login").await;
    ser_browser.sign_in(&ser.email, TEST_PASSWORD).await;
    assert_eq!(ser_browser.text("main h1").await, "My relationships");
    assert_eq!(ser_browser.signed_in_as().await, ser.name);

    // The relationship's card leads to its page.
    let card = ser_browser.find(&format!("main a.card-link[href='/relationships/{id}']")).await;
    assert!(card.text().await.unwrap().contains("Northshore Harbour Renewal"), "the card names the relationship");
    card.click().await.unwrap();
    ser_browser.wait_for_path(&format!("/relationships/{id}")).await;
    assert!(ser_browser.text("main h1").await.starts_with("Northshore Harbour Renewal"));
    assert_eq!(ser_browser.text("p.you strong").await, "SER");
    ser_browser.screenshot("02-relationship").await;

    // The Members tab: invite a colleague of the same party as JMT member.
    ser_browser.client.find(Locator::LinkText("Members")).await.unwrap().click().await.unwrap();
    ser_browser.wait_for_path(&format!("/relationships/{id}/members")).await;
    ser_browser.fill("#invite-email", invitee_email).await;
    ser_browser.find("#invite-role").await.select_by_label("JMT member").await.unwrap();
    ser_browser.click("form[action$='/invitations'] button[type='submit']").await;
    let link = ser_browser.wait_for("#invitation-link").await.text().await.unwrap();
    assert!(link.starts_with(&format!("{}/invitations/", app.base)), "an invitation link on this site: {link}");
    let pending = table_rows(&ser_browser, "section[aria-labelledby='pending-h'] table").await;
    assert!(
        pending.iter().any(|row| row[0] == invitee_email && row[2] == "JMT member"),
        "the invitation is pending as JMT member: {pending:?}"
    );
    ser_browser.screenshot("03-members-invited").await;

    // The invitee, in a browser of their own, opens the link and creates their account.
    let invitee_browser = driver.browser(&app, shots.clone()).await;
    invitee_browser.client.goto(&link).await.unwrap();
    assert_eq!(invitee_browser.text("main h1").await, "Join Northshore Harbour Renewal");
    let offer = invitee_browser.text("main .auth-card > p:nth-of-type(2)").await;
    assert!(offer.contains(invitee_email) && offer.contains("JMT member"), "the invitation says who and what: {offer}");
    assert!(!invitee_browser.has_session_cookie().await, "the invitee's browser shares no session with the SER's");
    invitee_browser.fill("#name", invitee_name).await;
    invitee_browser.fill("#password", "harbour lights at dusk").await;
    invitee_browser.fill("#confirm", "harbour lights at dusk").await;
    invitee_browser.screenshot("04-invitation").await;
    invitee_browser.click("main form button[type='submit']").await;
    invitee_browser.wait_for_path(&format!("/relationships/{id}?saved=joined")).await;
    assert_eq!(invitee_browser.text("#saved").await, "Welcome: you are now a member of this relationship.");
    assert_eq!(invitee_browser.signed_in_as().await, invitee_name);
    assert!(invitee_browser.text("main h1").await.starts_with("Northshore Harbour Renewal"));
    assert_eq!(invitee_browser.text("p.you strong").await, "JMT member");

    // The SER's Members page now lists them, and the invitation is no longer pending.
    ser_browser.open(&format!("/relationships/{id}/members")).await;
    assert_eq!(ser_browser.signed_in_as().await, ser.name, "the SER's browser is still the SER's");
    let members = table_rows(&ser_browser, "#members").await;
    let row =
        members.iter().find(|row| row[0].starts_with(invitee_name)).unwrap_or_else(|| panic!("{invitee_name} is not listed: {members:?}"));
    assert!(row[0].contains(invitee_email), "{row:?}");
    assert_eq!(row[1], "Northshore Port Authority");
    assert_eq!(row[2], "JMT member");
    assert!(
        ser_browser.client.find(Locator::Css("section[aria-labelledby='pending-h']")).await.is_err(),
        "no invitation is pending any more"
    );
    ser_browser.screenshot("05-members-joined").await;

    invitee_browser.close().await;
    ser_browser.close().await;
}

#[tokio::test]
async fn wrong_password_shows_an_error_and_no_session() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let port = app.organisation("Northshore Port Authority").await;
    let (user, _) = app.user("morgan.ellis@northshore.example", &port, false).await;
    let mut driver = Chromedriver::start().await;
    let browser = driver.browser(&app, Shots::none()).await;

    browser.submit_sign_in(&user.email, "not the password at all").await;
    let error = browser.wait_for("#login-error").await.text().await.unwrap();
    assert!(error.contains("do not match"), "the error says why: {error:?}");
    assert_eq!(browser.location().await, "/login");
    assert_eq!(browser.find("#email").await.prop("value").await.unwrap().as_deref(), Some(user.email.as_str()), "the address is kept");
    assert!(browser.client.find(Locator::Css("header .who")).await.is_err(), "nobody is shown as signed in");
    assert!(!browser.has_session_cookie().await, "no session cookie after a failed sign-in");

    browser.open("/").await;
    assert_eq!(browser.location().await, "/login?next=/", "without a session, / sends the browser to sign in");
    assert!(!browser.has_session_cookie().await);

    browser.close().await;
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let port = app.organisation("Northshore Port Authority").await;
    let (user, _) = app.user("morgan.ellis@northshore.example", &port, false).await;
    let mut driver = Chromedriver::start().await;
    let browser = driver.browser(&app, Shots::none()).await;

    browser.sign_in(&user.email, TEST_PASSWORD).await;
    assert_eq!(browser.signed_in_as().await, user.name);
    assert!(browser.has_session_cookie().await, "signed in, the browser holds a session cookie");

    browser.click("header button.signout").await;
    browser.wait_for_path("/login").await;
    assert!(!browser.has_session_cookie().await, "signing out clears the session cookie");
    browser.open("/").await;
    assert_eq!(browser.location().await, "/login?next=/", "after signing out, / sends the browser to sign in");
    assert!(browser.client.find(Locator::Css("header .who")).await.is_err(), "nobody is shown as signed in");

    browser.close().await;
}

/// Remove asks first, without JavaScript: Cancel changes nothing, Confirm removes and the members
/// page says so.
#[tokio::test]
async fn removing_a_member_asks_first_and_says_it_was_done() {
    let app = spawn_app(TestDb::sqlite().await).await;
    let port = app.organisation("Northshore Port Authority").await;
    let partner = app.organisation("Harbour Freight Cooperative").await;
    let relationship = app.relationship("Northshore Harbour Renewal", &[&port, &partner]).await;
    let (ser, _) = app.user("morgan.ellis@northshore.example", &port, false).await;
    let (priya, _) = app.user("priya.raman@northshore.example", &port, false).await;
    app.member(&relationship, &ser, Role::Ser).await;
    app.member(&relationship, &priya, Role::Contributor).await;
    let mut driver = Chromedriver::start().await;
    let browser = driver.browser(&app, Shots::named("removing_a_member_asks_first")).await;
    browser.sign_in(&ser.email, TEST_PASSWORD).await;
    let members = format!("/relationships/{}/members", relationship.id);
    let remove = format!("form[action$='/members/{}/remove'] button", priya.id);

    browser.open(&members).await;
    browser.click(&remove).await;
    assert_eq!(browser.wait_for(".confirm h1").await.text().await.unwrap(), "Remove priya.raman?");
    browser.screenshot("01-confirm").await;
    assert!(app.store().membership(relationship.id, priya.id).await.unwrap().is_some(), "asking changes nothing");
    browser.click(".confirm a.button").await;
    browser.wait_for_path(&members).await;
    assert!(app.store().membership(relationship.id, priya.id).await.unwrap().is_some(), "Cancel changes nothing");

    browser.click(&remove).await;
    browser.wait_for(".confirm h1").await;
    browser.click(".confirm button[type='submit']").await;
    let notice = browser.wait_for("#saved[role='status']").await.text().await.unwrap();
    assert_eq!(notice, "Done: the member was removed from the relationship.");
    assert_eq!(browser.location().await, format!("{members}?saved=removed"));
    browser.screenshot("02-removed").await;
    assert!(app.store().membership(relationship.id, priya.id).await.unwrap().is_none(), "removed on Confirm");
    assert!(browser.client.find(Locator::Css(&remove)).await.is_err(), "no longer listed");

    browser.close().await;
}

on_both_backends!(a_red_value_turns_the_scorecard_red_and_raises_a_corrective_action);

async fn a_red_value_turns_the_scorecard_red_and_raises_a_corrective_action(db: TestDb) {
    use accord_store::MeasurementInput;
    let app = spawn_app(db).await;
    let (port, contractor, relationship) = harbour(&app).await;
    let (ser, _) = app.user("morgan.ellis@northshore.example", &port, false).await;
    app.member(&relationship, &ser, Role::Ser).await;
    let (dana, _) = app.user("dana.okafor@keystone.example", &contractor, false).await;
    app.member(&relationship, &dana, Role::Jmt).await;

    let mut driver = Chromedriver::start().await;
    let browser = driver.browser(&app, Shots::named("red-kpi")).await;
    browser.sign_in(&ser.email, TEST_PASSWORD).await;
    let scorecard = format!("/relationships/{}/scorecard", relationship.id);
    browser.open(&scorecard).await;
    browser.click("#define-kpi").await;
    browser.wait_for("#kpi-form").await;
    browser.fill("#k-name", "Berth availability").await;
    browser.fill("#k-definition", "Share of scheduled berth hours available").await;
    browser.fill("#k-unit", "%").await;
    browser.fill("#k-target", "98").await;
    browser.fill("#k-amber", "90").await;
    browser.fill("#k-red", "95").await;
    browser.find("#k-party").await.select_by_label("Northshore Port Authority").await.unwrap();
    browser.find("#k-reporter").await.select_by_label("morgan.ellis (Northshore Port Authority)").await.unwrap();
    browser.fill("#k-from", "2025-12").await;
    browser.click("#kpi-form button").await;
    let error = browser.wait_for(".panel .error-summary[role=alert]").await.text().await.unwrap();
    assert!(error.contains("Amber below/above: thresholds must be ordered"), "the thresholds out of order are named: {error}");
    assert!(browser.text("#k-amber-error").await.contains("thresholds must be ordered"), "beside the field too");
    assert_eq!(browser.find("#k-name").await.prop("value").await.unwrap().as_deref(), Some("Berth availability"), "nothing typed is lost");
    browser.screenshot("00-kpi-form-error").await;
    browser.fill("#k-amber", "95").await;
    browser.fill("#k-red", "90").await;
    browser.click("#kpi-form button").await;
    browser.wait_for("#record").await;
    let kpi = app.store().kpis(relationship.id).await.unwrap().remove(0);
    assert_eq!((kpi.name.as_str(), kpi.reporter_id, kpi.thresholds.red), ("Berth availability", Some(ser.id), 90.0));
    assert_eq!(browser.location().await, format!("/relationships/{}/kpis/{}?saved=kpi", relationship.id, kpi.id));
    assert_eq!(browser.text("#saved").await, "Saved: the KPI.", "the save says so");

    let green = MeasurementInput { kpi_id: kpi.id, period_start: "2026-01-01".parse().unwrap(), value: 98.5, comment: String::new() };
    app.store().record_measurement(relationship.id, green, ser.id, app.now()).await.unwrap();
    browser.open(&scorecard).await;
    let row = browser.find("#scorecard tbody tr").await;
    assert_eq!(row.attr("data-rag").await.unwrap().as_deref(), Some("green"));
    browser.screenshot("01-scorecard-green").await;

    browser.click("#scorecard tbody tr a").await;
    browser.wait_for("#record").await;
    browser.fill("#m-period", "2026-02").await;
    browser.fill("#m-value", "85").await;
    browser.fill("#m-comment", "Crane failure closed berth 3 for nine days").await;
    browser.click("#record button").await;
    browser.wait_for("#history tr[data-period='2026-02'][data-rag='red']").await;
    browser.screenshot("02-kpi-red").await;

    browser.open(&scorecard).await;
    let row = browser.find("#scorecard tbody tr").await;
    assert_eq!(row.attr("data-rag").await.unwrap().as_deref(), Some("red"), "the scorecard turned red");
    assert!(row.text().await.unwrap().contains("85%"));

    browser.click("#scorecard tbody tr a").await;
    browser.wait_for("#history tr[data-period='2026-02'] button").await;
    browser.click("#history tr[data-period='2026-02'] button").await;
    browser.wait_for("#actions").await;
    assert!(browser.location().await.starts_with(&format!("/relationships/{}/actions", relationship.id)));
    let rows = table_rows(&browser, "#actions").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0][0].contains("Corrective action: Berth availability red in 2026-02"), "{rows:?}");
    assert!(rows[0][0].contains("raised from Berth availability, 2026-02"), "{rows:?}");
    browser.screenshot("03-action-raised").await;
    let actions = app.store().actions(relationship.id, accord_store::ActionFilter::Open, None, 10).await.unwrap();
    let source = actions[0].source.as_ref().unwrap();
    assert_eq!(
        (source.kind.as_str(), source.id, source.period.map(|p| p.to_string())),
        ("kpi_period", kpi.id, Some("2026-02-01".to_owned()))
    );
    assert_eq!(actions[0].owner_id, Some(ser.id), "the KPI's reporter owns it");

    // The action's page: where it came from, and the form that hands it on. A date that is not
    // one is refused, and what was chosen and typed stays.
    let action_page = format!("/relationships/{}/actions/{}", relationship.id, actions[0].id);
    browser.click(&format!("#action-{} td a", actions[0].id)).await;
    browser.wait_for("#action-update").await;
    assert_eq!(browser.location().await, action_page);
    assert!(browser.text("#action-facts").await.contains("Berth availability, 2026-02"));
    browser.find("#u-owner").await.select_by_label("dana.okafor (Keystone Construction)").await.unwrap();
    browser.fill("#u-due", "next week").await;
    browser.click("#action-update button").await;
    let error = browser.wait_for("#u-due-error").await.text().await.unwrap();
    assert!(error.contains("Due: \"next week\" is not a date"), "{error}");
    assert_eq!(browser.find("#u-due").await.prop("value").await.unwrap().as_deref(), Some("next week"), "nothing typed is lost");
    assert_eq!(browser.find("#u-owner").await.prop("value").await.unwrap(), Some(dana.id.to_string()), "nor chosen");
    browser.fill("#u-due", "2026-03-20").await;
    browser.click("#action-update button").await;
    browser.wait_for("#u-due[value='2026-03-20']").await;
    assert_eq!(browser.location().await, format!("{action_page}?saved=action"));
    assert!(browser.text("#action-facts").await.contains("dana.okafor"));
    let handed_on = app.store().action(relationship.id, actions[0].id).await.unwrap();
    assert_eq!((handed_on.owner_id, handed_on.due_date.to_string()), (Some(dana.id), "2026-03-20".to_owned()));
    browser.screenshot("04-action-page").await;

    // Done from the log, in place: it leaves the open actions.
    browser.click(".crumbs a").await;
    browser.wait_for("#actions").await;
    browser.find("#actions tbody tr select").await.select_by_label("Done").await.unwrap();
    browser.click("#actions tbody tr button").await;
    browser.wait_for("#actions td.muted").await;
    let done = app.store().action(relationship.id, actions[0].id).await.unwrap();
    assert_eq!((done.status, done.owner_id), (accord_store::ActionStatus::Done, Some(dana.id)), "the owner stays");

    // Raised by hand, on a page of its own: a bad date is refused and nothing typed is lost.
    browser.click("#raise-action").await;
    browser.wait_for("#action-form").await;
    browser.fill("#a-title", "Weekly berth forecast to the contractor").await;
    browser.find("#a-owner").await.select_by_label("dana.okafor (Keystone Construction)").await.unwrap();
    browser.fill("#a-due", "soon").await;
    browser.click("#action-form button").await;
    assert!(browser.wait_for("#a-due-error").await.text().await.unwrap().contains("Due: \"soon\" is not a date"));
    assert_eq!(browser.find("#a-title").await.prop("value").await.unwrap().as_deref(), Some("Weekly berth forecast to the contractor"));
    assert_eq!(browser.find("#a-owner").await.prop("value").await.unwrap(), Some(dana.id.to_string()));
    browser.screenshot("05-raise-refused").await;
    browser.fill("#a-due", "2026-04-01").await;
    browser.click("#action-form button").await;
    browser.wait_for("#actions").await;
    let rows = table_rows(&browser, "#actions").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0][0].contains("Weekly berth forecast to the contractor") && rows[0][2].contains("dana.okafor"), "{rows:?}");
    browser.screenshot("06-action-log").await;
    browser.close().await;
}

on_both_backends!(a_refused_form_keeps_what_was_typed_and_says_why_beside_each_field);

/// The ladder's form filled wrongly in two rows: the page comes back with each message beside
/// its field, in the label's words and counted as the page counts, and with every row as typed;
/// fixed and sent again, the new version is saved and shown.
async fn a_refused_form_keeps_what_was_typed_and_says_why_beside_each_field(db: TestDb) {
    let backend = db.backend();
    let app = spawn_app(db).await;
    let (port, _, relationship) = harbour(&app).await;
    let (ser, _) = app.user("morgan.ellis@northshore.example", &port, false).await;
    app.member(&relationship, &ser, Role::Ser).await;
    let mut driver = Chromedriver::start().await;
    let browser = driver.browser(&app, Shots::named(&format!("refused_form_keeps_text-{backend}"))).await;
    browser.sign_in(&ser.email, TEST_PASSWORD).await;
    let ladder = format!("/relationships/{}/ladder", relationship.id);

    // The default ladder's four levels, then blank rows: the first level's name wiped, a fifth
    // level added with a time limit of 0.
    browser.open(&ladder).await;
    browser.click("#change-ladder summary").await;
    browser.fill("#level-0-name", "").await;
    browser.fill("#level-4-name", "Board review").await;
    browser.fill("#level-4-amount", "0").await;
    browser.click("#level-4 input[value='ser']").await;
    browser.screenshot("01-filled").await;
    browser.click("#ladder-form button").await;

    let first = browser.wait_for("#level-0-name-error").await.text().await.unwrap();
    // (Screen readers hear "Error: " before each message; it is visually hidden.)
    assert!(first.ends_with("Level 1's name: must not be empty"), "{first}");
    let fifth = browser.text("#level-4-amount-error").await;
    assert!(fifth.ends_with("Level 5's time limit: must be between 1 and 10000"), "{fifth}");
    let summary = browser.text(".error-summary").await;
    assert!(summary.contains("Level 1's name") && summary.contains("Level 5's time limit"), "{summary}");
    assert_eq!(browser.find("#level-4-name").await.attr("value").await.unwrap().as_deref(), Some("Board review"));
    assert!(browser.find("#level-4 input[value='ser']").await.is_selected().await.unwrap(), "the box ticked stays ticked");
    assert_eq!(browser.find("#level-0-name").await.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));
    browser.screenshot("02-refused").await;
    assert_eq!(app.store().ladder(relationship.id).await.unwrap().version, 0, "nothing saved");

    // The summary's link leads to the field; fixed, the form is saved as a new version.
    browser.click(".error-summary a[href='#level-0-name']").await;
    browser.fill("#level-0-name", "Site team").await;
    browser.fill("#level-4-amount", "3").await;
    browser.click("#ladder-form button").await;
    let notice = browser.wait_for("#saved[role='status']").await.text().await.unwrap();
    assert_eq!(notice, "Saved: the escalation ladder.");
    let saved = app.store().ladder(relationship.id).await.unwrap();
    assert_eq!(saved.version, 1);
    let names: Vec<&str> = saved.levels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names.first().copied(), Some("Site team"));
    assert_eq!(names.last().copied(), Some("Board review"));
    assert!(browser.text("ol.ladder").await.contains("Board review"), "the new version is shown");
    browser.screenshot("03-saved").await;

    browser.close().await;
}

on_both_backends!(raise_an_issue_propose_a_resolution_and_accept_it_as_the_other_party);

async fn raise_an_issue_propose_a_resolution_and_accept_it_as_the_other_party(db: TestDb) {
    let app = spawn_app(db).await;
    let (port, contractor, relationship) = harbour(&app).await;
    let (jmt_port, _) = app.user("priya.raman@northshore.example", &port, false).await;
    let (ser_contractor, _) = app.user("sofia.marquez@keystone.example", &contractor, false).await;
    app.member(&relationship, &jmt_port, Role::Jmt).await;
    app.member(&relationship, &ser_contractor, Role::Ser).await;

    let mut driver = Chromedriver::start().await;
    let port_browser = driver.browser(&app, Shots::named("issue")).await;
    port_browser.sign_in(&jmt_port.email, TEST_PASSWORD).await;
    port_browser.open(&format!("/relationships/{}/issues", relationship.id)).await;
    port_browser.click("#raise").await;
    port_browser.wait_for("#raise-form").await;
    port_browser.fill("#i-title", "Contractor vehicles parking on the ferry queue lanes").await;
    port_browser.fill("#i-description", "Three times this week; ferry loading was delayed.").await;
    port_browser.screenshot("00-raise").await;
    port_browser.click("#raise-form button").await;
    port_browser.wait_for("#ladder li[aria-current='step']").await;
    assert!(port_browser.text("h1").await.contains("#1 Contractor vehicles parking"));
    assert!(port_browser.text("#ladder li[aria-current='step']").await.contains("Working level"));
    assert!(port_browser.text("#next-move").await.contains("Moves to Joint Management Team"));
    let issue_path = port_browser.location().await.replace("?saved=issue", "");
    assert_eq!(port_browser.text("#saved").await, "Saved: the issue is recorded.");
    port_browser.fill("#p-body", "Keystone marks the queue lanes with cones and briefs drivers").await;
    port_browser.click("#propose").await;
    port_browser.wait_for("#proposal").await;
    assert_eq!(port_browser.text("#issue-status").await.to_lowercase(), "resolution proposed");
    assert!(port_browser.client.find(Locator::Css("#accept")).await.is_err(), "the proposing party does not answer its own proposal");
    port_browser.screenshot("01-proposed").await;

    let contractor_browser = driver.browser(&app, Shots::named("issue")).await;
    contractor_browser.sign_in(&ser_contractor.email, TEST_PASSWORD).await;
    contractor_browser.open(&issue_path).await;
    assert!(contractor_browser.text("#proposal").await.contains("cones"));
    contractor_browser.click("#accept").await;
    contractor_browser.wait_for("#timeline li.resolved").await;
    assert_eq!(contractor_browser.text("#issue-status").await.to_lowercase(), "resolved");
    contractor_browser.screenshot("02-resolved").await;

    port_browser.open(&format!("/relationships/{}/issues?status=closed", relationship.id)).await;
    let rows = table_rows(&port_browser, "#issues").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0][1].contains("Contractor vehicles parking") && rows[0][4] == "Resolved", "{rows:?}");
    assert!(port_browser.text("#first-level-share").await.contains("100%"));

    // The audit trail, reached from the relationship's menu, shows the story newest first.
    port_browser.click("nav.subnav a[href$='/audit']").await;
    port_browser.wait_for("#audit").await;
    let events = table_rows(&port_browser, "#audit").await;
    assert!(
        events[0][2].starts_with("Accord recorded issue #1 'Contractor vehicles parking on the ferry queue lanes' resolved"),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e[2].starts_with("priya.raman raised issue #1 'Contractor vehicles parking")), "{events:?}");
    let head = app.store().chain_head(relationship.id).await.unwrap().unwrap();
    assert_eq!(port_browser.text("#chain-head").await, head.to_string());
    port_browser.screenshot("03-audit").await;
    port_browser.close().await;
    contractor_browser.close().await;
}

on_both_backends!(a_form_sent_again_after_back_shows_the_first_issue);

/// Raise an issue, go Back to the form and send it again: the page shown is the first issue (with
/// its notice) and the log holds one issue.
async fn a_form_sent_again_after_back_shows_the_first_issue(db: TestDb) {
    let backend = db.backend();
    let app = spawn_app(db).await;
    let (port, _, relationship) = harbour(&app).await;
    let (priya, _) = app.user("priya.raman@northshore.example", &port, false).await;
    app.member(&relationship, &priya, Role::Jmt).await;

    let mut driver = Chromedriver::start().await;
    let browser = driver.browser(&app, Shots::named(&format!("resubmit-{backend}"))).await;
    browser.sign_in(&priya.email, TEST_PASSWORD).await;
    browser.open(&format!("/relationships/{}/issues/new", relationship.id)).await;
    browser.fill("#i-title", "Contractor vehicles parking on the ferry queue lanes").await;
    let key = browser.find("#raise-form input[name='submission']").await.attr("value").await.unwrap();
    browser.click("#raise-form button").await;
    browser.wait_for("#ladder li[aria-current='step']").await;
    let first = browser.location().await;
    assert!(first.ends_with("?saved=issue"), "{first}");

    // Back to the form as it was sent, and send it again.
    browser.client.back().await.unwrap();
    browser.wait_for("#raise-form").await;
    let again = browser.find("#raise-form input[name='submission']").await.attr("value").await.unwrap();
    assert_eq!(again, key, "Back shows the form as it was rendered");
    browser.screenshot("01-back-at-the-form").await;
    browser.click("#raise-form button").await;
    browser.wait_for("#ladder li[aria-current='step']").await;
    assert_eq!(browser.location().await, first, "the first issue is shown again");
    assert!(browser.text("h1").await.contains("#1 Contractor vehicles parking"));
    assert_eq!(browser.text("#saved").await, "Saved: the issue is recorded.");
    browser.screenshot("02-the-first-issue").await;

    browser.open(&format!("/relationships/{}/issues", relationship.id)).await;
    let rows = table_rows(&browser, "#issues").await;
    assert_eq!(rows.len(), 1, "one issue in the log: {rows:?}");
    browser.close().await;
}

on_both_backends!(first_run_on_the_web);

/// A new install as its first person meets it, on a phone: the setup link `accord serve` prints
/// makes the site administrator (a refused form keeps what was typed), who founds a relationship
/// with two new organisations and their SERs; an invited SER joins through their link, and the
/// relationship's page shows both SERs. Every page fits 390 px.
async fn first_run_on_the_web(db: TestDb) {
    let backend = db.backend();
    let app = spawn_app(db).await;
    let link = accord_web::people::open_setup(app.store(), &app.base, app.now()).await.unwrap().expect("an empty site gets a setup link");
    let mut driver = Chromedriver::start().await;
    let shots = Shots::named(&format!("first_run_on_the_web-{backend}"));
    let admin = driver.browser(&app, shots.clone()).await;
    admin.client.set_window_size(PHONE_WIDTH, 900).await.expect("a phone-sized window");

    // The setup page: a mistyped confirmation is refused beside its field, the rest kept.
    admin.client.goto(&link).await.unwrap();
    assert_eq!(admin.text("main h1").await, "Create the site administrator");
    admin.assert_fits_phone("/setup/{secret}").await;
    admin.fill("#name", "Priya Raman").await;
    admin.fill("#email", "priya.raman@host.example").await;
    admin.fill("#password", "a neutral host's password").await;
    admin.fill("#confirm", "a neutral host's passwort").await;
    admin.click("main form button[type='submit']").await;
    let said = admin.wait_for("#confirm-error").await.text().await.unwrap();
    assert!(said.ends_with("The same password again: is not the same as the password"), "{said}");
    assert!(admin.text(".error-summary").await.contains("The same password again"), "the summary names it too");
    assert_eq!(admin.find("#name").await.prop("value").await.unwrap().as_deref(), Some("Priya Raman"));
    assert_eq!(admin.find("#email").await.prop("value").await.unwrap().as_deref(), Some("priya.raman@host.example"));
    admin.assert_fits_phone("the refused setup page").await;
    admin.screenshot("01-setup-refused").await;
    admin.fill("#password", "a neutral host's password").await;
    admin.fill("#confirm", "a neutral host's password").await;
    admin.click("main form button[type='submit']").await;
    admin.wait_for_path("/?saved=set-up").await;
    assert!(admin.text("#saved").await.contains("you are the site administrator"));
    assert_eq!(admin.signed_in_as().await, "Priya Raman");
    assert!(admin.text("main .empty").await.contains("No relationship yet"), "a fresh site says what to do next");
    admin.assert_fits_phone("/").await;
    admin.screenshot("02-home").await;

    // A new relationship: two new organisations, each with its first SER by e-mail.
    admin.click("main .page-head a[href='/relationships/new']").await;
    admin.wait_for_path("/relationships/new").await;
    admin.assert_fits_phone("/relationships/new").await;
    admin.fill("#r-name", "Harbour Renewal").await;
    admin.fill("#r-purpose", "Renew the northern quays together").await;
    admin.fill("#r-time_zone", "Europe/London").await;
    admin.fill("#new_0", "Northshore Port Authority").await;
    admin.fill("#ser_0", "morgan.ellis@northshore.example").await;
    admin.fill("#new_1", "Keystone Construction").await;
    admin.fill("#ser_1", "sam.reyes@keystone.example").await;
    admin.screenshot("03-new-relationship").await;
    admin.click("#new-relationship button.primary").await;
    admin.wait_for(".invitation-links").await;
    assert!(admin.text("#saved").await.starts_with("Saved: the relationship was created"));
    let mut links = Vec::new();
    for item in admin.client.find_all(Locator::Css(".invitation-links li")).await.unwrap() {
        let text = item.text().await.unwrap();
        let (email, link) = text.split_once('\n').unwrap_or_else(|| panic!("an address and its link: {text}"));
        links.push((email.to_owned(), link.to_owned()));
    }
    let emails: Vec<&str> = links.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(emails, ["morgan.ellis@northshore.example", "sam.reyes@keystone.example"]);
    admin.assert_fits_phone("the founded relationship's invitation links").await;
    admin.screenshot("04-founded").await;

    // Morgan joins as SER through their link, in a browser of their own.
    let morgan = driver.browser(&app, shots.clone()).await;
    morgan.client.goto(&links[0].1).await.unwrap();
    morgan.fill("#name", "Morgan Ellis").await;
    morgan.fill("#password", "harbour lights at dusk").await;
    morgan.fill("#confirm", "harbour lights at dusk").await;
    morgan.click("main form button[type='submit']").await;
    morgan.wait_for("#saved").await;
    assert_eq!(morgan.text("p.you strong").await, "SER");
    morgan.close().await;

    // The relationship's page: both parties, Morgan as SER, Sam invited.
    admin.click("main a.button.primary").await;
    let relationship = app.store().find_relationship("Harbour Renewal").await.unwrap();
    admin.wait_for_path(&format!("/relationships/{}", relationship.id)).await;
    let mut cards = Vec::new();
    for card in admin.client.find_all(Locator::Css("main .cards article.card")).await.unwrap() {
        cards.push(card.text().await.unwrap());
    }
    assert_eq!(cards.len(), 2, "{cards:?}");
    assert!(cards[0].starts_with("Northshore Port Authority") && cards[0].contains("SER\nMorgan Ellis"), "{cards:?}");
    assert!(
        cards[1].starts_with("Keystone Construction") && cards[1].to_lowercase().contains("sam.reyes@keystone.example invited"),
        "{cards:?}"
    );
    admin.assert_fits_phone("/relationships/{relationship_id}").await;
    admin.screenshot("05-relationship").await;
    admin.close().await;
}
