//! Per cloud, per action call counters (`GET /_emulator/calls`) and the log of the cloud
//! API requests received (`GET /_emulator/requests`), which the traffic contract test checks
//! against the vendors' official SDK request models.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::Value;

use crate::config::Provider;

/// How one API call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The API answered with this error code.
    Error(String),
    /// Rejected by the rate limiter.
    Throttled,
    /// Answered (or dropped) by an injected fault; carries the error code if any.
    Faulted(Option<String>),
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CallStats {
    /// Every call, whatever its outcome.
    pub total: u64,
    pub ok: u64,
    /// Calls answered with an error (throttled and fault-injected ones included).
    pub errors: u64,
    pub throttled: u64,
    pub faulted: u64,
    /// Error answers by code.
    pub error_codes: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct CallCounters {
    by_provider: BTreeMap<Provider, BTreeMap<String, CallStats>>,
    /// The cloud API requests received, oldest first (bounded).
    pub requests: RequestLog,
}

impl CallCounters {
    pub fn record(&mut self, provider: Provider, action: &str, outcome: &Outcome) {
        let action = if action.is_empty() { "(none)" } else { action };
        let s = self
            .by_provider
            .entry(provider)
            .or_default()
            .entry(action.to_string())
            .or_default();
        s.total += 1;
        match outcome {
            Outcome::Ok => s.ok += 1,
            Outcome::Error(code) => {
                s.errors += 1;
                *s.error_codes.entry(code.clone()).or_default() += 1;
            }
            Outcome::Throttled => {
                s.errors += 1;
                s.throttled += 1;
                *s.error_codes
                    .entry("RequestLimitExceeded".to_string())
                    .or_default() += 1;
            }
            Outcome::Faulted(code) => {
                s.faulted += 1;
                s.errors += 1;
                if let Some(code) = code {
                    *s.error_codes.entry(code.clone()).or_default() += 1;
                }
            }
        }
    }

    pub fn get(&self, provider: Provider, action: &str) -> Option<&CallStats> {
        self.by_provider.get(&provider)?.get(action)
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.by_provider).unwrap_or_default()
    }

    /// Clears the counters and the request log.
    pub fn clear(&mut self) {
        self.by_provider.clear();
        self.requests.clear();
    }
}

/// How many requests the log keeps (the oldest are dropped first).
pub const REQUEST_LOG_CAP: usize = 10_000;

/// What replaces a secret value (login password, user data) in the log; the name stays.
pub const REDACTED: &str = "<redacted>";

/// Headers kept in the log (lowercase). Everything else, `Authorization` and security
/// tokens included, is left out.
pub const LOGGED_HEADERS: &[&str] = &[
    "content-type",
    "x-client-token",
    "x-tc-action",
    "x-tc-version",
    "x-tc-region",
    "x-tc-language",
    "x-tc-timestamp",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-sdk-date",
    "x-project-id",
];

/// Query/form parameters left out of the log (signatures and temporary credentials).
const DROPPED_PARAMS: &[&str] = &["signature", "securitytoken", "token"];

/// One cloud API request as received (secrets removed, see [`RecordedRequest::new`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordedRequest {
    /// Position in the log since the emulator started (never reused).
    pub seq: u64,
    pub cloud: Provider,
    /// The action as the emulator routes it (`""` when it cannot tell).
    pub action: String,
    pub method: String,
    pub path: String,
    /// Query string pairs, in order.
    pub query: Vec<(String, String)>,
    /// `application/x-www-form-urlencoded` body pairs, in order.
    pub form: Vec<(String, String)>,
    /// The body when it is JSON.
    pub json: Option<Value>,
    /// [`LOGGED_HEADERS`] that were present (lowercase names).
    pub headers: BTreeMap<String, String>,
}

/// Whether a field name (a JSON key, or the last segment of a flattened name such as
/// `LoginSettings.Password`) names a secret whose value must not be logged.
pub fn is_secret_name(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    let norm: String = last
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(norm.as_str(), "password" | "adminpass" | "userdata")
}

