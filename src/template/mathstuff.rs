//! Ansible's math and list filters (`ansible/plugins/filter/mathstuff.py`): `log`, `pow`,
//! `root`, `permutations`, `combinations`, `zip_longest`, `human_readable`, `human_to_bytes`,
//! `rekey_on_member`, `shuffle`, Ansible's `unique` (Jinja's, with Ansible's errors), and the
//! `nan`/`isnan` tests.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::{err, type_debug};
use super::pyfmt;

/// Registers the filters and tests of this file.
pub(crate) fn register(env: &mut Environment<'static>) {
    filter!(env, "log", |x: Value, base: Option<Value>| {
        let x = number(&x, "log")?;
        let base = base.map(|b| number(&b, "log")).transpose()?;
        let r = match base {
            Some(10.0) => x.log10(),
            Some(b) => x.ln() / b.ln(),
            None => x.ln(),
        };
        finite(r, "log")
    });
    filter!(env, "pow", |x: Value, y: Value| finite(number(&x, "pow")?.powf(number(&y, "pow")?), "pow"));
    filter!(env, "root", |x: Value, base: Option<Value>| {
        let x = number(&x, "root")?;
        let base = base.map(|b| number(&b, "root")).transpose()?.unwrap_or(2.0);
        let r = if base == 2.0 { x.sqrt() } else { x.powf(1.0 / base) };
        if r.is_nan() {
            return Err(err("root() can only be used on numbers"));
        }
        Ok(Value::from(r))
    });
    filter!(env, "permutations", |v: Value, r: Option<usize>| {
        let items = items(&v, "permutations")?;
        let r = r.unwrap_or(items.len());
        let mut out = Vec::new();
        permutations(&items, r, &mut Vec::new(), &mut vec![false; items.len()], &mut out)?;
        Ok::<_, Error>(Value::from(out))
    });
    filter!(env, "combinations", |v: Value, r: usize| {
        let items = items(&v, "combinations")?;
        let mut out = Vec::new();
        combinations(&items, r, 0, &mut Vec::new(), &mut out)?;
        Ok::<_, Error>(Value::from(out))
    });
    filter!(env, "zip_longest", |v: Value, others: Rest<Value>, kwargs: Kwargs| {
        let fill: Option<Value> = kwargs.get("fillvalue")?;
        kwargs.assert_all_used()?;
        let mut lists = vec![items(&v, "zip_longest")?];
        for o in others.iter() {
            lists.push(items(o, "zip_longest")?);
        }
        let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
        let fill = fill.unwrap_or(Value::from(()));
        Ok::<_, Error>(Value::from(
            (0..longest)
                .map(|i| {
                    Value::from(lists.iter().map(|l| l.get(i).cloned().unwrap_or(fill.clone())).collect::<Vec<_>>())
                })
                .collect::<Vec<_>>(),
        ))
    });
    filter!(env, "shuffle", |v: Value, seed: Option<Value>| {
        let mut items = items(&v, "shuffle")?;
        match seed {
            Some(s) => {
                let mut rng = fastrand::Rng::with_seed(seed_of(&pyfmt::to_str(&s)));
                rng.shuffle(&mut items);
            }
            None => fastrand::shuffle(&mut items),
        }
        Ok::<_, Error>(Value::from(items))
    });
    filter!(env, "human_readable", |size: Value, isbits: Option<bool>, unit: Option<String>, kw: Kwargs| {
        let isbits = match isbits {
            Some(b) => Some(b),
            None => kw.get::<Option<bool>>("isbits")?,
        };
        let unit = match unit {
            Some(u) => Some(u),
            None => kw.get::<Option<String>>("unit")?,
        };
        kw.assert_all_used()?;
        human_readable(size, isbits, unit)
    });
    filter!(env, "human_to_bytes", |value: Value, default_unit: Option<String>, isbits: Option<bool>, kw: Kwargs| {
        let default_unit = match default_unit {
            Some(u) => Some(u),
            None => kw.get::<Option<String>>("default_unit")?,
        };
        let isbits = match isbits {
            Some(b) => Some(b),
            None => kw.get::<Option<bool>>("isbits")?,
        };
        kw.assert_all_used()?;
        human_to_bytes(value, default_unit, isbits)
    });
    filter!(env, "rekey_on_member", |data: Value, key: Value, duplicates: Option<String>, kw: Kwargs| {
        let duplicates = match duplicates {
            Some(d) => Some(d),
            None => kw.get::<Option<String>>("duplicates")?,
        };
        kw.assert_all_used()?;
        rekey_on_member(data, key, duplicates)
    });
    filter!(env, "unique", unique);
    test!(env, "nan", |v: &Value| is_nan(v));
    test!(env, "isnan", |v: &Value| is_nan(v));
}

