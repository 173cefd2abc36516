//! Where the controller may send signed requests. The operator decides, not the tenant.
//!
//! A `CloudCredential` is written by a namespace tenant, and so is its `spec.endpoint`
//! override. Without a policy a tenant could point the controller at their own server
//! and receive a signed request carrying the Secret values the credential names, or make
//! the controller call any address it can reach (cluster services, metadata endpoints).
//!
//! The policy: a URL is allowed when
//! * it is `https` on the default port, has no user info, and its host is one of the
//!   cloud's documented API domains (a subdomain of the suffixes in [`official_domains`]:
//!   public, regional and VPC/internal endpoints all live under them), or
//! * it matches an entry of the operator's allow-list (`--allowed-endpoint`, Helm
//!   `allowedEndpoints`): same scheme, same host, same port, and a path under the entry's
//!   path. `http://` is only ever allowed this way.
//!
//! Every request is checked (not only the configured override), so a region name that
//! would steer a default endpoint elsewhere is refused as well. The policy is a value
//! owned by the controller's settings, so a future cluster-scoped credential kind can be
//! given a policy of its own.

use std::fmt;

use reqwest::Url;

use super::{ErrorKind, ProviderError, ProviderKind};

/// The registrable domains under which each cloud documents its API endpoints.
///
/// * Tencent Cloud API 3.0 "Request Structure / Endpoints": `cvm.tencentcloudapi.com`,
///   regional `cvm.<region>.tencentcloudapi.com`, VPC `cvm.internal.tencentcloudapi.com`
///   (<https://www.tencentcloud.com/document/api/213/31575>, seed 001 "Service Address").
/// * Alibaba Cloud ECS "Endpoints": `ecs.aliyuncs.com`, `ecs.<region>.aliyuncs.com`,
///   VPC `ecs-vpc.<region>.aliyuncs.com` (<https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-endpoint>).
/// * Huawei Cloud "Regions and Endpoints": `ecs.<region>.myhuaweicloud.com`,
///   `iam.myhuaweicloud.com`, European sites `*.myhuaweicloud.eu`
///   (<https://developer.huaweicloud.com/intl/en-us/endpoint>).
pub fn official_domains(kind: ProviderKind) -> &'static [&'static str] {
    match kind {
        ProviderKind::Tencent => &["tencentcloudapi.com"],
        ProviderKind::Alibaba => &["aliyuncs.com"],
        ProviderKind::Huawei => &["myhuaweicloud.com", "myhuaweicloud.eu"],
    }
}

/// One operator-allowed endpoint prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Allowed {
    scheme: String,
    host: String,
    port: u16,
    /// Path prefix without a trailing slash ("" for the whole host).
    path: String,
}

impl Allowed {
    fn matches(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && url.port_or_known_default() == Some(self.port)
            && (self.path.is_empty()
                || url.path() == self.path
                || url.path().starts_with(&format!("{}/", self.path)))
    }
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme, self.host, self.port, self.path
        )
    }
}

/// The operator's endpoint policy (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointPolicy {
    allowed: Vec<Allowed>,
}

impl EndpointPolicy {
    /// Only the clouds' documented domains.
    pub fn official_only() -> Self {
        Self::default()
    }

    /// The official domains plus the operator's allow-list entries, each a base URL such as
    /// `http://127.0.0.1:4566` or `https://ecs.corp.example/proxy`.
    pub fn with_allowed<I, S>(entries: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = Vec::new();
        for e in entries {
            let e = e.as_ref().trim();
            if e.is_empty() {
                continue;
            }
            let url = Url::parse(e).map_err(|err| format!("allowed endpoint {e:?}: {err}"))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(format!(
                    "allowed endpoint {e:?}: the scheme must be http or https"
                ));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(format!(
                    "allowed endpoint {e:?}: user info is not allowed in an endpoint"
                ));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(format!(
                    "allowed endpoint {e:?}: a query or fragment is not allowed"
                ));
            }
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                return Err(format!("allowed endpoint {e:?} has no host"));
            };
            allowed.push(Allowed {
                scheme: url.scheme().to_owned(),
                host: host.to_ascii_lowercase(),
                port,
                path: url.path().trim_end_matches('/').to_owned(),
            });
        }
        Ok(Self { allowed })
    }

    /// Whether a request of cloud `kind` may go to `url`; the error says why not.
    pub fn check(&self, kind: ProviderKind, url: &Url) -> Result<(), ProviderError> {
        if self.allowed.iter().any(|a| a.matches(url)) || is_official(kind, url) {
            return Ok(());
        }
        Err(not_allowed(kind, &redacted(url)))
    }

    /// [`Self::check`] for a base URL as written in `spec.endpoint`.
    pub fn check_str(&self, kind: ProviderKind, endpoint: &str) -> Result<(), ProviderError> {
        let url = Url::parse(endpoint.trim()).map_err(|e| {
            ProviderError::new(
                ErrorKind::InvalidRequest,
                "EndpointNotAllowed",
                format!("the endpoint is not a valid URL: {e}"),
            )
        })?;
        self.check(kind, &url)
    }

    /// Operator entries, for logs at start-up.
    pub fn describe(&self) -> String {
        if self.allowed.is_empty() {
            "official endpoints only".into()
        } else {
            let list: Vec<String> = self.allowed.iter().map(ToString::to_string).collect();
            format!("official endpoints and {}", list.join(", "))
        }
    }
}

