//! The little XML the reports write (src/output/junit.rs): escaping of text and attribute values,
//! and the characters XML 1.0 cannot carry at all.
//!
//! XML 1.0 allows, besides tab, newline and carriage return, no control character below U+0020
//! (not even as `&#1;`), and neither U+FFFE nor U+FFFF. Module output may hold any of them (a
//! command's ANSI colours: ESC, U+001B), so they are written as the text `\u001b`, which keeps
//! what was there visible instead of making the whole file unreadable for a JUnit consumer.

/// Whether XML 1.0 allows `c` in a document (the `Char` production; Rust's `char` holds no
/// surrogates, so those need no check).
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` as element content: `&`, `<`, `>` escaped, a carriage return kept as `&#13;` (a parser
/// would turn a raw one into a newline), characters XML cannot carry written as `\uXXXX`.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// `s` as an attribute value between double quotes: as [`text`], plus `"` and `'` escaped, and tab,
/// newline and carriage return as character references (a parser would turn raw ones into
/// spaces).
pub fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, in_attr: bool) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attr => out.push_str("&quot;"),
            '\'' if in_attr => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if in_attr => out.push_str("&#10;"),
            '\t' if in_attr => out.push_str("&#9;"),
            c if allowed(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_text_and_attributes() {
        assert_eq!(text(r#"a & b < c > d "e" 'f'"#), r#"a &amp; b &lt; c &gt; d "e" 'f'"#);
        assert_eq!(attr(r#"a & b < c > d "e" 'f'"#), "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;");
        // A closing CDATA marker or an entity written by a module stays text.
        assert_eq!(text("]]> &amp;"), "]]&gt; &amp;amp;");
    }

    #[test]
    fn keeps_whitespace_and_unicode() {
        assert_eq!(text("line 1\nline 2\ttab\r\n"), "line 1\nline 2\ttab&#13;\n");
        assert_eq!(attr("line 1\nline 2\ttab\r"), "line 1&#10;line 2&#9;tab&#13;");
        assert_eq!(text("héllo ✓ 🚀 \u{D7FF}\u{E000}\u{FFFD}"), "héllo ✓ 🚀 \u{D7FF}\u{E000}\u{FFFD}");
    }

    #[test]
    fn writes_characters_xml_cannot_carry_as_escapes() {
        assert_eq!(text("\u{1b}[31mred\u{1b}[0m"), "\\u001b[31mred\\u001b[0m");
        assert_eq!(text("nul\0 bell\u{7} vt\u{b} ff\u{c}"), "nul\\u0000 bell\\u0007 vt\\u000b ff\\u000c");
        assert_eq!(attr("\u{FFFE}\u{FFFF}\u{1f}"), "\\ufffe\\uffff\\u001f");
        // Every control character but tab, newline and carriage return.
        for c in (0u32..0x20).filter_map(char::from_u32).filter(|c| !matches!(c, '\t' | '\n' | '\r')) {
            assert!(!text(&c.to_string()).contains(c), "{c:?} must not be written as is");
            assert!(!attr(&c.to_string()).contains(c), "{c:?} must not be written as is");
        }
    }
}
