//! The run's settings from ansible.cfg and the ANSIBLE_* environment variables, in one typed
//! struct ([`Settings`]) that `ops` reads: Ansible's precedence is command line > environment
//! variable > ansible.cfg > default, and the command-line part is applied in `ops`. The file is
//! found as Ansible finds it (`locate.rs`) and read as configparser reads it (`ini.rs`); values
//! are typed as Ansible types them (booleans, integers, paths relative to the file).

mod entries;
mod ini;
mod locate;
pub mod paths;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Loc, OrcError, Result, SourceFile};

pub use entries::{install_source, lookup as lookup_entry, LookupError};
pub use ini::Ini;
pub use locate::{locate, Located};

/// Ansible's default inventory, used when nothing else names one and it exists.
pub const DEFAULT_INVENTORY: &str = "/etc/ansible/hosts";

/// `gathering`: when plays that do not say `gather_facts:` gather facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gathering {
    /// Gather unless the play says `gather_facts: false` (Ansible's default).
    #[default]
    Implicit,
    /// Gather only when the play says `gather_facts: true`.
    Explicit,
    /// Gather for hosts that have no facts yet in this run.
    Smart,
}

/// Everything orc takes from ansible.cfg and ANSIBLE_* variables (environment first). `None`
/// and empty values mean "not set": the command line or orc's default decides.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The ansible.cfg that was read.
    pub config_file: Option<PathBuf>,
    /// Warnings to show (a skipped ./ansible.cfg).
    pub warnings: Vec<String>,
    /// `inventory` / ANSIBLE_INVENTORY: inventory sources.
    pub inventory: Option<Vec<PathBuf>>,
    /// Where `inventory` was set (`ANSIBLE_INVENTORY`, or `inventory in FILE:LINE`), for errors.
    pub inventory_origin: Option<String>,
    /// `forks` / ANSIBLE_FORKS.
    pub forks: Option<usize>,
    /// `remote_user` / ANSIBLE_REMOTE_USER: the login user for hosts that set no ansible_user.
    pub remote_user: Option<String>,
    /// `private_key_file` / ANSIBLE_PRIVATE_KEY_FILE.
    pub private_key_file: Option<PathBuf>,
    /// `host_key_checking` / ANSIBLE_HOST_KEY_CHECKING (also in [ssh_connection] and as
    /// ANSIBLE_SSH_HOST_KEY_CHECKING).
    pub host_key_checking: Option<bool>,
    /// `roles_path` / ANSIBLE_ROLES_PATH (`:`-separated); Ansible's default when not set.
    pub roles_path: Vec<PathBuf>,
    /// `collections_path` / ANSIBLE_COLLECTIONS_PATH (`:`-separated, also the older plural
    /// names); Ansible's default when not set. Roles named `ns.col.role` are found under
    /// `ansible_collections/ns/col/roles/role` in these directories.
    pub collections_path: Vec<PathBuf>,
    /// `timeout` / ANSIBLE_TIMEOUT: seconds to wait for a connection.
    pub timeout: Option<u64>,
    /// `[privilege_escalation] become` / ANSIBLE_BECOME.
    pub r#become: bool,
    /// `[privilege_escalation] become_user` / ANSIBLE_BECOME_USER.
    pub become_user: Option<String>,
    /// `[privilege_escalation] become_method` / ANSIBLE_BECOME_METHOD.
    pub become_method: Option<String>,
    /// `gathering` / ANSIBLE_GATHERING.
    pub gathering: Gathering,
    /// `error_on_missing_handler` / ANSIBLE_ERROR_ON_MISSING_HANDLER (default true): whether
    /// notifying a handler nobody defines is an error or a warning.
    pub error_on_missing_handler: bool,
    /// `[inventory] enable_plugins` / ANSIBLE_INVENTORY_ENABLED: the inventory plugins, in the
    /// order Ansible tries them (orc reads it only to choose between `host_list` and
    /// `advanced_host_list` for `-i 'a,b[1:3],'`).
    pub inventory_enabled: Option<Vec<String>>,
    /// `hash_behaviour` / ANSIBLE_HASH_BEHAVIOUR: true for `merge` (dicts of the same name in
    /// two variable layers are merged), false for `replace` (the default).
    pub hash_merge: bool,
    /// The ansible.cfg that was read, parsed: [`Settings::vault_ini`] reads the vault keys from
    /// it.
    ini: Option<Ini>,
    /// The file's `vault_password_file`, resolved from the file's directory.
    ini_vault_password_file: Option<PathBuf>,
    /// `stdout_callback` / ANSIBLE_STDOUT_CALLBACK.
    pub stdout_callback: Option<String>,
    /// `private_role_vars` / ANSIBLE_PRIVATE_ROLE_VARS, `None` when not set: whether the vars and
    /// defaults of roles are kept from the play's other tasks. Unset, Ansible makes roles of
    /// `roles:` and `import_role` public and `include_role`'s private; set, it decides for all.
    pub private_role_vars: Option<bool>,
    /// `fact_caching` / ANSIBLE_CACHE_PLUGIN: the fact cache plugin (`memory` when not set;
    /// orc has `memory` and `jsonfile`, src/executor/fact_cache.rs).
    pub fact_caching: Option<String>,
    /// `fact_caching_connection` / ANSIBLE_CACHE_PLUGIN_CONNECTION: the jsonfile cache's
    /// directory (a path, relative to the file's directory when set there).
    pub fact_caching_connection: Option<PathBuf>,
    /// `fact_caching_prefix` / ANSIBLE_CACHE_PLUGIN_PREFIX: put before each cache file's name.
    pub fact_caching_prefix: Option<String>,
    /// `fact_caching_timeout` / ANSIBLE_CACHE_PLUGIN_TIMEOUT: seconds a cache file stays valid
    /// (Ansible's default 86400 when not set; 0: forever).
    pub fact_caching_timeout: Option<u64>,
}

