//! The plan: each relationship's history as dated steps.

use super::*;

#[derive(Clone, Copy)]
pub(super) struct Person {
    pub(super) id: Uuid,
    pub(super) role: Role,
}

/// The members of a relationship, by party.
pub(super) struct Team {
    pub(super) parties: Vec<Vec<Person>>,
}

impl Team {
    pub(super) fn ser(&self, party: usize) -> Uuid {
        self.parties[party].iter().find(|p| p.role == Role::Ser).map_or(Uuid::nil(), |p| p.id)
    }

    pub(super) fn with_role(&self, party: usize, roles: &[Role]) -> Vec<Uuid> {
        self.parties[party].iter().filter(|p| roles.contains(&p.role)).map(|p| p.id).collect()
    }

    /// Someone who manages for the party (a JMT member, else the SER).
    pub(super) fn manager(&self, rng: &mut Rng, party: usize) -> Uuid {
        let jmt = self.with_role(party, &[Role::Jmt]);
        if jmt.is_empty() { self.ser(party) } else { rng.pick(&jmt) }
    }

    /// Someone who does the work (a contributor or JMT member).
    pub(super) fn worker(&self, rng: &mut Rng, party: usize) -> Uuid {
        let people = self.with_role(party, &[Role::Contributor, Role::Jmt]);
        if people.is_empty() { self.ser(party) } else { rng.pick(&people) }
    }

    pub(super) fn any(&self, rng: &mut Rng, party: usize) -> Uuid {
        let people = self.with_role(party, &[Role::Contributor, Role::Jmt, Role::Ser]);
        rng.pick(&people)
    }
}

