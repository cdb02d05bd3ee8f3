//! Validated text: once parsed, a value of these types is valid everywhere past the edge.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::skeleton as uts39_skeleton;

/// An e-mail address, trimmed and lower-cased so that one person has one address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Email, String> {
        let text = text.trim().to_lowercase();
        let Some((local, domain)) = text.split_once('@') else {
            return Err("must be an e-mail address such as name@example.org".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && !local.contains(char::is_whitespace)
            && !local.contains(['<', '>', '"', ',', ';', '(', ')', '[', ']', '\\']);
        if !domain_ok || !local_ok {
            return Err("must be an e-mail address such as name@example.org".into());
        }
        if text.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        Ok(Email(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name or title: Unicode NFC, runs of spaces collapsed to one and none at either end, not empty
/// nor invisible, at most `MAX` characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX: usize = 200;

    pub fn parse(text: &str) -> Result<Name, String> {
        // Counted as sent, so the bound is the one the API's document states.
        if text.chars().count() > Self::MAX {
            return Err(format!("must be at most {} characters", Self::MAX));
        }
        let text = text.trim();
        if text.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        let text = collapse_spaces(&text.nfc().collect::<String>());
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        // Zero-width spaces, joiners, bidi controls and fillers alone would show as nothing.
        if uts39_skeleton(&text).all(|c| c.is_whitespace() || c.general_category() == GeneralCategory::Format) {
            return Err("must contain visible characters, not only spaces or invisible ones".into());
        }
        if text.chars().count() > Self::MAX {
            return Err(format!("must be at most {} characters", Self::MAX));
        }
        Ok(Name(text))
    }

    /// What the name looks like: see [`skeleton`].
    pub fn skeleton(&self) -> String {
        skeleton(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a name looks like: two names with one skeleton are easily taken for each other. The
/// UTS #39 skeleton (which drops invisible characters and maps look-alikes, such as Cyrillic `а`
/// or `0`, to one prototype) of the text after NFKC, case folding and collapsing spaces. Folding
/// is `to_lowercase`, not full case folding (no small crate does that; the difference, such as
/// `ß` against `ss`, is a few letters); it is done again after the skeleton, whose prototypes may
/// be capitals (`0` becomes `O`), and spaces are collapsed again where invisible ones went.
pub fn skeleton(text: &str) -> String {
    let folded = collapse_spaces(&text.nfkc().collect::<String>().to_lowercase());
    collapse_spaces(&uts39_skeleton(&folded).collect::<String>().to_lowercase())
}

/// Runs of white space (any kind: tabs, no-break and ideographic spaces) as one space, none at
/// either end.
fn collapse_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Free text with an upper bound, such as a purpose or a description.
pub fn parse_long_text(text: &str, max: usize) -> Result<String, String> {
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    // PostgreSQL cannot store NUL in text; refused on both backends alike.
    if text.contains('\0') {
        return Err("must not contain NUL characters".into());
    }
    Ok(text.trim().to_owned())
}

/// The most characters of someone's text that a message quotes back: a message about a
/// 10 MB cell must not be 10 MB long.
pub const MAX_QUOTED_CHARS: usize = 80;

/// `text` in double quotes as `{:?}` writes it, cut after [`MAX_QUOTED_CHARS`] characters
/// (marked with `…` after the closing quote).
pub fn quoted(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_cut() {
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        let long = "é".repeat(MAX_QUOTED_CHARS + 1);
        assert_eq!(quoted(&long), format!("\"{}\"…", "é".repeat(MAX_QUOTED_CHARS)));
        assert_eq!(quoted(&long[..2 * MAX_QUOTED_CHARS]), format!("\"{}\"", "é".repeat(MAX_QUOTED_CHARS)));
    }

    #[test]
    fn emails() {
        assert_eq!(Email::parse(" Ann@Example.ORG ").unwrap().as_str(), "ann@example.org");
        for bad in ["", "ann", "ann@", "@example.org", "ann@example", "a b@example.org", "ann@exa mple.org", "ann@.org"] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn names() {
        assert_eq!(Name::parse("  North Sea Wind  ").unwrap().as_str(), "North Sea Wind");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(201)).is_err());
        assert!(Name::parse("a\u{7}b").is_err());
        assert!(Name::parse("a\nb").is_err());
    }

    #[test]
    fn names_are_normalised() {
        // NFC: e + combining acute is é.
        assert_eq!(Name::parse("Caf\u{65}\u{301}").unwrap().as_str(), "Caf\u{e9}");
        assert_eq!(Name::parse("North   Sea\u{a0}\u{3000}Wind").unwrap().as_str(), "North Sea Wind");
    }

    #[test]
    fn invisible_names_are_refused() {
        for invisible in
            ["\u{200b}", "\u{200b}\u{200c}\u{200d}", " \u{2060} \u{feff} ", "\u{202e}\u{2066}", "\u{3164}", "\u{115f}\u{1160}", "\u{fe0f}"]
        {
            let refused = Name::parse(invisible).unwrap_err();
            assert!(refused.contains("visible"), "{invisible:?}: {refused}");
        }
        assert!(Name::parse("\u{200b}A").is_ok(), "visible text with an invisible character is a name");
    }

    #[test]
    fn look_alike_names_share_a_skeleton() {
        let skeleton = |text: &str| Name::parse(text).unwrap().skeleton();
        let original = skeleton("Keystone Construction");
        for look_alike in [
            "keystone construction",
            "KEYSTONE  CONSTRUCTION",
            "Keystone\u{200b} Construction",
            "Key\u{200b}stone Construction",
            "Keystone \u{200b} Construction",
            "K\u{435}yst\u{43e}ne Construction",
            "Keystone Constructi0n",
            "\u{ff2b}eystone Construction",
            "Keystone\u{a0}Construction",
        ] {
            assert_eq!(skeleton(look_alike), original, "{look_alike:?}");
        }
        for different in ["Keystone Constructions", "Keystone Contracting", "Keystone"] {
            assert_ne!(skeleton(different), original, "{different:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_parsed_name_parses_to_itself(text in "\\PC{0,60}") {
            if let Ok(name) = Name::parse(&text) {
                let again = Name::parse(name.as_str()).unwrap();
                proptest::prop_assert_eq!(&again, &name);
                proptest::prop_assert!(!name.as_str().contains("  "));
                proptest::prop_assert!(unicode_normalization::is_nfc(name.as_str()));
            }
        }

        #[test]
        fn invisible_characters_spaces_and_case_do_not_change_a_skeleton(word in "[a-zA-Z\u{e0}-\u{ff}]{1,12}", other in "[a-zA-Z]{1,12}") {
            let plain = Name::parse(&format!("{word} {other}")).unwrap();
            let disguised = Name::parse(&format!("{}\u{200b}  \u{2060}{}", word.to_uppercase(), other)).unwrap();
            proptest::prop_assert_eq!(plain.skeleton(), disguised.skeleton());
        }
    }
}
