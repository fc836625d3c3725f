//! The desired container, from the task's arguments: community.docker's preprocessing (env
//! merged with env_file, sizes and durations converted, ports and volumes parsed) into one value
//! per option set by the task, and from those the Engine API's create and update bodies.

use std::collections::BTreeMap;

use serde::de::{Deserializer, Error};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::parse;
use crate::builtin::docker_container::DockerContainerArgs;

/// An optional float that also accepts its string form (`cpus: "0.5"`).
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("'{s}' is not a number"))),
        _ => Err(D::Error::custom(format!("expected a number, got {v}"))),
    }
}

/// When to pull the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// Only when it is not on the host (default; also `pull: false`).
    Missing,
    /// Every run (`pull: true`).
    Always,
    /// Never; a missing image is an error.
    Never,
}

/// Reads `pull`: `missing`, `always`, `never`, or a boolean.
pub fn pull_mode(v: Option<&Value>) -> Result<Pull, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(Pull::Missing) };
    match v.as_str() {
        Some("missing") => return Ok(Pull::Missing),
        Some("always") => return Ok(Pull::Always),
        Some("never") => return Ok(Pull::Never),
        _ => {}
    }
    match crate::args::parse_bool(v) {
        Some(true) => Ok(Pull::Always),
        Some(false) => Ok(Pull::Missing),
        None => Err(format!("value of pull must be one of: never, missing, always, True, False, got: {v}")),
    }
}

/// The task's values per option (only options it set, plus the derived `ports` and
/// `volume_binds`), in the shapes the comparison and the create body use.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// Option name -> value.
    pub values: BTreeMap<String, Value>,
    /// Warnings for the result (values that were converted).
    pub warnings: Vec<String>,
}

impl Params {
    /// The value of `name`, if the task set it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
    fn set(&mut self, name: &str, v: impl Into<Value>) {
        self.values.insert(name.to_string(), v.into());
    }
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.clone())).collect())
}

/// Python's `str()` of a scalar.
fn py_str(v: &Value) -> Option<String> {
    crate::args::scalar_to_string(v)
}

fn env_list(args: &DockerContainerArgs, env_file: Option<&str>) -> Result<Option<Vec<String>>, String> {
    if args.env.is_none() && env_file.is_none() {
        return Ok(None);
    }
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut put = |k: String, v: String| match vars.iter_mut().find(|(n, _)| *n == k) {
        Some(slot) => slot.1 = v,
        None => vars.push((k, v)),
    };
    if let (Some(text), Some(path)) = (env_file, args.env_file.as_deref()) {
        for (k, v) in parse::env_file(path, text)? {
            put(k, v);
        }
    }
    for (k, v) in args.env.iter().flatten() {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(format!(
                    "Non-string value found for env option. Ambiguous env options must be wrapped in quotes to \
                     avoid them being interpreted. Key: {k}"
                ))
            }
        };
        put(k.clone(), s);
    }
    Ok(Some(vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect()))
}

fn command(v: &Value) -> Result<Option<Vec<String>>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .iter()
            .map(|i| py_str(i).ok_or_else(|| format!("command item {i} is not a string")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => match py_str(other) {
            Some(s) => crate::shlex::split(&s).map(Some).map_err(|e| format!("cannot split command {s:?}: {e}")),
            None => Err(format!("command must be a string or a list, got {other}")),
        },
    }
}

