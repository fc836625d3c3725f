//! `dnf` and `yum`: RPM packages through the dnf (or yum) command line, with the arguments and
//! return shape of Ansible's dnf module (`yum` is an alias of it in ansible-core 2.19).
//!
//! One round trip queries every named package with `rpm -q`; dnf runs only for the packages that
//! differ (`install` for missing ones, `upgrade` for `latest`, `remove` for `absent`). Check mode
//! runs nothing that changes the host (`latest` asks `dnf check-update`). The command building and
//! output parsing are unit-tested; no RHEL-family host is available in the lab, so this module has
//! not been run against a real dnf.

use std::collections::BTreeMap;

use serde::Deserialize;

use serde_json::{Map, Value};

use crate::contract::{ArgError, Decision, Housekeeping, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

#[path = "dnf_rpmver.rs"]
mod rpmver;
pub use rpmver::rpmvercmp;

/// `dnf`/`yum` arguments (the commonly used subset of Ansible's).
#[derive(Debug, Deserialize, Default, Clone, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct DnfArgs {
    /// Package specs (names, `name-1.2`, `name >= 1.2` is not supported, `@group`, file paths, URLs).
    #[serde(default, alias = "pkg", deserialize_with = "crate::args::opt_list")]
    pub name: Option<Vec<String>>,
    /// present/installed, latest, absent/removed.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub state: Option<String>,
    /// Refresh metadata first (`dnf makecache`).
    #[serde(default, alias = "expire-cache", deserialize_with = "crate::args::bool")]
    pub update_cache: bool,
    /// `--nogpgcheck`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub disable_gpg_check: bool,
    /// `--enablerepo=` for each.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub enablerepo: Option<Vec<String>>,
    /// `--disablerepo=` for each.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub disablerepo: Option<Vec<String>>,
    /// `--config=`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub conf_file: Option<String>,
    /// `--installroot=`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub installroot: Option<String>,
    /// `--exclude=` for each.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub exclude: Option<Vec<String>>,
    /// Remove unneeded dependencies (state=absent, or alone).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub autoremove: bool,
    /// Install a spec naming an older version than the installed one (a downgrade); without it
    /// such a spec is left alone.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub allow_downgrade: bool,
    /// `--setopt=install_weak_deps=`.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub install_weak_deps: Option<bool>,
    /// `--releasever=`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub releasever: Option<String>,
    /// `--skip-broken`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub skip_broken: bool,
    /// `--nobest`.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub nobest: Option<bool>,
    /// `--allowerasing`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub allowerasing: bool,
    /// With state=latest: only upgrade installed packages.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub update_only: bool,
    /// `--security`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub security: bool,
    /// `--bugfix`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub bugfix: bool,
    /// `--cacheonly`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub cacheonly: bool,
    /// `--disableexcludes=`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub disable_excludes: Option<String>,
    /// Seconds to wait for the package manager lock (accepted; dnf waits on its own).
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub lock_timeout: Option<u64>,
    /// `--setopt=sslverify=False` when false.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub sslverify: Option<bool>,
    /// Accepted for compatibility.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub validate_certs: Option<bool>,
    /// auto, dnf, dnf4, dnf5, yum, yum4: which command to prefer.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub use_backend: Option<String>,
    /// The same as `use_backend` (Ansible's dnf action reads either; both at once is an error).
    #[serde(default, rename = "use", deserialize_with = "crate::args::opt_string")]
    pub use_: Option<String>,
}

const STATES: &[&str] = &["absent", "installed", "latest", "present", "removed"];

/// What to do, after normalising state aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// present / installed.
    Present,
    /// latest.
    Latest,
    /// absent / removed.
    Absent,
}

