//! Pure parsers for `setup`: each turns the text a host printed (os-release, /proc files, `ip`
//! output, ...) into facts valued exactly as Ansible's fact collectors report them.

use serde_json::{json, Map, Value};

/// `KEY=value` lines of an os-release style file, with quotes removed.
pub fn parse_key_values(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.replace("\\\"", "\"")))
        })
        .collect()
}

/// Distribution names as Ansible prints them, by os-release `ID`.
const DISTRO_NAMES: &[(&str, &str)] = &[
    ("debian", "Debian"),
    ("ubuntu", "Ubuntu"),
    ("rocky", "Rocky"),
    ("almalinux", "AlmaLinux"),
    ("centos", "CentOS"),
    ("rhel", "RedHat"),
    ("fedora", "Fedora"),
    ("ol", "OracleLinux"),
    ("amzn", "Amazon"),
    ("opensuse-leap", "openSUSE Leap"),
    ("opensuse-tumbleweed", "openSUSE Tumbleweed"),
    ("sles", "SLES"),
    ("sled", "SLED"),
    ("arch", "Archlinux"),
    ("alpine", "Alpine"),
    ("linuxmint", "Linux Mint"),
    ("kali", "Kali"),
    ("devuan", "Devuan"),
    ("pop", "Pop!_OS"),
    ("raspbian", "Debian"),
    ("gentoo", "Gentoo"),
    ("manjaro", "Manjaro"),
];

/// Ansible's `OS_FAMILY_MAP`, inverted: distribution name -> family.
const OS_FAMILY: &[(&str, &[&str])] = &[
    (
        "RedHat",
        &[
            "RedHat",
            "RHEL",
            "Fedora",
            "CentOS",
            "Scientific",
            "SLC",
            "Ascendos",
            "CloudLinux",
            "PSBM",
            "OracleLinux",
            "OVS",
            "OEL",
            "Amazon",
            "Amzn",
            "Virtuozzo",
            "XenServer",
            "Alibaba",
            "EulerOS",
            "openEuler",
            "AlmaLinux",
            "Rocky",
            "TencentOS",
            "EuroLinux",
            "Kylin Linux Advanced Server",
            "MIRACLE",
        ],
    ),
    (
        "Debian",
        &[
            "Debian",
            "Ubuntu",
            "Raspbian",
            "Neon",
            "KDE neon",
            "Linux Mint",
            "SteamOS",
            "Devuan",
            "Kali",
            "Cumulus Linux",
            "Pop!_OS",
            "Parrot",
            "Pardus GNU/Linux",
            "Uos",
            "Deepin",
            "OSMC",
            "Linux Mint Debian Edition",
        ],
    ),
    (
        "Suse",
        &[
            "SuSE",
            "SLES",
            "SLED",
            "openSUSE",
            "openSUSE Tumbleweed",
            "SLES_SAP",
            "SUSE_LINUX",
            "openSUSE Leap",
            "ALP-Dolomite",
            "SL-Micro",
            "openSUSE MicroOS",
        ],
    ),
    ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
    ("Gentoo", &["Gentoo", "Funtoo"]),
    ("Alpine", &["Alpine"]),
    ("Slackware", &["Slackware"]),
    ("Altlinux", &["Altlinux"]),
    ("ClearLinux", &["Clear Linux OS", "Clear Linux Mix"]),
];

fn python_capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

