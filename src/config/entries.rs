//! Ansible's configuration entries as `lookup('config', ...)` answers them: the global settings
//! orc reads (ansible.cfg and ANSIBLE_* as [`super::Settings`] reads them) and the options of the
//! plugins orc has (become `sudo` and `su`, shell `sh`), each with its names (environment
//! variables, ini keys, host variables) and Ansible's documented default
//! (ansible-core 2.19's `config/base.yml` and the plugins' DOCUMENTATION).
//!
//! Resolution is Ansible's `ConfigManager.get_config_value_and_origin`: variables (plugin options
//! only), then the environment, then the file, then the default; of several names for one place
//! the last one set wins (`_loop_entries`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use super::{paths, unquote, Ini, Reader};

/// How Ansible types an entry's value (`ensure_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    /// `boolean`.
    Bool,
    /// `integer`.
    Int,
    /// A string (no type, or `string`).
    Str,
    /// `path`: `~` and variables expanded, relative to the file that set it.
    Path,
    /// `pathspec`: `:`-separated paths.
    PathSpec,
    /// `pathlist`: `,`-separated paths.
    PathList,
    /// `list`: `,`-separated strings.
    List,
}

/// One configuration entry.
struct Entry {
    name: &'static str,
    ty: Type,
    /// The default as text, typed like a value from the environment (`None`: no default).
    /// `{home}` stands for ANSIBLE_HOME's value.
    default: Option<&'static str>,
    env: &'static [&'static str],
    ini: &'static [(&'static str, &'static str)],
    /// Host variables that set it (plugin options only).
    vars: &'static [&'static str],
}

const D: &str = "defaults";
const PE: &str = "privilege_escalation";

const fn e(
    name: &'static str,
    ty: Type,
    default: Option<&'static str>,
    env: &'static [&'static str],
    ini: &'static [(&'static str, &'static str)],
) -> Entry {
    Entry { name, ty, default, env, ini, vars: &[] }
}

