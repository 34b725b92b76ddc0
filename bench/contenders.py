"""The programs measured side by side: alertwire itself, Alertmanager, a bare aiohttp client and
a bare FastAPI endpoint. Each is started fresh for its measurement."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx

from alertwire.domain.samples import kubearmor_file_integrity_alert
from bench.sink import Sink, wait_for_port
from tests.conftest import fresh_pg_database
from tests.e2e.server import REPO, Server, Worker, free_port

TOKEN = "aw_bench_admin"
CONCURRENCY = 128  # alertwire's per-integration cap and the bare client's, the same


def distinct_alerts(count: int, start: int = 0) -> list[dict[str, Any]]:
    """KubeArmor Block alerts that differ in `seq` and PID, as one policy storm would."""
    base = kubearmor_file_integrity_alert()
    return [base | {"seq": i, "PID": 1000 + i} for i in range(start, start + count)]


class Alertwire:
    """`alertwire serve` (API and workers in one process) with one realtime trigger routing
    `Action = Block` to one active integration at `target`."""

    def __init__(self, server: Server, database_url: str) -> None:
        self.server = server
        self.database_url = database_url
        self.workers: list[int] = []  # pids of `alertwire worker` processes, if any
        self.api = httpx.AsyncClient(base_url=server.url, timeout=60,
                                     headers={"Authorization": f"Bearer {TOKEN}"})

    async def route_to(self, target: str) -> str:
        created = (await self.api.post("/api/v1/integrations", json={
            "name": "sink", "url": target, "success_codes": [200, 204],
            "max_concurrency": CONCURRENCY})).json()
        tested = (await self.api.post(f"/api/v1/integrations/{created['id']}/test")).json()
        assert tested["ok"], tested
        assert (await self.api.post(f"/api/v1/integrations/{created['id']}/connect")).is_success
        answer = await self.api.post("/api/v1/triggers", json={
            "name": "blocks", "filter": "Action = Block", "channels": [created["id"]]})
        assert answer.is_success, answer.text
        return str(created["id"])

    async def delivered(self) -> tuple[int, float | None]:
        """How many deliveries are recorded as delivered, and the time of the last one."""
        sql = ("SELECT count(*), max(delivered_at) FROM deliveries "
               "WHERE status = 'delivered' AND kind = 'alert'")
        if self.database_url.startswith("sqlite"):
            import sqlite3

            path = self.database_url.removeprefix("sqlite:///")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                count, last = db.execute(sql).fetchone()
        else:
            conn = await asyncpg.connect(self.database_url)
            try:
                count, last = await conn.fetchrow(sql)
            finally:
                await conn.close()
        return int(count), last

    async def wait_delivered(self, total: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while True:
            count, last = await self.delivered()
            if count >= total and last is not None:
                return float(last)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} of {total} deliveries recorded as delivered")
            await asyncio.sleep(0.1)

    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def cpu_seconds(self) -> float:
        """CPU time the server and worker processes have used (all threads, user + system)."""
        total = 0.0
        for pid in (self.pid(), *self.workers):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@asynccontextmanager
async def alertwire(database: str, data_dir: Path | None = None, workers: int = 0,
                    **env: str) -> AsyncIterator[Alertwire]:
    """A fresh alertwire on `database` ("sqlite" or "postgresql"). With `workers`, the API
    server delivers nothing itself and that many `alertwire worker` processes deliver."""
    owned = data_dir is None
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="alertwire-bench-"))
    async with _database_url(database, data_dir) as url:
        server = Server(data_dir, env={
            "ALERTWIRE_ADMIN_TOKEN": TOKEN, "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8",
            "ALERTWIRE_DATABASE_URL": url, "ALERTWIRE_SECRET_KEY": "bench",
            # Failures only, as Alertmanager runs here (--log.level=warn): at the default
            # (info) every delivered attempt is also a JSON log line.
            "ALERTWIRE_LOG_LEVEL": "warning",
        } | ({"ALERTWIRE_WORKERS": "false"} if workers else {}) | env)
        await asyncio.to_thread(server.start, 120)
        running = Alertwire(server, url)
        delivering = [Worker(server.env | {"ALERTWIRE_WORKERS": "true"}).start()
                      for _ in range(workers)]
        for worker in delivering:
            await asyncio.to_thread(worker.wait_ready)
        running.workers = [w.process.pid for w in delivering if w.process is not None]
        profiler = _profile(running.pid(), database)
        try:
            yield running
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
            await running.api.aclose()
            for worker in delivering:
                await asyncio.to_thread(worker.stop)
            await asyncio.to_thread(server.stop)
            if owned:
                shutil.rmtree(data_dir, ignore_errors=True)


def _profile(pid: int, label: str) -> subprocess.Popen[bytes] | None:
    """With BENCH_PROFILE=DIR, py-spy samples the server into DIR as collapsed stacks."""
    out = os.environ.get("BENCH_PROFILE")
    if not out:
        return None
    Path(out).mkdir(parents=True, exist_ok=True)
    target = Path(out) / f"alertwire-{label}-{time.strftime('%H%M%S')}.txt"
    py_spy = str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([py_spy, "record", "--pid", str(pid), "--format", "raw",
                             "--rate", "250", "--output", str(target), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@asynccontextmanager
async def _database_url(database: str, data_dir: Path) -> AsyncIterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{data_dir / 'alertwire.db'}"
    else:
        async with fresh_pg_database() as url:
            yield url


@contextmanager
def alertmanager(sink: Sink) -> Iterator[str]:
    """Debian's Alertmanager: every distinct alert its own group (`group_by: ['...']`),
    notified at once (`group_wait: 0s`) by webhook to the sink. Yields its API URL."""
    workdir = Path(tempfile.mkdtemp(prefix="alertwire-bench-am-"))
    (workdir / "alertmanager.yml").write_text(f"""
