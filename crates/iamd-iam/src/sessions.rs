//! Temporary credentials: session tokens issued and judged here (`iamd_session` seals
//! and opens them under the keyring derived from the master key).
//!
//! A verified token is cached by its access key id (bounded), with the principal it
//! stands for (its session policies compiled once) and its secret, so repeated
//! requests neither decrypt nor compile again; expiry is still checked on every
//! request. Only a token that opened (authentic, sealed for that key id) ever enters
//! the cache, so an unverified token can never supply a secret: S3's signature check,
//! which asks for a secret by key id alone, is answered from this cache
//! ([`Iam::secret_for`]) after the seam authenticated the request's token.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use iamd_policy::{CompiledPolicy, Context, PolicyType};
use iamd_session::{SessionClaims, SessionPrincipal, TokenError};
use iamd_store::Store;

use crate::core::{now_secs, Iam};
use crate::entity::Entity;
use crate::principal::Identity;
use crate::principal::{Authenticated, KeyProblem, Principal, RoleSession, UserSession};
use crate::state::{is_aws_managed, Role, State};

/// Verified tokens kept at most (a full cache drops expired entries first, then all).
const CACHE_LIMIT: usize = 10_000;

/// The id session policies carry in decision evidence.
pub(crate) const SESSION_POLICY_ID: &str = "SessionPolicy";

/// One verified token.
#[derive(Debug)]
pub(crate) struct Verified {
    token: Box<str>,
    secret: Arc<str>,
    principal: Principal,
    expires_at: u64,
    /// When the key generation that sealed the token stops opening it (its
    /// retirement + 36 h): from then on the token is invalid, cached or not.
    refused_from: u64,
}

impl Verified {
    /// Whether the token may be used at `now`: its key generation still opens it
    /// (`InvalidToken` otherwise, as `iamd_session::open` answers) and it has not
    /// expired.
    fn check(&self, now: u64) -> Result<(), KeyProblem> {
        if now >= self.refused_from {
            return Err(KeyProblem::InvalidToken);
        }
        if now >= self.expires_at {
            return Err(KeyProblem::ExpiredToken);
        }
        Ok(())
    }
}

/// The verified-token cache.
#[derive(Debug, Default)]
pub(crate) struct SessionCache {
    by_key: RwLock<HashMap<Box<str>, Arc<Verified>>>,
}

impl SessionCache {
    fn get(&self, key_id: &str) -> Option<Arc<Verified>> {
        self.by_key
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key_id)
            .cloned()
    }

    fn insert(&self, key_id: &str, v: Arc<Verified>, now: u64) {
        let mut map = self.by_key.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CACHE_LIMIT {
            map.retain(|_, v| v.expires_at > now);
            if map.len() >= CACHE_LIMIT {
                // Still full of live sessions: the half that expires soonest goes (each is
                // verified again, from its token, on its next request).
                let mut expiries: Vec<u64> = map.values().map(|v| v.expires_at).collect();
                let mid = expiries.len() / 2;
                let (_, cut, _) = expiries.select_nth_unstable(mid);
                let cut = *cut;
                map.retain(|_, v| v.expires_at > cut);
            }
        }
        map.insert(key_id.into(), v);
    }
}

/// An access key id of temporary credentials.
pub fn is_session_key(access_key_id: &str) -> bool {
    access_key_id.starts_with("ASIA")
}

/// RFC 4648 base32 alphabet (what AWS's access key ids are written in after the prefix).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// The bits of an access key id's first 48 body bits that hold the account id.
const ACCOUNT_MASK: u64 = 0x7fff_ffff_ff80;

/// A 20-character access key id (`prefix` + 16 base32 characters) that carries
/// `account` the way AWS's key ids do: the body decodes to 10 bytes whose first six,
/// read big-endian, hold the account id in bits 7–46; the other 41 bits are `random`.
/// `None` for an account id that is not 12 digits.
pub(crate) fn key_id_for_account(prefix: &str, account: &str, random: [u8; 10]) -> Option<String> {
    if !iamd_session::is_account_id(account) {
        return None;
    }
    let account: u64 = account.parse().ok()?;
    let mut bytes = random;
    let mut head = [0u8; 8];
    head[2..].copy_from_slice(bytes.get(..6)?);
    let z = (u64::from_be_bytes(head) & !ACCOUNT_MASK) | ((account << 7) & ACCOUNT_MASK);
    bytes
        .get_mut(..6)?
        .copy_from_slice(z.to_be_bytes().get(2..)?);
    let mut out = String::with_capacity(prefix.len() + 16);
    out.push_str(prefix);
    let bits = bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    for i in (0..16).rev() {
        let c = usize::try_from((bits >> (i * 5)) & 31).ok()?;
        out.push(char::from(*BASE32.get(c)?));
    }
    Some(out)
}

