//! The human printer against ansible-playbook's own text. Each scenario feeds the events orc's
//! engine emits for a playbook in tests/fixtures/printers/ and compares the output byte for byte
//! with what ansible-core 2.19 printed for it (commands in tests/fixtures/printers/README.md);
//! the insta snapshots keep the same text reviewable.

use std::sync::Arc;

use orc_modules::FileDiff;
use serde_json::{json, Value};

use super::*;
use crate::error::{Loc, SourceFile};
use crate::output::events::ErrorReport;
use crate::output::pyrepr::item_label;
use crate::output::recording::SharedBuffer;

const P1: &str = include_str!("../../tests/fixtures/printers/p1.yml");
const P2: &str = include_str!("../../tests/fixtures/printers/p2.yml");
const P4: &str = include_str!("../../tests/fixtures/printers/p4.yml");

fn print(events: &[Event], verbosity: u8, color: bool) -> (String, String) {
    let out = SharedBuffer::new();
    let err = SharedBuffer::new();
    let p =
        HumanPrinter::new(Box::new(out.clone()), color).with_verbosity(verbosity).with_stderr(Box::new(err.clone()));
    for e in events {
        p.emit(e);
    }
    assert!(p.take_write_error().is_none());
    (out.contents(), err.contents())
}

fn play(name: &str, hosts: &[&str]) -> Event {
    Event::PlayStart { name: name.into(), hosts: hosts.iter().map(|h| h.to_string()).collect() }
}

fn task(name: &str) -> Event {
    Event::TaskStart { name: name.into(), kind: TaskKind::Task, origin: String::new() }
}

fn handler(name: &str) -> Event {
    Event::TaskStart { name: name.into(), kind: TaskKind::Handler, origin: String::new() }
}

fn ev(r: HostResult) -> Event {
    Event::HostResult(Box::new(r))
}

fn ok(host: &str) -> Event {
    ev(HostResult::new(host, Status::Ok, json!({"changed": false})))
}

fn changed(host: &str) -> Event {
    ev(HostResult::new(host, Status::Changed, json!({"changed": true})))
}

fn skipped(host: &str) -> Event {
    ev(HostResult::new(
        host,
        Status::Skipped,
        json!({"changed": false, "skipped": true, "false_condition": false,
               "skip_reason": "Conditional result was False"}),
    ))
}

fn item(host: &str, status: Status, label: &str, result: Value) -> HostResult {
    let mut r = HostResult::new(host, status, result);
    r.item_label = Some(label.into());
    r
}

fn summary(host: &str, status: Status) -> Event {
    let mut r = HostResult::new(host, status, json!({"changed": false, "results": []}));
    r.loop_summary = true;
    ev(r)
}

fn debug(host: &str, result: Value) -> Event {
    let mut r = HostResult::new(host, Status::Ok, result);
    r.show_result = true;
    ev(r)
}

fn origin(path: &str, text: &str, line: usize, col: usize) -> Option<Loc> {
    let file: Arc<SourceFile> = SourceFile::new(path, text);
    Some(Loc { file, line, col })
}

fn failed(host: &str, ignored: bool, result: Value, error: Option<ErrorReport>) -> HostResult {
    let mut r = HostResult::new(host, Status::Failed { ignored }, result);
    r.error = error;
    r
}

fn stats(host: &str, [ok, changed, unreachable, failed, skipped, rescued, ignored]: [u32; 7]) -> (String, HostStats) {
    (host.to_string(), HostStats { ok, changed, unreachable, failed, skipped, rescued, ignored })
}

