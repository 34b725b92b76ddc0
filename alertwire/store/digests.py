"""Digest deliveries: one per period per channel, sent once the period is over (SPEC §4), or
one per part and channel when the period's alerts are too many for one message (SPEC §6,
`domain/digests.py`)."""

from __future__ import annotations

import json
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from alertwire.domain.digests import build_digest_parts, completed_periods
from alertwire.domain.triggers import DIGEST_FREQUENCIES, Matcher
from alertwire.store.alerts import AlertStore
from alertwire.store.db import writing
from alertwire.store.ids import ordered_id
from alertwire.store.notify import announce
from alertwire.store.schema import deliveries, triggers
from alertwire.store.triggers import TriggerStore


async def send_due(
    engine: AsyncEngine, trigger_store: TriggerStore, alert_store: AlertStore,
    now: float | None = None,
) -> int:
    """Create the digest deliveries of every period that has ended and was not sent yet (a
    period of many alerts: one per part and channel); returns how many deliveries were
    created. A part's `alert_count` is the alerts it stands for: its own, plus, in the last
    part, those no part lists, so a period's parts add up to its total. Periods that ended
    while the server was down are caught up on the next call. Each period is claimed by
    moving the trigger's `digest_sent_until` forward only if it still holds the value read,
    so two processes can never both send one period."""
    now = time.time() if now is None else now
    async with engine.connect() as conn:
        routes = await trigger_store.routes(conn, DIGEST_FREQUENCIES)
    created = 0
    for route in routes:
        sent_until = route.digest_sent_until
        matcher = Matcher.compile(route.filter, route.threat_level)
        for start, end in completed_periods(route.frequency, route.timezone,
                                            sent_until or now, now):
            items = await alert_store.received_between(start, end, matcher.matches)
            async with writing(engine) as conn:
                moved = await conn.execute(
                    triggers.update().where(triggers.c.id == route.trigger_id,
                                            triggers.c.digest_sent_until == sent_until)
                    .values(digest_sent_until=end)
                )
                if moved.rowcount == 0:
                    break  # another process sent it, or the trigger changed meanwhile
                if items:  # nothing is sent for an empty period
                    parts = build_digest_parts(route.name, route.frequency, route.timezone,
                                               start, end, items)
                    await conn.execute(deliveries.insert(), [{
                        "id": ordered_id("dlv"), "alert_id": None,
                        "integration_id": integration_id, "trigger_id": route.trigger_id,
                        "status": "pending", "attempt_count": 0, "next_attempt_at": now,
                        "is_fallback": False, "created_at": now, "kind": "digest",
                        "alert_count": len(part["alerts"]) + part["alerts_left_out"],
                        "payload": json.dumps(part),
                    } for part in parts for integration_id in route.integration_ids])
                    created += len(parts) * len(route.integration_ids)
                    await announce(conn)
            sent_until = end
    return created
