"""The public datasets of ``../shared/data`` for tests, skipping where they are absent.

``need(fairness.adult, "all")`` returns the loader's table, loaded once per session, or
skips the calling test with the loader's own reason (which file is missing, where it
looked). Loaders return fresh copies, so a test may change what it gets.
"""

from __future__ import annotations

import functools

import pytest

from charter.datasets import DataUnavailable


@functools.cache
def _load(loader, args, kwargs):
    return loader(*args, **dict(kwargs))


def need(loader, *args, **kwargs):
    try:
        table = _load(loader, args, tuple(sorted(kwargs.items())))
    except DataUnavailable as missing:
        pytest.skip(f"real data not available: {missing}")
    return table.copy() if hasattr(table, "copy") else table