/// Events for p1.yml: ok, changed, skipped, an ignored failure, loop items (some skipped), debug
/// msg and var, a failure, and a two-host recap.
fn p1_events() -> Vec<Event> {
    let path = "/tmp/printers-ref/p1.yml";
    let boom = |host| {
        ev(failed(
            host,
            true,
            json!({"msg": "boom ignored", "failed": true, "changed": false}),
            Some(ErrorReport {
                message: "Task failed: Action failed: boom ignored".into(),
                origin: origin(path, P1, 14, 7),
            }),
        ))
    };
    let echo = |host, status, it: &str| {
        ev(item(
            host,
            status,
            it,
            json!({"changed": status == Status::Changed, "item": it, "ansible_loop_var": "item"}),
        ))
    };
    let skip_item =
        |host, it: &str| ev(item(host, Status::Skipped, it, json!({"changed": false, "skipped": true, "item": it})));
    vec![
        play("Basic results", &["web1", "web2"]),
        task("Say ok"),
        ok("web1"),
        ok("web2"),
        task("Change something"),
        changed("web1"),
        changed("web2"),
        task("Skip on web2"),
        ok("web1"),
        skipped("web2"),
        task("Fail but ignore"),
        boom("web1"),
        boom("web2"),
        task("Loop items"),
        echo("web1", Status::Ok, "a"),
        echo("web1", Status::Changed, "b"),
        summary("web1", Status::Changed),
        echo("web2", Status::Ok, "a"),
        echo("web2", Status::Changed, "b"),
        summary("web2", Status::Changed),
        task("Skipped loop items"),
        echo("web1", Status::Ok, "a"),
        skip_item("web1", "b"),
        summary("web1", Status::Ok),
        echo("web2", Status::Ok, "a"),
        skip_item("web2", "b"),
        summary("web2", Status::Ok),
        task("Show a message"),
        debug("web1", json!({"msg": "hello web1", "changed": false, "failed": false, "_ansible_verbose_always": true})),
        debug("web2", json!({"msg": "hello web2", "changed": false, "failed": false, "_ansible_verbose_always": true})),
        task("Fail on web2"),
        skipped("web1"),
        ev(failed(
            "web2",
            false,
            json!({"msg": "web2 is broken", "failed": true, "changed": false}),
            Some(ErrorReport {
                message: "Task failed: Action failed: web2 is broken".into(),
                origin: origin(path, P1, 30, 7),
            }),
        )),
        task("After failure"),
        debug(
            "web1",
            json!({"inventory_hostname": "web1", "changed": false, "failed": false, "_ansible_verbose_always": true}),
        ),
        Event::Recap {
            stats: vec![stats("web2", [6, 2, 0, 1, 1, 0, 1]), stats("web1", [8, 2, 0, 0, 1, 0, 1])],
            lost: vec![],
        },
    ]
}

#[test]
fn p1_results_loops_debug_failures_recap() {
    let (out, err) = print(&p1_events(), 0, false);
    assert_eq!(out, include_str!("../../tests/fixtures/printers/p1.out"));
    assert_eq!(err, "");
    insta::assert_snapshot!("human_p1", out);
}

#[test]
fn p1_in_colour_matches_ansible_force_color() {
    let (out, _) = print(&p1_events(), 0, true);
    assert_eq!(out, include_str!("../../tests/fixtures/printers/p1.color.out"));
}

