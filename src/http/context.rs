//! What every handler shares: the pool, password hashing, rate limits and
//! the settings that shape responses.

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::web;
use diesel::PgConnection;

use super::rate_limit::RateLimits;
use crate::config::Config;
use crate::error::ApiError;
use crate::live::Hub;
use crate::passwords::Passwords;
use crate::store::PgPool;

pub struct AppContext {
    pub pool: PgPool,
    pub hub: Hub,
    pub passwords: Passwords,
    pub limits: RateLimits,
    pub public_url: String,
    pub trusted_proxies: Vec<IpAddr>,
    pub default_max_participants: u32,
    pub ws_sends_per_second: u32,
    pub ws_ping: std::time::Duration,
}

impl AppContext {
    pub fn new(config: &Config, pool: PgPool, public_url: String) -> Arc<Self> {
        Arc::new(Self {
            hub: Hub::new(pool.clone()),
            pool,
            passwords: Passwords::new(config.hash_concurrency()),
            limits: RateLimits::new(&config.limits),
            public_url: public_url.trim_end_matches('/').to_owned(),
            trusted_proxies: config.trusted_proxy.clone(),
            default_max_participants: config.limits.default_max_participants,
            ws_sends_per_second: config.limits.ws_sends_per_second.max(1),
            ws_ping: std::time::Duration::from_secs(config.limits.ws_ping_secs.max(1)),
        })
    }

    /// Runs blocking database work on actix's blocking pool.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await
        .map_err(ApiError::internal)?
    }
}
