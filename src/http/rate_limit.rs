//! governor limits, keyed by what is being protected.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Limits;
use crate::http::error::ApiError;

pub struct RateLimits {
    /// Room creation per client IP.
    pub create_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Join attempts per client IP.
    pub join_ip: DefaultKeyedRateLimiter<IpAddr>,
    /// Password attempts the remembered digest could not admit (wrong
    /// ones, and a room's first right one), per client IP and per room.
    pub passwords: PasswordBrake,
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
            passwords: PasswordBrake::new(limits),
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
        self.passwords.forget_idle();
        self.token.retain_recent();
    }
}

/// The guessing brake on room passwords. Only attempts that the remembered
/// digest of the right password cannot admit take a cell, so a class or
/// an office typing the right password behind one address is never
/// throttled; wrong ones are, per address and per room. An address that
/// goes on guessing past its budget (four budgets' worth of refused
/// attempts in a minute) is then shut out of password joins altogether
/// for a minute, right password or not: otherwise a throttled guesser
/// would still learn, from which guesses get in, which one is right.
pub struct PasswordBrake {
    ip: DefaultKeyedRateLimiter<IpAddr>,
    room: DefaultKeyedRateLimiter<i64>,
    refused: DefaultKeyedRateLimiter<IpAddr>,
    shut: Mutex<HashMap<IpAddr, Instant>>,
}

const SHUT_FOR: Duration = Duration::from_secs(60);

impl PasswordBrake {
    fn new(limits: &Limits) -> Self {
        Self {
            ip: RateLimiter::keyed(per_minute(limits.password_per_minute)),
            room: RateLimiter::keyed(per_minute(limits.room_password_per_minute)),
            refused: RateLimiter::keyed(per_minute(limits.password_per_minute.saturating_mul(4))),
            shut: Mutex::new(HashMap::new()),
        }
    }

    /// Refuses an address that was shut out; asked before anything else.
    pub fn admit(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = ip else { return Ok(()) };
        let shut = self.shut.lock().unwrap_or_else(|e| e.into_inner());
        match shut.get(&ip) {
            Some(until) if *until > Instant::now() => {
                crate::metrics::rate_limited("http");
                Err(ApiError::RateLimited {
                    retry_after: *until - Instant::now(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Takes a cell for an attempt that needs the full check.
    pub fn attempt(
        &self,
        limits: &RateLimits,
        ip: Option<IpAddr>,
        room: i64,
    ) -> Result<(), ApiError> {
        let result = match ip {
            Some(ip) => limits.check(&self.ip, &ip),
            None => Ok(()),
        }
        .and_then(|()| limits.check(&self.room, &room));
        if let (Err(_), Some(ip)) = (&result, ip) {
            if self.refused.check_key(&ip).is_err() {
                tracing::info!("password guessing: address shut out for a minute");
                let mut shut = self.shut.lock().unwrap_or_else(|e| e.into_inner());
                shut.insert(ip, Instant::now() + SHUT_FOR);
            }
        }
        result
    }

    fn forget_idle(&self) {
        self.ip.retain_recent();
        self.room.retain_recent();
        self.refused.retain_recent();
        let now = Instant::now();
        let mut shut = self.shut.lock().unwrap_or_else(|e| e.into_inner());
        shut.retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        crate::config::Config::from_args(["--password-per-minute", "3", "--create-per-minute", "3"])
            .unwrap()
            .limits
    }

    #[test]
    fn refuses_after_the_quota_and_names_a_wait() {
        let l = RateLimits::new(&limits());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            l.check(&l.create_ip, &ip).unwrap();
        }
        match l.check(&l.create_ip, &ip) {
            Err(ApiError::RateLimited { retry_after }) => {
                assert!(retry_after.as_secs_f64() > 0.0 && retry_after.as_secs() <= 20)
            }
            other => panic!("expected rate_limited, got {other:?}"),
        }
        // Another address has its own budget.
        l.check(&l.create_ip, &"192.0.2.2".parse().unwrap())
            .unwrap();
    }

    #[test]
    fn a_guesser_past_four_budgets_is_shut_out() {
        let l = RateLimits::new(&limits());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let brake = &l.passwords;
        for _ in 0..3 {
            brake.attempt(&l, Some(ip), 1).unwrap();
        }
        // Refused attempts 1..=12 throttle; the 13th shuts the address out.
        for _ in 0..12 {
            assert!(brake.attempt(&l, Some(ip), 1).is_err());
            brake.admit(Some(ip)).unwrap();
        }
        assert!(brake.attempt(&l, Some(ip), 1).is_err());
        assert!(matches!(
            brake.admit(Some(ip)),
            Err(ApiError::RateLimited { .. })
        ));
        brake.admit(Some("192.0.2.2".parse().unwrap())).unwrap();
    }
}
