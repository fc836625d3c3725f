//! The two bits of Python that Ansible's INI inventory relies on: `shlex.split(line, comments=True)`
//! for host lines and `ast.literal_eval` for variable values. Values that `literal_eval` rejects stay
//! strings, exactly as in Ansible, so `a=1` is an int, `a=yes` a string and `a=[1, 'x']` a list.

use serde_json::{Map, Number, Value};

/// Splits a line like POSIX `shlex.split(line, comments=True)`: whitespace-separated words, quotes
/// removed, `\` escapes, and `#` starting a comment anywhere outside quotes (even mid-word).
/// Errors carry Python's wording ("No closing quotation", "No escaped character").
pub fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Space,
        Word,
        Quote(char),
        Escape(EscFrom),
    }
    #[derive(Clone, Copy, PartialEq)]
    enum EscFrom {
        Word,
        Double,
    }
    let ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut out = Vec::new();
    let mut token = String::new();
    let mut quoted = false;
    let mut state = St::Space;
    let mut chars = line.chars();
    loop {
        let next = chars.next();
        match state {
            St::Space | St::Word => {
                let Some(c) = next else { break };
                if ws(c) || c == '#' {
                    if c == '#' {
                        // the comment runs to the end of the (single) line
                        for _ in chars.by_ref() {}
                    }
                    if state == St::Word && (!token.is_empty() || quoted) {
                        out.push(std::mem::take(&mut token));
                        quoted = false;
                    }
                    state = St::Space;
                } else if c == '\'' || c == '"' {
                    state = St::Quote(c);
                } else if c == '\\' {
                    state = St::Escape(EscFrom::Word);
                } else {
                    token.push(c);
                    state = St::Word;
                }
            }
            St::Quote(q) => {
                quoted = true;
                let Some(c) = next else {
                    return Err("No closing quotation".into());
                };
                if c == q {
                    state = St::Word;
                } else if c == '\\' && q == '"' {
                    state = St::Escape(EscFrom::Double);
                } else {
                    token.push(c);
                }
            }
            St::Escape(from) => {
                let Some(c) = next else {
                    return Err("No escaped character".into());
                };
                if from == EscFrom::Double && c != '\\' && c != '"' {
                    token.push('\\');
                }
                token.push(c);
                state = match from {
                    EscFrom::Word => St::Word,
                    EscFrom::Double => St::Quote('"'),
                };
            }
        }
    }
    if !token.is_empty() || quoted {
        out.push(token);
    }
    Ok(out)
}

/// Ansible's INI `_parse_value`: `ast.literal_eval`, falling back to the text itself. Tuples and
/// sets become lists, bytes become text, `...` and complex numbers become their Python text.
pub fn parse_value(text: &str) -> Value {
    let trimmed = text.trim_start_matches([' ', '\t']);
    let mut p = Parser { s: trimmed.as_bytes(), src: trimmed, i: 0, depth: 0 };
    match p.top() {
        Some(v) => v,
        None => Value::String(text.to_string()),
    }
}

