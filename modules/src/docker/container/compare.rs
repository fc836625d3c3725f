//! The existing container (its `docker inspect`) against the task: community.docker's
//! per-option comparison. Only options the task set are compared, plus the defaults the image
//! brings (env, exposed ports, binds), so a container keeps what the image added to it.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::config::Params;
use super::diff::Differences;
use super::options::{default_mode, find, Kind, Mode, Place, Spec, OPTIONS};

/// Comparison modes per option, after `comparisons:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparisons {
    modes: BTreeMap<&'static str, Mode>,
}

impl Comparisons {
    /// Applies the task's `comparisons` over the defaults. `networks_set` tells whether the task
    /// gave `networks` (a `*` only reaches `networks` then, as in community.docker).
    pub fn new(user: Option<&Map<String, Value>>, networks_set: bool) -> Result<Comparisons, String> {
        let mut modes: BTreeMap<&'static str, Mode> = OPTIONS.iter().map(|s| (s.name, default_mode(s))).collect();
        if let Some(user) = user {
            if let Some(star) = user.get("*") {
                let m = match star.as_str() {
                    Some("strict") => Mode::Strict,
                    Some("ignore") => Mode::Ignore,
                    _ => {
                        return Err("The wildcard can only be used with comparison modes 'strict' and 'ignore'!".into())
                    }
                };
                for (name, mode) in modes.iter_mut() {
                    if *name != "networks" || networks_set {
                        *mode = m;
                    }
                }
            }
            let mut used: BTreeMap<&str, &str> = BTreeMap::new();
            for (key, value) in user.iter().filter(|(k, _)| k.as_str() != "*") {
                let spec = find(key)
                    .filter(|s| s.name != "volume_binds")
                    .ok_or_else(|| format!("Unknown module option '{key}' in comparisons dict!"))?;
                if let Some(other) = used.insert(spec.name, key) {
                    return Err(format!(
                        "Both '{key}' and '{other}' (aliases of {}) are specified in comparisons dict!",
                        spec.name
                    ));
                }
                let mode = value.as_str().and_then(Mode::parse).ok_or_else(|| {
                    format!("Unknown comparison mode '{}'!", value.as_str().unwrap_or(&value.to_string()))
                })?;
                if mode == Mode::AllowMorePresent && spec.kind == Kind::Value {
                    return Err(format!(
                        "Option '{key}' is a value and not a set/list/dict, so its comparison cannot be allow_more_present"
                    ));
                }
                modes.insert(spec.name, mode);
            }
        }
        // volume_binds follows volumes.
        if let Some(v) = modes.get("volumes").copied() {
            modes.insert("volume_binds", v);
        }
        Ok(Comparisons { modes })
    }

    /// The mode of an option.
    pub fn mode(&self, name: &str) -> Mode {
        self.modes.get(name).copied().unwrap_or(Mode::Strict)
    }
}

fn dict_allow_more(a: &Map<String, Value>, b: &Value) -> bool {
    a.iter().all(|(k, v)| b.get(k) == Some(v))
}

fn len_of(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.len(),
        _ => 1,
    }
}

