//! Per-credential cloud handles: the provider client, its rate limiter and call
//! instrumentation, cached until the credential or its Secret changes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;

use super::leader::Fence;
use super::metrics::{AttemptMetrics, Metrics};
use super::ratelimit::{ActionClass, Limiter};
use super::translate;
use crate::api::CloudCredential;
use crate::provider::endpoint::EndpointPolicy;
use crate::provider::retry::Observer;
use crate::provider::{
    AnyProvider, ClientConfig, CloudProvider, Credentials, DescribeFilter, InstanceDetails,
    ProviderError, ProviderKind, SecretString,
};

/// A ready-to-use client for one credential.
pub struct CloudHandle {
    pub kind: ProviderKind,
    pub provider: AnyProvider,
    limiter: Limiter,
    /// Identifies the inputs the handle was built from (credential generation + Secret version).
    pub version: String,
    metrics: Arc<Metrics>,
    fence: Fence,
}

impl std::fmt::Debug for CloudHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudHandle")
            .field("kind", &self.kind)
            .field("version", &self.version)
            .finish()
    }
}

/// Default client-side limits per cloud (requests/second), below the clouds' documented
/// per-action limits (Tencent: 10-20/s per action and account).
pub fn default_limits(kind: ProviderKind) -> (u32, u32) {
    match kind {
        ProviderKind::Tencent => (10, 20),
        ProviderKind::Alibaba => (10, 20),
        ProviderKind::Huawei => (10, 20),
    }
}

impl CloudHandle {
    /// Run one provider call: wait for the rate limiter, time it, count it.
    pub async fn call<T, Fut>(
        &self,
        class: ActionClass,
        action: &'static str,
        fut: Fut,
    ) -> Result<T, ProviderError>
    where
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.limiter.acquire(class).await;
        // Leader fencing: a replica whose lease may have expired sends no mutation.
        if class == ActionClass::Mutating && !self.fence.allows_mutation() {
            return Err(ProviderError::new(
                crate::provider::ErrorKind::Transient,
                "NotLeader",
                "this replica's leader lease could not be renewed in time; no cloud \
                 mutation is sent until it is leader again",
            ));
        }
        let start = Instant::now();
        let r = fut.await;
        let result = match &r {
            Ok(_) => "ok",
            Err(e) => e.kind.as_str(),
        };
        self.metrics
            .provider_call(&self.kind.to_string(), action, result, start.elapsed());
        r
    }

    /// DescribeInstances through [`Self::call`].
    pub async fn describe_instances(
        &self,
        region: &str,
        filter: &DescribeFilter,
    ) -> Result<Vec<InstanceDetails>, ProviderError> {
        self.call(
            ActionClass::Describe,
            "DescribeInstances",
            self.provider.describe_instances(region, filter),
        )
        .await
    }

    pub fn batch_limit(&self) -> usize {
        self.provider.batch_limit()
    }
}

/// Why a credential cannot be turned into a client.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CredentialError {
    #[error("Secret {0} not found in the credential's namespace")]
    SecretNotFound(String),
    #[error(
        "Secret {secret} has no key {key:?} (set spec.secretRef.{field} to the right key name)"
    )]
    SecretKeyMissing {
        secret: String,
        key: String,
        field: &'static str,
    },
    #[error(
        "Secret {secret} key {key:?} (spec.secretRef.{field}) contains whitespace or control \
         characters inside the value; access key ids are printable ASCII without spaces"
    )]
    SecretValueInvalid {
        secret: String,
        key: String,
        field: &'static str,
    },
    #[error(
        "Secret {secret} key {key:?} (the session token) contains whitespace or control \
         characters; a session token is one printable ASCII string"
    )]
    SessionTokenInvalid { secret: String, key: String },
    #[error(
        "Secret {secret} holds a session token (key {key:?}), but the controller sends \
         session tokens to Tencent only; use long-term keys for {provider}, or remove the key"
    )]
    SessionTokenUnsupported {
        secret: String,
        key: String,
        provider: String,
    },
    #[error("provider huawei needs spec.projectIds (or spec.projectId, cn-north-4's project)")]
    ProjectIdMissing,
    #[error("{0}")]
    EndpointNotAllowed(String),
    #[error(
        "Secret {secret} is not marked for this controller: label it {label}=true \
         (kubectl label secret {secret} {label}=true) if its keys are meant for cloud calls; \
         unmarked Secrets are never read into a request"
    )]
    SecretNotMarked { secret: String, label: &'static str },
    #[error(
        "Secret {secret} does not match this controller's --label-selector {selector}: label \
         it like the credential and instances of this shard"
    )]
    SecretNotInShard { secret: String, selector: String },
    #[error("{0}")]
    Client(String),
}

