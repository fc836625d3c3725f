//! docker_network's comparison of a network's inspect JSON with the task's wishes, as
//! community.docker does it (`has_different_config`): only what the task sets is compared, IPAM
//! pools match when the task's non-empty fields equal a pool's (addresses normalised).

use std::net::IpAddr;

use serde_json::{Map, Value};

/// One IPAM pool as the task gives it (`ipam_config` item).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct IpamPool {
    /// Subnet in CIDR form.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub subnet: Option<String>,
    /// Range of addresses to allocate from, CIDR.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub iprange: Option<String>,
    /// Gateway address.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub gateway: Option<String>,
    /// Reserved addresses by host name.
    #[serde(default)]
    pub aux_addresses: Option<Map<String, Value>>,
}

impl IpamPool {
    /// The pool as the create API wants it.
    pub fn to_api(&self) -> Value {
        serde_json::json!({
            "Subnet": self.subnet,
            "IPRange": self.iprange,
            "Gateway": self.gateway,
            "AuxiliaryAddresses": self.aux_addresses,
        })
    }

    /// The task's non-empty fields, normalised, keyed by Ansible's names.
    fn normalized(&self) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        if let Some(s) = &self.subnet {
            out.push(("subnet", Value::String(normalize_network(s))));
        }
        if let Some(s) = &self.iprange {
            out.push(("iprange", Value::String(normalize_network(s))));
        }
        if let Some(s) = &self.gateway {
            out.push(("gateway", Value::String(normalize_address(s))));
        }
        if let Some(m) = &self.aux_addresses {
            out.push(("aux_addresses", normalize_aux(m)));
        }
        out
    }
}

fn normalize_aux(m: &Map<String, Value>) -> Value {
    Value::Object(
        m.iter().map(|(k, v)| (k.clone(), Value::String(normalize_address(v.as_str().unwrap_or_default())))).collect(),
    )
}

/// A daemon pool (`IPAM.Config[i]`) normalised and keyed by Ansible's names.
fn daemon_pool(pool: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    let s = |k: &str| pool.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    if let Some(v) = s("Subnet") {
        out.insert("subnet".into(), Value::String(normalize_network(v)));
    }
    if let Some(v) = s("IPRange") {
        out.insert("iprange".into(), Value::String(normalize_network(v)));
    }
    if let Some(v) = s("Gateway") {
        out.insert("gateway".into(), Value::String(normalize_address(v)));
    }
    if let Some(m) = pool.get("AuxiliaryAddresses").and_then(Value::as_object) {
        out.insert("aux_addresses".into(), normalize_aux(m));
    }
    out
}

/// `a.b.c.d/n` with host bits cleared and IPv6 compressed (Python's `ip_network(strict=False)`);
/// text that is not a CIDR is returned as it is.
pub fn normalize_network(cidr: &str) -> String {
    let Some((addr, len)) = cidr.split_once('/') else { return cidr.to_string() };
    let (Ok(ip), Ok(len)) = (addr.parse::<IpAddr>(), len.parse::<u32>()) else { return cidr.to_string() };
    match ip {
        IpAddr::V4(v4) if len <= 32 => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            format!("{}/{len}", std::net::Ipv4Addr::from(u32::from(v4) & mask))
        }
        IpAddr::V6(v6) if len <= 128 => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
            format!("{}/{len}", std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
        _ => cidr.to_string(),
    }
}

/// An IP address in canonical form (IPv6 compressed); other text unchanged.
pub fn normalize_address(addr: &str) -> String {
    addr.parse::<IpAddr>().map(|ip| ip.to_string()).unwrap_or_else(|_| addr.to_string())
}

/// Whether `cidr` is a CIDR community.docker accepts.
pub fn valid_cidr(cidr: &str) -> bool {
    let Some((addr, len)) = cidr.split_once('/') else { return false };
    match (addr.parse::<IpAddr>(), len.parse::<u32>()) {
        (Ok(IpAddr::V4(_)), Ok(l)) => l <= 32,
        (Ok(IpAddr::V6(_)), Ok(l)) => l <= 128,
        _ => false,
    }
}

/// One difference: what it is, the task's value and the network's.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// `driver`, `labels.KEY`, `ipam_config[0].subnet`...
    pub name: String,
    /// What the task asks for.
    pub parameter: Value,
    /// What the network has.
    pub active: Value,
}

/// What the task wants compared (only the fields it sets).
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Network driver.
    pub driver: Option<String>,
    /// Driver options (values as strings).
    pub driver_options: Map<String, Value>,
    /// IPAM driver.
    pub ipam_driver: Option<String>,
    /// IPAM driver options.
    pub ipam_driver_options: Option<Map<String, Value>>,
    /// IPAM pools.
    pub ipam_config: Option<Vec<IpamPool>>,
    /// Booleans by inspect key (`Internal`, `Attachable`, `EnableIPv6`, `Ingress`, `ConfigOnly`).
    pub flags: Vec<(&'static str, &'static str, bool)>,
    /// Scope.
    pub scope: Option<String>,
    /// Labels.
    pub labels: Map<String, Value>,
    /// Network whose config this one uses.
    pub config_from: Option<String>,
}

