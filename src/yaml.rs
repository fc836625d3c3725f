//! YAML as Ansible reads it (YAML 1.1 scalars, as PyYAML resolves them: `yes`/`no`/`on`/`off` are
//! booleans, `0644` is octal), with the position of every node kept for error messages.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::{Loc, OrcError, Result, SourceFile};

/// A YAML value with the position it was written at.
#[derive(Debug, Clone)]
pub struct Node {
    /// The value.
    pub kind: Kind,
    /// Where it starts.
    pub loc: Loc,
}

/// The shape of a node.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A scalar, already resolved to JSON (null, bool, number or string).
    Scalar(Value),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order; keys are strings (non-string keys are rendered as text).
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The node as a plain JSON value (positions dropped).
    pub fn to_value(&self) -> Value {
        match &self.kind {
            Kind::Scalar(v) => v.clone(),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Kind::Map(pairs) => {
                let mut m = Map::new();
                for (k, v) in pairs {
                    m.insert(k.clone(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }

    /// The mapping's pairs, or `None` when this is not a mapping.
    pub fn as_map(&self) -> Option<&[(String, Node)]> {
        match &self.kind {
            Kind::Map(p) => Some(p),
            _ => None,
        }
    }

    /// The sequence's items, or `None`.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar string, or `None` for other kinds.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether this is YAML null.
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Scalar(Value::Null))
    }

    /// Looks up a key in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A word for the node's type in error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar(Value::Null) => "null",
            Kind::Scalar(Value::Bool(_)) => "a boolean",
            Kind::Scalar(Value::Number(_)) => "a number",
            Kind::Scalar(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// How deep lists and mappings may nest in one YAML document. Real playbooks stay far below it;
/// the bound keeps deeply nested input from overflowing the stack.
pub const MAX_DEPTH: usize = 256;

/// Reads and parses a YAML file.
pub fn load_file(path: &Path) -> Result<Node> {
    let text = OrcError::read(path)?;
    parse(SourceFile::new(path, text))
}

/// Parses the first document of a source file (an empty file is null). A vault-encrypted file
/// is decrypted with the run's passwords (src/secrets/run_keyring.rs) and its string values are
/// registered as secrets; a `!vault` value is decrypted the same way (or stays locked until used
/// when no password is given for it).
pub fn parse(file: Arc<SourceFile>) -> Result<Node> {
    if crate::vault::is_encrypted(file.text.trim_start().as_bytes()) {
        let plain = crate::secrets::open_file_text(&file.path, &file.text)?;
        let node = parse(SourceFile::new(&file.path, plain))?;
        crate::secrets::register_value(&node.to_value());
        return Ok(node);
    }
    // PyYAML (Ansible's loader) accepts a flow mapping or sequence whose closing bracket is
    // less indented than its block context (`key: {\n  a: 1\n}` under a mapping); yaml-rust2
    // refuses it. Such a bracket line is indented like the line before it and the text parsed
    // again: the same document, the same positions for everything else.
    let mut text = std::borrow::Cow::Borrowed(file.text.as_str());
    for _ in 0..MAX_BRACKET_FIXES {
        match parse_text(&file, &text) {
            Err(Parse::Bracket(line)) => text = std::borrow::Cow::Owned(indent_line(&text, line)),
            Err(Parse::Error(e)) => return Err(e),
            Ok(node) => return Ok(node),
        }
    }
    parse_text(&file, &text).map_err(|e| match e {
        Parse::Error(e) => e,
        Parse::Bracket(line) => {
            OrcError::at(&Loc { file: file.clone(), line, col: 1 }, "YAML syntax error: invalid indentation")
        }
    })
}

/// How many closing-bracket lines [`parse`] re-indents in one document before giving up.
const MAX_BRACKET_FIXES: usize = 256;

/// Why one parse attempt stopped.
enum Parse {
    /// The 1-based line holds only a closing flow bracket indented less than its context.
    Bracket(usize),
    /// A real error.
    Error(OrcError),
}

/// Line `line` (1-based) of `text` indented like the nearest non-blank line before it.
fn indent_line(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let width = lines[..line.saturating_sub(1).min(lines.len())]
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .unwrap_or(0);
    lines
        .iter()
        .enumerate()
        .map(
            |(i, l)| {
                if i + 1 == line {
                    format!("{}{}", " ".repeat(width.max(1)), l.trim_start())
                } else {
                    l.to_string()
                }
            },
        )
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_text(file: &Arc<SourceFile>, text: &str) -> std::result::Result<Node, Parse> {
    let mut builder = Builder { file: file.clone(), stack: Vec::new(), anchors: HashMap::new(), docs: Vec::new() };
    let mut parser = Parser::new_from_str(text);
    // Events are pulled one by one instead of through `Parser::load`, whose recursion per nesting
    // level overflows the stack on deeply nested block YAML; nesting is bounded here instead.
    let mut depth = 0usize;
    loop {
        let (ev, mark) = match parser.next_token() {
            Ok(pair) => pair,
            Err(e) => {
                let m = e.marker();
                let bracket_line = text.split('\n').nth(m.line().saturating_sub(1)).map(str::trim_start);
                if e.info().starts_with("invalid indentation")
                    && bracket_line.is_some_and(|l| l.starts_with('}') || l.starts_with(']'))
                {
                    return Err(Parse::Bracket(m.line()));
                }
                let loc = builder.loc(*m);
                return Err(Parse::Error(OrcError::at(&loc, format!("YAML syntax error: {}", e.info()))
                    .help("check the indentation and quoting around this line; a value containing ': ' or starting with '{{' must be quoted")));
            }
        };
        match ev {
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(Parse::Error(
                        OrcError::at(&builder.loc(mark), format!("YAML nests more than {MAX_DEPTH} levels deep"))
                            .help("flatten the structure; is a generated file malformed?"),
                    ));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        builder.on_event(ev, mark);
    }
    if let Some(pos) = builder.stack.iter().position(|f| matches!(f, Frame::Error(_))) {
        if let Frame::Error(e) = builder.stack.swap_remove(pos) {
            return Err(Parse::Error(e));
        }
    }
    let file = file.clone();
    Ok(builder.docs.into_iter().next().unwrap_or(Node { kind: Kind::Scalar(Value::Null), loc: Loc::file_start(file) }))
}

/// Parses YAML text that did not come from a file (e.g. `-e` values), named `origin` in errors.
pub fn parse_str(origin: &str, text: &str) -> Result<Node> {
    parse(SourceFile::new(origin, text))
}

enum Frame {
    Seq { anchor: usize, loc: Loc, items: Vec<Node> },
    Map { anchor: usize, loc: Loc, pairs: Vec<(String, Node)>, key: Option<(String, Loc)> },
    Error(OrcError),
}

struct Builder {
    file: Arc<SourceFile>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    docs: Vec<Node>,
}

impl Builder {
    fn loc(&self, m: Marker) -> Loc {
        Loc { file: self.file.clone(), line: m.line().max(1), col: m.col() + 1 }
    }

    fn push_node(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { pairs, key, loc: map_loc, .. }) => match key.take() {
                None => {
                    if pairs.is_empty() {
                        // A block mapping's start event points past its first key; the first key's
                        // own position is where a reader looks.
                        *map_loc = node.loc.clone();
                    }
                    let k = match &node.kind {
                        Kind::Scalar(Value::String(s)) => s.clone(),
                        Kind::Scalar(Value::Null) => String::new(),
                        Kind::Scalar(v) => python_str(v),
                        _ => {
                            let err =
                                OrcError::at(&node.loc, "a mapping key must be a plain value, not a list or mapping");
                            self.stack.push(Frame::Error(err));
                            return;
                        }
                    };
                    *key = Some((k, node.loc));
                }
                Some((k, _)) if k == "<<" => merge_into(pairs, node),
                Some((k, _)) => {
                    if let Some(slot) = pairs.iter_mut().find(|(pk, _)| *pk == k) {
                        slot.1 = node;
                    } else {
                        pairs.push((k, node));
                    }
                }
            },
            Some(Frame::Error(_)) => {}
        }
    }
}

fn merge_into(pairs: &mut Vec<(String, Node)>, node: Node) {
    let sources: Vec<Node> = match node.kind {
        Kind::Seq(items) => items,
        _ => vec![node],
    };
    for src in sources {
        if let Kind::Map(src_pairs) = src.kind {
            for (k, v) in src_pairs {
                if !pairs.iter().any(|(pk, _)| *pk == k) {
                    pairs.push((k, v));
                }
            }
        }
    }
}

/// How Python's str() prints a scalar, for non-string mapping keys (Ansible keeps them as text in
/// inventories and vars).
fn python_str(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if matches!(self.stack.last(), Some(Frame::Error(_))) {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let loc = self.loc(mark);
                if tag.as_ref().is_some_and(|t| t.handle == "!" && t.suffix == "vault") {
                    // A block scalar's position is its first line: the vault header.
                    let header_line = loc.line;
                    match crate::secrets::decrypt_inline(&text, &loc, header_line) {
                        Ok(plain) => self.push_node(Node { kind: Kind::Scalar(Value::String(plain)), loc }),
                        Err(e) => self.stack.push(Frame::Error(e)),
                    }
                    return;
                }
                let unsafe_text = tag.as_ref().is_some_and(|t| t.handle == "!" && t.suffix == "unsafe");
                let value = if unsafe_text && crate::template::has_template_syntax(&text) {
                    // `!unsafe`: never templated. Kept as a raw block, whose rendering is the text.
                    Value::String(unsafe_raw(&text))
                } else {
                    resolve_scalar(text, style, tag.as_ref())
                };
                let node = Node { kind: Kind::Scalar(value), loc };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_node(node);
            }
            Event::SequenceStart(anchor, _) => {
                let loc = self.loc(mark);
                self.stack.push(Frame::Seq { anchor, loc, items: Vec::new() });
            }
            Event::MappingStart(anchor, _) => {
                let loc = self.loc(mark);
                self.stack.push(Frame::Map { anchor, loc, pairs: Vec::new(), key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match self.stack.pop() {
                    Some(Frame::Seq { anchor, loc, items }) => (anchor, Node { kind: Kind::Seq(items), loc }),
                    Some(Frame::Map { anchor, loc, pairs, .. }) => (anchor, Node { kind: Kind::Map(pairs), loc }),
                    Some(f @ Frame::Error(_)) => {
                        self.stack.push(f);
                        return;
                    }
                    None => return,
                };
                if node.0 > 0 {
                    self.anchors.insert(node.0, node.1.clone());
                }
                self.push_node(node.1);
            }
            Event::Alias(id) => {
                let loc = self.loc(mark);
                match self.anchors.get(&id) {
                    Some(n) => {
                        let n = n.clone();
                        self.push_node(n);
                    }
                    None => self.stack.push(Frame::Error(OrcError::at(&loc, "alias refers to an unknown anchor"))),
                }
            }
            _ => {}
        }
    }
}

/// An `!unsafe` string as a Jinja raw block: rendering it (once, wherever the engine renders
/// values) gives back the text with its `{{ }}` untouched, as Ansible's unsafe strings.
fn unsafe_raw(text: &str) -> String {
    let inner = text.replace("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}");
    format!("{{% raw %}}{inner}{{% endraw %}}")
}

/// Resolves a scalar the way PyYAML's YAML 1.1 resolver does.
pub fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        // `!!str` and Ansible's `!unsafe` keep the text as a string (`!vault` is decrypted earlier).
        if tag.suffix == "str" || tag.suffix == "unsafe" || tag.handle == "!" {
            return Value::String(text);
        }
    }
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    resolve_plain(&text).unwrap_or(Value::String(text))
}

/// YAML 1.1 plain scalar resolution: null, bool, int (decimal, octal, hex, binary, sexagesimal),
/// float; `None` means it stays a string.
pub fn resolve_plain(t: &str) -> Option<Value> {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Some(Value::Bool(true)),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Some(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => {
            // JSON has no infinities or NaN; keep the text.
            return None;
        }
        _ => {}
    }
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() {
        return None;
    }
    let sign = if neg { -1i64 } else { 1 };
    let int = |digits: &str, radix: u32| -> Option<Value> {
        let d: String = digits.chars().filter(|c| *c != '_').collect();
        if d.is_empty() {
            return None;
        }
        i64::from_str_radix(&d, radix).ok().map(|v| Value::Number(Number::from(sign * v)))
    };
    if let Some(b) = body.strip_prefix("0b") {
        return if b.chars().all(|c| c == '0' || c == '1' || c == '_') { int(b, 2) } else { None };
    }
    if let Some(h) = body.strip_prefix("0x") {
        return if h.chars().all(|c| c.is_ascii_hexdigit() || c == '_') { int(h, 16) } else { None };
    }
    if body.len() > 1 && body.starts_with('0') && body.chars().all(|c| ('0'..='7').contains(&c) || c == '_') {
        return int(&body[1..], 8);
    }
    if body == "0" {
        return Some(Value::Number(Number::from(0)));
    }
    let first = body.as_bytes()[0];
    if (b'1'..=b'9').contains(&first) && body.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return int(body, 10);
    }
    if (b'1'..=b'9').contains(&first) && body.contains(':') {
        // sexagesimal int: 190:20:30
        let parts: Vec<&str> = body.split(':').collect();
        if parts[1..].iter().all(|p| {
            !p.is_empty()
                && p.len() <= 2
                && p.chars().all(|c| c.is_ascii_digit())
                && p.parse::<u32>().map(|v| v < 60).unwrap_or(false)
        }) && parts[0].chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            let mut v: i64 = 0;
            for p in parts {
                v = v.checked_mul(60)?.checked_add(p.replace('_', "").parse::<i64>().ok()?)?;
            }
            return Some(Value::Number(Number::from(sign * v)));
        }
        return None;
    }
    // float: [0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)? or \.[0-9_]+([eE][-+][0-9]+)?
    let re = float_re();
    if re.is_match(body) {
        let cleaned: String = body.chars().filter(|c| *c != '_').collect();
        let v: f64 = cleaned.parse().ok()?;
        return Number::from_f64(if neg { -v } else { v }).map(Value::Number);
    }
    None
}