fn healthcheck(h: &crate::builtin::docker_container::HealthcheckArg) -> Result<Value, String> {
    let dur = |name: &str, v: &Option<String>| -> Result<Option<i64>, String> {
        match v {
            None => Ok(None),
            Some(s) => {
                parse::duration_to_ns(s).map(|n| (n != 0).then_some(n)).map_err(|e| format!("healthcheck.{name}: {e}"))
            }
        }
    };
    let test = match &h.test {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.is_empty() => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::Array(items)) => Some(Value::Array(
            items.iter().map(|i| Value::String(py_str(i).unwrap_or_else(|| i.to_string()))).collect(),
        )),
        Some(other) => Some(json!(["CMD-SHELL", py_str(other).unwrap_or_else(|| other.to_string())])),
    };
    let absent = matches!(h.test, None | Some(Value::Null));
    let mut m = Map::new();
    match test {
        Some(t) => {
            m.insert("Test".into(), t);
        }
        // test_cli_compatible without a test keeps the image's test (as `docker run --health-*`).
        None if absent && h.test_cli_compatible => {}
        None => return Ok(json!({"Test": ["NONE"]})),
    }
    for (key, name, v) in [
        ("Interval", "interval", &h.interval),
        ("Timeout", "timeout", &h.timeout),
        ("StartPeriod", "start_period", &h.start_period),
    ] {
        if let Some(ns) = dur(name, v)? {
            m.insert(key.into(), json!(ns));
        }
    }
    if let Some(r) = h.retries.filter(|r| *r != 0) {
        m.insert("Retries".into(), json!(r));
    }
    Ok(Value::Object(m))
}

fn string_map(name: &str, m: &Map<String, Value>, strict: bool, warnings: &mut Vec<String>) -> Result<Value, String> {
    let mut out = Map::new();
    for (k, v) in m {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) if strict && n.is_f64() => {
                return Err(format!(
                    "The value {n} for {k:?} of {name} is not a string or something than can be safely converted to a string!"
                ))
            }
            Value::Bool(b) if strict => {
                return Err(format!(
                    "The value {} for {k:?} of {name} is not a string or something than can be safely converted to a string!",
                    if *b { "True" } else { "False" }
                ))
            }
            other => {
                let s = py_str(other).unwrap_or_else(|| other.to_string());
                if !strict {
                    warnings.push(format!(
                        "Non-string value found for {name} option '{k}'. The value is automatically converted to '{s}'. \
                         If this is not correct, or you want to avoid such warnings, please quote the value."
                    ));
                }
                s
            }
        };
        out.insert(k.clone(), Value::String(s));
    }
    Ok(Value::Object(out))
}

fn bytes(name: &str, v: &str, unlimited: bool) -> Result<i64, String> {
    if unlimited && (v == "unlimited" || v == "-1") {
        return Ok(-1);
    }
    parse::human_to_bytes(v).map_err(|e| format!("Failed to convert {name} to bytes: {e}"))
}

fn mounts(list: &[crate::builtin::docker_container::MountArg]) -> Result<Value, String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for m in list {
        let kind = m.kind.clone().unwrap_or_else(|| "volume".into());
        if !["bind", "volume", "tmpfs", "npipe"].contains(&kind.as_str()) {
            return Err(format!(
                "mounts: type of mount \"{}\" must be one of: bind, volume, tmpfs, npipe, got: {kind}",
                m.target
            ));
        }
        if !seen.insert(m.target.clone()) {
            return Err(format!("The mount point \"{}\" appears twice in the mounts option", m.target));
        }
        if m.source.is_none() && !["tmpfs", "volume"].contains(&kind.as_str()) {
            return Err(format!("source must be specified for mount \"{}\" of type \"{kind}\"", m.target));
        }
        let only = |opt: &str, set: bool, types: &str| -> Result<(), String> {
            if set && !types.split(',').any(|t| t == kind) {
                return Err(format!(
                    "{opt} cannot be specified for mount \"{}\" of type \"{kind}\" (needs type \"{types}\")",
                    m.target
                ));
            }
            Ok(())
        };
        only("propagation", m.propagation.is_some(), "bind")?;
        only("no_copy", m.no_copy.is_some(), "volume")?;
        only("tmpfs_size", m.tmpfs_size.is_some(), "tmpfs")?;
        only("tmpfs_mode", m.tmpfs_mode.is_some(), "tmpfs")?;
        let mut d = Map::new();
        d.insert("target".into(), json!(m.target));
        d.insert("type".into(), json!(kind));
        if let Some(s) = &m.source {
            d.insert("source".into(), json!(s));
        }
        if let Some(r) = m.read_only {
            d.insert("read_only".into(), json!(r));
        }
        if let Some(p) = &m.propagation {
            d.insert("propagation".into(), json!(p));
        }
        if let Some(n) = m.no_copy {
            d.insert("no_copy".into(), json!(n));
        }
        if let Some(s) = &m.tmpfs_size {
            let n = parse::human_to_bytes(s)
                .map_err(|e| format!("Failed to convert tmpfs_size of mount \"{}\" to bytes: {e}", m.target))?;
            d.insert("tmpfs_size".into(), json!(n));
        }
        if let Some(s) = &m.tmpfs_mode {
            let n = u32::from_str_radix(s, 8)
                .map_err(|_| format!("tmp_fs mode of mount \"{}\" is not an octal string!", m.target))?;
            d.insert("tmpfs_mode".into(), json!(n));
        }
        out.push(Value::Object(d));
    }
    Ok(Value::Array(out))
}