/// A parsed literal before conversion to JSON (keeps what JSON cannot tell apart).
#[derive(Debug, Clone)]
enum Lit {
    Int(i128),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    Bool(bool),
    None,
    Ellipsis,
    List(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// How deep brackets may nest: CPython's tokenizer stops at 200 ("too many nested
/// parentheses"), so deeper values stay text in Ansible too.
const MAX_NESTING: usize = 200;

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    /// Brackets open around the current position.
    depth: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() {
            match self.s[self.i] {
                b' ' | b'\t' | b'\x0c' => self.i += 1,
                b'#' => self.i = self.s.len(),
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn top(&mut self) -> Option<Value> {
        let (lit, _) = self.tuple_or_expr(None)?;
        if self.peek().is_some() {
            return None;
        }
        Some(to_json(lit))
    }

    /// `expr` or `expr, expr, ...` (a tuple) up to `close` (or the end).
    fn tuple_or_expr(&mut self, close: Option<u8>) -> Option<(Lit, bool)> {
        let first = self.expr()?;
        if !self.eat(b',') {
            return Some((first, false));
        }
        let mut items = vec![first];
        loop {
            let at_end = match close {
                Some(c) => self.peek() == Some(c),
                None => self.peek().is_none(),
            };
            if at_end {
                break;
            }
            items.push(self.expr()?);
            if !self.eat(b',') {
                break;
            }
        }
        Some((Lit::List(items), true))
    }

    /// A literal with an optional sign, or `real +/- imaginary`.
    fn expr(&mut self) -> Option<Lit> {
        let left = self.signed()?;
        if matches!(left, Lit::Int(_) | Lit::Float(_)) {
            let save = self.i;
            let op = self.peek();
            if op == Some(b'+') || op == Some(b'-') {
                self.i += 1;
                if let Some(Lit::Complex(0.0, im)) = self.atom_number_only() {
                    let re = match left {
                        Lit::Int(v) => v as f64,
                        Lit::Float(v) => v,
                        _ => 0.0,
                    };
                    let im = if op == Some(b'-') { -im } else { im };
                    return Some(Lit::Complex(re, im));
                }
                self.i = save;
                return None;
            }
        }
        Some(left)
    }

    fn atom_number_only(&mut self) -> Option<Lit> {
        self.skip_ws();
        self.number()
    }

    fn signed(&mut self) -> Option<Lit> {
        match self.peek() {
            Some(b'-') | Some(b'+') => {
                let neg = self.s[self.i] == b'-';
                self.i += 1;
                let v = self.atom()?;
                match v {
                    Lit::Int(n) => Some(Lit::Int(if neg { -n } else { n })),
                    Lit::Float(f) => Some(Lit::Float(if neg { -f } else { f })),
                    Lit::Complex(r, im) => Some(if neg { Lit::Complex(-r, -im) } else { Lit::Complex(r, im) }),
                    _ => None,
                }
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Option<Lit> {
        let c = self.peek()?;
        if !matches!(c, b'(' | b'[' | b'{') {
            return self.atom_inner(c);
        }
        if self.depth >= MAX_NESTING {
            return None;
        }
        self.depth += 1;
        let v = self.atom_inner(c);
        self.depth -= 1;
        v
    }

    fn atom_inner(&mut self, c: u8) -> Option<Lit> {
        match c {
            b'(' => {
                self.i += 1;
                if self.eat(b')') {
                    return Some(Lit::List(Vec::new()));
                }
                let (v, _) = self.tuple_or_expr(Some(b')'))?;
                self.eat(b')').then_some(v)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                while !self.eat(b']') {
                    items.push(self.expr()?);
                    if !self.eat(b',') {
                        if self.eat(b']') {
                            break;
                        }
                        return None;
                    }
                }
                Some(Lit::List(items))
            }
            b'{' => self.brace(),
            b'.' if self.s[self.i..].starts_with(b"...") => {
                self.i += 3;
                Some(Lit::Ellipsis)
            }
            b'0'..=b'9' | b'.' => self.number(),
            _ => {
                if let Some(v) = self.strings()? {
                    return Some(v);
                }
                let start = self.i;
                while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_') {
                    self.i += 1;
                }
                match &self.src[start..self.i] {
                    "True" => Some(Lit::Bool(true)),
                    "False" => Some(Lit::Bool(false)),
                    "None" => Some(Lit::None),
                    // literal_eval's one call: `set()`, the empty set (a list in Ansible's vars).
                    "set" => {
                        self.skip_ws();
                        if !self.eat(b'(') {
                            return None;
                        }
                        self.skip_ws();
                        self.eat(b')').then(|| Lit::List(Vec::new()))
                    }
                    _ => None,
                }
            }
        }
    }

    fn brace(&mut self) -> Option<Lit> {
        self.i += 1;
        if self.eat(b'}') {
            return Some(Lit::Dict(Vec::new()));
        }
        let first = self.expr()?;
        if self.eat(b':') {
            let mut pairs = vec![(first, self.expr()?)];
            while self.eat(b',') {
                if self.peek() == Some(b'}') {
                    break;
                }
                let k = self.expr()?;
                if !self.eat(b':') {
                    return None;
                }
                pairs.push((k, self.expr()?));
            }
            if !self.eat(b'}') {
                return None;
            }
            // later duplicate keys win, at the first key's position (Python dict semantics)
            let mut out: Vec<(Lit, Lit)> = Vec::new();
            for (k, v) in pairs {
                let key = key_text(&k);
                match out.iter_mut().find(|(ek, _)| key_text(ek) == key) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k, v)),
                }
            }
            return Some(Lit::Dict(out));
        }
        // a set
        let mut items = vec![first];
        while self.eat(b',') {
            if self.peek() == Some(b'}') {
                break;
            }
            items.push(self.expr()?);
        }
        if !self.eat(b'}') {
            return None;
        }
        let mut out: Vec<Lit> = Vec::new();
        for it in items {
            let t = key_text(&it);
            if !out.iter().any(|e| key_text(e) == t) {
                out.push(it);
            }
        }
        Some(Lit::List(out))
    }

    /// One or more adjacent string literals (concatenated); `Some(None)` when not a string.
    fn strings(&mut self) -> Option<Option<Lit>> {
        let mut acc: Option<Lit> = None;
        loop {
            self.skip_ws();
            let save = self.i;
            let mut j = self.i;
            while j < self.s.len() && j - self.i < 2 && self.s[j].is_ascii_alphabetic() {
                j += 1;
            }
            let prefix = self.src[self.i..j].to_ascii_lowercase();
            let Some(&q) = self.s.get(j) else { break };
            if q != b'\'' && q != b'"' {
                break;
            }
            let (raw, bytes) = match prefix.as_str() {
                "" | "u" => (false, false),
                "r" => (true, false),
                "b" => (false, true),
                "br" | "rb" => (true, true),
                _ => return None, // f-strings and unknown prefixes are not literals
            };
            self.i = j;
            let body = self.string_body(q)?;
            let piece = decode_escapes(&body, raw, bytes)?;
            acc = match (acc, piece) {
                (None, p) => Some(p),
                (Some(Lit::Str(a)), Lit::Str(b)) => Some(Lit::Str(a + &b)),
                (Some(Lit::Bytes(mut a)), Lit::Bytes(b)) => {
                    a.extend(b);
                    Some(Lit::Bytes(a))
                }
                _ => return None,
            };
            if save == self.i {
                break;
            }
        }
        Some(acc)
    }

    /// The raw text between quotes (handles triple quotes; escapes kept for decoding).
    fn string_body(&mut self, q: u8) -> Option<String> {
        let triple = self.s[self.i..].starts_with(&[q, q, q]);
        let open = if triple { 3 } else { 1 };
        self.i += open;
        let start = self.i;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if c == b'\\' {
                self.i += 2;
                continue;
            }
            if !triple && (c == b'\n' || c == b'\r') {
                return None;
            }
            if c == q && (!triple || self.s[self.i..].starts_with(&[q, q, q])) {
                let body = self.src.get(start..self.i)?.to_string();
                self.i += open;
                return Some(body);
            }
            self.i += 1;
        }
        None
    }

    fn number(&mut self) -> Option<Lit> {
        let rest = &self.src[self.i..];
        let m = number_re().find(rest)?;
        let text = m.as_str();
        let after = rest[text.len()..].chars().next();
        if after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            return None;
        }
        self.i += text.len();
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        let lower = clean.to_ascii_lowercase();
        if let Some(im) = lower.strip_suffix('j') {
            return im.parse::<f64>().ok().map(|v| Lit::Complex(0.0, v));
        }
        for (pfx, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if let Some(d) = lower.strip_prefix(pfx) {
                return i128::from_str_radix(d, radix).ok().map(Lit::Int);
            }
        }
        if lower.contains(['.', 'e']) {
            return lower.parse::<f64>().ok().map(Lit::Float);
        }
        if lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0') {
            return None; // leading zeros are a syntax error in Python 3
        }
        lower.parse::<i128>().ok().map(Lit::Int)
    }
}

