//! `docker_network` (community.docker): creates, updates (by recreating) or removes a Docker
//! network and the set of containers attached to it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, Decision, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::network::{container_names, differences, valid_cidr, Desired, Difference, IpamPool};
use crate::docker::raw::{self, path_escape, RawApi, RawError};
use crate::docker::util::{digest, pick, sanitize_labels};

/// `docker_network` arguments.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerNetworkArgs {
    /// Network name.
    #[serde(alias = "network_name", deserialize_with = "crate::args::string")]
    pub name: String,
    /// Containers (names or IDs) that must be attached; with `appends: no` others are detached.
    #[serde(default, alias = "containers", deserialize_with = "crate::args::list")]
    pub connected: Vec<String>,
    /// `present` or `absent`.
    #[serde(default)]
    pub state: State,
    /// Network driver.
    #[serde(default = "bridge", deserialize_with = "crate::args::string")]
    pub driver: String,
    /// Driver options (`com.docker.network.bridge.name`...).
    #[serde(default)]
    pub driver_options: Map<String, Value>,
    /// Remove and recreate the network even when it matches.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Only add containers from `connected`, never detach others.
    #[serde(default, alias = "incremental", deserialize_with = "crate::args::bool")]
    pub appends: bool,
    /// IPAM driver.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub ipam_driver: Option<String>,
    /// IPAM driver options.
    #[serde(default)]
    pub ipam_driver_options: Option<Map<String, Value>>,
    /// IPAM pools.
    #[serde(default)]
    pub ipam_config: Option<Vec<IpamPool>>,
    /// Enable IPv4 (API 1.47 and later).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub enable_ipv4: Option<bool>,
    /// Enable IPv6.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub enable_ipv6: Option<bool>,
    /// No external connectivity.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub internal: Option<bool>,
    /// Network labels.
    #[serde(default)]
    pub labels: Map<String, Value>,
    /// `local`, `global` or `swarm`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub scope: Option<String>,
    /// Standalone containers may attach to a swarm network.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub attachable: Option<bool>,
    /// Swarm routing-mesh network.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub ingress: Option<bool>,
    /// Configuration-only network.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub config_only: Option<bool>,
    /// Take the configuration of this config-only network.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub config_from: Option<String>,
    /// The daemon's socket on the host.
    #[serde(default, alias = "docker_url", deserialize_with = "crate::args::opt_string")]
    pub docker_host: Option<String>,
    /// Accepted for compatibility; the version is negotiated.
    #[serde(default, alias = "docker_api_version", deserialize_with = "crate::args::opt_string")]
    pub api_version: Option<String>,
    /// Seconds an API call may take.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub timeout: Option<u64>,
    /// Return `actions` and `diff` outside check mode too.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub debug: bool,
}

fn bridge() -> String {
    "bridge".into()
}

/// Desired state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The network exists as described.
    #[default]
    Present,
    /// The network does not exist.
    Absent,
}

/// The `docker_network` module.
pub struct DockerNetwork;

