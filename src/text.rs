//! Text helpers for strings that come from the wire or from tenants. Every cut is on a
//! character boundary: cutting a `String` at a byte index inside a multi-byte character
//! panics, and cloud messages are often Chinese.

/// At most `max` bytes of `s`, cut on a character boundary, with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    const ELLIPSIS: &str = "…";
    let budget = max.saturating_sub(ELLIPSIS.len());
    let mut out = String::from(prefix(s, budget));
    if max >= ELLIPSIS.len() {
        out.push_str(ELLIPSIS);
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_never_splits_a_character_at_any_offset() {
        let s = "实例状态不支持该操作。".repeat(120) + "x🙂y";
        for max in 0..s.len() + 2 {
            let c = clip(&s, max);
            if max < s.len() {
                assert!(c.len() <= max, "max {max}: {}", c.len());
            } else {
                assert_eq!(c, s);
            }
            let p = prefix(&s, max);
            assert!(s.starts_with(p));
            assert!(p.len() <= max);
        }
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 4), "a…");
    }
}
