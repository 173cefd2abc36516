"""What the Huawei SDK scripts share: the emulator's address and the credentials from the
environment, the SDK core's HTTP config, error checks, and routing the clouds' regional host
names (`*.myhuaweicloud.com`) to the emulator. Each script imports it from its own folder
(python puts a script's folder first on sys.path)."""
import os
import socket
from urllib.parse import urlparse

from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig

EMULATOR = os.environ["EMULATOR"]
PORT = urlparse(EMULATOR).port
AK = os.environ["HUAWEICLOUD_SDK_AK"]
SK = os.environ["HUAWEICLOUD_SDK_SK"]
PROJECT = os.environ["HOME_PROJECT_ID"]


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


_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".myhuaweicloud.com"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


def resolve_cloud_hosts_to_emulator():
    """The SDKs' regional endpoints (`https://ecs.{region}.myhuaweicloud.com` etc., here with
    the emulator's port and plain HTTP) resolve to the emulator on loopback."""
    socket.getaddrinfo = _getaddrinfo