fn number_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        let d = r"[0-9](?:_?[0-9])*";
        let exp = format!(r"[eE][-+]?{d}");
        let float = format!(r"(?:{d}\.(?:{d})?(?:{exp})?|\.{d}(?:{exp})?|{d}{exp})");
        let pat =
            format!(r"^(?:(?:{float}|{d})[jJ]|{float}|0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|{d})");
        regex::Regex::new(&pat).unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

/// Decodes a Python string body. `None` when Python would reject it (bad `\x`, `\N{...}`, non-ASCII
/// bytes).
fn decode_escapes(body: &str, raw: bool, bytes: bool) -> Option<Lit> {
    if bytes && !body.is_ascii() {
        return None;
    }
    if raw {
        return Some(if bytes { Lit::Bytes(body.as_bytes().to_vec()) } else { Lit::Str(body.to_string()) });
    }
    let mut out: Vec<u8> = Vec::new();
    let push_char = |out: &mut Vec<u8>, c: char| {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    };
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            push_char(&mut out, c);
            continue;
        }
        let e = *chars.get(i)?;
        i += 1;
        match e {
            '\n' => {}
            '\\' => out.push(b'\\'),
            '\'' => out.push(b'\''),
            '"' => out.push(b'"'),
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    match chars.get(i).and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                if bytes {
                    out.push((v & 0xff) as u8);
                } else {
                    push_char(&mut out, char::from_u32(v)?);
                }
            }
            'x' | 'u' | 'U' if !(bytes && e != 'x') => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.get(i..i + n)?.iter().collect();
                if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                i += n;
                let v = u32::from_str_radix(&hex, 16).ok()?;
                if bytes {
                    out.push(v as u8);
                } else {
                    push_char(&mut out, char::from_u32(v)?);
                }
            }
            'N' if !bytes => return None,
            other => {
                out.push(b'\\');
                push_char(&mut out, other);
            }
        }
    }
    Some(if bytes { Lit::Bytes(out) } else { Lit::Str(String::from_utf8_lossy(&out).into_owned()) })
}

