//! docker_container's run: community.docker's `ContainerManager` flow. Inspect the container and
//! the image, compare, then create, recreate, update, connect networks, start, stop, restart or
//! remove only as needed; check mode stops before each change but reports it.

use serde_json::{json, Map, Value};

use super::body;
use super::compare::{differences, Comparisons};
use super::config::{self, Params, Pull};
use super::diff::Differences;
use super::image;
use super::options::Mode;
use super::{api, health};
use crate::builtin::docker_container::{DockerContainerArgs, State};
use crate::contract::{Decision, Housekeeping, ModuleCtx, ModuleError, ModuleResult, RunResult};
use crate::docker::DockerApi;

pub use super::api::inspect;

/// One pass over the container: dry (`decide`: every change is only recorded, as check mode
/// always did) or live (`apply`).
struct Manager<'a> {
    api: DockerApi,
    args: &'a DockerContainerArgs,
    params: Params,
    cmp: Comparisons,
    /// Dry: record each change without making it.
    check: bool,
    changed: bool,
    actions: Vec<Value>,
    tracker: Differences,
    warnings: Vec<String>,
    status: Option<i64>,
    failed_msg: Option<String>,
    /// What the first inspection found (`decide`'s `observed`).
    observed: Map<String, Value>,
}

/// What docker_container decided: the task's settings as `decide` prepared them (`env_file`
/// read, `~` expanded), so `apply` works from the same ones. The container is re-inspected
/// when applying, because every step depends on the one before it (a pulled image changes the
/// comparison, a created container is what gets started).
pub struct ContainerAction {
    params: Params,
    warnings: Vec<String>,
}

/// One pass's outcome.
struct Outcome {
    result: ModuleResult,
    observed: Map<String, Value>,
    /// A live pass has work a dry one cannot see: `pull: always` (only pulling tells whether the
    /// image changed) or `state: healthy` on a container whose health check has not passed yet.
    live_work: bool,
}

/// The task's settings, read once for both phases.
fn prepare(args: &DockerContainerArgs, ctx: &mut ModuleCtx) -> Result<(Params, Vec<String>), ModuleError> {
    if args.state == State::Absent {
        return Ok((Params::default(), Vec::new()));
    }
    let env_file = match &args.env_file {
        Some(path) => Some(read_env_file(ctx, path)?),
        None => None,
    };
    let needs_home = args.volumes.iter().flatten().any(|v| v.starts_with('~'));
    let home = if needs_home { Some(crate::docker::auth::expand_user(ctx, "~")?) } else { None };
    let mut p = config::params(args, env_file.as_deref(), home.as_deref()).map_err(ModuleError::msg)?;
    let w = std::mem::take(&mut p.warnings);
    Ok((p, w))
}

/// Inspects the container and decides, changing nothing: the result is what check mode
/// reports. Outside check mode a pass whose live run has work the dry one cannot see (see
/// [`Outcome::live_work`]) is reported as changing, so that the engine applies it; the applied
/// result then says whether anything changed.
pub fn decide(args: &DockerContainerArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
    let (params, warnings) = prepare(args, ctx)?;
    let action = ContainerAction { params: params.clone(), warnings: warnings.clone() };
    let out = execute(args, ctx, params, warnings, true)?;
    // `pull: always` and a health wait are work only the live run can do: applying runs although
    // nothing is reported as changed yet (the applied result says whether anything changed).
    let live_work = !ctx.check && out.live_work && !out.result.changed;
    Ok(Decision { result: out.result, observed: out.observed, action: Housekeeping::when(live_work, action) })
}

/// Carries out what `decide` found to change, from the settings it prepared.
pub fn apply(args: &DockerContainerArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
    let (_, act) = decision.take_action::<ContainerAction>("docker_container")?;
    execute(args, ctx, act.params, act.warnings, false).map(|o| o.result)
}

