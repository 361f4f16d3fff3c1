"""charter.api.shapes (request validation and response serialization against botocore's model),
charter.api.patterns (the model's Java patterns in Python) and charter.model (the models, loaded once)."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import datetime, timedelta, timezone

import botocore.model
import botocore.parsers
import pytest

from charter.api import patterns as java_patterns
from charter.api import shapes
from charter.api.patterns import compile_pattern
from charter.api.shapes import parse_input, serialize_output
from charter.model import service_model
from charter.errors import SerializationException, ValidationException

SM = service_model()
UTC = timezone.utc
SERVICES = ("sagemaker", "sagemaker-runtime", "sagemaker-a2i-runtime")


def op(name: str) -> botocore.model.OperationModel:
    return SM.operation_model(name)


def validation_message(operation: str, body: dict) -> str:
    with pytest.raises(ValidationException) as caught:
        parse_input(op(operation), body)
    assert caught.value.code == "ValidationException"
    assert caught.value.status == 400
    return caught.value.message


def serialization_message(operation: str, body) -> str:
    with pytest.raises(SerializationException) as caught:
        parse_input(op(operation), body)
    assert caught.value.code == "SerializationException"
    assert caught.value.status == 400
    return caught.value.message


def model_patterns(service: str) -> dict[str, str]:
    shape_map = service_model(service)._shape_resolver._shape_map
    return {name: spec["pattern"] for name, spec in shape_map.items() if "pattern" in spec}


# --------------------------------------------------------------------------- model


def test_service_model_is_loaded_once_and_cached():
    assert service_model() is service_model("sagemaker")
    assert SM.metadata["targetPrefix"] == "SageMaker"
    assert service_model("sagemaker-runtime").protocol == "rest-json"


def test_compiled_validators_are_cached_per_shape():
    first = shapes._input_node(op("CreateModelPackageGroup").input_shape)
    again = shapes._input_node(op("CreateModelPackageGroup").input_shape)  # fresh Shape objects
    assert first is again
    tags = shapes._input_node(op("CreateModelPackageGroup").input_shape.members["Tags"])
    assert tags is shapes._input_node(op("CreateModel").input_shape.members["Tags"])
    assert compile_pattern("[a-z]+") is compile_pattern("[a-z]+")


# --------------------------------------------------------------------- valid input


def test_valid_create_model_package_group_with_tags_returns_params():
    body = {
        "ModelPackageGroupName": "churn-models",
        "ModelPackageGroupDescription": "Modèle de churn — v2 (ünïcode), 100% ✓",
        "Tags": [{"Key": "team", "Value": "ml-platform"}, {"Key": "cost:center", "Value": ""}],
    }
    assert parse_input(op("CreateModelPackageGroup"), body) == body


def test_operation_with_empty_body_and_no_required_members():
    assert parse_input(op("ListModelPackageGroups"), {}) == {}
    assert parse_input(op("ListModelPackageGroups"), None) == {}


def test_unknown_members_are_ignored_and_dropped():
    body = {
        "ModelPackageGroupName": "g",
        "Bogus": {"anything": [1, 2]},
        "Tags": [{"Key": "k", "Value": "v", "Extra": True}],
    }
    assert parse_input(op("CreateModelPackageGroup"), body) == {
        "ModelPackageGroupName": "g",
        "Tags": [{"Key": "k", "Value": "v"}],
    }


def test_explicit_null_is_treated_as_absent():
    body = {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": None}
    assert parse_input(op("CreateModelPackageGroup"), body) == {"ModelPackageGroupName": "g"}
    assert validation_message("CreateModelPackageGroup", {"ModelPackageGroupName": None}) == (
        "1 validation error detected: Value null at 'modelPackageGroupName' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_integral_float_is_accepted_for_an_integer_member():
    params = parse_input(op("ListModelPackageGroups"), {"MaxResults": 10.0})
    assert params == {"MaxResults": 10}
    assert type(params["MaxResults"]) is int


# ----------------------------------------------------------------- AWS messages


def test_missing_required_member():
    assert validation_message("CreateModelPackageGroup", {}) == (
        "1 validation error detected: Value null at 'modelPackageGroupName' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_name_breaking_the_pattern():
    assert validation_message("CreateModelPackageGroup", {"ModelPackageGroupName": "my_group"}) == (
        "1 validation error detected: Value 'my_group' at 'modelPackageGroupName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )
    # a trailing hyphen breaks it too: the whole value must match (Java String.matches)
    assert "regular expression pattern" in validation_message(
        "CreateModelPackageGroup", {"ModelPackageGroupName": "group-"}
    )


def test_too_long_description():
    description = "a" * 1025
    assert validation_message(
        "CreateModelPackageGroup", {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": description}
    ) == (
        f"1 validation error detected: Value '{description}' at 'modelPackageGroupDescription' "
        "failed to satisfy constraint: Member must have length less than or equal to 1024"
    )
    body = {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": "a" * 1024}
    assert parse_input(op("CreateModelPackageGroup"), body) == body


def test_description_pattern_follows_java_unicode_classes():
    # [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*: a line break (category Cc) is not allowed
    message = validation_message(
        "CreateModelPackageGroup", {"ModelPackageGroupName": "g", "ModelPackageGroupDescription": "one\ntwo"}
    )
    assert message.endswith(
        "at 'modelPackageGroupDescription' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{Z}\\p{S}\\p{N}\\p{P}]*"
    )


def test_enum_violation_lists_values_in_model_order():
    expected_values = op("ListModelPackageGroups").input_shape.members["SortBy"].enum
    assert expected_values == ["Name", "CreationTime"]
    assert validation_message("ListModelPackageGroups", {"SortBy": "Bogus"}) == (
        "1 validation error detected: Value 'Bogus' at 'sortBy' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(expected_values)}]"
    )


@pytest.mark.parametrize(
    "value, constraint",
    [
        (0, "Member must have value greater than or equal to 1"),
        (1000, "Member must have value less than or equal to 100"),
    ],
)
def test_max_results_out_of_range(value, constraint):
    assert validation_message("ListModelPackageGroups", {"MaxResults": value}) == (
        f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy constraint: {constraint}"
    )


@pytest.mark.parametrize("value", [1, 100])
def test_max_results_bounds_are_inclusive(value):
    assert parse_input(op("ListModelPackageGroups"), {"MaxResults": value}) == {"MaxResults": value}


def test_several_errors_are_reported_together_in_model_order():
    long_key = "k" * 129
    body = {
        "Tags": [{"Key": long_key, "Value": "v"}],
        "ModelPackageGroupDescription": "d" * 1025,
        "ModelPackageGroupName": "bad_name",
    }
    assert validation_message("CreateModelPackageGroup", body) == (
        "3 validation errors detected: "
        "Value 'bad_name' at 'modelPackageGroupName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}; "
        f"Value '{'d' * 1025}' at 'modelPackageGroupDescription' failed to satisfy constraint: "
        "Member must have length less than or equal to 1024; "
        f"Value '{long_key}' at 'tags.1.member.key' failed to satisfy constraint: "
        "Member must have length less than or equal to 128"
    )


def test_length_and_pattern_of_one_value_are_two_errors():
    name = "x_" * 40
    message = validation_message("CreateModelPackageGroup", {"ModelPackageGroupName": name})
    assert message.startswith("2 validation errors detected: ")
    assert (
        f"Value '{name}' at 'modelPackageGroupName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63; "
        f"Value '{name}' at 'modelPackageGroupName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: "
    ) in message


def test_tag_key_too_long_is_reported_at_its_list_index():
    key = "k" * 129
    body = {"ModelPackageGroupName": "g", "Tags": [{"Key": key, "Value": "v"}]}
    assert validation_message("CreateModelPackageGroup", body) == (
        f"1 validation error detected: Value '{key}' at 'tags.1.member.key' "
        "failed to satisfy constraint: Member must have length less than or equal to 128"
    )


def test_list_index_is_one_based_and_required_members_of_elements_are_checked():
    body = {"ModelPackageGroupName": "g", "Tags": [{"Key": "a", "Value": "b"}, {"Key": "c"}]}
    assert validation_message("CreateModelPackageGroup", body) == (
        "1 validation error detected: Value null at 'tags.2.member.value' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_too_many_tags():
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    message = validation_message("CreateModelPackageGroup", {"ModelPackageGroupName": "g", "Tags": tags})
    assert message.startswith("1 validation error detected: Value '[{Key=k0, Value=v}, {Key=k1, Value=v}, ")
    assert message.endswith("' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")


def test_bad_element_of_a_string_list_is_reported_once_at_the_list():
    body = {"ModelName": "m", "VpcConfig": {"SecurityGroupIds": ["sg-1", "bad sg!"], "Subnets": ["subnet-1"]}}
    assert validation_message("CreateModel", body) == (
        "1 validation error detected: Value '[sg-1, bad sg!]' at 'vpcConfig.securityGroupIds' "
        "failed to satisfy constraint: Member must satisfy constraint: "
        "[Member must have length less than or equal to 32, Member must have length greater than or equal to 0, "
        "Member must satisfy regular expression pattern: [-0-9a-zA-Z]+]"
    )


def test_bad_map_key_is_reported_once_at_the_map():
    body = {"ModelName": "m", "PrimaryContainer": {"Environment": {"BAD KEY": "v", "OK": "v"}}}
    assert validation_message("CreateModel", body) == (
        "1 validation error detected: Value '{BAD KEY=v, OK=v}' at 'primaryContainer.environment' "
        "failed to satisfy constraint: Map keys must satisfy constraint: "
        "[Member must have length less than or equal to 1024, Member must have length greater than or equal to 0, "
        "Member must satisfy regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]"
    )


def test_sensitive_values_are_not_echoed():
    body = {"ModelCardName": "card", "ModelCardStatus": "Draft", "Content": "x" * 100001}
    assert validation_message("CreateModelCard", body) == (
        "1 validation error detected: Value at 'content' failed to satisfy constraint: "
        "Member must have length less than or equal to 100000"
    )


# ------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    "value",
    [
        1700000000,
        1700000000.0,
        "1700000000",
        "2023-11-14T22:13:20Z",
        "2023-11-14T22:13:20+00:00",
        "2023-11-14T23:13:20+01:00",
        "2023-11-14T22:13:20",
        "2023-11-14T22:13:20.000Z",
    ],
)
def test_timestamps_parse_to_the_same_utc_datetime(value):
    params = parse_input(op("ListModelPackageGroups"), {"CreationTimeAfter": value})
    parsed = params["CreationTimeAfter"]
    assert parsed == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


def test_timestamp_keeps_milliseconds():
    from_float = parse_input(op("ListModelPackageGroups"), {"CreationTimeAfter": 1700000000.123})
    from_iso = parse_input(op("ListModelPackageGroups"), {"CreationTimeAfter": "2023-11-14T22:13:20.123Z"})
    assert from_float == from_iso
    assert from_float["CreationTimeAfter"].microsecond == 123000


def test_unparseable_timestamp_is_a_serialization_error():
    assert "creationTimeAfter" in serialization_message("ListModelPackageGroups", {"CreationTimeAfter": "yesterday"})
    assert "creationTimeAfter" in serialization_message("ListModelPackageGroups", {"CreationTimeAfter": True})


# -------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    "operation, body, member",
    [
        ("ListModelPackageGroups", {"MaxResults": "10"}, "'maxResults'"),
        ("ListModelPackageGroups", {"MaxResults": True}, "'maxResults'"),
        ("ListModelPackageGroups", {"MaxResults": 1.5}, "'maxResults'"),
        ("ListModelPackageGroups", {"MaxResults": 2**40}, "'maxResults'"),
        ("CreateModelPackageGroup", {"ModelPackageGroupName": 5}, "'modelPackageGroupName'"),
        ("CreateModelPackageGroup", {"ModelPackageGroupName": "g", "Tags": "k=v"}, "'tags'"),
        ("CreateModelPackageGroup", {"ModelPackageGroupName": "g", "Tags": {"Key": "k"}}, "'tags'"),
        ("CreateModelPackageGroup", {"ModelPackageGroupName": "g", "Tags": ["k=v"]}, "'tags.1.member'"),
        ("CreateModel", {"ModelName": "m", "PrimaryContainer": {"Environment": {"A": 1}}}, "'primaryContainer.environment.A'"),
        ("CreateModel", {"ModelName": "m", "EnableNetworkIsolation": "true"}, "'enableNetworkIsolation'"),
    ],
)
def test_wrong_json_type_is_a_serialization_exception_naming_the_member(operation, body, member):
    assert member in serialization_message(operation, body)


def test_body_must_be_a_json_object():
    assert "request body" in serialization_message("ListModelPackageGroups", [])
    assert "request body" in serialization_message("ListModelPackageGroups", "{}")


def test_serialization_error_wins_over_validation_errors():
    # AWS deserializes before it validates: a type error is answered even if the body
    # also lacks a required member.
    serialization_message("CreateModelPackageGroup", {"Tags": "x"})


# ------------------------------------------------------------ synthetic model


def synthetic_model() -> botocore.model.ServiceModel:
    return botocore.model.ServiceModel(
        {
            "metadata": {
                "protocol": "json",
                "apiVersion": "2020-01-01",
                "jsonVersion": "1.1",
                "targetPrefix": "Test",
                "serviceId": "Test",
                "endpointPrefix": "test",
                "signatureVersion": "v4",
            },
            "operations": {
                "Do": {
                    "name": "Do",
                    "http": {"method": "POST", "requestUri": "/"},
                    "input": {"shape": "DoInput"},
                    "output": {"shape": "DoOutput"},
                },
                "Nothing": {"name": "Nothing", "http": {"method": "POST", "requestUri": "/"}},
            },
            "shapes": {
                "DoInput": {
                    "type": "structure",
                    "members": {
                        "Payload": {"shape": "Payload"},
                        "Things": {"shape": "ThingMap"},
                        "Greek": {"shape": "Greek"},
                        "Tree": {"shape": "Node"},
                        "Big": {"shape": "Big"},
                        "Ratio": {"shape": "Ratio"},
                        "Secret": {"shape": "Secret"},
                        "Flags": {"shape": "FlagList"},
                    },
                },
                "DoOutput": {
                    "type": "structure",
                    "members": {
                        "Payload": {"shape": "Payload"},
                        "Things": {"shape": "ThingMap"},
                        "Tree": {"shape": "Node"},
                        "Stamps": {"shape": "StampList"},
                        "Ratio": {"shape": "Ratio"},
                    },
                },
                "Payload": {"type": "blob", "max": 4},
                "ThingMap": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Thing"}},
                "Thing": {"type": "structure", "required": ["Name"], "members": {"Name": {"shape": "Name"}}},
                "Name": {"type": "string", "min": 1, "max": 8, "pattern": "[a-z]+"},
                "Greek": {"type": "string", "pattern": "\\p{InGreek}+"},
                "Node": {
                    "type": "structure",
                    "members": {"Name": {"shape": "Name"}, "Children": {"shape": "NodeList"}},
                },
                "NodeList": {"type": "list", "member": {"shape": "Node"}},
                "Big": {"type": "long", "min": 0, "max": 5000000000},
                "Ratio": {"type": "double", "min": 0, "max": 1},
                "Secret": {"type": "string", "max": 3, "sensitive": True},
                "FlagList": {"type": "list", "member": {"shape": "Flag"}},
                "Flag": {"type": "boolean"},
                "StampList": {"type": "list", "member": {"shape": "Stamp"}},
                "Stamp": {"type": "timestamp"},
            },
        },
        service_name="test",
    )


TEST_MODEL = synthetic_model()
DO = TEST_MODEL.operation_model("Do")


def synthetic_errors(body: dict) -> str:
    with pytest.raises(ValidationException) as caught:
        parse_input(DO, body)
    return caught.value.message


def test_blob_is_base64_decoded_and_length_checked_in_bytes():
    assert parse_input(DO, {"Payload": "AAEC"}) == {"Payload": b"\x00\x01\x02"}
    assert "at 'payload' failed to satisfy constraint: Member must have length less than or equal to 4" in (
        synthetic_errors({"Payload": "AAECAwQ="})
    )
    with pytest.raises(SerializationException, match="'payload'"):
        parse_input(DO, {"Payload": "not base64!"})


def test_structure_valued_map_entries_use_the_key_in_the_path():
    assert parse_input(DO, {"Things": {"alpha": {"Name": "a"}}}) == {"Things": {"alpha": {"Name": "a"}}}
    assert synthetic_errors({"Things": {"alpha": {}}}) == (
        "1 validation error detected: Value null at 'things.alpha.name' "
        "failed to satisfy constraint: Member must not be null"
    )


def test_recursive_shapes_validate_deep_paths():
    tree = {"Name": "root", "Children": [{"Name": "a"}, {"Children": [{"Name": "BAD"}]}]}
    assert synthetic_errors({"Tree": tree}) == (
        "1 validation error detected: Value 'BAD' at 'tree.children.2.member.children.1.member.name' "
        "failed to satisfy constraint: Member must satisfy regular expression pattern: [a-z]+"
    )


def test_untranslatable_pattern_is_not_checked():
    assert compile_pattern("\\p{InGreek}+") is None
    assert parse_input(DO, {"Greek": "anything at all"}) == {"Greek": "anything at all"}


def test_long_and_double_ranges():
    assert parse_input(DO, {"Big": 5000000000, "Ratio": 1}) == {"Big": 5000000000, "Ratio": 1.0}
    assert synthetic_errors({"Big": 5000000001, "Ratio": 1.5}) == (
        "2 validation errors detected: "
        "Value '5000000001' at 'big' failed to satisfy constraint: Member must have value less than or equal to 5000000000; "
        "Value '1.5' at 'ratio' failed to satisfy constraint: Member must have value less than or equal to 1"
    )


def test_booleans_in_a_list():
    assert parse_input(DO, {"Flags": [True, False]}) == {"Flags": [True, False]}
    with pytest.raises(SerializationException, match="'flags.2.member'"):
        parse_input(DO, {"Flags": [True, 0]})


def test_operation_without_input_shape():
    assert parse_input(TEST_MODEL.operation_model("Nothing"), {"Ignored": 1}) == {}


def test_sensitive_synthetic_value_is_hidden():
    assert synthetic_errors({"Secret": "hunter2"}) == (
        "1 validation error detected: Value at 'secret' failed to satisfy constraint: "
        "Member must have length less than or equal to 3"
    )


# ------------------------------------------------------------------------ output


def describe_group_result() -> dict:
    return {
        "ModelPackageGroupName": "churn",
        "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn",
        "ModelPackageGroupDescription": None,
        "CreationTime": datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC),
        "CreatedBy": {"UserProfileName": "alice", "InternalOwnerId": 42},
        "ModelPackageGroupStatus": "Completed",
        "InternalRowId": 7,
    }


def test_serialize_output_writes_epoch_seconds_and_drops_unknown_and_none():
    out = serialize_output(op("DescribeModelPackageGroup").output_shape, describe_group_result())
    assert out == {
        "ModelPackageGroupName": "churn",
        "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn",
        "CreationTime": 1700000000.123,
        "CreatedBy": {"UserProfileName": "alice"},
        "ModelPackageGroupStatus": "Completed",
    }
    assert isinstance(out["CreationTime"], float)
    json.dumps(out)  # a plain JSON document


def test_serialize_output_timestamp_inputs():
    shape = op("DescribeModelPackageGroup").output_shape
    naive = serialize_output(shape, {"CreationTime": datetime(2023, 11, 14, 22, 13, 20)})
    other_zone = serialize_output(
        shape, {"CreationTime": datetime(2023, 11, 14, 23, 13, 20, tzinfo=timezone(timedelta(hours=1)))}
    )
    epoch = serialize_output(shape, {"CreationTime": 1700000000.1234})
    iso = serialize_output(shape, {"CreationTime": "2023-11-14T22:13:20Z"})
    assert naive == other_zone == iso == {"CreationTime": 1700000000.0}
    assert epoch == {"CreationTime": 1700000000.123}


def test_serialize_output_round_trips_through_botocores_parser():
    operation = op("DescribeModelPackageGroup")
    result = describe_group_result()
    out = serialize_output(operation.output_shape, result)
    parser = botocore.parsers.create_parser("json")
    parsed = parser.parse(
        {"status_code": 200, "headers": {}, "body": json.dumps(out).encode()}, operation.output_shape
    )
    assert parsed["CreationTime"] == result["CreationTime"]
    assert parsed["ModelPackageGroupName"] == "churn"
    assert parsed["CreatedBy"] == {"UserProfileName": "alice"}
    assert "InternalRowId" not in parsed


def test_serialize_output_of_a_list_result():
    operation = op("ListModelPackageGroups")
    created = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    result = {
        "ModelPackageGroupSummaryList": [
            {
                "ModelPackageGroupName": "g",
                "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g",
                "CreationTime": created,
                "ModelPackageGroupStatus": "Completed",
                "RowVersion": 3,
            }
        ],
        "NextToken": None,
    }
    out = serialize_output(operation.output_shape, result)
    assert out == {
        "ModelPackageGroupSummaryList": [
            {
                "ModelPackageGroupName": "g",
                "ModelPackageGroupArn": "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/g",
                "CreationTime": round(created.timestamp(), 3),
                "ModelPackageGroupStatus": "Completed",
            }
        ]
    }
    parsed = botocore.parsers.create_parser("json").parse(
        {"status_code": 200, "headers": {}, "body": json.dumps(out).encode()}, operation.output_shape
    )
    assert parsed["ModelPackageGroupSummaryList"][0]["CreationTime"] == created
    assert "NextToken" not in parsed


def test_serialize_output_blobs_maps_lists_and_recursion():
    out = serialize_output(
        DO.output_shape,
        {
            "Payload": b"\x00\x01\x02",
            "Things": {"a": {"Name": "x", "Junk": 1}, "b": None},
            "Tree": {"Name": "r", "Children": [{"Name": "c", "Children": []}, None]},
            "Stamps": [datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC), 2],
            "Ratio": 1,
        },
    )
    assert out == {
        "Payload": "AAEC",
        "Things": {"a": {"Name": "x"}},
        "Tree": {"Name": "r", "Children": [{"Name": "c", "Children": []}]},
        "Stamps": [1.0, 2.0],
        "Ratio": 1,
    }


def test_serialize_output_without_shape():
    assert serialize_output(None, {"Anything": 1}) == {}


# ------------------------------------------------------------- Java regexes


@pytest.mark.parametrize(
    "pattern, good, bad",
    [
        # \p{L}\p{Z}\p{N} classes (TagKey): letters of any script
        ("([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)", ["clé été:ü/=+-@ 1", "日本語", ""], ["bad!", "tab\there"]),
        # Java accepts a quantifier after "$" (a no-op); Python would not compile it
        ("([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,128}", ["key:1"], ["key!"]),
        # surrogate-pair escapes mean supplementary code points
        ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*", ["emoji 😀\tok"], ["\x01", "a\nb"]),
        ("\\A\\S[\\p{Print}]*\\z", ["abc def", "é!"], [" abc", "abc\n", "aé"]),
        # lookbehind, optional ARN prefix
        (
            "(arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*\\/)?([a-zA-Z0-9]([a-zA-Z0-9-]){0,62})(?<!-)",
            ["my-model", "arn:aws:sagemaker:us-east-1:123456789012:model/my-model"],
            ["my-model-", "-x"],
        ),
        # "." excludes Java's line terminators
        (".*", ["a b\tc"], ["a\rb", "a\nb", "a\u2028b"]),
        # \w is ASCII, as in Java
        ("[\\w-]+_[0-9a-zA-Z]+", ["ab-c_1"], ["é_1"]),
        ("arn:[\\p{Alnum}\\-]+:lambda:.*", ["arn:aws-cn:lambda:x"], ["arn:aws_cn:lambda:x"]),
        ("[\\p{Punct}]+", ["!?-"], ["a"]),
        ("[^\\P{L}]+", ["abcé"], ["a1"]),
        ("\\Qa.b\\E+", ["a.bbb"], ["axb"]),
        ("(?<word>ab)\\k<word>", ["abab"], ["abba"]),
        ("\\x{1F600}", ["😀"], ["x"]),
        ("^abc$", ["abc"], ["abcd", "xabc"]),
        ("(?i)abc", ["ABC"], ["abd"]),
    ],
)
def test_java_patterns_translate_faithfully(pattern, good, bad):
    compiled = compile_pattern(pattern)
    assert compiled is not None
    for value in good:
        assert compiled.fullmatch(value), (pattern, value)
    for value in bad:
        assert not compiled.fullmatch(value), (pattern, value)


@pytest.mark.parametrize(
    "pattern",
    ["[a-z&&[^b]]", "[a-z[0-9]]", "\\p{IsLatin}", "\\p{InGreek}", "\\Gx", "[a", "\\p{javaLowerCase}"],
)
def test_untranslatable_patterns_compile_to_none(pattern):
    assert compile_pattern(pattern) is None


@pytest.mark.parametrize("service", SERVICES)
def test_every_model_pattern_compiles(service):
    untranslatable = {}
    for name, pattern in model_patterns(service).items():
        if compile_pattern(pattern) is None:  # must not raise
            untranslatable[name] = pattern
    # every pattern of today's models is actually checked (none silently skipped)
    assert untranslatable == {}


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_compiles_and_survives_an_empty_body(service):
    model = service_model(service)
    for name in model.operation_names:
        operation = model.operation_model(name)
        try:
            parse_input(operation, {})
        except ValidationException as exc:
            assert "Member must not be null" in exc.message
        assert serialize_output(operation.output_shape, {}) == {}


def timed_fullmatch(compiled, value: str) -> float:
    started = time.perf_counter()
    compiled.fullmatch(value)
    return time.perf_counter() - started


def find_catastrophic_patterns(patterns, compile_fn=compile_pattern) -> dict:
    """Probe patterns with growing near-miss values; report those that blow up.

    A backtracking blow-up doubles (or worse) the time per repeated unit, so the probe
    stops at the first length that exceeds the budget: cheap for linear patterns,
    bounded for exponential ones.
    """
    prefixes = ["", "https://", "arn:aws:sagemaker:us-east-1:123456789012:"]
    units = ["a", "a ", "a-", "a.", "a/", "a_", "1", "-a", "a:"]
    slow = {}
    for pattern in sorted(patterns):
        compiled = compile_fn(pattern)
        if compiled is None:
            continue
        probes = (
            prefix + unit * repeat + tail
            for prefix in prefixes
            for unit in units
            for tail in ("!", "\u2028")
            for repeat in range(8, 26, 2)
        )
        for value in probes:
            elapsed = timed_fullmatch(compiled, value)
            if elapsed > 0.02 and timed_fullmatch(compiled, value) > 0.02:  # not a scheduling hiccup
                slow[pattern] = (value, round(elapsed, 3))
                break
    return slow


def test_no_model_pattern_backtracks_catastrophically():
    patterns = set()
    for service in SERVICES:
        patterns.update(model_patterns(service).values())
    assert find_catastrophic_patterns(patterns) == {}


def test_the_probe_detects_the_patterns_that_needed_a_safe_equivalent():
    def literal(pattern):
        return re.compile(java_patterns.translate_java_regex(pattern), re.ASCII)

    assert set(find_catastrophic_patterns(java_patterns.SAFE_EQUIVALENTS, literal)) >= {
        ".*(?:[ \\r\\n\\t].*)*",
        ".*(?:[ \\r\\n\\t].*)*.*",
        "https://([.\\-_a-zA-Z0-9]+/?){3,1016}",
    }


def test_safe_equivalents_agree_with_the_literal_translation():
    rng = random.Random(20240601)
    alphabets = {
        ".*(?:[ \\r\\n\\t].*)*": "a \t\r\n\u0085\u2028\u2029",
        ".*(?:[ \\r\\n\\t].*)*.*": "a \t\r\n\u0085\u2028\u2029",
        "https://([.\\-_a-zA-Z0-9]+/?){3,1016}": "a.-_/!",
        "[a-z0-9]([-a-z0-9]*[a-z0-9]){0,39}?": "a0-_",
    }
    assert set(alphabets) == set(java_patterns.SAFE_EQUIVALENTS)
    for pattern, alphabet in alphabets.items():
        literal = re.compile(java_patterns.translate_java_regex(pattern), re.ASCII)
        safe = compile_pattern(pattern)
        prefix = "https://" if pattern.startswith("https://") else ""
        samples = {prefix + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(3000)}
        samples |= {"", prefix, "https://a/b/c", "https://ab", "https://abc/", "https://a//b", "https:///abc"}
        for value in samples:
            assert bool(literal.fullmatch(value)) == bool(safe.fullmatch(value)), (pattern, value)


# ------------------------------------------------------------------ performance


def test_validation_is_fast_enough_for_every_request():
    operation = op("CreateModelPackageGroup")
    body = {
        "ModelPackageGroupName": "g1",
        "ModelPackageGroupDescription": "description " * 80,
        "Tags": [{"Key": f"key{i}", "Value": "v" * 100} for i in range(20)],
    }
    parse_input(operation, body)
    started = time.perf_counter()
    for _ in range(500):
        parse_input(operation, body)
    assert (time.perf_counter() - started) / 500 < 0.002


# --------------------------------------------------------------------------- NUL characters


def test_a_nul_in_any_text_member_is_a_validation_error_not_a_database_failure():
    # PostgreSQL text cannot hold U+0000; the validator turns it away on every database alike,
    # for a top-level member and a member of a list element, naming where it was.
    message = validation_message(
        "AddTags",
        {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:model/a\x00b", "Tags": [{"Key": "k\x00", "Value": "v"}]},
    )
    assert message.startswith("3 validation errors detected: ")  # the tag key's own pattern refuses it too
    assert "Value 'arn:aws:sagemaker:us-east-1:123456789012:model/a\\u0000b' at 'resourceArn' failed to satisfy constraint: Member must not contain NUL characters (U+0000)" in message
    assert "'tags.1.member.key' failed to satisfy constraint: Member must not contain NUL characters" in message
    for service, operation, body in [
        ("iam", "GetPolicyVersion", {"PolicyArn": "arn:aws:iam::123456789012:policy/a\x00", "VersionId": "v1"}),
        ("cloudwatch", "DeleteAlarms", {"AlarmNames": ["a\x00"]}),
        ("logs", "CreateLogGroup", {"logGroupName": "g\x00"}),
    ]:
        with pytest.raises(ValidationException, match="NUL characters"):
            parse_input(service_model(service).operation_model(operation), body)


def test_s3_keys_prefixes_and_markers_hold_a_nul_because_they_are_stored_as_bytes():
    import charter.api.faces.s3  # noqa: F401  (the S3 face names the shapes it holds as bytes)

    s3 = service_model("s3")
    params = parse_input(s3.operation_model("GetObject"), {"Bucket": "b", "Key": "a\x00b"})
    assert params["Key"] == "a\x00b"
    params = parse_input(s3.operation_model("ListObjectsV2"), {"Bucket": "b", "Prefix": "\x00", "StartAfter": "\x00x"})
    assert params["Prefix"] == "\x00"
    with pytest.raises(ValidationException, match="NUL characters"):  # an upload id is text
        parse_input(s3.operation_model("AbortMultipartUpload"), {"Bucket": "b", "Key": "k", "UploadId": "u\x00"})
