"""Networks and flavors a Huawei ECS request must name, through the official SDKs
(huaweicloudsdkecs, huaweicloudsdkvpc) against the cloud emulator (docs/provider-contract.md
Huawei §3, §11, §13; codes from the ECS error table, API ecs_07_0002):

1. CreatePostPaidServers with a subnet the region does not have: Ecs.0038 "The subnet does
   not exist." (an unknown id, and another region's subnet).
"""
import os
import uuid

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkecs.v2 import (
    CreatePostPaidServersRequest,
    CreatePostPaidServersRequestBody,
    EcsClient,
    PostPaidServer,
    PostPaidServerNic,
    PostPaidServerRootVolume,
    PostPaidServerSecurityGroup,
)

EMULATOR = os.environ["EMULATOR"]
AK = os.environ["HUAWEICLOUD_SDK_AK"]
SK = os.environ["HUAWEICLOUD_SDK_SK"]
PROJECT = os.environ["HOME_PROJECT_ID"]

VPC = "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
SUBNET = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
# ap-southeast-1's subnet in the emulator's catalog
OTHER_REGION_SUBNET = "2c8e5a71-4b3d-4f69-a1e0-7d9c6b5a4e31"


def config():
    c = HttpConfig.get_default_config()
    c.timeout = (5, 30)
    return c


def step(msg):
    print(f"--> {msg}", flush=True)


def expect_error(call, status, code):
    try:
        call()
    except exceptions.ClientRequestException as e:
        print(f"    {e.status_code} {e.error_code}: {e.error_msg}")
        assert (e.status_code, e.error_code) == (status, code), e
        return
    raise AssertionError(f"expected {status} {code}")


def ecs():
    return (
        EcsClient.new_builder()
        .with_http_config(config())
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoint(EMULATOR)
        .build()
    )


def create(client, subnet=SUBNET, groups=None, flavor="s6.medium.2"):
    server = PostPaidServer(
        image_ref="5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
        flavor_ref=flavor,
        name="sdk-network",
        vpcid=VPC,
        nics=[PostPaidServerNic(subnet_id=subnet)],
        root_volume=PostPaidServerRootVolume(volumetype="SSD"),
        admin_pass="Sdk-Passw0rd!",
        security_groups=[PostPaidServerSecurityGroup(id=g) for g in groups] if groups else None,
    )
    return client.create_post_paid_servers(
        CreatePostPaidServersRequest(
            body=CreatePostPaidServersRequestBody(server=server),
            x_client_token=str(uuid.uuid4()),
        )
    )


def main():
    c = ecs()

    step("a subnet the region does not have: Ecs.0038")
    expect_error(lambda: create(c, subnet=str(uuid.uuid4())), 400, "Ecs.0038")
    expect_error(lambda: create(c, subnet=OTHER_REGION_SUBNET), 400, "Ecs.0038")

    print("OK: Huawei networks and flavor families passed")


if __name__ == "__main__":
    main()
