//! Renaming (update), resize (v1 and the yearly/monthly v1.1) and changeos.

use super::*;

pub(super) fn update_server(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let body = ctx.json()?;
    let server = body
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: server is required."))?;
    let name = str_field(server, "name")?;
    if let Some(n) = name {
        check_name(n, 64)?;
    }
    let hostname = str_field(server, "hostname")?;
    if let Some(h) = hostname {
        let ok = (1..=64).contains(&h.len())
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !h.starts_with(['.', '-'])
            && !h.ends_with(['.', '-'])
            && !h.contains("..")
            && !h.contains("--");
        if !ok {
            return Err(HwError::invalid(format!(
                "Invalid parameter hostname: `{h}`."
            )));
        }
    }
    let description = str_field(server, "description")?;
    if description.is_some_and(|d| d.chars().count() > 85 || d.contains(['<', '>'])) {
        return Err(HwError::invalid("Invalid parameter description."));
    }
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    owned(&store, ctx, id)?;
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(not_found(id));
    };
    if let Some(n) = name {
        i.name = n.to_string();
    }
    if let Some(h) = hostname {
        i.host_name = Some(h.to_string());
    }
    if let Some(d) = description {
        i.extra
            .insert("description".into(), Value::String(d.to_string()));
    }
    i.updated_ms = ctx.now;
    let v = render::server(i, ctx.now);
    Ok(Answer::ok(json!({"server": v})))
}

pub(super) fn resize(ctx: &Ctx, id: &str, v11: bool) -> HwResult<Answer> {
    let body = ctx.json()?;
    let dry_run = bool_field(&body, "dry_run")?.unwrap_or(false);
    let opt = body
        .get("resize")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: resize is required."))?;
    let flavor_ref = required_str(opt, "flavorRef")?;
    let flavor = catalog::flavor(flavor_ref).ok_or_else(|| {
        HwError::invalid(format!(
            "Invalid parameter flavorRef: flavor {flavor_ref} does not exist."
        ))
    })?;
    let with_stop = str_field(opt, "mode")? == Some("withStopServer");
    let d = ctx.app.settings().transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = owned(&store, ctx, id)?;
    refuse_held(i, ctx)?;
    let prepaid = billing::is_prepaid(i);
    if prepaid && !v11 {
        return Err(billing::postpaid_resize_refused(id));
    }
    // "竞价型实例不允许切换规格" (Ecs.0704 "Spot ECSs do not support specifications
    // modification.", API ecs_07_0002; ResizePostPaidServer 接口约束, API ecs_02_0210).
    if i.charge_type == "spot" {
        return Err(HwError::ecs(
            400,
            "Ecs.0704",
            "Spot ECSs do not support specifications modification.",
        ));
    }
    if i.instance_type == flavor.id {
        return Err(HwError::ecs(
            400,
            "Ecs.0009",
            "Another flavor must be used for resizing.",
        ));
    }
    // Flavor families that cannot switch (Ecs.0804/0805/0806/0812, `catalog::resize_refusal`),
    // for the postpaid v1 and the v1.1 resize alike.
    if let Some(from) = catalog::flavor(&i.instance_type)
        && let Some((code, message)) = catalog::resize_refusal(from, flavor)
    {
        return Err(HwError::ecs(400, code, message));
    }
    let s = i.state_at(ctx.now);
    if !(s == VmState::Stopped || (with_stop && s == VmState::Running)) {
        return Err(bad_state(id, render::status(i, ctx.now).0));
    }
    if flavor.sold_out.contains(&i.zone.as_str()) {
        return Err(HwError::invalid(format!(
            "The flavor {flavor_ref} is sold out in {}.",
            i.zone
        )));
    }
    if dry_run {
        return Ok(Answer {
            status: 202,
            body: Some(json!({})),
        });
    }
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(not_found(id));
    };
    let until = ctx.now + d.resize as i64;
    i.instance_type = flavor.id.to_string();
    i.cpu = flavor.vcpus;
    i.memory_gb = flavor.ram_mb / 1024;
    i.extra.insert("resize_until".into(), json!(until));
    let action = if v11 {
        "ResizeServer"
    } else {
        "ResizePostPaidServer"
    };
    i.record_operation(action, ctx.request_id, ctx.now, until);
    i.updated_ms = ctx.now;
    let job = jobs::create(
        ctx.project,
        "resizeServer",
        "",
        ctx.now,
        until,
        vec![id.to_string()],
        None,
    );
    if prepaid {
        // A yearly/monthly resize is an order (paid automatically with isAutoPay=true).
        let order = format!("CS{}", &new_uuid().replace('-', "")[..18]);
        return Ok(Answer::ok(json!({ "order_id": order, "job_id": job })));
    }
    Ok(Answer::ok(json!({ "job_id": job })))
}

