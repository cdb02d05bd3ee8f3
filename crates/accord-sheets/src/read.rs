//! Files to rows: the header row names the columns, every other non-blank row is one value.

use crate::{CellError, Column, Format, MAX_BYTES, MAX_ROWS, SheetRow};
use calamine::{DataRef, Reader, SheetType, SheetVisible, Xlsx};

/// How often (in rows) progress is reported.
const PROGRESS_EVERY: usize = 8192;

/// Reads the rows of a measurements file: a header row naming the columns KPI, period, value,
/// comment (case-insensitive, any order; comment optional; extra columns refused with an error
/// naming them), then one row per value. Blank rows are skipped. XLSX: the first worksheet;
/// numbers and dates in cells become text as a person would write them (a date cell →
/// YYYY-MM-DD; a whole number → "12"; 12.5 → "12.5").
pub fn read_measurements(format: Format, bytes: &[u8]) -> Result<Vec<SheetRow>, Vec<CellError>> {
    read_measurements_with_progress(format, bytes, &mut |_, _| {})
}

/// [`read_measurements`], calling `progress(rows read, rows expected)` now and then (the
/// expected count is an estimate: lines for CSV, the sheet's declared size for XLSX).
pub fn read_measurements_with_progress(
    format: Format,
    bytes: &[u8],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<SheetRow>, Vec<CellError>> {
    if bytes.len() > MAX_BYTES {
        return Err(vec![CellError::file(
            0,
            format!("the file is {:.1} MiB; at most {} MiB can be imported at once: split it", mib(bytes.len()), MAX_BYTES >> 20),
        )]);
    }
    read_at_most(format, bytes, MAX_ROWS, progress)
}

pub(crate) fn read_at_most(
    format: Format,
    bytes: &[u8],
    max_rows: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<SheetRow>, Vec<CellError>> {
    let mut collector = Collector::new(format, max_rows, progress);
    match format {
        Format::Csv => read_csv(bytes, &mut collector),
        Format::Xlsx => read_xlsx(bytes, &mut collector),
    }
    collector.finish()
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn read_csv(bytes: &[u8], collector: &mut Collector) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Lines less the header: a good guess at the rows until a cell holds a line break.
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + usize::from(!bytes.ends_with(b"\n"));
    collector.expected = lines.saturating_sub(1);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter(bytes)).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    // Rows are numbered as a spreadsheet shows the file: the reader skips empty lines, which
    // count, and a quoted line break inside a cell does not start a row. Lines end with \n, or
    // with \r alone in files from old Macs.
    let eol = if bytes.contains(&b'\n') { b'\n' } else { b'\r' };
    let (mut counted_to, mut line_breaks, mut breaks_in_cells) = (0, 0, 0);
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                collector.errors.push(CellError::file(line_breaks + 1 - breaks_in_cells, format!("cannot be read as CSV: {e}")));
                break;
            }
        }
        let Some(position) = record.position() else { break };
        // The record's position is where the previous one ended: skip the empty lines between.
        let after_previous = position.byte() as usize;
        let start = after_previous + bytes[after_previous..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        line_breaks += bytes[counted_to..start].iter().filter(|&&b| b == eol).count();
        counted_to = start;
        let row = line_breaks + 1 - breaks_in_cells;
        breaks_in_cells += record.iter().map(|f| f.iter().filter(|&&b| b == eol).count()).sum::<usize>();
        let go = collector.row(row, record.len(), |i| record.get(i).map(|f| std::str::from_utf8(f).ok()).unwrap_or(Some("")));
        if !go {
            break;
        }
    }
}

/// Comma, unless the header row has none and semicolons instead (spreadsheets in locales that
/// write decimal commas save CSV that way) or tabs.
fn delimiter(bytes: &[u8]) -> u8 {
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let count = |d: u8| first_line.iter().filter(|&&b| b == d).count();
    if count(b',') > 0 {
        b','
    } else if count(b';') > 0 {
        b';'
    } else if count(b'\t') > 0 {
        b'\t'
    } else {
        b','
    }
}

