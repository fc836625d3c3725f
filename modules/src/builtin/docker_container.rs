//! `docker_container` (community.docker.docker_container): one container, created, recreated,
//! started or stopped only when its inspected state differs from the task's, through the Engine
//! API (bollard) over the host's connection. The logic lives in `crate::docker::container`.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, Decision, ModuleCtx, ModuleError, RunResult, TypedModule};
use crate::doc::ModuleText;

/// `state`: what the container must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Exists and runs (the default).
    Started,
    /// Exists and does not run.
    Stopped,
    /// Exists; running or not is left alone.
    Present,
    /// Runs and its health check passed (or it has none).
    Healthy,
    /// Does not exist.
    Absent,
}

fn started() -> State {
    State::Started
}

/// One `networks` entry.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct NetworkArg {
    /// Network name.
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// Fixed IPv4 address on this network.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ipv4_address: Option<String>,
    /// Fixed IPv6 address on this network.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ipv6_address: Option<String>,
    /// Network-scoped aliases.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub aliases: Option<Vec<String>>,
    /// Legacy links (`container` or `container:alias`).
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub links: Option<Vec<String>>,
}

/// One `mounts` entry.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct MountArg {
    /// Path inside the container.
    #[serde(deserialize_with = "crate::args::string")]
    pub target: String,
    /// Host path (bind) or volume name (volume).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub source: Option<String>,
    /// `bind`, `volume` (default) or `tmpfs`.
    #[serde(default, deserialize_with = "crate::args::opt_string", rename = "type")]
    pub kind: Option<String>,
    /// Mount read-only.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub read_only: Option<bool>,
    /// Bind propagation (`rprivate`, `shared`...).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub propagation: Option<String>,
    /// Do not copy the image's data into a new volume.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub no_copy: Option<bool>,
    /// Size of a tmpfs mount (`64M`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub tmpfs_size: Option<String>,
    /// Octal mode of a tmpfs mount (`1777`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub tmpfs_mode: Option<String>,
}

/// The `healthcheck` dictionary.
#[derive(Debug, Clone, Default, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckArg {
    /// A command string (run with `CMD-SHELL`) or a list (`["CMD", ...]`, `["NONE"]`).
    #[serde(default)]
    pub test: Option<Value>,
    /// Treat a missing `test` as "keep the image's".
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub test_cli_compatible: bool,
    /// Time between checks (`30s`, `1m30s`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub interval: Option<String>,
    /// Time one check may take.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub timeout: Option<String>,
    /// Grace period after start during which failures do not count.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub start_period: Option<String>,
    /// Consecutive failures before `unhealthy`.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub retries: Option<u64>,
}

