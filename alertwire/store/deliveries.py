"""The delivery queue: claims with leases, attempt records, the delivery log, replays."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alertwire.domain.limits import (
    CIRCUIT_THRESHOLD,
    DEFAULT_CIRCUIT_COOLDOWN,
    IntegrationLimits,
    free_capacity,
    refill,
)
from alertwire.errors import Conflict, NotFound
from alertwire.store.db import writing
from alertwire.store.ids import ordered_id
from alertwire.store.notify import announce
from alertwire.store.paging import decode_cursor, encode_cursor
from alertwire.store.schema import alerts, attempts, deliveries, integrations

DUE_STATES = ("pending", "failed")
# The same condition spelled literally, so the planner can use ix_deliveries_waiting (a
# partial index cannot serve bound parameters).
WAITING = sa.text("deliveries.status IN ('pending', 'failed')")
CLAIM_LOCK_KEY = 0x616C6572 + 1  # any constant shared by every alertwire process
STATES = ("pending", "delivered", "failed", "dead", "cancelled")


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds the lease on, with what it needs to send it."""

    id: str
    alert_id: str | None
    integration_id: str
    trigger_id: str | None
    attempt_count: int
    is_fallback: bool
    body: str | None  # what is sent: the alert as received, or a digest
    kind: str = "alert"
    alert_count: int = 1


@dataclass(frozen=True)
class AttemptRecord:
    """One try of one delivery and what follows from it."""

    delivery_id: str
    integration_id: str
    attempted_at: float
    status_code: int | None
    latency_ms: float | None
    error: str | None
    request_method: str
    request_url: str
    request_headers: dict[str, str]
    response_headers: dict[str, str] | None
    response_body: str | None
    # the delivery's new state
    status: str
    next_attempt_at: float | None
    # side effects on the integration
    succeeded: bool = False
    disable_reason: str | None = None
    fallback_to: str | None = None


@dataclass
class Delivery:
    id: str
    alert_id: str | None
    integration_id: str
    trigger_id: str | None
    status: str
    attempt_count: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    is_fallback: bool
    created_at: float
    delivered_at: float | None
    kind: str = "alert"
    alert_count: int = 1
    fallback_of: str | None = None  # the dead delivery this one stands in for
    fallback_delivery_id: str | None = None  # the fallback this one's death caused
    attempts: list[dict[str, Any]] | None = field(default=None)


def _delivery(m: Any) -> Delivery:
    return Delivery(
        id=m["id"], alert_id=m["alert_id"], integration_id=m["integration_id"],
        trigger_id=m["trigger_id"], status=m["status"], attempt_count=m["attempt_count"],
        next_attempt_at=m["next_attempt_at"], last_status_code=m["last_status_code"],
        last_error=m["last_error"], is_fallback=bool(m["is_fallback"]),
        created_at=m["created_at"], delivered_at=m["delivered_at"], kind=m["kind"],
        alert_count=m["alert_count"], fallback_of=m["fallback_of"],
        fallback_delivery_id=m["fallback_delivery_id"],
    )


