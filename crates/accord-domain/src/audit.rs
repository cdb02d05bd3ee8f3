//! The audit trail: every change is an event in its relationship's hash chain.
//!
//! `hash` = lowercase hex SHA-256 of the bytes of `prev_hash` (64 hex digits; 64 zeros before the
//! first event) followed by the RFC 8785 canonical JSON of the event without its `hash` field.
//! Anyone holding an export can recompute the chain with this module or a verifier of their own.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use uuid::Uuid;

use crate::EventKind;

/// The format version written in every event's `v`.
pub const FORMAT_VERSION: u32 = 1;
/// The `prev_hash` of a chain's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A change about to be recorded: what the code that makes the change knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The user who made the change; `None` for the operator's CLI and the server's own work.
    pub actor: Option<Uuid>,
    /// The party on whose behalf it was made, when there is one.
    pub party: Option<Uuid>,
    /// What happened.
    pub kind: EventKind,
    /// What it happened to, as `type:id`.
    pub subject: String,
    /// A short before/after summary (no personal data beyond ids).
    pub summary: Value,
}

impl Draft {
    pub fn new(actor: Option<Uuid>, kind: EventKind, subject_type: &str, subject_id: Uuid, summary: Value) -> Draft {
        Draft { actor, party: None, kind, subject: format!("{subject_type}:{subject_id}"), summary }
    }

    pub fn party(mut self, party: Uuid) -> Draft {
        self.party = Some(party);
        self
    }
}

/// A recorded event, as stored and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub v: u32,
    pub position: i64,
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    pub actor: Option<Uuid>,
    pub party: Option<Uuid>,
    pub kind: String,
    pub subject: String,
    #[schema(value_type = Object)]
    pub summary: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The last event of a chain: what a party writes down to witness history later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainHead {
    pub position: i64,
    pub hash: String,
}

impl ChainHead {
    /// Parses `POS:HASH` as given on the command line.
    pub fn parse(text: &str) -> Result<ChainHead, String> {
        let (pos, hash) = text.split_once(':').ok_or("must be POSITION:HASH")?;
        let position = pos.trim().parse::<i64>().map_err(|_| format!("position {pos:?} is not a whole number"))?;
        let hash = hash.trim().to_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("hash must be 64 hexadecimal digits".into());
        }
        Ok(ChainHead { position, hash })
    }
}

impl std::fmt::Display for ChainHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.position, self.hash)
    }
}

/// Seals `draft` as the event after `prev` (the chain's head, `None` for the first event).
pub fn seal(draft: Draft, prev: Option<&ChainHead>, now: Timestamp) -> Event {
    let mut event = Event {
        v: FORMAT_VERSION,
        position: prev.map_or(1, |h| h.position + 1),
        // Stored with microsecond precision on both backends, so hash what will be read back.
        time: Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now),
        actor: draft.actor,
        party: draft.party,
        kind: draft.kind.as_str().to_owned(),
        subject: draft.subject,
        summary: draft.summary,
        prev_hash: prev.map_or(GENESIS_HASH.to_owned(), |h| h.hash.clone()),
        hash: String::new(),
    };
    event.hash = hash_of(&body_of(&event));
    event
}

impl Event {
    pub fn head(&self) -> ChainHead {
        ChainHead { position: self.position, hash: self.hash.clone() }
    }

    /// The event as a JSON object, as one line of an export.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn body_of(event: &Event) -> Value {
    let mut value = event.to_json();
    if let Value::Object(map) = &mut value {
        map.remove("hash");
    }
    value
}

/// SHA-256 over `prev_hash` and the canonical JSON of `body` (an event without its `hash`).
fn hash_of(body: &Value) -> String {
    let prev = body.get("prev_hash").and_then(Value::as_str).unwrap_or_default();
    let mut canonical = String::with_capacity(512);
    canonical_json(body, &mut canonical);
    hash_hex(prev, &canonical)
}

