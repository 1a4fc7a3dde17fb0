#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use super::*;
use iamd_policy::lint::{lint, LintFinding, LintType};
use iamd_policy::PolicyType;

fn r() -> &'static Reference {
    reference().unwrap()
}

fn manifest_count(name: &str) -> usize {
    let m: serde_json::Value = serde_json::from_str(MANIFEST).unwrap();
    m["counts"][name].as_u64().unwrap() as usize
}

/// The codes of the findings of a managed policy.
fn codes(doc: &str) -> Vec<(&'static str, String)> {
    findings(doc)
        .into_iter()
        .map(|f| (f.issue_code, f.details))
        .collect()
}

fn findings(doc: &str) -> Vec<LintFinding> {
    lint(doc, PolicyType::Managed, 0, r())
}

fn statement(body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", {body}}}]}}"#)
}

#[test]
fn decodes_with_the_manifest_counts() {
    let r = r();
    assert_eq!(r.len(), manifest_count("services"));
    let actions: usize = r.services().map(|s| s.actions().len()).sum();
    assert_eq!(actions, manifest_count("actions"));
    let types: usize = r.services().map(|s| s.resource_types().len()).sum();
    assert_eq!(types, manifest_count("resource_types"));
    assert_eq!(r.keys.len(), manifest_count("condition_keys"));
    assert!(r.len() > 400 && actions > 20_000, "{} {actions}", r.len());
}

#[test]
fn looks_up_services_actions_and_resource_types() {
    let r = r();
    let ec2 = r.service("EC2").unwrap();
    assert_eq!(ec2.prefix(), "ec2");
    assert_eq!(ec2.name(), "Amazon EC2");
    assert!(ec2
        .condition_keys(r)
        .any(|k| k.name() == "ec2:InstanceType"));
    assert!(r.service("ec3").is_none());
    let run = r.action("ec2:runinstances").unwrap();
    assert_eq!(run.name(), "RunInstances");
    assert_eq!(run.access_level(), AccessLevel::Write);
    assert!(run.has_required_resource());
    assert_eq!(r.resource_types("dynamodb:GetItem").unwrap(), ["table"]);
    assert_eq!(
        r.resource_types("ec2:DescribeInstances").unwrap(),
        Vec::<&str>::new()
    );
    assert!(r
        .resource_types("lambda:InvokeFunction")
        .unwrap()
        .contains(&"function"));
    assert!(r.resource_types("ec2:RunInstance").is_none());
    assert!(r.resource_types("RunInstances").is_none());
    let s3 = r.service("s3").unwrap();
    let object = s3
        .resource_types()
        .iter()
        .find(|t| t.name() == "object")
        .unwrap();
    assert_eq!(
        object.arns().collect::<Vec<_>>(),
        ["arn:${Partition}:s3:::${BucketName}/${ObjectName}"]
    );
    // The generated IAM/STS/S3 tables of iamd-policy come from the same data.
    for svc in ["iam", "sts", "s3"] {
        for a in r.service(svc).unwrap().actions() {
            let full = format!("{svc}:{}", a.name());
            let ours = r.resource_types(&full).map(|mut t| {
                t.sort_unstable();
                t.dedup();
                t
            });
            let code = iamd_policy::sar_resource_types(&full).map(<[&str]>::to_vec);
            assert_eq!(code, ours, "{full}");
        }
    }
}

/// IAM and STS operations of botocore's model that the reference has no row for yet exist
/// (no INVALID_ACTION), with nothing known of their resource types or keys.
#[test]
fn api_operations_without_a_row() {
    let r = r();
    let a = r.action("iam:CreateWorkloadIdentityProvider").unwrap();
    assert_eq!(a.access_level(), AccessLevel::Unknown);
    assert_eq!(r.resource_types("iam:CreateWorkloadIdentityProvider"), None);
    assert_eq!(
        iamd_policy::sar_resource_types("iam:CreateWorkloadIdentityProvider"),
        None
    );
    let doc = statement(
        r#""Action": ["iam:CreateWorkloadIdentityProvider", "sts:GetScopedCredentials"],
        "Resource": "arn:aws:iam::123456789012:user/u", "Condition": {"StringEquals": {"iam:PassedToService": "x"}}"#,
    );
    assert_eq!(codes(&doc), []);
    assert!(manifest_count("api_operations_without_a_row") > 0);
}

