//! First run on the web: the setup link `accord serve` prints makes the site administrator (of no
//! organisation), once; an administrator founds a relationship with its parties (some new) and
//! their first SERs, all or nothing; on both databases, through the store, the pages and the API.

use crate::app::spawn_app;
use crate::backends::{TestDb, on_both_backends};
use crate::people::Browser;
use accord_domain::EventKind;
use accord_domain::membership::Role;
use accord_domain::text::{Email, Name};
use accord_store::{
    FirstSer, Founding, FoundingOrganisation, FoundingParty, InvitationAccount, NewUser, PageRequest, SITE_CHAIN, StoreError, User,
};
use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(
    the_setup_link_makes_one_administrator_of_no_organisation,
    founding_makes_organisations_members_and_invitations_all_or_nothing,
    the_setup_page_makes_the_administrator_once_and_keeps_what_was_typed,
    an_administrator_founds_a_relationship_on_the_web_and_through_the_api,
);

fn now() -> Timestamp {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn new_user(email: &str, organisation_id: Option<uuid::Uuid>, is_admin: bool) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        name: Name::parse(email.split('@').next().unwrap()).unwrap(),
        organisation_id,
        is_admin,
        password_hash: Some("phc".into()),
    }
}

fn fields(e: StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(invalid) => invalid.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a refusal naming fields, got {other:?}"),
    }
}

async fn the_setup_link_makes_one_administrator_of_no_organisation(db: TestDb) {
    let store = db.store.clone();
    assert!(store.open_setup("first", now()).await.unwrap());
    assert!(store.open_setup("second", now()).await.unwrap(), "a restart makes a new link");
    assert!(matches!(store.setup_link("first").await, Err(StoreError::NotFound(_))), "the earlier link died");
    store.setup_link("second").await.unwrap();
    // Only a site administrator may belong to no organisation.
    let refused = store.create_user(new_user("nobody@host.example", None, false), None, now()).await.unwrap_err();
    assert_eq!(fields(refused), ["organisation"]);

    // Two servers use the link at once: one administrator is made, the other finds it gone.
    let other = db.second_store().await;
    let (a, b) = tokio::join!(
        store.complete_setup("second", new_user("a@host.example", None, false), now()),
        other.complete_setup("second", new_user("b@host.example", None, false), now()),
    );
    let made: Vec<User> = [a, b].into_iter().filter_map(Result::ok).collect();
    assert_eq!(made.len(), 1, "one link, one administrator");
    let admin = &made[0];
    assert!(admin.is_admin && admin.organisation_id.is_none() && admin.organisation_name.is_none(), "{admin:?}");
    assert_eq!(&store.user(admin.id).await.unwrap(), admin);
    assert!(store.list_users(PageRequest::first(10)).await.unwrap().items.iter().any(|u| u.id == admin.id));
    let wrong = store.complete_setup("second", new_user("c@host.example", None, false), now()).await;
    assert!(matches!(wrong, Err(StoreError::NotFound(_))), "used once");
    assert!(matches!(store.setup_link("second").await, Err(StoreError::NotFound(_))));
    assert!(!store.open_setup("third", now()).await.unwrap(), "no link once an administrator exists");
    assert!(matches!(store.setup_link("third").await, Err(StoreError::NotFound(_))));

    let events = store.audit_events(SITE_CHAIN, 0, 100).await.unwrap();
    let created = events.iter().find(|e| e.kind == EventKind::UserCreated.as_str()).unwrap();
    assert_eq!((created.actor, &created.summary), (Some(admin.id), &json!({"organisation": null, "admin": true})));
}

fn party(organisation: FoundingOrganisation, ser: Option<&str>) -> FoundingParty {
    let ser = ser.map(|email| FirstSer {
        email: Email::parse(email).unwrap(),
        token_hash: format!("hash-of-{email}"),
        expires_at: "2026-03-16T09:00:00Z".parse().unwrap(),
    });
    FoundingParty { organisation, ser }
}

