use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use serde_json::json;

use super::File;
use crate::builtin::test_support::{fail_msg, Sandbox};

fn mode_of(p: &str) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn directory_is_created_with_parents_and_ansible_diff() {
    let mut sb = Sandbox::new();
    let leaf = sb.path("a/b");
    let args = json!({"path": leaf, "state": "directory", "mode": "0750"});
    let r = sb.run(&File, args.clone(), true, true).unwrap();
    assert!(r.changed);
    assert!(!Path::new(&leaf).exists());
    let r = sb.ok(&File, args.clone());
    assert!(r.changed);
    assert_eq!(mode_of(&leaf), 0o750);
    // Created parents get the mode too, as in Ansible.
    assert_eq!(mode_of(&sb.path("a")), 0o750);
    assert_eq!(r.data["state"], "directory");
    assert_eq!(r.data["mode"], "0750");
    // The shape `ansible -m file -a 'state=directory mode=0750' --diff` prints.
    assert_eq!(
        r.diff[0].before,
        format!("{{\n    \"mode\": \"0755\",\n    \"path\": \"{leaf}\",\n    \"state\": \"absent\"\n}}\n")
    );
    assert_eq!(
        r.diff[0].after,
        format!("{{\n    \"mode\": \"0750\",\n    \"path\": \"{leaf}\",\n    \"state\": \"directory\"\n}}\n")
    );
    let again = sb.ok(&File, args);
    assert!(!again.changed);
    assert!(again.diff.is_empty());
}

#[test]
fn directory_over_file_fails() {
    let mut sb = Sandbox::new();
    let f = sb.write("f", "x");
    let e = sb.run(&File, json!({"path": f, "state": "directory"}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), format!("{f} already exists as a file"));
}

#[test]
fn recurse_sets_mode_below() {
    let mut sb = Sandbox::new();
    sb.write("d/x/y.txt", "1");
    let d = sb.path("d");
    let args = json!({"path": d, "state": "directory", "mode": "u=rwX,g=rX,o=", "recurse": true});
    let r = sb.run(&File, args.clone(), true, false).unwrap();
    assert!(r.changed);
    assert_eq!(mode_of(&sb.path("d/x/y.txt")), 0o644);
    assert!(sb.ok(&File, args.clone()).changed);
    assert_eq!(mode_of(&sb.path("d/x/y.txt")), 0o640);
    assert_eq!(mode_of(&sb.path("d/x")), 0o750);
    assert!(!sb.ok(&File, args).changed);
}

#[test]
fn file_state_sets_mode_and_fails_when_missing() {
    let mut sb = Sandbox::new();
    let f = sb.write("f", "x");
    let r = sb.ok(&File, json!({"path": f, "mode": "0600"}));
    assert!(r.changed);
    assert_eq!(mode_of(&f), 0o600);
    assert!(r.diff[0].before.contains("\"mode\": \"0644\""));
    assert!(!sb.ok(&File, json!({"path": f, "mode": "0600"})).changed);
    let missing = sb.path("nope");
    let e = sb.run(&File, json!({"path": missing, "state": "file"}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), format!("file ({missing}) is absent, cannot continue"));
}

