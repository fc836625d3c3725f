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

/// Jinja's unary plus (`[-2.5, +2.5]`, `1 ++ 2`), which minijinja's parser lacks: inside `{{ }}`
/// and `{% %}`, outside string literals, a `+` that starts an operand (after an opening bracket,
/// a comma, a colon, another operator, a keyword such as `and`/`not`/`in`, or the start of the
/// block) is dropped; on numbers it is the identity, as in Python.
pub(crate) fn drop_unary_plus(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('+') {
        return std::borrow::Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    // The character that closes the current block with `}` (`}` for `{{`, `%` for `{%`).
    let mut block: Option<char> = None;
    let mut quote: Option<char> = None;
    // The last significant character of the block (`None` at its start) and the identifier
    // that ends there, for keywords.
    let mut prev: Option<char> = None;
    let mut word = String::new();
    let mut gap = false;
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let Some(close) = block else {
            // A `{% raw %}` section and a `{# comment #}` are copied as they are.
            if c == '{' {
                if let Some(len) = verbatim_len(&chars[i..]) {
                    out.extend(&chars[i..i + len]);
                    i += len;
                    continue;
                }
            }
            out.push(c);
            i += 1;
            if c == '{' && matches!(next, Some('{') | Some('%')) {
                block = next.map(|n| if n == '{' { '}' } else { '%' });
                out.push(next.unwrap_or('{'));
                i += 1;
                // `{{-`, `{%-`, `{%+` are whitespace control, not operators.
                if let Some(w @ ('-' | '+')) = chars.get(i).copied() {
                    out.push(w);
                    i += 1;
                }
                prev = None;
                word.clear();
            }
            continue;
        };
        if let Some(q) = quote {
            out.push(c);
            i += 1;
            if c == '\\' {
                if let Some(n) = next {
                    out.push(n);
                    i += 1;
                }
            } else if c == q {
                quote = None;
                prev = Some(q);
                word.clear();
            }
            continue;
        }
        let ends = |at: usize| chars.get(at) == Some(&close) && chars.get(at + 1) == Some(&'}');
        if ends(i) || (matches!(c, '-' | '+') && ends(i + 1)) {
            let len = if ends(i) { 2 } else { 3 };
            out.extend(&chars[i..i + len]);
            i += len;
            block = None;
            continue;
        }
        i += 1;
        if c.is_whitespace() {
            out.push(c);
            gap = true;
            continue;
        }
        if c == '+' {
            let unary = match prev {
                None => true,
                Some(p) if "([{,:+-*/%=<>!~".contains(p) => true,
                Some(_) => matches!(word.as_str(), "and" | "or" | "not" | "in" | "if" | "else" | "is" | "return"),
            };
            if unary {
                out.push(' ');
                changed = true;
                prev = Some('+');
                word.clear();
                gap = false;
                continue;
            }
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
        let ident = c.is_alphanumeric() || c == '_';
        if ident {
            if gap || !prev.is_some_and(|p| p.is_alphanumeric() || p == '_') {
                word.clear();
            }
            word.push(c);
        } else {
            word.clear();
        }
        gap = false;
        prev = Some(c);
        out.push(c);
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The length of the `{% raw %}...{% endraw %}` section or `{# ... #}` comment that `chars`
/// starts with (to its end, or to the end of the text when it is not closed), else `None`.
fn verbatim_len(chars: &[char]) -> Option<usize> {
    let text: String = chars.iter().take(64).collect();
    let closing = if text.starts_with("{#") {
        "#}"
    } else {
        let rest = text.strip_prefix("{%")?;
        let rest = rest.strip_prefix(['-', '+']).unwrap_or(rest).trim_start();
        let rest = rest.strip_prefix("raw")?;
        let rest = rest.trim_start();
        if !(rest.starts_with("%}") || rest.starts_with("-%}")) {
            return None;
        }
        "endraw"
    };
    let all: String = chars.iter().collect();
    let Some(at) = all[2..].find(closing).map(|at| at + 2) else { return Some(chars.len()) };
    let end = if closing == "#}" { at + 2 } else { all[at..].find("%}").map_or(all.len(), |e| at + e + 2) };
    Some(all[..end].chars().count())
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

#[cfg(test)]
mod unary_plus_tests {
    use super::drop_unary_plus;

    #[test]
    fn unary_plus_is_dropped_where_an_operand_starts() {
        assert_eq!(drop_unary_plus("{{ [-2.5, +2.5, 1 + 2.5] }}"), "{{ [-2.5,  2.5, 1 + 2.5] }}");
        assert_eq!(drop_unary_plus("{{ +1 }}"), "{{  1 }}");
        assert_eq!(drop_unary_plus("{{ 1 ++ 2 }}"), "{{ 1 +  2 }}");
        assert_eq!(drop_unary_plus("{{ x if +1 else y }}"), "{{ x if  1 else y }}");
        assert_eq!(drop_unary_plus("{{ a + b }} + c {{ '+1' }}"), "{{ a + b }} + c {{ '+1' }}");
        assert_eq!(drop_unary_plus("{%+ if x %}+1{% endif %}"), "{%+ if x %}+1{% endif %}");
        assert_eq!(drop_unary_plus("[1] + {{ [2] }}"), "[1] + {{ [2] }}");
        assert_eq!(drop_unary_plus("{% raw %}{{ +1 }}{% endraw %}{{ +1 }}"), "{% raw %}{{ +1 }}{% endraw %}{{  1 }}");
        assert_eq!(drop_unary_plus("{%- raw -%} {{ +1 }} {%- endraw %}"), "{%- raw -%} {{ +1 }} {%- endraw %}");
        assert_eq!(drop_unary_plus("{# {{ +1 }} #}{{ +2 }}"), "{# {{ +1 }} #}{{  2 }}");
        assert_eq!(drop_unary_plus("{% rawx %}"), "{% rawx %}");
    }
}