/// The account id an access key id carries, decoded as AWS's key ids are (see
/// [`key_id_for_account`]); `None` when the id is not 4 prefix characters and 16
/// base32 characters.
pub(crate) fn account_of_key_id(key_id: &str) -> Option<String> {
    let body = key_id.get(4..)?;
    if key_id.len() != 20 {
        return None;
    }
    let mut bits = 0u128;
    for c in body.bytes() {
        let v = BASE32.iter().position(|&b| b == c)?;
        bits = (bits << 5) | u128::try_from(v).ok()?;
    }
    // The first 48 of the 80 bits.
    let head = u64::try_from(bits >> 32).ok()?;
    Some(format!("{:012}", (head & ACCOUNT_MASK) >> 7))
}

/// Compiles a session policy (`Policy` of AssumeRole): AWS's MalformedPolicyDocument
/// message on failure.
pub(crate) fn compile_session_policy(doc: &str) -> Result<Arc<CompiledPolicy>, String> {
    CompiledPolicy::from_json(doc, PolicyType::Session, SESSION_POLICY_ID)
        .map(Arc::new)
        .map_err(|f| f.first().map(|f| f.message.clone()).unwrap_or_default())
}

/// The session policies of a role or federated-user session.
///
/// Managed session policies (`PolicyArns`) are carried in the token by ARN, as AWS
/// packs them, and resolved when a request is decided: a customer-managed policy with
/// its default version *now* (a new default version, or the policy's deletion, reaches
/// live sessions at their next request); an AWS-managed policy is immutable here (the
/// embedded catalogue), so it is compiled once per token with the inline policy.
#[derive(Debug, Default)]
pub struct SessionPolicies {
    /// The inline policy and the AWS-managed policies, compiled once per token.
    pub compiled: Arc<[Arc<CompiledPolicy>]>,
    /// Customer-managed policy ARNs, resolved at request time.
    pub managed: Box<[String]>,
    /// The session is limited by session policies even when none resolves (a
    /// federated user, or a session whose managed session policies were deleted):
    /// then nothing is allowed through the identity side.
    pub required: bool,
}

/// The session policies that allow nothing: what a federated user without session
/// policies, or a session whose managed session policies no longer exist, is held to.
fn allows_nothing() -> Arc<[Arc<CompiledPolicy>]> {
    static NOTHING: OnceLock<Arc<[Arc<CompiledPolicy>]>> = OnceLock::new();
    NOTHING
        .get_or_init(|| {
            Arc::from([crate::state::allows_nothing(
                PolicyType::Session,
                SESSION_POLICY_ID,
            )])
        })
        .clone()
}

/// An AWS-managed policy of the embedded catalogue, compiled (`None`: no such policy,
/// or one the engine cannot evaluate).
pub(crate) fn compile_catalog_policy(arn: &str) -> Option<Arc<CompiledPolicy>> {
    crate::state::compile_aws_managed(arn).ok()
}

/// A federated-user session (GetFederationToken).
#[derive(Debug)]
pub struct FederatedSession {
    pub account: String,
    /// The name given to GetFederationToken.
    pub name: String,
    /// `arn:aws:sts::ACCT:federated-user/NAME`.
    pub arn: String,
    /// `ACCT:NAME` (`aws:userid`).
    pub user_id: String,
    /// The unique id of the IAM user who federated (`AIDA…`), or [`root_issuer`].
    pub issuer_id: String,
    /// The root federated.
    pub by_root: bool,
    /// That user's ARN (or the root's): a resource policy naming it is a Parent grant.
    pub issuer_arn: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// `aws:TokenIssueTime`, ISO 8601.
    pub issued_at_text: String,
    pub expires_at: u64,
    pub session_policies: SessionPolicies,
    /// Session tags (key, value).
    pub tags: Vec<(String, String)>,
}

impl PartialEq for FederatedSession {
    fn eq(&self, other: &Self) -> bool {
        self.arn == other.arn
            && self.issuer_id == other.issuer_id
            && self.issued_at == other.issued_at
            && self.expires_at == other.expires_at
    }
}

impl Eq for FederatedSession {}