/// Distribution facts (`distribution`, `distribution_version`, `distribution_major_version`,
/// `distribution_minor_version`, `distribution_release`, `os_family`) from the host's os-release
/// text and, for Debian, `/etc/debian_version` (which carries the point release, `12.11`).
pub fn parse_distribution(os_release: &str, debian_version: Option<&str>) -> Map<String, Value> {
    let kv = parse_key_values(os_release);
    let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let id = get("ID").unwrap_or_default();
    let name = DISTRO_NAMES.iter().find(|(i, _)| *i == id).map(|(_, n)| n.to_string()).unwrap_or_else(|| {
        if id.is_empty() {
            "OtherLinux".into()
        } else {
            python_capitalize(&id)
        }
    });
    let mut version = get("VERSION_ID").unwrap_or_default();
    if id == "debian" {
        if let Some(dv) = debian_version.map(str::trim) {
            if dv.starts_with(|c: char| c.is_ascii_digit()) {
                version = dv.to_string();
            }
        }
    }
    let release = get("VERSION_CODENAME")
        .or_else(|| get("UBUNTU_CODENAME"))
        .or_else(|| {
            let v = get("VERSION")?;
            let open = v.find('(')?;
            let close = v[open..].find(')')? + open;
            Some(v[open + 1..close].trim().to_string())
        })
        .unwrap_or_else(|| "NA".into());
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("").to_string();
    let minor = parts.next().map(str::to_string);
    let family = OS_FAMILY
        .iter()
        .find(|(_, names)| names.contains(&name.as_str()))
        .map(|(f, _)| f.to_string())
        .unwrap_or_else(|| name.clone());
    let mut m = Map::new();
    m.insert("distribution".into(), name.into());
    m.insert("distribution_version".into(), version.into());
    m.insert("distribution_major_version".into(), major.into());
    if let Some(minor) = minor {
        m.insert("distribution_minor_version".into(), minor.into());
    }
    m.insert("distribution_release".into(), release.into());
    m.insert("os_family".into(), family.into());
    m
}

/// `lsb` facts from `lsb_release -a` output, or else from `/etc/lsb-release`.
pub fn parse_lsb(lsb_release_out: &str, lsb_release_file: &str) -> Value {
    let mut m = Map::new();
    for line in lsb_release_out.lines() {
        let Some((_, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let key = if line.contains("LSB Version:") || line.contains("Release:") {
            "release"
        } else if line.contains("Distributor ID:") {
            "id"
        } else if line.contains("Description:") {
            "description"
        } else if line.contains("Codename:") {
            "codename"
        } else {
            continue;
        };
        m.insert(key.into(), value.into());
    }
    if m.is_empty() {
        for (k, v) in parse_key_values(lsb_release_file) {
            let key = match k.as_str() {
                "DISTRIB_ID" => "id",
                "DISTRIB_RELEASE" => "release",
                "DISTRIB_DESCRIPTION" => "description",
                "DISTRIB_CODENAME" => "codename",
                _ => continue,
            };
            m.insert(key.into(), v.into());
        }
    }
    if let Some(r) = m.get("release").and_then(Value::as_str) {
        let major = r.split('.').next().unwrap_or("").to_string();
        m.insert("major_release".into(), major.into());
    }
    for v in m.values_mut() {
        if let Some(s) = v.as_str() {
            *v = s.trim_matches(|c| c == '"' || c == '\'' || c == '\\').into();
        }
    }
    Value::Object(m)
}

/// CPU facts from /proc/cpuinfo, with Ansible's counting rules (including its quirks), and
/// `processor_nproc` from `nproc` (the CPUs this process may run on).
pub fn parse_cpuinfo(cpuinfo: &str, nproc: Option<u64>) -> Map<String, Value> {
    let mut processor = Vec::new();
    let (mut vendor, mut model, mut procs, mut i) = (0u64, 0u64, 0u64, 0u64);
    let mut physid = String::from("0");
    let mut coreid = String::from("0");
    let mut sockets: Vec<(String, u64)> = Vec::new();
    let mut cores: Vec<(String, u64)> = Vec::new();
    let mut flags: Option<Vec<Value>> = None;
    fn set(v: &mut Vec<(String, u64)>, k: &str, n: u64) {
        match v.iter_mut().find(|(key, _)| key == k) {
            Some(e) => e.1 = n,
            None => v.push((k.to_string(), n)),
        }
    }
    for line in cpuinfo.lines() {
        let (key, val) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line.trim(), ""),
        };
        match key {
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(Value::from(val));
                match key {
                    "vendor_id" => vendor += 1,
                    "model name" => model += 1,
                    "processor" => procs += 1,
                    _ => {}
                }
                i += 1;
            }
            "physical id" => {
                physid = val.to_string();
                if !sockets.iter().any(|(k, _)| *k == physid) {
                    sockets.push((physid.clone(), 1));
                }
            }
            "core id" => {
                coreid = val.to_string();
                // Ansible checks `sockets` here, not `cores`; kept for identical results.
                if !sockets.iter().any(|(k, _)| *k == coreid) {
                    set(&mut cores, &coreid, 1);
                }
            }
            "flags" => flags = Some(val.split_whitespace().map(Value::from).collect::<Vec<_>>()),
            "cpu cores" => set(&mut sockets, &physid, val.parse().unwrap_or(0)),
            "siblings" => set(&mut cores, &coreid, val.parse().unwrap_or(0)),
            _ => {}
        }
    }
    if vendor > 0 && vendor == model {
        i = vendor;
    }
    let count = if sockets.is_empty() { i } else { sockets.len() as u64 };
    let cores_per = match sockets.first() {
        Some((_, n)) if *n > 0 => *n,
        _ => 1,
    };
    let threads = match cores.first() {
        Some((_, n)) => (*n as f64 / cores_per as f64).round_ties_even() as u64,
        None => (1.0 / cores_per as f64).round_ties_even() as u64,
    };
    let mut m = Map::new();
    if let Some(flags) = flags {
        m.insert("flags".into(), Value::Array(flags));
    }
    m.insert("processor".into(), Value::Array(processor));
    m.insert("processor_count".into(), count.into());
    m.insert("processor_cores".into(), cores_per.into());
    m.insert("processor_threads_per_core".into(), threads.into());
    m.insert("processor_vcpus".into(), (threads * count * cores_per).into());
    m.insert("processor_nproc".into(), nproc.unwrap_or(procs).into());
    m
}