impl CredentialError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::SecretNotFound(_) => "SecretNotFound",
            Self::SecretKeyMissing { .. } => "SecretKeyMissing",
            Self::SecretValueInvalid { .. } => "SecretValueInvalid",
            Self::SessionTokenInvalid { .. } => "SessionTokenInvalid",
            Self::SessionTokenUnsupported { .. } => "SessionTokenUnsupported",
            Self::ProjectIdMissing => "ProjectIdMissing",
            Self::EndpointNotAllowed(_) => "EndpointNotAllowed",
            Self::SecretNotMarked { .. } => "SecretNotMarked",
            Self::SecretNotInShard { .. } => "SecretNotInShard",
            Self::Client(_) => "ClientError",
        }
    }
}

/// Label that marks a Secret as holding cloud keys for a CloudCredential. Secrets without
/// it are never read into a request: a tenant cannot make the controller sign with (and
/// so disclose) the value of an unrelated Secret such as an application token.
pub const CREDENTIAL_SECRET_LABEL: &str = "compute.cloudinstance.io/credential";
/// Label that marks a Secret as holding a VM login password for `login.passwordSecretRef`.
pub const LOGIN_SECRET_LABEL: &str = "compute.cloudinstance.io/login";

/// Whether a Secret (full object or metadata) carries `label=true`.
pub fn is_marked(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    label: &str,
) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(label))
        .is_some_and(|v| v == "true")
}

/// [`is_marked`] as an error naming the label to set.
pub fn check_marked(secret: &Secret, label: &'static str) -> Result<(), CredentialError> {
    if is_marked(&secret.metadata, label) {
        Ok(())
    } else {
        Err(CredentialError::SecretNotMarked {
            secret: secret.metadata.name.clone().unwrap_or_default(),
            label,
        })
    }
}

/// Read a key of a Secret as UTF-8 (data, then stringData is not stored by the apiserver).
pub fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    let v = secret.data.as_ref()?.get(key)?;
    let s = String::from_utf8(v.0.clone()).ok()?;
    let s = s.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// The session token of temporary credentials, if the Secret holds one
/// (`spec.secretRef.sessionTokenKey`, else the key `sessionToken` when present). Only the
/// Tencent client sends one (`X-TC-Token`); for the other clouds a token is refused here
/// instead of being dropped, so the credential does not fail later in a confusing way.
fn session_token(
    secret: &Secret,
    secret_name: &str,
    spec: &crate::api::CloudCredentialSpec,
    kind: ProviderKind,
) -> Result<Option<SecretString>, CredentialError> {
    let explicit = spec.secret_ref.session_token_key.as_deref();
    let key = explicit.unwrap_or(crate::api::credential::DEFAULT_SESSION_TOKEN_KEY);
    let Some(token) = secret_value(secret, key) else {
        return match explicit {
            Some(k) => Err(CredentialError::SecretKeyMissing {
                secret: secret_name.to_owned(),
                key: k.to_owned(),
                field: "sessionTokenKey",
            }),
            None => Ok(None),
        };
    };
    if kind != ProviderKind::Tencent {
        return Err(CredentialError::SessionTokenUnsupported {
            secret: secret_name.to_owned(),
            key: key.to_owned(),
            provider: kind.to_string(),
        });
    }
    // It travels in a header: a line break would be a header injection.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(CredentialError::SessionTokenInvalid {
            secret: secret_name.to_owned(),
            key: key.to_owned(),
        });
    }
    Ok(Some(SecretString::new(token)))
}

