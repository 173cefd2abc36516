//! Security-group membership of an instance: `JoinSecurityGroup`, `LeaveSecurityGroup`,
//! and the rules of `ModifyInstanceAttribute`'s `SecurityGroupIds.N` (the documented way,
//! which the controller uses).
//!
//! Sources:
//! * SDK `alibabacloud-ecs20140526` 7.11.8 `JoinSecurityGroupRequest` /
//!   `LeaveSecurityGroupRequest`: `SecurityGroupId` required; `InstanceId` and
//!   `NetworkInterfaceId` exclusive ("If you specify this parameter, NetworkInterfaceId must
//!   be empty"); `RegionId` optional for instances.
//! * AlibabaCloudDocs/ecs `intl.en-US/API Reference/Security groups/JoinSecurityGroup.md`:
//!   the instance must be Stopped or Running; at most five groups per instance by default;
//!   errors `InvalidSecurityGroupId.NotFound` 404, `InstanceSecurityGroupLimitExceeded` 400,
//!   `IncorrectInstanceStatus` 403, `InvalidInstanceId.NotFound` 404,
//!   `InvalidInstanceId.AlreadyExists` 403.
//! * `.../LeaveSecurityGroup.md`: Stopped or Running; "An instance must belong to at least
//!   one security group"; errors `InstanceLastSecurityGroup` 403, `InstanceNotInSecurityGroup`
//!   403, `InvalidEniId.NotFound` 404, `IncorrectInstanceStatus` 403.
//! * `.../Instances/ModifyInstanceAttribute.md` and SDK
//!   `ModifyInstanceAttributeRequest.security_group_ids`: the list replaces the groups, "The
//!   security group IDs in the array must be unique", its length is bounded by the
//!   per-instance quota. The page names no dedicated code for either; a duplicate answers its
//!   generic `InvalidParameter` (400) and an over-long list the membership limit
//!   `InstanceSecurityGroupLimitExceeded` (400) of JoinSecurityGroup.

use serde_json::Map;

use crate::config::Provider;
use crate::store::{Instance, Store, VmState};

use super::actions::{Ctx, Fields, incorrect_status};
use super::billing::find;
use super::catalog::{self, RegionInfo, SecurityGroupInfo};
use super::render::state_name;
use super::{AliError, AliResult};

/// Security groups one instance may belong to by default ("An instance can be added to up
/// to five security groups by default", JoinSecurityGroup).
pub const SG_PER_INSTANCE: usize = 5;

/// Parameters of the request models (besides the common ones and the owner fields).
pub const PARAMS: &[(&str, &[&str])] = &[
    (
        "JoinSecurityGroup",
        &[
            "InstanceId",
            "NetworkInterfaceId",
            "RegionId",
            "SecurityGroupId",
        ],
    ),
    (
        "LeaveSecurityGroup",
        &[
            "InstanceId",
            "NetworkInterfaceId",
            "RegionId",
            "SecurityGroupId",
        ],
    ),
];

fn sg_not_found(id: &str) -> AliError {
    AliError::new(
        404,
        "InvalidSecurityGroupId.NotFound",
        format!("The specified SecurityGroupId {id} does not exist."),
    )
}

fn limit_exceeded() -> AliError {
    AliError::new(
        400,
        "InstanceSecurityGroupLimitExceeded",
        format!(
            "Exceeding the allowed amount of security groups that an instance can be in ({SG_PER_INSTANCE})."
        ),
    )
}

/// A security group of `region` in the emulator's catalog (`catalog.rs::SECURITY_GROUPS`;
/// a group of another region does not exist there): `InvalidSecurityGroupId.NotFound` (404)
/// otherwise (RunInstances.md, JoinSecurityGroup.md, ModifyInstanceAttribute.md error
/// tables).
pub fn check_sg(region: &RegionInfo, id: &str) -> AliResult<&'static SecurityGroupInfo> {
    catalog::security_group(region, id).ok_or_else(|| sg_not_found(id))
}

/// The groups and the instance are in different VPCs. JoinSecurityGroup.md: "If the
/// network type is VPC, the security group and the instance must be in the same VPC", 400
/// `InvalidInstanceId.Mismatch` "Specified instance and security group are not in the same
/// VPC.". ModifyInstanceAttribute has the same rule ("The security groups must belong to the
/// same VPC as the instance", SDK `ModifyInstanceAttributeRequest.security_group_ids`) and no
/// code of its own in its table: it answers JoinSecurityGroup's.
fn vpc_mismatch(sg: &SecurityGroupInfo, instance_vpc: &str) -> AliError {
    AliError::new(
        400,
        "InvalidInstanceId.Mismatch",
        format!(
            "Specified instance and security group are not in the same VPC: {} is in {}, the instance in {instance_vpc}.",
            sg.id, sg.vpc_id
        ),
    )
}

