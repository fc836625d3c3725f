//! `apt`: Debian packages, as Ansible's apt module manages them, without python-apt on the host.
//!
//! Round trips: one for the cache decision (and `apt-get update` when it is due), ONE query for
//! every named package (`dpkg-query` + `apt-mark showauto` + `apt-cache policy`), then one
//! `apt-get` with exactly the packages that differ. Check mode runs that apt-get with `--simulate`
//! (as Ansible does) and changes nothing. The apt-get command lines, messages, changed decisions and
//! return keys (`cache_updated`, `cache_update_time`, `stdout`, `stderr`) follow Ansible's module.
//! Diff mode returns the package sets before/after (`name version` lines) read from apt's output.

use serde::Deserialize;

use crate::builtin::apt_query::{self, PkgSpec};
use std::cell::{Cell, RefCell};

use serde_json::{Map, Value};

use crate::contract::{
    ArgError, Decision, FileDiff, Housekeeping, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule,
};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `apt` arguments (Ansible's names and aliases).
#[derive(Debug, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct AptArgs {
    /// Package specs: `name`, `name=1.2*`, `name>=1.2`; `*` with state=latest upgrades everything.
    #[serde(default, alias = "package", alias = "pkg", deserialize_with = "crate::args::opt_list")]
    pub name: Option<Vec<String>>,
    /// present, absent, latest, build-dep or fixed.
    #[serde(default = "present", deserialize_with = "crate::args::string")]
    pub state: String,
    /// Run `apt-get update` first (subject to cache_valid_time).
    #[serde(default, alias = "update-cache", deserialize_with = "crate::args::opt_bool")]
    pub update_cache: Option<bool>,
    /// How many times to try `apt-get update`.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub update_cache_retries: Option<u64>,
    /// Upper bound of the delay between update attempts, in seconds.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub update_cache_retry_max_delay: Option<u64>,
    /// Update only when the cache is older than this many seconds.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub cache_valid_time: Option<u64>,
    /// Purge configuration files on removal.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub purge: bool,
    /// A .deb file on the host (or an http(s) URL, downloaded on the host) to install.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub deb: Option<String>,
    /// `-t` release for apt-get.
    #[serde(default, alias = "default-release", deserialize_with = "crate::args::opt_string")]
    pub default_release: Option<String>,
    /// Install recommended packages (unset: the OS default).
    #[serde(default, alias = "install-recommends", deserialize_with = "crate::args::opt_bool")]
    pub install_recommends: Option<bool>,
    /// `--force-yes` (deprecated in apt, kept for compatibility).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// dist, full, no, safe or yes.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub upgrade: Option<String>,
    /// dpkg options, comma separated, each given as `-o Dpkg::Options::=--OPT`.
    #[serde(default = "dpkg_default", deserialize_with = "crate::args::string")]
    pub dpkg_options: String,
    /// Remove unused dependencies.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub autoremove: bool,
    /// Remove obsolete downloaded packages from the cache.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub autoclean: bool,
    /// `--no-remove`: fail instead of removing packages.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub fail_on_autoremove: bool,
    /// Exit code for a temporary /usr/sbin/policy-rc.d during package operations.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub policy_rc_d: Option<u64>,
    /// Only upgrade packages already installed.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub only_upgrade: bool,
    /// Use apt-get rather than aptitude (orc always uses apt-get).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub force_apt_get: bool,
    /// `apt-get clean` first.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub clean: bool,
    /// `--allow-unauthenticated`.
    #[serde(default, alias = "allow-unauthenticated", deserialize_with = "crate::args::bool")]
    pub allow_unauthenticated: bool,
    /// `--allow-downgrades`.
    #[serde(
        default,
        alias = "allow-downgrade",
        alias = "allow_downgrades",
        alias = "allow-downgrades",
        deserialize_with = "crate::args::bool"
    )]
    pub allow_downgrade: bool,
    /// `--allow-change-held-packages`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub allow_change_held_packages: bool,
    /// Seconds to wait for the dpkg lock.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub lock_timeout: Option<u64>,
    /// Accepted for compatibility: orc needs no Python bindings on the host.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub auto_install_module_deps: Option<bool>,
}

fn present() -> String {
    "present".into()
}
fn dpkg_default() -> String {
    DPKG_OPTIONS.into()
}

/// Ansible's default dpkg options.
pub const DPKG_OPTIONS: &str = "force-confdef,force-confold";
const APT_GET: &str = "/usr/bin/apt-get";
const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";
const STATES: &[&str] = &["absent", "build-dep", "fixed", "latest", "present"];
const UPGRADES: &[&str] = &["dist", "full", "no", "safe", "yes"];
/// The environment Ansible sets for every apt command.
const ENV: &str = "DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical LANG=C.UTF-8 LC_ALL=C.UTF-8 LC_MESSAGES=C.UTF-8 LC_CTYPE=C.UTF-8 LANGUAGE=C.UTF-8";