/// Memory facts from /proc/meminfo (MB, rounded down, as Ansible).
pub fn parse_meminfo(meminfo: &str) -> Map<String, Value> {
    let get = |k: &str| -> Option<u64> {
        meminfo.lines().find_map(|l| {
            let (key, rest) = l.split_once(':')?;
            (key.trim() == k).then(|| rest.split_whitespace().next()?.parse::<u64>().ok()).flatten()
        })
    };
    let mb = |k: &str| get(k).map(|kb| kb / 1024);
    let mut m = Map::new();
    let (Some(total), Some(free)) = (mb("MemTotal"), mb("MemFree")) else {
        return m;
    };
    let swap_total = mb("SwapTotal").unwrap_or(0);
    let swap_free = mb("SwapFree").unwrap_or(0);
    let nocache_free = free + mb("Buffers").unwrap_or(0) + mb("Cached").unwrap_or(0);
    m.insert("memtotal_mb".into(), total.into());
    m.insert("memfree_mb".into(), free.into());
    m.insert("swaptotal_mb".into(), swap_total.into());
    m.insert("swapfree_mb".into(), swap_free.into());
    m.insert(
        "memory_mb".into(),
        json!({
            "nocache": {"free": nocache_free, "used": total.saturating_sub(nocache_free)},
            "real": {"free": free, "total": total, "used": total.saturating_sub(free)},
            "swap": {"cached": mb("SwapCached").unwrap_or(0), "free": swap_free, "total": swap_total, "used": swap_total.saturating_sub(swap_free)},
        }),
    );
    m
}

