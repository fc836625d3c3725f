//! The render context: variables exposed to minijinja without converting them up front, and with
//! Ansible's lazy templating — a variable whose value is itself a template (`app_dir:
//! "{{ base }}/app"`) is rendered when it is read, with the same variables, at any depth
//! (`{{ nested.dir }}`).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};

use super::{has_template_syntax, Templar};

/// How deep variables may refer to variables before it is treated as a loop.
const MAX_DEPTH: usize = 64;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// One step from the root of the variables to a nested value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg {
    Key(String),
    Idx(usize),
}

/// What every node of one context shares: the variables, the root value (for rendering nested
/// templates) and the values of templated strings already rendered.
#[derive(Debug)]
struct Shared {
    vars: serde_json::Value,
    cache: Mutex<HashMap<Vec<Seg>, Value>>,
    /// Top-level variables holding data, never templates (registered results, facts).
    untrusted: HashSet<String>,
}

/// A map or list inside the variables (the root is the empty path).
#[derive(Debug)]
pub(crate) struct Node {
    shared: Arc<Shared>,
    /// The root context, to render templated strings with; `None` for the root itself.
    root: Option<Value>,
    path: Vec<Seg>,
}

/// Builds the lazy render context over `vars`; strings under the top-level names in `untrusted`
/// are never rendered.
pub(crate) fn context(vars: serde_json::Map<String, serde_json::Value>, untrusted: HashSet<String>) -> Value {
    Value::from_object(Node {
        shared: Arc::new(Shared {
            vars: serde_json::Value::Object(vars),
            cache: Mutex::new(HashMap::new()),
            untrusted,
        }),
        root: None,
        path: Vec::new(),
    })
}

/// The templar that renders templated variables (one per process, shared by all threads).
fn templar() -> &'static Templar {
    static TEMPLAR: OnceLock<Templar> = OnceLock::new();
    TEMPLAR.get_or_init(Templar::new)
}

impl Node {
    /// The JSON value this node stands for.
    fn json(&self) -> Option<&serde_json::Value> {
        let mut v = &self.shared.vars;
        for seg in &self.path {
            v = match seg {
                Seg::Key(k) => v.get(k.as_str())?,
                Seg::Idx(i) => v.get(*i)?,
            };
        }
        Some(v)
    }

    fn root_value(self: &Arc<Self>) -> Value {
        match &self.root {
            Some(root) => root.clone(),
            None => Value::from_dyn_object(self.clone()),
        }
    }

    /// The value of the child at `seg`: nested maps and lists stay lazy, templated strings are
    /// rendered (once per context), other scalars are converted.
    fn child(self: &Arc<Self>, seg: Seg, json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                let mut path = self.path.clone();
                path.push(seg);
                Value::from_object(Node { shared: self.shared.clone(), root: Some(self.root_value()), path })
            }
            serde_json::Value::String(s) if crate::secrets::locked_error(s).is_some() => {
                // A `!vault` value no password was given for: an error where it is used.
                let msg = crate::secrets::locked_error(s).unwrap_or_default();
                Value::from(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
            }
            serde_json::Value::String(s) if has_template_syntax(s) && self.trusted(&seg) => {
                let mut path = self.path.clone();
                path.push(seg);
                if let Ok(cache) = self.shared.cache.lock() {
                    if let Some(v) = cache.get(&path) {
                        return v.clone();
                    }
                }
                let value = self.render(s);
                if let Ok(mut cache) = self.shared.cache.lock() {
                    cache.insert(path, value.clone());
                }
                value
            }
            serde_json::Value::String(_) if super::trust::tracking() && self.trusted(&seg) => {
                // Handed out unchanged from a trusted variable (src/template/trust.rs).
                super::trust::mark(json, &Value::from(minijinja::value::Serde(json)))
            }
            other => Value::from(minijinja::value::Serde(other)),
        }
    }

    /// Is the value at `seg` below this node a template (not data from an untrusted source)?
    fn trusted(&self, seg: &Seg) -> bool {
        let top = match (self.path.first(), seg) {
            (Some(Seg::Key(k)), _) | (None, Seg::Key(k)) => k,
            _ => return true,
        };
        !self.shared.untrusted.contains(top)
    }

    /// Renders a templated variable value with the whole context.
    fn render(self: &Arc<Self>, s: &str) -> Value {
        let depth = DEPTH.with(|d| d.get());
        if depth >= MAX_DEPTH {
            return Value::from(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("recursive loop detected in template string: {s}"),
            ));
        }
        DEPTH.with(|d| d.set(depth + 1));
        let result = templar().render_str(s, &self.root_value());
        DEPTH.with(|d| d.set(depth));
        match result {
            Ok(v) => Value::from(minijinja::value::Serde(v)),
            // As in Ansible, a variable whose template uses an undefined variable is itself
            // undefined (`default` and `is defined` see it so); the Templar names the inner
            // variable when it is used.
            Err(e) if e.undefined.is_some() => Value::UNDEFINED,
            Err(e) => Value::from(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.msg)),
        }
    }
}