/// The `apt` module.
pub struct Apt;

impl TypedModule for Apt {
    type Args = AptArgs;
    const NAME: &'static str = "apt";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Installs, upgrades or removes Debian packages with apt-get, refreshes the package lists and installs \
                .deb files.",
        notes: "No python-apt is needed on the host. One command decides on the cache (and runs `apt-get update` when \
                it is due), one query reads every named package (dpkg-query, apt-mark, apt-cache policy), then one \
                apt-get runs for exactly the packages that differ, with DEBIAN_FRONTEND=noninteractive and \
                `dpkg_options`. Versions are given as `name=1.2*` (a glob) or `name>=1.2`; package name patterns \
                (`python3-*`) are refused, and `*` with `state: latest` upgrades everything. aptitude is never used. \
                Check mode runs apt-get with --simulate; when the lists would be refreshed first, a package they do \
                not know yet is reported as one that would be installed, with a warning, instead of failing. Diff \
                shows the package set before and after.",
        returns: &[
            ("cache_updated", "Whether the package lists were refreshed."),
            ("cache_update_time", "When the lists were last refreshed (epoch seconds)."),
            ("stdout, stderr", "What apt-get printed."),
            ("rc", "On failure: apt-get's exit status."),
            ("would_install_unlisted", "In check mode: packages the current lists do not know yet."),
            ("diff", "With --diff: the packages (name and version) before and after."),
        ],
        example: "- name: Install nginx\n  \
                  ansible.builtin.apt:\n    \
                  name: [nginx, ssl-cert]\n    \
                  update_cache: true\n    \
                  cache_valid_time: 3600\n",
    };

    fn check_args(a: &AptArgs) -> Result<(), ArgError> {
        let err = |msg: String| Err(ArgError { msg });
        if !STATES.contains(&a.state.as_str()) {
            return err(format!("value of state must be one of: {}, got: {}", STATES.join(", "), a.state));
        }
        if let Some(u) = &a.upgrade {
            if !UPGRADES.contains(&u.as_str()) {
                return err(format!("value of upgrade must be one of: {}, got: {u}", UPGRADES.join(", ")));
            }
        }
        let given: Vec<&str> =
            [("deb", a.deb.is_some()), ("package", a.name.is_some()), ("upgrade", a.upgrade.is_some())]
                .iter()
                .filter(|(_, g)| *g)
                .map(|(n, _)| *n)
                .collect();
        if given.len() > 1 {
            return err(format!("parameters are mutually exclusive: {}", given.join("|")));
        }
        if !a.autoremove && given.is_empty() && a.update_cache.is_none() {
            return err("one of the following is required: autoremove, deb, package, update_cache, upgrade".into());
        }
        for spec in a.name.iter().flatten() {
            if let Some(c) = spec.chars().find(|c| !(c.is_ascii_alphanumeric() || ".+-~:_=<>*?[]!".contains(*c))) {
                return err(format!(
                    "invalid package spec: {spec} (the character {c:?} cannot appear in a package name or version)"
                ));
            }
            if spec.matches('=').count() > 1 {
                return err(format!("invalid package spec: {spec}"));
            }
            let name = PkgSpec::parse(spec).name;
            if name != "*" && name.contains(['*', '?', '[', ']', '!']) {
                return err(format!(
                    "package name patterns such as '{name}' are not supported by orc; name the packages"
                ));
            }
        }
        if a.dpkg_options.chars().any(|c| !(c.is_ascii_alphanumeric() || ",-_=".contains(c))) {
            return err(format!("invalid dpkg_options: {}", a.dpkg_options));
        }
        Ok(())
    }

    /// Check mode's path: the cache decision without `apt-get update`, one query of the named
    /// packages, and apt-get with `--simulate`; `apt-get clean` is not run.
    fn decide(&self, a: &AptArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let run = AptRun::new(a, true);
        let result = run.go(ctx)?;
        let action = Housekeeping::when(run.housekeeping.get(), AptAction);
        Ok(Decision { result, observed: run.observed.into_inner(), action })
    }

    /// The real run: the cache is refreshed when due, the packages are read again (a refresh can
    /// change the candidates) and apt-get runs for those that differ.
    fn apply(&self, a: AptArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, AptAction) = decision.take_action::<AptAction>(Self::NAME)?;
        AptRun::new(&a, false).go(ctx)
    }
}

/// What apt decided: to run. Which packages apt-get gets is read again after the cache step,
/// which may refresh the lists the decision was read from.
struct AptAction;

/// `-o "Dpkg::Options::=--X"` for each option, as Ansible's `expand_dpkg_options`, plus the lock timeout.
pub fn expand_dpkg_options(opts: &str, lock_timeout: u64) -> String {
    let o: Vec<String> = opts.split(',').map(|o| format!("-o \"Dpkg::Options::=--{o}\"")).collect();
    format!("{} -o DPkg::Lock::Timeout={lock_timeout}", o.join(" "))
}

