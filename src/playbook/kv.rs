//! Ansible's `k=v` argument strings (`copy: src=a dest="b c"`, `shell: |` scripts), parsed the
//! way Ansible's `parse_kv` does (ansible/parsing/splitter.py): words are split on spaces and
//! newlines but glued back together inside quotes and Jinja blocks, the free-form part keeps its
//! original newlines and spacing, and escapes (`\n`, `\t`, `\"`, `\x41`, `\u00e9`...) in `k=v`
//! words are decoded.

use serde_json::{Map, Value};

/// The keys a free-form action (command, shell, raw, script) still takes as `k=v` inside its
/// string; every other word is part of the command. Ansible's list, in its order.
pub const COMMAND_KEYS: &[&str] =
    &["creates", "removes", "chdir", "executable", "warn", "stdin", "stdin_add_newline", "strip_empty_ends"];

/// Splits an argument string into words as Ansible's `split_args` does: on spaces and newlines,
/// except inside quotes and `{{ }}`/`{% %}`/`{# #}` blocks. Quotes are kept, and a word that ends
/// a line keeps its newline, so that [`join_args`] restores the original text. Unbalanced quotes
/// or Jinja blocks are an error.
pub fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    if args.is_empty() {
        return Ok(params);
    }
    let items: Vec<&str> = args.split('\n').collect();
    let mut quote_char: Option<char> = None;
    let mut inside_quotes = false;
    let (mut print_depth, mut block_depth, mut comment_depth) = (0usize, 0usize, 0usize);
    for (item_idx, item) in items.iter().enumerate() {
        let mut line_continuation = false;
        for (idx, token) in item.split(' ').enumerate() {
            // Runs of spaces: kept on the previous word, so the command's spacing survives.
            if token.is_empty() && idx != 0 {
                last_word(&mut params).push(' ');
                continue;
            }
            if token == "\\" && !inside_quotes {
                line_continuation = true;
                continue;
            }
            let was_inside_quotes = inside_quotes;
            quote_char = quote_state(token, quote_char);
            inside_quotes = quote_char.is_some();
            let in_block = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_block {
                params.push(token.to_string());
                appended = true;
            } else if in_block || inside_quotes || was_inside_quotes {
                match params.last_mut() {
                    Some(last) => {
                        if idx > 0 {
                            last.push(' ');
                        }
                        last.push_str(token);
                    }
                    None => params.push(token.to_string()),
                }
                appended = true;
            }
            for (depth, open, close) in
                [(&mut print_depth, "{{", "}}"), (&mut block_depth, "{%", "%}"), (&mut comment_depth, "{#", "#}")]
            {
                let before = *depth;
                *depth = count_blocks(token, *depth, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_block = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            if !in_block && !inside_quotes && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        // The line ended inside this word list: keep the newline (unless escaped by `\`).
        if items.len() > 1 && item_idx != items.len() - 1 && !line_continuation {
            last_word(&mut params).push('\n');
        }
    }
    if print_depth > 0 || block_depth > 0 || comment_depth > 0 || inside_quotes {
        return Err(format!("failed at splitting arguments, either an unbalanced jinja2 block or quotes: {args}"));
    }
    Ok(params)
}

/// The last word, created empty when there is none yet (leading spaces and newlines are kept).
fn last_word(params: &mut Vec<String>) -> &mut String {
    if params.is_empty() {
        params.push(String::new());
    }
    let n = params.len() - 1;
    &mut params[n]
}

/// Joins words from [`split_args`] back into the original text: a space between words, none
/// after a word that ended a line.
pub fn join_args(words: &[String]) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The quote a word leaves open, given the one open before it (`_get_quote_state`).
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev: Option<char> = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// The Jinja nesting depth after `token` (`_count_jinja2_blocks`).
fn count_blocks(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let opened = token.matches(open).count();
    let closed = token.matches(close).count();
    if opened == closed {
        depth
    } else {
        (depth + opened).saturating_sub(closed)
    }
}

/// Ansible's `unquote`: strips one pair of matching outer quotes, unless the closing one is
/// escaped.
fn unquote(v: &str) -> &str {
    let chars: Vec<char> = v.chars().collect();
    let n = chars.len();
    if n > 1 && chars[0] == chars[n - 1] && (chars[0] == '"' || chars[0] == '\'') && chars[n - 2] != '\\' {
        let first = chars[0].len_utf8();
        return &v[first..v.len() - first];
    }
    v
}

/// Decodes Python's string escapes in a word as Ansible's `_decode_escapes` does: `\\`, `\'`,
/// `\"`, `\a`, `\b`, `\f`, `\n`, `\r`, `\t`, `\v`, `\xHH`, `\uHHHH` and `\UHHHHHHHH`; anything
/// else (including `\N{...}`) stays as written.
pub fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('\\') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let mut chars = after.chars();
        let simple = match chars.next() {
            Some('\\') => Some('\\'),
            Some('\'') => Some('\''),
            Some('"') => Some('"'),
            Some('a') => Some('\x07'),
            Some('b') => Some('\x08'),
            Some('f') => Some('\x0c'),
            Some('n') => Some('\n'),
            Some('r') => Some('\r'),
            Some('t') => Some('\t'),
            Some('v') => Some('\x0b'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            rest = &after[1..];
            continue;
        }
        let hex = match after.chars().next() {
            Some('x') => 2,
            Some('u') => 4,
            Some('U') => 8,
            _ => 0,
        };
        let digits = after.get(1..1 + hex).filter(|d| hex > 0 && d.chars().all(|c| c.is_ascii_hexdigit()));
        match digits.and_then(|d| u32::from_str_radix(d, 16).ok()).and_then(char::from_u32) {
            Some(c) => {
                out.push(c);
                rest = &after[1 + hex..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses an argument string into a map as Ansible's `parse_kv` does. Words of the form `k=v`
/// become options (value unquoted, escapes decoded); the rest is joined into `_raw_params` with
/// its original newlines and spacing. With `check_raw` (command, shell, raw, script), only the
/// [`COMMAND_KEYS`] are options and every other word, `a=b` included, belongs to the command.
pub fn parse_kv(args: &str, check_raw: bool) -> Result<Map<String, Value>, String> {
    let mut options = Map::new();
    let mut raw: Vec<String> = Vec::new();
    for orig in split_args(args)? {
        let x = decode_escapes(&orig);
        // The first `=` after position 0 that is not escaped splits key from value.
        let split = x.char_indices().skip(1).find(|(i, c)| *c == '=' && !x[..*i].ends_with('\\')).map(|(i, _)| i);
        match split {
            None if x.contains('=') => raw.push(x.replace("\\=", "=")),
            None => raw.push(orig),
            Some(pos) => {
                let (k, v) = (&x[..pos], &x[pos + 1..]);
                if check_raw && !COMMAND_KEYS.contains(&k) {
                    raw.push(orig);
                } else {
                    options.insert(k.trim().to_string(), Value::String(unquote(v.trim()).to_string()));
                }
            }
        }
    }
    if !raw.is_empty() {
        options.insert("_raw_params".into(), Value::String(join_args(&raw)));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(s: &str, check_raw: bool) -> Value {
        Value::Object(parse_kv(s, check_raw).unwrap())
    }

    #[test]
    fn key_values_with_quotes() {
        let m = kv(r#"src=a.j2 dest="/etc/my app.conf" mode=0644"#, false);
        assert_eq!(m, json!({"src": "a.j2", "dest": "/etc/my app.conf", "mode": "0644"}));
    }

    #[test]
    fn free_form_keeps_command_words() {
        let m = kv("echo a=b 'x y' chdir=/tmp creates=/x", true);
        assert_eq!(m, json!({"_raw_params": "echo a=b 'x y'", "chdir": "/tmp", "creates": "/x"}));
    }

    #[test]
    fn jinja_with_spaces_is_one_word() {
        let m = kv("msg={{ a | default('x y') }} other=1", false);
        assert_eq!(m, json!({"msg": "{{ a | default('x y') }}", "other": "1"}));
    }

    #[test]
    fn multi_line_scripts_keep_their_newlines_and_spacing() {
        // `shell: |` with two commands: two lines, as Ansible passes them.
        assert_eq!(kv("echo one\necho two\n", true), json!({"_raw_params": "echo one\necho two\n"}));
        assert_eq!(kv("echo  'a   b'\n  echo c", true), json!({"_raw_params": "echo  'a   b'\n  echo c"}));
        assert_eq!(
            kv("if true; then\n  echo yes\nfi\n", true),
            json!({"_raw_params": "if true; then\n  echo yes\nfi\n"})
        );
        // A quoted string spanning lines stays one word with its newline.
        assert_eq!(kv("echo 'a\nb'", true), json!({"_raw_params": "echo 'a\nb'"}));
        // A lone backslash continues the line, as in Ansible.
        assert_eq!(kv("echo a \\\necho b", true), json!({"_raw_params": "echo a echo b"}));
    }

    #[test]
    fn escapes_in_values_are_decoded() {
        assert_eq!(kv(r#"content="hi\n" dest=/tmp/x"#, false), json!({"content": "hi\n", "dest": "/tmp/x"}));
        assert_eq!(kv(r#"msg="a\tb \"q\" \x41\u00e9 \\n""#, false), json!({"msg": "a\tb \"q\" Aé \\n"}));
        assert_eq!(kv(r"msg=\N{BULLET} \q", false), json!({"msg": r"\N{BULLET}", "_raw_params": r"\q"}));
        // The command part of a free-form string is passed on as written.
        assert_eq!(
            kv(r"printf 'a\nb' creates=/x\ty", true),
            json!({"_raw_params": r"printf 'a\nb'", "creates": "/x\ty"})
        );
    }

    #[test]
    fn escaped_equals_and_odd_words() {
        assert_eq!(kv(r"a\=b", false), json!({"_raw_params": "a=b"}));
        assert_eq!(kv("=x", false), json!({"_raw_params": "=x"}));
        assert_eq!(kv("a=b=c", false), json!({"a": "b=c"}));
    }

    #[test]
    fn unbalanced_quotes_or_blocks_are_errors() {
        assert!(parse_kv("echo 'unclosed", true).unwrap_err().contains("unbalanced"));
        assert!(parse_kv("msg={{ x", false).unwrap_err().contains("unbalanced"));
    }
}
