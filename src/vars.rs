//! Variables: the layers Ansible merges in its documented precedence, and the render context that
//! templates see, with variables that hold templates resolved lazily on use (as Ansible does).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr, Serde};
use minijinja::Value as JValue;
use serde_json::{Map, Value};

use crate::template::Templar;

/// The run's `hash_behaviour` (ansible.cfg, ANSIBLE_HASH_BEHAVIOUR): true for `merge`. Set once
/// by `ops` from the settings, before anything is loaded.
static HASH_MERGE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Makes `merge` (true) or `replace` (false) the `hash_behaviour` every merge of variable layers
/// uses (the first call wins).
pub fn install_hash_behaviour(merge: bool) {
    let _ = HASH_MERGE.set(merge);
}

/// Whether `hash_behaviour = merge`: dicts of the same name in two layers are merged, key by
/// key and recursively, instead of the later one replacing the earlier.
pub fn hash_merge() -> bool {
    HASH_MERGE.get().copied().unwrap_or(false)
}

/// Merges `src` into `dst` as Ansible's `combine_vars` does: later keys replace earlier ones,
/// except with `hash_behaviour = merge`, where two dicts are merged recursively.
pub fn merge(dst: &mut Map<String, Value>, src: &Map<String, Value>) {
    combine(dst, src, hash_merge());
}

