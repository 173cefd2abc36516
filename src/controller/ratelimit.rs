//! Client-side token buckets, one per credential and action class, so the controller
//! stays under the cloud's documented request limits instead of provoking throttling.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Which bucket a call draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionClass {
    /// run / start / stop / reboot / terminate / modify / reinstall / resize
    Mutating,
    /// describe / list / catalog
    Describe,
}

/// A token bucket refilled continuously at `rate` tokens per second up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate_per_sec: u32, burst: u32) -> Self {
        let burst = burst.max(1) as f64;
        Self {
            rate: rate_per_sec.max(1) as f64,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Take a token, waiting until it is available. A waiter reserves its token up
    /// front (the balance may go negative), so concurrent callers queue fairly.
    pub async fn acquire(&self) {
        let wait = {
            let mut g = self.state.lock().await;
            let now = Instant::now();
            let elapsed = now.duration_since(g.1).as_secs_f64();
            g.0 = (g.0 + elapsed * self.rate).min(self.burst) - 1.0;
            g.1 = now;
            (g.0 < 0.0).then(|| Duration::from_secs_f64(-g.0 / self.rate))
        };
        if let Some(w) = wait {
            tokio::time::sleep(w).await;
        }
    }
}

/// The two buckets of one credential.
#[derive(Debug)]
pub struct Limiter {
    mutating: TokenBucket,
    describe: TokenBucket,
}

impl Limiter {
    pub fn new(mutating_per_sec: u32, describe_per_sec: u32) -> Self {
        Self {
            mutating: TokenBucket::new(mutating_per_sec, mutating_per_sec),
            describe: TokenBucket::new(describe_per_sec, describe_per_sec),
        }
    }

    pub async fn acquire(&self, class: ActionClass) {
        match class {
            ActionClass::Mutating => self.mutating.acquire().await,
            ActionClass::Describe => self.describe.acquire().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_enforces_rate_after_burst() {
        let b = TokenBucket::new(10, 5);
        let start = Instant::now();
        for _ in 0..25 {
            b.acquire().await;
        }
        // 5 from the burst, 20 more at 10/s = 2 s.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1950), "{took:?}");
        assert!(took <= Duration::from_millis(2100), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_share_the_rate() {
        let b = std::sync::Arc::new(TokenBucket::new(20, 1));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..41 {
            let b = b.clone();
            tasks.push(tokio::spawn(async move { b.acquire().await }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let took = start.elapsed();
        // 1 burst token + 40 at 20/s = 2 s
        assert!(took >= Duration::from_millis(1950), "{took:?}");
        assert!(took <= Duration::from_millis(2100), "{took:?}");
    }
}
