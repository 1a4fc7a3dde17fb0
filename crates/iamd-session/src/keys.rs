//! Token keys: one per generation, derived from the master key; rotation; and the
//! per-token AES-256-GCM key derived from the token's nonce.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::claims::MAX_SESSION_SECONDS;

type HmacSha256 = Hmac<Sha256>;

/// Label of the generation-key derivation (HMAC-SHA256 keyed with the master key over
/// this label and the generation number, big-endian `u32`).
const GENERATION_LABEL: &[u8] = b"iamd session token key v1, generation ";
/// Label of the per-token key derivation (HMAC-SHA256 keyed with the generation key
/// over this label and the first 12 bytes of the token's nonce).
const NONCE_KEY_LABEL: &[u8] = b"iamd session token nonce key v1 ";

/// Length of the caller-supplied nonce: 24 random bytes per token.
pub const NONCE_LEN: usize = 24;
/// Length of the AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;

/// How long a retired generation still verifies: the longest session, so that no
/// session outlives the key that sealed it.
pub const RETIRED_GRACE_SECONDS: u64 = MAX_SESSION_SECONDS;

/// Errors of the keyring. Messages never contain key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("the master key must be 32 bytes")]
    BadMasterKey,
    #[error("generation {0} is already in the keyring")]
    DuplicateGeneration(u32),
    #[error("a previous generation must be older than the current one")]
    NotOlder,
    #[error("no generation after {0}")]
    Exhausted(u32),
    #[error("the rotation period must be at least {MIN_ROTATION_SECONDS} seconds")]
    BadPeriod,
}

/// The default rotation period of a [`Schedule`]: a day.
pub const DEFAULT_ROTATION_SECONDS: u64 = 24 * 3600;
/// The shortest rotation period a [`Schedule`] takes: an hour (a retired generation
/// opens for 36 h, so a keyring holds at most 37 previous generations).
pub const MIN_ROTATION_SECONDS: u64 = 3600;

/// Rotation on a clock, with no shared state between nodes: generation *g* seals from
/// `(g − 1) · period` to `g · period` (unix seconds) and retires then, so the current
/// generation at `now` is `1 + ⌊now / period⌋` on every node whose clock agrees, and
/// every node derives the same keys from the master key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    period: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            period: DEFAULT_ROTATION_SECONDS,
        }
    }
}

impl Schedule {
    /// A schedule rotating every `period` seconds (at least [`MIN_ROTATION_SECONDS`]).
    pub fn new(period: u64) -> Result<Self, KeyringError> {
        if period < MIN_ROTATION_SECONDS {
            return Err(KeyringError::BadPeriod);
        }
        Ok(Self { period })
    }

    /// The rotation period, in seconds.
    pub fn period(&self) -> u64 {
        self.period
    }

    /// The generation that seals at `now`: `1 + ⌊now / period⌋` (at most `u32::MAX`).
    pub fn generation_at(&self, now: u64) -> u32 {
        u32::try_from(now / self.period)
            .ok()
            .and_then(|g| g.checked_add(1))
            .unwrap_or(u32::MAX)
    }

    /// When generation `id` retires (stops sealing): `id · period`.
    pub fn retired_at(&self, id: u32) -> u64 {
        u64::from(id).saturating_mul(self.period)
    }

    /// The instant from which a token of generation `id` no longer opens: its
    /// retirement + [`RETIRED_GRACE_SECONDS`].
    pub fn opens_until(&self, id: u32) -> u64 {
        self.retired_at(id).saturating_add(RETIRED_GRACE_SECONDS)
    }

    /// The keyring of `now`: the current generation seals; the previous ones still in
    /// their grace open; so does the next one, which a node whose clock runs ahead may
    /// already seal with (only a holder of the master key can make it).
    pub fn keyring_at(&self, master: &[u8], now: u64) -> Result<Keyring, KeyringError> {
        let current = self.generation_at(now);
        let mut ring = Keyring::new(master, current)?;
        let mut id = current;
        while let Some(prev) = id.checked_sub(1).filter(|&g| g > 0) {
            if now >= self.opens_until(prev) {
                break;
            }
            ring = ring.with_previous(prev, self.retired_at(prev))?;
            id = prev;
        }
        if let Some(next) = current.checked_add(1) {
            ring.upcoming = Some(derive_generation(&ring.master, next)?);
        }
        Ok(ring)
    }
}

struct Generation {
    id: u32,
    key: Zeroizing<[u8; 32]>,
    retired_at: Option<u64>,
}

