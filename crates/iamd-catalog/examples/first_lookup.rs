//! Time to first lookup (decode the index, build it) and the resident memory it adds:
//! `cargo run --release -p iamd-catalog --example first_lookup`.

use std::time::Instant;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), iamd_catalog::CatalogError> {
    let before = rss_kib();
    let t = Instant::now();
    let cat = iamd_catalog::catalog()?;
    let found = cat
        .by_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .is_some();
    let first = t.elapsed();
    let after = rss_kib();
    let t = Instant::now();
    let doc = cat
        .get("ReadOnlyAccess")
        .map(|p| p.default_version().document())
        .transpose()?;
    let doc_time = t.elapsed();
    let t = Instant::now();
    let mut bytes = 0;
    for p in cat {
        bytes += p.default_version().document()?.len();
    }
    let all_time = t.elapsed();
    println!(
        "{} policies; first lookup (found: {found}) {first:?}; RSS {before:?} -> {after:?} KiB",
        cat.len()
    );
    println!(
        "ReadOnlyAccess default document ({} bytes) {doc_time:?}; all {} default documents ({bytes} bytes) {all_time:?}; RSS after {:?} KiB",
        doc.map_or(0, |d| d.len()),
        cat.len(),
        rss_kib()
    );
    Ok(())
}
