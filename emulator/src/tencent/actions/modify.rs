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
    // "目前只支持系统盘类型是CLOUD_BASIC、CLOUD_PREMIUM、CLOUD_SSD、CLOUD_BSSD类型的实例使用该接口
    // 实现操作系统切换" (only those system disks can switch the operating system: Linux ↔
    // Windows), ResetInstance doc comment of tencentcloud-sdk-go `cvm/v20170312/client.go`
    // (intl /document/api/213/33242). No dedicated code is documented; the closest in the
    // ResetInstance error list: `InvalidParameterValue.InvalidImageIdForRetsetInstance`
    // "镜像无法用于重装当前实例" (the image cannot reinstall this instance).
    let switches_os =
        catalog::image(&current.image_id).is_some_and(|old| old.is_windows() != image.is_windows());
    if switches_os && !RESIZABLE_SYSTEM_DISKS.contains(&current.system_disk.disk_type.as_str()) {
        return Err(ApiError::new(
            "InvalidParameterValue.InvalidImageIdForRetsetInstance",
            format!(
                "The instance `{id}` has a {} system disk; switching between Linux and Windows needs a {} system disk.",
                current.system_disk.disk_type,
                RESIZABLE_SYSTEM_DISKS.join(", ")
            ),
        ));
    }
    let key_ids = login_settings(p, image)?;
    if let Some(h) = &host_name {
        check_host_name(h, image.is_windows())?;
    }
    require_states(&store, ctx, &ids, &[VmState::Running, VmState::Stopped])?;
    require_no_operation_in_progress(&store, ctx, &ids)?;
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
    require_no_operation_in_progress(&store, ctx, &ids)?;
    // "对于包年包月实例，使用该接口会涉及扣费，请确保账户余额充足" (a prepaid instance is
    // charged for the change; the balance must cover it): ResetInstancesType doc comment
    // of tencentcloud-sdk-go `cvm/v20170312/client.go`; `InvalidAccount.InsufficientBalance`
    // is in its error list.
    if delays(ctx).tencent_balance_insufficient
        && ids
            .iter()
            .filter_map(|id| owned(&store, ctx, id))
            .any(|i| i.charge_type == "PREPAID")
    {
        return Err(insufficient_balance());
    }
    // "促销期内购买的实例不允许调整配置或计费模式" (an instance bought in a promotional period
    // cannot change its configuration or charge type): `FailedOperation.PromotionalPerioRestriction`,
    // tencentcloud-sdk-go `cvm/v20170312/errors.go`, in the ResetInstancesType error list
    // of `client.go`. Marked with `POST /_emulator/instances/{id}/promotional`.
    if let Some(i) = ids
        .iter()
        .filter_map(|id| owned(&store, ctx, id))
        .find(|i| held::promotional(i))
    {
        return Err(ApiError::new(
            "FailedOperation.PromotionalPerioRestriction",
            format!(
                "The instance `{}` was bought in a promotional period and cannot change its configuration.",
                i.id
            ),
        ));
    }
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
    // "完成实例配置调整后，实例将自动显示为运行中，无需手动进行开机" (once the type change is
    // done the instance shows RUNNING by itself, no start needed): tencentcloud-sdk-go
    // `cvm/v20170312/client.go` ResetInstancesType doc comment (= API/15744 "接口描述").
    // A running instance (ForceStop) is stopped first; the type changes while it is
    // STOPPED, then it starts; the operation is done when it is RUNNING.
    for id in &ids {
        if let Some(i) = store.get_mut(id, ctx.now) {
            let mut phases = Vec::new();
            if i.state_at(ctx.now) == VmState::Running {
                phases.push((VmState::Stopping, Some(d.stopping)));
            }
            phases.extend([
                (VmState::Stopped, Some(d.resize)),
                (VmState::Starting, Some(d.starting)),
                (VmState::Running, None),
            ]);
            i.set_schedule(ctx.now, &phases);
            i.stop_charging = false;
            i.instance_type = itype.name.to_string();
            i.cpu = itype.cpu;
            i.memory_gb = itype.memory_gb;
            let done = i.settles_at();
            i.record_operation("ResetInstancesType", ctx.request_id, ctx.now, done);
        }
    }
    Ok(Map::new())
}
