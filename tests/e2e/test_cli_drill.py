"""`alertwire drill` against a real `alertwire serve` and a receiver on 127.0.0.1: the table,
`--json`, an alert of one's own, and the exit code (issue #12)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server, run_cli
from tests.receiver import Receiver

TOKEN = "aw_cli_drill_admin"
LABEL = "[alertwire fire drill — test, no action needed]"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    started = Server(tmp_path / "data", env={
        "ALERTWIRE_ADMIN_TOKEN": TOKEN, "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8"}).start()
    yield started
    started.stop()


async def cli(server: Server, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    """Off the event loop, so the loopback receiver can answer meanwhile."""
    return await asyncio.to_thread(run_cli, server, token, *args)


async def test_drill_command(server: Server, receiver: Receiver, tmp_path: Path) -> None:
    """The table names each integration's result, status code, latency and reason, then the
    counts; a failed send makes the exit code 1. `--json` prints the API's report; `--alert`
    sends an alert of one's own (from a file too). A read-only token is refused."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        ids = {}
        for name, answer in (("cli-ok", 204), ("cli-bad", 500), ("cli-draft", 204)):
            created = (await api.post("/api/v1/integrations", json={
                "name": name, "url": f"{receiver.url}/status/200/{name}"})).json()
            ids[name] = created["id"]
            if name != "cli-draft":  # connected while healthy, then pointed at its answer
                await api.post(f"/api/v1/integrations/{created['id']}/test")
                connected = await api.post(f"/api/v1/integrations/{created['id']}/connect")
                assert connected.status_code == 200, connected.text
            await api.patch(f"/api/v1/integrations/{created['id']}",
                            json={"url": f"{receiver.url}/status/{answer}/{name}"})
        made = await api.post("/api/v1/triggers", json={
            "name": "cli-blocks", "filter": "Action = Block", "channels": list(ids.values())})
        assert made.status_code == 201, made.text
        reader = (await api.post("/api/v1/tokens", json={
            "name": "reader", "scopes": ["read"]})).json()["token"]
    receiver.requests.clear()

    shown = await cli(server, "drill")
    assert shown.returncode == 1, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["INTEGRATION", "RESULT", "STATUS", "LATENCY", "REASON"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    _, result, status, latency, unit, reason = rows["cli-ok"].split()
    assert (result, status, unit, reason) == ("delivered", "204", "ms", "-")
    assert latency.isdigit()
    assert rows["cli-bad"].split()[1:3] == ["failed", "500"]
    assert rows["cli-bad"].endswith("status 500 is not one of the success codes 200, 201, 202, 204")
    assert rows["cli-draft"].split()[1:3] == ["skipped", "-"]
    assert rows["cli-draft"].endswith("integration is a draft (not connected)")
    assert lines[-1].startswith("drill drl_")
    assert lines[-1].endswith(": 1 delivered, 1 failed, 1 skipped")
    assert sorted(r.path for r in receiver.requests) == ["/status/204/cli-ok",
                                                         "/status/500/cli-bad"]
    assert all(json.loads(r.body)["Message"].startswith(LABEL) for r in receiver.requests)

    as_json = await cli(server, "drill", "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["summary"] == {"delivered": 1, "failed": 1, "skipped": 1}
    assert {i["integration_id"] for i in report["integrations"]} == set(ids.values())

    falco = tmp_path / "falco.json"
    falco.write_text(json.dumps({"output": "Write below binary dir", "priority": "Error"}))
    missed = await cli(server, "drill", "--alert", f"@{falco}")
    assert missed.returncode == 0, missed.stderr  # nothing failed: all skipped
    assert "filter did not match: cli-blocks: Action = Block" in missed.stdout
    assert missed.stdout.splitlines()[-1].endswith(": 0 delivered, 0 failed, 3 skipped")

    inline = await cli(server, "drill", "--json", "--alert", '{"Action": "Block", "Message": "m"}')
    assert json.loads(inline.stdout)["alert"]["Message"] == f"{LABEL} m"

    not_object = await cli(server, "drill", "--alert", "[1]")
    assert not_object.returncode == 2 and "an alert is a JSON object" in not_object.stderr
    refused = await cli(server, "drill", token=reader)
    assert refused.returncode == 1 and "HTTP 403" in refused.stderr
