//! How request fields are read. The API reads JSON strictly, as its document says: a title is a
//! JSON string, a version a whole number, a list an array (so `false`, `5` or `{}` is refused,
//! naming the field). Forms post only text, so they are read through [`FormValue`], which offers
//! its text to whatever the field asks for and splits lists at commas; the inputs keep numbers
//! as text until they are parsed, so a person's typo comes back as a field error on the page.

use serde::de::value::{Error, SeqDeserializer, StringDeserializer};
use serde::de::{Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use std::fmt;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// One posted form field's text.
pub struct FormValue(pub String);

impl<'de> IntoDeserializer<'de, Error> for FormValue {
    type Deserializer = FormValue;

    fn into_deserializer(self) -> FormValue {
        self
    }
}

impl<'de> Deserializer<'de> for FormValue {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    /// Check boxes named more than once arrive joined by commas.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let items: Vec<FormValue> = self.0.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| FormValue(s.to_owned())).collect();
        visitor.visit_seq(SeqDeserializer::new(items.into_iter()))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self, name: &'static str, variants: &'static [&'static str], visitor: V,
    ) -> Result<V::Value, Error> {
        StringDeserializer::<Error>::new(self.0).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        tuple tuple_struct map struct identifier ignored_any
    }
}

/// Keeps what was sent as text: JSON gives the kinds `expecting` names, a form its text.
struct Text(&'static str);

impl Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    /// JSON calls `3.0` a whole number too.
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
        match whole_float(v) {
            _ if self.0 == NUMBER => Ok(v.to_string()),
            Some(n) if self.0 == WHOLE => Ok(n.to_string()),
            _ => Err(E::invalid_type(serde::de::Unexpected::Float(v), &self)),
        }
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
        if self.0 == FLAG { Ok(v.to_string()) } else { Err(E::invalid_type(serde::de::Unexpected::Bool(v), &self)) }
    }
}

const WHOLE: &str = "a whole number";
const FLAG: &str = "true or false";
const NUMBER: &str = "a number, or a number as a string";

/// A whole number (a version, a count of months); JSON strings are refused (JSON's reader never
/// offers a string to an integer).
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_i64(Text(WHOLE))
}

fn whole_float(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() < 9.0e15).then_some(v as i64)
}

/// A version sent as a JSON whole number (`3` or `3.0`), for inputs only programs send.
pub fn version<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    whole(d)?.parse().map_err(|_| serde::de::Error::custom("expected a whole number"))
}

/// `true` or `false`; a form's check box sends `on`.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_bool(Text(FLAG))
}

/// A measured value or threshold: a JSON number, or a string such as `"99.5"` (exact decimals;
/// its parse names the field if it is not a number).
pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(Text(NUMBER))
}

/// No control characters, and something besides white space.
const NAME_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

/// A name or title as [`accord_domain::text::Name`] takes it.
pub fn name() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).max_length(Some(200)).pattern(Some(NAME_PATTERN))
}

/// A name that may also be left empty (a new wording that only a revision reads).
pub fn optional_name() -> impl Into<RefOr<Schema>> {
    let empty = ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^\s*$"));
    OneOfBuilder::new().item(name()).item(empty)
}

/// An id, or empty for none.
pub fn optional_id() -> impl Into<RefOr<Schema>> {
    let id = ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
    let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
    OneOfBuilder::new().item(id).item(empty)
}

/// A date, or empty for the default.
pub fn optional_date() -> impl Into<RefOr<Schema>> {
    let date = ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)));
    let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
    OneOfBuilder::new().item(date).item(empty)
}

/// A value or threshold, see [`number`].
pub fn decimal() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new().item(ObjectBuilder::new().schema_type(Type::Number)).item(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A number as text, with a point: `99.5` (a comma is refused); a KPI in `%` takes 0 to 100.")),
    )
}

