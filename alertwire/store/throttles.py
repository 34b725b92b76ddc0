"""Throttle groups: who was sent when, and how many alerts were held back since (SPEC §4).

The counts live in the database, so they survive restarts and are shared by every process."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alertwire.store.db import writing
from alertwire.store.ids import ordered_id
from alertwire.store.notify import announce
from alertwire.store.schema import deliveries, throttle_groups
from alertwire.store.triggers import Route


@dataclass
class GroupHits:
    """Alerts of one batch that fall into one throttle group, in arrival order."""

    route: Route
    key: str
    alert_ids: list[str]


def delivery_rows(route: Route, alert_id: str, count: int, now: float) -> list[dict[str, Any]]:
    return [{
        "id": ordered_id("dlv"), "alert_id": alert_id, "integration_id": integration_id,
        "trigger_id": route.trigger_id, "status": "pending", "attempt_count": 0,
        "next_attempt_at": now, "is_fallback": False, "created_at": now,
        "kind": "alert" if count == 1 else "throttled", "alert_count": count,
    } for integration_id in route.integration_ids]


async def admit(conn: AsyncConnection, hits: Sequence[GroupHits], now: float) -> list[
        dict[str, Any]]:
    """Decide, inside the ingest transaction, which throttled alerts are sent now: the
    first of a group whose period has passed (carrying the count held back before it);
    the others are counted. Returns the delivery rows to insert."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(
        insert(throttle_groups).on_conflict_do_nothing(),
        [{"trigger_id": h.route.trigger_id, "group_key": h.key, "last_sent_at": 0.0,
          "suppressed": 0, "last_alert_id": None} for h in hits],
    )
    rows: list[dict[str, Any]] = []
    for hit in hits:
        assert hit.route.throttle is not None
        group = (await conn.execute(
            sa.select(throttle_groups.c.last_sent_at, throttle_groups.c.suppressed)
            .where(throttle_groups.c.trigger_id == hit.route.trigger_id,
                   throttle_groups.c.group_key == hit.key)
            .with_for_update()
        )).one()
        held = group.suppressed
        values: dict[str, Any]
        if now >= group.last_sent_at + hit.route.throttle.seconds:
            rows += delivery_rows(hit.route, hit.alert_ids[0], held + 1, now)
            values = {"last_sent_at": now, "suppressed": len(hit.alert_ids) - 1}
        else:
            values = {"suppressed": held + len(hit.alert_ids)}
        if values["suppressed"]:
            values["last_alert_id"] = hit.alert_ids[-1]
        await conn.execute(
            throttle_groups.update().where(throttle_groups.c.trigger_id == hit.route.trigger_id,
                                           throttle_groups.c.group_key == hit.key)
            .values(**values)
        )
    return rows


async def flush(engine: AsyncEngine, routes: Sequence[Route], now: float | None = None) -> list[
        dict[str, Any]]:
    """Groups whose period ended with alerts held back get one delivery for them (the last
    alert held, carrying the count), so a storm's tail is reported even if it stops."""
    now = time.time() if now is None else now
    by_trigger = {r.trigger_id: r for r in routes if r.throttle is not None}
    if not by_trigger:
        return []
    created: list[dict[str, Any]] = []
    async with writing(engine) as conn:
        pending = await conn.execute(
            sa.select(throttle_groups).where(
                throttle_groups.c.suppressed > 0,
                throttle_groups.c.trigger_id.in_(list(by_trigger)),
            ).with_for_update()
        )
        for group in pending.all():
            route = by_trigger[group.trigger_id]
            assert route.throttle is not None
            if now < group.last_sent_at + route.throttle.seconds or not group.last_alert_id:
                continue
            created += delivery_rows(route, group.last_alert_id, group.suppressed, now)
            for row in created[-len(route.integration_ids):]:
                row["kind"] = "throttled"
            await conn.execute(
                throttle_groups.update().where(
                    throttle_groups.c.trigger_id == group.trigger_id,
                    throttle_groups.c.group_key == group.group_key,
                    throttle_groups.c.suppressed == group.suppressed,
                ).values(suppressed=0, last_sent_at=now, last_alert_id=None)
            )
        if created:
            await conn.execute(deliveries.insert(), created)
            await announce(conn)
    return created
