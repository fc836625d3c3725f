//! `lookup()`, `query()` and `q()`: the `env`, `file`, `template`, `vars`, `pipe`, `lines`,
//! `first_found`, `items` and `list` lookups, with Ansible's result shaping (`lookup` returns the
//! single item, or the items joined by commas; `query` and `wantlist=True` return the list).

use std::path::Path;
use std::process::Command;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::filters::err;
use super::search::{self, RenderScope};
use super::{keep_trailing_newlines, pyfmt};

/// Registers `lookup`, `query` and `q` as global functions.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

fn lookup(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist: Option<bool> = kwargs.get("wantlist")?;
    let results = run(state, &name, terms.0, &kwargs)?;
    if wantlist.unwrap_or(false) {
        return Ok(Value::from(results));
    }
    Ok(match results.len() {
        0 => Value::from(Vec::<Value>::new()),
        1 => results.into_iter().next().unwrap_or_default(),
        _ if results.iter().all(|r| r.kind() == ValueKind::String) => {
            Value::from(results.iter().map(pyfmt::to_str).collect::<Vec<_>>().join(","))
        }
        _ => Value::from(results),
    })
}

fn query(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let _: Option<bool> = kwargs.get("wantlist")?;
    Ok(Value::from(run(state, &name, terms.0, &kwargs)?))
}

/// Terms as strings; a list given as a term is expanded (Ansible flattens lookup terms).
fn term_strings(terms: &[Value]) -> Result<Vec<String>, Error> {
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

/// Runs the lookup plugin `name` on `terms` and returns its list of results.
fn run(state: &State, name: &str, terms: Vec<Value>, kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let plugin = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    let vars = search::current_vars();
    let default: Option<Value> = kwargs.get("default")?;
    let out = match plugin {
        "env" => term_strings(&terms)?
            .into_iter()
            .map(|t| match std::env::var(&t) {
                Ok(v) => Value::from(v),
                Err(_) => default.clone().unwrap_or_else(|| Value::from("")),
            })
            .collect(),
        "vars" => {
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                let found = state
                    .lookup(&t)
                    .filter(|v| !v.is_undefined())
                    .or_else(|| vars.get_attr(&t).ok().filter(|v| !v.is_undefined()));
                match (found, &default) {
                    (Some(v), _) => out.push(v),
                    (None, Some(d)) => out.push(d.clone()),
                    (None, None) => {
                        return Err(Error::new(
                            ErrorKind::UndefinedError,
                            format!("`{t}` is undefined"),
                        ))
                    }
                }
            }
            out
        }
        "file" => {
            let lstrip: Option<bool> = kwargs.get("lstrip")?;
            let rstrip: Option<bool> = kwargs.get("rstrip")?;
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                let path = search::find_file(&t, "files", &vars)
                    .ok_or_else(|| err(format!("could not locate file in lookup: {t}")))?;
                let mut text = std::fs::read_to_string(&path)
                    .map_err(|e| err(format!("could not read {}: {e}", path.display())))?;
                if rstrip.unwrap_or(true) {
                    text.truncate(text.trim_end().len());
                }
                if lstrip.unwrap_or(false) {
                    text = text.trim_start().to_string();
                }
                out.push(Value::from(text));
            }
            out
        }
        "template" => {
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                let path = search::find_file(&t, "templates", &vars)
                    .ok_or_else(|| err(format!("could not locate file in lookup: {t}")))?;
                out.push(Value::from(render_template_file(state, &path, &vars)?));
            }
            out
        }
        "pipe" | "lines" => {
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                let output = Command::new("sh")
                    .arg("-c")
                    .arg(&t)
                    .output()
                    .map_err(|e| err(format!("lookup_plugin.pipe({t}): {e}")))?;
                if !output.status.success() {
                    return Err(err(format!(
                        "lookup_plugin.pipe({t}) returned {}",
                        output.status.code().unwrap_or(-1)
                    )));
                }
                let text = String::from_utf8_lossy(&output.stdout);
                if plugin == "pipe" {
                    out.push(Value::from(text.trim_end()));
                } else {
                    out.extend(text.lines().map(Value::from));
                }
            }
            out
        }
        "first_found" => {
            let mut found = None;
            for t in term_strings(&terms)? {
                if let Some(p) = search::find_file(&t, "files", &vars) {
                    found = Some(p);
                    break;
                }
            }
            match found {
                Some(p) => vec![Value::from(p.to_string_lossy().into_owned())],
                None => {
                    let skip: Option<bool> = kwargs.get("skip")?;
                    if skip.unwrap_or(false) {
                        vec![]
                    } else {
                        return Err(err("No file was found when using first_found."));
                    }
                }
            }
        }
        "password" => {
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                out.push(super::password_lookup::password(&t, kwargs, &vars)?);
            }
            for key in ["length", "chars"] {
                let _: Option<Value> = kwargs.get(key)?;
            }
            out
        }
        "items" | "list" | "flattened" => {
            let mut out = Vec::new();
            for t in terms {
                match t.kind() {
                    ValueKind::Seq if plugin != "list" => out.extend(t.try_iter()?),
                    _ => out.push(t),
                }
            }
            out
        }
        "community.general.etcd3" => super::etcd3_lookup::run(&term_strings(&terms)?, kwargs)?,
        other => {
            return Err(err(format!(
                "lookup plugin '{other}' is not supported by orc (supported: env, file, template, vars, pipe, lines, first_found, password, items, list, community.general.etcd3)"
            )))
        }
    };
    // Options the plugins read are consumed above; reject the rest like Ansible rejects
    // unknown plugin options.
    for key in ["wantlist", "errors", "skip"] {
        let _: Option<Value> = kwargs.get(key)?;
    }
    kwargs.assert_all_used()?;
    Ok(out)
}

/// Renders a template file found by `lookup('template')` with the current variables.
fn render_template_file(state: &State, path: &Path, vars: &Value) -> Result<String, Error> {
    let source = std::fs::read_to_string(path).map_err(|e| err(format!("could not read {}: {e}", path.display())))?;
    let _scope = RenderScope::enter(vars, Some(path));
    let _capture = super::native::Capture::start();
    let name = path.to_string_lossy();
    let rendered = state.env().get_template(&name)?.render(vars)?;
    Ok(keep_trailing_newlines(&source, rendered))
}
