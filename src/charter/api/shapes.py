"""Input validation and output serialization against botocore's service model.

The control plane receives a JSON 1.1 body for an operation and must answer exactly
as SageMaker does.  botocore's service model is the contract:

* :func:`parse_input` type-checks the body (wrong JSON types raise
  :class:`~charter.errors.SerializationException`, as AWS's deserializer does before
  any validation), converts timestamps to timezone-aware UTC ``datetime`` objects and
  blobs to ``bytes``, then checks every modelled constraint and raises ONE
  :class:`~charter.errors.ValidationException` carrying all violations in AWS's
  wording::

      2 validation errors detected: Value null at 'modelPackageGroupName' failed to
      satisfy constraint: Member must not be null; Value '0' at 'maxResults' ...

* :func:`serialize_output` walks a handler's result through the output shape and
  produces the JSON document botocore parses (epoch-second timestamps, base64 blobs,
  unknown keys and ``None`` values dropped).

Wording decisions (AWS's Coral validator as seen in published responses; the basics are
in ``specs/aws-protocol.md`` section 2):

* member paths are lower camel case, list members ``tags.1.member.key`` (1-based),
  structure-valued map entries ``map.<key>.field``;
* a list or map element that breaks its own constraints is reported once, at the
  container, listing every constraint of the element shape, the way Coral does::

      Value '[sg-1, bad sg!]' at 'vpcConfig.securityGroupIds' failed to satisfy
      constraint: Member must satisfy constraint: [Member must have length less than or
      equal to 32, Member must have length greater than or equal to 0, Member must
      satisfy regular expression pattern: [-0-9a-zA-Z]+]

  (``Map keys must satisfy constraint: [...]`` / ``Map value must satisfy
  constraint: [...]`` for maps, values rendered like Java's ``toString``);
* values of ``sensitive`` shapes are not echoed (``Value at 'x' failed to ...``);
* the pattern is quoted as the model spells it (the live API currently answers
  ``...pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``, without the ``^`` older responses
  showed; flip :data:`PATTERN_MESSAGE_PREFIX` to change that);
* unknown members are ignored and dropped (AWS's JSON deserializer ignores them too);
* union (tagged-union) structures are not checked for "exactly one member": botocore
  refuses such input client-side and AWS's wording for it is not known.

Patterns are Java regular expressions matched with ``String.matches`` semantics (the
whole value must match); :mod:`charter.api.patterns` translates them to Python.  The
service models themselves come from :mod:`charter.model`.

Everything per shape is compiled once into small validator/serializer objects, cached
per (service model, shape name), so a request costs one walk over its body.
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
import re
import threading
import weakref
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable

import botocore.model

from charter.errors import SerializationException, ValidationException

from .patterns import compile_pattern

__all__ = [
    "parse_input",
    "serialize_output",
    "PATTERN_MESSAGE_PREFIX",
]

#: Prepended to the model's pattern in "Member must satisfy regular expression
#: pattern: ..." messages.  Empty: quote the model verbatim (what AWS answers today).
#: Read when a shape's validator is compiled, so set it before the first request.
PATTERN_MESSAGE_PREFIX = ""

_UTC = timezone.utc
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


# ------------------------------------------------------------------ rendering


def _render(value: Any) -> str:
    """A value the way AWS's (Java) messages print it."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _bound(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _where(path: str) -> str:
    return f"'{path}'" if path else "the request body"


def _type_error(path: str, expected: str, value: Any) -> SerializationException:
    return SerializationException(
        f"Cannot deserialize value at {_where(path)}: expected {expected}, got {_json_type(value)}"
    )


# ------------------------------------------------------------------ input nodes
#
# Every node has:
#   parse(value, path, errors, flag) -> converted value
#       raises SerializationException on a wrong JSON type; checks the node's own
#       constraints: violations go to ``errors`` (one message each) when ``flag`` is
#       None (a structure member), else set ``flag[0] = True`` (a list/map element:
#       the container reports once, listing ``constraints``).
#   constraints: every constraint description of the shape, in AWS's order.
#   sensitive: whether the value may be echoed.

_MISSING = object()
_NOT_NULL = "Member must not be null"


class _Node:
    __slots__ = ("name", "constraints", "sensitive")

    def __init__(self, shape: botocore.model.Shape):
        self.name = shape.name
        self.sensitive = bool(shape.metadata.get("sensitive"))
        self.constraints: list[str] = []

    def parse(self, value: Any, path: str, errors: list[str], flag: list[bool] | None) -> Any:
        raise NotImplementedError

    def _report(self, value: Any, path: str, errors: list[str], flag: list[bool] | None, violations: list[str]) -> None:
        if flag is not None:
            flag[0] = True
            return
        shown = "Value at" if self.sensitive else f"Value '{_render(value)}' at"
        for v in violations:
            errors.append(f"{shown} '{path}' failed to satisfy constraint: {v}")


