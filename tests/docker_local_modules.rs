//! The community.docker modules other than docker_container, against this machine's dockerd
//! over the local connection: first run changes, second run is idempotent, check mode changes
//! nothing, a wrong argument or a missing object fails clearly (exit 2). Every test names its
//! Docker objects `orc-t-dm-<test>-<pid>` and removes them at the end.

mod common;

use std::process::Command;

use common::registry::{Registry, REG_PASSWORD, REG_USER};
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
    let unreachable = play(
        "- docker_host_info: {docker_host: \"unix:///nonexistent/docker.sock\"}\n  register: r\n  ignore_errors: true\n\
         - assert: {that: [r.failed, not r.can_talk_to_docker, \"'is dockerd running' in r.msg\"]}\n",
    );
    run(&unreachable, &[]).success().recap_is("localhost", "ok=2 ignored=1");
    play("- docker_host_info:\n    docker_host: tcp://127.0.0.1:2375\n")
        .play("site.yaml")
        .run()
        .code(2)
        .stdout_has("never talks to dockerd over TCP");
}

/// Runs `tests/lab/app-image.sh ARGS` (imports or archives the tiny app image).
fn app_image(args: &[&str]) {
    let st = Command::new("bash").arg(common::repo("tests/lab/app-image.sh")).args(args).status().unwrap();
    assert!(st.success(), "app-image.sh {args:?} failed");
}

/// Imports an empty image `name` carrying `label` (`key=value`): enough for `docker create`.
fn empty_image(name: &str, label: &str) {
    let empty = tempfile::NamedTempFile::new().unwrap();
    let st = Command::new("tar").args(["cf"]).arg(empty.path()).args(["--files-from", "/dev/null"]).status().unwrap();
    assert!(st.success());
    docker(&["import", "--change", &format!("LABEL {label}"), empty.path().to_str().unwrap(), name]).unwrap();
}

#[test]
fn image_load_build_tag_local_absent() {
    let base = uniq("img-base");
    let arch = uniq("img-arch");
    let built = uniq("img-built");
    let re = uniq("img-re");
    let _cleanup = Cleanup(
        [format!("{base}:1"), format!("{arch}:2"), format!("{built}:v1"), format!("{re}:v9")]
            .into_iter()
            .map(|i| vec!["rmi".into(), "-f".into(), i])
            .collect(),
    );
    app_image(&["import", "1", &format!("{base}:1")]);
    let p = play(&format!(
        r#"
        - docker_image:
            name: "{arch}:2"
            source: load
            load_path: "{{{{ playbook_dir }}}}/arch.tar"
          register: l
        - community.docker.docker_image:
            name: "{built}"
            tag: v1
            source: build
            build:
              path: "{{{{ playbook_dir }}}}/ctx"
              args: {{V: "7"}}
              labels: {{orc.test: "yes"}}
            repository: "{re}:v9"
          register: b
        - docker_image:
            name: "{base}:1"
            source: local
          register: loc
        - assert:
            that:
              - loc.image.RepoTags == ["{base}:1"]
              - loc.actions == []
        "#
    ));
    std::fs::create_dir_all(p.join("ctx")).unwrap();
    std::fs::write(p.join("ctx/Dockerfile"), format!("FROM {base}:1\nARG V\nRUN echo $V > /www/v\n")).unwrap();
    app_image(&["archive", "2", &format!("{arch}:2"), p.join("arch.tar").to_str().unwrap()]);
    docker(&["rmi", &format!("{arch}:2")]).unwrap();

    run(&p, &["--check"]).success().recap_is("localhost", "ok=4 changed=2");
    assert!(docker(&["image", "inspect", &format!("{arch}:2")]).is_none(), "check mode loaded the image");
    assert!(docker(&["image", "inspect", &format!("{built}:v1")]).is_none(), "check mode built the image");
    run(&p, &[]).success().recap_is("localhost", "ok=4 changed=2");
    let label = docker(&["image", "inspect", "-f", "{{index .Config.Labels \"orc.test\"}}", &format!("{re}:v9")]);
    assert_eq!(label.as_deref(), Some("yes"));
    run(&p, &[]).success().recap_is("localhost", "ok=4 changed=0");

    // state: absent removes, then is idempotent; check mode keeps the image.
    let absent = play(&format!("- docker_image: {{name: \"{re}\", tag: v9, state: absent}}\n"));
    run(&absent, &["--check"]).success().recap_is("localhost", "ok=1 changed=1");
    assert!(docker(&["image", "inspect", &format!("{re}:v9")]).is_some());
    run(&absent, &[]).success().recap_is("localhost", "ok=1 changed=1");
    assert!(docker(&["image", "inspect", &format!("{re}:v9")]).is_none());
    run(&absent, &[]).success().recap_is("localhost", "ok=1 changed=0");

    // Clear errors: a missing archive, a missing local image, a missing build context, bad args.
    let missing =
        play(&format!("- docker_image: {{name: \"{arch}:3\", source: load, load_path: /nonexistent/{arch}.tar}}\n"));
    run(&missing, &[]).code(2).stdout_has("does not exist");
    run(&play(&format!("- docker_image: {{name: \"{arch}:9\", source: local}}\n")), &[])
        .code(2)
        .stdout_has(&format!("Cannot find the image {arch}:9 locally."));
    run(
        &play(&format!("- docker_image: {{name: \"{arch}:9\", source: build, build: {{path: /nonexistent/ctx}}}}\n")),
        &[],
    )
    .code(2)
    .stdout_has("Requested build path /nonexistent/ctx could not be found");
    run(&play("- docker_image: {name: x, source: fetch}\n"), &[]).code(3).stderr_has("source");
    run(&play("- docker_image: {name: x}\n"), &[]).code(3).stderr_has("missing: source");
}

