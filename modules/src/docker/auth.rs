//! Registry credentials for pulls, read from the managed host's Docker client config
//! (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, as `docker login` and
//! docker_login write it). Only inline `auths` entries are used; credential helpers
//! (`credsStore`, `credHelpers`) are not run.

use base64::Engine;
use bollard::auth::DockerCredentials;
use serde_json::Value;

use crate::connection::Connection;
use crate::contract::ModuleError;

/// The registry host of an image repository (`docker.io` for Docker Hub names).
pub fn registry_of(repository: &str) -> String {
    match repository.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => normalize(first),
        _ => "docker.io".to_string(),
    }
}

/// A config.json `auths` key reduced to a registry host (`https://index.docker.io/v1/` ->
/// `docker.io`).
fn normalize(key: &str) -> String {
    let host = key.split_once("://").map(|(_, rest)| rest).unwrap_or(key);
    let host = host.split('/').next().unwrap_or(host);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        h => h.to_string(),
    }
}

/// The credentials for `registry` in a config.json text, if it holds an inline entry for it.
pub fn from_config(text: &str, registry: &str) -> Option<DockerCredentials> {
    let cfg: Value = serde_json::from_str(text).ok()?;
    let auths = cfg.get("auths")?.as_object()?;
    let (key, entry) = auths.iter().find(|(k, _)| normalize(k) == registry)?;
    let mut creds = DockerCredentials { serveraddress: Some(key.clone()), ..Default::default() };
    if let Some(auth) = entry.get("auth").and_then(Value::as_str).filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, pass) = text.split_once(':')?;
        creds.username = Some(user.to_string());
        creds.password = Some(pass.to_string());
    }
    if let Some(tok) = entry.get("identitytoken").and_then(Value::as_str) {
        creds.identitytoken = Some(tok.to_string());
    }
    (creds.username.is_some() || creds.identitytoken.is_some()).then_some(creds)
}

/// Reads the host's client config (one command) and returns the credentials for the registry
/// of `repository`, if any.
pub fn credentials_for(conn: &mut dyn Connection, repository: &str) -> Result<Option<DockerCredentials>, ModuleError> {
    let out = conn.exec("cat \"${DOCKER_CONFIG:-$HOME/.docker}/config.json\" 2>/dev/null", None)?;
    if out.rc != 0 {
        return Ok(None);
    }
    Ok(from_config(&out.stdout_str(), &registry_of(repository)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        assert_eq!(registry_of("nginx"), "docker.io");
        assert_eq!(registry_of("library/nginx"), "docker.io");
        assert_eq!(registry_of("reg.example:5000/app"), "reg.example:5000");
        assert_eq!(registry_of("localhost/app"), "localhost");
    }

    #[test]
    fn reads_inline_auths() {
        let cfg =
            r#"{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}, "reg:5000": {"auth": "YWxpY2U6czNj"}}}"#;
        let hub = from_config(cfg, "docker.io").unwrap();
        assert_eq!((hub.username.as_deref(), hub.password.as_deref()), (Some("u"), Some("p")));
        let reg = from_config(cfg, "reg:5000").unwrap();
        assert_eq!(reg.username.as_deref(), Some("alice"));
        assert_eq!(reg.serveraddress.as_deref(), Some("reg:5000"));
        assert!(from_config(cfg, "other").is_none());
        assert!(from_config("not json", "docker.io").is_none());
    }
}