/// Events for p2.yml: a failed command (full result, keys sorted), a failed loop item with an
/// ignored summary, skipped items with a skipped summary, delegation, a play that matched no host.
fn p2_events() -> Vec<Event> {
    let path = "/tmp/printers-ref/p2.yml";
    let cmd_failed = json!({
        "changed": true, "stdout": "", "stderr": "", "rc": 1, "cmd": ["false"],
        "start": "2026-11-21 13:35:29.632131", "end": "2026-11-21 13:35:29.639955",
        "delta": "0:00:00.007824", "msg": "non-zero return code", "stdout_lines": [],
        "stderr_lines": [], "failed": true,
        "invocation": {"module_args": {"_raw_params": "false"}}
    });
    let item_failed = json!({
        "changed": true, "stdout": "", "stderr": "", "rc": 1, "cmd": ["test", "b", "=", "a"],
        "start": "2026-11-21 13:35:31.222118", "end": "2026-11-21 13:35:31.235325",
        "delta": "0:00:00.013207", "msg": "non-zero return code", "stdout_lines": [],
        "stderr_lines": [], "failed": true, "item": "b", "ansible_loop_var": "item",
        "_ansible_item_label": "b", "_ansible_no_log": false
    });
    let mut delegated = HostResult::new("web2", Status::Ok, json!({"changed": false}));
    delegated.delegated_to = Some("web1".into());
    vec![
        play("Second play", &["web1", "web2", "db1"]),
        task("Command fails"),
        skipped("web2"),
        skipped("db1"),
        ev(failed(
            "web1",
            false,
            cmd_failed,
            Some(ErrorReport {
                message: "Task failed: Module failed: non-zero return code".into(),
                origin: origin(path, P2, 5, 7),
            }),
        )),
        task("Loop item fails"),
        ev(item("db1", Status::Skipped, "a", json!({"skipped": true}))),
        ev(item("db1", Status::Skipped, "b", json!({"skipped": true}))),
        summary("db1", Status::Skipped),
        ev(item("web2", Status::Changed, "a", json!({"changed": true}))),
        ev(failed(
            "web2",
            true,
            item_failed,
            Some(ErrorReport {
                message: "Task failed: Module failed: non-zero return code".into(),
                origin: origin(path, P2, 8, 7),
            }),
        ))
        .with_item("b"),
        summary("web2", Status::Failed { ignored: true }),
        task("Delegated"),
        skipped("db1"),
        ev(delegated),
        Event::Warning("Could not match supplied host pattern, ignoring: nomatch".into()),
        Event::NoHostsMatched { name: "Nothing".into() },
        Event::Recap {
            stats: vec![
                stats("web1", [0, 0, 0, 1, 0, 0, 0]),
                stats("web2", [2, 1, 0, 0, 1, 0, 1]),
                stats("db1", [0, 0, 0, 0, 3, 0, 0]),
            ],
            lost: vec![],
        },
    ]
}

/// Sets the item label of a `HostResult` event, for building test events compactly.
trait WithItem {
    fn with_item(self, label: &str) -> Self;
}

impl WithItem for Event {
    fn with_item(mut self, label: &str) -> Self {
        if let Event::HostResult(r) = &mut self {
            r.item_label = Some(label.into());
        }
        self
    }
}

#[test]
fn p2_failed_command_items_delegation_no_hosts() {
    let (out, err) = print(&p2_events(), 0, false);
    assert_eq!(out, include_str!("../../tests/fixtures/printers/p2.out"));
    assert_eq!(err, include_str!("../../tests/fixtures/printers/p2.err"));
    insta::assert_snapshot!("human_p2", out);
}

/// Events for p3.yml --diff: fact gathering with an unreachable host, diffs of a new and a changed
/// file, a handler.
fn p3_events() -> Vec<Event> {
    let unreachable = HostResult {
        error: Some(ErrorReport {
            message: "Task failed: Failed to connect to the host via ssh: ssh: connect to host \
                      127.0.0.9 port 1: Connection refused"
                .into(),
            origin: None,
        }),
        ..HostResult::new(
            "db1",
            Status::Unreachable,
            json!({"unreachable": true, "changed": false, "msg": "Task failed: Failed to connect \
                   to the host via ssh: ssh: connect to host 127.0.0.9 port 1: Connection refused"}),
        )
    };
    let facts = |host| {
        ev(HostResult::new(host, Status::Ok, json!({"ansible_facts": {"ansible_hostname": host}, "changed": false})))
    };
    let write = |host: &str, before_header: &str, before: &str, after: &str| {
        let path = format!("/tmp/printers-ref/{host}.txt");
        ev(HostResult {
            diffs: vec![FileDiff {
                before_header: before_header.into(),
                after_header: path.clone(),
                before: before.into(),
                after: after.into(),
            }],
            ..HostResult::new(host, Status::Changed, json!({"changed": true, "dest": path}))
        })
    };
    vec![
        play("Unreachable and diff", &["web1", "web2", "db1"]),
        Event::TaskStart {
            name: "Gathering Facts".into(),
            kind: TaskKind::Gather,
            origin: "/tmp/printers-ref/p3.yml:1".into(),
        },
        ev(unreachable),
        facts("web1"),
        facts("web2"),
        task("Write a file"),
        write("web2", "", "", "line one\nline 2\nline three\n"),
        write(
            "web1",
            "/tmp/printers-ref/web1.txt",
            "line one\nline 2\nline three\n",
            "line one\nline two\nline three\n",
        ),
        task("Warn"),
        ok("web1"),
        ok("web2"),
        handler("Restart thing"),
        debug("web1", json!({"msg": "restarted", "changed": false})),
        debug("web2", json!({"msg": "restarted", "changed": false})),
        Event::Recap {
            stats: vec![
                stats("web1", [4, 1, 0, 0, 0, 0, 0]),
                stats("web2", [4, 1, 0, 0, 0, 0, 0]),
                stats("db1", [0, 0, 1, 0, 0, 0, 0]),
            ],
            lost: vec![],
        },
    ]
}

