//! Every page route, opened as people reach it (by links, as the SER and as the site
//! administrator): it fits a phone, and axe-core finds no WCAG 2.1 A or AA violation at 390 or
//! 1400 px.

use super::*;

/// The width of a phone (an iPhone 12 to 15 held upright), in CSS pixels.
pub(super) const PHONE_WIDTH: u32 = 390;
/// A desktop screen's width.
const DESKTOP_WIDTH: u32 = 1400;

/// Page routes no link leads to: downloads (nothing to lay out) and links with a secret token sent
/// by email (the test opens an invitation's from the link the members page gives; not a reset's).
const NOT_PAGES: [&str; 8] = [
    "/static/style.css",
    // Live only on a site without an administrator: `first_run_on_the_web` opens it at 390 px.
    "/setup/{secret}",
    "/relationships/{relationship_id}/{file}",
    "/relationships/{relationship_id}/scorecard.pdf",
    "/relationships/{relationship_id}/kpis/{kpi_id}/{file}",
    "/relationships/{relationship_id}/audit/export.jsonl",
    "/reset/{token}",
    "/invitations/{token}",
];

/// Whether `path` is an address of `route`: the same literal segments, and an id where the
/// route has a `{…}` parameter (so `/actions/new` is not taken for `/actions/{action_id}`).
fn is_address_of(route: &str, path: &str) -> bool {
    let (route, path): (Vec<_>, Vec<_>) = (route.split('/').collect(), path.split('/').collect());
    route.len() == path.len() && route.iter().zip(&path).all(|(r, p)| if r.starts_with('{') { p.parse::<Uuid>().is_ok() } else { r == p })
}

/// axe-core, pinned in tests/axe/package.json and installed there by `./scripts/test`.
const AXE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/axe/node_modules/axe-core/axe.min.js");

/// The WCAG 2.1 A and AA rules, the level we promise.
const AXE_RUN: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
  .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)))
  .catch(e => done([`axe failed: ${e}`]));
"#;

/// What a sweep of every page route found: the address opened for each route, and each axe
/// violation with the route, the width and the elements it was found on.
struct Sweep {
    opened: std::collections::BTreeMap<&'static str, String>,
    axe: String,
    violations: Vec<String>,
}

impl Sweep {
    fn new() -> Sweep {
        let axe = std::fs::read_to_string(AXE)
            .unwrap_or_else(|e| panic!("{AXE}: {e}; `npm ci --prefix tests/axe` installs it (./scripts/test does)"));
        Sweep { opened: Default::default(), axe, violations: Vec::new() }
    }
}

impl Browser {
    /// Asserts the page open now fits a phone's width: the document does not scroll sideways.
    pub(super) async fn assert_fits_phone(&self, route: &str) {
        let widths = self
            .client
            .execute("return [window.innerWidth, document.documentElement.scrollWidth]", vec![])
            .await
            .expect("the page's widths");
        let (inner, scroll) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
        assert_eq!(inner, u64::from(PHONE_WIDTH), "the window is a phone's width on {route}");
        let page = self.location().await;
        assert!(scroll <= inner, "{route} ({page}) is {scroll} px wide on a {inner} px screen");
    }

    /// Checks the page open now at a phone's width: it fits, and axe finds nothing at this
    /// width or at a desktop's (the window is a phone's again afterwards).
    async fn check_page(&self, route: &str, sweep: &mut Sweep) {
        self.assert_fits_phone(route).await;
        for width in [PHONE_WIDTH, DESKTOP_WIDTH] {
            self.client.set_window_size(width, 900).await.expect("resize the window");
            self.client.execute(&sweep.axe, vec![]).await.expect("inject axe-core");
            let found = self.client.execute_async(AXE_RUN, vec![]).await.unwrap_or_else(|e| panic!("axe on {route}: {e}"));
            let page = self.location().await;
            sweep
                .violations
                .extend(found.as_array().unwrap().iter().map(|v| format!("{route} ({page}) at {width} px: {}", v.as_str().unwrap())));
        }
        self.client.set_window_size(PHONE_WIDTH, 900).await.expect("a phone-sized window");
    }

    /// Every link on the page open now that stays on this site, without query or fragment.
    async fn site_links(&self) -> Vec<String> {
        let hrefs = self
            .client
            .execute("return [...document.querySelectorAll('a[href^=\"/\"]')].map(a => a.getAttribute('href'))", vec![])
            .await
            .expect("the page's links");
        hrefs.as_array().unwrap().iter().filter_map(|h| h.as_str()?.split(['?', '#']).next().map(str::to_owned)).collect()
    }

