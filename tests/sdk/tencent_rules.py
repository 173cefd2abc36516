#!/usr/bin/env python3
"""Documented Tencent CVM rules, one function each, through the official Python SDK.

Each function is named in docs/provider-contract.md (Tencent section) next to the rule it
checks; run by tests/tencent_sdk.rs against the cloud emulator. Only the endpoint is
emulator-specific (CVM_ENDPOINT, plain HTTP).

Environment: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (a long-term key),
TENCENTCLOUD_TEMP_SECRET_ID / TENCENTCLOUD_TEMP_SECRET_KEY / TENCENTCLOUD_TEMP_TOKEN (a
temporary key and its session token), CVM_ENDPOINT, CVM_REGION, CVM_WAIT_SECONDS.
"""

import json
import os
import sys
import time
import uuid

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.cvm.v20170312 import cvm_client, models

SECRET_ID = os.environ["TENCENTCLOUD_SECRET_ID"]
SECRET_KEY = os.environ["TENCENTCLOUD_SECRET_KEY"]
TEMP_ID = os.environ["TENCENTCLOUD_TEMP_SECRET_ID"]
TEMP_KEY = os.environ["TENCENTCLOUD_TEMP_SECRET_KEY"]
TEMP_TOKEN = os.environ["TENCENTCLOUD_TEMP_TOKEN"]
ENDPOINT = os.environ.get("CVM_ENDPOINT")
REGION = os.environ.get("CVM_REGION", "ap-guangzhou")
ZONE = REGION + "-3"
WAIT = float(os.environ.get("CVM_WAIT_SECONDS", "60"))
IMAGE = "img-487zeit5"


def make_client(cred=None, sign_method=None):
    http = HttpProfile()
    if ENDPOINT:
        http.protocol = "http"
        http.scheme = "http"
        http.endpoint = ENDPOINT
    profile = ClientProfile(httpProfile=http, signMethod=sign_method)
    cred = cred or credential.Credential(SECRET_ID, SECRET_KEY)
    return cvm_client.CvmClient(cred, REGION, profile)


CLIENT = None


def request(cls, **params):
    req = cls()
    req.from_json_string(json.dumps(params))
    return req


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_error(code, fn, req):
    try:
        fn(req)
    except TencentCloudSDKException as e:
        check(e.get_code() == code, "expected %s, got %s: %s" % (code, e.get_code(), e.get_message()))
        return e
    raise AssertionError("expected error %s but the call succeeded" % code)


def status(instance_id):
    resp = CLIENT.DescribeInstancesStatus(request(models.DescribeInstancesStatusRequest, InstanceIds=[instance_id]))
    states = [s.InstanceState for s in resp.InstanceStatusSet if s.InstanceId == instance_id]
    return states[0] if states else None


def states_until(instance_id, final):
    """Every distinct state until `final` (None: gone)."""
    deadline = time.time() + WAIT
    seen = []
    while True:
        s = status(instance_id)
        if not seen or seen[-1] != s:
            seen.append(s)
        if s == final:
            return seen
        check(time.time() < deadline, "%s never reached %s: %s" % (instance_id, final, seen))
        time.sleep(0.05)


def run(**extra):
    params = dict(Placement={"Zone": ZONE}, ImageId=IMAGE, InstanceType="S5.MEDIUM4",
                  LoginSettings={"Password": "Emul@tor2024"}, ClientToken=str(uuid.uuid4()))
    params.update(extra)
    ids = CLIENT.RunInstances(request(models.RunInstancesRequest, **params)).InstanceIdSet
    check(len(ids) == 1, "one id: %s" % ids)
    states_until(ids[0], "RUNNING")
    return ids[0]


PREPAID = dict(InstanceChargeType="PREPAID", InstanceChargePrepaid={"Period": 1})


def terminate(ids):
    CLIENT.TerminateInstances(request(models.TerminateInstancesRequest, InstanceIds=ids))


# API/15723: "按量计费实例调用本接口将被直接销毁"
def terminate_postpaid_destroys_directly():
    i = run()
    terminate([i])
    seen = states_until(i, None)
    check("SHUTDOWN" not in seen, "pay-as-you-go went through the recycle bin: %s" % seen)


