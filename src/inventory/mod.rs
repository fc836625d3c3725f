//! Inventories as Ansible reads them: INI and YAML files, directories of them, executable inventory
//! scripts and `-i 'a,b,'` host lists; `group_vars/` and `host_vars/` next to the inventory and the
//! playbook; host patterns; and the `orc inventory` renderings (`--list`, `--graph`, `--host`).
//!
//! The model mirrors ansible-core's `InventoryData`: groups and hosts in the order they were first
//! seen, the implicit `all` and `ungrouped` groups, and host variables merged in Ansible's
//! precedence once, when loading, so that [`Inventory::host_vars`] is a cheap lookup.
//!
//! Where orc differs from ansible-core 2.19 on purpose:
//! - A source that cannot be read or parsed is an error naming file:line:col; Ansible warns
//!   "Unable to parse ... as an inventory source" and goes on with what it has. (A `-i` source
//!   that does not exist is left out with Ansible's warning, by `ops`.)
//! - Inventory plugins (`plugin:` YAML files, constructed, toml) are not run.
//! - An executable file is run as an inventory script only if it starts with `#!` or is binary;
//!   Ansible runs every executable file (and falls back to YAML/INI when that fails).
//! - Vault-encrypted group_vars/host_vars files are refused with an error.
//! - The implicit localhost's `ansible_python_interpreter` is the first `python3` on orc's PATH
//!   (Ansible: the Python running ansible-playbook); none when there is no python3.
//! - INI values: Python ints beyond 64 bits become floats, `inf`/`nan` stay text, and sets keep
//!   their written order.

mod graph;
mod hostrange;
mod ini;
mod pattern;
pub(crate) mod pylit;
mod render;
mod runtime;
mod script;
mod sources;
mod vars_dirs;
mod yaml_source;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use crate::error::{OrcError, Result};

pub use hostrange::{expand_hostpattern, parse_address};
pub use pylit::{parse_value as parse_ini_value, python_float};
pub use render::to_ansible_json;
pub use vars_dirs::load_vars_file;
use vars_dirs::VarsDir;

/// Host names Ansible treats as the local machine (an implicit `localhost` is made for them).
pub const LOCALHOST_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// Whether `-i 'a,b[1:3],'` host lists expand host ranges: Ansible's `advanced_host_list`
/// plugin is enabled before `host_list` (`[inventory] enable_plugins`, ANSIBLE_INVENTORY_ENABLED).
/// Set once by `ops` from the settings; off by default, as in Ansible.
static ADVANCED_HOST_LIST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Reads the enabled inventory plugins, in Ansible's order, for how host lists are parsed (the
/// first call wins).
pub fn install_enabled_plugins(enabled: &[String]) {
    let _ = ADVANCED_HOST_LIST.set(advanced_host_list_first(enabled));
}

fn advanced_host_list_first(enabled: &[String]) -> bool {
    let at = |name: &str| enabled.iter().position(|p| p == name || p.strip_prefix("ansible.builtin.") == Some(name));
    match (at("advanced_host_list"), at("host_list")) {
        (Some(a), Some(h)) => a < h,
        (Some(_), None) => true,
        _ => false,
    }
}

pub(crate) fn advanced_host_list() -> bool {
    ADVANCED_HOST_LIST.get().copied().unwrap_or(false)
}

/// The controller's Python, as the implicit localhost's `ansible_python_interpreter`: Ansible
/// gives it the Python running ansible-playbook (`sys.executable`); orc, which runs no Python,
/// gives the first executable `python3` on its PATH, looked up once per run. None without one.
pub fn controller_python() -> Option<&'static str> {
    static PYTHON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|d| d.join("python3"))
                .find(|p| is_executable(p))
                .map(|p| p.display().to_string())
        })
        .as_deref()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A group: its direct hosts and child groups in the order they were added, and its own vars.
