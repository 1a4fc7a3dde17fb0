//! Self-contained STS session tokens.
//!
//! A session (AssumeRole, GetSessionToken, GetFederationToken) gets an `ASIA…` access
//! key id, a secret access key and a session token. The token carries everything a
//! node needs to authenticate and authorize the session's requests — account,
//! principal, the secret itself, issue and expiry time, MFA, source identity, chain
//! flags, session policies and tags ([`SessionClaims`]) — sealed with authenticated
//! encryption, so any node verifies it **without a database read**. A role's own
//! policies are not in the token: they are evaluated at request time.
//!
//! Pure: no I/O, no clock (times are parameters, unix seconds), no randomness (the
//! caller passes the nonce), no global state, no logging, no `unsafe`, no panics.
//!
//! # Format
//!
//! ```text
//! token   = base64( version ‖ generation ‖ nonce ‖ ciphertext ‖ tag )   standard alphabet, padded
//! version = 0x01                      1 byte; other versions are refused
//! generation                          4 bytes, big-endian: which token key sealed it
//! nonce                               24 random bytes, fresh per token
//! ciphertext ‖ tag                    AES-256-GCM of the claims (`codec` module), 16-byte tag
//! associated data = version ‖ generation ‖ nonce ‖ access key id
//! ```
//!
//! * **Keys.** The token key of generation *g* is HMAC-SHA256(master key, label ‖ *g*),
//!   never the master key itself. Each token is encrypted under its own key,
//!   HMAC-SHA256(token key, label ‖ nonce[0..12]), with nonce[12..24] as the GCM nonce
//!   (XAES-256-GCM's construction, HMAC in place of CMAC). With 192 random bits per
//!   token, nonces do not repeat however many tokens a generation seals, which GCM's own
//!   96-bit random nonces would only promise up to about 2³² tokens.
//! * **Size.** A role session without policies and with two tags is about 290 bytes of base64
//!   (AWS's own STS tokens are around 350); a 2,048-character ASCII session policy
//!   with 10 policy ARNs fits. The whole token is held to
//!   [`MAX_TOKEN_LEN`] (4,096 bytes, AWS's limit); sealing a larger one fails with
//!   [`TokenError::TooLarge`], which carries the size in bytes and in percent of the
//!   limit (AWS's `PackedPolicyTooLarge`, and its `PackedPolicySize` — see
//!   [`packed_size_percent`]).
//! * **Versions.** The version byte names the claims encoding; a later version adds
//!   fields and this crate refuses versions it does not know.
//!
//! # Threat model
//!
//! Whoever holds a token **can**: present it with its own access key id and a request
//! signed with the matching secret until it expires — that is what a session is; see
//! its length (and so roughly how large the session policy and tags are); see which key
//! generation sealed it and when a new one starts.
//!
//! They **cannot** read it (the claims, the secret included, are encrypted: a token and
//! its access key id alone do not give the secret, so a token leaked without the secret
//! — in a log line, say — cannot sign requests); change anything in it (a changed byte
//! anywhere fails authentication: prolonging the session, adding tags, dropping the
//! session policy or changing the principal is impossible); make a token (that takes the
//! token key, which is derived from the master key); or pair it with another access key
//! id.
//!
//! **Why the access key id is associated data.** A request is authenticated by its
//! access key id, its signature and its token. Were the token not bound to the key id, a
//! token issued with `ASIA…A` could be presented under `ASIA…B` — the verifier would
//! take the secret from the token, so the binding is what makes the key id mean
//! anything. With the key id in the associated data, a token opens only with the key id
//! it was issued with, and the key id needs no room inside the token.
//!
//! Not covered here: revocation before expiry (the server's Deny on
//! `aws:TokenIssueTime`, evaluated at request time), replay of a signed request (SigV4's
//! clock-skew window), and a leaked master key (it makes every token key).
//!
//! # Rotation
//!
//! A [`Keyring`] holds the current generation, which seals, and previous ones, which
//! only open. [`Keyring::rotate`] starts the next generation and retires the current
//! one at the time given; a retired generation opens tokens until `retired_at + 36 h`
//! ([`RETIRED_GRACE_SECONDS`], the longest session), so rotation never cuts a session
//! short, and is refused from that instant on. Rotation renews the token key, not the
//! master key: it limits what a leaked *token key* is good for.
//!
//! A [`Schedule`] makes rotation a function of the clock, with no state shared between
//! nodes: generation *g* seals during the *g*-th period since the unix epoch (24 h by
//! default) and retires at its end, and [`Schedule::keyring_at`] builds the keyring of
//! any instant — which every node with the master key derives alike. That keyring also
//! opens the *next* generation, so a node whose clock is slightly behind still accepts
//! what a node already past the boundary sealed.
//!
//! # Errors
//!
//! [`open`] answers [`TokenError::Expired`] for an authentic token at or after its
//! expiry (AWS's `ExpiredToken`) and [`TokenError::Invalid`] for everything else —
//! bad base64, wrong length, unknown version or generation, retired generation, failed
//! authentication (tampering or another access key id) — which is AWS's
//! `InvalidClientTokenId` (S3: `InvalidToken`). Expiry is checked after authentication,
//! so only authentic tokens are ever reported expired. An issue time after `now` is not
//! refused (nodes' clocks differ; only the key holder can write one). No message contains secret
//! material; `Debug` of claims and keyrings redacts secrets and keys.
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        reason = "unit tests: a failed expectation panics (non-test code is linted in the \
                  non-test build)"
    )
)]

