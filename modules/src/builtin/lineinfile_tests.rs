use serde_json::json;

use super::Lineinfile;
use crate::builtin::test_support::{fail_msg, Sandbox};

/// Cases whose expected file content and message were recorded from
/// `ansible localhost -m lineinfile` (ansible-core 2.19).
#[test]
fn matches_ansible_byte_for_byte() {
    let cases: &[(&str, serde_json::Value, &str, &str)] = &[
        ("a\nb\nc\n", json!({"line": "x"}), "a\nb\nc\nx\n", "line added"),
        ("a\nb\nc\n", json!({"regexp": "^b", "line": "B=1"}), "a\nB=1\nc\n", "line replaced"),
        ("a\nb\nc\n", json!({"insertafter": "^a", "line": "after-a"}), "a\nafter-a\nb\nc\n", "line added"),
        ("a\nb\nc\n", json!({"insertbefore": "^c", "line": "before-c"}), "a\nb\nbefore-c\nc\n", "line added"),
        ("a\nb\nc\n", json!({"insertbefore": "BOF", "line": "top"}), "top\na\nb\nc\n", "line added"),
        ("a\nb", json!({"line": "x"}), "a\nb\nx\n", "line added"),
        (
            "k=v\nz=1\n",
            json!({"regexp": r"^(\w+)=(v.*)$", "line": r#"\1 = "\2""#, "backrefs": true}),
            "k = \"v\"\nz=1\n",
            "line replaced",
        ),
        ("k=v\n", json!({"regexp": "^nomatch(.*)", "line": r"\1", "backrefs": "yes"}), "k=v\n", ""),
        ("#1\nx\n#2\n", json!({"regexp": "^#", "state": "absent"}), "x\n", "2 line(s) removed"),
        (
            "a\nm1\nb\nm2\nc\n",
            json!({"insertafter": "^m", "firstmatch": true, "line": "NEW"}),
            "a\nm1\nNEW\nb\nm2\nc\n",
            "line added",
        ),
        ("a\nm1\nb\nm2\nc\n", json!({"insertafter": "^m", "line": "NEW"}), "a\nm1\nb\nm2\nNEW\nc\n", "line added"),
        ("a\nfoo bar\nc\n", json!({"search_string": "foo ", "line": "replaced"}), "a\nreplaced\nc\n", "line replaced"),
        ("a\nb", json!({"insertafter": "^b", "line": "x"}), "a\nbx\n", "line added"),
        ("a\nb\nc\n", json!({"insertbefore": "^zz", "line": "x"}), "a\nb\nc\nx\n", "line added"),
    ];
    for (init, args, want, msg) in cases {
        let mut sb = Sandbox::new();
        let p = sb.write("t.txt", init);
        let mut args = args.clone();
        args["path"] = json!(p);
        let r = sb.ok(&Lineinfile, args.clone());
        assert_eq!(sb.read("t.txt"), *want, "{args}");
        assert_eq!(r.msg.as_deref(), Some(*msg), "{args}");
        assert_eq!(r.changed, init != want, "{args}");
    }
}

#[test]
fn second_run_is_unchanged_and_check_mode_writes_nothing() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.conf", "port=1\n");
    let args = json!({"dest": p, "regexp": "^port=", "line": "port=2"});
    let r = sb.run(&Lineinfile, args.clone(), true, true).unwrap();
    assert!(r.changed);
    assert_eq!(sb.read("t.conf"), "port=1\n");
    assert_eq!(r.diff[0].before, "port=1\n");
    assert_eq!(r.diff[0].after, "port=2\n");
    assert_eq!(r.diff[0].before_header, format!("{p} (content)"));
    assert!(sb.ok(&Lineinfile, args.clone()).changed);
    assert_eq!(sb.read("t.conf"), "port=2\n");
    let again = sb.ok(&Lineinfile, args);
    assert!(!again.changed);
    assert!(again.diff.is_empty());
}

#[test]
fn create_makes_file_and_parents() {
    let mut sb = Sandbox::new();
    let p = sb.path("sub/dir/new.txt");
    let err = sb.run(&Lineinfile, json!({"path": p, "line": "x"}), false, false);
    assert!(fail_msg(err.unwrap_err()).contains("does not exist !"));
    let r = sb.ok(&Lineinfile, json!({"path": p, "line": "x", "create": true, "mode": "0600"}));
    assert!(r.changed);
    assert_eq!(sb.read("sub/dir/new.txt"), "x\n");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    assert_eq!(r.msg.as_deref(), Some("line added and ownership, perms or SE linux context changed"));
}

#[test]
fn mode_only_change_is_reported() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "x\n");
    let r = sb.ok(&Lineinfile, json!({"path": p, "line": "x", "mode": "0640"}));
    assert!(r.changed);
    assert_eq!(r.msg.as_deref(), Some("ownership, perms or SE linux context changed"));
    assert!(!sb.ok(&Lineinfile, json!({"path": p, "line": "x", "mode": "0640"})).changed);
}

