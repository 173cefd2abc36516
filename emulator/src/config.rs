//! Accounts and runtime settings (transition delays, rate limiting, quotas).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The clouds the emulator speaks. Every instance, account, call counter and fault rule
/// is tagged with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Tencent,
    Alibaba,
    Huawei,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Tencent => "tencent",
            Provider::Alibaba => "alibaba",
            Provider::Huawei => "huawei",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        match s.to_ascii_lowercase().as_str() {
            "tencent" => Some(Provider::Tencent),
            "alibaba" | "aliyun" => Some(Provider::Alibaba),
            "huawei" => Some(Provider::Huawei),
            _ => None,
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One API credential. `key_id` is the Tencent SecretId, the Alibaba AccessKeyId or the
/// Huawei AK; `secret` the matching SecretKey / AccessKeySecret / SK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub provider: Provider,
    pub key_id: String,
    pub secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

pub const TENCENT_DEMO_KEY_ID: &str = "AKIDDEMO00000000000000000000000000";
pub const TENCENT_DEMO_SECRET: &str = "demo-tencent-secret-key";
/// A Tencent temporary (STS) key: requests signed with it must carry
/// [`TENCENT_DEMO_TEMP_TOKEN`] (`X-TC-Token`, or `Token` with signature v1).
pub const TENCENT_DEMO_TEMP_KEY_ID: &str = "AKIDTEMP00000000000000000000000000";
pub const TENCENT_DEMO_TEMP_SECRET: &str = "demo-tencent-temporary-secret-key";
pub const TENCENT_DEMO_TEMP_TOKEN: &str = "demo-tencent-session-token";
pub const ALIBABA_DEMO_KEY_ID: &str = "LTAIDEMO0000000000000000";
pub const ALIBABA_DEMO_SECRET: &str = "demo-alibaba-access-key-secret";
pub const HUAWEI_DEMO_KEY_ID: &str = "HWDEMOAK0000000000000";
pub const HUAWEI_DEMO_SECRET: &str = "demo-huawei-secret-key";
pub const HUAWEI_DEMO_PROJECT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/// The credentials the emulator accepts.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    list: Vec<Account>,
    /// Temporary keys: (cloud, key id) → the session token issued with them.
    session_tokens: Vec<SessionToken>,
}

/// The session token of a temporary key (accounts file: `session_token` next to `key_id`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct SessionToken {
    provider: Provider,
    key_id: String,
    session_token: Option<String>,
}

impl Accounts {
    pub fn new(list: Vec<Account>) -> Self {
        Accounts {
            list,
            session_tokens: Vec::new(),
        }
    }

    /// Make `key_id` a temporary key: every request signed with it must carry `token`.
    pub fn with_session_token(mut self, provider: Provider, key_id: &str, token: &str) -> Self {
        self.session_tokens.push(SessionToken {
            provider,
            key_id: key_id.into(),
            session_token: Some(token.into()),
        });
        self
    }

    /// The session token a temporary key requires; None for a permanent key.
    pub fn session_token(&self, provider: Provider, key_id: &str) -> Option<&str> {
        self.session_tokens
            .iter()
            .find(|t| t.provider == provider && t.key_id == key_id)
            .and_then(|t| t.session_token.as_deref())
    }

    /// The built-in demo accounts, one per cloud (documented in README.md).
    pub fn demo() -> Self {
        Accounts::new(vec![
            Account {
                provider: Provider::Tencent,
                key_id: TENCENT_DEMO_KEY_ID.into(),
                secret: TENCENT_DEMO_SECRET.into(),
                project_id: None,
            },
            Account {
                provider: Provider::Tencent,
                key_id: TENCENT_DEMO_TEMP_KEY_ID.into(),
                secret: TENCENT_DEMO_TEMP_SECRET.into(),
                project_id: None,
            },
            Account {
                provider: Provider::Alibaba,
                key_id: ALIBABA_DEMO_KEY_ID.into(),
                secret: ALIBABA_DEMO_SECRET.into(),
                project_id: None,
            },
            Account {
                provider: Provider::Huawei,
                key_id: HUAWEI_DEMO_KEY_ID.into(),
                secret: HUAWEI_DEMO_SECRET.into(),
                project_id: Some(HUAWEI_DEMO_PROJECT.into()),
            },
        ])
        .with_session_token(
            Provider::Tencent,
            TENCENT_DEMO_TEMP_KEY_ID,
            TENCENT_DEMO_TEMP_TOKEN,
        )
    }

    /// Load a YAML list of accounts: `[{provider, key_id, secret, project_id?,
    /// session_token?}]` (`session_token`: a temporary key that needs it).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read accounts file {}: {e}", path.display()))?;
        Self::from_yaml(&text).map_err(|e| format!("accounts file {}: {e}", path.display()))
    }

    pub fn from_yaml(text: &str) -> Result<Self, String> {
        let list: Vec<Account> = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        for a in &list {
            if a.key_id.is_empty() || a.secret.is_empty() {
                return Err("every account needs a non-empty key_id and secret".into());
            }
        }
        let session_tokens: Vec<SessionToken> = serde_yaml::from_str::<Vec<SessionToken>>(text)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|t| t.session_token.is_some())
            .collect();
        Ok(Accounts {
            list,
            session_tokens,
        })
    }

    pub fn find(&self, provider: Provider, key_id: &str) -> Option<&Account> {
        self.list
            .iter()
            .find(|a| a.provider == provider && a.key_id == key_id)
    }

    pub fn all(&self) -> &[Account] {
        &self.list
    }
}