/// Shared implementation of `dnf` and `yum`; `binary` is the preferred command.
fn check(a: &DnfArgs) -> Result<(), ArgError> {
    if a.use_.is_some() && a.use_backend.is_some() {
        return Err(ArgError { msg: "parameters are mutually exclusive: ('use', 'use_backend')".into() });
    }
    if let Some(s) = a.state.as_deref().filter(|s| !STATES.contains(s)) {
        return Err(ArgError { msg: format!("value of state must be one of: {}, got: {s}", STATES.join(", ")) });
    }
    if a.name.as_ref().is_none_or(|n| n.is_empty()) && !a.update_cache && !a.autoremove {
        // Ansible's message also names `list`, an argument orc does not have.
        return Err(ArgError { msg: "one of the following is required: name, update_cache, autoremove".into() });
    }
    Ok(())
}

/// The normalised state (default present; `autoremove` alone means absent, as Ansible).
pub fn want(a: &DnfArgs) -> Want {
    match a.state.as_deref() {
        Some("latest") => Want::Latest,
        Some("absent" | "removed") => Want::Absent,
        None if a.autoremove => Want::Absent,
        _ => Want::Present,
    }
}

/// Global dnf options from the arguments, each shell-quoted.
pub fn global_opts(a: &DnfArgs, check: bool) -> Vec<String> {
    let mut o = vec!["-y".to_string()];
    if a.disable_gpg_check {
        o.push("--nogpgcheck".into());
    }
    for r in a.disablerepo.iter().flatten() {
        o.push(quote(&format!("--disablerepo={r}")));
    }
    for r in a.enablerepo.iter().flatten() {
        o.push(quote(&format!("--enablerepo={r}")));
    }
    if let Some(c) = &a.conf_file {
        o.push(quote(&format!("--config={c}")));
    }
    if let Some(r) = &a.installroot {
        o.push(quote(&format!("--installroot={r}")));
    }
    for e in a.exclude.iter().flatten() {
        o.push(quote(&format!("--exclude={e}")));
    }
    if let Some(w) = a.install_weak_deps {
        o.push(format!("--setopt=install_weak_deps={}", if w { "True" } else { "False" }));
    }
    if let Some(r) = &a.releasever {
        o.push(quote(&format!("--releasever={r}")));
    }
    if a.skip_broken {
        o.push("--skip-broken".into());
    }
    match a.nobest {
        Some(true) => o.push("--nobest".into()),
        Some(false) => o.push("--best".into()),
        None => {}
    }
    if a.allowerasing {
        o.push("--allowerasing".into());
    }
    if a.security {
        o.push("--security".into());
    }
    if a.bugfix {
        o.push("--bugfix".into());
    }
    if a.cacheonly {
        o.push("--cacheonly".into());
    }
    if let Some(d) = &a.disable_excludes {
        o.push(quote(&format!("--disableexcludes={d}")));
    }
    if a.sslverify == Some(false) {
        o.push("--setopt=sslverify=False".into());
    }
    if check {
        o.push("--assumeno".into());
    }
    o
}

/// The shell snippet that picks the command: the preferred one, else the other.
pub fn binary(prefer: &str) -> String {
    let order = if prefer.starts_with("yum") { "yum dnf" } else { "dnf yum" };
    format!("B=''; for b in {order}; do if command -v $b >/dev/null 2>&1; then B=$b; break; fi; done; [ -n \"$B\" ] || {{ echo 'neither dnf nor yum found on the host' >&2; exit 127; }}")
}

/// What the query found on the host.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Query {
    /// Installed NEVRAs per spec (empty: not installed).
    pub installed: BTreeMap<String, Vec<String>>,
    /// For a spec rpm found nothing for, the installed packages whose name the spec starts with
    /// (`foo` for `foo-1.0`): what `allow_downgrade` compares against.
    pub same_name: BTreeMap<String, Vec<Installed>>,
}

/// One installed package, split as rpm reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// %{NAME}.
    pub name: String,
    /// %{EPOCHNUM}.
    pub epoch: u64,
    /// %{VERSION}.
    pub version: String,
    /// %{RELEASE}.
    pub release: String,
}

