//! `include_vars`: loads variables from a file, or from every file of a directory, at run time,
//! for this host (Ansible's `include_vars` action, ansible/plugins/action/include_vars.py).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{ActionResult, Arg, Call, Defines, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `include_vars: FILE` / `include_vars: {file: FILE, name: NAME}` / `include_vars: {dir: DIR}`.
#[derive(Debug)]
pub struct IncludeVars;

const ARGS: &[Arg] = &[
    ("file", false, "The YAML or JSON file to load (also the free-form value)."),
    ("_raw_params", false, "The file, written as `include_vars: file.yml`."),
    ("name", false, "Put the variables under this one variable instead of at the top level."),
    (
        "hash_behaviour",
        false,
        "`merge` or `replace`: how a dict loaded here combines with the variable's current value, when it differs from the run's `hash_behaviour`.",
    ),
    (
        "dir",
        false,
        "A directory whose files are all loaded, in alphabetical order, subdirectories included (in a role: under its `vars/`).",
    ),
    ("depth", false, "With `dir`: how many levels to go down (1: the directory itself; 0, the default: all)."),
    ("files_matching", false, "With `dir`: only the files whose name matches this regular expression."),
    ("ignore_files", false, "With `dir`: regular expressions of file names to leave out."),
    ("extensions", false, "With `dir`: the file extensions to load (default `yaml`, `yml`, `json`)."),
    (
        "ignore_unknown_extensions",
        false,
        "With `dir`: skip files with other extensions instead of failing on them.",
    ),
];

/// Arguments that belong to `dir`, and to a single file.
const DIR_ARGS: &[&str] =
    &["dir", "depth", "files_matching", "ignore_files", "extensions", "ignore_unknown_extensions"];
const FILE_ARGS: &[&str] = &["file", "_raw_params"];

/// Ansible's suffix to "could not find" messages.
const ON_CONTROLLER: &str = " on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option";

impl EngineAction for IncludeVars {
    fn name(&self) -> &'static str {
        "include_vars"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn free_form(&self) -> bool {
        true
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Loads variables from a file, or from every file of a directory, at run time, for this host.",
            notes: "A file is searched like Ansible's: the role's `vars/`, the role, the task file's directory, then the playbook's `vars/` and directory. A `dir` is taken under the role's `vars/` (or from the task file's directory outside a role); its files are loaded in alphabetical order of their directories, then names, later ones replacing earlier values. The variables rank below set_fact and registered variables and are rendered when used.",
            returns: &[
                ("ansible_facts", "The variables loaded."),
                ("ansible_included_var_files", "The files loaded, in order."),
            ],
            example: "- ansible.builtin.include_vars: \"{{ ansible_distribution }}.yml\"\n\
                      - ansible.builtin.include_vars:\n    dir: environments\n    files_matching: webapp.yml\n",
        }
    }

    fn defines(&self, args: &Map<String, Value>) -> Defines {
        match args.get("name").and_then(Value::as_str) {
            Some(name) if !name.contains("{{") => Defines::Names(vec![name.to_string()]),
            _ => Defines::Unknown,
        }
    }

    fn check(&self, args: &Map<String, Value>) -> Result<(), String> {
        let dirs = args.keys().any(|k| DIR_ARGS.contains(&k.as_str()));
        let files = args.keys().any(|k| FILE_ARGS.contains(&k.as_str()));
        if dirs && files {
            return Err("You are mixing file only and dir only arguments, these are incompatible".into());
        }
        match args.get("hash_behaviour").and_then(Value::as_str) {
            Some("merge" | "replace") | None => Ok(()),
            Some(h) if h.contains("{{") => Ok(()),
            Some(other) => Err(format!("include_vars: hash_behaviour must be merge or replace, not '{other}'")),
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let args = call.args;
        let mut loaded = Loaded::default();
        let outcome = match args.get("dir") {
            Some(dir) => load_dir(call, &crate::yaml::display(dir), &mut loaded),
            None => load_one_file(call, &mut loaded),
        };
        if let Err(message) = outcome {
            // Ansible's result: `message` (what went wrong), the files loaded before it.
            return Err(json!({
                "ansible_facts": {},
                "ansible_included_var_files": loaded.files,
                "changed": false,
                "failed": true,
                "message": message,
                "msg": message,
            }));
        }
        let mut facts = match args.get("name").and_then(Value::as_str) {
            Some(name) => {
                let mut m = Map::new();
                m.insert(name.to_string(), Value::Object(loaded.vars));
                m
            }
            None => loaded.vars,
        };
        // `hash_behaviour` other than the run's: combined with the variables' current values.
        let wanted = match args.get("hash_behaviour").and_then(Value::as_str) {
            Some("merge") => Some(true),
            Some("replace") => Some(false),
            _ => None,
        };
        let combining = wanted.is_some_and(|m| m != crate::vars::hash_merge());
        if !combining {
            // Read from files as written: the registered result's variables are trusted as
            // Ansible's are (`TrustedAsTemplate`), though registered results stay data.
            call.host.result_trust.push(vec!["ansible_facts".to_string()]);
        }
        if let Some(merge) = wanted.filter(|m| *m != crate::vars::hash_merge()) {
            let mut existing = Map::new();
            for k in facts.keys() {
                if let Some(v) = call.ctx.resolved(k) {
                    existing.insert(k.clone(), v);
                }
            }
            crate::vars::combine(&mut existing, &facts, merge);
            facts = existing;
        }
        for (k, v) in &facts {
            call.host.include_var(k, v.clone());
        }
        Ok((Status::Ok, json!({"ansible_facts": facts, "ansible_included_var_files": loaded.files, "changed": false})))
    }
}

