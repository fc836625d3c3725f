//! `package_facts`: the host's installed packages as `ansible_facts.packages`, shaped as
//! Ansible's module returns them: name -> list of installed versions, each a dict with `name`,
//! `version`, `source` and the manager's own fields (apt: `arch`, `category`, `origin`; rpm:
//! `release`, `epoch`, `arch`). Ansible reads them through python3-apt / the rpm bindings;
//! orc asks `dpkg-query` and `apt-cache policy` (the origin) or `rpm -qa`, in one round trip,
//! so nothing needs installing on the host.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;

/// `package_facts` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct PackageFactsArgs {
    /// Package managers to read: `auto` (default: the first one found), `apt`, `rpm` (also
    /// spelled `dnf`, `dnf5`, `yum`, `zypper`).
    #[serde(default = "auto", deserialize_with = "crate::args::list")]
    pub manager: Vec<String>,
    /// `first`: stop at the first manager that lists packages; `all`: read every one given.
    #[serde(default)]
    pub strategy: Strategy,
}

fn auto() -> Vec<String> {
    vec!["auto".into()]
}

/// `strategy` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Stop at the first manager with packages.
    #[default]
    First,
    /// Read every manager.
    All,
}

/// The `package_facts` module.
pub struct PackageFacts;

/// Managers orc reads, in the order `auto` tries them (Ansible's: sorted by name).
const READ: [&str; 2] = ["apt", "rpm"];
/// Ansible's aliases of its manager names.
const ALIASES: [(&str, &str); 7] = [
    ("dnf", "rpm"),
    ("dnf5", "rpm"),
    ("yum", "rpm"),
    ("zypper", "rpm"),
    ("pkg5", "pkg"),
    ("pkgng", "pkg"),
    ("openbsd_pkg", "pkg_info"),
];
/// Managers Ansible reads that orc does not.
const NOT_READ: [&str; 5] = ["apk", "pacman", "pkg", "pkg_info", "portage"];

/// The script's start: C locale, and the system directories after the task's `PATH`, as
/// Ansible's module reads packages through python-apt or rpm's Python library whatever `PATH`
/// says (package_facts target: `environment: {PATH: "${PATH}:/dir"}` is taken literally).
const SCRIPT_HEAD: &str =
    "export LC_ALL=C LANG=C PATH=\"${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n";

/// Marks the script's sections.
const MARK: &str = "@@ORC-PKG";

/// The manager a name means, after Ansible's aliases.
fn canonical(name: &str) -> String {
    let lower = name.to_lowercase();
    ALIASES.iter().find(|(alias, _)| *alias == lower).map(|(_, m)| m.to_string()).unwrap_or(lower)
}

/// The script reading `manager`'s packages (section `MARK <manager>`), or nothing when its tool is
/// missing.
fn script_for(manager: &str) -> String {
    match manager {
        "apt" => format!(
            r#"if command -v dpkg-query >/dev/null 2>&1; then
  echo "{MARK} arch $(dpkg --print-architecture 2>/dev/null)"; echo '{MARK} apt'
  dpkg-query -W -f='${{db:Status-Abbrev}}\t${{Package}}\t${{Version}}\t${{Architecture}}\t${{Section}}\n'
  if command -v apt-cache >/dev/null 2>&1; then
    echo '{MARK} apt-sources'; apt-cache policy 2>/dev/null
    echo '{MARK} apt-policy'
    dpkg-query -W -f='${{db:Status-Abbrev}} ${{binary:Package}}\n' | awk 'substr($1,2,1) != "n" && substr($1,2,1) != "c" {{ print $2 }}' | xargs -r apt-cache policy 2>/dev/null
    echo '{MARK} apt-show'
    dpkg-query -W -f='${{db:Status-Abbrev}} ${{binary:Package}}=${{Version}}\n' | awk 'substr($1,2,1) != "n" && substr($1,2,1) != "c" {{ print $2 }}' | xargs -r apt-cache show 2>/dev/null | awk -F': ' '/^Package: /{{p=$2}} /^Architecture: /{{a=$2}} /^Section: /{{s=$2}} /^$/{{if(p!="")print p"\t"a"\t"s; p="";a="";s=""}} END{{if(p!="")print p"\t"a"\t"s}}'
  fi
fi
"#
        ),
        _ => format!(
            r#"if command -v rpm >/dev/null 2>&1; then
  echo '{MARK} rpm'; rpm -qa --qf '%{{NAME}}\t%{{VERSION}}\t%{{RELEASE}}\t%{{EPOCH}}\t%{{ARCH}}\n'
fi
"#
        ),
    }
}

