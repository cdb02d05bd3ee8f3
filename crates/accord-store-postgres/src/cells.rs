//! How tokio-postgres's rows read as our column types, for the row readers each module writes
//! once in `accord-store`.

use super::{Fail, R, text_as};
use accord_store::Cells;
use jiff::Timestamp;
use jiff::civil::Date;
use tokio_postgres::Row;
use uuid::Uuid;

/// A row, to read through [`Cells`] (a trait of `accord-store` cannot be implemented on
/// tokio-postgres's own type here).
pub(crate) struct RowCells<'a>(pub &'a Row);

impl Cells for RowCells<'_> {
    type Error = Fail;

    fn uuid(&self, i: usize) -> R<Uuid> {
        Ok(self.0.try_get(i)?)
    }

    fn opt_uuid(&self, i: usize) -> R<Option<Uuid>> {
        Ok(self.0.try_get(i)?)
    }

    fn text(&self, i: usize) -> R<String> {
        Ok(self.0.try_get(i)?)
    }

    fn opt_text(&self, i: usize) -> R<Option<String>> {
        Ok(self.0.try_get(i)?)
    }

    fn parsed<T>(&self, i: usize, parse: fn(&str) -> Result<T, String>) -> R<T> {
        text_as(self.0, i, parse)
    }

    fn int(&self, i: usize) -> R<i64> {
        Ok(self.0.try_get(i)?)
    }

    fn flag(&self, i: usize) -> R<bool> {
        Ok(self.0.try_get(i)?)
    }

    fn int32(&self, i: usize) -> R<i32> {
        Ok(self.0.try_get(i)?)
    }

    fn float(&self, i: usize) -> R<f64> {
        Ok(self.0.try_get(i)?)
    }

    fn date(&self, i: usize) -> R<Date> {
        Ok(self.0.try_get(i)?)
    }

    fn opt_date(&self, i: usize) -> R<Option<Date>> {
        Ok(self.0.try_get(i)?)
    }

    fn time(&self, i: usize) -> R<Timestamp> {
        Ok(self.0.try_get(i)?)
    }

    fn opt_time(&self, i: usize) -> R<Option<Timestamp>> {
        Ok(self.0.try_get(i)?)
    }
}