/// Merges `src` into `dst`; `deep`: Ansible's `merge_hash` (dicts merged recursively, anything
/// else replaced), else a plain replace of each key.
pub fn combine(dst: &mut Map<String, Value>, src: &Map<String, Value>, deep: bool) {
    for (k, v) in src {
        match (dst.get_mut(k), v) {
            (Some(Value::Object(old)), Value::Object(new)) if deep => combine(old, new, true),
            _ => {
                dst.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Sets one variable in a layer as Ansible's `set_variable`/`set_host_variable` do: a dict
/// over a dict is combined (merged with `hash_behaviour = merge`), anything else replaces.
pub fn set_var(dst: &mut Map<String, Value>, key: &str, value: Value) {
    match (dst.get_mut(key), value) {
        (Some(Value::Object(old)), Value::Object(new)) if hash_merge() => combine(old, &new, true),
        (_, value) => {
            dst.insert(key.to_string(), value);
        }
    }
}

/// Whether a value holds Jinja anywhere (so it must be rendered before use).
pub fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains("{{") || has_template(v)),
        _ => false,
    }
}

/// One host's variables as other hosts see them through `hostvars`.
#[derive(Debug, Clone)]
pub struct HostView {
    /// Inventory variables.
    pub inventory: Arc<Map<String, Value>>,
    /// Gathered facts (without the `ansible_` prefix).
    pub facts: Arc<Map<String, Value>>,
    /// Variables `include_vars` loaded.
    pub included_vars: Arc<Map<String, Value>>,
    /// Facts returned without the `ansible_` prefix (`HostState::bare_facts`).
    pub bare_facts: Arc<std::collections::BTreeSet<String>>,
    /// set_fact and registered variables.
    pub set_facts: Arc<Map<String, Value>>,
    /// The host's `group_names` (Ansible's hostvars carry the magic variables too).
    pub group_names: Vec<String>,
}

impl HostView {
    /// The names whose values are data, never rendered: facts, set_fact and registered values.
    pub fn data_names(&self) -> HashSet<String> {
        let mut data: HashSet<String> = self.set_facts.keys().cloned().collect();
        data.insert("ansible_facts".into());
        data.extend(
            self.facts.keys().map(|k| if k.starts_with("ansible_") { k.clone() } else { format!("ansible_{k}") }),
        );
        data
    }

    /// The merged map `hostvars[host]` shows.
    pub fn merged(&self, name: &str) -> Map<String, Value> {
        let mut m = (*self.inventory).clone();
        add_facts(&mut m, &self.facts, &self.bare_facts);
        merge(&mut m, &self.included_vars);
        merge(&mut m, &self.set_facts);
        m.insert("inventory_hostname".into(), Value::String(name.to_string()));
        m.insert("inventory_hostname_short".into(), Value::String(name.split('.').next().unwrap_or(name).to_string()));
        m.insert("group_names".into(), Value::from(self.group_names.clone()));
        m
    }
}

/// Adds facts as `ansible_facts` and as top-level `ansible_<name>` variables (and, for those
/// returned without the prefix, `<name>`).
pub fn add_facts(m: &mut Map<String, Value>, facts: &Map<String, Value>, bare: &std::collections::BTreeSet<String>) {
    // `ansible_facts` is defined ({}) before anything was gathered, as in Ansible.
    for (k, v) in facts {
        let key = if k.starts_with("ansible_") { k.clone() } else { format!("ansible_{k}") };
        m.insert(key, v.clone());
        // A fact returned without the prefix is a variable under its own name too.
        if bare.contains(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    m.insert("ansible_facts".into(), Value::Object(facts.clone()));
}

/// `hostvars`: every host's variables, merged only when a template asks for one.
#[derive(Debug)]
pub struct HostVars {
    /// Host name to view, in inventory order.
    pub hosts: Vec<(String, HostView)>,
    cache: Mutex<HashMap<String, JValue>>,
    /// Renders a host's variables that hold templates, with that host's variables, when they are
    /// read (Ansible's `HostVarsVars`); without it they are shown as written.
    templar: Option<Arc<Templar>>,
}

impl HostVars {
    /// Wraps the per-host views; their values are shown as written.
    pub fn new(hosts: Vec<(String, HostView)>) -> Arc<HostVars> {
        Arc::new(HostVars { hosts, cache: Mutex::new(HashMap::new()), templar: None })
    }

    /// Wraps the per-host views; a value holding a template is rendered, with its own host's
    /// variables, when read (`hostvars['web1']['url']` where `url: "http://{{ ip }}"`).
    pub fn rendering(hosts: Vec<(String, HostView)>, templar: Arc<Templar>) -> Arc<HostVars> {
        Arc::new(HostVars { hosts, cache: Mutex::new(HashMap::new()), templar: Some(templar) })
    }
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let name = key.as_str()?;
        if let Ok(cache) = self.cache.lock() {
            if let Some(v) = cache.get(name) {
                return Some(v.clone());
            }
        }
        let (_, view) = self.hosts.iter().find(|(h, _)| h == name)?;
        let v = match &self.templar {
            // A context of the host's own: no `hostvars` inside it (the cache would hold a cycle).
            Some(templar) => {
                Context::with_data(view.merged(name), view.data_names(), HostVars::new(Vec::new()), templar.clone())
                    .value()
            }
            None => JValue::from(Serde(view.merged(name))),
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(name.to_string(), v.clone());
        }
        Some(v)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.hosts.iter().map(|(h, _)| JValue::from(h.as_str())).collect())
    }
}

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Variables being rendered on this thread, innermost last: a name met again is a loop.
    static RENDERING: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The render context: a host's merged variables for one task. A variable whose value holds a
/// template is rendered when a template reads it, with the same context, so `a: "{{ b }}"` works
/// however deep, as in Ansible.
///
/// Two layers: the host's own merged variables (`vars`), and a layer shared by every host of a
/// play (`shared`: the play-wide magic variables, `groups` and `ansible_play_hosts` among them,
/// whose size grows with the number of hosts). The shared layer is one `Arc` for the whole play,
/// never copied per host and task: copying it made the controller's work per task and host grow
/// with the host count (docs/performance.md, "Scale").
pub struct Context {
    vars: Map<String, Value>,
    /// Looked up after `vars`; [`Context::layered`] drops from `vars` the names it defines, so
    /// it wins over the host's variables as if merged last, while layers added later
    /// ([`Context::with`]: loop items, registered results) win over it.
    shared: Arc<Map<String, Value>>,
    /// Names whose values are data, never rendered (registered results, set_fact values, facts).
    data: HashSet<String>,
    /// The parts of `data` variables whose strings came unchanged from a trusted source
    /// ([`TrustedParts`]).
    trusted: Arc<TrustedParts>,
    hostvars: Arc<HostVars>,
    templar: Arc<Templar>,
    /// Values read, and whether their trusted strings were marked (src/template/trust.rs).
    cache: Mutex<HashMap<String, (JValue, bool)>>,
}

/// Per data variable (a set_fact value or a registered result), the paths (keys of nested maps;
/// an empty path is the whole value) whose strings came unchanged from a trusted source: a
/// `set_fact` value written without a template, the variables `include_vars` read from a file.
/// They stay data (never rendered); `ansible._protomatter.tagged_with("TrustedAsTemplate")`
/// answers true for them, as Ansible 2.19 does (src/template/trust.rs).
pub type TrustedParts = std::collections::BTreeMap<String, Vec<Vec<String>>>;

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("vars", &self.vars.len()).finish()
    }
}

