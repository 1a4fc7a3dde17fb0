//! Per-policy-type validation (docs/policy-semantics.md §1.4–§1.6)
//! in AWS's precedence order (§1.5).

use crate::model::{parse, PolicyDocument, PrincipalKey, PrincipalSpec, Version};
use crate::values::parse_date;
use crate::{Finding, PolicyType, Span};

pub(crate) const MSG_VERSION: &str = "Policy document must be version 2012-10-17 or greater.";
pub(crate) const MSG_LEGACY: &str = "The policy failed legacy parsing";
pub(crate) const MSG_SID_UNIQUE: &str = "Statement IDs (SID) in a single policy must be unique.";
pub(crate) const MSG_SID_CHARSET: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";
pub(crate) const MSG_NO_PRINCIPAL_ALLOWED: &str = "Policy document should not specify a principal.";
pub(crate) const MSG_ACTIONS: &str = "Policy statement must contain actions.";
pub(crate) const MSG_RESOURCES: &str = "Policy statement must contain resources.";
pub(crate) const MSG_VENDOR_PREFIX: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
pub(crate) const MSG_ONE_COLON: &str = "Actions/Condition can contain only one colon.";
pub(crate) const MSG_TRUST_RESOURCE: &str = "Has prohibited field Resource.";
pub(crate) const MSG_TRUST_NOT_PRINCIPAL: &str = "Has prohibited field NotPrincipal.";
pub(crate) const MSG_MISSING_PRINCIPAL: &str = "Missing required field Principal";
pub(crate) const MSG_TRUST_ACTIONS: &str =
    "AssumeRole policy may only specify STS AssumeRole actions.";
pub(crate) const MSG_S3_INVALID_RESOURCE: &str = "Policy has invalid resource";

/// Real AWS partitions (plus `*`).
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
    "*",
];

const IAM_PATH_STARTS: &[&str] = &[
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];

/// IAM resource types newer than the message above (which keeps AWS's recorded wording):
/// accepted all the same. `role-template/` is in AWS-managed policies (e.g.
/// AWSCloudWatchOmniServiceRolePolicy).
const IAM_PATH_STARTS_UNLISTED: &[&str] = &["role-template/"];

/// S3 resource types that are regional (Service Authorization Reference, Amazon S3's
/// resource ARN formats): access points, batch jobs, Storage Lens, Access Grants and
/// multi-region access point requests. Buckets and objects carry no region.
const S3_REGIONAL_STARTS: &[&str] = &[
    "accesspoint/",
    "job/",
    "storage-lens/",
    "storage-lens-group/",
    "access-grants/",
    "async-request/",
];

/// Resource-format message for one entry, if malformed (§1.4 Resource rules).
pub(crate) fn resource_format_error(r: &str) -> Option<String> {
    if r == "*" {
        return None;
    }
    let Some((_arn, rest)) = r.split_once(':') else {
        return Some(format!("Resource {r} must be in ARN format or \"*\"."));
    };
    let (partition, after_partition) = match rest.split_once(':') {
        Some((p, a)) => (p, Some(a)),
        None => (rest, None),
    };
    if !PARTITIONS.contains(&partition) {
        let remaining: Vec<&str> = after_partition.unwrap_or("").split(':').collect();
        let first = remaining.first().copied().unwrap_or("");
        let a1 = if !first.is_empty() || remaining.len() > 1 {
            first
        } else {
            "*"
        };
        let a2 = remaining.get(1).copied().unwrap_or("*");
        let a3 = remaining.get(2).copied().unwrap_or("*");
        let a4 = if remaining.len() > 3 {
            remaining.get(3..).map(|r| r.join(":")).unwrap_or_default()
        } else {
            "*".to_string()
        };
        return Some(format!(
            "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{a1}:{a2}:{a3}:{a4}\"."
        ));
    }
    let Some(after_partition) = after_partition else {
        return Some("Resource vendor must be fully qualified and cannot contain regexes.".into());
    };
    let (service, region_rest) = match after_partition.split_once(':') {
        Some((s, r)) => (s, Some(r)),
        None => (after_partition, None),
    };
    let region_rest = region_rest.unwrap_or("");
    // region_rest = "region:account:resource"
    let mut parts = region_rest.splitn(3, ':');
    let region = parts.next().unwrap_or("");
    let _account = parts.next();
    let resource_id = parts.next().unwrap_or("");
    if service == "iam" && !region.is_empty() {
        return Some(format!(
            "IAM resource {r} cannot contain region information."
        ));
    }
    if service == "s3"
        && !region.is_empty()
        && !S3_REGIONAL_STARTS
            .iter()
            .any(|p| resource_id.starts_with(p))
    {
        return Some(format!("Resource {r} can not contain region information."));
    }
    if service == "iam"
        && !(resource_id.starts_with('*')
            || resource_id == "root"
            || IAM_PATH_STARTS
                .iter()
                .chain(IAM_PATH_STARTS_UNLISTED)
                .any(|p| resource_id.starts_with(p)))
    {
        return Some(format!(
            "IAM resource path must either be \"*\" or start with {}.",
            IAM_PATH_STARTS.join(", ")
        ));
    }
    None
}

