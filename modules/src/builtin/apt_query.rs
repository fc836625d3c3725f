//! The pure half of the `apt` module: package specs (`name`, `name=1.2*`, `name>=1.2`), Debian
//! version comparison, parsing the one query the module sends (`dpkg-query`, `apt-mark showauto`,
//! `apt-cache policy`), and reading what apt-get did (or would do) from its output. No I/O here, so
//! all of it is unit-tested.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use crate::shell_quote::quote;

/// A package spec split as Ansible's `package_split` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkgSpec {
    /// The package name (may carry `:arch`).
    pub name: String,
    /// `=` (fnmatch pattern on the version) or `>=`; None for a bare name.
    pub cmp: Option<String>,
    /// The version or version pattern.
    pub version: Option<String>,
}

impl PkgSpec {
    /// Splits `name`, `name=ver*` or `name>=ver` (at the first `=`/`>=`, as `re.split(r'(>?=)', s, 1)`).
    pub fn parse(spec: &str) -> PkgSpec {
        let spec = spec.trim();
        match spec.find('=') {
            Some(i) => {
                let (name, cmp) =
                    if i > 0 && spec.as_bytes()[i - 1] == b'>' { (&spec[..i - 1], ">=") } else { (&spec[..i], "=") };
                PkgSpec { name: name.to_string(), cmp: Some(cmp.into()), version: Some(spec[i + 1..].to_string()) }
            }
            None => PkgSpec { name: spec.to_string(), cmp: None, version: None },
        }
    }
}

/// The queried state of each requested name.
pub type States = BTreeMap<String, PkgState>;

/// What the host knows about one package: dpkg's state, whether apt marked it automatic, and the
/// versions apt can install (best first as `apt-cache policy` lists them) with its candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PkgState {
    /// dpkg's status abbreviation (`ii`, `rc`, `un`...), None when dpkg has never seen it.
    pub status: Option<String>,
    /// The version dpkg has (meaningful when installed).
    pub version: Option<String>,
    /// `apt-mark showauto` lists it.
    pub auto: bool,
    /// apt-cache policy knows the name (real or virtual).
    pub known: bool,
    /// Candidate version, None for `(none)`.
    pub candidate: Option<String>,
    /// Every version in the version table.
    pub versions: Vec<String>,
}

impl PkgState {
    /// dpkg considers it installed (`?i`).
    pub fn installed(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s.as_bytes().get(1) == Some(&b'i'))
    }
    /// It left files behind (installed, or removed with config files kept).
    pub fn has_files(&self) -> bool {
        self.status.as_deref().is_some_and(|s| matches!(s.as_bytes().get(1), Some(b) if *b != b'n'))
    }
    /// A name apt knows that no package version provides directly (a virtual package).
    pub fn is_virtual(&self) -> bool {
        self.known && self.versions.is_empty() && self.candidate.is_none()
    }
}

/// The one query script: dpkg state, automatic marks and apt's policy for `names`, in sections.
pub fn query_script(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| quote(n)).collect();
    let q = q.join(" ");
    format!(
        "export LC_ALL=C LANG=C\necho @@DPKG\ndpkg-query -W -f='${{Package}}\\t${{Architecture}}\\t${{db:Status-Abbrev}}\\t${{Version}}\\n' -- {q} 2>/dev/null\necho @@AUTO\napt-mark showauto -- {q} 2>/dev/null\necho @@POLICY\napt-cache policy -- {q} 2>/dev/null\necho @@END\n"
    )
}

