//! `docker_container_info` (community.docker): whether a container exists, and its inspect JSON.

use serde::Deserialize;
use serde_json::Value;

use crate::contract::{ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::raw::{self, path_escape};

/// `docker_container_info` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerContainerInfoArgs {
    /// Container name or ID.
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// The daemon's socket on the host.
    #[serde(default, alias = "docker_url", deserialize_with = "crate::args::opt_string")]
    pub docker_host: Option<String>,
    /// Accepted for compatibility; the version is negotiated.
    #[serde(default, alias = "docker_api_version", deserialize_with = "crate::args::opt_string")]
    pub api_version: Option<String>,
    /// Seconds an API call may take.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub timeout: Option<u64>,
    /// Accepted for compatibility; no effect.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub debug: bool,
}

/// The `docker_container_info` module.
pub struct DockerContainerInfo;

impl TypedModule for DockerContainerInfo {
    type Args = DockerContainerInfoArgs;
    const NAME: &'static str = "docker_container_info";
    const COLLECTION: &'static str = "community.docker";

    const DOC: ModuleText = ModuleText {
        short: "Tells whether a container exists on the host's Docker daemon and returns its inspect data.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. Never changes anything; \
                runs in check mode too.",
        returns: &[
            ("exists", "Whether the container exists."),
            ("container", "Its inspect data (`docker inspect`), or null."),
        ],
        example: "- name: Look at the app container\n  \
                  community.docker.docker_container_info:\n    \
                  name: app\n  \
                  register: app_info\n",
    };

    fn run(&self, a: DockerContainerInfoArgs, ctx: &mut ModuleCtx) -> RunResult {
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
        let container = match raw.get(&format!("/containers/{}/json", path_escape(&a.name))) {
            Ok(c) => c,
            Err(e) if e.is_not_found() => Value::Null,
            Err(e) => return Err(ModuleError::msg(format!("Error inspecting container {}: {e}", a.name))),
        };
        Ok(ModuleResult::ok().with("exists", !container.is_null()).with("container", container))
    }
}