#[derive(Debug, Clone)]
struct Group {
    hosts: Vec<String>,
    /// The same names as `hosts`, for fast membership tests.
    host_set: HashSet<String>,
    children: Vec<String>,
    parents: Vec<String>,
    vars: Map<String, Value>,
    priority: i64,
    depth: usize,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            hosts: Vec::new(),
            host_set: HashSet::new(),
            children: Vec::new(),
            parents: Vec::new(),
            vars: Map::new(),
            // Ansible's default ansible_group_priority
            priority: 1,
            depth: 0,
        }
    }
}

/// A host: the variables set on it by inventory sources.
#[derive(Debug, Clone, Default)]
struct Host {
    vars: Map<String, Value>,
    /// Every group the host belongs to, directly or through a parent (Ansible's `host.groups`).
    groups: Vec<String>,
}

/// A loaded inventory: groups, hosts, their variables and the vars directories that apply.
#[derive(Debug, Clone)]
pub struct Inventory {
    groups: IndexMap<String, Group>,
    hosts: IndexMap<String, Host>,
    /// group_vars/host_vars next to each `-i` source, in source order (Ansible's `_sources`).
    inventory_dirs: Vec<VarsDir>,
    /// group_vars/host_vars next to playbooks, above the inventory-adjacent ones.
    playbook_dirs: Vec<VarsDir>,
    /// The source being parsed, recorded as `inventory_file` on hosts it creates.
    current_source: Option<(String, Option<String>)>,
    /// Hosts of every group (descendants included), in Ansible's order; computed by `finish`.
    group_hosts: HashMap<String, Vec<String>>,
    /// Merged variables per host; computed by `finish` and `add_playbook_vars_dirs`.
    merged: HashMap<String, Map<String, Value>>,
    /// Things Ansible would warn about (skipped YAML keys, hosts that are also groups...).
    warnings: Vec<String>,
}

impl Inventory {
    fn empty() -> Inventory {
        let mut inv = Inventory {
            groups: IndexMap::new(),
            hosts: IndexMap::new(),
            inventory_dirs: Vec::new(),
            playbook_dirs: Vec::new(),
            current_source: None,
            group_hosts: HashMap::new(),
            merged: HashMap::new(),
            warnings: Vec::new(),
        };
        inv.add_group("all");
        inv.add_group("ungrouped");
        let _ = inv.add_child("all", "ungrouped");
        inv
    }

