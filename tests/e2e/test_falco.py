"""Falco's `http_output` pointed straight at alertwire (SPEC §3), as libcurl sends it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx

from tests.e2e.flow import bin_behind_trigger, delivered_alerts
from tests.e2e.server import Server
from tests.fixtures import FIXTURES
from tests.receiver import eventually

TOKEN = "aw_falco_test_admin"
FALCO = FIXTURES / "falco"


def falco_http_output(url: str, event: Path) -> subprocess.CompletedProcess[str]:
    """One event posted the way Falco's http_output does: libcurl (here the curl program on
    the same library), `Content-Type: application/json`, Falco's default user agent, the
    credentials in the configured URL, and `Expect: 100-continue` as libcurl adds for large
    bodies."""
    return subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
         "-H", "Content-Type: application/json", "-H", "Expect: 100-continue",
         "-A", "falcosecurity/falco", "--data-binary", f"@{event}", url],
        capture_output=True, text=True, timeout=30)


async def test_falco_http_output_unchanged_reaches_a_trigger(tmp_path: Path) -> None:
    """Falco, configured with only `http_output.url: http://falco:<ingest token>@host/api/v1/
    alerts`, gets 202 for its events (credentials from the URL arrive as HTTP Basic); they are
    stored as source `falco`, exactly as sent; a trigger on `priority`, `rule` and
    `output_fields."fd.name"` delivers the matching event, and only it, to a bin."""
    server = Server(tmp_path / "data", env={"ALERTWIRE_ADMIN_TOKEN": TOKEN})
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            ingest = (await api.post("/api/v1/tokens", json={
                "name": "falco", "scopes": ["ingest"]})).json()["token"]
            bin_id = await bin_behind_trigger(
                api, "falco-writes",
                'priority = Error AND rule = "Write below binary dir" '
                'AND output_fields."fd.name" = /bin/hack')
            falco_url = f"http://falco:{ingest}@127.0.0.1:{server.port}/api/v1/alerts"
            for name in ("falco-test-event.json", "falco-write-below-binary-dir.json"):
                result = await asyncio.to_thread(falco_http_output, falco_url, FALCO / name)
                assert result.returncode == 0, result.stderr
                assert result.stdout.endswith("\n202"), result.stdout

            listed = (await api.get("/api/v1/alerts")).json()["items"]
            assert [a["source"] for a in listed] == ["falco", "falco"]
            stored = (await api.get(f"/api/v1/alerts/{listed[0]['id']}")).text
            written = (FALCO / "falco-write-below-binary-dir.json").read_text().strip()
            assert stored.endswith(f', "alert": {written}}}')

            await eventually(lambda: _count(api, bin_id, 1), timeout=15)
            (sent,) = await delivered_alerts(api, bin_id)
            assert sent["rule"] == "Write below binary dir"
            assert sent["output_fields"]["fd.name"] == "/bin/hack"

            wrong = await asyncio.to_thread(
                falco_http_output, f"http://falco:nope@127.0.0.1:{server.port}/api/v1/alerts",
                FALCO / "falco-test-event.json")
            assert wrong.stdout.endswith("\n401"), wrong.stdout
    finally:
        await asyncio.to_thread(server.stop)


async def _count(api: httpx.AsyncClient, bin_id: str, n: int) -> bool:
    return len(await delivered_alerts(api, bin_id)) >= n
