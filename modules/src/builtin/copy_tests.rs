use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use super::Copy;
use crate::builtin::test_support::{fail_msg, Sandbox};

fn mode_of(p: &str) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn content_copy_is_idempotent_with_ansible_fields() {
    let mut sb = Sandbox::new();
    let dest = sb.path("out.txt");
    let args = json!({"content": "hello\n", "dest": dest, "mode": "0640"});
    let r = sb.ok(&Copy, args.clone());
    assert!(r.changed);
    assert_eq!(sb.read("out.txt"), "hello\n");
    assert_eq!(mode_of(&dest), 0o640);
    // Values recorded from `ansible -m copy -a "content='hello\n' ... mode=0640"`.
    assert_eq!(r.data["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
    assert_eq!(r.data["md5sum"], "b1946ac92492d2347c6235b4d2611184");
    assert_eq!(r.data["mode"], "0640");
    assert_eq!(r.data["size"], 6);
    assert_eq!(r.data["state"], "file");
    assert_eq!(r.data["dest"], dest.as_str());
    assert!(r.data.contains_key("uid") && r.data.contains_key("owner"));
    assert_eq!(r.diff[0].before, "");
    assert_eq!(r.diff[0].after, "hello\n");
    assert_eq!(r.diff[0].before_header, dest);
    let again = sb.ok(&Copy, args);
    assert!(!again.changed);
    assert!(again.diff.is_empty());
    assert_eq!(again.data["path"], dest.as_str());
    assert!(!again.data.contains_key("md5sum"));
}

#[test]
fn check_mode_changes_nothing() {
    let mut sb = Sandbox::new();
    let dest = sb.write("out.txt", "old\n");
    let r = sb.run(&Copy, json!({"content": "new\n", "dest": dest}), true, true).unwrap();
    assert!(r.changed);
    assert_eq!(r.diff[0].before, "old\n");
    assert_eq!(r.diff[0].after, "new\n");
    assert_eq!(sb.read("out.txt"), "old\n");
    let r = sb.run(&Copy, json!({"content": "old\n", "dest": dest, "mode": "0600"}), true, false).unwrap();
    assert!(r.changed);
    assert_ne!(mode_of(&dest), 0o600);
}

#[test]
fn src_file_into_directory_and_preserve() {
    let mut sb = Sandbox::new();
    let src = sb.write("files/app.conf", "x=1\n");
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o751)).unwrap();
    std::fs::create_dir(sb.path("etc")).unwrap();
    let r = sb.ok(&Copy, json!({"src": "app.conf", "dest": sb.path("etc"), "mode": "preserve"}));
    assert!(r.changed);
    assert_eq!(sb.read("etc/app.conf"), "x=1\n");
    assert_eq!(mode_of(&sb.path("etc/app.conf")), 0o751);
    assert_eq!(r.data["src"], src.as_str());
    // A trailing slash creates the directory.
    let r = sb.ok(&Copy, json!({"src": "app.conf", "dest": format!("{}/", sb.path("new/dir"))}));
    assert!(r.changed);
    assert_eq!(sb.read("new/dir/app.conf"), "x=1\n");
}

#[test]
fn directory_copy_with_and_without_trailing_slash() {
    let mut sb = Sandbox::new();
    sb.write("files/tree/a.txt", "hi\n");
    sb.write("files/tree/sub/b.txt", "yo\n");
    let d1 = sb.path("d1");
    let r = sb.ok(&Copy, json!({"src": "tree", "dest": d1, "directory_mode": "0750"}));
    assert!(r.changed);
    assert_eq!(sb.read("d1/tree/a.txt"), "hi\n");
    assert_eq!(sb.read("d1/tree/sub/b.txt"), "yo\n");
    assert_eq!(mode_of(&sb.path("d1/tree/sub")), 0o750);
    let r = sb.ok(&Copy, json!({"src": "tree/", "dest": sb.path("d2")}));
    assert!(r.changed);
    assert_eq!(sb.read("d2/a.txt"), "hi\n");
    assert_eq!(sb.read("d2/sub/b.txt"), "yo\n");
    assert!(!sb.ok(&Copy, json!({"src": "tree/", "dest": sb.path("d2")})).changed);
    let r = sb.run(&Copy, json!({"src": "tree/", "dest": sb.path("d3")}), true, true).unwrap();
    assert!(r.changed);
    assert!(!std::path::Path::new(&sb.path("d3")).exists());
}

