//! `serve --demo`: a realistic relationship on an empty database, so a newcomer sees Accord
//! working at once. Everything goes through the same store calls the site uses.

use accord_domain::Invalid;
use accord_domain::clock::Clock;
use accord_domain::membership::Role;
use accord_domain::relationship::{NewRelationship, RelationshipInput};
use accord_domain::text::{Email, Name};
use accord_store::{NewInvitation, NewUser, PageRequest, Store, Visibility};
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
    if !store.list_organisations(Visibility::All, PageRequest::first(1)).await?.items.is_empty() {
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
    // The relationship began three months ago: its history is dated as it would have happened.
    let t0 = clock.now() - jiff::SignedDuration::from_hours(24 * 91);

    let mut organisations = Vec::new();
    for (org, _) in &PARTIES {
        organisations.push(store.create_organisation(name(org)?, None, t0).await?);
    }
    let mut users = Vec::new();
    for ((_, people), org) in PARTIES.iter().zip(&organisations) {
        for person in people.iter() {
            let user = NewUser {
                email: Email::parse(person.email).map_err(|m| anyhow!(m))?,
                name: name(person.name)?,
                organisation_id: Some(org.id),
                is_admin: false,
                password_hash: Some(password_hash.clone()),
            };
            users.push((store.create_user(user, None, t0).await?, person.role));
        }
    }
    let admin = NewUser {
        email: Email::parse("admin@accord.example").map_err(|m| anyhow!(m))?,
        name: name("Site Administrator")?,
        // The host's own administrator, of no party.
        organisation_id: None,
        is_admin: true,
        password_hash: Some(password_hash),
    };
    store.create_user(admin, None, t0).await?;

    // The programme began in April 2024, or with its oldest history should the clock read earlier:
    // no value may lie before the relationship's start.
    let history_start = history_months(clock)?[0].start;
    let start_date = history_start.min(jiff::civil::date(2024, 4, 1)).to_string();
    let input = RelationshipInput {
        name: "Harbour Renewal Programme",
        purpose: "Renew the northern quays, the ferry terminal and the marine works of Northshore harbour by 2029, \
                  jointly planned and delivered by the port, its main contractor and its marine engineering specialist.",
        start_date: &start_date,
        time_zone: "Europe/London",
    };
    let new = NewRelationship::parse(input, Some(organisations.iter().map(|o| o.id).collect()), Invalid::default())
        .map_err(|e| anyhow!("{e}"))?;
    let relationship = store.create_relationship(new, None, t0).await?;
    // Each party's SER joins first and adds the rest of their party.
    let mut ser = None;
    for (user, role) in &users {
        if *role == Role::Ser {
            ser = Some(user.id);
        }
        let actor = if *role == Role::Ser { None } else { ser };
        store.add_member(relationship.id, user.id, *role, actor, t0).await.context("demo membership")?;
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
    let people: Vec<uuid::Uuid> = users.iter().map(|(u, _)| u.id).collect();
    seed_issues(store, clock, relationship.id, &people).await?;
    seed_measures(store, clock, relationship.id, &people).await?;
    seed_records(store, clock, relationship.id, &people).await?;
    seed_reviews(store, clock, relationship.id, &people).await?;
    Ok(Some(DemoLogin { email: PARTIES[0].1[0].email.to_owned(), password }))
}

/// The demo's history: two years of months, up to last month (in the relationship's zone).
fn history_months(clock: &dyn Clock) -> anyhow::Result<Vec<accord_domain::measure::Period>> {
    use accord_domain::measure::{Cadence, Period};
    let today = clock.now().to_zoned(jiff::tz::TimeZone::get("Europe/London")?).date();
    Ok(Period::containing(Cadence::Monthly, today).previous().last_n(24))
}

/// Objectives, a dozen KPIs with two years of monthly history (some red, some amber),
/// obligations for every party, open and overdue actions.
async fn seed_measures(store: &dyn Store, clock: &dyn Clock, relationship_id: uuid::Uuid, people: &[uuid::Uuid]) -> anyhow::Result<()> {
    use accord_domain::measure::{Cadence, Direction, Period, Thresholds};
    use accord_store::{
        ActionSource, MeasurementInput, NewAction, NewKpi, NewObjective, NewObligation, ObligationChange, ObligationStatus,
    };
    use jiff::ToSpan;

    let now = clock.now();
    let today = now.to_zoned(jiff::tz::TimeZone::get("Europe/London")?).date();
    let parties: Vec<uuid::Uuid> = store.parties(relationship_id).await?.iter().map(|p| p.id).collect();
    // people: 0 Alex (SER, port), 1 Priya (JMT), 2 Tom (JMT), 3 Hannah, 4 Gareth (observer),
    // 5 Sofia (SER, contractor), 6 Daniel, 7 Aisha, 8 Liam, 9 Mei, 10 Erik (SER, marine), 11 Grace, 12 Noah.
    let (port, contractor, marine) = (parties[0], parties[1], parties[2]);
    let objective = |title: &str, description: &str, owners: Vec<uuid::Uuid>, months: i32, next_review: jiff::civil::Date| NewObjective {
        relationship_id,
        title: title.into(),
        description: description.into(),
        parties: owners,
        review_months: months,
        next_review,
    };
    let objectives = [
        objective(
            "Deliver the quay works safely",
            "Zero harm to workers, port users and the public during the renewal.",
            parties.clone(),
            6,
            today.checked_add(2.months())?,
        ),
        objective(
            "Keep the port open for business",
            "Ferry and cargo operations continue throughout construction with minimal disruption.",
            vec![port, contractor],
            6,
            today.checked_sub(5.days())?,
        ),
        objective(
            "Deliver on programme and budget",
            "Complete each phase within the agreed programme and the joint cost envelope.",
            vec![contractor, marine],
            3,
            today.checked_add(1.months())?,
        ),
        objective(
            "Leave a lower-carbon harbour",
            "Cut embodied and operational carbon against the 2023 baseline.",
            parties.clone(),
            12,
            today.checked_add(7.months())?,
        ),
    ];
    let mut objective_ids = Vec::new();
    for o in objectives {
        objective_ids.push(store.create_objective(o, people[1], clock.now()).await?.id);
    }

    let months = history_months(clock)?;
    let first = months[0];
    struct Spec {
        name: &'static str,
        definition: &'static str,
        unit: &'static str,
        direction: Direction,
        t: (f64, f64, f64),
        party: Option<usize>,
        reporter: usize,
        objective: usize,
        // A base level, a drift per month, a swing, and how the last months go.
        base: f64,
        drift: f64,
        swing: f64,
        recent: f64,
    }
    let h = Direction::Higher;
    let l = Direction::Lower;
    let specs = [
        Spec {
            name: "Lost-time injury frequency rate",
            definition: "Lost-time injuries per 100,000 hours worked, rolling 12 months",
            unit: "",
            direction: l,
            t: (0.5, 1.0, 2.0),
            party: None,
            reporter: 6,
            objective: 0,
            base: 1.1,
            drift: -0.02,
            swing: 0.35,
            recent: 0.0,
        },
        Spec {
            name: "Safety observations closed on time",
            definition: "Share of safety observations closed within 7 days",
            unit: "%",
            direction: h,
            t: (95.0, 90.0, 80.0),
            party: Some(1),
            reporter: 7,
            objective: 0,
            base: 88.0,
            drift: 0.35,
            swing: 4.0,
            recent: 0.0,
        },
        Spec {
            name: "Ferry sailings disrupted by works",
            definition: "Sailings delayed over 15 minutes or cancelled because of construction",
            unit: "sailings",
            direction: l,
            t: (2.0, 5.0, 10.0),
            party: Some(1),
            reporter: 8,
            objective: 1,
            base: 6.0,
            drift: -0.1,
            swing: 3.0,
            recent: 10.0,
        },
        Spec {
            name: "Berth availability",
            definition: "Share of scheduled berth hours available to port operations",
            unit: "%",
            direction: h,
            t: (98.0, 95.0, 90.0),
            party: Some(0),
            reporter: 3,
            objective: 1,
            base: 96.5,
            drift: 0.05,
            swing: 2.0,
            recent: -1.5,
        },
        Spec {
            name: "Programme milestones met",
            definition: "Milestones completed by their baseline date, cumulative",
            unit: "%",
            direction: h,
            t: (95.0, 85.0, 75.0),
            party: Some(1),
            reporter: 6,
            objective: 2,
            base: 84.0,
            drift: 0.2,
            swing: 5.0,
            recent: -16.0,
        },
        Spec {
            name: "Cost performance index",
            definition: "Earned value divided by actual cost",
            unit: "",
            direction: h,
            t: (1.0, 0.95, 0.9),
            party: None,
            reporter: 7,
            objective: 2,
            base: 0.97,
            drift: 0.002,
            swing: 0.03,
            recent: 0.0,
        },
        Spec {
            name: "Design deliverables on time",
            definition: "Marine design packages issued by their agreed date",
            unit: "%",
            direction: h,
            t: (95.0, 90.0, 80.0),
            party: Some(2),
            reporter: 11,
            objective: 2,
            base: 91.0,
            drift: 0.1,
            swing: 5.0,
            recent: 0.0,
        },
        Spec {
            name: "Dredging volume against plan",
            definition: "Cubic metres dredged as a share of the month's plan",
            unit: "%",
            direction: h,
            t: (100.0, 92.0, 85.0),
            party: Some(2),
            reporter: 12,
            objective: 2,
            base: 95.0,
            drift: 0.15,
            swing: 6.0,
            recent: 0.0,
        },
        Spec {
            name: "Open non-conformance reports",
            definition: "Quality non-conformances open at month end",
            unit: "NCRs",
            direction: l,
            t: (5.0, 10.0, 15.0),
            party: None,
            reporter: 8,
            objective: 2,
            base: 9.0,
            drift: -0.15,
            swing: 3.0,
            recent: 0.0,
        },
        Spec {
            name: "Payment applications certified on time",
            definition: "Contractor payment applications certified within 14 days",
            unit: "%",
            direction: h,
            t: (100.0, 90.0, 80.0),
            party: Some(0),
            reporter: 2,
            objective: 2,
            base: 93.0,
            drift: 0.1,
            swing: 5.0,
            recent: 0.0,
        },
        Spec {
            name: "Site carbon emissions",
            definition: "tCO2e from plant, vessels and site energy",
            unit: "tCO2e",
            direction: l,
            t: (180.0, 220.0, 260.0),
            party: None,
            reporter: 9,
            objective: 3,
            base: 240.0,
            drift: -2.0,
            swing: 20.0,
            recent: 0.0,
        },
        Spec {
            name: "Waste diverted from landfill",
            definition: "Share of construction waste reused or recycled",
            unit: "%",
            direction: h,
            t: (90.0, 85.0, 75.0),
            party: Some(1),
            reporter: 9,
            objective: 3,
            base: 82.0,
            drift: 0.3,
            swing: 4.0,
            recent: 0.0,
        },
    ];
    let mut rows = Vec::new();
    let mut recent = Vec::new();
    let mut kpi_ids = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let thresholds =
            Thresholds::new(spec.direction, spec.t.0, spec.t.1, spec.t.2).map_err(|(f, m)| anyhow!("{}: {f}: {m}", spec.name))?;
        let new = NewKpi {
            relationship_id,
            name: spec.name.into(),
            definition: spec.definition.into(),
            unit: spec.unit.into(),
            cadence: Cadence::Monthly,
            party_id: spec.party.map(|p| parties[p]),
            reporter_id: Some(people[spec.reporter]),
            objectives: vec![objective_ids[spec.objective]],
            thresholds,
            effective_from: first.start,
        };
        let kpi = store.create_kpi(new, people[1], clock.now()).await?;
        kpi_ids.push(kpi.id);
        // A deterministic wobble per KPI, so that the demo looks the same every time.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1);
        for (m, period) in months.iter().enumerate() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 2.0 * spec.swing;
            let late = if m >= 21 { spec.recent } else { 0.0 };
            let mut value = spec.base + spec.drift * m as f64 + noise + late;
            if spec.unit == "%" {
                value = value.min(100.0);
            }
            let value = (value * 100.0).round() / 100.0;
            // The latest month of one KPI is still missing; the last two months are entered by hand.
            if m == 23 && i == 9 {
                continue;
            }
            let input = MeasurementInput { kpi_id: kpi.id, period_start: period.start, value: value.max(0.0), comment: String::new() };
            if m >= 22 { recent.push((spec.reporter, input)) } else { rows.push(input) }
        }
    }
    store.import_measurements(relationship_id, rows, "demo-history", Some(people[1]), clock.now()).await?;
    // Berth availability's latest value was first typed with the point in the wrong place, then
    // retracted (the history keeps it, marked so) before the right one was recorded below.
    if let Some((reporter, right)) = recent.iter().rev().find(|(_, input)| input.kpi_id == kpi_ids[3]) {
        let slipped = MeasurementInput { value: (right.value * 10.0).round() / 100.0, ..right.clone() };
        let wrong = store.record_measurement(relationship_id, slipped, people[*reporter], clock.now()).await?;
        let reason = format!("Decimal point in the wrong place: {} was meant.", accord_domain::measure::format_value(right.value));
        store.retract_measurement(relationship_id, wrong.kpi_id, wrong.id, reason, people[*reporter], clock.now()).await?;
    }
    for (reporter, mut input) in recent {
        if input.kpi_id == kpi_ids[2] {
            input.comment = "Crane outage on the north quay forced two tide windows to be missed.".into();
        }
        store.record_measurement(relationship_id, input, people[reporter], clock.now()).await?;
    }
    // The joint team raised the bar on safety observations from next month.
    let next = Period::containing(Cadence::Monthly, today).next().start;
    store
        .add_kpi_version(
            relationship_id,
            kpi_ids[1],
            next,
            Thresholds::new(Direction::Higher, 97.0, 93.0, 85.0).map_err(|(_, m)| anyhow!(m))?,
            1,
            people[0],
            clock.now(),
        )
        .await?;

    let obligation = |party: uuid::Uuid, title: &str, description: &str, recurrence: &str, due: jiff::civil::Date| NewObligation {
        relationship_id,
        party_id: party,
        title: title.into(),
        description: description.into(),
        recurrence: recurrence.into(),
        due_date: due,
    };
    let obligations = [
        (
            obligation(
                port,
                "Provide berth windows four weeks ahead",
                "Publish the berth plan for contractor vessel access",
                "monthly",
                today.checked_add(9.days())?,
            ),
            ObligationStatus::OnTrack,
            "March and April plans issued on time",
        ),
        (
            obligation(port, "Certify payment applications within 14 days", "", "monthly", today.checked_sub(3.days())?),
            ObligationStatus::AtRisk,
            "February certificate issued on day 16",
        ),
        (
            obligation(port, "Approve temporary works designs within 10 days", "", "once", today.checked_sub(20.days())?),
            ObligationStatus::Delivered,
            "Approval letter ref. NPA-TW-014",
        ),
        (
            obligation(
                contractor,
                "Submit the monthly progress report",
                "Programme, cost, risks and safety statistics",
                "monthly",
                today.checked_add(5.days())?,
            ),
            ObligationStatus::OnTrack,
            "",
        ),
        (
            obligation(
                contractor,
                "Maintain the joint risk register",
                "Review with the JMT every month",
                "monthly",
                today.checked_sub(8.days())?,
            ),
            ObligationStatus::NotStarted,
            "",
        ),
        (
            obligation(
                contractor,
                "Keep ferry access routes open",
                "Two-lane access to the ferry terminal at all times",
                "weekly",
                today.checked_add(2.days())?,
            ),
            ObligationStatus::AtRisk,
            "Lane closure on 3 days last week",
        ),
        (
            obligation(marine, "Issue marine design packages on the agreed dates", "", "monthly", today.checked_add(12.days())?),
            ObligationStatus::OnTrack,
            "",
        ),
        (
            obligation(
                marine,
                "Provide dredging survey data within 48 hours",
                "Bathymetric surveys after each campaign",
                "weekly",
                today.checked_sub(1.days())?,
            ),
            ObligationStatus::Missed,
            "Survey 12 delivered after 5 days",
        ),
        (
            obligation(marine, "Share lessons learned after each phase", "", "quarterly", today.checked_add(40.days())?),
            ObligationStatus::NotStarted,
            "",
        ),
    ];
    for (new, status, evidence) in obligations {
        let party = new.party_id;
        let created = store.create_obligation(new, people[1], clock.now()).await?;
        if status != ObligationStatus::NotStarted {
            let actor = if party == port {
                people[2]
            } else if party == contractor {
                people[6]
            } else {
                people[11]
            };
            let change = ObligationChange { status, evidence: evidence.into(), due_date: created.due_date };
            store.update_obligation(relationship_id, created.id, change, created.version, actor, clock.now()).await?;
        }
    }

    let action = |title: &str, owner: usize, party: uuid::Uuid, due: jiff::civil::Date, source: Option<ActionSource>| NewAction {
        relationship_id,
        title: title.into(),
        description: String::new(),
        owner_id: Some(people[owner]),
        party_id: party,
        due_date: due,
        source,
    };
    let milestone_red = Period::containing(Cadence::Monthly, today).previous();
    let actions = [
        action(
            "Recovery plan for the north quay milestones",
            6,
            contractor,
            today.checked_sub(4.days())?,
            Some(ActionSource { kind: "kpi_period".into(), id: kpi_ids[4], period: Some(milestone_red.start) }),
        ),
        action(
            "Agree ferry timetable changes for the crane works",
            2,
            port,
            today.checked_add(6.days())?,
            Some(ActionSource { kind: "kpi_period".into(), id: kpi_ids[2], period: Some(milestone_red.start) }),
        ),
        action("Speed up certification: add a second certifier", 1, port, today.checked_sub(2.days())?, None),
        action("Bring the risk register review into the JMT agenda", 7, contractor, today.checked_add(10.days())?, None),
        action("Survey turnaround: agree a 48-hour process", 11, marine, today.checked_add(3.days())?, None),
        action("Carbon dashboard for plant fuel use", 9, contractor, today.checked_add(21.days())?, None),
    ];
    for new in actions {
        store.create_action(new, people[1], clock.now()).await?;
    }
    Ok(())
}

