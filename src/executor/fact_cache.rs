//! The persistent fact cache: Ansible's `jsonfile` cache plugin (`fact_caching = jsonfile`,
//! `fact_caching_connection`, `fact_caching_prefix`, `fact_caching_timeout`). Without it (the
//! `memory` plugin, the default) a host's facts live for one run, in its `HostState`.
//!
//! What is cached is what Ansible's `set_host_facts` caches: facts a module returned (gathered
//! facts, `service_facts`...) and `set_fact` with `cacheable: true`, merged into the host's
//! earlier facts. A run starts with each host's cached facts as its facts (below play vars, as
//! facts are), and writes a host's facts back when they changed.
//!
//! The files are the ones ansible-core 2.19 reads and writes, so both tools share one cache: one
//! file per host named `<prefix>s1_<host>` (`s1_` is 2.19's cache schema), holding
//! `{"__payload__": "<the facts as JSON text>"}`, the facts with their `ansible_` prefix. Ansible
//! writes its values with their tags (`{"__ansible_type": "_AnsibleTaggedStr", "value": ...,
//! "tags": [...]}`); orc reads the values and writes them plain, which Ansible reads too.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

/// The key under which 2.19 stores the serialized facts (`_internal/_plugins/_cache.py`).
const PAYLOAD_KEY: &str = "__payload__";
/// 2.19's cache schema, put before the host name.
const SCHEMA_PREFIX: &str = "s1_";
/// The fact that says the host's facts were gathered (`gathering = smart` reads it).
pub const GATHERED_KEY: &str = "_ansible_facts_gathered";

/// A `jsonfile` fact cache: a directory of one file per host.
#[derive(Debug)]
pub struct FactCache {
    dir: PathBuf,
    prefix: String,
    /// `None`: files never expire (`fact_caching_timeout = 0`).
    timeout: Option<Duration>,
    /// Problems met reading or writing files, for the runner to show as warnings.
    warnings: Mutex<Vec<String>>,
}

/// The cache the settings ask for: `Ok(None)` for the memory plugin; `Err` a warning saying why
/// the cache asked for cannot be used (the run goes on with the memory plugin, as Ansible's
/// `VariableManager` does when a cache plugin fails to load).
pub fn from_settings(settings: &crate::config::Settings) -> Result<Option<FactCache>, String> {
    let name = settings.fact_caching.as_deref().unwrap_or("memory");
    match name.strip_prefix("ansible.builtin.").unwrap_or(name) {
        "memory" => Ok(None),
        "jsonfile" => {
            let Some(dir) = &settings.fact_caching_connection else {
                return Err("Required config '_uri' for 'jsonfile' cache plugin not provided.".into());
            };
            FactCache::open(dir, settings.fact_caching_prefix.as_deref().unwrap_or(""), settings.fact_caching_timeout)
                .map(Some)
        }
        other => Err(format!(
            "Unable to load the cache plugin '{other}'. (orc has the memory and jsonfile cache plugins; facts are kept for this run only)"
        )),
    }
}

impl FactCache {
    /// The cache in `dir` (created when missing, as the plugin does), with files named
    /// `<prefix>s1_<host>`, valid for `timeout` seconds (86400 when `None`, forever when 0).
    pub fn open(dir: &Path, prefix: &str, timeout: Option<u64>) -> Result<FactCache, String> {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| {
                format!("Error in 'jsonfile' cache plugin while trying to create cache dir '{}': {e}", dir.display())
            })?;
        } else if !dir.is_dir() || std::fs::read_dir(dir).is_err() {
            return Err(format!(
                "error in 'jsonfile' cache, configured path ({}) does not have necessary permissions (rwx), disabling plugin",
                dir.display()
            ));
        }
        let timeout = match timeout.unwrap_or(86400) {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        };
        Ok(FactCache { dir: dir.to_path_buf(), prefix: prefix.to_string(), timeout, warnings: Mutex::new(Vec::new()) })
    }

    /// The file of `host`'s facts.
    pub fn path(&self, host: &str) -> PathBuf {
        self.dir.join(format!("{}{SCHEMA_PREFIX}{host}", self.prefix))
    }

    /// `host`'s cached facts (with their `ansible_` prefix, as gathered), or `None` when there
    /// is no file or it expired. A file that cannot be read is left out with a warning.
    pub fn load(&self, host: &str) -> Option<Map<String, Value>> {
        let path = self.path(host);
        let meta = std::fs::metadata(&path).ok()?;
        if let (Some(timeout), Ok(mtime)) = (self.timeout, meta.modified()) {
            if SystemTime::now().duration_since(mtime).unwrap_or_default() > timeout {
                return None;
            }
        }
        match std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|t| decode(&t)) {
            Ok(facts) => Some(facts),
            Err(e) => {
                self.warn(format!(
                    "error in 'jsonfile' cache plugin while trying to read {}: {e}. Most likely a corrupt file; it was left out.",
                    path.display()
                ));
                None
            }
        }
    }

    /// Writes `host`'s facts (written beside, then renamed, mode 0644 as Ansible's 0o644).
    pub fn store(&self, host: &str, facts: &Map<String, Value>) {
        let path = self.path(host);
        let tmp = self.dir.join(format!(".{}{SCHEMA_PREFIX}{host}.{}.tmp", self.prefix, std::process::id()));
        let written = std::fs::write(&tmp, encode(facts)).and_then(|()| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
            std::fs::rename(&tmp, &path)
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            self.warn(format!("Error in 'jsonfile' cache plugin while trying to write to '{}': {e}", path.display()));
        }
    }

    /// Forgets `host`'s facts (`--flush-cache`, `meta: clear_facts`): its file is removed.
    pub fn delete(&self, host: &str) {
        let _ = std::fs::remove_file(self.path(host));
    }

    fn warn(&self, msg: String) {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
    }

    /// The warnings since the last call.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The file's text as facts: 2.19's payload wrapper (a file without it, as older Ansible wrote,