#[test]
fn force_no_backup_and_errors() {
    let mut sb = Sandbox::new();
    let dest = sb.write("out.txt", "keep\n");
    let r = sb.ok(&Copy, json!({"content": "new\n", "dest": dest, "force": "no"}));
    assert!(!r.changed);
    assert_eq!(sb.read("out.txt"), "keep\n");
    let r = sb.ok(&Copy, json!({"content": "new\n", "dest": dest, "backup": true}));
    let b = r.data["backup_file"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(b).unwrap(), "keep\n");
    let e = sb.run(&Copy, json!({"src": "nope", "dest": dest}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("Could not find or access 'nope'"));
    let e = sb.run(&Copy, json!({"content": "x", "dest": sb.path("zz/y")}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), format!("Destination directory {} does not exist", sb.path("zz")));
    let e = sb.run(&Copy, json!({"dest": dest}), false, false);
    assert!(fail_msg(e.unwrap_err()).contains("src (or content) is required"));
}

#[test]
fn validate_failure_keeps_old_file() {
    let mut sb = Sandbox::new();
    let dest = sb.write("out.txt", "old\n");
    let e = sb
        .run(
            &Copy,
            json!({"content": "bad\n", "dest": dest, "validate": "sh -c 'echo no; exit 2' -- %s"}),
            false,
            false,
        )
        .unwrap_err();
    match e {
        crate::contract::ModuleError::Fail(r) => {
            assert_eq!(r.msg.as_deref(), Some("failed to validate"));
            assert_eq!(r.data["exit_status"], 2);
            assert_eq!(r.data["stdout"], "no\n");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sb.read("out.txt"), "old\n");
    assert_eq!(std::fs::read_dir(sb.dir.path()).unwrap().count(), 1);
}

#[test]
fn unchanged_copy_costs_one_command_and_big_files_get_no_diff() {
    let mut sb = Sandbox::new();
    let dest = sb.write("out.txt", "same\n");
    let before = sb.conn.log.len();
    let r = sb.ok(&Copy, json!({"content": "same\n", "dest": dest}));
    assert!(!r.changed);
    assert_eq!(sb.conn.log.len() - before, 1);
    let big = "x".repeat(200_000);
    let r = sb.ok(&Copy, json!({"content": big, "dest": dest}));
    assert!(r.changed);
    assert!(r.diff.is_empty());
}

// remote_src: the source is on the host (here, the sandbox); values checked against
// ansible-playbook 2.19 with /work/shared/tools/ansible-diff on the same cases.

#[test]
fn remote_src_copies_a_host_file_with_ansible_fields() {
    let mut sb = Sandbox::new();
    let src = sb.write("src/a.txt", "hello\n");
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o640)).unwrap();
    let dest = sb.path("out.txt");
    let args = json!({"src": src, "dest": dest, "remote_src": true});
    let check = sb.run(&Copy, args.clone(), true, false).unwrap();
    assert!(check.changed);
    assert_eq!(check.data["state"], "absent");
    assert!(!std::path::Path::new(&dest).exists(), "check mode wrote");
    let r = sb.ok(&Copy, args.clone());
    assert!(r.changed);
    assert_eq!(sb.read("out.txt"), "hello\n");
    assert_eq!(r.data["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
    assert_eq!(r.data["md5sum"], "b1946ac92492d2347c6235b4d2611184");
    assert_eq!(r.data["src"], src.as_str());
    assert_eq!(r.data["dest"], dest.as_str());
    assert_eq!(r.data["size"], 6);
    assert_eq!(r.data["state"], "file");
    // A new file gets the default mode, not the source's.
    assert_ne!(mode_of(&dest), 0o640);
    let again = sb.ok(&Copy, args.clone());
    assert!(!again.changed);
    assert_eq!(again.data["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
    // Replacing an existing file takes the source's mode; mode=preserve too.
    sb.write("src/a.txt", "bye\n");
    assert!(sb.ok(&Copy, args).changed);
    assert_eq!(mode_of(&dest), 0o640);
    let r = sb.ok(&Copy, json!({"src": src, "dest": sb.path("p.txt"), "remote_src": true, "mode": "preserve"}));
    assert_eq!(r.data["mode"], "0640");
    // The host's cp did the copy.
    assert!(sb.conn.log.iter().any(|l| l.starts_with("cp --preserve=mode,timestamps")), "{:?}", sb.conn.log);
}

#[test]
fn remote_src_into_a_missing_directory_and_its_failures() {
    let mut sb = Sandbox::new();
    let src = sb.write("a.txt", "x\n");
    let args = json!({"src": src, "dest": format!("{}/", sb.path("n1/n2")), "remote_src": true});
    let check = sb.run(&Copy, args.clone(), true, false).unwrap();
    assert!(check.changed);
    assert_eq!(check.msg, Some(format!("dest directory {} would be created", sb.path("n1/n2"))));
    let r = sb.ok(&Copy, args);
    assert!(r.changed);
    assert_eq!(r.data["dest"], sb.path("n1/n2/a.txt"));
    assert_eq!(sb.read("n1/n2/a.txt"), "x\n");
    let e = sb.run(&Copy, json!({"src": sb.path("nope"), "dest": sb.path("x"), "remote_src": true}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), format!("Source {} not found", sb.path("nope")));
    let e = sb.run(&Copy, json!({"src": src, "dest": sb.path("no/x"), "remote_src": true}), false, false);
    assert_eq!(fail_msg(e.unwrap_err()), format!("Destination directory {} does not exist", sb.path("no")));
    let r = sb.ok(&Copy, json!({"src": src, "dest": sb.path("n1/n2/a.txt"), "remote_src": true, "force": false}));
    assert!(!r.changed);
    assert_eq!(r.msg.as_deref(), Some("file already exists"));
}

#[test]
fn remote_src_copies_directories_as_ansible_does() {
    let mut sb = Sandbox::new();
    sb.write("src/a.txt", "a\n");
    sb.write("src/sub/b.txt", "b\n");
    std::os::unix::fs::symlink("a.txt", sb.path("src/link")).unwrap();
    // `src/` into a missing dest: the contents, links kept as links.
    let args = json!({"src": format!("{}/", sb.path("src")), "dest": sb.path("t1"), "remote_src": true});
    let check = sb.run(&Copy, args.clone(), true, false).unwrap();
    assert!(check.changed);
    assert!(!std::path::Path::new(&sb.path("t1")).exists());
    let r = sb.ok(&Copy, args.clone());
    assert!(r.changed);
    assert_eq!(r.data["checksum"], serde_json::Value::Null);
    assert_eq!(sb.read("t1/sub/b.txt"), "b\n");
    assert!(std::fs::symlink_metadata(sb.path("t1/link")).unwrap().file_type().is_symlink());
    assert!(!sb.ok(&Copy, args.clone()).changed);
    // A changed file and a new one are copied; the result names the adjusted dest.
    sb.write("src/sub/b.txt", "bb\n");
    sb.write("src/sub/new.txt", "n\n");
    let r = sb.ok(&Copy, args.clone());
    assert!(r.changed);
    assert_eq!(sb.read("t1/sub/b.txt"), "bb\n");
    assert_eq!(sb.read("t1/sub/new.txt"), "n\n");
    assert!(!sb.ok(&Copy, args).changed);
    // `src` without a slash into an existing directory: dest/src, and the result's dest is it.
    std::fs::create_dir(sb.path("t2")).unwrap();
    let args = json!({"src": sb.path("src"), "dest": sb.path("t2"), "remote_src": true, "local_follow": true});
    let r = sb.ok(&Copy, args.clone());
    assert!(r.changed);
    assert_eq!(r.data["dest"], sb.path("t2/src"));
    assert_eq!(sb.read("t2/src/sub/new.txt"), "n\n");
    assert!(!std::fs::symlink_metadata(sb.path("t2/src/link")).unwrap().file_type().is_symlink());
    assert!(!sb.ok(&Copy, args).changed);
}

#[test]
fn an_empty_src_or_a_missing_dest_fails_with_ansibles_messages() {
    // tests/conformance target `copy`: `src: ''` is no src; a missing dest is named after src.
    let mut sb = Sandbox::new();
    let e = sb.run(&Copy, json!({"src": "", "dest": sb.path("x")}), false, false).unwrap_err();
    assert_eq!(fail_msg(e), "src (or content) is required");
    let e = sb.run(&Copy, json!({"src": "foo.txt"}), false, false).unwrap_err();
    assert_eq!(fail_msg(e), "dest is required");
    let e = sb.run(&Copy, json!({"dest": sb.path("x")}), false, false).unwrap_err();
    assert_eq!(fail_msg(e), "src (or content) is required");
}

#[test]
fn a_controller_tree_with_link_loops_is_copied_as_ansible_walks_it() {
    // tests/conformance target `copy`: links in files/subdir/subdir1 (a loop to `../`, a link to a
    // sibling directory, a link to a file, a dangling one). local_follow (the default) copies a
    // linked file or directory as itself and keeps a loop as a link; local_follow=false keeps
    // every link.
    let mut sb = Sandbox::new();
    sb.write("files/tree/a.txt", "a\n");
    sb.write("files/tree/sub2/sub3/b.txt", "b\n");
    std::fs::create_dir_all(sb.path("files/tree/sub1")).unwrap();
    for (target, name) in [("../", "circles"), ("../sub2/sub3", "sub3"), ("../a.txt", "a.txt"), ("invalid", "invalid")]
    {
        std::os::unix::fs::symlink(target, sb.path(&format!("files/tree/sub1/{name}"))).unwrap();
    }
    let is_link = |p: &str| std::fs::symlink_metadata(p).unwrap().file_type().is_symlink();
    let args = json!({"src": "tree", "dest": sb.path("o1/")});
    assert!(sb.ok(&Copy, args.clone()).changed);
    assert_eq!(sb.read("o1/tree/sub1/a.txt"), "a\n");
    assert!(!is_link(&sb.path("o1/tree/sub1/a.txt")));
    assert_eq!(sb.read("o1/tree/sub1/sub3/b.txt"), "b\n");
    assert!(!is_link(&sb.path("o1/tree/sub1/sub3")));
    assert!(is_link(&sb.path("o1/tree/sub1/circles")));
    assert_eq!(std::fs::read_link(sb.path("o1/tree/sub1/invalid")).unwrap().to_str(), Some("invalid"));
    assert!(!sb.ok(&Copy, args).changed);
    let args = json!({"src": "tree/", "dest": sb.path("o2/"), "local_follow": false});
    assert!(sb.ok(&Copy, args.clone()).changed);
    assert_eq!(std::fs::read_link(sb.path("o2/sub1/sub3")).unwrap().to_str(), Some("../sub2/sub3"));
    assert_eq!(std::fs::read_link(sb.path("o2/sub1/a.txt")).unwrap().to_str(), Some("../a.txt"));
    assert!(!sb.ok(&Copy, args).changed);
}

#[test]
fn the_registered_diff_is_a_list_as_ansibles_copy_action_makes_it() {
    // tests/conformance target `copy`: `diff_output.diff[0].before`.
    let mut sb = Sandbox::new();
    let r = sb.run(&Copy, json!({"content": "x\n", "dest": sb.path("f")}), false, true).unwrap();
    let diff = r.to_json()["diff"].clone();
    assert_eq!(diff[0]["before"], "", "{diff}");
    assert_eq!(diff[0]["after"], "x\n");
    let again = sb.run(&Copy, json!({"content": "x\n", "dest": sb.path("f")}), false, true).unwrap();
    assert!(again.to_json().get("diff").is_none());
}
