//! The options of Ansible's sudo become plugin (`become_exe`, `become_flags`, `sudo_chdir`) and
//! the command line they make, as ansible-core 2.19's `plugins/become/sudo.py`
//! (`build_become_command`) makes it: `[cd DIR && ]EXE FLAGS [-p PROMPT] [-u USER] COMMAND`.
//!
//! Both the SSH transport (`ssh/sudo.rs`) and the local one (`local.rs`) start their persistent
//! shell with it. The options are read like every plugin option (`src/config/entries.rs`: the
//! host's variables, then the environment, then ansible.cfg, then the plugin's default); the
//! variables that set them are part of the connection pool's key (`pool.rs`), so a task with
//! other options gets its own shell.

use orc_modules::args::scalar_to_string;
use orc_modules::shell_quote::quote;
use serde_json::{Map, Value};

/// sudo's options for one become shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoOptions {
    /// `become_exe`: the program run instead of `sudo` (a wrapper such as the sudo shim of
    /// Ansible's become_sudo target).
    pub exe: String,
    /// `become_flags` as written (default `-H -S -n`).
    pub flags: String,
    /// `sudo_chdir`: the directory changed to before sudo runs.
    pub chdir: Option<String>,
}

impl Default for SudoOptions {
    /// The sudo plugin's defaults: `sudo -H -S -n`, no chdir.
    fn default() -> Self {
        SudoOptions { exe: "sudo".into(), flags: "-H -S -n".into(), chdir: None }
    }
}

impl SudoOptions {
    /// The options for a host reached with `vars` (its `ansible_become_exe`,
    /// `ansible_sudo_flags`... then ANSIBLE_* and ansible.cfg, then the defaults). An empty
    /// `become_exe` is `sudo`, as in sudo.py.
    pub fn from_vars(vars: &Map<String, Value>) -> Self {
        let var = |name: &str| vars.get(name).filter(|v| !v.is_null()).cloned();
        let env = |k: &str| std::env::var(k).ok();
        let entry = |name: &str| {
            crate::config::lookup_entry(name, Some(("become", "sudo")), &var, &env)
                .ok()
                .as_ref()
                .and_then(scalar_to_string)
        };
        let defaults = SudoOptions::default();
        SudoOptions {
            exe: entry("become_exe").filter(|e| !e.is_empty()).unwrap_or(defaults.exe),
            flags: entry("become_flags").unwrap_or_default(),
            chdir: entry("sudo_chdir").filter(|d| !d.is_empty()),
        }
    }

    /// The flags as sudo.py passes them: as written without a password; with one, `-n` and
    /// `--non-interactive` dropped, the first `n` taken out of combined short flags (`-Hn` is
    /// `-H`), and the words quoted again (`shlex.join`). A flag string that does not split
    /// (an unclosed quote) is split on white space.
    pub fn flags_for(&self, with_password: bool) -> String {
        if !with_password || self.flags.is_empty() {
            return self.flags.clone();
        }
        let words = orc_modules::shlex::split(&self.flags)
            .unwrap_or_else(|_| self.flags.split_whitespace().map(str::to_string).collect());
        let kept: Vec<String> = words
            .into_iter()
            .filter(|w| w != "-n" && w != "--non-interactive")
            .map(|w| if w.starts_with("--") { w } else { drop_short_n(&w) })
            .map(|w| quote(&w))
            .collect();
        kept.join(" ")
    }

    /// The shell command that runs `command` through sudo as `user` (no `-u` when `user` is
    /// empty: sudo's own default, root), with `-p PROMPT` when a password will be given.
    pub fn command(&self, user: &str, prompt: Option<&str>, command: &str) -> String {
        let mut words = Vec::new();
        if let Some(dir) = &self.chdir {
            words.push(format!("cd {} &&", quote(dir)));
        }
        words.push(self.exe.clone());
        let flags = self.flags_for(prompt.is_some());
        if !flags.is_empty() {
            words.push(flags);
        }
        if let Some(p) = prompt {
            words.push(format!("-p {}", quote(p)));
        }
        if !user.is_empty() {
            words.push(format!("-u {}", quote(user)));
        }
        words.push(command.to_string());
        words.join(" ")
    }
}