/// How Python's `str()` shows a float (`1.0`, `1e+20`, `1.5e-05`).
pub fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    orc_modules::pyjson::float_repr(f)
}

fn complex_str(re: f64, im: f64) -> String {
    let part = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e16 {
            format!("{}", v as i64)
        } else {
            python_float(v)
        }
    };
    if re == 0.0 && !re.is_sign_negative() {
        format!("{}j", part(im))
    } else {
        let sign = if im < 0.0 || (im == 0.0 && im.is_sign_negative()) { "-" } else { "+" };
        format!("({}{}{}j)", part(re), sign, part(im.abs()))
    }
}

/// The JSON key a Python dict key becomes when Ansible dumps it.
fn key_text(k: &Lit) -> String {
    match k {
        Lit::Str(s) => s.clone(),
        Lit::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Lit::Int(i) => i.to_string(),
        Lit::Bool(true) => "1".into(), // True == 1 as a dict key
        Lit::Bool(false) => "0".into(),
        Lit::Float(f) if f.fract() == 0.0 && f.abs() < 1e16 => (*f as i64).to_string(),
        Lit::Float(f) => python_float(*f),
        Lit::None => "null".into(),
        Lit::Ellipsis => "...".into(),
        Lit::Complex(r, i) => complex_str(*r, *i),
        other => format!("{:?}", to_json(other.clone())),
    }
}

