"""`/metrics`, `/healthz` and `/readyz` of a running app (SPEC §9)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from alertwire.store.db import head_revision, writing
from tests.conftest import PG_ADMIN_URL, AppHarness, fresh_pg_database, make_settings, start_app
from tests.fixtures import FIXTURES
from tests.integration.test_delivery import active_integration, deliveries, post_alerts, trigger
from tests.receiver import Receiver, eventually

KUBEARMOR = sorted((FIXTURES / "kubearmor").rglob("*.json"))
FALCO = sorted((FIXTURES / "falco").rglob("*.json"))


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus exposition, keyed by (name, labels)."""
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def scrape(api: AppHarness) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


async def anonymous(api: AppHarness, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app),
                                 base_url="http://t") as client:
        return await client.get(path)


async def readyz_status(api: AppHarness, status: int) -> bool:
    return (await anonymous(api, "/readyz")).status_code == status


@pytest.fixture
async def fast_retry_api(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path, retry_schedule=(0.05,), circuit_cooldown=0.05)
    async for harness in start_app(settings):
        yield harness


async def test_metrics_count_alerts_attempts_and_integrations(
    fast_retry_api: AppHarness, receiver: Receiver
) -> None:
    """Alerts are counted by source; attempts by integration and outcome (a 503 is `failed`
    then `dead`, a 200 `delivered`); every attempt's latency lands in the histogram; the
    integrations gauge counts each status; the queue is empty once all is sent."""
    api = fast_retry_api
    good = await active_integration(api, receiver.url + "/status/200", name="good")
    bad = await active_integration(api, receiver.url + "/status/200", name="bad")
    await api.client.patch(f"/api/v1/integrations/{bad['id']}",
                           json={"url": receiver.url + "/status/503"})
    await api.client.post("/api/v1/integrations", json={"name": "draft",
                                                         "url": receiver.url + "/"})
    await trigger(api, [good["id"], bad["id"]], filter="Action = Block")
    bodies = [json.loads(p.read_bytes()) for p in KUBEARMOR + FALCO]
    await post_alerts(api, json.dumps(bodies).encode())
    blocks = sum(1 for b in bodies if b.get("Action") == "Block")
    assert blocks >= 3

    async def settled() -> bool:
        done = await deliveries(api)
        return len(done) == 2 * blocks and all(d["status"] in ("delivered", "dead")
                                                for d in done)

    await eventually(settled)
    found = await scrape(api)
    assert value(found, "alertwire_alerts_received_total", source="kubearmor") == len(KUBEARMOR)
    assert value(found, "alertwire_alerts_received_total", source="falco") == len(FALCO)
    assert value(found, "alertwire_alerts_received_total", source="generic") == 0
    assert value(found, "alertwire_deliveries_created_total") == 2 * blocks
    attempts = "alertwire_delivery_attempts_total"
    assert value(found, attempts, integration_id=good["id"], outcome="delivered") == blocks
    assert value(found, attempts, integration_id=bad["id"], outcome="failed") == blocks
    assert value(found, attempts, integration_id=bad["id"], outcome="dead") == blocks
    assert (attempts, frozenset({("integration_id", good["id"]), ("outcome", "dead")})) \
        not in found
    assert value(found, "alertwire_attempt_latency_seconds_count") == 3 * blocks
    assert value(found, "alertwire_attempt_latency_seconds_sum") > 0
    assert value(found, "alertwire_integrations", status="active") == 2
    assert value(found, "alertwire_integrations", status="draft") == 1
    assert value(found, "alertwire_integrations", status="disabled") == 0
    assert value(found, "alertwire_queue_depth") == 0
    assert value(found, "alertwire_oldest_pending_age_seconds") == 0


async def test_metrics_queue_depth_and_oldest_pending_age(tmp_path: Path) -> None:
    """With no worker, waiting deliveries show as queue depth, and the oldest one's age grows
    while it waits."""
    async for api in start_app(make_settings(tmp_path, workers=False)):
        hook = (await api.client.post("/api/v1/integrations", json={
            "name": "m", "url": "http://127.0.0.1:9/"})).json()
        await api.services.store.integrations.set_status(hook["id"], "active")
        await trigger(api, [hook["id"]], filter="Action = Block")
        await post_alerts(api, json.dumps([{"Action": "Block"}] * 3).encode())
        first = await scrape(api)
        await asyncio.sleep(1.1)
        later = await scrape(api)
        assert value(first, "alertwire_queue_depth") == 3
        assert value(later, "alertwire_oldest_pending_age_seconds") >= 1.0
        assert value(later, "alertwire_oldest_pending_age_seconds") > value(
            first, "alertwire_oldest_pending_age_seconds")