/// community.docker's `compare_generic`: true when `param` (the task's) and `actual` (the
/// container's) count as equal under `mode` for an option of type `kind`.
pub fn compare_generic(param: &Value, actual: &Value, mode: Mode, kind: Kind) -> bool {
    if mode == Mode::Ignore {
        return true;
    }
    if param.is_null() || actual.is_null() {
        if param == actual {
            return true;
        }
        if kind == Kind::Value {
            return false;
        }
        if mode == Mode::AllowMorePresent && param.is_null() {
            return true;
        }
        return len_of(if param.is_null() { actual } else { param }) == 0;
    }
    let empty = Vec::new();
    let arr = |v: &'_ Value| -> Vec<Value> { v.as_array().unwrap_or(&empty).clone() };
    match kind {
        Kind::Value => param == actual,
        Kind::List => {
            if mode == Mode::Strict {
                return param == actual;
            }
            let (a, b) = (arr(param), arr(actual));
            let mut i = 0;
            for v in &a {
                while i < b.len() && &b[i] != v {
                    i += 1;
                }
                if i == b.len() {
                    return false;
                }
                i += 1;
            }
            true
        }
        Kind::Dict => match (param.as_object(), mode) {
            (Some(_), Mode::Strict) => param == actual,
            (Some(a), _) => dict_allow_more(a, actual),
            (None, _) => param == actual,
        },
        Kind::Set => {
            let (a, b) = (arr(param), arr(actual));
            let sub = a.iter().all(|x| b.contains(x));
            if mode == Mode::Strict {
                sub && b.iter().all(|x| a.contains(x))
            } else {
                sub
            }
        }
        Kind::SetDict => {
            let (a, b) = (arr(param), arr(actual));
            let within =
                |x: &Value, ys: &[Value]| ys.iter().any(|y| x.as_object().is_some_and(|o| dict_allow_more(o, y)));
            if !a.iter().all(|x| within(x, &b)) {
                return false;
            }
            mode != Mode::Strict
                || b.iter().all(|y| a.iter().any(|x| x.as_object().is_some_and(|o| dict_allow_more(o, y))))
        }
    }
}

fn normalize_port(p: &str) -> String {
    if p.contains('/') {
        p.to_string()
    } else {
        format!("{p}/tcp")
    }
}

fn object_keys(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// The container's value of every option, read from its inspect JSON.
pub fn container_values(c: &Value) -> BTreeMap<&'static str, Value> {
    let cfg = &c["Config"];
    let hc = &c["HostConfig"];
    let mut out = BTreeMap::new();
    for s in OPTIONS {
        let v = match s.place {
            Place::Config(k) => cfg.get(k).cloned(),
            Place::Host(k) => hc.get(k).cloned(),
            Place::Special => None,
        };
        if let Some(v) = v {
            out.insert(s.name, v);
        }
    }
    let hcheck = cfg.get("Healthcheck").filter(|h| !h.is_null() && h.get("Test") != Some(&json!(["NONE"])));
    out.insert("healthcheck", hcheck.cloned().unwrap_or_else(|| json!({"Test": ["NONE"]})));
    out.insert("command", cfg.get("Cmd").cloned().unwrap_or(Value::Null));
    out.insert("image", cfg.get("Image").cloned().unwrap_or(Value::Null));
    let attached = cfg["AttachStderr"].as_bool().unwrap_or(false) && cfg["AttachStdout"].as_bool().unwrap_or(false);
    out.insert("detach", json!(!attached));
    out.insert("interactive", json!(cfg["OpenStdin"].as_bool().unwrap_or(false)));
    let log = &hc["LogConfig"];
    out.insert("log_driver", log.get("Type").cloned().unwrap_or(Value::Null));
    out.insert("log_options", log.get("Config").cloned().unwrap_or(Value::Null));
    let rp = &hc["RestartPolicy"];
    out.insert("restart_policy", rp.get("Name").cloned().unwrap_or(Value::Null));
    out.insert("restart_retries", rp.get("MaximumRetryCount").cloned().unwrap_or(Value::Null));
    out.insert("network_mode", hc.get("NetworkMode").cloned().unwrap_or(Value::Null));
    out.insert("published_ports", hc.get("PortBindings").cloned().unwrap_or(Value::Null));
    out.insert("publish_all_ports", hc.get("PublishAllPorts").cloned().unwrap_or(Value::Null));
    let mut exposed = Vec::new();
    for p in object_keys(cfg.get("ExposedPorts")) {
        let p = normalize_port(&p);
        let (port, proto) = p.rsplit_once('/').unwrap_or((&p, "tcp"));
        match port.split_once('-').and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?))) {
            Some((a, b)) => exposed.extend((a..=b).map(|n| json!(format!("{n}/{proto}")))),
            None => exposed.push(json!(p)),
        }
    }
    out.insert("exposed_ports", Value::Array(exposed));
    out.insert("volumes", cfg.get("Volumes").map(|v| json!(object_keys(Some(v)))).unwrap_or(Value::Null));
    out.insert("volume_binds", hc.get("Binds").cloned().unwrap_or(Value::Null));
    if let Some(Value::Array(ms)) = hc.get("Mounts") {
        let list: Vec<Value> = ms
            .iter()
            .map(|m| {
                let mut d = json!({
                    "type": m.get("Type"), "source": m.get("Source"), "target": m.get("Target"),
                    "read_only": m.get("ReadOnly").and_then(Value::as_bool).unwrap_or(false),
                    "no_copy": m.pointer("/VolumeOptions/NoCopy").and_then(Value::as_bool).unwrap_or(false),
                });
                for (k, ptr) in [
                    ("propagation", "/BindOptions/Propagation"),
                    ("tmpfs_size", "/TmpfsOptions/SizeBytes"),
                    ("tmpfs_mode", "/TmpfsOptions/Mode"),
                ] {
                    d[k] = m.pointer(ptr).cloned().unwrap_or(Value::Null);
                }
                d
            })
            .collect();
        out.insert("mounts", Value::Array(list));
    }
    out
}