#[test]
fn bad_regexp_and_bad_args_fail() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "x\n");
    let e = sb.run(&Lineinfile, json!({"path": p, "regexp": "(", "line": "y"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("invalid regular expression"));
    let e = sb.run(&Lineinfile, json!({"path": p, "regexp": "a", "search_string": "b", "line": "y"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("mutually exclusive"));
    let e = sb.run(&Lineinfile, json!({"path": p, "backrefs": true, "line": "y"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("regexp is required"));
    let e = sb.run(&Lineinfile, json!({"path": p, "lines": "y"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("unsupported argument"));
    let d = sb.path("");
    let e = sb.run(&Lineinfile, json!({"path": d, "line": "y"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("is a directory"));
}

#[test]
fn validate_failure_leaves_file_untouched() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "x\n");
    let e = sb.run(
        &Lineinfile,
        json!({"path": p, "line": "y", "validate": "sh -c 'echo nope >&2; exit 3' -- %s"}),
        false,
        false,
    );
    assert_eq!(fail_msg(e.unwrap_err()), "failed to validate: rc:3 error:nope\n");
    assert_eq!(sb.read("t.txt"), "x\n");
    let leftovers = std::fs::read_dir(sb.dir.path()).unwrap().count();
    assert_eq!(leftovers, 1);
    let r = sb.ok(&Lineinfile, json!({"path": p, "line": "y", "validate": "grep -q y %s"}));
    assert!(r.changed);
    assert_eq!(sb.read("t.txt"), "x\ny\n");
}

#[test]
fn backup_keeps_old_content() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "old\n");
    let r = sb.ok(&Lineinfile, json!({"path": p, "regexp": "^old", "line": "new", "backup": true}));
    let b = r.data["backup"].as_str().unwrap().to_string();
    assert!(b.starts_with(&format!("{p}.")), "{b}");
    assert_eq!(std::fs::read_to_string(b).unwrap(), "old\n");
    assert_eq!(sb.read("t.txt"), "new\n");
}

#[test]
fn absent_on_missing_file_is_ok() {
    let mut sb = Sandbox::new();
    let p = sb.path("none");
    let r = sb.ok(&Lineinfile, json!({"path": p, "line": "x", "state": "absent"}));
    assert!(!r.changed);
    assert_eq!(r.msg.as_deref(), Some("file not present"));
}

#[test]
fn unchanged_run_costs_one_command() {
    let mut sb = Sandbox::new();
    let p = sb.write("t.txt", "a\nb\n");
    let r = sb.ok(&Lineinfile, json!({"path": p, "line": "b"}));
    assert!(!r.changed);
    assert_eq!(sb.conn.log.len(), 1);
}

/// More recorded Ansible results: CRLF files, missing final newline, already-present lines.
#[test]
fn edge_cases_match_ansible() {
    let cases: &[(&str, serde_json::Value, &str, &str)] = &[
        ("a\r\nb\r\n", json!({"line": "b"}), "a\r\nb\n", "line replaced"),
        ("a\r\nb\r\n", json!({"regexp": "^b", "line": "B"}), "a\r\nB\n", "line replaced"),
        ("a\nb", json!({"regexp": "^b", "line": "B"}), "a\nB\n", "line replaced"),
        ("x\na\n", json!({"insertafter": "^a", "line": "x"}), "x\na\n", ""),
        ("a\r\nb\r\n", json!({"line": "a", "state": "absent"}), "b\r\n", "1 line(s) removed"),
        ("k: 1\n", json!({"regexp": r"^(k): (\d+)", "line": r"\g<1>: 2", "backrefs": true}), "k: 2\n", "line replaced"),
        ("a\nb\n", json!({"regexp": "^zz", "line": "b"}), "a\nb\n", ""),
        ("", json!({"line": "first"}), "first\n", "line added"),
        ("a\nb\n", json!({"insertbefore": "^a", "line": "b"}), "a\nb\n", ""),
    ];
    for (init, args, want, msg) in cases {
        let mut sb = Sandbox::new();
        let p = sb.write("t.txt", init);
        let mut args = args.clone();
        args["path"] = json!(p);
        let r = sb.ok(&Lineinfile, args.clone());
        assert_eq!(sb.read("t.txt"), *want, "{args}");
        assert_eq!(r.msg.as_deref(), Some(*msg), "{args}");
        assert_eq!(r.changed, init != want, "{args}");
    }
}

#[test]
fn an_empty_regexp_or_search_string_warns_as_ansible() {
    let mut sb = Sandbox::new();
    let p = sb.write("f", "a\nb\n");
    let r = sb.ok(&Lineinfile, json!({"path": p, "regexp": "", "line": "c"}));
    assert_eq!(sb.read("f"), "a\nc\n");
    let w = r.data["warnings"][0].as_str().unwrap();
    assert!(w.starts_with("The regular expression is an empty string, which will match every line"), "{w}");
    assert!(w.ends_with("use '^' to match every line in the file and avoid this warning."), "{w}");
    let r = sb.ok(&Lineinfile, json!({"path": p, "search_string": "", "line": "d"}));
    let w = r.data["warnings"][0].as_str().unwrap();
    assert!(w.starts_with("The search string is an empty string") && !w.contains("'^'"), "{w}");
    let r = sb.ok(&Lineinfile, json!({"path": p, "regexp": "^d", "line": "e"}));
    assert!(r.data.get("warnings").is_none());
}

#[test]
fn backreferences_in_regexp_match_as_in_python() {
    let mut sb = Sandbox::new();
    let p = sb.write("f", "REF this is a line for backrefs REF\nother\n");
    let r = sb.ok(&Lineinfile, json!({"path": p, "regexp": r"^(REF) .* \1$", "line": r"\1 done", "backrefs": true}));
    assert!(r.changed);
    assert_eq!(sb.read("f"), "REF done\nother\n");
}

/// A path starting with `~` is expanded on the host before the probe, so no probe is stated
/// ahead for it (it would never match); other paths state exactly the probe `decide` sends.
#[test]
fn first_probe_is_declined_for_a_home_relative_path() {
    use crate::contract::Module;
    let args = |path: &str| json!({"path": path, "line": "x"}).as_object().cloned().unwrap_or_default();
    assert_eq!(Lineinfile.first_probe(&args("~/notes.txt")), None);
    assert_eq!(
        Lineinfile.first_probe(&args("/etc/notes.txt")),
        Some(crate::filewrite::probe_cmd("/etc/notes.txt", true, crate::filewrite::Read::Small))
    );
}
