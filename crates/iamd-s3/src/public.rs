//! Whether a bucket policy is "public" as S3 defines it (GetBucketPolicyStatus, the
//! public access block's BlockPublicPolicy and RestrictPublicBuckets).
//!
//! S3: a policy is non-public only if every statement that allows with a wildcard
//! principal (`"*"`, `{"AWS": "*"}`, or any `NotPrincipal`) is bound by a condition
//! fixing one of the keys that name a known set of callers (source ARN, VPC, VPC
//! endpoint, account, owner, IP range; the caller's user id, ARN, account or
//! organization; an access point) to values without wildcards, and an IP range is not
//! all addresses.

/// The condition keys that restrict a wildcard principal (lower-case).
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourceip",
    "aws:userid",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalorgid",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
];

/// Whether the (already validated) policy document is public.
pub(crate) fn is_public(doc: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(doc) else {
        // Unreadable: judged public, so what guards against public policies holds.
        return true;
    };
    let stmts = match v.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => return false,
    };
    stmts.into_iter().any(|s| {
        let allow = s.get("Effect").and_then(|e| e.as_str()) == Some("Allow");
        allow && wildcard_principal(s) && !restricted(s.get("Condition"))
    })
}

fn wildcard_principal(s: &serde_json::Value) -> bool {
    let star = |p: &serde_json::Value| match p {
        serde_json::Value::String(s) => s == "*",
        serde_json::Value::Array(a) => a.iter().any(|x| x.as_str() == Some("*")),
        _ => false,
    };
    if s.get("NotPrincipal").is_some() {
        return true;
    }
    match s.get("Principal") {
        Some(p @ serde_json::Value::String(_)) => star(p),
        Some(serde_json::Value::Object(o)) => o.values().any(star),
        _ => false,
    }
}

/// Whether a statement's condition fixes a restricting key to wildcard-free values.
fn restricted(cond: Option<&serde_json::Value>) -> bool {
    let Some(serde_json::Value::Object(ops)) = cond else {
        return false;
    };
    ops.iter().any(|(op, keys)| {
        let op = op.to_ascii_lowercase();
        // Negated and existence operators do not name who may call.
        let op_base = op.trim_end_matches("ifexists");
        let op_base = op_base
            .strip_prefix("forallvalues:")
            .or_else(|| op_base.strip_prefix("foranyvalue:"))
            .unwrap_or(op_base);
        if op_base.contains("not") || op_base == "null" {
            return false;
        }
        let serde_json::Value::Object(keys) = keys else {
            return false;
        };
        keys.iter().any(|(k, vals)| {
            let k = k.to_ascii_lowercase();
            if !RESTRICTING_KEYS.contains(&k.as_str()) {
                return false;
            }
            let vals: Vec<&str> = match vals {
                serde_json::Value::String(s) => vec![s.as_str()],
                serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
                _ => return false,
            };
            !vals.is_empty()
                && vals.iter().all(|v| {
                    !v.contains(['*', '?'])
                        && !(k == "aws:sourceip" && (v.ends_with("/0") || v.is_empty()))
                })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(s: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{s}]}}"#)
    }

    #[test]
    fn public_policies() {
        let public = [
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
            r#"{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"s3:*","Resource":"*"}"#,
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:root"}}}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceAccount":"111122223333"}}}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
        ];
        for s in public {
            assert!(is_public(&stmt(s)), "{s}");
        }
        let private = [
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}"#,
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}"#,
            r#"{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"*"}"#,
        ];
        for s in private {
            assert!(!is_public(&stmt(s)), "{s}");
        }
    }
}