fn hash_hex(prev: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(canonical.as_bytes());
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Writes `value` as RFC 8785 (JCS) canonical JSON: no white space, object keys sorted by their
/// UTF-16 code units, strings escaped minimally, numbers in ECMAScript form.
pub fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => canonical_number(n, out),
        Value::String(s) => json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => canonical_object(map, out),
    }
}

fn canonical_object(map: &Map<String, Value>, out: &mut String) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push('{');
    for (i, (key, item)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(key, out);
        out.push(':');
        canonical_json(item, out);
    }
    out.push('}');
}

/// Whether no byte of `s` needs escaping (most strings: ids, hashes, kinds), checked a block at a
/// time without a branch per byte.
fn plain(s: &[u8]) -> bool {
    s.chunks(16).all(|block| !block.iter().fold(false, |hit, &b| hit | (b < 0x20) | (b == b'"') | (b == b'\\')))
}

/// A JSON string escaped as JCS asks: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as
/// `\u00xx`, everything else as it is.
fn json_string(s: &str, out: &mut String) {
    out.push('"');
    if plain(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

fn canonical_number(n: &serde_json::Number, out: &mut String) {
    use std::fmt::Write;
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        let abs = f.abs();
        if f == 0.0 {
            out.push('0');
        } else if (1e-6..1e21).contains(&abs) {
            let _ = write!(out, "{f}");
        } else {
            // ECMAScript writes the exponent with its sign: 1e+21, 1e-7.
            let s = format!("{f:e}");
            out.push_str(&s.replacen("e", if s.contains("e-") { "e" } else { "e+" }, 1));
        }
    }
}

/// What one event says of itself, checked without the rest of the chain, so that the lines of an
/// export can be checked on every core and then linked in order by `ChainVerifier::push_claim`.
#[derive(Debug, Clone)]
pub struct Claim {
    position: Option<i64>,
    prev_hash: Option<String>,
    hash: String,
    /// Whether `hash` is the hash of the event's content.
    content_matches: bool,
}

/// Why a line is not an event at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimError {
    NotJson(String),
    Malformed(String),
}

/// Checks one event, given as a JSON object, on its own.
pub fn claim_json(mut event: Value) -> Result<Claim, ClaimError> {
    let malformed = |reason: &str| ClaimError::Malformed(reason.to_owned());
    let Some(map) = event.as_object_mut() else {
        return Err(malformed("not a JSON object"));
    };
    let Some(Value::String(hash)) = map.remove("hash") else {
        return Err(malformed("has no hash"));
    };
    match map.get("v") {
        Some(v) if v.as_u64() == Some(FORMAT_VERSION as u64) => {}
        Some(other) => return Err(ClaimError::Malformed(format!("unknown format version {other}"))),
        None => return Err(malformed("has no format version (v)")),
    }
    let content_matches = hash_of(&event) == hash;
    Ok(Claim {
        position: event.get("position").and_then(Value::as_i64),
        prev_hash: event.get("prev_hash").and_then(Value::as_str).map(str::to_owned),
        hash,
        content_matches,
    })
}

/// An export line with exactly the documented fields: read without building a JSON tree.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    v: u32,
    position: i64,
    #[serde(borrow)]
    time: Cow<'a, str>,
    actor: Option<Cow<'a, str>>,
    party: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    subject: Cow<'a, str>,
    summary: Value,
    #[serde(borrow)]
    prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    hash: Cow<'a, str>,
}

