//! A YAML writer that prints what Python's PyYAML `yaml.dump` prints, for Ansible's `to_yaml`
//! (flow style for collections of scalars, indent 2) and `to_nice_yaml` (block style, indent 4):
//! sorted keys, PyYAML's choice between plain, single- and double-quoted scalars, its line folding
//! at 80 columns, and its indentless sequences inside mappings.

use std::sync::OnceLock;

use minijinja::value::{Value, ValueKind};
use regex::Regex;

use super::pyfmt;

/// PyYAML's preferred line width.
const BEST_WIDTH: usize = 80;

/// `yaml.dump(v, indent=indent, default_flow_style=flow, width=width, allow_unicode=True)`.
pub(crate) fn dump(
    v: &Value,
    indent: usize,
    flow: Option<bool>,
    width: Option<usize>,
) -> Result<String, minijinja::Error> {
    let indent = indent.clamp(2, 9);
    let mut w = Writer {
        out: String::new(),
        column: 0,
        indent,
        flow,
        // PyYAML ignores widths not larger than twice the indent.
        width: width.filter(|w| *w > indent * 2).unwrap_or(BEST_WIDTH),
    };
    let node = Node::from_value(v)?;
    match &node {
        Node::Scalar(s) => {
            // PyYAML would add a "..." document end after a plain scalar; Ansible's output has none.
            let style = s.style(false, false);
            w.write_scalar(s, style, 0, false);
            w.out.push('\n');
        }
        _ => {
            w.write_node(&node, 0, Context::Root);
            if !w.out.ends_with('\n') {
                w.out.push('\n');
            }
        }
    }
    Ok(w.out)
}

/// A value reduced to what YAML distinguishes.
enum Node {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Scalar, Node)>),
}

/// A scalar's text and whether it is a string (strings may need quotes to stay strings).
struct Scalar {
    text: String,
    is_str: bool,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Root,
    MapValue,
    SeqItem,
}

impl Node {
    fn from_value(v: &Value) -> Result<Node, minijinja::Error> {
        Ok(match v.kind() {
            ValueKind::Undefined => {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    "cannot serialize an undefined value to YAML",
                ))
            }
            ValueKind::None => Node::Scalar(Scalar::other("null")),
            ValueKind::Bool => Node::Scalar(Scalar::other(if v.is_true() { "true" } else { "false" })),
            ValueKind::Number => Node::Scalar(Scalar::other(&yaml_number(v))),
            ValueKind::String => Node::Scalar(Scalar::string(v.as_str().unwrap_or_default())),
            ValueKind::Map => {
                let mut keys: Vec<Value> = v.try_iter()?.collect();
                keys.sort();
                let mut entries = Vec::with_capacity(keys.len());
                for key in keys {
                    let value = Node::from_value(&v.get_item(&key)?)?;
                    let key = match Node::from_value(&key)? {
                        Node::Scalar(s) => s,
                        _ => Scalar::string(&pyfmt::to_str(&key)),
                    };
                    entries.push((key, value));
                }
                Node::Map(entries)
            }
            ValueKind::Seq | ValueKind::Iterable => {
                Node::Seq(v.try_iter()?.map(|item| Node::from_value(&item)).collect::<Result<_, _>>()?)
            }
            _ => Node::Scalar(Scalar::string(&pyfmt::to_str(v))),
        })
    }

    fn is_empty_collection(&self) -> bool {
        match self {
            Node::Seq(items) => items.is_empty(),
            Node::Map(entries) => entries.is_empty(),
            Node::Scalar(_) => false,
        }
    }
}

/// A number as PyYAML writes it (`1`, `2.5`, `1.0e+20`, `.inf`, `.nan`).
fn yaml_number(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf".into() } else { "-.inf".into() };
    }
    let text = pyfmt::float_repr(f).to_lowercase();
    if !text.contains('.') && text.contains('e') {
        text.replacen('e', ".0e", 1)
    } else {
        text
    }
}

