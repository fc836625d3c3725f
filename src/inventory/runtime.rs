//! Changes made to the inventory while a playbook runs: `add_host` and `group_by`
//! (src/executor/actions/add_host.rs, group_by.rs), as Ansible's `InventoryManager`
//! `add_dynamic_host` and `add_dynamic_group` make them. Each reports whether it changed
//! anything, which is the task's `changed`.

use serde_json::{Map, Value};

use super::Inventory;

impl Inventory {
    /// Adds host `name` (if new) with `vars` merged over its own variables, and puts it in
    /// `groups` (created when missing). Whether anything changed; an error when a group_vars or
    /// host_vars file of a new group or host cannot be read.
    pub fn add_dynamic_host(
        &mut self,
        name: &str,
        groups: &[String],
        vars: &Map<String, Value>,
    ) -> Result<bool, String> {
        let known = self.known();
        let mut changed = false;
        if !self.hosts.contains_key(name) {
            self.add_host(name, None, None);
            changed = true;
        }
        if let Some(h) = self.hosts.get_mut(name) {
            for (k, v) in vars {
                if h.vars.get(k) != Some(v) {
                    crate::vars::set_var(&mut h.vars, k, v.clone());
                    changed = true;
                }
            }
        }
        for g in groups {
            if !self.groups.contains_key(g) {
                self.add_group(g);
                changed = true;
            }
            if self.groups.get(g).is_some_and(|grp| !grp.host_set.contains(name)) {
                self.add_host(name, Some(g), None);
                changed = true;
            }
        }
        if changed {
            self.refresh(known)?;
        }
        Ok(changed)
    }

    /// Puts host `host` in group `group` (created when missing), which becomes a child of each
    /// of `parents` (created when missing). Whether anything changed; an error when the
    /// parents would make a loop.
    pub fn add_dynamic_group(&mut self, host: &str, group: &str, parents: &[String]) -> Result<bool, String> {
        let known = self.known();
        let mut changed = false;
        if !self.groups.contains_key(group) {
            self.add_group(group);
        }
        for p in parents {
            if !self.groups.contains_key(p) {
                self.add_group(p);
                changed = true;
            }
            let is_child = self.groups.get(p).is_some_and(|g| g.children.iter().any(|c| c == group));
            if !is_child && p != "all" {
                self.add_child(p, group)?;
                changed = true;
            }
        }
        if !self.hosts.contains_key(host) {
            // The implicit localhost becomes a host of the inventory, keeping its local
            // connection, as Ansible's does.
            let local = super::LOCALHOST_NAMES.contains(&host).then(|| self.implicit_localhost_vars(host));
            self.add_host(host, None, None);
            if let (Some(vars), Some(h)) = (local, self.hosts.get_mut(host)) {
                for key in ["ansible_connection", "ansible_python_interpreter"] {
                    if let Some(v) = vars.get(key) {
                        h.vars.insert(key.into(), v.clone());
                    }
                }
            }
        }
        if self.groups.get(group).is_some_and(|g| !g.host_set.contains(host)) {
            self.add_host(host, Some(group), None);
            changed = true;
        }
        if changed {
            self.refresh(known)?;
        }
        Ok(changed)
    }

    /// The group and host names there are now.
    fn known(&self) -> (Vec<String>, Vec<String>) {
        (self.groups.keys().cloned().collect(), self.hosts.keys().cloned().collect())
    }

    /// Recomputes what depends on the groups and hosts (Ansible's `reconcile_inventory`), after
    /// reading the group_vars/host_vars files of the groups and hosts not in `known`.
    fn refresh(&mut self, known: (Vec<String>, Vec<String>)) -> Result<(), String> {
        let groups: Vec<String> = self.groups.keys().filter(|g| !known.0.contains(g)).cloned().collect();
        let hosts: Vec<String> = self.hosts.keys().filter(|h| !known.1.contains(h)).cloned().collect();
        for d in self.inventory_dirs.iter_mut().chain(self.playbook_dirs.iter_mut()) {
            d.load(groups.iter(), hosts.clone()).map_err(|e| e.to_string())?;
        }
        self.reconcile();
        self.compute_group_hosts();
        self.compute_merged();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_and_groups_added_while_running() {
        let mut inv = Inventory::from_groups(&[("web".to_string(), vec!["w1".to_string()])]);
        let vars: Map<String, Value> = serde_json::from_value(json!({"ansible_host": "10.0.0.9"})).unwrap();
        assert!(inv.add_dynamic_host("new", &["extra".to_string()], &vars).unwrap());
        assert!(!inv.add_dynamic_host("new", &["extra".to_string()], &vars).unwrap(), "nothing new the second time");
        assert_eq!(inv.host_vars("new")["ansible_host"], "10.0.0.9");
        assert_eq!(inv.select("extra").unwrap(), vec!["new"]);
        assert_eq!(inv.group_names("new"), vec!["extra"]);
        assert!(inv.hosts().contains(&"new".to_string()));

        assert!(inv.add_dynamic_group("w1", "by_os", &["linux".to_string()]).unwrap());
        assert!(!inv.add_dynamic_group("w1", "by_os", &["linux".to_string()]).unwrap());
        assert_eq!(inv.select("linux").unwrap(), vec!["w1"]);
        assert_eq!(inv.group_names("w1"), vec!["by_os", "linux", "web"]);
        assert_eq!(inv.groups_var()["by_os"], json!(["w1"]));
    }

    #[test]
    fn group_vars_files_apply_to_groups_made_while_running() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("hosts"), "[web]\nw1\n").unwrap();
        std::fs::create_dir(dir.path().join("group_vars")).unwrap();
        std::fs::write(dir.path().join("group_vars/dyn.yml"), "from_dyn: 1\n").unwrap();
        let mut inv = Inventory::load(&[dir.path().join("hosts")]).unwrap();
        assert!(inv.host_vars("w1").get("from_dyn").is_none());
        assert!(inv.add_dynamic_group("w1", "dyn", &["all".to_string()]).unwrap());
        assert_eq!(inv.host_vars("w1")["from_dyn"], 1);
    }
}
