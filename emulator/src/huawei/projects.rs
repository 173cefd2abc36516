//! Per-region projects and the IAM calls that reveal them.
//!
//! A Huawei project belongs to exactly one region ("The ID of your project depending on your
//! region", SDK `huaweicloudsdkcore/auth/credentials.py` `BasicCredentials`; ECS API reference
//! "Obtaining a Project ID", https://support.huaweicloud.com/api-ecs/ecs_01_0016.html). An
//! emulated account has one default project per region of [`catalog::REGIONS`]: the
//! configured `project_id` is the one of [`catalog::HOME_REGION`], the others are derived
//! from it, so tests can compute them ([`project_of`]) or ask IAM like a real client:
//!
//! * `GET /v3/projects?name={region}` (KeystoneListProjects, what the SDK core calls when no
//!   project id is given: `BasicCredentials.process_auth_params`,
//!   https://support.huaweicloud.com/api-iam/iam_06_0001.html),
//! * `GET /v3/auth/projects` (KeystoneListAuthProjects),
//! * `GET /v3.0/OS-CREDENTIAL/credentials/{access_key}` (ShowPermanentAccessKey: the IAM user
//!   id behind an AK, needed for `metadata.op_svc_userid` and changeos `userid`,
//!   https://support.huaweicloud.com/api-iam/iam_08_0003.html).
//!
//! IAM answers errors as `{"error_msg", "error_code"}` (the gateway style).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Answer, HwError, HwResult, catalog};
use crate::config::Account;

fn digest32(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"/");
    }
    hex::encode(h.finalize())[..32].to_string()
}

/// The account's home project (its configured `project_id`, else derived from the AK).
pub fn home_project(account: &Account) -> String {
    account
        .project_id
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| digest32(&["project", &account.key_id, catalog::HOME_REGION]))
}

/// The account's project in `region` (`None` for a region the emulator does not know).
pub fn project_of(account: &Account, region: &str) -> Option<String> {
    if region == catalog::HOME_REGION {
        return Some(home_project(account));
    }
    catalog::REGIONS
        .contains(&region)
        .then(|| digest32(&["project", &home_project(account), region]))
}

/// The region a project of the account belongs to.
pub fn region_of(account: &Account, project: &str) -> Option<&'static str> {
    catalog::REGIONS
        .iter()
        .copied()
        .find(|r| project_of(account, r).as_deref() == Some(project))
}

/// The account (domain) id.
pub fn domain_id(account: &Account) -> String {
    digest32(&["domain", &account.key_id])
}

/// The IAM user id the AK belongs to.
pub fn user_id(account: &Account) -> String {
    digest32(&["user", &account.key_id])
}

/// The region of a regional host `<service>.<region>.myhuaweicloud.com` (or `.eu`), as the
/// `Host` header names it; `None` for any other host (the emulator's own address).
pub fn host_region(host: &str) -> Option<String> {
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [_, region, "myhuaweicloud", "com" | "eu"] => Some(region.to_ascii_lowercase()),
        _ => None,
    }
}

fn project_json(account: &Account, region: &str, id: &str) -> Value {
    let domain = domain_id(account);
    json!({
        "domain_id": domain, "is_domain": false, "parent_id": domain, "name": region,
        "description": "", "enabled": true, "id": id,
        "links": {"next": null, "previous": null,
                  "self": format!("https://iam.myhuaweicloud.com/v3/projects/{id}")},
    })
}

fn all_projects(account: &Account) -> Vec<(&'static str, String)> {
    catalog::REGIONS
        .iter()
        .filter_map(|r| project_of(account, r).map(|p| (*r, p)))
        .collect()
}

/// `GET /v3/projects` (KeystoneListProjects), filtered by `name` (exact) and `enabled`.
pub fn list_projects(account: &Account, query: &[(String, String)]) -> HwResult<Answer> {
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some(e) = q("enabled")
        && e != "true"
        && e != "false"
    {
        return Err(HwError::gateway(
            400,
            "IAM.0007",
            format!("Request parameter enabled={e} is invalid."),
        ));
    }
    let projects: Vec<Value> = all_projects(account)
        .into_iter()
        .filter(|(r, _)| q("name").is_none_or(|n| n == *r))
        .filter(|_| q("enabled") != Some("false"))
        .map(|(r, p)| project_json(account, r, &p))
        .collect();
    Ok(Answer::ok(json!({
        "projects": projects,
        "links": {"next": null, "previous": null, "self": "https://iam.myhuaweicloud.com/v3/projects"},
    })))
}

