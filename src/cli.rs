//! The command line, documented in one place: every flag's help text lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// orc: agentless orchestration that runs your Ansible playbooks, faster.
#[derive(Debug, Parser)]
#[command(name = "orc", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run playbooks against an inventory (without PLAYBOOK: the built-in quickstart on localhost).
    Play(PlayArgs),
    /// Run one module ad hoc on the hosts matching PATTERN.
    Run(RunArgs),
    /// Show what an inventory resolves to.
    Inventory(InventoryArgs),
    /// Show a module's arguments, return values and an example (as ansible-doc).
    Doc(DocArgs),
    /// Encrypt, decrypt, view, edit and rekey ansible-vault files (as ansible-vault).
    Vault(VaultArgs),
    /// List the playbooks built into orc (run one by name: `orc play NAME -i INVENTORY`).
    Playbooks(PlaybooksArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) for orc's commands
    /// and flags.
    Completions(CompletionsArgs),
    /// Print orc's manual page (roff, for `man -l -`), or write one page per command with --dir.
    Man(ManArgs),
}

/// `orc completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in. Bash: `source <(orc completions bash)`; zsh: write it as `_orc`
    /// in a directory of $fpath; fish: `orc completions fish > ~/.config/fish/completions/orc.fish`.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `orc man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (orc.1, orc-play.1, orc-vault-create.1...) into DIR instead of
    /// printing one page with every command.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `orc playbooks`.
#[derive(Debug, Args)]
pub struct PlaybooksArgs {
    /// Print this built-in playbook's source instead of the list.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Write every built-in playbook and its roles into DIR (to change them: a playbook file on
    /// disk wins over the built-in of the same name).
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
}

/// `orc doc`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["module", "list"])))]
pub struct DocArgs {
    /// The module (short name or FQCN, e.g. copy or ansible.builtin.copy).
    #[arg(value_name = "MODULE")]
    pub module: Option<String>,
    /// List every module and engine action with its one-line description.
    #[arg(short = 'l', long)]
    pub list: bool,
}

/// Output formats for results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    /// Ansible-like lines (colour on a terminal).
    #[default]
    Human,
    /// One JSON object per event per line (docs/output-json.md).
    Json,
}

/// Flags shared by `play` and `run`.
#[derive(Debug, Args, Clone)]
pub struct CommonArgs {
    /// Inventory file, directory, script or comma-separated host list (repeatable; merged in order).
    /// Without it, the inventory is the implicit localhost.
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<PathBuf>,
    /// Further limit the hosts with a pattern (same grammar as hosts:, or @file).
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Extra variables: K=V pairs, @file.yml, or JSON/YAML; always win over other variables.
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Don't change anything; report what would change.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show before/after differences of files and templates.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// With --check: exit 10 when changes are pending.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// How many hosts to work on at once (default 50, or `forks` from ansible.cfg /
    /// ANSIBLE_FORKS).
    #[arg(short = 'f', long, value_name = "N")]
    pub forks: Option<usize>,
    /// Run operations with become (sudo).
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,
    /// The user to become.
    #[arg(long, value_name = "USER")]
    pub become_user: Option<String>,
    /// Connect as this user, for hosts whose inventory sets no ansible_user (as in Ansible, the
    /// inventory wins).
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// SSH private key file, for hosts whose inventory sets no ansible_ssh_private_key_file.
    #[arg(long = "private-key", visible_alias = "key-file", value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// Ask for the SSH (connection) password once, on the terminal.
    #[arg(short = 'k', long)]
    pub ask_pass: bool,
    /// Read the SSH (connection) password from FILE (its first line).
    #[arg(long = "connection-password-file", visible_alias = "conn-pass-file", value_name = "FILE")]
    pub connection_password_file: Option<PathBuf>,
    /// The become method (sudo or su), for hosts whose inventory sets no ansible_become_method.
    #[arg(long, value_name = "METHOD")]
    pub become_method: Option<String>,
    /// Read the become password from FILE (its first line).
    #[arg(long = "become-password-file", visible_alias = "become-pass-file", value_name = "FILE")]
    pub become_password_file: Option<PathBuf>,
    /// Extra ssh arguments (ProxyJump, Port, User, IdentityFile... as orc reads them), for hosts
    /// whose inventory sets no ansible_ssh_common_args.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub ssh_common_args: Option<String>,
    /// More ssh arguments, for hosts whose inventory sets no ansible_ssh_extra_args.
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    pub ssh_extra_args: Option<String>,
    /// Empty the fact cache (`fact_caching = jsonfile`) of every inventory host before the run.
    #[arg(long)]
    pub flush_cache: bool,
    /// Connection type (ssh, local, docker) for hosts whose inventory sets none.
    #[arg(short = 'c', long, value_name = "CONNECTION")]
    pub connection: Option<String>,
    /// Output format (default human; for `orc play`, ansible.cfg's `stdout_callback` /
    /// ANSIBLE_STDOUT_CALLBACK may choose json).
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,
    /// Ask for the become (sudo/su) password once, on the terminal.
    #[arg(short = 'K', long)]
    pub ask_become_pass: bool,
    /// Host key checking: strict (default: unknown and changed keys refused), accept-new (record
    /// unknown keys in known_hosts; changed keys still refused) or off. Also ORC_HOST_KEY_CHECKING;
    /// ANSIBLE_HOST_KEY_CHECKING=False means off.
    #[arg(long, value_name = "MODE", value_parser = ["strict", "accept-new", "off"])]
    pub host_key_checking: Option<String>,
    /// Seconds to wait for an SSH connection.
    #[arg(short = 'T', long = "timeout", value_name = "SECONDS")]
    pub connect_timeout: Option<u64>,
    /// Seconds one command may run on a host before the host is given up as unreachable.
    #[arg(long, value_name = "SECONDS")]
    pub task_timeout: Option<u64>,
    /// More output (-v results, -vvv engine tracing).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Write a JUnit XML report of the run to FILE when it ends: a test suite per play, a test
    /// case per task and host (docs/ci.md). Secrets are censored as in the output.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Vault passwords for encrypted files and `!vault` values (docs/vault.md).
    #[command(flatten)]
    pub vault: VaultPasswordArgs,
}