#[test]
fn p3_unreachable_diffs_handler() {
    let (out, _) = print(&p3_events(), 0, false);
    assert_eq!(out, include_str!("../../tests/fixtures/printers/p3.out"));
    insta::assert_snapshot!("human_p3", out);
}

#[test]
fn recap_says_why_a_host_was_lost() {
    // Ansible's recap lines unchanged; orc adds the reason under the lost host's line.
    let mut events = p3_events();
    if let Some(Event::Recap { lost, .. }) = events.last_mut() {
        lost.push(("db1".into(), "ssh: connect to 127.0.0.9:1: connection refused\nsecond line".into()));
    }
    let (out, _) = print(&events, 0, false);
    let ansible = include_str!("../../tests/fixtures/printers/p3.out");
    let db1 = ansible.lines().find(|l| l.starts_with("db1 ")).unwrap();
    let want = ansible.replace(
        &format!("{db1}\n"),
        &format!("{db1}\n    unreachable: ssh: connect to 127.0.0.9:1: connection refused\n"),
    );
    assert_eq!(out, want);
}

/// Events for p4.yml --diff -f 1: per-item diffs, a dict item label, every host failing.
fn p4_events() -> Vec<Event> {
    let copy_item = |host: &str, it: &str| {
        let path = format!("/tmp/printers-ref/{host}-{it}.txt");
        ev(HostResult {
            diffs: vec![FileDiff {
                before_header: String::new(),
                after_header: path.clone(),
                before: String::new(),
                after: format!("{it}\n"),
            }],
            item_label: Some(it.into()),
            ..HostResult::new(host, Status::Changed, json!({"changed": true, "dest": path}))
        })
    };
    let dict_item = json!({"name": "x", "n": 1, "t": true, "q": "it's"});
    let dict = |host: &str| {
        ev(HostResult {
            item_label: Some(item_label(&dict_item)),
            show_result: true,
            ..HostResult::new(
                host,
                Status::Ok,
                json!({"msg": "x", "item": dict_item, "ansible_loop_var": "item", "changed": false}),
            )
        })
    };
    let down = |host| {
        ev(failed(
            host,
            false,
            json!({"msg": "all down", "failed": true, "changed": false}),
            Some(ErrorReport {
                message: "Task failed: Action failed: all down".into(),
                origin: origin("/tmp/printers-ref/p4.yml", P4, 15, 7),
            }),
        ))
    };
    vec![
        play("Loop diff", &["web1", "web2"]),
        task("Loop copy"),
        copy_item("web1", "a"),
        copy_item("web1", "b"),
        summary("web1", Status::Changed),
        copy_item("web2", "a"),
        copy_item("web2", "b"),
        summary("web2", Status::Changed),
        task("Dict items"),
        dict("web1"),
        summary("web1", Status::Ok),
        dict("web2"),
        summary("web2", Status::Ok),
        task("Everyone fails"),
        down("web1"),
        down("web2"),
        Event::Recap {
            stats: vec![stats("web1", [2, 1, 0, 1, 0, 0, 0]), stats("web2", [2, 1, 0, 1, 0, 0, 0])],
            lost: vec![],
        },
    ]
}