# API/15723: "包年包月实例首次调用本接口，实例将被移至回收站，再次调用本接口，实例将被销毁"
def terminate_prepaid_recycles_then_destroys():
    i = run(**PREPAID)
    terminate([i])
    states_until(i, "SHUTDOWN")
    inst = CLIENT.DescribeInstances(request(models.DescribeInstancesRequest, InstanceIds=[i])).InstanceSet[0]
    check(inst.IsolatedSource == "MANMADE", "IsolatedSource %s" % inst.IsolatedSource)
    terminate([i])
    states_until(i, None)


# API/15723: "批量操作时，所有实例的付费类型必须一致"
def terminate_mixed_charge_types_refused():
    a, b = run(), run(**PREPAID)
    expect_error("UnsupportedOperation.InstanceMixedPricingModel", CLIENT.TerminateInstances,
                 request(models.TerminateInstancesRequest, InstanceIds=[a, b]))
    terminate([a])
    terminate([b])


# Common Params `Token`; Common Error Codes `AuthFailure.TokenFailure` (v3 and v1 signing).
def temporary_credentials_need_their_token():
    for method in (None, "HmacSHA256"):
        ok = make_client(credential.Credential(TEMP_ID, TEMP_KEY, TEMP_TOKEN), method)
        check(ok.DescribeZones(models.DescribeZonesRequest()).ZoneSet, "zones with a token")
        for token in (None, TEMP_TOKEN + "-expired"):
            bad = make_client(credential.Credential(TEMP_ID, TEMP_KEY, token), method)
            e = expect_error("AuthFailure.TokenFailure", bad.DescribeZones, models.DescribeZonesRequest())
            check(TEMP_TOKEN not in e.get_message(), "token echoed")


# errorcodes.py LimitExceeded.AssociateUSGLimitExceeded "一个实例绑定安全组数量不能超过5个"
def security_groups_at_most_five():
    i = run()
    sgs = ["sg-0000000%d" % n for n in range(6)]
    expect_error("LimitExceeded.AssociateUSGLimitExceeded", CLIENT.ModifyInstancesAttribute,
                 request(models.ModifyInstancesAttributeRequest, InstanceIds=[i], SecurityGroups=sgs))
    CLIENT.ModifyInstancesAttribute(request(models.ModifyInstancesAttributeRequest, InstanceIds=[i],
                                            SecurityGroups=sgs[:5]))
    terminate([i])


# Tag service limits (product/651/13354) "字符"; errorcodes.py IllegalTagKey / IllegalTagValue
def tag_charset():
    def tagged(tags):
        return dict(Placement={"Zone": ZONE}, ImageId=IMAGE, DryRun=True,
                    TagSpecification=[{"ResourceType": "instance", "Tags": tags}])
    for tags, code in [([{"Key": "team#1", "Value": "x"}], "FailedOperation.IllegalTagKey"),
                       ([{"Key": " team", "Value": "x"}], "FailedOperation.IllegalTagKey"),
                       ([{"Key": "team", "Value": "a*b"}], "FailedOperation.IllegalTagValue"),
                       ([{"Key": "team", "Value": "web "}], "FailedOperation.IllegalTagValue"),
                       # "支持中英文字符": Chinese and English letters, not other scripts
                       ([{"Key": "team", "Value": "ñandú"}], "FailedOperation.IllegalTagValue"),
                       ([{"Key": "сервер", "Value": "x"}], "FailedOperation.IllegalTagKey"),
                       ([{"Key": "环境 名:a/b@c", "Value": "生产【1】(x)[y],z;><+-=._"}], "DryRunOperation")]:
        expect_error(code, CLIENT.RunInstances, request(models.RunInstancesRequest, **tagged(tags)))


# GO comment of ModifyInstancesAttribute: "每次请求必须指定实例的一种属性用于修改"
def modify_one_attribute_per_request():
    i = run()
    expect_error("InvalidParameterCombination", CLIENT.ModifyInstancesAttribute,
                 request(models.ModifyInstancesAttributeRequest, InstanceIds=[i], InstanceName="a",
                         SecurityGroups=["sg-00000001"]))
    terminate([i])


# PY ResetInstancesTypeRequest.InstanceIds "仅支持每次操作1个实例"
def resize_one_instance_per_call():
    expect_error("InvalidParameterValue.LimitExceeded", CLIENT.ResetInstancesType,
                 request(models.ResetInstancesTypeRequest, InstanceIds=["ins-00000001", "ins-00000002"],
                         InstanceType="S5.LARGE8"))