/// A number argument, or Ansible's "can only be used on numbers" error.
fn number(v: &Value, filter: &str) -> Result<f64, Error> {
    match v.kind() {
        ValueKind::Number | ValueKind::Bool => {
            f64::try_from(v.clone()).map_err(|_| err(format!("{filter}() can only be used on numbers")))
        }
        _ => Err(err(format!("{filter}() can only be used on numbers"))),
    }
}

fn finite(r: f64, filter: &str) -> Result<Value, Error> {
    if r.is_nan() {
        return Err(err(format!("{filter}(): math domain error")));
    }
    Ok(Value::from(r))
}

fn is_nan(v: &Value) -> bool {
    v.kind() == ValueKind::Number && f64::try_from(v.clone()).map(f64::is_nan).unwrap_or(false)
}

/// The items of an iterable (a string's characters, a dict's keys), or Python's TypeError text.
fn items(v: &Value, filter: &str) -> Result<Vec<Value>, Error> {
    match v.kind() {
        ValueKind::String => Ok(pyfmt::to_str(v).chars().map(|c| Value::from(c.to_string())).collect()),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => Ok(v.try_iter()?.collect()),
        _ => Err(err(format!("{filter}: '{}' object is not iterable", type_debug(v)))),
    }
}

/// A stable 64-bit seed from a string (FNV-1a).
fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The largest result these filters build, in items.
const MAX_ITEMS: usize = 1_000_000;

fn permutations(
    items: &[Value],
    r: usize,
    current: &mut Vec<Value>,
    used: &mut Vec<bool>,
    out: &mut Vec<Value>,
) -> Result<(), Error> {
    if current.len() == r {
        if out.len() >= MAX_ITEMS {
            return Err(err("permutations: more than 1000000 results"));
        }
        out.push(Value::from(current.clone()));
        return Ok(());
    }
    for i in 0..items.len() {
        if !used[i] {
            used[i] = true;
            current.push(items[i].clone());
            permutations(items, r, current, used, out)?;
            current.pop();
            used[i] = false;
        }
    }
    Ok(())
}

fn combinations(
    items: &[Value],
    r: usize,
    start: usize,
    current: &mut Vec<Value>,
    out: &mut Vec<Value>,
) -> Result<(), Error> {
    if current.len() == r {
        if out.len() >= MAX_ITEMS {
            return Err(err("combinations: more than 1000000 results"));
        }
        out.push(Value::from(current.clone()));
        return Ok(());
    }
    for i in start..items.len() {
        current.push(items[i].clone());
        combinations(items, r, i + 1, current, out)?;
        current.pop();
    }
    Ok(())
}

/// Size suffixes, largest first.
const SIZES: &[(char, u32)] =
    &[('Y', 80), ('Z', 70), ('E', 60), ('P', 50), ('T', 40), ('G', 30), ('M', 20), ('K', 10), ('B', 0)];

