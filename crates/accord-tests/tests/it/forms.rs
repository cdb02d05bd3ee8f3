//! Refused forms through the real server, on both databases: every message beside its field in
//! its label's words, all at once, and what was typed kept, for a 422, a 409 and an expired
//! form; a cross-site post echoes nothing; the ladder and holidays saved from their rows.

use crate::app::{TEST_PASSWORD, spawn_app};
use crate::backends::{TestDb, on_both_backends};
use crate::people::Browser;
use accord_domain::membership::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_refused_form_says_every_problem_beside_its_field_and_keeps_the_text,
    the_ladder_and_holidays_are_saved_from_their_rows,
    a_stale_save_comes_back_with_what_was_typed,
    an_expired_form_comes_back_to_send_again_and_a_cross_site_one_echoes_nothing,
);

/// A page's text as a person reads it (the escapes askama writes undone).
pub fn text(html: &str) -> String {
    html.replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&")
}

/// The message beside the input `id`: the element its `aria-describedby` names.
fn beside(html: &str, id: &str) -> String {
    let input = html.split(&format!("id=\"{id}\"")).nth(1).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let tag = input.split('>').next().unwrap();
    assert!(tag.contains("aria-invalid=\"true\"") && tag.contains(&format!("aria-describedby=\"{id}-error\"")), "#{id}: {tag}");
    let message = html.split(&format!("id=\"{id}-error\">")).nth(1).unwrap_or_else(|| panic!("no #{id}-error"));
    text(message.split("</p>").next().unwrap()).replace("<span class=\"visually-hidden\">Error: </span>", "")
}

struct Setup {
    app: crate::app::App,
    ser: uuid::Uuid,
    base: String,
    token: String,
    browser: Browser,
    party: String,
}

async fn setup(db: TestDb) -> Setup {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (ser, token) = app.user("ser@northshore.example", &a, false).await;
    let r = app.relationship("Harbour", &[&a, &b]).await;
    app.member(&r, &ser, Role::Ser).await;
    let party = app.store().parties(r.id).await.unwrap().into_iter().find(|p| p.organisation_id == a.id).unwrap().id.to_string();
    let mut browser = Browser::new(&app);
    browser.sign_in("ser@northshore.example", TEST_PASSWORD).await;
    Setup { base: format!("/relationships/{}", r.id), app, ser: ser.id, token, browser, party }
}