/// Parses the query script's output into a state per requested name.
pub fn parse_query(out: &str, names: &[String]) -> BTreeMap<String, PkgState> {
    let mut states: BTreeMap<String, PkgState> = names.iter().map(|n| (n.clone(), PkgState::default())).collect();
    let mut section = "";
    let mut current: Option<String> = None;
    let mut in_table = false;
    for line in out.lines() {
        if let Some(s) = line.strip_prefix("@@") {
            section = match s {
                "DPKG" => "dpkg",
                "AUTO" => "auto",
                "POLICY" => "policy",
                _ => "",
            };
            continue;
        }
        match section {
            "dpkg" => {
                let f: Vec<&str> = line.split('\t').collect();
                if f.len() < 4 {
                    continue;
                }
                let (pkg, arch) = (f[0], f[1]);
                for key in [pkg.to_string(), format!("{pkg}:{arch}")] {
                    if let Some(st) = states.get_mut(&key) {
                        st.status = Some(f[2].trim().to_string());
                        st.version = Some(f[3].to_string()).filter(|v| !v.is_empty());
                    }
                }
            }
            "auto" => {
                let name = line.trim();
                let base = name.split(':').next().unwrap_or(name);
                for key in [name, base] {
                    if let Some(st) = states.get_mut(key) {
                        st.auto = true;
                    }
                }
            }
            "policy" => {
                if !line.starts_with(' ') && line.ends_with(':') {
                    let name = &line[..line.len() - 1];
                    current = states.contains_key(name).then(|| name.to_string());
                    if let Some(st) = current.as_ref().and_then(|c| states.get_mut(c)) {
                        st.known = true;
                    }
                    in_table = false;
                    continue;
                }
                let Some(st) = current.as_ref().and_then(|c| states.get_mut(c)) else { continue };
                let t = line.trim();
                if let Some(c) = t.strip_prefix("Candidate:") {
                    let c = c.trim();
                    st.candidate = (c != "(none)").then(|| c.to_string());
                } else if t.starts_with("Version table:") {
                    in_table = true;
                } else if in_table {
                    let v = line.strip_prefix(" *** ").or_else(|| line.strip_prefix("     "));
                    if let Some(v) = v.filter(|v| !v.starts_with(' ')) {
                        if let Some(ver) = v.split_whitespace().next() {
                            st.versions.push(ver.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    states
}

/// What `package_status` answers: installed at all, installed in a matching version, and the best
/// version apt could install that matches and differs from the installed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// dpkg has it installed.
    pub installed: bool,
    /// The installed version satisfies the spec.
    pub version_ok: bool,
    /// A matching installable version different from the installed one.
    pub installable: Option<String>,
}

/// Ansible's `package_status` for a spec, from the queried state.
pub fn status(spec: &PkgSpec, st: &PkgState) -> Status {
    let installed = st.installed();
    // Ansible pins an `=` version at 1001, so the best match is the best listed version matching it.
    let best = match spec.cmp.as_deref() {
        Some("=") => {
            let pat = spec.version.as_deref().unwrap_or("");
            let mut m: Vec<&String> = st.versions.iter().filter(|v| fnmatch(pat, v)).collect();
            m.sort_by(|a, b| compare_versions(b, a));
            m.first().map(|v| v.to_string())
        }
        _ => st.candidate.clone(),
    };
    if !installed {
        return Status { installed, version_ok: false, installable: best };
    }
    let cur = st.version.clone().unwrap_or_default();
    let (version_ok, matches_best) = match (spec.cmp.as_deref(), spec.version.as_deref()) {
        (Some("="), Some(v)) => (fnmatch(v, &cur), best.as_deref().is_some_and(|b| fnmatch(v, b))),
        (Some(">="), Some(v)) => (
            compare_versions(&cur, v) != Ordering::Less,
            best.as_deref().is_some_and(|b| compare_versions(b, v) != Ordering::Less),
        ),
        _ => (true, true),
    };
    let installable = best.filter(|b| *b != cur && matches_best);
    Status { installed, version_ok, installable }
}

/// Python's `fnmatch.fnmatch` with the pattern first, as apt version patterns read.
fn fnmatch(pat: &str, s: &str) -> bool {
    crate::fnmatch::fnmatch(s, pat)
}

/// Debian version comparison (`dpkg --compare-versions`): epoch, upstream, revision.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rfind('-') {
            Some(i) => (epoch, &rest[..i], &rest[i + 1..]),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(b'~') => -1,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => c as i32,
            Some(c) => c as i32 + 256,
        }
    }
    fn part(a: &str, b: &str) -> Ordering {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let mut first_diff = 0;
            while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
                let ac = order(a.get(i).copied().filter(|c| !c.is_ascii_digit()));
                let bc = order(b.get(j).copied().filter(|c| !c.is_ascii_digit()));
                if ac != bc {
                    return ac.cmp(&bc);
                }
                i += 1;
                j += 1;
            }
            while i < a.len() && a[i] == b'0' {
                i += 1;
            }
            while j < b.len() && b[j] == b'0' {
                j += 1;
            }
            while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
                if first_diff == 0 {
                    first_diff = a[i] as i32 - b[j] as i32;
                }
                i += 1;
                j += 1;
            }
            if i < a.len() && a[i].is_ascii_digit() {
                return Ordering::Greater;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                return Ordering::Less;
            }
            if first_diff != 0 {
                return first_diff.cmp(&0);
            }
        }
        Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb).then_with(|| part(ua, ub)).then_with(|| part(ra, rb))
}

