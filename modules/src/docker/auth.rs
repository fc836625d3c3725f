//! Registry credentials in the Docker CLI's `config.json` on the managed host (`auths` entries
//! with a base64 `user:password` in `auth`), as community.docker reads and writes them: looked up
//! by registry host name (legacy full-URL keys match too), written with 4-space indentation and
//! sorted keys, mode 0600. Credential helpers (`credsStore`, `credHelpers`) are not run: an entry
//! that only names a helper is treated as absent.

use base64::{engine::general_purpose::STANDARD, Engine};
use bollard::auth::DockerCredentials;
use serde_json::{Map, Value};

use crate::contract::{ModuleCtx, ModuleError};
use crate::fileops::{atomic_write, Attrs};
use crate::shell_quote::quote;

/// Docker Hub's registry name as credentials are keyed (community.docker's `INDEX_NAME`).
pub const INDEX_NAME: &str = "docker.io";

/// Docker Hub's registry URL, the default `registry_url` of docker_login.
pub const INDEX_URL: &str = "https://index.docker.io/v1/";

/// Where the Docker CLI keeps credentials, relative to the user's home on the managed host.
pub const DEFAULT_CONFIG_PATH: &str = "~/.docker/config.json";

/// The host name of a registry URL or name (`https://reg:5000/v2/` -> `reg:5000`); Docker Hub's
/// spellings become [`INDEX_NAME`].
pub fn resolve_index_name(registry: &str) -> String {
    let host = registry.replace("http://", "").replace("https://", "");
    let host = host.split('/').next().unwrap_or("").to_string();
    if host == format!("index.{INDEX_NAME}") {
        INDEX_NAME.to_string()
    } else {
        host
    }
}

/// Splits an image reference into its registry and the rest (`reg:5000/app:1` -> `reg:5000`,
/// `app:1`); images without a registry part are Docker Hub's.
pub fn split_repo_name(image: &str) -> (String, String) {
    match image.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            (first.to_string(), rest.to_string())
        }
        _ => (INDEX_NAME.to_string(), image.to_string()),
    }
}

/// The `(username, password)` stored for `registry` in a parsed config.json, if any.
pub fn find_auth(config: &Value, registry: &str) -> Option<(String, String)> {
    let auths = config.get("auths")?.as_object()?;
    let wanted = resolve_index_name(registry);
    let entry = auths
        .get(registry)
        .or_else(|| auths.get(&wanted))
        .or_else(|| auths.iter().find(|(k, _)| resolve_index_name(k) == wanted).map(|(_, v)| v))?;
    decode_entry(entry)
}

/// The credentials of one `auths` entry: its `auth` field decoded, else `username`/`password`.
fn decode_entry(entry: &Value) -> Option<(String, String)> {
    if let Some(auth) = entry.get("auth").and_then(Value::as_str).filter(|a| !a.is_empty()) {
        let bytes = STANDARD.decode(auth.trim()).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (user, pass) = text.split_once(':')?;
        return Some((user.to_string(), pass.to_string()));
    }
    let user = entry.get("username")?.as_str()?;
    let pass = entry.get("password")?.as_str()?;
    Some((user.to_string(), pass.to_string()))
}

/// The exact `auths` entry docker_login looks at for `server` (no host-name resolution, as
/// community.docker's file store does).
pub fn exact_auth(config: &Value, server: &str) -> Option<(String, String)> {
    decode_entry(config.get("auths")?.get(server)?)
}

/// Sets `auths[server] = {"auth": base64(user:password)}` in a parsed config.json.
pub fn store_auth(config: &mut Value, server: &str, username: &str, password: &str) {
    if !config.is_object() {
        *config = Value::Object(Map::new());
    }
    let auth = STANDARD.encode(format!("{username}:{password}"));
    if let Some(obj) = config.as_object_mut() {
        let auths = obj.entry("auths").or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Some(a) = auths.as_object_mut() {
            a.insert(server.to_string(), serde_json::json!({ "auth": auth }));
        }
    }
}

/// Removes `auths[server]`; true when there was one.
pub fn erase_auth(config: &mut Value, server: &str) -> bool {
    config.get_mut("auths").and_then(Value::as_object_mut).and_then(|a| a.shift_remove(server)).is_some()
}

/// config.json as community.docker writes it: `json.dumps(config, indent=4, sort_keys=True)`.
pub fn render_config(config: &Value) -> String {
    crate::pyjson::dumps_with(config, crate::pyjson::Style { indent: Some(4), sort_keys: true, ensure_ascii: true })
}

