//! A signed record as pages show it, shared by every module whose page carries one (the record's
//! own page; a review meeting's, later the RMP's): the signatures panel (`records/panel.html`,
//! included with a `panel` in scope) and the record's content written out readably.

use accord_domain::membership::Role;
use accord_store::{Member, Party, Record};
use askama::filters::Escaper;
use serde_json::Value;
use uuid::Uuid;

/// The signatures panel: per party, who may sign, who signed and when, or that it waits; the
/// seal; the addenda.
pub struct SignaturesPanel {
    pub relationship_id: Uuid,
    pub record_id: Uuid,
    /// The hash the page shows, posted back by the Sign button: a stale one is refused.
    pub hash: String,
    pub parties: Vec<PartySignature>,
    /// Signatures a change voided, kept in the record's history.
    pub voided: Vec<SignatureLine>,
    /// `POSITION:HASH` of the `record.sealed` event, and when.
    pub seal: Option<(String, String)>,
    /// (title, path, sealed) of each addendum.
    pub addenda: Vec<(String, String, bool)>,
    /// Why the viewer's signature was just refused.
    pub error: Option<String>,
}

pub struct PartySignature {
    pub party_name: String,
    /// Who may sign for the party: its SER, and those the record names.
    pub signers: Vec<String>,
    pub signed: Option<SignatureLine>,
    /// The viewer may sign for this party now.
    pub can_sign: bool,
}

pub struct SignatureLine {
    pub name: String,
    pub party_name: String,
    pub when: String,
    /// The first 12 digits of the hash signed.
    pub short_hash: String,
}

impl SignaturesPanel {
    /// The panel of `record` among `parties` and their current `members`, for `viewer` (their
    /// membership, if any), with times in `zone`.
    pub fn new(
        record: &Record, parties: &[Party], members: &[Member], viewer: Option<&Member>, zone: &jiff::tz::TimeZone,
    ) -> SignaturesPanel {
        let party_name =
            |id: Uuid| parties.iter().find(|p| p.id == id).map_or_else(|| "A former party".to_owned(), |p| p.organisation_name.clone());
        let line = |s: &accord_store::Signature| SignatureLine {
            name: s.name.clone(),
            party_name: party_name(s.party_id),
            when: crate::dates::when(zone, &s.signed_at),
            short_hash: s.sha256.get(..12).unwrap_or(&s.sha256).to_owned(),
        };
        let sealed = record.seal.is_some();
        SignaturesPanel {
            relationship_id: record.relationship_id,
            record_id: record.id,
            hash: record.hash.clone(),
            parties: parties
                .iter()
                .map(|p| {
                    let mut signers: Vec<String> =
                        members.iter().filter(|m| m.party_id == p.id && m.role == Role::Ser).map(|m| format!("{} (SER)", m.name)).collect();
                    // Named signers who are still members of the party and not its SER (named above).
                    let may_sign = |s: &&accord_store::Signer| {
                        s.party_id == p.id && members.iter().any(|m| m.user_id == s.user_id && m.party_id == p.id && m.role != Role::Ser)
                    };
                    signers.extend(record.signers.iter().filter(may_sign).map(|s| s.name.clone()));
                    let signed = record.signature_of(p.id).map(line);
                    let can_sign = !sealed
                        && signed.is_none()
                        && viewer.is_some_and(|v| v.party_id == p.id && (v.role == Role::Ser || record.named_signer(p.id, v.user_id)));
                    PartySignature { party_name: p.organisation_name.clone(), signers, signed, can_sign }
                })
                .collect(),
            voided: record.signatures.iter().filter(|s| !s.valid()).map(line).collect(),
            seal: record.seal.as_ref().map(|s| (s.head().to_string(), crate::dates::when(zone, &s.sealed_at))),
            addenda: record
                .addenda
                .iter()
                .map(|a| (a.title.clone(), accord_store::record_path(record.relationship_id, a.id), a.sealed_at.is_some()))
                .collect(),
            error: None,
        }
    }
}

/// The content of a record as HTML: an object's keys as headings (or terms, deeper down), a
/// list as a list, text as paragraphs. Everything is escaped; nothing the content holds is markup.
pub fn content_html(content: &Value) -> String {
    let mut out = String::with_capacity(1024);
    write_value(content, 3, &mut out);
    out
}

fn write_value(value: &Value, depth: usize, out: &mut String) {
    match value {
        Value::Object(map) if depth <= 4 => {
            for (key, item) in map {
                out.push_str(&format!("<h{depth}>"));
                escape(&label(key), out);
                out.push_str(&format!("</h{depth}>"));
                write_value(item, depth + 1, out);
            }
        }
        Value::Object(map) => {
            out.push_str("<dl class=\"facts\">");
            for (key, item) in map {
                out.push_str("<dt>");
                escape(&label(key), out);
                out.push_str("</dt><dd>");
                write_value(item, depth + 1, out);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
        Value::Array(items) if items.is_empty() => out.push_str("<p class=\"muted\">None.</p>"),
        Value::Array(items) => {
            out.push_str("<ul class=\"record-list\">");
            for item in items {
                out.push_str("<li>");
                // Deeper than a list, an object's keys read as terms, not headings.
                write_value(item, depth.max(5), out);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        Value::String(text) if text.is_empty() => out.push_str("<p class=\"muted\">Nothing written.</p>"),
        Value::String(text) => {
            for paragraph in text.split("\n\n") {
                out.push_str("<p class=\"record-text\">");
                escape(paragraph, out);
                out.push_str("</p>");
            }
        }
        Value::Null => out.push_str("<p class=\"muted\">None.</p>"),
        Value::Bool(b) => out.push_str(if *b { "<p>Yes</p>" } else { "<p>No</p>" }),
        Value::Number(n) => out.push_str(&format!("<p>{n}</p>")),
    }
}

/// `action_items` reads as "Action items".
fn label(key: &str) -> String {
    let spaced = key.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

fn escape(text: &str, out: &mut String) {
    let _ = askama::filters::Html.write_escaped_str(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_reads_as_headings_lists_and_text_and_is_never_markup() {
        let html = content_html(
            &json!({"decisions": ["Re-plan <b>berths</b>", {"text": "Fund it", "agreed_by": "both"}], "notes": "One\n\nTwo", "open": null}),
        );
        assert!(
            html.contains(
                "<h3>Decisions</h3><ul class=\"record-list\"><li><p class=\"record-text\">Re-plan &#60;b&#62;berths&#60;/b&#62;</p></li>"
            ),
            "{html}"
        );
        assert!(html.contains("<dt>Agreed by</dt><dd><p class=\"record-text\">both</p></dd>"), "{html}");
        assert!(html.contains("<p class=\"record-text\">One</p><p class=\"record-text\">Two</p>"), "{html}");
        assert!(html.contains("<h3>Open</h3><p class=\"muted\">None.</p>"), "{html}");
        assert!(!html.contains("<b>"));
    }
}
