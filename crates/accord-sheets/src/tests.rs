use super::*;
use accord_domain::measure::{Cadence, Direction, Recordable, Thresholds};
use jiff::civil::{Date, date};
use std::fmt::Write as _;
use uuid::Uuid;

fn kpi(name: &str, cadence: Cadence) -> accord_store::Kpi {
    accord_store::Kpi {
        id: Uuid::now_v7(),
        relationship_id: Uuid::nil(),
        name: name.to_owned(),
        definition: String::new(),
        unit: "%".to_owned(),
        direction: Direction::Higher,
        cadence,
        party_id: None,
        reporter_id: None,
        objectives: Vec::new(),
        thresholds: Thresholds::new(Direction::Higher, 98.0, 95.0, 90.0).unwrap(),
        version: 1,
        created_at: jiff::Timestamp::UNIX_EPOCH,
    }
}

/// A relationship begun long ago, on 7 December 2026.
const OPEN: Recordable = Recordable { started: Date::constant(1990, 1, 1), today: Date::constant(2026, 12, 7) };

fn kpis() -> Vec<accord_store::Kpi> {
    vec![kpi("Availability", Cadence::Monthly), kpi("Defects", Cadence::Weekly), kpi("Late deliveries", Cadence::Quarterly)]
}

fn csv(text: &str) -> Result<Vec<SheetRow>, Vec<CellError>> {
    read_measurements(Format::Csv, text.as_bytes()).map_err(|p| p.listed)
}

/// The errors as `ROW COLUMN` pairs, in order.
fn places(errors: &[CellError]) -> Vec<(usize, &str)> {
    errors.iter().map(|e| (e.row, e.column.as_str())).collect()
}

fn resolve_csv(text: &str) -> Result<Vec<accord_store::MeasurementInput>, Vec<CellError>> {
    resolve(&csv(text).expect("readable"), &kpis(), OPEN).map_err(|p| p.listed)
}

fn measurements_table() -> Table {
    let text = |s: &str| Cell::Text(s.to_owned());
    Table {
        name: "Measurements".into(),
        header: vec!["KPI".into(), "period".into(), "value".into(), "comment".into()],
        rows: vec![
            vec![text("Availability"), Cell::Date(date(2026, 3, 1)), Cell::Number(97.5), text("pump 3, then \"fixed\"")],
            vec![text("Availability"), text("2026-04"), Cell::Number(12.0), Cell::Empty],
            vec![text("Defects"), text("2026-W10"), Cell::Number(0.1 + 0.2), text("two lines\nof comment")],
        ],
    }
}

fn expect_round_trip(rows: &[SheetRow]) {
    let got: Vec<_> = rows.iter().map(|r| (r.row, r.kpi(), r.period(), r.value(), r.comment())).collect();
    assert_eq!(got[0], (2, "Availability", "2026-03-01", "97.5", "pump 3, then \"fixed\""));
    assert_eq!(got[1], (3, "Availability", "2026-04", "12", ""));
    assert_eq!((got[2].0, got[2].2, got[2].4), (4, "2026-W10", "two lines\nof comment"));
    assert!(got[2].3 == "0.3" || got[2].3 == "0.30000000000000004", "{}", got[2].3);
    let inputs = resolve(rows, &kpis(), OPEN).unwrap();
    assert_eq!(inputs.len(), 3);
    assert_eq!((inputs[0].period_start, inputs[0].value, inputs[0].comment.as_str()), (date(2026, 3, 1), 97.5, "pump 3, then \"fixed\""));
    assert_eq!(inputs[2].period_start, date(2026, 3, 2));
}

#[test]
fn csv_round_trip() {
    let text = write_csv(&measurements_table());
    assert!(text.starts_with("KPI,period,value,comment\r\nAvailability,2026-03-01,97.5,\"pump 3, then \"\"fixed\"\"\"\r\n"), "{text}");
    assert!(text.contains("Defects,2026-W10,0.3,\"two lines\nof comment\"\r\n"), "{text}");
    expect_round_trip(&csv(&text).unwrap());
}

