//! Shared helpers of the fuzz targets: a lenient reader for HTTP-like request text
//! (so real requests captured from clients are valid corpus entries) and the fixed
//! credentials the targets sign and verify with; [`chunked`], the aws-chunked decoder
//! the targets check iamd's SigV4 verification and s3s's decoder against.

pub mod chunked;

/// Access key id the targets sign with (and `SimpleAuth` knows).
pub const ACCESS_KEY: &str = "AKIDFUZZEXAMPLE";
/// Secret the targets sign and verify with.
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A request read from fuzz input: `METHOD TARGET[ HTTP/1.1]`, then `Name: value`
/// lines, an empty line, then the body. Lines end in `\n` or `\r\n`.
#[derive(Debug, Clone)]
pub struct RawRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: Vec<(&'a str, &'a [u8])>,
    pub body: &'a [u8],
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Splits off one line (without its `\n` and a trailing `\r`); `None` at the end.
fn line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    if data.is_empty() {
        return None;
    }
    let (l, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    };
    Some((l.strip_suffix(b"\r").unwrap_or(l), rest))
}

/// Reads request text. Header lines whose name is not UTF-8 or that have no `:` are
/// skipped (they could not reach the server as headers either).
pub fn parse_http(data: &[u8]) -> Option<RawRequest<'_>> {
    let (first, mut rest) = line(data)?;
    let first = std::str::from_utf8(first).ok()?;
    let mut parts = first.splitn(3, ' ');
    let method = parts.next()?;
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    while let Some((l, r)) = line(rest) {
        rest = r;
        if l.is_empty() {
            break;
        }
        let Some(colon) = l.iter().position(|&b| b == b':') else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(&l[..colon]) else {
            continue;
        };
        headers.push((name, trim(&l[colon + 1..])));
    }
    Some(RawRequest {
        method,
        path,
        query,
        headers,
        body: rest,
    })
}

/// Whether `name` is an HTTP token (what `http::HeaderName` and hyper accept).
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `data` into pieces whose sizes cycle through `sizes` (each at least 1), for
/// feeding stream decoders in arbitrary splits.
pub fn pieces<'a>(data: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .map_or(rest.len(), |&s| usize::from(s).max(1));
        let (a, b) = rest.split_at(n.min(rest.len()));
        out.push(a);
        rest = b;
        i += 1;
    }
    out
}

/// Whether `FUZZ_VERBOSE` is set: targets then print what each input reached (for
/// checking that corpus entries get where they should; run the target on files).
pub fn verbose() -> bool {
    static V: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *V.get_or_init(|| std::env::var_os("FUZZ_VERBOSE").is_some())
}