route:
  receiver: sink
  group_by: ['...']
  group_wait: 0s
  group_interval: 1h
  repeat_interval: 1000h
receivers:
  - name: sink
    webhook_configs:
      - url: {sink.url}
        send_resolved: false
""")
    port = free_port()
    try:
        with _listening(["prometheus-alertmanager",
                         f"--config.file={workdir / 'alertmanager.yml'}",
                         f"--storage.path={workdir / 'data'}",
                         f"--web.listen-address=127.0.0.1:{port}",
                         "--cluster.listen-address=", "--log.level=warn"], port):
            yield f"http://127.0.0.1:{port}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def as_prometheus_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """The same KubeArmor alert as Alertmanager labels and annotations."""
    return {
        "labels": {"alertname": alert["PolicyName"], "action": alert["Action"],
                   "host": alert["HostName"], "namespace": alert["NamespaceName"],
                   "process": alert["ProcessName"], "severity": str(alert["Severity"]),
                   "seq": str(alert["seq"])},
        "annotations": {"message": alert["Message"], "resource": alert["Resource"]},
    }


async def bare_client(url: str, bodies: list[bytes], concurrency: int) -> None:
    """The raw ceiling: one aiohttp session posting every body, `concurrency` at a time."""
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def lane() -> None:
            for body in queue:
                async with session.post(url, data=body, headers={
                        "Content-Type": "application/json"}) as response:
                    await response.read()

        await asyncio.gather(*(lane() for _ in range(concurrency)))


@contextmanager
def bare_fastapi() -> Iterator[str]:
    """The single-alert ingest baseline, run by uvicorn exactly as `alertwire serve` runs."""
    port = free_port()
    with _listening([sys.executable, "-m", "uvicorn", "bench.bare_fastapi:app", "--host",
                     "127.0.0.1", "--port", str(port), "--log-level", "warning"], port):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _listening(command: list[str], port: int) -> Iterator[None]:
    """Run `command` until the block ends, once it listens on `port`."""
    process = subprocess.Popen(command, cwd=REPO, env=os.environ | {"PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=30)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
