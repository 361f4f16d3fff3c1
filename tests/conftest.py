"""Test-session fixtures shared by every test tree.

``CHARTER_TEST_DB=postgresql`` runs the suite against a real PostgreSQL server
the session starts itself; otherwise the embedded SQLite store is used.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

from pg import PostgresServer, find_pg_bin

# The browser tests' fixtures (a server, Chromium, a page) are a plugin, registered once for the
# session: imported into each test module instead, a session fixture would be made once per module.
sys.path.insert(0, str(Path(__file__).parent / "browser"))
pytest_plugins = ["browser_support"]

BACKEND = os.environ.get("CHARTER_TEST_DB", "sqlite")
UNIT = Path(__file__).parent / "unit"
_MOVE = (
    "tests/unit is for pure tests; a test that opens a database goes under tests/integration, "
    "where `make test-postgres` runs it on PostgreSQL as well as on SQLite"
)
_db_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres():
    if BACKEND != "postgresql":
        yield None
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (initdb not found): apt-get install postgresql to run the PostgreSQL pass")
    server = PostgresServer(bin_dir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url_factory(postgres, tmp_path_factory):
    """Makes a fresh, empty database URL on the backend under test."""

    def make() -> str:
        number = next(_db_numbers)
        if postgres is not None:
            return postgres.create_database(f"charter_{number}")
        return f"sqlite:///{tmp_path_factory.mktemp(f'db{number}') / 'charter.db'}"

    return make


# Unit tests are pure: kernels, parsers and renderers called as plain functions.  The
# guard lives here rather than in a tests/unit/conftest.py, because a second module
# named conftest would shadow the integration one that tests import constants from.


def _is_unit(item) -> bool:
    return Path(item.path).is_relative_to(UNIT)


def pytest_runtest_setup(item):
    """A unit test asking for a database fixture fails, before the fixture starts a server.

    A test marked ``once`` runs in the SQLite pass only: what it adds (a client's side, such
    as the SageMaker SDK's scripts) does not change with the database, whose part of the
    same path other tests check on both (CI runs the integration tests twice and has an
    hour in all).
    """
    marker = item.get_closest_marker("once")
    if marker is not None and BACKEND == "postgresql":
        pytest.skip(f"runs in the SQLite pass only: {marker.args[0] if marker.args else 'database-independent'}")
    if _is_unit(item):
        for name in ("database_url_factory", "postgres"):
            if name in item.fixturenames:
                pytest.fail(f"{name} used in a unit test: {_MOVE}", pytrace=False)


@pytest.fixture(autouse=True)
def _no_database_in_unit_tests(request, monkeypatch):
    """Opening Charter's database from a unit test fails with where the test belongs."""
    if not _is_unit(request.node):
        return
    from charter.store import db

    def refuse(url: str):
        pytest.fail(f"a unit test opened the database {url!r}: {_MOVE}", pytrace=False)

    monkeypatch.setattr(db, "make_engine", refuse)
