"""SageMaker ``Search``, evaluated by the database over the stored describe documents.

AWS behaviour implemented (API_Search, API_SearchExpression, API_Filter,
API_NestedFilters, API_SearchRecord, API_VisibilityConditions):

* ``Resource`` picks the record type.  Charter stores ``ModelPackage``,
  ``ModelPackageGroup`` and ``ModelCard`` (each a row of ``resources`` holding
  the Describe* document) and searches them.  Every other value of the enum
  (``TrainingJob``, ``Endpoint``, ``Pipeline``, ...) names a kind of resource
  this server holds none of yet, so its search is valid and finds nothing:
  ``Results`` is empty, ``TotalHits`` 0, no ``NextToken``, as AWS answers in an
  account without such resources.  Its expression, sorting and visibility
  conditions are still checked against the record's shape (``TrainingJob``'s
  property names for ``Resource=TrainingJob``), so a mistake is reported now
  rather than when the resource type arrives.  The SearchRecord member of
  ``ExperimentTrial`` is ``Trial`` and of ``ExperimentTrialComponent``
  ``TrialComponent``; ``Image`` and ``ImageVersion`` have none, and are checked
  against the model's ``Image`` and ``ImageVersion`` shapes.
* A ``SearchExpression`` combines ``Filters``, ``NestedFilters`` and recursive
  ``SubExpressions`` with ``Operator`` ``And`` (the default) or ``Or``.  It must
  hold at least one of them, and the whole tree at most 50 (the model caps each
  list at 20).  Only one ``Contains`` may appear in a search ("'CONTAINS'
  operator usage limit of 1 exceeded.").
* A filter ``Name`` is a property of the SearchRecord member shape, dotted into
  nested structures (``ModelLifeCycle.Stage``) and maps
  (``CustomerMetadataProperties.team``), or ``Tags.<key>``.  A path that crosses
  a list matches when any element matches
  (``InferenceSpecification.Containers.Image``).  Unknown names are refused
  ("Unknown property name"), as AWS does.
* Operators: ``Equals``/``NotEquals``/``In`` compare exactly (case-sensitive);
  ``Contains`` is a substring match, case-insensitive (Charter's choice, the
  same as the List* ``NameContains`` filters; AWS does not document the case
  rule); ``GreaterThan``/``GreaterThanOrEqualTo``/``LessThan``/
  ``LessThanOrEqualTo`` compare numbers and timestamps and are "not supported
  for text properties"; ``In`` (comma-separated values) and ``Contains`` are
  "only supported for text properties"; ``Exists``/``NotExists`` test presence.
  ``NotEquals`` and ``NotExists`` also match resources that lack the property.
  A filter with a ``Value`` and no ``Operator`` means ``Equals``; with neither,
  ``Exists``.  Timestamp values are ISO 8601 (``YYYY-mm-ddTHH:MM:SS``, UTC when
  no zone is given) or epoch seconds; numeric values are integers or decimals.
* ``NestedFilters``: every filter of the group must hold on the same element
  of the list named by ``NestedPropertyName``; filter names repeat that prefix
  (``InputDataConfig.ChannelName``).
* ``SortBy`` (default ``LastModifiedTime``, or ``CreationTime`` for records
  without one, such as ``ModelPackageGroup``) is any scalar property or
  ``Tags.<key>``; ``SortOrder`` ``Descending`` by default.  Resources missing
  the sort property come last.
* ``VisibilityConditions`` (``Key`` = ``Tags.<key>``): a resource carrying the
  tag is kept only when its value matches; resources without it are kept.
* ``CrossAccountFilterOption``: ``SameAccount`` (or absent) searches the
  caller's account in the request's region; Charter has no resources made
  discoverable from other accounts, so ``CrossAccount`` is refused.
* ``TotalHits`` is the exact count (``Relation`` ``EqualTo``); ``NextToken`` is
  the signed keyset position, valid only for the same query.

Model cards: ``Content`` is the card's JSON, stored as a string.  Besides the
shape's own members (``Content`` itself is searchable as text), ``ModelId``,
``RiskRating`` and ``ModelPackageGroupName`` are read from it
(``model_overview.model_id``, ``intended_uses.risk_rating``,
``model_package_details.model_package_group_name``), and ``Content.<path>``
reaches any object member of the card (Charter's extension; lists inside the
content are not traversed).

Everything is evaluated in SQL.  The dialect-neutral ``_Compiler`` walks the
expression and the botocore shape together; the JSON primitives it needs
(navigate, iterate a list, test a type, read text or a number) come from one
of two small backends: SQLite's JSON1 (``json_extract``/``json_type``/
``json_each``) and PostgreSQL's ``jsonb`` (``->``/``jsonb_typeof``/
``jsonb_array_elements``).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import botocore.model
from sqlalchemy import (
    Double,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from ..errors import ValidationException
from ..model import service_model
from ..store import resources as store
from ..store.schema import resources, tags
from . import Call, operation

MAX_CONDITIONS = 50  # API_Search: SubExpressions + NestedFilters + Filters in one SearchExpression
DEFAULT_MAX_RESULTS = 10
DEFAULT_SORT = "LastModifiedTime"


# --- what can be searched -----------------------------------------------------------


@dataclass(frozen=True)
class SearchTarget:
    """One searchable ``Resource`` value: where its rows live and how a record is built."""

    resource_type: str | None  # resources.resource_type; None for a kind Charter stores none of yet
    record_key: str  # member of SearchRecord
    shape_name: str  # botocore shape of that member (the property names)
    content_fields: dict[str, tuple[str, ...]] | None = None  # record members read from Content
    # A property whose value every matching row also holds in the ``name``
    # column: an Equals filter on it adds ``name = value``, which the
    # (account, region, type, name) index answers without reading documents.
    name_property: str | None = None


_CARD_CONTENT_FIELDS = {
    "ModelId": ("model_overview", "model_id"),
    "RiskRating": ("intended_uses", "risk_rating"),
    "ModelPackageGroupName": ("model_package_details", "model_package_group_name"),
}

TARGETS: dict[str, SearchTarget] = {
    # A versioned package's row is named after its group (services/model_packages.py).
    "ModelPackage": SearchTarget("model-package", "ModelPackage", "ModelPackage", name_property="ModelPackageGroupName"),
    "ModelPackageGroup": SearchTarget(
        "model-package-group", "ModelPackageGroup", "ModelPackageGroup", name_property="ModelPackageGroupName"
    ),
    "ModelCard": SearchTarget("model-card", "ModelCard", "ModelCard", _CARD_CONTENT_FIELDS, name_property="ModelCardName"),
}

# Resource values whose SearchRecord member has another name, and the two that have none.
_RECORD_KEYS = {"ExperimentTrial": "Trial", "ExperimentTrialComponent": "TrialComponent"}


@functools.cache
def _unstored_target(resource: str) -> SearchTarget | None:
    """The target of a ``Resource`` value Charter stores nothing of: its record shape, no rows."""
    model = service_model()
    if resource not in model.operation_model("Search").input_shape.members["Resource"].enum:
        return None
    key = _RECORD_KEYS.get(resource, resource)
    member = model.shape_for("SearchRecord").members.get(key)
    if member is not None:
        return SearchTarget(None, key, member.name)
    if resource in model.shape_names:  # Image, ImageVersion: the resource's own shape
        return SearchTarget(None, resource, resource)
    return None


def target_of(resource: str) -> SearchTarget | None:
    """What ``Search(Resource=resource)`` searches, or None when the value is not one of the model's."""
    return TARGETS.get(resource) or _unstored_target(resource)


