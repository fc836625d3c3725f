//! docker_container against this machine's dockerd over the local connection: create,
//! idempotence, recreate on a new image, check/diff, health waits, failures. Every test names
//! its objects `orc-t-dc-<test>-<pid>` and removes them, images included, when it ends.

mod common;

use std::process::Command;

use common::Project;
use serde_json::Value;

/// The Docker objects one test creates, removed when it ends (even when it fails).
struct Objects {
    prefix: String,
    images: Vec<String>,
    networks: Vec<String>,
}

impl Objects {
    fn new(test: &str) -> Objects {
        Objects { prefix: format!("orc-t-dc-{test}-{}", std::process::id()), images: vec![], networks: vec![] }
    }

    /// Builds the app image serving "app version N" as `<prefix>:N` and returns its name.
    fn image(&mut self, version: u32) -> String {
        let name = format!("{}:{version}", self.prefix);
        let st = Command::new("bash")
            .arg(common::repo("tests/lab/app-image.sh"))
            .args(["import", &version.to_string(), &name])
            .status()
            .unwrap();
        assert!(st.success(), "app-image.sh import failed");
        self.images.push(name.clone());
        name
    }

    /// Creates a bridge network `<prefix>-net`.
    fn network(&mut self) -> String {
        let name = format!("{}-net", self.prefix);
        docker(&["network", "create", &name]);
        self.networks.push(name.clone());
        name
    }
}

impl Drop for Objects {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", "-v", &self.prefix]).output();
        for n in &self.networks {
            let _ = Command::new("docker").args(["network", "rm", n]).output();
        }
        for i in &self.images {
            let _ = Command::new("docker").args(["rmi", "-f", i]).output();
        }
    }
}