#[test]
fn xlsx_round_trip() {
    let mut other = measurements_table();
    other.name = "Measurements".into();
    other.rows.push(vec![Cell::Text("=HYPERLINK(\"x\")".into()), Cell::Date(date(1850, 1, 1)), Cell::Number(f64::NAN)]);
    let bytes = write_xlsx(&[measurements_table(), other]).unwrap();
    assert_eq!(&bytes[..2], b"PK");
    // The first worksheet is read; dates come back as YYYY-MM-DD, numbers as written.
    expect_round_trip(&read_measurements(Format::Xlsx, &bytes).unwrap());
    // The second sheet got a name of its own.
    let book: calamine::Xlsx<_> = calamine::Reader::new(std::io::Cursor::new(&bytes)).unwrap();
    assert_eq!(calamine::Reader::sheet_names(&book), ["Measurements", "Measurements (2)"]);
}

#[test]
fn xlsx_numbers_dates_and_stray_cells() {
    let text = |s: &str| Cell::Text(s.to_owned());
    let table = Table {
        name: "a/b:c".into(),
        header: vec!["Value".into(), String::new(), "kpi".into(), "PERIOD".into()],
        rows: vec![
            vec![Cell::Number(12.0), Cell::Empty, text("Availability"), Cell::Date(date(2026, 1, 31))],
            vec![Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty],
            vec![Cell::Number(-3.25), text("a note"), text("Defects"), text("2026-W02"), text("far right")],
        ],
    };
    let bytes = write_xlsx(&[table]).unwrap();
    let errors = read_measurements(Format::Xlsx, &bytes).unwrap_err().listed;
    // Row 4: a value under no header, between the columns and to the right of them.
    assert_eq!(places(&errors), [(4, "value")], "{errors:?}");
    let mut table = Table { name: String::new(), header: vec!["KPI".into(), "Period".into(), "value".into()], rows: Vec::new() };
    table.rows.push(vec![text("Availability"), Cell::Date(date(2026, 1, 31)), Cell::Number(12.0)]);
    table.rows.push(vec![text("Availability"), text("2026-02"), Cell::Number(1e-7)]);
    let rows = read_measurements(Format::Xlsx, &write_xlsx(&[table]).unwrap()).unwrap();
    assert_eq!(rows.iter().map(|r| (r.period(), r.value())).collect::<Vec<_>>(), [("2026-01-31", "12"), ("2026-02", "0.0000001")]);
}

#[test]
fn header_in_another_order_and_comment_optional() {
    let rows = csv("Value, period ,kpi\n97,2026-03,availability\n").unwrap();
    assert_eq!(rows, [SheetRow::new(2, "availability", "2026-03", "97", "")]);
    let inputs = resolve(&rows, &kpis(), OPEN).unwrap();
    assert_eq!((inputs[0].period_start, inputs[0].value), (date(2026, 3, 1), 97.0));
}

#[test]
fn missing_unknown_and_twice_named_columns() {
    let errors = csv("KPI,value,unit,Notes\nAvailability,97,%,x\n").unwrap_err();
    assert_eq!(places(&errors), [(1, "period"), (1, "unit"), (1, "Notes")], "{errors:?}");
    assert!(errors[0].message.contains("no period column") && errors[1].message.contains("not a column"));
    let errors = csv("KPI,period,value,kpi\n").unwrap_err();
    assert_eq!(places(&errors), [(1, "KPI")]);
    assert!(errors[0].message.contains("twice"));
    // No header at all: one error that says what the first row must be.
    let errors = csv("Availability,2026-03,97\n").unwrap_err();
    assert_eq!(places(&errors), [(1, "file")]);
    assert!(errors[0].message.contains("must name the columns") && errors[0].message.contains("\"Availability\""), "{errors:?}");
    assert_eq!(places(&csv("").unwrap_err()), [(0, "file")]);
    assert_eq!(places(&csv("\n\n").unwrap_err()), [(0, "file")]);
    assert!(csv("KPI,period,value\n").unwrap_err()[0].message.contains("no values"));
}

#[test]
fn bad_period_for_a_monthly_kpi() {
    let errors =
        resolve_csv("KPI,period,value\nAvailability,2026-13,97\nAvailability,2026-Q1,97\nLate deliveries,2026-Q1,2\n").unwrap_err();
    assert_eq!(places(&errors), [(2, "period"), (3, "period")]);
    assert!(errors[0].message.contains("monthly") && errors[0].message.contains("2026-03"), "{}", errors[0].message);
}

