//! AWS's binding of the IAM principals a policy with principals names: role trust
//! policies and S3 bucket policies.
//!
//! AWS (IAM User Guide, `reference_policies_elements_principal`): a user or role ARN
//! in a trust or resource-based policy is transformed into that principal's unique id
//! when the policy is saved; a principal deleted and recreated under the same ARN has
//! another id, so the policy no longer names it, and GetRole / GetBucketPolicy then
//! show the old unique id where the ARN was. iamd keeps the document as sent plus its
//! bindings (ARN → id at save time, `iamd_store::TrustBinding`) and derives the view
//! that matters from the current entities: for each binding, the principal with that
//! id now has the same ARN (the binding holds: nothing changes), another ARN (it was
//! renamed or moved: the policy names its new ARN), or none (it is gone: the policy
//! names the bare unique id, which no principal ever matches again). The compiled
//! policy that is evaluated (AssumeRole's trust, S3's bucket policy) and the document
//! shown (GetRole, GetBucketPolicy) are rebuilt from that view whenever it changes.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use iamd_policy::{CompiledPolicy, PolicyDocument, PolicyType, PrincipalKey, PrincipalSpec};
use iamd_store::TrustBinding;

use crate::error::IamError;

/// What a binding stands for now: ARN → its principal's current ARN, or its unique id.
pub type Rebound = BTreeMap<String, String>;

/// A policy with principals: as saved, and as it applies now.
#[derive(Debug, Clone)]
pub struct BoundPolicy {
    /// The parsed document as saved.
    doc: Arc<PolicyDocument>,
    ty: PolicyType,
    /// The compiled policy's id in decision evidence.
    id: Arc<str>,
    /// The `"AWS"` principal values with the byte range of their JSON literal.
    literals: Arc<[(String, Range<usize>)]>,
    /// The bindings that no longer hold, and what stands in their place.
    rebound: Rebound,
    /// The policy evaluated (principals rebound).
    pub compiled: Arc<CompiledPolicy>,
    /// The document shown (principals rebound).
    pub shown: Arc<str>,
}

/// A trust policy's id in decision evidence.
const TRUST_ID: &str = "AssumeRolePolicy";

impl BoundPolicy {
    /// Parses a stored policy of type `ty` (before a commit: the only step that can
    /// fail); `id` names it in decision evidence. Nothing is rebound yet.
    pub fn parse(text: &str, ty: PolicyType, id: &str) -> Result<BoundPolicy, String> {
        let doc = iamd_policy::parse(text).map_err(|f| f.message)?;
        let mut literals = Vec::new();
        for (value, span) in aws_principals(&doc) {
            if let (Some(start), Some(end)) = (offset(text, span.start), offset(text, span.end)) {
                literals.push((value.to_string(), start..end));
            }
        }
        Ok(BoundPolicy::of(doc, ty, id, literals, text))
    }

    /// A role's trust policy ([`BoundPolicy::parse`]).
    pub(crate) fn trust(text: &str) -> Result<BoundPolicy, String> {
        BoundPolicy::parse(text, PolicyType::Trust, TRUST_ID)
    }

    /// A trust that trusts nobody, showing `text` (a role record not yet prepared).
    pub(crate) fn nobody(text: &str) -> BoundPolicy {
        let doc = PolicyDocument {
            version: iamd_policy::Version::V2012_10_17,
            id: None,
            statements: Vec::new(),
            span: Default::default(),
            version_span: None,
        };
        BoundPolicy::of(doc, PolicyType::Trust, TRUST_ID, Vec::new(), text)
    }

    fn of(
        doc: PolicyDocument,
        ty: PolicyType,
        id: &str,
        literals: Vec<(String, Range<usize>)>,
        text: &str,
    ) -> BoundPolicy {
        BoundPolicy {
            compiled: Arc::new(CompiledPolicy::compile(&doc, ty, id)),
            doc: Arc::new(doc),
            ty,
            id: id.into(),
            literals: literals.into(),
            rebound: Rebound::new(),
            shown: text.into(),
        }
    }

