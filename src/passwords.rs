//! Room passwords with argon2id. Hashing is slow on purpose, so it runs on
//! the blocking pool and only a bounded number run at once: a join storm
//! queues here instead of starving the server.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::domain::RoomPassword;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
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

    pub async fn verify(&self, password: RoomPassword, stored: String) -> anyhow::Result<bool> {
        self.run(move || {
            Ok(Argon2::default()
                .verify_password(password.as_str().as_bytes(), stored.as_str())
                .is_ok())
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
    async fn same_password_gets_a_fresh_salt() {
        let p = Passwords::new(1);
        let a = p.hash(RoomPassword::parse("pw").unwrap()).await.unwrap();
        let b = p.hash(RoomPassword::parse("pw").unwrap()).await.unwrap();
        assert_ne!(a, b);
    }
}
