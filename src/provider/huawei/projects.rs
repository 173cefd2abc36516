//! Which Huawei project a call in a region uses.
//!
//! A project id belongs to one region: "The ID of your project depending on your region"
//! (SDK `huaweicloudsdkcore/auth/credentials.py` `BasicCredentials.__init__`); "项目ID ...
//! 不同区域的项目ID不同" (ECS API reference "获取项目ID",
//! https://support.huaweicloud.com/api-ecs/ecs_01_0016.html). Every ECS/IMS/VPC call in region
//! R therefore carries R's project in its path and in the signed `X-Project-Id`.
//!
//! Resolution for region R, in order:
//! 1. the credential's explicit map (`spec.projectIds`, plus the older `spec.projectId`
//!    as the project of [`LEGACY_PROJECT_REGION`]; see `src/api/credential.rs`);
//! 2. without any map, a single project id given to the client (the CLI's `--project-id`),
//!    used as the SDK uses `BasicCredentials(ak, sk, project_id)`: for the region called;
//! 3. otherwise IAM, as the SDK core does when no project id is given:
//!    `GET {iam}/v3/projects?name=R` (KeystoneListProjects), exactly one project expected
//!    (none: "Failed to get project id of region", several: "Multiple project ids found"),
//!    cached per client (SDK `BasicCredentials.process_auth_params`,
//!    https://support.huaweicloud.com/api-iam/iam_06_0001.html).
//!
//! A region without a project is an error before any ECS request ([`no_project`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::{HuaweiClient, Service, VERIFY_REGION, decode};
use crate::provider::common::invalid;
use crate::provider::{CloudProvider, ErrorKind, ProviderError, Region, Result};

/// The region whose project `spec.projectId` (the single id of credentials written before
/// `spec.projectIds`) is: the only region such credentials were ever verified in.
pub const LEGACY_PROJECT_REGION: &str = "cn-north-4";

/// Regions with a regional IAM endpoint `https://iam.<region>.myhuaweicloud.com` in the SDK
/// (`huaweicloudsdkcore/auth/endpoint.py` `__IAM_ENDPOINT_DICT`); other regions use the
/// global endpoint [`GLOBAL_IAM`] (`huaweicloudsdkcore/auth/internal.py`
/// `IamHelper.DEFAULT_ENDPOINT`).
pub const IAM_REGIONS: &[&str] = &[
    "cn-north-2",
    "cn-north-4",
    "cn-north-1",
    "cn-east-2",
    "cn-east-3",
    "cn-south-1",
    "cn-south-2",
    "cn-southwest-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "af-south-1",
    "sa-brazil-1",
    "la-south-2",
    "na-mexico-1",
    "la-north-2",
    "cn-north-9",
    "eu-west-0",
    "my-kualalumpur-1",
    "ru-moscow-1",
    "me-east-1",
    "ap-southeast-4",
    "ae-ad-1",
    "cn-east-4",
    "cn-east-5",
    "tr-west-1",
    "cn-north-12",
];
pub const GLOBAL_IAM: &str = "https://iam.myhuaweicloud.com";

/// The IAM endpoint the SDK uses for `region`.
pub fn iam_endpoint(region: &str) -> String {
    if IAM_REGIONS.contains(&region) {
        format!("https://iam.{region}.myhuaweicloud.com")
    } else {
        GLOBAL_IAM.to_owned()
    }
}

/// Whether `s` has the form of a project id (32 lowercase hex digits, as the CRD requires).
pub fn is_project_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Huawei-only client settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HuaweiSettings {
    /// Project id per region (region id → 32-hex project id).
    pub project_ids: BTreeMap<String, String>,
    /// The IAM user id the AK belongs to (`spec.userId`); looked up with
    /// ShowPermanentAccessKey when needed and not given.
    pub user_id: Option<String>,
}

/// Known projects: the explicit ones and those IAM named (shared by the clones of a client).
#[derive(Clone, Debug, Default)]
pub struct Projects {
    explicit: BTreeMap<String, String>,
    single: Option<String>,
    learnt: Arc<Mutex<BTreeMap<String, String>>>,
}

/// Where the project of a region comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum Known {
    Yes(String),
    /// Ask IAM.
    Lookup,
}

impl Projects {
    pub fn new(explicit: BTreeMap<String, String>, single: Option<String>) -> Self {
        Self {
            explicit,
            single: single.filter(|p| !p.is_empty()),
            learnt: Arc::default(),
        }
    }

    /// The configured regions and their projects (what the credential check verifies).
    pub fn explicit(&self) -> &BTreeMap<String, String> {
        &self.explicit
    }

