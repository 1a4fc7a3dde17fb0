//! The property that attaching a managed policy never removes a permission another
//! attached policy grants: random allow-only policies (customer-managed ones with
//! random statements, and AWS-managed ones from the catalogue) attached one by one
//! to a user, directly or through its group, through the front door; every request
//! the user was allowed stays allowed, and in the end the user may do exactly what
//! one of its policies alone allows.

use super::*;
use crate::principal::Check;

/// The requests decided after each attachment: (action, resource; `*` for
/// wildcard-only actions).
const REQUESTS: &[(&str, &str)] = &[
    ("iam:ListUsers", "arn:aws:iam::123456789012:user/"),
    ("iam:CreateUser", "arn:aws:iam::123456789012:user/x"),
    ("iam:GetPolicy", "arn:aws:iam::123456789012:policy/p"),
    ("s3:GetObject", "arn:aws:s3:::houdini/a"),
    ("s3:GetObject", "arn:aws:s3:::other/a"),
    ("s3:PutObject", "arn:aws:s3:::houdini/a"),
    ("s3:ListAllMyBuckets", "*"),
    ("ec2:DescribeInstances", "*"),
    (
        "dynamodb:GetItem",
        "arn:aws:dynamodb:us-east-1:123456789012:table/t",
    ),
];

const ACTIONS: &[&str] = &[
    "*",
    "iam:*",
    "iam:List*",
    "iam:CreateUser",
    "s3:*",
    "s3:Get*",
    "s3:PutObject",
    "ec2:Describe*",
];

const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::houdini/*",
    "arn:aws:iam::123456789012:user/*",
    "arn:aws:iam::123456789012:*",
];

/// Allow-only AWS-managed policies of the catalogue.
const AWS_MANAGED: &[&str] = &[
    "ReadOnlyAccess",
    "IAMReadOnlyAccess",
    "AmazonS3ReadOnlyAccess",
    "AmazonS3FullAccess",
    "AmazonEC2ReadOnlyAccess",
    "AdministratorAccess",
];

#[derive(Debug, Clone)]
enum Policy {
    /// A customer-managed policy's document (its JSON).
    Customer(String),
    /// An AWS-managed policy, by index into [`AWS_MANAGED`].
    Aws(usize),
}

/// Whether `p` may make `request` (through [`crate::core::Iam::authorize`]).
fn allowed(iam: &crate::core::Iam<MemStore>, p: &Principal, request: (&'static str, &str)) -> bool {
    let (action, resource) = request;
    let check = if resource == "*" {
        Check::wildcard(action)
    } else {
        Check::on(action, resource.to_string(), Vec::new())
    };
    let ctx = crate::testing::context(iam, p);
    iam.authorize(p, &[check], &crate::LazyContext::ready(&ctx))
        .is_ok()
}

fn decisions(iam: &crate::core::Iam<MemStore>, p: &Principal) -> Vec<bool> {
    REQUESTS.iter().map(|r| allowed(iam, p, *r)).collect()
}

/// The policy's ARN, creating it first when it is customer-managed (`p{i}`).
async fn arn_of(iam: &crate::core::Iam<MemStore>, i: usize, policy: &Policy) -> String {
    match policy {
        Policy::Aws(a) => format!("arn:aws:iam::aws:policy/{}", AWS_MANAGED[*a]),
        Policy::Customer(document) => {
            ok(
                iam,
                "CreatePolicy",
                &format!(
                    "PolicyName=p{i}&PolicyDocument={}",
                    super::super::url_encode(document)
                ),
            )
            .await;
            format!("arn:aws:iam::{ACCOUNT}:policy/p{i}")
        }
    }
}

#[test]
fn attaching_a_policy_never_removes_a_permission() {
    use proptest::prelude::*;
    let statement =
        (any::<bool>(), 0..ACTIONS.len(), 0..RESOURCES.len()).prop_map(|(not_action, a, r)| {
            format!(
                r#"{{"Effect":"Allow","{}":"{}","Resource":"{}"}}"#,
                if not_action { "NotAction" } else { "Action" },
                ACTIONS[a],
                RESOURCES[r]
            )
        });
    let customer = proptest::collection::vec(statement, 1..4).prop_map(|s| {
        Policy::Customer(format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            s.join(",")
        ))
    });
    let aws = proptest::sample::subsequence((0..AWS_MANAGED.len()).collect::<Vec<_>>(), 0..3)
        .prop_map(|v| v.into_iter().map(Policy::Aws).collect::<Vec<_>>());
    // Up to eight policies (within the quota of ten per user and per group), each attached to the
    // user (`false`) or to its group (`true`), in a random order.
    let policies = (proptest::collection::vec(customer, 1..7), aws)
        .prop_map(|(mut c, a)| {
            c.extend(a);
            c
        })
        .prop_shuffle()
        .prop_flat_map(|p| {
            let n = p.len();
            (Just(p), proptest::collection::vec(any::<bool>(), n))
        });
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    };
    proptest!(config, |((policies, via_group) in policies)| {
        rt.block_on(async {
            let iam = open(MemStore::default()).await;
            ok(&iam, "CreateUser", "UserName=u").await;
            ok(&iam, "CreateGroup", "GroupName=g").await;
            ok(&iam, "AddUserToGroup", "GroupName=g&UserName=u").await;
            let u = user(&iam, "u");
            let mut before = decisions(&iam, &u);
            prop_assert!(before.iter().all(|d| !d), "allowed with nothing attached: {before:?}");
            let mut alone = vec![false; REQUESTS.len()];
            for (i, (policy, group)) in policies.iter().zip(&via_group).enumerate() {
                let arn = super::super::url_encode(&arn_of(&iam, i, policy).await);
                let target = if *group { "GroupName=g" } else { "UserName=u" };
                let attach = if *group { "AttachGroupPolicy" } else { "AttachUserPolicy" };
                ok(&iam, attach, &format!("{target}&PolicyArn={arn}")).await;
                let after = decisions(&iam, &u);
                for (r, (was, is)) in REQUESTS.iter().zip(before.iter().zip(&after)) {
                    prop_assert!(!was || *is, "{r:?} lost by attaching {policy:?} (to the group: {group})");
                }
                before = after;
                // What this policy grants on its own, to a user of its own.
                ok(&iam, "CreateUser", &format!("UserName=solo{i}")).await;
                ok(&iam, "AttachUserPolicy", &format!("UserName=solo{i}&PolicyArn={arn}")).await;
                for (any, solo) in alone.iter_mut().zip(decisions(&iam, &user(&iam, &format!("solo{i}")))) {
                    *any |= solo;
                }
            }
            prop_assert_eq!(before, alone, "the union of what each policy grants alone");
            Ok(())
        })?;
    });
}