    /// Loads and merges the given sources (files, dirs, scripts, host lists) in order.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory> {
        let mut inv = Inventory::empty();
        for src in sources {
            sources::parse_source(&mut inv, src)?;
        }
        inv.current_source = None;
        for src in sources {
            if let Some(dir) = sources::vars_dir_of(src) {
                inv.inventory_dirs.push(VarsDir::new(dir));
            }
        }
        inv.finish()?;
        Ok(inv)
    }

    /// Whether `src` can be read as a source at all: a host list (`a,b,`) or a path that exists.
    /// `ops` leaves out, with Ansible's warning, a `-i` source that is neither.
    pub fn source_exists(src: &Path) -> bool {
        sources::is_host_list(src) || sources::absolute(src).exists()
    }

    /// The inventory used without -i: just the implicit localhost (which `select("localhost")`
    /// finds, while `all` matches nothing, as in Ansible with an empty inventory).
    pub fn implicit_localhost() -> Inventory {
        let mut inv = Inventory::empty();
        inv.reconcile();
        inv.compute_group_hosts();
        inv
    }

    /// An inventory made of group memberships alone (the `groups` magic variable: group name to
    /// host names), as Ansible's `inventory_hostnames` lookup rebuilds one to match patterns.
    pub fn from_groups(groups: &[(String, Vec<String>)]) -> Inventory {
        let mut inv = Inventory::empty();
        for (group, hosts) in groups {
            inv.add_group(group);
            for host in hosts {
                inv.add_host(host, Some(group), None);
            }
        }
        for (group, _) in groups {
            if group != "all" && group != "ungrouped" {
                let _ = inv.add_child("all", group);
            }
        }
        inv.reconcile();
        inv.compute_group_hosts();
        inv
    }

    /// Hosts matching a host pattern, in inventory order (none is not an error, unlike `select`).
    pub fn matching(&self, pattern: &str) -> Result<Vec<String>> {
        pattern::check_brackets(pattern)?;
        pattern::evaluate(self, &pattern::split_host_pattern(pattern))
    }

    /// Adds group_vars/ and host_vars/ found in a playbook's directory. They rank above the
    /// inventory-adjacent ones (Ansible: "playbook group_vars/*" over "inventory group_vars/*").
    pub fn add_playbook_vars_dirs(&mut self, dir: &Path) -> Result<()> {
        let mut vd = VarsDir::new(dir.to_path_buf());
        vd.load(self.groups.keys(), self.host_and_local_names())?;
        self.playbook_dirs.push(vd);
        self.compute_merged();
        Ok(())
    }

    /// Warnings collected while loading (what ansible-inventory prints as `[WARNING]`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// All host names in inventory order.
    pub fn hosts(&self) -> Vec<String> {
        self.group_hosts.get("all").cloned().unwrap_or_default()
    }

    /// Every group name, in the order groups were first defined (`all` and `ungrouped` first).
    pub fn group_list(&self) -> Vec<String> {
        self.groups.keys().cloned().collect()
    }

    /// Whether `name` is a host of this inventory (the implicit localhost is not).
    pub fn has_host(&self, name: &str) -> bool {
        self.hosts.contains_key(name)
    }

    /// Merged inventory variables for one host (incl. group_vars/host_vars), Ansible precedence.
    /// Includes `inventory_file` and `inventory_dir`; an unknown host gets an empty map, except a
    /// localhost name, which gets the implicit localhost's variables.
    pub fn host_vars(&self, host: &str) -> Map<String, Value> {
        if let Some(m) = self.merged.get(host) {
            return m.clone();
        }
        if LOCALHOST_NAMES.contains(&host) {
            if let Some(m) = self.explicit_localhost().and_then(|h| self.merged.get(h)) {
                return m.clone();
            }
            return self.implicit_localhost_vars(host);
        }
        Map::new()
    }

    /// Sorted group names of a host, excluding `all` (Ansible's `group_names`, which does list
    /// `ungrouped` for hosts in no other group).
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .hosts
            .get(host)
            .map(|h| h.groups.iter().filter(|g| *g != "all").cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The `groups` magic variable: every group (incl. all, ungrouped) to its hosts.
    pub fn groups_var(&self) -> Map<String, Value> {
        self.groups
            .keys()
            .map(|g| {
                let hosts = self.group_hosts.get(g).cloned().unwrap_or_default();
                (g.clone(), Value::Array(hosts.into_iter().map(Value::String).collect()))
            })
            .collect()
    }

    /// The per-host magic variables the inventory defines: `inventory_hostname`,
    /// `inventory_hostname_short` and `group_names`.
    pub fn magic_vars(&self, host: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("inventory_hostname".into(), Value::String(host.into()));
        let short = if hostrange::ipv4().is_match(host) || hostrange::ipv6().is_match(host) {
            host.to_string()
        } else {
            host.split('.').next().unwrap_or(host).to_string()
        };
        m.insert("inventory_hostname_short".into(), Value::String(short));
        m.insert("group_names".into(), Value::Array(self.group_names(host).into_iter().map(Value::String).collect()));
        m
    }

    /// Resolves a host pattern to hosts in inventory order; error when none matches.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>> {
        pattern::check_brackets(pattern)?;
        let hosts = pattern::evaluate(self, &pattern::split_host_pattern(pattern))?;
        if hosts.is_empty() {
            return Err(
                OrcError::input(format!("no hosts matched the host pattern '{pattern}'")).help(self.pattern_help())
            );
        }
        Ok(hosts)
    }

    /// Restricts to a --limit pattern (supports @file).
    pub fn limit(&self, hosts: Vec<String>, limit: &str) -> Result<Vec<String>> {
        pattern::check_brackets(limit)?;
        let patterns = pattern::limit_patterns(limit)?;
        let allowed: HashSet<String> = pattern::evaluate(self, &patterns)?.into_iter().collect();
        let out: Vec<String> = hosts.into_iter().filter(|h| allowed.contains(h)).collect();
        if out.is_empty() {
            return Err(OrcError::input(format!("the host pattern and --limit '{limit}' leave no hosts to target"))
                .help(self.pattern_help()));
        }
        Ok(out)
    }

    /// `ansible-inventory --list`: groups with hosts/children and `_meta.hostvars`.
    pub fn list_json(&self) -> Value {
        render::list_json(self)
    }

    /// `ansible-inventory --list --limit ...`: the `--list` document restricted to `hosts` (e.g.
    /// the result of [`Inventory::limit`]).
    pub fn list_json_for(&self, hosts: &[String]) -> Value {
        render::list_json_for(self, hosts)
    }

    /// `ansible-inventory --list --export`: group vars under each group, hosts' own vars only.
    pub fn list_json_export(&self) -> Value {
        render::list_json_export(self)
    }

    /// A group's own variables: inventory file vars, then group_vars/ files (inventory-adjacent,
    /// then playbook-adjacent), plus `ansible_group_priority` when it is not 1.
    pub(crate) fn group_own_vars(&self, group: &str) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(g) = self.groups.get(group) else {
            return out;
        };
        out.extend(g.vars.clone());
        for d in self.inventory_dirs.iter().chain(&self.playbook_dirs) {
            if let Some(m) = d.group(group) {
                out.extend(m.clone());
            }
        }
        if g.priority != 1 {
            out.insert("ansible_group_priority".into(), Value::from(g.priority));
        }
        out
    }

    /// A host's own variables: inventory file vars, then host_vars/ files.
    pub(crate) fn host_own_vars(&self, host: &str) -> Map<String, Value> {
        let mut out = Map::new();
        if let Some(h) = self.hosts.get(host) {
            out.extend(h.vars.clone());
        }
        for d in self.inventory_dirs.iter().chain(&self.playbook_dirs) {
            if let Some(m) = d.host(host) {
                out.extend(m.clone());
            }
        }
        out
    }

    /// `ansible-inventory --graph [GROUP]` text (no trailing newline).
    pub fn graph(&self, group: Option<&str>) -> Result<String> {
        graph::graph(self, group.unwrap_or("all"))
    }

    /// `ansible-inventory --host NAME`: the host's merged variables as JSON.
    pub fn host_json(&self, host: &str) -> Result<Value> {
        render::host_json(self, host)
    }

    /// The first inventory host named like localhost (`127.0.0.1`, `localhost`, `::1`): Ansible
    /// answers every localhost name with it instead of making an implicit one.
    pub(crate) fn explicit_localhost(&self) -> Option<&str> {
        self.hosts.keys().find(|h| LOCALHOST_NAMES.contains(&h.as_str())).map(String::as_str)
    }

    fn pattern_help(&self) -> String {
        if self.hosts().is_empty() {
            return "without -i the inventory holds only the implicit localhost, which `all` and group patterns \
                    do not match (as in Ansible): target `localhost`, or give an inventory with -i"
                .to_string();
        }
        let groups: Vec<&str> =
            self.groups.keys().map(String::as_str).filter(|g| !matches!(*g, "all" | "ungrouped")).take(10).collect();
        format!(
            "patterns are host or group names, globs (web*), ~regex, a:b or a,b (union), &g (and), !g (not), g[0:2] (slice); groups here: all{}{}",
            if groups.is_empty() { "" } else { ", " },
            groups.join(", ")
        )
    }

    // ----- building (used by the source parsers) -------------------------------------------

    /// Adds a group if new; returns its name.
    pub(crate) fn add_group(&mut self, name: &str) -> String {
        if !self.groups.contains_key(name) {
            self.groups.insert(name.to_string(), Group::default());
        }
        name.to_string()
    }

    /// Adds a host if new (recording `inventory_file`/`inventory_dir` and the port, as Ansible
    /// does only on first sight), and puts it in `group`.
    pub(crate) fn add_host(&mut self, name: &str, group: Option<&str>, port: Option<u16>) {
        if !self.hosts.contains_key(name) {
            let mut h = Host::default();
            if let Some(p) = port {
                h.vars.insert("ansible_port".into(), Value::from(p));
            }
            let (file, dir) = match &self.current_source {
                Some((f, d)) => (Value::String(f.clone()), d.clone().map(Value::String).unwrap_or(Value::Null)),
                None => (Value::Null, Value::Null),
            };
            h.vars.insert("inventory_file".into(), file);
            h.vars.insert("inventory_dir".into(), dir);
            self.hosts.insert(name.to_string(), h);
        }
        if let Some(g) = group {
            let grp = self.groups.entry(g.to_string()).or_default();
            if grp.host_set.insert(name.to_string()) {
                grp.hosts.push(name.to_string());
            }
        }
    }

    /// Sets a group variable (`ansible_group_priority` sets the priority, as in Ansible).
    pub(crate) fn set_group_var(&mut self, group: &str, key: &str, value: Value) -> std::result::Result<(), String> {
        let g = self.groups.entry(group.to_string()).or_default();
        if key == "ansible_group_priority" {
            let p = match &value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                Value::Bool(b) => Some(*b as i64),
                _ => None,
            };
            g.priority = p.ok_or_else(|| format!("ansible_group_priority must be an integer, got {value}"))?;
        } else {
            crate::vars::set_var(&mut g.vars, key, value);
        }
        Ok(())
    }

    /// Sets a host variable.
    pub(crate) fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        if let Some(h) = self.hosts.get_mut(host) {
            crate::vars::set_var(&mut h.vars, key, value);
        }
    }

    /// Whether a group exists.
    pub(crate) fn has_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }

    /// Makes `child` a child group of `parent`; refuses loops like Ansible.
    pub(crate) fn add_child(&mut self, parent: &str, child: &str) -> std::result::Result<(), String> {
        if parent == child {
            return Err(format!("can't add group '{child}' to itself"));
        }
        if self.groups.get(parent).is_some_and(|g| g.children.iter().any(|c| c == child)) {
            return Ok(());
        }
        if self.is_descendant(child, parent) {
            return Err(format!("Adding group '{child}' as child to '{parent}' creates a recursive dependency loop."));
        }
        self.add_group(parent);
        self.add_group(child);
        if let Some(p) = self.groups.get_mut(parent) {
            p.children.push(child.to_string());
        }
        if let Some(c) = self.groups.get_mut(child) {
            if !c.parents.iter().any(|p| p == parent) {
                c.parents.push(parent.to_string());
            }
        }
        Ok(())
    }

    /// Whether `target` is `from` or one of its descendants.
    fn is_descendant(&self, from: &str, target: &str) -> bool {
        let mut stack = vec![from.to_string()];
        let mut seen = HashSet::new();
        while let Some(g) = stack.pop() {
            if g == target {
                return true;
            }
            if seen.insert(g.clone()) {
                if let Some(grp) = self.groups.get(&g) {
                    stack.extend(grp.children.iter().cloned());
                }
            }
        }
        false
    }

    pub(crate) fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }

    pub(crate) fn set_current_source(&mut self, file: String, dir: Option<String>) {
        self.current_source = Some((file, dir));
    }

    // ----- finishing ---------------------------------------------------------------------

    /// Ansible's `reconcile_inventory`, then group depths, host orders, vars dirs and merged vars.
    fn finish(&mut self) -> Result<()> {
        self.reconcile();
        self.compute_group_hosts();
        let groups: Vec<String> = self.groups.keys().cloned().collect();
        let hosts = self.host_and_local_names();
        for d in &mut self.inventory_dirs {
            d.load(groups.iter(), hosts.clone())?;
        }
        self.compute_merged();
        Ok(())
    }

    fn host_and_local_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.hosts.keys().cloned().collect();
        for l in LOCALHOST_NAMES {
            if !self.hosts.contains_key(l) {
                v.push(l.to_string());
            }
        }
        v
    }

    fn reconcile(&mut self) {
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for g in &names {
            if g != "all" && self.groups.get(g).is_some_and(|x| x.parents.is_empty()) {
                let _ = self.add_child("all", g);
            }
        }
        // depth: longest path from `all`
        let mut depth: HashMap<String, usize> = HashMap::new();
        for g in &names {
            let d = self.depth_of(g, &mut depth, 0);
            if let Some(grp) = self.groups.get_mut(g) {
                grp.depth = d;
            }
        }
        let host_names: Vec<String> = self.hosts.keys().cloned().collect();
        let mut direct = self.direct_groups();
        for h in &host_names {
            let groups = self.groups_of(direct.get(h).map(Vec::as_slice).unwrap_or(&[]));
            let in_ungrouped = groups.iter().any(|g| g == "ungrouped");
            if in_ungrouped {
                if groups.iter().any(|g| g != "all" && g != "ungrouped") {
                    if let Some(u) = self.groups.get_mut("ungrouped") {
                        u.hosts.retain(|x| x != h);
                        u.host_set.remove(h);
                    }
                }
            } else if groups.is_empty() || groups.iter().all(|g| g == "all") {
                if let Some(u) = self.groups.get_mut("ungrouped") {
                    u.hosts.push(h.clone());
                    u.host_set.insert(h.clone());
                }
            }
        }
        direct = self.direct_groups();
        for h in &host_names {
            let groups = self.groups_of(direct.get(h).map(Vec::as_slice).unwrap_or(&[]));
            if let Some(host) = self.hosts.get_mut(h) {
                host.groups = groups;
            }
        }
        for h in &host_names {
            if self.groups.contains_key(h) {
                self.warnings.push(format!("Found both group and host with same name: {h}"));
            }
        }
    }

    fn depth_of(&self, g: &str, memo: &mut HashMap<String, usize>, guard: usize) -> usize {
        if let Some(d) = memo.get(g) {
            return *d;
        }
        let parents = self.groups.get(g).map(|x| x.parents.clone()).unwrap_or_default();
        let d = if guard > self.groups.len() {
            0
        } else {
            parents.iter().map(|p| self.depth_of(p, memo, guard + 1) + 1).max().unwrap_or(0)
        };
        memo.insert(g.to_string(), d);
        d
    }

    /// Each host's direct groups, in group order.
    fn direct_groups(&self) -> HashMap<String, Vec<String>> {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (name, g) in &self.groups {
            for h in &g.hosts {
                m.entry(h.clone()).or_default().push(name.clone());
            }
        }
        m
    }

    /// Direct groups plus their ancestors.
    fn groups_of(&self, direct: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in direct {
            {
                let mut stack = vec![name.clone()];
                while let Some(x) = stack.pop() {
                    if out.contains(&x) {
                        continue;
                    }
                    if let Some(grp) = self.groups.get(&x) {
                        stack.extend(grp.parents.iter().cloned());
                    }
                    out.push(x);
                }
            }
        }
        out
    }

    /// Hosts of each group, the group's own first, then its descendants level by level (Ansible's
    /// `Group.get_hosts`), without duplicates.
    fn compute_group_hosts(&mut self) {
        let mut all = HashMap::new();
        for name in self.groups.keys() {
            let mut order: Vec<&str> = vec![name.as_str()];
            let mut seen_groups: HashSet<&str> = HashSet::from([name.as_str()]);
            let mut level: Vec<&str> = vec![name.as_str()];
            while !level.is_empty() {
                let mut next = Vec::new();
                for g in level {
                    for c in self.groups.get(g).map(|x| x.children.as_slice()).unwrap_or(&[]) {
                        if seen_groups.insert(c.as_str()) {
                            order.push(c.as_str());
                            next.push(c.as_str());
                        }
                    }
                }
                level = next;
            }
            let mut seen = HashSet::new();
            let mut hosts = Vec::new();
            for g in order {
                for h in self.groups.get(g).map(|x| x.hosts.as_slice()).unwrap_or(&[]) {
                    if seen.insert(h.as_str()) {
                        hosts.push(h.clone());
                    }
                }
            }
            all.insert(name.clone(), hosts);
        }
        self.group_hosts = all;
    }

    /// The hosts of a group including its descendants' (empty for an unknown group).
    pub(crate) fn hosts_of_group(&self, group: &str) -> &[String] {
        self.group_hosts.get(group).map(Vec::as_slice).unwrap_or(&[])
    }

    fn compute_merged(&mut self) {
        let mut merged = HashMap::new();
        for name in self.hosts.keys() {
            merged.insert(name.clone(), self.merge_for(name));
        }
        self.merged = merged;
    }

    /// Ansible's VariableManager order for inventory variables (default `VARIABLE_PRECEDENCE`):
    /// all's vars, other groups' vars by (depth, priority, name), inventory group_vars/all,
    /// playbook group_vars/all, inventory group_vars/<g>, playbook group_vars/<g>, the host's own
    /// vars, inventory host_vars/<h>, playbook host_vars/<h>. Each layer replaces whole keys.
    fn merge_for(&self, host: &str) -> Map<String, Value> {
        let empty = Host::default();
        let h = self.hosts.get(host).unwrap_or(&empty);
        let mut sorted: Vec<(&String, &Group)> =
            h.groups.iter().filter(|g| *g != "all").filter_map(|g| self.groups.get_key_value(g)).collect();
        sorted.sort_by(|a, b| (a.1.depth, a.1.priority, a.0).cmp(&(b.1.depth, b.1.priority, b.0)));
        let mut out = Map::new();
        let mut put = |m: &Map<String, Value>| crate::vars::merge(&mut out, m);
        if let Some(all) = self.groups.get("all") {
            put(&all.vars);
        }
        for (_, g) in &sorted {
            put(&g.vars);
        }
        for dirs in [&self.inventory_dirs, &self.playbook_dirs] {
            for d in dirs {
                if let Some(m) = d.group("all") {
                    put(m);
                }
            }
        }
        for dirs in [&self.inventory_dirs, &self.playbook_dirs] {
            for d in dirs {
                for (name, _) in &sorted {
                    if let Some(m) = d.group(name) {
                        put(m);
                    }
                }
            }
        }
        put(&h.vars);
        for dirs in [&self.inventory_dirs, &self.playbook_dirs] {
            for d in dirs {
                if let Some(m) = d.host(host) {
                    put(m);
                }
            }
        }
        out
    }

    fn implicit_localhost_vars(&self, name: &str) -> Map<String, Value> {
        let mut m = self.merge_for(name);
        // Ansible's implicit localhost carries ansible_connection=local and
        // ansible_python_interpreter (the controller's Python) as host variables: above every
        // group var, below host_vars/ files.
        let from_host_files = |key: &str| {
            self.inventory_dirs
                .iter()
                .chain(&self.playbook_dirs)
                .any(|d| d.host(name).is_some_and(|hv| hv.contains_key(key)))
        };
        if !from_host_files("ansible_connection") {
            m.insert("ansible_connection".into(), Value::String("local".into()));
        }
        if let Some(python) = controller_python().filter(|_| !from_host_files("ansible_python_interpreter")) {
            m.insert("ansible_python_interpreter".into(), Value::String(python.into()));
        }
        m
    }
}
