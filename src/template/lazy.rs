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
pub(crate) fn context(
    vars: serde_json::Map<String, serde_json::Value>,
    untrusted: HashSet<String>,
) -> Value {
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
                Value::from_object(Node {
                    shared: self.shared.clone(),
                    root: Some(self.root_value()),
                    path,
                })
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
            Err(e) => Value::from(match e.undefined {
                Some(name) => minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    format!("`{name}` is undefined"),
                ),
                None => minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.msg),
            }),
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
                Some(self.child(Seg::Key(k.to_string()), json))
            }
            serde_json::Value::Array(items) => {
                let i = key.as_usize()?;
                let json = items.get(i)?;
                Some(self.child(Seg::Idx(i), json))
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
