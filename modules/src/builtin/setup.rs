//! `setup`: gathers host facts with one shell script (one round trip) that prints tagged sections,
//! parsed into the facts Ansible's collectors report, under the same `ansible_`-prefixed names
//! and values. Supports `gather_subset` and `filter` as Ansible does.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::setup_facts as facts;
use super::setup_system as sys;
use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `setup` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct SetupArgs {
    /// Which fact groups: `all`, `min`, `hardware`, `network`, `virtual`, a collector name
    /// (`distribution`, `user`, ...), or any of these prefixed with `!` to exclude it.
    #[serde(default = "all", deserialize_with = "crate::args::list")]
    pub gather_subset: Vec<String>,
    /// Shell-style globs on fact names (`ansible_distribution*`); only matching facts are returned.
    #[serde(default, deserialize_with = "crate::args::list")]
    pub filter: Vec<String>,
    /// The directory of local facts (`*.fact` files: JSON or INI, or executables printing
    /// them), returned as `ansible_local`.
    #[serde(default = "default_fact_path", deserialize_with = "crate::args::string")]
    pub fact_path: String,
}

fn default_fact_path() -> String {
    "/etc/ansible/facts.d".into()
}

fn all() -> Vec<String> {
    vec!["all".into()]
}

/// The fact groups orc gathers (Ansible's collector names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Platform,
    Distribution,
    Env,
    User,
    DateTime,
    Dns,
    Cmdline,
    Fips,
    Lsb,
    PkgMgr,
    ServiceMgr,
    /// `ansible_systemd`: systemctl's version and features, on a host systemd runs.
    Systemd,
    Hardware,
    Network,
    Virtual,
    Python,
    Local,
}

const MIN: &[Col] = &[
    Col::Platform,
    Col::Distribution,
    Col::Env,
    Col::User,
    Col::DateTime,
    Col::Dns,
    Col::Cmdline,
    Col::Fips,
    Col::Lsb,
    Col::PkgMgr,
    Col::ServiceMgr,
    Col::Local,
];
const ALL: &[Col] = &[
    Col::Platform,
    Col::Distribution,
    Col::Env,
    Col::User,
    Col::DateTime,
    Col::Dns,
    Col::Cmdline,
    Col::Fips,
    Col::Lsb,
    Col::PkgMgr,
    Col::ServiceMgr,
    Col::Systemd,
    Col::Hardware,
    Col::Network,
    Col::Virtual,
    Col::Local,
];
/// Collectors gathered only when named: `python` starts the host's Python, and orc starts
/// nothing on a host unless asked (Ansible's `min` and `all` include it: docs/differences.md).
/// The lab tests check that a deploy runs no Python on its hosts (tests/e2e_containers.rs).
const ON_REQUEST: &[Col] = &[Col::Python];

/// Subset names Ansible accepts, and the orc collector each one selects (None: Ansible knows it
/// but orc gathers nothing for it, e.g. `selinux` or `ohai`).
const SUBSETS: &[(&str, Option<Col>)] = &[
    ("all_ipv4_addresses", Some(Col::Network)),
    ("all_ipv6_addresses", Some(Col::Network)),
    ("apparmor", None),
    ("architecture", Some(Col::Platform)),
    ("caps", None),
    ("chroot", Some(Col::Platform)),
    ("cmdline", Some(Col::Cmdline)),
    ("date_time", Some(Col::DateTime)),
    ("default_ipv4", Some(Col::Network)),
    ("default_ipv6", Some(Col::Network)),
    ("devices", Some(Col::Hardware)),
    ("distribution", Some(Col::Distribution)),
    ("distribution_major_version", Some(Col::Distribution)),
    ("distribution_release", Some(Col::Distribution)),
    ("distribution_version", Some(Col::Distribution)),
    ("dns", Some(Col::Dns)),
    ("effective_group_ids", Some(Col::User)),
    ("effective_user_id", Some(Col::User)),
    ("env", Some(Col::Env)),
    ("facter", None),
    ("fibre_channel_wwn", None),
    ("fips", Some(Col::Fips)),
    ("hardware", Some(Col::Hardware)),
    ("interfaces", Some(Col::Network)),
    ("is_chroot", Some(Col::Platform)),
    ("iscsi", None),
    ("kernel", Some(Col::Platform)),
    ("kernel_version", Some(Col::Platform)),
    ("loadavg", None),
    ("local", Some(Col::Local)),
    ("lsb", Some(Col::Lsb)),
    ("machine", Some(Col::Platform)),
    ("machine_id", Some(Col::Platform)),
    ("mounts", Some(Col::Hardware)),
    ("network", Some(Col::Network)),
    ("nvme", None),
    ("ohai", None),
    ("os_family", Some(Col::Distribution)),
    ("pkg_mgr", Some(Col::PkgMgr)),
    ("platform", Some(Col::Platform)),
    ("processor", Some(Col::Hardware)),
    ("processor_cores", Some(Col::Hardware)),
    ("processor_count", Some(Col::Hardware)),
    ("python", Some(Col::Python)),
    ("python_version", Some(Col::Python)),
    ("real_user_id", Some(Col::User)),
    ("selinux", None),
    ("service_mgr", Some(Col::ServiceMgr)),
    ("ssh_host_key_dsa_public", None),
    ("ssh_host_key_ecdsa_public", None),
    ("ssh_host_key_ed25519_public", None),
    ("ssh_host_key_rsa_public", None),
    ("ssh_host_pub_keys", None),
    ("ssh_pub_keys", None),
    ("system", Some(Col::Platform)),
    ("system_capabilities", None),
    ("system_capabilities_enforced", None),
    ("systemd", Some(Col::Systemd)),
    ("user", Some(Col::User)),
    ("user_dir", Some(Col::User)),
    ("user_gecos", Some(Col::User)),
    ("user_gid", Some(Col::User)),
    ("user_id", Some(Col::User)),
    ("user_shell", Some(Col::User)),
    ("user_uid", Some(Col::User)),
    ("virtual", Some(Col::Virtual)),
    ("virtualization_role", Some(Col::Virtual)),
    ("virtualization_tech_guest", Some(Col::Virtual)),
    ("virtualization_tech_host", Some(Col::Virtual)),
    ("virtualization_type", Some(Col::Virtual)),
];

