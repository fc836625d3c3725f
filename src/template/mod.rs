//! Jinja templating with Ansible's semantics, on minijinja.
//!
//! One [`Templar`] is built per run and shared by every worker thread. It renders task arguments
//! (native values for single-expression strings, as Ansible 2.19 does), evaluates `when:`-style
//! expressions, and renders template files. Compiled templates and expressions are cached inside
//! the minijinja environment by their source text, so the same `when:` evaluated on a hundred hosts
//! is compiled once.

/// Registers a filter under its short name and its `ansible.builtin.` name.
macro_rules! filter {
    ($env:expr, $name:literal, $f:expr) => {{
        let f = $f;
        $env.add_filter($name, f);
        $env.add_filter(concat!("ansible.builtin.", $name), f);
    }};
}

/// Registers a test under its short name and its `ansible.builtin.` name.
macro_rules! test {
    ($env:expr, $name:literal, $f:expr) => {{
        let f = $f;
        $env.add_test($name, f);
        $env.add_test(concat!("ansible.builtin.", $name), f);
    }};
}

mod collections;
mod comment;
mod datetime;
mod error;
mod etcd3_lookup;
mod file_options;
mod filevars;
mod filters;
pub mod host_streams;
mod lazy;
mod lookup_config;
mod lookup_files;
mod lookup_ini;
mod lookup_lists;
mod lookup_vars;
mod lookups;
mod mathstuff;
mod native;
mod password;
mod password_lookup;
mod paths;
mod percent;
mod pyfmt;
mod pyyaml;
mod regexes;
mod search;
mod syntax;
mod tests;
pub mod trust;
mod undefined;
mod urls;
mod vault_filters;
mod version;

#[cfg(test)]
mod recorded_tests;
#[cfg(test)]
mod templar_tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, TemplateSource, UndefinedBehavior};

pub use error::TemplateError;
pub use file_options::FileOptions;
pub use lookups::PLUGINS as LOOKUP_PLUGINS;

