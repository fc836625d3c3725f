//! The JSON-lines printer: every event kind, one parseable object per line, schema as in
//! docs/output-json.md.

use orc_modules::FileDiff;
use serde_json::json;

use super::*;
use crate::error::{Loc, SourceFile};
use crate::output::events::ErrorReport;
use crate::output::recording::SharedBuffer;

fn scenario() -> Vec<Event> {
    let mut item = HostResult::new(
        "web2",
        Status::Failed { ignored: true },
        json!({"changed": true, "rc": 1, "item": "b", "failed": true, "_ansible_no_log": false}),
    );
    item.item_label = Some("b".into());
    item.error = Some(ErrorReport {
        message: "Task failed: Module failed: non-zero return code".into(),
        origin: Some(Loc {
            file: SourceFile::new("site.yml", "- hosts: all\n  tasks:\n    - name: t\n"),
            line: 3,
            col: 7,
        }),
    });
    let mut diffed = HostResult::new("web1", Status::Changed, json!({"changed": true, "dest": "/etc/motd"}));
    diffed.diffs = vec![FileDiff::content("/etc/motd", "a\n", "b\n")];
    diffed.delegated_to = Some("bastion".into());
    let mut summary = HostResult::new("web2", Status::Failed { ignored: true }, json!({}));
    summary.loop_summary = true;
    vec![
        Event::PlaybookStart { path: "site.yml".into(), check: true },
        Event::PlayStart { name: "Web".into(), hosts: vec!["web1".into(), "web2".into()] },
        Event::TaskStart { name: "Gathering Facts".into(), kind: TaskKind::Gather, origin: "site.yml:1".into() },
        Event::HostResult(Box::new(HostResult::new(
            "web1",
            Status::Unreachable,
            json!({"unreachable": true, "msg": "Connection refused", "changed": false}),
        ))),
        Event::TaskStart { name: "t".into(), kind: TaskKind::Task, origin: "site.yml:3".into() },
        Event::HostResult(Box::new(diffed)),
        Event::HostResult(Box::new(item)),
        Event::HostResult(Box::new(summary)),
        Event::HostResult(Box::new(HostResult::new(
            "web3",
            Status::Skipped,
            json!({"skipped": true, "changed": false}),
        ))),
        Event::HostResult(Box::new(HostResult::new("web4", Status::Ok, json!({"changed": false, "msg": "é"})))),
        Event::Retry { host: "web1".into(), left: 3 },
        Event::TaskStart { name: "restart".into(), kind: TaskKind::Handler, origin: "site.yml:9".into() },
        Event::Warning("careful".into()),
        Event::Included {
            path: "/p/inc.yml".into(),
            hosts: vec!["web1".into(), "web2".into()],
            item_label: Some("1".into()),
        },
        Event::NoHostsRemaining,
        Event::NoHostsMatched { name: "Nothing".into() },
        Event::Recap {
            stats: vec![
                ("web2".into(), HostStats { ok: 1, ignored: 1, ..HostStats::default() }),
                ("web1".into(), HostStats { unreachable: 1, changed: 1, ok: 1, ..HostStats::default() }),
            ],
            lost: vec![("web1".into(), "ssh: connect to 10.0.0.1:22: connection refused".into())],
        },
    ]
}

#[test]
fn one_object_per_line_for_every_event() {
    let buf = SharedBuffer::new();
    let p = JsonPrinter::new(Box::new(buf.clone()));
    let events = scenario();
    for e in &events {
        p.emit(e);
    }
    assert!(p.take_write_error().is_none());
    let text = buf.contents();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), events.len());
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["event"].is_string());
    }
    insta::assert_snapshot!("json_lines", text);
}

#[test]
fn statuses_and_task_names() {
    let events = scenario();
    let v: Vec<serde_json::Value> =
        events.iter().map(|e| event_json(e, Some("t"))).filter(|v| v["event"] == "host_result").collect();
    let statuses: Vec<&str> = v.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["unreachable", "changed", "ignored", "ignored", "skipped", "ok"]);
    assert!(v.iter().all(|r| r["task"] == "t"));
    // Internal keys are not part of the schema.
    assert!(v[2]["result"].get("_ansible_no_log").is_none());
    assert_eq!(v[2]["error"]["origin"], "site.yml:3:7");
    assert_eq!(v[1]["diff"][0]["before_header"], "/etc/motd");
}

#[test]
fn recap_is_sorted_by_host() {
    let recap = scenario().pop().unwrap();
    let v = event_json(&recap, None);
    let hosts: Vec<&String> = v["stats"].as_object().unwrap().keys().collect();
    assert_eq!(hosts, ["web1", "web2"]);
    assert_eq!(
        v["stats"]["web1"],
        json!({"ok": 1, "changed": 1, "unreachable": 1, "failed": 0, "skipped": 0,
               "rescued": 0, "ignored": 0})
    );
}

#[test]
fn rescue_names_the_rescued_hosts() {
    let v = event_json(&Event::Rescue { hosts: vec!["web1".into(), "web2".into()] }, Some("t"));
    assert_eq!(v, json!({"event": "rescue", "hosts": ["web1", "web2"]}));
}

/// The plan events (docs/output-json.md, `plan_summary` and `plan_drift`).
#[test]
fn plan_events() {
    use crate::plan::{Drift, Entry, HostSummary, Kind};
    let step = Entry {
        task: "Forwarding".into(),
        origin: "site.yml:5:7".into(),
        module: "sysctl".into(),
        kind: Kind::Decided,
        args: None,
        observed: None,
        changed: true,
        diff: vec![],
        depends_on: None,
    };
    let summary = Event::PlanSummary {
        path: "plan.json".into(),
        hosts: vec![HostSummary { host: "web1".into(), to_change: vec![step], unchanged: 2, unknown: vec![] }],
    };
    assert_eq!(
        event_json(&summary, None),
        json!({"event": "plan_summary", "path": "plan.json", "hosts": [{"host": "web1", "unchanged": 2, "unknown": [],
               "to_change": [{"task": "Forwarding", "origin": "site.yml:5:7", "module": "sysctl"}]}]})
    );
    let drift = Event::PlanDrift {
        host: "web1".into(),
        drifts: vec![Drift {
            task: "Forwarding".into(),
            origin: "site.yml:5:7".into(),
            differences: vec!["observed.file_value: null -> \"0\"".into()],
        }],
    };
    assert_eq!(
        event_json(&drift, None),
        json!({"event": "plan_drift", "host": "web1", "tasks": [{"task": "Forwarding", "origin": "site.yml:5:7",
               "differences": ["observed.file_value: null -> \"0\""]}]})
    );
}