/// What PyYAML's `analyze_scalar` finds out about a string.
struct Analysis {
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_space_or_break(c: Option<&char>) -> bool {
    match c {
        None => true,
        Some(c) => matches!(*c, '\0' | ' ' | '\t' | '\r') || is_break(*c),
    }
}

fn analyze(text: &str) -> Analysis {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Analysis {
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let (mut flow_ind, mut block_ind) = (false, false);
    if text.starts_with("---") || text.starts_with("...") {
        flow_ind = true;
        block_ind = true;
    }
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut followed_by_ws = is_space_or_break(chars.get(1));
    let last = chars.len() - 1;
    for (index, &ch) in chars.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_ind = true;
                block_ind = true;
            }
            if ch == '?' || ch == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if ch == '-' && followed_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_ind = true;
            }
            if ch == ':' {
                flow_ind = true;
                if followed_by_ws {
                    block_ind = true;
                }
            }
            if ch == '#' && preceded_by_ws {
                flow_ind = true;
                block_ind = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            let printable_unicode = (ch == '\u{85}'
                || ('\u{a0}'..='\u{d7ff}').contains(&ch)
                || ('\u{e000}'..='\u{fffd}').contains(&ch)
                || ('\u{10000}'..'\u{10ffff}').contains(&ch))
                && ch != '\u{feff}';
            if !printable_unicode {
                special = true;
            }
        }
        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == last {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(ch) {
            if index == 0 {
                leading_break = true;
            }
            if index == last {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_space_or_break(Some(&ch));
        followed_by_ws = is_space_or_break(chars.get(index + 2));
    }
    let mut a =
        Analysis { multiline: line_breaks, allow_flow_plain: true, allow_block_plain: true, allow_single_quoted: true };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if break_space {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if space_break || special {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if line_breaks {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if flow_ind {
        a.allow_flow_plain = false;
    }
    if block_ind {
        a.allow_block_plain = false;
    }
    a
}

/// Would this text, written plain, be read back as something other than a string (YAML 1.1)?
fn resolves_to_non_string(text: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(concat!(
            r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
            r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+|<<|~|null|Null|NULL|=",
            r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
            r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
            r")$"
        ))
        .ok()
    });
    text.is_empty() || re.as_ref().is_some_and(|re| re.is_match(text))
}

impl Scalar {
    fn string(text: &str) -> Scalar {
        Scalar { text: text.to_string(), is_str: true }
    }

    fn other(text: &str) -> Scalar {
        Scalar { text: text.to_string(), is_str: false }
    }

    /// PyYAML's `choose_scalar_style` for a scalar in flow or block context.
    fn style(&self, flow: bool, simple_key: bool) -> Style {
        if !self.is_str {
            return Style::Plain;
        }
        let a = analyze(&self.text);
        let empty = self.text.is_empty();
        if !resolves_to_non_string(&self.text)
            && !(simple_key && (empty || a.multiline))
            && ((flow && a.allow_flow_plain) || (!flow && a.allow_block_plain))
        {
            return Style::Plain;
        }
        if a.allow_single_quoted && !(simple_key && a.multiline) {
            return Style::Single;
        }
        Style::Double
    }
}

struct Writer {
    out: String,
    column: usize,
    indent: usize,
    flow: Option<bool>,
    width: usize,
}

impl Writer {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
        match s.rfind('\n') {
            Some(pos) => self.column = s[pos + 1..].chars().count(),
            None => self.column += s.chars().count(),
        }
    }

    /// Starts a new line indented to `indent`.
    fn newline(&mut self, indent: usize) {
        self.out.push('\n');
        self.out.push_str(&" ".repeat(indent));
        self.column = indent;
    }

    /// Should this collection be written in flow style (`[a, b]`, `{k: v}`)?
    fn use_flow(&self, node: &Node) -> bool {
        if node.is_empty_collection() {
            return true;
        }
        match self.flow {
            Some(flow) => flow,
            None => match node {
                Node::Seq(items) => items.iter().all(|i| matches!(i, Node::Scalar(_))),
                Node::Map(entries) => entries.iter().all(|(_, v)| matches!(v, Node::Scalar(_))),
                Node::Scalar(_) => false,
            },
        }
    }

    /// Writes a block-context node that starts at `indent` (the cursor is already placed).
    fn write_node(&mut self, node: &Node, indent: usize, ctx: Context) {
        match node {
            Node::Scalar(s) => {
                let style = s.style(false, false);
                self.write_scalar(s, style, indent + self.indent, true);
            }
            _ if self.use_flow(node) => self.write_flow(node, indent + self.indent),
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 || ctx == Context::MapValue {
                        self.newline(indent);
                    }
                    self.push("-");
                    if item_is_block(self, item) {
                        self.push(&" ".repeat(self.indent - 1));
                        self.write_node(item, indent + self.indent, Context::SeqItem);
                    } else {
                        self.push(" ");
                        self.write_node(item, indent, Context::SeqItem);
                    }
                }
            }
            Node::Map(entries) => {
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 || ctx == Context::MapValue {
                        self.newline(indent);
                    }
                    let style = key.style(false, true);
                    self.write_scalar(key, style, indent + self.indent, false);
                    self.push(":");
                    match value {
                        Node::Seq(_) if !self.use_flow(value) => self.write_node(value, indent, Context::MapValue),
                        Node::Map(_) if !self.use_flow(value) => {
                            self.write_node(value, indent + self.indent, Context::MapValue)
                        }
                        _ => {
                            self.push(" ");
                            self.write_node(value, indent, Context::MapValue);
                        }
                    }
                }
            }
        }
    }

    /// Writes a collection in flow style; continuation lines are indented to `indent`.
    fn write_flow(&mut self, node: &Node, indent: usize) {
        match node {
            Node::Scalar(s) => {
                let style = s.style(true, false);
                self.write_scalar(s, style, indent, true);
            }
            Node::Seq(items) => {
                self.push("[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(",");
                        if self.column > self.width {
                            self.newline(indent);
                        } else {
                            self.push(" ");
                        }
                    }
                    self.write_flow(item, indent + self.indent);
                }
                self.push("]");
            }
            Node::Map(entries) => {
                self.push("{");
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.push(",");
                        if self.column > self.width {
                            self.newline(indent);
                        } else {
                            self.push(" ");
                        }
                    }
                    let style = key.style(true, true);
                    self.write_scalar(key, style, indent, false);
                    self.push(": ");
                    self.write_flow(value, indent + self.indent);
                }
                self.push("}");
            }
        }
    }

    /// Writes a scalar in `style`; folded lines continue at `indent`.
    fn write_scalar(&mut self, s: &Scalar, style: Style, indent: usize, split: bool) {
        match style {
            Style::Plain => self.write_folded(&s.text, indent, split, false),
            Style::Single => {
                self.push("'");
                self.write_folded(&s.text, indent, split, true);
                self.push("'");
            }
            Style::Double => self.write_double(&s.text),
        }
    }

    /// Plain or single-quoted text: a lone space past the line width becomes a line break, and
    /// each run of line breaks is written with one extra break (YAML folding).
    fn write_folded(&mut self, text: &str, indent: usize, split: bool, quoted: bool) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let ch = chars[i];
            if ch == ' ' {
                let start = i;
                while i < chars.len() && chars[i] == ' ' {
                    i += 1;
                }
                if i - start == 1 && self.column > self.width && split && start != 0 && i != chars.len() {
                    self.newline(indent);
                } else {
                    let spaces: String = chars[start..i].iter().collect();
                    self.push(&spaces);
                }
            } else if ch == '\n' {
                let start = i;
                while i < chars.len() && chars[i] == '\n' {
                    i += 1;
                }
                let breaks = i - start + 1;
                for _ in 0..breaks {
                    self.out.push('\n');
                }
                self.column = 0;
                self.push(&" ".repeat(indent));
            } else {
                let start = i;
                while i < chars.len() && chars[i] != ' ' && chars[i] != '\n' {
                    i += 1;
                }
                let mut word: String = chars[start..i].iter().collect();
                if quoted {
                    word = word.replace('\'', "''");
                }
                self.push(&word);
            }
        }
    }

    /// Double-quoted text with YAML escapes.
    fn write_double(&mut self, text: &str) {
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\0' => out.push_str("\\0"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{b}' => out.push_str("\\v"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                '\u{1b}' => out.push_str("\\e"),
                '\u{85}' => out.push_str("\\N"),
                '\u{a0}' => out.push_str("\\_"),
                '\u{2028}' => out.push_str("\\L"),
                '\u{2029}' => out.push_str("\\P"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02X}", c as u32)),
                '\u{feff}' => out.push_str("\\uFEFF"),
                c => out.push(c),
            }
        }
        out.push('"');
        self.push(&out);
    }
}

