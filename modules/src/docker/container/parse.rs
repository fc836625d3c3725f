//! Pure parsers for docker_container's loose argument syntaxes, as community.docker reads them:
//! sizes (`512M`), durations (`1m30s`), published and exposed ports, volumes and env files.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Ansible's `human_to_bytes`: `512M`, `1G`, `1.5g`, `100KB`, `1024` (bytes) -> a byte count.
pub fn human_to_bytes(text: &str) -> Result<i64, String> {
    let s = text.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, unit) = (s[..split].trim(), s[split..].trim());
    let value: f64 = num.parse().map_err(|_| format!("human_to_bytes() can't interpret following string: {text}"))?;
    let unit = if unit.is_empty() { "B" } else { unit };
    let key = unit.chars().next().map(|c| c.to_ascii_uppercase()).unwrap_or('B');
    let power = "BKMGTPEZY".find(key).ok_or_else(|| format!("human_to_bytes() failed to convert {text}"))?;
    let rest = &unit[1..];
    if !(rest.is_empty() || (key != 'B' && rest.eq_ignore_ascii_case("b"))) {
        return Err(format!(
            "human_to_bytes() failed to convert {text}. Value is not a valid string (expected a number with an \
             optional unit B, K, KB, M, MB, G, GB...)"
        ));
    }
    Ok((value * 1024f64.powi(power as i32)).round() as i64)
}

