//! Ansible's filters on top of minijinja's builtins: serialization (`to_json`, `to_nice_yaml`...),
//! encoding, regular expressions, dictionaries and lists, paths, hashes, and the few builtins whose
//! output differs in Python (`string`, `join`, `bool`).

use std::path::Path;

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind};

use super::pyfmt::{self, JsonStyle};
use super::{collections, pyyaml, regexes, version};

/// Jinja's `map`, except that `map(attribute='x')` on a dict without `x` (and no `default=`) is
/// Jinja's error "object of type 'dict' has no attribute 'x'", not a silent undefined.
fn map(state: &mut minijinja::State, value: Value, args: Rest<ValueOrKwargs>) -> Result<Vec<Value>, Error> {
    if let Some(kwargs) = args.last().and_then(|last| Kwargs::try_from((**last).clone()).ok()) {
        if kwargs.has("attribute") && !kwargs.has("default") {
            let attr: Value = kwargs.peek("attribute")?;
            if let (Some(path), Ok(items)) = (attr.as_str(), value.try_iter()) {
                for item in items {
                    if item.kind() != ValueKind::Map {
                        continue;
                    }
                    let mut cur = item;
                    for part in path.split('.') {
                        let next = cur.get_attr(part).ok().filter(|v| !v.is_undefined());
                        match next {
                            Some(v) => cur = v,
                            None if cur.kind() == ValueKind::Map => {
                                return Err(Error::new(
                                    ErrorKind::InvalidOperation,
                                    format!("object of type 'dict' has no attribute '{part}'"),
                                ))
                            }
                            None => break,
                        }
                    }
                }
            }
        }
    }
    minijinja::filters::map(state, value, args)
}

/// Registers every Ansible filter on `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    filter!(env, "map", map);
    filter!(env, "mandatory", mandatory);
    filter!(env, "to_json", to_json);
    filter!(env, "to_nice_json", to_nice_json);
    filter!(env, "to_yaml", to_yaml);
    filter!(env, "to_nice_yaml", to_nice_yaml);
    filter!(env, "from_json", from_json);
    filter!(env, "from_yaml", from_yaml);
    filter!(env, "from_yaml_all", from_yaml_all);
    filter!(env, "b64encode", b64encode);
    filter!(env, "b64decode", b64decode);
    filter!(env, "regex_replace", regexes::regex_replace);
    filter!(env, "regex_search", regexes::regex_search);
    filter!(env, "regex_findall", regexes::regex_findall);
    filter!(env, "regex_escape", regexes::regex_escape);
    filter!(env, "combine", collections::combine);
    filter!(env, "dict2items", collections::dict2items);
    filter!(env, "items2dict", collections::items2dict);
    filter!(env, "basename", basename);
    filter!(env, "dirname", dirname);
    filter!(env, "splitext", splitext);
    filter!(env, "expanduser", expanduser);
    filter!(env, "realpath", realpath);
    filter!(env, "path_join", path_join);
    filter!(env, "hash", hash);
    filter!(env, "md5", |s: String| hash_hex("md5", s.as_bytes()));
    filter!(env, "sha1", |s: String| hash_hex("sha1", s.as_bytes()));
    filter!(env, "checksum", |s: String| hash_hex("sha1", s.as_bytes()));
    filter!(env, "password_hash", super::password::password_hash);
    filter!(env, "quote", |v: Value| shell_quote(&pyfmt::to_str(&v)));
    filter!(env, "ternary", ternary);
    filter!(env, "bool", to_bool);
    filter!(env, "string", |v: Value| pyfmt::to_str(&v));
    filter!(env, "join", join);
    filter!(env, "union", collections::union);
    filter!(env, "intersect", collections::intersect);
    filter!(env, "difference", collections::difference);
    filter!(env, "symmetric_difference", collections::symmetric_difference);
    filter!(env, "flatten", collections::flatten);
    filter!(env, "product", collections::product);
    filter!(env, "type_debug", type_debug);
    filter!(env, "version_compare", version::version_test);
    // ansible-core's internal test collection: `finalize` turns a template's result into plain
    // data, which orc's values always are.
    env.add_filter("ansible._protomatter.finalize", |v: Value| v);
    env.add_filter("ansible._protomatter.tag_names", |v: Value| super::trust::tag_names(&v));
    filter!(env, "extract", collections::extract);
    filter!(env, "int", to_int);
    filter!(env, "float", to_float);
    filter!(env, "comment", super::comment::comment);
    filter!(env, "subelements", collections::subelements);
    filter!(env, "wordwrap", wordwrap);
    filter!(env, "urlencode", urlencode);
    filter!(env, "random", random);
    filter!(env, "wordcount", |s: String| {
        s.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).count()
    });
    filter!(env, "center", |s: String, width: Option<usize>| {
        let width = width.unwrap_or(80);
        check_size("center", "width", width)?;
        let len = s.chars().count();
        if len >= width {
            return Ok(s);
        }
        // Python's str.center puts the extra space on the right for odd padding of even
        // widths, on the left otherwise.
        let pad = width - len;
        let left = pad / 2 + (pad & width & 1);
        Ok::<_, Error>(format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left)))
    });
}

