"""The inspector end to end on a real server: `serve --demo`, a simulated alert landing in a
bin byte for byte, the live stream, and `alertwire inspect` in a terminal (SPEC §7, §9)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import REPO, Server, alertwire_cmd
from tests.receiver import eventually

TOKEN = "aw_inspector_test_admin"


async def test_demo_simulated_alert_lands_in_the_bin_byte_for_byte(tmp_path: Path) -> None:
    """`serve --demo` with no allowed targets: the integration to the server's own bin is
    tested and connected, and a simulated alert goes through the `Action = Block` trigger
    into the bin, where it reads back exactly as the server stored it."""
    server = Server(tmp_path / "data", env={"ALERTWIRE_ADMIN_TOKEN": TOKEN},
                    args=("--demo",))
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            async def demo_ready() -> bool:
                listed = (await api.get("/api/v1/integrations")).json()["items"]
                triggers = (await api.get("/api/v1/triggers")).json()["items"]
                return bool(listed and listed[0]["status"] == "active" and triggers)

            await eventually(demo_ready, timeout=30)
            (bin_,) = (await api.get("/api/v1/bins")).json()
            assert bin_["url"].startswith("http://127.0.0.1:")
            env = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": TOKEN}
            result = await asyncio.to_thread(
                subprocess.run, alertwire_cmd("simulate", "file-integrity"), cwd=REPO, env=env,
                capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            alert_id = result.stdout.strip().rsplit(" ", 1)[-1]

            async def delivered() -> list[dict[str, Any]]:
                items = (await api.get(f"/api/v1/bins/{bin_['id']}/requests")).json()["items"]
                return [i for i in items
                        if any(n.lower() == "webhook-id" and v.startswith("dlv_")
                               for n, v in i["headers"])]

            await eventually(lambda: _nonempty(delivered()), timeout=15)
            (capture,) = await delivered()
            stored = (await api.get(f"/api/v1/alerts/{alert_id}")).text
            assert stored.endswith(f', "alert": {capture["body"]}}}')
            assert json.loads(capture["body"])["Action"] == "Block"
            deliveries = (await api.get("/api/v1/deliveries")).json()["items"]
            assert [d["status"] for d in deliveries] == ["delivered"]
    finally:
        output = await asyncio.to_thread(server.stop)
    assert "demo ready" in output


async def _nonempty(items: Any) -> bool:
    return bool(await items)


async def test_live_stream_and_inspect_command(tmp_path: Path) -> None:
    """The SSE stream emits each capture as it arrives, and `alertwire inspect` prints the
    bin URL, then each request (method, headers, body) until Ctrl-C."""
    server = Server(tmp_path / "data", env={"ALERTWIRE_ADMIN_TOKEN": TOKEN})
    await asyncio.to_thread(server.start)
    env = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": TOKEN,
                        "PYTHONUNBUFFERED": "1"}
    inspect = await asyncio.create_subprocess_exec(
        *alertwire_cmd("inspect"), cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        assert inspect.stdout is not None
        lines: list[str] = []
        while not any("/hooks/bin_" in line for line in lines):
            lines.append((await asyncio.wait_for(inspect.stdout.readline(), 30)).decode())
        url = next(line.strip() for line in lines if "/hooks/bin_" in line)
        bin_id = url.rsplit("/", 1)[-1]
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            events: list[dict[str, Any]] = []

            async def listen() -> None:
                async with api.stream("GET", f"/api/v1/bins/{bin_id}/stream") as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: "):
                            events.append(json.loads(line[6:]))
                            if len(events) == 2:
                                return

            listener = asyncio.create_task(listen())
            await asyncio.sleep(0.5)
            await api.post(url, json={"PolicyName": "ksp-file-path-block", "n": 1},
                           headers={"User-Agent": "tester/1"})
            await eventually(lambda: len(events) == 1, timeout=10)
            await api.put(url + "/sub?x=1", content=b"plain text")
            await asyncio.wait_for(listener, 10)
        assert [(e["method"], e["path"].endswith("/sub")) for e in events] == [
            ("POST", False), ("PUT", True)]
        assert events[1]["query"] == "x=1" and events[1]["body"] == "plain text"

        seen = ""
        while "plain text" not in seen:
            seen += (await asyncio.wait_for(inspect.stdout.readline(), 10)).decode()
        assert "POST /hooks/" in seen and '"PolicyName": "ksp-file-path-block"' in seen
        assert "User-Agent: tester/1" in seen.replace("user-agent", "User-Agent")
        assert "PUT /hooks/" in seen and "?x=1" in seen
        inspect.send_signal(signal.SIGINT)
        rest = (await asyncio.wait_for(inspect.stdout.read(), 10)).decode()
        assert "stopped" in rest
        assert await inspect.wait() == 0
    finally:
        if inspect.returncode is None:
            inspect.kill()
        await asyncio.to_thread(server.stop)
