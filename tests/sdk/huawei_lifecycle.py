"""An ordinary program using Huawei Cloud's official ECS SDK (huaweicloudsdkecs).

Only the endpoint is unusual: ECS_ENDPOINT (http://host:port) so that it talks to the cloud
emulator. Credentials: HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK / HUAWEICLOUD_PROJECT_ID.

Lifecycle: NovaListAvailabilityZones -> ListFlavors -> CreatePostPaidServers (a non-UUID
X-Client-Token: Ecs.0123; dry run; the dry run's token for the real create: Ecs.0122; real;
the same X-Client-Token again; the same token with another name: Ecs.0122) -> ShowJob until SUCCESS -> ShowServer ->
BatchStopServers -> BatchStartServers -> BatchRebootServers (each a job) ->
ListServersDetails by tag -> DeleteServers; a wrong SK must get APIGW.0301 (HTTP 401).
"""
import os
import sys
import time
import uuid

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkecs.v2 import (
    NovaDeleteServerRequest,
    ReinstallServerWithCloudInitOption,
    ReinstallServerWithCloudInitRequest,
    ReinstallServerWithCloudInitRequestBody,
    BatchRebootServersRequest,
    BatchRebootServersRequestBody,
    BatchRebootSeversOption,
    BatchStartServersOption,
    BatchStartServersRequest,
    BatchStartServersRequestBody,
    BatchStopServersOption,
    BatchStopServersRequest,
    BatchStopServersRequestBody,
    CreatePostPaidServersRequest,
    CreatePostPaidServersRequestBody,
    DeleteServersRequest,
    DeleteServersRequestBody,
    EcsClient,
    ListFlavorsRequest,
    ListServersDetailsRequest,
    NovaListAvailabilityZonesRequest,
    PostPaidServer,
    PostPaidServerNic,
    PostPaidServerRootVolume,
    PostPaidServerSecurityGroup,
    PostPaidServerTag,
    ServerId,
    ShowJobRequest,
    ShowServerRequest,
)

ENDPOINT = os.environ["ECS_ENDPOINT"]
WAIT = float(os.environ.get("ECS_WAIT_SECONDS", "60"))
AK = os.environ["HUAWEICLOUD_SDK_AK"]
SK = os.environ["HUAWEICLOUD_SDK_SK"]
PROJECT = os.environ["HUAWEICLOUD_PROJECT_ID"]
IMAGE = os.environ.get("ECS_IMAGE_ID", "5f5d0b79-3ed9-4e6e-9a5c-0c7bbd0e4b61")


def client(sk=SK):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.timeout = (5, 30)
    return (
        EcsClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(AK, sk, PROJECT))
        .with_endpoint(ENDPOINT)
        .build()
    )


def step(msg):
    print(f"--> {msg}", flush=True)


def wait_job(c, job_id):
    deadline = time.time() + WAIT
    seen = []
    while time.time() < deadline:
        job = c.show_job(ShowJobRequest(job_id=job_id))
        if not seen or seen[-1] != job.status:
            seen.append(job.status)
        if job.status in ("SUCCESS", "FAIL"):
            print(f"    job {job_id}: {' -> '.join(seen)}")
            assert job.status == "SUCCESS", (job.error_code, job.fail_reason)
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {seen}")


def status(c, server_id):
    return c.show_server(ShowServerRequest(server_id=server_id)).server.status


