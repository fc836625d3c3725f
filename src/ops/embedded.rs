//! The built-in default job: the quickstart playbook compiled into the binary, so `orc play` works
//! on a fresh machine with nothing else.

use std::path::PathBuf;

use crate::error::{OrcError, Result};

/// The quickstart's files, relative to its directory.
const FILES: &[(&str, &str)] = &[
    ("site.yaml", include_str!("../../examples/quickstart/site.yaml")),
    ("templates/app.conf.j2", include_str!("../../examples/quickstart/templates/app.conf.j2")),
];

/// Writes the quickstart into a fresh directory under the system temp dir; returns its playbook.
pub fn write_quickstart() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("orc-embedded-quickstart-{}", std::process::id()));
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| OrcError::input(format!("could not create {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text).map_err(|e| OrcError::input(format!("could not write {}: {e}", path.display())))?;
    }
    Ok(dir.join("site.yaml"))
}
