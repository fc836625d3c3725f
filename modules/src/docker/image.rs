//! Image names and lookups shared by docker_image (and usable by other image-aware modules):
//! community.docker's name parsing (`parse_repository_tag`, `is_image_name_id`, tag validity),
//! inspect by name and tag, and collecting the progress stream of build, load and push.

use futures_util::StreamExt;
use serde_json::Value;

use crate::docker::raw::{path_escape, RawApi, RawError};

/// True when `name` is an image ID (`sha256:` and 64 hex digits), not a name.
pub fn is_image_name_id(name: &str) -> bool {
    name.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Splits `repo:tag` (or `repo@digest`) into its parts; the tag is `None` when there is none
/// (`reg:5000/app` has none: the colon belongs to the registry).
pub fn parse_repository_tag(name: &str) -> (String, Option<String>) {
    if let Some((repo, digest)) = name.rsplit_once('@') {
        return (repo.to_string(), Some(digest.to_string()));
    }
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo.to_string(), Some(tag.to_string())),
        _ => (name.to_string(), None),
    }
}

/// Whether `tag` is a valid Docker tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
pub fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {}
        _ => return false,
    }
    tag.len() <= 128 && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// The reference an image is looked up and named by: `name` when it is an ID or carries a digest,
/// else `name:tag`.
pub fn reference(name: &str, tag: &str) -> String {
    if is_image_name_id(name) || tag.starts_with("sha256:") {
        if tag.starts_with("sha256:") {
            return format!("{name}@{tag}");
        }
        return name.to_string();
    }
    format!("{name}:{tag}")
}

/// The inspect JSON of image `reference`, or `None` when the daemon has no such image.
pub fn find_image(raw: &RawApi, reference: &str) -> Result<Option<Value>, RawError> {
    match raw.get(&format!("/images/{}/json", path_escape(reference))) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a build, load or push stream said: its text lines, and the first error.
#[derive(Debug, Default)]
pub struct StreamLog {
    /// `stream` and `status` texts, split into lines.
    pub lines: Vec<String>,
    /// The daemon's error message, if the operation failed.
    pub error: Option<String>,
    /// Every `status` seen (push reports `Pushed`, `Layer already exists`...).
    pub statuses: Vec<String>,
    /// The `status` of the stream's last item (`None` when it had none, as the final `aux`
    /// item of a push): community.docker's `push_status`.
    pub last_status: Option<String>,
}

/// One item of a progress stream (build, load, pull, push), as [`collect`] reads it.
pub trait Progress {
    /// The `stream` text (build and load output).
    fn stream(&self) -> Option<&str> {
        None
    }
    /// The `status` text (pull and push).
    fn status(&self) -> Option<&str>;
    /// The error the daemon reported in the stream.
    fn error(&self) -> Option<&str>;
}

impl Progress for bollard::models::BuildInfo {
    fn stream(&self) -> Option<&str> {
        self.stream.as_deref()
    }
    fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
    fn error(&self) -> Option<&str> {
        self.error_detail.as_ref().and_then(|e| e.message.as_deref())
    }
}

impl Progress for bollard::models::PushImageInfo {
    fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
    fn error(&self) -> Option<&str> {
        self.error_detail.as_ref().and_then(|e| e.message.as_deref())
    }
}

impl Progress for bollard::models::CreateImageInfo {
    fn status(&self) -> Option<&str> {
        self.status.as_deref()
    }
    fn error(&self) -> Option<&str> {
        self.error_detail.as_ref().and_then(|e| e.message.as_deref())
    }
}

/// Drains a bollard progress stream, keeping its text lines and statuses, stopping at the first
/// error.
pub async fn collect<S, T>(mut stream: S) -> StreamLog
where
    S: futures_util::Stream<Item = Result<T, bollard::errors::Error>> + Unpin,
    T: Progress,
{
    let mut log = StreamLog::default();
    while let Some(item) = stream.next().await {
        match item {
            Ok(v) => {
                log.last_status = v.status().map(str::to_string);
                if let Some(t) = v.stream() {
                    log.lines.extend(t.lines().map(str::to_string));
                }
                if let Some(t) = v.status() {
                    log.lines.extend(t.lines().map(str::to_string));
                    log.statuses.push(t.to_string());
                }
                if let Some(e) = v.error().filter(|e| !e.is_empty()) {
                    log.error = Some(e.to_string());
                    break;
                }
            }
            Err(e) => {
                log.error = Some(match &e {
                    bollard::errors::Error::DockerStreamError { error } => error.clone(),
                    other => crate::docker::api_error(other),
                });
                break;
            }
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags() {
        assert_eq!(parse_repository_tag("app:1"), ("app".into(), Some("1".into())));
        assert_eq!(parse_repository_tag("reg:5000/app"), ("reg:5000/app".into(), None));
        assert_eq!(parse_repository_tag("reg:5000/app:2"), ("reg:5000/app".into(), Some("2".into())));
        assert_eq!(parse_repository_tag("app@sha256:ab"), ("app".into(), Some("sha256:ab".into())));
        let id = format!("sha256:{}", "a".repeat(64));
        assert!(is_image_name_id(&id));
        assert!(!is_image_name_id("sha256:abc"));
        assert!(is_valid_tag("v1.2_x-3"));
        assert!(!is_valid_tag("-x"));
        assert!(!is_valid_tag("a/b"));
        assert_eq!(reference("app", "1"), "app:1");
        assert_eq!(reference(&id, "latest"), id);
    }
}
