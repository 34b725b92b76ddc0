"""Live stream wake-ups: a capture tells the streams of its bin to look for new requests."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict


class BinHub:
    """Per-bin events. Streams still read from the store, so a capture made by another
    process (scale-out) is picked up at the next poll even without a wake-up."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, bin_id: str) -> None:
        for event in self._waiters.get(bin_id, ()):
            event.set()

    async def wait(self, bin_id: str, timeout: float) -> None:
        """Return at the next capture into `bin_id`, or after `timeout` seconds."""
        event = asyncio.Event()
        self._waiters[bin_id].add(event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self._waiters[bin_id].discard(event)
            if not self._waiters[bin_id]:
                del self._waiters[bin_id]
