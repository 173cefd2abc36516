//! Asynchronous ECS jobs (`GET /v1/{project_id}/jobs/{job_id}`): every create, batch
//! action, delete, resize and OS change answers with a job id whose status is computed
//! from the clock: `RUNNING` until the operation settles, then `SUCCESS` (or `FAIL`).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use serde_json::{Map, Value, json};

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub project: String,
    pub job_type: String,
    pub sub_type: String,
    pub begin_ms: i64,
    pub end_ms: i64,
    pub servers: Vec<String>,
    pub sub_ids: Vec<String>,
    /// `(error_code, fail_reason)` when the job fails.
    pub fail: Option<(String, String)>,
}

/// What an `X-Client-Token` identified: the first request with it and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    /// SHA-256 of the first request (version path and canonical JSON body, `dry_run`
    /// included): the same token with other parameters is `Ecs.0122`.
    pub digest: String,
    /// When the token was first used: it expires 8 hours later (`Ecs.0124`).
    pub first_used_ms: i64,
    /// `(job id, server ids)` of the create, `None` for a dry run (answered 202).
    pub created: Option<(String, Vec<String>)>,
}

#[derive(Default)]
struct Jobs {
    by_id: HashMap<String, Job>,
    /// `(account, X-Client-Token)` → the request it identified.
    tokens: HashMap<(String, String), TokenUse>,
}

static JOBS: LazyLock<Mutex<Jobs>> = LazyLock::new(|| Mutex::new(Jobs::default()));
const KEEP_MS: i64 = 24 * 3600 * 1000;

fn lock() -> std::sync::MutexGuard<'static, Jobs> {
    JOBS.lock().unwrap_or_else(|p| p.into_inner())
}

fn job_id() -> String {
    format!("ff808082{}", hex::encode(rand::random::<[u8; 12]>()))
}

pub fn create(
    project: &str,
    job_type: &str,
    sub_type: &str,
    now: i64,
    end_ms: i64,
    servers: Vec<String>,
    fail: Option<(String, String)>,
) -> String {
    let id = job_id();
    let sub_ids = servers.iter().map(|_| job_id()).collect();
    let mut jobs = lock();
    if jobs.by_id.len() > 50_000 {
        jobs.by_id.retain(|_, j| now - j.end_ms < KEEP_MS);
    }
    jobs.by_id.insert(
        id.clone(),
        Job {
            id: id.clone(),
            project: project.to_string(),
            job_type: job_type.to_string(),
            sub_type: sub_type.to_string(),
            begin_ms: now,
            end_ms: end_ms.max(now),
            servers,
            sub_ids,
            fail,
        },
    );
    id
}

pub fn get(id: &str) -> Option<Job> {
    lock().by_id.get(id).cloned()
}

pub fn token_lookup(account: &str, token: &str) -> Option<TokenUse> {
    lock()
        .tokens
        .get(&(account.to_string(), token.to_string()))
        .cloned()
}

pub fn token_record(account: &str, token: &str, used: TokenUse) {
    let mut jobs = lock();
    if jobs.tokens.len() > 50_000 {
        let now = used.first_used_ms;
        jobs.tokens
            .retain(|_, u| now - u.first_used_ms < 2 * TOKEN_LIFETIME_MS);
    }
    jobs.tokens
        .insert((account.to_string(), token.to_string()), used);
}

/// Lifetime of an `X-Client-Token`: 8 hours (ECS API reference "Idempotent Requests",
/// https://support.huaweicloud.com/intl/en-us/api-ecs/en-us_topic_0000001105258814.html).
pub const TOKEN_LIFETIME_MS: i64 = 8 * 3600 * 1000;

fn time(ms: i64) -> Value {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| Value::String(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
        .unwrap_or(Value::Null)
}

/// The `ShowJob` body at `now`.
pub fn render(job: &Job, now: i64) -> Value {
    let done = now >= job.end_ms;
    let status = match (&job.fail, done) {
        (_, false) => "RUNNING",
        (Some(_), true) => "FAIL",
        (None, true) => "SUCCESS",
    };
    let (code, reason) = match (&job.fail, done) {
        (Some((c, r)), true) => (Value::String(c.clone()), Value::String(r.clone())),
        _ => (Value::Null, Value::Null),
    };
    let subs: Vec<Value> = job
        .servers
        .iter()
        .zip(&job.sub_ids)
        .map(|(server, sub)| {
            json!({
                "status": status,
                "entities": {"server_id": server},
                "job_id": sub,
                "job_type": job.sub_type,
                "begin_time": time(job.begin_ms),
                "end_time": if done { time(job.end_ms) } else { Value::String(String::new()) },
                "error_code": code,
                "fail_reason": reason,
            })
        })
        .collect();
    let mut entities = Map::new();
    entities.insert("sub_jobs_total".into(), json!(subs.len()));
    entities.insert("sub_jobs".into(), Value::Array(subs));
    if job.servers.len() == 1 && job.sub_type.is_empty() {
        entities.insert("server_id".into(), json!(job.servers[0]));
    }
    json!({
        "status": status,
        "entities": Value::Object(entities),
        "job_id": job.id,
        "job_type": job.job_type,
        "begin_time": time(job.begin_ms),
        "end_time": if done { time(job.end_ms) } else { Value::String(String::new()) },
        "error_code": code,
        "fail_reason": reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_then_success() {
        let id = create(
            "p",
            "createServer",
            "createSingleServer",
            1000,
            3000,
            vec!["s1".into()],
            None,
        );
        let j = get(&id).unwrap();
        assert_eq!(render(&j, 2000)["status"], "RUNNING");
        let done = render(&j, 3000);
        assert_eq!(done["status"], "SUCCESS");
        assert_eq!(
            done["entities"]["sub_jobs"][0]["entities"]["server_id"],
            "s1"
        );
        let failed = create(
            "p",
            "createServer",
            "createSingleServer",
            0,
            10,
            vec!["s2".into()],
            Some(("Ecs.0002".into(), "boom".into())),
        );
        assert_eq!(render(&get(&failed).unwrap(), 11)["status"], "FAIL");
    }
}
