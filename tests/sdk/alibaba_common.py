"""What the Alibaba SDK scripts share: the official ECS SDK client (alibabacloud-ecs20140526)
pointed at the emulator, waits, and error checks. Each script imports it from its own folder
(python puts a script's folder first on sys.path)."""
import json
import os
import time
import urllib.request

from alibabacloud_ecs20140526 import models as ecs
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi import models as openapi
from alibabacloud_tea_openapi.exceptions import ClientException

ENDPOINT = os.environ["ECS_ENDPOINT"]
REGION = os.environ.get("ECS_REGION", "cn-hangzhou")
WAIT = float(os.environ.get("ECS_WAIT_SECONDS", "60"))
# Images of the emulator's catalog (emulator/src/alibaba/catalog.rs).
LINUX = "aliyun_3_x64_20G_alibase_20240819.vhd"
WINDOWS = "win2022_21H2_x64_dtc_en-us_40G_alibase_20240918.vhd"


def client():
    return Client(openapi.Config(
        access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        endpoint=ENDPOINT,
        protocol="http",
        region_id=REGION,
    ))


def step(msg):
    print(f"--> {msg}", flush=True)


def describe(c, iid):
    r = c.describe_instances(ecs.DescribeInstancesRequest(region_id=REGION, instance_ids=json.dumps([iid])))
    items = r.body.instances.instance if r.body.instances else []
    return items[0] if items else None


def wait_for(c, iid, wanted):
    """Until the instance's Status is `wanted` ("<absent>": gone); prints the states seen."""
    deadline = time.time() + WAIT
    seen = []
    while time.time() < deadline:
        i = describe(c, iid)
        st = i.status if i else "<absent>"
        if not seen or seen[-1] != st:
            seen.append(st)
        if st == wanted:
            print(f"    {iid}: {' -> '.join(seen)}")
            return
        time.sleep(0.1)
    raise AssertionError(f"{iid} did not become {wanted}: {seen}")


def expect_error(fn, code, status=None):
    try:
        fn()
    except ClientException as e:
        assert e.code == code, f"expected {code}, got {e.code}: {e.message}"
        if status is not None:
            assert e.status_code == status, (code, e.status_code)
        return e
    raise AssertionError(f"expected error {code}, the call succeeded")


def emulator_config(patch):
    req = urllib.request.Request(f"http://{ENDPOINT}/_emulator/config", data=json.dumps(patch).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req) as r:
        assert r.status == 200, patch
