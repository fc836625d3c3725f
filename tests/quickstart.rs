//! Acceptance 1: the quickstart (examples/quickstart/site.yaml) changes things on its first run,
//! is idempotent on the second, and after a manual edit `--check --diff` shows a unified diff,
//! changes nothing, and with `--detailed-exitcode` exits 10.

mod common;

use common::{assert_same_tree, repo, tree, Orc};
use std::path::Path;

/// `orc play examples/quickstart/site.yaml -e quickstart_root=ROOT`.
fn quickstart(root: &Path) -> Orc {
    Orc::play(repo("examples/quickstart/site.yaml")).extra_var("quickstart_root", root.to_str().unwrap())
}

/// Runs the quickstart once into `root` and checks it succeeded.
fn first_run(root: &Path) {
    quickstart(root).run().success();
}

#[test]
fn first_run_changes_second_run_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("qs");

    // Counts as ansible-playbook reports them for the same file: four tasks (one a loop) and the
    // handler the template notifies, all changed.
    quickstart(&root).run().success().recap_is("localhost", "ok=5 changed=5");
    let conf = std::fs::read_to_string(root.join("etc/app.conf")).unwrap();
    assert!(conf.contains("listen = 0.0.0.0:8080\n"), "{conf}");
    assert!(conf.contains("alpha = 127.0.0.1:9001\nbeta = 127.0.0.1:9002\n"), "{conf}");
    assert_eq!(std::fs::read_to_string(root.join("etc/conf.d/settings.ini")).unwrap(), "log_level = info\n");
    assert_eq!(
        std::fs::read_to_string(root.join("run/reloads.log")).unwrap(),
        "reloaded hello\n",
        "the handler runs once"
    );
    let after_first = tree(&root);
    assert_eq!(after_first["etc/app.env"]["mode"], "0640");

    quickstart(&root).run().success().recap_is("localhost", "ok=4 changed=0");
    assert_same_tree(&tree(&root), &after_first, "second run");
}

#[test]
fn check_diff_after_manual_edit_shows_diff_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("qs");
    first_run(&root);

    let conf = root.join("etc/app.conf");
    let original = std::fs::read_to_string(&conf).unwrap();
    let edited = original.replace("listen = 0.0.0.0:8080", "listen = 0.0.0.0:9999");
    assert_ne!(original, edited);
    std::fs::write(&conf, &edited).unwrap();
    let before = tree(&root);

    // As Ansible counts it: the template would change; the handler it notifies is a shell
    // command, which check mode skips.
    quickstart(&root)
        .check_diff()
        .run()
        .success()
        .stdout_has(&format!("--- before: {}", conf.display()))
        .stdout_has("+++ after")
        .stdout_matches(r"(?m)^@@ -\d+(,\d+)? \+\d+(,\d+)? @@")
        .stdout_line("-listen = 0.0.0.0:9999")
        .stdout_line("+listen = 0.0.0.0:8080")
        .recap_is("localhost", "ok=4 changed=1 skipped=1");

    assert_eq!(std::fs::read_to_string(&conf).unwrap(), edited, "file left as edited");
    assert_same_tree(&tree(&root), &before, "check mode");

    quickstart(&root).check_diff().arg("--detailed-exitcode").run().code(10);
    assert_same_tree(&tree(&root), &before, "check mode with --detailed-exitcode");
}

#[test]
fn detailed_exitcode_is_zero_when_nothing_is_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("qs");
    first_run(&root);
    let before = tree(&root);

    let out = quickstart(&root).args(["--check", "--detailed-exitcode"]).run().success();
    assert_eq!(out.recap("localhost").changed, 0, "{out}");
    assert_same_tree(&tree(&root), &before, "check mode");
}

#[test]
fn check_mode_on_a_fresh_machine_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("qs");

    quickstart(&root).args(["--check", "--detailed-exitcode"]).run().code(10);
    assert!(!root.exists(), "check mode created {}", root.display());
}

#[test]
fn runs_with_the_local_inventory_example() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("qs");

    let out = quickstart(&root).inventory(repo("inventories/local")).run().success();
    assert_eq!(out.recap("localhost").changed, 5, "{out}");
    assert!(root.join("etc/app.conf").is_file());
}

#[test]
fn play_without_playbook_runs_the_embedded_quickstart() {
    // The embedded playbook's default root is $TMPDIR/orc-quickstart.
    let embedded = tempfile::tempdir().unwrap();
    let out = Orc::play_default().env("TMPDIR", embedded.path()).dir(embedded.path()).run().success();
    assert!(out.recap("localhost").changed > 0, "{out}");

    // It is the same playbook as the file in examples/quickstart: same tree.
    let from_file = tempfile::tempdir().unwrap();
    let root = from_file.path().join("orc-quickstart");
    first_run(&root);
    assert_same_tree(
        &tree(&embedded.path().join("orc-quickstart")),
        &tree(&root),
        "embedded quickstart vs examples/quickstart/site.yaml",
    );

    Orc::play_default().env("TMPDIR", embedded.path()).run().success().stdout_has("changed=0");
}

#[test]
fn interrupt_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let p = common::Project::new().file(
        "site.yaml",
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - command: sleep 30\n",
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_orc"))
        .args(["play", "site.yaml"])
        .current_dir(p.path())
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let pid = child.id().to_string();
    std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("User interrupted execution"));
}
