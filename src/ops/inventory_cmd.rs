//! `orc inventory --list | --graph | --host`.

use std::io::Write;

use crate::cli::InventoryArgs;
use crate::error::Result;
use crate::inventory::to_ansible_json;

/// Prints the inventory as asked, in `ansible-inventory`'s exact format; returns the exit code.
pub fn inventory(args: &InventoryArgs) -> Result<i32> {
    let settings = super::settings()?;
    super::vault_passwords(&args.vault, &settings)?;
    let inv = super::load_inventory(&args.inventory, &settings)?;
    let text = if args.list {
        match &args.limit {
            Some(l) => to_ansible_json(&inv.list_json_for(&inv.limit(inv.hosts(), l)?)),
            None => to_ansible_json(&inv.list_json()),
        }
    } else if let Some(group) = &args.graph {
        inv.graph(Some(group.as_str()))?
    } else if let Some(host) = &args.host {
        to_ansible_json(&inv.host_json(host)?)
    } else {
        String::new()
    };
    // Through the censor, as everything orc prints: a decrypted variable shows as ********.
    let mut out = crate::secrets::CensorWriter::new(std::io::stdout());
    // A closed pipe (`| head`) is not an error.
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    Ok(0)
}
