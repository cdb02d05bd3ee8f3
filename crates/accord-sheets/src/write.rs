//! Tables to files.

use crate::{Cell, Table};
use accord_domain::measure::format_value;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// Excel's limits: rows and columns of a worksheet, characters in a cell and in a sheet name.
const XLSX_ROWS: usize = 1_048_576;
const XLSX_COLUMNS: usize = 16_384;
const XLSX_CELL_CHARS: usize = 32_767;
const SHEET_NAME_CHARS: usize = 31;

/// RFC 4180: the header first, then the rows; CRLF line ends; fields quoted when they hold a
/// comma, quote or line break. Numbers without float noise, dates as YYYY-MM-DD.
///
/// Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or
/// carriage return) is written with a leading `'`, so that opening an export never runs what a
/// person typed into a comment.
pub fn write_csv(table: &Table) -> String {
    let mut out = String::with_capacity(64 * (table.rows.len() + 1));
    let line = |out: &mut String, fields: &mut dyn Iterator<Item = String>| {
        for (i, field) in fields.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_field(out, &field);
        }
        out.push_str("\r\n");
    };
    line(&mut out, &mut table.header.iter().map(|h| guard(h).into_owned()));
    for row in &table.rows {
        line(
            &mut out,
            &mut row.iter().map(|cell| match cell {
                Cell::Text(t) => guard(t).into_owned(),
                Cell::Number(n) => format_value(*n),
                Cell::Date(d) => d.to_string(),
                Cell::Empty => String::new(),
            }),
        );
    }
    out
}

fn guard(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}").into() } else { text.into() }
}

fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// One worksheet per table, named after it: a bold header row that stays in view, dates as real
/// dates shown yyyy-mm-dd, columns as wide as their contents (within reason).
pub fn write_xlsx(tables: &[Table]) -> Result<Vec<u8>, String> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    // Excel reserves "History".
    let mut names = vec!["history".to_owned()];
    for table in tables {
        let error = |e: rust_xlsxwriter::XlsxError| format!("table {:?}: {e}", table.name);
        if table.rows.len() >= XLSX_ROWS {
            return Err(format!("table {:?} has {} rows; a worksheet holds at most {}", table.name, table.rows.len(), XLSX_ROWS - 1));
        }
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0).max(table.header.len());
        if columns > XLSX_COLUMNS {
            return Err(format!("table {:?} has {columns} columns; a worksheet holds at most {XLSX_COLUMNS}", table.name));
        }
        let name = sheet_name(&table.name, &names);
        names.push(name.to_lowercase());
        let sheet = book.add_worksheet();
        sheet.set_name(name).map_err(error)?;
        let mut widths = vec![0; columns];
        for (c, heading) in table.header.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, cell_text(heading), &bold).map_err(error)?;
            widths[c] = text_width(heading);
        }
        for (r, row) in table.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let width = match cell {
                    Cell::Text(t) => {
                        sheet.write_string(r, c as u16, cell_text(t)).map_err(error)?;
                        text_width(t)
                    }
                    Cell::Number(n) if n.is_finite() => {
                        sheet.write_number(r, c as u16, *n).map_err(error)?;
                        format_value(*n).len()
                    }
                    Cell::Number(n) => {
                        sheet.write_string(r, c as u16, n.to_string()).map_err(error)?;
                        3
                    }
                    Cell::Date(d) => {
                        match u16::try_from(d.year()).ok().and_then(|y| ExcelDateTime::from_ymd(y, d.month() as u8, d.day() as u8).ok()) {
                            Some(excel) => sheet.write_datetime_with_format(r, c as u16, excel, &date).map_err(error)?,
                            // Before 1900: Excel has no such dates.
                            None => sheet.write_string(r, c as u16, d.to_string()).map_err(error)?,
                        };
                        10
                    }
                    Cell::Empty => 0,
                };
                widths[c] = widths[c].max(width);
            }
        }
        for (c, width) in widths.into_iter().enumerate() {
            sheet.set_column_width(c as u16, (width + 2).clamp(8, 60) as f64).map_err(error)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(error)?;
    }
    book.save_to_buffer().map_err(|e| format!("cannot write the workbook: {e}"))
}

/// Text within Excel's limit for a cell.
fn cell_text(text: &str) -> &str {
    if text.len() <= XLSX_CELL_CHARS {
        return text;
    }
    match text.char_indices().nth(XLSX_CELL_CHARS) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Characters in the longest line, enough to size a column (capped: only the first 60 count).
fn text_width(text: &str) -> usize {
    text.lines().map(|l| l.chars().take(60).count()).max().unwrap_or(0)
}

/// A valid, unused worksheet name for a table: Excel refuses `[]:*?/\`, names over 31
/// characters, names starting or ending with `'`, and names used twice (ignoring case).
fn sheet_name(wanted: &str, taken: &[String]) -> String {
    let cleaned: String = wanted.chars().map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c }).collect();
    let cleaned = cleaned.trim().trim_matches('\'').trim();
    let base: String = if cleaned.is_empty() { "Sheet".to_owned() } else { cleaned.chars().take(SHEET_NAME_CHARS).collect() };
    let free = |name: &str| !taken.iter().any(|t| *t == name.to_lowercase());
    if free(&base) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!(" ({n})");
            let head: String = base.chars().take(SHEET_NAME_CHARS - suffix.chars().count()).collect();
            format!("{}{suffix}", head.trim_end())
        })
        .find(|name| free(name))
        .unwrap_or(base)
}