impl Context {
    /// A context over merged variables.
    pub fn new(vars: Map<String, Value>, hostvars: Arc<HostVars>, templar: Arc<Templar>) -> Arc<Context> {
        Self::with_data(vars, HashSet::new(), hostvars, templar)
    }

    /// A context where the variables named in `data` are used as they are, never rendered.
    pub fn with_data(
        vars: Map<String, Value>,
        data: HashSet<String>,
        hostvars: Arc<HostVars>,
        templar: Arc<Templar>,
    ) -> Arc<Context> {
        Self::layered(vars, Arc::new(Map::new()), data, hostvars, templar)
    }

    /// A context over a host's variables and a layer `shared` by every host of the play, which
    /// wins over `vars` (as if merged after them) without being copied.
    pub fn layered(
        mut vars: Map<String, Value>,
        shared: Arc<Map<String, Value>>,
        data: HashSet<String>,
        hostvars: Arc<HostVars>,
        templar: Arc<Templar>,
    ) -> Arc<Context> {
        for k in shared.keys() {
            // Rare (a variable named as a magic one): `shift_remove` keeps the others' order.
            if vars.contains_key(k) {
                vars.shift_remove(k);
            }
        }
        let trusted = Arc::new(TrustedParts::new());
        Arc::new(Context { vars, shared, data, trusted, hostvars, templar, cache: Mutex::new(HashMap::new()) })
    }

    /// Declares the trusted parts of the data variables (before the context is shared).
    pub fn set_trusted(&mut self, trusted: Arc<TrustedParts>) {
        self.trusted = trusted;
    }

    /// The value templates see.
    pub fn value(self: &Arc<Self>) -> JValue {
        JValue::from_dyn_object(self.clone())
    }

    /// The raw (unrendered) variables of the host, without the shared layer (the play-wide
    /// magic variables, none of which says how a host is reached).
    pub fn raw(&self) -> &Map<String, Value> {
        &self.vars
    }

    /// A new context with some variables added on top (loop items, registered results). They
    /// are data (never rendered): what a task returned, or items a loop's template produced.
    pub fn with(self: &Arc<Self>, extra: &Map<String, Value>) -> Arc<Context> {
        self.with_trusted(extra, TrustedParts::new())
    }