    /// The single, region-less project id (CLI), when no map is configured.
    pub fn single(&self) -> Option<&str> {
        self.explicit
            .is_empty()
            .then_some(self.single.as_deref())
            .flatten()
    }

    pub fn known(&self, region: &str) -> Known {
        if let Some(p) = self.explicit.get(region) {
            return Known::Yes(p.clone());
        }
        if let Some(p) = self.single() {
            return Known::Yes(p.to_owned());
        }
        match self.learnt.lock().expect("projects lock").get(region) {
            Some(p) => Known::Yes(p.clone()),
            None => Known::Lookup,
        }
    }

    pub fn learn(&self, region: &str, project: &str) {
        self.learnt
            .lock()
            .expect("projects lock")
            .insert(region.to_owned(), project.to_owned());
    }
}

/// `GET /v3/projects` answer (SDK `huaweicloudsdkiam/v3/model/keystone_list_projects_response.py`).
#[derive(Debug, Deserialize)]
pub struct ProjectList {
    #[serde(default)]
    pub projects: Vec<ProjectItem>,
}

#[derive(Debug, Deserialize)]
pub struct ProjectItem {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// The error for a region without a project: terminal until the credential changes, with
/// what to do. `why` says what IAM answered.
pub fn no_project(region: &str, why: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::InvalidRequest,
        "ProjectNotFound",
        format!(
            "no Huawei project for region {region}: the CloudCredential has no \
             spec.projectIds.{region} and {why}. Add spec.projectIds.{region} (the region's \
             32-hex project id: console, My Credentials, Projects) to the CloudCredential"
        ),
    )
}

/// The one project IAM lists for `region`, as the SDK core decides.
pub fn pick(region: &str, list: ProjectList) -> Result<String, ProviderError> {
    let mut hits: Vec<String> = list
        .projects
        .into_iter()
        .filter(|p| p.name.is_empty() || p.name == region)
        .map(|p| p.id)
        .collect();
    match hits.len() {
        0 => Err(no_project(
            region,
            "IAM (KeystoneListProjects name={region}) lists no project of that name",
        )),
        1 => Ok(hits.remove(0)),
        n => Err(ProviderError::new(
            ErrorKind::InvalidRequest,
            "ProjectAmbiguous",
            format!(
                "IAM lists {n} projects named {region}: set spec.projectIds.{region} on the \
                 CloudCredential to the one to use"
            ),
        )),
    }
}

/// What a failed IAM lookup means for the caller: throttling and outages stay retryable,
/// bad keys stay an auth error, anything else (typically an IAM user without the
/// `iam:projects:listProjects` permission, IAM.0002/403) is "no project for the region".
pub fn lookup_failed(region: &str, e: ProviderError) -> ProviderError {
    if e.is_retryable() || (e.kind == ErrorKind::Auth && e.code.starts_with("APIGW.")) {
        return e;
    }
    no_project(
        region,
        &format!("looking it up with IAM failed ({}: {})", e.code, e.message),
    )
}

/// ECS regions known to Huawei's SDK (`huaweicloudsdkecs.v2.region.ecs_region`). Huawei
/// has no ECS call that lists regions.
pub const REGIONS: &[&str] = &[
    "cn-north-1",
    "cn-north-4",
    "cn-north-2",
    "cn-north-9",
    "cn-north-11",
    "cn-north-12",
    "cn-south-1",
    "cn-south-2",
    "cn-south-4",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-east-5",
    "cn-southwest-2",
    "cn-southwest-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "af-south-1",
    "af-north-1",
    "sa-brazil-1",
    "la-north-2",
    "la-south-2",
    "na-mexico-1",
    "tr-west-1",
    "me-east-1",
    "ae-ad-1",
    "eu-west-0",
    "eu-west-101",
    "my-kualalumpur-1",
    "ru-moscow-1",
];

impl HuaweiClient {
    /// The project of `region` (see [`projects`]): configured, or looked up with IAM once.
    pub async fn project(&self, region: &str) -> Result<String> {
        if let Known::Yes(p) = self.projects.known(region) {
            return Ok(p);
        }
        // KeystoneListProjects, signed with the AK/SK and no project, as the SDK core does.
        let answer = Box::pin(self.send_with(
            reqwest::Method::GET,
            Service::Iam,
            region,
            None,
            "/v3/projects",
            &[("name".to_owned(), region.to_owned())],
            &[],
            false,
            &[],
        ))
        .await
        .map_err(|e| lookup_failed(region, e))?;
        let list: ProjectList = decode("IAM project list", &answer.text, answer.request_id)?;
        let p = pick(region, list)?;
        if !is_project_id(&p) {
            return Err(no_project(
                region,
                "IAM answered a project id that is not 32 hex digits",
            ));
        }
        self.projects.learn(region, &p);
        Ok(p)
    }