/// `path` with a leading `~` or `~/` replaced by the connecting user's home on the managed host.
pub fn expand_user(ctx: &mut ModuleCtx, path: &str) -> Result<String, ModuleError> {
    if path != "~" && !path.starts_with("~/") {
        return Ok(path.to_string());
    }
    let out = ctx.conn.exec("printf '%s' \"$HOME\"", None)?;
    let home = out.stdout_str();
    if out.rc != 0 || home.is_empty() {
        return Err(ModuleError::msg(format!(
            "cannot expand {path}: $HOME is not set for the connecting user on {}",
            ctx.conn.host()
        )));
    }
    Ok(format!("{}{}", home.trim_end_matches('/'), &path[1..]))
}

/// Reads and parses config.json at `path` (already expanded) on the host: `None` when it does not
/// exist; a file that is not a JSON object counts as empty (as community.docker treats it).
pub fn load_config(ctx: &mut ModuleCtx, path: &str) -> Result<Option<Value>, ModuleError> {
    let Some(bytes) = ctx.conn.read_file(path)? else { return Ok(None) };
    let parsed: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Some(if parsed.is_object() { parsed } else { Value::Object(Map::new()) }))
}

/// Writes `config` to `path` on the host atomically with mode 0600, creating its directory.
pub fn write_config(ctx: &mut ModuleCtx, path: &str, config: &Value) -> Result<(), ModuleError> {
    let dir = crate::filewrite::dirname(path);
    let out = ctx.conn.exec(&format!("mkdir -p -- {}", quote(dir)), None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("cannot create {dir}: {}", out.stderr_str().trim())));
    }
    let attrs = Attrs { mode: Some(crate::args::Mode::Octal(0o600)), owner: None, group: None };
    atomic_write(ctx.conn, path, render_config(config).as_bytes(), &attrs).map_err(ModuleError::msg)
}

/// The credentials for `registry` (a host name such as `reg:5000`, or a URL) stored in the
/// connecting user's `~/.docker/config.json` on the managed host, ready for bollard's pull and
/// push calls; `None` when the file or the entry is missing.
pub fn registry_auth(ctx: &mut ModuleCtx, registry: &str) -> Result<Option<DockerCredentials>, ModuleError> {
    let path = expand_user(ctx, DEFAULT_CONFIG_PATH)?;
    let Some(config) = load_config(ctx, &path)? else { return Ok(None) };
    Ok(find_auth(&config, registry).map(|(username, password)| DockerCredentials {
        username: Some(username),
        password: Some(password),
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    }))
}

/// [`registry_auth`] for the registry an image reference names (Docker Hub when it names none).
pub fn image_registry_auth(ctx: &mut ModuleCtx, image: &str) -> Result<Option<DockerCredentials>, ModuleError> {
    let (registry, _) = split_repo_name(image);
    registry_auth(ctx, &registry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn index_names() {
        assert_eq!(resolve_index_name(INDEX_URL), "docker.io");
        assert_eq!(resolve_index_name("https://reg.example:5000/v2/"), "reg.example:5000");
        assert_eq!(resolve_index_name("localhost:5000"), "localhost:5000");
        assert_eq!(split_repo_name("app:1"), ("docker.io".into(), "app:1".into()));
        assert_eq!(split_repo_name("user/app"), ("docker.io".into(), "user/app".into()));
        assert_eq!(split_repo_name("localhost:5000/app:1"), ("localhost:5000".into(), "app:1".into()));
        assert_eq!(split_repo_name("localhost/app"), ("localhost".into(), "app".into()));
    }

    #[test]
    fn store_find_erase() {
        let mut c = json!({"credsStore": "x", "auths": {"other": {"auth": "YTpi"}}});
        store_auth(&mut c, "http://127.0.0.1:5000", "u", "p:w");
        assert_eq!(c["auths"]["http://127.0.0.1:5000"]["auth"], STANDARD.encode("u:p:w"));
        assert_eq!(find_auth(&c, "127.0.0.1:5000"), Some(("u".into(), "p:w".into())));
        assert_eq!(exact_auth(&c, "127.0.0.1:5000"), None);
        assert_eq!(find_auth(&c, "other"), Some(("a".into(), "b".into())));
        assert_eq!(find_auth(&c, "nope"), None);
        assert!(erase_auth(&mut c, "http://127.0.0.1:5000"));
        assert!(!erase_auth(&mut c, "http://127.0.0.1:5000"));
        assert_eq!(c["credsStore"], "x");
        let mut fresh = json!(null);
        store_auth(&mut fresh, INDEX_URL, "a", "b");
        assert_eq!(find_auth(&fresh, "docker.io"), Some(("a".into(), "b".into())));
    }

    #[test]
    fn renders_sorted_with_four_spaces() {
        let c = json!({"b": 1, "auths": {"z": {"auth": "x"}, "a": {}}});
        assert_eq!(render_config(&c), "{\n    \"auths\": {\n        \"a\": {},\n        \"z\": {\n            \"auth\": \"x\"\n        }\n    },\n    \"b\": 1\n}");
    }
}