#[test]
fn p4_item_diffs_dict_label_all_fail() {
    let (out, _) = print(&p4_events(), 0, false);
    assert_eq!(out, include_str!("../../tests/fixtures/printers/p4.out"));
    insta::assert_snapshot!("human_p4", out);
}

/// Events for p5.yml -v: every result's JSON, `invocation`/`skipped` dropped, debug var and a
/// nested debug msg indented.
fn p5_events() -> Vec<Event> {
    let echo_ok = json!({
        "changed": false, "stdout": "ok", "stderr": "", "rc": 0, "cmd": ["echo", "ok"],
        "start": "2026-11-21 13:37:05.516380", "end": "2026-11-21 13:37:05.521339",
        "delta": "0:00:00.004959", "msg": "", "stdout_lines": ["ok"], "stderr_lines": [],
        "invocation": {"module_args": {"_raw_params": "echo ok"}}
    });
    let echo_a = json!({
        "changed": true, "stdout": "a", "stderr": "", "rc": 0, "cmd": ["echo", "a"],
        "start": "2026-11-21 13:37:05.902829", "end": "2026-11-21 13:37:05.907259",
        "delta": "0:00:00.004430", "msg": "", "stdout_lines": ["a"], "stderr_lines": [],
        "item": "a", "ansible_loop_var": "item"
    });
    let skip_b = json!({
        "changed": false, "skipped": true, "false_condition": "item == 'a'",
        "skip_reason": "Conditional result was False", "item": "b", "ansible_loop_var": "item"
    });
    vec![
        play("web1", &["web1"]),
        task("Say ok"),
        ev(HostResult::new("web1", Status::Ok, echo_ok)),
        task("Skip"),
        skipped("web1"),
        task("Loop"),
        ev(item("web1", Status::Changed, "a", echo_a)),
        ev(item("web1", Status::Skipped, "b", skip_b)),
        summary("web1", Status::Changed),
        task("Show var"),
        debug(
            "web1",
            json!({"missing_var": "<< error 1 - 'missing_var' is undefined >>", "changed": false,
                   "_ansible_verbose_always": true}),
        ),
        task("Show msg list"),
        debug("web1", json!({"msg": ["a", {"k": "é"}, [], {}], "changed": false})),
        Event::Recap { stats: vec![stats("web1", [4, 1, 0, 0, 1, 0, 0])], lost: vec![] },
    ]
}

#[test]
fn p5_verbose_results() {
    let (out, _) = print(&p5_events(), 1, false);
    assert_eq!(out, include_str!("../../tests/fixtures/printers/p5.out"));
    insta::assert_snapshot!("human_p5_verbose", out);
}

#[test]
fn play_start_then_no_hosts_matched_prints_one_banner() {
    let (out, _) = print(
        &[play("Nothing", &[]), Event::Warning("w".into()), Event::NoHostsMatched { name: "Nothing".into() }],
        0,
        false,
    );
    assert_eq!(out.matches("PLAY [Nothing]").count(), 1);
    assert!(out.ends_with("*\nskipping: no hosts matched\n"));
}

#[test]
fn unnamed_play_and_empty_gather_name() {
    let (out, _) = print(
        &[play("", &[]), Event::TaskStart { name: String::new(), kind: TaskKind::Gather, origin: String::new() }],
        0,
        false,
    );
    assert!(out.starts_with("\nPLAY *****"));
    assert!(out.contains("\nTASK [Gathering Facts] *****"));
}