/// Runs the docker CLI and returns its stdout; panics on failure.
fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn inspect(name: &str) -> Option<Value> {
    let out = Command::new("docker").args(["inspect", name]).output().unwrap();
    if !out.status.success() {
        return None;
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    Some(v[0].clone())
}

/// A playbook on localhost over the local connection running one docker_container task whose
/// arguments are `args` (YAML, indented by 8), registering `r` and printing it.
fn project(args: &str) -> Project {
    let mut task = String::new();
    for line in common::unindent(args).lines() {
        task.push_str("        ");
        task.push_str(line);
        task.push('\n');
    }
    let play = format!(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - name: container\n      \
         community.docker.docker_container:\n{task}      register: r\n"
    );
    Project::new().file("site.yaml", &play)
}

const HEALTH_OK: &str = r#"["CMD", "/bin/busybox", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]"#;

#[test]
fn create_is_idempotent_and_a_new_image_recreates() {
    let mut o = Objects::new("main");
    let v1 = o.image(1);
    let v2 = o.image(2);
    let net = o.network();
    let p = project(&format!(
        r#"
        name: {name}
        image: "{{{{ image }}}}"
        env:
          APP_MODE: production
          DEBUG: "false"
        labels:
          team: web
        restart_policy: unless-stopped
        published_ports: ["127.0.0.1::8080"]
        networks:
          - name: {net}
            aliases: [web]
        healthcheck:
          test: {HEALTH_OK}
          interval: 1s
          retries: 3
        stop_timeout: 1
        state: healthy
        healthy_wait_timeout: 30
        "#,
        name = o.prefix,
    ));
    p.play("site.yaml").extra_var("image", v1.as_str()).run().success().recap_is("localhost", "ok=1 changed=1");
    let c = inspect(&o.prefix).unwrap();
    assert_eq!(c["State"]["Health"]["Status"], "healthy");
    assert!(c["Config"]["Env"].as_array().unwrap().contains(&Value::from("DEBUG=false")));
    assert_eq!(c["Config"]["Labels"]["team"], "web");
    assert_eq!(c["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped");
    assert_eq!(c["HostConfig"]["NetworkMode"], net.as_str());
    assert!(c["NetworkSettings"]["Networks"][&net]["Aliases"].as_array().unwrap().contains(&Value::from("web")));
    let port = c["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"].as_str().unwrap().to_string();
    let id1 = c["Id"].as_str().unwrap().to_string();

    // Same task again: nothing to do.
    p.play("site.yaml").extra_var("image", v1.as_str()).run().success().recap_is("localhost", "ok=1 changed=0");

    // Check + diff with another image: reports the image difference, changes nothing.
    let out = p.play("site.yaml").extra_var("image", v2.as_str()).check_diff().run().success();
    let out = out.recap_is("localhost", "ok=1 changed=1");
    let img1 = docker(&["image", "inspect", "-f", "{{.Id}}", &v1]);
    let img2 = docker(&["image", "inspect", "-f", "{{.Id}}", &v2]);
    out.stdout_line(&format!("-image: {img1}"))
        .stdout_line(&format!("+image: {img2}"))
        .stdout_line(&format!("-image_name: {v1}"))
        .stdout_line(&format!("+image_name: {v2}"))
        .stdout_lacks("env:");
    assert_eq!(inspect(&o.prefix).unwrap()["Id"], id1.as_str(), "check mode recreated the container");

    // The new image for real: recreated, serving version 2, healthy.
    p.play("site.yaml").extra_var("image", v2.as_str()).run().success().recap_is("localhost", "ok=1 changed=1");
    let c = inspect(&o.prefix).unwrap();
    assert_ne!(c["Id"], id1.as_str());
    assert_eq!(c["Config"]["Image"], v2.as_str());
    assert_eq!(c["State"]["Health"]["Status"], "healthy");
    let port2 = c["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"].as_str().unwrap().to_string();
    let body = docker(&["exec", &o.prefix, "/bin/busybox", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]);
    assert_eq!(body, "app version 2");
    assert!(!port.is_empty() && !port2.is_empty());
}

#[test]
fn states_stopped_started_absent_and_restart() {
    let mut o = Objects::new("states");
    let v1 = o.image(1);
    let task = |state: &str, extra: &str| {
        project(&format!("name: {}\nimage: {v1}\nstop_timeout: 1\nstate: {state}\n{extra}", o.prefix))
    };
    task("started", "").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    assert_eq!(inspect(&o.prefix).unwrap()["State"]["Running"], true);
    task("stopped", "").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    assert_eq!(inspect(&o.prefix).unwrap()["State"]["Running"], false);
    task("stopped", "").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=0");
    task("started", "").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    let started = inspect(&o.prefix).unwrap()["State"]["StartedAt"].clone();
    task("started", "restart: true").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    assert_ne!(inspect(&o.prefix).unwrap()["State"]["StartedAt"], started);
    task("started", "paused: true").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    assert_eq!(inspect(&o.prefix).unwrap()["State"]["Paused"], true);
    task("started", "paused: true").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=0");
    task("absent", "").play("site.yaml").check_diff().run().success().recap_is("localhost", "ok=1 changed=1");
    assert!(inspect(&o.prefix).is_some(), "check mode removed the container");
    task("absent", "").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    assert!(inspect(&o.prefix).is_none());
    task("absent", "").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=0");
}

#[test]
fn a_failing_health_check_fails_with_its_output() {
    let mut o = Objects::new("unhealthy");
    let v1 = o.image(1);
    let p = project(&format!(
        r#"
        name: {name}
        image: {v1}
        healthcheck:
          test: ["CMD", "/bin/busybox", "wget", "-q", "-O-", "http://127.0.0.1:9/nothing-here"]
          interval: 1s
          retries: 1
        stop_timeout: 1
        state: healthy
        healthy_wait_timeout: 10
        "#,
        name = o.prefix,
    ));
    p.play("site.yaml")
        .run()
        .code(2)
        .recap_is("localhost", "failed=1")
        .stdout_has(&format!("Timeout of 10 seconds exceeded while waiting for container \\\"{}\\\"", o.prefix))
        .stdout_has("last health check results")
        .stdout_has("wget: can't connect to remote host")
        // The container was created and started before the wait timed out: that is a change,
        // and the failed result says so (community.docker does too).
        .stdout_has("\"changed\": true");
    assert!(inspect(&o.prefix).is_some(), "the container the task created stays for inspection");
}

#[test]
fn a_wrong_image_name_is_one_clear_error() {
    let o = Objects::new("noimage");
    let image = format!("{}-missing:1", o.prefix);
    let out = project(&format!("name: {}\nimage: {image}\n", o.prefix)).play("site.yaml").run().code(2);
    let out = out.recap_is("localhost", "failed=1");
    out.stdout_has(&format!("Error pulling image {image} - "));
    assert!(inspect(&o.prefix).is_none());
}

#[test]
fn env_file_comes_from_the_host_and_latest_warns() {
    let mut o = Objects::new("envfile");
    let v1 = o.image(1);
    let latest = format!("{}:latest", o.prefix);
    docker(&["tag", &v1, &latest]);
    o.images.push(latest.clone());
    let p = project(&format!(
        "name: {}\nimage: {latest}\nenv_file: \"{{{{ playbook_dir }}}}/app.env\"\nenv:\n  B: over\n",
        o.prefix
    ));
    std::fs::write(p.join("app.env"), "# comment\nA=from-file\nB=from-file\n").unwrap();
    let out = p.play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains(&format!("[WARNING]: The image '{latest}' has no tag or uses the 'latest' tag")), "{out}");
    let env = inspect(&o.prefix).unwrap()["Config"]["Env"].clone();
    let env: Vec<&str> = env.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(env.contains(&"A=from-file") && env.contains(&"B=over"), "{env:?}");
    p.play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=0");
}

#[test]
fn arguments_are_checked_before_anything_runs() {
    let o = Objects::new("badarg");
    let out = project(&format!("name: {}\nimage: busybox:1\nbogus_option: 1\n", o.prefix)).play("site.yaml").run();
    let out = out.code(3);
    assert!(out.stdout.contains("bogus_option") || out.stderr.contains("bogus_option"), "{out}");
    let out =
        project(&format!("name: {}\nimage: x:1\nenv:\n  DEBUG: true\n", o.prefix)).play("site.yaml").run().code(2);
    out.stdout_has("Non-string value found for env option");
    assert!(inspect(&o.prefix).is_none());
}

#[test]
fn updates_and_network_changes_keep_the_container() {
    let mut o = Objects::new("update");
    let v1 = o.image(1);
    let net1 = o.network();
    let net2 = format!("{}-net2", o.prefix);
    docker(&["network", "create", &net2]);
    o.networks.push(net2.clone());
    let task = |extra: &str| {
        project(&format!("name: {}\nimage: {v1}\nstop_timeout: 1\nnetworks:\n  - name: {net1}\n{extra}", o.prefix))
    };
    task("restart_policy: always\n").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    let id = inspect(&o.prefix).unwrap()["Id"].clone();
    // restart_policy is changed in place (docker update), not by recreating.
    let out = task("restart_policy: unless-stopped\n").play("site.yaml").arg("--diff").run().success();
    out.recap_is("localhost", "ok=1 changed=1")
        .stdout_line("-restart_policy: always")
        .stdout_line("+restart_policy: unless-stopped");
    let c = inspect(&o.prefix).unwrap();
    assert_eq!(
        (c["Id"].clone(), c["HostConfig"]["RestartPolicy"]["Name"].clone()),
        (id.clone(), "unless-stopped".into())
    );
    // Another network is connected to the running container.
    // (`extra` continues the networks list first.)
    let two = format!("  - name: {net2}\n    aliases: [api]\nrestart_policy: unless-stopped\n");
    task(&two).play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    task(&two).play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=0");
    let c = inspect(&o.prefix).unwrap();
    assert_eq!(c["Id"], id);
    assert!(c["NetworkSettings"]["Networks"][&net2]["Aliases"].as_array().unwrap().contains(&Value::from("api")));
    // Dropped from the task: kept by default, disconnected with comparisons networks: strict.
    task("restart_policy: unless-stopped\n").play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=0");
    let strict = "restart_policy: unless-stopped\ncomparisons:\n  networks: strict\n";
    task(strict).play("site.yaml").run().success().recap_is("localhost", "ok=1 changed=1");
    let c = inspect(&o.prefix).unwrap();
    assert_eq!(c["Id"], id);
    assert!(c["NetworkSettings"]["Networks"].get(&net2).is_none());
}
