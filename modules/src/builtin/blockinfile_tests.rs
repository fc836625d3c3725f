use serde_json::json;

use super::Blockinfile;
use crate::builtin::test_support::{fail_msg, Sandbox};

/// Cases whose expected file content and message were recorded from
/// `ansible localhost -m blockinfile` (ansible-core 2.19).
#[test]
fn matches_ansible_byte_for_byte() {
    let managed = "a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nb\n";
    let cases: &[(&str, serde_json::Value, &str, &str)] = &[
        (
            "a\nb\n",
            json!({"block": "x\ny"}),
            "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n",
            "Block inserted",
        ),
        (
            "a\nb",
            json!({"block": "x"}),
            "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n",
            "Block inserted",
        ),
        (
            managed,
            json!({"block": "new"}),
            "a\n# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\nb\n",
            "Block inserted",
        ),
        (managed, json!({"state": "absent"}), "a\nb\n", "Block removed"),
        (
            "a\nb\nc\n",
            json!({"block": "x", "insertafter": "^a"}),
            "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\nc\n",
            "Block inserted",
        ),
        (
            "a\nb\nc\n",
            json!({"block": "x", "insertbefore": "^c", "prepend_newline": true, "append_newline": true}),
            "a\nb\n\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n\nc\n",
            "Block inserted",
        ),
        (
            "a\nb\nc\n",
            json!({"content": "x", "insertbefore": "BOF", "marker": "<!-- {mark} -->", "marker_begin": "start", "marker_end": "stop"}),
            "<!-- start -->\nx\n<!-- stop -->\na\nb\nc\n",
            "Block inserted",
        ),
        (
            "a\nb\nc\n",
            json!({"block": "x", "insertafter": "(?m)^b$"}),
            "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nc\n",
            "Block inserted",
        ),
        (
            "a\r\nb\r\n",
            json!({"block": "x", "insertafter": "^a"}),
            "a\r\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\r\n",
            "Block inserted",
        ),
        ("a\nb\n", json!({"block": ""}), "a\nb\n", ""),
    ];
    for (init, args, want, msg) in cases {
        let mut sb = Sandbox::new();
        let p = sb.write("t.txt", init);
        let mut args = args.clone();
        args["path"] = json!(p);
        let r = sb.ok(&Blockinfile, args.clone());
        assert_eq!(sb.read("t.txt"), *want, "{args}");
        assert_eq!(r.msg.as_deref(), Some(*msg), "{args}");
        assert_eq!(r.changed, init != want, "{args}");
        // Ansible's own output is recognised: a second run changes nothing.
        let again = sb.ok(&Blockinfile, args.clone());
        assert!(!again.changed, "{args}");
        assert_eq!(sb.read("t.txt"), *want, "{args}");
    }
}

#[test]
fn check_mode_reports_diff_and_writes_nothing() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "a\n");
    let r = sb.run(&Blockinfile, json!({"dest": p, "block": "x"}), true, true).unwrap();
    assert!(r.changed);
    assert_eq!(sb.read("t.txt"), "a\n");
    assert_eq!(r.diff.len(), 1);
    assert_eq!(r.diff[0].before, "a\n");
    assert_eq!(r.diff[0].after, "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n");
}

#[test]
fn create_and_missing_file() {
    let mut sb = Sandbox::new();
    let p = sb.path("d/new.txt");
    let e = sb.run(&Blockinfile, json!({"path": p, "block": "x"}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), format!("Path {p} does not exist !"));
    let r = sb.ok(&Blockinfile, json!({"path": p, "block": "x", "create": true}));
    assert_eq!(r.msg.as_deref(), Some("File created"));
    assert_eq!(sb.read("d/new.txt"), "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n");
}

#[test]
fn validate_failure_and_backup() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "a\n");
    let e = sb.run(&Blockinfile, json!({"path": p, "block": "x", "validate": "false %s"}), false, false);
    assert!(fail_msg(e.unwrap_err()).starts_with("failed to validate: rc:1"));
    assert_eq!(sb.read("t.txt"), "a\n");
    let e = sb.run(&Blockinfile, json!({"path": p, "block": "x", "validate": "true"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("validate must contain %s"));
    let r = sb.ok(&Blockinfile, json!({"path": p, "block": "x", "backup": true}));
    let b = r.data["backup_file"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(b).unwrap(), "a\n");
}

#[test]
fn bad_insertafter_regexp_fails() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "a\n");
    let e = sb.run(&Blockinfile, json!({"path": p, "block": "x", "insertafter": "[a"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("invalid regular expression"));
}
