//! URL filters and tests (`ansible/plugins/filter/urls.py`, `urlsplit.py`, `test/uri.py`):
//! `urldecode`, `urlsplit` and the `uri`, `url` and `urn` tests, with Python's `urllib.parse`
//! rules.

use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::filters::err;
use super::pyfmt;

/// Registers the filters and tests of this file.
pub(crate) fn register(env: &mut Environment<'static>) {
    filter!(env, "urldecode", |v: Value| unquote_plus(&pyfmt::to_str(&v)));
    filter!(env, "urlsplit", urlsplit);
    test!(env, "uri", |v: Value, schemes: Option<Vec<String>>| is_uri(&v, schemes.as_deref()));
    test!(env, "url", |v: Value, schemes: Option<Vec<String>>| {
        is_uri(&v, schemes.as_deref()) && {
            let s = split(&pyfmt::to_str(&v));
            !s.netloc.is_empty() || s.scheme == "file"
        }
    });
    test!(env, "urn", |v: Value| is_uri(&v, Some(&["urn".to_string()])));
}

/// Python's `unquote_plus`: `+` is a space, `%XX` a byte (UTF-8 decoded, invalid bytes replaced).
fn unquote_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The parts of a URL as `urllib.parse.urlsplit` gives them.
#[derive(Debug, Default)]
struct Parts {
    scheme: String,
    netloc: String,
    path: String,
    query: String,
    fragment: String,
}

/// Python's `urlsplit` (no `allow_fragments=False`, no scheme default).
fn split(url: &str) -> Parts {
    let mut p = Parts::default();
    let mut rest = url.trim_start_matches(|c: char| c <= ' ').to_string();
    rest.retain(|c| c != '\t' && c != '\r' && c != '\n');
    if let Some(i) = rest.find(':') {
        let scheme = &rest[..i];
        if !scheme.is_empty()
            && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            p.scheme = scheme.to_lowercase();
            rest = rest[i + 1..].to_string();
        }
    }
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        p.netloc = after[..end].to_string();
        rest = after[end..].to_string();
    }
    if let Some(i) = rest.find('#') {
        p.fragment = rest[i + 1..].to_string();
        rest.truncate(i);
    }
    if let Some(i) = rest.find('?') {
        p.query = rest[i + 1..].to_string();
        rest.truncate(i);
    }
    p.path = rest;
    p
}

/// `urlsplit(query='')`: the URL's parts as a dict, or one of them.
fn urlsplit(v: Value, query: Option<String>) -> Result<Value, Error> {
    let p = split(&pyfmt::to_str(&v));
    let (userinfo, hostport) = match p.netloc.rfind('@') {
        Some(i) => (Some(&p.netloc[..i]), &p.netloc[i + 1..]),
        None => (None, p.netloc.as_str()),
    };
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((a, b)) => (Value::from(a), Value::from(b)),
            None => (Value::from(u), Value::from(())),
        },
        None => (Value::from(()), Value::from(())),
    };
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, after)) => (h.to_string(), after.strip_prefix(':').unwrap_or("")),
            None => (rest.to_string(), ""),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, port)) => (h.to_string(), port),
            None => (hostport.to_string(), ""),
        }
    };
    let port = if port.is_empty() {
        Value::from(())
    } else {
        match port.parse::<u16>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(err(format!("Port could not be cast to integer value as {}", pyfmt::repr_str(port)))),
        }
    };
    let hostname = if host.is_empty() { Value::from(()) } else { Value::from(host.to_lowercase()) };
    let parts = [
        ("fragment", Value::from(p.fragment.clone())),
        ("hostname", hostname),
        ("netloc", Value::from(p.netloc.clone())),
        ("password", password),
        ("path", Value::from(p.path.clone())),
        ("port", port),
        ("query", Value::from(p.query.clone())),
        ("scheme", Value::from(p.scheme.clone())),
        ("username", username),
    ];
    match query.filter(|q| !q.is_empty()) {
        Some(q) => parts
            .iter()
            .find(|(k, _)| *k == q)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| err(format!("urlsplit: unknown URL component: {q}"))),
        None => Ok(Value::from_pairs(parts)),
    }
}

/// Ansible's `uri` test: any string parses; with `schemes`, its scheme must be one of them.
fn is_uri(v: &Value, schemes: Option<&[String]>) -> bool {
    if v.as_str().is_none() {
        return false;
    }
    let p = split(&pyfmt::to_str(v));
    match schemes {
        Some(s) if !s.is_empty() => s.contains(&p.scheme),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlsplit_matches_python() {
        let p = split("http://mary:MySecret@www.acme.com:9000/dir/index.html?query=term#fragment");
        assert_eq!(
            (p.scheme.as_str(), p.netloc.as_str(), p.path.as_str(), p.query.as_str(), p.fragment.as_str()),
            ("http", "mary:MySecret@www.acme.com:9000", "/dir/index.html", "query=term", "fragment")
        );
        let v = urlsplit(Value::from("http://mary:MySecret@www.acme.com:9000/x"), Some("port".into())).unwrap();
        assert_eq!(v, Value::from(9000));
        assert_eq!(unquote_plus("a+b%20c%2Fd%zz"), "a b c/d%zz");
    }
}