impl TypedModule for DockerNetwork {
    type Args = DockerNetworkArgs;
    const NAME: &'static str = "docker_network";
    const COLLECTION: &'static str = "community.docker";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Creates a Docker network, recreates it when its settings differ, attaches and detaches containers, or \
                removes it.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. Only the settings the task \
                gives are compared, as community.docker does (an IPAM pool matches when its given fields are equal \
                after address normalisation). A difference, or `force`, removes the network, detaching its \
                containers, and creates it again. The containers in `connected` are attached (missing ones are \
                skipped); without `appends` the others are detached; with `connected` empty the containers attached \
                before stay. Check mode reports without changing anything.",
        returns: &[
            ("network", "The network's inspect data after the task (null in check mode before it exists)."),
            (
                "actions",
                "What was done (`Created network ...`, `Connected container ...`): with `state: absent`, in \
                check mode or with `debug`.",
            ),
            (
                "diff",
                "In check mode or with `debug`: `differences`, the names of the settings that differ. With \
                --diff: the differences before and after.",
            ),
        ],
        example: "- name: Create the backend network\n  \
                  community.docker.docker_network:\n    \
                  name: backend\n    \
                  ipam_config:\n      \
                  - subnet: 172.30.0.0/24\n    \
                  connected: [app, db]\n",
    };

    fn check_args(a: &DockerNetworkArgs) -> Result<(), ArgError> {
        for pool in a.ipam_config.iter().flatten() {
            for cidr in [&pool.subnet, &pool.iprange].into_iter().flatten() {
                if !valid_cidr(cidr) {
                    return Err(ArgError { msg: format!("\"{cidr}\" is not a valid CIDR") });
                }
            }
        }
        sanitize_labels(&a.labels, "labels").map_err(|msg| ArgError { msg })?;
        if let Some(s) = a.scope.as_deref().filter(|s| !["local", "global", "swarm"].contains(s)) {
            return Err(ArgError { msg: format!("value of scope must be one of: local, global, swarm, got: {s}") });
        }
        Ok(())
    }

    fn decide(&self, a: &DockerNetworkArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let mut a = normalized(a)?;
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
        let mut run = Run { raw: &raw, name: a.name.clone(), ops: vec![], report: Report::default() };
        let existing = run.get()?;
        let mut observed = Map::new();
        observed.insert("exists".into(), Value::Bool(existing.is_some()));
        if let Some(net) = &existing {
            observed.insert("config_digest".into(), Value::String(digest(&pick(net, COMPARED))));
            let mut attached = container_names(net);
            attached.sort();
            observed.insert("connected".into(), attached.into());
        }
        let network = match a.state {
            State::Present => Some(run.present(&mut a, existing)?),
            State::Absent => {
                run.track("exists", Value::Bool(existing.is_some()), Value::Bool(false));
                if existing.is_some() {
                    run.remove()?;
                }
                None
            }
        };
        let Run { ops, report, .. } = run;
        let result = report.result(&a, ctx, network);
        Ok(Decision { result, observed, action: Box::new(NetworkAction { ops, report }) })
    }

    fn apply(&self, a: DockerNetworkArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<NetworkAction>(Self::NAME)?;
        let a = normalized(&a)?;
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
        let run = Run { raw: &raw, name: a.name.clone(), ops: vec![], report: Report::default() };
        for op in &act.ops {
            run.perform(op)?;
        }
        let network = match a.state {
            State::Present => Some(run.get()?.unwrap_or(Value::Null)),
            State::Absent => None,
        };
        Ok(act.report.result(&a, ctx, network))
    }
}

/// The inspect fields the comparison reads (`crate::docker::network::differences`), digested
/// as `observed.config_digest`.
const COMPARED: &[&str] = &[
    "Driver",
    "Options",
    "IPAM",
    "ConfigOnly",
    "ConfigFrom",
    "EnableIPv4",
    "EnableIPv6",
    "Internal",
    "Attachable",
    "Ingress",
    "Scope",
    "Labels",
];

/// The arguments as the comparison reads them: labels checked, driver options as strings.
fn normalized(a: &DockerNetworkArgs) -> Result<DockerNetworkArgs, ModuleError> {
    let mut a = a.clone();
    a.labels = sanitize_labels(&a.labels, "labels").map_err(ModuleError::msg)?;
    for v in a.driver_options.values_mut() {
        let text = match &*v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        *v = Value::String(text);
    }
    Ok(a)
}

/// What docker_network decided: the API calls to make, in order, and the report of them.
struct NetworkAction {
    ops: Vec<Op>,
    report: Report,
}

/// One change to the daemon's networks.
enum Op {
    /// Attach a container (`POST /networks/NAME/connect`).
    Connect(String),
    /// Detach a container, forcibly.
    Disconnect(String),
    /// Create the network with this body.
    Create(Value),
    /// Remove the network.
    Remove,
}

