//! Dates for templates: the `now(utc=False, fmt=None)` global and the `strftime` filter, with
//! Python's `strftime` directives. Local time uses the offset of /etc/localtime (TZif) in force
//! at that moment; without it, local time is UTC.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Kwargs, Object, Value};
use minijinja::{Environment, Error, State};

use super::filters::err;

/// Registers `now()` and the `strftime` filter.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function("now", now);
    filter!(env, "strftime", strftime_filter);
}

/// A point in time with its UTC offset, like a Python `datetime`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DateTime {
    /// Seconds since the epoch (UTC).
    secs: i64,
    micros: u32,
    /// Offset from UTC in seconds of the time shown.
    offset: i32,
}

/// Year, month (1-12), day, hour, minute, second of a time shown at its offset.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// Day of the week, Monday = 0.
    weekday: u32,
    /// Day of the year, 1-based.
    yday: u32,
}

impl DateTime {
    fn civil(&self) -> Civil {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400) as u32;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let yday = BEFORE[(month - 1) as usize] + day + u32::from(leap && month > 2);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            weekday: (days + 3).rem_euclid(7) as u32,
            yday,
        }
    }

    /// Python's `strftime` for the common directives.
    pub(crate) fn strftime(&self, fmt: &str) -> String {
        const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let c = self.civil();
        let mut out = String::new();
        let mut chars = fmt.chars();
        while let Some(ch) = chars.next() {
            if ch != '%' {
                out.push(ch);
                continue;
            }
            let Some(d) = chars.next() else {
                out.push('%');
                break;
            };
            let month_name = MONTHS[(c.month - 1) as usize];
            let day_name = DAYS[c.weekday as usize];
            let hour12 = if c.hour.is_multiple_of(12) { 12 } else { c.hour % 12 };
            match d {
                'Y' => out.push_str(&c.year.to_string()),
                'y' => out.push_str(&format!("{:02}", c.year.rem_euclid(100))),
                'm' => out.push_str(&format!("{:02}", c.month)),
                'd' => out.push_str(&format!("{:02}", c.day)),
                'e' => out.push_str(&format!("{:2}", c.day)),
                'H' => out.push_str(&format!("{:02}", c.hour)),
                'I' => out.push_str(&format!("{hour12:02}")),
                'M' => out.push_str(&format!("{:02}", c.minute)),
                'S' => out.push_str(&format!("{:02}", c.second)),
                'f' => out.push_str(&format!("{:06}", self.micros)),
                'p' => out.push_str(if c.hour < 12 { "AM" } else { "PM" }),
                'j' => out.push_str(&format!("{:03}", c.yday)),
                'a' => out.push_str(&day_name[..3]),
                'A' => out.push_str(day_name),
                'b' | 'h' => out.push_str(&month_name[..3]),
                'B' => out.push_str(month_name),
                'w' => out.push_str(&((c.weekday + 1) % 7).to_string()),
                'u' => out.push_str(&(c.weekday + 1).to_string()),
                's' => out.push_str(&self.secs.to_string()),
                'z' => {
                    let sign = if self.offset < 0 { '-' } else { '+' };
                    let off = self.offset.abs();
                    out.push_str(&format!("{sign}{:02}{:02}", off / 3600, off / 60 % 60));
                }
                'F' => out.push_str(&format!("{}-{:02}-{:02}", c.year, c.month, c.day)),
                'T' => out.push_str(&format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second)),
                '%' => out.push('%'),
                other => {
                    out.push('%');
                    out.push(other);
                }
            }
        }
        out
    }
}

impl fmt::Display for DateTime {
    /// Python's `str(datetime)`: `2024-01-02 03:04:05.123456` (no fraction when it is zero).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = self.strftime("%Y-%m-%d %H:%M:%S");
        if self.micros == 0 {
            f.write_str(&base)
        } else {
            write!(f, "{base}.{:06}", self.micros)
        }
    }
}

impl Object for DateTime {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let c = self.civil();
        Some(match key.as_str()? {
            "year" => Value::from(c.year),
            "month" => Value::from(c.month),
            "day" => Value::from(c.day),
            "hour" => Value::from(c.hour),
            "minute" => Value::from(c.minute),
            "second" => Value::from(c.second),
            "microsecond" => Value::from(self.micros),
            _ => return None,
        })
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let fmt = args.first().and_then(|a| a.as_str()).unwrap_or("");
                Ok(Value::from(self.strftime(fmt)))
            }
            "isoformat" => Ok(Value::from(self.strftime("%Y-%m-%dT%H:%M:%S"))),
            "timestamp" => Ok(Value::from(self.secs as f64 + f64::from(self.micros) / 1e6)),
            _ => Err(Error::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }
}

/// A moment as Python's local `datetime` (for `template_mtime`, `template_run_date`).
pub(crate) fn local_datetime(t: SystemTime) -> Value {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    Value::from_object(at(secs, since.subsec_micros(), false))
}

/// The time `secs` (and `micros`) shown in UTC or in the local zone.
fn at(secs: i64, micros: u32, utc: bool) -> DateTime {
    let offset = if utc { 0 } else { local_offset(secs) };
    DateTime { secs, micros, offset }
}

