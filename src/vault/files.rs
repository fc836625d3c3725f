//! Writing vault files: atomically (a temporary file beside the target, synced, then renamed over
//! it), never readable by others while being written (created 0600), following a symlink to
//! replace its target, as ansible-vault does.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The permissions a written file ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600, whatever the file had (encrypt, decrypt, create: as ansible-vault writes them).
    Private,
    /// The mode and owner the file had (edit, rekey: as ansible-vault keeps them); 0600 if new.
    Keep,
}

/// Writes `data` to `path` atomically with the permissions `mode` says.
pub fn write_atomic(path: &Path, data: &[u8], mode: Mode) -> std::io::Result<()> {
    // A symlink's target is what gets replaced (ansible-vault follows symlinks too).
    let target = if path.is_symlink() { std::fs::canonicalize(path)? } else { path.to_path_buf() };
    let before = std::fs::metadata(&target).ok();
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (tmp, mut file) = create_private(&dir, &format!(".{name}.orc-"))?;
    let written = (|| {
        file.write_all(data)?;
        file.sync_all()?;
        if let (Mode::Keep, Some(meta)) = (mode, &before) {
            // Owner first (only root may give a file away; others keep theirs), then the mode.
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
            file.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        }
        std::fs::rename(&tmp, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Creates a new file `PREFIX<random>` in `dir`, mode 0600, failing rather than opening an
/// existing one.
pub(crate) fn create_private(dir: &Path, prefix: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut rng = fastrand::Rng::new();
    let mut last = None;
    for _ in 0..16 {
        let path = dir.join(format!("{prefix}{:08x}", rng.u32(..)));
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("could not create a temporary file")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_private_files_and_keeps_modes_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.yml");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"kept", Mode::Keep).unwrap();
        assert_eq!((std::fs::read_to_string(&p).unwrap().as_str(), mode(&p)), ("kept", 0o640));
        write_atomic(&p, b"private", Mode::Private).unwrap();
        assert_eq!((std::fs::read_to_string(&p).unwrap().as_str(), mode(&p)), ("private", 0o600));
        let new = dir.path().join("new.yml");
        write_atomic(&new, b"n", Mode::Keep).unwrap();
        assert_eq!(mode(&new), 0o600);
        // Nothing else is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn replaces_a_symlinks_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yml");
        let link = dir.path().join("link.yml");
        std::fs::write(&real, "a").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"b", Mode::Private).unwrap();
        assert!(link.is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "b");
    }
}
