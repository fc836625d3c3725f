//! System facts for `setup` decided the way Ansible's collectors decide them: fqdn, date_time,
//! DMI, pkg_mgr, service_mgr and virtualization, each from a section of the gathering script.

use serde_json::{json, Value};

use super::setup::{section, Sections};
use super::setup_facts as facts;

/// Ansible's DMI facts from /sys/devices/virtual/dmi/id (`NA` for what cannot be read).
pub(crate) fn dmi_facts(text: &str) -> Vec<(&'static str, Value)> {
    const FORM_FACTOR: &[&str] = &[
        "Unknown",
        "Other",
        "Unknown",
        "Desktop",
        "Low Profile Desktop",
        "Pizza Box",
        "Mini Tower",
        "Tower",
        "Portable",
        "Laptop",
        "Notebook",
        "Hand Held",
        "Docking Station",
        "All In One",
        "Sub Notebook",
        "Space-saving",
        "Lunch Box",
        "Main Server Chassis",
        "Expansion Chassis",
        "Sub Chassis",
        "Bus Expansion Chassis",
        "Peripheral Chassis",
        "RAID Chassis",
        "Rack Mount Chassis",
        "Sealed-case PC",
        "Multi-system",
        "CompactPCI",
        "AdvancedTCA",
        "Blade",
        "Blade Enclosure",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoT Gateway",
        "Embedded PC",
        "Mini PC",
        "Stick PC",
    ];
    const KEYS: &[(&str, &str)] = &[
        ("bios_date", "bios_date"),
        ("bios_vendor", "bios_vendor"),
        ("bios_version", "bios_version"),
        ("board_asset_tag", "board_asset_tag"),
        ("board_name", "board_name"),
        ("board_serial", "board_serial"),
        ("board_vendor", "board_vendor"),
        ("board_version", "board_version"),
        ("chassis_asset_tag", "chassis_asset_tag"),
        ("chassis_serial", "chassis_serial"),
        ("chassis_vendor", "chassis_vendor"),
        ("chassis_version", "chassis_version"),
        ("form_factor", "chassis_type"),
        ("product_name", "product_name"),
        ("product_serial", "product_serial"),
        ("product_uuid", "product_uuid"),
        ("product_version", "product_version"),
        ("system_vendor", "sys_vendor"),
    ];
    KEYS.iter()
        .map(|(fact, file)| {
            let v = text.lines().find_map(|l| l.strip_prefix(&format!("{file}="))).map(str::trim);
            let v = match (v, *fact) {
                (None, _) => "NA".to_string(),
                (Some(t), "form_factor") => match t.parse::<usize>().ok().and_then(|i| FORM_FACTOR.get(i)) {
                    Some(f) => f.to_string(),
                    None => format!("unknown ({t})"),
                },
                (Some(t), _) => t.to_string(),
            };
            (*fact, Value::from(v))
        })
        .collect()
}

/// Python's `socket.getfqdn()` from `getent hosts <address of hostname>`.
pub(crate) fn fqdn(getent: &str, node: &str) -> String {
    let names: Vec<&str> = getent.split_whitespace().skip(1).collect();
    match names.first() {
        None => node.to_string(),
        Some(canonical) => names.iter().find(|n| n.contains('.')).unwrap_or(canonical).to_string(),
    }
}

