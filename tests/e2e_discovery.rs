//! End-to-end: service discovery on the lab (issue "Service discovery", acceptance 1 to 6), on
//! ONE topology (tests/lab/topology.rs: an LB, a registry, three app hosts and a fourth for
//! scale-out), step after step:
//! 1. the built-in service-discovery playbook converges a fresh topology, then changes nothing
//!    (again, and in --check); etcd holds one entry per app host with the tag; requests through
//!    the LB reach all three backends;
//! 2. scale out under load: the fourth host is registered and served, 0 failed requests;
//! 3. scale in under load, with slow requests in flight on the host that leaves: it is drained
//!    (its requests finish), deregistered, removed from the LB, 0 failed requests;
//! 4. the haproxy module alone: drain waits for a held request, idempotence, check mode, diff,
//!    unknown backend or server, missing socket;
//! 5. the etcd3 module and lookup: put, same value, new value, delete, check mode, diff, etcd
//!    stopped;
//! 6. nothing ran python3, socat, curl or etcdctl on any host, and etcd and the HAProxy socket
//!    are not exposed beyond where they were configured.
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

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Orc, Outcome};
use lab::LabHost;
use load::{Limits, Load};
use serde_json::Value;
use topology::Topology;

/// A run may install packages from the cache and start containers on a loaded machine.
const PLAY_TIMEOUT: Duration = Duration::from_secs(600);

/// Prints how long a step took (shown with --nocapture, and by nextest for a failing test).
fn timed(step: &str, since: Instant) {
    eprintln!("[e2e_discovery] {step}: {:.1} s", since.elapsed().as_secs_f64());
}

/// `orc play service-discovery` (the built-in playbook, by name, from an empty directory) on
/// `inventory` with app:`tag`, plus `extra` arguments.
fn discovery(t: &Topology, inventory: &Path, tag: &str, extra: &[&str]) -> Outcome {
    let cwd = t.dir().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    Orc::play("service-discovery")
        .dir(&cwd)
        .inventory(inventory)
        .args(["-e", "app_image=app", "-e", &format!("app_tag={tag}")])
        // Requests held for 20 s must not time out at the LB (scale in holds some); a drain may
        // wait that long.
        .args(["-e", "lb_timeout_server=120s", "-e", "lb_drain_timeout=120"])
        .args(["--host-key-checking", "off"])
        .args(extra)
        .timeout(PLAY_TIMEOUT)
        .run()
}

/// Runs a playbook written into the lab's directory.
fn play(t: &Topology, name: &str, text: &str, inventory: &Path, extra: &[&str]) -> Outcome {
    let path = t.dir().join(name);
    std::fs::write(&path, text).unwrap();
    Orc::play(&path).inventory(inventory).args(["--host-key-checking", "off"]).args(extra).timeout(PLAY_TIMEOUT).run()
}

/// Asserts that every host in the recap changed nothing.
#[track_caller]
fn assert_nothing_changed(out: &Outcome, hosts: &[&LabHost]) {
    for h in hosts {
        assert_eq!(out.recap(&h.name).changed, 0, "{} changed something:\n{}", h.name, out.stdout);
    }
}

/// The `host_result` events of an `--output json` run.
fn results(out: &Outcome) -> Vec<Value> {
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "host_result")
        .collect()
}

#[test]
fn service_discovery_on_the_lab() {
    let start = Instant::now();
    let Some(t) = Topology::start(&[1]) else { return };
    timed("topology up", start);
    let three: Vec<LabHost> = t.apps[..3].to_vec();
    let four: Vec<LabHost> = t.apps[..4].to_vec();
    let inv3 = t.inventory("three", &three);
    let inv4 = t.inventory("four", &four);
    let mut everyone: Vec<&LabHost> = vec![&t.lb, &t.registry];
    everyone.extend(three.iter());

    converge_fresh(&t, &inv3, &three, &everyone);
    scale_out(&t, &inv4, &four);
    let after_scale_in = scale_in(&t, &four);
    haproxy_module(&t, &after_scale_in);
    etcd3_module_and_lookup(&t, &after_scale_in);
    nothing_trapped_nothing_exposed(&t);
    timed("all steps", start);
}

