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
use std::sync::{Arc, RwLock};

use iamd_policy::{CompiledPolicy, PolicyType};
use iamd_session::{SessionClaims, SessionPrincipal, TokenError};
use iamd_store::Store;

use crate::core::Iam;
use crate::entity::Entity;
use crate::principal::{Authenticated, KeyProblem, Principal, RoleSession, UserSession};
use crate::state::Role;

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
                map.clear();
            }
        }
        map.insert(key_id.into(), v);
    }
}

/// Unix seconds now.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An access key id of temporary credentials.
pub fn is_session_key(access_key_id: &str) -> bool {
    access_key_id.starts_with("ASIA")
}

/// Compiles a session policy (`Policy` of AssumeRole): AWS's MalformedPolicyDocument
/// message on failure.
pub(crate) fn compile_session_policy(doc: &str) -> Result<Arc<CompiledPolicy>, String> {
    CompiledPolicy::from_json(doc, PolicyType::Session, SESSION_POLICY_ID)
        .map(Arc::new)
        .map_err(|f| f.first().map(|f| f.message.clone()).unwrap_or_default())
}

/// The principal a session's claims stand for.
fn session_principal(c: &SessionClaims) -> Result<Principal, KeyProblem> {
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
        // Not issued by this server yet: fail closed.
        SessionPrincipal::FederatedUser { .. } => return Err(KeyProblem::InvalidToken),
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
    let mut session_policies = Vec::new();
    if let Some(doc) = &c.session_policy {
        // Validated when issued; a token that no longer compiles is refused.
        session_policies.push(compile_session_policy(doc).map_err(|_| KeyProblem::InvalidToken)?);
    }
    if !c.session_policy_arns.is_empty() {
        // Managed session policies are not issued yet (AssumeRole refuses PolicyArns).
        return Err(KeyProblem::InvalidToken);
    }
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
        session_policies: session_policies.into(),
        tags: c
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
        chained: c.role_chained || c.from_session_credentials,
    })))
}

impl<S: Store> Iam<S> {
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
                let claims = iamd_session::open(
                    self.inner.master.session_keyring(),
                    token,
                    access_key_id,
                    now,
                )
                .map_err(|e| match e {
                    TokenError::Expired => KeyProblem::ExpiredToken,
                    _ => KeyProblem::InvalidToken,
                })?;
                if claims.account_id != self.account_id() {
                    return Err(KeyProblem::InvalidToken);
                }
                let v = Arc::new(Verified {
                    token: token.into(),
                    secret: claims.secret_access_key.expose().into(),
                    principal: session_principal(&claims)?,
                    expires_at: claims.expires_at,
                });
                cache.insert(access_key_id, v.clone(), now);
                v
            }
        };
        if now >= verified.expires_at {
            return Err(KeyProblem::ExpiredToken);
        }
        Ok(Authenticated {
            principal: verified.principal.clone(),
            secret: verified.secret.clone(),
            usage: None,
        })
    }

    /// The secret of an access key for a signature check that knows only the key id
    /// (S3's): a long-term key's, or an unexpired session's whose token was verified
    /// before ([`Iam::authenticate`] with the request's token). `None` otherwise.
    pub fn secret_for(&self, access_key_id: &str) -> Option<Arc<str>> {
        if is_session_key(access_key_id) {
            let v = self.inner.sessions.get(access_key_id)?;
            return (now_secs() < v.expires_at).then(|| v.secret.clone());
        }
        self.credentials(access_key_id).ok().map(|(_, s, _)| s)
    }

    /// Seals a new session token for `claims` under a fresh `ASIA…` key id.
    pub(crate) fn issue_token(
        &self,
        claims: &SessionClaims,
    ) -> Result<(String, String), IssueError> {
        let key_id = crate::ids::access_key_id("ASIA").map_err(|_| IssueError::Internal)?;
        let mut nonce = [0u8; iamd_session::NONCE_LEN];
        crate::crypto::fill_random(&mut nonce).map_err(|_| IssueError::Internal)?;
        let token =
            iamd_session::seal(self.inner.master.session_keyring(), claims, &key_id, &nonce)
                .map_err(|e| match e {
                    TokenError::TooLarge { size, limit, .. } => {
                        IssueError::TooLarge { size, limit }
                    }
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