thread_local! {
    /// This thread renders ahead of the task the render is for ([`speculatively`]).
    static SPECULATIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, a render made ahead of its task (the engine renders the arguments of the next tasks
/// to send their probes early: executor/prefetch.rs), with every lookup failing instead of
/// running: a lookup may run a command, create a file (`password`) or read one, which must happen
/// when the task runs and only then. The caller drops a render that failed.
pub fn speculatively<T>(f: impl FnOnce() -> T) -> T {
    let before = SPECULATIVE.with(|s| s.replace(true));
    let out = f();
    SPECULATIVE.with(|s| s.set(before));
    out
}

/// Whether this thread renders ahead of a task ([`speculatively`]).
pub(crate) fn speculating() -> bool {
    SPECULATIVE.with(std::cell::Cell::get)
}

use filevars::template_vars;
pub use filevars::FileNames;
pub(crate) use syntax::drop_unary_plus;
use syntax::{escape_backslashes, single_expression};
use undefined::{
    contains_undefined, undefined_error, undefined_in_collection, undefined_variable, UNDEFINED_IN_COLLECTION,
};

/// The value of the `omit` variable: task arguments equal to it are dropped by the engine, as
/// Ansible does with its `__omit_place_holder__...` token.
pub const OMIT: &str = "__omit_place_holder__orc";

/// Template names starting with this are inline strings (the rest of the name is the source).
const INLINE: &str = "\0inline\0";
/// Template names starting with this are bare expressions (the rest of the name is the expression).
const EXPR: &str = "\0expr\0";
/// The variable an expression's value is stored in by the wrapper template.
const RESULT_VAR: &str = "__orc_result";

/// Renders strings, expressions and template files with Ansible's Jinja semantics.
///
/// It is `Send + Sync`: build it once and share it (by reference or `Arc`) across worker threads.
pub struct Templar {
    /// The environments with Ansible's default whitespace options.
    envs: Arc<EnvPair>,
    /// Environments for template files rendered with other whitespace options, made on demand.
    variants: Mutex<HashMap<FileOptions, Arc<EnvPair>>>,
    /// The run's streams to its hosts' sockets, for lookups that go through a host.
    streams: Option<Arc<dyn host_streams::HostStreams>>,
}

/// A strict environment and its chaining twin, with the same options.
struct EnvPair {
    /// Undefined values are errors as soon as they are used.
    strict: Environment<'static>,
    /// Undefined attributes of undefined values chain; used only to retry a failed render whose
    /// source tests for definedness.
    chain: Environment<'static>,
}

impl EnvPair {
    fn new(opts: &FileOptions) -> EnvPair {
        EnvPair {
            strict: build_env(UndefinedBehavior::Strict, opts),
            chain: build_env(UndefinedBehavior::Chainable, opts),
        }
    }
}

/// A strict environment (undefined values are errors) for non-default Jinja options, made once
/// per set of options for the process: what the `template` lookup renders with when it is given
/// its own delimiters or `trim_blocks`. An error says which option is wrong.
pub(crate) fn strict_env_for(opts: &FileOptions) -> Result<Arc<Environment<'static>>, minijinja::Error> {
    static ENVS: std::sync::OnceLock<Mutex<HashMap<FileOptions, Arc<Environment<'static>>>>> =
        std::sync::OnceLock::new();
    opts.validate().map_err(filters::err)?;
    let envs = ENVS.get_or_init(Default::default);
    let mut envs = match envs.lock() {
        Ok(e) => e,
        Err(poisoned) => poisoned.into_inner(),
    };
    Ok(envs.entry(opts.clone()).or_insert_with(|| Arc::new(build_env(UndefinedBehavior::Strict, opts))).clone())
}

/// Builds an environment with Ansible's settings, filters, tests and lookups.
fn build_env(undefined: UndefinedBehavior, opts: &FileOptions) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_debug(true);
    env.set_auto_reload(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_recursion_limit(200);
    // Options are validated before an environment is made for them (`Templar::envs_for`).
    if let Ok(syntax) = opts.syntax() {
        env.set_syntax(syntax);
    }
    // Undefined values reaching the formatter print as nothing: in the strict environment only
    // the silent undefined of `x if cond` (without else) gets here; in the chaining one (a
    // retry) the undefined values the strict run stopped at.
    env.set_formatter(move |out, _state, value| {
        if contains_undefined(value, 0) {
            return Err(minijinja::Error::new(minijinja::ErrorKind::UndefinedError, UNDEFINED_IN_COLLECTION));
        }
        native::record(value);
        out.write_str(&pyfmt::to_display(value)).map_err(|_| minijinja::Error::from(minijinja::ErrorKind::WriteFailure))
    });
    env.set_unknown_method_callback(collections::python_method);
    if *opts == FileOptions::default() {
        env.set_loader(load_template);
    } else {
        // Template files (and what they include) are read with these options' newlines.
        let file_opts = opts.clone();
        env.set_loader(move |name| load_template_with(name, Some(&file_opts)));
    }
    env.set_path_join_callback(|name, parent| search::join_include(name, parent).into());
    env.add_global("omit", OMIT);
    filters::register(&mut env);
    mathstuff::register(&mut env);
    paths::register(&mut env);
    urls::register(&mut env);
    vault_filters::register(&mut env);
    tests::register(&mut env);
    lookups::register(&mut env);
    // `undef(hint)`: an undefined value, for defaults that must stay undefined (Ansible 2.19).
    env.add_function("undef", |_hint: Option<String>| Value::UNDEFINED);
    // Python's `%` on strings and numbers: the loader rewrites the operator into this call.
    env.add_function(percent::FUNCTION, percent::percent);
    datetime::register(&mut env);
    env
}

impl std::fmt::Debug for Templar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templar").finish_non_exhaustive()
    }
}

impl Default for Templar {
    fn default() -> Self {
        Templar::new()
    }
}

impl Templar {
    /// Builds the environment: strict undefined, Ansible's whitespace rules (trim_blocks on,
    /// lstrip_blocks off), Python-style printing of values, and Ansible's filters, tests and lookups.
    pub fn new() -> Templar {
        Templar {
            envs: Arc::new(EnvPair::new(&FileOptions::default())),
            variants: Mutex::new(HashMap::new()),
            streams: None,
        }
    }

    /// Gives lookups the run's streams to its hosts' sockets (`lookup('community.general.etcd3',
    /// ..., host=INVENTORY_HOST)` goes through that host's connection).
    pub fn with_host_streams(mut self, streams: Arc<dyn host_streams::HostStreams>) -> Templar {
        self.streams = Some(streams);
        self
    }

