//! Wildcard matching (docs/policy-semantics.md §2.1) and policy-variable templates (§3.8).
//!
//! `*` matches any run of characters (including none, `/` and `:`), `?` exactly one Unicode
//! scalar value. The general matcher is iterative with single-star backtracking (O(n·m) worst
//! case, no recursion, no allocation).

/// One element of a pattern after variable resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// `*`
    Star,
    /// `?`
    One,
    /// Literal text (may itself contain `*`/`?`, which are then literal).
    Text(&'a str),
}

#[inline]
fn char_len(b: u8) -> usize {
    if b < 0x80 {
        1
    } else if b >= 0xF0 {
        4
    } else if b >= 0xE0 {
        3
    } else {
        2
    }
}

#[inline(always)]
fn load8(s: &[u8], i: usize) -> u64 {
    s.get(i..i + 8)
        .and_then(|x| <[u8; 8]>::try_from(x).ok())
        .map_or(0, u64::from_ne_bytes)
}

#[inline(always)]
fn load4(s: &[u8], i: usize) -> u32 {
    s.get(i..i + 4)
        .and_then(|x| <[u8; 4]>::try_from(x).ok())
        .map_or(0, u32::from_ne_bytes)
}

/// Byte-slice equality without a libc `memcmp` call (policy strings are short): two
/// overlapping word compares up to 16 bytes.
#[inline(always)]
pub(crate) fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a.first() == b.first() && a.get(n / 2) == b.get(n / 2) && a.last() == b.last(),
        4..=7 => load4(a, 0) == load4(b, 0) && load4(a, n - 4) == load4(b, n - 4),
        _ => {
            let mut i = 0;
            while i + 8 < n {
                if load8(a, i) != load8(b, i) {
                    return false;
                }
                i += 8;
            }
            load8(a, n - 8) == load8(b, n - 8)
        }
    }
}

#[inline]
fn starts_with(text: &[u8], lit: &[u8], ci: bool) -> bool {
    match text.get(..lit.len()) {
        Some(head) => {
            if ci {
                head.eq_ignore_ascii_case(lit)
            } else {
                eq_bytes(head, lit)
            }
        }
        None => false,
    }
}

#[inline]
fn ends_with(text: &[u8], lit: &[u8], ci: bool) -> bool {
    if lit.len() > text.len() {
        return false;
    }
    match text.get(text.len() - lit.len()..) {
        Some(tail) => {
            if ci {
                tail.eq_ignore_ascii_case(lit)
            } else {
                eq_bytes(tail, lit)
            }
        }
        None => false,
    }
}

fn contains(text: &[u8], lit: &[u8], ci: bool) -> bool {
    if lit.is_empty() {
        return true;
    }
    if lit.len() > text.len() {
        return false;
    }
    (0..=text.len() - lit.len()).any(|i| text.get(i..).is_some_and(|t| starts_with(t, lit, ci)))
}

