//! Jobs, the batch start/stop/reboot actions, deletion and the Nova security-group actions.

use super::*;

pub(super) fn show_job(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let job = jobs::get(id)
        .filter(|j| j.project == ctx.project)
        .ok_or_else(|| HwError::ecs(404, "Ecs.0005", format!("The job {id} does not exist.")))?;
    Ok(Answer::ok(jobs::render(&job, ctx.now)))
}

pub(super) fn server_action(ctx: &Ctx) -> HwResult<Answer> {
    let body = ctx.json()?;
    let keys: Vec<&String> = body.keys().collect();
    if keys.len() != 1 {
        return Err(HwError::invalid(
            "Invalid request body: exactly one of os-start, os-stop or reboot is expected.",
        ));
    }
    let kind = keys[0].as_str();
    let opt = body[kind]
        .as_object()
        .ok_or_else(|| HwError::invalid(format!("Invalid parameter {kind}.")))?;
    let ids = servers_list(opt, "servers")?;
    let kind_type = match kind {
        "os-start" => None,
        "os-stop" => Some(str_field(opt, "type")?.unwrap_or("SOFT").to_string()),
        "reboot" => Some(
            str_field(opt, "type")?
                .ok_or_else(|| HwError::invalid("Invalid parameter: reboot.type is required."))?
                .to_string(),
        ),
        other => {
            return Err(HwError::invalid(format!(
                "Invalid request body: unknown action {other}."
            )));
        }
    };
    if let Some(t) = &kind_type
        && !matches!(t.as_str(), "SOFT" | "HARD")
    {
        return Err(HwError::invalid(format!(
            "Invalid parameter {kind}.type: must be SOFT or HARD."
        )));
    }
    let d = ctx.app.settings().transition_delays_ms;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    for id in &ids {
        let i = owned(&store, ctx, id)?;
        refuse_held(i, ctx)?;
        let s = i.state_at(ctx.now);
        let ok = match kind {
            "os-start" => s == VmState::Stopped,
            _ => s == VmState::Running,
        };
        if !ok {
            return Err(bad_state(id, render::status(i, ctx.now).0));
        }
    }
    let mut end = ctx.now;
    for id in &ids {
        let Some(i) = store.get_mut(id, ctx.now) else {
            continue;
        };
        match kind {
            "os-start" => {
                i.set_schedule(
                    ctx.now,
                    &[
                        (VmState::Starting, Some(d.starting)),
                        (VmState::Running, None),
                    ],
                );
            }
            "os-stop" => {
                let soft = kind_type.as_deref() != Some("HARD");
                let phases = i.stop_schedule(soft, false, d.stopping);
                i.set_schedule(ctx.now, &phases);
            }
            _ => {
                i.extra.insert(
                    "reboot_type".into(),
                    Value::String(kind_type.clone().unwrap_or_default()),
                );
                i.set_schedule(
                    ctx.now,
                    &[
                        (VmState::Rebooting, Some(d.rebooting)),
                        (VmState::Running, None),
                    ],
                );
            }
        }
        let settles = i.settles_at();
        i.record_operation(kind, ctx.request_id, ctx.now, settles);
        end = end.max(settles);
    }
    let (job_type, sub) = match kind {
        "os-start" => ("batchStartServers", "startServer"),
        "os-stop" => ("batchStopServers", "stopServer"),
        _ => ("batchRebootServers", "rebootServer"),
    };
    let job = jobs::create(ctx.project, job_type, sub, ctx.now, end, ids, None);
    Ok(Answer::ok(json!({ "job_id": job })))
}

pub(super) fn delete_servers(ctx: &Ctx) -> HwResult<Answer> {
    let body = ctx.json()?;
    let ids = servers_list(&body, "servers")?;
    bool_field(&body, "delete_publicip")?;
    let delete_volume = bool_field(&body, "delete_volume")?.unwrap_or(false);
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    for id in &ids {
        let i = owned(&store, ctx, id)?;
        if i.state_at(ctx.now) == VmState::Terminating {
            return Err(bad_state(id, "deleting"));
        }
        if billing::is_prepaid(i) {
            return Err(billing::delete_refused(id));
        }
    }
    let end = schedule_deletion(&mut store, ctx, &ids, delete_volume, "DeleteServers");
    let job = jobs::create(
        ctx.project,
        "deleteServers",
        "deleteServer",
        ctx.now,
        end,
        ids,
        None,
    );
    Ok(Answer::ok(json!({ "job_id": job })))
}