/// The output's sections by name.
fn sections(out: &str) -> Vec<(String, String)> {
    let mut secs: Vec<(String, String)> = Vec::new();
    for line in out.split_inclusive('\n') {
        match line.trim_end_matches('\n').strip_prefix(MARK) {
            Some(name) => secs.push((name.trim().to_string(), String::new())),
            None => {
                if let Some(last) = secs.last_mut() {
                    last.1.push_str(line);
                }
            }
        }
    }
    secs
}

/// `apt-cache policy`'s package files: the text after the priority -> the `o=` origin of its
/// release line (empty for the dpkg status file, as python-apt's origin is).
fn source_origins(text: &str) -> std::collections::HashMap<String, String> {
    let mut map = std::collections::HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(release) = t.strip_prefix("release ") {
            if let Some(file) = current.take() {
                let origin = release.split(',').find_map(|kv| kv.strip_prefix("o=")).unwrap_or("");
                map.insert(file, origin.to_string());
            }
        } else if let Some((prio, rest)) = t.split_once(' ') {
            if line.starts_with(' ') && !line.starts_with("     ") && prio.parse::<i64>().is_ok() {
                map.insert(rest.to_string(), String::new());
                current = Some(rest.to_string());
            }
        }
    }
    map
}

/// Per package (as `apt-cache policy` names it): the first package file of its installed
/// version, i.e. python-apt's `installed.origins[0]`.
fn installed_files(text: &str) -> std::collections::HashMap<String, String> {
    let mut map = std::collections::HashMap::new();
    let mut pkg: Option<String> = None;
    let mut in_installed = false;
    for line in text.lines() {
        if !line.starts_with(' ') {
            pkg = line.strip_suffix(':').map(str::to_string);
            in_installed = false;
        } else if line.starts_with(" *** ") {
            in_installed = true;
        } else if line.starts_with("     ") && !line.starts_with("      ") {
            // Another version's line (" " * 5 + version): its files are not the installed one's.
            in_installed = false;
        } else if in_installed && line.starts_with("        ") {
            let t = line.trim();
            if let (Some(p), Some((_, file))) = (&pkg, t.split_once(' ')) {
                map.entry(p.clone()).or_insert_with(|| file.to_string());
            }
        }
    }
    map
}

/// What apt's cache says beside dpkg: `apt-cache policy` for the origins, `apt-cache show`
/// (`package\tarch\tsection` lines) for the sections.
#[derive(Debug, Default, Clone, Copy)]
struct AptCache<'a> {
    sources: Option<&'a str>,
    policy: Option<&'a str>,
    show: Option<&'a str>,
}

/// The apt section's packages: dpkg's list, with the origin and section apt's cache gives
/// (python-apt reads both from the cache: `Version.section`, `Version.origins[0].origin`).
fn parse_apt(list: &str, native: &str, cache: AptCache) -> Map<String, Value> {
    let key_of = |name: &str, arch: &str| {
        if arch == native || arch == "all" || native.is_empty() {
            name.to_string()
        } else {
            format!("{name}:{arch}")
        }
    };
    let origins = cache.sources.map(source_origins).unwrap_or_default();
    let files = cache.policy.map(installed_files).unwrap_or_default();
    let mut sections = std::collections::HashMap::new();
    for line in cache.show.unwrap_or("").lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [name, arch, section] = f[..] {
            sections.entry(key_of(name, arch)).or_insert_with(|| section.to_string());
        }
    }
    let mut packages = Map::new();
    for line in list.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [status, name, version, arch, section] = f[..] else { continue };
        // Installed in python-apt's sense: a current version (not "not-installed" nor
        // "config-files").
        if matches!(status.chars().nth(1), Some('n') | Some('c') | None) {
            continue;
        }
        let key = key_of(name, arch);
        let origin = files.get(&key).and_then(|file| origins.get(file)).cloned().unwrap_or_default();
        let section = sections.get(&key).map(String::as_str).unwrap_or(section);
        let entry = json!({"name": key, "version": version, "arch": arch, "category": section, "origin": origin, "source": "apt"});
        push(&mut packages, &key, entry);
    }
    packages
}

/// The rpm section's packages (`epoch` is `None` without one, as Ansible's `to_text(None)`).
fn parse_rpm(list: &str) -> Map<String, Value> {
    let mut packages = Map::new();
    for line in list.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [name, version, release, epoch, arch] = f[..] else { continue };
        let epoch = if epoch == "(none)" { "None" } else { epoch };
        let entry = json!({"name": name, "version": version, "release": release, "epoch": epoch, "arch": arch, "source": "rpm"});
        push(&mut packages, name, entry);
    }
    packages
}

fn push(packages: &mut Map<String, Value>, key: &str, entry: Value) {
    match packages.get_mut(key) {
        Some(Value::Array(list)) => list.push(entry),
        _ => {
            packages.insert(key.to_string(), Value::Array(vec![entry]));
        }
    }
}

