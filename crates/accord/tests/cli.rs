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
            // Process ids come round again: an earlier run's database there is not fresh.
            let _ = std::fs::remove_dir_all(&dir);
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
    let out = accord(&db, &["audit", "verify"], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("BROKEN: relationship Harbour Renewal") && err.contains("position 2"), "{err}");
    // The dropped trigger is a sign of tampering: the command put it back and logged so.
    let warning = err.lines().find(|l| l.contains("WARN")).unwrap_or_else(|| panic!("no warning: {err}"));
    assert!(warning.contains("audit_event_no_update") && warning.contains("tampered"), "{warning}");
    assert!(conn.execute("UPDATE audit_event SET kind = 'x' WHERE position = 2", []).is_err(), "the trigger is back");
    let again = accord(&db, &["migrate"], "");
    assert!(!String::from_utf8_lossy(&again.stderr).contains("WARN"), "nothing to restore the second time");
    // A recorded head that is not the chain's last event is named as POSITION:HASH, not as Rust sees it.
    conn.execute("UPDATE audit_head SET position = position + 1 WHERE relationship_id = zeroblob(16)", []).unwrap();
    let err = fails(&db, &["audit", "verify"], "");
    let site = err.lines().find(|l| l.starts_with("BROKEN: site")).unwrap_or_else(|| panic!("{err}"));
    assert!(site.contains("the recorded head ") && !site.contains("Some(") && !site.contains("ChainHead"), "{site}");
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
    use accord_store::NewKpi;
    use accord_store::prelude::*;
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

    // Many problems: the first 100 are printed, the rest counted.
    let many: String = (0..205).map(|i| format!("Uptime,2026-01,{i}\n")).collect();
    let many = file_beside(&db, "many.csv", format!("KPI,period,value\n{many}").as_bytes());
    let err = fails(&db, &["import", "measurements", "--relationship", "Harbour Renewal", &many], "");
    assert_eq!(err.lines().filter(|l| l.contains(": KPI: \"Uptime\" is not a KPI")).count(), accord_sheets::MAX_PROBLEMS, "{err}");
    assert!(err.contains("... and 105 more") && err.contains("nothing was imported: 205 problems"), "{err}");

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

/// A free port on loopback (free when asked; nothing holds it after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A real SMTP server on loopback (Python's aiosmtpd, installed by ./scripts/test) that files each
/// mail in a Maildir; stopped on drop.
struct SmtpSink {
    child: std::process::Child,
    maildir: PathBuf,
}

impl SmtpSink {
    fn start(port: u16, maildir: PathBuf) -> SmtpSink {
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .spawn()
            .expect("python3 is needed for the SMTP tests");
        let mut sink = SmtpSink { child, maildir };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = sink.child.try_wait().unwrap() {
                panic!("the SMTP sink exited ({status}): is aiosmtpd installed? ./scripts/test installs it");
            }
            assert!(std::time::Instant::now() < deadline, "the SMTP sink did not listen on {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        sink
    }

    fn mails(&self) -> Vec<Mail> {
        let mut mails = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) else { continue };
            for entry in entries {
                mails.push(Mail::parse(&std::fs::read_to_string(entry.unwrap().path()).unwrap()));
            }
        }
        mails
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mail as filed: the headers we look at and the decoded body.
#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    message_id: String,
    body: String,
}

impl Mail {
    fn parse(text: &str) -> Mail {
        let text = text.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let head = head.replace("\n ", " ").replace("\n\t", " ");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
                .unwrap_or_default()
        };
        let body = match header("Content-Transfer-Encoding").to_ascii_lowercase().as_str() {
            "quoted-printable" => decode_quoted_printable(body),
            "7bit" | "8bit" | "" => body.to_owned(),
            other => panic!("unexpected transfer encoding {other}:\n{text}"),
        };
        Mail { to: header("To"), subject: header("Subject"), message_id: header("Message-ID"), body }
    }
}