#[test]
fn network_create_connect_recreate_remove() {
    let net = uniq("net");
    let img = uniq("net-img");
    let ctr = uniq("net-ctr");
    let _cleanup = Cleanup(vec![
        vec!["rm".into(), "-f".into(), ctr.clone()],
        vec!["network".into(), "rm".into(), net.clone()],
        vec!["rmi".into(), "-f".into(), format!("{img}:1")],
    ]);
    app_image(&["import", "1", &format!("{img}:1")]);
    docker(&["run", "-d", "--name", &ctr, "--network", "none", &format!("{img}:1")]).unwrap();
    docker(&["network", "disconnect", "none", &ctr]).unwrap();
    let subnet = format!("10.213.{}.0/24", std::process::id() % 250);
    let task = |label: &str| {
        play(&format!(
            r#"
            - docker_network:
                name: "{net}"
                ipam_config:
                  - subnet: "{subnet}"
                labels:
                  tier: "{label}"
                connected: ["{ctr}"]
              register: n
            - assert:
                that:
                  - n.network.Name == "{net}"
                  - n.network.IPAM.Config[0].Subnet == "{subnet}"
              when: not ansible_check_mode
            "#
        ))
    };
    let p = task("a");
    run(&p, &["--check"]).success().recap_is("localhost", "ok=1 changed=1 skipped=1");
    assert!(docker(&["network", "inspect", &net]).is_none(), "check mode created the network");
    run(&p, &[]).success().recap_is("localhost", "ok=2 changed=1");
    let attached = || docker(&["network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", &net]);
    assert_eq!(attached().as_deref(), Some(ctr.as_str()));
    run(&p, &[]).success().recap_is("localhost", "ok=2 changed=0");

    // A label change recreates the network and reattaches the container; --check leaves it.
    let p2 = task("b");
    let id_before = docker(&["network", "inspect", "-f", "{{.Id}}", &net]).unwrap();
    run(&p2, &["--check", "--diff"]).success().stdout_has("tier");
    assert_eq!(docker(&["network", "inspect", "-f", "{{.Id}}", &net]).unwrap(), id_before);
    run(&p2, &[]).success().recap_is("localhost", "ok=2 changed=1");
    assert_ne!(docker(&["network", "inspect", "-f", "{{.Id}}", &net]).unwrap(), id_before);
    assert_eq!(docker(&["network", "inspect", "-f", "{{index .Labels \"tier\"}}", &net]).as_deref(), Some("b"));
    assert_eq!(attached().as_deref(), Some(ctr.as_str()));

    let absent = play(&format!("- docker_network: {{name: \"{net}\", state: absent}}\n"));
    run(&absent, &[]).success().recap_is("localhost", "ok=1 changed=1");
    assert!(docker(&["network", "inspect", &net]).is_none());
    run(&absent, &[]).success().recap_is("localhost", "ok=1 changed=0");

    run(&play("- docker_network: {name: x, ipam_config: [{subnet: 10.0.0.0/40}]}\n"), &[])
        .code(3)
        .stderr_has("is not a valid CIDR");
    let bad_gateway =
        format!("- docker_network: {{name: \"{net}\", ipam_config: [{{subnet: \"{subnet}\", gateway: 192.0.2.1}}]}}\n");
    run(&play(&bad_gateway), &[]).code(2).stdout_has(&format!("Error creating network {net}"));
    assert!(docker(&["network", "inspect", &net]).is_none());
}