/// Is `node` written as a block collection (not a scalar and not in flow style)?
fn item_is_block(w: &Writer, node: &Node) -> bool {
    !matches!(node, Node::Scalar(_)) && !w.use_flow(node)
}

#[cfg(test)]
mod unit {
    use super::*;

    fn nice(v: serde_json::Value) -> String {
        dump(&Value::from(minijinja::value::Serde(v)), 4, Some(false), None).unwrap()
    }

    fn terse(v: serde_json::Value) -> String {
        dump(&Value::from(minijinja::value::Serde(v)), 2, None, None).unwrap()
    }

    // Expected values recorded from ansible-core 2.19 (`to_nice_yaml` / `to_yaml`).
    #[test]
    fn nice_yaml_matches_ansible() {
        let v = serde_json::json!({"z": 1, "a": [1, {"q": "x"}], "m": {}, "e": [], "s": "multi\nline"});
        assert_eq!(nice(v), "a:\n- 1\n-   q: x\ne: []\nm: {}\ns: 'multi\n\n    line'\nz: 1\n");
        let v = serde_json::json!({"a": 1, "b": [1, 2], "c": {"x": "y"}});
        assert_eq!(nice(v), "a: 1\nb:\n- 1\n- 2\nc:\n    x: y\n");
    }

    #[test]
    fn terse_yaml_matches_ansible() {
        let v = serde_json::json!({"a": 1, "b": [1, 2], "c": {"x": "y"}});
        assert_eq!(terse(v), "a: 1\nb: [1, 2]\nc: {x: y}\n");
    }

    #[test]
    fn scalars_are_quoted_like_pyyaml() {
        assert_eq!(terse(serde_json::json!("abc")), "abc\n");
        assert_eq!(terse(serde_json::json!("yes")), "'yes'\n");
        assert_eq!(terse(serde_json::json!("123")), "'123'\n");
        assert_eq!(terse(serde_json::json!("")), "''\n");
        assert_eq!(terse(serde_json::json!("a: b")), "'a: b'\n");
        assert_eq!(terse(serde_json::json!("tab\there")), "\"tab\\there\"\n");
        assert_eq!(terse(serde_json::json!(null)), "null\n");
        assert_eq!(terse(serde_json::json!(["- x", "#c", "ok"])), "['- x', '#c', ok]\n");
    }
}
