//! `orc playbooks`: the playbooks built into the binary (src/ops/embedded.rs): their list, one's
//! source, or all of them written out to change them.

use crate::cli::PlaybooksArgs;
use crate::error::{OrcError, Result};

/// Runs `orc playbooks`; returns the exit code.
pub fn playbooks(args: &PlaybooksArgs) -> Result<i32> {
    let all = super::embedded::builtins();
    if let Some(dir) = &args.export {
        let n = super::embedded::export(dir)?;
        println!("wrote {n} files (the built-in playbooks and their roles) to {}", dir.display());
        return Ok(0);
    }
    if let Some(name) = &args.name {
        let name = name.strip_suffix(".yaml").or_else(|| name.strip_suffix(".yml")).unwrap_or(name);
        let Some(b) = all.iter().find(|b| b.name == name) else {
            let names: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
            return Err(OrcError::Usage(format!(
                "no built-in playbook '{name}'; the built-in playbooks are: {}",
                names.join(", ")
            )));
        };
        print!("{}", b.text);
        return Ok(0);
    }
    let width = all.iter().map(|b| b.name.len()).max().unwrap_or(0);
    println!("Built-in playbooks (run one with `orc play NAME -i INVENTORY`; a file NAME.yaml on disk wins):");
    for b in &all {
        println!("  {:width$}  {}", b.name, b.summary());
    }
    println!("`orc playbooks NAME` prints one; `orc playbooks --export DIR` writes them all with their roles.");
    Ok(0)
}
