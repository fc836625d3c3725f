//! `package`: the generic package module. `use: auto` (the default) picks the host's package
//! manager by probing for `apt-get`, then `dnf`, then `yum` (what the `ansible_pkg_mgr` fact would
//! say), and hands every argument to that module (`apt`, `dnf`, `yum`), as Ansible's action does.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, Decision, Housekeeping, Module, ModuleCtx, ModuleError, RunResult, TypedModule};
use crate::doc::ModuleText;

/// `package` arguments: name, state, use; anything else goes to the backend module.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
pub struct PackageArgs {
    /// Package names.
    #[serde(default, alias = "pkg")]
    pub name: Option<Value>,
    /// present, absent, latest (whatever the backend accepts).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub state: Option<String>,
    /// auto, apt, dnf, dnf5 (the dnf module) or yum.
    #[serde(default, rename = "use", deserialize_with = "crate::args::opt_string")]
    pub use_: Option<String>,
    /// Backend-specific arguments, passed through.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// The backends package can delegate to.
const BACKENDS: &[&str] = &["apt", "dnf", "dnf5", "yum"];

fn backend(name: &str) -> Option<&'static dyn Module> {
    match name {
        "apt" => Some(&crate::builtin::apt::Apt),
        "dnf" | "dnf5" => Some(&crate::builtin::dnf::Dnf),
        "yum" => Some(&crate::builtin::dnf::Yum),
        _ => None,
    }
}

/// The arguments handed to the backend.
fn backend_args(a: &PackageArgs) -> Map<String, Value> {
    let mut m = a.rest.clone();
    if let Some(n) = &a.name {
        m.insert("name".into(), n.clone());
    }
    if let Some(s) = &a.state {
        m.insert("state".into(), Value::String(s.clone()));
    }
    m
}

/// The `package` module.
pub struct Package;

impl TypedModule for Package {
    type Args = PackageArgs;
    const NAME: &'static str = "package";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Installs or removes packages with the host's package manager: apt, dnf or yum.",
        notes: "`use: auto` (the default) looks on the host for apt-get, then dnf, then yum (it does not read the \
                `ansible_pkg_mgr` fact) and hands the arguments to that module. With `use: auto` only `name`, \
                `state` and `update_cache` are accepted; name the backend in `use` to pass its own arguments, which \
                are then checked before anything runs. The return values are the backend module's.",
        returns: &[("(the backend's)", "What apt, dnf or yum returned (see `orc doc apt`, `orc doc dnf`).")],
        example: "- name: Install git whatever the distribution\n  \
                  ansible.builtin.package:\n    \
                  name: git\n    \
                  state: present\n",
    };

    fn check_args(a: &PackageArgs) -> Result<(), ArgError> {
        if a.name.is_none() {
            return Err(ArgError { msg: "missing required arguments: name".into() });
        }
        match a.use_.as_deref().unwrap_or("auto") {
            "auto" => {
                if let Some(k) = a.rest.keys().next() {
                    // Without knowing the backend, only arguments every backend takes are checked.
                    if !a.rest.keys().all(|k| k == "update_cache") {
                        return Err(ArgError {
                            msg: format!("unsupported argument {k} with use=auto; set `use:` to apt, dnf, dnf5 or yum to pass backend arguments"),
                        });
                    }
                }
                Ok(())
            }
            u => match backend(u) {
                Some(m) => m.validate(&backend_args(a)),
                None => Err(ArgError {
                    msg: format!(
                        "Could not find a matching action for the \"{u}\" package manager (orc's package uses auto, {})",
                        BACKENDS.join(", ")
                    ),
                }),
            },
        }
    }

    fn decide(&self, a: &PackageArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let m = pick_backend(a, ctx)?;
        let args = backend_args(a);
        m.validate(&args).map_err(|e| ModuleError::msg(format!("{}: {}", m.name(), e.msg)))?;
        let mut observed = Map::new();
        observed.insert("manager".into(), m.name().into());
        // Every backend (apt, dnf, yum) decides before it acts.
        let inner = m.decide(&args, ctx)?;
        observed.extend(inner.observed.clone());
        let result = inner.result.clone();
        let action = Housekeeping::when(inner.needs_apply(), PackageAction { backend: m, args, inner });
        Ok(Decision { result, observed, action })
    }

    fn apply(&self, _a: PackageArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<PackageAction>(Self::NAME)?;
        act.backend.apply(&act.args, act.inner, ctx)
    }
}