# PY *Request.InstanceIds "每次请求批量实例的上限为100"
def instance_ids_at_most_100():
    ids = ["ins-%08d" % n for n in range(101)]
    for call, cls in [(CLIENT.StartInstances, models.StartInstancesRequest),
                      (CLIENT.StopInstances, models.StopInstancesRequest),
                      (CLIENT.RebootInstances, models.RebootInstancesRequest),
                      (CLIENT.TerminateInstances, models.TerminateInstancesRequest),
                      (CLIENT.DescribeInstances, models.DescribeInstancesRequest),
                      (CLIENT.DescribeInstancesStatus, models.DescribeInstancesStatusRequest)]:
        expect_error("InvalidParameterValue.LimitExceeded", call, request(cls, InstanceIds=ids))


# PYE InvalidClientToken.TooLong "必须小于等于64字节"
def client_token_at_most_64():
    expect_error("InvalidClientToken.TooLong", CLIENT.RunInstances,
                 request(models.RunInstancesRequest, Placement={"Zone": ZONE}, ImageId=IMAGE,
                         ClientToken="t" * 65))


# PY StopInstancesRequest.ForceStop / RebootInstancesRequest.ForceReboot
# "本参数已弃用，推荐使用StopType，不可以与参数StopType同时使用"
def force_flags_not_with_stop_type():
    i = run()
    expect_error("InvalidParameterCombination", CLIENT.StopInstances,
                 request(models.StopInstancesRequest, InstanceIds=[i], ForceStop=True, StopType="HARD"))
    expect_error("InvalidParameterCombination", CLIENT.RebootInstances,
                 request(models.RebootInstancesRequest, InstanceIds=[i], ForceReboot=True, StopType="SOFT"))
    terminate([i])


# GO ResetInstancesType comment: only CLOUD_BASIC/CLOUD_PREMIUM/CLOUD_SSD/CLOUD_BSSD system
# disks; errorcodes.py UnsupportedOperation.SystemDiskType
def resize_needs_a_cloud_system_disk():
    i = run(SystemDisk={"DiskType": "LOCAL_BASIC", "DiskSize": 50})
    CLIENT.StopInstances(request(models.StopInstancesRequest, InstanceIds=[i]))
    states_until(i, "STOPPED")
    expect_error("UnsupportedOperation.SystemDiskType", CLIENT.ResetInstancesType,
                 request(models.ResetInstancesTypeRequest, InstanceIds=[i], InstanceType="S5.LARGE8"))
    terminate([i])


# GO ResetInstancesType comment (= API/15744): "完成实例配置调整后，实例将自动显示为运行中，
# 无需手动进行开机"; a start meanwhile: OperationDenied.InstanceOperationInProgress (in the
# StartInstances error list)
def resize_ends_running():
    i = run()
    CLIENT.StopInstances(request(models.StopInstancesRequest, InstanceIds=[i]))
    states_until(i, "STOPPED")
    # a type change long enough to try a start in the middle of it
    emulator_config({"transition_delays_ms": {"resize": 3000}})
    try:
        CLIENT.ResetInstancesType(request(models.ResetInstancesTypeRequest, InstanceIds=[i], InstanceType="S5.LARGE8"))
        expect_error("OperationDenied.InstanceOperationInProgress", CLIENT.StartInstances,
                     request(models.StartInstancesRequest, InstanceIds=[i]))
    finally:
        emulator_config({"transition_delays_ms": {"resize": 100}})
    seen = states_until(i, "RUNNING")
    check(seen[-2:] == ["STARTING", "RUNNING"], "started by the cloud: %s" % seen)
    inst = CLIENT.DescribeInstances(request(models.DescribeInstancesRequest, InstanceIds=[i])).InstanceSet[0]
    check(inst.InstanceType == "S5.LARGE8", "type %s" % inst.InstanceType)
    check(inst.LatestOperation == "ResetInstancesType" and inst.LatestOperationState == "SUCCESS",
          "%s %s" % (inst.LatestOperation, inst.LatestOperationState))
    terminate([i])


