"""The seed's flow on a running server, as a user sets it up: a bin, an integration to it
(tested, then connected) and a trigger; and what the bin received from deliveries."""

from __future__ import annotations

import json
from typing import Any

import httpx


async def bin_behind_trigger(api: httpx.AsyncClient, name: str, filter: str) -> str:
    """A new bin, an active integration to it and a realtime trigger `filter` → that
    integration; answers the bin's id."""
    bin_ = (await api.post("/api/v1/bins", json={"name": name})).json()
    hook = (await api.post("/api/v1/integrations",
                           json={"name": name, "url": bin_["url"]})).json()
    assert (await api.post(f"/api/v1/integrations/{hook['id']}/test")).json()["ok"]
    assert (await api.post(f"/api/v1/integrations/{hook['id']}/connect")).status_code == 200
    created = await api.post("/api/v1/triggers", json={
        "name": name, "filter": filter, "channels": [hook["id"]]})
    assert created.status_code == 201, created.text
    return str(bin_["id"])


async def delivered_alerts(api: httpx.AsyncClient, bin_id: str) -> list[dict[str, Any]]:
    """The alerts the bin received as deliveries (the integration test's request left out),
    oldest first."""
    items = (await api.get(f"/api/v1/bins/{bin_id}/requests")).json()["items"]
    return [json.loads(i["body"]) for i in sorted(items, key=lambda i: i["received_at"])
            if any(n.lower() == "webhook-id" and v.startswith("dlv_") for n, v in i["headers"])]
