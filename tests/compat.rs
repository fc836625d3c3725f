//! Acceptance 3: orc runs tests/fixtures/compat/site.yaml (roles with defaults, params, handlers,
//! templates and meta dependencies; loops with loop_control; register, set_fact, when;
//! block/rescue/always; creates; symlinks; blockinfile and lineinfile) and produces exactly the
//! file tree, contents, modes and PLAY RECAP counts ansible-playbook produced for it (recorded
//! by tests/fixtures/compat/record.sh), and a second run changes nothing.

mod common;

use common::{assert_same_tree, read_json, repo, tree, Orc, Recap};
use std::path::Path;

/// `orc play tests/fixtures/compat/site.yaml -e root=ROOT` under the umask record.sh used.
fn compat(root: &Path) -> Orc {
    Orc::play(repo("tests/fixtures/compat/site.yaml")).extra_var("root", root.to_str().unwrap()).umask(0o022)
}

/// The recorded PLAY RECAP counters of `run` ("first" or "second").
fn expected_recap(run: &str) -> Recap {
    let recaps = read_json("tests/fixtures/compat/expected_recap.json");
    serde_json::from_value(recaps[run].clone()).unwrap()
}

#[test]
fn same_tree_and_recap_as_ansible_then_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let expected_tree = read_json("tests/fixtures/compat/expected_tree.json");

    let first = compat(root).run().success();
    assert_same_tree(&tree(root), &expected_tree, &format!("after the first run\n{first}"));
    assert_eq!(first.recap("localhost"), expected_recap("first"), "first run\n{first}");

    let second = compat(root).run().success();
    assert_eq!(second.recap("localhost"), expected_recap("second"), "second run\n{second}");
    assert_eq!(second.recap("localhost").changed, 0, "{second}");
    assert_same_tree(&tree(root), &expected_tree, &format!("after the second run\n{second}"));
}

#[test]
fn the_recorded_fixture_is_consistent() {
    // Guards the recording itself: the second run changed nothing, one failure was rescued.
    let first = expected_recap("first");
    let second = expected_recap("second");
    assert!(first.changed > 0);
    assert_eq!(second.changed, 0);
    assert_eq!((first.rescued, first.failed), (1, 0));
    let tree = read_json("tests/fixtures/compat/expected_tree.json");
    for path in ["app/run/current.conf", "app-link"] {
        assert_eq!(tree[path]["type"], "link", "{path}");
    }
}
