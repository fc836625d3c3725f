//! `docker_volume` (community.docker): creates or removes a Docker volume; recreates it when its
//! driver, options or labels differ and `recreate` says so.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, Decision, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::raw::{self, path_escape, RawApi};
use crate::docker::util::{digest, filters_query, pick, sanitize_labels};

/// `docker_volume` arguments.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerVolumeArgs {
    /// Volume name.
    #[serde(alias = "name", deserialize_with = "crate::args::string")]
    pub volume_name: String,
    /// Volume driver.
    #[serde(default = "local", deserialize_with = "crate::args::string")]
    pub driver: String,
    /// Driver options (`type`, `device`, `o` for the local driver).
    #[serde(default)]
    pub driver_options: Map<String, Value>,
    /// Volume labels.
    #[serde(default)]
    pub labels: Option<Map<String, Value>>,
    /// `never`, `options-changed` or `always`.
    #[serde(default)]
    pub recreate: Recreate,
    /// `present` or `absent`.
    #[serde(default)]
    pub state: State,
    /// The daemon's socket on the host.
    #[serde(default, alias = "docker_url", deserialize_with = "crate::args::opt_string")]
    pub docker_host: Option<String>,
    /// Accepted for compatibility; the version is negotiated.
    #[serde(default, alias = "docker_api_version", deserialize_with = "crate::args::opt_string")]
    pub api_version: Option<String>,
    /// Seconds an API call may take.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub timeout: Option<u64>,
    /// Return `actions` outside check mode too.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub debug: bool,
}

fn local() -> String {
    "local".into()
}

/// When an existing volume is removed and created again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
pub enum Recreate {
    /// Never (a differing volume is left as it is).
    #[default]
    #[serde(rename = "never")]
    Never,
    /// When driver, options or labels differ.
    #[serde(rename = "options-changed")]
    OptionsChanged,
    /// On every run.
    #[serde(rename = "always")]
    Always,
}

/// Desired state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The volume exists.
    #[default]
    Present,
    /// The volume does not exist.
    Absent,
}

/// The `docker_volume` module.
pub struct DockerVolume;

impl TypedModule for DockerVolume {
    type Args = DockerVolumeArgs;
    const NAME: &'static str = "docker_volume";
    const COLLECTION: &'static str = "community.docker";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Creates or removes a Docker volume, and recreates it when asked to and its settings differ.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. An existing volume is \
                compared with the task: its driver, and each driver option and label given must have the given \
                value. `recreate: never` (the default) leaves a differing volume as it is. Label values must be \
                strings (integers are converted; booleans and floats are refused, as community.docker does). \
                Removing a volume a container uses fails with the daemon's message. Check mode reports without \
                changing anything.",
        returns: &[
            ("volume", "The volume's record from the volume list after the task."),
            (
                "actions",
                "What was done (`Created volume ...`, `Removed volume ...`): with `state: absent`, in check \
                mode or with `debug`.",
            ),
            (
                "diff",
                "In check mode or with `debug`: `differences`, the names of the settings that differ. With \
                --diff: the differences before and after.",
            ),
        ],
        example: "- name: Create the database volume\n  \
                  community.docker.docker_volume:\n    \
                  name: pgdata\n    \
                  labels:\n      \
                  app: db\n",
    };

    fn check_args(a: &DockerVolumeArgs) -> Result<(), ArgError> {
        if let Some(l) = &a.labels {
            sanitize_labels(l, "labels").map_err(|msg| ArgError { msg })?;
        }
        Ok(())
    }

    fn decide(&self, a: &DockerVolumeArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let a = normalized(a)?;
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
        let name = a.volume_name.clone();
        let existing = find(&raw, &name)?;
        let mut observed = Map::new();
        observed.insert("exists".into(), Value::Bool(existing.is_some()));
        if let Some(v) = &existing {
            observed.insert("config_digest".into(), Value::String(digest(&pick(v, &["Driver", "Options", "Labels"]))));
        }
        let mut report = Report::default();
        let mut ops = vec![];
        report.before.insert("exists".to_string(), Value::Bool(existing.is_some()));
        report.after.insert("exists".to_string(), Value::Bool(a.state == State::Present));
        let mut volume = None;
        match a.state {
            State::Absent => {
                if existing.is_some() {
                    ops.push(Op::Remove);
                    report.actions.push(format!("Removed volume {name}"));
                    report.changed = true;
                }
            }
            State::Present => {
                let diffs = existing.as_ref().map(|v| differences(v, &a)).unwrap_or_default();
                let mut current = existing.clone();
                if current.is_some()
                    && (a.recreate == Recreate::Always || (a.recreate == Recreate::OptionsChanged && !diffs.is_empty()))
                {
                    ops.push(Op::Remove);
                    report.actions.push(format!("Removed volume {name}"));
                    report.changed = true;
                    current = None;
                }
                if current.is_none() {
                    let mut data = serde_json::json!({
                        "Name": name, "Driver": a.driver, "DriverOpts": a.driver_options,
                    });
                    if let (Some(m), Some(l)) = (data.as_object_mut(), &a.labels) {
                        m.insert("Labels".into(), Value::Object(l.clone()));
                    }
                    ops.push(Op::Create(data));
                    report.actions.push(format!("Created volume {name} with driver {}", a.driver));
                    report.changed = true;
                }
                for (k, param, active) in diffs {
                    report.legacy.push(k.clone());
                    report.before.insert(k.clone(), active);
                    report.after.insert(k, param);
                }
                // As the volume is now (check mode always reported it so).
                volume = Some(existing.unwrap_or(Value::Null));
            }
        }
        let result = report.result(&a, ctx, volume);
        Ok(Decision { result, observed, action: Box::new(VolumeAction { ops, report }) })
    }

    fn apply(&self, a: DockerVolumeArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<VolumeAction>(Self::NAME)?;
        let a = normalized(&a)?;
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
        let name = &a.volume_name;
        for op in &act.ops {
            match op {
                Op::Remove => {
                    raw.delete(&format!("/volumes/{}", path_escape(name)))
                        .map_err(|e| ModuleError::msg(e.to_string()))?;
                }
                Op::Create(data) => {
                    raw.post_json("/volumes/create", &[], data).map_err(|e| ModuleError::msg(e.to_string()))?;
                }
            }
        }
        let volume = match a.state {
            State::Present => Some(find(&raw, name)?.unwrap_or(Value::Null)),
            State::Absent => None,
        };
        Ok(act.report.result(&a, ctx, volume))
    }
}

