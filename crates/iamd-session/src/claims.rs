//! What a session token carries, and the bounds every field is held to (when sealing
//! and again after opening, so whatever [`crate::seal`] accepts, [`crate::open`] returns).

use zeroize::Zeroizing;

use crate::TokenError;

/// The longest session AWS issues: GetSessionToken and GetFederationToken allow
/// 129,600 s (36 h); AssumeRole at most 43,200 s. A token's `expires_at - issued_at`
/// may not exceed it, and a retired key generation verifies this long after retirement.
pub const MAX_SESSION_SECONDS: u64 = 129_600;
/// Session policy ARNs per session (AWS: `PolicyArns`, up to 10).
pub const MAX_POLICY_ARNS: usize = 10;
/// Session tags per session (AWS: up to 50).
pub const MAX_TAGS: usize = 50;

/// `(min, max)` characters of each string field; AWS's limits where AWS has one.
pub(crate) mod bounds {
    pub const UNIQUE_ID: (usize, usize) = (16, 128);
    pub const ROLE_NAME: (usize, usize) = (1, 64);
    pub const USER_NAME: (usize, usize) = (1, 64);
    pub const PATH: (usize, usize) = (1, 512);
    pub const SESSION_NAME: (usize, usize) = (2, 64);
    pub const FEDERATED_NAME: (usize, usize) = (2, 32);
    pub const SECRET: (usize, usize) = (1, 128);
    pub const SOURCE_IDENTITY: (usize, usize) = (2, 64);
    pub const SESSION_POLICY: (usize, usize) = (1, 2048);
    pub const POLICY_ARN: (usize, usize) = (20, 2048);
    pub const TAG_KEY: (usize, usize) = (1, 128);
    pub const TAG_VALUE: (usize, usize) = (0, 256);
    /// An access key id (AWS: 16–128 word characters). Not carried in the token: the
    /// token is bound to it as associated data.
    pub const ACCESS_KEY_ID: (usize, usize) = (16, 128);
}

/// The claims of one session. `Debug` shows everything but the secret access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// The 12-digit account the session belongs to (the role's or the user's).
    pub account_id: String,
    /// Who the session acts as.
    pub principal: SessionPrincipal,
    /// The session's secret access key. The token carries it so that any node can
    /// verify a SigV4 request signed with the session's `ASIA…` key id without a
    /// database read.
    pub secret_access_key: SecretAccessKey,
    /// Issue time, unix seconds (`aws:TokenIssueTime`).
    pub issued_at: u64,
    /// Expiry, unix seconds. The session is expired from this instant on.
    pub expires_at: u64,
    /// When MFA was authenticated (unix seconds), if it was
    /// (`aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge`).
    pub mfa_authenticated_at: Option<u64>,
    /// `aws:SourceIdentity`, immutable along a chain.
    pub source_identity: Option<String>,
    /// The session was made by role chaining (AssumeRole called with role-session
    /// credentials): the 1-hour cap applied.
    pub role_chained: bool,
    /// The session was made with GetSessionToken or GetFederationToken credentials.
    pub from_session_credentials: bool,
    /// The inline session policy (`Policy`), as sent.
    pub session_policy: Option<String>,
    /// The managed session policies (`PolicyArns`), at most [`MAX_POLICY_ARNS`].
    pub session_policy_arns: Vec<String>,
    /// Session tags (`aws:PrincipalTag/*`), at most [`MAX_TAGS`].
    pub tags: Vec<SessionTag>,
    /// Keys of the session tags that pass on to chained sessions.
    pub transitive_tag_keys: Vec<String>,
}

/// The principal a session acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionPrincipal {
    /// AssumeRole: `arn:aws:sts::ACCT:assumed-role/ROLE-NAME/SESSION`, user id
    /// `AROA…:SESSION`.
    AssumedRole {
        /// The role's unique id (`AROA…`): the session ends with the role it was
        /// issued for, not with a recreated role of the same name.
        role_id: String,
        role_name: String,
        role_path: String,
        session_name: String,
    },
    /// GetFederationToken: `arn:aws:sts::ACCT:federated-user/NAME`, user id `ACCT:NAME`.
    FederatedUser {
        name: String,
        /// The unique id of the caller of GetFederationToken (an IAM user's `AIDA…`).
        issuer_id: String,
    },
    /// GetSessionToken called by an IAM user.
    UserSession {
        user_id: String,
        user_name: String,
        user_path: String,
    },
    /// GetSessionToken called by the account's root user.
    RootSession,
}

/// One session tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTag {
    pub key: String,
    pub value: String,
}

/// A secret access key: `Debug` never shows it, and its memory is zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretAccessKey(Zeroizing<String>);

impl SecretAccessKey {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(Zeroizing::new(secret.into()))
    }

    /// The secret, for the SigV4 verifier.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretAccessKey(<redacted>)")
    }
}

fn out_of_bounds(field: &'static str, problem: &'static str) -> TokenError {
    TokenError::Claims { field, problem }
}

/// `s` has between `min` and `max` characters.
pub(crate) fn check_len(
    field: &'static str,
    s: &str,
    (min, max): (usize, usize),
) -> Result<(), TokenError> {
    // Bytes bound characters from above and at most 4 bytes make one character.
    if s.len() < min || s.len() > max.saturating_mul(4) {
        return Err(out_of_bounds(field, "has a length out of bounds"));
    }
    let chars = s.chars().count();
    if chars < min || chars > max {
        return Err(out_of_bounds(field, "has a length out of bounds"));
    }
    Ok(())
}