async fn a_refused_form_says_every_problem_beside_its_field_and_keeps_the_text(db: TestDb) {
    let Setup { app: _server, base, mut browser, .. } = setup(db).await;

    // A new issue with two problems: both at once, each beside its field, what was typed kept.
    let description = "Gate 3 has been closed since Monday <night>";
    let answer = browser.post(&format!("{base}/issues"), &[("title", "  "), ("description", description), ("category", "weather")]).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer.body);
    assert_eq!(beside(&answer.body, "i-title"), "What is the issue: must not be empty");
    assert!(beside(&answer.body, "i-category").starts_with("Category: must be one of commercial"), "{}", answer.body);
    assert!(text(&answer.body).contains(&format!(">{description}</textarea>")), "the description comes back");
    // The summary at the top links to each field.
    let summary = answer.body.split("class=\"error-summary\"").nth(1).unwrap().split("</div>").next().unwrap();
    assert!(summary.contains("href=\"#i-title\"") && summary.contains("href=\"#i-category\""), "{summary}");

    // A ladder with two bad levels names both, by the level's number as the page shows it.
    let form = [
        ("version", "0"),
        ("levels[0].name", "Working level"),
        ("levels[0].roles", "jmt"),
        ("levels[0].amount", "5"),
        ("levels[0].unit", "working days"),
        ("levels[1].name", ""),
        ("levels[1].roles", "ser"),
        ("levels[1].amount", "3"),
        ("levels[1].unit", "hours"),
        ("levels[2].name", "Board of directors"),
        ("levels[2].amount", "0"),
        ("levels[2].unit", "working days"),
    ];
    let answer = browser.post(&format!("{base}/ladder"), &form).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&answer.body, "level-1-name"), "Level 2's name: must not be empty");
    assert_eq!(beside(&answer.body, "level-2-amount"), "Level 3's time limit: must be between 1 and 10000");
    assert_eq!(beside(&answer.body, "level-2-roles"), "Level 3's handlers: name the roles or the members who handle this level");
    assert!(!text(&answer.body).contains("levels[1].name:") && !text(&answer.body).contains("levels[2].limit"), "no internal names");
    assert!(answer.body.contains("value=\"Board of directors\""), "the typed rows come back");
    let level_1 = answer.body.split("id=\"level-1\"").nth(1).unwrap().split("id=\"level-2\"").next().unwrap();
    assert!(level_1.contains("value=\"ser\" checked") && level_1.contains("value=\"3\""), "{level_1}");
    assert!(answer.body.contains("<option value=\"hours\" selected>"), "the unit chosen comes back");

    // The KPI form: every refused threshold at once.
    let kpi = [("name", "Berth availability"), ("unit", "%"), ("direction", "higher"), ("cadence", "monthly")];
    let answer = browser.post(&format!("{base}/kpis"), &[&kpi[..], &[("target", "92,5"), ("amber", "180"), ("red", "")]].concat()).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&answer.body, "k-target"), "Target: \"92,5\" has a comma: use a point: 92.5");
    assert!(beside(&answer.body, "k-amber").starts_with("Amber below/above: 180 is not a percentage"), "{}", answer.body);
    assert!(beside(&answer.body, "k-red").starts_with("Red below/above:"));
    assert!(answer.body.contains("value=\"92,5\"") && answer.body.contains("value=\"Berth availability\""));

    // Changing a password: a wrong current one and a bad new one, all said at once (no
    // password ever comes back).
    let form = [("current", "not my password"), ("password", "short"), ("confirm", "shorter")];
    let answer = browser.post("/account/password", &form).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&answer.body, "current"), "Current password: is not right");
    assert!(beside(&answer.body, "password").starts_with("New password: "), "{}", answer.body);
    assert!(beside(&answer.body, "confirm").starts_with("The same password again: differs"));
    assert!(!answer.body.contains("not my password") && !answer.body.contains("shorter"));

    // An action due in the past, with its title kept.
    let answer = browser.post(&format!("{base}/actions"), &[("title", "Re-baseline the dredging plan"), ("due_date", "2026-02-30")]).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(beside(&answer.body, "a-due").starts_with("Due: \"2026-02-30\" is not a date"), "{}", answer.body);
    assert!(answer.body.contains("value=\"Re-baseline the dredging plan\""));
}

