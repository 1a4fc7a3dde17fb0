//! Property tests over random session claims: round trip, tampering, key-id binding,
//! expiry and retirement boundaries.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failed setup fails the test"
)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use iamd_session::*;
use proptest::prelude::*;
use proptest::sample::Index;

const MASTER: [u8; 32] = [0x5a; 32];

fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), min..=max).prop_map(|v| v.into_iter().collect())
}

fn word(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(&b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[..]),
        min..=max,
    )
    .prop_map(|v| v.into_iter().map(char::from).collect())
}

/// `(small, big)` maximum characters of a field: small claims stay under the token
/// limit whatever the characters (at most 4 bytes each, about 2,550 bytes in all); big
/// ones reach every bound.
fn max(big: bool, small: usize, full: usize) -> usize {
    if big {
        full
    } else {
        small
    }
}

fn principal(big: bool) -> impl Strategy<Value = SessionPrincipal> {
    let name = max(big, 32, 64);
    let path = max(big, 20, 512);
    prop_oneof![
        (word(16, 32), text(1, name), text(1, path), text(2, name)).prop_map(
            |(role_id, role_name, role_path, session_name)| SessionPrincipal::AssumedRole {
                role_id,
                role_name,
                role_path,
                session_name,
            }
        ),
        (text(2, 32), word(16, 32))
            .prop_map(|(name, issuer_id)| SessionPrincipal::FederatedUser { name, issuer_id }),
        (word(16, 32), text(1, name), text(1, path)).prop_map(|(user_id, user_name, user_path)| {
            SessionPrincipal::UserSession {
                user_id,
                user_name,
                user_path,
            }
        }),
        Just(SessionPrincipal::RootSession),
    ]
}

/// Claims within every bound; `big` lets every field grow to its bound, past the
/// token limit together.
fn claims(big: bool) -> impl Strategy<Value = SessionClaims> {
    let m = |small, full| max(big, small, full);
    (
        (
            word(12, 12).prop_map(|s| {
                s.chars()
                    .map(|c| char::from(b'0' + (c as u8) % 10))
                    .collect()
            }),
            principal(big),
            text(1, m(64, 128)).prop_map(SecretAccessKey::new),
            0..=u64::MAX - MAX_SESSION_SECONDS,
            1..=MAX_SESSION_SECONDS,
            any::<Option<u64>>(),
            prop::option::of(text(2, m(32, 64))),
            any::<(bool, bool)>(),
        ),
        (
            prop::option::of(text(1, m(100, 2048))),
            prop::collection::vec(text(20, m(30, 2048)), 0..=m(2, 10)),
            prop::collection::vec((text(1, m(16, 128)), text(0, m(32, 256))), 0..=m(4, 50)),
            prop::collection::vec(text(1, m(16, 128)), 0..=m(4, 50)),
        ),
    )
        .prop_map(
            |(
                (account_id, principal, secret, issued_at, duration, mfa, source, (chained, from)),
                (policy, arns, tags, transitive),
            )| SessionClaims {
                account_id,
                principal,
                secret_access_key: secret,
                issued_at,
                expires_at: issued_at + duration,
                mfa_authenticated_at: mfa,
                source_identity: source,
                role_chained: chained,
                from_session_credentials: from,
                session_policy: policy,
                session_policy_arns: arns,
                tags: tags
                    .into_iter()
                    .map(|(key, value)| SessionTag { key, value })
                    .collect(),
                transitive_tag_keys: transitive,
            },
        )
}

fn key_id() -> impl Strategy<Value = String> {
    word(16, 40)
}

