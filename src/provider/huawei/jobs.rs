//! The asynchronous side of creation: adopting the servers of an earlier create (by the
//! token tag) and waiting for a create job to name its servers.

use std::time::{Duration, Instant};

use super::*;

impl HuaweiClient {
    /// Servers an earlier create with this token already made (not yet deleted).
    pub(super) async fn adopt(&self, region: &str, token: &str) -> Result<Vec<String>> {
        let tag = format!("{TOKEN_TAG}={}", token_tag_value(token));
        let servers = self.list_servers(region, &[("tags".into(), tag)]).await?;
        let mut ids: Vec<String> = servers
            .into_iter()
            .filter(|s| {
                !matches!(
                    s.status.as_deref(),
                    None | Some("DELETED") | Some("SOFT_DELETED")
                )
            })
            .map(|s| s.id)
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Poll a job until it names `count` servers, finishes, or the wait runs out.
    pub(super) async fn wait_for_servers(
        &self,
        region: &str,
        job_id: &str,
        count: usize,
    ) -> Result<Vec<String>> {
        let pid = self.project(region).await?;
        let path = format!("/v1/{}/jobs/{}", pid, job_id);
        let deadline = Instant::now() + self.job_wait;
        let mut delay = Duration::from_millis(200);
        loop {
            let job: wire::Job = self.get(Service::Ecs, region, &path, &[]).await?;
            let ids = job.server_ids();
            match job.status.as_str() {
                "SUCCESS" => return Ok(ids),
                "FAIL" => {
                    let sub = job.entities.sub_jobs.iter().find(|s| s.status == "FAIL");
                    let code = job
                        .error_code
                        .clone()
                        .or_else(|| sub.and_then(|s| s.error_code.clone()))
                        .unwrap_or_else(|| "JobFailed".into());
                    let reason = job
                        .fail_reason
                        .clone()
                        .or_else(|| sub.and_then(|s| s.fail_reason.clone()))
                        .or_else(|| sub.and_then(|s| s.entities.errorcode_message.clone()))
                        .unwrap_or_else(|| format!("create job {job_id} failed"));
                    let kind = match errors::classify(400, &code, &reason) {
                        // A failed job is not retried blindly: only throttling stays retryable.
                        ErrorKind::Transient => ErrorKind::InvalidRequest,
                        k => k,
                    };
                    return Err(ProviderError::new(kind, code, reason));
                }
                _ if ids.len() >= count && count > 0 => return Ok(ids),
                _ => {}
            }
            if Instant::now() + delay > deadline {
                return Err(ProviderError::new(
                    ErrorKind::Transient,
                    "JobPending",
                    format!(
                        "create job {job_id} has not named its servers within {}s; \
                         retrying the create adopts them",
                        self.job_wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}
