//! AWS-shaped identifiers: unique ids (`AIDA…`, `AGPA…`), access key ids (`AKIA…`),
//! secrets (40 characters) and request ids.

use crate::crypto::{fill_random, CryptoError};

/// Characters AWS uses in unique ids and access key ids.
const UPPER_ALNUM: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Characters of a secret access key (base64 alphabet, as AWS's).
const SECRET_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_from(alphabet: &[u8], n: usize) -> Result<String, CryptoError> {
    let mut raw = vec![0u8; n];
    fill_random(&mut raw)?;
    // Both alphabets have a power-of-two size, so the modulo is unbiased.
    Ok(raw
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect())
}

/// `prefix` + random characters, 21 characters in all (AWS unique ids).
pub fn unique_id(prefix: &str) -> Result<String, CryptoError> {
    Ok(format!(
        "{prefix}{}",
        random_from(UPPER_ALNUM, 21 - prefix.len())?
    ))
}

/// `prefix` + characters derived from `seed`, 21 characters in all: the same seed
/// always gives the same id. For AWS-managed policies, whose ids (`ANPA…`) no source
/// publishes: this server derives each from the policy's ARN (FNV-1a, twice, 128 bits
/// → base32), so an id is stable across restarts, versions and nodes — it is not AWS's.
pub fn derived_id(prefix: &str, seed: &str) -> String {
    fn fnv1a(seed: &str, basis: u64) -> u64 {
        seed.bytes().fold(basis, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
    let hi = fnv1a(seed, 0xcbf2_9ce4_8422_2325);
    let lo = fnv1a(seed, hi ^ 0x9e37_79b9_7f4a_7c15);
    let bits = (u128::from(hi) << 64) | u128::from(lo);
    let n = 21usize.saturating_sub(prefix.len());
    let chars: String = (0..n)
        .map(|i| {
            let idx = ((bits >> ((i * 5) % 125)) & 31) as usize;
            UPPER_ALNUM.get(idx).map_or('A', |c| *c as char)
        })
        .collect();
    format!("{prefix}{chars}")
}

/// A 20-character access key id starting `AKIA` (long-term) or `ASIA` (temporary).
pub fn access_key_id(prefix: &str) -> Result<String, CryptoError> {
    Ok(format!(
        "{prefix}{}",
        random_from(UPPER_ALNUM, 20 - prefix.len())?
    ))
}

/// A 40-character secret access key.
pub fn secret_access_key() -> Result<String, CryptoError> {
    random_from(SECRET_CHARS, 40)
}

/// A request id in AWS's UUID form (8-4-4-4-12 lowercase hex digits). Request ids need
/// to be unique, not secret: each thread seeds a generator from the system's random
/// source once, and every id is a counter under that 128-bit key, mixed by
/// SplitMix64's finalizer (a bijection, so a thread repeats no id within 2^64; two
/// threads collide only if their random keys nearly do). No system call, one
/// allocation.
pub fn request_id() -> String {
    use std::cell::Cell;
    thread_local! {
        static GEN: Cell<Option<(u64, u64, u64)>> = const { Cell::new(None) };
    }
    let (k0, k1, n) = GEN.with(|g| {
        let (k0, k1, n) = g.get().unwrap_or_else(|| {
            let mut seed = [0u8; 16];
            if fill_random(&mut seed).is_err() {
                // Not a secret: the clock still tells threads and restarts apart.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                seed = nanos.to_le_bytes();
            }
            let (a, b) = seed.split_at(8);
            let word = |x: &[u8]| u64::from_le_bytes(x.try_into().unwrap_or([0x5a; 8]));
            (word(a), word(b), 0)
        });
        g.set(Some((k0, k1, n.wrapping_add(1))));
        (k0, k1, n)
    });
    let hi = mix64(k0.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
    let lo = mix64(k1 ^ hi.rotate_left(17) ^ n);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let digits = (u128::from(hi) << 64) | u128::from(lo);
    let mut d = 0;
    for (i, slot) in out.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        *slot = HEX[((digits >> (124 - 4 * d)) & 15) as usize];
        d += 1;
    }
    std::str::from_utf8(&out)
        .map(String::from)
        .unwrap_or_default()
}

/// SplitMix64's finalizer: a bijection of `u64` with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A random 12-digit account id (not starting with 0).
pub fn account_id() -> Result<String, CryptoError> {
    let mut raw = [0u8; 12];
    fill_random(&mut raw)?;
    Ok(raw
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let d = if i == 0 { 1 + b % 9 } else { b % 10 };
            (b'0' + d) as char
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let u = unique_id("AIDA").unwrap();
        assert_eq!(u.len(), 21);
        assert!(
            u.starts_with("AIDA")
                && u.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        let k = access_key_id("AKIA").unwrap();
        assert_eq!(k.len(), 20);
        assert!(k.starts_with("AKIA"));
        assert_eq!(secret_access_key().unwrap().len(), 40);
        let a = account_id().unwrap();
        assert_eq!(a.len(), 12);
        assert!(a.bytes().all(|c| c.is_ascii_digit()) && !a.starts_with('0'));
        assert_ne!(unique_id("AIDA").unwrap(), u);
        let d = derived_id("ANPA", "arn:aws:iam::aws:policy/ReadOnlyAccess");
        assert_eq!(d.len(), 21);
        assert!(d.starts_with("ANPA"));
        assert_eq!(
            d,
            derived_id("ANPA", "arn:aws:iam::aws:policy/ReadOnlyAccess")
        );
        assert_ne!(
            d,
            derived_id("ANPA", "arn:aws:iam::aws:policy/AdministratorAccess")
        );
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let ids: Vec<String> = (0..1000).map(|_| request_id()).collect();
        for id in &ids {
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert!(id
                .bytes()
                .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        // Another thread has its own key: its ids are not this thread's.
        let other = std::thread::spawn(|| (0..1000).map(|_| request_id()).collect::<Vec<_>>())
            .join()
            .unwrap();
        assert!(other.iter().all(|id| !distinct.contains(id)));
    }
}
