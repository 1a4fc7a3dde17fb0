//! Encoded authorization messages: every `AccessDenied` the IAM/STS Query API answers
//! carries the explanation of its denial in the `x-iamd-authorization-message`
//! response header (AWS's message text unchanged), sealed with AES-256-GCM under a key
//! derived from the master key (`iamd_session::seal_message`), so the denied caller
//! cannot read it; `sts:DecodeAuthorizationMessage` opens it, for callers allowed that
//! action, into AWS's JSON shape (`allowed`, `explicitDeny`, `matchedStatements`,
//! `failures`, `context`).
//!
//! The authorizer records the message of a denial into a slot the request's task
//! provides ([`capture_denial`]; S3's access check: [`capture_denial_sync`]); outside
//! such a scope (the analyzer, the simulator, tests) no message is built, so no denial
//! pays for one it cannot send.
//!
//! Messages follow the session-token keys ([`crate::crypto::MasterKey::session_keyring`]):
//! sealed with the generation of now, they decode until 36 h after that generation's
//! retirement, like a token; after that `DecodeAuthorizationMessage` answers
//! `InvalidAuthorizationMessageException`, as for any message this server cannot open
//! (AWS documents no lifetime for its messages; a denial is explained soon after it
//! happens).

use std::cell::RefCell;
use std::future::Future;

use iamd_api::json::string as json_str;
use iamd_policy::{Decision, DecisionKind, Effect, PolicyKind, Request};
use iamd_store::Store;

use crate::core::Iam;
use crate::principal::Principal;

tokio::task_local! {
    static SLOT: RefCell<Option<String>>;
}

/// The response header that carries the encoded message.
pub const AUTHORIZATION_MESSAGE_HEADER: &str = "x-iamd-authorization-message";

/// The longest encoded message DecodeAuthorizationMessage accepts: STS's model
/// (`encodedMessageType`).
pub(crate) fn max_encoded() -> usize {
    let max = iamd_api::sts::RULE_ENCODED_MESSAGE_TYPE.max.unwrap_or(0);
    usize::try_from(max).unwrap_or(usize::MAX)
}

/// Runs `f` (one IAM or STS operation) and returns its output with the encoded
/// authorization message of the denial it met, if any. Pass the operation's future
/// pinned (`std::pin::pin!`): the front door's future is large, and moving it into the
/// scope costs a copy per request.
pub async fn capture_denial<F: Future>(f: F) -> (F::Output, Option<String>) {
    SLOT.scope(RefCell::new(None), async {
        let out = f.await;
        let message = SLOT.try_with(|s| s.borrow_mut().take()).ok().flatten();
        (out, message)
    })
    .await
}

/// [`capture_denial`] for a synchronous decision (S3's access check).
pub fn capture_denial_sync<R>(f: impl FnOnce() -> R) -> (R, Option<String>) {
    SLOT.sync_scope(RefCell::new(None), || {
        let out = f();
        let message = SLOT.try_with(|s| s.borrow_mut().take()).ok().flatten();
        (out, message)
    })
}

/// Whether a denial now should build its message (a capturing task is running).
pub(crate) fn wanted() -> bool {
    SLOT.try_with(|_| ()).is_ok()
}

fn record(message: String) {
    let _ = SLOT.try_with(|s| *s.borrow_mut() = Some(message));
}

/// `{"items":[{"value":…},…]}`.
fn items<'a>(out: &mut String, values: impl IntoIterator<Item = &'a str>) {
    out.push_str("{\"items\":[");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"value\":");
        json_str(out, v);
        out.push('}');
    }
    out.push_str("]}");
}

fn kind_name(k: PolicyKind) -> &'static str {
    match k {
        PolicyKind::Identity => "IdentityPolicy",
        PolicyKind::PermissionsBoundary => "PermissionsBoundary",
        PolicyKind::Session => "SessionPolicy",
        PolicyKind::Resource => "ResourcePolicy",
        PolicyKind::Trust => "TrustPolicy",
    }
}

/// The unique id AWS lists as a matched statement's principal: the user's or role's
/// id (`AIDA…`, `AROA…`), the account for the root, `ACCT:NAME` for a federated user.
fn principal_id(p: &Principal) -> &str {
    match p.long_term() {
        Principal::AssumedRole(s) => &s.role_id,
        other => other.user_id(),
    }
}