/// Instances in `group`: the emulator's own (every account's) and those it does not hold.
fn members(store: &Store, group: &SecurityGroupInfo, now: i64) -> u32 {
    let own = store
        .list(now, |i| {
            i.provider == Provider::Alibaba
                && i.region == group.region
                && i.security_groups.iter().any(|g| g == group.id)
        })
        .len() as u32;
    own + group.members_elsewhere
}

/// `joining` more instances must fit into `group` ("A basic security group can contain a
/// maximum of 2,000 instances. An advanced security group can contain a maximum of 65,536
/// instances", JoinSecurityGroup.md). The code is the calling action's: JoinSecurityGroup
/// 403 `SecurityGroupInstanceLimitExceeded` (JoinSecurityGroup.md), RunInstances and
/// ModifyInstanceAttribute 403 `SecurityGroupInstanceLimitExceed` (their error tables).
pub fn check_capacity(
    store: &Store,
    group: &SecurityGroupInfo,
    joining: u32,
    now: i64,
    code: &'static str,
) -> AliResult<()> {
    let members = members(store, group, now);
    if members + joining > group.capacity() {
        return Err(AliError::new(
            403,
            code,
            format!(
                "Exceeding the allowed amount of instances of a security group: {} holds {members} of {} instances.",
                group.id,
                group.capacity()
            ),
        ));
    }
    Ok(())
}

/// "the list cannot contain both basic security groups and advanced security groups at the
/// same time" (SDK `ModifyInstanceAttributeRequest.security_group_ids`; the page's error
/// table has no code of its own: 400 `InvalidParameter` "The specified parameter is not
/// valid.").
fn check_one_kind(groups: &[&SecurityGroupInfo]) -> AliResult<()> {
    if groups.iter().any(|g| g.advanced) && groups.iter().any(|g| !g.advanced) {
        return Err(AliError::new(
            400,
            "InvalidParameter",
            "The specified parameter \"SecurityGroupIds\" is not valid: it cannot contain both basic and advanced security groups.",
        ));
    }
    Ok(())
}

/// The region and VPC of a stored instance.
fn instance_network(inst: &Instance) -> AliResult<(&'static RegionInfo, String)> {
    let region =
        catalog::region(&inst.region).ok_or_else(|| super::actions::not_found(&inst.id))?;
    Ok((region, inst.vpc_id.clone().unwrap_or_default()))
}

/// `ModifyInstanceAttribute SecurityGroupIds.N` of an instance in `region` and `vpc`: known
/// ids of that region, in the instance's VPC, unique, at most the quota, of one kind, and
/// room in each group the instance joins.
pub fn check_replacement(
    store: &Store,
    inst: &Instance,
    sgs: &[String],
    now: i64,
) -> AliResult<()> {
    let (region, vpc) = instance_network(inst)?;
    let mut groups = Vec::with_capacity(sgs.len());
    for (n, sg) in sgs.iter().enumerate() {
        let group = check_sg(region, sg)?;
        if group.vpc_id != vpc {
            return Err(vpc_mismatch(group, &vpc));
        }
        groups.push(group);
        if sgs[..n].contains(sg) {
            return Err(AliError::new(
                400,
                "InvalidParameter",
                format!(
                    "The specified parameter \"SecurityGroupIds\" is not valid: {sg} is listed twice."
                ),
            ));
        }
    }
    if sgs.len() > SG_PER_INSTANCE {
        return Err(limit_exceeded());
    }
    check_one_kind(&groups)?;
    for group in groups {
        if !inst.security_groups.iter().any(|g| g == group.id) {
            check_capacity(store, group, 1, now, "SecurityGroupInstanceLimitExceed")?;
        }
    }
    Ok(())
}

/// Which instance and group a Join/Leave request names.
fn target(ctx: &Ctx) -> AliResult<(String, String)> {
    let sg = ctx.req("SecurityGroupId")?;
    let instance = ctx.opt("InstanceId");
    let eni = ctx.opt("NetworkInterfaceId");
    let id = match (instance, eni) {
        (Some(_), Some(_)) => {
            return Err(AliError::new(
                400,
                "InvalidParameter",
                "InstanceId and NetworkInterfaceId cannot be specified at the same time.",
            ));
        }
        (None, None) => return Err(AliError::missing("InstanceId")),
        // This emulator has no elastic network interfaces.
        (None, Some(eni)) => {
            return Err(AliError::new(
                404,
                "InvalidEniId.NotFound",
                format!("The specified NetworkInterfaceId {eni} does not exist."),
            ));
        }
        (Some(id), None) => id,
    };
    Ok((id, sg))
}

