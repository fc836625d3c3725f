//! Filters on dictionaries and lists: `combine`, `dict2items`/`items2dict`, set operations
//! (`union`, `intersect`, `difference`...), `flatten`, `product` and `extract`.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::Error;

use super::filters::{err, items};

/// Merges `b` into `a` (Ansible's `merge_hash`).
fn merge(a: &Value, b: &Value, recursive: bool, list_merge: &str) -> Result<Value, Error> {
    let mut out: indexmap::IndexMap<Value, Value> = indexmap::IndexMap::new();
    for key in a.try_iter()? {
        let v = a.get_item(&key)?;
        out.insert(key, v);
    }
    for key in b.try_iter()? {
        let new = b.get_item(&key)?;
        let merged = match out.get(&key) {
            Some(old) if recursive && old.kind() == ValueKind::Map && new.kind() == ValueKind::Map => {
                merge(old, &new, recursive, list_merge)?
            }
            Some(old) if old.kind() == ValueKind::Seq && new.kind() == ValueKind::Seq => {
                merge_lists(old, &new, list_merge)?
            }
            _ => new,
        };
        out.insert(key, merged);
    }
    Ok(Value::from_pairs(out))
}

fn merge_lists(old: &Value, new: &Value, list_merge: &str) -> Result<Value, Error> {
    let old: Vec<Value> = old.try_iter()?.collect();
    let new: Vec<Value> = new.try_iter()?.collect();
    Ok(Value::from(match list_merge {
        "replace" => new,
        "keep" => old,
        "append" => old.into_iter().chain(new).collect(),
        "prepend" => new.into_iter().chain(old).collect(),
        "append_rp" => {
            let mut out: Vec<Value> = old.into_iter().filter(|x| !new.contains(x)).collect();
            out.extend(new);
            out
        }
        "prepend_rp" => {
            let rest: Vec<Value> = old.into_iter().filter(|x| !new.contains(x)).collect();
            new.into_iter().chain(rest).collect()
        }
        other => {
            return Err(err(format!(
            "combine: list_merge must be one of replace, keep, append, prepend, append_rp, prepend_rp; got '{other}'"
        )))
        }
    }))
}

/// `combine(*dicts, recursive=False, list_merge='replace')`: later dictionaries win.
pub(crate) fn combine(first: Value, rest: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive: Option<bool> = kwargs.get("recursive")?;
    let list_merge: Option<String> = kwargs.get("list_merge")?;
    kwargs.assert_all_used()?;
    let list_merge = list_merge.unwrap_or_else(|| "replace".into());
    let mut dicts = vec![first];
    dicts.extend(rest.0);
    let mut flat = Vec::new();
    for d in dicts {
        match d.kind() {
            ValueKind::Map => flat.push(d),
            ValueKind::Seq => flat.extend(d.try_iter()?),
            other => return Err(err(format!("combine expects dictionaries, got {other}"))),
        }
    }
    let mut acc = Value::from_pairs(Vec::<(Value, Value)>::new());
    for d in flat {
        if d.kind() != ValueKind::Map {
            return Err(err(format!("combine expects dictionaries, got {}", d.kind())));
        }
        acc = merge(&acc, &d, recursive.unwrap_or(false), &list_merge)?;
    }
    Ok(acc)
}

/// `dict2items(key_name='key', value_name='value')`: a dict as a list of key/value dicts.
pub(crate) fn dict2items(d: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    if d.kind() != ValueKind::Map {
        return Err(err(format!("dict2items requires a dictionary, got {}", d.kind())));
    }
    let (k, v) = (key_name.unwrap_or_else(|| "key".into()), value_name.unwrap_or_else(|| "value".into()));
    let mut out = Vec::new();
    for key in d.try_iter()? {
        let value = d.get_item(&key)?;
        out.push(Value::from_pairs([(Value::from(k.as_str()), key), (Value::from(v.as_str()), value)]));
    }
    Ok(Value::from(out))
}

/// `items2dict(key_name='key', value_name='value')`: the reverse of `dict2items`.
pub(crate) fn items2dict(list: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Option<String> = kwargs.get("key_name")?;
    let value_name: Option<String> = kwargs.get("value_name")?;
    kwargs.assert_all_used()?;
    let (k, v) = (key_name.unwrap_or_else(|| "key".into()), value_name.unwrap_or_else(|| "value".into()));
    let mut out = Vec::new();
    for item in items(list, "items2dict")? {
        let key = item.get_attr(&k)?;
        let value = item.get_attr(&v)?;
        if key.is_undefined() || value.is_undefined() {
            return Err(err(format!("items2dict requires each item to have '{k}' and '{v}' keys")));
        }
        out.push((key, value));
    }
    Ok(Value::from_pairs(out))
}