#[test]
fn touch_creates_and_sets_times() {
    let mut sb = Sandbox::new();
    let t = sb.path("t");
    let r = sb.run(&File, json!({"path": t, "state": "touch"}), true, false).unwrap();
    assert!(r.changed);
    assert!(!Path::new(&t).exists());
    let args = json!({
        "path": t, "state": "touch",
        "modification_time": "202301021504.05", "access_time": "preserve"
    });
    let r = sb.ok(&File, args.clone());
    assert!(r.changed);
    assert_eq!(r.data["state"], "file");
    let want = {
        let out = std::process::Command::new("date").args(["-d", "2023-01-02 15:04:05", "+%s"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().parse::<i64>().unwrap()
    };
    assert_eq!(std::fs::metadata(&t).unwrap().mtime(), want);
    // A fixed time is idempotent; plain touch always changes (Ansible updates to now).
    assert!(!sb.ok(&File, args).changed);
    assert!(sb.ok(&File, json!({"path": t, "state": "touch"})).changed);
    let e = sb.run(&File, json!({"path": t, "state": "touch", "modification_time": "yesterday"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("Error while obtaining timestamp"));
}

#[test]
fn symlink_create_replace_and_refuse() {
    let mut sb = Sandbox::new();
    sb.write("target1", "1");
    sb.write("target2", "2");
    let l = sb.path("l");
    let r = sb.ok(&File, json!({"path": l, "src": "target1", "state": "link"}));
    assert!(r.changed);
    assert_eq!(std::fs::read_link(&l).unwrap().to_str(), Some("target1"));
    assert!(!sb.ok(&File, json!({"path": l, "src": "target1", "state": "link"})).changed);
    let r = sb.ok(&File, json!({"path": l, "src": "target2", "state": "link"}));
    assert!(r.changed);
    assert!(r.diff[0].before.contains("\"src\": \"target1\""));
    assert_eq!(std::fs::read_to_string(&l).unwrap(), "2");
    let f = sb.path("target1");
    let e = sb.run(&File, json!({"path": f, "src": "target2", "state": "link"}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), format!("refusing to convert from file to symlink for {f}"));
    let e = sb.run(&File, json!({"path": sb.path("l2"), "src": "missing", "state": "link"}), false, false);
    assert!(fail_msg(e.unwrap_err()).starts_with("src file does not exist, use 'force=yes'"));
    let r = sb.ok(&File, json!({"path": sb.path("l2"), "src": "missing", "state": "link", "force": true}));
    assert!(r.changed);
}

#[test]
fn hard_link() {
    let mut sb = Sandbox::new();
    let src = sb.write("src", "x");
    let h = sb.path("h");
    let r = sb.ok(&File, json!({"path": h, "src": src, "state": "hard"}));
    assert!(r.changed);
    assert_eq!(std::fs::metadata(&h).unwrap().ino(), std::fs::metadata(&src).unwrap().ino());
    assert!(!sb.ok(&File, json!({"path": h, "src": src, "state": "hard"})).changed);
    let e = sb.run(&File, json!({"path": sb.path("h2"), "src": sb.path("nope"), "state": "hard"}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), "src does not exist");
}

#[test]
fn absent_removes_recursively_with_path_content_diff() {
    let mut sb = Sandbox::new();
    sb.write("d/sub/f.txt", "x");
    let d = sb.path("d");
    let r = sb.run(&File, json!({"path": d, "state": "absent"}), true, true).unwrap();
    assert!(r.changed);
    assert!(Path::new(&d).exists());
    assert!(r.diff[0].before.contains("\"path_content\""));
    assert!(r.diff[0].before.contains(&format!("{d}/sub/f.txt")));
    assert!(r.diff[0].after.contains("\"state\": \"absent\""));
    let r = sb.ok(&File, json!({"path": d, "state": "absent"}));
    assert!(r.changed);
    assert!(!Path::new(&d).exists());
    let r = sb.ok(&File, json!({"path": d, "state": "absent"}));
    assert!(!r.changed);
    assert_eq!(r.data["state"], "absent");
}

#[test]
fn argument_errors() {
    let mut sb = Sandbox::new();
    let p = sb.path("x");
    let e = sb.run(&File, json!({"path": p, "state": "file", "src": "y"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("src option requires state to be 'link' or 'hard'"));
    let e = sb.run(&File, json!({"path": p, "state": "directoy"}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("directoy"));
}

#[test]
fn diff_peek_only_says_whether_the_path_looks_binary() {
    let mut sb = Sandbox::new();
    let text = sb.write("t.txt", "hello\n");
    let r = sb.ok(&File, json!({"path": text, "_diff_peek": true}));
    assert!(!r.changed);
    assert_eq!(r.data["appears_binary"], false);
    assert!(r.data.get("warnings").is_none());
    let bin = sb.path("b.bin");
    std::fs::write(&bin, b"ab\0cd").unwrap();
    assert_eq!(sb.ok(&File, json!({"path": bin, "_diff_peek": true})).data["appears_binary"], true);
    // A missing path is not binary, and nothing is created.
    let missing = sb.path("none");
    assert_eq!(sb.ok(&File, json!({"path": missing, "_diff_peek": true})).data["appears_binary"], false);
    assert!(!Path::new(&missing).exists());
}

/// The file module's query prints the same alone and in a batch of probes sharing one `stat`
/// (crate::stat_memo), and a batch of paths that are not links runs no other `stat`.
#[test]
fn query_prints_the_same_alone_and_batched() {
    use super::time::TimeSpec;
    let sb = Sandbox::new();
    let _ = sb.write("f", "x");
    std::fs::create_dir(sb.path("full")).unwrap();
    let _ = sb.write("full/.hidden", "");
    std::fs::create_dir(sb.path("empty")).unwrap();
    std::os::unix::fs::symlink(sb.path("f"), sb.path("link")).unwrap();
    let query = |name: &str| super::query_cmd(&sb.path(name), None, &TimeSpec::Preserve, &TimeSpec::Preserve);
    let all: Vec<String> = ["f", "full", "empty", "link", "missing"].iter().map(|n| query(n)).collect();
    let (alone, batched) = crate::stat_memo::tests::alone_and_batched(&all, false);
    assert_eq!(alone, batched);
    let plain: Vec<String> = ["f", "full", "empty", "missing"].iter().map(|n| query(n)).collect();
    let (alone, batched) = crate::stat_memo::tests::alone_and_batched(&plain, true);
    assert_eq!(alone, batched);
}