/// The token keys: the current generation (seals) and previous ones (still open
/// tokens until `retired_at + 36 h`). Holds the master key to derive new generations;
/// `Debug` shows generation numbers and retirement times only.
pub struct Keyring {
    master: Zeroizing<[u8; 32]>,
    current: Generation,
    /// Newest first.
    previous: Vec<Generation>,
    /// The next generation, which opens but does not seal ([`Schedule::keyring_at`]).
    upcoming: Option<Generation>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self
                    .previous
                    .iter()
                    .map(|g| (g.id, g.retired_at))
                    .collect::<Vec<_>>(),
            )
            .field("upcoming", &self.upcoming.as_ref().map(|g| g.id))
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA256 of `parts` under `key`.
pub(crate) fn prf(key: &[u8], parts: &[&[u8]]) -> Option<Zeroizing<[u8; 32]>> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    for p in parts {
        mac.update(p);
    }
    Some(Zeroizing::new(mac.finalize().into_bytes().into()))
}

fn derive_generation(master: &[u8; 32], id: u32) -> Result<Generation, KeyringError> {
    let key =
        prf(master, &[GENERATION_LABEL, &id.to_be_bytes()]).ok_or(KeyringError::BadMasterKey)?;
    Ok(Generation {
        id,
        key,
        retired_at: None,
    })
}

impl Keyring {
    /// A keyring whose current generation is `current`. The master key is the server's
    /// 32-byte master key; tokens are never sealed with it directly.
    pub fn new(master: &[u8], current: u32) -> Result<Self, KeyringError> {
        let master: [u8; 32] = master.try_into().map_err(|_| KeyringError::BadMasterKey)?;
        let master = Zeroizing::new(master);
        let current = derive_generation(&master, current)?;
        Ok(Self {
            master,
            current,
            previous: Vec::new(),
            upcoming: None,
        })
    }

    /// Adds an older generation retired at `retired_at` (restoring a keyring from
    /// storage).
    pub fn with_previous(mut self, id: u32, retired_at: u64) -> Result<Self, KeyringError> {
        if id >= self.current.id {
            return Err(KeyringError::NotOlder);
        }
        if self.previous.iter().any(|g| g.id == id) {
            return Err(KeyringError::DuplicateGeneration(id));
        }
        let mut g = derive_generation(&self.master, id)?;
        g.retired_at = Some(retired_at);
        self.previous.push(g);
        self.previous.sort_by_key(|g| std::cmp::Reverse(g.id));
        Ok(self)
    }

    /// Starts the next generation: new tokens are sealed with it, and the current one
    /// retires at `now` (it still opens tokens for [`RETIRED_GRACE_SECONDS`]). Returns
    /// the new generation's number.
    pub fn rotate(&mut self, now: u64) -> Result<u32, KeyringError> {
        let id = self
            .current
            .id
            .checked_add(1)
            .ok_or(KeyringError::Exhausted(self.current.id))?;
        let next = match self.upcoming.take() {
            Some(g) if g.id == id => g,
            _ => derive_generation(&self.master, id)?,
        };
        let mut old = std::mem::replace(&mut self.current, next);
        old.retired_at = Some(now);
        self.previous.insert(0, old);
        Ok(id)
    }

    /// The keyring of `now` under `schedule` ([`Schedule::keyring_at`]), from this
    /// keyring's master key.
    pub fn at(&self, schedule: &Schedule, now: u64) -> Result<Keyring, KeyringError> {
        schedule.keyring_at(self.master.as_slice(), now)
    }

    /// Forgets the generations that no longer open anything at `now`.
    pub fn prune(&mut self, now: u64) {
        self.previous.retain(|g| !retired(g, now));
    }

    /// The generation new tokens are sealed with.
    pub fn current_generation(&self) -> u32 {
        self.current.id
    }

    /// The previous generations and when each retired, newest first (for storage).
    pub fn previous_generations(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.previous
            .iter()
            .map(|g| (g.id, g.retired_at.unwrap_or_default()))
    }

    pub(crate) fn current(&self) -> (u32, &[u8; 32]) {
        (self.current.id, &self.current.key)
    }

    /// The key of generation `id` at `now`: `Err(true)` when it retired too long ago,
    /// `Err(false)` when the keyring does not hold it.
    pub(crate) fn lookup(&self, id: u32, now: u64) -> Result<&[u8; 32], bool> {
        let g = std::iter::once(&self.current)
            .chain(&self.previous)
            .chain(&self.upcoming)
            .find(|g| g.id == id)
            .ok_or(false)?;
        if retired(g, now) {
            return Err(true);
        }
        Ok(&g.key)
    }
}

/// Past its grace at `now`: refused from `retired_at + 36 h` on.
fn retired(g: &Generation, now: u64) -> bool {
    g.retired_at
        .is_some_and(|r| now >= r.saturating_add(RETIRED_GRACE_SECONDS))
}

