//! Side-by-side runs with the real `ansible-playbook` (tests/.venv, made by tests/run.sh): the
//! same playbook runs in two copies of a project directory, one with Ansible and one with orc, and
//! the test compares what a user sees (banners, host lines, printed results, PLAY RECAP), the
//! files each run left and the exit codes. Where Ansible defines a behaviour, this is how a test
//! holds orc to it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha1::{Digest, Sha1};

use super::repo;

/// The ansible-playbook to compare with: `$ORC_ANSIBLE_PLAYBOOK`, else tests/.venv's. Panics,
/// saying how to get one, when there is none: a comparison that cannot run must not pass.
pub fn ansible_playbook() -> PathBuf {
    if let Some(p) = std::env::var_os("ORC_ANSIBLE_PLAYBOOK") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "ORC_ANSIBLE_PLAYBOOK={} is not a file", p.display());
        return p;
    }
    let venv = repo("tests/.venv/bin/ansible-playbook");
    assert!(
        venv.is_file(),
        "this test compares orc with ansible-playbook (ansible-core 2.19): run tests/run.sh, which \
         creates tests/.venv with it, or `python3 -m venv tests/.venv && tests/.venv/bin/pip install \
         'ansible-core>=2.19,<2.20'`, or set ORC_ANSIBLE_PLAYBOOK to an ansible-playbook"
    );
    venv
}

/// The ansible-vault beside the ansible-playbook to compare with.
pub fn ansible_vault() -> PathBuf {
    let pb = ansible_playbook();
    let v = pb.with_file_name("ansible-vault");
    assert!(v.is_file(), "no ansible-vault beside {}", pb.display());
    v
}

/// The Python of the virtualenv that holds ansible-core (for calling Ansible's own functions).
pub fn ansible_python() -> PathBuf {
    let pb = ansible_playbook();
    let py = pb.with_file_name("python3");
    assert!(py.is_file(), "no python3 beside {}", pb.display());
    py
}

/// What one side did: exit code, normalized output lines, and the files it wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct Side {
    /// Exit code.
    pub code: Option<i32>,
    /// Output as a user reads it, normalized (see [`normalize`]).
    pub lines: Vec<String>,
    /// Files and directories the run created or changed: `path mode sha1` lines.
    pub files: Vec<String>,
}

/// Runs `playbook` (relative to `dir`) with `args` under both tools, each in its own copy of
/// `dir`, and returns (ansible, orc).
pub fn run_both(dir: &Path, playbook: &str, args: &[&str]) -> (Side, Side) {
    run_both_env(dir, playbook, args, &[])
}

/// [`run_both`] with extra environment variables for both tools (relative paths in them are
/// taken from the copy, each tool's working directory).
pub fn run_both_env(dir: &Path, playbook: &str, args: &[&str], vars: &[(&str, &str)]) -> (Side, Side) {
    let before: BTreeSet<String> = tree(dir).into_iter().collect();
    let base = tempfile::tempdir().unwrap();
    let home = base.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let orc = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_orc").into());
    let mut sides = Vec::new();
    for (name, program, sub) in [("ansible", ansible_playbook().into_os_string(), None), ("orc", orc, Some("play"))] {
        let copy = base.path().join(name);
        copy_dir(dir, &copy);
        let mut cmd = Command::new(program);
        if let Some(s) = sub {
            cmd.arg(s);
        }
        cmd.arg(copy.join(playbook))
            .args(args)
            .current_dir(&copy)
            .stdin(Stdio::null())
            .env("HOME", &home)
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_FORCE_COLOR", "0")
            .env("NO_COLOR", "1")
            .env("ANSIBLE_LOCALHOST_WARNING", "False")
            .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "False")
            .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
            // Python's own warnings (a newer `cryptography` deprecating DSA, say) are not Ansible's
            // output: without this, a fresh venv makes every comparison differ.
            .env("PYTHONWARNINGS", "ignore")
            .envs(vars.iter().copied());
        let out = cmd.output().unwrap_or_else(|e| panic!("running {name}: {e}"));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let files = tree(&copy).into_iter().filter(|t| !before.contains(t)).collect();
        sides.push(Side { code: out.status.code(), lines: normalize(&text, &copy), files });
    }
    let orc = sides.pop().unwrap();
    let ansible = sides.pop().unwrap();
    (ansible, orc)
}

/// Asserts that orc and ansible-playbook agree on `playbook` in `dir`: same exit code, same
/// output as a user reads it, same files. The failure shows both sides.
#[track_caller]
pub fn assert_same_as_ansible(dir: &Path, playbook: &str, args: &[&str]) {
    let (ansible, orc) = run_both(dir, playbook, args);
    assert!(
        ansible == orc,
        "orc differs from ansible-playbook on {playbook} {args:?}\n--- ansible (exit {:?})\n{}\n{}\n--- orc (exit {:?})\n{}\n{}",
        ansible.code,
        ansible.lines.join("\n"),
        ansible.files.join("\n"),
        orc.code,
        orc.lines.join("\n"),
        orc.files.join("\n"),
    );
}

/// The output lines a user reads, without what differs from run to run or between the tools
/// for reasons of their own: the copy's path, times, blank lines, warnings, banner stars and
/// the spacing of recap lines.
pub fn normalize(text: &str, copy: &Path) -> Vec<String> {
    let text = text.replace(&copy.display().to_string(), "<dir>");
    let times = regex::Regex::new(r#""(delta|end|start)": "[^"]*""#).unwrap();
    let ansi = regex::Regex::new(r"\x1b\[[0-9;]*m").unwrap();
    let skip = regex::Regex::new(r"^\s*$|^\[(WARNING|DEPRECATION WARNING)\]|^Using |^\s*unreachable: |^No config file")
        .unwrap();
    let recap = regex::Regex::new(r"^\S+\s+: ok=").unwrap();
    let spaces = regex::Regex::new(r"\s+").unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = times.replace_all(line, r#""$1": "<t>""#);
        let line = ansi.replace_all(&line, "");
        let line = line.trim_end().trim_end_matches('*').trim_end().to_string();
        if skip.is_match(&line) {
            continue;
        }
        if line.starts_with("PLAY RECAP") || recap.is_match(&line) {
            out.push(spaces.replace_all(&line, " ").into_owned());
        } else {
            out.push(line);
        }
    }
    out
}

/// `path mode sha1` (or `path/ mode`, `path link -> target`) for everything under `root`.
fn tree(root: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.file_type().is_symlink() {
                out.push(format!("{rel} link -> {}", std::fs::read_link(&p).unwrap().display()));
            } else if meta.is_dir() {
                if rel == ".ansible" {
                    continue;
                }
                out.push(format!("{rel}/ {mode:o}"));
                stack.push(p);
            } else {
                let sha = Sha1::digest(std::fs::read(&p).unwrap());
                let hex: String = sha.iter().take(6).map(|b| format!("{b:02x}")).collect();
                out.push(format!("{rel} {mode:o} sha1:{hex}"));
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}