mod claims;
#[doc(hidden)]
pub mod codec;
mod keys;
mod message;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use zeroize::Zeroizing;

pub use claims::{
    SecretAccessKey, SessionClaims, SessionPrincipal, SessionTag, MAX_POLICY_ARNS,
    MAX_SESSION_SECONDS, MAX_TAGS,
};
pub use keys::{
    Keyring, KeyringError, Schedule, DEFAULT_ROTATION_SECONDS, MIN_ROTATION_SECONDS, NONCE_LEN,
    RETIRED_GRACE_SECONDS,
};
pub use message::{open_message, seal_message};

/// The token format this crate writes (and the only one it reads).
pub const TOKEN_VERSION: u8 = 1;
/// The longest token, in bytes of its base64 text (AWS's limit).
pub const MAX_TOKEN_LEN: usize = 4096;

const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Why a token did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    #[error("not base64")]
    Encoding,
    #[error("length out of bounds")]
    Length,
    #[error("unknown format version")]
    Version,
    #[error("unknown key generation")]
    UnknownGeneration,
    #[error("key generation retired")]
    RetiredGeneration,
    #[error("authentication failed")]
    Authentication,
    #[error("malformed claims")]
    Claims,
}

/// Errors of [`seal`] and [`open`]. Messages never contain secret material or claim
/// values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// An authentic token at or after its expiry: AWS's `ExpiredToken`.
    #[error("the session token has expired")]
    Expired,
    /// Anything else `open` refuses: AWS's `InvalidClientTokenId` / S3's `InvalidToken`.
    #[error("the session token is invalid: {0}")]
    Invalid(InvalidToken),
    /// The token would exceed [`MAX_TOKEN_LEN`]: AWS's `PackedPolicyTooLarge`.
    /// `percent` is the size in percent of the limit, rounded up (100 = the limit).
    #[error("the session token would be {size} bytes, {percent}% of the {limit}-byte limit")]
    TooLarge {
        size: usize,
        limit: usize,
        percent: u32,
    },
    /// A claim (or the access key id) out of the bounds a token can carry.
    #[error("session token claim {field} {problem}")]
    Claims {
        field: &'static str,
        problem: &'static str,
    },
    /// The cipher refused to encrypt (not expected with valid inputs).
    #[error("the session token could not be sealed")]
    Seal,
}

