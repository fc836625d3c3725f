//! POSIX shell quoting, for building the commands modules send through the persistent shell.

/// Quotes `s` so that `sh` reads it back as exactly one word with the same bytes.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(quote("/etc/app.conf"), "/etc/app.conf");
    }

    #[test]
    fn quotes_and_spaces_are_escaped() {
        assert_eq!(quote("it's a b"), r"'it'\''s a b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }
}
