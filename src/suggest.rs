//! "Did you mean" hints: the closest known word to a misspelt one (module names, keywords,
//! module arguments, variables, handler names), where a typo is a few edits away, a swapped
//! pair of letters (`cpoy`) counting as one edit.

/// The closest candidate within a small edit distance of `word` (a third of the candidate's
/// length, at least one edit); `None` when nothing is close. A module's collection prefix
/// (`ansible.builtin.`) is ignored.
pub fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    let short = orc_modules::registry::short_name(word);
    candidates
        .iter()
        .filter(|c| **c != short)
        .map(|c| (distance(short, c), *c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

/// The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of two
/// adjacent characters each cost one.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swapped_letters_are_one_edit() {
        assert_eq!(distance("cpoy", "copy"), 1);
        assert_eq!(distance("contnet", "content"), 1);
        assert_eq!(distance("app_prot", "app_port"), 1);
        assert_eq!(distance("registr", "register"), 1);
        assert_eq!(distance("notfy", "notify"), 1);
        assert_eq!(distance("abc", "abc"), 0);
    }

    #[test]
    fn suggests_the_closest_known_word() {
        assert_eq!(suggest("cpoy", &["copy", "command", "cron"]).as_deref(), Some("copy"));
        assert_eq!(suggest("ansible.builtin.cpoy", &["copy", "file"]).as_deref(), Some("copy"));
        assert_eq!(suggest("contnet", &["content", "dest", "src"]).as_deref(), Some("content"));
        assert_eq!(suggest("xyz", &["copy", "file"]), None);
        // The word itself is no suggestion.
        assert_eq!(suggest("copy", &["copy"]), None);
    }
}
