"""SQLite for SQLAlchemy's asyncio engine, run on the event loop's own thread.

aiosqlite hands every call (begin, each statement, each fetch, commit) to a thread per
connection and back: measured here, a one-row SELECT through the engine took about 600 µs,
nearly all of it in those hand-offs. SQLite itself answers in microseconds and commits with
one fsync, so this module keeps aiosqlite's API (which SQLAlchemy's aiosqlite dialect drives)
but runs each call at once instead.

One call is different: the commit of a transaction that wrote waits for an fsync, which
would stop the whole loop for it; that one runs on a thread, and the loop serves requests
(and gathers the next group commit) meanwhile.

What makes this safe: in WAL mode readers never wait for the writer, and `store.db.writing`
lets one write transaction at a time into SQLite per process, so the only wait left is for
another process's write transaction (SQLite's busy timeout), which is short.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiosqlite

# One thread for every commit: writers take turns anyway (`store.db.writing`), so more
# threads would only wait (and each would hold a malloc arena of its own).
_COMMITS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-commit")


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call as it is put."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run at once, without its worker thread (every
    path, aiosqlite's own and SQLAlchemy's, goes through `_tx.put_nowait`)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]
        self._committed_changes = 0

    async def commit(self) -> None:
        conn = self._conn
        if conn.total_changes == self._committed_changes:
            conn.commit()  # nothing written: nothing to sync
            return
        # The connection is this transaction's alone until the commit returns, so the
        # thread has it to itself.
        done = asyncio.get_running_loop().run_in_executor(_COMMITS, conn.commit)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])  # never hand the connection back mid-commit
            raise
        finally:
            self._committed_changes = conn.total_changes

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start


def creator(path: str, timeout: float) -> Callable[[], Any]:
    """`async_creator` for `create_async_engine`: opens `path` inline."""

    async def connect() -> aiosqlite.Connection:
        return await InlineConnection(
            lambda: sqlite3.connect(path, timeout=timeout, check_same_thread=False))

    return connect
