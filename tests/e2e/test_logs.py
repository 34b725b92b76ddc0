"""Structured logs of a real `alertwire serve`: one JSON event per delivery attempt, the level
from ALERTWIRE_LOG_LEVEL, and no secret anywhere in what the process prints (SPEC §8, §9)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server import Server, free_port
from tests.fixtures import FIXTURES
from tests.receiver import Receiver, eventually

ADMIN = "aw_logs_admin_" + secrets.token_hex(8)
SECRET_KEY = "secret-key-" + secrets.token_hex(8)
URL_PASSWORD = "url-pass-" + secrets.token_hex(8)
QUERY_TOKEN = "query-token-" + secrets.token_hex(8)
BEARER = "bearer-" + secrets.token_hex(8)
API_KEY = "api-key-" + secrets.token_hex(8)
ROUTING_KEY = secrets.token_hex(16)  # PagerDuty: 32 alphanumerics, a secret template option
ATTEMPT_FIELDS = {"delivery_id", "integration_id", "trigger_id", "alert_id", "attempt",
                  "status_code", "outcome", "latency_ms", "error"}


async def connected(api: httpx.AsyncClient, name: str, url: str, final_url: str | None = None,
                    **fields: Any) -> str:
    """An active integration at `url` (tested there, so Connect is allowed), then moved to
    `final_url`: how a working endpoint starts failing."""
    made = await api.post("/api/v1/integrations", json={"name": name, "url": url} | fields)
    assert made.status_code == 201, made.text
    iid: str = made.json()["id"]
    assert (await api.post(f"/api/v1/integrations/{iid}/test")).json()["ok"]
    assert (await api.post(f"/api/v1/integrations/{iid}/connect")).status_code == 200
    if final_url is not None:
        moved = await api.patch(f"/api/v1/integrations/{iid}", json={"url": final_url})
        assert moved.status_code == 200, moved.text
    return iid


@pytest.mark.parametrize("level", ["debug", "warning"])
async def test_one_event_per_attempt_and_no_secret_in_the_output(
    tmp_path: Path, receiver: Receiver, level: str
) -> None:
    """Integrations whose URLs carry user:password and a token, with secret headers, signing
    secrets and a PagerDuty routing key, deliver and fail (503 retried then dead, connection
    refused, 400). Every attempt is one JSON event with its ids, attempt number, status,
    outcome, latency and error (successes at info, failures at warning, so
    ALERTWIRE_LOG_LEVEL=warning keeps only failures), and none of the secrets appears
    anywhere in the process's output."""
    server = Server(tmp_path / "data", env={
        "ALERTWIRE_ADMIN_TOKEN": ADMIN, "ALERTWIRE_SECRET_KEY": SECRET_KEY,
        "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8", "ALERTWIRE_LOG_LEVEL": level,
        "ALERTWIRE_RETRY_SCHEDULE": "0.2", "ALERTWIRE_CIRCUIT_COOLDOWN": "0.1",
        "ALERTWIRE_DELIVERY_TIMEOUT": "2",
    })
    await asyncio.to_thread(server.start)
    port = receiver.port
    closed = free_port()  # nothing listens there
    creds = f"alice:{URL_PASSWORD}@127.0.0.1"
    # (aiohttp refuses an Authorization header alongside credentials in the URL.)
    bearer = {"Authorization": f"Bearer {BEARER}", "X-Api-Key": API_KEY}
    api_key = {"X-Api-Key": API_KEY}
    secret_values = [ADMIN, SECRET_KEY, URL_PASSWORD, QUERY_TOKEN, BEARER, API_KEY, ROUTING_KEY,
                     base64.b64encode(f"alice:{URL_PASSWORD}".encode()).decode()]
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     headers={"Authorization": f"Bearer {ADMIN}"}) as api:
            ok = await connected(api, "ok", f"http://{creds}:{port}/status/200?token={QUERY_TOKEN}",
                                 headers=api_key)
            retried = await connected(
                api, "retried", f"http://127.0.0.1:{port}/status/200?token={QUERY_TOKEN}",
                f"http://127.0.0.1:{port}/status/503?token={QUERY_TOKEN}", headers=bearer)
            refused = await connected(
                api, "refused", f"http://{creds}:{port}/status/200",
                f"http://{creds}:{closed}/hook?access_token={QUERY_TOKEN}", headers=api_key)
            paged = await connected(
                api, "paged", f"http://127.0.0.1:{port}/status/200",
                f"http://127.0.0.1:{port}/status/400", template="pagerduty",
                template_options={"routing_key": ROUTING_KEY})
            for iid in (ok, retried, refused, paged):
                secret_values.append((await api.get(f"/api/v1/integrations/{iid}/secret"))
                                     .json()["secret"])
            made = await api.post("/api/v1/triggers", json={
                "name": "blocks", "filter": "Action = Block",
                "channels": [ok, retried, refused, paged]})
            assert made.status_code == 201, made.text
            ingest = (await api.post("/api/v1/tokens", json={"name": "agent",
                                                             "scopes": ["ingest"]})).json()
            secret_values.append(ingest["token"])
            alerts = [json.loads((FIXTURES / "kubearmor/alerts" / name).read_bytes())
                      for name in ("fim-touch-block-saas.json", "container-file-block.json")]
            posted = await api.post("/api/v1/alerts", json=alerts,
                                    headers={"Authorization": f"Bearer {ingest['token']}"})
            assert posted.status_code == 202, posted.text

            async def settled() -> list[dict[str, Any]] | None:
                items: list[dict[str, Any]] = (await api.get(
                    "/api/v1/deliveries", params={"limit": "100"})).json()["items"]
                done = len(items) == 8 and all(d["status"] in ("delivered", "dead")
                                               for d in items)
                return items if done else None

            await eventually(lambda: _truthy(settled()), timeout=30)
            found = await settled()
            assert found is not None
    finally:
        output = server.stop()

    for secret in secret_values:
        assert secret not in output, f"a secret is in the output: {secret[:6]}…"
    lines = [line for line in output.splitlines() if line.startswith("{")]
    events = [json.loads(line) for line in lines]
    attempts = [e for e in events if e.get("event") == "delivery_attempt"]
    by_delivery: dict[str, list[dict[str, Any]]] = {}
    for event in attempts:
        assert ATTEMPT_FIELDS <= event.keys(), event
        assert event["logger"] == "alertwire.delivery"
        by_delivery.setdefault(event["delivery_id"], []).append(event)

    shown = {"info", "warning"} if level == "debug" else {"warning"}
    for delivery in found:
        expected = []
        iid = delivery["integration_id"]
        if iid == ok:
            expected = [("info", 1, 200, "delivered", None)]
        elif iid == retried:
            error = "status 503 is not a success code"
            expected = [("warning", 1, 503, "failed", error), ("warning", 2, 503, "dead", error)]
        elif iid == refused:
            error = f"connection refused by 127.0.0.1:{closed}"
            expected = [("warning", 1, None, "failed", error), ("warning", 2, None, "dead", error)]
        elif iid == paged:
            expected = [("warning", 1, 400, "dead", "status 400 is not a success code")]
        logged = by_delivery.get(delivery["id"], [])
        assert [(e["level"], e["attempt"], e["status_code"], e["outcome"], e["error"])
                for e in logged] == [x for x in expected if x[0] in shown], delivery
        for event in logged:
            assert event["integration_id"] == iid
            assert event["trigger_id"] == delivery["trigger_id"]
            assert event["alert_id"] == delivery["alert_id"]
            assert (event["latency_ms"] is None) == (event["status_code"] is None)
    assert len(attempts) == (12 if level == "debug" else 10)


async def _truthy(awaitable: Any) -> bool:
    return bool(await awaitable)
