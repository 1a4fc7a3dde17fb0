//! Role trust policies and AWS's binding of the principals they name.
//!
//! AWS (IAM User Guide, `reference_policies_elements_principal`): a user or role ARN
//! in a role trust policy is transformed into that principal's unique id when the
//! policy is saved; a principal deleted and recreated under the same ARN has another id,
//! so the trust no longer names it, and GetRole then shows the old unique id where the
//! ARN was. iamd keeps the document as sent plus its bindings (ARN → id at save time,
//! `iamd_store::TrustBinding`) and derives the view that matters from the current
//! entities: for each binding, the principal with that id now has the same ARN (the
//! binding holds: nothing changes), another ARN (it was renamed or moved: the trust
//! names its new ARN), or none (it is gone: the trust names the bare unique id, which
//! no principal ever matches again). The compiled policy that AssumeRole evaluates and
//! the document GetRole shows are rebuilt from that view whenever it changes.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use iamd_policy::{CompiledPolicy, PolicyDocument, PolicyType, PrincipalKey, PrincipalSpec};
use iamd_store::TrustBinding;

use crate::error::IamError;

/// What a binding stands for now: ARN → its principal's current ARN, or its unique id.
pub(crate) type Rebound = BTreeMap<String, String>;

/// A role's trust policy: as saved, and as it applies now.
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    /// The parsed document as saved.
    doc: Arc<PolicyDocument>,
    /// The `"AWS"` principal values with the byte range of their JSON literal.
    literals: Arc<[(String, Range<usize>)]>,
    /// The bindings that no longer hold, and what stands in their place.
    rebound: Rebound,
    /// The policy AssumeRole evaluates (principals rebound).
    pub(crate) compiled: Arc<CompiledPolicy>,
    /// The document GetRole shows (principals rebound).
    pub(crate) shown: Arc<str>,
}

/// The compiled policy's id in decision evidence.
const POLICY_ID: &str = "AssumeRolePolicy";

impl Trust {
    /// Parses a stored trust policy (before a commit: the only step that can fail).
    pub(crate) fn parse(text: &str) -> Result<Trust, String> {
        let doc = iamd_policy::parse(text).map_err(|f| f.message)?;
        let mut literals = Vec::new();
        for (value, span) in aws_principals(&doc) {
            if let (Some(start), Some(end)) = (offset(text, span.start), offset(text, span.end)) {
                literals.push((value.to_string(), start..end));
            }
        }
        let compiled = Arc::new(CompiledPolicy::compile(&doc, PolicyType::Trust, POLICY_ID));
        Ok(Trust {
            doc: Arc::new(doc),
            literals: literals.into(),
            rebound: Rebound::new(),
            compiled,
            shown: text.into(),
        })
    }

    /// A trust that trusts nobody, showing `text` (a role record not yet prepared).
    pub(crate) fn nobody(text: &str) -> Trust {
        let doc = PolicyDocument {
            version: iamd_policy::Version::V2012_10_17,
            id: None,
            statements: Vec::new(),
            span: Default::default(),
            version_span: None,
        };
        let compiled = Arc::new(CompiledPolicy::compile(&doc, PolicyType::Trust, POLICY_ID));
        Trust {
            doc: Arc::new(doc),
            literals: Arc::from(Vec::new()),
            rebound: Rebound::new(),
            compiled,
            shown: text.into(),
        }
    }

    /// What the bindings stand for now, where they no longer hold.
    pub(crate) fn rebound(&self) -> &Rebound {
        &self.rebound
    }

    /// Rebuilds the view when what the bindings stand for changed; `text` is the saved
    /// document.
    pub(crate) fn rebind(&mut self, text: &str, rebound: Rebound) {
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
        self.compiled = Arc::new(CompiledPolicy::compile(&doc, PolicyType::Trust, POLICY_ID));
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

/// The first user or role ARN `doc` (a policy with principals: a bucket policy) names
/// in an account `lookup` knows that does not exist there, if any (an unparsable
/// document names none).
pub(crate) fn missing_principal(doc: &str, lookup: impl Fn(&str, &str) -> Known) -> Option<String> {
    bound(&iamd_policy::parse(doc).ok()?, lookup).err()
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

    fn allows(t: &Trust, arn: &str, id: &str) -> bool {
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
        let mut t = Trust::parse(DOC).unwrap();
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

    #[test]
    fn nobody_trusts_no_one() {
        let t = Trust::nobody("{}");
        assert!(!allows(&t, ALICE, "AIDAALICE"));
        assert_eq!(&*t.shown, "{}");
    }
}