#[test]
fn warnings_are_deduplicated_and_go_to_stderr() {
    let w = Event::Warning("careful".into());
    let (out, err) = print(&[w.clone(), w, Event::Warning("a\nb".into())], 0, false);
    assert_eq!(out, "");
    assert_eq!(err, "[WARNING]: careful\n[WARNING]: a\nb\n\n");
}

#[test]
fn warnings_without_stderr_go_to_out() {
    let out = SharedBuffer::new();
    let p = HumanPrinter::new(Box::new(out.clone()), true);
    p.emit(&Event::Warning("careful".into()));
    assert_eq!(out.contents(), "\x1b[1;35m[WARNING]: careful\x1b[0m\n");
}

#[test]
fn retry_line_names_the_task() {
    let (out, _) = print(&[task("Wait for port"), Event::Retry { host: "web1".into(), left: 2 }], 0, false);
    assert!(out.ends_with("FAILED - RETRYING: [web1]: Wait for port (2 retries left).\n"));
}

#[test]
fn verbose_levels() {
    let events = [
        Event::PlaybookStart { path: "dir/site.yml".into(), check: false },
        Event::TaskStart { name: "t".into(), kind: TaskKind::Task, origin: "/p/site.yml:4".into() },
        ev(HostResult {
            diffs: vec![],
            ..HostResult::new(
                "h",
                Status::Changed,
                json!({"changed": true, "diff": {"before": ""}, "invocation": {}, "a": [1]}),
            )
        }),
    ];
    let (v2, _) = print(&events, 2, false);
    assert!(v2.starts_with("\nPLAYBOOK: site.yml ****"));
    assert!(v2.contains("\ntask path: /p/site.yml:4\n"));
    assert!(v2.ends_with("changed: [h] => {\"a\": [1], \"changed\": true}\n"));
    let (v3, _) = print(&events, 3, false);
    assert!(v3.ends_with(
        "changed: [h] => {\n    \"a\": [\n        1\n    ],\n    \"changed\": true,\n    \
         \"diff\": {\n        \"before\": \"\"\n    },\n    \"invocation\": {}\n}\n"
    ));
    let (v0, _) = print(&events, 0, false);
    assert_eq!(v0, format!("\nTASK [t] {}\nchanged: [h]\n", "*".repeat(71)));
}

#[test]
fn gather_facts_never_dumps_facts_at_v() {
    let events = [
        Event::TaskStart { name: "Gathering Facts".into(), kind: TaskKind::Gather, origin: String::new() },
        ev(HostResult::new("h", Status::Ok, json!({"ansible_facts": {"x": 1}}))),
    ];
    let (out, _) = print(&events, 1, false);
    assert!(out.ends_with("\nok: [h]\n"));
}

#[test]
fn error_report_printed_once_per_text() {
    let r = |h| {
        ev(failed(h, false, json!({"msg": "m"}), Some(ErrorReport { message: "Task failed: m".into(), origin: None })))
    };
    let (out, _) = print(&[r("a"), r("b")], 0, false);
    assert_eq!(
        out,
        "[ERROR]: Task failed: m\nfatal: [a]: FAILED! => {\"msg\": \"m\"}\nfatal: [b]: FAILED! => {\"msg\": \"m\"}\n"
    );
}

#[test]
fn diff_only_for_changed_results() {
    let d = FileDiff::content("/f", "a\n", "b\n");
    let ok = HostResult { diffs: vec![d.clone()], ..HostResult::new("h", Status::Ok, json!({"changed": false})) };
    let failed_changed = HostResult {
        diffs: vec![d],
        ..HostResult::new("h", Status::Failed { ignored: false }, json!({"changed": true, "msg": "x"}))
    };
    let (out, _) = print(&[ev(ok)], 0, false);
    assert_eq!(out, "ok: [h]\n");
    // Ansible's strategy sends `v2_on_file_diff` for successful results only.
    let (out, _) = print(&[ev(failed_changed)], 0, false);
    assert_eq!(out, "fatal: [h]: FAILED! => {\"changed\": true, \"msg\": \"x\"}\n");
}

