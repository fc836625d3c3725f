//! Python's `%` operator inside templates: `"%s-%d" % (name, n)` formats a string (printf
//! style, as Jinja evaluates Python operators on Python values) and `7 % 3` is the remainder.
//!
//! minijinja's `%` is the numeric remainder only and has no operator hook, so the template's
//! source is rewritten when it is loaded (`load_template_with` in src/template/mod.rs): every
//! `LEFT % RIGHT` the parser sees becomes `__orc_percent(LEFT, RIGHT)`, a function that does what
//! Python does with the two values. The spans come from minijinja's own parser, so operator
//! precedence, parentheses, string literals, `{% raw %}` sections and comments are exactly what
//! the compiler will see; a source that does not parse is left as it is (compiling it reports
//! the error). A tuple written in the template (`% (a, b)`) stays a tuple at run time
//! (`Value::is_tuple`), which tells Python's argument tuple from one value that is a list.

use std::borrow::Cow;

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::pyfmt;

/// The function a rewritten `%` calls.
pub(crate) const FUNCTION: &str = "__orc_percent";

/// Rewrites every `%` operator of `source` into a call of [`FUNCTION`]; borrowed when there is
/// none (the usual case: only a `%` that is not part of a `{%`/`%}` delimiter makes it parse).
pub(crate) fn rewrite(source: &str, syntax: SyntaxConfig) -> Cow<'_, str> {
    if !may_have_operator(source) {
        return Cow::Borrowed(source);
    }
    let Ok(ast) = minijinja::machinery::parse(source, "<percent>", syntax) else {
        return Cow::Borrowed(source);
    };
    let mut edits = Vec::new();
    stmt(&ast, source, &mut edits);
    if edits.is_empty() {
        return Cow::Borrowed(source);
    }
    // At one offset a call closing comes first, then the operator, then a call opening.
    edits.sort_by_key(|e| (e.at, e.order));
    let mut out = String::with_capacity(source.len() + edits.len() * 8);
    let mut pos = 0;
    for e in edits {
        if e.at < pos || e.at > source.len() || !source.is_char_boundary(e.at) {
            return Cow::Borrowed(source);
        }
        out.push_str(&source[pos..e.at]);
        out.push_str(e.text);
        pos = e.at + e.replaces;
    }
    out.push_str(&source[pos.min(source.len())..]);
    Cow::Owned(out)
}

/// Whether `source` has a `%` that is not the `%` of a `{%` or `%}` delimiter.
fn may_have_operator(source: &str) -> bool {
    let b = source.as_bytes();
    b.iter().enumerate().any(|(i, &c)| c == b'%' && !(i > 0 && b[i - 1] == b'{') && b.get(i + 1) != Some(&b'}'))
}

/// One change of the source: `replaces` bytes at `at` become `text`.
struct Edit {
    at: usize,
    order: u8,
    replaces: usize,
    text: &'static str,
}

