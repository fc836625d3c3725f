//! A task's keywords (already merged from play, blocks, roles and task: `Keywords::inherit`)
//! rendered for one host: every keyword Ansible templates may be a template (`become: "{{ b }}"`,
//! `no_log: "{{ secret }}"`), rendered here, in one place, with the host's variables.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::Runner;
use crate::playbook::Keywords;
use crate::vars::Context;

/// The keywords of one task for one host, rendered.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `become:`.
    pub r#become: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `become_method:`.
    pub become_method: Option<String>,
    /// `remote_user:`.
    pub remote_user: Option<String>,
    /// `port:`.
    pub port: Option<Value>,
    /// `connection:`.
    pub connection: Option<String>,
    /// `timeout:` in seconds.
    pub timeout: Option<u64>,
    /// `environment:` merged (later entries win, in the order first given), values as text.
    pub environment: Vec<(String, String)>,
    /// `module_defaults:` entries, outermost first.
    pub module_defaults: Vec<Map<String, Value>>,
    /// Check mode for this task (`check_mode:`, else `--check`).
    pub check: bool,
    /// Diff mode for this task (`diff:`, else `--diff`).
    pub diff: bool,
    /// `no_log:`.
    pub no_log: bool,
    /// `ignore_errors:`.
    pub ignore_errors: bool,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: bool,
    /// `delegate_to:`.
    pub delegate_to: Option<String>,
    /// `delegate_facts:`.
    pub delegate_facts: bool,
}

impl Settings {
    /// Renders `kw` with the host's variables. An error names the keyword and why.
    pub fn resolve(runner: &Runner, kw: &Keywords, ctx: &Arc<Context>) -> Result<Settings, String> {
        let r = Render { runner, ctx };
        let mut environment: Vec<(String, String)> = Vec::new();
        for entry in &kw.environment {
            let rendered = match entry {
                // Each value on its own: one that needs `ansible_env` before facts are gathered
                // is left out rather than failing the task, as Ansible does (its
                // Task._post_validate_environment skips an undefined error naming ansible_env).
                Value::Object(m) => {
                    let mut out = Map::new();
                    for (k, v) in m {
                        match r.value("environment", v) {
                            Ok(v) => {
                                out.insert(k.clone(), v);
                            }
                            Err(e) if e.contains("ansible_env") && e.contains("undefined") => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Value::Object(out)
                }
                other => r.value("environment", other)?,
            };
            match rendered {
                Value::Object(m) => {
                    // An omitted value leaves the name out, as Ansible does.
                    let kept = m.into_iter().filter(|(_, v)| !v.is_null() && v.as_str() != Some(crate::template::OMIT));
                    for (k, v) in kept {
                        let v = crate::yaml::display(&v);
                        match environment.iter_mut().find(|(name, _)| *name == k) {
                            Some(slot) => slot.1 = v,
                            None => environment.push((k, v)),
                        }
                    }
                }
                // `- '{{ omit }}'`: an omitted entry adds nothing.
                Value::Null => {}
                Value::String(s) if s == crate::template::OMIT => {}
                other => {
                    return Err(format!(
                        "environment must be a mapping of names to values, got {}",
                        crate::output::pyrepr::repr(&other)
                    ))
                }
            }
        }
        // Kept as written (a mapping of modules to arguments): the arguments are rendered with
        // the task's own, once merged under them (`run_task`).
        let mut module_defaults = Vec::new();
        for entry in &kw.module_defaults {
            let entry = if entry.is_string() { r.value("module_defaults", entry)? } else { entry.clone() };
            match entry {
                Value::Object(m) => module_defaults.push(m),
                Value::Null => {}
                Value::Array(items) => module_defaults.extend(items.into_iter().filter_map(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })),
                other => {
                    return Err(format!(
                        "module_defaults must be a mapping of modules to arguments, got {}",
                        crate::output::pyrepr::repr(&other)
                    ))
                }
            }
        }
        let timeout = match r.value_opt("timeout", &kw.timeout)? {
            None | Some(Value::Null) => None,
            Some(v) => Some(timeout_secs(&v)?),
        };
        Ok(Settings {
            r#become: r.flag("become", &kw.r#become)?,
            become_user: r.text("become_user", &kw.become_user)?,
            become_method: r.text("become_method", &kw.become_method)?,
            remote_user: r.text("remote_user", &kw.remote_user)?,
            port: r.value_opt("port", &kw.port)?.filter(|v| !v.is_null()),
            connection: r.text("connection", &kw.connection)?,
            timeout: timeout.filter(|t| *t > 0),
            environment,
            module_defaults,
            check: r.flag("check_mode", &kw.check_mode)?.unwrap_or(runner.opts.check),
            diff: r.flag("diff", &kw.diff)?.unwrap_or(runner.opts.diff),
            no_log: r.flag("no_log", &kw.no_log)?.unwrap_or(false),
            ignore_errors: r.flag("ignore_errors", &kw.ignore_errors)?.unwrap_or(false),
            ignore_unreachable: r.flag("ignore_unreachable", &kw.ignore_unreachable)?.unwrap_or(false),
            delegate_to: r.text("delegate_to", &kw.delegate_to)?,
            delegate_facts: r.flag("delegate_facts", &kw.delegate_facts)?.unwrap_or(false),
        })
    }
}

impl Settings {
    /// What a task whose keywords could not all be rendered still runs with: `ignore_errors` and
    /// `no_log` when they render on their own, so that the keyword error is ignored (or
    /// hidden) as the task asks (Ansible reads them apart from the others).
    pub fn fallback(runner: &Runner, kw: &Keywords, ctx: &Arc<Context>) -> Settings {
        let r = Render { runner, ctx };
        Settings {
            ignore_errors: r.flag("ignore_errors", &kw.ignore_errors).ok().flatten().unwrap_or(false),
            no_log: r.flag("no_log", &kw.no_log).ok().flatten().unwrap_or(false),
            check: runner.opts.check,
            diff: runner.opts.diff,
            ..Settings::default()
        }
    }
}

/// The largest `timeout:` Ansible accepts (its TaskExecutor's limit).
const MAX_TIMEOUT: i64 = 100_000_000;

/// `timeout:` in seconds (0: none). Out of Ansible's range, its error: the task fails with it.
fn timeout_secs(v: &Value) -> Result<u64, String> {
    let n = v
        .as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()).map(|f| f as i64));
    match n {
        Some(n) if (0..=MAX_TIMEOUT).contains(&n) => Ok(n as u64),
        Some(n) => Err(format!("Task failed: Timeout {n} is invalid, it must be between 0 and {MAX_TIMEOUT}.")),
        None => Err(format!(
            "Task failed: Error processing keyword 'timeout': The value {} could not be converted to 'int'.",
            crate::output::pyrepr::repr(v)
        )),
    }
}

