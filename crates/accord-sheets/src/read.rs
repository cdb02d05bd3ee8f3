//! Files to rows: the header row names the columns, every other non-blank row is one value.

use crate::{CellError, Column, Format, MAX_BYTES, MAX_CELL_CHARS, MAX_CELLS, MAX_COLUMNS, MAX_ROWS, Problems, SheetRow};
use accord_domain::text::quoted;
use calamine::{DataRef, Reader, SheetType, SheetVisible, Xlsx};
use csv_core::ReadRecordResult;

/// How often (in rows) progress is reported.
const PROGRESS_EVERY: usize = 8192;

/// Reads the rows of a measurements file: a header row naming the columns KPI, period, value,
/// comment (case-insensitive, any order; comment optional; extra columns refused with an error
/// naming them), then one row per value. Blank rows are skipped. XLSX: the first worksheet;
/// numbers and dates in cells become text as a person would write them (a date cell →
/// YYYY-MM-DD; a whole number → "12"; 12.5 → "12.5").
pub fn read_measurements(format: Format, bytes: &[u8]) -> Result<Vec<SheetRow>, Problems> {
    read_measurements_with_progress(format, bytes, &mut |_, _| {})
}

/// [`read_measurements`], calling `progress(rows read, rows expected)` now and then (the
/// expected count is an estimate: lines for CSV, the sheet's declared size for XLSX).
pub fn read_measurements_with_progress(
    format: Format, bytes: &[u8], progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<SheetRow>, Problems> {
    if bytes.len() > MAX_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    read_at_most(format, bytes, MAX_ROWS, progress)
}

pub(crate) fn read_at_most(
    format: Format, bytes: &[u8], max_rows: usize, progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<SheetRow>, Problems> {
    let mut collector = Collector::new(format, max_rows, progress);
    match format {
        Format::Csv => read_csv(bytes, &mut collector),
        Format::Xlsx => read_xlsx(bytes, &mut collector),
    }
    collector.finish()
}

/// A file over [`MAX_BYTES`], refused unread.
pub fn too_big(bytes: u64) -> Problems {
    Problems::too_large(format!(
        "the file is {:.1} MiB; at most {} MiB can be imported at once: split it",
        bytes as f64 / (1024.0 * 1024.0),
        MAX_BYTES >> 20
    ))
}

/// The text of one CSV row: room for [`MAX_COLUMNS`] cells of [`MAX_CELL_CHARS`] characters (four
/// bytes at most each), so that a row that does not fit has a cell longer than that.
const ROW_BYTES: usize = MAX_COLUMNS * (4 * MAX_CELL_CHARS + 1);

/// Why a CSV row was not read whole.
enum Overflow {
    /// More than [`MAX_COLUMNS`] cells.
    Cells,
    /// The cell at this position is too long.
    Cell(usize),
}

fn read_csv(bytes: &[u8], collector: &mut Collector) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Lines less the header: a good guess at the rows until a cell holds a line break.
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() + usize::from(!bytes.ends_with(b"\n"));
    collector.expected = lines.saturating_sub(1);
    collector.rows_known = true;
    // Rows are read into buffers of a fixed size: a row of a million cells, or a cell of
    // megabytes, is refused without being held.
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter(bytes)).build();
    let mut text = vec![0u8; ROW_BYTES];
    let mut ends = [0usize; MAX_COLUMNS + 1];
    // Rows are numbered as a spreadsheet shows the file: the reader skips empty lines, which
    // count, and a quoted line break inside a cell does not start a row. Lines end with \n, or
    // with \r alone in files from old Macs.
    let eol = if bytes.contains(&b'\n') { b'\n' } else { b'\r' };
    let (mut at, mut counted_to, mut line_breaks, mut breaks_in_cells) = (0, 0, 0, 0);
    loop {
        // Where the previous record ended: skip the empty lines between.
        let after_previous = at;
        // `filled` counts the ends held, `cells` every cell of the row.
        let (mut out, mut filled, mut cells, mut overflow) = (0, 0, 0, None);
        let found = loop {
            let (result, nin, nout, nend) = reader.read_record(&bytes[at..], &mut text[out..], &mut ends[filled..]);
            at += nin;
            out += nout;
            filled += nend;
            cells += nend;
            match result {
                ReadRecordResult::Record => break true,
                ReadRecordResult::End => break false,
                ReadRecordResult::InputEmpty => {}
                // The rest of the row is read over the same buffers, keeping only why.
                ReadRecordResult::OutputFull => {
                    overflow.get_or_insert(Overflow::Cell(cells));
                    out = 0;
                }
                ReadRecordResult::OutputEndsFull => {
                    overflow.get_or_insert(Overflow::Cells);
                    filled = 0;
                }
            }
        };
        if !found {
            break;
        }
        let start = after_previous + bytes[after_previous..].iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
        line_breaks += bytes[counted_to..start].iter().filter(|&&b| b == eol).count();
        counted_to = start;
        let row = line_breaks + 1 - breaks_in_cells;
        breaks_in_cells += bytes[start..at].iter().filter(|&&b| b == eol).count();
        // The line break that ends the record is not inside a cell.
        breaks_in_cells -= usize::from(bytes[..at].last() == Some(&eol) && at > start);
        let go = match overflow {
            Some(overflow) => collector.overflow(row, cells, overflow),
            None => {
                let cell = |i: usize| {
                    let from = if i == 0 { 0 } else { ends[i - 1] };
                    std::str::from_utf8(&text[from..ends[i]]).ok()
                };
                collector.row(row, cells, cell)
            }
        };
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
    if let Err(problems) = crate::workbook::check(bytes) {
        collector.problems = problems;
        return;
    }
    let file_error = |collector: &mut Collector, what: &str, e: &dyn std::fmt::Display| {
        collector.problems.push(CellError::file(0, format!("{what}: {}", cut(&e.to_string()))));
    };
    let mut book = match Xlsx::new(std::io::Cursor::new(bytes)) {
        Ok(book) => book,
        Err(e) => return file_error(collector, "cannot be read as an XLSX workbook", &e),
    };
    let sheets = book.sheets_metadata();
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let Some(sheet) = worksheets().find(|s| s.visible == SheetVisible::Visible).or_else(|| worksheets().next()) else {
        return collector.problems.push(CellError::file(0, "the workbook has no worksheet"));
    };
    let name = sheet.name.clone();
    // Streamed cell by cell: the sheet is never held whole, and its declared size is not trusted.
    let mut cells = match book.worksheet_cells_reader(&name) {
        Ok(cells) => cells,
        Err(e) => return file_error(collector, &format!("cannot read the worksheet {}", quoted(&name)), &e),
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
                let message = format!("the worksheet {} cannot be read: {}", quoted(&name), cut(&e.to_string()));
                collector.problems.push(CellError::file(row, message));
                return;
            }
        };
        if !collector.count_cells(1) {
            return;
        }
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
        if collector.header.is_none() && column >= MAX_COLUMNS {
            collector.problems.push(CellError::file(row as usize + 1, too_wide()));
            return;
        }
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
    problems: Problems,
    data_rows: usize,
    cells: usize,
    max_rows: usize,
    expected: usize,
    /// Whether `expected` was counted (CSV lines) rather than declared by the file (an XLSX
    /// sheet's dimensions, which may lie): only a counted size is reserved up front.
    rows_known: bool,
    progress: &'p mut dyn FnMut(usize, usize),
}

