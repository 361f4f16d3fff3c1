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
whole value must match, anchors or not).  They are translated to Python once and
cached: ``\\p{..}`` classes become explicit code-point ranges, ``\\w``/``\\d``/``\\s``
stay ASCII (``re.ASCII``, as in Java), ``.`` excludes Java's line terminators,
surrogate-pair escapes become code points, ``\\z``/``\\Z``/``\\Q..\\E``/``(?<name>..)``
are rewritten.  A pattern that cannot be translated faithfully (unknown property,
nested class, ``&&`` intersection, ...) is not checked at all rather than risk
rejecting valid input (:func:`compile_pattern` returns ``None`` for it).  The few model
patterns whose literal translation backtracks exponentially (a short hostile value
could pin a worker) are replaced by equivalent ones that do not backtrack
(``_SAFE_EQUIVALENTS``).

Everything per shape is compiled once into small validator/serializer objects, cached
per (service model, shape name), so a request costs one walk over its body.
"""

from __future__ import annotations

import base64
import binascii
import enum
import logging
import math
import re
import sys
import threading
import unicodedata
import warnings
import weakref
from collections.abc import Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable

import botocore.model
import botocore.session

from charter.errors import SerializationException, ValidationException

__all__ = [
    "service_model",
    "parse_input",
    "serialize_output",
    "compile_pattern",
    "PATTERN_MESSAGE_PREFIX",
]

log = logging.getLogger(__name__)

#: Prepended to the model's pattern in "Member must satisfy regular expression
#: pattern: ..." messages.  Empty: quote the model verbatim (what AWS answers today).
#: Read when a shape's validator is compiled, so set it before the first request.
PATTERN_MESSAGE_PREFIX = ""

_UTC = timezone.utc
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


# --------------------------------------------------------------------------- model


_model_lock = threading.Lock()
_session: botocore.session.Session | None = None
_models: dict[str, botocore.model.ServiceModel] = {}


def service_model(name: str = "sagemaker") -> botocore.model.ServiceModel:
    """botocore's service model for ``name`` (loaded once, then cached)."""
    model = _models.get(name)
    if model is not None:
        return model
    global _session
    with _model_lock:
        model = _models.get(name)
        if model is None:
            if _session is None:
                _session = botocore.session.get_session()
            model = _models[name] = _session.get_service_model(name)
    return model


# ------------------------------------------------------------------ Java regexes


_DOT = "[^\\n\\r\\u0085\\u2028\\u2029]"
_MAX_CP = sys.maxunicode

Ranges = list[tuple[int, int]]


