//! Lookup plugins that reshape lists: `items`, `list`, `flattened`, `indexed_items`, `together`,
//! `nested`, `dict`, `subelements`, `random_choice` and `sequence`, as ansible-core 2.19 writes
//! them (`ansible/plugins/lookup/*.py`; the `_flatten`/`_combine` helpers of `LookupBase`).

use minijinja::value::{Value, ValueKind};
use minijinja::Error;

use super::filters::err;
use super::lookups::Call;
use super::pyfmt;

/// Runs one of this file's plugins.
pub(crate) fn run(call: &mut Call, plugin: &str, terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    if plugin != "sequence" {
        call.opts.check_known(plugin, &[])?;
    }
    match plugin {
        // `items` flattens one level; `list` returns the terms as they are.
        "items" => Ok(flatten_one(&terms)),
        "list" => Ok(terms),
        // community.general's `flattened` (kept for old playbooks): flattens every level.
        "flattened" => {
            let mut out = Vec::new();
            flatten_all(&terms, &mut out, 0)?;
            Ok(out)
        }
        "indexed_items" => {
            Ok(flatten_one(&terms).into_iter().enumerate().map(|(i, v)| Value::from(vec![Value::from(i), v])).collect())
        }
        "together" => together(&terms),
        "nested" => nested(&terms),
        "dict" => {
            let mut out = Vec::new();
            for term in &terms {
                if term.kind() != ValueKind::Map {
                    return Err(err(format!(
                        "the 'dict' lookup plugin expects a dictionary, got '{}' of type {}",
                        pyfmt::to_str(term),
                        super::filters::type_debug(term)
                    )));
                }
                for key in term.try_iter()? {
                    let value = term.get_item(&key)?;
                    out.push(Value::from_pairs([("key", key), ("value", value)]));
                }
            }
            Ok(out)
        }
        "subelements" => subelements(&terms),
        "random_choice" => {
            if terms.is_empty() {
                return Ok(terms);
            }
            let i = fastrand::usize(..terms.len());
            Ok(vec![terms[i].clone()])
        }
        "sequence" => sequence(call, &terms),
        other => Err(err(format!("unknown list lookup {other}"))),
    }
}

/// `LookupBase._flatten`: lists among the terms are spliced in, one level.
fn flatten_one(terms: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        match t.kind() {
            ValueKind::Seq => out.extend(t.try_iter().into_iter().flatten()),
            _ => out.push(t.clone()),
        }
    }
    out
}

fn flatten_all(terms: &[Value], out: &mut Vec<Value>, depth: usize) -> Result<(), Error> {
    if depth > 100 {
        return Err(err("flattened: lists nested more than 100 levels deep"));
    }
    for t in terms {
        match t.kind() {
            ValueKind::Seq => flatten_all(&t.try_iter()?.collect::<Vec<_>>(), out, depth + 1)?,
            _ => out.push(t.clone()),
        }
    }
    Ok(())
}

/// The items of one term of a list plugin: a list's items, or the value alone.
fn as_list(v: &Value) -> Vec<Value> {
    match v.kind() {
        ValueKind::Seq => v.try_iter().map(Iterator::collect).unwrap_or_default(),
        _ => vec![v.clone()],
    }
}

/// `with_together`: the lists transposed, shorter ones padded with None.
fn together(terms: &[Value]) -> Result<Vec<Value>, Error> {
    if terms.is_empty() {
        return Err(err("with_together requires at least one element in each list"));
    }
    let lists: Vec<Vec<Value>> = terms.iter().map(as_list).collect();
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..longest)
        .map(|i| {
            Value::from(flatten_one(
                &lists.iter().map(|l| l.get(i).cloned().unwrap_or(Value::from(()))).collect::<Vec<_>>(),
            ))
        })
        .collect())
}

/// `with_nested`: the cartesian product of the lists, in order.
fn nested(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let Some((first, rest)) = terms.split_first() else {
        return Err(err("with_nested requires at least one element in the nested list"));
    };
    let mut result: Vec<Value> = as_list(first);
    for term in rest {
        let other = as_list(term);
        if result.len().saturating_mul(other.len()) > 1_000_000 {
            return Err(err("with_nested: the product has more than 1000000 items"));
        }
        let mut combined = Vec::with_capacity(result.len() * other.len());
        for x in &result {
            for y in &other {
                combined.push(Value::from(flatten_one(&[x.clone(), y.clone()])));
            }
        }
        result = combined;
    }
    Ok(result.iter().map(|x| Value::from(flatten_one(&as_list(x)))).collect())
}