/// General glob over resolved pieces. `ci`: ASCII case-insensitive literal comparison.
pub fn match_pieces(pieces: &[Piece<'_>], text: &str, ci: bool) -> bool {
    match_pieces_bytes(pieces, text.as_bytes(), ci)
}

/// [`match_pieces`] over the bytes of a UTF-8 string (`?` consumes one whole character).
pub(crate) fn match_pieces_bytes(pieces: &[Piece<'_>], t: &[u8], ci: bool) -> bool {
    let n = t.len();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        let ok = match pieces.get(pi) {
            Some(Piece::Star) => {
                if pi + 1 == pieces.len() {
                    return true; // a trailing `*` takes the rest
                }
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some(Piece::One) => match t.get(ti) {
                Some(&b) => {
                    ti += char_len(b);
                    pi += 1;
                    true
                }
                None => false,
            },
            Some(Piece::Text(s)) => {
                let s = s.as_bytes();
                if t.get(ti..).is_some_and(|rest| starts_with(rest, s, ci)) {
                    ti += s.len();
                    pi += 1;
                    true
                } else {
                    false
                }
            }
            None => {
                if ti >= n {
                    return true;
                }
                false
            }
        };
        if ok {
            continue;
        }
        // backtrack to the last star, extending it by one character
        match star {
            Some((sp, st)) => match t.get(st) {
                Some(&b) => {
                    let st2 = st + char_len(b);
                    star = Some((sp, st2));
                    pi = sp;
                    ti = st2;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Token of a template (pattern text before variable resolution).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Star,
    One,
    Text(Box<str>),
    /// `${name}` / `${name, 'default'}`; `name` is lowercased.
    Var {
        name: Box<str>,
        default: Option<Box<str>>,
    },
}

/// Pre-analysed shape of a variable-free pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    Any,
    Literal(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Contains(Box<str>),
    General,
}

/// A compiled glob/literal pattern, possibly containing policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    toks: Box<[Tok]>,
    shape: Shape,
    has_vars: bool,
    /// The pattern contains no `*`/`?` tokens (after literal conversion).
    pub(crate) literal_only: bool,
}

/// How to read `*`/`?` in pattern text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `*` and `?` are wildcards.
    Glob,
    /// `*` and `?` are literal characters (StringEquals).
    Literal,
}

/// Parse `${...}` at byte `i` (which points at `$`). Returns the token and bytes consumed.
fn parse_var(s: &str, i: usize) -> Option<(Tok, usize)> {
    let rest = s.get(i..)?;
    if !rest.starts_with("${") {
        return None;
    }
    let close = rest.find('}')?;
    let inner = rest.get(2..close)?;
    let consumed = close + 1;
    match inner {
        "*" => return Some((Tok::Text("*".into()), consumed)),
        "?" => return Some((Tok::Text("?".into()), consumed)),
        "$" => return Some((Tok::Text("$".into()), consumed)),
        _ => {}
    }
    let (name, default) = match inner.find(',') {
        Some(c) => {
            let name = inner.get(..c)?.trim();
            let d = inner.get(c + 1..)?.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (name, Some(d))
        }
        None => (inner.trim(), None),
    };
    if name.is_empty() {
        return None;
    }
    Some((
        Tok::Var {
            name: name.to_lowercase().into(),
            default: default.map(Into::into),
        },
        consumed,
    ))
}

impl Pattern {
    /// Compile `text`. `vars`: expand `${...}` (2012-10-17 documents only).
    /// `lowercase`: lowercase literal text (for case-insensitive action patterns).
    pub fn new(text: &str, mode: Mode, vars: bool, lowercase: bool) -> Pattern {
        let mut toks: Vec<Tok> = Vec::new();
        let mut lit = String::new();
        let flush = |lit: &mut String, toks: &mut Vec<Tok>| {
            if !lit.is_empty() {
                let t = if lowercase {
                    lit.to_ascii_lowercase()
                } else {
                    std::mem::take(lit)
                };
                lit.clear();
                // merge adjacent text
                if let Some(Tok::Text(prev)) = toks.last_mut() {
                    let mut p = prev.to_string();
                    p.push_str(&t);
                    *prev = p.into();
                } else {
                    toks.push(Tok::Text(t.into()));
                }
            }
        };
        let mut i = 0;
        let b = text.as_bytes();
        while i < b.len() {
            let c = b.get(i).copied().unwrap_or(0);
            if c == b'$' && vars {
                if let Some((tok, used)) = parse_var(text, i) {
                    match tok {
                        Tok::Text(t) => lit.push_str(&t),
                        other => {
                            flush(&mut lit, &mut toks);
                            toks.push(other);
                        }
                    }
                    i += used;
                    continue;
                }
            }
            if mode == Mode::Glob && (c == b'*' || c == b'?') {
                flush(&mut lit, &mut toks);
                let tok = if c == b'*' { Tok::Star } else { Tok::One };
                // collapse runs of stars
                if !(tok == Tok::Star && toks.last() == Some(&Tok::Star)) {
                    toks.push(tok);
                }
                i += 1;
                continue;
            }
            let l = char_len(c);
            if let Some(chunk) = text.get(i..i + l) {
                lit.push_str(chunk);
            }
            i += l;
        }
        flush(&mut lit, &mut toks);
        let has_vars = toks.iter().any(|t| matches!(t, Tok::Var { .. }));
        let literal_only = !toks.iter().any(|t| matches!(t, Tok::Star | Tok::One));
        let shape = if has_vars {
            Shape::General
        } else {
            match toks.as_slice() {
                [] => Shape::Literal("".into()),
                [Tok::Star] => Shape::Any,
                [Tok::Text(t)] => Shape::Literal(t.clone()),
                [Tok::Text(t), Tok::Star] => Shape::Prefix(t.clone()),
                [Tok::Star, Tok::Text(t)] => Shape::Suffix(t.clone()),
                [Tok::Star, Tok::Text(t), Tok::Star] => Shape::Contains(t.clone()),
                _ => Shape::General,
            }
        };
        Pattern {
            toks: toks.into_boxed_slice(),
            shape,
            has_vars,
            literal_only,
        }
    }

    /// Whether the pattern contains policy variables.
    pub fn has_vars(&self) -> bool {
        self.has_vars
    }

    /// Whether this pattern is exactly `*`.
    pub fn is_any(&self) -> bool {
        self.shape == Shape::Any
    }

    /// The literal text if the pattern is a plain literal without variables.
    pub fn as_literal(&self) -> Option<&str> {
        match &self.shape {
            Shape::Literal(s) => Some(s),
            _ => None,
        }
    }

    /// The literal text the pattern starts with (before any wildcard or variable).
    pub(crate) fn literal_prefix(&self) -> &str {
        match self.toks.first() {
            Some(Tok::Text(t)) => t,
            _ => "",
        }
    }

    /// Names of the variables used (lowercased).
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.toks.iter().filter_map(|t| match t {
            Tok::Var { name, .. } => Some(&**name),
            _ => None,
        })
    }

    /// Resolve variables into pieces and call `f` with them; `None` if a variable is
    /// unresolvable (and has no default).
    pub fn resolve_then<'v, R>(
        &'v self,
        resolve: &mut dyn FnMut(&str) -> Option<&'v str>,
        f: impl FnOnce(&[Piece<'_>]) -> R,
    ) -> Option<R> {
        const N: usize = 8;
        let mut buf = [Piece::Star; N];
        let mut vec: Vec<Piece<'v>> = Vec::new();
        let big = self.toks.len() > N;
        for (i, t) in self.toks.iter().enumerate() {
            let p = match t {
                Tok::Star => Piece::Star,
                Tok::One => Piece::One,
                Tok::Text(s) => Piece::Text(s),
                Tok::Var { name, default } => match resolve(name) {
                    Some(v) => Piece::Text(v),
                    None => match default {
                        Some(d) => Piece::Text(d),
                        None => return None,
                    },
                },
            };
            if big {
                vec.push(p);
            } else if let Some(slot) = buf.get_mut(i) {
                *slot = p;
            }
        }
        if big {
            Some(f(&vec))
        } else {
            Some(f(buf.get(..self.toks.len()).unwrap_or(&[])))
        }
    }

    /// Fast-path match for variable-free patterns (literal/prefix/suffix/contains/any);
    /// `None` when the general matcher is needed.
    #[inline(always)]
    fn matches_fast_bytes(&self, t: &[u8], ci: bool) -> Option<bool> {
        Some(match &self.shape {
            Shape::Any => true,
            Shape::Literal(s) => {
                if ci {
                    t.eq_ignore_ascii_case(s.as_bytes())
                } else {
                    eq_bytes(t, s.as_bytes())
                }
            }
            Shape::Prefix(s) => starts_with(t, s.as_bytes(), ci),
            Shape::Suffix(s) => ends_with(t, s.as_bytes(), ci),
            Shape::Contains(s) => contains(t, s.as_bytes(), ci),
            Shape::General => return None,
        })
    }

    /// Glob match with fast paths, resolving variables via `resolve`.
    #[inline]
    pub fn is_match<'v>(
        &'v self,
        text: &str,
        ci: bool,
        resolve: &mut dyn FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        self.is_match_bytes(text.as_bytes(), ci, resolve)
    }

    /// [`Pattern::is_match`] over the bytes of a UTF-8 string.
    #[inline]
    pub(crate) fn is_match_bytes<'v>(
        &'v self,
        t: &[u8],
        ci: bool,
        resolve: &mut dyn FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        match self.matches_fast_bytes(t, ci) {
            Some(r) => r,
            None => self.match_general(t, ci, resolve),
        }
    }

    /// The general (wildcards in the middle, or variables) match, kept out of line.
    #[inline(never)]
    fn match_general<'v>(
        &'v self,
        t: &[u8],
        ci: bool,
        resolve: &mut dyn FnMut(&str) -> Option<&'v str>,
    ) -> bool {
        self.resolve_then(resolve, |pieces| match_pieces_bytes(pieces, t, ci))
            .unwrap_or(false)
    }

    /// Match a variable-free pattern against the bytes of a UTF-8 string (action names, which
    /// the decision path lowercases into a stack buffer). A pattern with variables matches
    /// nothing here.
    #[inline]
    pub(crate) fn matches_bytes(&self, t: &[u8], ci: bool) -> bool {
        self.is_match_bytes(t, ci, &mut |_| None)
    }

    /// Tokens (for tests / reference interpretation).
    pub fn tokens(&self) -> &[Tok] {
        &self.toks
    }
}

/// Convenience: glob-match `pattern` against `text` (no variables), case-sensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    Pattern::new(pattern, Mode::Glob, false, false).is_match(text, false, &mut |_| None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert!(glob("*", ""));
        assert!(glob("a*b", "ab"));
        assert!(glob("a*b", "axxb"));
        assert!(!glob("a*b", "axxbc"));
        assert!(glob("b/*/test/*", "b/1/2/test/x"));
        assert!(glob("b/*/test/*", "b//test/x"));
        assert!(!glob("b/*/test/*", "b/test/x"));
        assert!(glob("GetObjec?", "GetObject"));
        assert!(!glob("GetObjec?", "GetObjectAcl"));
        assert!(glob("?", "é"));
        assert!(!glob("??", "é"));
        assert!(glob("*?", "é"));
        assert!(glob("a**b", "ab"));
        assert!(glob("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!glob("*a*b*c*", "xxaxxcxxbxx"));
    }

    #[test]
    fn eq_bytes_agrees_with_slice_equality() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + (i % 26)).collect();
        for n in 0..base.len() {
            let a = &base[..n];
            assert!(eq_bytes(a, a));
            assert!(!eq_bytes(a, &base[..n + 1]));
            for i in 0..n {
                let mut b = a.to_vec();
                b[i] ^= 0x20;
                assert!(!eq_bytes(a, &b), "len {n}, differs at {i}");
            }
        }
    }

    #[test]
    fn trailing_star_and_bytes() {
        let p = Pattern::new("home/${aws:username}/*", Mode::Glob, true, false);
        let mut r = |n: &str| (n == "aws:username").then_some("alice");
        assert!(p.is_match_bytes(b"home/alice/", false, &mut r));
        assert!(p.is_match_bytes(b"home/alice/a/b", false, &mut r));
        assert!(!p.is_match_bytes(b"home/alice", false, &mut r));
        let p = Pattern::new("s3:get*acl", Mode::Glob, false, true);
        assert!(p.matches_bytes(b"s3:getobjectacl", false));
        assert!(!p.matches_bytes(b"s3:getobject", false));
    }

    #[test]
    fn ci_and_vars() {
        let p = Pattern::new("s3:get*", Mode::Glob, false, true);
        assert!(p.is_match("S3:GetObject", true, &mut |_| None));
        let p = Pattern::new("home/${aws:username}/*", Mode::Glob, true, false);
        assert!(
            p.is_match("home/alice/x", false, &mut |n| (n == "aws:username")
                .then_some("alice"))
        );
        assert!(!p.is_match("home/alice/x", false, &mut |_| None));
        let p = Pattern::new("a${*}b", Mode::Glob, true, false);
        assert!(p.is_match("a*b", false, &mut |_| None));
        assert!(!p.is_match("axb", false, &mut |_| None));
        let p = Pattern::new(
            "x/${aws:PrincipalTag/team, 'shared'}/*",
            Mode::Glob,
            true,
            false,
        );
        assert!(p.is_match("x/shared/y", false, &mut |_| None));
        // old version: literal
        let p = Pattern::new("a${*}b", Mode::Glob, false, false);
        assert!(p.is_match("a${x}b", false, &mut |_| None));
        // unterminated
        let p = Pattern::new("a${x", Mode::Literal, true, false);
        assert_eq!(p.as_literal(), Some("a${x"));
    }
}