/// sudo.py's `re.sub(r'^(-\w*)n(\w*.*)', r'\1\2', flag)`: in a word starting with `-`, the last
/// `n` of the run of word characters after the dash is taken out (the regex is greedy).
fn drop_short_n(word: &str) -> String {
    let Some(rest) = word.strip_prefix('-') else { return word.to_string() };
    let run_end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    // `n` is a word character, so the `n` matched lies inside the run; the greedy `\w*` before
    // it makes it the run's last one.
    match rest[..run_end].rfind('n') {
        Some(i) => format!("-{}{}", &rest[..i], &rest[i + 1..]),
        None => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(flags: &str) -> SudoOptions {
        SudoOptions { flags: flags.into(), ..SudoOptions::default() }
    }

    #[test]
    fn flags_lose_non_interactive_with_a_password_only() {
        assert_eq!(opts("-H -S -n").flags_for(false), "-H -S -n");
        assert_eq!(opts("-H -S -n").flags_for(true), "-H -S");
        assert_eq!(
            opts("--set-home --stdin --non-interactive --intermediate-user ansibletest1").flags_for(true),
            "--set-home --stdin --intermediate-user ansibletest1"
        );
        // Combined short flags lose their `n`; values and long flags keep theirs.
        assert_eq!(opts("-HSn -u nobody --non-x").flags_for(true), "-HS -u nobody --non-x");
        assert_eq!(opts("-Hnn").flags_for(true), "-Hn");
        assert_eq!(opts("-E -p 'a b'").flags_for(true), "-E -p 'a b'");
        // Without a password the string is passed as written, shell syntax included.
        assert_eq!(opts("-E  -p 'a b'").flags_for(false), "-E  -p 'a b'");
        assert_eq!(opts("").flags_for(true), "");
    }

    #[test]
    fn commands_follow_sudo_py() {
        let d = SudoOptions::default();
        assert_eq!(d.command("app", None, "CMD"), "sudo -H -S -n -u app CMD");
        assert_eq!(d.command("app user", Some("[p] pw:"), "CMD"), "sudo -H -S -p '[p] pw:' -u 'app user' CMD");
        // An empty become_user: no -u (sudo's default user, root).
        assert_eq!(d.command("", None, "CMD"), "sudo -H -S -n CMD");
        let custom = SudoOptions {
            exe: "/tmp/sudoshim.sh".into(),
            flags: "-H -S -n --intermediate-user u1".into(),
            chdir: Some("/no such".into()),
        };
        assert_eq!(
            custom.command("u0", Some("P:"), "CMD"),
            "cd '/no such' && /tmp/sudoshim.sh -H -S --intermediate-user u1 -p P: -u u0 CMD"
        );
        assert_eq!(opts("").command("root", None, "CMD"), "sudo -u root CMD");
    }

    #[test]
    fn options_come_from_the_variables_then_the_defaults() {
        let vars = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(SudoOptions::from_vars(&Map::new()), SudoOptions::default());
        let got = SudoOptions::from_vars(&vars(json!({
            "ansible_become_exe": "/bin/doas-ish",
            "ansible_sudo_flags": "-E",
            "ansible_sudo_chdir": "/",
        })));
        assert_eq!(got, SudoOptions { exe: "/bin/doas-ish".into(), flags: "-E".into(), chdir: Some("/".into()) });
        // Empty values: sudo, no flags, no chdir (sudo.py's `or`).
        let got = SudoOptions::from_vars(&vars(json!({
            "ansible_become_exe": "",
            "ansible_become_flags": "",
            "ansible_sudo_chdir": "",
        })));
        assert_eq!(got, SudoOptions { exe: "sudo".into(), flags: "".into(), chdir: None });
    }
}
