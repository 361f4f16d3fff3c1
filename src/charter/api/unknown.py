"""The answer to a request no face claims: an unknown path, or a method a path does not take.

AWS's service framework hands a request to the protocol handlers of the
service it is addressed to; when none claims it, the answer is
``UnknownOperationException`` with HTTP 404 (the framework's default, as the
Smithy maintainers describe it in smithy-lang/smithy#1368).  Charter does the
same, after authentication: the request is verified like every other (an
unsigned one gets 403 ``MissingAuthenticationTokenException``, which is also
what AWS's API front ends answer for a path they do not know), so nobody
learns more from a wrong path than from a right one.

The body is rest-json with ``__type`` as well (:mod:`charter.api.rest_json`),
so a JSON 1.1 and a rest-json client read the same code.  Signed requests are
written to the audit log; unsigned ones are not API calls of anyone (a browser
asking for ``/favicon.ico``) and would only fill it.
"""

from __future__ import annotations

import logging

from ..errors import AwsError, InternalFailure, MissingAuthenticationToken, UnknownOperationException
from . import rest_json
from .access import Access, Caller, identify, new_event, record_failure
from .wire import WireRequest, WireResponse

log = logging.getLogger("charter.unknown")

SERVED = (
    "SageMaker (POST / with X-Amz-Target: SageMaker.<Operation>), SageMaker Runtime "
    "(POST /endpoints/<EndpointName>/invocations, /async-invocations or /invocations-response-stream), "
    "and S3, CloudWatch Logs, CloudWatch, STS and IAM, each chosen by the service in the request's "
    "SigV4 credential scope (s3, logs, monitoring, sts, iam)"
)


class UnknownRequest:
    def __init__(self, access: Access):
        self.access = access

    def handle(self, request: WireRequest) -> WireResponse:
        what = f"{request.method} {request.path}"
        event = new_event(request, "(unknown)")
        request_id = event.request_id
        caller = Caller()
        try:
            try:
                verified = self.access.authenticate(request, caller)
            except MissingAuthenticationToken:
                raise MissingAuthenticationToken(
                    f"Missing Authentication Token: {what} is not signed, and it is not an operation of this server. "
                    f"This server answers {SERVED}; GET / describes it."
                ) from None
            identify(event, verified, caller.principal)
            if verified.service != "sagemaker":
                raise UnknownOperationException(
                    f"The request is signed for the service '{verified.service}', which this server does not serve. "
                    f"It serves {SERVED}.",
                    status=404,
                )
            raise UnknownOperationException(
                f"{what} is not an operation of any API this server serves. It serves {SERVED}.", status=404
            )
        except AwsError as error:
            answer = error
        except Exception as exc:  # a bug: a retryable fault for the client, the details in the log
            log.exception("request %s failed", request_id)
            answer = InternalFailure(f"Charter could not complete the request ({type(exc).__name__}); request id {request_id}.")
        if not isinstance(answer, MissingAuthenticationToken):
            event.access_key_id = caller.access_key_id
            record_failure(event, answer)
            event.error_message = f"{what}: {answer.message}"[:2000]
            self.access.audit(event)
        return rest_json.error_response(answer, request_id)
