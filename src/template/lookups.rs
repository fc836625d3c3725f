//! `lookup()`, `query()`/`q()` and the `with_<lookup>` loops: the lookup plugins people use,
//! with Ansible's calling conventions (ansible-core 2.19, `_jinja_plugins._invoke_lookup`).
//!
//! - `lookup` shapes the plugin's list of results: `wantlist=True` keeps the list; otherwise an
//!   empty list stays empty, one result is returned alone, several strings are joined with commas
//!   and anything else is the list.
//! - `query`/`q` always return the list.
//! - `errors='warn'|'ignore'` turn a plugin failure into `None` (`[]` with `wantlist`).
//! - a `with_<lookup>` loop runs the plugin on its (templated) terms and loops over the list
//!   (`Templar::loop_items`, through [`WITH_FUNCTION`]).
//!
//! The plugins live beside this file: lists (`lookup_lists.rs`), files (`lookup_files.rs`) and
//! variables (`lookup_vars.rs`). A plugin failure reads as Ansible's: "The lookup plugin 'x'
//! failed: ...".

use std::collections::BTreeMap;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::filters::err;
use super::{lookup_files, lookup_lists, lookup_vars, pyfmt, search};

/// The global function `with_<lookup>` loops call: `__orc_with_lookup(name, terms, action)`.
pub(crate) const WITH_FUNCTION: &str = "__orc_with_lookup";

/// The lookup plugins orc has (`lookup`, `query` and `with_<name>` loops accept these names).
pub const PLUGINS: &[&str] = &[
    "community.general.etcd3",
    "config",
    "csvfile",
    "dict",
    "env",
    "file",
    "fileglob",
    "first_found",
    "flattened",
    "indexed_items",
    "ini",
    "inventory_hostnames",
    "items",
    "lines",
    "list",
    "nested",
    "password",
    "pipe",
    "random_choice",
    "sequence",
    "subelements",
    "template",
    "together",
    "unvault",
    "varnames",
    "vars",
];

/// Registers `lookup`, `query`, `q` and the function behind `with_<lookup>` loops.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
    env.add_function(WITH_FUNCTION, with_lookup);
}

/// What a failing plugin gives back: an error (`strict`, the default), or nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnError {
    Strict,
    Quiet,
}

/// One call of a plugin: the render state, the variables, and the options given as keyword
/// arguments (or, for some plugins, as `k=v` words inside a term).
pub(crate) struct Call<'a, 'env> {
    /// The render in progress (for `vars`, `template`).
    pub state: &'a State<'a, 'env>,
    /// The variables of the render (search paths: `role_path`, `playbook_dir`...).
    pub vars: Value,
    /// Keyword arguments not consumed by the call itself.
    pub opts: Options,
    /// The action of the task when the plugin runs for a `with_<lookup>` loop.
    pub with_action: Option<String>,
}

/// A plugin's options by name, as given (keyword arguments), with typed getters that fail the
/// way Ansible's configuration does.
#[derive(Clone, Default, Debug)]
pub(crate) struct Options {
    map: BTreeMap<String, Value>,
}

impl Options {
    fn from_kwargs(kwargs: &Kwargs) -> Result<Options, Error> {
        let mut map = BTreeMap::new();
        for key in kwargs.args() {
            let value: Value = kwargs.get(key)?;
            map.insert(key.to_string(), value);
        }
        Ok(Options { map })
    }

    /// Removes and returns an option.
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    /// The option's value, if given.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// Whether no option was given.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Sets an option (a `k=v` word of a term).
    pub fn set(&mut self, key: &str, value: Value) {
        self.map.insert(key.to_string(), value);
    }

    /// Fails on an option the plugin does not define.
    pub fn check_known(&self, plugin: &str, known: &[&str]) -> Result<(), Error> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => {
                Err(err(format!("'{k}' is not a valid option for the {plugin} lookup (valid: {})", known.join(", "))))
            }
            None => Ok(()),
        }
    }

    /// A string option (`default` when absent or none).
    pub fn string(&self, key: &str, default: &str) -> String {
        match self.map.get(key) {
            Some(v) if !v.is_none() && !v.is_undefined() => pyfmt::to_str(v),
            _ => default.to_string(),
        }
    }

    /// An integer option: an integer, or a string of decimal digits.
    pub fn int(&self, plugin: &str, key: &str) -> Result<Option<i64>, Error> {
        let Some(v) = self.map.get(key).filter(|v| !v.is_none() && !v.is_undefined()) else {
            return Ok(None);
        };
        if let Ok(i) = i64::try_from(v.clone()) {
            if v.kind() == ValueKind::Number {
                return Ok(Some(i));
            }
        }
        let text = pyfmt::to_str(v);
        text.trim().parse::<i64>().map(Some).map_err(|_| {
            err(format!(
                "Config '{key}' for '{plugin}' lookup plugin has an invalid value: Invalid value provided for 'integer': {}",
                pyfmt::repr(v)
            ))
        })
    }

    /// A boolean option, read as Ansible reads booleans (`yes`, `on`, `1`, `true`...).
    pub fn bool(&self, plugin: &str, key: &str, default: bool) -> Result<bool, Error> {
        let Some(v) = self.map.get(key).filter(|v| !v.is_none() && !v.is_undefined()) else {
            return Ok(default);
        };
        if v.kind() == ValueKind::Bool {
            return Ok(v.is_true());
        }
        match pyfmt::to_str(v).to_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Ok(true),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => Ok(false),
            _ => Err(err(format!(
                "Config '{key}' for '{plugin}' lookup plugin has an invalid value: {} is not a valid boolean",
                pyfmt::repr(v)
            ))),
        }
    }
}

