"""Networks and flavors a Huawei ECS request must name, through the official SDKs
(huaweicloudsdkecs, huaweicloudsdkvpc) against the cloud emulator (docs/provider-contract.md
Huawei §3, §11, §13; codes from the ECS error table, API ecs_07_0002):

1. CreatePostPaidServers with a subnet the region does not have: Ecs.0038 "The subnet does
   not exist." (an unknown id, and another region's subnet).
2. Security groups are UUIDs of existing groups of the region: at create an unknown or
   malformed group is Ecs.0014; on a port (VPC v3 insert/remove-security-groups) a malformed
   id is 400 VPC.0601 and an unknown one 404 VPC.0603 (VPC error table vpc_api_0003).
3. Resize between flavor families that cannot switch, through ResizePostPaidServer (v1)
   and ResizeServer (v1.1): H2 Ecs.0806, large-memory <-> general Ecs.0805, KVM -> QingTian
   Ecs.0812 (driver check), QingTian -> KVM Ecs.0804; within a family it goes through.
   ListResizeFlavors (GET /v1/{project_id}/cloudservers/resize_flavors) lists exactly the
   targets the resize accepts.
"""
import time
import uuid

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkecs.v2 import (
    CreatePostPaidServersRequest,
    CreatePostPaidServersRequestBody,
    DeleteServersRequest,
    DeleteServersRequestBody,
    EcsClient,
    ListResizeFlavorsRequest,
    ServerId,
    ShowServerRequest,
    PostPaidServer,
    PostPaidServerNic,
    PostPaidServerRootVolume,
    PostPaidServerSecurityGroup,
    ResizePostPaidServerOption,
    ResizePostPaidServerRequest,
    ResizePostPaidServerRequestBody,
    ResizePrePaidServerOption,
    ResizeServerRequest,
    ResizeServerRequestBody,
)
from huaweicloudsdkvpc.v3 import (
    AddSecurityGroupsRequest,
    AddSecurityGroupsRequestBody,
    InsertSecurityGroupOption,
    RemoveSecurityGroupOption,
    RemoveSecurityGroupsRequest,
    RemoveSecurityGroupsRequestBody,
    ShowPortRequest,
    VpcClient,
)

from huawei_common import (AK, EMULATOR, PROJECT, SK, config, expect_error, step)


VPC = "0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
SUBNET = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
# ap-southeast-1's subnet in the emulator's catalog
OTHER_REGION_SUBNET = "2c8e5a71-4b3d-4f69-a1e0-7d9c6b5a4e31"
# security groups "app" and "db" of the emulator's catalog (cn-north-4), and ap-southeast-1's
SG_APP = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01"
SG_DB = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c02"
OTHER_REGION_SG = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b01"


def ecs():
    return (
        EcsClient.new_builder()
        .with_http_config(config())
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoint(EMULATOR)
        .build()
    )


def vpc():
    return (
        VpcClient.new_builder()
        .with_http_config(config())
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoint(EMULATOR)
        .build()
    )


def insert(client, port, groups):
    return client.add_security_groups(
        AddSecurityGroupsRequest(
            port_id=port,
            body=AddSecurityGroupsRequestBody(port=InsertSecurityGroupOption(security_groups=groups)),
        )
    )