/// Fields given a schema of their own lose their doc comment in the document (utoipa drops it
/// beside `schema_with`), so those whose comment says more than their type carry it here.
macro_rules! described {
    ($($name:ident: $schema:ident, $text:literal;)*) => {$(
        pub fn $name() -> RefOr<Schema> {
            with_description($schema(), $text)
        }
    )*};
}

described! {
    first_review: optional_date, "YYYY-MM-DD; default: today plus the review interval.";
    new_title: optional_name, "The new wording, for `revised`.";
    next_review: optional_date, "YYYY-MM-DD; default: today plus the objective's review interval.";
    kpi_party: optional_id, "The responsible party's id; empty for a joint KPI.";
    reporter: optional_id, "The id of the member who reports it; may be empty.";
    new_due_date: optional_date, "YYYY-MM-DD; unchanged when empty.";
    owner: optional_id, "The owner's user id; may be empty.";
    action_party: optional_id, "The owning party's id; default: the caller's party.";
    text_body: long_text, "The comment, proposal, or reason.";
    holiday_lines: long_text, "One per line: `YYYY-MM-DD name`.";
}

/// Text of at most `max` characters without NUL (which PostgreSQL cannot store).
fn text(max: usize) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).max_length(Some(max)).pattern(Some(r"^[^\u0000]*$"))
}

/// A description, a comment, a reason or evidence.
pub fn long_text() -> impl Into<RefOr<Schema>> {
    text(8000)
}

/// A comment on a measured value.
pub fn comment() -> impl Into<RefOr<Schema>> {
    text(2000)
}

/// A relationship's purpose.
pub fn purpose() -> impl Into<RefOr<Schema>> {
    text(4000)
}

/// A relationship's purpose, or null to leave it.
pub fn purpose_or_null() -> impl Into<RefOr<Schema>> {
    text(4000).schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
}

/// A new name, or null to leave it.
pub fn optional_name_or_null() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new().item(name()).item(ObjectBuilder::new().schema_type(Type::Null))
}

/// A KPI's unit, e.g. `%`.
pub fn unit() -> impl Into<RefOr<Schema>> {
    text(20)
}

fn one_of(values: &[&str]) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied()))
}

pub fn verdict() -> impl Into<RefOr<Schema>> {
    one_of(&["relevant", "revised", "retired"])
}

pub fn direction() -> impl Into<RefOr<Schema>> {
    one_of(&["higher", "lower"])
}

pub fn cadence() -> impl Into<RefOr<Schema>> {
    one_of(&["daily", "weekly", "monthly", "quarterly"])
}

// Query parameters given a schema of their own lose their doc comment (utoipa), so these carry it.

/// Which actions a list shows.
pub fn action_filter() -> impl Into<RefOr<Schema>> {
    one_of(&["open", "closed", "all"]).description(Some("`open` (default), `closed` or `all`."))
}

/// Which issues a list shows (`open` is `live`).
pub fn issue_filter() -> impl Into<RefOr<Schema>> {
    one_of(&["live", "open", "closed", "all"]).description(Some("`live` (default: open and resolution proposed), `closed` or `all`."))
}

/// The raising party of the issues a list shows.
pub fn party_filter() -> impl Into<RefOr<Schema>> {
    with_description(optional_id(), "The raising party's id.")
}

/// A page cursor that is an id.
pub fn id_cursor() -> impl Into<RefOr<Schema>> {
    with_description(optional_id(), "The `next_cursor` of the previous page.")
}

/// A page cursor that is a date.
pub fn date_cursor() -> impl Into<RefOr<Schema>> {
    with_description(optional_date(), "The `next_cursor` of the previous page (a period's first day).")
}

fn with_description(schema: impl Into<RefOr<Schema>>, text: &str) -> RefOr<Schema> {
    let mut schema = schema.into();
    match &mut schema {
        RefOr::T(Schema::OneOf(one_of)) => one_of.description = Some(text.to_owned()),
        RefOr::T(Schema::Object(object)) => object.description = Some(text.to_owned()),
        _ => {}
    }
    schema
}

