"""RunInstances rules closed for issue 14, through Alibaba Cloud's official ECS SDK
(alibabacloud-ecs20140526), against the cloud emulator (sources in docs/provider-contract.md,
Alibaba §5):

* HostName ${instance_id} (RunInstancesRequest.host_name, "For other operating systems such as
  Linux"): the placeholder is replaced by the instance's id; on Windows it is malformed.
* InvalidPayMethod (RunInstances.md, InstanceChargeType: "If you set this parameter to PrePaid,
  make sure that you have sufficient credit in your account. Otherwise, the InvalidPayMethod
  error is returned"; error table 403): with the emulator's switch
  POST /_emulator/config {"alibaba_no_payment_method": true}, PrePaid creates (dry runs too)
  are refused, pay-as-you-go ones are not; switched back, the subscription is created.
* Security groups (RunInstances.md, VSwitchId: "The vSwitch and security group must belong to
  the same VPC"; error table InvalidParameter.Mismatch 400, InvalidSecurityGroupId.NotFound):
  a group of another VPC or unknown in the region is refused; ModifyInstanceAttribute
  SecurityGroupIds.N (ModifyInstanceAttributeRequest.security_group_ids, "The security groups
  must belong to the same VPC as the instance") and JoinSecurityGroup (JoinSecurityGroup.md)
  answer InvalidInstanceId.Mismatch (400) for a group of another VPC.
"""
import json
import sys
import time

from alibabacloud_ecs20140526 import models as ecs

from alibaba_common import (LINUX, REGION, WINDOWS, client, describe, emulator_config, expect_error, step, wait_for)

# The emulator's catalog (emulator/src/alibaba/catalog.rs).
SG = "sg-sdk000000000000001"
VSWITCH = "vsw-sdk000000000000001"


def run_request(**kw):
    # RunInstances is rate limited (10 per second in the emulator): pace the burst.
    time.sleep(0.15)
    args = dict(region_id=REGION, image_id=LINUX, instance_type="ecs.g7.large",
                security_group_id=SG, v_switch_id=VSWITCH)
    args.update(kw)
    return ecs.RunInstancesRequest(**args)


def run(c, **kw):
    ids = list(c.run_instances(run_request(**kw)).body.instance_id_sets.instance_id_set)
    for iid in ids:
        wait_for(c, iid, "Running")
    return ids


def delete(c, ids):
    c.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=ids, force=True))
    for iid in ids:
        wait_for(c, iid, "<absent>")


def host_name_placeholder(c):
    step("HostName ${instance_id}: replaced by each instance's id (Linux)")
    ids = run(c, host_name="k8s-${instance_id}", amount=2)
    for iid in ids:
        assert describe(c, iid).host_name == f"k8s-{iid}", describe(c, iid).host_name
    delete(c, ids)
    expect_error(lambda: c.run_instances(run_request(image_id=WINDOWS, host_name="w-${instance_id}")),
                 "InvalidHostName.Malformed", 400)


def payment_method(c):
    step("PrePaid without a payment method: InvalidPayMethod (403)")
    prepaid = dict(instance_charge_type="PrePaid", period=1, period_unit="Month")
    emulator_config({"alibaba_no_payment_method": True})
    try:
        e = expect_error(lambda: c.run_instances(run_request(**prepaid)), "InvalidPayMethod", 403)
        assert "pay method" in e.message, e.message
        expect_error(lambda: c.run_instances(run_request(dry_run=True, **prepaid)), "InvalidPayMethod", 403)
        delete(c, run(c, instance_charge_type="PostPaid"))
    finally:
        emulator_config({"alibaba_no_payment_method": False})
    ids = run(c, **prepaid)
    assert describe(c, ids[0]).instance_charge_type == "PrePaid"
    c.modify_instance_charge_type(ecs.ModifyInstanceChargeTypeRequest(
        region_id=REGION, instance_ids=json.dumps(ids), instance_charge_type="PostPaid"))
    delete(c, ids)


