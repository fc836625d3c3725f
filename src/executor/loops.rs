//! Loop items from `loop:` and the `with_*` forms.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};

use super::Runner;
use crate::playbook::LoopSpec;
use crate::vars::Context;

/// The items a task loops over, templated with the host's variables.
pub fn items(runner: &Runner, spec: &LoopSpec, ctx: &Arc<Context>, _play_dir: &Path) -> Result<Vec<Value>, String> {
    let render = |v: &Value| runner.templar.render_value(v, &ctx.value()).map_err(|e| e.to_string());
    match spec {
        LoopSpec::Loop(v) => match render(v)? {
            Value::Array(a) => Ok(a),
            other => Err(format!("Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.", crate::output::pyrepr::repr(&other))),
        },
        LoopSpec::WithList(v) => Ok(match render(v)? {
            Value::Array(a) => a,
            Value::Null => vec![],
            other => vec![other],
        }),
        LoopSpec::WithItems(v) => {
            let top = match render(v)? {
                Value::Array(a) => a,
                Value::Null => vec![],
                other => vec![other],
            };
            let mut out = Vec::new();
            for item in top {
                match item {
                    Value::Array(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            Ok(out)
        }
        LoopSpec::WithDict(v) => match render(v)? {
            Value::Object(m) => Ok(m.into_iter().map(|(k, v)| json!({"key": k, "value": v})).collect()),
            other => Err(format!("with_dict expects a dict, got {}", crate::output::pyrepr::repr(&other))),
        },
        LoopSpec::WithSequence(v) => sequence(&render(v)?),
        LoopSpec::WithFileglob(_) => Err("with_fileglob is not supported yet; use loop with a list of files".into()),
    }
}

/// `with_sequence: start=1 end=5 stride=1 format=item%02d` or `count=N`.
fn sequence(v: &Value) -> Result<Vec<Value>, String> {
    let spec = crate::yaml::display(v);
    let kv = crate::playbook::parse_kv(&spec, false).map_err(|e| format!("with_sequence: {e}"))?;
    let num = |k: &str, d: i64| -> Result<i64, String> {
        match kv.get(k) {
            None => Ok(d),
            Some(Value::String(s)) => {
                let s = s.trim();
                let parsed =
                    if let Some(h) = s.strip_prefix("0x") { i64::from_str_radix(h, 16).ok() } else { s.parse().ok() };
                parsed.ok_or_else(|| format!("can't parse {k}={s} as an integer"))
            }
            Some(other) => other.as_i64().ok_or_else(|| format!("can't parse {k} as an integer")),
        }
    };
    let start = num("start", 1)?;
    let stride = num("stride", 1)?;
    let end = match kv.get("count") {
        Some(_) => (num("count", 0)? - 1)
            .checked_mul(stride)
            .and_then(|span| start.checked_add(span))
            .ok_or("with_sequence: count and stride go past the largest integer")?,
        None => num("end", start)?,
    };
    if stride == 0 {
        return Err("stride must not be 0".into());
    }
    let format = kv.get("format").and_then(Value::as_str).unwrap_or("%d").to_string();
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(Value::String(printf_int(&format, i)));
        i = match i.checked_add(stride) {
            Some(next) => next,
            None => break,
        };
        if out.len() > 100_000 {
            return Err("with_sequence produces more than 100000 items".into());
        }
    }
    Ok(out)
}

/// Formats one integer with a printf-style `%d`, `%02d`, `%x` or `%o` directive.
fn printf_int(fmt: &str, v: i64) -> String {
    let re = regex::Regex::new(r"%(0?)(\d*)(?:\.\d+)?([dxXosfi])").ok();
    let Some(re) = re else { return v.to_string() };
    re.replace(fmt, |c: &regex::Captures| {
        let zero = &c[1] == "0";
        let width: usize = c[2].parse().unwrap_or(0);
        let body = match &c[3] {
            "x" => format!("{v:x}"),
            "X" => format!("{v:X}"),
            "o" => format!("{v:o}"),
            "f" => format!("{v}.000000"),
            _ => v.to_string(),
        };
        if zero {
            format!("{body:0>width$}")
        } else {
            format!("{body:>width$}")
        }
    })
    .into_owned()
}