fn to_json(l: Lit) -> Value {
    match l {
        Lit::Int(i) => {
            if let Ok(v) = i64::try_from(i) {
                Value::Number(Number::from(v))
            } else if let Ok(v) = u64::try_from(i) {
                Value::Number(Number::from(v))
            } else {
                Number::from_f64(i as f64).map(Value::Number).unwrap_or_else(|| Value::String(i.to_string()))
            }
        }
        Lit::Float(f) => Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(python_float(f))),
        Lit::Complex(r, i) => Value::String(complex_str(r, i)),
        Lit::Str(s) => Value::String(s),
        Lit::Bytes(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
        Lit::Bool(b) => Value::Bool(b),
        Lit::None => Value::Null,
        Lit::Ellipsis => Value::String("...".into()),
        Lit::List(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Lit::Dict(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                m.insert(key_text(&k), to_json(v));
            }
            Value::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shlex_like_python() {
        assert_eq!(
            shlex_split(r#"h1 a="x y"z b='q' c=a\ b d="a\nb" e=#x f=1"#).unwrap(),
            vec!["h1", "a=x yz", "b=q", "c=a b", "d=a\\nb", "e="]
        );
        assert_eq!(shlex_split("h ''").unwrap(), vec!["h", ""]);
        assert!(shlex_split("h a='x").is_err());
    }

    /// Each expectation was checked with ansible-inventory 2.19 (INI `[g:vars]` values).
    #[test]
    fn nesting_beyond_python_limit_stays_text() {
        let ok = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(parse_value(&ok).is_array());
        for deep in [
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            format!("{}1{}", "{1:".repeat(50_000), "}".repeat(50_000)),
            format!("{}{}", "(".repeat(100_000), ")".repeat(100_000)),
        ] {
            assert_eq!(parse_value(&deep), Value::String(deep.clone()));
        }
    }

    #[test]
    fn literal_eval_like_ansible() {
        let cases = [
            ("1", json!(1)),
            ("-5", json!(-5)),
            ("+5", json!(5)),
            ("--5", json!("--5")),
            ("yes", json!("yes")),
            ("true", json!("true")),
            ("True", json!(true)),
            ("None", json!(null)),
            ("none", json!("none")),
            ("set()", json!([])),
            ("[set(), {1, 2}]", json!([[], [1, 2]])),
            ("set", json!("set")),
            ("set(1)", json!("set(1)")),
            ("0644", json!("0644")),
            ("00", json!(0)),
            ("0x1f", json!(31)),
            ("0o17", json!(15)),
            ("0b11", json!(3)),
            ("1_000", json!(1000)),
            ("1__0", json!("1__0")),
            ("1.5", json!(1.5)),
            ("1e3", json!(1000.0)),
            ("5.", json!(5.0)),
            (".5", json!(0.5)),
            ("1j", json!("1j")),
            ("1e5j", json!("100000j")),
            ("1+2j", json!("(1+2j)")),
            ("...", json!("...")),
            ("'x' 'y'", json!("xy")),
            ("'it''s'", json!("its")),
            ("r'\\n'", json!("\\n")),
            ("'\\x41\\u00e9\\n'", json!("Aé\n")),
            ("f'x'", json!("f'x'")),
            ("b'xy'", json!("xy")),
            ("[1, [2, {'k': None}]]", json!([1, [2, {"k": null}]])),
            ("{1: 'a', True: 2}", json!({"1": 2})),
            ("(1,)", json!([1])),
            ("()", json!([])),
            ("(1)", json!(1)),
            ("1,2", json!([1, 2])),
            ("{1,2,1}", json!([1, 2])),
            ("[1,2", json!("[1,2")),
            ("1 # comment", json!(1)),
            ("a=b", json!("a=b")),
            ("", json!("")),
            ("{}", json!({})),
            ("[]", json!([])),
        ];
        for (text, want) in cases {
            assert_eq!(parse_value(text), want, "value {text:?}");
        }
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(python_float(1000.0), "1000.0");
        assert_eq!(python_float(1e20), "1e+20");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(python_float(0.0015), "0.0015");
    }
}
