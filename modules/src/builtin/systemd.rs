//! `systemd`: Ansible's older name for `systemd_service`, the same module under a second name.

use crate::builtin::systemd_service::{check_systemd_args, run_systemd, SystemdArgs};
use crate::contract::{ArgError, ModuleCtx, RunResult, TypedModule};

/// The `systemd` module: `systemd_service` under its historical name.
pub struct Systemd;

impl TypedModule for Systemd {
    type Args = SystemdArgs;
    const NAME: &'static str = "systemd";

    fn check_args(a: &SystemdArgs) -> Result<(), ArgError> {
        check_systemd_args(a)
    }

    fn run(&self, a: SystemdArgs, ctx: &mut ModuleCtx) -> RunResult {
        run_systemd(&a, ctx)
    }
}