    /// The regions of `regions()`, which is also the credential check.
    pub(super) async fn checked_regions(&self) -> Result<Vec<Region>> {
        // ECS has no region listing, but this is also the credential check, so it must be
        // authenticated calls. Projects are per region (see this module): every configured
        // region is checked with its own project (ListServerAzInfo), and those are the
        // regions reported. Without a map (the CLI's single project id, or none: IAM) the
        // check runs in cn-north-4 and the SDK's region list is reported.
        let configured = self.projects.explicit().clone();
        if configured.is_empty() {
            self.zones(VERIFY_REGION).await?;
            return Ok(REGIONS
                .iter()
                .map(|r| Region {
                    id: (*r).to_owned(),
                    name: (*r).to_owned(),
                    available: true,
                })
                .collect());
        }
        let mut out = Vec::new();
        for (region, project) in &configured {
            let zones = self.zones(region).await.map_err(|mut e| {
                e.message = format!(
                    "region {region} with project {project} (spec.projectIds.{region}): {}",
                    e.message
                );
                e
            })?;
            // Zone ids start with their region's id (`cn-north-4a`, `ap-southeast-1a`:
            // API/ecs_02_1501 examples; Regions and Endpoints,
            // https://developer.huaweicloud.com/intl/en-us/endpoint): a project that answers
            // with another region's zones is not this region's project.
            if let Some(z) = zones.iter().find(|z| !z.id.starts_with(region.as_str())) {
                return Err(invalid(
                    "ProjectRegionMismatch",
                    format!(
                        "spec.projectIds.{region} = {project} is not a project of {region}: \
                         it answers with availability zone {} of another region",
                        z.id
                    ),
                ));
            }
            out.push(Region {
                id: region.clone(),
                name: region.clone(),
                available: true,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_then_single_then_iam() {
        let map: BTreeMap<String, String> = [("cn-north-4".to_string(), "a".repeat(32))].into();
        let p = Projects::new(map.clone(), Some("b".repeat(32)));
        assert_eq!(p.known("cn-north-4"), Known::Yes("a".repeat(32)));
        // A map is configured: the single id is not used for other regions.
        assert_eq!(p.known("ap-southeast-1"), Known::Lookup);
        p.learn("ap-southeast-1", &"c".repeat(32));
        assert_eq!(
            p.clone().known("ap-southeast-1"),
            Known::Yes("c".repeat(32))
        );
        let cli = Projects::new(BTreeMap::new(), Some("b".repeat(32)));
        assert_eq!(cli.known("ap-southeast-1"), Known::Yes("b".repeat(32)));
        let none = Projects::new(BTreeMap::new(), None);
        assert_eq!(none.known("cn-north-4"), Known::Lookup);
    }

    #[test]
    fn iam_answers() {
        let one = ProjectList {
            projects: vec![ProjectItem {
                id: "p1".into(),
                name: "ap-southeast-1".into(),
            }],
        };
        assert_eq!(pick("ap-southeast-1", one).unwrap(), "p1");
        let e = pick("ap-southeast-1", ProjectList { projects: vec![] }).unwrap_err();
        assert_eq!(e.code, "ProjectNotFound");
        assert_eq!(e.kind, ErrorKind::InvalidRequest);
        assert!(e.message.contains("spec.projectIds.ap-southeast-1"), "{e}");
        let two = ProjectList {
            projects: vec![
                ProjectItem {
                    id: "p1".into(),
                    name: "r".into(),
                },
                ProjectItem {
                    id: "p2".into(),
                    name: "r".into(),
                },
            ],
        };
        assert_eq!(pick("r", two).unwrap_err().code, "ProjectAmbiguous");
    }

    #[test]
    fn failed_lookups() {
        let denied = ProviderError::new(ErrorKind::Auth, "IAM.0002", "not authorized");
        assert_eq!(lookup_failed("r", denied).code, "ProjectNotFound");
        let bad_key = ProviderError::new(ErrorKind::Auth, "APIGW.0301", "bad signature");
        assert_eq!(lookup_failed("r", bad_key).code, "APIGW.0301");
        let busy = ProviderError::new(ErrorKind::Throttled, "APIGW.0308", "slow down");
        assert_eq!(lookup_failed("r", busy).kind, ErrorKind::Throttled);
    }

    #[test]
    fn iam_endpoints_follow_the_sdk() {
        assert_eq!(
            iam_endpoint("ap-southeast-1"),
            "https://iam.ap-southeast-1.myhuaweicloud.com"
        );
        assert_eq!(iam_endpoint("eu-west-101"), GLOBAL_IAM);
        assert!(is_project_id(&"0a".repeat(16)));
        assert!(!is_project_id("0A1B"));
    }
}