/// `dns` facts from resolv.conf.
pub fn parse_resolv_conf(text: &str) -> Value {
    let mut m = Map::new();
    for line in text.lines() {
        if line.starts_with('#') || line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let rest: Vec<Value> = tokens[1..].iter().map(|t| Value::from(*t)).collect();
        match tokens[0] {
            "nameserver" => {
                if let Value::Array(a) = m.entry("nameservers").or_insert_with(|| Value::Array(vec![])) {
                    a.extend(rest);
                }
            }
            "domain" if tokens.len() > 1 => {
                m.insert("domain".into(), tokens[1].into());
            }
            "search" => {
                m.insert("search".into(), Value::Array(rest));
            }
            "sortlist" => {
                m.insert("sortlist".into(), Value::Array(rest));
            }
            "options" => {
                let mut o = Map::new();
                for opt in &tokens[1..] {
                    match opt.split_once(':') {
                        Some((k, v)) if !v.is_empty() => o.insert(k.into(), v.into()),
                        Some((k, _)) => o.insert(k.into(), true.into()),
                        None => o.insert(opt.to_string(), true.into()),
                    };
                }
                m.insert("options".into(), Value::Object(o));
            }
            _ => {}
        }
    }
    Value::Object(m)
}

/// `cmdline` and `proc_cmdline` from /proc/cmdline (`proc_cmdline` keeps repeated keys as lists).
pub fn parse_cmdline(text: &str) -> (Value, Value) {
    let mut cmdline = Map::new();
    let mut proc = Map::new();
    for piece in text.split_whitespace() {
        let (k, v) = match piece.split_once('=') {
            Some((k, v)) => (k, Value::from(v)),
            None => (piece, Value::Bool(true)),
        };
        cmdline.insert(k.into(), v.clone());
        match proc.get_mut(k) {
            None => {
                proc.insert(k.into(), v);
            }
            Some(Value::Array(a)) => a.push(v),
            Some(old) => *old = Value::Array(vec![old.clone(), v]),
        }
    }
    (Value::Object(cmdline), Value::Object(proc))
}

/// What `ip -4 route get 8.8.8.8` (or the v6 form) says: `interface`, `address`, `gateway`.
pub fn parse_route_get(out: &str, target: &str) -> Map<String, Value> {
    let mut m = Map::new();
    let words: Vec<&str> = out.lines().next().unwrap_or("").split_whitespace().collect();
    if words.first() != Some(&target) {
        return m;
    }
    for w in words.windows(2) {
        match w[0] {
            "dev" => m.insert("interface".into(), w[1].into()),
            "src" => m.insert("address".into(), w[1].into()),
            "via" if w[1] != target => m.insert("gateway".into(), w[1].into()),
            _ => None,
        };
    }
    m
}

/// Network mask and network address for an IPv4 address and prefix length.
pub fn ipv4_net(address: &str, prefix: u32) -> Option<(String, String)> {
    let a: std::net::Ipv4Addr = address.parse().ok()?;
    let bits = u32::from(a);
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix.min(32)) };
    Some((std::net::Ipv4Addr::from(mask).to_string(), std::net::Ipv4Addr::from(bits & mask).to_string()))
}

/// Ansible's interface `type` from /sys/class/net/X/type.
pub fn interface_type(code: &str) -> &'static str {
    match code.trim() {
        "1" => "ether",
        "32" => "infiniband",
        "512" => "ppp",
        "772" => "loopback",
        "65534" => "tunnel",
        _ => "unknown",
    }
}