fn flag(on: bool, s: &str) -> &str {
    if on {
        s
    } else {
        ""
    }
}

struct AptRun<'a> {
    a: &'a AptArgs,
    dpkg: String,
    /// Check mode's path (deciding): nothing on the host changes.
    check: bool,
    /// What the decision compared: each named package's installed version (or "absent"), with
    /// `latest` its candidate, the packages an upgrade or cleanup would touch, a .deb's package
    /// and version.
    observed: RefCell<Map<String, Value>>,
    /// A real run would act although nothing is reported as changed: `apt-get clean`, the lists
    /// refreshed when due, a named package marked as manually installed.
    housekeeping: Cell<bool>,
}

/// The cache step's outcome.
struct Cache {
    updated: bool,
    time: i64,
}

impl<'a> AptRun<'a> {
    fn new(a: &'a AptArgs, check: bool) -> Self {
        let dpkg = expand_dpkg_options(&a.dpkg_options, a.lock_timeout.unwrap_or(60));
        AptRun { a, dpkg, check, observed: RefCell::new(Map::new()), housekeeping: Cell::new(false) }
    }

    fn observe(&self, key: &str, value: impl Into<Value>) {
        self.observed.borrow_mut().insert(key.into(), value.into());
    }

    /// Records the packages apt-get's output says would change, with their versions before.
    fn observe_changes(&self, stdout: &str) {
        let touched: Map<String, Value> = apt_query::changes(stdout)
            .into_iter()
            .map(|c| (c.name, c.before.map_or_else(|| Value::from("absent"), Value::from)))
            .collect();
        self.observe("packages", touched);
    }

    fn go(&self, ctx: &mut ModuleCtx) -> RunResult {
        let a = self.a;
        if a.clean && self.check {
            self.housekeeping.set(true);
            // `apt-get clean` empties the download cache: deciding only says it would run.
            if a.name.is_none() && a.upgrade.as_deref().unwrap_or("no") == "no" && a.deb.is_none() {
                return Ok(ModuleResult::changed(true));
            }
        } else if a.clean {
            let out = self.sh(ctx, &format!("{APT_GET} clean"))?;
            if out.rc != 0 {
                return Err(fail(format!("apt-get clean failed: {}", out.stderr_str()), &out));
            }
            if a.name.is_none() && a.upgrade.as_deref().unwrap_or("no") == "no" && a.deb.is_none() {
                let s = out.stdout_str();
                return Ok(ModuleResult::changed(true)
                    .with_msg(s.clone())
                    .with("stdout", s)
                    .with("stderr", out.stderr_str()));
            }
        }
        let cache = self.cache(ctx)?;
        let upgrade = a.upgrade.as_deref().filter(|u| *u != "no");
        if (a.update_cache == Some(true) || a.cache_valid_time.unwrap_or(0) > 0)
            && a.name.is_none()
            && upgrade.is_none()
            && a.deb.is_none()
        {
            return Ok(ModuleResult::changed(cache.updated)
                .with("cache_updated", cache.updated)
                .with("cache_update_time", cache.time));
        }
        if let Some(mode) = upgrade {
            return self.upgrade(ctx, mode);
        }
        if let Some(deb) = &a.deb {
            if a.state != "present" {
                return Err(ModuleError::msg("deb only supports state=present"));
            }
            return self.install_deb(ctx, deb);
        }
        let all: Vec<String> = a.name.clone().unwrap_or_default();
        let specs: Vec<String> = all.iter().filter(|p| *p != "*").map(|p| p.trim().to_string()).collect();
        if a.state == "latest" && all.iter().any(|p| p == "*") {
            if !specs.is_empty() {
                return Err(ModuleError::msg(
                    "unable to install additional packages when upgrading all installed packages",
                ));
            }
            return self.upgrade(ctx, "yes");
        }
        if specs.is_empty() && (a.autoclean || a.autoremove) {
            return self.cleanup(ctx, if a.autoclean { "autoclean" } else { "autoremove" });
        }
        if a.state == "absent" {
            return self.remove(ctx, &specs);
        }
        // Check mode does not refresh the package lists it would refresh, and on a fresh host an
        // earlier task's refresh did not happen either: packages the lists would bring are not
        // known yet.
        let stale_lists = self.check && (cache.updated || cache.time == 0);
        let res = self.install(ctx, &specs, stale_lists);
        let add = |r: ModuleResult| r.with("cache_updated", cache.updated).with("cache_update_time", cache.time);
        match res {
            Ok(r) => Ok(add(r)),
            Err(ModuleError::Fail(r)) => Err(ModuleError::Fail(Box::new(add(*r)))),
            Err(e) => Err(e),
        }
    }

