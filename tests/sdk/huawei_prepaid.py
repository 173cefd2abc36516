"""Yearly/monthly (prepaid) Huawei servers through the official SDKs (huaweicloudsdkecs,
huaweicloudsdkiam, huaweicloudsdkbss) against the cloud emulator.

1. CreateServers (v1.1, chargingMode=prePaid) with key_name and no metadata.op_svc_userid is
   refused; with the IAM user id (ShowPermanentAccessKey) it is created.
2. ResizePostPaidServer (v1) is refused for it (API ecs_02_0210 constraint); ResizeServer
   (v1.1, ecs_02_0209) answers an order id.
3. DeleteServers is refused with Ecs.0513 (ecs_02_0103); BSS CancelResourcesSubscription
   unsubscribes it and the server goes away.

Environment: EMULATOR (http://127.0.0.1:port), HUAWEICLOUD_SDK_AK / _SK, HOME_PROJECT_ID.
"""
import time

from huaweicloudsdkbss.v2 import (
    BssClient,
    CancelResourcesSubscriptionRequest,
    UnsubscribeResourcesReq,
)
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkecs.v2 import (
    CreateServersRequest,
    CreateServersRequestBody,
    DeleteServersRequest,
    DeleteServersRequestBody,
    EcsClient,
    PrePaidServer,
    PrePaidServerExtendParam,
    PrePaidServerNic,
    PrePaidServerRootVolume,
    ResizePostPaidServerOption,
    ResizePostPaidServerRequest,
    ResizePostPaidServerRequestBody,
    ResizePrePaidServerOption,
    ResizeServerExtendParam,
    ResizeServerRequest,
    ResizeServerRequestBody,
    ServerId,
    ShowServerRequest,
)
from huaweicloudsdkiam.v3 import IamClient, ShowPermanentAccessKeyRequest

from huawei_common import (AK, EMULATOR, PROJECT, SK, config, expect_error, step)


def server(metadata):
    return PrePaidServer(
        image_ref="5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
        flavor_ref="s6.medium.2",
        name="sdk-prepaid",
        vpcid="0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
        nics=[PrePaidServerNic(subnet_id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")],
        root_volume=PrePaidServerRootVolume(volumetype="SSD"),
        availability_zone="cn-north-4a",
        key_name="kp-sdk",
        metadata=metadata,
        extendparam=PrePaidServerExtendParam(
            charging_mode="prePaid", period_type="month", period_num=1, is_auto_pay="true"
        ),
    )


def main():
    ecs = (
        EcsClient.new_builder()
        .with_http_config(config())
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoint(EMULATOR)
        .build()
    )
    iam = (
        IamClient.new_builder()
        .with_http_config(config())
        .with_credentials(GlobalCredentials(AK, SK).with_iam_endpoint(EMULATOR))
        .with_endpoint(EMULATOR)
        .build()
    )
    bss = (
        BssClient.new_builder()
        .with_http_config(config())
        .with_credentials(GlobalCredentials(AK, SK).with_iam_endpoint(EMULATOR))
        .with_endpoint(EMULATOR)
        .build()
    )

    step("CreateServers (prepaid, key_name) without metadata.op_svc_userid: refused")
    expect_error(
        lambda: ecs.create_servers(
            CreateServersRequest(body=CreateServersRequestBody(server=server(None)))
        ),
        400,
        "Ecs.0005",
    )
    user = iam.show_permanent_access_key(ShowPermanentAccessKeyRequest(access_key=AK))
    user_id = user.credential.user_id
    step(f"CreateServers with op_svc_userid={user_id}")
    created = ecs.create_servers(
        CreateServersRequest(
            body=CreateServersRequestBody(server=server({"op_svc_userid": user_id}))
        )
    )
    sid = created.server_ids[0]
    deadline = time.time() + 30
    while ecs.show_server(ShowServerRequest(server_id=sid)).server.status != "ACTIVE":
        assert time.time() < deadline, "server did not become ACTIVE"
        time.sleep(0.1)
    detail = ecs.show_server(ShowServerRequest(server_id=sid)).server
    assert detail.metadata["charging_mode"] == "1", detail.metadata

    step("ResizePostPaidServer (v1) on a yearly/monthly server: refused")
    expect_error(
        lambda: ecs.resize_post_paid_server(
            ResizePostPaidServerRequest(
                server_id=sid,
                body=ResizePostPaidServerRequestBody(
                    resize=ResizePostPaidServerOption(flavor_ref="s6.large.2", mode="withStopServer")
                ),
            )
        ),
        400,
        "Ecs.0005",
    )
    step("ResizeServer (v1.1): an order")
    resized = ecs.resize_server(
        ResizeServerRequest(
            server_id=sid,
            body=ResizeServerRequestBody(
                resize=ResizePrePaidServerOption(
                    flavor_ref="s6.large.2",
                    mode="withStopServer",
                    extendparam=ResizeServerExtendParam(is_auto_pay="true"),
                )
            ),
        )
    )
    assert resized.order_id, resized

    step("DeleteServers on a yearly/monthly server: Ecs.0513")
    expect_error(
        lambda: ecs.delete_servers(
            DeleteServersRequest(body=DeleteServersRequestBody(servers=[ServerId(id=sid)]))
        ),
        400,
        "Ecs.0513",
    )
    step("BSS CancelResourcesSubscription")
    r = bss.cancel_resources_subscription(
        CancelResourcesSubscriptionRequest(
            body=UnsubscribeResourcesReq(resource_ids=[sid], unsubscribe_type=1)
        )
    )
    assert r.order_ids and not r.fail_resource_infos, r
    deadline = time.time() + 30
    while True:
        try:
            status = ecs.show_server(ShowServerRequest(server_id=sid)).server.status
        except exceptions.ClientRequestException as e:
            assert e.status_code == 404, e
            break
        if status == "DELETED":
            break
        assert time.time() < deadline, f"server still {status}"
        time.sleep(0.1)

    print("OK: Huawei prepaid paths passed")


if __name__ == "__main__":
    main()
