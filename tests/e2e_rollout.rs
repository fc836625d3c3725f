//! End-to-end: rolling upgrades on the lab (issue "Rolling upgrades"), on ONE service-discovery
//! topology (tests/lab/topology.rs: an LB, a registry, three app hosts) converged by the built-in
//! service-discovery playbook, then upgraded by the built-in rolling-upgrade playbook with the
//! load client sending requests through the LB for the whole of each rollout:
//! 1. v1 -> v2: 0 failed requests, every host serves v2, the registry says v2; a second rollout
//!    started while it runs is refused by the lock (acceptance 5), and once it ended a re-run
//!    changes nothing and drains nothing;
//! 6. `--check --diff` to v3 prints the plan and changes nothing (container ids unchanged), exit
//!    10 with --detailed-exitcode;
//! 2. v2 -> v3 (app:3 answers 500 on its health path): the canary is rolled back to v2, the
//!    other hosts are not touched, 0 failed requests, exit 2, a summary naming host, gate and
//!    response;
//! 3. v2 -> v4 (app:4 fails its health check on the second and third hosts only, through their
//!    APP_UNHEALTHY variable): the canary and the second host end on v2 again, exit 2;
//! 7. rolling-host-update restarts each host's Docker daemon in stages (an exec health gate),
//!    0 failed requests;
//! 4. a host killed during a rollout: the canary is rolled back, exit 4, the recap and the
//!    summary say why; the failed requests seen until HAProxy's health check takes the host out
//!    are reported, and none may fail after.
//!
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly. Load is bounded in count and time
//! and goes to the lab LB's address only.

mod common;
#[path = "lab/mod.rs"]
mod lab;
#[path = "lab/load.rs"]
mod load;
#[path = "lab/topology.rs"]
mod topology;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Orc, Outcome};
use lab::LabHost;
use load::{Limits, Load};
use serde_json::Value;
use topology::Topology;

/// A run may start containers and wait for health gates on a loaded machine.
const PLAY_TIMEOUT: Duration = Duration::from_secs(600);
/// The app's health path (tests/lab/app-image.sh): 500 when the image is unhealthy.
const HEALTH: &str = "app_health_path=/cgi-bin/health";

fn timed(step: &str, since: Instant) {
    eprintln!("[e2e_rollout] {step}: {:.1} s", since.elapsed().as_secs_f64());
}

/// `orc play NAME` (a built-in playbook, by name, from an empty directory) with app:`tag`.
fn builtin(dir: &Path, name: &str, inventory: &Path, tag: &str, extra: &[&str]) -> Outcome {
    let cwd = dir.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    Orc::play(name)
        .dir(&cwd)
        .inventory(inventory)
        .args(["-e", "app_image=app", "-e", &format!("app_tag={tag}"), "-e", HEALTH])
        .args(["--host-key-checking", "off"])
        .args(extra)
        .timeout(PLAY_TIMEOUT)
        .run()
}

/// The image and id of the app container on `host`.
fn container(t: &Topology, host: &LabHost) -> (String, String) {
    let out = t.lab.exec(&host.name, "docker inspect -f '{{.Config.Image}} {{.Id}}' app").ok().trim().to_string();
    let (image, id) = out.split_once(' ').unwrap_or_else(|| panic!("no app container on {}: {out}", host.name));
    (image.to_string(), id.to_string())
}

/// The tag the registry holds for `host`.
fn registered_tag(t: &Topology, host: &LabHost) -> String {
    let entries = t.etcd_entries(&format!("/services/app/{}", host.name));
    let v: Value = serde_json::from_str(&entries[0].1).unwrap();
    v["tag"].as_str().unwrap_or_default().to_string()
}

