"""The seed's story on a Linux host: apply the upstream file-path-block policy (adapted to a
temporary directory), run `alertwire agent`, touch and cat the protected files, see them
refused, and see the alert delivered through a trigger into a bin."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertwire.agent import fanotify
from tests.e2e.flow import bin_behind_trigger, delivered_alerts
from tests.e2e.server import REPO, Server, alertwire_cmd
from tests.fixtures import FIXTURES
from tests.receiver import eventually

WHY_NOT = fanotify.unavailable()
pytestmark = pytest.mark.skipif(WHY_NOT is not None,
                                reason=f"fanotify permission events unavailable: {WHY_NOT}")
TOKEN = "aw_agent_test_admin"
SHELL = os.path.basename(os.path.realpath(shutil.which("sh") or "sh"))  # dash on Debian


def sh(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=10)


async def test_policy_agent_violation_alert_in_a_bin(tmp_path: Path) -> None:
    """ksp-file-path-block.yaml with its three paths moved under a temporary directory:
    `cat` and an append are refused by the kernel (fanotify: EPERM, "Operation not
    permitted") and the file is unchanged; `touch` has its write-open refused too (GNU touch
    then only updates the times, which fanotify cannot stop); each refusal reaches the bin
    behind an `Action = Block` trigger as a KubeArmor alert; once the agent is killed (-9)
    its marks are gone and the file reads again."""
    root = tmp_path / "host"
    (root / "credentials").mkdir(parents=True)
    (root / "etc").mkdir()
    passwd, secret = root / "etc" / "passwd", root / "secret.txt"
    passwd.write_text("root:x:0:0:root:/root:/bin/sh\n")
    secret.write_text("s3cret\n")
    upstream = (FIXTURES / "kubearmor/policies/ksp-file-path-block.yaml").read_text()
    adapted = (upstream.replace("path: /etc/passwd", f"path: {passwd}")
               .replace("path: /secret.txt", f"path: {secret}")
               .replace("path: /credentials/password", f"path: {root}/credentials/password"))
    assert adapted.count(str(root)) == 3
    policy = tmp_path / "ksp-file-path-block.yaml"
    policy.write_text(adapted)

    server = Server(tmp_path / "data", env={"ALERTWIRE_ADMIN_TOKEN": TOKEN})
    await asyncio.to_thread(server.start)
    agent: subprocess.Popen[str] | None = None
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as api:
            bin_id = await bin_behind_trigger(api, "blocked", "Action = Block")
            ingest = (await api.post("/api/v1/tokens", json={
                "name": "agent", "scopes": ["ingest"]})).json()["token"]
            agent = await asyncio.to_thread(
                subprocess.Popen,
                alertwire_cmd("agent", "--policy", str(policy), "--spool",
                              str(tmp_path / "agent-spool.db")),
                cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                env=os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": ingest,
                                  "PYTHONUNBUFFERED": "1"})
            assert agent.stdout is not None
            first = await asyncio.to_thread(agent.stdout.readline)
            assert "enforcing 1 policy with fanotify" in first, first

            cat = await asyncio.to_thread(sh, f"cat {passwd}")
            assert cat.returncode == 1
            assert f"cat: {passwd}: Operation not permitted" in cat.stderr
            append = await asyncio.to_thread(sh, f'echo "test" >> {secret}')
            assert append.returncode != 0 and "Operation not permitted" in append.stderr
            await asyncio.to_thread(sh, f"touch {secret}")

            async def three() -> bool:
                return len(await delivered_alerts(api, bin_id)) >= 3

            await eventually(three, timeout=20)
            # Deliveries go out concurrently, so the bin may see them in another order than
            # they happened: order by the agent's own event time.
            sent: list[dict[str, Any]] = sorted(await delivered_alerts(api, bin_id),
                                                key=lambda a: a["UpdatedTime"])
            assert [(a["ProcessName"].rsplit("/", 1)[-1], a["Resource"]) for a in sent] == [
                ("cat", str(passwd)), (SHELL, str(secret)), ("touch", str(secret))]
            for alert in sent:
                assert alert["PolicyName"] == "ksp-ubuntu-1-file-path-block"
                assert (alert["Action"], alert["Result"]) == ("Block", "Operation not permitted")
                assert (alert["Type"], alert["Enforcer"], alert["Operation"]) == (
                    "MatchedHostPolicy", "fanotify", "File")
                assert alert["Severity"] == "10" and alert["ATags"] == ["WARNING"]
                assert alert["Message"] == "a critical file was accessed"
            assert "O_WRONLY|O_CREAT" in sent[2]["Data"]
            listed = (await api.get("/api/v1/alerts")).json()["items"]
            assert {a["source"] for a in listed} == {"kubearmor"}

            agent.send_signal(signal.SIGKILL)
            await asyncio.to_thread(agent.wait, 10)
            assert (await asyncio.to_thread(sh, f"cat {passwd}")).returncode == 0
            assert secret.read_text() == "s3cret\n"  # neither the append nor touch wrote
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait(10)
        await asyncio.to_thread(server.stop)
