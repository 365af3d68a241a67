//! governor limits, keyed by what is being protected.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Limits;
use crate::error::ApiError;

pub struct RateLimits {
    /// Room creation per client IP.
    pub create_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Join attempts per client IP.
    pub join_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Password attempts per client IP: the guessing brake.
    pub password_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Password attempts per room, from all IPs: caps distributed guessing.
    pub password_room: DefaultKeyedRateLimiter<i64>,
    /// Requests per participant token.
    pub token: DefaultKeyedRateLimiter<[u8; 32]>,
    clock: DefaultClock,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    pub fn new(limits: &Limits) -> Self {
        let per_second = NonZeroU32::new(limits.token_per_second).unwrap_or(NonZeroU32::MIN);
        Self {
            create_ip: RateLimiter::keyed(per_minute(limits.create_per_minute)),
            join_ip: RateLimiter::keyed(per_minute(limits.join_per_minute)),
            password_ip: RateLimiter::keyed(per_minute(limits.password_per_minute)),
            password_room: RateLimiter::keyed(per_minute(limits.room_password_per_minute)),
            // A burst of two seconds' worth lets a page load fire its requests.
            token: RateLimiter::keyed(
                Quota::per_second(per_second)
                    .allow_burst(per_second.saturating_mul(NonZeroU32::new(2).unwrap())),
            ),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one cell for `key`, or says when to come back.
    pub fn check<K: Hash + Eq + Clone>(
        &self,
        limiter: &DefaultKeyedRateLimiter<K>,
        key: &K,
    ) -> Result<(), ApiError> {
        limiter.check_key(key).map_err(|not_until| {
            tracing::debug!("rate limit refused a request");
            crate::metrics::rate_limited("http");
            ApiError::RateLimited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            }
        })
    }

    /// Forgets keys whose buckets are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.create_ip.retain_recent();
        self.join_ip.retain_recent();
        self.password_ip.retain_recent();
        self.password_room.retain_recent();
        self.token.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        crate::config::Config::from_args(["--password-per-minute", "3"])
            .unwrap()
            .limits
    }

    #[test]
    fn refuses_after_the_quota_and_names_a_wait() {
        let l = RateLimits::new(&limits());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            l.check(&l.password_ip, &ip).unwrap();
        }
        match l.check(&l.password_ip, &ip) {
            Err(ApiError::RateLimited { retry_after }) => {
                assert!(retry_after.as_secs_f64() > 0.0 && retry_after.as_secs() <= 20)
            }
            other => panic!("expected rate_limited, got {other:?}"),
        }
        // Another address has its own budget.
        l.check(&l.password_ip, &"192.0.2.2".parse().unwrap())
            .unwrap();
    }
}