# The statements of the claim/record cycle, built once: building a SQLAlchemy expression
# costs more than SQLite takes to run it, and a trickle of alerts runs a cycle per alert.
_DUE = (
    sa.select(deliveries.c.id, deliveries.c.integration_id)
    .where(
        WAITING,
        deliveries.c.next_attempt_at <= sa.bindparam("now"),
        sa.or_(deliveries.c.lease_until.is_(None),
               deliveries.c.lease_until < sa.bindparam("now")),
    )
    .order_by(deliveries.c.next_attempt_at)
    .limit(sa.bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_DUE_EXCEPT = _DUE.where(
    deliveries.c.integration_id.not_in(sa.bindparam("full", expanding=True)))
_LEASE = (
    deliveries.update().where(deliveries.c.id.in_(sa.bindparam("picked", expanding=True)))
    .values(lease_until=sa.bindparam("until"), leased_by=sa.bindparam("worker"))
)
_CLAIMED = (
    sa.select(deliveries.c.id, deliveries.c.alert_id, deliveries.c.integration_id,
              deliveries.c.trigger_id, deliveries.c.attempt_count,
              deliveries.c.is_fallback, deliveries.c.kind,
              deliveries.c.alert_count, deliveries.c.payload, alerts.c.body)
    .select_from(deliveries.outerjoin(alerts, alerts.c.id == deliveries.c.alert_id))
    .where(deliveries.c.id.in_(sa.bindparam("picked", expanding=True)))
    .order_by(deliveries.c.next_attempt_at)
)
_LINK_FALLBACK = (
    deliveries.update().where(deliveries.c.id == sa.bindparam("b_id"))
    .values(fallback_delivery_id=sa.bindparam("b_fallback"))
)
_IN_FLIGHT = sa.select(deliveries.c.integration_id).where(
    deliveries.c.lease_until > sa.bindparam("now"))
_LIMITS = (
    sa.select(integrations.c.id, integrations.c.max_concurrency,
              integrations.c.rate_limit, integrations.c.rate_tokens,
              integrations.c.rate_checked_at, integrations.c.circuit_open_until)
    .where(integrations.c.status == "active")
)
_NEXT_RETRY = (
    sa.select(deliveries.c.next_attempt_at)
    .where(WAITING, deliveries.c.next_attempt_at.is_not(None),
           sa.or_(deliveries.c.lease_until.is_(None),
                  deliveries.c.lease_until <= deliveries.c.next_attempt_at))
    .order_by(deliveries.c.next_attempt_at).limit(1)
)
_FIRST_LEASE_END = sa.select(sa.func.min(deliveries.c.lease_until))
_RECORD = deliveries.update().where(deliveries.c.id == sa.bindparam("b_id")).values(
    status=sa.bindparam("b_status"),
    attempt_count=deliveries.c.attempt_count + 1,
    next_attempt_at=sa.bindparam("b_next"),
    last_status_code=sa.bindparam("b_code"),
    last_error=sa.bindparam("b_error"),
    delivered_at=sa.bindparam("b_delivered"),
    lease_until=None, leased_by=None,
)
# Only integrations that were failing change: a healthy one is not rewritten per batch.
_HEALTHY = (
    integrations.update()
    .where(integrations.c.id.in_(sa.bindparam("healthy", expanding=True)),
           sa.or_(integrations.c.failing_since.is_not(None),
                  integrations.c.consecutive_failures != 0,
                  integrations.c.circuit_open_until.is_not(None)))
    .values(failing_since=None, consecutive_failures=0, circuit_open_until=None)
)


async def shared_capacity(
    conn: AsyncConnection, now: float
) -> tuple[dict[str, int], dict[str, IntegrationLimits]]:
    """Each active integration's remaining capacity across all workers."""
    # Every change out of the waiting states clears the lease, so the lease index alone
    # finds what is in flight, however large the backlog.
    # (Counted here: a GROUP BY leads SQLite to scan the integration index instead.)
    in_flight = Counter(row[0] for row in await conn.execute(_IN_FLIGHT, {"now": now}))
    limits: dict[str, IntegrationLimits] = {}
    for row in await conn.execute(_LIMITS):
        limits[row.id] = IntegrationLimits(row.max_concurrency, row.rate_limit,
                                           row.rate_tokens, row.rate_checked_at,
                                           row.circuit_open_until)
    allowed = {i: free_capacity(found, in_flight.get(i, 0), now)
               for i, found in limits.items()}
    return allowed, limits


class Lessee(Protocol):
    """A delivery worker in this process that takes new deliveries straight from the
    ingest transaction, leased to it there, instead of claiming them afterwards: one
    transaction less between an alert and its send (SPEC §10 latency)."""

    worker_id: str

    @property
    def lease_seconds(self) -> float: ...

    def reserve(self, integration_id: str) -> bool:
        """Room for one more now (counted until `adopt` or `release`)?"""

    def adopt(self, claimed: list[Claimed]) -> None:
        """They are committed: send them."""

    def release(self, claimed: list[Claimed]) -> None:
        """The transaction failed: forget the reservations."""


class Claims(list[Claimed]):
    """What a claim leased; `held_back` when some integration's limits (concurrency, rate,
    circuit) may have kept due deliveries back, so the claimer should try again once
    capacity frees up."""

    held_back: bool = False


class DeliveryStore:
    def __init__(
        self, engine: AsyncEngine, auto_disable_after: float,
        circuit_cooldown: float = DEFAULT_CIRCUIT_COOLDOWN,
    ) -> None:
        self._engine = engine
        self._auto_disable_after = auto_disable_after
        self._circuit_cooldown = circuit_cooldown

    async def claim(
        self, worker_id: str, *, limit: int, lease_seconds: float, now: float | None = None,
    ) -> Claims:
        """Lease up to `limit` due deliveries, per integration no more than its own limits
        allow across all workers: its concurrency cap (deliveries leased anywhere), its rate
        limit and its circuit breaker (SPEC §5). So one slow endpoint cannot fill a batch.

        Claims are serialised by a transaction-scoped advisory lock on PostgreSQL (so the
        shared limits are exact) and candidates are read with FOR UPDATE SKIP LOCKED; on
        SQLite the IMMEDIATE write lock does the same."""
        now = time.time() if now is None else now
        async with writing(self._engine) as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": CLAIM_LOCK_KEY})
            allowed, limits = await shared_capacity(conn, now)
            full = [i for i, free in allowed.items() if free <= 0]
            due = _DUE_EXCEPT if full else _DUE
            picked: list[str] = []
            taken: dict[str, int] = defaultdict(int)
            claims = Claims()
            claims.held_back = bool(full)
            candidates = await conn.execute(due, {"now": now, "limit": limit * 4, "full": full})
            for delivery_id, integration_id in candidates:
                if taken[integration_id] >= allowed.get(integration_id, 0):
                    claims.held_back = True
                    continue
                taken[integration_id] += 1
                picked.append(delivery_id)
                if len(picked) == limit:
                    break
            if not picked:
                return claims
            await conn.execute(_LEASE, {"picked": picked, "until": now + lease_seconds,
                                        "worker": worker_id})
            for integration_id, n in taken.items():
                found = limits.get(integration_id)
                if found is not None and found.rate_limit is not None:
                    await conn.execute(
                        integrations.update().where(integrations.c.id == integration_id)
                        .values(rate_tokens=refill(found, now) - n, rate_checked_at=now)
                    )
            rows = await conn.execute(_CLAIMED, {"picked": picked})
            claims.extend(
                Claimed(r.id, r.alert_id, r.integration_id, r.trigger_id, r.attempt_count,
                        bool(r.is_fallback), r.payload if r.payload is not None else r.body,
                        r.kind, r.alert_count)
                for r in rows
            )
            return claims

    async def next_due_at(self) -> float | None:
        """When the earliest waiting delivery may become claimable: the first retry time of
        one not leased, or the first lease end. Both are read off an index."""
        async with self._engine.connect() as conn:
            retry = await conn.scalar(_NEXT_RETRY)
            lease_end = await conn.scalar(_FIRST_LEASE_END)
        found = [float(v) for v in (retry, lease_end) if v is not None]
        return min(found) if found else None

    async def record(self, records: Sequence[AttemptRecord]) -> None:
        """Write a batch of attempts and their consequences in one transaction."""
        if not records:
            return
        async with writing(self._engine) as conn:
            await conn.execute(attempts.insert(), [
                {
                    "id": ordered_id("att"), "delivery_id": r.delivery_id,
                    "attempted_at": r.attempted_at, "status_code": r.status_code,
                    "latency_ms": r.latency_ms, "error": r.error,
                    "request_method": r.request_method, "request_url": r.request_url,
                    "request_headers": r.request_headers, "response_headers": r.response_headers,
                    "response_body": r.response_body,
                } for r in records
            ])
            await conn.execute(
                _RECORD,
                [
                    {"b_id": r.delivery_id, "b_status": r.status, "b_next": r.next_attempt_at,
                     "b_code": r.status_code, "b_error": r.error,
                     "b_delivered": r.attempted_at if r.status == "delivered" else None}
                    for r in records
                ],
            )
            await self._integration_effects(conn, records)
            await self._fallbacks(conn, records)

    async def _integration_effects(
        self, conn: AsyncConnection, records: Sequence[AttemptRecord]
    ) -> None:
        now = max(r.attempted_at for r in records)
        healthy = {r.integration_id for r in records if r.succeeded}
        failing = {r.integration_id for r in records if not r.succeeded} - healthy
        if healthy:
            await conn.execute(_HEALTHY, {"healthy": sorted(healthy)})
        await self._circuit_breaker(conn, records, healthy, now)
        if failing:
            await conn.execute(
                integrations.update()
                .where(integrations.c.id.in_(failing), integrations.c.failing_since.is_(None))
                .values(failing_since=now)
            )
            days = self._auto_disable_after / 86400
            await conn.execute(
                integrations.update().where(
                    integrations.c.id.in_(failing), integrations.c.status == "active",
                    integrations.c.failing_since <= now - self._auto_disable_after,
                ).values(
                    status="disabled", updated_at=now,
                    disabled_reason=f"disabled automatically: every delivery failed for "
                                    f"{days:g} days",
                )
            )
        for r in records:
            if r.disable_reason:
                await conn.execute(
                    integrations.update().where(integrations.c.id == r.integration_id)
                    .values(status="disabled", disabled_reason=r.disable_reason, updated_at=now)
                )

    async def _circuit_breaker(
        self, conn: AsyncConnection, records: Sequence[AttemptRecord], healthy: set[str],
        now: float,
    ) -> None:
        """Count consecutive 5xx/network failures; past the threshold (and after each failed
        probe) open the circuit for the cool-down."""
        failures: dict[str, int] = defaultdict(int)
        for r in records:
            if r.integration_id not in healthy and (r.status_code is None
                                                     or r.status_code >= 500):
                failures[r.integration_id] += 1
        for integration_id, n in failures.items():
            count = await conn.scalar(
                integrations.update().where(integrations.c.id == integration_id)
                .values(consecutive_failures=integrations.c.consecutive_failures + n)
                .returning(integrations.c.consecutive_failures)
            )
            if count is not None and count >= CIRCUIT_THRESHOLD:
                await conn.execute(
                    integrations.update().where(integrations.c.id == integration_id)
                    .values(circuit_open_until=now + self._circuit_cooldown)
                )

    async def _fallbacks(self, conn: AsyncConnection, records: Sequence[AttemptRecord]) -> None:
        wanted = [r for r in records if r.fallback_to]
        if not wanted:
            return
        originals = {
            row.id: row for row in await conn.execute(
                sa.select(deliveries.c.id, deliveries.c.alert_id, deliveries.c.trigger_id,
                          deliveries.c.kind, deliveries.c.alert_count, deliveries.c.payload)
                .where(deliveries.c.id.in_([r.delivery_id for r in wanted]))
            )
        }
        now = time.time()
        links = {r.delivery_id: ordered_id("dlv") for r in wanted}
        await conn.execute(deliveries.insert(), [
            {
                "id": links[r.delivery_id], "alert_id": originals[r.delivery_id].alert_id,
                "trigger_id": originals[r.delivery_id].trigger_id,
                "integration_id": r.fallback_to, "status": "pending", "attempt_count": 0,
                "next_attempt_at": now, "is_fallback": True, "created_at": now,
                "kind": originals[r.delivery_id].kind,
                "alert_count": originals[r.delivery_id].alert_count,
                "payload": originals[r.delivery_id].payload, "fallback_of": r.delivery_id,
            } for r in wanted
        ])
        await conn.execute(_LINK_FALLBACK, [{"b_id": original, "b_fallback": fallback}
                                            for original, fallback in links.items()])
        await announce(conn)

    async def cancel(self, delivery_ids: Sequence[str], reason: str) -> None:
        if not delivery_ids:
            return
        async with writing(self._engine) as conn:
            await conn.execute(
                deliveries.update().where(deliveries.c.id.in_(delivery_ids)).values(
                    status="cancelled", last_error=reason, lease_until=None, leased_by=None,
                    next_attempt_at=None,
                )
            )

    async def get(self, delivery_id: str) -> Delivery:
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                deliveries.select().where(deliveries.c.id == delivery_id)
            )).first()
            if row is None:
                raise NotFound(f"no delivery with id {delivery_id!r}")
            found = _delivery(row._mapping)
            found.attempts = (await self._attempts(conn, [delivery_id]))[delivery_id]
        return found

    async def body(self, delivery_id: str) -> str | None:
        """What the delivery sends: its own payload (a digest) or the alert as received."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                sa.select(deliveries.c.payload, alerts.c.body)
                .select_from(deliveries.outerjoin(alerts, alerts.c.id == deliveries.c.alert_id))
                .where(deliveries.c.id == delivery_id)
            )).first()
        if row is None:
            raise NotFound(f"no delivery with id {delivery_id!r}")
        body: str | None = row.payload if row.payload is not None else row.body
        return body

    async def _attempts(
        self, conn: AsyncConnection, ids: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        if not ids:
            return found
        rows = await conn.execute(
            attempts.select().where(attempts.c.delivery_id.in_(ids))
            .order_by(attempts.c.attempted_at, attempts.c.id)
        )
        for row in rows:
            found[row.delivery_id].append(dict(row._mapping))
        return found

    async def page(
        self, *, integration_id: str | None = None, trigger_id: str | None = None,
        alert_id: str | None = None, status: str | None = None, limit: int = 100,
        cursor: str | None = None, include_attempts: bool = False,
    ) -> tuple[list[Delivery], str | None]:
        """Newest first."""
        query = deliveries.select().order_by(deliveries.c.id.desc()).limit(limit + 1)
        for column, value in ((deliveries.c.integration_id, integration_id),
                              (deliveries.c.trigger_id, trigger_id),
                              (deliveries.c.alert_id, alert_id), (deliveries.c.status, status)):
            if value is not None:
                query = query.where(column == value)
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            query = query.where(deliveries.c.id < str(last_id))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            items = [_delivery(r._mapping) for r in rows[:limit]]
            if include_attempts:
                found = await self._attempts(conn, [d.id for d in items])
                for item in items:
                    item.attempts = found[item.id]
        next_cursor = encode_cursor(items[-1].id) if len(rows) > limit else None
        return items, next_cursor

    async def for_alerts(self, alert_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        """The deliveries each of these alerts caused (oldest first), in one query: what a
        page of the alert list shows without asking once per alert."""
        found: dict[str, list[Delivery]] = {i: [] for i in alert_ids}
        if not alert_ids:
            return found
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                deliveries.select().where(deliveries.c.alert_id.in_(list(alert_ids)))
                .order_by(deliveries.c.id)
            )
            for row in rows:
                found[row.alert_id].append(_delivery(row._mapping))
        return found

    async def retry(self, delivery_id: str) -> Delivery:
        """Replay a delivered, dead or cancelled delivery: it is queued again, keeping its id
        (the same `webhook-id`, so receivers can deduplicate) and its attempt log. A failed
        one waiting for its next retry is sent now instead of at its scheduled time."""
        now = time.time()
        async with writing(self._engine) as conn:
            status = await conn.scalar(
                sa.select(deliveries.c.status).where(deliveries.c.id == delivery_id)
            )
            if status is None:
                raise NotFound(f"no delivery with id {delivery_id!r}")
            if status == "failed":
                moved = await conn.execute(
                    deliveries.update().where(
                        deliveries.c.id == delivery_id, deliveries.c.status == "failed",
                        sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
                    ).values(next_attempt_at=now)
                )
                if moved.rowcount == 0:
                    raise Conflict("delivery is being sent right now; nothing to retry")
            elif status in DUE_STATES:
                raise Conflict(f"delivery is {status} and already queued; nothing to retry")
            else:
                await conn.execute(
                    deliveries.update().where(deliveries.c.id == delivery_id).values(
                        status="pending", next_attempt_at=now, lease_until=None,
                        leased_by=None, delivered_at=None,
                    )
                )
            await announce(conn)
        return await self.get(delivery_id)

    async def retry_dead(
        self, *, integration_id: str | None = None, cursor: str | None = None, limit: int = 100,
    ) -> tuple[list[str], int, str | None]:
        """Queue again the next `limit` dead deliveries (oldest first, after `cursor`), of one
        integration or of all: (their ids, how many dead ones remain after them, the cursor
        for the next call or None when none remain).

        Walking by cursor sends each delivery at most once per walk, even when one that was
        queued again here dies again before the walk ends."""
        now = time.time()
        query = sa.select(deliveries.c.id).where(deliveries.c.status == "dead")
        if integration_id is not None:
            query = query.where(deliveries.c.integration_id == integration_id)
        if cursor:
            (last_id,) = decode_cursor(cursor, 1)
            query = query.where(deliveries.c.id > str(last_id))
        async with writing(self._engine) as conn:
            if integration_id is not None and await conn.scalar(
                sa.select(integrations.c.id).where(integrations.c.id == integration_id)
            ) is None:
                raise NotFound(f"no integration with id {integration_id!r}", field="integration_id")
            ids = list((await conn.execute(
                query.order_by(deliveries.c.id).limit(limit).with_for_update(skip_locked=True)
            )).scalars())
            if not ids:
                return [], 0, None
            await conn.execute(
                deliveries.update().where(deliveries.c.id.in_(ids), deliveries.c.status == "dead")
                .values(status="pending", next_attempt_at=now, lease_until=None, leased_by=None,
                        delivered_at=None)
            )
            remaining = int(await conn.scalar(
                sa.select(sa.func.count()).select_from(
                    query.where(deliveries.c.id > ids[-1]).subquery())
            ) or 0)
            await announce(conn)
        return ids, remaining, encode_cursor(ids[-1]) if remaining else None

    async def counts(self) -> dict[str, int]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                sa.select(deliveries.c.status, sa.func.count()).group_by(deliveries.c.status)
            )
            return {status: int(n) for status, n in rows}

    async def queue_stats(self, now: float | None = None) -> tuple[int, float]:
        """(deliveries waiting, age in seconds of the oldest one) for monitoring."""
        now = time.time() if now is None else now
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                sa.select(sa.func.count(), sa.func.min(deliveries.c.created_at)).where(WAITING)
            )).one()
        count, oldest = row
        return int(count), 0.0 if oldest is None else max(0.0, now - float(oldest))