fn image_config<'a>(image: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    image.and_then(|i| i.get("Config")).and_then(|c| c.get(key)).filter(|v| !v.is_null())
}

/// What the container should show for each option the task set, with the image's defaults
/// merged in as community.docker does (env, labels, exposed ports, volumes, empty command).
pub fn expected_values(
    p: &Params,
    image: Option<&Value>,
    image_label_mismatch_fail: bool,
) -> BTreeMap<&'static str, Value> {
    let mut out = BTreeMap::new();
    for s in OPTIONS {
        if let Some(v) = p.get(s.name) {
            out.insert(s.name, v.clone());
        }
    }
    // env: image's variables, overridden by the task's.
    let mut env: Vec<(String, String)> = Vec::new();
    let mut put_env = |item: &str| {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        match env.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v.to_string(),
            None => env.push((k.to_string(), v.to_string())),
        }
    };
    for e in image_config(image, "Env").and_then(Value::as_array).into_iter().flatten() {
        put_env(e.as_str().unwrap_or_default());
    }
    for e in p.get("env").and_then(Value::as_array).into_iter().flatten() {
        put_env(e.as_str().unwrap_or_default());
    }
    out.insert("env", Value::Array(env.into_iter().map(|(k, v)| json!(format!("{k}={v}"))).collect()));
    if let Some(Value::Object(labels)) = p.get("labels") {
        let mut merged = Map::new();
        if !image_label_mismatch_fail {
            if let Some(Value::Object(il)) = image_config(image, "Labels") {
                merged.extend(il.clone());
            }
        }
        merged.extend(labels.clone());
        out.insert("labels", Value::Object(merged));
    }
    if p.get("command") == Some(&json!([])) {
        if let Some(c) = image_config(image, "Cmd") {
            out.insert("command", c.clone());
        }
    }
    // Exposed ports: the image's plus the task's (published ones included).
    let mut ports: Vec<String> =
        object_keys(image_config(image, "ExposedPorts")).iter().map(|p| normalize_port(p)).collect();
    for v in p.get("ports").and_then(Value::as_array).into_iter().flatten() {
        ports.push(v.as_str().unwrap_or_default().to_string());
    }
    ports.sort();
    ports.dedup();
    out.insert("exposed_ports", json!(ports));
    // Volumes: the image's anonymous volumes plus the task's.
    let mut vols: Vec<String> = object_keys(image_config(image, "Volumes"));
    for v in p.get("volumes").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        let parts: Vec<&str> = v.split(':').collect();
        if parts.len() == 1 || (parts.len() == 2 && super::parse::is_volume_permissions(parts[1])) {
            vols.push(v.to_string());
        }
    }
    // Bind mounts are compared as volume_binds: a task whose volumes are all binds expects the
    // image's anonymous volumes only (none, often), not its own list.
    if !vols.is_empty() || p.get("volumes").is_some() {
        out.insert("volumes", json!(vols));
    }
    out.insert("volume_binds", p.get("volume_binds").cloned().unwrap_or_else(|| json!([])));
    out.remove("networks");
    out
}