# --- property kinds and filter values -------------------------------------------------

TEXT, NUMBER, TIME, BOOL, OBJECT, LIST, JSON = "text", "number", "timestamp", "boolean", "object", "list", "json"

_KINDS = {
    "string": TEXT,
    "integer": NUMBER,
    "long": NUMBER,
    "float": NUMBER,
    "double": NUMBER,
    "timestamp": TIME,
    "boolean": BOOL,
    "structure": OBJECT,
    "map": OBJECT,
    "list": LIST,
}

_RANGE_OPERATORS = {
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanOrEqualTo": lambda a, b: a >= b,
    "LessThan": lambda a, b: a < b,
    "LessThanOrEqualTo": lambda a, b: a <= b,
}
_VALUE_OPERATORS = {"Equals", "NotEquals", "Contains", "In", *_RANGE_OPERATORS}


def _kind(shape: botocore.model.Shape | None) -> str:
    return JSON if shape is None else _KINDS.get(shape.type_name, TEXT)


def _number(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValidationException(f"The value '{value}' of filter {name} is not a number; {name} is numeric.") from None
    if not math.isfinite(number):
        raise ValidationException(f"The value '{value}' of filter {name} is not a finite number.")
    return number


def _timestamp(name: str, value: str) -> float:
    """Epoch seconds from an ISO 8601 date-time (UTC when no zone is given) or from epoch seconds."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationException(
            f"The value '{value}' of filter {name} is not a timestamp: "
            "use an ISO 8601 date-time such as 2024-05-01T12:00:00 (UTC unless a zone is given) or epoch seconds."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def _boolean(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ValidationException(f"The value '{value}' of filter {name} is not a boolean: use true or false.")
    return lowered == "true"


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- the JSON primitives, per dialect ---------------------------------------------------


class _SQLiteJson:
    """SQLite JSON1.  A scope is (document, path): the path is a literal ``$.a.b`` or,
    inside a list, the element's ``fullkey`` from ``json_each`` plus a suffix, so
    every read goes back to the document and never re-parses an element."""

    @dataclass(frozen=True)
    class Scope:
        doc: ColumnElement
        base: ColumnElement | None  # a json_each fullkey, or None for the document root
        suffix: str

        def path(self) -> ColumnElement:
            if self.base is None:
                return literal(self.suffix or "$")
            return self.base.concat(self.suffix) if self.suffix else self.base

    _PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

    def root(self) -> Scope:
        return self.Scope(resources.c.document, None, "$")

    def content_root(self) -> Scope:
        content = func.json_extract(resources.c.document, "$.Content")
        return self.Scope(case((func.json_valid(content) == 1, content), else_="{}"), None, "$")

    def at(self, scope: Scope, key: str) -> Scope:
        if '"' in key or "\\" in key:
            raise ValidationException(f"Property names cannot contain quotes or backslashes: {key!r}.")
        step = f".{key}" if self._PLAIN_KEY.match(key) else f'."{key}"'
        return self.Scope(scope.doc, scope.base, scope.suffix + step)

    def elements(self, scope: Scope, alias: str):
        each = func.json_each(scope.doc, scope.path()).table_valued("fullkey").alias(alias)
        element = self.Scope(scope.doc, each.c.fullkey, "")
        return each, element, self._type(scope) == "array"

    def _type(self, scope: Scope) -> ColumnElement:
        return func.coalesce(func.json_type(scope.doc, scope.path()), "missing")

    def is_a(self, scope: Scope, kind: str) -> ColumnElement:
        found = self._type(scope)
        return {
            "string": found == "text",
            "number": found.in_(("integer", "real")),
            "boolean": found.in_(("true", "false")),
            "array": found == "array",
            "present": found.not_in(("missing", "null")),
        }[kind]

    def text(self, scope: Scope) -> ColumnElement:
        return func.json_extract(scope.doc, scope.path())

    def number(self, scope: Scope) -> ColumnElement:
        return case((self.is_a(scope, "number"), func.json_extract(scope.doc, scope.path())))

    def is_true(self, scope: Scope, value: bool) -> ColumnElement:
        return self._type(scope) == ("true" if value else "false")

    def sort_number(self, scope: Scope) -> ColumnElement:
        # json_extract answers 1/0 for true/false, so booleans sort as numbers too.
        return case(
            (self._type(scope).in_(("integer", "real", "true", "false")), func.json_extract(scope.doc, scope.path()))
        )


class _PostgresJson:
    """PostgreSQL jsonb.  A scope is a jsonb expression: the document cast once per
    reference, ``->`` for each key, a ``jsonb_array_elements`` value inside a list."""

    _AS_TEXT = literal_column("'{}'")  # `x #>> '{}'`: the scalar itself, as text

    def root(self) -> ColumnElement:
        return cast(resources.c.document, JSONB)

    def content_root(self) -> ColumnElement:
        content = self.root().op("->>")("Content")
        # PostgreSQL 15 has no cheap JSON validity test; CreateModelCard stores only
        # valid JSON content, and anything not an object is read as empty.
        return case((func.left(func.ltrim(content), 1) == "{", cast(content, JSONB)), else_=cast(literal("{}"), JSONB))

    def at(self, scope: ColumnElement, key: str) -> ColumnElement:
        return scope.op("->", return_type=JSONB)(literal(key, Text))

    def elements(self, scope: ColumnElement, alias: str):
        array = case((func.jsonb_typeof(scope) == "array", scope), else_=cast(literal("[]"), JSONB))
        each = func.jsonb_array_elements(array).table_valued("value").render_derived(name=alias)
        return each, each.c.value, true()

    def _type(self, scope: ColumnElement) -> ColumnElement:
        return func.coalesce(func.jsonb_typeof(scope), "missing")

    def is_a(self, scope: ColumnElement, kind: str) -> ColumnElement:
        found = self._type(scope)
        if kind == "present":
            return found.not_in(("missing", "null"))
        return found == kind

    def text(self, scope: ColumnElement) -> ColumnElement:
        return scope.op("#>>", return_type=Text)(self._AS_TEXT)

    def number(self, scope: ColumnElement) -> ColumnElement:
        return case((self.is_a(scope, "number"), cast(self.text(scope), Double)))

    def is_true(self, scope: ColumnElement, value: bool) -> ColumnElement:
        return and_(self.is_a(scope, "boolean"), self.text(scope) == ("true" if value else "false"))

    def sort_number(self, scope: ColumnElement) -> ColumnElement:
        return case(
            (self.is_a(scope, "number"), cast(self.text(scope), Double)),
            (self.is_a(scope, "boolean"), case((self.text(scope) == "true", 1.0), else_=0.0)),
        )


def _backend(dialect_name: str):
    if dialect_name == "sqlite":
        return _SQLiteJson()
    if dialect_name == "postgresql":
        return _PostgresJson()
    raise NotImplementedError(f"Search has no JSON backend for the {dialect_name} dialect")


# --- the compiler: SearchExpression -> SQL --------------------------------------------------


@dataclass(frozen=True)
class _SortKey:
    """One ORDER BY term and its direction (True = ascending)."""

    expr: ColumnElement
    ascending: bool


class _Compiler:
    """Turns a SearchExpression (and SortBy) into SQLAlchemy Core expressions over
    ``resources``, validating names, operators and values as it goes."""

    def __init__(self, target: SearchTarget, dialect_name: str):
        self.target = target
        self.json = _backend(dialect_name)
        self.shape = service_model().shape_for(target.shape_name)
        self._aliases = itertools.count(1)
        self._dialect = dialect_name
        self.narrowed_by_name = False  # a filter added ``name = value`` (see SearchTarget.name_property)

    # expressions

    def expression(self, expression: dict) -> ColumnElement:
        self._check_size(expression)
        return self._expression(expression)

    def _check_size(self, expression: dict) -> None:
        total = contains = 0

        def visit(node: dict) -> None:
            nonlocal total, contains
            filters = list(node.get("Filters") or ())
            nested = list(node.get("NestedFilters") or ())
            subs = list(node.get("SubExpressions") or ())
            if not (filters or nested or subs):
                raise ValidationException(
                    "A SearchExpression must contain at least one Filter, NestedFilter or SubExpression."
                )
            total += len(filters) + len(nested) + len(subs)
            for group in nested:
                filters.extend(group.get("Filters") or ())
                total += len(group.get("Filters") or ())
            contains += sum(1 for f in filters if f.get("Operator") == "Contains")
            for sub in subs:
                visit(sub)

        visit(expression)
        if total > MAX_CONDITIONS:
            raise ValidationException(
                f"The SearchExpression holds {total} SubExpressions, NestedFilters and Filters; "
                f"at most {MAX_CONDITIONS} are allowed in one search."
            )
        if contains > 1:
            raise ValidationException("'CONTAINS' operator usage limit of 1 exceeded.")

    def _expression(self, expression: dict) -> ColumnElement:
        terms = [self.filter(f) for f in expression.get("Filters") or ()]
        terms += [self.nested(n) for n in expression.get("NestedFilters") or ()]
        terms += [self._expression(s) for s in expression.get("SubExpressions") or ()]
        return or_(*terms) if expression.get("Operator") == "Or" else and_(*terms)

    # filters

    def filter(self, spec: dict, scope=None, shape=None, name: str | None = None) -> ColumnElement:
        """One Filter; inside a nested filter ``scope``/``shape`` are the list element's
        and ``name`` the filter's path relative to it."""
        full_name = spec["Name"]
        operator = spec.get("Operator") or ("Equals" if spec.get("Value") is not None else "Exists")
        value = spec.get("Value")
        if operator in _VALUE_OPERATORS and value is None:
            raise ValidationException(f"The filter on {full_name} uses {operator}, which needs a Value.")
        negate = operator in ("NotEquals", "NotExists")
        positive = {"NotEquals": "Equals", "NotExists": "Exists"}.get(operator, operator)

        top_level = scope is None
        if top_level and (full_name == "Tags" or full_name.startswith("Tags.")):
            condition = self._tag_filter(full_name, positive, value)
        else:
            if top_level:
                scope, shape, name = self.json.root(), self.shape, full_name
            keys = self._split(name, full_name)
            condition = self._walk(
                scope, shape, keys, full_name, lambda s, sh: self._leaf(s, sh, full_name, positive, value)
            )
            if top_level and positive == "Equals" and not negate and name == self.target.name_property:
                condition = and_(resources.c.name == value, condition)
                self.narrowed_by_name = True
        return not_(condition) if negate else condition

    def nested(self, spec: dict) -> ColumnElement:
        prefix = spec["NestedPropertyName"]
        keys = self._split(prefix, prefix)

        def each_element(scope, shape) -> ColumnElement:
            if shape is None or shape.type_name != "list":
                raise ValidationException(
                    f"NestedPropertyName {prefix} is not a list property of {self.target.record_key}; "
                    "nested filters apply to the elements of a list."
                )
            table, element, guard = self.json.elements(scope, self._alias())
            conditions = []
            for spec_ in spec["Filters"]:
                name = spec_["Name"]
                if not name.startswith(prefix + "."):
                    raise ValidationException(
                        f"The nested filter on {name} must name a property of {prefix} "
                        f"(a name starting with '{prefix}.')."
                    )
                conditions.append(self.filter(spec_, element, shape.member, name[len(prefix) + 1 :]))
            return select(literal(1)).select_from(table).where(guard, *conditions).exists()

        if prefix == "Tags" or prefix.startswith("Tags."):
            raise ValidationException("Tags cannot be used in nested filters; filter on Tags.<key> instead.")
        return self._walk(self.json.root(), self.shape, keys, prefix, each_element)

    def _split(self, name: str, full_name: str) -> list[str]:
        keys = name.split(".")
        if any(not key for key in keys):
            raise ValidationException(f"Unknown property name: {full_name}")
        return keys

    def _alias(self) -> str:
        return f"e{next(self._aliases)}"

    def _walk(self, scope, shape, keys: list[str], full_name: str, leaf: Callable, through_lists: bool = True):
        """Follow ``keys`` from ``scope`` guided by ``shape``; a list crossed on the way
        becomes EXISTS over its elements, the end of the path is handed to ``leaf``."""
        if not keys:
            return leaf(scope, shape)
        if shape is None:  # inside a model card's content: plain JSON, objects only
            return self._walk(self.json.at(scope, keys[0]), None, keys[1:], full_name, leaf, through_lists)
        if shape.type_name == "list":
            if not through_lists:
                raise ValidationException(
                    f"Cannot sort by {full_name}: it lies inside a list, so a resource has many values of it."
                )
            table, element, guard = self.json.elements(scope, self._alias())
            inner = self._walk(element, shape.member, keys, full_name, leaf, through_lists)
            return select(literal(1)).select_from(table).where(guard, inner).exists()
        key, rest = keys[0], keys[1:]
        if shape.type_name == "structure":
            if shape is self.shape:
                special = self._top_level(key, rest, full_name, leaf, through_lists)
                if special is not None:
                    return special
            member = shape.members.get(key)
            if member is None:
                raise self._unknown(full_name, shape)
            return self._walk(self.json.at(scope, key), member, rest, full_name, leaf, through_lists)
        if shape.type_name == "map":
            return self._walk(self.json.at(scope, key), shape.value, rest, full_name, leaf, through_lists)
        raise self._unknown(full_name, None)

    def _top_level(self, key: str, rest: list[str], full_name: str, leaf: Callable, through_lists: bool):
        """Model card members that live inside Content (ModelId, ..., Content.<path>)."""
        fields = self.target.content_fields
        if not fields:
            return None
        if key in fields and not rest:
            scope = self.json.content_root()
            for part in fields[key]:
                scope = self.json.at(scope, part)
            return leaf(scope, self.shape.members[key])
        if key == "Content" and rest:
            return self._walk(self.json.content_root(), None, rest, full_name, leaf, through_lists)
        return None

    def _unknown(self, full_name: str, shape) -> ValidationException:
        hint = ""
        if shape is not None and shape.type_name == "structure":
            last = full_name.rsplit(".", 1)[-1].lower()
            close = [m for m in shape.members if m.lower() == last]
            hint = f" Did you mean {close[0]}?" if close else ""
        return ValidationException(
            f"Unknown property name: {full_name}. Use a property of the {self.target.record_key} "
            f"search record (see SearchRecord in the SageMaker API reference) or Tags.<key>.{hint}"
        )

    def _leaf(self, scope, shape, name: str, operator: str, value: str | None) -> ColumnElement:
        kind = _kind(shape)
        j = self.json
        if kind == LIST:
            if operator == "Exists":
                table, element, guard = j.elements(scope, self._alias())
                return select(literal(1)).select_from(table).where(guard).exists()
            if _kind(shape.member) in (OBJECT, LIST):
                raise ValidationException(
                    f"{name} is a list of objects; filter on one of its properties ({name}.<property>) "
                    "or use NestedFilters."
                )
            table, element, guard = j.elements(scope, self._alias())
            inner = self._leaf(element, shape.member, name, operator, value)
            return select(literal(1)).select_from(table).where(guard, inner).exists()

        if operator == "Exists":
            return j.is_a(scope, "present")
        if kind == OBJECT:
            raise ValidationException(
                f"{name} is an object; only Exists and NotExists apply to it. Filter on one of its properties instead."
            )
        if operator in _RANGE_OPERATORS:
            if kind == TEXT:
                raise ValidationException(
                    f"The {operator} operator is not supported for text properties such as {name}."
                )
            if kind == BOOL:
                raise ValidationException(
                    f"The {operator} operator is not supported for boolean properties such as {name}."
                )
            bound = _timestamp(name, value) if kind == TIME else _number(name, value)
            return and_(j.is_a(scope, "number"), _RANGE_OPERATORS[operator](j.number(scope), bound))
        if operator in ("Contains", "In"):
            if kind not in (TEXT, JSON):
                raise ValidationException(
                    f"The {operator} operator is only supported for text properties; {name} is not text."
                )
            if operator == "Contains":
                return and_(j.is_a(scope, "string"), func.lower(j.text(scope)).like(_like_pattern(value), escape="\\"))
            choices = [part.strip() for part in value.split(",") if part.strip()]
            if not choices:
                raise ValidationException(f"The In filter on {name} needs at least one comma-separated value.")
            return and_(j.is_a(scope, "string"), j.text(scope).in_(choices))
        # Equals
        if kind == TEXT:
            return and_(j.is_a(scope, "string"), j.text(scope) == value)
        if kind == NUMBER:
            return and_(j.is_a(scope, "number"), j.number(scope) == _number(name, value))
        if kind == TIME:
            return and_(j.is_a(scope, "number"), j.number(scope) == _timestamp(name, value))
        if kind == BOOL:
            return j.is_true(scope, _boolean(name, value))
        # JSON (model card content): the stored value's own type decides.
        as_text = and_(j.is_a(scope, "string"), j.text(scope) == value)
        try:
            as_number = float(value)
        except ValueError:
            return as_text
        return or_(as_text, and_(j.is_a(scope, "number"), j.number(scope) == as_number))

    def _tag_filter(self, name: str, operator: str, value: str | None) -> ColumnElement:
        key = name[len("Tags.") :] if name.startswith("Tags.") else None
        owned = tags.c.resource_id == resources.c.id
        if key is None:  # "Tags" alone: only presence makes sense
            if operator != "Exists":
                raise ValidationException(
                    "Filter on a tag with Tags.<key>; Tags alone supports only Exists and NotExists."
                )
            return select(literal(1)).select_from(tags).where(owned).exists()
        if not key:
            raise ValidationException("Unknown property name: Tags. (name a tag key after Tags.)")
        this_tag = and_(owned, tags.c.key == key)
        if operator == "Exists":
            condition = true()
        elif operator == "Equals":
            condition = tags.c.value == value
        elif operator == "Contains":
            condition = func.lower(tags.c.value).like(_like_pattern(value), escape="\\")
        elif operator == "In":
            choices = [part.strip() for part in value.split(",") if part.strip()]
            if not choices:
                raise ValidationException(f"The In filter on {name} needs at least one comma-separated value.")
            condition = tags.c.value.in_(choices)
        else:
            raise ValidationException(f"The {operator} operator is not supported for text properties such as {name}.")
        return select(literal(1)).select_from(tags).where(this_tag, condition).exists()

    # visibility and sorting

    def default_sort(self) -> str:
        """LastModifiedTime, as AWS documents; CreationTime for records that have no
        LastModifiedTime (a ModelPackageGroup)."""
        return DEFAULT_SORT if DEFAULT_SORT in self.shape.members else "CreationTime"

    def visibility(self, conditions: Sequence[dict]) -> ColumnElement:
        terms = []
        for condition in conditions:
            key = condition.get("Key", "")  # optional in the model; a condition without one is refused below
            if not key.startswith("Tags.") or len(key) == len("Tags."):
                raise ValidationException(f"VisibilityConditions keys must have the form Tags.<key>; got '{key}'.")
            other_value = and_(
                tags.c.resource_id == resources.c.id,
                tags.c.key == key[len("Tags.") :],
                tags.c.value != condition.get("Value", ""),
            )
            terms.append(not_(select(literal(1)).select_from(tags).where(other_value).exists()))
        return and_(true(), *terms)

    def sort_keys(self, sort_by: str, ascending: bool) -> list[_SortKey]:
        """ORDER BY terms ending with the row id: missing values last, then the value."""
        c = resources.c
        if sort_by == "CreationTime":
            # Every searchable document's CreationTime is the row's created_at.
            created = c.created_at
            if self.narrowed_by_name and self._dialect == "sqlite":
                # SQLite has no statistics and would walk the created_at index over
                # every row of the type to avoid a sort; "+ 0" keeps it on the name
                # index, which leaves a handful of rows to sort.
                created = c.created_at + 0
            return [_SortKey(created, ascending), _SortKey(c.id, ascending)]
        if sort_by == "LastModifiedTime":
            value = func.coalesce(self.json.number(self.json.at(self.json.root(), sort_by)), c.modified_at)
            return [_SortKey(value, ascending), _SortKey(c.id, ascending)]
        if sort_by.startswith("Tags."):
            tag_value = (
                select(tags.c.value)
                .where(tags.c.resource_id == c.id, tags.c.key == sort_by[len("Tags.") :])
                .scalar_subquery()
            )
            missing = case((tag_value.is_(None), 1), else_=0)
            return [
                _SortKey(missing, True),
                _SortKey(func.coalesce(tag_value, ""), ascending),
                _SortKey(c.id, ascending),
            ]

        found: list = []

        def capture(scope, shape):
            if _kind(shape) in (OBJECT, LIST):
                raise ValidationException(
                    f"Cannot sort by {sort_by}: it is not a single value (sort by one of its properties)."
                )
            found.append(scope)
            return true()

        self._walk(self.json.root(), self.shape, self._split(sort_by, sort_by), sort_by, capture, through_lists=False)
        scope = found[0]
        j = self.json
        missing = case((j.is_a(scope, "present"), 0), else_=1)
        number = func.coalesce(j.sort_number(scope), 0.0)
        text = func.coalesce(case((j.is_a(scope, "string"), j.text(scope))), "")
        return [
            _SortKey(missing, True),
            _SortKey(number, ascending),
            _SortKey(text, ascending),
            _SortKey(c.id, ascending),
        ]


def _after(keys: Sequence[_SortKey], values: Sequence[Any]) -> ColumnElement:
    """Rows strictly after ``values`` in the (mixed-direction) lexicographic order of ``keys``."""
    alternatives = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].expr == values[j] for j in range(i)]
        beyond = key.expr > values[i] if key.ascending else key.expr < values[i]
        alternatives.append(and_(*equal_prefix, beyond))
    return or_(*alternatives)


