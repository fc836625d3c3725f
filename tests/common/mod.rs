//! A small DSL for orc's integration tests: build a command line, run the real `orc` binary, and
//! assert on its exit code, output and PLAY RECAP; plus snapshots of directory trees so a test can
//! say "exactly this was written" or "nothing changed".
//!
//! ```ignore
//! let project = Project::new().file("site.yaml", "- hosts: localhost\n  tasks: []\n");
//! let out = project.play("site.yaml").extra_var("x", "1").run().code(0);
//! assert_eq!(out.recap("localhost").changed, 0);
//! ```
//!
//! Every assertion prints the command line, the exit code, stdout and stderr when it fails.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub mod ansible;
pub mod registry;
pub mod tty;
pub mod vault_text;

use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};
use tempfile::TempDir;

/// A path inside the repository (tests run with any working directory).
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Writes tests/lab/app-image.sh's tiny app image (version 1) as a `docker save` archive to
/// `dest`, for a playbook to copy to a lab host and load there; the image `tag:1` built on the
/// way is removed from this machine's dockerd.
pub fn app_image_archive(tag: &str, dest: &Path) {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let st = Command::new("bash")
        .arg(repo("tests/lab/app-image.sh"))
        .args(["archive", "1", &format!("{tag}:1")])
        .arg(dest)
        .status()
        .unwrap();
    assert!(st.success(), "app-image.sh archive failed");
    let _ = Command::new("docker").args(["rmi", &format!("{tag}:1")]).output();
}

/// Removes the common leading indentation of `text`, a leading newline and trailing blank lines
/// (keeping one final newline), so playbooks can be written indented inside string literals.
pub fn unindent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let mut out = String::new();
    for line in text.lines() {
        if !line.trim().is_empty() {
            out.push_str(&line[indent..]);
        }
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A throw-away directory holding a test's playbooks, templates and inventories.
pub struct Project {
    dir: TempDir,
}

impl Project {
    /// An empty project in a fresh temporary directory.
    pub fn new() -> Project {
        Project { dir: tempfile::tempdir().unwrap() }
    }

    /// Writes `rel` (parents created) with `content` unindented, and returns the project.
    pub fn file(self, rel: &str, content: &str) -> Project {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, unindent(content)).unwrap();
        self
    }

    /// The project's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the project.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `orc play PLAYBOOK`, run from the project directory.
    pub fn play(&self, playbook: &str) -> Orc {
        Orc::play(playbook).dir(self.path())
    }

    /// A snapshot of the project's tree (see [`tree`]).
    pub fn tree(&self) -> Value {
        tree(self.path())
    }
}

/// One invocation of the `orc` binary, built step by step.
#[derive(Clone)]
pub struct Orc {
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    env: Vec<(OsString, OsString)>,
    env_removed: Vec<OsString>,
    umask: Option<u32>,
    timeout: Duration,
    stdin: Option<Vec<u8>>,
}

impl Orc {
    /// `orc` with no arguments yet.
    pub fn new() -> Orc {
        Orc {
            args: Vec::new(),
            dir: None,
            env: Vec::new(),
            env_removed: Vec::new(),
            umask: None,
            timeout: Duration::from_secs(120),
            stdin: None,
        }
    }

    /// `orc play PLAYBOOK`.
    pub fn play(playbook: impl AsRef<OsStr>) -> Orc {
        Orc::new().arg("play").arg(playbook)
    }