/// Acceptance 1.
fn converge_fresh(t: &Topology, inv: &Path, apps: &[LabHost], everyone: &[&LabHost]) {
    let step = Instant::now();
    // An image tag that is not immutable is refused before anything runs.
    let latest = discovery(t, inv, "latest", &[]).code(2);
    assert!(latest.stdout.contains("app_tag must name an immutable image tag") && latest.stdout.contains("'latest'"));
    let missing = Orc::play("service-discovery")
        .dir(t.dir())
        .inventory(inv)
        .args(["-e", "app_image=app", "--host-key-checking", "off"])
        .run()
        .code(2);
    assert!(missing.stdout.contains("it is missing"), "{missing}");
    let untouched =
        t.lab.exec(&t.registry.name, "dpkg -s etcd-server >/dev/null 2>&1 && echo installed || echo absent");
    assert_eq!(untouched.ok().trim(), "absent", "a refused run must change nothing");

    let first = discovery(t, inv, "1", &[]).success();
    for h in apps {
        assert!(first.recap(&h.name).changed >= 2, "{} was not deployed:\n{}", h.name, first.stdout);
    }
    timed("1: fresh converge", step);
    let again = discovery(t, inv, "1", &[]).success();
    assert_nothing_changed(&again, everyone);
    let check = discovery(t, inv, "1", &["--check"]).success();
    assert_nothing_changed(&check, everyone);

    let entries = t.etcd_entries("/services/app/");
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let want: Vec<String> = apps.iter().map(|h| format!("/services/app/{}", h.name)).collect();
    assert_eq!(keys, want, "one registry entry per app host");
    for ((_, value), h) in entries.iter().zip(apps) {
        let v: Value = serde_json::from_str(value).unwrap();
        assert_eq!(
            (v["host"].as_str(), v["address"].as_str()),
            (Some(h.name.as_str()), Some(h.ip.as_str())),
            "{value}"
        );
        assert_eq!((v["image"].as_str(), v["tag"].as_str(), v["port"].as_u64()), (Some("app"), Some("1"), Some(8080)));
        let id = t.lab.exec(&h.name, "docker inspect -f '{{.Id}}' app").ok().trim().to_string();
        assert_eq!(v["container_id"].as_str(), Some(id.as_str()), "the entry names the running container");
    }

    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits { max_requests: 60, ..Limits::default() });
    let report = load.finish(60);
    eprintln!("[e2e_discovery] through the LB: {report}");
    assert_eq!(report.failed(), 0, "{report}");
    for h in apps {
        assert!(
            report.answers_with(&format!("app version 1 on {}", h.name)) > 0,
            "{} never answered: {report}",
            h.name
        );
    }
    timed("1: re-run, check, registry, backends", step);
}

/// Acceptance 2.
fn scale_out(t: &Topology, inv: &Path, apps: &[LabHost]) {
    let step = Instant::now();
    let new = &apps[3];
    let dry = discovery(t, inv, "1", &["--check", "--diff"]).success();
    assert!(dry.stdout.contains(&format!("+    server {} {}:8080 check", new.name, new.ip)), "{}", dry.stdout);
    assert!(dry.stdout.contains(&format!("\"host\": \"{}\"", new.name)), "the registry entry to be: {}", dry.stdout);
    assert!(t.etcd_entries(&format!("/services/app/{}", new.name)).is_empty(), "--check wrote to the registry");

    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let out = discovery(t, inv, "1", &[]).success();
    let report = load.finish(1000);
    println!("[e2e_discovery] scale out: {report}");
    assert_eq!(report.failed(), 0, "scale out lost requests: {report}\n{}", out.stdout);
    assert!(report.total >= 1000);
    assert_eq!(t.etcd_entries(&format!("/services/app/{}", new.name)).len(), 1, "{} is not registered", new.name);
    let served = Load::start(t.lb_addr(), "/cgi-bin/host", Limits { max_requests: 40, ..Limits::default() }).finish(40);
    assert!(served.answers_with(&format!("on {}", new.name)) > 0, "{} is not served: {served}", new.name);
    assert_eq!(served.failed(), 0, "{served}");
    timed("2: scale out under load", step);
}