# PY RunInstancesRequest.VirtualPrivateCloud: "InstanceCount参数必须与私有网络IP的个数一致且不能
# 大于20"; no dedicated code: InvalidParameterValue.LimitExceeded ("参数值数量超过限制", in the
# RunInstances error list)
def private_ips_at_most_20():
    def vpc(n):
        return dict(Placement={"Zone": ZONE}, ImageId=IMAGE, DryRun=True, InstanceCount=n,
                    VirtualPrivateCloud={"VpcId": "vpc-0000000a", "SubnetId": "subnet-0000000a",
                                         "PrivateIpAddresses": ["172.31.250.%d" % (k + 10) for k in range(n)]})
    expect_error("InvalidParameterValue.LimitExceeded", CLIENT.RunInstances,
                 request(models.RunInstancesRequest, **vpc(21)))
    expect_error("DryRunOperation", CLIENT.RunInstances, request(models.RunInstancesRequest, **vpc(20)))


CUSTOM_IMAGE = "img-cust0001"


# PY LoginSettings.KeepImageLogin: "只有使用自定义镜像、共享镜像或外部导入镜像创建实例时才能指定该参数为
# true"; no dedicated code: InvalidParameterValue.InvalidImageId ("镜像不允许执行该操作", in the
# RunInstances and ResetInstance error lists)
def keep_image_login_only_for_custom_images():
    def keep(image):
        return request(models.RunInstancesRequest, Placement={"Zone": ZONE}, ImageId=image, DryRun=True,
                       LoginSettings={"KeepImageLogin": "true"})
    expect_error("InvalidParameterValue.InvalidImageId", CLIENT.RunInstances, keep(IMAGE))
    expect_error("DryRunOperation", CLIENT.RunInstances, keep(CUSTOM_IMAGE))
    images = CLIENT.DescribeImages(request(models.DescribeImagesRequest, ImageIds=[CUSTOM_IMAGE])).ImageSet
    check(images and images[0].ImageType == "PRIVATE_IMAGE", "custom image listed: %s" % images)


WINDOWS_IMAGE = "img-9id7emv7"


# GO ResetInstance comment: "目前只支持系统盘类型是CLOUD_BASIC、CLOUD_PREMIUM、CLOUD_SSD、CLOUD_BSSD
# 类型的实例使用该接口实现操作系统切换"; no dedicated code: InvalidParameterValue.
# InvalidImageIdForRetsetInstance ("镜像无法用于重装当前实例", in the ResetInstance error list)
def reinstall_os_switch_needs_a_cloud_system_disk():
    local = run(SystemDisk={"DiskType": "LOCAL_BASIC", "DiskSize": 50})
    windows = dict(InstanceId=local, ImageId=WINDOWS_IMAGE, LoginSettings={"Password": "Emul@tor2024!x"})
    expect_error("InvalidParameterValue.InvalidImageIdForRetsetInstance", CLIENT.ResetInstance,
                 request(models.ResetInstanceRequest, **windows))
    # same OS family on a local disk: fine
    CLIENT.ResetInstance(request(models.ResetInstanceRequest, InstanceId=local, ImageId="img-l8og963d"))
    states_until(local, "RUNNING")
    cloud = run()
    CLIENT.ResetInstance(request(models.ResetInstanceRequest, **dict(windows, InstanceId=cloud)))
    states_until(cloud, "RUNNING")
    terminate([local])
    terminate([cloud])


def emulator_config(patch):
    emulator_post("config", patch)


# GO RunInstances comment: "预付费实例的购买会预先扣除本次实例购买所需金额，按小时后付费实例购买会预先
# 冻结本次实例购买一小时内所需金额，在调用本接口前请确保账户余额充足"; GO ResetInstancesType comment:
# "对于包年包月实例，使用该接口会涉及扣费，请确保账户余额充足"; InvalidAccount.InsufficientBalance
# (in both error lists). The emulator's switch: POST /_emulator/config
# {"tencent_balance_insufficient": true}.
def insufficient_balance_refuses_purchases():
    prepaid = run(**PREPAID)
    CLIENT.StopInstances(request(models.StopInstancesRequest, InstanceIds=[prepaid]))
    states_until(prepaid, "STOPPED")
    emulator_config({"tencent_balance_insufficient": True})
    try:
        for extra in (PREPAID, {}):
            expect_error("InvalidAccount.InsufficientBalance", CLIENT.RunInstances,
                         request(models.RunInstancesRequest, Placement={"Zone": ZONE}, ImageId=IMAGE, **extra))
        expect_error("InvalidAccount.InsufficientBalance", CLIENT.ResetInstancesType,
                     request(models.ResetInstancesTypeRequest, InstanceIds=[prepaid], InstanceType="S5.LARGE8"))
    finally:
        emulator_config({"tencent_balance_insufficient": False})
    run()
    CLIENT.ResetInstancesType(request(models.ResetInstancesTypeRequest, InstanceIds=[prepaid], InstanceType="S5.LARGE8"))


