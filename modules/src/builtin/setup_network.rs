//! Network facts for `setup`: interfaces from /sys/class/net and `ip addr show`, the default
//! IPv4/IPv6 routes from `ip route get`, parsed as Ansible's Linux network collector does.

use serde_json::{json, Map, Value};

use super::setup::{section, Sections};
use super::setup_facts as facts;

/// The network facts: interfaces, per-interface dicts, default routes, all addresses.
pub(crate) fn network(s: &Sections) -> Map<String, Value> {
    let mut default4 = facts::parse_route_get(section(s, "route4"), "8.8.8.8");
    let mut default6 = facts::parse_route_get(section(s, "route6"), "2404:6800:400a:800::1012");
    let mut ifaces: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut all4: Vec<Value> = Vec::new();
    let mut all6: Vec<Value> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let Some(dev) = s[i].0.strip_prefix("iface ") else {
            i += 1;
            continue;
        };
        let dev = dev.to_string();
        let mut d = Map::new();
        d.insert("device".into(), dev.clone().into());
        let mut mac = String::new();
        for line in s[i].1.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k {
                "address" => {
                    mac = v.to_string();
                    if !v.is_empty() && v != "00:00:00:00:00:00" {
                        d.insert("macaddress".into(), v.into());
                    }
                }
                "mtu" => {
                    d.insert("mtu".into(), v.parse::<i64>().map(Value::from).unwrap_or(Value::Null));
                }
                "operstate" => {
                    d.insert("active".into(), (v != "down").into());
                }
                "module" => {
                    d.insert("module".into(), v.into());
                }
                "type" if !d.contains_key("interfaces") => {
                    d.insert("type".into(), facts::interface_type(v).into());
                }
                "bridge" => {
                    d.insert("type".into(), "bridge".into());
                }
                "brif" => {
                    let l: Vec<Value> = v.split_whitespace().map(Value::from).collect();
                    d.insert("interfaces".into(), l.into());
                }
                "bridge_id" => {
                    d.insert("id".into(), v.into());
                }
                "stp_state" => {
                    d.insert("stp".into(), (v == "1").into());
                }
                "pciid" => {
                    d.insert("pciid".into(), v.into());
                }
                "speed" => {
                    if let Ok(n) = v.trim().parse::<i64>() {
                        d.insert("speed".into(), n.into());
                    }
                }
                "flags" => {
                    let n = i64::from_str_radix(v.trim().trim_start_matches("0x"), 16).unwrap_or(0);
                    d.insert("promisc".into(), (n & 0x100 != 0).into());
                }
                _ => {}
            }
        }
        let mut extra: Vec<(String, Map<String, Value>)> = Vec::new();
        for (name, secondary) in [("ipp", false), ("ips", true)] {
            if s.get(i + 1).map(|x| x.0.as_str()) == Some(name) {
                i += 1;
                parse_ip_addr(
                    &s[i].1,
                    secondary,
                    &dev,
                    &mac,
                    &mut d,
                    &mut extra,
                    &mut default4,
                    &mut default6,
                    &mut all4,
                    &mut all6,
                );
            }
        }
        ifaces.push((dev.clone(), d));
        for (n, m) in extra {
            match ifaces.iter_mut().find(|(x, _)| *x == n) {
                Some(e) => e.1 = m,
                None => ifaces.push((n, m)),
            }
        }
        i += 1;
    }
    let mut out = Map::new();
    out.insert(
        "interfaces".into(),
        ifaces.iter().map(|(n, _)| Value::from(n.replace(':', "_"))).collect::<Vec<_>>().into(),
    );
    for (n, d) in ifaces {
        out.insert(n, Value::Object(d));
    }
    out.insert("default_ipv4".into(), Value::Object(default4));
    out.insert("default_ipv6".into(), Value::Object(default6));
    out.insert("all_ipv4_addresses".into(), all4.into());
    out.insert("all_ipv6_addresses".into(), all6.into());
    let (mut l4, mut l6): (Vec<Value>, Vec<Value>) = (vec![], vec![]);
    for line in section(s, "local_routes").lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() < 2 || w[0] != "local" {
            continue;
        }
        let list = if w[1].contains(':') { &mut l6 } else { &mut l4 };
        if !list.contains(&Value::from(w[1])) {
            list.push(w[1].into());
        }
    }
    out.insert("locally_reachable_ips".into(), json!({"ipv4": l4, "ipv6": l6}));
    out
}