/// Acceptance 3: removes apps[1]; returns the app hosts left.
fn scale_in(t: &Topology, apps: &[LabHost]) -> Vec<LabHost> {
    let step = Instant::now();
    let leaving = &apps[1];
    let staying: Vec<LabHost> = apps.iter().filter(|h| h.name != leaving.name).cloned().collect();
    let inv = t.inventory("scaled-in", &staying);

    // Slow requests held open through the LB, spread over the four servers by round robin: some
    // are on the leaving host when the run drains it (about 15 s into the run), and must finish.
    let slow: Vec<_> = (0..8)
        .map(|_| {
            let addr = t.lb_addr();
            std::thread::spawn(move || load::request(addr, "/cgi-bin/slow?20", Duration::from_secs(90)))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let load = Load::start(t.lb_addr(), "/cgi-bin/host", Limits::default());
    let out = discovery(t, &inv, "1", &["--output", "json"]).success();
    let report = load.finish(1000);
    println!("[e2e_discovery] scale in: {report}");
    let slow: Vec<_> = slow.into_iter().map(|h| h.join().unwrap()).collect();
    for s in &slow {
        assert!(matches!(s, Ok((200, body)) if body.starts_with("slept 20 s on")), "a held request failed: {s:?}");
    }
    assert!(
        slow.iter().any(|s| matches!(s, Ok((_, body)) if body.contains(&leaving.name))),
        "no held request was on {}: {slow:?}",
        leaving.name
    );
    assert_eq!(report.failed(), 0, "scale in lost requests: {report}");
    assert!(report.total >= 1000);

    // Drained (waiting for its held requests), then deregistered, then out of the configuration.
    let events = results(&out);
    let position = |task: &str| {
        events
            .iter()
            .position(|e| e["task"].as_str().is_some_and(|n| n.ends_with(task)) && e["item"] == leaving.name.as_str())
            .unwrap_or_else(|| panic!("no result of '{task}' for {}:\n{}", leaving.name, out.stdout))
    };
    let (drained, deregistered) =
        (position("Drain the servers that leave the service"), position("Deregister the servers that left"));
    let drain = &events[drained]["result"];
    assert_eq!(events[drained]["status"], "changed", "{drain}");
    assert!(drain["sessions"].as_u64().unwrap_or(0) >= 1, "the drain saw no session of the held requests: {drain}");
    assert!(drain["drain_seconds"].as_f64().unwrap_or(0.0) >= 1.0, "the drain did not wait: {drain}");
    let rewritten = events
        .iter()
        .position(|e| e["task"].as_str().is_some_and(|n| n.ends_with("Write HAProxy's configuration")))
        .unwrap();
    assert!(drained < deregistered && deregistered < rewritten, "drain, deregister, rewrite: out of order");
    assert_eq!(events[rewritten]["status"], "changed");
    assert!(t.etcd_entries(&format!("/services/app/{}", leaving.name)).is_empty(), "still registered");
    let cfg = t.lab.exec(&t.lb.name, "cat /etc/haproxy/haproxy.cfg").ok().to_string();
    assert!(!cfg.contains(&format!("server {} ", leaving.name)), "still in the LB:\n{cfg}");
    assert_eq!(t.server_admin("app", &leaving.name), None, "the reloaded LB still has it");
    eprintln!(
        "[e2e_discovery] {} drained in {} s with {} sessions",
        leaving.name, drain["drain_seconds"], drain["sessions"]
    );
    timed("3: scale in under load", step);
    staying
}

/// Acceptance 4: the haproxy module alone, on the converged LB (backend `app`).
fn haproxy_module(t: &Topology, apps: &[LabHost]) {
    let step = Instant::now();
    let inv = t.inventory("haproxy", apps);
    let (a, others) = (&apps[0], &apps[1..]);
    let task = |args: &str| {
        format!(
            "- hosts: lb\n  gather_facts: false\n  tasks:\n    - name: haproxy\n      community.general.haproxy:\n        \
             socket: /run/haproxy/admin.sock\n        backend: app\n{args}"
        )
    };
    let run = |args: &str, extra: &[&str]| play(t, "haproxy.yml", &task(args), &inv, extra);
    let lb = &t.lb.name;

    // drain: changed, then ok; check mode reports and changes nothing; diff shows before/after.
    let args = format!("        host: {}\n        state: drain\n", a.name);
    run(&args, &[]).success().recap_is(lb, "ok=1 changed=1");
    assert_eq!(t.server_admin("app", &a.name), Some("drain"));
    run(&args, &[]).success().recap_is(lb, "ok=1 changed=0");
    let enable = format!("        host: {}\n        state: enabled\n", a.name);
    let dry = run(&enable, &["--check", "--diff"]).success().recap_is(lb, "ok=1 changed=1");
    assert!(dry.stdout.contains(&format!("-app/{}: state drain weight 1", a.name)), "{}", dry.stdout);
    assert!(dry.stdout.contains(&format!("+app/{}: state ready weight 1", a.name)), "{}", dry.stdout);
    assert_eq!(t.server_admin("app", &a.name), Some("drain"), "check mode changed the server");
    run(&enable, &[]).success().recap_is(lb, "ok=1 changed=1");
    run(&enable, &[]).success().recap_is(lb, "ok=1 changed=0");
    let disable = format!("        host: {}\n        state: disabled\n", a.name);
    run(&disable, &[]).success().recap_is(lb, "ok=1 changed=1");
    assert_eq!(t.server_admin("app", &a.name), Some("maint"));
    run(&disable, &[]).success().recap_is(lb, "ok=1 changed=0");
    run(&enable, &[]).success();

    // drain: true waits for the sessions to reach 0: only `a` takes new requests, a slow one is
    // held on it, and the task returns once it has finished.
    for o in others {
        run(&format!("        host: {}\n        state: drain\n", o.name), &[]).success();
    }
    let addr = t.lb_addr();
    let held = std::thread::spawn(move || load::request(addr, "/cgi-bin/slow?5", Duration::from_secs(30)));
    std::thread::sleep(Duration::from_millis(1000));
    let began = Instant::now();
    let drained = run(
        &format!("        host: {}\n        state: disabled\n        drain: true\n        wait_interval: 1\n        wait_retries: 30\n", a.name),
        &["-v"],
    )
    .success();
    let waited = began.elapsed();
    let answer = held.join().unwrap();
    assert!(matches!(&answer, Ok((200, body)) if body.contains(&a.name)), "the held request: {answer:?}");
    let line = drained.stdout.lines().find(|l| l.contains("drain_seconds")).unwrap_or_default();
    eprintln!("[e2e_discovery] drain with a held request: {line}");
    assert!(line.contains("\"sessions\": 1"), "the held request's session: {}", drained.stdout);
    assert!(waited >= Duration::from_secs(2), "the drain did not wait for the held request ({waited:?})");
    assert_eq!(t.server_admin("app", &a.name), Some("maint"));
    for h in apps {
        run(&format!("        host: {}\n        state: enabled\n", h.name), &[]).success();
        assert_eq!(t.server_admin("app", &h.name), Some("ready"));
    }

    // Failures: one clear line, exit 2.
    let unknown_backend = play(
        t,
        "haproxy.yml",
        &task(&format!("        host: {}\n        state: drain\n", a.name)).replace("backend: app", "backend: nope"),
        &inv,
        &[],
    )
    .code(2);
    assert!(
        unknown_backend.stdout.contains("HAProxy has no backend 'nope' (its backends with servers: app)"),
        "{unknown_backend}"
    );
    let unknown_server =
        run("        host: nope\n        state: drain\n        fail_on_not_found: true\n", &[]).code(2);
    assert!(unknown_server.stdout.contains("The specified backend 'app/nope' was not found!"), "{unknown_server}");
    let no_socket = play(
        t,
        "haproxy.yml",
        &task(&format!("        host: {}\n        state: drain\n", a.name))
            .replace("/run/haproxy/admin.sock", "/run/haproxy/nope.sock"),
        &inv,
        &[],
    )
    .code(2);
    assert!(
        no_socket
            .stdout
            .contains(&format!("cannot reach HAProxy's runtime API: {lb}: no socket at /run/haproxy/nope.sock")),
        "{no_socket}"
    );
    timed("4: haproxy module", step);
}

/// Acceptance 5: the etcd3 module (on the registry host, through its connection to its loopback)
/// and the lookup (through the registry host's connection from a play on another host).
fn etcd3_module_and_lookup(t: &Topology, apps: &[LabHost]) {
    let step = Instant::now();
    let inv = t.inventory("etcd", apps);
    let reg = &t.registry.name;
    let put = |value: &str, extra: &[&str]| {
        let text = format!(
            "- hosts: registry\n  gather_facts: false\n  tasks:\n    - name: etcd3\n      community.general.etcd3:\n        \
             key: /test/greeting\n        value: '{value}'\n        state: present\n        host: 127.0.0.1\n      register: r\n    \
             - debug: var=r.old_value\n"
        );
        play(t, "etcd.yml", &text, &inv, extra)
    };
    put("hello", &[]).success().recap_is(reg, "ok=2 changed=1").stdout_has("\"r.old_value\": \"None\"");
    put("hello", &[]).success().recap_is(reg, "ok=2 changed=0").stdout_has("\"r.old_value\": \"hello\"");
    let dry = put("bonjour", &["--check", "--diff"]).success().recap_is(reg, "ok=2 changed=1");
    assert!(dry.stdout.contains("-hello") && dry.stdout.contains("+bonjour"), "{}", dry.stdout);
    assert_eq!(
        t.etcd_entries("/test/greeting"),
        [("/test/greeting".to_string(), "hello".to_string())],
        "check mode wrote"
    );
    put("bonjour", &[]).success().recap_is(reg, "ok=2 changed=1").stdout_has("\"r.old_value\": \"hello\"");
    assert_eq!(t.etcd_entries("/test/greeting")[0].1, "bonjour");

    // The lookup, from a play on the LB host, through the registry host's connection.
    let lookup = "- hosts: lb\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ query('community.general.etcd3', \
                  '/services/app/', prefix=True, host=groups['registry'][0]) | map(attribute='key') | list }}\"\n    - debug:\n        \
                  msg: \"{{ lookup('community.general.etcd3', '/test/greeting', host=groups['registry'][0]).value }}\"\n";
    let read = play(t, "lookup.yml", lookup, &inv, &[]).success();
    for h in apps {
        assert!(read.stdout.contains(&format!("\"/services/app/{}\"", h.name)), "{}", read.stdout);
    }
    assert!(read.stdout.contains("\"msg\": \"bonjour\""), "{}", read.stdout);

    let delete = |extra: &[&str]| {
        let text = "- hosts: registry\n  gather_facts: false\n  tasks:\n    - community.general.etcd3:\n        \
                    key: /test/greeting\n        value: ''\n        state: absent\n        host: 127.0.0.1\n";
        play(t, "etcd-delete.yml", text, &inv, extra)
    };
    delete(&["--check"]).success().recap_is(reg, "ok=1 changed=1");
    assert_eq!(t.etcd_entries("/test/greeting").len(), 1, "check mode deleted");
    delete(&[]).success().recap_is(reg, "ok=1 changed=1");
    delete(&[]).success().recap_is(reg, "ok=1 changed=0");
    assert!(t.etcd_entries("/test/greeting").is_empty());

    // etcd stopped: exit 2, one line naming the host and the address.
    t.lab.exec(reg, "systemctl stop etcd").ok();
    let down = put("hello", &[]).code(2);
    t.lab.exec(reg, "systemctl start etcd").ok();
    let line =
        down.stdout.lines().find(|l| l.contains("Cannot connect to etcd cluster")).unwrap_or_default().to_string();
    assert!(line.contains(&format!("{reg}: nothing accepts connections at 127.0.0.1:2379")), "{down}");
    let lookup_down = {
        t.lab.exec(reg, "systemctl stop etcd").ok();
        let out = play(t, "lookup.yml", lookup, &inv, &[]);
        t.lab.exec(reg, "systemctl start etcd").ok();
        out.code(2)
    };
    assert!(
        lookup_down.stdout.contains("Cannot connect to etcd cluster") && lookup_down.stdout.contains("127.0.0.1:2379"),
        "{lookup_down}"
    );
    timed("5: etcd3 module and lookup", step);
}

/// Acceptance 6.
fn nothing_trapped_nothing_exposed(t: &Topology) {
    let calls = t.trapped_calls();
    assert!(calls.is_empty(), "trapped programs ran on the hosts: {calls:#?}");
    // etcd listens on the registry's loopback only (client 2379 = 0x094B, peer 2380 = 0x094C).
    let listeners = |host: &str| -> Vec<String> {
        let out = t.lab.exec(host, "awk '$4 == \"0A\" {print $2}' /proc/net/tcp /proc/net/tcp6");
        out.ok().lines().map(str::to_string).collect()
    };
    let reg = listeners(&t.registry.name);
    let etcd: Vec<&String> = reg.iter().filter(|l| l.ends_with(":094B") || l.ends_with(":094C")).collect();
    assert!(!etcd.is_empty(), "etcd is not listening: {reg:?}");
    assert!(etcd.iter().all(|l| l.starts_with("0100007F:")), "etcd listens beyond the loopback: {reg:?}");
    let from_here = std::net::TcpStream::connect_timeout(
        &format!("{}:2379", t.registry.ip).parse().unwrap(),
        Duration::from_secs(3),
    );
    assert!(from_here.is_err(), "etcd answers on the registry's lab address");
    // The LB listens on :80 and sshd only beyond its loopback (Docker's DNS and containerd are
    // there); the admin socket is a Unix socket for root and the haproxy group.
    let lb: Vec<String> = listeners(&t.lb.name)
        .into_iter()
        .filter(|l| !(l.ends_with(":0050") || l.ends_with(":0016") || l.get(6..8) == Some("7F")))
        .collect();
    assert!(lb.is_empty(), "the LB listens on more than :80 and :22: {lb:?}");
    let socket = t.lab.exec(&t.lb.name, "stat -c '%F %a %U %G' /run/haproxy/admin.sock").ok().trim().to_string();
    assert_eq!(socket, "socket 660 root haproxy");
}
