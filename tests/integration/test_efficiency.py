"""A regression guard that does not depend on timing (SPEC §10): how many SQL statements
and HTTP requests alertwire spends per delivered alert."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import AppHarness
from tests.integration.test_delivery import active_integration, post_alerts, trigger
from tests.receiver import Receiver, eventually


@contextmanager
def sql_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block, in order."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_statements_and_requests_per_delivered_alert(
    api: AppHarness, receiver: Receiver
) -> None:
    """1,000 alerts in batches of 100, one realtime trigger, one integration: every alert
    costs exactly one HTTP request, and ingest plus delivery stay within a small, batched
    number of SQL statements (one per alert would mean a batching regression)."""
    hook = await active_integration(api, receiver.url + "/status/204", max_concurrency=100)
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    with sql_statements(api.services.store.engine) as statements:
        for batch in range(10):
            await post_alerts(api, json.dumps(
                [{"Action": "Block", "n": batch * 100 + i} for i in range(100)]).encode())
        await eventually(lambda: len(receiver.requests) == 1000, timeout=60)
        await asyncio.sleep(0.3)  # the last attempts are recorded
    assert len(receiver.requests) == 1000
    per_alert = len(statements) / 1000
    print(f"SQL statements per delivered alert: {per_alert:.3f} ({len(statements)} in all)")
    # Measured 0.20: batched ingest (new deliveries handed to the worker in the same
    # transaction), batched records, one read of the integration per second shared by all
    # its deliveries. Each delivery reading it when the cache went stale made it 0.40;
    # one extra query per delivery would push it past 1.2.
    assert per_alert <= 0.3, f"{len(statements)} statements for 1000 alerts"


async def test_concurrent_single_alerts_share_commits(api: AppHarness) -> None:
    """Group commit: 64 one-alert requests at once are stored in far fewer write
    transactions than requests, each still answered only once its alert is durable."""
    with sql_statements(api.services.store.engine) as statements:
        answers = await asyncio.gather(*(
            api.client.post("/api/v1/alerts", json={"Action": "Block", "n": i})
            for i in range(64)))
    commits = [s for s in statements if s.startswith("INSERT INTO alerts")]
    assert [a.status_code for a in answers] == [202] * 64
    ids = [a.json()["ids"][0] for a in answers]
    assert len(set(ids)) == 64
    for n in (0, 63):  # each answer names its own alert
        stored = (await api.client.get(f"/api/v1/alerts/{ids[n]}")).json()
        assert stored["alert"] == {"Action": "Block", "n": n}
    # Without group commit this is 64 (one transaction per request).
    assert len(commits) <= 16, f"{len(commits)} ingest transactions for 64 requests"


async def test_single_alert_request_work(api: AppHarness, monkeypatch: Any) -> None:
    """One alert per POST (SPEC §10 single-alert ingest): no thread hop, nothing for
    FastAPI to resolve (`AlertIntake` answers: FastAPI's routing, dependencies and
    serialisation cost more CPU than storing the alert), and a fixed, small number of SQL
    statements per request (token lookup, then the ingest transaction), whatever the number
    of requests already made."""
    import starlette.concurrency

    hops: list[object] = []
    real = starlette.concurrency.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(func)
        return await real(func, *args, **kwargs)

    # FastAPI calls it through its own module globals.
    import fastapi.dependencies.utils
    import fastapi.routing
    monkeypatch.setattr(fastapi.dependencies.utils, "run_in_threadpool", counted)
    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", counted)
    solved: list[object] = []
    real_solve = fastapi.routing.solve_dependencies

    async def solve(*args: Any, **kwargs: Any) -> Any:
        solved.append(kwargs["dependant"].call)
        return await real_solve(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", solve)
    monkeypatch.setattr(fastapi.dependencies.utils, "solve_dependencies", solve)  # recursion
    await api.client.post("/api/v1/alerts", json={"Action": "Block", "n": -1})  # warm
    with sql_statements(api.services.store.engine) as statements:
        for n in range(20):
            answer = await api.client.post("/api/v1/alerts", json={"Action": "Block", "n": n})
            assert answer.status_code == 202
    assert hops == [], f"threadpool calls per request: {hops[:3]}"
    assert solved == [], f"FastAPI solved {len(solved)} dependencies for 20 requests"
    print(f"SQL statements per single-alert request: {len(statements) / 20:.2f}")
    assert len(statements) / 20 <= 4, "\n".join(s[:90] for s in statements[:12])


async def test_statements_per_alert_one_at_a_time(api: AppHarness, receiver: Receiver) -> None:
    """Alerts that come one at a time (the latency case of SPEC §10) each cost one ingest
    transaction (which hands the new delivery to the embedded worker) and one record
    transaction, and nothing more: no claim, no next-due query, no re-claim after a record."""
    hook = await active_integration(api, receiver.url + "/status/204")
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await asyncio.sleep(0.3)  # the worker has gone idle
    with sql_statements(api.services.store.engine) as statements:
        for n in range(20):
            await post_alerts(api, json.dumps({"Action": "Block", "n": n}).encode())
            await eventually(lambda n=n: len(receiver.requests) == n + 1, timeout=10)
            await asyncio.sleep(0.05)  # recorded before the next one comes
    per_alert = len(statements) / 20
    print(f"SQL statements per alert, one at a time: {per_alert:.1f}")
    # The embedded worker takes each new delivery inside the ingest transaction: ingest 7
    # (BEGIN, routes, silences, in flight, limits, alert, delivery), record 4 (BEGIN,
    # attempt, delivery, integration), the integration re-read once a second: measured
    # 11.8. With a claim transaction per alert (6 more) it was 15.4; claiming again after
    # every record and asking for the next due time after every claim made it 25.4.
    assert not [s for s in statements if s.startswith("UPDATE deliveries SET lease_until")], \
        "a claim ran: the new delivery was not handed to the worker"
    assert per_alert <= 12.5, "\n".join(s[:70] for s in statements[:40])