async fn the_ladder_and_holidays_are_saved_from_their_rows(db: TestDb) {
    let Setup { app, ser, token, base, mut browser, party } = setup(db).await;
    let page = browser.get(&format!("{base}/ladder")).await.body;
    // The default ladder as rows, with blank rows to add levels.
    assert!(page.contains("name=\"levels[0].name\" value=\"Working level\"") && page.contains("name=\"levels[4].name\" value=\"\""));
    let form = [
        ("version", "0"),
        ("levels[0].existing", "1"),
        ("levels[0].name", "Site team"),
        ("levels[0].roles", "contributor"),
        ("levels[0].roles", "jmt"),
        ("levels[0].amount", "2"),
        ("levels[0].unit", "working days"),
        ("levels[1].existing", "1"),
        ("levels[1].name", "Joint Management Team"),
        ("levels[1].remove", "1"),
        ("levels[1].amount", "10"),
        ("levels[1].unit", "working days"),
        ("levels[2].name", ""),
        ("levels[2].amount", ""),
        ("levels[2].unit", "working days"),
        ("levels[3].name", "Senior Executives"),
        ("levels[3].roles", "ser"),
        ("levels[3].amount", "48"),
        ("levels[3].unit", "hours"),
    ];
    let saved = browser.post(&format!("{base}/ladder"), &form).await;
    assert_eq!((saved.status, saved.location.as_str()), (StatusCode::SEE_OTHER, format!("{base}/ladder?saved=ladder").as_str()));
    let r = uuid::Uuid::parse_str(base.rsplit('/').next().unwrap()).unwrap();
    let ladder = app.store().ladder(r).await.unwrap();
    let levels: Vec<(String, Vec<&str>, String)> = ladder
        .levels
        .iter()
        .map(|l| {
            let mut roles: Vec<&str> = l.roles.iter().map(|r| r.as_str()).collect();
            roles.sort();
            (l.name.clone(), roles, l.limit.label())
        })
        .collect();
    let expected = [("Site team", vec!["contributor", "jmt"], "2 working days"), ("Senior Executives", vec!["ser"], "48 hours")];
    assert_eq!(levels, expected.map(|(n, r, l)| (n.to_owned(), r, l.to_owned())), "the removed and blank rows are no levels");
    let page = browser.get(&format!("{base}/ladder?saved=ladder")).await.body;
    assert!(page.contains("Version 1") && page.contains("Saved: the escalation ladder."), "the new version is shown");
    assert!(page.contains("value=\"Senior Executives\"") && page.contains("<option value=\"hours\" selected>"));

    // A level the API gave a named handler shows them as a ticked box: untick, and they are gone.
    let levels = json!([{"name": "Site team", "roles": [], "members": [ser], "limit": "2 working days"}]);
    let (status, _) =
        app.call(Method::PUT, &format!("/api/v1{base}/ladder"), Some(&token), Some(json!({"version": 1, "levels": levels}))).await;
    assert_eq!(status, StatusCode::OK);
    let page = browser.get(&format!("{base}/ladder")).await.body;
    assert!(page.contains(&format!("name=\"levels[0].members\" value=\"{ser}\" checked> ser")), "{page}");
    let unticked = [("version", "2"), ("levels[0].name", "Site team"), ("levels[0].amount", "2"), ("levels[0].unit", "working days")];
    let answer = browser.post(&format!("{base}/ladder"), &unticked).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "a level needs handlers");
    assert_eq!(beside(&answer.body, "level-0-roles"), "Level 1's handlers: name the roles or the members who handle this level");
    let ticked = [&unticked[..], &[("levels[0].roles", "jmt")]].concat();
    assert_eq!(browser.post(&format!("{base}/ladder"), &ticked).await.status, StatusCode::SEE_OTHER);
    let level = app.store().ladder(r).await.unwrap().levels.remove(0);
    assert!(level.members.is_empty() && level.roles.len() == 1);

    // Holidays: a bad row is named and kept; fixed, the rows are saved.
    let days = |second: &'static str| {
        vec![
            ("party", party.clone()),
            ("days[0].date", "2026-12-25".into()),
            ("days[0].name", "Christmas Day".into()),
            ("days[1].date", second.into()),
            ("days[1].name", "Boxing Day".into()),
            ("days[2].date", String::new()),
            ("days[2].name", String::new()),
        ]
    };
    fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
    let answer = browser.post(&format!("{base}/holidays"), &as_refs(&days("2026-12-32"))).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(beside(&answer.body, &format!("h-{party}-1-date")), "Holiday 2's date: \"2026-12-32\" is not a date in the form YYYY-MM-DD");
    assert!(answer.body.contains("value=\"Boxing Day\"") && answer.body.contains("value=\"2026-12-32\""));
    assert!(app.store().holidays(r).await.unwrap().is_empty(), "nothing saved");
    // A row with a name but no date is refused, not dropped.
    let undated = [("party", party.as_str()), ("days[0].date", ""), ("days[0].name", "Founders' Day")];
    let answer = browser.post(&format!("{base}/holidays"), &undated).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(beside(&answer.body, &format!("h-{party}-0-date")) == "Holiday 1's date: is missing", "{}", answer.body);
    assert!(text(&answer.body).contains("value=\"Founders' Day\""));
    let saved = browser.post(&format!("{base}/holidays"), &as_refs(&days("2026-12-28"))).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let stored: Vec<(String, String)> = app.store().holidays(r).await.unwrap().into_iter().map(|h| (h.date.to_string(), h.name)).collect();
    assert_eq!(stored, [("2026-12-25".to_owned(), "Christmas Day".to_owned()), ("2026-12-28".to_owned(), "Boxing Day".to_owned())]);
    // Shown as rows again; one removed by its check box.
    let page = browser.get(&format!("{base}/ladder")).await.body;
    assert!(page.contains("name=\"days[1].date\" type=\"date\" value=\"2026-12-28\""), "{page}");
    let remove = [
        ("party", party.as_str()),
        ("days[0].date", "2026-12-25"),
        ("days[0].name", "Christmas Day"),
        ("days[1].date", "2026-12-28"),
        ("days[1].name", "Boxing Day"),
        ("days[1].remove", "1"),
    ];
    assert_eq!(browser.post(&format!("{base}/holidays"), &remove).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store().holidays(r).await.unwrap().len(), 1);
}