/// NovaDeleteServer: `DELETE /v2.1/{project_id}/servers/{server_id}`, "删除一台云服务器" (API
/// 删除云服务器 under the OpenStack Nova API; 2024 snapshot `huaweicloudDocs/ecs`
/// `cn.zh-cn/API参考/删除云服务器-3.md`; SDK huaweicloudsdkecs/v2/ecs_client.py
/// `nova_delete_server`): the single-server form of DeleteServers, 204 without a body. A
/// yearly/monthly server is refused as in DeleteServers (Ecs.0513: unsubscribe it instead).
pub(super) fn nova_delete_server(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = owned(&store, ctx, id)
        .map_err(|_| HwError::nova(404, format!("Instance {id} could not be found.")))?;
    if billing::is_prepaid(i) {
        return Err(billing::delete_refused(id));
    }
    if i.state_at(ctx.now) != VmState::Terminating {
        schedule_deletion(
            &mut store,
            ctx,
            &[id.to_string()],
            false,
            "NovaDeleteServer",
        );
    }
    Ok(Answer {
        status: 204,
        body: None,
    })
}

/// Start deleting `ids`; returns when the last one is deleted.
fn schedule_deletion(
    store: &mut Store,
    ctx: &Ctx,
    ids: &[String],
    delete_volume: bool,
    action: &str,
) -> i64 {
    let d = ctx.app.settings().transition_delays_ms;
    let mut end = ctx.now;
    for id in ids {
        let Some(i) = store.get_mut(id, ctx.now) else {
            continue;
        };
        let before = render::status(i, ctx.now).0;
        i.extra.insert(
            "status_before_delete".into(),
            Value::String(before.to_string()),
        );
        if delete_volume {
            for dd in &mut i.data_disks {
                dd.delete_with_instance = true;
            }
        }
        i.set_schedule(
            ctx.now,
            &[
                (VmState::Terminating, Some(d.terminating)),
                (VmState::Terminated, Some(d.shutdown)),
                (VmState::Gone, None),
            ],
        );
        let done = ctx.now + d.terminating as i64;
        i.record_operation(action, ctx.request_id, ctx.now, done);
        end = end.max(done);
    }
    end
}

pub(super) fn nova_action(ctx: &Ctx, id: &str) -> HwResult<Answer> {
    let body = ctx
        .json()
        .map_err(|_| HwError::nova(400, "Malformed request body"))?;
    let (kind, opt) = body
        .iter()
        .next()
        .ok_or_else(|| HwError::nova(400, "Malformed request body"))?;
    if !matches!(kind.as_str(), "addSecurityGroup" | "removeSecurityGroup") {
        return Err(HwError::nova(
            400,
            format!("The emulator does not implement the server action {kind}."),
        ));
    }
    let sg = opt
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            HwError::nova(
                400,
                format!("Invalid input for field/attribute {kind}: 'name' is a required property"),
            )
        })?
        .to_string();
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let i = owned(&store, ctx, id)
        .map_err(|_| HwError::nova(404, format!("Instance {id} could not be found.")))?;
    // A name or UUID of one of the region's groups (`catalog::security_group_id`); Nova's
    // answer for another: 404 itemNotFound "Security group {name} not found.".
    let name = sg;
    let sg = catalog::security_group_id(ctx.region, &name)
        .ok_or_else(|| HwError::nova(404, format!("Security group {name} not found.")))?;
    let present = i.security_groups.contains(&sg);
    if kind == "addSecurityGroup" && present {
        return Err(HwError::nova(
            400,
            format!("Security group {sg} is already associated with the instance {id}"),
        ));
    }
    if kind == "removeSecurityGroup" && !present {
        return Err(HwError::nova(
            404,
            format!("Security group {sg} not associated with the instance {id}"),
        ));
    }
    let Some(i) = store.get_mut(id, ctx.now) else {
        return Err(HwError::nova(
            404,
            format!("Instance {id} could not be found."),
        ));
    };
    if kind == "addSecurityGroup" {
        i.security_groups.push(sg);
    } else {
        i.security_groups.retain(|g| g != &sg);
    }
    i.updated_ms = ctx.now;
    Ok(Answer {
        status: 202,
        body: None,
    })
}
