"""`alertwire deliveries` against a real server whose receiver answers 500 until it is fixed:
the log, one delivery's attempts, a single retry, and `retry --all-dead --integration X`
with its progress (SPEC §5)."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import httpx

from alertwire.delivery.worker import INTEGRATION_CACHE_SECONDS
from tests.e2e.server import REPO, Server, alertwire_cmd, run_cli
from tests.receiver import Receiver, eventually

TOKEN = "aw_cli_deliveries_admin"


async def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, server, TOKEN, *args)


async def ok(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    result = await cli(server, *args)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def run_on_terminal(server: Server, *args: str) -> tuple[int, str, str]:
    """The CLI with stderr on a pseudo-terminal (as in an interactive shell) and stdout piped:
    (exit code, stdout, what the terminal showed)."""
    controller, terminal = pty.openpty()
    env = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": TOKEN}
    process = subprocess.Popen(alertwire_cmd(*args), cwd=REPO, env=env, text=True,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal's last writer is gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    out, _ = process.communicate(timeout=60)
    return process.returncode, out, shown.decode(errors="replace")


async def count(api: httpx.AsyncClient, integration_id: str, status: str) -> int:
    page = (await api.get("/api/v1/deliveries", params={
        "integration_id": integration_id, "status": status, "limit": "500"})).json()
    return len(page["items"])


async def test_retry_all_dead_of_one_integration(tmp_path: Path, receiver: Receiver) -> None:
    """Alerts to two integrations whose endpoint answers 500 go dead after the (fast) retry
    schedule. Once one endpoint is fixed, `deliveries retry --all-dead --integration hook`
    queues exactly its dead deliveries again, batch by batch with progress, and they are
    delivered; the other integration's stay dead until their own turn, shown with a
    progress bar on a terminal."""
    server = Server(tmp_path / "data", env={
        "ALERTWIRE_ADMIN_TOKEN": TOKEN, "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8",
        "ALERTWIRE_RETRY_SCHEDULE": "0.05", "ALERTWIRE_CIRCUIT_COOLDOWN": "0.05"})
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            ids: dict[str, str] = {}
            for name in ("hook", "other"):
                added = json.loads((await ok(server, "integrations", "add", name,
                                             receiver.url + "/status/200", "--json")).stdout)
                ids[name] = added["id"]
                await ok(server, "integrations", "test", name)
                await ok(server, "integrations", "connect", name)
                await ok(server, "integrations", "edit", name, "--webhook-url",
                         receiver.url + "/status/500")
            await ok(server, "triggers", "add", "everything", "--filter", "n >= 0",
                     "--channel", "hook", "--channel", "other")
            await asyncio.sleep(INTEGRATION_CACHE_SECONDS + 0.1)  # workers see the edits
            batch = json.dumps([{"n": i} for i in range(12)])
            await asyncio.to_thread(run_cli, server, TOKEN, "alerts", "send", "-", stdin=batch)

            async def all_dead() -> bool:
                return (await count(api, ids["hook"], "dead"),
                        await count(api, ids["other"], "dead")) == (12, 12)

            await eventually(all_dead, timeout=30)

            listed = (await ok(server, "deliveries", "list", "--integration", "hook",
                               "--status", "dead")).stdout.splitlines()
            assert listed[0].split()[:5] == ["ID", "STATUS", "INTEGRATION", "ATTEMPTS", "LAST"]
            assert len(listed) == 13
            assert all(row.split()[1:5] == ["dead", "hook", "2", "500"] for row in listed[1:])
            dead: list[dict[str, Any]] = json.loads((await ok(
                server, "deliveries", "list", "--integration", "other", "--status", "dead",
                "--limit", "5", "--json")).stdout)
            assert len(dead) == 5 and {d["integration_id"] for d in dead} == {ids["other"]}
            shown = (await ok(server, "deliveries", "show", dead[0]["id"])).stdout
            assert "integration: other" in shown
            assert [line.split()[2] for line in shown.splitlines()
                    if line.startswith("20")][-2:] == ["500", "500"]  # both attempts

            await ok(server, "integrations", "edit", "hook", "--webhook-url",
                     receiver.url + "/status/200")
            await asyncio.sleep(INTEGRATION_CACHE_SECONDS + 0.1)
            receiver.requests.clear()
            result = await ok(server, "deliveries", "retry", "--all-dead", "--integration",
                              "hook", "--batch-size", "5")
            assert result.stdout.strip() == "queued 12 dead deliveries of 'hook' again"
            assert result.stderr.splitlines() == [
                "retrying dead deliveries: 5/12", "retrying dead deliveries: 10/12",
                "retrying dead deliveries: 12/12"]

            async def delivered() -> bool:
                return await count(api, ids["hook"], "delivered") == 12

            await eventually(delivered, timeout=30)
            assert {r.path for r in receiver.requests} == {"/status/200"}
            assert len(receiver.requests) == 12
            assert await count(api, ids["other"], "dead") == 12
            nothing = await ok(server, "deliveries", "retry", "--all-dead", "--integration", "hook")
            assert nothing.stdout.strip() == "no dead deliveries of 'hook'"

            code, out, terminal = await asyncio.to_thread(
                run_on_terminal, server, "deliveries", "retry", "--all-dead", "--integration",
                "other", "--batch-size", "4", "--json")
            assert code == 0
            answer = json.loads(out)
            assert answer["retried"] == 12 and len(set(answer["ids"])) == 12
            assert "retrying dead deliveries" in terminal and "12/12" in terminal
            assert "#" * 10 in terminal  # the bar itself, full at the end
    finally:
        await asyncio.to_thread(server.stop)


async def test_single_retry_and_errors(tmp_path: Path, receiver: Receiver) -> None:
    """`deliveries retry ID` sends one delivery again with the same webhook-id; a queued
    one is a 409, an unknown one a 404; wrong usage exits 2."""
    server = Server(tmp_path / "data", env={
        "ALERTWIRE_ADMIN_TOKEN": TOKEN, "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8"})
    await asyncio.to_thread(server.start)
    try:
        await ok(server, "integrations", "add", "hook", receiver.url + "/ok")
        await ok(server, "integrations", "test", "hook")
        await ok(server, "integrations", "connect", "hook")
        await ok(server, "triggers", "add", "blocked", "--filter", "Action = Block",
                 "--channel", "hook")
        receiver.requests.clear()
        await ok(server, "simulate")

        async def one_delivered() -> bool:
            found = json.loads((await ok(server, "deliveries", "list", "--status", "delivered",
                                         "--json")).stdout)
            return len(found) == 1

        await eventually(one_delivered, timeout=15)
        (delivery,) = json.loads((await ok(server, "deliveries", "list", "--json")).stdout)
        again = json.loads((await ok(server, "deliveries", "retry", delivery["id"],
                                     "--json")).stdout)
        assert again["id"] == delivery["id"] and again["status"] == "pending"
        await eventually(lambda: len(receiver.requests) == 2, timeout=15)
        assert receiver.requests[0].header("webhook-id") == \
            receiver.requests[1].header("webhook-id") == delivery["id"]

        unknown = await cli(server, "deliveries", "retry", "dlv_nope")
        assert unknown.returncode == 1
        assert "no delivery with id 'dlv_nope' (HTTP 404)" in unknown.stderr
        for usage in (("deliveries", "retry"), ("deliveries", "retry", "dlv_x", "--all-dead"),
                      ("deliveries", "retry", "dlv_x", "--integration", "hook")):
            wrong = await cli(server, *usage)
            assert wrong.returncode == 2, usage
        ghost = await cli(server, "deliveries", "retry", "--all-dead", "--integration", "ghost")
        assert ghost.returncode == 1 and "no integration named 'ghost'" in ghost.stderr
        bad_status = await cli(server, "deliveries", "list", "--status", "lost")
        assert bad_status.returncode == 1 and "status" in bad_status.stderr
        assert "422" in bad_status.stderr
    finally:
        await asyncio.to_thread(server.stop)
