//! `orc run` (ad-hoc) flags that choose how hosts are reached.

mod common;

use common::{Orc, Project};

#[test]
fn dash_c_sets_the_connection_of_hosts_that_set_none() {
    let p = Project::new()
        .file("hosts.ini", "web1\nweb2\npinned ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1\n");
    // Without -c the hosts would be reached over SSH (nothing listens there for web1/web2).
    Orc::new()
        .args(["run", "web*", "-c", "local", "-m", "shell", "-a", "echo from $0", "-i"])
        .arg(p.join("hosts.ini"))
        .run()
        .success()
        .stdout_has("web1 | CHANGED | rc=0 >>\nfrom ")
        .stdout_has("web2 | CHANGED | rc=0 >>\nfrom ");
    // A host's own ansible_connection wins over -c, as in Ansible.
    Orc::new()
        .args(["run", "pinned", "-c", "local", "-m", "ping", "-T", "2", "-i"])
        .arg(p.join("hosts.ini"))
        .run()
        .code(4)
        .stdout_has("pinned | UNREACHABLE!");
}