/// One pass of community.docker's flow, dry or live.
fn execute(
    args: &DockerContainerArgs,
    ctx: &mut ModuleCtx,
    params: Params,
    warnings: Vec<String>,
    dry: bool,
) -> Result<Outcome, ModuleError> {
    let cmp = Comparisons::new(args.comparisons.as_ref(), args.networks.is_some()).map_err(ModuleError::msg)?;
    let api = DockerApi::connect(ctx, args.docker_host.as_deref(), args.timeout)?;
    let mut m = Manager {
        api,
        args,
        params,
        cmp,
        check: dry,
        changed: false,
        actions: Vec::new(),
        tracker: Differences::default(),
        warnings,
        status: None,
        failed_msg: None,
        observed: Map::new(),
    };
    if let Some(w) = args.image.as_deref().and_then(image::latest_warning) {
        m.warnings.push(w);
    }
    let outcome = match args.state {
        State::Absent => m.absent().map(|()| None),
        state => m.present(state, ctx),
    };
    let facts = match outcome {
        Ok(f) => f,
        // A failure still says what the run changed before it (a container created and started
        // whose health check then timed out is a change, as community.docker reports it), and
        // carries the run's warnings.
        Err(ModuleError::Fail(mut r)) => {
            r.changed |= m.changed;
            if !m.warnings.is_empty() {
                r.data.insert("warnings".into(), json!(m.warnings));
            }
            return Err(ModuleError::Fail(r));
        }
        Err(e) => return Err(e),
    };
    let pulls_always = args.state != State::Absent
        && m.pull_mode() == Pull::Always
        && args.image.as_deref().is_some_and(|i| !super::parse::is_image_id(i));
    let waits = args.state == State::Healthy
        && facts.as_ref().is_some_and(|c| health::status(c).is_some_and(|s| s != "healthy"));
    let live_work = dry && !m.changed && (pulls_always || waits);
    let mut r = ModuleResult::changed(m.changed);
    if let Some(f) = facts {
        r = r.with("container", f);
    }
    if let Some(s) = m.status {
        r = r.with("status", s);
    }
    if ctx.check {
        r = r.with("actions", Value::Array(m.actions.clone()));
    }
    if ctx.diff {
        r = r.with_diff(m.tracker.file_diff(&args.name));
    }
    if !m.warnings.is_empty() {
        r = r.with("warnings", json!(m.warnings));
    }
    if let Some(msg) = m.failed_msg {
        r.failed = true;
        r.msg = Some(msg);
    }
    Ok(Outcome { result: r, observed: m.observed, live_work })
}

fn read_env_file(ctx: &mut ModuleCtx, path: &str) -> Result<String, ModuleError> {
    match ctx.conn.read_file(path)? {
        Some(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        None => Err(ModuleError::msg(format!("env_file {path} does not exist on {}", ctx.conn.host()))),
    }
}

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::msg(msg)
}

