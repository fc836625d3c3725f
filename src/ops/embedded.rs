//! Playbooks built into the binary, so a machine with nothing but orc can run them:
//! - the quickstart, the default job of a bare `orc play` on this machine;
//! - every playbook under playbooks/ (provision, container-runtime, service-discovery...) with
//!   its roles, run by name: `orc play service-discovery -i prod`. A file on disk with the name
//!   given wins; `orc playbooks` lists them (build.rs embeds the files).

use std::path::{Path, PathBuf};

use crate::error::{OrcError, Result};

/// The quickstart's files, relative to its directory.
const QUICKSTART: &[(&str, &str)] = &[
    ("site.yaml", include_str!("../../examples/quickstart/site.yaml")),
    ("templates/app.conf.j2", include_str!("../../examples/quickstart/templates/app.conf.j2")),
];

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_playbooks.rs"));
}

/// Writes the quickstart into a fresh directory under the system temp dir; returns its playbook.
pub fn write_quickstart() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("orc-embedded-quickstart-{}", std::process::id()));
    write_files(&dir, QUICKSTART)?;
    Ok(dir.join("site.yaml"))
}

/// One built-in playbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builtin {
    /// The name it is run by (the file name without `.yaml`).
    pub name: String,
    /// The file under playbooks/.
    pub file: &'static str,
    /// Its source.
    pub text: &'static str,
}

impl Builtin {
    /// The first sentence of the playbook's opening comment, up to a colon: what it does.
    pub fn summary(&self) -> String {
        let mut words = Vec::new();
        for line in self.text.lines() {
            let Some(rest) = line.strip_prefix('#') else { break };
            let rest = rest.trim();
            if rest.is_empty() {
                break;
            }
            words.push(rest.to_string());
            if rest.ends_with('.') || rest.contains(". ") {
                break;
            }
        }
        let text = words.join(" ");
        let sentence = match text.find(". ") {
            Some(i) => &text[..=i],
            None => &text,
        };
        match sentence.find(": ") {
            Some(i) => sentence[..i].to_string(),
            None => sentence.trim_end_matches('.').to_string(),
        }
    }
}

/// Every built-in playbook (the `.yaml`/`.yml` files at the top of playbooks/), by name.
pub fn builtins() -> Vec<Builtin> {
    builtin::FILES
        .iter()
        .filter(|(path, _)| !path.contains('/'))
        .filter_map(|(path, text)| {
            let name = path.strip_suffix(".yaml").or_else(|| path.strip_suffix(".yml"))?;
            Some(Builtin { name: name.to_string(), file: path, text })
        })
        .collect()
}

/// The built-in playbook `arg` names (`service-discovery`, or with `.yaml`/`.yml`), unless a file
/// of that name exists on disk (it wins) or `arg` is a path.
pub fn find(arg: &Path) -> Option<Builtin> {
    if arg.exists() || arg.components().count() != 1 {
        return None;
    }
    let name = arg.to_str()?;
    let name = name.strip_suffix(".yaml").or_else(|| name.strip_suffix(".yml")).unwrap_or(name);
    builtins().into_iter().find(|b| b.name == name)
}

/// A built-in playbook written out with its roles, for one run; removed when dropped.
pub struct Materialized {
    dir: PathBuf,
    /// The playbook file to run.
    pub playbook: PathBuf,
}

impl Drop for Materialized {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes every built-in file (the playbook and the roles it may use) into a fresh private
/// directory under the system temp dir.
pub fn materialize(b: &Builtin) -> Result<Materialized> {
    let dir = private_dir("orc-builtin")?;
    let m = Materialized { playbook: dir.join(b.file), dir };
    write_files(&m.dir, builtin::FILES)?;
    Ok(m)
}

/// Writes every built-in file under `dir` (which may exist; files there are replaced): for users
/// who want to change a built-in playbook (`orc playbooks --export DIR`).
pub fn export(dir: &Path) -> Result<usize> {
    write_files(dir, builtin::FILES)?;
    Ok(builtin::FILES.len())
}

/// A new directory only this user can enter.
fn private_dir(prefix: &str) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let dir = base.join(format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..)));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(OrcError::input(format!("could not create {}: {e}", dir.display()))),
        }
    }
    Err(OrcError::input(format!("could not create a directory under {}", base.display())))
}

fn write_files(dir: &Path, files: &[(&str, &str)]) -> Result<()> {
    for (rel, text) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| OrcError::input(format!("could not create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text).map_err(|e| OrcError::input(format!("could not write {}: {e}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_playbook_under_playbooks_is_built_in_with_its_roles() {
        let names: Vec<String> = builtins().into_iter().map(|b| b.name).collect();
        for want in ["provision", "container-runtime", "service-discovery"] {
            assert!(names.contains(&want.to_string()), "{want} is not built in: {names:?}");
        }
        let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/playbooks"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count();
        assert_eq!(names.len(), on_disk);
        assert!(builtin::FILES.iter().any(|(p, _)| *p == "roles/service_lb/templates/haproxy.cfg.j2"));
        let sd = find(Path::new("service-discovery.yaml")).unwrap();
        assert_eq!(sd.file, "service-discovery.yaml");
        assert_eq!(sd.summary(), "Wires an app to its load balancers through a service registry");
        assert!(find(Path::new("./service-discovery")).is_none(), "a path is never a built-in name");
        assert!(find(Path::new("no-such-playbook")).is_none());
    }

    #[test]
    fn materialized_playbooks_are_removed_after_the_run() {
        let b = find(Path::new("service-discovery")).unwrap();
        let m = materialize(&b).unwrap();
        assert!(m.playbook.is_file());
        let dir = m.playbook.parent().unwrap().to_path_buf();
        assert!(dir.join("roles/service_discovery/defaults/main.yml").is_file());
        drop(m);
        assert!(!dir.exists());
    }
}