    /// Follows links from `/`, opens the first address found of each route in `routes` not yet
    /// opened, and checks it; returns when no new link leads anywhere.
    async fn open_every_route(&self, routes: &[&'static str], sweep: &mut Sweep) {
        let mut queue = std::collections::VecDeque::from(["/".to_owned()]);
        let mut seen = std::collections::HashSet::new();
        while let Some(path) = queue.pop_front() {
            let Some(route) = routes.iter().find(|r| is_address_of(r, &path)) else { continue };
            // `/` is read again by a second crawl (another account sees other links from it).
            if sweep.opened.contains_key(route) && path != "/" {
                continue;
            }
            sweep.opened.entry(route).or_insert_with(|| path.clone());
            self.open(&path).await;
            self.screenshot(&format!("{:02}", sweep.opened.len())).await;
            self.check_page(route, sweep).await;
            queue.extend(self.site_links().await.into_iter().filter(|href| seen.insert(href.clone())));
        }
    }
}

on_both_backends!(every_page_fits_a_phone_and_passes_axe);

/// On the demo's relationship (as `serve --demo` makes it), every page route a member or the
/// site administrator can open is opened at 390 px, and none is wider than the screen; axe-core
/// finds no WCAG 2.1 A or AA violation on any of them, at 390 px or at 1400 px.
async fn every_page_fits_a_phone_and_passes_axe(db: TestDb) {
    let backend = db.backend();
    let app = spawn_app(db).await;
    let demo = accord::demo::seed_if_empty(app.store(), app.clock.as_ref()).await.unwrap().expect("an empty database gets the demo");
    let routes: Vec<&str> = accord_web::pages::routes()
        .into_iter()
        .filter(|(method, path)| *method == "get" && !NOT_PAGES.contains(path))
        .map(|(_, path)| path)
        .collect();
    assert!(routes.len() > 15, "the page routes: {routes:?}");

    let mut driver = Chromedriver::start().await;
    let browser = driver.browser(&app, Shots::named(&format!("every_page_fits_a_phone-{backend}"))).await;
    browser.client.set_window_size(PHONE_WIDTH, 900).await.expect("a phone-sized window");
    let mut sweep = Sweep::new();
    browser.open("/login").await;
    browser.check_page("/login", &mut sweep).await;
    sweep.opened.insert("/login", "/login".to_owned());

    browser.sign_in(&demo.email, &demo.password).await;
    browser.open_every_route(&routes, &mut sweep).await;
    // An invitation, for its page later, made as an SER makes one.
    browser.open(&sweep.opened["/relationships/{relationship_id}/members"]).await;
    browser.fill("#invite-email", "jamie.okafor@northshore.example").await;
    browser.click("form[action$='/invitations'] button[type='submit']").await;
    let invitation = browser.wait_for("#invitation-link").await.text().await.unwrap();
    browser.check_page("the members page with a new invitation's link", &mut sweep).await;
    // A confirmation page, asked before the SER role is handed over (Cancel changes nothing).
    browser.click("form[action$='/succession'] button").await;
    browser.wait_for(".confirm h1").await;
    browser.check_page("the confirmation before handing over the SER role", &mut sweep).await;
    browser.click(".confirm a.button").await;
    // A confirmation page that asks why: retracting a value recorded by mistake (Cancel again).
    browser.open(&sweep.opened["/relationships/{relationship_id}/kpis/{kpi_id}"]).await;
    browser.click("form[action$='/retract'] button").await;
    browser.wait_for(".confirm textarea[name='reason']").await;
    browser.check_page("the confirmation before retracting a value", &mut sweep).await;
    browser.click(".confirm a.button").await;
    // The administration pages, as the demo's site administrator (who belongs to no relationship).
    browser.click("header button.signout").await;
    browser.wait_for_path("/login").await;
    browser.sign_in("admin@accord.example", &demo.password).await;
    browser.open_every_route(&routes, &mut sweep).await;
    browser.open(&format!("/relationships/{}", Uuid::now_v7())).await;
    browser.check_page("a page that is not there", &mut sweep).await;
    // Signed out: the invitation's page.
    browser.open("/").await;
    browser.click("header button.signout").await;
    browser.wait_for_path("/login").await;
    browser.client.goto(&invitation).await.unwrap();
    browser.wait_for("main form").await;
    browser.check_page("/invitations/{token}", &mut sweep).await;

    let missed: Vec<_> = routes.iter().filter(|r| !sweep.opened.contains_key(*r)).collect();
    assert!(missed.is_empty(), "no link led to {missed:?}; opened {:#?}", sweep.opened);
    assert!(sweep.violations.is_empty(), "axe-core found {} violations:\n{}", sweep.violations.len(), sweep.violations.join("\n"));
    browser.close().await;
}