fn is_official(kind: ProviderKind, url: &Url) -> bool {
    if url.scheme() != "https"
        || url.port_or_known_default() != Some(443)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return false;
    }
    let Some(host) = url.domain() else {
        return false; // IP addresses are never official endpoints
    };
    let host = host.to_ascii_lowercase();
    official_domains(kind)
        .iter()
        .any(|d| host.len() > d.len() + 1 && host.ends_with(&format!(".{d}")))
}

/// `scheme://host:port/path`, without user info or query (never echo credentials).
fn redacted(url: &Url) -> String {
    format!(
        "{}://{}{}{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port().map(|p| format!(":{p}")).unwrap_or_default(),
        url.path()
    )
}

fn not_allowed(kind: ProviderKind, url: &str) -> ProviderError {
    let domains: Vec<String> = official_domains(kind)
        .iter()
        .map(|d| format!("https://*.{d}"))
        .collect();
    ProviderError::new(
        ErrorKind::InvalidRequest,
        "EndpointNotAllowed",
        format!(
            "endpoint {url} is not allowed for {kind}: only {} or an endpoint the operator \
             allowed with --allowed-endpoint (Helm value allowedEndpoints); no request was sent",
            domains.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn official_domains_are_allowed_by_default() {
        let p = EndpointPolicy::official_only();
        for (k, u) in [
            (ProviderKind::Tencent, "https://cvm.tencentcloudapi.com/"),
            (
                ProviderKind::Tencent,
                "https://cvm.internal.tencentcloudapi.com/",
            ),
            (
                ProviderKind::Alibaba,
                "https://ecs-vpc.cn-hangzhou.aliyuncs.com/?a=b",
            ),
            (
                ProviderKind::Huawei,
                "https://ecs.cn-north-4.myhuaweicloud.com/v1/x",
            ),
            (
                ProviderKind::Huawei,
                "https://ecs.eu-west-101.myhuaweicloud.eu/",
            ),
        ] {
            assert!(p.check(k, &url(u)).is_ok(), "{u}");
        }
    }

    #[test]
    fn everything_else_is_refused_by_default() {
        let p = EndpointPolicy::official_only();
        for (k, u) in [
            // another cloud's domain
            (ProviderKind::Tencent, "https://ecs.aliyuncs.com/"),
            // plain http, other port, user info
            (ProviderKind::Tencent, "http://cvm.tencentcloudapi.com/"),
            (
                ProviderKind::Tencent,
                "https://cvm.tencentcloudapi.com:8443/",
            ),
            (ProviderKind::Alibaba, "https://u:p@ecs.aliyuncs.com/"),
            // look-alikes and the bare suffix trick
            (
                ProviderKind::Alibaba,
                "https://ecs.aliyuncs.com.evil.example/",
            ),
            (ProviderKind::Alibaba, "https://evilaliyuncs.com/"),
            (
                ProviderKind::Huawei,
                "https://169.254.169.254/latest/meta-data",
            ),
            (ProviderKind::Huawei, "https://kubernetes.default.svc/"),
            (ProviderKind::Huawei, "http://127.0.0.1:4566/"),
        ] {
            let e = p.check(k, &url(u)).unwrap_err();
            assert_eq!(e.code, "EndpointNotAllowed", "{u}");
            assert!(!e.message.contains("u:p"), "{}", e.message);
        }
    }

    #[test]
    fn operator_entries_match_scheme_host_port_and_path() {
        let p = EndpointPolicy::with_allowed(["http://127.0.0.1:4566", "https://proxy.corp/ecs/"])
            .unwrap();
        let k = ProviderKind::Alibaba;
        assert!(p.check(k, &url("http://127.0.0.1:4566/?Action=x")).is_ok());
        assert!(p.check(k, &url("https://proxy.corp/ecs")).is_ok());
        assert!(
            p.check(k, &url("https://proxy.corp/ecs/v1/servers"))
                .is_ok()
        );
        for u in [
            "https://127.0.0.1:4566/",  // scheme differs
            "http://127.0.0.1:4567/",   // port differs
            "http://localhost:4566/",   // host differs
            "https://proxy.corp/ecsx",  // path prefix is per segment
            "https://proxy.corp/other", // path outside
            "http://proxy.corp/ecs/",   // http never implied by https
        ] {
            assert!(p.check(k, &url(u)).is_err(), "{u}");
        }
    }

    #[test]
    fn bad_allow_list_entries_are_errors() {
        for e in ["ftp://x", "http://u:p@x", "not a url", "http://x/?q=1"] {
            assert!(EndpointPolicy::with_allowed([e]).is_err(), "{e}");
        }
        assert_eq!(
            EndpointPolicy::with_allowed(["", " "]).unwrap(),
            EndpointPolicy::official_only()
        );
    }
}