/// `GET /v3/auth/projects` (KeystoneListAuthProjects): the projects the caller can use.
pub fn list_auth_projects(account: &Account) -> HwResult<Answer> {
    let projects: Vec<Value> = all_projects(account)
        .into_iter()
        .map(|(r, p)| project_json(account, r, &p))
        .collect();
    Ok(Answer::ok(json!({
        "projects": projects,
        "links": {"next": null, "previous": null, "self": "https://iam.myhuaweicloud.com/v3/auth/projects"},
    })))
}

/// `GET /v3/auth/domains` (KeystoneListAuthDomains): the caller's account, which the SDK
/// core asks for when `GlobalCredentials` have no domain id
/// (`huaweicloudsdkcore/auth/credentials.py` `GlobalCredentials.__auto_get_domain_id`).
pub fn list_auth_domains(account: &Account) -> HwResult<Answer> {
    Ok(Answer::ok(json!({
        "domains": [{"id": domain_id(account), "name": format!("account-{}", &domain_id(account)[..8]),
                     "enabled": true, "description": "",
                     "links": {"self": "https://iam.myhuaweicloud.com/v3/domains"}}],
        "links": {"next": null, "previous": null, "self": "https://iam.myhuaweicloud.com/v3/auth/domains"},
    })))
}

/// `GET /v3.0/OS-CREDENTIAL/credentials/{access_key}` (ShowPermanentAccessKey). A user may
/// read its own keys; another user's AK is not found.
pub fn show_access_key(account: &Account, access_key: &str) -> HwResult<Answer> {
    if access_key != account.key_id {
        return Err(HwError::gateway(
            404,
            "IAM.0004",
            format!("Could not find credential: {access_key}."),
        ));
    }
    Ok(Answer::ok(json!({"credential": {
        "user_id": user_id(account), "access": account.key_id, "status": "active",
        "create_time": "2024-06-01T00:00:00.000000Z", "description": "",
        "last_use_time": "2024-06-01T00:00:00.000000Z",
    }})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Accounts, HUAWEI_DEMO_KEY_ID, HUAWEI_DEMO_PROJECT, Provider};

    fn demo() -> Account {
        Accounts::demo()
            .find(Provider::Huawei, HUAWEI_DEMO_KEY_ID)
            .unwrap()
            .clone()
    }

    #[test]
    fn every_region_has_its_own_project() {
        let a = demo();
        assert_eq!(
            project_of(&a, "cn-north-4").as_deref(),
            Some(HUAWEI_DEMO_PROJECT)
        );
        let other = project_of(&a, "ap-southeast-1").unwrap();
        assert_eq!(other.len(), 32);
        assert!(other.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(other, HUAWEI_DEMO_PROJECT);
        assert_eq!(region_of(&a, &other), Some("ap-southeast-1"));
        assert_eq!(region_of(&a, HUAWEI_DEMO_PROJECT), Some("cn-north-4"));
        assert_eq!(project_of(&a, "xx-nowhere-1"), None);
        assert_eq!(region_of(&a, "0123456789abcdef0123456789abcdef"), None);
    }

    #[test]
    fn regional_hosts() {
        assert_eq!(
            host_region("ecs.ap-southeast-1.myhuaweicloud.com:8443").as_deref(),
            Some("ap-southeast-1")
        );
        assert_eq!(
            host_region("iam.eu-west-101.myhuaweicloud.eu").as_deref(),
            Some("eu-west-101")
        );
        assert_eq!(host_region("127.0.0.1:4566"), None);
        assert_eq!(host_region("iam.myhuaweicloud.com"), None);
    }

    #[test]
    fn list_projects_by_name() {
        let a = demo();
        let q = vec![("name".to_string(), "ap-southeast-1".to_string())];
        let v = list_projects(&a, &q).unwrap().body.unwrap();
        let ps = v["projects"].as_array().unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0]["name"], "ap-southeast-1");
        assert_eq!(
            ps[0]["id"].as_str(),
            project_of(&a, "ap-southeast-1").as_deref()
        );
        let none = vec![("name".to_string(), "xx-nowhere-1".to_string())];
        let v = list_projects(&a, &none).unwrap().body.unwrap();
        assert!(v["projects"].as_array().unwrap().is_empty());
        let all = list_auth_projects(&a).unwrap().body.unwrap();
        assert_eq!(
            all["projects"].as_array().unwrap().len(),
            catalog::REGIONS.len()
        );
    }

    #[test]
    fn access_key_names_its_user() {
        let a = demo();
        let v = show_access_key(&a, HUAWEI_DEMO_KEY_ID)
            .unwrap()
            .body
            .unwrap();
        assert_eq!(
            v["credential"]["user_id"].as_str(),
            Some(user_id(&a).as_str())
        );
        assert_eq!(show_access_key(&a, "OTHERAK").unwrap_err().code, "IAM.0004");
    }
}