/// Jinja's `int(default=0, base=10)`: strings that are not integers are tried as floats, and
/// anything unconvertible gives the default instead of an error.
fn to_int(value: &Value, default: Option<Value>, base: Option<u32>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs.get::<Option<Value>>("default")?.unwrap_or(Value::from(0)),
    };
    let base = match base {
        Some(b) => b,
        None => kwargs.get::<Option<u32>>("base")?.unwrap_or(10),
    };
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => value.clone(),
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) if f.is_finite() => Value::from(f.trunc() as i64),
            _ => default,
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().trim().replace('_', "");
            let digits = match base {
                16 => s.trim_start_matches("0x").trim_start_matches("0X"),
                8 => s.trim_start_matches("0o").trim_start_matches("0O"),
                2 => s.trim_start_matches("0b").trim_start_matches("0B"),
                _ => s.as_str(),
            };
            // Python's int() rejects a base outside 2..=36 (0 aside) with ValueError, which Jinja
            // answers by trying float(); from_str_radix would panic on it.
            let parsed = (2..=36).contains(&base).then(|| i64::from_str_radix(digits, base).ok()).flatten();
            match parsed {
                Some(i) => Value::from(i),
                None => match s.parse::<f64>() {
                    Ok(f) if f.is_finite() => Value::from(f.trunc() as i64),
                    _ => default,
                },
            }
        }
        _ => default,
    })
}

/// Jinja's `float(default=0.0)`: anything unconvertible gives the default instead of an error.
fn to_float(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs.get::<Option<Value>>("default")?.unwrap_or(Value::from(0.0)),
    };
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).map_or(default, Value::from),
        ValueKind::String => match value.as_str().unwrap_or_default().trim().parse::<f64>() {
            Ok(f) => Value::from(f),
            Err(_) => default,
        },
        _ => default,
    })
}

