//! Rows to measurements: each row's KPI, period and value checked against the relationship.

use crate::{CellError, Column, Problems, SheetRow};
use accord_domain::measure::{Period, Recordable, parse_measured};
use accord_domain::text::quoted;
use accord_store::{Kpi, MeasurementInput};
use jiff::civil::Date;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

const PROGRESS_EVERY: usize = 8192;

/// A KPI name as written in the file, looked up once per spelling.
#[derive(Clone, Copy)]
enum Named {
    One(usize),
    /// Two KPIs whose names differ only in case.
    Two(usize, usize),
    None,
}

/// Resolves rows against a relationship's KPIs (by name, case-insensitive, trimmed): the period
/// parsed for the KPI's cadence with [`Period::parse`] and admitted by `recordable`, the value with
/// [`parse_measured`] for the KPI's unit. Every
/// error of every row is listed (row and column), not only the first. A KPI+period given twice
/// in the file is an error on the second row.
pub fn resolve(rows: &[SheetRow], kpis: &[Kpi], recordable: Recordable) -> Result<Vec<MeasurementInput>, Problems> {
    resolve_with_progress(rows, kpis, recordable, &mut |_, _| {})
}

/// [`resolve`], calling `progress(rows done, rows)` now and then.
pub fn resolve_with_progress(
    rows: &[SheetRow], kpis: &[Kpi], recordable: Recordable, progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<MeasurementInput>, Problems> {
    let mut by_name: HashMap<String, Named> = HashMap::with_capacity(kpis.len());
    for (i, kpi) in kpis.iter().enumerate() {
        by_name
            .entry(kpi.name.trim().to_lowercase())
            .and_modify(|n| {
                if let Named::One(first) = *n {
                    *n = Named::Two(first, i);
                }
            })
            .or_insert(Named::One(i));
    }
    // Files repeat a handful of spellings; each is lower-cased and looked up once.
    let mut spellings: HashMap<&str, Named> = HashMap::with_capacity(kpis.len() * 2);
    // A million rows of small keys: SipHash was a tenth of an import's time.
    let mut seen: FxHashMap<(usize, Date), usize> = FxHashMap::with_capacity_and_hasher(rows.len(), Default::default());
    let mut inputs = Vec::with_capacity(rows.len());
    let mut errors = Problems::default();
    for (n, r) in rows.iter().enumerate() {
        if n > 0 && n.is_multiple_of(PROGRESS_EVERY) {
            progress(n, rows.len());
        }
        let mut error = |column: Column, message: String| errors.push(CellError::new(r.row, column.name(), message));
        let name = r.kpi().trim();
        let named = match spellings.get(name) {
            Some(named) => *named,
            None => {
                let named = by_name.get(&name.to_lowercase()).copied().unwrap_or(Named::None);
                spellings.insert(name, named);
                named
            }
        };
        let kpi = match named {
            Named::One(i) => Some(i),
            Named::None if name.is_empty() => {
                error(Column::Kpi, "is empty: name one of the relationship's KPIs".into());
                None
            }
            Named::None => {
                error(Column::Kpi, format!("{} is not a KPI of this relationship", quoted(name)));
                None
            }
            Named::Two(a, b) => {
                let (a, b) = (quoted(&kpis[a].name), quoted(&kpis[b].name));
                error(Column::Kpi, format!("{} could be {a} or {b}: their names differ only in case", quoted(name)));
                None
            }
        };
        let period = kpi.and_then(|i| {
            if r.period().trim().is_empty() {
                error(Column::Period, "is empty".into());
                return None;
            }
            Period::parse(kpis[i].cadence, r.period()).and_then(|p| recordable.check(p)).map_err(|m| error(Column::Period, m)).ok()
        });
        let value = if r.value().trim().is_empty() {
            error(Column::Value, "is empty".into());
            None
        } else {
            // A value whose KPI is unknown is still read: a comma in it is worth saying.
            parse_measured(kpi.map_or("", |i| &kpis[i].unit), r.value()).map_err(|m| error(Column::Value, m)).ok()
        };
        let (Some(kpi), Some(period)) = (kpi, period) else { continue };
        match seen.entry((kpi, period.start)) {
            Entry::Occupied(first) => {
                error(Column::Period, format!("{} for {} is already given on row {}", period.label(), kpis[kpi].name, first.get()))
            }
            Entry::Vacant(slot) => {
                slot.insert(r.row);
            }
        }
        if let (Some(value), true) = (value, errors.is_empty()) {
            inputs.push(MeasurementInput {
                kpi_id: kpis[kpi].id,
                period_start: period.start,
                value,
                comment: r.comment().trim().to_owned(),
            });
        }
    }
    progress(rows.len(), rows.len());
    if errors.is_empty() { Ok(inputs) } else { Err(errors) }
}