def _merge(ranges: Ranges) -> Ranges:
    out: Ranges = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _complement(ranges: Ranges) -> Ranges:
    out: Ranges = []
    nxt = 0
    for lo, hi in _merge(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_CP:
        out.append((nxt, _MAX_CP))
    return out


def _chars(s: str) -> Ranges:
    return [(ord(c), ord(c)) for c in s]


_category_lock = threading.Lock()
_categories: dict[str, Ranges] | None = None


def _category_table() -> dict[str, Ranges]:
    """Code-point ranges of every two-letter Unicode general category (built once)."""
    global _categories
    if _categories is None:
        with _category_lock:
            if _categories is None:
                table: dict[str, Ranges] = {}
                category = unicodedata.category
                start, prev = 0, category("\x00")
                for cp in range(1, _MAX_CP + 1):
                    cat = category(chr(cp))
                    if cat != prev:
                        table.setdefault(prev, []).append((start, cp - 1))
                        start, prev = cp, cat
                table.setdefault(prev, []).append((start, _MAX_CP))
                _categories = table
    return _categories


_MAJOR = {
    "L": ("Lu", "Ll", "Lt", "Lm", "Lo"),
    "LC": ("Lu", "Ll", "Lt"),
    "L&": ("Lu", "Ll", "Lt"),
    "M": ("Mn", "Mc", "Me"),
    "N": ("Nd", "Nl", "No"),
    "P": ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"),
    "S": ("Sm", "Sc", "Sk", "So"),
    "Z": ("Zs", "Zl", "Zp"),
    "C": ("Cc", "Cf", "Cs", "Co", "Cn"),
}
_MINOR = {c for group in _MAJOR.values() for c in group}

# Java's POSIX classes are US-ASCII only unless UNICODE_CHARACTER_CLASS is set.
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_POSIX: dict[str, Ranges] = {
    "Lower": [(0x61, 0x7A)],
    "Upper": [(0x41, 0x5A)],
    "ASCII": [(0x00, 0x7F)],
    "Alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "Digit": [(0x30, 0x39)],
    "Alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)],
    "Punct": _chars(_PUNCT),
    "Graph": [(0x21, 0x7E)],
    "Print": [(0x20, 0x7E)],
    "Blank": [(0x20, 0x20), (0x09, 0x09)],
    "Cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "XDigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "Space": _chars(" \t\n\x0b\f\r"),
}
_WHITE_SPACE = _chars("\t\n\x0b\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") + [(0x2000, 0x200A)]
_HORIZONTAL = _chars(" \t\xa0\u1680\u180e\u202f\u205f\u3000") + [(0x2000, 0x200A)]
_VERTICAL = _chars("\n\x0b\f\r\x85\u2028\u2029")


_PROPERTY_ALIASES = {"IsLetter": "L", "IsDigit": "Nd", "IsPunctuation": "P", "IsControl": "Cc"}


def _property_ranges(name: str) -> Ranges | None:
    """Code-point ranges of a Java ``\\p{name}`` class, or None when not supported."""
    if name in _POSIX:
        return _POSIX[name]
    if name in ("IsWhite_Space", "IsWhiteSpace"):
        return _WHITE_SPACE
    name = _PROPERTY_ALIASES.get(name, name)
    for prefix in ("Is", "gc=", "general_category=", "GeneralCategory="):
        if name.startswith(prefix) and (name[len(prefix):] in _MAJOR or name[len(prefix):] in _MINOR):
            name = name[len(prefix):]
            break
    if name in _MAJOR:
        table = _category_table()
        return _merge([r for cat in _MAJOR[name] for r in table.get(cat, [])])
    if name in _MINOR:
        return list(_category_table().get(name, []))
    return None


def _esc(cp: int) -> str:
    return f"\\U{cp:08X}"


def _class_body(ranges: Ranges) -> str:
    return "".join(_esc(lo) if lo == hi else f"{_esc(lo)}-{_esc(hi)}" for lo, hi in ranges)


class _Untranslatable(Exception):
    pass


_QUANT = re.compile(r"(?:[*+?]|\{(\d+)(?:,(\d*))?\})[?+]?")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def _translate_java_regex(pattern: str) -> str:
    """Rewrite a Java regular expression into Python ``re`` syntax.

    Raises :class:`_Untranslatable` for constructs Python cannot express faithfully.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    dotall = re.search(r"\(\?[a-zA-Z]*s[a-zA-Z-]*[:)]", pattern) is not None

    def anchor(text: str, j: int) -> int:
        # Java accepts a quantifier after an anchor (e.g. "(x*)${1,128}"); Python does
        # not.  Repeating a zero-width assertion at least once is the assertion itself;
        # "at least zero times" is nothing.
        m = _QUANT.match(pattern, j)
        if m is None:
            out.append(text)
            return j
        tok = m.group(0)
        minimum = int(m.group(1)) if m.group(1) is not None else (1 if tok[0] == "+" else 0)
        if minimum > 0:
            out.append(text)
        return m.end()

    def emit_set(ranges: Ranges, negate: bool) -> None:
        if in_class:
            out.append(_class_body(_complement(ranges) if negate else _merge(ranges)))
        else:
            out.append(("[^" if negate else "[") + _class_body(_merge(ranges)) + "]")

    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise _Untranslatable("trailing backslash")
            e = pattern[i + 1]
            if e in "pP":
                if pattern.startswith("{", i + 2):
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise _Untranslatable("unclosed \\p{")
                    name, i = pattern[i + 3:end], end + 1
                elif i + 2 < n:
                    name, i = pattern[i + 2], i + 3
                else:
                    raise _Untranslatable("bare \\p")
                negate = e == "P"
                if name.startswith("^"):
                    name, negate = name[1:], not negate
                ranges = _property_ranges(name)
                if ranges is None:
                    raise _Untranslatable(f"unsupported property \\p{{{name}}}")
                emit_set(ranges, negate)
                continue
            if e in "hHvV":
                ranges = _HORIZONTAL if e in "hH" else _VERTICAL
                emit_set(ranges, e.isupper())
                i += 2
                continue
            if e == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                i = n if end < 0 else end + 2
                out.append("".join(_esc(ord(ch)) for ch in literal) if in_class else re.escape(literal))
                continue
            if e == "u":
                m = _HEX4.match(pattern, i + 2)
                if m is None:
                    raise _Untranslatable("bad \\u escape")
                cp = int(m.group(0), 16)
                i += 6
                if 0xD800 <= cp <= 0xDBFF and pattern.startswith("\\u", i):
                    m2 = _HEX4.match(pattern, i + 2)
                    if m2 is not None and 0xDC00 <= int(m2.group(0), 16) <= 0xDFFF:
                        low = int(m2.group(0), 16)
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                out.append(_esc(cp))
                continue
            if e == "x":
                if pattern.startswith("{", i + 2):
                    end = pattern.find("}", i + 3)
                    if end < 0:
                        raise _Untranslatable("unclosed \\x{")
                    try:
                        cp = int(pattern[i + 3:end], 16)
                    except ValueError:
                        raise _Untranslatable("bad \\x{}") from None
                    out.append(_esc(cp))
                    i = end + 1
                    continue
                out.append(pattern[i:i + 4])
                i += 4
                continue
            if e == "0":
                m = re.match(r"[0-7]{1,3}", pattern[i + 2:i + 5])
                if m is None:
                    raise _Untranslatable("bad octal escape")
                digits = m.group(0)
                if len(digits) == 3 and int(digits, 8) > 0o377:
                    digits = digits[:2]
                out.append(_esc(int(digits, 8)))
                i += 2 + len(digits)
                continue
            if e == "c":
                if i + 2 >= n:
                    raise _Untranslatable("bare \\c")
                out.append(_esc(ord(pattern[i + 2]) ^ 64))
                i += 3
                continue
            if e == "e":
                out.append("\\x1b")
                i += 2
                continue
            if e in "zZAbB":
                if in_class:
                    raise _Untranslatable(f"\\{e} inside a class")
                text = {"z": "\\Z", "Z": "(?=(?:\\r\\n|[\\n\\r\\u0085\\u2028\\u2029])?\\Z)"}.get(e, "\\" + e)
                i = anchor(text, i + 2)
                continue
            if e == "R":
                if in_class:
                    raise _Untranslatable("\\R inside a class")
                out.append("(?:\\r\\n|[\\n\\x0b\\f\\r\\u0085\\u2028\\u2029])")
                i += 2
                continue
            if e == "k":
                m = re.match(r"<([A-Za-z][A-Za-z0-9]*)>", pattern[i + 2:])
                if m is None:
                    raise _Untranslatable("bad \\k")
                out.append(f"(?P={m.group(1)})")
                i += 2 + m.end()
                continue
            if e in "dDwWsStnrfa" or e.isdigit() or not e.isascii() or not e.isalnum():
                out.append("\\" + e)
                i += 2
                continue
            if e == "N" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                if end < 0:
                    raise _Untranslatable("unclosed \\N{")
                out.append(pattern[i:end + 1])
                i = end + 1
                continue
            raise _Untranslatable(f"unsupported escape \\{e}")
        if in_class:
            if c == "[":
                raise _Untranslatable("nested character class")
            if c == "&" and pattern.startswith("&&", i):
                raise _Untranslatable("class intersection")
            if c == "]":
                in_class = False
                out.append("]")
            elif c in "&~|":
                out.append("\\" + c)
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append("[")
            i += 1
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            continue
        if c == ".":
            out.append("." if dotall else _DOT)
            i += 1
            continue
        if c in "^$":
            i = anchor(c, i + 1)
            continue
        if c == "(" and pattern.startswith("(?<", i) and pattern[i + 3:i + 4] not in ("=", "!"):
            out.append("(?P<")
            i += 3
            continue
        out.append(c)
        i += 1
    if in_class:
        raise _Untranslatable("unclosed character class")
    return "".join(out)


# Model patterns whose literal translation backtracks catastrophically (a request of a
# few dozen characters could pin a worker for minutes), mapped to an equivalent Python
# regex that runs in linear time.  Each equivalence is argued here and checked against
# the literal translation on generated inputs by the unit tests, which also probe every
# model pattern for exponential behaviour (so a botocore upgrade cannot slip one in).
_SAFE_EQUIVALENTS: dict[str, str] = {
    # Java's "." is any char but \n \r \u0085 \u2028 \u2029, and [ \r\n\t] brings back
    # \r and \n: the language is "no \u0085, \u2028 or \u2029".
    ".*(?:[ \\r\\n\\t].*)*": "[^\\u0085\\u2028\\u2029]*",
    ".*(?:[ \\r\\n\\t].*)*.*": "[^\\u0085\\u2028\\u2029]*",
    # 3..1016 pieces of "A+/?": runs of A separated by single slashes (optionally one
    # trailing slash), at least 3 A characters (so >= 3 pieces fit) and at most 1016 runs
    # (so <= 1016 pieces suffice).
    "https://([.\\-_a-zA-Z0-9]+/?){3,1016}": (
        "https://(?=(?:/?[.\\-_a-zA-Z0-9]){3})"
        "[.\\-_a-zA-Z0-9]+(?:/[.\\-_a-zA-Z0-9]+){0,1015}/?"
    ),
    # One repetition of "[-a-z0-9]*[a-z0-9]" already covers every string the 39 could.
    "[a-z0-9]([-a-z0-9]*[a-z0-9]){0,39}?": "[a-z0-9](?:[-a-z0-9]*[a-z0-9])?",
}

_pattern_cache: dict[str, re.Pattern[str] | None] = {}
_pattern_lock = threading.Lock()


def compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """Compile a model (Java) pattern for whole-value matching; None if untranslatable.

    Use ``compiled.fullmatch(value)``: AWS validates with Java's ``String.matches``,
    which requires the whole value to match whether or not the pattern is anchored.
    """
    try:
        return _pattern_cache[pattern]
    except KeyError:
        pass
    compiled: re.Pattern[str] | None
    try:
        translated = _SAFE_EQUIVALENTS.get(pattern)
        if translated is None:
            translated = _translate_java_regex(pattern)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = re.compile(translated, re.ASCII)
    except (_Untranslatable, re.error, OverflowError, RecursionError, ValueError) as exc:
        log.debug("pattern %r is not checked: %s", pattern, exc)
        compiled = None
    with _pattern_lock:
        _pattern_cache[pattern] = compiled
    return compiled


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


class _String(_Node):
    __slots__ = ("lo", "hi", "regex", "pattern_msg", "enum", "enum_msg")

    def __init__(self, shape):
        super().__init__(shape)
        md = shape.metadata
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


def _input_node(shape: botocore.model.Shape) -> _Node:
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
            node = _build_input(shape, registry or {}, pending)
            if registry is not None:
                registry.update(pending)
            else:
                _unbound_input[key] = node
    return node


def _build_input(shape: botocore.model.Shape, done: dict[str, _Node], pending: dict[str, _Node]) -> _Node:
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
            (member_name, _lower_camel(member_name), _build_input(member, done, pending), member_name in required)
            for member_name, member in shape.members.items()
        ]
        return node
    if type_name == "list":
        node = _List(shape)
        pending[name] = node
        node.member = _build_input(shape.member, done, pending)
        return node
    if type_name == "map":
        node = _Map(shape)
        pending[name] = node
        node.key = _build_input(shape.key, done, pending)
        node.value = _build_input(shape.value, done, pending)
        return node
    cls = _SIMPLE_NODES.get(type_name, _Document)
    node = cls(shape)
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
    params = _input_node(shape).parse(body, "", errors, None)
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
