"""`alertwire source kubearmor --relay HOST:PORT` against a gRPC relay started by the test
(SPEC §3, Appendix A): conversion, durable spooling while the server is down, reconnects."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx

from alertwire.sources.proto import kubearmor_pb2
from tests.e2e.server import REPO, Server, alertwire_cmd
from tests.fixtures import FIXTURES
from tests.receiver import eventually
from tests.relay import NOT_ON_THE_WIRE, Relay, from_json, load

TOKEN = "aw_relay_test_admin"


class Source:
    """`alertwire source kubearmor` as a subprocess."""

    def __init__(self, relay: Relay, server: Server, token: str, spool: Path) -> None:
        self.cmd = alertwire_cmd("source", "kubearmor", "--relay", relay.target, "--logs",
                                 "--spool", str(spool), "--max-backoff", "0.5")
        self.env = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": token,
                                 "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Source:
        self.process = subprocess.Popen(self.cmd, cwd=REPO, env=self.env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return self

    def stop(self) -> str:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        return out


def queued(spool: Path) -> int:
    with sqlite3.connect(spool) as db:
        return int(db.execute("SELECT count(*) FROM spool").fetchone()[0])


def marked(n: int) -> Any:
    return kubearmor_pb2.Alert(HostName="node-1", PID=100_000 + n, PolicyName="relay-test",
                               Action="Block", Type="MatchedHostPolicy", Severity="5",
                               Timestamp=1_700_000_000 + n)


async def test_relay_stream_spool_restarts_and_reconnects(tmp_path: Path) -> None:
    """Alerts and logs streamed by the relay are stored as the KubeArmor JSON of the upstream
    samples; while the server is killed they pile up in the spool and all arrive, each
    exactly once, when it is back; alerts spooled when the source itself is stopped are sent
    by the next source; a relay restart is followed by a reconnect and alerts flow again."""
    server = Server(tmp_path / "data", env={"ALERTWIRE_ADMIN_TOKEN": TOKEN})
    relay = await Relay().start()
    spool = tmp_path / "spool.db"
    await asyncio.to_thread(server.start)
    source: Source | None = None
    outputs: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            ingest = (await api.post("/api/v1/tokens", json={
                "name": "relay", "scopes": ["ingest"]})).json()["token"]
            source = Source(relay, server, ingest, spool).start()

            async def watching(n: int = 1) -> bool:
                return all(len(relay.watchers[s]) == n for s in ("alerts", "logs"))

            await eventually(watching, timeout=20)
            assert sorted(relay.requests) == [("alerts", "all"), ("logs", "all")]
            assert relay.health_checks >= 2

            async def pids() -> list[int]:
                items: list[dict[str, Any]] = []
                cursor = None
                while True:
                    page = (await api.get("/api/v1/alerts", params={
                        "limit": 500, **({"cursor": cursor} if cursor else {})})).json()
                    items += page["items"]
                    cursor = page["next_cursor"]
                    if not cursor:
                        return [i["alert"]["PID"] for i in items
                                if i["alert"].get("PolicyName") == "relay-test"]

            # 1. Every upstream sample, as the relay would stream it.
            samples = sorted((FIXTURES / "kubearmor").glob("*/*.json"))
            for path in samples:
                stream = "logs" if "logs" in path.parts else "alerts"
                kind = kubearmor_pb2.Log if stream == "logs" else kubearmor_pb2.Alert
                assert relay.publish(stream, from_json(kind, load(path))) == 1
            await eventually(lambda: _total(api, len(samples)), timeout=15)
            listed = (await api.get("/api/v1/alerts", params={"limit": 100})).json()["items"]
            assert {i["source"] for i in listed} == {"kubearmor"}
            stored = [i["alert"] for i in reversed(listed)]
            expected = [{k: v for k, v in load(p).items() if k not in NOT_ON_THE_WIRE and v != 0}
                        for p in samples]
            canonical = lambda a: json.dumps(a, sort_keys=True)  # noqa: E731
            assert sorted(map(canonical, stored)) == sorted(map(canonical, expected))

            # 2. The server is killed: the relay keeps streaming, the spool keeps it all.
            await asyncio.to_thread(server.stop, signal.SIGKILL)
            for n in range(20):
                relay.publish("alerts", marked(n))
            await eventually(lambda: queued(spool) == 20, timeout=15)
            await asyncio.to_thread(server.start)
            want = [100_000 + n for n in range(20)]
            await eventually(lambda: _has(pids(), want), timeout=20)
            await eventually(lambda: queued(spool) == 0, timeout=10)

            # 3. The source is stopped with alerts still spooled; the next one sends them.
            await asyncio.to_thread(server.stop, signal.SIGKILL)
            for n in range(20, 25):
                relay.publish("alerts", marked(n))
            await eventually(lambda: queued(spool) == 5, timeout=15)
            outputs.append(await asyncio.to_thread(source.stop))
            await asyncio.to_thread(server.start)
            await asyncio.sleep(0.5)
            assert queued(spool) == 5  # nobody was sending them meanwhile
            source = Source(relay, server, ingest, spool).start()
            want += [100_000 + n for n in range(20, 25)]
            await eventually(lambda: _has(pids(), want), timeout=20)

            # 4. The relay restarts (same port): the source reconnects and alerts flow again.
            await relay.stop()
            await asyncio.sleep(0.3)
            await relay.start()
            await eventually(watching, timeout=20)
            for n in range(25, 28):
                relay.publish("alerts", marked(n))
            want += [100_000 + n for n in range(25, 28)]
            await eventually(lambda: _has(pids(), want), timeout=20)

            assert sorted(await pids()) == want  # each exactly once: nothing lost, nothing doubled
    finally:
        if source is not None:
            outputs.append(await asyncio.to_thread(source.stop))
            print(*outputs)
        await relay.stop()
        await asyncio.to_thread(server.stop)
    assert "connected to the KubeArmor relay" in outputs[0]
    assert "kept in the spool" in outputs[0]
    assert "5 queued" in outputs[1]


async def _total(api: httpx.AsyncClient, n: int) -> bool:
    items = (await api.get("/api/v1/alerts", params={"limit": 500})).json()["items"]
    return len(items) >= n


async def _has(found: Any, want: list[int]) -> bool:
    return set(want) <= set(await found)
