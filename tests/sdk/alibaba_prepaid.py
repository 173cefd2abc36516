"""Subscription (PrePaid) instances and the single-instance actions through Alibaba Cloud's
official ECS SDK (alibabacloud-ecs20140526), against the cloud emulator.

Rules checked (sources in docs/provider-contract.md, Alibaba §4-§6):
* ModifyInstanceSpec on PrePaid: ChargeTypeViolation (ModifyInstanceSpec.md error table).
* ModifyPrepayInstanceSpec (https://www.alibabacloud.com/help/doc-detail/57612.htm): upgrade
  while Running; a downgrade needs OperatorType=downgrade and a Stopped instance
  (InvalidStatus.NotStopped); PostPaid: InvalidInstanceChargeType.ValueNotSupported;
  RebootWhenFinished restarts a running instance; same ClientToken, other parameters:
  IdempotenceParamNotMatch.
* DeleteInstances / DeleteInstance on a PrePaid in service: ChargeTypeViolation
  (doc-detail/25507); ModifyInstanceChargeType to PostPaid (ModifyInstanceChargeType.md),
  then DeleteInstances releases it; more than 20 ids: InstancesIdQuotaExceed.
* StartInstance / StopInstance / RebootInstance / DeleteInstance (single forms, no RegionId
  in their models; a passing dry run is DryRunOperation).
* SpotStrategy only for PostPaid (RunInstancesRequest.spot_strategy; RunInstances.md):
  a spot PrePaid request is InvalidSpotPrepaid.
"""
import json
import sys

from alibabacloud_ecs20140526 import models as ecs

from alibaba_common import (REGION, client, describe, expect_error, step, wait_for)


def run(c, charge, itype="ecs.g7.large"):
    req = ecs.RunInstancesRequest(
        region_id=REGION,
        image_id="aliyun_3_x64_20G_alibase_20240819.vhd",
        instance_type=itype,
        security_group_id="sg-sdk000000000000001",
        v_switch_id="vsw-sdk000000000000001",
        instance_charge_type=charge,
        amount=1,
    )
    if charge == "PrePaid":
        req.period = 1
        req.period_unit = "Month"
        req.auto_renew = True
        req.auto_renew_period = 1
    iid = c.run_instances(req).body.instance_id_sets.instance_id_set[0]
    wait_for(c, iid, "Running")
    return iid


