"""A form generated from a JSON schema, and the posted form turned back into the JSON document.

The model card editor (:mod:`charter.console.views.model_cards`) draws its form
from the model card content schema (``services/schemas/model_card.json``), so a
field added to the schema shows up in the form without a template change.
:func:`form_tree` walks the schema (``$ref`` into ``definitions`` resolved) and
makes one :class:`Field` per editable value, grouped by object:

* strings are text inputs (a textarea for long prose: descriptions, notes,
  observations over 1,000 characters), enums are selects, numbers are number
  inputs, booleans a Yes/No select (a checkbox cannot say "not set");
* arrays of strings are textareas of one item per line;
* string maps (``patternProperties`` objects such as ``custom_details``) are
  textareas of ``key: value`` lines;
* nested objects are fieldsets of their own fields;
* arrays of objects (metric groups, hyperparameters, containers) are one JSON
  textarea each: generating repeatable sub-forms for them would need scripting
  for little gain.

:func:`form_values` gives the text each field shows for a document;
:func:`merge_form` applies a posted form to the document it was drawn from.
The merge changes only what the person changed: a field whose posted text is
the text it was drawn with keeps its original value exactly (``2.0`` stays a
float, a list keeps its order and spacing), fields the form does not post and
keys the schema does not describe stay as they were, and a cleared field removes
its key (and an object it leaves empty).  Nothing here validates against the
schema: the API does that, and the form shows its answer (:func:`field_of_path`
finds the field a ``$.a.b[0]`` path of an error belongs to).
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Any

from ..render.model_card import label_of

#: Every input's name starts with this, so content fields cannot collide with the form's own.
PREFIX = "content."

_PROSE_ENDINGS = ("description", "notes", "observation", "observations")
_IDENTIFIER_ENDINGS = ("_arn", "_id", "_url", "_uri", "_name")  # one-line values however long they may be
_LONG_TEXT = 1024  # maxLength from which prose gets a textarea


@dataclass(frozen=True)
class Field:
    """One input of the form: ``path`` is the keys from the document's root to the value."""

    path: tuple[str, ...]
    label: str
    kind: str  # text, textarea, number, select, boolean, lines, pairs, json
    help: str | None = None
    options: tuple[str, ...] = ()
    max_length: int | None = None
    max_items: int | None = None
    minimum: float | None = None
    required: bool = False

    @property
    def name(self) -> str:
        return PREFIX + ".".join(self.path)

    @property
    def id(self) -> str:
        return "f-" + "-".join(self.path)

    @property
    def leaf(self) -> bool:
        return True


@dataclass(frozen=True)
class Group:
    """An object of the schema: a fieldset of its fields and groups."""

    path: tuple[str, ...]
    label: str
    help: str | None = None
    children: tuple = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return "g-" + "-".join(self.path)

    @property
    def leaf(self) -> bool:
        return False


class FieldError(ValueError):
    """A posted field that cannot become a JSON value (not JSON, a line without ``key:``)."""


# --- the schema, walked -----------------------------------------------------------------


def _resolve(schema: Any, root: dict) -> dict:
    """``schema`` with its ``$ref`` (``#/definitions/...``) followed; its own keys win over the target's."""
    if not isinstance(schema, dict):
        return {}
    seen = 0
    while "$ref" in schema and seen < 16:
        ref = schema["$ref"]
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _kind(key: str, schema: dict, root: dict) -> str:
    kind = schema.get("type")
    if kind == "object":
        return "pairs" if schema.get("patternProperties") and not schema.get("properties") else "group"
    if kind == "array":
        items = _resolve(schema.get("items"), root)
        return "lines" if items.get("type") == "string" else "json"
    if kind == "string":
        if schema.get("enum"):
            return "select"
        limit = schema.get("maxLength") or 0
        long = (limit > _LONG_TEXT and not key.endswith(_IDENTIFIER_ENDINGS)) or (
            limit >= _LONG_TEXT and key.endswith(_PROSE_ENDINGS)
        )
        return "textarea" if long else "text"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    return "json"


def _help(schema: dict, kind: str, root: dict) -> str | None:
    text = schema.get("description")
    if kind == "lines":
        extra = "One per line" + (f", at most {schema['maxItems']}." if schema.get("maxItems") else ".")
        return f"{text} {extra}" if text else extra
    if kind == "pairs":
        extra = "One key: value per line."
        return f"{text} {extra}" if text else extra
    if kind == "json":
        return _json_help(text, schema, root)
    return text


def _json_help(text: str | None, schema: dict, root: dict) -> str:
    """What a JSON textarea holds: a list of objects and the keys each has (required ones marked)."""
    items = _resolve(schema.get("items"), root)
    keys = items.get("properties") or {}
    if schema.get("type") == "array" and keys:
        required = set(items.get("required") or ())
        names = ", ".join(f"{k} (required)" if k in required else k for k in keys)
        extra = f"JSON: a list of objects with the keys {names}."
    else:
        extra = "JSON."
    return f"{text} {extra}" if text else extra


def _node(path: tuple[str, ...], schema: Any, root: dict, required: bool):
    schema = _resolve(schema, root)
    key = path[-1]
    kind = _kind(key, schema, root)
    label = label_of(key)
    if kind == "group":
        needed = set(schema.get("required") or ())
        children = tuple(
            _node(path + (name,), sub, root, name in needed) for name, sub in (schema.get("properties") or {}).items()
        )
        return Group(path, label, schema.get("description"), children)
    items = _resolve(schema.get("items"), root) if kind == "lines" else {}
    return Field(
        path=path,
        label=label,
        kind=kind,
        help=_help(schema, kind, root),
        options=tuple(schema.get("enum") or ()),
        max_length=schema.get("maxLength") or items.get("maxLength"),
        max_items=schema.get("maxItems"),
        minimum=schema.get("minimum"),
        required=required,
    )


