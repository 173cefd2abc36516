//! Per account, per action token buckets (the clouds' documented request frequency
//! limits). Buckets refill continuously at `rate` tokens per second and hold at most
//! `rate` tokens, i.e. one second of burst.

use std::collections::HashMap;
use std::time::Instant;

use crate::config::Provider;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: f64,
}

#[derive(Debug)]
pub struct RateLimiter {
    origin: Instant,
    buckets: HashMap<(Provider, String, String), Bucket>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            origin: Instant::now(),
            buckets: HashMap::new(),
        }
    }
}

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Take one token for `(provider, account, action)` at `rate` requests per second.
    /// Returns false when the request must be throttled.
    pub fn try_acquire(
        &mut self,
        provider: Provider,
        account: &str,
        action: &str,
        rate: f64,
    ) -> bool {
        let now = self.origin.elapsed().as_secs_f64();
        self.try_acquire_at(provider, account, action, rate, now)
    }

    /// Same as [`RateLimiter::try_acquire`] at an explicit time (seconds on any monotonic scale).
    pub fn try_acquire_at(
        &mut self,
        provider: Provider,
        account: &str,
        action: &str,
        rate: f64,
        now: f64,
    ) -> bool {
        if rate.is_infinite() && rate > 0.0 {
            return true;
        }
        if rate.is_nan() || rate <= 0.0 {
            return false;
        }
        let capacity = rate.max(1.0);
        let b = self
            .buckets
            .entry((provider, account.to_string(), action.to_string()))
            .or_insert(Bucket {
                tokens: capacity,
                last: now,
            });
        let elapsed = (now - b.last).max(0.0);
        b.tokens = (b.tokens + elapsed * rate).min(capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn clear(&mut self) {
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_of_one_second_then_steady_rate() {
        let mut rl = RateLimiter::new();
        let p = Provider::Tencent;
        let mut ok = 0;
        for _ in 0..25 {
            if rl.try_acquire_at(p, "a", "RunInstances", 10.0, 0.0) {
                ok += 1;
            }
        }
        assert_eq!(ok, 10, "burst is one second worth of tokens");
        assert!(!rl.try_acquire_at(p, "a", "RunInstances", 10.0, 0.05));
        assert!(rl.try_acquire_at(p, "a", "RunInstances", 10.0, 0.1));
        assert!(!rl.try_acquire_at(p, "a", "RunInstances", 10.0, 0.1));
        // Over 10 simulated seconds at 40 attempts/s, about 10/s pass.
        let mut passed = 0;
        for step in 0..400 {
            let t = 1.0 + step as f64 * 0.025;
            if rl.try_acquire_at(p, "a", "RunInstances", 10.0, t) {
                passed += 1;
            }
        }
        assert!((100..=111).contains(&passed), "passed {passed}");
    }

    #[test]
    fn buckets_are_per_account_and_action() {
        let mut rl = RateLimiter::new();
        let p = Provider::Tencent;
        for _ in 0..20 {
            assert!(rl.try_acquire_at(p, "a", "DescribeRegions", 20.0, 0.0));
        }
        assert!(!rl.try_acquire_at(p, "a", "DescribeRegions", 20.0, 0.0));
        assert!(rl.try_acquire_at(p, "b", "DescribeRegions", 20.0, 0.0));
        assert!(rl.try_acquire_at(p, "a", "DescribeZones", 20.0, 0.0));
        assert!(rl.try_acquire_at(Provider::Huawei, "a", "DescribeRegions", 20.0, 0.0));
    }

    #[test]
    fn fractional_rates_still_allow_one_request() {
        let mut rl = RateLimiter::new();
        assert!(rl.try_acquire_at(Provider::Tencent, "a", "X", 0.5, 0.0));
        assert!(!rl.try_acquire_at(Provider::Tencent, "a", "X", 0.5, 1.0));
        assert!(rl.try_acquire_at(Provider::Tencent, "a", "X", 0.5, 2.1));
    }
}
