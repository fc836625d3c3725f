//! Editing decrypted data: the plaintext goes into a file (0600) in a fresh private directory
//! (0700) under the system's temporary directory, the editor runs on it, and the directory is
//! removed afterwards with whatever the editor left there (swap and backup files), the file
//! overwritten with zeros first.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use zeroize::Zeroizing;

/// A private directory holding the one file an editor works on; removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
    file: PathBuf,
}

impl Scratch {
    /// Creates the directory and the file holding `contents`; `suffix` (such as `.yml`) keeps
    /// the editor's syntax highlighting.
    pub fn new(contents: &[u8], suffix: &str) -> std::io::Result<Scratch> {
        let base = std::env::temp_dir();
        let mut rng = fastrand::Rng::new();
        let mut attempt = 0;
        let dir = loop {
            let dir = base.join(format!("orc-vault-{:08x}", rng.u32(..)));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => break dir,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => attempt += 1,
                Err(e) => return Err(e),
            }
        };
        // From here on, Drop removes the directory whatever happens.
        let mut scratch = Scratch { dir, file: PathBuf::new() };
        scratch.file = scratch.dir.join(format!("plaintext{suffix}"));
        let mut handle = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&scratch.file)?;
        handle.write_all(contents)?;
        handle.sync_all()?;
        Ok(scratch)
    }

    /// The file to edit.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The file's contents now.
    pub fn read(&self) -> std::io::Result<Zeroizing<Vec<u8>>> {
        Ok(Zeroizing::new(std::fs::read(&self.file)?))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Overwrite the plaintext before unlinking it (as ansible-vault's shred fallback does).
        if let Ok(meta) = std::fs::metadata(&self.file) {
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&self.file) {
                let zeros = vec![0u8; 64 * 1024];
                let mut left = meta.len();
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    if f.write_all(&zeros[..n]).is_err() {
                        break;
                    }
                    left -= n as u64;
                }
                let _ = f.sync_all();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The editor command line: `$EDITOR`, else `$ANSIBLE_EDITOR`, else `vi` (Ansible reads both
/// variables and the later one, EDITOR, wins).
pub fn editor_command(env: impl Fn(&str) -> Option<String>) -> String {
    let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    set("EDITOR").or_else(|| set("ANSIBLE_EDITOR")).unwrap_or_else(|| "vi".to_string())
}

/// Runs `editor` (split like a shell would, as Ansible's `shlex.split`) on `file` and waits.
/// Like ansible-vault, the editor's exit status is not looked at: what the file holds afterwards
/// is the result.
pub fn run_editor(editor: &str, file: &Path) -> Result<(), String> {
    let words = crate::inventory::pylit::shlex_split(editor)
        .map_err(|e| format!("cannot split the editor command {editor:?}: {e}"))?;
    let Some((program, args)) = words.split_first() else {
        return Err("the editor command (EDITOR) is empty".to_string());
    };
    Command::new(program)
        .args(args)
        .arg(file)
        .status()
        .map(|_| ())
        .map_err(|e| format!("could not run the editor {program:?} (EDITOR={editor:?}): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_scratch_directory_is_private_and_removed() {
        let s = Scratch::new(b"secret", ".yml").unwrap();
        let dir = s.path().parent().unwrap().to_path_buf();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(s.path())), (0o700, 0o600));
        assert!(s.path().to_string_lossy().ends_with(".yml"));
        std::fs::write(dir.join(".plaintext.yml.swp"), "swap").unwrap();
        run_editor("sh -c 'printf more >> \"$0\"'", s.path()).unwrap();
        assert_eq!(&s.read().unwrap()[..], b"secretmore");
        drop(s);
        assert!(!dir.exists());
    }

    #[test]
    fn editor_comes_from_editor_then_ansible_editor_then_vi() {
        assert_eq!(editor_command(|_| None), "vi");
        assert_eq!(editor_command(|k| (k == "ANSIBLE_EDITOR").then(|| "nano".into())), "nano");
        assert_eq!(editor_command(|k| Some(k.to_lowercase())), "editor");
    }
}
