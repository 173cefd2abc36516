"""Security-group membership and tags of existing instances through Alibaba Cloud's official
ECS SDK (alibabacloud-ecs20140526), against the cloud emulator. The SDK signs with V3
(ACS3-HMAC-SHA256), so every call also checks the emulator's V3 verification.

Rules checked (sources in docs/provider-contract.md, Alibaba §4, §5, §7 and §8):
* JoinSecurityGroup (JoinSecurityGroup.md): joins; the same group again is
  InvalidInstanceId.AlreadyExists; a sixth group is InstanceSecurityGroupLimitExceeded.
* LeaveSecurityGroup (LeaveSecurityGroup.md): a group the instance is not in is
  InstanceNotInSecurityGroup; the last group is InstanceLastSecurityGroup.
* ModifyInstanceAttribute SecurityGroupIds.N (ModifyInstanceAttributeRequest.security_group_ids):
  replaces the set; duplicates are refused (InvalidParameter).
* TagResources (TagResourcesRequest / TagResources.md): 1-50 resource ids
  (NumberExceed.ResourceIds), 1-20 tags (NumberExceed.Tags), key rules
  (InvalidTagKey.Malformed), value rules (InvalidTagValue.Malformed), Duplicate.TagKey.
* UntagResources: TagKey.N, All=true.
* ListTagResources: by ResourceId.N and by Tag.N, paged with NextToken.
* InstanceName (RunInstancesRequest.instance_name, ModifyInstanceAttributeRequest.instance_name,
  RunInstances.md): letters, digits, ": _ . -", starting with a letter, else
  InvalidInstanceName.Malformed; the default name is the InstanceId.
* PasswordInherit with Password (RunInstances.md, ReplaceSystemDisk.md):
  InvalidPasswordParam.Mismatch.
* VSwitchId (RunInstancesRequest.v_switch_id, .zone_id; RunInstances.md): required
  (InvalidVSwitchId.Necessary), known (InvalidVSwitchId.NotFound), in the ZoneId given
  (InvalidParameter.Mismatch); without ZoneId the instance lands in the vSwitch's zone.
* Windows (RunInstancesRequest.host_name, .password; RunInstances.md): host names of 2-15
  characters without "." (InvalidHostName.Malformed), passwords not starting with "/"; the
  password special characters are the documented ones (no '"').
* DescribeInstances Tag.N: N <= 20 (DescribeInstancesRequestTag.key; InvalidTagCount).
"""
import sys
import time

from alibabacloud_ecs20140526 import models as ecs

from alibaba_common import (LINUX, REGION, WINDOWS, client, describe, expect_error, step, wait_for)

FIRST_SG = "sg-sdk000000000000001"
# The emulator's vSwitches (emulator/src/alibaba/catalog.rs): ...01 in cn-hangzhou-h,
# ...02 in cn-hangzhou-i.
VSWITCH = "vsw-sdk000000000000001"
VSWITCH_I = "vsw-sdk000000000000002"


def groups(c, iid):
    return list(describe(c, iid).security_group_ids.security_group_id)


def run(c, amount):
    r = c.run_instances(ecs.RunInstancesRequest(
        region_id=REGION,
        image_id="aliyun_3_x64_20G_alibase_20240819.vhd",
        instance_type="ecs.g7.large",
        security_group_id=FIRST_SG,
        v_switch_id=VSWITCH,
        amount=amount,
    ))
    ids = list(r.body.instance_id_sets.instance_id_set)
    for iid in ids:
        wait_for(c, iid, "Running")
    return ids


def join(c, iid, sg):
    return c.join_security_group(ecs.JoinSecurityGroupRequest(instance_id=iid, security_group_id=sg))


def leave(c, iid, sg):
    return c.leave_security_group(ecs.LeaveSecurityGroupRequest(instance_id=iid, security_group_id=sg))


def tag(c, ids, pairs):
    return c.tag_resources(ecs.TagResourcesRequest(
        region_id=REGION, resource_type="instance", resource_id=ids,
        tag=[ecs.TagResourcesRequestTag(key=k, value=v) for k, v in pairs]))


def list_all(c, **kw):
    rows, token, pages = [], None, 0
    while True:
        r = c.list_tag_resources(ecs.ListTagResourcesRequest(
            region_id=REGION, resource_type="instance", next_token=token, **kw)).body
        pages += 1
        rows += [(t.resource_id, t.tag_key, t.tag_value) for t in (r.tag_resources.tag_resource or [])]
        if not r.next_token:
            return rows, pages
        token = r.next_token