async fn a_stale_save_comes_back_with_what_was_typed(db: TestDb) {
    let Setup { app, base, token, mut browser, party, .. } = setup(db).await;
    let api = format!("/api/v1{base}");
    let call = |method: Method, path: String, body: Value| {
        let (app, token) = (&app, token.clone());
        async move { app.call(method, &path, Some(&token), Some(body)).await }
    };
    let (status, obligation) =
        call(Method::POST, format!("{api}/obligations"), json!({"party": party, "title": "Deliver the crane", "due_date": "2026-06-01"}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{obligation}");
    let id = obligation["id"].as_str().unwrap();
    // Someone else saves first.
    let (status, _) =
        call(Method::PATCH, format!("{api}/obligations/{id}"), json!({"version": 1, "status": "on_track", "evidence": "Order placed"}))
            .await;
    assert_eq!(status, StatusCode::OK);
    let typed = "Signed delivery note #42";
    let form = [("version", "1"), ("status", "delivered"), ("evidence", typed)];
    let answer = browser.post(&format!("{base}/obligations/{id}"), &form).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    let row = answer.body.split(&format!("id=\"obligation-{id}\"")).nth(1).unwrap().split("</form>").next().unwrap();
    assert!(row.contains(&format!("value=\"{typed}\"")) && row.contains("value=\"delivered\" selected"), "{row}");
    assert!(row.contains("name=\"version\" value=\"2\""), "at the version now read: {row}");
    let says = "Deliver the crane: someone else changed it since you opened the page (now On track, evidence “Order placed”)";
    assert!(text(&answer.body).contains(says), "what it is now: {}", answer.body);
    // Sent again as it came back, it is saved.
    let again = browser.post(&format!("{base}/obligations/{id}"), &[("version", "2"), ("status", "delivered"), ("evidence", typed)]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let (_, list) = call(Method::GET, format!("{api}/obligations"), Value::Null).await;
    assert_eq!(list["items"][0]["evidence"], typed, "{list}");

    // An action's page likewise keeps the owner, status and due date typed.
    let (_, action) = call(Method::POST, format!("{api}/actions"), json!({"title": "Re-baseline", "due_date": "2026-03-20"})).await;
    let action_id = action["id"].as_str().unwrap();
    call(Method::PATCH, format!("{api}/actions/{action_id}"), json!({"version": 1, "status": "in_progress", "owner": ""})).await;
    let form = [("version", "1"), ("status", "done"), ("owner", ""), ("due_date", "2026-04-01")];
    let answer = browser.post(&format!("{base}/actions/{action_id}?from=action"), &form).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert!(answer.body.contains("name=\"due_date\" required value=\"2026-04-01\"") && answer.body.contains("value=\"done\" selected"));
    assert!(answer.body.contains("name=\"version\" value=\"2\"") && text(&answer.body).contains("Someone else changed this action"));
}

async fn an_expired_form_comes_back_to_send_again_and_a_cross_site_one_echoes_nothing(db: TestDb) {
    let Setup { app, base, token, mut browser, .. } = setup(db).await;
    let issues = || {
        let (app, path, token) = (&app, format!("/api/v1{base}/issues?status=all"), token.clone());
        async move { app.call(Method::GET, &path, Some(&token), None).await.1["items"].as_array().unwrap().len() }
    };
    let title = "Gate 3 closed again";
    let description = "Since 06:00; the night shift could not reach berth 4";

    // From this site, with a token that no longer matches: the form again, typed text kept, a
    // fresh token in it, nothing raised.
    let fields = [("csrf", "an-old-token"), ("title", title), ("description", description), ("severity", "high")];
    let answer =
        browser.post_as_sent(&format!("{base}/issues"), &fields, &[("origin", &app.base), ("sec-fetch-site", "same-origin")]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains(&format!("value=\"{title}\"")) && text(&answer.body).contains(description), "{}", answer.body);
    assert!(answer.body.contains("<option value=\"high\" selected>"));
    assert!(text(&answer.body).contains("This form had expired") && answer.body.contains("class=\"error-summary\""));
    let fresh = browser.csrf().unwrap();
    assert!(answer.body.contains(&format!("name=\"csrf\" value=\"{fresh}\"")));
    assert_eq!(issues().await, 0, "nothing raised");

    // Its cookie gone too (a browser restarted): the answer sets a new one, which the page carries.
    browser.cookies.retain(|k, _| !k.ends_with("accord_csrf"));
    let answer = browser.post_as_sent(&format!("{base}/issues"), &fields, &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let fresh = browser.csrf().expect("a new CSRF cookie");
    assert!(answer.body.contains(&format!("name=\"csrf\" value=\"{fresh}\"")) && answer.body.contains(&format!("value=\"{title}\"")));
    // Sent again from that page, it is raised once.
    let again = browser.post(&format!("{base}/issues"), &[("title", title), ("description", description), ("severity", "high")]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(issues().await, 1);

    // A sign-in form that expired keeps the address and tries nothing.
    let mut stranger = Browser::new(&app);
    let login = [("csrf", "stale"), ("email", "ser@northshore.example"), ("password", TEST_PASSWORD), ("next", "/")];
    let answer = stranger.post_as_sent("/login", &login, &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.body.contains("value=\"ser@northshore.example\"") && stranger.session().is_none());
    assert!(!answer.body.contains(TEST_PASSWORD), "a password never comes back");
    let token = stranger.csrf().unwrap();
    let login = [("csrf", token.as_str()), ("email", "ser@northshore.example"), ("password", TEST_PASSWORD), ("next", "/")];
    assert_eq!(stranger.post_as_sent("/login", &login, &[]).await.status, StatusCode::SEE_OTHER);

    // From another site, with a valid token even: refused, and nothing it sent is echoed.
    let csrf = browser.csrf().unwrap();
    let forged = [("csrf", csrf.as_str()), ("title", "Forged issue title"), ("description", "forged text")];
    for headers in [[("origin", "https://evil.example")], [("sec-fetch-site", "cross-site")]] {
        let answer = browser.post_as_sent(&format!("{base}/issues"), &forged, &headers).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert!(!answer.body.contains("Forged issue title") && !answer.body.contains("forged text"), "{}", answer.body);
        assert!(answer.body.contains("sent from another site"));
    }
    assert_eq!(issues().await, 1);
}