/// `docker_container` arguments (community.docker's names, aliases and defaults).
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerContainerArgs {
    /// Container name (or ID for an existing one).
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// Image, `repo[:tag]`, `repo@digest` or an image ID.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub image: Option<String>,
    /// What the container must be.
    #[serde(default = "started")]
    pub state: State,
    /// Command: a string (split like a shell) or a list.
    #[serde(default)]
    pub command: Option<Value>,
    /// Entrypoint (a list; a string is a comma-separated list, as Ansible reads list arguments).
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub entrypoint: Option<Vec<String>>,
    /// Environment variables; values must be strings (quote `"yes"`, `"true"`...).
    #[serde(default)]
    pub env: Option<Map<String, Value>>,
    /// `KEY=value` file on the managed host, merged under `env`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub env_file: Option<String>,
    /// `[[ip:]host_port:]container_port[/proto]` entries.
    #[serde(default, alias = "ports", deserialize_with = "crate::args::opt_list")]
    pub published_ports: Option<Vec<String>>,
    /// Ports exposed without publishing.
    #[serde(default, alias = "exposed", alias = "expose", deserialize_with = "crate::args::opt_list")]
    pub exposed_ports: Option<Vec<String>>,
    /// Publish every exposed port on a random host port.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub publish_all_ports: Option<bool>,
    /// Host IP used when a published port names none (default 0.0.0.0).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub default_host_ip: Option<String>,
    /// `host:container[:mode]`, `volume:container`, or an anonymous `container` path.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub volumes: Option<Vec<String>>,
    /// Mount specifications.
    #[serde(default)]
    pub mounts: Option<Vec<MountArg>>,
    /// Networks to connect to.
    #[serde(default)]
    pub networks: Option<Vec<NetworkArg>>,
    /// Behave like `docker run --network`: the first network replaces the default bridge.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub networks_cli_compatible: bool,
    /// `bridge`, `host`, `none`, `container:NAME` or a network name.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub network_mode: Option<String>,
    /// `no`, `on-failure`, `always` or `unless-stopped`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub restart_policy: Option<String>,
    /// Retries for `on-failure`.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub restart_retries: Option<u64>,
    /// Health check.
    #[serde(default)]
    pub healthcheck: Option<HealthcheckArg>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<Map<String, Value>>,
    /// Logging driver.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub log_driver: Option<String>,
    /// Logging driver options.
    #[serde(default, alias = "log_opt")]
    pub log_options: Option<Map<String, Value>>,
    /// User (`name`, `uid`, `uid:gid`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub user: Option<String>,
    /// Working directory.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub working_dir: Option<String>,
    /// Memory limit (`512M`, `1G`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub memory: Option<String>,
    /// Memory soft limit.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit (`unlimited` or `-1` for no limit).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub memory_swap: Option<String>,
    /// CPU limit as a number of CPUs (`0.5`).
    #[serde(default, deserialize_with = "crate::docker::container::config::opt_f64")]
    pub cpus: Option<f64>,
    /// Relative CPU weight.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub cpu_shares: Option<u64>,
    /// Container hostname.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub hostname: Option<String>,
    /// Container domain name.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub domainname: Option<String>,
    /// Extra `/etc/hosts` entries, name -> address.
    #[serde(default)]
    pub etc_hosts: Option<Map<String, Value>>,
    /// DNS servers.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub dns_servers: Option<Vec<String>>,
    /// DNS search domains.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub dns_search_domains: Option<Vec<String>>,
    /// Capabilities to add.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub capabilities: Option<Vec<String>>,
    /// Capabilities to drop.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub cap_drop: Option<Vec<String>>,
    /// Security options (`no-new-privileges`, `seccomp=...`).
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub security_opts: Option<Vec<String>>,
    /// Extended privileges.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub privileged: Option<bool>,
    /// Read-only root filesystem.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub read_only: Option<bool>,
    /// Run an init inside the container.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub init: Option<bool>,
    /// Allocate a TTY.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub tty: Option<bool>,
    /// Keep stdin open.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub interactive: Option<bool>,
    /// `false`: wait for the container to exit and return its output and `status`.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub detach: Option<bool>,
    /// With `detach: false`, remove the container once it exited.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub cleanup: bool,
    /// Remove the container when it exits (daemon side).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub auto_remove: Option<bool>,
    /// tmpfs mounts, `/path[:options]`.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub tmpfs: Option<Vec<String>>,
    /// Kernel parameters, name -> value.
    #[serde(default)]
    pub sysctls: Option<Map<String, Value>>,
    /// Shared memory size (`64M`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub shm_size: Option<String>,
    /// Signal that stops the container.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub stop_signal: Option<String>,
    /// Seconds to wait for a stop before killing.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub stop_timeout: Option<u64>,
    /// `ipc` namespace mode.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ipc_mode: Option<String>,
    /// `pid` namespace mode.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub pid_mode: Option<String>,
    /// Pause or unpause a running container (`state: started`/`healthy`).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub paused: Option<bool>,
    /// Accepted for compatibility: community.docker sends a `detach: false` container's output
    /// to the host's syslog; orc returns it in `container.Output` only.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub output_logs: Option<bool>,
    /// Per-option comparison modes (`strict`, `ignore`, `allow_more_present`, `*` for all).
    #[serde(default)]
    pub comparisons: Option<Map<String, Value>>,
    /// Always recreate.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub recreate: bool,
    /// Restart a running container.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub restart: bool,
    /// `missing` (default), `always`, `never`, or true (always) / false (missing).
    #[serde(default)]
    pub pull: Option<Value>,
    /// In check mode, claim a pull also when the image is present (`always`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub pull_check_mode_behavior: Option<String>,
    /// `recreate` (default): a container made from another image name is recreated.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub image_name_mismatch: Option<String>,
    /// `desired-image` (default) or `current-image`: which image's defaults the comparison uses.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub image_comparison: Option<String>,
    /// `ignore` (default) or `fail` when strict labels would drop the image's.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub image_label_mismatch: Option<String>,
    /// Keep anonymous volumes when removing (default true).
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub keep_volumes: bool,
    /// Kill instead of stopping.
    #[serde(default, alias = "forcekill", deserialize_with = "crate::args::bool")]
    pub force_kill: bool,
    /// Signal for `force_kill`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub kill_signal: Option<String>,
    /// Seconds `state: healthy` waits (default 300; 0 or less: no limit).
    #[serde(default, deserialize_with = "crate::docker::container::config::opt_f64")]
    pub healthy_wait_timeout: Option<f64>,
    /// Seconds to wait for a removal in progress.
    #[serde(default, deserialize_with = "crate::docker::container::config::opt_f64")]
    pub removal_wait_timeout: Option<f64>,
    /// `no_defaults` (default) or `compatibility`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub container_default_behavior: Option<String>,
    /// `correct` (default) or `compatibility`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub command_handling: Option<String>,
    /// The daemon's socket (`unix:///var/run/docker.sock`).
    #[serde(default, alias = "docker_url", deserialize_with = "crate::args::opt_string")]
    pub docker_host: Option<String>,
    /// API timeout in seconds.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub timeout: Option<u64>,
    /// Accepted for compatibility; orc negotiates the version with the daemon.
    #[serde(default, alias = "docker_api_version", deserialize_with = "crate::args::opt_string")]
    pub api_version: Option<String>,
    /// Accepted for compatibility (orc logs nothing on the host).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub debug: Option<bool>,
}

