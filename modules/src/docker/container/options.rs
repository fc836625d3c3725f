//! The table of container options: where each lives in the Engine API's container config, how it
//! is compared (community.docker's comparison types and default modes), and whether a running
//! container can be updated in place instead of recreated.

/// How two values of an option are compared (community.docker's `comparison_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A scalar.
    Value,
    /// An ordered list.
    List,
    /// A list whose order does not matter.
    Set,
    /// A list of dictionaries whose order does not matter.
    SetDict,
    /// A dictionary.
    Dict,
}

/// A comparison mode (`comparisons:` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Equal, or different.
    Strict,
    /// Never different.
    Ignore,
    /// The container may have more entries than the task asks for.
    AllowMorePresent,
}

impl Mode {
    /// Parses a `comparisons:` value.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "strict" => Some(Mode::Strict),
            "ignore" => Some(Mode::Ignore),
            "allow_more_present" => Some(Mode::AllowMorePresent),
            _ => None,
        }
    }
}

/// Where an option's value sits in the create body and in `docker inspect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `Config.<key>`.
    Config(&'static str),
    /// `HostConfig.<key>`.
    Host(&'static str),
    /// Handled by dedicated code (ports, mounts, logging, restart policy, networks...).
    Special,
}

/// One option.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The argument name.
    pub name: &'static str,
    /// Comparison type.
    pub kind: Kind,
    /// Place in the API's container config.
    pub place: Place,
    /// `docker update` can change it on a running container.
    pub updatable: bool,
    /// Other names it may be given by in `comparisons`.
    pub aliases: &'static [&'static str],
}

const fn spec(name: &'static str, kind: Kind, place: Place) -> Spec {
    Spec { name, kind, place, updatable: false, aliases: &[] }
}

const fn upd(name: &'static str, place: Place) -> Spec {
    Spec { name, kind: Kind::Value, place, updatable: true, aliases: &[] }
}

use Kind::*;
use Place::*;

/// Every option compared against an existing container, in community.docker's order.
pub static OPTIONS: &[Spec] = &[
    spec("auto_remove", Value, Host("AutoRemove")),
    spec("capabilities", Set, Host("CapAdd")),
    spec("cap_drop", Set, Host("CapDrop")),
    spec("command", List, Special),
    upd("cpu_shares", Host("CpuShares")),
    spec("entrypoint", List, Config("Entrypoint")),
    spec("cpus", Value, Host("NanoCpus")),
    spec("detach", Value, Special),
    spec("interactive", Value, Special),
    spec("dns_servers", List, Host("Dns")),
    spec("dns_search_domains", List, Host("DnsSearch")),
    spec("domainname", Value, Config("Domainname")),
    spec("env", Set, Config("Env")),
    spec("etc_hosts", Set, Host("ExtraHosts")),
    spec("healthcheck", Dict, Config("Healthcheck")),
    spec("hostname", Value, Config("Hostname")),
    spec("image", Value, Special),
    spec("init", Value, Host("Init")),
    spec("ipc_mode", Value, Host("IpcMode")),
    spec("labels", Dict, Config("Labels")),
    spec("log_driver", Value, Special),
    spec("log_options", Dict, Special),
    upd("memory", Host("Memory")),
    upd("memory_reservation", Host("MemoryReservation")),
    upd("memory_swap", Host("MemorySwap")),
    spec("stop_timeout", Value, Config("StopTimeout")),
    spec("network_mode", Value, Special),
    spec("networks", SetDict, Special),
    spec("pid_mode", Value, Host("PidMode")),
    spec("privileged", Value, Host("Privileged")),
    spec("read_only", Value, Host("ReadonlyRootfs")),
    upd("restart_policy", Special),
    upd("restart_retries", Special),
    spec("security_opts", Set, Host("SecurityOpt")),
    spec("shm_size", Value, Host("ShmSize")),
    spec("stop_signal", Value, Config("StopSignal")),
    spec("sysctls", Dict, Host("Sysctls")),
    spec("tmpfs", Dict, Host("Tmpfs")),
    spec("tty", Value, Config("Tty")),
    spec("user", Value, Config("User")),
    spec("working_dir", Value, Config("WorkingDir")),
    spec("mounts", SetDict, Special),
    spec("volumes", Set, Special),
    spec("volume_binds", Set, Special),
    Spec { name: "exposed_ports", kind: Set, place: Special, updatable: false, aliases: &["exposed", "expose"] },
    spec("publish_all_ports", Value, Special),
    Spec { name: "published_ports", kind: Dict, place: Special, updatable: false, aliases: &["ports"] },
];

/// The default comparison mode of an option (community.docker: values and lists strict, sets
/// and dicts allow_more_present, `stop_timeout` ignored).
pub fn default_mode(s: &Spec) -> Mode {
    match (s.name, s.kind) {
        ("stop_timeout", _) => Mode::Ignore,
        (_, Kind::Value | Kind::List) => Mode::Strict,
        _ => Mode::AllowMorePresent,
    }
}

/// The option named `name` (or by one of its aliases).
pub fn find(name: &str) -> Option<&'static Spec> {
    OPTIONS.iter().find(|s| s.name == name || s.aliases.contains(&name))
}