/// The collectors a subset name selects; `as_ansible` puts the collectors orc gathers only on
/// request (`ON_REQUEST`) back into `all` and `min`, as Ansible has them.
fn subset_cols(name: &str, as_ansible: bool) -> Option<Vec<Col>> {
    let with_requested = |cols: &[Col]| {
        let mut v = cols.to_vec();
        if as_ansible {
            v.extend_from_slice(ON_REQUEST);
        }
        v
    };
    match name {
        "all" => Some(with_requested(ALL)),
        "min" => Some(with_requested(MIN)),
        _ => SUBSETS.iter().find(|(n, _)| *n == name).map(|(_, c)| c.iter().copied().collect()),
    }
}

/// Whether Ansible gathers the python facts for `subsets` where orc left them out (`python` is
/// in Ansible's `min`; orc gathers it only when named: `ON_REQUEST`). The engine then gathers
/// them when a task first names them (docs/architecture.md, "Python facts on first use").
/// `false` for a subset list that is not valid.
pub fn python_deferred(subsets: &[String]) -> bool {
    let wanted = |as_ansible| select_as(subsets, as_ansible).is_ok_and(|cols| cols.contains(&Col::Python));
    wanted(true) && !wanted(false)
}

/// Resolves `gather_subset` into collectors as Ansible does: `min` is always gathered unless
/// `!min`; `!all` leaves only `min` plus what is named explicitly.
fn select(subsets: &[String]) -> Result<Vec<Col>, String> {
    select_as(subsets, false)
}

/// [`select`], or with `as_ansible` the collectors Ansible would run (`ON_REQUEST` in `min`).
fn select_as(subsets: &[String], as_ansible: bool) -> Result<Vec<Col>, String> {
    let mut add: Vec<Col> = Vec::new();
    let mut exclude: Vec<Col> = Vec::new();
    let mut exclude_all = false;
    let mut exclude_min = false;
    for s in subsets {
        let s = s.trim();
        let (neg, name) = match s.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, s),
        };
        let cols = subset_cols(name, as_ansible).ok_or_else(|| {
            let mut valid: Vec<&str> = SUBSETS.iter().map(|(n, _)| *n).collect();
            valid.push("all");
            valid.push("min");
            valid.sort_unstable();
            format!("Bad subset '{name}' given to Ansible. gather_subset options allowed: {}", valid.join(", "))
        })?;
        match (neg, name) {
            (true, "all") => exclude_all = true,
            (true, "min") => exclude_min = true,
            (true, _) => exclude.extend(cols),
            (false, _) => add.extend(cols),
        }
    }
    if add.is_empty() && !exclude_all {
        add = subset_cols("all", as_ansible).unwrap_or_default();
    }
    if !exclude_min {
        add.extend(subset_cols("min", as_ansible).unwrap_or_default().into_iter().filter(|c| !exclude.contains(c)));
    }
    Ok(ALL.iter().chain(ON_REQUEST).copied().filter(|c| add.contains(c) && !exclude.contains(c)).collect())
}

/// The `setup` module.
pub struct Setup;

impl TypedModule for Setup {
    type Args = SetupArgs;
    const NAME: &'static str = "setup";

    const DOC: ModuleText = ModuleText {
        short: "Gathers facts about the host under Ansible's `ansible_` names; `gather_facts` runs it at the start of \
                a play.",
        notes: "One shell script gathers everything in one round trip: platform (system, kernel, architecture, \
                hostname, FQDN...), distribution, environment, user, date and time, DNS, kernel command line, FIPS, \
                LSB, package and service manager, hardware (processor, memory, DMI), network (interfaces, addresses, \
                default routes) and virtualization. Subsets Ansible knows but orc gathers nothing for (`selinux`, \
                `apparmor`, `ohai`, `facter`...) are accepted and add nothing; `python` (only when named: \
                orc starts no Python on a host unless asked; after a default gathering, the first task that names \
                the python facts has this collector run alone) describes the host's `python3` (or `python`) when it has one, in the same round trip, and adds \
                nothing when it has none; `local` reads `fact_path`; `mounts` and \
                `devices` select the hardware facts, without `ansible_mounts` or `ansible_devices`. `gather_timeout` \
                is not accepted. Never changes anything.",
        returns: &[("ansible_facts", "The facts, plus `gather_subset` and `module_setup`.")],
        example: "- name: Gather the network facts only\n  \
                  ansible.builtin.setup:\n    \
                  gather_subset: [network]\n    \
                  filter: [ansible_default_ipv4, ansible_interfaces]\n",
    };

    fn check_args(a: &SetupArgs) -> Result<(), ArgError> {
        select(&a.gather_subset).map(|_| ()).map_err(|msg| ArgError { msg })
    }

    fn run(&self, a: SetupArgs, ctx: &mut ModuleCtx) -> RunResult {
        let cols = select(&a.gather_subset).map_err(ModuleError::msg)?;
        let marker = format!("@@ORCS{:08x}", fastrand::u32(..));
        let mut script = build_script(&cols, &marker);
        if cols.contains(&Col::Local) {
            // Before build_script's final `exit 0`.
            let at = script.rfind("exit 0\n").unwrap_or(script.len());
            script.insert_str(at, &local_facts_script(&a.fact_path, &marker));
        }
        let out = ctx.conn.exec(&script, None)?;
        let text = out.stdout_str();
        let sections = split_sections(&text, &marker);
        let mut f = gather(&cols, &sections);
        f.insert("gather_subset".into(), a.gather_subset.clone().into());
        f.insert("module_setup".into(), true.into());
        if !a.filter.is_empty() {
            let globs: Vec<regex::Regex> = a.filter.iter().filter_map(|g| glob_regex(g)).collect();
            f.retain(|k, _| globs.iter().any(|g| g.is_match(k)));
        }
        Ok(ModuleResult::ok().with("ansible_facts", Value::Object(f)))
    }
}

