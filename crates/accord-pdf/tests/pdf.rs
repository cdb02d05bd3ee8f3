//! The PDFs as a reader sees them: their text read back with poppler's `pdftotext`, their fonts
//! with `pdffonts` (Debian's poppler-utils, which `./scripts/test` installs).

use accord_domain::document::{Block, Column, Document, Field, Table};
use std::process::{Command, Stdio};

/// Runs a poppler tool on the PDF, fed on standard input where the tool reads it.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("accord-pdf-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new(tool)
        .args(args)
        .arg(&path)
        .args(if tool == "pdftotext" { &["-"][..] } else { &[][..] })
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) must be installed: {e}"));
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The text with every run of white space one space, so line breaks inside a cell do not matter.
fn text(pdf: &[u8]) -> String {
    squash(&poppler("pdftotext", &[], pdf))
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text without any white space: a line may break after a `/` as well as at a space.
fn dense(s: &str) -> String {
    s.split_whitespace().collect()
}

fn table(columns: &[&str], rows: &[&[&str]]) -> Table {
    let mut table = Table::new(
        columns.iter().enumerate().map(|(i, c)| if i == 0 { Column::text(*c) } else { Column::figure(*c) }).collect(),
        "Nothing yet.",
    );
    for row in rows {
        table.row(row.iter().map(|c| c.to_string()));
    }
    table
}

#[test]
fn every_title_paragraph_field_and_cell_appears_the_same_each_time() {
    let mut doc = Document::new("Joint Management Team, March 2026");
    doc.subtitle = Some("Harbour Renewal".into());
    doc.meta = vec![Field::new("Chair", "Alex Morgan"), Field::new("Held", "12 March 2026, 10:00 Europe/London")];
    doc.footer = Some("Audit chain head 1042:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into());
    doc.section(
        "Minutes",
        vec![
            Block::Paragraph { text: "The parties agreed the winter maintenance plan.".into() },
            Block::Paragraph { text: "A line typed on its own\nstays on its own.".into() },
            Block::Fields { fields: vec![Field::new("Decision", "Northshore delivers the survey by April.")] },
            Block::Table(table(&["KPI", "Value", "Target"], &[&["Invoices paid on time", "92.5%", "95%"], &["Site incidents", "3", "0"]])),
            Block::Table(table(&["Action", "Due"], &[])),
        ],
    );
    let pdf = accord_pdf::render(&doc).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(poppler("pdftotext", &[], &pdf).contains("A line typed on its own\nstays on its own."), "a typed line break is kept");
    let text = text(&pdf);
    for expected in [
        "Joint Management Team, March 2026",
        "Harbour Renewal",
        "Chair",
        "Alex Morgan",
        "12 March 2026, 10:00 Europe/London",
        "Minutes",
        "The parties agreed the winter maintenance plan.",
        "Decision",
        "Northshore delivers the survey by April.",
        "Invoices paid on time",
        "92.5%",
        "Site incidents",
        "Nothing yet.",
        "Audit chain head 1042:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "Page 1 of 1",
    ] {
        assert!(text.contains(expected), "{expected:?} is missing from {text:?}");
    }
    assert_eq!(accord_pdf::render(&doc).unwrap(), pdf, "the same document makes the same bytes");
}

#[test]
fn typst_syntax_in_peoples_text_is_shown_verbatim_and_never_run() {
    let hostile = [
        r#"#read("/etc/passwd")"#,
        r#"#import "@preview/x:0.1.0": *"#,
        "#while true {}",
        "$x$",
        "*bold*",
        "<label>",
        "]",
        r#"#include "/etc/hostname""#,
        "\\u{41} // not a comment /* nor this */",
        "#let x = 1; #x",
    ];
    let all = hostile.join(" ");
    let mut doc = Document::new(format!("Title {all}"));
    doc.subtitle = Some(format!("Subtitle {all}"));
    doc.meta = vec![Field::new(format!("Label {}", hostile[0]), format!("Value {all}"))];
    doc.footer = Some(format!("Footer {}", hostile[2]));
    let mut t = table(&["Column ]"], &[]);
    for h in hostile {
        t.row([format!("Cell {h}")]);
    }
    doc.section(format!("Heading {}", hostile[1]), vec![Block::Paragraph { text: format!("Minutes {all}") }, Block::Table(t)]);
    let started = std::time::Instant::now();
    let pdf = accord_pdf::render(&doc).unwrap();
    assert!(started.elapsed().as_secs() < 60, "no loop ran");
    let text = dense(&text(&pdf));
    for expected in [
        format!("Title {all}"),
        format!("Subtitle {all}"),
        format!("Label {}", hostile[0]),
        format!("Value {all}"),
        format!("Footer {}", hostile[2]),
        format!("Heading {}", hostile[1]),
        format!("Minutes {all}"),
        "Column ]".to_owned(),
    ]
    .into_iter()
    .chain(hostile.iter().map(|h| format!("Cell {h}")))
    {
        assert!(text.contains(&dense(&expected)), "{expected:?} is not verbatim in {text:?}");
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for line in passwd.lines().filter(|l| l.len() > 8) {
        assert!(!text.contains(&dense(line)), "a line of /etc/passwd reached the PDF: {line}");
    }
    assert!(!text.contains("root:x:0"));
}

#[test]
fn a_long_table_spans_pages_with_its_header_footer_and_page_numbers_on_each() {
    let mut doc = Document::new("Every action");
    doc.footer = Some("Chain head 88:abc123".into());
    let mut t = table(&["Action", "Owner", "Due"], &[]);
    for i in 1..=150 {
        t.row([format!("Action number {i}"), "Priya Raman".into(), format!("{i} April 2026")]);
    }
    doc.section("Action log", vec![Block::Table(t)]);
    let started = std::time::Instant::now();
    let pdf = accord_pdf::render(&doc).unwrap();
    eprintln!("150 rows rendered in {:?}, {} bytes", started.elapsed(), pdf.len());
    let pages: Vec<String> = poppler("pdftotext", &[], &pdf).split('\u{c}').map(squash).filter(|p| !p.is_empty()).collect();
    let count = pages.len();
    assert!(count >= 3, "150 rows take several pages, not {count}");
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains(&format!("Page {} of {count}", i + 1)), "page {} has no page number: {page}", i + 1);
        assert!(page.contains("Chain head 88:abc123"), "page {} has no footer", i + 1);
        assert!(page.contains("Action Owner Due"), "page {} does not repeat the header", i + 1);
    }
    for i in [1, 75, 150] {
        assert!(pages.iter().any(|p| p.contains(&format!("Action number {i} Priya Raman {i} April 2026"))), "row {i} is missing");
    }
}

#[test]
fn non_latin_names_render_in_embedded_fonts_that_have_their_glyphs() {
    let mut doc = Document::new("Zoë Ó Súilleabháin");
    doc.section(
        "Łódź",
        vec![
            Block::Paragraph { text: "東京 and Łódź, Ελλάδα, Москва, 서울".into() },
            Block::Fields { fields: vec![Field::new("Chair", "Zoë Ó Súilleabháin")] },
        ],
    );
    let pdf = accord_pdf::render(&doc).unwrap();
    let text = text(&pdf);
    for expected in ["Zoë Ó Súilleabháin", "Łódź", "東京 and Łódź, Ελλάδα, Москва, 서울"] {
        assert!(text.contains(expected), "{expected:?} is missing from {text:?}");
    }
    let fonts = poppler("pdffonts", &[], &pdf);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(rows.iter().any(|r| r.contains("DejaVuSans")), "{fonts}");
    assert!(rows.iter().any(|r| r.contains("DroidSansFallback")), "CJK set in the fallback font: {fonts}");
    for row in rows {
        // Columns: name, type, encoding, emb, sub, uni, object ID (two numbers): `emb` is fifth from the end.
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[cells.len() - 5], "yes", "every font is embedded: {row}");
    }
}

#[test]
fn a_document_over_the_limits_is_refused_before_any_work() {
    let mut t = table(&["n"], &[]);
    for i in 0..=accord_pdf::MAX_BOXES {
        t.row([i.to_string()]);
    }
    let mut doc = Document::new("Too many");
    doc.section("Rows", vec![Block::Table(t)]);
    let started = std::time::Instant::now();
    let err = accord_pdf::render(&doc).unwrap_err();
    assert!(matches!(err, accord_pdf::PdfError::TooLarge { limit: accord_pdf::MAX_BOXES, .. }), "{err}");
    assert!(started.elapsed().as_millis() < 1000);

    let mut doc = Document::new("Too long");
    doc.section("Text", vec![Block::Paragraph { text: "x".repeat(accord_pdf::MAX_TEXT_BYTES) }]);
    let err = accord_pdf::render(&doc).unwrap_err();
    assert!(matches!(err, accord_pdf::PdfError::TooLarge { limit: accord_pdf::MAX_TEXT_BYTES, .. }), "{err}");
}
