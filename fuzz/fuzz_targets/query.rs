//! The Query-protocol form decoder and the generated IAM/STS request decoders
//! (iamd-api), as the server runs them: `Params::from_form(query)`, then
//! `extend_form(body)`, then `iam::decode` / `sts::decode_request`.
//!
//! Input: one selector byte, then `QUERY\nBODY` (no `\n`: all body). The selector
//! picks one IAM and one STS operation to decode the parameters as, whatever their
//! `Action` says, so every generated decoder sees arbitrary parameters.
//!
//! Invariants: decoding is deterministic; query then body decodes as the two joined
//! with `&`; decoded parameters re-encode to a form that decodes to the same set;
//! a decoded request names the operation it was decoded as; every error renders as
//! an AWS error document with a 4xx/5xx status.
#![no_main]

use iamd_api::{iam, sts, ApiError, Params};
use libfuzzer_sys::fuzz_target;

fn encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn exercise_error(e: &ApiError) {
    assert!((400..600).contains(&e.status), "{e:?}");
    assert!(!e.code.is_empty());
    let xml = e.to_xml(iam::XMLNS, "req-1");
    assert!(xml.contains(&format!("<Code>{}</Code>", e.code)), "{xml}");
    let mut s = String::new();
    iam::encode_error(e, "req-1", &mut s);
    sts::encode_error(e, "req-1", &mut s);
}

fn decode_all(p: &Params, sel: u8) {
    match iam::decode_request(p) {
        Ok(r) => assert_eq!(Some(r.operation_name()), p.action()),
        Err(e) => exercise_error(&e),
    }
    match sts::decode_request(p) {
        Ok(r) => assert_eq!(Some(r.operation_name()), p.action()),
        Err(e) => exercise_error(&e),
    }
    let op = iam::OPERATIONS[usize::from(sel) % iam::OPERATIONS.len()];
    match iam::decode(op, p) {
        Ok(r) => assert_eq!(r.operation_name(), op),
        Err(e) => exercise_error(&e),
    }
    let op = sts::OPERATIONS[usize::from(sel) % sts::OPERATIONS.len()];
    match sts::decode(op, p) {
        Ok(r) => assert_eq!(r.operation_name(), op),
        Err(e) => exercise_error(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (query, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&b""[..], rest),
    };
    let params = Params::from_form(query).and_then(|mut p| p.extend_form(body).map(|()| p));
    assert_eq!(
        params,
        Params::from_form(query).and_then(|mut p| p.extend_form(body).map(|()| p))
    );
    let joined = Params::from_form(&[query, b"&", body].concat());
    assert_eq!(params, joined);
    let params = match params {
        Ok(p) => p,
        Err(e) => {
            assert_eq!(e.code, "MalformedQueryString");
            exercise_error(&e);
            return;
        }
    };
    let mut form = String::new();
    for (k, v) in params.iter() {
        if !form.is_empty() {
            form.push('&');
        }
        encode(k, &mut form);
        form.push('=');
        encode(v, &mut form);
    }
    assert_eq!(Params::from_form(form.as_bytes()).as_ref(), Ok(&params));
    assert_eq!(params.iter().count(), params.len());
    decode_all(&params, sel);
});