/// An access key id the token can be bound to: 16–128 ASCII letters and digits.
pub(crate) fn check_access_key_id(id: &str) -> Result<(), TokenError> {
    check_len("access_key_id", id, bounds::ACCESS_KEY_ID)?;
    if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(out_of_bounds(
            "access_key_id",
            "has characters other than letters and digits",
        ));
    }
    Ok(())
}

impl SessionClaims {
    /// The claims of a session of `principal` in `account_id` from `issued_at` to
    /// `expires_at` (unix seconds), with nothing else: no MFA, source identity,
    /// chaining, session policies or tags (set the fields that apply).
    pub fn new(
        account_id: String,
        principal: SessionPrincipal,
        secret_access_key: SecretAccessKey,
        issued_at: u64,
        expires_at: u64,
    ) -> SessionClaims {
        SessionClaims {
            account_id,
            principal,
            secret_access_key,
            issued_at,
            expires_at,
            mfa_authenticated_at: None,
            source_identity: None,
            role_chained: false,
            from_session_credentials: false,
            session_policy: None,
            session_policy_arns: Vec::new(),
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
        }
    }

    /// Checks every field against its bounds. Values are never part of the error.
    pub fn validate(&self) -> Result<(), TokenError> {
        use bounds::*;
        if !crate::is_account_id(&self.account_id) {
            return Err(out_of_bounds("account_id", "is not 12 digits"));
        }
        match &self.principal {
            SessionPrincipal::AssumedRole {
                role_id,
                role_name,
                role_path,
                session_name,
            } => {
                check_len("role_id", role_id, UNIQUE_ID)?;
                check_len("role_name", role_name, ROLE_NAME)?;
                check_len("role_path", role_path, PATH)?;
                check_len("session_name", session_name, SESSION_NAME)?;
            }
            SessionPrincipal::FederatedUser { name, issuer_id } => {
                check_len("federated_user_name", name, FEDERATED_NAME)?;
                check_len("issuer_id", issuer_id, UNIQUE_ID)?;
            }
            SessionPrincipal::UserSession {
                user_id,
                user_name,
                user_path,
            } => {
                check_len("user_id", user_id, UNIQUE_ID)?;
                check_len("user_name", user_name, USER_NAME)?;
                check_len("user_path", user_path, PATH)?;
            }
            SessionPrincipal::RootSession => {}
        }
        check_len("secret_access_key", self.secret_access_key.expose(), SECRET)?;
        if self.expires_at <= self.issued_at {
            return Err(out_of_bounds("expires_at", "is not after issued_at"));
        }
        if self.expires_at - self.issued_at > MAX_SESSION_SECONDS {
            return Err(out_of_bounds(
                "expires_at",
                "is more than 36 hours after issued_at",
            ));
        }
        if let Some(s) = &self.source_identity {
            check_len("source_identity", s, SOURCE_IDENTITY)?;
        }
        if let Some(p) = &self.session_policy {
            check_len("session_policy", p, SESSION_POLICY)?;
        }
        if self.session_policy_arns.len() > MAX_POLICY_ARNS {
            return Err(out_of_bounds(
                "session_policy_arns",
                "has more than 10 ARNs",
            ));
        }
        for arn in &self.session_policy_arns {
            check_len("session_policy_arns", arn, POLICY_ARN)?;
        }
        if self.tags.len() > MAX_TAGS {
            return Err(out_of_bounds("tags", "has more than 50 tags"));
        }
        for tag in &self.tags {
            check_len("tags", &tag.key, TAG_KEY)?;
            check_len("tags", &tag.value, TAG_VALUE)?;
        }
        if self.transitive_tag_keys.len() > MAX_TAGS {
            return Err(out_of_bounds(
                "transitive_tag_keys",
                "has more than 50 keys",
            ));
        }
        for key in &self.transitive_tag_keys {
            check_len("transitive_tag_keys", key, TAG_KEY)?;
        }
        Ok(())
    }

    /// `aws:MultiFactorAuthPresent`.
    pub fn mfa_present(&self) -> bool {
        self.mfa_authenticated_at.is_some()
    }

    /// Expired at `now` (unix seconds): the expiration instant itself is expired, as at
    /// AWS (a session is valid for `issued_at <= t < expires_at`).
    pub fn is_expired_at(&self, now: u64) -> bool {
        now >= self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let k = SecretAccessKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let shown = format!("{k:?}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert_eq!(k.expose(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    }

    #[test]
    fn lengths_count_characters() {
        assert!(check_len("x", "ab", (2, 2)).is_ok());
        assert!(check_len("x", "éé", (2, 2)).is_ok());
        assert!(check_len("x", "ééé", (2, 2)).is_err());
        assert!(check_len("x", "a", (2, 2)).is_err());
        assert!(check_len("x", "", (0, 2)).is_ok());
    }

    #[test]
    fn access_key_ids() {
        assert!(check_access_key_id("ASIAIOSFODNN7EXAMPLE").is_ok());
        assert!(check_access_key_id("ASIA").is_err());
        assert!(check_access_key_id("ASIAIOSFODNN7EXAMPL/").is_err());
        assert!(check_access_key_id(&"A".repeat(129)).is_err());
    }
}