def main():
    c = client()

    step("NovaListAvailabilityZones")
    zones = c.nova_list_availability_zones(NovaListAvailabilityZonesRequest()).availability_zone_info
    zone = zones[0].zone_name
    assert zones[0].zone_state.available

    step("ListFlavors")
    flavors = c.list_flavors(ListFlavorsRequest(availability_zone=zone)).flavors
    flavor = next(f.id for f in flavors if f.id == "s6.large.2")

    token = str(uuid.uuid4())

    def create(dry_run=False, token=token, name="sdk-lifecycle"):
        server = PostPaidServer(
            image_ref=IMAGE,
            flavor_ref=flavor,
            name=name,
            vpcid="0f3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
            nics=[PostPaidServerNic(subnet_id="1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")],
            root_volume=PostPaidServerRootVolume(volumetype="SSD", size=40),
            availability_zone=zone,
            count=1,
            admin_pass="Sdk-Passw0rd!",
            security_groups=[PostPaidServerSecurityGroup(id="6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01")],
            server_tags=[PostPaidServerTag(key="owner", value="sdk-test")],
        )
        body = CreatePostPaidServersRequestBody(server=server, dry_run=dry_run)
        return c.create_post_paid_servers(CreatePostPaidServersRequest(body=body, x_client_token=token))

    def expect_error(status_code, error_code, **kw):
        try:
            create(**kw)
            raise AssertionError(f"expected {error_code}")
        except exceptions.ClientRequestException as e:
            assert (e.status_code, e.error_code) == (status_code, error_code), (e.status_code, e.error_code)

    # X-Client-Token rules, ECS API reference "Idempotent Requests"
    # (https://support.huaweicloud.com/intl/en-us/api-ecs/en-us_topic_0000001105258814.html).
    step("CreatePostPaidServers with a token that is not a UUID: Ecs.0123")
    expect_error(400, "Ecs.0123", token=token + "-0")

    step("CreatePostPaidServers dry_run=true (a token of its own)")
    dry_token = str(uuid.uuid4())
    r = create(dry_run=True, token=dry_token)
    assert r.status_code == 202, r.status_code

    step("CreatePostPaidServers with the dry run's token: Ecs.0122 (dry_run is a parameter)")
    expect_error(400, "Ecs.0122", token=dry_token)

    step("CreatePostPaidServers")
    r = create()
    assert r.job_id, r
    server_ids = r.server_ids
    assert len(server_ids) == 1, server_ids

    step("CreatePostPaidServers again with the same X-Client-Token")
    again = create()
    assert (again.job_id, again.server_ids) == (r.job_id, server_ids), (again, r)

    step("CreatePostPaidServers with the same X-Client-Token and another name: Ecs.0122")
    expect_error(400, "Ecs.0122", name="sdk-lifecycle-2")

    step("ShowJob until SUCCESS")
    job = wait_job(c, r.job_id)
    sid = job.entities.sub_jobs[0].entities.server_id
    assert sid == server_ids[0], (sid, server_ids)
    print(f"    created {sid}")

    step("ShowServer")
    server = c.show_server(ShowServerRequest(server_id=sid)).server
    assert (server.name, server.status) == ("sdk-lifecycle", "ACTIVE"), (server.name, server.status)
    assert server.flavor.id == flavor
    assert "owner=sdk-test" in server.tags, server.tags
    assert any(a.addr for addrs in server.addresses.values() for a in addrs)

    step("BatchStopServers (HARD)")
    opt = BatchStopServersOption(servers=[ServerId(id=sid)], type="HARD")
    job_id = c.batch_stop_servers(BatchStopServersRequest(body=BatchStopServersRequestBody(os_stop=opt))).job_id
    wait_job(c, job_id)
    assert status(c, sid) == "SHUTOFF"

    step("BatchStartServers")
    opt = BatchStartServersOption(servers=[ServerId(id=sid)])
    job_id = c.batch_start_servers(BatchStartServersRequest(body=BatchStartServersRequestBody(os_start=opt))).job_id
    wait_job(c, job_id)
    assert status(c, sid) == "ACTIVE"

    step("BatchRebootServers (SOFT)")
    opt = BatchRebootSeversOption(servers=[ServerId(id=sid)], type="SOFT")
    job_id = c.batch_reboot_servers(BatchRebootServersRequest(body=BatchRebootServersRequestBody(reboot=opt))).job_id
    assert status(c, sid) == "REBOOT"
    wait_job(c, job_id)
    assert status(c, sid) == "ACTIVE"

    # ReinstallServerWithCloudInit (API ecs_02_0201): the same image again, on a running
    # server with mode=withStopServer; keyname without userid is refused (the option's
    # `userid` "当传入keyname参数时，此参数为必选").
    step("ReinstallServerWithCloudInit with keyname but no userid: Ecs.0005")
    try:
        opt = ReinstallServerWithCloudInitOption(keyname="kp-sdk", mode="withStopServer")
        c.reinstall_server_with_cloud_init(ReinstallServerWithCloudInitRequest(
            server_id=sid, body=ReinstallServerWithCloudInitRequestBody(os_reinstall=opt)))
        raise AssertionError("expected Ecs.0005")
    except exceptions.ClientRequestException as e:
        assert (e.status_code, e.error_code) == (400, "Ecs.0005"), (e.status_code, e.error_code)

    step("ReinstallServerWithCloudInit (withStopServer)")
    image_before = c.show_server(ShowServerRequest(server_id=sid)).server.image.id
    opt = ReinstallServerWithCloudInitOption(adminpass="Sdk-Passw0rd!", mode="withStopServer")
    job_id = c.reinstall_server_with_cloud_init(ReinstallServerWithCloudInitRequest(
        server_id=sid, body=ReinstallServerWithCloudInitRequestBody(os_reinstall=opt))).job_id
    wait_job(c, job_id)
    server = c.show_server(ShowServerRequest(server_id=sid)).server
    assert (server.status, server.image.id) == ("ACTIVE", image_before), (server.status, server.image.id)

    step("ListServersDetails by tag")
    listed = c.list_servers_details(ListServersDetailsRequest(tags="owner=sdk-test", limit=10))
    assert listed.count == 1 and listed.servers[0].id == sid, listed

    step("DeleteServers")
    body = DeleteServersRequestBody(servers=[ServerId(id=sid)], delete_publicip=True, delete_volume=True)
    job_id = c.delete_servers(DeleteServersRequest(body=body)).job_id
    wait_job(c, job_id)
    listed = c.list_servers_details(ListServersDetailsRequest(limit=10))
    assert all(s.id != sid for s in listed.servers), listed

    # NovaDeleteServer (DELETE /v2.1/{project_id}/servers/{server_id}, 删除云服务器 under the
    # Nova API): the single-server delete, 204.
    step("NovaDeleteServer: one server, by itself")
    r = create(token=str(uuid.uuid4()), name="sdk-nova-delete")
    one = wait_job(c, r.job_id).entities.sub_jobs[0].entities.server_id
    deleted = c.nova_delete_server(NovaDeleteServerRequest(server_id=one))
    assert deleted.status_code == 204, deleted.status_code
    deadline = time.time() + WAIT
    while any(s.id == one for s in c.list_servers_details(ListServersDetailsRequest(limit=10)).servers):
        assert time.time() < deadline, "the server is still listed"
        time.sleep(0.2)

    step("ShowServer on an unknown server")
    try:
        c.show_server(ShowServerRequest(server_id=str(uuid.uuid4())))
        raise AssertionError("expected Ecs.0114")
    except exceptions.ClientRequestException as e:
        assert (e.status_code, e.error_code) == (404, "Ecs.0114"), (e.status_code, e.error_code)

    step("ListServersDetails with a wrong SK")
    try:
        client(sk="wrong-sk").list_servers_details(ListServersDetailsRequest(limit=1))
        raise AssertionError("expected an authentication error")
    except exceptions.ClientRequestException as e:
        assert (e.status_code, e.error_code) == (401, "APIGW.0301"), (e.status_code, e.error_code)
        print(f"    {e.error_code}: {e.error_msg[:80]}")

    print("OK: Huawei ECS lifecycle passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - report and fail
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise
