//! The variables Ansible adds when rendering a template file (`ansible_managed`, `template_*`).

use std::path::Path;

use minijinja::value::Value;

/// The variables of a template file render: Ansible adds `template_path` (the source as the
/// task or lookup named it: `src`, else the path), `template_destpath` (the `template` module's
/// `dest`, else none), `template_fullpath`, `template_host`, `template_uid`, `template_mtime` and
/// `template_run_date`, and `ansible_managed` unless the user set it.
pub(crate) fn template_vars(path: &Path, vars: &Value, named: &FileNames) -> Value {
    let full = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let given = named.src.clone().unwrap_or_else(|| path.to_string_lossy().into_owned());
    let added = Value::from_pairs([
        ("template_path", Value::from(given)),
        ("template_destpath", named.dest.clone().map(Value::from).unwrap_or(Value::from(()))),
        ("template_fullpath", Value::from(full.to_string_lossy().into_owned())),
        ("template_host", Value::from(host)),
        ("template_uid", Value::from(file_owner(path))),
        (
            "template_mtime",
            std::fs::metadata(path).and_then(|m| m.modified()).map(super::datetime::local_datetime).unwrap_or_default(),
        ),
        ("template_run_date", super::datetime::local_datetime(std::time::SystemTime::now())),
    ]);
    let defaults = Value::from_pairs([("ansible_managed", Value::from("Ansible managed"))]);
    minijinja::value::merge_maps([defaults, vars.clone(), added])
}

/// How the task named a template file, for the `template_*` variables.
#[derive(Debug, Clone, Default)]
pub struct FileNames {
    /// `src` as written in the task.
    pub src: Option<String>,
    /// The `template` module's `dest`.
    pub dest: Option<String>,
}

/// The user name owning a file (its uid when /etc/passwd has no entry).
fn file_owner(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return String::new();
    };
    let uid = meta.uid().to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid).then(|| name.to_string())
            })
        })
        .unwrap_or(uid)
}
