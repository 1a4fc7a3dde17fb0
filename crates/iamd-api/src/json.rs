//! A tiny JSON writer used to dump decoded requests (tests, debugging).
//! Member names are the model's (PascalCase); timestamps are ISO-8601
//! strings and blobs base64 strings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::time::Timestamp;

/// A value that can write itself as JSON.
pub trait WriteJson {
    /// Appends the JSON text of this value.
    fn write_json(&self, out: &mut String);

    /// The JSON text of this value.
    fn to_json(&self) -> String {
        let mut s = String::new();
        self.write_json(&mut s);
        s
    }
}

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a blob as a base64 JSON string.
pub fn blob(out: &mut String, b: &[u8]) {
    out.push('"');
    crate::base64::encode_into(out, b);
    out.push('"');
}

/// Writes `,"name":` (no comma before the first field).
pub fn field(out: &mut String, first: &mut bool, name: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    string(out, name);
    out.push(':');
}

impl WriteJson for String {
    fn write_json(&self, out: &mut String) {
        string(out, self);
    }
}

impl WriteJson for i32 {
    fn write_json(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl WriteJson for i64 {
    fn write_json(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl WriteJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl WriteJson for Timestamp {
    fn write_json(&self, out: &mut String) {
        out.push('"');
        self.write_iso8601(out);
        out.push('"');
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.write_json(out);
        }
        out.push(']');
    }
}

impl<T: WriteJson> WriteJson for BTreeMap<String, T> {
    fn write_json(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        for (k, v) in self {
            field(out, &mut first, k);
            v.write_json(out);
        }
        out.push('}');
    }
}

impl<T: WriteJson> WriteJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}