/// The names a versioned spec could start with: each prefix ending before a `-` that a digit
/// follows (`foo-bar-1.0-1` -> `foo-bar`, `foo-bar-1.0`), as dnf tries name-version splits.
fn name_candidates(spec: &str) -> Vec<&str> {
    if !is_plain_name(spec) || spec.contains(['*', '?', '[']) {
        return vec![];
    }
    spec.match_indices('-')
        .filter(|(i, _)| *i > 0 && spec[i + 1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(|(i, _)| &spec[..i])
        .collect()
}

/// One `rpm -q` per spec in one script; each section headed `@@<spec>`. When rpm finds nothing
/// for a versioned spec, the packages named like its possible name parts follow as `~` lines.
pub fn query_script(specs: &[String]) -> String {
    let mut s = String::from("export LC_ALL=C\n");
    for p in specs {
        let mut fallback = String::new();
        for n in name_candidates(p) {
            fallback.push_str(&format!(
                "rpm -q --qf '~%{{NAME}}\\t%{{EPOCHNUM}}\\t%{{VERSION}}\\t%{{RELEASE}}\\t%{{ARCH}}\\n' -- {} 2>/dev/null | grep '^~'; ",
                quote(n)
            ));
        }
        if fallback.is_empty() {
            fallback.push_str("true; ");
        }
        s.push_str(&format!(
            "printf '@@%s\\n' {q}; rpm -q --qf '%{{NAME}}\\t%{{EPOCHNUM}}:%{{VERSION}}-%{{RELEASE}}.%{{ARCH}}\\n' -- {q} 2>/dev/null | grep -v '^package .* is not installed$' || {{ {fallback}}}\n",
            q = quote(p)
        ));
    }
    s.push_str("echo @@END\n");
    s
}

/// Parses [`query_script`]'s output.
pub fn parse_query(out: &str) -> Query {
    let mut q = Query::default();
    let mut cur: Option<String> = None;
    for line in out.lines() {
        if let Some(s) = line.strip_prefix("@@") {
            if s == "END" {
                break;
            }
            q.installed.entry(s.to_string()).or_default();
            cur = Some(s.to_string());
        } else if let (Some(c), Some(rest)) = (&cur, line.strip_prefix('~')) {
            let f: Vec<&str> = rest.split('\t').collect();
            if let [name, epoch, version, release, _arch] = f[..] {
                q.same_name.entry(c.clone()).or_default().push(Installed {
                    name: name.to_string(),
                    epoch: epoch.parse().unwrap_or(0),
                    version: version.to_string(),
                    release: release.to_string(),
                });
            }
        } else if let (Some(c), Some((name, evra))) = (&cur, line.split_once('\t')) {
            q.installed.entry(c.clone()).or_default().push(format!("{name}-{}", evra.trim_start_matches("0:")));
        }
    }
    q
}

/// The architectures a spec may end with (`.x86_64`), dropped before comparing versions.
const ARCHES: &[&str] = &["noarch", "x86_64", "i686", "i386", "aarch64", "ppc64le", "ppc64", "s390x", "armv7hl", "src"];

/// Whether a newer version of the package `spec` names is installed (Ansible's
/// `_is_newer_version_installed`): `foo-1.0` while `foo-2.0` is. Without an epoch in the spec the
/// installed epoch is assumed; without a release only versions are compared.
pub fn newer_installed(spec: &str, same_name: &[Installed]) -> bool {
    same_name.iter().any(|p| {
        let Some(rest) = spec.strip_prefix(p.name.as_str()).and_then(|r| r.strip_prefix('-')) else {
            return false;
        };
        let rest = match rest.rsplit_once('.') {
            Some((head, arch)) if ARCHES.contains(&arch) => head,
            _ => rest,
        };
        let (epoch, vr) = match rest.split_once(':') {
            Some((e, vr)) => (e.parse().unwrap_or(0), vr),
            None => (p.epoch, rest),
        };
        let (version, release) = match vr.split_once('-') {
            Some((v, r)) => (v, Some(r)),
            None => (vr, None),
        };
        let ord = p
            .epoch
            .cmp(&epoch)
            .then_with(|| rpmvercmp(&p.version, version))
            .then_with(|| release.map_or(std::cmp::Ordering::Equal, |r| rpmvercmp(&p.release, r)));
        ord == std::cmp::Ordering::Greater
    })
}

/// dnf's transaction summary as Ansible's `results` strings (`Installed: tree-1.8.0-10.el9.x86_64`).
pub fn parse_results(out: &str) -> Vec<String> {
    let mut res = vec![];
    let mut section: Option<&str> = None;
    for line in out.lines() {
        let t = line.trim_end();
        if let Some(h) =
            ["Installed:", "Upgraded:", "Removed:", "Downgraded:", "Reinstalled:"].iter().find(|h| t == **h)
        {
            section = Some(h.trim_end_matches(':'));
            continue;
        }
        match section {
            Some(s) if line.starts_with(' ') && !t.trim().is_empty() => {
                for nevra in t.split_whitespace() {
                    res.push(format!("{s}: {nevra}"));
                }
            }
            _ => section = None,
        }
    }
    res
}

/// The failures dnf reports for unknown packages, as Ansible words them.
pub fn parse_failures(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("No match for argument: "))
        .map(|p| format!("No package {} available.", p.trim()))
        .collect()
}

fn is_plain_name(spec: &str) -> bool {
    !spec.starts_with('@') && !spec.contains('/') && !spec.contains("://") && !spec.ends_with(".rpm")
}

/// The dnf commands for a run, given what is installed. Empty: nothing to do.
pub fn plan(a: &DnfArgs, query: &Query, check: bool) -> Vec<String> {
    let names = a.name.clone().unwrap_or_default();
    let opts = global_opts(a, check).join(" ");
    let q = |v: &[&String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(" ");
    let is_installed = |n: &String| query.installed.get(n).is_some_and(|v| !v.is_empty());
    // Ansible installs a spec naming an older version than the installed one (a downgrade) only
    // with allow_downgrade; otherwise the spec is left alone.
    let held = |n: &String| !a.allow_downgrade && query.same_name.get(n).is_some_and(|same| newer_installed(n, same));
    let mut cmds = vec![];
    match want(a) {
        Want::Present => {
            let missing: Vec<&String> =
                names.iter().filter(|n| !is_plain_name(n) || (!is_installed(n) && !held(n))).collect();
            if !missing.is_empty() {
                cmds.push(format!("\"$B\" {opts} install {}", q(&missing)));
            }
        }
        Want::Latest if names == ["*"] => cmds.push(format!("\"$B\" {opts} upgrade")),
        Want::Latest => {
            let (have, missing): (Vec<&String>, Vec<&String>) =
                names.iter().filter(|n| !held(n)).partition(|n| is_installed(n));
            if !missing.is_empty() && !a.update_only {
                cmds.push(format!("\"$B\" {opts} install {}", q(&missing)));
            }
            if names.iter().any(|n| n == "*") {
                cmds.push(format!("\"$B\" {opts} upgrade"));
            } else if !have.is_empty() {
                cmds.push(format!("\"$B\" {opts} upgrade {}", q(&have)));
            }
        }
        Want::Absent => {
            let present: Vec<&String> = names.iter().filter(|n| !is_plain_name(n) || is_installed(n)).collect();
            if !present.is_empty() {
                cmds.push(format!("\"$B\" {opts} remove {}", q(&present)));
            } else if a.autoremove && names.is_empty() {
                cmds.push(format!("\"$B\" {opts} autoremove"));
            }
        }
    }
    cmds
}

/// Decides for dnf (or yum) with check mode's path (`--assumeno`, no makecache), which changes
/// nothing; `observed` holds each named package's installed NEVRAs (or "absent").
fn decide_dnf(a: &DnfArgs, prefer: &str, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
    let mut installed = Query::default();
    let result = run_dnf(a, prefer, ctx, true, &mut installed)?;
    let versions: Map<String, Value> = installed
        .installed
        .into_iter()
        .map(|(k, v)| (k, if v.is_empty() { Value::from("absent") } else { Value::from(v) }))
        .collect();
    let mut observed = Map::new();
    observed.insert("installed".into(), versions.into());
    // A real run refreshes the metadata (`makecache`) even when nothing else changes.
    Ok(Decision { result, observed, action: Housekeeping::when(a.update_cache, DnfAction) })
}

/// What dnf decided: to run; the real run reads the packages again after any makecache.
struct DnfAction;

/// Runs dnf (or yum) for `a`; `check` is check mode's path, which changes nothing. `seen` is
/// left holding what the query read.
fn run_dnf(a: &DnfArgs, prefer: &str, ctx: &mut ModuleCtx, check: bool, seen: &mut Query) -> RunResult {
    let backend = a.use_.as_deref().or(a.use_backend.as_deref());
    let pick = binary(backend.filter(|b| *b != "auto").unwrap_or(prefer));
    let names = a.name.clone().unwrap_or_default();
    let installed = if names.is_empty() {
        Query::default()
    } else {
        let out = ctx.conn.exec(&query_script(&names), None)?;
        parse_query(&out.stdout_str())
    };
    *seen = installed.clone();
    let mut script = format!("export LC_ALL=C\n{pick}\n");
    if a.update_cache && !check {
        script.push_str("\"$B\" -q makecache || exit $?\n");
    }
    let cmds = plan(a, &installed, check);
    if cmds.is_empty() && (!a.update_cache || check) {
        return Ok(ModuleResult::changed(false)
            .with_msg("Nothing to do")
            .with("rc", 0)
            .with("results", Vec::<String>::new()));
    }
    if check {
        // --assumeno resolves the transaction and answers no: dnf exits 1 after printing it.
        for c in &cmds {
            script.push_str(&format!("{c} || true\n"));
        }
    } else {
        for c in &cmds {
            script.push_str(&format!("{c} || exit $?\n"));
        }
    }
    let out = ctx.conn.exec(&script, None)?;
    let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
    let failures = parse_failures(&format!("{stdout}\n{stderr}"));
    if out.rc != 0 || !failures.is_empty() {
        let msg = if failures.is_empty() {
            format!("{} failed: {}", prefer, stderr.trim())
        } else {
            "Failed to install some of the specified packages".to_string()
        };
        let r =
            ModuleResult::failed(msg).with("failures", failures).with("results", Vec::<String>::new()).with("rc", 1);
        return Err(ModuleError::Fail(Box::new(r)));
    }
    let results = parse_results(&stdout);
    let changed = !cmds.is_empty() && !stdout.contains("Nothing to do");
    let msg = if changed { "" } else { "Nothing to do" };
    Ok(ModuleResult::changed(changed).with_msg(msg).with("rc", 0).with("results", results))
}

/// What `dnf` and `yum` return besides `changed`/`msg`.
const DNF_RETURNS: &[(&str, &str)] = &[
    ("results", "What the transaction did, one entry a package (`Installed: tree-1.8.0-10.el9.x86_64`)."),
    ("rc", "0, or 1 on failure."),
    ("failures", "On failure: the packages dnf found no match for (`No package x available.`)."),
];

/// The `dnf` module.
pub struct Dnf;

impl TypedModule for Dnf {
    type Args = DnfArgs;
    const NAME: &'static str = "dnf";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Installs, upgrades or removes RPM packages with the dnf command line (yum when dnf is missing).",
        notes: "One `rpm -q` query covers every named package; the command then runs only for those that differ: \
                install for missing ones, upgrade for `latest`, remove for `absent`. Groups (`@name`), file paths \
                and URLs are always passed on. Version comparisons such as `name >= 1.2` are not supported. \
                `autoremove` without names runs autoremove. `name: '*'` with `state: latest` upgrades every package. A \
                spec naming an older version than the installed one (`foo-1.0` while `foo-2.0` is installed) is left \
                alone unless `allow_downgrade` is true. Check mode resolves the transaction with --assumeno and \
                changes nothing. Only the command lines and the output parsing are tested: no RHEL-family host has \
                run this module. `lock_timeout` and `validate_certs` are accepted and not used.",
        returns: DNF_RETURNS,
        example: "- name: Install the web server\n  \
                  ansible.builtin.dnf:\n    \
                  name: [nginx, policycoreutils-python-utils]\n    \
                  state: present\n    \
                  update_cache: true\n",
    };

    fn check_args(a: &DnfArgs) -> Result<(), ArgError> {
        check(a)
    }
    fn decide(&self, a: &DnfArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        decide_dnf(a, "dnf", ctx)
    }
    fn apply(&self, a: DnfArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, DnfAction) = decision.take_action::<DnfAction>(Self::NAME)?;
        run_dnf(&a, "dnf", ctx, false, &mut Query::default())
    }
}

