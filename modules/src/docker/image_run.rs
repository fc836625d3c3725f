//! docker_image's work on one host: find the image, then build, load, pull, tag, push or remove
//! it through the Engine API, recording community.docker's `actions`. The module's arguments and
//! dispatch are in `crate::builtin::docker_image`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::builtin::docker_image::{DockerImageArgs, Source};
use crate::contract::{FileKind, ModuleCtx, ModuleError, ModuleResult};
use crate::docker::auth::{image_registry_auth, split_repo_name};
use crate::docker::image::{collect, find_image, is_image_name_id, parse_repository_tag, reference, StreamLog};
use crate::docker::raw::RawApi;
use crate::docker::DockerApi;
use crate::shell_quote::quote;

/// One pass's state: the clients and what the pass did so far. A dry pass (`decide`) records
/// each change without making it, as check mode always did; a live one (`apply`) makes them.
pub(crate) struct Run<'c, 'a> {
    ctx: &'c mut ModuleCtx<'a>,
    api: DockerApi,
    raw: RawApi,
    dry: bool,
    /// What the pass compared: the image's ID (or null when absent), and the `repository`
    /// tag's when the task re-tags.
    pub(crate) observed: Map<String, Value>,
    /// The daemon's images changed (or would, in check mode).
    pub(crate) changed: bool,
    /// community.docker's `actions`: what was done, in words.
    pub(crate) actions: Vec<String>,
    /// The image's inspect result at the end (`{}` when absent).
    pub(crate) image: Value,
    /// Further return values (`stdout`, `push_status`...).
    pub(crate) extra: Map<String, Value>,
}

impl<'c, 'a> Run<'c, 'a> {
    /// A pass with nothing done yet; `dry`: change nothing.
    pub(crate) fn new(ctx: &'c mut ModuleCtx<'a>, api: DockerApi, raw: RawApi, dry: bool) -> Self {
        Run {
            ctx,
            api,
            raw,
            dry,
            observed: Map::new(),
            changed: false,
            actions: vec![],
            image: Value::Object(Map::new()),
            extra: Map::new(),
        }
    }

    fn observe(&mut self, key: &str, image: Option<&Value>) {
        let id = image.and_then(|i| i.get("Id")).cloned().unwrap_or(Value::Null);
        self.observed.entry(key).or_insert(id);
    }

    fn find(&self, reference: &str) -> Result<Option<Value>, ModuleError> {
        find_image(&self.raw, reference)
            .map_err(|e| ModuleError::msg(format!("Error inspecting image {reference}: {e}")))
    }

    /// `state: present`: the image is there (built, loaded, pulled or required locally), then
    /// re-tagged into `repository` and pushed when asked.
    pub(crate) fn present(&mut self, a: &DockerImageArgs) -> Result<(), ModuleError> {
        let name = reference(&a.name, &a.tag);
        let existing = self.find(&name)?;
        self.observe("image_id", existing.as_ref());
        if existing.is_none() || a.force_source {
            match a.source {
                Some(Source::Build) => self.build(a, &name)?,
                Some(Source::Load) => self.load(a, &name)?,
                Some(Source::Pull) => self.pull(a, &name)?,
                Some(Source::Local) | None => {
                    if existing.is_none() {
                        return Err(ModuleError::msg(format!("Cannot find the image {name} locally.")));
                    }
                }
            }
            if !self.dry {
                if let Some(old) = &existing {
                    if old.get("Id").is_some() && old.get("Id") == self.image.get("Id") {
                        self.changed = false;
                    }
                }
            }
            if let (Some(old), Some(Source::Local)) = (&existing, a.source) {
                self.image = old.clone();
            }
        } else if let Some(old) = existing {
            self.image = old;
        }
        if a.push && a.repository.is_none() {
            self.push(&a.name, &a.tag, &a.name)?;
        } else if let Some(repo) = &a.repository {
            self.tag(a, repo)?;
        }
        Ok(())
    }

