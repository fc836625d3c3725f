//! Reading and writing whole files through the persistent shell, for transports with no direct
//! file access as the target user (`docker exec`, a local shell started through sudo).
//!
//! The framing protocol is byte-exact in both directions (stdin travels as base64, stdout is cut at
//! the end marker), so `cat` is enough to move binary files.

use orc_modules::shell_quote::quote;
use orc_modules::ConnError;

use super::framing::{ShellSession, ShellStreams};

/// Exit status the read script uses for "no such file" (`cat` itself only returns 0 or 1).
const MISSING: i32 = 3;

/// Reads the whole file at `path`; `Ok(None)` when it does not exist (a dangling symlink counts
/// as missing, as with `std::fs::read`).
pub fn read_file<S: ShellStreams>(shell: &mut ShellSession<S>, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
    let p = quote(path);
    let out = shell.exec(&format!("[ -e {p} ] || exit {MISSING}; exec cat -- {p}"), None)?;
    match out.rc {
        0 => Ok(Some(out.stdout)),
        MISSING => Ok(None),
        _ => Err(ConnError::Lost(format!("cannot read {path}: {}", out.stderr_str().trim()))),
    }
}

/// Creates or truncates `path` (mode 0600 when created), writes `data` and flushes it to disk.
pub fn write_file<S: ShellStreams>(shell: &mut ShellSession<S>, path: &str, data: &[u8]) -> Result<(), ConnError> {
    let p = quote(path);
    // `sync FILE` fsyncs one file (coreutils >= 8.24); older versions ignore the argument and sync
    // everything, which is slower but just as safe.
    let cmd = format!("umask 077 && cat > {p} && {{ sync -- {p} 2>/dev/null || sync; }}");
    let out = shell.exec(&cmd, Some(data))?;
    if out.rc == 0 {
        Ok(())
    } else {
        Err(ConnError::File(format!("cannot write {path}: {}", out.stderr_str().trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::process::ProcessShell;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    fn shell() -> ProcessShell {
        ProcessShell::spawn(Command::new("sh")).unwrap()
    }

    #[test]
    fn write_then_read_binary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("it's a file");
        let path = path.to_str().unwrap();
        let mut sh = shell();
        let s = &mut sh.session;
        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        write_file(s, path, &data).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), data);
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_file(s, path).unwrap(), Some(data));
        write_file(s, path, b"short").unwrap();
        assert_eq!(read_file(s, path).unwrap(), Some(b"short".to_vec()));
    }

    #[test]
    fn missing_file_reads_as_none_and_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut sh = shell();
        let s = &mut sh.session;
        let missing = dir.path().join("nope");
        assert_eq!(read_file(s, missing.to_str().unwrap()).unwrap(), None);
        let in_missing_dir = dir.path().join("no/such/dir/f");
        let err = write_file(s, in_missing_dir.to_str().unwrap(), b"x").unwrap_err();
        assert!(err.to_string().contains("no/such/dir/f"), "{err}");
        let err = read_file(s, dir.path().to_str().unwrap()).unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
