//! Room passwords with argon2id. Hashing is slow on purpose, so it runs on
//! the blocking pool and only a bounded number run at once: a join storm
//! queues here instead of starving the server.
//!
//! Every attendee of a room types the same password, so once a password has
//! verified against a stored hash, a keyed SHA-256 of it is remembered in
//! memory and the next attendee with that password is let in without a
//! second argon2 run (a join storm costs one hash, not one per join). Wrong
//! passwords always pay the full argon2 price. The stored hash stays argon2
//! (what protects a stolen database); the key is random per process, and
//! the memory is bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::domain::RoomPassword;

/// Verified passwords remembered at most (one per stored hash); past this
/// the memory starts over.
const VERIFIED_MAX: usize = 10_000;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    verified: Arc<Verified>,
}

/// Stored hash -> keyed digest of the password that last matched it.
struct Verified {
    key: [u8; 32],
    map: Mutex<HashMap<String, [u8; 32]>>,
}

impl Verified {
    fn digest(&self, password: &RoomPassword) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(password.as_str().as_bytes());
        h.finalize().into()
    }

    fn matches(&self, stored: &str, digest: &[u8; 32]) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(stored)
            .is_some_and(|known| bool::from(known.ct_eq(digest)))
    }

    fn remember(&self, stored: String, digest: [u8; 32]) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= VERIFIED_MAX {
            map.clear();
        }
        map.insert(stored, digest);
    }
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            verified: Arc::new(Verified {
                key: crate::secrets::random_bytes(),
                map: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub async fn hash(&self, password: RoomPassword) -> anyhow::Result<String> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_str().as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
        })
        .await
    }

    /// Whether `password` is the one last verified against `stored`: a
    /// lookup, no hashing.
    pub fn remembered(&self, password: &RoomPassword, stored: &str) -> bool {
        self.verified
            .matches(stored, &self.verified.digest(password))
    }

    pub async fn verify(&self, password: RoomPassword, stored: String) -> anyhow::Result<bool> {
        let digest = self.verified.digest(&password);
        if self.verified.matches(&stored, &digest) {
            return Ok(true);
        }
        let verified = self.verified.clone();
        self.run(move || {
            let ok = Argon2::default()
                .verify_password(password.as_str().as_bytes(), stored.as_str())
                .is_ok();
            if ok {
                verified.remember(stored, digest);
            }
            Ok(ok)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(work).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn right_password_verifies_and_wrong_does_not() {
        let p = Passwords::new(2);
        let stored = p
            .hash(RoomPassword::parse("s3cret").unwrap())
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(!stored.contains("s3cret"));
        assert!(p
            .verify(RoomPassword::parse("s3cret").unwrap(), stored.clone())
            .await
            .unwrap());
        assert!(!p
            .verify(RoomPassword::parse("S3cret").unwrap(), stored)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_remembered_password_still_refuses_others() {
        let p = Passwords::new(1);
        let pw = |s: &str| RoomPassword::parse(s).unwrap();
        let stored = p.hash(pw("open sesame")).await.unwrap();
        let other = p.hash(pw("open sesame")).await.unwrap();
        // Twice: the second answer comes from memory and must agree.
        for _ in 0..2 {
            assert!(p.verify(pw("open sesame"), stored.clone()).await.unwrap());
            assert!(!p.verify(pw("open sesamE"), stored.clone()).await.unwrap());
            assert!(!p.verify(pw("open"), stored.clone()).await.unwrap());
        }
        // Remembered per stored hash: another room's hash is checked on its own.
        assert!(!p.verify(pw("wrong"), other.clone()).await.unwrap());
        assert!(p.verify(pw("open sesame"), other).await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_a_fresh_salt() {
        let p = Passwords::new(1);
        let a = p.hash(RoomPassword::parse("pw").unwrap()).await.unwrap();
        let b = p.hash(RoomPassword::parse("pw").unwrap()).await.unwrap();
        assert_ne!(a, b);
    }
}
