//! Runtime support for the generated decoders and validators. Not meant to
//! be called by hand, but public so the generated modules (and tests) can.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::ApiError;
use crate::params::Params;
use crate::time::Timestamp;

/// Values longer than this (in characters) are elided in validation messages.
pub const MAX_ECHO_CHARS: usize = 128;

/// Collected constraint violations of one request (AWS reports them all at once).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Validation {
    errors: Vec<String>,
}

impl Validation {
    /// Records `Value '<v>' at '<path>' failed to satisfy constraint: <constraint>`.
    /// `value: None` omits the value (sensitive members, lists).
    pub fn push(&mut self, value: Option<&str>, path: &str, constraint: &str) {
        let mut s = String::with_capacity(64 + path.len() + constraint.len());
        match value {
            Some(v) => {
                s.push_str("Value '");
                if v.chars().count() > MAX_ECHO_CHARS {
                    s.extend(v.chars().take(MAX_ECHO_CHARS));
                    s.push_str("...");
                } else {
                    s.push_str(v);
                }
                s.push_str("' at '");
            }
            None => s.push_str("Value at '"),
        }
        s.push_str(path);
        s.push_str("' failed to satisfy constraint: ");
        s.push_str(constraint);
        self.errors.push(s);
    }

    /// Records a missing required member (`Value null at '<path>' … must not be null`).
    pub fn missing(&mut self, path: &str) {
        self.errors.push(format!(
            "Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// No violations so far.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The violation descriptions, in detection order.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// `Ok(())` or a `ValidationError` listing every violation.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(&self.errors))
        }
    }
}

/// A model `pattern`, kept verbatim for messages, compiled once on first use.
#[derive(Debug)]
pub struct Pattern {
    /// The pattern text exactly as in the model (used in messages).
    pub text: &'static str,
    /// The translated, anchored Rust regex (`None` if it failed to compile,
    /// which fails every value: fail closed; a unit test compiles them all).
    pub re: &'static LazyLock<Option<Regex>>,
    /// A substring the value must not contain (stands in for a Java
    /// negative look-ahead such as `-(?!-)`, which Rust regex lacks).
    pub forbid: Option<&'static str>,
}

impl Pattern {
    /// Whether `v` matches the whole pattern.
    pub fn matches(&self, v: &str) -> bool {
        match &**self.re {
            Some(re) => re.is_match(v) && self.forbid.is_none_or(|f| !v.contains(f)),
            None => false,
        }
    }
}

/// Constraints of a string shape.
#[derive(Debug)]
pub struct StrRule {
    /// Minimum length in characters.
    pub min: Option<u64>,
    /// Maximum length in characters.
    pub max: Option<u64>,
    /// Regular expression the whole value must match.
    pub pattern: Option<&'static Pattern>,
    /// Allowed values (empty: any).
    pub enum_values: &'static [&'static str],
    /// The value is not echoed in messages.
    pub sensitive: bool,
}

/// Constraints of an integer shape.
#[derive(Debug)]
pub struct IntRule {
    /// Minimum value.
    pub min: Option<i64>,
    /// Maximum value.
    pub max: Option<i64>,
}

/// Constraints of a list/map/blob length.
#[derive(Debug)]
pub struct LenRule {
    /// Minimum number of items.
    pub min: Option<u64>,
    /// Maximum number of items.
    pub max: Option<u64>,
}

