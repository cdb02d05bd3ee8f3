//! Playing the plans: each step through the store, day by day, with the sweep at each midnight.

use super::*;

/// Calls and time spent per store method, to say where seeding spends its time.
#[derive(Default)]
pub(super) struct Timings(std::collections::BTreeMap<&'static str, (u64, Duration)>);

impl Timings {
    pub(super) fn add(&mut self, kind: &'static str, took: Duration) {
        let entry = self.0.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += took;
    }

    pub(super) fn merge(&mut self, other: &Timings) {
        for (kind, (calls, took)) in &other.0 {
            let entry = self.0.entry(kind).or_default();
            entry.0 += calls;
            entry.1 += *took;
        }
    }

    /// The `n` methods that took longest: `create_issue 4.2 s (420 µs each), ...`.
    pub(super) fn top(&self, n: usize) -> String {
        let mut rows: Vec<_> = self.0.iter().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.1.1));
        let each = |(calls, took): &(u64, Duration)| took.as_secs_f64() * 1e6 / (*calls).max(1) as f64;
        let rows: Vec<String> =
            rows.iter().take(n).map(|(k, v)| format!("{k} {:.1} s ({:.0} µs each)", v.1.as_secs_f64(), each(v))).collect();
        rows.join(", ")
    }

    /// `{"create_issue": {"calls": 10000, "seconds": 4.2, "mean_us": 420}, ...}`.
    pub(super) fn to_json(&self) -> serde_json::Value {
        let map = self
            .0
            .iter()
            .map(|(kind, (calls, took))| {
                let mean = took.as_secs_f64() * 1e6 / (*calls).max(1) as f64;
                (
                    kind.to_string(),
                    json!({"calls": calls, "seconds": (took.as_secs_f64() * 1000.0).round() / 1000.0, "mean_us": mean.round()}),
                )
            })
            .collect::<serde_json::Map<_, _>>();
        serde_json::Value::Object(map)
    }
}

/// One relationship's plan and, while it is played, what the store gave back.
pub(super) struct Run {
    pub(super) name: String,
    pub(super) purpose: String,
    pub(super) start: Date,
    pub(super) time_zone: &'static str,
    pub(super) organisations: Vec<Uuid>,
    pub(super) steps: Vec<Step>,
    pub(super) next: usize,
    pub(super) id: Uuid,
    pub(super) parties: Vec<Uuid>,
    pub(super) objectives: Vec<(Uuid, i64)>,
    pub(super) kpis: Vec<Uuid>,
    pub(super) obligations: Vec<(Uuid, i64)>,
    pub(super) actions: Vec<(Uuid, i64)>,
    pub(super) issues: Vec<Uuid>,
    pub(super) timings: Timings,
}

impl Run {
    pub(super) fn new(name: String, start: Date, time_zone: &'static str, organisations: Vec<Uuid>) -> Run {
        Run {
            purpose: format!("{name}: plan and deliver the works jointly, share risks and resolve problems early."),
            name,
            start,
            time_zone,
            organisations,
            steps: Vec::new(),
            next: 0,
            id: Uuid::nil(),
            parties: Vec::new(),
            objectives: Vec::new(),
            kpis: Vec::new(),
            obligations: Vec::new(),
            actions: Vec::new(),
            issues: Vec::new(),
            timings: Timings::default(),
        }
    }

    pub(super) fn push(&mut self, at: Timestamp, op: Op) {
        self.steps.push(Step { at, op });
    }

    /// Orders the plan by time (stable: steps planned at the same moment keep their order) and
    /// drops what lies in the future.
    pub(super) fn finish_plan(&mut self, now: Timestamp) {
        self.steps.retain(|s| s.at <= now);
        self.steps.sort_by_key(|s| s.at);
    }

    pub(super) fn pending_before(&self, until: Timestamp) -> bool {
        self.steps.get(self.next).is_some_and(|s| s.at < until)
    }