/// What was loaded so far: the variables (later files replacing earlier values) and the files.
#[derive(Default)]
struct Loaded {
    vars: Map<String, Value>,
    files: Vec<String>,
}

impl Loaded {
    /// Loads one file; `extensions`: the valid extensions to check it against (dir mode).
    fn file(&mut self, path: &Path, extensions: Option<&[String]>) -> Result<(), String> {
        if let Some(valid) = extensions {
            if !valid.iter().any(|e| *e == extension(path)) {
                return Err(format!("{} does not have a valid extension: {}", path.display(), valid.join(", ")));
            }
        }
        let vars = match crate::inventory::load_vars_file(path) {
            Ok(Some(m)) => m,
            Ok(None) => Map::new(),
            Err(e) if e.to_string().contains("must contain a mapping") => {
                return Err(format!("{} must be stored as a dictionary/hash", path.display()));
            }
            Err(e) => return Err(e.report()),
        };
        self.files.push(path.display().to_string());
        for (k, v) in vars {
            self.vars.insert(k, v);
        }
        Ok(())
    }
}

/// Python's `os.path.splitext(name)[1][1:]`: the extension without its dot, "" for none.
fn extension(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `file:` (or the free-form value): searched on the task's search path under `vars/`.
fn load_one_file(call: &Call<'_, '_>, loaded: &mut Loaded) -> Result<(), String> {
    let args = call.args;
    let file = match args.get("file").or_else(|| args.get("_raw_params")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        // The free-form value written as a folded scalar ends with a newline.
        Some(v) => Some(crate::yaml::display(v).trim_end_matches('\n').to_string()),
    };
    let Some(file) = file else { return Err(format!("Could not find file{ON_CONTROLLER}")) };
    let path = crate::playbook::search::find(&file, "vars", call.search).map_err(|searched| {
        let searched: Vec<String> = searched.iter().map(|c| c.display().to_string()).collect();
        format!("Could not find or access '{file}'\nSearched in:\n\t{}{ON_CONTROLLER}", searched.join("\n\t"))
    })?;
    loaded.file(&std::path::absolute(&path).unwrap_or(path), None)
}

/// `dir:` and its options, as Ansible's `_set_root_dir`, `_traverse_dir_depth` and
/// `_load_files_in_dir` do it.
fn load_dir(call: &Call<'_, '_>, dir: &str, loaded: &mut Loaded) -> Result<(), String> {
    let args = call.args;
    let root = match &call.task.role {
        Some(role) if dir.split('/').next() == Some("vars") => {
            let under = role.path.join(dir);
            if under.exists() {
                under
            } else {
                PathBuf::from(dir)
            }
        }
        Some(role) => role.path.join("vars").join(dir),
        None => call.task.file_dir().join(dir),
    };
    // Shown as Ansible shows it: absolute.
    let root = std::path::absolute(&root).unwrap_or(root);
    if !root.exists() {
        return Err(format!("{} directory does not exist", root.display()));
    }
    if !root.is_dir() {
        return Err(format!("{} is not a directory", root.display()));
    }
    let depth = match args.get("depth") {
        None | Some(Value::Null) => 0,
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            n.ok_or_else(|| format!("depth must be a whole number, not {v}"))? as usize
        }
    };
    let matcher = match args.get("files_matching").filter(|v| !v.is_null()) {
        Some(v) => Some(regex(&crate::yaml::display(v))?),
        None => None,
    };
    let ignore: Vec<regex::Regex> = match args.get("ignore_files") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(|p| regex(&format!("{p}$"))).collect::<Result<_, _>>()?,
        Some(Value::Array(a)) => {
            a.iter().map(|p| regex(&format!("{}$", crate::yaml::display(p)))).collect::<Result<_, _>>()?
        }
        Some(other) => return Err(format!("{other} must be a list")),
    };
    let extensions: Vec<String> = match args.get("extensions") {
        None | Some(Value::Null) => vec!["yaml".into(), "yml".into(), "json".into()],
        Some(Value::Array(a)) => a.iter().map(crate::yaml::display).collect(),
        // Python's `list("yml")`: its characters.
        Some(Value::String(s)) => s.chars().map(String::from).collect(),
        Some(_) => return Err("Invalid type for \"extensions\" option, it must be a list".into()),
    };
    let skip_unknown = args.get("ignore_unknown_extensions").and_then(orc_modules::args::parse_bool).unwrap_or(false);
    for (dir, names) in walk(&root, depth) {
        for name in names {
            if matcher.as_ref().is_some_and(|m| !m.is_match(&name)) {
                continue;
            }
            if ignore.iter().any(|re| re.is_match(&name)) {
                continue;
            }
            if skip_unknown && !extensions.iter().any(|e| *e == extension(Path::new(&name))) {
                continue;
            }
            let path = dir.join(&name);
            if path.exists() {
                loaded.file(&path, Some(&extensions))?;
            }
        }
    }
    Ok(())
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|_| format!("Invalid regular expression: {pattern}"))
}