    /// Runs a command with Ansible's apt environment, inside the policy-rc.d guard when asked.
    fn sh(&self, ctx: &mut ModuleCtx, cmd: &str) -> Result<crate::connection::CmdOutput, ModuleError> {
        let script = match self.a.policy_rc_d {
            None => format!("{ENV} {cmd}"),
            Some(code) => format!(
                "p=/usr/sbin/policy-rc.d; b=''; if [ -e $p ]; then b=$(mktemp -d) && mv $p \"$b/\"; fi\nprintf '#!/bin/sh\\nexit %d\\n' {code} > $p && chmod 0755 $p\n{ENV} {cmd}\nrc=$?\nrm -f $p; if [ -n \"$b\" ]; then mv \"$b/policy-rc.d\" $p; rmdir \"$b\"; fi\nexit $rc"
            ),
        };
        Ok(ctx.conn.exec(&script, None)?)
    }

    /// Updates the cache when asked and due, and reports the cache time as Ansible does.
    fn cache(&self, ctx: &mut ModuleCtx) -> Result<Cache, ModuleError> {
        const MTIME: &str = "if [ -e /var/lib/apt/periodic/update-success-stamp ]; then stat -c %Y /var/lib/apt/periodic/update-success-stamp; elif [ -e /var/lib/apt/lists ]; then stat -c %Y /var/lib/apt/lists; else echo 0; fi";
        let out = ctx.conn.exec(&format!("{MTIME}; date +%s"), None)?;
        let nums: Vec<i64> = out.stdout_str().split_whitespace().filter_map(|s| s.parse().ok()).collect();
        let (mtime, now) = (nums.first().copied().unwrap_or(0), nums.get(1).copied().unwrap_or(0));
        let valid = self.a.cache_valid_time.unwrap_or(0) as i64;
        if !(self.a.update_cache == Some(true) || valid > 0) || mtime + valid >= now {
            return Ok(Cache { updated: false, time: mtime });
        }
        if self.check {
            self.housekeeping.set(true);
            return Ok(Cache { updated: true, time: mtime });
        }
        let retries = self.a.update_cache_retries.unwrap_or(5).max(1);
        let max_delay = self.a.update_cache_retry_max_delay.unwrap_or(12);
        let mut last = String::new();
        for attempt in 0..retries {
            let out = self.sh(ctx, &format!("{APT_GET} update -q; rc=$?; echo \"@@MTIME $({MTIME})\"; exit $rc"))?;
            let text = out.stdout_str();
            if out.rc == 0 {
                let after = text
                    .lines()
                    .rev()
                    .find_map(|l| l.strip_prefix("@@MTIME "))
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(mtime);
                return Ok(Cache { updated: after != mtime, time: after });
            }
            last = out.stderr_str().trim().to_string();
            if attempt + 1 < retries {
                let delay = (1u64 << attempt.min(10)).min(max_delay);
                std::thread::sleep(std::time::Duration::from_millis(delay * 1000 + fastrand::u64(..1000)));
            }
        }
        let reason = if last.is_empty() { "unknown reason".to_string() } else { last };
        Err(ModuleError::msg(format!("Failed to update apt cache after {retries} retries: {reason}")))
    }

    fn query(&self, ctx: &mut ModuleCtx, specs: &[PkgSpec]) -> Result<apt_query::States, ModuleError> {
        let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        let out = ctx.conn.exec(&apt_query::query_script(&names), None)?;
        if !out.stdout_str().contains("@@END") {
            return Err(ModuleError::msg(format!("could not query packages: {}", out.stderr_str().trim())));
        }
        let states = apt_query::parse_query(&out.stdout_str(), &names);
        let mut versions = match self.observed.borrow_mut().remove("installed") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for name in &names {
            let st = states.get(name);
            let v = match st {
                Some(s) if s.installed() => s.version.clone().unwrap_or_default(),
                // Removed with its configuration files kept: `purge` would still act.
                Some(s) if s.has_files() => "config-files".into(),
                _ => "absent".into(),
            };
            versions.insert(name.clone(), v.into());
        }
        self.observe("installed", versions);
        if self.a.state == "latest" {
            // `latest` also compares with the candidate the lists offer.
            let candidates: Map<String, Value> = names
                .iter()
                .map(|n| (n.clone(), states.get(n).and_then(|s| s.candidate.clone()).map_or(Value::Null, Value::from)))
                .collect();
            self.observe("candidates", candidates);
        }
        Ok(states)
    }