/// Version key of a credential + Secret pair.
pub fn version_of(cred: &CloudCredential, secret_version: &str) -> String {
    format!(
        "{}/{}",
        cred.metadata.generation.unwrap_or_default(),
        secret_version
    )
}

/// Cache of handles by credential (namespace/name).
pub struct Handles {
    map: Mutex<HashMap<String, Arc<CloudHandle>>>,
    metrics: Arc<Metrics>,
    timeout: Duration,
    policy: EndpointPolicy,
    fence: Fence,
}

impl Handles {
    pub fn new(
        metrics: Arc<Metrics>,
        timeout: Duration,
        policy: EndpointPolicy,
        fence: Fence,
    ) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            metrics,
            timeout,
            policy,
            fence,
        }
    }

    /// Whether the credential's endpoint is one the operator allows (checked before its
    /// Secret is even read; no request goes anywhere else).
    pub fn check_endpoint(&self, cred: &CloudCredential) -> Result<(), CredentialError> {
        match &cred.spec.endpoint {
            None => Ok(()),
            Some(e) => self
                .policy
                .check_str(cred.spec.provider.into(), e)
                .map_err(|e| CredentialError::EndpointNotAllowed(e.message)),
        }
    }

    /// The cached handle, if it was built from this version.
    pub fn cached(&self, key: &str, version: &str) -> Option<Arc<CloudHandle>> {
        let m = self.map.lock().expect("handles lock");
        m.get(key).filter(|h| h.version == version).cloned()
    }

    pub fn forget(&self, key: &str) {
        self.map.lock().expect("handles lock").remove(key);
    }

    /// Build (and cache) a handle from the credential and its Secret.
    pub fn build(
        &self,
        key: &str,
        cred: &CloudCredential,
        secret: &Secret,
    ) -> Result<Arc<CloudHandle>, CredentialError> {
        let spec = &cred.spec;
        let kind: ProviderKind = spec.provider.into();
        let secret_name = &spec.secret_ref.name;
        self.check_endpoint(cred)?;
        check_marked(secret, CREDENTIAL_SECRET_LABEL)?;
        let id = secret_value(secret, &spec.secret_ref.access_key_id_key).ok_or_else(|| {
            CredentialError::SecretKeyMissing {
                secret: secret_name.clone(),
                key: spec.secret_ref.access_key_id_key.clone(),
                field: "accessKeyIdKey",
            }
        })?;
        // The key id travels in a header (or a signed query): a line break in it would be
        // a header injection, and no cloud issues such ids. Reject it before any request.
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CredentialError::SecretValueInvalid {
                secret: secret_name.clone(),
                key: spec.secret_ref.access_key_id_key.clone(),
                field: "accessKeyIdKey",
            });
        }
        let sk = secret_value(secret, &spec.secret_ref.secret_access_key_key).ok_or_else(|| {
            CredentialError::SecretKeyMissing {
                secret: secret_name.clone(),
                key: spec.secret_ref.secret_access_key_key.clone(),
                field: "secretAccessKeyKey",
            }
        })?;
        let session_token = session_token(secret, secret_name, spec, kind)?;
        let mut config = ClientConfig::new(Credentials {
            access_key_id: id,
            secret: SecretString::new(sk),
            project_id: None,
        });
        config.session_token = session_token;
        if kind == ProviderKind::Huawei {
            // Huawei projects are per region: the client gets the map (projectIds, and
            // projectId as cn-north-4's), never one id for every region.
            config.huawei.project_ids = translate::huawei_project_ids(spec);
            if config.huawei.project_ids.is_empty() {
                return Err(CredentialError::ProjectIdMissing);
            }
        }
        config.endpoint = spec.endpoint.clone();
        config.timeout = self.timeout;
        config.policy = self.policy.clone();
        config.ca_bundle = spec.ca_bundle.clone();
        config.observer = Observer::new(Arc::new(AttemptMetrics {
            metrics: self.metrics.clone(),
            cloud: kind.to_string(),
        }));
        let provider =
            AnyProvider::new(kind, config).map_err(|e| CredentialError::Client(e.to_string()))?;
        let (dm, dd) = default_limits(kind);
        let limits = spec
            .rate_limits
            .clone()
            .unwrap_or(crate::api::credential::RateLimits {
                mutating_per_second: None,
                describe_per_second: None,
            });
        let handle = Arc::new(CloudHandle {
            kind,
            provider,
            limiter: Limiter::new(
                limits
                    .mutating_per_second
                    .map(|v| v.max(1) as u32)
                    .unwrap_or(dm),
                limits
                    .describe_per_second
                    .map(|v| v.max(1) as u32)
                    .unwrap_or(dd),
            ),
            version: version_of(
                cred,
                secret.metadata.resource_version.as_deref().unwrap_or(""),
            ),
            metrics: self.metrics.clone(),
            fence: self.fence.clone(),
        });
        self.map
            .lock()
            .expect("handles lock")
            .insert(key.to_owned(), handle.clone());
        Ok(handle)
    }
}