#[test]
fn bad_and_missing_values() {
    let errors =
        resolve_csv("KPI,period,value\nAvailability,2026-03,n/a\nAvailability,2026-04,\nAvailability,2026-05,\"92,5\"\n").unwrap_err();
    assert_eq!(places(&errors), [(2, "value"), (3, "value"), (4, "value")]);
    assert!(errors[0].message.contains("\"n/a\" is not a number"));
    assert_eq!(errors[2].message, "\"92,5\" has a comma: use a point: 92.5");
    assert_eq!(resolve_csv("KPI,period,value\nAvailability,2026-05,92.5\n").unwrap()[0].value, 92.5);
}

#[test]
fn periods_and_values_the_relationship_cannot_have() {
    let recordable = Recordable { started: Date::constant(2025, 4, 10), today: OPEN.today };
    let text = "KPI,period,value\nAvailability,2031-01,97\nAvailability,2025-03,97\nAvailability,2025-04,-5\nAvailability,2026-12,100.5\nDefects,2026-W49,100\n";
    let errors = resolve(&csv(text).unwrap(), &kpis(), recordable).unwrap_err().listed;
    assert_eq!(places(&errors), [(2, "period"), (3, "period"), (4, "value"), (5, "value")]);
    assert_eq!(errors[0].message, "2031-01 has not begun: the current period is 2026-12");
    assert_eq!(errors[1].message, "2025-03 is before the relationship began: its first period is 2025-04");
    assert!(errors[2].message.contains("between 0 and 100") && errors[3].message.starts_with("100.5 is not a percentage"));
}

#[test]
fn unknown_kpi() {
    let errors = resolve_csv("KPI,period,value\nUptime,2026-03,97\n  AVAILABILITY ,2026-03,97\n,2026-04,1\n").unwrap_err();
    assert_eq!(places(&errors), [(2, "KPI"), (4, "KPI")]);
    assert!(errors[0].message.contains("\"Uptime\" is not a KPI"));
}

#[test]
fn kpis_named_alike_are_ambiguous() {
    let kpis = [kpi("Availability", Cadence::Monthly), kpi("AVAILABILITY", Cadence::Monthly)];
    let rows = csv("KPI,period,value\navailability,2026-03,1\n").unwrap();
    assert!(resolve(&rows, &kpis, OPEN).unwrap_err().listed[0].message.contains("differ only in case"));
}

#[test]
fn duplicate_kpi_and_period() {
    // 2026-03-15 falls in March: the same monthly period as 2026-03.
    let errors =
        resolve_csv("KPI,period,value\nAvailability,2026-03,97\nDefects,2026-03-02,1\navailability,2026-03-15,98\nDefects,2026-W10,2\n")
            .unwrap_err();
    assert_eq!(places(&errors), [(4, "period"), (5, "period")]);
    assert_eq!(errors[0].message, "2026-03 for Availability is already given on row 2");
}

#[test]
fn blank_rows_are_skipped_but_counted() {
    let text = "\nKPI,period,value,comment\r\n\r\nAvailability,2026-03,97,\n , ,,\n\n\"Availability\",2026-04,x,\"multi\nline\"\nAvailability,2026-05,y,\n";
    let rows = csv(text).unwrap();
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [4, 7, 8]);
    let errors = resolve(&rows, &kpis(), OPEN).unwrap_err().listed;
    assert_eq!(places(&errors), [(7, "value"), (8, "value")]);
    // Old Mac line ends.
    let rows = csv(&text.replace("\r\n", "\n").replace('\n', "\r")).unwrap();
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [4, 7, 8]);
}

#[test]
fn quoted_commas_in_comments() {
    let rows = csv("KPI,period,value,comment\nAvailability,2026-03,97,\"late, then on time\"\n").unwrap();
    assert_eq!(rows[0].comment(), "late, then on time");
    // Unquoted, the comma makes a cell the header does not name.
    let errors = csv("KPI,period,value,comment\nAvailability,2026-03,97,late, then on time\n").unwrap_err();
    assert_eq!(places(&errors), [(2, "comment")]);
    assert!(errors[0].message.contains("double quotes"));
}

