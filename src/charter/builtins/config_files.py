"""What every built-in algorithm reads the same way: the container's JSON config files and
hyperparameter values (specs/containers.md, section 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import ClientError


def read_json(path: Path, what: str, default: Any) -> Any:
    """The JSON document at ``path`` (``default`` when there is none); a :class:`ClientError` naming
    ``what`` when it is not JSON."""
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ClientError(f"{what} is not valid JSON: {error}") from None


def hyperparameter_text(value: Any, refuse: str, *, lists: bool = False) -> str:
    """A hyperparameter's value as the string SageMaker passes (hand-written files may hold numbers).

    A JSON-encoded string (``"\\"10\\""``, as the SDK writes for framework estimators) means its
    content.  Booleans, nulls and objects are refused with the message ``refuse`` (which gets
    the value's JSON appended); lists too unless ``lists`` (then they are passed as JSON).
    """
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            try:
                decoded = json.loads(text)
            except json.JSONDecodeError:
                return text
            if isinstance(decoded, str):
                return decoded.strip()
        return text
    if isinstance(value, bool) or value is None or isinstance(value, dict) or (isinstance(value, list) and not lists):
        raise ClientError(f"{refuse} (got {json.dumps(value)})")
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return str(value)
