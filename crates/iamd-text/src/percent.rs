//! Percent-decoding (`%XX` → the byte `0xXX`, optionally `+` → space) and hex digits.

use std::borrow::Cow;

/// The value of one hex digit (either case).
pub const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A `%` not followed by two hex digits, refused by [`decode_strict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidEscape;

/// Decodes `input` onto `out`. An invalid escape is kept literally, or with `strict`
/// ends the decoding with an error.
fn decode_into(
    out: &mut Vec<u8>,
    input: &[u8],
    plus_as_space: bool,
    strict: bool,
) -> Result<(), InvalidEscape> {
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            let h = input.get(i + 1).copied().and_then(hex_value);
            let l = input.get(i + 2).copied().and_then(hex_value);
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h << 4) | l);
                i += 3;
                continue;
            }
            if strict {
                return Err(InvalidEscape);
            }
            out.push(b);
        } else if plus_as_space && b == b'+' {
            out.push(b' ');
        } else {
            out.push(b);
        }
        i += 1;
    }
    Ok(())
}

/// Percent-decodes; invalid escapes are kept literally. `plus_as_space` turns `+` into
/// a space (form decoding). Borrows `input` when there is nothing to decode.
pub fn decode(input: &[u8], plus_as_space: bool) -> Cow<'_, [u8]> {
    if !input
        .iter()
        .any(|&b| b == b'%' || (plus_as_space && b == b'+'))
    {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    // Lenient decoding has no error.
    let _ = decode_into(&mut out, input, plus_as_space, false);
    Cow::Owned(out)
}

/// Percent-decodes, refusing a `%` not followed by two hex digits.
pub fn decode_strict(input: &[u8], plus_as_space: bool) -> Result<Vec<u8>, InvalidEscape> {
    let mut out = Vec::with_capacity(input.len());
    decode_into(&mut out, input, plus_as_space, true)?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_digits() {
        assert_eq!(hex_value(b'0'), Some(0));
        assert_eq!(hex_value(b'9'), Some(9));
        assert_eq!(hex_value(b'a'), Some(10));
        assert_eq!(hex_value(b'F'), Some(15));
        for b in [b'g', b'G', b'+', b' ', b'%', 0xff] {
            assert_eq!(hex_value(b), None);
        }
    }

    #[test]
    fn lenient() {
        assert!(matches!(decode(b"abc", true), Cow::Borrowed(b"abc")));
        assert!(matches!(decode(b"a+b", false), Cow::Borrowed(b"a+b")));
        assert_eq!(&*decode(b"a+b%20c", true), b"a b c");
        assert_eq!(&*decode(b"a+b%20c", false), b"a+b c");
        assert_eq!(&*decode(b"%2f%2F", false), b"//");
        assert_eq!(&*decode(b"%zz%4%", false), b"%zz%4%");
        assert_eq!(&*decode(b"%e2%82%ac", false), "€".as_bytes());
    }

    #[test]
    fn strict() {
        assert_eq!(decode_strict(b"a+b%20c", true).unwrap(), b"a b c");
        assert_eq!(decode_strict(b"a+b", false).unwrap(), b"a+b");
        assert_eq!(decode_strict(b"", true).unwrap(), b"");
        for bad in [&b"%"[..], b"%4", b"%zz", b"a%g0"] {
            assert_eq!(decode_strict(bad, true), Err(InvalidEscape));
        }
    }

    fn encode(b: &[u8]) -> String {
        b.iter().map(|b| format!("%{b:02X}")).collect()
    }

    proptest! {
        #[test]
        fn decodes_what_is_encoded(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = encode(&b);
            prop_assert_eq!(&*decode(text.as_bytes(), true), &b[..]);
            prop_assert_eq!(decode_strict(text.as_bytes(), false).unwrap(), b);
        }

        #[test]
        fn strict_and_lenient_agree(b in proptest::collection::vec(any::<u8>(), 0..64), plus: bool) {
            let lenient = decode(&b, plus);
            prop_assert!(lenient.len() <= b.len());
            if let Ok(s) = decode_strict(&b, plus) {
                prop_assert_eq!(&s[..], &*lenient);
            } else {
                prop_assert!(b.contains(&b'%'));
            }
        }
    }
}