#[test]
fn volume_create_recreate_remove() {
    let vol = uniq("vol");
    let _cleanup = Cleanup(vec![vec!["volume".into(), "rm".into(), "-f".into(), vol.clone()]]);
    let task = |label: &str, recreate: &str| {
        play(&format!(
            r#"
            - docker_volume:
                name: "{vol}"
                labels: {{tier: "{label}"}}
                recreate: {recreate}
              register: v
            - assert:
                that: v.volume.Name == "{vol}" and v.volume.Driver == "local"
              when: not ansible_check_mode
            "#
        ))
    };
    let p = task("a", "never");
    run(&p, &["--check"]).success().recap_is("localhost", "ok=1 changed=1 skipped=1");
    assert!(docker(&["volume", "inspect", &vol]).is_none(), "check mode created the volume");
    run(&p, &[]).success().recap_is("localhost", "ok=2 changed=1");
    run(&p, &[]).success().recap_is("localhost", "ok=2 changed=0");
    let label = || docker(&["volume", "inspect", "-f", "{{index .Labels \"tier\"}}", &vol]);
    // A different label: left alone with recreate: never, recreated with options-changed.
    run(&task("b", "never"), &[]).success().recap_is("localhost", "ok=2 changed=0");
    assert_eq!(label().as_deref(), Some("a"));
    run(&task("b", "options-changed"), &["--check", "--diff"]).success().stdout_has("labels.tier");
    assert_eq!(label().as_deref(), Some("a"));
    run(&task("b", "options-changed"), &[]).success().recap_is("localhost", "ok=2 changed=1");
    assert_eq!(label().as_deref(), Some("b"));
    run(&task("b", "options-changed"), &[]).success().recap_is("localhost", "ok=2 changed=0");

    // community.docker's check-mode returns: the actions and the names of the differences.
    let preview = play(&format!(
        r#"
        - docker_volume: {{name: "{vol}", labels: {{tier: z}}, recreate: options-changed}}
          check_mode: true
          register: v
        - assert:
            that:
              - v.changed
              - v.diff.differences == ["labels.tier"]
              - v.actions == ["Removed volume {vol}", "Created volume {vol} with driver local"]
        "#
    ));
    run(&preview, &[]).success().recap_is("localhost", "ok=2 changed=1");
    assert_eq!(label().as_deref(), Some("b"));
    let absent = play(&format!("- docker_volume: {{name: \"{vol}\", state: absent}}\n"));
    run(&absent, &["--check"]).success().recap_is("localhost", "ok=1 changed=1");
    assert!(docker(&["volume", "inspect", &vol]).is_some());
    run(&absent, &[]).success().recap_is("localhost", "ok=1 changed=1");
    run(&absent, &[]).success().recap_is("localhost", "ok=1 changed=0");
    assert!(docker(&["volume", "inspect", &vol]).is_none());

    run(&play("- docker_volume: {name: x, recreate: sometimes}\n"), &[]).code(3).stderr_has("recreate");
    run(&play("- docker_volume: {name: x, labels: {a: yes}}\n"), &[]).code(3).stderr_has("'a' of labels");
    // A volume in use cannot be removed: the daemon's reason, exit 2.
    run(&p, &[]).success();
    let img = format!("{}:1", uniq("vol-img"));
    let ctr = uniq("vol-ctr");
    let _more =
        Cleanup(vec![vec!["rm".into(), "-f".into(), ctr.clone()], vec!["rmi".into(), "-f".into(), img.clone()]]);
    empty_image(&img, "orc.test=vol");
    docker(&["create", "--name", &ctr, "-v", &format!("{vol}:/data"), &img, "/nothing"]).unwrap();
    run(&absent, &[]).code(2).stdout_has("volume is in use");
    docker(&["rm", "-f", &ctr]).unwrap();
    run(&absent, &[]).success().recap_is("localhost", "ok=1 changed=1");
}

