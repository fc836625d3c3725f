//! The Engine API calls docker_container makes, as small blocking functions over
//! [`DockerApi`]: JSON in and out, so the comparison code works on `docker inspect`'s shape.

use std::time::{Duration, Instant};

use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, LogsOptions, RemoveContainerOptions, RestartContainerOptions,
    StopContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use serde_json::Value;

use crate::contract::ModuleError;
use crate::docker::{api_error, is_not_found, DockerApi};

fn from_json<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("invalid {what}: {e}"))
}

/// `docker inspect` of a container by name or ID, exactly as the daemon sends it; `None` when
/// there is none.
pub fn inspect(api: &DockerApi, name: &str) -> Result<Option<Value>, ModuleError> {
    // Raw: bollard's model drops fields the daemon sends (NetworkSettings.IPAddress...).
    let raw = api.raw();
    match raw.get(&format!("/containers/{}/json", crate::docker::raw::path_escape(name))) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(ModuleError::msg(format!("Error inspecting container {name}: {e}"))),
    }
}

/// `docker image inspect` by reference or ID, exactly as the daemon sends it (as docker_image
/// reads it); `None` when the daemon has no such image.
pub fn find_image(api: &DockerApi, reference: &str) -> Result<Option<Value>, ModuleError> {
    crate::docker::image::find_image(api.raw(), reference)
        .map_err(|e| ModuleError::msg(format!("Error inspecting image {reference}: {e}")))
}

/// The ID of the network named `name` (exactly), if it exists.
pub fn network_id(api: &DockerApi, name: &str) -> Result<Option<String>, ModuleError> {
    match api.run(|d| async move { d.inspect_network(name, None).await }) {
        Ok(n) if n.name.as_deref() == Some(name) || n.id.as_deref() == Some(name) => Ok(n.id),
        Ok(_) => Ok(None),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(ModuleError::msg(format!("Error getting network id for {name} - {}", api_error(&e)))),
    }
}

/// Creates the container from a create body (API JSON); returns its ID.
pub fn create(api: &DockerApi, name: &str, body: Value) -> Result<String, String> {
    let body = from_json(body, "container configuration")?;
    let opts = CreateContainerOptions { name: Some(name.to_string()), ..Default::default() };
    api.run(|d| async move { d.create_container(Some(opts), body).await }).map(|r| r.id).map_err(|e| api_error(&e))
}

/// Starts a container.
pub fn start(api: &DockerApi, id: &str) -> Result<(), String> {
    api.run(|d| async move { d.start_container(id, None).await }).map_err(|e| api_error(&e))
}

/// Runs `op`, unpausing the container and retrying (up to three times) when the daemon refuses
/// because it is paused, as community.docker does.
fn unpausing(api: &DockerApi, id: &str, op: impl Fn() -> Result<(), String>) -> Result<(), String> {
    let mut tries = 0;
    loop {
        match op() {
            Err(e) if e.contains("Unpause the container before stopping or killing") => {
                if tries == 3 {
                    return Err(format!("{e} [tried to unpause three times]"));
                }
                tries += 1;
                set_paused(api, id, false).map_err(|e2| format!("{e2} [while unpausing]"))?;
            }
            other => return other,
        }
    }
}

/// Stops a container (`timeout`: seconds before the daemon kills it).
pub fn stop(api: &DockerApi, id: &str, timeout: Option<u64>) -> Result<(), String> {
    unpausing(api, id, || {
        let opts = StopContainerOptions { t: timeout.map(|t| t as i32), signal: None };
        api.run(|d| async move { d.stop_container(id, Some(opts)).await }).map_err(|e| api_error(&e))
    })
}

/// Kills a container with `signal` (default SIGKILL).
pub fn kill(api: &DockerApi, id: &str, signal: Option<&str>) -> Result<(), String> {
    let opts = KillContainerOptions { signal: signal.unwrap_or("SIGKILL").to_string() };
    api.run(|d| async move { d.kill_container(id, Some(opts)).await }).map_err(|e| api_error(&e))
}

/// Pauses (`true`) or unpauses a container.
pub fn set_paused(api: &DockerApi, id: &str, paused: bool) -> Result<(), String> {
    let r = if paused {
        api.run(|d| async move { d.pause_container(id).await })
    } else {
        api.run(|d| async move { d.unpause_container(id).await })
    };
    r.map_err(|e| api_error(&e))
}