/// The `docker_container` module.
pub struct DockerContainer;

fn choice(name: &str, v: &Option<String>, valid: &[&str]) -> Result<(), ArgError> {
    match v {
        Some(s) if !valid.contains(&s.as_str()) => {
            Err(ArgError { msg: format!("value of {name} must be one of: {}, got: {s}", valid.join(", ")) })
        }
        _ => Ok(()),
    }
}

impl TypedModule for DockerContainer {
    type Args = DockerContainerArgs;
    const NAME: &'static str = "docker_container";
    const COLLECTION: &'static str = "community.docker";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Makes one container on the host's Docker daemon match the task: creates, recreates, updates, starts, \
                stops or removes it, only when it differs.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. The container is compared \
                with the task as community.docker does: only the options the task sets count, lists and dicts \
                default to `allow_more_present` (what the image adds does not count), and `comparisons` changes that \
                per option. It is recreated when a setting that needs it differs, updated in place when only memory, \
                CPU shares or the restart policy differ, then started, stopped or restarted as `state` asks; \
                `healthy` also waits for the health check. Images are pulled with the credentials in the host's \
                ~/.docker/config.json (credential helpers are not run). Differences from community.docker, on \
                purpose: in check mode a container that only needs an update is reported changed; `state: healthy` \
                fails at once when the container stops. Not supported: `platform`, `devices` and the block-I/O \
                options, `ulimits`, `links`, `volumes_from`, `groups`, `mac_address`, `oom_*`, `cpu_period`, \
                `cpu_quota`, `cpuset_*`, `runtime`, `userns_mode`, `uts`.",
        returns: &[
            (
                "container",
                "The container's inspect data after the task (none with `state: absent`, nor for a \
                container only created in check mode); with `detach: false` its output in `Output`.",
            ),
            ("status", "With `detach: false`: the exit status."),
            ("actions", "In check mode: what would be done."),
            ("warnings", "Warnings, such as an image without a tag."),
            ("diff", "With --diff: the settings that differ, before and after."),
        ],
        example: "- name: Run the app container\n  \
                  community.docker.docker_container:\n    \
                  name: app\n    \
                  image: registry.example.com/app:1.4.0\n    \
                  published_ports: [\"8080:80\"]\n    \
                  env:\n      \
                  APP_ENV: production\n    \
                  restart_policy: unless-stopped\n",
    };

    fn check_args(a: &DockerContainerArgs) -> Result<(), ArgError> {
        choice("restart_policy", &a.restart_policy, &["no", "on-failure", "always", "unless-stopped"])?;
        choice("pull_check_mode_behavior", &a.pull_check_mode_behavior, &["image_not_present", "always"])?;
        choice("image_name_mismatch", &a.image_name_mismatch, &["ignore", "recreate"])?;
        choice("image_comparison", &a.image_comparison, &["desired-image", "current-image"])?;
        choice("image_label_mismatch", &a.image_label_mismatch, &["ignore", "fail"])?;
        choice("container_default_behavior", &a.container_default_behavior, &["compatibility", "no_defaults"])?;
        choice("command_handling", &a.command_handling, &["compatibility", "correct"])?;
        if a.state == State::Present && a.image.is_none() {
            return Err(ArgError { msg: "state is present but all of the following are missing: image".into() });
        }
        if a.restart_retries.is_some() && a.restart_policy.is_none() {
            return Err(ArgError { msg: "missing parameter(s) required by 'restart_retries': restart_policy".into() });
        }
        if a.log_options.is_some() && a.log_driver.is_none() {
            return Err(ArgError { msg: "missing parameter(s) required by 'log_options': log_driver".into() });
        }
        crate::docker::container::config::pull_mode(a.pull.as_ref()).map_err(|msg| ArgError { msg })?;
        Ok(())
    }

    fn decide(&self, args: &DockerContainerArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        crate::docker::container::manager::decide(args, ctx)
    }

    fn apply(&self, args: DockerContainerArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        crate::docker::container::manager::apply(&args, decision, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{docker, docker_name, dockerd, empty_image, DockerCleanup, Sandbox};
    use serde_json::json;

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        if !dockerd("docker_container") {
            return;
        }
        let image = format!("{}:1", docker_name("dc-image"));
        let name = docker_name("dc");
        let _image = empty_image(&image);
        let _c = DockerCleanup(vec![vec!["rm".into(), "-f".into(), name.clone()]]);
        let mut sb = Sandbox::new();
        let args = json!({"name": name, "image": image, "state": "present", "env": {"A": "1"}, "pull": "never",
                          "command": ["/none"]});
        let d = sb.decide(&DockerContainer, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("exists"), Some(&json!(false)));
        assert!(docker(&["inspect", &name]).is_none(), "decide created the container");
        assert!(sb.apply(&DockerContainer, &args, d).changed);
        let id = docker(&["inspect", "-f", "{{.Id}}", &name]).expect("apply created no container");

        let again = sb.decide(&DockerContainer, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("exists"), Some(&json!(true)));
        assert_eq!(again.observed.get("running"), Some(&json!(false)));
        let image_id = docker(&["image", "inspect", "-f", "{{.Id}}", &image]).unwrap();
        assert_eq!(again.observed.get("image_id"), Some(&json!(image_id)));
        let digest = again.observed.get("config_digest").cloned();
        assert!(digest.as_ref().is_some_and(Value::is_string));

        // Another env value: decided as a recreation, the container is left as it is until applied.
        let changed = json!({"name": name, "image": image, "state": "present", "env": {"A": "2"}, "pull": "never",
                              "command": ["/none"]});
        let d = sb.decide(&DockerContainer, &changed);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("config_digest"), digest.as_ref(), "the container itself did not change");
        assert_eq!(docker(&["inspect", "-f", "{{.Id}}", &name]).as_deref(), Some(id.as_str()));
        assert!(sb.apply(&DockerContainer, &changed, d).changed);
        assert_ne!(docker(&["inspect", "-f", "{{.Id}}", &name]).as_deref(), Some(id.as_str()));
        let after = sb.decide(&DockerContainer, &changed);
        assert!(!after.result.changed);
        assert_ne!(after.observed.get("config_digest"), digest.as_ref());
    }

    #[test]
    fn a_pull_always_is_left_to_apply_outside_check_mode() {
        // Only pulling tells whether `pull: always` changes the image: check mode reports no
        // change (as community.docker does), a run must still apply (pull, then compare).
        if !dockerd("docker_container") {
            return;
        }
        let image = format!("{}:1", docker_name("dc-pull-image"));
        let name = docker_name("dc-pull");
        let _image = empty_image(&image);
        let _c = DockerCleanup(vec![vec!["rm".into(), "-f".into(), name.clone()]]);
        let mut sb = Sandbox::new();
        let args = json!({"name": name, "image": image, "state": "present", "command": ["/none"], "pull": "never"});
        assert!(sb.ok(&DockerContainer, args.clone()).changed);
        let always = json!({"name": name, "image": image, "state": "present", "command": ["/none"], "pull": "always"});
        let check = sb.run(&DockerContainer, always.clone(), true, false).unwrap();
        assert!(!check.changed, "{check:?}");
        assert_eq!(check.data["actions"], json!([]));
        let pull = sb.decide(&DockerContainer, &always);
        assert!(!pull.result.changed && pull.needs_apply(), "outside check mode the pull is applied");
        assert!(!sb.decide(&DockerContainer, &args).result.changed);
    }
}