#[test]
fn container_info_reports_existence() {
    let img = uniq("ci-img");
    let ctr = uniq("ci-ctr");
    let _cleanup =
        Cleanup(vec![vec!["rm".into(), "-f".into(), ctr.clone()], vec!["rmi".into(), "-f".into(), format!("{img}:1")]]);
    app_image(&["import", "1", &format!("{img}:1")]);
    docker(&["create", "--name", &ctr, &format!("{img}:1")]).unwrap();
    let p = play(&format!(
        r#"
        - community.docker.docker_container_info: {{name: "{ctr}"}}
          register: c
        - docker_container_info: {{name: "{ctr}-missing"}}
          register: m
        - assert:
            that:
              - c.exists and not c.changed
              - c.container.Name == "/{ctr}"
              - c.container.Config.Image == "{img}:1"
              - not m.exists
              - m.container is none
        "#
    ));
    run(&p, &[]).success().recap_is("localhost", "ok=3 changed=0");
    run(&p, &["--check"]).success().recap_is("localhost", "ok=3 changed=0");
    run(&play("- docker_container_info: {}\n"), &[]).code(3).stderr_has("name");
}

#[test]
fn prune_removes_only_what_the_filters_select() {
    let tag = uniq("prune");
    let ctr = uniq("prune-ctr");
    let img = format!("{}:1", uniq("prune-img"));
    let vol = uniq("prune-vol");
    let net = uniq("prune-net");
    let _cleanup = Cleanup(vec![
        vec!["rm".into(), "-f".into(), ctr.clone()],
        vec!["volume".into(), "rm".into(), "-f".into(), vol.clone()],
        vec!["network".into(), "rm".into(), net.clone()],
        vec!["rmi".into(), "-f".into(), img.clone()],
    ]);
    let label = format!("orc.test={tag}");
    empty_image(&img, &label);
    docker(&["create", "--label", &label, "--name", &ctr, &img, "/nothing"]).unwrap();
    docker(&["volume", "create", "--label", &label, &vol]).unwrap();
    docker(&["network", "create", "--label", &label, &net]).unwrap();
    let p = play(&format!(
        r#"
        - docker_prune:
            containers: true
            containers_filters: {{label: "{label}"}}
            networks: true
            networks_filters: {{label: "{label}"}}
            volumes: true
            volumes_filters: {{label: "{label}"}}
          register: r
        - docker_prune:
            images: true
            images_filters: {{label: "{label}", dangling: false}}
          register: i
        - assert:
            that:
              - r.containers | length == 1
              - r.networks == ["{net}"]
              - r.volumes == ["{vol}"]
              - r.containers_space_reclaimed is number
              - i.images | selectattr('Untagged', 'defined') | map(attribute='Untagged') | list == ["{img}"]
          when: not ansible_check_mode
        "#
    ));
    run(&p, &["--check"]).success().recap_is("localhost", "ok=0 skipped=3");
    assert!(docker(&["container", "inspect", &ctr]).is_some(), "check mode pruned");
    run(&p, &[]).success().recap_is("localhost", "ok=3 changed=2");
    assert!(docker(&["container", "inspect", &ctr]).is_none());
    assert!(docker(&["volume", "inspect", &vol]).is_none());
    assert!(docker(&["network", "inspect", &net]).is_none());
    assert!(docker(&["image", "inspect", &img]).is_none());
    let again = play(&format!(
        "- docker_prune: {{containers: true, containers_filters: {{label: \"{label}\"}}, volumes: true, volumes_filters: {{label: \"{label}\"}}}}\n"
    ));
    run(&again, &[]).success().recap_is("localhost", "ok=1 changed=0");
    run(&play("- docker_prune: {builder_cache: true, builder_cache_keep_storage: lots}\n"), &[])
        .code(3)
        .stderr_has("builder_cache_keep_storage");
}