#[test]
fn rolling_upgrades_on_the_lab() {
    let start = Instant::now();
    let Some(t) = Topology::start(&[1, 2]) else { return };
    t.load_app_images_named(&["3-unhealthy".to_string(), "4".to_string()]);
    timed("topology up", start);
    let apps: Vec<LabHost> = t.apps[..3].to_vec();
    // app:4 fails its health check on the second and third hosts only (host_vars beside the
    // inventory: an INI value cannot be a mapping).
    let inv = t.inventory("three", &apps);
    let host_vars = t.dir().join("host_vars");
    std::fs::create_dir_all(&host_vars).unwrap();
    for h in &apps[1..] {
        std::fs::write(host_vars.join(format!("{}.yml", h.name)), "app_env:\n  APP_UNHEALTHY: \"4\"\n").unwrap();
    }
    builtin(t.dir(), "service-discovery", &inv, "1", &[]).success();
    timed("service discovery converged on v1", start);

    upgrade_v1_to_v2_with_lock(&t, &inv, &apps);
    check_diff_plans_and_changes_nothing(&t, &inv, &apps);
    unhealthy_canary_is_rolled_back(&t, &inv, &apps);
    second_batch_failure_rolls_everything_back(&t, &inv, &apps);
    host_update_in_stages(&t, &inv, &apps);
    let calls = t.trapped_calls();
    assert!(calls.is_empty(), "trapped programs ran on the hosts: {calls:#?}");
    // Last: it kills a host.
    unreachable_host_mid_rollout(&t, &inv, &apps);
    timed("all steps", start);
}