#[test]
fn every_error_is_listed_with_row_and_column() {
    let text = "KPI,period,value,comment\n\
                Uptime,2026-03,x,\n\
                Availability,March,97,\n\
                Availability,2026-04,,\n\
                Defects,2026-W99,lots,\n\
                Availability,2026-05,1,\n\
                Availability,2026-05,2,\n";
    let errors = resolve_csv(text).unwrap_err();
    assert_eq!(
        places(&errors),
        [(2, "KPI"), (2, "value"), (3, "period"), (4, "value"), (5, "period"), (5, "value"), (7, "period")],
        "{errors:#?}"
    );
}

#[test]
fn semicolons_bom_and_other_encodings() {
    let rows = read_measurements(Format::Csv, "\u{feff}KPI;period;value\nAvailability;2026-03;97,5\n".as_bytes()).unwrap();
    assert_eq!((rows[0].kpi(), rows[0].value()), ("Availability", "97,5"));
    let errors = read_measurements(Format::Csv, b"KPI,period,value,comment\nAvailability,2026-03,97,caf\xe9\n").unwrap_err().listed;
    assert_eq!(places(&errors), [(2, "comment")]);
    assert!(errors[0].message.contains("UTF-8"));
    let errors = read_measurements(Format::Xlsx, b"KPI,period,value\n").unwrap_err().listed;
    assert_eq!(places(&errors), [(0, "file")]);
}

#[test]
fn limits() {
    let too_big = vec![b'a'; MAX_BYTES + 1];
    let errors = read_measurements(Format::Csv, &too_big).unwrap_err();
    assert!(errors.too_large);
    let errors = errors.listed;
    assert_eq!(places(&errors), [(0, "file")]);
    assert!(errors[0].message.contains("20 MiB"), "{}", errors[0].message);
    let many = format!("KPI,period,value\n{}", "a,b,1\n\n".repeat(1001));
    let errors = read::read_at_most(Format::Csv, many.as_bytes(), 1000, &mut |_, _| {}).unwrap_err();
    assert!(errors.too_large);
    assert_eq!(errors.listed, [CellError::file(0, "the file has more than 1,000 rows (at row 2002): split it")]);
    assert!(read::read_at_most(Format::Csv, many.as_bytes(), 1001, &mut |_, _| {}).is_ok());
    assert_eq!(read::thousands(MAX_ROWS), "2,000,000");
}

fn daily_file(kpis: usize, days: usize) -> (Vec<accord_store::Kpi>, String) {
    let list: Vec<_> = (0..kpis).map(|k| kpi(&format!("K{k}"), Cadence::Daily)).collect();
    let mut text = String::with_capacity(kpis * days * 20 + 20);
    text.push_str("KPI,period,value\n");
    let first = date(2000, 1, 1);
    for d in 0..days {
        let day = first.checked_add(jiff::Span::new().days(d as i64)).unwrap();
        for k in 0..kpis {
            writeln!(text, "K{k},{day},{}.5", (k + d) % 100).unwrap();
        }
    }
    (list, text)
}

#[test]
fn fifty_thousand_rows_resolve() {
    let (kpis, text) = daily_file(100, 500);
    let mut seen = Vec::new();
    let rows = read_measurements_with_progress(Format::Csv, text.as_bytes(), &mut |done, total| seen.push((done, total))).unwrap();
    assert_eq!(rows.len(), 50_000);
    assert_eq!(seen.last(), Some(&(50_000, 50_000)));
    assert!(seen.len() > 3 && seen.iter().all(|(done, total)| done <= total));
    let inputs = resolve(&rows, &kpis, OPEN).unwrap();
    assert_eq!(inputs.len(), 50_000);
    assert_eq!((inputs[49_999].kpi_id, inputs[49_999].period_start), (kpis[99].id, Date::constant(2001, 5, 14)));
}

/// `cargo test -p accord-sheets --release -- --ignored --nocapture a_million`
#[test]
#[ignore]
fn a_million_rows_read_and_resolve_quickly() {
    let (kpis, text) = daily_file(100, 10_000);
    assert!(text.len() <= MAX_BYTES, "{} bytes", text.len());
    let start = std::time::Instant::now();
    let rows = read_measurements(Format::Csv, text.as_bytes()).unwrap();
    let read = start.elapsed();
    let inputs = resolve(&rows, &kpis, OPEN).unwrap();
    let total = start.elapsed();
    assert_eq!(inputs.len(), 1_000_000);
    println!("1,000,000 rows ({:.1} MiB): read {read:?}, resolved {:?}, total {total:?}", text.len() as f64 / 1048576.0, total - read);
}