#[test]
fn condition_keys_and_templates() {
    let r = r();
    let k = r.condition_key_info("EC2:instancetype").unwrap();
    assert_eq!(
        (k.name(), k.key_type()),
        ("ec2:InstanceType", KeyType::String)
    );
    assert_eq!(
        r.condition_key_info("ec2:ResourceTag/Team").unwrap().name(),
        "ec2:ResourceTag/${TagKey}"
    );
    assert!(r.condition_key_info("ec2:ResourceTag/").is_none());
    assert_eq!(
        r.condition_key_info("s3:ExistingObjectTag/x")
            .unwrap()
            .name(),
        "s3:ExistingObjectTag/${key}"
    );
    assert_eq!(
        r.condition_key_info("aws:SourceIp").unwrap().key_type(),
        KeyType::IpAddress
    );
    assert!(r.is_global_key("aws:PrincipalTag/team"));
    assert!(r.is_global_key("AWS:SOURCEVPCE"));
    assert!(!r.is_global_key("ec2:InstanceType"));
    assert_eq!(r.condition_key("aws:SourceIp"), KeyKind::Global);
    assert_eq!(
        r.condition_key("aws:SourceIpAddress"),
        KeyKind::UnknownGlobal
    );
    assert_eq!(r.condition_key("ec2:Vpc"), KeyKind::Service);
    assert_eq!(
        r.condition_key("ec2:Bogus"),
        KeyKind::UnknownInService("ec2".into())
    );
    assert_eq!(r.condition_key("saml:aud"), KeyKind::Service);
    assert_eq!(r.condition_key("oidc.example.com:sub"), KeyKind::Unknown);
    // Templates with a variable inside (codebuild) and in the prefix (buildkite).
    assert!(template_matches(
        &template_pieces("codebuild:environment.environmentVariables/${name}.value").unwrap(),
        "codebuild:environment.environmentvariables/home.value"
    ));
    assert!(!template_matches(
        &template_pieces("codebuild:environment.environmentVariables/${name}.value").unwrap(),
        "codebuild:environment.environmentvariables/.value"
    ));
    assert!(template_matches(
        &template_pieces("a.${X}.b:c").unwrap(),
        "a.zz.b:c"
    ));
}

#[test]
fn ec2_policies_are_checked() {
    // A misspelled action, a key EC2 does not define, a global key that does not exist.
    let doc = statement(
        r#""Action": ["ec2:RunInstance", "ec2:TerminateInstances"], "Resource": "*",
        "Condition": {"StringEquals": {"ec2:InstanceTypes": "t3.micro", "aws:RequestedRegions": "eu-west-1"}}"#,
    );
    let got = codes(&doc);
    assert_eq!(
        got,
        [
            (
                "INVALID_ACTION",
                "The action ec2:RunInstance does not exist.".to_string()
            ),
            (
                "INVALID_SERVICE_CONDITION_KEY",
                "The condition key ec2:InstanceTypes does not exist in the service ec2. Use a valid condition key.".to_string()
            ),
            (
                "INVALID_GLOBAL_CONDITION_KEY",
                "The condition key aws:RequestedRegions does not exist. Use a valid condition key.".to_string()
            ),
        ]
    );
    // The correct policy is clean.
    let doc = statement(
        r#""Action": ["ec2:RunInstances", "ec2:TerminateInstances"], "Resource": "*",
        "Condition": {"StringEquals": {"ec2:InstanceType": "t3.micro", "aws:RequestedRegion": "eu-west-1"}}"#,
    );
    assert_eq!(codes(&doc), []);
    // ec2:InstanceType belongs to the instance resource type: DescribeInstances (wildcard-only)
    // does not support it.
    let doc = statement(
        r#""Action": ["ec2:Describe*", "ec2:StartInstances"], "Resource": "*",
        "Condition": {"StringEquals": {"ec2:InstanceType": "t3.micro"}}"#,
    );
    assert_eq!(codes(&doc), []);
    let doc = statement(
        r#""Action": "ec2:DescribeInstances", "Resource": "*",
        "Condition": {"StringEquals": {"ec2:InstanceType": "t3.micro"}}"#,
    );
    let f = findings(&doc);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].issue_code, "UNSUPPORTED_ACTION_FOR_CONDITION_KEY");
    assert_eq!(f[0].finding_type, LintType::Error);
}

