//! Printable documents end to end: the scorecard's print page and its PDF, on both databases,
//! the PDF read back with poppler's `pdftotext` (which `./scripts/test` installs).

use crate::app::spawn_app;
use crate::backends::{TestDb, on_both_backends};
use accord_domain::measure::{Cadence, Direction, Thresholds};
use accord_domain::membership::Role;
use accord_store::{MeasurementInput, NewKpi};
use reqwest::StatusCode;

on_both_backends!(the_scorecard_prints_as_a_page_and_as_a_pdf_saying_the_same);

/// The PDF's text in the order it was laid out (`-raw`: a table's cells one after another, not its
/// wrapped lines side by side), without white space: a line may break after a `/` as well as at
/// a space, so expected text is compared with its spaces taken out too ([`dense`]).
fn pdf_text(pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("accord-print-{}.pdf", uuid::Uuid::now_v7()));
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").arg("-raw").arg(&path).arg("-").output();
    std::fs::remove_file(&path).ok();
    let out = out.unwrap_or_else(|e| panic!("pdftotext (poppler-utils) must be installed: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dense(&String::from_utf8(out.stdout).unwrap())
}

fn dense(text: &str) -> String {
    text.split_whitespace().collect()
}

async fn the_scorecard_prints_as_a_page_and_as_a_pdf_saying_the_same(db: TestDb) {
    let app = spawn_app(db).await;
    let (a, b) = (app.organisation("Northshore").await, app.organisation("Keystone").await);
    let (observer, _) = app.user("observer@northshore.example", &a, false).await;
    let r = app.relationship("Harbour Renewal", &[&a, &b]).await;
    app.member(&r, &observer, Role::Observer).await;
    let party_a = app.store().parties(r.id).await.unwrap()[0].id;
    let new_kpi = |name: &str, party_id| NewKpi {
        relationship_id: r.id,
        name: name.into(),
        definition: String::new(),
        unit: "%".into(),
        cadence: Cadence::Monthly,
        party_id,
        reporter_id: None,
        objectives: vec![],
        thresholds: Thresholds::new(Direction::Higher, 98.0, 95.0, 90.0).unwrap(),
        effective_from: "2026-01-01".parse().unwrap(),
    };
    // A name with markup of both languages: escaped on the page, verbatim in the PDF.
    let berth =
        app.store().create_kpi(new_kpi("Berth availability <b>#strong[Łódź]</b>", Some(party_a)), observer.id, app.now()).await.unwrap();
    app.store().create_kpi(new_kpi("Crane uptime", None), observer.id, app.now()).await.unwrap();
    let value = MeasurementInput { kpi_id: berth.id, period_start: "2026-01-01".parse().unwrap(), value: 92.5, comment: String::new() };
    app.store().record_measurement(r.id, value, observer.id, app.now()).await.unwrap();

    // An observer reads, so prints.
    let mut browser = crate::people::Browser::new(&app);
    browser.sign_in("observer@northshore.example", crate::app::TEST_PASSWORD).await;
    let scorecard = browser.get(&format!("/relationships/{}/scorecard", r.id)).await;
    let print_href = format!("/relationships/{}/scorecard/print", r.id);
    assert!(scorecard.body.contains(&format!("href=\"{print_href}\"")), "the scorecard links its print page");
    let page = browser.get(&print_href).await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        "Berth availability &#60;b&#62;#strong[Łódź]&#60;/b&#62; (monthly)",
        "Crane uptime (monthly)",
        "92.5%",
        "amber",
        "Northshore",
        "Joint",
        "1 amber",
        "Harbour Renewal · scorecard as of Mon 2 Mar 2026",
    ] {
        assert!(page.body.contains(expected), "{expected:?} missing from the print page: {}", page.body);
    }
    assert!(!page.body.contains("<b>#strong"), "people's text is escaped on the page");
    let pdf_href = format!("/relationships/{}/scorecard.pdf", r.id);
    assert!(page.body.contains(&format!("href=\"{pdf_href}\"")), "the print page links its PDF");

    let get = |path: String| {
        app.http.get(format!("{}{path}", app.base)).header("cookie", format!("accord_session={}", browser.session().unwrap())).send()
    };
    let pdf = get(pdf_href.clone()).await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert_eq!(pdf.headers()["content-disposition"], "attachment; filename=\"harbour-renewal-scorecard.pdf\"");
    let text = pdf_text(&pdf.bytes().await.unwrap());
    for expected in [
        "Scorecard",
        "Harbour Renewal",
        "Berth availability <b>#strong[Łódź]</b> (monthly)",
        "Crane uptime (monthly)",
        "92.5%",
        "98%",
        "Northshore",
        "Page 1 of 1",
        "Harbour Renewal · scorecard as of Mon 2 Mar 2026",
    ] {
        assert!(text.contains(&dense(expected)), "{expected:?} missing from the PDF's text: {text}");
    }

    // Filtered as the page was: the joint KPIs alone.
    let joint = pdf_text(&get(format!("{pdf_href}?party=joint")).await.unwrap().bytes().await.unwrap());
    assert!(joint.contains("Craneuptime") && !joint.contains("Berth"), "{joint}");
    assert!(joint.contains("ResponsibleJoint"), "the filter is named: {joint}");
    let filtered = browser.get(&format!("/relationships/{}/scorecard?party=joint", r.id)).await;
    assert!(filtered.body.contains(&format!("href=\"{print_href}?party=joint\"")), "the print link keeps the filter");
}