pub(super) enum Op {
    Create,
    Member { user: Uuid, role: Role, by: Option<Uuid> },
    Ladder { coordinators: Vec<Uuid>, by: Uuid },
    Holidays { party: usize, days: Vec<(Date, String)>, by: Uuid },
    Objective { slot: usize, title: &'static str, description: &'static str, parties: Vec<usize>, review_months: i32, by: Uuid },
    Review { slot: usize, verdict: Verdict, next_review: Date, by: Uuid },
    Kpi { slot: usize, spec: usize, name: String, party: Option<usize>, reporter: Uuid, objective: usize, from: Date, by: Uuid },
    Import { rows: Vec<(usize, Date, f64)>, by: Uuid },
    Record { kpi: usize, period: Date, value: f64, comment: &'static str, by: Uuid },
    Obligation { slot: usize, party: usize, title: &'static str, recurrence: &'static str, due: Date, by: Uuid },
    ObligationUpdate { slot: usize, status: ObligationStatus, evidence: &'static str, due: Date, by: Uuid },
    Action { slot: usize, title: &'static str, party: usize, owner: Uuid, due: Date, source: Option<(usize, Date)>, by: Uuid },
    ActionUpdate { slot: usize, status: ActionStatus, owner: Uuid, due: Date, by: Uuid },
    Raise { slot: usize, title: &'static str, category: &'static str, severity: &'static str, kpi: Option<usize>, by: Uuid },
    Comment { slot: usize, body: &'static str, private: bool, by: Uuid },
    Escalate { slot: usize, by: Uuid },
    Propose { slot: usize, body: &'static str, by: Uuid },
    Respond { slot: usize, accept: bool, reason: &'static str, by: Uuid },
    Withdraw { slot: usize, by: Uuid },
}

impl Op {
    /// The store call the step makes.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Op::Create => "create_relationship",
            Op::Member { .. } => "add_member",
            Op::Ladder { .. } => "save_ladder",
            Op::Holidays { .. } => "set_holidays",
            Op::Objective { .. } => "create_objective",
            Op::Review { .. } => "review_objective",
            Op::Kpi { .. } => "create_kpi",
            Op::Import { .. } => "import_measurements",
            Op::Record { .. } => "record_measurement",
            Op::Obligation { .. } => "create_obligation",
            Op::ObligationUpdate { .. } => "update_obligation",
            Op::Action { .. } => "create_action",
            Op::ActionUpdate { .. } => "update_action",
            Op::Raise { .. } => "create_issue",
            Op::Comment { .. } => "comment_issue",
            Op::Escalate { .. } => "escalate_issue",
            Op::Propose { .. } => "propose_resolution",
            Op::Respond { .. } => "respond_to_proposal",
            Op::Withdraw { .. } => "withdraw_issue",
        }
    }
}

pub(super) struct Step {
    pub(super) at: Timestamp,
    pub(super) op: Op,
}

pub(super) fn set<T: Copy + Default>(items: &mut Vec<T>, slot: usize, value: T) {
    if items.len() <= slot {
        items.resize(slot + 1, T::default());
    }
    items[slot] = value;
}

/// What the plan of one relationship is made of.
pub(super) struct Sizes {
    pub(super) kpis: usize,
    pub(super) periods: usize,
    pub(super) issues: usize,
    pub(super) actions: usize,
    pub(super) obligations: usize,
    pub(super) objectives: usize,
}

/// Plans a relationship: members join, then years of measures, actions, obligations and issues.
pub(super) fn plan(rng: &mut Rng, run: &mut Run, team: &Team, sizes: &Sizes, heavy: bool, now: Timestamp) -> usize {
    let created = at(run.start, 9.0);
    let parties = team.parties.len();
    run.push(created, Op::Create);
    // Each party's SER joins first and brings in the rest of the party.
    let mut minute = 1.0;
    for party in 0..parties {
        let ser = team.ser(party);
        run.push(created + hours(minute / 60.0), Op::Member { user: ser, role: Role::Ser, by: None });
        minute += 1.0;
    }
    for (party, people) in team.parties.iter().enumerate() {
        for p in people.iter().filter(|p| p.role != Role::Ser) {
            run.push(created + hours(minute / 60.0), Op::Member { user: p.id, role: p.role, by: Some(team.ser(party)) });
            minute += 1.0;
        }
    }
    let setup = created + hours(3.0);
    let lead = team.manager(rng, 0);
    if heavy {
        // A big team names its working-level coordinators rather than alerting every contributor.
        let coordinators: Vec<Uuid> = (0..parties).flat_map(|p| team.with_role(p, &[Role::Jmt]).into_iter().take(2)).collect();
        run.push(setup, Op::Ladder { coordinators, by: team.ser(0) });
        let years = run.start.year()..=date_of(now).year() + 1;
        for party in 0..parties {
            let mut list = Vec::new();
            for year in years.clone() {
                let mut add = |m: i8, d: i8, name: &str| {
                    if let Ok(date) = Date::new(year, m, d) {
                        list.push((date, name.to_owned()));
                    }
                };
                add(1, 1, "New Year's Day");
                add(12, 25, "Christmas Day");
                add(12, 26, "Boxing Day");
                if party == 2 {
                    add(5, 1, "Labour Day");
                }
            }
            run.push(setup + hours(0.1 * party as f64), Op::Holidays { party, days: list, by: team.ser(party) });
        }
    }

    // Objectives, reviewed for relevance every 6 or 12 months.
    let day1 = created + days(1.0);
    for slot in 0..sizes.objectives {
        let (title, description) = OBJECTIVES[slot % OBJECTIVES.len()];
        let review_months = if slot % 2 == 0 { 12 } else { 6 };
        let owners: Vec<usize> = if slot % 3 == 0 { (0..parties).collect() } else { vec![slot % parties, (slot + 1) % parties] };
        run.push(day1, Op::Objective { slot, title, description, parties: owners, review_months, by: lead });
        let mut review = run.start.checked_add(review_months.months()).unwrap_or(run.start);
        while at(review, 11.0) < now {
            let next_review = review.checked_add(review_months.months()).unwrap_or(review);
            let verdict = if rng.chance(0.15) { Verdict::Revised } else { Verdict::Relevant };
            run.push(working(at(review, 11.0), rng), Op::Review { slot, verdict, next_review, by: team.ser(slot % parties) });
            review = next_review;
        }
    }

    // KPIs: monthly, with a year or more of history imported when the relationship began, then
    // reported each month by their reporter, sometimes corrected.
    let this_month = Period::containing(Cadence::Monthly, date_of(now));
    let periods = this_month.previous().last_n(sizes.periods);
    let first_live = Period::containing(Cadence::Monthly, run.start);
    let mut import = Vec::new();
    let offset = rng.below(KPIS.len());
    for slot in 0..sizes.kpis {
        // Distinct names: a spec each while there are enough, then the specs again per zone.
        let (spec, name) = if sizes.kpis > KPIS.len() {
            (slot % KPIS.len(), format!("{} – {}", KPIS[slot % KPIS.len()].name, ZONES[slot / KPIS.len() % ZONES.len()]))
        } else {
            let spec = (offset + slot * 5) % KPIS.len();
            (spec, KPIS[spec].name.to_owned())
        };
        let party = (slot % 4 != 3).then_some(slot % parties);
        let reporter = team.worker(rng, party.unwrap_or(0));
        let kpi =
            Op::Kpi { slot, spec, name, party, reporter, objective: slot % sizes.objectives.max(1), from: periods[0].start, by: lead };
        run.push(day1 + hours(0.5), kpi);
        let s = &KPIS[spec];
        let drift = rng.range(-0.3, 0.3) * s.swing / periods.len() as f64;
        for (m, period) in periods.iter().enumerate() {
            let mut value = s.base + drift * m as f64 + rng.range(-1.0, 1.0) * s.swing;
            if s.unit == "%" {
                value = value.min(100.0);
            }
            let value = ((value.max(0.0)) * 100.0).round() / 100.0;
            if period.start < first_live.start {
                import.push((slot, period.start, value));
            } else {
                let entered = working(at(period.end(), 10.0) + days(rng.range(1.0, 8.0)), rng);
                run.push(entered, Op::Record { kpi: slot, period: period.start, value, comment: "", by: reporter });
                if rng.chance(0.03) {
                    let corrected = ((value * 1.02) * 100.0).round() / 100.0;
                    let comment = "Corrected after checking the source data.";
                    run.push(entered + days(2.0), Op::Record { kpi: slot, period: period.start, value: corrected, comment, by: reporter });
                }
            }
        }
    }
    if !import.is_empty() {
        run.push(day1 + hours(1.0), Op::Import { rows: import, by: lead });
    }

    // Obligations of every party, their status reported every month or two.
    for slot in 0..sizes.obligations {
        let party = slot % parties;
        let (title, recurrence) = OBLIGATIONS[slot % OBLIGATIONS.len()];
        let created_at = created + days(2.0 + rng.range(0.0, 60.0));
        let mut due = date_of(created_at).checked_add(30.days()).unwrap_or(run.start);
        let by = team.manager(rng, party);
        run.push(created_at, Op::Obligation { slot, party, title, recurrence, due, by });
        let mut t = created_at + days(rng.range(20.0, 60.0));
        while t < now {
            let roll = rng.unit();
            let (status, evidence) = match roll {
                r if r < 0.45 => (ObligationStatus::Delivered, "Delivered as agreed; record in the project file."),
                r if r < 0.75 => (ObligationStatus::OnTrack, ""),
                r if r < 0.92 => (ObligationStatus::AtRisk, "Resources stretched this month."),
                _ => (ObligationStatus::Missed, "Missed: see the recovery action."),
            };
            if status == ObligationStatus::Delivered {
                due = due.checked_add(if recurrence == "weekly" { 7.days() } else { 30.days() }).unwrap_or(due);
            }
            run.push(working(t, rng), Op::ObligationUpdate { slot, status, evidence, due, by });
            t += days(rng.range(30.0, 75.0));
        }
    }

    // Actions: most done by their due date, some late, some cancelled, the recent ones open.
    let span = days_between(created + days(7.0), now);
    for slot in 0..sizes.actions {
        let created_at = working(created + days(7.0 + rng.range(0.0, span - 1.0)), rng);
        let party = rng.below(parties);
        let owner = team.worker(rng, party);
        let by = team.manager(rng, party);
        let due = date_of(created_at + days(rng.range(7.0, 60.0)));
        let source = (rng.chance(0.2) && sizes.kpis > 0).then(|| {
            let period = Period::containing(Cadence::Monthly, date_of(created_at)).previous().start;
            (rng.below(sizes.kpis), period.max(periods[0].start))
        });
        run.push(created_at, Op::Action { slot, title: rng.pick(&ACTIONS), party, owner, due, source, by });
        if rng.chance(0.4) {
            let started = created_at + days(rng.range(0.5, 5.0));
            run.push(started, Op::ActionUpdate { slot, status: ActionStatus::InProgress, owner, due, by });
        }
        let due_at = at(due, 12.0);
        if due_at < now - days(14.0) {
            let roll = rng.unit();
            let closed = working((due_at + days(rng.range(-8.0, 8.0))).max(created_at + days(5.5)), rng);
            if roll < 0.85 {
                run.push(closed, Op::ActionUpdate { slot, status: ActionStatus::Done, owner, due, by: owner });
            } else if roll < 0.9 {
                run.push(closed, Op::ActionUpdate { slot, status: ActionStatus::Cancelled, owner, due, by });
            }
        }
    }

    // Issues, raised evenly over the relationship's life.
    let mut busiest = (0, 0);
    for slot in 0..sizes.issues {
        // Never after `now`: early on a Monday the next working hours are still to come.
        let raised = working(created + days(7.0 + rng.range(0.0, span - 0.5)), rng).min(now);
        let before = run.steps.len();
        plan_issue(rng, run, team, slot, raised, sizes.kpis, now);
        let steps = run.steps.iter().skip(before).filter(|s| s.at <= now).count();
        if steps > busiest.1 {
            busiest = (slot, steps);
        }
    }
    run.finish_plan(now);
    busiest.0
}

/// An issue's life: raised, discussed, perhaps escalated early; then resolved at some level of
/// the ladder (the daily sweep escalates it until then), withdrawn, or still open.
pub(super) fn plan_issue(rng: &mut Rng, run: &mut Run, team: &Team, slot: usize, raised: Timestamp, kpis: usize, now: Timestamp) {
    let parties = team.parties.len();
    let party = rng.below(parties);
    let raiser = team.worker(rng, party);
    let (title, category) = rng.pick(&ISSUE_TITLES);
    let kpi = (kpis > 0 && rng.chance(0.15)).then(|| rng.below(kpis));
    run.push(raised, Op::Raise { slot, title, category, severity: rng.pick(&SEVERITIES), kpi, by: raiser });
    let age = days_between(raised, now);
    enum Fate {
        Resolved(usize),
        Withdrawn,
        Open,
    }
    let level = |rng: &mut Rng| match rng.unit() {
        r if r < 0.45 => 0,
        r if r < 0.70 => 1,
        r if r < 0.87 => 2,
        _ => 3,
    };
    let roll = rng.unit();
    let fate = if age > 60.0 {
        if roll < 0.86 {
            Fate::Resolved(level(rng))
        } else if roll < 0.95 {
            Fate::Withdrawn
        } else {
            Fate::Open
        }
    } else if roll < 0.4 {
        Fate::Resolved(level(rng))
    } else if roll < 0.5 {
        Fate::Withdrawn
    } else {
        Fate::Open
    };
    // When the resolution is proposed, in days after raising: inside the window of the level
    // (5 working days, then 10, 10 and 20, escalated by the next midnight sweep).
    let propose_after = match fate {
        Fate::Resolved(0) => rng.range(0.8, 4.0),
        Fate::Resolved(1) => rng.range(9.0, 19.0),
        Fate::Resolved(2) => rng.range(24.0, 33.0),
        Fate::Resolved(_) => rng.range(40.0, 70.0),
        Fate::Withdrawn => rng.range(0.5, 10.0),
        Fate::Open => age,
    };
    let comments = rng.below(3);
    for _ in 0..comments {
        let commenter = rng.below(parties);
        let t = raised + days(rng.range(0.05, propose_after.clamp(0.1, 6.0) * 0.9));
        run.push(t, Op::Comment { slot, body: rng.pick(&COMMENTS), private: false, by: team.any(rng, commenter) });
    }
    if rng.chance(0.08) {
        let p = rng.below(parties);
        run.push(
            raised + hours(rng.range(1.0, 20.0)),
            Op::Comment { slot, body: rng.pick(&NOTES), private: true, by: team.manager(rng, p) },
        );
    }
    if rng.chance(0.04) && propose_after > 1.5 {
        run.push(raised + hours(rng.range(2.0, 30.0)), Op::Escalate { slot, by: team.manager(rng, party) });
    }
    match fate {
        Fate::Resolved(level) => {
            let mut t = working(raised + days(propose_after), rng);
            let proposer_party = rng.below(parties);
            let senior = level >= 2;
            let answer = |rng: &mut Rng, p: usize| if senior { team.ser(p) } else { team.manager(rng, p) };
            if rng.chance(0.12) {
                run.push(t, Op::Propose { slot, body: rng.pick(&PROPOSALS), by: answer(rng, proposer_party) });
                let other = (proposer_party + 1 + rng.below(parties - 1)) % parties;
                t += hours(rng.range(2.0, 8.0));
                run.push(t, Op::Respond { slot, accept: false, reason: rng.pick(&REJECTIONS), by: answer(rng, other) });
                t += hours(rng.range(16.0, 30.0));
            }
            run.push(t, Op::Propose { slot, body: rng.pick(&PROPOSALS), by: answer(rng, proposer_party) });
            for p in (0..parties).filter(|p| *p != proposer_party) {
                t += hours(rng.range(1.0, 20.0));
                run.push(t, Op::Respond { slot, accept: true, reason: "", by: answer(rng, p) });
            }
        }
        Fate::Withdrawn => run.push(working(raised + days(propose_after), rng), Op::Withdraw { slot, by: raiser }),
        Fate::Open => {}
    }
}