    /// What the bindings stand for now, where they no longer hold.
    pub fn rebound(&self) -> &Rebound {
        &self.rebound
    }

    /// Rebuilds the view when what the bindings stand for changed; `text` is the saved
    /// document.
    pub fn rebind(&mut self, text: &str, rebound: Rebound) {
        if rebound == self.rebound {
            return;
        }
        let mut doc = (*self.doc).clone();
        for s in &mut doc.statements {
            if let Some(p) = &mut s.principal {
                if let PrincipalSpec::Map(m) = &mut p.spec {
                    for (k, values) in m.iter_mut() {
                        if *k != PrincipalKey::Aws {
                            continue;
                        }
                        for v in values.iter_mut() {
                            if let Some(r) = rebound.get(&v.value) {
                                v.value = r.clone();
                            }
                        }
                    }
                }
            }
        }
        self.compiled = Arc::new(CompiledPolicy::compile(&doc, self.ty, &*self.id));
        self.shown = rewrite(text, &self.literals, &rebound).into();
        self.rebound = rebound;
    }
}

/// The `"AWS"` principal values of every statement, with their spans.
fn aws_principals(doc: &PolicyDocument) -> impl Iterator<Item = (&str, iamd_policy::Span)> {
    doc.statements
        .iter()
        .filter_map(|s| s.principal.as_ref())
        .filter_map(|p| match &p.spec {
            PrincipalSpec::Map(m) => Some(m),
            PrincipalSpec::Any => None,
        })
        .flatten()
        .filter(|(k, _)| *k == PrincipalKey::Aws)
        .flat_map(|(_, values)| values.iter().map(|v| (v.value.as_str(), v.span)))
}