/// A number given as a number or as text.
pub fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()).filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Renders keyword values with one host's variables.
pub struct Render<'a, 'r> {
    /// The run (its templar).
    pub runner: &'a Runner<'r>,
    /// The host's variables.
    pub ctx: &'a Arc<Context>,
}

impl Render<'_, '_> {
    /// A value, its templates rendered.
    pub fn value(&self, key: &str, v: &Value) -> Result<Value, String> {
        if !crate::vars::has_template(v) {
            return Ok(v.clone());
        }
        self.runner.templar.render_value(v, &self.ctx.value()).map_err(|e| format!("the keyword '{key}': {e}"))
    }

    /// An optional value, rendered. A value that renders to `omit` is not set: the parent's
    /// value kept beside it applies (`playbook::omit_fallback`), else none.
    pub fn value_opt(&self, key: &str, v: &Option<Value>) -> Result<Option<Value>, String> {
        let Some(v) = v else { return Ok(None) };
        let (own, parent) = match crate::playbook::omit_fallback(v) {
            Some((own, parent)) => (own, Some(parent)),
            None => (v, None),
        };
        let rendered = self.value(key, own)?;
        if rendered.as_str() != Some(crate::template::OMIT) {
            return Ok(Some(rendered));
        }
        match parent {
            Some(p) if !p.is_null() => self.value_opt(key, &Some(p.clone())),
            _ => Ok(None),
        }
    }

    /// A boolean keyword.
    pub fn flag(&self, key: &str, v: &Option<Value>) -> Result<Option<bool>, String> {
        match self.value_opt(key, v)? {
            None | Some(Value::Null) => Ok(None),
            // As ansible-core 2.19 words a keyword that is not a boolean (FieldAttribute's
            // post-validation), already saying where the task failed.
            Some(v) => orc_modules::args::parse_bool(&v).map(Some).ok_or_else(|| {
                format!(
                    "Task failed: Error processing keyword '{key}': The value '{}' could not be converted to 'bool'.",
                    crate::yaml::display(&v)
                )
            }),
        }
    }

    /// A text keyword.
    pub fn text(&self, key: &str, v: &Option<Value>) -> Result<Option<String>, String> {
        Ok(self.value_opt(key, v)?.filter(|v| !v.is_null()).map(|v| crate::yaml::display(&v)))
    }
}