/// What a run reports: whether it changes anything, community.docker's `actions` and
/// `differences`, and the diff's before and after.
#[derive(Default)]
struct Report {
    changed: bool,
    actions: Vec<String>,
    /// Names of the settings that differ (community.docker's legacy `diff.differences`).
    differences: Vec<String>,
    before: BTreeMap<String, Value>,
    after: BTreeMap<String, Value>,
}

impl Report {
    /// The module's result; `network` is the network's inspect data with `state: present`.
    fn result(&self, a: &DockerNetworkArgs, ctx: &ModuleCtx, network: Option<Value>) -> ModuleResult {
        let mut res = ModuleResult::changed(self.changed);
        if let Some(n) = network {
            res = res.with("network", n);
        }
        // As community.docker: `actions` always for absent, else in check mode or with debug;
        // `diff.differences` (the names) in check mode or with debug.
        if ctx.check || a.debug || a.state == State::Absent {
            res = res.with("actions", self.actions.clone());
        }
        if (ctx.check || a.debug) && !ctx.diff {
            let legacy = match a.state {
                State::Present => serde_json::json!({ "differences": self.differences }),
                State::Absent => serde_json::json!({}),
            };
            res = res.with("diff", legacy);
        }
        if ctx.diff {
            let before = crate::filewrite::json_diff_text(&self.before);
            let after = crate::filewrite::json_diff_text(&self.after);
            if before != after {
                res = res.with_diff(FileDiff {
                    before_header: format!("network {}", a.name),
                    after_header: format!("network {}", a.name),
                    before,
                    after,
                });
            }
        }
        res
    }
}

/// One run's state: the changes decided so far, which `apply` makes.
struct Run<'r> {
    raw: &'r RawApi,
    name: String,
    ops: Vec<Op>,
    report: Report,
}

fn fail(what: String, e: RawError) -> ModuleError {
    ModuleError::msg(format!("{what}: {e}"))
}

