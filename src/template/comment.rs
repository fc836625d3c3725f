//! Ansible's `comment` filter: wraps text in comment decoration (`# ` lines by default, or the
//! `erlang`, `c`, `cblock` and `xml` styles), as used for `{{ ansible_managed | comment }}`.

use minijinja::value::{Kwargs, Value};
use minijinja::Error;

use super::filters::err;
use super::pyfmt;

/// `comment(style='plain', decoration=, beginning=, end=, prefix=, prefix_count=, postfix=,
/// postfix_count=, newline=)`.
pub(crate) fn comment(text: Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let style = match style {
        Some(s) => s,
        None => kwargs.get::<Option<String>>("style")?.unwrap_or_else(|| "plain".into()),
    };
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => return Err(err(format!("Invalid style '{other}'. Available styles: plain, erlang, c, cblock, xml"))),
    };
    let opt = |key: &str, default: &str| -> Result<String, Error> {
        Ok(kwargs.get::<Option<Value>>(key)?.map_or_else(|| default.to_string(), |v| pyfmt::to_str(&v)))
    };
    let prepostfix = opt("decoration", decoration)?;
    let newline = opt("newline", "\n")?;
    let beginning = opt("beginning", beginning)?;
    let decoration = opt("decoration", decoration)?;
    let prefix = opt("prefix", prepostfix.trim_end())?;
    let postfix = opt("postfix", prepostfix.trim_end())?;
    let end = opt("end", end)?;
    let prefix_count: usize = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let postfix_count: usize = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    super::filters::check_size("comment", "prefix_count", prefix_count)?;
    super::filters::check_size("comment", "postfix_count", postfix_count)?;

    let text = pyfmt::to_str(&text);
    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let one = if prefix != newline { format!("{prefix}{newline}") } else { newline.clone() };
        out.push_str(&one.repeat(prefix_count));
    }
    let body = format!("{decoration}{}", text.replace(&newline, &format!("{newline}{decoration}")));
    out.push_str(&body.replace(&format!("{decoration}{newline}"), &format!("{}{newline}", decoration.trim_end())));
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}