/// Restarts a container.
pub fn restart(api: &DockerApi, id: &str, timeout: i32) -> Result<(), String> {
    let opts = RestartContainerOptions { t: Some(timeout), signal: None };
    api.run(|d| async move { d.restart_container(id, Some(opts)).await }).map_err(|e| api_error(&e))
}

/// Removes a container; a container already gone, or already being removed, is fine.
pub fn remove(api: &DockerApi, id: &str, volumes: bool, force: bool) -> Result<(), String> {
    unpausing(api, id, || remove_once(api, id, volumes, force))
}

fn remove_once(api: &DockerApi, id: &str, volumes: bool, force: bool) -> Result<(), String> {
    let opts = RemoveContainerOptions { v: volumes, force, link: false };
    match api.run(|d| async move { d.remove_container(id, Some(opts)).await }) {
        Ok(()) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => {
            let msg = api_error(&e);
            if msg.contains("removal of container") && msg.contains("is already in progress") {
                Ok(())
            } else {
                Err(msg)
            }
        }
    }
}

/// Applies a `docker update` body (API JSON).
pub fn update(api: &DockerApi, id: &str, body: Value) -> Result<(), String> {
    let body = from_json(body, "update")?;
    api.run(|d| async move { d.update_container(id, body).await }).map_err(|e| api_error(&e))
}

/// Connects a container to a network with endpoint settings (API JSON).
pub fn connect(api: &DockerApi, network: &str, id: &str, endpoint: Value) -> Result<(), String> {
    let req = bollard::models::NetworkConnectRequest {
        container: id.to_string(),
        endpoint_config: Some(from_json(endpoint, "network settings")?),
    };
    api.run(|d| async move { d.connect_network(network, req).await }).map_err(|e| api_error(&e))
}

/// Disconnects a container from a network.
pub fn disconnect(api: &DockerApi, network: &str, id: &str) -> Result<(), String> {
    let req = bollard::models::NetworkDisconnectRequest { container: id.to_string(), force: None };
    api.run(|d| async move { d.disconnect_network(network, req).await }).map_err(|e| api_error(&e))
}

/// Waits for a container to exit; returns its exit status.
pub fn wait_exit(api: &DockerApi, id: &str) -> Result<i64, String> {
    api.run(|d| async move {
        let mut s = d.wait_container(id, None::<WaitContainerOptions>);
        let mut code = 0;
        while let Some(r) = s.next().await {
            match r {
                Ok(w) => code = w.status_code,
                Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
                Err(e) => return Err(api_error(&e)),
            }
        }
        Ok(code)
    })
}

/// A container's whole stdout and stderr, as `docker logs` shows them.
pub fn output(api: &DockerApi, id: &str) -> Result<String, String> {
    let opts = LogsOptions { stdout: true, stderr: true, tail: "all".into(), ..Default::default() };
    api.run(|d| async move {
        let mut s = d.logs(id, Some(opts));
        let mut out = Vec::new();
        while let Some(r) = s.next().await {
            out.extend_from_slice(&r.map_err(|e| api_error(&e))?.into_bytes());
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    })
}

/// Waits until a container being removed is gone (`max_wait` seconds, `None`: no limit).
pub fn wait_removed(api: &DockerApi, id: &str, max_wait: Option<f64>) -> Result<(), ModuleError> {
    let start = Instant::now();
    let mut delay = 0.1f64;
    loop {
        match inspect(api, id)? {
            None => return Ok(()),
            Some(c) if c.pointer("/State/Status").and_then(Value::as_str) != Some("removing") => {
                let state = c.pointer("/State/Status").and_then(Value::as_str).unwrap_or("unknown");
                return Err(ModuleError::msg(format!(
                    "Encontered unexpected state \"{state}\" while waiting for container \"{id}\""
                )));
            }
            Some(_) => {}
        }
        if max_wait.is_some_and(|m| start.elapsed().as_secs_f64() > m) {
            return Err(ModuleError::msg(format!(
                "Timeout of {} seconds exceeded while waiting for container \"{id}\"",
                max_wait.unwrap_or_default()
            )));
        }
        std::thread::sleep(Duration::from_secs_f64(delay));
        delay = (delay * 1.5).min(5.0);
    }
}
