//! The container's image: pulling it through the Engine API (consuming the progress stream,
//! with the host's registry credentials) and the warning for unpinned tags.

use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

use super::parse::{is_image_id, repository_tag};
use crate::contract::ModuleError;
use crate::docker::{api_error, DockerApi};

/// Pulls `reference` (`repo:tag` or `repo@digest`). A failure is one line naming the image and
/// the daemon's message.
pub fn pull(api: &DockerApi, reference: &str, creds: Option<DockerCredentials>) -> Result<(), ModuleError> {
    let (repo, tag) = repository_tag(reference);
    let opts = CreateImageOptions {
        from_image: Some(repo.clone()),
        tag: Some(tag.unwrap_or_else(|| "latest".into())),
        ..Default::default()
    };
    let r: Result<(), bollard::errors::Error> = api.run(|d| async move {
        let mut s = d.create_image(Some(opts), None, creds);
        while let Some(item) = s.next().await {
            item?;
        }
        Ok(())
    });
    r.map_err(|e| {
        let msg = api_error(&e).replace('\n', " ");
        ModuleError::msg(format!("Error pulling image {reference} - {msg}"))
    })
}

/// The warning for an image given without a tag or with `latest`: what such a task deploys
/// depends on when it runs. `None` for pinned tags, digests and IDs.
pub fn latest_warning(image: &str) -> Option<String> {
    if is_image_id(image) || image.contains('@') {
        return None;
    }
    let (_, tag) = repository_tag(image);
    match tag.as_deref() {
        None | Some("latest") => Some(format!(
            "The image '{image}' has no tag or uses the 'latest' tag: which version runs depends on when the image \
             was pulled, and a newer 'latest' is not picked up unless pull is 'always'. Pin a version tag."
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_for_unpinned_images_only() {
        assert!(latest_warning("nginx").is_some());
        assert!(latest_warning("reg:5000/app:latest").is_some());
        assert!(latest_warning("reg:5000/app").is_some());
        assert!(latest_warning("app:1.2").is_none());
        assert!(latest_warning("app@sha256:0123").is_none());
    }
}