fn decode_quoted_printable(text: &str) -> String {
    let text = text.replace("=\n", "");
    let (bytes, mut out, mut i) = (text.as_bytes(), Vec::new(), 0);
    while i < bytes.len() {
        match (bytes[i], text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// `accord serve` in the background; killed on drop.
struct Server {
    child: std::process::Child,
    url: String,
    _stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

impl Server {
    fn start(db: &str, args: &[&str]) -> Server {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_accord"))
            .args(["--database", db, "serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .env("ACCORD_DEMO_PASSWORD", "demo password 42")
            .env("ACCORD_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first.strip_prefix("Accord is serving ").unwrap_or_else(|| panic!("{first}")).to_owned();
        Server { child, url, _stdout: lines }
    }

    /// Stops the server as an operator or a supervisor does (SIGTERM); true when it exits cleanly.
    fn terminate(&mut self) -> bool {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `by` raises an issue in `relationship` as if a month ago, so its deadlines have passed;
/// returns the relationship's and the issue's ids.
async fn raise_overdue_issue(store: &dyn accord_store::Store, relationship: &str, by: &str) -> (uuid::Uuid, uuid::Uuid) {
    let r = store.find_relationship(relationship).await.unwrap();
    let by = store.user_by_email(&accord_domain::text::Email::parse(by).unwrap()).await.unwrap();
    let new = accord_store::NewIssue {
        relationship_id: r.id,
        title: "Crane outage blocks berth 4".into(),
        description: "The STS crane has been out of service since the storm; vessels are diverted.".into(),
        category: "operations".into(),
        severity: "high".into(),
        links: Vec::new(),
    };
    let month_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(30 * 24);
    let issue = store.create_issue(new, by.id, month_ago).await.unwrap();
    (r.id, issue.id)
}

fn open_sqlite(db: &str) -> std::sync::Arc<dyn accord_store::Store> {
    std::sync::Arc::new(accord_store_sqlite::SqliteStore::open(&PathBuf::from(db.trim_start_matches("sqlite://"))).unwrap())
}

#[test]
fn serve_sweeps_and_mails_through_smtp() {
    let db = fresh_database("sqlite");
    let port = free_port();
    let sink = SmtpSink::start(port, PathBuf::from(db.trim_start_matches("sqlite://")).with_file_name("maildir"));
    let mut server = Server::start(&db, &["--demo", "--smtp-url", &format!("smtp://127.0.0.1:{port}"), "--sweep-interval", "1"]);
    let store = open_sqlite(&db);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (relationship, issue) =
        rt.block_on(raise_overdue_issue(store.as_ref(), "Harbour Renewal Programme", "alex.morgan@northshore.example"));
    let people: Vec<String> = ok(&db, &["user", "list"], "").lines().map(|l| l.split('\t').next().unwrap().to_owned()).collect();

    // The demo's mail goes out: to demo accounts, linking to their issues on this site.
    let site = format!("{}/relationships/{relationship}/issues/", server.url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mail = loop {
        if let Some(mail) = sink.mails().into_iter().find(|m| m.body.contains(&site)) {
            break mail;
        }
        assert!(std::time::Instant::now() < deadline, "no mail linking to {site}... within 30 s: {:#?}", sink.mails());
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(people.iter().any(|p| mail.to.contains(p.as_str())), "{} is not a demo account: {people:?}", mail.to);
    // The sweep (every second) escalates the overdue issue: a month is past its first deadline.
    loop {
        if rt.block_on(store.issue(relationship, issue)).unwrap().level >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sweep did not escalate the overdue issue within 30 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Stopped while the demo's hundreds of mails are still going out: the round under way ends.
    assert!(server.terminate(), "accord serve should stop cleanly on SIGTERM, background tasks included");
    let mut ids: Vec<String> = sink.mails().into_iter().map(|m| m.message_id).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "a mail was sent twice");
}

#[test]
fn mail_that_fails_is_retried_with_backoff_and_delivered_once() {
    use accord::worker::{Mailer, deliver_once};
    use jiff::SignedDuration;
    let db = fresh_database("sqlite");
    story(&db);
    // Cy handles the working level and the JMT; Ann and Bo are the SERs.
    ok(&db, &["member", "add", "--relationship", "Harbour Renewal", "--email", "cy@northshore.example", "--role", "jmt"], "");
    let dir = PathBuf::from(db.trim_start_matches("sqlite://")).with_file_name("maildir");
    let port = free_port();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let mailer = || Mailer::new(&smtp, "Accord <accord@harbour.example>").unwrap().with_site("https://accord.example");
    // (mails not yet delivered, mails that have failed), from the outbox table itself.
    let outbox = || -> (i64, Vec<(uuid::Uuid, Option<i64>)>) {
        let conn = rusqlite::Connection::open(db.trim_start_matches("sqlite://")).unwrap();
        let waiting = conn.query_row("SELECT count(*) FROM outbox WHERE delivered_at IS NULL", [], |r| r.get(0)).unwrap();
        let mut failed = conn.prepare("SELECT outbox_id, delivered_at FROM outbox WHERE attempts > 0").unwrap();
        let failed = failed.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        (waiting, failed)
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = open_sqlite(&db);
        raise_overdue_issue(store.as_ref(), "Harbour Renewal", "ann@northshore.example").await;
        let now = jiff::Timestamp::now();
        assert!(store.sweep(now).await.unwrap().escalated > 0);
        let (queued, failed) = outbox();
        assert!(queued >= 2 && failed.is_empty(), "{queued} mails");

        // The SMTP server is down: the first mail fails and waits 30 s. The round stops there;
        // the rest of its batch stays leased for two minutes.
        let down = mailer();
        assert_eq!(deliver_once(store.as_ref(), &down, now).await, 0);
        let (waiting, failed) = outbox();
        assert_eq!((waiting, failed.len()), (queued, 1));
        let (failed_id, _) = failed[0];

        let sink = SmtpSink::start(port, dir);
        let (a, b) = (mailer(), mailer());
        assert_eq!(deliver_once(store.as_ref(), &a, now + SignedDuration::from_secs(29)).await, 0, "not retried before 30 s");
        // After the backoff, it alone: the rest of its batch is still leased.
        assert_eq!(deliver_once(store.as_ref(), &a, now + SignedDuration::from_secs(31)).await, 1);
        let mut sent = 1;
        assert!(outbox().1[0].1.is_some(), "the retry was delivered");
        // Two servers at once once the lease has lapsed: each mail goes to one of them.
        let later = now + SignedDuration::from_secs(121);
        loop {
            let (x, y) = tokio::join!(deliver_once(store.as_ref(), &a, later), deliver_once(store.as_ref(), &b, later));
            if x + y == 0 {
                break;
            }
            sent += x + y;
        }
        assert_eq!(sent as i64, queued);
        assert_eq!(deliver_once(store.as_ref(), &a, later + SignedDuration::from_hours(2)).await, 0, "nothing is sent twice");
        assert_eq!(outbox().0, 0);

        let mails = sink.mails();
        assert_eq!(mails.len() as i64, queued);
        let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), mails.len(), "one message per mail");
        assert!(ids.contains(&format!("<{failed_id}@harbour.example>").as_str()), "{ids:?}");
        assert!(
            mails.iter().any(|m| m.subject.contains("escalated") && m.body.contains("https://accord.example/relationships/")),
            "{mails:#?}"
        );
    });
}

/// A smoke test of the benchmark harness (`scripts/bench` runs the real thing, never CI): the
/// smallest profile seeds a fresh database through the store, every audit chain it wrote verifies,
/// a second seed is refused, and the fixtures of the batch timings work. The `small` profile takes
/// about 15 s unoptimised, too long beside the other tests, hence `tiny`.
#[test]
fn seed_fills_an_empty_database_whose_audit_trail_verifies() {
    let db = fresh_database("sqlite");
    let dir = PathBuf::from(db.trim_start_matches("sqlite://")).parent().unwrap().to_owned();
    let summary = dir.join("seed.json");
    ok(&db, &["seed", "--profile", "tiny", "--summary", summary.to_str().unwrap()], "");
    let seeded: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(seeded["relationships"], 3, "{seeded:#}");
    assert_eq!(seeded["heavy"]["issues"], 30, "{seeded:#}");
    assert_eq!(seeded["heavy"]["members"], 14, "{seeded:#}");
    assert!(seeded["audit_events"].as_i64().unwrap() > 500, "{seeded:#}");
    let heavy = seeded["heavy"]["id"].as_str().unwrap();

    // Every chain (the site's and one per relationship) is unbroken.
    let verified = ok(&db, &["audit", "verify"], "");
    assert_eq!(verified.lines().filter(|l| l.starts_with("ok: ")).count(), 4, "{verified}");
    // The seeded person signs in with the seeded password, and the history reads as it should.
    let login = seeded["heavy"]["login"].as_str().unwrap();
    let tokens = ok(&db, &["token", "create", "--email", login], "");
    assert!(tokens.contains(login), "{tokens}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = open_sqlite(&db);
        let id = heavy.parse().unwrap();
        let all = accord_store::IssueFilter { state: Some(accord_store::IssueState::All), ..Default::default() };
        let issues = store.issues(id, all, None, 100).await.unwrap();
        assert_eq!(issues.len(), 30);
        assert!(issues.iter().any(|i| i.status == accord_domain::escalation::IssueStatus::Resolved), "some were resolved");
        assert!(issues.iter().any(|i| i.level > 0), "some climbed the ladder");
        let hash = store.password_hash(store.user_by_email(&accord_domain::text::Email::parse(login).unwrap()).await.unwrap().id).await;
        assert!(accord_web::secrets::verify_password(accord::seed::DEFAULT_PASSWORD, &hash.unwrap().unwrap()));
    });

    // Seeding is for empty databases only.
    let err = fails(&db, &["seed", "--profile", "tiny"], "");
    assert!(err.contains("only an empty database"), "{err}");

    // The batch fixtures: a timed sweep, and a generated export that verifies.
    let swept: serde_json::Value = serde_json::from_str(&ok(&db, &["seed", "--time-sweep"], "")).unwrap();
    assert!(swept["seconds"].as_f64().is_some(), "{swept}");
    let export = dir.join("generated.jsonl");
    ok(&db, &["seed", "--audit-events", "300", "--out", export.to_str().unwrap()], "");
    let verified = ok(&db, &["audit", "verify", "--file", export.to_str().unwrap()], "");
    assert!(verified.contains("unbroken chain of 300 events"), "{verified}");
}

/// An XLSX whose one shared string, `chars` long, is the comment of 60 rows: a few kilobytes
/// that unpack to `chars` bytes, and to 60 times that wherever a cell's text is copied.
fn xlsx_sharing_one_string(chars: usize) -> Vec<u8> {
    let rows: String = (2..62)
        .map(|r| format!(r#"<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>1</v></c><c r="C{r}"><v>97</v></c><c r="D{r}" t="s"><v>2</v></c></row>"#))
        .collect();
    let header = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>KPI</t></is></c><c r="B1" t="inlineStr"><is><t>period</t></is></c><c r="C1" t="inlineStr"><is><t>value</t></is></c><c r="D1" t="inlineStr"><is><t>comment</t></is></c></row>"#;
    let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let parts: [(&str, String); 6] = [
        ("[Content_Types].xml", r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#.into()),
        ("_rels/.rels", format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#)),
        ("xl/workbook.xml", format!(r#"<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="Values" sheetId="1" r:id="rId1"/></sheets></workbook>"#)),
        ("xl/_rels/workbook.xml.rels", format!(r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#)),
        ("xl/worksheets/sheet1.xml", format!(r#"<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{header}{rows}</sheetData></worksheet>"#)),
        ("xl/sharedStrings.xml", format!(r#"<?xml version="1.0"?><sst xmlns="{main}" count="180" uniqueCount="3"><si><t>Berth availability</t></si><si><t>2026-03</t></si><si><t>{}</t></si></sst>"#, "x".repeat(chars))),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in parts {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// The server's peak resident memory so far, in KiB.
fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Files built to take a server down, each sent through the API (dry run and not), the import
/// page and `accord import`: every one is refused with 413 or 422 naming the limit, in under
/// 64 KiB, while the server's peak memory rises by less than 64 MiB and nothing is written.
fn hostile_imports_on(backend: &str) {
    let db = fresh_database(backend);
    let id = story(&db);
    let token = ok(&db, &["token", "create", "--email", "ann@northshore.example"], "").lines().last().unwrap().to_owned();
    let xlsx = accord_sheets::Format::Xlsx.content_type();
    let bad_rows = format!("KPI,period,value\n{}", "Crane uptime on the northern quays,2026-13,many\n".repeat(100_000));
    // (name, bytes, content type, status, what the answer must say)
    let files: [(&str, Vec<u8>, &str, u16, &str); 4] = [
        ("ten-mb-string.xlsx", xlsx_sharing_one_string(10_000_000), xlsx, 422, "longer than 2,000 characters"),
        ("fifty-mb-string.xlsx", xlsx_sharing_one_string(50_000_000), xlsx, 413, "at most 16 MiB"),
        (
            "million-columns.csv",
            format!("KPI,period,value{}\n", ",x".repeat(1_000_000)).into_bytes(),
            "text/csv",
            422,
            "more than 64 columns",
        ),
        ("bad-rows.csv", bad_rows.into_bytes(), "text/csv", 422, "and 199,900 more problems (the first 100 are listed)"),
    ];
    assert!(
        files[0].1.len() < 64 * 1024 && files[1].1.len() < 128 * 1024,
        "a small file: {} and {} bytes",
        files[0].1.len(),
        files[1].1.len()
    );
    let server = Server::start(&db, &[]);
    let pid = server.child.id();
    let import = format!("{}/relationships/{id}/import", server.url);
    let api = format!("{}/api/v1/relationships/{id}/measurements/import", server.url);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        // Signed in as a browser is: the CSRF cookie from the form, then the session.
        let login = http.get(format!("{}/login", server.url)).send().await.unwrap();
        let csrf = login.headers().get_all("set-cookie").iter().find_map(|c| c.to_str().unwrap().strip_prefix("accord_csrf=")).unwrap();
        let csrf = csrf.split(';').next().unwrap().to_owned();
        let form = [("csrf", csrf.as_str()), ("email", "ann@northshore.example"), ("password", "a long password"), ("next", "/")];
        let signed_in = http.post(format!("{}/login", server.url)).header("cookie", format!("accord_csrf={csrf}")).form(&form).send().await.unwrap();
        let session = signed_in.headers().get_all("set-cookie").iter().find_map(|c| c.to_str().unwrap().strip_prefix("accord_session=")).unwrap();
        let cookie = format!("accord_csrf={csrf}; accord_session={}", session.split(';').next().unwrap());
        let upload = |name: &str, content: &[u8]| {
            let mut body = format!("--B0undary\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--B0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n").into_bytes();
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n--B0undary--\r\n");
            http.post(&import).header("cookie", &cookie).header("content-type", "multipart/form-data; boundary=B0undary").body(body).send()
        };
        // The same paths warmed with a small refused file, so the peak after them is the files' own.
        let small = "KPI,period,value\nBerth availability,2026-01,97\n";
        let warm = http.post(format!("{api}?dry_run=true")).bearer_auth(&token).header("content-type", "text/csv").body(small).send().await.unwrap();
        assert_eq!(warm.status(), 422, "{}", warm.text().await.unwrap());
        assert_eq!(upload("small.csv", small.as_bytes()).await.unwrap().status(), 422);
        let before = peak_memory_kib(pid);
        for (name, bytes, content_type, status, says) in &files {
            for dry_run in [true, false] {
                let answer = http.post(format!("{api}?dry_run={dry_run}")).bearer_auth(&token).header("content-type", *content_type).body(bytes.clone()).send().await.unwrap();
                assert_eq!(answer.status(), *status, "{name} through the API");
                let body = answer.text().await.unwrap();
                assert!(body.len() < 64 * 1024, "{name}: the API answered {} bytes", body.len());
                assert!(body.contains(says), "{name}: the API's answer does not say {says:?}: {body}");
            }
            let answer = upload(name, bytes).await.unwrap();
            assert_eq!(answer.status(), *status, "{name} through the import page");
            let page = answer.text().await.unwrap();
            assert!(page.len() < 64 * 1024, "{name}: the import page is {} bytes", page.len());
            assert!(page.contains(says), "{name}: the import page does not say {says:?}");
        }
        let rise = peak_memory_kib(pid).saturating_sub(before);
        assert!(rise < 64 * 1024, "the server's peak memory rose by {rise} KiB");
        // Over the size limit itself: refused naming it, through the API and the page alike.
        let too_big = vec![b'a'; accord_sheets::MAX_BYTES + 4096];
        let answer = http.post(&api).bearer_auth(&token).header("content-type", "text/csv").body(too_big.clone()).send().await.unwrap();
        assert_eq!(answer.status(), 413);
        let body = answer.text().await.unwrap();
        assert!(body.contains("\"payload_too_large\"") && body.contains("at most 20 MiB"), "{body}");
        let answer = upload("huge.csv", &too_big).await.unwrap();
        assert_eq!(answer.status(), 413);
        assert!(answer.text().await.unwrap().contains("at most 20 MiB can be imported at once"));
    });
    drop(server);
    let dir = std::env::temp_dir().join(format!("accord_hostile_{}_{backend}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes, _, _, says) in &files {
        let path = dir.join(name).to_str().unwrap().to_owned();
        std::fs::write(&path, bytes).unwrap();
        let err = fails(&db, &["import", "measurements", "--relationship", "Harbour Renewal", &path], "");
        assert!(err.len() < 64 * 1024, "{name}: accord import wrote {} bytes", err.len());
        assert!(err.contains(says) && err.contains("nothing was imported"), "{name}: {err}");
    }
    let out = dir.join("export.jsonl");
    ok(&db, &["audit", "export", "--relationship", &id, "--out", out.to_str().unwrap()], "");
    let events = std::fs::read_to_string(&out).unwrap();
    assert!(events.contains("member.added") && !events.contains("measurements.imported"), "nothing was written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_imports_are_refused_within_bounds_on_sqlite() {
    hostile_imports_on("sqlite");
}

#[test]
fn hostile_imports_are_refused_within_bounds_on_postgres() {
    hostile_imports_on("postgres");
}

/// `accord serve` on an empty database prints a setup link naming the address it bound; a
/// restart prints a new one and the old dies; the link makes the site administrator (of no
/// organisation) once, and once one exists no link is printed.
fn setup_link_on(backend: &str) {
    let db = fresh_database(backend);
    let link_of = |server: &mut Server| {
        let line = server._stdout.next().unwrap().unwrap();
        let link = line.strip_prefix("First run: open ").and_then(|rest| rest.split_once(' ')).map(|(link, _)| link.to_owned());
        let link = link.unwrap_or_else(|| panic!("{line}"));
        assert!(link.starts_with(&format!("{}/setup/", server.url)), "{link} names the address bound");
        link
    };
    // Stopped once serving (its signal handler in place), as an operator would.
    let stop = |server: &mut Server| {
        let addr = server.url.trim_start_matches("http://").to_owned();
        while !http_get(&addr, "/healthz").0.contains("200") {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(server.terminate(), "accord serve stops cleanly");
    };
    let mut first = Server::start(&db, &[]);
    let old = link_of(&mut first);
    stop(&mut first);
    let mut server = Server::start(&db, &[]);
    let link = link_of(&mut server);
    assert_ne!(old, link, "a restart makes a new link");
    // The earlier link, on the server now running.
    let old = format!("{}{}", server.url, &old[old.find("/setup/").unwrap()..]);

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        assert_eq!(http.get(&old).send().await.unwrap().status(), 404, "the earlier link died");
        let page = http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let csrf = page.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).find_map(|c| c.strip_prefix("accord_csrf="));
        let csrf = csrf.unwrap().split(';').next().unwrap().to_owned();
        let form = [
            ("csrf", csrf.as_str()),
            ("name", "Root Admin"),
            ("email", "root@host.example"),
            ("password", "a long password"),
            ("confirm", "a long password"),
        ];
        let made = http.post(&link).header("cookie", format!("accord_csrf={csrf}")).form(&form).send().await.unwrap();
        assert_eq!(made.status(), 303);
        assert_eq!(made.headers()["location"], "/?saved=set-up");
        assert!(made.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("accord_session=")));
        let again = http.post(&link).header("cookie", format!("accord_csrf={csrf}")).form(&form).send().await.unwrap();
        assert_eq!(again.status(), 404, "used once");
    });
    stop(&mut server);
    assert_eq!(ok(&db, &["user", "list"], ""), "root@host.example\t\n", "an administrator of no organisation");

    let mut after = Server::start(&db, &[]);
    stop(&mut after);
    let rest: Vec<String> = after._stdout.by_ref().map_while(Result::ok).collect();
    assert!(!rest.iter().any(|l| l.contains("/setup/")), "no link once an administrator exists: {rest:?}");
    // The command line may now make an administrator without an organisation too.
    let made = ok(&db, &["user", "create", "--email", "ops@host.example", "--name", "Ops", "--admin"], "a long password\n");
    assert!(made.contains("a site administrator of no organisation"), "{made}");
    assert!(fails(&db, &["user", "create", "--email", "x@host.example", "--name", "X"], "a long password\n").contains("--org"));
}

#[test]
fn setup_link_on_sqlite() {
    setup_link_on("sqlite");
}

#[test]
fn setup_link_on_postgres() {
    setup_link_on("postgres");
}
