//! ModifyInstancesAttribute, ResetInstance and ResetInstancesType.

use super::*;

pub(super) fn modify_instances_attribute(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&[
        "InstanceIds",
        "InstanceName",
        "UserData",
        "SecurityGroups",
        "CamRoleName",
        "HostName",
        "DisableApiTermination",
        "CamRoleType",
        "AutoReboot",
        "EnableJumboFrame",
    ])?;
    let ids = instance_ids(p, "InstanceIds", true, 100)?;
    let name = p.string("InstanceName")?;
    if let Some(n) = &name {
        check_instance_name(n)?;
    }
    let sgs = security_group_ids(p, "SecurityGroups")?;
    // "一个实例绑定安全组数量不能超过5个" (`LimitExceeded.AssociateUSGLimitExceeded`,
    // tencentcloud-sdk-python-cvm 3.1.178 `errorcodes.py`; in the ModifyInstancesAttribute
    // error list of tencentcloud-sdk-go `cvm/v20170312/client.go`).
    if sgs.as_ref().is_some_and(|s| s.len() > 5) {
        return Err(ApiError::new(
            "LimitExceeded.AssociateUSGLimitExceeded",
            "An instance can be bound to at most 5 security groups.",
        ));
    }
    let user_data = check_user_data(p, "UserData")?;
    let host_name = p.string("HostName")?;
    let protect = p.boolean("DisableApiTermination")?;
    let cam = p.string("CamRoleName")?;
    p.string("CamRoleType")?;
    p.boolean("AutoReboot")?;
    let jumbo = p.boolean("EnableJumboFrame")?;
    let given = [
        name.is_some(),
        sgs.is_some(),
        user_data.is_some(),
        host_name.is_some(),
        protect.is_some(),
        cam.is_some(),
        jumbo.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given == 0 {
        return Err(ApiError::new(
            "MissingParameter.AtLeastOne",
            "At least one attribute to modify must be given.",
        ));
    }
    if given > 1 {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Only one attribute can be modified per request.",
        ));
    }
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, &ids)?;
    // Refused in Pending, Rebooting, Starting, Stopping, Shutdown, Terminating, RescueMode
    // (`UnsupportedOperation.InstanceState*` in the ModifyInstancesAttribute error list of
    // tencentcloud-sdk-go `cvm/v20170312/client.go`); LAUNCH_FAILED is not among them.
    let allowed: Vec<VmState> = if user_data.is_some() || host_name.is_some() {
        // Changing the user data or host name needs a stopped instance.
        vec![VmState::Stopped]
    } else {
        vec![VmState::Running, VmState::Stopped, VmState::LaunchFailed]
    };
    require_states(&store, ctx, &ids, &allowed)?;
    for id in &ids {
        let windows = owned(&store, ctx, id)
            .and_then(|i| catalog::image(&i.image_id))
            .is_some_and(|im| im.is_windows());
        if let Some(h) = &host_name {
            check_host_name(h, windows)?;
        }
    }
    for id in &ids {
        if let Some(i) = store.get_mut(id, ctx.now) {
            if let Some(n) = &name {
                i.name = n.clone();
            }
            if let Some(s) = &sgs {
                i.security_groups = s.clone();
            }
            if let Some(u) = &user_data {
                i.user_data = Some(u.clone());
            }
            if let Some(h) = &host_name {
                i.host_name = Some(h.clone());
            }
            if let Some(pr) = protect {
                i.protected = pr;
            }
            i.updated_ms = ctx.now;
            if !i.state_at(ctx.now).is_transitional() {
                i.record_operation("ModifyInstancesAttribute", ctx.request_id, ctx.now, ctx.now);
            }
        }
    }
    Ok(Map::new())
}

pub(super) fn reset_instance(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&[
        "InstanceId",
        "ImageId",
        "SystemDisk",
        "LoginSettings",
        "EnhancedService",
        "HostName",
        "UserData",
    ])?;
    let id = p.required_string("InstanceId")?;
    if !is_resource_id(&id, "ins-") {
        return Err(ApiError::new(
            "InvalidInstanceId.Malformed",
            format!("The instance ID `{id}` is malformed."),
        ));
    }
    let ids = vec![id.clone()];
    let image_param = p.string("ImageId")?;
    let user_data = check_user_data(p, "UserData")?;
    let host_name = p.string("HostName")?;
    let d = delays(ctx).transition_delays_ms;

    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, &ids)?;
    let current = owned(&store, ctx, &id).cloned().expect("checked above");
    let image_id = image_param.unwrap_or_else(|| current.image_id.clone());
    let image = image_checked(&image_id)?;
    let (_, size) = system_disk(p, Some(&current.system_disk))?;
    let key_ids = login_settings(p, image.is_windows())?;
    if let Some(h) = &host_name {
        check_host_name(h, image.is_windows())?;
    }
    require_states(&store, ctx, &ids, &[VmState::Running, VmState::Stopped])?;
    if let Some(i) = store.get_mut(&id, ctx.now) {
        i.image_id = image_id;
        i.system_disk.size_gb = size;
        i.key_ids = key_ids;
        if let Some(u) = user_data {
            i.user_data = Some(u);
        }
        if let Some(h) = host_name {
            i.host_name = Some(h);
        }
        i.set_schedule(
            ctx.now,
            &[
                (VmState::Resetting, Some(d.resetting)),
                (VmState::Running, None),
            ],
        );
        let done = i.settles_at();
        i.record_operation("ResetInstance", ctx.request_id, ctx.now, done);
    }
    Ok(Map::new())
}

pub(super) fn reset_instances_type(ctx: &Ctx) -> ApiResult<Fields> {
    let p = &ctx.params;
    p.check_known(&["InstanceIds", "InstanceType", "ForceStop"])?;
    let ids = instance_ids(p, "InstanceIds", true, 1)?;
    let type_name = p.required_string("InstanceType")?;
    let itype = instance_type_checked(&type_name)?;
    let force = p.boolean("ForceStop")?.unwrap_or(false);
    let d = delays(ctx).transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    require_found(&store, ctx, &ids)?;
    let allowed: &[VmState] = if force {
        &[VmState::Stopped, VmState::Running]
    } else {
        &[VmState::Stopped]
    };
    require_states(&store, ctx, &ids, allowed)?;
    for id in &ids {
        if let Some(i) = owned(&store, ctx, id)
            && !RESIZABLE_SYSTEM_DISKS.contains(&i.system_disk.disk_type.as_str())
        {
            return Err(ApiError::new(
                "UnsupportedOperation.SystemDiskType",
                format!(
                    "The instance `{id}` has a {} system disk; only {} system disks can change the instance type.",
                    i.system_disk.disk_type,
                    RESIZABLE_SYSTEM_DISKS.join(", ")
                ),
            ));
        }
    }
    for id in &ids {
        if let Some(i) = store.get_mut(id, ctx.now) {
            if i.state_at(ctx.now) == VmState::Running {
                i.set_schedule(
                    ctx.now,
                    &[
                        (VmState::Stopping, Some(d.stopping)),
                        (VmState::Stopped, None),
                    ],
                );
            } else {
                i.updated_ms = ctx.now;
            }
            i.instance_type = itype.name.to_string();
            i.cpu = itype.cpu;
            i.memory_gb = itype.memory_gb;
            let done = i.settles_at().max(ctx.now) + d.resize as i64;
            i.record_operation("ResetInstancesType", ctx.request_id, ctx.now, done);
        }
    }
    Ok(Map::new())
}