/// Two review series: the JMT monthly, the SERs quarterly. The JMT met three weeks ago (its
/// minutes with attendance, notes, a decision aimed at one party and an action raised) and meets
/// again in nine days, its agenda prepared from the data; the SERs meet in five weeks.
async fn seed_reviews(store: &dyn Store, clock: &dyn Clock, relationship_id: uuid::Uuid, people: &[uuid::Uuid]) -> anyhow::Result<()> {
    use accord_domain::review::{Cadence as Every, MeetingTime, Presence, ReviewKind};
    use accord_store::{MeetingCommand, NewAction, NewMeeting, Place, SeriesInput};
    use jiff::ToSpan;
    let parties = store.parties(relationship_id).await?;
    let contractor = parties[1].id;
    let series = |name: &str, kind, cadence, chairs: [usize; 3], role| SeriesInput {
        relationship_id,
        name: name.into(),
        kind,
        cadence,
        chairs: parties.iter().zip(chairs).map(|(p, c)| (p.id, people[c])).collect(),
        invited_roles: vec![role],
        invitees: vec![],
    };
    let jmt = series("Joint management team", ReviewKind::Jmt, Every::MONTHLY, [1, 6, 11], Role::Jmt);
    let jmt = store.create_series(jmt, people[1], clock.now()).await?;
    let ser = series("SER review", ReviewKind::Ser, Every::QUARTERLY, [0, 5, 10], Role::Ser);
    let ser = store.create_series(ser, people[0], clock.now()).await?;
    let today = clock.now().to_zoned(jiff::tz::TimeZone::get("Europe/London")?).date();
    let at = |days: i64, time: &str| {
        MeetingTime::parse(&today.checked_add(days.days())?.to_string(), time, "", "90", "Europe/London").map_err(|e| anyhow!("{e}"))
    };
    let place = Place { place: "Harbour House, meeting room 2".into(), call_link: "https://meet.example/harbour-jmt".into() };
    let meeting = |series_id, time| NewMeeting { relationship_id, series_id, time, place: place.clone() };
    let (who, now) = (people[1], clock.now());

    let past = store.schedule_meeting(meeting(jmt.id, at(-21, "10:00")?), who, now).await?;
    let past = store.change_meeting(relationship_id, past.line.id, MeetingCommand::Prepare, past.version, who, now).await?;
    let past = store.change_meeting(relationship_id, past.line.id, MeetingCommand::StartMinuting, past.version, who, now).await?;
    let apologies = MeetingCommand::Attendance(vec![(people[7], Presence::Apologies), (people[2], Presence::Absent)]);
    let mut past = store.change_meeting(relationship_id, past.line.id, apologies, past.version, who, now).await?;
    let items: Vec<_> = past.minutes.items.iter().map(|i| (i.id, i.source)).collect();
    // The first two items are closed, the next two minuted and left open; the rest, left open
    // without notes, carry over to the next meeting too.
    for (n, (item, source)) in items.iter().enumerate().take(4) {
        let notes = if n < 2 { "Discussed; the owners report back by e-mail." } else { "Reviewed; still open." };
        let minute = MeetingCommand::MinuteItem { item_id: *item, notes: notes.into(), closed: n < 2 };
        past = store.change_meeting(relationship_id, past.line.id, minute, past.version, who, now).await?;
        if n == 0 {
            let decide = MeetingCommand::Decide {
                item_id: *item,
                text: format!("Keystone delivers its recovery plan for this {} before the next meeting", source.label()),
                agreed: vec![people[1], people[6], people[11]],
                intervention_party: Some(contractor),
            };
            past = store.change_meeting(relationship_id, past.line.id, decide, past.version, who, now).await?;
            let action = NewAction {
                relationship_id,
                title: "Circulate the recovery plan to every party".into(),
                description: String::new(),
                owner_id: Some(people[6]),
                party_id: contractor,
                due_date: today.checked_add(5.days())?,
                source: None,
            };
            let raise = MeetingCommand::RaiseAction { item_id: *item, action };
            past = store.change_meeting(relationship_id, past.line.id, raise, past.version, who, now).await?;
        }
    }
    let next = store.schedule_meeting(meeting(jmt.id, at(9, "10:00")?), who, now).await?;
    let next = store.change_meeting(relationship_id, next.line.id, MeetingCommand::Prepare, next.version, who, now).await?;
    let add = MeetingCommand::AddItem { title: "Winter ferry timetable and the crane works".into() };
    store.change_meeting(relationship_id, next.line.id, add, next.version, people[0], now).await?;
    store.schedule_meeting(meeting(ser.id, at(35, "14:00")?), people[0], now).await?;
    Ok(())
}