/// What `package` decided: the backend, its arguments and the backend's own decision.
struct PackageAction {
    backend: &'static dyn Module,
    args: Map<String, Value>,
    inner: Decision,
}

/// The backend `use` names, or (`auto`) the first of apt-get, dnf and yum found on the host.
fn pick_backend(a: &PackageArgs, ctx: &mut ModuleCtx) -> Result<&'static dyn Module, ModuleError> {
    let name = match a.use_.as_deref().unwrap_or("auto") {
        "auto" => {
            let out = ctx.conn.exec(
                "for m in apt-get dnf yum; do if command -v $m >/dev/null 2>&1; then echo $m; exit 0; fi; done; exit 1",
                None,
            )?;
            match out.stdout_str().trim() {
                "apt-get" => "apt",
                "dnf" => "dnf",
                "yum" => "yum",
                _ => {
                    // Ansible's text says "Try gathering facts": orc probes the host instead.
                    return Err(ModuleError::msg(
                        "Could not detect which package manager to use: none of apt-get, dnf or yum is on the \
                         host. Set the \"use\" option.",
                    ));
                }
            }
        }
        u => u,
    };
    backend(name).ok_or_else(|| ModuleError::msg(format!("unsupported package manager: {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(j: Value) -> Result<(), ArgError> {
        Package.validate(j.as_object().unwrap())
    }

    #[test]
    fn validates_through_the_chosen_backend() {
        assert!(v(json!({"name": "tree"})).is_ok());
        assert!(v(json!({"name": "tree", "use": "apt", "install_recommends": false})).is_ok());
        assert!(v(json!({"name": "tree", "use": "apt", "bogus": 1})).unwrap_err().msg.contains("unsupported argument"));
        assert!(v(json!({"name": "tree", "use": "pacman"}))
            .unwrap_err()
            .msg
            .contains("Could not find a matching action"));
        assert!(v(json!({"state": "present"})).unwrap_err().msg.contains("name"));
        assert!(v(json!({"name": "tree", "install_recommends": false})).is_err());
        // dnf5 is accepted, so the list of choices names it.
        assert!(v(json!({"name": "tree", "use": "dnf5"})).is_ok());
        assert_eq!(
            v(json!({"name": "tree", "use": "pacman"})).unwrap_err().msg,
            "Could not find a matching action for the \"pacman\" package manager (orc's package uses auto, apt, dnf, dnf5, yum)"
        );
    }

    #[test]
    fn a_host_without_a_package_manager_gets_an_error_about_the_host() {
        // orc probes the host (it never reads facts): the message says what it looked for.
        let bin = crate::builtin::test_support::path_with_only(&["sh"]);
        let mut sb = crate::builtin::test_support::Sandbox::new();
        sb.conn.env = vec![("PATH".into(), bin.path().display().to_string())];
        let e = sb.run(&Package, json!({"name": "tree"}), false, false).unwrap_err();
        assert_eq!(
            crate::builtin::test_support::fail_msg(e),
            "Could not detect which package manager to use: none of apt-get, dnf or yum is on the host. Set the \"use\" option."
        );
    }

    #[test]
    fn deciding_goes_through_the_backend_and_applying_hands_its_decision_back() {
        let dpkg = std::process::Command::new("dpkg-query").args(["-W", "-f=${Version}", "dpkg"]).output().unwrap();
        let version = String::from_utf8(dpkg.stdout).unwrap();
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let args = json!({"name": "dpkg", "use": "apt"});
        let d = sb.decide(&Package, &args);
        assert!(!d.result.changed);
        assert_eq!(d.observed.get("manager"), Some(&json!("apt")));
        assert_eq!(d.observed.get("installed"), Some(&json!({"dpkg": version})));
        let r = sb.apply(&Package, &args, d);
        assert!(!r.changed);
        assert!(!sb.conn.log.iter().any(|c| c.contains("apt-get") && c.contains(" install ")));
    }
}
