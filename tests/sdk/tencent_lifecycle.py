#!/usr/bin/env python3
"""Tencent Cloud CVM lifecycle through the official Python SDK (tencentcloud-sdk-python).

This is an ordinary SDK program. The only emulator-specific part is the endpoint: when
CVM_ENDPOINT is set (host:port of the cloud emulator) the HttpProfile sends plain HTTP
there instead of https://cvm.tencentcloudapi.com.

Environment:
  TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY  credentials
  CVM_ENDPOINT      optional endpoint override, e.g. 127.0.0.1:8080 (plain HTTP)
  CVM_REGION        region (default ap-guangzhou)
  CVM_ZONE          zone (default <region>-3)
  CVM_WAIT_SECONDS  how long to wait for each state (default 120)

Exits 0 when every step behaved as the CVM API reference says, non-zero otherwise.
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
ENDPOINT = os.environ.get("CVM_ENDPOINT")
REGION = os.environ.get("CVM_REGION", "ap-guangzhou")
ZONE = os.environ.get("CVM_ZONE", REGION + "-3")
WAIT = float(os.environ.get("CVM_WAIT_SECONDS", "120"))


def make_client(secret_key=SECRET_KEY, secret_id=SECRET_ID, req_method="POST", sign_method=None):
    http = HttpProfile(reqMethod=req_method)
    if ENDPOINT:
        http.protocol = "http"
        http.scheme = "http"
        http.endpoint = ENDPOINT
    profile = ClientProfile(httpProfile=http, signMethod=sign_method)
    return cvm_client.CvmClient(credential.Credential(secret_id, secret_key), REGION, profile)


def request(cls, **params):
    req = cls()
    req.from_json_string(json.dumps(params))
    return req


def step(msg):
    print("==>", msg, flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_error(code, fn, *args):
    try:
        fn(*args)
    except TencentCloudSDKException as e:
        check(e.get_code() == code, "expected %s, got %s: %s" % (code, e.get_code(), e.get_message()))
        check(e.get_request_id(), "error without RequestId")
        print("    got expected %s (%s)" % (code, e.get_request_id()), flush=True)
        return e
    raise AssertionError("expected error %s but the call succeeded" % code)


def status(client, instance_id):
    resp = client.DescribeInstancesStatus(
        request(models.DescribeInstancesStatusRequest, InstanceIds=[instance_id]))
    states = [s.InstanceState for s in resp.InstanceStatusSet if s.InstanceId == instance_id]
    return states[0] if states else None


def wait_for(client, instance_id, wanted):
    deadline = time.time() + WAIT
    seen = []
    while True:
        state = status(client, instance_id)
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in wanted:
            print("    states seen: %s" % " -> ".join(str(s) for s in seen), flush=True)
            return state
        check(time.time() < deadline, "%s did not reach %s; states seen: %s" % (instance_id, wanted, seen))
        time.sleep(0.2)


def main():
    client = make_client()

    step("DescribeZones / DescribeImages / DescribeInstanceTypeConfigs")
    zones = client.DescribeZones(models.DescribeZonesRequest())
    check(any(z.Zone == ZONE and z.ZoneState == "AVAILABLE" for z in zones.ZoneSet), "zone %s not offered" % ZONE)
    images = client.DescribeImages(request(
        models.DescribeImagesRequest,
        Filters=[{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}], Limit=100))
    linux = [i for i in images.ImageSet if i.Platform != "Windows" and i.Architecture == "x86_64"]
    check(linux, "no public x86_64 Linux image")
    image_id = linux[0].ImageId
    types = client.DescribeInstanceTypeConfigs(request(
        models.DescribeInstanceTypeConfigsRequest,
        Filters=[{"Name": "zone", "Values": [ZONE]}, {"Name": "instance-family", "Values": ["S5"]}]))
    check(types.InstanceTypeConfigSet, "no S5 instance types in %s" % ZONE)
    instance_type = sorted(types.InstanceTypeConfigSet, key=lambda t: (t.CPU, t.Memory))[0].InstanceType
    print("    image %s (%s), type %s" % (image_id, linux[0].OsName, instance_type), flush=True)

    token = str(uuid.uuid4())
    name = "sdk-lifecycle-%s" % token[:8]
    run_params = dict(
        Placement={"Zone": ZONE},
        ImageId=image_id,
        InstanceType=instance_type,
        InstanceChargeType="POSTPAID_BY_HOUR",
        InstanceName=name,
        InstanceCount=1,
        SystemDisk={"DiskType": "CLOUD_PREMIUM", "DiskSize": 50},
        InternetAccessible={"InternetChargeType": "TRAFFIC_POSTPAID_BY_HOUR", "InternetMaxBandwidthOut": 1,
                            "PublicIpAssigned": True},
        LoginSettings={"Password": "Emul@tor2024"},
        TagSpecification=[{"ResourceType": "instance", "Tags": [{"Key": "suite", "Value": name}]}],
        ClientToken=token,
    )

    # Tag limits (https://cloud.tencent.com/document/product/651/13354): values 1-255
    # characters, keys starting with qcs:/project/项目 reserved; codes from errorcodes.py.
    step("RunInstances with a reserved tag key or an empty tag value is refused")
    for tags, code in [([{"Key": "qcs:owner", "Value": "x"}], "FailedOperation.TagKeyReserved"),
                       ([{"Key": "project", "Value": "x"}], "FailedOperation.TagKeyReserved"),
                       ([{"Key": "team", "Value": ""}], "FailedOperation.IllegalTagValue"),
                       ([{"Key": "k" * 128, "Value": "x"}], "FailedOperation.IllegalTagKey")]:
        bad = dict(run_params, ClientToken=str(uuid.uuid4()),
                   TagSpecification=[{"ResourceType": "instance", "Tags": tags}])
        expect_error(code, client.RunInstances, request(models.RunInstancesRequest, **bad))

    step("RunInstances DryRun")
    expect_error("DryRunOperation", client.RunInstances, request(models.RunInstancesRequest, DryRun=True, **run_params))

    step("RunInstances")
    created = client.RunInstances(request(models.RunInstancesRequest, **run_params))
    check(len(created.InstanceIdSet) == 1, "expected one instance id, got %s" % created.InstanceIdSet)
    instance_id = created.InstanceIdSet[0]
    print("    created %s (RequestId %s)" % (instance_id, created.RequestId), flush=True)

    step("RunInstances again with the same ClientToken is idempotent")
    again = client.RunInstances(request(models.RunInstancesRequest, **run_params))
    check(again.InstanceIdSet == created.InstanceIdSet, "ClientToken not idempotent: %s" % again.InstanceIdSet)

    step("wait for RUNNING")
    wait_for(client, instance_id, {"RUNNING"})

    step("DescribeInstances by id (GET, signature v3) and by tag")
    get_client = make_client(req_method="GET")
    described = get_client.DescribeInstances(request(models.DescribeInstancesRequest, InstanceIds=[instance_id]))
    check(described.TotalCount == 1, "DescribeInstances TotalCount %s" % described.TotalCount)
    inst = described.InstanceSet[0]
    check(inst.InstanceName == name, "name %r" % inst.InstanceName)
    check(inst.InstanceType == instance_type, "type %r" % inst.InstanceType)
    check(inst.Placement.Zone == ZONE, "zone %r" % inst.Placement.Zone)
    check(inst.PrivateIpAddresses, "no private IP")
    check(inst.PublicIpAddresses, "no public IP despite InternetMaxBandwidthOut=1")
    check(any(t.Key == "suite" and t.Value == name for t in inst.Tags), "tag missing: %s" % inst.Tags)
    by_tag = client.DescribeInstances(request(
        models.DescribeInstancesRequest, Filters=[{"Name": "tag:suite", "Values": [name]}]))
    check([i.InstanceId for i in by_tag.InstanceSet] == [instance_id], "tag filter: %s" % by_tag.InstanceSet)

    step("StartInstances on a RUNNING instance is refused")
    expect_error("UnsupportedOperation.InstanceStateRunning", client.StartInstances,
                 request(models.StartInstancesRequest, InstanceIds=[instance_id]))

    step("StopInstances")
    client.StopInstances(request(models.StopInstancesRequest, InstanceIds=[instance_id], StopType="SOFT"))
    wait_for(client, instance_id, {"STOPPED"})

    step("StopInstances on a STOPPED instance is refused")
    expect_error("UnsupportedOperation.InstanceStateStopped", client.StopInstances,
                 request(models.StopInstancesRequest, InstanceIds=[instance_id]))

    step("StartInstances")
    client.StartInstances(request(models.StartInstancesRequest, InstanceIds=[instance_id]))
    wait_for(client, instance_id, {"RUNNING"})

    step("RebootInstances")
    client.RebootInstances(request(models.RebootInstancesRequest, InstanceIds=[instance_id], StopType="SOFT"))
    wait_for(client, instance_id, {"RUNNING"})

    step("DescribeInstancesStatus with signature v1 (HmacSHA256)")
    v1_client = make_client(sign_method="HmacSHA256")
    check(status(v1_client, instance_id) == "RUNNING", "v1 status")

    step("TerminateInstances")
    client.TerminateInstances(request(models.TerminateInstancesRequest, InstanceIds=[instance_id]))
    # Pay-as-you-go: "按量计费实例调用本接口将被直接销毁" (destroyed directly, no recycle bin;
    # https://cloud.tencent.com/document/api/213/15723). Test: terminate_postpaid_directly.
    seen = set()
    deadline = time.time() + WAIT
    while True:
        s = status(client, instance_id)
        seen.add(s)
        if s is None:
            break
        check(time.time() < deadline, "instance still %s" % s)
        time.sleep(0.05)
    check("SHUTDOWN" not in seen, "a pay-as-you-go instance went through SHUTDOWN: %s" % seen)
    print("    states after TerminateInstances: %s" % sorted(str(x) for x in seen), flush=True)

    step("A wrong SecretKey is rejected with AuthFailure.SignatureFailure")
    bad = make_client(secret_key=SECRET_KEY + "-wrong")
    expect_error("AuthFailure.SignatureFailure", bad.DescribeInstances, models.DescribeInstancesRequest())

    step("An unknown SecretId is rejected with AuthFailure.SecretIdNotFound")
    unknown = make_client(secret_id="AKID" + "0" * 32)
    expect_error("AuthFailure.SecretIdNotFound", unknown.DescribeInstances, models.DescribeInstancesRequest())

    print("OK: Tencent CVM lifecycle passed", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # report any failure with a non-zero exit
        import traceback
        traceback.print_exc()
        print("FAILED: %s" % e, flush=True)
        sys.exit(1)