    /// The names templates can use without any variable defining them: the global functions
    /// and values (`lookup`, `query`, `range`, `omit`...). The up-front undefined-variable check
    /// asks this instead of keeping its own list.
    pub fn globals(&self) -> Vec<String> {
        let mut names: Vec<String> = self.envs.strict.globals().map(|(n, _)| n.to_string()).collect();
        names.extend(["true", "false", "none", "True", "False", "None", "loop"].map(String::from));
        names
    }

    /// Runs `f` with the strict environment; when that fails on an undefined value and the
    /// source tests for definedness (`x.y is defined`, `x.y | default(...)` with `x` undefined,
    /// which Ansible allows), runs it again where undefined attributes chain. The first error is
    /// kept when the second run fails too.
    fn run<T>(
        &self,
        source: &str,
        vars: &Value,
        f: impl Fn(&Environment<'static>) -> Result<T, TemplateError>,
    ) -> Result<T, TemplateError> {
        self.run_in(&self.envs, source, vars, f)
    }

    /// [`Templar::run`] with a given pair of environments.
    fn run_in<T>(
        &self,
        envs: &EnvPair,
        source: &str,
        vars: &Value,
        f: impl Fn(&Environment<'static>) -> Result<T, TemplateError>,
    ) -> Result<T, TemplateError> {
        let _streams = host_streams::StreamsScope::enter(self.streams.as_ref());
        match f(&envs.strict) {
            Err(e)
                if e.undefined.is_some()
                    && (source.contains("defined") || source.contains("default") || source.contains("d(")) =>
            {
                f(&envs.chain).map_err(|_| self.explain(e, vars))
            }
            Err(e) => Err(self.explain(e, vars)),
            ok => ok,
        }
    }

    /// Makes an undefined-variable error say what Ansible says: the innermost undefined variable
    /// when the one used is itself a template (`a: "{{ nope }}"`), and "object of type 'dict'
    /// has no attribute" for missing keys.
    fn explain(&self, e: TemplateError, vars: &Value) -> TemplateError {
        if let Some(raw) = e.undefined.as_deref().and_then(|n| lazy::raw_at(vars, n)) {
            let mut templates = Vec::new();
            lazy::templates_in(&raw, 50, &mut templates);
            for t in templates {
                if let Err(inner) = self.render_str(&t, vars) {
                    if inner.undefined.is_some() {
                        return inner;
                    }
                }
            }
        }
        self.explain_missing_attr(e, vars)
    }

    /// For `d.key` / `d['key']` undefined because the dict `d` has no such key, says so in
    /// Ansible's words: "object of type 'dict' has no attribute 'key'".
    fn explain_missing_attr(&self, mut e: TemplateError, vars: &Value) -> TemplateError {
        let Some(expr) = e.undefined.as_deref() else {
            return e;
        };
        let (prefix, attr) = if let Some(head) = expr.strip_suffix(']') {
            match head.rfind('[') {
                Some(i) => (&head[..i], head[i + 1..].trim_matches(['\'', '"'])),
                None => return e,
            }
        } else {
            match expr.rsplit_once('.') {
                Some((p, a)) => (p, a),
                None => return e,
            }
        };
        if prefix.is_empty() {
            return e;
        }
        if let Ok(parent) = self.eval_value(prefix, vars) {
            if parent.kind() == minijinja::value::ValueKind::Map {
                e.msg = format!("object of type 'dict' has no attribute '{attr}'");
            }
        }
        e
    }

    /// Renders a string with `vars`.
    ///
    /// A string without `{{`, `{%` or `{#` is returned unchanged without compiling anything. A
    /// string that is exactly one `{{ expr }}` yields the expression's native value (list, dict,
    /// int, bool...), as Ansible does; anything else renders to text.
    pub fn render_str(&self, s: &str, vars: &Value) -> Result<serde_json::Value, TemplateError> {
        let value = self.render_str_unchecked(s, vars)?;
        // A `!vault` value no password was given for, used here (src/secrets/run_keyring.rs).
        match crate::secrets::find_locked(&value) {
            Some(msg) => Err(TemplateError::new(msg)),
            None => Ok(value),
        }
    }

    fn render_str_unchecked(&self, s: &str, vars: &Value) -> Result<serde_json::Value, TemplateError> {
        if !has_template_syntax(s) {
            return Ok(serde_json::Value::String(s.to_string()));
        }
        let s = &*escape_backslashes(s);
        let s = &*syntax::drop_unary_plus(s);
        if let Some(expr) = single_expression(s) {
            return self.eval(expr, vars);
        }
        let name = format!("{INLINE}{s}");
        let _guard = search::RenderScope::enter(vars, None);
        let (text, (count, first)) = self.run(s, vars, |env| {
            let template = env.get_template(&name).map_err(TemplateError::from)?;
            let capture = native::Capture::start();
            let text = template.render(vars).map_err(|e| undefined_in_collection(e, &template, vars))?;
            Ok((text, capture.printed()))
        })?;
        // Ansible's native rendering: nothing printed at all gives None; exactly one value and
        // no text around it gives that value; anything else is text. Strings get back the
        // trailing newlines Jinja dropped.
        if count == 0 && text.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        if let Some(value) = first.filter(|v| count == 1 && pyfmt::to_display(v) == text) {
            if let Some(s2) = value.as_str() {
                return Ok(serde_json::Value::String(keep_trailing_newlines(s, s2.into())));
            }
            return serde_json::to_value(&value).map_err(|e| TemplateError::new(e.to_string()));
        }
        Ok(serde_json::Value::String(keep_trailing_newlines(s, text)))
    }

    /// Renders every string inside a JSON value (maps and lists, keys too).
    pub fn render_value(&self, v: &serde_json::Value, vars: &Value) -> Result<serde_json::Value, TemplateError> {
        Ok(match v {
            serde_json::Value::String(s) => self.render_str(s, vars)?,
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items.iter().map(|item| self.render_value(item, vars)).collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (key, value) in map {
                    let key = match self.render_str(key, vars)? {
                        serde_json::Value::String(k) => k,
                        other => pyfmt::to_display(&Value::from(minijinja::value::Serde(&other))),
                    };
                    out.insert(key, self.render_value(value, vars)?);
                }
                serde_json::Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluates a bare Jinja expression (`when:`, `changed_when:`, `until:`, loop expressions)
    /// to its native value. An expression written as `"{{ expr }}"` is accepted too, as Ansible
    /// does (with a deprecation warning there).
    pub fn eval(&self, expr: &str, vars: &Value) -> Result<serde_json::Value, TemplateError> {
        let value = self.eval_value(expr, vars)?;
        serde_json::to_value(&value).map_err(|e| TemplateError::new(e.to_string()))
    }

    /// Evaluates a condition with Python truthiness (empty strings, lists and dicts are false).
    pub fn eval_bool(&self, expr: &str, vars: &Value) -> Result<bool, TemplateError> {
        let value = self.eval_conditional(expr, vars)?;
        Ok(value.is_true())
    }

    /// A conditional's value, as Ansible 2.19's `_normalize_and_evaluate_conditional`: an
    /// expression, or a whole template (`"{{ x }}"`) whose string result is itself the
    /// expression. Only a trusted string may be evaluated again: a variable's value written in
    /// the playbook or inventory, never a string a template made (`"{{ '1 == 1' }}"`) nor data a
    /// host returned (registered results, facts, set_fact values), which Ansible refuses as
    /// "untrusted" (a command's output must never run as Jinja).
    pub fn eval_conditional(&self, expr: &str, vars: &Value) -> Result<Value, TemplateError> {
        let trimmed = expr.trim();
        let Some(inner) = single_expression(trimmed) else {
            return self.eval_with_embedded(trimmed, vars);
        };
        let value = self.eval_value(inner, vars)?;
        let Some(text) = value.as_str() else { return Ok(value) };
        if !trusted_indirection(inner.trim(), vars) {
            return Err(TemplateError::new("Encountered untrusted template or expression."));
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(TemplateError::new("Empty conditional expressions are not allowed."));
        }
        // The indirect expression is evaluated as is: braces in it are not unwrapped again.
        self.eval_value_exact(text, vars)
    }

    /// Evaluates a conditional expression whose string constants may hold templates
    /// (`'{{ dir }}/x' in paths`): Ansible 2.19 renders such a constant (with a deprecation
    /// warning) and uses its value. Each one is rendered here and the expression reads its value
    /// from a variable of its own.
    fn eval_with_embedded(&self, expr: &str, vars: &Value) -> Result<Value, TemplateError> {
        if !has_template_syntax(expr) {
            return self.eval_value(expr, vars);
        }
        let mut rewritten = String::with_capacity(expr.len());
        let mut values = Vec::new();
        let mut pos = 0;
        for token in minijinja::machinery::tokenize(expr, true, Default::default()) {
            let Ok((token, span)) = token else { return self.eval_value(expr, vars) };
            let text = match &token {
                minijinja::machinery::Token::Str(s) => *s,
                minijinja::machinery::Token::String(s) => s,
                _ => continue,
            };
            if !has_template_syntax(text) {
                continue;
            }
            let (start, end) = (span.start_offset as usize, span.end_offset as usize);
            let Some(before) = expr.get(pos..start) else { return self.eval_value(expr, vars) };
            rewritten.push_str(before);
            let name = format!("__orc_embedded_{}", values.len());
            rewritten.push_str(&name);
            values.push((name, Value::from(minijinja::value::Serde(self.render_str(text, vars)?))));
            pos = end;
        }
        if values.is_empty() {
            return self.eval_value(expr, vars);
        }
        rewritten.push_str(expr.get(pos..).unwrap_or_default());
        let scope = minijinja::value::merge_maps([vars.clone(), Value::from_pairs(values)]);
        self.eval_value_exact(&rewritten, &scope)
    }

    /// Evaluates a condition as ansible-core 2.19 does: the result must be a boolean. Any other
    /// type (`when: my_list`, `when: some_string`) is an error in Ansible's words, since 2.19
    /// refuses such "broken conditionals" by default. [`Templar::eval_bool`] is the lenient form
    /// (Python truthiness, as Ansible before 2.19).
    pub fn eval_condition(&self, expr: &str, vars: &Value) -> Result<bool, TemplateError> {
        let value = self.eval_conditional(expr, vars)?;
        if value.kind() == minijinja::value::ValueKind::Bool {
            return Ok(value.is_true());
        }
        Err(TemplateError::new(format!(
            "Conditional result ({}) was derived from value of type '{}'. Conditionals must have a boolean result.",
            if value.is_true() { "True" } else { "False" },
            filters::type_debug(&value)
        )))
    }

    /// Renders a template file (the `template` module, `lookup('template')`). `{% include %}` and
    /// `{% import %}` resolve relative to the file's directory, then in the `templates/` dirs of
    /// `role_path` and `playbook_dir`. Trailing newlines of the file are kept, as Ansible does.
    pub fn render_file(&self, path: &Path, vars: &Value) -> Result<String, TemplateError> {
        self.render_file_with(path, vars, FileOptions::default())
    }

    /// [`Templar::render_file`] with the `template` module's Jinja options (whitespace,
    /// delimiters, newline sequence); a `#jinja2: trim_blocks: False, lstrip_blocks: True` first
    /// line in the file overrides them (and is not part of the output), as in Ansible.
    pub fn render_file_with(&self, path: &Path, vars: &Value, opts: FileOptions) -> Result<String, TemplateError> {
        self.render_file_named(path, vars, opts, &FileNames::default())
    }

    /// [`Templar::render_file_with`] for the `template` module: `named` is how the task named
    /// the file and its destination (`template_path`, `template_destpath`). A file without any
    /// template syntax and without a `#jinja2:` line is returned as it is, newlines and all, as
    /// Ansible does.
    pub fn render_file_named(
        &self,
        path: &Path,
        vars: &Value,
        opts: FileOptions,
        named: &FileNames,
    ) -> Result<String, TemplateError> {
        let name = path.to_string_lossy().into_owned();
        // A vault-encrypted template is decrypted on the controller (src/secrets/).
        let source = lookup_files::read_decrypted(path)
            .and_then(|b| String::from_utf8(b).map_err(|e| filters::err(e.to_string())))
            .map_err(|e| TemplateError {
                msg: format!("could not read template {}: {}", path.display(), e.detail().unwrap_or_default()),
                undefined: None,
                file: Some(path.to_path_buf()),
                line: None,
            })?;
        let (header, body) = syntax::split_override_header(&source);
        let bad = |msg: String, line: Option<usize>| TemplateError {
            msg,
            undefined: None,
            file: Some(path.to_path_buf()),
            line,
        };
        // Ansible appends the newlines Jinja dropped with the task's sequence, not the header's.
        let trailing = opts.newline_sequence.clone();
        let opts = match header {
            Some(line) => opts.with_header(line).map_err(|msg| bad(msg, Some(1)))?,
            None => {
                opts.validate().map_err(|msg| bad(msg, None))?;
                opts
            }
        };
        if header.is_none() && !opts.has_syntax(body) {
            return Ok(source);
        }
        let envs = self.envs_for(&opts);
        let vars = &template_vars(path, vars, named);
        let _guard = search::RenderScope::enter(vars, Some(path));
        // Values printed by this file do not count for an enclosing native render.
        let _capture = native::Capture::start();
        let rendered = self
            .run_in(&envs, &source, vars, |env| {
                let template = env.get_template(&name).map_err(TemplateError::from)?;
                template.render(vars).map_err(|e| undefined_in_collection(e, &template, vars))
            })
            .map_err(|mut e| {
                // The loader dropped the header line: report lines of the file.
                if header.is_some() && e.file.as_deref() == Some(path) {
                    e.line = e.line.map(|l| l + 1);
                }
                e
            })?;
        Ok(keep_trailing_newlines_as(body, rendered, &trailing))
    }

    /// The environments for `opts` (the default ones, or made once per set of options).
    fn envs_for(&self, opts: &FileOptions) -> Arc<EnvPair> {
        if *opts == FileOptions::default() {
            return self.envs.clone();
        }
        let mut variants = match self.variants.lock() {
            Ok(v) => v,
            Err(poisoned) => poisoned.into_inner(),
        };
        variants.entry(opts.clone()).or_insert_with(|| Arc::new(EnvPair::new(opts))).clone()
    }

    /// Evaluates an expression (or a `{{ expr }}` string) to a minijinja value, erroring on an
    /// undefined result with the name of what was undefined.
    pub(crate) fn eval_value(&self, expr: &str, vars: &Value) -> Result<Value, TemplateError> {
        let expr = single_expression(expr.trim()).unwrap_or(expr).trim();
        self.eval_value_exact(expr, vars)
    }

    /// Evaluates `expr` as one Jinja expression, as written.
    fn eval_value_exact(&self, expr: &str, vars: &Value) -> Result<Value, TemplateError> {
        let name = format!("{EXPR}{expr}");
        let _guard = search::RenderScope::enter(vars, None);
        self.run(expr, vars, |env| {
            let template = env.get_template(&name).map_err(TemplateError::from)?;
            let captured = template.render_captured(vars).map_err(TemplateError::from)?;
            let value = captured.state().lookup(RESULT_VAR).unwrap_or_default();
            if value.is_undefined() {
                return Err(undefined_error(expr));
            }
            if contains_undefined(&value, 0) {
                let name = undefined_variable(&template, vars).unwrap_or_else(|| expr.to_string());
                return Err(undefined_error(&name));
            }
            Ok(value)
        })
    }
}

impl Templar {
    /// The items of a `with_<name>:` loop on a task whose action is `action`: the terms
    /// templated (a string as one template), made a list, and given to lookup plugin `name`,
    /// whose list of results is the loop (lookups.rs). As in Ansible, a `with_first_found`
    /// term that is undefined is dropped rather than an error.
    pub fn with_lookup_items(
        &self,
        name: &str,
        terms: &serde_json::Value,
        action: &str,
        vars: &Value,
    ) -> Result<Vec<serde_json::Value>, TemplateError> {
        let plugin = name.strip_prefix("ansible.builtin.").unwrap_or(name);
        let rendered = match terms {
            serde_json::Value::Array(items) if plugin == "first_found" => {
                let mut kept = Vec::new();
                for item in items {
                    match self.render_value(item, vars) {
                        Ok(v) => kept.push(v),
                        Err(e) if e.undefined.is_some() => {}
                        Err(e) => return Err(e),
                    }
                }
                serde_json::Value::Array(kept)
            }
            serde_json::Value::String(s) => self.render_str(s.trim(), vars)?,
            other => self.render_value(other, vars)?,
        };
        let terms = match rendered {
            serde_json::Value::Array(_) => rendered,
            other => serde_json::Value::Array(vec![other]),
        };
        let call = Value::from_pairs([
            ("__orc_with_name", Value::from(name)),
            ("__orc_with_terms", Value::from(minijinja::value::Serde(&terms))),
            ("__orc_with_action", Value::from(action)),
        ]);
        let scope = minijinja::value::merge_maps([vars.clone(), call]);
        let expr = format!("{}(__orc_with_name, __orc_with_terms, __orc_with_action)", lookups::WITH_FUNCTION);
        let value = self.eval_value(&expr, &scope).map_err(|mut e| {
            // The plugin's own words, as Ansible reports a with_ loop's failure.
            if let Some(rest) = e.msg.strip_prefix("invalid operation: ") {
                e.msg = rest.to_string();
            }
            e
        })?;
        match serde_json::to_value(&value).map_err(|e| TemplateError::new(e.to_string()))? {
            serde_json::Value::Array(items) => Ok(items),
            other => Ok(vec![other]),
        }
    }
}

/// Top-level variables that hold data rather than templates even without being declared so:
/// gathered facts.
const ALWAYS_UNTRUSTED: &[&str] = &["ansible_facts"];

/// Converts variables to the render context (done once per host and task by the engine).
///
/// Nothing is converted up front: values are read from `vars` when a template uses them, and a
/// variable whose value is itself a template (`app_dir: "{{ base }}/app"`) is rendered on first
/// use with the same context, as Ansible does.
pub fn context(vars: &serde_json::Map<String, serde_json::Value>) -> Value {
    context_with_untrusted(vars.clone(), std::iter::empty::<String>())
}

/// Like [`context`], taking the variables by value: saves copying them when the caller built the
/// map for this render anyway (the usual case: merged per host and task).
pub fn context_owned(vars: serde_json::Map<String, serde_json::Value>) -> Value {
    context_with_untrusted(vars, std::iter::empty::<String>())
}

/// Like [`context_owned`], with the top-level variables whose values are data, never templates:
/// registered task results, `set_fact` results and facts (`ansible_facts` always is). A command's
/// output containing `{{ ... }}` must not be rendered on the controller; Ansible 2.19 does not
/// render such untrusted values either.
pub fn context_with_untrusted(
    vars: serde_json::Map<String, serde_json::Value>,
    untrusted: impl IntoIterator<Item = String>,
) -> Value {
    let mut names: std::collections::HashSet<String> = untrusted.into_iter().collect();
    names.extend(ALWAYS_UNTRUSTED.iter().map(|s| s.to_string()));
    lazy::context(vars, names)
}

/// Does `s` contain Jinja syntax at all? Plain strings skip compilation entirely.
pub fn has_template_syntax(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Ansible keeps the trailing newlines of the source that Jinja drops: appends the missing ones.
fn keep_trailing_newlines(source: &str, rendered: String) -> String {
    keep_trailing_newlines_as(source, rendered, "\n")
}

/// [`keep_trailing_newlines`] appending `newline` (a template's newline sequence): Ansible
/// counts the `\n` at the end of source and result and appends the sequence for each missing one.
fn keep_trailing_newlines_as(source: &str, mut rendered: String, newline: &str) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let wanted = count(source);
    let have = count(&rendered);
    for _ in have..wanted {
        rendered.push_str(newline);
    }
    rendered
}

/// The environment's loader: inline strings and expressions come from their names, anything
/// else is a file path (reloaded when the file changes on disk).
fn load_template(name: &str) -> Result<Option<TemplateSource>, minijinja::Error> {
    load_template_with(name, None)
}

/// [`load_template`] for an environment with other file options: a file's newlines become
/// their newline sequence (`\n` without options).
///
/// Every source goes through [`percent::rewrite`]: Python's `%` operator becomes a call.
fn load_template_with(name: &str, opts: Option<&FileOptions>) -> Result<Option<TemplateSource>, minijinja::Error> {
    let syntax = || opts.map_or_else(|| FileOptions::default().syntax(), FileOptions::syntax).unwrap_or_default();
    if let Some(src) = name.strip_prefix(INLINE) {
        trust::note_source(src);
        return Ok(Some(TemplateSource::new(percent::rewrite(src, syntax()).into_owned())));
    }
    if let Some(expr) = name.strip_prefix(EXPR) {
        trust::note_source(expr);
        let source = format!("{{% set {RESULT_VAR} = ({expr}) %}}");
        return Ok(Some(TemplateSource::new(percent::rewrite(&source, syntax()).into_owned())));
    }
    let path = PathBuf::from(name);
    // A vault-encrypted template is decrypted on the controller (src/secrets/).
    match lookup_files::read_decrypted(&path)
        .and_then(|b| String::from_utf8(b).map_err(|e| filters::err(e.to_string())))
    {
        Ok(source) => {
            let body = syntax::split_override_header(&source).1;
            // Jinja reads every `\r\n`, `\r` and `\n` of a file as its newline sequence.
            let source = match opts {
                Some(o) => o.normalize_newlines(body),
                None => FileOptions::default().normalize_newlines(body),
            };
            check_extends_cycle(name, &source)?;
            trust::note_source(&source);
            let source = percent::rewrite(&source, syntax()).into_owned();
            let stamp = file_stamp(&path);
            Ok(Some(TemplateSource::new(source).with_uptodate_check(move || file_stamp(&path) == stamp)))
        }
        Err(_) if !path.exists() => Ok(None),
        Err(e) => Err(minijinja::Error::new(
            minijinja::ErrorKind::TemplateNotFound,
            format!("could not read template {name}: {}", e.detail().unwrap_or_default()),
        )),
    }
}

/// The literal parent of a template (`{% extends "base.j2" %}`), if it names one.
fn extends_target(source: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re =
        RE.get_or_init(|| regex::Regex::new(r#"\{%[-+]?\s*extends\s+["']([^"']+)["']\s*[-+]?%\}"#).ok()).as_ref()?;
    re.captures(source).and_then(|c| c.get(1)).map(|m| m.as_str().to_string())
}

/// Follows a template's literal `extends` chain and fails when it comes back to a template
/// already in it: minijinja would loop forever on such a chain, Jinja recurses until it fails.
fn check_extends_cycle(name: &str, source: &str) -> Result<(), minijinja::Error> {
    let mut chain = vec![name.to_string()];
    let mut next = extends_target(source);
    while let Some(target) = next.take() {
        let parent = chain.last().map(String::as_str).unwrap_or(name);
        let path = search::join_include(&target, parent);
        if chain.contains(&path) {
            chain.push(path);
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("templates extend each other in a loop: {}", chain.join(" -> ")),
            ));
        }
        if chain.len() > 50 {
            break;
        }
        next =
            std::fs::read_to_string(&path).ok().and_then(|text| extends_target(syntax::split_override_header(&text).1));
        chain.push(path);
    }
    Ok(())
}

/// Modification time and size of a file, to notice template files that changed during a run.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Whether `s` is one whole template (`"{{ expr }}"`, surrounding blanks aside), which Ansible
/// resolves before using it as a condition or a list of conditions.
pub fn is_single_expression(s: &str) -> bool {
    single_expression(s.trim()).is_some()
}

/// Whether the string a whole-template conditional (`"{{ inner }}"`) produced may be evaluated
/// as an expression: `inner` names a variable (a plain path into it) whose value is not data a
/// host returned (`vars::Context::is_data`). Anything else made the string, so it is untrusted.
fn trusted_indirection(inner: &str, vars: &Value) -> bool {
    static PATH: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let path = PATH.get_or_init(|| {
        regex::Regex::new(
            r#"^([A-Za-z_][A-Za-z0-9_]*)(\s*(\.\s*[A-Za-z_][A-Za-z0-9_]*|\[\s*('[^']*'|"[^"]*"|[0-9]+)\s*\]))*$"#,
        )
        .ok()
    });
    let Some(caps) = path.as_ref().and_then(|re| re.captures(inner)) else { return false };
    let root = caps.get(1).map(|m| m.as_str()).unwrap_or_default();
    match vars.downcast_object_ref::<crate::vars::Context>() {
        Some(ctx) => ctx.trusts(root),
        None => true,
    }
}