/// Builds the task's option values. `env_file` is the env file's text (read from the host),
/// `home` the remote user's home (for `~` in volumes).
pub fn params(args: &DockerContainerArgs, env_file: Option<&str>, home: Option<&str>) -> Result<Params, String> {
    let mut p = Params::default();
    let a = args;
    if let Some(i) = &a.image {
        p.set("image", i.clone());
    }
    if let Some(c) = a.command.as_ref().map(command).transpose()?.flatten() {
        p.set("command", strings(&c));
    }
    if let Some(e) = &a.entrypoint {
        p.set("entrypoint", strings(e));
    }
    if let Some(env) = env_list(a, env_file)? {
        p.set("env", strings(&env));
    }
    if let Some(h) = &a.healthcheck {
        p.set("healthcheck", healthcheck(h)?);
    }
    if let Some(l) = &a.labels {
        p.set("labels", string_map("labels", l, true, &mut Vec::new())?);
    }
    if let Some(d) = &a.log_driver {
        p.set("log_driver", d.clone());
        if let Some(o) = &a.log_options {
            let mut w = Vec::new();
            p.set("log_options", string_map("log_options", o, false, &mut w)?);
            p.warnings.extend(w);
        }
    }
    // Ports: what is published is exposed too.
    let default_ip = a.default_host_ip.clone().unwrap_or_else(|| "0.0.0.0".into());
    let mut exposed: Vec<String> = Vec::new();
    if let Some(e) = &a.exposed_ports {
        exposed = parse::exposed_ports(e)?;
        p.set("exposed_ports", strings(&exposed));
    }
    if let Some(pp) = &a.published_ports {
        let binds = parse::published_ports(pp, &default_ip)?;
        for k in binds.keys() {
            if !exposed.contains(k) {
                exposed.push(k.clone());
            }
        }
        let m: Map<String, Value> = binds.into_iter().map(|(k, v)| (k, Value::Array(v))).collect();
        p.set("published_ports", Value::Object(m));
    }
    exposed.sort();
    exposed.dedup();
    p.set("ports", strings(&exposed));
    if let Some(b) = a.publish_all_ports {
        p.set("publish_all_ports", b);
    }
    if let Some(v) = &a.volumes {
        let vols = parse::volumes(v, home)?;
        if let Some(m) = &a.mounts {
            if let Some(t) = m.iter().find(|m| vols.all.iter().any(|v| v.split(':').nth(1).unwrap_or(v) == m.target)) {
                return Err(format!("The mount point \"{}\" appears both in the volumes and mounts option", t.target));
            }
        }
        p.set("volumes", strings(&vols.all));
        p.set("volume_binds", strings(&vols.binds));
    }
    if let Some(m) = &a.mounts {
        p.set("mounts", mounts(m)?);
    }
    // Networks: docker run --network semantics pick the first network as network_mode.
    if let Some(nets) = &a.networks {
        let list: Vec<Value> = nets
            .iter()
            .map(|n| {
                let mut m = Map::new();
                m.insert("name".into(), json!(n.name));
                for (k, v) in [("ipv4_address", &n.ipv4_address), ("ipv6_address", &n.ipv6_address)] {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(v));
                    }
                }
                if let Some(al) = &n.aliases {
                    m.insert("aliases".into(), strings(al));
                }
                if let Some(l) = &n.links {
                    m.insert("links".into(), strings(l));
                }
                Value::Object(m)
            })
            .collect();
        p.set("networks", Value::Array(list));
    }
    match (&a.network_mode, &a.networks) {
        (Some(m), _) => p.set("network_mode", m.clone()),
        (None, Some(n)) if a.networks_cli_compatible && !n.is_empty() => p.set("network_mode", n[0].name.clone()),
        _ => {}
    }
    if let Some(r) = &a.restart_policy {
        p.set("restart_policy", r.clone());
        if let Some(n) = a.restart_retries {
            p.set("restart_retries", n);
        }
    }
    for (name, v) in [
        ("user", &a.user),
        ("working_dir", &a.working_dir),
        ("hostname", &a.hostname),
        ("domainname", &a.domainname),
        ("stop_signal", &a.stop_signal),
        ("ipc_mode", &a.ipc_mode),
        ("pid_mode", &a.pid_mode),
    ] {
        if let Some(v) = v {
            p.set(name, v.clone());
        }
    }
    // container_default_behavior=compatibility fills the old defaults in.
    let compat = a.container_default_behavior.as_deref() == Some("compatibility");
    let dflt = |v: Option<bool>, d: bool| if compat { Some(v.unwrap_or(d)) } else { v };
    for (name, v) in [
        ("auto_remove", dflt(a.auto_remove, false)),
        ("detach", dflt(a.detach, true)),
        ("init", dflt(a.init, false)),
        ("interactive", dflt(a.interactive, false)),
        ("privileged", dflt(a.privileged, false)),
        ("read_only", dflt(a.read_only, false)),
        ("tty", dflt(a.tty, false)),
    ] {
        if let Some(v) = v {
            p.set(name, v);
        }
    }
    for (name, v) in [
        ("capabilities", &a.capabilities),
        ("cap_drop", &a.cap_drop),
        ("security_opts", &a.security_opts),
        ("dns_servers", &a.dns_servers),
        ("dns_search_domains", &a.dns_search_domains),
    ] {
        if let Some(v) = v {
            p.set(name, strings(v));
        }
    }
    if let Some(h) = &a.etc_hosts {
        let list: Vec<String> =
            h.iter().map(|(k, v)| format!("{k}:{}", py_str(v).unwrap_or_else(|| v.to_string()))).collect();
        p.set("etc_hosts", strings(&list));
    }
    if let Some(s) = &a.sysctls {
        p.set("sysctls", string_map("sysctls", s, false, &mut Vec::new())?);
    }
    if let Some(t) = &a.tmpfs {
        let m: Map<String, Value> = t
            .iter()
            .map(|s| match s.split_once(':') {
                Some((k, v)) => (k.to_string(), json!(v)),
                None => (s.clone(), json!("")),
            })
            .collect();
        p.set("tmpfs", Value::Object(m));
    }
    let memory = if compat && a.memory.is_none() { Some("0".to_string()) } else { a.memory.clone() };
    for (name, v, unlimited) in [
        ("memory", &memory, false),
        ("memory_reservation", &a.memory_reservation, false),
        ("memory_swap", &a.memory_swap, true),
        ("shm_size", &a.shm_size, false),
    ] {
        if let Some(v) = v {
            p.set(name, bytes(name, v, unlimited)?);
        }
    }
    if let Some(c) = a.cpus {
        p.set("cpus", (c * 1e9).round() as i64);
    }
    if let Some(c) = a.cpu_shares {
        p.set("cpu_shares", c);
    }
    if let Some(t) = a.stop_timeout {
        p.set("stop_timeout", t);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::super::body::{create_body, endpoint_config, update_body};
    use super::*;

    fn args(v: Value) -> DockerContainerArgs {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn env_values_must_be_strings_and_env_file_comes_first() {
        let a = args(json!({"name": "c", "env": {"A": "1", "B": 2}, "env_file": "/e"}));
        let p = params(&a, Some("A=0\nC=3\n"), None).unwrap();
        assert_eq!(p.get("env"), Some(&json!(["A=1", "C=3", "B=2"])));
        let bad = args(json!({"name": "c", "env": {"DEBUG": true}}));
        assert!(params(&bad, None, None).unwrap_err().contains("Key: DEBUG"));
    }

    #[test]
    fn ports_are_exposed_and_bound() {
        let a = args(json!({"name": "c", "ports": ["8080:80"], "expose": ["53/udp"]}));
        let p = params(&a, None, None).unwrap();
        assert_eq!(p.get("ports"), Some(&json!(["53/udp", "80/tcp"])));
        let body = create_body(&p, "img:1");
        assert_eq!(body["ExposedPorts"], json!({"53/udp": {}, "80/tcp": {}}));
        assert_eq!(body["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], "8080");
        assert_eq!(body["Image"], "img:1");
        // community.docker attaches stdout/stderr unless detach is true (also when not given).
        assert_eq!((body["AttachStdout"].clone(), body["AttachStdin"].clone()), (json!(true), json!(false)));
        let detached = params(&args(json!({"name": "c", "detach": true})), None, None).unwrap();
        assert_eq!(create_body(&detached, "i")["AttachStdout"], json!(false));
    }

    #[test]
    fn healthcheck_durations_and_tests() {
        let a = args(json!({"name": "c", "healthcheck": {"test": "curl x", "interval": "1m30s", "retries": 3}}));
        let p = params(&a, None, None).unwrap();
        assert_eq!(
            p.get("healthcheck"),
            Some(&json!({"Test": ["CMD-SHELL", "curl x"], "Interval": 90_000_000_000i64, "Retries": 3}))
        );
        let none = args(json!({"name": "c", "healthcheck": {"test": ["NONE"]}}));
        assert_eq!(params(&none, None, None).unwrap().get("healthcheck"), Some(&json!({"Test": ["NONE"]})));
        let cli = args(json!({"name": "c", "healthcheck": {"test_cli_compatible": true, "interval": "2s"}}));
        assert_eq!(params(&cli, None, None).unwrap().get("healthcheck"), Some(&json!({"Interval": 2_000_000_000i64})));
        let bad = args(json!({"name": "c", "healthcheck": {"test": "x", "interval": "30"}}));
        assert!(params(&bad, None, None).unwrap_err().contains("healthcheck.interval"));
    }

    #[test]
    fn networks_restart_memory_and_command() {
        let a = args(json!({
            "name": "c", "networks": [{"name": "n1", "aliases": ["web"]}], "restart_policy": "on-failure",
            "restart_retries": 3, "memory": "512M", "cpus": 0.5, "command": "sh -c 'echo hi'", "labels": {"a": 1}
        }));
        let p = params(&a, None, None).unwrap();
        assert_eq!(p.get("network_mode"), Some(&json!("n1")));
        assert_eq!(p.get("command"), Some(&json!(["sh", "-c", "echo hi"])));
        assert_eq!(p.get("labels"), Some(&json!({"a": "1"})));
        let body = create_body(&p, "i");
        assert_eq!(body["HostConfig"]["RestartPolicy"], json!({"Name": "on-failure", "MaximumRetryCount": 3}));
        assert_eq!(body["HostConfig"]["Memory"], json!(536870912));
        assert_eq!(body["HostConfig"]["NanoCpus"], json!(500_000_000));
        assert_eq!(update_body(&p)["Memory"], json!(536870912));
        assert_eq!(endpoint_config(&p.get("networks").unwrap()[0]), json!({"Aliases": ["web"]}));
        let bad = args(json!({"name": "c", "labels": {"on": true}}));
        assert!(params(&bad, None, None).is_err());
    }

    #[test]
    fn pull_modes() {
        assert_eq!(pull_mode(None), Ok(Pull::Missing));
        assert_eq!(pull_mode(Some(&json!(true))), Ok(Pull::Always));
        assert_eq!(pull_mode(Some(&json!("never"))), Ok(Pull::Never));
        assert!(pull_mode(Some(&json!("sometimes"))).is_err());
    }
}
