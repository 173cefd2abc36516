//! ModifyInstanceAttribute, ReplaceSystemDisk and ModifyInstanceSpec.

use super::*;

pub(super) fn modify_instance_attribute(ctx: &Ctx) -> AliResult<Fields> {
    let id = ctx.req("InstanceId")?;
    let name = ctx.opt("InstanceName");
    if let Some(n) = &name {
        check_instance_name(n, false)?;
    }
    let host = ctx.opt("HostName");
    let password = ctx.opt("Password");
    let sgs = ctx.list("SecurityGroupIds");
    let description = ctx.opt("Description");
    let user_data = ctx.opt("UserData");
    if let Some(u) = &user_data {
        base64::engine::general_purpose::STANDARD
            .decode(u.as_bytes())
            .map_err(|_| {
                AliError::new(
                    400,
                    "InvalidUserData.Base64FormatInvalid",
                    "The specified UserData is not Base64-encoded.",
                )
            })?;
    }
    let deletion_protection = ctx.boolean("DeletionProtection")?;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    // The instance may be in any region of the account: ModifyInstanceAttribute has no RegionId.
    let exists = store
        .get(&id, ctx.now)
        .is_some_and(|i| i.provider == Provider::Alibaba && i.account == ctx.account.key_id);
    if !exists {
        return Err(not_found(&id));
    }
    // Known groups of the instance's region and VPC, unique ids, at most the per-instance
    // quota (`membership.rs` has the sources).
    if !sgs.is_empty()
        && let Some(i) = store.get(&id, ctx.now)
    {
        super::super::membership::check_replacement(&store, i, &sgs, ctx.now)?;
    }
    // HostName and Password follow the rules of the instance's OS (Windows: host names of
    // 2-15 characters, passwords not starting with `/`; `create.rs` has the sources).
    let windows = store
        .get(&id, ctx.now)
        .and_then(|i| catalog::image(&i.image_id))
        .is_some_and(|img| img.os_type == "windows");
    if let Some(h) = &host {
        check_host_name(h, windows)?;
    }
    if let Some(p) = &password {
        check_password(p, windows)?;
    }
    // Password: "The instance cannot be in the Starting (`Starting`) state" (SDK
    // `ModifyInstanceAttributeRequest.password`); `IncorrectInstanceStatus` (403) in the
    // ModifyInstanceAttribute.md error table. (HostName in Pending/Starting is accepted: the
    // SDK only warns that it "may not take effect".)
    if password.is_some() {
        let s = store.get(&id, ctx.now).map(|i| i.state_at(ctx.now));
        if s == Some(VmState::Starting) {
            return Err(incorrect_status(&id, state_name(VmState::Starting)));
        }
    }
    if user_data.is_some() {
        let s = store.get(&id, ctx.now).map(|i| i.state_at(ctx.now));
        if s != Some(VmState::Stopped) {
            return Err(incorrect_status(
                &id,
                state_name(s.unwrap_or(VmState::Running)),
            ));
        }
    }
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    if let Some(n) = name {
        i.name = n;
    }
    if let Some(h) = host {
        i.host_name = Some(h);
    }
    if !sgs.is_empty() {
        i.security_groups = sgs;
    }
    if let Some(d) = description {
        i.extra.insert("description".into(), Value::String(d));
    }
    if let Some(u) = user_data {
        i.user_data = Some(u);
    }
    if let Some(p) = deletion_protection {
        i.protected = p;
    }
    i.updated_ms = ctx.now;
    Ok(Map::new())
}

pub(super) fn replace_system_disk(ctx: &Ctx) -> AliResult<Fields> {
    let id = ctx.req("InstanceId")?;
    let image_id = ctx.req("ImageId")?;
    let image = catalog::image(&image_id).ok_or_else(|| {
        AliError::new(
            404,
            "InvalidImageId.NotFound",
            format!("The specified ImageId `{image_id}` does not exist."),
        )
    })?;
    let password = ctx.opt("Password");
    // The new image decides whether the Windows password rule applies.
    if let Some(p) = &password {
        check_password(p, image.os_type == "windows")?;
    }
    if ctx.boolean("PasswordInherit")?.unwrap_or(false) && password.is_some() {
        return Err(password_inherit_mismatch());
    }
    let key_pair = ctx.opt("KeyPairName");
    let size = ctx.int("SystemDisk.Size")?;
    if let Some(s) = size
        && (!(20..=2048).contains(&s) || (s as u64) < image.size_gb)
    {
        return Err(AliError::new(
            400,
            "InvalidSystemDiskSize.ValueNotSupported",
            format!(
                "SystemDisk.Size must be between {} and 2048 GiB.",
                image.size_gb.max(20)
            ),
        ));
    }
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let state = store
        .get(&id, ctx.now)
        .filter(|i| i.provider == Provider::Alibaba && i.account == ctx.account.key_id)
        .map(|i| i.state_at(ctx.now))
        .ok_or_else(|| not_found(&id))?;
    if state != VmState::Stopped {
        return Err(incorrect_status(&id, state_name(state)));
    }
    if dry_run {
        return Err(dry_run_ok());
    }
    let disk_id = format!("d-{}", random_alnum(20));
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    i.image_id = image_id;
    i.system_disk.id = Some(disk_id.clone());
    // No SystemDisk.Size: the new system disk has the documented default max{40, image}
    // (SDK `ReplaceSystemDiskRequestSystemDisk.size`), not the old disk's size.
    i.system_disk.size_gb = size.unwrap_or(default_system_disk_gb(image)) as u64;
    if let Some(k) = key_pair {
        i.key_ids = vec![k];
    }
    i.record_operation("ReplaceSystemDisk", ctx.request_id, ctx.now, ctx.now);
    i.updated_ms = ctx.now;
    Ok(fields(json!({"DiskId": disk_id})))
}

pub(super) fn modify_instance_spec(ctx: &Ctx) -> AliResult<Fields> {
    let id = ctx.req("InstanceId")?;
    let type_id = ctx.req("InstanceType")?;
    let itype = catalog::instance_type(&type_id).ok_or_else(|| {
        AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            format!("The specified InstanceType `{type_id}` does not exist or beyond the permitted range."),
        )
    })?;
    let dry_run = ctx.boolean("DryRun")?.unwrap_or(false);
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let (state, charge, current) = store
        .get(&id, ctx.now)
        .filter(|i| i.provider == Provider::Alibaba && i.account == ctx.account.key_id)
        .map(|i| {
            (
                i.state_at(ctx.now),
                i.charge_type.clone(),
                i.instance_type.clone(),
            )
        })
        .ok_or_else(|| not_found(&id))?;
    if charge != "PostPaid" {
        return Err(AliError::new(
            403,
            "ChargeTypeViolation",
            "The operation is not permitted due to charge type of the instance; use ModifyPrepayInstanceSpec.",
        ));
    }
    if state != VmState::Stopped {
        return Err(incorrect_status(&id, state_name(state)));
    }
    if current == itype.id {
        return Err(AliError::new(
            400,
            "InvalidInstanceType.ValueNotSupported",
            "The specified InstanceType is the instance's current type.",
        ));
    }
    if dry_run {
        return Err(dry_run_ok());
    }
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(not_found(&id));
    };
    i.instance_type = itype.id.to_string();
    i.cpu = itype.cpu;
    i.memory_gb = itype.memory_gb.round() as u32;
    i.record_operation("ModifyInstanceSpec", ctx.request_id, ctx.now, ctx.now);
    i.updated_ms = ctx.now;
    Ok(Map::new())
}
