"""A server's security groups per port through the official VPC v3 SDK (huaweicloudsdkvpc),
the documented successor of the deprecated Nova addSecurityGroup/removeSecurityGroup
(API ecs_03_0601/0602 "（废弃）"), against the cloud emulator.

1. A server created with huaweicloudsdkecs names its port in
   addresses[].OS-EXT-IPS:port_id; VpcClient.show_port shows the port's security groups.
2. AddSecurityGroups (PUT /v3/{project_id}/ports/{port_id}/insert-security-groups):
   dry_run answers 202 and changes nothing; `index` places the groups; at most 100 groups
   per port; an empty list is a parameter error (VPC.2500, 400).
   https://support.huaweicloud.com/api-vpc/AddSecurityGroups.html
3. RemoveSecurityGroups (.../remove-security-groups); ShowServer shows the result.
4. An unknown port is 404; the port is not visible in another region's project; a regional
   host (vpc.<region>.myhuaweicloud.com) refuses the project of another region and a wrong
   SK is refused (APIGW.0301, 401).

Environment: EMULATOR (http://127.0.0.1:port), HUAWEICLOUD_SDK_AK / _SK, HOME_PROJECT_ID.
"""

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkecs.v2 import (
    CreatePostPaidServersRequest,
    CreatePostPaidServersRequestBody,
    DeleteServersRequest,
    DeleteServersRequestBody,
    EcsClient,
    PostPaidServer,
    PostPaidServerNic,
    PostPaidServerRootVolume,
    PostPaidServerSecurityGroup,
    ServerId,
    ShowServerRequest,
)
from huaweicloudsdkiam.v3 import IamClient, KeystoneListAuthProjectsRequest
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

from huawei_common import (AK, EMULATOR, PORT, PROJECT, SK, config, expect_error, step, resolve_cloud_hosts_to_emulator)

resolve_cloud_hosts_to_emulator()


SG_A = "0a0a0a0a-0000-4000-8000-00000000000a"
SG_B = "0b0b0b0b-0000-4000-8000-00000000000b"
SG_C = "0c0c0c0c-0000-4000-8000-00000000000c"


def vpc(project, sk=SK, endpoint=EMULATOR):
    return (
        VpcClient.new_builder()
        .with_http_config(config())
        .with_credentials(BasicCredentials(AK, sk, project))
        .with_endpoint(endpoint)
        .build()
    )


def insert(client, port, groups, index=None, dry_run=None):
    return client.add_security_groups(
        AddSecurityGroupsRequest(
            port_id=port,
            body=AddSecurityGroupsRequestBody(
                port=InsertSecurityGroupOption(security_groups=groups, index=index),
                dry_run=dry_run,
            ),
        )
    )


def remove(client, port, groups):
    return client.remove_security_groups(
        RemoveSecurityGroupsRequest(
            port_id=port,
            body=RemoveSecurityGroupsRequestBody(
                port=RemoveSecurityGroupOption(security_groups=groups)
            ),
        )
    )


def groups_of(client, port):
    return client.show_port(ShowPortRequest(port_id=port)).port.security_groups


def main():
    ecs = (
        EcsClient.new_builder()
        .with_http_config(config())
        .with_credentials(BasicCredentials(AK, SK, PROJECT))
        .with_endpoint(EMULATOR)
        .build()
    )
    step("a server in security group A; its port from addresses[].OS-EXT-IPS:port_id")
    created = ecs.create_post_paid_servers(
        CreatePostPaidServersRequest(
            body=CreatePostPaidServersRequestBody(
                server=PostPaidServer(
                    image_ref="5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61",
                    flavor_ref="s6.medium.2",
                    name="sdk-ports",
                    vpcid="0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
                    nics=[PostPaidServerNic(subnet_id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")],
                    root_volume=PostPaidServerRootVolume(volumetype="SSD"),
                    security_groups=[PostPaidServerSecurityGroup(id=SG_A)],
                    availability_zone="cn-north-4a",
                    admin_pass="Sdk!Passw0rd",
                )
            )
        )
    )
    sid = created.server_ids[0]
    detail = ecs.show_server(ShowServerRequest(server_id=sid)).server
    ports = {a.os_ext_ip_sport_id for addrs in detail.addresses.values() for a in addrs}
    assert len(ports) == 1, ports
    port = ports.pop()
    client = vpc(PROJECT)
    assert groups_of(client, port) == [SG_A]

    step("AddSecurityGroups with dry_run: 202, nothing changes")
    insert(client, port, [SG_B], dry_run=True)
    assert groups_of(client, port) == [SG_A]

    step("AddSecurityGroups B, C at index 0; RemoveSecurityGroups A")
    r = insert(client, port, [SG_B, SG_C], index=0)
    assert r.port.security_groups == [SG_B, SG_C, SG_A], r.port.security_groups
    r = remove(client, port, [SG_A])
    assert r.port.security_groups == [SG_B, SG_C], r.port.security_groups
    detail = ecs.show_server(ShowServerRequest(server_id=sid)).server
    assert sorted(g.id for g in detail.security_groups) == [SG_B, SG_C], detail.security_groups

    step("parameter errors: no groups, more than 100 groups per port (VPC.2500)")
    expect_error(lambda: insert(client, port, []), 400, "VPC.2500")
    many = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(99)]
    expect_error(lambda: insert(client, port, many), 400, "VPC.2500")
    assert groups_of(client, port) == [SG_B, SG_C]

    step("an unknown port is 404; the port is not in another region's project")
    expect_error(lambda: groups_of(client, "00000000-0000-4000-8000-000000000000"), 404, "VPC.2502")
    iam = (
        IamClient.new_builder()
        .with_http_config(config())
        .with_credentials(GlobalCredentials(AK, SK).with_iam_endpoint(EMULATOR))
        .with_endpoint(EMULATOR)
        .build()
    )
    projects = iam.keystone_list_auth_projects(KeystoneListAuthProjectsRequest()).projects
    other = {p.name: p.id for p in projects}["ap-southeast-1"]
    expect_error(lambda: insert(vpc(other), port, [SG_A]), 404, "VPC.2502")

    step("a regional VPC host refuses another region's project; a wrong SK is refused")
    regional = f"http://vpc.ap-southeast-1.myhuaweicloud.com:{PORT}"
    expect_error(lambda: groups_of(vpc(PROJECT, endpoint=regional), port), 401, "APIGW.0301")
    expect_error(lambda: remove(vpc(PROJECT, sk="wrong" + SK), port, [SG_B]), 401, "APIGW.0301")
    assert groups_of(client, port) == [SG_B, SG_C]

    ecs.delete_servers(
        DeleteServersRequest(body=DeleteServersRequestBody(servers=[ServerId(id=sid)]))
    )
    print("OK: Huawei VPC port security groups passed")


if __name__ == "__main__":
    main()