/// Looks the instance up (in the request's region when it names one), the group in the
/// instance's region (`InvalidSecurityGroupId.NotFound`), checks that a joined group is in
/// the instance's VPC (`InvalidInstanceId.Mismatch`) and that the instance is Running or
/// Stopped.
fn member_change<F>(ctx: &Ctx, joining: bool, change: F) -> AliResult<Fields>
where
    F: FnOnce(&mut Vec<String>, &str, &str) -> AliResult<()>,
{
    let (id, sg) = target(ctx)?;
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let inst = find(&store, ctx, &id)?;
    if ctx.opt("RegionId").is_some_and(|r| r != inst.region) {
        return Err(super::actions::not_found(&id));
    }
    let (region, vpc) = instance_network(inst)?;
    let group = check_sg(region, &sg)?;
    if joining && group.vpc_id != vpc {
        return Err(vpc_mismatch(group, &vpc));
    }
    if joining && !inst.security_groups.contains(&sg) {
        check_capacity(
            &store,
            group,
            1,
            ctx.now,
            "SecurityGroupInstanceLimitExceeded",
        )?;
    }
    let state = inst.state_at(ctx.now);
    if !matches!(state, VmState::Running | VmState::Stopped) {
        return Err(incorrect_status(&id, state_name(state)));
    }
    let Some(i) = store.get_mut(&id, ctx.now) else {
        return Err(super::actions::not_found(&id));
    };
    change(&mut i.security_groups, &id, &sg)?;
    i.updated_ms = ctx.now;
    Ok(Map::new())
}

pub fn join_security_group(ctx: &Ctx) -> AliResult<Fields> {
    member_change(ctx, true, |groups, id, sg| {
        if groups.iter().any(|g| g == sg) {
            return Err(AliError::new(
                403,
                "InvalidInstanceId.AlreadyExists",
                format!(
                    "The specified instance {id} already exists in the specified security group {sg}."
                ),
            ));
        }
        if groups.len() >= SG_PER_INSTANCE {
            return Err(limit_exceeded());
        }
        groups.push(sg.to_owned());
        Ok(())
    })
}

