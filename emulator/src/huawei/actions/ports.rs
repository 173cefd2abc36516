//! VPC v3 ports (`vpc.<region>.myhuaweicloud.com`): ShowPort, and a port's security groups
//! changed with AddSecurityGroups (`insert-security-groups`) and RemoveSecurityGroups
//! (`remove-security-groups`), the documented successors of the deprecated Nova
//! `addSecurityGroup`/`removeSecurityGroup` actions (API ecs_03_0601/0602 "（废弃）").
//!
//! Sources: API https://support.huaweicloud.com/api-vpc/AddSecurityGroups.html,
//! https://support.huaweicloud.com/api-vpc/RemoveSecurityGroups.html, ShowPort; SDK
//! huaweicloudsdkvpc/v3/vpc_client.py (`_add_security_groups_http_info`,
//! `_remove_security_groups_http_info`, `_show_port_http_info`) and the models
//! `add_security_groups_request_body.py`, `insert_security_group_option.py`,
//! `remove_security_groups_request_body.py`, `remove_security_group_option.py`, `port.py`.
//! Errors have the V3 shape `{request_id, error_code, error_msg}`; parameter errors of the
//! port APIs are `VPC.2500` "Param is invalid." (400), error codes
//! https://support.huaweicloud.com/api-vpc/vpc_api_0003.html.
//!
//! Every emulated server has one port (its primary NIC, `extra.port_id`), whose security
//! groups are the server's.

use super::*;

/// "一个端口默认最多支持100个安全组" (InsertSecurityGroupOption `security_groups`, API
/// AddSecurityGroups).
pub const MAX_PORT_SECURITY_GROUPS: usize = 100;

/// `VPC.2500` "Param is invalid." (400), the port APIs' parameter error.
pub fn param_invalid(detail: impl std::fmt::Display) -> HwError {
    HwError::gateway(400, "VPC.2500", format!("Param is invalid. {detail}"))
}

/// An unknown port: 404 `VPC.2502` "Port xx not found" (端口资源不存在), the code the VPC
/// error table (https://support.huaweicloud.com/api-vpc/vpc_api_0003.html, port module)
/// gives 查询端口 (ShowPort) and 查询端口列表; it lists no row for the insert/remove
/// security-group calls, which get the same not-found answer here. (VPC.2502 with 500 is
/// the same table's back-end failure.)
fn port_not_found(port: &str) -> HwError {
    HwError::gateway(404, "VPC.2502", format!("Port {port} not found"))
}

/// Every group of a request must be a security group of the region: "安全组的ID列表" of UUIDs
/// (SDK huaweicloudsdkvpc/v3/model/insert_security_group_option.py,
/// remove_security_group_option.py `security_groups`; API AddSecurityGroups.html,
/// RemoveSecurityGroups.html). The VPC error table
/// (https://support.huaweicloud.com/api-vpc/vpc_api_0003.html; 2024 snapshot
/// `huaweicloudDocs/vpc` `cn.zh-cn/API参考/错误码.md`, module 查询安全组) has no rows for the
/// port calls, so they answer with the security-group codes: an id that is not a UUID →
/// 400 `VPC.0601` "Securitygroup id is invalid." (安全组参数错误, 请确认安全组的id是否合法); a
/// UUID the region does not have → 404 `VPC.0603` "Securitygroup is not exist." (安全组不存在,
/// 请确认安全组的id是否填写正确或该租户下是否确实存在该安全组). Checked after the 100-per-port
/// limit, on the whole list (nothing changes when one group is unknown).
fn check_groups_exist(ctx: &Ctx, ids: &[String]) -> HwResult<()> {
    for id in ids {
        if !super::create::is_uuid(id) {
            return Err(HwError::gateway(
                400,
                "VPC.0601",
                format!("Securitygroup id is invalid. {id}"),
            ));
        }
        if catalog::security_group(ctx.region, id).is_none() {
            return Err(HwError::gateway(
                404,
                "VPC.0603",
                format!("Securitygroup is not exist. {id}"),
            ));
        }
    }
    Ok(())
}

/// The server owning `port` in the caller's project.
fn server_of_port(store: &Store, ctx: &Ctx, port: &str) -> HwResult<String> {
    store
        .list(ctx.now, |i| {
            visible(i, ctx) && i.extra.get("port_id").and_then(Value::as_str) == Some(port)
        })
        .first()
        .map(|i| i.id.clone())
        .ok_or_else(|| port_not_found(port))
}

