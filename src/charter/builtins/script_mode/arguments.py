"""Hyperparameters as the script sees them: decoded values and the command-line arguments.

specs/containers.md, section 2, steps 1 and 4.  The SageMaker SDK JSON-encodes every
hyperparameter value before it reaches ``hyperparameters.json`` (``"epochs": "10"``,
``"name": "\\"x\\""``); the toolkit decodes each one, keeping a value that is not valid
JSON as the raw string, and passes the user's hyperparameters to the entry point as
``--key value`` pairs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["decode", "text", "to_cmd_args"]


def decode(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every value JSON-decoded; one that is not a JSON document (or not a string) stays as it is."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def text(value: Any) -> str:
    """A value as one argument: ``None`` is empty, bytes are Latin-1, anything else ``str()``
    (so ``True``, ``0.1``, ``[1, 2]`` read as Python writes them, as the toolkit passes them)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin1")
    return str(value)


def _name(key: Any) -> str:
    name = text(key)
    if not name:
        return ""
    return f"--{name}" if len(name) > 1 else f"-{name}"


def _value(value: Any) -> str:
    # A mapping travels as one argument, k1=v1,k2=v2 in key order.
    if hasattr(value, "items"):
        return ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return text(value)


def to_cmd_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """The entry point's arguments: keys sorted, each ``--key value`` (``-k value`` for a
    one-character key), dict values ``k1=v1,k2=v2``, everything else ``str()``."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        args += [_name(key), _value(hyperparameters[key])]
    return args
