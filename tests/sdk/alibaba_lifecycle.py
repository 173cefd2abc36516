"""An ordinary program using Alibaba Cloud's official ECS SDK (alibabacloud-ecs20140526).

Only the endpoint is unusual: ECS_ENDPOINT (host:port) and plain HTTP, so that it talks to
the cloud emulator. Credentials come from ALIBABA_CLOUD_ACCESS_KEY_ID /
ALIBABA_CLOUD_ACCESS_KEY_SECRET. The SDK signs with its default (V3, ACS3-HMAC-SHA256);
one call also uses signature V2 (HMAC-SHA1).

Lifecycle: DescribeRegions -> RunInstances (DryRun, then real, then the same ClientToken
again) -> DescribeInstanceStatus -> DescribeInstances -> StopInstances -> StartInstances ->
RebootInstances -> DeleteInstances; finally a wrong secret must get SignatureDoesNotMatch.
"""
import json
import os
import sys
import time
import uuid

from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi import models as openapi
from alibabacloud_tea_openapi.exceptions import ClientException

ENDPOINT = os.environ["ECS_ENDPOINT"]
REGION = os.environ.get("ECS_REGION", "cn-hangzhou")
WAIT = float(os.environ.get("ECS_WAIT_SECONDS", "60"))
KEY_ID = os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"]
SECRET = os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]


def client(secret=SECRET, signature_algorithm=None):
    cfg = openapi.Config(
        access_key_id=KEY_ID,
        access_key_secret=secret,
        endpoint=ENDPOINT,
        protocol="http",
        region_id=REGION,
    )
    if signature_algorithm:
        cfg.signature_algorithm = signature_algorithm
    return Client(cfg)


def step(msg):
    print(f"--> {msg}", flush=True)


def statuses(c, ids):
    r = c.describe_instance_status(ecs.DescribeInstanceStatusRequest(region_id=REGION, instance_id=ids, page_size=50))
    items = r.body.instance_statuses.instance_status if r.body.instance_statuses else []
    return {s.instance_id: s.status for s in items}


def wait_for(c, instance_id, wanted):
    deadline = time.time() + WAIT
    seen = []
    while time.time() < deadline:
        st = statuses(c, [instance_id]).get(instance_id, "<absent>")
        if not seen or seen[-1] != st:
            seen.append(st)
        if st == wanted:
            print(f"    {instance_id}: {' -> '.join(seen)}")
            return
        time.sleep(0.1)
    raise AssertionError(f"{instance_id} did not become {wanted}: {seen}")


def expect_error(fn, code):
    try:
        fn()
    except ClientException as e:
        assert e.code == code, f"expected {code}, got {e.code}: {e.message}"
        return e
    raise AssertionError(f"expected error {code}, the call succeeded")