#[test]
fn delegation_to_self_is_not_shown_and_skips_show_host_only() {
    let to_self = HostResult { delegated_to: Some("h".into()), ..HostResult::new("h", Status::Ok, json!({})) };
    let skipped_delegated =
        HostResult { delegated_to: Some("o".into()), ..HostResult::new("h", Status::Skipped, json!({})) };
    let (out, _) = print(&[ev(to_self), ev(skipped_delegated)], 0, false);
    assert_eq!(out, "ok: [h]\nskipping: [h]\n");
}

#[test]
fn concurrent_emits_do_not_interleave_lines() {
    let out = SharedBuffer::new();
    let p = HumanPrinter::new(Box::new(out.clone()), false);
    std::thread::scope(|s| {
        for t in 0..4 {
            let p = &p;
            s.spawn(move || {
                for i in 0..50 {
                    p.emit(&ok(&format!("host-{t}-{i}")));
                }
            });
        }
    });
    let text = out.contents();
    assert_eq!(text.lines().count(), 200);
    assert!(text.lines().all(|l| l.starts_with("ok: [host-") && l.ends_with(']')));
}

#[test]
fn includes_retries_and_no_more_hosts() {
    // ansible-playbook -i inv.ini p6.yml -f 1 (tests/fixtures/printers/p6.yml) printed these lines.
    let events = [
        task("ansible.builtin.include_tasks"),
        Event::Included {
            path: "/tmp/printers-ref/inc.yml".into(),
            hosts: vec!["web1".into(), "web2".into()],
            item_label: None,
        },
        Event::Included {
            path: "/tmp/printers-ref/inc.yml".into(),
            hosts: vec!["web1".into(), "web2".into()],
            item_label: Some("1".into()),
        },
        task("Retry"),
        Event::Retry { host: "web1".into(), left: 2 },
        Event::Retry { host: "web1".into(), left: 1 },
        Event::NoHostsRemaining,
    ];
    let (out, _) = print(&events, 0, false);
    let stars = |n| "*".repeat(n);
    assert_eq!(
        out,
        format!(
            "\nTASK [ansible.builtin.include_tasks] {}\n\
             included: /tmp/printers-ref/inc.yml for web1, web2\n\
             included: /tmp/printers-ref/inc.yml for web1, web2 => (item=1)\n\
             \nTASK [Retry] {}\n\
             FAILED - RETRYING: [web1]: Retry (2 retries left).\n\
             FAILED - RETRYING: [web1]: Retry (1 retries left).\n\
             \nNO MORE HOSTS LEFT {}\n",
            stars(43),
            stars(67),
            stars(61)
        )
    );
}

#[test]
fn color_decision_like_ansible() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    };
    assert!(HumanPrinter::color_wanted(true, env(&[])));
    assert!(!HumanPrinter::color_wanted(false, env(&[])));
    assert!(!HumanPrinter::color_wanted(true, env(&[("NO_COLOR", "1")])));
    assert!(HumanPrinter::color_wanted(true, env(&[("NO_COLOR", "")])));
    assert!(!HumanPrinter::color_wanted(true, env(&[("ANSIBLE_NOCOLOR", "yes")])));
    assert!(HumanPrinter::color_wanted(false, env(&[("ANSIBLE_FORCE_COLOR", "true")])));
}

#[test]
fn skipped_loop_summary_at_v_drops_results() {
    // ansible-playbook -i inv.ini p7.yml -v (tests/fixtures/printers/p7.yml):
    //   skipping: [web1] => (item=a)  => {"ansible_loop_var": "item", ...}
    //   skipping: [web1] => {"changed": false, "msg": "All items skipped"}
    let summary = HostResult {
        loop_summary: true,
        ..HostResult::new(
            "web1",
            Status::Skipped,
            json!({"changed": false, "skipped": true, "msg": "All items skipped",
                   "results": [{"item": "a", "skipped": true}]}),
        )
    };
    let (out, _) = print(&[ev(summary)], 1, false);
    assert_eq!(out, "skipping: [web1] => {\"changed\": false, \"msg\": \"All items skipped\"}\n");
}

