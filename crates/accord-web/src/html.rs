//! The templates' HTML escaper: askama's own, after a check that skips text with nothing to
//! escape. Pages write thousands of such pieces (ids, tokens, dates, names): askama's byte-by-byte
//! escaping was a tenth of the action log's time.

use std::fmt::{self, Write};

/// Named in `askama.toml` as the escaper of `.html` templates.
#[derive(Clone, Copy)]
pub struct Html;

impl askama::filters::Escaper for Html {
    fn write_escaped_str<W: Write>(&self, mut dest: W, text: &str) -> fmt::Result {
        if plain(text.as_bytes()) { dest.write_str(text) } else { askama::filters::Html.write_escaped_str(dest, text) }
    }
}

/// Whether no byte of `text` is one HTML escapes (`"`, `&`, `'`, `<`, `>`), checked a block at a
/// time without a branch per byte.
fn plain(text: &[u8]) -> bool {
    text.chunks(16).all(|block| !block.iter().fold(false, |hit, &b| hit | matches!(b, b'"' | b'&' | b'\'' | b'<' | b'>')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use askama::filters::Escaper;
    use proptest::prelude::*;

    fn escaped(escaper: impl Escaper, text: &str) -> String {
        let mut out = String::new();
        escaper.write_escaped_str(&mut out, text).unwrap();
        out
    }

    #[test]
    fn escapes_what_html_needs() {
        assert_eq!(escaped(Html, r#"<a href="x">Tom & Jerry's</a>"#), "&#60;a href=&#34;x&#34;&#62;Tom &#38; Jerry&#39;s&#60;/a&#62;");
        assert_eq!(escaped(Html, "0184c7c3-aa80-748a-b862-4fc3e137329d"), "0184c7c3-aa80-748a-b862-4fc3e137329d");
        assert!(!plain(b"a long line of text that ends in a quote\""));
    }

    proptest! {
        #[test]
        fn writes_what_askama_writes(text in "[a-z0-9 <>&\"'é-]{0,80}") {
            prop_assert_eq!(escaped(Html, &text), escaped(askama::filters::Html, &text));
        }
    }
}
