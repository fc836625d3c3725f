//! Test doubles for module tests: a connection that runs commands with `sh -c` on this machine and
//! a controller that resolves files against one directory. Used by unit tests here and in the engine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::connection::{CmdOutput, ConnError, Connection};
use crate::contract::{Controller, FileKind, TemplateRequest};

/// Runs each command as `sh -c` on the local machine; files through std::fs.
#[derive(Debug, Default)]
pub struct ShConnection {
    /// Every command run, in order, so tests can assert on round trips.
    pub log: Vec<String>,
    /// Environment variables set for every command (`PATH` for a host lacking some tool,
    /// `TMPDIR` to see what a module leaves behind); the rest is this process's.
    pub env: Vec<(String, String)>,
}

impl Connection for ShConnection {
    fn host(&self) -> &str {
        "localhost"
    }

    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
        self.log.push(cmd.to_string());
        let mut command = Command::new("sh");
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let mut child = command
            .arg("-c")
            .arg(cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ConnError::Lost(e.to_string()))?;
        if let Some(mut input) = child.stdin.take() {
            if let Some(data) = stdin {
                let _ = input.write_all(data);
            }
        }
        let out = child.wait_with_output().map_err(|e| ConnError::Lost(e.to_string()))?;
        Ok(CmdOutput { rc: out.status.code().unwrap_or(-1), stdout: out.stdout, stderr: out.stderr })
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
        match std::fs::read(path) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ConnError::Lost(format!("{path}: {e}"))),
        }
    }

    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| ConnError::Lost(format!("{path}: {e}")))?;
        f.write_all(data).and_then(|_| f.sync_all()).map_err(|e| ConnError::Lost(format!("{path}: {e}")))
    }

    fn streams(&mut self) -> Result<std::sync::Arc<dyn crate::stream::StreamOpener>, String> {
        Ok(std::sync::Arc::new(crate::stream::LocalStreams))
    }

    /// This machine is the host: its daemon's socket is reached directly.
    fn docker_socket(&mut self, remote_socket: &str) -> Result<PathBuf, String> {
        Ok(PathBuf::from(remote_socket))
    }
}

/// Resolves `src` under `root/files` or `root/templates`, then `root`; renders templates verbatim
/// (the engine's controller renders Jinja; module tests only need the bytes).
#[derive(Debug, Clone)]
pub struct DirController {
    /// The directory playing the playbook's role.
    pub root: PathBuf,
}

impl Controller for DirController {
    fn find_file(&self, kind: FileKind, src: &str) -> Result<PathBuf, String> {
        let sub = match kind {
            FileKind::Files => "files",
            FileKind::Templates => "templates",
        };
        let p = Path::new(src);
        if p.is_absolute() {
            return if p.exists() { Ok(p.to_path_buf()) } else { Err(format!("could not find {src}")) };
        }
        for cand in [self.root.join(sub).join(src), self.root.join(src)] {
            if cand.exists() {
                return Ok(cand);
            }
        }
        Err(format!("could not find {src} in {}/{sub} or {}", self.root.display(), self.root.display()))
    }

    fn render_template(&self, path: &Path, _req: &TemplateRequest) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}