#[test]
fn formats_hashes_and_csv_text() {
    assert_eq!(Format::from_file_name("march.CSV"), Some(Format::Csv));
    assert_eq!(Format::from_file_name("a.b.Xlsx"), Some(Format::Xlsx));
    assert_eq!(Format::from_file_name("march.xls"), None);
    assert_eq!(Format::from_file_name("csv"), None);
    assert_eq!(sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let table = Table {
        name: "t".into(),
        header: vec!["a".into(), "b".into()],
        rows: vec![
            vec![Cell::Text("=1+1".into()), Cell::Number(1.0 / 3.0)],
            vec![Cell::Text("-".into()), Cell::Number(-2.0)],
            vec![Cell::Empty, Cell::Date(date(2026, 3, 1))],
        ],
    };
    assert_eq!(write_csv(&table), "a,b\r\n'=1+1,0.3333\r\n'-,-2\r\n,2026-03-01\r\n");
}

/// A table of the import's columns with one row, `comment` as given.
fn one_row_table(comment: &str) -> Table {
    let text = |s: &str| Cell::Text(s.to_owned());
    Table {
        name: "Values".into(),
        header: vec!["KPI".into(), "period".into(), "value".into(), "comment".into()],
        rows: vec![vec![text("Availability"), text("2026-03"), Cell::Number(97.0), text(comment)]],
    }
}

/// A zip of `(name, contents)` parts, deflated.
fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, contents) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(contents).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn csv_columns_and_cells_are_bounded() {
    // A header a million cells wide: refused at the header, naming the limit.
    let wide = format!("KPI,period,value{}\nAvailability,2026-03,97\n", ",x".repeat(1_000_000));
    let problems = read_measurements(Format::Csv, wide.as_bytes()).unwrap_err();
    assert_eq!((places(&problems.listed), problems.more, problems.too_large), (vec![(1, "file")], 0, false));
    assert!(problems.listed[0].message.contains(&format!("more than {MAX_COLUMNS} columns")), "{problems:?}");
    // A data row that wide: named by row, and the rows after it still read.
    let row = format!(
        "KPI,period,value,comment\nAvailability,2026-03,97{}\nAvailability,2026-04,x,\"{}\"\n",
        ",1".repeat(100),
        "y".repeat(5_000_000)
    );
    let problems = read_measurements(Format::Csv, row.as_bytes()).unwrap_err().listed;
    assert_eq!(places(&problems), [(2, "file"), (3, "comment")], "{problems:?}");
    assert!(problems[0].message.contains(&format!("more than {MAX_COLUMNS} cells")), "{problems:?}");
    assert_eq!(problems[1].message, "is longer than 2,000 characters, the most a cell may hold");
    // A comment of exactly the limit (in four-byte characters) is read; one more is refused.
    let longest = "🚢".repeat(MAX_CELL_CHARS);
    let rows = csv(&format!("KPI,period,value,comment\nAvailability,2026-03,97,{longest}\n")).unwrap();
    assert_eq!(rows[0].comment(), longest);
    let errors = csv(&format!("KPI,period,value,comment\nAvailability,2026-03,97,{longest}x\n")).unwrap_err();
    assert_eq!(places(&errors), [(2, "comment")]);
    let errors = csv(&format!("KPI,period,value,\"{}\"\nAvailability,2026-03,97\n", "c".repeat(5_000_000))).unwrap_err();
    assert_eq!(places(&errors), [(1, "file")]);
    assert!(errors[0].message.contains("the header row has a cell that is longer than 2,000 characters"), "{errors:?}");
    let errors = csv(&format!("KPI,{},value\n", "p".repeat(5000))).unwrap_err();
    assert_eq!(places(&errors), [(1, "period"), (1, &*format!("{}…", "p".repeat(MAX_QUOTED_CHARS)))]);
}

