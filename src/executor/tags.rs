//! `--tags` / `--skip-tags` selection with Ansible's special tags (always, never, tagged,
//! untagged, all).

/// Which tasks the tag options select.
#[derive(Debug, Clone, Default)]
pub struct TagFilter {
    /// `--tags` (empty = all).
    pub only: Vec<String>,
    /// `--skip-tags`.
    pub skip: Vec<String>,
}

impl TagFilter {
    /// Whether a task with these effective tags runs.
    pub fn selects(&self, tags: &[String]) -> bool {
        let has = |t: &str| tags.iter().any(|x| x == t);
        let selected = if self.only.is_empty() || self.only.iter().any(|t| t == "all") {
            !has("never") || self.only.iter().any(|t| tags.contains(t) && t != "never")
        } else {
            self.only.iter().any(|t| match t.as_str() {
                "tagged" => !tags.is_empty(),
                "untagged" => tags.is_empty(),
                _ => has(t),
            }) || (has("always") && !self.skip.iter().any(|s| s == "always"))
        };
        if !selected {
            return false;
        }
        !self.skip.iter().any(|t| match t.as_str() {
            "tagged" => !tags.is_empty(),
            "untagged" => tags.is_empty(),
            "all" => !has("always"),
            _ => has(t),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::TagFilter;

    fn f(only: &[&str], skip: &[&str]) -> TagFilter {
        TagFilter {
            only: only.iter().map(|s| s.to_string()).collect(),
            skip: skip.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn t(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_runs_all_but_never() {
        assert!(f(&[], &[]).selects(&t(&[])));
        assert!(f(&[], &[]).selects(&t(&["web"])));
        assert!(!f(&[], &[]).selects(&t(&["never", "debug"])));
    }

    #[test]
    fn only_and_always() {
        assert!(f(&["web"], &[]).selects(&t(&["web"])));
        assert!(!f(&["web"], &[]).selects(&t(&["db"])));
        assert!(f(&["web"], &[]).selects(&t(&["always"])));
        assert!(!f(&["web"], &["always"]).selects(&t(&["always"])));
        assert!(f(&["debug"], &[]).selects(&t(&["never", "debug"])));
    }

    #[test]
    fn skip() {
        assert!(!f(&[], &["web"]).selects(&t(&["web"])));
        assert!(f(&["untagged"], &[]).selects(&t(&[])));
    }
}