#[test]
fn result_warnings_are_shown_once_and_not_dumped() {
    let r = |h| {
        ev(HostResult::new(h, Status::Failed { ignored: false }, json!({"msg": "m", "warnings": ["disk almost full"]})))
    };
    let (out, err) = print(&[r("a"), r("b")], 0, false);
    assert_eq!(err, "[WARNING]: disk almost full\n");
    assert_eq!(out, "fatal: [a]: FAILED! => {\"msg\": \"m\"}\nfatal: [b]: FAILED! => {\"msg\": \"m\"}\n");
}

#[test]
fn a_rescue_starting_prints_nothing() {
    // Ansible prints nothing when a rescue section starts; the event is for the JUnit report and
    // JSON consumers.
    let with = [play("P", &["h"]), Event::Rescue { hosts: vec!["h".into()] }, task("t"), ok("h")];
    let without = [play("P", &["h"]), task("t"), ok("h")];
    assert_eq!(print(&with, 0, false), print(&without, 0, false));
}

/// A plan as a reviewer reads it (docs/plan.md): per host one line of counts, what changes with
/// its diff, what runs with an unknown effect; then a host that drifted, `field: plan -> now`.
#[test]
fn plan_summary_and_drift() {
    use crate::plan::{DiffText, Drift, Entry, HostSummary, Kind};
    let entry = |task: &str, origin: &str, module: &str, kind: Kind| Entry {
        task: task.into(),
        origin: origin.into(),
        module: module.into(),
        kind,
        args: Some("sha256:00".into()),
        observed: None,
        changed: kind == Kind::Decided,
        diff: vec![],
        depends_on: None,
    };
    let mut conf = entry("Configure nginx", "site.yml:12:7", "template", Kind::Decided);
    conf.diff = vec![DiffText {
        before_header: "/etc/nginx/nginx.conf".into(),
        after_header: "/etc/nginx/nginx.conf".into(),
        before: "worker_processes 1;\nuser www-data;\n".into(),
        after: "worker_processes 4;\nuser www-data;\n".into(),
    }];
    let events = vec![
        Event::PlanSummary {
            path: "plan.json".into(),
            hosts: vec![
                HostSummary {
                    host: "web1".into(),
                    to_change: vec![conf, entry("Forwarding", "site.yml:20:7", "sysctl", Kind::Decided)],
                    unchanged: 5,
                    unknown: vec![entry("Migrate", "site.yml:30:7", "command", Kind::Unknown)],
                },
                HostSummary { host: "web2".into(), to_change: vec![], unchanged: 8, unknown: vec![] },
            ],
        },
        Event::PlanDrift {
            host: "web2".into(),
            drifts: vec![Drift {
                task: "nginx : Install nginx".into(),
                origin: "roles/nginx/tasks/main.yml:1:3".into(),
                differences: vec![
                    "observed.version: \"1.24.0-2\" -> null".into(),
                    "change: unchanged -> would change".into(),
                ],
            }],
        },
    ];
    let (out, err) = print(&events, 0, false);
    assert_eq!(err, "");
    insta::assert_snapshot!("human_plan", out);
}

/// `ignore_unreachable`: ansible-core 2.19's callback prints `...ignoring` under the
/// UNREACHABLE line, as under an ignored failure.
#[test]
fn an_ignored_unreachable_result_says_ignoring() {
    let r = HostResult {
        delegated_to: Some("unreachable".into()),
        unreachable_ignored: true,
        ..HostResult::new(
            "localhost",
            Status::Unreachable,
            json!({"changed": false, "msg": "ssh: connect to 127.0.0.1:1011: connection refused", "unreachable": true}),
        )
    };
    let (out, _) = print(&[play("localhost", &["localhost"]), task("command"), ev(r)], 0, false);
    insta::assert_snapshot!("human_unreachable_ignored", out);
}
