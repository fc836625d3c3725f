//! `tempfile`: creates a temporary file or directory on the host with `mktemp`, as Ansible's
//! `tempfile` (name = prefix + random + suffix, in `path` or the host's temp dir).

use serde::Deserialize;

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// What to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum TempKind {
    /// A regular file (mode 0600).
    #[default]
    File,
    /// A directory (mode 0700).
    Directory,
}

/// `tempfile` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct TempfileArgs {
    /// file or directory.
    #[serde(default)]
    pub state: TempKind,
    /// Directory to create it in (default: `$TMPDIR` or /tmp on the host).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub path: Option<String>,
    /// Start of the name.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub prefix: Option<String>,
    /// End of the name.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub suffix: Option<String>,
}

/// The `tempfile` module.
pub struct Tempfile;

/// The `mktemp` command line for these arguments (8 random characters, as Python's mkstemp).
pub fn mktemp_cmd(a: &TempfileArgs) -> String {
    let mut cmd = String::from("mktemp");
    if a.state == TempKind::Directory {
        cmd.push_str(" -d");
    }
    match &a.path {
        Some(p) => cmd.push_str(&format!(" -p {}", quote(p))),
        None => cmd.push_str(" -p \"${TMPDIR:-/tmp}\""),
    }
    let suffix = a.suffix.clone().unwrap_or_default();
    if !suffix.is_empty() {
        cmd.push_str(&format!(" --suffix={}", quote(&suffix)));
    }
    let prefix = a.prefix.clone().unwrap_or_else(|| "ansible.".into());
    cmd.push_str(&format!(" -- {}", quote(&format!("{prefix}XXXXXXXX"))));
    cmd
}

impl TypedModule for Tempfile {
    type Args = TempfileArgs;
    const NAME: &'static str = "tempfile";
    const DOC: ModuleText = ModuleText {
        short: "Creates a temporary file or directory on the host with `mktemp` and returns its path.",
        notes: "The name is `prefix` (default `ansible.`), 8 random characters and `suffix`, in `path` or \
                else the host's `$TMPDIR` (or /tmp). Needs `mktemp` on the host with `-p` (and \
                `--suffix` when a suffix is given), as GNU coreutils has. Nothing removes it later: \
                delete it with `file` (`state: absent`) when done. Always reports a change; check \
                mode: skipped, as in Ansible.",
        returns: &[("path", "The path of the file or directory created.")],
        example: "- name: Create a scratch directory\n  ansible.builtin.tempfile:\n    state: directory\n    \
                  suffix: .build\n  register: scratch\n",
    };

    /// As Ansible's: `prefix` and `suffix` are parts of a file name, not paths.
    fn check_args(a: &TempfileArgs) -> Result<(), ArgError> {
        for (name, value) in [("prefix", &a.prefix), ("suffix", &a.suffix)] {
            if value.as_deref().is_some_and(|v| v.contains('/')) {
                return Err(ArgError { msg: format!("{name} must be a valid file name component, not a path") });
            }
        }
        Ok(())
    }

    fn run(&self, mut a: TempfileArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.check {
            let mut r = ModuleResult::ok().with_msg("remote module (tempfile) does not support check mode");
            r.skipped = true;
            return Ok(r);
        }
        // `path` is Ansible's type `path`: a leading `~` is the host user's home.
        if let Some(p) = &a.path {
            a.path = Some(crate::sh_words::expand_user(ctx, p)?);
        }
        let out = ctx.conn.exec(&mktemp_cmd(&a), None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!(
                "Failed to create temporary {}: {}",
                match a.state {
                    TempKind::File => "file",
                    TempKind::Directory => "directory",
                },
                out.stderr_str().trim()
            )));
        }
        // Ansible's result carries the path's type as `state`, as file's does.
        let state = match a.state {
            TempKind::File => "file",
            TempKind::Directory => "directory",
        };
        Ok(ModuleResult::changed(true)
            .with("path", out.stdout_str().trim_end_matches('\n').to_string())
            .with("state", state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::Sandbox;
    use serde_json::json;

    #[test]
    fn creates_files_and_dirs_with_prefix_and_suffix() {
        let mut sb = Sandbox::new();
        let dir = sb.path("");
        let r = sb.ok(&Tempfile, json!({"path": dir, "prefix": "pre.", "suffix": ".conf"}));
        let p = r.data["path"].as_str().unwrap().to_string();
        let name = std::path::Path::new(&p).file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with("pre.") && name.ends_with(".conf") && name.len() == 4 + 8 + 5, "{name}");
        assert!(std::path::Path::new(&p).is_file());
        assert_eq!(r.data["state"], "file");
        let r = sb.ok(&Tempfile, json!({"path": dir, "state": "directory"}));
        assert_eq!(r.data["state"], "directory");
        let d = r.data["path"].as_str().unwrap();
        assert!(std::path::Path::new(d).is_dir() && d.contains("/ansible."));
        let r = sb.run(&Tempfile, json!({"path": dir}), true, false).unwrap();
        assert!(r.skipped && !r.changed);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        for bad in [json!({"prefix": "../x"}), json!({"suffix": "../world", "state": "directory"})] {
            let e = crate::contract::Module::validate(&Tempfile, bad.as_object().unwrap()).unwrap_err();
            assert!(e.msg.contains("must be a valid file name component"), "{}", e.msg);
        }
    }

    #[test]
    fn a_leading_tilde_in_path_is_the_home_directory() {
        // package_facts target: `tempfile: path=~ state=directory`.
        let mut sb = Sandbox::new();
        let home = sb.path("home");
        std::fs::create_dir(&home).unwrap();
        sb.conn.env.push(("HOME".into(), home.clone()));
        let r = sb.ok(&Tempfile, json!({"path": "~", "state": "directory"}));
        let d = r.data["path"].as_str().unwrap();
        assert!(d.starts_with(&format!("{home}/ansible.")) && std::path::Path::new(d).is_dir(), "{d}");
    }
}