def security_groups(c, iid):
    step("JoinSecurityGroup / LeaveSecurityGroup")
    join(c, iid, "sg-sdk000000000000002")
    assert groups(c, iid) == [FIRST_SG, "sg-sdk000000000000002"], groups(c, iid)
    expect_error(lambda: join(c, iid, "sg-sdk000000000000002"), "InvalidInstanceId.AlreadyExists", 403)
    for n in range(3, 6):
        join(c, iid, f"sg-sdk00000000000000{n}")
    expect_error(lambda: join(c, iid, "sg-sdk000000000000006"), "InstanceSecurityGroupLimitExceeded", 400)
    expect_error(lambda: leave(c, iid, "sg-sdk000000000000009"), "InstanceNotInSecurityGroup", 403)
    for n in range(2, 6):
        leave(c, iid, f"sg-sdk00000000000000{n}")
    assert groups(c, iid) == [FIRST_SG], groups(c, iid)
    expect_error(lambda: leave(c, iid, FIRST_SG), "InstanceLastSecurityGroup", 403)

    step("ModifyInstanceAttribute SecurityGroupIds.N replaces the set; ids must be unique")
    c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(
        instance_id=iid, security_group_ids=["sg-sdk00000000000000a", "sg-sdk00000000000000b"]))
    assert groups(c, iid) == ["sg-sdk00000000000000a", "sg-sdk00000000000000b"], groups(c, iid)
    expect_error(lambda: c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(
        instance_id=iid, security_group_ids=["sg-sdk00000000000000a", "sg-sdk00000000000000a"])),
        "InvalidParameter", 400)


def tags(c, ids):
    step("TagResources: limits and key/value rules")
    expect_error(lambda: tag(c, [f"i-{n:020d}" for n in range(51)], [("k", "v")]), "NumberExceed.ResourceIds", 400)
    expect_error(lambda: tag(c, ids[:1], [(f"k{n}", "v") for n in range(21)]), "NumberExceed.Tags", 400)
    expect_error(lambda: tag(c, ids[:1], [("aliyun-x", "v")]), "InvalidTagKey.Malformed", 400)
    expect_error(lambda: tag(c, ids[:1], [("acs:x", "v")]), "InvalidTagKey.Malformed", 400)
    expect_error(lambda: tag(c, ids[:1], [("k" * 129, "v")]), "InvalidTagKey.Malformed", 400)
    expect_error(lambda: tag(c, ids[:1], [("k", "https://x")]), "InvalidTagValue.Malformed", 400)
    expect_error(lambda: tag(c, ids[:1], [("k", "v" * 129)]), "InvalidTagValue.Malformed", 400)
    expect_error(lambda: tag(c, ids[:1], [("k", "1"), ("k", "2")]), "Duplicate.TagKey", 400)
    expect_error(lambda: tag(c, ["i-doesnotexist000000"], [("k", "v")]), "InvalidResourceId.NotFound", 404)

    step("TagResources on 12 instances, ListTagResources paged with NextToken")
    tag(c, ids, [(f"k{n}", f"v{n}") for n in range(5)] + [("empty", "")])
    tag(c, ids[:2], [("env", "production")])
    rows, pages = list_all(c, tag=[ecs.ListTagResourcesRequestTag(key="k0", value="v0")])
    assert (len(rows), pages) == (12 * 6 + 2, 2), (len(rows), pages)
    rows, _ = list_all(c, tag=[ecs.ListTagResourcesRequestTag(key="env", value="production")])
    assert {r[0] for r in rows} == set(ids[:2]), rows
    rows, _ = list_all(c, resource_id=[ids[3]])
    assert sorted(r[1] for r in rows) == ["empty", "k0", "k1", "k2", "k3", "k4"], rows
    assert ("%s" % ids[3], "empty", "") in rows, rows

    step("UntagResources: TagKey.N, then All=true")
    c.untag_resources(ecs.UntagResourcesRequest(
        region_id=REGION, resource_type="instance", resource_id=[ids[3]], tag_key=["k0", "k1"]))
    rows, _ = list_all(c, resource_id=[ids[3]])
    assert sorted(r[1] for r in rows) == ["empty", "k2", "k3", "k4"], rows
    c.untag_resources(ecs.UntagResourcesRequest(
        region_id=REGION, resource_type="instance", resource_id=[ids[3]], all=True))
    rows, _ = list_all(c, resource_id=[ids[3]])
    assert rows == [], rows