/// The size of a `len`-byte token in percent of [`MAX_TOKEN_LEN`], rounded up: 100 is
/// the limit, and every token over the limit is over 100 (AWS's `PackedPolicySize`).
pub fn packed_size_percent(len: usize) -> u32 {
    let percent = len.saturating_mul(100).div_ceil(MAX_TOKEN_LEN);
    u32::try_from(percent).unwrap_or(u32::MAX)
}

/// The associated data: the token's header and the access key id.
fn associated_data(header: &[u8], access_key_id: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + access_key_id.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(access_key_id.as_bytes());
    aad
}

/// Seals `claims` into a token bound to `access_key_id`, with the keyring's current
/// generation and `nonce` (24 bytes from a CSPRNG, fresh for every token).
pub fn seal(
    keyring: &Keyring,
    claims: &SessionClaims,
    access_key_id: &str,
    nonce: &[u8; NONCE_LEN],
) -> Result<String, TokenError> {
    claims::check_access_key_id(access_key_id)?;
    claims.validate()?;
    let plaintext = codec::encode(claims)?;
    let raw_len = HEADER_LEN + plaintext.len() + keys::TAG_LEN;
    let size = raw_len.div_ceil(3).saturating_mul(4);
    if size > MAX_TOKEN_LEN {
        return Err(TokenError::TooLarge {
            size,
            limit: MAX_TOKEN_LEN,
            percent: packed_size_percent(size),
        });
    }
    let (generation, key) = keyring.current();
    let mut raw = Vec::with_capacity(raw_len);
    raw.push(TOKEN_VERSION);
    raw.extend_from_slice(&generation.to_be_bytes());
    raw.extend_from_slice(nonce);
    let aad = associated_data(&raw, access_key_id);
    let sealed = keys::encrypt(key, nonce, &aad, &plaintext).ok_or(TokenError::Seal)?;
    raw.extend_from_slice(&sealed);
    Ok(STANDARD.encode(raw))
}

/// The generation a token claims to be sealed by (its header, unauthenticated): `None`
/// when it is not a token of this format.
pub fn token_generation(token: &str) -> Option<u32> {
    // The first 8 base64 characters are the first 6 bytes: version and generation.
    let head = STANDARD.decode(token.get(..8)?).ok()?;
    let (version, rest) = head.split_first()?;
    let generation: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    (*version == TOKEN_VERSION).then_some(u32::from_be_bytes(generation))
}

/// Opens `token` presented with `access_key_id` at `now` (unix seconds): the claims of
/// an authentic, unexpired token sealed for that key id by a generation the keyring
/// still accepts.
pub fn open(
    keyring: &Keyring,
    token: &str,
    access_key_id: &str,
    now: u64,
) -> Result<SessionClaims, TokenError> {
    open_with_generation(keyring, token, access_key_id, now).map(|(claims, _)| claims)
}

/// [`open`], also answering the generation that sealed the token (read from the header
/// it authenticated: no second decoding, unlike [`token_generation`]).
pub fn open_with_generation(
    keyring: &Keyring,
    token: &str,
    access_key_id: &str,
    now: u64,
) -> Result<(SessionClaims, u32), TokenError> {
    let invalid = TokenError::Invalid;
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid(InvalidToken::Length));
    }
    if claims::check_access_key_id(access_key_id).is_err() {
        return Err(invalid(InvalidToken::Authentication));
    }
    let raw = STANDARD
        .decode(token)
        .map_err(|_| invalid(InvalidToken::Encoding))?;
    let Some((header, ciphertext)) = raw.split_first_chunk::<HEADER_LEN>() else {
        return Err(invalid(InvalidToken::Length));
    };
    if ciphertext.len() < keys::TAG_LEN {
        return Err(invalid(InvalidToken::Length));
    }
    let (version, rest) = header
        .split_first_chunk::<1>()
        .ok_or(invalid(InvalidToken::Length))?;
    if *version != [TOKEN_VERSION] {
        return Err(invalid(InvalidToken::Version));
    }
    let (generation, nonce) = rest
        .split_first_chunk::<4>()
        .ok_or(invalid(InvalidToken::Length))?;
    let nonce: &[u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| invalid(InvalidToken::Length))?;
    let generation = u32::from_be_bytes(*generation);
    let key = keyring.lookup(generation, now).map_err(|retired| {
        invalid(if retired {
            InvalidToken::RetiredGeneration
        } else {
            InvalidToken::UnknownGeneration
        })
    })?;
    let aad = associated_data(header, access_key_id);
    let plaintext: Zeroizing<Vec<u8>> =
        keys::decrypt(key, nonce, &aad, ciphertext).ok_or(invalid(InvalidToken::Authentication))?;
    let claims = codec::decode(&plaintext).ok_or(invalid(InvalidToken::Claims))?;
    if claims.is_expired_at(now) {
        return Err(TokenError::Expired);
    }
    Ok((claims, generation))
}

