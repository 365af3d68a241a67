//! Bearer tokens, room keys and slugs: random from the OS. Tokens and keys
//! are stored only as SHA-256 hashes (they carry 144+ bits, so a fast hash
//! is enough) and compared in constant time; a slug is an address, kept in
//! clear.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::slug::{RANDOM_ALPHABET, RANDOM_LEN};

/// 256 bits: a participant's bearer token.
pub const TOKEN_BYTES: usize = 32;
/// 144 bits: host and moderator keys (the contract asks for at least 128).
pub const KEY_BYTES: usize = 18;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // Without an OS RNG no secret can be made safely: stop rather than go on.
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

pub fn new_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>())
}

pub fn new_key() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<KEY_BYTES>())
}

/// Indices into the slug alphabet, uniformly distributed (rejection sampling
/// avoids the bias of a plain modulo).
pub fn slug_random_part() -> [u8; RANDOM_LEN] {
    let n = RANDOM_ALPHABET.len();
    let limit = (256 / n * n) as u8;
    let mut out = [0u8; RANDOM_LEN];
    let mut filled = 0;
    while filled < RANDOM_LEN {
        for b in random_bytes::<32>() {
            if b < limit && filled < RANDOM_LEN {
                out[filled] = b % n as u8;
                filled += 1;
            }
        }
    }
    out
}

pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether `secret` hashes to `stored`, without leaking where they differ.
/// Two secrets compared in constant time.
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub fn matches(secret: &str, stored: &[u8]) -> bool {
    bool::from(hash(secret).as_slice().ct_eq(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_keys_are_long_url_safe_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(new_key().len(), 24);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn matches_only_its_own_hash() {
        let t = new_token();
        let h = hash(&t);
        assert!(matches(&t, &h));
        assert!(!matches(&new_token(), &h));
        assert!(!matches(&t, &h[..16]));
    }

    #[test]
    fn slug_random_part_stays_in_alphabet() {
        for _ in 0..100 {
            assert!(slug_random_part()
                .iter()
                .all(|&i| usize::from(i) < RANDOM_ALPHABET.len()));
        }
    }
}