impl<'p> Collector<'p> {
    fn new(format: Format, max_rows: usize, progress: &'p mut dyn FnMut(usize, usize)) -> Collector<'p> {
        Collector {
            format,
            header: None,
            rows: Vec::new(),
            problems: Problems::default(),
            data_rows: 0,
            cells: 0,
            max_rows,
            expected: 0,
            rows_known: false,
            progress,
        }
    }

    /// How many positions the header spans.
    fn width(&self) -> usize {
        self.header.as_ref().map_or(usize::MAX - 1, |h| h.at.len())
    }

    /// Counts `n` more cells read; false (and the file refused) past [`MAX_CELLS`].
    fn count_cells(&mut self, n: usize) -> bool {
        self.cells += n;
        if self.cells > MAX_CELLS {
            self.problems = Problems::too_large(format!(
                "the file has more than {} cells (filled or not); at most that many are read: split it",
                thousands(MAX_CELLS)
            ));
            return false;
        }
        true
    }

    /// The column a position is under, for a problem there.
    fn column_at(&self, i: usize) -> String {
        match &self.header {
            Some(header) => header.at.get(i).copied().flatten().map_or_else(|| format!("column {}", i + 1), |c| c.name().to_owned()),
            None => "file".to_owned(),
        }
    }

    /// A CSV row that did not fit the row buffers: too many cells, or one too long.
    fn overflow(&mut self, row: usize, len: usize, overflow: Overflow) -> bool {
        if !self.count_cells(len) {
            return false;
        }
        if self.header.is_none() {
            let message = match overflow {
                Overflow::Cells => too_wide(),
                Overflow::Cell(_) => format!("the header row has a cell that {}", too_long()),
            };
            return self.refuse_header(row, message);
        }
        match overflow {
            Overflow::Cells => {
                let message =
                    format!("has more than {} cells: put a comment that contains commas in double quotes", thousands(MAX_COLUMNS));
                self.problems.push(CellError::file(row, message));
            }
            Overflow::Cell(i) => {
                let column = self.column_at(i);
                self.problems.push(CellError::new(row, column, too_long()));
            }
        }
        self.data_row(row, None)
    }

    /// One row of `len` cells; `cell(i)` is `None` when the cell is not text. False: stop reading.
    fn row<'a>(&mut self, row: usize, len: usize, cell: impl Fn(usize) -> Option<&'a str>) -> bool {
        if self.format == Format::Csv && !self.count_cells(len) {
            return false;
        }
        let blank = |i: usize| cell(i).is_some_and(|t| t.trim().is_empty());
        let Some(header) = &self.header else {
            if (0..len).all(blank) {
                return true;
            }
            return self.read_header(row, len, cell);
        };
        // A cell over the limit is named; the row's other problems are not looked for.
        if let Some(long) = (0..len).find(|&i| cell(i).is_some_and(|t| t.len() > MAX_CELL_CHARS && t.chars().count() > MAX_CELL_CHARS)) {
            let column = self.column_at(long);
            self.problems.push(CellError::new(row, column, too_long()));
            return self.data_row(row, None);
        }
        let mut problems = Vec::new();
        let mut field = |column: Column| -> &'a str {
            match header.position[column as usize] {
                Some(i) if i < len => cell(i).unwrap_or_else(|| {
                    problems.push(CellError::new(row, column.name(), "is not UTF-8 text: save the file as \"CSV UTF-8\""));
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
            problems.push(CellError::new(row, before, message));
        } else if problems.is_empty() && [kpi, period, value, comment].iter().all(|t| t.trim().is_empty()) {
            return true;
        }
        for problem in problems {
            self.problems.push(problem);
        }
        let sheet_row = SheetRow::new(row, kpi, period, value, comment);
        self.data_row(row, Some(sheet_row))
    }

    /// Counts a data row, keeping it while the file has no problems. False: stop reading.
    fn data_row(&mut self, row: usize, sheet_row: Option<SheetRow>) -> bool {
        self.data_rows += 1;
        if self.data_rows > self.max_rows {
            self.problems =
                Problems::too_large(format!("the file has more than {} rows (at row {row}): split it", thousands(self.max_rows)));
            return false;
        }
        if self.data_rows.is_multiple_of(PROGRESS_EVERY) {
            self.expected = self.expected.max(self.data_rows);
            (self.progress)(self.data_rows, self.expected);
        }
        // Once the file is refused, its rows are not needed.
        if let (Some(sheet_row), true) = (sheet_row, self.problems.is_empty()) {
            self.rows.push(sheet_row);
        }
        true
    }

    /// A header that cannot be read: the file is refused with this one problem.
    fn refuse_header(&mut self, row: usize, message: String) -> bool {
        self.problems.push(CellError::file(row, message));
        false
    }

    fn read_header<'a>(&mut self, row: usize, len: usize, cell: impl Fn(usize) -> Option<&'a str>) -> bool {
        if len > MAX_COLUMNS {
            return self.refuse_header(row, too_wide());
        }
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
                    self.problems.push(CellError::new(row, column.name(), "is named twice in the header"));
                }
                Some(column) => {
                    header.position[column as usize] = Some(i);
                    header.at[i] = Some(column);
                }
                None if EXPORT_ONLY.contains(&text.to_lowercase().as_str()) => header.ignored[i] = true,
                None => unknown.push(cut(text)),
            }
        }
        let expected = "the first row must name the columns KPI, period, value and (optionally) comment";
        if header.position.iter().all(Option::is_none) {
            let found = unknown.iter().take(4).map(|u| quoted(u)).collect::<Vec<_>>().join(", ");
            let more = if unknown.len() > 4 { format!(" and {} more", unknown.len() - 4) } else { String::new() };
            return self.refuse_header(row, format!("{expected}; it has {found}{more}"));
        }
        for column in [Column::Kpi, Column::Period, Column::Value] {
            if header.position[column as usize].is_none() {
                self.problems.push(CellError::new(row, column.name(), format!("the header has no {} column", column.name())));
            }
        }
        for name in unknown {
            self.problems.push(CellError::new(row, name, "is not a column of a measurements file (KPI, period, value, comment)"));
        }
        // Trailing unnamed positions need not be kept.
        while header.at.last() == Some(&None) {
            header.at.pop();
        }
        self.header = Some(header);
        if self.rows_known {
            self.rows.reserve(self.expected.min(self.max_rows));
        }
        self.problems.is_empty()
    }

    fn finish(self) -> Result<Vec<SheetRow>, Problems> {
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        if self.header.is_none() {
            return Err(CellError::file(0, "the file is empty: the first row must name the columns KPI, period, value and comment").into());
        }
        if self.data_rows == 0 {
            return Err(CellError::file(0, "the file has a header but no values").into());
        }
        (self.progress)(self.data_rows, self.data_rows);
        Ok(self.rows)
    }
}

fn too_wide() -> String {
    format!("the header row has more than {} columns; a measurements file has KPI, period, value and comment", thousands(MAX_COLUMNS))
}

fn too_long() -> String {
    format!("is longer than {} characters, the most a cell may hold", thousands(MAX_CELL_CHARS))
}

/// At most [`crate::MAX_QUOTED_CHARS`] characters of someone's text, for a problem that names it
/// without quotes (a column the header names, a library's message).
pub(crate) fn cut(text: &str) -> String {
    match text.char_indices().nth(crate::MAX_QUOTED_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// 2000000 → "2,000,000".
pub fn thousands(n: usize) -> String {
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
