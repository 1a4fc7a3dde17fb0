//! Fuzz the policy parser, validator, compiler and a decision on whatever compiles.
#![no_main]

use iamd_policy::*;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = size_without_whitespace(std::str::from_utf8(data).unwrap_or(""));
    let Ok(doc) = parse_bytes(data) else {
        return;
    };
    for ty in [
        PolicyType::Inline,
        PolicyType::Managed,
        PolicyType::Trust,
        PolicyType::Resource,
        PolicyType::PermissionsBoundary,
        PolicyType::Session,
    ] {
        let findings = validate_document(&doc, ty);
        for f in &findings {
            let _ = f.to_string();
        }
        let p = CompiledPolicy::compile(&doc, ty, "fuzz");
        let mut ctx = Context::new();
        ctx.insert("aws:username", "alice");
        ctx.insert_multi("aws:TagKeys", ["a", "b"]);
        ctx.insert("aws:SourceIp", "10.1.2.3");
        let req = Request {
            action: "s3:GetObject",
            resource: Resource::Arn("arn:aws:s3:::b/alice/x"),
            resource_account: Some("111111111111"),
            caller: Caller::User {
                arn: "arn:aws:iam::111111111111:user/alice",
                id: "AIDAALICE",
                account: "111111111111",
            },
            context: &ctx,
        };
        let one = [&p];
        let set = match ty {
            PolicyType::Resource => PolicySet { resource: Some(&&p), ..Default::default() },
            PolicyType::Trust => PolicySet { trust: Some(&&p), ..Default::default() },
            _ => PolicySet { identity: &one, ..Default::default() },
        };
        let d = decide(&req, &set);
        let e = explain(&req, &set);
        assert_eq!(d, e.decision);
    }
});
