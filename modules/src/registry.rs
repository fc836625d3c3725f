//! The one place that lists every module. Adding a module touches its own file and this list.

use crate::builtin;
use crate::contract::Module;

/// Every module orc ships, by short name.
static MODULES: &[&dyn Module] = &[
    &builtin::ping::Ping,
    &builtin::lineinfile::Lineinfile,
    &builtin::blockinfile::Blockinfile,
    &builtin::copy::Copy,
    &builtin::template::Template,
    &builtin::file::File,
    &builtin::command::Command,
    &builtin::shell::Shell,
    &builtin::raw::Raw,
    &builtin::script::Script,
    &builtin::stat::Stat,
    &builtin::setup::Setup,
    &builtin::gather_facts::GatherFacts,
    &builtin::service_facts::ServiceFacts,
    &builtin::package_facts::PackageFacts,
    &builtin::wait_for::WaitFor,
    &builtin::wait_for_connection::WaitForConnection,
    &builtin::reboot::Reboot,
    &builtin::get_url::GetUrl,
    &builtin::uri::Uri,
    &builtin::unarchive::Unarchive,
    &builtin::systemd_service::SystemdService,
    &builtin::systemd::Systemd,
    &builtin::service::Service,
    &builtin::hostname::Hostname,
    &builtin::sysctl::Sysctl,
    &builtin::timezone::Timezone,
    &builtin::cron::Cron,
    &builtin::apt::Apt,
    &builtin::apt_repository::AptRepository,
    &builtin::debconf::Debconf,
    &builtin::deb822_repository::Deb822Repository,
    &builtin::dnf::Dnf,
    &builtin::dnf::Yum,
    &builtin::package::Package,
    &builtin::user::User,
    &builtin::group::Group,
    &builtin::getent::Getent,
    &builtin::authorized_key::AuthorizedKey,
    &builtin::replace::Replace,
    &builtin::tempfile::Tempfile,
    &builtin::find::Find,
    &builtin::slurp::Slurp,
    &builtin::fetch::Fetch,
    &builtin::docker_host_info::DockerHostInfo,
    &builtin::docker_image::DockerImage,
    &builtin::docker_container::DockerContainer,
    &builtin::docker_network::DockerNetwork,
    &builtin::docker_volume::DockerVolume,
    &builtin::docker_container_info::DockerContainerInfo,
    &builtin::docker_prune::DockerPrune,
    &builtin::docker_login::DockerLogin,
    &builtin::haproxy::Haproxy,
    &builtin::haproxy_server_state::HaproxyServerState,
    &builtin::etcd3::Etcd3,
    &builtin::health_gate::HealthGate,
];

/// Collection prefixes accepted in front of a short name (`ansible.builtin.copy`).
const COLLECTIONS: &[&str] =
    &["ansible.builtin.", "ansible.legacy.", "ansible.posix.", "community.general.", "community.docker.", "orc."];

/// The short name for a module name given by short name or FQCN.
pub fn short_name(name: &str) -> &str {
    COLLECTIONS.iter().find_map(|p| name.strip_prefix(p)).unwrap_or(name)
}

/// The fully qualified name of a module (or action) named by short name or FQCN, as Ansible
/// resolves it for its messages: a name with a collection stays as written; a short name is
/// ansible.builtin's unless it is one of the collection modules orc ships.
pub fn fqcn(name: &str) -> String {
    if name.contains('.') {
        return name.to_string();
    }
    let collection = match name {
        n if n.starts_with("docker_") => "community.docker",
        "sysctl" | "authorized_key" => "ansible.posix",
        "timezone" | "haproxy" | "etcd3" => "community.general",
        "haproxy_server_state" | "health_gate" => "orc",
        _ => "ansible.builtin",
    };
    format!("{collection}.{name}")
}

/// Finds a module by short name or FQCN.
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = short_name(name);
    MODULES.iter().copied().find(|m| m.name() == short)
}

/// The short names of all modules, for "did you mean" and `--help`.
pub fn names() -> Vec<&'static str> {
    MODULES.iter().map(|m| m.name()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqcn_names_the_collection() {
        assert_eq!(fqcn("ping"), "ansible.builtin.ping");
        assert_eq!(fqcn("sysctl"), "ansible.posix.sysctl");
        assert_eq!(fqcn("docker_image"), "community.docker.docker_image");
        assert_eq!(fqcn("ansible.legacy.ping"), "ansible.legacy.ping");
    }

    #[test]
    fn fqcn_and_short_names_resolve_alike() {
        assert_eq!(lookup("ping").map(|m| m.name()), Some("ping"));
        assert_eq!(lookup("ansible.builtin.ping").map(|m| m.name()), Some("ping"));
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn every_module_documents_itself() {
        for m in MODULES {
            let doc = m.doc();
            let missing: Vec<&str> = [
                ("short", doc.text.short.is_empty()),
                ("example", doc.text.example.is_empty()),
                ("returns", doc.text.returns.is_empty() && !NO_RETURNS.contains(&m.name())),
            ]
            .iter()
            .filter(|(_, empty)| *empty)
            .map(|(what, _)| *what)
            .collect();
            assert!(missing.is_empty(), "{} lacks its doc text: {missing:?} (write its ModuleText DOC)", m.name());
            assert!(
                doc.args.iter().all(|a| !a.description.is_empty()),
                "{}: an argument without a doc comment",
                m.name()
            );
            assert!(doc.text.example.contains(m.name()), "{}'s example does not use the module", m.name());
        }
    }

    /// Modules whose results are only `changed`/`msg` (documented for every module).
    const NO_RETURNS: &[&str] = &["sysctl"];

    #[test]
    fn names_are_unique() {
        let mut n = names();
        n.sort_unstable();
        let len = n.len();
        n.dedup();
        assert_eq!(n.len(), len);
    }
}
