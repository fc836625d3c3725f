//! Shell-like word splitting with Python's `shlex.split` semantics (POSIX mode), which is how
//! Ansible's `command` module turns its free-form string into an argument vector.

/// Splits `s` into words as `shlex.split(s)` does: whitespace separates words, single quotes keep
/// everything literal, double quotes keep everything but `\"` and `\\`, and a backslash outside
/// quotes escapes the next character. An unclosed quote or a trailing backslash is an error.
pub fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    // A word exists even when empty (`''`), so track it separately from `cur`'s length.
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\')) => cur.push(ch),
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => cur.push(ch),
                    None => return Err("No escaped character".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn splits_like_python_shlex() {
        assert_eq!(
            split(r#"echo "a b" 'c d' e\ f $HOME ; x"#).unwrap(),
            ["echo", "a b", "c d", "e f", "$HOME", ";", "x"]
        );
        assert_eq!(split(r#"a"b"'c' "" x"#).unwrap(), ["abc", "", "x"]);
        assert_eq!(split(r#""a\"b\\c\d""#).unwrap(), [r#"a"b\c\d"#]);
        assert_eq!(split("  a\tb\n").unwrap(), ["a", "b"]);
        assert!(split("").unwrap().is_empty());
    }

    #[test]
    fn unbalanced_input_is_an_error() {
        assert_eq!(split("echo 'a").unwrap_err(), "No closing quotation");
        assert_eq!(split("echo \"a").unwrap_err(), "No closing quotation");
        assert_eq!(split("echo a\\").unwrap_err(), "No escaped character");
    }
}