fn lookup(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut opts = Options::from_kwargs(&kwargs)?;
    let wantlist = take_bool(&mut opts, "wantlist")?;
    let on_error = take_errors(&mut opts)?;
    match invoke(state, &name, terms.0, opts, None) {
        Ok(results) if wantlist => Ok(Value::from(results)),
        Ok(results) => Ok(shape(results)),
        Err(e) if on_error == OnError::Quiet => {
            drop(e);
            Ok(if wantlist { Value::from(Vec::<Value>::new()) } else { Value::from(()) })
        }
        Err(e) => Err(e),
    }
}

fn query(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut opts = Options::from_kwargs(&kwargs)?;
    take_bool(&mut opts, "wantlist")?;
    let on_error = take_errors(&mut opts)?;
    match invoke(state, &name, terms.0, opts, None) {
        Ok(results) => Ok(Value::from(results)),
        Err(_) if on_error == OnError::Quiet => Ok(Value::from(Vec::<Value>::new())),
        Err(e) => Err(e),
    }
}

/// `with_<name>: terms` on a task whose action is `action`: the plugin's list, unshaped.
fn with_lookup(state: &State, name: String, terms: Value, action: Option<String>) -> Result<Value, Error> {
    let terms = match terms.kind() {
        ValueKind::Seq => terms.try_iter()?.collect(),
        _ => vec![terms],
    };
    Ok(Value::from(invoke(state, &name, terms, Options::default(), action)?))
}

/// `lookup`'s shaping of a plugin's list when `wantlist` is not set.
fn shape(results: Vec<Value>) -> Value {
    match results.len() {
        0 => Value::from(results),
        1 => results.into_iter().next().unwrap_or_default(),
        _ if results.iter().all(|r| r.kind() == ValueKind::String) => {
            Value::from(results.iter().map(pyfmt::to_str).collect::<Vec<_>>().join(","))
        }
        _ => Value::from(results),
    }
}

fn take_bool(opts: &mut Options, key: &str) -> Result<bool, Error> {
    let v = opts.take(key);
    let mut probe = Options::default();
    if let Some(v) = v {
        probe.set(key, v);
    }
    probe.bool("lookup", key, false)
}

fn take_errors(opts: &mut Options) -> Result<OnError, Error> {
    match opts.take("errors") {
        None => Ok(OnError::Strict),
        Some(v) => match pyfmt::to_str(&v).as_str() {
            "strict" => Ok(OnError::Strict),
            // `warn` also prints a warning in Ansible; a template cannot emit events in orc.
            "warn" | "ignore" => Ok(OnError::Quiet),
            other => Err(err(format!("errors must be 'strict', 'warn' or 'ignore', got '{other}'"))),
        },
    }
}

/// Runs plugin `name` on `terms` and returns its list of results; a failure names the plugin.
fn invoke(
    state: &State,
    name: &str,
    terms: Vec<Value>,
    opts: Options,
    with_action: Option<String>,
) -> Result<Vec<Value>, Error> {
    if super::speculating() {
        return Err(err(format!("the {name} lookup runs with its task, not ahead of it")));
    }
    let plugin = name.strip_prefix("ansible.builtin.").or_else(|| name.strip_prefix("ansible.legacy.")).unwrap_or(name);
    if !PLUGINS.contains(&plugin) {
        return Err(err(format!("The lookup plugin '{name}' was not found (orc has: {})", PLUGINS.join(", "))));
    }
    // Terms are data: an undefined one is an error naming what was undefined (first_found, run
    // by a with_ loop, drops them itself before this).
    if let Some(t) = terms.iter().find(|t| t.is_undefined()) {
        return Err(Error::new(ErrorKind::UndefinedError, format!("lookup term is undefined: {t}")));
    }
    let mut call = Call { state, vars: search::current_vars(), opts, with_action };
    run(&mut call, plugin, terms).map_err(|e| {
        if e.kind() == ErrorKind::UndefinedError {
            e
        } else {
            let detail = e.detail().map(str::to_string).unwrap_or_else(|| e.to_string());
            err(format!("The lookup plugin '{plugin}' failed: {detail}"))
        }
    })
}

fn run(call: &mut Call, plugin: &str, terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    match plugin {
        "items" | "list" | "flattened" | "indexed_items" | "together" | "nested" | "dict" | "subelements"
        | "random_choice" | "sequence" => lookup_lists::run(call, plugin, terms),
        "file" | "fileglob" | "first_found" | "template" | "lines" | "pipe" | "ini" | "csvfile" | "unvault" => {
            lookup_files::run(call, plugin, terms)
        }
        "password" => {
            call.opts.check_known("password", &["length", "chars", "encrypt", "ident", "seed"])?;
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                out.push(super::password_lookup::password(&t, &call.opts, &call.vars)?);
            }
            Ok(out)
        }
        "community.general.etcd3" => super::etcd3_lookup::run(&term_strings(&terms)?, &mut call.opts),
        "config" => super::lookup_config::run(call, terms),
        _ => lookup_vars::run(call, plugin, terms),
    }
}

/// Terms as strings; a list given as a term is expanded (Ansible flattens such terms for the
/// plugins that take strings).
pub(crate) fn term_strings(terms: &[Value]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for t in terms {
        match t.kind() {
            ValueKind::Seq => {
                for item in t.try_iter()? {
                    out.push(pyfmt::to_str(&item));
                }
            }
            ValueKind::Undefined => return Err(Error::new(ErrorKind::UndefinedError, "lookup term is undefined")),
            _ => out.push(pyfmt::to_str(t)),
        }
    }
    Ok(out)
}
