//! The fast path's caches (`crate::fast`).
//!
//! - [`ObjectCache`]: what the current version of a key answers, by bucket and key,
//!   valid under its bucket's generation. Every object write goes through
//!   [`crate::store::CachedStore`], which bumps the bucket's generation after the
//!   write (committed or not); an entry read from the database before a bump is never
//!   stored after it ([`ObjectCache::generation`] is read before the database read,
//!   [`ObjectCache::insert`] refuses a stale one), and a bump drops the bucket's
//!   entries. Only sound where this node is the only writer (SQLite).
//! - [`BodyCache`]: the bytes of small blobs by blob id. Blobs are written once under
//!   a fresh random id and never rewritten (`blobs.rs`), so an entry never goes stale;
//!   a removed blob's entry is merely unreachable (no object names it any more).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

struct BucketEntries<V> {
    generation: u64,
    entries: HashMap<String, V>,
}

/// Entries by bucket and key, each bucket with a generation (see the module docs).
pub(crate) struct ObjectCache<V> {
    buckets: RwLock<HashMap<String, BucketEntries<V>>>,
    /// The source of generations: unique across buckets, so a bucket deleted and
    /// created again never meets an old generation.
    next: AtomicU64,
    /// At most this many entries in all (past it, everything is dropped).
    capacity: usize,
    len: AtomicU64,
}

impl<V: Clone> ObjectCache<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        ObjectCache {
            buckets: RwLock::new(HashMap::new()),
            next: AtomicU64::new(1),
            capacity,
            len: AtomicU64::new(0),
        }
    }

    /// The bucket's current generation: read it before reading what is inserted.
    pub(crate) fn generation(&self, bucket: &str) -> u64 {
        read(&self.buckets).get(bucket).map_or(0, |b| b.generation)
    }

    pub(crate) fn get(&self, bucket: &str, key: &str) -> Option<V> {
        read(&self.buckets)
            .get(bucket)
            .and_then(|b| b.entries.get(key))
            .cloned()
    }

    /// Stores `value`, read after [`ObjectCache::generation`] returned `generation`;
    /// nothing if the bucket's generation moved since.
    pub(crate) fn insert(&self, bucket: &str, key: &str, generation: u64, value: V) {
        let mut buckets = write(&self.buckets);
        if buckets.get(bucket).map_or(0, |b| b.generation) != generation {
            return;
        }
        if self.len.load(Ordering::Relaxed) >= self.capacity as u64 {
            for b in buckets.values_mut() {
                b.entries.clear();
            }
            self.len.store(0, Ordering::Relaxed);
        }
        let b = buckets
            .entry(bucket.to_string())
            .or_insert_with(|| BucketEntries {
                generation,
                entries: HashMap::new(),
            });
        if b.entries.insert(key.to_string(), value).is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// After a write to the bucket (committed or not): its entries go, and a value
    /// read before now is not stored.
    pub(crate) fn bump(&self, bucket: &str) {
        let mut buckets = write(&self.buckets);
        let generation = self.next.fetch_add(1, Ordering::Relaxed);
        let b = buckets
            .entry(bucket.to_string())
            .or_insert_with(|| BucketEntries {
                generation,
                entries: HashMap::new(),
            });
        b.generation = generation;
        let dropped = b.entries.len() as u64;
        b.entries.clear();
        self.len.fetch_sub(
            dropped.min(self.len.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
    }
}

/// Small blobs' bytes by blob id, at most `max_total` bytes in all (past it, an
/// arbitrary half of the entries goes).
pub(crate) struct BodyCache {
    entries: RwLock<HashMap<String, Bytes>>,
    total: AtomicU64,
    max_total: u64,
}

/// The largest blob the body cache keeps (and the fast path answers).
pub(crate) const MAX_CACHED_BODY: u64 = 64 * 1024;

impl BodyCache {
    pub(crate) fn new(max_total: u64) -> Self {
        BodyCache {
            entries: RwLock::new(HashMap::new()),
            total: AtomicU64::new(0),
            max_total,
        }
    }

    pub(crate) fn get(&self, blob_id: &str) -> Option<Bytes> {
        read(&self.entries).get(blob_id).cloned()
    }

    pub(crate) fn insert(&self, blob_id: &str, bytes: Bytes) {
        let len = bytes.len() as u64;
        if len > MAX_CACHED_BODY || len > self.max_total {
            return;
        }
        let mut entries = write(&self.entries);
        if self.total.load(Ordering::Relaxed) + len > self.max_total {
            let mut freed = 0u64;
            let mut keep = true;
            entries.retain(|_, b| {
                keep = !keep;
                if !keep {
                    freed += b.len() as u64;
                }
                keep
            });
            self.total.fetch_sub(freed, Ordering::Relaxed);
        }
        if let Some(old) = entries.insert(blob_id.to_string(), bytes) {
            self.total.fetch_sub(old.len() as u64, Ordering::Relaxed);
        }
        self.total.fetch_add(len, Ordering::Relaxed);
    }

    #[cfg(test)]
    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bump_drops_the_bucket_and_refuses_stale_inserts() {
        let c = ObjectCache::<u32>::new(100);
        let g = c.generation("b");
        c.insert("b", "k", g, 1);
        c.insert("other", "k", c.generation("other"), 7);
        assert_eq!(c.get("b", "k"), Some(1));
        // A reader read the generation, then the database; a write committed and
        // bumped before the reader inserts: the value read is not stored.
        let before = c.generation("b");
        c.bump("b");
        assert_eq!(c.get("b", "k"), None);
        c.insert("b", "k", before, 2);
        assert_eq!(c.get("b", "k"), None);
        let now = c.generation("b");
        assert_ne!(now, before);
        c.insert("b", "k", now, 3);
        assert_eq!(c.get("b", "k"), Some(3));
        // Other buckets are untouched.
        assert_eq!(c.get("other", "k"), Some(7));
        // A bucket never seen: a bump before the insert refuses it too.
        let g = c.generation("new");
        c.bump("new");
        c.insert("new", "k", g, 4);
        assert_eq!(c.get("new", "k"), None);
    }

    #[test]
    fn the_object_cache_is_bounded() {
        let c = ObjectCache::<u32>::new(3);
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            c.insert("b", k, 0, i as u32);
        }
        assert_eq!(c.get("b", "a"), None);
        assert_eq!(c.get("b", "d"), Some(3));
        assert!(c.len.load(Ordering::Relaxed) <= 3);
    }

    #[test]
    fn the_body_cache_is_bounded() {
        let c = BodyCache::new(10_000);
        let big = Bytes::from(vec![0u8; (MAX_CACHED_BODY + 1) as usize]);
        c.insert("big", big);
        assert_eq!(c.get("big"), None);
        for i in 0..30 {
            c.insert(&format!("id{i}"), Bytes::from(vec![i as u8; 1000]));
            assert!(c.total() <= 10_000);
        }
        assert_eq!(c.get("id29").map(|b| b.len()), Some(1000));
        c.insert("id29", Bytes::from_static(b"x"));
        assert!(c.total() <= 10_000);
    }
}
