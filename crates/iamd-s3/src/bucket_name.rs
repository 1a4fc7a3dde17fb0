//! AWS's naming rules for general purpose buckets, applied by CreateBucket (S3 User
//! Guide, "General purpose bucket naming rules"). s3s's own check, run on every
//! request path, is older and looser (it lets `a.-b`, `sthree-x` and the reserved
//! suffixes through), so a name is checked here before a bucket is created.

/// Prefixes AWS reserves (`sthree-configurator` is covered by `sthree-`).
const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
/// Suffixes AWS reserves for access point aliases, Object Lambda aliases,
/// Multi-Region Access Points, directory buckets and table buckets.
const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Whether AWS lets a general purpose bucket be created with this name.
pub(crate) fn is_valid(name: &str) -> bool {
    let b = name.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| alnum(c) || *c == b'.' || *c == b'-')
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && !name.contains("..")
        // A hyphen next to a period (`a.-b`, `a-.b`).
        && !name.contains(".-")
        && !name.contains("-.")
        && !looks_like_ipv4(name)
        && !RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
        && !RESERVED_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// "Formatted as an IP address": four dot-separated groups of one to three digits
/// (`192.168.5.4`, and `999.1.1.1` too); a name that merely contains one is fine.
fn looks_like_ipv4(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| (1..=3).contains(&g.len()) && g.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::is_valid;

    #[test]
    fn length_is_3_to_63() {
        assert!(!is_valid(""));
        assert!(!is_valid("ab"));
        assert!(is_valid("abc"));
        assert!(is_valid(&"a".repeat(63)));
        assert!(!is_valid(&"a".repeat(64)));
    }

    #[test]
    fn only_lowercase_letters_digits_periods_hyphens() {
        assert!(is_valid("a-b.c-9"));
        for bad in ["Abc", "abC", "a_b", "a b", "a/b", "a:b", "abç", "a+b"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn begins_and_ends_with_letter_or_digit() {
        assert!(is_valid("1ab"));
        assert!(is_valid("ab1"));
        for bad in ["-ab", "ab-", ".ab", "ab."] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn no_adjacent_periods_and_no_hyphen_next_to_a_period() {
        assert!(!is_valid("a..b"));
        assert!(!is_valid("a.-b"));
        assert!(!is_valid("a-.b"));
        assert!(is_valid("a.b-c.d"));
        assert!(is_valid("a--b"));
    }

    #[test]
    fn not_formatted_as_an_ip_address() {
        assert!(!is_valid("192.168.5.4"));
        assert!(!is_valid("999.1.1.1"));
        assert!(is_valid("prefix-192.168.5.4"));
        assert!(is_valid("192.168.5.4-post"));
        assert!(is_valid("1.2.3"));
        assert!(is_valid("1.2.3.4.5"));
        assert!(is_valid("1.2.3.4444"));
    }

    #[test]
    fn reserved_prefixes() {
        for bad in [
            "xn--abc",
            "sthree-abc",
            "sthree-configurator-x",
            "amzn-s3-demo-x",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_valid("xn-abc"));
        assert!(is_valid("sthree"));
        assert!(is_valid("my-sthree-abc"));
        assert!(is_valid("amzn-s3-demo"));
    }

    #[test]
    fn reserved_suffixes() {
        for bad in [
            "abc-s3alias",
            "abc--ol-s3",
            "abc.mrap",
            "abc--x-s3",
            "abc--table-s3",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_valid("abc-s3alias1"));
        assert!(is_valid("abc-ol-s3"));
        assert!(is_valid("abc-mrap"));
        assert!(is_valid("abc-x-s3"));
        assert!(is_valid("abc-table-s3"));
    }
}