/// Why `manager` cannot be read.
#[derive(Debug, PartialEq)]
enum NotRead {
    /// Names Ansible reads but orc does not (`pkg`): refused only where the task runs.
    Unimplemented(String),
    /// Names Ansible does not know either.
    Unknown(String),
}

impl NotRead {
    fn msg(self) -> String {
        match self {
            NotRead::Unimplemented(m) | NotRead::Unknown(m) => m,
        }
    }
}

/// The managers to read, in order, after `auto` and aliases; an error names what is not read.
fn managers(given: &[String]) -> Result<Vec<String>, NotRead> {
    let mut out: Vec<String> = Vec::new();
    for m in given {
        let lower = m.to_lowercase();
        let names: Vec<String> =
            if lower == "auto" { READ.iter().map(|s| s.to_string()).collect() } else { vec![canonical(&lower)] };
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    let unsupported: Vec<&String> = out.iter().filter(|m| !READ.contains(&m.as_str())).collect();
    if !unsupported.is_empty() {
        let known = unsupported.iter().all(|m| NOT_READ.contains(&m.as_str()));
        let list = unsupported.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        return Err(if known {
            NotRead::Unimplemented(format!("orc reads the apt and rpm package managers only, not {list}"))
        } else {
            NotRead::Unknown(format!("Unsupported package managers requested: {list}"))
        });
    }
    Ok(out)
}

impl TypedModule for PackageFacts {
    type Args = PackageFactsArgs;
    const NAME: &'static str = "package_facts";
    const DOC: ModuleText = ModuleText {
        short: "Returns the installed packages as ansible_facts.packages: each name maps to a list \
                of its installed versions.",
        notes: "apt (Debian, Ubuntu: name, version with epoch, arch, category, origin) and rpm \
                (name, version, release, epoch, arch) are read, with dpkg-query and apt-cache \
                policy or rpm -qa in one round trip: python3-apt is not needed on the host. \
                apk, pacman, pkg, pkg_info and portage are not read. A package of another \
                architecture than the host's is keyed `name:arch`, as python-apt keys it.",
        returns: &[(
            "ansible_facts.packages",
            "Name -> list of {name, version, source (apt or rpm), and the manager's fields}.",
        )],
        example: "- name: Read the installed packages\n  ansible.builtin.package_facts:\n\n- name: Show \
                  the nginx version\n  ansible.builtin.debug:\n    msg: \"{{ ansible_facts.packages['nginx'][0].version }}\"\n  \
                  when: \"'nginx' in ansible_facts.packages\"\n",
    };

    fn check_args(a: &PackageFactsArgs) -> Result<(), ArgError> {
        match managers(&a.manager) {
            Err(NotRead::Unknown(msg)) => Err(ArgError { msg }),
            _ => Ok(()),
        }
    }

    fn check_support(a: &PackageFactsArgs) -> Result<(), ArgError> {
        managers(&a.manager).map(|_| ()).map_err(|e| ArgError { msg: e.msg() })
    }

    fn run(&self, a: PackageFactsArgs, ctx: &mut ModuleCtx) -> RunResult {
        let wanted = managers(&a.manager).map_err(|e| ModuleError::msg(e.msg()))?;
        let script: String =
            std::iter::once(SCRIPT_HEAD.to_string()).chain(wanted.iter().map(|m| script_for(m))).collect();
        let out = ctx.conn.exec(&script, None)?;
        let secs = sections(&out.stdout_str());
        let get = |name: &str| secs.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str());
        let native = secs.iter().find_map(|(n, _)| n.strip_prefix("arch ")).unwrap_or("").to_string();
        let mut packages = Map::new();
        let mut found = 0;
        let mut warnings = Vec::new();
        for m in &wanted {
            if a.strategy == Strategy::First && found > 0 {
                break;
            }
            let got = match (m.as_str(), get(m)) {
                ("apt", Some(list)) => {
                    let cache =
                        AptCache { sources: get("apt-sources"), policy: get("apt-policy"), show: get("apt-show") };
                    parse_apt(list, &native, cache)
                }
                (_, Some(list)) => parse_rpm(list),
                (_, None) => Map::new(),
            };
            if got.is_empty() {
                if a.manager.iter().any(|g| canonical(g) == *m) {
                    warnings.push(format!("Found \"{m}\" but no associated packages"));
                }
                continue;
            }
            found += 1;
            for (k, v) in got {
                match (packages.get_mut(&k), v) {
                    (Some(Value::Array(have)), Value::Array(more)) => have.extend(more),
                    (_, v) => {
                        packages.insert(k, v);
                    }
                }
            }
        }
        if found == 0 {
            let list = wanted.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", ");
            return Err(ModuleError::msg(format!(
                "Could not detect a supported package manager from the following list: [{list}], or the required Python library is not installed. Check warnings for details."
            )));
        }
        let mut r = ModuleResult::ok().with("ansible_facts", json!({"packages": packages}));
        if !warnings.is_empty() {
            r = r.with("warnings", warnings);
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded on a Debian 12 lab host, abridged (the mirror's address replaced).
    const LIST: &str = "ii \tbash\t5.2.15-2+b13\tamd64\tshells\n\
                        ii \ttzdata\t2026b-0+deb12u1\tall\tlocalization\n\
                        ii \tlibc6\t2.36-9+deb12u14\ti386\tlibs\n\
                        rc \told\t1.0\tamd64\tadmin\n\
                        ii \tlocal-only\t0.1\tamd64\tmisc\n";
    const SOURCES: &str = "Package files:\n 100 /var/lib/dpkg/status\n     release a=now\n \
                           500 http://mirror.example/debian bookworm/main amd64 Packages\n     \
                           release v=12.15,o=Debian,a=oldstable,n=bookworm,l=Debian,c=main,b=amd64\n     \
                           origin mirror.example\nPinned packages:\n";
    const POLICY: &str = "bash:\n  Installed: 5.2.15-2+b13\n  Candidate: 5.2.15-2+b13\n  Version table:\n \
                          *** 5.2.15-2+b13 500\n        500 http://mirror.example/debian bookworm/main amd64 Packages\n        \
                          100 /var/lib/dpkg/status\n\
                          tzdata:\n  Installed: 2026b-0+deb12u1\n  Version table:\n     2027a-1 500\n        \
                          500 http://mirror.example/debian bookworm/main amd64 Packages\n \
                          *** 2026b-0+deb12u1 100\n        100 /var/lib/dpkg/status\n\
                          libc6:i386:\n  Installed: 2.36-9+deb12u14\n  Version table:\n \
                          *** 2.36-9+deb12u14 500\n        500 http://mirror.example/debian bookworm/main amd64 Packages\n\
                          local-only:\n  Installed: 0.1\n  Version table:\n *** 0.1 100\n        100 /var/lib/dpkg/status\n";

    #[test]
    fn apt_packages_shaped_as_python_apt_gives_them() {
        let cache = AptCache {
            sources: Some(SOURCES),
            policy: Some(POLICY),
            show: Some("bash\tamd64\tshells\ntzdata\tall\tmisc\n"),
        };
        let p = parse_apt(LIST, "amd64", cache);
        assert_eq!(
            p["bash"],
            json!([{"name": "bash", "version": "5.2.15-2+b13", "arch": "amd64", "category": "shells", "origin": "Debian", "source": "apt"}])
        );
        // The installed version is only in dpkg's status file: no origin.
        assert_eq!(p["tzdata"][0]["origin"], "");
        assert_eq!(p["local-only"][0]["origin"], "");
        // apt's cache gives the section when it knows the package (as python-apt); else dpkg's.
        assert_eq!(p["tzdata"][0]["category"], "misc");
        assert_eq!(p["local-only"][0]["category"], "misc");
        assert_eq!(p["libc6:i386"][0]["category"], "libs");
        // A foreign-architecture package is keyed name:arch.
        assert_eq!(p["libc6:i386"][0]["name"], "libc6:i386");
        assert_eq!(p["libc6:i386"][0]["origin"], "Debian");
        assert!(p.get("old").is_none(), "config-files only is not installed");
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn rpm_packages_and_versions_listed_together() {
        let p = parse_rpm(
            "kernel\t5.14.0\t70.el9\t(none)\tx86_64\nkernel\t5.14.0\t71.el9\t(none)\tx86_64\nbash\t5.1\t2\t1\tx86_64\n",
        );
        assert_eq!(p["kernel"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            p["kernel"][1],
            json!({"name": "kernel", "version": "5.14.0", "release": "71.el9", "epoch": "None", "arch": "x86_64", "source": "rpm"})
        );
        assert_eq!(p["bash"][0]["epoch"], "1");
    }

    #[test]
    fn managers_resolve_auto_and_aliases() {
        assert_eq!(managers(&["auto".into()]).unwrap(), ["apt", "rpm"]);
        assert_eq!(managers(&["yum".into(), "rpm".into()]).unwrap(), ["rpm"]);
        assert_eq!(
            managers(&["pacman".into()]).unwrap_err(),
            NotRead::Unimplemented("orc reads the apt and rpm package managers only, not pacman".into())
        );
        assert_eq!(
            managers(&["nope".into()]).unwrap_err(),
            NotRead::Unknown("Unsupported package managers requested: nope".into())
        );
    }
}
