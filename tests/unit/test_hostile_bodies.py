"""Bodies the fuzzer (tests/integration/test_fuzz.py) found answered with a 500, now 4xx.

* JSON nested past the decoder's depth raised RecursionError out of
  ``json.loads``; a recursive shape nested past the stack did the same in
  :func:`charter.api.shapes.parse_input`;
* a ``\\ud800`` escape leaves a lone surrogate in the string, which neither
  SQLite nor PostgreSQL can store as text (nor the audit row that echoes it).
"""

from __future__ import annotations

import pytest

from charter.api import shapes
from charter.api.protocols.json import json_object
from charter.errors import SerializationException, ValidationException
from charter.model import service_model


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000])
def test_json_nested_past_the_decoder_is_a_serialization_error(body):
    with pytest.raises(SerializationException, match="too deeply"):
        json_object(body)


def test_json_nested_within_the_decoder_still_reads():
    assert json_object(b'{"a":' * 50 + b"1" + b"}" * 50)["a"]["a"]["a"]


def test_a_recursive_shape_nested_past_the_stack_is_a_serialization_error():
    search = service_model("sagemaker").operation_model("Search")
    expression: dict = {"Filters": [{"Name": "ModelPackageGroupName", "Operator": "Equals", "Value": "x"}]}
    for _ in range(5000):  # built from the inside out: no recursion on this side
        expression = {"SubExpressions": [expression], "Operator": "And"}
    with pytest.raises(SerializationException, match="nested too deeply"):
        shapes.parse_input(search, {"Resource": "ModelPackageGroup", "SearchExpression": expression})


@pytest.mark.parametrize("escape", [rb"\ud800", rb"\udfff", rb"x\uDBFFy", rb"\ude00\ud83d"])
def test_a_lone_surrogate_escape_is_refused_without_echoing_it(escape):
    for body in (b'{"a": "' + escape + b'"}', b'{"' + escape + b'": 1}', b'{"a": [[{"b": "' + escape + b'"}]]}'):
        with pytest.raises(ValidationException, match="unpaired UTF-16 surrogate") as caught:
            json_object(body)
        assert "\ud800" not in caught.value.message and "\udfff" not in caught.value.message


def test_a_whole_surrogate_pair_is_one_character():
    assert json_object(rb'{"a": "\ud83d\ude00", "b": "\u00e9"}') == {"a": "\U0001F600", "b": "\u00e9"}
