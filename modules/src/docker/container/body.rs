//! The Engine API bodies for the desired container, built from the task's option values
//! ([`Params`]): create (`Config` with `HostConfig`), `docker update`, and the endpoint
//! settings used to connect to a network.

use serde_json::{json, Map, Value};

use super::config::Params;
use super::options::{Place, OPTIONS};
use super::parse;

fn put(body: &mut Map<String, Value>, key: &str, v: Value) {
    body.insert(key.to_string(), v);
}

/// The Engine API's create body (`Config` with `HostConfig`) for `image`.
pub fn create_body(p: &Params, image: &str) -> Value {
    let mut body = Map::new();
    let mut hc = Map::new();
    for s in OPTIONS {
        let Some(v) = p.get(s.name) else { continue };
        match s.place {
            Place::Config(k) => put(&mut body, k, v.clone()),
            Place::Host(k) => put(&mut hc, k, v.clone()),
            Place::Special => {}
        }
    }
    if let Some(c) = p.get("command") {
        put(&mut body, "Cmd", c.clone());
    }
    // Attach flags as community.docker sets them: unless `detach: true`, stdout and stderr are
    // attached (also when detach is not given); interactive keeps stdin open.
    let attach = p.get("detach").and_then(Value::as_bool) != Some(true);
    let interactive = p.get("interactive").and_then(Value::as_bool);
    put(&mut body, "AttachStdout", json!(attach));
    put(&mut body, "AttachStderr", json!(attach));
    put(&mut body, "AttachStdin", json!(attach && interactive == Some(true)));
    put(&mut body, "StdinOnce", json!(attach && interactive == Some(true)));
    if let Some(i) = interactive {
        put(&mut body, "OpenStdin", json!(i));
    }
    if let Some(Value::Array(ports)) = p.get("ports") {
        if !ports.is_empty() || p.get("exposed_ports").is_some() {
            let m: Map<String, Value> =
                ports.iter().filter_map(Value::as_str).map(|k| (k.to_string(), json!({}))).collect();
            put(&mut body, "ExposedPorts", Value::Object(m));
        }
    }
    if let Some(pb) = p.get("published_ports") {
        put(&mut hc, "PortBindings", pb.clone());
    }
    if p.get("publish_all_ports") == Some(&json!(true)) {
        put(&mut hc, "PublishAllPorts", json!(true));
    }
    if let Some(Value::Array(vols)) = p.get("volumes") {
        let anon: Map<String, Value> = vols
            .iter()
            .filter_map(Value::as_str)
            .filter(|v| {
                let parts: Vec<&str> = v.split(':').collect();
                parts.len() == 1 || (parts.len() == 2 && parse::is_volume_permissions(parts[1]))
            })
            .map(|v| (v.to_string(), json!({})))
            .collect();
        put(&mut body, "Volumes", Value::Object(anon));
        if let Some(b) = p.get("volume_binds") {
            put(&mut hc, "Binds", b.clone());
        }
    }
    if let Some(Value::Array(ms)) = p.get("mounts") {
        let list: Vec<Value> = ms.iter().map(mount_body).collect();
        put(&mut hc, "Mounts", Value::Array(list));
    }
    if let Some(d) = p.get("log_driver") {
        let cfg = p.get("log_options").cloned().unwrap_or_else(|| json!({}));
        put(&mut hc, "LogConfig", json!({"Type": d, "Config": cfg}));
    }
    if let Some(rp) = restart_policy(p) {
        put(&mut hc, "RestartPolicy", rp);
    }
    if let Some(m) = p.get("network_mode") {
        put(&mut hc, "NetworkMode", m.clone());
    }
    put(&mut body, "Image", json!(image));
    if !hc.is_empty() {
        put(&mut body, "HostConfig", Value::Object(hc));
    }
    Value::Object(body)
}

fn restart_policy(p: &Params) -> Option<Value> {
    let name = p.get("restart_policy")?;
    let retries = p.get("restart_retries").cloned().unwrap_or(json!(0));
    Some(json!({"Name": name, "MaximumRetryCount": retries}))
}

fn mount_body(m: &Value) -> Value {
    let g = |k: &str| m.get(k).cloned();
    let mut out = Map::new();
    out.insert("Target".into(), g("target").unwrap_or(Value::Null));
    if let Some(s) = g("source") {
        out.insert("Source".into(), s);
    }
    out.insert("Type".into(), g("type").unwrap_or(json!("volume")));
    if let Some(r) = g("read_only") {
        out.insert("ReadOnly".into(), r);
    }
    if let Some(p) = g("propagation") {
        out.insert("BindOptions".into(), json!({"Propagation": p}));
    }
    if g("no_copy") == Some(json!(true)) {
        out.insert("VolumeOptions".into(), json!({"NoCopy": true}));
    }
    let mut tmpfs = Map::new();
    if let Some(s) = g("tmpfs_size") {
        tmpfs.insert("SizeBytes".into(), s);
    }
    if let Some(m) = g("tmpfs_mode") {
        tmpfs.insert("Mode".into(), m);
    }
    if !tmpfs.is_empty() {
        out.insert("TmpfsOptions".into(), Value::Object(tmpfs));
    }
    Value::Object(out)
}

/// The `docker update` body for the updatable options the task set.
pub fn update_body(p: &Params) -> Value {
    let mut body = Map::new();
    for s in OPTIONS.iter().filter(|s| s.updatable) {
        if let (Some(v), Place::Host(k)) = (p.get(s.name), s.place) {
            body.insert(k.to_string(), v.clone());
        }
    }
    if let Some(rp) = restart_policy(p) {
        body.insert("RestartPolicy".into(), rp);
    }
    Value::Object(body)
}

/// A network's endpoint settings (`IPAMConfig`, `Aliases`, `Links`) from a `networks` entry.
pub fn endpoint_config(net: &Value) -> Value {
    let mut out = Map::new();
    let mut ipam = Map::new();
    for (k, dest) in [("ipv4_address", "IPv4Address"), ("ipv6_address", "IPv6Address")] {
        if let Some(v) = net.get(k).filter(|v| v.as_str().is_some_and(|s| !s.is_empty())) {
            ipam.insert(dest.into(), v.clone());
        }
    }
    if !ipam.is_empty() {
        out.insert("IPAMConfig".into(), Value::Object(ipam));
    }
    if let Some(a) = net.get("aliases").filter(|a| a.as_array().is_some_and(|a| !a.is_empty())) {
        out.insert("Aliases".into(), a.clone());
    }
    if let Some(Value::Array(links)) = net.get("links") {
        let l: Vec<Value> = links
            .iter()
            .filter_map(Value::as_str)
            .map(|l| match l.split_once(':') {
                Some((c, a)) => json!(format!("{c}:{a}")),
                None => json!(format!("{l}:{l}")),
            })
            .collect();
        if !l.is_empty() {
            out.insert("Links".into(), Value::Array(l));
        }
    }
    Value::Object(out)
}
