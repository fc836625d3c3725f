//! Deciding what an `-i` source is and handing it to the right reader: a host list, a directory
//! (every file in it but the ones Ansible ignores), an executable script, or a YAML/INI file.

use std::path::{Component, Path, PathBuf};

use super::{ini, script, vars_dirs, yaml_source, Inventory};
use serde_json::{Map, Value};

use crate::error::{OrcError, Result, SourceFile};

/// Extensions skipped in inventory directories (Ansible's `INVENTORY_IGNORE_EXTS`).
const IGNORE_EXTS: [&str; 12] =
    [".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry"];

/// Whether a directory entry is skipped when a directory is the inventory (hidden files,
/// group_vars/, host_vars/, vars_plugins/, and the ignored extensions).
pub fn ignored_in_dir(name: &str) -> bool {
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || IGNORE_EXTS.iter().any(|e| name.ends_with(e))
}

/// Whether a source is a comma-separated host list (Ansible's `host_list` test: a `,` in a
/// path that does not exist).
pub(crate) fn is_host_list(src: &Path) -> bool {
    src.to_string_lossy().contains(',') && !src.exists()
}

/// An absolute, lexically normalised path (Ansible's `unfrackpath(follow=False)`).
pub fn absolute(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The directory whose group_vars/ and host_vars/ apply to a source (none for a host list).
pub fn vars_dir_of(src: &Path) -> Option<PathBuf> {
    if is_host_list(src) {
        return None;
    }
    let abs = absolute(src);
    if abs.is_dir() {
        Some(abs)
    } else {
        abs.parent().map(Path::to_path_buf)
    }
}

/// Parses one `-i` source into `inv`.
pub fn parse_source(inv: &mut Inventory, src: &Path) -> Result<()> {
    if is_host_list(src) {
        let text = src.to_string_lossy().into_owned();
        inv.set_current_source(text.clone(), None);
        script::load_host_list(inv, &text, super::advanced_host_list());
        return Ok(());
    }
    let abs = absolute(src);
    if !abs.exists() {
        return Err(OrcError::input(format!("inventory source {} does not exist", src.display())).help(
            "give -i a file, a directory, an executable script, or a comma-separated host list such as 'host1,host2,'",
        ));
    }
    if abs.is_dir() {
        let rd = std::fs::read_dir(&abs).map_err(|source| OrcError::Read { path: abs.clone(), source })?;
        let mut names: Vec<String> =
            rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for n in names {
            if !ignored_in_dir(&n) {
                parse_source(inv, &abs.join(n))?;
            }
        }
        return Ok(());
    }
    let dir = abs.parent().map(|d| d.to_string_lossy().into_owned());
    inv.set_current_source(abs.to_string_lossy().into_owned(), dir);
    parse_file(inv, &abs)
}

/// Whether a file is an executable inventory to run.
fn is_script(path: &Path, text_start: &[u8]) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let exec = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    // Ansible runs any executable file; orc also requires it to look like a program (a #! line or
    // binary content), so that data files with a stray x bit (e.g. on shared mounts) still load.
    let head = &text_start[..text_start.len().min(512)];
    exec && (head.starts_with(b"#!") || head.contains(&0))
}

fn parse_file(inv: &mut Inventory, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|source| OrcError::Read { path: path.to_path_buf(), source })?;
    if is_script(path, &bytes) {
        return script::load(inv, path);
    }
    let ext = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
    if ext == "toml" {
        return Err(OrcError::input(format!("{}: TOML inventories are not supported", path.display()))
            .help("convert it to YAML or INI"));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| OrcError::input(format!("{}: the inventory is not UTF-8 text", path.display())))?;
    if crate::vault::is_encrypted(text.trim_start().as_bytes()) {
        // A vault-encrypted inventory (INI or YAML), decrypted with the run's passwords as
        // Ansible's ini and yaml plugins read it; the variables it sets are secrets.
        let plain = crate::secrets::open_file_text(path, text.trim_start())?;
        let before = inv.clone();
        if let Err(e) = parse_text(inv, path, &ext, plain.clone()) {
            // The error report quotes the offending line: every line of the file is secret then.
            crate::secrets::register(&plain);
            return Err(e);
        }
        register_new_vars(&before, inv);
        return Ok(());
    }
    parse_text(inv, path, &ext, text)
}

/// Registers as secrets the values of the variables `after` sets that `before` did not (those
/// of a decrypted inventory source). Not host or group names, nor the values of Ansible's
/// connection variables other than passwords (`ansible_host`, `ansible_user`,
/// `ansible_connection`...): they are in every banner and trace, and censoring `local` or a
/// host's address would mangle the whole output.
fn register_new_vars(before: &Inventory, after: &Inventory) {
    let secret = |name: &str| !name.starts_with("ansible_") || name.contains("pass");
    let new = |old: Option<&Map<String, Value>>, vars: &Map<String, Value>| {
        for (k, v) in vars {
            if secret(k) && old.and_then(|o| o.get(k)) != Some(v) {
                crate::secrets::register_value(v);
            }
        }
    };
    for (name, host) in &after.hosts {
        new(before.hosts.get(name).map(|h| &h.vars), &host.vars);
    }
    for (name, group) in &after.groups {
        new(before.groups.get(name).map(|g| &g.vars), &group.vars);
    }
}

/// Parses an inventory file's text: YAML (tried first unless the extension says INI), else INI.
fn parse_text(inv: &mut Inventory, path: &Path, ext: &str, text: String) -> Result<()> {
    let file = SourceFile::new(path, text);
    let yaml_ext = matches!(ext, "yml" | "yaml" | "json");
    if !(yaml_ext || ext.is_empty()) {
        return ini::parse(inv, file);
    }
    let yaml_err = match vars_dirs::parse_data(file.clone()) {
        Ok(doc) => {
            let mut trial = inv.clone();
            match yaml_source::load(&mut trial, &doc) {
                Ok(()) => {
                    *inv = trial;
                    return Ok(());
                }
                Err(yaml_source::NotYamlInventory::Error(e)) => return Err(e),
                Err(yaml_source::NotYamlInventory::WrongShape(e)) => {
                    if doc.is_null() {
                        // an empty file is an empty inventory (Ansible's ini plugin accepts it)
                        return Ok(());
                    }
                    e
                }
            }
        }
        Err(e) => e,
    };
    // Ansible tries the ini plugin after the yaml plugin declines.
    let mut trial = inv.clone();
    match ini::parse(&mut trial, file.clone()) {
        Ok(()) => {
            *inv = trial;
            Ok(())
        }
        Err(ini_err) => {
            if yaml_ext || looks_like_yaml(&file.text) {
                Err(yaml_err)
            } else {
                Err(ini_err)
            }
        }
    }
}

/// Whether text without an extension was meant as YAML (starts with `---` or `name:`).
fn looks_like_yaml(text: &str) -> bool {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    match first {
        Some(l) => {
            l.starts_with("---")
                || (l.ends_with(':') && !l.starts_with('['))
                || l.split_once(": ").is_some_and(|(k, _)| !k.contains([' ', '=']))
        }
        None => false,
    }
}