    /// Installs (or upgrades) `specs`. With `stale_lists` (check mode, where the lists would
    /// have been refreshed first), a package the current lists lack is reported as one that
    /// would be installed, with a warning, instead of failing as Ansible's check mode does: the
    /// real run, which refreshes the lists, would find it (docs/differences.md).
    fn install(&self, ctx: &mut ModuleCtx, specs: &[String], stale_lists: bool) -> RunResult {
        let a = self.a;
        let build_dep = a.state == "build-dep";
        let upgrade = a.state == "latest";
        let parsed: Vec<PkgSpec> = specs.iter().map(|s| PkgSpec::parse(s)).collect();
        let states = if build_dep { Default::default() } else { self.query(ctx, &parsed)? };
        let mut list = vec![];
        let mut all_virtual = !parsed.is_empty();
        let mut auto = vec![];
        let mut unknown: Vec<String> = vec![];
        for (spec, raw) in parsed.iter().zip(specs) {
            if build_dep {
                list.push(format!("'{raw}'"));
                continue;
            }
            let st = states.get(&spec.name).cloned().unwrap_or_default();
            if !st.known && st.status.is_none() {
                if stale_lists {
                    unknown.push(spec.name.clone());
                    continue;
                }
                return Err(ModuleError::msg(format!("No package matching '{}' is available", spec.name)));
            }
            if st.auto && st.installed() {
                auto.push(spec.name.clone());
            }
            if st.is_virtual() && !st.installed() && !stale_lists {
                list.push(match &spec.version {
                    Some(v) => format!("'{}={v}'", spec.name),
                    None => format!("'{}'", spec.name),
                });
                continue;
            }
            all_virtual = false;
            let s = apt_query::status(spec, &st);
            if stale_lists && !s.installed && s.installable.is_none() {
                unknown.push(spec.name.clone());
                continue;
            }
            if !s.installed && a.only_upgrade {
                continue;
            }
            if !s.version_ok && s.installable.is_none() {
                return Err(ModuleError::msg(format!("no available installation candidate for {raw}")));
            }
            match &s.installable {
                Some(v) if (!s.installed && !a.only_upgrade) || upgrade || !s.version_ok => {
                    list.push(format!("'{}={v}'", spec.name))
                }
                Some(_) if s.version_ok && spec.cmp.as_deref() == Some("=") => {
                    list.push(format!("'{}={}'", spec.name, spec.version.as_deref().unwrap_or("")))
                }
                _ => {}
            }
        }
        if !build_dep && !auto.is_empty() {
            self.housekeeping.set(true);
        }
        let mark = if self.check || build_dep || auto.is_empty() {
            String::new()
        } else {
            let q: Vec<String> = auto.iter().map(|n| quote(n)).collect();
            format!("apt-mark manual {} >/dev/null", q.join(" "))
        };
        if !unknown.is_empty() {
            let warning = format!(
                "check mode: the package lists would be refreshed first, so whether {} can be installed is not \
                 known yet; reported as would be installed",
                unknown.join(", ")
            );
            // What apt can tell already, for the packages the current lists know.
            let known: Vec<String> =
                specs.iter().filter(|s| !unknown.contains(&PkgSpec::parse(s).name)).cloned().collect();
            let mut r = if known.is_empty() { ModuleResult::changed(true) } else { self.install(ctx, &known, false)? };
            r.changed = true;
            return Ok(r.with("warnings", serde_json::json!([warning])).with("would_install_unlisted", unknown));
        }
        if list.is_empty() {
            if !mark.is_empty() {
                let out = self.sh(ctx, &mark)?;
                if out.rc != 0 {
                    return Err(fail(format!("'{mark}' failed: {}", out.stderr_str()), &out));
                }
            }
            return Ok(ModuleResult::changed(false));
        }
        let packages = list.join(" ");
        let mut cmd = if build_dep {
            format!(
                "{APT_GET} -y {} {} {} {} {} {} build-dep {packages}",
                self.dpkg,
                flag(a.only_upgrade, "--only-upgrade"),
                flag(a.state == "fixed", "--fix-broken"),
                flag(a.force, "--force-yes"),
                flag(a.fail_on_autoremove, "--no-remove"),
                flag(self.check, "--simulate"),
            )
        } else {
            format!(
                "{APT_GET} -y {} {} {} {} {} {} {} install {packages}",
                self.dpkg,
                flag(a.only_upgrade, "--only-upgrade"),
                flag(a.state == "fixed", "--fix-broken"),
                flag(a.force, "--force-yes"),
                flag(a.autoremove, "--auto-remove"),
                flag(a.fail_on_autoremove, "--no-remove"),
                flag(self.check, "--simulate"),
            )
        };
        self.common_tail(&mut cmd);
        let script = if mark.is_empty() { cmd.clone() } else { format!("{cmd} && {{ {mark}; }}") };
        let out = self.sh(ctx, &script)?;
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        if out.rc != 0 {
            return Err(fail(format!("'{cmd}' failed: {stderr}"), &out));
        }
        if build_dep || all_virtual {
            self.observe_changes(&stdout);
        }
        let changed = if build_dep || all_virtual { !stdout.contains(APT_GET_ZERO) } else { true };
        Ok(self.with_diff(ModuleResult::changed(changed), ctx, &stdout).with("stdout", stdout).with("stderr", stderr))
    }

