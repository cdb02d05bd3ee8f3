//! How rusqlite's rows read as our column types (dates as `YYYY-MM-DD` text, times as
//! microseconds since the epoch), for the row readers each module writes once in `accord-store`.

use super::{conversion, ts};
use accord_store::Cells;
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

/// A row, to read through [`Cells`] (a trait of `accord-store` cannot be implemented on
/// rusqlite's own type here).
pub(crate) struct RowCells<'a, 'b>(pub &'a Row<'b>);

impl Cells for RowCells<'_, '_> {
    type Error = rusqlite::Error;

    fn uuid(&self, i: usize) -> rusqlite::Result<Uuid> {
        self.0.get(i)
    }

    fn opt_uuid(&self, i: usize) -> rusqlite::Result<Option<Uuid>> {
        self.0.get(i)
    }

    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.0.get(i)
    }

    fn opt_text(&self, i: usize) -> rusqlite::Result<Option<String>> {
        self.0.get(i)
    }

    fn parsed<T>(&self, i: usize, parse: fn(&str) -> Result<T, String>) -> rusqlite::Result<T> {
        let text = self.0.get_ref(i)?.as_str().map_err(|e| conversion(i, e))?;
        parse(text).map_err(|e| conversion(i, std::io::Error::other(e)))
    }

    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.0.get(i)
    }

    fn flag(&self, i: usize) -> rusqlite::Result<bool> {
        self.0.get(i)
    }

    fn int32(&self, i: usize) -> rusqlite::Result<i32> {
        self.0.get(i)
    }

    fn float(&self, i: usize) -> rusqlite::Result<f64> {
        self.0.get(i)
    }

    fn date(&self, i: usize) -> rusqlite::Result<Date> {
        super::date(self.0, i)
    }

    fn opt_date(&self, i: usize) -> rusqlite::Result<Option<Date>> {
        if self.0.get_ref(i)?.data_type() == Type::Null { Ok(None) } else { super::date(self.0, i).map(Some) }
    }

    fn time(&self, i: usize) -> rusqlite::Result<Timestamp> {
        Ok(ts(self.0.get(i)?))
    }

    fn opt_time(&self, i: usize) -> rusqlite::Result<Option<Timestamp>> {
        Ok(self.0.get::<_, Option<i64>>(i)?.map(ts))
    }
}
