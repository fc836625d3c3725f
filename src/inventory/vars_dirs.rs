//! `group_vars/` and `host_vars/` directories (Ansible's `host_group_vars` vars plugin): for an
//! entity `name`, the first of `name`, `name.yml`, `name.yaml`, `name.json` that exists; a file is
//! read, a directory contributes all its vars files (sorted, recursively, hidden and `~` files
//! skipped), merged in that order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Loc, OrcError, Result, SourceFile};
use crate::yaml;

/// Extensions Ansible tries for vars files (`YAML_FILENAME_EXTENSIONS`, with "" first).
const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// The vars found under one base directory, loaded for the inventory's groups and hosts.
#[derive(Debug, Clone)]
pub struct VarsDir {
    base: PathBuf,
    groups: HashMap<String, Map<String, Value>>,
    hosts: HashMap<String, Map<String, Value>>,
}

impl VarsDir {
    /// A vars directory rooted at `base` (which holds `group_vars/` and `host_vars/`), not loaded.
    pub fn new(base: PathBuf) -> VarsDir {
        VarsDir { base, groups: HashMap::new(), hosts: HashMap::new() }
    }

    /// Reads the files for every named group and host.
    pub fn load<'a>(&mut self, groups: impl Iterator<Item = &'a String>, hosts: Vec<String>) -> Result<()> {
        let gdir = self.base.join("group_vars");
        if gdir.is_dir() {
            for g in groups {
                if let Some(m) = load_entity(&gdir, g)? {
                    self.groups.insert(g.clone(), m);
                }
            }
        }
        let hdir = self.base.join("host_vars");
        if hdir.is_dir() {
            for h in hosts {
                if let Some(m) = load_entity(&hdir, &h)? {
                    self.hosts.insert(h, m);
                }
            }
        }
        Ok(())
    }

    /// Variables from `group_vars/<name>`, if any.
    pub fn group(&self, name: &str) -> Option<&Map<String, Value>> {
        self.groups.get(name)
    }

    /// Variables from `host_vars/<name>`, if any.
    pub fn host(&self, name: &str) -> Option<&Map<String, Value>> {
        self.hosts.get(name)
    }
}

fn load_entity(dir: &Path, name: &str) -> Result<Option<Map<String, Value>>> {
    if name.starts_with('/') || name.is_empty() {
        return Ok(None);
    }
    let mut files = Vec::new();
    for ext in EXTENSIONS {
        let p = dir.join(format!("{name}{ext}"));
        if p.exists() {
            if p.is_dir() {
                dir_files(&p, &mut files)?;
            } else {
                files.push(p);
            }
            break;
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    let mut out = Map::new();
    let mut any = false;
    for f in files {
        if let Some(m) = load_vars_file(&f)? {
            any = true;
            out.extend(m);
        }
    }
    Ok(any.then_some(out))
}

fn dir_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|source| OrcError::Read { path: dir.to_path_buf(), source })?;
    let mut names: Vec<String> =
        rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let p = dir.join(&n);
        let ext = Path::new(&n).extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
        if p.is_dir() && ext.is_empty() {
            dir_files(&p, out)?;
        } else if p.is_file() && EXTENSIONS.contains(&ext.as_str()) {
            out.push(p);
        }
    }
    Ok(())
}

/// Reads a YAML or JSON vars file: a mapping, or nothing for an empty file. Errors name the
/// file, line and column.
pub fn load_vars_file(path: &Path) -> Result<Option<Map<String, Value>>> {
    let text = OrcError::read(path)?;
    let file = SourceFile::new(path, text);
    // A vault-encrypted file is decrypted by the YAML loader (src/yaml.rs) with the run's passwords.
    let node = parse_data(file)?;
    match node.to_value() {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(OrcError::at(
            &node.loc,
            format!("a vars file must contain a mapping of variable names to values, not {}", node.type_name()),
        )
        .help("write `name: value` lines at the top level")),
    }
}

/// Parses YAML (JSON being read as YAML, like Ansible; a `.json` file that YAML 1.1 rejects is
/// read as strict JSON).
pub fn parse_data(file: std::sync::Arc<SourceFile>) -> Result<yaml::Node> {
    match yaml::parse(file.clone()) {
        Ok(n) => Ok(n),
        Err(yaml_err) => {
            if file.path.extension().is_some_and(|e| e == "json") {
                if let Ok(v) = serde_json::from_str::<Value>(&file.text) {
                    return Ok(value_to_node(v, &Loc::file_start(file)));
                }
            }
            Err(yaml_err)
        }
    }
}

/// A JSON value as a node positioned at `loc` (for data that has no positions of its own).
pub fn value_to_node(v: Value, loc: &Loc) -> yaml::Node {
    let kind = match v {
        Value::Array(items) => yaml::Kind::Seq(items.into_iter().map(|i| value_to_node(i, loc)).collect()),
        Value::Object(m) => yaml::Kind::Map(m.into_iter().map(|(k, v)| (k, value_to_node(v, loc))).collect()),
        other => yaml::Kind::Scalar(other),
    };
    yaml::Node { kind, loc: loc.clone() }
}