def _length_constraints(metadata: dict) -> tuple[Any, Any, list[str]]:
    lo, hi = metadata.get("min"), metadata.get("max")
    out = []
    if hi is not None:
        out.append(f"Member must have length less than or equal to {_bound(hi)}")
    if lo is not None:
        out.append(f"Member must have length greater than or equal to {_bound(lo)}")
    return lo, hi, out


def _length_violations(size: int, lo: Any, hi: Any) -> list[str]:
    if hi is not None and size > hi:
        return [f"Member must have length less than or equal to {_bound(hi)}"]
    if lo is not None and size < lo:
        return [f"Member must have length greater than or equal to {_bound(lo)}"]
    return []


#: String shapes whose values Charter keeps as bytes, not as database text, so a NUL
#: character is theirs to hold (S3's keys and the prefixes and markers compared with them;
#: the S3 face names them).  Every other string is text, which PostgreSQL cannot hold with
#: a NUL in it: such a value is a validation error on every database alike.
HELD_AS_BYTES: dict[str, frozenset[str]] = {}  # botocore service name -> string shape names

_NO_NUL = "Member must not contain NUL characters (U+0000)"


class _String(_Node):
    __slots__ = ("lo", "hi", "regex", "pattern_msg", "enum", "enum_msg", "text")

    def __init__(self, shape):
        super().__init__(shape)
        md = shape.metadata
        self.text = True  # cleared by _build_input for the shapes of HELD_AS_BYTES
        self.lo, self.hi, self.constraints = _length_constraints(md)
        pattern = md.get("pattern")
        self.regex = compile_pattern(pattern) if pattern else None
        self.pattern_msg = None
        if pattern:
            self.pattern_msg = f"Member must satisfy regular expression pattern: {PATTERN_MESSAGE_PREFIX}{pattern}"
            self.constraints.append(self.pattern_msg)
        values = md.get("enum")
        self.enum = frozenset(values) if values else None
        self.enum_msg = None
        if values:
            self.enum_msg = f"Member must satisfy enum value set: [{', '.join(values)}]"
            self.constraints.append(self.enum_msg)

    def parse(self, value, path, errors, flag):
        if not isinstance(value, str):
            raise _type_error(path, "a string", value)
        violations = _length_violations(len(value), self.lo, self.hi) if (self.lo or self.hi is not None) else []
        if self.regex is not None and self.regex.fullmatch(value) is None:
            violations.append(self.pattern_msg)
        if self.enum is not None and value not in self.enum:
            violations.append(self.enum_msg)
        if violations:
            self._report(value, path, errors, flag, violations)
        if self.text and "\x00" in value:
            # Not one of AWS's modelled constraints, so reported on its own, even for an element.
            shown = "Value at" if self.sensitive else "Value '" + value.replace("\x00", "\\u0000") + "' at"
            errors.append(f"{shown} '{path}' failed to satisfy constraint: {_NO_NUL}")
        return value


class _Number(_Node):
    __slots__ = ("lo", "hi", "integral", "limits")

    def __init__(self, shape):
        super().__init__(shape)
        md = shape.metadata
        self.lo, self.hi = md.get("min"), md.get("max")
        if self.hi is not None:
            self.constraints.append(f"Member must have value less than or equal to {_bound(self.hi)}")
        if self.lo is not None:
            self.constraints.append(f"Member must have value greater than or equal to {_bound(self.lo)}")
        self.integral = shape.type_name in ("integer", "long")
        self.limits = _INT32 if shape.type_name == "integer" else _INT64

    def parse(self, value, path, errors, flag):
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise _type_error(path, f"a number ({'integer' if self.integral else 'decimal'})", value)
        if self.integral:
            if not isinstance(value, int):
                if not math.isfinite(value) or value != int(value):
                    raise SerializationException(
                        f"Cannot deserialize value at {_where(path)}: {value!r} is not an integer"
                    )
                value = int(value)
            if not self.limits[0] <= value <= self.limits[1]:
                raise SerializationException(
                    f"Cannot deserialize value at {_where(path)}: {value} is out of range for {self.name}"
                )
        else:
            value = float(value)
        hi, lo = self.hi, self.lo
        if hi is not None and value > hi:
            self._report(value, path, errors, flag, [f"Member must have value less than or equal to {_bound(hi)}"])
        elif lo is not None and value < lo:
            self._report(value, path, errors, flag, [f"Member must have value greater than or equal to {_bound(lo)}"])
        return value


