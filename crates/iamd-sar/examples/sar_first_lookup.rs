//! Time to first lookup (decode and index the reference) and the resident memory it adds,
//! then the cost of linting a policy for another service:
//! `cargo run --release -p iamd-sar --example sar_first_lookup`.

use std::time::Instant;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), iamd_sar::SarError> {
    let before = rss_kib();
    let t = Instant::now();
    let r = iamd_sar::reference()?;
    let found = r.action("ec2:RunInstances").is_some();
    let first = t.elapsed();
    let after = rss_kib();
    let actions: usize = r.services().map(|s| s.actions().len()).sum();
    println!(
        "{} services, {actions} actions; first lookup (found: {found}) {first:?}; RSS {before:?} -> {after:?} KiB",
        r.len()
    );
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
        "Action":["ec2:RunInstances","ec2:Describe*","dynamodb:GetItem"],
        "Resource":["arn:aws:ec2:*:*:instance/*","arn:aws:dynamodb:*:*:table/t"],
        "Condition":{"StringEquals":{"ec2:InstanceType":"t3.micro","aws:RequestedRegion":"eu-west-1"}}}]}"#;
    let t = Instant::now();
    let n = 100;
    let mut findings = 0;
    for _ in 0..n {
        findings += iamd_policy::lint::lint(doc, iamd_policy::PolicyType::Inline, 0, r).len();
    }
    println!(
        "lint of a 3-action EC2/DynamoDB policy: {:?} each ({} findings)",
        t.elapsed() / n,
        findings / n as usize
    );
    Ok(())
}
