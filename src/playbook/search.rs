//! Where controller-side files named by a task are found: the one search rule the up-front
//! checks, the modules (`copy`/`template` `src`), `include_vars`, the lookups (through the
//! `ansible_search_path` variable) and the task file includes all use, so that a file the run
//! finds is never rejected up front (docs/architecture.md, "One compiled playbook").
//!
//! It is Ansible's `DataLoader.path_dwim_relative_stack` over the task's search path (its role,
//! then the directory of the file the task is written in), then the playbook's directory.

use std::path::{Path, PathBuf};

/// A task's search path: its role's directory (if it comes from a role), then the directory
/// of the file it is written in, as Ansible's `get_search_path`, then the playbook directory.
pub fn task_search_path(role: Option<&Path>, task_dir: &Path, play_dir: &Path) -> Vec<PathBuf> {
    let mut stack: Vec<PathBuf> = Vec::new();
    if let Some(r) = role {
        stack.push(r.to_path_buf());
    }
    for dir in [task_dir, play_dir] {
        if !dir.as_os_str().is_empty() && !stack.iter().any(|s| s == dir) {
            stack.push(dir.to_path_buf());
        }
    }
    stack
}

/// Every place `source` may be, in the order they are tried: for each directory of `stack`,
/// `DIR/SUBDIR/source` then `DIR/source` (and, for a directory under a role's `tasks/`, the
/// role's `SUBDIR/source` and `tasks/source` first); the last directory of `stack` is the
/// playbook's. An absolute `source` (or `~/...`) is the only candidate.
pub fn candidates(source: &str, subdir: &str, stack: &[PathBuf]) -> Vec<PathBuf> {
    let expanded = match (source.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => Some(Path::new(&home).join(rest)),
        _ => None,
    };
    let p = expanded.unwrap_or_else(|| PathBuf::from(source));
    if p.is_absolute() {
        return vec![p];
    }
    let names_subdir = source.split('/').next() == Some(subdir);
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |c: PathBuf| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    for dir in stack {
        if let Some(parent) = dir.parent().filter(|p| p.ends_with("tasks")) {
            if let Some(role) = parent.parent() {
                push(role.join(subdir).join(source));
                push(parent.join(source));
            }
        }
        if !names_subdir {
            push(dir.join(subdir).join(source));
        }
        push(dir.join(source));
    }
    out
}

/// The first of [`candidates`] that exists, or every path searched.
pub fn find(source: &str, subdir: &str, stack: &[PathBuf]) -> Result<PathBuf, Vec<PathBuf>> {
    let cands = candidates(source, subdir, stack);
    match cands.iter().find(|c| c.exists()) {
        Some(found) => Ok(found.clone()),
        None => Err(cands),
    }
}

/// Where a task file named by `import_tasks`/`include_tasks` is found: relative to the file that
/// names it, then under its role's `tasks/`, then relative to the playbook, as Ansible resolves
/// relative includes. The first candidate is returned when none exists (for the message).
pub fn task_file(file: &str, including_dir: &Path, role: Option<&Path>, play_dir: &Path) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let mut cands = vec![including_dir.join(file)];
    if let Some(r) = role {
        cands.push(r.join("tasks").join(file));
    }
    cands.push(play_dir.join(file));
    cands.iter().find(|c| c.is_file()).cloned().unwrap_or_else(|| including_dir.join(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_task_searches_the_role_its_tasks_then_the_playbook() {
        let stack = task_search_path(Some(Path::new("/p/roles/r")), Path::new("/p/roles/r/tasks"), Path::new("/p"));
        let got = candidates("a.j2", "templates", &stack);
        let want: Vec<PathBuf> = [
            "/p/roles/r/templates/a.j2",
            "/p/roles/r/a.j2",
            "/p/roles/r/tasks/templates/a.j2",
            "/p/roles/r/tasks/a.j2",
            "/p/templates/a.j2",
            "/p/a.j2",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_task_in_an_included_file_searches_that_file_s_directory() {
        let stack = task_search_path(None, Path::new("/p/tasks"), Path::new("/p"));
        let got = candidates("x.txt", "files", &stack);
        assert_eq!(got[..2], [PathBuf::from("/p/tasks/files/x.txt"), PathBuf::from("/p/tasks/x.txt")]);
        assert_eq!(got.last(), Some(&PathBuf::from("/p/x.txt")));
        // A source naming the subdirectory itself is not looked up under it twice.
        assert!(!candidates("files/x", "files", &stack).contains(&PathBuf::from("/p/files/files/x")));
        assert_eq!(candidates("/abs/x", "files", &stack), vec![PathBuf::from("/abs/x")]);
    }
}
