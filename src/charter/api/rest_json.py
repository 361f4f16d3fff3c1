"""The rest-json protocol's error answer (sagemaker-runtime, and requests no face claims).

A rest-json service names the error in the ``x-amzn-ErrorType`` header and puts
the message in a JSON body; botocore's ``RestJSONParser`` reads the code from
that header first (anything after a ``:`` is dropped), then from the body's
``code``/``Code``, and the message from ``message``/``Message``.  The body also
carries ``__type``, which is where botocore's JSON 1.1 parser looks, so a
client of either protocol reads the same code from an answer to a request it
sent to a path no face serves.
"""

from __future__ import annotations

import json

from ..errors import AwsError
from .wire import WireResponse

CONTENT_TYPE = "application/json"


def error_response(error: AwsError, request_id: str) -> WireResponse:
    """``error`` as a rest-json answer with its HTTP status."""
    body = json.dumps({"__type": error.code, "message": error.message}, separators=(",", ":")).encode()
    return WireResponse(
        error.status,
        body,
        {"content-type": CONTENT_TYPE, "x-amzn-requestid": request_id, "x-amzn-errortype": error.code},
    )
