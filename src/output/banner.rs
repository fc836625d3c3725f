//! Ansible's banner lines (`TASK [name] ****`), as `Display.banner` draws them for output that is
//! not a terminal: the text, a space, and stars up to column 80 (at least three).

/// The width Ansible assumes when stdout is not a TTY: `max(79, 0 - 1)`.
const COLUMNS: usize = 79;

/// `"{msg} ****..."`: `msg` trimmed, then stars filling to 80 display columns, at least 3.
pub fn banner(msg: &str) -> String {
    let msg = msg.trim();
    let stars = COLUMNS.saturating_sub(text_width(msg)).max(3);
    format!("{} {}", msg, "*".repeat(stars))
}

/// Display columns of `s` on a terminal: East Asian wide characters and emoji take two,
/// combining marks and zero-width characters none (an approximation of `wcswidth`, which Ansible
/// uses).
pub fn text_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let n = c as u32;
    let zero = (0x0300..=0x036f).contains(&n)
        || (0x200b..=0x200f).contains(&n)
        || (0xfe00..=0xfe0f).contains(&n)
        || n == 0xfeff;
    if zero {
        return 0;
    }
    let wide = (0x1100..=0x115f).contains(&n)
        || (0x2e80..=0x303e).contains(&n)
        || (0x3041..=0x33ff).contains(&n)
        || (0x3400..=0x4dbf).contains(&n)
        || (0x4e00..=0x9fff).contains(&n)
        || (0xa000..=0xa4cf).contains(&n)
        || (0xac00..=0xd7a3).contains(&n)
        || (0xf900..=0xfaff).contains(&n)
        || (0xfe30..=0xfe4f).contains(&n)
        || (0xff00..=0xff60).contains(&n)
        || (0xffe0..=0xffe6).contains(&n)
        || (0x1f300..=0x1f64f).contains(&n)
        || (0x1f680..=0x1f6ff).contains(&n)
        || (0x1f900..=0x1f9ff).contains(&n)
        || (0x1fa70..=0x1faff).contains(&n)
        || (0x20000..=0x3fffd).contains(&n);
    if wide {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_to_eighty_columns() {
        // ansible-playbook output: "TASK [Say ok] " followed by 66 stars.
        let b = banner("TASK [Say ok]");
        assert_eq!(b.len(), 80);
        assert!(b.starts_with("TASK [Say ok] ****"));
    }

    #[test]
    fn long_names_get_three_stars() {
        let name = format!("TASK [{}]", "x".repeat(100));
        assert_eq!(banner(&name), format!("{name} ***"));
    }

    #[test]
    fn wide_characters_count_double() {
        // ansible.utils.display.get_text_width gives 11, 1 and 3 for these.
        assert_eq!(text_width("TASK [日本]"), 11);
        assert_eq!(text_width("e\u{301}"), 1);
        assert_eq!(text_width("🚀x"), 3);
        assert_eq!(banner("TASK [日本]").chars().filter(|c| *c == '*').count(), 68);
    }
}
