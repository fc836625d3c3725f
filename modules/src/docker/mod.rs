//! What the `docker_*` modules share: a Docker Engine API client (bollard) that reaches the
//! host's daemon through the connection's socket bridge, and the arguments every one of them takes.
//!
//! bollard is async; the modules are not. Each module run builds a single-threaded tokio runtime
//! here and blocks on it, so tokio never leaks out of the Docker code path (docs/architecture.md, "Connections"; docs/containers.md).

use std::future::Future;
use std::time::Duration;

use bollard::Docker;

use crate::contract::{ModuleCtx, ModuleError};

pub mod auth;
pub mod container;
pub mod image;
pub mod image_run;
pub mod network;
pub mod raw;
pub mod util;

/// Where community.docker looks for the daemon when `docker_host` is not given.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// Seconds an API call may take unless the task's `timeout` says otherwise (community.docker's
/// default).
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// A connected Engine API client for one module run on one host.
pub struct DockerApi {
    runtime: tokio::runtime::Runtime,
    docker: Docker,
    /// `docker_host` as the task gave it, for messages.
    pub docker_host: String,
    /// The host's inventory name, for messages.
    pub host: String,
    /// The local Unix socket reaching the daemon, for raw API reads (docker_container returns
    /// `docker inspect` exactly as the daemon sends it, which bollard's models would trim).
    pub socket: std::path::PathBuf,
    /// The raw JSON client on the same socket, one kept-alive connection for the run.
    raw: std::sync::OnceLock<raw::RawApi>,
}

impl DockerApi {
    /// Connects to the daemon at `docker_host` (a `unix://` URL or path on the managed host;
    /// default [`DEFAULT_DOCKER_HOST`]) and negotiates the API version, so a daemon that cannot be
    /// reached fails here with one clear message rather than in the middle of the module's work.
    pub fn connect(ctx: &mut ModuleCtx, docker_host: Option<&str>, timeout: Option<u64>) -> Result<Self, ModuleError> {
        let docker_host = docker_host.unwrap_or(DEFAULT_DOCKER_HOST).to_string();
        let remote = match docker_host.strip_prefix("unix://") {
            Some(path) => path.to_string(),
            None if docker_host.starts_with('/') => docker_host.clone(),
            None => {
                return Err(ModuleError::msg(format!(
                    "docker_host '{docker_host}' is not supported: orc reaches dockerd through its Unix socket \
                     over the host's connection (unix:///path); it never talks to dockerd over TCP"
                )))
            }
        };
        let host = ctx.conn.host().to_string();
        let local = ctx.conn.docker_socket(&remote).map_err(ModuleError::msg)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ModuleError::msg(format!("cannot start the Docker client: {e}")))?;
        let secs = timeout.unwrap_or(DEFAULT_TIMEOUT_SECS);
        let socket = local.clone();
        let local = local.to_string_lossy().into_owned();
        // The lowest version every supported daemon speaks; negotiation raises it to the daemon's.
        let floor = bollard::ClientVersion { major_version: 1, minor_version: 41 };
        let unreachable = |e: bollard::errors::Error| {
            ModuleError::msg(format!("cannot reach the Docker daemon at {docker_host} on {host}: {}", api_error(&e)))
        };
        let docker = Docker::connect_with_unix(&local, secs, &floor).map_err(unreachable)?;
        let docker = runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(secs), docker.negotiate_version()).await })
            .map_err(|_| {
                ModuleError::msg(format!("the Docker daemon at {docker_host} on {host} did not answer within {secs} s"))
            })?
            .map_err(unreachable)?;
        Ok(DockerApi { runtime, docker, docker_host, host, socket, raw: std::sync::OnceLock::new() })
    }

    /// Runs one async API conversation to completion.
    pub fn run<'a, F, T>(&'a self, f: impl FnOnce(&'a Docker) -> F) -> T
    where
        F: Future<Output = T> + 'a,
    {
        self.runtime.block_on(f(&self.docker))
    }

    /// The raw JSON client on this API's socket (answers as the daemon sends them), created at
    /// first use and kept for the module run.
    pub fn raw(&self) -> &raw::RawApi {
        self.raw.get_or_init(|| raw::RawApi::of(self))
    }

    /// The client, for code that drives the runtime itself through [`DockerApi::run`].
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}

/// The daemon's own message for an API error (what `docker` would print), else bollard's.
pub fn api_error(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.trim().to_string(),
        other => other.to_string(),
    }
}

/// True when the API answered 404 (no such container, image, network or volume).
pub fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })
}