/// community.docker's `convert_duration_to_nanosecond`: `1h2m3s4ms5us` (each part optional).
pub fn duration_to_ns(text: &str) -> Result<i64, String> {
    let re =
        regex::Regex::new(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?(?:(\d+)us)?$").map_err(|e| e.to_string())?;
    let invalid = || format!("Invalid time duration - {text} (use e.g. 30s, 1m30s, 500ms, 1h)");
    // `5ms` must not be read as 5 minutes followed by a stray `s`.
    let caps = re.captures(text).ok_or_else(invalid)?;
    let mult: [i64; 5] = [3_600_000_000_000, 60_000_000_000, 1_000_000_000, 1_000_000, 1_000];
    let mut total: i64 = 0;
    for (i, m) in mult.iter().enumerate() {
        if let Some(g) = caps.get(i + 1) {
            let n: i64 = g.as_str().parse().map_err(|_| invalid())?;
            total = n.checked_mul(*m).and_then(|v| total.checked_add(v)).ok_or_else(invalid)?;
        }
    }
    Ok(total)
}

fn parse_port_range(text: &str) -> Result<Vec<u32>, String> {
    if let Some((a, b)) = text.split_once('-') {
        let bad = || format!("Invalid port range: \"{text}\"");
        let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if b < a {
            return Err(bad());
        }
        Ok((a..=b).collect())
    } else {
        Ok(vec![text.parse().map_err(|_| format!("Invalid port: \"{text}\""))?])
    }
}

/// Splits on `:` keeping `[ipv6]` in one piece.
fn split_colon_ipv6(text: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = false;
    for c in text.chars() {
        match c {
            '[' => {
                depth = true;
                cur.push(c)
            }
            ']' => {
                depth = false;
                cur.push(c)
            }
            ':' if !depth => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if depth {
        return Err(format!("Cannot find closing \"]\" in input \"{text}\""));
    }
    parts.push(cur);
    Ok(parts)
}

/// Published ports: `"80"`, `"8080:80"`, `"127.0.0.1:8080:80"`, `"127.0.0.1::80"`, `"9000-9001:80-81/udp"`.
/// Returns Docker's `PortBindings` keyed `port/proto`, the host IP left as `default_ip` when not
/// given (community.docker's default `0.0.0.0`).
pub fn published_ports(specs: &[String], default_ip: &str) -> Result<BTreeMap<String, Vec<Value>>, String> {
    let mut binds: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let v4 = regex::Regex::new(r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$").map_err(|e| e.to_string())?;
    for spec in specs {
        if spec == "all" {
            return Err(
                "Specifying \"all\" in published_ports is no longer allowed. Set publish_all_ports to \"true\" \
                        instead to randomly assign port mappings for those not specified by published_ports."
                    .into(),
            );
        }
        let parts = split_colon_ipv6(spec)?;
        let last = parts.last().cloned().unwrap_or_default();
        let (cport, proto) = match last.split_once('/') {
            Some((p, proto)) => (p.to_string(), proto.to_string()),
            None => (last, "tcp".to_string()),
        };
        let cports = parse_port_range(&cport)?;
        let pairs: Vec<(String, String)> = match parts.len() {
            1 => cports.iter().map(|_| (default_ip.to_string(), String::new())).collect(),
            2 | 3 => {
                let ip = if parts.len() == 3 {
                    let ip = &parts[0];
                    let v6 = ip.starts_with('[') && ip.ends_with(']');
                    if !v4.is_match(ip) && !v6 {
                        return Err(format!(
                            "Bind addresses for published ports must be IPv4 or IPv6 addresses, not hostnames. \
                             Use the dig lookup to resolve hostnames. (Found hostname: {ip})"
                        ));
                    }
                    ip.trim_start_matches('[').trim_end_matches(']').to_string()
                } else {
                    default_ip.to_string()
                };
                let host = &parts[parts.len() - 2];
                if host.is_empty() {
                    cports.iter().map(|_| (ip.clone(), String::new())).collect()
                } else if cports.len() == 1 {
                    vec![(ip, host.clone())]
                } else {
                    let hports = parse_port_range(host)?;
                    if hports.len() != cports.len() {
                        return Err(format!(
                            "Invalid port description \"{spec}\": the host and container port ranges differ in length"
                        ));
                    }
                    hports.iter().map(|h| (ip.clone(), h.to_string())).collect()
                }
            }
            n => {
                return Err(format!(
                    "Invalid port description \"{spec}\" - expected 1 to 3 colon-separated parts, but got {n}. Maybe \
                     you forgot to use square brackets ([...]) around an IPv6 address?"
                ))
            }
        };
        for (cp, (ip, hp)) in cports.iter().zip(pairs) {
            binds.entry(format!("{cp}/{proto}")).or_default().push(json!({"HostIp": ip, "HostPort": hp}));
        }
    }
    Ok(binds)
}

/// Exposed ports (`"80"`, `"53/udp"`, `"9000-9002"`) as sorted `port/proto` strings.
pub fn exposed_ports(specs: &[String]) -> Result<Vec<String>, String> {
    let mut out = std::collections::BTreeSet::new();
    for spec in specs {
        let spec = spec.trim();
        let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
        let ports = parse_port_range(port).map_err(|e| format!("Cannot parse port {spec:?}: {e}"))?;
        for p in ports {
            out.insert((p, proto.to_string()));
        }
    }
    Ok(out.into_iter().map(|(p, proto)| format!("{p}/{proto}")).collect())
}

/// The mode suffixes a `volumes` entry may end with.
pub fn is_volume_permissions(mode: &str) -> bool {
    mode.split(',').all(|p| {
        matches!(
            p,
            "rw" | "ro"
                | "z"
                | "Z"
                | "consistent"
                | "delegated"
                | "cached"
                | "rprivate"
                | "private"
                | "rshared"
                | "shared"
                | "rslave"
                | "slave"
                | "nocopy"
        )
    })
}

/// `volumes` entries split as community.docker does: the normalised list, the binds
/// (`host:ctr:mode`) and the anonymous volumes (container paths). `home` expands a leading `~`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Volumes {
    /// Every entry, normalised (`/h:/c` becomes `/h:/c:rw`).
    pub all: Vec<String>,
    /// Bind mounts and named volumes, `source:target:mode`.
    pub binds: Vec<String>,
    /// Anonymous volumes (a bare container path, or `path:mode`).
    pub anonymous: Vec<String>,
}

/// Parses `volumes`.
pub fn volumes(specs: &[String], home: Option<&str>) -> Result<Volumes, String> {
    let mut v = Volumes::default();
    let mut seen = std::collections::HashSet::new();
    let expand = |h: &str| match (h.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
        _ => h.to_string(),
    };
    for spec in specs {
        let parts: Vec<&str> = spec.split(':').collect();
        let (entry, target, bind) = match parts.as_slice() {
            [h, c, m] => {
                if !is_volume_permissions(m) {
                    return Err(format!("Found invalid volumes mode: {m}"));
                }
                let e = format!("{}:{c}:{m}", expand(h));
                (e.clone(), c.to_string(), Some(e))
            }
            [h, c] if !is_volume_permissions(c) => {
                let e = format!("{}:{c}:rw", expand(h));
                (e.clone(), c.to_string(), Some(e))
            }
            [c, _] => (spec.clone(), c.to_string(), None),
            [c] => (spec.clone(), c.to_string(), None),
            _ => return Err(format!("Invalid volume specification \"{spec}\": expected host:container[:mode]")),
        };
        if !seen.insert(target.clone()) {
            return Err(format!("The mount point \"{target}\" appears twice in the volumes option"));
        }
        match bind {
            Some(b) => v.binds.push(b),
            None => v.anonymous.push(entry.clone()),
        }
        v.all.push(entry);
    }
    Ok(v)
}

/// docker-py's `parse_env_file`: `KEY=value` lines; `#` comments and blank lines skipped.
pub fn env_file(path: &str, text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for raw in text.lines() {
        if raw.starts_with('#') {
            continue;
        }
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), v.to_string())),
            None => return Err(format!("Invalid line in environment file {path}:\n{line}")),
        }
    }
    Ok(out)
}