/// The global entries orc knows (`ansible-config list` names).
const GLOBAL: &[Entry] = &[
    e("ANSIBLE_HOME", Type::Path, Some("~/.ansible"), &["ANSIBLE_HOME"], &[(D, "home")]),
    e(
        "COLLECTIONS_PATHS",
        Type::PathSpec,
        Some("{home}/collections:/usr/share/ansible/collections"),
        &["ANSIBLE_COLLECTIONS_PATHS", "ANSIBLE_COLLECTIONS_PATH"],
        &[(D, "collections_paths"), (D, "collections_path")],
    ),
    e("DEFAULT_BECOME", Type::Bool, Some("False"), &["ANSIBLE_BECOME"], &[(PE, "become")]),
    e("DEFAULT_BECOME_EXE", Type::Str, None, &["ANSIBLE_BECOME_EXE"], &[(PE, "become_exe")]),
    e("DEFAULT_BECOME_FLAGS", Type::Str, Some(""), &["ANSIBLE_BECOME_FLAGS"], &[(PE, "become_flags")]),
    e("DEFAULT_BECOME_METHOD", Type::Str, Some("sudo"), &["ANSIBLE_BECOME_METHOD"], &[(PE, "become_method")]),
    e("DEFAULT_BECOME_USER", Type::Str, Some("root"), &["ANSIBLE_BECOME_USER"], &[(PE, "become_user")]),
    e("DEFAULT_FORKS", Type::Int, Some("5"), &["ANSIBLE_FORKS"], &[(D, "forks")]),
    e("DEFAULT_GATHERING", Type::Str, Some("implicit"), &["ANSIBLE_GATHERING"], &[(D, "gathering")]),
    e("DEFAULT_HASH_BEHAVIOUR", Type::Str, Some("replace"), &["ANSIBLE_HASH_BEHAVIOUR"], &[(D, "hash_behaviour")]),
    e("DEFAULT_HOST_LIST", Type::PathList, Some("/etc/ansible/hosts"), &["ANSIBLE_INVENTORY"], &[(D, "inventory")]),
    e("DEFAULT_PRIVATE_KEY_FILE", Type::Path, None, &["ANSIBLE_PRIVATE_KEY_FILE"], &[(D, "private_key_file")]),
    e(
        "DEFAULT_PRIVATE_ROLE_VARS",
        Type::Bool,
        Some("False"),
        &["ANSIBLE_PRIVATE_ROLE_VARS"],
        &[(D, "private_role_vars")],
    ),
    e("DEFAULT_REMOTE_PORT", Type::Int, None, &["ANSIBLE_REMOTE_PORT"], &[(D, "remote_port")]),
    e("DEFAULT_REMOTE_USER", Type::Str, None, &["ANSIBLE_REMOTE_USER"], &[(D, "remote_user")]),
    e(
        "DEFAULT_ROLES_PATH",
        Type::PathSpec,
        Some("{home}/roles:/usr/share/ansible/roles:/etc/ansible/roles"),
        &["ANSIBLE_ROLES_PATH"],
        &[(D, "roles_path")],
    ),
    e("DEFAULT_STDOUT_CALLBACK", Type::Str, Some("default"), &["ANSIBLE_STDOUT_CALLBACK"], &[(D, "stdout_callback")]),
    e("DEFAULT_TIMEOUT", Type::Int, Some("10"), &["ANSIBLE_TIMEOUT"], &[(D, "timeout")]),
    e(
        "DEFAULT_VAULT_IDENTITY_LIST",
        Type::List,
        Some(""),
        &["ANSIBLE_VAULT_IDENTITY_LIST"],
        &[(D, "vault_identity_list")],
    ),
    e("DEFAULT_VAULT_PASSWORD_FILE", Type::Path, None, &["ANSIBLE_VAULT_PASSWORD_FILE"], &[(D, "vault_password_file")]),
    e(
        "ERROR_ON_MISSING_HANDLER",
        Type::Bool,
        Some("True"),
        &["ANSIBLE_ERROR_ON_MISSING_HANDLER"],
        &[(D, "error_on_missing_handler")],
    ),
    e("HOST_KEY_CHECKING", Type::Bool, Some("True"), &["ANSIBLE_HOST_KEY_CHECKING"], &[(D, "host_key_checking")]),
    e(
        "INVENTORY_ENABLED",
        Type::List,
        Some("host_list,script,auto,yaml,ini,toml"),
        &["ANSIBLE_INVENTORY_ENABLED"],
        &[("inventory", "enable_plugins")],
    ),
];

/// The sudo become plugin's options (`plugins/become/sudo.py`).
const BECOME_SUDO: &[Entry] = &[
    Entry {
        name: "become_exe",
        ty: Type::Str,
        default: Some("sudo"),
        env: &["ANSIBLE_BECOME_EXE", "ANSIBLE_SUDO_EXE"],
        ini: &[(PE, "become_exe"), ("sudo_become_plugin", "executable")],
        vars: &["ansible_become_exe", "ansible_sudo_exe"],
    },
    Entry {
        name: "become_flags",
        ty: Type::Str,
        default: Some("-H -S -n"),
        env: &["ANSIBLE_BECOME_FLAGS", "ANSIBLE_SUDO_FLAGS"],
        ini: &[(PE, "become_flags"), ("sudo_become_plugin", "flags")],
        vars: &["ansible_become_flags", "ansible_sudo_flags"],
    },
    Entry {
        name: "become_user",
        ty: Type::Str,
        default: Some("root"),
        env: &["ANSIBLE_BECOME_USER", "ANSIBLE_SUDO_USER"],
        ini: &[(PE, "become_user"), ("sudo_become_plugin", "user")],
        vars: &["ansible_become_user", "ansible_sudo_user"],
    },
    Entry {
        name: "sudo_chdir",
        ty: Type::Str,
        default: None,
        env: &["ANSIBLE_SUDO_CHDIR"],
        ini: &[("sudo_become_plugin", "chdir")],
        vars: &["ansible_sudo_chdir"],
    },
];