/// `orc play`.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// Playbook files, run in order.
    #[arg(value_name = "PLAYBOOK")]
    pub playbooks: Vec<PathBuf>,
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Only run tasks tagged with these tags (comma-separated, repeatable).
    #[arg(short = 't', long, value_delimiter = ',', value_name = "TAGS")]
    pub tags: Vec<String>,
    /// Skip tasks tagged with these tags.
    #[arg(long, value_delimiter = ',', value_name = "TAGS")]
    pub skip_tags: Vec<String>,
    /// Check the playbooks, inventory and templates, run nothing.
    #[arg(long)]
    pub syntax_check: bool,
    /// List the hosts each play would run on.
    #[arg(long)]
    pub list_hosts: bool,
    /// List the tasks each play would run.
    #[arg(long)]
    pub list_tasks: bool,
    /// List the tags in the playbooks.
    #[arg(long)]
    pub list_tags: bool,
    /// Start at the task with this name (or shell pattern, as Ansible matches it).
    #[arg(long, value_name = "NAME")]
    pub start_at_task: Option<String>,
    /// Ask before each task: (N)o/(y)es/(c)ontinue, answered on stdin.
    #[arg(long)]
    pub step: bool,
    /// With --check: save what would change, per host and task, as a plan to review and apply
    /// later with --plan (docs/plan.md).
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
    /// Apply a plan saved by --check --plan-out: refused (exit 3) when made from other inputs;
    /// hosts that drifted from it are left untouched (exit 5). With --check, only look for drift.
    #[arg(long, value_name = "FILE", conflicts_with = "plan_out")]
    pub plan: Option<PathBuf>,
}

/// `orc run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Host pattern.
    #[arg(value_name = "PATTERN")]
    pub pattern: String,
    /// Module name.
    #[arg(short = 'm', long = "module-name", default_value = "command", value_name = "MODULE")]
    pub module: String,
    /// Module arguments: `k=v k2="v 2"` or JSON.
    #[arg(short = 'a', long = "args", value_name = "ARGS")]
    pub args: Option<String>,
    /// One line per host (Ansible's oneline output).
    #[arg(short = 'o', long = "one-line")]
    pub one_line: bool,
    /// Shared flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// `orc inventory`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["list", "graph", "host"])))]
pub struct InventoryArgs {
    /// Inventory sources (repeatable).
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<PathBuf>,
    /// Print every group and host with variables, as `ansible-inventory --list`.
    #[arg(long)]
    pub list: bool,
    /// Print the group tree (from GROUP, default all).
    #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "GROUP")]
    pub graph: Option<String>,
    /// Print one host's variables.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Limit to hosts matching a pattern.
    #[arg(short = 'l', long, value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Vault passwords for an encrypted inventory, group_vars and host_vars (docs/vault.md).
    #[command(flatten)]
    pub vault: VaultPasswordArgs,
}

/// `orc vault`: ansible-vault's commands and arguments (docs/vault.md).
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: VaultAction,
}

/// The `orc vault` subcommands, named as ansible-vault's.
#[derive(Debug, Subcommand)]
pub enum VaultAction {
    /// Create a new encrypted file: opens $EDITOR, encrypts what is saved.
    Create(VaultCreateArgs),
    /// Decrypt encrypted files in place (or to --output); standard input without FILE.
    Decrypt(VaultDecryptArgs),
    /// Edit an encrypted file in $EDITOR; an unchanged file is not rewritten.
    Edit(VaultEditArgs),
    /// Show the plaintext of encrypted files (through $PAGER on a terminal).
    View(VaultViewArgs),
    /// Encrypt files in place (or to --output); standard input without FILE.
    Encrypt(VaultEncryptArgs),
    /// Encrypt strings into `!vault |` values to paste into YAML.
    #[command(name = "encrypt_string", alias = "encrypt-string")]
    EncryptString(VaultEncryptStringArgs),
    /// Re-encrypt files with a new password (and vault id).
    Rekey(VaultRekeyArgs),
}

