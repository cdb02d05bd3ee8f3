//! Fixtures of the batch timings: the import, the sweep and an audit export.

use super::*;

/// A relationship of two organisations with one SER each and one JMT member for the first.
pub(super) async fn bench_relationship(
    store: &dyn Store, name: &str, password_hash: &str, start: Timestamp,
) -> anyhow::Result<(Uuid, Vec<Uuid>, Uuid)> {
    let mut users = Vec::new();
    let mut orgs = Vec::new();
    for (i, org) in [format!("{name} Buyer"), format!("{name} Supplier"), format!("{name} Specialist")].iter().enumerate() {
        let o = store.create_organisation(Name::parse(org).map_err(|m| anyhow!(m))?, None, start).await?;
        orgs.push(o.id);
        for (n, role) in [Role::Ser, Role::Jmt].into_iter().enumerate() {
            let slug: String = name.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
            let email = format!("{}.{n}@{slug}{i}.example", role.as_str());
            let user = NewUser {
                email: Email::parse(&email).map_err(|m| anyhow!(m))?,
                name: Name::parse(&format!("{} {}", FIRST_NAMES[i * 2 + n], LAST_NAMES[i * 2 + n])).map_err(|m| anyhow!(m))?,
                organisation_id: Some(o.id),
                is_admin: false,
                password_hash: Some(password_hash.to_owned()),
            };
            users.push((store.create_user(user, None, start).await?.id, role));
        }
    }
    let start_date = date_of(start).to_string();
    let input = RelationshipInput { name, purpose: "Benchmark fixture", start_date: &start_date, time_zone: "Europe/London" };
    let new = NewRelationship::parse(input, Some(orgs), Invalid::default()).map_err(|e| anyhow!("{e}"))?;
    let r = store.create_relationship(new, None, start).await?;
    let mut ser = None;
    for (user, role) in &users {
        if *role == Role::Ser {
            ser = Some(*user);
        }
        store.add_member(r.id, *user, *role, if *role == Role::Ser { None } else { ser }, start).await?;
    }
    let jmt: Vec<Uuid> = users.iter().filter(|(_, role)| *role == Role::Jmt).map(|(u, _)| *u).collect();
    Ok((r.id, jmt, users[0].0))
}