/// The arguments with their labels checked (integers become strings).
fn normalized(a: &DockerVolumeArgs) -> Result<DockerVolumeArgs, ModuleError> {
    let mut a = a.clone();
    if let Some(l) = &a.labels {
        a.labels = Some(sanitize_labels(l, "labels").map_err(ModuleError::msg)?);
    }
    Ok(a)
}

/// What docker_volume decided: the API calls to make, in order, and the report of them.
struct VolumeAction {
    ops: Vec<Op>,
    report: Report,
}

/// One change to the daemon's volumes.
enum Op {
    /// Remove the volume.
    Remove,
    /// Create the volume with this body.
    Create(Value),
}

/// What a run reports: whether it changes anything, community.docker's `actions` and
/// `differences`, and the diff's before and after.
#[derive(Default)]
struct Report {
    changed: bool,
    actions: Vec<String>,
    legacy: Vec<String>,
    before: BTreeMap<String, Value>,
    after: BTreeMap<String, Value>,
}

impl Report {
    /// The module's result; `volume` is the volume's record with `state: present`.
    fn result(&self, a: &DockerVolumeArgs, ctx: &ModuleCtx, volume: Option<Value>) -> ModuleResult {
        let name = &a.volume_name;
        let mut res = ModuleResult::changed(self.changed);
        if let Some(v) = volume {
            res = res.with("volume", v);
        }
        // As community.docker: `actions` always for absent, else in check mode or with debug;
        // `diff.differences` (the names) in check mode or with debug.
        if ctx.check || a.debug || a.state == State::Absent {
            res = res.with("actions", self.actions.clone());
        }
        if (ctx.check || a.debug) && !ctx.diff {
            let d = match a.state {
                State::Present => serde_json::json!({ "differences": self.legacy }),
                State::Absent => serde_json::json!({}),
            };
            res = res.with("diff", d);
        }
        if ctx.diff {
            let (b, af) =
                (crate::filewrite::json_diff_text(&self.before), crate::filewrite::json_diff_text(&self.after));
            if b != af {
                res = res.with_diff(FileDiff {
                    before_header: format!("volume {name}"),
                    after_header: format!("volume {name}"),
                    before: b,
                    after: af,
                });
            }
        }
        res
    }
}

/// The volume's record from the volume list (as community.docker returns it), if it exists.
fn find(raw: &RawApi, name: &str) -> Result<Option<Value>, ModuleError> {
    let mut f = Map::new();
    f.insert("name".into(), Value::String(name.to_string()));
    let list =
        raw.get(&format!("/volumes{}", filters_query("?", Some(&f)))).map_err(|e| ModuleError::msg(e.to_string()))?;
    let vols = list.get("Volumes").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(vols.into_iter().find(|v| v.get("Name").and_then(Value::as_str) == Some(name)))
}

