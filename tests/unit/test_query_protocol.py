"""The query protocol against botocore's own serializer and parser.

Every input shape of STS, IAM and CloudWatch is filled with generated values,
written by botocore's ``QuerySerializer`` and read back by Charter's
:func:`~charter.api.protocols.query.unflatten`; every output shape is written by
Charter's :class:`QueryProtocol` and read by botocore's ``QueryParser``.
"""

from __future__ import annotations

import base64
import random
from datetime import datetime, timezone

import botocore.parsers
import botocore.serialize
import pytest

from charter.api.protocols.query import QueryProtocol, form, iso8601, unflatten
from charter.api.wire import WireRequest
from charter.errors import AccessDeniedException, InternalFailure, UnknownOperationException, ValidationException
from charter.model import service_model

SERVICES = ("sts", "iam", "cloudwatch")
_TEXT = ["plain", "with space", "a&b=c+d", "sl/ash.dot", "ünïcödé", "50%", "x" * 70]


def generate(shape, rng: random.Random, depth: int = 0):
    """A value of ``shape`` that botocore's serializer accepts (recursion cut at depth 10)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 10:
            return {}
        # A structure without members writes nothing at all, so it cannot come back: leave those out.
        members = [(n, m) for n, m in shape.members.items() if not (m.type_name == "structure" and not m.members)]
        chosen = [(name, member) for name, member in members if rng.random() < 0.8] or members[:1]
        # (an empty structure inside a list is not expressible in the query protocol: nothing is written)
        return {name: generate(member, rng, depth + 1) for name, member in chosen}
    if kind == "list":
        if depth > 10:
            return []
        return [generate(shape.member, rng, depth + 1) for _ in range(rng.choice([0, 1, 3]))]
    if kind == "map":
        return {f"k{i}-{rng.choice(_TEXT)}": generate(shape.value, rng, depth + 1) for i in range(rng.choice([1, 2]))}
    if kind == "string":
        if shape.enum:
            return rng.choice(shape.enum)
        return rng.choice(_TEXT)
    if kind in ("integer", "long"):
        return rng.randint(-5, 100000)
    if kind in ("float", "double"):
        return rng.choice([0.5, 12.25, -3.0, 1e10])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "timestamp":
        return datetime(2026, 12, 3, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), tzinfo=timezone.utc)
    if kind == "blob":
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
    raise AssertionError(kind)


def normalized(shape, value):
    """``value`` as the query protocol carries it back: timestamps as datetimes, blobs as bytes."""
    kind = shape.type_name
    if kind == "structure":
        return {name: normalized(shape.members[name], item) for name, item in value.items()}
    if kind == "list":
        return [normalized(shape.member, item) for item in value]
    if kind == "map":
        return {key: normalized(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        if isinstance(value, str):
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value.astimezone(timezone.utc)
    if kind == "blob":
        return base64.b64decode(value) if isinstance(value, str) else value
    if kind in ("float", "double"):
        return float(value)
    return value


def operations():
    for service in SERVICES:
        model = service_model(service)
        for name in model.operation_names:
            yield service, name


def _form_request(body: dict) -> WireRequest:
    from urllib.parse import urlencode

    return WireRequest(
        "POST", "/", "", {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}, urlencode(body).encode()
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_input_shape_round_trips_through_botocores_serializer(service):
    model = service_model(service)
    serializer = botocore.serialize.QuerySerializer()
    protocol = QueryProtocol(model)
    rng = random.Random(f"query-{service}")
    checked = 0
    for name in model.operation_names:
        operation = model.operation_model(name)
        for _ in range(4):
            value = generate(operation.input_shape, rng) if operation.input_shape is not None else {}
            wire = serializer.serialize_to_request(value, operation)
            request = _form_request(wire["body"])
            assert protocol.recognizes(request)
            assert protocol.operation(request).name == name
            parsed = unflatten(form(request), operation.input_shape)
            expected = normalized(operation.input_shape, value) if operation.input_shape is not None else {}
            got = normalized(operation.input_shape, parsed) if operation.input_shape is not None else {}
            assert got == expected, (name, wire["body"])
            checked += 1
    assert checked == 4 * len(model.operation_names)


@pytest.mark.parametrize("service", SERVICES)
def test_every_output_shape_reads_back_with_botocores_parser(service):
    model = service_model(service)
    protocol = QueryProtocol(model)
    parser = botocore.parsers.QueryParser()
    rng = random.Random(f"answer-{service}")
    for name in model.operation_names:
        operation = model.operation_model(name)
        value = generate(operation.output_shape, rng) if operation.output_shape is not None else {}
        answer = protocol.respond(operation, value, "req-1")
        assert answer.status == 200 and answer.headers["content-type"] == "text/xml"
        parsed = parser.parse(
            {"body": answer.body, "headers": answer.headers, "status_code": 200}, operation.output_shape
        )
        assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
        if operation.output_shape is None:
            continue
        parsed.pop("ResponseMetadata")
        expected = normalized(operation.output_shape, value)
        assert normalized(operation.output_shape, parsed) == expected, name


def test_errors_read_back_as_the_modelled_code_and_message():
    model = service_model("sts")
    protocol = QueryProtocol(model)
    parser = botocore.parsers.QueryParser()
    for error, kind in ((AccessDeniedException("no <way> & no how", code="AccessDenied", status=403), "Sender"),
                        (InternalFailure("boom"), "Receiver")):
        answer = protocol.error(error, "req-2")
        assert answer.status == error.status
        assert f"<Type>{kind}</Type>" in answer.body.decode()
        parsed = parser.parse({"body": answer.body, "headers": answer.headers, "status_code": error.status}, None)
        assert parsed["Error"]["Code"] == error.code
        assert parsed["Error"]["Message"] == error.message
        assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


def test_control_characters_echoed_back_still_parse_as_xml():
    """XML 1.0 cannot carry U+0000-U+001F (but tab, newline, return), not even as references."""
    model = service_model("iam")
    protocol = QueryProtocol(model)
    parser = botocore.parsers.QueryParser()
    bad = "role\x00with\x1bcontrol\tchars\ud800"
    answer = protocol.error(ValidationException(f"1 validation error: {bad!s} is not a valid name"), "req-3")
    parsed = parser.parse({"body": answer.body, "headers": answer.headers, "status_code": 400}, None)
    assert parsed["Error"]["Message"] == "1 validation error: role\ufffdwith\ufffdcontrol\tchars\ufffd is not a valid name"
    operation = model.operation_model("GetRole")
    role = {"Role": {"Path": "/", "RoleName": "r", "RoleId": "AROA1234567890123456", "Arn": "arn:aws:iam::1:role/r",
                     "CreateDate": datetime(2026, 1, 1, tzinfo=timezone.utc), "Description": "a\x07b"}}
    answer = protocol.respond(operation, role, "req-4")
    parsed = parser.parse({"body": answer.body, "headers": answer.headers, "status_code": 200}, operation.output_shape)
    assert parsed["Role"]["Description"] == "a\ufffdb"


def test_a_missing_or_unknown_action_is_refused_naming_it():
    protocol = QueryProtocol(service_model("iam"))
    with pytest.raises(UnknownOperationException) as missing:
        protocol.operation(_form_request({"Version": "2010-05-08"}))
    assert missing.value.code == "MissingAction" and missing.value.status == 400
    with pytest.raises(UnknownOperationException) as unknown:
        protocol.operation(_form_request({"Action": "MakeCoffee", "Version": "2010-05-08"}))
    assert unknown.value.code == "InvalidAction"
    assert "MakeCoffee" in unknown.value.message


def test_get_with_the_query_string_is_the_same_request():
    protocol = QueryProtocol(service_model("sts"))
    request = WireRequest("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15", {}, b"")
    assert protocol.recognizes(request)
    assert protocol.operation(request).name == "GetCallerIdentity"
    assert not protocol.recognizes(WireRequest("GET", "/", "list-type=2", {}, b""))
    assert not protocol.recognizes(
        WireRequest("POST", "/", "", {"x-amz-target": "GraniteServiceVersion20100801.ListMetrics"}, b"{}")
    )


def test_scalars_are_converted_and_checked_by_the_input_shape():
    model = service_model("iam")
    protocol = QueryProtocol(model)
    operation = model.operation_model("ListRoles")
    params = protocol.parse(_form_request({"Action": "ListRoles", "MaxItems": "5", "PathPrefix": "/ml/"}), operation)
    assert params == {"MaxItems": 5, "PathPrefix": "/ml/"}
    with pytest.raises(ValidationException, match="MaxItems"):
        protocol.parse(_form_request({"Action": "ListRoles", "MaxItems": "five"}), operation)
    with pytest.raises(ValidationException, match="maxItems"):
        protocol.parse(_form_request({"Action": "ListRoles", "MaxItems": "0"}), operation)
    sts = service_model("sts")
    assume = sts.operation_model("AssumeRole")
    with pytest.raises(ValidationException, match="roleSessionName"):
        QueryProtocol(sts).parse(_form_request({"Action": "AssumeRole", "RoleArn": "arn:aws:iam::123456789012:role/r" * 1}), assume)


def test_a_body_that_is_not_utf8_is_a_validation_error():
    protocol = QueryProtocol(service_model("sts"))
    request = WireRequest("POST", "/", "", {"content-type": "application/x-www-form-urlencoded"}, b"Action=\xff\xfe")
    with pytest.raises(ValidationException):
        protocol.operation(request)


def test_timestamps_are_iso8601_in_utc():
    assert iso8601(datetime(2026, 12, 3, 8, 29, 43, tzinfo=timezone.utc)) == "2026-12-03T08:29:43Z"
    assert iso8601(datetime(2026, 12, 3, 8, 29, 43, 250000, tzinfo=timezone.utc)) == "2026-12-03T08:29:43.250Z"
    assert iso8601(0) == "1970-01-01T00:00:00Z"
