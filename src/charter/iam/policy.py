"""IAM-style policy evaluation: pure Python, no I/O.

Charter authorizes every SageMaker call the way AWS IAM does, against JSON
policy documents in AWS's own grammar.  This module validates such documents
and decides requests; it knows nothing about storage or the wire.

What is implemented, with the AWS documentation each part follows:

* Grammar -- ``Version`` (``2012-10-17`` or ``2008-10-17``; a document without
  one is read as ``2008-10-17``), ``Id``, ``Statement`` as an object or a list,
  ``Sid``, ``Effect``, ``Action``/``NotAction``, ``Resource``/``NotResource``,
  ``Principal``/``NotPrincipal``, ``Condition``.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html

* Actions -- ``service:action`` matched case-insensitively, with the ``*`` and
  ``?`` wildcards.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html

* Resources -- ARNs matched case-sensitively.  ``*`` and ``?`` work within one
  colon-separated segment of the ARN, except that a ``*`` that is the last
  character of a segment "can expand to match beyond the colon boundaries".
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html

* Policy variables -- ``${aws:username}``, ``${aws:PrincipalTag/team}``, any
  request-context key, with a default value (``${aws:PrincipalTag/team,
  'company-wide'}``) and the escapes ``${*}``, ``${?}``, ``${$}`` for a literal
  ``*``, ``?``, ``$``.  Only in ``2012-10-17`` documents; in ``2008-10-17``
  documents ``${...}`` is literal text.  Substituted in ``Resource``,
  ``NotResource`` and in the values of the String, Bool and ARN condition
  operators (AWS supports variables for exactly those operator families).  A
  variable whose key is absent from the request (or multivalued) and has no
  default does not resolve, and the value holding it matches nothing.
  A substituted value is always literal: a ``*`` in a user name is not a
  wildcard.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

* Principal / NotPrincipal (resource-based policies) -- ``"*"``,
  ``{"AWS": "*"}``, ``{"AWS": "123456789012"}`` or its ``:root`` ARN (any
  principal of that account), a user or role ARN (an ``sts`` assumed-role
  session matches its role), ``Service``, ``Federated``, ``CanonicalUser``.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html

* Conditions -- the operators String*, Numeric*, Date*, Bool, BinaryEquals,
  IpAddress/NotIpAddress, Arn*, Null; ``...IfExists`` on each (except Null);
  the set qualifiers ``ForAllValues:`` and ``ForAnyValue:``.  Condition key
  names match case-insensitively.  Within a ``Condition`` block operators are
  ANDed, keys under one operator are ANDed, the values of one key are ORed --
  and NORed for a negated operator (StringNotEquals & co.).  A key missing from
  the request makes a condition false, except that the negated operators are
  then true, ``...IfExists`` is true, ``ForAllValues`` is true, and ``Null``
  tests exactly that.  ``ForAnyValue`` on a missing key is false.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html

* Evaluation -- an applicable explicit ``Deny`` in any policy wins; otherwise
  the request is allowed if a statement of an identity-based policy, or of a
  resource-based policy whose ``Principal`` names the caller, allows it;
  otherwise it is implicitly denied.  Charter runs a single trust domain, so the
  cross-account rule (both sides must allow) and permissions boundaries, SCPs
  and session policies are not modelled.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html

The request context is what the caller puts in :attr:`Request.context`.  As in
AWS, ``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:username`` (IAM
users only), ``aws:CurrentTime`` and ``aws:EpochTime`` are always present:
they are derived from the request unless the context gives them.
"""

from __future__ import annotations

import base64
import copy
import enum
import functools
import ipaddress
import json
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Callable

from ..errors import AccessDeniedException, ValidationException

__all__ = [
    "Decision",
    "Request",
    "validate_policy",
    "evaluate",
    "explain",
    "allowed_but_for",
    "access_denied",
    "VERSION_2012_10_17",
    "VERSION_2008_10_17",
]

VERSION_2012_10_17 = "2012-10-17"
VERSION_2008_10_17 = "2008-10-17"
_VERSIONS = (VERSION_2012_10_17, VERSION_2008_10_17)

_MALFORMED = "MalformedPolicyDocument"