/// Where a setting's value came from, for errors.
enum Origin {
    Env(&'static str),
    File(Loc, &'static str),
}

/// One setting's raw value.
struct Raw {
    value: String,
    origin: Origin,
}

impl Raw {
    /// An error saying what is wrong with this value and what would be valid.
    fn error(&self, want: &str) -> OrcError {
        match &self.origin {
            Origin::Env(name) => {
                OrcError::input(format!("{name}={}: {want}", self.value)).help(format!("fix or unset {name}"))
            }
            Origin::File(loc, key) => OrcError::at(loc, format!("{key} = {}: {want}", self.value))
                .help(format!("fix {key} in {}", loc.file.path.display())),
        }
    }

    /// Where the value was set, for a message: `NAME` or `KEY in FILE:LINE`.
    fn describe(&self) -> String {
        match &self.origin {
            Origin::Env(name) => (*name).to_string(),
            Origin::File(loc, key) => format!("{key} in {}:{}", loc.file.path.display(), loc.line),
        }
    }

    /// The directory relative paths are taken from: the file's, or the current one.
    fn base<'a>(&'a self, cwd: &'a Path) -> &'a Path {
        match &self.origin {
            Origin::File(loc, _) => loc.file.path.parent().unwrap_or(cwd),
            Origin::Env(_) => cwd,
        }
    }

    /// The value without surrounding quotes (Ansible unquotes ini strings).
    fn text(&self) -> String {
        match self.origin {
            Origin::File(..) => unquote(self.value.trim()),
            Origin::Env(_) => self.value.clone(),
        }
    }
}

/// `'x'` or `"x"` as `x`.
fn unquote(s: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    s.to_string()
}

/// Reads settings from the environment (`env`) and the located ansible.cfg.
struct Reader<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    ini: Option<Ini>,
    cwd: &'a Path,
    home: Option<&'a Path>,
}

impl Reader<'_> {
    /// The last of the environment variables `envs` that is set, else the last of the file's
    /// `[section] key`s that is set: when a setting has several names, Ansible's config manager
    /// (`_loop_entries`) lets the last one listed win, so `[ssh_connection] host_key_checking`
    /// beats `[defaults] host_key_checking`. `envs` and `keys` are in Ansible's order.
    fn raw(&self, envs: &[&'static str], keys: &[(&str, &'static str)]) -> Option<Raw> {
        for name in envs.iter().rev() {
            if let Some(v) = (self.env)(name) {
                return Some(Raw { value: v, origin: Origin::Env(name) });
            }
        }
        if let Some(ini) = &self.ini {
            for (section, key) in keys.iter().rev() {
                if let Some(v) = ini.get(section, key) {
                    return Some(Raw { value: v.value, origin: Origin::File(v.loc, key) });
                }
            }
        }
        None
    }

    fn string(&self, envs: &[&'static str], keys: &[(&str, &'static str)]) -> Result<Option<String>> {
        Ok(self.raw(envs, keys).map(|r| r.text()).filter(|s| !s.is_empty()))
    }

    fn boolean(&self, envs: &[&'static str], keys: &[(&str, &'static str)]) -> Result<Option<bool>> {
        let Some(r) = self.raw(envs, keys) else { return Ok(None) };
        match r.text().to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Ok(Some(true)),
            "n" | "no" | "off" | "0" | "false" | "f" | "0.0" | "" => Ok(Some(false)),
            _ => Err(r.error("expected a boolean (true/false, yes/no, on/off, 1/0)")),
        }
    }

    fn integer(&self, envs: &[&'static str], keys: &[(&str, &'static str)]) -> Result<Option<u64>> {
        let Some(r) = self.raw(envs, keys) else { return Ok(None) };
        let t = r.text();
        let t = t.trim();
        let int = t
            .parse::<u64>()
            .ok()
            .or_else(|| t.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15).map(|f| f as u64));
        int.map(Some).ok_or_else(|| r.error("expected a whole number"))
    }

    fn path(&self, envs: &[&'static str], keys: &[(&str, &'static str)]) -> Result<Option<PathBuf>> {
        let Some(r) = self.raw(envs, keys) else { return Ok(None) };
        let t = r.text();
        if t.is_empty() {
            return Ok(None);
        }
        Ok(Some(paths::resolve(&t, r.base(self.cwd), self.env, self.home)))
    }

    /// A list of paths split on `sep` (`,` for pathlists, `:` for pathspecs).
    fn paths(&self, envs: &[&'static str], keys: &[(&str, &'static str)], sep: char) -> Result<Option<Vec<PathBuf>>> {
        let Some(r) = self.raw(envs, keys) else { return Ok(None) };
        let base = r.base(self.cwd);
        let list = r
            .text()
            .split(sep)
            .map(|p| unquote(p.trim()))
            .filter(|p| !p.is_empty())
            .map(|p| paths::resolve(&p, base, self.env, self.home))
            .collect();
        Ok(Some(list))
    }
}

