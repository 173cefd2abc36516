//! Bounded retry with exponential backoff and full jitter for throttled/transient errors.
//!
//! Used by every provider client around single API calls. Mutations are safe to retry:
//! creates carry an idempotency token, and the rest are either rejected before execution
//! (throttling) or idempotent at the state level (start of a starting instance is a
//! wrong-state error the caller tolerates).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use super::ProviderError;

/// Sees every attempt a client makes, including the ones its own retries absorb, so
/// throttling and flakiness are visible even when the call finally succeeds.
pub trait AttemptObserver: Send + Sync {
    fn attempt(&self, outcome: Result<(), &ProviderError>, took: Duration);
}

/// An optional [`AttemptObserver`], cheap to clone into a client.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn AttemptObserver>>);

impl Observer {
    pub fn new(o: Arc<dyn AttemptObserver>) -> Self {
        Self(Some(o))
    }

    fn attempt(&self, outcome: Result<(), &ProviderError>, took: Duration) {
        if let Some(o) = &self.0 {
            o.attempt(outcome, took);
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = no retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Upper bound of the wait before attempt `attempt + 1` (attempt counts from 1).
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// Full-jitter delay: uniform in [cap/2, cap].
    pub fn delay(&self, attempt: u32, err: &ProviderError) -> Duration {
        if let Some(hint) = err.retry_after {
            return hint.min(self.max_delay);
        }
        let cap = self.backoff_cap(attempt);
        let half = cap / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    /// Run `op` until it succeeds, fails terminally, or attempts run out.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.run_observed(&Observer::default(), op).await
    }

    /// [`run`](Self::run), reporting every attempt to `observer`.
    pub async fn run_observed<T, F, Fut>(
        &self,
        observer: &Observer,
        mut op: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let mut attempt = 1;
        loop {
            let start = Instant::now();
            let r = op().await;
            observer.attempt(r.as_ref().map(|_| ()), start.elapsed());
            match r {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && attempt < self.max_attempts => {
                    let d = self.delay(attempt, &e);
                    tracing::debug!(code = %e.code, attempt, delay_ms = d.as_millis() as u64, "retrying provider call");
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        assert_eq!(p.backoff_cap(1), Duration::from_millis(100));
        assert_eq!(p.backoff_cap(2), Duration::from_millis(200));
        assert_eq!(p.backoff_cap(4), Duration::from_millis(800));
        assert_eq!(p.backoff_cap(5), Duration::from_millis(1000));
        assert_eq!(p.backoff_cap(40), Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_then_gives_up_on_terminal() {
        let p = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = p
            .run(|| async {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    Err(ProviderError::new(
                        ErrorKind::Throttled,
                        "RequestLimitExceeded",
                        "slow down",
                    ))
                } else {
                    Err(ProviderError::new(
                        ErrorKind::InvalidRequest,
                        "InvalidParameterValue",
                        "bad",
                    ))
                }
            })
            .await;
        assert_eq!(r.unwrap_err().code, "InvalidParameterValue");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_after_max_attempts() {
        let p = RetryPolicy::default();
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = p
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(ProviderError::new(
                    ErrorKind::Transient,
                    "InternalError",
                    "boom",
                ))
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), p.max_attempts);
    }

    #[derive(Default)]
    struct Recorder(std::sync::Mutex<Vec<Option<ErrorKind>>>);

    impl AttemptObserver for Recorder {
        fn attempt(&self, outcome: Result<(), &ProviderError>, _took: Duration) {
            self.0.lock().unwrap().push(outcome.err().map(|e| e.kind));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn observer_sees_every_attempt_including_absorbed_ones() {
        let p = RetryPolicy::default();
        let rec = Arc::new(Recorder::default());
        let obs = Observer::new(rec.clone());
        let calls = AtomicU32::new(0);
        let r = p
            .run_observed(&obs, || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(ProviderError::new(
                        ErrorKind::Throttled,
                        "RequestLimitExceeded",
                        "slow down",
                    )),
                    1 => Err(ProviderError::new(ErrorKind::Transient, "Timeout", "late")),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(
            *rec.0.lock().unwrap(),
            vec![Some(ErrorKind::Throttled), Some(ErrorKind::Transient), None]
        );
    }
}