def remove(client, port, groups):
    return client.remove_security_groups(
        RemoveSecurityGroupsRequest(
            port_id=port,
            body=RemoveSecurityGroupsRequestBody(port=RemoveSecurityGroupOption(security_groups=groups)),
        )
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

    step("security groups at create: unknown, malformed, another region's: Ecs.0014")
    expect_error(lambda: create(c, groups=[SG_APP, str(uuid.uuid4())]), 400, "Ecs.0014")
    expect_error(lambda: create(c, groups=["sg-web"]), 400, "Ecs.0014")
    expect_error(lambda: create(c, groups=[OTHER_REGION_SG]), 400, "Ecs.0014")

    step("a server in group app; its port refuses unknown groups (VPC.0601 / VPC.0603)")
    sid = create(c, groups=[SG_APP]).server_ids[0]
    detail = c.show_server(ShowServerRequest(server_id=sid)).server
    assert [g.name for g in detail.security_groups] == ["app"], detail.security_groups
    port = {a.os_ext_ip_sport_id for addrs in detail.addresses.values() for a in addrs}.pop()
    v = vpc()
    expect_error(lambda: insert(v, port, [SG_DB, "sg-web"]), 400, "VPC.0601")
    expect_error(lambda: insert(v, port, [SG_DB, str(uuid.uuid4())]), 404, "VPC.0603")
    expect_error(lambda: remove(v, port, [OTHER_REGION_SG]), 404, "VPC.0603")
    assert v.show_port(ShowPortRequest(port_id=port)).port.security_groups == [SG_APP]
    insert(v, port, [SG_DB])
    assert v.show_port(ShowPortRequest(port_id=port)).port.security_groups == [SG_APP, SG_DB]

    c.delete_servers(DeleteServersRequest(body=DeleteServersRequestBody(servers=[ServerId(id=sid)])))

    step("resize between families that cannot switch (v1 and v1.1)")

    def resize_v1(server_id, flavor):
        return c.resize_post_paid_server(
            ResizePostPaidServerRequest(
                server_id=server_id,
                body=ResizePostPaidServerRequestBody(
                    resize=ResizePostPaidServerOption(flavor_ref=flavor, mode="withStopServer")
                ),
            )
        )

    def resize_v11(server_id, flavor):
        return c.resize_server(
            ResizeServerRequest(
                server_id=server_id,
                body=ResizeServerRequestBody(
                    resize=ResizePrePaidServerOption(flavor_ref=flavor, mode="withStopServer")
                ),
            )
        )

    servers = {f: create(c, flavor=f).server_ids[0] for f in
               ["h2.3xlarge.10", "e3.7xlarge.12", "s6.large.2", "c7.large.2"]}
    for resize in (resize_v1, resize_v11):
        expect_error(lambda: resize(servers["h2.3xlarge.10"], "s6.large.2"), 400, "Ecs.0806")
        expect_error(lambda: resize(servers["e3.7xlarge.12"], "s6.large.2"), 400, "Ecs.0805")
        expect_error(lambda: resize(servers["s6.large.2"], "c7.large.2"), 400, "Ecs.0812")
        expect_error(lambda: resize(servers["c7.large.2"], "s6.large.2"), 400, "Ecs.0804")
    for sid in servers.values():
        deadline = time.time() + 30
        while c.show_server(ShowServerRequest(server_id=sid)).server.status != "ACTIVE":
            assert time.time() < deadline, f"{sid} not ACTIVE"
            time.sleep(0.2)
    step("ListResizeFlavors: the targets the resize accepts")

    def targets(**kw):
        return [f.id for f in c.list_resize_flavors(ListResizeFlavorsRequest(**kw)).flavors]

    assert targets(source_flavor_id="c7.large.2") == ["c7.xlarge.2", "m7.large.8"]
    assert targets(source_flavor_id="h2.3xlarge.10") == []
    assert targets(instance_uuid=servers["s6.large.2"]) == ["s6.medium.2", "s6.small.1", "s6.xlarge.2"]

    step("within a family, and QingTian to QingTian, a resize goes through")
    assert resize_v1(servers["e3.7xlarge.12"], "e3.14xlarge.12").job_id
    assert resize_v11(servers["c7.large.2"], "m7.large.8").job_id
    c.delete_servers(
        DeleteServersRequest(
            body=DeleteServersRequestBody(servers=[ServerId(id=i) for i in servers.values()])
        )
    )
    print("OK: Huawei networks and flavor families passed")


if __name__ == "__main__":
    main()
