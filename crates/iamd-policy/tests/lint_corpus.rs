//! One runner for the lint (Access-Analyzer-style validation) corpus in `lint_cases/*.json`.
//!
//! Each case: `name`, `type` (a [`PolicyType::from_name`] name), `policy` (the document as
//! an array of lines, joined with `\n`), optional `now` (epoch seconds, default
//! 2026-11-28T00:00:00Z) and `findings`: the exact list (in order) of
//! `{type, code, path, line, column}` the policy must produce (`[]` for a clean policy).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "an integration test: a failed expectation panics"
)]

use iamd_policy::lint::{lint, PathElement};
use iamd_policy::PolicyType;
use serde_json::{json, Value};

fn path_json(p: &[PathElement]) -> Value {
    Value::Array(
        p.iter()
            .map(|e| match e {
                PathElement::Value(v) => json!({ "value": v }),
                PathElement::Index(i) => json!({ "index": i }),
                PathElement::Key(k) => json!({ "key": k }),
            })
            .collect(),
    )
}

#[test]
fn lint_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint_cases");
    let mut n = 0;
    let mut failures = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let cases: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for c in cases.as_array().unwrap() {
            n += 1;
            let name = c["name"].as_str().unwrap();
            let ty = PolicyType::from_name(c["type"].as_str().unwrap()).unwrap();
            let src: Vec<&str> = c["policy"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            let src = src.join("\n");
            let now = c
                .get("now")
                .and_then(Value::as_i64)
                .unwrap_or(1_795_824_000);
            let reference = iamd_sar::reference().unwrap();
            let got: Vec<Value> = lint(&src, ty, now, reference)
                .iter()
                .map(|f| {
                    json!({
                        "type": f.finding_type.as_str(),
                        "code": f.issue_code,
                        "path": path_json(&f.path),
                        "line": f.span.start.line,
                        "column": f.span.start.column,
                    })
                })
                .collect();
            let want = c["findings"].as_array().unwrap();
            if &got != want {
                failures.push(format!(
                    "{name}:\n  want {}\n  got  {}",
                    Value::Array(want.clone()),
                    Value::Array(got)
                ));
            }
        }
    }
    assert!(n >= 20, "only {n} cases");
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