impl Settings {
    /// The settings of this process: its environment, current directory and home.
    pub fn load() -> Result<Settings> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let env = |k: &str| std::env::var(k).ok();
        Settings::load_from(&env, &cwd, home.as_deref(), Path::new("/etc/ansible/ansible.cfg"))
    }

    /// The settings for `env`, `cwd`, `home` and the system-wide file `system`.
    pub fn load_from(
        env: &dyn Fn(&str) -> Option<String>,
        cwd: &Path,
        home: Option<&Path>,
        system: &Path,
    ) -> Result<Settings> {
        let located = locate(env, cwd, home, system);
        let ini = match &located.path {
            Some(p) => {
                let text = OrcError::read(p)?;
                Some(Ini::parse(SourceFile::new(p.clone(), text))?)
            }
            None => None,
        };
        let r = Reader { env, ini, cwd, home };
        const D: &str = "defaults";
        const PE: &str = "privilege_escalation";
        const SSH: &str = "ssh_connection";
        let gathering = match r.raw(&["ANSIBLE_GATHERING"], &[(D, "gathering")]) {
            None => Gathering::Implicit,
            Some(raw) => match raw.text().to_lowercase().as_str() {
                "implicit" => Gathering::Implicit,
                "explicit" => Gathering::Explicit,
                "smart" => Gathering::Smart,
                _ => return Err(raw.error("expected implicit, explicit or smart")),
            },
        };
        let hash_merge = match r.raw(&["ANSIBLE_HASH_BEHAVIOUR"], &[(D, "hash_behaviour")]) {
            None => false,
            Some(raw) => match raw.text().as_str() {
                "replace" => false,
                "merge" => true,
                _ => return Err(raw.error("expected replace or merge")),
            },
        };
        let ansible_home = env("ANSIBLE_HOME")
            .map(|h| paths::resolve(&h, cwd, env, home))
            .or_else(|| home.map(|h| h.join(".ansible")));
        let default_collections: Vec<PathBuf> = ansible_home
            .as_ref()
            .map(|h| h.join("collections"))
            .into_iter()
            .chain(std::iter::once(PathBuf::from("/usr/share/ansible/collections")))
            .collect();
        let default_roles: Vec<PathBuf> = ansible_home
            .map(|h| h.join("roles"))
            .into_iter()
            .chain(["/usr/share/ansible/roles", "/etc/ansible/roles"].map(PathBuf::from))
            .collect();
        Ok(Settings {
            config_file: located.path.clone(),
            warnings: located.warning.into_iter().collect(),
            inventory: r.paths(&["ANSIBLE_INVENTORY"], &[(D, "inventory")], ',')?,
            inventory_origin: r.raw(&["ANSIBLE_INVENTORY"], &[(D, "inventory")]).map(|raw| raw.describe()),
            forks: r.integer(&["ANSIBLE_FORKS"], &[(D, "forks")])?.map(|f| f as usize),
            remote_user: r.string(&["ANSIBLE_REMOTE_USER"], &[(D, "remote_user")])?,
            private_key_file: r.path(&["ANSIBLE_PRIVATE_KEY_FILE"], &[(D, "private_key_file")])?,
            host_key_checking: r.boolean(
                &["ANSIBLE_HOST_KEY_CHECKING", "ANSIBLE_SSH_HOST_KEY_CHECKING"],
                &[(D, "host_key_checking"), (SSH, "host_key_checking")],
            )?,
            roles_path: r.paths(&["ANSIBLE_ROLES_PATH"], &[(D, "roles_path")], ':')?.unwrap_or(default_roles),
            collections_path: r
                .paths(
                    &["ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"],
                    &[(D, "collections_path"), (D, "collections_paths")],
                    ':',
                )?
                .unwrap_or(default_collections),
            timeout: r.integer(&["ANSIBLE_TIMEOUT", "ANSIBLE_SSH_TIMEOUT"], &[(D, "timeout"), (SSH, "timeout")])?,
            r#become: r.boolean(&["ANSIBLE_BECOME"], &[(PE, "become")])?.unwrap_or(false),
            become_user: r.string(&["ANSIBLE_BECOME_USER"], &[(PE, "become_user")])?,
            become_method: match r.raw(&["ANSIBLE_BECOME_METHOD"], &[(PE, "become_method")]) {
                None => None,
                Some(raw) => match raw.text().as_str() {
                    m @ ("sudo" | "su" | "ansible.builtin.sudo" | "ansible.builtin.su") => Some(m.to_string()),
                    _ => return Err(raw.error("orc supports the sudo and su become methods")),
                },
            },
            gathering,
            error_on_missing_handler: r
                .boolean(&["ANSIBLE_ERROR_ON_MISSING_HANDLER"], &[(D, "error_on_missing_handler")])?
                .unwrap_or(true),
            hash_merge,
            inventory_enabled: r
                .string(&["ANSIBLE_INVENTORY_ENABLED"], &[("inventory", "enable_plugins")])?
                .map(|s| s.split(',').map(|p| unquote(p.trim())).filter(|p| !p.is_empty()).collect()),
            stdout_callback: r.string(&["ANSIBLE_STDOUT_CALLBACK"], &[(D, "stdout_callback")])?,
            fact_caching: r.string(&["ANSIBLE_CACHE_PLUGIN"], &[(D, "fact_caching")])?,
            fact_caching_connection: r.path(&["ANSIBLE_CACHE_PLUGIN_CONNECTION"], &[(D, "fact_caching_connection")])?,
            fact_caching_prefix: r.string(&["ANSIBLE_CACHE_PLUGIN_PREFIX"], &[(D, "fact_caching_prefix")])?,
            fact_caching_timeout: r.integer(&["ANSIBLE_CACHE_PLUGIN_TIMEOUT"], &[(D, "fact_caching_timeout")])?,
            ini_vault_password_file: r.path(&[], &[(D, "vault_password_file")])?,
            private_role_vars: r.boolean(&["ANSIBLE_PRIVATE_ROLE_VARS"], &[(D, "private_role_vars")])?,
            ini: r.ini,
        })
    }
}