/// Ansible's `parse_diff`: the part of apt-get's output between "Reading state information..." and
/// the "N upgraded, ..." line (inclusive), which says what apt will do.
pub fn prepared(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| lines.iter().position(|l| *l == "Reading state information..."))
        .map(|i| i + 1)
        .unwrap_or(0);
    let re = regex::Regex::new(r"^[0-9]+ (packages )?upgraded").ok();
    let end =
        lines.iter().position(|l| re.as_ref().is_some_and(|r| r.is_match(l))).map(|i| i + 1).unwrap_or(lines.len());
    lines.get(start..end.max(start)).map(|l| l.join("\n")).unwrap_or_default()
}

/// One package apt-get touched: its version before (None: was absent) and after (None: removed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Package name.
    pub name: String,
    /// Version before.
    pub before: Option<String>,
    /// Version after.
    pub after: Option<String>,
}

/// Reads the packages apt-get installed, upgraded or removed from its output: `Inst`/`Remv`/`Purg`
/// lines of a simulation, or dpkg's `Unpacking x (v) [over (old)]`, `Setting up x (v)`,
/// `Removing x (v)` lines of a real run.
pub fn changes(out: &str) -> Vec<Change> {
    let mut m: BTreeMap<String, Change> = BTreeMap::new();
    let entry = |m: &mut BTreeMap<String, Change>, name: &str| -> Change {
        let name = name.split(':').next().unwrap_or(name).to_string();
        m.remove(&name).unwrap_or(Change { name, before: None, after: None })
    };
    let paren = |s: &str| s.trim_start_matches('(').split([' ', ')']).next().map(str::to_string);
    let bracket = |s: &str| s.trim_start_matches('[').split([' ', ']']).next().map(str::to_string);
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["Inst", name, rest @ ..] => {
                let mut c = entry(&mut m, name);
                let mut rest = rest.iter();
                let mut next = rest.next();
                if let Some(b) = next.filter(|b| b.starts_with('[')) {
                    c.before = bracket(b);
                    next = rest.next();
                }
                c.after = next.and_then(|a| paren(a));
                m.insert(c.name.clone(), c);
            }
            ["Remv" | "Purg", name, rest @ ..] => {
                let mut c = entry(&mut m, name);
                if c.before.is_none() {
                    c.before = rest.first().and_then(|b| bracket(b));
                }
                c.after = None;
                m.insert(c.name.clone(), c);
            }
            ["Unpacking", name, ver, rest @ ..] => {
                let mut c = entry(&mut m, name);
                c.after = paren(ver);
                if let ["over", old, ..] = rest {
                    c.before = paren(old);
                }
                m.insert(c.name.clone(), c);
            }
            ["Removing", name, ver, ..] => {
                let mut c = entry(&mut m, name);
                c.before = c.before.or_else(|| paren(ver));
                c.after = None;
                m.insert(c.name.clone(), c);
            }
            _ => {}
        }
    }
    m.into_values().collect()
}

