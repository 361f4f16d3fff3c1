"""charter.api.protocols.cbor against botocore's own RPC v2 CBOR serializer and parser.

Requests are written by ``botocore.serialize.RpcV2CBORSerializer`` exactly as
boto3 sends them; answers are read back with ``botocore.parsers.RpcV2CBORParser``
exactly as boto3 reads them.
"""

from __future__ import annotations

from datetime import datetime, timezone

import botocore.parsers
import botocore.serialize
import cbor2
import pytest

from charter.api.protocols.cbor import CborProtocol
from charter.api.wire import WireRequest
from charter.errors import ClientError, InternalFailure, SerializationException, UnknownOperationException, ValidationException
from charter.model import service_model

CW = service_model("cloudwatch")
UTC = timezone.utc


@pytest.fixture(scope="module")
def protocol():
    return CborProtocol(CW)


def botocore_request(operation: str, params: dict) -> WireRequest:
    op = CW.operation_model(operation)
    serialized = botocore.serialize.RpcV2CBORSerializer().serialize_to_request(params, op)
    headers = {name.lower(): value for name, value in serialized["headers"].items()}
    return WireRequest("POST", serialized["url_path"], "", headers, serialized["body"])


def botocore_parse(operation: str, response) -> dict:
    op = CW.operation_model(operation)
    parser = botocore.parsers.RpcV2CBORParser()
    return parser.parse(
        {"status_code": response.status, "headers": response.headers, "body": response.body}, op.output_shape
    )


def test_botocores_request_is_recognized_and_names_its_operation(protocol):
    request = botocore_request("ListMetrics", {"Namespace": "Charter/Test"})
    assert request.path == "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    assert request.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert protocol.recognizes(request)
    assert protocol.operation(request).name == "ListMetrics"


def test_a_json_request_is_not_cbor(protocol):
    json_request = WireRequest(
        "POST", "/", "", {"x-amz-target": "GraniteServiceVersion20100801.ListMetrics",
                          "content-type": "application/x-amz-json-1.0"}, b"{}"
    )
    assert not protocol.recognizes(json_request)


def test_timestamps_doubles_and_nested_lists_arrive_as_validated_params(protocol):
    when = datetime(2026, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)
    params = {
        "Namespace": "Charter/Test",
        "MetricData": [
            {
                "MetricName": "Latency",
                "Dimensions": [{"Name": "Endpoint", "Value": "e1"}],
                "Timestamp": when,
                "Values": [1.5, 2.0],
                "Counts": [3.0, 1.0],
                "Unit": "Milliseconds",
                "StorageResolution": 1,
            },
            {"MetricName": "Errors", "Value": 4},
        ],
    }
    request = botocore_request("PutMetricData", params)
    parsed = protocol.parse(request, protocol.operation(request))
    first = parsed["MetricData"][0]
    assert first["Timestamp"] == when
    assert first["Values"] == [1.5, 2.0] and first["Counts"] == [3.0, 1.0]
    assert first["Dimensions"] == [{"Name": "Endpoint", "Value": "e1"}]
    assert parsed["MetricData"][1] == {"MetricName": "Errors", "Value": 4.0}


def test_an_input_that_breaks_the_model_is_refused_in_aws_wording(protocol):
    request = botocore_request("GetMetricStatistics", {
        "Namespace": "N", "MetricName": "M", "StartTime": datetime(2026, 1, 1, tzinfo=UTC),
        "EndTime": datetime(2026, 1, 2, tzinfo=UTC), "Period": 0,
    })
    with pytest.raises(ValidationException) as raised:
        protocol.parse(request, protocol.operation(request))
    assert "Value '0' at 'period' failed to satisfy constraint: Member must have value greater than or equal to 1" in raised.value.message


def test_wrong_types_and_garbage_are_serialization_errors(protocol):
    op = CW.operation_model("ListMetrics")
    path = "/service/GraniteServiceVersion20100801/operation/ListMetrics"
    headers = {"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor"}
    for body in (b"\xff\x00garbage", cbor2.dumps([1, 2]), cbor2.dumps({"Namespace": 5}),
                 cbor2.dumps({"Namespace": b"bytes where a string belongs"}), b"\xbf"):
        with pytest.raises(SerializationException):
            protocol.parse(WireRequest("POST", path, "", headers, body), op)
    with pytest.raises(SerializationException):
        protocol.parse(WireRequest("POST", path, "", {**headers, "content-type": "application/json"}, b"{}"), op)
    with pytest.raises(SerializationException):
        protocol.parse(WireRequest("POST", path, "", {**headers, "smithy-protocol": "rpc-v2-json"}, cbor2.dumps({})), op)


def test_an_empty_body_is_an_empty_input(protocol):
    request = WireRequest("POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", "",
                          {"smithy-protocol": "rpc-v2-cbor"}, b"")
    assert protocol.parse(request, protocol.operation(request)) == {}


def test_unknown_operations_and_foreign_paths_are_unknown(protocol):
    for path in ("/service/GraniteServiceVersion20100801/operation/NoSuchThing",
                 "/service/SomeOtherService/operation/ListMetrics"):
        with pytest.raises(UnknownOperationException):
            protocol.operation(WireRequest("POST", path, "", {"smithy-protocol": "rpc-v2-cbor"}, b""))


def test_botocore_reads_the_answer_timestamps_floats_and_maps(protocol):
    op = CW.operation_model("GetMetricStatistics")
    when = datetime(2026, 3, 1, 12, 31, tzinfo=UTC)
    output = {
        "Label": "Latency",
        "Datapoints": [{"Timestamp": when, "Average": 2, "SampleCount": 4.0, "Unit": "Milliseconds",
                        "ExtendedStatistics": {"p99": 7}}],
    }
    response = protocol.respond(op, output, "req-1")
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response.headers["content-type"] == "application/cbor"
    raw = cbor2.loads(response.body)
    assert isinstance(raw["Datapoints"][0]["Average"], float)  # a double is a CBOR float even when whole
    parsed = botocore_parse("GetMetricStatistics", response)
    point = parsed["Datapoints"][0]
    assert point["Timestamp"] == when
    assert point["Average"] == 2.0 and point["ExtendedStatistics"] == {"p99": 7.0}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"


def test_an_operation_without_output_answers_an_empty_body(protocol):
    response = protocol.respond(CW.operation_model("DeleteAlarms"), {}, "req-2")
    assert response.status == 200 and response.body == b""
    parsed = botocore_parse("DeleteAlarms", response)
    assert set(parsed) == {"ResponseMetadata"} and parsed["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_errors_carry_the_modelled_shape_and_the_query_code(protocol):
    error = ClientError("The value NaN for parameter MetricData.member.1.Value is invalid.",
                        code="InvalidParameterValue", status=400)
    response = protocol.error(error, "req-3")
    assert response.status == 400
    assert response.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert cbor2.loads(response.body)["__type"] == "InvalidParameterValueException"
    parsed = botocore.parsers.RpcV2CBORParser().parse(
        {"status_code": response.status, "headers": response.headers, "body": response.body},
        CW.operation_model("PutMetricData").output_shape,  # as the client passes it
    )
    assert parsed["Error"]["Code"] == "InvalidParameterValue"
    assert parsed["Error"]["Message"] == error.message
    assert parsed["ResponseMetadata"]["RequestId"] == "req-3"


def test_a_server_fault_is_a_receiver_error(protocol):
    response = protocol.error(InternalFailure("boom"), "req-4")
    assert response.status == 500
    assert response.headers["x-amzn-query-error"] == "InternalFailure;Receiver"