class Decision(enum.Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``principal`` do ``action`` on ``resource``?

    ``context`` holds the request's condition keys (``aws:RequestTag/team``,
    ``aws:TagKeys``, ``sagemaker:ResourceTag/team``, ``iam:PassedToService``,
    ...).  Key names are matched case-insensitively.  A multivalued key (such as
    ``aws:TagKeys``) is given as a list; ``None`` or an empty list count as
    absent.
    """

    action: str
    resource: str
    principal: str
    context: Mapping[str, object] = field(default_factory=dict)


# --- validation ------------------------------------------------------------------

_TOP_LEVEL = ("Version", "Id", "Statement")
_STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
)
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ACTION_RE = re.compile(r"^(\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+)$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")


def _malformed(message: str) -> ValidationException:
    return ValidationException(f"{_MALFORMED}: {message}")


def validate_policy(document: dict | str, *, resource_policy: bool | None = None) -> dict:
    """Parse and check a policy document; return it as a dict.

    ``document`` is the JSON text or the already-parsed object.  Raises
    :class:`charter.errors.ValidationException` whose message names the bad
    element, e.g. ``MalformedPolicyDocument: Statement[1].Effect must be Allow
    or Deny`` (statement indexes count from 0).

    ``resource_policy=True`` additionally requires ``Principal`` or
    ``NotPrincipal`` in every statement (a resource-based policy);
    ``resource_policy=False`` forbids them (an identity-based policy);
    ``None`` accepts either.
    """
    doc = _parse_document(document)
    _compile_checked(doc, resource_policy)
    return doc


def _parse_document(document: dict | str) -> dict:
    if isinstance(document, (str, bytes, bytearray)):
        try:
            doc = json.loads(document)
        except json.JSONDecodeError as exc:
            raise _malformed(f"Syntax errors in policy: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    else:
        doc = document
    if not isinstance(doc, Mapping):
        raise _malformed("the policy document must be a JSON object")
    return copy.deepcopy(dict(doc))


# --- compiled form ---------------------------------------------------------------
#
# A policy string is parsed once into a tuple of parts:
#   ("lit", text)            literal text
#   ("wild", "*" | "?")      a wildcard
#   ("var", key, default)    a policy variable (key lower-cased, default or None)
# At evaluation the variables are resolved against the request context, leaving
# only "lit" and "wild" parts.

_Part = tuple
_Template = tuple[_Part, ...]

_VARIABLE_RE = re.compile(r"^\s*([^\s,'{}$]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$")


def _parse_template(text: str, *, variables: bool, wildcards: bool = True) -> _Template:
    """Split a policy string into literal, wildcard and variable parts.

    Raises ``ValueError`` (turned into a ValidationException by the caller) on a
    malformed ``${...}``.
    """
    parts: list[_Part] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            parts.append(("lit", "".join(buf)))
            buf.clear()

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if variables and text.startswith("${", i):
            end = _variable_end(text, i + 2)
            if end < 0:
                raise ValueError(f"unterminated policy variable in '{text}'")
            body = text[i + 2 : end]
            if body in ("*", "?", "$"):
                buf.append(body)  # ${*} ${?} ${$}: the literal character
            else:
                match = _VARIABLE_RE.match(body)
                if not match:
                    raise ValueError(f"malformed policy variable '${{{body}}}' in '{text}'")
                flush()
                default = match.group(2).replace("''", "'") if match.group(2) is not None else None
                parts.append(("var", match.group(1).lower(), default))
            i = end + 1
            continue
        if wildcards and ch in "*?":
            flush()
            parts.append(("wild", ch))
        else:
            buf.append(ch)
        i += 1
    flush()
    return tuple(parts)


def _variable_end(text: str, start: int) -> int:
    """Index of the ``}`` closing a variable whose body starts at ``start`` (quote-aware)."""
    quoted = False
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "'":
            if quoted and text.startswith("''", i):
                i += 2
                continue
            quoted = not quoted
        elif ch == "}" and not quoted:
            return i
        i += 1
    return -1


def _context_str(value: object) -> str | None:
    """A context or policy value as the string IAM compares."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _resolve(template: _Template, ctx: Mapping[str, object]) -> list[tuple[str, str]] | None:
    """Substitute variables; None when one cannot be resolved (it then matches nothing)."""
    out: list[tuple[str, str]] = []
    for part in template:
        if part[0] == "var":
            _, key, default = part
            value = ctx.get(key)
            text = None
            if value is not None and not isinstance(value, (list, tuple, set, frozenset)):
                text = _context_str(value)
            if text is None:
                text = default
            if text is None:
                return None
            part = ("lit", text)
        if part[0] == "lit" and out and out[-1][0] == "lit":
            out[-1] = ("lit", out[-1][1] + part[1])
        elif part[0] != "lit" or part[1]:
            out.append(part)
    return out


