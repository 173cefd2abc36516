//! Server listing and details, flavors and IMS images.

use super::*;

pub(super) const STATUSES: &[&str] = &[
    "ACTIVE",
    "BUILD",
    "DELETED",
    "ERROR",
    "HARD_REBOOT",
    "MIGRATING",
    "REBOOT",
    "RESIZE",
    "REVERT_RESIZE",
    "SHELVED",
    "SHELVED_OFFLOADED",
    "SHUTOFF",
    "UNKNOWN",
    "VERIFY_RESIZE",
];

pub(super) fn list_servers(ctx: &Ctx) -> HwResult<Answer> {
    let offset = ctx.q_int("offset", 1, 0, i64::from(i32::MAX))?.max(1) as usize;
    let limit = ctx.q_int("limit", 25, 1, 1000)? as usize;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);

    if let Some(ids) = ctx.q("server_id") {
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.len() > 1000 {
            return Err(HwError::invalid(
                "Invalid parameter server_id: too many ids.",
            ));
        }
        let servers: Vec<Value> = ids
            .iter()
            .map(|id| match owned(&store, ctx, id) {
                Ok(i) => render::server(i, ctx.now),
                Err(_) => render::missing_server(id),
            })
            .collect();
        return Ok(Answer::ok(
            json!({"count": servers.len(), "servers": servers}),
        ));
    }

    let name = ctx.q("name");
    let status = ctx.q("status");
    if let Some(s) = status
        && !STATUSES.contains(&s)
    {
        return Err(HwError::invalid(format!("Invalid parameter status: {s}.")));
    }
    let tag = ctx.q("tags");
    let not_tag = ctx.q("not-tags");
    let flavor = ctx.q("flavor");
    let ip = ctx.q("ip");
    let ip_eq = ctx.q("ip_eq");
    let has_tag = |i: &Instance, t: &str| {
        i.tags
            .iter()
            .any(|x| format!("{}={}", x.key, x.value) == t || (!t.contains('=') && x.key == t))
    };
    let all = store.list(ctx.now, |i| {
        visible(i, ctx)
            && name.is_none_or(|n| i.name.contains(n))
            && status.is_none_or(|s| render::status(i, ctx.now).0 == s)
            && tag.is_none_or(|t| has_tag(i, t))
            && not_tag.is_none_or(|t| !has_tag(i, t))
            && flavor.is_none_or(|f| i.instance_type == f)
            && ip.is_none_or(|p| i.private_ips.iter().any(|x| x.contains(p)))
            && ip_eq.is_none_or(|p| i.private_ips.iter().any(|x| x == p))
    });
    let start = match ctx.q("marker") {
        Some(m) => all
            .iter()
            .position(|i| i.id == m)
            .map(|p| p + 1)
            .unwrap_or(all.len()),
        None => (offset - 1) * limit,
    };
    let total = all.len();
    let servers: Vec<Value> = all
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|i| render::server(i, ctx.now))
        .collect();
    Ok(Answer::ok(json!({"count": total, "servers": servers})))
}

pub(super) fn show_server(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = shown(&store, ctx, id)?;
    Ok(Answer::ok(json!({"server": render::server(i, ctx.now)})))
}

/// Server `id` of the caller's project, as ShowServer finds it: a deleted server stays
/// visible (status DELETED) until it is purged.
fn shown<'s>(store: &'s Store, ctx: &Ctx, id: &str) -> HwResult<&'s Instance> {
    store
        .get(id, ctx.now)
        .filter(|i| {
            i.provider == Provider::Huawei
                && i.account == ctx.account.key_id
                && i.project_id.as_deref() == Some(ctx.project)
        })
        .ok_or_else(|| not_found(id))
}

pub(super) fn list_flavors(ctx: &Ctx) -> HwResult<Answer> {
    let az = ctx.q("availability_zone");
    if let Some(z) = az
        && !catalog::zones(ctx.region).iter().any(|x| x == z)
    {
        return Err(HwError::invalid(format!(
            "Invalid parameter availability_zone: {z}."
        )));
    }
    let flavors: Vec<Value> = catalog::FLAVORS
        .iter()
        .filter(|f| ctx.q("flavor_id").is_none_or(|id| id == f.id))
        .filter(|f| az.is_none_or(|z| !f.sold_out.contains(&z)))
        .map(|f| render::flavor(f, &catalog::zones(ctx.region)))
        .collect();
    Ok(Answer::ok(json!({ "flavors": flavors })))
}

