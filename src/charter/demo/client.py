"""SageMaker API calls from inside the server process, signed as one of the demo's users.

The demo workspace is made the way a team would make it, through the API: each call
is SigV4-signed with a user's keys and handed to the same :class:`Gateway` the wire
face uses, so it is validated against botocore's input shape, authorized by that
user's persona policy, audited, and its events emitted, exactly as a boto3 call is.
"""

from __future__ import annotations

import json

from ..api.gateway import JSON_11, TARGET_PREFIX, Gateway, WireRequest
from ..iam import identities, sigv4

_URL = "http://charter.demo/"


class DemoCallFailed(RuntimeError):
    """A seeding call was refused; the message has the AWS error code and message."""


class ApiClient:
    """``client.call("CreateModelPackageGroup", {...})``: the output document, or :class:`DemoCallFailed`."""

    def __init__(self, gateway: Gateway, key: identities.AccessKey, region: str, user_name: str):
        self.gateway = gateway
        self.key = key
        self.region = region
        self.user_name = user_name

    def call(self, operation: str, params: dict) -> dict:
        payload = json.dumps(params).encode()
        headers = {"content-type": JSON_11, "x-amz-target": TARGET_PREFIX + operation, "host": "charter.demo",
                   "user-agent": "charter-demo-seed"}
        signed = sigv4.sign_request("POST", _URL, headers, payload, self.key.access_key_id,
                                    self.key.secret_access_key, self.region)
        headers.update({name.lower(): value for name, value in signed.items()})
        answer = self.gateway.handle(WireRequest("POST", "/", "", headers, payload, "127.0.0.1"))
        document = json.loads(answer.body or b"{}")
        if answer.status != 200:
            code = document.get("__type", "Error").rsplit("#", 1)[-1]
            raise DemoCallFailed(f"{operation} as {self.user_name}: {code}: {document.get('message') or document.get('Message')}")
        return document