def _literal(parts: list[tuple[str, str]]) -> str:
    return "".join(text for _, text in parts)


@functools.lru_cache(maxsize=4096)
def _regex(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags | re.DOTALL)


def _glob_regex(parts: Sequence[tuple[str, str]], *, arn: bool) -> str:
    """Regex for a resolved template.

    Plain globs (StringLike): ``*`` is any run of characters, ``?`` any one.
    ARN globs (Resource, ArnLike): both stay within one colon-separated segment,
    except a ``*`` that ends a segment, which may run across colons (IAM user
    guide, "Using wildcards in resource ARNs").
    """
    out = []
    for idx, (kind, text) in enumerate(parts):
        if kind == "lit":
            out.append(re.escape(text))
        elif text == "?":
            out.append("[^:]" if arn else ".")
        elif not arn:
            out.append(".*")
        else:
            nxt = parts[idx + 1] if idx + 1 < len(parts) else None
            ends_segment = nxt is None or (nxt[0] == "lit" and nxt[1].startswith(":"))
            out.append(".*" if ends_segment else "[^:]*")
    return "".join(out)


def _glob_match(parts: Sequence[tuple[str, str]], value: str, *, arn: bool, ignore_case: bool = False) -> bool:
    if not any(kind == "wild" for kind, _ in parts):
        literal = _literal(list(parts))
        return literal.casefold() == value.casefold() if ignore_case else literal == value
    return _regex(_glob_regex(parts, arn=arn), re.IGNORECASE if ignore_case else 0).fullmatch(value) is not None


# --- condition operators -------------------------------------------------------


def _to_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_EPOCH_RE = re.compile(r"^-?\d+(\.\d+)?$")


