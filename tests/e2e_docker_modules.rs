//! End-to-end test of the Docker modules other than docker_container on a lab host over SSH: the
//! API calls (bollard's and the verbatim JSON ones) travel through the connection's bridge to the
//! host's /var/run/docker.sock. An image archive copied to the host is loaded (check mode first), an image is built
//! from a context directory that exists only on the controller, a volume and a network are made;
//! the second run changes nothing. Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use common::{unindent, Project};
use lab::Lab;

#[test]
fn docker_modules_converge_over_ssh() {
    let Some(lab) = Lab::start(1) else { return };
    let h = lab.hosts()[0].name.clone();
    let install = lab.exec(
        &h,
        "apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null 2>&1 \
         && systemctl is-active docker",
    );
    assert_eq!(install.code, 0, "installing docker.io on the lab host failed:\n{install}");

    let p = Project::new();
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    // The app image as a `docker save` archive on the controller (copied to the host by the play),
    // and a build context only the controller has.
    let tag = format!("orc-t-e2edm-{}", std::process::id());
    common::app_image_archive(&tag, &p.join("files/app.tar"));
    std::fs::create_dir_all(p.join("files/appctx")).unwrap();

    let site = unindent(
        r#"
        - hosts: lab
          gather_facts: false
          tasks:
            - docker_host_info: {volumes: true}
              register: info
            - assert:
                that: [info.can_talk_to_docker, info.host_info.ServerVersion | length > 0]
            - docker_image: {name: "orc-app:1", source: load, load_path: /root/app.tar}
            - docker_image: {name: orc-built, tag: "1", source: build, build: {path: appctx}}
              register: built
            - assert:
                that: built.image.Config.Labels.built == "on-the-host"
              when: built.changed and not ansible_check_mode
            - docker_volume: {name: orc-e2e-data, labels: {tier: db}}
            - docker_network: {name: orc-e2e-net, ipam_config: [{subnet: 10.77.0.0/24}]}
            - docker_container_info: {name: nothing-here}
              register: ci
            - assert: {that: [not ci.exists]}
        "#,
    );
    // The archive holds the app image under this run's tag: name it so in the play.
    let site = site.replace("orc-app:1", &format!("{tag}:1"));
    std::fs::write(p.join("site.yaml"), &site).unwrap();
    std::fs::write(p.join("files/appctx/Dockerfile"), format!("FROM {tag}:1\nLABEL built=on-the-host\n")).unwrap();
    let run = |flags: &[&str]| p.play("site.yaml").inventory(lab.inventory_path()).args(flags).env("HOME", &home).run();

    // The archive goes to the host first (check mode of site.yaml fails on a missing archive,
    // as community.docker does).
    std::fs::write(
        p.join("prep.yaml"),
        "- hosts: lab\n  gather_facts: false\n  tasks:\n    - copy: {src: app.tar, dest: /root/app.tar}\n",
    )
    .unwrap();
    p.play("prep.yaml").inventory(lab.inventory_path()).env("HOME", &home).run().success();
    run(&["--check"]).success();
    assert_eq!(
        lab.exec(&h, "docker volume ls -q | grep -c orc-e2e-data").stdout.trim(),
        "0",
        "check mode made the volume"
    );
    let first = run(&[]).success();
    assert_eq!(first.recap(&h).changed, 4, "{first}");
    let second = run(&[]).success();
    assert_eq!(second.recap(&h).changed, 0, "{second}");
    let label = lab.exec(&h, "docker image inspect -f '{{.Config.Labels.built}}' orc-built:1");
    assert_eq!(label.stdout.trim(), "on-the-host", "{label}");
    let subnet = lab.exec(&h, "docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' orc-e2e-net");
    assert_eq!(subnet.stdout.trim(), "10.77.0.0/24", "{subnet}");
}