pub fn leave_security_group(ctx: &Ctx) -> AliResult<Fields> {
    member_change(ctx, false, |groups, id, sg| {
        if !groups.iter().any(|g| g == sg) {
            return Err(AliError::new(
                403,
                "InstanceNotInSecurityGroup",
                format!("The instance {id} is not in the group {sg}."),
            ));
        }
        if groups.len() == 1 {
            return Err(AliError::new(
                403,
                "InstanceLastSecurityGroup",
                format!(
                    "The specified security group {sg} is the last security group for the instance {id}."
                ),
            ));
        }
        groups.retain(|g| g != sg);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_harness::H;
    use crate::store::VmState;

    /// Groups of the catalog in the VPC of the harness's vSwitch (`catalog.rs`), besides the
    /// one the harness creates with.
    const SG: [&str; 6] = [
        "sg-bp1demo0000000000001",
        "sg-bp1demo0000000000002",
        "sg-bp1demo0000000000003",
        "sg-bp1demo0000000000004",
        "sg-bp1demo0000000000005",
        "sg-bp1demo0000000000006",
    ];

    fn groups(h: &H, id: &str) -> Vec<String> {
        serde_json::from_value(h.field(id, |i| serde_json::json!(i.security_groups))).unwrap()
    }

    fn join(h: &H, id: &str, sg: &str) -> String {
        h.code(
            "JoinSecurityGroup",
            &[("InstanceId", id), ("SecurityGroupId", sg)],
        )
    }

    fn leave(h: &H, id: &str, sg: &str) -> String {
        h.code(
            "LeaveSecurityGroup",
            &[("InstanceId", id), ("SecurityGroupId", sg)],
        )
    }

    /// JoinSecurityGroup.md: membership grows by one; a second join of the same group is
    /// `InvalidInstanceId.AlreadyExists`; the sixth group is
    /// `InstanceSecurityGroupLimitExceeded`; an unknown group or instance is NotFound.
    #[test]
    fn join_security_group_rules() {
        let h = H::new();
        let id = h.run("PostPaid", "ecs.g7.large");
        let first = groups(&h, &id)[0].clone();
        assert_eq!(join(&h, &id, SG[0]), "ok");
        assert_eq!(groups(&h, &id), vec![first.clone(), SG[0].into()]);
        assert_eq!(join(&h, &id, SG[0]), "InvalidInstanceId.AlreadyExists");
        for sg in &SG[1..4] {
            assert_eq!(join(&h, &id, sg), "ok");
        }
        assert_eq!(join(&h, &id, SG[4]), "InstanceSecurityGroupLimitExceeded");
        assert_eq!(groups(&h, &id).len(), 5);
        assert_eq!(join(&h, &id, "nope"), "InvalidSecurityGroupId.NotFound");
        assert_eq!(
            join(&h, "i-doesnotexist", SG[5]),
            "InvalidInstanceId.NotFound"
        );
        assert_eq!(
            h.code("JoinSecurityGroup", &[("InstanceId", &id)]),
            "MissingParameter"
        );
        assert_eq!(
            h.code(
                "JoinSecurityGroup",
                &[
                    ("InstanceId", &id),
                    ("NetworkInterfaceId", "eni-1"),
                    ("SecurityGroupId", SG[0])
                ]
            ),
            "InvalidParameter"
        );
        // the instance's own region is fine, another region does not hold it
        assert_eq!(
            h.code(
                "LeaveSecurityGroup",
                &[
                    ("InstanceId", &id),
                    ("SecurityGroupId", SG[3]),
                    ("RegionId", "cn-beijing")
                ]
            ),
            "InvalidInstanceId.NotFound"
        );
        assert_eq!(
            h.code("JoinSecurityGroup", &[("Bogus", "1")]),
            "UnsupportedParameter"
        );
    }

    /// LeaveSecurityGroup.md: leaving a group the instance is not in is
    /// `InstanceNotInSecurityGroup`; the last group cannot be left
    /// (`InstanceLastSecurityGroup`).
    #[test]
    fn leave_security_group_rules() {
        let h = H::new();
        let id = h.run("PostPaid", "ecs.g7.large");
        let first = groups(&h, &id)[0].clone();
        assert_eq!(leave(&h, &id, SG[0]), "InstanceNotInSecurityGroup");
        assert_eq!(leave(&h, &id, &first), "InstanceLastSecurityGroup");
        assert_eq!(join(&h, &id, SG[0]), "ok");
        assert_eq!(leave(&h, &id, &first), "ok");
        assert_eq!(groups(&h, &id), vec![SG[0].to_string()]);
        assert_eq!(leave(&h, &id, SG[0]), "InstanceLastSecurityGroup");
    }

    /// Join/Leave need a Running or Stopped instance (`IncorrectInstanceStatus`).
    #[test]
    fn membership_needs_running_or_stopped() {
        let h = H::new();
        let id = h.run("PostPaid", "ecs.g7.large");
        h.stop(&id);
        assert_eq!(join(&h, &id, SG[0]), "ok");
        let now = crate::store::now_ms();
        if let Some(i) = h.app.store().get_mut(&id, now) {
            i.set_schedule(now, &[(VmState::Starting, None)]);
        }
        assert_eq!(join(&h, &id, SG[1]), "IncorrectInstanceStatus");
        assert_eq!(leave(&h, &id, SG[0]), "IncorrectInstanceStatus");
    }

    /// ModifyInstanceAttribute SecurityGroupIds.N replaces the set; ids must be unique and
    /// at most the per-instance quota.
    #[test]
    fn modify_attribute_security_group_list_rules() {
        let h = H::new();
        let id = h.run("PostPaid", "ecs.g7.large");
        let set = |sgs: &[&str]| {
            let mut p: Vec<(String, String)> = vec![("InstanceId".into(), id.clone())];
            for (n, sg) in sgs.iter().enumerate() {
                p.push((format!("SecurityGroupIds.{}", n + 1), sg.to_string()));
            }
            let p: Vec<(&str, &str)> = p.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            h.code("ModifyInstanceAttribute", &p)
        };
        assert_eq!(set(&SG[..2]), "ok");
        assert_eq!(groups(&h, &id), SG[..2].to_vec());
        assert_eq!(set(&[SG[0], SG[0]]), "InvalidParameter");
        assert_eq!(set(&SG), "InstanceSecurityGroupLimitExceeded");
        assert_eq!(set(&[SG[0], "x"]), "InvalidSecurityGroupId.NotFound");
        assert_eq!(groups(&h, &id), SG[..2].to_vec());
    }
}