#[cfg(test)]
mod session_token_tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;

    fn spec(provider: &str, token_key: Option<&str>) -> crate::api::CloudCredentialSpec {
        let mut secret_ref = serde_json::json!({"name": "keys"});
        if let Some(k) = token_key {
            secret_ref["sessionTokenKey"] = k.into();
        }
        serde_json::from_value(serde_json::json!({"provider": provider, "secretRef": secret_ref}))
            .expect("spec")
    }

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect::<BTreeMap<_, _>>(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn session_token_rules() {
        let tencent = ProviderKind::Tencent;
        let s = secret(&[("sessionToken", "tok-1")]);
        let t = session_token(&s, "keys", &spec("tencent", None), tencent).unwrap();
        assert_eq!(t.map(|t| t.expose().to_owned()), Some("tok-1".into()));
        // No token key at all: long-term keys.
        let none = session_token(&secret(&[]), "keys", &spec("tencent", None), tencent);
        assert!(none.unwrap().is_none());
        // An explicit key must exist.
        let e = session_token(&secret(&[]), "keys", &spec("tencent", Some("sts")), tencent)
            .unwrap_err();
        assert_eq!(e.reason(), "SecretKeyMissing");
        assert!(e.to_string().contains("sessionTokenKey"), "{e}");
        let t = session_token(
            &secret(&[("sts", "tok-2")]),
            "keys",
            &spec("tencent", Some("sts")),
            tencent,
        )
        .unwrap();
        assert_eq!(t.map(|t| t.expose().to_owned()), Some("tok-2".into()));
        // A header injection is refused, without the value in the message.
        let e = session_token(
            &secret(&[("sessionToken", "tok\nX-Evil: 1")]),
            "keys",
            &spec("tencent", None),
            tencent,
        )
        .unwrap_err();
        assert_eq!(e.reason(), "SessionTokenInvalid");
        assert!(!e.to_string().contains("Evil"), "{e}");
        // Clouds whose client does not send one refuse it instead of dropping it.
        let e =
            session_token(&s, "keys", &spec("alibaba", None), ProviderKind::Alibaba).unwrap_err();
        assert_eq!(e.reason(), "SessionTokenUnsupported");
        assert!(!e.to_string().contains("tok-1"), "{e}");
    }
}