def main():
    c = client()

    step("DescribeRegions")
    regions = c.describe_regions(ecs.DescribeRegionsRequest(accept_language="en-US")).body.regions.region
    assert any(r.region_id == REGION for r in regions), [r.region_id for r in regions]

    step("DescribeRegions with signature V2 (HMAC-SHA1)")
    v2 = client(signature_algorithm="v2")
    assert v2.describe_regions(ecs.DescribeRegionsRequest()).body.regions.region

    zone = c.describe_zones(ecs.DescribeZonesRequest(region_id=REGION)).body.zones.zone[0].zone_id
    image = c.describe_images(ecs.DescribeImagesRequest(region_id=REGION, page_size=10)).body.images.image[0].image_id
    token = str(uuid.uuid4())

    def run_request(dry_run=False, instance_type="ecs.g7.large", client_token=token):
        return ecs.RunInstancesRequest(
            region_id=REGION,
            zone_id=zone,
            image_id=image,
            instance_type=instance_type,
            security_group_id="sg-sdk000000000000001",
            v_switch_id="vsw-sdk000000000000001",
            instance_name="sdk-lifecycle",
            password="Sdk-Passw0rd!",
            internet_max_bandwidth_out=5,
            system_disk=ecs.RunInstancesRequestSystemDisk(category="cloud_essd", size="40"),
            data_disk=[ecs.RunInstancesRequestDataDisk(category="cloud_essd", size=100)],
            tag=[ecs.RunInstancesRequestTag(key="owner", value="sdk-test")],
            amount=1,
            client_token=client_token,
            dry_run=dry_run,
        )

    step("RunInstances DryRun=true")
    expect_error(lambda: c.run_instances(run_request(dry_run=True)), "DryRunOperation")

    step("RunInstances")
    ids = c.run_instances(run_request()).body.instance_id_sets.instance_id_set
    assert len(ids) == 1, ids
    iid = ids[0]
    print(f"    created {iid}")

    step("RunInstances again with the same ClientToken")
    again = c.run_instances(run_request()).body.instance_id_sets.instance_id_set
    assert again == ids, (again, ids)

    # The same ClientToken with other parameters (AlibabaCloudDocs/ecs "Response results":
    # IdempotentParameterMismatch, 400); a token over 64 characters
    # (RunInstances error table: InvalidClientToken.ValueNotSupported).
    step("RunInstances with the same ClientToken and another type: IdempotentParameterMismatch")
    e = expect_error(lambda: c.run_instances(run_request(instance_type="ecs.c7.large")), "IdempotentParameterMismatch")
    assert e.status_code == 400, e.status_code

    step("RunInstances with a 65-character ClientToken: InvalidClientToken.ValueNotSupported")
    expect_error(lambda: c.run_instances(run_request(client_token="t" * 65)), "InvalidClientToken.ValueNotSupported")

    step("DescribeInstanceStatus until Running")
    wait_for(c, iid, "Running")

    # Batch actions answer a passing dry run with DRYRUN.SUCCESS (StopInstancesRequest.dry_run).
    step("StopInstances DryRun=true: DRYRUN.SUCCESS")
    expect_error(lambda: c.stop_instances(ecs.StopInstancesRequest(region_id=REGION, instance_id=[iid], dry_run=True)), "DRYRUN.SUCCESS")

    step("DescribeInstances")
    r = c.describe_instances(ecs.DescribeInstancesRequest(region_id=REGION, instance_ids=json.dumps([iid])))
    inst = r.body.instances.instance
    assert len(inst) == 1 and inst[0].instance_id == iid
    assert inst[0].instance_name == "sdk-lifecycle"
    assert inst[0].status == "Running"
    assert {t.tag_key: t.tag_value for t in inst[0].tags.tag} == {"owner": "sdk-test"}
    assert inst[0].vpc_attributes.private_ip_address.ip_address
    assert inst[0].public_ip_address.ip_address

    step("StopInstances")
    r = c.stop_instances(ecs.StopInstancesRequest(region_id=REGION, instance_id=[iid], force_stop=False))
    resp = r.body.instance_responses.instance_response[0]
    assert (resp.previous_status, resp.current_status) == ("Running", "Stopping"), resp.to_map()
    wait_for(c, iid, "Stopped")

    step("StartInstances")
    c.start_instances(ecs.StartInstancesRequest(region_id=REGION, instance_id=[iid]))
    wait_for(c, iid, "Running")

    step("StartInstances on a running instance")
    e = expect_error(lambda: c.start_instances(ecs.StartInstancesRequest(region_id=REGION, instance_id=[iid])), "IncorrectInstanceStatus")
    assert e.status_code == 403, e.status_code

    step("RebootInstances")
    r = c.reboot_instances(ecs.RebootInstancesRequest(region_id=REGION, instance_id=[iid], force_reboot=False))
    assert r.body.instance_responses.instance_response[0].current_status == "Stopping"
    wait_for(c, iid, "Running")

    step("DeleteInstances Force=true")
    c.delete_instances(ecs.DeleteInstancesRequest(region_id=REGION, instance_id=[iid], force=True))
    wait_for(c, iid, "<absent>")

    step("DescribeRegions with a wrong AccessKeySecret")
    e = expect_error(lambda: client(secret="wrong-secret").describe_regions(ecs.DescribeRegionsRequest()), "SignatureDoesNotMatch")
    assert e.status_code == 400, e.status_code
    print(f"    {e.code}: {e.message[:80]}")

    print("OK: Alibaba ECS lifecycle passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - report and fail
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
