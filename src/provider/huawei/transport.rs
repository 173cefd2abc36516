//! The HTTP side of the client: endpoints, signing and sending one request with its
//! retries, decoding the answer.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Service {
    Ecs,
    Ims,
    /// VPC (v3 ports: a server's security groups).
    Vpc,
    /// IAM (global service: no project header).
    Iam,
    /// BSS, the billing center (global).
    Bss,
}

impl Service {
    /// Regional services carry the region's project in the signed `X-Project-Id`.
    fn regional(self) -> bool {
        !matches!(self, Service::Iam | Service::Bss)
    }
}

pub(super) fn decode<T: DeserializeOwned>(
    what: &str,
    text: &str,
    request_id: Option<String>,
) -> Result<T> {
    let body = if text.trim().is_empty() { "{}" } else { text };
    serde_json::from_str(body).map_err(|e| {
        ProviderError::new(
            ErrorKind::Transient,
            "InvalidResponse",
            format!("cannot decode the {what} answer: {e}"),
        )
        .with_request_id(request_id)
    })
}

/// Split an endpoint URL into `scheme://authority` and a path prefix.
pub(super) fn split_endpoint(url: &str) -> (String, String, String) {
    let url = url.trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    (
        format!("{scheme}://{authority}"),
        authority.to_owned(),
        prefix.to_owned(),
    )
}

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) text: String,
    pub(super) request_id: Option<String>,
}

impl HuaweiClient {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        service: Service,
        region: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
        extra_headers: &[(String, String)],
    ) -> Result<Answer> {
        let payload = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| invalid("InvalidBody", e.to_string()))?,
            None => Vec::new(),
        };
        let project = if service.regional() {
            Some(self.project(region).await?)
        } else {
            None
        };
        self.send_with(
            method,
            service,
            region,
            project.as_deref(),
            path,
            query,
            &payload,
            body.is_some(),
            extra_headers,
        )
        .await
    }

    /// [`Self::send`] with the project header given (`None`: none, for global services).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send_with(
        &self,
        method: reqwest::Method,
        service: Service,
        region: &str,
        project: Option<&str>,
        path: &str,
        query: &[(String, String)],
        payload: &[u8],
        has_body: bool,
        extra_headers: &[(String, String)],
    ) -> Result<Answer> {
        self.config
            .retry
            .run_observed(&self.config.observer, || {
                self.send_once(
                    method.clone(),
                    service,
                    region,
                    project,
                    path,
                    query,
                    has_body.then_some(payload),
                    extra_headers,
                )
            })
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send_once(
        &self,
        method: reqwest::Method,
        service: Service,
        region: &str,
        project: Option<&str>,
        path: &str,
        query: &[(String, String)],
        payload: Option<&[u8]>,
        extra_headers: &[(String, String)],
    ) -> Result<Answer> {
        let (base, authority, prefix) = split_endpoint(&self.endpoint(service, region));
        let full_path = format!("{prefix}{path}");
        let sdk_date = jiff::Timestamp::now()
            .strftime(signer::DATE_FORMAT)
            .to_string();
        let mut headers: Vec<(String, String)> =
            vec![("Host".into(), authority), ("X-Sdk-Date".into(), sdk_date)];
        if let Some(p) = project {
            headers.push(("X-Project-Id".into(), p.to_owned()));
        }
        if payload.is_some() {
            headers.push((
                "Content-Type".into(),
                "application/json;charset=UTF-8".into(),
            ));
        }
        headers.extend(extra_headers.iter().cloned());
        let creds = &self.config.credentials;
        let auth = signer::authorization(
            &creds.access_key_id,
            creds.secret.expose(),
            method.as_str(),
            &full_path,
            query,
            &headers,
            payload.unwrap_or_default(),
        );
        let q = signer::canonical_query(query);
        let url = if q.is_empty() {
            format!("{base}{full_path}")
        } else {
            format!("{base}{full_path}?{q}")
        };
        tracing::debug!(provider = "huawei", method = %method, path, "calling ECS");
        let mut rb = self.http.request(method.clone(), url);
        for (k, v) in &headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        rb = rb
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(p) = payload {
            rb = rb.body(p.to_vec());
        }
        let answer = super::http::execute(
            &self.http,
            &self.config.policy,
            ProviderKind::Huawei,
            rb,
            "x-request-id",
        )
        .await?;
        let status = answer.status;
        let text = answer.text();
        let (request_id, retry_after) = (answer.request_id, answer.retry_after);
        if (200..300).contains(&status) {
            Ok(Answer {
                status,
                text,
                request_id,
            })
        } else {
            let err = errors::from_response(status, request_id, retry_after, &text);
            tracing::debug!(provider = "huawei", path, code = %err.code, kind = err.kind.as_str(), "ECS error");
            Err(err)
        }
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        service: Service,
        region: &str,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T> {
        let a = self
            .send(
                reqwest::Method::GET,
                service,
                region,
                path,
                query,
                None,
                &[],
            )
            .await?;
        decode(path, &a.text, a.request_id)
    }

    pub(super) async fn post<T: DeserializeOwned>(
        &self,
        region: &str,
        path: &str,
        body: &Value,
    ) -> Result<T> {
        let a = self
            .send(
                reqwest::Method::POST,
                Service::Ecs,
                region,
                path,
                &[],
                Some(body),
                &[],
            )
            .await?;
        decode(path, &a.text, a.request_id)
    }
}
