//! A small bounded, sharded cache of derived signing keys.
//!
//! Key: (access key id, date, region, service). Each entry also stores a SHA-256
//! fingerprint of the secret it was derived from, so a rotated or mistyped secret
//! never hits a stale key. Secrets themselves are never stored.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

use subtle::ConstantTimeEq;

use crate::canonical::{derive_signing_key, keyed, sha256, KeyedMac};

const SHARDS: usize = 16;

struct Entry {
    secret_fingerprint: [u8; 32],
    key: [u8; 32],
    /// HMAC keyed with `key` (its pads hashed once, not per request).
    mac: KeyedMac,
}

/// Bounded cache of derived SigV4 signing keys, owned by the server and shared by all
/// request handlers (`Sync`). Eviction is arbitrary within a full shard — the
/// working set (one key per access key per day and region/service) is small.
pub struct SigningKeyCache {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    per_shard_capacity: usize,
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("len", &self.len())
            .field("capacity", &(self.per_shard_capacity * SHARDS))
            .finish()
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::new(4096)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked while holding it; the map
    // is still structurally valid.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SigningKeyCache {
    /// A cache holding about `capacity` keys (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        let per_shard_capacity = capacity.div_ceil(SHARDS).max(1);
        SigningKeyCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard_capacity,
        }
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every cached key of `access_key_id` (call on key deletion or rotation;
    /// not required for correctness thanks to the secret fingerprint).
    pub fn invalidate(&self, access_key_id: &str) {
        let prefix = format!("{access_key_id}\n");
        for s in &self.shards {
            lock(s).retain(|k, _| !k.starts_with(&prefix));
        }
    }

    /// Drops everything.
    pub fn clear(&self) {
        for s in &self.shards {
            lock(s).clear();
        }
    }

    fn key_and_shard(
        &self,
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> (String, Option<&Mutex<HashMap<String, Entry>>>) {
        let mut key = String::with_capacity(
            access_key_id.len() + date.len() + region.len() + service.len() + 3,
        );
        key.push_str(access_key_id);
        key.push('\n');
        key.push_str(date);
        key.push('\n');
        key.push_str(region);
        key.push('\n');
        key.push_str(service);
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let idx = usize::try_from(h.finish() % SHARDS as u64).unwrap_or(0);
        (key, self.shards.get(idx))
    }

    /// The cached signing key for the scope, if present and derived from this `secret`.
    pub fn get(
        &self,
        access_key_id: &str,
        secret: &[u8],
        date: &str,
        region: &str,
        service: &str,
    ) -> Option<[u8; 32]> {
        self.get_keyed(access_key_id, secret, date, region, service)
            .map(|(k, _)| k)
    }

    /// [`SigningKeyCache::get`] with the HMAC state keyed by the signing key.
    pub(crate) fn get_keyed(
        &self,
        access_key_id: &str,
        secret: &[u8],
        date: &str,
        region: &str,
        service: &str,
    ) -> Option<([u8; 32], KeyedMac)> {
        let (key, shard) = self.key_and_shard(access_key_id, date, region, service);
        let fp = sha256(secret);
        let map = lock(shard?);
        let e = map.get(&key)?;
        bool::from(e.secret_fingerprint.ct_eq(&fp)).then(|| (e.key, e.mac.clone()))
    }

    /// Stores a signing key derived from `secret` for the scope. The verifier calls
    /// this only after a signature checked out, so unauthenticated requests cannot
    /// fill the cache with made-up scopes.
    pub fn insert(
        &self,
        access_key_id: &str,
        secret: &[u8],
        date: &str,
        region: &str,
        service: &str,
        signing_key: [u8; 32],
    ) {
        let (key, shard) = self.key_and_shard(access_key_id, date, region, service);
        let Some(shard) = shard else { return };
        let fp = sha256(secret);
        let mut map = lock(shard);
        if map.len() >= self.per_shard_capacity && !map.contains_key(&key) {
            if let Some(victim) = map.keys().next().cloned() {
                map.remove(&victim);
            }
        }
        map.insert(
            key,
            Entry {
                secret_fingerprint: fp,
                key: signing_key,
                mac: keyed(&signing_key),
            },
        );
    }

    /// The signing key for the scope, derived from `secret` and cached unless present.
    pub fn get_or_derive(
        &self,
        access_key_id: &str,
        secret: &[u8],
        date: &str,
        region: &str,
        service: &str,
    ) -> [u8; 32] {
        if let Some(k) = self.get(access_key_id, secret, date, region, service) {
            return k;
        }
        let derived = derive_signing_key(secret, date, region, service);
        self.insert(access_key_id, secret, date, region, service, derived);
        derived
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_and_respects_secret() {
        let c = SigningKeyCache::new(32);
        let a = c.get_or_derive("AK", b"s1", "20261128", "us-east-1", "iam");
        assert_eq!(c.len(), 1);
        let b = c.get_or_derive("AK", b"s1", "20261128", "us-east-1", "iam");
        assert_eq!(a, b);
        assert_eq!(c.len(), 1);
        let d = c.get_or_derive("AK", b"s2", "20261128", "us-east-1", "iam");
        assert_ne!(a, d);
        assert_eq!(d, derive_signing_key(b"s2", "20261128", "us-east-1", "iam"));
        c.invalidate("AK");
        assert!(c.is_empty());
    }

    #[test]
    fn bounded() {
        let c = SigningKeyCache::new(16);
        for i in 0..1000 {
            c.get_or_derive(&format!("AK{i}"), b"s", "20261128", "r", "s");
        }
        assert!(c.len() <= 16, "len {}", c.len());
        assert!(!format!("{c:?}").contains('s'.to_string().repeat(2).as_str()));
    }
}
