//! The operator tools' access to a cloud: `--provider`, keys and endpoint, and the table
//! printer their answers go through.

use clap::{Args, ValueEnum};
use cloudinstance_controller::provider::{
    AnyProvider, ClientConfig, CloudProvider, Credentials, ProviderKind, SecretString,
};

/// The clouds, as the command line names them.
#[derive(Clone, Copy, ValueEnum)]
pub enum Cloud {
    /// Tencent Cloud CVM (API 3.0, TC3-HMAC-SHA256).
    Tencent,
    /// Alibaba Cloud ECS (RPC API 2014-05-26).
    Alibaba,
    /// Huawei Cloud ECS (needs --project-id).
    Huawei,
}

impl From<Cloud> for ProviderKind {
    fn from(c: Cloud) -> Self {
        match c {
            Cloud::Tencent => ProviderKind::Tencent,
            Cloud::Alibaba => ProviderKind::Alibaba,
            Cloud::Huawei => ProviderKind::Huawei,
        }
    }
}

#[derive(Args, Clone)]
pub struct CloudArgs {
    /// Which cloud to ask.
    #[arg(long, value_enum, ignore_case = true)]
    pub provider: Cloud,
    /// API base URL override (e.g. the local emulator, http://127.0.0.1:PORT).
    #[arg(long, env = "CIC_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Access key id; the secret is read from CIC_SECRET_ACCESS_KEY (never a flag, so it
    /// stays out of shell history and process lists), the session token of temporary
    /// (Tencent STS) credentials from CIC_SESSION_TOKEN.
    #[arg(long, env = "CIC_ACCESS_KEY_ID")]
    pub access_key_id: String,
    /// Huawei project id (of the region; required for huawei).
    #[arg(long, env = "CIC_PROJECT_ID")]
    pub project_id: Option<String>,
}

pub fn provider_from(args: &CloudArgs) -> Result<AnyProvider, String> {
    let secret = std::env::var("CIC_SECRET_ACCESS_KEY").map_err(|_| {
        "set CIC_SECRET_ACCESS_KEY to the secret key (it is never taken as a flag)".to_string()
    })?;
    let mut cfg = ClientConfig::new(Credentials {
        access_key_id: args.access_key_id.clone(),
        secret: SecretString::new(secret),
        project_id: args.project_id.clone(),
    });
    // Temporary credentials: the session token, like the secret, only from the environment.
    cfg.session_token = std::env::var("CIC_SESSION_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
        .map(SecretString::new);
    // The CLI user is the operator: the endpoint they name on the command line is allowed.
    if let Some(e) = &args.endpoint {
        cfg.trust_endpoint(e.clone());
    }
    AnyProvider::new(args.provider.into(), cfg).map_err(|e| e.to_string())
}

/// `verify`: check a key pair with a cheap authenticated call (DescribeRegions).
pub async fn verify(cloud: CloudArgs) -> Result<(), String> {
    let p = provider_from(&cloud)?;
    match p.regions().await {
        Ok(r) => {
            println!(
                "ok: keys accepted by {}; {} regions available",
                ProviderKind::from(cloud.provider),
                r.len()
            );
            Ok(())
        }
        Err(e) => Err(format!("keys rejected: {e}")),
    }
}

/// Print rows as an aligned table.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut w: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    println!("{}", line(headers.iter().map(|s| s.to_string()).collect()));
    for r in rows {
        println!("{}", line(r));
    }
}
