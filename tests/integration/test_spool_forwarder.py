"""The sources' spool and forwarder against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from aiohttp import web

from alertwire.sources.forwarder import Forwarder
from alertwire.store.spool import Spool
from tests.receiver import eventually


async def test_refused_alert_is_set_aside_and_the_rest_go_through(tmp_path: Path) -> None:
    """A batch the server refuses as malformed is retried one alert at a time: the refused
    alert moves to the spool's rejected table with the server's reason, every other alert is
    accepted, and nothing is left queued (one bad alert never blocks the spool)."""
    accepted: list[dict[str, object]] = []

    async def ingest(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        batch = json.loads(await request.read())
        if any(a.get("bad") for a in batch):
            return web.json_response({"message": "item 0: no"}, status=400)
        accepted.extend(batch)
        return web.json_response({"accepted": len(batch), "ids": []}, status=202)

    app = web.Application()
    app.router.add_post("/api/v1/alerts", ingest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    spool = Spool(tmp_path / "spool.db")
    spool.append([json.dumps({"n": 1}), json.dumps({"n": 2, "bad": True}), json.dumps({"n": 3})])
    forwarder = Forwarder(spool, f"http://127.0.0.1:{port}", "tok", max_backoff=0.2)
    task = asyncio.create_task(forwarder.run())
    try:
        await eventually(lambda: spool.count() == 0, timeout=10)
        assert [a["n"] for a in accepted] == [1, 3]
        ((body, reason),) = spool.rejected()
        assert json.loads(body) == {"n": 2, "bad": True} and "400" in reason
    finally:
        task.cancel()
        await runner.cleanup()
        spool.close()


def test_spool_survives_reopening(tmp_path: Path) -> None:
    """What was appended is there, in order, after the file is closed and opened again."""
    spool = Spool(tmp_path / "s.db")
    spool.append(["{\"a\": 1}", "{\"a\": 2}"])
    spool.close()
    again = Spool(tmp_path / "s.db")
    assert [body for _, body in again.peek(10, 1 << 20)] == ["{\"a\": 1}", "{\"a\": 2}"]
    assert len(again.peek(10, 5)) == 1  # the byte budget still lets one through
    again.close()