#[test]
fn login_push_logout_against_a_private_registry() {
    let reg = Registry::start();
    let home = tempfile::tempdir().unwrap();
    let nohome = tempfile::tempdir().unwrap();
    let registry = format!("127.0.0.1:{}", reg.port);
    let image = format!("{registry}/{}", uniq("push"));
    let _cleanup = Cleanup(vec![vec!["rmi".into(), "-f".into(), format!("{image}:1")]]);
    app_image(&["import", "1", &format!("{image}:1")]);
    let login = |password: &str| {
        play(&format!(
            "- docker_login: {{registry_url: \"{registry}\", username: {REG_USER}, password: \"{password}\"}}\n  register: l\n"
        ))
    };
    let with_home =
        |p: &Project, args: &[&str], home: &std::path::Path| p.play("site.yaml").args(args).env("HOME", home).run();
    let config = home.path().join(".docker/config.json");

    // A wrong password fails with the registry's verdict and writes nothing.
    with_home(&login("wrong"), &[], home.path())
        .code(2)
        .stdout_has(&format!("Logging into {registry} for user orc failed"));
    assert!(!config.exists());
    with_home(&login(REG_PASSWORD), &["--check"], home.path()).success().recap_is("localhost", "ok=1 changed=1");
    assert!(!config.exists(), "check mode wrote the config");
    with_home(&login(REG_PASSWORD), &[], home.path()).success().recap_is("localhost", "ok=1 changed=1");
    let text = std::fs::read_to_string(&config).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let expected = base64_auth(REG_USER, REG_PASSWORD);
    assert_eq!(json["auths"][&registry]["auth"], expected.as_str(), "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&config).unwrap().permissions().mode() & 0o777, 0o600);
    with_home(&login(REG_PASSWORD), &[], home.path()).success().recap_is("localhost", "ok=1 changed=0");

    // Push with the stored credentials: the first push uploads, the second finds the layers there.
    let push = play(&format!(
        "- docker_image: {{name: \"{image}:1\", source: local, push: true}}\n  register: p\n- assert: {{that: p.image.push_status is defined}}\n  when: not ansible_check_mode\n"
    ));
    with_home(&push, &["--check"], home.path()).success().recap_is("localhost", "ok=1 changed=1 skipped=1");
    with_home(&push, &[], home.path()).success().recap_is("localhost", "ok=2 changed=1");
    with_home(&push, &[], home.path()).success().recap_is("localhost", "ok=2 changed=0");
    // Without credentials the registry refuses.
    with_home(&push, &[], nohome.path()).code(2).stdout_has(&format!("Error pushing image {image}:1"));

    // Logout removes the entry, keeps the rest of the file, and is idempotent.
    let mut extra = json.clone();
    extra["psFormat"] = serde_json::json!("table {{.ID}}");
    std::fs::write(&config, extra.to_string()).unwrap();
    let logout = play(&format!("- docker_login: {{registry_url: \"{registry}\", state: absent}}\n"));
    with_home(&logout, &["--check"], home.path()).success().recap_is("localhost", "ok=1 changed=1");
    with_home(&logout, &[], home.path()).success().recap_is("localhost", "ok=1 changed=1");
    let after: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    assert_eq!(after, serde_json::json!({"auths": {}, "psFormat": "table {{.ID}}"}));
    with_home(&logout, &[], home.path()).success().recap_is("localhost", "ok=1 changed=0");

    run(&play("- docker_login: {registry_url: x, username: u}\n"), &[]).code(3).stderr_has("missing: password");
}

/// base64("user:password"), as config.json stores it.
fn base64_auth(user: &str, password: &str) -> String {
    let out = Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut out = out;
    out.stdin.take().unwrap().write_all(format!("{user}:{password}").as_bytes()).unwrap();
    String::from_utf8(out.wait_with_output().unwrap().stdout).unwrap()
}

#[test]
fn image_build_context_from_the_controller_and_pull_errors() {
    let base = uniq("ctl-base");
    let built = uniq("ctl-built");
    let _cleanup = Cleanup(vec![
        vec!["rmi".into(), "-f".into(), format!("{built}:latest")],
        vec!["rmi".into(), "-f".into(), format!("{base}:1")],
    ]);
    app_image(&["import", "1", &format!("{base}:1")]);
    // `appctx` is not a directory on the host (relative to orc's working directory): the
    // controller's files/appctx is sent.
    let p = play(&format!(
        "- docker_image: {{name: \"{built}\", source: build, build: {{path: appctx, dockerfile: Containerfile}}}}\n  register: b\n\
         - assert: {{that: ['b.image.Config.Labels.built == \"from-controller\"']}}\n  when: not ansible_check_mode\n"
    ));
    std::fs::create_dir_all(p.join("files/appctx")).unwrap();
    std::fs::write(p.join("files/appctx/Containerfile"), format!("FROM {base}:1\nLABEL built=from-controller\n"))
        .unwrap();
    run(&p, &["--check"]).success().recap_is("localhost", "ok=1 changed=1 skipped=1");
    run(&p, &[]).success().recap_is("localhost", "ok=2 changed=1");
    run(&p, &[]).success().recap_is("localhost", "ok=2 changed=0");
    // force_source rebuilds; the cached build gives the same ID, so nothing changed.
    let force = play(&format!(
        "- docker_image: {{name: \"{built}\", source: build, force_source: true, build: {{path: appctx, dockerfile: Containerfile}}}}\n"
    ));
    std::fs::create_dir_all(force.join("files/appctx")).unwrap();
    std::fs::write(force.join("files/appctx/Containerfile"), format!("FROM {base}:1\nLABEL built=from-controller\n"))
        .unwrap();
    run(&force, &[]).success().recap_is("localhost", "ok=1 changed=0");
    // A Dockerfile error is the build's message, exit 2.
    std::fs::write(force.join("files/appctx/Containerfile"), "FROM scratch\nRUN /nothing-here\n").unwrap();
    run(&force, &[]).code(2).stdout_has(&format!("Error building {built}"));
    // A pull from a registry that does not answer fails with the daemon's reason.
    run(&play("- docker_image: {name: \"127.0.0.1:1/orc-t-nothing\", source: pull}\n"), &[])
        .code(2)
        .stdout_has("Error pulling image 127.0.0.1:1/orc-t-nothing:latest");
}