fn stmts(list: &[Stmt<'_>], src: &str, edits: &mut Vec<Edit>) {
    for s in list {
        stmt(s, src, edits);
    }
}

fn stmt(s: &Stmt<'_>, src: &str, edits: &mut Vec<Edit>) {
    match s {
        Stmt::Template(t) => stmts(&t.children, src, edits),
        Stmt::EmitExpr(e) => expr(&e.expr, src, edits),
        Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
        Stmt::ForLoop(f) => {
            expr(&f.target, src, edits);
            expr(&f.iter, src, edits);
            if let Some(e) = &f.filter_expr {
                expr(e, src, edits);
            }
            stmts(&f.body, src, edits);
            stmts(&f.else_body, src, edits);
        }
        Stmt::IfCond(c) => {
            expr(&c.expr, src, edits);
            stmts(&c.true_body, src, edits);
            stmts(&c.false_body, src, edits);
        }
        Stmt::WithBlock(w) => {
            for (target, value) in &w.assignments {
                expr(target, src, edits);
                expr(value, src, edits);
            }
            stmts(&w.body, src, edits);
        }
        Stmt::Set(set) => {
            expr(&set.target, src, edits);
            expr(&set.expr, src, edits);
        }
        Stmt::SetBlock(set) => {
            if let Some(f) = &set.filter {
                expr(f, src, edits);
            }
            stmts(&set.body, src, edits);
        }
        Stmt::AutoEscape(a) => {
            expr(&a.enabled, src, edits);
            stmts(&a.body, src, edits);
        }
        Stmt::FilterBlock(f) => {
            expr(&f.filter, src, edits);
            stmts(&f.body, src, edits);
        }
        Stmt::Block(b) => stmts(&b.body, src, edits),
        Stmt::Import(i) => {
            expr(&i.expr, src, edits);
            expr(&i.name, src, edits);
        }
        Stmt::FromImport(i) => {
            expr(&i.expr, src, edits);
            for (name, alias) in &i.names {
                expr(name, src, edits);
                if let Some(a) = alias {
                    expr(a, src, edits);
                }
            }
        }
        Stmt::Extends(e) => expr(&e.name, src, edits),
        Stmt::Include(i) => expr(&i.name, src, edits),
        Stmt::Macro(m) => {
            exprs(&m.args, src, edits);
            exprs(&m.defaults, src, edits);
            stmts(&m.body, src, edits);
        }
        Stmt::CallBlock(c) => {
            expr(&c.call.expr, src, edits);
            args(&c.call.args, src, edits);
            exprs(&c.macro_decl.args, src, edits);
            exprs(&c.macro_decl.defaults, src, edits);
            stmts(&c.macro_decl.body, src, edits);
        }
        Stmt::Do(d) => {
            expr(&d.call.expr, src, edits);
            args(&d.call.args, src, edits);
        }
    }
}

fn exprs(list: &[Expr<'_>], src: &str, edits: &mut Vec<Edit>) {
    for e in list {
        expr(e, src, edits);
    }
}

fn args(list: &[CallArg<'_>], src: &str, edits: &mut Vec<Edit>) {
    for a in list {
        match a {
            CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
                expr(e, src, edits)
            }
        }
    }
}

fn expr(e: &Expr<'_>, src: &str, edits: &mut Vec<Edit>) {
    match e {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            expr(&s.expr, src, edits);
            for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                expr(part, src, edits);
            }
        }
        Expr::UnaryOp(u) => expr(&u.expr, src, edits),
        Expr::BinOp(b) => {
            if matches!(b.op, BinOpKind::Rem) {
                operator(b.span(), &b.left, src, edits);
            }
            expr(&b.left, src, edits);
            expr(&b.right, src, edits);
        }
        Expr::Compare(c) => {
            expr(&c.expr, src, edits);
            for op in &c.ops {
                expr(&op.expr, src, edits);
            }
        }
        Expr::IfExpr(i) => {
            expr(&i.test_expr, src, edits);
            expr(&i.true_expr, src, edits);
            if let Some(f) = &i.false_expr {
                expr(f, src, edits);
            }
        }
        Expr::Filter(f) => {
            if let Some(e) = &f.expr {
                expr(e, src, edits);
            }
            args(&f.args, src, edits);
        }
        Expr::Test(t) => {
            expr(&t.expr, src, edits);
            args(&t.args, src, edits);
        }
        Expr::GetAttr(g) => expr(&g.expr, src, edits),
        Expr::GetItem(g) => {
            expr(&g.expr, src, edits);
            expr(&g.subscript_expr, src, edits);
        }
        Expr::Call(c) => {
            expr(&c.expr, src, edits);
            args(&c.args, src, edits);
        }
        Expr::List(l) => exprs(&l.items, src, edits),
        Expr::Tuple(t) => exprs(&t.items, src, edits),
        Expr::Map(m) => {
            exprs(&m.keys, src, edits);
            exprs(&m.values, src, edits);
        }
    }
}

/// The edits of one `%` operation spanning `span` whose left operand is `left`: the operator is
/// the first `%` after the left operand (only closing parentheses and blanks come between).
fn operator(span: minijinja::machinery::Span, left: &Expr<'_>, src: &str, edits: &mut Vec<Edit>) {
    let (start, end) = (span.start_offset as usize, span.end_offset as usize);
    let after_left = left.span().end_offset as usize;
    let Some(rest) = src.get(after_left..end) else { return };
    let Some(at) = rest.find(|c: char| !(c.is_whitespace() || c == ')')) else { return };
    if !rest[at..].starts_with('%') {
        return;
    }
    edits.push(Edit { at: start, order: 2, replaces: 0, text: "__orc_percent(" });
    edits.push(Edit { at: after_left + at, order: 1, replaces: 1, text: "," });
    edits.push(Edit { at: end, order: 0, replaces: 0, text: ")" });
}