/// The su become plugin's options (`plugins/become/su.py`).
const BECOME_SU: &[Entry] = &[
    Entry {
        name: "become_exe",
        ty: Type::Str,
        default: Some("su"),
        env: &["ANSIBLE_BECOME_EXE", "ANSIBLE_SU_EXE"],
        ini: &[(PE, "become_exe"), ("su_become_plugin", "executable")],
        vars: &["ansible_become_exe", "ansible_su_exe"],
    },
    Entry {
        name: "become_flags",
        ty: Type::Str,
        default: Some(""),
        env: &["ANSIBLE_BECOME_FLAGS", "ANSIBLE_SU_FLAGS"],
        ini: &[(PE, "become_flags"), ("su_become_plugin", "flags")],
        vars: &["ansible_become_flags", "ansible_su_flags"],
    },
    Entry {
        name: "become_user",
        ty: Type::Str,
        default: Some("root"),
        env: &["ANSIBLE_BECOME_USER", "ANSIBLE_SU_USER"],
        ini: &[(PE, "become_user"), ("su_become_plugin", "user")],
        vars: &["ansible_become_user", "ansible_su_user"],
    },
];

/// The sh shell plugin's options orc knows (`plugins/shell/sh.py`, its shared `remote_tmp`).
const SHELL_SH: &[Entry] = &[Entry {
    name: "remote_tmp",
    ty: Type::Str,
    default: Some("~/.ansible/tmp"),
    env: &["ANSIBLE_REMOTE_TEMP", "ANSIBLE_REMOTE_TMP"],
    ini: &[(D, "remote_tmp")],
    vars: &["ansible_remote_tmp"],
}];

/// The plugin types `plugin_type` may name (the config lookup's choices).
const PLUGIN_TYPES: &[&str] = &[
    "become",
    "cache",
    "callback",
    "cliconf",
    "connection",
    "httpapi",
    "inventory",
    "lookup",
    "netconf",
    "shell",
    "vars",
];

/// The entries of plugin `name` of `kind` orc has, or `None` when orc has no such plugin.
fn plugin_entries(kind: &str, name: &str) -> Option<&'static [Entry]> {
    let name = name.strip_prefix("ansible.builtin.").or_else(|| name.strip_prefix("ansible.legacy.")).unwrap_or(name);
    match (kind, name) {
        ("become", "sudo") => Some(BECOME_SUDO),
        ("become", "su") => Some(BECOME_SU),
        ("shell", "sh") => Some(SHELL_SH),
        _ => None,
    }
}

/// Why an entry could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No entry of that name (Ansible's `AnsibleUndefinedConfigEntry`): `on_missing` decides.
    Undefined(String),
    /// Anything else (a bad plugin, a value of the wrong type): always an error.
    Invalid(String),
}

/// What the run's configuration was read from: the ansible.cfg orc loaded, and where relative
/// paths are taken from. Installed once by `ops` ([`install_source`]).
struct Source {
    ini: Option<Ini>,
    cwd: PathBuf,
    home: Option<PathBuf>,
}

static SOURCE: OnceLock<Source> = OnceLock::new();

/// Makes the ansible.cfg that was read (if any) the file `lookup('config', ...)` reads (the
/// first call wins); without it (unit tests) only the environment and the defaults count.
pub fn install_source(settings: &super::Settings) {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let _ = SOURCE.set(Source { ini: settings.ini.clone(), cwd, home });
}

