//! Spreadsheets in and out: measurements read from CSV and XLSX files, tables written to both.
//!
//! A crate of its own so that the spreadsheet libraries rebuild only when it changes. Reading is
//! in two steps: [`read_measurements`] turns a file into rows as written (and refuses a file it
//! cannot read as a table), [`resolve`] checks each row against a relationship's KPIs. Both list
//! the problems by row and column (the first [`MAX_PROBLEMS`], and how many more), so a person
//! can fix the file in one pass.

mod read;
mod resolve;
mod workbook;
mod write;

pub use accord_domain::text::quoted;
pub use read::{read_measurements, read_measurements_with_progress, thousands, too_big};
pub use resolve::{resolve, resolve_with_progress};
pub use write::{write_csv, write_xlsx};

use serde::Serialize;
use sha2::{Digest, Sha256};

// Every file is bounded before it is parsed, so that a small hostile file cannot make the server
// hold or answer gigabytes: what it may unpack to, its rows, cells and columns, one cell's
// length, and how many problems are listed. A 1,000,000-row CSV (the benchmark's) is well inside.

/// The largest file read (as sent): bigger ones are refused before parsing.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The most data rows read from one file.
pub const MAX_ROWS: usize = 2_000_000;
/// The most cells read from one file, filled or not (a KPI history export of [`MAX_ROWS`] rows,
/// seven columns wide, fits).
pub const MAX_CELLS: usize = 8 * MAX_ROWS;
/// The most columns a row may span: the four of a measurements file, the columns an export adds,
/// and room for a few more (which are refused by name).
pub const MAX_COLUMNS: usize = 64;
/// The longest cell, in characters (a comment longer than this is refused).
pub const MAX_CELL_CHARS: usize = 2_000;
/// XLSX: the most that the parts of a workbook may unpack to, together (the directory of the zip
/// says, and the zip reader holds each part to its declared size).
pub const MAX_UNPACKED_BYTES: u64 = 256 * 1024 * 1024;
/// XLSX: the most that any part other than a worksheet may unpack to. The shared strings table is
/// such a part, and it is read whole into memory; worksheets are read a cell at a time.
pub const MAX_PART_BYTES: u64 = 16 * 1024 * 1024;
/// XLSX: the most parts (files in the zip) a workbook may have.
pub const MAX_PARTS: usize = 1_000;
/// The most problems listed for one file; the rest are counted.
pub const MAX_PROBLEMS: usize = 100;
pub use accord_domain::text::MAX_QUOTED_CHARS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// The format a file's name says, by its extension (case-insensitive).
    pub fn from_file_name(name: &str) -> Option<Format> {
        let (_, extension) = name.rsplit_once('.')?;
        if extension.eq_ignore_ascii_case("csv") {
            Some(Format::Csv)
        } else if extension.eq_ignore_ascii_case("xlsx") {
            Some(Format::Xlsx)
        } else {
            None
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    /// The media type for a download.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// A problem in the file, by 1-based row (the header is row 1) and column name ("KPI", "period",
/// "value", "comment"), or column "file" for whole-file problems (row 0 when no row is to blame).
/// A column the header names but Accord does not know is named as the header writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

impl CellError {
    fn new(row: usize, column: impl Into<String>, message: impl Into<String>) -> CellError {
        CellError { row, column: column.into(), message: message.into() }
    }

    fn file(row: usize, message: impl Into<String>) -> CellError {
        CellError::new(row, "file", message)
    }
}

/// Why a file was refused: the first [`MAX_PROBLEMS`] problems in the order found, how many more
/// there were, and whether the file as a whole is too large (rather than wrong in its cells).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub listed: Vec<CellError>,
    pub more: usize,
    pub too_large: bool,
}

impl Problems {
    fn push(&mut self, error: CellError) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(error);
        } else {
            self.more += 1;
        }
    }

    /// A whole file refused for a limit on its size.
    fn too_large(message: String) -> Problems {
        Problems { listed: vec![CellError::file(0, message)], more: 0, too_large: true }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// What follows the listed problems when there were more: `and 5 more problems (the first
    /// 100 are listed)`.
    pub fn unlisted(&self) -> Option<String> {
        (self.more > 0).then(|| format!("and {} more problems (the first {} are listed)", read::thousands(self.more), MAX_PROBLEMS))
    }

    /// How many problems were found, listed or not.
    pub fn count(&self) -> usize {
        self.listed.len() + self.more
    }
}

impl From<CellError> for Problems {
    fn from(error: CellError) -> Problems {
        Problems { listed: vec![error], more: 0, too_large: false }
    }
}

/// One data row as written in the file: its cells in one string, so that a row is one allocation
/// (a file of a million rows is held whole while it is checked).
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRow {
    pub row: usize,
    text: String,
    /// Where the period, the value and the comment start in `text` (a cell is at most
    /// [`MAX_CELL_CHARS`] characters).
    starts: [u32; 3],
}

impl SheetRow {
    pub fn new(row: usize, kpi: &str, period: &str, value: &str, comment: &str) -> SheetRow {
        let mut text = String::with_capacity(kpi.len() + period.len() + value.len() + comment.len());
        let mut starts = [0; 3];
        for (start, cell) in starts.iter_mut().zip([kpi, period, value]) {
            text.push_str(cell);
            *start = text.len() as u32;
        }
        text.push_str(comment);
        SheetRow { row, text, starts }
    }

    pub fn kpi(&self) -> &str {
        &self.text[..self.starts[0] as usize]
    }

    pub fn period(&self) -> &str {
        &self.text[self.starts[0] as usize..self.starts[1] as usize]
    }

    pub fn value(&self) -> &str {
        &self.text[self.starts[1] as usize..self.starts[2] as usize]
    }

    pub fn comment(&self) -> &str {
        &self.text[self.starts[2] as usize..]
    }
}

/// SHA-256 of the file, lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(HEX[usize::from(b >> 4)] as char);
        hex.push(HEX[usize::from(b & 0xf)] as char);
    }
    hex
}

/// A table for export.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Date(jiff::civil::Date),
    Empty,
}

/// The columns of a measurements file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Kpi,
    Period,
    Value,
    Comment,
}

impl Column {
    const ALL: [Column; 4] = [Column::Kpi, Column::Period, Column::Value, Column::Comment];

    fn name(self) -> &'static str {
        match self {
            Column::Kpi => "KPI",
            Column::Period => "period",
            Column::Value => "value",
            Column::Comment => "comment",
        }
    }

    fn parse(header: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(header.trim()))
    }
}

#[cfg(test)]
mod tests;