/// Percent-encodes like Python's `urllib.parse.quote`; `safe` are the characters kept.
fn url_quote(s: &str, safe: &str, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || safe.as_bytes().contains(&b) {
            out.push(b as char);
        } else if b == b' ' && plus_for_space {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Jinja's `urlencode`: a string keeps `/`; a dict (or list of pairs) becomes a query string.
fn urlencode(value: &Value) -> Result<String, Error> {
    match value.kind() {
        ValueKind::Map => {
            let mut parts = Vec::new();
            for key in value.try_iter()? {
                let v = value.get_item(&key)?;
                parts.push(format!(
                    "{}={}",
                    url_quote(&pyfmt::to_str(&key), "", true),
                    url_quote(&pyfmt::to_str(&v), "", true)
                ));
            }
            Ok(parts.join("&"))
        }
        ValueKind::Seq => {
            let mut parts = Vec::new();
            for pair in value.try_iter()? {
                let k = pair.get_item_by_index(0)?;
                let v = pair.get_item_by_index(1)?;
                parts.push(format!(
                    "{}={}",
                    url_quote(&pyfmt::to_str(&k), "", true),
                    url_quote(&pyfmt::to_str(&v), "", true)
                ));
            }
            Ok(parts.join("&"))
        }
        _ => Ok(url_quote(&pyfmt::to_str(value), "/", false)),
    }
}

/// Ansible's `random(start=0, step=1, seed=None)`: a random item of a list, or a random number
/// below an integer. A seed makes it repeatable (not the same numbers as Python's generator).
fn random(value: &Value, start: Option<i64>, step: Option<i64>, kwargs: Kwargs) -> Result<Value, Error> {
    let start = match start {
        Some(s) => s,
        None => kwargs.get::<Option<i64>>("start")?.unwrap_or(0),
    };
    let step = match step {
        Some(s) => s,
        None => kwargs.get::<Option<i64>>("step")?.unwrap_or(1),
    };
    let seed: Option<Value> = kwargs.get("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = match seed {
        Some(seed) => {
            let digest = hash_hex("sha1", pyfmt::to_str(&seed).as_bytes())?;
            fastrand::Rng::with_seed(u64::from_str_radix(&digest[..16], 16).unwrap_or(0))
        }
        None => fastrand::Rng::new(),
    };
    if value.is_integer() {
        let end = i64::try_from(value.clone())?;
        if step <= 0 || end <= start {
            return Err(err("random: empty range"));
        }
        // i128: the span of two i64 bounds can exceed i64.
        let (start, step) = (i128::from(start), i128::from(step));
        let count = (i128::from(end) - start + step - 1) / step;
        let pick = start + step * rng.i128(0..count);
        return i64::try_from(pick).map(Value::from).map_err(|_| err("random: result out of range"));
    }
    let items: Vec<Value> = value.try_iter()?.collect();
    if items.is_empty() {
        return Err(err("random: cannot choose from an empty sequence"));
    }
    Ok(items[rng.usize(..items.len())].clone())
}

/// A filter error with a message.
/// The largest width or count a filter pads or repeats to. Python would try (and raise
/// MemoryError); a bound turns a typo such as `center(99999999999)` into an error instead of an
/// aborted process.
pub(crate) const MAX_SIZE: usize = 10_000_000;

/// An error when `value`, the `what` argument of `filter`, exceeds [`MAX_SIZE`].
pub(crate) fn check_size(filter: &str, what: &str, value: usize) -> Result<(), Error> {
    if value > MAX_SIZE {
        return Err(err(format!("{filter}: {what} {value} is too large (at most {MAX_SIZE})")));
    }
    Ok(())
}

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// The items of a list-like value (error naming the filter otherwise).
pub(crate) fn items(v: &Value, filter: &str) -> Result<Vec<Value>, Error> {
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => Ok(v.try_iter()?.collect()),
        ValueKind::Undefined => Err(Error::new(ErrorKind::UndefinedError, "value is undefined")),
        other => Err(err(format!("{filter} expects a list, got {other}"))),
    }
}

fn mandatory(value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "Mandatory variable not defined.".into()),
        ));
    }
    Ok(value.clone())
}

fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    pyfmt::json_dumps(
        value,
        JsonStyle { indent, sort_keys: sort_keys.unwrap_or(false), ensure_ascii: ensure_ascii.unwrap_or(true) },
    )
}

fn to_nice_json(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = match indent {
        Some(i) => i,
        None => kwargs.get::<Option<usize>>("indent")?.unwrap_or(4),
    };
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    pyfmt::json_dumps(
        value,
        JsonStyle {
            indent: Some(indent),
            sort_keys: sort_keys.unwrap_or(true),
            ensure_ascii: ensure_ascii.unwrap_or(true),
        },
    )
}

