//! `accord import`: load measurements from a spreadsheet, all rows or none.

use accord_sheets::{Format, Problems};
use accord_store::{Store, StoreError};
use anyhow::{Context, anyhow};
use clap::Subcommand;
use jiff::Timestamp;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Load KPI values from a .csv or .xlsx file with the columns KPI, period, value and
    /// (optionally) comment. Every row is checked first: one bad row and nothing is written.
    Measurements {
        /// The relationship, by name or id.
        #[arg(long)]
        relationship: String,
        /// The file; its extension (.csv or .xlsx) says how to read it.
        file: PathBuf,
    },
}

pub async fn run(store: &dyn Store, command: ImportCommand, now: Timestamp) -> anyhow::Result<ExitCode> {
    match command {
        ImportCommand::Measurements { relationship, file } => measurements(store, &relationship, &file, now).await,
    }
}

async fn measurements(store: &dyn Store, relationship: &str, path: &Path, now: Timestamp) -> anyhow::Result<ExitCode> {
    let shown = path.display().to_string();
    let format = Format::from_file_name(&path.file_name().unwrap_or_default().to_string_lossy()).ok_or_else(|| match path.extension() {
        Some(extension) => anyhow!("{shown}: cannot import .{} files: use .csv or .xlsx", extension.to_string_lossy()),
        None => anyhow!("{shown}: the file name has no extension: use .csv or .xlsx"),
    })?;
    let r = store.find_relationship(relationship).await.map_err(|e| match e {
        StoreError::NotFound(what) => anyhow!("--relationship: no {what} has the name or id {relationship:?}"),
        e => e.into(),
    })?;
    let kpis = store.kpis(r.id).await?;
    let recordable = r.recordable(now);
    // Refused before reading a file far too big to import.
    let size = std::fs::metadata(path).with_context(|| format!("cannot read {shown}"))?.len();
    if size > accord_sheets::MAX_BYTES as u64 {
        print_problems(&shown, &accord_sheets::too_big(size));
        return Ok(ExitCode::FAILURE);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {shown}"))?;

    let checked = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let mut bar = ProgressBar::new(std::io::stderr().is_terminal());
        let rows = accord_sheets::read_measurements_with_progress(format, &bytes, &mut |done, total| bar.show(done, total, "read"));
        let inputs = rows.and_then(|rows| {
            accord_sheets::resolve_with_progress(&rows, &kpis, recordable, &mut |done, total| bar.show(done, total, "checked"))
        });
        bar.finish(inputs.as_ref().ok().map(Vec::len), started.elapsed());
        inputs.map(|inputs| (inputs, accord_sheets::sha256(&bytes)))
    })
    .await?;
    let (inputs, sha256) = match checked {
        Ok(checked) => checked,
        Err(problems) => {
            print_problems(&shown, &problems);
            return Ok(ExitCode::FAILURE);
        }
    };
    let rows = inputs.len();
    // One call: the store writes every row or none, under one audit event.
    let summary = store.import_measurements(r.id, inputs, &sha256, None, now).await.map_err(|e| match e {
        StoreError::Invalid(invalid) => anyhow!("{shown}: {invalid}"),
        e => e.into(),
    })?;
    println!(
        "imported {shown}: {rows} rows ({} added, {} corrected, {} unchanged) into {}; sha256 {sha256}",
        summary.added, summary.corrected, summary.unchanged, r.name
    );
    Ok(ExitCode::SUCCESS)
}

/// `FILE:ROW: COLUMN: MESSAGE`, one a line (whole-file problems without the column), the count of
/// those not listed, and that nothing was imported.
fn print_problems(file: &str, problems: &Problems) {
    let mut err = std::io::stderr().lock();
    for e in &problems.listed {
        let _ = match (e.row, e.column.as_str()) {
            (0, "file") => writeln!(err, "{file}: {}", e.message),
            (row, "file") => writeln!(err, "{file}:{row}: {}", e.message),
            (row, column) => writeln!(err, "{file}:{row}: {column}: {}", e.message),
        };
    }
    if let Some(unlisted) = problems.unlisted() {
        let _ = writeln!(err, "... {unlisted}");
    }
    let _ = writeln!(err, "nothing was imported: {} in {file}", plural(problems.count(), "problem"));
}

/// `[#####.....] 45% 22,500/50,000 rows read` on a terminal, redrawn at most ten times a second;
/// elsewhere, one line at the end.
struct ProgressBar {
    terminal: bool,
    drawn: Option<Instant>,
}

impl ProgressBar {
    const WIDTH: usize = 30;

    fn new(terminal: bool) -> ProgressBar {
        ProgressBar { terminal, drawn: None }
    }

    fn show(&mut self, done: usize, total: usize, what: &str) {
        if !self.terminal || self.drawn.is_some_and(|at| at.elapsed() < Duration::from_millis(100)) {
            return;
        }
        self.drawn = Some(Instant::now());
        let total = total.max(done).max(1);
        let filled = done * Self::WIDTH / total;
        eprint!(
            "\r[{}{}] {:>3}% {}/{} rows {what}   ",
            "#".repeat(filled),
            ".".repeat(Self::WIDTH - filled),
            done * 100 / total,
            thousands(done),
            thousands(total)
        );
    }

    /// Clears the bar; `rows` when the file was accepted.
    fn finish(&mut self, rows: Option<usize>, took: Duration) {
        if self.terminal && self.drawn.is_some() {
            eprint!("\r{}\r", " ".repeat(Self::WIDTH + 50));
        }
        if let Some(rows) = rows {
            eprintln!("read and checked {} in {:.1} s", plural(rows, "row"), took.as_secs_f64());
        }
    }
}

fn plural(n: usize, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// 22500 → "22,500".
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!([thousands(0), thousands(999), thousands(1000), thousands(2_000_000)], ["0", "999", "1,000", "2,000,000"]);
        assert_eq!([plural(1, "row"), plural(22_500, "row")], ["1 row", "22,500 rows"]);
    }
}
