"""Cross-process wake-ups on PostgreSQL: `NOTIFY` in the transaction that creates
deliveries, `LISTEN` in every worker process, so no worker waits for its next poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("alertwire.notify")
CHANNEL = "alertwire_deliveries"


async def announce(conn: AsyncConnection) -> None:
    """Tell listening workers that deliveries are due; sent when the transaction commits."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.text(f"NOTIFY {CHANNEL}"))


class DeliveryListener:
    """Keeps one LISTEN connection open, reconnecting after a database restart."""

    def __init__(self, dsn: str, on_notify: Callable[[], None]) -> None:
        self._dsn = dsn
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _notified(self, *_: Any) -> None:
        self._on_notify()

    async def _run(self) -> None:
        delay = 0.2
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn)
                await conn.add_listener(CHANNEL, self._notified)
                delay = 0.2
                self._on_notify()  # anything committed while we were away is due now
                while not conn.is_closed():
                    await asyncio.sleep(1)
                    await conn.execute("SELECT 1")  # notices a dead connection quickly
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("LISTEN connection lost (%s); reconnecting in %.1f s", exc, delay)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