    fn build(&mut self, a: &DockerImageArgs, name: &str) -> Result<(), ModuleError> {
        if is_image_name_id(&a.name) {
            return Err(ModuleError::msg(format!(
                "Image name must not be an image ID for source=build; got: {}",
                a.name
            )));
        }
        let Some(b) = &a.build else { return Err(ModuleError::msg("source is build but build.path is missing")) };
        let context = self.context_source(&b.path)?;
        self.actions.push(format!("Built image {name} from {}", b.path));
        self.changed = true;
        if self.dry {
            return Ok(());
        }
        let tar = match &context {
            Context::Host(dir) => {
                let out = self.ctx.conn.exec(&format!("tar -C {} -cf - .", quote(dir)), None)?;
                if out.rc != 0 {
                    return Err(ModuleError::msg(format!(
                        "Error building {}: cannot read the build context {dir} on {}: {}",
                        a.name,
                        self.ctx.conn.host(),
                        out.stderr_str().trim()
                    )));
                }
                out.stdout
            }
            Context::Controller(dir) => {
                let out = std::process::Command::new("tar")
                    .arg("-C")
                    .arg(dir)
                    .args(["-cf", "-", "."])
                    .output()
                    .map_err(|e| {
                        ModuleError::msg(format!("Error building {}: cannot run tar on the controller: {e}", a.name))
                    })?;
                if !out.status.success() {
                    return Err(ModuleError::msg(format!(
                        "Error building {}: cannot read the build context {} on the controller: {}",
                        a.name,
                        dir.display(),
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
                out.stdout
            }
        };
        let strings = |m: &Option<Map<String, Value>>, bools_lower: bool| -> Option<HashMap<String, String>> {
            m.as_ref().map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let s = match v {
                            Value::Bool(b) if bools_lower => b.to_string(),
                            other => crate::args::scalar_to_string(other).unwrap_or_else(|| other.to_string()),
                        };
                        (k.clone(), s)
                    })
                    .collect()
            })
        };
        let opts = bollard::query_parameters::BuildImageOptions {
            dockerfile: b.dockerfile.clone().unwrap_or_else(|| "Dockerfile".into()),
            t: Some(name.to_string()),
            nocache: b.nocache,
            pull: b.pull.then(|| "1".to_string()),
            rm: b.rm,
            forcerm: b.rm,
            buildargs: strings(&b.args, false),
            labels: strings(&b.labels, true),
            networkmode: b.network.clone(),
            target: b.target.clone().unwrap_or_default(),
            cachefrom: b.cache_from.clone(),
            platform: b.platform.clone().unwrap_or_default(),
            ..Default::default()
        };
        let log: StreamLog = self.api.run(|d| async move {
            collect(Box::pin(d.build_image(opts, None, Some(bollard::body_full(tar.into()))))).await
        });
        if let Some(e) = log.error {
            return Err(ModuleError::Fail(Box::new(
                ModuleResult::failed(format!("Error building {} - message: {e}, logs: {:?}", a.name, log.lines))
                    .with("stdout", log.lines.join("\n")),
            )));
        }
        self.extra.insert("stdout".into(), Value::String(log.lines.join("\n")));
        self.extra.insert("stdout_lines".into(), log.lines.iter().map(|l| Value::String(l.clone())).collect());
        self.image = self.find(name)?.unwrap_or(Value::Null);
        Ok(())
    }

    /// Where the build context is: the directory on the host, else on the controller.
    fn context_source(&mut self, path: &str) -> Result<Context, ModuleError> {
        let out = self.ctx.conn.exec(&format!("[ -d {} ]", quote(path)), None)?;
        if out.rc == 0 {
            return Ok(Context::Host(path.to_string()));
        }
        match self.ctx.controller.find_file(FileKind::Files, path) {
            Ok(p) if p.is_dir() => Ok(Context::Controller(p)),
            _ => Err(ModuleError::msg(format!(
                "Requested build path {path} could not be found or you do not have access (looked on {} and, \
                 relative to the playbook's files/, on the controller)",
                self.ctx.conn.host()
            ))),
        }
    }