/// Where vault passwords come from: shared by every `orc vault` command. Without any of these
/// (and without ANSIBLE_VAULT_PASSWORD_FILE or ANSIBLE_VAULT_IDENTITY_LIST), orc asks on the
/// terminal.
#[derive(Debug, Args, Clone, Default)]
pub struct VaultSecretArgs {
    /// The password sources.
    #[command(flatten)]
    pub passwords: VaultPasswordArgs,
    /// Accepted for ansible-vault compatibility (orc vault prints no more with it).
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// The vault password flags of ansible-vault and ansible-playbook (docs/vault.md), shared by
/// `orc vault`, `orc play`, `orc run` and `orc inventory`.
#[derive(Debug, Args, Clone, Default)]
pub struct VaultPasswordArgs {
    /// A vault password: LABEL@SOURCE or SOURCE, where SOURCE is a file holding the password, an
    /// executable printing it (a `*-client` script gets `--vault-id LABEL`), or `prompt`.
    /// Repeatable: data is decrypted with the password of its own label first, then every other.
    #[arg(long = "vault-id", value_name = "[LABEL@]SOURCE")]
    pub vault_ids: Vec<String>,
    /// Ask for the vault password on the terminal.
    #[arg(
        short = 'J',
        long = "ask-vault-password",
        visible_alias = "ask-vault-pass",
        conflicts_with = "vault_password_files"
    )]
    pub ask_vault_pass: bool,
    /// The vault password file (or executable printing it), as --vault-id default@FILE. Repeatable.
    #[arg(long = "vault-password-file", visible_alias = "vault-pass-file", value_name = "FILE")]
    pub vault_password_files: Vec<std::path::PathBuf>,
}

/// `orc vault create`.
#[derive(Debug, Args)]
pub struct VaultCreateArgs {
    /// The file to create (it must not exist).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Password sources.
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
    /// The vault id to encrypt with (needed when several are given).
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
    /// Open the editor even when standard output is not a terminal.
    #[arg(long)]
    pub skip_tty_check: bool,
}

/// `orc vault decrypt`.
#[derive(Debug, Args)]
pub struct VaultDecryptArgs {
    /// Files to decrypt in place (none: standard input to standard output).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Password sources.
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
    /// Write the result here instead (one input file at most; - for standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `orc vault edit`.
#[derive(Debug, Args)]
pub struct VaultEditArgs {
    /// Files to edit, one after the other.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Password sources.
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
    /// Accepted for ansible-vault compatibility: an edited file keeps its own vault id.
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
}

/// `orc vault view`.
#[derive(Debug, Args)]
pub struct VaultViewArgs {
    /// Files to show.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Password sources.
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
}

/// `orc vault encrypt`.
#[derive(Debug, Args)]
pub struct VaultEncryptArgs {
    /// Files to encrypt in place (none: standard input to standard output).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Password sources.
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
    /// Write the result here instead (one input file at most; - for standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The vault id to encrypt with (needed when several are given).
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
}

/// `orc vault encrypt_string`.
#[derive(Debug, Args)]
pub struct VaultEncryptStringArgs {
    /// Strings to encrypt (- or none: standard input).
    #[arg(value_name = "STRING")]
    pub strings: Vec<String>,
    /// Password sources.
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
    /// Write the YAML here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The vault id to encrypt with (needed when several are given).
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
    /// Ask on the terminal for the variable name and the string.
    #[arg(short = 'p', long)]
    pub prompt: bool,
    /// With --prompt: show the string while it is typed.
    #[arg(long)]
    pub show_input: bool,
    /// The variable name for each STRING, in order (repeatable).
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// The variable name for the string read from standard input.
    #[arg(long, value_name = "NAME")]
    pub stdin_name: Option<String>,
}

/// `orc vault rekey`.
#[derive(Debug, Args)]
pub struct VaultRekeyArgs {
    /// Files to re-encrypt.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Password sources (of the current password).
    #[command(flatten)]
    pub secrets: VaultSecretArgs,
    /// The vault id to encrypt with, among the new ones.
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
    /// The new password: a file (or executable), as default@FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "new_vault_id")]
    pub new_vault_password_file: Option<PathBuf>,
    /// The new password and vault id: [LABEL@]SOURCE, as --vault-id.
    #[arg(long, value_name = "[LABEL@]SOURCE")]
    pub new_vault_id: Option<String>,
}