/// `with_subelements: [list_of_dicts, 'key.subkey', {skip_missing: true}]`: one item per
/// element of the sub-list, paired with its parent (the parent without that key, as Ansible pops
/// it).
fn subelements(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let usage = "subelements lookup expects a list of two or three items, ";
    if !(2..=3).contains(&terms.len()) {
        return Err(err(usage));
    }
    let (base, key) = (&terms[0], &terms[1]);
    if !matches!(base.kind(), ValueKind::Seq | ValueKind::Map) || key.kind() != ValueKind::String {
        return Err(err(format!("{usage}first a dict or a list, second a string pointing to the subkey")));
    }
    let path: Vec<String> = pyfmt::to_str(key).split('.').map(str::to_string).collect();
    let elements: Vec<Value> = if base.kind() == ValueKind::Map {
        if is_skipped(base) {
            return Ok(vec![]);
        }
        base.try_iter()?.map(|k| base.get_item(&k).unwrap_or_default()).collect()
    } else {
        base.try_iter()?.collect()
    };
    let mut skip_missing = false;
    if let Some(flags) = terms.get(2) {
        if flags.kind() != ValueKind::Map {
            return Err(err(format!("{usage}the optional third item must be a dict with flags ['skip_missing']")));
        }
        for k in flags.try_iter()? {
            if pyfmt::to_str(&k) != "skip_missing" {
                return Err(err(format!("{usage}the optional third item must be a dict with flags ['skip_missing']")));
            }
            skip_missing =
                orc_modules::args::parse_bool(&serde_json::to_value(flags.get_item(&k)?).unwrap_or_default())
                    .unwrap_or(false);
        }
    }
    let mut out = Vec::new();
    for item0 in elements {
        if item0.kind() != ValueKind::Map {
            return Err(err(format!("subelements lookup expects a dictionary, got '{}'", pyfmt::to_str(&item0))));
        }
        if is_skipped(&item0) {
            continue;
        }
        let mut node = item0.clone();
        let mut sublist = None;
        for (i, subkey) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let child = node.get_attr(subkey).ok().filter(|v| !v.is_undefined());
            let Some(child) = child else {
                if skip_missing {
                    break;
                }
                return Err(err(format!("could not find '{subkey}' key in iterated item '{}'", pyfmt::to_str(&node))));
            };
            if !last {
                if child.kind() != ValueKind::Map {
                    if skip_missing {
                        break;
                    }
                    return Err(err(format!(
                        "the key {subkey} should point to a dictionary, got '{}'",
                        pyfmt::to_str(&child)
                    )));
                }
                node = child;
            } else if child.kind() != ValueKind::Seq {
                return Err(err(format!("the key {subkey} should point to a list, got '{}'", pyfmt::to_str(&child))));
            } else {
                sublist = Some(child);
            }
        }
        let Some(sublist) = sublist else { continue };
        let parent = without_path(&item0, &path)?;
        for item1 in sublist.try_iter()? {
            out.push(Value::from(vec![parent.clone(), item1]));
        }
    }
    Ok(out)
}

/// Whether a registered result (or one loop item of it) was skipped.
fn is_skipped(v: &Value) -> bool {
    v.get_attr("skipped").map(|s| !s.is_undefined() && (s.kind() != ValueKind::Bool || s.is_true())).unwrap_or(false)
}

/// A copy of the map `v` with the key at `path` (`a.b.c`) removed.
fn without_path(v: &Value, path: &[String]) -> Result<Value, Error> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(v.clone());
    };
    let mut out = Vec::new();
    for k in v.try_iter()? {
        let child = v.get_item(&k)?;
        if pyfmt::to_str(&k) == *first {
            if rest.is_empty() {
                continue;
            }
            out.push((k, without_path(&child, rest)?));
        } else {
            out.push((k, child));
        }
    }
    Ok(Value::from_pairs(out))
}

/// The options the sequence plugin takes.
const SEQUENCE_FIELDS: &[&str] = &["start", "end", "stride", "count", "format"];

