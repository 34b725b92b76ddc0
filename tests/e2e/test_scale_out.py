"""Scale-out on PostgreSQL: an API process and separate worker processes sharing the
machine's real PostgreSQL, under faults (SPEC §5, §9)."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import fresh_pg_database
from tests.e2e.server import Server, Worker
from tests.receiver import Receiver, eventually

TOKEN = "aw_scale_out_admin"


class Cluster:
    """`serve --no-workers` plus N `alertwire worker` processes on one database."""

    def __init__(self, tmp_path: Path, database_url: str, **env: str) -> None:
        self.env = {
            "ALERTWIRE_DATABASE_URL": database_url, "ALERTWIRE_ADMIN_TOKEN": TOKEN,
            "ALERTWIRE_SECRET_KEY": "scale-out-key", "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8",
            "ALERTWIRE_DATA_DIR": str(tmp_path / "data"),
        } | env
        self.server = Server(tmp_path / "data", env=self.env, args=("--no-workers",))
        self.workers: list[Worker] = []
        self.api = httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {TOKEN}"})

    async def start(self, workers: int) -> Cluster:
        await asyncio.to_thread(self.server.start)
        self.api.base_url = httpx.URL(self.server.url)
        self.workers = [Worker(self.env).start() for _ in range(workers)]
        return self

    async def stop(self) -> None:
        for worker in self.workers:
            if worker.alive():
                await asyncio.to_thread(worker.stop)
        await asyncio.to_thread(self.server.stop)
        await self.api.aclose()

    async def integration(self, url: str, **changes: Any) -> str:
        created = (await self.api.post("/api/v1/integrations",
                                       json={"name": "r", "url": url} | changes)).json()
        assert (await self.api.post(f"/api/v1/integrations/{created['id']}/test")).json()["ok"]
        assert (await self.api.post(
            f"/api/v1/integrations/{created['id']}/connect")).status_code == 200
        await self.api.post("/api/v1/triggers", json={
            "name": "all", "filter": "Action = Block", "channels": [created["id"]]})
        return str(created["id"])

    async def post(self, alerts: list[dict[str, Any]]) -> None:
        for start in range(0, len(alerts), 500):
            answer = await self.api.post("/api/v1/alerts",
                                         content=json.dumps(alerts[start:start + 500]))
            assert answer.status_code == 202, answer.text

    async def statuses(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        cursor = None
        while True:
            params = {"limit": "500"} | ({"cursor": cursor} if cursor else {})
            page = (await self.api.get("/api/v1/deliveries", params=params)).json()
            counts.update(d["status"] for d in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return counts


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    yield started
    await started.stop()


def seqs(receiver: Receiver) -> Counter[int]:
    """How often each alert arrived as a delivery (Test Connection requests left out)."""
    return Counter(json.loads(r.body)["seq"] for r in receiver.requests
                   if (r.header("webhook-id") or "").startswith("dlv_"))


async def test_workers_share_limits_and_wake_on_notify(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Three workers: an integration capped at 2 concurrent requests never sees a third,
    every alert arrives exactly once, and NOTIFY wakes idle workers in milliseconds."""
    async with fresh_pg_database() as url:
        cluster = await Cluster(tmp_path, url).start(workers=3)
        try:
            await cluster.integration(receiver.url + "/delay/0.2", max_concurrency=2)
            receiver.requests.clear()
            receiver.max_in_flight = 0
            await cluster.post([{"Action": "Block", "seq": i} for i in range(40)])
            await eventually(lambda: len(seqs(receiver)) == 40, timeout=60)
            assert receiver.max_in_flight == 2
            assert set(seqs(receiver).values()) == {1}

            await asyncio.sleep(1.5)  # all workers idle
            latencies = []
            for i in range(40, 46):
                receiver.requests.clear()
                sent = time.time()
                await cluster.post([{"Action": "Block", "seq": i}])
                await eventually(lambda: len(receiver.requests) == 1, timeout=10)
                latencies.append(receiver.requests[0].at - sent)
                await asyncio.sleep(0.35)
            # 0.2 s of receiver delay is not in `at`; polling alone would average 0.5 s.
            assert statistics.median(latencies) < 0.15, latencies
        finally:
            await cluster.stop()


async def test_rate_limit_holds_across_workers(tmp_path: Path, receiver: Receiver) -> None:
    """A 5 requests/s limit shared by three workers: 25 deliveries take at least 4 s and no
    second sees more than the bucket allows."""
    async with fresh_pg_database() as url:
        cluster = await Cluster(tmp_path, url).start(workers=3)
        try:
            await cluster.integration(receiver.url + "/status/200", rate_limit=5,
                                      max_concurrency=50)
            receiver.requests.clear()
            await cluster.post([{"Action": "Block", "seq": i} for i in range(25)])
            await eventually(lambda: len(seqs(receiver)) == 25, timeout=60)
            times = sorted(r.at for r in receiver.requests)
            assert times[-1] - times[0] >= 3.5
            for i, start in enumerate(times):
                in_window = sum(1 for t in times[i:] if t < start + 1.0)
                assert in_window <= 5 + 5, in_window  # a full bucket plus one second's refill
        finally:
            await cluster.stop()