fn founding(name: &str, parties: Vec<FoundingParty>) -> Founding {
    Founding {
        name: Name::parse(name).unwrap(),
        purpose: "Renew the quays".into(),
        start_date: "2026-01-05".parse().unwrap(),
        time_zone: "Europe/London".into(),
        parties,
    }
}

async fn founding_makes_organisations_members_and_invitations_all_or_nothing(db: TestDb) {
    let store = db.store.clone();
    let admin = store.create_user(new_user("root@host.example", None, true), None, now()).await.unwrap();
    let north = store.create_organisation(Name::parse("Northshore").unwrap(), None, now()).await.unwrap();
    let keystone = store.create_organisation(Name::parse("Keystone").unwrap(), None, now()).await.unwrap();
    let ann = store.create_user(new_user("ann@north.example", Some(north.id), false), None, now()).await.unwrap();
    store.create_user(new_user("kim@key.example", Some(keystone.id), false), None, now()).await.unwrap();

    // Refused whole: an SER of another organisation, a new name like an existing one's, an SER
    // named for a new organisation who has an account elsewhere. Nothing is written.
    let bad = founding(
        "Quarry Works",
        vec![
            party(FoundingOrganisation::Existing(north.id), Some("kim@key.example")),
            party(FoundingOrganisation::New(Name::parse("KEYSTONE").unwrap()), None),
            party(FoundingOrganisation::New(Name::parse("Quarry Co").unwrap()), Some("ann@north.example")),
        ],
    );
    let refused = store.found_relationship(bad, Some(admin.id), now()).await.unwrap_err();
    assert_eq!(fields(refused), ["parties[1]", "parties[0].ser", "parties[2].ser"]);
    assert!(matches!(store.find_organisation("Quarry Co").await, Err(StoreError::NotFound(_))), "no organisation was left behind");
    assert!(store.list_relationships(None, PageRequest::first(10)).await.unwrap().items.is_empty());

    // Ann has an account of Northshore: she joins as SER at once; the new party's SER is invited.
    let good = founding(
        "Harbour Renewal",
        vec![
            party(FoundingOrganisation::Existing(north.id), Some("ann@north.example")),
            party(FoundingOrganisation::New(Name::parse("Harbour Dredging Ltd").unwrap()), Some("nia@dredge.example")),
        ],
    );
    let founded = store.found_relationship(good, Some(admin.id), now()).await.unwrap();
    assert_eq!(founded.invited, ["nia@dredge.example"]);
    let id = founded.relationship.id;
    let parties = store.parties(id).await.unwrap();
    let names: Vec<&str> = parties.iter().map(|p| p.organisation_name.as_str()).collect();
    assert_eq!(names, ["Northshore", "Harbour Dredging Ltd"]);
    let members = store.members(id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].user_id, members[0].role, members[0].party_id), (ann.id, Role::Ser, parties[0].id));
    let invitations = store.pending_invitations(id, now()).await.unwrap();
    assert_eq!(invitations.len(), 1);
    let invitation = &invitations[0];
    assert_eq!((invitation.email.as_str(), invitation.role, invitation.party_id), ("nia@dredge.example", Role::Ser, parties[1].id));
    assert_eq!(invitation.invited_by, admin.id);
    let kinds: Vec<String> = store.audit_events(id, 0, 100).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["relationship.created", "member.added", "invitation.created"]);

    // Accepting the invitation makes Nia the new party's SER, in its new organisation.
    let account = InvitationAccount::New { name: Name::parse("Nia Obi").unwrap(), password_hash: "phc".into() };
    let nia = store.accept_invitation("hash-of-nia@dredge.example", account, now()).await.unwrap();
    assert_eq!((nia.role, nia.party_id, nia.organisation_name.as_str()), (Role::Ser, parties[1].id, "Harbour Dredging Ltd"));
}

/// The path of a setup link printed for `base`.
async fn setup_path(app: &crate::app::App) -> String {
    let link = accord_web::people::open_setup(app.store(), &app.base, app.now()).await.unwrap().expect("a site without an administrator");
    link.strip_prefix(&app.base).unwrap().to_owned()
}