fn sorted_for_diff(spec: &Spec, v: &Value) -> Value {
    match (spec.kind, v) {
        (Kind::Set, Value::Array(a)) => {
            let mut a = a.clone();
            a.sort_by_key(|x| x.to_string());
            Value::Array(a)
        }
        _ => v.clone(),
    }
}

/// The options whose container value differs from the task's: `(recreate, update)`, where
/// `update` holds the differences `docker update` can apply in place.
pub fn differences(
    p: &Params,
    container: &Value,
    image: Option<&Value>,
    cmp: &Comparisons,
    image_label_mismatch_fail: bool,
) -> Result<(Differences, Differences), String> {
    let actual = container_values(container);
    let expected = expected_values(p, image, image_label_mismatch_fail);
    let mut recreate = Differences::default();
    let mut update = Differences::default();
    for s in OPTIONS {
        let Some(want) = expected.get(s.name) else { continue };
        // The image is compared by ID elsewhere.
        if s.name == "image" {
            continue;
        }
        let have = actual.get(s.name).cloned().unwrap_or(Value::Null);
        // Daemons since 26.1 report network_mode 'default' as 'bridge' (on Linux).
        if s.name == "network_mode" && want == "default" && have == "bridge" {
            continue;
        }
        let mode = cmp.mode(s.name);
        if compare_generic(want, &have, mode, s.kind) {
            continue;
        }
        if s.name == "labels" && mode == Mode::Strict && image_label_mismatch_fail {
            let img = image_config(image, "Labels").and_then(Value::as_object).cloned().unwrap_or_default();
            let given = p.get("labels").and_then(Value::as_object).cloned().unwrap_or_default();
            let drop: Vec<String> =
                img.keys().filter(|k| !given.contains_key(*k)).map(|k| format!("\"{k}\"")).collect();
            if !drop.is_empty() {
                return Err(format!(
                    "Some labels should be removed but are present in the base image. You can set image_label_mismatch \
                     to 'ignore' to ignore this error. Labels: {}",
                    drop.join(", ")
                ));
            }
        }
        let target = if s.updatable { &mut update } else { &mut recreate };
        target.add(s.name, sorted_for_diff(s, want), sorted_for_diff(s, &have));
    }
    Ok((recreate, update))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::docker_container::DockerContainerArgs;

    fn params(v: Value) -> Params {
        let a: DockerContainerArgs = serde_json::from_value(v).unwrap();
        super::super::config::params(&a, None, None).unwrap()
    }

    fn inspect() -> Value {
        json!({
            "Id": "abc", "Image": "sha256:1",
            "Config": {"Image": "app:1", "Env": ["PATH=/bin", "A=1"], "Labels": {"from.image": "x", "team": "a"},
                       "Cmd": ["httpd"], "ExposedPorts": {"8080/tcp": {}}, "AttachStdout": false, "AttachStderr": false,
                       "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000i64}},
            "HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}, "Memory": 0,
                           "PortBindings": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "18080"}]},
                           "Binds": null, "NetworkMode": "default", "LogConfig": {"Type": "json-file", "Config": {}}}
        })
    }

    fn image() -> Value {
        json!({"Id": "sha256:1", "Config": {"Env": ["PATH=/bin"], "Labels": {"from.image": "x"}, "ExposedPorts": {"8080/tcp": {}}, "Cmd": ["httpd"]}})
    }

    fn diff_names(v: Value) -> (Vec<String>, Vec<String>) {
        let p = params(v);
        let cmp = Comparisons::new(None, false).unwrap();
        let (r, u) = differences(&p, &inspect(), Some(&image()), &cmp, false).unwrap();
        (r.names(), u.names())
    }

    #[test]
    fn same_settings_have_no_differences() {
        let (r, u) = diff_names(json!({
            "name": "c", "image": "app:1", "env": {"A": "1"}, "labels": {"team": "a"}, "restart_policy": "always",
            "published_ports": ["18080:8080"], "command": [], "detach": true,
            "healthcheck": {"test": ["CMD", "true"], "interval": "1s"}
        }));
        assert!(r.is_empty() && u.is_empty(), "{r:?} {u:?}");
    }

    #[test]
    fn bind_mounted_volumes_are_compared_as_binds_only() {
        let p = params(json!({"name": "c", "volumes": ["/srv/secret:/run/secret:ro"]}));
        let mut c = inspect();
        c["HostConfig"]["Binds"] = json!(["/srv/secret:/run/secret:ro"]);
        c["Config"]["Volumes"] = Value::Null;
        let cmp = Comparisons::new(None, false).unwrap();
        let (r, u) = differences(&p, &c, Some(&image()), &cmp, false).unwrap();
        assert!(r.is_empty() && u.is_empty(), "{:?} {:?}", r.names(), u.names());
        c["HostConfig"]["Binds"] = json!(["/srv/other:/run/secret:ro"]);
        let (r, _) = differences(&p, &c, Some(&image()), &cmp, false).unwrap();
        assert_eq!(r.names(), ["volume_binds"]);
    }

    #[test]
    fn changed_settings_are_found_and_restart_policy_is_updatable() {
        let (r, u) = diff_names(json!({
            "name": "c", "env": {"A": "2"}, "labels": {"team": "b"}, "restart_policy": "unless-stopped",
            "published_ports": ["18081:8080"], "command": "httpd -v", "memory": "64M"
        }));
        assert_eq!(r, ["command", "env", "labels", "published_ports"]);
        assert_eq!(u, ["memory", "restart_policy"]);
    }

    #[test]
    fn comparison_modes() {
        let p = params(json!({"name": "c", "env": {"A": "1"}, "labels": {"team": "a"}}));
        let strict = Comparisons::new(Some(&json!({"labels": "strict"}).as_object().unwrap().clone()), false).unwrap();
        let (r, _) = differences(&p, &inspect(), Some(&image()), &strict, false).unwrap();
        assert!(r.is_empty(), "image labels count as expected: {:?}", r.names());
        let star = json!({"*": "ignore", "env": "strict"});
        let ign = Comparisons::new(Some(star.as_object().unwrap()), false).unwrap();
        let p2 = params(json!({"name": "c", "labels": {"team": "zzz"}, "env": {"A": "1"}}));
        let (r, _) = differences(&p2, &inspect(), Some(&image()), &ign, false).unwrap();
        assert!(r.is_empty());
        assert!(Comparisons::new(Some(json!({"user": "allow_more_present"}).as_object().unwrap()), false).is_err());
        assert!(Comparisons::new(Some(json!({"bogus": "strict"}).as_object().unwrap()), false).is_err());
        assert!(Comparisons::new(
            Some(json!({"ports": "strict", "published_ports": "ignore"}).as_object().unwrap()),
            false
        )
        .is_err());
    }

    #[test]
    fn generic_comparisons() {
        use Kind::*;
        assert!(compare_generic(&json!(["a"]), &json!(["a", "b"]), Mode::AllowMorePresent, Set));
        assert!(!compare_generic(&json!(["a"]), &json!(["a", "b"]), Mode::Strict, Set));
        assert!(compare_generic(&json!([]), &serde_json::Value::Null, Mode::Strict, Set));
        assert!(!compare_generic(&json!(false), &serde_json::Value::Null, Mode::Strict, Value));
        assert!(compare_generic(&json!({"a": "1"}), &json!({"a": "1", "b": "2"}), Mode::AllowMorePresent, Dict));
        assert!(compare_generic(
            &json!([{"target": "/x"}]),
            &json!([{"target": "/x", "type": "volume"}]),
            Mode::Strict,
            SetDict
        ));
        assert!(compare_generic(&json!(["a", "c"]), &json!(["a", "b", "c"]), Mode::AllowMorePresent, List));
    }
}