/// `GET /v1/{project_id}/cloudservers/resize_flavors` (ListResizeFlavors, API
/// 查询云服务器规格变更支持列表; SDK huaweicloudsdkecs/v2/model/list_resize_flavors_request.py,
/// list_resize_flavors_result.py): the flavors a server (`instance_uuid`) or a flavor
/// (`source_flavor_id`, `source_flavor_name`; one of the three is required, taken in that
/// order: "三个参数必须要选择一个参数使用 … 按照instance_uuid、source_flavor_id、
/// source_flavor_name的优先级进行处理") can change to: every other flavor of the catalog
/// that `catalog::resize_refusal` allows, the same rule the resize APIs enforce. `sort_key`
/// flavorid (default) / name / memory_mb / vcpus / root_gb, `sort_dir` asc (default) / desc,
/// `limit` (default 1000) and `marker` (the last flavor id of the previous page).
pub(super) fn list_resize_flavors(ctx: &Ctx) -> HwResult<Answer> {
    let source = if let Some(id) = ctx.q("instance_uuid") {
        shown(&ctx.app.store(), ctx, id)?.instance_type.clone()
    } else if let Some(f) = ctx.q("source_flavor_id").or(ctx.q("source_flavor_name")) {
        f.to_string()
    } else {
        return Err(HwError::invalid(
            "Invalid parameter: one of instance_uuid, source_flavor_id and source_flavor_name is required.",
        ));
    };
    let from = catalog::flavor(&source).ok_or_else(|| {
        HwError::invalid(format!(
            "Invalid parameter: flavor {source} does not exist."
        ))
    })?;
    let mut targets: Vec<&catalog::FlavorInfo> = catalog::FLAVORS
        .iter()
        .filter(|f| f.id != from.id && catalog::resize_refusal(from, f).is_none())
        .collect();
    match ctx.q("sort_key").unwrap_or("flavorid") {
        "flavorid" | "name" | "root_gb" => targets.sort_by_key(|f| f.id),
        "memory_mb" => targets.sort_by_key(|f| (f.ram_mb, f.id)),
        "vcpus" => targets.sort_by_key(|f| (f.vcpus, f.id)),
        other => {
            return Err(HwError::invalid(format!(
                "Invalid parameter sort_key: {other}."
            )));
        }
    }
    match ctx.q("sort_dir").unwrap_or("asc") {
        "asc" => {}
        "desc" => targets.reverse(),
        other => {
            return Err(HwError::invalid(format!(
                "Invalid parameter sort_dir: {other}."
            )));
        }
    }
    if let Some(m) = ctx.q("marker") {
        let after = targets.iter().position(|f| f.id == m).map_or(0, |p| p + 1);
        targets.drain(..after);
    }
    let limit = ctx.q_int("limit", 1000, 1, 1000)? as usize;
    let zones = catalog::zones(ctx.region);
    let flavors: Vec<Value> = targets
        .iter()
        .take(limit)
        .map(|f| {
            let mut v = render::flavor(f, &zones);
            if let Some(m) = v.as_object_mut()
                && let Some(specs) = m.remove("os_extra_specs")
            {
                m.insert("extra_specs".into(), specs);
                m.insert("instance_quota".into(), json!({}));
            }
            v
        })
        .collect();
    Ok(Answer::ok(json!({ "flavors": flavors })))
}

pub(super) fn list_images(ctx: &Ctx) -> HwResult<Answer> {
    let limit = ctx.q_int("limit", 500, 1, 1000)? as usize;
    let status = ctx.q("status");
    let kind = ctx.q("__imagetype");
    let os_type = ctx.q("__os_type");
    let id = ctx.q("id");
    let name = ctx.q("name");
    let all: Vec<&catalog::ImageInfo> = catalog::IMAGES
        .iter()
        .filter(|_| status.is_none_or(|s| s == "active"))
        .filter(|i| kind.is_none_or(|k| k == i.image_type))
        .filter(|i| os_type.is_none_or(|o| o == i.os_type))
        .filter(|i| id.is_none_or(|x| x == i.id))
        .filter(|i| name.is_none_or(|x| x == i.name))
        .collect();
    let start = match ctx.q("marker") {
        Some(m) => all
            .iter()
            .position(|i| i.id == m)
            .map(|p| p + 1)
            .unwrap_or(all.len()),
        None => 0,
    };
    let page: Vec<&catalog::ImageInfo> = all.iter().skip(start).take(limit).copied().collect();
    let mut out = json!({
        "images": page.iter().map(|i| render::image(i)).collect::<Vec<_>>(),
        "first": format!("/v2/cloudimages?limit={limit}"),
        "schema": "/v2/schemas/images",
    });
    if start + limit < all.len()
        && let Some(last) = page.last()
    {
        out["next"] = json!(format!("/v2/cloudimages?limit={limit}&marker={}", last.id));
    }
    Ok(Answer::ok(out))
}
