//! SSH user authentication: configured key files, the ssh-agent, the default keys, then the
//! password, stopping at the first that works, and one clear message naming everything tried
//! when none does.

use std::path::Path;

use base64::Engine;
use orc_modules::ConnError;
use ssh2::Session;

use super::target::SshTarget;

/// Authenticates `session` as `target.user`. The failure message lists what was tried, and why
/// key files were unusable (missing, passphrase-protected).
pub fn authenticate(session: &Session, target: &SshTarget) -> Result<(), ConnError> {
    let user = target.user.as_str();
    let peer = target.describe();
    if let Ok(offered) = session.auth_methods(user) {
        tracing::info!("<{peer}> ssh: the server accepts: {offered}");
    }
    let mut tried: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let lost = |e: ssh2::Error| {
        ConnError::Unreachable(format!(
            "ssh: connection to {} lost during authentication: {}",
            target.describe(),
            e.message()
        ))
    };
    let try_keys = |tried: &mut Vec<String>, notes: &mut Vec<String>| -> Result<bool, ConnError> {
        for key in &target.identity_files {
            if !key.exists() {
                if target.explicit_keys {
                    notes.push(format!("{} does not exist", key.display()));
                }
                continue;
            }
            if key_is_encrypted(key) {
                notes.push(format!(
                    "{} is protected by a passphrase, which orc cannot ask for; add it to ssh-agent (ssh-add)",
                    key.display()
                ));
                continue;
            }
            tried.push(key.display().to_string());
            tracing::info!("<{peer}> ssh: trying key {}", key.display());
            match session.userauth_pubkey_file(user, None, key, None) {
                Ok(()) if session.authenticated() => {
                    tracing::info!("<{peer}> ssh: authenticated with key {}", key.display());
                    return Ok(true);
                }
                Ok(()) => {}
                Err(e) if is_transport_error(&e) => return Err(lost(e)),
                Err(_) => {}
            }
        }
        Ok(false)
    };
    if target.explicit_keys && try_keys(&mut tried, &mut notes)? {
        return Ok(());
    }
    if let Some(socket) = &target.agent {
        tried.push("agent".to_string());
        tracing::info!("<{peer}> ssh: trying the ssh-agent at {}", socket.display());
        match try_agent(session, user, socket) {
            Ok(true) => {
                tracing::info!("<{peer}> ssh: authenticated by the ssh-agent");
                return Ok(());
            }
            Ok(false) => {}
            Err(e) if is_transport_error(&e) => return Err(lost(e)),
            Err(e) => notes.push(format!("the ssh-agent at {} cannot be used: {}", socket.display(), e.message())),
        }
    }
    if !target.explicit_keys && try_keys(&mut tried, &mut notes)? {
        return Ok(());
    }
    if let Some(pw) = &target.password {
        tried.push("password".to_string());
        tracing::info!("<{peer}> ssh: trying the password");
        match session.userauth_password(user, pw.expose()) {
            Ok(()) if session.authenticated() => {
                tracing::info!("<{peer}> ssh: authenticated with the password");
                return Ok(());
            }
            Err(e) if is_transport_error(&e) => return Err(lost(e)),
            _ => {}
        }
    }
    let tried =
        if tried.is_empty() { "nothing: no agent, no key file, no password".to_string() } else { tried.join(", ") };
    let mut msg = format!("authentication failed for {}@{} (tried: {tried})", target.user, target.name);
    for note in notes {
        msg.push_str("; ");
        msg.push_str(&note);
    }
    Err(ConnError::Unreachable(msg))
}

/// Tries every identity of the agent at `socket` (libssh2's own helper tries only the first).
fn try_agent(session: &Session, user: &str, socket: &Path) -> Result<bool, ssh2::Error> {
    let mut agent = session.agent()?;
    agent.set_identity_path(socket)?;
    agent.connect()?;
    agent.list_identities()?;
    for identity in agent.identities()? {
        match agent.userauth(user, &identity) {
            Ok(()) if session.authenticated() => {
                let _ = agent.disconnect();
                return Ok(true);
            }
            Err(e) if is_transport_error(&e) => return Err(e),
            _ => {}
        }
    }
    let _ = agent.disconnect();
    Ok(false)
}

/// Whether an error is the connection failing rather than the server refusing a credential.
fn is_transport_error(e: &ssh2::Error) -> bool {
    matches!(
        e.code(),
        ssh2::ErrorCode::Session(
            libssh2_codes::SOCKET_SEND
                | libssh2_codes::SOCKET_RECV
                | libssh2_codes::SOCKET_DISCONNECT
                | libssh2_codes::SOCKET_TIMEOUT
                | libssh2_codes::TIMEOUT
        )
    )
}

/// The libssh2 error codes orc distinguishes (from libssh2.h).
mod libssh2_codes {
    pub const SOCKET_SEND: i32 = -7;
    pub const SOCKET_DISCONNECT: i32 = -13;
    pub const SOCKET_TIMEOUT: i32 = -30;
    pub const TIMEOUT: i32 = -9;
    pub const SOCKET_RECV: i32 = -43;
}

/// Whether a private key file is encrypted: a PEM key with an `ENCRYPTED` header, or an OpenSSH
/// format key whose cipher is not `none`.
pub fn key_is_encrypted(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    if text.contains("ENCRYPTED") {
        return true;
    }
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().concat();
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(body.trim()) else {
        return false;
    };
    let Some(rest) = bytes.strip_prefix(b"openssh-key-v1\0") else {
        return false;
    };
    let Some(len) = rest.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
        return false;
    };
    let len = u32::from_be_bytes(len) as usize;
    rest.get(4..4 + len).is_some_and(|cipher| cipher != b"none")
}