def emulator_post(path, body):
    import urllib.request
    req = urllib.request.Request("http://%s/_emulator/%s" % (ENDPOINT, path), data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as r:
        check(r.status == 200, "%s %s" % (path, body))


# GO TerminateInstances comment: "包年包月实例如符合退还规则，也可通过本接口主动退还"
# (product/213/9711); errorcodes.py FailedOperation.Unreturnable "实例无法退还". The emulator's
# switch: POST /_emulator/instances/{id}/returnable {"returnable": false}.
def prepaid_return_needs_the_refund_rules():
    i = run(**PREPAID)
    emulator_post("instances/%s/returnable" % i, {"returnable": False})
    expect_error("FailedOperation.Unreturnable", CLIENT.TerminateInstances,
                 request(models.TerminateInstancesRequest, InstanceIds=[i]))
    check(status(i) == "RUNNING", "left as it was: %s" % status(i))
    emulator_post("instances/%s/returnable" % i, {"returnable": True})
    terminate([i])
    states_until(i, "SHUTDOWN")
    terminate([i])


# models.Instance.InstanceState ENTER_SERVICE_LIVE_MIGRATE / SERVICE_LIVE_MIGRATE /
# EXIT_SERVICE_LIVE_MIGRATE (在线服务迁移, driven by the platform, ends by itself). GO: each phase's
# UnsupportedOperation.InstanceState*ServiceLiveMigrate is in the StartInstances, StopInstances,
# RebootInstances, ModifyInstancesAttribute, ResetInstance and ResetInstancesType lists;
# TerminateInstances lists only the ENTER and EXIT codes. The emulator's switch:
# POST /_emulator/instances/{id}/held {"held": "live_migrate", "phase_ms": N}.
def live_migration_refuses_actions_and_ends_by_itself():
    i = run()
    for held, suffix in (("enter_live_migrate", "EnterServiceLiveMigrate"),
                         ("live_migrate", "ServiceLiveMigrate"),
                         ("exit_live_migrate", "ExitServiceLiveMigrate")):
        emulator_post("instances/%s/held" % i, {"held": held, "phase_ms": 600000})
        code = "UnsupportedOperation.InstanceState" + suffix
        expect_error(code, CLIENT.StopInstances, request(models.StopInstancesRequest, InstanceIds=[i]))
        expect_error(code, CLIENT.RebootInstances, request(models.RebootInstancesRequest, InstanceIds=[i]))
        expect_error(code, CLIENT.ResetInstancesType,
                     request(models.ResetInstancesTypeRequest, InstanceIds=[i], InstanceType="S5.LARGE8",
                             ForceStop=True))
        if held != "live_migrate":
            expect_error(code, CLIENT.TerminateInstances, request(models.TerminateInstancesRequest, InstanceIds=[i]))
    emulator_post("instances/%s/held" % i, {"held": "enter_live_migrate", "phase_ms": 1000})
    seen = states_until(i, "RUNNING")
    check(seen[0] == "ENTER_SERVICE_LIVE_MIGRATE" and "SERVICE_LIVE_MIGRATE" in seen, "phases: %s" % seen)
    emulator_post("instances/%s/held" % i, {"held": "live_migrate", "phase_ms": 600000})
    terminate([i])
    states_until(i, None)


# GO errors.go LimitExceeded.UserReturnQuota "退还失败，退还配额已达上限" (in the TerminateInstances
# list); self-service returns are limited (product/213/9711). The emulator's setting:
# POST /_emulator/config {"tencent_return_quota": N} (returns left; null for unlimited).
def prepaid_returns_are_limited_by_the_return_quota():
    a = run(**PREPAID)
    b = run(**PREPAID)
    emulator_config({"tencent_return_quota": 1})
    try:
        expect_error("LimitExceeded.UserReturnQuota", CLIENT.TerminateInstances,
                     request(models.TerminateInstancesRequest, InstanceIds=[a, b]))
        terminate([a])
        states_until(a, "SHUTDOWN")
        expect_error("LimitExceeded.UserReturnQuota", CLIENT.TerminateInstances,
                     request(models.TerminateInstancesRequest, InstanceIds=[b]))
        check(status(b) == "RUNNING", "left as it was: %s" % status(b))
        terminate([a])
    finally:
        emulator_config({"tencent_return_quota": None})
    terminate([b])
    states_until(b, "SHUTDOWN")
    terminate([b])


# GO errors.go FailedOperation.PromotionalPerioRestriction "促销期内购买的实例不允许调整配置或计费模式"
# (in the ResetInstancesType list). The emulator's switch:
# POST /_emulator/instances/{id}/promotional {"promotional": true}.
def promotional_instances_cannot_change_type():
    i = run()
    emulator_post("instances/%s/promotional" % i, {"promotional": True})
    resize = request(models.ResetInstancesTypeRequest, InstanceIds=[i], InstanceType="S5.LARGE8", ForceStop=True)
    expect_error("FailedOperation.PromotionalPerioRestriction", CLIENT.ResetInstancesType, resize)
    check(status(i) == "RUNNING", "left as it was: %s" % status(i))
    emulator_post("instances/%s/promotional" % i, {"promotional": False})
    CLIENT.ResetInstancesType(resize)
    states_until(i, "RUNNING")
    terminate([i])


# models.Instance.InstanceState ENTER_RESCUE_MODE / EXIT_RESCUE_MODE; GO: the
# UnsupportedOperation.InstanceStateEnterRescueMode / ...ExitRescueMode codes are in the
# StopInstances, RebootInstances and TerminateInstances lists. The emulator's switch:
# POST /_emulator/instances/{id}/held {"held": "enter_rescue"|"exit_rescue", "phase_ms": N}.
def rescue_mode_phases_refuse_actions():
    i = run()
    emulator_post("instances/%s/held" % i, {"held": "enter_rescue", "phase_ms": 600000})
    for call, req in ((CLIENT.StopInstances, request(models.StopInstancesRequest, InstanceIds=[i])),
                      (CLIENT.RebootInstances, request(models.RebootInstancesRequest, InstanceIds=[i])),
                      (CLIENT.TerminateInstances, request(models.TerminateInstancesRequest, InstanceIds=[i]))):
        expect_error("UnsupportedOperation.InstanceStateEnterRescueMode", call, req)
    emulator_post("instances/%s/held" % i, {"held": "rescue"})
    emulator_post("instances/%s/held" % i, {"held": "exit_rescue", "phase_ms": 600000})
    expect_error("UnsupportedOperation.InstanceStateExitRescueMode", CLIENT.TerminateInstances,
                 request(models.TerminateInstancesRequest, InstanceIds=[i]))
    emulator_post("instances/%s/held" % i, {"held": "rescue"})
    emulator_post("instances/%s/held" % i, {"held": "exit_rescue", "phase_ms": 1000})
    seen = states_until(i, "RUNNING")
    check(seen[0] == "EXIT_RESCUE_MODE", "phases: %s" % seen)
    terminate([i])


RULES = [terminate_postpaid_destroys_directly, terminate_prepaid_recycles_then_destroys,
         terminate_mixed_charge_types_refused, temporary_credentials_need_their_token,
         security_groups_at_most_five, tag_charset, modify_one_attribute_per_request,
         resize_one_instance_per_call, instance_ids_at_most_100, client_token_at_most_64,
         force_flags_not_with_stop_type, resize_needs_a_cloud_system_disk, resize_ends_running,
         private_ips_at_most_20, keep_image_login_only_for_custom_images,
         reinstall_os_switch_needs_a_cloud_system_disk, insufficient_balance_refuses_purchases,
         prepaid_return_needs_the_refund_rules, live_migration_refuses_actions_and_ends_by_itself,
         prepaid_returns_are_limited_by_the_return_quota, promotional_instances_cannot_change_type,
         rescue_mode_phases_refuse_actions]


def main():
    global CLIENT
    CLIENT = make_client()
    failed = []
    for rule in RULES:
        try:
            rule()
            print("OK: %s" % rule.__name__, flush=True)
        except Exception as e:  # report every rule, then fail
            failed.append(rule.__name__)
            print("FAILED: %s: %r" % (rule.__name__, e), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