class _Boolean(_Node):
    __slots__ = ()

    def parse(self, value, path, errors, flag):
        if not isinstance(value, bool):
            raise _type_error(path, "a boolean", value)
        return value


_NUMERIC_STRING = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _parse_timestamp(value: Any, path: str) -> datetime:
    if isinstance(value, bool):
        raise _type_error(path, "a timestamp", value)
    try:
        if isinstance(value, (int, float, Decimal)):
            return datetime.fromtimestamp(float(value), _UTC)
        if isinstance(value, str):
            text = value.strip()
            if _NUMERIC_STRING.fullmatch(text):
                return datetime.fromtimestamp(float(text), _UTC)
            if text.endswith(("z", "Z")):
                text = text[:-1] + "+00:00"
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=_UTC)
            return parsed.astimezone(_UTC)
    except (ValueError, OverflowError, OSError):
        raise SerializationException(
            f"Cannot deserialize value at {_where(path)}: {_render(value)!r} is not a valid timestamp"
        ) from None
    raise _type_error(path, "a timestamp (epoch seconds or ISO 8601 string)", value)


class _Timestamp(_Node):
    __slots__ = ()

    def parse(self, value, path, errors, flag):
        return _parse_timestamp(value, path)


class _Blob(_Node):
    __slots__ = ("lo", "hi")

    def __init__(self, shape):
        super().__init__(shape)
        self.lo, self.hi, self.constraints = _length_constraints(shape.metadata)

    def parse(self, value, path, errors, flag):
        if not isinstance(value, str):
            raise _type_error(path, "a base64-encoded string", value)
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise SerializationException(
                f"Cannot deserialize value at {_where(path)}: invalid base64 data"
            ) from None
        violations = _length_violations(len(data), self.lo, self.hi)
        if violations:
            self._report(value, path, errors, flag, violations)
        return data


class _Document(_Node):
    __slots__ = ()

    def parse(self, value, path, errors, flag):
        return value


class _Structure(_Node):
    __slots__ = ("members",)

    def __init__(self, shape):
        super().__init__(shape)
        # filled by the compiler: (name, lower camel name, node, required)
        self.members: list[tuple[str, str, _Node, bool]] = []

    def parse(self, value, path, errors, flag):
        if not isinstance(value, dict):
            raise _type_error(path, "an object (structure)", value)
        out = {}
        prefix = path + "." if path else ""
        get = value.get
        for name, lname, node, required in self.members:
            v = get(name)
            if v is None:
                if required:
                    errors.append(f"Value null at '{prefix}{lname}' failed to satisfy constraint: {_NOT_NULL}")
                continue
            out[name] = node.parse(v, prefix + lname, errors, None)
        return out


def _sensitive_render(node: _Node, *children: _Node) -> bool:
    return node.sensitive or any(c.sensitive for c in children)


class _List(_Node):
    __slots__ = ("member", "lo", "hi")

    def __init__(self, shape):
        super().__init__(shape)
        self.member: _Node | None = None
        self.lo, self.hi, self.constraints = _length_constraints(shape.metadata)

    def parse(self, value, path, errors, flag):
        if not isinstance(value, list):
            raise _type_error(path, "an array (list)", value)
        violations = _length_violations(len(value), self.lo, self.hi)
        if violations:
            self._report(value, path, errors, flag, violations)
        member = self.member
        bad = [False]
        had_null = False
        out = []
        for index, item in enumerate(value, 1):
            if item is None:
                had_null = bad[0] = True
                continue
            out.append(member.parse(item, f"{path}.{index}.member", errors, bad))
        if bad[0]:
            listed = member.constraints + ([_NOT_NULL] if had_null else [])
            shown = "Value at" if _sensitive_render(self, member) else f"Value '{_render(value)}' at"
            errors.append(
                f"{shown} '{path}' failed to satisfy constraint: "
                f"Member must satisfy constraint: [{', '.join(listed)}]"
            )
        return out