/// Example claims shared by the unit tests, the bench and the fuzz-seed example.
#[cfg(test)]
#[path = "typical.rs"]
pub(crate) mod test_support;

/// An AWS account id: exactly 12 ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(super::is_account_id("123456789012"));
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "",
            "１２３４５６７８９０１２",
        ] {
            assert!(!super::is_account_id(bad), "{bad}");
        }
    }

    use super::test_support::typical_claims;
    use super::*;

    const MASTER: [u8; 32] = [42; 32];
    const KEY_ID: &str = "ASIAIOSFODNN7EXAMPLE";
    const NONCE: [u8; NONCE_LEN] = [9; NONCE_LEN];

    fn ring() -> Keyring {
        Keyring::new(&MASTER, 1).unwrap_or_else(|e| panic!("{e}"))
    }

    fn sealed(ring: &Keyring, c: &SessionClaims) -> String {
        seal(ring, c, KEY_ID, &NONCE).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn generation_of_a_token() {
        let c = typical_claims();
        for g in [1, 2, 0x0102_0304, u32::MAX] {
            let ring = Keyring::new(&MASTER, g).unwrap_or_else(|e| panic!("{e}"));
            let token = sealed(&ring, &c);
            assert_eq!(token_generation(&token), Some(g));
            // Opening answers the same generation, from the header it authenticated.
            assert_eq!(
                open_with_generation(&ring, &token, KEY_ID, c.issued_at),
                Ok((c.clone(), g))
            );
        }
        assert_eq!(token_generation(""), None);
        assert_eq!(token_generation("AQAAAA"), None);
        assert_eq!(token_generation("AgAAAAEA"), None, "another version");
        assert_eq!(token_generation("AQAAAAEA"), Some(1));
        assert_eq!(token_generation("é1234567"), None);
    }

    #[test]
    fn round_trip_and_typical_size() {
        let ring = ring();
        let c = typical_claims();
        let token = sealed(&ring, &c);
        assert!(token.len() < 1024, "typical token is {} bytes", token.len());
        println!("typical role-session token: {} bytes", token.len());
        assert_eq!(open(&ring, &token, KEY_ID, c.issued_at), Ok(c.clone()));
        // The largest ASCII session policy AWS takes, with 10 policy ARNs, still fits.
        let mut big = c;
        big.session_policy = Some("p".repeat(2048));
        big.session_policy_arns = (0..10)
            .map(|i| format!("arn:aws:iam::123456789012:policy/session-{i}"))
            .collect();
        let token = sealed(&ring, &big);
        println!("2,048-character policy and 10 ARNs: {} bytes", token.len());
        assert!(token.len() <= MAX_TOKEN_LEN);
        assert_eq!(open(&ring, &token, KEY_ID, big.issued_at), Ok(big));
    }

    #[test]
    fn expiry_boundary_is_expired() {
        let ring = ring();
        let c = typical_claims();
        let token = sealed(&ring, &c);
        assert!(open(&ring, &token, KEY_ID, c.expires_at - 1).is_ok());
        assert_eq!(
            open(&ring, &token, KEY_ID, c.expires_at),
            Err(TokenError::Expired)
        );
        assert_eq!(
            open(&ring, &token, KEY_ID, u64::MAX),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn other_key_id_other_master_other_generation() {
        let ring = ring();
        let c = typical_claims();
        let token = sealed(&ring, &c);
        let auth = Err(TokenError::Invalid(InvalidToken::Authentication));
        assert_eq!(
            open(&ring, &token, "ASIAIOSFODNN7EXAMPLF", c.issued_at),
            auth
        );
        assert_eq!(open(&ring, &token, "ASIA", c.issued_at), auth);
        let other = Keyring::new(&[43; 32], 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(open(&other, &token, KEY_ID, c.issued_at), auth);
        let newer = Keyring::new(&MASTER, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            open(&newer, &token, KEY_ID, c.issued_at),
            Err(TokenError::Invalid(InvalidToken::UnknownGeneration))
        );
    }

    #[test]
    fn rotation_keeps_sessions_then_refuses() {
        let mut ring = ring();
        let c = typical_claims();
        let old = sealed(&ring, &c);
        let retired_at = c.issued_at + 10;
        assert_eq!(ring.rotate(retired_at), Ok(2));
        let new = sealed(&ring, &c);
        assert_ne!(old, new);
        assert!(open(&ring, &old, KEY_ID, c.issued_at + 20).is_ok());
        assert!(open(&ring, &new, KEY_ID, c.issued_at + 20).is_ok());
        assert_eq!(
            open(&ring, &old, KEY_ID, retired_at + RETIRED_GRACE_SECONDS),
            Err(TokenError::Invalid(InvalidToken::RetiredGeneration))
        );
        // Restored from storage, the keyring behaves the same.
        let restored = Keyring::new(&MASTER, 2)
            .and_then(|r| r.with_previous(1, retired_at))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(open(&restored, &old, KEY_ID, c.issued_at + 20).is_ok());
    }

    #[test]
    fn bad_text_is_invalid() {
        let ring = ring();
        let c = typical_claims();
        let token = sealed(&ring, &c);
        let at = c.issued_at;
        let is = |t: &str, why| {
            assert_eq!(
                open(&ring, t, KEY_ID, at),
                Err(TokenError::Invalid(why)),
                "{t:?}"
            )
        };
        is("", InvalidToken::Length);
        is("not base64!", InvalidToken::Encoding);
        is(&format!(" {token}"), InvalidToken::Encoding);
        is(&format!("{token}\n"), InvalidToken::Encoding);
        is(
            token.get(..token.len() - 1).unwrap_or_default(),
            InvalidToken::Encoding,
        );
        is(&format!("{token}===="), InvalidToken::Encoding);
        is(&"A".repeat(MAX_TOKEN_LEN + 4), InvalidToken::Length);
        is("AAAA", InvalidToken::Length);
        // A token of another version.
        let mut raw = STANDARD.decode(&token).unwrap_or_default();
        if let Some(v) = raw.first_mut() {
            *v = 2;
        }
        is(&STANDARD.encode(&raw), InvalidToken::Version);
    }

    #[test]
    fn seal_refuses_bad_claims_and_key_ids() {
        let ring = ring();
        let mut c = typical_claims();
        assert!(matches!(
            seal(&ring, &c, "AKIA/bad", &NONCE),
            Err(TokenError::Claims {
                field: "access_key_id",
                ..
            })
        ));
        c.expires_at = c.issued_at + MAX_SESSION_SECONDS + 1;
        assert!(matches!(
            seal(&ring, &c, KEY_ID, &NONCE),
            Err(TokenError::Claims {
                field: "expires_at",
                ..
            })
        ));
        c.expires_at = c.issued_at;
        assert!(matches!(
            seal(&ring, &c, KEY_ID, &NONCE),
            Err(TokenError::Claims {
                field: "expires_at",
                ..
            })
        ));
        let mut c = typical_claims();
        c.account_id = "12345678901a".into();
        assert!(matches!(
            seal(&ring, &c, KEY_ID, &NONCE),
            Err(TokenError::Claims {
                field: "account_id",
                ..
            })
        ));
        let mut c = typical_claims();
        c.session_policy_arns = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into(); 11];
        assert!(matches!(
            seal(&ring, &c, KEY_ID, &NONCE),
            Err(TokenError::Claims { .. })
        ));
        let mut c = typical_claims();
        c.session_policy = Some("x".repeat(2049));
        assert!(matches!(
            seal(&ring, &c, KEY_ID, &NONCE),
            Err(TokenError::Claims {
                field: "session_policy",
                ..
            })
        ));
    }

    #[test]
    fn too_large_carries_the_percentage() {
        let ring = ring();
        let mut c = typical_claims();
        // Within every per-field bound, together far over the limit.
        c.session_policy = Some("p".repeat(2048));
        c.session_policy_arns = (0..10)
            .map(|i| format!("arn:aws:iam::123456789012:policy/{i}{}", "n".repeat(100)))
            .collect();
        c.tags = (0..50)
            .map(|i| SessionTag {
                key: format!("{i}{}", "k".repeat(100)),
                value: "v".repeat(256),
            })
            .collect();
        let err = seal(&ring, &c, KEY_ID, &NONCE).err();
        let Some(TokenError::TooLarge {
            size,
            limit,
            percent,
        }) = err
        else {
            panic!("expected TooLarge, got {err:?}");
        };
        assert_eq!(limit, MAX_TOKEN_LEN);
        assert!(size > MAX_TOKEN_LEN);
        assert!(percent > 100);
        assert_eq!(percent, packed_size_percent(size));
        let msg = TokenError::TooLarge {
            size,
            limit,
            percent,
        }
        .to_string();
        assert!(msg.contains(&format!("{percent}%")), "{msg}");

        // Grow a policy of 2-byte characters until sealing fails: the last token that
        // sealed is within 8 bytes of the limit and opens; the first refused would
        // have been over it.
        let mut c = typical_claims();
        let mut last: Option<String> = None;
        let mut refused = None;
        for n in 1000..=2048 {
            c.session_policy = Some("é".repeat(n));
            match seal(&ring, &c, KEY_ID, &NONCE) {
                Ok(t) => last = Some(t),
                Err(TokenError::TooLarge { size, percent, .. }) => {
                    refused = Some((n, size, percent));
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        let (Some(last), Some((n, size, percent))) = (last, refused) else {
            panic!("no transition between 1000 and 2048 characters");
        };
        assert!(
            last.len() <= MAX_TOKEN_LEN && last.len() > MAX_TOKEN_LEN - 8,
            "{}",
            last.len()
        );
        assert!(size > MAX_TOKEN_LEN && percent == 101, "{size} {percent}");
        c.session_policy = Some("é".repeat(n - 1));
        assert_eq!(open(&ring, &last, KEY_ID, c.issued_at), Ok(c));
    }

    #[test]
    fn percent_is_of_the_limit_rounded_up() {
        assert_eq!(packed_size_percent(0), 0);
        assert_eq!(packed_size_percent(1), 1);
        assert_eq!(packed_size_percent(2048), 50);
        assert_eq!(packed_size_percent(4095), 100);
        assert_eq!(packed_size_percent(4096), 100);
        assert_eq!(packed_size_percent(4097), 101);
        assert_eq!(packed_size_percent(8192), 200);
    }

    #[test]
    fn errors_and_debug_show_no_secret() {
        let ring = ring();
        let c = typical_claims();
        let shown = format!("{c:?} {ring:?}");
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(!shown.contains("42, 42"), "{shown}");
        let token = sealed(&ring, &c);
        for err in [
            open(&ring, &token, KEY_ID, c.expires_at).err(),
            open(&ring, &token, "ASIAIOSFODNN7EXAMPLF", 0).err(),
        ] {
            let text = format!(
                "{err:?} {}",
                err.as_ref().map(ToString::to_string).unwrap_or_default()
            );
            assert!(!text.contains("wJalr") && !text.contains(&token), "{text}");
        }
    }
}