/// `left % right` as Python evaluates it: printf-style formatting when `left` is a string,
/// else the remainder of two numbers (floored, as Python's).
pub(crate) fn percent(left: Value, right: Value) -> Result<Value, Error> {
    if left.is_undefined() || right.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Some(fmt) = left.as_str() {
        return format(fmt, &right).map(Value::from);
    }
    remainder(&left, &right)
}

fn type_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python's `int % int` and `float % float` (the result has the sign of the divisor).
fn remainder(left: &Value, right: &Value) -> Result<Value, Error> {
    let numeric = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if !numeric(left) || !numeric(right) {
        return Err(type_error(format!(
            "unsupported operand type(s) for %: '{}' and '{}'",
            super::filters::type_debug(left),
            super::filters::type_debug(right)
        )));
    }
    let int = |v: &Value| -> Option<i128> {
        if v.kind() == ValueKind::Bool {
            return Some(i128::from(v.is_true()));
        }
        v.is_integer().then(|| i128::try_from(v.clone()).ok()).flatten()
    };
    if let (Some(a), Some(b)) = (int(left), int(right)) {
        if b == 0 {
            return Err(type_error("integer modulo by zero"));
        }
        let r = a.checked_rem(b).unwrap_or(0);
        let r = if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r };
        return Ok(i64::try_from(r).map(Value::from).unwrap_or_else(|_| Value::from(r)));
    }
    let float = |v: &Value| f64::try_from(v.clone()).ok();
    let (Some(a), Some(b)) = (float(left), float(right)) else {
        return Err(type_error("unsupported operand type(s) for %"));
    };
    if b == 0.0 {
        return Err(type_error("float modulo"));
    }
    let mut r = a % b;
    if r != 0.0 {
        if (r < 0.0) != (b < 0.0) {
            r += b;
        }
    } else {
        r = 0.0f64.copysign(b);
    }
    Ok(Value::from(r))
}

/// One conversion of a format string, read by [`directives`].
struct Directive<'a> {
    /// `%(key)...`: the mapping key.
    key: Option<&'a str>,
    /// Flags, width and precision as written (`*` widths already taken from the arguments).
    spec: String,
    /// The conversion character.
    conv: char,
}

/// Python's `fmt % args`, on minijinja's printf formatting: each directive of `fmt` is given its
/// value (from the tuple, the one value, or the mapping), `%s` values become Python's `str()`,
/// `%r`/`%a` Python's `repr()`, and the result is formatted with positional directives only.
fn format(fmt: &str, right: &Value) -> Result<String, Error> {
    let mut positional: Vec<Value> = if right.is_tuple() {
        right.try_iter().map(|it| it.collect()).unwrap_or_default()
    } else {
        vec![right.clone()]
    };
    positional.reverse();
    let is_mapping = !right.is_tuple() && right.kind() == ValueKind::Map;
    let mut out_fmt = String::with_capacity(fmt.len());
    let mut args = Vec::new();
    let next_arg = |positional: &mut Vec<Value>| {
        positional.pop().ok_or_else(|| type_error("not enough arguments for format string"))
    };
    let mut rest = fmt;
    while let Some(at) = rest.find('%') {
        out_fmt.push_str(&rest[..at]);
        let (d, len) = directive(&rest[at..], fmt.len() - rest.len() + at, &mut || next_arg(&mut positional))?;
        rest = &rest[at + len..];
        let Some(d) = d else {
            out_fmt.push_str("%%");
            continue;
        };
        let value = match d.key {
            Some(key) => {
                if !is_mapping {
                    return Err(type_error("format requires a mapping"));
                }
                right.get_attr(key).ok().filter(|v| !v.is_undefined()).ok_or_else(|| type_error(format!("'{key}'")))?
            }
            None => next_arg(&mut positional)?,
        };
        let (conv, value) = match d.conv {
            's' => ('s', Value::from(pyfmt::to_str(&value))),
            'r' | 'a' => ('s', Value::from(pyfmt::repr(&value))),
            'd' | 'i' | 'u' => {
                let value = match value.kind() {
                    ValueKind::Number if !value.is_integer() => {
                        f64::try_from(value.clone()).map(|f| Value::from(f.trunc() as i64)).unwrap_or(value)
                    }
                    _ => value,
                };
                ('d', value)
            }
            c => (c, value),
        };
        out_fmt.push('%');
        out_fmt.push_str(&d.spec);
        out_fmt.push(conv);
        args.push(value);
    }
    out_fmt.push_str(rest);
    // A mapping may be left unused (`'text' % {}`); an argument tuple or one value may not.
    if !positional.is_empty() && !is_mapping {
        return Err(type_error("not all arguments converted during string formatting"));
    }
    minijinja::formatting::format(minijinja::formatting::FormatStyle::Printf, &out_fmt, &args)
}