/// Python's `datetime` fields for UTC from an epoch: `(Y-m-d, H:M:S)`.
pub fn utc_parts(epoch: i64) -> (String, String) {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (format!("{y:04}-{m:02}-{d:02}"), format!("{:02}:{:02}:{:02}", secs / 3600, (secs % 3600) / 60, secs % 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN12: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"#;
    const UBUNTU2204: &str = r#"PRETTY_NAME="Ubuntu 22.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.3 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy
"#;
    const ROCKY9: &str = r#"NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
"#;

    fn dist(os: &str, dv: Option<&str>) -> Value {
        Value::Object(parse_distribution(os, dv))
    }

    #[test]
    fn debian_12_uses_debian_version() {
        assert_eq!(
            dist(DEBIAN12, Some("12.11\n")),
            json!({"distribution": "Debian", "distribution_version": "12.11",
                   "distribution_major_version": "12", "distribution_minor_version": "11",
                   "distribution_release": "bookworm", "os_family": "Debian"})
        );
    }

    #[test]
    fn ubuntu_22_04() {
        assert_eq!(
            dist(UBUNTU2204, Some("bookworm/sid")),
            json!({"distribution": "Ubuntu", "distribution_version": "22.04",
                   "distribution_major_version": "22", "distribution_minor_version": "04",
                   "distribution_release": "jammy", "os_family": "Debian"})
        );
    }

    #[test]
    fn rocky_9() {
        assert_eq!(
            dist(ROCKY9, None),
            json!({"distribution": "Rocky", "distribution_version": "9.3",
                   "distribution_major_version": "9", "distribution_minor_version": "3",
                   "distribution_release": "Blue Onyx", "os_family": "RedHat"})
        );
    }

    #[test]
    fn cpu_counts_follow_ansible() {
        let two_cores = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\n\nprocessor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\n";
        let m = Value::Object(parse_cpuinfo(two_cores, Some(2)));
        assert_eq!(m["processor"], json!(["0", "AuthenticAMD", "AMD EPYC", "1", "AuthenticAMD", "AMD EPYC"]));
        assert_eq!(m["processor_count"], 1);
        assert_eq!(m["processor_cores"], 2);
        assert_eq!(m["processor_threads_per_core"], 1);
        assert_eq!(m["processor_vcpus"], 2);
        assert_eq!(m["processor_nproc"], 2);
    }

    #[test]
    fn memory_in_mb() {
        let m = Value::Object(parse_meminfo("MemTotal:       24683520 kB\nMemFree:        22842368 kB\nBuffers:   1024 kB\nCached:  1024000 kB\nSwapCached: 0 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\n"));
        assert_eq!(m["memtotal_mb"], 24105);
        assert_eq!(m["memfree_mb"], 22307);
        assert_eq!(m["memory_mb"]["nocache"]["free"], 22307 + 1 + 1000);
        assert_eq!(m["memory_mb"]["swap"]["used"], 1);
    }

    #[test]
    fn resolv_lsb_cmdline_routes() {
        assert_eq!(
            parse_resolv_conf("# c\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch a b\noptions ndots:2 rotate\n"),
            json!({"nameservers": ["10.0.0.1", "10.0.0.2"], "search": ["a", "b"], "options": {"ndots": "2", "rotate": true}})
        );
        assert_eq!(
            parse_lsb("No LSB modules are available.\nDistributor ID:\tDebian\nDescription:\tDebian GNU/Linux 12 (bookworm)\nRelease:\t12\nCodename:\tbookworm\n", ""),
            json!({"id": "Debian", "description": "Debian GNU/Linux 12 (bookworm)", "release": "12", "codename": "bookworm", "major_release": "12"})
        );
        assert_eq!(
            parse_lsb("", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION=\"Ubuntu 22.04.3 LTS\"\n"),
            json!({"id": "Ubuntu", "release": "22.04", "codename": "jammy", "description": "Ubuntu 22.04.3 LTS", "major_release": "22"})
        );
        let (c, p) = parse_cmdline("ro quiet console=tty0 console=ttyS0\n");
        assert_eq!(c, json!({"ro": true, "quiet": true, "console": "ttyS0"}));
        assert_eq!(p["console"], json!(["tty0", "ttyS0"]));
        assert_eq!(
            Value::Object(parse_route_get(
                "8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \n    cache \n",
                "8.8.8.8"
            )),
            json!({"gateway": "192.0.2.1", "interface": "eth0", "address": "192.0.2.2"})
        );
        assert_eq!(ipv4_net("192.0.2.2", 24), Some(("255.255.255.0".into(), "192.0.2.0".into())));
        assert_eq!(utc_parts(1_795_268_170), ("2026-11-21".into(), "13:36:10".into()));
        assert_eq!(utc_parts(0), ("1970-01-01".into(), "00:00:00".into()));
    }
}