    /// `orc play` with no playbook: the embedded quickstart on localhost.
    pub fn play_default() -> Orc {
        Orc::new().arg("play")
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Orc {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Appends several arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Orc {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `-e '{"name": value}'`: an extra variable, passed as JSON so any value (paths with spaces,
    /// numbers, lists) arrives exactly.
    pub fn extra_var(self, name: &str, value: impl Into<Value>) -> Orc {
        let mut map = Map::new();
        map.insert(name.to_string(), value.into());
        self.arg("-e").arg(Value::Object(map).to_string())
    }

    /// `-i INVENTORY`.
    pub fn inventory(self, inventory: impl AsRef<OsStr>) -> Orc {
        self.arg("-i").arg(inventory)
    }

    /// `--check --diff`.
    pub fn check_diff(self) -> Orc {
        self.arg("--check").arg("--diff")
    }

    /// Runs in `dir` instead of the test's working directory.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Orc {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Sets an environment variable for the run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Orc {
        self.env.push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs without an ssh-agent (`SSH_AUTH_SOCK` removed from the environment), so that only
    /// the keys and passwords a test gives are offered.
    pub fn env_remove_agent(mut self) -> Orc {
        self.env_removed.push(OsString::from("SSH_AUTH_SOCK"));
        self
    }

    /// Runs under this umask (through `sh -c 'umask ..; exec orc ...'`), so the modes of files
    /// created without an explicit mode are predictable.
    pub fn umask(mut self, mask: u32) -> Orc {
        self.umask = Some(mask);
        self
    }

    /// Kills orc and fails the test when it runs longer than this (default: 120 s).
    pub fn timeout(mut self, limit: Duration) -> Orc {
        self.timeout = limit;
        self
    }

    /// Gives orc these bytes on its standard input (instead of none).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Orc {
        self.stdin = Some(input.into());
        self
    }

    /// The command line, for messages.
    fn display(&self) -> String {
        let mut s = String::from("orc");
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    /// Runs orc to completion (stdin empty unless [`Orc::stdin`] gave some) and returns what happened. The binary is the one
    /// cargo built for this test, or `$ORC_TEST_BIN` when set (to test another build). Panics,
    /// with the output so far, when the run exceeds its timeout.
    pub fn run(self) -> Outcome {
        let bin = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| OsString::from(env!("CARGO_BIN_EXE_orc")));
        let mut cmd = match self.umask {
            Some(mask) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(format!("umask {mask:03o} && exec \"$0\" \"$@\"")).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        let stdin = if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() };
        cmd.args(&self.args).stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped()).env("NO_COLOR", "1");
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for k in &self.env_removed {
            cmd.env_remove(k);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("could not start {}: {e}", self.display()));
        if let (Some(input), Some(mut pipe)) = (self.stdin.clone(), child.stdin.take()) {
            // On a thread, so a child that does not read everything cannot block the test.
            std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut pipe, &input);
            });
        }
        let stdout = drain(child.stdout.take().unwrap());
        let stderr = drain(child.stderr.take().unwrap());
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let outcome = Outcome {
            command: self.display(),
            code: status.and_then(|s| s.code()),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        };
        if status.is_none() {
            panic!("timed out after {:?}\n{outcome}", self.timeout);
        }
        outcome
    }
}

/// Reads a child's pipe to the end on a thread (so a full pipe never blocks the child).
fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Default for Orc {
    fn default() -> Self {
        Orc::new()
    }
}

