//! The compact binary form of [`SessionClaims`] (format version 1), the plaintext the
//! token encrypts.
//!
//! ```text
//! str   account_id
//! u8    principal kind: 1 assumed role, 2 federated user, 3 user session, 4 root session
//!       1: str role_id, str role_name, str role_path, str session_name
//!       2: str name, str issuer_id
//!       3: str user_id, str user_name, str user_path
//! str   secret_access_key
//! u64   issued_at, u64 expires_at
//! u8    flags: 1 MFA, 2 source identity, 4 session policy, 8 role chained,
//!       16 from session credentials (other bits refused)
//! [u64  mfa_authenticated_at]   if flag 1
//! [str  source_identity]        if flag 2
//! [str  session_policy]         if flag 4
//! u8    n, n × str session policy ARN          (n ≤ 10)
//! u8    n, n × (str key, str value)            (n ≤ 50)
//! u8    n, n × str transitive tag key          (n ≤ 50)
//! ```
//!
//! `str` is a big-endian `u16` byte length and UTF-8 bytes; integers are big-endian.
//! Decoding bounds every length before reading (at most 4 bytes per allowed character),
//! refuses unknown kinds and flags, invalid UTF-8 and trailing bytes, then holds the
//! result to [`SessionClaims::validate`]. It never panics.
//!
//! Public (hidden from the docs) for the fuzz target only: not a stable interface.

use zeroize::Zeroizing;

use crate::claims::{bounds, SecretAccessKey, SessionClaims, SessionPrincipal, SessionTag};
use crate::claims::{MAX_POLICY_ARNS, MAX_TAGS};
use crate::TokenError;

const KIND_ASSUMED_ROLE: u8 = 1;
const KIND_FEDERATED_USER: u8 = 2;
const KIND_USER_SESSION: u8 = 3;
const KIND_ROOT_SESSION: u8 = 4;

const FLAG_MFA: u8 = 1;
const FLAG_SOURCE_IDENTITY: u8 = 2;
const FLAG_SESSION_POLICY: u8 = 4;
const FLAG_ROLE_CHAINED: u8 = 8;
const FLAG_FROM_SESSION_CREDENTIALS: u8 = 16;
const KNOWN_FLAGS: u8 = FLAG_MFA
    | FLAG_SOURCE_IDENTITY
    | FLAG_SESSION_POLICY
    | FLAG_ROLE_CHAINED
    | FLAG_FROM_SESSION_CREDENTIALS;

/// Encodes validated claims (the caller validates first). The buffer is zeroed on drop:
/// it holds the secret access key.
pub fn encode(c: &SessionClaims) -> Result<Zeroizing<Vec<u8>>, TokenError> {
    let mut w = Writer(Zeroizing::new(Vec::with_capacity(256)));
    w.str(&c.account_id)?;
    match &c.principal {
        SessionPrincipal::AssumedRole {
            role_id,
            role_name,
            role_path,
            session_name,
        } => {
            w.u8(KIND_ASSUMED_ROLE);
            w.str(role_id)?;
            w.str(role_name)?;
            w.str(role_path)?;
            w.str(session_name)?;
        }
        SessionPrincipal::FederatedUser { name, issuer_id } => {
            w.u8(KIND_FEDERATED_USER);
            w.str(name)?;
            w.str(issuer_id)?;
        }
        SessionPrincipal::UserSession {
            user_id,
            user_name,
            user_path,
        } => {
            w.u8(KIND_USER_SESSION);
            w.str(user_id)?;
            w.str(user_name)?;
            w.str(user_path)?;
        }
        SessionPrincipal::RootSession => w.u8(KIND_ROOT_SESSION),
    }
    w.str(c.secret_access_key.expose())?;
    w.u64(c.issued_at);
    w.u64(c.expires_at);
    let mut flags = 0;
    for (on, flag) in [
        (c.mfa_authenticated_at.is_some(), FLAG_MFA),
        (c.source_identity.is_some(), FLAG_SOURCE_IDENTITY),
        (c.session_policy.is_some(), FLAG_SESSION_POLICY),
        (c.role_chained, FLAG_ROLE_CHAINED),
        (c.from_session_credentials, FLAG_FROM_SESSION_CREDENTIALS),
    ] {
        if on {
            flags |= flag;
        }
    }
    w.u8(flags);
    if let Some(t) = c.mfa_authenticated_at {
        w.u64(t);
    }
    if let Some(s) = &c.source_identity {
        w.str(s)?;
    }
    if let Some(p) = &c.session_policy {
        w.str(p)?;
    }
    w.count(c.session_policy_arns.len())?;
    for arn in &c.session_policy_arns {
        w.str(arn)?;
    }
    w.count(c.tags.len())?;
    for tag in &c.tags {
        w.str(&tag.key)?;
        w.str(&tag.value)?;
    }
    w.count(c.transitive_tag_keys.len())?;
    for key in &c.transitive_tag_keys {
        w.str(key)?;
    }
    Ok(w.0)
}