/// The `yum` module (ansible-core 2.19 redirects it to dnf; orc prefers the `yum` command).
pub struct Yum;

impl TypedModule for Yum {
    type Args = DnfArgs;
    const NAME: &'static str = "yum";
    const TWO_PHASE: bool = true;

    const DOC: ModuleText = ModuleText {
        short: "Installs, upgrades or removes RPM packages with the yum command line (dnf when yum is missing).",
        notes: "The same module as `dnf` (ansible-core redirects yum to dnf), preferring the `yum` command. One `rpm \
                -q` query covers every named package; the command then runs only for those that differ: install for \
                missing ones, upgrade for `latest`, remove for `absent`. Groups (`@name`), file paths and URLs are \
                always passed on. Version comparisons such as `name >= 1.2` are not supported. `autoremove` without \
                names runs autoremove. `name: '*'` with `state: latest` upgrades every package. A spec naming an older \
                version than the installed one is left alone unless `allow_downgrade` is true. Check mode resolves \
                the transaction with --assumeno and changes nothing. Only the command lines and the output parsing \
                are tested: no RHEL-family host has run this module. `lock_timeout` and `validate_certs` are \
                accepted and not used.",
        returns: DNF_RETURNS,
        example: "- name: Install the web server\n  \
                  ansible.builtin.yum:\n    \
                  name: httpd\n    \
                  state: latest\n",
    };

