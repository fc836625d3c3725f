//! The community.docker modules other than docker_container, against this machine's dockerd
//! over the local connection: first run changes, second run is idempotent, check mode changes
//! nothing, a wrong argument or a missing object fails clearly (exit 2). Every test names its
//! Docker objects `orc-t-dm-<test>-<pid>` and removes them at the end.

mod common;

use std::process::Command;

use common::{unindent, Outcome, Project};

/// A unique name for a Docker object of test `what`.
fn uniq(what: &str) -> String {
    format!("orc-t-dm-{what}-{}", std::process::id())
}

/// Runs `docker ARGS` and returns its stdout (trimmed); `None` when it failed.
fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A project whose site.yaml runs `tasks` (YAML, indented any way) on localhost, connection local.
fn play(tasks: &str) -> Project {
    let mut text = unindent(
        "
        - hosts: localhost
          connection: local
          gather_facts: false
          tasks:
        ",
    );
    for line in unindent(tasks).lines() {
        if !line.is_empty() {
            text.push_str("    ");
        }
        text.push_str(line);
        text.push('\n');
    }
    Project::new().file("site.yaml", &text)
}

/// Runs the project's site.yaml with `args` and the JSON output, returning the outcome.
fn run(p: &Project, args: &[&str]) -> Outcome {
    p.play("site.yaml").args(args).run()
}

/// Removes Docker objects when the test ends, pass or fail.
struct Cleanup(Vec<Vec<String>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in &self.0 {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = docker(&args);
        }
    }
}

#[test]
fn host_info_answers_and_never_changes() {
    let p = play(
        r#"
        - docker_host_info:
            containers: true
            containers_all: true
            networks: true
            volumes: true
            images: true
            disk_usage: true
          register: h
        - assert:
            that:
              - h.can_talk_to_docker
              - not h.changed
              - h.host_info.ServerVersion | length > 0
              - h.networks | selectattr('Name', 'equalto', 'bridge') | list | length == 1
              - h.containers is sequence
              - h.images is sequence
              - h.volumes is sequence
              - h.disk_usage.LayersSize is number
        - community.docker.docker_host_info:
            networks: true
            networks_filters:
              name: bridge
            verbose_output: true
          register: v
        - assert:
            that:
              - v.networks | length >= 1
              - v.networks[0].IPAM is defined
              - v.containers is not defined
        "#,
    );
    run(&p, &[]).success().recap_is("localhost", "ok=4 changed=0");
    run(&p, &["--check"]).success().recap_is("localhost", "ok=4 changed=0");
    play("- docker_host_info:\n    containerz: true\n").play("site.yaml").run().code(3).stderr_has("containerz");
    play("- docker_host_info:\n    docker_host: tcp://127.0.0.1:2375\n")
        .play("site.yaml")
        .run()
        .code(2)
        .stdout_has("never talks to dockerd over TCP");
}