/// Ansible's `parse_ip_output` for one device's `ip addr show` text.
#[allow(clippy::too_many_arguments)]
fn parse_ip_addr(
    text: &str,
    secondary: bool,
    dev: &str,
    mac: &str,
    d: &mut Map<String, Value>,
    extra: &mut Vec<(String, Map<String, Value>)>,
    default4: &mut Map<String, Value>,
    default6: &mut Map<String, Value>,
    all4: &mut Vec<Value>,
    all6: &mut Vec<Value>,
) {
    for line in text.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.is_empty() {
            continue;
        }
        if w[0] == "inet" && w.len() > 1 {
            let (address, prefix) = match w[1].split_once('/') {
                Some((a, p)) => (a.to_string(), p.to_string()),
                None => (w[1].to_string(), "32".to_string()),
            };
            let broadcast = if w[1].contains('/') && w.len() > 3 && w[2] == "brd" { w[3] } else { "" };
            let Some((netmask, network)) = facts::ipv4_net(&address, prefix.parse().unwrap_or(32)) else {
                continue;
            };
            let entry = json!({"address": address, "broadcast": broadcast, "netmask": netmask, "network": network, "prefix": prefix});
            let label = w[w.len() - 1];
            let target: &mut Map<String, Value> = if label != dev {
                match extra.iter().position(|(n, _)| n == label) {
                    Some(p) => &mut extra[p].1,
                    None => {
                        extra.push((label.to_string(), Map::new()));
                        let last = extra.len() - 1;
                        &mut extra[last].1
                    }
                }
            } else {
                d
            };
            if !secondary && !target.contains_key("ipv4") {
                target.insert("ipv4".into(), entry.clone());
            } else if let Value::Array(a) = target.entry("ipv4_secondaries").or_insert_with(|| Value::Array(vec![])) {
                a.push(entry.clone());
            }
            if secondary && label != dev {
                if let Value::Array(a) = d.entry("ipv4_secondaries").or_insert_with(|| Value::Array(vec![])) {
                    a.push(entry.clone());
                }
            }
            if default4.get("address").and_then(Value::as_str) == Some(address.as_str()) {
                default4.insert("broadcast".into(), broadcast.into());
                default4.insert("netmask".into(), entry["netmask"].clone());
                default4.insert("network".into(), entry["network"].clone());
                default4.insert("prefix".into(), prefix.clone().into());
                default4.insert("macaddress".into(), mac.into());
                default4.insert("mtu".into(), d.get("mtu").cloned().unwrap_or(Value::Null));
                default4.insert("type".into(), d.get("type").cloned().unwrap_or_else(|| "unknown".into()));
                default4.insert("alias".into(), label.into());
            }
            if !address.starts_with("127.") {
                all4.push(address.into());
            }
        } else if w[0] == "inet6" && w.len() > 3 {
            let (address, prefix, scope) = if w[2] == "peer" && w.len() > 5 {
                let p = w[3].split_once('/').map(|x| x.1).unwrap_or("");
                (w[1].to_string(), p.to_string(), w[5].to_string())
            } else {
                let (a, p) = w[1].split_once('/').unwrap_or((w[1], ""));
                (a.to_string(), p.to_string(), w[3].to_string())
            };
            if let Value::Array(a) = d.entry("ipv6").or_insert_with(|| Value::Array(vec![])) {
                a.push(json!({"address": address, "prefix": prefix, "scope": scope}));
            }
            if default6.get("address").and_then(Value::as_str) == Some(address.as_str()) {
                default6.insert("prefix".into(), prefix.into());
                default6.insert("scope".into(), scope.into());
                default6.insert("macaddress".into(), mac.into());
                default6.insert("mtu".into(), d.get("mtu").cloned().unwrap_or(Value::Null));
                default6.insert("type".into(), d.get("type").cloned().unwrap_or_else(|| "unknown".into()));
            }
            if address != "::1" {
                all6.push(address.into());
            }
        }
    }
}