/// Python's `fnmatch` pattern as an anchored regex.
fn glob_regex(glob: &str) -> Option<regex::Regex> {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '[' => {
                let mut class = String::new();
                let mut closed = false;
                for ch in chars.by_ref() {
                    if ch == ']' && !class.is_empty() {
                        closed = true;
                        break;
                    }
                    class.push(ch);
                }
                if closed {
                    let class = class.strip_prefix('!').map(|c| format!("^{c}")).unwrap_or(class);
                    re.push('[');
                    re.push_str(&class.replace('\\', "\\\\"));
                    re.push(']');
                } else {
                    re.push_str(&regex::escape(&format!("[{class}")));
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).ok()
}

/// The fact-gathering script: only the sections the selected collectors need.
fn build_script(cols: &[Col], marker: &str) -> String {
    let sec = |name: &str| format!("printf '\\n{marker} %s\\n' {}\n", quote(name));
    let mut s = String::new();
    // The environment first, before the script sets any variable.
    if cols.contains(&Col::Env) {
        s += &sec("env");
        s += "if env -0 >/dev/null 2>&1; then env -0; else env; fi\n";
    }
    s += "LC_ALL=C; export LC_ALL\n";
    if cols.contains(&Col::Platform) {
        s += &sec("uname");
        s += "uname -n; uname -s; uname -r; uname -v; uname -m\n";
        s += &sec("fqdn");
        s += "_h=$(uname -n); _ip=$(getent ahosts \"$_h\" 2>/dev/null | awk 'NR==1{print $1}'); if [ -n \"$_ip\" ]; then getent hosts \"$_ip\" 2>/dev/null | head -n 1; fi\n";
        s += &sec("bits");
        s += "getconf LONG_BIT 2>/dev/null\n";
        s += &sec("chroot");
        s += "echo \"env ${debian_chroot:-}\"; stat -c '%d %i' / 2>/dev/null; stat -c '%d %i' /proc/1/root/. 2>/dev/null || echo \"fstype $(stat -f -c %T / 2>/dev/null)\"\n";
        s += &sec("machine_id");
        s += "cat /var/lib/dbus/machine-id 2>/dev/null || cat /etc/machine-id 2>/dev/null\n";
    }
    if cols.contains(&Col::Distribution) || cols.contains(&Col::PkgMgr) {
        s += &sec("os_release");
        s += "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null\n";
        s += &sec("debian_version");
        s += "cat /etc/debian_version 2>/dev/null\n";
    }
    if cols.contains(&Col::User) {
        s += &sec("user");
        s += "_u=${LOGNAME:-${USER:-${LNAME:-${USERNAME:-}}}}; [ -n \"$_u\" ] || _u=$(id -un); echo \"$_u\"; getent passwd \"$_u\" || getent passwd \"$(id -u)\" || echo; id -ru; id -u; id -rg; id -g\n";
    }
    if cols.contains(&Col::DateTime) {
        s += &sec("date");
        s += "date '+%Y|%m|%A|%w|%W|%d|%H|%M|%S|%s|%N|%Z|%z'; _y=$(date +%Y); date -d \"$_y-01-01\" '+%z|%Z' 2>/dev/null || echo; date -d \"$_y-07-01\" '+%z|%Z' 2>/dev/null || echo\n";
    }
    if cols.contains(&Col::Dns) {
        s += &sec("resolv");
        s += "cat /etc/resolv.conf 2>/dev/null\n";
    }
    if cols.contains(&Col::Cmdline) {
        s += &sec("cmdline");
        s += "cat /proc/cmdline 2>/dev/null\n";
    }
    if cols.contains(&Col::Fips) {
        s += &sec("fips");
        s += "cat /proc/sys/crypto/fips_enabled 2>/dev/null\n";
    }
    if cols.contains(&Col::Lsb) {
        s += &sec("lsb_release");
        s += "command -v lsb_release >/dev/null 2>&1 && lsb_release -a 2>/dev/null\n";
        s += &sec("lsb_file");
        s += "cat /etc/lsb-release 2>/dev/null\n";
    }
    if cols.contains(&Col::PkgMgr) {
        s += &sec("pkg");
        s += "for _p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin /opt/local/bin/pkgin /opt/tools/bin/pkgin /opt/local/bin/port /usr/local/bin/brew /opt/homebrew/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist /usr/bin/emerge /usr/sbin/pkgadd /usr/bin/pkg /usr/bin/xbps-install /usr/local/sbin/pkg /usr/bin/swupd /usr/sbin/sorcery /usr/bin/installp; do [ -e \"$_p\" ] && echo \"path $_p\"; done\n";
        s += "[ -e /run/ostree-booted ] && echo ostree\n";
        s += "for _p in /usr/bin/dnf /usr/bin/microdnf; do [ -e \"$_p\" ] && echo \"dnf $(readlink -f \"$_p\")\"; done\n";
        s += "[ -e /usr/bin/rpm ] && /usr/bin/rpm -q --whatprovides /usr/bin/apt-get >/dev/null 2>&1 && echo apt_rpm\n";
    }
    if cols.contains(&Col::ServiceMgr) {
        s += &sec("service");
        s += "echo \"comm $(cat /proc/1/comm 2>/dev/null)\"\n";
        s += "[ -L /sbin/init ] && echo \"init $(readlink /sbin/init)\"\n";
        s += "command -v systemctl >/dev/null 2>&1 && echo systemctl\n";
        s += "for _p in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e \"$_p\" ] && echo canary; done\n";
        s += "command -v initctl >/dev/null 2>&1 && [ -e /etc/init/ ] && echo upstart\n";
        s += "[ -e /sbin/openrc ] && echo openrc\n[ -e /etc/init.d/ ] && echo initd\n[ -e /etc/dinit.d/ ] && echo dinit\n";
    }
    if cols.contains(&Col::Systemd) {
        // Ansible's SystemdFactCollector: only where systemctl exists and systemd booted the host.
        s += &sec("systemd");
        s += "if command -v systemctl >/dev/null 2>&1 && { [ -e /run/systemd/system/ ] || [ -e /dev/.run/systemd/ ] || [ -e /dev/.systemd/ ]; }; then systemctl --version 2>/dev/null; fi\n";
    }
    if cols.contains(&Col::Hardware) {
        s += &sec("cpuinfo");
        s += "cat /proc/cpuinfo 2>/dev/null\n";
        s += &sec("nproc");
        s += "nproc 2>/dev/null\n";
        s += &sec("meminfo");
        s += "cat /proc/meminfo 2>/dev/null\n";
        s += &sec("uptime");
        s += "cat /proc/uptime 2>/dev/null\n";
        s += &sec("dmi");
        s += "for _k in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version chassis_type product_name product_serial product_uuid product_version sys_vendor; do _v=$(cat /sys/devices/virtual/dmi/id/$_k 2>/dev/null) && printf '%s=%s\\n' \"$_k\" \"$_v\"; done\n";
    }
    if cols.contains(&Col::Network) {
        s += "if command -v ip >/dev/null 2>&1; then\n";
        s += &sec("route4");
        s += "ip -4 route get 8.8.8.8 2>/dev/null\n";
        s += &sec("route6");
        s += "ip -6 route get 2404:6800:400a:800::1012 2>/dev/null\n";
        s += &sec("local_routes");
        s += "ip -4 route show table local 2>/dev/null; ip -6 route show table local 2>/dev/null\n";
        s += "for _d in $(ls -f /sys/class/net 2>/dev/null); do\n case $_d in .|..) continue;; esac\n _p=/sys/class/net/$_d\n [ -d \"$_p\" ] || continue\n";
        s += &format!(" printf '\\n{marker} iface %s\\n' \"$_d\"\n");
        s += " for _f in address mtu operstate type speed flags; do [ -e \"$_p/$_f\" ] && _v=$(cat \"$_p/$_f\" 2>/dev/null) && printf '%s=%s\\n' \"$_f\" \"$_v\"; done\n";
        s += " [ -e \"$_p/device/driver/module\" ] && printf 'module=%s\\n' \"$(basename \"$(readlink -f \"$_p/device/driver/module\")\")\"\n";
        s += " [ -e \"$_p/device\" ] && printf 'pciid=%s\\n' \"$(basename \"$(readlink \"$_p/device\")\")\"\n";
        s += " if [ -e \"$_p/bridge\" ]; then echo bridge=1; printf 'brif=%s\\n' \"$(ls \"$_p/brif\" 2>/dev/null | tr '\\n' ' ')\"; [ -e \"$_p/bridge/bridge_id\" ] && printf 'bridge_id=%s\\n' \"$(cat \"$_p/bridge/bridge_id\")\"; [ -e \"$_p/bridge/stp_state\" ] && printf 'stp_state=%s\\n' \"$(cat \"$_p/bridge/stp_state\")\"; fi\n";
        s += &format!(" printf '\\n{marker} ipp\\n'; ip addr show primary dev \"$_d\" 2>/dev/null || ip addr show dev \"$_d\" 2>/dev/null\n");
        s += &format!(" printf '\\n{marker} ips\\n'; ip addr show secondary dev \"$_d\" 2>/dev/null\n");
        s += "done\nfi\n";
    }
    if cols.contains(&Col::Python) {
        s += &sec("python");
        s += "for _p in python3 python; do if command -v $_p >/dev/null 2>&1; then $_p -c 'import sys, platform; v = sys.version_info; print(sys.executable); print(v[0], v[1], v[2], v[3], v[4]); print(platform.python_implementation())' 2>/dev/null; break; fi; done\n";
    }
    if cols.contains(&Col::Virtual) {
        s += &sec("cgroup");
        s += "cat /proc/1/cgroup 2>/dev/null\n";
        s += &sec("environ1");
        s += "tr '\\000' '\\n' < /proc/1/environ 2>/dev/null\n";
        s += &sec("virt");
        s += "for _p in /proc/vz /proc/bc /proc/lve /.dockerenv /.dockerinit /proc/xen; do [ -e \"$_p\" ] && echo \"exists $_p\"; done\n";
        s += "grep -q control_d /proc/xen/capabilities 2>/dev/null && echo xen_host\n";
        s += "echo \"systemd_container $(cat /run/systemd/container 2>/dev/null)\"\n";
        s += "for _f in product_name sys_vendor product_family bios_vendor; do echo \"$_f $(cat /sys/devices/virtual/dmi/id/$_f 2>/dev/null)\"; done\n";
    }
    s += "exit 0\n";
    s
}

/// The script's output split into tagged sections: (name, text) in output order.
pub(crate) type Sections = Vec<(String, String)>;

fn split_sections(text: &str, marker: &str) -> Sections {
    let sep = format!("\n{marker} ");
    let mut out = Vec::new();
    for chunk in text.split(&sep).skip(1) {
        let (name, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
        out.push((name.to_string(), body.to_string()));
    }
    out
}

/// The text of the first section named `name` ("" when absent).
pub(crate) fn section<'a>(s: &'a Sections, name: &str) -> &'a str {
    s.iter().find(|(n, _)| n == name).map(|(_, b)| b.as_str()).unwrap_or("")
}

