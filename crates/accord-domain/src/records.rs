//! Signed records: what every party's chair signs (a review's minutes; next an RMP approval, an
//! exit strategy's joint decision), and the one byte form a signature is given over.
//!
//! **The canonical form.** A record is signed as the document
//! `{"v":1,"relationship":…,"kind":…,"subject":…,"parent":…,"title":…,"content":…}` written as
//! the audit chain writes its events (RFC 8785, [`crate::audit::canonical_json`]): no white space,
//! object keys sorted by their UTF-16 code units (the same order as code points for every key
//! outside the astral planes), strings exactly as given (no Unicode normalisation: what was typed
//! is what was signed), minimal escapes. One rule is ours: a number must be an integer (within
//! i64/u64), so that no float's decimal form (is it `0.1` or `0.1000000000000000055…`?) can make
//! two honest writers disagree on the bytes; a figure with a fraction travels as a string, as
//! people read it (`"97.5%"`). The record's hash is the lowercase hex SHA-256 of those UTF-8 bytes;
//! anyone holding an export can recompute it from the signed event's summary and the content.

use crate::Invalid;
use crate::audit::{canonical_json, hex};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The version written in every signed document's `v`.
pub const DOCUMENT_VERSION: u32 = 1;

/// The largest canonical form a record may have: a year of minutes fits many times over.
pub const MAX_CANONICAL_BYTES: usize = 512 * 1024;

/// What a record is the record of. The string is hashed into signed documents: it never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A review meeting's minutes.
    Review,
    /// A dated correction of a sealed record (its parent).
    Addendum,
    /// The RMP's approval.
    RmpApproval,
    /// A joint decision of the exit strategy.
    ExitDecision,
    /// A joint statement, its own subject (a charter, a statement of intent).
    Statement,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 5] =
        [SubjectKind::Review, SubjectKind::Addendum, SubjectKind::RmpApproval, SubjectKind::ExitDecision, SubjectKind::Statement];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Review => "review",
            SubjectKind::Addendum => "addendum",
            SubjectKind::RmpApproval => "rmp_approval",
            SubjectKind::ExitDecision => "exit_decision",
            SubjectKind::Statement => "statement",
        }
    }

    pub fn parse(text: &str) -> Result<SubjectKind, String> {
        Self::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| format!("{text:?} is not a kind of record"))
    }

    /// How the kind is named to people.
    pub fn label(self) -> &'static str {
        match self {
            SubjectKind::Review => "Review record",
            SubjectKind::Addendum => "Addendum",
            SubjectKind::RmpApproval => "RMP approval",
            SubjectKind::ExitDecision => "Exit strategy decision",
            SubjectKind::Statement => "Joint statement",
        }
    }
}

/// What a signature is given over: everything that makes the record what it is (its link, a
/// page's address, is not: moving a page voids nothing).
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    pub relationship_id: Uuid,
    pub kind: SubjectKind,
    pub subject_id: Uuid,
    /// An addendum's record, and that record's hash when it was sealed.
    pub parent: Option<(Uuid, &'a str)>,
    pub title: &'a str,
    pub content: &'a Value,
}

impl Document<'_> {
    /// The canonical bytes (see the module's documentation), or why the content has none.
    pub fn canonical(&self) -> Result<String, Invalid> {
        integers_only(self.content, "content")?;
        let document = json!({
            "v": DOCUMENT_VERSION,
            "relationship": self.relationship_id,
            "kind": self.kind.as_str(),
            "subject": self.subject_id,
            "parent": self.parent.map(|(id, hash)| json!({"id": id, "hash": hash})),
            "title": self.title,
            "content": self.content,
        });
        let mut out = String::with_capacity(1024);
        canonical_json(&document, &mut out);
        if out.len() > MAX_CANONICAL_BYTES {
            return Err(Invalid::one("content", format!("is {} bytes written out, over the limit of {MAX_CANONICAL_BYTES}", out.len())));
        }
        Ok(out)
    }

    /// The lowercase hex SHA-256 of the canonical bytes.
    pub fn hash(&self) -> Result<String, Invalid> {
        Ok(sha256_hex(self.canonical()?.as_bytes()))
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Refuses a number with a fraction or an exponent anywhere in `value`, naming where (`content.items[2].share`).
fn integers_only(value: &Value, at: &str) -> Result<(), Invalid> {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => Err(Invalid::one(
            "content",
            format!("has the number {n} at {at}: a signed record holds whole numbers only; write a fraction as text"),
        )),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| integers_only(item, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| integers_only(item, &format!("{at}.{key}"))),
        _ => Ok(()),
    }
}