/// What one run of orc did: exit code and output. Assertions consume and return it, so they chain.
pub struct Outcome {
    /// The command line that ran.
    pub command: String,
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command: {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

impl Outcome {
    /// Asserts the exit code.
    #[track_caller]
    pub fn code(self, expected: i32) -> Outcome {
        assert_eq!(self.code, Some(expected), "expected exit code {expected}\n{self}");
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(self) -> Outcome {
        self.code(0)
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Outcome {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}\n{self}");
        self
    }

    /// Asserts that stdout does not contain `needle`.
    #[track_caller]
    pub fn stdout_lacks(self, needle: &str) -> Outcome {
        assert!(!self.stdout.contains(needle), "stdout has {needle:?}\n{self}");
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Outcome {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}\n{self}");
        self
    }

    /// Asserts that stdout matches the regular expression `pattern` (use `(?m)` for `^`/`$` per
    /// line).
    #[track_caller]
    pub fn stdout_matches(self, pattern: &str) -> Outcome {
        let re = regex::Regex::new(pattern).unwrap();
        assert!(re.is_match(&self.stdout), "stdout does not match /{pattern}/\n{self}");
        self
    }

    /// Asserts that stdout has a line equal to `line` (ignoring trailing spaces).
    #[track_caller]
    pub fn stdout_line(self, line: &str) -> Outcome {
        assert!(self.stdout.lines().any(|l| l.trim_end() == line), "stdout has no line {line:?}\n{self}");
        self
    }

    /// The PLAY RECAP counters of `host` (the last recap line for it). Panics, showing the output,
    /// when there is none.
    #[track_caller]
    pub fn recap(&self, host: &str) -> Recap {
        self.stdout
            .lines()
            .rev()
            .find_map(|line| Recap::parse_line(line, host))
            .unwrap_or_else(|| panic!("no PLAY RECAP line for {host}\n{self}"))
    }

    /// Asserts the PLAY RECAP counters of `host`, given as `"ok=2 changed=1"` (counters not named
    /// are expected to be 0).
    #[track_caller]
    pub fn recap_is(self, host: &str, expected: &str) -> Outcome {
        let expected = Recap::counts(expected);
        let got = self.recap(host);
        assert_eq!(got, expected, "PLAY RECAP of {host}\n{self}");
        self
    }

    /// stderr with every occurrence of `dir` (as given and canonicalized) replaced by `[DIR]`, for
    /// snapshots that must not depend on where the temporary directory was.
    pub fn stderr_redacted(&self, dir: &Path) -> String {
        redact(&self.stderr, dir)
    }

    /// stdout with `dir` replaced by `[DIR]` (see [`Outcome::stderr_redacted`]).
    pub fn stdout_redacted(&self, dir: &Path) -> String {
        redact(&self.stdout, dir)
    }
}

/// Replaces `dir` (canonical form first, then as given) by `[DIR]` in `text`.
pub fn redact(text: &str, dir: &Path) -> String {
    let mut out = text.to_string();
    if let Ok(canon) = dir.canonicalize() {
        out = out.replace(&*canon.to_string_lossy(), "[DIR]");
    }
    out.replace(&*dir.to_string_lossy(), "[DIR]")
}

/// The counters of one PLAY RECAP line: `host : ok=N changed=N unreachable=N failed=N skipped=N
/// rescued=N ignored=N`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Recap {
    /// Tasks that ran (changed ones included).
    pub ok: u32,
    /// Tasks that changed something.
    pub changed: u32,
    /// 1 when the host was unreachable.
    pub unreachable: u32,
    /// Failed tasks (not ignored, not rescued).
    pub failed: u32,
    /// Skipped tasks.
    pub skipped: u32,
    /// Rescued failures.
    pub rescued: u32,
    /// Failures ignored by ignore_errors.
    pub ignored: u32,
}

impl Recap {
    /// Counters from `"ok=2 changed=1"`; counters not named are 0. Panics on an unknown name.
    #[track_caller]
    pub fn counts(spec: &str) -> Recap {
        let mut r = Recap::default();
        for field in spec.split_whitespace() {
            let (k, v) = field.split_once('=').unwrap_or_else(|| panic!("expected name=N, got {field:?}"));
            let v: u32 = v.parse().unwrap_or_else(|_| panic!("not a count: {field:?}"));
            match k {
                "ok" => r.ok = v,
                "changed" => r.changed = v,
                "unreachable" => r.unreachable = v,
                "failed" => r.failed = v,
                "skipped" => r.skipped = v,
                "rescued" => r.rescued = v,
                "ignored" => r.ignored = v,
                _ => panic!("unknown PLAY RECAP counter {k:?}"),
            }
        }
        r
    }

    /// Parses `line` when it is the recap line of `host`. Every counter must be present.
    pub fn parse_line(line: &str, host: &str) -> Option<Recap> {
        let (name, counters) = line.split_once(" : ")?;
        if name.trim() != host {
            return None;
        }
        let mut found: BTreeMap<&str, u32> = BTreeMap::new();
        for field in counters.split_whitespace() {
            let (k, v) = field.split_once('=')?;
            found.insert(k, v.parse().ok()?);
        }
        Some(Recap {
            ok: *found.get("ok")?,
            changed: *found.get("changed")?,
            unreachable: *found.get("unreachable")?,
            failed: *found.get("failed")?,
            skipped: *found.get("skipped")?,
            rescued: *found.get("rescued")?,
            ignored: *found.get("ignored")?,
        })
    }
}

/// A snapshot of the tree under `root`, as JSON keyed by path relative to `root` (root itself
/// excluded, keys sorted): `{"type": "dir", "mode": "0755"}`, `{"type": "file", "mode": "0644",
/// "content": "..."}` (`"sha1"` instead of `"content"` when not UTF-8), `{"type": "link",
/// "target": "..."}`. Occurrences of the root path in contents and link targets are written
/// `{root}`, so snapshots from different temporary directories compare equal. Symlinks are not
/// followed. tests/fixtures/compat/record.sh writes the same format.
pub fn tree(root: &Path) -> Value {
    let root_str = root.to_string_lossy().into_owned();
    let mut entries = BTreeMap::new();
    walk(root, root, &root_str, &mut entries);
    Value::Object(entries.into_iter().collect())
}

fn walk(root: &Path, dir: &Path, root_str: &str, entries: &mut BTreeMap<String, Value>) {
    let mut children: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    children.sort();
    for path in children {
        let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = format!("{:04o}", meta.permissions().mode() & 0o7777);
        let norm = |s: &str| s.replace(root_str, "{root}");
        let entry = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            json!({"type": "link", "target": norm(&target.to_string_lossy())})
        } else if meta.is_dir() {
            walk(root, &path, root_str, entries);
            json!({"type": "dir", "mode": mode})
        } else {
            let bytes = std::fs::read(&path).unwrap();
            match String::from_utf8(bytes) {
                Ok(text) => json!({"type": "file", "mode": mode, "content": norm(&text)}),
                Err(e) => {
                    let sha = Sha1::digest(e.as_bytes());
                    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
                    json!({"type": "file", "mode": mode, "sha1": hex})
                }
            }
        };
        entries.insert(rel, entry);
    }
}

/// Asserts two tree snapshots are equal, listing each path that is missing, unexpected or
/// different (instead of printing two whole trees).
#[track_caller]
pub fn assert_same_tree(got: &Value, expected: &Value, context: &str) {
    let empty = Map::new();
    let g = got.as_object().unwrap_or(&empty);
    let e = expected.as_object().unwrap_or(&empty);
    let mut problems = Vec::new();
    for (path, want) in e {
        match g.get(path) {
            None => problems.push(format!("missing   {path}: expected {want}")),
            Some(have) if have != want => {
                problems.push(format!("different {path}:\n    got      {have}\n    expected {want}"))
            }
            Some(_) => {}
        }
    }
    for (path, have) in g {
        if !e.contains_key(path) {
            problems.push(format!("unexpected {path}: {have}"));
        }
    }
    assert!(problems.is_empty(), "{context}: trees differ\n{}", problems.join("\n"));
}

/// Reads a JSON file of the repository.
pub fn read_json(rel: &str) -> Value {
    let path = repo(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_recap_lines() {
        let line = "localhost                  : ok=5    changed=2    unreachable=0    failed=1    skipped=3    rescued=0    ignored=4   ";
        assert_eq!(
            Recap::parse_line(line, "localhost"),
            Some(Recap { ok: 5, changed: 2, unreachable: 0, failed: 1, skipped: 3, rescued: 0, ignored: 4 })
        );
        assert_eq!(
            Recap::parse_line(line, "localhost"),
            Some(Recap::counts("ok=5 changed=2 failed=1 skipped=3 ignored=4"))
        );
        assert_eq!(Recap::parse_line(line, "web1"), None);
        assert_eq!(Recap::parse_line("localhost : ok=1", "localhost"), None);
    }

    #[test]
    fn unindents() {
        let text = "
            - hosts: all
              tasks: []
        ";
        assert_eq!(unindent(text), "- hosts: all\n  tasks: []\n");
    }

    #[test]
    fn snapshots_a_tree() {
        let p = Project::new().file("a/b.txt", "hi\n");
        std::os::unix::fs::symlink(p.join("a"), p.join("l")).unwrap();
        std::fs::write(p.join("bin"), [0xff, 0xfe]).unwrap();
        std::fs::set_permissions(p.join("a/b.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
        let t = p.tree();
        assert_eq!(t["a/b.txt"], json!({"type": "file", "mode": "0640", "content": "hi\n"}));
        assert_eq!(t["l"], json!({"type": "link", "target": "{root}/a"}));
        assert_eq!(t["a"]["type"], "dir");
        assert_eq!(t["bin"]["sha1"].as_str().unwrap().len(), 40);
    }
}