/// Builds the `ansible_`-prefixed facts from the sections.
fn gather(cols: &[Col], s: &Sections) -> Map<String, Value> {
    let mut f = Map::new();
    let put = |f: &mut Map<String, Value>, k: &str, v: Value| {
        f.insert(format!("ansible_{}", k.replace(['-', ':'], "_")), v);
    };
    let mut os_family = String::new();
    if cols.contains(&Col::Platform) {
        let u: Vec<&str> = section(s, "uname").lines().collect();
        let node = u.first().copied().unwrap_or("").to_string();
        let machine = u.get(4).copied().unwrap_or("").to_string();
        let fqdn = sys::fqdn(section(s, "fqdn"), &node);
        put(&mut f, "system", u.get(1).copied().unwrap_or("").into());
        put(&mut f, "kernel", u.get(2).copied().unwrap_or("").into());
        put(&mut f, "kernel_version", u.get(3).copied().unwrap_or("").into());
        put(&mut f, "machine", machine.clone().into());
        put(&mut f, "hostname", node.split('.').next().unwrap_or("").into());
        put(&mut f, "nodename", node.clone().into());
        put(&mut f, "domain", fqdn.split_once('.').map(|x| x.1).unwrap_or("").into());
        put(&mut f, "fqdn", fqdn.clone().into());
        let bits = section(s, "bits").trim().to_string();
        let is_x86 = machine == "x86_64";
        let is_i86 = regex::Regex::new(r"i([3456]86|86pc)").map(|r| r.is_match(&machine)).unwrap_or(false);
        put(&mut f, "architecture", if !is_x86 && is_i86 { "i386".into() } else { machine.clone().into() });
        if !bits.is_empty() {
            if is_x86 || is_i86 {
                match bits.as_str() {
                    "64" => put(&mut f, "userspace_architecture", "x86_64".into()),
                    "32" => put(&mut f, "userspace_architecture", "i386".into()),
                    _ => {}
                }
            }
            put(&mut f, "userspace_bits", bits.into());
        }
        let ch = section(s, "chroot");
        let is_chroot = if ch.lines().next().is_some_and(|l| l.trim() != "env") {
            Value::Bool(true)
        } else {
            let ids: Vec<&str> = ch.lines().skip(1).collect();
            match ids.as_slice() {
                [_, fs] if fs.starts_with("fstype ") => {
                    // No access to /proc/1/root: Ansible compares the root inode with the
                    // filesystem's root inode number.
                    let root_ino = if fs.contains("btrfs") {
                        "256"
                    } else if fs.contains("xfs") {
                        "128"
                    } else {
                        "2"
                    };
                    Value::Bool(ids[0].split_whitespace().nth(1) != Some(root_ino))
                }
                [a, b] => Value::Bool(a != b),
                _ => Value::Null,
            }
        };
        put(&mut f, "is_chroot", is_chroot);
        if let Some(id) = section(s, "machine_id").lines().next().filter(|l| !l.is_empty()) {
            put(&mut f, "machine_id", id.into());
        }
    }
    if cols.contains(&Col::Distribution) || cols.contains(&Col::PkgMgr) {
        let dv = section(s, "debian_version");
        let d = facts::parse_distribution(section(s, "os_release"), (!dv.is_empty()).then_some(dv));
        os_family = d.get("os_family").and_then(Value::as_str).unwrap_or("").to_string();
        if cols.contains(&Col::Distribution) {
            for (k, v) in d {
                put(&mut f, &k, v);
            }
        }
    }
    if cols.contains(&Col::Env) {
        let body = section(s, "env");
        let mut env = Map::new();
        let entries: Vec<&str> = if body.contains('\0') { body.split('\0').collect() } else { body.lines().collect() };
        for e in entries {
            if let Some((k, v)) = e.split_once('=') {
                env.insert(k.to_string(), v.into());
            }
        }
        put(&mut f, "env", Value::Object(env));
    }
    if cols.contains(&Col::User) {
        let lines: Vec<&str> = section(s, "user").lines().collect();
        let num = |i: usize| -> Value {
            lines.get(i).and_then(|l| l.trim().parse::<u64>().ok()).map(Value::from).unwrap_or(Value::Null)
        };
        put(&mut f, "user_id", lines.first().copied().unwrap_or("").into());
        let pw: Vec<&str> = lines.get(1).copied().unwrap_or("").split(':').collect();
        if pw.len() >= 7 {
            put(&mut f, "user_uid", pw[2].parse::<u64>().map(Value::from).unwrap_or(Value::Null));
            put(&mut f, "user_gid", pw[3].parse::<u64>().map(Value::from).unwrap_or(Value::Null));
            put(&mut f, "user_gecos", pw[4].into());
            put(&mut f, "user_dir", pw[5].into());
            put(&mut f, "user_shell", pw[6].into());
        }
        put(&mut f, "real_user_id", num(2));
        put(&mut f, "effective_user_id", num(3));
        put(&mut f, "real_group_id", num(4));
        put(&mut f, "effective_group_id", num(5));
    }
    if cols.contains(&Col::DateTime) {
        if let Some(dt) = sys::date_time(section(s, "date")) {
            put(&mut f, "date_time", dt);
        }
    }
    if cols.contains(&Col::Dns) {
        put(&mut f, "dns", facts::parse_resolv_conf(section(s, "resolv")));
    }
    if cols.contains(&Col::Cmdline) {
        let text = section(s, "cmdline");
        if !text.trim().is_empty() {
            let (c, p) = facts::parse_cmdline(text);
            put(&mut f, "cmdline", c);
            put(&mut f, "proc_cmdline", p);
        }
    }
    if cols.contains(&Col::Fips) {
        put(&mut f, "fips", (section(s, "fips").trim() == "1").into());
    }
    if cols.contains(&Col::Lsb) {
        put(&mut f, "lsb", facts::parse_lsb(section(s, "lsb_release"), section(s, "lsb_file")));
    }
    if cols.contains(&Col::PkgMgr) {
        put(&mut f, "pkg_mgr", sys::pkg_mgr(section(s, "pkg"), &os_family).into());
    }
    if cols.contains(&Col::ServiceMgr) {
        put(&mut f, "service_mgr", sys::service_mgr(section(s, "service")).into());
    }
    if cols.contains(&Col::Systemd) {
        if let Some(v) = sys::systemd(section(s, "systemd")) {
            put(&mut f, "systemd", v);
        }
    }
    if cols.contains(&Col::Hardware) {
        let nproc = section(s, "nproc").trim().parse().ok();
        for (k, v) in facts::parse_cpuinfo(section(s, "cpuinfo"), nproc) {
            put(&mut f, &k, v);
        }
        for (k, v) in facts::parse_meminfo(section(s, "meminfo")) {
            put(&mut f, &k, v);
        }
        for (k, v) in sys::dmi_facts(section(s, "dmi")) {
            put(&mut f, k, v);
        }
        if let Some(up) = section(s, "uptime").split(' ').next().and_then(|x| x.trim().parse::<f64>().ok()) {
            put(&mut f, "uptime_seconds", (up as u64).into());
        }
    }
    if cols.contains(&Col::Network) && s.iter().any(|(n, _)| n == "route4") {
        for (k, v) in super::setup_network::network(s) {
            put(&mut f, &k, v);
        }
    }
    if cols.contains(&Col::Virtual) {
        let (t, r) = sys::virtualization(s);
        put(&mut f, "virtualization_type", t.into());
        put(&mut f, "virtualization_role", r.into());
    }
    if cols.contains(&Col::Python) {
        for (k, v) in python_facts(section(s, "python")) {
            put(&mut f, k, v);
        }
    }
    if cols.contains(&Col::Local) {
        put(&mut f, "local", local_facts(s));
    }
    f
}

