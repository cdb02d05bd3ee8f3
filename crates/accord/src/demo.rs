//! `serve --demo`: a realistic relationship on an empty database, so a newcomer sees Accord
//! working at once. Everything goes through the same store calls the site uses.

use accord_domain::Invalid;
use accord_domain::clock::Clock;
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, RelationshipInput};
use accord_domain::text::{Email, Name};
use accord_store::{NewInvitation, NewUser, PageRequest, Store};
use accord_web::secrets;
use anyhow::{Context, anyhow};

pub struct DemoLogin {
    pub email: String,
    pub password: String,
}

struct Person {
    name: &'static str,
    email: &'static str,
    role: Role,
}

const fn p(name: &'static str, email: &'static str, role: Role) -> Person {
    Person { name, email, role }
}

/// The three parties of the demo: an owner, a main contractor, a specialist supplier.
const PARTIES: [(&str, &[Person]); 3] = [
    (
        "Northshore Port Authority",
        &[
            p("Alex Morgan", "alex.morgan@northshore.example", Role::Ser),
            p("Priya Raman", "priya.raman@northshore.example", Role::Jmt),
            p("Tom Fletcher", "tom.fletcher@northshore.example", Role::Jmt),
            p("Hannah Okafor", "hannah.okafor@northshore.example", Role::Contributor),
            p("Gareth Lewis", "gareth.lewis@northshore.example", Role::Observer),
        ],
    ),
    (
        "Keystone Construction",
        &[
            p("Sofia Marquez", "sofia.marquez@keystone.example", Role::Ser),
            p("Daniel Brooks", "daniel.brooks@keystone.example", Role::Jmt),
            p("Aisha Khan", "aisha.khan@keystone.example", Role::Jmt),
            p("Liam O'Connor", "liam.oconnor@keystone.example", Role::Contributor),
            p("Mei Chen", "mei.chen@keystone.example", Role::Contributor),
        ],
    ),
    (
        "Tidewater Marine Engineering",
        &[
            p("Erik Johansson", "erik.johansson@tidewater.example", Role::Ser),
            p("Grace Adeyemi", "grace.adeyemi@tidewater.example", Role::Jmt),
            p("Noah Williams", "noah.williams@tidewater.example", Role::Contributor),
        ],
    ),
];

/// Seeds the demo unless the database already has organisations; returns how to sign in.
pub async fn seed_if_empty(store: &dyn Store, clock: &dyn Clock) -> anyhow::Result<Option<DemoLogin>> {
    if !store.list_organisations(PageRequest::first(1)).await?.items.is_empty() {
        return Ok(None);
    }
    let password = match std::env::var("ACCORD_DEMO_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => format!("demo-{}", secrets::random_hex::<6>()),
    };
    secrets::check_password(&password).map_err(|m| anyhow!("ACCORD_DEMO_PASSWORD {m}"))?;
    let pw = password.clone();
    // One hash for every demo account: hashing is deliberately slow, and these are demo accounts.
    let password_hash = tokio::task::spawn_blocking(move || secrets::hash_password(&pw)).await?.map_err(|e| anyhow!(e))?;
    let name = |s: &str| Name::parse(s).map_err(|m| anyhow!("{s}: {m}"));

    let mut organisations = Vec::new();
    for (org, _) in &PARTIES {
        organisations.push(store.create_organisation(name(org)?, None, clock.now()).await?);
    }
    let mut users = Vec::new();
    for ((_, people), org) in PARTIES.iter().zip(&organisations) {
        for person in people.iter() {
            let user = NewUser {
                email: Email::parse(person.email).map_err(|m| anyhow!(m))?,
                name: name(person.name)?,
                organisation_id: org.id,
                is_admin: false,
                password_hash: Some(password_hash.clone()),
            };
            users.push((store.create_user(user, None, clock.now()).await?, person.role));
        }
    }
    let admin = NewUser {
        email: Email::parse("admin@accord.example").map_err(|m| anyhow!(m))?,
        name: name("Site Administrator")?,
        organisation_id: organisations[0].id,
        is_admin: true,
        password_hash: Some(password_hash),
    };
    store.create_user(admin, None, clock.now()).await?;

    let input = RelationshipInput {
        name: "Harbour Renewal Programme",
        purpose: "Renew the northern quays, the ferry terminal and the marine works of Northshore harbour by 2029, \
                  jointly planned and delivered by the port, its main contractor and its marine engineering specialist.",
        start_date: "2024-04-01",
        time_zone: "Europe/London",
    };
    let new = NewRelationship::parse(input, Some(organisations.iter().map(|o| o.id).collect()), Invalid::default())
        .map_err(|e| anyhow!("{e}"))?;
    let relationship = store.create_relationship(new, None, clock.now()).await?;
    // Each party's SER joins first and adds the rest of their party.
    let mut ser = None;
    for (user, role) in &users {
        if *role == Role::Ser {
            ser = Some(user.id);
        }
        let actor = if *role == Role::Ser { None } else { ser };
        store.add_member(relationship.id, user.id, *role, actor, clock.now()).await.context("demo membership")?;
    }
    // A newcomer invited by a JMT member, not yet joined.
    let party = store.parties(relationship.id).await?[0].id;
    let (_, token_hash) = secrets::new_token();
    let invitation = NewInvitation {
        relationship_id: relationship.id,
        party_id: party,
        email: Email::parse("sam.taylor@northshore.example").map_err(|m| anyhow!(m))?,
        role: Role::Contributor,
        token_hash,
        expires_at: clock.now() + jiff::SignedDuration::from_hours(24 * 14),
    };
    store.create_invitation(invitation, users[1].0.id, clock.now()).await?;
    Ok(Some(DemoLogin { email: PARTIES[0].1[0].email.to_owned(), password }))
}
