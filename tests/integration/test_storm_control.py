"""Digests, throttles and silences in the store, on both databases, with a fake clock."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import sqlalchemy as sa

from alertwire.domain.alerts import parse_alerts
from alertwire.domain.crypto import Cipher
from alertwire.domain.digests import next_period_start, period_start
from alertwire.domain.integrations import IntegrationCreate
from alertwire.domain.silences import SilenceSpec
from alertwire.domain.triggers import Throttle, TriggerSpec
from alertwire.store import Store
from alertwire.store.schema import deliveries


async def channel(store: Store, name: str = "hook") -> str:
    hook = await store.integrations.create(
        IntegrationCreate(name=name, url="https://hooks.example.com/x"))
    await store.integrations.set_status(hook.id, "active")
    return hook.id


def alerts(*items: dict[str, Any]) -> Any:
    return parse_alerts(json.dumps(list(items)).encode())


async def all_deliveries(store: Store) -> list[dict[str, Any]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(deliveries).order_by(deliveries.c.id))
        return [dict(r._mapping) for r in rows]


async def test_daily_digest_once_per_period(store: Store) -> None:
    """At the period's end each channel gets one digest; a second run sends nothing; an empty
    period sends nothing; a period missed while down is sent on the next run, once."""
    channels = [await channel(store, "a"), await channel(store, "b")]
    trigger = await store.triggers.create(TriggerSpec(
        name="daily", filter="Action = Block", channels=channels, frequency="daily",
        timezone="Europe/Berlin"))
    await store.alerts.ingest(alerts({"Action": "Block", "PolicyName": "p1"},
                                     {"Action": "Allow"}, {"Action": "Block",
                                                           "PolicyName": "p2"}))
    now = time.time()
    assert await store.send_due_digests(now) == 0  # the day is not over
    end_of_day = next_period_start("daily", "Europe/Berlin",
                                   period_start("daily", "Europe/Berlin", now))
    assert await store.send_due_digests(end_of_day + 1) == 2
    assert await store.send_due_digests(end_of_day + 2) == 0
    sent = await all_deliveries(store)
    assert {d["integration_id"] for d in sent} == set(channels)
    digest = json.loads(sent[0]["payload"])
    assert sent[0]["kind"] == "digest" and sent[0]["alert_count"] == 2
    assert digest["total"] == 2 and digest["counts"]["PolicyName"] == {"p1": 1, "p2": 1}
    # Three empty days later: nothing for the empty periods.
    assert await store.send_due_digests(end_of_day + 3 * 86400 + 5) == 0
    got = await store.triggers.get(trigger.id)
    assert got.digest_sent_until is not None and got.digest_sent_until > end_of_day


async def test_concurrent_digest_runs_send_once(store: Store) -> None:
    """Two processes running the scheduler at the same moment still send one digest."""
    hook = await channel(store)
    await store.triggers.create(TriggerSpec(name="d", filter="Action = Block",
                                            channels=[hook], frequency="weekly"))
    await store.alerts.ingest(alerts({"Action": "Block"}))
    later = time.time() + 8 * 86400
    other = Store(store.engine, Cipher("test-secret-key"))
    counts = await asyncio.gather(store.send_due_digests(later), other.send_due_digests(later))
    assert sorted(counts) == [0, 1]


async def test_throttle_first_then_counted_then_flushed(store: Store) -> None:
    """The first alert of a group goes at once; the rest of the period is counted and sent
    as one delivery carrying the count once the period ends; counts survive a restart."""
    hook = await channel(store)
    await store.triggers.create(TriggerSpec(
        name="t", filter="Action = Block", channels=[hook],
        throttle=Throttle(group_by=["PolicyName", "HostName"], period="10m")))
    batch = [{"Action": "Block", "PolicyName": "p", "HostName": "h", "n": i} for i in range(5)]
    other = {"Action": "Block", "PolicyName": "q", "HostName": "h"}
    result = await store.alerts.ingest(alerts(*batch, other))
    assert result.deliveries == 2
    more = await store.alerts.ingest(alerts(*batch[:3]))
    assert more.deliveries == 0
    assert await store.flush_throttles() == 0  # the period is not over

    restarted = Store(store.engine, Cipher("test-secret-key"))
    assert await restarted.flush_throttles(time.time() + 601) == 1
    assert await restarted.flush_throttles(time.time() + 602) == 0
    sent = await all_deliveries(store)
    assert [(d["kind"], d["alert_count"]) for d in sent] == [
        ("alert", 1), ("alert", 1), ("throttled", 7)]
    assert sum(d["alert_count"] for d in sent) == 9
    last_of_group = more.ids[-1]
    assert sent[-1]["alert_id"] == last_of_group


async def test_silence_stores_and_counts_but_does_not_deliver(store: Store) -> None:
    """During a silence, matching alerts are stored and counted but cause no delivery;
    others, and all alerts after it ends, are delivered."""
    hook = await channel(store)
    await store.triggers.create(TriggerSpec(name="t", filter="Action = Block",
                                            channels=[hook]))
    silence = await store.silences.create(SilenceSpec(
        filter="NamespaceName = staging", duration="1h", comment="maintenance"))
    result = await store.alerts.ingest(alerts(
        {"Action": "Block", "NamespaceName": "staging"},
        {"Action": "Block", "NamespaceName": "staging"},
        {"Action": "Block", "NamespaceName": "prod"}))
    assert len(result.ids) == 3 and result.deliveries == 1
    assert (await store.silences.get(silence.id)).matched_count == 2
    await store.silences.expire(silence.id)
    after = await store.alerts.ingest(alerts({"Action": "Block", "NamespaceName": "staging"}))
    assert after.deliveries == 1


async def _digest_day(store: Store, count: int, channels: list[str]) -> tuple[list[str], float]:
    """`count` distinct blocked alerts (and one that does not match) for a daily digest to
    `channels`; their ids and a moment after the day is over."""
    await store.triggers.create(TriggerSpec(
        name="storm", filter="Action = Block", channels=channels, frequency="daily"))
    batch = [{"Action": "Block", "PolicyName": f"p{i % 7}", "PodName": f"pod-{i}",
              "Severity": "5"} for i in range(count)]
    result = await store.alerts.ingest(alerts(*batch, {"Action": "Allow"}))
    now = time.time()
    return result.ids[:count], next_period_start("daily", "UTC",
                                                 period_start("daily", "UTC", now)) + 1


async def test_a_digest_of_500_alerts_is_sent_in_parts(store: Store) -> None:
    """500 alerts in a period make ceil(500/50) = 10 digest deliveries per channel: each
    part carries the totals of the whole period, its number, and only its own alerts, and
    every alert is listed in exactly one part per channel; none is left out."""
    channels = [await channel(store, "a"), await channel(store, "b")]
    ids, after = await _digest_day(store, 500, channels)
    assert await store.send_due_digests(after) == 20
    assert await store.send_due_digests(after + 1) == 0
    sent = await all_deliveries(store)
    for hook in channels:
        mine = [d for d in sent if d["integration_id"] == hook]
        parts = [json.loads(d["payload"]) for d in mine]
        assert [p["part"] for p in parts] == [{"index": k, "count": 10} for k in range(1, 11)]
        assert all(p["total"] == 500 and p["alerts_left_out"] == 0 for p in parts)
        assert all(sum(p["counts"]["PolicyName"].values()) == 500 for p in parts)
        assert [len(p["alerts"]) for p in parts] == [50] * 10
        assert [d["alert_count"] for d in mine] == [50] * 10
        listed = [a["id"] for p in parts for a in p["alerts"]]
        assert sorted(listed) == sorted(ids)  # each alert in exactly one part
        assert listed == ids[::-1]  # newest first (ids grow in the order received)


async def test_a_storm_sends_at_most_20_parts_and_says_what_it_left_out(store: Store) -> None:
    """Beyond 20 parts (1,000 alerts) a period sends no more messages: the oldest alerts are
    listed in none, and the last part counts them; the parts' alert counts still add up to
    the period's total."""
    hook = await channel(store)
    ids, after = await _digest_day(store, 1030, [hook])
    assert await store.send_due_digests(after) == 20
    parts = [json.loads(d["payload"]) for d in await all_deliveries(store)]
    assert [p["alerts_left_out"] for p in parts] == [0] * 19 + [30]
    assert all(p["total"] == 1030 and p["part"]["count"] == 20 for p in parts)
    listed = [a["id"] for p in parts for a in p["alerts"]]
    assert listed == ids[30:][::-1]  # the 30 oldest are the ones left out
    sent = await all_deliveries(store)
    assert sum(d["alert_count"] for d in sent) == 1030