/// The decoded message of one decision, in AWS's JSON shape. The deciding statement
/// (an explicit Deny) is the one matched statement, with iamd's evidence added:
/// `policyId`, `policyType`, `statementIndex` (0-based) and its `line`/`column`.
/// `conditions` carries every context key of the request (without `conditions` when
/// `with_conditions` is false, to stay under AWS's 10,240-character limit).
pub(crate) fn explain(
    caller: Option<&Principal>,
    req: &Request<'_>,
    d: &Decision<'_>,
    resource: &str,
    with_conditions: bool,
) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("{\"allowed\":");
    out.push_str(if d.kind == DecisionKind::Allow {
        "true"
    } else {
        "false"
    });
    out.push_str(",\"explicitDeny\":");
    out.push_str(if d.kind == DecisionKind::ExplicitDeny {
        "true"
    } else {
        "false"
    });
    out.push_str(",\"matchedStatements\":{\"items\":[");
    let deciding = d.statement.filter(|_| d.kind == DecisionKind::ExplicitDeny);
    if let Some(st) = deciding {
        out.push_str("{\"statementId\":");
        json_str(&mut out, st.sid);
        out.push_str(",\"effect\":");
        json_str(
            &mut out,
            match st.effect {
                Effect::Allow => "ALLOW",
                Effect::Deny => "DENY",
            },
        );
        out.push_str(",\"principals\":");
        items(&mut out, caller.map(principal_id));
        out.push_str(",\"principalGroups\":{\"items\":[]},\"actions\":");
        items(&mut out, [req.action]);
        out.push_str(",\"resources\":");
        items(&mut out, [resource]);
        out.push_str(",\"conditions\":{\"items\":[]},\"policyId\":");
        json_str(&mut out, st.policy_id);
        out.push_str(",\"policyType\":");
        json_str(&mut out, kind_name(st.kind));
        out.push_str(&format!(
            ",\"statementIndex\":{},\"line\":{},\"column\":{}}}",
            st.statement_index, st.span.start.line, st.span.start.column
        ));
    }
    out.push_str("]},\"failures\":{\"items\":[]},");
    context(
        &mut out,
        caller,
        req.action,
        resource,
        with_conditions.then_some(req.context),
    );
    out.push('}');
    out
}

/// `"context":{…}`: the principal, action, resource and condition keys of a request.
fn context(
    out: &mut String,
    caller: Option<&Principal>,
    action: &str,
    resource: &str,
    conditions: Option<&iamd_policy::Context>,
) {
    out.push_str("\"context\":{\"principal\":{");
    if let Some(p) = caller {
        out.push_str("\"id\":");
        json_str(out, p.user_id());
        out.push_str(",\"arn\":");
        json_str(out, &p.arn());
    }
    out.push_str("},\"action\":");
    json_str(out, action);
    out.push_str(",\"resource\":");
    json_str(out, resource);
    out.push_str(",\"conditions\":{\"items\":[");
    if let Some(ctx) = conditions {
        let mut keys: Vec<_> = ctx.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (k, vs)) in keys.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"key\":");
            json_str(out, k);
            out.push_str(",\"values\":");
            items(out, vs.iter().map(String::as_str));
            out.push('}');
        }
    }
    out.push_str("]}}");
}

/// The decoded message of a refusal made outside the policy engine (credentials
/// that may not call the operation): denied, no explicit deny, no statement.
fn explain_refusal(caller: &Principal, action: &str) -> String {
    let mut out = String::from(
        "{\"allowed\":false,\"explicitDeny\":false,\"matchedStatements\":{\"items\":[]},\"failures\":{\"items\":[]},",
    );
    context(&mut out, Some(caller), action, "*", None);
    out.push('}');
    out
}

impl<S: Store> Iam<S> {
    /// Seals the explanation of a denial and records it for the response, when the
    /// request's task captures one ([`capture_denial`]).
    pub(crate) fn record_denial(
        &self,
        caller: Option<&Principal>,
        req: &Request<'_>,
        d: &Decision<'_>,
        resource: &str,
    ) {
        if !wanted() {
            return;
        }
        for with_conditions in [true, false] {
            let json = explain(caller, req, d, resource, with_conditions);
            match self.seal_message(&json) {
                Some(m) if m.len() <= max_encoded() => return record(m),
                Some(_) => continue,
                None => return,
            }
        }
    }

    /// The encoded message of an `AccessDenied` the policy engine did not decide (the
    /// operation refuses the caller's kind of credentials): every `AccessDenied` of the
    /// Query API carries one.
    pub fn encode_refusal(&self, caller: &Principal, action: &str) -> Option<String> {
        self.seal_message(&explain_refusal(caller, action))
    }

    fn seal_message(&self, json: &str) -> Option<String> {
        let mut nonce = [0u8; iamd_session::NONCE_LEN];
        crate::crypto::fill_random(&mut nonce).ok()?;
        let keyring = self.inner.master.session_keyring(crate::core::now_secs());
        iamd_session::seal_message(&keyring, json.as_bytes(), &nonce)
    }

    /// The decoded message of an encoded one (`None`: damaged, forged, or sealed under
    /// a key this server no longer holds).
    pub(crate) fn open_message(&self, encoded: &str) -> Option<String> {
        let now = crate::core::now_secs();
        let plain =
            iamd_session::open_message(&self.inner.master.session_keyring(now), encoded, now)?;
        String::from_utf8(plain.to_vec()).ok()
    }
}
