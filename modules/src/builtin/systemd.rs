//! `systemd`: Ansible's older name for `systemd_service`, the same module under a second name.

use crate::builtin::systemd_service::{check_systemd_args, run_systemd, SystemdArgs, SYSTEMD_RETURNS};
use crate::contract::{ArgError, ModuleCtx, RunResult, TypedModule};
use crate::doc::ModuleText;

/// The `systemd` module: `systemd_service` under its historical name.
pub struct Systemd;

impl TypedModule for Systemd {
    type Args = SystemdArgs;
    const NAME: &'static str = "systemd";
    const DOC: ModuleText = ModuleText {
        short: "Ansible's older name for `systemd_service`: starts, stops, restarts, reloads, enables, \
                disables, masks or unmasks a systemd unit.",
        notes: "The same module as `systemd_service` (same arguments, behaviour and return values; see \
                `orc doc systemd_service`): one command reads the unit's state and systemctl runs only \
                for what differs; `restarted` and `reloaded` always report a change.",
        returns: SYSTEMD_RETURNS,
        example: "- name: Restart the app after a configuration change\n  ansible.builtin.systemd:\n    \
                  name: app.service\n    state: restarted\n    daemon_reload: true\n",
    };

    fn check_args(a: &SystemdArgs) -> Result<(), ArgError> {
        check_systemd_args(a)
    }

    fn run(&self, a: SystemdArgs, ctx: &mut ModuleCtx) -> RunResult {
        run_systemd(&a, ctx)
    }
}
