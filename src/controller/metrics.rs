//! Prometheus metrics (prometheus-client, as kube-rs's controller-rs does).

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub kind: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub cloud: String,
    pub action: String,
    /// `ok` or the error class (Throttled, Transient, Auth, ...).
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AttemptLabels {
    pub cloud: String,
    /// `ok` or the error class of this one HTTP attempt.
    pub result: String,
}

/// The cloud (`tencent`, `alibaba`, `huawei`): the one label name for it on every metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloudLabels {
    pub cloud: String,
}

/// Call durations: by cloud and action.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallDurationLabels {
    pub cloud: String,
    pub action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

/// All metrics of the controller.
pub struct Metrics {
    pub registry: Mutex<Registry>,
    pub reconciles: Family<ReconcileLabels, Counter>,
    pub reconcile_duration: Family<KindLabels, Histogram>,
    pub provider_calls: Family<CallLabels, Counter>,
    pub provider_attempts: Family<AttemptLabels, Counter>,
    pub provider_call_duration: Family<CallDurationLabels, Histogram>,
    pub throttled: Family<CloudLabels, Counter>,
    pub instances: Family<StateLabels, Gauge>,
    pub status_writes: Family<KindLabels, Counter>,
    pub poll_rounds: Counter,
    /// 1 while this process holds the leader lease (or runs without leader election).
    pub leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cloudinstance");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        let reconcile_duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        let provider_calls = Family::<CallLabels, Counter>::default();
        let provider_attempts = Family::<AttemptLabels, Counter>::default();
        let provider_call_duration =
            Family::<CallDurationLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 14))
            });
        let throttled = Family::<CloudLabels, Counter>::default();
        let instances = Family::<StateLabels, Gauge>::default();
        let status_writes = Family::<KindLabels, Counter>::default();
        let poll_rounds = Counter::default();
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica is the active leader",
            leader.clone(),
        );
        registry.register(
            "reconcile",
            "Reconciliations by kind and result",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Reconciliation duration by kind",
            reconcile_duration.clone(),
        );
        registry.register(
            "provider_calls",
            "Cloud API calls by cloud, action and final result (after the client's retries)",
            provider_calls.clone(),
        );
        registry.register(
            "provider_attempts",
            "HTTP attempts against cloud APIs by cloud and result, counting each retry",
            provider_attempts.clone(),
        );
        registry.register(
            "provider_call_duration_seconds",
            "Cloud API call duration by cloud",
            provider_call_duration.clone(),
        );
        registry.register(
            "provider_throttled",
            "Attempts rejected by the cloud's rate limit (including retried ones), by cloud",
            throttled.clone(),
        );
        registry.register(
            "instances",
            "Managed instances by cloud-neutral state",
            instances.clone(),
        );
        registry.register(
            "status_writes",
            "Status subresource writes (server-side apply) by kind",
            status_writes.clone(),
        );
        registry.register(
            "poll_rounds",
            "Batched status poll rounds",
            poll_rounds.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            reconciles,
            reconcile_duration,
            provider_calls,
            provider_attempts,
            provider_call_duration,
            throttled,
            instances,
            status_writes,
            poll_rounds,
            leader,
        }
    }
}

impl Metrics {
    pub fn reconciled(&self, kind: &str, ok: bool, took: Duration) {
        self.reconciles
            .get_or_create(&ReconcileLabels {
                kind: kind.into(),
                result: if ok { "ok" } else { "error" }.into(),
            })
            .inc();
        self.reconcile_duration
            .get_or_create(&KindLabels { kind: kind.into() })
            .observe(took.as_secs_f64());
    }

    pub fn provider_call(&self, cloud: &str, action: &str, result: &str, took: Duration) {
        self.provider_calls
            .get_or_create(&CallLabels {
                cloud: cloud.into(),
                action: action.into(),
                result: result.into(),
            })
            .inc();
        self.provider_call_duration
            .get_or_create(&CallDurationLabels {
                cloud: cloud.into(),
                action: action.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// One HTTP attempt (the client's retries make several per call).
    pub fn provider_attempt(&self, cloud: &str, result: &str) {
        self.provider_attempts
            .get_or_create(&AttemptLabels {
                cloud: cloud.into(),
                result: result.into(),
            })
            .inc();
        if result == "Throttled" {
            self.throttled
                .get_or_create(&CloudLabels {
                    cloud: cloud.into(),
                })
                .inc();
        }
    }

    pub fn status_written(&self, kind: &str) {
        self.status_writes
            .get_or_create(&KindLabels { kind: kind.into() })
            .inc();
    }

    /// Text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let reg = self.registry.lock().expect("metrics registry lock");
        prometheus_client::encoding::text::encode(&mut out, &reg).expect("encode metrics");
        out
    }
}

/// Feeds a client's per-attempt outcomes into [`Metrics`].
pub struct AttemptMetrics {
    pub metrics: std::sync::Arc<Metrics>,
    pub cloud: String,
}

impl crate::provider::retry::AttemptObserver for AttemptMetrics {
    fn attempt(&self, outcome: Result<(), &crate::provider::ProviderError>, _took: Duration) {
        let result = match outcome {
            Ok(()) => "ok",
            Err(e) => e.kind.as_str(),
        };
        self.metrics.provider_attempt(&self.cloud, result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::retry::{Observer, RetryPolicy};
    use crate::provider::{ErrorKind, ProviderError};
    use std::sync::Arc;

    #[test]
    fn every_per_cloud_metric_labels_the_cloud_cloud() {
        let m = Metrics::default();
        m.provider_call("alibaba", "StopInstances", "ok", Duration::from_millis(3));
        m.provider_attempt("alibaba", "Throttled");
        let text = m.encode();
        for line in text
            .lines()
            .filter(|l| l.starts_with("cloudinstance_provider"))
        {
            assert!(line.contains("cloud=\"alibaba\""), "{line}");
            assert!(!line.contains("kind="), "{line}");
        }
        assert!(
            text.contains(
                "cloudinstance_provider_call_duration_seconds_count{cloud=\"alibaba\",action=\"StopInstances\"} 1"
            ),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retried_throttling_is_counted_per_attempt() {
        let metrics = Arc::new(Metrics::default());
        let obs = Observer::new(Arc::new(AttemptMetrics {
            metrics: metrics.clone(),
            cloud: "tencent".into(),
        }));
        let mut n = 0;
        let r = RetryPolicy::default()
            .run_observed(&obs, || {
                n += 1;
                let fail = n <= 2;
                async move {
                    if fail {
                        Err(ProviderError::new(
                            ErrorKind::Throttled,
                            "RequestLimitExceeded",
                            "slow down",
                        ))
                    } else {
                        Ok(())
                    }
                }
            })
            .await;
        assert!(r.is_ok());
        metrics.provider_call("tencent", "DescribeInstancesStatus", "ok", Duration::ZERO);
        let text = metrics.encode();
        for line in [
            r#"cloudinstance_provider_attempts_total{cloud="tencent",result="Throttled"} 2"#,
            r#"cloudinstance_provider_attempts_total{cloud="tencent",result="ok"} 1"#,
            r#"cloudinstance_provider_throttled_total{cloud="tencent"} 2"#,
            r#"cloudinstance_provider_calls_total{cloud="tencent",action="DescribeInstancesStatus",result="ok"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
