"""Alerts: stored exactly as received, together with the deliveries they cause."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alertwire.domain.alerts import IncomingAlert
from alertwire.domain.digests import DigestAlert
from alertwire.domain.filters import Filter
from alertwire.domain.triggers import Matcher, group_key
from alertwire.errors import NotFound
from alertwire.store import throttles
from alertwire.store.db import writing
from alertwire.store.deliveries import Claimed, Lessee, shared_capacity
from alertwire.store.ids import ordered_id
from alertwire.store.notify import announce
from alertwire.store.schema import alerts, deliveries
from alertwire.store.silences import SilenceStore
from alertwire.store.throttles import GroupHits
from alertwire.store.triggers import TriggerStore

SCAN_CHUNK = 1000
# Requests sharing one ingest transaction at most (each may carry many alerts).
MAX_GROUP = 256
# A filtered list stops scanning here and hands back a cursor to go on from.
MAX_SCAN = 50_000


@dataclass(frozen=True)
class StoredAlert:
    id: str
    received_at: float
    source: str
    body: str  # JSON text exactly as received

    def parsed(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value


@dataclass(frozen=True)
class IngestResult:
    ids: list[str]
    # In a shared commit, all of them are counted in the first caller's result.
    deliveries: int
    waiting: int = 0  # of those, the ones left for a claim (not handed to a worker)


@dataclass(frozen=True)
class _Waiting:
    incoming: list[IncomingAlert]
    result: asyncio.Future[IngestResult]


class AlertStore:
    def __init__(self, engine: AsyncEngine, triggers: TriggerStore) -> None:
        self._engine = engine
        self._triggers = triggers
        self._matchers: dict[tuple[str, str | None], Matcher] = {}
        self._queue: list[_Waiting] = []
        self._committer: asyncio.Task[None] | None = None
        # The in-process worker, when it is the only one (SQLite): see `_hand_off`.
        self.lessee: Lessee | None = None

    def _matcher(self, text: str, threat_level: str | None) -> Matcher:
        key = (text, threat_level)
        matcher = self._matchers.get(key)
        if matcher is None:
            if len(self._matchers) > 10_000:
                self._matchers.clear()
            matcher = self._matchers[key] = Matcher.compile(text, threat_level)
        return matcher

    async def ingest(self, incoming: list[IncomingAlert]) -> IngestResult:
        """Store the alerts and every realtime delivery they cause in one transaction:
        when this returns, both are durable (SPEC §3). Silenced alerts are stored and
        counted but cause nothing; throttled triggers send the first of a group and count
        the rest.

        Group commit: calls that arrive while a transaction is being written wait and then
        share the next one, so many small requests cost one commit, not one each."""
        waiting = _Waiting(incoming, asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued())
        return await asyncio.shield(waiting.result)

    async def _commit_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            try:
                result = await self._ingest_now([a for w in batch for a in w.incoming])
            except Exception as exc:
                for w in batch:
                    if not w.result.done():
                        w.result.set_exception(exc)
                continue
            ids = iter(result.ids)
            for i, w in enumerate(batch):
                if not w.result.done():
                    w.result.set_result(IngestResult([next(ids) for _ in w.incoming],
                                                     result.deliveries if i == 0 else 0,
                                                     result.waiting if i == 0 else 0))

    async def _ingest_now(self, incoming: list[IncomingAlert]) -> IngestResult:
        now = time.time()
        alert_rows: list[dict[str, Any]] = []
        delivery_rows: list[dict[str, Any]] = []
        silenced: Counter[str] = Counter()
        held: dict[tuple[str, str], GroupHits] = {}
        bodies: dict[str, str] = {}
        lessee = self.lessee  # the same worker from reservation to adoption
        async with writing(self._engine) as conn:
            routes = await self._triggers.routes(conn, ("realtime",))
            compiled = [(r, self._matcher(r.filter, r.threat_level)) for r in routes]
            active_silences = await SilenceStore.active(conn, now)
            for item in incoming:
                alert_id = ordered_id("alr")
                alert_rows.append({"id": alert_id, "received_at": now, "source": item.source,
                                   "body": item.raw})
                bodies[alert_id] = item.raw
                silence = next((s for s in active_silences if s.matches(item.alert)), None)
                if silence is not None:
                    silenced[silence.id] += 1
                    continue
                for route, matcher in compiled:
                    if not matcher.matches(item.alert):
                        continue
                    if route.throttle is not None:
                        key = group_key(item.alert, route.throttle.group_by)
                        hits = held.setdefault((route.trigger_id, key), GroupHits(route, key, []))
                        hits.alert_ids.append(alert_id)
                    else:
                        delivery_rows += throttles.delivery_rows(route, alert_id, 1, now)
            if alert_rows:
                await conn.execute(alerts.insert(), alert_rows)
            if held:
                delivery_rows += await throttles.admit(conn, list(held.values()), now)
            handed: list[Claimed] = []
            try:
                if delivery_rows:
                    if lessee is not None:
                        handed = await self._hand_off(conn, lessee, delivery_rows,
                                                      bodies, now)
                    await conn.execute(deliveries.insert(), delivery_rows)
                    await announce(conn)
                await SilenceStore.count(conn, silenced)
            except BaseException:
                if handed:
                    assert lessee is not None
                    lessee.release(handed)
                raise
        if handed:
            assert lessee is not None
            lessee.adopt(handed)
        return IngestResult([r["id"] for r in alert_rows], len(delivery_rows),
                            len(delivery_rows) - len(handed))

    @staticmethod
    async def _hand_off(
        conn: AsyncConnection, lessee: Lessee, rows: list[dict[str, Any]],
        bodies: dict[str, str], now: float,
    ) -> list[Claimed]:
        """Lease new deliveries to the in-process worker inside the ingest transaction,
        within the same limits a claim applies, so no claim is needed to start them.
        Rate-limited integrations are left to the claim, which keeps their token count."""
        allowed, limits = await shared_capacity(conn, now)
        handed: list[Claimed] = []
        for row in rows:
            row["lease_until"] = row["leased_by"] = None
            integration_id = row["integration_id"]
            found = limits.get(integration_id)
            if row["kind"] != "alert" or found is None or found.rate_limit is not None \
                    or allowed.get(integration_id, 0) <= 0 or not lessee.reserve(integration_id):
                continue
            allowed[integration_id] -= 1
            row["lease_until"] = now + lessee.lease_seconds
            row["leased_by"] = lessee.worker_id
            handed.append(Claimed(row["id"], row["alert_id"], integration_id, row["trigger_id"],
                                  0, False, bodies[row["alert_id"]]))
        return handed

    async def received_between(
        self, start: float, end: float, keep: Callable[[dict[str, Any]], bool]
    ) -> list[DigestAlert]:
        """Alerts received in [start, end) that `keep` accepts, for a digest."""
        found: list[DigestAlert] = []
        async with self._engine.connect() as conn:
            result = await conn.stream(
                alerts.select().where(alerts.c.received_at >= start, alerts.c.received_at < end)
                .order_by(alerts.c.received_at)
            )
            async for row in result:
                parsed = json.loads(row.body)
                if keep(parsed):
                    found.append(DigestAlert(row.id, row.received_at, row.source, parsed))
        return found

    async def get(self, alert_id: str) -> StoredAlert:
        async with self._engine.connect() as conn:
            row = (await conn.execute(alerts.select().where(alerts.c.id == alert_id))).first()
        if row is None:
            raise NotFound(f"no alert with id {alert_id!r}")
        return StoredAlert(row.id, row.received_at, row.source, row.body)

    async def scan(
        self, keep: Callable[[StoredAlert], bool], *, limit: int, cursor: str | None = None,
        max_scan: int = MAX_SCAN,
    ) -> tuple[list[StoredAlert], str | None]:
        """Newest first, keeping those `keep` accepts, looking at no more than `max_scan`
        alerts; the cursor is the id of the last alert looked at (None: nothing older)."""
        found: list[StoredAlert] = []
        scanned = 0
        position = cursor
        exhausted = False
        async with self._engine.connect() as conn:
            while len(found) < limit and scanned < max_scan and not exhausted:
                query = alerts.select().order_by(alerts.c.id.desc()).limit(SCAN_CHUNK)
                if position:
                    query = query.where(alerts.c.id < position)
                rows = (await conn.execute(query)).all()
                for row in rows:
                    scanned += 1
                    position = row.id
                    alert = StoredAlert(row.id, row.received_at, row.source, row.body)
                    if keep(alert):
                        found.append(alert)
                    if len(found) == limit or scanned >= max_scan:
                        break
                exhausted = len(rows) < SCAN_CHUNK and (not rows or position == rows[-1].id)
        if exhausted or not await self._older_exists(position):
            return found, None
        return found, position

    async def _older_exists(self, position: str | None) -> bool:
        if position is None:
            return False
        async with self._engine.connect() as conn:
            row = await conn.scalar(sa.select(alerts.c.id).where(alerts.c.id < position).limit(1))
        return row is not None

    async def count_matching(
        self, matcher: Filter | Matcher, *, sample_size: int = 10, max_scan: int = 200_000
    ) -> tuple[int, int, list[StoredAlert]]:
        """Test Filter: (matched, total looked at, newest matching sample)."""
        matched = 0
        total = 0
        sample: list[StoredAlert] = []
        position: str | None = None
        async with self._engine.connect() as conn:
            while total < max_scan:
                query = alerts.select().order_by(alerts.c.id.desc()).limit(SCAN_CHUNK * 5)
                if position:
                    query = query.where(alerts.c.id < position)
                rows = (await conn.execute(query)).all()
                if not rows:
                    break
                for row in rows:
                    total += 1
                    alert = StoredAlert(row.id, row.received_at, row.source, row.body)
                    if matcher.matches(alert.parsed()):
                        matched += 1
                        if len(sample) < sample_size:
                            sample.append(alert)
                position = rows[-1].id
        return matched, total, sample
