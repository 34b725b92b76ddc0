"""The seed's flow from the command line: `alertwire alerts send` and `alertwire simulate`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.server import REPO, Server, alertwire_cmd
from tests.fixtures import FIXTURES
from tests.receiver import Receiver, eventually

TOKEN = "aw_cli_test_admin"


def run_cli(server: Server, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": TOKEN}
    return subprocess.run(alertwire_cmd(*args), cwd=REPO, env=env, capture_output=True,
                          text=True, input=None if stdin is None else stdin.decode(), timeout=60)


async def test_trigger_simulate_and_see_the_payload_arrive(tmp_path: Path) -> None:
    """Create a trigger `Action = Block`, simulate a file-integrity violation, and the
    KubeArmor payload reaches the integration within a second; `alerts send` posts files
    and stdin exactly as they are."""
    receiver = await Receiver().start()
    server = Server(tmp_path / "data", env={"ALERTWIRE_ADMIN_TOKEN": TOKEN,
                                            "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8"})
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            hook = (await api.post("/api/v1/integrations",
                                   json={"name": "r", "url": receiver.url + "/hook"})).json()
            await api.post(f"/api/v1/integrations/{hook['id']}/test")
            await api.post(f"/api/v1/integrations/{hook['id']}/connect")
            await api.post("/api/v1/triggers", json={
                "name": "Blocked", "filter": "Action = Block", "channels": [hook["id"]]})
            receiver.requests.clear()

            started = time.monotonic()
            result = await asyncio.to_thread(run_cli, server, "simulate", "file-integrity")
            assert result.returncode == 0, result.stderr
            assert "accepted 1 alert" in result.stdout
            await eventually(lambda: len(receiver.requests) == 1, timeout=10)
            assert time.monotonic() - started < 5
            sent = json.loads(receiver.requests[0].body)
            assert sent["Action"] == "Block"
            assert sent["Message"] == "Detected and prevented compromise to File integrity"
            assert sent["Operation"] == "File" and sent["Type"] == "MatchedPolicy"

            fixture = FIXTURES / "kubearmor/alerts/fim-touch-block-saas.json"
            result = await asyncio.to_thread(run_cli, server, "alerts", "send", str(fixture))
            assert result.returncode == 0, result.stderr
            await eventually(lambda: len(receiver.requests) == 2, timeout=10)
            assert receiver.requests[1].body == fixture.read_bytes().strip()

            batch = json.dumps([{"Action": "Audit", "n": 1}, {"Action": "Audit", "n": 2}])
            result = await asyncio.to_thread(run_cli, server, "alerts", "send", "-",
                                             stdin=batch.encode())
            assert result.returncode == 0, result.stderr
            assert "accepted 2 alert" in result.stdout
            listed = (await api.get("/api/v1/alerts", params={"filter": "Action = Audit"})).json()
            assert [a["alert"]["n"] for a in listed["items"]] == [2, 1]

            bad = await asyncio.to_thread(run_cli, server, "alerts", "send", "-",
                                          stdin=b"{not json")
            assert bad.returncode == 1 and "400" in bad.stderr
    finally:
        await asyncio.to_thread(server.stop)
        await receiver.stop()
