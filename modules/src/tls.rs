//! TLS terminated in orc over a stream from a managed host (`uri`, `get_url`): the host only
//! carries bytes (a `direct-tcpip` channel of its SSH connection, `crate::stream`), orc does the
//! handshake with rustls and checks the server's certificate as Ansible's modules would on the
//! host: against the host's own CA bundle (read over the connection), or `ca_path` alone when
//! given, with `validate_certs: false` accepting any certificate (docs/architecture.md, "Streams
//! to a host's sockets").

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme, StreamOwned};

/// Where CA bundles live on the usual distributions, the first one found is the host's trust
/// store (what Python's `ssl.create_default_context()` loads there).
pub const HOST_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// Which certificates a server may present.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Those signed by a CA of this PEM bundle (the host's, or `ca_path`); `source` names it.
    Pem {
        /// The PEM text.
        pem: Vec<u8>,
        /// Where it came from, for messages.
        source: String,
    },
    /// Mozilla's root store (webpki-roots), for a host that has no CA bundle.
    Mozilla,
    /// Any certificate (`validate_certs: false`).
    Any,
}

/// The crypto provider: *ring*. rustls 0.23.48 deprecates it for lacking post-quantum key
/// exchange (X25519MLKEM768); the classic groups it offers (X25519, P-256, P-384) are what
/// Ansible's Python ssl negotiates too, and ring builds with a plain C compiler where aws-lc-rs,
/// the other provider, brings a much heavier native build.
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The client configuration for `trust`. `Err` says why (a bundle without one certificate).
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    let config = match trust {
        Trust::Any => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAny(provider))).with_no_client_auth()
        }
        Trust::Mozilla => {
            let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Pem { pem, source } => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem).flatten() {
                // A bundle may hold a certificate webpki cannot use; the others still count.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(format!("{source} holds no usable PEM certificate"));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// A TLS session over `stream` with `server` (a DNS name or an IP address), handshake done.
pub fn connect<S: Read + Write>(
    config: Arc<ClientConfig>,
    server: &str,
    stream: S,
) -> Result<StreamOwned<ClientConnection, S>, String> {
    let name =
        ServerName::try_from(server.to_string()).map_err(|_| format!("'{server}' is not a valid server name"))?;
    let conn = ClientConnection::new(config, name).map_err(|e| format!("TLS setup failed: {e}"))?;
    let mut tls = StreamOwned::new(conn, stream);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).map_err(|e| handshake_error(server, &e))?;
    }
    Ok(tls)
}

/// A failed handshake in words close to Python's (`certificate verify failed: ...`).
fn handshake_error(server: &str, e: &io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(why)) => format!(
            "certificate verify failed for {server}: {why:?} (validate_certs: false skips the check; ca_path names \
             the CA to trust)"
        ),
        Some(other) => format!("TLS handshake with {server} failed: {other}"),
        None => format!("TLS handshake with {server} failed: {}", crate::stream::os_error(e)),
    }
}

/// Accepts every certificate, still checking the handshake's signatures (`validate_certs: false`).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