/// Legacy-parsing failure for a resource entry (`::` with fewer than 5 colons, or an empty
/// service segment).
pub(crate) fn resource_legacy_error(r: &str) -> bool {
    if r == "*" {
        return false;
    }
    let colons = r.matches(':').count();
    if colons < 5 && r.contains("::") {
        return true;
    }
    matches!(r.split(':').nth(2), Some("") | None)
}

/// Validate a parsed document for `ty`. Findings are ordered by AWS precedence: the first
/// one is the message AWS returns.
pub fn validate_document(doc: &PolicyDocument, ty: PolicyType) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let code = ty.error_code();
    let f = |msg: &str, span: Span| Finding::new(code, msg.to_string(), span.start);
    let iam_stored = ty != PolicyType::Resource;

    // 2. version
    if matches!(ty, PolicyType::Managed | PolicyType::PermissionsBoundary)
        && doc.version != Version::V2012_10_17
    {
        out.push(f(MSG_VERSION, doc.version_span.unwrap_or(doc.span)));
    }
    // 3. legacy parsing: effect case, date values, malformed ARNs
    for s in &doc.statements {
        if s.effect_case_variant {
            out.push(f(MSG_LEGACY, s.effect_span));
        }
        for b in &s.conditions {
            if b.operator.is_date() {
                for e in &b.entries {
                    for v in &e.values {
                        if parse_date(&v.value).is_none() {
                            out.push(f(MSG_LEGACY, v.span));
                        }
                    }
                }
            }
        }
        if let Some(r) = &s.resource {
            // a statement with a resource-format error is not legacy-parsed (AWS order)
            if !r
                .items
                .iter()
                .any(|i| resource_format_error(&i.value).is_some())
            {
                for i in &r.items {
                    if resource_legacy_error(&i.value) {
                        out.push(f(MSG_LEGACY, i.span));
                    }
                }
            }
        }
    }
    // 4. Sid uniqueness
    let mut seen: Vec<&str> = Vec::new();
    for s in &doc.statements {
        if let Some(sid) = &s.sid {
            if !sid.value.is_empty() {
                if seen.contains(&sid.value.as_str()) {
                    out.push(f(MSG_SID_UNIQUE, sid.span));
                } else {
                    seen.push(&sid.value);
                }
            }
        }
    }
    // 4b. Sid charset (IAM-stored policies) and principals in identity-like policies
    for s in &doc.statements {
        if iam_stored {
            if let Some(sid) = &s.sid {
                if !sid.value.chars().all(|c| c.is_ascii_alphanumeric()) {
                    out.push(f(MSG_SID_CHARSET, sid.span));
                }
            }
        }
        if ty.forbids_principal() {
            if let Some(p) = &s.principal {
                out.push(f(MSG_NO_PRINCIPAL_ALLOWED, p.span));
            }
        }
    }
    // 5. actions present
    for s in &doc.statements {
        match &s.action {
            Some(a) if !a.items.is_empty() => {}
            Some(a) => out.push(f(MSG_ACTIONS, a.span)),
            None => out.push(f(MSG_ACTIONS, s.span)),
        }
    }
    // 6. resource format
    for s in &doc.statements {
        if let Some(r) = &s.resource {
            for i in &r.items {
                if let Some(m) = resource_format_error(&i.value) {
                    if ty == PolicyType::Resource {
                        out.push(f(MSG_S3_INVALID_RESOURCE, i.span));
                    } else {
                        out.push(Finding::new(code, m, i.span.start));
                    }
                }
            }
        }
    }
    // 7. action vendors
    for s in &doc.statements {
        if let Some(a) = &s.action {
            for i in &a.items {
                if let Some(m) = action_error(&i.value) {
                    out.push(Finding::new(code, m, i.span.start));
                }
            }
        }
    }
    // 8. resources present / trust-only checks / resource-policy principal
    for s in &doc.statements {
        match ty {
            PolicyType::Trust => {
                if let Some(r) = &s.resource {
                    out.push(f(MSG_TRUST_RESOURCE, r.span));
                }
                match &s.principal {
                    None => out.push(f(MSG_MISSING_PRINCIPAL, s.span)),
                    Some(p) if p.not => out.push(f(MSG_TRUST_NOT_PRINCIPAL, p.span)),
                    Some(_) => {}
                }
                if let Some(a) = &s.action {
                    for i in &a.items {
                        let v = i.value.to_ascii_lowercase();
                        if !(v == "*" || v.starts_with("sts:")) {
                            out.push(f(MSG_TRUST_ACTIONS, i.span));
                        }
                    }
                }
            }
            _ => {
                match &s.resource {
                    Some(r) if !r.items.is_empty() => {}
                    Some(r) => out.push(f(MSG_RESOURCES, r.span)),
                    None => out.push(f(MSG_RESOURCES, s.span)),
                }
                if ty == PolicyType::Resource && s.principal.is_none() {
                    out.push(f(MSG_MISSING_PRINCIPAL, s.span));
                }
            }
        }
        // Principal values: no partial wildcards, a form that can name a principal (§1.4)
        if let Some(p) = &s.principal {
            if let PrincipalSpec::Map(m) = &p.spec {
                for (k, vals) in m {
                    let kname = match k {
                        PrincipalKey::Aws => "AWS",
                        PrincipalKey::Service => "Service",
                        PrincipalKey::Federated => "Federated",
                        PrincipalKey::CanonicalUser => "CanonicalUser",
                    };
                    for v in vals {
                        let partial_wildcard =
                            v.value != "*" && (v.value.contains('*') || v.value.contains('?'));
                        if partial_wildcard || !principal_form_ok(*k, &v.value) {
                            let msg =
                                format!("Invalid principal in policy: \"{kname}\":\"{}\"", v.value);
                            out.push(Finding::new(code, msg, v.span.start));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Whether a principal value has a form that can name a principal (§1.4): `*`; for
/// `AWS` a 12-digit account, an IAM or STS ARN of a 12-digit account, or a unique id
/// (`AIDA…`, `AROA…`: what AWS shows for a deleted principal); for `Service` a DNS
/// name; for `Federated` a provider ARN or an identity provider's DNS name; for
/// `CanonicalUser` 64 hex digits. Wildcards are judged by the caller.
fn principal_form_ok(key: PrincipalKey, v: &str) -> bool {
    if v == "*" || v.contains(['*', '?']) {
        return true;
    }
    let account_ok = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
    let dns_ok = |d: &str| {
        d.contains('.')
            && !d.starts_with('.')
            && !d.ends_with('.')
            && !d.contains("..")
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    match key {
        PrincipalKey::Aws => {
            if account_ok(v) {
                return true;
            }
            if let Some(rest) = v.strip_prefix("arn:") {
                let parts: Vec<&str> = rest.splitn(5, ':').collect();
                let [partition, service, region, account, resource] = parts[..] else {
                    return false;
                };
                let partition_ok = matches!(partition, "aws" | "aws-cn" | "aws-us-gov");
                let resource_ok = match service {
                    "iam" => {
                        resource == "root"
                            || ["user/", "role/", "assumed-role/", "federated-user/"]
                                .iter()
                                .any(|p| resource.len() > p.len() && resource.starts_with(p))
                    }
                    "sts" => ["assumed-role/", "federated-user/"]
                        .iter()
                        .any(|p| resource.len() > p.len() && resource.starts_with(p)),
                    _ => false,
                };
                return partition_ok && region.is_empty() && account_ok(account) && resource_ok;
            }
            v.len() >= 16
                && v.starts_with('A')
                && v.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }
        PrincipalKey::Service => dns_ok(v),
        PrincipalKey::Federated => match v.strip_prefix("arn:") {
            Some(rest) => {
                let parts: Vec<&str> = rest.splitn(5, ':').collect();
                matches!(
                    parts[..],
                    [_, "iam", "", account, resource]
                        if account_ok(account)
                            && (resource.starts_with("saml-provider/")
                                || resource.starts_with("oidc-provider/"))
                )
            }
            None => dns_ok(v),
        },
        PrincipalKey::CanonicalUser => v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()),
    }
}

/// Action-entry message (§1.4), if invalid.
pub(crate) fn action_error(a: &str) -> Option<String> {
    let parts: Vec<&str> = a.split(':').collect();
    if parts.len() == 1 && a != "*" {
        return Some(MSG_VENDOR_PREFIX.to_string());
    }
    if parts.len() > 2 {
        return Some(MSG_ONE_COLON.to_string());
    }
    let vendor = parts.first().copied().unwrap_or("");
    if vendor != "*"
        && vendor
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
    {
        return Some(format!("Vendor {vendor} is not valid"));
    }
    None
}

/// Parse and validate `src` as a policy of type `ty`. Returns all findings in AWS precedence
/// order (empty = valid). The first finding is the message AWS would return.
pub fn validate(src: &str, ty: PolicyType) -> Vec<Finding> {
    match parse(src) {
        Ok(doc) => validate_document(&doc, ty),
        Err(f) => vec![f.with_code(ty.error_code())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(doc: &str, ty: PolicyType) -> String {
        validate(doc, ty)
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default()
    }

    #[test]
    fn resource_messages() {
        assert_eq!(
            resource_format_error(""),
            Some("Resource  must be in ARN format or \"*\".".into())
        );
        assert_eq!(
            resource_format_error("arn:aws"),
            Some("Resource vendor must be fully qualified and cannot contain regexes.".into())
        );
        assert_eq!(
            resource_format_error("arn:foo"),
            Some("Partition \"foo\" is not valid for resource \"arn:foo:*:*:*:*\".".into())
        );
        assert!(resource_format_error("arn:aws:iam::123456789012:user/x").is_none());
        assert!(resource_format_error("arn:aws:iam::123456789012:root").is_none());
        assert!(resource_legacy_error("arn:aws:s3::b"));
        assert!(resource_legacy_error("arn:aws::::x"));
        assert!(!resource_legacy_error("arn:aws:s3:::b"));
        assert!(!resource_legacy_error("arn:aws:fdsasf"));
    }

    #[test]
    fn precedence() {
        let d = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"allow","Action":"s3","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":"s3:x","Resource":"*"}]}"#;
        assert_eq!(first(d, PolicyType::Managed), MSG_LEGACY);
        let d = r#"{"Statement":{"Effect":"Allow","Action":"s3:x","Resource":"*"}}"#;
        assert_eq!(first(d, PolicyType::Managed), MSG_VERSION);
        assert!(validate(d, PolicyType::Inline).is_empty());
    }
}