/// Checks one line of an export on its own. A line in the documented shape is hashed straight from
/// its fields (the keys in JCS order); anything else goes the general way, which names what is wrong.
pub fn claim_line(line: &[u8]) -> Result<Claim, ClaimError> {
    let Ok(e) = serde_json::from_slice::<Line>(line) else {
        let value: Value =
            serde_json::from_slice(line).map_err(|e| ClaimError::NotJson(format!("not JSON ({e}, column {})", e.column())))?;
        return claim_json(value);
    };
    if e.v != FORMAT_VERSION {
        return Err(ClaimError::Malformed(format!("unknown format version {}", e.v)));
    }
    let optional = |value: &Option<Cow<str>>, out: &mut String| match value {
        Some(s) => json_string(s, out),
        None => out.push_str("null"),
    };
    let mut c = String::with_capacity(line.len());
    c.push_str("{\"actor\":");
    optional(&e.actor, &mut c);
    c.push_str(",\"kind\":");
    json_string(&e.kind, &mut c);
    c.push_str(",\"party\":");
    optional(&e.party, &mut c);
    c.push_str(",\"position\":");
    c.push_str(&e.position.to_string());
    c.push_str(",\"prev_hash\":");
    json_string(&e.prev_hash, &mut c);
    c.push_str(",\"subject\":");
    json_string(&e.subject, &mut c);
    c.push_str(",\"summary\":");
    canonical_json(&e.summary, &mut c);
    c.push_str(",\"time\":");
    json_string(&e.time, &mut c);
    c.push_str(",\"v\":");
    c.push_str(&e.v.to_string());
    c.push('}');
    let content_matches = hash_hex(&e.prev_hash, &c) == e.hash;
    Ok(Claim { position: Some(e.position), prev_hash: Some(e.prev_hash.into_owned()), hash: e.hash.into_owned(), content_matches })
}

/// Where and why a chain stopped being valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain broken at position {position}: {reason}")]
pub struct ChainBreak {
    /// The position of the first bad event (for a malformed line: the position expected there).
    pub position: i64,
    pub reason: String,
}

/// Checks a chain event by event, in order, keeping only the head in memory.
#[derive(Debug, Default)]
pub struct ChainVerifier {
    head: Option<ChainHead>,
    witnesses: Vec<(ChainHead, bool)>,
}