/// `human_readable(isbits=False, unit=None)`: `2048 | human_readable` is `2.00 KB`. Only numbers
/// (and booleans, Python ints): anything else is Python's TypeError, which Ansible reports as
/// "failed on bad input".
fn human_readable(size: Value, isbits: Option<bool>, unit: Option<String>) -> Result<String, Error> {
    let bad = |v: &Value| {
        err(format!(
            "human_readable() failed on bad input: '>=' not supported between instances of '{}' and 'int'",
            type_debug(v)
        ))
    };
    let size = match size.kind() {
        ValueKind::Bool => f64::from(u8::from(size.is_true())),
        ValueKind::Number => f64::try_from(size.clone()).map_err(|_| bad(&size))?,
        _ => return Err(bad(&size)),
    };
    let base = if isbits.unwrap_or(false) { "bits" } else { "Bytes" };
    let mut chosen = ('B', 0u32);
    for &(suffix, shift) in SIZES {
        chosen = (suffix, shift);
        let limit = 2f64.powi(shift as i32);
        let wanted = match &unit {
            None => size >= limit,
            Some(u) => u.to_uppercase().starts_with(suffix),
        };
        if wanted {
            break;
        }
    }
    let limit = 2f64.powi(chosen.1 as i32);
    let suffix = if chosen.1 == 0 { base.to_string() } else { format!("{}{}", chosen.0, &base[..1]) };
    Ok(format!("{:.2} {suffix}", size / limit))
}

