//! `docker_image` (community.docker): makes sure an image is on the host's daemon, by building it
//! (context directory on the host, or on the controller), loading a `docker save` archive on the
//! host, pulling it, or requiring it locally; re-tags it into `repository`, pushes it, or removes it.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, Decision, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::image::{is_image_name_id, is_valid_tag, parse_repository_tag};
use crate::docker::image_run::Run;

/// `docker_image` arguments.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerImageArgs {
    /// Image name, optionally with `:tag` (which then wins over `tag`), or an image ID.
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// Tag (default `latest`).
    #[serde(default = "latest", deserialize_with = "crate::args::string")]
    pub tag: String,
    /// Where the image comes from when missing: `build`, `load`, `pull`, `local`.
    #[serde(default)]
    pub source: Option<Source>,
    /// A `docker save` archive on the managed host (`source: load`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub load_path: Option<String>,
    /// Build options (`source: build`).
    #[serde(default)]
    pub build: Option<BuildArgs>,
    /// Pull options; only `platform` exists.
    #[serde(default)]
    pub pull: Option<PullArgs>,
    /// Push the image (or `repository`) to its registry.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub push: bool,
    /// Also tag the image as this `repo[:tag]` (and push that with `push`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub repository: Option<String>,
    /// Build, load or pull even when the image exists.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force_source: bool,
    /// Re-tag into `repository` even when that tag exists.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force_tag: bool,
    /// With `state: absent`: remove even when containers use the image or it has several tags.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force_absent: bool,
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
    /// Accepted for compatibility; no effect.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub debug: bool,
}

fn latest() -> String {
    "latest".into()
}

/// Where a missing image comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Build from a context directory.
    Build,
    /// Load a `docker save` archive.
    Load,
    /// Pull from its registry.
    Pull,
    /// Must already exist.
    Local,
}

/// Desired state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The image exists.
    #[default]
    Present,
    /// The image does not exist.
    Absent,
}

/// `build:` options.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct BuildArgs {
    /// Context directory: on the managed host, else found on the controller as `copy src` is.
    #[serde(deserialize_with = "crate::args::string")]
    pub path: String,
    /// Dockerfile inside the context (default `Dockerfile`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub dockerfile: Option<String>,
    /// Build-time variables (`--build-arg`).
    #[serde(default)]
    pub args: Option<Map<String, Value>>,
    /// Pull newer base images.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub pull: bool,
    /// Do not use the build cache.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub nocache: bool,
    /// Remove intermediate containers (default yes).
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub rm: bool,
    /// Labels of the built image.
    #[serde(default)]
    pub labels: Option<Map<String, Value>>,
    /// Build stage to stop at.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub target: Option<String>,
    /// Network mode of the build's RUN steps.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub network: Option<String>,
    /// Images used as cache sources.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub cache_from: Option<Vec<String>>,
    /// Platform to build for.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub platform: Option<String>,
}

/// `pull:` options.
#[derive(Debug, Clone, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct PullArgs {
    /// Platform to pull (`linux/amd64`).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub platform: Option<String>,
}

/// The `docker_image` module.
pub struct DockerImage;

impl TypedModule for DockerImage {
    type Args = DockerImageArgs;
    const NAME: &'static str = "docker_image";
    const COLLECTION: &'static str = "community.docker";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Makes sure an image is on the host's Docker daemon: builds, loads or pulls it when missing, tags it, \
                pushes it, or removes it.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. `source` says where a \
                missing image comes from (`local` only requires it to exist); `force_source` builds, loads or pulls \
                anyway and reports no change when the image ID stays the same. The build context `build.path` is a \
                directory on the host (archived there with tar) or, when the host has none, a controller directory \
                found as copy's src is; orc does not apply `.dockerignore`. `load_path` is an archive on the host. \
                Pull and push use the credentials in ~/.docker/config.json on the host (credential helpers are not \
                run). Check mode reports what would be done. Not supported: `archive_path`, \
                `build.container_limits`, `build.etc_hosts`, `build.shm_size`, `build.use_config_proxy`, \
                `build.http_timeout`.",
        returns: &[
            (
                "image",
                "The image's inspect data after the task (with `push_status` after a push; `{\"state\": \
                \"Deleted\"}` after a removal).",
            ),
            ("actions", "What was done (`Built image NAME:TAG from PATH`, `Pulled image ...`, `Pushed image ...`)."),
            ("stdout, stdout_lines", "After a build: the build's output."),
        ],
        example: "- name: Build the app image and push it\n  \
                  community.docker.docker_image:\n    \
                  name: registry.example.com/app\n    \
                  tag: \"1.4.0\"\n    \
                  source: build\n    \
                  build:\n      \
                  path: /srv/app\n    \
                  push: true\n",
    };

    fn check_args(a: &DockerImageArgs) -> Result<(), ArgError> {
        let err = |msg: &str| Err(ArgError { msg: msg.to_string() });
        if a.state == State::Present && a.source.is_none() {
            return err("state is present but all of the following are missing: source (build, load, pull or local)");
        }
        if a.source == Some(Source::Build) && a.build.is_none() {
            return err("source is build but all of the following are missing: build (with build.path)");
        }
        if a.source == Some(Source::Load) && a.load_path.is_none() {
            return err("source is load but all of the following are missing: load_path");
        }
        if !is_valid_tag(&a.tag) {
            return Err(ArgError { msg: format!("\"{}\" is not a valid docker tag!", a.tag) });
        }
        if a.repository.as_deref().is_some_and(is_image_name_id) {
            return Err(ArgError {
                msg: format!("`repository` must not be an image ID; got: {}", a.repository.as_deref().unwrap_or("")),
            });
        }
        if a.repository.is_none() && a.push && is_image_name_id(&a.name) {
            return Err(ArgError {
                msg: format!(
                    "Cannot push an image by ID; specify `repository` to tag and push the image with ID {} instead",
                    a.name
                ),
            });
        }
        Ok(())
    }

    fn decide(&self, a: &DockerImageArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let (result, observed) = pass(normalized(a), ctx, true)?;
        Ok(Decision { result, observed, action: Box::new(ImageAction) })
    }

    fn apply(&self, a: DockerImageArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        decision.take_action::<ImageAction>(Self::NAME)?;
        pass(normalized(&a), ctx, false).map(|(result, _)| result)
    }
}

