//! Which ansible.cfg applies, found as Ansible finds it (`find_ini_config_file`): the first that
//! exists and is readable of `$ANSIBLE_CONFIG` (a directory means its ansible.cfg),
//! `./ansible.cfg` (skipped, with a warning, when the current directory is world-writable),
//! `~/.ansible.cfg` and `/etc/ansible/ansible.cfg`. Only that one file is read.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The chosen file, and a warning to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Located {
    /// The ansible.cfg to read, if any.
    pub path: Option<PathBuf>,
    /// Set when ./ansible.cfg was skipped because the directory is world-writable.
    pub warning: Option<String>,
}

/// Finds the config file. `env` reads a variable; `cwd` and `home` are the current and home
/// directories; `system` is /etc/ansible/ansible.cfg (a parameter for tests).
pub fn locate(env: &dyn Fn(&str) -> Option<String>, cwd: &Path, home: Option<&Path>, system: &Path) -> Located {
    let mut candidates: Vec<PathBuf> = Vec::new();
    let from_env = env("ANSIBLE_CONFIG").map(|v| {
        let p = super::paths::resolve(&v, cwd, env, home);
        if p.is_dir() {
            p.join("ansible.cfg")
        } else {
            p
        }
    });
    candidates.extend(from_env.clone());
    let cwd_cfg = cwd.join("ansible.cfg");
    let world_writable = std::fs::metadata(cwd).map(|m| m.permissions().mode() & 0o002 != 0).unwrap_or(false);
    let skipped_cwd = world_writable && cwd_cfg.exists();
    if !world_writable {
        candidates.push(cwd_cfg);
    }
    if let Some(h) = home {
        candidates.push(h.join(".ansible.cfg"));
    }
    candidates.push(system.to_path_buf());
    let path = candidates.into_iter().find(|p| p.is_file() && std::fs::File::open(p).is_ok());
    let warning = (skipped_cwd && (from_env.is_none() || from_env != path)).then(|| {
        format!(
            "orc is being run in a world writable directory ({}), ignoring it as an ansible.cfg source, as Ansible does",
            cwd.display()
        )
    });
    Located { path, warning }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn first_found_wins_in_ansibles_order() {
        let t = tempfile::tempdir().unwrap();
        let (cwd, home, etc) = (t.path().join("cwd"), t.path().join("home"), t.path().join("etc/ansible.cfg"));
        for d in [&cwd, &home, &t.path().join("etc")] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let find = |env: &dyn Fn(&str) -> Option<String>| locate(env, &cwd, Some(&home), &etc).path;
        assert_eq!(find(&no_env), None);
        std::fs::write(&etc, "").unwrap();
        assert_eq!(find(&no_env), Some(etc.clone()));
        std::fs::write(home.join(".ansible.cfg"), "").unwrap();
        assert_eq!(find(&no_env), Some(home.join(".ansible.cfg")));
        std::fs::write(cwd.join("ansible.cfg"), "").unwrap();
        assert_eq!(find(&no_env), Some(cwd.join("ansible.cfg")));
        // ANSIBLE_CONFIG: a file, or a directory holding ansible.cfg; a missing one falls through.
        let other = t.path().join("other.cfg");
        std::fs::write(&other, "").unwrap();
        let env_file = |k: &str| (k == "ANSIBLE_CONFIG").then(|| other.display().to_string());
        assert_eq!(find(&env_file), Some(other.clone()));
        let env_dir = |k: &str| (k == "ANSIBLE_CONFIG").then(|| home.display().to_string());
        assert_eq!(find(&env_dir), Some(cwd.join("ansible.cfg")), "home/ansible.cfg does not exist");
        std::fs::write(home.join("ansible.cfg"), "").unwrap();
        assert_eq!(find(&env_dir), Some(home.join("ansible.cfg")));
    }

    #[test]
    fn a_world_writable_cwd_is_skipped_with_a_warning() {
        let t = tempfile::tempdir().unwrap();
        let cwd = t.path().join("shared");
        std::fs::create_dir(&cwd).unwrap();
        std::fs::write(cwd.join("ansible.cfg"), "").unwrap();
        std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o777)).unwrap();
        let etc = t.path().join("none.cfg");
        let l = locate(&no_env, &cwd, None, &etc);
        assert_eq!(l.path, None);
        assert!(l.warning.unwrap().contains("world writable directory"));
        // Named by ANSIBLE_CONFIG, it is used, and there is nothing to warn about.
        let cfg = cwd.join("ansible.cfg").display().to_string();
        let env = move |k: &str| (k == "ANSIBLE_CONFIG").then(|| cfg.clone());
        let l = locate(&env, &cwd, None, &etc);
        assert_eq!(l.path, Some(cwd.join("ansible.cfg")));
        assert_eq!(l.warning, None);
    }
}