async fn the_setup_page_makes_the_administrator_once_and_keeps_what_was_typed(db: TestDb) {
    let app = spawn_app(db).await;
    let path = setup_path(&app).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/setup/0123abcd").await.status, StatusCode::NOT_FOUND, "a wrong secret is not found");
    let form = browser.get(&path).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Create the site administrator"), "{}", form.body);
    assert!(app.store().list_users(PageRequest::first(10)).await.unwrap().items.is_empty(), "a GET creates nothing");

    // A forged (or expired) token creates nothing, and the form comes back with what was typed.
    let typed = [("name", "Root Admin"), ("email", "root@host.example"), ("password", "a long password"), ("confirm", "a long password")];
    let forged = browser.post_as_sent(&path, &[&[("csrf", "forged")], &typed[..]].concat(), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("value=\"Root Admin\"") && forged.body.contains("nothing was saved"), "{}", forged.body);
    assert!(app.store().list_users(PageRequest::first(10)).await.unwrap().items.is_empty());

    // Every fault at once, each beside its field; the name and address come back, passwords not.
    let refused = browser.post(&path, &[("name", "Root Admin"), ("email", "root@host"), ("password", "short"), ("confirm", "other")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in ["email-error", "password-error", "confirm-error"] {
        assert!(refused.body.contains(&format!("id=\"{id}\"")), "{id}: {}", refused.body);
    }
    assert!(!refused.body.contains("id=\"name-error\""));
    assert!(refused.body.contains("value=\"Root Admin\"") && refused.body.contains("value=\"root@host\""), "{}", refused.body);
    assert!(!refused.body.contains("value=\"short\""), "a password is never echoed");

    let fields = [("name", "Root Admin"), ("email", "root@host.example"), ("password", "a long password"), ("confirm", "a long password")];
    let made = browser.post(&path, &fields).await;
    assert_eq!((made.status, made.location.as_str()), (StatusCode::SEE_OTHER, "/?saved=set-up"), "{}", made.body);
    assert!(browser.session().is_some(), "the administrator is signed in");
    let home = browser.get("/?saved=set-up").await;
    assert!(home.body.contains("you are the site administrator") && home.body.contains("href=\"/relationships/new\""), "{}", home.body);
    let account = browser.get("/account").await;
    assert!(account.body.contains("none: a site administrator of no party"), "{}", account.body);
    let admin = app.store().user_by_email(&Email::parse("root@host.example").unwrap()).await.unwrap();
    assert!(admin.is_admin && admin.organisation_id.is_none());

    // Used: the link is gone for anyone, a GET and a post alike.
    let mut other = Browser::new(&app);
    assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND);
    let again = [("name", "Mallory"), ("email", "m@evil.example"), ("password", "a long password"), ("confirm", "a long password")];
    assert_eq!(other.post(&path, &again).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.store().list_users(PageRequest::first(10)).await.unwrap().items.len(), 1);
}

async fn an_administrator_founds_a_relationship_on_the_web_and_through_the_api(db: TestDb) {
    let app = spawn_app(db).await;
    let north = app.organisation("Northshore Port Authority").await;
    let (admin, admin_token) = app.user("root@host.example", &north, true).await;
    let (ann, ann_token) = app.user("ann@northshore.example", &north, false).await;
    let mut browser = Browser::new(&app);
    browser.sign_in(&admin.email, crate::app::TEST_PASSWORD).await;
    let form = browser.get("/relationships/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("name=\"organisation_0\"") && form.body.contains("name=\"ser_1\""), "two party rows");
    let more = browser.post("/relationships/new", &[("rows", "2"), ("name", "Typed"), ("add_party", "1")]).await;
    assert!(more.body.contains("name=\"organisation_2\"") && more.body.contains("value=\"Typed\""), "Add a party keeps what was typed");

    // Refused whole: a bad time zone and a bad address, each beside its field, what was typed
    // kept, the new organisation not made.
    let north_id = north.id.to_string();
    let typed = [
        ("rows", "3"),
        ("name", "Harbour Renewal"),
        ("purpose", "Renew the northern quays"),
        ("start_date", "2026-01-05"),
        ("time_zone", "Mars/Olympus"),
        ("organisation_0", north_id.as_str()),
        ("ser_0", "ann@northshore.example"),
        ("new_1", "Keystone Construction"),
        ("ser_1", "bo@keystone"),
    ];
    let refused = browser.post("/relationships/new", &typed).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in ["r-time_zone-error", "ser_1-error"] {
        assert!(refused.body.contains(&format!("id=\"{id}\"")), "{id}: {}", refused.body);
    }
    for value in ["Renew the northern quays", "value=\"Keystone Construction\"", "value=\"bo@keystone\"", "value=\"Mars/Olympus\""] {
        assert!(refused.body.contains(value), "{value} kept: {}", refused.body);
    }
    assert!(refused.body.contains(&format!("<option value=\"{north_id}\" selected>")), "the chosen organisation stays chosen");
    assert!(matches!(app.store().find_organisation("Keystone Construction").await, Err(StoreError::NotFound(_))));

    let mut fixed = typed.to_vec();
    fixed[4] = ("time_zone", "Europe/London");
    fixed[8] = ("ser_1", "bo@keystone.example");
    let founded = browser.post("/relationships/new", &fixed).await;
    assert_eq!(founded.status, StatusCode::OK, "{}", founded.body);
    assert!(founded.body.contains("Saved: the relationship was created"), "{}", founded.body);
    assert!(founded.body.contains("bo@keystone.example") && founded.body.contains(&format!("{}/invitations/acc_", app.base)));
    assert!(!founded.body.contains("ann@northshore.example"), "Ann has an account: she joined, no link");
    let relationship = app.store().find_relationship("Harbour Renewal").await.unwrap();
    let page = browser.get(&format!("/relationships/{}", relationship.id)).await;
    assert!(
        page.body.contains("<dd>ann</dd>") && page.body.contains("bo@keystone.example <span class=\"badge\">invited</span>"),
        "{}",
        page.body
    );
    let members = app.store().members(relationship.id).await.unwrap();
    assert_eq!((members.len(), members[0].user_id, members[0].role), (1, ann.id, Role::Ser));

    // A relationship without invitations lands on its page with the saved notice.
    let plain = [
        ("rows", "2"),
        ("name", "Quay Lighting"),
        ("start_date", "2026-02-02"),
        ("time_zone", "UTC"),
        ("organisation_0", north_id.as_str()),
        ("new_1", "Lumen Ltd"),
    ];
    let landed = browser.post("/relationships/new", &plain).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER);
    assert!(landed.location.starts_with("/relationships/") && landed.location.ends_with("?saved=founded"), "{}", landed.location);

    // Not an administrator: refused, nothing made.
    let mut ann_browser = Browser::new(&app);
    ann_browser.sign_in("ann@northshore.example", crate::app::TEST_PASSWORD).await;
    assert_eq!(ann_browser.get("/relationships/new").await.status, StatusCode::FORBIDDEN);

    // The API's create is the same operation: parties as objects with new organisations and SERs.
    let body = json!({"name": "Dredging", "start_date": "2026-01-05", "time_zone": "Europe/London", "parties": [
        {"organisation": "Northshore Port Authority", "ser": "ann@northshore.example"},
        {"organisation": "Dredge Co", "new": true, "ser": "dee@dredge.example"}]});
    let (status, made) = app.call(Method::POST, "/api/v1/relationships", Some(&admin_token), Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["parties"].as_array().unwrap().len(), 2);
    assert_eq!(made["invitations"][0]["email"], "dee@dredge.example");
    assert!(made["invitations"][0]["link"].as_str().unwrap().starts_with(&format!("{}/invitations/acc_", app.base)));
    let (status, _) = app.call(Method::POST, "/api/v1/relationships", Some(&ann_token), Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let bad = json!({"name": "Bad", "start_date": "2026-01-05", "time_zone": "UTC", "parties": [
        "Northshore Port Authority", {"organisation": "Nowhere Ltd", "ser": "not an address"}]});
    let (status, answer) = app.call(Method::POST, "/api/v1/relationships", Some(&admin_token), Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let named: Vec<&str> = answer["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(named, ["parties[1]", "parties[1].ser"]);
}