async def test_sigkill_a_worker_every_second(tmp_path: Path, receiver: Receiver) -> None:
    """Four workers, 10,000 alerts, one worker SIGKILLed (and replaced) every second: every
    delivery arrives, any repeat comes only after the lease ran out, nothing is left
    pending.

    The next kill waits for the previous replacement to be up, so that on a loaded machine
    (where a Python start-up takes seconds) the workers are not all killed before they claim
    anything. Arrival times are stamped by the receiver's event loop in this busy process: a
    first copy can be stamped up to about a second late, so a repeat must come at least
    `lease - stamp_slack` after it; a double claim would show as a gap near zero."""
    lease, stamp_slack = 3.0, 1.0
    async with fresh_pg_database() as url:
        cluster = await Cluster(tmp_path, url, ALERTWIRE_LEASE_SECONDS=str(lease)).start(
            workers=4)
        try:
            await cluster.integration(receiver.url + "/status/200", max_concurrency=200)
            receiver.requests.clear()
            await cluster.post([{"Action": "Block", "seq": i} for i in range(10_000)])
            kills = 0
            deadline = time.monotonic() + 240
            while len(seqs(receiver)) < 10_000 and time.monotonic() < deadline:
                await asyncio.sleep(1)
                victim = cluster.workers[kills % 4]
                await asyncio.to_thread(victim.stop, signal.SIGKILL)
                cluster.workers[kills % 4] = replacement = Worker(cluster.env).start()
                await asyncio.to_thread(replacement.wait_ready)
                kills += 1
            assert len(seqs(receiver)) == 10_000
            assert kills >= 3, "the run ended before the faults could matter"
            arrivals: dict[str, list[float]] = {}
            for r in receiver.requests:
                arrivals.setdefault(r.header("webhook-id") or "", []).append(r.at)
            for times in arrivals.values():
                for first, second in itertools.pairwise(times):
                    assert second - first >= lease - stamp_slack
            await eventually(lambda: _settled(cluster, 10_000), timeout=60)
        finally:
            await cluster.stop()


async def _settled(cluster: Cluster, total: int) -> bool:
    return (await cluster.statuses()) == Counter({"delivered": total})


async def test_receiver_down_then_back(tmp_path: Path) -> None:
    """While the receiver is down deliveries fail and are retried; once it is back on the
    same port the backlog drains with nothing lost."""
    receiver = await Receiver().start()
    port = receiver.port
    async with fresh_pg_database() as url:
        cluster = await Cluster(tmp_path, url, ALERTWIRE_RETRY_SCHEDULE="0.5,0.5,1,1,1,1,1,1,1,1",
                                ALERTWIRE_CIRCUIT_COOLDOWN="2").start(workers=2)
        try:
            await cluster.integration(receiver.url + "/status/200")
            await receiver.stop()
            await cluster.post([{"Action": "Block", "seq": i} for i in range(200)])

            async def failing() -> bool:
                return (await cluster.statuses()).get("failed", 0) > 0

            await eventually(failing, timeout=30)
            receiver = await Receiver(port=port).start()
            await eventually(lambda: len(seqs(receiver)) == 200, timeout=60)
            await eventually(lambda: _settled(cluster, 200), timeout=30)
        finally:
            await cluster.stop()
            await receiver.stop()


async def test_sigterm_drains_in_flight(tmp_path: Path, receiver: Receiver) -> None:
    """SIGTERM: the worker finishes the deliveries it is sending and records them before it
    exits; none is sent again."""
    async with fresh_pg_database() as url:
        cluster = await Cluster(tmp_path, url).start(workers=1)
        try:
            await cluster.integration(receiver.url + "/delay/2", max_concurrency=10)
            receiver.requests.clear()
            await cluster.post([{"Action": "Block", "seq": i} for i in range(5)])
            await eventually(lambda: len(receiver.requests) == 5, timeout=20)
            output = await asyncio.to_thread(cluster.workers[0].stop, signal.SIGTERM)
            assert cluster.workers[0].process is not None
            assert cluster.workers[0].process.returncode == 0, output
            assert await cluster.statuses() == Counter({"delivered": 5})
            cluster.workers = [Worker(cluster.env).start()]
            await asyncio.sleep(2)
            assert len(receiver.requests) == 5
        finally:
            await cluster.stop()


def restart_postgresql() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)


async def test_postgresql_restart_mid_run(tmp_path: Path, receiver: Receiver) -> None:
    """PostgreSQL restarts while deliveries are flowing: the API and the workers reconnect by
    themselves and the run completes with every alert delivered."""
    async with fresh_pg_database() as url:
        cluster = await Cluster(tmp_path, url, ALERTWIRE_LEASE_SECONDS="3").start(workers=2)
        try:
            await cluster.integration(receiver.url + "/delay/0.01", max_concurrency=20)
            receiver.requests.clear()
            await cluster.post([{"Action": "Block", "seq": i} for i in range(1000)])
            await eventually(lambda: len(seqs(receiver)) >= 100, timeout=60)
            await asyncio.to_thread(restart_postgresql)
            for _ in range(30):  # the API's first request after the restart may fail
                try:
                    await cluster.post([{"Action": "Block", "seq": i} for i in range(1000, 1500)])
                    break
                except (AssertionError, httpx.HTTPError):
                    await asyncio.sleep(1)
            else:
                raise AssertionError("the API did not recover after the restart")
            await eventually(lambda: len(seqs(receiver)) == 1500, timeout=120)
            await eventually(lambda: _settled(cluster, 1500), timeout=60)
        finally:
            await cluster.stop()
