//! The magic variables: the names the engine defines for every task, and the ONE place that
//! makes them. The up-front undefined-variable check reads [`NAMES`]; a unit test makes sure
//! every variable the run defines is listed there (docs/architecture.md, "One compiled
//! playbook").

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Map, Value};

use super::Runner;
use crate::template::OMIT;

/// Every variable the engine defines (some only where they apply: `role_path` in a role, `item`
/// in a loop, `ansible_failed_result` in a rescue, the template module's `template_*`).
pub const NAMES: &[&str] = &[
    // The same for every host of a play: [`play`].
    "groups",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_batch",
    "ansible_play_name",
    "play_hosts",
    "ansible_check_mode",
    "ansible_diff_mode",
    "ansible_verbosity",
    "ansible_forks",
    "ansible_run_tags",
    "ansible_skip_tags",
    "playbook_dir",
    "omit",
    "ansible_version",
    "ansible_playbook_python",
    "ansible_play_role_names",
    "role_names",
    "ansible_dependent_role_names",
    "ansible_role_names",
    // Per host and task: [`host`].
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
    "hostvars",
    "vars",
    "role_path",
    "role_name",
    "ansible_role_name",
    "ansible_parent_role_names",
    "ansible_parent_role_paths",
    "ansible_search_path",
    "ansible_facts",
    "ansible_connection",
    "ansible_host",
    // Loops.
    "item",
    "ansible_loop",
    "ansible_loop_var",
    "ansible_index_var",
    // Rescue sections.
    "ansible_failed_result",
    "ansible_failed_task",
    // Templates rendered by the template module.
    "ansible_managed",
    "template_path",
    "template_fullpath",
    "template_destpath",
];

/// The magic variables that are the same for every host of a play.
pub fn play(runner: &Runner, play: &crate::playbook::Play, hosts: &[Value], batch: &[Value]) -> Map<String, Value> {
    let (name, play_dir) = (&play.name, &play.dir);
    let opts = runner.opts;
    let run_tags = if opts.tags.only.is_empty() { vec!["all".to_string()] } else { opts.tags.only.clone() };
    let magic = json!({
        "groups": runner.inv().groups_var(),
        "ansible_play_hosts": hosts,
        "ansible_play_hosts_all": hosts,
        "ansible_play_batch": batch,
        "ansible_play_name": name,
        "play_hosts": hosts,
        "ansible_check_mode": opts.check,
        "ansible_diff_mode": opts.diff,
        "ansible_verbosity": opts.verbosity,
        "ansible_forks": opts.forks,
        "ansible_run_tags": run_tags,
        "ansible_skip_tags": opts.tags.skip,
        "playbook_dir": absolute(play_dir),
        "omit": OMIT,
        "ansible_version": {"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0"},
        "ansible_playbook_python": playbook_python(),
    });
    let mut m = match magic {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    m.extend(role_names(&play.role_names));
    m
}

/// `ansible_play_role_names` (and its old name `role_names`), `ansible_dependent_role_names` and
/// `ansible_role_names` (both, without duplicates), as Ansible's `_get_magic_variables`.
pub fn role_names(names: &crate::playbook::RoleNames) -> Map<String, Value> {
    let mut deps = names.dependencies.clone();
    deps.sort();
    deps.dedup();
    let mut all: Vec<String> = names.play.iter().chain(&deps).cloned().collect();
    all.sort();
    all.dedup();
    let mut m = Map::new();
    m.insert("ansible_play_role_names".into(), json!(names.play));
    m.insert("role_names".into(), json!(names.play));
    m.insert("ansible_dependent_role_names".into(), json!(deps));
    m.insert("ansible_role_names".into(), json!(all));
    m
}

/// `ansible_playbook_python`: in Ansible the Python running ansible-playbook; orc runs no Python,
/// so it is the controller's `python3` (else `python`) found on PATH, which is what playbooks use
/// it for (`ansible_python_interpreter` of a local host). Without either, Ansible's default
/// interpreter path, `/usr/bin/python3`. Looked up once per run, never run.
fn playbook_python() -> String {
    static FOUND: OnceLock<String> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let path = std::env::var_os("PATH").unwrap_or_default();
            ["python3", "python"]
                .iter()
                .find_map(|name| {
                    std::env::split_paths(&path).map(|d| d.join(name)).find(|c| {
                        use std::os::unix::fs::PermissionsExt;
                        c.is_file() && c.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
                    })
                })
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "/usr/bin/python3".into())
        })
        .clone()
}