/// The AES-256-GCM cipher and 12-byte GCM nonce of one token: the key is
/// HMAC-SHA256(generation key, label ‖ nonce[..12]), the GCM nonce is nonce[12..].
/// (The construction of XAES-256-GCM, with HMAC in place of CMAC: 192 random bits per
/// token, so random nonces never realistically repeat, unlike GCM's 96.)
fn token_cipher(
    generation_key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
) -> Option<(Aes256Gcm, [u8; 12])> {
    let (key_part, gcm_nonce) = nonce.split_first_chunk::<12>()?;
    let gcm_nonce: [u8; 12] = gcm_nonce.try_into().ok()?;
    let key = prf(generation_key, &[NONCE_KEY_LABEL, key_part])?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.as_slice()));
    Some((cipher, gcm_nonce))
}

pub(crate) fn encrypt(
    generation_key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Option<Vec<u8>> {
    let (cipher, gcm_nonce) = token_cipher(generation_key, nonce)?;
    cipher
        .encrypt(
            Nonce::from_slice(&gcm_nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .ok()
}

/// The plaintext, zeroed on drop; `None` when authentication fails.
pub(crate) fn decrypt(
    generation_key: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let (cipher, gcm_nonce) = token_cipher(generation_key, nonce)?;
    cipher
        .decrypt(
            Nonce::from_slice(&gcm_nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: [u8; 32] = [7; 32];

    #[test]
    fn generation_keys_are_derived_and_distinct() {
        let ring = Keyring::new(&MASTER, 1).unwrap_or_else(|e| panic!("{e}"));
        let (id, k1) = ring.current();
        assert_eq!(id, 1);
        assert_ne!(k1, &MASTER, "the token key is never the master key");
        let other = Keyring::new(&MASTER, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(k1, other.current().1);
        let again = Keyring::new(&MASTER, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(k1, again.current().1, "derivation is deterministic");
    }

    #[test]
    fn master_key_length_checked() {
        assert_eq!(
            Keyring::new(&[0; 31], 1).err(),
            Some(KeyringError::BadMasterKey)
        );
    }

    #[test]
    fn rotation_retires_and_grace_ends() {
        let mut ring = Keyring::new(&MASTER, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ring.rotate(1_000), Ok(2));
        assert_eq!(ring.current_generation(), 2);
        assert_eq!(
            ring.previous_generations().collect::<Vec<_>>(),
            [(1, 1_000)]
        );
        let end = 1_000 + RETIRED_GRACE_SECONDS;
        assert!(ring.lookup(1, end - 1).is_ok());
        assert_eq!(ring.lookup(1, end).err(), Some(true));
        assert_eq!(ring.lookup(3, 0).err(), Some(false));
        ring.prune(end - 1);
        assert!(ring.lookup(1, end - 1).is_ok());
        ring.prune(end);
        assert_eq!(ring.lookup(1, end - 1).err(), Some(false));
        assert!(format!("{ring:?}").contains("current: 2"));
    }

    #[test]
    fn restoring_previous_generations() {
        let ring = Keyring::new(&MASTER, 5)
            .and_then(|r| r.with_previous(3, 10))
            .and_then(|r| r.with_previous(4, 20))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ring.previous_generations().collect::<Vec<_>>(),
            [(4, 20), (3, 10)]
        );
        let restored = Keyring::new(&MASTER, 4).and_then(|r| r.with_previous(3, 10));
        assert!(restored.is_ok());
        let ring = Keyring::new(&MASTER, 5).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ring.with_previous(5, 1).err(), Some(KeyringError::NotOlder));
        let dup = Keyring::new(&MASTER, 5).and_then(|r| r.with_previous(3, 1)?.with_previous(3, 2));
        assert_eq!(dup.err(), Some(KeyringError::DuplicateGeneration(3)));
        let mut last = Keyring::new(&MASTER, u32::MAX).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(last.rotate(0), Err(KeyringError::Exhausted(u32::MAX)));
    }

    const H: u64 = 3600;

    #[test]
    fn generation_from_time() {
        let day = Schedule::default();
        assert_eq!(day.period(), 24 * H);
        assert_eq!(day.generation_at(0), 1);
        assert_eq!(day.generation_at(24 * H - 1), 1);
        assert_eq!(day.generation_at(24 * H), 2);
        assert_eq!(day.generation_at(48 * H), 3);
        // 2026-12-05T00:00:00Z is day 20,792 since the epoch.
        assert_eq!(day.generation_at(1_796_428_800), 20_793);
        assert_eq!(day.retired_at(1), 24 * H);
        assert_eq!(day.opens_until(1), 24 * H + RETIRED_GRACE_SECONDS);
        let hour = Schedule::new(H).unwrap();
        assert_eq!(hour.generation_at(5 * H + 59), 6);
        assert_eq!(hour.generation_at(u64::MAX), u32::MAX, "saturates");
        assert_eq!(hour.retired_at(u32::MAX), u64::from(u32::MAX) * H);
        assert_eq!(Schedule::new(H - 1), Err(KeyringError::BadPeriod));
        assert_eq!(Schedule::new(0), Err(KeyringError::BadPeriod));
    }

    /// Which generations the keyring of `now` opens, in the order of `ids`.
    fn opens(s: &Schedule, now: u64, ids: &[u32]) -> Vec<bool> {
        let ring = s.keyring_at(&MASTER, now).unwrap();
        ids.iter().map(|&g| ring.lookup(g, now).is_ok()).collect()
    }

    #[test]
    fn keyring_of_a_time() {
        let day = Schedule::default();
        // Generation 1 retires at 24 h, opens until 60 h; generation 2 until 84 h.
        let ring = day.keyring_at(&MASTER, 24 * H).unwrap();
        assert_eq!(ring.current_generation(), 2);
        assert_eq!(
            ring.previous_generations().collect::<Vec<_>>(),
            [(1, 24 * H)]
        );
        assert_eq!(
            opens(&day, 24 * H, &[1, 2, 3, 4]),
            [true, true, true, false]
        );
        assert_eq!(
            opens(&day, 60 * H - 1, &[1, 2, 3, 4, 5]),
            [true, true, true, true, false]
        );
        assert_eq!(
            opens(&day, 60 * H, &[1, 2, 3, 4, 5]),
            [false, true, true, true, false]
        );
        assert_eq!(
            opens(&day, 84 * H, &[2, 3, 4, 5, 6]),
            [false, true, true, true, false]
        );
        // The keys are the ones a keyring of that generation derives.
        let direct = Keyring::new(&MASTER, 3).unwrap();
        assert_eq!(ring.lookup(3, 24 * H).ok(), Some(direct.current().1));
        // An hourly schedule holds the 36 previous generations still in their grace.
        let hour = Schedule::new(H).unwrap();
        let ring = hour.keyring_at(&MASTER, 100 * H).unwrap();
        assert_eq!(ring.current_generation(), 101);
        assert_eq!(ring.previous_generations().count(), 36);
        assert_eq!(
            opens(&hour, 100 * H, &[64, 65, 100, 102, 103]),
            [false, true, true, true, false]
        );
        assert!(format!("{ring:?}").contains("upcoming: Some(102)"));
    }

    proptest::proptest! {
        /// At the exact edges: generation `g` seals up to `retired_at(g) - 1`, the next
        /// from `retired_at(g)`; `g` opens up to `opens_until(g) - 1` and not from
        /// `opens_until(g)`, in the keyring of that very instant.
        #[test]
        fn schedule_edges(hours in 1u64..=24 * 366, g in 1u32..2_000_000) {
            let s = Schedule::new(hours * H).unwrap();
            let end = s.retired_at(g);
            proptest::prop_assert_eq!(s.generation_at(end - 1), g);
            proptest::prop_assert_eq!(s.generation_at(end), g + 1);
            proptest::prop_assert_eq!(s.generation_at(s.retired_at(g - 1)), g);
            let refused = s.opens_until(g);
            proptest::prop_assert_eq!(opens(&s, end, &[g]), [true]);
            proptest::prop_assert_eq!(opens(&s, refused - 1, &[g]), [true]);
            proptest::prop_assert_eq!(opens(&s, refused, &[g]), [false]);
            let ring = s.keyring_at(&MASTER, refused).unwrap();
            proptest::prop_assert_eq!(ring.lookup(g, refused).err(), Some(false), "not held");
        }
    }

    #[test]
    fn rotating_into_the_upcoming_generation() {
        let mut ring = Schedule::default().keyring_at(&MASTER, 0).unwrap();
        let upcoming = *ring.lookup(2, 0).unwrap();
        assert_eq!(ring.rotate(10), Ok(2));
        assert_eq!(ring.current(), (2, &upcoming));
        assert!(
            ring.lookup(3, 10).is_err(),
            "no upcoming after a manual rotation"
        );
    }

    #[test]
    fn nonce_halves_both_matter() {
        let key = [1u8; 32];
        let a = [0u8; NONCE_LEN];
        let ct = encrypt(&key, &a, b"aad", b"hello").unwrap_or_default();
        assert!(decrypt(&key, &a, b"aad", &ct).is_some());
        assert!(decrypt(&key, &a, b"aae", &ct).is_none());
        for i in [0, 11, 12, 23] {
            let mut b = a;
            if let Some(x) = b.get_mut(i) {
                *x = 1;
            }
            assert!(decrypt(&key, &b, b"aad", &ct).is_none(), "nonce byte {i}");
        }
    }
}