/// Whether `text` is a SHA-256 as a record's hash is written (64 lowercase hex digits).
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Map;

    fn doc(content: &Value) -> Document<'_> {
        Document {
            relationship_id: Uuid::from_u128(1),
            kind: SubjectKind::Review,
            subject_id: Uuid::from_u128(2),
            parent: None,
            title: "JMT March",
            content,
        }
    }

    #[test]
    fn the_canonical_form_is_exact_and_its_hash_is_sha256_of_it() {
        let content = json!({"b": [1, "two", null, true], "a": {"z": "x\ny", "é": -3}});
        let canonical = doc(&content).canonical().unwrap();
        assert_eq!(
            canonical,
            r#"{"content":{"a":{"z":"x\ny","é":-3},"b":[1,"two",null,true]},"kind":"review","parent":null,"relationship":"00000000-0000-0000-0000-000000000001","subject":"00000000-0000-0000-0000-000000000002","title":"JMT March","v":1}"#
        );
        // `printf %s '<canonical>' | sha256sum`, computed once outside this code.
        assert_eq!(doc(&content).hash().unwrap(), sha256_hex(canonical.as_bytes()));
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(is_hash(&doc(&content).hash().unwrap()));
        let parent = Document { parent: Some((Uuid::from_u128(3), "ab")), ..doc(&content) };
        assert!(parent.canonical().unwrap().contains(r#""parent":{"hash":"ab","id":"00000000-0000-0000-0000-000000000003"}"#));
    }

    #[test]
    fn a_fraction_is_refused_where_it_is() {
        let error = doc(&json!({"kpis": [{"value": 97.5}]})).hash().unwrap_err();
        assert_eq!(error.0[0].field, "content");
        assert!(error.0[0].message.contains("content.kpis[0].value"), "{}", error.0[0].message);
        assert!(doc(&json!({"value": "97.5", "n": u64::MAX, "m": i64::MIN})).hash().is_ok());
        let big = Value::String("x".repeat(MAX_CANONICAL_BYTES));
        assert_eq!(doc(&big).hash().unwrap_err().0[0].field, "content");
    }

    #[test]
    fn a_kind_reads_back_as_written() {
        for kind in SubjectKind::ALL {
            assert_eq!(SubjectKind::parse(kind.as_str()), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert!(SubjectKind::parse("minutes").is_err());
    }

    /// Any JSON a record may hold: integers, strings (any characters), booleans, null, nested.
    fn content() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((".{0,6}", inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// `value` with every object's keys inserted in reverse order.
    fn reordered(value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(reordered).collect()),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map.iter().rev() {
                    out.insert(k.clone(), reordered(v));
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    /// Every leaf of `value`, as a path of steps.
    fn leaves(value: &Value, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| leaves(v, [path.clone(), vec![i.to_string()]].concat(), out)),
            Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, [path.clone(), vec![k.clone()]].concat(), out)),
            _ => out.push(path),
        }
    }

    fn leaf_mut<'a>(value: &'a mut Value, path: &[String]) -> &'a mut Value {
        path.iter().fold(value, |v, step| match v {
            Value::Array(items) => &mut items[step.parse::<usize>().unwrap()],
            Value::Object(map) => map.get_mut(step).unwrap(),
            _ => unreachable!(),
        })
    }

    proptest! {
        /// Key order does not matter; the canonical form reads back as the same value.
        #[test]
        fn key_order_does_not_matter_and_the_form_round_trips(content in content()) {
            let hash = doc(&content).hash().unwrap();
            prop_assert_eq!(&doc(&reordered(&content)).hash().unwrap(), &hash);
            let canonical = doc(&content).canonical().unwrap();
            let back: Value = serde_json::from_str(&canonical).unwrap();
            prop_assert_eq!(&back["content"], &content);
            let mut again = String::new();
            canonical_json(&back, &mut again);
            prop_assert_eq!(again, canonical);
        }

        /// Changing any one value (or the title) changes the hash.
        #[test]
        fn any_change_of_a_value_changes_the_hash(content in content(), pick in any::<prop::sample::Index>(), title in ".{0,8}") {
            let hash = doc(&content).hash().unwrap();
            let mut paths = Vec::new();
            leaves(&content, Vec::new(), &mut paths);
            if !paths.is_empty() {
                let mut changed = content.clone();
                let path: &Vec<String> = pick.get(&paths);
                let leaf = leaf_mut(&mut changed, path);
                *leaf = match leaf {
                    Value::String(s) => Value::String(format!("{s}.")),
                    Value::Number(n) => Value::from(n.as_i64().map_or(0, |i| i.wrapping_add(1))),
                    Value::Bool(b) => Value::Bool(!*b),
                    _ => Value::from(0),
                };
                prop_assert_ne!(doc(&changed).hash().unwrap(), hash.clone());
            }
            if title != "JMT March" {
                prop_assert_ne!(Document { title: &title, ..doc(&content) }.hash().unwrap(), hash);
            }
        }
    }
}