pub(super) fn change_os(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let body = ctx.json()?;
    let opt = body
        .get("os-change")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: os-change is required."))?;
    let image_id = required_str(opt, "imageid")?;
    let image = catalog::image(image_id).ok_or_else(|| {
        HwError::invalid(format!(
            "Invalid parameter imageid: image {image_id} does not exist."
        ))
    })?;
    rebuild(ctx, id, opt, Some(image))
}

/// ReinstallServerWithCloudInit: `POST /v2/{project_id}/cloudservers/{server_id}/reinstallos`
/// `{"os-reinstall": {adminpass?, keyname?, userid?, metadata?: {user_data, ...}, mode?}}`
/// (SDK `huaweicloudsdkecs/v2/model/reinstall_server_with_cloud_init_request_body.py`,
/// `reinstall_server_with_cloud_init_option.py`; API ecs_02_0201,
/// https://support.huaweicloud.com/api-ecs/ecs_02_0201.html): the server's own image again,
/// the same login rules as changeos (`userid` "当传入keyname参数时，此参数为必选"), stopped
/// unless `mode` is `withStopServer`; answers a `job_id`.
pub(super) fn reinstall_os(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let body = ctx.json()?;
    let opt = body
        .get("os-reinstall")
        .and_then(Value::as_object)
        .ok_or_else(|| HwError::invalid("Invalid parameter: os-reinstall is required."))?;
    rebuild(ctx, id, opt, None)
}

/// Rebuild the system disk from `image` (changeos) or from the server's own image
/// (reinstallos).
fn rebuild(
    ctx: &Ctx,
    id: &str,
    opt: &serde_json::Map<String, Value>,
    image: Option<&'static catalog::ImageInfo>,
) -> HwResult<Answer> {
    let pass = str_field(opt, "adminpass")?.filter(|s| !s.is_empty());
    if let Some(p) = pass {
        check_password(p)?;
    }
    let key = str_field(opt, "keyname")?.filter(|s| !s.is_empty());
    if pass.is_some() && key.is_some() {
        return Err(HwError::invalid(
            "Invalid parameter: adminpass and keyname cannot both be set.",
        ));
    }
    let with_stop = str_field(opt, "mode")? == Some("withStopServer");
    let user_data = opt
        .get("metadata")
        .and_then(Value::as_object)
        .and_then(|m| m.get("user_data"))
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    billing::check_changeos_login(ctx.account, opt, key, pass.is_some(), user_data.is_some())?;
    let d = ctx.app.settings().transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = owned(&store, ctx, id)?;
    refuse_held(i, ctx)?;
    if let Some(image) = image {
        billing::check_prepaid_changeos(i, opt, image)?;
    }
    let s = i.state_at(ctx.now);
    if !(s == VmState::Stopped || (with_stop && s == VmState::Running)) {
        return Err(bad_state(id, render::status(i, ctx.now).0));
    }
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(not_found(id));
    };
    if let Some(image) = image {
        i.image_id = image.id.to_string();
    }
    i.system_disk.id = Some(new_uuid());
    if let Some(k) = key {
        i.key_ids = vec![k.to_string()];
    } else if pass.is_some() {
        i.key_ids.clear();
    }
    if let Some(u) = user_data {
        i.user_data = Some(u);
    }
    // The OS change runs with the server stopped and starts it when done.
    i.set_schedule(
        ctx.now,
        &[
            (VmState::Resetting, Some(d.resetting)),
            (VmState::Running, None),
        ],
    );
    let settles = i.settles_at();
    let (action, job_type) = if image.is_some() {
        ("ChangeServerOsWithCloudInit", "changeOS")
    } else {
        ("ReinstallServerWithCloudInit", "reinstallOS")
    };
    i.record_operation(action, ctx.request_id, ctx.now, settles);
    let job = jobs::create(
        ctx.project,
        job_type,
        "",
        ctx.now,
        settles,
        vec![id.to_string()],
        None,
    );
    Ok(Answer::ok(json!({ "job_id": job })))
}
