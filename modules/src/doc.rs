//! Module documentation for `orc doc MODULE`, as ansible-doc shows it: the arguments (derived
//! from the argument structs with `#[derive(ArgsDoc)]`, so they are what serde accepts), the
//! return values and an example (written beside each module as its [`ModuleText`]).

use serde_json::{Map, Value};

pub use orc_modules_derive::ArgsDoc;

/// One argument of a module.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgDoc {
    /// The name serde accepts.
    pub name: &'static str,
    /// Other names serde accepts for it.
    pub aliases: &'static [&'static str],
    /// What it does (the field's doc comment).
    pub description: &'static str,
    /// How a value is read: `str`, `bool`, `int`, `list of str`, `dict`, `mode`...
    pub kind: String,
    /// The values it accepts, when they are a fixed set.
    pub choices: Vec<&'static str>,
    /// For a dict argument with fields of its own: those fields.
    pub suboptions: Vec<ArgDoc>,
    /// It must be given.
    pub required: bool,
    /// What it is when not given (`None`: nothing, or decided at run time).
    pub default: Option<Value>,
}

/// The arguments of an argument struct (`#[derive(ArgsDoc)]`).
pub trait ArgsDoc {
    /// Every argument, in the struct's order.
    fn args() -> Vec<ArgDoc>;
    /// Whether arguments other than these are passed through (a `flatten`ed map).
    fn takes_other_args() -> bool {
        false
    }
}

/// How a Rust type reads as a module argument, for the documentation. Implemented for the types
/// argument structs use; a field of another type does not compile until it says how it reads.
pub trait ArgType {
    /// The kind of value, as ansible-doc names it.
    fn kind() -> String;
    /// The accepted values, when fixed.
    fn choices() -> Vec<&'static str> {
        Vec::new()
    }
    /// Fields of a dict argument.
    fn suboptions() -> Vec<ArgDoc> {
        Vec::new()
    }
    /// This value as the documentation shows it (a default); `None` shows no default.
    fn shown(&self) -> Option<Value> {
        None
    }
}

macro_rules! scalar {
    ($kind:literal => $($t:ty),*) => {$(
        impl ArgType for $t {
            fn kind() -> String {
                $kind.into()
            }
            fn shown(&self) -> Option<Value> {
                serde_json::to_value(self).ok()
            }
        }
    )*};
}
scalar!("int" => u8, u16, u32, u64, usize, i32, i64);
scalar!("float" => f64);
scalar!("bool" => bool);

impl ArgType for String {
    fn kind() -> String {
        "str".into()
    }
    fn shown(&self) -> Option<Value> {
        (!self.is_empty()).then(|| Value::String(self.clone()))
    }
}

impl<T: ArgType> ArgType for Option<T> {
    fn kind() -> String {
        T::kind()
    }
    fn choices() -> Vec<&'static str> {
        T::choices()
    }
    fn suboptions() -> Vec<ArgDoc> {
        T::suboptions()
    }
    fn shown(&self) -> Option<Value> {
        self.as_ref().and_then(ArgType::shown)
    }
}

impl<T: ArgType> ArgType for Vec<T> {
    fn kind() -> String {
        format!("list of {}", T::kind())
    }
    fn choices() -> Vec<&'static str> {
        T::choices()
    }
    fn suboptions() -> Vec<ArgDoc> {
        T::suboptions()
    }
    fn shown(&self) -> Option<Value> {
        (!self.is_empty()).then(|| Value::Array(self.iter().filter_map(ArgType::shown).collect()))
    }
}

/// Headers and similar pairs, written as a YAML mapping.
impl ArgType for Vec<(String, String)> {
    fn kind() -> String {
        "dict of str".into()
    }
}

impl<T: ArgType> ArgType for Box<T> {
    fn kind() -> String {
        T::kind()
    }
    fn suboptions() -> Vec<ArgDoc> {
        T::suboptions()
    }
}

impl ArgType for Value {
    fn kind() -> String {
        "raw".into()
    }
    fn shown(&self) -> Option<Value> {
        (!self.is_null()).then(|| self.clone())
    }
}

impl ArgType for Map<String, Value> {
    fn kind() -> String {
        "dict".into()
    }
    fn shown(&self) -> Option<Value> {
        (!self.is_empty()).then(|| Value::Object(self.clone()))
    }
}