/// The package sets before and after, one `name version` line each, for diff mode.
pub fn package_sets(changes: &[Change]) -> (String, String) {
    let before: BTreeSet<String> =
        changes.iter().filter_map(|c| c.before.as_ref().map(|v| format!("{} {v}\n", c.name))).collect();
    let after: BTreeSet<String> =
        changes.iter().filter_map(|c| c.after.as_ref().map(|v| format!("{} {v}\n", c.name))).collect();
    (before.into_iter().collect(), after.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_split_like_package_split() {
        assert_eq!(PkgSpec::parse("tree"), PkgSpec { name: "tree".into(), cmp: None, version: None });
        assert_eq!(PkgSpec::parse("nginx=1.18*").version.as_deref(), Some("1.18*"));
        let ge = PkgSpec::parse("foo>=1.2");
        assert_eq!((ge.name.as_str(), ge.cmp.as_deref()), ("foo", Some(">=")));
    }

    #[test]
    fn debian_versions_compare_like_dpkg() {
        use Ordering::*;
        assert_eq!(compare_versions("1.0", "1.0"), Equal);
        assert_eq!(compare_versions("1.0~rc1", "1.0"), Less);
        assert_eq!(compare_versions("1:0.1", "2.0"), Greater);
        assert_eq!(compare_versions("2.1.0-1", "2.1.0-1+b1"), Less);
        assert_eq!(compare_versions("1.10", "1.9"), Greater);
        assert_eq!(compare_versions("1.0a", "1.0"), Greater);
        assert_eq!(compare_versions("5.2.15-2+b8", "5.2.15-2+b10"), Less);
    }

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("1.2*", "1.2.3-1"));
        assert!(!fnmatch("1.2*", "1.3"));
        assert!(fnmatch("1.?", "1.5"));
        assert!(fnmatch("[0-9].x", "7.x"));
        assert!(!fnmatch("[!0-9].x", "7.x"));
    }

    const QUERY: &str = "@@DPKG\nbash\tamd64\tii \t5.2.15-2+b8\njq\tamd64\trc \t1.6-2.1\n@@AUTO\njq\n@@POLICY\nbash:\n  Installed: 5.2.15-2+b8\n  Candidate: 5.2.15-2+b9\n  Version table:\n     5.2.15-2+b9 500\n        500 http://mirror.example.org/debian bookworm/main amd64 Packages\n *** 5.2.15-2+b8 100\n        100 /var/lib/dpkg/status\ntree:\n  Installed: (none)\n  Candidate: 2.1.0-1\n  Version table:\n     2.1.0-1 500\n        500 http://mirror.example.org/debian bookworm/main amd64 Packages\nmail-transport-agent:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n@@END\n";

    fn names() -> Vec<String> {
        ["bash", "jq", "tree", "mail-transport-agent", "nope"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn query_output_parses_per_package() {
        let s = parse_query(QUERY, &names());
        assert!(s["bash"].installed() && !s["bash"].auto);
        assert_eq!(s["bash"].versions, vec!["5.2.15-2+b9", "5.2.15-2+b8"]);
        assert!(!s["jq"].installed() && s["jq"].has_files() && s["jq"].auto);
        assert_eq!(s["tree"].candidate.as_deref(), Some("2.1.0-1"));
        assert!(s["mail-transport-agent"].is_virtual());
        assert!(!s["nope"].known);
    }

    #[test]
    fn status_decides_like_package_status() {
        let s = parse_query(QUERY, &names());
        let bash = status(&PkgSpec::parse("bash"), &s["bash"]);
        assert_eq!(bash, Status { installed: true, version_ok: true, installable: Some("5.2.15-2+b9".into()) });
        let pinned = status(&PkgSpec::parse("bash=5.2.15-2+b8"), &s["bash"]);
        assert_eq!(pinned, Status { installed: true, version_ok: true, installable: None });
        let tree = status(&PkgSpec::parse("tree=2.1*"), &s["tree"]);
        assert_eq!(tree, Status { installed: false, version_ok: false, installable: Some("2.1.0-1".into()) });
        let none = status(&PkgSpec::parse("tree=9*"), &s["tree"]);
        assert_eq!(none.installable, None);
        let ge = status(&PkgSpec::parse("bash>=6"), &s["bash"]);
        assert!(!ge.version_ok && ge.installable.is_none());
    }

    #[test]
    fn query_script_quotes_names() {
        let q = query_script(&["tree".into(), "a b".into()]);
        assert!(q.contains("-- tree 'a b' 2>/dev/null"), "{q}");
    }

    #[test]
    fn prepared_text_like_parse_diff() {
        let out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\nThe following NEW packages will be installed:\n  tree\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\nInst tree (2.1.0-1 Debian:12.8/stable [amd64])\n";
        assert_eq!(
            prepared(out),
            "The following NEW packages will be installed:\n  tree\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
        );
    }

    #[test]
    fn changes_from_simulation_and_real_runs() {
        let sim = "Inst tree (2.1.0-1 Debian:12.8/stable [amd64])\nInst bash [5.2.15-2+b8] (5.2.15-2+b9 Debian:12.8/stable [amd64])\nRemv jq [1.6-2.1]\nConf tree (2.1.0-1 Debian:12.8/stable [amd64])\n";
        let c = changes(sim);
        assert_eq!(c.len(), 3);
        assert_eq!(
            package_sets(&c),
            ("bash 5.2.15-2+b8\njq 1.6-2.1\n".into(), "bash 5.2.15-2+b9\ntree 2.1.0-1\n".into())
        );
        let real = "Preparing to unpack .../tree_2.1.0-1_amd64.deb ...\nUnpacking tree (2.1.0-1) ...\nSetting up tree (2.1.0-1) ...\nUnpacking bash (5.2.15-2+b9) over (5.2.15-2+b8) ...\nRemoving jq (1.6-2.1) ...\n";
        assert_eq!(changes(real), c);
    }
}
