//! The embedded file, `data/managed-policies.bin`, written by
//! `codegen/gen_managed_policies.py`:
//!
//! ```text
//! "IAMDMPC1"                      magic, 8 bytes
//! u32 little-endian               M, the length of the index stream
//! M bytes                         the index: an LZMA ("alone" format) stream of UTF-8 text
//! the rest                        per policy, one LZMA ("alone") stream of its documents
//! ```
//!
//! The index has one line per policy, sorted by name (byte order), fields separated by tabs:
//! `name  path  create-date  update-date  stream-offset  stream-length  versions`, where
//! `stream-offset` is relative to the end of the index and `versions` is a comma-separated
//! list of `id=create-date=length`, the default version first, then the older versions from
//! the newest down. A policy's stream is its versions' documents (minified JSON, UTF-8)
//! concatenated in that order, so the default document is decoded without the others.
//! Dates are `YYYY-MM-DDTHH:MM:SSZ`.

use crate::{CatalogError, ManagedPolicy, PolicyVersion};

const MAGIC: &[u8] = b"IAMDMPC1";

fn corrupt(what: impl Into<String>) -> CatalogError {
    CatalogError::Corrupt(what.into())
}

/// Decode an LZMA ("alone") stream: all of it (`size` None: the stream's end marker ends
/// it, checked), or its first `size` bytes (decoding stops there).
pub(crate) fn unpack(stream: &[u8], size: Option<u64>) -> Result<Vec<u8>, CatalogError> {
    use lzma_rs::decompress::{Options, Stream, UnpackedSize};
    use std::io::Write;
    let lzma = |e: std::fmt::Arguments| corrupt(format!("LZMA: {e}"));
    let Some(size) = size else {
        let mut out = Vec::new();
        let mut input = stream;
        lzma_rs::lzma_decompress(&mut input, &mut out).map_err(|e| lzma(format_args!("{e}")))?;
        return Ok(out);
    };
    // A prefix: the decoder stops once it has `size` bytes (it may finish the match it is
    // in, so a few more), and the end-of-stream check is skipped.
    let options = Options {
        unpacked_size: UnpackedSize::ReadHeaderButUseProvided(Some(size)),
        memlimit: None,
        allow_incomplete: true,
    };
    let mut decoder = Stream::new_with_options(&options, Vec::new());
    // Once it has `size` bytes, the decoder takes no more input (`write` returns 0).
    let mut input = stream;
    while !input.is_empty() {
        match decoder.write(input) {
            Ok(0) => break,
            Ok(n) => input = input.get(n..).unwrap_or_default(),
            Err(e) => return Err(lzma(format_args!("{e}"))),
        }
    }
    let mut out = decoder.finish().map_err(|e| lzma(format_args!("{e:?}")))?;
    let size = usize::try_from(size).map_err(|_| corrupt("size"))?;
    if out.len() < size {
        return Err(corrupt(format!("stream shorter than {size} bytes")));
    }
    out.truncate(size);
    Ok(out)
}

/// Parse the whole file into policies sorted by name.
pub(crate) fn parse(data: &'static [u8]) -> Result<Vec<ManagedPolicy>, CatalogError> {
    let rest = data
        .strip_prefix(MAGIC)
        .ok_or_else(|| corrupt("bad magic"))?;
    let (len, rest) = rest
        .split_at_checked(4)
        .ok_or_else(|| corrupt("truncated header"))?;
    let len: [u8; 4] = len.try_into().map_err(|_| corrupt("truncated header"))?;
    let len = usize::try_from(u32::from_le_bytes(len)).map_err(|_| corrupt("index length"))?;
    let (index, streams) = rest
        .split_at_checked(len)
        .ok_or_else(|| corrupt("truncated index"))?;
    let index = String::from_utf8(unpack(index, None)?).map_err(|_| corrupt("index not UTF-8"))?;
    let mut out: Vec<ManagedPolicy> = Vec::new();
    for line in index.lines() {
        let p = policy(line, streams)?;
        if out.last().is_some_and(|prev| prev.name >= p.name) {
            return Err(corrupt(format!("{}: index not sorted", p.name)));
        }
        out.push(p);
    }
    Ok(out)
}

fn policy(line: &str, streams: &'static [u8]) -> Result<ManagedPolicy, CatalogError> {
    let bad = || corrupt(format!("index line {line:?}"));
    let mut f = line.split('\t');
    let mut field = || f.next().ok_or_else(bad);
    let (name, path, create, update) = (field()?, field()?, field()?, field()?);
    let offset: usize = field()?.parse().map_err(|_| bad())?;
    let length: usize = field()?.parse().map_err(|_| bad())?;
    let versions = field()?;
    if f.next().is_some() || !path.starts_with('/') || !path.ends_with('/') {
        return Err(bad());
    }
    let end = offset.checked_add(length).ok_or_else(bad)?;
    let stream = streams.get(offset..end).ok_or_else(bad)?;
    let mut start = 0usize;
    let mut list = Vec::new();
    for v in versions.split(',') {
        let mut parts = v.split('=');
        let (Some(id), Some(date), Some(len), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let len: usize = len.parse().map_err(|_| bad())?;
        list.push(PolicyVersion {
            id: id.into(),
            create_date: date.into(),
            stream,
            start,
            len,
        });
        start = start.checked_add(len).ok_or_else(bad)?;
    }
    let mut list = list.into_iter();
    let default = list.next().ok_or_else(bad)?;
    Ok(ManagedPolicy {
        name: name.into(),
        path: path.into(),
        create_date: create.into(),
        update_date: update.into(),
        default,
        older: list.collect(),
    })
}
