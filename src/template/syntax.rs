//! Recognizing Ansible's template strings: single-expression strings (native values) and the
//! `escape_backslashes` rewrite of string literals inside `{{ }}`.

/// Ansible's `escape_backslashes`: inside `{{ }}` of task and variable strings, backslashes in
/// string literals are taken as they are (YAML already processed escapes), so
/// `regex_replace('(\d+)', '\1')` reaches the filter with its backslashes. Rewrites such
/// literals so minijinja reads them back verbatim.
pub(crate) fn escape_backslashes(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    let (mut in_var, mut quote, mut i) = (false, None::<char>, 0);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match quote {
            Some(q) => {
                if c == '\\' {
                    out.push_str("\\\\");
                    match next {
                        Some(n) if n == q => out.push_str(&format!("\\{n}")),
                        Some('\\') => out.push_str("\\\\"),
                        Some(n) => out.push(n),
                        None => {}
                    }
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if in_var => {
                if c == '}' && next == Some('}') {
                    in_var = false;
                } else if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
            None => {
                if c == '{' && next == Some('{') {
                    in_var = true;
                    out.push_str("{{");
                    i += 2;
                    continue;
                }
                out.push(c);
            }
        }
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// If `s` is exactly one `{{ expr }}` block (nothing around it), returns `expr`.
pub(crate) fn single_expression(s: &str) -> Option<&str> {
    let body = s.strip_prefix("{{")?;
    // Find the `}}` closing the first block: outside string literals and brackets.
    let bytes = body.as_bytes();
    let (mut depth, mut quote, mut i) = (0usize, None::<u8>, 0usize);
    let end = loop {
        let b = *bytes.get(i)?;
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b'}' if depth == 0 && bytes.get(i + 1) == Some(&b'}') => break i,
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        i += 1;
    };
    if end + 2 != body.len() {
        return None;
    }
    let inner = &body[..end];
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    if inner.trim().is_empty() {
        return None;
    }
    Some(inner)
}

/// The first line of a template file holding Jinja option overrides.
const OVERRIDE_PREFIX: &str = "#jinja2:";

/// Splits a `#jinja2: ...` first line (without the prefix) from the rest of a template file.
pub(crate) fn split_override_header(source: &str) -> (Option<&str>, &str) {
    match source.strip_prefix(OVERRIDE_PREFIX) {
        Some(rest) => match rest.split_once('\n') {
            Some((line, body)) => (Some(line), body),
            None => (Some(rest), ""),
        },
        None => (None, source),
    }
}