def _to_datetime(value: object) -> datetime | None:
    """ISO 8601 text, epoch seconds (number or digits), datetime or date; naive means UTC."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float, Decimal)):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    else:
        text = str(value).strip()
        try:
            if _EPOCH_RE.match(text):
                moment = datetime.fromtimestamp(float(text), tz=timezone.utc)
            else:
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and text else text)
        except (ValueError, OverflowError, OSError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _to_bool(value: object) -> str | None:
    text = _context_str(value)
    return text.lower() if text is not None else None


def _ip_in(value: object, network: str) -> bool:
    try:
        return ipaddress.ip_address(str(value).strip()) in ipaddress.ip_network(network.strip(), strict=False)
    except ValueError:
        return False


# How each operator family compares one context value with one resolved policy value.
Matcher = Callable[[object, list], bool]


def _string_match(kind: str) -> Matcher:
    def match(value: object, parts: list) -> bool:
        text = _context_str(value)
        if text is None:
            return False
        if kind == "equals":
            return text == _literal(parts)
        if kind == "ignorecase":
            return text.casefold() == _literal(parts).casefold()
        return _glob_match(parts, text, arn=False)  # like

    return match


def _numeric_match(compare: Callable[[Decimal, Decimal], bool]) -> Matcher:
    def match(value: object, parts: list) -> bool:
        left, right = _to_decimal(value), _to_decimal(_literal(parts))
        return left is not None and right is not None and compare(left, right)

    return match


def _date_match(compare: Callable[[datetime, datetime], bool]) -> Matcher:
    def match(value: object, parts: list) -> bool:
        left, right = _to_datetime(value), _to_datetime(_literal(parts))
        return left is not None and right is not None and compare(left, right)

    return match


def _bool_match(value: object, parts: list) -> bool:
    return _to_bool(value) == _literal(parts).lower()


def _binary_match(value: object, parts: list) -> bool:
    return _context_str(value) == _literal(parts)


def _ip_match(value: object, parts: list) -> bool:
    return _ip_in(value, _literal(parts))


def _arn_match(value: object, parts: list) -> bool:
    text = _context_str(value)
    # Each of the six colon-separated components is compared on its own.
    return text is not None and text.count(":") >= 5 and _glob_match(parts, text, arn=True)


@dataclass(frozen=True)
class _Operator:
    match: Matcher
    negated: bool = False
    variables: bool = False  # whether AWS substitutes policy variables in its values
    wildcards: bool = False  # whether * and ? are wildcards in its values
    kind: str = "string"  # value check at validation: string | number | date | bool | ip


_EQ, _LT, _LE, _GT, _GE = operator.eq, operator.lt, operator.le, operator.gt, operator.ge

OPERATORS: dict[str, _Operator] = {
    "StringEquals": _Operator(_string_match("equals"), variables=True),
    "StringNotEquals": _Operator(_string_match("equals"), negated=True, variables=True),
    "StringEqualsIgnoreCase": _Operator(_string_match("ignorecase"), variables=True),
    "StringNotEqualsIgnoreCase": _Operator(_string_match("ignorecase"), negated=True, variables=True),
    "StringLike": _Operator(_string_match("like"), variables=True, wildcards=True),
    "StringNotLike": _Operator(_string_match("like"), negated=True, variables=True, wildcards=True),
    "NumericEquals": _Operator(_numeric_match(_EQ), kind="number"),
    "NumericNotEquals": _Operator(_numeric_match(_EQ), negated=True, kind="number"),
    "NumericLessThan": _Operator(_numeric_match(_LT), kind="number"),
    "NumericLessThanEquals": _Operator(_numeric_match(_LE), kind="number"),
    "NumericGreaterThan": _Operator(_numeric_match(_GT), kind="number"),
    "NumericGreaterThanEquals": _Operator(_numeric_match(_GE), kind="number"),
    "DateEquals": _Operator(_date_match(_EQ), kind="date"),
    "DateNotEquals": _Operator(_date_match(_EQ), negated=True, kind="date"),
    "DateLessThan": _Operator(_date_match(_LT), kind="date"),
    "DateLessThanEquals": _Operator(_date_match(_LE), kind="date"),
    "DateGreaterThan": _Operator(_date_match(_GT), kind="date"),
    "DateGreaterThanEquals": _Operator(_date_match(_GE), kind="date"),
    "Bool": _Operator(_bool_match, variables=True, kind="bool"),
    "BinaryEquals": _Operator(_binary_match),
    "IpAddress": _Operator(_ip_match, kind="ip"),
    "NotIpAddress": _Operator(_ip_match, negated=True, kind="ip"),
    "ArnEquals": _Operator(_arn_match, variables=True, wildcards=True),
    "ArnLike": _Operator(_arn_match, variables=True, wildcards=True),
    "ArnNotEquals": _Operator(_arn_match, negated=True, variables=True, wildcards=True),
    "ArnNotLike": _Operator(_arn_match, negated=True, variables=True, wildcards=True),
    "Null": _Operator(_bool_match, kind="bool"),
}
_OPERATORS_BY_LOWER = {name.lower(): name for name in OPERATORS}
_QUALIFIERS = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}


def _parse_operator(text: str) -> tuple[str | None, str, bool]:
    """``ForAnyValue:StringLikeIfExists`` -> (``ForAnyValue``, ``StringLike``, True)."""
    qualifier = None
    name = text
    if ":" in name:
        prefix, name = name.split(":", 1)
        qualifier = _QUALIFIERS.get(prefix.lower())
        if qualifier is None:
            raise ValueError(f"unknown condition set operator '{prefix}' in '{text}' (expected ForAllValues or ForAnyValue)")
    if_exists = False
    if name.lower().endswith("ifexists") and name.lower() not in _OPERATORS_BY_LOWER:
        name, if_exists = name[: -len("IfExists")], True
    base = _OPERATORS_BY_LOWER.get(name.lower())
    if base is None:
        raise ValueError(f"unknown condition operator '{text}'")
    if base == "Null" and (if_exists or qualifier):
        raise ValueError(f"'{text}' is not allowed: Null takes neither IfExists nor a set operator")
    return qualifier, base, if_exists


@dataclass(frozen=True)
class _Condition:
    operator: str  # as written, for messages
    base: str
    qualifier: str | None
    if_exists: bool
    key: str  # lower-cased
    values: tuple[_Template, ...]


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, (list, tuple, set, frozenset)) and len(value) == 0)


def _eval_condition(cond: _Condition, ctx: Mapping[str, object]) -> bool:
    op = OPERATORS[cond.base]
    raw = ctx.get(cond.key)
    absent = _absent(raw)

    if cond.base == "Null":
        # "true": the key is absent (or null); "false": it is present.  Values ORed.
        return any(_literal(list(v)).lower() == ("true" if absent else "false") for v in cond.values)

    if absent:
        if cond.if_exists or cond.qualifier == "ForAllValues":
            return True
        if cond.qualifier == "ForAnyValue":
            return False
        return op.negated

    resolved = [p for p in (_resolve(t, ctx) for t in cond.values) if p is not None]

    def holds(value: object) -> bool:
        hit = any(op.match(value, parts) for parts in resolved)
        return not hit if op.negated else hit

    values = list(raw) if isinstance(raw, (list, tuple, set, frozenset)) else [raw]
    if cond.qualifier == "ForAllValues":
        return all(holds(v) for v in values)
    if cond.qualifier == "ForAnyValue":
        return any(holds(v) for v in values)
    # A single-valued operator given several request values (a set operator was
    # due): positive operators match if any value matches, negated ones only if
    # none does.
    return all(holds(v) for v in values) if op.negated else any(holds(v) for v in values)


# --- principals ----------------------------------------------------------------

_PRINCIPAL_ARN_RE = re.compile(r"^arn:[^:]+:(iam|sts)::(\d{12}):(.*)$")


def _principal_matches(kind: str, pattern: str, principal: str) -> bool:
    if pattern == "*":
        return True
    if kind != "AWS":
        return pattern == principal
    caller = _PRINCIPAL_ARN_RE.match(principal)
    if _ACCOUNT_RE.match(pattern):
        return caller is not None and caller.group(2) == pattern
    named = _PRINCIPAL_ARN_RE.match(pattern)
    if named and named.group(1) == "iam" and named.group(3) == "root":
        return caller is not None and caller.group(2) == named.group(2)
    if pattern == principal:
        return True
    # An assumed-role session acts as its role: arn:aws:sts::A:assumed-role/R/s ~ arn:aws:iam::A:role/[path/]R
    if named and caller and caller.group(1) == "sts" and named.group(1) == "iam" and named.group(2) == caller.group(2):
        session = caller.group(3).split("/")
        role = named.group(3).split("/")
        return len(session) >= 2 and session[0] == "assumed-role" and role[0] == "role" and role[-1] == session[1]
    return False


# --- statements and policies -----------------------------------------------------


@dataclass(frozen=True)
class _Statement:
    label: str
    effect: str
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[_Template, ...] | None  # None: element omitted (trust-policy style)
    not_resource: bool
    principals: tuple[tuple[str, str], ...] | None  # None: no Principal element
    not_principal: bool
    conditions: tuple[_Condition, ...]


def _string_items(value: object, path: str) -> list[tuple[str, str]]:
    """[(path of item, text)] for a string-or-list-of-strings element."""
    if isinstance(value, list):
        if not value:
            raise _malformed(f"{path} must not be empty")
        out = []
        for j, item in enumerate(value):
            if not isinstance(item, str):
                raise _malformed(f"{path}[{j}] must be a string")
            out.append((f"{path}[{j}]", item))
        return out
    if not isinstance(value, str):
        raise _malformed(f"{path} must be a string or a list of strings")
    return [(path, value)]


def _action_regex(action: str) -> re.Pattern[str]:
    pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in action)
    return re.compile(pattern, re.IGNORECASE | re.DOTALL)


def _compile_statement(raw: object, path: str, variables: bool, resource_policy: bool | None) -> _Statement:
    if not isinstance(raw, Mapping):
        raise _malformed(f"{path} must be an object")
    for key in raw:
        if key not in _STATEMENT_ELEMENTS:
            raise _malformed(f"{path} has unknown element '{key}'")

    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _malformed(f"{path}.Sid must be a string")

    effect = raw.get("Effect")
    if effect is None:
        raise _malformed(f"{path}.Effect is required")
    if effect not in ("Allow", "Deny"):
        raise _malformed(f"{path}.Effect must be Allow or Deny")

    # Action / NotAction
    if ("Action" in raw) == ("NotAction" in raw):
        raise _malformed(f"{path} must contain exactly one of Action or NotAction")
    action_key = "Action" if "Action" in raw else "NotAction"
    actions = []
    for item_path, action in _string_items(raw[action_key], f"{path}.{action_key}"):
        if not _ACTION_RE.match(action):
            raise _malformed(f"{item_path} '{action}' must be '*' or of the form service:action")
        actions.append(_action_regex(action))

    # Principal / NotPrincipal
    if "Principal" in raw and "NotPrincipal" in raw:
        raise _malformed(f"{path} must not contain both Principal and NotPrincipal")
    principal_key = "Principal" if "Principal" in raw else "NotPrincipal" if "NotPrincipal" in raw else None
    if resource_policy is True and principal_key is None:
        raise _malformed(f"{path} must contain Principal or NotPrincipal in a resource-based policy")
    if resource_policy is False and principal_key is not None:
        raise _malformed(f"{path}.{principal_key} is not allowed in an identity-based policy")
    principals = None
    if principal_key is not None:
        principals = _compile_principal(raw[principal_key], f"{path}.{principal_key}")

    # Resource / NotResource
    if "Resource" in raw and "NotResource" in raw:
        raise _malformed(f"{path} must not contain both Resource and NotResource")
    resource_key = "Resource" if "Resource" in raw else "NotResource" if "NotResource" in raw else None
    resources = None
    if resource_key is None:
        if principal_key is None:
            raise _malformed(f"{path} must contain Resource or NotResource")
    else:
        compiled = []
        for item_path, resource in _string_items(raw[resource_key], f"{path}.{resource_key}"):
            if resource != "*" and not (resource.startswith("arn:") and (resource.count(":") >= 5 or resource.endswith("*"))):
                raise _malformed(f"{item_path} '{resource}' must be '*' or an ARN")
            try:
                compiled.append(_parse_template(resource, variables=variables))
            except ValueError as exc:
                raise _malformed(f"{item_path}: {exc}") from None
        resources = tuple(compiled)

    conditions = _compile_conditions(raw.get("Condition"), f"{path}.Condition", variables) if "Condition" in raw else ()

    return _Statement(
        label=sid or path,
        effect=effect,
        actions=tuple(actions),
        not_action=action_key == "NotAction",
        resources=resources,
        not_resource=resource_key == "NotResource",
        principals=principals,
        not_principal=principal_key == "NotPrincipal",
        conditions=conditions,
    )


def _compile_principal(value: object, path: str) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, Mapping) or not value:
        raise _malformed(f"{path} must be \"*\" or an object such as {{\"AWS\": \"arn:aws:iam::123456789012:user/name\"}}")
    out = []
    for kind, items in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise _malformed(f"{path} has unknown principal type '{kind}' (expected one of {', '.join(_PRINCIPAL_TYPES)})")
        for item_path, item in _string_items(items, f"{path}.{kind}"):
            if kind == "AWS" and item != "*" and not _ACCOUNT_RE.match(item) and not _PRINCIPAL_ARN_RE.match(item):
                raise _malformed(f"{item_path} '{item}' must be \"*\", an account id or an IAM/STS principal ARN")
            out.append((kind, item))
    return tuple(out)


def _compile_conditions(block: object, path: str, variables: bool) -> tuple[_Condition, ...]:
    if not isinstance(block, Mapping) or not block:
        raise _malformed(f"{path} must be a non-empty object of condition operators")
    out = []
    for operator_text, pairs in block.items():
        op_path = f"{path}.{operator_text}"
        try:
            qualifier, base, if_exists = _parse_operator(str(operator_text))
        except ValueError as exc:
            raise _malformed(f"{path}: {exc}") from None
        op = OPERATORS[base]
        if not isinstance(pairs, Mapping) or not pairs:
            raise _malformed(f"{op_path} must be a non-empty object of condition keys")
        for key, raw_values in pairs.items():
            key_path = f"{op_path}.{key}"
            items = raw_values if isinstance(raw_values, list) else [raw_values]
            if not items:
                raise _malformed(f"{key_path} must have at least one value")
            templates = []
            for j, item in enumerate(items):
                item_path = f"{key_path}[{j}]" if isinstance(raw_values, list) else key_path
                if isinstance(item, (dict, list)) or item is None:
                    raise _malformed(f"{item_path} must be a string, number or boolean")
                text = _context_str(item)
                substitute = variables and op.variables
                try:
                    template = _parse_template(text, variables=substitute, wildcards=op.wildcards)
                except ValueError as exc:
                    raise _malformed(f"{item_path}: {exc}") from None
                if not any(part[0] == "var" for part in template):
                    _check_value(op.kind, base, text, item_path)
                templates.append(template)
            out.append(_Condition(str(operator_text), base, qualifier, if_exists, str(key).lower(), tuple(templates)))
    return tuple(out)


def _check_value(kind: str, base: str, text: str, path: str) -> None:
    if kind == "number" and _to_decimal(text) is None:
        raise _malformed(f"{path} '{text}' is not a number ({base})")
    if kind == "date" and _to_datetime(text) is None:
        raise _malformed(f"{path} '{text}' is not an ISO 8601 date or epoch time ({base})")
    if kind == "bool" and text.lower() not in ("true", "false"):
        raise _malformed(f"{path} '{text}' must be true or false ({base})")
    if kind == "ip":
        try:
            ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise _malformed(f"{path} '{text}' is not an IP address or CIDR block ({base})") from None


def _compile_checked(doc: Mapping, resource_policy: bool | None) -> tuple[_Statement, ...]:
    for key in doc:
        if key not in _TOP_LEVEL:
            raise _malformed(f"unknown element '{key}' (a policy has Version, Id and Statement)")
    version = doc.get("Version", VERSION_2008_10_17)
    if version not in _VERSIONS:
        raise _malformed(f"Version must be {VERSION_2012_10_17} or {VERSION_2008_10_17}")
    if "Id" in doc and not isinstance(doc["Id"], str):
        raise _malformed("Id must be a string")
    if "Statement" not in doc:
        raise _malformed("Statement is required")
    raw_statements = doc["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise _malformed("Statement must be an object or a non-empty list of objects")
    variables = version == VERSION_2012_10_17
    statements = []
    seen_sids: set[str] = set()
    for i, raw in enumerate(raw_statements):
        statement = _compile_statement(raw, f"Statement[{i}]", variables, resource_policy)
        sid = raw.get("Sid")
        if sid:
            if sid in seen_sids:
                raise _malformed(f"Statement[{i}].Sid '{sid}' is not unique in the policy")
            seen_sids.add(sid)
        statements.append(statement)
    return tuple(statements)


@functools.lru_cache(maxsize=1024)
def _compile_cached(text: str, resource_policy: bool | None) -> tuple[_Statement, ...]:
    return _compile_checked(json.loads(text), resource_policy)


def _compile(document: dict | str, resource_policy: bool) -> tuple[_Statement, ...]:
    if isinstance(document, (str, bytes, bytearray)):
        document = _parse_document(document)
    if not isinstance(document, Mapping):
        raise _malformed("the policy document must be a JSON object")
    try:
        key = json.dumps(document, sort_keys=True)
    except (TypeError, ValueError):
        raise _malformed("the policy document must be JSON") from None
    return _compile_cached(key, resource_policy)


# --- evaluation --------------------------------------------------------------------


def _request_context(request: Request) -> dict[str, object]:
    """The request context with lower-cased keys plus the keys AWS always sets."""
    ctx = {str(k).lower(): v for k, v in request.context.items()}
    ctx.setdefault("aws:principalarn", request.principal)
    match = _PRINCIPAL_ARN_RE.match(request.principal)
    if match:
        ctx.setdefault("aws:principalaccount", match.group(2))
        if match.group(1) == "iam" and match.group(3).startswith("user/"):
            ctx.setdefault("aws:username", match.group(3).rsplit("/", 1)[-1])
    now = datetime.now(timezone.utc)
    ctx.setdefault("aws:currenttime", now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    ctx.setdefault("aws:epochtime", int(now.timestamp()))
    return ctx


def _statement_applies(statement: _Statement, request: Request, ctx: Mapping[str, object], resource_policy: bool) -> bool:
    matched = any(rx.fullmatch(request.action) for rx in statement.actions)
    if matched == statement.not_action:
        return False

    if statement.resources is not None:
        matched = False
        for template in statement.resources:
            parts = _resolve(template, ctx)
            if parts is not None and _glob_match(parts, request.resource, arn=True):
                matched = True
                break
        if matched == statement.not_resource:
            return False

    if resource_policy:
        if statement.principals is None:
            return False
        matched = any(_principal_matches(kind, value, request.principal) for kind, value in statement.principals)
        if matched == statement.not_principal:
            return False

    return all(_eval_condition(cond, ctx) for cond in statement.conditions)


def explain(
    identity_policies: Sequence[dict | str],
    request: Request,
    resource_policies: Sequence[dict | str] = (),
) -> tuple[Decision, list[str]]:
    """Decide ``request`` and say which statements decided it.

    Returns the decision and the labels of the deciding statements: for an
    explicit deny every applicable ``Deny`` statement, for an allow every
    applicable ``Allow`` statement, for an implicit deny nothing.  A label is
    ``identity[<policy index>].<Sid>`` (or ``resource[...]``), with
    ``Statement[<index>]`` standing in for a missing Sid.

    Raises :class:`ValidationException` if a policy is malformed.
    """
    ctx = _request_context(request)
    denies: list[str] = []
    allows: list[str] = []
    for kind, policies, resource_policy in (
        ("identity", identity_policies, False),
        ("resource", resource_policies, True),
    ):
        for p, document in enumerate(policies):
            for statement in _compile(document, resource_policy):
                if _statement_applies(statement, request, ctx, resource_policy):
                    label = f"{kind}[{p}].{statement.label}"
                    (denies if statement.effect == "Deny" else allows).append(label)
    if denies:
        return Decision.EXPLICIT_DENY, denies
    if allows:
        return Decision.ALLOW, allows
    return Decision.IMPLICIT_DENY, []


def allowed_but_for(
    identity_policies: Sequence[dict | str],
    request: Request,
    keys: Sequence[str],
    resource_policies: Sequence[dict | str] = (),
) -> bool:
    """Whether some Allow statement would grant ``request`` if its conditions on ``keys`` were left out.

    For an implicit deny, that says the request's values of those condition
    keys are what refused it (e.g. ``sagemaker:ModelApprovalStatus`` when a
    policy allows registering versions only while they are pending), which
    a denial message can name.  Explicit denies are not considered.
    """
    wanted = {key.lower() for key in keys}
    ctx = _request_context(request)
    for policies, resource_policy in ((identity_policies, False), (resource_policies, True)):
        for document in policies:
            for statement in _compile(document, resource_policy):
                if statement.effect != "Allow" or not any(c.key in wanted for c in statement.conditions):
                    continue
                loosened = replace(statement, conditions=tuple(c for c in statement.conditions if c.key not in wanted))
                if _statement_applies(loosened, request, ctx, resource_policy):
                    return True
    return False


def evaluate(
    identity_policies: Sequence[dict | str],
    request: Request,
    resource_policies: Sequence[dict | str] = (),
) -> Decision:
    """Decide ``request`` against identity-based and resource-based policies.

    Follows AWS's evaluation logic within one account: an explicit deny in any
    policy wins; otherwise an allow from an identity-based policy, or from a
    resource-based policy whose Principal matches ``request.principal``, allows;
    otherwise the request is implicitly denied.
    """
    return explain(identity_policies, request, resource_policies)[0]


def access_denied(
    principal: str,
    action: str,
    resource: str,
    decision: Decision,
    *,
    policy_type: str = "identity-based",
) -> AccessDeniedException:
    """The AccessDeniedException AWS answers for a denied request.

    ``User: <principal> is not authorized to perform: <action> on resource:
    <resource> because no identity-based policy allows the <action> action``
    for an implicit deny, ``... with an explicit deny in an identity-based
    policy`` for an explicit one.  ``policy_type`` may be ``resource-based``
    when a resource policy's deny decided.
    """
    head = f"User: {principal} is not authorized to perform: {action} on resource: {resource}"
    if decision is Decision.EXPLICIT_DENY:
        article = "an" if policy_type[:1].lower() in "aeiou" else "a"
        return AccessDeniedException(f"{head} with an explicit deny in {article} {policy_type} policy")
    if decision is Decision.IMPLICIT_DENY:
        return AccessDeniedException(f"{head} because no {policy_type} policy allows the {action} action")
    raise ValueError("access_denied() needs a deny decision, not ALLOW")
