//! rpm's version comparison (`rpmvercmp` in rpm's rpmio/rpmvercmp.c), for the dnf module's
//! `allow_downgrade`: whether the installed version is newer than the one a spec names.

use std::cmp::Ordering;

/// Compares two version (or release) strings as rpm does: alternating runs of digits (compared as
/// numbers) and letters (compared as text), other characters only separate; `~` sorts before
/// anything (even the end), `^` after the end but before anything else.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (a.as_bytes(), b.as_bytes());
    let sep = |s: &[u8]| s.iter().take_while(|c| !c.is_ascii_alphanumeric() && **c != b'~' && **c != b'^').count();
    loop {
        one = &one[sep(one)..];
        two = &two[sep(two)..];
        let (c1, c2) = (one.first().copied(), two.first().copied());
        if c1 == Some(b'~') || c2 == Some(b'~') {
            if c1 != Some(b'~') {
                return Ordering::Greater;
            }
            if c2 != Some(b'~') {
                return Ordering::Less;
            }
            (one, two) = (&one[1..], &two[1..]);
            continue;
        }
        if c1 == Some(b'^') || c2 == Some(b'^') {
            if c1.is_none() {
                return Ordering::Less;
            }
            if c2.is_none() {
                return Ordering::Greater;
            }
            if c1 != Some(b'^') {
                return Ordering::Greater;
            }
            if c2 != Some(b'^') {
                return Ordering::Less;
            }
            (one, two) = (&one[1..], &two[1..]);
            continue;
        }
        let (Some(first), Some(_)) = (c1, c2) else { break };
        let numeric = first.is_ascii_digit();
        let run = |s: &[u8]| {
            s.iter().take_while(|c| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() }).count()
        };
        let (n1, n2) = (run(one), run(two));
        if n2 == 0 {
            // Different kinds of run: a number is newer than letters.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (mut s1, mut s2) = (&one[..n1], &two[..n2]);
        if numeric {
            s1 = &s1[s1.iter().take_while(|c| **c == b'0').count()..];
            s2 = &s2[s2.iter().take_while(|c| **c == b'0').count()..];
            match s1.len().cmp(&s2.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match s1.cmp(s2) {
            Ordering::Equal => {}
            o => return o,
        }
        (one, two) = (&one[n1..], &two[n2..]);
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}