/// Empty means `once`.
pub fn recurrence() -> impl Into<RefOr<Schema>> {
    one_of(&["", "once", "weekly", "monthly", "quarterly", "yearly"]).description(Some("How often it falls due; empty is `once`."))
}

pub fn obligation_status() -> impl Into<RefOr<Schema>> {
    one_of(&["not_started", "on_track", "at_risk", "delivered", "missed"])
}

pub fn action_status() -> impl Into<RefOr<Schema>> {
    one_of(&["open", "in_progress", "done", "cancelled"])
}

/// Empty means the action was raised on its own.
pub fn source_kind() -> impl Into<RefOr<Schema>> {
    one_of(&["", "kpi_period", "obligation"])
        .description(Some("What raised it: `kpi_period` or `obligation` (with `source_id`; `source_period` for a KPI)."))
}

/// Empty means `other`.
pub fn category() -> impl Into<RefOr<Schema>> {
    one_of(&["", "commercial", "delivery", "quality", "safety", "relationship", "other"]).description(Some("Empty is `other`."))
}

/// Empty means `medium`.
pub fn severity() -> impl Into<RefOr<Schema>> {
    one_of(&["", "low", "medium", "high", "critical"]).description(Some("Empty is `medium`."))
}

/// Empty except in a response to a proposal.
pub fn answer() -> impl Into<RefOr<Schema>> {
    one_of(&["", "accept", "reject"]).description(Some("For a response to a proposal: `accept` or `reject`."))
}

/// Roles, e.g. of the handlers of a level.
pub fn roles() -> impl Into<RefOr<Schema>> {
    utoipa::openapi::schema::ArrayBuilder::new().items(one_of(&["ser", "jmt", "contributor", "observer"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct Input {
        title: String,
        #[serde(deserialize_with = "whole")]
        version: String,
        #[serde(deserialize_with = "flag")]
        private: String,
        #[serde(deserialize_with = "number")]
        value: String,
        parties: Vec<String>,
    }

    #[test]
    fn json_is_read_strictly() {
        let ok: Input =
            serde_json::from_str(r#"{"title": "T", "version": 3, "private": true, "value": "99.5", "parties": ["a", "b"]}"#).unwrap();
        assert_eq!((ok.version.as_str(), ok.private.as_str(), ok.value.as_str(), ok.parties.len()), ("3", "true", "99.5", 2));
        let whole: Input = serde_json::from_str(r#"{"version": 3.0}"#).unwrap();
        assert_eq!(whole.version, "3", "JSON calls 3.0 a whole number");
        let numbers: Input = serde_json::from_str(r#"{"value": 92.5}"#).unwrap();
        assert_eq!(numbers.value, "92.5", "a value may be any JSON number");
        for bad in [
            r#"{"title": false}"#,
            r#"{"title": 5}"#,
            r#"{"title": {}}"#,
            r#"{"title": null}"#,
            r#"{"version": "3"}"#,
            r#"{"version": 1.5}"#,
            r#"{"version": 1e300}"#,
            r#"{"private": "yes"}"#,
            r#"{"value": true}"#,
            r#"{"value": true}"#,
            r#"{"parties": "a,b"}"#,
        ] {
            assert!(serde_json::from_str::<Input>(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn forms_are_read_as_text() {
        let fields = [("title", "T"), ("version", "x3"), ("private", "on"), ("value", "1,000"), ("parties", "a, b,")];
        let map = serde::de::value::MapDeserializer::<_, Error>::new(fields.into_iter().map(|(k, v)| (k, FormValue(v.to_owned()))));
        let input = Input::deserialize(map).unwrap();
        assert_eq!((input.version.as_str(), input.private.as_str(), input.value.as_str()), ("x3", "on", "1,000"));
        assert_eq!(input.parties, ["a", "b"]);
    }
}