#[test]
fn dynamodb_and_lambda_resource_types() {
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/Books";
    let doc = statement(&format!(
        r#""Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "{table}",
        "Condition": {{"ForAllValues:StringEquals": {{"dynamodb:LeadingKeys": ["u1"]}}}}"#
    ));
    assert_eq!(codes(&doc), []);
    // A lambda action on a DynamoDB table: no action of the statement can use it.
    let doc = statement(&format!(
        r#""Action": "lambda:InvokeFunction", "Resource": "{table}""#
    ));
    assert_eq!(
        codes(&doc),
        [(
            "RESOURCE_TYPE_MISMATCH",
            format!("No action in the statement supports the table resource {table}.")
        )]
    );
    // A wildcard-only action is not judged (AWS accepts `s3:ListAllMyBuckets` on
    // `arn:aws:s3:::*`).
    let doc = statement(&format!(
        r#""Action": "dynamodb:ListTables", "Resource": "{table}""#
    ));
    assert_eq!(codes(&doc), []);
    let f = "arn:aws:lambda:us-east-1:123456789012:function:my-fn";
    let doc = statement(&format!(
        r#""Action": ["lambda:InvokeFunction", "lambda:GetFunction*"], "Resource": ["{f}", "{f}:*"],
        "Condition": {{"StringEquals": {{"lambda:FunctionUrlAuthType": "AWS_IAM"}}}}"#
    ));
    // lambda:FunctionUrlAuthType is a key of the URL actions (GetFunctionUrlConfig, which
    // lambda:GetFunction* names), not of InvokeFunction.
    let got = codes(&doc);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "UNSUPPORTED_ACTION_FOR_CONDITION_KEY");
    assert!(
        got[0]
            .1
            .starts_with("The following actions: lambda:InvokeFunction are not supported"),
        "{}",
        got[0].1
    );
}

#[test]
fn s3_iam_sts_behave_as_before() {
    // AWS's `aws accessanalyzer validate-policy` example (cognito trust policy).
    let src = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-west-2_EXAMPLE"}}}]}"#;
    let f = lint(src, PolicyType::Trust, 0, r());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].finding_type, LintType::Error);
    assert_eq!(f[0].issue_code, "UNSUPPORTED_ACTION_FOR_CONDITION_KEY");
    assert_eq!(
        f[0].details,
        "The following actions: sts:TagSession are not supported by the condition key cognito-identity.amazonaws.com:aud. The condition will not be evaluated for these actions. We recommend that you move these actions to a different statement without this condition key."
    );
    assert_eq!(
        f[0].learn_more_link(),
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-unsupported-action-for-condition-key"
    );
    let doc = statement(
        r#""Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"s3:Bogus": "x"}}"#,
    );
    assert_eq!(
        codes(&doc)[0].1,
        "The condition key s3:Bogus does not exist in the service s3. Use a valid condition key."
    );
    // s3:prefix is a ListBucket key; GetObject does not support it, s3:List* does.
    let doc = statement(
        r#""Action": ["s3:GetObject", "s3:List*"], "Resource": "*", "Condition": {"StringLike": {"s3:prefix": "home/"}}"#,
    );
    let got = codes(&doc);
    assert_eq!(got.len(), 1);
    assert!(got[0]
        .1
        .starts_with("The following actions: s3:GetObject are"));
    // Bucket and object ARNs.
    let doc = statement(r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::b""#);
    assert_eq!(
        codes(&doc),
        [(
            "RESOURCE_TYPE_MISMATCH",
            "No action in the statement supports the bucket resource arn:aws:s3:::b.".into()
        )]
    );
    let doc = statement(
        r#""Action": ["s3:ListBucket", "s3:GetObject"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]"#,
    );
    assert_eq!(codes(&doc), []);
}

#[test]
fn first_lookup_decodes_once() {
    let a = reference().unwrap() as *const Reference;
    let b = reference().unwrap() as *const Reference;
    assert_eq!(a, b);
}

#[test]
fn corrupt_data_is_an_error() {
    assert!(Reference::decode(b"IAMDSAR0").is_err());
    assert!(Reference::decode(b"IAMDSAR1garbage").is_err());
    assert!(Reference::parse("K\tx:y\t99\n").is_err());
    assert!(Reference::parse("A\tX\tR\t\t\n").is_err());
}