/// The `Port` object (SDK huaweicloudsdkvpc/v3/model/port.py).
fn render_port(i: &Instance, port: &str) -> Value {
    let ip = i.private_ips.first().cloned().unwrap_or_default();
    let created = render::time(i.created_ms);
    json!({
        "id": port,
        "name": "",
        "description": "",
        "admin_state_up": true,
        "device_id": i.id,
        "device_owner": format!("compute:{}", i.zone),
        "instance_id": i.id,
        "instance_type": "",
        "mac_address": i.extra.get("mac").cloned().unwrap_or(Value::Null),
        "port_security_enabled": true,
        "private_ips": [{"subnet_cidr_id": i.subnet_id.clone().unwrap_or_default(), "ip_address": ip}],
        "project_id": i.project_id,
        "tenant_id": i.project_id,
        "security_groups": i.security_groups,
        "status": "ACTIVE",
        "virsubnet_id": i.subnet_id.clone().unwrap_or_default(),
        "vpc_id": i.vpc_id.clone().unwrap_or_default(),
        "zone_id": i.zone,
        "created_at": created,
        "updated_at": render::time(i.updated_ms),
        "tags": [],
        "allowed_address_pairs": [],
    })
}

/// `GET /v3/{project_id}/ports/{port_id}` (ShowPort).
pub(super) fn show_port(ctx: &Ctx, port: &str) -> HwResult<Answer> {
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let id = server_of_port(&store, ctx, port)?;
    let i = owned(&store, ctx, &id)?;
    Ok(Answer::ok(
        json!({"request_id": ctx.request_id, "port": render_port(i, port)}),
    ))
}

/// The request's `port.security_groups` (required, a non-empty list of ids) and the
/// optional `port.index` and `dry_run`.
fn parse(ctx: &Ctx, insert: bool) -> HwResult<(Vec<String>, Option<usize>, bool)> {
    let body = ctx
        .json()
        .map_err(|_| param_invalid("the request body is not a JSON object."))?;
    let dry_run = bool_field(&body, "dry_run").map_err(|_| param_invalid("dry_run"))?;
    let port = body
        .get("port")
        .and_then(Value::as_object)
        .ok_or_else(|| param_invalid("port is required."))?;
    let groups = port
        .get("security_groups")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| param_invalid("port.security_groups is required."))?;
    let mut ids = Vec::with_capacity(groups.len());
    for g in groups {
        let id = g
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| param_invalid("port.security_groups holds security group ids."))?;
        if !ids.iter().any(|x: &String| x == id) {
            ids.push(id.to_string());
        }
    }
    // `index` exists in InsertSecurityGroupOption only.
    let index = match port.get("index").filter(|_| insert) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| param_invalid("port.index is a position counted from 0."))?
                as usize,
        ),
    };
    Ok((ids, index, dry_run.unwrap_or(false)))
}

/// `PUT /v3/{project_id}/ports/{port_id}/insert-security-groups` (AddSecurityGroups):
/// the groups go in at `index` (default: the end); at most 100 per port; `dry_run` checks
/// and answers 202.
pub(super) fn insert_security_groups(ctx: &Ctx, port: &str) -> HwResult<Answer> {
    let (ids, index, dry_run) = parse(ctx, true)?;
    change(ctx, port, dry_run, |have| {
        let new: Vec<String> = ids.into_iter().filter(|g| !have.contains(g)).collect();
        if have.len() + new.len() > MAX_PORT_SECURITY_GROUPS {
            return Err(param_invalid(format!(
                "a port has at most {MAX_PORT_SECURITY_GROUPS} security groups."
            )));
        }
        check_groups_exist(ctx, &new)?;
        let at = index.unwrap_or(have.len()).min(have.len());
        have.splice(at..at, new);
        Ok(())
    })
}

/// `PUT /v3/{project_id}/ports/{port_id}/remove-security-groups` (RemoveSecurityGroups).
pub(super) fn remove_security_groups(ctx: &Ctx, port: &str) -> HwResult<Answer> {
    let (ids, _, dry_run) = parse(ctx, false)?;
    change(ctx, port, dry_run, |have| {
        check_groups_exist(ctx, &ids)?;
        have.retain(|g| !ids.contains(g));
        Ok(())
    })
}

fn change(
    ctx: &Ctx,
    port: &str,
    dry_run: bool,
    edit: impl FnOnce(&mut Vec<String>) -> HwResult<()>,
) -> HwResult<Answer> {
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let id = server_of_port(&store, ctx, port)?;
    let mut groups = owned(&store, ctx, &id)?.security_groups.clone();
    edit(&mut groups)?;
    if dry_run {
        return Ok(Answer {
            status: 202,
            body: Some(json!({"request_id": ctx.request_id})),
        });
    }
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(port_not_found(port));
    };
    i.security_groups = groups;
    i.updated_ms = ctx.now;
    Ok(Answer::ok(
        json!({"request_id": ctx.request_id, "port": render_port(i, port)}),
    ))
}