/// The value of entry `term` (of plugin `plugin` = (type, name) when given), as
/// `lookup('config', term)` returns it. `var` reads a host variable (for plugin options set by
/// variables, such as `ansible_become_flags`); `env` reads the environment.
pub fn lookup(
    term: &str,
    plugin: Option<(&str, &str)>,
    var: &dyn Fn(&str) -> Option<Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, LookupError> {
    let fallback;
    let source = match SOURCE.get() {
        Some(s) => s,
        None => {
            fallback = Source {
                ini: None,
                cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
                home: std::env::var_os("HOME").map(PathBuf::from),
            };
            &fallback
        }
    };
    resolve(term, plugin, var, env, source.ini.as_ref(), &source.cwd, source.home.as_deref())
}

fn label(term: &str, plugin: Option<(&str, &str)>) -> String {
    match plugin {
        Some((kind, name)) => format!("'{term}' for '{name}' {kind} plugin"),
        None => format!("'{term}'"),
    }
}

fn resolve(
    term: &str,
    plugin: Option<(&str, &str)>,
    var: &dyn Fn(&str) -> Option<Value>,
    env: &dyn Fn(&str) -> Option<String>,
    ini: Option<&Ini>,
    cwd: &Path,
    home: Option<&Path>,
) -> Result<Value, LookupError> {
    let entries = match plugin {
        None => GLOBAL,
        Some((kind, name)) => {
            if !PLUGIN_TYPES.contains(&kind) {
                return Err(LookupError::Invalid(format!("Unable to load {kind} plugin '{name}'.")));
            }
            plugin_entries(kind, name)
                .ok_or_else(|| LookupError::Invalid(format!("Unable to load {kind} plugin '{name}'.")))?
        }
    };
    let entry = entries
        .iter()
        .find(|e| e.name == term)
        .ok_or_else(|| LookupError::Undefined(format!("No config definition exists for {}.", label(term, plugin))))?;
    // Variables first (the last one set wins, as for the other sources).
    if let Some(v) = entry.vars.iter().rev().find_map(|n| var(n).filter(|v| !v.is_null())) {
        return typed_value(entry, v);
    }
    let reader = Reader { env, ini: ini.cloned(), cwd, home };
    let bad = |e: crate::error::OrcError| LookupError::Invalid(e.to_string());
    if let Some(raw) = reader.raw(entry.env, entry.ini) {
        let text = raw.text();
        return match entry.ty {
            Type::Bool => reader.boolean(entry.env, entry.ini).map(|b| Value::Bool(b.unwrap_or(false))).map_err(bad),
            Type::Int => {
                reader.integer(entry.env, entry.ini).map(|i| i.map(Value::from).unwrap_or(Value::Null)).map_err(bad)
            }
            Type::Str => Ok(Value::String(text)),
            Type::List => Ok(list(&text)),
            Type::Path => Ok(Value::String(paths::resolve(&text, raw.base(cwd), env, home).display().to_string())),
            Type::PathSpec | Type::PathList => {
                let sep = if entry.ty == Type::PathSpec { ':' } else { ',' };
                Ok(Value::Array(
                    text.split(sep)
                        .map(|p| unquote(p.trim()))
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::String(paths::resolve(&p, raw.base(cwd), env, home).display().to_string()))
                        .collect(),
                ))
            }
        };
    }
    let Some(default) = entry.default else { return Ok(Value::Null) };
    let ansible_home = || {
        resolve("ANSIBLE_HOME", None, var, env, ini, cwd, home)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let text =
        if default.contains("{home}") { default.replace("{home}", &ansible_home()) } else { default.to_string() };
    typed_value(entry, Value::String(text)).map(|v| match (entry.ty, v) {
        (Type::Path, Value::String(p)) => Value::String(paths::resolve(&p, cwd, env, home).display().to_string()),
        (_, v) => v,
    })
}

/// `text` split on commas, each item trimmed (Ansible's `list` type).
fn list(text: &str) -> Value {
    Value::Array(text.split(',').map(|s| unquote(s.trim())).filter(|s| !s.is_empty()).map(Value::String).collect())
}

/// A value given as data (a variable or a default) typed as the entry is.
fn typed_value(entry: &Entry, v: Value) -> Result<Value, LookupError> {
    let text = match &v {
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) | Value::Array(_) => return Ok(v),
        _ => return Ok(v),
    };
    Ok(match entry.ty {
        Type::Bool => {
            Value::Bool(matches!(text.to_lowercase().as_str(), "y" | "yes" | "on" | "1" | "true" | "t" | "1.0"))
        }
        Type::Int => text.trim().parse::<i64>().map(Value::from).map_err(|_| {
            LookupError::Invalid(format!("Invalid type for configuration option {}: {text}", entry.name))
        })?,
        Type::Str | Type::Path => Value::String(text),
        Type::List => list(&text),
        Type::PathSpec => {
            Value::Array(text.split(':').filter(|p| !p.is_empty()).map(|p| Value::String(p.into())).collect())
        }
        Type::PathList => {
            Value::Array(text.split(',').filter(|p| !p.is_empty()).map(|p| Value::String(p.trim().into())).collect())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;
    use std::collections::HashMap;

    fn run(
        term: &str,
        plugin: Option<(&str, &str)>,
        envs: &[(&str, &str)],
        cfg: Option<&str>,
    ) -> Result<Value, LookupError> {
        let env_map: HashMap<String, String> = envs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = move |k: &str| env_map.get(k).cloned();
        let ini = cfg.map(|t| Ini::parse(SourceFile::new(PathBuf::from("/p/ansible.cfg"), t.to_string())).unwrap());
        let no_vars = |_: &str| None;
        resolve(term, plugin, &no_vars, &env, ini.as_ref(), Path::new("/cwd"), Some(Path::new("/home/u")))
    }

    #[test]
    fn global_entries_come_from_env_then_file_then_default() {
        assert_eq!(run("DEFAULT_PRIVATE_ROLE_VARS", None, &[], None), Ok(Value::Bool(false)));
        assert_eq!(
            run("DEFAULT_PRIVATE_ROLE_VARS", None, &[("ANSIBLE_PRIVATE_ROLE_VARS", "1")], None),
            Ok(Value::Bool(true))
        );
        let cfg = Some("[defaults]\nprivate_role_vars = yes\nforks = 9\n");
        assert_eq!(run("DEFAULT_PRIVATE_ROLE_VARS", None, &[], cfg), Ok(Value::Bool(true)));
        assert_eq!(
            run("DEFAULT_PRIVATE_ROLE_VARS", None, &[("ANSIBLE_PRIVATE_ROLE_VARS", "0")], cfg),
            Ok(Value::Bool(false))
        );
        assert_eq!(run("DEFAULT_FORKS", None, &[], cfg), Ok(Value::from(9)));
        assert_eq!(run("DEFAULT_FORKS", None, &[], None), Ok(Value::from(5)));
        assert_eq!(run("DEFAULT_BECOME_USER", None, &[], None), Ok(Value::from("root")));
        assert_eq!(run("DEFAULT_REMOTE_USER", None, &[], None), Ok(Value::Null));
        assert_eq!(
            run("DEFAULT_ROLES_PATH", None, &[], None),
            Ok(serde_json::json!(["/home/u/.ansible/roles", "/usr/share/ansible/roles", "/etc/ansible/roles"]))
        );
        assert_eq!(
            run("DEFAULT_ROLES_PATH", None, &[("ANSIBLE_HOME", "/h")], None),
            Ok(serde_json::json!(["/h/roles", "/usr/share/ansible/roles", "/etc/ansible/roles"]))
        );
        assert_eq!(run("ANSIBLE_HOME", None, &[], None), Ok(Value::from("/home/u/.ansible")));
    }

    #[test]
    fn plugin_options_and_unknown_names_answer_as_ansible() {
        let sudo = Some(("become", "sudo"));
        assert_eq!(run("become_flags", sudo, &[], None), Ok(Value::from("-H -S -n")));
        assert_eq!(run("become_exe", sudo, &[("ANSIBLE_SUDO_EXE", "/x")], None), Ok(Value::from("/x")));
        assert_eq!(
            run("become_flags", sudo, &[], Some("[privilege_escalation]\nbecome_flags = -E\n")),
            Ok(Value::from("-E"))
        );
        assert_eq!(run("become_exe", Some(("become", "ansible.builtin.su")), &[], None), Ok(Value::from("su")));
        assert_eq!(
            run("NOPE", None, &[], None),
            Err(LookupError::Undefined("No config definition exists for 'NOPE'.".into()))
        );
        assert_eq!(
            run("nope", sudo, &[], None),
            Err(LookupError::Undefined("No config definition exists for 'nope' for 'sudo' become plugin.".into()))
        );
        assert_eq!(
            run("become_exe", Some(("become", "nosuch")), &[], None),
            Err(LookupError::Invalid("Unable to load become plugin 'nosuch'.".into()))
        );
        let vars = |n: &str| (n == "ansible_become_flags").then(|| Value::from("-X"));
        let env = |_: &str| None;
        let v = resolve("become_flags", sudo, &vars, &env, None, Path::new("/"), None);
        assert_eq!(v, Ok(Value::from("-X")));
    }
}