/// The magic variables of one host for one task: its names and groups, its role, its search
/// path (which the lookups use to find files, as Ansible's do).
pub fn host(
    runner: &Runner,
    name: &str,
    role: Option<&crate::playbook::Role>,
    search_path: &[std::path::PathBuf],
) -> Map<String, Value> {
    let mut m = Map::new();
    let short = name.split('.').next().unwrap_or(name).to_string();
    m.insert("inventory_hostname".into(), Value::String(name.to_string()));
    m.insert("inventory_hostname_short".into(), Value::String(short));
    m.insert("group_names".into(), json!(runner.inv().group_names(name)));
    if let Some(r) = role {
        m.insert("role_path".into(), Value::String(absolute(&r.path)));
        // `role_name` is the short name of a collection role, `ansible_role_name` its full one.
        let short = crate::playbook::split_collection(&r.name).map(|(_, role)| role).unwrap_or(&r.name);
        m.insert("role_name".into(), Value::String(short.to_string()));
        m.insert("ansible_role_name".into(), Value::String(r.name.clone()));
    }
    let search: Vec<Value> = search_path.iter().map(|p| Value::String(absolute(p))).collect();
    m.insert("ansible_search_path".into(), Value::Array(search));
    m
}

/// A path made absolute (as Ansible shows `playbook_dir` and `role_path`).
///
/// [`host`] asks for every search path entry of every task and host: a path resolved once is
/// remembered for the process (`canonicalize` is a system call per component), a path that does
/// not resolve is asked again next time (the directories a run reads its playbooks and roles
/// from are not expected to move while it runs).
pub fn absolute(p: &Path) -> String {
    static RESOLVED: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let resolved = RESOLVED.get_or_init(Default::default);
    // A relative path is remembered under the directory it was relative to.
    let key = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if let Some(s) = resolved.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return s;
    }
    match std::fs::canonicalize(p) {
        Ok(c) => {
            let s = c.display().to_string();
            if let Ok(mut m) = resolved.lock() {
                m.insert(key, s.clone());
            }
            s
        }
        Err(_) => p.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::Options;
    use crate::inventory::Inventory;
    use crate::output::RecordingSink;

    #[test]
    fn every_magic_variable_the_run_makes_is_listed() {
        let inventory = Inventory::implicit_localhost();
        let opts = Options::default();
        let sink = RecordingSink::new();
        let runner = Runner::new(&inventory, &opts, &sink).unwrap();
        let role = crate::playbook::Role {
            name: "r".into(),
            path: "/r".into(),
            defaults: Map::new(),
            vars: Map::new(),
            params: Map::new(),
            parents: Vec::new(),
        };
        let p = crate::playbook::Play::new(
            "p".into(),
            "all".into(),
            crate::error::Loc::file_start(crate::error::SourceFile::new(Path::new("p.yml"), String::new())),
            crate::error::Loc::file_start(crate::error::SourceFile::new(Path::new("p.yml"), String::new())),
            ".".into(),
        );
        let mut made: Vec<String> = play(&runner, &p, &[], &[]).keys().cloned().collect();
        made.extend(host(&runner, "localhost", Some(&role), &[]).keys().cloned());
        for name in made {
            assert!(NAMES.contains(&name.as_str()), "{name} is made but not in magic::NAMES");
        }
    }

    #[test]
    fn absolute_paths_are_resolved_once_and_a_missing_one_again() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        let canonical = std::fs::canonicalize(&real).unwrap().display().to_string();
        // Not there yet: the path itself, not remembered.
        assert_eq!(absolute(&link), link.display().to_string());
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(absolute(&link), canonical);
        assert_eq!(absolute(&link), canonical);
    }
}