/// The differences between `net` (inspect JSON) and `d`.
pub fn differences(net: &Value, d: &Desired) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut add = |name: String, parameter: Value, active: Value| out.push(Difference { name, parameter, active });
    if let Some(from) = &d.config_from {
        let active = net.pointer("/ConfigFrom/Network").cloned().unwrap_or(Value::String(String::new()));
        if active.as_str() != Some(from) {
            add("config_from".into(), Value::String(from.clone()), active);
        }
    }
    if let Some(driver) = &d.driver {
        if net.get("Driver").and_then(Value::as_str) != Some(driver) {
            add("driver".into(), Value::String(driver.clone()), net.get("Driver").cloned().unwrap_or(Value::Null));
        }
    }
    compare_map(&mut add, "driver_options", &d.driver_options, net.get("Options"));
    if let Some(drv) = &d.ipam_driver {
        if net.pointer("/IPAM/Driver").and_then(Value::as_str) != Some(drv) {
            add("ipam_driver".into(), Value::String(drv.clone()), net.get("IPAM").cloned().unwrap_or(Value::Null));
        }
    }
    if let Some(opts) = &d.ipam_driver_options {
        let active = net.pointer("/IPAM/Options").and_then(Value::as_object).cloned().unwrap_or_default();
        if &active != opts {
            add("ipam_driver_options".into(), Value::Object(opts.clone()), Value::Object(active));
        }
    }
    if let Some(pools) = d.ipam_config.as_ref().filter(|p| !p.is_empty()) {
        let active: Vec<Value> = net.pointer("/IPAM/Config").and_then(Value::as_array).cloned().unwrap_or_default();
        if active.is_empty() {
            let want = Value::Array(pools.iter().map(IpamPool::to_api).collect());
            add("ipam_config".into(), want, net.pointer("/IPAM/Config").cloned().unwrap_or(Value::Null));
        } else {
            let daemon: Vec<Map<String, Value>> = active.iter().map(daemon_pool).collect();
            for (idx, pool) in pools.iter().enumerate() {
                let want = pool.normalized();
                let matching = daemon.iter().find(|have| want.iter().all(|(k, v)| have.get(*k) == Some(v)));
                let empty = Map::new();
                let have = matching.unwrap_or(&empty);
                for (k, v) in want {
                    if have.get(k) != Some(&v) {
                        add(format!("ipam_config[{idx}].{k}"), v, have.get(k).cloned().unwrap_or(Value::Null));
                    }
                }
            }
        }
    }
    for (key, name, want) in &d.flags {
        let active = net.get(*key).and_then(Value::as_bool).unwrap_or(false);
        if active != *want {
            add((*name).to_string(), Value::Bool(*want), Value::Bool(active));
        }
    }
    if let Some(scope) = &d.scope {
        if net.get("Scope").and_then(Value::as_str) != Some(scope) {
            add("scope".into(), Value::String(scope.clone()), net.get("Scope").cloned().unwrap_or(Value::Null));
        }
    }
    compare_map(&mut add, "labels", &d.labels, net.get("Labels"));
    out
}

fn compare_map(
    add: &mut impl FnMut(String, Value, Value),
    name: &str,
    want: &Map<String, Value>,
    have: Option<&Value>,
) {
    if want.is_empty() {
        return;
    }
    match have.and_then(Value::as_object).filter(|m| !m.is_empty()) {
        None => add(name.to_string(), Value::Object(want.clone()), have.cloned().unwrap_or(Value::Null)),
        Some(have) => {
            for (k, v) in want {
                if have.get(k) != Some(v) {
                    add(format!("{name}.{k}"), v.clone(), have.get(k).cloned().unwrap_or(Value::Null));
                }
            }
        }
    }
}

/// Names of the containers attached to the network (inspect `Containers`).
pub fn container_names(net: &Value) -> Vec<String> {
    net.get("Containers")
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(|c| c.get("Name").and_then(Value::as_str).map(str::to_string)).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalises_addresses() {
        assert_eq!(normalize_network("172.30.5.7/24"), "172.30.5.0/24");
        assert_eq!(normalize_network("fd00:0:0::1/64"), "fd00::/64");
        assert_eq!(normalize_address("fd00:0::1"), "fd00::1");
        assert!(valid_cidr("10.0.0.0/8") && !valid_cidr("10.0.0.0") && !valid_cidr("10.0.0.0/33"));
    }

    fn net() -> Value {
        json!({
            "Name": "n", "Driver": "bridge", "Internal": false, "Attachable": true, "Scope": "local",
            "Options": {"com.docker.network.bridge.name": "br0"},
            "IPAM": {"Driver": "default", "Options": null, "Config": [{"Subnet": "172.30.0.0/16", "Gateway": "172.30.0.1"}]},
            "Labels": {"a": "1"},
            "Containers": {"x": {"Name": "c1"}}
        })
    }

    #[test]
    fn same_config_has_no_differences() {
        let d = Desired {
            driver: Some("bridge".into()),
            ipam_config: Some(vec![IpamPool { subnet: Some("172.30.0.0/16".into()), ..Default::default() }]),
            labels: json!({"a": "1"}).as_object().cloned().unwrap(),
            flags: vec![("Attachable", "attachable", true)],
            ..Default::default()
        };
        assert_eq!(differences(&net(), &d), vec![]);
        assert_eq!(container_names(&net()), vec!["c1"]);
    }

    #[test]
    fn reports_each_difference() {
        let d = Desired {
            driver: Some("macvlan".into()),
            ipam_config: Some(vec![IpamPool {
                subnet: Some("172.31.0.0/16".into()),
                gateway: Some("172.31.0.1".into()),
                ..Default::default()
            }]),
            labels: json!({"a": "2", "b": "3"}).as_object().cloned().unwrap(),
            flags: vec![("Internal", "internal", true)],
            ..Default::default()
        };
        let names: Vec<String> = differences(&net(), &d).into_iter().map(|d| d.name).collect();
        assert_eq!(
            names,
            ["driver", "ipam_config[0].subnet", "ipam_config[0].gateway", "internal", "labels.a", "labels.b"]
        );
    }
}
