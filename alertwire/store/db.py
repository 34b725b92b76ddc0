"""Engine creation and migrations: SQLite (WAL) by default, PostgreSQL when configured."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from alertwire.store import sqlite_inline

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every alertwire process.
_MIGRATION_LOCK_ID = 0x616C6572  # "aler"


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Enough pooled connections for a busy server: one past the pool is opened (with its
        # pragmas) and closed again for every use.
        path = sa.engine.make_url(url).database or ":memory:"
        engine = create_async_engine(url, async_creator=sqlite_inline.creator(path, 30),
                                     pool_size=20, max_overflow=20, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True,
                               hide_parameters=True)


@asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that will write. On SQLite it takes the write lock up front
    (BEGIN IMMEDIATE): a transaction that reads first and then writes would fail at once
    if another writer committed in between (SQLITE_BUSY_SNAPSHOT, which busy_timeout does
    not retry). Never nest: on SQLite the inner one would wait for the outer forever."""
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    # One writer at a time in this process: queued here, not in SQLite's busy handler, which
    # sleeps in steps of up to 100 ms while another connection holds the write lock.
    lock = _sqlite_write_locks.setdefault(engine, asyncio.Lock())
    async with lock, engine.connect() as conn:
        conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
        async with conn.begin():
            yield conn


_sqlite_write_locks: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = (
    weakref.WeakKeyDictionary())


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'DEFERRED')}")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, instead of the driver's own guess.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers and the writer work at once; FULL sync makes a 202 survive power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _upgrade(connection: sa.Connection) -> None:
    config = _alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@functools.cache
def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


async def database_revision(engine: AsyncEngine) -> str | None:
    """The migration the database was last brought to (None: never migrated)."""
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision())


@contextmanager
def _sqlite_file_lock(engine: AsyncEngine) -> Iterator[None]:
    """SQLite has no advisory locks: a lock file beside the database serialises migrations."""
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    if engine.dialect.name == "sqlite":
        # flock blocks, so wait for it in a thread; alembic then runs under the lock.
        lock = _sqlite_file_lock(engine)
        await asyncio.to_thread(lock.__enter__)
        try:
            await _migrate_locked(engine)
        finally:
            lock.__exit__(None, None, None)
        return
    await _migrate_locked(engine)


async def _migrate_locked(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # Session-level advisory lock: the second process waits, then finds nothing to do.
            await conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
            await conn.commit()
        try:
            await conn.run_sync(_upgrade)
            await conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                await conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
                await conn.commit()