fn to_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let flow: Option<bool> = kwargs.get("default_flow_style")?;
    let width: Option<usize> = kwargs.get("width")?;
    let _: Option<bool> = kwargs.get("allow_unicode")?;
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    pyyaml::dump(value, indent.unwrap_or(2), flow, width)
}

fn to_nice_yaml(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = match indent {
        Some(i) => i,
        None => kwargs.get::<Option<usize>>("indent")?.unwrap_or(4),
    };
    let flow: Option<bool> = kwargs.get("default_flow_style")?;
    let width: Option<usize> = kwargs.get("width")?;
    let _: Option<bool> = kwargs.get("allow_unicode")?;
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    pyyaml::dump(value, indent, Some(flow.unwrap_or(false)), width)
}

fn from_json(s: String) -> Result<Value, Error> {
    let v: serde_json::Value = serde_json::from_str(&s).map_err(|e| err(format!("from_json: invalid JSON: {e}")))?;
    Ok(Value::from(minijinja::value::Serde(&v)))
}

fn from_yaml(v: Value) -> Result<Value, Error> {
    let Some(s) = v.as_str() else {
        return Ok(v);
    };
    if s.trim().is_empty() {
        return Ok(Value::from(()));
    }
    // The project's YAML 1.1 loader, as PyYAML reads it (`yes` is true, `0644` octal...).
    let parsed =
        crate::yaml::parse_str("from_yaml", s).map_err(|e| err(format!("from_yaml: invalid YAML: {e}")))?.to_value();
    Ok(Value::from(minijinja::value::Serde(&parsed)))
}

fn from_yaml_all(s: String) -> Result<Value, Error> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&s) {
        let v = serde_json::Value::deserialize(doc).map_err(|e| err(format!("from_yaml_all: invalid YAML: {e}")))?;
        docs.push(Value::from(minijinja::value::Serde(&v)));
    }
    Ok(Value::from(docs))
}

fn b64encode(v: Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(pyfmt::to_str(&v).as_bytes())
}

fn b64decode(s: String) -> Result<String, Error> {
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| err(format!("b64decode: invalid base64: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn basename(p: String) -> String {
    match p.rfind('/') {
        Some(i) => p[i + 1..].to_string(),
        None => p,
    }
}

fn dirname(p: String) -> String {
    match p.rfind('/') {
        Some(i) => {
            let head = &p[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
        None => String::new(),
    }
}

fn splitext(p: String) -> Value {
    let base_start = p.rfind('/').map_or(0, |i| i + 1);
    let base = &p[base_start..];
    let leading_dots = base.len() - base.trim_start_matches('.').len();
    match base[leading_dots..].rfind('.') {
        Some(i) => {
            let cut = base_start + leading_dots + i;
            Value::from(vec![Value::from(&p[..cut]), Value::from(&p[cut..])])
        }
        None => Value::from(vec![Value::from(p.as_str()), Value::from("")]),
    }
}

fn expanduser(p: String) -> String {
    if p == "~" || p.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            return format!("{}{}", home.trim_end_matches('/'), &p[1..]);
        }
    }
    p
}

fn realpath(p: String) -> String {
    match std::fs::canonicalize(&p) {
        Ok(real) => real.to_string_lossy().into_owned(),
        Err(_) => {
            let path = Path::new(&p);
            if path.is_absolute() {
                p
            } else {
                std::env::current_dir().map(|d| d.join(path).to_string_lossy().into_owned()).unwrap_or(p)
            }
        }
    }
}

fn path_join(parts: Value) -> Result<String, Error> {
    let parts = match parts.kind() {
        ValueKind::Seq | ValueKind::Iterable => items(&parts, "path_join")?,
        _ => vec![parts],
    };
    let mut out = String::new();
    for part in parts {
        let s = pyfmt::to_str(&part);
        if s.starts_with('/') || out.is_empty() {
            out = s;
        } else if out.ends_with('/') {
            out.push_str(&s);
        } else {
            out.push('/');
            out.push_str(&s);
        }
    }
    Ok(out)
}

/// Hex digest of `data` with a hashlib algorithm name.
pub(crate) fn hash_hex(algo: &str, data: &[u8]) -> Result<String, Error> {
    use sha2::Digest;
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    Ok(match algo {
        "md5" => hex(&md5::Md5::digest(data)),
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(err(format!(
                "hash: unsupported algorithm '{other}' (use md5, sha1, sha224, sha256, sha384 or sha512)"
            )))
        }
    })
}

fn hash(v: Value, algo: Option<String>) -> Result<String, Error> {
    hash_hex(algo.as_deref().unwrap_or("sha1"), pyfmt::to_str(&v).as_bytes())
}

/// Python's `shlex.quote`.
pub(crate) fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn ternary(value: &Value, true_val: Value, false_val: Value, none_val: Option<Value>) -> Value {
    if value.is_none() {
        if let Some(n) = none_val {
            return n;
        }
    }
    if value.is_true() {
        true_val
    } else {
        false_val
    }
}

/// Ansible's `bool` filter: `yes`/`on`/`true`/`1` (any case) are true, the rest as Python.
fn to_bool(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::None | ValueKind::Undefined => false,
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default().to_lowercase();
            matches!(s.as_str(), "yes" | "on" | "true" | "1")
        }
        ValueKind::Number => {
            let s = pyfmt::number_str(value);
            s == "1" || s == "1.0"
        }
        _ => value.is_true(),
    }
}

