//! `--junit FILE` (issue 13, acceptance 4; docs/ci.md): the report of a local run with ok,
//! changed, failed (ignored or not), skipped, rescued and unreachable results is read by a real
//! JUnit consumer, the junitparser package (installed into tests/.venv by tests/run.sh), and has
//! the right counts; vault and no_log secrets never reach it; `orc run` writes one too.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{repo, Orc, Project};
use serde_json::Value;

/// tests/.venv's Python, which must have junitparser: a consumer test that cannot run must not
/// pass.
fn python() -> PathBuf {
    let py = std::env::var_os("ORC_JUNIT_PYTHON").map(PathBuf::from).unwrap_or_else(|| repo("tests/.venv/bin/python3"));
    let ok = std::process::Command::new(&py)
        .args(["-c", "import junitparser"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "this test reads the JUnit report with junitparser: run tests/run.sh, which installs it into \
         tests/.venv, or `tests/.venv/bin/pip install junitparser`, or set ORC_JUNIT_PYTHON to a \
         python3 that has it ({} has not)",
        py.display()
    );
    py
}

/// What junitparser reads from `file`: per suite its attributes, the counts recomputed from its
/// cases' results, and each case as `[classname, name, result kind, message]`.
fn junitparser(file: &Path) -> Value {
    let script = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
suites = []
for s in xml:
    cases = []
    for c in s:
        kinds = [(type(r).__name__.lower(), r.message) for r in c.result]
        kind, msg = kinds[0] if kinds else ("passed", None)
        cases.append([c.classname, c.name, kind, msg, c.time])
    suites.append({
        "name": s.name,
        "attrs": [s.tests, s.failures, s.errors, s.skipped],
        "counted": [len(cases)] + [sum(1 for c in cases if c[2] == k) for k in ("failure", "error", "skipped")],
        "cases": cases,
    })
print(json.dumps({"totals": [xml.tests, xml.failures, xml.errors, xml.skipped], "suites": suites}))
"#;
    let out = std::process::Command::new(python()).arg("-c").arg(script).arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "junitparser could not read {}: {}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// localhost on the local connection, and a host nobody listens for (port 1 of this machine).
const HOSTS: &str =
    "local ansible_connection=local\ndead ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n";

const SITE: &str = r#"
- name: Mixed results
  hosts: all
  gather_facts: false
  tasks:
    - name: Nothing to change
      command: "true"
      changed_when: false
    - name: Write a file
      copy:
        content: "hello\n"
        dest: "{{ playbook_dir }}/out.txt"
    - name: Fail but carry on
      command: /bin/false
      ignore_errors: true
    - name: Only on another system
      command: "true"
      when: ansible_system is defined and ansible_system == "Plan9"
    - block:
        - name: Break
          fail:
            msg: "disk <full> & gone"
      rescue:
        - name: Recover
          debug:
            msg: recovered
    - name: Each item
      command: "echo {{ item }}"
      loop: [a, b]
- name: The end
  hosts: local
  gather_facts: false
  tasks:
    - name: Fail for real
      fail:
        msg: the real failure
    - name: Never runs
      command: "true"
"#;

#[test]
fn junit_report_is_read_by_junitparser_with_the_right_counts() {
    let p = Project::new().file("hosts", HOSTS).file("site.yaml", SITE);
    let out = p.play("site.yaml").args(["-i", "hosts", "--junit", "report.xml"]).run().code(2);
    out.recap_is("local", "ok=5 changed=3 failed=1 ignored=1 rescued=1 skipped=1");
    let r = junitparser(&p.join("report.xml"));
    // Play 1: on `local` 7 cases (ok, changed, ignored, skipped, rescued, the rescue task, the
    // loop), on `dead` 1 (unreachable at the first task, then out of the run); play 2: 1 case.
    assert_eq!(r["totals"], serde_json::json!([9, 1, 1, 1]), "{r:#}");
    let suites = r["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 2, "a suite per play: {r:#}");
    assert_eq!(suites[0]["name"], "Mixed results");
    assert_eq!(suites[0]["attrs"], serde_json::json!([8, 0, 1, 1]), "{r:#}");
    assert_eq!(suites[1]["name"], "The end");
    assert_eq!(suites[1]["attrs"], serde_json::json!([1, 1, 0, 0]), "{r:#}");
    for s in suites {
        assert_eq!(s["attrs"], s["counted"], "the suite's counts are its cases': {s:#}");
    }
    let cases: Vec<(String, String, String, Value)> = suites
        .iter()
        .flat_map(|s| s["cases"].as_array().unwrap().iter())
        .map(|c| {
            (c[0].as_str().unwrap().into(), c[1].as_str().unwrap().into(), c[2].as_str().unwrap().into(), c[3].clone())
        })
        .collect();
    let kind = |host: &str, name: &str| {
        cases
            .iter()
            .find(|c| c.0 == host && c.1 == name)
            .map(|c| (c.2.as_str(), c.3.clone()))
            .unwrap_or_else(|| panic!("no case {host} / {name}: {cases:?}"))
    };
    assert_eq!(kind("local", "Nothing to change").0, "passed");
    assert_eq!(kind("local", "Write a file").0, "passed");
    assert_eq!(kind("local", "Fail but carry on").0, "passed", "an ignored failure passes");
    assert_eq!(kind("local", "Only on another system"), ("skipped", Value::from("Conditional result was False")));
    assert_eq!(kind("local", "Break").0, "passed", "a rescued failure passes");
    assert_eq!(kind("local", "Recover").0, "passed");
    assert_eq!(kind("local", "Each item").0, "passed");
    assert_eq!(kind("local", "Fail for real"), ("failure", Value::from("the real failure")));
    let (k, msg) = kind("dead", "Nothing to change");
    assert_eq!(k, "error", "unreachable is an error");
    assert!(msg.as_str().unwrap().contains("127.0.0.1"), "{msg}");
    assert!(!cases.iter().any(|c| c.1 == "Never runs"));
    // What the statuses and notes say, as written.
    let xml = std::fs::read_to_string(p.join("report.xml")).unwrap();
    assert!(xml.contains(r#"<property name="orc.status" value="rescued"/>"#), "{xml}");
    assert!(xml.contains(r#"<property name="orc.status" value="ignored"/>"#), "{xml}");
    assert!(xml.contains("then rescued by the block's rescue section: disk &lt;full&gt; &amp; gone"), "{xml}");
    assert!(xml.contains("(item=a) changed") && xml.contains("(item=b) changed"), "{xml}");
}

#[test]
fn orc_run_writes_a_report_too() {
    let p = Project::new().file("hosts", HOSTS);
    Orc::new()
        .args(["run", "local", "-i", "hosts", "-a", "echo hi", "--junit", "adhoc.xml"])
        .dir(p.path())
        .run()
        .success();
    let r = junitparser(&p.join("adhoc.xml"));
    assert_eq!(r["totals"], serde_json::json!([1, 0, 0, 0]), "{r:#}");
    assert_eq!(r["suites"][0]["cases"][0][0], "local");
}

#[test]
fn a_report_that_cannot_be_written_stops_the_run_before_it_starts() {
    let p = Project::new().file("hosts", HOSTS).file("site.yaml", SITE);
    p.play("site.yaml")
        .args(["-i", "hosts", "--junit", "no/such/dir/report.xml"])
        .run()
        .code(64)
        .stderr_has("cannot write the JUnit report no/such/dir/report.xml");
    assert!(!p.join("out.txt").exists(), "nothing ran");
}

const PW: &str = "junit-vault-password";
/// A vault secret with characters XML escapes: censored before escaping, neither its text nor its
/// escaped form may appear.
const VAULTED: &str = "J&nit<S3cret>-from-vault";
const NO_LOG: &str = "NoLog-junit-S3cret";

#[test]
fn vault_and_no_log_secrets_never_reach_the_report() {
    let p = Project::new()
        .file("pw.txt", &format!("{PW}\n"))
        .file("hosts", "local ansible_connection=local\n")
        .file("group_vars/all/vault.yml", &format!("db_password: \"{VAULTED}\"\n"))
        .file(
            "site.yaml",
            &format!(
                r#"
                - name: "Secrets"
                  hosts: all
                  gather_facts: false
                  tasks:
                    - name: "Use {{{{ db_password }}}}"
                      debug:
                        msg: "the password is {{{{ db_password }}}}"
                    - name: Fail with it
                      fail:
                        msg: "bad password {{{{ db_password }}}}"
                      ignore_errors: true
                    - name: Hidden
                      command: echo {NO_LOG}
                      no_log: true
                      register: hidden
                    - name: Hidden and failing
                      shell: "echo {NO_LOG}; exit 1"
                      no_log: true
                      ignore_errors: true
                    - name: Show what was hidden
                      debug:
                        var: hidden.stdout
                    - name: Really fail with it
                      fail:
                        msg: "still {{{{ db_password }}}}"
                "#
            ),
        );
    std::fs::set_permissions(p.join("pw.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    Orc::new()
        .args(["vault", "encrypt", "--vault-password-file", "pw.txt", "group_vars/all/vault.yml"])
        .dir(p.path())
        .run()
        .success();
    let out = p
        .play("site.yaml")
        .args(["-i", "hosts", "--vault-password-file", "pw.txt", "--junit", "report.xml"])
        .run()
        .code(2);
    let xml = std::fs::read_to_string(p.join("report.xml")).unwrap();
    for leak in [VAULTED, "J&amp;nit&lt;S3cret&gt;-from-vault", "S3cret>-from-vault", "S3cret&gt;-from-vault", NO_LOG] {
        assert!(!xml.contains(leak), "{leak} in the report:\n{xml}");
        assert!(!out.stdout.contains(leak), "{leak} in the output:\n{out}");
    }
    assert!(!xml.contains("S3cret"), "{xml}");
    // The tasks are there, with the secret masked.
    assert!(xml.contains(r#"<failure message="still ********" type="failed">"#), "{xml}");
    assert!(xml.contains("Use ********"), "{xml}");
    assert!(xml.contains("the output has been hidden"), "{xml}");
    let r = junitparser(&p.join("report.xml"));
    assert_eq!(r["totals"], serde_json::json!([6, 1, 0, 0]), "{r:#}");
}