impl Run<'_> {
    fn track(&mut self, name: &str, active: Value, parameter: Value) {
        self.report.before.insert(name.to_string(), active);
        self.report.after.insert(name.to_string(), parameter);
    }

    /// Makes one decided change.
    fn perform(&self, op: &Op) -> Result<(), ModuleError> {
        let name = &self.name;
        match op {
            Op::Connect(c) => {
                let body = serde_json::json!({"Container": c, "EndpointConfig": null});
                self.raw
                    .post_json(&format!("/networks/{}/connect", path_escape(name)), &[], &body)
                    .map_err(|e| fail(format!("Error connecting container {c} to network {name}"), e))?;
            }
            Op::Disconnect(c) => {
                let body = serde_json::json!({"Container": c, "Force": true});
                self.raw
                    .post_json(&format!("/networks/{}/disconnect", path_escape(name)), &[], &body)
                    .map_err(|e| fail(format!("Error disconnecting container {c} from network {name}"), e))?;
            }
            Op::Create(data) => {
                self.raw
                    .post_json("/networks/create", &[], data)
                    .map_err(|e| fail(format!("Error creating network {name}"), e))?;
            }
            Op::Remove => {
                self.raw
                    .delete(&format!("/networks/{}", path_escape(name)))
                    .map_err(|e| fail(format!("Error removing network {name}"), e))?;
            }
        }
        Ok(())
    }

    /// The network's inspect JSON when one has exactly this name (or ID).
    fn get(&self) -> Result<Option<Value>, ModuleError> {
        match self.raw.get(&format!("/networks/{}", path_escape(&self.name))) {
            Ok(v) => {
                let same = v.get("Name").and_then(Value::as_str) == Some(&self.name)
                    || v.get("Id").and_then(Value::as_str) == Some(&self.name);
                Ok(same.then_some(v))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(fail(format!("Error inspecting network {}", self.name), e)),
        }
    }

    /// `state: present`: decides the changes; returns the network as it is now (null when it
    /// does not exist yet).
    fn present(&mut self, a: &mut DockerNetworkArgs, existing: Option<Value>) -> Result<Value, ModuleError> {
        if a.connected.is_empty() {
            if let Some(net) = &existing {
                a.connected = container_names(net);
            }
        }
        let mut flags = vec![];
        for (key, name, v) in [
            ("ConfigOnly", "config_only", a.config_only),
            ("EnableIPv4", "enable_ipv4", a.enable_ipv4),
            ("EnableIPv6", "enable_ipv6", a.enable_ipv6),
            ("Internal", "internal", a.internal),
            ("Attachable", "attachable", a.attachable),
            ("Ingress", "ingress", a.ingress),
        ] {
            if let Some(v) = v {
                flags.push((key, name, v));
            }
        }
        let desired = Desired {
            driver: Some(a.driver.clone()),
            driver_options: a.driver_options.clone(),
            ipam_driver: a.ipam_driver.clone(),
            ipam_driver_options: a.ipam_driver_options.clone(),
            ipam_config: a.ipam_config.clone(),
            flags,
            scope: a.scope.clone(),
            labels: a.labels.clone(),
            config_from: a.config_from.clone(),
        };
        let diffs: Vec<Difference> = existing.as_ref().map(|n| differences(n, &desired)).unwrap_or_default();
        self.track("exists", Value::Bool(existing.is_some()), Value::Bool(true));
        let mut existing = existing;
        if existing.is_some() && (a.force || !diffs.is_empty()) {
            self.remove()?;
            existing = None;
        }
        if existing.is_none() {
            self.create(a)?;
        }
        let attached = existing.as_ref().map(container_names).unwrap_or_default();
        for c in a.connected.clone() {
            if attached.contains(&c) || !self.container_exists(&c)? {
                continue;
            }
            self.ops.push(Op::Connect(c.clone()));
            self.report.actions.push(format!("Connected container {c}"));
            self.report.changed = true;
            self.track(&format!("connected.{c}"), Value::Bool(false), Value::Bool(true));
        }
        if !a.appends {
            for c in attached {
                if !a.connected.contains(&c) {
                    self.disconnect(&c)?;
                }
            }
        }
        for d in diffs {
            self.report.differences.push(d.name.clone());
            self.track(&d.name, d.active, d.parameter);
        }
        Ok(existing.unwrap_or(Value::Null))
    }

    fn container_exists(&self, name: &str) -> Result<bool, ModuleError> {
        match self.raw.get(&format!("/containers/{}/json", path_escape(name))) {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(fail(format!("Error inspecting container {name}"), e)),
        }
    }

    fn create(&mut self, a: &DockerNetworkArgs) -> Result<(), ModuleError> {
        let mut data = serde_json::json!({
            "Name": a.name,
            "Driver": a.driver,
            "Options": a.driver_options,
            "IPAM": null,
            "CheckDuplicate": null,
        });
        let pools: Vec<Value> = a.ipam_config.iter().flatten().map(IpamPool::to_api).collect();
        if let Some(m) = data.as_object_mut() {
            let mut put = |k: &str, v: Option<Value>| {
                if let Some(v) = v {
                    m.insert(k.to_string(), v);
                }
            };
            put("ConfigOnly", a.config_only.map(Value::Bool));
            put("ConfigFrom", a.config_from.as_ref().map(|n| serde_json::json!({"Network": n})));
            put("EnableIPv6", a.enable_ipv6.map(Value::Bool));
            put("EnableIPv4", a.enable_ipv4.map(Value::Bool));
            put("Internal", a.internal.filter(|i| *i).map(Value::Bool));
            put("Scope", a.scope.clone().map(Value::String));
            put("Attachable", a.attachable.map(Value::Bool));
            put("Ingress", a.ingress.map(Value::Bool));
            put("Labels", Some(Value::Object(a.labels.clone())));
            if a.ipam_driver.is_some() || a.ipam_driver_options.is_some() || !pools.is_empty() {
                put(
                    "IPAM",
                    Some(serde_json::json!({
                        "Driver": a.ipam_driver,
                        "Config": pools,
                        "Options": a.ipam_driver_options,
                    })),
                );
            }
        }
        self.ops.push(Op::Create(data));
        self.report.actions.push(format!("Created network {} with driver {}", a.name, a.driver));
        self.report.changed = true;
        Ok(())
    }

    fn disconnect(&mut self, container: &str) -> Result<(), ModuleError> {
        self.ops.push(Op::Disconnect(container.to_string()));
        self.report.actions.push(format!("Disconnected container {container}"));
        self.report.changed = true;
        self.track(&format!("connected.{container}"), Value::Bool(true), Value::Bool(false));
        Ok(())
    }

    /// Detaches every container, then removes the network.
    fn remove(&mut self) -> Result<(), ModuleError> {
        let attached = self.get()?.as_ref().map(container_names).unwrap_or_default();
        for c in attached {
            self.disconnect(&c)?;
        }
        self.ops.push(Op::Remove);
        self.report.actions.push(format!("Removed network {}", self.name));
        self.report.changed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::test_support::{busybox_image, docker, docker_name, dockerd, DockerCleanup, Sandbox};
    use serde_json::json;

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        if !dockerd("docker_network") {
            return;
        }
        let name = docker_name("dn");
        let image = format!("{}:1", docker_name("dn-image"));
        let container = docker_name("dn-c");
        let _image = busybox_image(&image);
        let _objects = DockerCleanup(vec![
            vec!["network".into(), "rm".into(), name.clone()],
            vec!["rm".into(), "-f".into(), container.clone()],
        ]);
        docker(&["run", "-d", "--name", &container, &image, "/bin/busybox", "sleep", "600"])
            .expect("docker run failed");
        let mut sb = Sandbox::new();
        let labelled = |v: &str| json!({"name": name, "labels": {"a": v}});
        let d = sb.decide(&DockerNetwork, &labelled("1"));
        assert!(d.result.changed);
        assert_eq!(d.observed.get("exists"), Some(&json!(false)));
        assert!(docker(&["network", "inspect", &name]).is_none(), "decide created the network");
        let r = sb.apply(&DockerNetwork, &labelled("1"), d);
        assert!(r.changed);
        assert_eq!(r.data["network"]["Name"], json!(name));
        let again = sb.decide(&DockerNetwork, &labelled("1"));
        assert!(!again.result.changed);
        let digest = again.observed.get("config_digest").cloned();
        assert!(digest.as_ref().is_some_and(Value::is_string));

        // A container to attach: decided, attached only when applied.
        let attach = json!({"name": name, "labels": {"a": "1"}, "connected": [container]});
        let d = sb.decide(&DockerNetwork, &attach);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("connected"), Some(&json!([])));
        let attached = || docker(&["network", "inspect", "-f", "{{range .Containers}}{{.Name}}{{end}}", &name]);
        assert_eq!(attached().as_deref(), Some(""), "decide attached the container");
        sb.apply(&DockerNetwork, &attach, d);
        assert_eq!(attached(), Some(container.clone()));
        let again = sb.decide(&DockerNetwork, &attach);
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("connected"), Some(&json!([container])));

        // Another label recreates the network (detaching, then attaching the container again).
        let relabelled = json!({"name": name, "labels": {"a": "2"}, "connected": [container]});
        let d = sb.decide(&DockerNetwork, &relabelled);
        assert!(d.result.changed);
        assert_eq!(docker(&["network", "inspect", "-f", "{{.Labels.a}}", &name]).as_deref(), Some("1"));
        sb.apply(&DockerNetwork, &relabelled, d);
        assert_eq!(docker(&["network", "inspect", "-f", "{{.Labels.a}}", &name]).as_deref(), Some("2"));
        assert_eq!(attached(), Some(container.clone()));
        assert_ne!(sb.decide(&DockerNetwork, &relabelled).observed.get("config_digest"), digest.as_ref());
    }
}
