//! Where files named in templates are found: `{% include %}` targets, `lookup('file')` and
//! `lookup('template')` sources, searched like Ansible does (role, then playbook, then cwd).
//!
//! The variables of the render in progress are kept in a thread-local scope, because minijinja's
//! include-path callback and lookups need `role_path`/`playbook_dir` and the whole context.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use minijinja::value::Value;

thread_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
}

/// One render in progress on this thread.
struct Scope {
    vars: Value,
    file: Option<PathBuf>,
}

/// Marks a render in progress on this thread for as long as it lives.
pub(crate) struct RenderScope(());

impl RenderScope {
    /// Pushes the variables (and template file, if any) of a render that starts.
    pub(crate) fn enter(vars: &Value, file: Option<&Path>) -> RenderScope {
        SCOPES.with(|s| s.borrow_mut().push(Scope { vars: vars.clone(), file: file.map(Path::to_path_buf) }));
        RenderScope(())
    }
}

impl Drop for RenderScope {
    fn drop(&mut self) {
        SCOPES.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

/// The variables of the innermost render in progress on this thread.
pub(crate) fn current_vars() -> Value {
    SCOPES.with(|s| s.borrow().last().map(|sc| sc.vars.clone())).unwrap_or_default()
}

/// The template file of the innermost file render in progress, if any.
fn current_file() -> Option<PathBuf> {
    SCOPES.with(|s| s.borrow().iter().rev().find_map(|sc| sc.file.clone()))
}

/// A string variable of the current render, if set.
fn var_str(vars: &Value, name: &str) -> Option<String> {
    let v = vars.get_attr(name).ok()?;
    v.as_str().map(str::to_string)
}

/// The base directories Ansible searches, in order: `ansible_search_path` if set, else the role
/// path, the playbook dir; then the directory of the template being rendered.
pub(crate) fn base_dirs(vars: &Value) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(list) = vars.get_attr("ansible_search_path") {
        if let Ok(iter) = list.try_iter() {
            for item in iter {
                if let Some(s) = item.as_str() {
                    dirs.push(PathBuf::from(s));
                }
            }
        }
    }
    if dirs.is_empty() {
        for name in ["role_path", "playbook_dir"] {
            if let Some(dir) = var_str(vars, name) {
                dirs.push(PathBuf::from(dir));
            }
        }
    }
    if let Some(parent) = current_file().as_deref().and_then(Path::parent) {
        dirs.push(parent.to_path_buf());
    }
    dirs
}

/// Finds `name` for a lookup: absolute paths as they are; else `<dir>/<subdir>/name` then
/// `<dir>/name` for every base dir, then relative to the current directory.
pub(crate) fn find_file(name: &str, subdir: &str, vars: &Value) -> Option<PathBuf> {
    find_path(name, subdir, vars, Path::is_file)
}

/// Like [`find_file`], for a directory (`fileglob` patterns name one).
pub(crate) fn find_dir(name: &str, subdir: &str, vars: &Value) -> Option<PathBuf> {
    find_path(name, subdir, vars, Path::is_dir)
}

fn find_path(name: &str, subdir: &str, vars: &Value, wanted: fn(&Path) -> bool) -> Option<PathBuf> {
    let expanded;
    let name = match (name.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => {
            expanded = format!("{}/{rest}", home.trim_end_matches('/'));
            expanded.as_str()
        }
        _ => name,
    };
    let path = Path::new(name);
    if path.is_absolute() {
        return path.exists().then(|| path.to_path_buf());
    }
    for dir in base_dirs(vars) {
        // Like Ansible, `files/x` is not looked for in `files/files/x`.
        let in_subdir = !subdir.is_empty() && name.split('/').next() != Some(subdir);
        let candidates =
            if in_subdir { vec![dir.join(subdir).join(name), dir.join(name)] } else { vec![dir.join(name)] };
        for candidate in candidates {
            if wanted(&candidate) {
                return Some(candidate);
            }
        }
    }
    wanted(path).then(|| path.to_path_buf())
}

/// Resolves an `{% include %}`/`{% import %}` name against the including template: its own
/// directory first, then the `templates/` search path. Unresolvable names are returned as they
/// are (the loader then reports "template not found" with that name).
pub(crate) fn join_include(name: &str, parent: &str) -> String {
    let path = Path::new(name);
    if path.is_absolute() {
        return name.to_string();
    }
    if !parent.starts_with('\0') {
        if let Some(dir) = Path::new(parent).parent() {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate.to_string_lossy().into_owned();
            }
        }
    }
    match find_file(name, "templates", &current_vars()) {
        Some(found) => found.to_string_lossy().into_owned(),
        None => name.to_string(),
    }
}
