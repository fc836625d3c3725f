//! The JUnit report: suites per play, cases per task and host, each status mapped as docs/ci.md
//! says, secrets censored before escaping.

use serde_json::json;

use super::*;
use crate::error::{Loc, SourceFile};
use crate::output::events::{ErrorReport, HostStats};

fn result(host: &str, status: Status, value: Value) -> Event {
    Event::HostResult(Box::new(HostResult::new(host, status, value)))
}

fn task(name: &str, line: usize) -> Event {
    Event::TaskStart { name: name.into(), kind: TaskKind::Task, origin: format!("site.yml:{line}:7") }
}

/// A run with every status: two plays, the first in two `serial` batches.
fn scenario() -> Vec<Event> {
    let mut failed = HostResult::new(
        "web1",
        Status::Failed { ignored: false },
        json!({"changed": false, "failed": true, "msg": "disk <full> & \"gone\"", "rc": 1, "_ansible_no_log": false}),
    );
    failed.error = Some(ErrorReport {
        message: "Task failed: Module failed: disk <full>".into(),
        origin: Some(Loc { file: SourceFile::new("site.yml", "x\n"), line: 9, col: 7 }),
    });
    let mut item_a = HostResult::new("web2", Status::Changed, json!({"changed": true, "item": "a"}));
    item_a.item_label = Some("a".into());
    let mut item_b = HostResult::new("web2", Status::Failed { ignored: true }, json!({"failed": true, "msg": "no b"}));
    item_b.item_label = Some("b".into());
    let mut summary = HostResult::new(
        "web2",
        Status::Failed { ignored: true },
        json!({"changed": true, "failed": true, "msg": "One or more items failed"}),
    );
    summary.loop_summary = true;
    let mut delegated = HostResult::new("web1", Status::Changed, json!({"changed": true}));
    delegated.delegated_to = Some("lb".into());
    vec![
        Event::PlaybookStart { path: "site.yml".into(), check: false },
        Event::Warning("early \u{1b}[1mwarning\u{1b}[0m".into()),
        Event::PlayStart { name: "Web <tier>".into(), hosts: vec!["web1".into()] },
        Event::TaskStart { name: String::new(), kind: TaskKind::Gather, origin: String::new() },
        result("web1", Status::Ok, json!({"changed": false, "ansible_facts": {"a": 1, "b": 2}})),
        task("Write motd", 5),
        result("web1", Status::Changed, json!({"changed": true, "dest": "/etc/motd"})),
        task("Fail", 9),
        Event::Retry { host: "web1".into(), left: 1 },
        Event::HostResult(Box::new(failed)),
        Event::Rescue { hosts: vec!["web1".into()] },
        task("Recover", 12),
        Event::HostResult(Box::new(delegated)),
        // The second batch of the same play.
        Event::PlayStart { name: "Web <tier>".into(), hosts: vec!["web2".into(), "web3".into()] },
        task("Loop", 15),
        Event::Progress { done: 1, total: 2 },
        Event::HostResult(Box::new(item_a)),
        Event::HostResult(Box::new(item_b)),
        Event::HostResult(Box::new(summary)),
        result(
            "web3",
            Status::Unreachable,
            json!({"unreachable": true, "changed": false, "msg": "ssh: connect to 127.0.0.1:1: refused"}),
        ),
        task("Only on Debian", 20),
        result(
            "web2",
            Status::Skipped,
            json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False"}),
        ),
        Event::TaskStart { name: "restart app".into(), kind: TaskKind::Handler, origin: "site.yml:30:7".into() },
        result("web2", Status::Failed { ignored: false }, json!({"failed": true, "rc": 3})),
        Event::NoHostsRemaining,
        Event::PlayStart { name: "Db".into(), hosts: vec!["db1".into()] },
        task("Ping", 40),
        result("db1", Status::Ok, json!({"changed": false, "ping": "pong"})),
        Event::Warning("late".into()),
        Event::NoHostsMatched { name: "Nobody".into() },
        Event::Recap { stats: vec![("web1".into(), HostStats::default())], lost: vec![] },
    ]
}

fn report(events: &[Event]) -> String {
    let r = JunitReport::new();
    for e in events {
        r.emit(e);
    }
    r.to_xml()
}