/// Python's `os.walk(root, followlinks=True)` sorted by directory path, each directory's file
/// names sorted, directories deeper than `depth` left out (0: no limit; 1: `root` alone).
/// A link back to a directory being walked (a loop) is not followed.
fn walk(root: &Path, depth: usize) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut pending = vec![(root.to_path_buf(), 1usize, vec![real(root)])];
    while let Some((dir, level, ancestors)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            // Links are followed: a link to a directory is walked, a dead link is a file.
            if path.is_dir() {
                let target = real(&path);
                if !ancestors.contains(&target) && level < 64 {
                    let mut chain = ancestors.clone();
                    chain.push(target);
                    pending.push((path, level + 1, chain));
                }
            } else {
                files.push(name);
            }
        }
        if depth == 0 || level <= depth {
            files.sort();
            out.push((dir, files));
        }
    }
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_sorts_directories_then_names_and_stops_at_depth() {
        let d = tempfile::tempdir().unwrap();
        let w = |rel: &str| {
            let p = d.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "a: 1\n").unwrap();
        };
        w("b.yml");
        w("a.yml");
        w("sub/z.yml");
        w("sub/deeper/x.yml");
        w("other/y.yml");
        std::os::unix::fs::symlink(d.path().join("other"), d.path().join("sub/link")).unwrap();
        let names = |depth| -> Vec<String> {
            walk(d.path(), depth)
                .into_iter()
                .flat_map(|(dir, files)| {
                    let rel = dir.strip_prefix(d.path()).unwrap().display().to_string();
                    files.into_iter().map(move |f| format!("{rel}/{f}"))
                })
                .collect()
        };
        assert_eq!(names(0), ["/a.yml", "/b.yml", "other/y.yml", "sub/z.yml", "sub/deeper/x.yml", "sub/link/y.yml"]);
        // A link to a directory above it is not a loop to follow.
        std::os::unix::fs::symlink(d.path(), d.path().join("other/up")).unwrap();
        assert_eq!(names(0).len(), 6);
        assert_eq!(names(1), ["/a.yml", "/b.yml"]);
        assert_eq!(extension(Path::new("file_without_extension")), "");
        assert_eq!(extension(Path::new("a.b.yml")), "yml");
    }
}
