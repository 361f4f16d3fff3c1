"""Engine creation and migrations.

SQLite runs in WAL mode with a busy timeout, so readers never block the single
writer and concurrent writers wait instead of failing; PostgreSQL is used as is.
Migrations are applied on every start (``migrate``), so a new release upgrades
an old database in place.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy (the "begin" hook below) issue BEGIN, not pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=8, max_overflow=8, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "begin")
        def _begin(conn):
            # A deferred BEGIN lets two writers that both read first deadlock on
            # the lock upgrade (SQLITE_BUSY without waiting); writers therefore
            # take the write lock up front, readers stay deferred and never block.
            writes = conn.get_execution_options().get("charter_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    return create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with transaction(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


# SQLite has one writer at a time. Writers of this process queue on a lock
# rather than in SQLite's busy handler, whose growing sleeps (up to 100 ms a
# try) give long, unfair tails under concurrency; other processes (the CLI)
# still meet the busy timeout.
_writer_locks: "weakref.WeakKeyDictionary[Engine, threading.Lock]" = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def _writer_lock(engine: Engine):
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _locks_guard:
        lock = _writer_locks.get(engine)
        if lock is None:
            lock = _writer_locks[engine] = threading.Lock()
    return lock


@contextmanager
def transaction(engine: Engine, *, write: bool = True) -> Iterator[Connection]:
    """One database transaction; committed on success, rolled back on error."""
    with _writer_lock(engine) if write else nullcontext(), engine.connect() as conn:
        if write:
            conn = conn.execution_options(charter_write=True)
        with conn.begin():
            yield conn
