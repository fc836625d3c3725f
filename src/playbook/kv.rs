//! Ansible's `k=v` argument strings (`copy: src=a dest="b c"`), split with shell-like quoting.

use serde_json::{Map, Value};

/// Splits a free-form argument string into words, honouring single and double quotes and
/// backslash escapes the way Ansible's `split_args` does for the common cases. Quotes are kept
/// (Ansible keeps them until `parse_kv` unquotes values).
pub fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    let mut in_jinja = 0usize;
    while let Some(c) = chars.next() {
        if quote.is_none() && in_jinja == 0 && c.is_whitespace() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        match c {
            '{' if matches!(chars.peek(), Some('{') | Some('%')) => {
                in_jinja += 1;
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '}' | '%' if in_jinja > 0 && chars.peek() == Some(&'}') => {
                in_jinja -= 1;
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '\\' if quote != Some('\'') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '\'' | '"' if in_jinja == 0 => match quote {
                None => quote = Some(c),
                Some(q) if q == c => quote = None,
                _ => {}
            },
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        let inner = &v[1..v.len() - 1];
        if b[0] == b'"' {
            return inner.replace("\\\"", "\"");
        }
        return inner.to_string();
    }
    v.to_string()
}

/// Parses `k=v` words into a map. With `free_form`, words that are not `k=v` (or whose key is not
/// one of `free_form_keys`) are joined into `_raw_params`, as Ansible does for command and shell.
pub fn parse_kv(s: &str, free_form: bool, free_form_keys: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for word in split_words(s) {
        let kv = word.split_once('=').filter(|(k, _)| {
            !k.is_empty()
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !k.starts_with(|c: char| c.is_ascii_digit())
        });
        match kv {
            Some((k, v)) if !free_form || free_form_keys.contains(&k) => {
                out.insert(k.to_string(), Value::String(unquote(v)));
            }
            _ => raw.push(word),
        }
    }
    if !raw.is_empty() {
        out.insert("_raw_params".into(), Value::String(raw.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_values_with_quotes() {
        let m = parse_kv(r#"src=a.j2 dest="/etc/my app.conf" mode=0644"#, false, &[]);
        assert_eq!(Value::Object(m), json!({"src": "a.j2", "dest": "/etc/my app.conf", "mode": "0644"}));
    }

    #[test]
    fn free_form_keeps_command_words() {
        let m = parse_kv("echo a=b 'x y' chdir=/tmp creates=/x", true, &["chdir", "creates"]);
        assert_eq!(Value::Object(m), json!({"_raw_params": "echo a=b 'x y'", "chdir": "/tmp", "creates": "/x"}));
    }

    #[test]
    fn jinja_with_spaces_is_one_word() {
        let m = parse_kv("msg={{ a | default('x y') }} other=1", false, &[]);
        assert_eq!(m.get("msg"), Some(&json!("{{ a | default('x y') }}")));
    }
}
