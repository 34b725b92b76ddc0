"""Spool → `POST /api/v1/alerts`: batches of the oldest queued alerts, removed from the spool
only after the server's 202 (it answers 202 only once they are committed, SPEC §3). A crash
between the server's commit and the removal resends that batch: delivery to the server is
at-least-once, never lossy."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import aiohttp

import alertwire
from alertwire.domain.backoff import Backoff
from alertwire.store.spool import Spool

log = logging.getLogger("alertwire.sources")

BATCH = 500
BATCH_BYTES = 4 * 1024 * 1024  # well under the server's 10 MiB per request
_MALFORMED = frozenset({400, 413, 422})


class Forwarder:
    def __init__(self, spool: Spool, url: str, token: str, *, max_backoff: float = 30.0,
                 on_sent: Callable[[int], None] | None = None) -> None:
        self.spool = spool
        self.endpoint = f"{url.rstrip('/')}/api/v1/alerts"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "User-Agent": f"alertwire-source/{alertwire.__version__}"}
        self.backoff = Backoff(initial=min(0.5, max_backoff), cap=max_backoff)
        self.on_sent = on_sent
        self._wake = asyncio.Event()
        self._single = False  # after a refused batch: one at a time, to find the bad one

    def wake(self) -> None:
        """Something was appended to the spool: send it now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                self._wake.clear()
                rows = await asyncio.to_thread(
                    self.spool.peek, 1 if self._single else BATCH, BATCH_BYTES)
                if not rows:
                    self._single = False
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                    except TimeoutError:
                        pass
                    continue
                delay = await self._send(session, rows)
                if delay:
                    await asyncio.sleep(delay)

    async def _send(self, session: aiohttp.ClientSession, rows: list[tuple[int, str]]) -> float:
        """Send one batch; the delay before the next try (0 when it went through)."""
        body = "[" + ",".join(text for _, text in rows) + "]"
        try:
            async with session.post(self.endpoint, data=body.encode(),
                                    headers=self.headers) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            delay = self.backoff.next()
            log.warning("cannot reach %s (%s); %d alert(s) kept in the spool, retry in %.1f s",
                        self.endpoint, exc or type(exc).__name__, len(rows), delay)
            return delay
        if status == 202:
            accepted = json.loads(text).get("accepted")
            if accepted != len(rows):
                raise RuntimeError(f"server accepted {accepted} of {len(rows)} alerts")
            await asyncio.to_thread(self.spool.delete, [row_id for row_id, _ in rows])
            self.backoff.reset()
            if self.on_sent is not None:
                self.on_sent(len(rows))
            return 0.0
        if status in _MALFORMED:
            if len(rows) > 1:
                self._single = True
                return 0.0
            reason = f"server answered {status}: {text[:500]}"
            log.error("alert refused, moved to the spool's rejected table: %s", reason)
            await asyncio.to_thread(self.spool.reject, rows[0][0], reason)
            return 0.0
        delay = self.backoff.next()
        # 401/403 (a wrong token) and 5xx: keep everything, say why, try again later.
        log.warning("server answered %d: %s; %d alert(s) kept in the spool, retry in %.1f s",
                    status, text[:200], len(rows), delay)
        return delay