/// `kpis` daily KPIs named D1, D2, ... and a CSV with `days` values of each (short cells, so that
/// a million rows fit the import's 20 MiB limit).
pub(super) async fn import_fixture(
    store: &dyn Store, password_hash: &str, kpis: usize, days_of_data: usize, out: &Path, now: Timestamp,
) -> anyhow::Result<serde_json::Value> {
    let first = date_of(now).checked_sub((days_of_data as i32 + 1).days())?;
    let (rid, jmt, _) = bench_relationship(store, "Import Benchmark", password_hash, at(first, 9.0) - days(10.0)).await?;
    let done = Arc::new(AtomicU64::new(0));
    let bar = Bar::start("KPIs", kpis as u64, done.clone());
    for n in 1..=kpis {
        let new = NewKpi {
            relationship_id: rid,
            name: format!("D{n}"),
            definition: "A daily figure".into(),
            unit: "%".into(),
            cadence: Cadence::Daily,
            party_id: None,
            reporter_id: Some(jmt[0]),
            objectives: vec![],
            thresholds: Thresholds::new(Direction::Higher, 90.0, 80.0, 70.0).map_err(|(_, m)| anyhow!(m))?,
            effective_from: first,
        };
        store.create_kpi(new, jmt[0], at(first, 9.0) - days(5.0)).await?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    bar.finish();
    let mut csv = std::io::BufWriter::new(std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?);
    import_csv(&mut csv, kpis, days_of_data, first)?;
    csv.flush()?;
    Ok(json!({"profile": "import", "relationship": rid, "kpis": kpis, "rows": kpis * days_of_data, "csv": out}))
}

/// The benchmark's import: a value of each of 1,000 daily KPIs on each of 1,000 days.
pub(super) const IMPORT_KPIS: usize = 1_000;
pub(super) const IMPORT_DAYS: usize = 1_000;

/// The import fixture's CSV: `days` values of each of the `kpis` daily KPIs, from `first`.
pub(super) fn import_csv(csv: &mut impl Write, kpis: usize, days: usize, first: Date) -> anyhow::Result<()> {
    let mut rng = Rng(11);
    writeln!(csv, "KPI,period,value")?;
    let mut day = first;
    for _ in 0..days {
        let text = day.to_string();
        for n in 1..=kpis {
            writeln!(csv, "D{n},{text},{}", 55 + rng.below(45))?;
        }
        day = day.tomorrow()?;
    }
    Ok(())
}

/// `open` open issues, `due` of them past their level-0 deadline (the rest raised in the last two
/// days, due next week).
pub(super) async fn sweep_fixture(
    store: &dyn Store, password_hash: &str, open: usize, due: usize, now: Timestamp,
) -> anyhow::Result<serde_json::Value> {
    let (rid, jmt, _) = bench_relationship(store, "Sweep Benchmark", password_hash, now - days(40.0)).await?;
    let done = Arc::new(AtomicU64::new(0));
    let bar = Bar::start("issues", open as u64, done.clone());
    let mut rng = Rng(13);
    for n in 0..open {
        let raised = if n < due { now - days(rng.range(12.0, 14.0)) } else { now - days(rng.range(0.05, 2.0)) };
        let (title, category) = rng.pick(&ISSUE_TITLES);
        let new = NewIssue {
            relationship_id: rid,
            title: title.into(),
            description: "Benchmark issue".into(),
            category: category.into(),
            severity: "medium".into(),
            links: vec![],
        };
        store.create_issue(new, jmt[n % jmt.len()], raised).await?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    bar.finish();
    Ok(json!({"profile": "sweep", "relationship": rid, "open": open, "due": due}))
}

/// A chain of `count` events as `audit export` writes it, with summaries like the real ones.
pub(super) fn write_audit_export(count: u64, out: &Path) -> anyhow::Result<()> {
    let mut file =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?);
    let mut rng = Rng(17);
    let people: Vec<Uuid> = (0..80u128).map(|i| Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | i)).collect();
    let parties: Vec<Uuid> = (0..3u128).map(|i| Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000 | i)).collect();
    let mut t = Timestamp::from_second(1_600_000_000)?;
    let mut head: Option<ChainHead> = None;
    let done = Arc::new(AtomicU64::new(0));
    let bar = Bar::start("events", count, done.clone());
    for n in 0..count {
        t += SignedDuration::from_secs(60 + rng.below(600) as i64);
        let actor = rng.pick(&people);
        let party = rng.pick(&parties);
        let subject = Uuid::from_u128(0x0190_0000_0000_7000_a000_0000_0000_0000 | (n as u128 / 5));
        let draft = match n % 5 {
            0 => Draft::new(Some(actor), EventKind::IssueRaised, "issue", subject, json!({"number": n / 5 + 1, "title": rng.pick(&ISSUE_TITLES).0, "category": "delivery", "severity": "medium", "level": 0, "deadline": (t + days(7.0)).to_string(), "ladder_version": 1})),
            1 => Draft::new(Some(actor), EventKind::IssueCommented, "issue", subject, json!({"number": n / 5 + 1, "event": Uuid::from_u128(n as u128), "private": false})),
            2 => Draft::new(None, EventKind::IssueEscalated, "issue", subject, json!({"number": n / 5 + 1, "from": 0, "to": 1, "reason": "Not resolved at Working level by the deadline.", "deadline": (t + days(14.0)).to_string()})),
            3 => Draft::new(Some(actor), EventKind::MeasurementRecorded, "measurement", subject, json!({"kpi": subject, "period": date_of(t).first_of_month().to_string(), "value": format!("{}", 80 + rng.below(20)), "rag": Rag::Green.as_str()})),
            _ => Draft::new(Some(actor), EventKind::ActionUpdated, "action", subject, json!({"before": {"status": "open", "owner": actor, "due_date": date_of(t).to_string()}, "after": {"status": "done", "owner": actor, "due_date": date_of(t).to_string()}})),
        }
        .party(party);
        let event = audit::seal(draft, head.as_ref(), t);
        serde_json::to_writer(&mut file, &event)?;
        file.write_all(b"\n")?;
        head = Some(event.head());
        done.fetch_add(1, Ordering::Relaxed);
    }
    file.flush()?;
    bar.finish();
    Ok(())
}
