//! `docker_prune` (community.docker): removes unused containers, images, networks, volumes and
//! build cache through the daemon's prune endpoints.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::raw;
use crate::docker::util::filters_query;

/// `docker_prune` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerPruneArgs {
    /// Remove stopped containers.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub containers: bool,
    /// Filters for containers (`until`, `label`).
    #[serde(default)]
    pub containers_filters: Option<Map<String, Value>>,
    /// Remove dangling images (all unused ones with `images_filters: {dangling: false}`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub images: bool,
    /// Filters for images.
    #[serde(default)]
    pub images_filters: Option<Map<String, Value>>,
    /// Remove unused networks.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub networks: bool,
    /// Filters for networks.
    #[serde(default)]
    pub networks_filters: Option<Map<String, Value>>,
    /// Remove unused volumes.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub volumes: bool,
    /// Filters for volumes.
    #[serde(default)]
    pub volumes_filters: Option<Map<String, Value>>,
    /// Remove the build cache.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub builder_cache: bool,
    /// With `builder_cache`: all of it, not only dangling entries.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub builder_cache_all: bool,
    /// Filters for the build cache.
    #[serde(default)]
    pub builder_cache_filters: Option<Map<String, Value>>,
    /// Keep this much build cache (`10G`, `512MB`, bytes).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub builder_cache_keep_storage: Option<String>,
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

/// The `docker_prune` module.
pub struct DockerPrune;

/// Ansible's `human_to_bytes` (the one docker_container uses), as a byte count for the API.
pub fn human_to_bytes(s: &str) -> Result<u64, String> {
    let n = crate::docker::container::parse::human_to_bytes(s)?;
    u64::try_from(n).map_err(|_| format!("{s} is negative"))
}

impl TypedModule for DockerPrune {
    type Args = DockerPruneArgs;
    const NAME: &'static str = "docker_prune";
    const COLLECTION: &'static str = "community.docker";

    const DOC: ModuleText = ModuleText {
        short: "Removes unused containers, images, networks, volumes and build cache through the daemon's prune \
                endpoints.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. Only the kinds selected are \
                pruned, and without filters all the unused ones of that kind go: on a shared daemon, filter with \
                `label` or `until`. `images` alone removes dangling images; `images_filters: {dangling: false}` \
                removes every unused image. The task reports a change when something was deleted or space reclaimed. \
                As with community.docker, which does not support check mode, the task is skipped in check mode.",
        returns: &[
            ("containers, images, networks, volumes", "What was deleted, as the daemon lists it."),
            ("containers_space_reclaimed, images_space_reclaimed, volumes_space_reclaimed", "Bytes freed."),
            ("builder_cache_space_reclaimed", "With `builder_cache`: bytes freed."),
            ("builder_cache_caches_deleted", "With `builder_cache`: the cache entries deleted."),
        ],
        example: "- name: Remove stopped containers and images unused for three days\n  \
                  community.docker.docker_prune:\n    \
                  containers: true\n    \
                  images: true\n    \
                  images_filters:\n      \
                  dangling: false\n      \
                  until: 72h\n",
    };

    fn check_args(a: &DockerPruneArgs) -> Result<(), ArgError> {
        if let Some(k) = &a.builder_cache_keep_storage {
            human_to_bytes(k).map_err(|e| ArgError {
                msg: format!("Error while parsing value of builder_cache_keep_storage: {e}"),
            })?;
        }
        Ok(())
    }

    fn run(&self, a: DockerPruneArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.check {
            // community.docker's docker_prune does not support check mode: Ansible skips it.
            let mut r = ModuleResult::ok().with_msg("remote module (docker_prune) does not support check mode");
            r.skipped = true;
            return Ok(r);
        }
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
        let prune = |what: &str, filters: Option<&Map<String, Value>>, extra: &str| -> Result<Value, ModuleError> {
            let path = format!("/{what}/prune?{}{extra}", filters_query("", filters));
            raw.post(&path).map_err(|e| ModuleError::msg(format!("Error pruning {what}: {e}")))
        };
        let list = |v: &Value, key: &str| v.get(key).filter(|x| !x.is_null()).cloned().unwrap_or(Value::Array(vec![]));
        let space = |v: &Value| v.get("SpaceReclaimed").cloned().unwrap_or(Value::from(0));
        let nonempty = |v: &Value| v.as_array().is_some_and(|a| !a.is_empty()) || v.as_u64().is_some_and(|n| n > 0);
        let mut res = ModuleResult::ok();
        for (on, what, filters, key) in [
            (a.containers, "containers", &a.containers_filters, "ContainersDeleted"),
            (a.images, "images", &a.images_filters, "ImagesDeleted"),
            (a.networks, "networks", &a.networks_filters, "NetworksDeleted"),
            (a.volumes, "volumes", &a.volumes_filters, "VolumesDeleted"),
        ] {
            if !on {
                continue;
            }
            let r = prune(what, filters.as_ref(), "")?;
            let deleted = list(&r, key);
            res.changed |= nonempty(&deleted);
            res = res.with(what, deleted);
            if what != "networks" {
                let s = space(&r);
                res.changed |= nonempty(&s);
                res = res.with(&format!("{what}_space_reclaimed"), s);
            }
        }
        if a.builder_cache {
            let mut extra = String::new();
            if a.builder_cache_all {
                extra.push_str("&all=true");
            }
            if let Some(k) = &a.builder_cache_keep_storage {
                extra.push_str(&format!("&keep-storage={}", human_to_bytes(k).map_err(ModuleError::msg)?));
            }
            let r = prune("build", a.builder_cache_filters.as_ref(), &extra)?;
            let s = space(&r);
            res.changed |= nonempty(&s);
            res = res.with("builder_cache_space_reclaimed", s);
            if let Some(c) = r.get("CachesDeleted") {
                let c = if c.is_null() { Value::Array(vec![]) } else { c.clone() };
                res.changed |= nonempty(&c);
                res = res.with("builder_cache_caches_deleted", c);
            }
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_to_bytes("10"), Ok(10));
        assert_eq!(human_to_bytes("1K"), Ok(1024));
        assert_eq!(human_to_bytes("2MB"), Ok(2 * 1024 * 1024));
        assert_eq!(human_to_bytes("1.5 G"), Ok(1610612736));
        assert!(human_to_bytes("3 apples").is_err());
        assert!(human_to_bytes("G").is_err());
    }
}
