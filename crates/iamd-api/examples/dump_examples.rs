//! Test driver for codegen/tests/test_roundtrip.py (botocore round-trips).
//!
//! * `dump_examples responses` — one line per operation of both services:
//!   `<service>\t<operation>\t<XML response of the operation's example output>`.
//! * `dump_examples errors` — one record per modeled error:
//!   `<service>\t<code>\t<status>\t<XML error response>` terminated by U+001E
//!   (the messages contain raw newlines).
//! * `dump_examples decode` — reads lines `<service>\t<form body>` on stdin and
//!   prints, per line, `ok\t<operation>\t<decoded input as JSON>` or
//!   `err\t<code>\t<status>\t<message>`.
//! * `dump_examples patterns` — prints `<service>\t<pattern>` for every model
//!   pattern, then reads lines `<service>\t<pattern index>\t<value>` on stdin
//!   (value with `\\`, `\t`, `\n`, `\r` escaped) and prints `1` or `0` per line
//!   (whether the value matches).

use std::io::{self, BufRead, Write};

use iamd_api::{iam, sts, ApiError, Params};

fn decode_line(line: &str) -> Result<(String, String), ApiError> {
    let (svc, body) = line.split_once('\t').unwrap_or((line, ""));
    let params = Params::from_form(body.as_bytes())?;
    let action = params.action().ok_or_else(ApiError::missing_action)?;
    match svc {
        "iam" => iam::decode(action, &params).map(|r| (r.operation_name().to_owned(), r.to_json())),
        "sts" => sts::decode(action, &params).map(|r| (r.operation_name().to_owned(), r.to_json())),
        other => Err(ApiError::new("UnknownService", other.to_owned(), 400, true)),
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn main() -> io::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match mode.as_str() {
        "responses" => {
            for (svc, ops) in [("iam", iam::OPERATIONS), ("sts", sts::OPERATIONS)] {
                for op in ops {
                    let rid = format!("rid-{svc}-{op}");
                    let xml = match svc {
                        "iam" => iam::example_response(op, &rid),
                        _ => sts::example_response(op, &rid),
                    };
                    writeln!(out, "{svc}\t{op}\t{}", xml.unwrap_or_default())?;
                }
            }
        }
        "errors" => {
            for (svc, all, xmlns) in [
                ("iam", iam::errors::ALL, iam::XMLNS),
                ("sts", sts::errors::ALL, sts::XMLNS),
            ] {
                for e in all {
                    let err = e.with_message(format!(
                        "example <{}> & \"message\"\r\n\t' \u{1}\u{FFFF} é😀",
                        e.code
                    ));
                    write!(
                        out,
                        "{svc}\t{}\t{}\t{}\x1e",
                        e.code,
                        e.status,
                        err.to_xml(xmlns, "rid-err")
                    )?;
                }
            }
        }
        "decode" => {
            for line in io::stdin().lock().lines() {
                let line = line?;
                match decode_line(&line) {
                    Ok((op, json)) => writeln!(out, "ok\t{op}\t{json}")?,
                    Err(e) => writeln!(
                        out,
                        "err\t{}\t{}\t{}",
                        e.code,
                        e.status,
                        e.message.replace('\n', " ")
                    )?,
                }
            }
        }
        "patterns" => {
            for p in iam::PATTERNS {
                writeln!(out, "iam\t{}", p.text)?;
            }
            for p in sts::PATTERNS {
                writeln!(out, "sts\t{}", p.text)?;
            }
            writeln!(out, "--")?;
            out.flush()?;
            for line in io::stdin().lock().lines() {
                let line = line?;
                let mut parts = line.splitn(3, '\t');
                let (svc, idx, value) = (parts.next(), parts.next(), parts.next());
                let table = if svc == Some("sts") {
                    sts::PATTERNS
                } else {
                    iam::PATTERNS
                };
                let pat = idx
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| table.get(i));
                let value = unescape(value.unwrap_or_default());
                let m = pat.is_some_and(|p| p.matches(&value));
                writeln!(out, "{}", u8::from(m))?;
            }
        }
        _ => {
            eprintln!("usage: dump_examples responses|errors|decode|patterns");
            std::process::exit(2);
        }
    }
    out.flush()
}
