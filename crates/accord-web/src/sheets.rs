//! Checking a spreadsheet a module imports: read and resolved off the async workers, and a refused
//! file answered as the API answers it (each problem a field).

use crate::error::ApiError;
use accord_domain::measure::Recordable;
use accord_sheets::{CellError, Format, Problems};
use accord_store::{Kpi, MeasurementInput};

/// Reads and checks a file against the relationship's KPIs and the periods it may record, off the async workers; the file comes
/// back with the rows (an API body is passed as received, not copied).
pub async fn check_sheet<B: AsRef<[u8]> + Send + 'static>(
    kpis: Vec<Kpi>, recordable: Recordable, format: Format, bytes: B,
) -> Result<(Vec<MeasurementInput>, B), Problems> {
    tokio::task::spawn_blocking(move || {
        let rows = accord_sheets::read_measurements(format, bytes.as_ref())?;
        let inputs = accord_sheets::resolve(&rows, &kpis, recordable)?;
        Ok((inputs, bytes))
    })
    .await
    .unwrap_or_else(|e| Err(file_problem(format!("could not be read: {e}"))))
}

pub fn file_problem(message: String) -> Problems {
    CellError { row: 0, column: "file".into(), message }.into()
}

/// A refused file as the API answers it: each problem listed a field (`row N, COLUMN`, or `file`),
/// the count of the rest one more; 413 when the file is over a limit on its size, else 422.
pub fn refused(problems: Problems) -> ApiError {
    let unlisted = problems.unlisted();
    let mut fields: Vec<accord_domain::FieldError> = problems
        .listed
        .into_iter()
        .map(|e| accord_domain::FieldError {
            field: if e.row == 0 { "file".into() } else { format!("row {}, {}", e.row, e.column) },
            message: e.message,
        })
        .collect();
    if let Some(unlisted) = unlisted {
        fields.push(accord_domain::FieldError { field: "file".into(), message: unlisted });
    }
    let invalid = accord_domain::Invalid(fields);
    if problems.too_large { ApiError::TooLarge(invalid) } else { ApiError::Invalid(invalid) }
}
