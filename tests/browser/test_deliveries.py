"""Deliveries in a browser: per integration and per alert, each attempt with its time, status
code, latency, error, the request sent and the response, and Retry (SPEC §5)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from alertwire.domain.samples import kubearmor_file_integrity_alert
from tests.browser.conftest import PHONE, post_alerts, shot
from tests.receiver import Receiver, eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _active(api: httpx.AsyncClient, name: str, receiver: Receiver, answer: int,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An integration connected after a successful test, then pointed at an endpoint that
    answers `answer` (so its deliveries fail)."""
    created = (await api.post("/api/v1/integrations", json={
        "name": name, "url": f"{receiver.url}/status/200/{name}", "headers": headers or {}})).json()
    await api.post(f"/api/v1/integrations/{created['id']}/test")
    assert (await api.post(f"/api/v1/integrations/{created['id']}/connect")).status_code == 200
    patched = await api.patch(f"/api/v1/integrations/{created['id']}",
                              json={"url": f"{receiver.url}/status/{answer}/{name}"})
    assert patched.status_code == 200
    result: dict[str, Any] = patched.json()
    return result


async def _delivery(api: httpx.AsyncClient, integration_id: str) -> dict[str, Any]:
    (found,) = (await api.get(f"/api/v1/deliveries?integration_id={integration_id}")).json()["items"]
    result: dict[str, Any] = found
    return result


async def test_attempts_request_response_and_retry(
    page: Page, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    """A 500 leaves a delivery failed (retrying later), a 400 makes it dead at once; both
    show every attempt in full, and Retry sends them again now."""
    flaky = await _active(api, "flaky", receiver, 500)
    strict = await _active(api, "strict", receiver, 400, {"Authorization": "Bearer topsecret-1"})
    await api.post("/api/v1/triggers", json={
        "name": "Blocked", "filter": "Action = Block", "channels": [flaky["id"], strict["id"]]})
    alert = kubearmor_file_integrity_alert()
    (alert_id,) = await post_alerts(api, alert)

    async def settled() -> bool:
        return ((await _delivery(api, flaky["id"]))["status"] == "failed"
                and (await _delivery(api, strict["id"]))["status"] == "dead")

    await eventually(settled, timeout=15)

    await page.goto("/deliveries")
    rows = page.locator("#deliveries-table tbody tr")
    await expect(rows).to_have_count(2)
    await shot(page, "deliveries-desktop")
    await page.get_by_label("Integration").select_option(label="flaky")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator("[data-status]")).to_have_text("failed")
    await expect(rows.first).to_contain_text("500")
    await rows.first.get_by_role("button", name="Retry").click()
    await expect(page.locator(".flash")).to_contain_text("Queued again")

    async def retried() -> bool:
        return (await _delivery(api, flaky["id"]))["attempt_count"] == 2

    await eventually(retried, timeout=15)
    await page.reload()
    await expect(rows.first.locator('[data-label="Attempts"]')).to_have_text("2")

    # The dead one, in full: request headers (secrets masked), the body, the response.
    await page.goto(f"/deliveries?alert_id={alert_id}&status=dead")
    await expect(rows).to_have_count(1)
    await rows.first.get_by_role("link", name="Details").click()
    await expect(page.locator("#delivery-status")).to_have_text("dead")
    attempt = page.locator("[data-attempt]")
    await expect(attempt).to_have_count(1)
    await expect(attempt.locator("[data-status-code]")).to_have_text("400")
    await expect(attempt).to_contain_text(" ms")
    await expect(attempt.locator("[data-attempt-error]")).to_contain_text("400")
    await expect(attempt).to_contain_text("webhook-signature")
    await expect(attempt).to_contain_text("Bearer tops…****")
    assert "topsecret-1" not in await page.content()
    await expect(attempt.locator("[data-response-body]")).to_have_text("answer 400")
    assert json.loads(await page.locator("#payload").inner_text()) == alert
    await shot(page, "delivery-dead")
    await page.set_viewport_size(PHONE)
    await shot(page, "delivery-dead-phone")
    await page.set_viewport_size({"width": 1280, "height": 800})

    await page.get_by_role("button", name="Retry").click()
    await expect(page.locator(".flash")).to_contain_text("Queued again")

    async def dead_again() -> bool:
        found = await _delivery(api, strict["id"])
        return found["status"] == "dead" and found["attempt_count"] == 2

    await eventually(dead_again, timeout=15)
    await page.reload()
    await expect(page.locator("[data-attempt]")).to_have_count(2)

    # Per alert: the alert's page lists what it caused.
    await page.goto(f"/alerts/{alert_id}")
    await expect(page.locator("#deliveries-table tbody tr")).to_have_count(2)
    await shot(page, "alert-deliveries")
