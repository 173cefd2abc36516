//! A server's security groups, changed per port (NIC) with the VPC v3 port APIs on
//! `https://vpc.{region}.myhuaweicloud.com` (SDK huaweicloudsdkvpc/v3/region/vpc_region.py),
//! the documented successors of the deprecated Nova actions `addSecurityGroup` /
//! `removeSecurityGroup` ("添加安全组（废弃）/移除安全组（废弃）", API
//! https://support.huaweicloud.com/api-ecs/ecs_03_0601.html, ecs_03_0602.html):
//!
//! - ShowPort `GET /v3/{project_id}/ports/{port_id}` (the port's own `security_groups`);
//! - AddSecurityGroups `PUT /v3/{project_id}/ports/{port_id}/insert-security-groups`
//!   `{"port": {"security_groups": [ids]}}` (at most 100 groups per port),
//!   https://support.huaweicloud.com/api-vpc/AddSecurityGroups.html;
//! - RemoveSecurityGroups `PUT /v3/{project_id}/ports/{port_id}/remove-security-groups`
//!   `{"port": {"security_groups": [ids]}}`,
//!   https://support.huaweicloud.com/api-vpc/RemoveSecurityGroups.html.
//!
//! Methods and paths: SDK huaweicloudsdkvpc/v3/vpc_client.py (`_show_port_http_info`,
//! `_add_security_groups_http_info`, `_remove_security_groups_http_info`); bodies:
//! `add_security_groups_request_body.py` → `insert_security_group_option.py`,
//! `remove_security_groups_request_body.py` → `remove_security_group_option.py`. The port
//! ids are the server's `addresses[].OS-EXT-IPS:port_id` (ShowServer).

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::json;

use super::transport::Service;
use super::*;

/// At most this many security groups on one port ("一个端口默认最多支持100个安全组", API
/// AddSecurityGroups `security_groups`).
pub const MAX_PORT_SECURITY_GROUPS: usize = 100;

#[derive(Debug, Deserialize)]
struct ShowPortResponse {
    port: Port,
}

#[derive(Debug, Deserialize)]
struct Port {
    #[serde(default)]
    security_groups: Vec<String>,
}

/// The two bodies for one port: groups to insert and groups to remove (`None`: no call).
pub fn port_changes(
    have: &[String],
    want: &BTreeSet<String>,
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let add: Vec<&String> = want.iter().filter(|g| !have.contains(g)).collect();
    let remove: Vec<&String> = have.iter().filter(|g| !want.contains(*g)).collect();
    let body =
        |ids: Vec<&String>| (!ids.is_empty()).then(|| json!({"port": {"security_groups": ids}}));
    (body(add), body(remove))
}

impl HuaweiClient {
    /// Make the security groups of every port of server `id` exactly `wanted`: insert the
    /// missing ones first, then remove the others, so a port is never left without one.
    pub(super) async fn set_security_groups(
        &self,
        region: &str,
        id: &str,
        wanted: &[String],
    ) -> Result<()> {
        if wanted.is_empty() {
            return Err(invalid(
                "InvalidSecurityGroups",
                "a Huawei server must stay in at least one security group",
            ));
        }
        wire::check_security_group_ids(wanted)?;
        let want: BTreeSet<String> = wanted.iter().cloned().collect();
        if want.len() > MAX_PORT_SECURITY_GROUPS {
            return Err(invalid(
                "TooManySecurityGroups",
                format!(
                    "{} security groups given; a Huawei port holds at most {MAX_PORT_SECURITY_GROUPS}",
                    want.len()
                ),
            ));
        }
        let pid = self.project(region).await?;
        let path = format!("/v1/{pid}/cloudservers/{id}");
        let server: wire::ShowServerResponse = self.get(Service::Ecs, region, &path, &[]).await?;
        let ports = server.server.port_ids();
        if ports.is_empty() {
            return Err(ProviderError::new(
                ErrorKind::Transient,
                "NoPort",
                format!(
                    "server {id} has no network port yet; its security groups are set once it has one"
                ),
            ));
        }
        for port in ports {
            let base = format!("/v3/{pid}/ports/{port}");
            let shown: ShowPortResponse = self.get(Service::Vpc, region, &base, &[]).await?;
            let (add, remove) = port_changes(&shown.port.security_groups, &want);
            for (suffix, body) in [
                ("insert-security-groups", add),
                ("remove-security-groups", remove),
            ] {
                let Some(body) = body else { continue };
                self.send(
                    reqwest::Method::PUT,
                    Service::Vpc,
                    region,
                    &format!("{base}/{suffix}"),
                    &[],
                    Some(&body),
                    &[],
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_the_missing_and_removes_the_others() {
        let want: BTreeSet<String> = ["b", "c"].iter().map(|s| s.to_string()).collect();
        let (add, remove) = port_changes(&["a".into(), "b".into()], &want);
        assert_eq!(add, Some(json!({"port": {"security_groups": ["c"]}})));
        assert_eq!(remove, Some(json!({"port": {"security_groups": ["a"]}})));
        let (add, remove) = port_changes(&["b".into(), "c".into()], &want);
        assert_eq!((add, remove), (None, None));
    }
}
