"""Regenerates the second Huawei SDK-HMAC-SHA256 test vector of
src/provider/huawei/signer.rs with Huawei's official Python SDK signer.

    python -m venv /tmp/v && /tmp/v/bin/pip install huaweicloudsdkcore
    /tmp/v/bin/python tests/sdk/huawei_signer_vector.py

Recorded with huaweicloudsdkcore 3.1.219.
"""
import datetime

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def request():
    return SdkRequest(
        method="POST",
        schema="https",
        host="ecs.cn-north-4.myhuaweicloud.com",
        resource_path=f"/v1/{PROJECT}/cloudservers/action",
        query_params=[("tags", "k=v w"), ("limit", "25"), ("a", "*~")],
        header_params={
            "Content-Type": "application/json;charset=UTF-8",
            "X-Project-Id": PROJECT,
            "X-Sdk-Date": "20240102T030405Z",
            "Host": "ecs.cn-north-4.myhuaweicloud.com",
        },
        body=b'{"os-stop":{"type":"HARD","servers":[{"id":"a b/c"}]}}',
    )


signer = Signer(BasicCredentials("HWDEMOAK0000000000000", "demo-huawei-secret-key", PROJECT))
req = request()
canonical = signer._process_canonical_request(req, signer._process_signed_headers(req))
print("canonical request:", repr(canonical))
print("string to sign:", repr(signer._process_string_to_sign(canonical, datetime.datetime(2024, 1, 2, 3, 4, 5))))
print("Authorization:", signer.sign(request()).header_params["Authorization"])