/// Ansible's python collector, from the host's `python3` (else `python`): nothing when the host
/// has none (orc needs no Python on the host).
fn python_facts(text: &str) -> Vec<(&'static str, Value)> {
    let lines: Vec<&str> = text.lines().collect();
    let (Some(exe), Some(ver), Some(kind)) = (lines.first(), lines.get(1), lines.get(2)) else { return Vec::new() };
    let v: Vec<&str> = ver.split_whitespace().collect();
    if v.len() != 5 {
        return Vec::new();
    }
    let num = |s: &str| s.parse::<u64>().map(Value::from).unwrap_or_else(|_| Value::from(s));
    let info = vec![num(v[0]), num(v[1]), num(v[2]), Value::from(v[3]), num(v[4])];
    let python = serde_json::json!({
        "executable": exe,
        "has_sslcontext": true,
        "type": kind,
        "version": {"major": info[0], "minor": info[1], "micro": info[2], "releaselevel": info[3], "serial": info[4]},
        "version_info": info,
    });
    vec![("python", python), ("python_version", Value::from(format!("{}.{}.{}", v[0], v[1], v[2])))]
}

/// The script that reads each `*.fact` file of `fact_path` into a `fact PATH` section: its kind
/// and status on the first line (`dead`, `exec RC`, `file`), then its text (a script's output, or
/// its stderr when it failed).
fn local_facts_script(fact_path: &str, marker: &str) -> String {
    format!(
        "_fp={}
if [ -d \"$_fp\" ]; then _t=$(mktemp 2>/dev/null || echo /dev/null)
\
         for _f in \"$_fp\"/*.fact; do\n [ -e \"$_f\" ] || [ -L \"$_f\" ] || continue\n \
         printf '\\n{marker} fact %s\\n' \"$_f\"\n \
         if [ ! -e \"$_f\" ]; then echo dead\n \
         elif [ -x \"$_f\" ]; then _o=$(\"$_f\" 2>\"$_t\"); _rc=$?; echo \"exec $_rc\"; \
         if [ $_rc = 0 ]; then printf '%s\\n' \"$_o\"; else cat \"$_t\"; fi\n \
         else echo file; cat \"$_f\" 2>&1; fi\ndone\n[ \"$_t\" = /dev/null ] || rm -f \"$_t\"\nfi\n",
        quote(fact_path)
    )
}

/// `ansible_local` from the `fact PATH` sections, as Ansible's local collector builds it: each
/// file's JSON, else its INI sections, else an error string.
fn local_facts(s: &Sections) -> Value {
    let mut out = Map::new();
    for (name, body) in s {
        let Some(path) = name.strip_prefix("fact ") else { continue };
        let base = path.rsplit('/').next().unwrap_or(path);
        let base = base.strip_suffix(".fact").unwrap_or(base).to_string();
        let (head, text) = body.split_once('\n').unwrap_or((body.as_str(), ""));
        let value = match head.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["dead"] => Value::from(format!("Could not stat fact ({path}): no such file")),
            ["exec", rc] if *rc != "0" => {
                Value::from(format!("Failure executing fact script ({path}), rc: {rc}, err: {}", text.trim_end()))
            }
            _ => parse_fact(path, text),
        };
        out.insert(base, value);
    }
    Value::Object(out)
}

