//! `docker_volume` (community.docker): creates or removes a Docker volume; recreates it when its
//! driver, options or labels differ and `recreate` says so.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::raw::{self, path_escape, RawApi};
use crate::docker::util::{filters_query, sanitize_labels};

/// `docker_volume` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
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

    fn run(&self, mut a: DockerVolumeArgs, ctx: &mut ModuleCtx) -> RunResult {
        if let Some(l) = &a.labels {
            a.labels = Some(sanitize_labels(l, "labels").map_err(ModuleError::msg)?);
        }
        let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
        let name = a.volume_name.clone();
        let existing = find(&raw, &name)?;
        let mut before = BTreeMap::new();
        let mut after = BTreeMap::new();
        let mut actions: Vec<String> = vec![];
        let mut changed = false;
        let mut legacy: Vec<String> = vec![];
        before.insert("exists".to_string(), Value::Bool(existing.is_some()));
        after.insert("exists".to_string(), Value::Bool(a.state == State::Present));
        let remove = |actions: &mut Vec<String>| -> Result<(), ModuleError> {
            if !ctx.check {
                raw.delete(&format!("/volumes/{}", path_escape(&name))).map_err(|e| ModuleError::msg(e.to_string()))?;
            }
            actions.push(format!("Removed volume {name}"));
            Ok(())
        };
        let mut res = ModuleResult::ok();
        match a.state {
            State::Absent => {
                if existing.is_some() {
                    remove(&mut actions)?;
                    changed = true;
                }
            }
            State::Present => {
                let diffs = existing.as_ref().map(|v| differences(v, &a)).unwrap_or_default();
                let mut existing = existing;
                if existing.is_some()
                    && (a.recreate == Recreate::Always || (a.recreate == Recreate::OptionsChanged && !diffs.is_empty()))
                {
                    remove(&mut actions)?;
                    changed = true;
                    existing = None;
                }
                if existing.is_none() {
                    if !ctx.check {
                        let mut data = serde_json::json!({
                            "Name": name, "Driver": a.driver, "DriverOpts": a.driver_options,
                        });
                        if let (Some(m), Some(l)) = (data.as_object_mut(), &a.labels) {
                            m.insert("Labels".into(), Value::Object(l.clone()));
                        }
                        raw.post_json("/volumes/create", &[], &data).map_err(|e| ModuleError::msg(e.to_string()))?;
                    }
                    actions.push(format!("Created volume {name} with driver {}", a.driver));
                    changed = true;
                }
                for (k, param, active) in diffs {
                    legacy.push(k.clone());
                    before.insert(k.clone(), active);
                    after.insert(k, param);
                }
                res = res.with("volume", find(&raw, &name)?.unwrap_or(Value::Null));
            }
        }
        res.changed = changed;
        // As community.docker: `actions` always for absent, else in check mode or with debug;
        // `diff.differences` (the names) in check mode or with debug.
        if ctx.check || a.debug || a.state == State::Absent {
            res = res.with("actions", actions);
        }
        if (ctx.check || a.debug) && !ctx.diff {
            let d = match a.state {
                State::Present => serde_json::json!({ "differences": legacy }),
                State::Absent => serde_json::json!({}),
            };
            res = res.with("diff", d);
        }
        if ctx.diff {
            let (b, af) = (crate::filewrite::json_diff_text(&before), crate::filewrite::json_diff_text(&after));
            if b != af {
                res = res.with_diff(FileDiff {
                    before_header: format!("volume {name}"),
                    after_header: format!("volume {name}"),
                    before: b,
                    after: af,
                });
            }
        }
        Ok(res)
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
}
