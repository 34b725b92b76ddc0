"""SIGKILL the embedded server mid-delivery: nothing acknowledged is lost (SPEC §3, §5)."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import httpx

from tests.e2e.server import Server
from tests.receiver import Receiver, eventually

TOKEN = "aw_crash_test_admin"


async def test_sigkill_while_delivering_loses_nothing(tmp_path: Path) -> None:
    """1,000 alerts are acknowledged; the server is killed with SIGKILL while delivering
    them; after a restart every alert reaches the receiver at least once and nothing is
    left pending."""
    receiver = await Receiver().start()
    env = {"ALERTWIRE_ADMIN_TOKEN": TOKEN, "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8",
           "ALERTWIRE_LEASE_SECONDS": "2", "ALERTWIRE_RETRY_SCHEDULE": "0.2,0.2,0.2"}
    server = Server(tmp_path / "data", env=env)
    await asyncio.to_thread(server.start)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=auth, timeout=30) as api:
            hook = (await api.post("/api/v1/integrations", json={
                "name": "receiver", "url": receiver.url + "/delay/0.02"})).json()
            assert (await api.post(f"/api/v1/integrations/{hook['id']}/test")).json()["ok"]
            assert (await api.post(f"/api/v1/integrations/{hook['id']}/connect")
                    ).status_code == 200
            await api.post("/api/v1/triggers", json={
                "name": "all", "filter": "Action = Block", "channels": [hook["id"]]})
            receiver.requests.clear()
            for batch in range(10):
                alerts = [{"Action": "Block", "seq": batch * 100 + i} for i in range(100)]
                accepted = await api.post("/api/v1/alerts", content=json.dumps(alerts))
                assert accepted.status_code == 202
        await eventually(lambda: len(receiver.requests) >= 100, timeout=30)
        server.stop(signal.SIGKILL)
        killed_at = len(receiver.requests)
        assert killed_at < 1000, "the kill came too late to prove anything"

        await asyncio.to_thread(server.start)

        def seen() -> set[int]:
            return {json.loads(r.body)["seq"] for r in receiver.requests}

        await eventually(lambda: len(seen()) == 1000, timeout=120)
        async with httpx.AsyncClient(base_url=server.url, headers=auth, timeout=30) as api:
            async def settled() -> bool:
                delivered = 0
                cursor = None
                while True:
                    params: dict[str, str] = {"limit": "500"}
                    if cursor:
                        params["cursor"] = cursor
                    page = (await api.get("/api/v1/deliveries", params=params)).json()
                    delivered += sum(1 for d in page["items"] if d["status"] == "delivered")
                    cursor = page["next_cursor"]
                    if not cursor:
                        return delivered == 1000
            await eventually(settled, timeout=60)
        assert seen() == set(range(1000))
    finally:
        if server.process and server.process.poll() is None:
            server.stop()
        await receiver.stop()
