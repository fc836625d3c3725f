//! `lookup('community.general.etcd3', KEY..., prefix=True)`: keys (or key prefixes) read from
//! etcd through its v3 JSON gateway (orc_modules::etcd), returning `{key, value}` dicts as
//! community.general does.
//!
//! Where it connects: when `host` names an inventory host, through that host's connection (a
//! direct-tcpip channel, [`super::host_streams`]) to etcd at `endpoints`' address as that host
//! sees it (default 127.0.0.1:2379, with `port` if given): a registry bound to the host's
//! loopback is read without being exposed. Otherwise it connects from this machine to `host`
//! (or `endpoints`), as community.general does.

use std::time::Duration;

use minijinja::value::Value;
use minijinja::Error;
use orc_modules::etcd::{EtcdClient, EtcdError};
use orc_modules::stream::{HostStream, StreamTarget};

use super::filters::err;
use super::lookups::Options;

/// community.general's default `endpoints`.
const DEFAULT_ENDPOINTS: &str = "127.0.0.1:2379";

/// The options as the lookup reads them (keyword, else ETCDCTL_* environment, else default).
struct Settings {
    prefix: bool,
    endpoint_host: String,
    endpoint_port: Option<u16>,
    host: Option<String>,
    port: Option<u16>,
    timeout: u64,
    credentials: Option<(String, String)>,
}

/// Runs the lookup on `terms`.
pub(crate) fn run(terms: &[String], opts: &mut Options) -> Result<Vec<Value>, Error> {
    opts.check_known(
        "community.general.etcd3",
        &["prefix", "endpoints", "port", "timeout", "user", "password", "ca_cert", "cert_cert", "cert_key", "host"],
    )?;
    let o = settings(opts)?;
    let streams = super::host_streams::current();
    let via = o.host.as_deref().filter(|h| streams.as_ref().is_some_and(|s| s.is_host(h))).map(str::to_string);
    let port = o.port.or(o.endpoint_port).unwrap_or(2379);
    let timeout = Duration::from_secs(o.timeout.max(1));
    let target = match &via {
        // Through the inventory host: the endpoint's address as that host sees it.
        Some(_) => StreamTarget::tcp(o.endpoint_host.clone(), port),
        None => StreamTarget::tcp(o.host.clone().unwrap_or_else(|| o.endpoint_host.clone()), port),
    };
    let open = || -> Result<HostStream, String> {
        match (&via, &streams) {
            (Some(h), Some(s)) => s.open(h, &target),
            _ => HostStream::connect_here(&target, timeout),
        }
    };
    let mut etcd = EtcdClient::new(open, timeout, o.credentials.clone());
    let mut out = Vec::new();
    for term in terms {
        let found = if o.prefix {
            etcd.get_prefix(term).map_err(failure)?
        } else {
            etcd.get(term)
                .map_err(failure)?
                .map(|value| vec![orc_modules::etcd::Entry { key: term.clone(), value }])
                .unwrap_or_default()
        };
        for e in found {
            let mut m = std::collections::BTreeMap::new();
            m.insert("key", Value::from(e.key));
            m.insert("value", Value::from(e.value));
            out.push(Value::from(m));
        }
    }
    Ok(out)
}

/// The lookup's error, in community.general's words for an unreachable etcd.
fn failure(e: EtcdError) -> Error {
    match e {
        EtcdError::Connect(why) => err(format!("Cannot connect to etcd cluster: {why}")),
        EtcdError::Request(why) => err(format!("etcd3 lookup: {why}")),
    }
}

/// Reads the keyword options, with community.general's ETCDCTL_* environment variables and defaults.
fn settings(opts: &mut Options) -> Result<Settings, Error> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut text = |key: &str, var: Option<&str>| -> Result<Option<String>, Error> {
        Ok(match opts.take(key) {
            Some(v) if !v.is_none() && !v.is_undefined() => Some(super::pyfmt::to_str(&v)),
            _ => var.and_then(env),
        })
    };
    let prefix =
        text("prefix", None)?.is_some_and(|p| matches!(p.to_ascii_lowercase().as_str(), "true" | "yes" | "1" | "on"));
    let endpoints = text("endpoints", Some("ETCDCTL_ENDPOINTS"))?.unwrap_or_else(|| DEFAULT_ENDPOINTS.to_string());
    let (endpoint_host, endpoint_port) = parse_endpoint(&endpoints)?;
    let port = match text("port", None)? {
        Some(p) => {
            Some(p.trim().parse::<u16>().map_err(|_| err(format!("etcd3 lookup: port '{p}' is not a TCP port")))?)
        }
        None => None,
    };
    let timeout = match text("timeout", Some("ETCDCTL_DIAL_TIMEOUT"))? {
        Some(t) => t.trim().parse::<u64>().map_err(|_| err(format!("etcd3 lookup: timeout '{t}' is not a number")))?,
        None => 60,
    };
    let user = text("user", Some("ETCDCTL_USER"))?;
    let password = text("password", Some("ETCDCTL_PASSWORD"))?;
    let tls = [
        text("ca_cert", Some("ETCDCTL_CACERT"))?,
        text("cert_cert", Some("ETCDCTL_CERT"))?,
        text("cert_key", Some("ETCDCTL_KEY"))?,
    ];
    if tls.iter().any(Option::is_some) || endpoints.starts_with("https://") {
        return Err(err(
            "etcd3 lookup: TLS (https endpoints, ca_cert, cert_cert, cert_key) is not supported by orc; read etcd over \
             plain HTTP through the registry host (host=INVENTORY_HOST), whose SSH connection encrypts it",
        ));
    }
    Ok(Settings {
        prefix,
        endpoint_host,
        endpoint_port,
        host: text("host", None)?,
        port,
        timeout,
        credentials: user.zip(password),
    })
}

/// `[http://]host[:port][/]` as community.general's lookup reads `endpoints`.
fn parse_endpoint(endpoints: &str) -> Result<(String, Option<u16>), Error> {
    let first = endpoints.split(',').next().unwrap_or_default().trim();
    let rest = first.strip_prefix("http://").or_else(|| first.strip_prefix("https://")).unwrap_or(first);
    let rest = rest.trim_end_matches('/');
    let bad = || err(format!("etcd3 lookup: endpoints '{endpoints}' is not host:port or http://host:port"));
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p.parse::<u16>().map_err(|_| bad())?)),
        _ => (rest, None),
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_as_community_general_reads_them() {
        assert_eq!(parse_endpoint("127.0.0.1:2379").unwrap(), ("127.0.0.1".into(), Some(2379)));
        assert_eq!(parse_endpoint("http://etcd.example:4001/").unwrap(), ("etcd.example".into(), Some(4001)));
        assert_eq!(parse_endpoint("etcd").unwrap(), ("etcd".into(), None));
        assert!(parse_endpoint("http://a:b").is_err());
    }
}
