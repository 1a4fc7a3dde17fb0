//! IAM Access Analyzer's `ValidatePolicy`: authorized as `access-analyzer:ValidatePolicy`
//! on `*` through [`Iam::authorize`], answered by the engine's lint
//! ([`iamd_policy::lint`]) with the whole Service Authorization Reference (`iamd-sar`, every
//! service's actions, resource types and condition keys) one page at a time. The REST-JSON
//! transport (route, body, signature, JSON in and out) is the server's; the rules are here.

use iamd_policy::lint::{lint, LintFinding};
use iamd_policy::{Context, PolicyType};
use iamd_store::Store;

use crate::core::Iam;
use crate::error::IamError;
use crate::principal::{Check, Principal};

/// The action `ValidatePolicy` is authorized as (resource `*`: it names no resource type).
const VALIDATE_POLICY_ACTION: &str = "access-analyzer:ValidatePolicy";

/// A page holds at most this many findings unless `maxResults` says otherwise.
const DEFAULT_MAX_RESULTS: usize = 100;

/// `ValidatePolicy`'s input as the request carries it: the body's string members and
/// the query's paging parameters, not yet checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidatePolicyInput<'a> {
    /// `policyDocument`.
    pub policy_document: Option<&'a str>,
    /// `policyType`: `IDENTITY_POLICY`, `RESOURCE_POLICY` or `SERVICE_CONTROL_POLICY`.
    pub policy_type: Option<&'a str>,
    /// `validatePolicyResourceType` (`AWS::IAM::AssumeRolePolicyDocument` makes a
    /// resource policy a trust policy).
    pub validate_policy_resource_type: Option<&'a str>,
    /// The `maxResults` query parameter.
    pub max_results: Option<&'a str>,
    /// The `nextToken` query parameter (the index of the page's first finding).
    pub next_token: Option<&'a str>,
}

/// One page of findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatePolicyOutput {
    pub findings: Vec<LintFinding>,
    /// Where the next page starts; `None` on the last page.
    pub next_token: Option<String>,
}

/// The engine's policy type for Access Analyzer's `policyType` (and
/// `validatePolicyResourceType`).
fn analyzer_policy_type(
    policy_type: Option<&str>,
    resource_type: Option<&str>,
) -> Option<PolicyType> {
    Some(match (policy_type?, resource_type) {
        ("IDENTITY_POLICY", _) => PolicyType::Inline,
        ("SERVICE_CONTROL_POLICY", _) => PolicyType::Managed,
        ("RESOURCE_POLICY", Some("AWS::IAM::AssumeRolePolicyDocument")) => PolicyType::Trust,
        ("RESOURCE_POLICY", _) => PolicyType::Resource,
        _ => return None,
    })
}

/// The lint's findings for a document of type `ty` at `now` (epoch seconds), every AWS
/// service checked against the embedded reference (decoded on the first call). Used by
/// `ValidatePolicy` and by the offline `iamd policy validate`.
pub fn lint_policy(document: &str, ty: PolicyType, now: i64) -> Result<Vec<LintFinding>, IamError> {
    let reference = iamd_sar::reference().map_err(|e| IamError::Internal(e.to_string()))?;
    Ok(lint(document, ty, now, reference))
}

fn invalid(message: &str) -> IamError {
    IamError::Validation(message.to_string())
}

/// Checks the input and returns the policy document, its type, the page size and the
/// first finding's index.
fn checked<'a>(
    input: &ValidatePolicyInput<'a>,
) -> Result<(&'a str, PolicyType, usize, usize), IamError> {
    let document = input
        .policy_document
        .ok_or_else(|| invalid("policyDocument is required."))?;
    let ty = analyzer_policy_type(input.policy_type, input.validate_policy_resource_type)
        .ok_or_else(|| {
            invalid(
                "policyType must be IDENTITY_POLICY, RESOURCE_POLICY or SERVICE_CONTROL_POLICY.",
            )
        })?;
    let max = match input.max_results {
        None => DEFAULT_MAX_RESULTS,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| invalid("maxResults must be a positive integer."))?,
    };
    let start = match input.next_token {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| invalid("Invalid nextToken."))?,
    };
    Ok((document, ty, max, start))
}

/// The page of `findings` starting at `start`, at most `max` long.
fn page(
    mut findings: Vec<LintFinding>,
    start: usize,
    max: usize,
) -> Result<ValidatePolicyOutput, IamError> {
    if start > findings.len() {
        return Err(invalid("Invalid nextToken."));
    }
    let total = findings.len();
    let end = total.min(start.saturating_add(max));
    findings.truncate(end);
    findings.drain(..start);
    Ok(ValidatePolicyOutput {
        findings,
        next_token: (end < total).then(|| end.to_string()),
    })
}