impl Settings {
    /// The `[defaults]` value of `key` in the ansible.cfg that was read (not the environment),
    /// for the vault settings' own reader (`VaultConfig::resolve`, which applies the
    /// ANSIBLE_VAULT_* variables over it): `vault_password_file` is a path, resolved from the
    /// file's directory as Ansible's `type: path` does; other keys (`vault_identity_list`,
    /// `vault_identity`, ...) are returned as written, unquoted. Empty values count as unset.
    pub fn vault_ini(&self, key: &str) -> Option<String> {
        if key == "vault_password_file" {
            return self.ini_vault_password_file.as_ref().map(|p| p.display().to_string());
        }
        let v = self.ini.as_ref()?.get("defaults", key)?;
        Some(unquote(v.value.trim())).filter(|t| !t.is_empty())
    }
}

/// The run's `private_role_vars` setting (`None`: not set), set once by `ops`.
static PRIVATE_ROLE_VARS: OnceLock<Option<bool>> = OnceLock::new();

/// Makes `setting` the `private_role_vars` role loading uses (the first call wins).
pub fn install_private_role_vars(setting: Option<bool>) {
    let _ = PRIVATE_ROLE_VARS.set(setting);
}

/// Whether a role's vars and defaults are visible to the play's other tasks, as Ansible's
/// `Role.__init__` decides: the `public:` option when given; else, when `private_role_vars`
/// is set, its opposite; else true for roles of `roles:` and `import_role` (`imported`), false
/// for `include_role`.
pub fn role_is_public(public: Option<bool>, imported: bool) -> bool {
    match (public, PRIVATE_ROLE_VARS.get().copied().flatten()) {
        (Some(p), _) => p,
        (None, Some(private)) => !private,
        (None, None) => imported,
    }
}