/// The named lifecycle transitions whose duration is configurable.
pub const TRANSITIONS: &[&str] = &[
    "pending",
    "starting",
    "stopping",
    "rebooting",
    "resetting",
    "terminating",
    "shutdown",
    "resize",
];

/// Default duration of every transition, in milliseconds.
pub const DEFAULT_TRANSITION_MS: u64 = 2000;

/// Transition durations in milliseconds.
///
/// * `pending`: PENDING → RUNNING after RunInstances
/// * `starting`: STARTING → RUNNING
/// * `stopping`: STOPPING → STOPPED
/// * `rebooting`: REBOOTING → RUNNING
/// * `resetting`: reinstall (ResetInstance) → RUNNING
/// * `terminating`: TERMINATING → SHUTDOWN
/// * `shutdown`: how long a terminated instance stays visible (SHUTDOWN) before it is removed
/// * `resize`: how long ResetInstancesType keeps LatestOperationState OPERATING
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delays {
    pub pending: u64,
    pub starting: u64,
    pub stopping: u64,
    pub rebooting: u64,
    pub resetting: u64,
    pub terminating: u64,
    pub shutdown: u64,
    pub resize: u64,
}

impl Default for Delays {
    fn default() -> Self {
        Delays::uniform(DEFAULT_TRANSITION_MS)
    }
}

impl Delays {
    pub fn uniform(ms: u64) -> Self {
        Delays {
            pending: ms,
            starting: ms,
            stopping: ms,
            rebooting: ms,
            resetting: ms,
            terminating: ms,
            shutdown: ms,
            resize: ms,
        }
    }

    /// Set one named transition (see [`TRANSITIONS`]).
    pub fn set(&mut self, name: &str, ms: u64) -> Result<(), String> {
        let slot = match name {
            "pending" | "launch" | "running" => &mut self.pending,
            "starting" => &mut self.starting,
            "stopping" => &mut self.stopping,
            "rebooting" => &mut self.rebooting,
            "resetting" => &mut self.resetting,
            "terminating" => &mut self.terminating,
            "shutdown" | "terminated" => &mut self.shutdown,
            "resize" => &mut self.resize,
            other => {
                return Err(format!(
                    "unknown transition `{other}` (known: {})",
                    TRANSITIONS.join(", ")
                ));
            }
        };
        *slot = ms;
        Ok(())
    }
}

/// Parse a `NAME=MS` pair as given to `--delay`.
pub fn parse_delay_pair(s: &str) -> Result<(String, u64), String> {
    let (name, ms) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=MS, got `{s}`"))?;
    let ms: u64 = ms
        .trim()
        .parse()
        .map_err(|_| format!("`{ms}` is not a number of milliseconds"))?;
    Ok((name.trim().to_string(), ms))
}

/// Everything that can be changed at run time through `POST /_emulator/config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub transition_delays_ms: Delays,
    pub rate_limit_enabled: bool,
    /// Scales every documented per-action limit (2.0 doubles the allowed rate).
    pub rate_limit_multiplier: f64,
    /// Per-action overrides (requests per second), keyed by action name.
    pub rate_limit_overrides: BTreeMap<String, f64>,
    /// Maximum number of live instances per account and cloud; `None` is unlimited.
    pub instance_quota: Option<u64>,
    /// Allowed clock skew of signed requests, in seconds (Tencent documents 300).
    pub max_clock_skew_secs: i64,
    /// Tencent accounts cannot pay: purchases are refused with
    /// `InvalidAccount.InsufficientBalance` (`tencent/actions/create.rs`).
    #[serde(default)]
    pub tencent_balance_insufficient: bool,
    /// Self-service returns of Tencent prepaid instances left for the account (the refund
    /// rules limit them per year); `None` is unlimited. At 0 a return is refused with
    /// `LimitExceeded.UserReturnQuota` (`tencent/actions/lifecycle.rs`).
    #[serde(default)]
    pub tencent_return_quota: Option<u64>,
    /// The Alibaba account has no payment method that can pay a subscription: a PrePaid
    /// RunInstances is refused with `InvalidPayMethod` (`alibaba/actions/create.rs`).
    #[serde(default)]
    pub alibaba_no_payment_method: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            transition_delays_ms: Delays::default(),
            rate_limit_enabled: true,
            rate_limit_multiplier: 1.0,
            rate_limit_overrides: BTreeMap::new(),
            instance_quota: None,
            max_clock_skew_secs: 300,
            tencent_balance_insufficient: false,
            tencent_return_quota: None,
            alibaba_no_payment_method: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_yaml_round_trip() {
        let yaml = r#"
- provider: tencent
  key_id: AKIDX
  secret: s1
- provider: huawei
  key_id: HWAK
  secret: s2
  project_id: p1
"#;
        let a = Accounts::from_yaml(yaml).unwrap();
        assert_eq!(a.find(Provider::Tencent, "AKIDX").unwrap().secret, "s1");
        assert_eq!(
            a.find(Provider::Huawei, "HWAK")
                .unwrap()
                .project_id
                .as_deref(),
            Some("p1")
        );
        assert!(a.find(Provider::Alibaba, "AKIDX").is_none());
        assert!(Accounts::from_yaml("- provider: nope\n  key_id: a\n  secret: b\n").is_err());
    }

    #[test]
    fn delay_pairs() {
        assert_eq!(
            parse_delay_pair("stopping=150").unwrap(),
            ("stopping".to_string(), 150)
        );
        assert!(parse_delay_pair("stopping").is_err());
        let mut d = Delays::uniform(5);
        d.set("terminating", 7).unwrap();
        assert_eq!(d.terminating, 7);
        assert!(d.set("bogus", 1).is_err());
    }
}