/// The identity policies of a federated user: its issuer's now (the root's: all).
pub(crate) fn federated_identity(state: &State, f: &FederatedSession) -> Identity {
    if f.by_root {
        static ROOT: OnceLock<Option<Arc<CompiledPolicy>>> = OnceLock::new();
        let all = ROOT.get_or_init(|| {
            CompiledPolicy::from_json(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                PolicyType::Inline,
                "root",
            )
            .ok()
            .map(Arc::new)
        });
        return Identity {
            policies: all.iter().cloned().collect(),
            boundary: None,
        };
    }
    // The issuing user's policies, bounded by the user's permissions boundary.
    state
        .users
        .get(&f.issuer_id)
        .map(|u| Identity {
            policies: u.effective.clone(),
            boundary: u.boundary.clone(),
        })
        .unwrap_or_default()
}

/// The session policies of `claims`: the inline one and the AWS-managed ones compiled,
/// the customer-managed ones by ARN. A token whose policies no longer compile is
/// refused.
fn session_policies(c: &SessionClaims, required: bool) -> Result<SessionPolicies, KeyProblem> {
    let mut compiled = Vec::new();
    if let Some(doc) = &c.session_policy {
        // Validated when issued; a token that no longer compiles is refused.
        compiled.push(compile_session_policy(doc).map_err(|_| KeyProblem::InvalidToken)?);
    }
    let mut managed = Vec::new();
    for arn in &c.session_policy_arns {
        if is_aws_managed(arn) {
            compiled.push(compile_catalog_policy(arn).ok_or(KeyProblem::InvalidToken)?);
        } else {
            managed.push(arn.clone());
        }
    }
    Ok(SessionPolicies {
        required: required || !compiled.is_empty() || !managed.is_empty(),
        compiled: compiled.into(),
        managed: managed.into(),
    })
}

/// The issuer id a federated-user token of the root carries (`root:ACCT`; a user's
/// is its `AIDA…` id).
pub(crate) fn root_issuer(account: &str) -> String {
    format!("root:{account}")
}

/// The principal a session's claims stand for; `user_arn` gives an IAM user's ARN by
/// unique id (the issuer of a federated user).
fn session_principal(
    c: &SessionClaims,
    user_arn: impl Fn(&str) -> Option<String>,
) -> Result<Principal, KeyProblem> {
    let secs = i64::try_from(c.issued_at).map_err(|_| KeyProblem::InvalidToken)?;
    let issued_at_text = iamd_api::Timestamp::from_secs(secs).to_iso8601();
    let account = c.account_id.clone();
    let base = match &c.principal {
        SessionPrincipal::AssumedRole { .. } => return role_session(c, issued_at_text),
        SessionPrincipal::UserSession {
            user_id,
            user_name,
            user_path,
        } => Principal::User {
            id: user_id.clone(),
            name: user_name.clone(),
            arn: crate::ops::user_arn(&account, user_path, user_name),
            account,
        },
        SessionPrincipal::RootSession => Principal::Root { account },
        SessionPrincipal::FederatedUser { name, issuer_id } => {
            return federated_session(c, name, issuer_id, issued_at_text, user_arn)
        }
    };
    Ok(Principal::Session(Arc::new(UserSession {
        base,
        issued_at: c.issued_at,
        issued_at_text,
        expires_at: c.expires_at,
        mfa: c.mfa_present(),
    })))
}

/// The principal a role session's claims stand for.
fn role_session(c: &SessionClaims, issued_at_text: String) -> Result<Principal, KeyProblem> {
    let SessionPrincipal::AssumedRole {
        role_id,
        role_name,
        role_path,
        session_name,
    } = &c.principal
    else {
        return Err(KeyProblem::InvalidToken);
    };
    let session_policies = session_policies(c, false)?;
    Ok(Principal::AssumedRole(Arc::new(RoleSession {
        account: c.account_id.clone(),
        role_id: role_id.clone(),
        role_name: role_name.clone(),
        role_arn: Role::arn_of(&c.account_id, role_path, role_name),
        session_name: session_name.clone(),
        arn: format!(
            "arn:aws:sts::{}:assumed-role/{role_name}/{session_name}",
            c.account_id
        ),
        user_id: format!("{role_id}:{session_name}"),
        issued_at: c.issued_at,
        issued_at_text,
        expires_at: c.expires_at,
        source_identity: c.source_identity.clone(),
        session_policies,
        tags: c
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        transitive_tag_keys: c.transitive_tag_keys.clone(),
        chained: c.role_chained || c.from_session_credentials,
    })))
}