/// `human_to_bytes(default_unit=None, isbits=False)`: `'1.5 KB' | human_to_bytes` is `1536`.
fn human_to_bytes(value: Value, default_unit: Option<String>, isbits: Option<bool>) -> Result<i64, Error> {
    let text = pyfmt::to_str(&value);
    let re = regex::Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").map_err(|e| err(e.to_string()))?;
    let c = re.captures(&text).ok_or_else(|| {
        err(format!(
            "human_to_bytes() can't interpret the input: human_to_bytes() can't interpret following string: {text}"
        ))
    })?;
    let num: f64 =
        c[1].parse().map_err(|_| err(format!("human_to_bytes() can't interpret following number: {}", &c[1])))?;
    let unit = c.get(2).map(|m| m.as_str().to_string()).or(default_unit);
    let Some(unit) = unit else {
        return Ok(num.round() as i64);
    };
    let key = unit.chars().next().map(|ch| ch.to_ascii_uppercase()).unwrap_or('B');
    let Some(&(_, shift)) = SIZES.iter().find(|(s, _)| *s == key) else {
        return Err(err(format!(
            "human_to_bytes() can't interpret the input: human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        )));
    };
    let isbits = isbits.unwrap_or(false);
    if unit.chars().count() > 1 {
        let names = [
            ("B", "byte", "bit"),
            ("K", "kilobyte", "kilobit"),
            ("M", "megabyte", "megabit"),
            ("G", "gigabyte", "gigabit"),
            ("T", "terabyte", "terabit"),
            ("P", "petabyte", "petabit"),
            ("E", "exabyte", "exabit"),
            ("Z", "zetabyte", "zetabit"),
            ("Y", "yottabyte", "yottabit"),
        ];
        let (k, byte_name, bit_name) =
            names.iter().find(|(k, _, _)| k.starts_with(key)).copied().unwrap_or(("B", "byte", "bit"));
        let (long, short) = if isbits {
            (bit_name, if k == "B" { "b".to_string() } else { format!("{k}b") })
        } else {
            (byte_name, if k == "B" { "B".to_string() } else { format!("{k}B") })
        };
        if unit.to_lowercase() != long && unit != short {
            let class = if isbits { "b" } else { "B" };
            let expect = if k == "B" {
                format!("expect {class} or {}", if isbits { "bit" } else { "byte" })
            } else {
                format!("expect {k}{class} or {k}")
            };
            return Err(err(format!(
                "human_to_bytes() can't interpret the input: human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})"
            )));
        }
    }
    Ok((num * 2f64.powi(shift as i32)).round() as i64)
}

/// `rekey_on_member(key, duplicates='error')`: a dict of the dicts (of a list or a dict's values)
/// keyed by their `key` member.
fn rekey_on_member(data: Value, key: Value, duplicates: Option<String>) -> Result<Value, Error> {
    let duplicates = duplicates.unwrap_or_else(|| "error".into());
    if duplicates != "error" && duplicates != "overwrite" {
        return Err(err(format!(
            "duplicates parameter to rekey_on_member has unknown value {}",
            pyfmt::repr_str(&duplicates)
        )));
    }
    let elements: Vec<Value> = match data.kind() {
        ValueKind::Map => data.try_iter()?.map(|k| data.get_item(&k).unwrap_or_default()).collect(),
        ValueKind::Seq => data.try_iter()?.collect(),
        _ => return Err(err("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in elements {
        if item.kind() != ValueKind::Map {
            return Err(err("List item is not a valid dict"));
        }
        let k = item.get_item(&key).ok().filter(|v| !v.is_undefined());
        let Some(k) = k else {
            return Err(err(format!("Key {} was not found.", pyfmt::repr(&key))));
        };
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) if slot.1.is_true() => {
                if duplicates == "error" {
                    return Err(err(format!("Key {} is not unique, cannot convert to dict.", pyfmt::repr(&k))));
                }
                slot.1 = item;
            }
            Some(slot) => slot.1 = item,
            None => out.push((k, item)),
        }
    }
    Ok(Value::from_pairs(out))
}

/// Ansible's `unique`: Jinja's (case-insensitive for strings unless `case_sensitive=True`,
/// `attribute` to compare on), with Python's error for what cannot be iterated.
fn unique(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let case_sensitive: Option<bool> = kwargs.get("case_sensitive")?;
    let attribute: Option<Value> = kwargs.get("attribute")?;
    kwargs.assert_all_used()?;
    let items = items(&v, "unique").map_err(|_| err(format!("'{}' object is not iterable", type_debug(&v))))?;
    let explicit = case_sensitive == Some(false) || attribute.is_some();
    let case_sensitive = case_sensitive.unwrap_or(false);
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let mut key = match &attribute {
            Some(a) => {
                let mut cur = item.clone();
                for part in pyfmt::to_str(a).split('.') {
                    cur = cur.get_attr(part).unwrap_or_default();
                }
                cur
            }
            None => item.clone(),
        };
        if matches!(key.kind(), ValueKind::Map | ValueKind::Seq) && (!case_sensitive || attribute.is_some()) && explicit
        {
            // Jinja's unique cannot hash these, and Ansible's fallback takes no options.
            return Err(err(
                "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied.",
            ));
        }
        if !case_sensitive && key.kind() == ValueKind::String {
            key = Value::from(pyfmt::to_str(&key).to_lowercase());
        }
        if !seen.contains(&key) {
            seen.push(key);
            out.push(item);
        }
    }
    Ok(Value::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_ansible() {
        assert_eq!(human_readable(Value::from(2048), None, None).unwrap(), "2.00 KB");
        assert_eq!(human_readable(Value::from(1), None, None).unwrap(), "1.00 Bytes");
        assert_eq!(human_readable(Value::from(1048576), Some(true), None).unwrap(), "1.00 Mb");
        // A string is Python's TypeError, even when it holds a number.
        let e = human_readable(Value::from("10"), None, None).unwrap_err().to_string();
        assert!(e.contains("human_readable() failed on bad input"), "{e}");
        assert_eq!(human_readable(Value::from(1048576), None, Some("K".into())).unwrap(), "1024.00 KB");
        assert_eq!(human_to_bytes(Value::from("1.5 KB"), None, None).unwrap(), 1536);
        assert_eq!(human_to_bytes(Value::from("10"), Some("M".into()), None).unwrap(), 10 * 1048576);
        assert_eq!(human_to_bytes(Value::from("1Mb"), None, Some(true)).unwrap(), 1048576);
        assert!(human_to_bytes(Value::from("1Mb"), None, None).is_err());
        assert!(human_to_bytes(Value::from("xyz"), None, None).is_err());
    }
}