pub use crate::docker::image::{is_image_name_id as is_image_id, parse_repository_tag as repository_tag};

/// The reference to look up or pull for an image parameter: `repo:tag`, `repo@digest`, or the ID.
pub fn image_reference(name: &str) -> String {
    if is_image_id(name) {
        return name.to_string();
    }
    let (repo, tag) = repository_tag(name);
    match tag {
        Some(t) if t.contains(':') && name.contains('@') => format!("{repo}@{t}"),
        Some(t) => format!("{repo}:{t}"),
        None => format!("{repo}:latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_to_bytes("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(human_to_bytes("1g"), Ok(1 << 30));
        assert_eq!(human_to_bytes("100KB"), Ok(102400));
        assert_eq!(human_to_bytes("1024"), Ok(1024));
        assert_eq!(human_to_bytes("1.5K"), Ok(1536));
        assert!(human_to_bytes("12 parsecs").is_err());
        assert!(human_to_bytes("M").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_to_ns("30s"), Ok(30_000_000_000));
        assert_eq!(duration_to_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(duration_to_ns("500ms"), Ok(500_000_000));
        assert_eq!(duration_to_ns("1h"), Ok(3_600_000_000_000));
        assert!(duration_to_ns("30").is_err());
        assert!(duration_to_ns("5 minutes").is_err());
    }

    #[test]
    fn ports() {
        let p = published_ports(&["8080:80".into(), "127.0.0.1:9000:90/udp".into(), "70".into()], "0.0.0.0").unwrap();
        assert_eq!(p["80/tcp"], vec![json!({"HostIp": "0.0.0.0", "HostPort": "8080"})]);
        assert_eq!(p["90/udp"], vec![json!({"HostIp": "127.0.0.1", "HostPort": "9000"})]);
        assert_eq!(p["70/tcp"], vec![json!({"HostIp": "0.0.0.0", "HostPort": ""})]);
        let r = published_ports(&["9000-9001:80-81".into()], "0.0.0.0").unwrap();
        assert_eq!(r["81/tcp"], vec![json!({"HostIp": "0.0.0.0", "HostPort": "9001"})]);
        let v6 = published_ports(&["[::1]:8080:80".into()], "0.0.0.0").unwrap();
        assert_eq!(v6["80/tcp"][0]["HostIp"], "::1");
        assert!(published_ports(&["myhost:8080:80".into()], "0.0.0.0").unwrap_err().contains("not hostnames"));
        assert!(published_ports(&["a:b:c:d".into()], "0.0.0.0").is_err());
        assert!(published_ports(&["x".into()], "0.0.0.0").unwrap_err().contains("Invalid port"));
        assert_eq!(
            exposed_ports(&["80".into(), "53/udp".into(), "9000-9001".into()]).unwrap(),
            ["53/udp", "80/tcp", "9000/tcp", "9001/tcp"]
        );
    }

    #[test]
    fn volume_specs() {
        let v =
            volumes(&["/srv:/data:ro".into(), "cache:/cache".into(), "/anon".into(), "~/x:/x".into()], Some("/home/u"))
                .unwrap();
        assert_eq!(v.binds, ["/srv:/data:ro", "cache:/cache:rw", "/home/u/x:/x:rw"]);
        assert_eq!(v.anonymous, ["/anon"]);
        assert!(volumes(&["/a:/b:bogus".into()], None).is_err());
        assert!(volumes(&["/a:/b".into(), "/c:/b".into()], None).unwrap_err().contains("twice"));
    }

    #[test]
    fn env_files() {
        let e = env_file("/e", "# c\nA=1\n\nB=x=y\n").unwrap();
        assert_eq!(e, vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]);
        assert!(env_file("/e", "NOEQUALS\n").is_err());
    }

    #[test]
    fn image_names() {
        assert_eq!(repository_tag("app:1"), ("app".into(), Some("1".into())));
        assert_eq!(repository_tag("reg:5000/app"), ("reg:5000/app".into(), None));
        assert_eq!(image_reference("reg:5000/app"), "reg:5000/app:latest");
        assert_eq!(image_reference("app@sha256:abc"), "app@sha256:abc");
        assert!(is_image_id(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_image_id("app:1"));
    }
}
