//! `docker_host_info` (community.docker): what the host's Docker daemon reports about itself
//! (`/info`), and optionally lists of its containers, images, networks and volumes. Never changes
//! anything.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::raw::{self, RawError};
use crate::docker::util::{filters_query, pick};

/// `docker_host_info` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerHostInfoArgs {
    /// List the running containers (all of them with `containers_all`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub containers: bool,
    /// With `containers`: stopped containers too.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub containers_all: bool,
    /// Filters for the container list (`docker ps --filter`).
    #[serde(default)]
    pub containers_filters: Option<Map<String, Value>>,
    /// List the images.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub images: bool,
    /// Filters for the image list.
    #[serde(default)]
    pub images_filters: Option<Map<String, Value>>,
    /// List the networks.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub networks: bool,
    /// Filters for the network list.
    #[serde(default)]
    pub networks_filters: Option<Map<String, Value>>,
    /// List the volumes.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub volumes: bool,
    /// Filters for the volume list.
    #[serde(default)]
    pub volumes_filters: Option<Map<String, Value>>,
    /// Return the daemon's disk usage summary (`docker system df`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub disk_usage: bool,
    /// Return whole API records instead of the `docker ls` columns.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub verbose_output: bool,
    /// The daemon's socket on the host (`unix:///var/run/docker.sock`).
    #[serde(default, alias = "docker_url", deserialize_with = "crate::args::opt_string")]
    pub docker_host: Option<String>,
    /// Accepted for compatibility; the version is always negotiated with the daemon.
    #[serde(default, alias = "docker_api_version", deserialize_with = "crate::args::opt_string")]
    pub api_version: Option<String>,
    /// Seconds an API call may take (default 60).
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub timeout: Option<u64>,
    /// Accepted for compatibility; no effect.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub debug: bool,
}

/// The `docker_host_info` module.
pub struct DockerHostInfo;

const CONTAINER_KEYS: &[&str] = &["Id", "Image", "Command", "Created", "Status", "Ports", "Names"];
const IMAGE_KEYS: &[&str] = &["Id", "RepoTags", "Created", "Size"];
const NETWORK_KEYS: &[&str] = &["Id", "Driver", "Name", "Scope"];
const VOLUME_KEYS: &[&str] = &["Driver", "Name"];

impl TypedModule for DockerHostInfo {
    type Args = DockerHostInfoArgs;
    const NAME: &'static str = "docker_host_info";
    const COLLECTION: &'static str = "community.docker";

    const DOC: ModuleText = ModuleText {
        short: "Returns what the host's Docker daemon says about itself, and optionally lists its containers, images, \
                networks and volumes.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. Lists hold the columns \
                `docker ... ls` shows unless `verbose_output`. Filters are given as `docker ... ls --filter` pairs; \
                a value may be a list. Never changes anything; runs in check mode too. When the daemon cannot be \
                reached the task fails with `can_talk_to_docker: false`.",
        returns: &[
            ("can_talk_to_docker", "Whether the daemon answered."),
            ("host_info", "The daemon's `/info` answer (`docker info`)."),
            ("containers, images, networks, volumes", "When asked: the lists."),
            ("disk_usage", "With `disk_usage`: `LayersSize`, or the whole `docker system df` with `verbose_output`."),
        ],
        example: "- name: List the running containers\n  \
                  community.docker.docker_host_info:\n    \
                  containers: true\n  \
                  register: docker_host\n",
    };

    fn run(&self, a: DockerHostInfoArgs, ctx: &mut ModuleCtx) -> RunResult {
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout).map_err(|e| match e {
            ModuleError::Fail(mut r) => {
                r.data.insert("can_talk_to_docker".into(), Value::Bool(false));
                ModuleError::Fail(r)
            }
            other => other,
        })?;
        let fail = |what: &str, e: RawError| ModuleError::msg(format!("{what}: {e}"));
        let info = raw.get("/info").map_err(|e| fail("Error inspecting docker host", e))?;
        let mut res = ModuleResult::ok().with("host_info", info).with("can_talk_to_docker", true);
        let verbose = a.verbose_output;
        let shape = |items: Value, keys: &[&str]| -> Value {
            match items {
                Value::Array(items) if !verbose => Value::Array(items.iter().map(|i| pick(i, keys)).collect()),
                Value::Null => Value::Array(vec![]),
                other => other,
            }
        };
        if a.disk_usage {
            let df = raw.get("/system/df").map_err(|e| fail("Error inspecting docker host", e))?;
            let usage = if verbose {
                df
            } else {
                serde_json::json!({"LayersSize": df.get("LayersSize").cloned().unwrap_or(Value::Null)})
            };
            res = res.with("disk_usage", usage);
        }
        let listing = |what: &str, e: RawError| fail(&format!("Error inspecting docker host for object '{what}'"), e);
        if a.volumes {
            let path = format!("/volumes{}", filters_query("?", a.volumes_filters.as_ref()));
            let vols = raw.get(&path).map_err(|e| listing("volumes", e))?;
            res = res.with("volumes", shape(vols.get("Volumes").cloned().unwrap_or(Value::Null), VOLUME_KEYS));
        }
        if a.networks {
            let path = format!("/networks{}", filters_query("?", a.networks_filters.as_ref()));
            let nets = raw.get(&path).map_err(|e| listing("networks", e))?;
            res = res.with("networks", shape(nets, NETWORK_KEYS));
        }
        if a.containers {
            let all = if a.containers_all { 1 } else { 0 };
            let path = format!(
                "/containers/json?limit=-1&all={all}&size=0&trunc_cmd=0{}",
                filters_query("&", a.containers_filters.as_ref())
            );
            let list = raw.get(&path).map_err(|e| listing("containers", e))?;
            res = res.with("containers", shape(list, CONTAINER_KEYS));
        }
        if a.images {
            let path = format!("/images/json?only_ids=0&all=0{}", filters_query("&", a.images_filters.as_ref()));
            let list = raw.get(&path).map_err(|e| listing("images", e))?;
            res = res.with("images", shape(list, IMAGE_KEYS));
        }
        Ok(res)
    }
}
