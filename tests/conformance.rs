//! The conformance guard: every target listed in tests/conformance/passing.txt must pass with
//! orc, on this machine (connection local) and on a lab host over SSH, as
//! `tests/conformance/run` runs Ansible's own integration targets (docs/testing.md,
//! "Conformance"). A target that stops passing fails this test, and so CI.
//!
//! The harness fetches the ansible-core sdist with pip on first use and caches it by its sha256
//! (tests/conformance/.cache, git-ignored); it needs a Python with PyYAML and pip: tests/.venv
//! (made by tests/run.sh), else `python3`.

mod common;

#[path = "lab/mod.rs"]
mod lab;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::repo;

/// The Python to run the harness with: tests/.venv's (it has PyYAML and pip), else `python3`.
fn python() -> PathBuf {
    let venv = repo("tests/.venv/bin/python3");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Runs the harness on passing.txt with `args`, printing its per-target lines, and fails with
/// them when a target did not pass.
fn run_harness(host: &str, args: &[&str]) {
    let orc = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_orc").into());
    let results = tempfile::tempdir().unwrap();
    let out = Command::new(python())
        .arg(repo("tests/conformance/run"))
        .arg("--tool=orc")
        .arg("--orc")
        .arg(&orc)
        .arg("--host")
        .arg(host)
        .arg("--list")
        .arg(repo("tests/conformance/passing.txt"))
        .arg("--results")
        .arg(results.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running tests/conformance/run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // The failed targets first: CI shows the head of a failed test's output.
        for line in stdout.lines().filter(|l| l.starts_with("FAIL")) {
            println!("{line}");
        }
    }
    println!("{stdout}");
    if !out.status.success() {
        // The logs of the failed targets, so CI shows why.
        let mut logs = String::new();
        for line in stdout.lines().filter(|l| l.starts_with("FAIL")) {
            if let Some(name) = line.split_whitespace().nth(1) {
                let log = std::fs::read_to_string(results.path().join(format!("{name}.log"))).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                logs.push_str(&format!("\n--- {name}.log (last lines)\n"));
                for l in tail.into_iter().rev() {
                    logs.push_str(l);
                    logs.push('\n');
                }
            }
        }
        panic!(
            "conformance targets of tests/conformance/passing.txt failed on {host} (exit {:?}):\n{stdout}\n{stderr}{logs}",
            out.status.code()
        );
    }
    assert!(
        stdout.lines().any(|l| l.starts_with("TOTAL orc on ")),
        "the harness printed no total:\n{stdout}\n{stderr}"
    );
}

#[test]
fn passing_targets_pass_on_localhost() {
    run_harness("local", &[]);
}

#[test]
fn passing_targets_pass_on_a_lab_host() {
    let Some(lab) = lab::Lab::start(1) else { return };
    let host = lab.hosts()[0].name.clone();
    let inventory = lab.inventory_path().to_string_lossy().into_owned();
    run_harness("lab", &["--lab-inventory", &inventory, "--lab-host", &host]);
}

#[test]
fn target_lists_name_every_target_once() {
    let out = Command::new(python())
        .arg(repo("tests/conformance/run"))
        .arg("--check-lists")
        .stdin(Stdio::null())
        .output()
        .expect("running tests/conformance/run --check-lists");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tests/conformance/targets.txt, excluded.txt and passing.txt disagree with the sdist's targets:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
