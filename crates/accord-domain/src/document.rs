//! A printable document: what a record's print page and its PDF both show, as plain data.
//!
//! A module builds one [`Document`] (a review's record, the scorecard, later the RMP and the
//! evidence pack); the web layer renders it as HTML and `accord-pdf` as PDF, so the two never
//! drift apart. Everything in it is text people may have typed: renderers treat it as data only.

use serde::{Deserialize, Serialize};

/// A titled document of sections, with a line repeated at the foot of every printed page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub title: String,
    pub subtitle: Option<String>,
    /// Lines under the title: the relationship, the date, who printed it.
    pub meta: Vec<Field>,
    pub sections: Vec<Section>,
    /// On every page, e.g. the audit chain's head `POSITION:HASH` a sealed record was checked against.
    pub footer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Paragraph {
        text: String,
    },
    /// Label–value pairs, one a line.
    Fields {
        fields: Vec<Field>,
    },
    Table(Table),
}

/// A table whose header row repeats on every page it spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<Column>,
    /// Each row has one cell per column (see [`Table::row`]).
    pub rows: Vec<Vec<String>>,
    /// Said instead of an empty table ("No KPIs defined yet.").
    pub empty: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub header: String,
    pub align: Align,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    Start,
    /// Figures, so their digits line up.
    End,
}

impl Align {
    pub fn as_str(self) -> &'static str {
        match self {
            Align::Start => "start",
            Align::End => "end",
        }
    }
}

impl Field {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Field {
        Field { label: label.into(), value: value.into() }
    }
}

impl Column {
    pub fn text(header: impl Into<String>) -> Column {
        Column { header: header.into(), align: Align::Start }
    }

    pub fn figure(header: impl Into<String>) -> Column {
        Column { header: header.into(), align: Align::End }
    }
}

impl Table {
    pub fn new(columns: Vec<Column>, empty: impl Into<String>) -> Table {
        Table { columns, rows: Vec::new(), empty: empty.into() }
    }

    /// Adds a row, padded or cut to the columns so every renderer sees a rectangle.
    pub fn row(&mut self, cells: impl IntoIterator<Item = String>) {
        let mut cells: Vec<String> = cells.into_iter().take(self.columns.len()).collect();
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }
}

/// How much a document holds, to bound the work of rendering it before it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    /// Bytes of text, every string counted.
    pub text_bytes: usize,
    /// Paragraphs, fields and table cells, each a box a renderer lays out.
    pub boxes: usize,
}

impl Document {
    pub fn new(title: impl Into<String>) -> Document {
        Document { title: title.into(), subtitle: None, meta: Vec::new(), sections: Vec::new(), footer: None }
    }

    pub fn section(&mut self, heading: impl Into<String>, blocks: Vec<Block>) {
        self.sections.push(Section { heading: heading.into(), blocks });
    }

    pub fn size(&self) -> Size {
        let mut size = Size::default();
        let strings = self.sections.iter().flat_map(|section| {
            std::iter::once(section.heading.as_str()).chain(section.blocks.iter().flat_map(|block| -> Box<dyn Iterator<Item = &str>> {
                match block {
                    Block::Paragraph { text } => Box::new(std::iter::once(text.as_str())),
                    Block::Fields { fields } => Box::new(fields.iter().flat_map(|f| [f.label.as_str(), f.value.as_str()])),
                    Block::Table(table) => Box::new(
                        std::iter::once(table.empty.as_str())
                            .chain(table.columns.iter().map(|c| c.header.as_str()))
                            .chain(table.rows.iter().flatten().map(String::as_str)),
                    ),
                }
            }))
        });
        let head = std::iter::once(self.title.as_str())
            .chain(self.subtitle.as_deref())
            .chain(self.footer.as_deref())
            .chain(self.meta.iter().flat_map(|f| [f.label.as_str(), f.value.as_str()]));
        for s in head.chain(strings) {
            size.text_bytes += s.len();
            size.boxes += 1;
        }
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_cut_or_padded_to_the_columns() {
        let mut table = Table::new(vec![Column::text("a"), Column::figure("b")], "none");
        table.row(["1".to_owned()]);
        table.row(["1", "2", "3"].map(String::from));
        assert_eq!(table.rows, vec![vec!["1".to_owned(), String::new()], vec!["1".to_owned(), "2".to_owned()]]);
    }

    #[test]
    fn size_counts_every_string() {
        let mut doc = Document::new("Title");
        doc.footer = Some("7:abc".into());
        doc.meta.push(Field::new("When", "today"));
        let mut table = Table::new(vec![Column::text("KPI")], "No KPIs.");
        table.row(["Uptime".to_owned()]);
        doc.section("Scorecard", vec![Block::Paragraph { text: "Hello".into() }, Block::Table(table)]);
        let size = doc.size();
        assert_eq!(size.text_bytes, "Title7:abcWhentodayScorecardHelloNo KPIs.KPIUptime".len());
        assert_eq!(size.boxes, 9);
    }

    #[test]
    fn serialises_blocks_by_kind() {
        let json = serde_json::to_value(Block::Paragraph { text: "x".into() }).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "paragraph", "text": "x"}));
        let json = serde_json::to_value(Block::Table(Table::new(vec![Column::figure("n")], ""))).unwrap();
        assert_eq!(json["kind"], "table");
        assert_eq!(json["columns"][0]["align"], "end");
    }
}