impl<S: Store> Iam<S> {
    /// `ValidatePolicy` for `principal`: authorized first (`AccessDenied`), then the
    /// input checked (`Validation`: AWS's `ValidationException`), then the document
    /// linted (a date condition already past is reported as such).
    pub fn validate_policy(
        &self,
        principal: &Principal,
        input: &ValidatePolicyInput<'_>,
        ctx: &Context,
    ) -> Result<ValidatePolicyOutput, IamError> {
        let check = Check::wildcard(VALIDATE_POLICY_ACTION);
        // Decided in the caller's own account.
        self.for_principal(principal).authorize(
            principal,
            std::slice::from_ref(&check),
            &crate::LazyContext::ready(ctx),
        )?;
        let (document, ty, max, start) = checked(input)?;
        let now = iamd_api::Timestamp::now().as_secs();
        page(lint_policy(document, ty, now)?, start, max)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::*;

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:PassRole"],"Resource":"*"},
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b"},
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b"}]}"#;

    fn input(doc: &str) -> ValidatePolicyInput<'_> {
        ValidatePolicyInput {
            policy_document: Some(doc),
            policy_type: Some("IDENTITY_POLICY"),
            ..Default::default()
        }
    }

    #[test]
    fn policy_types() {
        let t = analyzer_policy_type;
        assert_eq!(t(Some("IDENTITY_POLICY"), None), Some(PolicyType::Inline));
        assert_eq!(
            t(Some("SERVICE_CONTROL_POLICY"), None),
            Some(PolicyType::Managed)
        );
        assert_eq!(t(Some("RESOURCE_POLICY"), None), Some(PolicyType::Resource));
        assert_eq!(
            t(Some("RESOURCE_POLICY"), Some("AWS::S3::Bucket")),
            Some(PolicyType::Resource)
        );
        assert_eq!(
            t(
                Some("RESOURCE_POLICY"),
                Some("AWS::IAM::AssumeRolePolicyDocument")
            ),
            Some(PolicyType::Trust)
        );
        assert_eq!(t(Some("identity_policy"), None), None);
        assert_eq!(t(None, None), None);
    }

    fn message(r: Result<impl std::fmt::Debug, IamError>) -> String {
        match r {
            Err(IamError::Validation(m)) => m,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn input_checks_in_order() {
        let mut i = ValidatePolicyInput::default();
        assert_eq!(message(checked(&i)), "policyDocument is required.");
        i.policy_document = Some("{}");
        assert!(message(checked(&i)).starts_with("policyType must be"));
        i.policy_type = Some("RESOURCE_POLICY");
        for bad in ["0", "-1", "x", ""] {
            i.max_results = Some(bad);
            assert_eq!(
                message(checked(&i)),
                "maxResults must be a positive integer."
            );
        }
        i.max_results = Some("5");
        i.next_token = Some("x");
        assert_eq!(message(checked(&i)), "Invalid nextToken.");
        i.next_token = Some("3");
        let (_, ty, max, start) = checked(&i).unwrap();
        assert_eq!((ty, max, start), (PolicyType::Resource, 5, 3));
    }

    #[test]
    fn pages_cover_every_finding_once() {
        let all = lint_policy(DOC, PolicyType::Inline, 0).unwrap();
        assert!(all.len() >= 2, "{all:?}");
        let (_, _, _, start) = checked(&input(DOC)).unwrap();
        let whole = page(all.clone(), start, DEFAULT_MAX_RESULTS).unwrap();
        assert_eq!(whole.findings, all);
        assert_eq!(whole.next_token, None);
        let mut seen = Vec::new();
        let mut at = 0;
        loop {
            let p = page(all.clone(), at, 1).unwrap();
            seen.extend(p.findings);
            match p.next_token {
                Some(t) => at = t.parse().unwrap(),
                None => break,
            }
        }
        assert_eq!(seen, all);
        assert!(page(all.clone(), all.len(), 1).unwrap().findings.is_empty());
        assert_eq!(
            message(page(all.clone(), all.len() + 1, 1)),
            "Invalid nextToken."
        );
    }

    /// Every service's actions and keys are checked (the embedded reference).
    #[test]
    fn other_services_are_checked() {
        let bad = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
            "Action":["ec2:RunInstance","dynamodb:GetItem"],"Resource":"*"}]}"#;
        let f = lint_policy(bad, PolicyType::Inline, 0).unwrap();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].issue_code, "INVALID_ACTION");
        assert_eq!(f[0].details, "The action ec2:RunInstance does not exist.");
        let good = bad.replace("RunInstance\"", "RunInstances\"");
        assert_eq!(
            lint_policy(&good, PolicyType::Inline, 0).unwrap(),
            Vec::new()
        );
    }
}
