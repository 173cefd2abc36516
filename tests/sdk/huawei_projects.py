"""Huawei project ids are per region, through the official SDKs (huaweicloudsdkcore,
huaweicloudsdkecs, huaweicloudsdkiam) against the cloud emulator.

1. BasicCredentials(ak, sk) without a project id: the SDK core itself asks IAM
   (GET /v3/projects?name=<region>, huaweicloudsdkcore/auth/credentials.py
   BasicCredentials.process_auth_params) and ListServerAzInfo (the successor of the
   deprecated os-availability-zone, API/ecs_02_1501) answers the zones of that region.
2. IamClient: KeystoneListAuthProjects lists one project per region, named after it;
   ShowPermanentAccessKey names the IAM user of the AK.
3. A regional endpoint (ecs.<region>.myhuaweicloud.com, resolved to the emulator here) with
   the project of another region is refused by the gateway: APIGW.0301, HTTP 401.

Environment: EMULATOR (http://127.0.0.1:port), HUAWEICLOUD_SDK_AK / _SK, HOME_PROJECT_ID.
"""

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkecs.v2 import EcsClient, ListServerAzInfoRequest
from huaweicloudsdkiam.v3 import (
    IamClient,
    KeystoneListAuthProjectsRequest,
    ShowPermanentAccessKeyRequest,
)

from huawei_common import (AK, EMULATOR, PORT, SK, config, step, PROJECT as HOME, resolve_cloud_hosts_to_emulator)

resolve_cloud_hosts_to_emulator()


def ecs(credentials, region, endpoint=EMULATOR):
    return (
        EcsClient.new_builder()
        .with_http_config(config())
        .with_credentials(credentials)
        .with_region(Region(region, endpoint))
        .build()
    )


# Regional hosts resolve to the emulator (only for this process).


def main():
    step("BasicCredentials without a project id: the SDK asks IAM for ap-southeast-1's project")
    creds = BasicCredentials(AK, SK).with_iam_endpoint(EMULATOR)
    zones = ecs(creds, "ap-southeast-1").list_server_az_info(ListServerAzInfoRequest())
    ids = [z.availability_zone_id for z in zones.availability_zones]
    print(f"    project {creds.project_id}: {ids}")
    assert ids == ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"], ids
    sg_project = creds.project_id
    assert sg_project and sg_project != HOME, sg_project

    creds = BasicCredentials(AK, SK).with_iam_endpoint(EMULATOR)
    zones = ecs(creds, "cn-north-4").list_server_az_info(ListServerAzInfoRequest())
    assert creds.project_id == HOME, creds.project_id
    assert "cn-north-4a" in [z.availability_zone_id for z in zones.availability_zones]

    step("IAM: KeystoneListAuthProjects and ShowPermanentAccessKey")
    iam = (
        IamClient.new_builder()
        .with_http_config(config())
        .with_credentials(GlobalCredentials(AK, SK).with_iam_endpoint(EMULATOR))
        .with_endpoint(EMULATOR)
        .build()
    )
    projects = iam.keystone_list_auth_projects(KeystoneListAuthProjectsRequest()).projects
    by_name = {p.name: p.id for p in projects}
    assert by_name["cn-north-4"] == HOME, by_name
    assert by_name["ap-southeast-1"] == sg_project, by_name
    assert len(set(by_name.values())) == len(by_name), "one project per region"
    key = iam.show_permanent_access_key(ShowPermanentAccessKeyRequest(access_key=AK)).credential
    assert key.access == AK and len(key.user_id) == 32, key
    print(f"    {len(projects)} projects; AK belongs to user {key.user_id}")

    step("A regional endpoint refuses the project of another region (APIGW.0301)")
    regional = f"http://ecs.cn-north-4.myhuaweicloud.com:{PORT}"
    ok = ecs(BasicCredentials(AK, SK, HOME), "cn-north-4", regional)
    ok.list_server_az_info(ListServerAzInfoRequest())
    wrong = ecs(BasicCredentials(AK, SK, sg_project), "cn-north-4", regional)
    try:
        wrong.list_server_az_info(ListServerAzInfoRequest())
        raise AssertionError("ap-southeast-1's project was accepted by cn-north-4")
    except exceptions.ClientRequestException as e:
        print(f"    {e.status_code} {e.error_code}: {e.error_msg}")
        assert e.status_code == 401 and e.error_code == "APIGW.0301", e

    print("OK: Huawei per-region projects passed")


if __name__ == "__main__":
    main()
