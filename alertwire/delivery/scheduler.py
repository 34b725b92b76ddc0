"""Time-driven deliveries: throttle tails and digests, checked every second (SPEC §4).

Safe with any number of processes: each period or held-back count is claimed in the
database before its deliveries are created."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from alertwire.store import Store

log = logging.getLogger("alertwire.scheduler")
INTERVAL_SECONDS = 1.0


class Scheduler:
    def __init__(self, store: Store, on_created: Callable[[], None]) -> None:
        self.store = store
        self.on_created = on_created
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, now: float | None = None) -> int:
        """Create what is due at `now` (a fake clock in tests); returns how many deliveries."""
        created = await self.store.flush_throttles(now) + await self.store.send_due_digests(now)
        if created:
            self.on_created()
        return created

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a database restart must not end the loop
                log.exception("scheduled deliveries failed; trying again")
            await asyncio.sleep(INTERVAL_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="scheduler")

    def health(self) -> str | None:
        """None while the loop runs; otherwise why not (for /readyz)."""
        if self._task is None:
            return "the scheduler was not started"
        if self._task.done():
            cause = "" if self._task.cancelled() or self._task.exception() is None \
                else f": {self._task.exception()!r}"
            return f"the scheduler (throttles and digests) has stopped{cause}"
        return None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