/// `with_sequence: start=0 end=10 stride=2 format=x%02d`, `count=N`, or the shortcut
/// `[start-]end[/stride][:format]`; keyword arguments apply to every term, a term's own values
/// win.
fn sequence(call: &mut Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    call.opts.check_known("sequence", SEQUENCE_FIELDS)?;
    let terms: Vec<Value> =
        if terms.is_empty() && !call.opts.is_empty() { vec![Value::from("")] } else { terms.to_vec() };
    let shortcut = regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$")
        .map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for term in &terms {
        let text = pyfmt::to_str(term);
        let mut opts = call.opts.clone();
        if let Some(c) = shortcut.captures(text.trim()) {
            for (key, group) in [("start", 2), ("end", 3), ("stride", 5), ("format", 7)] {
                if let Some(m) = c.get(group) {
                    opts.set(key, Value::from(m.as_str()));
                }
            }
        } else {
            let kv = crate::playbook::parse_kv(&text, false)
                .map_err(|e| err(format!("unknown error parsing with_sequence arguments: {text:?}. Error was: {e}")))?;
            let unknown: Vec<&String> = kv.keys().filter(|k| !SEQUENCE_FIELDS.contains(&k.as_str())).collect();
            if !unknown.is_empty() {
                let names: Vec<String> = unknown.iter().map(|k| pyfmt::repr_str(k)).collect();
                return Err(err(format!("unrecognized arguments to with_sequence: [{}]", names.join(", "))));
            }
            for (k, v) in kv {
                opts.set(&k, Value::from(minijinja::value::Serde(v)));
            }
        }
        let start = opts.int("sequence", "start")?.unwrap_or(1);
        let stride = opts.int("sequence", "stride")?.unwrap_or(1);
        let count = opts.int("sequence", "count")?;
        let end = opts.int("sequence", "end")?;
        let format = opts.string("format", "%d");
        let end = match (count, end) {
            (None, None) => return Err(err("must specify count or end in with_sequence")),
            (Some(_), Some(_)) => return Err(err("can't specify both count and end in with_sequence")),
            (Some(0), None) => continue,
            (Some(count), None) => count
                .checked_mul(stride)
                .and_then(|span| start.checked_add(span))
                .and_then(|e| e.checked_sub(1))
                .ok_or_else(|| err("with_sequence: count and stride go past the largest integer"))?,
            (None, Some(end)) => end,
        };
        if stride > 0 && end < start {
            return Err(err("to count backwards make stride negative"));
        }
        if stride < 0 && end > start {
            return Err(err("to count forward don't make stride negative"));
        }
        if stride == 0 {
            continue;
        }
        if format.matches('%').count() != 1 {
            return Err(err(format!("bad formatting string: {format}")));
        }
        // Python's range(start, end + 1, stride) (end - 1 when counting down).
        let stop = if stride > 0 { end.saturating_add(1) } else { end.saturating_sub(1) };
        let mut i = start;
        while (stride > 0 && i < stop) || (stride < 0 && i > stop) {
            out.push(Value::from(printf_int(&format, i)?));
            if out.len() > 1_000_000 {
                return Err(err("with_sequence produces more than 1000000 items"));
            }
            i = match i.checked_add(stride) {
                Some(next) => next,
                None => break,
            };
        }
    }
    Ok(out)
}

/// Python's `format % i` for one integer directive (`%d`, `%05d`, `%x`, `%o`, `%-3d`...).
fn printf_int(fmt: &str, v: i64) -> Result<String, Error> {
    let re = regex::Regex::new(r"%([-0+ #]*)(\d*)(?:\.(\d+))?([diouxXeEfFgGcrsa%])").map_err(|e| err(e.to_string()))?;
    let Some(c) = re.captures(fmt) else {
        return Err(err(format!("problem formatting {v} with '{fmt}'")));
    };
    let flags = &c[1];
    let width: usize = c[2].parse().unwrap_or(0);
    let body = match &c[4] {
        "d" | "i" | "u" | "s" | "r" | "a" => v.to_string(),
        "x" => format!("{v:x}"),
        "X" => format!("{v:X}"),
        "o" => format!("{v:o}"),
        "f" | "F" => format!("{:.*}", c.get(3).map_or(6, |p| p.as_str().parse().unwrap_or(6)), v as f64),
        "e" | "E" | "g" | "G" => pyfmt::float_repr(v as f64),
        "c" => char::from_u32(u32::try_from(v).unwrap_or(0xFFFD)).unwrap_or('\u{FFFD}').to_string(),
        _ => return Err(err(format!("problem formatting {v} with '{fmt}'"))),
    };
    let body = if flags.contains('+') && v >= 0 { format!("+{body}") } else { body };
    let padded = if flags.contains('-') {
        format!("{body:<width$}")
    } else if flags.contains('0') {
        let (sign, digits) = if let Some(d) = body.strip_prefix('-') { ("-", d) } else { ("", body.as_str()) };
        format!("{sign}{digits:0>w$}", w = width.saturating_sub(sign.len()))
    } else {
        format!("{body:>width$}")
    };
    Ok(format!("{}{}{}", &fmt[..c.get(0).map_or(0, |m| m.start())], padded, &fmt[c.get(0).map_or(0, |m| m.end())..]))
}

#[cfg(test)]
mod tests {
    use super::printf_int;

    #[test]
    fn printf_formats_like_python() {
        assert_eq!(printf_int("%d", 5).unwrap(), "5");
        assert_eq!(printf_int("host%02d", 7).unwrap(), "host07");
        assert_eq!(printf_int("0x%02x", 10).unwrap(), "0x0a");
        assert_eq!(printf_int("%04x", 3840).unwrap(), "0f00");
        assert_eq!(printf_int("%-3d|", 4).unwrap(), "4  |");
        assert_eq!(printf_int("%03d", -4).unwrap(), "-04");
        assert!(printf_int("d", 1).is_err());
    }
}