/// is the facts themselves), tagged values as their values.
fn decode(text: &str) -> Result<Map<String, Value>, String> {
    let outer: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let inner = match &outer {
        Value::Object(o) => match o.get(PAYLOAD_KEY) {
            Some(Value::String(payload)) => serde_json::from_str(payload).map_err(|e| e.to_string())?,
            _ => outer,
        },
        _ => return Err("not a JSON object".into()),
    };
    match untag(inner) {
        Value::Object(facts) => Ok(facts),
        _ => Err("not a JSON object".into()),
    }
}

/// A value without Ansible's tags: `{"__ansible_type": ..., "value": v, "tags": [...]}` is `v`
/// (an encrypted string, which has no `value`, is its ciphertext).
fn untag(v: Value) -> Value {
    match v {
        Value::Object(mut o) if o.contains_key("__ansible_type") => match o.remove("value") {
            Some(inner) => untag(inner),
            None => o.remove("ciphertext").unwrap_or(Value::Null),
        },
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(untag).collect()),
        other => other,
    }
}

/// The facts as 2.19 writes them: the payload wrapper around their JSON text.
fn encode(facts: &Map<String, Value>) -> String {
    let payload = Value::Object(facts.clone()).to_string();
    let mut outer = Map::new();
    outer.insert(PAYLOAD_KEY.into(), Value::String(payload));
    Value::Object(outer).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_ansible_wrote_and_writes_what_it_reads() {
        // A file ansible-core 2.19.14 wrote for `set_fact: {foo: 1, ansible_bar: x}, cacheable: true`.
        let ansible = r#"{"__payload__": "{\"ansible_bar\": {\"value\": \"x\", \"tags\": [{\"path\": \"/p.yml\", \"line_num\": 6, \"col_num\": 22, \"__ansible_type\": \"Origin\"}], \"__ansible_type\": \"_AnsibleTaggedStr\"}, \"foo\": {\"value\": 1, \"tags\": [], \"__ansible_type\": \"_AnsibleTaggedInt\"}, \"l\": [{\"value\": 2, \"__ansible_type\": \"_AnsibleTaggedInt\"}]}"}"#;
        let facts = decode(ansible).unwrap();
        assert_eq!(Value::Object(facts.clone()), json!({"ansible_bar": "x", "foo": 1, "l": [2]}));
        assert_eq!(decode(&encode(&facts)).unwrap(), facts);
        let written: Value = serde_json::from_str(&encode(&facts)).unwrap();
        assert!(written["__payload__"].is_string());
        // Older Ansible's files: the facts without the wrapper.
        assert_eq!(Value::Object(decode(r#"{"ansible_x": 1}"#).unwrap()), json!({"ansible_x": 1}));
        assert!(decode("[1]").is_err() && decode("{").is_err());
    }

    #[test]
    fn files_are_named_per_host_and_expire() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("made");
        let cache = FactCache::open(&dir, "prefix_", Some(0)).unwrap();
        assert!(dir.is_dir(), "the directory is created");
        let facts: Map<String, Value> = json!({"ansible_foobar": "v"}).as_object().unwrap().clone();
        cache.store("web1", &facts);
        assert!(dir.join("prefix_s1_web1").is_file());
        assert_eq!(cache.load("web1"), Some(facts.clone()));
        assert_eq!(cache.load("web2"), None);
        // An old file is expired with a timeout, still valid without one (0).
        let old = SystemTime::now() - Duration::from_secs(120);
        std::fs::File::options().write(true).open(dir.join("prefix_s1_web1")).unwrap().set_modified(old).unwrap();
        assert_eq!(cache.load("web1"), Some(facts.clone()));
        assert_eq!(FactCache::open(&dir, "prefix_", Some(60)).unwrap().load("web1"), None);
        cache.delete("web1");
        assert_eq!(cache.load("web1"), None);
        std::fs::write(dir.join("prefix_s1_bad"), "{").unwrap();
        assert_eq!(cache.load("bad"), None);
        assert_eq!(cache.take_warnings().len(), 1);
    }

    #[test]
    fn the_plugin_comes_from_the_settings() {
        let mut s = crate::config::Settings::default();
        assert!(matches!(from_settings(&s), Ok(None)));
        s.fact_caching = Some("jsonfile".into());
        assert_eq!(from_settings(&s).unwrap_err(), "Required config '_uri' for 'jsonfile' cache plugin not provided.");
        let d = tempfile::tempdir().unwrap();
        s.fact_caching_connection = Some(d.path().to_path_buf());
        assert!(matches!(from_settings(&s), Ok(Some(_))));
        s.fact_caching = Some("redis".into());
        assert!(from_settings(&s).unwrap_err().starts_with("Unable to load the cache plugin 'redis'."));
    }
}