/// Decodes and validates; `None` for anything malformed. The encoding is canonical:
/// whatever decodes, encodes back to the same bytes.
pub fn decode(bytes: &[u8]) -> Option<SessionClaims> {
    use bounds::*;
    let mut r = Reader(bytes);
    let account_id = r.str((12, 12))?;
    let principal = match r.u8()? {
        KIND_ASSUMED_ROLE => SessionPrincipal::AssumedRole {
            role_id: r.str(UNIQUE_ID)?,
            role_name: r.str(ROLE_NAME)?,
            role_path: r.str(PATH)?,
            session_name: r.str(SESSION_NAME)?,
        },
        KIND_FEDERATED_USER => SessionPrincipal::FederatedUser {
            name: r.str(FEDERATED_NAME)?,
            issuer_id: r.str(UNIQUE_ID)?,
        },
        KIND_USER_SESSION => SessionPrincipal::UserSession {
            user_id: r.str(UNIQUE_ID)?,
            user_name: r.str(USER_NAME)?,
            user_path: r.str(PATH)?,
        },
        KIND_ROOT_SESSION => SessionPrincipal::RootSession,
        _ => return None,
    };
    let secret_access_key = SecretAccessKey::new(r.str(SECRET)?);
    let issued_at = r.u64()?;
    let expires_at = r.u64()?;
    let flags = r.u8()?;
    if flags & !KNOWN_FLAGS != 0 {
        return None;
    }
    let on = |flag: u8| flags & flag != 0;
    let mfa_authenticated_at = if on(FLAG_MFA) { Some(r.u64()?) } else { None };
    let source_identity = if on(FLAG_SOURCE_IDENTITY) {
        Some(r.str(SOURCE_IDENTITY)?)
    } else {
        None
    };
    let session_policy = if on(FLAG_SESSION_POLICY) {
        Some(r.str(SESSION_POLICY)?)
    } else {
        None
    };
    let n = r.count(MAX_POLICY_ARNS)?;
    let mut session_policy_arns = Vec::with_capacity(n);
    for _ in 0..n {
        session_policy_arns.push(r.str(POLICY_ARN)?);
    }
    let n = r.count(MAX_TAGS)?;
    let mut tags = Vec::with_capacity(n);
    for _ in 0..n {
        tags.push(SessionTag {
            key: r.str(TAG_KEY)?,
            value: r.str(TAG_VALUE)?,
        });
    }
    let n = r.count(MAX_TAGS)?;
    let mut transitive_tag_keys = Vec::with_capacity(n);
    for _ in 0..n {
        transitive_tag_keys.push(r.str(TAG_KEY)?);
    }
    if !r.0.is_empty() {
        return None;
    }
    let claims = SessionClaims {
        account_id,
        principal,
        secret_access_key,
        issued_at,
        expires_at,
        mfa_authenticated_at,
        source_identity,
        role_chained: on(FLAG_ROLE_CHAINED),
        from_session_credentials: on(FLAG_FROM_SESSION_CREDENTIALS),
        session_policy,
        session_policy_arns,
        tags,
        transitive_tag_keys,
    };
    claims.validate().ok().map(|()| claims)
}

struct Writer(Zeroizing<Vec<u8>>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn str(&mut self, s: &str) -> Result<(), TokenError> {
        let len = u16::try_from(s.len()).map_err(|_| TokenError::Claims {
            field: "claims",
            problem: "has a string longer than 65,535 bytes",
        })?;
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn count(&mut self, n: usize) -> Result<(), TokenError> {
        let n = u8::try_from(n).map_err(|_| TokenError::Claims {
            field: "claims",
            problem: "has a list longer than 255 entries",
        })?;
        self.0.push(n);
        Ok(())
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_be_bytes)
    }
    /// A string of `min..=max` characters: its byte length is checked against
    /// `min..=4 × max` before anything is read.
    fn str(&mut self, (min, max): (usize, usize)) -> Option<String> {
        let len = usize::from(u16::from_be_bytes(self.take::<2>()?));
        if len < min || len > max.saturating_mul(4) || len > self.0.len() {
            return None;
        }
        let (bytes, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        String::from_utf8(bytes.to_vec()).ok()
    }
    fn count(&mut self, max: usize) -> Option<usize> {
        let n = usize::from(self.u8()?);
        (n <= max).then_some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::typical_claims;

    #[test]
    fn round_trip() {
        let c = typical_claims();
        let bytes = encode(&c).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decode(&bytes), Some(c));
    }

    #[test]
    fn trailing_bytes_unknown_flags_and_kinds_refused() {
        let c = typical_claims();
        let bytes = encode(&c).unwrap_or_else(|e| panic!("{e}"));
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        // Every proper prefix is refused too.
        for n in 0..bytes.len() {
            assert_eq!(
                decode(bytes.get(..n).unwrap_or_default()),
                None,
                "prefix {n}"
            );
        }
        // The kind byte follows the account id (2 + 12 bytes).
        let mut kind = bytes.to_vec();
        if let Some(b) = kind.get_mut(14) {
            assert_eq!(*b, KIND_ASSUMED_ROLE);
            *b = 9;
        }
        assert_eq!(decode(&kind), None);
    }

    #[test]
    fn unknown_flag_bits_refused() {
        let mut c = typical_claims();
        c.principal = SessionPrincipal::RootSession;
        c.tags.clear();
        let bytes = encode(&c).unwrap_or_else(|e| panic!("{e}"));
        // account (14) + kind (1) + secret (2 + 40) + times (16) = flags at 73.
        let mut b = bytes.to_vec();
        assert_eq!(b.get(73), Some(&0));
        if let Some(f) = b.get_mut(73) {
            *f = 0x20;
        }
        assert_eq!(decode(&b), None);
    }

    #[test]
    fn lengths_are_bounded_before_reading() {
        // An account id whose announced length exceeds its bound.
        assert_eq!(decode(&[0xff, 0xff, b'1']), None);
        assert_eq!(decode(&[]), None);
    }
}
