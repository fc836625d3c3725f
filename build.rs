//! Embeds every file under playbooks/ (the built-in playbooks and their roles) into the binary,
//! so `orc play NAME` runs them on a machine that has nothing but orc (src/ops/embedded.rs).
//! Generates `$OUT_DIR/builtin_playbooks.rs`: a sorted table of (path relative to playbooks/,
//! contents via include_str!).

use std::path::{Path, PathBuf};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks");
    println!("cargo:rerun-if-changed=playbooks");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    let mut out = String::from("/// Every file under playbooks/: (path relative to it, contents).\n");
    out.push_str("pub const FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap_or(f).to_string_lossy().replace('\\', "/");
        out.push_str(&format!("    ({rel:?}, include_str!({:?})),\n", f.display().to_string()));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into())).join("builtin_playbooks.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}

/// Collects the regular files under `dir`, skipping hidden names.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}
