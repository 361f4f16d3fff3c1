"""Test-session fixtures shared by every test tree.

``CHARTER_TEST_DB=postgresql`` runs the suite against a real PostgreSQL server
the session starts itself; otherwise the embedded SQLite store is used.
"""

from __future__ import annotations

import itertools
import os

import pytest

from pg import PostgresServer, find_pg_bin

BACKEND = os.environ.get("CHARTER_TEST_DB", "sqlite")
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
