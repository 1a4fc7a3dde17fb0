//! Secrets at rest: AES-256-GCM under a master key that lives outside the database.
//!
//! Each ciphertext is `nonce (12 bytes) || ciphertext+tag`, and the associated data
//! binds it to its access key id, so a ciphertext copied onto another key's row does
//! not decrypt.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use std::sync::{Arc, RwLock};

/// Errors of the secret box. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("master key must be 32 bytes (64 hex characters)")]
    BadMasterKey,
    #[error("the system random number generator failed")]
    Random,
    #[error("a stored secret could not be decrypted (wrong master key or corrupted row)")]
    Decrypt,
    #[error("a secret could not be encrypted")]
    Encrypt,
    #[error("the session key rotation period must be at least an hour")]
    RotationPeriod,
}

/// The master key. `Debug` never shows the key.
pub struct MasterKey {
    cipher: Aes256Gcm,
    /// When the session-token key rotates.
    schedule: iamd_session::Schedule,
    /// The session-token keyring derived from the master key (HMAC per generation,
    /// `iamd_session`) for the current generation of `schedule`: the master key itself
    /// is never handed out. Replaced (never changed in place) when the clock reaches
    /// the next generation, so a request holds one consistent keyring.
    sessions: RwLock<Arc<iamd_session::Keyring>>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        Self::new(bytes, iamd_session::Schedule::default())
    }

    /// The key `bytes` with the session-token key rotating every `period` seconds (at
    /// least an hour; default a day). Every node of a deployment must use the same
    /// period: a node derives the generation from its clock and the period.
    pub fn from_bytes_rotating(bytes: &[u8], period: u64) -> Result<Self, CryptoError> {
        let schedule =
            iamd_session::Schedule::new(period).map_err(|_| CryptoError::RotationPeriod)?;
        Self::new(bytes, schedule)
    }

    /// The key and its session keyring, derived once, for `schedule`.
    fn new(bytes: &[u8], schedule: iamd_session::Schedule) -> Result<Self, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError::BadMasterKey);
        }
        let key = Key::<Aes256Gcm>::from_slice(bytes);
        let sessions = schedule
            .keyring_at(bytes, crate::core::now_secs())
            .map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self {
            cipher: Aes256Gcm::new(key),
            schedule,
            sessions: RwLock::new(Arc::new(sessions)),
        })
    }

    /// When the session-token key rotates.
    pub fn session_schedule(&self) -> iamd_session::Schedule {
        self.schedule
    }

    fn read_sessions(&self) -> Arc<iamd_session::Keyring> {
        self.sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Parses 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        Self::from_hex_rotating(text, iamd_session::Schedule::default().period())
    }

    /// [`MasterKey::from_hex`] with the session-token key rotating every `period`
    /// seconds ([`MasterKey::from_bytes_rotating`]).
    pub fn from_hex_rotating(text: &str, period: u64) -> Result<Self, CryptoError> {
        let bytes = decode_hex(text.trim()).ok_or(CryptoError::BadMasterKey)?;
        Self::from_bytes_rotating(&bytes, period)
    }

    /// A fresh random key, returned with its hex form (for writing `master.key`).
    pub fn generate() -> Result<(Self, String), CryptoError> {
        Self::generate_rotating(iamd_session::Schedule::default().period())
    }

    /// [`MasterKey::generate`] with the session-token key rotating every `period`
    /// seconds.
    pub fn generate_rotating(period: u64) -> Result<(Self, String), CryptoError> {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes)?;
        let hex = encode_hex(&bytes);
        Ok((Self::from_bytes_rotating(&bytes, period)?, hex))
    }

    /// The keyring that seals and opens session tokens and authorization messages at
    /// `now` (keys derived from this key): the one held, or — once `now` reaches a
    /// later generation — the keyring of `now`, which replaces it (no restart; each
    /// node on its own clock). Generations only move forward: a clock stepping back
    /// keeps the newer keyring. The hot path is one read lock and an `Arc` clone.
    pub fn session_keyring(&self, now: u64) -> Arc<iamd_session::Keyring> {
        let ring = self.read_sessions();
        if self.schedule.generation_at(now) <= ring.current_generation() {
            return ring;
        }
        let mut held = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        if self.schedule.generation_at(now) > held.current_generation() {
            // Fails only past generation u32::MAX: the held keyring stays.
            if let Ok(next) = held.at(&self.schedule, now) {
                *held = Arc::new(next);
            }
        }
        held.clone()
    }

    pub fn seal(&self, associated: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; 12];
        fill_random(&mut nonce)?;
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open(&self, associated: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 12 + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(12);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: associated.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Decrypt)
    }
}

pub fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::getrandom(buf).map_err(|_| CryptoError::Random)
}

pub fn encode_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    use iamd_text::percent::hex_value as nib;
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let (k, hex) = MasterKey::generate().unwrap();
        assert_eq!(hex.len(), 64);
        let sealed = k.seal("AKIAEXAMPLE", b"secret-material").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(k.open("AKIAEXAMPLE", &sealed).unwrap(), b"secret-material");
        // Bound to its key id.
        assert!(k.open("AKIAOTHER", &sealed).is_err());
        // Another master key cannot open it.
        let k2 = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
        assert!(k2.open("AKIAEXAMPLE", &sealed).is_err());
        // Tampering is detected.
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(k.open("AKIAEXAMPLE", &bad).is_err());
    }

    #[test]
    fn hex_key_parsing() {
        assert!(MasterKey::from_hex("zz").is_err());
        assert!(MasterKey::from_hex(&"0".repeat(62)).is_err());
        assert!(MasterKey::from_hex(&format!(" {}\n", "0F".repeat(32))).is_ok());
    }
}