class _Map(_Node):
    __slots__ = ("key", "value", "lo", "hi")

    def __init__(self, shape):
        super().__init__(shape)
        self.key: _Node | None = None
        self.value: _Node | None = None
        self.lo, self.hi, self.constraints = _length_constraints(shape.metadata)

    def parse(self, value, path, errors, flag):
        if not isinstance(value, dict):
            raise _type_error(path, "an object (map)", value)
        violations = _length_violations(len(value), self.lo, self.hi)
        if violations:
            self._report(value, path, errors, flag, violations)
        key_node, value_node = self.key, self.value
        bad_key, bad_value = [False], [False]
        value_null = False
        out = {}
        parse_key = isinstance(key_node, _String)
        for k, v in value.items():
            if parse_key:
                k = key_node.parse(k, path, errors, bad_key)
            if v is None:
                value_null = bad_value[0] = True
                continue
            out[k] = value_node.parse(v, f"{path}.{k}", errors, bad_value)
        if bad_key[0] or bad_value[0]:
            shown = (
                "Value at" if _sensitive_render(self, key_node, value_node) else f"Value '{_render(value)}' at"
            )
            if bad_key[0]:
                errors.append(
                    f"{shown} '{path}' failed to satisfy constraint: "
                    f"Map keys must satisfy constraint: [{', '.join(key_node.constraints)}]"
                )
            if bad_value[0]:
                listed = value_node.constraints + ([_NOT_NULL] if value_null else [])
                errors.append(
                    f"{shown} '{path}' failed to satisfy constraint: "
                    f"Map value must satisfy constraint: [{', '.join(listed)}]"
                )
        return out


_SIMPLE_NODES: dict[str, type[_Node]] = {
    "string": _String,
    "integer": _Number,
    "long": _Number,
    "float": _Number,
    "double": _Number,
    "bigdecimal": _Number,
    "biginteger": _Number,
    "boolean": _Boolean,
    "timestamp": _Timestamp,
    "blob": _Blob,
}


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


# Compiled nodes, per shape resolver (i.e. per loaded service model), per shape name.
_compile_lock = threading.RLock()
_input_nodes: "weakref.WeakKeyDictionary[Any, dict[str, _Node]]" = weakref.WeakKeyDictionary()
_output_nodes: "weakref.WeakKeyDictionary[Any, dict[str, Callable[[Any], Any]]]" = weakref.WeakKeyDictionary()
_unbound_input: dict[int, _Node] = {}
_unbound_output: dict[int, Callable[[Any], Any]] = {}


def _registry(table: weakref.WeakKeyDictionary, shape: botocore.model.Shape) -> dict | None:
    resolver = getattr(shape, "_shape_resolver", None)
    if resolver is None:
        return None
    try:
        return table.setdefault(resolver, {})
    except TypeError:  # pragma: no cover - resolver not weak-referenceable
        return None


def _input_node(shape: botocore.model.Shape, held: frozenset[str] = frozenset()) -> _Node:
    registry = _registry(_input_nodes, shape)
    cache = registry if registry is not None else _unbound_input
    key = shape.name if registry is not None else id(shape)
    node = cache.get(key)
    if node is not None:
        return node
    with _compile_lock:
        node = cache.get(key)
        if node is None:
            pending: dict[str, _Node] = {}
            node = _build_input(shape, registry or {}, pending, held)
            if registry is not None:
                registry.update(pending)
            else:
                _unbound_input[key] = node
    return node


def _build_input(
    shape: botocore.model.Shape, done: dict[str, _Node], pending: dict[str, _Node], held: frozenset[str] = frozenset()
) -> _Node:
    name = shape.name
    if name in done:
        return done[name]
    if name in pending:
        return pending[name]
    type_name = shape.type_name
    if getattr(shape, "is_document_type", False) or shape.metadata.get("document"):
        node: _Node = _Document(shape)
        pending[name] = node
        return node
    if type_name == "structure":
        node = _Structure(shape)
        pending[name] = node  # registered first: shapes may be recursive
        required = set(shape.required_members)
        node.members = [
            (member_name, _lower_camel(member_name), _build_input(member, done, pending, held), member_name in required)
            for member_name, member in shape.members.items()
        ]
        return node
    if type_name == "list":
        node = _List(shape)
        pending[name] = node
        node.member = _build_input(shape.member, done, pending, held)
        return node
    if type_name == "map":
        node = _Map(shape)
        pending[name] = node
        node.key = _build_input(shape.key, done, pending, held)
        node.value = _build_input(shape.value, done, pending, held)
        return node
    cls = _SIMPLE_NODES.get(type_name, _Document)
    node = cls(shape)
    if name in held and isinstance(node, _String):
        node.text = False
    pending[name] = node
    return node