fn ring() -> Keyring {
    Keyring::new(&MASTER, 7).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn round_trip(c in claims(false), id in key_id(), nonce in any::<[u8; NONCE_LEN]>()) {
        let ring = ring();
        let token = seal(&ring, &c, &id, &nonce).unwrap();
        prop_assert!(token.len() <= MAX_TOKEN_LEN);
        prop_assert_eq!(open(&ring, &token, &id, c.issued_at), Ok(c));
    }

    /// Up to every bound at once: either the token fits and round-trips, or sealing
    /// says how much too large it is.
    #[test]
    fn round_trip_or_too_large(c in claims(true), id in key_id(), nonce in any::<[u8; NONCE_LEN]>()) {
        let ring = ring();
        match seal(&ring, &c, &id, &nonce) {
            Ok(token) => {
                prop_assert!(token.len() <= MAX_TOKEN_LEN);
                prop_assert_eq!(open(&ring, &token, &id, c.issued_at), Ok(c));
            }
            Err(TokenError::TooLarge { size, limit, percent }) => {
                prop_assert!(size > limit && percent > 100);
            }
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }

    #[test]
    fn any_changed_byte_is_refused(
        c in claims(false),
        id in key_id(),
        nonce in any::<[u8; NONCE_LEN]>(),
        at in any::<Index>(),
        delta in 1..=255u8,
    ) {
        let ring = ring();
        let token = seal(&ring, &c, &id, &nonce).unwrap();
        let mut raw = STANDARD.decode(&token).unwrap();
        let i = at.index(raw.len());
        raw[i] ^= delta;
        let changed = STANDARD.encode(&raw);
        prop_assert!(matches!(open(&ring, &changed, &id, c.issued_at), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn any_changed_character_is_refused(
        c in claims(false),
        id in key_id(),
        at in any::<Index>(),
        replacement in any::<char>(),
    ) {
        let ring = ring();
        let token = seal(&ring, &c, &id, &[3; NONCE_LEN]).unwrap();
        let i = at.index(token.len());
        // The token is ASCII: character i is byte i.
        let changed: String = token
            .chars()
            .enumerate()
            .map(|(j, ch)| if j == i { replacement } else { ch })
            .collect();
        prop_assume!(changed != token);
        prop_assert!(matches!(open(&ring, &changed, &id, c.issued_at), Err(TokenError::Invalid(_))));
    }

    #[test]
    fn another_key_id_is_refused(c in claims(false), id in key_id(), other in key_id()) {
        prop_assume!(id != other);
        let ring = ring();
        let token = seal(&ring, &c, &id, &[4; NONCE_LEN]).unwrap();
        prop_assert_eq!(
            open(&ring, &token, &other, c.issued_at),
            Err(TokenError::Invalid(InvalidToken::Authentication))
        );
    }

    /// Valid for `issued_at <= now < expires_at`; the expiration instant is expired.
    #[test]
    fn expired_at_and_after_expiry(c in claims(false), before in 1..=MAX_SESSION_SECONDS, after in 0..=u64::MAX / 2) {
        let ring = ring();
        let token = seal(&ring, &c, "ASIAIOSFODNN7EXAMPLE", &[5; NONCE_LEN]).unwrap();
        let valid_at = c.expires_at.saturating_sub(before).max(c.issued_at);
        prop_assert!(open(&ring, &token, "ASIAIOSFODNN7EXAMPLE", valid_at).is_ok());
        prop_assert!(open(&ring, &token, "ASIAIOSFODNN7EXAMPLE", c.expires_at - 1).is_ok());
        prop_assert_eq!(
            open(&ring, &token, "ASIAIOSFODNN7EXAMPLE", c.expires_at.saturating_add(after)),
            Err(TokenError::Expired)
        );
    }

    /// A generation retired at `r` opens its tokens before `r + 36 h` and refuses them
    /// from then on, even a token whose own expiry has not come.
    #[test]
    fn retired_generation_refused_after_grace(
        mut c in claims(false),
        r in 0..=u64::MAX / 2,
        before in 1..=MAX_SESSION_SECONDS,
        after in 0..=u64::MAX / 4,
    ) {
        c.issued_at = r;
        c.expires_at = r + MAX_SESSION_SECONDS;
        let mut ring = ring();
        let token = seal(&ring, &c, "ASIAIOSFODNN7EXAMPLE", &[6; NONCE_LEN]).unwrap();
        ring.rotate(r).unwrap();
        let end = r + RETIRED_GRACE_SECONDS;
        prop_assert!(open(&ring, &token, "ASIAIOSFODNN7EXAMPLE", end - before).is_ok());
        prop_assert_eq!(
            open(&ring, &token, "ASIAIOSFODNN7EXAMPLE", end + after),
            Err(TokenError::Invalid(InvalidToken::RetiredGeneration))
        );
        // A token of that generation that claims a later expiry cannot exist: it would
        // be refused all the same once the generation is past its grace.
        ring.prune(end);
        prop_assert_eq!(
            open(&ring, &token, "ASIAIOSFODNN7EXAMPLE", end - before),
            Err(TokenError::Invalid(InvalidToken::UnknownGeneration))
        );
    }

    /// Arbitrary text never panics and never opens.
    #[test]
    fn arbitrary_text_is_refused(s in "[A-Za-z0-9+/=]{0,600}", id in key_id(), now in any::<u64>()) {
        prop_assert!(open(&ring(), &s, &id, now).is_err());
    }
}
