//! The `file` module's `modification_time`/`access_time` values: `preserve`, `now`, or a time in
//! `*_time_format` (Python `strptime` directives), read as the host's local time.

/// One timestamp argument after parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSpec {
    /// Leave the timestamp as it is.
    Preserve,
    /// Set it to the current time (always a change, as in Ansible).
    Now,
    /// Set it to this local time, written `YYYY-MM-DD HH:MM:SS` for `date -d`/`touch -d`.
    At(String),
}

/// Parses a timestamp argument; `None` takes the state's default (`now` for touch, else preserve).
pub fn parse(value: Option<&str>, format: &str, touch: bool) -> Result<TimeSpec, String> {
    match value {
        None if touch => Ok(TimeSpec::Now),
        None | Some("preserve") => Ok(TimeSpec::Preserve),
        Some("now") => Ok(TimeSpec::Now),
        Some(v) => strptime(v, format)
            .map(TimeSpec::At)
            .map_err(|e| format!("Error while obtaining timestamp for time {v} using format {format}: {e}")),
    }
}

/// A subset of Python's `time.strptime` (`%Y %y %m %d %H %M %S %%`), returning
/// `YYYY-MM-DD HH:MM:SS`. Fields not in the format default as in Python (1900-01-01 00:00:00).
pub fn strptime(value: &str, format: &str) -> Result<String, String> {
    let mismatch = || format!("time data '{value}' does not match format '{format}'");
    let (mut y, mut mo, mut d, mut h, mut mi, mut s) = (1900u32, 1u32, 1u32, 0u32, 0u32, 0u32);
    let v = value.as_bytes();
    let mut pos = 0;
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            let mut buf = [0u8; 4];
            let lit = c.encode_utf8(&mut buf).as_bytes();
            if v.get(pos..pos + lit.len()) != Some(lit) {
                return Err(mismatch());
            }
            pos += lit.len();
            continue;
        }
        let directive = chars.next().ok_or_else(mismatch)?;
        if directive == '%' {
            if v.get(pos) != Some(&b'%') {
                return Err(mismatch());
            }
            pos += 1;
            continue;
        }
        let max = match directive {
            'Y' => 4,
            'y' | 'm' | 'd' | 'H' | 'M' | 'S' => 2,
            other => return Err(format!("directive %{other} is not supported by orc")),
        };
        let start = pos;
        while pos < v.len() && pos - start < max && v[pos].is_ascii_digit() {
            pos += 1;
        }
        let n: u32 = value[start..pos].parse().map_err(|_| mismatch())?;
        match directive {
            'Y' => y = n,
            'y' => y = if n < 69 { 2000 + n } else { 1900 + n },
            'm' if (1..=12).contains(&n) => mo = n,
            'd' if (1..=31).contains(&n) => d = n,
            'H' if n < 24 => h = n,
            'M' if n < 60 => mi = n,
            'S' if n < 62 => s = n,
            _ => return Err(mismatch()),
        }
    }
    if pos != v.len() {
        return Err(format!("unconverted data remains: {}", &value[pos..]));
    }
    Ok(format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_format() {
        assert_eq!(strptime("202301021504.05", "%Y%m%d%H%M.%S").unwrap(), "2023-01-02 15:04:05");
        assert_eq!(strptime("2023-01-02", "%Y-%m-%d").unwrap(), "2023-01-02 00:00:00");
        assert!(strptime("2023x", "%Y").is_err());
        assert!(strptime("20231302", "%Y%m%d").is_err());
    }

    #[test]
    fn defaults_by_state() {
        assert_eq!(parse(None, "%Y", true), Ok(TimeSpec::Now));
        assert_eq!(parse(None, "%Y", false), Ok(TimeSpec::Preserve));
        assert_eq!(parse(Some("now"), "%Y", false), Ok(TimeSpec::Now));
        assert!(parse(Some("bad"), "%Y", false)
            .unwrap_err()
            .starts_with("Error while obtaining timestamp for time bad"));
    }
}