impl ChainVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Also check that the chain holds `witness` (an event a party saw earlier) unchanged.
    pub fn witness(&mut self, witness: ChainHead) {
        self.witnesses.push((witness, false));
    }

    fn expected_position(&self) -> i64 {
        self.head.as_ref().map_or(1, |h| h.position + 1)
    }

    /// The next event, as a JSON object (a line of an export, or a stored event).
    pub fn push_json(&mut self, event: Value) -> Result<(), ChainBreak> {
        self.push_claim(claim_json(event))
    }

    /// The next event, checked on its own by `claim_line` or `claim_json` (on any thread): here
    /// only its place in the chain is checked, in the same order as `push_json` checks it.
    pub fn push_claim(&mut self, claim: Result<Claim, ClaimError>) -> Result<(), ChainBreak> {
        let position = self.expected_position();
        let broken = |reason: String| ChainBreak { position, reason };
        let claim = match claim {
            Ok(claim) => claim,
            Err(ClaimError::NotJson(reason)) => return Err(ChainBreak { position: 0, reason }),
            Err(ClaimError::Malformed(reason)) => return Err(broken(reason)),
        };
        if claim.position != Some(position) {
            let found = claim.position.map_or("none".into(), |p| p.to_string());
            return Err(broken(format!("expected position {position}, found {found}")));
        }
        let expected_prev = self.head.as_ref().map_or(GENESIS_HASH, |h| h.hash.as_str());
        if claim.prev_hash.as_deref() != Some(expected_prev) {
            return Err(broken("prev_hash does not match the hash of the event before it".into()));
        }
        if !claim.content_matches {
            return Err(broken("hash does not match the event's content (the event was changed)".into()));
        }
        for (witness, seen) in &mut self.witnesses {
            if witness.position == position {
                if witness.hash != claim.hash {
                    return Err(broken(format!("differs from the witnessed event {witness}: history was rewritten")));
                }
                *seen = true;
            }
        }
        self.head = Some(ChainHead { position, hash: claim.hash });
        Ok(())
    }

    pub fn push(&mut self, event: &Event) -> Result<(), ChainBreak> {
        self.push_json(event.to_json())
    }

    /// The verified head, once every event is in; fails when a witnessed event never came.
    pub fn finish(self) -> Result<Option<ChainHead>, ChainBreak> {
        if let Some((witness, _)) = self.witnesses.iter().find(|(_, seen)| !seen) {
            return Err(ChainBreak {
                position: witness.position,
                reason: format!("the witnessed event {witness} is missing: the chain was cut short"),
            });
        }
        Ok(self.head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn chain(summaries: &[Value]) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        for (i, summary) in summaries.iter().enumerate() {
            let draft =
                Draft::new(Some(Uuid::from_u128(7)), EventKind::RelationshipUpdated, "thing", Uuid::from_u128(i as u128), summary.clone());
            let now = Timestamp::from_second(1_800_000_000 + i as i64).unwrap();
            let mut event = seal(draft, events.last().map(Event::head).as_ref(), now);
            // The pinned hash was taken over a kind that is none of ours; a verifier takes any.
            event.kind = "thing.changed".into();
            event.hash = hash_of(&body_of(&event));
            events.push(event);
        }
        events
    }

    /// Verifies both ways, from JSON trees and from export lines, and insists they agree.
    fn verify(events: &[Value]) -> Result<Option<ChainHead>, ChainBreak> {
        let by_tree = {
            let mut v = ChainVerifier::new();
            events.iter().try_for_each(|e| v.push_json(e.clone())).and_then(|_| v.finish())
        };
        let by_line = {
            let mut v = ChainVerifier::new();
            events.iter().try_for_each(|e| v.push_claim(claim_line(e.to_string().as_bytes()))).and_then(|_| v.finish())
        };
        assert_eq!(by_tree, by_line);
        by_tree
    }

    #[test]
    fn lines_outside_the_documented_shape_are_still_read() {
        let e = chain(&[json!({"note": "tab\there, quote \" and \u{1}"})])[0].to_json();
        assert!(verify(std::slice::from_ref(&e)).is_ok());
        // An extra field is part of what was hashed, so the event no longer matches.
        let mut extra = e.clone();
        extra["extra"] = json!(1);
        assert!(verify(&[extra]).unwrap_err().reason.contains("hash does not match"));
        assert_eq!(
            claim_line(b"{not json").unwrap_err(),
            ClaimError::NotJson("not JSON (key must be a string at line 1 column 2, column 2)".into())
        );
        let mut v = ChainVerifier::new();
        assert_eq!(v.push_claim(claim_line(b"[1]")).unwrap_err(), ChainBreak { position: 1, reason: "not a JSON object".into() });
    }

    #[test]
    fn an_unknown_format_version_is_named_as_written() {
        let e = chain(&[json!({})])[0].to_json();
        for (v, reason) in [
            (json!(2), "unknown format version 2"),
            (json!("1"), "unknown format version \"1\""),
            (json!(null), "unknown format version null"),
        ] {
            let mut line = e.clone();
            line["v"] = v;
            assert_eq!(verify(&[line]).unwrap_err().reason, reason);
        }
        let mut line = e.clone();
        line.as_object_mut().unwrap().remove("v");
        assert_eq!(verify(&[line]).unwrap_err().reason, "has no format version (v)");
    }

    #[test]
    fn canonical_json_follows_rfc_8785() {
        let mut out = String::new();
        canonical_json(
            &json!({"b": [1, "x\n\u{1f}é"], "a": null, "\u{fb01}": 1, "\u{10000}": 2, "c": true, "d": 1.5, "e": 1e21, "f": 1e-7}),
            &mut out,
        );
        // U+10000 (surrogates D800 DC00) sorts before U+FB01 in UTF-16 order, unlike UTF-8 order.
        assert_eq!(
            out,
            "{\"a\":null,\"b\":[1,\"x\\n\\u001fé\"],\"c\":true,\"d\":1.5,\"e\":1e+21,\"f\":1e-7,\"\u{10000}\":2,\"\u{fb01}\":1}"
        );
    }

    #[test]
    fn a_known_event_has_a_known_hash() {
        // Pinned so that a change to the format cannot go unnoticed by other verifiers.
        let e = &chain(&[json!({"after": {"name": "North Sea"}})])[0];
        assert_eq!(e.prev_hash, GENESIS_HASH);
        let mut canonical = String::new();
        let mut body = e.to_json();
        body.as_object_mut().unwrap().remove("hash");
        canonical_json(&body, &mut canonical);
        assert_eq!(
            canonical,
            "{\"actor\":\"00000000-0000-0000-0000-000000000007\",\"kind\":\"thing.changed\",\"party\":null,\"position\":1,\"prev_hash\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"subject\":\"thing:00000000-0000-0000-0000-000000000000\",\"summary\":{\"after\":{\"name\":\"North Sea\"}},\"time\":\"2027-01-15T08:00:00Z\",\"v\":1}"
        );
        let mut hasher = Sha256::new();
        hasher.update(GENESIS_HASH.as_bytes());
        hasher.update(canonical.as_bytes());
        assert_eq!(e.hash, hex(&hasher.finalize()));
    }

    fn summary() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(|n| json!({"n": n})),
            ".{0,20}".prop_map(|s| json!({"before": s.clone(), "after": {"s": s}})),
            Just(json!(null)),
        ]
    }

    proptest! {
        #[test]
        fn strings_are_written_plain_only_when_nothing_needs_escaping(s in "(\\PC|[\"\\\\\n\t\u{1}])*") {
            prop_assert_eq!(plain(s.as_bytes()), !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'));
            let mut out = String::new();
            json_string(&s, &mut out);
            prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }

    proptest! {
        #[test]
        fn an_untouched_chain_verifies_and_ends_at_its_head(summaries in prop::collection::vec(summary(), 1..30)) {
            let events = chain(&summaries);
            let json: Vec<Value> = events.iter().map(Event::to_json).collect();
            prop_assert_eq!(verify(&json).unwrap(), Some(events.last().unwrap().head()));
        }

        #[test]
        fn any_change_to_any_event_is_caught_at_that_event(
            summaries in prop::collection::vec(summary(), 2..30),
            at in any::<prop::sample::Index>(),
            field in prop::sample::select(vec!["kind", "subject", "time", "actor", "summary", "position", "prev_hash", "hash"]),
        ) {
            let events = chain(&summaries);
            let at = at.index(events.len());
            let mut json: Vec<Value> = events.iter().map(Event::to_json).collect();
            json[at][field] = json!("tampered");
            let err = verify(&json).unwrap_err();
            prop_assert_eq!(err.position, events[at].position);
        }

        #[test]
        fn dropping_an_event_is_caught(summaries in prop::collection::vec(summary(), 2..30), at in any::<prop::sample::Index>()) {
            let events = chain(&summaries);
            let at = at.index(events.len() - 1);
            let mut json: Vec<Value> = events.iter().map(Event::to_json).collect();
            json.remove(at);
            prop_assert_eq!(verify(&json).unwrap_err().position, events[at].position);
        }

        #[test]
        fn a_rebuilt_chain_fails_its_witness(summaries in prop::collection::vec(summary(), 2..20), at in any::<prop::sample::Index>()) {
            // Whoever can write the database can rebuild a whole consistent chain; a witness catches it.
            let events = chain(&summaries);
            let at = at.index(events.len());
            let witness = events[at].head();
            let mut changed = summaries.clone();
            changed[at] = json!({"rewritten": true});
            let rebuilt: Vec<Value> = chain(&changed).iter().map(Event::to_json).collect();
            prop_assert!(verify(&rebuilt).is_ok());
            let mut v = ChainVerifier::new();
            v.witness(witness);
            let result = rebuilt.into_iter().try_for_each(|e| v.push_json(e)).and_then(|_| v.finish().map(|_| ()));
            prop_assert_eq!(result.unwrap_err().position, events[at].position);
        }
    }

    #[test]
    fn a_witness_beyond_the_end_is_reported() {
        let events = chain(&[json!(1), json!(2)]);
        let mut v = ChainVerifier::new();
        v.witness(ChainHead { position: 5, hash: "a".repeat(64) });
        for e in &events {
            v.push(e).unwrap();
        }
        assert_eq!(v.finish().unwrap_err().position, 5);
    }

    #[test]
    fn witness_syntax() {
        assert!(ChainHead::parse(&format!("12:{}", "AB".repeat(32))).is_ok());
        assert!(ChainHead::parse("12").is_err());
        assert!(ChainHead::parse("x:ab").is_err());
    }
}