/// The roles path of this run, set once by `ops` from the settings.
static ROLES_PATH: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Makes `paths` the roles path role lookups use (the first call wins).
pub fn install_roles_path(paths: Vec<PathBuf>) {
    let _ = ROLES_PATH.set(paths);
}

/// The collections path of this run, set once by `ops` from the settings.
static COLLECTIONS_PATH: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Makes `paths` the collections path role lookups use (the first call wins).
pub fn install_collections_path(paths: Vec<PathBuf>) {
    let _ = COLLECTIONS_PATH.set(paths);
}

/// The directories searched for collection roles (`ns.col.role`) after the playbook's
/// `collections/`: the settings' collections path, or (when `ops` installed none, as in unit
/// tests) ANSIBLE_COLLECTIONS_PATH and Ansible's defaults.
pub fn collections_path() -> Vec<PathBuf> {
    if let Some(p) = COLLECTIONS_PATH.get() {
        return p.clone();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let env = |k: &str| std::env::var(k).ok();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    Settings::load_from(&env, &cwd, home.as_deref(), Path::new("/nonexistent/ansible.cfg"))
        .map(|s| s.collections_path)
        .unwrap_or_default()
}

/// The directories searched for roles after the playbook's `roles/`: the settings' roles path,
/// or (when `ops` installed none, as in unit tests) ANSIBLE_ROLES_PATH and Ansible's defaults.
pub fn roles_path() -> Vec<PathBuf> {
    if let Some(p) = ROLES_PATH.get() {
        return p.clone();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let env = |k: &str| std::env::var(k).ok();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    // Without a config file: only the environment and the defaults.
    Settings::load_from(&env, &cwd, home.as_deref(), Path::new("/nonexistent/ansible.cfg"))
        .map(|s| s.roles_path)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Loads settings in `dir` with the given environment and ansible.cfg text.
    fn load(dir: &Path, vars: &[(&str, &str)], cfg: Option<&str>) -> Result<Settings> {
        let env_map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Some(text) = cfg {
            std::fs::write(dir.join("ansible.cfg"), text).unwrap();
        }
        let env = move |k: &str| env_map.get(k).cloned();
        Settings::load_from(&env, dir, Some(Path::new("/home/u")), Path::new("/nonexistent/ansible.cfg"))
    }

    fn dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }

    #[test]
    fn collections_path_and_missing_handler_setting() {
        let d = dir();
        let s = load(d.path(), &[], None).unwrap();
        assert_eq!(
            s.collections_path,
            vec![PathBuf::from("/home/u/.ansible/collections"), PathBuf::from("/usr/share/ansible/collections")]
        );
        assert!(s.error_on_missing_handler);
        let s = load(
            d.path(),
            &[("ANSIBLE_ERROR_ON_MISSING_HANDLER", "false")],
            Some("[defaults]\ncollections_path = cols:/opt/cols\n"),
        )
        .unwrap();
        assert_eq!(s.collections_path, vec![d.path().join("cols"), PathBuf::from("/opt/cols")]);
        assert!(!s.error_on_missing_handler);
    }

    #[test]
    fn file_values_are_typed_and_anchored_at_the_file() {
        let d = dir();
        let s = load(
            d.path(),
            &[],
            Some(
                "[defaults]\ninventory = hosts, ~/inv\nforks = 7\nremote_user = 'deploy'\nprivate_key_file = keys/id\n\
                 host_key_checking = False\nroles_path = roles:/opt/roles\ntimeout = 30\ngathering = explicit\n\
                 vault_password_file = .vault\nvault_identity_list = dev@~/dev.txt, prod@prompt\n\
                 stdout_callback = json\nhash_behaviour = merge\n\
                 fact_caching = jsonfile\nfact_caching_connection = cache\nfact_caching_prefix = p_\n\
                 fact_caching_timeout = 60\n\
                 [privilege_escalation]\nbecome = yes\nbecome_user = app\nbecome_method = su\n",
            ),
        )
        .unwrap();
        let p = d.path();
        assert_eq!(s.config_file, Some(p.join("ansible.cfg")));
        assert_eq!(s.inventory, Some(vec![p.join("hosts"), PathBuf::from("/home/u/inv")]));
        assert_eq!(s.inventory_origin, Some(format!("inventory in {}:2", p.join("ansible.cfg").display())));
        assert_eq!(s.forks, Some(7));
        assert_eq!(s.remote_user.as_deref(), Some("deploy"));
        assert_eq!(s.private_key_file, Some(p.join("keys/id")));
        assert_eq!(s.host_key_checking, Some(false));
        assert_eq!(s.roles_path, vec![p.join("roles"), PathBuf::from("/opt/roles")]);
        assert_eq!(s.timeout, Some(30));
        assert_eq!(s.gathering, Gathering::Explicit);
        assert_eq!(s.vault_ini("vault_password_file"), Some(p.join(".vault").display().to_string()));
        assert_eq!(s.vault_ini("vault_identity_list").as_deref(), Some("dev@~/dev.txt, prod@prompt"));
        assert_eq!(s.vault_ini("vault_identity"), None);
        assert_eq!(s.stdout_callback.as_deref(), Some("json"));
        assert!(s.hash_merge);
        assert_eq!(s.fact_caching.as_deref(), Some("jsonfile"));
        assert_eq!(s.fact_caching_connection, Some(p.join("cache")));
        assert_eq!((s.fact_caching_prefix.as_deref(), s.fact_caching_timeout), (Some("p_"), Some(60)));
        assert!(s.r#become);
        assert_eq!((s.become_user.as_deref(), s.become_method.as_deref()), (Some("app"), Some("su")));
    }

    #[test]
    fn environment_beats_the_file_and_defaults_fill_the_rest() {
        let d = dir();
        let s = load(
            d.path(),
            &[("ANSIBLE_FORKS", "3"), ("ANSIBLE_ROLES_PATH", "r1:r2"), ("ANSIBLE_HOST_KEY_CHECKING", "True")],
            Some("[defaults]\nforks = 7\nhost_key_checking = false\n"),
        )
        .unwrap();
        assert_eq!(s.forks, Some(3));
        assert_eq!(s.host_key_checking, Some(true));
        // Relative paths in variables are taken from the current directory.
        assert_eq!(s.roles_path, vec![d.path().join("r1"), d.path().join("r2")]);
        let s = load(d.path(), &[], None).unwrap();
        assert_eq!(s.forks, Some(7), "the file written above is still there");
        std::fs::remove_file(d.path().join("ansible.cfg")).unwrap();
        let s = load(d.path(), &[], None).unwrap();
        assert_eq!((s.forks, s.inventory.clone(), s.config_file.clone()), (None, None, None));
        assert_eq!(
            s.roles_path,
            ["/home/u/.ansible/roles", "/usr/share/ansible/roles", "/etc/ansible/roles"].map(PathBuf::from)
        );
        assert_eq!(s.gathering, Gathering::Implicit);
        assert!(!s.hash_merge);
        assert!(!load(d.path(), &[("ANSIBLE_HASH_BEHAVIOUR", "replace")], None).unwrap().hash_merge);
        assert_eq!(s.inventory_enabled, None);
        let s = load(d.path(), &[("ANSIBLE_INVENTORY_ENABLED", "advanced_host_list, ini")], None).unwrap();
        assert_eq!(s.inventory_enabled, Some(vec!["advanced_host_list".to_string(), "ini".to_string()]));
    }

    #[test]
    fn of_two_names_for_one_setting_the_later_one_wins_as_in_ansible() {
        let d = dir();
        let cfg = "[defaults]\nhost_key_checking = true\ntimeout = 5\n[ssh_connection]\nhost_key_checking = false\n";
        let s = load(d.path(), &[], Some(cfg)).unwrap();
        assert_eq!((s.host_key_checking, s.timeout), (Some(false), Some(5)));
        let env =
            [("ANSIBLE_SSH_HOST_KEY_CHECKING", "yes"), ("ANSIBLE_HOST_KEY_CHECKING", "no"), ("ANSIBLE_TIMEOUT", "8")];
        let s = load(d.path(), &env, None).unwrap();
        assert_eq!((s.host_key_checking, s.timeout), (Some(true), Some(8)));
        let s = load(d.path(), &[("ANSIBLE_TIMEOUT", "8"), ("ANSIBLE_SSH_TIMEOUT", "9")], None).unwrap();
        assert_eq!(s.timeout, Some(9));
    }

    #[test]
    fn wrong_values_are_errors_naming_their_origin() {
        let d = dir();
        let e = load(d.path(), &[], Some("[defaults]\nforks = many\n")).unwrap_err();
        assert!(
            e.report().contains("ansible.cfg:2:1") && e.to_string().contains("forks = many: expected a whole number")
        );
        assert_eq!(e.exit_code(), 3);
        std::fs::remove_file(d.path().join("ansible.cfg")).unwrap();
        let e = load(d.path(), &[("ANSIBLE_GATHERING", "sometimes")], None).unwrap_err();
        assert_eq!(e.to_string(), "ANSIBLE_GATHERING=sometimes: expected implicit, explicit or smart");
        let e = load(d.path(), &[("ANSIBLE_BECOME", "perhaps")], None).unwrap_err();
        assert!(e.to_string().contains("expected a boolean"));
        let e = load(d.path(), &[("ANSIBLE_BECOME_METHOD", "doas")], None).unwrap_err();
        assert!(e.to_string().contains("sudo and su"));
        let e = load(d.path(), &[("ANSIBLE_HASH_BEHAVIOUR", "deep")], None).unwrap_err();
        assert_eq!(e.to_string(), "ANSIBLE_HASH_BEHAVIOUR=deep: expected replace or merge");
    }
}