impl Object for Node {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        match self.json() {
            Some(serde_json::Value::Array(_)) => ObjectRepr::Seq,
            _ => ObjectRepr::Map,
        }
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match self.json()? {
            serde_json::Value::Object(map) => {
                let k = key.as_str()?;
                let json = map.get(k)?;
                Some(self.child(Seg::Key(k.to_string()), json)).filter(|v| !v.is_undefined())
            }
            serde_json::Value::Array(items) => {
                let i = key.as_usize()?;
                let json = items.get(i)?;
                Some(self.child(Seg::Idx(i), json)).filter(|v| !v.is_undefined())
            }
            _ => None,
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.json() {
            Some(serde_json::Value::Object(map)) => {
                let keys: Vec<Value> = map.keys().map(|k| Value::from(k.as_str())).collect();
                Enumerator::Iter(Box::new(keys.into_iter()))
            }
            Some(serde_json::Value::Array(items)) => Enumerator::Seq(items.len()),
            _ => Enumerator::Empty,
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        match self.json() {
            Some(serde_json::Value::Object(map)) => Some(map.len()),
            Some(serde_json::Value::Array(items)) => Some(items.len()),
            _ => Some(0),
        }
    }
}

/// The raw (unrendered) value at a variable path such as `a.b`, `a['b']` or `a[0]` of a lazy
/// context, unless it lies under an untrusted variable. Used to explain errors.
pub(crate) fn raw_at(vars: &Value, expr: &str) -> Option<serde_json::Value> {
    let node = vars.downcast_object_ref::<Node>()?;
    let mut json = node.json()?;
    let segs = parse_path(expr)?;
    if let Some(Seg::Key(top)) = segs.first() {
        if node.shared.untrusted.contains(top) {
            return None;
        }
    }
    for seg in segs {
        json = match seg {
            Seg::Key(k) => json.get(k.as_str())?,
            Seg::Idx(i) => json.get(i)?,
        };
    }
    Some(json.clone())
}

/// Splits `a.b['c'][0]` into its steps; `None` for anything that is not a plain path.
fn parse_path(expr: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    let mut rest = expr.trim();
    let ident_end = |s: &str| s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    let end = ident_end(rest);
    if end == 0 {
        return None;
    }
    segs.push(Seg::Key(rest[..end].to_string()));
    rest = &rest[end..];
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = ident_end(r);
            if end == 0 {
                return None;
            }
            segs.push(Seg::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let inner = r[..close].trim();
            let quoted = inner
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            segs.push(match quoted {
                Some(key) => Seg::Key(key.to_string()),
                None => Seg::Idx(inner.parse().ok()?),
            });
            rest = &r[close + 1..];
        } else {
            return None;
        }
    }
    Some(segs)
}

/// The template strings inside a raw value (at most `limit`).
pub(crate) fn templates_in(json: &serde_json::Value, limit: usize, out: &mut Vec<String>) {
    if out.len() >= limit {
        return;
    }
    match json {
        serde_json::Value::String(s) if has_template_syntax(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| templates_in(i, limit, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| templates_in(v, limit, out)),
        _ => {}
    }
}