    fn common_tail(&self, cmd: &mut String) {
        let a = self.a;
        if let Some(r) = &a.default_release {
            cmd.push_str(&format!(" -t {}", quote(r)));
        }
        match a.install_recommends {
            Some(false) => cmd.push_str(" -o APT::Install-Recommends=no"),
            Some(true) => cmd.push_str(" -o APT::Install-Recommends=yes"),
            None => {}
        }
        if a.allow_unauthenticated {
            cmd.push_str(" --allow-unauthenticated");
        }
        if a.allow_downgrade {
            cmd.push_str(" --allow-downgrades");
        }
        if a.allow_change_held_packages {
            cmd.push_str(" --allow-change-held-packages");
        }
    }

    fn with_diff(&self, r: ModuleResult, ctx: &ModuleCtx, stdout: &str) -> ModuleResult {
        if !ctx.diff {
            return r;
        }
        let (before, after) = apt_query::package_sets(&apt_query::changes(stdout));
        if before == after {
            return r;
        }
        r.with_diff(FileDiff { before_header: "packages".into(), after_header: "packages".into(), before, after })
    }

    fn remove(&self, ctx: &mut ModuleCtx, specs: &[String]) -> RunResult {
        let a = self.a;
        let parsed: Vec<PkgSpec> = specs.iter().map(|s| PkgSpec::parse(s)).collect();
        let states = self.query(ctx, &parsed)?;
        let mut list = vec![];
        for (spec, raw) in parsed.iter().zip(specs) {
            let st = states.get(&spec.name).cloned().unwrap_or_default();
            let s = apt_query::status(spec, &st);
            if (s.installed && s.version_ok) || (st.has_files() && a.purge) {
                list.push(format!("'{raw}'"));
            }
        }
        if list.is_empty() {
            return Ok(ModuleResult::changed(false));
        }
        let packages = list.join(" ");
        let cmd = format!(
            "{APT_GET} -q -y {} {} {} {} {} {} remove {packages}",
            self.dpkg,
            flag(a.purge, "--purge"),
            flag(a.force, "--force-yes"),
            flag(a.autoremove, "--auto-remove"),
            flag(self.check, "--simulate"),
            flag(a.allow_change_held_packages, "--allow-change-held-packages"),
        );
        let out = self.sh(ctx, &cmd)?;
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        if out.rc != 0 {
            return Err(fail(format!("'apt-get remove {packages}' failed: {stderr}"), &out));
        }
        Ok(self.with_diff(ModuleResult::changed(true), ctx, &stdout).with("stdout", stdout).with("stderr", stderr))
    }

    fn cleanup(&self, ctx: &mut ModuleCtx, op: &str) -> RunResult {
        let a = self.a;
        let cmd = format!(
            "{APT_GET} -y {} {} {} {op} {}",
            self.dpkg,
            flag(a.purge, "--purge"),
            flag(a.force, "--force-yes"),
            flag(self.check, "--simulate")
        );
        let out = self.sh(ctx, &cmd)?;
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        if out.rc != 0 {
            return Err(fail(format!("'apt-get {op}' failed: {stderr}"), &out));
        }
        let marker = if op == "autoremove" { "The following packages will be REMOVED" } else { "Del " };
        self.observe_changes(&stdout);
        let changed = stdout.contains(marker);
        Ok(self.with_diff(ModuleResult::changed(changed), ctx, &stdout).with("stdout", stdout).with("stderr", stderr))
    }

    fn upgrade(&self, ctx: &mut ModuleCtx, mode: &str) -> RunResult {
        let a = self.a;
        let command = match mode {
            "dist" | "full" => format!("dist-upgrade {}", flag(a.autoremove, "--auto-remove")),
            _ => format!("upgrade --with-new-pkgs {}", flag(a.autoremove, "--auto-remove")),
        };
        let mut cmd = format!(
            "{APT_GET} -y {} {} {} {} {} {} {command}",
            self.dpkg,
            flag(a.force, "--force-yes"),
            flag(a.fail_on_autoremove, "--no-remove"),
            flag(a.allow_unauthenticated, "--allow-unauthenticated"),
            flag(a.allow_downgrade, "--allow-downgrades"),
            flag(self.check, "--simulate"),
        );
        if let Some(r) = &a.default_release {
            cmd.push_str(&format!(" -t {}", quote(r)));
        }
        let out = self.sh(ctx, &cmd)?;
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        if out.rc != 0 {
            let mut r = ModuleResult::failed(format!("'apt-get {command}' failed: {stderr}"));
            r = r.with("stdout", stdout).with("rc", out.rc);
            return Err(ModuleError::Fail(Box::new(r)));
        }
        self.observe_changes(&stdout);
        let changed = !stdout.contains(APT_GET_ZERO);
        let r = ModuleResult::changed(changed).with_msg(stdout.clone());
        let r = if changed { self.with_diff(r, ctx, &stdout) } else { r };
        Ok(r.with("stdout", stdout).with("stderr", stderr))
    }