    /// Plays every step before `until`.
    pub(super) async fn advance(&mut self, store: &dyn Store, until: Timestamp, done: &AtomicU64) -> anyhow::Result<()> {
        while self.next < self.steps.len() && self.steps[self.next].at < until {
            let step = std::mem::replace(&mut self.steps[self.next], Step { at: Timestamp::UNIX_EPOCH, op: Op::Create });
            let started = Instant::now();
            self.apply(store, step.at, &step.op).await.with_context(|| format!("{} at {}", self.name, step.at))?;
            self.timings.add(step.op.kind(), started.elapsed());
            // What was played is no longer needed: keep only the time.
            self.steps[self.next].at = step.at;
            self.next += 1;
            done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    pub(super) async fn apply(&mut self, store: &dyn Store, now: Timestamp, op: &Op) -> anyhow::Result<()> {
        let rid = self.id;
        match op {
            Op::Create => {
                let input = RelationshipInput {
                    name: &self.name,
                    purpose: &self.purpose,
                    start_date: &self.start.to_string(),
                    time_zone: self.time_zone,
                };
                let new =
                    NewRelationship::parse(input, Some(self.organisations.clone()), Invalid::default()).map_err(|e| anyhow!("{e}"))?;
                let r = store.create_relationship(new, None, now).await?;
                self.id = r.id;
                let parties = store.parties(r.id).await?;
                // In the order of `organisations`, which the plan's party numbers follow.
                self.parties = self
                    .organisations
                    .iter()
                    .map(|o| parties.iter().find(|p| p.organisation_id == *o).map(|p| p.id).ok_or_else(|| anyhow!("party missing")))
                    .collect::<anyhow::Result<_>>()?;
            }
            Op::Member { user, role, by } => {
                store.add_member(rid, *user, *role, *by, now).await?;
            }
            Op::Ladder { coordinators, by } => {
                let level = |name: &str, roles: Vec<Role>, members: Vec<Uuid>, days| LadderLevel {
                    name: name.into(),
                    roles,
                    members,
                    limit: Limit::WorkingDays(days),
                };
                let levels = vec![
                    level("Working level", vec![], coordinators.clone(), 5),
                    level("Joint Management Team", vec![Role::Jmt], vec![], 10),
                    level("Senior Executives", vec![Role::Ser], vec![], 10),
                    level("Mediation", vec![Role::Ser], vec![], 20),
                ];
                store.save_ladder(rid, levels, 0, *by, now).await?;
            }
            Op::Holidays { party, days, by } => {
                store.set_holidays(rid, self.parties[*party], days.clone(), *by, now).await?;
            }
            Op::Objective { slot, title, description, parties, review_months, by } => {
                let new = NewObjective {
                    relationship_id: rid,
                    title: (*title).into(),
                    description: (*description).into(),
                    parties: parties.iter().map(|p| self.parties[*p]).collect(),
                    review_months: *review_months,
                    next_review: date_of(now).checked_add((*review_months).months())?,
                };
                let o = store.create_objective(new, *by, now).await?;
                set(&mut self.objectives, *slot, (o.id, o.version));
            }
            Op::Review { slot, verdict, next_review, by } => {
                let (id, version) = self.objectives[*slot];
                let review = ObjectiveReview {
                    verdict: *verdict,
                    reason: match verdict {
                        Verdict::Revised => "Reworded after the annual review of the relationship management plan.".into(),
                        _ => "Still what the parties want to achieve together.".into(),
                    },
                    title: None,
                    description: (*verdict == Verdict::Revised).then(|| "Reworded at the annual review; the intent is unchanged.".into()),
                    next_review: *next_review,
                };
                let o = store.review_objective(rid, id, review, version, *by, now).await?;
                self.objectives[*slot] = (o.id, o.version);
            }
            Op::Kpi { slot, spec, name, party, reporter, objective, from, by } => {
                let spec = &KPIS[*spec];
                let thresholds = Thresholds::new(spec.direction, spec.t.0, spec.t.1, spec.t.2).map_err(|(f, m)| anyhow!("{f}: {m}"))?;
                let new = NewKpi {
                    relationship_id: rid,
                    name: name.clone(),
                    definition: format!("{} as reported each month by the responsible party", spec.name),
                    unit: spec.unit.into(),
                    cadence: Cadence::Monthly,
                    party_id: party.map(|p| self.parties[p]),
                    reporter_id: Some(*reporter),
                    objectives: self.objectives.get(*objective).map(|o| o.0).into_iter().collect(),
                    thresholds,
                    effective_from: *from,
                };
                let k = store.create_kpi(new, *by, now).await?;
                set(&mut self.kpis, *slot, k.id);
            }
            Op::Import { rows, by } => {
                let rows = rows
                    .iter()
                    .map(|(kpi, period, value)| MeasurementInput {
                        kpi_id: self.kpis[*kpi],
                        period_start: *period,
                        value: *value,
                        comment: String::new(),
                    })
                    .collect();
                store.import_measurements(rid, rows, "seeded-history", Some(*by), now).await?;
            }
            Op::Record { kpi, period, value, comment, by } => {
                let input = MeasurementInput { kpi_id: self.kpis[*kpi], period_start: *period, value: *value, comment: (*comment).into() };
                store.record_measurement(rid, input, *by, now).await?;
            }
            Op::Obligation { slot, party, title, recurrence, due, by } => {
                let new = NewObligation {
                    relationship_id: rid,
                    party_id: self.parties[*party],
                    title: (*title).into(),
                    description: String::new(),
                    recurrence: (*recurrence).into(),
                    due_date: *due,
                };
                let o = store.create_obligation(new, *by, now).await?;
                set(&mut self.obligations, *slot, (o.id, o.version));
            }
            Op::ObligationUpdate { slot, status, evidence, due, by } => {
                let (id, version) = self.obligations[*slot];
                let change = ObligationChange { status: *status, evidence: (*evidence).into(), due_date: *due };
                let o = store.update_obligation(rid, id, change, version, *by, now).await?;
                self.obligations[*slot] = (o.id, o.version);
            }
            Op::Action { slot, title, party, owner, due, source, by } => {
                let new = NewAction {
                    relationship_id: rid,
                    title: (*title).into(),
                    description: String::new(),
                    owner_id: Some(*owner),
                    party_id: self.parties[*party],
                    due_date: *due,
                    source: source.map(|(kpi, period)| ActionSource {
                        kind: "kpi_period".into(),
                        id: self.kpis[kpi],
                        period: Some(period),
                    }),
                };
                let a = store.create_action(new, *by, now).await?;
                set(&mut self.actions, *slot, (a.id, a.version));
            }
            Op::ActionUpdate { slot, status, owner, due, by } => {
                let (id, version) = self.actions[*slot];
                let change = ActionChange { status: *status, owner_id: Some(*owner), due_date: *due };
                let a = store.update_action(rid, id, change, version, *by, now).await?;
                self.actions[*slot] = (a.id, a.version);
            }
            Op::Raise { slot, title, category, severity, kpi, by } => {
                let new = NewIssue {
                    relationship_id: rid,
                    title: (*title).into(),
                    description: format!("{title}. Raised by the team on site; details and photos in the project record."),
                    category: (*category).into(),
                    severity: (*severity).into(),
                    links: kpi.map(|k| accord_store::IssueLink { kind: "kpi".into(), id: self.kpis[k] }).into_iter().collect(),
                };
                let issue = store.create_issue(new, *by, now).await?;
                set(&mut self.issues, *slot, issue.id);
            }
            Op::Comment { slot, body, private, by } => {
                store.comment_issue(rid, self.issues[*slot], (*body).into(), *private, *by, now).await?;
            }
            Op::Escalate { slot, by } => {
                let reason = "Needs a decision above the site team".to_owned();
                store.escalate_issue(rid, self.issues[*slot], reason, *by, now).await?;
            }
            Op::Propose { slot, body, by } => {
                store.propose_resolution(rid, self.issues[*slot], (*body).into(), *by, now).await?;
            }
            Op::Respond { slot, accept, reason, by } => {
                store.respond_to_proposal(rid, self.issues[*slot], *accept, (*reason).into(), *by, now).await?;
            }
            Op::Withdraw { slot, by } => {
                let reason = "Resolved on site without needing the ladder.".to_owned();
                store.withdraw_issue(rid, self.issues[*slot], reason, *by, now).await?;
            }
        }
        Ok(())
    }
}

pub(super) struct Org {
    pub(super) id: Uuid,
    pub(super) people: Vec<Uuid>,
}

/// Organisations and their people: created first, before any relationship.
pub(super) async fn people(
    store: &dyn Store, names: &[String], per_organisation: &[usize], password_hash: &str, from: Timestamp, done: &AtomicU64,
) -> anyhow::Result<Vec<Org>> {
    let mut rng = Rng(7);
    let mut t = from;
    let mut everyone = Vec::new();
    for (i, (name, count)) in names.iter().zip(per_organisation).enumerate() {
        let org = store.create_organisation(Name::parse(name).map_err(|m| anyhow!("{name}: {m}"))?, None, t).await?;
        let domain: String = name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
        let mut ids = Vec::new();
        for n in 0..*count {
            t += SignedDuration::from_secs(20);
            let first = FIRST_NAMES[rng.below(FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.below(LAST_NAMES.len())];
            let local: String =
                format!("{first}.{last}").to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.').collect();
            let email = format!("{local}.{n}@{domain}{i}.example");
            let user = NewUser {
                email: Email::parse(&email).map_err(|m| anyhow!("{email}: {m}"))?,
                name: Name::parse(&format!("{first} {last}")).map_err(|m| anyhow!(m))?,
                organisation_id: Some(org.id),
                is_admin: false,
                password_hash: Some(password_hash.to_owned()),
            };
            ids.push(store.create_user(user, None, t).await?.id);
            done.fetch_add(1, Ordering::Relaxed);
        }
        everyone.push(Org { id: org.id, people: ids });
        t += SignedDuration::from_secs(60);
    }
    Ok(everyone)
}

/// Plays every plan day by day, with the escalation sweep at each midnight, then sweeps at `now`.
pub(super) async fn play(
    store: Arc<dyn Store>, runs: &mut [Option<Run>], jobs: usize, now: Timestamp, done: Arc<AtomicU64>, sweeps: &mut Timings,
) -> anyhow::Result<()> {
    let first = runs.iter().flatten().filter_map(|r| r.steps.first()).map(|s| s.at).min().unwrap_or(now);
    let mut midnight = at(date_of(first), 0.0) + days(1.0);
    loop {
        let until = midnight.min(now + SignedDuration::from_secs(1));
        play_until(&store, runs, jobs, until, &done).await?;
        if until > now {
            break;
        }
        let started = Instant::now();
        store.sweep(until).await.context("the sweep")?;
        sweeps.add("sweep", started.elapsed());
        done.fetch_add(1, Ordering::Relaxed);
        midnight += days(1.0);
    }
    store.sweep(now).await.context("the last sweep")?;
    Ok(())
}

pub(super) async fn play_until(
    store: &Arc<dyn Store>, runs: &mut [Option<Run>], jobs: usize, until: Timestamp, done: &Arc<AtomicU64>,
) -> anyhow::Result<()> {
    if jobs <= 1 {
        for run in runs.iter_mut().flatten() {
            if run.pending_before(until) {
                run.advance(store.as_ref(), until, done).await?;
            }
        }
        return Ok(());
    }
    // Relationships are independent within a day: up to `jobs` of them play at once.
    let permits = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut set = tokio::task::JoinSet::new();
    for (i, slot) in runs.iter_mut().enumerate() {
        if !slot.as_ref().is_some_and(|r| r.pending_before(until)) {
            continue;
        }
        let Some(mut run) = slot.take() else { continue };
        let permit = permits.clone().acquire_owned().await?;
        let (store, done) = (store.clone(), done.clone());
        set.spawn(async move {
            let result = run.advance(store.as_ref(), until, &done).await;
            drop(permit);
            (i, run, result)
        });
    }
    let mut failed = None;
    while let Some(joined) = set.join_next().await {
        let (i, run, result) = joined?;
        runs[i] = Some(run);
        if let Err(e) = result {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// Seeds the large, small or tiny history.
pub(super) async fn history(
    store: Arc<dyn Store>, profile: &str, shape: Shape, password_hash: &str, jobs: usize, now: Timestamp,
) -> anyhow::Result<serde_json::Value> {
    let mut rng = Rng(2026);
    // Organisations: a pool shared by the ordinary relationships, and the heavy one's three.
    let mut names: Vec<String> =
        (0..shape.organisations).map(|i| format!("{} {}", PLACES[i % PLACES.len()], TRADES[(i / PLACES.len()) % TRADES.len()])).collect();
    let mut counts = vec![shape.people_per_organisation; shape.organisations];
    names.extend(["Metro Transit Authority", "Crossrail Civil Partners", "Signalworks Systems"].map(String::from));
    counts.extend([shape.heavy_people_per_party, shape.heavy_people_per_party, shape.heavy_people_per_party - 1]);
    let heavy_start = months_ago(now, shape.heavy_months);
    let site_from = at(heavy_start, 8.0) - days(30.0);

    let done = Arc::new(AtomicU64::new(0));
    let users: usize = counts.iter().sum();
    let bar = Bar::start("accounts", users as u64, done.clone());
    let everyone = people(store.as_ref(), &names, &counts, password_hash, site_from, &done).await?;
    bar.finish();

    // The plans.
    let mut runs: Vec<Option<Run>> = Vec::new();
    let mut teams = Vec::new();
    for i in 0..shape.ordinary {
        let mut orgs: Vec<usize> = Vec::new();
        while orgs.len() < 3 {
            let o = rng.below(shape.organisations);
            if !orgs.contains(&o) {
                orgs.push(o);
            }
        }
        let mut parties = Vec::new();
        for (p, o) in orgs.iter().enumerate() {
            let mut pool = everyone[*o].people.clone();
            let mut take = |rng: &mut Rng| pool.remove(rng.below(pool.len()));
            let mut people = vec![Person { id: take(&mut rng), role: Role::Ser }, Person { id: take(&mut rng), role: Role::Jmt }];
            let contributors = if p == 0 { 2 } else { 1 + rng.below(2) };
            for _ in 0..contributors {
                people.push(Person { id: take(&mut rng), role: Role::Contributor });
            }
            if rng.chance(0.3) {
                people.push(Person { id: take(&mut rng), role: Role::Observer });
            }
            parties.push(people);
        }
        let name = format!(
            "{} {} {}",
            PLACES[i % PLACES.len()],
            WORKS[(i / PLACES.len()) % WORKS.len()],
            KINDS[(i / (PLACES.len() * WORKS.len())) % KINDS.len()]
        );
        let name = if i >= PLACES.len() * WORKS.len() * KINDS.len() { format!("{name} {i}") } else { name };
        let start = date_of(now - days(rng.range(180.0, 1_460.0)));
        let zone = rng.pick(&["Europe/London", "Europe/London", "Europe/Paris", "America/New_York"]);
        runs.push(Some(Run::new(name, start, zone, orgs.iter().map(|o| everyone[*o].id).collect())));
        teams.push(Team { parties });
    }
    // The heavy relationship: 3 parties of about 27 people each.
    let heavy_orgs: Vec<usize> = (shape.organisations..shape.organisations + 3).collect();
    let mut heavy_team = Team { parties: Vec::new() };
    for o in &heavy_orgs {
        let ids = &everyone[*o].people;
        let people = ids
            .iter()
            .enumerate()
            .map(|(n, id)| Person {
                id: *id,
                role: match n {
                    0 => Role::Ser,
                    n if n <= 4 => Role::Jmt,
                    n if n * 10 < ids.len() * 7 => Role::Contributor,
                    _ => Role::Observer,
                },
            })
            .collect();
        heavy_team.parties.push(people);
    }
    runs.push(Some(Run::new(
        "Metro Line Extension Alliance".into(),
        heavy_start,
        "Europe/London",
        heavy_orgs.iter().map(|o| everyone[*o].id).collect(),
    )));
    teams.push(heavy_team);
    let heavy = runs.len() - 1;

    let ordinary = Sizes {
        kpis: shape.ordinary_kpis,
        periods: 0,
        issues: shape.ordinary_issues,
        actions: shape.ordinary_actions,
        obligations: 3,
        objectives: 2,
    };
    let mut busiest = 0;
    for (i, (run, team)) in runs.iter_mut().zip(&teams).enumerate() {
        let run = run.as_mut().expect("planned");
        if i == heavy {
            let sizes = Sizes {
                kpis: shape.heavy_kpis,
                periods: shape.heavy_periods,
                issues: shape.heavy_issues,
                actions: shape.heavy_actions,
                obligations: shape.heavy_obligations,
                objectives: 10.min(shape.heavy_kpis),
            };
            busiest = plan(&mut rng, run, team, &sizes, true, now);
        } else {
            // A year of history before the relationship began, then every month since.
            let months = (days_between(at(run.start, 0.0), now) / 30.4) as usize + 12;
            plan(&mut rng, run, team, &Sizes { periods: months, ..ordinary }, false, now);
        }
    }
    let steps: usize = runs.iter().flatten().map(|r| r.steps.len()).sum();
    let sweeps = days_between(at(heavy_start, 0.0), now) as u64 + 2;
    eprintln!(
        "planned {} relationships, {} steps; playing them day by day from {} ({} at once)",
        thousands(runs.len()),
        thousands(steps),
        heavy_start,
        jobs
    );
    done.store(0, Ordering::Relaxed);
    let bar = Bar::start("steps", steps as u64 + sweeps, done.clone());
    let mut timings = Timings::default();
    play(store.clone(), &mut runs, jobs, now, done, &mut timings).await?;
    bar.finish();
    for run in runs.iter().flatten() {
        timings.merge(&run.timings);
    }
    eprintln!("time in the store: {}", timings.top(6));
    let timings = timings.to_json();

    let heavy_run = runs[heavy].as_ref().expect("played");
    let heavy_team = &teams[heavy];
    let login = heavy_team.with_role(0, &[Role::Jmt])[0];
    let login = store.user(login).await?;
    let mut events = 0;
    for chain in store.audit_chains().await? {
        events += store.chain_head(chain).await?.map_or(0, |h| h.position);
    }
    let heavy_events = store.chain_head(heavy_run.id).await?.map_or(0, |h| h.position);
    Ok(json!({
        "profile": profile,
        "organisations": names.len(),
        "users": users,
        "relationships": runs.len(),
        "audit_events": events,
        "store_calls": timings,
        "heavy": {
            "id": heavy_run.id,
            "name": heavy_run.name,
            "members": heavy_team.parties.iter().map(Vec::len).sum::<usize>(),
            "kpis": heavy_run.kpis.len(),
            "kpi": heavy_run.kpis.first(),
            "issues": heavy_run.issues.len(),
            "issue": heavy_run.issues.get(busiest),
            "actions": heavy_run.actions.len(),
            "audit_events": heavy_events,
            "login": login.email,
        },
    }))
}