async def test_metrics_are_per_app_not_per_test_run(tmp_path: Path) -> None:
    """Each app counts from zero: what an earlier app (an earlier test) counted does not leak
    into the next one, so no test depends on the order tests run in."""
    async for first in start_app(make_settings(tmp_path / "one", workers=False)):
        await post_alerts(first, (FIXTURES / "falco/falco-test-event.json").read_bytes())
        assert value(await scrape(first), "alertwire_alerts_received_total",
                     source="falco") == 1
    async for second in start_app(make_settings(tmp_path / "two", workers=False)):
        assert value(await scrape(second), "alertwire_alerts_received_total",
                     source="falco") == 0


async def test_healthz_and_readyz_need_no_token(fast_retry_api: AppHarness) -> None:
    """`/healthz` says the process is up; `/readyz` reports the database, its migration (the
    code's newest) and the running worker, all without a token."""
    api = fast_retry_api
    assert (await anonymous(api, "/healthz")).json() == {"status": "ok"}
    ready = await anonymous(api, "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "sqlite", "migration": head_revision(),
                            "workers": "running"}
    assert (await anonymous(api, "/metrics")).status_code == 200


async def test_readyz_without_workers(tmp_path: Path) -> None:
    """An API-only process (`serve --no-workers`) is ready without a worker of its own."""
    async for api in start_app(make_settings(tmp_path, workers=False)):
        ready = await anonymous(api, "/readyz")
        assert ready.status_code == 200
        assert ready.json()["workers"] == "none in this process"


async def test_readyz_fails_when_migrations_are_not_current(fast_retry_api: AppHarness) -> None:
    """A database at another migration than the code's newest (e.g. migrated by a newer
    alertwire) is not ready, and the answer names both revisions."""
    api = fast_retry_api
    async with api.services.store.engine.begin() as conn:
        await conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    ready = await anonymous(api, "/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable" and body["migration"] == "0099_future"
    assert f"at migration 0099_future; this alertwire expects {head_revision()}" in body["error"]


async def test_readyz_fails_when_the_worker_dies(fast_retry_api: AppHarness) -> None:
    """When the worker's claim loop dies, `/readyz` turns 503 and says how it died."""
    api = fast_retry_api
    worker = api.services.worker

    async def broken_idle(*_: object, **__: object) -> None:
        raise RuntimeError("simulated crash in the claim loop")

    worker._idle = broken_idle
    await eventually(lambda: readyz_status(api, 503), timeout=5)
    body = (await anonymous(api, "/readyz")).json()
    assert body["workers"] == "not running"
    assert body["error"] == ("the delivery worker's claim loop has stopped: "
                             "RuntimeError: simulated crash in the claim loop")


async def test_readyz_fails_while_the_worker_is_stalled(tmp_path: Path) -> None:
    """A worker whose claim loop cannot come round (here: another transaction holds the
    SQLite write lock) is reported stalled after ALERTWIRE_WORKER_STALL_AFTER, and ready
    again once it moves."""
    async for api in start_app(make_settings(tmp_path, worker_stall_after=0.5)):
        assert (await anonymous(api, "/readyz")).status_code == 200
        async with writing(api.services.store.engine):
            await eventually(lambda app=api: readyz_status(app, 503), timeout=5)
            error = (await anonymous(api, "/readyz")).json()["error"]
            assert error.startswith("the delivery worker is stalled: its claim loop has not "
                                    "come round for")
        await eventually(lambda app=api: readyz_status(app, 200), timeout=5)


@pytest.mark.postgres
async def test_readyz_fails_when_the_database_is_gone(tmp_path: Path) -> None:
    """With its PostgreSQL database gone, the process is alive (`/healthz`) but not ready."""
    async with fresh_pg_database() as url:
        async for api in start_app(make_settings(tmp_path, url, workers=False)):
            assert (await anonymous(api, "/readyz")).status_code == 200
            name = url.rsplit("/", 1)[1]
            await api.services.store.engine.dispose()
            admin = await asyncpg.connect(PG_ADMIN_URL)
            try:
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            finally:
                await admin.close()
            ready = await anonymous(api, "/readyz")
            assert ready.status_code == 503
            assert ready.json()["error"].startswith("the database is unreachable: ")
            assert name in ready.json()["error"]
            assert (await anonymous(api, "/healthz")).status_code == 200