def parse_input(operation: botocore.model.OperationModel, body: dict) -> dict:
    """Validate a request body against ``operation``'s input shape; return the params.

    Raises :class:`SerializationException` for a wrong JSON type and one
    :class:`ValidationException` listing every constraint violation.  The result keeps
    only modelled members, with timestamps as UTC ``datetime`` and blobs as ``bytes``.
    """
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise SerializationException(
            f"Cannot deserialize the request body: expected a JSON object, got {_json_type(body)}"
        )
    shape = operation.input_shape
    if shape is None:
        return {}
    errors: list[str] = []
    try:
        held = HELD_AS_BYTES.get(operation.service_model.service_name, frozenset())
        params = _input_node(shape, held).parse(body, "", errors, None)
    except RecursionError:  # a recursive shape (SearchExpression) nested deeper than the stack goes
        raise SerializationException("Cannot deserialize the request body: it is nested too deeply.") from None
    if errors:
        count = len(errors)
        raise ValidationException(
            f"{count} validation error{'s' if count != 1 else ''} detected: " + "; ".join(errors)
        )
    return params


# ------------------------------------------------------------------ output


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        return round(value.timestamp(), 3)
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 3)
    if isinstance(value, date):
        return float(datetime(value.year, value.month, value.day, tzinfo=_UTC).timestamp())
    if isinstance(value, str):
        return round(_parse_timestamp(value, "").timestamp(), 3)
    raise TypeError(f"cannot serialize {type(value).__name__} as a timestamp")


def _blob_out(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(bytes(value)).decode("ascii")


def _string_out(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def _integer_out(value: Any) -> Any:
    if isinstance(value, int):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    return int(value)


def _float_out(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return float(value)


def _identity(value: Any) -> Any:
    return value


_SIMPLE_OUT: dict[str, Callable[[Any], Any]] = {
    "string": _string_out,
    "integer": _integer_out,
    "long": _integer_out,
    "biginteger": _integer_out,
    "float": _float_out,
    "double": _float_out,
    "bigdecimal": _float_out,
    "boolean": bool,
    "timestamp": _epoch,
    "blob": _blob_out,
}


class _OutRef:
    """Late-bound serializer for recursive shapes."""

    __slots__ = ("fn",)

    def __init__(self):
        self.fn: Callable[[Any], Any] | None = None

    def __call__(self, value):
        return self.fn(value)


def _output_fn(shape: botocore.model.Shape) -> Callable[[Any], Any]:
    registry = _registry(_output_nodes, shape)
    cache = registry if registry is not None else _unbound_output
    key = shape.name if registry is not None else id(shape)
    fn = cache.get(key)
    if fn is not None:
        return fn
    with _compile_lock:
        fn = cache.get(key)
        if fn is None:
            pending: dict[str, Callable[[Any], Any]] = {}
            fn = _build_output(shape, registry or {}, pending)
            if registry is not None:
                registry.update(pending)
            else:
                _unbound_output[key] = fn
    return fn


def _build_output(shape, done, pending) -> Callable[[Any], Any]:
    name = shape.name
    if name in done:
        return done[name]
    if name in pending:
        return pending[name]
    type_name = shape.type_name
    if getattr(shape, "is_document_type", False) or shape.metadata.get("document"):
        pending[name] = _identity
        return _identity
    if type_name in ("structure", "list", "map"):
        ref = _OutRef()
        pending[name] = ref  # recursive references resolve through the ref
        if type_name == "structure":
            members = {m: _build_output(s, done, pending) for m, s in shape.members.items()}

            def fn(value, _members=members):
                if not isinstance(value, dict):
                    if not isinstance(value, Mapping):
                        raise TypeError(f"expected a mapping for {name}, got {type(value).__name__}")
                    value = dict(value)
                out = {}
                for k, v in value.items():
                    if v is None:
                        continue
                    ser = _members.get(k)
                    if ser is not None:
                        out[k] = ser(v)
                return out

        elif type_name == "list":
            item = _build_output(shape.member, done, pending)

            def fn(value, _item=item):
                return [_item(v) for v in value if v is not None]

        else:
            key_fn = _build_output(shape.key, done, pending)
            val_fn = _build_output(shape.value, done, pending)

            def fn(value, _k=key_fn, _v=val_fn):
                return {_k(k): _v(v) for k, v in value.items() if v is not None}

        ref.fn = fn
        pending[name] = fn
        return fn
    fn = _SIMPLE_OUT.get(type_name, _identity)
    pending[name] = fn
    return fn


def serialize_output(shape: botocore.model.Shape | None, value: dict) -> dict:
    """The JSON document for ``value`` under the output ``shape`` (``{}`` for no shape).

    Keeps only members of the shape, drops ``None`` values, writes timestamps as epoch
    seconds with millisecond precision and blobs as base64 strings, recursively.
    """
    if shape is None or value is None:
        return {}
    return _output_fn(shape)(value)
