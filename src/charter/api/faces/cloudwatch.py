"""CloudWatch metrics and alarms (signing name ``monitoring``).

botocore 1.44 and the AWS CLI speak Smithy RPC v2 CBOR to CloudWatch; older
clients speak AWS JSON 1.0 (``X-Amz-Target: GraniteServiceVersion20100801.<Op>``)
or the query protocol.  The model is ``awsQueryCompatible``, so every error
also carries its query-era code (``x-amzn-query-error``) and Charter's generic
errors are spelled as CloudWatch's query API spells them: a constraint
violation is ``ValidationError`` (the model's ValidationException shape), a
wrong type ``InvalidParameterValue``, a refused signature
``SignatureDoesNotMatch`` (AWS's common errors).
"""

from __future__ import annotations

from ...errors import ClientError
from ..protocols.cbor import CborProtocol
from ..protocols.json import JsonProtocol
from ..protocols.query import QueryProtocol
from . import FaceSpec, Spelling


def _not_implemented(name: str) -> ClientError:
    return ClientError(
        f"The CloudWatch operation {name} is not implemented by this Charter server; it answers metric "
        "(PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics) and metric alarm operations.",
        code="InvalidAction",
        status=400,
    )


SPEC = FaceSpec(
    service="cloudwatch",
    protocols=[CborProtocol, JsonProtocol, QueryProtocol],
    iam_prefix="cloudwatch",
    spellings={
        "ValidationException": Spelling("ValidationError"),
        "SerializationException": Spelling("InvalidParameterValue"),
        "UnknownOperationException": Spelling("InvalidAction"),
        "AccessDeniedException": Spelling("AccessDenied", 403),
        "InvalidSignatureException": Spelling("SignatureDoesNotMatch", 403),
        "UnrecognizedClientException": Spelling("InvalidClientTokenId", 403),
        "IncompleteSignatureException": Spelling("IncompleteSignature", 400),
        "MissingAuthenticationTokenException": Spelling("MissingAuthenticationToken", 403),
        "UnsupportedOperation": Spelling("InvalidAction"),
        "InternalFailure": Spelling("InternalServiceError", 500),
    },
    not_implemented=_not_implemented,
)