    fn load(&mut self, a: &DockerImageArgs, name: &str) -> Result<(), ModuleError> {
        let path = a.load_path.clone().unwrap_or_default();
        let missing =
            || ModuleError::msg(format!("Error loading image {}. Specified path {path} does not exist.", a.name));
        let exists = self.ctx.conn.exec(&format!("[ -f {} ]", quote(&path)), None)?;
        if exists.rc != 0 {
            return Err(missing());
        }
        self.actions.push(format!("Loaded image {name} from {path}"));
        self.changed = true;
        if self.dry {
            return Ok(());
        }
        let data = self.ctx.conn.read_file(&path)?.ok_or_else(missing)?;
        let opts = bollard::query_parameters::ImportImageOptions { quiet: false, platform: None };
        let log: StreamLog = self.api.run(|d| async move {
            collect(Box::pin(d.import_image(opts, bollard::body_full(data.into()), None))).await
        });
        let stdout = log.lines.join("\n");
        let fail = |msg: String| ModuleError::Fail(Box::new(ModuleResult::failed(msg).with("stdout", stdout.clone())));
        if let Some(e) = &log.error {
            return Err(fail(format!("Error loading image {} - {e}", a.name)));
        }
        let mut loaded: Vec<String> =
            log.lines.iter().filter_map(|l| l.strip_prefix("Loaded image:")).map(|s| s.trim().to_string()).collect();
        let ids: Vec<String> = log
            .lines
            .iter()
            .filter_map(|l| l.strip_prefix("Loaded image ID:"))
            .map(|s| s.trim().to_lowercase())
            .collect();
        if loaded.is_empty() && ids.is_empty() {
            return Err(fail("Detected no loaded images. Archive potentially corrupt?".into()));
        }
        let expected = if is_image_name_id(&a.name) { a.name.to_lowercase() } else { format!("{}:{}", a.name, a.tag) };
        let found = if is_image_name_id(&a.name) { ids.contains(&expected) } else { loaded.contains(&expected) };
        if !found {
            loaded.sort();
            let mut all: Vec<String> = loaded.iter().map(|i| format!("'{i}'")).collect();
            all.extend(ids);
            return Err(fail(format!(
                "The archive did not contain image '{expected}'. Instead, found {}.",
                all.join(", ")
            )));
        }
        self.image = self.find(name)?.unwrap_or(Value::Null);
        Ok(())
    }

    fn pull(&mut self, a: &DockerImageArgs, name: &str) -> Result<(), ModuleError> {
        if is_image_name_id(&a.name) {
            return Err(ModuleError::msg(format!(
                "Image name must not be an image ID for source=pull; got: {}",
                a.name
            )));
        }
        self.actions.push(format!("Pulled image {}:{}", a.name, a.tag));
        self.changed = true;
        if self.dry {
            return Ok(());
        }
        let creds = image_registry_auth(self.ctx, &a.name)?;
        let opts = bollard::query_parameters::CreateImageOptions {
            from_image: Some(a.name.clone()),
            tag: Some(a.tag.clone()),
            platform: a.pull.as_ref().and_then(|p| p.platform.clone()).unwrap_or_default(),
            ..Default::default()
        };
        let log: StreamLog =
            self.api.run(|d| async move { collect(Box::pin(d.create_image(Some(opts), None, creds))).await });
        if let Some(e) = log.error {
            return Err(ModuleError::msg(format!("Error pulling image {name} - {e}")));
        }
        self.image = self.find(name)?.unwrap_or(Value::Null);
        Ok(())
    }