/// Acceptance 1 and 5.
fn upgrade_v1_to_v2_with_lock(t: &Topology, inv: &Path, apps: &[LabHost]) {
    let step = Instant::now();
    // An image tag that is not immutable is refused before anything runs.
    let latest = builtin(t.dir(), "rolling-upgrade", inv, "latest", &[]).code(2);
    assert!(latest.stdout.contains("app_tag must name an immutable image tag"), "{latest}");
    assert_eq!(container(t, &apps[0]).0, "app:1");

    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let (dir, inv_path): (PathBuf, PathBuf) = (t.dir().to_path_buf(), inv.to_path_buf());
    let first = std::thread::spawn(move || builtin(&dir, "rolling-upgrade", &inv_path, "2", &["--output", "json"]));
    // The second rollout starts once the first holds the lock (bounded wait).
    let began = Instant::now();
    while t.etcd_entries("/rollouts/app/lock").is_empty() && began.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let lock = t.etcd_entries("/rollouts/app/lock");
    assert_eq!(lock.len(), 1, "the first rollout never took the lock");
    let holder: Value = serde_json::from_str(&lock[0].1).unwrap();
    assert!(holder["owner"].as_str().is_some_and(|o| o.contains('@')) && holder["started"].is_string(), "{holder}");
    let second = builtin(t.dir(), "rolling-upgrade", inv, "2", &[]).code(2);
    assert!(second.stdout.contains("another rollout of app holds the lock"), "{second}");
    let first = first.join().unwrap().success();
    let report = load.finish(2000);
    println!("[e2e_rollout] v1 -> v2: {report}");
    assert_eq!(report.failed(), 0, "the rollout lost requests: {report}");
    assert!(report.total >= 2000, "{report}");

    // Per host, in order: drained, marked draining, replaced, gated, enabled, registered.
    let events: Vec<Value> = first.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for h in apps {
        let at = |task: &str| {
            events
                .iter()
                .position(|e| {
                    e["event"] == "host_result"
                        && e["host"] == h.name.as_str()
                        && e["task"].as_str().is_some_and(|n| n.ends_with(task))
                })
                .unwrap_or_else(|| panic!("no result of '{task}' for {}", h.name))
        };
        let order = [
            at("Drain the host in every load balancer"),
            at("Mark the host draining in the registry"),
            at("Run the app container"),
            at("Gate the container on its health check"),
            at("Enable the host in every load balancer"),
            at("Register the host in the service registry"),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{}: steps out of order: {order:?}", h.name);
        let gate = &events[order[3]]["result"];
        eprintln!("[e2e_rollout] {} gate: {} in {} s", h.name, gate["check"], gate["seconds"]);
        assert_eq!(gate["passes"], 3, "{gate}");
    }
    for h in apps {
        assert_eq!(container(t, h).0, "app:2", "{} does not run v2", h.name);
        assert_eq!(registered_tag(t, h), "2", "the registry does not say v2 for {}", h.name);
    }
    let served = Load::start(t.lb_addr(), "/cgi-bin/host", Limits { max_requests: 60, ..Limits::default() }).finish(60);
    for h in apps {
        assert!(served.answers_with(&format!("app version 2 on {}", h.name)) > 0, "{served}");
    }
    let last: Value = serde_json::from_str(&t.etcd_entries("/rollouts/app/last")[0].1).unwrap();
    assert_eq!((last["result"].as_str(), last["tag"].as_str()), (Some("succeeded"), Some("2")), "{last}");
    assert!(t.etcd_entries("/rollouts/app/lock").is_empty(), "the lock was not released");
    timed("1, 5: v1 -> v2 under load, lock", step);

    // Once the first ended, a rollout runs; with the deployed tag it changes nothing.
    let again = builtin(t.dir(), "rolling-upgrade", inv, "2", &[]).success();
    for h in apps.iter().chain([&t.lb, &t.registry]) {
        assert_eq!(again.recap(&h.name).changed, 0, "{} changed:\n{}", h.name, again.stdout);
    }
    assert!(!again.stdout.contains("changed: ["), "{}", again.stdout);
    timed("1: re-run", step);
}

/// Acceptance 6.
fn check_diff_plans_and_changes_nothing(t: &Topology, inv: &Path, apps: &[LabHost]) {
    let step = Instant::now();
    let before: Vec<(String, String)> = apps.iter().map(|h| container(t, h)).collect();
    let dry = builtin(t.dir(), "rolling-upgrade", inv, "3", &["--check", "--diff", "--detailed-exitcode"]).code(10);
    for h in apps {
        assert!(
            dry.stdout.contains(&format!("{}: app:2 -> app:3", h.name)),
            "no plan line for {}:\n{}",
            h.name,
            dry.stdout
        );
    }
    // The batches: a canary, then halves of 3 (one host each).
    for (i, h) in apps.iter().enumerate() {
        let batch = format!("batch of hosts {n} to {n} of 3: {}", h.name, n = i + 1);
        assert!(dry.stdout.contains(&batch), "no '{batch}':\n{}", dry.stdout);
    }
    assert!(dry.stdout.contains("+image_name: app:3"), "no container change shown:\n{}", dry.stdout);
    assert!(
        dry.stdout.contains("state drain") || dry.stdout.contains("state maint"),
        "no LB change shown:\n{}",
        dry.stdout
    );
    let after: Vec<(String, String)> = apps.iter().map(|h| container(t, h)).collect();
    assert_eq!(before, after, "--check changed a container");
    for h in apps {
        assert_eq!(t.server_admin("app", &h.name), Some("ready"));
        assert_eq!(registered_tag(t, h), "2");
    }
    assert!(t.etcd_entries("/rollouts/app/lock").is_empty(), "--check took the lock");
    println!("[e2e_rollout] --check --diff plan:\n{}", plan_lines(&dry));
    timed("6: --check --diff", step);
}

/// The plan lines a run printed (the debug messages of the plan task).
fn plan_lines(out: &Outcome) -> String {
    out.stdout.lines().filter(|l| l.contains(" -> app:") || l.contains("batch of hosts")).collect::<Vec<_>>().join("\n")
}

/// Acceptance 2.
fn unhealthy_canary_is_rolled_back(t: &Topology, inv: &Path, apps: &[LabHost]) {
    let step = Instant::now();
    let before: Vec<(String, String)> = apps.iter().map(|h| container(t, h)).collect();
    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let out = builtin(t.dir(), "rolling-upgrade", inv, "3", &["-e", "health_deadline=8"]).code(2);
    let report = load.finish(500);
    println!("[e2e_rollout] v2 -> v3 (unhealthy): {report}");
    assert_eq!(report.failed(), 0, "the failed rollout lost requests: {report}");
    let canary = &apps[0];
    assert_eq!(container(t, canary).0, "app:2", "the canary is not back on v2");
    assert_ne!(container(t, canary).1, before[0].1, "the canary was never replaced");
    for (h, was) in apps[1..].iter().zip(&before[1..]) {
        assert_eq!(&container(t, h), was, "{} was touched", h.name);
    }
    for h in apps {
        assert_eq!(registered_tag(t, h), "2");
        assert_eq!(t.server_admin("app", &h.name), Some("ready"), "{} is not enabled", h.name);
    }
    let summary = out.stdout.lines().find(|l| l.contains("health gate http://127.0.0.1:8080/cgi-bin/health failed"));
    let summary = summary.unwrap_or_else(|| panic!("no summary:\n{}", out.stdout));
    assert!(summary.contains(&canary.name) && summary.contains("HTTP 500"), "{summary}");
    for h in &apps[1..] {
        for why in ["unreachable", "health gate", "failed before"] {
            let line = format!("{}: {why}", h.name);
            assert!(!out.stdout.contains(&line), "'{line}' in the summary:\n{}", out.stdout);
        }
    }
    assert!(out.stdout.contains("ROLLBACK [Roll out the new tag]"), "{}", out.stdout);
    let last: Value = serde_json::from_str(&t.etcd_entries("/rollouts/app/last")[0].1).unwrap();
    assert_eq!(last["result"], "rolled back", "{last}");
    assert!(t.etcd_entries("/rollouts/app/lock").is_empty(), "the lock was not released");
    eprintln!("[e2e_rollout] summary: {}", summary.trim());
    timed("2: unhealthy canary rolled back", step);
}

/// Acceptance 3.
fn second_batch_failure_rolls_everything_back(t: &Topology, inv: &Path, apps: &[LabHost]) {
    let step = Instant::now();
    let before: Vec<(String, String)> = apps.iter().map(|h| container(t, h)).collect();
    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let out = builtin(t.dir(), "rolling-upgrade", inv, "4", &["-e", "health_deadline=8"]).code(2);
    let report = load.finish(500);
    println!("[e2e_rollout] v2 -> v4 (fails on the second batch): {report}");
    assert_eq!(report.failed(), 0, "the failed rollout lost requests: {report}");
    // The canary passed its gate on v4, then went back with the second host.
    let canary_gate = out.stdout.lines().any(|l| l.contains(&apps[0].name) && l.contains("ok:"));
    assert!(canary_gate, "{}", out.stdout);
    for h in &apps[..2] {
        assert_eq!(container(t, h).0, "app:2", "{} is not back on v2", h.name);
    }
    assert_eq!(container(t, &apps[2]), before[2], "the third host was touched");
    for h in apps {
        assert_eq!(registered_tag(t, h), "2");
        assert_eq!(t.server_admin("app", &h.name), Some("ready"), "{} is not enabled", h.name);
    }
    let summary = out.stdout.lines().find(|l| l.contains("failed after") && l.contains(&apps[1].name));
    assert!(summary.is_some_and(|s| s.contains("HTTP 500")), "{}", out.stdout);
    timed("3: second batch failure rolled back", step);
}

/// Acceptance 7: rolling-host-update with a disruptive maintenance (Docker restarted: the app
/// container stops and comes back by its restart policy), gated by a command in the container.
fn host_update_in_stages(t: &Topology, inv: &Path, apps: &[LabHost]) {
    let step = Instant::now();
    let tasks = t.dir().join("maintenance.yml");
    std::fs::write(
        &tasks,
        "- name: Leave a mark of the maintenance\n  ansible.builtin.copy:\n    content: \"maintained\\n\"\n    \
         dest: /etc/orc-maintained\n- name: Restart the container runtime\n  ansible.builtin.systemd_service:\n    \
         name: docker\n    state: restarted\n",
    )
    .unwrap();
    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let out = builtin(
        t.dir(),
        "rolling-host-update",
        inv,
        "2",
        &[
            "-e",
            &format!("host_update_tasks={}", tasks.display()),
            "-e",
            "health_kind=exec",
            "-e",
            r#"{"health_command": "wget -q -O /dev/null http://127.0.0.1:8080/cgi-bin/health"}"#,
            "-v",
        ],
    )
    .success();
    let report = load.finish(1000);
    println!("[e2e_rollout] rolling-host-update: {report}");
    assert_eq!(report.failed(), 0, "the host update lost requests: {report}");
    assert!(report.total >= 1000);
    // One host per batch (a canary, then halves of 3): the maintenance ran three times apart.
    let included: Vec<&str> =
        out.stdout.lines().filter(|l| l.starts_with(&format!("included: {} for ", tasks.display()))).collect();
    assert_eq!(included.len(), 3, "{}", out.stdout);
    for (line, h) in included.iter().zip(apps) {
        assert!(line.ends_with(&format!(" for {}", h.name)), "{line}");
    }
    for h in apps {
        assert_eq!(t.lab.exec(&h.name, "cat /etc/orc-maintained").ok().trim(), "maintained");
        assert_eq!(container(t, h).0, "app:2");
        assert_eq!(t.server_admin("app", &h.name), Some("ready"));
        assert_eq!(registered_tag(t, h), "2");
        let v: Value = serde_json::from_str(&t.etcd_entries(&format!("/services/app/{}", h.name))[0].1).unwrap();
        assert!(v.get("state").is_none(), "the entry of {} still says {v}", h.name);
    }
    assert!(out.stdout.contains("exec in app: wget"), "the exec gate did not run:\n{}", out.stdout);
    timed("7: rolling-host-update", step);
}

/// Acceptance 4: the second host is killed while the canary is upgraded.
fn unreachable_host_mid_rollout(t: &Topology, inv: &Path, apps: &[LabHost]) {
    let step = Instant::now();
    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let (dir, inv_path): (PathBuf, PathBuf) = (t.dir().to_path_buf(), inv.to_path_buf());
    let run = std::thread::spawn(move || builtin(&dir, "rolling-upgrade", &inv_path, "1", &[]));
    // Once the canary is being upgraded (its entry says draining), the second host dies.
    let began = Instant::now();
    let draining = |h: &LabHost| {
        t.etcd_entries(&format!("/services/app/{}", h.name)).first().is_some_and(|(_, v)| v.contains("draining"))
    };
    while !draining(&apps[0]) && began.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(draining(&apps[0]), "the canary was never drained");
    t.lab.stop_host(&apps[1].name);
    // Until HAProxy's own health check takes the dead host out, a request in flight on it may
    // fail (reported); from then on, none may (asserted).
    let killed = Instant::now();
    while t.server_up("app", &apps[1].name) != Some(false) && killed.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(t.server_up("app", &apps[1].name), Some(false), "HAProxy never took the dead host out");
    let before = load.finish(0);
    println!(
        "[e2e_rollout] a host killed mid-rollout, until HAProxy's check took it out ({:.1} s): {before}",
        killed.elapsed().as_secs_f64()
    );
    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let out = run.join().unwrap().code(4);
    let report = load.finish(300);
    println!("[e2e_rollout] a host killed mid-rollout, after HAProxy took it out: {report}");
    assert_eq!(report.failed(), 0, "requests failed once HAProxy had taken the dead host out: {report}");
    assert_eq!(container(t, &apps[0]).0, "app:2", "the canary is not back on v2");
    assert_eq!(container(t, &apps[2]).0, "app:2", "the third host was touched");
    assert_eq!(registered_tag(t, &apps[0]), "2");
    assert!(out.stdout.contains(&format!("{}: unreachable", apps[1].name)), "no summary line:\n{}", out.stdout);
    assert_eq!(out.recap(&apps[1].name).unreachable, 1, "{}", out.stdout);
    timed("4: a host killed mid-rollout", step);
}
