//! Query-protocol request parameters (`application/x-www-form-urlencoded`).

use std::collections::BTreeMap;

use crate::error::ApiError;

/// Decoded request parameters, name → value. Names are unique: a repeated
/// name is rejected at insertion. Kept sorted so list/map members can be
/// found by prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// Decodes one form component: `+` → space, `%XX` → byte; the result must be UTF-8.
pub fn form_decode(raw: &[u8]) -> Result<String, ApiError> {
    // Most names and many values have nothing to decode.
    if !raw.iter().any(|&b| b == b'%' || b == b'+') {
        return std::str::from_utf8(raw).map(str::to_owned).map_err(|_| {
            ApiError::malformed("The query string is not valid UTF-8 after percent-decoding")
        });
    }
    let out = iamd_text::percent::decode_strict(raw, true).map_err(|_| {
        ApiError::malformed("The query string contains an invalid percent-encoding")
    })?;
    String::from_utf8(out).map_err(|_| {
        ApiError::malformed("The query string is not valid UTF-8 after percent-decoding")
    })
}

impl Params {
    /// Empty parameter set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a form body or query string (`a=1&b=x%20y`).
    pub fn from_form(raw: &[u8]) -> Result<Self, ApiError> {
        let mut p = Params::new();
        p.extend_form(raw)?;
        Ok(p)
    }

    /// Adds the pairs of a form body / query string; empty pairs (`&&`) are
    /// skipped; a name without `=` gets the empty value. A name already
    /// present (in this or an earlier call) is an error.
    pub fn extend_form(&mut self, raw: &[u8]) -> Result<(), ApiError> {
        for pair in raw.split(|&b| b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            let k = form_decode(k)?;
            let v = form_decode(v)?;
            self.insert(k, v)?;
        }
        Ok(())
    }

    /// Inserts one parameter; a repeated name is a `MalformedQueryString` error.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), ApiError> {
        let name = name.into();
        if self.map.contains_key(&name) {
            return Err(ApiError::malformed(format!(
                "The parameter {name} is specified more than once"
            )));
        }
        self.map.insert(name, value.into());
        Ok(())
    }

    /// Value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The `Action` parameter.
    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }

    /// The `Version` parameter.
    pub fn version(&self) -> Option<&str> {
        self.get("Version")
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No parameters at all.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// All parameters, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parameters whose name starts with `prefix`, sorted by name.
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.map
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether any parameter name starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.with_prefix(prefix).next().is_some()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn parses_form() {
        let p =
            Params::from_form(b"Action=CreateUser&UserName=a%2Bb+c&Empty=&Flag&&Path=%2F").unwrap();
        assert_eq!(p.action(), Some("CreateUser"));
        assert_eq!(p.get("UserName"), Some("a+b c"));
        assert_eq!(p.get("Empty"), Some(""));
        assert_eq!(p.get("Flag"), Some(""));
        assert_eq!(p.get("Path"), Some("/"));
        assert_eq!(p.len(), 5);
    }

    #[test]
    fn utf8_and_errors() {
        let p = Params::from_form(b"N=%C3%A9").unwrap();
        assert_eq!(p.get("N"), Some("é"));
        for bad in [&b"N=%C3"[..], b"N=%zz", b"N=%4", b"N=\xff", b"%G1=x"] {
            let e = Params::from_form(bad).unwrap_err();
            assert_eq!(e.code, "MalformedQueryString");
            assert_eq!(e.status, 400);
        }
        let e = Params::from_form(b"A=1&B=2&A=3").unwrap_err();
        assert_eq!(e.code, "MalformedQueryString");
        assert!(
            e.message.contains("A is specified more than once"),
            "{}",
            e.message
        );
    }

    #[test]
    fn query_plus_body_duplicate() {
        let mut p = Params::from_form(b"Action=GetUser").unwrap();
        assert!(p.extend_form(b"Action=GetUser").is_err());
    }

    #[test]
    fn prefix() {
        let p =
            Params::from_form(b"Tags.member.1.Key=a&Tags.member.2.Key=b&TagsX=1&Tag=2").unwrap();
        let v: Vec<_> = p.with_prefix("Tags.").map(|(k, _)| k).collect();
        assert_eq!(v, ["Tags.member.1.Key", "Tags.member.2.Key"]);
        assert!(p.has_prefix("Tags.member.2"));
        assert!(!p.has_prefix("Tags.member.3"));
    }
}