fn join(value: &Value, sep: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let attribute: Option<String> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    let sep = sep.unwrap_or_default();
    if let Some(s) = value.as_str() {
        return Ok(s.chars().map(String::from).collect::<Vec<_>>().join(&sep));
    }
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(attr) => item.get_attr(attr)?,
            None => item,
        };
        parts.push(pyfmt::to_str(&item));
    }
    Ok(parts.join(&sep))
}

/// Python's type name of a value.
pub(crate) fn type_debug(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::None | ValueKind::Undefined => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Map => "dict",
        ValueKind::Seq if v.is_tuple() => "tuple",
        ValueKind::Seq | ValueKind::Iterable => "list",
        _ => "object",
    }
}

/// Jinja's `wordwrap(width=79, break_long_words=True, wrapstring='\n')`: greedy wrapping of
/// whitespace-separated words (Python's `textwrap`, without its hyphen splitting).
fn wordwrap(s: String, width: Option<usize>, break_long: Option<bool>, kwargs: Kwargs) -> Result<String, Error> {
    let width = match width {
        Some(w) => w,
        None => kwargs.get::<Option<usize>>("width")?.unwrap_or(79),
    }
    .max(1);
    let break_long = match break_long {
        Some(b) => b,
        None => kwargs.get::<Option<bool>>("break_long_words")?.unwrap_or(true),
    };
    let wrapstring: Option<String> = kwargs.get("wrapstring")?;
    let _: Option<bool> = kwargs.get("break_on_hyphens")?;
    kwargs.assert_all_used()?;
    let sep = wrapstring.unwrap_or_else(|| "\n".into());
    let mut paragraphs = Vec::new();
    for para in s.lines() {
        let mut lines: Vec<String> = Vec::new();
        let mut line = String::new();
        for word in para.split_whitespace() {
            let mut word: Vec<char> = word.chars().collect();
            loop {
                let line_len = line.chars().count();
                let needed = if line.is_empty() { word.len() } else { line_len + 1 + word.len() };
                if needed <= width {
                    if !line.is_empty() {
                        line.push(' ');
                    }
                    line.extend(word.iter());
                    break;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    continue;
                }
                if break_long && word.len() > width {
                    let rest = word.split_off(width);
                    lines.push(word.iter().collect());
                    word = rest;
                    continue;
                }
                line.extend(word.iter());
                break;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        paragraphs.push(lines.join(&sep));
    }
    Ok(paragraphs.join(&sep))
}
