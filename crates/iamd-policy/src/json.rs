//! A small position-tracking JSON parser.
//!
//! Differences from a general-purpose parser, all deliberate:
//! - every value carries its start and end position (1-based line and column, columns counted in
//!   Unicode scalar values);
//! - duplicate member names in one object are an error;
//! - nesting deeper than [`MAX_DEPTH`] is an error (no stack overflow on hostile input);
//! - numbers are kept as their literal text (policy values are normalised to strings anyway).

use crate::Pos;

/// Maximum nesting depth of arrays/objects accepted. Real policies nest at most 4 levels.
pub const MAX_DEPTH: usize = 64;

/// A parsed JSON value with its source span.
#[derive(Debug, Clone, PartialEq)]
pub struct Json {
    pub kind: JsonKind,
    pub start: Pos,
    pub end: Pos,
}

/// The JSON value kinds.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonKind {
    Null,
    Bool(bool),
    /// Literal number text, e.g. `"10"`, `"-1.5e3"`.
    Number(String),
    String(String),
    Array(Vec<Json>),
    /// Members in document order (names are unique).
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The string, if this is a JSON string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            JsonKind::String(s) => Some(s),
            _ => None,
        }
    }
}

/// A JSON syntax error with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    pub pos: Pos,
}

struct Parser<'a> {
    src: &'a [u8],
    i: usize,
    line: u32,
    col: u32,
}

/// Parse a complete JSON text (exactly one value, surrounded by optional whitespace).
pub fn parse(src: &str) -> Result<Json, JsonError> {
    let mut p = Parser {
        src: src.as_bytes(),
        i: 0,
        line: 1,
        col: 1,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i < p.src.len() {
        return Err(p.err("unexpected trailing characters after the JSON value"));
    }
    Ok(v)
}

impl<'a> Parser<'a> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col,
        }
    }
    fn err(&self, m: &str) -> JsonError {
        JsonError {
            message: m.to_string(),
            pos: self.pos(),
        }
    }
    fn peek(&self) -> Option<u8> {
        self.src.get(self.i).copied()
    }
    /// Advance one byte, keeping line/column (columns count scalar values: continuation bytes
    /// do not advance the column).
    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        if b == b'\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else if (b & 0xC0) != 0x80 {
            self.col = self.col.saturating_add(1);
        }
        Some(b)
    }
    fn ws(&mut self) {
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.bump();
            } else {
                break;
            }
        }
    }
    fn expect_lit(&mut self, lit: &[u8]) -> Result<(), JsonError> {
        for &c in lit {
            if self.peek() != Some(c) {
                return Err(self.err("invalid literal"));
            }
            self.bump();
        }
        Ok(())
    }
    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("JSON nested too deeply"));
        }
        let start = self.pos();
        let kind = match self.peek() {
            None => return Err(self.err("unexpected end of input")),
            Some(b'{') => self.object(depth)?,
            Some(b'[') => self.array(depth)?,
            Some(b'"') => JsonKind::String(self.string()?),
            Some(b't') => {
                self.expect_lit(b"true")?;
                JsonKind::Bool(true)
            }
            Some(b'f') => {
                self.expect_lit(b"false")?;
                JsonKind::Bool(false)
            }
            Some(b'n') => {
                self.expect_lit(b"null")?;
                JsonKind::Null
            }
            Some(b'-' | b'0'..=b'9') => JsonKind::Number(self.number()?),
            Some(_) => return Err(self.err("unexpected character")),
        };
        Ok(Json {
            kind,
            start,
            end: self.pos(),
        })
    }
    fn object(&mut self, depth: usize) -> Result<JsonKind, JsonError> {
        self.bump(); // {
        let mut members: Vec<(String, Json)> = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(JsonKind::Object(members));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a member name string"));
            }
            let key_pos = self.pos();
            let key = self.string()?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(JsonError {
                    message: format!("duplicate member name \"{key}\""),
                    pos: key_pos,
                });
            }
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':'"));
            }
            self.bump();
            self.ws();
            let v = self.value(depth + 1)?;
            members.push((key, v));
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.bump();
                }
                Some(b'}') => {
                    self.bump();
                    return Ok(JsonKind::Object(members));
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }
    fn array(&mut self, depth: usize) -> Result<JsonKind, JsonError> {
        self.bump(); // [
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(JsonKind::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.bump();
                }
                Some(b']') => {
                    self.bump();
                    return Ok(JsonKind::Array(items));
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
    }
    fn number(&mut self) -> Result<String, JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => {
                self.bump();
            }
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.bump();
                }
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("invalid number"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("invalid number"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.bump();
            }
        }
        let text = self
            .src
            .get(start..self.i)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("");
        Ok(text.to_string())
    }
    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v: u32 = 0;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape")),
            };
            self.bump();
            v = v * 16 + u32::from(d);
        }
        Ok(v)
    }
    fn string(&mut self) -> Result<String, JsonError> {
        self.bump(); // opening quote
        let mut out = String::new();
        loop {
            let run_start = self.i;
            // fast run of plain characters
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.bump();
            }
            if self.i > run_start {
                let run = self
                    .src
                    .get(run_start..self.i)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .ok_or_else(|| self.err("invalid UTF-8 in string"))?;
                out.push_str(run);
            }
            match self.peek() {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.bump();
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.bump();
                    let c = match self.bump() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi) {
                                if self.peek() != Some(b'\\') {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                self.bump();
                                if self.peek() != Some(b'u') {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                self.bump();
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                char::from_u32(cp).ok_or_else(|| self.err("invalid escape"))?
                            } else {
                                char::from_u32(hi).ok_or_else(|| self.err("unpaired surrogate"))?
                            }
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    out.push(c);
                }
                Some(_) => return Err(self.err("control character in string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_values() {
        let j = parse("{\n  \"a\": [1, \"x\\u00e9\", true, null]\n}").unwrap();
        assert_eq!(j.start, Pos { line: 1, column: 1 });
        assert_eq!(j.end, Pos { line: 3, column: 2 });
        let JsonKind::Object(m) = &j.kind else {
            panic!()
        };
        assert_eq!(m[0].1.start, Pos { line: 2, column: 8 });
        let JsonKind::Array(a) = &m[0].1.kind else {
            panic!()
        };
        assert_eq!(a[1].as_str(), Some("xé"));
    }

    #[test]
    fn rejects_duplicates_depth_and_garbage() {
        assert!(parse("{\"a\":1,\"a\":2}").is_err());
        assert!(parse(&"[".repeat(100_000)).is_err());
        assert!(parse("{\"a\":1} x").is_err());
        assert!(parse("\"\\ud800\"").is_err());
        assert!(parse("01").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn surrogate_pairs() {
        let j = parse("\"\\ud83d\\ude00\"").unwrap();
        assert_eq!(j.as_str(), Some("😀"));
    }
}
