//! `systemd`: Ansible's older name for `systemd_service`, the same module under a second name.

use crate::builtin::systemd_service::{
    apply_systemd, check_systemd_args, decide_systemd, SystemdAction, SystemdArgs, SYSTEMD_RETURNS,
};
use crate::contract::{ArgError, Decision, ModuleCtx, ModuleError, RunResult, TypedModule};
use crate::doc::ModuleText;

/// The `systemd` module: `systemd_service` under its historical name.
pub struct Systemd;

impl TypedModule for Systemd {
    type Args = SystemdArgs;
    const NAME: &'static str = "systemd";
    const TWO_PHASE: bool = true;
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

    fn decide(&self, a: &SystemdArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        decide_systemd(a, ctx)
    }

    fn apply(&self, a: SystemdArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (_, act) = decision.take_action::<SystemdAction>(Self::NAME)?;
        apply_systemd(&a, act, ctx)
    }
}