/// What differs between the volume and the task: `(name, wanted, current)`.
fn differences(vol: &Value, a: &DockerVolumeArgs) -> Vec<(String, Value, Value)> {
    let mut out = vec![];
    let driver = vol.get("Driver").cloned().unwrap_or(Value::Null);
    if driver.as_str() != Some(a.driver.as_str()) {
        out.push(("driver".into(), Value::String(a.driver.clone()), driver));
    }
    if !a.driver_options.is_empty() {
        match vol.get("Options").and_then(Value::as_object).filter(|o| !o.is_empty()) {
            None => out.push((
                "driver_options".into(),
                Value::Object(a.driver_options.clone()),
                vol.get("Options").cloned().unwrap_or(Value::Null),
            )),
            Some(have) => {
                for (k, v) in &a.driver_options {
                    let want = match v {
                        Value::String(s) => s.clone(),
                        other => crate::args::scalar_to_string(other).unwrap_or_else(|| other.to_string()),
                    };
                    if have.get(k).and_then(Value::as_str) != Some(want.as_str()) {
                        out.push((
                            format!("driver_options.{k}"),
                            v.clone(),
                            have.get(k).cloned().unwrap_or(Value::Null),
                        ));
                    }
                }
            }
        }
    }
    if let Some(labels) = a.labels.as_ref().filter(|l| !l.is_empty()) {
        let have = vol.get("Labels").and_then(Value::as_object).cloned().unwrap_or_default();
        for (k, v) in labels {
            if have.get(k) != Some(v) {
                out.push((format!("labels.{k}"), v.clone(), have.get(k).cloned().unwrap_or(Value::Null)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> DockerVolumeArgs {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn compares_only_what_the_task_sets() {
        let vol =
            json!({"Name": "v", "Driver": "local", "Options": {"type": "tmpfs", "o": "size=1m"}, "Labels": {"a": "1"}});
        assert!(differences(&vol, &args(json!({"name": "v"}))).is_empty());
        assert!(differences(
            &vol,
            &args(json!({"name": "v", "driver_options": {"type": "tmpfs"}, "labels": {"a": "1"}}))
        )
        .is_empty());
        let d =
            differences(&vol, &args(json!({"name": "v", "driver_options": {"o": "size=2m"}, "labels": {"b": "2"}})));
        let names: Vec<&str> = d.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["driver_options.o", "labels.b"]);
        let d = differences(
            &json!({"Name": "v", "Driver": "local", "Options": null}),
            &args(json!({"name": "v", "driver_options": {"type": "tmpfs"}})),
        );
        assert_eq!(d[0].0, "driver_options");
    }

    #[test]
    fn recreate_values() {
        assert_eq!(args(json!({"name": "v", "recreate": "options-changed"})).recreate, Recreate::OptionsChanged);
        assert!(serde_json::from_value::<DockerVolumeArgs>(json!({"name": "v", "recreate": "sometimes"})).is_err());
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        use crate::builtin::test_support::{docker, docker_name, dockerd, DockerCleanup, Sandbox};
        if !dockerd("docker_volume") {
            return;
        }
        let name = docker_name("dv");
        let _v = DockerCleanup(vec![vec!["volume".into(), "rm".into(), "-f".into(), name.clone()]]);
        let mut sb = Sandbox::new();
        let labels = |v: &str| json!({"name": name, "labels": {"a": v}, "recreate": "options-changed"});
        let d = sb.decide(&DockerVolume, &labels("1"));
        assert!(d.result.changed);
        assert_eq!(d.observed.get("exists"), Some(&json!(false)));
        assert!(docker(&["volume", "inspect", &name]).is_none(), "decide created the volume");
        let r = sb.apply(&DockerVolume, &labels("1"), d);
        assert!(r.changed);
        assert_eq!(r.data["volume"]["Name"], json!(name));
        let again = sb.decide(&DockerVolume, &labels("1"));
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("exists"), Some(&json!(true)));
        let digest = again.observed.get("config_digest").cloned();
        assert!(digest.as_ref().is_some_and(Value::is_string));

        let d = sb.decide(&DockerVolume, &labels("2"));
        assert!(d.result.changed, "another label value recreates");
        assert_eq!(docker(&["volume", "inspect", "-f", "{{.Labels.a}}", &name]).as_deref(), Some("1"));
        sb.apply(&DockerVolume, &labels("2"), d);
        assert_eq!(docker(&["volume", "inspect", "-f", "{{.Labels.a}}", &name]).as_deref(), Some("2"));
        assert_ne!(sb.decide(&DockerVolume, &labels("2")).observed.get("config_digest"), digest.as_ref());

        let absent = json!({"name": name, "state": "absent"});
        let d = sb.decide(&DockerVolume, &absent);
        assert!(d.result.changed);
        assert!(docker(&["volume", "inspect", &name]).is_some(), "decide removed the volume");
        sb.apply(&DockerVolume, &absent, d);
        assert!(docker(&["volume", "inspect", &name]).is_none());
    }
}
