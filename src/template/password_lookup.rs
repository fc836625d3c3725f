//! `lookup('password', 'path length=N chars=ascii_letters,digits')`: a random password stored in
//! a file on the controller (created once, read back on later runs), as Ansible's password lookup
//! does; `/dev/null` gives a fresh password every time. The `encrypt` option is not supported.

use std::io::Read;
use std::path::{Path, PathBuf};

use minijinja::value::{Value, ValueKind};
use minijinja::Error;

use super::filters::err;

/// Ansible's default password characters: letters, digits and `.,:-_`.
const DEFAULT_CHARS: &[&str] = &["ascii_letters", "digits", ".,:-_"];

/// Runs the lookup for one term.
pub(crate) fn password(term: &str, opts: &super::lookups::Options, vars: &Value) -> Result<Value, Error> {
    let (relpath, params) = match term.split_once(' ') {
        Some((p, rest)) => (p, rest),
        None => (term, ""),
    };
    let mut length: usize = match opts.int("password", "length")? {
        Some(n) => {
            usize::try_from(n).map_err(|_| err(format!("password lookup: length must not be negative, got {n}")))?
        }
        None => 20,
    };
    let mut chars: Vec<String> = match opts.get("chars") {
        Some(v) if v.kind() == ValueKind::String => split_chars(v.as_str().unwrap_or_default()),
        Some(v) => v.try_iter()?.map(|c| super::pyfmt::to_str(&c)).collect(),
        None => DEFAULT_CHARS.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(e) = opts.get("encrypt").filter(|e| !e.is_none()) {
        return Err(err(format!(
            "Unrecognized parameter(s) given to password lookup: encrypt={e} (orc supports length and chars)"
        )));
    }
    for param in params.split_whitespace() {
        let (key, value) = param.split_once('=').ok_or_else(|| {
            err(format!("Unrecognized value after key=value parameters given to password lookup: {param}"))
        })?;
        match key {
            "length" => {
                length = value
                    .parse()
                    .map_err(|_| err(format!("password lookup: length must be a number, got '{value}'")))?
            }
            "chars" => chars = split_chars(value),
            other => {
                return Err(err(format!(
                    "Unrecognized parameter(s) given to password lookup: {other} (orc supports length and chars)"
                )))
            }
        }
    }
    super::filters::check_size("password lookup", "length", length)?;
    let candidates = candidate_chars(&chars);
    if candidates.is_empty() {
        return Err(err("password lookup: chars selects no characters"));
    }
    let path = resolve(relpath, vars);
    if path != Path::new("/dev/null") {
        if let Ok(content) = std::fs::read_to_string(&path) {
            let content = content.trim_end();
            let password = content.rsplit_once(" salt=").map_or(content, |(p, _)| p);
            return Ok(Value::from(password));
        }
    }
    let password = random_password(length, &candidates)?;
    if path != Path::new("/dev/null") {
        write_password(&path, &password)?;
    }
    Ok(Value::from(password))
}

/// Splits a `chars=` value on commas (`,,` stands for a comma itself).
fn split_chars(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    if spec.contains(",,") {
        out.push(",".to_string());
    }
    out.extend(spec.replace(",,", ",").split(',').filter(|c| !c.is_empty()).map(str::to_string));
    out
}

/// Expands names of Python `string` constants; anything else is taken literally. Quotes are
/// never used, as in Ansible.
fn candidate_chars(specs: &[String]) -> Vec<char> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let mut out = String::new();
    for spec in specs {
        match spec.as_str() {
            "ascii_letters" => {
                out.push_str(LOWER);
                out.push_str(UPPER);
            }
            "ascii_lowercase" => out.push_str(LOWER),
            "ascii_uppercase" => out.push_str(UPPER),
            "digits" => out.push_str(DIGITS),
            "hexdigits" => out.push_str("0123456789abcdefABCDEF"),
            "octdigits" => out.push_str("01234567"),
            "punctuation" => out.push_str(PUNCT),
            other => out.push_str(other),
        }
    }
    out.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

/// A path relative to the playbook directory, as Ansible's `path_dwim` resolves it.
fn resolve(relpath: &str, vars: &Value) -> PathBuf {
    let path = Path::new(relpath);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match vars.get_attr("playbook_dir").ok().and_then(|v| v.as_str().map(PathBuf::from)) {
        Some(dir) => dir.join(path),
        None => path.to_path_buf(),
    }
}

/// `length` characters drawn uniformly from `candidates` with the system's random source.
fn random_password(length: usize, candidates: &[char]) -> Result<String, Error> {
    let mut urandom = std::fs::File::open("/dev/urandom")
        .map_err(|e| err(format!("password lookup: cannot open /dev/urandom: {e}")))?;
    let n = candidates.len();
    // Largest multiple of n below 2^32, for rejection sampling without bias.
    let zone = u32::MAX - (u32::MAX % n as u32);
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 4];
    while out.chars().count() < length {
        urandom.read_exact(&mut buf).map_err(|e| err(format!("password lookup: cannot read /dev/urandom: {e}")))?;
        let r = u32::from_le_bytes(buf);
        if r < zone {
            out.push(candidates[(r % n as u32) as usize]);
        }
    }
    Ok(out)
}

/// Stores a new password (directories 0700, file 0600), as Ansible does.
fn write_password(path: &Path, password: &str) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err(format!("password lookup: cannot create {}: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| err(format!("password lookup: cannot write {}: {e}", path.display())))?;
    file.write_all(format!("{password}\n").as_bytes())
        .map_err(|e| err(format!("password lookup: cannot write {}: {e}", path.display())))
}