fn len_violations(
    errs: &mut Validation,
    value: Option<&str>,
    path: &str,
    len: u64,
    min: Option<u64>,
    max: Option<u64>,
) {
    if let Some(max) = max {
        if len > max {
            errs.push(
                value,
                path,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }
    if let Some(min) = min {
        if len < min {
            errs.push(
                value,
                path,
                &format!("Member must have length greater than or equal to {min}"),
            );
        }
    }
}

/// Checks a string value against its rule, recording violations. Lengths are
/// counted in UTF-16 code units, as AWS (Java) counts them.
pub fn check_str(errs: &mut Validation, v: &str, path: &str, rule: &StrRule) {
    let shown = if rule.sensitive { None } else { Some(v) };
    if rule.min.is_some() || rule.max.is_some() {
        len_violations(
            errs,
            shown,
            path,
            v.encode_utf16().count() as u64,
            rule.min,
            rule.max,
        );
    }
    if let Some(p) = rule.pattern {
        if !p.matches(v) {
            errs.push(
                shown,
                path,
                &format!("Member must satisfy regular expression pattern: {}", p.text),
            );
        }
    }
    if !rule.enum_values.is_empty() && !rule.enum_values.contains(&v) {
        errs.push(
            shown,
            path,
            &format!(
                "Member must satisfy enum value set: [{}]",
                rule.enum_values.join(", ")
            ),
        );
    }
}

/// Checks an integer against its rule.
pub fn check_int(errs: &mut Validation, v: i64, path: &str, rule: &IntRule) {
    let shown = v.to_string();
    if let Some(max) = rule.max {
        if v > max {
            errs.push(
                Some(&shown),
                path,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }
    if let Some(min) = rule.min {
        if v < min {
            errs.push(
                Some(&shown),
                path,
                &format!("Member must have value greater than or equal to {min}"),
            );
        }
    }
}

/// Checks a list/map size (or blob length) against its rule.
pub fn check_len(errs: &mut Validation, len: usize, path: &str, rule: &LenRule) {
    len_violations(errs, None, path, len as u64, rule.min, rule.max);
}

/// `prefix.name`, or `name` at the top level.
pub fn key<'a>(prefix: &str, name: &'a str) -> Cow<'a, str> {
    if prefix.is_empty() {
        // A top-level member (every member of a request): no copy.
        Cow::Borrowed(name)
    } else {
        let mut s = String::with_capacity(prefix.len() + 1 + name.len());
        s.push_str(prefix);
        s.push('.');
        s.push_str(name);
        Cow::Owned(s)
    }
}

/// Unwraps a required member, recording `must not be null` when absent.
pub fn req<T: Default>(v: Option<T>, path: &str, errs: &mut Validation) -> T {
    match v {
        Some(v) => v,
        None => {
            errs.missing(path);
            T::default()
        }
    }
}

/// A string member; validated when `rule` is given.
pub fn string(
    p: &Params,
    key: &str,
    path: &str,
    rule: Option<&StrRule>,
    errs: &mut Validation,
) -> Option<String> {
    let v = p.get(key)?;
    if let Some(rule) = rule {
        check_str(errs, v, path, rule);
    }
    Some(v.to_owned())
}

fn bad_value(key: &str, v: &str, what: &str) -> ApiError {
    ApiError::invalid_parameter_value(format!(
        "Value '{v}' for parameter {key} is invalid. Must be {what}."
    ))
}

/// A 64-bit integer member (also used for `integer`, narrowed by the caller).
pub fn long(
    p: &Params,
    key: &str,
    path: &str,
    rule: Option<&IntRule>,
    errs: &mut Validation,
) -> Result<Option<i64>, ApiError> {
    let Some(v) = p.get(key) else { return Ok(None) };
    let n: i64 = v.parse().map_err(|_| bad_value(key, v, "an integer"))?;
    if let Some(rule) = rule {
        check_int(errs, n, path, rule);
    }
    Ok(Some(n))
}

/// A 32-bit integer member.
pub fn int(
    p: &Params,
    key: &str,
    path: &str,
    rule: Option<&IntRule>,
    errs: &mut Validation,
) -> Result<Option<i32>, ApiError> {
    match long(p, key, path, rule, errs)? {
        None => Ok(None),
        Some(n) => match i32::try_from(n) {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(bad_value(
                key,
                p.get(key).unwrap_or_default(),
                "a 32-bit integer",
            )),
        },
    }
}

/// A boolean member: `true` or `false` (ASCII case-insensitive).
pub fn boolean(p: &Params, key: &str) -> Result<Option<bool>, ApiError> {
    let Some(v) = p.get(key) else { return Ok(None) };
    if v.eq_ignore_ascii_case("true") {
        Ok(Some(true))
    } else if v.eq_ignore_ascii_case("false") {
        Ok(Some(false))
    } else {
        Err(bad_value(key, v, "a boolean (true or false)"))
    }
}

/// An ISO-8601 timestamp member.
pub fn timestamp(p: &Params, key: &str) -> Result<Option<Timestamp>, ApiError> {
    let Some(v) = p.get(key) else { return Ok(None) };
    Timestamp::parse_iso8601(v)
        .map(Some)
        .map_err(|_| bad_value(key, v, "an ISO-8601 timestamp"))
}

/// A base64 blob member.
pub fn blob(
    p: &Params,
    key: &str,
    path: &str,
    rule: Option<&LenRule>,
    errs: &mut Validation,
) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(v) = p.get(key) else { return Ok(None) };
    let b =
        crate::base64::decode(v).ok_or_else(|| bad_value(key, v, "base64-encoded binary data"))?;
    if let Some(rule) = rule {
        len_violations(errs, None, path, b.len() as u64, rule.min, rule.max);
    }
    Ok(Some(b))
}

/// Whether a structure member rooted at `key` is present (any `key.…` parameter).
pub fn has_struct(p: &Params, key: &str) -> bool {
    let mut pre = String::with_capacity(key.len() + 1);
    pre.push_str(key);
    pre.push('.');
    p.has_prefix(&pre)
}

/// Number of items of a list (`{key}.{item}.N…`) or map (`item = "entry"`)
/// member. `None`: absent. `Some(0)`: sent as `key=` (botocore's empty list).
/// Indices must be canonical decimals forming exactly `1..=n`; anything else
/// under `{key}.{item}.` is a `MalformedQueryString` error.
pub fn count(p: &Params, key: &str, item: &str) -> Result<Option<usize>, ApiError> {
    let mut pre = String::with_capacity(key.len() + item.len() + 2);
    pre.push_str(key);
    pre.push('.');
    pre.push_str(item);
    pre.push('.');
    let mut seen: Vec<usize> = Vec::new();
    for (k, _) in p.with_prefix(&pre) {
        let rest = &k[pre.len()..];
        let seg = rest.split('.').next().unwrap_or_default();
        let ok = !seg.is_empty()
            && seg.len() <= 9
            && seg.bytes().all(|b| b.is_ascii_digit())
            && !seg.starts_with('0');
        if !ok {
            return Err(ApiError::malformed(format!(
                "The parameter {k} has an invalid index: list and map indices start at 1"
            )));
        }
        let i: usize = seg
            .parse()
            .map_err(|_| ApiError::malformed(format!("The parameter {k} has an invalid index")))?;
        if seen.last() != Some(&i) {
            seen.push(i);
        }
    }
    if seen.is_empty() {
        return Ok(p.get(key).map(|_| 0));
    }
    seen.sort_unstable();
    seen.dedup();
    for (pos, &i) in seen.iter().enumerate() {
        if i != pos + 1 {
            return Err(ApiError::malformed(format!(
                "The list or map parameter {key} must be numbered contiguously from 1; index {} is missing",
                pos + 1
            )));
        }
    }
    Ok(Some(seen.len()))
}

/// `parent.N.member` validation path of a list item (`N` 1-based).
pub fn item_path(parent: &str, i: usize) -> String {
    format!("{parent}.{i}.member")
}

/// `{key}.{item}.{i}` parameter name of a list item / map entry.
pub fn item_key(key: &str, item: &str, i: usize) -> String {
    format!("{key}.{item}.{i}")
}
