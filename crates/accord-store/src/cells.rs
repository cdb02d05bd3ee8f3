//! A row as a database driver hands it over, read cell by cell as the column types both backends
//! store: a module's row readers (`Kpi`, `Action`, …) are written once against [`Cells`], and
//! each backend says once how its driver reads each type (SQLite keeps dates as text and times as
//! microseconds, PostgreSQL has types of its own).

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

pub trait Cells {
    type Error;

    fn uuid(&self, i: usize) -> Result<Uuid, Self::Error>;
    fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>, Self::Error>;
    fn text(&self, i: usize) -> Result<String, Self::Error>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, Self::Error>;
    /// A text cell read as `parse` reads it, without a copy of the text.
    fn parsed<T>(&self, i: usize, parse: fn(&str) -> Result<T, String>) -> Result<T, Self::Error>;
    fn int(&self, i: usize) -> Result<i64, Self::Error>;
    fn flag(&self, i: usize) -> Result<bool, Self::Error>;
    fn int32(&self, i: usize) -> Result<i32, Self::Error>;
    fn float(&self, i: usize) -> Result<f64, Self::Error>;
    fn date(&self, i: usize) -> Result<Date, Self::Error>;
    fn opt_date(&self, i: usize) -> Result<Option<Date>, Self::Error>;
    fn time(&self, i: usize) -> Result<Timestamp, Self::Error>;
    fn opt_time(&self, i: usize) -> Result<Option<Timestamp>, Self::Error>;
}
