"""Unit tests are pure: kernels, parsers and renderers called as plain functions.

A test that opens a database belongs under ``tests/integration``, which the
Makefile runs twice (SQLite, then PostgreSQL), so that both backends run it.
The database fixtures are overridden here to say so instead of handing out a
SQLite URL that only one backend would ever see.
"""

from __future__ import annotations

import pytest

_MOVE = (
    "tests/unit is for pure tests; a test that opens a database goes under tests/integration, "
    "where `make test-postgres` runs it on PostgreSQL as well as on SQLite"
)


@pytest.fixture(scope="session")
def database_url_factory():
    pytest.fail(f"database_url_factory used in a unit test: {_MOVE}", pytrace=False)


@pytest.fixture(scope="session")
def postgres():
    pytest.fail(f"postgres used in a unit test: {_MOVE}", pytrace=False)


@pytest.fixture(autouse=True)
def _no_database(monkeypatch):
    """Opening Charter's database from a unit test fails with where the test belongs."""
    from charter.store import db

    def refuse(url: str):
        pytest.fail(f"a unit test opened the database {url!r}: {_MOVE}", pytrace=False)

    monkeypatch.setattr(db, "make_engine", refuse)