impl<V: ArgType> ArgType for std::collections::BTreeMap<String, V> {
    fn kind() -> String {
        format!("dict of {}", V::kind())
    }
}

impl<V: ArgType> ArgType for std::collections::HashMap<String, V> {
    fn kind() -> String {
        format!("dict of {}", V::kind())
    }
}

impl ArgType for crate::args::Mode {
    fn kind() -> String {
        "mode (octal like '0644', or symbolic like 'u=rw,g=r')".into()
    }
    fn shown(&self) -> Option<Value> {
        Some(Value::String(self.chmod_arg()))
    }
}

/// What a module file writes about its module besides the arguments.
#[derive(Debug, Clone, Copy)]
pub struct ModuleText {
    /// One line: what the module does.
    pub short: &'static str,
    /// More about it (how it differs from Ansible's, what it needs on the host); may be empty.
    pub notes: &'static str,
    /// Return values beyond `changed`/`failed`/`msg`: name and meaning.
    pub returns: &'static [(&'static str, &'static str)],
    /// A task using it, as YAML.
    pub example: &'static str,
}

impl ModuleText {
    /// No text written yet (the registry's test fails for a module left so).
    pub const MISSING: ModuleText = ModuleText { short: "", notes: "", returns: &[], example: "" };
}

/// Everything `orc doc NAME` shows for one module.
#[derive(Debug, Clone)]
pub struct ModuleDoc {
    /// The short name.
    pub name: &'static str,
    /// The collection whose FQCN also names it (`ansible.builtin`).
    pub collection: &'static str,
    /// The written part.
    pub text: ModuleText,
    /// The arguments.
    pub args: Vec<ArgDoc>,
    /// Arguments other than `args` are accepted and passed on.
    pub open: bool,
}

impl ModuleDoc {
    /// The text `orc doc NAME` prints: like ansible-doc's, arguments first, then the example and
    /// the return values.
    pub fn render(&self) -> String {
        let mut out = format!("> {} ({}.{})\n\n", self.name.to_uppercase(), self.collection, self.name);
        out.push_str(&wrap(self.text.short, 2));
        if !self.text.notes.is_empty() {
            out.push('\n');
            out.push_str(&wrap(self.text.notes, 2));
        }
        out.push_str("\nOPTIONS (= is mandatory):\n");
        for a in &self.args {
            render_arg(&mut out, a, 0);
        }
        if self.open {
            out.push_str("\n- (any other argument)\n        Passed on as it is.\n");
        }
        if !self.text.example.is_empty() {
            out.push_str("\nEXAMPLES:\n\n");
            for line in self.text.example.trim_end().lines() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out.push_str("\nRETURN VALUES:\n");
        out.push_str("- changed\n        Whether the host was (or in check mode would be) changed.\n");
        out.push_str("- msg\n        What happened, when there is something to say (always on failure).\n");
        for (name, what) in self.text.returns {
            out.push_str(&format!("- {name}\n"));
            out.push_str(&wrap(what, 8));
        }
        out
    }
}

fn render_arg(out: &mut String, a: &ArgDoc, depth: usize) {
    let pad = " ".repeat(depth * 4);
    let mark = if a.required { "=" } else { "-" };
    out.push_str(&format!("\n{pad}{mark} {}\n", a.name));
    if !a.description.is_empty() {
        out.push_str(&wrap(a.description, depth * 4 + 8));
    }
    let field = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{pad}        {k}: {v}\n"));
    if !a.aliases.is_empty() {
        field(out, "aliases", &a.aliases.join(", "));
    }
    if !a.choices.is_empty() {
        field(out, "choices", &a.choices.join(", "));
    }
    if let Some(d) = &a.default {
        let shown = match d {
            Value::String(s) => s.clone(),
            other => crate::pyjson::dumps(other),
        };
        field(out, "default", &shown);
    }
    field(out, "type", &a.kind);
    for sub in &a.suboptions {
        render_arg(out, sub, depth + 1);
    }
}

/// `text` wrapped at 100 columns, each line indented by `indent` spaces.
fn wrap(text: &str, indent: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > 100 {
            out.push_str(&" ".repeat(indent));
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&" ".repeat(indent));
        out.push_str(&line);
        out.push('\n');
    }
    out
}