def parameter_rules(c, iid):
    step("InstanceName rules; the default name is the InstanceId")
    for bad in ["1web", "web 1", "https://x", "a"]:
        expect_error(lambda: c.run_instances(ecs.RunInstancesRequest(
            region_id=REGION, image_id="aliyun_3_x64_20G_alibase_20240819.vhd", instance_type="ecs.g7.large",
            security_group_id=FIRST_SG, v_switch_id=VSWITCH, instance_name=bad)),
            "InvalidInstanceName.Malformed", 400)
        expect_error(lambda: c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(
            instance_id=iid, instance_name=bad)), "InvalidInstanceName.Malformed", 400)
    assert describe(c, iid).instance_name == iid, describe(c, iid).instance_name
    c.modify_instance_attribute(ecs.ModifyInstanceAttributeRequest(instance_id=iid, instance_name="名字-web_1.a:b"))
    assert describe(c, iid).instance_name == "名字-web_1.a:b"

    step("PasswordInherit with Password: InvalidPasswordParam.Mismatch")
    expect_error(lambda: c.run_instances(ecs.RunInstancesRequest(
        region_id=REGION, image_id="aliyun_3_x64_20G_alibase_20240819.vhd", instance_type="ecs.g7.large",
        security_group_id=FIRST_SG, v_switch_id=VSWITCH, password="Passw0rd!x", password_inherit=True)),
        "InvalidPasswordParam.Mismatch", 400)
    c.stop_instances(ecs.StopInstancesRequest(region_id=REGION, instance_id=[iid], stopped_mode="KeepCharging"))
    wait_for(c, iid, "Stopped")
    expect_error(lambda: c.replace_system_disk(ecs.ReplaceSystemDiskRequest(
        instance_id=iid, image_id="ubuntu_22_04_x64_20G_alibase_20240926.vhd",
        password="Passw0rd!x", password_inherit=True)), "InvalidPasswordParam.Mismatch", 400)


def run_request(**kw):
    # RunInstances is rate limited (10 per second in the emulator, Throttling.User beyond):
    # these refusals come in a burst, so pace them.
    time.sleep(0.15)
    args = dict(region_id=REGION, image_id=LINUX, instance_type="ecs.g7.large",
                security_group_id=FIRST_SG, v_switch_id=VSWITCH)
    args.update(kw)
    return ecs.RunInstancesRequest(**args)


def network_and_login_rules(c):
    step("VSwitchId: required, known, in the ZoneId given")
    expect_error(lambda: c.run_instances(run_request(v_switch_id=None)), "InvalidVSwitchId.Necessary", 400)
    expect_error(lambda: c.run_instances(run_request(v_switch_id=None, dry_run=True)),
                 "InvalidVSwitchId.Necessary", 400)
    expect_error(lambda: c.run_instances(run_request(v_switch_id="vsw-sdknosuch00000000")),
                 "InvalidVSwitchId.NotFound", 404)
    expect_error(lambda: c.run_instances(run_request(v_switch_id=VSWITCH_I, zone_id="cn-hangzhou-h")),
                 "InvalidParameter.Mismatch", 400)
    expect_error(lambda: c.run_instances(run_request(v_switch_id=VSWITCH_I, zone_id="cn-hangzhou-i",
                                                     dry_run=True)), "DryRunOperation")
    iid = c.run_instances(run_request(v_switch_id=VSWITCH_I)).body.instance_id_sets.instance_id_set[0]
    wait_for(c, iid, "Running")
    d = describe(c, iid)
    assert d.zone_id == "cn-hangzhou-i", d.zone_id
    assert d.vpc_attributes.v_switch_id == VSWITCH_I, d.vpc_attributes.v_switch_id
    assert d.vpc_attributes.vpc_id.startswith("vpc-"), d.vpc_attributes.vpc_id
    c.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=[iid], force=True))
    wait_for(c, iid, "<absent>")

    step("Windows host names and passwords; the documented special characters")
    expect_error(lambda: c.run_instances(run_request(image_id=WINDOWS, host_name="web.example")),
                 "InvalidHostName.Malformed", 400)
    expect_error(lambda: c.run_instances(run_request(image_id=WINDOWS, host_name="abcdefghijklmnop")),
                 "InvalidHostName.Malformed", 400)
    expect_error(lambda: c.run_instances(run_request(image_id=LINUX, host_name="web.example", dry_run=True)),
                 "DryRunOperation")
    expect_error(lambda: c.run_instances(run_request(image_id=WINDOWS, password="/Passw0rd1")),
                 "InvalidPassword.Malformed", 400)
    expect_error(lambda: c.run_instances(run_request(image_id=LINUX, password="/Passw0rd1", dry_run=True)),
                 "DryRunOperation")
    expect_error(lambda: c.run_instances(run_request(password='Passw0rd"1')), "InvalidPassword.Malformed", 400)
    expect_error(lambda: c.run_instances(run_request(password="Passw0rd'1", dry_run=True)), "DryRunOperation")

    step("DescribeInstances: at most 20 tags")
    tags = [ecs.DescribeInstancesRequestTag(key=f"k{n}") for n in range(21)]
    expect_error(lambda: c.describe_instances(ecs.DescribeInstancesRequest(region_id=REGION, tag=tags)),
                 "InvalidTagCount", 400)
    c.describe_instances(ecs.DescribeInstancesRequest(region_id=REGION, tag=tags[:20]))


def main():
    c = client()
    step("RunInstances x12")
    ids = run(c, 12)
    security_groups(c, ids[0])
    tags(c, ids)
    parameter_rules(c, ids[1])
    network_and_login_rules(c)
    c.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=ids, force=True))
    for iid in ids:
        wait_for(c, iid, "<absent>")
    print("OK: Alibaba ECS security groups and tags passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - report and fail
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