fn redact_pairs(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .filter(|(k, _)| !DROPPED_PARAMS.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| {
            if is_secret_name(&k) {
                (k, REDACTED.to_string())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// Replace the values of secret fields at every depth (names stay).
pub fn redact_json(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if is_secret_name(k) && !x.is_object() && !x.is_array() {
                    *x = Value::String(REDACTED.to_string());
                } else {
                    redact_json(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_json),
        _ => {}
    }
}

impl RecordedRequest {
    /// A log entry with secrets removed: headers other than [`LOGGED_HEADERS`] are dropped
    /// (never `Authorization`), `Signature`/`SecurityToken` parameters are dropped, and the
    /// values of `Password`, `AdminPass` and `UserData` fields (any case, any depth) are
    /// replaced with [`REDACTED`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cloud: Provider,
        action: &str,
        method: &str,
        path: &str,
        query: Vec<(String, String)>,
        form: Vec<(String, String)>,
        json: Option<Value>,
        headers: &axum::http::HeaderMap,
    ) -> Self {
        let headers = LOGGED_HEADERS
            .iter()
            .filter_map(|h| {
                headers
                    .get(*h)
                    .map(|v| (h.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
            })
            .collect();
        let json = json.map(|mut j| {
            redact_json(&mut j);
            j
        });
        RecordedRequest {
            seq: 0,
            cloud,
            action: action.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            query: redact_pairs(query),
            form: redact_pairs(form),
            json,
            headers,
        }
    }
}

/// The last [`REQUEST_LOG_CAP`] cloud API requests.
#[derive(Debug, Default)]
pub struct RequestLog {
    entries: VecDeque<RecordedRequest>,
    next_seq: u64,
}

impl RequestLog {
    pub fn push(&mut self, mut r: RecordedRequest) {
        r.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() >= REQUEST_LOG_CAP {
            self.entries.pop_front();
        }
        self.entries.push_back(r);
    }

    /// Entries (oldest first), optionally of one cloud only.
    pub fn list(&self, cloud: Option<Provider>) -> Vec<&RecordedRequest> {
        self.entries
            .iter()
            .filter(|r| cloud.is_none_or(|c| r.cloud == c))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_outcome() {
        let mut c = CallCounters::default();
        c.record(Provider::Tencent, "RunInstances", &Outcome::Ok);
        c.record(
            Provider::Tencent,
            "RunInstances",
            &Outcome::Error("MissingParameter".into()),
        );
        c.record(Provider::Tencent, "RunInstances", &Outcome::Throttled);
        c.record(
            Provider::Tencent,
            "RunInstances",
            &Outcome::Faulted(Some("InternalError".into())),
        );
        let s = c.get(Provider::Tencent, "RunInstances").unwrap();
        assert_eq!(
            (s.total, s.ok, s.errors, s.throttled, s.faulted),
            (4, 1, 3, 1, 1)
        );
        assert_eq!(s.error_codes["RequestLimitExceeded"], 1);
        let j = c.to_json();
        assert_eq!(j["tencent"]["RunInstances"]["total"], 4);
    }

    #[test]
    fn request_log_redacts_secrets_and_is_bounded() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "authorization",
            "SDK-HMAC-SHA256 Signature=abc".parse().unwrap(),
        );
        h.insert("x-client-token", "tok".parse().unwrap());
        h.insert("x-acs-security-token", "sts".parse().unwrap());
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>()
        };
        let r = RecordedRequest::new(
            Provider::Alibaba,
            "RunInstances",
            "POST",
            "/",
            pairs(&[("Signature", "sig"), ("Password", "pw"), ("UserData", "ud")]),
            pairs(&[("LoginSettings.Password", "pw2"), ("ImageId", "img")]),
            Some(
                serde_json::json!({"server": {"adminPass": "pw3", "user_data": "ud2",
                "metadata": {"a": 1}, "name": "n"}}),
            ),
            &h,
        );
        let text = serde_json::to_string(&r).unwrap();
        for secret in ["abc", "sig", "\"pw\"", "\"ud\"", "pw2", "pw3", "ud2", "sts"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(r.headers.len(), 1, "{:?}", r.headers);
        assert_eq!(
            r.query,
            pairs(&[("Password", REDACTED), ("UserData", REDACTED)])
        );
        assert_eq!(
            r.form[0],
            ("LoginSettings.Password".into(), REDACTED.into())
        );
        assert_eq!(r.json.as_ref().unwrap()["server"]["adminPass"], REDACTED);
        assert_eq!(r.json.as_ref().unwrap()["server"]["name"], "n");

        let mut log = RequestLog::default();
        for _ in 0..REQUEST_LOG_CAP + 5 {
            log.push(r.clone());
        }
        assert_eq!(log.len(), REQUEST_LOG_CAP);
        assert_eq!(log.list(None)[0].seq, 5);
        assert!(log.list(Some(Provider::Huawei)).is_empty());
    }
}
