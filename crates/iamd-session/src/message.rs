//! Encoded authorization messages: the explanation of a denial, sealed so that only a
//! caller allowed `sts:DecodeAuthorizationMessage` (through the server) can read it.
//!
//! Format (URL-safe base64 without padding, so it fits a header and a query string):
//! `0x81 ‖ generation (u32, big-endian) ‖ nonce (24 bytes) ‖ AES-256-GCM(ciphertext ‖ tag)`.
//! The key is the token construction's (per-message key from the nonce) under a
//! *message* key, HMAC-SHA256(generation key, [`MESSAGE_LABEL`]): a message never opens
//! as a session token nor a token as a message (different keys, different version
//! byte). The header is the associated data. Like tokens, a retired generation still
//! opens messages for 36 h.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::keys::{self, Keyring, NONCE_LEN};

/// First byte of a message (tokens start with [`crate::TOKEN_VERSION`]).
const MESSAGE_VERSION: u8 = 0x81;
/// Label of the message-key derivation.
const MESSAGE_LABEL: &[u8] = b"iamd authorization message key v1";
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;

/// Seals `plaintext` with the keyring's current generation and `nonce` (24 random
/// bytes from the caller). `None` only if the cipher fails.
pub fn seal_message(
    keyring: &Keyring,
    plaintext: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Option<String> {
    let (generation, key) = keyring.current();
    let key = keys::prf(key, &[MESSAGE_LABEL])?;
    let mut raw = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
    raw.push(MESSAGE_VERSION);
    raw.extend_from_slice(&generation.to_be_bytes());
    raw.extend_from_slice(nonce);
    let sealed = keys::encrypt(&key, nonce, &raw, plaintext)?;
    raw.extend_from_slice(&sealed);
    Some(URL_SAFE_NO_PAD.encode(raw))
}

/// Opens a message sealed by [`seal_message`] at `now` (unix seconds); `None` when it
/// is damaged, forged, or sealed by a generation the keyring no longer holds.
pub fn open_message(keyring: &Keyring, message: &str, now: u64) -> Option<Zeroizing<Vec<u8>>> {
    let raw = URL_SAFE_NO_PAD.decode(message.trim()).ok()?;
    let (header, ciphertext) = raw.split_first_chunk::<HEADER_LEN>()?;
    let (version, rest) = header.split_first_chunk::<1>()?;
    if *version != [MESSAGE_VERSION] {
        return None;
    }
    let (generation, nonce) = rest.split_first_chunk::<4>()?;
    let nonce: &[u8; NONCE_LEN] = nonce.try_into().ok()?;
    let key = keyring.lookup(u32::from_be_bytes(*generation), now).ok()?;
    let key = keys::prf(key, &[MESSAGE_LABEL])?;
    keys::decrypt(&key, nonce, header, ciphertext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let ring = Keyring::new(&[3; 32], 1).unwrap();
        let m = seal_message(&ring, b"{\"allowed\":false}", &[9; NONCE_LEN]).unwrap();
        assert!(m
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(
            open_message(&ring, &m, 0).unwrap().as_slice(),
            b"{\"allowed\":false}"
        );
        // Any single changed character is refused.
        for i in 0..m.len() {
            let mut b = m.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(b).unwrap();
            if t != m {
                assert!(open_message(&ring, &t, 0).is_none(), "position {i}");
            }
        }
        // Another master key cannot open it.
        let other = Keyring::new(&[4; 32], 1).unwrap();
        assert!(open_message(&other, &m, 0).is_none());
        assert!(open_message(&ring, "not a message", 0).is_none());
    }
}
