//! `docker_login` (community.docker): checks registry credentials with the daemon (`/auth`) and
//! keeps them in the Docker CLI's config.json on the managed host, so pulls and pushes (by orc's
//! docker modules or the `docker` command) can use them; `state: absent` removes them.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::docker::auth::{
    erase_auth, exact_auth, expand_user, find_auth, load_config, resolve_index_name, store_auth, write_config,
    DEFAULT_CONFIG_PATH, INDEX_URL,
};
use crate::docker::raw;

/// `docker_login` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DockerLoginArgs {
    /// The registry (default Docker Hub, `https://index.docker.io/v1/`).
    #[serde(default = "index_url", alias = "registry", alias = "url", deserialize_with = "crate::args::string")]
    pub registry_url: String,
    /// User name; required with `state: present`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub username: Option<String>,
    /// Password; required with `state: present`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub password: Option<String>,
    /// Check the credentials with the registry and write them even when config.json has them.
    #[serde(default, alias = "reauth", deserialize_with = "crate::args::bool")]
    pub reauthorize: bool,
    /// `present` (logged in) or `absent` (logged out).
    #[serde(default)]
    pub state: State,
    /// The Docker CLI configuration on the managed host.
    #[serde(default = "config_path", alias = "dockercfg_path", deserialize_with = "crate::args::string")]
    pub config_path: String,
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

fn index_url() -> String {
    INDEX_URL.into()
}

fn config_path() -> String {
    DEFAULT_CONFIG_PATH.into()
}

/// Logged in or out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Credentials checked and stored.
    #[default]
    Present,
    /// Credentials removed.
    Absent,
}

/// The `docker_login` module.
pub struct DockerLogin;

impl TypedModule for DockerLogin {
    type Args = DockerLoginArgs;
    const NAME: &'static str = "docker_login";
    const COLLECTION: &'static str = "community.docker";

    const DOC: ModuleText = ModuleText {
        short: "Checks registry credentials with the Docker daemon and keeps them in config.json on the host, or \
                removes them.",
        notes: "The Engine API is reached through the daemon's Unix socket on the host, over the host's connection; \
                nothing is installed on the host and the TLS arguments are not accepted. The daemon's /auth endpoint \
                logs into the registry; wrong credentials fail the task and nothing is written. The entry \
                (`auths[REGISTRY].auth`, base64 of user:password) is merged into `config_path`, written atomically \
                with mode 0600. The registry is asked only when the file does not hold these credentials already, or \
                with `reauthorize`. orc's docker_image and docker_container use these credentials to pull and push. \
                When config.json hands the registry to a credential helper (`credsStore`, `credHelpers`), the task \
                fails instead of running it. Check mode asks the registry but writes nothing.",
        returns: &[(
            "login_result",
            "The daemon's answer (`{\"Status\": \"Login Succeeded\"}`), without the password.",
        )],
        example: "- name: Log in to the company registry\n  \
                  community.docker.docker_login:\n    \
                  registry_url: registry.example.com\n    \
                  username: ci\n    \
                  password: \"{{ registry_password }}\"\n",
    };

    fn check_args(a: &DockerLoginArgs) -> Result<(), ArgError> {
        if a.state == State::Present {
            let missing: Vec<&str> = [("username", &a.username), ("password", &a.password)]
                .into_iter()
                .filter(|(_, v)| v.is_none())
                .map(|(k, _)| k)
                .collect();
            if !missing.is_empty() {
                return Err(ArgError {
                    msg: format!("state is present but all of the following are missing: {}", missing.join(", ")),
                });
            }
        }
        Ok(())
    }

    fn run(&self, a: DockerLoginArgs, ctx: &mut ModuleCtx) -> RunResult {
        let path = expand_user(ctx, &a.config_path)?;
        let mut config = load_config(ctx, &path)?.unwrap_or_else(|| Value::Object(Map::new()));
        refuse_helpers(&config, &a.registry_url, &path)?;
        match a.state {
            State::Absent => {
                let changed = exact_auth(&config, &a.registry_url).is_some();
                if changed && !ctx.check {
                    erase_auth(&mut config, &a.registry_url);
                    write_config(ctx, &path, &config)?;
                }
                Ok(ModuleResult::changed(changed).with("login_result", Value::Object(Map::new())))
            }
            State::Present => {
                let (user, pass) = (a.username.clone().unwrap_or_default(), a.password.clone().unwrap_or_default());
                let stored = find_auth(&config, &a.registry_url);
                let login_result = if stored.as_ref() == Some(&(user.clone(), pass.clone())) && !a.reauthorize {
                    // What community.docker returns from its config lookup (password removed).
                    serde_json::json!({"email": null, "serveraddress": a.registry_url, "username": user})
                } else {
                    let (_api, raw) = raw::connect(ctx, a.docker_host.as_deref(), a.timeout)?;
                    let body = serde_json::json!({
                        "username": user, "password": pass, "email": null, "serveraddress": a.registry_url,
                    });
                    let mut answer = raw.post_json("/auth", &[], &body).map_err(|e| {
                        ModuleError::msg(format!("Logging into {} for user {user} failed - {e}", a.registry_url))
                    })?;
                    if let Some(m) = answer.as_object_mut() {
                        m.remove("password");
                    }
                    answer
                };
                let current = exact_auth(&config, &a.registry_url);
                let changed = current != Some((user.clone(), pass.clone())) || a.reauthorize;
                if changed && !ctx.check {
                    store_auth(&mut config, &a.registry_url, &user, &pass);
                    write_config(ctx, &path, &config)?;
                }
                Ok(ModuleResult::changed(changed).with("login_result", login_result))
            }
        }
    }
}

/// Fails when config.json hands this registry's credentials to a helper program, which orc does
/// not run (writing a plain entry next to it would not be what the user set up).
fn refuse_helpers(config: &Value, registry: &str, path: &str) -> Result<(), ModuleError> {
    let host = resolve_index_name(registry);
    let helper = config
        .get("credHelpers")
        .and_then(|h| h.get(&host).or_else(|| h.get(registry)))
        .or_else(|| config.get("credsStore"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    match helper {
        Some(h) => Err(ModuleError::msg(format!(
            "{path} stores the credentials of {registry} with the credential helper docker-credential-{h}; orc does \
             not run credential helpers: remove credsStore/credHelpers from it or use another config_path"
        ))),
        None => Ok(()),
    }
}
