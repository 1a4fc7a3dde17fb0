//! Minimal, allocation-light XML writing for Query-protocol responses.

use crate::time::Timestamp;

/// A value that writes its members as XML child elements (no enclosing element).
pub trait WriteXml {
    /// Appends this value's member elements to `out`.
    fn write_xml(&self, out: &mut String);
}

/// Appends `s` to `out` with `& < > " '` escaped. CR is written as `&#13;`
/// so it survives XML line-end normalisation. Characters XML 1.0 cannot carry
/// at all (C0 controls other than TAB/LF/CR, U+FFFE, U+FFFF) are replaced by
/// U+FFFD so the document always stays well-formed.
pub fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    // Runs of ordinary bytes (nearly every byte of a response) are skipped with one
    // table lookup each.
    while let Some(n) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| SPECIAL[usize::from(b)]))
    {
        i += n;
        let b = bytes[i];
        let (rep, len): (&str, usize) = match b {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&apos;", 1),
            b'\r' => ("&#13;", 1),
            0..=0x1f => ("\u{FFFD}", 1),
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                ("\u{FFFD}", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        out.push_str(rep);
        i += len;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// The bytes [`escape_into`] looks at: markup, CR, C0 controls other than TAB and LF,
/// and 0xEF (the first byte of U+FFFE and U+FFFF).
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t[0xEF] = true;
    t
};

/// Escapes `s` into a new `String`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

#[inline]
fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

#[inline]
fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `<name>` (start tag).
pub fn start(out: &mut String, name: &str) {
    open(out, name);
}

/// `</name>` (end tag).
pub fn end(out: &mut String, name: &str) {
    close(out, name);
}

/// `<name>escaped text</name>`.
pub fn elem_str(out: &mut String, name: &str, v: &str) {
    open(out, name);
    escape_into(out, v);
    close(out, name);
}

/// `<name>123</name>`.
pub fn elem_i32(out: &mut String, name: &str, v: i32) {
    open(out, name);
    push_i64(out, i64::from(v));
    close(out, name);
}

/// `<name>123</name>`.
pub fn elem_i64(out: &mut String, name: &str, v: i64) {
    open(out, name);
    push_i64(out, v);
    close(out, name);
}

/// `<name>true|false</name>`.
pub fn elem_bool(out: &mut String, name: &str, v: bool) {
    open(out, name);
    out.push_str(if v { "true" } else { "false" });
    close(out, name);
}

/// `<name>2011-01-22T20:02:27Z</name>`.
pub fn elem_ts(out: &mut String, name: &str, v: &Timestamp) {
    open(out, name);
    v.write_iso8601(out);
    close(out, name);
}

/// `<name>base64</name>`.
pub fn elem_blob(out: &mut String, name: &str, v: &[u8]) {
    open(out, name);
    crate::base64::encode_into(out, v);
    close(out, name);
}

/// `<name>…members…</name>`.
pub fn elem_struct(out: &mut String, name: &str, v: &dyn WriteXml) {
    open(out, name);
    v.write_xml(out);
    close(out, name);
}

/// Writes a full success response:
/// `<{op}Response xmlns=…>[<{op}Result>…</{op}Result>]<ResponseMetadata><RequestId>…`.
pub fn encode_response(
    xmlns: &str,
    op: &str,
    result: Option<&dyn WriteXml>,
    request_id: &str,
    out: &mut String,
) {
    out.reserve(256 + 2 * op.len());
    out.push('<');
    out.push_str(op);
    out.push_str("Response xmlns=\"");
    escape_into(out, xmlns);
    out.push_str("\">");
    if let Some(r) = result {
        out.push('<');
        out.push_str(op);
        out.push_str("Result>");
        r.write_xml(out);
        out.push_str("</");
        out.push_str(op);
        out.push_str("Result>");
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape_into(out, request_id);
    out.push_str("</RequestId></ResponseMetadata></");
    out.push_str(op);
    out.push_str("Response>");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// The escaping rules written plainly, one character at a time.
    fn reference_escape(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                '\r' => out.push_str("&#13;"),
                '\t' | '\n' => out.push(c),
                '\u{0}'..='\u{1f}' | '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
                _ => out.push(c),
            }
        }
        out
    }

    #[test]
    fn escaping_matches_the_plain_rules_on_every_mix_of_interesting_characters() {
        let alphabet = [
            "a", "&", "<", ">", "\"", "'", "\r", "\n", "\t", "\u{1}", "\u{1f}", "\u{FFFE}",
            "\u{FFFF}", "\u{FFFD}", "\u{F000}", "\u{FBFF}", "é", "😀", " ",
        ];
        // Every string of up to three pieces of the alphabet, and each with a prefix
        // and suffix of ordinary text.
        let mut cases = vec![String::new()];
        for a in alphabet {
            cases.push(a.to_string());
            for b in alphabet {
                cases.push(format!("{a}{b}"));
                for c in alphabet {
                    cases.push(format!("{a}{b}{c}"));
                }
            }
        }
        for case in &cases {
            let long = format!("arn:aws:iam::123456789012:{case}user/melvins");
            for s in [case.as_str(), long.as_str()] {
                assert_eq!(escape(s), reference_escape(s), "{s:?}");
            }
        }
    }

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            escape("a<b>&\"c'\r\n\t\u{1}é\u{FFFE}\u{FFFF}\u{FFFD}😀\u{1f}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#13;\n\t\u{FFFD}é\u{FFFD}\u{FFFD}\u{FFFD}😀\u{FFFD}"
        );
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn numbers() {
        let mut s = String::new();
        elem_i32(&mut s, "A", -2147483648);
        elem_i32(&mut s, "B", 0);
        elem_i64(&mut s, "C", 1234567890123);
        assert_eq!(s, "<A>-2147483648</A><B>0</B><C>1234567890123</C>");
    }

    struct X;
    impl WriteXml for X {
        fn write_xml(&self, out: &mut String) {
            elem_str(out, "UserName", "bob & co");
        }
    }

    #[test]
    fn envelope() {
        let mut s = String::new();
        encode_response("urn:x", "GetUser", Some(&X), "rid-1", &mut s);
        assert_eq!(
            s,
            "<GetUserResponse xmlns=\"urn:x\"><GetUserResult><UserName>bob &amp; co</UserName>\
             </GetUserResult><ResponseMetadata><RequestId>rid-1</RequestId></ResponseMetadata>\
             </GetUserResponse>"
        );
        let mut s = String::new();
        encode_response("urn:x", "DeleteUser", None, "r", &mut s);
        assert_eq!(
            s,
            "<DeleteUserResponse xmlns=\"urn:x\"><ResponseMetadata><RequestId>r</RequestId>\
             </ResponseMetadata></DeleteUserResponse>"
        );
    }
}
