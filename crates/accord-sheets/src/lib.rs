//! Spreadsheets in and out: measurements read from CSV and XLSX files, tables written to both.
//!
//! A crate of its own so that the spreadsheet libraries rebuild only when it changes. Reading is
//! in two steps: [`read_measurements`] turns a file into rows as written (and refuses a file it
//! cannot read as a table), [`resolve`] checks each row against a relationship's KPIs. Both list
//! every problem, by row and column, so a person can fix the file in one pass.

mod read;
mod resolve;
mod write;

pub use read::{read_measurements, read_measurements_with_progress};
pub use resolve::{resolve, resolve_with_progress};
pub use write::{write_csv, write_xlsx};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The largest file read: bigger ones are refused before parsing.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The most data rows read from one file.
pub const MAX_ROWS: usize = 2_000_000;

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

/// One data row as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRow {
    pub row: usize,
    pub kpi: String,
    pub period: String,
    pub value: String,
    pub comment: String,
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