    /// Pushes `name:tag`; `task_name` is the task's `name`, which community.docker's action text
    /// names even when `repository` is what is pushed.
    fn push(&mut self, name: &str, tag: &str, task_name: &str) -> Result<(), ModuleError> {
        if is_image_name_id(name) {
            return Err(ModuleError::msg(format!("Cannot push an image ID: {name}")));
        }
        let (registry, repo_name) = split_repo_name(name);
        self.actions.push(format!("Pushed image {task_name} to {registry}/{repo_name}:{tag}"));
        self.changed = true;
        if self.dry {
            return Ok(());
        }
        let creds = image_registry_auth(self.ctx, name)?;
        let opts = bollard::query_parameters::PushImageOptions { tag: Some(tag.to_string()), platform: None };
        let log: StreamLog =
            self.api.run(|d| async move { collect(Box::pin(d.push_image(name, Some(opts), creds))).await });
        if let Some(e) = log.error {
            let hint = if e.contains("unauthorized") && e.contains("authentication required") {
                format!(". Try logging into {registry} first.")
            } else if e.contains("unauthorized") {
                ". Does the repository exist?".to_string()
            } else {
                String::new()
            };
            return Err(ModuleError::msg(format!("Error pushing image {registry}/{repo_name}:{tag} - {e}{hint}")));
        }
        self.changed = log.statuses.iter().any(|s| s == "Pushing" || s == "Pushed");
        let mut image = self.find(&format!("{name}:{tag}"))?.unwrap_or_else(|| Value::Object(Map::new()));
        if let Some(m) = image.as_object_mut() {
            m.insert("push_status".into(), log.last_status.clone().map(Value::String).unwrap_or(Value::Null));
        }
        self.image = image;
        Ok(())
    }

    fn tag(&mut self, a: &DockerImageArgs, repository: &str) -> Result<(), ModuleError> {
        let (repo, repo_tag) = parse_repository_tag(repository);
        let repo_tag = repo_tag.unwrap_or_else(|| a.tag.clone());
        let target = format!("{repo}:{repo_tag}");
        let current = self.find(&target)?;
        self.observe("repository_image_id", current.as_ref());
        if current.is_none() || a.force_tag {
            let source = reference(&a.name, &a.tag);
            self.changed = true;
            self.actions.push(format!("Tagged image {source} to {target}"));
            if !self.dry {
                let opts = bollard::query_parameters::TagImageOptions {
                    repo: Some(repo.clone()),
                    tag: Some(repo_tag.clone()),
                };
                self.api.run(|d| d.tag_image(&source, Some(opts))).map_err(|e| {
                    ModuleError::msg(format!("Error: failed to tag image - {}", crate::docker::api_error(&e)))
                })?;
                let new = self.find(&target)?;
                if let (Some(old), Some(new)) = (&current, &new) {
                    if old.get("Id") == new.get("Id") {
                        self.changed = false;
                    }
                }
                self.image = new.unwrap_or(Value::Null);
            }
        }
        if a.push {
            self.push(&repo, &repo_tag, &a.name)?;
        }
        Ok(())
    }

    /// `state: absent`: the image (by name and tag, or ID) is removed.
    pub(crate) fn absent(&mut self, a: &DockerImageArgs) -> Result<(), ModuleError> {
        let name = reference(&a.name, &a.tag);
        let existing = self.find(&name)?;
        self.observe("image_id", existing.as_ref());
        if existing.is_none() {
            return Ok(());
        }
        if !self.dry {
            let opts = bollard::query_parameters::RemoveImageOptions { force: a.force_absent, ..Default::default() };
            match self.api.run(|d| d.remove_image(&name, Some(opts), None)) {
                Ok(_) => {}
                Err(e) if crate::docker::is_not_found(&e) => {}
                Err(e) => {
                    return Err(ModuleError::msg(format!(
                        "Error removing image {name} - {}",
                        crate::docker::api_error(&e)
                    )))
                }
            }
        }
        self.changed = true;
        self.actions.push(format!("Removed image {name}"));
        self.image = serde_json::json!({"state": "Deleted"});
        Ok(())
    }
}

/// Where a build context lives.
enum Context {
    /// A directory on the managed host.
    Host(String),
    /// A directory on the controller (the path was not on the host).
    Controller(std::path::PathBuf),
}