    /// [`Context::with`], where the parts of the added variables at `trusted` came unchanged
    /// from a trusted source (the items of a loop written as a list).
    pub fn with_trusted(self: &Arc<Self>, extra: &Map<String, Value>, trusted: TrustedParts) -> Arc<Context> {
        if extra.is_empty() {
            return self.clone();
        }
        let mut vars = self.vars.clone();
        merge(&mut vars, extra);
        let mut data = self.data.clone();
        data.extend(extra.keys().cloned());
        let mut parts = (*self.trusted).clone();
        for k in extra.keys() {
            parts.remove(k);
        }
        parts.extend(trusted);
        Arc::new(Context {
            vars,
            shared: self.shared.clone(),
            data,
            trusted: Arc::new(parts),
            hostvars: self.hostvars.clone(),
            templar: self.templar.clone(),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `name` holds data a host returned or a task computed (registered results, facts,
    /// set_fact values): never rendered, and never trusted as an expression.
    pub fn is_data(&self, name: &str) -> bool {
        self.data.contains(name)
    }

    /// Whether the whole value of `name` is trusted: not data, or data declared trusted as a
    /// whole ([`TrustedParts`]: a set_fact value written without a template, a literal loop item).
    pub fn trusts(&self, name: &str) -> bool {
        !self.data.contains(name) || self.trusted.get(name).is_some_and(|paths| paths.iter().any(Vec::is_empty))
    }

    /// `value` (of the variable `name`, whose raw value is `raw`) with the strings orc trusts as
    /// templates marked (src/template/trust.rs): the raw text of a variable that is not data, and
    /// of the trusted parts of one that is. A host's output never is.
    fn mark_trusted(&self, name: &str, raw: &Value, value: JValue) -> JValue {
        use crate::template::trust;
        if !self.data.contains(name) {
            return trust::mark(raw, &value);
        }
        let Some(paths) = self.trusted.get(name) else { return value };
        paths.iter().fold(value, |v, path| trust::mark_at(raw, &v, path))
    }

    /// Renders a variable's value fully (templates inside resolved).
    pub fn resolved(self: &Arc<Self>, name: &str) -> Option<Value> {
        let v = self.get_value_by_str(name)?;
        serde_json::to_value(&v).ok()
    }
}

impl Object for Context {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        let name = key.as_str()?;
        match name {
            "hostvars" => return Some(JValue::from_dyn_object(self.hostvars.clone())),
            "vars" => return Some(JValue::from_dyn_object(self.clone())),
            _ => {}
        }
        // Once a template asks about trust, trusted strings are handed out marked.
        let marking = crate::template::trust::tracking();
        if let Ok(cache) = self.cache.lock() {
            if let Some((v, marked)) = cache.get(name) {
                if *marked || !marking {
                    return Some(v.clone());
                }
            }
        }
        let raw = self.vars.get(name).or_else(|| self.shared.get(name))?;
        let is_data = self.data.contains(name);
        let rendered = if !is_data && has_template(raw) {
            let depth = DEPTH.with(|d| d.get());
            let looping = RENDERING.with(|r| r.borrow().iter().any(|n| n == name));
            if looping || depth > 30 {
                // A variable that refers to itself, directly or through others.
                let msg = format!("Recursive loop detected in template: variable '{name}' refers back to itself");
                return Some(JValue::from(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg)));
            }
            DEPTH.with(|d| d.set(depth + 1));
            RENDERING.with(|r| r.borrow_mut().push(name.to_string()));
            let out = self.templar.render_value(raw, &self.value());
            RENDERING.with(|r| r.borrow_mut().pop());
            DEPTH.with(|d| d.set(depth));
            match out {
                Ok(v) => JValue::from(Serde(&v)),
                // The error surfaces when the template that reads this variable is rendered; it is
                // cached too, so a retrying caller does not render it again.
                Err(e) => {
                    let msg = if e.to_string().contains("Recursive loop detected") {
                        e.to_string()
                    } else if let Some(inner) = e.undefined.as_deref() {
                        // The innermost undefined name, in minijinja's words so that the error
                        // names it (`'x' is undefined`, as Ansible 2.19 says) and `default` and
                        // `debug: var=` treat it as undefined.
                        format!("`{inner}` is undefined")
                    } else {
                        format!("variable '{name}' could not be rendered: {e}")
                    };
                    JValue::from(minijinja::Error::new(minijinja::ErrorKind::UndefinedError, msg))
                }
            }
        } else {
            JValue::from(Serde(raw))
        };
        let rendered = if marking { self.mark_trusted(name, raw, rendered) } else { rendered };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(name.to_string(), (rendered.clone(), marking));
        }
        Some(rendered)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<JValue> = self.vars.keys().map(|k| JValue::from(k.as_str())).collect();
        keys.extend(self.shared.keys().filter(|k| !self.vars.contains_key(*k)).map(|k| JValue::from(k.as_str())));
        keys.push(JValue::from("hostvars"));
        Enumerator::Values(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn layered(vars: Value, shared: &Arc<Map<String, Value>>) -> Arc<Context> {
        Context::layered(obj(vars), shared.clone(), HashSet::new(), HostVars::new(Vec::new()), Arc::new(Templar::new()))
    }

    fn get(ctx: &Arc<Context>, name: &str) -> Option<Value> {
        ctx.resolved(name)
    }

    #[test]
    fn the_shared_layer_wins_over_the_hosts_variables_and_later_layers_win_over_it() {
        let shared = Arc::new(obj(json!({"play_hosts": ["a", "b"], "groups": {"all": ["a", "b"]}})));
        let ctx = layered(json!({"play_hosts": "mine", "x": "{{ play_hosts | join(',') }}"}), &shared);
        // As if merged last: the magic value, also when another variable's template reads it.
        assert_eq!(get(&ctx, "play_hosts"), Some(json!(["a", "b"])));
        assert_eq!(get(&ctx, "x"), Some(json!("a,b")));
        assert_eq!(get(&ctx, "groups"), Some(json!({"all": ["a", "b"]})));
        // A loop item or registered result added on top wins, as it did when merged after.
        let item = ctx.with(&obj(json!({"play_hosts": "item"})));
        assert_eq!(get(&item, "play_hosts"), Some(json!("item")));
        assert_eq!(get(&item, "groups"), Some(json!({"all": ["a", "b"]})));
    }

    #[test]
    fn the_shared_layer_is_not_copied_into_a_hosts_variables() {
        let shared = Arc::new(obj(json!({"ansible_play_hosts": ["a", "b"]})));
        let a = layered(json!({"inventory_hostname": "a"}), &shared);
        let b = layered(json!({"inventory_hostname": "b"}), &shared).with(&obj(json!({"item": 1})));
        // raw() is the host's own variables (connection variables are read from it).
        assert!(!a.raw().contains_key("ansible_play_hosts"));
        assert!(!b.raw().contains_key("ansible_play_hosts"));
        // Both contexts (and one made by `with`) hold the play's one copy.
        assert!(Arc::ptr_eq(&a.shared, &shared) && Arc::ptr_eq(&b.shared, &shared));
        // `vars` still lists every name, once.
        let keys: Vec<String> = match a.enumerate() {
            Enumerator::Values(v) => v.iter().filter_map(|k| k.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        };
        assert_eq!(keys, ["inventory_hostname", "ansible_play_hosts", "hostvars"]);
    }

    fn eval(ctx: &Arc<Context>, expr: &str) -> Value {
        Templar::new().render_str(expr, &ctx.value()).unwrap_or(Value::Null)
    }

    #[test]
    fn tagged_with_answers_from_what_is_data_and_its_trusted_parts() {
        let t = "is ansible._protomatter.tagged_with('TrustedAsTemplate')";
        let data: HashSet<String> = ["out".to_string(), "sfr".to_string()].into();
        let mut ctx = Context::with_data(
            obj(json!({
                "pv": "hello", "pt": "{{ 'x' }}",
                "out": {"stdout": "hi", "ansible_facts": {"foo": "bar"}},
                "sfr": {"ansible_facts": {"foo": "bar", "t": "{{ 'x' }}"}, "changed": "no"},
            })),
            data,
            HostVars::new(Vec::new()),
            Arc::new(Templar::new()),
        );
        let mut trusted = TrustedParts::new();
        trusted.insert("sfr".into(), vec![vec!["ansible_facts".into()]]);
        if let Some(c) = Arc::get_mut(&mut ctx) {
            c.set_trusted(Arc::new(trusted));
        }
        let answers = eval(
            &ctx,
            &format!(
                "{{{{ [pv {t}, pt {t}, out.stdout {t}, out.ansible_facts.foo {t}, sfr.ansible_facts.foo {t}, \
                 sfr.ansible_facts.t {t}, sfr.changed {t}] }}}}"
            ),
        );
        assert_eq!(answers, json!([true, false, false, false, true, false, false]));
        // Data stays data: the trusted part's template is not rendered.
        assert_eq!(eval(&ctx, "{{ sfr.ansible_facts.t }}"), json!("{{ 'x' }}"));
        // Added variables (loop items, results) are data unless declared trusted.
        let item = ctx.with(&obj(json!({"item": "{{ pv }}"})));
        assert_eq!(eval(&item, "{{ item }}"), json!("{{ pv }}"));
        assert_eq!(eval(&item, &format!("{{{{ item {t} }}}}")), json!(false));
        let mut parts = TrustedParts::new();
        parts.insert("item".into(), vec![Vec::new()]);
        let literal = ctx.with_trusted(&obj(json!({"item": "a"})), parts);
        assert_eq!(eval(&literal, &format!("{{{{ item {t} }}}}")), json!(true));
        assert!(literal.trusts("item") && !literal.trusts("out") && literal.trusts("pv"));
    }

    #[test]
    fn combine_replaces_or_merges_dicts_recursively() {
        let a = serde_json::json!({"h": {"x": 1, "in": {"a": 1}}, "l": [1], "s": "a"});
        let b = serde_json::json!({"h": {"y": 2, "in": {"b": 2}}, "l": [2], "n": 3});
        let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
        let mut replaced = a.clone();
        combine(&mut replaced, b, false);
        assert_eq!(
            Value::Object(replaced),
            serde_json::json!({"h": {"y": 2, "in": {"b": 2}}, "l": [2], "s": "a", "n": 3})
        );
        let mut merged = a.clone();
        combine(&mut merged, b, true);
        assert_eq!(
            Value::Object(merged),
            serde_json::json!({"h": {"x": 1, "y": 2, "in": {"a": 1, "b": 2}}, "l": [2], "s": "a", "n": 3})
        );
    }
}