/// `date_time` facts from the script's `date` lines.
pub(crate) fn date_time(text: &str) -> Option<Value> {
    let mut lines = text.lines();
    let p: Vec<&str> = lines.next()?.split('|').collect();
    if p.len() != 13 {
        return None;
    }
    let (y, mo, wd, wdn, wn, d, h, mi, sec, epoch, nanos, tz, off) =
        (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]);
    let micros = format!("{:06}", nanos.parse::<u64>().unwrap_or(0) / 1000);
    let epoch_i: i64 = epoch.parse().ok()?;
    let (udate, utime) = facts::utc_parts(epoch_i);
    let parse_tz = |l: Option<&str>| -> Option<(i64, String)> {
        let (o, name) = l?.split_once('|')?;
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let digits = o.trim_start_matches(['+', '-']);
        let hh: i64 = digits.get(..2)?.parse().ok()?;
        let mm: i64 = digits.get(2..4)?.parse().ok()?;
        Some((sign * (hh * 3600 + mm * 60), name.to_string()))
    };
    let jan = parse_tz(lines.next());
    let jul = parse_tz(lines.next());
    // CPython's time.tzname: (standard, dst), with January and July swapped in the south.
    let tz_dst = match (jan, jul) {
        (Some((jo, jn)), Some((uo, un))) => {
            if jo > uo {
                jn
            } else {
                un
            }
        }
        _ => tz.to_string(),
    };
    Some(json!({
        "date": format!("{y}-{mo}-{d}"),
        "day": d,
        "epoch": epoch,
        "epoch_int": epoch,
        "hour": h,
        "iso8601": format!("{udate}T{utime}Z"),
        "iso8601_basic": format!("{y}{mo}{d}T{h}{mi}{sec}{micros}"),
        "iso8601_basic_short": format!("{y}{mo}{d}T{h}{mi}{sec}"),
        "iso8601_micro": format!("{udate}T{utime}.{micros}Z"),
        "minute": mi,
        "month": mo,
        "second": sec,
        "time": format!("{h}:{mi}:{sec}"),
        "tz": tz,
        "tz_dst": tz_dst,
        "tz_offset": off,
        "weekday": wd,
        "weekday_number": wdn,
        "weeknumber": wn,
        "year": y,
    }))
}

/// Ansible's `pkg_mgr` choice from which package manager binaries exist.
pub(crate) fn pkg_mgr(text: &str, os_family: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("/usr/bin/rpm-ostree", "atomic_container"),
        ("/usr/bin/yum", "dnf"),
        ("/usr/bin/dnf-3", "dnf"),
        ("/usr/bin/dnf5", "dnf5"),
        ("/usr/bin/apt-get", "apt"),
        ("/usr/bin/zypper", "zypper"),
        ("/usr/sbin/urpmi", "urpmi"),
        ("/usr/bin/pacman", "pacman"),
        ("/bin/opkg", "opkg"),
        ("/usr/pkg/bin/pkgin", "pkgin"),
        ("/opt/local/bin/pkgin", "pkgin"),
        ("/opt/tools/bin/pkgin", "pkgin"),
        ("/opt/local/bin/port", "macports"),
        ("/usr/local/bin/brew", "homebrew"),
        ("/opt/homebrew/bin/brew", "homebrew"),
        ("/sbin/apk", "apk"),
        ("/usr/sbin/pkg", "pkgng"),
        ("/usr/sbin/swlist", "swdepot"),
        ("/usr/bin/emerge", "portage"),
        ("/usr/sbin/pkgadd", "svr4pkg"),
        ("/usr/bin/pkg", "pkg5"),
        ("/usr/bin/xbps-install", "xbps"),
        ("/usr/local/sbin/pkg", "pkgng"),
        ("/usr/bin/swupd", "swupd"),
        ("/usr/sbin/sorcery", "sorcery"),
        ("/usr/bin/installp", "installp"),
    ];
    let mut name = "unknown".to_string();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("path ") {
            if os_family == "Altlinux" && p == "/usr/bin/pkg" {
                continue;
            }
            if let Some((_, n)) = NAMES.iter().find(|(path, _)| *path == p) {
                name = n.to_string();
            }
        }
    }
    match os_family {
        "RedHat" => {
            name = if text.lines().any(|l| l == "ostree") {
                "atomic_container".into()
            } else {
                text.lines()
                    .find_map(|l| l.strip_prefix("dnf "))
                    .map(|real| if real == "/usr/bin/dnf5" { "dnf5" } else { "dnf" })
                    .unwrap_or("unknown")
                    .into()
            }
        }
        "Debian" if name != "apt" => name = "apt".into(),
        "Altlinux" if name == "apt" => name = "apt_rpm".into(),
        _ => {}
    }
    if name == "apt" && text.lines().any(|l| l == "apt_rpm") {
        name = "apt_rpm".into();
    }
    name
}

