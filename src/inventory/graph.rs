//! `orc inventory --graph [GROUP]`, drawn exactly as ansible-inventory draws it: `@group:` lines,
//! child groups first, then the group's own hosts (none listed directly under `all`), each level
//! indented by `  |`.

use super::Inventory;
use crate::error::{OrcError, Result};

/// The graph text starting at `group` (no trailing newline).
pub fn graph(inv: &Inventory, group: &str) -> Result<String> {
    if !inv.groups.contains_key(group) {
        return Err(OrcError::Usage(format!(
            "Pattern must be valid group name when using --graph (no group named '{group}')"
        )));
    }
    let mut lines = Vec::new();
    draw(inv, group, 0, &mut lines, 0);
    Ok(lines.join("\n"))
}

fn name_at(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

fn draw(inv: &Inventory, group: &str, depth: usize, out: &mut Vec<String>, guard: usize) {
    out.push(name_at(&format!("@{group}:"), depth));
    let Some(g) = inv.groups.get(group) else {
        return;
    };
    if guard > inv.groups.len() {
        return;
    }
    for c in &g.children {
        draw(inv, c, depth + 1, out, guard + 1);
    }
    if group != "all" {
        for h in &g.hosts {
            out.push(name_at(h, depth + 1));
        }
    }
}