/// The principal a federated user's claims stand for.
fn federated_session(
    c: &SessionClaims,
    name: &str,
    issuer_id: &str,
    issued_at_text: String,
    user_arn: impl Fn(&str) -> Option<String>,
) -> Result<Principal, KeyProblem> {
    let account = &c.account_id;
    // The issuer's ARN is resolved when the token is opened: a user deleted since has
    // none (its identity policies are gone too), and matches no principal entry.
    let by_root = issuer_id == root_issuer(account);
    let issuer_arn = if by_root {
        format!("arn:aws:iam::{account}:root")
    } else {
        user_arn(issuer_id).unwrap_or_default()
    };
    Ok(Principal::FederatedUser(Arc::new(FederatedSession {
        account: account.clone(),
        name: name.to_string(),
        arn: federated_arn(account, name),
        user_id: format!("{account}:{name}"),
        issuer_id: issuer_id.to_string(),
        by_root,
        issuer_arn,
        issued_at: c.issued_at,
        issued_at_text,
        expires_at: c.expires_at,
        session_policies: session_policies(c, true)?,
        tags: c
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    })))
}

/// `arn:aws:sts::ACCT:federated-user/NAME`.
pub(crate) fn federated_arn(account: &str, name: &str) -> String {
    format!("arn:aws:sts::{account}:federated-user/{name}")
}

impl<S: Store> Iam<S> {
    /// The session policies `p` is decided with now (`None`: not limited by any). The
    /// customer-managed ones are read from the current state; a session that had
    /// session policies and has none left is held to one that allows nothing.
    pub(crate) fn session_set(&self, p: &Principal) -> Option<Arc<[Arc<CompiledPolicy>]>> {
        let sp = p.session_policies()?;
        if self.account_id() != p.account() {
            // Decided in the session's own account (held: its token was accepted).
            return match self.in_account(p.account()) {
                Some(home) => home.session_set(p),
                None => Some(allows_nothing()),
            };
        }
        if !sp.required {
            return None;
        }
        if sp.managed.is_empty() {
            if sp.compiled.is_empty() {
                return Some(allows_nothing());
            }
            return Some(sp.compiled.clone());
        }
        let state = self.read();
        let mut set: Vec<Arc<CompiledPolicy>> = sp.compiled.to_vec();
        set.extend(sp.managed.iter().filter_map(|arn| {
            state
                .policy_by_arn(arn)
                .and_then(|m| m.default_version())
                .map(|v| v.compiled.clone())
        }));
        if set.is_empty() {
            return Some(allows_nothing());
        }
        Some(set.into())
    }

    /// The condition keys of a federated user (docs/policy-semantics.md §5.2): `aws:PrincipalType`
    /// `FederatedUser`, `aws:TokenIssueTime`, its session tags over its issuer's tags.
    pub(crate) fn add_federated_keys(&self, f: &FederatedSession, ctx: &mut Context) {
        ctx.insert_static("aws:principaltype", "FederatedUser");
        ctx.insert_static("aws:tokenissuetime", f.issued_at_text.as_str());
        ctx.insert_static("aws:multifactorauthpresent", "false");
        let state = self.read();
        if let Some(u) = state.users.get(&f.issuer_id) {
            for (k, v) in &u.tags {
                if !f.tags.iter().any(|(sk, _)| sk.eq_ignore_ascii_case(k)) {
                    ctx.insert(&format!("aws:PrincipalTag/{k}"), v.as_str());
                }
            }
        }
        for (k, v) in &f.tags {
            ctx.insert(&format!("aws:PrincipalTag/{k}"), v.as_str());
        }
    }

    /// Authenticates temporary credentials at `now` (unix seconds): the cached
    /// verification of this very token, or the token opened, checked and cached.
    pub(crate) fn authenticate_session(
        &self,
        access_key_id: &str,
        token: &str,
        now: u64,
    ) -> Result<Authenticated, KeyProblem> {
        let cache = &self.inner.sessions;
        let verified = match cache.get(access_key_id) {
            Some(v) if *v.token == *token => v,
            _ => {
                let master = &self.inner.master;
                let (claims, generation) = iamd_session::open_with_generation(
                    &master.session_keyring(now),
                    token,
                    access_key_id,
                    now,
                )
                .map_err(|e| match e {
                    TokenError::Expired => KeyProblem::ExpiredToken,
                    _ => KeyProblem::InvalidToken,
                })?;
                // The session's own account (the role's, for a role session).
                let Some(home) = self.in_account(&claims.account_id) else {
                    return Err(KeyProblem::InvalidToken);
                };
                let v = Arc::new(Verified {
                    token: token.into(),
                    secret: claims.secret_access_key.expose().into(),
                    principal: session_principal(&claims, |id| {
                        let state = home.read();
                        Some(state.users.get(id)?.arn(&claims.account_id))
                    })?,
                    expires_at: claims.expires_at,
                    refused_from: master.session_schedule().opens_until(generation),
                });
                cache.insert(access_key_id, v.clone(), now);
                v
            }
        };
        verified.check(now)?;
        Ok(Authenticated {
            principal: verified.principal.clone(),
            secret: verified.secret.clone(),
            usage: None,
            any_secret: false,
        })
    }

