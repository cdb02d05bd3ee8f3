//! The `accord` command as an operator uses it: the real binary on a real SQLite file and a real
//! PostgreSQL database.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A fresh database URL for `backend`.
fn fresh_database(backend: &str) -> String {
    let name = format!("accord_cli_{}", std::process::id() as u64 * 1000 + COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    match backend {
        "sqlite" => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}", dir.join("accord.db").display())
        }
        _ => {
            let admin = std::env::var("ACCORD_TEST_PG").expect("ACCORD_TEST_PG is not set: run ./scripts/test, which starts PostgreSQL");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
            });
            let (base, _) = admin.rsplit_once('/').unwrap();
            format!("{base}/{name}")
        }
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn accord(db: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_accord"))
        .arg("--database")
        .arg(db)
        .args(args)
        .env("ACCORD_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(db: &str, args: &[&str], stdin: &str) -> String {
    let out = accord(db, args, stdin);
    assert!(out.status.success(), "accord {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail; returns its standard error.
fn fails(db: &str, args: &[&str], stdin: &str) -> String {
    let out = accord(db, args, stdin);
    assert!(!out.status.success(), "accord {args:?} should have failed: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap()
}

/// Sets up two organisations, three users and a relationship; returns its id.
fn story(db: &str) -> String {
    ok(db, &["migrate"], "");
    ok(db, &["org", "create", "--name", "Northshore Port Authority"], "");
    ok(db, &["org", "create", "--name", "Keystone Construction"], "");
    ok(db, &["org", "create", "--name", "Bystander Ltd"], "");
    assert!(fails(db, &["org", "create", "--name", "keystone construction"], "").contains("--name"));
    ok(
        db,
        &["user", "create", "--email", "ann@northshore.example", "--name", "Ann Lee", "--org", "Northshore Port Authority", "--admin"],
        "a long password\n",
    );
    ok(
        db,
        &["user", "create", "--email", "bo@keystone.example", "--name", "Bo Park", "--org", "keystone construction"],
        "a long password\n",
    );
    ok(
        db,
        &["user", "create", "--email", "cy@northshore.example", "--name", "Cy Diaz", "--org", "Northshore Port Authority"],
        "a long password\n",
    );
    assert_eq!(
        ok(db, &["user", "list"], ""),
        "ann@northshore.example\tNorthshore Port Authority\nbo@keystone.example\tKeystone Construction\ncy@northshore.example\tNorthshore Port Authority\n"
    );
    let created = ok(
        db,
        &[
            "relationship",
            "create",
            "--name",
            "Harbour Renewal",
            "--party",
            "Northshore Port Authority",
            "--party",
            "Keystone Construction",
            "--start-date",
            "2026-01-05",
        ],
        "",
    );
    let id = created.trim().rsplit_once('(').unwrap().1.trim_end_matches(')').to_owned();
    ok(db, &["member", "add", "--relationship", "Harbour Renewal", "--email", "ann@northshore.example", "--role", "ser"], "");
    ok(db, &["member", "add", "--relationship", &id, "--email", "bo@keystone.example", "--role", "ser"], "");
    id
}

fn story_on(backend: &str) {
    let db = fresh_database(backend);
    story(&db);
    // Bad input: each error names the flag, and nothing is written.
    assert!(
        fails(&db, &["member", "add", "--relationship", "Harbour Renewal", "--email", "cy@northshore.example", "--role", "ser"], "")
            .contains("--role: this party already has an SER")
    );
    assert!(
        fails(&db, &["member", "add", "--relationship", "Harbour Renewal", "--email", "cy@northshore.example", "--role", "boss"], "")
            .contains("--role")
    );
    assert!(
        fails(&db, &["user", "create", "--email", "not-an-email", "--name", "X", "--org", "Keystone Construction"], "a long password\n")
            .contains("--email")
    );
    assert!(
        fails(
            &db,
            &["user", "create", "--email", "ann@northshore.example", "--name", "X", "--org", "Keystone Construction"],
            "a long password\n"
        )
        .contains("--email: is already registered")
    );
    assert!(
        fails(&db, &["user", "create", "--email", "dee@x.example", "--name", "Dee", "--org", "Nowhere Inc"], "a long password\n")
            .contains("--org: no organisation")
    );
    assert!(
        fails(&db, &["user", "create", "--email", "dee@x.example", "--name", "Dee", "--org", "Bystander Ltd"], "short\n")
            .contains("password")
    );
    assert!(
        fails(&db, &["relationship", "create", "--name", "Solo", "--party", "Keystone Construction"], "")
            .contains("--party: a relationship needs at least two parties")
    );
    assert!(
        fails(
            &db,
            &[
                "relationship",
                "create",
                "--name",
                "Bad",
                "--party",
                "Keystone Construction",
                "--party",
                "Bystander Ltd",
                "--time-zone",
                "Mars/Base"
            ],
            ""
        )
        .contains("--time-zone")
    );
    ok(&db, &["user", "create", "--email", "dee@bystander.example", "--name", "Dee", "--org", "Bystander Ltd"], "a long password\n");
    assert!(
        fails(&db, &["member", "add", "--relationship", "Harbour Renewal", "--email", "dee@bystander.example", "--role", "jmt"], "")
            .contains("--email: belongs to Bystander Ltd, which is not a party")
    );
    assert_eq!(ok(&db, &["user", "list"], "").lines().count(), 4);

    let token = ok(&db, &["token", "create", "--email", "bo@keystone.example"], "");
    assert!(token.lines().last().unwrap().starts_with("acc_") && token.lines().last().unwrap().len() == 68);

    let verified = ok(&db, &["audit", "verify"], "");
    assert!(verified.contains("ok: relationship Harbour Renewal") && verified.contains("ok: site"), "{verified}");
}

#[test]
fn cli_story_on_sqlite() {
    story_on("sqlite");
}

#[test]
fn cli_story_on_postgres() {
    story_on("postgres");
}

fn export(db: &str, relationship: &str) -> (PathBuf, Vec<String>) {
    let path = PathBuf::from(db.trim_start_matches("sqlite://")).with_file_name("export.jsonl");
    ok(db, &["audit", "export", "--relationship", relationship, "--out", path.to_str().unwrap()], "");
    let lines = std::fs::read_to_string(&path).unwrap().lines().map(str::to_owned).collect();
    (path, lines)
}

#[test]
fn a_tampered_export_fails_verification_at_the_changed_event() {
    let db = fresh_database("sqlite");
    let id = story(&db);
    ok(&db, &["member", "add", "--relationship", &id, "--email", "cy@northshore.example", "--role", "jmt"], "");
    let (path, lines) = export(&db, &id);
    assert_eq!(lines.len(), 4, "created + three members");
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let mut keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["actor", "hash", "kind", "party", "position", "prev_hash", "subject", "summary", "time", "v"]);
    assert!(lines[0].starts_with("{\"v\":1,\"position\":1,\"time\":"), "{}", lines[0]);
    let verified = ok(&db, &["audit", "verify", "--file", path.to_str().unwrap()], "");
    assert!(verified.contains("unbroken chain of 4 events"), "{verified}");

    // Change the role recorded in event 3: verification fails there, naming line and position.
    let mut tampered = lines.clone();
    assert!(tampered[2].contains("\"role\":\"ser\""));
    tampered[2] = tampered[2].replace("\"role\":\"ser\"", "\"role\":\"observer\"");
    std::fs::write(&path, tampered.join("\n")).unwrap();
    let err = fails(&db, &["audit", "verify", "--file", path.to_str().unwrap()], "");
    assert!(err.contains("line 3") && err.contains("position 3") && err.contains("hash does not match"), "{err}");

    // Drop event 2: the gap is named.
    let mut dropped = lines.clone();
    dropped.remove(1);
    std::fs::write(&path, dropped.join("\n")).unwrap();
    let err = fails(&db, &["audit", "verify", "--file", path.to_str().unwrap()], "");
    assert!(err.contains("line 2") && err.contains("expected position 2, found 3"), "{err}");

    // A witness of the head: a shortened export no longer holds it.
    let head: serde_json::Value = serde_json::from_str(&lines[3]).unwrap();
    let witness = format!("4:{}", head["hash"].as_str().unwrap());
    std::fs::write(&path, lines.join("\n")).unwrap();
    ok(&db, &["audit", "verify", "--file", path.to_str().unwrap(), "--witness", &witness], "");
    std::fs::write(&path, lines[..3].join("\n")).unwrap();
    let err = fails(&db, &["audit", "verify", "--file", path.to_str().unwrap(), "--witness", &witness], "");
    assert!(err.contains("missing"), "{err}");
    let wrong = format!("2:{}", "0".repeat(64));
    std::fs::write(&path, lines.join("\n")).unwrap();
    let err = fails(&db, &["audit", "verify", "--file", path.to_str().unwrap(), "--witness", &wrong], "");
    assert!(err.contains("position 2") && err.contains("rewritten"), "{err}");
}

#[test]
fn verify_names_the_first_broken_link_in_the_database() {
    let db = fresh_database("sqlite");
    let id = story(&db);
    ok(&db, &["audit", "verify", "--relationship", &id], "");
    // Someone with write access to the file drops the guard and edits history.
    let conn = rusqlite::Connection::open(db.trim_start_matches("sqlite://")).unwrap();
    let refused = conn.execute("UPDATE audit_event SET kind = 'x' WHERE position = 2", []);
    assert!(refused.is_err(), "the database must refuse updates to audit_event");
    assert!(conn.execute("DELETE FROM audit_event WHERE position = 2", []).is_err(), "and deletes");
    conn.execute_batch("DROP TRIGGER audit_event_no_update; UPDATE audit_event SET summary = '{\"role\":\"observer\"}' WHERE position = 2 AND kind = 'member.added';").unwrap();
    let err = fails(&db, &["audit", "verify"], "");
    assert!(err.contains("BROKEN: relationship Harbour Renewal") && err.contains("position 2"), "{err}");
}

/// A plain HTTP GET over a socket; returns the status line and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

#[test]
fn serve_demo_seeds_a_relationship_and_says_how_to_sign_in() {
    use std::io::BufRead;
    let db = fresh_database("sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["--database", &db, "serve", "--demo", "--addr", "127.0.0.1:0"])
        .env("ACCORD_DEMO_PASSWORD", "demo password 42")
        .env("ACCORD_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let login = lines.next().unwrap().unwrap();
    let addr = first.trim_start_matches("Accord is serving http://").to_owned();
    let (status, body) = http_get(&addr, "/healthz");
    let (doc_status, doc) = http_get(&addr, "/api/openapi.json");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(first.starts_with("Accord is serving http://127.0.0.1:"), "{first}");
    assert!(login.contains("alex.morgan@northshore.example") && login.contains("demo password 42"), "{login}");
    assert!(status.contains("200") && body.contains("ok"), "{status}");
    assert!(doc_status.contains("200") && doc.contains("/api/v1/relationships"));
    // The first account is the first party's SER; every party has an SER and JMT members.
    let users = ok(&db, &["user", "list"], "");
    assert_eq!(users.lines().next(), Some("alex.morgan@northshore.example\tNorthshore Port Authority"));
    assert!(users.lines().count() >= 10);
    let verified = ok(&db, &["audit", "verify"], "");
    assert!(verified.contains("ok: relationship Harbour Renewal Programme"), "{verified}");
}

/// Creates KPIs in Harbour Renewal through the store (no command creates them): a monthly
/// "Berth availability" and a weekly "Defects".
fn create_kpis(db: &str) {
    use accord_domain::measure::{Cadence, Direction, Thresholds};
    use accord_store::{NewKpi, Store};
    let path = PathBuf::from(db.trim_start_matches("sqlite://"));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = accord_store_sqlite::SqliteStore::open(&path).unwrap();
        let r = store.find_relationship("Harbour Renewal").await.unwrap();
        let ann = store.user_by_email(&accord_domain::text::Email::parse("ann@northshore.example").unwrap()).await.unwrap();
        for (name, cadence, direction, t) in [
            ("Berth availability", Cadence::Monthly, Direction::Higher, (98.0, 95.0, 90.0)),
            ("Defects", Cadence::Weekly, Direction::Lower, (2.0, 5.0, 10.0)),
        ] {
            let new = NewKpi {
                relationship_id: r.id,
                name: name.into(),
                definition: String::new(),
                unit: String::new(),
                cadence,
                party_id: None,
                reporter_id: None,
                objectives: Vec::new(),
                thresholds: Thresholds::new(direction, t.0, t.1, t.2).unwrap(),
                effective_from: jiff::civil::date(2026, 1, 1),
            };
            store.create_kpi(new, ann.id, jiff::Timestamp::now()).await.unwrap();
        }
    });
}

fn file_beside(db: &str, name: &str, contents: &[u8]) -> String {
    let path = PathBuf::from(db.trim_start_matches("sqlite://")).with_file_name(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

const GOOD_CSV: &str = "KPI,period,value,comment\n\
                        Berth availability,2026-01,97.5,\n\
                        Berth availability,2026-02,94,\"crane outage, two days\"\n\
                        defects,2026-W05,3,\n";

#[test]
fn import_measurements_from_csv_all_or_nothing() {
    let db = fresh_database("sqlite");
    story(&db);
    create_kpis(&db);

    // One bad period and one bad value: both named, nothing written.
    let bad = file_beside(&db, "bad.csv", format!("{GOOD_CSV}Berth availability,2026-13,97,\nDefects,2026-W06,many,\n").as_bytes());
    let err = fails(&db, &["import", "measurements", "--relationship", "Harbour Renewal", &bad], "");
    assert!(err.contains(&format!("{bad}:5: period: \"2026-13\" is not a monthly period")), "{err}");
    assert!(err.contains(&format!("{bad}:6: value: \"many\" is not a number")), "{err}");
    assert!(err.contains("nothing was imported: 2 problems"), "{err}");

    // Many problems: the first 200 are printed, the rest counted.
    let many: String = (0..205).map(|i| format!("Uptime,2026-01,{i}\n")).collect();
    let many = file_beside(&db, "many.csv", format!("KPI,period,value\n{many}").as_bytes());
    let err = fails(&db, &["import", "measurements", "--relationship", "Harbour Renewal", &many], "");
    assert_eq!(err.lines().filter(|l| l.contains(": KPI: \"Uptime\" is not a KPI")).count(), 200, "{err}");
    assert!(err.contains("... and 5 more"), "{err}");

    // The good rows alone: all added, as nothing was written before.
    let good = file_beside(&db, "good.csv", GOOD_CSV.as_bytes());
    let out = ok(&db, &["import", "measurements", "--relationship", "Harbour Renewal", &good], "");
    let sha = accord_sheets::sha256(GOOD_CSV.as_bytes());
    assert_eq!(out, format!("imported {good}: 3 rows (3 added, 0 corrected, 0 unchanged) into Harbour Renewal; sha256 {sha}\n"));
    // Again with one value changed, by relationship id.
    let id = ok(&db, &["audit", "verify", "--relationship", "Harbour Renewal"], "").split(['(', ')']).nth(1).unwrap().to_owned();
    let changed = file_beside(&db, "changed.csv", GOOD_CSV.replace("97.5", "98").as_bytes());
    let out = ok(&db, &["import", "measurements", "--relationship", &id, &changed], "");
    assert!(out.contains(": 3 rows (0 added, 1 corrected, 2 unchanged) into Harbour Renewal"), "{out}");
    let verified = ok(&db, &["audit", "verify"], "");
    assert!(verified.contains("ok: relationship Harbour Renewal"), "{verified}");
    // One audit event per import (after the two KPIs and the relationship's own events).
    let (_, events) = export(&db, &id);
    let imports: Vec<_> = events.iter().filter(|e| e.contains("\"kind\":\"measurements.imported\"")).collect();
    assert_eq!(imports.len(), 2);
    assert!(imports[0].contains(&sha), "{}", imports[0]);
}

#[test]
fn import_measurements_from_xlsx() {
    use accord_sheets::{Cell, Table};
    let db = fresh_database("sqlite");
    story(&db);
    create_kpis(&db);
    let text = |s: &str| Cell::Text(s.into());
    let table = Table {
        name: "Values".into(),
        header: vec!["Period".into(), "KPI".into(), "Value".into(), "Comment".into()],
        rows: vec![
            vec![Cell::Date(jiff::civil::date(2026, 3, 1)), text("Berth availability"), Cell::Number(96.0), text("spring tides")],
            vec![Cell::Date(jiff::civil::date(2026, 3, 4)), text("Defects"), Cell::Number(1.5), Cell::Empty],
        ],
    };
    let xlsx = file_beside(&db, "values.XLSX", &accord_sheets::write_xlsx(&[table]).unwrap());
    let out = ok(&db, &["import", "measurements", "--relationship", "Harbour Renewal", &xlsx], "");
    assert!(
        out.starts_with(&format!("imported {xlsx}: 2 rows (2 added, 0 corrected, 0 unchanged) into Harbour Renewal; sha256 ")),
        "{out}"
    );
}

#[test]
fn import_refuses_other_file_types() {
    let db = fresh_database("sqlite");
    story(&db);
    let ods = file_beside(&db, "values.ods", b"whatever");
    let err = fails(&db, &["import", "measurements", "--relationship", "Harbour Renewal", &ods], "");
    assert!(err.contains("cannot import .ods files: use .csv or .xlsx"), "{err}");
    let csv = file_beside(&db, "values.csv", GOOD_CSV.as_bytes());
    let err = fails(&db, &["import", "measurements", "--relationship", "Nowhere", &csv], "");
    assert!(err.contains("--relationship: no relationship"), "{err}");
}