/// The report with its times and timestamps (which change from run to run) made constant.
fn normalized(xml: &str) -> String {
    let xml = regex::Regex::new(r#" time="[0-9]+\.[0-9]{3}""#).unwrap().replace_all(xml, r#" time="T""#);
    let xml = regex::Regex::new(r#" timestamp="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d""#)
        .unwrap()
        .replace_all(&xml, r#" timestamp="TS""#);
    xml.into_owned()
}

#[test]
fn every_status_as_ci_tools_expect() {
    let xml = report(&scenario());
    insta::assert_snapshot!("junit_report", normalized(&xml));
}

#[test]
fn counts_per_suite_and_in_total() {
    let xml = report(&scenario());
    // Suite 1 (two batches): facts, motd, fail (rescued), recover, loop (ignored), unreachable,
    // skipped, handler failure: 8 tests, 1 failure, 1 error, 1 skipped.
    assert!(
        xml.contains(r#"<testsuite name="Web &lt;tier&gt;" tests="8" failures="1" errors="1" skipped="1""#),
        "{xml}"
    );
    assert!(xml.contains(r#"<testsuite name="Db" tests="1" failures="0" errors="0" skipped="0""#), "{xml}");
    assert!(xml.contains(r#"<testsuite name="Nobody" tests="0""#), "{xml}");
    assert!(xml.contains(r#"<testsuites name="orc" tests="9" failures="1" errors="1" skipped="1""#), "{xml}");
    assert_eq!(xml.matches("<testsuite ").count(), 3);
}

#[test]
fn rescued_and_ignored_failures_pass_with_a_status() {
    let xml = report(&scenario());
    let case = |name: &str| {
        let start = xml.find(&format!(r#"<testcase name="{name}""#)).unwrap();
        let end = start + xml[start..].find("</testcase>").unwrap();
        xml[start..end].to_string()
    };
    let fail = case("Fail");
    assert!(fail.contains(r#"value="rescued""#) && !fail.contains("<failure"), "{fail}");
    assert!(fail.contains("then rescued by the block's rescue section: disk &lt;full&gt; &amp; \"gone\""), "{fail}");
    assert!(fail.contains("FAILED - RETRYING (1 retries left)"), "{fail}");
    let looped = case("Loop");
    assert!(looped.contains(r#"value="ignored""#) && !looped.contains("<failure"), "{looped}");
    assert!(looped.contains("(item=a) changed") && looped.contains("(item=b) ignored: no b"), "{looped}");
    let handler = case("restart app");
    assert!(handler.contains(r#"<failure message="rc=3" type="failed">"#), "{handler}");
}

#[test]
fn a_second_play_of_the_same_name_is_a_new_suite() {
    let events = vec![
        Event::PlayStart { name: "P".into(), hosts: vec!["a".into()] },
        task("t", 1),
        result("a", Status::Ok, json!({})),
        Event::PlayStart { name: "P".into(), hosts: vec!["a".into()] },
        task("t", 1),
        result("a", Status::Ok, json!({})),
    ];
    assert_eq!(report(&events).matches("<testsuite ").count(), 2);
}

#[test]
fn secrets_are_censored_before_escaping() {
    // A secret with characters XML escapes: censored in its plain text, so the escaped form
    // (`p&amp;ss&lt;w0rd&gt;`) never reaches the file either.
    crate::secrets::register("p&ss<w0rd>-junit");
    let events = vec![
        Event::PlayStart { name: "uses p&ss<w0rd>-junit".into(), hosts: vec!["h".into()] },
        task("echo p&ss<w0rd>-junit", 1),
        result("h", Status::Failed { ignored: false }, json!({"failed": true, "msg": "bad p&ss<w0rd>-junit"})),
    ];
    let xml = report(&events);
    assert!(!xml.contains("w0rd"), "{xml}");
    assert!(xml.contains(r#"<failure message="bad ********""#), "{xml}");
    assert!(xml.contains(r#"<testsuite name="uses ********""#), "{xml}");
}

#[test]
fn timestamps_are_utc_iso_8601() {
    assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00");
    assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_661)), "2000-02-29T01:01:01");
    assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(1_735_689_599)), "2024-12-31T23:59:59");
}

#[test]
fn origins_give_file_and_line() {
    assert_eq!(file_line("site.yml:5:7"), Some(("site.yml", "5")));
    assert_eq!(file_line("roles/x/tasks/main.yml:12"), Some(("roles/x/tasks/main.yml", "12")));
    assert_eq!(file_line(""), None);
    assert_eq!(file_line("<command line -a>:1:1"), Some(("<command line -a>", "1")));
}