# --- the operation ------------------------------------------------------------------------


def _fingerprint(call: Call, params: dict) -> str:
    parts = {
        "account": call.account,
        "region": call.region,
        **{k: params.get(k) for k in ("Resource", "SearchExpression", "SortBy", "SortOrder", "VisibilityConditions")},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _content_value(document: dict, path: tuple[str, ...]):
    try:
        node: Any = json.loads(document.get("Content") or "{}")
    except ValueError:
        return None
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, (str, int, float)) else None


def _record(target: SearchTarget, document: dict, resource_tags: list[dict]) -> dict:
    # Services keep private bookkeeping under "_" keys; it is never part of an answer.
    record = {key: value for key, value in document.items() if not key.startswith("_")}
    for field_name, path in (target.content_fields or {}).items():
        if record.get(field_name) is None:
            derived = _content_value(document, path)
            if derived is not None:
                record[field_name] = derived if isinstance(derived, str) else str(derived)
    record["Tags"] = sorted(resource_tags, key=lambda tag: tag["Key"])
    return {target.record_key: record}


def search(call: Call, params: dict) -> dict:
    """Evaluate a Search request; see the module docstring for the AWS behaviour."""
    resource = params["Resource"]
    target = target_of(resource)
    if target is None:  # the input shape's enum check normally refuses it first
        raise ValidationException(
            f"Value '{resource}' at 'resource' failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(service_model().shape_for('ResourceType').enum)}]"
        )
    if params.get("CrossAccountFilterOption") == "CrossAccount":
        raise ValidationException(
            "CrossAccountFilterOption CrossAccount searches resources other accounts made discoverable to yours; "
            "Charter has none. Omit it, or use SameAccount."
        )

    compiler = _Compiler(target, call.conn.dialect.name)
    c = resources.c
    conditions = [c.account == call.account, c.region == call.region, c.resource_type == target.resource_type]
    if params.get("SearchExpression") is not None:
        conditions.append(compiler.expression(params["SearchExpression"]))
    if params.get("VisibilityConditions"):
        conditions.append(compiler.visibility(params["VisibilityConditions"]))

    sort_by = params.get("SortBy") or compiler.default_sort()
    ascending = (params.get("SortOrder") or "Descending") == "Ascending"
    keys = compiler.sort_keys(sort_by, ascending)

    fingerprint = _fingerprint(call, params)
    page_conditions = list(conditions)
    if params.get("NextToken"):
        position = call.codec.decode(params["NextToken"])
        if position.get("f") != fingerprint or len(position.get("k", ())) != len(keys):
            raise ValidationException(
                "The NextToken was issued for a Search with a different Resource, SearchExpression, sorting or "
                "visibility conditions; repeat the original request's parameters, or start again without a NextToken."
            )
        page_conditions.append(_after(keys, position["k"]))

    if target.resource_type is None:  # a valid search of a kind of resource no row holds
        return {"Results": [], "TotalHits": {"Value": 0, "Relation": "EqualTo"}}

    total = call.conn.execute(select(func.count()).select_from(resources).where(*conditions)).scalar_one()

    max_results = params.get("MaxResults") or DEFAULT_MAX_RESULTS
    order = [key.expr.asc() if key.ascending else key.expr.desc() for key in keys]
    labels = [key.expr.label(f"sort_{i}") for i, key in enumerate(keys)]
    rows = call.conn.execute(
        select(c.id, c.document, *labels).where(*page_conditions).order_by(*order).limit(max_results + 1)
    ).all()
    page = rows[:max_results]
    tags_of = store.tags_by_resource(call.conn, [row.id for row in page])
    out: dict = {
        "Results": [_record(target, json.loads(row.document), tags_of[row.id]) for row in page],
        "TotalHits": {"Value": total, "Relation": "EqualTo"},
    }
    if len(rows) > max_results:
        last = page[-1]
        out["NextToken"] = call.codec.encode(
            {"f": fingerprint, "k": [getattr(last, f"sort_{i}") for i in range(len(keys))]}
        )
    return out


@operation("Search", writes=False)
def search_operation(call: Call, params: dict) -> dict:
    return search(call, params)