impl Manager<'_> {
    fn pull_mode(&self) -> Pull {
        config::pull_mode(self.args.pull.as_ref()).unwrap_or(Pull::Missing)
    }

    /// The desired image (inspected), pulling it when needed.
    fn desired_image(&mut self, ctx: &mut ModuleCtx) -> Result<Option<Value>, ModuleError> {
        let Some(name) = self.args.image.clone() else { return Ok(None) };
        let reference = super::parse::image_reference(&name);
        let found = api::find_image(&self.api, &reference)?;
        if super::parse::is_image_id(&name) {
            return found.map(Some).ok_or_else(|| fail(format!("Cannot find image with ID {name}")));
        }
        let pull = self.pull_mode();
        if found.is_none() && pull == Pull::Never {
            return Err(fail(format!("Cannot find image with name {reference}, and pull=never")));
        }
        if found.is_some() && pull != Pull::Always {
            return Ok(found);
        }
        if self.check {
            let always = self.args.pull_check_mode_behavior.as_deref() == Some("always");
            if found.is_none() || always {
                self.changed = true;
                self.actions.push(json!({"pulled_image": reference, "changed": found.is_none()}));
            }
            return Ok(found);
        }
        let (repo, _) = super::parse::repository_tag(&name);
        let creds = crate::docker::auth::image_registry_auth(ctx, &repo)?;
        image::pull(&self.api, &reference, creds)?;
        let new = api::find_image(&self.api, &reference)?.ok_or_else(|| {
            fail(format!("Error pulling image {reference} - the daemon reported success but has no such image"))
        })?;
        let same = found.as_ref().and_then(|f| f.get("Id")) == new.get("Id");
        self.changed |= !same;
        self.actions.push(json!({"pulled_image": reference, "changed": !same}));
        Ok(Some(new))
    }

    fn present(&mut self, state: State, ctx: &mut ModuleCtx) -> Result<Option<Value>, ModuleError> {
        let mut container = inspect(&self.api, &self.args.name)?;
        self.observe(container.as_ref());
        self.resolve_networks()?;
        self.resolve_container_refs()?;
        let image = self.desired_image(ctx)?;
        if self.args.image.is_some() {
            let id = image.as_ref().and_then(|i| i.get("Id")).cloned().unwrap_or(Value::Null);
            self.observed.entry("desired_image_id").or_insert(id);
        }
        let current_image = match (&container, self.args.image.is_none() || self.needs_container_image()) {
            (Some(c), true) => match c.get("Image").and_then(Value::as_str) {
                Some(id) => api::find_image(&self.api, id)?,
                None => None,
            },
            _ => None,
        };
        let comparison_image =
            if self.args.image.is_none() || self.args.image_comparison.as_deref() == Some("current-image") {
                current_image.clone()
            } else {
                image.clone()
            };
        let was_running = container.as_ref().is_some_and(is_running);
        let mut created = false;
        let removing = container.as_ref().is_some_and(|c| c.pointer("/State/Status") == Some(&json!("removing")));
        if container.is_none() || removing {
            let Some(img) = self.args.image.clone() else {
                return Err(fail("Cannot create container when image is not specified!"));
            };
            self.tracker.add("exists", json!(true), json!(false));
            if removing && !self.check {
                let id = id_of(container.as_ref());
                api::wait_removed(&self.api, &id, self.args.removal_wait_timeout)?;
            }
            container = self.create(&img)?;
            created = true;
        } else if let Some(c) = container.clone() {
            let label_fail = self.args.image_label_mismatch.as_deref() == Some("fail");
            let (recreate, update) =
                differences(&self.params, &c, comparison_image.as_ref(), &self.cmp, label_fail).map_err(fail)?;
            let mut different = !recreate.is_empty();
            let mut image_diffs = Differences::default();
            if self.cmp.mode("image") == Mode::Strict {
                let have = c.get("Image").cloned().unwrap_or(Value::Null);
                if let Some(want) = image.as_ref().and_then(|i| i.get("Id")) {
                    if !have.is_null() && &have != want {
                        image_diffs.add("image", want.clone(), have);
                    }
                }
                let name_have = c.pointer("/Config/Image").cloned().unwrap_or(Value::Null);
                if let Some(want) = &self.args.image {
                    if self.args.image_name_mismatch.as_deref() != Some("ignore") && name_have != json!(want) {
                        different = true;
                        image_diffs.add("image_name", json!(want), name_have);
                    }
                }
            }
            if !image_diffs.is_empty() || different || self.args.recreate {
                self.tracker.merge(&image_diffs);
                self.tracker.merge(&recreate);
                self.tracker.merge(&update);
                let img = self
                    .args
                    .image
                    .clone()
                    .or_else(|| c.get("Image").and_then(Value::as_str).map(String::from))
                    .ok_or_else(|| {
                        fail("Cannot recreate container when image is not specified or cannot be extracted from current container!")
                    })?;
                let id = id_of(Some(&c));
                if is_running(&c) {
                    self.stop(&id)?;
                }
                self.remove(&id, false)?;
                if !self.check {
                    api::wait_removed(&self.api, &id, self.args.removal_wait_timeout)?;
                }
                // In check mode nothing was created: report the container as it is.
                container = self.create(&img)?.or(Some(c));
                created = !self.check;
            } else if !update.is_empty() {
                self.tracker.merge(&update);
                self.changed = true;
                let id = id_of(Some(&c));
                self.actions.push(json!({"updated": id, "update_parameters": body::update_body(&self.params)}));
                if !self.check {
                    api::update(&self.api, &id, body::update_body(&self.params))
                        .map_err(|e| fail(format!("Error updating container {id}: {e}")))?;
                    container = inspect(&self.api, &id)?;
                }
            }
        }
        let Some(mut c) = container else { return Ok(None) };
        c = self.update_networks(c, created)?;
        let id = id_of(Some(&c));
        let running = is_running(&c);
        let wants_running = matches!(state, State::Started | State::Healthy);
        if wants_running && !running {
            self.tracker.add("running", json!(true), json!(was_running));
            c = self.start(&id)?;
        } else if wants_running && self.args.restart {
            self.tracker.add("running", json!(true), json!(was_running));
            self.tracker.add("restarted", json!(true), json!(false));
            self.changed = true;
            self.actions.push(json!({"restarted": id, "timeout": self.args.stop_timeout}));
            if !self.check {
                let t = self.args.stop_timeout.unwrap_or(10) as i32;
                api::restart(&self.api, &id, t).map_err(|e| fail(format!("Error restarting container {id}: {e}")))?;
                c = inspect(&self.api, &id)?.unwrap_or(c);
            }
        } else if state == State::Stopped && running {
            self.tracker.add("running", json!(false), json!(was_running));
            self.stop(&id)?;
            if !self.check {
                c = inspect(&self.api, &id)?.unwrap_or(c);
            }
        }
        let paused = self
            .args
            .paused
            .or((self.args.container_default_behavior.as_deref() == Some("compatibility")).then_some(false));
        let is_paused = c.pointer("/State/Paused") == Some(&json!(true));
        if let Some(want) = paused.filter(|p| wants_running && *p != is_paused) {
            self.tracker.add("paused", json!(want), json!(is_paused));
            self.changed = true;
            self.actions.push(json!({"set_paused": want}));
            if !self.check {
                let verb = if want { "pausing" } else { "unpausing" };
                api::set_paused(&self.api, &id, want).map_err(|e| fail(format!("Error {verb} container {id}: {e}")))?;
                c = inspect(&self.api, &id)?.unwrap_or(c);
            }
        }
        if state == State::Healthy && !self.check {
            let max = self.args.healthy_wait_timeout.unwrap_or(300.0);
            let max = (max > 0.0).then_some(max);
            c = health::wait_healthy(&self.api, &self.args.name, &id, max)?;
        }
        Ok(Some(c))
    }

    /// Records what the decision compares: whether the container exists and runs (and is
    /// paused), its image's ID, and a digest of its values for the options the task sets (and of
    /// its networks' settings when the task lists networks). Nothing volatile (no start time, no
    /// health log).
    fn observe(&mut self, container: Option<&Value>) {
        let o = &mut self.observed;
        o.insert("exists".into(), json!(container.is_some()));
        let Some(c) = container else { return };
        o.insert("running".into(), json!(is_running(c)));
        o.insert("paused".into(), json!(c.pointer("/State/Paused") == Some(&json!(true))));
        o.insert("image_id".into(), c.get("Image").cloned().unwrap_or(Value::Null));
        let values = super::compare::container_values(c);
        let mut compared: Map<String, Value> =
            self.params.values.keys().filter_map(|k| values.get(k.as_str()).map(|v| (k.clone(), v.clone()))).collect();
        if self.params.get("networks").is_some() {
            let nets = c.pointer("/NetworkSettings/Networks").and_then(Value::as_object).cloned().unwrap_or_default();
            let nets: Map<String, Value> = nets
                .iter()
                .map(|(name, n)| {
                    (name.clone(), json!({"IPAMConfig": n.get("IPAMConfig"), "Aliases": n.get("Aliases"), "Links": n.get("Links")}))
                })
                .collect();
            compared.insert("networks".into(), Value::Object(nets));
        }
        o.insert("config_digest".into(), json!(crate::docker::util::digest(&Value::Object(compared))));
    }

    fn needs_container_image(&self) -> bool {
        self.params.get("command") == Some(&json!([])) || self.args.image_comparison.as_deref() == Some("current-image")
    }

    fn absent(&mut self) -> Result<(), ModuleError> {
        let found = inspect(&self.api, &self.args.name)?;
        self.observe(found.as_ref());
        if let Some(c) = found {
            let id = id_of(Some(&c));
            if is_running(&c) {
                self.tracker.add("running", json!(false), json!(true));
                self.stop(&id)?;
            }
            self.tracker.add("exists", json!(false), json!(true));
            self.remove(&id, false)?;
        }
        Ok(())
    }

    /// Rewrites `container:NAME` in network_mode, ipc_mode and pid_mode to `container:ID` (the
    /// daemon reports the ID), warning when there is no such container.
    fn resolve_container_refs(&mut self) -> Result<(), ModuleError> {
        for opt in ["network_mode", "ipc_mode", "pid_mode"] {
            let Some(other) = self.params.get(opt).and_then(Value::as_str).and_then(|v| v.strip_prefix("container:"))
            else {
                continue;
            };
            let other = other.to_string();
            match inspect(&self.api, &other)? {
                Some(c) => {
                    self.params.values.insert(opt.into(), json!(format!("container:{}", id_of(Some(&c)))));
                }
                None => self.warnings.push(format!("Cannot find a container with name or ID \"{other}\"")),
            }
        }
        Ok(())
    }

    /// Looks up the ID of every network in `networks` (they must exist).
    fn resolve_networks(&mut self) -> Result<(), ModuleError> {
        let Some(Value::Array(nets)) = self.params.values.get("networks").cloned() else { return Ok(()) };
        let mut out = Vec::new();
        for mut n in nets {
            let name = n["name"].as_str().unwrap_or_default().to_string();
            let id = api::network_id(&self.api, &name)?.ok_or_else(|| {
                fail(format!("Parameter error: network named {name} could not be found. Does it exist?"))
            })?;
            n["id"] = json!(id);
            out.push(n);
        }
        self.params.values.insert("networks".into(), Value::Array(out));
        Ok(())
    }

    fn create(&mut self, image: &str) -> Result<Option<Value>, ModuleError> {
        let mut body = body::create_body(&self.params, image);
        let mut networks = serde_json::Map::new();
        if self.args.networks_cli_compatible {
            if let Some(Value::Array(nets)) = self.params.get("networks") {
                if let Some(first) = nets.first() {
                    let name = first["name"].as_str().unwrap_or_default().to_string();
                    networks.insert(name, body::endpoint_config(first));
                }
            }
        }
        if !networks.is_empty() {
            body["NetworkingConfig"] = json!({"EndpointsConfig": networks});
        }
        self.actions.push(json!({"created": "Created container", "create_parameters": body}));
        self.changed = true;
        if self.check {
            return Ok(None);
        }
        let id = api::create(&self.api, &self.args.name, body)
            .map_err(|e| fail(format!("Error creating container: {e}")))?;
        inspect(&self.api, &id)
    }

    fn start(&mut self, id: &str) -> Result<Value, ModuleError> {
        self.actions.push(json!({"started": id}));
        self.changed = true;
        if self.check {
            return inspect(&self.api, id)?.ok_or_else(|| fail(format!("container {id} vanished")));
        }
        api::start(&self.api, id).map_err(|e| fail(format!("Error starting container {id}: {e}")))?;
        if self.params.get("detach") == Some(&json!(false)) {
            let status =
                api::wait_exit(&self.api, id).map_err(|e| fail(format!("Error waiting for container {id}: {e}")))?;
            self.status = Some(status);
            let output = if self.params.get("auto_remove") == Some(&json!(true)) {
                "Cannot retrieve result as auto_remove is enabled".to_string()
            } else {
                api::output(&self.api, id).map_err(|e| fail(format!("Error reading the output of {id}: {e}")))?
            };
            if self.args.cleanup {
                self.remove(id, true)?;
            }
            let mut c = inspect(&self.api, id)?.unwrap_or_else(|| json!({}));
            c["Output"] = json!(output.clone());
            if status != 0 {
                self.failed_msg = Some(output);
            }
            return Ok(c);
        }
        inspect(&self.api, id)?.ok_or_else(|| fail(format!("container {id} vanished after it was started")))
    }

    fn stop(&mut self, id: &str) -> Result<(), ModuleError> {
        self.changed = true;
        if self.args.force_kill {
            self.actions.push(json!({"killed": id, "signal": self.args.kill_signal}));
            if !self.check {
                api::kill(&self.api, id, self.args.kill_signal.as_deref())
                    .map_err(|e| fail(format!("Error killing container {id}: {e}")))?;
            }
            return Ok(());
        }
        self.actions.push(json!({"stopped": id, "timeout": self.args.stop_timeout}));
        if !self.check {
            api::stop(&self.api, id, self.args.stop_timeout)
                .map_err(|e| fail(format!("Error stopping container {id}: {e}")))?;
        }
        Ok(())
    }

    fn remove(&mut self, id: &str, force: bool) -> Result<(), ModuleError> {
        let volumes = !self.args.keep_volumes;
        self.actions.push(json!({"removed": id, "volume_state": volumes, "link": false, "force": force}));
        self.changed = true;
        if !self.check {
            api::remove(&self.api, id, volumes, force)
                .map_err(|e| fail(format!("Error removing container {id}: {e}")))?;
        }
        Ok(())
    }

    /// Connects the container to the task's networks with the task's settings, and (with
    /// `comparisons: {networks: strict}`) disconnects it from the others.
    fn update_networks(&mut self, c: Value, created: bool) -> Result<Value, ModuleError> {
        let Some(Value::Array(nets)) = self.params.get("networks").cloned() else { return Ok(c) };
        let id = id_of(Some(&c));
        let mut touched = false;
        let connected = c.pointer("/NetworkSettings/Networks").cloned().unwrap_or_else(|| json!({}));
        if self.cmp.mode("networks") != Mode::Ignore || created {
            for n in &nets {
                let name = n["name"].as_str().unwrap_or_default();
                let info = connected.get(name);
                if let Some(info) = info {
                    if !network_differs(n, info) {
                        continue;
                    }
                }
                let active = info.map(|i| {
                    json!({"name": name, "ipv4_address": i.pointer("/IPAMConfig/IPv4Address"),
                           "ipv6_address": i.pointer("/IPAMConfig/IPv6Address"), "aliases": i.get("Aliases"),
                           "links": i.get("Links")})
                });
                let mut param = n.clone();
                if let Some(o) = param.as_object_mut() {
                    o.remove("id");
                }
                self.tracker.add(&format!("network.{name}"), param, active.clone().unwrap_or(Value::Null));
                self.changed = true;
                touched = true;
                if active.is_some() {
                    self.actions.push(json!({"removed_from_network": name}));
                    if !self.check {
                        api::disconnect(&self.api, name, &id)
                            .map_err(|e| fail(format!("Error disconnecting container from network {name} - {e}")))?;
                    }
                }
                self.actions.push(json!({"added_to_network": name}));
                if !self.check {
                    api::connect(&self.api, name, &id, body::endpoint_config(n))
                        .map_err(|e| fail(format!("Error connecting container to network {name} - {e}")))?;
                }
            }
        }
        if self.cmp.mode("networks") == Mode::Strict {
            for (name, info) in connected.as_object().into_iter().flatten() {
                if nets.iter().any(|n| n["name"] == json!(name)) {
                    continue;
                }
                self.tracker.add(
                    &format!("network.{name}"),
                    Value::Null,
                    json!({"name": name, "id": info.get("NetworkID")}),
                );
                self.actions.push(json!({"removed_from_network": name}));
                self.changed = true;
                touched = true;
                if !self.check {
                    api::disconnect(&self.api, name, &id)
                        .map_err(|e| fail(format!("Error disconnecting container from network {name} - {e}")))?;
                }
            }
        }
        if touched && !self.check {
            return Ok(inspect(&self.api, &id)?.unwrap_or(c));
        }
        Ok(c)
    }
}