fn read_xlsx(bytes: &[u8], collector: &mut Collector) {
    let file_error = |collector: &mut Collector, what: &str, e: &dyn std::fmt::Display| {
        collector.errors.push(CellError::file(0, format!("{what}: {e}")));
    };
    let mut book = match Xlsx::new(std::io::Cursor::new(bytes)) {
        Ok(book) => book,
        Err(e) => return file_error(collector, "cannot be read as an XLSX workbook", &e),
    };
    let sheets = book.sheets_metadata();
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let Some(sheet) = worksheets().find(|s| s.visible == SheetVisible::Visible).or_else(|| worksheets().next()) else {
        return collector.errors.push(CellError::file(0, "the workbook has no worksheet"));
    };
    let name = sheet.name.clone();
    // Streamed cell by cell: the sheet is never held whole, and its declared size is not trusted.
    let mut cells = match book.worksheet_cells_reader(&name) {
        Ok(cells) => cells,
        Err(e) => return file_error(collector, &format!("cannot read the worksheet {name:?}"), &e),
    };
    let dimensions = cells.dimensions();
    collector.expected = (dimensions.end.0.saturating_sub(dimensions.start.0) as usize).min(collector.max_rows);
    let mut current: Option<u32> = None;
    let mut values: Vec<String> = Vec::new();
    let flush = |collector: &mut Collector, row: Option<u32>, values: &mut Vec<String>| -> bool {
        let Some(row) = row else { return true };
        let go = collector.row(row as usize + 1, values.len(), |i| Some(values[i].as_str()));
        values.clear();
        go
    };
    loop {
        let cell = match cells.next_cell() {
            Ok(Some(cell)) => cell,
            Ok(None) => break,
            Err(e) => {
                let row = current.map_or(0, |r| r as usize + 1);
                collector.errors.push(CellError::file(row, format!("the worksheet {name:?} cannot be read: {e}")));
                return;
            }
        };
        let (row, column) = cell.get_position();
        if current != Some(row) {
            if !flush(collector, current, &mut values) {
                return;
            }
            current = Some(row);
        }
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        let column = column as usize;
        if column >= values.len() {
            // A cell far to the right only matters if it is outside the named columns: one
            // placeholder marks it without allocating the gap.
            if column > collector.width() {
                values.resize(collector.width() + 1, String::new());
                values[collector.width()] = text;
                continue;
            }
            values.resize(column + 1, String::new());
        }
        values[column] = text;
    }
    flush(collector, current, &mut values);
}

/// A cell as a person would write it.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        DataRef::DateTime(d) if d.is_datetime() => {
            let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
            if (h, min, s) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{s:02}")
            }
        }
        DataRef::DateTime(d) => number_text(d.as_f64()),
        DataRef::DateTimeIso(s) => s.strip_suffix("T00:00:00").unwrap_or(s).to_owned(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    }
}

/// Whole numbers without a decimal point; others in the shortest form that reads back the same.
fn number_text(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e15 { format!("{}", value as i64) } else { format!("{value}") }
}

/// Where each column of the file sits.
/// Columns that a KPI history export adds for people, passed over on import, so that an export
/// can be corrected and imported back.
const EXPORT_ONLY: [&str; 3] = ["status", "entered by", "entered on"];

struct Header {
    /// By position: the column there, if named.
    at: Vec<Option<Column>>,
    /// By position: a column of Accord's own exports that an import passes over.
    ignored: Vec<bool>,
    /// Position of each column, in [`Column::ALL`] order.
    position: [Option<usize>; 4],
}

/// Takes rows one at a time, whatever the format.
struct Collector<'p> {
    format: Format,
    header: Option<Header>,
    rows: Vec<SheetRow>,
    errors: Vec<CellError>,
    data_rows: usize,
    max_rows: usize,
    expected: usize,
    progress: &'p mut dyn FnMut(usize, usize),
}