    /// The secret of an access key for a signature check that knows only the key id
    /// (S3's): a long-term key's, or an unexpired session's whose token was verified
    /// before ([`Iam::authenticate`] with the request's token). `None` otherwise.
    pub fn secret_for(&self, access_key_id: &str) -> Option<Arc<str>> {
        if is_session_key(access_key_id) {
            let v = self.inner.sessions.get(access_key_id)?;
            return v.check(now_secs()).is_ok().then(|| v.secret.clone());
        }
        self.long_term_secret(access_key_id)
    }

    /// Seals a new session token for `claims` under a fresh `ASIA…` key id, with the
    /// token key of now.
    pub(crate) fn issue_token(
        &self,
        claims: &SessionClaims,
    ) -> Result<(String, String), IssueError> {
        self.issue_token_at(claims, now_secs())
    }

    /// [`Iam::issue_token`] with the token key of `now` (unix seconds).
    pub(crate) fn issue_token_at(
        &self,
        claims: &SessionClaims,
        now: u64,
    ) -> Result<(String, String), IssueError> {
        // The key id carries the account, as AWS's do (GetAccessKeyInfo decodes it).
        let mut random = [0u8; 10];
        crate::crypto::fill_random(&mut random).map_err(|_| IssueError::Internal)?;
        let key_id =
            key_id_for_account("ASIA", &claims.account_id, random).ok_or(IssueError::Internal)?;
        let mut nonce = [0u8; iamd_session::NONCE_LEN];
        crate::crypto::fill_random(&mut nonce).map_err(|_| IssueError::Internal)?;
        let keyring = self.inner.master.session_keyring(now);
        let token = iamd_session::seal(&keyring, claims, &key_id, &nonce).map_err(|e| match e {
            TokenError::TooLarge { size, limit, .. } => IssueError::TooLarge { size, limit },
            _ => IssueError::Internal,
        })?;
        Ok((key_id, token))
    }
}

/// Why a token could not be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssueError {
    /// Over AWS's 4,096-byte limit (`PackedPolicyTooLarge`).
    TooLarge {
        size: usize,
        limit: usize,
    },
    Internal,
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#[path = "sessions_tests.rs"]
mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod cache_tests {
    use super::*;

    fn verified(expires_at: u64) -> Arc<Verified> {
        Arc::new(Verified {
            token: "t".into(),
            secret: Arc::from("s"),
            principal: crate::testing::root(),
            expires_at,
            refused_from: u64::MAX,
        })
    }

    /// A cache filled to the limit, entry `i` expiring at `expiry(i)`.
    fn full(expiry: impl Fn(u64) -> u64, now: u64) -> SessionCache {
        let cache = SessionCache::default();
        for i in 0..CACHE_LIMIT as u64 {
            cache.insert(&format!("ASIA{i}"), verified(expiry(i)), now);
        }
        assert_eq!(cache.by_key.read().unwrap().len(), CACHE_LIMIT);
        cache
    }

    #[test]
    fn a_full_cache_drops_the_expired_first() {
        let now = 1_000;
        // Every tenth entry has expired.
        let cache = full(|i| if i % 10 == 0 { now - 1 } else { now + 1 + i }, now);
        cache.insert("ASIANEW", verified(now + 5), now);
        let map = cache.by_key.read().unwrap();
        assert_eq!(map.len(), CACHE_LIMIT - CACHE_LIMIT / 10 + 1);
        assert!(map.values().all(|v| v.expires_at > now));
        assert!(map.contains_key("ASIANEW") && map.contains_key("ASIA1"));
    }

    #[test]
    fn a_cache_full_of_live_sessions_drops_the_half_that_expires_soonest() {
        let now = 1_000;
        let cache = full(|i| now + 1 + i, now);
        cache.insert("ASIANEW", verified(now + 5), now);
        let map = cache.by_key.read().unwrap();
        assert_eq!(map.len(), CACHE_LIMIT / 2);
        assert!(map.contains_key("ASIANEW"));
        assert!(map.contains_key(format!("ASIA{}", CACHE_LIMIT - 1).as_str()));
        assert!(!map.contains_key("ASIA1"));
        let kept = map.values().filter(|v| v.expires_at > now + 5).count();
        assert_eq!(kept, CACHE_LIMIT / 2 - 1);
    }
}