/// One fact file's text: JSON, else INI (Python's configparser: `[section]` then `key = value`
/// or `key: value`, keys lower-cased, `%` only as `%%` or `%(name)s`), else the error Ansible
/// reports.
fn parse_fact(path: &str, text: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    let not_ini = || Value::from(format!("error loading facts as JSON or ini - please check content: {path}"));
    let mut sections = Map::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            sections.entry(name.to_string()).or_insert_with(|| Value::Object(Map::new()));
            current = Some(name.to_string());
            continue;
        }
        let Some(sect) = &current else { return not_ini() };
        let Some(at) = t.find(['=', ':']) else { return not_ini() };
        let (k, v) = (t[..at].trim().to_lowercase(), t[at + 1..].trim().to_string());
        let stripped = v.replace("%%", "");
        let bad = stripped.match_indices('%').any(|(i, _)| !stripped[i + 1..].starts_with('('));
        if bad {
            return Value::from(format!(
                "error loading facts as ini - please check content: {path} ('%' must be followed by '%' or '(', found: {v:?})"
            ));
        }
        if let Some(Value::Object(m)) = sections.get_mut(sect) {
            m.insert(k, Value::from(v.replace("%%", "%")));
        }
    }
    Value::Object(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::command::tests::run_module;
    use serde_json::json;

    fn sh(cmd: &str) -> String {
        let out = std::process::Command::new("sh").arg("-c").arg(cmd).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn gathers_this_host_in_one_round_trip() {
        let r = run_module(&Setup, json!({}), false).unwrap();
        let f = &r["ansible_facts"];
        assert_eq!(f["ansible_hostname"], sh("uname -n").split('.').next().unwrap());
        assert_eq!(f["ansible_nodename"], sh("uname -n"));
        assert_eq!(f["ansible_kernel"], sh("uname -r"));
        assert_eq!(f["ansible_system"], "Linux");
        assert_eq!(f["ansible_machine"], sh("uname -m"));
        assert_eq!(f["ansible_processor_nproc"], sh("nproc").parse::<u64>().unwrap());
        assert_eq!(f["ansible_processor_vcpus"], sh("grep -c ^processor /proc/cpuinfo").parse::<u64>().unwrap());
        let kb: u64 = sh("awk '/^MemTotal:/{print $2}' /proc/meminfo").parse().unwrap();
        assert_eq!(f["ansible_memtotal_mb"], kb / 1024);
        assert!(f["ansible_memfree_mb"].as_u64().unwrap() <= kb / 1024);
        assert_eq!(f["ansible_user_uid"], sh("id -u").parse::<u64>().unwrap());
        assert_eq!(f["ansible_user_dir"], sh("getent passwd $(id -u) | cut -d: -f6"));
        assert_eq!(f["ansible_env"]["PATH"], std::env::var("PATH").unwrap());
        assert!(f["ansible_env"].get("LC_ALL").map(|v| v != "C").unwrap_or(true));
        assert_eq!(f["ansible_date_time"]["epoch"].as_str().unwrap().len(), 10);
        assert_eq!(f["ansible_date_time"]["year"], sh("date +%Y"));
        assert!(f["ansible_distribution"].is_string());
        assert!(f["ansible_os_family"].is_string());
        assert!(f["ansible_pkg_mgr"].is_string());
        assert!(f["ansible_virtualization_role"].is_string());
        assert_eq!(f["gather_subset"], json!(["all"]));
        assert_eq!(f["module_setup"], true);
        // The python facts come only when named: no Python runs on a host unless asked.
        assert!(f.get("ansible_python").is_none(), "{}", f["ansible_python"]);
        if sh("command -v ip").is_empty() {
            return;
        }
        let lo = &f["ansible_lo"];
        assert_eq!(lo["ipv4"]["address"], "127.0.0.1");
        assert_eq!(lo["ipv4"]["netmask"], "255.0.0.0");
        assert_eq!(lo["type"], "loopback");
        let ifaces = f["ansible_interfaces"].as_array().unwrap();
        assert!(ifaces.contains(&json!("lo")));
        let route = sh("ip -4 route get 8.8.8.8 2>/dev/null | head -n1");
        if let Some(dev) = route.split_whitespace().skip_while(|w| *w != "dev").nth(1) {
            assert_eq!(f["ansible_default_ipv4"]["interface"], dev);
            assert!(f["ansible_default_ipv4"]["network"].is_string());
        }
    }

    #[test]
    fn local_facts_from_fact_path_as_ansible_reads_them() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let w = |name: &str, text: &str, mode: u32| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        w("preferences.fact", "[general]\nBar=loaded\n", 0o644);
        w("good.fact", "#!/bin/sh\necho '{\"script_ran\": true}'\n", 0o755);
        w("failing.fact", "#!/bin/sh\necho oops >&2; exit 1\n", 0o755);
        w("bad.fact", "[bad fact]\nvalue = this is a % bad % fact\n", 0o644);
        w("nosection.fact", "a=b\n", 0o644);
        std::os::unix::fs::symlink("/nonexistent/orc-fact", dir.path().join("dead.fact")).unwrap();
        let path = dir.path().display().to_string();
        let r =
            run_module(&Setup, json!({"gather_subset": ["!all", "!min", "local"], "fact_path": path}), false).unwrap();
        let l = &r["ansible_facts"]["ansible_local"];
        assert_eq!(l["preferences"], json!({"general": {"bar": "loaded"}}));
        assert_eq!(l["good"], json!({"script_ran": true}));
        assert!(l["failing"].as_str().unwrap().starts_with("Failure executing fact script"), "{l}");
        assert!(l["failing"].as_str().unwrap().ends_with("err: oops"), "{l}");
        assert!(l["bad"].as_str().unwrap().starts_with("error loading facts as ini"), "{l}");
        assert!(l["nosection"].as_str().unwrap().starts_with("error loading facts as JSON or ini"), "{l}");
        assert!(l["dead"].as_str().unwrap().starts_with("Could not stat fact"), "{l}");
        // No directory: an empty ansible_local, gathered by default.
        let r = run_module(&Setup, json!({"gather_subset": "!all", "fact_path": "/nonexistent/orc"}), false).unwrap();
        assert_eq!(r["ansible_facts"]["ansible_local"], json!({}));
    }

    #[test]
    fn a_host_without_python_gathers_the_rest() {
        // A PATH holding only the tools the user section needs: no python3, no python.
        let bin = tempfile::tempdir().unwrap();
        for tool in ["id", "getent"] {
            let path = sh(&format!("command -v {tool}"));
            std::os::unix::fs::symlink(path, bin.path().join(tool)).unwrap();
        }
        let cols = select(&["!all".to_string(), "python".to_string()]).unwrap();
        assert!(cols.contains(&Col::Python));
        let marker = "@@ORCSTEST";
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(build_script(&[Col::User, Col::Python], marker))
            .env("PATH", bin.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let f = gather(&[Col::User, Col::Python], &split_sections(&String::from_utf8_lossy(&out.stdout), marker));
        assert!(f["ansible_user_uid"].is_u64(), "{f:?}");
        assert!(!f.contains_key("ansible_python") && !f.contains_key("ansible_python_version"), "{f:?}");
    }

    #[test]
    fn python_facts_describe_the_hosts_python() {
        let f = python_facts("/usr/bin/python3\n3 11 2 final 0\nCPython\n");
        assert_eq!(f[0].1["executable"], "/usr/bin/python3");
        assert_eq!(f[0].1["version_info"], json!([3, 11, 2, "final", 0]));
        assert_eq!(f[0].1["version"]["minor"], 11);
        assert_eq!(f[1].1, "3.11.2");
        assert!(python_facts("").is_empty());
    }

    #[test]
    fn subsets_and_filter() {
        let r =
            run_module(&Setup, json!({"gather_subset": "!all", "filter": ["ansible_d*", "ansible_user_id"]}), false)
                .unwrap();
        let f = r["ansible_facts"].as_object().unwrap();
        assert!(f.contains_key("ansible_distribution"));
        assert!(f.contains_key("ansible_date_time"));
        assert!(f.contains_key("ansible_user_id"));
        assert!(!f.contains_key("ansible_default_ipv4"), "network is not in min");
        assert!(!f.contains_key("ansible_env"));
        assert!(!f.contains_key("gather_subset"));

        let r = run_module(&Setup, json!({"gather_subset": ["!all", "!min", "hardware"]}), false).unwrap();
        let f = r["ansible_facts"].as_object().unwrap();
        assert!(f.contains_key("ansible_memtotal_mb"));
        assert!(!f.contains_key("ansible_distribution"));
        assert!(!f.contains_key("ansible_lo"));
    }

    #[test]
    fn subset_resolution_matches_ansible() {
        let v = |x: &[&str]| select(&x.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&["all"]).unwrap(), ALL);
        assert_eq!(v(&["!all"]).unwrap(), MIN);
        assert_eq!(v(&["!hardware"]).unwrap().len(), ALL.len() - 1);
        assert_eq!(v(&["!all", "!min", "network"]).unwrap(), vec![Col::Network]);
        assert_eq!(v(&["!all", "!min", "selinux"]).unwrap(), vec![]);
        assert!(v(&["bogus"]).unwrap_err().starts_with("Bad subset 'bogus'"));
        // Python runs on the host only when asked for by name.
        assert!(!v(&["all"]).unwrap().contains(&Col::Python));
        assert!(!v(&["!all"]).unwrap().contains(&Col::Python));
        assert!(v(&["python"]).unwrap().contains(&Col::Python));
        assert!(v(&["all", "python"]).unwrap().contains(&Col::Python));
        assert!(!v(&["python", "!python"]).unwrap().contains(&Col::Python));
        // Where Ansible gathers them and orc does not, the engine gathers them on first use.
        let deferred = |s: &[&str]| python_deferred(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert!(
            deferred(&["all"]) && deferred(&["!all"]) && deferred(&["network"]) && deferred(&["!all", "!min", "min"])
        );
        assert!(!deferred(&["python"]) && !deferred(&["all", "python"]) && !deferred(&["!python"]));
        assert!(!deferred(&["!all", "!min"]) && !deferred(&["!all", "!min", "network"]) && !deferred(&["bogus"]));
    }

    #[test]
    fn globs_and_helpers() {
        let g = glob_regex("ansible_d*").unwrap();
        assert!(g.is_match("ansible_dns") && !g.is_match("ansible_env"));
        assert!(glob_regex("ansible_[!e]ns").unwrap().is_match("ansible_dns"));
        assert_eq!(sys::fqdn("127.0.0.1       localhost\n", "vm"), "localhost");
        assert_eq!(sys::fqdn("10.0.0.5 web web.example.com\n", "web"), "web.example.com");
        assert_eq!(sys::fqdn("", "vm"), "vm");
        // systemd target, test_systemd_version.yml: `ansible_systemd` from `systemctl --version`.
        let v = "systemd 252 (252.39-1~deb12u1)\n+PAM +AUDIT +SELINUX\n";
        assert_eq!(sys::systemd(v), Some(serde_json::json!({"features": "+PAM +AUDIT +SELINUX", "version": 252})));
        assert_eq!(sys::systemd(""), None);
        let v_cols = |x: &[&str]| select(&x.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        assert!(v_cols(&["systemd"]).contains(&Col::Systemd) && !v_cols(&["min"]).contains(&Col::Systemd));
        assert_eq!(sys::service_mgr("comm systemd\nsystemctl\ncanary\n"), "systemd");
        assert_eq!(sys::service_mgr("comm bash\nsystemctl\ncanary\n"), "systemd");
        assert_eq!(sys::service_mgr("comm sh\ninitd\n"), "sysvinit");
        assert_eq!(sys::pkg_mgr("path /usr/bin/apt-get\n", "Debian"), "apt");
        assert_eq!(sys::pkg_mgr("path /usr/bin/yum\ndnf /usr/bin/dnf-3\n", "RedHat"), "dnf");
        assert_eq!(sys::pkg_mgr("path /sbin/apk\n", "Alpine"), "apk");
        let dmi: Map<String, Value> = sys::dmi_facts("product_name=KVM\nchassis_type=1\nbios_vendor=\n")
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(dmi["product_name"], "KVM");
        assert_eq!(dmi["form_factor"], "Other");
        assert_eq!(dmi["bios_vendor"], "");
        assert_eq!(dmi["product_serial"], "NA");
    }
}