#[test]
fn problems_are_capped_and_quote_little() {
    // 100,000 bad rows (16 MiB), each naming a KPI of 150 characters.
    let name = "Z".repeat(150);
    let text = format!("KPI,period,value\n{}", format!("{name},2026-03,x\n").repeat(100_000));
    let rows = csv(&text).unwrap();
    let problems = resolve(&rows, &kpis(), OPEN).unwrap_err();
    assert_eq!((problems.listed.len(), problems.more, problems.count()), (MAX_PROBLEMS, 199_900, 200_000));
    assert_eq!(places(&problems.listed[..2]), [(2, "KPI"), (2, "value")]);
    let quote = format!("\"{}\"…", "Z".repeat(MAX_QUOTED_CHARS));
    assert_eq!(problems.listed[0].message, format!("{quote} is not a KPI of this relationship"));
    // Long periods and values are quoted as briefly.
    let errors = resolve_csv(&format!("KPI,period,value\nAvailability,{name},{name}\n")).unwrap_err();
    assert!(errors.iter().all(|e| e.message.starts_with(&quote) && e.message.len() < 200), "{errors:?}");
    // A file's own problems are capped too.
    let text = format!("KPI,period,value\n{}", "a,b,c,d\n".repeat(1000));
    let problems = read_measurements(Format::Csv, text.as_bytes()).unwrap_err();
    assert_eq!((problems.listed.len(), problems.more), (MAX_PROBLEMS, 900));
}

#[test]
fn xlsx_cells_and_columns_are_bounded() {
    let longest = "x".repeat(MAX_CELL_CHARS);
    let rows = read_measurements(Format::Xlsx, &write_xlsx(&[one_row_table(&longest)]).unwrap()).unwrap();
    assert_eq!(rows[0].comment(), longest);
    // One more character: refused by calamine's reading, naming the cell.
    let errors = read_measurements(Format::Xlsx, &write_xlsx(&[one_row_table(&format!("{longest}x"))]).unwrap()).unwrap_err();
    assert_eq!(places(&errors.listed), [(2, "comment")]);
    // Ten times longer: refused from the shared strings, before calamine reads them.
    let errors = read_measurements(Format::Xlsx, &write_xlsx(&[one_row_table(&longest.repeat(11))]).unwrap()).unwrap_err();
    assert_eq!(places(&errors.listed), [(0, "file")]);
    assert!(errors.listed[0].message.contains("xl/sharedStrings.xml holds a cell longer than 2,000 characters"), "{errors:?}");
    // A header wider than the limit.
    let mut wide = one_row_table("");
    wide.header.extend((0..MAX_COLUMNS).map(|i| format!("extra {i}")));
    let errors = read_measurements(Format::Xlsx, &write_xlsx(&[wide]).unwrap()).unwrap_err();
    assert_eq!(places(&errors.listed), [(1, "file")]);
    assert!(errors.listed[0].message.contains("more than 64 columns"), "{errors:?}");
}

#[test]
fn xlsx_parts_are_bounded_from_the_zip_directory() {
    let names: Vec<String> = (0..=MAX_PARTS).map(|i| format!("part{i}")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let problems = read_measurements(Format::Xlsx, &zip_of(&many)).unwrap_err();
    assert!(problems.too_large && problems.listed[0].message.contains("1,001 parts"), "{problems:?}");
    // A part other than a worksheet that unpacks past the limit: refused without unpacking it.
    let big = vec![b' '; MAX_PART_BYTES as usize + 1];
    let bytes = zip_of(&[("xl/sharedStrings.xml", &big)]);
    assert!(bytes.len() < 100_000);
    let problems = read_measurements(Format::Xlsx, &bytes).unwrap_err();
    assert!(problems.too_large && problems.listed[0].message.contains("at most 16 MiB"), "{problems:?}");
    // A table that says it holds more strings than it can: calamine would reserve room for them.
    let sst = br#"<?xml version="1.0"?><sst xmlns="x" count="1" uniqueCount = "100000000000"><si><t>a</t></si></sst>"#;
    let problems = read_measurements(Format::Xlsx, &zip_of(&[("xl/sharedStrings.xml", sst)])).unwrap_err();
    assert!(problems.listed[0].message.contains("declares more strings than it holds"), "{problems:?}");
    // Not a zip at all.
    let problems = read_measurements(Format::Xlsx, b"PK\x03\x04 not really").unwrap_err();
    assert!(problems.listed[0].message.starts_with("cannot be read as an XLSX workbook"), "{problems:?}");
}