    fn install_deb(&self, ctx: &mut ModuleCtx, deb: &str) -> RunResult {
        let a = self.a;
        let downloaded = deb.contains("://");
        let fetch = if downloaded {
            // The download is removed when this script fails; otherwise after the install (or
            // at once when nothing is to be done), as Ansible's module temp dir is.
            format!(
                "f=$(mktemp --suffix=.deb) || exit 3\ntrap '[ $? -eq 0 ] || rm -f \"$f\"' EXIT\nif command -v curl >/dev/null 2>&1; then curl -fsSL -o \"$f\" {0} || {{ echo \"Failure downloading {0}\" >&2; exit 3; }}; else wget -q -O \"$f\" {0} || {{ echo \"Failure downloading {0}\" >&2; exit 3; }}; fi\n",
                quote(deb)
            )
        } else {
            format!("f={}\ncase $f in /*) ;; *) f=$(pwd)/$f;; esac\n", quote(deb))
        };
        let script = format!(
            "{fetch}[ -r \"$f\" ] || {{ echo \"$f does not exist\" >&2; exit 4; }}\nprintf 'FILE %s\\n' \"$f\"\np=$(dpkg-deb -f \"$f\" Package) && v=$(dpkg-deb -f \"$f\" Version) || exit 5\nprintf 'PKG %s\\nVER %s\\n' \"$p\" \"$v\"\ndpkg-query -W -f='STATUS ${{db:Status-Abbrev}}\\nINST ${{Version}}\\n' -- \"$p\" 2>/dev/null\nexit 0\n"
        );
        let out = ctx.conn.exec(&script, None)?;
        if out.rc != 0 {
            return Err(ModuleError::msg(format!("Unable to install package: {}", out.stderr_str().trim())));
        }
        let text = out.stdout_str();
        let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).map(|s| s.trim().to_string());
        let file = field("FILE ").unwrap_or_else(|| deb.to_string());
        let cleanup = if downloaded { format!("rm -f {}", quote(&file)) } else { String::new() };
        let installed = field("STATUS ").is_some_and(|s| s.as_bytes().get(1) == Some(&b'i'));
        let pkg = field("PKG ").unwrap_or_default();
        self.observe("deb_package", pkg.clone());
        self.observe("deb_version", field("VER ").unwrap_or_default());
        let mut versions = Map::new();
        versions.insert(pkg, field("INST ").filter(|_| installed).unwrap_or_else(|| "absent".into()).into());
        self.observe("installed", versions);
        if installed
            && field("INST ")
                .zip(field("VER "))
                .is_some_and(|(i, v)| apt_query::compare_versions(&i, &v) == std::cmp::Ordering::Equal)
        {
            if downloaded {
                ctx.conn.exec(&cleanup, None)?;
            }
            return Ok(ModuleResult::changed(false).with("stdout", "").with("stderr", ""));
        }
        let mut cmd = format!(
            "{APT_GET} -y {} {} {} {} install {}",
            self.dpkg,
            flag(a.force, "--force-yes"),
            flag(a.fail_on_autoremove, "--no-remove"),
            flag(self.check, "--simulate"),
            quote(&file)
        );
        self.common_tail(&mut cmd);
        // `(exit $rc)` keeps apt-get's status without leaving the script (policy-rc.d is restored after).
        let run = if downloaded { format!("{cmd}; rc=$?; {cleanup}; (exit $rc)") } else { cmd.clone() };
        let out = self.sh(ctx, &run)?;
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        if out.rc != 0 {
            return Err(fail(format!("{cmd} failed"), &out));
        }
        Ok(self.with_diff(ModuleResult::changed(true), ctx, &stdout).with("stdout", stdout).with("stderr", stderr))
    }
}