fn normalize_ip(ip: Option<&Value>) -> Option<String> {
    let s = ip?.as_str()?;
    Some(s.parse::<std::net::IpAddr>().map(|a| a.to_string()).unwrap_or_else(|_| s.to_string()))
}

/// True when a connected network's settings miss what the task asks for.
fn network_differs(want: &Value, info: &Value) -> bool {
    for (k, ptr) in [("ipv4_address", "/IPAMConfig/IPv4Address"), ("ipv6_address", "/IPAMConfig/IPv6Address")] {
        if want.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
            && normalize_ip(want.get(k)) != normalize_ip(info.pointer(ptr))
        {
            return true;
        }
    }
    let subset = |w: Option<&Value>, have: Option<&Value>| {
        let w = w.and_then(Value::as_array).cloned().unwrap_or_default();
        let have = have.and_then(Value::as_array).cloned().unwrap_or_default();
        w.iter().all(|x| have.contains(x))
    };
    if !subset(want.get("aliases"), info.get("Aliases")) {
        return true;
    }
    let links = body::endpoint_config(want).get("Links").cloned();
    !subset(links.as_ref(), info.get("Links"))
}

fn is_running(c: &Value) -> bool {
    c.pointer("/State/Running") == Some(&json!(true)) && c.pointer("/State/Ghost") != Some(&json!(true))
}

fn id_of(c: Option<&Value>) -> String {
    c.and_then(|c| c.get("Id")).and_then(Value::as_str).unwrap_or_default().to_string()
}