impl<'p> Collector<'p> {
    fn new(format: Format, max_rows: usize, progress: &'p mut dyn FnMut(usize, usize)) -> Collector<'p> {
        Collector { format, header: None, rows: Vec::new(), errors: Vec::new(), data_rows: 0, max_rows, expected: 0, progress }
    }

    /// How many positions the header spans.
    fn width(&self) -> usize {
        self.header.as_ref().map_or(usize::MAX - 1, |h| h.at.len())
    }

    /// One row of `len` cells; `cell(i)` is `None` when the cell is not text. False: stop reading.
    fn row<'a>(&mut self, row: usize, len: usize, cell: impl Fn(usize) -> Option<&'a str>) -> bool {
        let blank = |i: usize| cell(i).is_some_and(|t| t.trim().is_empty());
        let Some(header) = &self.header else {
            if (0..len).all(blank) {
                return true;
            }
            return self.read_header(row, len, cell);
        };
        let mut field = |column: Column| -> &'a str {
            match header.position[column as usize] {
                Some(i) if i < len => cell(i).unwrap_or_else(|| {
                    self.errors.push(CellError::new(row, column.name(), "is not UTF-8 text: save the file as \"CSV UTF-8\""));
                    ""
                }),
                _ => "",
            }
        };
        let (kpi, period, value, comment) = (field(Column::Kpi), field(Column::Period), field(Column::Value), field(Column::Comment));
        let ignored = |i: usize| header.ignored.get(i).copied().unwrap_or(false);
        if let Some(stray) = (0..len).find(|&i| header.at.get(i).copied().flatten().is_none() && !ignored(i) && !blank(i)) {
            let before = header.at[..stray.min(header.at.len())].iter().rev().flatten().next().map_or("file", |c| c.name());
            let message = match self.format {
                Format::Csv => "has more cells than the header names: put a comment that contains commas in double quotes",
                Format::Xlsx => "has a value in a column that the header does not name",
            };
            self.errors.push(CellError::new(row, before, message));
        } else if [kpi, period, value, comment].iter().all(|t| t.trim().is_empty()) {
            return true;
        }
        self.data_rows += 1;
        if self.data_rows > self.max_rows {
            self.errors.push(CellError::file(row, format!("has more than {} rows: split it", thousands(self.max_rows))));
            return false;
        }
        if self.data_rows.is_multiple_of(PROGRESS_EVERY) {
            self.expected = self.expected.max(self.data_rows);
            (self.progress)(self.data_rows, self.expected);
        }
        // Once the file is refused, its rows are not needed.
        if self.errors.is_empty() {
            self.rows.push(SheetRow {
                row,
                kpi: kpi.to_owned(),
                period: period.to_owned(),
                value: value.to_owned(),
                comment: comment.to_owned(),
            });
        }
        true
    }

    fn read_header<'a>(&mut self, row: usize, len: usize, cell: impl Fn(usize) -> Option<&'a str>) -> bool {
        let mut header = Header { at: vec![None; len], ignored: vec![false; len], position: [None; 4] };
        let mut unknown = Vec::new();
        for i in 0..len {
            let Some(text) = cell(i) else {
                unknown.push("(not UTF-8 text)".to_owned());
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match Column::parse(text) {
                Some(column) if header.position[column as usize].is_some() => {
                    self.errors.push(CellError::new(row, column.name(), "is named twice in the header"));
                }
                Some(column) => {
                    header.position[column as usize] = Some(i);
                    header.at[i] = Some(column);
                }
                None if EXPORT_ONLY.contains(&text.to_lowercase().as_str()) => {
                    if header.ignored.len() <= i {
                        header.ignored.resize(i + 1, false);
                    }
                    header.ignored[i] = true;
                }
                None => unknown.push(text.to_owned()),
            }
        }
        let expected = "the first row must name the columns KPI, period, value and (optionally) comment";
        if header.position.iter().all(Option::is_none) {
            let found = unknown.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", ");
            self.errors.push(CellError::file(row, format!("{expected}; it has {found}")));
            return false;
        }
        for column in [Column::Kpi, Column::Period, Column::Value] {
            if header.position[column as usize].is_none() {
                self.errors.push(CellError::new(row, column.name(), format!("the header has no {} column", column.name())));
            }
        }
        for name in unknown {
            self.errors.push(CellError::new(row, name, "is not a column of a measurements file (KPI, period, value, comment)"));
        }
        // Trailing unnamed positions need not be kept.
        while header.at.last() == Some(&None) {
            header.at.pop();
        }
        self.header = Some(header);
        self.rows.reserve(self.expected.min(self.max_rows));
        self.errors.is_empty()
    }

    fn finish(self) -> Result<Vec<SheetRow>, Vec<CellError>> {
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        if self.header.is_none() {
            return Err(vec![CellError::file(0, "the file is empty: the first row must name the columns KPI, period, value and comment")]);
        }
        if self.data_rows == 0 {
            return Err(vec![CellError::file(0, "the file has a header but no values")]);
        }
        (self.progress)(self.data_rows, self.data_rows);
        Ok(self.rows)
    }
}

/// 2000000 → "2,000,000".
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