/// `now(utc=False, fmt=None)`: the current time, or its `strftime(fmt)` text.
fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| err(format!("now(): system clock before 1970: {e}")))?;
    let dt = at(since.as_secs() as i64, since.subsec_micros(), utc.unwrap_or(false));
    Ok(match fmt {
        Some(fmt) => Value::from(dt.strftime(&fmt)),
        None => Value::from_object(dt),
    })
}

/// Ansible's `strftime(format, second=None, utc=False)`: formats now or an epoch time.
fn strftime_filter(fmt: String, second: Option<Value>, kwargs: Kwargs) -> Result<String, Error> {
    let second = match second {
        Some(s) => Some(s),
        None => kwargs.get::<Option<Value>>("second")?,
    };
    let utc: Option<bool> = kwargs.get("utc")?;
    kwargs.assert_all_used()?;
    let (secs, micros) = match second.filter(|s| !s.is_none()) {
        Some(s) => {
            let f = match s.as_str() {
                Some(text) => {
                    text.trim().parse::<f64>().map_err(|_| err(format!("Invalid value for epoch value ({text})")))?
                }
                None => f64::try_from(s.clone())?,
            };
            (f.floor() as i64, ((f - f.floor()) * 1e6) as u32)
        }
        None => {
            let since = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|e| err(format!("strftime: system clock before 1970: {e}")))?;
            (since.as_secs() as i64, since.subsec_micros())
        }
    };
    Ok(at(secs, micros, utc.unwrap_or(false)).strftime(&fmt))
}

/// The local UTC offset at `secs`, from /etc/localtime (the last transition at or before it);
/// 0 when TZ says UTC or the zone file cannot be read.
fn local_offset(secs: i64) -> i32 {
    if matches!(std::env::var("TZ").as_deref(), Ok("UTC") | Ok("UTC0") | Ok(":UTC") | Ok("")) {
        return 0;
    }
    std::fs::read("/etc/localtime").ok().and_then(|data| tzif_offset(&data, secs)).unwrap_or(0)
}

/// Reads the offset in force at `secs` from TZif data (version 2+ 64-bit section when present).
fn tzif_offset(data: &[u8], secs: i64) -> Option<i32> {
    fn be32(d: &[u8], at: usize) -> Option<i64> {
        Some(i64::from(i32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?)))
    }
    fn be64(d: &[u8], at: usize) -> Option<i64> {
        Some(i64::from_be_bytes(d.get(at..at + 8)?.try_into().ok()?))
    }
    let header = |d: &[u8], at: usize| -> Option<[usize; 6]> {
        if d.get(at..at + 4)? != b"TZif" {
            return None;
        }
        let mut counts = [0usize; 6];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = usize::try_from(be32(d, at + 20 + 4 * i)?).ok()?;
        }
        Some(counts)
    };
    let [isut, isstd, leap, time, typ, chars] = header(data, 0)?;
    let v1_len = 44 + time * 5 + typ * 6 + chars + leap * 8 + isstd + isut;
    let (base, tsize, counts) = match data.get(4) {
        Some(b'2') | Some(b'3') | Some(b'4') => (v1_len, 8, header(data, v1_len)?),
        _ => (0, 4, [isut, isstd, leap, time, typ, chars]),
    };
    let [_, _, _, time, typ, _] = counts;
    let times_at = base + 44;
    let idx_at = times_at + time * tsize;
    let types_at = idx_at + time;
    let mut kind = 0usize;
    for i in 0..time {
        let t = if tsize == 8 { be64(data, times_at + i * 8)? } else { be32(data, times_at + i * 4)? };
        if t > secs {
            break;
        }
        kind = usize::from(*data.get(idx_at + i)?);
    }
    if kind >= typ {
        return None;
    }
    i32::try_from(be32(data, types_at + kind * 6)?).ok()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn strftime_formats_like_python() {
        // 2024-02-29 13:05:09 UTC, a Thursday.
        let dt = DateTime { secs: 1_709_211_909, micros: 42, offset: 0 };
        assert_eq!(dt.strftime("%Y-%m-%d %H:%M:%S %a %b %j %y %I%p %%"), "2024-02-29 13:05:09 Thu Feb 060 24 01PM %");
        assert_eq!(dt.to_string(), "2024-02-29 13:05:09.000042");
        let east = DateTime { offset: 3600, ..dt };
        assert_eq!(east.strftime("%H:%M %z"), "14:05 +0100");
    }

    #[test]
    fn zone_offsets_come_from_tzif_files() {
        // Built from the system's zoneinfo (tzdata); 2024-01-15 and 2024-07-15 at noon UTC.
        let paris = std::fs::read("/usr/share/zoneinfo/Europe/Paris").unwrap();
        assert_eq!(tzif_offset(&paris, 1_705_320_000), Some(3600));
        assert_eq!(tzif_offset(&paris, 1_721_044_800), Some(7200));
        let ny = std::fs::read("/usr/share/zoneinfo/America/New_York").unwrap();
        assert_eq!(tzif_offset(&ny, 1_705_320_000), Some(-18_000));
        assert_eq!(tzif_offset(&ny, 1_721_044_800), Some(-14_400));
        assert_eq!(tzif_offset(b"not a zone file", 0), None);
    }
}