# A group and a vSwitch of a second cn-hangzhou VPC (emulator/src/alibaba/catalog.rs).
OTHER_VPC_SG = "sg-bp1other000000000000"
OTHER_VPC_VSWITCH = "vsw-bp1other000000000000"


def security_groups(c):
    step("RunInstances: security groups exist in the region and share the vSwitch's VPC")
    expect_error(lambda: c.run_instances(run_request(security_group_id=OTHER_VPC_SG)),
                 "InvalidParameter.Mismatch", 400)
    expect_error(lambda: c.run_instances(run_request(security_group_id=None,
                                                     security_group_ids=[SG, OTHER_VPC_SG])),
                 "InvalidParameter.Mismatch", 400)
    expect_error(lambda: c.run_instances(run_request(security_group_id="sg-sdknosuch000000000")),
                 "InvalidSecurityGroupId.NotFound", 404)
    # a group of cn-shanghai is not one of cn-hangzhou
    expect_error(lambda: c.run_instances(run_request(security_group_id="sg-uf6demo0000000000000")),
                 "InvalidSecurityGroupId.NotFound", 404)
    other = run(c, security_group_id=OTHER_VPC_SG, v_switch_id=OTHER_VPC_VSWITCH)[0]
    assert describe(c, other).vpc_attributes.vpc_id == "vpc-bp1other00000000000000"
    delete(c, [other])

    step("ModifyInstanceAttribute SecurityGroupIds.N / JoinSecurityGroup: the instance's VPC only")
    iid = run(c)[0]
    expect_error(lambda: c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(
        instance_id=iid, security_group_ids=[SG, OTHER_VPC_SG])), "InvalidInstanceId.Mismatch", 400)
    expect_error(lambda: c.join_security_group(ecs.JoinSecurityGroupRequest(
        instance_id=iid, security_group_id=OTHER_VPC_SG)), "InvalidInstanceId.Mismatch", 400)
    c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(
        instance_id=iid, security_group_ids=["sg-sdk000000000000002"]))
    assert list(describe(c, iid).security_group_ids.security_group_id) == ["sg-sdk000000000000002"]
    delete(c, [iid])


# JoinSecurityGroup.md: "A basic security group can contain a maximum of 2,000 instances. An
# advanced security group can contain a maximum of 65,536 instances"; codes from the
# RunInstances (SecurityGroupInstanceLimitExceed) and JoinSecurityGroup
# (SecurityGroupInstanceLimitExceeded) error tables. The catalog's nearly full basic group
# holds 1,999 instances the emulator does not. SDK ModifyInstanceAttributeRequest
# .security_group_ids: "the list cannot contain both basic security groups and advanced
# security groups at the same time".
NEARLY_FULL_SG = "sg-bp1nearlyfull0000000"
ADVANCED_SG = "sg-bp1advanced000000000"


def security_group_capacity_and_kinds(c):
    step("A full security group takes no more instances; a list is basic or advanced")
    expect_error(lambda: c.run_instances(run_request(security_group_id=NEARLY_FULL_SG, amount=2)),
                 "SecurityGroupInstanceLimitExceed", 403)
    member = run(c, security_group_id=NEARLY_FULL_SG)[0]
    iid = run(c)[0]
    expect_error(lambda: c.join_security_group(ecs.JoinSecurityGroupRequest(
        instance_id=iid, security_group_id=NEARLY_FULL_SG)), "SecurityGroupInstanceLimitExceeded", 403)
    expect_error(lambda: c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(
        instance_id=iid, security_group_ids=[SG, ADVANCED_SG])), "InvalidParameter", 400)
    c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(instance_id=iid, security_group_ids=[ADVANCED_SG]))
    assert list(describe(c, iid).security_group_ids.security_group_id) == [ADVANCED_SG]
    delete(c, [member])
    c.join_security_group(ecs.JoinSecurityGroupRequest(instance_id=iid, security_group_id=NEARLY_FULL_SG))
    delete(c, [iid])


def main():
    c = client()
    security_groups(c)
    security_group_capacity_and_kinds(c)
    host_name_placeholder(c)
    payment_method(c)
    print("OK: Alibaba ECS create rules passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - report and fail
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
