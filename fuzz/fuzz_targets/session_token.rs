//! Session tokens (`iamd_session`): opening arbitrary token text and raw token bytes,
//! and the claims decoder on arbitrary plaintext (which authentication otherwise keeps
//! out of reach).
//!
//! Input: a mode byte, then material.
//! * mode % 3 == 0 — the material (lossy UTF-8) is token text for `open`.
//! * mode % 3 == 1 — the material is raw token bytes, base64-encoded for `open`.
//! * mode % 3 == 2 — the material is a claims encoding for `codec::decode`; what
//!   decodes is sealed with the fixed key and opened again.
//!
//! Invariants: no panic; a token that opens is exactly the one `seal` makes of its
//! claims and nonce (so nothing but sealed tokens opens), and is not expired; what the
//! claims decoder accepts re-encodes to the same bytes and round-trips through
//! `seal`/`open` (or is refused only as too large); a generation past its grace opens
//! nothing.
#![no_main]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use iamd_session::{codec, open, seal, InvalidToken, Keyring, TokenError, NONCE_LEN};
use libfuzzer_sys::fuzz_target;

const MASTER: [u8; 32] = [0x46; 32];
const KEY_ID: &str = "ASIAFUZZEXAMPLE0";
/// The time tokens are opened at; the seeds' claims are valid then.
const NOW: u64 = 1_700_000_100;

/// Generation 2 seals; generation 1 retired 100 s ago (still opens); generation 0
/// retired past its grace (opens nothing).
fn ring() -> &'static Keyring {
    static R: OnceLock<Keyring> = OnceLock::new();
    R.get_or_init(|| {
        Keyring::new(&MASTER, 2)
            .and_then(|r| r.with_previous(1, NOW - 100))
            .and_then(|r| r.with_previous(0, 0))
            .unwrap_or_else(|e| panic!("keyring: {e}"))
    })
}

/// The keyring whose current generation is `g` (to re-seal what generation `g` sealed).
fn sealing_ring(g: u32) -> Keyring {
    Keyring::new(&MASTER, g).unwrap_or_else(|e| panic!("keyring: {e}"))
}

fn check_open(text: &str) {
    let result = open(ring(), text, KEY_ID, NOW);
    let raw = STANDARD.decode(text);
    match result {
        Ok(claims) => {
            assert!(claims.expires_at > NOW, "an expired token opened");
            let raw = raw.unwrap_or_else(|e| panic!("opened but not base64: {e}"));
            let Some((&[v, g0, g1, g2, g3], rest)) = raw.split_first_chunk::<5>() else {
                panic!("opened a token shorter than its header");
            };
            let Some(nonce) = rest.first_chunk::<NONCE_LEN>() else {
                panic!("opened a token shorter than its header");
            };
            assert_eq!(v, iamd_session::TOKEN_VERSION);
            let generation = u32::from_be_bytes([g0, g1, g2, g3]);
            assert_ne!(generation, 0, "a generation past its grace opened a token");
            let again = seal(&sealing_ring(generation), &claims, KEY_ID, nonce)
                .unwrap_or_else(|e| panic!("an opened token does not re-seal: {e}"));
            assert_eq!(again, text, "an opened token is not the one seal makes");
        }
        Err(TokenError::Invalid(why)) => {
            let _ = why.to_string();
            if raw.is_err() {
                assert!(matches!(why, InvalidToken::Encoding | InvalidToken::Length));
            }
        }
        Err(TokenError::Expired) => {}
        Err(e) => panic!("open answered a sealing error: {e:?}"),
    }
}

fn check_claims(bytes: &[u8]) {
    let Some(claims) = codec::decode(bytes) else {
        return;
    };
    let encoded =
        codec::encode(&claims).unwrap_or_else(|e| panic!("decoded claims do not encode: {e}"));
    assert_eq!(&encoded[..], bytes, "the claims encoding is not canonical");
    let ring = sealing_ring(2);
    let nonce = [7u8; NONCE_LEN];
    match seal(&ring, &claims, KEY_ID, &nonce) {
        Ok(token) => {
            let at = claims.issued_at;
            assert_eq!(open(&ring, &token, KEY_ID, at).as_ref(), Ok(&claims));
            assert_eq!(
                open(&ring, &token, "ASIAFUZZEXAMPLE1", at),
                Err(TokenError::Invalid(InvalidToken::Authentication))
            );
            assert_eq!(
                open(&ring, &token, KEY_ID, claims.expires_at),
                Err(TokenError::Expired)
            );
        }
        Err(TokenError::TooLarge {
            size,
            limit,
            percent,
        }) => {
            assert!(size > limit && percent > 100);
        }
        Err(e) => panic!("decoded claims do not seal: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, material @ ..] = data else {
        return;
    };
    match mode % 3 {
        0 => check_open(&String::from_utf8_lossy(material)),
        1 => check_open(&STANDARD.encode(material)),
        _ => check_claims(material),
    }
});