    fn check_args(a: &DnfArgs) -> Result<(), ArgError> {
        check(a)
    }
    fn decide(&self, a: &DnfArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        decide_dnf(a, "yum", ctx)
    }
    fn apply(&self, a: DnfArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, DnfAction) = decision.take_action::<DnfAction>(Self::NAME)?;
        run_dnf(&a, "yum", ctx, false, &mut Query::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Module;
    use serde_json::{json, Value};

    fn args(v: Value) -> DnfArgs {
        crate::contract::parse_args(v.as_object().unwrap()).unwrap()
    }

    fn installed(pairs: &[(&str, &[&str])]) -> Query {
        let installed = pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect();
        Query { installed, ..Query::default() }
    }

    #[test]
    fn use_is_use_backend_and_both_are_exclusive() {
        let a = args(json!({"name": "at", "use": "dnf"}));
        assert!(check(&a).is_ok());
        assert_eq!(a.use_.as_deref(), Some("dnf"));
        let a = args(json!({"name": "at", "use": "dnf", "use_backend": "dnf"}));
        assert_eq!(check(&a).unwrap_err().msg, "parameters are mutually exclusive: ('use', 'use_backend')");
    }

    #[test]
    fn present_installs_only_missing_packages_with_options() {
        let a = args(
            json!({"name": ["tree", "jq"], "disable_gpg_check": true, "enablerepo": "epel,crb", "disablerepo": ["*"]}),
        );
        let cmds = plan(&a, &installed(&[("tree", &["tree-1.8.0-10.el9.x86_64"]), ("jq", &[])]), false);
        assert_eq!(
            cmds,
            vec!["\"$B\" -y --nogpgcheck '--disablerepo=*' --enablerepo=epel --enablerepo=crb install jq".to_string()]
        );
        assert!(plan(&a, &installed(&[("tree", &["t"]), ("jq", &["j"])]), false).is_empty());
    }

    #[test]
    fn latest_upgrades_installed_and_installs_missing() {
        let a = args(json!({"name": "tree,jq", "state": "latest"}));
        let cmds = plan(&a, &installed(&[("tree", &["t"]), ("jq", &[])]), true);
        assert_eq!(
            cmds,
            vec!["\"$B\" -y --assumeno install jq".to_string(), "\"$B\" -y --assumeno upgrade tree".to_string()]
        );
    }

    #[test]
    fn latest_star_upgrades_everything_and_installs_nothing() {
        // Ansible's dnf: `name: '*'` with state=latest is upgrade_all, nothing else.
        let a = args(json!({"name": "*", "state": "latest"}));
        let q = installed(&[("*", &[])]);
        assert_eq!(plan(&a, &q, false), vec!["\"$B\" -y upgrade".to_string()]);
    }

    #[test]
    fn allow_downgrade_decides_whether_an_older_version_is_installed() {
        // foo-2.0 is installed, the spec names foo-1.0: rpm -q foo-1.0 finds nothing.
        let q = parse_query(
            "@@foo-1.0\n~foo\t0\t2.0\t1.el9\tx86_64\n@@bar-1.0-1.el9.x86_64\n~bar\t0\t1.0\t3.el9\tx86_64\n@@END\n",
        );
        for state in ["present", "latest"] {
            let a = args(json!({"name": ["foo-1.0", "bar-1.0-1.el9.x86_64"], "state": state}));
            assert!(plan(&a, &q, false).is_empty(), "{state}: a newer version installed is left alone");
            let a = args(json!({"name": ["foo-1.0", "bar-1.0-1.el9.x86_64"], "state": state, "allow_downgrade": true}));
            assert_eq!(
                plan(&a, &q, false),
                vec!["\"$B\" -y install foo-1.0 bar-1.0-1.el9.x86_64".to_string()],
                "{state}"
            );
        }
        // An older version installed is not a reason to skip: foo-3.0 is installed over foo-2.0.
        let q = parse_query("@@foo-3.0\n~foo\t0\t2.0\t1.el9\tx86_64\n@@END\n");
        let a = args(json!({"name": "foo-3.0"}));
        assert_eq!(plan(&a, &q, false), vec!["\"$B\" -y install foo-3.0".to_string()]);
        // The query asks rpm for each name the spec could start with.
        let s = query_script(&["foo-bar-1.0-1".into()]);
        assert!(s.contains("-- foo-bar 2>/dev/null") && s.contains("-- foo-bar-1.0 2>/dev/null"), "{s}");
    }

    #[test]
    fn query_script_runs_and_parses_with_a_stand_in_rpm() {
        // No RHEL-family host here: a stand-in rpm that knows foo-2.0 only.
        let dir = tempfile::tempdir().unwrap();
        let rpm = dir.path().join("rpm");
        std::fs::write(
            &rpm,
            "#!/bin/sh\nfmt=\"$3\"; name=\"$5\"\nif [ \"$name\" = foo ]; then printf \"$(printf '%s' \"$fmt\" | sed 's/%{NAME}/foo/;s/%{EPOCHNUM}/0/;s/%{VERSION}/2.0/;s/%{RELEASE}/1.el9/;s/%{ARCH}/x86_64/')\"; exit 0; fi\necho \"package $name is not installed\"; exit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(&rpm, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let script = format!(
            "PATH={}:$PATH\n{}",
            dir.path().display(),
            query_script(&["foo".into(), "foo-1.0".into(), "bar".into()])
        );
        let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
        let q = parse_query(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(q.installed["foo"], vec!["foo-2.0-1.el9.x86_64"]);
        assert!(q.installed["foo-1.0"].is_empty() && q.installed["bar"].is_empty());
        assert!(newer_installed("foo-1.0", &q.same_name["foo-1.0"]));
        assert!(!q.same_name.contains_key("bar"));
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        // Stand-ins: rpm knows foo-2.0 only; dnf logs how it was called.
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let tools = [
            ("rpm", "#!/bin/sh\nfmt=\"$3\"; name=\"$5\"\nif [ \"$name\" = foo ]; then printf \"$(printf '%s' \"$fmt\" | sed 's/%{NAME}/foo/;s/%{EPOCHNUM}/0/;s/%{VERSION}/2.0/;s/%{RELEASE}/1.el9/;s/%{ARCH}/x86_64/')\"; exit 0; fi\necho \"package $name is not installed\"; exit 1\n".to_string()),
            ("dnf", format!("#!/bin/sh\necho \"dnf $*\" >> {}\n", log.display())),
        ];
        for (name, text) in tools {
            std::fs::write(dir.path().join(name), text).unwrap();
            std::fs::set_permissions(dir.path().join(name), std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        let mut sb = crate::builtin::test_support::Sandbox::new();
        sb.conn.env.push(("PATH".into(), format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap())));
        let a = json!({"name": ["foo", "bar"]});
        let d = sb.decide(&Dnf, &a);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("installed"), Some(&json!({"bar": "absent", "foo": ["foo-2.0-1.el9.x86_64"]})));
        let calls = std::fs::read_to_string(&log).unwrap();
        assert!(calls.lines().all(|l| l.contains("--assumeno")), "decide ran dnf for real: {calls}");
        assert!(sb.apply(&Dnf, &a, d).changed);
        let calls = std::fs::read_to_string(&log).unwrap();
        let real: Vec<&str> = calls.lines().filter(|l| !l.contains("--assumeno")).collect();
        assert_eq!(real.len(), 1, "{calls}");
        assert!(real[0].contains("install") && real[0].contains("bar") && !real[0].contains("foo"), "{calls}");
        // update_cache with nothing to install: no change reported, but a real run still runs makecache.
        let d = sb.decide(&Dnf, &json!({"name": "foo", "update_cache": true}));
        assert!(!d.result.changed && d.needs_apply());
        assert!(!std::fs::read_to_string(&log).unwrap().contains("makecache"), "decide ran makecache");
    }

    #[test]
    fn rpm_version_comparison() {
        use std::cmp::Ordering::*;
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("1.10", "1.9", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("001", "1", Equal),
            ("a", "1", Less),
            ("1.el9", "1.el9_2", Less),
        ] {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
        }
    }

    #[test]
    fn absent_removes_installed_only() {
        let a = args(json!({"name": ["tree", "jq"], "state": "removed"}));
        assert_eq!(
            plan(&a, &installed(&[("tree", &["t"]), ("jq", &[])]), false),
            vec!["\"$B\" -y remove tree".to_string()]
        );
        assert!(plan(&a, &installed(&[("tree", &[]), ("jq", &[])]), false).is_empty());
    }

    #[test]
    fn groups_and_files_always_go_to_dnf() {
        let a = args(json!({"name": ["@Development Tools", "/tmp/x.rpm"]}));
        assert_eq!(
            plan(&a, &Query::default(), false),
            vec!["\"$B\" -y install '@Development Tools' /tmp/x.rpm".to_string()]
        );
    }

    #[test]
    fn rpm_query_output_parses() {
        let out = "@@tree\ntree\t0:1.8.0-10.el9.x86_64\n@@glibc\nglibc\t0:2.34-60.el9.x86_64\nglibc\t0:2.34-60.el9.i686\n@@nope\n@@END\n";
        let m = parse_query(out).installed;
        assert_eq!(m["tree"], vec!["tree-1.8.0-10.el9.x86_64"]);
        assert_eq!(m["glibc"].len(), 2);
        assert!(m["nope"].is_empty());
        assert!(query_script(&["a b".into()]).contains("-- 'a b'"));
    }

    #[test]
    fn transaction_output_parses_to_results() {
        let out = "Dependencies resolved.\n...\nInstalled:\n  jq-1.6-15.el9.x86_64          oniguruma-6.9.6-1.el9.5.x86_64\n\nComplete!\n";
        assert_eq!(
            parse_results(out),
            vec!["Installed: jq-1.6-15.el9.x86_64", "Installed: oniguruma-6.9.6-1.el9.5.x86_64"]
        );
        let err = "No match for argument: nosuch\nError: Unable to find a match: nosuch\n";
        assert_eq!(parse_failures(err), vec!["No package nosuch available."]);
    }

    #[test]
    fn argument_checks() {
        let v = |j: Value| Dnf.validate(j.as_object().unwrap());
        assert!(v(json!({"name": "x", "state": "gone"})).is_err());
        let e = v(json!({"state": "present"})).unwrap_err().msg;
        assert_eq!(e, "one of the following is required: name, update_cache, autoremove");
        assert!(v(json!({"update_cache": true})).is_ok());
        assert!(Yum.validate(json!({"name": "x", "bogus": 1}).as_object().unwrap()).is_err());
        assert!(binary("yum").contains("for b in yum dnf"));
    }
}