/// The byte offset of a parser position (1-based line, column in scalar values; the
/// position just past the last character is the text's length).
fn offset(text: &str, pos: iamd_policy::Pos) -> Option<usize> {
    let (mut line, mut col) = (1u32, 1u32);
    for (i, c) in text.char_indices() {
        if line == pos.line && col == pos.column {
            return Some(i);
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line == pos.line && col == pos.column).then_some(text.len())
}

/// `text` with the string literals of rebound principals replaced. A literal that is
/// not exactly the quoted value (an escape in it) is left as written.
fn rewrite(text: &str, literals: &[(String, Range<usize>)], rebound: &Rebound) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut sorted: Vec<&(String, Range<usize>)> = literals.iter().collect();
    sorted.sort_by_key(|(_, r)| r.start);
    for (value, range) in sorted {
        let Some(to) = rebound.get(value) else {
            continue;
        };
        if range.start < at || text.get(range.clone()) != Some(format!("\"{value}\"").as_str()) {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push('"');
        out.push_str(to);
        out.push('"');
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The account an IAM ARN names (`arn:aws:iam::ACCOUNT:…`), and what follows it.
pub(crate) fn iam_arn_account(arn: &str) -> Option<(&str, &str)> {
    arn.strip_prefix("arn:aws:iam::")?.split_once(':')
}

/// What [`bind`] and [`rebound`] learn of a principal: `None` when its account is not
/// one this server holds (nothing is known: the ARN is left as written), else whether
/// it exists (its unique id, or its current ARN) or not.
pub(crate) type Known = Option<Option<String>>;

/// The user and role ARNs a trust policy names, in any account this server holds (the
/// role's own or another), each bound to the unique id `lookup(account, arn)` finds
/// for it; an ARN naming no existing user or role of a held account is AWS's
/// MalformedPolicyDocument ("Invalid principal in policy"). Principals of accounts the
/// server does not hold are not bound.
pub(crate) fn bind(
    doc: &str,
    lookup: impl Fn(&str, &str) -> Known,
) -> Result<Vec<TrustBinding>, IamError> {
    let parsed =
        iamd_policy::parse(doc).map_err(|f| IamError::MalformedPolicyDocument(f.message))?;
    bound(&parsed, lookup).map_err(|arn| invalid_principal(&arn))
}

/// [`bind`] for a resource policy (a bucket policy): `Err` names the first user or
/// role ARN of a held account that does not exist (an unparsable document binds
/// nothing: its caller refuses it first).
pub(crate) fn bind_resource(
    doc: &str,
    lookup: impl Fn(&str, &str) -> Known,
) -> Result<Vec<TrustBinding>, String> {
    match iamd_policy::parse(doc) {
        Ok(parsed) => bound(&parsed, lookup),
        Err(_) => Ok(Vec::new()),
    }
}

/// The bindings of a policy saved without them (by an older build), made now: what
/// AWS bound at save time is unknown, so each principal is bound to its current id,
/// and one that no longer exists to the empty id, which no caller matches (it is never
/// matched by its bare ARN; GetBucketPolicy shows `""` where it was).
pub(crate) fn bind_late(doc: &str, lookup: impl Fn(&str, &str) -> Known) -> Vec<TrustBinding> {
    bind_resource(doc, |account, arn| {
        lookup(account, arn).map(|id| Some(id.unwrap_or_default()))
    })
    .unwrap_or_default()
}

/// [`bind`] of a parsed document; `Err` names the first ARN of a missing principal.
fn bound(
    doc: &PolicyDocument,
    lookup: impl Fn(&str, &str) -> Known,
) -> Result<Vec<TrustBinding>, String> {
    let mut out: Vec<TrustBinding> = Vec::new();
    for (value, _) in aws_principals(doc) {
        let Some((account, resource)) = iam_arn_account(value) else {
            continue;
        };
        if !(resource.starts_with("user/") || resource.starts_with("role/")) {
            continue;
        }
        let Some(found) = lookup(account, value) else {
            continue;
        };
        let id = found.ok_or_else(|| value.to_string())?;
        if !out.iter().any(|b| b.arn == value) {
            out.push(TrustBinding {
                arn: value.to_string(),
                id,
            });
        }
    }
    Ok(out)
}

/// AWS's answer to a policy naming a principal that does not exist.
fn invalid_principal(arn: &str) -> IamError {
    IamError::MalformedPolicyDocument(format!("Invalid principal in policy: \"AWS\":\"{arn}\""))
}

/// What each binding stands for now: `current(binding)` is the ARN of the user or role
/// with the binding's id (`Some(None)`: none exists); where it is `None` (an account
/// this caller does not look at), what `old` says stays. Bindings that hold are left
/// out.
pub(crate) fn rebound(
    bindings: &[TrustBinding],
    old: &Rebound,
    current: impl Fn(&TrustBinding) -> Known,
) -> Rebound {
    bindings
        .iter()
        .filter_map(|b| match current(b) {
            None => old.get(&b.arn).map(|to| (b.arn.clone(), to.clone())),
            Some(Some(arn)) if arn == b.arn => None,
            Some(Some(arn)) => Some((b.arn.clone(), arn)),
            Some(None) => Some((b.arn.clone(), b.id.clone())),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use iamd_policy::{decide, Caller, Context, DecisionKind, PolicySet, Request, Resource};

    const ALICE: &str = "arn:aws:iam::123456789012:user/alice";
    const DOC: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\n    \"Effect\": \"Allow\",\n    \"Principal\": {\"AWS\": [\"arn:aws:iam::123456789012:user/alice\", \"arn:aws:iam::123456789012:role/ops/r\"], \"Service\": \"ec2.amazonaws.com\"},\n    \"Action\": \"sts:AssumeRole\",\n    \"Condition\": {\"StringEquals\": {\"aws:PrincipalArn\": \"arn:aws:iam::123456789012:user/alice\"}}\n  }]\n}";

    fn allows(t: &BoundPolicy, arn: &str, id: &str) -> bool {
        let mut ctx = Context::new();
        ctx.insert("aws:PrincipalArn", ALICE);
        let req = Request {
            action: "sts:AssumeRole",
            resource: Resource::Arn("arn:aws:iam::123456789012:role/target"),
            resource_account: Some("123456789012"),
            caller: Caller::User {
                arn,
                id,
                account: "123456789012",
            },
            context: &ctx,
        };
        let set = PolicySet {
            trust: Some(&t.compiled),
            ..Default::default()
        };
        decide(&req, &set).kind == DecisionKind::Allow
    }

    #[test]
    fn offsets_follow_lines_and_scalar_columns() {
        let text = "a\né\"x\"";
        let p = |line, column| iamd_policy::Pos { line, column };
        assert_eq!(offset(text, p(1, 1)), Some(0));
        assert_eq!(offset(text, p(2, 1)), Some(2));
        assert_eq!(offset(text, p(2, 2)), Some(4));
        assert_eq!(offset(text, p(2, 5)), Some(text.len()));
        assert_eq!(offset(text, p(3, 1)), None);
    }

    #[test]
    fn bind_names_existing_users_and_roles_and_refuses_missing_ones() {
        // Two accounts held: 123456789012 and 210987654321.
        let lookup = |account: &str, arn: &str| -> Known {
            if account != "123456789012" && account != "210987654321" {
                return None;
            }
            Some(match arn {
                ALICE => Some("AIDAALICE".to_string()),
                "arn:aws:iam::123456789012:role/ops/r" => Some("AROAR".to_string()),
                "arn:aws:iam::210987654321:user/bob" => Some("AIDABOB".to_string()),
                _ => None,
            })
        };
        let b = bind(DOC, lookup).unwrap();
        assert_eq!(
            b.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
            ["AIDAALICE", "AROAR"]
        );
        // Another account the server holds: bound like the role's own.
        let held = r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::210987654321:user/bob"}}}"#;
        assert_eq!(
            bind(held, lookup).unwrap(),
            [TrustBinding {
                arn: "arn:aws:iam::210987654321:user/bob".into(),
                id: "AIDABOB".into()
            }]
        );
        // Accounts the server does not hold, the account root and sessions are not bound.
        let other = r#"{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":["arn:aws:iam::111122223333:user/x","arn:aws:iam::123456789012:root","123456789012","arn:aws:iam::210987654321:root"]}}}"#;
        assert!(bind(other, lookup).unwrap().is_empty());
        for nobody in [
            "arn:aws:iam::123456789012:user/nobody",
            "arn:aws:iam::210987654321:role/nobody",
        ] {
            let missing = format!(
                r#"{{"Statement":{{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{{"AWS":"{nobody}"}}}}}}"#
            );
            match bind(&missing, lookup) {
                Err(IamError::MalformedPolicyDocument(m)) => assert_eq!(
                    m,
                    format!("Invalid principal in policy: \"AWS\":\"{nobody}\"")
                ),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_broken_binding_no_longer_matches_and_shows_the_unique_id() {
        let mut t = BoundPolicy::trust(DOC).unwrap();
        assert!(allows(&t, ALICE, "AIDAALICE"));
        assert_eq!(&*t.shown, DOC);
        let bindings = vec![
            TrustBinding {
                arn: ALICE.into(),
                id: "AIDAALICE".into(),
            },
            TrustBinding {
                arn: "arn:aws:iam::123456789012:role/ops/r".into(),
                id: "AROAR".into(),
            },
        ];
        // Both hold: nothing rebound.
        let same = |id: &str| match id {
            "AIDAALICE" => Some(ALICE.to_string()),
            _ => Some("arn:aws:iam::123456789012:role/ops/r".to_string()),
        };
        let none = Rebound::new();
        assert!(rebound(&bindings, &none, |b| Some(same(&b.id))).is_empty());
        // Alice deleted (and recreated with another id): the ARN becomes her old id.
        let gone =
            |id: &str| (id == "AROAR").then(|| "arn:aws:iam::123456789012:role/ops/r".to_string());
        let view = rebound(&bindings, &none, |b| Some(gone(&b.id)));
        t.rebind(DOC, view.clone());
        // What a caller does not know of stays as it was.
        assert_eq!(rebound(&bindings, &view, |_| None), view);
        assert!(!allows(&t, ALICE, "AIDANEWALICE"));
        assert!(
            t.shown
                .contains("[\"AIDAALICE\", \"arn:aws:iam::123456789012:role/ops/r\"]"),
            "{}",
            t.shown
        );
        // Only the principal is rewritten, not the condition value.
        assert!(t
            .shown
            .contains("\"aws:PrincipalArn\": \"arn:aws:iam::123456789012:user/alice\""));
        // The role renamed: the trust names its new ARN.
        let renamed = |id: &str| match id {
            "AROAR" => Some("arn:aws:iam::123456789012:role/r2".to_string()),
            _ => None,
        };
        t.rebind(DOC, rebound(&bindings, &none, |b| Some(renamed(&b.id))));
        assert!(
            t.shown.contains("\"arn:aws:iam::123456789012:role/r2\""),
            "{}",
            t.shown
        );
    }

    /// A bucket policy: bound, recreated (another id), and one saved without bindings.
    #[test]
    fn resource_policies_bind_the_same_way() {
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/alice","arn:aws:iam::123456789012:root"]},"Action":"s3:GetObject","Resource":"*"}]}"#;
        let reads = |p: &BoundPolicy, id: &str| {
            let ctx = Context::new();
            let req = Request {
                action: "s3:GetObject",
                resource: Resource::Arn("arn:aws:s3:::b/k"),
                resource_account: Some("123456789012"),
                caller: Caller::User {
                    arn: ALICE,
                    id,
                    account: "123456789012",
                },
                context: &ctx,
            };
            let set = PolicySet {
                resource: Some(&p.compiled),
                ..Default::default()
            };
            decide(&req, &set).kind == DecisionKind::Allow
        };
        let mut p = BoundPolicy::parse(doc, PolicyType::Resource, "bucket/b").unwrap();
        let alice = |id: &str| -> Known { Some(Some(id.to_string())) };
        let bindings = bind_resource(doc, |_, _| alice("AIDAALICE")).unwrap();
        assert_eq!(bindings.len(), 1, "the root is not bound");
        p.rebind(
            doc,
            rebound(&bindings, p.rebound(), |_| Some(Some(ALICE.into()))),
        );
        assert!(reads(&p, "AIDAALICE"));
        // Alice deleted and recreated: her ARN now has another id.
        let now =
            |b: &TrustBinding| -> Known { Some((b.id == "AIDANEW").then(|| ALICE.to_string())) };
        p.rebind(doc, rebound(&bindings, p.rebound(), now));
        assert!(!reads(&p, "AIDANEW"));
        assert!(p
            .shown
            .contains(r#"["AIDAALICE","arn:aws:iam::123456789012:root"]"#));
        // Saved without bindings while alice exists: bound to her current id.
        let late = bind_late(doc, |_, _| alice("AIDANEW"));
        assert_eq!(late[0].id, "AIDANEW");
        let mut q = BoundPolicy::parse(doc, PolicyType::Resource, "bucket/b").unwrap();
        q.rebind(doc, rebound(&late, q.rebound(), now));
        assert!(reads(&q, "AIDANEW"));
        // Saved without bindings after she was deleted: nobody matches, not even a
        // later alice.
        let gone = bind_late(doc, |_, _| Some(None));
        let mut r = BoundPolicy::parse(doc, PolicyType::Resource, "bucket/b").unwrap();
        r.rebind(doc, rebound(&gone, r.rebound(), now));
        assert!(!reads(&r, "AIDANEW") && !reads(&r, ""));
        assert!(r.shown.contains(r#"["","#), "{}", r.shown);
        // Unparsable documents bind nothing; missing principals are named.
        assert_eq!(bind_resource("{", |_, _| Some(None)), Ok(Vec::new()));
        assert_eq!(
            bind_resource(doc, |_, _| Some(None)),
            Err(ALICE.to_string())
        );
    }

    #[test]
    fn nobody_trusts_no_one() {
        let t = BoundPolicy::nobody("{}");
        assert!(!allows(&t, ALICE, "AIDAALICE"));
        assert_eq!(&*t.shown, "{}");
    }
}