/// Reads the directive `text` starts with (at `%`), at `index` of the whole format: `None` for
/// `%%`, and its length.
fn directive<'a>(
    text: &'a str,
    index: usize,
    next_arg: &mut dyn FnMut() -> Result<Value, Error>,
) -> Result<(Option<Directive<'a>>, usize), Error> {
    let bytes = text.as_bytes();
    let mut i = 1;
    let mut key = None;
    if bytes.get(i) == Some(&b'(') {
        let close = text[i..].find(')').ok_or_else(|| type_error("incomplete format key"))?;
        key = Some(&text[i + 1..i + close]);
        i += close + 1;
    }
    let mut spec = String::new();
    while let Some(&c) = bytes.get(i).filter(|c| b"#0- +".contains(c)) {
        spec.push(char::from(c));
        i += 1;
    }
    let mut number = |i: &mut usize, spec: &mut String| -> Result<(), Error> {
        if bytes.get(*i) == Some(&b'*') {
            let n = next_arg()?;
            let n = i64::try_from(n).map_err(|_| type_error("* wants int"))?;
            spec.push_str(&n.to_string());
            *i += 1;
            return Ok(());
        }
        while let Some(&c) = bytes.get(*i).filter(|c| c.is_ascii_digit()) {
            spec.push(char::from(c));
            *i += 1;
        }
        Ok(())
    };
    number(&mut i, &mut spec)?;
    if bytes.get(i) == Some(&b'.') {
        spec.push('.');
        i += 1;
        number(&mut i, &mut spec)?;
    }
    if matches!(bytes.get(i), Some(b'h' | b'l' | b'L')) {
        i += 1;
    }
    let Some(conv) = text[i..].chars().next() else {
        return Err(type_error("incomplete format"));
    };
    let len = i + conv.len_utf8();
    if conv == '%' && key.is_none() && spec.is_empty() {
        return Ok((None, len));
    }
    if !"sradiuoxXeEfFgGc".contains(conv) {
        return Err(type_error(format!(
            "unsupported format character '{conv}' (0x{:x}) at index {}",
            u32::from(conv),
            index + i
        )));
    }
    Ok((Some(Directive { key, spec, conv }), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        rewrite(s, SyntaxConfig::default()).into_owned()
    }

    #[test]
    fn every_percent_operator_becomes_a_call_and_nothing_else_changes() {
        assert_eq!(rw("{{ '%s' % x }}"), "{{ __orc_percent('%s' , x) }}");
        assert_eq!(rw("{{ 'a%s' % (x) }}"), "{{ __orc_percent('a%s' , (x)) }}");
        assert_eq!(rw("{{ '%d-%s' % (a, b) }}"), "{{ __orc_percent('%d-%s' , (a, b)) }}");
        assert_eq!(rw("{{ a + b % c * d }}"), "{{ a + __orc_percent(b , c) * d }}");
        assert_eq!(rw("{{ a % b % c }}"), "{{ __orc_percent(__orc_percent(a , b) , c) }}");
        assert_eq!(rw("{{a%b%c}}"), "{{__orc_percent(__orc_percent(a,b),c)}}");
        assert_eq!(rw("{{ (a) % f(b % c) }}"), "{{ __orc_percent((a) , f(__orc_percent(b , c))) }}");
        assert_eq!(rw("{{ x | f % 2 }}"), "{{ __orc_percent(x | f , 2) }}");
        assert_eq!(rw("{{ 'é%s' % 'ü' }}"), "{{ __orc_percent('é%s' , 'ü') }}");
        assert_eq!(rw("{% if n % 2 == 0 %}even{% endif %}"), "{% if __orc_percent(n , 2) == 0 %}even{% endif %}");
        assert_eq!(rw("{% set y = '%s' % x -%}{{ y }}"), "{% set y = __orc_percent('%s' , x) -%}{{ y }}");
        // Untouched: delimiters, literals, raw sections, comments, text, broken sources.
        for s in [
            "{% if x %}100%{% endif %}",
            "{{ '%s' }} 50 % {{ x }}",
            "{% raw %}{{ a % b }}{% endraw %}",
            "{# a % b #}",
            "{{ a % }}",
            "{%- if x -%}y{%- endif -%}",
        ] {
            assert_eq!(rw(s), s);
        }
    }

    fn p(left: Value, right: Value) -> Result<String, String> {
        percent(left, right).map(|v| pyfmt::to_str(&v)).map_err(|e| e.detail().unwrap_or_default().to_string())
    }

    fn tuple(items: Vec<Value>) -> Value {
        Value::from(minijinja::value::Tuple::from(items))
    }

    #[test]
    fn strings_format_as_python_does() {
        let s = |v: &str| Value::from(v);
        assert_eq!(p(s("%s/x"), s("/tmp")).as_deref(), Ok("/tmp/x"));
        assert_eq!(p(s("%d-%s"), tuple(vec![Value::from(7), s("a")])).as_deref(), Ok("7-a"));
        assert_eq!(p(s("%s"), Value::from(vec![1, 2])).as_deref(), Ok("[1, 2]"));
        assert_eq!(p(s("%s %s"), tuple(vec![Value::from(true), Value::from(())])).as_deref(), Ok("True None"));
        assert_eq!(
            p(
                s("%r|%5s|%-3d|%03d|%.2f|%x|%%"),
                tuple(vec![s("a"), s("b"), Value::from(4), Value::from(5), Value::from(2.5), Value::from(255),])
            )
            .as_deref(),
            Ok("'a'|    b|4  |005|2.50|ff|%")
        );
        assert_eq!(p(s("%s"), Value::from(2.0)).as_deref(), Ok("2.0"));
        assert_eq!(p(s("%d"), Value::from(2.7)).as_deref(), Ok("2"));
        assert_eq!(p(s("%*d"), tuple(vec![Value::from(3), Value::from(1)])).as_deref(), Ok("  1"));
        let m = Value::from(minijinja::value::Serde(serde_json::json!({"name": "web", "n": 3})));
        assert_eq!(p(s("%(name)s-%(n)02d"), m.clone()).as_deref(), Ok("web-03"));
        assert_eq!(p(s("no directive"), m).as_deref(), Ok("no directive"));
        assert_eq!(p(s("%s %s"), s("a")).unwrap_err(), "not enough arguments for format string");
        assert_eq!(
            p(s("%s"), tuple(vec![s("a"), s("b")])).unwrap_err(),
            "not all arguments converted during string formatting"
        );
        assert_eq!(p(s("x"), s("a")).unwrap_err(), "not all arguments converted during string formatting");
        assert_eq!(p(s("%(a)s"), s("a")).unwrap_err(), "format requires a mapping");
        assert_eq!(p(s("%q"), s("a")).unwrap_err(), "unsupported format character 'q' (0x71) at index 1");
    }

    #[test]
    fn numbers_give_pythons_remainder() {
        let n = Value::from;
        assert_eq!(p(n(7), n(3)).as_deref(), Ok("1"));
        assert_eq!(p(n(-7), n(3)).as_deref(), Ok("2"));
        assert_eq!(p(n(7), n(-3)).as_deref(), Ok("-2"));
        assert_eq!(p(Value::from(7.5), n(2)).as_deref(), Ok("1.5"));
        assert_eq!(p(Value::from(-7.5), n(2)).as_deref(), Ok("0.5"));
        assert_eq!(p(n(1), n(0)).unwrap_err(), "integer modulo by zero");
        assert_eq!(p(Value::from(vec![1]), n(2)).unwrap_err(), "unsupported operand type(s) for %: 'list' and 'int'");
    }
}