/// Items of `v` without duplicates, in first-seen order.
fn dedup(v: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(v.len());
    for item in v {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Items of both lists, without duplicates.
pub(crate) fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    let mut all = items(a, "union")?;
    all.extend(items(b, "union")?);
    Ok(Value::from(dedup(all)))
}

/// Items in both lists, without duplicates.
pub(crate) fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = items(b, "intersect")?;
    let out = items(a, "intersect")?.into_iter().filter(|x| b.contains(x)).collect();
    Ok(Value::from(dedup(out)))
}

/// Items of the first list not in the second, without duplicates.
pub(crate) fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = items(b, "difference")?;
    let out = items(a, "difference")?.into_iter().filter(|x| !b.contains(x)).collect();
    Ok(Value::from(dedup(out)))
}

/// Items in exactly one of the lists, without duplicates.
pub(crate) fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let a = items(a, "symmetric_difference")?;
    let b = items(b, "symmetric_difference")?;
    let mut out: Vec<Value> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
    out.extend(b.iter().filter(|x| !a.contains(x)).cloned());
    Ok(Value::from(dedup(out)))
}

fn flatten_into(out: &mut Vec<Value>, v: &Value, levels: Option<usize>, skip_nulls: bool) -> Result<(), Error> {
    for item in v.try_iter()? {
        match item.kind() {
            ValueKind::Seq if levels != Some(0) => flatten_into(out, &item, levels.map(|l| l - 1), skip_nulls)?,
            ValueKind::None | ValueKind::Undefined if skip_nulls => {}
            _ => out.push(item),
        }
    }
    Ok(())
}

/// `flatten(levels=None, skip_nulls=True)`: nested lists made flat.
pub(crate) fn flatten(v: &Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get("levels")?,
    };
    let skip_nulls: Option<bool> = kwargs.get("skip_nulls")?;
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&mut out, v, levels, skip_nulls.unwrap_or(true))?;
    Ok(Value::from(out))
}

/// The cartesian product of lists (`itertools.product`), as a list of lists.
pub(crate) fn product(first: &Value, rest: Rest<Value>) -> Result<Value, Error> {
    let mut acc: Vec<Vec<Value>> = vec![vec![]];
    let mut lists = vec![items(first, "product")?];
    for r in rest.0 {
        lists.push(items(&r, "product")?);
    }
    for list in lists {
        let mut next = Vec::new();
        for prefix in &acc {
            for item in &list {
                let mut row = prefix.clone();
                row.push(item.clone());
                next.push(row);
            }
        }
        acc = next;
    }
    Ok(Value::from(acc.into_iter().map(Value::from).collect::<Vec<_>>()))
}

/// `item | extract(container, morekeys)`: `container[item]`, then deeper keys.
pub(crate) fn extract(item: &Value, container: &Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut v = container.get_item(item)?;
    if let Some(more) = morekeys {
        let keys = match more.kind() {
            ValueKind::Seq => more.try_iter()?.collect(),
            _ => vec![more],
        };
        for key in keys {
            v = v.get_item(&key)?;
        }
    }
    Ok(v)
}

/// `subelements(path, skip_missing=False)`: for each item, one `[item, sub]` pair per element of
/// the list at `path` (dotted for nested keys) inside the item.
pub(crate) fn subelements(
    list: &Value,
    path: String,
    skip_missing: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let skip_missing = match skip_missing {
        Some(s) => s,
        None => kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let items: Vec<Value> = match list.kind() {
        ValueKind::Map => list.try_iter()?.map(|k| list.get_item(&k)).collect::<Result<_, _>>()?,
        _ => items(list, "subelements")?,
    };
    let mut out = Vec::new();
    'items: for item in items {
        let mut sub = item.clone();
        for key in path.split('.') {
            let next = sub.get_attr(key).unwrap_or_default();
            if next.is_undefined() {
                if skip_missing {
                    continue 'items;
                }
                return Err(err(format!("could not find '{key}' key in iterated item {}", super::pyfmt::repr(&item))));
            }
            sub = next;
        }
        if sub.kind() != ValueKind::Seq {
            return Err(err(format!("the key {path} should point to a list, got {}", super::pyfmt::repr(&sub))));
        }
        for element in sub.try_iter()? {
            out.push(Value::from(vec![item.clone(), element]));
        }
    }
    Ok(Value::from(out))
}

/// Python's methods on values (minijinja-contrib's `pycompat`), plus `list.index(x)`, which
/// playbooks use in conditions (`my_list.index(item) == idx`, Ansible's loops target).
pub(crate) fn python_method(
    state: &mut minijinja::State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if method == "index" && value.kind() == ValueKind::Seq {
        let (what,): (&Value,) = minijinja::value::from_args(args)?;
        for (i, item) in value.try_iter()?.enumerate() {
            if &item == what {
                return Ok(Value::from(i));
            }
        }
        return Err(Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("{} is not in list", super::pyfmt::repr(what)),
        ));
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}
