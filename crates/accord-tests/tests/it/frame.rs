//! The frame around every page, through the real server: big changes ask first, saves say so,
//! error pages keep the signed-in header, menus offer only what the viewer may open.

use crate::app::{TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use crate::people::Browser;
use accord_domain::membership::Role;
use reqwest::StatusCode;

on_both_backends!(
    a_removal_happens_only_after_confirm,
    a_hand_over_and_a_disabling_ask_first,
    error_pages_keep_the_signed_in_header,
    a_site_admin_who_is_not_a_member_is_offered_only_the_frame,
);

/// The notice a page shows after a save (`role="status"`), if any.
fn notice(body: &str) -> Option<&str> {
    let at = body.find(r#"role="status" id="saved">"#)?;
    let rest = &body[at..];
    Some(&rest[rest.find('>')? + 1..rest.find("</p>")?])
}

async fn a_removal_happens_only_after_confirm(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore Port Authority").await, app.organisation("Keystone").await);
    let (ser, _) = app.user("alex.morgan@northshore.example", &a, false).await;
    let (priya, _) = app.user("priya.raman@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    app.member(&r, &priya, Role::Contributor).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("alex.morgan@northshore.example", TEST_PASSWORD).await;
    let remove = format!("/relationships/{}/members/{}/remove", r.id, priya.id);

    // The Remove button's post only asks.
    let asked = browser.post(&remove, &[]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("Remove priya.raman?"), "{}", asked.body);
    assert!(asked.body.contains("priya.raman (Northshore Port Authority, Contributor) leaves Harbour"), "{}", asked.body);
    assert!(asked.body.contains(&format!(r#"action="{remove}""#)) && asked.body.contains(r#"name="confirm" value="yes""#));
    assert!(asked.body.contains(&format!(r#"href="/relationships/{}/members">Cancel</a>"#, r.id)), "Cancel leads back");
    assert!(app.store().membership(r.id, priya.id).await.unwrap().is_some(), "nothing changes before Confirm");

    // Confirm removes, and the members page says so.
    let done = browser.post(&remove, &[("confirm", "yes")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location, format!("/relationships/{}/members?saved=removed", r.id));
    assert!(app.store().membership(r.id, priya.id).await.unwrap().is_none(), "removed on Confirm");
    let page = browser.get(&done.location).await;
    assert_eq!(notice(&page.body), Some("Done: the member was removed from the relationship."), "{}", page.body);
    assert_eq!(notice(&browser.get(&format!("/relationships/{}/members", r.id)).await.body), None, "no save, no notice");

    // The notice is a code's fixed words: nothing from the address is echoed.
    let hostile = browser.get(&format!("/relationships/{}/members?saved=%3Cb%3Egotcha", r.id)).await;
    assert_eq!(hostile.status, StatusCode::OK);
    assert!(notice(&hostile.body).is_none() && !hostile.body.contains("gotcha"));

    // Another save: a changed role says it was saved too.
    let (sam, _) = app.user("sam.lee@northshore.example", &a, false).await;
    app.member(&r, &sam, Role::Contributor).await;
    let role = browser.post(&format!("/relationships/{}/members/{}/role", r.id, sam.id), &[("role", "observer")]).await;
    assert_eq!(notice(&browser.get(&role.location).await.body), Some("Saved: the member&#39;s new role."));

    // Leaving asks too, in the leaver's words.
    let mut sam_browser = Browser::new(&app);
    sam_browser.sign_in("sam.lee@northshore.example", TEST_PASSWORD).await;
    let leave = format!("/relationships/{}/members/{}/remove", r.id, sam.id);
    let asked = sam_browser.post(&leave, &[]).await;
    assert!(asked.body.contains("Leave Harbour?") && asked.body.contains("You leave Harbour"), "{}", asked.body);
    assert!(app.store().membership(r.id, sam.id).await.unwrap().is_some());
    let left = sam_browser.post(&leave, &[("confirm", "yes")]).await;
    assert_eq!(left.location, "/?saved=left");
    assert!(app.store().membership(r.id, sam.id).await.unwrap().is_none());
}

async fn a_hand_over_and_a_disabling_ask_first(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore Port Authority").await, app.organisation("Keystone").await);
    let (ser, _) = app.user("alex.morgan@northshore.example", &a, false).await;
    let (priya, _) = app.user("priya.raman@northshore.example", &a, false).await;
    let (admin, _) = app.user("root@northshore.example", &a, true).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    app.member(&r, &priya, Role::Jmt).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("alex.morgan@northshore.example", TEST_PASSWORD).await;
    let succession = format!("/relationships/{}/members/{}/succession", r.id, priya.id);
    let asked = browser.post(&succession, &[]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("priya.raman becomes Northshore Port Authority&#39;s SER in Harbour."), "{}", asked.body);
    assert!(asked.body.contains("alex.morgan stays on as a JMT member."), "{}", asked.body);
    assert_eq!(app.store().membership(r.id, priya.id).await.unwrap().unwrap().role, Role::Jmt, "nothing changes before Confirm");
    let done = browser.post(&succession, &[("confirm", "yes")]).await;
    assert_eq!(done.location, format!("/relationships/{}/members?saved=succession", r.id));
    assert_eq!(app.store().membership(r.id, priya.id).await.unwrap().unwrap().role, Role::Ser);
    assert_eq!(app.store().membership(r.id, ser.id).await.unwrap().unwrap().role, Role::Jmt);

    // A site administrator disabling an account.
    let mut root = Browser::new(&app);
    root.sign_in("root@northshore.example", TEST_PASSWORD).await;
    let disable = format!("/admin/users/{}/disable", ser.id);
    let asked = root.post(&disable, &[]).await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("Disable alex.morgan&#39;s account?") && asked.body.contains("can no longer sign in"), "{}", asked.body);
    assert!(!app.store().user(ser.id).await.unwrap().disabled, "nothing changes before Confirm");
    assert!(browser.get("/").await.body.contains("Sign out"), "still signed in");
    let done = root.post(&disable, &[("confirm", "yes")]).await;
    assert_eq!(done.location, "/admin/users?saved=disabled");
    assert!(app.store().user(ser.id).await.unwrap().disabled);
    assert!(notice(&root.get(&done.location).await.body).is_some_and(|n| n.contains("disabled")));
    // Not their own, even at the asking step.
    assert_eq!(root.post(&format!("/admin/users/{}/disable", admin.id), &[]).await.status, StatusCode::FORBIDDEN);
}

async fn error_pages_keep_the_signed_in_header(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (ser, _) = app.user("alex.morgan@northshore.example", &a, false).await;
    let (observer, _) = app.user("olly.observer@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    app.member(&r, &observer, Role::Observer).await;
    let signed_in = |body: &str, name: &str| body.contains(name) && body.contains(r#"href="/inbox""#) && body.contains("Sign out");

    let mut anonymous = Browser::new(&app);
    let missing = anonymous.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(!missing.body.contains("Sign out"), "nobody signed in, no header");

    let mut browser = Browser::new(&app);
    browser.sign_in("olly.observer@northshore.example", TEST_PASSWORD).await;
    for path in
        ["/no/such/page".to_owned(), format!("/relationships/{}", uuid::Uuid::now_v7()), format!("/relationships/{}/kpis/nonsense", r.id)]
    {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(signed_in(&page.body, "olly.observer"), "{path}: {}", page.body);
        assert!(page.body.contains("Error 404"), "{path}");
    }
    // A 403: an observer may not invite.
    let refused =
        browser.post(&format!("/relationships/{}/invitations", r.id), &[("email", "x@northshore.example"), ("role", "observer")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(signed_in(&refused.body, "olly.observer") && refused.body.contains("Only an SER or a JMT member"), "{}", refused.body);
    // A CSRF refusal is an error page too, still in the frame.
    let stale = browser.post(&format!("/relationships/{}/members/{}/remove", r.id, observer.id), &[("csrf", "stale")]).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert!(signed_in(&stale.body, "olly.observer"), "{}", stale.body);
}

async fn a_site_admin_who_is_not_a_member_is_offered_only_the_frame(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (ser, _) = app.user("alex.morgan@northshore.example", &a, false).await;
    app.user("root@northshore.example", &a, true).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    let menu = |body: &str| {
        let menu = &body[body.find(r#"<nav class="subnav""#).expect("a relationship menu")..];
        let menu = &menu[..menu.find("</nav>").unwrap()];
        menu.split("href=\"").skip(1).map(|l| l[..l.find('"').unwrap()].to_owned()).collect::<Vec<_>>()
    };
    let base = format!("/relationships/{}", r.id);

    let mut member = Browser::new(&app);
    member.sign_in("alex.morgan@northshore.example", TEST_PASSWORD).await;
    let links = menu(&member.get(&base).await.body);
    assert!(links.contains(&format!("{base}/scorecard")) && links.contains(&format!("{base}/audit")), "{links:?}");

    let mut admin = Browser::new(&app);
    admin.sign_in("root@northshore.example", TEST_PASSWORD).await;
    for page in [base.clone(), format!("{base}/members")] {
        let links = menu(&admin.get(&page).await.body);
        assert_eq!(links, vec![base.clone(), base.clone(), format!("{base}/members")], "the name, Overview and Members only");
        for link in links {
            assert_eq!(admin.get(&link).await.status, StatusCode::OK, "{link} opens");
        }
    }
    // What the menu no longer offers is indeed closed to them.
    assert_eq!(admin.get(&format!("{base}/scorecard")).await.status, StatusCode::NOT_FOUND);
}