/// Ansible's `service_mgr` decision (Linux part).
pub(crate) fn service_mgr(text: &str) -> String {
    let has = |w: &str| text.lines().any(|l| l == w);
    let mut proc1 =
        text.lines().find_map(|l| l.strip_prefix("comm ")).map(str::to_string).filter(|c| !c.trim().is_empty());
    if proc1.is_none() {
        proc1 = text.lines().find_map(|l| l.strip_prefix("init ")).map(str::to_string);
    }
    let proc1 = proc1
        .map(|p| p.rsplit('/').next().unwrap_or("").trim().to_string())
        .filter(|p| p != "init" && !p.ends_with("sh"));
    if let Some(p) = proc1 {
        return match p.as_str() {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            other => other,
        }
        .to_string();
    }
    let init_is_systemd = text
        .lines()
        .find_map(|l| l.strip_prefix("init "))
        .map(|t| t.rsplit('/').next() == Some("systemd"))
        .unwrap_or(false);
    if has("systemctl") && has("canary") {
        "systemd"
    } else if has("upstart") {
        "upstart"
    } else if has("openrc") {
        "openrc"
    } else if has("systemctl") && init_is_systemd {
        "systemd"
    } else if has("initd") {
        "sysvinit"
    } else if has("dinit") {
        "dinit"
    } else {
        "service"
    }
    .to_string()
}

/// Ansible's `systemd` fact from `systemctl --version`: the first line's second word is the
/// version (an integer), the second line the features; `None` without that output.
pub(crate) fn systemd(text: &str) -> Option<Value> {
    let mut lines = text.lines();
    let version: i64 = lines.next()?.split(' ').nth(1)?.trim().parse().ok()?;
    let features = lines.next().unwrap_or("");
    Some(json!({"features": features, "version": version}))
}

/// `virtualization_type` and `virtualization_role` (the container checks and the common
/// hypervisor DMI names Ansible uses).
pub(crate) fn virtualization(s: &Sections) -> (String, String) {
    let guest = |t: &str| (t.to_string(), "guest".to_string());
    let docker = regex::Regex::new(r"/docker(/|-[0-9a-f]+\.scope)").ok();
    for line in section(s, "cgroup").lines() {
        if docker.as_ref().is_some_and(|r| r.is_match(line)) {
            return guest("docker");
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            return guest("lxc");
        }
        if line.contains("/system.slice/containerd.service") {
            return guest("containerd");
        }
    }
    for line in section(s, "environ1").lines() {
        if line.contains("container=lxc") {
            return guest("lxc");
        }
        if line.contains("container=podman") {
            return guest("podman");
        }
        if line.starts_with("container=") && line.len() > "container=".len() {
            return guest("container");
        }
    }
    let v = section(s, "virt");
    let exists = |p: &str| v.lines().any(|l| l == format!("exists {p}"));
    let val = |k: &str| v.lines().find_map(|l| l.strip_prefix(&format!("{k} "))).unwrap_or("").trim().to_string();
    if exists("/proc/vz") && !exists("/proc/lve") {
        let role = if exists("/proc/bc") { "host" } else { "guest" };
        return ("openvz".into(), role.into());
    }
    let sc = val("systemd_container");
    if !sc.is_empty() {
        return guest(&sc);
    }
    if exists("/.dockerenv") || exists("/.dockerinit") {
        return guest("docker");
    }
    if exists("/proc/xen") {
        let role = if v.lines().any(|l| l == "xen_host") { "host" } else { "guest" };
        return ("xen".into(), role.into());
    }
    let product = val("product_name");
    let vendor = val("sys_vendor");
    let family = val("product_family");
    let bios = val("bios_vendor");
    let t = if ["KVM", "KVM Server", "Bochs", "AHV", "CloudStack KVM Hypervisor"].contains(&product.as_str()) {
        Some("kvm")
    } else if vendor == "oVirt" {
        Some("oVirt")
    } else if vendor == "Red Hat" && family == "RHV" {
        Some("RHV")
    } else if vendor == "Red Hat" && product == "RHEV Hypervisor" {
        Some("RHEV")
    } else if product.starts_with("VMware") {
        Some("VMware")
    } else if ["OpenStack Compute", "OpenStack Nova"].contains(&product.as_str()) {
        Some("openstack")
    } else if bios == "Xen" {
        Some("xen")
    } else if product == "VirtualBox" || bios == "innotek GmbH" {
        Some("virtualbox")
    } else if ["QEMU", "Amazon EC2", "DigitalOcean", "Google", "Scaleway", "Nutanix"].contains(&vendor.as_str()) {
        Some("kvm")
    } else if vendor == "Microsoft Corporation" && product == "Virtual Machine" {
        Some("VirtualPC")
    } else {
        None
    };
    match t {
        Some(t) => guest(t),
        None => ("NA".into(), "NA".into()),
    }
}