fn float_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?)$")
            .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

/// How Python's `str()` shows a scalar (`True`, `None`, `1.5`): Ansible turns scalars into text
/// this way wherever a string is expected.
pub fn display(v: &Value) -> String {
    python_str(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(s: &str) -> Value {
        parse_str("t.yaml", s).map(|n| n.to_value()).unwrap_or(Value::Null)
    }

    #[test]
    fn huge_sexagesimal_stays_a_string() {
        let t = "1:00:00:00:00:00:00:00:00:00:00:00:00:00:00";
        assert_eq!(resolve_plain(t), None);
        assert_eq!(resolve_plain("1:30"), Some(json!(90)));
    }

    #[test]
    fn a_closing_bracket_less_indented_than_its_block_is_accepted_as_pyyaml_does() {
        let text = "outer:\n  mymap: {\n    a: 1,\n    b: [\n      2\n]\n}\nother: yes\n";
        assert_eq!(v(text), json!({"outer": {"mymap": {"a": 1, "b": [2]}}, "other": true}));
        // Positions of what follows are the file's own.
        let node = parse_str("t.yaml", text).unwrap();
        assert_eq!(node.get("other").map(|n| n.loc.line), Some(8));
        // Other indentation errors are still errors.
        assert!(parse_str("t.yaml", "a:\n  b: 1\n c: 2\n").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&" ".repeat(i * 2));
            text.push_str("k:\n");
        }
        let err = parse_str("deep.yml", &text).unwrap_err().report();
        assert!(err.contains("nests more than 256 levels"), "{err}");
        let ok = "a:\n  b: [[[1]]]\n";
        assert_eq!(v(ok), json!({"a": {"b": [[[1]]]}}));
    }

    #[test]
    fn yaml11_scalars() {
        assert_eq!(
            v("a: yes\nb: off\nc: 0644\nd: '0644'\ne: 1.5\nf: 1e3\ng: 0x1f\nh: ~\ni: 12_000"),
            json!({"a": true, "b": false, "c": 420, "d": "0644", "e": 1.5, "f": "1e3", "g": 31, "h": null, "i": 12000})
        );
    }

    #[test]
    fn positions_are_one_based() {
        let n = parse_str("t.yaml", "- name: x\n  debug:\n    msg: hi\n").unwrap_or_else(|e| panic!("{e}"));
        let item = &n.as_seq().unwrap_or_default()[0];
        assert_eq!((item.loc.line, item.loc.col), (1, 3));
        let dbg = item.get("debug").map(|d| (d.loc.line, d.loc.col));
        assert_eq!(dbg, Some((3, 5)));
    }

    #[test]
    fn anchors_and_merge_keys() {
        assert_eq!(
            v("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n"),
            json!({"base": {"x": 1, "y": 2}, "other": {"y": 3, "x": 1}})
        );
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse_str("bad.yaml", "a: b\n  c: d: e\n").err().map(|e| e.report()).unwrap_or_default();
        assert!(e.contains("bad.yaml:2:"), "{e}");
    }
}
