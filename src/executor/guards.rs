//! Which variables a template guards against being undefined itself: those it tests with
//! `is defined` / `is undefined` / `is none`, or filters through `default` / `d` /
//! `mandatory`. The up-front undefined-variable check leaves exactly those alone: the test is
//! on the template's tokens, so a template that merely contains the word "default" (a variable
//! `default_port`, a string) is still checked.

use std::collections::HashSet;

use minijinja::machinery::{tokenize, Token};
use minijinja::syntax::SyntaxConfig;

/// The root names of the variables `source` guards. `expr`: `source` is a bare expression (a
/// `when:` condition), not a template.
pub fn guarded_names(source: &str, expr: bool) -> HashSet<String> {
    let tokens: Vec<Token<'_>> =
        tokenize(source, expr, SyntaxConfig::default()).filter_map(Result::ok).map(|(t, _)| t).collect();
    let mut out = HashSet::new();
    let mut i = 0;
    while i < tokens.len() {
        let Token::Ident(name) = &tokens[i] else {
            i += 1;
            continue;
        };
        // A root variable: not an attribute (`x.name`), a filter name (`| upper`) or a test name
        // (`is defined`, `is not none`).
        let prev = |k: usize| i.checked_sub(k).and_then(|p| tokens.get(p));
        let test_name = matches!((prev(2), prev(1)), (Some(Token::Ident("is")), Some(Token::Ident("not"))));
        let is_root = !test_name && !matches!(prev(1), Some(Token::Dot | Token::Pipe | Token::Ident("is")));
        let root = name.to_string();
        let mut j = i + 1;
        // Skip the access path: `.attr`, `[...]`.
        loop {
            match tokens.get(j) {
                Some(Token::Dot) => j += 2,
                Some(Token::BracketOpen) => {
                    let mut depth = 0usize;
                    while let Some(t) = tokens.get(j) {
                        match t {
                            Token::BracketOpen => depth += 1,
                            Token::BracketClose => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    j += 1;
                }
                _ => break,
            }
        }
        if is_root && guards(&tokens[j.min(tokens.len())..]) {
            out.insert(root);
        }
        i += 1;
    }
    out
}

/// Whether the tokens after a variable guard it: `| default`, `| d`, `| mandatory`,
/// `is [not] defined|undefined|none`.
fn guards(rest: &[Token<'_>]) -> bool {
    matches!(
        rest,
        [Token::Pipe, Token::Ident("default" | "d" | "mandatory"), ..]
            | [Token::Ident("is"), Token::Ident("not"), Token::Ident("defined" | "undefined" | "none"), ..]
            | [Token::Ident("is"), Token::Ident("defined" | "undefined" | "none"), ..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &str, expr: bool) -> Vec<String> {
        let mut v: Vec<String> = guarded_names(s, expr).into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn only_guarded_variables_are_named() {
        assert_eq!(names("{{ x | default('a') }} {{ y }}", false), vec!["x"]);
        assert_eq!(names("{{ a.b['c'] | d(1) }}", false), vec!["a"]);
        assert_eq!(names("x is defined and x > 1", true), vec!["x"]);
        assert_eq!(names("z is not none", true), vec!["z"]);
        assert_eq!(names("not w is defined", true), vec!["w"]);
        assert_eq!(names("{% if v is undefined %}{% endif %}", false), vec!["v"]);
        // The word "default" alone guards nothing.
        assert!(names("{{ default_port }} default", false).is_empty());
        assert!(names("{{ 'default' ~ y }}", false).is_empty());
        assert!(names("{{ y | upper }}", false).is_empty());
    }
}