def form_tree(schema: dict) -> tuple:
    """The form for documents of ``schema`` (an object schema): one node per top-level property."""
    needed = set(schema.get("required") or ())
    return tuple(_node((name,), sub, schema, name in needed) for name, sub in (schema.get("properties") or {}).items())


def fields(tree) -> Iterator[Field]:
    """Every field of the tree, in form order."""
    for node in tree:
        if node.leaf:
            yield node
        else:
            yield from fields(node.children)


# --- document <-> text ----------------------------------------------------------------------

_MISSING = object()


def _get(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def _normal(text: str) -> str:
    """Posted text as compared: browsers send textarea line breaks as CRLF; trailing space is noise."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()


def shown(f: Field, value: Any) -> str:
    """The text field ``f`` shows for ``value`` (None: not set)."""
    if value is None:
        return ""
    if f.kind in ("text", "textarea", "select") and isinstance(value, str):
        return value
    if f.kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    if f.kind == "boolean" and isinstance(value, bool):
        return "true" if value else "false"
    if f.kind == "lines" and isinstance(value, list) and all(isinstance(v, str) and "\n" not in v for v in value):
        return "\n".join(value)
    if f.kind == "pairs" and isinstance(value, dict) and all(
        isinstance(v, str) and "\n" not in v for v in value.values()
    ):
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    if f.kind == "json" or not isinstance(value, (str, int, float, bool)):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return str(value)


def form_values(tree, document: dict) -> dict[str, str]:
    """The text of every field of the form drawn for ``document``, by input name."""
    return {f.name: shown(f, _get(document, f.path)) for f in fields(tree)}


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text  # the API names the path and says it is not a number
    return value if math.isfinite(value) else text


def parse(f: Field, text: str) -> Any:
    """The JSON value of the posted ``text`` of field ``f``; ``_MISSING`` when it is empty."""
    text = _normal(text)
    if text == "":
        return _MISSING
    if f.kind == "number":
        return _number(text)
    if f.kind == "boolean":
        return {"true": True, "false": False}.get(text.lower(), text)
    if f.kind == "lines":
        return [line.strip() for line in text.split("\n") if line.strip()]
    if f.kind == "pairs":
        out: dict[str, str] = {}
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            key, colon, value = line.partition(":")
            if not colon or not key.strip():
                raise FieldError(f"Line {number} has no key: write each line as key: value.")
            out[key.strip()] = value.strip()
        return out
    if f.kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise FieldError(f"This is not valid JSON: {exc}.") from None
    return text


def _set(document: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        if not isinstance(document.get(key), dict):
            document[key] = {}
        document = document[key]
    document[path[-1]] = value


def _remove(document: dict, path: tuple[str, ...]) -> None:
    """Removes the value at ``path``, then each object above it that this left empty."""
    trail = [document]
    for key in path[:-1]:
        inner = trail[-1].get(key)
        if not isinstance(inner, dict):
            return
        trail.append(inner)
    if path[-1] not in trail[-1]:
        return
    del trail[-1][path[-1]]
    for depth in range(len(path) - 1, 0, -1):
        if trail[depth]:
            break
        del trail[depth - 1][path[depth - 1]]


def merge_form(tree, form: dict[str, str], original: dict) -> tuple[dict, dict[str, str]]:
    """``original`` with the posted ``form`` applied, and the fields that could not be read (name: why)."""
    document = copy.deepcopy(original) if isinstance(original, dict) else {}
    problems: dict[str, str] = {}
    for f in fields(tree):
        if f.name not in form:
            continue
        posted = form[f.name]
        before = _get(original, f.path)
        if _normal(posted) == _normal(shown(f, before)):
            continue  # untouched: the original value stays exactly as it was
        try:
            value = parse(f, posted)
        except FieldError as problem:
            problems[f.name] = str(problem)
            continue
        if value is _MISSING:
            _remove(document, f.path)
        else:
            _set(document, f.path, value)
    return document, problems


# --- errors the API names by JSON path ------------------------------------------------------

_PATH_PART = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')


def path_keys(json_path: str) -> tuple:
    """``$.a.b[0]["x y"]`` as ``("a", "b", 0, "x y")``."""
    keys: list = []
    for name, index, quoted in _PATH_PART.findall(json_path.removeprefix("$")):
        keys.append(name if name else int(index) if index else json.loads(quoted))
    return tuple(keys)


def field_of_path(tree, json_path: str) -> str | None:
    """The input name of the field that holds the value at ``json_path``, if the form has one."""
    keys = path_keys(json_path)
    best: Field | None = None
    for f in fields(tree):
        if keys[: len(f.path)] == f.path and (best is None or len(f.path) > len(best.path)):
            best = f
    return best.name if best else None


_API_PROBLEM = re.compile(r"at (\$[^\s:]*): (.*?)(?=; at \$|; and \d+ more|\. Content must follow|$)")


def api_problems(tree, message: str) -> dict[str, str]:
    """The fields a model card ValidationException names (``at $.a.b: why``), by input name."""
    out: dict[str, str] = {}
    for json_path, why in _API_PROBLEM.findall(message):
        name = field_of_path(tree, json_path)
        if name and name not in out:
            out[name] = why
    return out