/// A failure carrying apt's stdout, stderr and rc, as Ansible's fail_json does.
fn fail(msg: String, out: &crate::connection::CmdOutput) -> ModuleError {
    ModuleError::Fail(Box::new(
        ModuleResult::failed(msg).with("stdout", out.stdout_str()).with("stderr", out.stderr_str()).with("rc", out.rc),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Module;
    use serde_json::{json, Value};

    fn validate(v: Value) -> Result<(), ArgError> {
        Apt.validate(v.as_object().unwrap())
    }

    #[test]
    fn dpkg_options_expand_like_ansible() {
        assert_eq!(
            expand_dpkg_options(DPKG_OPTIONS, 60),
            "-o \"Dpkg::Options::=--force-confdef\" -o \"Dpkg::Options::=--force-confold\" -o DPkg::Lock::Timeout=60"
        );
    }

    /// A .deb whose control file says `Package: NAME`, `Version: VERSION`, as bytes.
    fn deb(name: &str, version: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let ctl = dir.path().join("pkg/DEBIAN");
        std::fs::create_dir_all(&ctl).unwrap();
        std::fs::write(
            ctl.join("control"),
            format!("Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: orc <orc@example.org>\nDescription: test\n"),
        )
        .unwrap();
        let out = dir.path().join("p.deb");
        let st = std::process::Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(dir.path().join("pkg"))
            .arg(&out)
            .output()
            .unwrap();
        assert!(st.status.success(), "{st:?}");
        std::fs::read(out).unwrap()
    }

    #[test]
    fn a_downloaded_deb_is_removed_afterwards() {
        // Ansible downloads into the module's temporary directory, removed when the module ends.
        let dpkg = std::process::Command::new("dpkg-query").args(["-W", "-f=${Version}", "dpkg"]).output().unwrap();
        let version = String::from_utf8(dpkg.stdout).unwrap();
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let tmp = sb.path("tmp");
        std::fs::create_dir(&tmp).unwrap();
        sb.conn.env = vec![("TMPDIR".into(), tmp.clone())];
        let leftovers = || std::fs::read_dir(&tmp).unwrap().count();
        // Already installed (a .deb of this machine's own dpkg version): nothing to do.
        let (port, t) = crate::builtin::test_support::serve_http("200 OK", deb("dpkg", &version), 1);
        let r = sb.ok(&Apt, json!({"deb": format!("http://127.0.0.1:{port}/dpkg.deb")}));
        t.join().unwrap();
        assert!(!r.changed);
        assert_eq!(leftovers(), 0, "the downloaded .deb is left in TMPDIR");
        // Not a .deb: the error path cleans up too.
        let (port, t) = crate::builtin::test_support::serve_http("200 OK", b"junk".to_vec(), 1);
        assert!(sb.run(&Apt, json!({"deb": format!("http://127.0.0.1:{port}/x.deb")}), false, false).is_err());
        t.join().unwrap();
        assert_eq!(leftovers(), 0, "the downloaded .deb is left in TMPDIR after a failure");
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let installed = |p: &str| {
            let o =
                std::process::Command::new("dpkg-query").args(["-W", "-f=${db:Status-Abbrev}", p]).output().unwrap();
            String::from_utf8_lossy(&o.stdout).as_bytes().get(1) == Some(&b'i')
        };
        let mut sb = crate::builtin::test_support::Sandbox::new();
        // A .deb nobody has installed: deciding simulates the install, with check mode off.
        assert!(!installed("orc-decide-test"));
        let file = sb.path("t.deb");
        std::fs::write(&file, deb("orc-decide-test", "1.0")).unwrap();
        let args = json!({"deb": file});
        let d = sb.decide(&Apt, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("deb_package"), Some(&json!("orc-decide-test")));
        assert_eq!(d.observed.get("deb_version"), Some(&json!("1.0")));
        assert_eq!(d.observed.get("installed"), Some(&json!({"orc-decide-test": "absent"})));
        assert!(!installed("orc-decide-test"), "decide installed the package");
        assert!(!sb.conn.log.iter().any(|c| c.contains("install") && !c.contains("--simulate")));
        // A package that is installed: nothing to do, and its version is what was compared.
        let dpkg = std::process::Command::new("dpkg-query").args(["-W", "-f=${Version}", "dpkg"]).output().unwrap();
        let version = String::from_utf8(dpkg.stdout).unwrap();
        let args = json!({"name": "dpkg"});
        let d = sb.decide(&Apt, &args);
        assert!(!d.result.changed);
        assert_eq!(d.observed.get("installed"), Some(&json!({"dpkg": version})));
        assert!(!d.needs_apply());
        assert!(d.observed.get("candidates").is_none(), "only `latest` compares candidates");
        assert!(!sb.apply(&Apt, &args, d).changed);
        // Refreshing the lists is reported as no change, as in Ansible, but a real run still does it.
        let d = sb.decide(&Apt, &json!({"name": "dpkg", "update_cache": true}));
        assert!(!d.result.changed);
        assert_eq!(d.result.data.get("cache_updated"), Some(&json!(true)));
        assert!(d.needs_apply(), "the lists refresh would be skipped");
        assert!(!sb.conn.log.iter().any(|c| c.contains(" update ")), "decide refreshed the lists");
    }

    #[test]
    fn argument_errors_before_running() {
        assert!(validate(json!({"name": "tree", "state": "installed"}))
            .unwrap_err()
            .msg
            .contains("state must be one of"));
        assert!(validate(json!({"name": "tree", "deb": "/x.deb"})).unwrap_err().msg.contains("mutually exclusive"));
        assert!(validate(json!({"state": "present"})).unwrap_err().msg.contains("one of the following is required"));
        assert!(validate(json!({"name": "a=1=2"})).unwrap_err().msg.contains("invalid package spec"));
        assert!(validate(json!({"name": "x'; rm -rf /"})).is_err());
        assert!(validate(json!({"name": "tree", "bogus": 1})).unwrap_err().msg.contains("unsupported argument"));
        assert!(
            validate(json!({"pkg": ["tree", "jq=1.6*"], "update-cache": "yes", "cache_valid_time": "3600"})).is_ok()
        );
        assert!(validate(json!({"update_cache": true})).is_ok());
    }
}