/// A few dozen issues over the last three months: resolved at every level, open at every level
/// (the final sweep escalates those whose time ran out), some near their deadline, one with a
/// party-private note.
async fn seed_issues(store: &dyn Store, clock: &dyn Clock, relationship_id: uuid::Uuid, people: &[uuid::Uuid]) -> anyhow::Result<()> {
    use accord_store::NewIssue;
    use jiff::SignedDuration;
    let now = clock.now();
    let day = |d: f64| SignedDuration::from_secs_f64(d * 86_400.0);
    // (days ago, raiser, title, category, severity, escalations before the end, resolved after days: by party of)
    // People: 0 Alex (port SER), 1 Priya, 2 Tom (port JMT), 3 Hannah (port), 5 Sofia (contractor SER),
    // 6 Daniel, 7 Aisha (contractor JMT), 8 Liam, 9 Mei (contractor), 10 Erik (marine SER), 11 Grace (marine JMT), 12 Noah.
    type Spec = (f64, usize, &'static str, &'static str, &'static str, usize, Option<f64>);
    let specs: [Spec; 30] = [
        (88.0, 8, "Site access gate 3 closed without notice", "delivery", "medium", 0, Some(2.0)),
        (84.0, 3, "Ferry passengers routed through the works zone", "safety", "high", 0, Some(1.0)),
        (80.0, 12, "Survey vessel berth clashes with the ferry timetable", "delivery", "medium", 0, Some(3.0)),
        (77.0, 9, "Concrete cube results missing for pour 14", "quality", "medium", 0, Some(4.0)),
        (74.0, 6, "Variation for extra piling not yet priced", "commercial", "high", 1, Some(12.0)),
        (70.0, 2, "Night works noise complaints from the harbour flats", "relationship", "medium", 0, Some(2.5)),
        (67.0, 11, "Dredging spoil disposal licence conditions unclear", "delivery", "high", 1, Some(9.0)),
        (64.0, 8, "Scaffold inspections not logged on quay 2", "safety", "high", 0, Some(1.5)),
        (61.0, 7, "Interim payment 6 certified late", "commercial", "high", 2, Some(20.0)),
        (58.0, 3, "Temporary lighting fails the port's standard", "safety", "medium", 0, Some(3.0)),
        (55.0, 12, "Bathymetric survey format does not match the BIM model", "quality", "low", 0, Some(6.0)),
        (52.0, 6, "Programme float consumed by the crane outage", "delivery", "critical", 2, Some(16.0)),
        (49.0, 9, "Waste carrier paperwork incomplete", "quality", "low", 0, Some(2.0)),
        (46.0, 1, "Design change requests answered late by the marine designer", "relationship", "medium", 1, Some(8.0)),
        (43.0, 8, "Welfare cabins block the fire route", "safety", "high", 0, Some(0.5)),
        (40.0, 11, "Liquidated damages clause read differently by the parties", "commercial", "critical", 3, Some(25.0)),
        (36.0, 3, "Berth 4 fenders delivered damaged", "quality", "medium", 0, None),
        (33.0, 6, "Contractor's lane closures exceed the agreed plan", "relationship", "high", 1, None),
        (30.0, 12, "Tidal window data shared late", "delivery", "medium", 0, None),
        (27.0, 9, "Asbestos found in the old transit shed", "safety", "critical", 2, None),
        (24.0, 2, "Port security passes slow to issue", "delivery", "low", 0, None),
        (21.0, 7, "Disagreement on the valuation of re-work", "commercial", "high", 3, None),
        (17.0, 8, "Crane booking system double-booked", "delivery", "medium", 0, None),
        (14.0, 11, "Marine works method statement rejected twice", "quality", "medium", 1, None),
        (10.0, 3, "Contractor vehicles parking on the ferry queue lanes", "relationship", "medium", 0, None),
        (8.0, 6, "Storm damage to the temporary works: who pays?", "commercial", "high", 0, None),
        (6.0, 12, "Diver safety briefings not attended by port staff", "safety", "medium", 0, None),
        (4.0, 9, "Inconsistent RAG reporting between the parties", "relationship", "low", 0, None),
        (2.0, 1, "Berth availability forecast missing from the weekly report", "delivery", "medium", 0, None),
        (0.5, 8, "Pontoon handrail loose at the marina end", "safety", "high", 0, None),
    ];
    let party_of = |p: usize| {
        if p <= 4 {
            0
        } else if p <= 9 {
            1
        } else {
            2
        }
    };
    // Someone of each party to propose and accept, and a handler for each level of the default ladder.
    let answerer = [1usize, 6, 11];
    let handler = [6usize, 1, 0, 0];
    for (i, (ago, raiser, title, category, severity, climbs, resolved_after)) in specs.into_iter().enumerate() {
        let start = now - day(ago);
        let new = NewIssue {
            relationship_id,
            title: title.into(),
            description: format!("Raised by the working team on site. {title}."),
            category: category.into(),
            severity: severity.into(),
            links: vec![],
        };
        let issue = store.create_issue(new, people[raiser], start).await?;
        for step in 0..climbs {
            let at = start + day(1.0 + step as f64 * 2.0);
            let reason = [
                "Needs a commercial decision above the site team",
                "The JMT could not agree a way forward",
                "A contractual interpretation for the SERs",
            ][step.min(2)];
            store.escalate_issue(relationship_id, issue.id, reason.into(), people[handler[step]], at).await?;
        }
        if i == 17 {
            store
                .comment_issue(
                    relationship_id,
                    issue.id,
                    "Our own view: the closures were agreed verbally with the harbour master; find the email before the JMT meets.".into(),
                    true,
                    people[7],
                    start + day(0.3),
                )
                .await?;
        }
        if i % 4 == 1 {
            store
                .comment_issue(
                    relationship_id,
                    issue.id,
                    "Photos and the site diary entry are on the shared drive.".into(),
                    false,
                    people[raiser],
                    start + day(0.2),
                )
                .await?;
        }
        let Some(after) = resolved_after else { continue };
        let at = start + day(after);
        let proposer = answerer[party_of(raiser)];
        store
            .propose_resolution(
                relationship_id,
                issue.id,
                "Agreed at the weekly coordination meeting; actions recorded in the minutes.".into(),
                people[proposer],
                at,
            )
            .await?;
        for (party, person) in answerer.iter().enumerate() {
            if party != party_of(raiser) {
                store.respond_to_proposal(relationship_id, issue.id, true, String::new(), people[*person], at + day(0.2)).await?;
            }
        }
    }
    // The server's sweep, as it would have run: whatever ran out of time has climbed.
    store.sweep(now).await?;
    Ok(())
}

/// Two signed records: the joint charter, signed by every party's chair and sealed; a statement
/// of intent that Keystone and Tidewater have signed and that waits on Northshore (whose SER the
/// demo signs in as, so the Sign button shows).
async fn seed_records(store: &dyn Store, clock: &dyn Clock, relationship_id: uuid::Uuid, people: &[uuid::Uuid]) -> anyhow::Result<()> {
    use accord_domain::records::SubjectKind;
    use serde_json::json;
    let parties: Vec<uuid::Uuid> = store.parties(relationship_id).await?.into_iter().map(|p| p.id).collect();
    let day = |days: i64| clock.now() - jiff::SignedDuration::from_hours(24 * days);
    // The JMT chairs sign for Northshore (Priya) and Keystone (Daniel); Tidewater's SER signs for it.
    let signers = vec![(parties[0], people[1]), (parties[1], people[6]), (parties[2], people[11])];
    let charter = accord_store::PutRecord {
        relationship_id,
        kind: SubjectKind::Statement,
        subject_id: uuid::Uuid::now_v7(),
        title: "Joint relationship charter".into(),
        link: format!("/relationships/{relationship_id}"),
        content: json!({
            "purpose": "Renew the northern quays, the ferry terminal and the marine works of Northshore harbour by 2029, as one team.",
            "principles": [
                "One programme, one plan: no party optimises its own part at another's expense.",
                "Problems are raised early, at the lowest level that can solve them, and escalated on time.",
                "Every review is minuted, signed by each party's chair and kept unchanged.",
            ],
            "governance": {
                "joint_management_team": "Meets monthly; chaired in turn by each party.",
                "senior_executive_review": "Quarterly, with every party's SER.",
            },
            "review_due": "2027-03-31",
        }),
        signers,
    };
    let charter = store.put_record(charter, Some(people[1]), day(80)).await?;
    for (signer, at) in [(people[1], 79), (people[6], 78), (people[10], 77)] {
        store.sign_record(relationship_id, charter.id, charter.hash.clone(), signer, day(at)).await?;
    }
    let intent = accord_store::PutRecord {
        relationship_id,
        kind: SubjectKind::Statement,
        subject_id: uuid::Uuid::now_v7(),
        title: "Statement of intent: ferry terminal phase 2".into(),
        link: format!("/relationships/{relationship_id}"),
        content: json!({
            "intent": "Start the ferry terminal's second phase in the spring, once the temporary berth is in service.",
            "conditions": ["Temporary berth accepted by the harbour master", "Dredging volumes confirmed by Tidewater's survey"],
            "budget_share": {"northshore": "55%", "keystone": "30%", "tidewater": "15%"},
        }),
        // Northshore's SER is named too: they sign it whatever their role by then.
        signers: vec![(parties[0], people[0]), (parties[1], people[6]), (parties[2], people[11])],
    };
    let intent = store.put_record(intent, Some(people[1]), day(6)).await?;
    for (signer, at) in [(people[6], 5), (people[10], 4)] {
        store.sign_record(relationship_id, intent.id, intent.hash.clone(), signer, day(at)).await?;
    }
    Ok(())
}