/// What docker_image decided: to build, load, pull, tag, push or remove. `apply` makes the
/// same pass live, because each step reads what the one before it produced (a pull's image
/// ID says whether it changed anything, a push's status whether it pushed).
struct ImageAction;

/// The arguments with a `name:tag` split into `name` and `tag`, as community.docker does.
fn normalized(a: &DockerImageArgs) -> std::borrow::Cow<'_, DockerImageArgs> {
    if !is_image_name_id(&a.name) {
        if let (repo, Some(tag)) = parse_repository_tag(&a.name) {
            let mut a = a.clone();
            a.name = repo;
            a.tag = tag;
            return std::borrow::Cow::Owned(a);
        }
    }
    std::borrow::Cow::Borrowed(a)
}

/// One pass, dry (changing nothing) or live: the result and what was observed.
fn pass(
    a: std::borrow::Cow<'_, DockerImageArgs>,
    ctx: &mut ModuleCtx,
    dry: bool,
) -> Result<(ModuleResult, Map<String, Value>), ModuleError> {
    let (api, raw) = crate::docker::raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
    let mut run = Run::new(ctx, api, raw, dry);
    match a.state {
        State::Present => run.present(&a)?,
        State::Absent => run.absent(&a)?,
    }
    let mut res = ModuleResult::changed(run.changed).with("actions", run.actions).with("image", run.image);
    res.data.extend(run.extra);
    Ok((res, run.observed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::parse_args;
    use serde_json::json;

    fn check(v: Value) -> Result<(), String> {
        let a: DockerImageArgs = parse_args(v.as_object().unwrap()).map_err(|e| e.msg)?;
        DockerImage::check_args(&a).map_err(|e| e.msg)
    }

    #[test]
    fn argument_rules() {
        assert!(check(json!({"name": "a", "source": "local"})).is_ok());
        assert!(check(json!({"name": "a", "state": "absent"})).is_ok());
        assert!(check(json!({"name": "a"})).unwrap_err().contains("missing: source"));
        assert!(check(json!({"name": "a", "source": "build"})).unwrap_err().contains("build"));
        assert!(check(json!({"name": "a", "source": "load"})).unwrap_err().contains("load_path"));
        assert!(check(json!({"name": "a", "source": "local", "tag": "-bad"}))
            .unwrap_err()
            .contains("valid docker tag"));
        let id = format!("sha256:{}", "0".repeat(64));
        assert!(check(json!({"name": id, "source": "local", "push": true}))
            .unwrap_err()
            .contains("Cannot push an image by ID"));
        assert!(check(json!({"name": "a", "source": "local", "archive_path": "/x"}))
            .unwrap_err()
            .contains("archive_path"));
        assert!(check(json!({"name": "a", "source": "build", "build": {"path": "/x", "shm_size": "1g"}}))
            .unwrap_err()
            .contains("shm_size"));
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        use crate::builtin::test_support::{docker, docker_name, dockerd, empty_image, DockerCleanup, Sandbox};
        if !dockerd("docker_image") {
            return;
        }
        let image = docker_name("di-image");
        let repo = docker_name("di-repo");
        let _image = empty_image(&image);
        let _repo = DockerCleanup(vec![vec!["rmi".into(), "-f".into(), format!("{repo}:v1")]]);
        let mut sb = Sandbox::new();
        let args = json!({"name": image, "source": "local", "repository": format!("{repo}:v1")});
        let d = sb.decide(&DockerImage, &args);
        assert!(d.result.changed);
        let id = docker(&["image", "inspect", "-f", "{{.Id}}", &image]).unwrap();
        assert_eq!(d.observed.get("image_id"), Some(&json!(id)));
        assert_eq!(d.observed.get("repository_image_id"), Some(&Value::Null));
        assert!(docker(&["image", "inspect", &format!("{repo}:v1")]).is_none(), "decide tagged the image");
        let r = sb.apply(&DockerImage, &args, d);
        assert!(r.changed);
        assert_eq!(docker(&["image", "inspect", "-f", "{{.Id}}", &format!("{repo}:v1")]), Some(id.clone()));
        let again = sb.decide(&DockerImage, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("repository_image_id"), Some(&json!(id)));

        let absent = json!({"name": format!("{repo}:v1"), "state": "absent"});
        let d = sb.decide(&DockerImage, &absent);
        assert!(d.result.changed);
        assert!(docker(&["image", "inspect", &format!("{repo}:v1")]).is_some(), "decide removed the image");
        sb.apply(&DockerImage, &absent, d);
        assert!(docker(&["image", "inspect", &format!("{repo}:v1")]).is_none());
        assert_eq!(sb.decide(&DockerImage, &absent).observed.get("image_id"), Some(&Value::Null));
    }
}