def main():
    c = client()

    step("RunInstances PrePaid with a SpotStrategy: InvalidSpotPrepaid")
    spot = ecs.RunInstancesRequest(
        region_id=REGION, image_id="aliyun_3_x64_20G_alibase_20240819.vhd", instance_type="ecs.g7.large",
        security_group_id="sg-sdk000000000000001", v_switch_id="vsw-sdk000000000000001",
        instance_charge_type="PrePaid", period=1, period_unit="Month", spot_strategy="SpotAsPriceGo")
    expect_error(lambda: c.run_instances(spot), "InvalidSpotPrepaid", 400)
    spot.instance_charge_type, spot.period, spot.period_unit, spot.dry_run = "PostPaid", None, None, True
    expect_error(lambda: c.run_instances(spot), "DryRunOperation")

    step("RunInstances PrePaid (1 month, AutoRenew)")
    pre = run(c, "PrePaid")
    assert describe(c, pre).instance_charge_type == "PrePaid"

    step("ModifyInstanceSpec on PrePaid: ChargeTypeViolation")
    c.stop_instances(ecs.StopInstancesRequest(region_id=REGION, instance_id=[pre], stopped_mode="KeepCharging"))
    wait_for(c, pre, "Stopped")
    expect_error(lambda: c.modify_instance_spec(ecs.ModifyInstanceSpecRequest(instance_id=pre, instance_type="ecs.g7.xlarge")),
                 "ChargeTypeViolation", 403)
    c.start_instances(ecs.StartInstancesRequest(region_id=REGION, instance_id=[pre]))
    wait_for(c, pre, "Running")

    step("ModifyPrepayInstanceSpec upgrade while Running, RebootWhenFinished=true")
    up = ecs.ModifyPrepayInstanceSpecRequest(region_id=REGION, instance_id=pre, instance_type="ecs.g7.xlarge",
                                             reboot_when_finished=True, client_token="prepay-up-1")
    order = c.modify_prepay_instance_spec(up).body.order_id
    assert order, order
    again = c.modify_prepay_instance_spec(up).body.order_id
    assert again == order, (again, order)
    other = ecs.ModifyPrepayInstanceSpecRequest(region_id=REGION, instance_id=pre, instance_type="ecs.r7.large",
                                                client_token="prepay-up-1")
    expect_error(lambda: c.modify_prepay_instance_spec(other), "IdempotenceParamNotMatch", 400)
    wait_for(c, pre, "Running")
    assert describe(c, pre).instance_type == "ecs.g7.xlarge"

    step("ModifyPrepayInstanceSpec downgrade: OperatorType and Stopped required")
    down = ecs.ModifyPrepayInstanceSpecRequest(region_id=REGION, instance_id=pre, instance_type="ecs.g7.large")
    expect_error(lambda: c.modify_prepay_instance_spec(down), "InvalidInstanceType.ValueNotSupported", 400)
    down.operator_type = "downgrade"
    expect_error(lambda: c.modify_prepay_instance_spec(down), "InvalidStatus.NotStopped", 400)

    step("StopInstance (single form, DryRun, then for real)")
    expect_error(lambda: c.stop_instance(ecs.StopInstanceRequest(instance_id=pre, dry_run=True)), "DryRunOperation")
    c.stop_instance(ecs.StopInstanceRequest(instance_id=pre, force_stop=False, stopped_mode="KeepCharging"))
    wait_for(c, pre, "Stopped")
    c.modify_prepay_instance_spec(down)
    assert describe(c, pre).instance_type == "ecs.g7.large"

    step("StartInstance / RebootInstance (single forms)")
    expect_error(lambda: c.reboot_instance(ecs.RebootInstanceRequest(instance_id=pre)), "IncorrectInstanceStatus", 403)
    c.start_instance(ecs.StartInstanceRequest(instance_id=pre))
    wait_for(c, pre, "Running")
    expect_error(lambda: c.start_instance(ecs.StartInstanceRequest(instance_id=pre)), "IncorrectInstanceStatus", 403)
    c.reboot_instance(ecs.RebootInstanceRequest(instance_id=pre, force_stop=False))
    wait_for(c, pre, "Running")

    step("DeleteInstances / DeleteInstance on a PrePaid in service: ChargeTypeViolation")
    expect_error(lambda: c.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=[pre], force=True)),
                 "ChargeTypeViolation", 403)
    expect_error(lambda: c.delete_instance(ecs.DeleteInstanceRequest(instance_id=pre, force=True)),
                 "ChargeTypeViolation", 403)

    step("ModifyInstanceChargeType: more than 20 ids")
    many = json.dumps([f"i-{n:020d}" for n in range(21)])
    expect_error(lambda: c.modify_instance_charge_type(
        ecs.ModifyInstanceChargeTypeRequest(region_id=REGION, instance_ids=many, instance_charge_type="PostPaid")),
        "InstancesIdQuotaExceed", 400)

    step("ModifyInstanceChargeType to PostPaid, then DeleteInstance")
    r = c.modify_instance_charge_type(ecs.ModifyInstanceChargeTypeRequest(
        region_id=REGION, instance_ids=json.dumps([pre]), instance_charge_type="PostPaid", auto_pay=True))
    assert r.body.order_id, r.body.to_map()
    assert describe(c, pre).instance_charge_type == "PostPaid"
    expect_error(lambda: c.delete_instance(ecs.DeleteInstanceRequest(instance_id=pre)), "IncorrectInstanceStatus", 403)
    c.delete_instance(ecs.DeleteInstanceRequest(instance_id=pre, force=True))
    wait_for(c, pre, "<absent>")
    expect_error(lambda: c.start_instance(ecs.StartInstanceRequest(instance_id=pre)), "InvalidInstanceId.NotFound", 404)

    step("ModifyPrepayInstanceSpec on PostPaid: InvalidInstanceChargeType.ValueNotSupported")
    post = run(c, "PostPaid")
    expect_error(lambda: c.modify_prepay_instance_spec(ecs.ModifyPrepayInstanceSpecRequest(
        region_id=REGION, instance_id=post, instance_type="ecs.g7.xlarge")),
        "InvalidInstanceChargeType.ValueNotSupported", 400)
    c.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=[post], force=True))
    wait_for(c, post, "<absent>")

    print("OK: Alibaba ECS prepaid and single-instance actions passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - report and fail
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
